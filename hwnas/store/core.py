"""The measurement store: :class:`Store` and :func:`open_store`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    exists,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from hwnas.errors import DataError, HwnasError, StoreError

if TYPE_CHECKING:
    import pandas as pd
from hwnas.records import (
    LATENCY_KEYS,
    VOLATILE_FINGERPRINT_FIELDS,
    Fingerprint,
    Measurement,
)
from hwnas.store import schema
from hwnas.store.engine import (
    _MIGRATION_LOCK,
    _WRITE,
    BUSY_TIMEOUT_MS,
    _check_sqlite_path,
    _create_engine,
    _display,
    _dumps,
    _full_disk,
    _insert_ignore,
    _not_a_store,
    _now,
    _resolve,
    _serialise,
    _unwritable,
)
from hwnas.store.identity import _measured_key, measurement_identity
from hwnas.store.queue import QueueMixin
from hwnas.store.schema import FINGERPRINTS, MEASUREMENTS, META, SAMPLES

# The tables this module owns; a database holding them without ``meta`` is not ours.
_OWN_TABLES = ("fingerprints", "measurements", "samples", "jobs", "device_leases")


@dataclass(frozen=True)
class StoredMeasurement:
    """A measurement as stored, with its row id, the key of the settings it was
    measured with (:func:`settings_key`; ``None`` for a row whose settings were unreadable)
    and its identity (:func:`measurement_identity`)."""

    id: int
    measurement: Measurement
    settings_key: str | None = field(default=None, compare=False)
    identity: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FingerprintUsage:
    """How often one fingerprint was measured on one device, and when (first/last timestamp).

    ``fingerprint`` carries the stable fields only; its volatile readings
    (frequency, temperature) belong to each measurement and are ``None`` here.
    """

    fingerprint: Fingerprint
    device: str
    count: int
    first: str
    last: str


def open_store(location: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open the measurement store at ``location``: a path (SQLite, created on first use
    unless ``create=False``) or a SQLAlchemy URL (``postgresql+psycopg://...``). ``None``
    means ``$HWNAS_STORE``, else ``./hwnas.db``. Use it as a context manager, or call
    ``close()``. Errors are :class:`~hwnas.errors.StoreError` with the fix."""
    from hwnas.config import store_location

    return Store(store_location(None if location is None else str(location)), create=create)


class Store(QueueMixin):
    """The measurement store at a SQLite path or SQLAlchemy URL.

    Opening checks, before anything is measured, that the location can be written
    and brings its schema up to date; every failure is a :class:`StoreError` whose
    message says which store and what to do.
    """

    def __init__(self, location: str | os.PathLike[str], *, create: bool = True) -> None:
        """Open (and with ``create``, create) the store; raise ``StoreError`` if unusable."""
        url, path = _resolve(location)
        self._where = str(path) if path is not None else _display(location, url)
        self._file = path
        if path is not None:
            _check_sqlite_path(path, create=create)
        try:
            self._engine: Engine | None = _create_engine(url)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"cannot open the measurement store {self._where} ({exc}); install the "
                f"database driver (for PostgreSQL: pip install 'hwnas[postgres]') or pass "
                f"another --store"
            ) from None
        self._url = _display(location, url) if path is None else url.render_as_string()
        self._location = (
            str(path) if path is not None else url.render_as_string(hide_password=False)
        )
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # -- lifecycle ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The store's SQLAlchemy URL (password hidden): for messages."""
        return self._url

    @property
    def location(self) -> str:
        """Where to open this store again (another thread or process): its SQLite path,
        or its URL with the password kept. Never print it: :attr:`url` is for that."""
        return self._location

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._url!r})"

    # -- transactions and errors -------------------------------------------

    @property
    def _db(self) -> Engine:
        if self._engine is None:
            raise StoreError(f"the measurement store {self._where} was closed; open it again")
        return self._engine

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction; writes take the write lock up front (SQLite BEGIN IMMEDIATE)."""
        try:
            with self._db.connect() as conn:
                if write:
                    conn.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
        except HwnasError:
            raise
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"the measurement store {self._where} failed: {exc}") from exc

    def _translate(self, exc: DBAPIError) -> StoreError:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        reason = " ".join(reason.split())  # libpq's messages span lines
        low = reason.lower()
        if "not a database" in low or "malformed" in low:
            return _not_a_store(self._where, reason)
        if self._file is None and ("connection to server" in low or "connection failed" in low):
            return StoreError(
                f"cannot reach the database server of the measurement store {self._where} "
                f"({reason}); start the server, or correct the host, port, user or database "
                f"in the URL given to --store / HWNAS_STORE"
            )
        if "locked" in low or "busy" in low:
            return StoreError(
                f"the measurement store {self._where} stayed locked by another process for "
                f"{BUSY_TIMEOUT_MS // 1000} s ({reason}); retry when the other hwnas command "
                f"has finished"
            )
        if any(s in low for s in ("readonly", "read-only", "unable to open", "permission")):
            return _unwritable(self._where, reason)
        full = _full_disk(self._file, low)
        if full is not None:
            return _unwritable(self._where, full)
        return StoreError(f"the measurement store {self._where} failed ({reason})")

    # -- schema ------------------------------------------------------------

    def _read_version(self, conn: Connection) -> int:
        inspector = inspect(conn)
        if not inspector.has_table("meta"):
            ours = sorted(set(inspector.get_table_names()) & set(_OWN_TABLES))
            if ours:
                raise _not_a_store(self._where, f"it has tables {ours} but no schema version")
            return 0
        value = conn.execute(select(META.c.value).where(META.c.key == "schema_version")).scalar()
        try:
            return int(value) if value is not None else -1
        except ValueError:
            return -1

    def _migrate(self) -> None:
        """Apply the missing migrations, each in its own transaction; probe writability."""
        target = len(schema.MIGRATIONS)
        while True:
            with self._transaction(write=True) as conn:
                _serialise(conn, _MIGRATION_LOCK)
                version = self._read_version(conn)
                if version < 0:
                    raise _not_a_store(self._where, "its schema version is missing or unreadable")
                if version > target:
                    raise StoreError(
                        f"the measurement store {self._where} was written by a newer hwnas "
                        f"(schema {version}, this one reads up to {target}); upgrade hwnas or "
                        f"use another --store"
                    )
                if version == target:
                    # A write that changes nothing: a read-only store fails here, on open,
                    # rather than after minutes of measuring.
                    conn.execute(
                        update(META)
                        .where(META.c.key == "schema_version")
                        .values(value=META.c.value)
                    )
                    return
                schema.MIGRATIONS[version](conn)
                conn.execute(delete(META).where(META.c.key == "schema_version"))
                conn.execute(insert(META).values(key="schema_version", value=str(version + 1)))

    # -- writing -----------------------------------------------------------

    def add(self, measurement: Measurement) -> int:
        """Store one measurement with its samples in one transaction; return its new id."""
        return self.add_many([measurement])[0]

    def add_many(self, measurements: Iterable[Measurement]) -> list[int]:
        """Store all ``measurements`` in one transaction (all or nothing); return their ids.

        Each is stored with the key of the settings it recorded (:func:`settings_key`);
        a measurement of a queued job gets its job's (``finish_job``).
        """
        ids: list[int] = []
        with self._transaction(write=True) as conn:
            for m in measurements:
                ids.append(self._insert_measurement(conn, m, job_settings=None))
        return ids

    def add_new(self, measurements: Iterable[tuple[Measurement, str | None]]) -> list[int | None]:
        """Store each ``(measurement, settings key)`` whose identity
        (:func:`measurement_identity`) the store does not hold yet, in one transaction;
        return the new ids, ``None`` for each one already there (or earlier in the batch).

        This is how measurements are imported from another store or an export: twice
        adds nothing. The settings key is kept as given (a job's measurement carries its
        job's key, which its own settings do not determine); ``None`` computes it from the
        settings the measurement recorded.
        """
        given = [(m, key, measurement_identity(m)) for m, key in measurements]
        out: list[int | None] = []
        with self._transaction(write=True) as conn:
            # Two importers must not both find an identity absent and both insert it.
            _serialise(conn, "measurements:identity")
            wanted = sorted({identity for _, _, identity in given})
            held: set[str] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found = select(MEASUREMENTS.c.identity).where(MEASUREMENTS.c.identity.in_(chunk))
                held.update(conn.execute(found).scalars())
            fingerprints: set[str] = set()
            for m, key, identity in given:
                if identity in held:
                    out.append(None)
                    continue
                held.add(identity)
                new_id = self._insert_measurement(
                    conn,
                    m,
                    job_settings=None,
                    key=key,
                    identity=identity,
                    fingerprints=fingerprints,
                )
                out.append(new_id)
        return out

    @staticmethod
    def _insert_measurement(
        conn: Connection,
        m: Measurement,
        *,
        job_settings: Mapping[str, Any] | None,
        key: str | None = None,
        identity: str | None = None,
        fingerprints: set[str] | None = None,
    ) -> int:
        """Insert ``m``; ``key``/``identity`` when known already; ``fingerprints``: the
        hashes this transaction has stored (each fingerprint row is written once)."""
        fingerprint_row, row, samples_row = _to_rows(m)
        row["settings_key"] = key if key is not None else _measured_key(m.settings, job_settings)
        row["identity"] = identity if identity is not None else measurement_identity(m)
        if fingerprints is None or fingerprint_row["hash"] not in fingerprints:
            _insert_ignore(conn, FINGERPRINTS, fingerprint_row, "hash")
            if fingerprints is not None:
                fingerprints.add(fingerprint_row["hash"])
        # Values as parameters of one constant statement: compiled once, not per row.
        inserted = conn.execute(insert(MEASUREMENTS), row).inserted_primary_key
        assert inserted is not None  # every dialect hwnas supports reports it
        new_id = int(inserted[0])
        conn.execute(insert(SAMPLES), {"measurement_id": new_id, **samples_row})
        return new_id

    # -- reading -----------------------------------------------------------

    def measurements(
        self,
        *,
        device: str | None = None,
        fingerprint: str | None = None,
        model_hash: str | None = None,
        space: str | None = None,
        ids: Iterable[int] | None = None,
        samples: bool = False,
        limit: int | None = None,
        newest_first: bool = False,
        settings_key: str | None = None,
        after_id: int | None = None,
    ) -> list[StoredMeasurement]:
        """Measurements matching every given filter, oldest id first (newest first with
        ``newest_first=True``, so ``limit`` keeps the newest), at most ``limit``; with
        ``after_id``, only those of a greater id (to read a large store in pages).

        ``fingerprint`` is a fingerprint hash, ``space`` an arch space name,
        ``settings_key`` the key of the settings measured with (:func:`settings_key`).
        Raw samples are loaded only with ``samples=True``; otherwise ``samples_ms`` and
        ``warmup_ms`` are empty.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit!r}")
        m = MEASUREMENTS
        columns: list[Any] = [m, FINGERPRINTS.c.json.label("fingerprint_json")]
        joined = m.join(FINGERPRINTS, m.c.fingerprint_hash == FINGERPRINTS.c.hash)
        if samples:
            columns += [
                SAMPLES.c.latency_ms.label("samples_latency_ms"),
                SAMPLES.c.warmup_ms.label("samples_warmup_ms"),
            ]
            joined = joined.outerjoin(SAMPLES, SAMPLES.c.measurement_id == m.c.id)
        where = _filters(device, fingerprint, model_hash, space, ids, settings_key)
        if after_id is not None:
            where.append(m.c.id > after_id)
        order = m.c.id.desc() if newest_first else m.c.id
        stmt = select(*columns).select_from(joined).where(*where).order_by(order)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._transaction(write=False) as conn:
            rows = conn.execute(stmt).mappings().all()
        return [self._from_row(row, samples=samples) for row in rows]

    def to_frame(
        self,
        *,
        device: str | None = None,
        fingerprint: str | None = None,
        space: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The measurements matching the filters as a pandas table, one row each, with
        the columns of ``hwnas measurements export`` (:data:`hwnas.tables.EXPORT_COLUMNS`:
        ``arch``, ``latency_ms`` the median, ``peak_memory_mb``, ``energy_mj``, the
        latency statistics, input shapes and settings)."""
        from hwnas.tables import measurements_frame

        stored = self.measurements(device=device, fingerprint=fingerprint, space=space, limit=limit)
        return measurements_frame(stored)

    def get(self, id: int, *, samples: bool = True) -> StoredMeasurement:
        """The measurement with row id ``id``; ``StoreError`` if there is none."""
        found = self.measurements(ids=[id], samples=samples)
        if not found:
            raise StoreError(
                f"there is no measurement with id {id} in {self._where}; list the ids with "
                f"`hwnas measurements list`"
            )
        return found[0]

    def count(
        self,
        *,
        device: str | None = None,
        fingerprint: str | None = None,
        model_hash: str | None = None,
        space: str | None = None,
        ids: Iterable[int] | None = None,
        settings_key: str | None = None,
    ) -> int:
        """How many measurements match every given filter (same filters as ``measurements``)."""
        where = _filters(device, fingerprint, model_hash, space, ids, settings_key)
        stmt = select(func.count()).select_from(MEASUREMENTS).where(*where)
        with self._transaction(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())

    def has_measurement(self, *, model_hash: str, device: str, fingerprint: str) -> bool:
        """Whether this model was measured on ``device`` under fingerprint hash ``fingerprint``."""
        m = MEASUREMENTS
        stmt = select(
            exists().where(
                m.c.model_hash == model_hash,
                m.c.device == device,
                m.c.fingerprint_hash == fingerprint,
            )
        )
        with self._transaction(write=False) as conn:
            return bool(conn.execute(stmt).scalar())

    def measured_archs(
        self, *, space: str, device: str, fingerprint: str, settings_key: str | None = None
    ) -> set[str]:
        """Canonical strings of the ``space`` architectures measured on ``device`` under
        fingerprint hash ``fingerprint`` (and, if given, with settings key ``settings_key``)."""
        counts = self.measured_arch_counts(
            space=space, device=device, fingerprint=fingerprint, settings_key=settings_key
        )
        return set(counts)

    def measured_arch_counts(
        self, *, space: str, device: str, fingerprint: str, settings_key: str | None = None
    ) -> dict[str, int]:
        """How many times each ``space`` architecture was measured on ``device`` under
        fingerprint hash ``fingerprint`` and, if ``settings_key`` is given, with settings of
        that key (:func:`settings_key`); architectures never measured are absent."""
        m = MEASUREMENTS
        where = [m.c.arch_space == space, m.c.device == device, m.c.fingerprint_hash == fingerprint]
        if settings_key is not None:
            where.append(m.c.settings_key == settings_key)
        stmt = select(m.c.arch_string, func.count()).where(*where).group_by(m.c.arch_string)
        with self._transaction(write=False) as conn:
            return {row[0]: int(row[1]) for row in conn.execute(stmt)}

    def fingerprints(self, *, device: str | None = None) -> list[FingerprintUsage]:
        """Each (fingerprint, device) pair with its measurement count and first/last timestamp.

        Ordered by device, then by first use.
        """
        m = MEASUREMENTS
        first, last = func.min(m.c.timestamp), func.max(m.c.timestamp)
        stmt = (
            select(
                FINGERPRINTS.c.json,
                m.c.device,
                func.count().label("n"),
                first.label("first"),
                last.label("last"),
            )
            .select_from(m.join(FINGERPRINTS, m.c.fingerprint_hash == FINGERPRINTS.c.hash))
            .group_by(FINGERPRINTS.c.hash, FINGERPRINTS.c.json, m.c.device)
            .order_by(m.c.device, first, FINGERPRINTS.c.hash)
        )
        if device is not None:
            stmt = stmt.where(m.c.device == device)
        with self._transaction(write=False) as conn:
            rows = conn.execute(stmt).all()
        out = []
        for fp_json, dev, n, first_ts, last_ts in rows:
            try:
                fp = Fingerprint.from_dict(json.loads(fp_json))
            except (ValueError, DataError) as exc:
                raise self._corrupt(f"a fingerprint of device {dev!r}", exc) from None
            out.append(FingerprintUsage(fp, dev, int(n), first_ts, last_ts))
        return out

    def _corrupt(self, what: str, exc: Exception) -> StoreError:
        return StoreError(
            f"{what} in the measurement store {self._where} is corrupt ({exc}); it was edited "
            f"outside hwnas. Export what is readable or start another --store"
        )

    def _from_row(self, row: Any, *, samples: bool) -> StoredMeasurement:
        try:
            record = json.loads(row["record_json"])
            fingerprint = json.loads(row["fingerprint_json"])
            fingerprint.update(record.get("fingerprint_volatile") or {})
            arch = None
            if row["arch_space"] is not None:
                arch = {"space": row["arch_space"], "string": row["arch_string"]}
            data: dict[str, Any] = {
                "schema_version": record.get("schema_version"),
                "arch": arch,
                "model_hash": row["model_hash"],
                "model_name": row["model_name"],
                "model_size_mb": row["model_size_mb"],
                "device": row["device"],
                "fingerprint": fingerprint,
                "latency_ms": {k: row[k] for k in LATENCY_KEYS},
                "peak_memory_mb": row["peak_memory_mb"],
                "energy_mj": row["energy_mj"],
                "energy_method": row["energy_method"],
                "timestamp": row["timestamp"],
                "inputs": record.get("inputs"),
                "settings": record.get("settings"),
                "op_profile": record.get("op_profile"),
                "memory": record.get("memory"),
                "warnings": record.get("warnings"),
            }
            if samples:
                data["samples_ms"] = json.loads(row["samples_latency_ms"] or "[]")
                data["warmup_ms"] = json.loads(row["samples_warmup_ms"] or "[]")
            measurement = Measurement.from_dict(data)
            version = data["schema_version"]
            if isinstance(version, int) and version != measurement.schema_version:
                measurement = replace(measurement, schema_version=version)
        except (ValueError, TypeError, AttributeError, DataError) as exc:
            raise self._corrupt(f"measurement {row['id']}", exc) from None
        return StoredMeasurement(int(row["id"]), measurement, row["settings_key"], row["identity"])

    # -- small documents beside the measurements ---------------------------

    def put_meta(self, key: str, value: Any) -> None:
        """Keep the JSON-able ``value`` under ``key`` (replacing what was there); keys
        name what owns them, e.g. ``lut_calibration:SPACE:DEVICE:FINGERPRINT``."""
        if key == "schema_version":
            raise StoreError("the meta key schema_version is the store's own; use another")
        text = _dumps(value, what=f"the value of {key!r}")
        with self._transaction(write=True) as conn:
            _serialise(conn, f"meta:{key}")  # else two writers both insert the key
            conn.execute(delete(META).where(META.c.key == key))
            conn.execute(insert(META).values(key=key, value=text))

    def get_meta(self, key: str) -> Any:
        """What :meth:`put_meta` kept under ``key``, or None."""
        with self._transaction(write=False) as conn:
            text = conn.execute(select(META.c.value).where(META.c.key == key)).scalar()
        try:
            return None if text is None else json.loads(text)
        except ValueError as exc:
            raise self._corrupt(f"meta {key!r}", exc) from None


def _filters(
    device: str | None,
    fingerprint: str | None,
    model_hash: str | None,
    space: str | None,
    ids: Iterable[int] | None,
    settings_key: str | None = None,
) -> list[ColumnElement[bool]]:
    m = MEASUREMENTS
    where: list[ColumnElement[bool]] = []
    if device is not None:
        where.append(m.c.device == device)
    if fingerprint is not None:
        # A prefix is enough (lists show the first 8 characters).
        where.append(m.c.fingerprint_hash.startswith(fingerprint, autoescape=True))
    if model_hash is not None:
        where.append(m.c.model_hash == model_hash)
    if space is not None:
        where.append(m.c.arch_space == space)
    if ids is not None:
        where.append(m.c.id.in_([int(i) for i in ids]))
    if settings_key is not None:
        where.append(m.c.settings_key == settings_key)
    return where


def _to_rows(m: Measurement) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The fingerprint, measurement and samples rows that hold everything ``m`` carries."""
    if not isinstance(m, Measurement):
        raise DataError(f"the store holds Measurement records, got {type(m).__name__}: {m!r:.80}")
    what = f"measurement of model {m.model_hash} on {m.device!r}"
    fp = m.fingerprint
    # One fingerprint row per stable hash; the volatile readings of this run stay
    # with the measurement row, so nothing is lost.
    no_readings: dict[str, Any] = {name: None for name in VOLATILE_FINGERPRINT_FIELDS}
    stable = replace(fp, **no_readings)
    fingerprint_row = {
        "hash": fp.hash,
        "json": _dumps(stable.to_dict(), what=f"the fingerprint of the {what}"),
        "created_at": _now(),
    }
    record = {
        "schema_version": m.schema_version,
        "inputs": dict(m.inputs),
        "settings": dict(m.settings),
        "op_profile": dict(m.op_profile) if m.op_profile is not None else None,
        "memory": dict(m.memory),
        "warnings": list(m.warnings),
        "fingerprint_volatile": {name: getattr(fp, name) for name in VOLATILE_FINGERPRINT_FIELDS},
    }
    try:
        record_json = json.dumps(record, separators=(",", ":"))
    except (TypeError, ValueError):
        for key, value in record.items():
            _dumps(value, what=f"the {key} of the {what}")  # names the field that fails
        raise
    lat = m.latency_ms
    row = {
        "model_hash": m.model_hash,
        "model_name": m.model_name,
        "model_size_mb": m.model_size_mb,
        "arch_space": m.arch.space if m.arch else None,
        "arch_string": m.arch.string if m.arch else None,
        "arch_hash": m.arch.hash if m.arch else None,
        "device": m.device,
        "fingerprint_hash": fp.hash,
        **{k: getattr(lat, k) for k in LATENCY_KEYS},
        "peak_memory_mb": m.peak_memory_mb,
        "energy_mj": m.energy_mj,
        "energy_method": m.energy_method,
        "timestamp": m.timestamp,
        "record_json": record_json,
    }
    samples_row = {
        "latency_ms": _dumps(list(m.samples_ms), what=f"the samples of the {what}"),
        "warmup_ms": _dumps(list(m.warmup_ms), what=f"the warmup samples of the {what}"),
    }
    return fingerprint_row, row, samples_row
