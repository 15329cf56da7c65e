"""Table devices: a benchmark table registered as a device.

``hwnas devices add NAME --table FILE --space SPACE`` registers a device whose
measurements are looked up in a table instead of being taken by running models (how
NAS researchers use HW-NAS-Bench or the NAS-Bench-201 latency tables). The table is CSV
or Parquet, optionally gzipped (``.csv.gz``), read with :func:`hwnas.tables.read_table`:
a column ``arch`` and the metric columns ``latency_ms`` (required: every measurement
hwnas stores has a latency), ``energy_mj`` and ``peak_memory_mb`` (optional; empty cells
are "not measured").

How a table is keyed is decided each time its content is loaded:

- **canonical**, when every row's ``arch`` is its own canonical form
  (``space.canonical(arch) == arch``), or when the table holds one row (one spelling)
  per equivalence class: an architecture is then looked up by ``space.canonical(arch)``,
  so any member of a class finds the class's row;
- **exact** otherwise (several spellings of one class, e.g. all 15,625 NAS-Bench-201
  cells as written): an architecture is looked up by its own (validated) string.

A measurement from a table is an ordinary one: ``n = 1`` (the table's value is the
median and the only sample), ``energy_mj``/``peak_memory_mb`` where the table has them,
and a fingerprint that is the table's content hash (:meth:`DeviceTable.fingerprint`):
a changed table is another fingerprint, a moved or renamed one is not.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import tempfile
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hwnas.errors import DataError, NotInTableError, TableDeviceError
from hwnas.records import Arch, DeviceSpec, Fingerprint, LatencyStats, Measurement
from hwnas.spaces import SearchSpace, get_space
from hwnas.tables import METRICS, check_archs, read_table

__all__ = [
    "KEYINGS",
    "DeviceTable",
    "load_table",
    "open_table_device",
    "table_device_spec",
]

#: How a table is keyed: by ``space.canonical(arch)`` or by the exact string.
KEYINGS = ("canonical", "exact")
#: How many bad rows an error message lists.
_SHOWN = 5


@dataclass(frozen=True)
class DeviceTable:
    """A loaded, checked table: each key's metric values and how keys are made."""

    path: Path
    sha256: str
    space: str
    metrics: tuple[str, ...]
    keyed: str
    rows: int
    values: Mapping[str, Mapping[str, float]] = field(repr=False)
    canonical: Callable[[str], str] = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> Fingerprint:
        """The fingerprint of every measurement from this table: its content hash (the
        file's name and place are left out, so moving it changes nothing)."""
        return Fingerprint(
            cpu_model="table",
            cores=1,
            os="table",
            python="n/a",
            onnxruntime="n/a",
            execution_provider="table",
            threads=0,
            machine=f"table sha256:{self.sha256}",
        )

    def key(self, arch: str) -> str:
        """The key ``arch`` (a validated string of the space) is looked up by."""
        return self.canonical(arch) if self.keyed == "canonical" else arch

    def lookup(self, arch: str) -> Mapping[str, float]:
        """The metric values of ``arch``; ``NotInTableError`` naming it, the file and how
        the table is keyed when the table lacks it."""
        key = self.key(arch)
        found = self.values.get(key)
        if found is None:
            how = (
                f"by canonical form ({key})"
                if self.keyed == "canonical"
                else "by the exact string (it holds several spellings of some classes)"
            )
            raise NotInTableError(
                f"the table {self.path} lacks the architecture {arch} (looked up {how}); "
                f"it has {len(self.values):,} architectures. Add its row to the table or "
                f"profile architectures the table holds (--archs / archs=)"
            )
        return found

    def measurement(self, arch: Arch, *, device: str) -> Measurement:
        """The measurement of ``arch`` on the table device ``device``: n = 1, the table's
        latency as the median (and every statistic), its energy and memory where given.
        Raises ``NotInTableError`` when the table lacks ``arch``."""
        found = self.lookup(arch.string)
        ms = found["latency_ms"]
        energy = found.get("energy_mj")
        return Measurement(
            model_hash=arch.hash,
            device=device,
            fingerprint=self.fingerprint,
            latency_ms=LatencyStats(
                n=1, median=ms, mean=ms, std=0.0, p10=ms, p90=ms, p99=ms, ci_low=ms, ci_high=ms
            ),
            timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            arch=arch,
            peak_memory_mb=found.get("peak_memory_mb"),
            energy_mj=energy,
            energy_method="table" if energy is not None else None,
            samples_ms=(ms,),
            settings={
                "source": "table",
                "table": str(self.path),
                "table_sha256": self.sha256,
                "table_keyed": self.keyed,
                "table_key": self.key(arch.string),
            },
        )

    def describe(self) -> dict[str, Any]:
        """What ``hwnas devices check`` reports of the table."""
        return {
            "table": str(self.path),
            "space": self.space,
            "rows": self.rows,
            "architectures": len(self.values),
            "metrics": list(self.metrics),
            "keyed": self.keyed,
            "sha256": self.sha256,
            "fingerprint": self.fingerprint.hash,
        }


_CACHE: dict[tuple[str, str, str], DeviceTable] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def load_table(path: str | Path, space: SearchSpace) -> DeviceTable:
    """Read and check the table at ``path`` for ``space``, and decide its keying.

    A ``DataError`` names the file and the rows at fault: a missing ``arch`` or
    ``latency_ms`` column, no metric column, a value that is not a finite number >= 0,
    a row without an architecture or with one that is not of ``space``, and one
    architecture given different values in different rows (rows that repeat one value
    are merged). Loaded tables are kept per content (a few), so loading an unchanged
    table again only hashes it.
    """
    source = Path(path)
    data = _read_bytes(source)
    sha = hashlib.sha256(data).hexdigest()
    cache_key = (str(source.absolute()), sha, f"{type(space).__module__}:{space.name}")
    with _CACHE_LOCK:
        if cache_key in _CACHE:
            return _CACHE[cache_key]
    table = _parse(source, data, sha, space)
    with _CACHE_LOCK:
        _CACHE[cache_key] = table
        while len(_CACHE) > _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return table


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"the table {path} does not exist; check the path")
    if path.is_dir():
        raise DataError(f"the table {path} is a directory; pass a CSV or Parquet file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the table {path}: {exc.strerror or exc}") from None


def _parse(source: Path, data: bytes, sha: str, space: SearchSpace) -> DeviceTable:
    frame = _read_frame(source, data)
    if "latency_ms" not in frame.columns:
        present = [m for m in METRICS if m in frame.columns]
        raise DataError(
            f"the table {source} has no latency_ms column (it has {', '.join(present)}); a "
            f"table device needs latency_ms, as every measurement hwnas stores has a "
            f"latency (energy_mj and peak_memory_mb are optional)"
        )
    metrics = tuple(m for m in METRICS if m in frame.columns)
    columns = {m: frame[m].tolist() for m in metrics}
    _refuse_missing_latency(source, columns["latency_ms"])
    exact = _validated(source, space, frame["arch"].tolist())
    by_string = _merged(source, exact, columns)
    keyed, values = _keyed(by_string, space)
    return DeviceTable(
        path=source.absolute(),
        sha256=sha,
        space=space.name,
        metrics=metrics,
        keyed=keyed,
        rows=len(exact),
        values=values,
        canonical=space.canonical,
    )


def _read_frame(source: Path, data: bytes) -> Any:
    """The checked frame (``read_table``); a gzipped file is read from a decompressed copy,
    whose name never reaches a message (it says ``source``)."""
    if source.suffix.lower() != ".gz":
        return read_table(source)
    try:
        plain = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"the table {source} is not a readable gzip file ({exc}); pass a CSV or "
            f"Parquet file, or one compressed with gzip"
        ) from None
    with tempfile.TemporaryDirectory(prefix="hwnas-table-") as tmp:
        copy = Path(tmp) / Path(source.name).stem  # x.csv.gz: x.csv
        copy.write_bytes(plain)
        try:
            return read_table(copy)
        except DataError as exc:
            raise DataError(exc.message.replace(str(copy), str(source))) from None


def _row(source: Path, position: int) -> str:
    if ".parquet" in source.name.lower() or source.suffix.lower() == ".pq":
        return f"row {position + 1}"
    return f"row {position + 1} (line {position + 2} of the file)"


def _refuse_missing_latency(source: Path, latency: Sequence[Any]) -> None:
    missing = [i for i, v in enumerate(latency) if math.isnan(v)]
    if missing:
        listed = ", ".join(_row(source, i) for i in missing[:_SHOWN])
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise DataError(
            f"{len(missing)} row(s) of the table {source} have no latency_ms value: "
            f"{listed}{more}; every row needs one (drop the row or fill it in)"
        )


def _validated(source: Path, space: SearchSpace, archs: Sequence[Any]) -> list[str]:
    """Each row's architecture (surrounding blanks dropped) as ``space.validate`` spells
    it; a ``DataError`` naming the rows that have none or one not of ``space``."""
    stripped = [a.strip() if isinstance(a, str) and a.strip() else a for a in archs]
    return check_archs(
        space,
        stripped,
        lambda i: _row(source, i),
        f"the table {source}",
        fix="register the table with the space they belong to (--space)",
        shown=_SHOWN,
    )


def _merged(
    source: Path, exact: list[str], columns: Mapping[str, list[float]]
) -> dict[str, dict[str, float]]:
    """One entry per architecture string: rows that repeat it with the same values are
    merged; different values are refused, naming the rows."""
    merged: dict[str, dict[str, float]] = {}
    first: dict[str, int] = {}
    conflicts: list[str] = []
    for i, arch in enumerate(exact):
        values = {m: float(v[i]) for m, v in columns.items() if not math.isnan(v[i])}
        if arch not in merged:
            merged[arch], first[arch] = values, i
        elif values != merged[arch] and len(conflicts) < _SHOWN:
            j = first[arch]
            conflicts.append(
                f"{arch} in {_row(source, j)} ({_shown(merged[arch])}) and {_row(source, i)} "
                f"({_shown(values)})"
            )
    if conflicts:
        raise DataError(
            f"the table {source} gives architectures different values in different rows: "
            f"{'; '.join(conflicts)}. A table device needs one value per architecture: keep "
            f"the right row of each and drop the others (rows that repeat one value are "
            f"merged)"
        )
    return merged


def _shown(values: Mapping[str, float]) -> str:
    return ", ".join(f"{m} = {v:g}" for m, v in values.items()) or "no values"


def _keyed(
    by_string: dict[str, dict[str, float]], space: SearchSpace
) -> tuple[str, dict[str, dict[str, float]]]:
    """The keying of the module docstring and the values under their keys."""
    canonical = {a: space.canonical(a) for a in by_string}
    if all(a == c for a, c in canonical.items()):
        return "canonical", by_string
    if len(set(canonical.values())) == len(canonical):  # one spelling per class
        return "canonical", {canonical[a]: v for a, v in by_string.items()}
    return "exact", by_string


def table_device_spec(
    name: str, table: str | Path, space: str, *, energy: str = "none"
) -> tuple[DeviceSpec, DeviceTable]:
    """The spec of a table device (the table's absolute path, the space as given, the
    content hash) and the loaded table, checked now: ``DataError`` naming the rows of a
    malformed table, ``SpaceError`` for an unknown space."""
    the_space = get_space(space)
    loaded = load_table(Path(table).expanduser(), the_space)
    spec = DeviceSpec(
        name=name,
        transport="table",
        table=str(loaded.path),
        space=space,
        table_sha256=loaded.sha256,
        energy=energy,
    )
    return spec, loaded


def open_table_device(
    spec: DeviceSpec, space: SearchSpace | None = None
) -> tuple[DeviceTable, list[str]]:
    """The table of the table device ``spec`` (``space``: its space, loaded; default:
    ``get_space(spec.space)``) and notes (that the table changed since registration).

    Raises ``TableDeviceError`` when the file is gone or no longer a valid table,
    naming it and how to register it again.
    """
    assert spec.transport == "table" and spec.table and spec.space
    path = Path(spec.table)
    fix = (
        f"put the table back, or register it again: `hwnas devices add {spec.name} "
        f"--table FILE --space {spec.space} --replace`"
    )
    if not path.is_file():
        raise TableDeviceError(
            f"the table of device {spec.name!r}, {path}, does not exist any more; {fix}"
        )
    try:
        table = load_table(path, space or get_space(spec.space))
    except DataError as exc:
        raise TableDeviceError(
            f"the table of device {spec.name!r} is no longer valid: {exc.message}; {fix}"
        ) from None
    notes = []
    if spec.table_sha256 and spec.table_sha256 != table.sha256:
        notes.append(
            f"the table of device {spec.name!r} ({path}) has changed since it was "
            f"registered (sha256 {spec.table_sha256[:12]} -> {table.sha256[:12]}): its "
            f"measurements have a new fingerprint ({table.fingerprint.hash}) and are kept "
            f"apart from the earlier ones"
        )
    return table, notes
