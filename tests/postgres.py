"""A throwaway PostgreSQL cluster for tests (the recipe of FACTS.md, "Real servers").

``PostgresServer.start()`` runs Debian's ``initdb`` and ``pg_ctl`` on a fresh directory
under /tmp, listening on a unix socket in that directory only (no TCP port), until
:meth:`PostgresServer.stop`. Each test gets its own database (:meth:`database`), created
from ``template1`` and dropped afterwards, so tests never see each other's rows.

As root (tests run as root in CI), the server programs run as the ``postgres`` user that
Debian's package creates: ``initdb`` and ``pg_ctl`` refuse root. If the pytest process
dies without stopping the server (SIGKILL), a small watchdog process stops it and
removes the directory.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SETUP_HINT = "run `bash .ci/setup` (it installs Debian's postgresql and psycopg) and try again"
PORT = 5432  # names the socket file only: the server listens on no TCP port
# Durability is not what these tests are about; without fsync a database is created
# in about 50 ms instead of 150 ms.
SERVER_OPTIONS = (
    "-c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)

# Stops the cluster when the test session's process is gone however it ended.
_WATCHDOG = """
while kill -0 "$1" 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$2/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
rm -rf "$3"
"""


def _version(bindir: str) -> tuple[int, ...]:
    """(15,) for /usr/lib/postgresql/15/bin; () where the path names no version."""
    match = re.search(r"/(\d+)(?:\.(\d+))?/bin$", bindir)
    return tuple(int(n) for n in match.groups() if n) if match else ()


class PostgresUnavailable(RuntimeError):
    """PostgreSQL or its Python driver is missing here; the message says how to install it."""


def find_bindir(patterns: tuple[str, ...] = ("/usr/lib/postgresql/*/bin",)) -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: the newest Debian install, else ``PATH``."""

    found = [d for pattern in patterns for d in glob.glob(pattern) if Path(d, "initdb").exists()]
    if found:
        return Path(max(found, key=_version))
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PostgresUnavailable(
        f"PostgreSQL's server programs (initdb, pg_ctl) are not installed: none in "
        f"{', '.join(patterns)} nor on PATH; {SETUP_HINT}"
    )


def _check_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise PostgresUnavailable(
            f"the PostgreSQL driver psycopg is not installed ({exc}); {SETUP_HINT}"
        ) from None


def _server_user() -> str | None:
    """The user that runs the server: ``postgres`` as root, else the current user (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            f"as root, the test cluster runs as the user postgres, which does not exist; "
            f"{SETUP_HINT}"
        ) from None
    return "postgres"


class PostgresServer:
    """A running throwaway cluster; :meth:`database` hands out fresh databases."""

    def __init__(self, directory: Path, bindir: Path, user: str | None) -> None:
        self.directory = directory
        self.bindir = bindir
        self.user = user
        self.admin_url = f"postgresql+psycopg://postgres@/postgres?host={directory}&port={PORT}"
        self._admin: Any = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb and start a cluster in a new directory under /tmp (short: socket paths
        are limited to about 100 characters); raise ``PostgresUnavailable`` if it cannot."""
        _check_driver()
        bindir = find_bindir()
        user = _server_user()
        directory = Path(tempfile.mkdtemp(prefix="hwnas-pg-", dir="/tmp"))
        if user is not None:
            owner = pwd.getpwnam(user)
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        server = cls(directory, bindir, user)
        atexit.register(server.stop)
        server._watch()
        try:
            server._initdb()
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    def _start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-o",
            f"-k {self.directory} -p {PORT} {SERVER_OPTIONS}",
            "start",
        )

    @contextmanager
    def halted(self) -> Iterator[None]:
        """The server down for the block (a fast shutdown: every client is cut off, as
        when a database host restarts), then up again on the same data and socket."""
        if self._admin is not None:  # its pooled connection dies with the server
            self._admin.dispose()
            self._admin = None
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        try:
            yield
        finally:
            self._start()

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def _initdb(self) -> None:
        # C.UTF-8: the same sort order whatever the machine's locale (not what is tested).
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{program} failed (exit {done.returncode}): {done.stderr.strip()}\n{log}"
            )

    def _watch(self) -> None:
        self._watchdog = subprocess.Popen(
            [
                "sh",
                "-c",
                _WATCHDOG,
                "watchdog",
                str(os.getpid()),
                str(self.data),
                str(self.directory),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a signal sent to the test's process group
        )

    def _engine(self) -> Any:
        if self._admin is None:
            from sqlalchemy import create_engine

            self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        return self._admin

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.directory}&port={PORT}"

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for the duration of the block; its SQLAlchemy URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self._engine().connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        try:
            yield self.url(name)
        finally:
            with self._engine().connect() as conn:
                # FORCE: a connection a test left open must not keep the database.
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and remove its directory (harmless when already stopped)."""
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except PostgresUnavailable as exc:
                print(f"stopping the test PostgreSQL: {exc}", file=sys.stderr)
        shutil.rmtree(self.directory, ignore_errors=True)
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.kill()
            self._watchdog.wait()
        self._watchdog = None
