"""``hwnas.build_kernel_predictor``: sample single-kernel models, measure those the store
lacks on a device, train a kernel-level predictor, and return it
(``build_kernel_predictor``) or a report of everything that happened
(``run_kernel_build``, what ``hwnas kernels build`` renders).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwnas.config import cache_dir
from hwnas.devices.registry import connect
from hwnas.errors import ParameterError, UsageError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.predictors.kernel_context import (
    CONTEXT_KIND,
    TERMS,
    ContextSpace,
    context_configs,
    context_measurements,
    context_profiles,
    fit_on_networks,
)
from hwnas.predictors.kernel_incontext import fit_in_network
from hwnas.predictors.kernel_sampler import (
    SPACE_PREFIX,
    Config,
    KernelSpace,
    config_string,
    measured_samples,
    plan_kernels,
    space_name,
)
from hwnas.predictors.kernels import KernelPredictor
from hwnas.predictors.workflow import (
    check_options,
    raise_stage_problems,
    resolve_device,
)
from hwnas.profiler.batch import probe_fingerprint
from hwnas.profiler.check import device_llc_kb
from hwnas.profiler.contention import local_contention
from hwnas.profiler.fleet import DevicePlan, plan_missing
from hwnas.profiler.settings import ProfileSettings
from hwnas.profiler.stage import StageOutcome, StoreLike, opened_store, run_stage
from hwnas.records import Arch, DeviceSpec

#: Random whole networks a build measures by default: 300 each of the second to tenth
#: generations (``context_configs``; the 1,200 of the second to fifth took about 16
#: minutes on one core here, the sixth's and the seventh's 300 another 5 each; builds before
#: the fourth generation measured 200 of the second and 200 of the third, as
#: kernels_v10.json scored them, until 2026-12-05 200 of each of the three, then,
#: before the fifth, 300 of each, before the sixth 300 of each of four, before the
#: seventh 300 of each of five, before the eighth 1,800: 300 of each of six, before
#: the ninth 2,100: 300 of each of seven, and before the tenth 2,400: 300 of each of
#: eight).
#: The in-network correction keeps improving with more of them: out of fold, 69%, 73% and
#: 78% of held-out random networks within ±10% fitted on 150, 300 and 480 (of 600);
#: 81% out of fold over 900 (kernels_incontext_cv_900.json).
DEFAULT_CONTEXT = 2700
#: How sampled kernels are timed: shorter than profiling's defaults, since there are many
#: and each is small; the op profile tells the kernel's own share of the time.
KERNEL_SETTINGS: dict[str, Any] = {
    "target_ci": 0.02,
    "min_runs": 10,
    "warmup": 5,
    "op_profile": True,
}


def kernel_settings(
    *, threads: int = 1, max_seconds: float = 2.0, seed: int = 0
) -> ProfileSettings:
    """The profiling settings every sampled kernel is measured with (:data:`KERNEL_SETTINGS`
    and these); a bad value is a ``ParameterError``."""
    values = {"threads": threads, "max_seconds": max_seconds, "seed": seed, **KERNEL_SETTINGS}
    return ProfileSettings.from_options(**values)


@dataclass
class KernelBuild:
    """What :func:`run_kernel_build` did: the configurations planned, the measuring of the
    missing ones (``stage``: measured, skipped, failed jobs, Ctrl-C) and, unless Ctrl-C
    stopped it, the trained predictor (failed kernels are left out of training)."""

    device: str
    fingerprint: str
    planned: int
    stage: StageOutcome
    predictor: KernelPredictor | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the measuring (then there is no predictor)."""
        return self.stage.interrupted

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The kernels that failed to measure (``model`` is ``"<kind> <config>"``)."""
        return list(self.stage.errors)


def measure_kernels(
    store: StoreLike,
    spec: DeviceSpec,
    plan: Mapping[str, Sequence[Config]],
    settings: ProfileSettings,
    *,
    progress: ProgressCallback | None = None,
    reconnect_timeout: float = 300.0,
) -> tuple[str, StageOutcome, list[str]]:
    """Measure the planned kernels not yet measured on ``spec`` under its fingerprint.

    Returns (fingerprint hash, the ``"kernels"`` stage, warnings about the host). Every
    job is queued in ``store`` (an open ``Store``, or a location opened to plan and
    closed before measuring) before it runs; measuring the same plan again finishes what
    is left. The model files are built into a directory of this run and deleted
    afterwards (a configuration rebuilds the same file whenever it is needed again).
    """
    batch = uuid.uuid4().hex[:12]
    archs = [Arch(space_name(k), config_string(c)) for k, configs in plan.items() for c in configs]
    with opened_store(store) as db:
        url = db.url
        with connect(spec) as transport:
            fingerprint = probe_fingerprint(transport, settings).hash
        missing = plan_missing(
            db,
            device=spec.name,
            fingerprint=fingerprint,
            archs=archs,
            settings={**settings.to_dict(), "exporter": "onnx"},
            batch=batch,
            label=lambda a: f"{a.space.removeprefix(SPACE_PREFIX)} {a.string}",
        )
    skipped = len(missing.skipped)
    if not missing.jobs:
        return fingerprint, StageOutcome("kernels", spec.name, skipped=skipped), []
    warnings = local_contention([spec], progress)
    cache = cache_dir() / "kernels" / batch
    spaces: dict[str, Any] = {
        space_name(kind): KernelSpace(kind, cache) for kind in plan if kind != CONTEXT_KIND
    }
    spaces[space_name(CONTEXT_KIND)] = ContextSpace(context_cache(), scratch=cache / CONTEXT_KIND)
    try:
        stage = run_stage(
            DevicePlan(spec=spec, settings=settings, jobs=missing.jobs),
            stage="kernels",
            store_location=url,
            batch=batch,
            connect=connect,
            space_loader=spaces.__getitem__,
            progress=progress,
            reconnect_timeout=reconnect_timeout,
            skipped=skipped,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return fingerprint, stage, warnings


def failure_notes(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per kind of kernel that failed to measure (they are left out of training),
    from the failed jobs' errors (``model`` is ``"<kind> <config>"``)."""
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for e in errors:
        by_kind.setdefault(str(e.get("model", "?")).split(" ")[0], []).append(e)
    notes = []
    for kind, failed in by_kind.items():
        why = (
            " (expected on a device whose onnxruntime has no NCHWc layout: training uses "
            "the op profile instead)"
            if kind == "reorder"
            else ""
        )
        notes.append(
            f"{len(failed)} {kind} kernel(s) failed to measure{why}; first: "
            f"{failed[0].get('message')}"
        )
    return notes


def run_kernel_build(
    *,
    device: str | DeviceSpec = "local",
    per_kind: int = 120,
    store: StoreLike = None,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
    threads: int = 1,
    max_seconds: float = 2.0,
    reconnect_timeout: float = 300.0,
    context: int | None = None,
    progress: ProgressCallback | None = None,
) -> KernelBuild:
    """Sample, measure what the store lacks and train a kernel predictor; return a report
    of everything that happened (see :func:`build_kernel_predictor` for the arguments).

    Failed kernels are in the report (``failed``), summed up by kind in ``note`` events
    (:func:`failure_notes`) and left out of training; after Ctrl-C the report has
    ``interrupted`` and no predictor. Raises ``ParameterError`` for bad arguments (before
    the store is opened), ``UnknownDeviceError``, the device's error if it fails,
    ``ConnectionLostError`` if it stays unreachable, ``StoreError`` and
    ``PredictorError`` (too little to train on).
    """
    plan = dict(plan_kernels(per_kind, seed, kinds))
    networks = context_networks(per_kind, context)
    if networks:
        plan[CONTEXT_KIND] = context_configs(networks, seed)
    settings = kernel_settings(threads=threads, max_seconds=max_seconds, seed=seed)
    spec = resolve_device(device)
    planned = sum(len(configs) for configs in plan.values())
    fingerprint, stage, warnings = measure_kernels(
        store, spec, plan, settings, progress=progress, reconnect_timeout=reconnect_timeout
    )
    result = KernelBuild(spec.name, fingerprint, planned, stage, warnings=warnings)
    if stage.device_error is not None:
        raise stage.device_error
    if stage.interrupted:
        return result
    if stage.connection_lost:
        raise_stage_problems([stage], again="build_kernel_predictor", result=result)
    for message in failure_notes(stage.errors):
        emitter(progress)(Event(kind="note", message=message))
    with opened_store(store) as opened:
        samples = measured_samples(opened, device=spec.name, fingerprint=fingerprint)
        measured = context_measurements(opened, device=spec.name, fingerprint=fingerprint)
        profiles = context_profiles(opened, device=spec.name, fingerprint=fingerprint)
    predictor = KernelPredictor(seed=seed)
    result.predictor = predictor.fit(samples, device=spec.name, fingerprint=fingerprint)
    predictor.llc_kb_ = device_llc_kb(spec)
    if predictor.llc_kb_ is None:
        message = (
            f"the last-level cache of {spec.name!r} is not known (its kernel exports no "
            "/sys/devices/system/cpu/cpu0/cache, or `hwnas devices check` fails there): "
            "weights that several kernels read are priced cold at every read"
        )
        emitter(progress)(Event(kind="note", message=message))
    if predictor.skipped_samples_:
        message = (
            f"left out {predictor.skipped_samples_} measured kernel sample(s) whose model "
            "is not the kernel its kind names or is of a form this hwnas no longer builds "
            "(drawn by an older hwnas sampler)"
        )
        emitter(progress)(Event(kind="note", message=message))
    wanted = {c["seed"] for c in plan.get(CONTEXT_KIND, [])}
    seeds = sorted(s for s in measured if s in wanted)
    if len(seeds) >= len(TERMS):
        fit_whole_networks(predictor, seeds, measured, profiles, seed=seed, progress=progress)
    return result


def fit_whole_networks(
    predictor: KernelPredictor,
    seeds: Sequence[int],
    measured: Mapping[int, float],
    profiles: Mapping[int, Sequence[Any]],
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> None:
    """Fit ``predictor``'s corrections on the random networks ``seeds`` (measured ms and
    per-node profiles by seed): the in-network correction of each kernel where at least
    :data:`TERMS`-many networks have a profile, then the whole-network correction on
    the corrected kernels."""
    space = ContextSpace(context_cache())
    archs = {s: json.dumps({"kind": CONTEXT_KIND, "seed": s}) for s in seeds}
    todo = sum(not space.structure_path(a).exists() for a in archs.values())
    if todo:
        message = (
            f"making the weightless copies of {todo} random network(s) that fitting reads "
            "(once: a build before this hwnas kept full exports, which are replaced)"
        )
        emitter(progress)(Event(kind="note", message=message))
    paths = {s: space.structure(a) for s, a in archs.items()}
    profiled = [s for s in seeds if s in profiles]
    predictor.incontext_ = None
    if len(profiled) >= len(TERMS):
        networks = [(paths[s], measured[s], profiles[s]) for s in profiled]
        with contextlib.suppress(UsageError):  # no profile held any time: noted below
            predictor.incontext_ = fit_in_network(predictor, networks, seed=seed)
    if predictor.incontext_ is None:
        emitter(progress)(
            Event(
                kind="note",
                message=(
                    f"only {len(profiled)} of the {len(seeds)} random networks have a usable "
                    "per-node profile (older hwnas versions did not record one): each kernel "
                    "is predicted as timed alone; build into a new store (--store) to measure "
                    "them with profiles and fit the in-network correction"
                ),
            )
        )
    predictor.context_ = fit_on_networks(
        predictor, [paths[s] for s in seeds], [measured[s] for s in seeds]
    )


def context_cache() -> Path:
    """Where the weightless copies of the random context networks are kept (their
    shapes: re-exporting costs time, and fitting needs nothing else)."""
    return cache_dir() / "kernels" / "context"


def context_networks(per_kind: int, context: int | None) -> int:
    """How many random networks to measure: ``context``, or by default
    :data:`DEFAULT_CONTEXT` (none below 20 kernels a kind: such a build is a smoke
    test)."""
    if context is None:
        return DEFAULT_CONTEXT if per_kind >= 20 else 0
    if isinstance(context, bool) or not isinstance(context, int) or context < 0:
        raise ParameterError("context", f"must be an int >= 0, got {context!r}")
    return context


def build_kernel_predictor(
    *,
    device: str | DeviceSpec = "local",
    per_kind: int = 120,
    store: StoreLike = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> KernelPredictor:
    """A kernel-level latency predictor for ``device``, which predicts any ONNX model
    kernel by kernel (``predict_onnx``; ``save(directory)`` writes it).

    ``per_kind`` single-kernel models of each kind (seeded by ``seed``; plus layout
    reorders and the fixed overhead chains) are measured on ``device``, those already in
    ``store`` under the device's current fingerprint skipped (a second call measures
    nothing; an interrupted one is finished by the next), and one regressor per kind is
    trained on every sample the store holds for this fingerprint. Kernels that fail to
    measure are left out of training.

    ``device``: a registered device's name or a ``DeviceSpec``; ``store``: an open
    ``Store``, a path or URL, or ``None`` (``$HWNAS_STORE`` or ``./hwnas.db``);
    ``progress``: a ``hwnas.events`` callback (stage ``"kernels"``; called from a worker
    thread). ``options``: ``kinds`` (a subset of ``kernel_sampler.SAMPLED_KINDS``;
    default all), ``threads=1``, ``max_seconds=2.0`` (timing budget per kernel),
    ``reconnect_timeout=300.0`` (s), ``context`` (how many random whole networks to
    measure and fit the in-network and network-level corrections on,
    ``hwnas.predictors.kernel_context``; default :data:`DEFAULT_CONTEXT`, none below 20
    kernels a kind).

    Raises ``ParameterError`` naming a bad argument before anything is measured,
    ``UnknownDeviceError``, the device's error, ``ConnectionLostError``,
    ``PredictorError`` and ``KeyboardInterrupt`` after Ctrl-C (the measured kernels are
    stored).
    """
    check_options(run_kernel_build, options, caller="build_kernel_predictor")
    result = run_kernel_build(
        device=device, per_kind=per_kind, store=store, seed=seed, progress=progress, **options
    )
    if result.interrupted:
        raise KeyboardInterrupt
    assert result.predictor is not None
    return result.predictor
