"""The lookup-table predictor: a network's latency as the sum of its blocks' medians.

``LookupTable.from_store`` reads the per-block measurements ``hwnas lut build`` stored
(``hwnas.profiler.lut``: arch space ``"<space>:blocks"``, one block key per measurement) and
keeps, per block, n, mean, std, p10, p50 and p90 (ms). ``predict(arch)`` is

    scale * sum over the blocks of arch of max(p50 - floor, 0) + offset

``floor`` is the p50 of the *runner floor*, an identity on one number measured with the
blocks: the cost of one inference call and nothing else. Every block timed alone pays
it, a network pays it once, so a plain sum of medians counts it once per block (on
NAS-Bench-201, 19 to 94 blocks of which many take a few microseconds, that alone makes
the plain sum 50% too high). ``floor_correction=False`` gives the plain sum.

(scale, offset) are fitted by least squares on a few whole networks measured on the same
device under the same fingerprint (``calibrate``): the offset takes the network's own
call and what a sum of blocks leaves out (the glue between blocks, NAS-Bench-201's node
sums), the scale what running inside a network changes for every block (caches warm or
cold, memory traffic between blocks). With fewer than :data:`MIN_AFFINE_NETWORKS`
networks only the offset is fitted (scale 1).

``statistic="p10"`` adds up and predicts the 10th percentile instead of the median: on a
busy or shared machine preemption inflates a long network run far more often than a short
block run, and the p10 of both is much less affected.

``statistic="ratio"`` reads blocks measured with a reference model timed beside them
(``hwnas lut build --reference REF.onnx``): every statistic of a block is then its ratio
to the reference times the reference's typical median over the blocks
(``reference_ms``; ``hwnas.predictors.reference``), and the whole networks it is
calibrated on are measured as their ratio labels, the same as ``hwnas predictor train
--statistic ratio`` learns. That cancels the process-to-process speed drift of a shared
machine, which a table of thousands of separately timed blocks otherwise adds up.

``additivity_report`` says how well that works on networks the calibration did not see.
Tables are saved and loaded as JSON (or written as CSV); nothing is pickled.

A :class:`LookupTable` is a latency predictor of its space's architectures like every
other kind (:class:`~hwnas.predictors.base.Predictor`, kind ``lookup_table``):
``fit(archs, y, blocks=...)`` takes the per-block statistics and calibrates on whole
networks, ``predict(archs)`` gives an array (a single string still gives a float, the
table's original form), ``predict_interval`` the calibrated sums of the blocks' p10 and
p90, and ``save(dir)`` writes a predictor directory that ``hwnas.load_predictor`` reads.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, overload

import numpy as np

from hwnas.errors import ParameterError, UsageError
from hwnas.predictors import metrics
from hwnas.predictors.base import Interval, Origin, Predictor, check_training_data, training_hash
from hwnas.predictors.errors import ArtifactError, LookupTableError
from hwnas.predictors.reference import ReferenceScale, ratio_median, reference_scale
from hwnas.predictors.registry import register_predictor
from hwnas.spaces.base import Block, InvalidArchError, SearchSpace
from hwnas.store import Store

FORMAT = "hwnas.lut"
SCHEMA_VERSION = 1
#: Per-block statistics (ms except ``n``), the columns of an exported table.
STAT_KEYS = ("n", "mean_ms", "std_ms", "p10_ms", "p50_ms", "p90_ms")
CALIBRATION_MODES = ("affine", "offset", "none")
#: The least latency a calibrated table predicts (1 µs): below any real network's.
MIN_PREDICTED_MS = 1e-3
#: What a table adds up and predicts: name -> (BlockStats field, LatencyStats field).
#: ``p50`` (the median) by default; ``p10`` resists contention (a busy or shared machine,
#: a phone's background work): preemption inflates a long network run far more often than
#: a short block run, which inflates the network medians against the block medians.
#: ``ratio``: the median of the per-pair ratios to a reference model, in ms at the
#: reference's typical speed (a ratio table's block statistics are all ratios in ms).
STATISTICS = {"p50": ("p50_ms", "median"), "p10": ("p10_ms", "p10"), "ratio": ("p50_ms", "median")}
#: An affine fit needs this many networks; with two it would interpolate their noise.
MIN_AFFINE_NETWORKS = 3
TABLE_FORMATS = ("csv", "json")
# The same as hwnas.profiler.lut.BLOCKS_SUFFIX and FLOOR_BLOCK (predictors do not import profiler).
_BLOCKS_SUFFIX = ":blocks"
FLOOR_BLOCK = Block("runner_floor", (1,), (1,), {})
FLOOR_KEY = FLOOR_BLOCK.key


#: The fields every block row of a table has.
_BLOCK_FIELDS = ("key", "op", "input_shape", "output_shape", "params", *STAT_KEYS)
#: The fix for a table whose content is damaged.
_REWRITE = "export the table again with `hwnas lut export` (tables are not edited by hand)"


def _damaged(what: str) -> LookupTableError:
    """The error for table content that cannot be right: ``what``, then the fix."""
    return LookupTableError(f"{what}; {_REWRITE}")


@dataclass(frozen=True)
class BlockStats:
    """One block and its measured latency distribution (ms)."""

    key: str
    op: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: dict[str, Any]
    n: int
    mean_ms: float
    std_ms: float
    p10_ms: float
    p50_ms: float
    p90_ms: float
    measurement_id: int | None = None
    model_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["input_shape"], out["output_shape"] = list(self.input_shape), list(self.output_shape)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlockStats:
        """The block of one exported row; ``LookupTableError`` naming the block and the
        field that is missing or bad (a statistic must be a finite number of ms >= 0,
        ``n`` a whole number >= 1)."""
        if not isinstance(data, Mapping):
            raise _damaged(f"a block row is a {type(data).__name__}, not an object")
        key = data.get("key")
        missing = [k for k in _BLOCK_FIELDS if k not in data]
        if missing:
            raise _damaged(f"block {key!r} lacks the field(s) {', '.join(missing)}")
        try:
            return cls(
                key=str(key),
                op=str(data["op"]),
                input_shape=_shape(data["input_shape"]),
                output_shape=_shape(data["output_shape"]),
                params=dict(data["params"]),
                n=_count(data["n"]),
                **{k: _statistic(data[k], k) for k in STAT_KEYS[1:]},
                measurement_id=_optional_int(data.get("measurement_id")),
                model_hash=data.get("model_hash") or None,
            )
        except (TypeError, ValueError) as exc:
            raise _damaged(f"block {key!r} is malformed: {exc}") from None


def _statistic(value: Any, name: str) -> float:
    """A block's statistic: a finite number of ms >= 0, else ``ValueError`` naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} is {value!r}, not a finite number of ms >= 0")
    return number


def _count(value: Any) -> int:
    """A block's ``n``: a whole number >= 1 (3.0 is 3), else ``ValueError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer() or number < 1:
        raise ValueError(f"n is {value!r}, not a whole number >= 1")
    return int(number)


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return tuple(int(d) for d in value.split("x"))
    return tuple(int(d) for d in value)


def _optional_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        raise _damaged(f"its reference_ms is {value!r}, not a number") from None


def _optional_int(value: Any) -> int | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


@dataclass(frozen=True)
class Calibration:
    """``predicted = scale * block_sum + offset`` (ms), and the networks it was fitted on."""

    mode: str = "none"
    scale: float = 1.0
    offset: float = 0.0
    archs: tuple[str, ...] = ()
    #: Why the fit is simpler than asked, if it is.
    note: str | None = None

    def apply(self, block_sum: float | np.ndarray) -> Any:
        """The calibrated prediction, never below :data:`MIN_PREDICTED_MS` (a negative
        offset, fitted on networks whose blocks sum above their measurement, would
        otherwise give a small network a negative latency)."""
        return np.maximum(self.scale * block_sum + self.offset, MIN_PREDICTED_MS)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "archs": list(self.archs)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        try:
            mode = str(data.get("mode", "none"))
            if mode not in CALIBRATION_MODES:
                raise ValueError(f"unknown mode {mode!r}")
            scale, offset = float(data.get("scale", 1.0)), float(data.get("offset", 0.0))
            if not (math.isfinite(scale) and math.isfinite(offset)):
                raise ValueError(f"scale {scale} and offset {offset} must be finite numbers")
            return cls(
                mode=mode,
                scale=scale,
                offset=offset,
                archs=tuple(str(a) for a in data.get("archs") or ()),
                note=data.get("note"),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise _damaged(f"its calibration is malformed ({exc})") from None


def fit_calibration(
    block_sums: Sequence[float] | np.ndarray,
    measured: Sequence[float] | np.ndarray,
    *,
    mode: str = "affine",
    archs: Sequence[str] = (),
) -> Calibration:
    """Least-squares ``measured ~ scale * block_sum + offset`` (``affine``), or the offset
    alone with scale 1 (``offset``: the mean residual), or nothing (``none``).

    ``affine`` falls back to ``offset`` (saying why in ``note``) with fewer than
    :data:`MIN_AFFINE_NETWORKS` networks, equal block sums, or a fitted scale <= 0; with
    no network at all the result is ``none``.
    """
    if mode not in CALIBRATION_MODES:
        raise ValueError(f"mode must be one of {', '.join(CALIBRATION_MODES)}, got {mode!r}")
    x = np.asarray(block_sums, dtype=np.float64).ravel()
    y = np.asarray(measured, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"block_sums and measured differ in length: {x.size} and {y.size}")
    if mode == "none" or x.size == 0:
        note = None if mode == "none" else "no calibration network measured"
        return Calibration(archs=tuple(archs), note=note)
    note = None
    if mode == "affine":
        if x.size < MIN_AFFINE_NETWORKS:
            note = f"{x.size} network(s) < {MIN_AFFINE_NETWORKS}: offset only"
        elif not np.ptp(x) > 0:
            note = "all calibration networks have the same block sum: offset only"
        else:
            design = np.column_stack([x, np.ones_like(x)])
            (scale, offset), *_ = np.linalg.lstsq(design, y, rcond=None)
            if scale > 0:
                return Calibration("affine", float(scale), float(offset), tuple(archs))
            note = f"the affine fit gave scale {scale:.3g} <= 0: offset only"
    return Calibration("offset", 1.0, float(np.mean(y - x)), tuple(archs), note)


#: The table's file inside a predictor directory.
TABLE_FILE = "lookup_table.json"


@register_predictor("lookup_table")
@dataclass
class LookupTable(Predictor):
    """Per-block latency statistics of one space on one device under one fingerprint.

    ``space`` is the search space (its ``blocks(arch)`` says which blocks to add up);
    ``blocks`` maps block keys to statistics (the runner floor under :data:`FLOOR_KEY`);
    ``floor_correction`` subtracts the floor from each block; ``statistic`` (a key of
    :data:`STATISTICS`) is what is added up and predicted; ``calibration_`` is set by
    ``calibrate`` (until then predictions are the uncalibrated sums).

    The predictor of ``latency_ms`` (kind ``lookup_table``): fitted once it has blocks
    (from ``from_store``, ``read_table``, ``hwnas.build_lut`` or ``fit``). Its
    ``origin_`` comes from ``device`` and ``fingerprint``; ``training_hash_`` and
    ``n_train_`` describe the blocks; ``feature_names_`` and ``validation_`` are empty.
    """

    kind: ClassVar[str] = "lookup_table"
    fit_hint: ClassVar[str] = (
        "fit(archs, y, blocks=...) or build a table with hwnas.build_lut(SPACE, device=...)"
    )

    space: SearchSpace
    device: str = ""
    fingerprint: str = ""
    blocks: dict[str, BlockStats] = field(default_factory=dict)
    floor_correction: bool = True
    statistic: str = "p50"
    #: With ``statistic="ratio"``: the reference's typical median (ms) its blocks are at.
    reference_ms: float | None = None
    calibration_: Calibration = field(default_factory=Calibration)
    metric: str = field(default="latency_ms", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ParameterError(
                "statistic", f"must be one of {', '.join(STATISTICS)}, got {self.statistic!r}"
            )

    # -- building -----------------------------------------------------------------------

    @classmethod
    def from_store(
        cls,
        store: Store,
        space: SearchSpace,
        device: str,
        fingerprint: str | None = None,
        *,
        statistic: str = "p50",
    ) -> LookupTable:
        """The table of ``space`` on ``device`` from the block measurements in ``store``.

        ``fingerprint`` (a hash or its start) selects one; without it the device's block
        measurements must all share one. Every block of ``space.distinct_blocks()`` must
        be measured (the latest measurement of a block counts; for ``statistic="ratio"``
        the latest one timed with a reference, ``hwnas lut build --reference``). Raises
        ``LookupTableError`` saying what is missing or mixed and which command fixes it.
        """
        if statistic not in STATISTICS:
            raise ParameterError(
                "statistic", f"must be one of {', '.join(STATISTICS)}, got {statistic!r}"
            )
        wanted = [FLOOR_BLOCK, *space.distinct_blocks()]
        build = f"hwnas lut build --space {space.name} --device {device}"
        stored = store.measurements(
            space=space.name + _BLOCKS_SUFFIX, device=device, fingerprint=fingerprint
        )
        if not stored:
            under = f" under fingerprint {fingerprint}" if fingerprint else ""
            raise LookupTableError(
                f"no block of space {space.name!r} is measured on device {device!r}{under}; "
                f"measure them with `{build}`."
            )
        if statistic == "ratio":
            stored, build = _with_reference(stored, space, device), f"{build} --reference REF"
        fp_hash, rows = _one_fingerprint(stored, space, device)
        latest = {s.measurement.arch.string: s for s in rows}  # oldest first: the last wins
        missing = [b.key for b in wanted if b.key not in latest]
        if missing:
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            timed = " timed with a reference model" if statistic == "ratio" else ""
            raise LookupTableError(
                f"{len(missing)} of the {len(wanted)} blocks of space {space.name!r} (its "
                f"{len(wanted) - 1} distinct blocks and the runner floor) have no measurement"
                f"{timed} on device {device!r} under fingerprint {fp_hash} ({shown}); "
                f"measure them with `{build}` (it skips the measured ones)."
            )
        scale = None
        if statistic == "ratio":
            what = f"the block measurements of space {space.name!r} on device {device!r}"
            used = [latest[b.key].measurement for b in wanted]
            scale = reference_scale(used, what, error=LookupTableError)
        table = {b.key: _stats(b, latest[b.key], scale) for b in wanted}
        return cls(
            space=space,
            device=device,
            fingerprint=fp_hash,
            blocks=table,
            statistic=statistic,
            reference_ms=None if scale is None else scale.typical_ms,
        )

    # -- predicting ---------------------------------------------------------------------

    @property
    def floor_ms(self) -> float:
        """The runner floor's ``statistic`` (0 if the table has none, e.g. a CSV of other
        origin)."""
        return self._floor(STATISTICS[self.statistic][0])

    def _floor(self, field_name: str) -> float:
        floor = self.blocks.get(FLOOR_KEY)
        return float(getattr(floor, field_name)) if floor is not None else 0.0

    def block_sum(self, arch: str) -> float:
        """Sum over the blocks of ``arch`` of their ``statistic`` (the median by default),
        less the runner floor per block with ``floor_correction``; ms, uncalibrated."""
        return self._sum(arch, STATISTICS[self.statistic][0])

    def _sum(self, arch: str, field_name: str) -> float:
        """Sum of one statistic of the blocks of ``arch``, floor-corrected if asked."""
        values = self._stats(arch, field_name)
        if not self.floor_correction:
            return float(sum(values))
        floor = self._floor(field_name)
        return float(sum(max(v - floor, 0.0) for v in values))

    def plain_sum(self, arch: str) -> float:
        """Sum of the ``statistic`` of the blocks of ``arch`` (ms): the textbook table."""
        return float(sum(self._stats(arch, STATISTICS[self.statistic][0])))

    def _stats(self, arch: str, field_name: str) -> list[float]:
        keys = [b.key for b in self.space.blocks(arch)]
        absent = [k for k in keys if k not in self.blocks]
        if absent:
            raise LookupTableError(
                f"the lookup table of {self.space.name!r} has no entry for {len(absent)} "
                f"block(s) of {arch!r} (e.g. {absent[0]}); the table was built for another "
                f"configuration of the space. Build it again with `hwnas lut build --space "
                f"{self.space.name}`."
            )
        return [getattr(self.blocks[k], field_name) for k in keys]

    @overload
    def predict(self, archs: str) -> float: ...  # type: ignore[overload-overlap]
    @overload
    def predict(self, archs: Sequence[str]) -> np.ndarray: ...
    def predict(self, archs: str | Sequence[str]) -> float | np.ndarray:
        """Predicted latency in ms of each architecture: its calibrated block sum (float64
        array). A single string gives a float (the table's original form)."""
        self.check_is_fitted()
        if isinstance(archs, str):
            return float(self.calibration_.apply(self.block_sum(archs)))
        sums = np.array([self.block_sum(a) for a in archs], dtype=np.float64)
        return np.asarray(self.calibration_.apply(sums), dtype=np.float64)

    def predict_many(self, archs: Iterable[str]) -> np.ndarray:
        """``predict`` of a list (kept for code written before ``predict`` took lists)."""
        return self.predict(list(archs))

    def predict_interval(self, archs: Sequence[str]) -> Interval:
        """``predict(archs)`` with the calibrated, floor-corrected sums of the blocks' p10
        and p90 as its low and high ends: the spread of the block timings, not an
        interval calibrated on networks (``interval_share`` is None)."""
        value = self.predict(list(archs))
        low = np.array([self._sum(a, "p10_ms") for a in archs], dtype=np.float64)
        high = np.array([self._sum(a, "p90_ms") for a in archs], dtype=np.float64)
        return Interval(
            value,
            np.minimum(np.asarray(self.calibration_.apply(low), dtype=np.float64), value),
            np.maximum(np.asarray(self.calibration_.apply(high), dtype=np.float64), value),
        )

    def calibrate(self, measured: Mapping[str, float], *, mode: str = "affine") -> LookupTable:
        """Fit (scale, offset) on whole networks: ``measured`` maps an architecture to its
        measured latency (ms; the table's ``statistic``, see ``network_latencies``) on this
        device under this fingerprint. Returns self."""
        archs = list(measured)
        sums = [self.block_sum(a) for a in archs]
        self.calibration_ = fit_calibration(
            sums, [measured[a] for a in archs], mode=mode, archs=archs
        )
        return self

    # -- the predictor interface --------------------------------------------------------

    def fit(
        self,
        archs: Sequence[str] = (),
        y: Sequence[float] | np.ndarray = (),
        *,
        blocks: Mapping[str, BlockStats] | Iterable[BlockStats] | None = None,
        mode: str = "affine",
        origin: Origin | None = None,
    ) -> LookupTable:
        """Learn the table and return self: ``blocks`` (per-block statistics, by key or as
        :class:`BlockStats`) replace the table's when given (a table from ``from_store``,
        ``read_table`` or ``hwnas.build_lut`` has them already); then (scale, offset) are
        calibrated (``mode``, see :func:`fit_calibration`) on the whole networks ``archs``
        measured as ``y`` (ms, the table's ``statistic``); no networks: no calibration.
        ``origin`` names the device and fingerprint the blocks were measured on.
        """
        if blocks is not None:
            given = blocks.values() if isinstance(blocks, Mapping) else blocks
            self.blocks = {b.key: b for b in given}
        if not self.blocks:
            raise ParameterError(
                "blocks",
                "must be given: a lookup table learns per-block latencies; build one with "
                "hwnas.build_lut(SPACE, device=...) or LookupTable.from_store(...)",
            )
        if origin is not None:
            self.origin_ = origin
        arch_list, values = check_training_data(archs, y, min_rows=0)
        return self.calibrate(dict(zip(arch_list, values.tolist(), strict=True)), mode=mode)

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ()

    def is_fitted(self) -> bool:
        """A table is fitted once it has block statistics."""
        return bool(self.blocks)

    @property
    def origin_(self) -> Origin:
        """Where the blocks were measured: ``device`` and ``fingerprint``."""
        return Origin(
            device=self.device or None,
            fingerprint=self.fingerprint or None,
            source=f"lookup table of {len(self.blocks)} blocks",
            statistic=self.statistic,
        )

    @origin_.setter
    def origin_(self, origin: Origin) -> None:
        self.device, self.fingerprint = origin.device or "", origin.fingerprint or ""

    @property
    def training_hash_(self) -> str:
        """Hash of the blocks' keys and ``statistic`` values."""
        field_name = STATISTICS[self.statistic][0]
        values = np.array([getattr(b, field_name) for b in self.blocks.values()], dtype=float)
        return training_hash(list(self.blocks), values)

    @training_hash_.setter
    def training_hash_(self, value: str) -> None:
        raise AttributeError("training_hash_ of a lookup table follows its blocks; use fit")

    @property
    def n_train_(self) -> int:
        """The number of blocks (the runner floor included)."""
        return len(self.blocks)

    @n_train_.setter
    def n_train_(self, value: int) -> None:
        raise AttributeError("n_train_ of a lookup table follows its blocks; use fit")

    @property
    def feature_names_(self) -> list[str]:
        """None: a table adds up blocks; it has no feature columns."""
        return []

    @feature_names_.setter
    def feature_names_(self, value: list[str]) -> None:
        raise AttributeError("a lookup table has no feature columns")

    @property
    def validation_(self) -> dict[str, Any]:
        """Empty: see ``additivity_report`` for scores on networks held out."""
        return {}

    @validation_.setter
    def validation_(self, value: dict[str, Any]) -> None:
        raise AttributeError("a lookup table keeps no validation scores; see additivity_report")

    def _state(self) -> dict[str, Any]:
        return {"table": TABLE_FILE}

    def _write_files(self, directory: Path) -> list[str]:
        self.write(directory / TABLE_FILE, format="json")
        return [TABLE_FILE]

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> LookupTable:
        try:
            return read_table(directory / str(meta["state"]["table"]), space=space)
        except LookupTableError as exc:
            raise ArtifactError(f"{exc.message}; rebuild the lookup table") from None

    def additivity_report(self, held_out: Mapping[str, float]) -> dict[str, Any]:
        """How well the table predicts whole networks it was not calibrated on.

        ``held_out`` maps architectures to measured latencies (ms, the table's
        ``statistic``); those used for calibration are left out. Returns ``n``, ``mape``
        (%), ``spearman``, ``kendall``, ``within_5`` and ``within_10`` (shares), ``rmse``
        (ms), the MAPE of the plain sum (``mape_plain_sum``: no floor correction, no
        calibration), and ``rows`` (arch, measured, plain sum, predicted; ms).
        """
        seen = set(self.calibration_.archs)
        archs = [a for a in held_out if a not in seen]
        measured = np.array([held_out[a] for a in archs], dtype=np.float64)
        sums = np.array([self.block_sum(a) for a in archs], dtype=np.float64)
        plain = np.array([self.plain_sum(a) for a in archs], dtype=np.float64)
        predicted = np.asarray(self.calibration_.apply(sums), dtype=np.float64)
        report: dict[str, Any] = dict(metrics.report(measured, predicted))
        report["mape_plain_sum"] = metrics.mape(measured, plain)
        report["rows"] = [
            {"arch": a, "measured_ms": float(m), "plain_sum_ms": float(s), "predicted_ms": float(p)}
            for a, m, s, p in zip(archs, measured, plain, predicted, strict=True)
        ]
        return report

    # -- files ------------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per block (shapes as ``1x16x32x32``, params as JSON), for CSV."""
        out = []
        for b in self.blocks.values():
            row = b.to_dict()
            row["input_shape"] = "x".join(map(str, b.input_shape))
            row["output_shape"] = "x".join(map(str, b.output_shape))
            row["params"] = json.dumps(b.params, sort_keys=True)
            out.append(
                {
                    "space": self.space.name,
                    "device": self.device,
                    "fingerprint": self.fingerprint,
                    **row,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "space": self.space.name,
            "space_identity": self.space.identity(),
            "device": self.device,
            "fingerprint": self.fingerprint,
            "statistic": self.statistic,
            "reference_ms": self.reference_ms,
            "floor_ms": self.floor_ms,
            "floor_correction": self.floor_correction,
            "calibration": self.calibration_.to_dict(),
            "blocks": [b.to_dict() for b in self.blocks.values()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, space: SearchSpace | None = None) -> LookupTable:
        """A table from ``to_dict`` output; ``space`` defaults to the registered space of
        that name (pass it for a space built with constructor arguments)."""
        if data.get("format") != FORMAT:
            raise LookupTableError(
                f"this is not an hwnas lookup table (format "
                f"{data.get('format')!r}, expected {FORMAT!r})"
            )
        version = data.get("schema_version")
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise LookupTableError(
                f"lookup table schema_version {version!r} is newer than this hwnas reads "
                f"({SCHEMA_VERSION}); upgrade hwnas"
            )
        statistic = str(data.get("statistic", "p50"))
        if statistic not in STATISTICS:
            raise LookupTableError(
                f"the lookup table's statistic {statistic!r} is not one of {', '.join(STATISTICS)}"
            )
        _check_space_name(data.get("space"), space)
        space = space or _space_named(str(data.get("space")))
        rows = data.get("blocks") or []
        if not isinstance(rows, list):
            raise _damaged(f"its 'blocks' are a {type(rows).__name__}, not a list")
        return cls(
            space=space,
            device=str(data.get("device")),
            fingerprint=str(data.get("fingerprint")),
            blocks=_unique_blocks(BlockStats.from_dict(b) for b in rows),
            floor_correction=bool(data.get("floor_correction", True)),
            statistic=statistic,
            reference_ms=_optional_float(data.get("reference_ms")),
            calibration_=Calibration.from_dict(data.get("calibration") or {}),
        )

    def write(
        self, path: str | Path, *, format: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> Path:
        """Write the table as CSV (one row per block) or JSON (everything, plus ``extra``
        top-level keys); the format comes from ``format`` or the file's suffix."""
        path = Path(path)
        kind = table_format(path, format)
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "json":
            path.write_text(json.dumps({**self.to_dict(), **(extra or {})}, indent=2) + "\n")
        else:
            rows = self.rows()
            with path.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        return path


def table_format(path: Path, format: str | None) -> str:
    """``format`` checked, or the one the suffix of ``path`` names."""
    kind = format or path.suffix.lstrip(".").lower()
    if kind not in TABLE_FORMATS:
        raise UsageError(
            f"cannot tell the table format of {str(path)!r}"
            + (f" (got --format {format!r})" if format else "")
            + f"; use --format {' or '.join(TABLE_FORMATS)}, or a .csv or .json file name"
        )
    return kind


def _check_space_name(name: Any, space: SearchSpace | None) -> None:
    if space is not None and name not in (None, "", space.name):
        raise LookupTableError(
            f"this is a lookup table of space {name!r}, not "
            f"{space.name!r}; build one with `hwnas lut build --space "
            f"{space.name}`"
        )


def read_table(path: str | Path, *, space: SearchSpace | None = None) -> LookupTable:
    """A table written by ``LookupTable.write``: JSON in full, CSV without calibration.

    Everything is checked before the table is used: a file that is not such a table, a
    block row with a missing, non-numeric, negative or infinite statistic, a block given
    twice with different statistics, a malformed calibration. Each is a
    ``LookupTableError`` that names the file (and the block or row at fault).
    """
    path = Path(path)
    kind = table_format(path, None)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise LookupTableError(f"cannot read the lookup table {str(path)!r}: {reason}") from None
    try:
        if kind == "json":
            return _table_from_json(text, space)
        return _table_from_csv(text, space)
    except LookupTableError as exc:
        raise LookupTableError(
            f"the lookup table {str(path)!r} cannot be used: {exc.message}"
        ) from None


def _table_from_json(text: str, space: SearchSpace | None) -> LookupTable:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LookupTableError(f"it is not valid JSON ({exc}); {_REWRITE}") from None
    if not isinstance(data, dict):
        raise LookupTableError(
            f"it holds a JSON {type(data).__name__}, not a table object; {_REWRITE}"
        )
    if not data.get("blocks"):
        raise LookupTableError(
            f"it has no blocks (its 'blocks' list is missing or empty); {_REWRITE}"
        )
    return LookupTable.from_dict(data, space=space)


def _table_from_csv(text: str, space: SearchSpace | None) -> LookupTable:
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise LookupTableError("it has no rows")
    blocks = []
    for line, row in enumerate(rows, start=2):
        try:
            row["params"] = json.loads(row.get("params") or "{}")
            blocks.append(BlockStats.from_dict(row))
        except ValueError as exc:  # the params column is not JSON
            raise LookupTableError(
                f"line {line}: its params are not JSON ({exc}); {_REWRITE}"
            ) from None
        except LookupTableError as exc:
            raise LookupTableError(f"line {line}: {exc.message}") from None
    first = rows[0]
    _check_space_name(first.get("space"), space)
    unique = _unique_blocks(blocks)
    return LookupTable(
        space=space or _space_named(first.get("space", "")),
        device=first.get("device", ""),
        fingerprint=first.get("fingerprint", ""),
        blocks=unique,
    )


def _unique_blocks(blocks: Iterable[BlockStats]) -> dict[str, BlockStats]:
    """The blocks by key; a key given twice with other statistics is refused (which to
    believe?), given twice the same is one block."""
    found: dict[str, BlockStats] = {}
    for block in blocks:
        seen = found.setdefault(block.key, block)
        if seen != block:
            raise _damaged(
                f"block {block.key!r} is given twice with different statistics (p50_ms "
                f"{seen.p50_ms!r} and {block.p50_ms!r})"
            )
    return found


def network_latencies(
    store: Store, space: SearchSpace, device: str, fingerprint: str, *, statistic: str = "p50"
) -> dict[str, float]:
    """Measured latency (ms; the median, or another key of :data:`STATISTICS`) per canonical
    architecture of ``space`` on ``device`` under ``fingerprint`` (the latest measurement
    of an architecture counts; strings not in this configuration of the space are left
    out). ``ratio``: the ratio label of ``hwnas predictor train --statistic ratio``, the
    median ratio to the reference times the reference's typical median over every
    network measured with one (those without are left out)."""
    stored = store.measurements(space=space.name, device=device, fingerprint=fingerprint)
    scale = None
    if statistic == "ratio":
        stored = [s for s in stored if ratio_median(s.measurement) is not None]
        if stored:
            what = f"the measurements of {space.name} networks on device {device!r}"
            scale = reference_scale([s.measurement for s in stored], what, error=LookupTableError)
    field_name = STATISTICS[statistic][1]
    out: dict[str, float] = {}
    for s in stored:
        arch = s.measurement.arch
        assert arch is not None  # the space filter selects measurements with an arch
        try:
            canonical = space.canonical(arch.string)
        except InvalidArchError:
            continue
        ratio = ratio_median(s.measurement) if scale is not None else None
        value = getattr(s.measurement.latency_ms, field_name)
        out[canonical] = value if scale is None or ratio is None else scale.in_ms(ratio)
    return out


def split_networks(
    space: SearchSpace, networks: Mapping[str, float], *, calibrate: int, seed: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(calibration, held out): the calibration networks are the first ``calibrate`` of
    ``space.sample_distinct(seed, ...)`` (what ``hwnas lut build --calibrate K --seed S``
    measures), those of them that are measured; every other measured network is held out.
    ``calibrate`` is capped at the size of the space."""
    calibrate = min(calibrate, space.size())
    chosen = space.sample_distinct(seed, calibrate) if calibrate > 0 else []
    calibration = {a: networks[a] for a in chosen if a in networks}
    held_out = {a: v for a, v in networks.items() if a not in calibration}
    return calibration, held_out


def _with_reference(stored: Sequence[Any], space: SearchSpace, device: str) -> list[Any]:
    """The block measurements timed with a reference model; ``LookupTableError`` naming
    the fix (``--reference``) when there are none."""
    kept = [s for s in stored if ratio_median(s.measurement) is not None]
    if not kept:
        raise LookupTableError(
            f"none of the {len(stored)} block measurement(s) of space {space.name!r} on "
            f"device {device!r} was timed with a reference model, so they have no ratio "
            f"statistic; measure the blocks with `hwnas lut build --space {space.name} "
            f"--device {device} --reference REF.onnx` (or --reference builtin), or use "
            f"--statistic p50 (statistic='p50')."
        )
    return kept


def _one_fingerprint(
    stored: Sequence[Any], space: SearchSpace, device: str
) -> tuple[str, list[Any]]:
    """(fingerprint hash, measurements) when the block measurements share one
    fingerprint; ``LookupTableError`` listing them otherwise."""
    by_fp: dict[str, list[Any]] = {}
    for s in stored:
        by_fp.setdefault(s.measurement.fingerprint_hash, []).append(s)
    if len(by_fp) > 1:
        listing = "; ".join(
            f"{fp} ({len(rows)} block measurement(s), last {rows[-1].measurement.timestamp})"
            for fp, rows in by_fp.items()
        )
        raise LookupTableError(
            f"the block measurements of space {space.name!r} on device {device!r} mix "
            f"{len(by_fp)} fingerprints, whose numbers are not comparable: {listing}. "
            f"Choose one with fingerprint=HASH (--fingerprint HASH; the last one is usually "
            f"current)."
        )
    ((fp_hash, rows),) = by_fp.items()
    return fp_hash, rows


def _stats(block: Block, stored: Any, scale: ReferenceScale | None = None) -> BlockStats:
    """A block's statistics from its measurement: its latency (ms), or with ``scale`` its
    ratios to the reference in ms at the reference's typical speed."""
    m = stored.measurement
    names = ("mean", "std", "p10", "median", "p90")
    if scale is None:
        n, values = m.latency_ms.n, [float(getattr(m.latency_ms, k)) for k in names]
    else:
        ratio = m.settings["reference"]["ratio"]
        n, values = int(ratio["n"]), [scale.in_ms(float(ratio[k])) for k in names]
    mean, std, p10, p50, p90 = values
    return BlockStats(
        key=block.key,
        op=block.op,
        input_shape=tuple(block.input_shape),
        output_shape=tuple(block.output_shape),
        params=dict(block.params),
        n=n,
        mean_ms=mean,
        std_ms=std,
        p10_ms=p10,
        p50_ms=p50,
        p90_ms=p90,
        measurement_id=stored.id,
        model_hash=m.model_hash,
    )


def _space_named(name: str) -> SearchSpace:
    from hwnas.spaces import get_space

    return get_space(name)
