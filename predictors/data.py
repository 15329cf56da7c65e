"""Training data for predictors, from the measurement store or a measurement table.

Either way the result is one value per architecture (the median where an
architecture was measured more than once) with its :class:`~hwnas.predictors.base.Origin`:
device, fingerprint and source. A table row counts as a measurement of its own only
when it has its own ``id`` (as ``hwnas measurements export`` writes them); other rows
of one architecture must repeat one value (merged) or are refused as ambiguous.
Measurements from several fingerprints (another runtime, thread count, OS or CPU
setting) are not comparable, so they are refused unless one fingerprint is chosen.
Every problem is a :class:`~hwnas.errors.DataError` that names the rows (or
measurement ids) at fault.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hwnas.errors import DataError, ParameterError
from hwnas.predictors.base import Origin, check_metric
from hwnas.predictors.reference import ratio_median, reference_scale
from hwnas.spaces import SearchSpace, resolve_space
from hwnas.spaces.forms import (
    AS_WRITTEN,
    AUTO,
    CANONICAL,
    FormDecision,
    check_arch_form,
    detect_arch_form,
)
from hwnas.tables import check_archs, read_table

if TYPE_CHECKING:
    from hwnas.store import Store, StoredMeasurement

#: How many bad rows an error message lists.
SHOWN = 5
#: What ``precision=`` selects (``hwnas.profiler.settings.precision_of``).
MEASURED_PRECISIONS = ("fp32", "int8", "int8-dynamic")


@dataclass(frozen=True)
class TrainingData:
    """One value of ``metric`` per architecture of ``space``, and where they came from."""

    space: str
    metric: str
    archs: list[str]
    values: np.ndarray
    origin: Origin
    rows: int

    @property
    def duplicates(self) -> int:
        """Rows folded into another row of the same architecture (by the median, or the
        minimum for the p10 statistic)."""
        return self.rows - len(self.archs)


def _aggregate(
    archs: Sequence[str],
    values: Sequence[float] | np.ndarray,
    fold: Callable[[list[float]], float] = np.median,
) -> tuple[list[str], np.ndarray]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for arch, value in zip(archs, values, strict=True):
        grouped[arch].append(float(value))
    names = list(grouped)
    return names, np.array([float(fold(grouped[a])) for a in names], dtype=np.float64)


def _fingerprint_list(counts: Counter[str], details: dict[str, str]) -> str:
    return ", ".join(
        f"{h[:12]} ({n} measurement(s){details.get(h, '')})" for h, n in counts.most_common()
    )


def from_table(
    path: str | os.PathLike[str],
    *,
    space: SearchSpace | str,
    metric: str,
    device: str | None = None,
    fingerprint: str | None = None,
    arch_form: str = AUTO,
    precision: str | None = None,
) -> TrainingData:
    """Training data from a CSV or Parquet table with columns ``arch`` and ``metric``.

    ``arch_form`` says which world the table's values come from (``hwnas.spaces.forms``):
    ``canonical`` (one network measured per equivalence class: spellings of a class fold
    into its canonical string, by their median), ``as-written`` (each spelling measured
    itself), or ``auto``: what the table shows (:func:`~hwnas.spaces.forms.
    detect_arch_form`). The decision and its reason are in ``origin.arch_form``.

    Optional columns of store exports are used when present: ``space`` (other spaces'
    rows are skipped), ``device`` and ``fingerprint`` (filtered by ``device`` and
    ``fingerprint`` when given; several fingerprints are refused), ``precision`` (or
    the precision in an export's ``settings``: filtered by ``precision``; several are
    refused; without either the table's
    precision is taken to be ``precision``, unknown when None), ``id`` (rows of one
    architecture with distinct ids are separate measurements, folded by their median).
    An architecture given different values in rows without distinct ids is a
    ``DataError`` naming those rows; rows that repeat one value are merged.
    """
    check_metric(metric)
    the_space = resolve_space(space)
    source = Path(path)
    frame = read_table(source, metric=metric)
    is_parquet = source.suffix.lower() in (".parquet", ".pq")

    def where(position: int) -> str:
        row = int(frame.index[position])
        return f"row {row + 1}" if is_parquet else f"row {row + 1} (line {row + 2})"

    if "space" in frame.columns:
        spaces = frame["space"]
        frame = frame[spaces.isna() | (spaces == the_space.name)]
    if device is not None and "device" in frame.columns:
        frame = frame[frame["device"] == device]
    frame, found_precision = _table_precision(frame, source, precision)
    if fingerprint is not None:
        if "fingerprint" not in frame.columns:
            raise DataError(
                f"the table {source} has no fingerprint column, so fingerprint= "
                f"(--fingerprint) cannot select rows; drop it or export the table with "
                f"`hwnas measurements export` (store.to_frame())"
            )
        frame = frame[frame["fingerprint"].astype(str).str.startswith(fingerprint)]
    if frame.empty:
        raise DataError(
            f"no row of the table {source} is left for space {the_space.name!r}"
            f"{f', device {device!r}' if device else ''}"
            f"{f', fingerprint {fingerprint!r}' if fingerprint else ''}; check the table "
            f"and those options"
        )
    found_fp, found_device = _table_fingerprint(frame, source), device
    if found_device is None:
        found_device = _table_device(frame, source)
    archs = check_archs(the_space, frame["arch"].tolist(), where, f"the table {source}")
    measured = frame[metric].to_numpy(dtype=np.float64)
    ids = frame["id"].tolist() if "id" in frame.columns else None
    _check_repeats(archs, measured, ids, where, f"the table {source}", metric)
    decision = _decide_form(the_space, archs, measured, arch_form)
    names, values = _aggregate(_formed(the_space, archs, decision.form), measured)
    origin = Origin(
        device=found_device,
        fingerprint=found_fp,
        source=f"table {source}",
        rows=len(archs),
        arch_form=decision.form,
        arch_form_reason=decision.reason,
        precision=found_precision,
    )
    return TrainingData(the_space.name, metric, names, values, origin, rows=len(archs))


def _table_precision(frame: Any, source: Path, precision: str | None) -> tuple[Any, str | None]:
    """The rows of ``precision`` (all, without a ``precision`` column or the ``settings``
    column of an export to read it from) and the one precision they have; a table mixing
    several with none chosen is a ``DataError``."""
    if "precision" in frame.columns:
        found = frame["precision"].fillna("fp32").astype(str)
    elif "settings" in frame.columns:  # `hwnas measurements export`: each row's settings
        found = frame["settings"].map(_settings_precision)
    else:
        return frame, precision
    if precision is not None:
        return frame[found == precision], precision
    kinds = sorted(set(found))
    if len(kinds) > 1:
        raise DataError(
            f"the table {source} mixes {len(kinds)} precisions ({', '.join(kinds)}): an int8 "
            f"model's latency is not an fp32 one's; pass precision=NAME (--precision NAME) "
            f"to train on one"
        )
    return frame, kinds[0] if kinds else None


def _settings_precision(settings: Any) -> str:
    """The precision of a table row's ``settings`` (JSON, as exports write it)."""
    import json

    from hwnas.profiler.settings import precision_of

    try:
        parsed = json.loads(settings) if isinstance(settings, str) else None
    except ValueError:
        parsed = None
    return precision_of(parsed if isinstance(parsed, dict) else {})


def _decide_form(
    space: SearchSpace, archs: Sequence[str], values: np.ndarray, arch_form: str
) -> FormDecision:
    """The form ``arch_form`` names (checked), or the one the data show for ``auto``."""
    if check_arch_form(arch_form) != AUTO:
        return FormDecision(arch_form, "given (arch_form=, --arch-form)")
    return detect_arch_form(space, archs, values)


def _formed(space: SearchSpace, archs: Sequence[str], form: str) -> list[str]:
    """Each architecture as a predictor of ``form`` learns it."""
    return [space.canonical(a) for a in archs] if form == CANONICAL else list(archs)


def _check_repeats(
    archs: Sequence[str],
    values: np.ndarray,
    ids: Sequence[Any] | None,
    where: Callable[[int], str],
    source: str,
    metric: str,
) -> None:
    """Refuse a table that gives one architecture different values in rows that are not
    separate measurements, naming those rows.

    Rows that repeat one value are one measurement written twice: merged. Rows with
    distinct ids (``hwnas measurements export`` numbers every measurement in ``id``) are
    separate measurements of the architecture (``profile --repeats``): folded by their
    median. Anything else is ambiguous (two tables pasted together, a typo): which value
    is the architecture's?
    """
    rows: dict[str, list[int]] = defaultdict(list)
    for position, arch in enumerate(archs):
        rows[arch].append(position)
    conflicts = [
        positions
        for positions in rows.values()
        if len({float(values[i]) for i in positions}) > 1
        and not (ids is not None and _distinct_ids([ids[i] for i in positions]))
    ]
    if not conflicts:
        return
    listed = "; ".join(
        f"{archs[p[0]]} in "
        + ", ".join(f"{where(i)} = {values[i]:g}" for i in p[:SHOWN])
        + (f" and {len(p) - SHOWN} more rows" if len(p) > SHOWN else "")
        for p in conflicts[:SHOWN]
    )
    more = f" (the first {SHOWN} shown)" if len(conflicts) > SHOWN else ""
    raise DataError(
        f"{len(conflicts)} architecture(s) of {source} have different {metric} values in "
        f"different rows{more}: {listed}. A table gives one value per architecture: keep "
        f"the right row of each and drop the others (rows that repeat one value are merged; "
        f"separate measurements, each with its own id as `hwnas measurements export` "
        f"writes them, are folded by their median)"
    )


def _distinct_ids(ids: Sequence[Any]) -> bool:
    """Whether every row has an id and no two the same: separate measurements."""
    present = [i for i in ids if i is not None and not (isinstance(i, float) and np.isnan(i))]
    return len(present) == len(ids) and len(set(present)) == len(ids)


def _table_fingerprint(frame: Any, source: Path) -> str | None:
    """The one fingerprint of a table's rows (None without the column); several are
    refused."""
    if "fingerprint" not in frame.columns:
        return None
    counts = Counter(str(v) for v in frame["fingerprint"].dropna())
    if len(counts) > 1:
        raise DataError(
            f"the table {source} mixes {len(counts)} fingerprints: "
            f"{_fingerprint_list(counts, {})}; their numbers are not comparable. Pass "
            f"fingerprint=HASH (--fingerprint HASH) to train on one"
        )
    return next(iter(counts), None)


def _table_device(frame: Any, source: Path) -> str | None:
    """The one device of a table's rows (None without the column); several are refused."""
    if "device" not in frame.columns:
        return None
    devices = sorted({str(v) for v in frame["device"].dropna()})
    if len(devices) > 1:
        raise DataError(
            f"the table {source} holds measurements of several devices "
            f"({', '.join(devices)}); pass device=NAME (--device NAME) to train on one"
        )
    return devices[0] if devices else None


#: What of a latency measurement can be learnt: its median, its 10th percentile, or the
#: median ratio to the reference model timed beside it (`hwnas profile --reference`).
LATENCY_STATISTICS = ("p50", "p10", "ratio")


def check_statistic(metric: str, statistic: str) -> str:
    """``statistic`` if it is one of :data:`LATENCY_STATISTICS` and ``metric`` is latency
    (the only metric with a distribution); ``UsageError`` otherwise."""
    if statistic not in LATENCY_STATISTICS:
        raise ParameterError(
            "statistic", f"must be one of {', '.join(LATENCY_STATISTICS)}, got {statistic!r}"
        )
    if statistic != "p50" and metric != "latency_ms":
        raise ParameterError(
            "statistic",
            f"{statistic} applies to latency_ms only (memory and energy are one value a "
            f"measurement); drop it for {metric}",
        )
    return statistic


def _metric_value(stored: StoredMeasurement, metric: str, statistic: str) -> float | None:
    from hwnas.predictors.lut import STATISTICS

    m = stored.measurement
    if metric == "latency_ms" and statistic == "ratio":
        return ratio_median(m)
    if metric == "latency_ms":
        return float(getattr(m.latency_ms, STATISTICS[statistic][1]))
    value = getattr(m, metric)
    return None if value is None else float(value)


def from_store(
    store: Store,
    *,
    space: SearchSpace | str,
    metric: str,
    device: str,
    fingerprint: str | None = None,
    statistic: str = "p50",
    arch_form: str = AUTO,
    precision: str | None = None,
) -> TrainingData:
    """Training data from the store: ``space`` architectures measured on ``device``.

    Measurements of several precisions (``fp32``, ``int8``, ``int8-dynamic``: what
    ``hwnas profile --precision`` measured, ``hwnas.profiler.settings.precision_of``) are
    refused (the message lists them) unless ``precision`` selects one; ``origin.precision``
    records it.

    Several fingerprints among them are refused (the message lists them) unless
    ``fingerprint`` (a hash or its start) selects one. Measurements without a value of
    ``metric`` (energy is often not measured) are skipped. For latency, ``statistic``
    says which statistic of each measurement's distribution is learnt: ``p50`` (the
    median), ``p10``, less sensitive to brief interruptions of a run, or ``ratio``: the
    median ratio to a reference model timed beside it (``hwnas profile --reference``),
    times the reference's median over these measurements, which cancels slow phases
    of a shared machine (measurements without a reference are skipped). Several
    measurements of one architecture give their median, or for ``p10`` their minimum.

    hwnas exports one canonical network per equivalence class, so with ``arch_form``
    ``auto`` the store's measurements are canonical (every spelling of a class folds into
    its canonical string), except those of a table device keyed by the exact string,
    whose values are each spelling's own (``as-written``).
    """
    check_metric(metric)
    check_statistic(metric, statistic)
    check_arch_form(arch_form)
    the_space = resolve_space(space)
    stored = store.measurements(device=device, fingerprint=fingerprint, space=the_space.name)
    chosen = f" with fingerprint {fingerprint!r}" if fingerprint else ""
    if not stored:
        raise DataError(
            f"the store {store.url} has no measurements of {the_space.name} architectures on "
            f"device {device!r}{chosen}; measure some with `hwnas profile --space "
            f"{the_space.name} --sample 200 --device {device}` (hwnas.profile_space) or check "
            f"device= and fingerprint= (--device, --fingerprint)"
        )
    stored, found_precision = _one_precision(stored, device, the_space.name, precision)
    _check_one_fingerprint(stored, device)
    with_value = _values(stored, metric, statistic, device)
    runtime_extra: dict[str, Any] = {}
    if statistic == "ratio":
        with_value, runtime_extra = _ratios_in_ms(with_value, device)
    ids = [s.id for s, _ in with_value]
    archs = check_archs(
        the_space,
        [s.measurement.arch.string if s.measurement.arch else None for s, _ in with_value],
        lambda i: f"measurement {ids[i]}",
        f"the store {store.url}",
    )
    # Repeated measurements of an architecture (`profile --repeats`) fold by the median,
    # except p10: contention only ever slows a run down, so the lowest p10 is the one
    # least disturbed.
    fold: Callable[[list[float]], float] = min if statistic == "p10" else np.median
    decision = _store_form(with_value, arch_form)
    formed = _formed(the_space, archs, decision.form)
    names, values = _aggregate(formed, [v for _, v in with_value], fold)
    origin = _store_origin(stored[0], store, device, statistic if metric == "latency_ms" else None)
    origin = dataclasses.replace(
        origin,
        runtime={**origin.runtime, **runtime_extra},
        rows=len(archs),
        arch_form=decision.form,
        arch_form_reason=decision.reason,
        precision=found_precision,
    )
    return TrainingData(the_space.name, metric, names, values, origin, rows=len(archs))


def check_precision(precision: str | None) -> str | None:
    """``precision`` if it is None or one a measurement can have (``fp32``, ``int8``,
    ``int8-dynamic``); ``ParameterError`` naming them otherwise."""
    if precision is not None and precision not in MEASURED_PRECISIONS:
        raise ParameterError(
            "precision", f"must be one of {', '.join(MEASURED_PRECISIONS)}, got {precision!r}"
        )
    return precision


def _one_precision(
    stored: Sequence[StoredMeasurement], device: str, space: str, precision: str | None
) -> tuple[list[StoredMeasurement], str]:
    """The measurements of one precision (``precision``, or the only one there is) and
    which; ``DataError`` when they mix precisions and none is chosen, or none is left."""
    from hwnas.profiler.settings import precision_of

    counts = Counter(precision_of(s.measurement.settings) for s in stored)
    listed = ", ".join(f"{p} ({n} measurement(s))" for p, n in sorted(counts.items()))
    if precision is None and len(counts) > 1:
        raise DataError(
            f"the measurements of {space} architectures on device {device!r} were taken at "
            f"{len(counts)} precisions: {listed}. An int8 model's latency is not an fp32 "
            f"one's; pass precision=NAME (--precision NAME, one of "
            f"{', '.join(sorted(counts))}) to train on one"
        )
    chosen = precision or next(iter(counts))
    kept = [s for s in stored if precision_of(s.measurement.settings) == chosen]
    if not kept:
        raise DataError(
            f"none of the measurements of {space} architectures on device {device!r} is of "
            f"precision {chosen!r}; they are {listed}. Measure {chosen} with `hwnas profile "
            f"--space {space} --precision {chosen.split('-')[0]}"
            f"{' --quantize-mode dynamic' if chosen.endswith('-dynamic') else ''}` or choose "
            f"one of those"
        )
    return kept, chosen


def _store_form(with_value: Valued, arch_form: str) -> FormDecision:
    """The form of the store's measurements: ``arch_form`` when given, else canonical
    (hwnas's exports), or as written for a table device keyed by the exact string."""
    if arch_form != AUTO:
        return FormDecision(arch_form, "given (arch_form=, --arch-form)")
    exact = [s for s, _ in with_value if s.measurement.settings.get("table_keyed") == "exact"]
    if exact and len(exact) == len(with_value):
        table = exact[0].measurement.settings.get("table")
        return FormDecision(
            AS_WRITTEN,
            f"looked up in a table device by the exact string ({table}): each spelling "
            f"has its own value",
        )
    return FormDecision(
        CANONICAL,
        "measured in the store: hwnas exports one canonical network per equivalence class",
    )


def _store_origin(
    first: StoredMeasurement, store: Store, device: str, statistic: str | None
) -> Origin:
    """Where the store's measurements came from: device, fingerprint, runtime."""
    fp = first.measurement.fingerprint
    return Origin(
        device=device,
        fingerprint=fp.hash,
        source=f"store {store.url}",
        runtime={
            "execution_provider": fp.execution_provider,
            "threads": fp.threads,
            "onnxruntime": fp.onnxruntime,
            "cpu_model": fp.cpu_model,
        },
        statistic=statistic,
    )


def _check_one_fingerprint(stored: Sequence[StoredMeasurement], device: str) -> None:
    """Refuse measurements of several fingerprints, listing them."""
    counts = Counter(s.measurement.fingerprint_hash for s in stored)
    if len(counts) <= 1:
        return
    details: dict[str, str] = {}
    for s in stored:
        fp = s.measurement.fingerprint
        details.setdefault(
            fp.hash, f", {fp.cpu_model}, {fp.threads} thread(s), {fp.execution_provider}"
        )
    raise DataError(
        f"the measurements on device {device!r} come from {len(counts)} fingerprints: "
        f"{_fingerprint_list(counts, details)}. Their numbers are not comparable; pass "
        f"fingerprint=HASH (--fingerprint HASH) to train on one"
    )


Valued = list[tuple["StoredMeasurement", float]]


def _values(
    stored: Sequence[StoredMeasurement], metric: str, statistic: str, device: str
) -> Valued:
    """The measurements that have a value of ``metric`` (``statistic``), with it."""
    with_value = [(s, v) for s in stored if (v := _metric_value(s, metric, statistic)) is not None]
    if not with_value and statistic == "ratio":
        raise DataError(
            f"none of the {len(stored)} measurements on device {device!r} was timed with a "
            f"reference model; measure with `hwnas profile ... --reference builtin` "
            f'(reference="builtin"), or train on statistic="p50"'
        )
    if not with_value:
        raise DataError(
            f"none of the {len(stored)} measurements on device {device!r} has a value of "
            f"{metric}; measure it (for energy: energy=BACKEND, `hwnas profile --energy "
            f"BACKEND`) or train another metric"
        )
    return with_value


def _ratios_in_ms(with_value: Valued, device: str) -> tuple[Valued, dict[str, Any]]:
    """Ratios become milliseconds at the reference's typical speed: the median over these
    measurements of its own median (``hwnas.predictors.reference``). The reference must be
    one model. Also returns what the origin's runtime records of the reference."""
    scale = reference_scale(
        [s.measurement for s, _ in with_value], f"the measurements on device {device!r}"
    )
    return [(s, scale.in_ms(v)) for s, v in with_value], scale.runtime()


def check_source(
    *, table: str | os.PathLike[str] | None, device: str | None, statistic: str
) -> None:
    """Refuse (``ParameterError``) a call that names no data source, or a table with a
    statistic that only the store's distributions have."""
    if table is None and device is None:
        raise ParameterError(
            "device",
            "or table must say where the measurements are: device=NAME (the store) or table=FILE",
        )
    if table is not None and statistic != "p50":
        raise ParameterError(
            "statistic",
            f"{statistic!r} needs the store (device= without table=): it keeps every "
            f"measurement's distribution, a table has one value a row",
        )


def training_data(
    *,
    space: SearchSpace | str,
    metric: str,
    table: str | os.PathLike[str] | None = None,
    device: str | None = None,
    store: Store | str | os.PathLike[str] | None = None,
    fingerprint: str | None = None,
    statistic: str = "p50",
    arch_form: str = AUTO,
    precision: str | None = None,
) -> TrainingData:
    """Measured values of ``metric`` per architecture of ``space``: from the measurement
    ``table`` when given (``device`` and ``fingerprint`` then select its rows, see
    :func:`from_table`), else from the store's measurements on ``device`` (see
    :func:`from_store`). ``store`` is a :class:`~hwnas.store.Store`, or where to open one
    (default: ``$HWNAS_STORE``, else ``./hwnas.db``); a store opened here is closed here.
    ``arch_form`` (``auto``, ``canonical``, ``as-written``) says which world the values
    come from (see :func:`from_table` and :func:`from_store`). ``precision`` (``fp32``,
    ``int8``, ``int8-dynamic``) selects the measurements of one precision: required when
    the store's (or the table's ``precision`` column) mix several. Raises
    ``ParameterError`` when neither ``table`` nor ``device`` is given, and ``DataError``
    naming what is wrong with the data."""
    check_source(table=table, device=device, statistic=statistic)
    check_precision(precision)
    if table is not None:
        return from_table(
            table,
            space=space,
            metric=metric,
            device=device,
            fingerprint=fingerprint,
            arch_form=arch_form,
            precision=precision,
        )
    assert device is not None  # check_source
    from hwnas.store import Store, open_store

    if isinstance(store, Store):
        return from_store(
            store,
            space=space,
            metric=metric,
            device=device,
            fingerprint=fingerprint,
            statistic=statistic,
            arch_form=arch_form,
            precision=precision,
        )
    with open_store(store) as opened:
        return from_store(
            opened,
            space=space,
            metric=metric,
            device=device,
            fingerprint=fingerprint,
            statistic=statistic,
            arch_form=arch_form,
            precision=precision,
        )


__all__ = [
    "LATENCY_STATISTICS",
    "MEASURED_PRECISIONS",
    "check_precision",
    "TrainingData",
    "check_archs",
    "check_source",
    "check_statistic",
    "from_store",
    "from_table",
    "training_data",
]
