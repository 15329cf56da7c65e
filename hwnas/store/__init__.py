"""The measurement store: every measurement hwnas takes, raw samples included.

SQLAlchemy Core (not the ORM) over SQLite by default; any SQLAlchemy URL works, and
PostgreSQL (``postgresql+psycopg://...``) is tested as SQLite is. Only
:mod:`hwnas.store.engine` (``_create_engine`` and the small ``_insert_ignore`` /
``_serialise`` helpers) knows about dialects; every query is plain Core.

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

The package: :mod:`~hwnas.store.core` (:class:`Store`, :func:`open_store`; reading and
writing measurements), :mod:`~hwnas.store.queue` (the job queue and device leases, a
part of :class:`Store`), :mod:`~hwnas.store.jobs` (the records the queue returns),
:mod:`~hwnas.store.schema` (tables and :data:`MIGRATIONS`), :mod:`~hwnas.store.identity`
(which settings make two measurements comparable) and :mod:`~hwnas.store.engine`
(locations, dialects, errors). Import from ``hwnas.store``.
"""

from __future__ import annotations

from hwnas.store.core import FingerprintUsage, Store, StoredMeasurement, open_store
from hwnas.store.engine import is_sqlite_file
from hwnas.store.identity import (
    ENERGY_IDLE_DEFAULT,
    RESULT_SETTINGS,
    measurement_identity,
    result_settings,
    settings_key,
)
from hwnas.store.jobs import Job, Lease, NewJob, worker_gone, worker_id
from hwnas.store.schema import CURRENT_SCHEMA, MIGRATIONS

__all__ = [
    "CURRENT_SCHEMA",
    "ENERGY_IDLE_DEFAULT",
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
    "open_store",
    "result_settings",
    "settings_key",
    "worker_gone",
    "worker_id",
]
