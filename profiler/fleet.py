"""Profiling on several devices at once: one worker thread per device.

Measurements on one device never overlap (its worker runs one job at a time, as
they would disturb each other); different devices run in parallel. Each worker has
its own connection and its own store handle; every job is queued in the store before
it runs and marked done in the same transaction that stores its measurement, so an
interrupt, a dropped link or a crash never loses a measurement nor stores one twice.

A table device (``hwnas.devices.table``) goes through the same planning and job
bookkeeping, but its fingerprint is its table's content hash and its jobs are looked up
in the table instead of being run (no transport, no export): :func:`_measure_table`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwnas.devices.table import DeviceTable, open_table_device
from hwnas.devices.transport import Transport
from hwnas.errors import (
    HwnasError,
    LeaseLostError,
    ModelNotFoundError,
    NotInTableError,
    ParameterError,
    TableDeviceError,
    UsageError,
)
from hwnas.events import Event, ProgressCallback, emitter, ignore
from hwnas.profiler.batch import (
    BatchResult,
    ModelJob,
    check_max_attempts,
    probe_fingerprint,
    profile_batch,
)
from hwnas.profiler.leases import DEFAULT_LEASE_SECONDS, DEFAULT_POLL_SECONDS, hold_device
from hwnas.profiler.quantize import for_precision
from hwnas.profiler.settings import ProfileSettings, result_key
from hwnas.records import Arch, DeviceSpec, Fingerprint, Measurement
from hwnas.sources import ModelSource
from hwnas.spaces import SearchSpace, space_reference
from hwnas.store import Job, NewJob, Store, worker_id

#: The stage name of the fleet's events.
STAGE = "measure"
_log = logging.getLogger(__name__)
#: What a device worker measures with: a connection to the device's runner, or the
#: table of a table device.
Measurer = Transport | DeviceTable


@dataclass
class SpaceSample:
    """Architectures of a space to measure; those already measured (same fingerprint, same
    settings) are skipped per device, unless ``fresh``."""

    space: ModelSource  # a search space, a lookup table's blocks, sampled kernels
    archs: list[str]
    exporter: str = "torchscript"  # hwnas.export.DEFAULT_EXPORTER
    #: Measurements wanted per architecture, each in its own runner process. Repeats run
    #: pass by pass (every architecture once, then every one again), so a slow phase of a
    #: shared machine lands on different architectures each pass.
    repeats: int = 1
    #: Measure every architecture ``repeats`` times now, whatever the store holds (to
    #: verify a prediction, a measurement taken earlier proves nothing new).
    fresh: bool = False


@dataclass
class DevicePlan:
    """What one device must do: queued jobs, grouped by settings, or a space sample."""

    spec: DeviceSpec
    settings: ProfileSettings
    jobs: list[Job] = field(default_factory=list)
    sample: SpaceSample | None = None
    #: Skip (and leave queued) a group of jobs the device refuses for its settings (a
    #: ``UsageError`` such as a meter it does not have) instead of stopping the device:
    #: for ``resume``, whose queued jobs may have been made for a device that changed.
    skip_unrunnable: bool = False


@dataclass
class DeviceOutcome:
    """What one device did: its batch result, the architectures it skipped (already
    measured under its fingerprint with the same settings: ``fingerprint`` and
    ``settings_key`` say which, for a space sample) and the error that stopped it, if one did."""

    device: str
    result: BatchResult = field(default_factory=BatchResult)
    skipped: list[str] = field(default_factory=list)
    error: HwnasError | None = None
    fingerprint: str | None = None
    settings_key: str | None = None
    #: The ids of the jobs it was to run (known once planned).
    job_ids: list[int] = field(default_factory=list)
    #: Jobs skipped and left queued (``DevicePlan.skip_unrunnable``): ``id``, ``device``,
    #: ``model`` and ``reason``.
    skipped_jobs: list[dict[str, Any]] = field(default_factory=list)
    #: Notes about the device (a table device's table changed since it was registered).
    notes: list[str] = field(default_factory=list)


def job_space(job: Job) -> str:
    """What ``get_space`` loads a queued architecture's space from: the reference queued
    with it (``"space_ref"``: a space given as ``package.module:Class``), else its name."""
    assert job.arch is not None
    return str(job.settings.get("space_ref") or job.arch.space)


def job_to_model_job(job: Job, space_loader: Callable[[str], ModelSource]) -> ModelJob:
    """A batch job for a queued one; a space architecture whose exported file is gone is
    exported again (from the cache, usually). A job of ``precision`` ``int8`` measures
    the model's int8 copy (``hwnas.profiler.quantize.for_precision``: quantized here, on
    the host, and cached), whatever the model: an exported architecture, a block, a file."""

    def source() -> str | Path:
        if job.model_path and Path(job.model_path).exists():
            return job.model_path
        if job.arch is not None:
            # A job queued without an exporter predates the setting: dynamo then.
            exporter = str(job.settings.get("exporter", "dynamo"))
            space = space_loader(job_space(job))
            return Path(space.to_onnx(job.arch.string, exporter=exporter))
        raise ModelNotFoundError(
            f"model file {job.model_path or job.label!r} does not exist; check the path "
            f"(its job {job.id} is marked failed: profile the file again once it is there)."
        )

    def prepare() -> str | Path:
        return Path(for_precision(source(), job.settings))

    return ModelJob(label=job.label, prepare=prepare, arch=job.arch, job_id=job.id)


@dataclass
class MissingJobs:
    """What :func:`plan_missing` queued (``jobs``) and left out as measured (``skipped``)."""

    jobs: list[Job]
    #: Architectures already measured ``repeats`` times under the fingerprint with settings
    #: of key ``settings_key``, in input order.
    skipped: list[Arch]
    #: The key of the jobs' settings (``hwnas.profiler.settings.result_key``).
    settings_key: str = ""


def plan_missing(
    store: Store,
    *,
    device: str,
    fingerprint: str,
    archs: Sequence[Arch],
    settings: Mapping[str, Any],
    batch: str,
    repeats: int = 1,
    label: Callable[[Arch], str] | None = None,
    model_path: Callable[[Arch], str | None] | None = None,
    progress: ProgressCallback | None = None,
    fresh: bool = False,
) -> MissingJobs:
    """Queue the measurements of ``archs`` that ``device`` still lacks under ``fingerprint``
    with ``settings``.

    The one implementation of "skip what is already measured" for architectures, blocks
    and kernels alike. ``fingerprint`` is the hash of the fingerprint the jobs will be
    measured under (``probe_fingerprint(transport, settings).hash``); ``archs`` may mix
    spaces (each ``Arch.space`` is looked up on its own). A measurement counts only if
    it was taken with settings of the same key (``result_key(settings)``: the settings
    that change the result, ``hwnas.store.RESULT_SETTINGS``); with ``fresh``, none counts.
    Each architecture is wanted ``repeats`` times: jobs are queued pass by pass (every
    missing architecture once, then those still short again), and a pass after the first
    carries ``"repeat": pass`` in its settings so that it is not merged with the pending
    job of another pass.

    ``settings`` are the jobs' settings (``ProfileSettings.to_dict()`` plus, for a space,
    ``"exporter"``). ``label(arch)`` names a job (default: ``arch.string``).
    ``model_path(arch)`` gives the file to measure (default: none, the fleet exports the
    architecture when it runs it); it is called once per architecture that gets a job,
    in order, each call followed by a ``step`` event (stage ``"export"``) on
    ``progress``. Pending equal jobs are reused, not queued twice (``Store.add_jobs``).

    Returns the queued jobs (in run order), the skipped architectures and the settings
    key. Raises ``ParameterError`` for ``repeats < 1``; store errors are ``StoreError``.
    """
    if repeats < 1:
        raise ParameterError("repeats", f"must be >= 1, got {repeats}")
    key = result_key(settings)
    counts: dict[str, dict[str, int]] = {}
    for space in dict.fromkeys(a.space for a in archs):
        counts[space] = {}
        if not fresh:
            counts[space] = store.measured_arch_counts(
                space=space, device=device, fingerprint=fingerprint, settings_key=key
            )

    def done(arch: Arch) -> int:
        return counts[arch.space].get(arch.string, 0)

    missing = [a for a in archs if done(a) < repeats]
    paths = _model_paths(missing, model_path, emitter(progress))
    todo: list[NewJob] = []
    for r in range(repeats):
        # The first pass has no repeat number, as jobs had before repeats existed.
        pass_settings = dict(settings) if r == 0 else {**settings, "repeat": r + 1}
        todo += [
            NewJob(
                label=label(a) if label else a.string,
                model_path=paths[i],
                arch=a,
                settings=pass_settings,
            )
            for i, a in enumerate(missing)
            if done(a) <= r
        ]
    skipped = [a for a in archs if done(a) >= repeats]
    jobs = store.add_jobs(batch, device, todo) if todo else []
    return MissingJobs(jobs=jobs, skipped=skipped, settings_key=key)


def _model_paths(
    archs: list[Arch],
    model_path: Callable[[Arch], str | None] | None,
    progress: ProgressCallback,
) -> list[str | None]:
    if model_path is None:
        return [None] * len(archs)
    paths = []
    for i, arch in enumerate(archs, start=1):
        paths.append(model_path(arch))
        progress(Event(kind="step", stage="export", done=i, total=len(archs)))
    return paths


def _plan_sample(
    device: Measurer, store: Store, plan: DevicePlan, batch: str, out: DeviceOutcome
) -> list[Job]:
    """Queue the measurements the sample still lacks here under this fingerprint with
    these settings (all of them when the sample is ``fresh``).

    A table device's values do not depend on the timing settings nor on an exporter:
    its jobs are queued with the default settings, so whatever settings a run is given,
    what its table answered before is reused."""
    assert plan.sample is not None
    sample = plan.sample
    fingerprint: Fingerprint
    if isinstance(device, DeviceTable):
        _table_precision(device, plan.spec, plan.settings)
        fingerprint = device.fingerprint
        settings = ProfileSettings(seed=plan.settings.seed).to_dict()
    else:
        fingerprint = probe_fingerprint(device, plan.settings, plan.spec)
        settings = {**plan.settings.to_dict(), "exporter": sample.exporter}
    planned = plan_missing(
        store,
        device=plan.spec.name,
        fingerprint=fingerprint.hash,
        archs=[Arch(space=sample.space.name, string=a) for a in sample.archs],
        settings={**settings, **_space_ref(sample)},
        batch=batch,
        repeats=sample.repeats,
        fresh=sample.fresh,
    )
    out.skipped = [a.string for a in planned.skipped]
    out.fingerprint, out.settings_key = fingerprint.hash, planned.settings_key
    return planned.jobs


def _table_precision(table: DeviceTable, spec: DeviceSpec, settings: ProfileSettings) -> None:
    """``TableDeviceError`` unless ``settings`` measure fp32: a table holds the values it
    was given, of no quantized model."""
    if settings.precision != "fp32":
        raise TableDeviceError(
            f"device {spec.name!r} is a table of measured values ({table.path}); it cannot "
            f"measure {settings.precision} models. Profile precision={settings.precision!r} "
            f"(--precision {settings.precision}) on a device that runs models (e.g. --device "
            f"local), or drop it for the table"
        )


def _space_ref(sample: SpaceSample) -> dict[str, str]:
    """``{"space_ref": ...}`` for a space not registered under its name (so that a resume
    in another process can load it: :func:`job_space`); nothing for one that is."""
    if not isinstance(sample.space, SearchSpace):  # blocks, kernels: the caller's loader knows
        return {}
    reference = space_reference(sample.space)
    return {} if reference == sample.space.name else {"space_ref": reference}


@dataclass
class _Fleet:
    """What every device worker of one ``run_fleet`` call shares."""

    store_location: str
    batch: str
    connect: Callable[[DeviceSpec], Transport]
    space_loader: Callable[[str], ModelSource]
    report: ProgressCallback
    reconnect_timeout: float
    max_attempts: int = 3
    stop: threading.Event = field(default_factory=threading.Event)
    transports: dict[str, Transport] = field(default_factory=dict)
    #: Set (under ``sink_lock``) when a second Ctrl-C stops waiting for the workers: from
    #: then on nothing more is stored, so the summary read from the store is the truth.
    abandoned: bool = False
    sink_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Who claims the jobs (``hwnas.store.worker_id``) and for how long a device's lease
    #: lasts without a heartbeat (s); how often to look again while another holds it (s).
    worker: str = field(default_factory=worker_id)
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    poll_seconds: float = DEFAULT_POLL_SECONDS
    #: Per device, set by its heartbeat once its lease is lost: no job more starts there.
    lost: dict[str, threading.Event] = field(default_factory=dict)

    def halted(self, device: str) -> bool:
        """Whether ``device`` starts no job more: the run is stopped, or its lease lost."""
        lost = self.lost.get(device)
        return self.stop.is_set() or (lost is not None and lost.is_set())


def run_fleet(
    plans: Sequence[DevicePlan],
    *,
    store_location: str,
    batch: str,
    connect: Callable[[DeviceSpec], Transport],
    space_loader: Callable[[str], ModelSource],
    progress: ProgressCallback | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    worker: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    stop: threading.Event | None = None,
) -> tuple[list[DeviceOutcome], bool]:
    """Run every plan, one thread per device; return the outcomes and whether Ctrl-C
    stopped the run. Nothing raises for a device's failure: it is in its outcome.

    Each device's jobs run under its lease (``hwnas.profiler.leases``), held by
    ``worker`` (default: a new ``hwnas.store.worker_id()``) and renewed every third of
    ``lease_seconds``; each job is claimed before it runs, so a job another worker runs
    or ran is not measured here: while another worker holds the device, this one waits
    (a ``note`` event says so), and what that worker measured of the plan's jobs is in
    the outcome as if measured here. A device whose lease is lost meanwhile (another
    worker took it over: this one stalled longer than the lease) starts no job more: a
    ``note`` says so at once, and its outcome's ``error`` is a ``LeaseLostError`` (the
    jobs it did not store stay queued for the device's holder). ``stop``: set it to end
    the run after the jobs running now (as a first Ctrl-C does; it is set on Ctrl-C).

    ``progress`` receives ``hwnas.events`` events from the worker threads: ``planned``
    (``total`` jobs, ``skipped``), ``start`` and ``done`` per job (``label``; ``done`` with
    its ``measurement`` or ``error``) and ``retry`` (``error``, ``delay``), each with
    ``device`` and stage ``"measure"``. A job whose ``max_attempts`` attempts all lose the
    connection is failed (see :func:`profile_batch`); ``ParameterError`` for
    ``max_attempts`` < 1.
    """
    report = progress if progress is not None else ignore
    fleet = _Fleet(
        store_location,
        batch,
        connect,
        space_loader,
        report,
        reconnect_timeout,
        check_max_attempts(max_attempts),
        stop=stop or threading.Event(),
        worker=worker or worker_id(),
        lease_seconds=lease_seconds,
    )
    outcomes = [DeviceOutcome(device=p.spec.name) for p in plans]
    finished = [threading.Event() for _ in plans]
    threads = [
        threading.Thread(
            target=_work, args=(fleet, p, o, e), name=f"hwnas-{p.spec.name}", daemon=True
        )
        for p, o, e in zip(plans, outcomes, finished, strict=True)
    ]
    for t in threads:
        t.start()
    interrupted = _wait(fleet, finished)
    if interrupted:
        _release_abandoned(fleet, plans, finished)
    for o in outcomes:
        if interrupted:
            o.result.interrupted = True
    return outcomes, interrupted


def _release_abandoned(
    fleet: _Fleet, plans: Sequence[DevicePlan], finished: list[threading.Event]
) -> None:
    """Give back the devices whose workers were not waited for (a second Ctrl-C): their
    running jobs return to the queue now, and what those workers still measure is
    refused (``LeaseLostError``), instead of the jobs waiting for the leases to expire."""
    try:
        with Store(fleet.store_location) as store:
            for plan, done in zip(plans, finished, strict=True):
                if not done.is_set():
                    store.release_device(plan.spec.name, fleet.worker)
    except HwnasError as exc:  # the leases expire on their own
        _log.warning("could not release the devices: %s", exc)


def _work(fleet: _Fleet, plan: DevicePlan, out: DeviceOutcome, done: threading.Event) -> None:
    """One device's worker: plan, then measure its jobs group by group of settings."""
    name = plan.spec.name
    try:
        with Store(fleet.store_location) as store, _session(fleet, plan, out) as device:
            jobs = plan.jobs
            if plan.sample is not None:
                jobs = _plan_sample(device, store, plan, fleet.batch, out)
            out.job_ids = [j.id for j in jobs]
            fleet.report(
                Event(
                    kind="planned",
                    stage=STAGE,
                    device=name,
                    total=len(jobs),
                    skipped=len(out.skipped),
                )
            )
            if jobs:
                _measure_held(fleet, store, device, plan, jobs, out)
    except HwnasError as exc:
        out.error = exc
    except Exception as exc:  # noqa: BLE001 - one device's bug must not hide the others
        _log.error("unexpected error on %s", name, exc_info=exc)
        out.error = HwnasError(
            f"unexpected {type(exc).__name__} on {name}: {exc}; this is "
            f"a bug in hwnas, please report it with the traceback above"
        )
        out.error.__cause__ = exc
    finally:
        fleet.transports.pop(name, None)
        done.set()


def _measure_held(
    fleet: _Fleet,
    store: Store,
    device: Measurer,
    plan: DevicePlan,
    jobs: list[Job],
    out: DeviceOutcome,
) -> None:
    """Measure ``jobs`` group by group of settings under the device's lease (waiting for
    it while another worker holds it), then take in what other workers did of them."""
    name = plan.spec.name
    ids = [j.id for j in jobs]

    def all_settled() -> bool:  # another worker finished every one: nothing left to wait for
        return not store.jobs(ids=ids, status="pending") and not store.jobs(
            ids=ids, status="running"
        )

    lost = fleet.lost[name] = threading.Event()
    held = hold_device(
        store,
        fleet.store_location,
        name,
        fleet.worker,
        lease_seconds=fleet.lease_seconds,
        stop=fleet.stop,
        give_up=all_settled,
        report=lambda e: _noted(fleet, out, e),
        poll_seconds=fleet.poll_seconds,
        on_lost=lost.set,
    )
    with held as lease:
        for settings, model_jobs in _groups(jobs, fleet.space_loader) if lease else []:
            result = _measure_or_skip(fleet, store, device, plan, model_jobs, settings, out)
            gone = result.interrupted and lost.is_set() and not fleet.stop.is_set()
            if gone:  # not a Ctrl-C: the jobs left are for the device's holder
                result.interrupted = False
                out.error = out.error or _lease_lost(fleet, name, result)
            _merge(out.result, result)
            if result.stopped_by is not None:
                out.error = result.stopped_by  # what was measured before it is kept
            if gone or result.interrupted or result.connection_lost or result.stopped_by:
                break
    _take_in_elsewhere(store, ids, out)


def _lease_lost(fleet: _Fleet, device: str, result: BatchResult) -> LeaseLostError:
    """Why a device's batch stopped before its ``result.left`` jobs: its lease was lost."""
    return LeaseLostError(
        f"worker {fleet.worker} lost its lease on {device} (another worker took the device "
        f"over after the lease ran out without a heartbeat, or it was released) and started "
        f"no job more there: the {len(result.left)} job(s) it had not started stay queued, for "
        f"whoever holds the device. If this worker only stalled, give it a longer lease "
        f"(--lease-seconds)"
    )


def _noted(fleet: _Fleet, out: DeviceOutcome, event: Event) -> None:
    """A note about the device's lease: reported now and kept with the outcome."""
    fleet.report(event)
    if event.message:
        out.notes.append(event.message)


def _take_in_elsewhere(store: Store, ids: list[int], out: DeviceOutcome) -> None:
    """The plan's jobs another worker measured or failed (this one skipped them when it
    could not claim them), into the outcome as if done here."""
    measured = {i for i, _ in out.result.measurements}
    failed = {e.get("model") for e in out.result.errors}
    for job in store.jobs(ids=ids):
        if job.status == "done" and job.measurement_id not in measured | {None}:
            stored = store.get(int(job.measurement_id or 0), samples=False)
            out.result.measurements.append((stored.id, stored.measurement))
        elif job.status == "failed" and job.error and job.label not in failed:
            out.result.errors.append({"model": job.label, **job.error})


@contextmanager
def _session(fleet: _Fleet, plan: DevicePlan, out: DeviceOutcome) -> Iterator[Measurer]:
    """The device's transport (connected, known to ``fleet`` so that Ctrl-C can drop it),
    or a table device's table (with a note in ``out`` when it changed)."""
    if plan.spec.transport != "table":
        with fleet.connect(plan.spec) as transport:
            fleet.transports[plan.spec.name] = transport
            yield transport
        return
    table, notes = _open_table(fleet, plan)
    out.notes += notes
    yield table


def _open_table(fleet: _Fleet, plan: DevicePlan) -> tuple[DeviceTable, list[str]]:
    """A table device's table and notes; ``TableDeviceError`` when the sample is of
    another space than the table's (or the table is gone: ``open_table_device``)."""
    spec = plan.spec
    assert spec.space is not None
    space = fleet.space_loader(spec.space)
    if not isinstance(space, SearchSpace):
        raise TableDeviceError(f"device {spec.name!r}: {spec.space!r} is not a search space")
    if plan.sample is not None and plan.sample.space.name != space.name:
        raise TableDeviceError(
            f"device {spec.name!r} is a table of {space.name} architectures ({spec.table}); "
            f"it cannot measure {plan.sample.space.name} architectures. Profile "
            f"--space {space.name} on it, or register a table of {plan.sample.space.name}: "
            f"`hwnas devices add NAME --table FILE --space {plan.sample.space.name}`"
        )
    return open_table_device(spec, space)


def _groups(
    jobs: Sequence[Job], space_loader: Callable[[str], ModelSource]
) -> list[tuple[ProfileSettings, list[ModelJob]]]:
    """The jobs grouped by their settings (one batch each), in order of first appearance."""
    groups: dict[str, tuple[ProfileSettings, list[ModelJob]]] = {}
    for job in jobs:
        key = json.dumps(job.settings, sort_keys=True)
        if key not in groups:
            groups[key] = (ProfileSettings.from_dict(job.settings), [])
        groups[key][1].append(job_to_model_job(job, space_loader))
    return list(groups.values())


def _measure_or_skip(
    fleet: _Fleet,
    store: Store,
    device: Measurer,
    plan: DevicePlan,
    jobs: list[ModelJob],
    settings: ProfileSettings,
    out: DeviceOutcome,
) -> BatchResult:
    """Measure one group; with ``plan.skip_unrunnable``, a group the device refuses for
    its settings (``UsageError``: a missing meter, say) is skipped: its jobs not yet
    measured stay queued and go into ``out.skipped_jobs`` with the reason."""
    if not plan.skip_unrunnable:
        return _measure(fleet, store, device, plan.spec, jobs, settings)
    try:
        return _measure(fleet, store, device, plan.spec, jobs, settings)
    except UsageError as exc:
        ids = [j.job_id for j in jobs if j.job_id is not None]
        result = BatchResult()
        for job in store.jobs(ids=ids):
            if job.status == "done" and job.measurement_id is not None:
                result.measurements.append(
                    (job.measurement_id, store.get(job.measurement_id).measurement)
                )
            elif job.status in ("pending", "running"):  # running: claimed, requeued on release
                reason = f"{plan.spec.name} cannot run them as queued: {exc.message}"
                out.skipped_jobs.append(
                    {"id": job.id, "device": plan.spec.name, "model": job.label, "reason": reason}
                )
        return result


def _measure(
    fleet: _Fleet,
    store: Store,
    device: Measurer,
    spec: DeviceSpec,
    jobs: list[ModelJob],
    settings: ProfileSettings,
) -> BatchResult:
    """Measure one group of jobs, storing each measurement as its job finishes."""
    if isinstance(device, DeviceTable):
        _table_precision(device, spec, settings)
        return _measure_table(fleet, store, device, spec, jobs)
    transport, name, report = device, spec.name, fleet.report

    def done(label: str, m: Measurement | None, e: HwnasError | None) -> None:
        m = None if m is None else with_precision(m, settings)
        report(Event(kind="done", stage=STAGE, device=name, label=label, measurement=m, error=e))

    def sink(m: Measurement, j: ModelJob) -> int:
        m = with_precision(m, settings)
        with fleet.sink_lock:
            if fleet.abandoned:  # the job stays queued for --resume
                raise KeyboardInterrupt
            return store.finish_job(j.job_id, m, worker=me) if j.job_id else store.add(m)

    me = fleet.worker
    result = profile_batch(
        transport,
        spec,
        jobs,
        settings,
        sink=sink,
        claim=lambda j: _claim(store, name, me, j),
        on_failed=lambda j, e: store.fail_job(j.job_id, e, worker=me) if j.job_id else None,
        on_start=lambda label: report(Event(kind="start", stage=STAGE, device=name, label=label)),
        on_done=done,
        on_retry=lambda e, d: report(
            Event(kind="retry", stage=STAGE, device=name, error=e, delay=d)
        ),
        should_stop=lambda: fleet.halted(name),
        reconnect_timeout=fleet.reconnect_timeout,
        max_attempts=fleet.max_attempts,
    )
    result.measurements = [(i, with_precision(m, settings)) for i, m in result.measurements]
    return result


def with_precision(measurement: Measurement, settings: ProfileSettings) -> Measurement:
    """``measurement`` with the precision it measured in its settings: ``precision``
    (``fp32`` too, so every new record says it) and, for ``int8``, ``quantize_mode``. The
    runner times whatever file it gets; the host knows what that file was."""
    extra: dict[str, Any] = {"precision": settings.precision}
    if settings.precision != "fp32":
        extra["quantize_mode"] = settings.quantize_mode
    if all(measurement.settings.get(k) == v for k, v in extra.items()):
        return measurement
    return replace(measurement, settings={**measurement.settings, **extra})


def _claim(store: Store, device: str, worker: str, job: ModelJob) -> bool:
    """Whether ``worker`` now runs ``job`` (claimed for it; a job never queued runs too)."""
    if job.job_id is None:
        return True
    return store.claim_job(device, worker, ids=[job.job_id]) is not None


def _measure_table(
    fleet: _Fleet, store: Store, table: DeviceTable, spec: DeviceSpec, jobs: list[ModelJob]
) -> BatchResult:
    """Look each job up in the table, with :func:`profile_batch`'s bookkeeping: each
    measurement stored with its job as it is found; a job the table cannot answer (an
    architecture it lacks, a model file) fails with ``NotInTableError`` and the batch
    goes on; a stop leaves the rest queued."""
    name, report = spec.name, fleet.report
    result = BatchResult()
    for index, job in enumerate(jobs):
        if fleet.halted(name):
            result.interrupted, result.left = True, jobs[index:]
            break
        if not _claim(store, name, fleet.worker, job):
            continue
        report(Event(kind="start", stage=STAGE, device=name, label=job.label))
        try:
            measurement = _looked_up(table, spec, job)
        except NotInTableError as exc:
            error = {"model": job.label, **exc.to_dict()}
            result.errors.append(error)
            if job.job_id:
                store.fail_job(job.job_id, error, worker=fleet.worker)
            report(Event(kind="done", stage=STAGE, device=name, label=job.label, error=exc))
            continue
        with fleet.sink_lock:
            if fleet.abandoned:  # the job stays queued for --resume
                result.interrupted, result.left = True, jobs[index:]
                break
            stored = (
                store.finish_job(job.job_id, measurement, worker=fleet.worker)
                if job.job_id
                else store.add(measurement)
            )
        result.measurements.append((stored, measurement))
        report(
            Event(kind="done", stage=STAGE, device=name, label=job.label, measurement=measurement)
        )
    return result


def _looked_up(table: DeviceTable, spec: DeviceSpec, job: ModelJob) -> Measurement:
    """The table's measurement for one job; ``NotInTableError`` for what it cannot answer."""
    if job.arch is None:
        raise NotInTableError(
            f"{job.label} is a model file, but {spec.name!r} is a table device ({table.path}): "
            f"it measures architectures of its space ({table.space}) only, by looking them "
            f"up. Profile the file on a device that runs models (e.g. --device local), or "
            f"profile --space {table.space} on {spec.name}"
        )
    if job.arch.space != table.space:
        raise NotInTableError(
            f"{job.arch.string} is an architecture of {job.arch.space}, but the table of "
            f"{spec.name!r} ({table.path}) holds {table.space} architectures only"
        )
    return table.measurement(job.arch, device=spec.name)


def _wait(fleet: _Fleet, finished: list[threading.Event]) -> bool:
    """Wait for every worker; on Ctrl-C, stop them and return True."""
    # Wait with sleep, not Thread.join: a join interrupted by Ctrl-C can return early ever
    # after on CPython < 3.13 (the thread then looks finished while it is still working).
    try:
        while not all(e.is_set() for e in finished):
            time.sleep(0.1)
        return False
    except KeyboardInterrupt:
        fleet.stop.set()
    # Remote runs do not see the local Ctrl-C: drop their connections so the workers
    # stop now; the jobs in flight stay queued for --resume.
    for transport in list(fleet.transports.values()):
        if transport.python and type(transport).__name__ != "LocalTransport":
            try:
                transport.close()
            except Exception:  # noqa: BLE001 - closing is best effort here
                pass
    deadline = time.monotonic() + 60.0
    while not all(e.is_set() for e in finished) and time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the workers
            break
    with fleet.sink_lock:  # workers still running store nothing more
        fleet.abandoned = True
    return True


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.measurements += part.measurements
    total.errors += part.errors
    total.interrupted = total.interrupted or part.interrupted
    total.connection_lost = total.connection_lost or part.connection_lost
    total.stopped_by = total.stopped_by or part.stopped_by
    total.left += part.left
    total.reconnects += part.reconnects
