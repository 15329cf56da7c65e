"""Where a store lives and how it is opened: the dialect-specific parts (SQLite's WAL,
busy timeout and BEGIN IMMEDIATE; PostgreSQL's advisory locks), store locations and
the errors that say what to do."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from hwnas.errors import DataError, StoreError

if TYPE_CHECKING:
    pass


SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
# Execution option that makes the SQLite "begin" hook emit BEGIN IMMEDIATE.
_WRITE = "hwnas_write"


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
