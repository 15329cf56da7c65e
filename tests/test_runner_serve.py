"""One runner process for a batch (``runner.py --serve``, :mod:`hwnas.profiler.serving`):
each model's figures stay its own (the peak memory is reset between models), a model
that kills the runner or outlives its timeout fails alone, and a device that cannot reset
the peak gets a fresh process per model."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from hwnas.devices.local import LocalTransport
from hwnas.devices.running import LocalCommand
from hwnas.errors import RunnerError
from hwnas.profiler import runner
from hwnas.profiler.batch import profile_batch
from hwnas.profiler.serving import RunnerSession, keeps_runner
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec
from tests import onnx_models

SETTINGS = ProfileSettings(max_seconds=0.2, target_ci=0.2, warmup=1, min_runs=5)
LOCAL = DeviceSpec(name="local")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return onnx_models.conv_model(tmp_path_factory.mktemp("serve") / "small.onnx", channels=4)


def test_a_small_model_after_a_big_one_reports_its_own_peak(small: Path, tmp_path: Path) -> None:
    big = onnx_models.conv_model(tmp_path / "big.onnx", channels=64, size=256)  # ~35 MB more
    transport = LocalTransport()
    with RunnerSession(transport) as served:
        result = profile_batch(transport, LOCAL, [big, small], SETTINGS, runner=served)
    with RunnerSession(transport, reuse=False) as fresh:
        alone = profile_batch(transport, LOCAL, [small], SETTINGS, runner=fresh)
    assert served.started == 1 and fresh.started == 1 and result.errors == []
    (_, after_big), (_, small_alone) = result.measurements[1], alone.measurements[0]
    big_mb, small_mb = result.measurements[0][1].peak_memory_mb, after_big.peak_memory_mb
    assert big_mb is not None and small_mb is not None and small_alone.peak_memory_mb is not None
    assert big_mb > small_mb + 25  # the big model's peak is not the small one's
    # The same figure a fresh process reads (onnxruntime's one-time set-up included).
    assert small_mb == pytest.approx(small_alone.peak_memory_mb, abs=1.5)
    assert after_big.memory["reused_process"]["reset"] == "clear_refs"
    assert "reused_process" not in small_alone.memory
    phases = {"imports", "setup", "session", "warmup", "timed", "runner"}
    assert phases <= set(served.calls[0].phases) and not served.calls[1].new_process


def test_a_model_whose_process_dies_fails_alone_and_the_runner_goes_on(small: Path) -> None:
    killer = ProfileSettings(**{**SETTINGS.to_dict(), "energy": "command:sh -c 'kill -9 $PPID'"})
    args = [str(small), *SETTINGS.runner_args()]
    with RunnerSession(LocalTransport()) as session:
        with pytest.raises(RunnerError, match=r"died with signal 9 \(SIGKILL\)"):
            session.run([str(small), *killer.runner_args()], timeout=60)
        assert session.run(args, timeout=60)["ok"]
    assert session.started == 1


def test_a_runner_that_dies_or_hangs_fails_that_model_and_the_next_gets_a_new_one(
    small: Path,
) -> None:
    args = [str(small), *SETTINGS.runner_args()]
    with RunnerSession(LocalTransport()) as session:
        assert session.run(args, timeout=60)["ok"]
        assert isinstance(session._command, LocalCommand)
        session._command._proc.kill()  # as the kernel's OOM killer would
        with pytest.raises(RunnerError, match="exited with code -9 without a result"):
            session.run(args, timeout=60)
        # At least 10 million runs: no precision reached (a coarse clock reads many equal
        # times, whose interval is 0 wide) ends it before the timeout.
        runs = ["--min-runs", "10000000", "--max-runs", "10000000"]
        slow = [str(small), "--max-seconds", "30", *runs]
        with pytest.raises(RunnerError, match="did not finish the model small.onnx within 1 s"):
            session.run(slow, timeout=1.0)
        assert session.run(args, timeout=60)["ok"]
    assert session.started == 3 and [c.new_process for c in session.calls] == [True, True]


class CannotReset(LocalTransport):
    """This machine, as if the kernel refused to reset the peak (no clear_refs)."""

    def start(self, argv: Sequence[str]) -> LocalCommand:
        python, script, *rest = argv
        code = (
            "import importlib.util as u, sys; spec = u.spec_from_file_location('r', sys.argv[1]); "
            "r = u.module_from_spec(spec); spec.loader.exec_module(r); "
            "r.malloc_trim = lambda: None; sys.exit(r.main(sys.argv[2:]))"
        )
        return super().start([python, "-c", code, script, *rest])


def test_without_a_peak_reset_each_model_gets_a_fresh_process(small: Path) -> None:
    transport = CannotReset()
    assert keeps_runner(transport)
    with RunnerSession(transport) as session:
        result = profile_batch(transport, LOCAL, [small, small], SETTINGS, runner=session)
    # The serving runner says it cannot; then each model runs in a process of its own.
    assert result.errors == [] and session.started == 3 and not session.reuse
    assert all("reused_process" not in m.memory for _, m in result.measurements)


def test_serve_answers_each_line_and_says_when_it_cannot_reset_the_peak(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "reused_process", lambda: None)
    request = json.dumps({"argv": [str(small), *SETTINGS.runner_args()]})
    out = io.StringIO()
    code = runner.main(["--serve"], stdout=out, stdin=io.StringIO(f"nope\n{request}\n{request}\n"))
    docs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [d["ok"] for d in docs] == [False, False] and code == 1  # it ends after the 2nd
    assert docs[0]["error"]["kind"] == "usage" and "not JSON" in docs[0]["error"]["message"]
    assert docs[1]["error"]["kind"] == "fresh_process"


def test_fake_transports_that_change_how_commands_run_get_one_process_per_model() -> None:
    class Recording(LocalTransport):
        def run(self, argv, *, timeout=None):  # type: ignore[no-untyped-def]
            return super().run(argv, timeout=timeout)

    assert keeps_runner(LocalTransport()) and not keeps_runner(Recording())
