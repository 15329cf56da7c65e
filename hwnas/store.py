"""The measurement store: every measurement hwnas takes, raw samples included.

SQLAlchemy Core (not the ORM) over SQLite by default; any SQLAlchemy URL works, and
PostgreSQL (``postgresql+psycopg://...``) is tested as SQLite is. Only
:func:`_create_engine` and the small ``_insert_ignore`` / ``_serialise`` helpers know
about dialects; every query is plain Core.

Plain columns hold what people filter and export on; JSON text holds the nested
rest, so that ``Measurement.from_dict(m.to_dict())`` round trips through the store
exactly. The schema is versioned in ``meta`` and brought up to date on open by
:data:`MIGRATIONS`.

SQLite runs in WAL mode with a 30 s busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE``: a writer takes the write lock up front instead of
upgrading a read lock later, which is what makes two processes that write at once
wait for each other rather than fail with "database is locked".

PostgreSQL runs each transaction at READ COMMITTED, where two writers do not wait for
each other unless they touch the same row: a read that decides a write locks what it
read (``SELECT ... FOR UPDATE``: finishing or cancelling a job), and a check for a row
that is not there yet takes a transaction-scoped advisory lock on what it checks
(``_serialise``: the schema on open, a device's queue, a meta key). SQLite needs neither:
its write lock is already the whole database's.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Double,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    column,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from hwnas.errors import DataError, HwnasError, LeaseLostError, ParameterError, StoreError

if TYPE_CHECKING:
    import pandas as pd
from hwnas.records import (
    LATENCY_KEYS,
    VOLATILE_FINGERPRINT_FIELDS,
    Arch,
    Fingerprint,
    Measurement,
    stable_hash,
)

__all__ = [
    "CURRENT_SCHEMA",
    "MIGRATIONS",
    "RESULT_SETTINGS",
    "FingerprintUsage",
    "Job",
    "Lease",
    "NewJob",
    "Store",
    "StoredMeasurement",
    "is_sqlite_file",
    "measurement_identity",
    "result_settings",
    "settings_key",
    "worker_id",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
# Execution option that makes the SQLite "begin" hook emit BEGIN IMMEDIATE.
_WRITE = "hwnas_write"
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


# ---------------------------------------------------------------------------
# When two measurements measured the same thing
# ---------------------------------------------------------------------------

#: The settings that change what a measurement reports, each with the value that a
#: settings mapping without it stands for (the protocol's default; ``None``: unknown or
#: absent). A stored measurement of an architecture is reused for a new request, instead
#: of measuring again, only when the device, the fingerprint and these settings agree:
#: :func:`settings_key` hashes them, and the store keeps that key with each measurement.
#:
#: In, and why:
#:
#: - ``threads``, ``graph_opt``: another session, another latency. Both are in the
#:   fingerprint too; they are here as well so that the key says alone what was asked.
#: - ``target_ci``, ``max_seconds``, ``min_runs``, ``max_runs``, ``warmup``: the timing
#:   protocol decides how many runs are timed after how much warm-up, so how precise the
#:   median is and which phase of the machine it saw (a 0.5 s budget is not a 10 s one).
#:   The runner's warm-up ends early once it took a tenth of ``max_seconds`` (after two
#:   runs); before it did, a model slower than ``max_seconds / (10 * warmup)`` warmed
#:   up longer under the same key: the same settled runs, so the key stays.
#: - ``shapes``: the input sizes measured.
#: - ``op_profile``: a record has a per-operator profile only when it was asked for.
#: - ``energy``, ``energy_seconds``: which meter, if any, and for how long it read;
#:   ``energy_seconds`` counts only when energy is measured. ``energy_idle_seconds`` (how
#:   long the idle baseline was read) counts too, but only when energy is measured and it
#:   differs from its default of 1 s, so that the keys of measurements taken before it
#:   was a setting stay valid (see :func:`result_settings`).
#: - ``reference``: the content hash of the reference model timed between the runs
#:   (the ratios are to that model); a moved file is the same reference, an edited one not.
#: - ``exporter``: a space's architecture exported by another exporter is another graph.
#: - ``precision`` (and ``quantize_mode``): an ``int8`` job measures the quantized model;
#:   counted only when it is not ``fp32`` (see :func:`result_settings`), so the keys of
#:   measurements taken before it was a setting stay valid.
#:
#: Out, and why: ``seed`` (it draws the random input values, which do not change the
#: latency of the networks measured here, and the sample, which is the architecture
#: itself), ``repeat`` (the pass number of repeated measurements, which count together),
#: the runner's own constants (``warmup_seconds``, ``execution_mode``) and the
#: device's runtime and execution provider (they are the fingerprint's).
#:
#: Changing this set changes every key: append a migration that recomputes
#: ``measurements.settings_key``, as ``_migrate_2_to_3`` first computed it.
ENERGY_IDLE_DEFAULT = 1.0
RESULT_SETTINGS: dict[str, Any] = {
    "threads": 1,
    "graph_opt": "all",
    "target_ci": 0.01,
    "max_seconds": 10.0,
    "min_runs": 20,
    "max_runs": 100_000,
    "warmup": 10,
    "shapes": {},
    "op_profile": False,
    "energy": "none",
    "energy_seconds": 2.0,
    "reference": None,
    "exporter": None,
}


def result_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``settings`` that changes a measurement (:data:`RESULT_SETTINGS`), in
    one canonical form: every field present (a missing one at its default), numbers of
    their field's type, shapes as sorted lists, no ``energy_seconds`` without energy.

    Takes the settings a job was queued with (``ProfileSettings.to_dict()`` plus, for a
    space, ``"exporter"``) as well as those a measurement recorded (the runner names
    ``graph_optimization``; its ``reference`` is a report whose ``model_hash`` counts).
    A ``reference`` string is taken as it is: give the file's content hash, not its path
    (``hwnas.profiler.settings.result_key`` does).
    """
    given = dict(settings)
    if given.get("graph_opt") is None:
        given["graph_opt"] = given.get("graph_optimization")
    reference = given.get("reference")
    if isinstance(reference, Mapping):
        given["reference"] = reference.get("model_hash") or reference.get("model")
    out = {}
    for name, default in RESULT_SETTINGS.items():
        value = given.get(name)
        out[name] = default if value is None else _canonical(value, default)
    if out["energy"] == "none":
        out["energy_seconds"] = None
    idle = given.get("energy_idle_seconds")
    if out["energy"] != "none" and idle is not None and float(idle) != ENERGY_IDLE_DEFAULT:
        out["energy_idle_seconds"] = float(idle)
    # MLPerf's rule measures another statistic's worth of runs; the adaptive protocol
    # (every key before it existed) stays out, so no stored key changes.
    if given.get("protocol") not in (None, "adaptive"):
        out["protocol"] = str(given["protocol"])
    # An int8 job measures another model (quantized on the host); fp32 stays out likewise.
    if given.get("precision") not in (None, "fp32"):
        out["precision"] = str(given["precision"])
        out["quantize_mode"] = str(given.get("quantize_mode") or "static")
    return out


def _canonical(value: Any, default: Any) -> Any:
    """``value`` in the type of its field's ``default`` (as it is when it does not convert)."""
    try:
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, dict):
            return {str(k): [int(d) for d in v] for k, v in sorted(dict(value).items())}
    except (TypeError, ValueError):
        pass
    return value


def settings_key(settings: Mapping[str, Any]) -> str:
    """The hash of :func:`result_settings` of ``settings``: equal exactly when the
    settings would measure the same thing."""
    return stable_hash(result_settings(settings))


def _measured_key(recorded: Mapping[str, Any], job: Mapping[str, Any] | None) -> str:
    """The settings key of a measurement that recorded the settings ``recorded``, taken
    for the job with settings ``job`` (``None``: stored without a job).

    A job's settings are what was asked, so they decide (the record has the input shapes
    resolved, not those asked, and no exporter); the reference is the content hash the
    measurement recorded, where the job names a path.
    """
    values = dict(recorded if job is None else job)
    report = recorded.get("reference")
    if values.get("reference") is not None and isinstance(report, Mapping):
        values["reference"] = report
    return settings_key(values)


def measurement_identity(m: Measurement) -> str:
    """What makes two measurement records the same measurement, wherever they are stored:
    a hash of the model, device, fingerprint hash, timestamp, the settings as recorded,
    the latency statistics and the raw samples. Importing a measurement whose identity a
    store already holds adds nothing (``hwnas.import_measurements``).

    All recorded settings count, not their :func:`settings_key`, so that a later change of
    :data:`RESULT_SETTINGS` leaves every stored identity valid; the latency statistics
    count so that two measurements without raw samples taken in the same second differ.
    """
    return _identity(
        m.model_hash,
        m.device,
        m.fingerprint_hash,
        m.timestamp,
        m.settings,
        m.latency_ms.to_dict(),
        m.samples_ms,
    )


def _identity(
    model_hash: str,
    device: str,
    fingerprint_hash: str,
    timestamp: str,
    settings: Mapping[str, Any],
    latency: Mapping[str, Any],
    samples: Iterable[float],
) -> str:
    """:func:`measurement_identity` of these parts (also of a stored row, in a migration)."""
    return stable_hash(
        {
            "model_hash": model_hash,
            "device": device,
            "fingerprint": fingerprint_hash,
            "timestamp": timestamp,
            "settings": dict(settings),
            "latency_ms": {k: float(latency[k]) for k in LATENCY_KEYS},
            "samples_ms": [float(x) for x in samples],
        },
        length=32,
    )


# ---------------------------------------------------------------------------
# Schema and migrations
# ---------------------------------------------------------------------------


def _schema_v1(metadata: MetaData) -> dict[str, Table]:
    """The tables of schema version 1, defined on ``metadata``."""
    meta = Table(
        "meta",
        metadata,
        Column("key", Text, primary_key=True),
        Column("value", Text, nullable=False),
    )
    fingerprints = Table(
        "fingerprints",
        metadata,
        Column("hash", Text, primary_key=True),
        Column("json", Text, nullable=False),
        Column("created_at", Text, nullable=False),
    )
    measurements = Table(
        "measurements",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("model_hash", Text, nullable=False),
        Column("model_name", Text),
        Column("model_size_mb", Double),
        Column("arch_space", Text),
        Column("arch_string", Text),
        Column("arch_hash", Text),
        Column("device", Text, nullable=False),
        Column("fingerprint_hash", Text, ForeignKey("fingerprints.hash"), nullable=False),
        Column("n", Integer, nullable=False),
        Column("median", Double, nullable=False),
        Column("mean", Double, nullable=False),
        Column("std", Double, nullable=False),
        Column("p10", Double, nullable=False),
        Column("p90", Double, nullable=False),
        Column("p99", Double, nullable=False),
        Column("ci_low", Double, nullable=False),
        Column("ci_high", Double, nullable=False),
        Column("peak_memory_mb", Double),
        Column("energy_mj", Double),
        Column("energy_method", Text),
        Column("timestamp", Text, nullable=False),
        Column("record_json", Text, nullable=False),
        Index("ix_measurements_device_fingerprint", "device", "fingerprint_hash"),
        Index("ix_measurements_model_hash", "model_hash"),
        Index("ix_measurements_arch_space", "arch_space"),
    )
    samples = Table(
        "samples",
        metadata,
        Column(
            "measurement_id",
            Integer,
            ForeignKey("measurements.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("latency_ms", Text, nullable=False),
        Column("warmup_ms", Text, nullable=False),
    )
    return {t.name: t for t in (meta, fingerprints, measurements, samples)}


def _migrate_0_to_1(conn: Connection) -> None:
    """Create the version-1 schema in an empty database."""
    # A fresh MetaData: this migration stays frozen at v1 whatever the current
    # schema (below) becomes.
    metadata = MetaData()
    _schema_v1(metadata)
    metadata.create_all(conn)


def _jobs_table(metadata: MetaData) -> Table:
    """Version 2: the queue of profiling jobs, written before they run (for --resume)."""
    return Table(
        "jobs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("batch", Text, nullable=False),
        Column("device", Text, nullable=False),
        Column("label", Text, nullable=False),
        Column("model_path", Text),
        Column("arch_space", Text),
        Column("arch_string", Text),
        Column("settings_json", Text, nullable=False),
        Column("status", Text, nullable=False),  # pending | done | failed | cancelled
        Column("measurement_id", Integer, ForeignKey("measurements.id")),
        Column("error_json", Text),
        Column("created_at", Text, nullable=False),
        Column("updated_at", Text, nullable=False),
        Index("ix_jobs_device_status", "device", "status"),
    )


def _migrate_1_to_2(conn: Connection) -> None:
    """Add the jobs table."""
    metadata = MetaData()
    _schema_v1(metadata)  # for the foreign key's target; only the jobs table is created
    _jobs_table(metadata).create(conn)


def _migrate_2_to_3(conn: Connection) -> None:
    """Add ``measurements.settings_key`` (:func:`settings_key`), indexed with the space,
    device and fingerprint that "already measured" looks up, and fill it for the rows
    there: from the settings of the job that measured a row, else from those it recorded."""
    conn.exec_driver_sql("ALTER TABLE measurements ADD COLUMN settings_key TEXT")
    conn.exec_driver_sql(
        "CREATE INDEX ix_measurements_reuse ON measurements "
        "(arch_space, device, fingerprint_hash, settings_key)"
    )
    m = table("measurements", column("id"), column("record_json"), column("settings_key"))
    j = table("jobs", column("measurement_id"), column("settings_json"), column("status"))
    joined = m.outerjoin(j, and_(j.c.measurement_id == m.c.id, j.c.status == "done"))
    fill = update(m).where(m.c.id == bindparam("row_id")).values(settings_key=bindparam("key"))
    last = 0
    while True:  # in pages, so that a large store is never all in memory
        rows = conn.execute(
            select(m.c.id, m.c.record_json, j.c.settings_json)
            .select_from(joined)
            .where(m.c.id > last)
            .order_by(m.c.id)
            .limit(1000)
        ).all()
        if not rows:
            return
        conn.execute(fill, [{"row_id": r[0], "key": _migrated_key(r[1], r[2])} for r in rows])
        last = rows[-1][0]


def _migrated_key(record_json: str, job_json: str | None) -> str | None:
    """The settings key of a stored row; ``None`` (never reused) when it is unreadable."""
    try:
        recorded = json.loads(record_json).get("settings") or {}
        job = json.loads(job_json) if job_json else None
        return _measured_key(recorded, job)
    except (ValueError, TypeError, AttributeError):
        return None


def _leases_table(metadata: MetaData) -> Table:
    """Version 4: who holds each device (one worker at a time), until when.

    Times are seconds since the epoch on the database's clock (:func:`_clock`), so that
    workers on hosts whose clocks disagree still agree on when a lease expires."""
    return Table(
        "device_leases",
        metadata,
        Column("device", Text, primary_key=True),
        Column("worker", Text, nullable=False),  # host:pid:uuid (hwnas.store.worker_id)
        Column("acquired_at", Double, nullable=False),
        Column("heartbeat_at", Double, nullable=False),
        Column("expires_at", Double, nullable=False),
    )


#: The columns version 4 adds to ``jobs``: the worker that claimed a running job, when,
#: and how often the job was claimed (more than once: a worker died while running it).
_JOB_CLAIM_COLUMNS = (
    ("worker", Text, "TEXT"),
    ("claimed_at", Text, "TEXT"),
    ("claims", Integer, "INTEGER NOT NULL DEFAULT 0"),
)


def _migrate_3_to_4(conn: Connection) -> None:
    """Jobs are claimed (status ``running``, by a worker) and devices leased: add the
    claim columns to ``jobs`` and the ``device_leases`` table."""
    for name, _, sql_type in _JOB_CLAIM_COLUMNS:
        conn.exec_driver_sql(f"ALTER TABLE jobs ADD COLUMN {name} {sql_type}")
    _leases_table(MetaData()).create(conn)


def _migrate_4_to_5(conn: Connection) -> None:
    """Add ``measurements.identity`` (:func:`measurement_identity`, indexed: imports look
    it up) and fill it for the rows there, in pages; an unreadable row gets none."""
    conn.exec_driver_sql("ALTER TABLE measurements ADD COLUMN identity TEXT")
    conn.exec_driver_sql("CREATE INDEX ix_measurements_identity ON measurements (identity)")
    names = ("id", "model_hash", "device", "fingerprint_hash", "timestamp", "record_json")
    m = table("measurements", *(column(c) for c in (*names, *LATENCY_KEYS, "identity")))
    s = table("samples", column("measurement_id"), column("latency_ms"))
    joined = m.outerjoin(s, s.c.measurement_id == m.c.id)
    fill = update(m).where(m.c.id == bindparam("row_id")).values(identity=bindparam("key"))
    last = 0
    while True:  # in pages, so that a large store is never all in memory
        rows = (
            conn.execute(
                select(*(m.c[c] for c in (*names, *LATENCY_KEYS)), s.c.latency_ms)
                .select_from(joined)
                .where(m.c.id > last)
                .order_by(m.c.id)
                .limit(1000)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        conn.execute(fill, [{"row_id": r["id"], "key": _migrated_identity(r)} for r in rows])
        last = rows[-1]["id"]


def _migrated_identity(row: Any) -> str | None:
    """The identity of a stored row; ``None`` when its record or samples are unreadable."""
    try:
        settings = json.loads(row["record_json"]).get("settings") or {}
        samples = json.loads(row["latency_ms"] or "[]")
        latency = {k: row[k] for k in LATENCY_KEYS}
        parts = (row["model_hash"], row["device"], row["fingerprint_hash"], row["timestamp"])
        return _identity(*parts, settings, latency, samples)
    except (ValueError, TypeError, AttributeError):
        return None


#: ``MIGRATIONS[i]`` brings the schema from version ``i`` to ``i + 1``. Append only;
#: never edit one that has shipped. Each runs in its own write transaction.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _migrate_0_to_1,
    _migrate_1_to_2,
    _migrate_2_to_3,
    _migrate_3_to_4,
    _migrate_4_to_5,
]
CURRENT_SCHEMA = len(MIGRATIONS)

# The tables the queries use: the current schema (v1, the jobs table of v2, the
# settings key of v3, the claims and leases of v4, the identity of v5).
_TABLES = _schema_v1(MetaData())
_TABLES["jobs"] = _jobs_table(next(iter(_TABLES.values())).metadata)
_TABLES["measurements"].append_column(Column("settings_key", Text))
_TABLES["measurements"].append_column(Column("identity", Text))
for _name, _type, _ in _JOB_CLAIM_COLUMNS:
    _TABLES["jobs"].append_column(Column(_name, _type))
_TABLES["device_leases"] = _leases_table(_TABLES["jobs"].metadata)
META = _TABLES["meta"]
FINGERPRINTS = _TABLES["fingerprints"]
MEASUREMENTS = _TABLES["measurements"]
SAMPLES = _TABLES["samples"]
JOBS = _TABLES["jobs"]
LEASES = _TABLES["device_leases"]


# ---------------------------------------------------------------------------
# Dialect-specific parts
# ---------------------------------------------------------------------------


def _create_engine(url: URL) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and explicit BEGINs."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: it would emit a
        # plain deferred BEGIN only before DML, never IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, retrying while another connection holds the lock.

    The switch ignores the busy timeout: two processes creating the same store at
    once would otherwise fail at once with "database is locked".
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.1)


def _insert_ignore(conn: Connection, table: Table, values: dict[str, Any], key: str) -> None:
    """Insert ``values`` unless a row with the same ``key`` exists (race-free where possible)."""
    name = conn.dialect.name
    if name == "sqlite":
        conn.execute(
            sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=[key])
        )
    elif name == "postgresql":
        conn.execute(
            postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=[key])
        )
    else:
        if conn.execute(select(exists().where(table.c[key] == values[key]))).scalar():
            return
        conn.execute(insert(table).values(values))


# The advisory lock key of the schema check and migrations (kept as first released:
# processes of another hwnas version must take the same lock).
_MIGRATION_LOCK = 7268361


def _serialise(conn: Connection, what: str | int) -> None:
    """Hold, until the transaction ends, a lock that every transaction serialising on
    ``what`` (a name, or a lock key) waits for.

    SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock wherever
    a transaction reads that a row is absent and then inserts it (two READ COMMITTED
    transactions would both see it absent).
    """
    if conn.dialect.name != "postgresql":
        return
    if isinstance(what, str):
        digest = hashlib.sha256(f"hwnas:{what}".encode()).digest()
        what = int.from_bytes(digest[:8], "big", signed=True)
    conn.execute(select(func.pg_advisory_xact_lock(what)))


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------


def _fix_hint() -> str:
    return "pass --store PATH or set HWNAS_STORE to a writable location"


def _unwritable(where: str, reason: str) -> StoreError:
    return StoreError(f"cannot write the measurement store at {where} ({reason}); {_fix_hint()}")


def _not_a_store(where: str, reason: str) -> StoreError:
    return StoreError(
        f"{where} is not an hwnas measurement store ({reason}); pass another --store PATH or "
        f"set HWNAS_STORE, or move the file away"
    )


def _is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` is a SQLite database (an empty file counts: SQLite makes it one).

    Asked of SQLite itself, never with ``open()``: closing any descriptor of the file
    drops every POSIX lock this process holds on it, so another process could then
    checkpoint and delete the WAL under this process's open connections (their writes
    would no longer be seen by others). SQLite's own file handling avoids that.
    """
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.DatabaseError as exc:
        return "not a database" not in str(exc)
    finally:
        conn.close()


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an existing SQLite database file (asked of SQLite, safely while
    this process has it open as a store)."""
    found = Path(path)
    return found.is_file() and _is_sqlite_file(found)


def _full_disk(path: Path | None, reason: str) -> str | None:
    """Why a SQLite write failed when its file system is full (SQLite says "database or
    disk is full", or only "disk I/O error" when the journal cannot grow), else None."""
    if path is None or not any(s in reason for s in ("full", "disk i/o", "no space")):
        return None
    import shutil

    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if "full" not in reason and "no space" not in reason and free > 1024 * 1024:
        return None  # an I/O error with room on the disk is something else
    return f"its file system is full ({free // 1024} KiB free); free some space"


def _check_sqlite_path(path: Path, *, create: bool) -> None:
    """Refuse, before anything is measured, a SQLite file that cannot be used."""
    where = str(path)
    if path.exists():
        if path.is_dir():
            raise _unwritable(where, "it is a directory, not a file")
        if not os.access(path, os.R_OK):
            raise _unwritable(where, "the file is not readable")
        if not os.access(path, os.W_OK):
            raise _unwritable(where, "the file is read-only")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise _unwritable(
                where,
                f"its directory {path.parent} is not writable, and SQLite needs to create "
                f"{path.name}-wal there",
            )
        if not _is_sqlite_file(path):
            raise _not_a_store(where, "the file is not a SQLite database")
        return
    if not create:
        raise StoreError(
            f"there is no measurement store at {where}; check --store / HWNAS_STORE, or "
            f"measure something first with `hwnas profile`"
        )
    parent = path.parent
    ancestor = parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _unwritable(where, f"{ancestor} is a file, not a directory")
    if ancestor != parent:
        raise _unwritable(where, f"the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _unwritable(where, f"the directory {parent} is not writable")


def _resolve(location: str | os.PathLike[str]) -> tuple[URL, Path | None]:
    """The URL for ``location`` and, for a SQLite file, its path."""
    if isinstance(location, str) and "://" in location:
        try:
            url = make_url(location)
        except ArgumentError as exc:
            raise StoreError(
                f"{location!r} is not a valid store URL ({exc}); pass a file path or a "
                f"SQLAlchemy URL such as sqlite:///hwnas.db to --store / HWNAS_STORE"
            ) from None
        database = url.database
        if (
            url.get_backend_name() == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
            and url.query.get("uri") != "true"
        ):
            path = Path(database).expanduser().absolute()
            return url.set(database=str(path)), path
        return url, None
    path = Path(os.fspath(location)).expanduser().absolute()
    return URL.create("sqlite", database=str(path)), path


def _display(location: str | os.PathLike[str], url: URL) -> str:
    """``url`` for messages: as the user wrote it unless that would show a password."""
    # Rendering escapes characters (sqlite:///file%3A...), so prefer the given text.
    if isinstance(location, str) and url.password is None:
        return location
    return url.render_as_string(hide_password=True)


def _dumps(value: Any, *, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{what} cannot be stored: it is not JSON-serialisable ({exc}); keep settings, "
            f"inputs, memory and op_profile to plain numbers, strings, lists and dicts"
        ) from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_store(location: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open the measurement store at ``location``: a path (SQLite, created on first use
    unless ``create=False``) or a SQLAlchemy URL (``postgresql+psycopg://...``). ``None``
    means ``$HWNAS_STORE``, else ``./hwnas.db``. Use it as a context manager, or call
    ``close()``. Errors are :class:`~hwnas.errors.StoreError` with the fix."""
    from hwnas.config import store_location

    return Store(store_location(None if location is None else str(location)), create=create)


class Store:
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
        target = len(MIGRATIONS)
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
                MIGRATIONS[version](conn)
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

    # -- jobs --------------------------------------------------------------

    def add_jobs(self, batch: str, device: str, jobs: Iterable[NewJob]) -> list[Job]:
        """Queue ``jobs`` for ``device`` (status pending) in one transaction.

        A job equal to one still pending or running (same device, label, architecture and
        settings) is not queued twice: that one is returned instead.
        """
        now = _now()
        out: list[Job] = []
        with self._transaction(write=True) as conn:
            _serialise(conn, f"jobs:{device}")  # two queuers must not both find none pending
            for job in jobs:
                settings = json.dumps(dict(job.settings), sort_keys=True)
                existing = conn.execute(
                    select(JOBS.c.id).where(
                        JOBS.c.device == device,
                        JOBS.c.status.in_(("pending", "running")),
                        JOBS.c.label == job.label,
                        JOBS.c.settings_json == settings,
                    )
                ).scalar()
                if existing is None:
                    result = conn.execute(
                        insert(JOBS).values(
                            batch=batch,
                            device=device,
                            label=job.label,
                            model_path=job.model_path,
                            arch_space=job.arch.space if job.arch else None,
                            arch_string=job.arch.string if job.arch else None,
                            settings_json=settings,
                            status="pending",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    key = result.inserted_primary_key
                    assert key is not None
                    existing = int(key[0])
                out.append(
                    Job(
                        id=int(existing),
                        batch=batch,
                        device=device,
                        label=job.label,
                        model_path=job.model_path,
                        arch=job.arch,
                        settings=dict(job.settings),
                        status="pending",
                    )
                )
        return out

    def jobs(
        self,
        *,
        device: str | None = None,
        status: str | None = None,
        batch: str | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[Job]:
        """Queued jobs, oldest first, optionally of one device, status, batch and/or ids."""
        where = []
        if device is not None:
            where.append(JOBS.c.device == device)
        if status is not None:
            where.append(JOBS.c.status == status)
        if batch is not None:
            where.append(JOBS.c.batch == batch)
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=False) as conn:
            rows = conn.execute(select(JOBS).where(*where).order_by(JOBS.c.id)).mappings()
            return [_job_from_row(r) for r in rows]

    def job_counts(self) -> dict[str, dict[str, int]]:
        """Device -> status (``pending``, ``done``, ``failed``, ``cancelled``) -> job count."""
        stmt = select(JOBS.c.device, JOBS.c.status, func.count()).group_by(
            JOBS.c.device, JOBS.c.status
        )
        counts: dict[str, dict[str, int]] = {}
        with self._transaction(write=False) as conn:
            for device, status, n in conn.execute(stmt):
                counts.setdefault(device, {})[status] = int(n)
        return counts

    def cancel_jobs(
        self, *, device: str | None = None, ids: Iterable[int] | None = None
    ) -> list[int]:
        """Mark pending jobs cancelled (of ``device``, and/or with these ``ids``; neither:
        every pending job); return their ids. Measurements are never touched, and jobs
        done or failed stay as they are."""
        where = [JOBS.c.status == "pending"]
        if device is not None:
            where.append(JOBS.c.device == device)
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=True) as conn:
            # Locked as read: a job being finished meanwhile is waited for and left done.
            chosen = select(JOBS.c.id).where(*where).with_for_update()
            found = [int(i) for i in conn.execute(chosen).scalars()]
            if found:
                conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id.in_(found))
                    .values(status="cancelled", updated_at=_now())
                )
        return sorted(found)

    def set_job_settings(self, job_id: int, settings: Mapping[str, Any]) -> None:
        """Replace a pending job's settings (what it will be measured with, and so the
        key its measurement is stored under); a job no longer pending is left alone."""
        with self._transaction(write=True) as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status == "pending")
                .values(settings_json=json.dumps(dict(settings), sort_keys=True), updated_at=_now())
            )

    def finish_job(
        self, job_id: int, measurement: Measurement, *, worker: str | None = None
    ) -> int:
        """Store the job's measurement and mark it done, atomically; return the new id.

        The measurement is stored with the key of the job's settings (:func:`settings_key`),
        what "already measured" compares. A job already done is never stored twice: its
        measurement id is returned. With ``worker`` (the one that claimed the job:
        :meth:`claim_job`), the job must still be running under that worker and the worker
        must still hold the device's lease; otherwise nothing is stored and
        :class:`~hwnas.errors.LeaseLostError` says so (the job went back to the queue).
        """
        with self._transaction(write=True) as conn:
            if worker is not None:
                self._check_claim(conn, job_id, worker)
            # Locked as read: a second finisher waits, then finds the job done.
            row = conn.execute(
                select(JOBS.c.status, JOBS.c.measurement_id, JOBS.c.settings_json)
                .where(JOBS.c.id == job_id)
                .with_for_update()
            ).first()
            if row is None:
                raise StoreError(f"no job with id {job_id} in {self._where}")
            if row.status == "done" and row.measurement_id is not None:
                return int(row.measurement_id)
            settings = json.loads(row.settings_json)
            new_id = self._insert_measurement(conn, measurement, job_settings=settings)
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(status="done", measurement_id=new_id, error_json=None, updated_at=_now())
            )
        return new_id

    def fail_job(self, job_id: int, error: Mapping[str, Any], *, worker: str | None = None) -> None:
        """Mark a job failed (the model's fault); --resume does not retry it. With
        ``worker``, as for :meth:`finish_job`: ``LeaseLostError`` unless it still runs there."""
        with self._transaction(write=True) as conn:
            if worker is not None:
                self._check_claim(conn, job_id, worker)
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(status="failed", error_json=json.dumps(dict(error)), updated_at=_now())
            )

    # -- leases and claims --------------------------------------------------

    def acquire_device(self, device: str, worker: str, *, lease_seconds: float) -> Lease:
        """Lease ``device`` to ``worker`` for ``lease_seconds`` (or renew its lease) unless
        another worker's lease on it is still running; return the device's lease as it now
        is: ``lease.worker == worker`` when acquired, else the holder's.

        A lease that expired (its worker stopped renewing it: killed, stalled, cut off) is
        taken over, and so is one whose worker ran on this host and has exited
        (:func:`worker_gone`: a killed ``hwnas profile`` is resumed at once, not a lease
        later), and the jobs that worker was running go back to the queue, pending
        (``lease.reclaimed``): nothing is lost, and what the old worker still measures is
        refused by :meth:`finish_job`. ``ParameterError`` unless ``lease_seconds`` > 0.
        """
        seconds = _check_lease_seconds(lease_seconds)
        with self._transaction(write=True) as conn:
            _serialise(conn, f"lease:{device}")  # two workers must not both find no lease
            now = _clock(conn)
            row = (
                conn.execute(select(LEASES).where(LEASES.c.device == device).with_for_update())
                .mappings()
                .first()
            )
            if (
                row is not None
                and row["worker"] != worker
                and row["expires_at"] > now
                and not worker_gone(row["worker"])
            ):
                return _lease_from_row(row, now)
            # Whatever runs on the device under another worker has no live lease: requeue it.
            reclaimed = self._requeue(conn, device, JOBS.c.worker != worker)
            mine = row is not None and row["worker"] == worker
            values = {
                "device": device,
                "worker": worker,
                "acquired_at": row["acquired_at"] if mine else now,  # type: ignore[index]
                "heartbeat_at": now,
                "expires_at": now + seconds,
            }
            conn.execute(delete(LEASES).where(LEASES.c.device == device))
            conn.execute(insert(LEASES).values(values))
        return _lease_from_row(values, now, reclaimed)

    def renew_lease(self, device: str, worker: str, *, lease_seconds: float) -> bool:
        """The heartbeat: push ``worker``'s lease on ``device`` to ``lease_seconds`` from
        now; False when the lease is no longer this worker's (another took the device)."""
        seconds = _check_lease_seconds(lease_seconds)
        with self._transaction(write=True) as conn:
            now = _clock(conn)
            done = conn.execute(
                update(LEASES)
                .where(LEASES.c.device == device, LEASES.c.worker == worker)
                .values(heartbeat_at=now, expires_at=now + seconds)
            )
            return done.rowcount == 1

    def release_device(self, device: str, worker: str) -> list[int]:
        """End ``worker``'s lease on ``device`` (if it still holds it); the jobs it was
        running there go back to the queue. Returns their ids."""
        with self._transaction(write=True) as conn:
            conn.execute(
                select(LEASES.c.device)
                .where(LEASES.c.device == device, LEASES.c.worker == worker)
                .with_for_update()
            ).all()
            requeued = self._requeue(conn, device, JOBS.c.worker == worker)
            conn.execute(delete(LEASES).where(LEASES.c.device == device, LEASES.c.worker == worker))
        return requeued

    def leases(self) -> list[Lease]:
        """Every device's lease, expired ones too, by device (``Lease.now``: the clock)."""
        with self._transaction(write=False) as conn:
            now = _clock(conn)
            rows = conn.execute(select(LEASES).order_by(LEASES.c.device)).mappings().all()
        return [_lease_from_row(r, now) for r in rows]

    def claim_job(
        self, device: str, worker: str, *, ids: Iterable[int] | None = None
    ) -> Job | None:
        """The oldest pending job of ``device`` (of those with ``ids``, if given), marked
        running under ``worker`` in the same transaction: no other worker can claim it
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the write lock). A job already
        running under ``worker`` is returned as it is. None when nothing is left to claim.

        ``worker`` must hold the device's lease (:meth:`acquire_device`), else
        :class:`~hwnas.errors.LeaseLostError`.
        """
        where = [
            JOBS.c.device == device,
            or_(
                JOBS.c.status == "pending",
                and_(JOBS.c.status == "running", JOBS.c.worker == worker),
            ),
        ]
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=True) as conn:
            self._check_holder(conn, device, worker)
            chosen = select(JOBS).where(*where).order_by(JOBS.c.id).limit(1)
            row = conn.execute(chosen.with_for_update(skip_locked=True)).mappings().first()
            if row is None:
                return None
            if row["status"] == "running":
                return _job_from_row(row)
            values = {"status": "running", "worker": worker, "claimed_at": _now()}
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == row["id"])
                .values(**values, claims=func.coalesce(JOBS.c.claims, 0) + 1, updated_at=_now())
            )
        return _job_from_row({**row, **values, "claims": int(row["claims"] or 0) + 1})

    def _requeue(self, conn: Connection, device: str, whose: ColumnElement[bool]) -> list[int]:
        """Put the running jobs of ``device`` that match ``whose`` back to pending."""
        running = select(JOBS.c.id).where(JOBS.c.device == device, JOBS.c.status == "running")
        ids = sorted(int(i) for i in conn.execute(running.where(whose).with_for_update()).scalars())
        if ids:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids))
                .values(status="pending", worker=None, claimed_at=None, updated_at=_now())
            )
        return ids

    def _check_holder(self, conn: Connection, device: str, worker: str) -> None:
        """``LeaseLostError`` unless ``worker`` holds ``device``'s lease (locked till the end)."""
        holder = conn.execute(
            select(LEASES.c.worker).where(LEASES.c.device == device).with_for_update()
        ).scalar()
        if holder != worker:
            now = f"worker {holder} holds it now" if holder else "nobody holds it now"
            raise LeaseLostError(
                f"worker {worker} does not hold device {device!r} in {self._where} ({now}); "
                f"a worker claims and finishes jobs only under the device's lease "
                f"(acquire_device). If it held it, the lease ran out without a heartbeat "
                f"(the worker was stopped, or cut off from the database, for longer than the "
                f"lease): its job went back to the queue and runs again, and nothing was "
                f"stored. If the worker was only slow, give it a longer lease (--lease-seconds)"
            )

    def _check_claim(self, conn: Connection, job_id: int, worker: str) -> None:
        """``LeaseLostError`` unless job ``job_id`` runs under ``worker``, which holds its
        device (the lease is locked before the job: the order every claim takes)."""
        device = conn.execute(select(JOBS.c.device).where(JOBS.c.id == job_id)).scalar()
        if device is None:
            raise StoreError(f"no job with id {job_id} in {self._where}")
        self._check_holder(conn, device, worker)
        row = conn.execute(
            select(JOBS.c.status, JOBS.c.worker).where(JOBS.c.id == job_id).with_for_update()
        ).first()
        assert row is not None
        if row.status != "running" or row.worker != worker:
            raise LeaseLostError(
                f"job {job_id} on device {device!r} is no longer worker {worker}'s (it is "
                f"{row.status}{f' under worker {row.worker}' if row.worker else ''}): the worker "
                f"lost the device's lease meanwhile, and the job went back to the queue. "
                f"Nothing was stored; give workers a longer lease (--lease-seconds) if they stall"
            )

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


@dataclass(frozen=True)
class NewJob:
    """A job to queue: what to measure and with which settings."""

    label: str
    model_path: str | None
    arch: Arch | None
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    """A queued profiling job."""

    id: int
    batch: str
    device: str
    label: str
    model_path: str | None
    arch: Arch | None
    settings: dict[str, Any]
    status: str
    measurement_id: int | None = None
    error: dict[str, Any] | None = None
    #: When it was queued (ISO 8601, UTC), where read from the store; not compared.
    created_at: str | None = field(default=None, compare=False)
    #: The worker running it (status ``running``), when it claimed it, and how often the
    #: job was claimed in all (more than once: a worker died or was stopped while running it).
    worker: str | None = field(default=None, compare=False)
    claimed_at: str | None = field(default=None, compare=False)
    claims: int = field(default=0, compare=False)


def _job_from_row(r: Any) -> Job:
    arch = Arch(space=r["arch_space"], string=r["arch_string"]) if r["arch_space"] else None
    return Job(
        id=int(r["id"]),
        batch=r["batch"],
        device=r["device"],
        label=r["label"],
        model_path=r["model_path"],
        arch=arch,
        settings=json.loads(r["settings_json"]),
        status=r["status"],
        measurement_id=r["measurement_id"],
        error=json.loads(r["error_json"]) if r["error_json"] else None,
        created_at=r["created_at"],
        worker=r["worker"],
        claimed_at=r["claimed_at"],
        claims=int(r["claims"] or 0),
    )


@dataclass(frozen=True)
class Lease:
    """Who holds a device (``worker``) and until when, in seconds on the database's clock:
    ``now`` is that clock when the lease was read. ``reclaimed`` lists the jobs the
    acquisition returned to the queue (running under a worker whose lease had expired)."""

    device: str
    worker: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float
    now: float
    reclaimed: tuple[int, ...] = ()

    @property
    def held_s(self) -> float:
        """Seconds since the worker acquired the device."""
        return max(0.0, self.now - self.acquired_at)

    @property
    def heartbeat_age_s(self) -> float:
        """Seconds since the worker's last heartbeat."""
        return max(0.0, self.now - self.heartbeat_at)

    @property
    def expired(self) -> bool:
        """Whether the lease ran out (the worker is gone or stalled): the next worker to
        ask for the device takes it, and the jobs it was running go back to the queue."""
        return self.expires_at <= self.now


def _lease_from_row(r: Any, now: float, reclaimed: Iterable[int] = ()) -> Lease:
    return Lease(
        device=r["device"],
        worker=r["worker"],
        acquired_at=float(r["acquired_at"]),
        heartbeat_at=float(r["heartbeat_at"]),
        expires_at=float(r["expires_at"]),
        now=now,
        reclaimed=tuple(reclaimed),
    )


def worker_id() -> str:
    """A name for a new worker, unique across hosts and time: ``host:pid:uuid``, the host
    suffixed with this process's PID namespace (``host/ns``) where ``/proc`` shows it, so
    that :func:`worker_gone` never mistakes a worker in another container for a dead one."""
    import socket
    import uuid

    host = socket.gethostname()
    ns = _pid_namespace()
    if ns:
        host = f"{host}/{ns}"
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_namespace() -> str:
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return ""
    return link.partition("[")[2].rstrip("]")


def worker_gone(worker: str) -> bool:
    """True when ``worker`` (a :func:`worker_id`) ran on this host, in this PID namespace,
    and its process no longer exists; False whenever that cannot be told (another host,
    another container, no ``/proc``): such a worker's lease is left to expire."""
    import socket

    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    ns = _pid_namespace()
    if not ns or host != f"{socket.gethostname()}/{ns}" or not pid_text.isdigit():
        return False
    return not os.path.exists(f"/proc/{int(pid_text)}")


def _clock(conn: Connection) -> float:
    """Now, in seconds since the epoch, on the database's clock: PostgreSQL's (workers
    on several hosts agree on it whatever their own clocks say), or this host's for
    SQLite (whose file every worker reaches from this host)."""
    if conn.dialect.name == "postgresql":
        now = conn.execute(select(func.extract("epoch", func.clock_timestamp()))).scalar_one()
        return float(now)
    return time.time()


def _check_lease_seconds(lease_seconds: object) -> float:
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)):
        raise ParameterError("lease_seconds", f"must be a number of seconds, got {lease_seconds!r}")
    if not lease_seconds > 0:
        raise ParameterError("lease_seconds", f"must be > 0, got {lease_seconds!r}")
    return float(lease_seconds)


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
