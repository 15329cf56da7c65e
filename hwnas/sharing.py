"""Sharing measurements: export a store to a file or another store, import either.

A team shares what it measured by moving measurements between stores, directly
(SQLite <-> PostgreSQL, any store to any store) or through a CSV or Parquet file
written by :func:`export_measurements`. Whatever the way, nothing is lost: raw samples,
settings, energy, memory, the architecture and every field of the fingerprint arrive as
they left (the file's ``record`` column holds the whole measurement as JSON), and the
key of the settings it is reused for comes along.

Imports are idempotent: a measurement is added only when the store does not hold its
identity yet (:func:`hwnas.store.measurement_identity`: model, device, fingerprint,
timestamp, settings, latency statistics and raw samples), so importing twice, or an
export of what came from the same store, adds nothing; an interrupted import is finished
by running it again. Imported measurements are ordinary rows: a predictor trained for a
device and fingerprint learns from them as from the store's own.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hwnas.errors import DataError, HwnasError, ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.records import Measurement
from hwnas.store import Store, StoredMeasurement, is_sqlite_file, open_store
from hwnas.tables import FORMATS, load_frame, measurements_frame, row_name, write_table

__all__ = ["ExportReport", "ImportReport", "export_measurements", "import_measurements"]

#: Where a store lives: an open :class:`Store`, a SQLite path or a SQLAlchemy URL.
Location = Store | str | os.PathLike[str]
#: Suffixes that name a SQLite store (a new one too) rather than a table file.
STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: Measurements read and written per transaction.
BATCH_SIZE = 500


@dataclass(frozen=True)
class ImportReport:
    """What an import did: ``read`` measurements from ``source``, ``added`` to ``store``
    (their new ids in ``ids``), ``already`` there before (or twice in the source)."""

    source: str
    store: str
    read: int
    added: int
    already: int
    ids: tuple[int, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``hwnas measurements import --json``)."""
        return {
            "source": self.source,
            "store": self.store,
            "read": self.read,
            "added": self.added,
            "already": self.already,
        }


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: ``rows`` measurements of ``store`` to ``destination`` (a
    file in ``format`` csv or parquet, or a store: format ``store``, ``added`` new there),
    and which fingerprints each device's rows carry (``fingerprints``)."""

    destination: str
    format: str
    store: str
    rows: int
    added: int | None = None
    fingerprints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``hwnas measurements export --json``)."""
        return {
            "path": self.destination,
            "format": self.format,
            "store": self.store,
            "rows": self.rows,
            "added": self.added,
            "fingerprints": {d: list(h) for d, h in self.fingerprints.items()},
        }


def is_store_location(location: Location) -> bool:
    """Whether ``location`` names a store rather than a table file: an open store, a URL
    (``postgresql+psycopg://...``, ``sqlite:///...``), a path ending in .db, .sqlite or
    .sqlite3, or an existing SQLite file."""
    if isinstance(location, Store):
        return True
    text = os.fspath(location)
    if "://" in text:
        return True
    path = Path(text)
    if path.suffix.lower() in FORMATS:
        return False
    return path.suffix.lower() in STORE_SUFFIXES or is_sqlite_file(path)


def import_measurements(
    source: Location,
    store: Location | None = None,
    *,
    device: str | None = None,
    fingerprint: str | None = None,
    space: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the measurements of ``source`` (another store, or a CSV or Parquet file
    written by :func:`export_measurements`) into ``store`` (default: ``$HWNAS_STORE`` or
    ``./hwnas.db``, created on first use), optionally only those of ``device``,
    ``fingerprint`` (a hash or its start) and ``space``.

    A measurement whose identity the store holds already is skipped, so importing twice
    adds nothing. Each ``batch_size`` measurements are written in one transaction;
    ``progress`` receives ``step`` events of stage ``import``. A file is checked whole
    before anything is written: a malformed row is a :class:`DataError` naming the row,
    the column and the fix. Stores that cannot be opened raise ``StoreError``.
    """
    _check_batch_size(batch_size)
    emit = emitter(progress)
    filters = {"device": device, "fingerprint": fingerprint, "space": space}
    with ExitStack() as stack:
        dest = _opened(store, stack, create=True)
        if isinstance(source, Store) or is_store_location(source):
            src = _opened(source, stack, create=False)
            where, total = src.url, _count(src, filters)
            pages = _store_pages(src, filters, batch_size)
        else:
            path = Path(os.fspath(source))
            records = _filtered(read_records(path), filters)
            where, total = str(path), len(records)
            pages = iter([records[i : i + batch_size] for i in range(0, total, batch_size)])
        emit(Event("step", stage="import", done=0, total=total))
        read, ids = 0, []
        for page in pages:
            ids += [i for i in dest.add_new(page) if i is not None]
            read += len(page)
            emit(Event("step", stage="import", done=read, total=max(total, read)))
        return ImportReport(where, dest.url, read, len(ids), read - len(ids), tuple(ids))


def export_measurements(
    destination: Location,
    store: Location | None = None,
    *,
    format: str | None = None,
    device: str | None = None,
    fingerprint: str | None = None,
    space: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> ExportReport:
    """Export the measurements of ``store`` (default: ``$HWNAS_STORE`` or ``./hwnas.db``)
    matching ``device``, ``fingerprint`` and ``space`` to ``destination``: a CSV or Parquet
    file (``format`` csv or parquet, by default from the suffix) whose every row can be
    imported again (:data:`hwnas.tables.RECORD_COLUMNS` after the table's columns), or
    another store (a URL, a .db path or an open :class:`Store`), into which they are
    imported (:func:`import_measurements`: what it holds already is not added twice).

    Raises :class:`DataError` when nothing matches; ``progress`` receives ``step`` events
    of stage ``export``.
    """
    _check_batch_size(batch_size)
    filters = {"device": device, "fingerprint": fingerprint, "space": space}
    if isinstance(destination, Store) or (format is None and is_store_location(destination)):
        return _export_to_store(destination, store, filters, batch_size, progress)
    emit = emitter(progress)
    with ExitStack() as stack:
        src = _opened(store, stack, create=False)
        total = _count(src, filters)
        if total == 0:
            raise _nothing_to_export(src.url, filters)
        frames, done = [], 0
        by_device: dict[str, set[str]] = {}
        emit(Event("step", stage="export", done=0, total=total))
        for page in _stored_pages(src, filters, batch_size):
            frames.append(measurements_frame(page, records=True))
            for s in page:
                by_device.setdefault(s.measurement.device, set()).add(
                    s.measurement.fingerprint_hash
                )
            done += len(page)
            emit(Event("step", stage="export", done=done, total=max(total, done)))
        written = write_table(pd.concat(frames, ignore_index=True), destination, format=format)
        fmt = "parquet" if written.suffix.lower() in (".parquet", ".pq") else "csv"
        if format is not None:
            fmt = "parquet" if format.lower().lstrip(".") in ("parquet", "pq") else "csv"
        fingerprints = {d: tuple(sorted(h)) for d, h in sorted(by_device.items())}
        return ExportReport(str(written), fmt, src.url, done, None, fingerprints)


def _export_to_store(
    destination: Location,
    store: Location | None,
    filters: Mapping[str, str | None],
    batch_size: int,
    progress: ProgressCallback | None,
) -> ExportReport:
    """:func:`export_measurements` into another store: an import the other way round."""
    emit = emitter(progress)

    def relabel(event: Event) -> None:
        emit(Event("step", stage="export", done=event.done, total=event.total))

    with ExitStack() as stack:
        src = _opened(store, stack, create=False)
        if _count(src, filters) == 0:
            raise _nothing_to_export(src.url, filters)
        report = import_measurements(
            src,
            destination,
            device=filters["device"],
            fingerprint=filters["fingerprint"],
            space=filters["space"],
            batch_size=batch_size,
            progress=relabel,
        )
    return ExportReport(report.store, "store", report.source, report.read, report.added)


def _nothing_to_export(where: str, filters: Mapping[str, str | None]) -> DataError:
    given = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
    matching = f" match {given}" if given else " are stored"
    return DataError(
        f"no measurements in {where}{matching}, so there is nothing to export; check the "
        f"device, fingerprint and space asked for, or measure first with `hwnas profile`"
    )


def _check_batch_size(batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError("batch_size", f"must be an integer >= 1, got {batch_size!r}")


def _opened(location: Location | None, stack: ExitStack, *, create: bool) -> Store:
    """``location`` as an open store, closed with ``stack`` when this module opened it."""
    if isinstance(location, Store):
        return location
    return stack.enter_context(open_store(location, create=create))


def _count(store: Store, filters: Mapping[str, str | None]) -> int:
    return store.count(
        device=filters["device"], fingerprint=filters["fingerprint"], space=filters["space"]
    )


def _stored_pages(
    store: Store, filters: Mapping[str, str | None], batch_size: int
) -> Iterator[list[StoredMeasurement]]:
    """The matching measurements of ``store`` with their samples, ``batch_size`` at a time
    in id order (a large store is never all in memory)."""
    last: int | None = None
    while True:
        page = store.measurements(
            device=filters["device"],
            fingerprint=filters["fingerprint"],
            space=filters["space"],
            samples=True,
            limit=batch_size,
            after_id=last,
        )
        if not page:
            return
        yield page
        last = page[-1].id


def _store_pages(
    store: Store, filters: Mapping[str, str | None], batch_size: int
) -> Iterator[list[tuple[Measurement, str | None]]]:
    for page in _stored_pages(store, filters, batch_size):
        yield [(s.measurement, s.settings_key) for s in page]


def _filtered(
    records: Sequence[tuple[Measurement, str | None]], filters: Mapping[str, str | None]
) -> list[tuple[Measurement, str | None]]:
    """The records of a file that match the filters (as the store's own filters do)."""
    device, fingerprint, space = filters["device"], filters["fingerprint"], filters["space"]
    return [
        (m, key)
        for m, key in records
        if (device is None or m.device == device)
        and (fingerprint is None or m.fingerprint_hash.startswith(fingerprint))
        and (space is None or (m.arch is not None and m.arch.space == space))
    ]


# ---------------------------------------------------------------------------
# Reading an exported file
# ---------------------------------------------------------------------------

#: Columns of an export checked against the record of their row: a row edited in one
#: place only would otherwise be imported as it was exported, not as it reads.
_CHECKED = {
    "model_hash": lambda m: m.model_hash,
    "device": lambda m: m.device,
    "fingerprint": lambda m: m.fingerprint_hash,
    "latency_ms": lambda m: m.latency_ms.median,
}


def read_records(path: str | os.PathLike[str]) -> list[tuple[Measurement, str | None]]:
    """Every ``(measurement, settings key)`` of a file written by
    :func:`export_measurements` (CSV or Parquet), checked; a :class:`DataError` naming
    the row, the column and the fix for the first malformed one."""
    source = Path(path)
    frame = load_frame(source)
    if "record" not in frame.columns:
        shown = ", ".join(str(c) for c in list(frame.columns)[:8])
        raise DataError(
            f"the table {source} has no column 'record' (it has {shown}), so its rows "
            f"cannot be imported: only `hwnas measurements export` writes the whole "
            f"measurement there. A table of arch and metric columns still trains a "
            f"predictor (`hwnas predictor train --table`); to import, export it again "
            f"from its store with `hwnas measurements export -o FILE`"
        )
    out = []
    for position, row in enumerate(frame.to_dict("records")):
        out.append(_read_row(source, position, row))
    return out


def _read_row(path: Path, position: int, row: Mapping[Any, Any]) -> tuple[Measurement, str | None]:
    """One row of an export as ``(measurement, settings key)``; DataError if malformed."""
    where = f"{row_name(path, position)} of {path}"
    fix = "export it again with `hwnas measurements export`, or drop the row"
    text = row["record"]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where} has no value in column 'record'; {fix}")
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError is one
        raise DataError(
            f"{where}: column 'record' is not JSON ({exc}); the file was cut short or edited: {fix}"
        ) from None
    try:
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        measurement = Measurement.from_dict(data)
    except (DataError, TypeError, ValueError, AttributeError) as exc:
        reason = exc.message if isinstance(exc, HwnasError) else str(exc)
        raise DataError(
            f"{where}: column 'record' is not a valid measurement ({reason}); {fix}"
        ) from None
    for column, read in _CHECKED.items():
        given, recorded = row.get(column), read(measurement)
        if _disagree(given, recorded):
            raise DataError(
                f"{where}: column {column!r} says {given!r} but the row's record says "
                f"{recorded!r}; the record is what is imported, so edit both or neither, "
                f"or {fix}"
            )
    key = row.get("settings_key")
    return measurement, key if isinstance(key, str) and key else None


def _disagree(given: Any, recorded: Any) -> bool:
    """Whether a column's value contradicts the record (an absent value never does; a
    column that CSV reading turned into numbers is compared as text)."""
    if given is None or (isinstance(given, float) and math.isnan(given)):
        return False
    if isinstance(recorded, float):
        try:
            return float(given) != recorded
        except (TypeError, ValueError):
            return True
    return isinstance(given, str) and given != recorded
