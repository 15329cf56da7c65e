"""A device whose disk fills up while hwnas stages models on it.

The fake device keeps staged files in a real directory with a quota: an upload that
does not fit writes what fits, then fails as an SSH transport reports it (a
``DeviceError`` naming the file); the device's Python answers the free-space question
with what the quota leaves. Everything else (hashing, the runner) runs for real. The
drill in ``tests/test_drills.py`` does the same over a real sshd onto a small tmpfs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from hwnas.devices.transport import _PY_FREE, CompletedRun, RemoteFiles
from hwnas.errors import DeviceError, DeviceFullError
from hwnas.profiler import api
from hwnas.profiler.batch import profile_batch
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec
from hwnas.store import Store
from tests import onnx_models

SETTINGS = ProfileSettings(max_seconds=0.3, target_ci=0.05, warmup=2)
SPEC = DeviceSpec(name="small", transport="local")


class SmallDisk(RemoteFiles):
    """A device whose work directory holds at most ``capacity`` bytes."""

    def __init__(self, root: Path, capacity: int, *, refuse: str | None = None) -> None:
        super().__init__()
        self.python = sys.executable
        self.root, self.capacity, self.refuse = root, capacity, refuse
        self.free_queries = 0
        root.mkdir(parents=True, exist_ok=True)

    @property
    def workdir(self) -> str:
        return str(self.root)

    def used(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        args = tuple(str(a) for a in argv)
        if args[1:3] == ("-c", _PY_FREE):  # the free-space question: what the quota leaves
            self.free_queries += 1
            assert Path(args[3]).is_relative_to(self.root), args
            return CompletedRun(args, 0, f"{self.capacity - self.used()}\n", "")
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        return CompletedRun(args, done.returncode, done.stdout, done.stderr)

    def put(self, local: Path, remote: str) -> None:
        self._upload(local, remote)

    def get(self, remote: str, local: Path) -> None:
        shutil.copyfile(remote, local)

    def _remote_size(self, remote: str) -> int | None:
        return Path(remote).stat().st_size if Path(remote).is_file() else None

    def _make_dirs(self, remote_dir: str) -> None:
        Path(remote_dir).mkdir(parents=True, exist_ok=True)

    def _upload(self, local: Path, remote: str) -> None:
        if self.refuse is not None:
            raise DeviceError(f"device small: staging {local.name} failed: {self.refuse}.")
        data = local.read_bytes()
        room = self.capacity - self.used()
        Path(remote).write_bytes(data[: max(room, 0)])  # what fits, as a disk writes it
        if len(data) > room:
            raise DeviceError(
                f"device small: staging {local.name} as {remote} failed: size mismatch in "
                f"put!  {max(room, 0)} != {len(data)}. Check the path, free space and "
                f"permissions on the device."
            )

    def _rename(self, remote: str, target: str) -> None:
        Path(remote).replace(target)

    def _discard(self, remote: str) -> None:
        Path(remote).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two small models, one of about 430 kB, one small again."""
    folder = tmp_path_factory.mktemp("full-models")
    small = [onnx_models.conv_model(folder / f"m{i}.onnx", channels=4 + i) for i in range(3)]
    big = onnx_models.conv_model(folder / "big.onnx", channels=4000, size=4)
    return [small[0], small[1], big, small[2]]


def capacity_for(models: list[Path], room: int) -> int:
    """Room for the runner and the small models, ``room`` bytes to spare after them."""
    from hwnas.profiler.batch import RUNNER_PATH

    small = sum(p.stat().st_size for p in models if p.name != "big.onnx")
    return RUNNER_PATH.stat().st_size + small + room


def test_a_file_that_does_not_fit_says_the_disk_is_full_with_the_figures_and_the_fix(
    tmp_path: Path, models: list[Path]
) -> None:
    device = SmallDisk(tmp_path / "dev", 100_000)
    with pytest.raises(DeviceFullError) as caught:
        device.stage(models[2], content_hash="big", suffix=".onnx")
    message = caught.value.message
    assert f"100 kB free in {tmp_path / 'dev' / 'files'}" in message
    assert f"{models[2].stat().st_size / 1e3:.0f} kB needed for big.onnx" in message
    assert "size mismatch in put!" in message  # what the upload itself said
    assert f"rm -r {tmp_path / 'dev' / 'files'}" in message and "--workdir" in message
    assert "hwnas profile --resume" in message and caught.value.kind == "device_full"
    assert device.used() == 0  # the partial upload is gone
    # The same file fits once there is room; nothing of the failure is left behind.
    device.capacity = 10_000_000
    staged = device.stage(models[2], content_hash="big", suffix=".onnx")
    assert Path(staged).read_bytes() == models[2].read_bytes()


def test_an_upload_failing_for_another_reason_keeps_its_own_error(
    tmp_path: Path, models: list[Path]
) -> None:
    device = SmallDisk(tmp_path / "dev", 10_000_000, refuse="Permission denied")
    with pytest.raises(DeviceError) as caught:
        device.stage(models[0], content_hash="m0", suffix=".onnx")
    assert type(caught.value) is DeviceError and "Permission denied" in caught.value.message
    assert device.free_queries == 1  # asked, and there was room: not a full disk


def test_a_device_that_cannot_say_its_free_space_keeps_the_uploads_error(
    tmp_path: Path, models: list[Path]
) -> None:
    device = SmallDisk(tmp_path / "dev", 1000)
    device.python = str(tmp_path / "no-python")  # the free-space question cannot run
    original = device.run

    def run(argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        if argv[0] == device.python:
            raise DeviceError("cannot start the device's Python (test)")
        return original(argv, timeout=timeout)

    device.run = run  # type: ignore[method-assign]
    with pytest.raises(DeviceError) as caught:
        device.stage(models[2], content_hash="big", suffix=".onnx")
    assert type(caught.value) is DeviceError and "size mismatch" in caught.value.message


def test_a_full_device_stops_the_batch_keeping_what_was_measured_and_the_rest_left(
    tmp_path: Path, models: list[Path]
) -> None:
    device = SmallDisk(tmp_path / "dev", capacity_for(models, 20_000))
    stored = []
    result = profile_batch(
        device, SPEC, models, SETTINGS, sink=lambda m, _job: stored.append(m) or len(stored)
    )
    assert [m.model_name for _, m in result.measurements] == ["m0.onnx", "m1.onnx"]
    assert [i for i, _ in result.measurements] == [1, 2] and len(stored) == 2
    assert isinstance(result.stopped_by, DeviceFullError) and result.errors == []
    assert [j.label for j in result.left] == [str(models[2]), str(models[3])]
    assert result.connection_lost is None and not result.interrupted


def test_profile_then_resume_after_the_fix_measures_each_model_once(
    tmp_path: Path, models: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hwnas.devices import registry

    device = SmallDisk(tmp_path / "dev", capacity_for(models, 20_000))
    monkeypatch.setattr(registry, "connect", lambda spec: device)
    store = tmp_path / "s.db"
    result = api.profile(models, store=store, errors="collect", **SETTINGS.to_dict())
    assert [m.model_name for m in result] == ["m0.onnx", "m1.onnx"] and not result.ok
    assert isinstance(result.device_errors["local"], DeviceFullError)
    assert result.left == 2 and result.errors == []
    doc = result.to_dict()
    assert len(doc["measurements"]) == 2 and doc["device_errors"][0]["error"] == "device_full"
    # Nothing measured at all: the device's own error is what the call raises.
    with pytest.raises(DeviceFullError, match=r"\d+ kB free in .* needed for big.onnx"):
        api.profile(models[2:], store=tmp_path / "other.db", **SETTINGS.to_dict())
    device.capacity = 10_000_000  # the fix: room on the device
    resumed = api.resume(store=store)
    assert [m.model_name for m in resumed] == ["big.onnx", "m2.onnx"] and resumed.ok
    with Store(store) as s:
        names = sorted(x.measurement.model_name for x in s.measurements())
        assert names == sorted(p.name for p in models)
        assert [j.status for j in s.jobs()] == ["done"] * 4
