"""What only a store on a database server has: a server that is not there, a password in
the URL, the driver that only PostgreSQL stores import, and the test cluster's own
failure when PostgreSQL is missing (it names .ci/setup; it is never skipped).

The store's behaviour itself is tested on both backends in tests/test_store.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hwnas.errors import StoreError
from hwnas.store import Store
from tests.postgres import PostgresServer, PostgresUnavailable, find_bindir


def test_a_server_that_is_not_there_says_so(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bob:s3cret@/hwnas?host={tmp_path}&port=5432"
    with pytest.raises(StoreError) as caught:
        Store(url)
    message = caught.value.message
    assert "cannot reach the database server of the measurement store" in message
    assert str(tmp_path / ".s.PGSQL.5432") in message
    assert "--store / HWNAS_STORE" in message
    assert "s3cret" not in message and "bob:***@" in message


def test_a_database_that_does_not_exist_says_so(postgres: PostgresServer) -> None:
    with pytest.raises(StoreError, match=r'cannot reach .*database "nowhere" does not exist'):
        Store(postgres.url("nowhere"))


def test_the_url_hides_the_password(postgres: PostgresServer) -> None:
    with postgres.database() as url:
        # trust authentication ignores the password; the store must not show it.
        with_password = url.replace("postgres@", "postgres:s3cret@")
        with Store(with_password) as s:
            assert "s3cret" not in s.url and "s3cret" not in repr(s)
            assert s.count() == 0
            # Reopening (the fleet's device threads, a worker's heartbeat) keeps it.
            assert "postgres:s3cret@" in s.location


def test_the_fleet_reopens_the_store_with_its_password(
    postgres: PostgresServer, conv_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device threads open the store again: from the URL with the password (a server
    that checks passwords would refuse the hidden one), while results show it hidden."""
    from hwnas.profiler import api

    opened: list[str] = []
    real = api.run_fleet

    def spy(plans, *, store_location, **kwargs):
        opened.append(store_location)
        return real(plans, store_location=store_location, **kwargs)

    monkeypatch.setattr(api, "run_fleet", spy)
    with postgres.database() as url:
        with_password = url.replace("postgres@", "postgres:s3cret@")
        result = api.profile(
            [conv_onnx], store=with_password, max_seconds=0.2, warmup=1, min_runs=3
        )
    assert len(result) == 1 and opened and all("postgres:s3cret@" in o for o in opened)
    assert "s3cret" not in result.store


def test_importing_the_store_does_not_import_the_driver() -> None:
    code = "import sys, hwnas, hwnas.store; print('psycopg' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_machine_without_postgresql_is_told_to_run_the_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PostgresUnavailable) as caught:
        find_bindir((str(tmp_path / "postgresql/*/bin"),))
    assert "initdb, pg_ctl" in str(caught.value) and "bash .ci/setup" in str(caught.value)
    for version in ("9.6", "15", "16"):
        bindir = tmp_path / "postgresql" / version / "bin"
        bindir.mkdir(parents=True)
        (bindir / "initdb").touch()
    assert find_bindir((str(tmp_path / "postgresql/*/bin"),)).parent.name == "16"
