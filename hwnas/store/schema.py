"""The store's tables and the migrations that bring an older store up to date
(:data:`MIGRATIONS`: append only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    column,
    select,
    table,
    update,
)

if TYPE_CHECKING:
    pass
from hwnas.records import (
    LATENCY_KEYS,
)
from hwnas.store.identity import _identity, _measured_key


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
