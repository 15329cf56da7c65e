"""The on-device runner, profiler/runner.py.

Timing statistics are checked against a fake clock; error handling, inputs and
the JSON contract against real (tiny) ONNX models, both in-process through
runner.main() and as a standalone script in a subprocess.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwnas.profiler import runner

RUNNER_PATH = Path(runner.__file__).resolve()
USER_ERROR_EXIT = 2

# --------------------------------------------------------------------------- models


def _save(
    path: Path,
    nodes: list[Any],
    inputs: list[Any],
    outputs: list[Any],
    initializers: list[Any] | None = None,
    *,
    check: bool = True,
    extra_opsets: list[Any] | None = None,
) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializers or [])
    opsets = [helper.make_opsetid("", 17), *(extra_opsets or [])]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8  # onnxruntime supports it; the newest IR may be too new for it
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _float(name: str, shape: list[Any]) -> Any:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every model the tests use, written once."""
    root = tmp_path_factory.mktemp("runner_models")
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    conv_relu = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"], name="relu0"),
    ]
    paths = {
        "small": _save(
            root / "small.onnx",
            conv_relu,
            [_float("x", [1, 3, 32, 32])],
            [_float("y", [1, 8, 32, 32])],
            [weight],
        ),
        "dynamic": _save(
            root / "dynamic.onnx",
            conv_relu,
            [_float("x", ["batch", 3, "h", "w"])],
            [_float("y", ["batch", 8, "h", "w"])],
            [weight],
        ),
        # MatMul with a [4, 2] weight: any --shape x=Nx5 is wrong, but only at run time.
        "matmul": _save(
            root / "matmul.onnx",
            [helper.make_node("MatMul", ["x", "m"], ["y"])],
            [_float("x", ["n", "k"])],
            [_float("y", ["n", 2])],
            [numpy_helper.from_array(np.ones((4, 2), np.float32), "m")],
        ),
        "two_inputs": _save(
            root / "two_inputs.onnx",
            [
                helper.make_node("Cast", ["idx"], ["idx_f"], to=TensorProto.FLOAT),
                helper.make_node("Add", ["a", "idx_f"], ["y"]),
            ],
            [_float("a", [1, 4]), helper.make_tensor_value_info("idx", TensorProto.INT64, [1, 4])],
            [_float("y", [1, 4])],
        ),
        # A custom-domain op that onnxruntime has no kernel for: fails at load.
        "custom_op": _save(
            root / "custom_op.onnx",
            [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")],
            [_float("x", [1, 4])],
            [_float("y", [1, 4])],
            check=False,
            extra_opsets=[helper.make_opsetid("com.example", 1)],
        ),
        # Loads, but Reshape of 4 values into [5] fails at run time.
        "fails_at_run": _save(
            root / "fails_at_run.onnx",
            [helper.make_node("Reshape", ["x", "s"], ["y"])],
            [_float("x", [1, 4])],
            [_float("y", [5])],
            [numpy_helper.from_array(np.array([5], np.int64), "s")],
        ),
    }
    data = paths["small"].read_bytes()
    paths["truncated"] = root / "truncated.onnx"
    paths["truncated"].write_bytes(data[: len(data) // 2])
    paths["garbage"] = root / "garbage.onnx"
    paths["garbage"].write_bytes(b"this is not an ONNX file\n" * 20)
    paths["empty"] = root / "empty.onnx"
    paths["empty"].write_bytes(b"")
    return paths


def unframe(stdout: str) -> Any:
    """The JSON document of the runner's stdout, which must hold its frame and nothing else."""
    lines = stdout.split("\n")
    assert lines[0] == runner.RESULT_BEGIN and lines[2:] == [runner.RESULT_END, ""], stdout
    return json.loads(lines[1])


def run_in_process(args: list[str]) -> tuple[dict[str, Any], int]:
    """runner.main() on `args`: (parsed JSON document, exit code)."""
    out = io.StringIO()
    code = runner.main(args, stdout=out)
    return unframe(out.getvalue()), code


def run_script(args: list[str], cwd: Path) -> tuple[dict[str, Any], int, str]:
    """The runner as a standalone script: (parsed stdout, exit code, stderr)."""
    proc = subprocess.run(
        # -I: no PYTHONPATH, no script directory on sys.path, no user site.
        [sys.executable, "-I", str(RUNNER_PATH), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stdout
    return unframe(proc.stdout), proc.returncode, proc.stderr  # one document, nothing else


# --------------------------------------------------------------------------- fake clock


class FakeClock:
    """A clock in ns that only moves when a fake run advances it."""

    def __init__(self) -> None:
        self.now = 0
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.now


def fake_runs(clock: FakeClock, durations: Iterator[int]) -> Any:
    def run_once() -> None:
        clock.now += next(durations)

    return run_once


def noisy_durations(seed: int, sigma: float, median_ns: int = 1_000_000) -> Iterator[int]:
    rng = np.random.default_rng(seed)
    while True:
        yield int(median_ns * math.exp(sigma * rng.standard_normal()))


def test_adaptive_repeats_stops_on_target_ci_for_low_noise() -> None:
    clock = FakeClock()
    fed: list[int] = []

    def durations() -> Iterator[int]:
        for d in noisy_durations(1, sigma=0.001):
            fed.append(d)
            yield d

    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, durations()),
        clock,
        target_ci=0.01,
        max_seconds=10.0,
        min_runs=20,
        max_runs=100_000,
    )
    assert reason == "target_ci"
    assert len(samples) == 20  # met at the first check, which is at min_runs
    assert samples == fed  # each sample is exactly one run, bracketed by the clock


def test_adaptive_repeats_waits_for_min_runs_even_when_precise() -> None:
    clock = FakeClock()
    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, iter(lambda: 1000, None)),
        clock,
        target_ci=0.01,
        max_seconds=10.0,
        min_runs=57,
        max_runs=100_000,
    )
    assert (len(samples), reason) == (57, "target_ci")


def test_adaptive_repeats_stops_on_max_seconds_for_very_noisy_runs() -> None:
    clock = FakeClock()
    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, noisy_durations(2, sigma=1.5)),
        clock,
        target_ci=0.001,
        max_seconds=0.5,
        min_runs=20,
        max_runs=100_000,
    )
    assert reason == "max_seconds"
    # The clock is checked after every run: the run that crossed 0.5 s is the last one.
    assert sum(samples) >= 0.5e9 > sum(samples[:-1])


def test_adaptive_repeats_max_seconds_wins_over_min_runs() -> None:
    clock = FakeClock()
    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, iter(lambda: 1_000_000_000, None)),
        clock,
        target_ci=0.01,
        max_seconds=2.5,
        min_runs=20,
        max_runs=100_000,
    )
    assert (len(samples), reason) == (3, "max_seconds")


def test_adaptive_repeats_stops_on_max_runs() -> None:
    clock = FakeClock()
    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, noisy_durations(3, sigma=0.5)),
        clock,
        target_ci=1e-6,
        max_seconds=1e9,
        min_runs=20,
        max_runs=500,
    )
    assert (len(samples), reason) == (500, "max_runs")


def test_adaptive_repeats_checks_the_ci_rarely(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_median_ci = runner.median_ci

    def counting_median_ci(values: Any, confidence: float = 0.95) -> tuple[float, float]:
        calls.append(len(values))
        return real_median_ci(values, confidence)

    monkeypatch.setattr(runner, "median_ci", counting_median_ci)
    clock = FakeClock()
    samples, reason = runner.adaptive_repeats(
        fake_runs(clock, noisy_durations(4, sigma=0.5)),
        clock,
        target_ci=1e-6,
        max_seconds=1e9,
        min_runs=20,
        max_runs=20_000,
    )
    assert (len(samples), reason) == (20_000, "max_runs")
    # Every min_runs runs up to n = 200, then every 10%: about 60 checks, not 20,000.
    assert calls[:3] == [20, 40, 60]
    assert len(calls) < 70
    assert clock.calls == 2 * 20_000 + 1  # two readings per run plus the start


def test_warmup_runs_counts_runs_and_seconds() -> None:
    clock = FakeClock()
    assert runner.warmup_runs(fake_runs(clock, iter(lambda: 7, None)), clock, runs=3) == [7] * 3
    clock = FakeClock()
    durations = runner.warmup_runs(
        fake_runs(clock, iter(lambda: 100_000_000, None)), clock, runs=1, min_seconds=0.35
    )
    assert len(durations) == 4
    assert runner.warmup_runs(fake_runs(clock, iter(lambda: 1, None)), clock, runs=0) == []


def test_warmup_ends_early_once_it_took_its_share_of_the_time() -> None:
    # 30 ms runs, 10 asked, a cap of 0.1 s: the fourth run ends past the cap.
    clock = FakeClock()
    slow = runner.warmup_runs(
        fake_runs(clock, iter(lambda: 30_000_000, None)), clock, runs=10, max_seconds=0.1
    )
    assert slow == [30_000_000] * 4
    # A run longer than the cap: still WARMUP_MIN_RUNS runs.
    clock = FakeClock()
    slower = runner.warmup_runs(
        fake_runs(clock, iter(lambda: 500_000_000, None)), clock, runs=10, max_seconds=0.1
    )
    assert len(slower) == runner.WARMUP_MIN_RUNS
    # A fast model does all its runs; --warmup-seconds still holds past the cap.
    clock = FakeClock()
    fast = runner.warmup_runs(
        fake_runs(clock, iter(lambda: 1_000_000, None)), clock, runs=10, max_seconds=0.1
    )
    assert len(fast) == 10
    clock = FakeClock()
    held = runner.warmup_runs(
        fake_runs(clock, iter(lambda: 30_000_000, None)),
        clock,
        runs=10,
        min_seconds=0.2,
        max_seconds=0.1,
    )
    assert len(held) == 7


def test_the_warm_up_share_applies_to_max_seconds_and_is_reported(tmp_path: Path) -> None:
    args = runner.parse_args([str(tmp_path / "m.onnx"), "--max-seconds", "0.4"])
    assert args.warmup_share == runner.WARMUP_SHARE
    assert runner._run_settings(args, {})["warmup_share"] == runner.WARMUP_SHARE
    custom = runner.parse_args([str(tmp_path / "m.onnx"), "--warmup-share", "1"])
    assert custom.warmup_share == 1.0


# --------------------------------------------------------------------------- statistics


def test_median_ci_hand_checked() -> None:
    # n = 100: 1.96 * sqrt(100) / 2 = 9.8, j = floor(50 - 9.8) = 40, k = ceil(1 + 50 + 9.8) = 61
    values = [float(v) for v in range(100)]
    assert runner.median_ci(values) == (39.0, 60.0)  # x_40 and x_61, 1-based
    # n = 10: j = floor(5 - 3.099) = 1, k = ceil(9.099) = 10: the whole range
    assert runner.median_ci([float(v) for v in range(1, 11)]) == (1.0, 10.0)
    # tiny samples clip to the extremes
    assert runner.median_ci([5.0]) == (5.0, 5.0)
    assert runner.median_ci([1.0, 2.0]) == (1.0, 2.0)
    with pytest.raises(ValueError, match="at least one"):
        runner.median_ci([])


def test_median_ci_covers_the_true_median() -> None:
    # Exponential latencies (skewed): true median ln 2. A 95% interval from
    # order statistics should cover it in about 95% of samples (a bit more: the
    # floor/ceil make it conservative).
    rng = np.random.default_rng(5)
    trials = 400
    covered = 0
    for _ in range(trials):
        lo, hi = runner.median_ci(np.sort(rng.exponential(size=50)).tolist())
        covered += lo <= math.log(2) <= hi
    assert 0.93 <= covered / trials <= 0.995


def test_relative_half_width_takes_the_wider_side() -> None:
    assert runner.relative_half_width(10.0, 9.0, 12.0) == pytest.approx(0.2)
    assert runner.relative_half_width(10.0, 7.0, 10.5) == pytest.approx(0.3)
    assert runner.relative_half_width(0.0, 0.0, 0.0) == 0.0
    assert runner.relative_half_width(0.0, 0.0, 1.0) == math.inf


def test_summarize_matches_numpy() -> None:
    samples = np.random.default_rng(6).lognormal(size=101).tolist()
    summary = runner.summarize(samples)
    assert summary["n"] == 101
    assert summary["median"] == pytest.approx(np.median(samples))
    assert summary["mean"] == pytest.approx(np.mean(samples))
    assert summary["std"] == pytest.approx(np.std(samples, ddof=1))
    for key, q in (("p10", 10), ("p90", 90), ("p99", 99)):
        assert summary[key] == pytest.approx(np.percentile(samples, q))
    assert (summary["ci_low"], summary["ci_high"]) == runner.median_ci(sorted(samples))
    assert summary["ci_low"] <= summary["median"] <= summary["ci_high"]
    assert all(type(v) in (int, float) for v in summary.values())  # JSON-ready


def test_summarize_single_sample_has_zero_std() -> None:
    summary = runner.summarize([2.5])
    assert summary["std"] == 0.0
    assert summary["median"] == summary["p99"] == summary["ci_low"] == summary["ci_high"] == 2.5
    with pytest.raises(ValueError):
        runner.summarize([])


# --------------------------------------------------------------------------- inputs


def node(name: str, shape: list[Any], type_: str = "tensor(float)") -> SimpleNamespace:
    """Stands in for an onnxruntime NodeArg."""
    return SimpleNamespace(name=name, shape=shape, type=type_)


def test_parse_shape_specs() -> None:
    assert runner.parse_shape_specs(["x=1x3x224x224", "mask=1x7"]) == {
        "x": [1, 3, 224, 224],
        "mask": [1, 7],
    }
    assert runner.parse_shape_specs(["input:0=2"]) == {"input:0": [2]}
    assert runner.parse_shape_specs([]) == {}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("x=1xAx3", "positive integers"),
        ("x", "expected NAME=D1xD2x"),
        ("=1x2", "expected NAME=D1xD2x"),
        ("x=", "positive integers"),
        ("x=1x0x3", "every dimension must be >= 1"),
        ("x=1x-3", "positive integers"),
        ("x=1,3", "separated by 'x'"),
    ],
)
def test_parse_shape_specs_rejects_malformed(spec: str, expected: str) -> None:
    with pytest.raises(runner.RunnerError, match=expected) as info:
        runner.parse_shape_specs([spec])
    assert info.value.kind == "shape"
    assert "--shape x=1x3x224x224" in info.value.message  # the fix, by example


def test_parse_shape_specs_rejects_a_name_given_twice() -> None:
    with pytest.raises(runner.RunnerError, match="given twice"):
        runner.parse_shape_specs(["x=1", "x=2"])


def test_resolve_input_shapes_fixed_and_overridden() -> None:
    inputs = [node("x", ["batch", 3, "h", "w"]), node("ids", [1, None]), node("s", [])]
    shapes = runner.resolve_input_shapes(inputs, {"x": [2, 3, 64, 48], "ids": [1, 9]})
    assert shapes == {"x": [2, 3, 64, 48], "ids": [1, 9], "s": []}
    assert runner.resolve_input_shapes([node("x", [1, 3])], {"x": [1, 3]}) == {"x": [1, 3]}


def test_resolve_input_shapes_dynamic_without_shape() -> None:
    with pytest.raises(runner.RunnerError) as info:
        runner.resolve_input_shapes([node("x", ["batch", 3, "h", "w"])], {})
    assert info.value.kind == "shape"
    assert "input 'x' has dynamic dimensions ['batch', 3, 'h', 'w']" in info.value.message
    assert "--shape x=1x3x224x224" in info.value.message


def test_resolve_input_shapes_unknown_name_lists_inputs() -> None:
    with pytest.raises(runner.RunnerError, match=r"'y', which is not an input.*\['x', 'z'\]"):
        runner.resolve_input_shapes([node("x", [1]), node("z", [1])], {"y": [1]})


def test_resolve_input_shapes_rank_mismatch() -> None:
    with pytest.raises(runner.RunnerError, match=r"rank 3 but input 'x' is declared with rank 2"):
        runner.resolve_input_shapes([node("x", ["n", 4])], {"x": [1, 4, 4]})


def test_resolve_input_shapes_fixed_dim_disagrees() -> None:
    with pytest.raises(runner.RunnerError) as info:
        runner.resolve_input_shapes([node("x", ["n", 3, "h", "w"])], {"x": [1, 4, 32, 32]})
    assert info.value.kind == "shape"
    assert "sets axis 1 to 4 but input 'x' fixes it to 3" in info.value.message
    assert "--shape x=1x3x32x32" in info.value.message


def test_make_inputs_types_ranges_and_seed() -> None:
    inputs = [
        node("f", [2, 3]),
        node("h", [4], "tensor(float16)"),
        node("d", [4], "tensor(double)"),
        node("i", [500], "tensor(int64)"),
        node("u", [8], "tensor(uint8)"),
        node("b", [200], "tensor(bool)"),
    ]
    shapes = {n.name: n.shape for n in inputs}
    arrays = runner.make_inputs(inputs, shapes, seed=3)
    assert {k: str(v.dtype) for k, v in arrays.items()} == {
        "f": "float32",
        "h": "float16",
        "d": "float64",
        "i": "int64",
        "u": "uint8",
        "b": "bool",
    }
    assert arrays["f"].shape == (2, 3)
    assert 0 <= arrays["i"].min() and arrays["i"].max() < 10
    assert 0 < arrays["b"].sum() < 200
    again = runner.make_inputs(inputs, shapes, seed=3)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
    other = runner.make_inputs(inputs, shapes, seed=4)
    assert not np.array_equal(arrays["f"], other["f"])


def test_make_inputs_rejects_unsupported_type() -> None:
    with pytest.raises(runner.RunnerError, match=r"'t' has type tensor\(string\)") as info:
        runner.make_inputs([node("t", [1], "tensor(string)")], {"t": [1]}, seed=0)
    assert info.value.kind == "model_load"


# --------------------------------------------------------------------------- fingerprint


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CPUFREQ = "sys/devices/system/cpu/cpu0/cpufreq"


def test_fingerprint_reads_a_fake_sys_tree(tmp_path: Path) -> None:
    write(
        tmp_path,
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: Fake CPU 9000 @ 3.0GHz\ncpu MHz\t\t: 1234.5\n\n"
        "processor\t: 1\nmodel name\t: Fake CPU 9000 @ 3.0GHz\n",
    )
    write(tmp_path, f"{CPUFREQ}/scaling_governor", "powersave\n")
    write(tmp_path, f"{CPUFREQ}/scaling_cur_freq", "1800000\n")
    write(tmp_path, "sys/class/thermal/thermal_zone0/temp", "45000\n")
    write(tmp_path, "sys/class/thermal/thermal_zone1/temp", "52500\n")
    write(tmp_path, "sys/class/thermal/thermal_zone2/temp", "not a number\n")
    fp = runner.collect_fingerprint(2, "CPUExecutionProvider", "all", sys_root=str(tmp_path))
    assert fp["cpu_model"] == "Fake CPU 9000 @ 3.0GHz"
    assert fp["governor"] == "powersave"
    assert fp["frequency_mhz"] == 1800.0
    assert fp["temperature_c"] == 52.5
    assert fp["cores"] == os.cpu_count()
    assert fp["affinity"] and all(isinstance(c, int) for c in fp["affinity"])
    assert fp["threads"] == 2
    assert fp["execution_provider"] == "CPUExecutionProvider"
    assert fp["graph_optimization"] == "all"
    assert fp["onnxruntime"] == runner.ort.__version__
    assert fp["python"].count(".") == 2 and fp["os"] and fp["machine"]
    json.dumps(fp)


def test_fingerprint_of_an_arm_board(tmp_path: Path) -> None:
    write(
        tmp_path,
        "proc/cpuinfo",
        "processor\t: 0\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\n"
        "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n",
    )
    assert runner.read_cpu_model(str(tmp_path)) == "BCM2835"
    write(tmp_path, "proc/cpuinfo", "processor\t: 0\nCPU part\t: 0xd08\n")
    assert runner.read_cpu_model(str(tmp_path)) == "0xd08"


def test_fingerprint_frequency_falls_back_to_cpuinfo(tmp_path: Path) -> None:
    write(tmp_path, "proc/cpuinfo", "model name : X\ncpu MHz : 2596.126\n")
    assert runner.read_frequency_mhz(str(tmp_path)) == 2596.126


def test_fingerprint_of_an_empty_tree(tmp_path: Path) -> None:
    fp = runner.collect_fingerprint(1, "CPUExecutionProvider", "basic", sys_root=str(tmp_path))
    assert fp["governor"] is None
    assert fp["frequency_mhz"] is None
    assert fp["temperature_c"] is None
    assert isinstance(fp["cpu_model"], str)  # platform.processor() or platform.machine()


def test_fingerprint_tolerates_unreadable_files(tmp_path: Path) -> None:
    # A directory where a file should be makes open() fail with an OSError, as a
    # permission error would (the tests may run as root, where chmod does not).
    (tmp_path / CPUFREQ / "scaling_governor").mkdir(parents=True)
    (tmp_path / CPUFREQ / "scaling_cur_freq").mkdir(parents=True)
    (tmp_path / "proc" / "cpuinfo").mkdir(parents=True)
    (tmp_path / "sys/class/thermal/thermal_zone0/temp").mkdir(parents=True)
    assert runner.read_governor(str(tmp_path)) is None
    assert runner.read_frequency_mhz(str(tmp_path)) is None
    assert runner.read_temperature_c(str(tmp_path)) is None


# --------------------------------------------------------------------------- memory


def test_peak_rss_reads_vmhwm(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t  999999 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1 kB\n")
    assert runner.peak_rss_mb(str(status)) == ("VmHWM", 2.0)


def test_peak_rss_falls_back_to_getrusage(tmp_path: Path) -> None:
    method, mb = runner.peak_rss_mb(str(tmp_path / "absent"))
    assert method == "ru_maxrss"
    assert mb is not None and mb > 1


def test_memory_document() -> None:
    doc = runner.memory_document(("VmHWM", 40.0), ("VmHWM", 65.5))
    assert doc == {
        "method": "VmHWM",
        "baseline_mb": 40.0,
        "peak_mb": 65.5,
        "peak_over_baseline_mb": 25.5,
    }


# --------------------------------------------------------------------------- diagnose

CLEAN_SUMMARY = {
    "n": 200,
    "median": 10.0,
    "mean": 10.1,
    "std": 0.2,
    "p10": 9.9,
    "p90": 10.3,
    "p99": 10.6,
    "ci_low": 9.95,
    "ci_high": 10.05,
}
CLEAN_FINGERPRINT = {"governor": "performance", "cores": 4}
CLEAN_ENVIRONMENT = {"temperature_start_c": 50.0, "temperature_end_c": 52.0}
SETTINGS = {"target_ci": 0.01, "threads": 1, "min_runs": 20, "max_seconds": 10.0}


def diagnosed(stop_reason: str = "target_ci", **changes: dict[str, Any]) -> list[str]:
    """diagnose() of a clean measurement with some fields of its parts changed."""
    parts: dict[str, dict[str, Any]] = {
        "summary": CLEAN_SUMMARY,
        "fingerprint": CLEAN_FINGERPRINT,
        "environment": CLEAN_ENVIRONMENT,
        "settings": SETTINGS,
    }
    for key, change in changes.items():
        parts[key] = {**parts[key], **change}
    return runner.diagnose(
        parts["summary"], parts["fingerprint"], parts["environment"], parts["settings"], stop_reason
    )


def test_diagnose_clean_measurement_has_no_warnings() -> None:
    assert diagnosed() == []
    assert (
        diagnosed(
            fingerprint={"governor": None, "cores": 4},
            environment={"temperature_start_c": None, "temperature_end_c": None},
        )
        == []
    )


def test_diagnose_high_variation_only_when_the_ci_missed_its_target() -> None:
    # A small model with slow outliers: the spread is wide, the CI of the median met its
    # target, so the reported figure stands and nothing is said.
    assert diagnosed(summary={"std": 1.2, "mean": 10.0}) == []
    warnings = diagnosed(
        "max_seconds", summary={"std": 1.2, "mean": 10.0, "ci_low": 9.8, "ci_high": 10.3}
    )
    [warning] = [w for w in warnings if w.startswith("the standard deviation is 12% of the mean")]
    assert "taskset" in warning and "performance" in warning


def test_diagnose_governor() -> None:
    [warning] = diagnosed(fingerprint={"governor": "powersave"})
    assert "governor is 'powersave', not 'performance'" in warning
    assert "cpupower frequency-set -g performance" in warning


def test_diagnose_temperature_rise() -> None:
    [warning] = diagnosed(environment={"temperature_start_c": 45.0, "temperature_end_c": 61.0})
    assert "45.0 °C to 61.0 °C" in warning and "throttl" in warning and "cool" in warning


@pytest.mark.parametrize(
    ("stop_reason", "flag"), [("max_seconds", "--max-seconds"), ("max_runs", "--max-runs")]
)
def test_diagnose_target_not_met(stop_reason: str, flag: str) -> None:
    [warning] = diagnosed(stop_reason, summary={"ci_low": 9.9, "ci_high": 10.23})
    assert warning == (
        f"the 95% CI of the median is ±2.3%, above the target 1%: raise {flag} or reduce noise"
    )
    # Stopping on a budget with the target met is fine.
    assert diagnosed(stop_reason) == []


def test_diagnose_too_few_runs() -> None:
    warnings = diagnosed("max_seconds", summary={"n": 5})
    assert any("only 5 runs fit in --max-seconds" in w for w in warnings)


def test_diagnose_more_threads_than_cores() -> None:
    [warning] = diagnosed(settings={"threads": 8})
    assert "--threads 8 exceeds the 4 CPU cores" in warning


# --------------------------------------------------------------------------- op profile


def test_summarize_profile_events() -> None:
    def kernel(name: str, op: str, ts: int, dur: int) -> dict[str, Any]:
        return {
            "cat": "Node",
            "name": f"{name}_kernel_time",
            "ts": ts,
            "dur": dur,
            "args": {"op_name": op},
        }

    events = [
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 1000},
        kernel("conv0", "Conv", 10, 900),  # first run: skipped
        kernel("conv0", "Conv", 2000, 300),
        kernel("conv1", "Conv", 2300, 300),
        kernel("relu0", "Relu", 2600, 200),
        {
            "cat": "Node",
            "name": "conv0_fence_before",
            "ts": 2000,
            "dur": 5,
            "args": {"op_name": "Conv"},
        },
        kernel("conv0", "Conv", 3000, 300),
        kernel("conv1", "Conv", 3300, 300),
        kernel("relu0", "Relu", 3600, 200),
    ]
    profile = runner.summarize_profile_events(events, runs=2, skip_before_us=1000)
    assert profile["runs"] == 2
    assert list(profile["ops"]) == ["Conv", "Relu"]  # largest first
    assert profile["ops"]["Conv"] == {"count": 2, "ms_per_inference": 0.6, "share": 0.75}
    assert profile["ops"]["Relu"] == {"count": 1, "ms_per_inference": 0.2, "share": 0.25}
    # Each node's time per inference, in the order the nodes ran.
    assert profile["nodes"] == [
        ["conv0", "Conv", 0.3],
        ["conv1", "Conv", 0.3],
        ["relu0", "Relu", 0.2],
    ]


def test_op_profile_of_the_small_model(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    arrays = {"x": np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)}
    common: dict[str, Any] = {"threads": 1, "provider": "CPUExecutionProvider", "runs": 5}
    # "basic" keeps Conv and Relu apart; "all" fuses Relu into Conv.
    basic = runner.op_profile(str(models["small"]), arrays, graph_opt="basic", **common)
    assert basic["runs"] == 5
    assert set(basic["ops"]) == {"Conv", "Relu"}
    assert all(op["count"] == 1 and op["ms_per_inference"] > 0 for op in basic["ops"].values())
    assert sum(op["share"] for op in basic["ops"].values()) == pytest.approx(1.0)
    fused = runner.op_profile(str(models["small"]), arrays, graph_opt="all", **common)
    assert "Conv" in fused["ops"]
    assert list(tmp_path.iterdir()) == []  # no trace file left behind


# --------------------------------------------------------------------------- end to end


def test_script_measures_the_small_model(models: dict[str, Path], tmp_path: Path) -> None:
    doc, code, _ = run_script(
        [str(models["small"]), "--target-ci", "0.05", "--max-seconds", "2"], cwd=tmp_path
    )
    assert (code, doc["ok"], doc["runner_version"]) == (0, True, 1)
    latency = doc["latency_ms"]
    assert set(latency) == {"n", "median", "mean", "std", "p10", "p90", "p99", "ci_low", "ci_high"}
    assert latency["n"] == len(doc["samples_ms"]) >= 1
    assert len(doc["warmup_ms"]) == 10
    assert 0 < latency["ci_low"] <= latency["median"] <= latency["ci_high"]
    half_width = runner.relative_half_width(
        latency["median"], latency["ci_low"], latency["ci_high"]
    )
    if doc["stop_reason"] == "target_ci":
        assert half_width <= 0.05
    else:
        assert doc["stop_reason"] == "max_seconds"
        assert any("CI of the median" in w for w in doc["warnings"])
    assert doc["elapsed_s"] < 2.5
    assert doc["inputs"] == {"x": {"shape": [1, 3, 32, 32], "dtype": "float32"}}
    memory = doc["memory"]
    assert memory["method"] in ("VmHWM", "ru_maxrss")
    assert memory["peak_mb"] > 0 and memory["baseline_mb"] > 0
    assert memory["peak_over_baseline_mb"] == pytest.approx(
        memory["peak_mb"] - memory["baseline_mb"]
    )
    assert set(doc["fingerprint"]) == {
        "cpu_model",
        "cores",
        "os",
        "python",
        "onnxruntime",
        "execution_provider",
        "threads",
        "affinity",
        "governor",
        "frequency_mhz",
        "temperature_c",
        "machine",
        "graph_optimization",
    }
    assert set(doc["environment"]) == {
        "temperature_start_c",
        "temperature_end_c",
        "frequency_start_mhz",
        "frequency_end_mhz",
        "slowdown",  # runs slower by the end (a trend), None for fewer than 30 runs
    }
    assert doc["op_profile"] is None
    settings = doc["settings"]
    assert {
        k: settings[k]
        for k in (
            "threads",
            "target_ci",
            "max_seconds",
            "min_runs",
            "max_runs",
            "warmup",
            "graph_optimization",
            "execution_mode",
            "provider",
            "seed",
            "shapes",
        )
    } == {
        "threads": 1,
        "target_ci": 0.05,
        "max_seconds": 2.0,
        "min_runs": 20,
        "max_runs": 100000,
        "warmup": 10,
        "graph_optimization": "all",
        "execution_mode": "sequential",
        "provider": "CPUExecutionProvider",
        "seed": 0,
        "shapes": {"x": [1, 3, 32, 32]},
    }
    assert isinstance(doc["warnings"], list)


def test_script_two_inputs_with_op_profile(models: dict[str, Path], tmp_path: Path) -> None:
    doc, code, _ = run_script(
        [
            str(models["two_inputs"]),
            "--max-seconds",
            "0.5",
            "--warmup",
            "2",
            "--graph-opt",
            "disable",
            "--op-profile",
            "--op-profile-runs",
            "3",
        ],
        cwd=tmp_path,
    )
    assert code == 0, doc
    assert doc["inputs"] == {
        "a": {"shape": [1, 4], "dtype": "float32"},
        "idx": {"shape": [1, 4], "dtype": "int64"},
    }
    assert doc["op_profile"]["runs"] == 3
    assert set(doc["op_profile"]["ops"]) == {"Cast", "Add"}
    assert len(doc["warmup_ms"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_dynamic_model_with_shape(models: dict[str, Path]) -> None:
    doc, code = run_in_process(
        [
            str(models["dynamic"]),
            "--shape",
            "x=2x3x16x8",
            "--max-seconds",
            "0.3",
            "--warmup",
            "1",
            "--min-runs",
            "5",
        ]
    )
    assert code == 0, doc
    assert doc["inputs"]["x"] == {"shape": [2, 3, 16, 8], "dtype": "float32"}
    assert doc["settings"]["shapes"] == {"x": [2, 3, 16, 8]}


@pytest.mark.parametrize(
    ("model", "extra", "kind", "expected"),
    [
        ("absent", [], "model_not_found", "does not exist; check the path"),
        ("garbage", [], "invalid_model", "is not a valid ONNX file (truncated or not ONNX)"),
        ("truncated", [], "invalid_model", "is not a valid ONNX file (truncated or not ONNX)"),
        ("empty", [], "invalid_model", "is not a valid ONNX file (truncated or not ONNX)"),
        ("custom_op", [], "model_load", "Frobnicate"),
        ("fails_at_run", [], "model_load", "failed to run it"),
        ("dynamic", [], "shape", "pass its full shape"),
        ("small", ["--threads", "0"], "usage", "--threads"),
    ],
)
def test_script_reports_errors_as_json(
    models: dict[str, Path], tmp_path: Path, model: str, extra: list[str], kind: str, expected: str
) -> None:
    path = models.get(model, tmp_path / "absent.onnx")
    doc, code, stderr = run_script([str(path), *extra], cwd=tmp_path)
    assert code == USER_ERROR_EXIT
    assert doc["ok"] is False and doc["runner_version"] == 1
    assert doc["error"]["kind"] == kind
    assert expected in doc["error"]["message"]
    assert "\n" not in doc["error"]["message"]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("model", "args", "expected"),
    [
        ("dynamic", [], "input 'x' has dynamic dimensions ['batch', 3, 'h', 'w']"),
        ("dynamic", ["--shape", "y=1x3x8x8"], "not an input of the model; the inputs are ['x']"),
        ("dynamic", ["--shape", "x=1xAx3"], "is malformed"),
        ("dynamic", ["--shape", "x"], "is malformed"),
        ("dynamic", ["--shape", "=1x2"], "is malformed"),
        ("dynamic", ["--shape", "x=0x3x8x8"], "every dimension must be >= 1"),
        ("dynamic", ["--shape", "x=1x3x8"], "has rank 3 but input 'x' is declared with rank 4"),
        ("small", ["--shape", "x=1x4x32x32"], "fixes it to 3"),
        # Accepted by every check before running; onnxruntime refuses it at run time.
        (
            "matmul",
            ["--shape", "x=1x5"],
            "check that the --shape values are sizes the model accepts",
        ),
    ],
)
def test_shape_errors(models: dict[str, Path], model: str, args: list[str], expected: str) -> None:
    doc, code = run_in_process([str(models[model]), *args])
    assert (code, doc["error"]["kind"]) == (USER_ERROR_EXIT, "shape"), doc
    assert expected in doc["error"]["message"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "the model path is missing; pass MODEL.onnx"),
        (["m.onnx", "--bogus"], "unrecognized arguments: --bogus"),
        (["m.onnx", "--graph-opt", "max"], "--graph-opt"),
        (["m.onnx", "--target-ci", "-1"], "--target-ci"),
        (
            ["m.onnx", "--min-runs", "50", "--max-runs", "10"],
            "--max-runs 10 is below --min-runs 50",
        ),
        (["m.onnx", "--provider", "NoSuchExecutionProvider"], "pass --provider with one of"),
    ],
)
def test_usage_errors(args: list[str], expected: str) -> None:
    doc, code = run_in_process(args)
    assert (code, doc["error"]["kind"]) == (USER_ERROR_EXIT, "usage")
    assert expected in doc["error"]["message"]


def test_help_prints_usage() -> None:
    out = io.StringIO()
    assert runner.main(["--help"], stdout=out) == 0
    assert "--target-ci" in out.getvalue()


def test_unexpected_failure_is_a_runner_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: Any) -> dict[str, Any]:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(runner, "measure", broken)
    doc, code = run_in_process(["m.onnx"])
    assert code == 1
    assert doc["error"]["kind"] == "runner"
    assert "unexpected ZeroDivisionError: boom" in doc["error"]["message"]
    assert "Traceback" in capsys.readouterr().err


# --------------------------------------------------------------------------- standalone


STDLIB_OR_ALLOWED = set(sys.stdlib_module_names) | {"numpy", "onnxruntime"}


def test_runner_imports_only_stdlib_numpy_onnxruntime() -> None:
    tree = ast.parse(RUNNER_PATH.read_text())
    imported = []
    for item in ast.walk(tree):
        if isinstance(item, ast.Import):
            imported += [alias.name for alias in item.names]
        elif isinstance(item, ast.ImportFrom):
            assert item.level == 0, "relative imports break the standalone script"
            imported.append(item.module or "")
    assert imported  # the walk found them
    outside = sorted({m for m in imported if m.split(".")[0] not in STDLIB_OR_ALLOWED})
    assert outside == []


def test_runner_parses_as_python_3_8() -> None:
    # feature_version rejects syntax newer than 3.8 (match, parenthesized context
    # managers, ...); runtime-only constructs were checked by hand on 3.8.
    ast.parse(RUNNER_PATH.read_text(), feature_version=(3, 8))


def test_fingerprint_only_needs_no_model() -> None:
    doc, code = run_in_process(["--fingerprint-only", "--threads", "2", "--graph-opt", "basic"])
    assert code == 0 and doc["ok"], doc
    fp = doc["fingerprint"]
    assert fp["threads"] == 2 and fp["graph_optimization"] == "basic"
    assert fp["execution_provider"] == "CPUExecutionProvider" and fp["cores"] >= 1
    assert "latency_ms" not in doc
    doc, code = run_in_process(["--fingerprint-only", "--provider", "NoSuchExecutionProvider"])
    assert code == USER_ERROR_EXIT and "pass --provider" in doc["error"]["message"]


# --------------------------------------------------------------------------- reference model


def test_a_reference_cancels_a_machine_whose_speed_swings() -> None:
    # The machine's speed swings by up to 3x from run to run; the model costs twice the
    # reference, always. Alone, the model's median never settles; as a ratio it does.
    speed = noisy_durations(4, sigma=0.5, median_ns=1000)
    clock = FakeClock()
    now = [1]

    def model() -> None:
        now[0] = next(speed)
        clock.now += 2 * now[0]

    def reference() -> None:
        clock.now += now[0]  # the same phase of the machine as the run just before

    alone, reason = runner.adaptive_repeats(
        model, clock, target_ci=0.01, max_seconds=1e9, min_runs=20, max_runs=400
    )
    assert reason == "max_runs"
    reference_ns: list[int] = []
    samples, reason = runner.adaptive_repeats(
        model,
        clock,
        target_ci=0.01,
        max_seconds=1e9,
        min_runs=20,
        max_runs=400,
        reference=reference,
        reference_samples=reference_ns,
    )
    assert reason == "target_ci" and len(samples) == len(reference_ns) == 20
    assert set(runner.pair_ratios(samples, reference_ns)) == {2.0}
    with pytest.raises(ValueError, match="go together"):
        runner.adaptive_repeats(
            model,
            clock,
            target_ci=0.01,
            max_seconds=1.0,
            min_runs=2,
            max_runs=3,
            reference=reference,
        )


def test_script_times_a_reference_beside_the_model(models: dict[str, Path], tmp_path: Path):
    doc, code, _ = run_script(
        [
            str(models["small"]),
            "--reference",
            str(models["two_inputs"]),
            "--max-seconds",
            "0.5",
            "--target-ci",
            "0.05",
            "--warmup",
            "2",
        ],
        cwd=tmp_path,
    )
    assert code == 0, doc
    reference = doc["settings"]["reference"]
    assert reference["model"] == models["two_inputs"].name
    assert reference["latency_ms"]["n"] == reference["ratio"]["n"] == doc["latency_ms"]["n"]
    ratio = reference["ratio"]["median"]
    # The median of the pair ratios is the ratio of the medians as far as the two models'
    # noise moves in step: within 3% over four runs on 2 busy shared cores, so 10%.
    assert ratio == pytest.approx(
        doc["latency_ms"]["median"] / reference["latency_ms"]["median"], rel=0.1
    )
    r = reference["ratio"]
    half_width = runner.relative_half_width(r["median"], r["ci_low"], r["ci_high"])
    if doc["stop_reason"] == "target_ci":  # the CI bounded is the ratio's
        assert half_width <= 0.05
    else:
        assert any("CI of the median ratio to the reference" in w for w in doc["warnings"])


def test_with_a_reference_the_ci_warning_is_about_the_ratio() -> None:
    summary = {
        "n": 50,
        "median": 10.0,
        "mean": 10.0,
        "std": 0.1,
        "ci_low": 8.0,
        "ci_high": 12.0,
    }  # the model's own CI: +-20%
    settings = {"target_ci": 0.01, "min_runs": 20, "max_seconds": 1.0, "threads": 1}
    plain = runner.diagnose(summary, {}, {}, settings, "max_seconds")
    assert any("CI of the median is ±20%" in w for w in plain)
    steady = {**settings, "reference": {"ratio": {"median": 2.0, "ci_low": 1.99, "ci_high": 2.01}}}
    assert not any("CI" in w for w in runner.diagnose(summary, {}, {}, steady, "max_seconds"))


@pytest.mark.parametrize("which", ["missing", "dynamic"])
def test_a_reference_that_cannot_be_used_is_a_clear_error(
    models: dict[str, Path], tmp_path: Path, which: str
):
    path = tmp_path / "nope.onnx" if which == "missing" else models["dynamic"]
    doc, code = run_in_process([str(models["small"]), "--reference", str(path)])
    assert code == 2 and doc["error"]["kind"] == "reference"
    assert "the reference model" in doc["error"]["message"]
    assert "pass another --reference" in doc["error"]["message"]
