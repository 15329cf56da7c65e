"""`hwnas.profile`, `hwnas.profile_space` and `resume` called from Python on this CPU."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import (
    ModelNotFoundError,
    ParameterError,
    ProfileError,
    UnknownDeviceError,
)
from hwnas.events import Event
from hwnas.profiler import api
from hwnas.profiler.fleet import plan_missing
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import Arch, Measurement
from hwnas.store import Store
from tests.toy_space import ToySpace

FAST = {"max_seconds": 0.3, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


class Recorder:
    """A thread-safe progress callback that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events if e.kind not in ("warning", "note")]


def test_profile_measures_stores_and_reports_progress_without_printing(
    capsys, conv_onnx: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    progress = Recorder()
    result = hwnas.profile([conv_onnx], store=store, progress=progress, **FAST)
    assert hwnas.profile is api.profile
    assert isinstance(result, list) and isinstance(result, api.ProfileResult)
    (m,) = result
    assert isinstance(m, Measurement) and m.device == "local" and m.model_name == "conv.onnx"
    assert result.ok and result.errors == [] and not result.interrupted and result.left == 0
    assert str(store) in result.store
    with Store(store) as s:
        assert [x.id for x in s.measurements()] == result.ids
    assert progress.kinds() == ["planned", "start", "done"]
    planned, start, done = [e for e in progress.events if e.kind in ("planned", "start", "done")]
    assert planned.device == "local" and planned.total == 1 and planned.skipped == 0
    assert start.stage == "measure" and start.label == str(conv_onnx)
    assert done.measurement == m and done.error is None
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_single_path_and_an_open_store_are_accepted(conv_onnx: Path, tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        first = api.profile(str(conv_onnx), store=store, **FAST)
        second = api.profile(conv_onnx, store=store, **FAST)
        assert store.count() == 2  # the caller's store is still open and holds both
    assert len(first) == len(second) == 1


def test_dynamic_shapes_are_given_as_a_dict(dynamic_onnx: Path, tmp_path: Path) -> None:
    (m,) = api.profile([dynamic_onnx], store=tmp_path / "s.db", shapes={"x": (1, 3, 8, 8)}, **FAST)
    assert m.inputs["x"]["shape"] == [1, 3, 8, 8]


def test_a_missing_model_raises_before_anything_is_queued(capsys, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(ModelNotFoundError, match="nope.onnx"):
        api.profile([tmp_path / "nope.onnx"], store=store, **FAST)
    assert not store.exists()  # failed on the host, before the store was even opened
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_collect_returns_the_failures_with_the_measurements(
    capsys, conv_onnx: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.onnx"
    result = api.profile([conv_onnx, missing], store=tmp_path / "s.db", errors="collect", **FAST)
    assert len(result) == 1 and not result.ok
    (error,) = result.errors
    assert error["device"] == "local" and error["model"] == str(missing)
    assert error["error"] == "model_not_found" and "gone.onnx" in error["message"]
    assert result.to_dict()["errors"] == [error]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_failed_job_raises_profile_error_and_keeps_what_was_measured(
    conv_onnx: Path, unrunnable_onnx: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(ProfileError) as info:
        api.profile([unrunnable_onnx, conv_onnx], store=store, **FAST)
    assert str(unrunnable_onnx) in info.value.message and "errors='collect'" in info.value.message
    result = info.value.result
    assert isinstance(result, api.ProfileResult) and len(result) == 1
    assert [e["error"] for e in result.errors] == ["model_load"]
    with Store(store) as s:
        assert s.count() == 1 and s.jobs(status="pending") == []


@pytest.mark.parametrize(
    ("settings", "param", "text"),
    [
        ({"threads": 0}, "threads", "threads must be >= 1, got 0"),
        ({"target_ci": 1.5}, "target_ci", "target_ci must be a fraction in (0, 1)"),
        ({"thread": 2}, "thread", "valid settings: threads, target_ci"),
        ({"threads": "2"}, "threads", "threads must be int, got str '2'"),
        ({"graph_opt": "max"}, "graph_opt", "graph_opt must be one of all"),
        (
            {"shapes": {"x": (1, 0)}},
            "shapes",
            "shapes must give each input a non-empty sequence of ints >= 1; 'x' has (1, 0)",
        ),
        ({"errors": "ignore"}, "errors", "errors must be 'raise' or 'collect'"),
        ({"device": ["local", "local"]}, "device", "names a device twice"),
        ({"device": []}, "device", "device is empty"),
    ],
)
def test_bad_arguments_name_the_python_parameter(
    conv_onnx: Path, tmp_path: Path, settings: dict, param: str, text: str
) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(ParameterError) as info:
        api.profile([conv_onnx], store=store, **settings)
    assert info.value.param == param and text in info.value.message
    assert isinstance(info.value, ValueError) and "--" not in info.value.message
    assert not store.exists()  # refused before the store was opened


def test_the_cli_says_flag_for_the_same_mistake(capsys, conv_onnx: Path) -> None:
    code = main(["profile", str(conv_onnx), "--threads", "0"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "--threads must be >= 1, got 0" in err
    code = main(["profile", str(conv_onnx), "--max-runs", "3", "--min-runs", "5"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "--max-runs must be >= the minimum number of runs (5), got 3" in err


def test_an_unknown_device_raises_and_queues_nothing(conv_onnx: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    with pytest.raises(UnknownDeviceError, match="unknown device 'pi'"):
        api.profile([conv_onnx], device=["local", "pi"], store=store, **FAST)
    with Store(store) as s:
        assert s.jobs() == []  # no job of "local" was queued either


def test_profile_space_skips_what_is_measured_and_repeats_pass_by_pass(
    capsys, tmp_path: Path
) -> None:
    store = tmp_path / "s.db"
    space = ToySpace()
    common = {"sample": 2, "seed": 3, "store": store, "exporter": "torchscript", **FAST}
    first = hwnas.profile_space(space, **common)
    archs = space.sample_distinct(3, 2)
    assert sorted(m.arch.string for m in first if m.arch) == sorted(archs)
    assert all(m.arch is not None and m.arch.space == "toy" for m in first)
    progress = Recorder()
    again = api.profile_space("tests.toy_space:ToySpace", progress=progress, **common)
    assert len(again) == 0 and sorted(again.skipped) == sorted(archs)
    planned = next(e for e in progress.events if e.kind == "planned")
    assert planned.total == 0 and planned.skipped == 2
    twice = api.profile_space(space, repeats=2, **common)
    assert sorted(m.arch.string for m in twice if m.arch) == sorted(archs)
    with Store(store) as s:
        assert s.count(space="toy") == 4
    with pytest.raises(ParameterError, match="sample must be an int >= 1, got 0"):
        api.profile_space(space, **{**common, "sample": 0})
    with pytest.raises(ParameterError, match="repeats must be an int >= 1, got 0"):
        api.profile_space(space, repeats=0, **common)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_profile_space_measures_the_architectures_given(tmp_path: Path) -> None:
    space = ToySpace()
    wanted = space.sample_distinct(7, 2)
    common = {"store": tmp_path / "a.db", "exporter": "torchscript", **FAST}
    done = api.profile_space(space, archs=[wanted[0], wanted[1], wanted[0]], **common)
    assert [m.arch.string for m in done if m.arch] == wanted  # duplicates dropped, in order
    with pytest.raises(ParameterError, match="sample or archs must be given, not both"):
        api.profile_space(space, sample=2, archs=wanted, **common)
    with pytest.raises(ParameterError, match="sample or archs must be given"):
        api.profile_space(space, **common)
    with pytest.raises(ParameterError, match="archs must be a non-empty list"):
        api.profile_space(space, archs=wanted[0], **common)


def test_plan_missing_queues_only_what_the_fingerprint_lacks(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    space = ToySpace()
    measured = api.profile_space(space, sample=1, store=store, exporter="torchscript", **FAST)
    (m,) = measured
    assert m.arch is not None
    new = Arch(
        space="toy", string=next(a for a in space.sample_distinct(5, 3) if a != m.arch.string)
    )
    # The settings it was measured with (the seed does not count).
    same = {**ProfileSettings.from_options(**FAST, seed=5).to_dict(), "exporter": "torchscript"}
    progress = Recorder()
    with Store(store) as s:
        once = plan_missing(
            s,
            device="local",
            fingerprint=m.fingerprint.hash,
            archs=[m.arch, new],
            settings=same,
            batch="b1",
        )
        assert [j.arch for j in once.jobs] == [new] and once.skipped == [m.arch]
        twice = plan_missing(
            s,
            device="local",
            fingerprint=m.fingerprint.hash,
            archs=[m.arch, new],
            settings=same,
            batch="b2",
            repeats=2,
            label=lambda a: f"toy {a.string}",
            model_path=lambda a: f"/models/{a.string}.onnx",
            progress=progress,
        )
        other = plan_missing(
            s, device="local", fingerprint="f" * 16, archs=[m.arch], settings={}, batch="b3"
        )
        again = plan_missing(
            s,
            device="local",
            fingerprint=m.fingerprint.hash,
            archs=[new],
            settings=same,
            batch="b4",
        )
        with pytest.raises(ParameterError, match="repeats must be >= 1"):
            plan_missing(
                s, device="local", fingerprint="x", archs=[], settings={}, batch="b", repeats=0
            )
    assert [j.id for j in again.jobs] == [j.id for j in once.jobs]  # pending: not queued twice
    # Pass 1: the new architecture; pass 2: both, marked with their pass.
    assert [(j.label, j.settings.get("repeat")) for j in twice.jobs] == [
        (f"toy {new.string}", None),
        (f"toy {m.arch.string}", 2),
        (f"toy {new.string}", 2),
    ]
    assert twice.jobs[0].model_path == f"/models/{new.string}.onnx" and twice.skipped == []
    assert [(e.kind, e.stage, e.done, e.total) for e in progress.events] == [
        ("step", "export", 1, 2),
        ("step", "export", 2, 2),
    ]
    assert [j.arch for j in other.jobs] == [m.arch]  # another fingerprint has nothing yet


def test_resume_with_nothing_queued_says_so(tmp_path: Path) -> None:
    progress = Recorder()
    result = api.resume(store=tmp_path / "s.db", progress=progress)
    assert list(result) == [] and result.devices == []
    assert result.notes == ["nothing to resume: no queued jobs"]
    assert [(e.kind, e.message) for e in progress.events] == [("note", result.notes[0])]
