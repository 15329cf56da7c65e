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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Any

from hwnas.config import store_location
from hwnas.errors import HwnasError, ParameterError, ProfileError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.profiler.batch import check_max_attempts
from hwnas.profiler.check import DeviceCheck, check_device
from hwnas.profiler.contention import local_contention
from hwnas.profiler.fleet import DeviceOutcome, DevicePlan, SpaceSample, run_fleet
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec, Measurement
from hwnas.spaces import SearchSpace
from hwnas.store import NewJob, Store

__all__ = [
    "REUSED_BECAUSE",
    "DeviceCheck",
    "ProfileResult",
    "check_device",
    "fingerprint_notes",
    "profile",
    "profile_space",
    "reference_model",
    "resume",
]

ERROR_MODES = ("raise", "collect")
#: Why an architecture is not measured again: what ``ProfileResult.reused`` counts.
REUSED_BECAUSE = "already measured under this fingerprint with the same settings"
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
      (:data:`REUSED_BECAUSE`); ``left``: jobs still queued; ``interrupted``: Ctrl-C.
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
    (default: the device's meter), ``energy_seconds``).

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
    with _open(store) as db:
        run.url = db.url
        specs = [_device(n) for n in names]  # all known before any job is queued
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
    exporter: str = "dynamo",
    fresh: bool = False,
    progress: ProgressCallback | None = None,
    errors: str = "raise",
    reference: str | PathLike[str] | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    **settings: Any,
) -> ProfileResult:
    """Measure ``sample`` distinct architectures of a search space on one device or several.

    ``space``: a space name (``"nb201"``, ``"package.module:Class"``) or a
    :class:`~hwnas.spaces.SearchSpace`. ``sample``: how many distinct architectures,
    drawn with ``seed`` (which also seeds the runner's random inputs); or ``archs``:
    these architectures (canonicalised, duplicates dropped) instead of a sample. Each is exported
    to ONNX with ``exporter`` (``"dynamo"`` or ``"torchscript"``; cached) just before it
    is measured. Architectures already measured ``repeats`` times on a device under its
    current fingerprint, with settings that measure the same thing (the timing protocol,
    shapes, energy, reference, exporter: ``hwnas.store.RESULT_SETTINGS``; not ``seed``),
    are skipped there (``result.skipped``, ``result.reused``); otherwise each is measured
    until it has ``repeats`` measurements, each in its own runner process, pass by pass.
    ``fresh=True`` measures every architecture ``repeats`` times now, whatever is stored
    (to verify a prediction, say).
    ``device``, ``store``, ``progress``, ``errors``, ``reference``, ``reconnect_timeout``,
    ``max_attempts`` and ``settings`` are as for :func:`profile`.

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
        run.url = db.url
    work = SpaceSample(the_space, archs, exporter, repeats, fresh)
    plans = [
        DevicePlan(spec, _for_device(base, spec, energy_given), sample=work)
        for spec in [_device(n) for n in names]
    ]
    return _run(plans, run)


def resume(
    *,
    device: DeviceArg | None = None,
    store: StoreArg = None,
    progress: ProgressCallback | None = None,
    errors: str = "raise",
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
) -> ProfileResult:
    """Measure the jobs that interrupted or disconnected runs left queued in the store.

    ``device``: only these devices' jobs (default: every device with queued jobs).
    Each job runs with the settings it was queued with. When nothing is queued, the
    result is empty and its ``notes`` say so. ``store``, ``progress``, ``errors``,
    ``reconnect_timeout`` and ``max_attempts`` are as for :func:`profile` (attempts are
    counted afresh); failed jobs (the model's fault) are not retried. Raises
    ``UnknownDeviceError`` for a device not registered.
    """
    _check_errors(errors)
    names = None if device is None else _device_names(device)
    attempts = check_max_attempts(max_attempts)
    run = _Run(store, _batch(), None, progress, reconnect_timeout, errors, attempts)
    with _open(store) as db:
        run.url = db.url
        pending = db.jobs(status="pending")
    wanted = names or sorted({j.device for j in pending})
    plans = []
    for spec in [_device(n) for n in wanted]:
        jobs = [j for j in pending if j.device == spec.name]
        if jobs:
            plans.append(DevicePlan(spec, ProfileSettings(), jobs=jobs))
    if not plans:
        result = ProfileResult(store=run.url)
        for_whom = f" for {', '.join(wanted)}" if names else ""
        _note(result, emitter(progress), f"nothing to resume: no queued jobs{for_whom}")
        return result
    return _run(plans, run)


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
    from hwnas.spaces import get_space

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


def _run(plans: list[DevicePlan], run: _Run) -> ProfileResult:
    """Run the plans on their devices, then sum up (and with errors="raise", raise)."""
    from hwnas.devices.registry import connect
    from hwnas.spaces import get_space

    report = emitter(run.progress)
    warnings = local_contention([p.spec for p in plans], report)

    def space_loader(name: str) -> Any:
        return run.space if run.space is not None and name == run.space.name else get_space(name)

    # Each device's worker opens the store itself; the caller's handle is closed by now
    # (unless it is the caller's own Store), as the workers' opening would disturb it.
    outcomes, interrupted = run_fleet(
        plans,
        store_location=run.url,
        batch=run.batch,
        connect=connect,
        space_loader=space_loader,
        progress=report,
        reconnect_timeout=run.reconnect_timeout,
        max_attempts=run.max_attempts,
    )
    result = _result(outcomes, interrupted, run.url)
    result.warnings = warnings
    if result:
        with _open(run.store if isinstance(run.store, Store) else run.url) as db:
            for name in sorted({m.device for m in result}):
                for text in fingerprint_notes(db, name, [m for m in result if m.device == name]):
                    _note(result, report, text)
    return _settle(result, run.errors)


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
