"""``hwnas.build_lut``: measure what a space's lookup table lacks on a device, calibrate it
on whole networks, and return it (``build_lut``) or a report of everything that happened
(``run_lut_build``, what ``hwnas lut build`` renders). ``calibrated_table`` reads a
calibrated table from the store without measuring (``hwnas lut show | export | predict``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from os import PathLike
from typing import Any

from hwnas.devices.registry import connect
from hwnas.errors import HwnasError, ParameterError
from hwnas.events import ProgressCallback
from hwnas.executors import open_executor, using_executor
from hwnas.export import check_exporter
from hwnas.predictors.lut import (
    CALIBRATION_MODES,
    STATISTICS,
    Calibration,
    LookupTable,
    network_latencies,
    split_networks,
)
from hwnas.predictors.workflow import (
    check_options,
    raise_stage_problems,
    resolve_device,
)
from hwnas.profiler.api import reference_model
from hwnas.profiler.lut import DEFAULT_BLOCK_EXPORTER, BlockSet, LutMeasurement, measure_lut
from hwnas.profiler.settings import ProfileSettings
from hwnas.profiler.stage import StageOutcome, StoreLike, opened_store
from hwnas.records import DeviceSpec
from hwnas.spaces import resolve_space
from hwnas.spaces.base import SearchSpace
from hwnas.store import Store

#: Held-out networks needed before an additivity report is worth making.
MIN_HELD_OUT = 3


def check_calibration(
    calibrate: int | None, fit: str | None, statistic: str | None = "p50"
) -> None:
    """Raise ``ParameterError`` unless ``calibrate >= 0`` and ``fit`` and ``statistic`` are
    known (``CALIBRATION_MODES``, ``STATISTICS`` of ``hwnas.predictors.lut``); None (not
    given) passes."""
    if statistic is not None and statistic not in STATISTICS:
        raise ParameterError(
            "statistic", f"must be one of {', '.join(STATISTICS)}, got {statistic!r}"
        )
    if calibrate is not None and calibrate < 0:
        raise ParameterError("calibrate", f"must be >= 0 (0: no calibration), got {calibrate}")
    if fit is not None and fit not in CALIBRATION_MODES:
        raise ParameterError("fit", f"must be one of {', '.join(CALIBRATION_MODES)}, got {fit!r}")


#: What ``calibrated_table`` uses for what neither its caller nor the table's build gave.
DEFAULT_CALIBRATION: dict[str, Any] = {
    "calibrate": 10,
    "seed": 0,
    "fit": "affine",
    "statistic": "p50",
}


def calibration_key(space: str, device: str, fingerprint: str) -> str:
    """The store's meta key of a lookup table's build calibration."""
    return f"lut_calibration:{space}:{device}:{fingerprint}"


@dataclass
class CalibratedTable:
    """A lookup table from the store, calibrated: the table, the measured whole networks
    (arch -> ms, the table's statistic), those of them it was calibrated on, and the
    additivity report on the others (``None`` with fewer than :data:`MIN_HELD_OUT`; see
    ``LookupTable.additivity_report``)."""

    table: LookupTable
    networks: dict[str, float]
    calibration: dict[str, float]
    additivity: dict[str, Any] | None


def calibrated_table(
    store: Store,
    space: SearchSpace,
    device: str,
    fingerprint: str | None = None,
    *,
    calibrate: int | None = None,
    seed: int | None = None,
    fit: str | None = None,
    statistic: str | None = None,
) -> CalibratedTable:
    """The lookup table of ``space`` on ``device`` from the block measurements in ``store``
    (under ``fingerprint``, a hash or its start; default: the one they share), calibrated
    (``fit``) on the first ``calibrate`` networks of ``space.sample_distinct(seed, ...)``
    that are measured whole, and checked on every other measured network.

    What is not given (None) is what the table's ``build_lut`` used (kept in the store
    with the calibration it fitted, which is used as it was when nothing is given), else
    :data:`DEFAULT_CALIBRATION`. Raises ``ParameterError`` for bad arguments and
    ``LookupTableError`` when blocks are missing or their fingerprints mixed.
    """
    asked: dict[str, Any] = {
        "calibrate": calibrate,
        "seed": seed,
        "fit": fit,
        "statistic": statistic,
    }
    check_calibration(calibrate, fit, statistic)
    table = LookupTable.from_store(
        store, space, device, fingerprint=fingerprint, statistic=statistic or "p50"
    )
    built = store.get_meta(calibration_key(space.name, device, table.fingerprint)) or {}
    used: dict[str, Any] = {
        k: built.get(k, v) if asked[k] is None else asked[k] for k, v in DEFAULT_CALIBRATION.items()
    }
    if used["statistic"] != table.statistic:
        table = LookupTable.from_store(
            store, space, device, fingerprint=table.fingerprint, statistic=used["statistic"]
        )
    networks = network_latencies(store, space, device, table.fingerprint, statistic=table.statistic)
    calibration, held_out = split_networks(
        space, networks, calibrate=used["calibrate"], seed=used["seed"]
    )
    table.calibrate(calibration, mode=used["fit"] if used["calibrate"] > 0 else "none")
    if built.get("fitted") and all(v is None for v in asked.values()):
        table.calibration_ = Calibration.from_dict(built["fitted"])  # the build's own figures
        calibration = {a: networks[a] for a in table.calibration_.archs if a in networks}
        held_out = {a: v for a, v in networks.items() if a not in calibration}
    report = table.additivity_report(held_out) if len(held_out) >= MIN_HELD_OUT else None
    return CalibratedTable(table, networks, calibration, report)


def additivity_summary(
    report: Mapping[str, Any] | None, *, rows: bool = False
) -> dict[str, Any] | None:
    """An additivity report as JSON: non-finite numbers as ``None``, without the
    per-network ``rows`` unless asked."""
    if report is None:
        return None
    return {k: _number(v) for k, v in report.items() if rows or k != "rows"}


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@dataclass
class LutBuild:
    """What :func:`run_lut_build` did: the measuring (``measurement``: blocks and
    networks, skipped, failed, Ctrl-C) and, unless interrupted, the calibrated table or
    the error that kept it from being built (``table_error``)."""

    space: SearchSpace
    device: str
    statistic: str
    measurement: LutMeasurement
    table: CalibratedTable | None = None
    table_error: HwnasError | None = None
    #: The reference model timed beside every block and network (absolute path), if any.
    reference: str | None = None

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the measuring (then there is no table)."""
        return self.measurement.interrupted

    @property
    def fingerprint(self) -> str | None:
        """The hash of the fingerprint the table's blocks were measured under."""
        return self.measurement.fingerprint

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every failure as JSON: jobs, devices, then the table's."""
        table = [self.table_error.to_dict()] if self.table_error is not None else []
        return self.measurement.problems() + table

    def to_dict(self) -> dict[str, Any]:
        """The ``hwnas lut build --json`` document."""
        m, t = self.measurement, self.table
        blocks: dict[str, Any] = {}
        networks: dict[str, Any] = {}
        if m.plan is not None:
            blocks = {
                "total": m.plan.total,
                "measured": m.blocks.measured,
                "skipped": len(m.plan.skipped),
                "exported": m.plan.exported,
                "errors": m.blocks.problems(),
            }
            networks = _stage_dict(m.networks)
        return {
            "space": self.space.name,
            "device": self.device,
            "fingerprint": m.fingerprint,
            "statistic": self.statistic,
            "reference": self.reference,
            "reference_ms": t.table.reference_ms if t else None,
            "blocks": blocks,
            "networks": networks,
            "floor_ms": t.table.floor_ms if t else None,
            "calibration": {**t.table.calibration_.to_dict(), "n": len(t.calibration)}
            if t
            else None,
            "additivity": additivity_summary(t.additivity, rows=True) if t else None,
            "interrupted": self.interrupted,
            "errors": self.errors,
            "warnings": list(m.warnings),
        }


def _stage_dict(stage: StageOutcome) -> dict[str, Any]:
    return {"measured": stage.measured, "skipped": stage.skipped, "errors": stage.problems()}


@dataclass(frozen=True)
class _LutJob:
    """The checked arguments of one lookup-table build."""

    blocks: BlockSet
    networks: list[str]
    spec: DeviceSpec
    settings: ProfileSettings
    #: ``calibrate``, ``seed``, ``fit`` and ``statistic``, as ``calibrated_table`` takes them.
    calibration: dict[str, Any]


def _lut_job(
    space: str | SearchSpace,
    device: str | DeviceSpec,
    calibration: dict[str, Any],
    *,
    holdout: int,
    exporter: str,
    settings: Mapping[str, Any],
    reference: str | PathLike[str] | None = None,
) -> _LutJob:
    """Every argument checked, in the order the command line has always reported them."""
    calibrate, seed = calibration["calibrate"], calibration["seed"]
    check_calibration(calibrate, calibration["fit"], calibration["statistic"])
    if holdout < 0:
        raise ParameterError("holdout", f"must be >= 0, got {holdout}")
    if calibration["statistic"] == "ratio" and reference is None:
        raise ParameterError(
            "statistic",
            "ratio needs every block timed beside a reference model: give one "
            '(--reference REF.onnx or builtin; reference="builtin")',
        )
    check_exporter(exporter)
    checked = ProfileSettings.from_options(**settings, seed=seed)
    checked = replace(checked, reference=reference_model(reference))
    resolved = resolve_space(space)
    blocks = BlockSet(resolved, exporter=exporter)
    wanted = calibrate + holdout
    if wanted > resolved.size():
        raise ParameterError(
            "calibrate",
            f"{calibrate} + holdout {holdout} asks for {wanted:,} networks, but space "
            f"{resolved.name!r} has only {resolved.size():,}; ask for fewer",
        )
    networks = resolved.sample_distinct(seed, wanted)
    return _LutJob(blocks, networks, resolve_device(device), checked, calibration)


def _calibrate(result: LutBuild, store: StoreLike, job: _LutJob) -> None:
    """Build the measured table into ``result`` (or record why it could not be built)."""
    try:
        with opened_store(store) as opened:
            result.table = calibrated_table(
                opened, job.blocks.space, job.spec.name, result.fingerprint, **job.calibration
            )
            lut = result.table.table
            fitted = {**job.calibration, "fitted": lut.calibration_.to_dict()}
            opened.put_meta(calibration_key(lut.space.name, lut.device, lut.fingerprint), fitted)
    except HwnasError as exc:
        result.table_error = exc


def run_lut_build(
    space: str | SearchSpace,
    *,
    device: str | DeviceSpec = "local",
    store: StoreLike = None,
    calibrate: int = 10,
    holdout: int = 0,
    seed: int = 0,
    fit: str = "affine",
    statistic: str = "p50",
    exporter: str = DEFAULT_BLOCK_EXPORTER,
    threads: int = 1,
    target_ci: float = 0.01,
    max_seconds: float = 10.0,
    min_runs: int = 20,
    max_runs: int = 100_000,
    warmup: int = 10,
    graph_opt: str = "all",
    reference: str | PathLike[str] | None = None,
    reconnect_timeout: float = 300.0,
    jobs: int = 1,
    executor: str | None = None,
    progress: ProgressCallback | None = None,
) -> LutBuild:
    """Measure what the lookup table of ``space`` on ``device`` lacks, then calibrate it;
    return a report of everything that happened (see :func:`build_lut` for the arguments).

    Never raises for failed jobs, a lost device or Ctrl-C: they are in the report
    (``errors``, ``interrupted``), and the table is built from what is stored unless
    Ctrl-C stopped the measuring. Raises ``ParameterError`` for bad arguments (before
    anything is measured), ``SpaceError``, ``UnknownDeviceError`` and ``StoreError``.
    """
    settings = {
        "threads": threads,
        "target_ci": target_ci,
        "max_seconds": max_seconds,
        "min_runs": min_runs,
        "max_runs": max_runs,
        "warmup": warmup,
        "graph_opt": graph_opt,
    }
    calibration = {"calibrate": calibrate, "seed": seed, "fit": fit, "statistic": statistic}
    job = _lut_job(
        space,
        device,
        calibration,
        holdout=holdout,
        exporter=exporter,
        settings=settings,
        reference=reference,
    )
    with open_executor(executor, jobs=jobs) as pool, using_executor(pool):
        measured = measure_lut(
            store,
            job.spec,
            job.settings,
            job.blocks,
            job.networks,
            connect=connect,
            progress=progress,
            reconnect_timeout=reconnect_timeout,
        )
    result = LutBuild(
        job.blocks.space, job.spec.name, statistic, measured, reference=job.settings.reference
    )
    if not measured.interrupted:
        _calibrate(result, store if isinstance(store, Store) else measured.store_url, job)
    return result


def build_lut(
    space: str | SearchSpace,
    *,
    device: str | DeviceSpec = "local",
    store: StoreLike = None,
    calibrate: int = 10,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> LookupTable:
    """The latency lookup table of ``space`` on ``device``, measured and calibrated.

    Every distinct block of ``space`` (and the runner's floor) is exported as a one-block
    ONNX model and measured once; blocks already in ``store`` under the device's current
    fingerprint are skipped, so a second call measures nothing and an interrupted one is
    finished by the next. Then the first ``calibrate`` networks of
    ``space.sample_distinct(seed, ...)`` (and ``holdout`` more) are measured whole; the
    table's scale and offset are fitted on the first ``calibrate`` (0: plain sums).

    ``space``: a name (or ``package.module:Class``) or a ``SearchSpace`` with lookup-table
    support. ``device``: a registered device's name or a ``DeviceSpec``. ``store``: an
    open ``Store``, a path or URL, or ``None`` (``$HWNAS_STORE`` or ``./hwnas.db``).
    ``progress``: a ``hwnas.events`` callback (stages ``"export"``, ``"blocks"``,
    ``"networks"``; called from worker threads).

    ``options``: ``holdout=0`` (networks measured besides the calibration ones, for the
    additivity report), ``seed=0``, ``fit="affine"`` (``"offset"``, ``"none"``),
    ``statistic="p50"`` (or ``"p10"``; ``"ratio"`` with a ``reference``),
    ``reference=None`` (an ONNX file, or ``"builtin"``, timed after every timed run of
    every block and network, as ``hwnas.profile(..., reference=)`` does: the blocks'
    ratios to it cancel slow phases of a shared machine; ``statistic="ratio"`` adds them
    up), ``exporter="torchscript"`` (or ``"dynamo"``),
    ``reconnect_timeout=300.0`` (s), ``jobs=1`` (export blocks and networks in this many
    worker processes, ahead of measuring them) or ``executor="dask://HOST:PORT"`` (export
    on that Dask cluster; ``hwnas.executors.open_executor``), and the timing settings of
    ``ProfileSettings``:
    ``threads=1``, ``target_ci=0.01``, ``max_seconds=10.0``, ``min_runs=20``,
    ``max_runs=100_000``, ``warmup=10``, ``graph_opt="all"``.

    Returns the calibrated ``LookupTable`` (its blocks and networks are in the store).
    Raises ``ParameterError`` naming a bad argument before measuring; the device's error
    if it fails, ``ConnectionLostError`` if it stays unreachable; ``ProfileError`` if
    measurements failed (what was measured is stored: call again to retry; its
    ``result`` is the :class:`LutBuild` report, with the table when one could be built);
    ``LookupTableError``; ``KeyboardInterrupt`` after Ctrl-C (the measured part is
    stored).
    """
    check_options(run_lut_build, options, caller="build_lut")
    result = run_lut_build(
        space, device=device, store=store, calibrate=calibrate, progress=progress, **options
    )
    if result.interrupted:
        raise KeyboardInterrupt
    stages = (result.measurement.blocks, result.measurement.networks)
    raise_stage_problems(stages, again="build_lut", result=result)
    if result.table_error is not None:
        raise result.table_error
    assert result.table is not None
    return result.table.table
