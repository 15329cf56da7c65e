"""Profiling as Python calls: measure ONNX models or a search-space sample on devices.

::

    import hwnas

    ms = hwnas.profile(["model.onnx"], device="local", max_seconds=2)
    ms[0].latency_ms.median                       # a list of Measurement
    ms = hwnas.profile_space("nb201", sample=20, seed=0, device=["pi", "phone"])
    ms = hwnas.profiler.api.resume()              # finish what an interrupted run left

Every job is queued in the store before it runs and stored as soon as it is measured,
so nothing measured is ever lost: after Ctrl-C or a device that went away, ``resume()``
measures what is left. Several devices are measured in parallel, one job at a time
each. Nothing here prints; progress goes to ``progress=`` (``hwnas.events``), and
warnings and notes are returned with the result too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import Any

from hwnas.config import store_location
from hwnas.errors import (
    HwnasError,
    ModelNotFoundError,
    ParameterError,
    ProfileError,
    SpaceError,
    UnknownDeviceError,
)
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.executors import check_executor, check_jobs, open_executor
from hwnas.export import exporting_ahead
from hwnas.profiler.batch import check_max_attempts
from hwnas.profiler.check import DeviceCheck, check_device
from hwnas.profiler.contention import local_contention
from hwnas.profiler.fleet import DeviceOutcome, DevicePlan, SpaceSample, job_space, run_fleet
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec, Measurement
from hwnas.spaces import SearchSpace, get_space, space_reference
from hwnas.store import Job, Lease, NewJob, Store, worker_gone

__all__ = [
    "RESUME_OVERRIDES",
    "REUSED_BECAUSE",
    "DeviceCheck",
    "ProfileResult",
    "QueueStatus",
    "cancel_jobs",
    "check_device",
    "fingerprint_notes",
    "profile",
    "profile_space",
    "queue_status",
    "reference_model",
    "resume",
]

ERROR_MODES = ("raise", "collect")
#: Why an architecture is not measured again: what ``ProfileResult.reused`` counts.
REUSED_BECAUSE = "already measured under this fingerprint with the same settings"
#: Settings that ``resume`` may change on queued jobs: how long and how precisely a job is
#: timed and whether energy is measured, not what is measured (threads, shapes, graph
#: optimisation, reference and the like stay as queued).
RESUME_OVERRIDES = (
    "target_ci",
    "max_seconds",
    "min_runs",
    "max_runs",
    "warmup",
    "energy",
    "energy_seconds",
    "energy_idle_seconds",
)
StoreArg = str | PathLike[str] | Store | None
DeviceArg = str | Sequence[str]


class ProfileResult(list[Measurement]):
    """The measurements of one profiling run (a ``list[Measurement]``) and what else
    happened: every attribute below is filled, empty when nothing of the kind occurred.

    - ``ids``: the store id of each measurement (same order as the list).
    - ``errors``: one dict per failed job: ``device``, ``model`` (the job's label),
      ``error`` (a kind such as ``model_not_found``) and ``message``.
    - ``device_errors``: device name -> the ``HwnasError`` that stopped that device.
    - ``connection_lost``: device name -> why its batch stopped (jobs left for resume).
    - ``skipped``: architectures not measured again (already measured under the device's
      current fingerprint with settings that measure the same thing:
      ``hwnas.store.RESULT_SETTINGS``); ``reused``: per device that skipped some, a dict
      with ``device``, ``count``, ``fingerprint``, ``settings_key`` and ``reason``
      (:data:`REUSED_BECAUSE`); ``left``: jobs still queued; ``interrupted``: Ctrl-C
      (after an interrupt, the measured list and ``left`` are read from the store's job
      table, so they hold what the workers stored even when they were not waited for).
    - ``skipped_jobs``: queued jobs :func:`resume` could not run and left queued, one dict
      each: ``id``, ``device``, ``model`` (the job's label) and ``reason``.
    - ``not_queued``: models not queued because their file does not exist (each has its
      entry in ``errors``; ``errors="collect"`` only).
    - ``reconnects``: device name -> how often its connection was re-established.
    - ``warnings``: about the host (other processes busy on the CPU); ``notes``: e.g.
      that a device's measurements now span several fingerprints.
    - ``devices``: the devices that ran; ``store``: the store's URL.
    """

    def __init__(self, measurements: Sequence[Measurement] = (), *, store: str = "") -> None:
        super().__init__(measurements)
        self.store = store
        self.ids: list[int | None] = []
        self.errors: list[dict[str, str]] = []
        self.device_errors: dict[str, HwnasError] = {}
        self.connection_lost: dict[str, str] = {}
        self.skipped: list[str] = []
        self.reused: list[dict[str, Any]] = []
        self.interrupted = False
        self.left = 0
        self.skipped_jobs: list[dict[str, Any]] = []
        self.not_queued: list[str] = []
        self.reconnects: dict[str, int] = {}
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.devices: list[str] = []

    @property
    def ok(self) -> bool:
        """Whether every job was measured: no failure, no lost device, no interrupt."""
        failed = self.errors or self.device_errors or self.connection_lost
        return not failed and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``hwnas profile --json`` prints (measurements without samples)."""
        return {
            "measurements": [
                {"id": i, **m.to_dict(samples=False)} for i, m in zip(self.ids, self, strict=True)
            ],
            "errors": list(self.errors),
            "device_errors": [{"device": d, **e.to_dict()} for d, e in self.device_errors.items()],
            "skipped": list(self.skipped),
            "reused": [dict(r) for r in self.reused],
            "interrupted": self.interrupted,
            "connection_lost": dict(self.connection_lost),
            "reconnects": dict(self.reconnects),
            "left": self.left,
            "skipped_jobs": [dict(j) for j in self.skipped_jobs],
            "warnings": list(self.warnings),
        }


def profile(
    models: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    device: DeviceArg = "local",
    store: StoreArg = None,
    progress: ProgressCallback | None = None,
    errors: str = "raise",
    reference: str | PathLike[str] | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    **settings: Any,
) -> ProfileResult:
    """Measure ONNX models on one device or several (in parallel) and store the results.

    ``models``: a path or a sequence of paths of ONNX files. ``device``: a registered
    device name or a sequence of names (default ``"local"``, this machine). ``store``: a
    path or SQLAlchemy URL, an open :class:`~hwnas.store.Store`, or ``None`` for
    ``$HWNAS_STORE`` or ``./hwnas.db``. ``progress``: a ``hwnas.events`` callback (called
    from worker threads). ``reference``: an ONNX file (or ``"builtin"``, a small CNN)
    timed after every timed run, whose per-pair ratio the record keeps.
    ``reconnect_timeout``: how long (s) to reconnect to a device that dropped (0: never).
    ``max_attempts``: how often one job is tried when the connection drops while it runs
    (a model that crashes or reboots the device); then it fails with the reason and the
    batch goes on with the next model.
    ``settings``: the timing protocol, fields of :class:`ProfileSettings` (``threads``,
    ``target_ci``, ``max_seconds``, ``min_runs``, ``max_runs``, ``warmup``, ``graph_opt``,
    ``op_profile``, ``seed``, ``shapes`` such as ``{"x": (1, 3, 224, 224)}``, ``energy``
    (default: the device's meter), ``energy_seconds``), and what is measured:
    ``precision`` ``"fp32"`` (the default: each model as it is) or ``"int8"``: each model
    is quantized on this host first (``quantize_mode`` ``"static"``, the default: QDQ,
    calibrated on 16 seeded random inputs, what NNAPI, QNN and XNNPACK take; or
    ``"dynamic"``), cached by the content hash of the model and the options
    (``hwnas.profiler.quantize.quantized_file``), and the int8 file is measured. Every
    measurement records its ``precision`` (and ``quantize_mode``) in its settings; int8
    and fp32 measurements of one model have different settings keys, so neither is
    reused for the other.

    Returns a :class:`ProfileResult`, the list of measurements in device order.
    Raises ``ParameterError`` for a bad argument or setting (before anything runs).
    With ``errors="raise"`` (the default) every model is checked first (a missing file
    raises ``ModelNotFoundError``, a broken one ``InvalidModelError``); a device that
    never worked raises its own error when it is the only one; any other failure raises
    :class:`~hwnas.errors.ProfileError` after the run, with the result in ``.result``.
    With ``errors="collect"`` failures are only reported in the result. Ctrl-C ends the
    run early and returns the result with ``interrupted`` set; its jobs stay queued
    for :func:`resume`.
    """
    _check_errors(errors)
    paths = _model_paths(models, check=errors == "raise")
    energy_given = settings.get("energy") is not None
    base = _settings(settings, reference)
    names = _device_names(device)
    attempts = check_max_attempts(max_attempts)
    run = _Run(store, _batch(), None, progress, reconnect_timeout, errors, attempts)
    # A path that does not exist is never queued (errors="collect"; "raise" raised above).
    run.missing, paths = _missing_models(paths)
    with _open(store) as db:
        run.url, run.location = db.url, db.location
        specs = [_device(n) for n in names]  # all known before any job is queued
        if not paths:
            return _with_missing(ProfileResult(store=run.url), run, names)
        plans = []
        for spec in specs:
            mine = _for_device(base, spec, energy_given)
            jobs = [NewJob(str(p), str(p.absolute()), None, mine.to_dict()) for p in paths]
            plans.append(DevicePlan(spec, mine, jobs=db.add_jobs(run.batch, spec.name, jobs)))
    return _run(plans, run)


def profile_space(
    space: str | SearchSpace,
    *,
    sample: int | None = None,
    archs: Sequence[str] | None = None,
    seed: int = 0,
    device: DeviceArg = "local",
    store: StoreArg = None,
    repeats: int = 1,
    exporter: str = "torchscript",
    fresh: bool = False,
    progress: ProgressCallback | None = None,
    errors: str = "raise",
    reference: str | PathLike[str] | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    jobs: int = 1,
    executor: str | None = None,
    **settings: Any,
) -> ProfileResult:
    """Measure ``sample`` distinct architectures of a search space on one device or several.

    ``space``: a space name (``"nb201"``, ``"package.module:Class"``) or a
    :class:`~hwnas.spaces.SearchSpace`. ``sample``: how many distinct architectures,
    drawn with ``seed`` (which also seeds the runner's random inputs); or ``archs``:
    these architectures (canonicalised, duplicates dropped) instead of a sample. Each is exported
    to ONNX with ``exporter`` (``"torchscript"``, the default of every command:
    ``hwnas.export.DEFAULT_EXPORTER``, or ``"dynamo"``; cached) just before it
    is measured. Architectures already measured ``repeats`` times on a device under its
    current fingerprint, with settings that measure the same thing (the timing protocol,
    shapes, energy, reference, exporter, precision: ``hwnas.store.RESULT_SETTINGS``; not
    ``seed``),
    are skipped there (``result.skipped``, ``result.reused``); otherwise each is measured
    until it has ``repeats`` measurements, each in its own runner process, pass by pass.
    ``fresh=True`` measures every architecture ``repeats`` times now, whatever is stored
    (to verify a prediction, say).
    ``device``, ``store``, ``progress``, ``errors``, ``reference``, ``reconnect_timeout``,
    ``max_attempts`` and ``settings`` are as for :func:`profile`.

    ``jobs`` > 1 exports ahead of the measurements, in that many worker processes
    (``hwnas.executors.local_pool``), and ``executor="dask://HOST:PORT"`` on a Dask
    cluster instead: every architecture's export is submitted at once, in order, so a
    device finds each file ready (``hwnas.export.exporting_ahead``; with
    ``precision="int8"`` each is quantized there too). With ``jobs=1`` each is exported
    (and quantized) just before it is measured, in this process. A table device measures
    ``fp32`` only (``TableDeviceError`` for ``int8``).

    Returns a :class:`ProfileResult`. Raises ``ParameterError`` for a bad argument,
    ``SpaceError`` for an unknown space or a sample larger than the space, and, with
    ``errors="raise"``, ``ProfileError`` when an architecture fails (see :func:`profile`).
    """
    _check_errors(errors)
    energy_given = settings.get("energy") is not None
    base = _settings({**settings, "seed": seed}, reference)
    the_space, archs = _sample(space, sample, seed, archs)
    from hwnas.export import check_exporter

    check_exporter(exporter)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ParameterError("repeats", f"must be an int >= 1, got {repeats!r}")
    if not isinstance(fresh, bool):
        raise ParameterError("fresh", f"must be True or False, got {fresh!r}")
    names = _device_names(device)
    attempts = check_max_attempts(max_attempts)
    run = _Run(store, _batch(), the_space, progress, reconnect_timeout, errors, attempts)
    with _open(store) as db:  # opened now: an unusable store fails before anything runs
        run.url, run.location = db.url, db.location
    work = SpaceSample(the_space, archs, exporter, repeats, fresh)
    plans = [
        DevicePlan(spec, _for_device(base, spec, energy_given), sample=work)
        for spec in [_device(n) for n in names]
    ]
    return _run_exporting_ahead(plans, run, work, jobs=jobs, executor=executor)


def _run_exporting_ahead(
    plans: list[DevicePlan], run: _Run, work: SpaceSample, *, jobs: int, executor: str | None
) -> ProfileResult:
    """:func:`_run`, with the sample's exports submitted ahead to the executor of ``jobs``
    and ``executor`` (none for ``jobs=1`` here, nor when only table devices measure)."""
    _check_ahead(jobs, executor)
    if all(p.spec.transport == "table" for p in plans) or not isinstance(work.space, SearchSpace):
        return _run(plans, run)
    with open_executor(executor, jobs=jobs) as pool:
        if pool is None:
            return _run(plans, run)
        with _ahead(work.space, work.archs, pool, work.exporter, plans[0].settings.to_dict()):
            return _run(plans, run)


def _ahead(
    space: SearchSpace, archs: Sequence[str], pool: Any, exporter: str, settings: Mapping[str, Any]
) -> AbstractContextManager[int]:
    """The exports of ``archs`` submitted ahead to ``pool``, each quantized there too when
    the jobs' ``settings`` measure ``int8`` (``hwnas.profiler.quantize.quantizing_ahead``)."""
    if str(settings.get("precision") or "fp32") == "fp32":
        return exporting_ahead(space, archs, executor=pool, exporter=exporter)
    from hwnas.profiler.quantize import quantizing_ahead

    mode = str(settings.get("quantize_mode") or "static")
    return quantizing_ahead(space, archs, executor=pool, exporter=exporter, mode=mode)


def resume(
    *,
    device: DeviceArg | None = None,
    store: StoreArg = None,
    progress: ProgressCallback | None = None,
    errors: str = "raise",
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    jobs: int = 1,
    executor: str | None = None,
    **settings: Any,
) -> ProfileResult:
    """Measure the jobs that interrupted or disconnected runs left queued in the store.

    ``device``: only these devices' jobs (default: every device with queued jobs).
    Each job runs with the settings it was queued with, but ``settings`` given here (the
    names in :data:`RESUME_OVERRIDES`: ``energy``, ``max_seconds``, ``target_ci`` ...)
    replace the queued ones, in the store too (a measurement's reuse key is computed from
    its job's settings); any other setting raises ``ParameterError``, as it would change
    what a queued job measures. Jobs resume cannot run are skipped and left queued, each
    in ``result.skipped_jobs`` with the reason and summed up in ``notes``: those of a
    device no longer registered (unless ``device`` names it: ``UnknownDeviceError``) and
    those the device refuses for their settings (a meter it does not have, say). When
    nothing is queued, the result is empty and its ``notes`` say so. ``store``,
    ``progress``, ``errors``, ``reconnect_timeout`` and ``max_attempts`` are as for
    :func:`profile` (attempts are counted afresh); failed and cancelled jobs are not run.
    ``jobs`` and ``executor`` export the queued architectures ahead, as for
    :func:`profile_space`.
    """
    _check_errors(errors)
    _check_ahead(jobs, executor)
    names = None if device is None else _device_names(device)
    overrides = _overrides(settings)
    attempts = check_max_attempts(max_attempts)
    run = _Run(store, _batch(), None, progress, reconnect_timeout, errors, attempts)
    specs = {n: _device(n) for n in names or []}  # UnknownDeviceError for a named one
    with _open(store) as db:
        run.url, run.location = db.url, db.location
        pending = [
            j
            for j in db.jobs(status="pending") + _orphaned(db)
            if names is None or j.device in names
        ]
        pending = _overridden(db, _loadable(pending, run), overrides)
    plans = []
    for name in names or sorted({j.device for j in pending}):
        queued = [j for j in pending if j.device == name]
        spec = specs.get(name) or _registered(name, queued, run)
        if queued and spec is not None:
            plans.append(DevicePlan(spec, ProfileSettings(), jobs=queued, skip_unrunnable=True))
    if not plans:
        result = ProfileResult(store=run.url)
        result.skipped_jobs = run.skipped_jobs
        for text in skipped_job_notes(run.skipped_jobs):
            _note(result, emitter(progress), text)
        if not run.skipped_jobs:
            for_whom = f" for {', '.join(names)}" if names else ""
            _note(result, emitter(progress), f"nothing to resume: no queued jobs{for_whom}")
        return result
    with open_executor(executor, jobs=jobs) as pool, queued_exports_ahead(pending, pool):
        return _run(plans, run)


@contextmanager
def queued_exports_ahead(pending: Sequence[Job], pool: Executor | None) -> Iterator[None]:
    """While the block runs, the model files ``pending`` jobs lack (their architectures'
    exports, quantized where the job measures int8) are made on ``pool`` ahead of the
    measurements that need them; nothing without a pool (each job exports its own)."""
    with ExitStack() as ahead:
        for space, exporter, archs, precision in _to_export(pending) if pool is not None else []:
            with suppress(HwnasError):  # a string not in the space: its job fails with it
                ahead.enter_context(_ahead(space, archs, pool, exporter, precision))
        yield


def _orphaned(db: Store) -> list[Job]:
    """The jobs marked running under a worker that no longer runs them: its lease on the
    device expired or went to another, or its process exited on this host (a killed
    ``hwnas profile``). Taking the device's lease puts them back in the queue, so a resume
    runs them; a job a live worker holds is that worker's."""
    leases = {lease.device: lease for lease in db.leases()}
    out = []
    for job in db.jobs(status="running"):
        lease = leases.get(job.device)
        if (
            lease is None
            or lease.worker != job.worker
            or lease.expired
            or (job.worker is not None and worker_gone(job.worker))
        ):
            out.append(job)
    return out


def _check_ahead(jobs: int, executor: str | None) -> None:
    check_jobs(jobs)
    check_executor(executor)


def _to_export(
    pending: Sequence[Job],
) -> list[tuple[SearchSpace, str, list[str], dict[str, Any]]]:
    """The queued architectures a resume will export, by space, exporter and precision
    (those of a space that does not load here are left to the job, which fails with its
    error), each group with the precision settings its jobs keep."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for job in pending:
        if job.arch is None or (job.model_path and Path(job.model_path).exists()):
            continue
        exporter = str(job.settings.get("exporter", "dynamo"))  # as job_to_model_job reads it
        precision = str(job.settings.get("precision") or "fp32")
        mode = str(job.settings.get("quantize_mode") or "static")
        key = (job_space(job), exporter, precision, mode)
        groups.setdefault(key, []).append(job.arch.string)
    out = []
    for (reference, exporter, precision, mode), archs in groups.items():
        try:
            space = get_space(reference)
        except HwnasError:
            continue
        out.append((space, exporter, archs, {"precision": precision, "quantize_mode": mode}))
    return out


def _overrides(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings ``resume`` was given, checked (``energy=None``: not given)."""
    given = {k: v for k, v in settings.items() if not (k == "energy" and v is None)}
    checked = ProfileSettings.from_options(**given).to_dict()  # ParameterError for a bad one
    for name in given:
        if name not in RESUME_OVERRIDES:
            raise ParameterError(
                name,
                f"cannot be changed when resuming: it changes what a queued job measures "
                f"(only {', '.join(RESUME_OVERRIDES)} can); cancel the jobs (cancel_jobs) "
                f"and profile again with the new setting",
            )
    return {name: checked[name] for name in given}


def _overridden(db: Store, jobs: list[Job], overrides: dict[str, Any]) -> list[Job]:
    """``jobs`` with ``overrides`` in their settings, stored first."""
    if not overrides:
        return jobs
    out = []
    for job in jobs:
        new = {**job.settings, **overrides}
        ProfileSettings.from_dict(new)  # ParameterError when they do not go together
        if new != job.settings:
            db.set_job_settings(job.id, new)
        out.append(replace(job, settings=new))
    return out


def _loadable(jobs: list[Job], run: _Run) -> list[Job]:
    """``jobs`` less those whose file is gone and whose space cannot be loaded here to
    export it again (a module not importable in this environment): those go into
    ``run.skipped_jobs`` with the reason, and stay queued."""
    problems: dict[str, str | None] = {}
    kept = []
    for job in jobs:
        if job.arch is None or (job.model_path and Path(job.model_path).exists()):
            kept.append(job)
            continue
        ref = job_space(job)
        if ref not in problems:
            try:
                get_space(ref)
                problems[ref] = None
            except SpaceError as exc:
                problems[ref] = exc.message
        if problems[ref] is None:
            kept.append(job)
        else:
            reason = (
                f"their space {ref!r} cannot be loaded here ({problems[ref]}); resume where "
                f"it can be imported (its environment and working directory)"
            )
            run.skipped_jobs.append(
                {"id": job.id, "device": job.device, "model": job.label, "reason": reason}
            )
    return kept


def _registered(name: str, jobs: list[Job], run: _Run) -> DeviceSpec | None:
    """The device's spec, or None with its jobs in ``run.skipped_jobs`` if it is gone."""
    try:
        return _device(name)
    except UnknownDeviceError as exc:
        reason = f"device {name!r} is no longer registered ({exc.message})"
        run.skipped_jobs += [
            {"id": j.id, "device": name, "model": j.label, "reason": reason} for j in jobs
        ]
        return None


# -- the queue -----------------------------------------------------------------


@dataclass
class QueueStatus:
    """The store's job queue: ``counts`` (device -> ``pending``, ``running``, ``failed``,
    ``done``, ``cancelled`` -> how many jobs), the ``pending`` jobs (oldest first), the
    ``running`` ones (each with its ``worker``), the devices' ``leases`` (who holds each
    device, since when, its last heartbeat) and the store."""

    store: str
    counts: dict[str, dict[str, int]]
    pending: list[Job]
    running: list[Job] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)

    def to_dict(self, *, jobs: bool = False) -> dict[str, Any]:
        """JSON-able: the store, per device its counts and ``workers`` (the lease: ``worker``,
        ``lease_age_s`` since acquired, ``heartbeat_age_s``, ``expired``), and with ``jobs``
        the pending and running jobs (``id``, ``label``, ``device``, ``status``,
        ``settings`` summary, ``age_s``, ``worker``)."""
        leases = {lease.device: lease for lease in self.leases}
        devices = sorted(set(self.counts) | set(leases))
        doc: dict[str, Any] = {
            "store": self.store,
            "devices": [
                {
                    "device": d,
                    **{k: self.counts.get(d, {}).get(k, 0) for k in JOB_STATUSES},
                    "workers": [_lease_dict(leases[d])] if d in leases else [],
                }
                for d in devices
            ],
        }
        if jobs:
            doc["jobs"] = [
                {
                    "id": j.id,
                    "label": j.label,
                    "device": j.device,
                    "status": j.status,
                    "settings": settings_summary(j.settings),
                    "age_s": job_age(j),
                    "worker": j.worker,
                }
                for j in sorted(self.pending + self.running, key=lambda j: j.id)
            ]
        return doc


def _lease_dict(lease: Lease) -> dict[str, Any]:
    return {
        "worker": lease.worker,
        "lease_age_s": round(lease.held_s, 1),
        "heartbeat_age_s": round(lease.heartbeat_age_s, 1),
        "expired": lease.expired,
    }


JOB_STATUSES = ("pending", "running", "failed", "done", "cancelled")


def queue_status(*, store: StoreArg = None, device: str | None = None) -> QueueStatus:
    """The job queue of ``store`` (of one ``device``, if given): counts per device and
    status, the pending and running jobs and who holds each device (its lease). Reads
    only; raises ``StoreError`` for a bad store."""
    with _open(store) as db:
        counts = db.job_counts()
        pending = db.jobs(status="pending", device=device)
        running = db.jobs(status="running", device=device)
        leases = [lease for lease in db.leases() if device in (None, lease.device)]
        url = db.url
    if device is not None:
        counts = {d: c for d, c in counts.items() if d == device}
    return QueueStatus(store=url, counts=counts, pending=pending, running=running, leases=leases)


def cancel_jobs(
    *,
    store: StoreArg = None,
    device: str | None = None,
    ids: Sequence[int] | None = None,
    all_pending: bool = False,
) -> list[int]:
    """Cancel pending jobs (``resume`` no longer runs them) and return their ids, oldest
    first: those of ``device`` and/or those with these ``ids``, or with ``all_pending``
    every pending job. Measurements are never deleted; jobs done or failed are kept as
    they are. Raises ``ParameterError`` when nothing is selected, or an id names no job
    of the store or one that is not pending."""
    if ids is not None and (
        isinstance(ids, (str, bytes)) or not all(isinstance(i, int) for i in ids)
    ):
        raise ParameterError("ids", f"must be a sequence of job ids (ints), got {ids!r}")
    if device is None and not ids and not all_pending:
        raise ParameterError(
            "all_pending", "is False and neither device nor ids is given; say which jobs"
        )
    with _open(store) as db:
        if ids:
            found = {j.id: j for j in db.jobs(ids=ids)}
            for i in ids:
                if i not in found:
                    raise ParameterError("ids", f"name job {i}, which {db.url} does not hold")
                if found[i].status != "pending":
                    raise ParameterError(
                        "ids", f"name job {i}, which is {found[i].status}, not pending"
                    )
        return db.cancel_jobs(device=device, ids=ids or None)


def settings_summary(settings: Mapping[str, Any]) -> str:
    """The settings of a job that differ from the defaults, e.g. ``energy=rapl,
    max_seconds=2.0`` (``defaults`` when none does)."""
    defaults = ProfileSettings().to_dict()
    shown = [
        f"{k}={v}"
        for k, v in sorted(settings.items())
        if k != "seed" and v != defaults.get(k) and v not in (None, {})
    ]
    return ", ".join(shown) or "defaults"


def job_age(job: Job) -> float | None:
    """Seconds since ``job`` was queued (None if unknown)."""
    if not job.created_at:
        return None
    queued = datetime.fromisoformat(job.created_at)
    return max(0.0, (datetime.now(timezone.utc) - queued).total_seconds())


def reference_model(reference: str | PathLike[str] | None) -> str | None:
    """The absolute path of a checked reference model (``"builtin"``: the example CNN),
    or ``None``. Raises ``ModelNotFoundError`` / ``InvalidModelError`` for a bad file."""
    if reference is None:
        return None
    from hwnas.onnx_model import check_model

    if str(reference) == "builtin":
        from hwnas.examples import example_onnx

        return str(example_onnx())
    return str(check_model(Path(reference)).path.absolute())


def fingerprint_notes(store: Store, device: str, measured: Sequence[Measurement]) -> list[str]:
    """Notes for when ``device``'s measurements in ``store`` now span several fingerprints:
    one per other fingerprint, with what differs from the one of ``measured`` (the last)."""
    if not measured:
        return []
    current = measured[-1].fingerprint
    others = [u for u in store.fingerprints(device=device) if u.fingerprint.hash != current.hash]
    notes = []
    for usage in others:
        diff = current.differences(usage.fingerprint)
        what = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (new, old) in diff.items())
        notes.append(
            f"device {device!r} also has {usage.count} measurement(s) under fingerprint "
            f"{usage.fingerprint.hash} (this run: {current.hash}; differs in {what}). They are "
            f"kept apart, never mixed: select one with fingerprint=HASH (--fingerprint HASH) "
            f"when listing, "
            f"exporting or training."
        )
    return notes


# -- arguments ---------------------------------------------------------------


def _missing_models(
    paths: list[Path],
) -> tuple[list[tuple[str, ModelNotFoundError]], list[Path]]:
    """(path, ``check_model``'s error) of each path that is no file, and the others."""
    from hwnas.onnx_model import check_model

    missing, present = [], []
    for path in paths:
        try:
            if not path.is_file():
                check_model(path)  # raises ModelNotFoundError saying what is wrong
            present.append(path)
        except ModelNotFoundError as exc:
            missing.append((str(path), exc))
    return missing, present


def _with_missing(result: ProfileResult, run: _Run, devices: Sequence[str]) -> ProfileResult:
    """``result`` with one error per device for each model file that does not exist."""
    result.not_queued = [m for m, _ in run.missing]
    result.errors[:0] = [
        {"device": d, "model": m, **e.to_dict()} for m, e in run.missing for d in devices
    ]
    if not result.devices:
        result.devices = list(devices)
    return _settle(result, run.errors)


def _check_errors(errors: str) -> None:
    if errors not in ERROR_MODES:
        raise ParameterError("errors", f"must be 'raise' or 'collect', got {errors!r}")


def _model_paths(models: Any, *, check: bool) -> list[Path]:
    """The model paths; with ``check``, each checked now (ModelNotFoundError ...)."""
    if isinstance(models, (str, PathLike)):
        models = [models]
    if not isinstance(models, Sequence) or not all(isinstance(m, (str, PathLike)) for m in models):
        raise ParameterError("models", f"must be a path or a sequence of paths, got {models!r}")
    if not models:
        raise ParameterError("models", "is empty; give at least one ONNX file")
    paths = [Path(m) for m in models]
    if check:
        from hwnas.onnx_model import check_model

        for path in paths:
            check_model(path)
    return paths


def _settings(settings: dict[str, Any], reference: Any) -> ProfileSettings:
    """Validated settings (``energy=None``: the device's meter, decided per device)."""
    if "reference" in settings:
        raise ParameterError("reference", "is an argument of its own, not a setting")
    given = {k: v for k, v in settings.items() if not (k == "energy" and v is None)}
    checked = ProfileSettings.from_options(**given)
    return replace(checked, reference=reference_model(reference))


def _for_device(base: ProfileSettings, spec: DeviceSpec, energy_given: bool) -> ProfileSettings:
    return base if energy_given else replace(base, energy=spec.energy)


def _device_names(device: Any) -> list[str]:
    names = [device] if isinstance(device, str) else device
    if not isinstance(names, Sequence) or not all(isinstance(n, str) and n for n in names):
        raise ParameterError("device", f"must be a device name or a list of names, got {device!r}")
    if not names:
        raise ParameterError("device", "is empty; name at least one device, e.g. 'local'")
    if len(set(names)) != len(names):
        raise ParameterError(
            "device", f"names a device twice ({device!r}); each runs one job at a time"
        )
    return list(names)


def _device(name: str) -> DeviceSpec:
    from hwnas.devices.registry import get_device

    return get_device(name)


def _sample(
    space: str | SearchSpace, sample: int | None, seed: int, archs: Sequence[str] | None
) -> tuple[SearchSpace, list[str]]:
    the_space = get_space(space) if isinstance(space, str) else space
    if not isinstance(the_space, SearchSpace):
        raise ParameterError("space", f"must be a space name or a SearchSpace, got {space!r}")
    if (sample is None) == (archs is None):
        raise ParameterError("sample", "or archs must be given, not both nor neither")
    if archs is not None:
        if isinstance(archs, str) or not archs:
            raise ParameterError("archs", f"must be a non-empty list of strings, got {archs!r}")
        # Canonical and distinct, in the order given (InvalidArchError names a bad one).
        return the_space, list(dict.fromkeys(the_space.canonical(a) for a in archs))
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ParameterError("sample", f"must be an int >= 1, got {sample!r}")
    return the_space, the_space.sample_distinct(seed, sample)


def _batch() -> str:
    return uuid.uuid4().hex[:12]


@contextmanager
def _open(store: StoreArg) -> Iterator[Store]:
    """The store to use: the caller's (left open) or one opened here (closed after)."""
    if isinstance(store, Store):
        yield store
        return
    if store is not None and not isinstance(store, (str, PathLike)):
        raise ParameterError("store", f"must be a path, a URL or a Store, got {store!r}")
    with Store(store_location(None if store is None else os.fspath(store))) as opened:
        yield opened


# -- running -----------------------------------------------------------------


@dataclass
class _Run:
    """How one profiling call runs its plans."""

    store: StoreArg
    batch: str
    space: SearchSpace | None
    progress: ProgressCallback | None
    reconnect_timeout: float
    errors: str
    max_attempts: int = 3
    url: str = ""
    #: Where the device threads open the store again (:attr:`Store.location`: the
    #: password kept; ``url`` hides it and is only shown).
    location: str = ""
    #: Queued jobs resume cannot run here (their device is no longer registered).
    skipped_jobs: list[dict[str, Any]] = field(default_factory=list)
    #: Model files that do not exist (never queued), each reported as an error.
    missing: list[tuple[str, ModelNotFoundError]] = field(default_factory=list)


def _run(plans: list[DevicePlan], run: _Run) -> ProfileResult:
    """Run the plans on their devices, then sum up (and with errors="raise", raise)."""
    from hwnas.devices.registry import connect

    report = emitter(run.progress)
    warnings = local_contention([p.spec for p in plans], report)
    loaded: dict[str, SearchSpace] = {}
    if run.space is not None:
        loaded[run.space.name] = loaded[space_reference(run.space)] = run.space

    def space_loader(name: str) -> Any:  # a name or a module:Class reference (job_space)
        if name not in loaded:
            loaded[name] = get_space(name)
        return loaded[name]

    # Each device's worker opens the store itself; the caller's handle is closed by now
    # (unless it is the caller's own Store), as the workers' opening would disturb it.
    outcomes, interrupted = run_fleet(
        plans,
        store_location=run.location,
        batch=run.batch,
        connect=connect,
        space_loader=space_loader,
        progress=report,
        reconnect_timeout=run.reconnect_timeout,
        max_attempts=run.max_attempts,
    )
    result = _result(outcomes, interrupted, run.url)
    result.warnings = warnings
    result.skipped_jobs = run.skipped_jobs + [j for o in outcomes for j in o.skipped_jobs]
    for text in [t for o in outcomes for t in o.notes]:  # a table device's changed table
        _note(result, report, text)
    with _open(run.store if isinstance(run.store, Store) else run.location) as db:
        if result.interrupted:
            _read_back(result, db, run.batch, [i for o in outcomes for i in o.job_ids])
        for name in sorted({m.device for m in result}):
            for text in fingerprint_notes(db, name, [m for m in result if m.device == name]):
                _note(result, report, text)
    for text in skipped_job_notes(result.skipped_jobs):
        _note(result, report, text)
    return _with_missing(result, run, result.devices)


def _read_back(result: ProfileResult, db: Store, batch: str, job_ids: list[int]) -> None:
    """After an interrupt, what this run measured and left as the store's job table says:
    a second Ctrl-C stops waiting for the workers, whose own tallies are then incomplete."""
    jobs = {j.id: j for j in db.jobs(batch=batch)}
    jobs.update({j.id: j for j in db.jobs(ids=job_ids)} if job_ids else {})
    result.left = sum(1 for j in jobs.values() if j.status == "pending")
    known = set(result.ids)
    for job in sorted(jobs.values(), key=lambda j: j.id):
        if job.status == "done" and job.measurement_id is not None:
            if job.measurement_id not in known:
                result.append(db.get(job.measurement_id).measurement)
                result.ids.append(job.measurement_id)


def skipped_job_notes(skipped: Sequence[Mapping[str, Any]]) -> list[str]:
    """One note per device and reason for jobs :func:`resume` skipped (left queued)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for job in skipped:
        groups.setdefault((str(job["device"]), str(job["reason"])), []).append(int(job["id"]))
    return [
        f"skipped {len(ids)} queued job(s) of {device!r} (left queued): {reason}. Cancel "
        f"them with cancel_jobs(device={device!r}) (`hwnas queue cancel --device {device}`), "
        f"or resume with settings the device can run (e.g. energy='none': --energy none)."
        for (device, reason), ids in groups.items()
    ]


def _note(result: ProfileResult, report: ProgressCallback, text: str) -> None:
    result.notes.append(text)
    report(Event(kind="note", message=text))


def _result(outcomes: list[DeviceOutcome], interrupted: bool, store: str) -> ProfileResult:
    result = ProfileResult([m for o in outcomes for _, m in o.result.measurements], store=store)
    result.ids = [i for o in outcomes for i, _ in o.result.measurements]
    result.errors = [{"device": o.device, **e} for o in outcomes for e in o.result.errors]
    result.device_errors = {o.device: o.error for o in outcomes if o.error is not None}
    result.connection_lost = {
        o.device: o.result.connection_lost for o in outcomes if o.result.connection_lost
    }
    result.skipped = sorted({a for o in outcomes for a in o.skipped})
    result.reused = [
        {
            "device": o.device,
            "count": len(o.skipped),
            "fingerprint": o.fingerprint,
            "settings_key": o.settings_key,
            "reason": REUSED_BECAUSE,
        }
        for o in outcomes
        if o.skipped
    ]
    result.interrupted = interrupted or any(o.result.interrupted for o in outcomes)
    result.left = sum(len(o.result.left) for o in outcomes)
    result.reconnects = {o.device: o.result.reconnects for o in outcomes}
    result.devices = [o.device for o in outcomes]
    return result


def _settle(result: ProfileResult, errors: str) -> ProfileResult:
    """``result``, or with errors="raise" the error that sums up its failures."""
    if errors == "collect" or result.interrupted or result.ok:
        return result
    if len(result.devices) == 1 and result.device_errors and not result:
        raise next(iter(result.device_errors.values()))  # the one device never worked
    failures = [f"{e['model']} on {e['device']}: {e['message']}" for e in result.errors]
    failures += [f"{d}: {e.message}" for d, e in result.device_errors.items()]
    failures += [f"{d}: {why}" for d, why in result.connection_lost.items()]
    shown = "; ".join(failures[:3]) + (f"; and {len(failures) - 3} more" if failures[3:] else "")
    raise ProfileError(
        f"{len(failures)} failure(s) while profiling: {shown}. The {len(result)} "
        f"measurement(s) taken are stored in {result.store} and in this error's .result; "
        f"pass errors='collect' to get failures in the result instead of this error.",
        result,
    )
