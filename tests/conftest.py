from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import onnx_models

if TYPE_CHECKING:
    from tests.postgres import PostgresServer


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the user's ~/.config/hwnas or ./hwnas.db."""
    home = tmp_path_factory.mktemp("hwnas_home")
    monkeypatch.setenv("HWNAS_HOME", str(home))
    monkeypatch.setenv("HWNAS_STORE", str(home / "test.db"))
    return home


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def conv_onnx(models_dir: Path) -> Path:
    return onnx_models.conv_model(models_dir / "conv.onnx")


@pytest.fixture(scope="session")
def dynamic_onnx(models_dir: Path) -> Path:
    return onnx_models.dynamic_model(models_dir / "dynamic.onnx")


@pytest.fixture(scope="session")
def unrunnable_onnx(models_dir: Path) -> Path:
    return onnx_models.unrunnable_model(models_dir / "unrunnable.onnx")


@pytest.fixture(scope="session")
def garbage_onnx(models_dir: Path) -> Path:
    return onnx_models.garbage_file(models_dir / "garbage.onnx")


@pytest.fixture(scope="session")
def truncated_onnx(models_dir: Path, conv_onnx: Path) -> Path:
    return onnx_models.truncated_copy(conv_onnx, models_dir / "truncated.onnx")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """One real OpenSSH server on 127.0.0.1 for the whole session (see tests/sshd.py)."""
    from tests.sshd import SSHServer

    server = SSHServer.start(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster on a unix socket for the whole session (see
    tests/postgres.py); a machine without PostgreSQL fails here, naming .ci/setup."""
    from tests.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:  # a failure, never a skip: CI must run these tests
        pytest.fail(missing, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A maker of fresh, empty store locations on the test's backend: SQLite files in
    ``tmp_path``, or new databases on the session's PostgreSQL (dropped after the test)."""
    numbers = itertools.count(1)
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    with ExitStack() as stack:

        def new() -> str:
            if server is None:
                return str(tmp_path / f"store-{next(numbers)}.db")
            return stack.enter_context(server.database())

        yield new


@pytest.fixture
def store_url(new_store_url: Callable[[], str]) -> str:
    """A fresh, empty store location, once on SQLite and once on PostgreSQL."""
    return new_store_url()
