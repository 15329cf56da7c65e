"""Measurement tables: the open-format interchange (CSV or Parquet).

A table has a column ``arch`` (the space's canonical arch string; empty for models
that are not from a search space) and one column per metric: ``latency_ms`` (the
median), ``peak_memory_mb`` and ``energy_mj``. Exports from the store add the
columns in :data:`EXPORT_COLUMNS`. Tables from elsewhere need only ``arch`` and
the metric that is asked for.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hwnas.errors import DataError, InvalidArchError, UsageError

if TYPE_CHECKING:
    from hwnas.spaces import SearchSpace
    from hwnas.store import StoredMeasurement

METRICS = ("latency_ms", "peak_memory_mb", "energy_mj")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

EXPORT_COLUMNS = (
    "id",
    "arch",
    "space",
    "model_hash",
    "model_name",
    "device",
    "fingerprint",
    "latency_ms",
    "latency_mean",
    "latency_std",
    "latency_p10",
    "latency_p90",
    "latency_p99",
    "latency_ci_low",
    "latency_ci_high",
    "latency_n",
    "peak_memory_mb",
    "energy_mj",
    "energy_method",
    "model_size_mb",
    "input_shapes",
    "threads",
    "graph_opt",
    "settings",
    "timestamp",
)
#: Settings that say how a measurement was taken rather than what it measured.
_RUN_OUTCOME_SETTINGS = ("stop_reason", "elapsed_s", "energy_details", "reference")
_FLOAT_COLUMNS = (
    "latency_ms",
    "latency_mean",
    "latency_std",
    "latency_p10",
    "latency_p90",
    "latency_p99",
    "latency_ci_low",
    "latency_ci_high",
    "peak_memory_mb",
    "energy_mj",
    "model_size_mb",
)
#: The columns an export adds for ``hwnas measurements import`` (``records=True``): the
#: key of the settings the measurement is reused for, its identity, and the whole
#: measurement as JSON (``Measurement.to_dict()``, raw samples included), which is what
#: an import reads; the other columns are for people and for predictor training.
RECORD_COLUMNS = ("settings_key", "identity", "record")
_INT_COLUMNS = ("id", "latency_n")
_NULLABLE_INT_COLUMNS = ("threads",)
_PARQUET_MAGIC = b"PAR1"
# Floats must read back exactly as written. pandas 3 does so by default (and
# deprecates the option); pandas 2 needs to be asked.
_CSV_OPTIONS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


def measurements_frame(
    stored: Sequence[StoredMeasurement], *, records: bool = False
) -> pd.DataFrame:
    """One row per stored measurement, with exactly the columns of :data:`EXPORT_COLUMNS`
    (and, with ``records``, :data:`RECORD_COLUMNS` after them: what an import needs; load
    the measurements with their samples for it).

    Metric columns are float64 (NaN where not measured); ``arch`` and ``space`` are
    empty for models that do not come from a search space.
    """
    rows = [_export_row(s) for s in stored]
    columns = list(EXPORT_COLUMNS)
    if records:
        columns += RECORD_COLUMNS
        for row, s in zip(rows, stored, strict=True):
            row["settings_key"] = s.settings_key
            row["identity"] = s.identity
            row["record"] = json.dumps(s.measurement.to_dict(samples=True), separators=(",", ":"))
    frame = pd.DataFrame(rows, columns=columns)
    for column in _FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    for column in _INT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    for column in _NULLABLE_INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    return frame


def _export_row(s: StoredMeasurement) -> dict[str, Any]:
    """The :data:`EXPORT_COLUMNS` of one stored measurement."""
    m = s.measurement
    lat = m.latency_ms
    return {
        "id": s.id,
        "arch": m.arch.string if m.arch else None,
        "space": m.arch.space if m.arch else None,
        "model_hash": m.model_hash,
        "model_name": m.model_name,
        "device": m.device,
        "fingerprint": m.fingerprint_hash,
        "latency_ms": lat.median,
        "latency_mean": lat.mean,
        "latency_std": lat.std,
        "latency_p10": lat.p10,
        "latency_p90": lat.p90,
        "latency_p99": lat.p99,
        "latency_ci_low": lat.ci_low,
        "latency_ci_high": lat.ci_high,
        "latency_n": lat.n,
        "peak_memory_mb": m.peak_memory_mb,
        "energy_mj": m.energy_mj,
        "energy_method": m.energy_method,
        "model_size_mb": m.model_size_mb,
        "input_shapes": input_shapes(m.inputs),
        "threads": m.settings.get("threads"),
        "graph_opt": m.settings.get("graph_opt"),
        "settings": settings_json(m.settings),
        "timestamp": m.timestamp,
    }


def input_shapes(inputs: Mapping[str, Any]) -> str:
    """The measured input shapes as ``name=1x3x224x224`` joined by ``;`` (sorted by
    name), so that batch 1 and batch 4 of one model tell apart in a table."""
    parts = []
    for name in sorted(inputs):
        shape = inputs[name].get("shape") if isinstance(inputs[name], Mapping) else None
        dims = "x".join(str(d) for d in shape) if shape is not None else "?"
        parts.append(f"{name}={dims}")
    return ";".join(parts)


def settings_json(settings: Mapping[str, Any]) -> str:
    """The settings that decide what was measured, as compact JSON with sorted keys
    (run outcomes such as the stop reason and the reference's statistics left out;
    the reference model is named by its content hash)."""
    kept = {k: v for k, v in settings.items() if k not in _RUN_OUTCOME_SETTINGS}
    reference = settings.get("reference")
    if isinstance(reference, Mapping):
        kept["reference"] = reference.get("model_hash") or reference.get("model")
    elif isinstance(reference, str):
        kept["reference"] = reference
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)


def _format_for(path: Path, format: str | None) -> str:
    allowed = "csv, parquet (suffixes .csv, .parquet, .pq)"
    if format is not None:
        name = format.lower().lstrip(".")
        if name in ("csv", "parquet", "pq"):
            return "parquet" if name == "pq" else name
        raise UsageError(f"unknown table format {format!r}; allowed: {allowed}")
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UsageError(
            f"cannot tell the table format of {path} from its suffix {path.suffix!r}; "
            f"allowed: {allowed}, or pass --format"
        ) from None


def write_table(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, format: str | None = None
) -> Path:
    """Write ``frame`` (without its index) as CSV or Parquet and return the path written.

    ``format`` is ``csv`` or ``parquet``; by default it follows the suffix. The file
    appears complete or not at all (written next to it, then renamed).
    """
    target = Path(path)
    fmt = _format_for(target, format)
    if target.is_dir():
        raise UsageError(f"cannot write the table to {target}: it is a directory; pass a file")
    partial = target.with_name(f".{target.name}.partial")
    try:
        if fmt == "csv":
            frame.to_csv(partial, index=False)
        else:
            frame.to_parquet(partial, engine="pyarrow", index=False)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(
            f"cannot write the table to {target} ({exc.strerror or exc}); pass another "
            f"--output in a directory that exists and is writable"
        ) from None
    return target


def _read_frame(path: Path) -> pd.DataFrame:
    """The file as a frame; DataError if it is missing, empty or neither CSV nor Parquet."""
    if not path.exists():
        raise DataError(f"the table {path} does not exist; check the path")
    if path.is_dir():
        raise DataError(f"the table {path} is a directory; pass a CSV or Parquet file")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise DataError(
            f"the table {path} is empty; it needs a header with 'arch' and a metric column "
            f"and one row per architecture"
        )
    suffix = path.suffix.lower()
    is_parquet = FORMATS.get(suffix) == "parquet" or (
        suffix not in FORMATS and head.startswith(_PARQUET_MAGIC)
    )
    if is_parquet:
        try:
            return pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataError(
                f"the table {path} is not a readable Parquet file ({exc}); write it with "
                f"`hwnas measurements export` or pandas.DataFrame.to_parquet"
            ) from None
    if b"\x00" in head:
        raise DataError(
            f"the table {path} is a binary file, not CSV; pass a CSV (.csv) or Parquet "
            f"(.parquet) file"
        )
    try:
        return pd.read_csv(path, **_CSV_OPTIONS)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"the table {path} is not readable CSV ({exc}); pass a CSV (.csv) or Parquet "
            f"(.parquet) file"
        ) from None


def load_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The CSV or Parquet file at ``path`` as read, unchecked (Parquet by suffix or
    content); a :class:`DataError` if it is missing, empty or neither."""
    return _read_frame(Path(path))


def _column_list(columns: list[str], *, most: int = 12) -> str:
    """Column names for a message, cut short when a file is not really a table."""
    if not columns:
        return "no columns"
    shown = [c if len(c) <= 40 else c[:37] + "..." for c in columns[:most]]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    return ", ".join(shown) + more


def row_name(path: Path, position: int) -> str:
    """Row ``position`` (from 0) of the table ``path`` for a message, with its line in a CSV."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return f"row {position + 1}"
    return f"row {position + 1} (line {position + 2} of the file)"


def _check_metric(frame: pd.DataFrame, path: Path, metric: str, *, required: bool) -> None:
    """Make ``frame[metric]`` float64 with finite values >= 0 (missing allowed unless required)."""
    raw = frame[metric]
    values = pd.to_numeric(raw, errors="coerce").astype("float64")
    for position, (given, value) in enumerate(zip(raw.tolist(), values.tolist(), strict=True)):
        if pd.isna(given):
            if required:
                raise DataError(
                    f"{row_name(path, position)} of {path} has no {metric} value; every row "
                    f"needs one (drop the row or measure it)"
                )
            continue
        if math.isnan(value) or math.isinf(value):
            raise DataError(
                f"{row_name(path, position)} of {path} has {metric} = {given!r}, which is "
                f"not a finite number"
            )
        if value < 0:
            raise DataError(
                f"{row_name(path, position)} of {path} has {metric} = {given!r}; a metric "
                f"cannot be negative"
            )
    frame[metric] = values


def read_table(path: str | os.PathLike[str], *, metric: str | None = None) -> pd.DataFrame:
    """Read a measurement table for predictor training, checked.

    The file (CSV, or Parquet by suffix ``.parquet``/``.pq`` or content) must have
    at least one row, a column ``arch`` and the column ``metric``, whose values must
    all be finite numbers >= 0. Without ``metric``, at least one of :data:`METRICS`
    must be present and the present ones are checked, missing values allowed. All
    columns are returned; checked metric columns are float64. Any problem is a
    :class:`DataError` that names the file and the row or columns at fault.
    """
    source = Path(path)
    frame = _read_frame(source)
    found = [str(c) for c in frame.columns]
    if metric is not None:
        needed = ["arch", metric]
    else:
        present = [m for m in METRICS if m in found]
        needed = ["arch", *(present or [" or ".join(METRICS)])]
    missing = [c for c in needed if c not in found]
    if missing:
        raise DataError(
            f"the table {source} lacks the column(s) {', '.join(missing)}; it has "
            f"{_column_list(found)} but needs {', '.join(needed)}"
        )
    if frame.empty:
        raise DataError(f"the table {source} has a header but no rows; it needs one per arch")
    if metric is not None:
        _check_metric(frame, source, metric, required=True)
    else:
        for name in METRICS:
            if name in found:
                _check_metric(frame, source, name, required=False)
    return frame


def check_archs(
    space: SearchSpace,
    archs: Sequence[Any],
    where: Callable[[int], str],
    source: str,
    *,
    fix: str = "train with the space they belong to",
    shown: int = 5,
) -> list[str]:
    """The validated strings of ``archs`` (``space.validate``, once per distinct string);
    a ``DataError`` naming the bad rows otherwise (at most ``shown`` of them).

    ``where(i)`` names row ``i`` for a message ("row 3 (line 5 of the file)"); ``source``
    names what they came from ("the table t.csv"); ``fix`` ends the message ("Fix or drop
    those rows, or <fix>").
    """
    found: list[str] = []
    bad: list[tuple[int, str]] = []
    memo: dict[str, str] = {}
    for i, arch in enumerate(archs):
        if arch is None or (isinstance(arch, float) and math.isnan(arch)) or arch == "":
            bad.append((i, "it has no arch"))
            continue
        text = str(arch)
        try:
            if text not in memo:
                memo[text] = space.validate(text)
            found.append(memo[text])
        except InvalidArchError as exc:
            bad.append((i, exc.message))
    if bad:
        listed = "; ".join(f"{where(i)}: {why}" for i, why in bad[:shown])
        more = f" (and {len(bad) - shown} more)" if len(bad) > shown else ""
        raise DataError(
            f"{len(bad)} row(s) of {source} are not {space.name} architectures{more}: "
            f"{listed}. Fix or drop those rows, or {fix}"
        )
    return found
