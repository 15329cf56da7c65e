from __future__ import annotations

from pathlib import Path

import pytest

from tests import onnx_models


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
