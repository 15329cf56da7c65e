"""The Python API of the predictor-building workflows: ``hwnas.build_lut`` and
``hwnas.build_kernel_predictor``, on this CPU with tiny timing settings."""

from __future__ import annotations

import io
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import hwnas
from hwnas.errors import HwnasError, ParameterError, UnreachableError
from hwnas.events import Event
from hwnas.predictors.build import run_lut_build
from hwnas.predictors.kernels import KernelPredictor
from hwnas.predictors.lut import LookupTable
from hwnas.records import DeviceSpec
from hwnas.store import Store
from tests.test_kernels import small_cnn
from tests.test_lut import ToyLutSpace

#: Timing settings that keep a measurement to a fraction of a second.
TINY: dict[str, Any] = {"max_seconds": 0.2, "target_ci": 0.2, "warmup": 1, "min_runs": 5}
#: The toy space's 15 distinct blocks and the runner floor.
TOY_BLOCKS = 16


class Recorder:
    """A progress callback that keeps every event (the fleet calls it from its threads)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str, stage: str | None = None) -> list[Event]:
        return [e for e in self.events if e.kind == kind and stage in (None, e.stage)]


@pytest.fixture(scope="module")
def toy_lut(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """build_lut on the toy space, twice (the second call has nothing left to measure),
    with what each printed."""
    home = tmp_path_factory.mktemp("api_lut")
    store = home / "lut.db"
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWNAS_HOME", str(home))
        for _ in range(2):
            events = Recorder()
            with _captured() as printed:
                table = hwnas.build_lut(
                    ToyLutSpace(), store=store, calibrate=3, holdout=3, progress=events, **TINY
                )
            calls.append({"table": table, "events": events, "printed": printed})
    return {"store": store, "first": calls[0], "second": calls[1]}


class _captured:
    """What is written meanwhile to ``sys.stdout`` and ``sys.stderr`` and to the file
    descriptors 1 and 2 (by the library, its worker threads and anything they start):
    ``[stdout, stderr]`` once the block is left."""

    def __enter__(self) -> list[str]:
        self.printed: list[str] = []
        self.streams = (sys.stdout, sys.stderr)
        self.texts = (io.StringIO(), io.StringIO())
        sys.stdout, sys.stderr = self.texts
        self.saved = [os.dup(1), os.dup(2)]
        self.files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
        for fd, f in zip((1, 2), self.files, strict=True):
            os.dup2(f.fileno(), fd)
        return self.printed

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.streams
        for fd, saved, f, text in zip((1, 2), self.saved, self.files, self.texts, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
            f.seek(0)
            self.printed.append(text.getvalue() + f.read().decode(errors="replace"))
            f.close()


def test_the_capture_sees_python_and_file_descriptor_output() -> None:
    with _captured() as printed:
        print("python")
        os.write(2, b"descriptor")
    assert printed == ["python\n", "descriptor"]


def test_build_lut_returns_a_calibrated_table_that_is_stored(toy_lut: dict[str, Any]) -> None:
    table = toy_lut["first"]["table"]
    assert isinstance(table, LookupTable)
    assert table.device == "local" and len(table.blocks) == TOY_BLOCKS
    # fitted on the 3 calibration networks (affine, or offset only when the toy networks'
    # timing noise makes the fitted scale come out <= 0)
    assert table.calibration_.mode in ("affine", "offset")
    assert len(table.calibration_.archs) == 3
    space = ToyLutSpace()
    archs = [space.decode([a, b]) for a in range(3) for b in range(3)]
    predicted = table.predict_many(archs)
    assert predicted.shape == (9,)
    assert np.all(np.isfinite(predicted)) and np.all(predicted > 0), predicted
    with Store(toy_lut["store"]) as store:
        stored = LookupTable.from_store(store, space, "local")
        assert stored.fingerprint == table.fingerprint and stored.blocks == table.blocks
        assert store.count(space="toy") == 6  # the calibration and held-out networks
        assert all(j.status == "done" for j in store.jobs())


def test_a_second_build_lut_measures_nothing_and_gives_the_same_table(toy_lut) -> None:
    first, second = toy_lut["first"], toy_lut["second"]
    assert second["events"].of("start") == [] and second["events"].of("step", "export") == []
    assert second["events"].of("planned", "blocks") == []  # nothing queued: not even run
    (networks,) = second["events"].of("planned", "networks")
    assert (networks.total, networks.skipped) == (0, 6)
    assert second["table"].blocks == first["table"].blocks
    assert second["table"].calibration_ == first["table"].calibration_


def test_build_lut_reports_progress_through_the_callback(toy_lut: dict[str, Any]) -> None:
    events = toy_lut["first"]["events"]
    exports = events.of("step", "export")
    assert [e.done for e in exports] == list(range(1, TOY_BLOCKS + 1))
    assert all(e.total == TOY_BLOCKS for e in exports)
    (blocks,) = events.of("planned", "blocks")
    assert (blocks.device, blocks.total, blocks.skipped) == ("local", TOY_BLOCKS, 0)
    (networks,) = events.of("planned", "networks")
    assert networks.total == 6
    done = events.of("done")
    assert len(done) == TOY_BLOCKS + 6
    assert all(e.error is None and e.measurement is not None for e in done)
    assert {e.stage for e in done} == {"blocks", "networks"}


def test_build_lut_prints_nothing(toy_lut: dict[str, Any]) -> None:
    for call in ("first", "second"):
        assert toy_lut[call]["printed"] == ["", ""], call


def test_run_lut_build_reports_what_it_did(toy_lut: dict[str, Any]) -> None:
    result = run_lut_build(ToyLutSpace(), store=toy_lut["store"], calibrate=3, **TINY)
    doc = result.to_dict()
    assert not result.interrupted and result.errors == []
    assert doc["blocks"] == {
        "total": TOY_BLOCKS,
        "measured": 0,
        "skipped": TOY_BLOCKS,
        "exported": 0,
        "errors": [],
    }
    assert doc["networks"]["skipped"] == 3 and doc["networks"]["measured"] == 0
    assert doc["additivity"]["n"] == 3  # the earlier calls' held-out networks
    assert result.table is not None and math.isfinite(doc["floor_ms"])


def test_build_kernel_predictor_from_python(tmp_path: Path, capfd) -> None:
    events = Recorder()
    store = tmp_path / "k.db"
    predictor = hwnas.build_kernel_predictor(
        per_kind=4, kinds=["gemm"], max_seconds=0.1, store=store, progress=events
    )
    assert capfd.readouterr() == ("", "")
    assert isinstance(predictor, KernelPredictor) and predictor.device_ == "local"
    summary = predictor.summary()
    assert summary["overhead"]["kernel_ms"] > 0
    with Store(store) as s:
        assert s.count(space="kernels:gemm") == 4 and s.count(space="kernels:overhead") == 12
    (planned,) = events.of("planned", "kernels")
    assert planned.total == 4 + 12 and planned.skipped == 0
    assert len(events.of("done", "kernels")) == 16
    saved = predictor.save(tmp_path / "kp")
    onnx.save(small_cnn(), str(tmp_path / "cnn.onnx"))
    total, rows = KernelPredictor.load(saved).predict_onnx(tmp_path / "cnn.onnx")
    assert math.isfinite(total) and total > 0 and rows


@pytest.mark.parametrize(
    "call, param",
    [
        (lambda s: hwnas.build_lut("nb201", store=s, calibrate=-1), "calibrate"),
        (lambda s: hwnas.build_lut("nb201", store=s, statistic="p99"), "statistic"),
        (lambda s: hwnas.build_lut("nb201", store=s, fit="cubic"), "fit"),
        (lambda s: hwnas.build_lut("nb201", store=s, holdout=-2), "holdout"),
        (lambda s: hwnas.build_lut("nb201", store=s, exporter="jit"), "exporter"),
        (lambda s: hwnas.build_lut("nb201", store=s, threads=0), "threads"),
        (lambda s: hwnas.build_lut("nb201", store=s, target_ci=2.0), "target_ci"),
        (lambda s: hwnas.build_lut("nb201", store=s, calibrate=20_000), "calibrate"),
        (lambda s: hwnas.build_lut("nb201", store=s, bogus=1), "bogus"),
        (lambda s: hwnas.build_lut(42, store=s), "space"),
        (lambda s: hwnas.build_lut("nb201", device=3, store=s), "device"),
        (lambda s: hwnas.build_lut("nb201", store=3.5), "store"),
        (lambda s: hwnas.build_kernel_predictor(store=s, per_kind=0), "per_kind"),
        (lambda s: hwnas.build_kernel_predictor(store=s, kinds=["conv", "nope"]), "kinds"),
        (lambda s: hwnas.build_kernel_predictor(store=s, max_seconds=0), "max_seconds"),
        (lambda s: hwnas.build_kernel_predictor(store=s, force=True), "force"),
    ],
)
def test_bad_arguments_raise_parameter_errors_naming_the_parameter(
    tmp_path: Path, capsys, call: Any, param: str
) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(ParameterError) as info:
        call(store)
    assert info.value.param == param
    assert info.value.message.startswith(f"{param} ")
    assert "--" not in info.value.message  # the CLI speaks of options, the library not
    assert isinstance(info.value, ValueError)
    assert not store.exists()  # refused before anything was opened or measured
    assert capsys.readouterr() == ("", "")


def test_library_errors_are_hwnas_errors_not_exits(tmp_path: Path, capsys) -> None:
    with pytest.raises(HwnasError, match="unknown device 'nowhere'"):
        hwnas.build_lut("nb201", device="nowhere", store=tmp_path / "s.db")
    with pytest.raises(HwnasError, match="does not support lookup tables"):
        hwnas.build_lut("tests.toy_space:ToySpace", store=tmp_path / "s.db")
    gone = DeviceSpec(name="gone", transport="ssh", address="127.0.0.1", port=1, user="x")
    with pytest.raises(UnreachableError, match="cannot reach device 'gone'"):
        hwnas.build_lut("nb201", device=gone, store=tmp_path / "s.db", calibrate=0)
    assert capsys.readouterr() == ("", "")


class _Unexportable:
    """A torch module stand-in whose export fails (torch cannot trace it)."""

    def eval(self) -> _Unexportable:
        return self

    def __call__(self, x: Any) -> Any:
        raise RuntimeError("this block cannot be traced")


class BrokenHeadSpace(ToyLutSpace):
    """The toy space whose classifier heads fail to export."""

    def block_to_torch(self, block: Any) -> Any:
        return _Unexportable() if block.op == "head" else super().block_to_torch(block)


def test_failed_measurements_raise_a_profile_error_with_the_report(tmp_path: Path) -> None:
    from hwnas.errors import ProfileError
    from hwnas.predictors.build import LutBuild

    events = Recorder()
    with pytest.raises(ProfileError, match=r"3 measurement\(s\) failed on local") as info:
        hwnas.build_lut(
            BrokenHeadSpace(), store=tmp_path / "s.db", calibrate=0, progress=events, **TINY
        )
    report = info.value.result
    assert isinstance(report, LutBuild) and report.table is None
    failed = [e for e in events.of("done", "blocks") if e.error is not None]
    assert sorted(e.label or "" for e in failed) == sorted(
        b.key for b in BrokenHeadSpace().distinct_blocks() if b.op == "head"
    )
    doc = report.to_dict()
    assert doc["blocks"]["measured"] == TOY_BLOCKS - 3 and len(doc["blocks"]["errors"]) == 3
    assert doc["errors"][-1]["error"] == "lookup_table"  # the table lacks the 3 heads
