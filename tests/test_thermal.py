"""The thermal protocol (issue 12 item 3): cool down to the idle temperature before each
model, warn about throttling (a clock that falls, runs that slow down), and MLPerf
Mobile's single-stream rule. The device is faked by a sysfs tree whose thermal zone heats
up while a model runs and cools down while it idles; the batch, the probe and the runner
are the real ones."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import CompletedRun
from hwnas.errors import ParameterError
from hwnas.profiler import runner
from hwnas.profiler.batch import profile_batch
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec
from hwnas.store import settings_key
from tests import onnx_models

IDLE_C, HOT_C = 40.0, 55.0


class HotDevice(LocalTransport):
    """This machine, but the runner reads /sys from ``root``: one thermal zone at the idle
    temperature when the batch starts, hot right after each model ran, cooling by
    ``rate`` °C a second in between (a thread)."""

    def __init__(self, root: Path, rate: float = 6.0) -> None:
        super().__init__()
        self.zone = root / "sys/class/thermal/thermal_zone0/temp"
        self.zone.parent.mkdir(parents=True)
        self.root, self.rate, self.celsius = root, rate, IDLE_C
        self._write()
        self.done = threading.Event()
        self.cooling = threading.Thread(target=self._cool, daemon=True)
        self.cooling.start()

    def _write(self) -> None:
        # Whole readings only, as sysfs gives them: a reader must never see the file
        # truncated and not yet written.
        tmp = self.zone.with_name(f"temp.{threading.get_ident()}")
        tmp.write_text(f"{int(self.celsius * 1000)}\n")
        os.replace(tmp, self.zone)

    def _cool(self) -> None:
        while not self.done.wait(0.1):
            self.celsius = max(IDLE_C, self.celsius - 0.1 * self.rate)
            self._write()

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        is_runner = any(str(a).endswith(".py") for a in argv[1:2])
        if is_runner:
            argv = [*argv, "--sys-root", str(self.root)]
        done = super().run(argv, timeout=timeout)
        if is_runner and "--fingerprint-only" not in argv:
            self.celsius = HOT_C  # the model heated the device
            self._write()
        return done


def test_each_model_waits_for_the_device_to_cool_down(tmp_path: Path) -> None:
    models = [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(2)]
    settings = ProfileSettings(
        max_seconds=0.2, target_ci=0.2, warmup=1, min_runs=5, cooldown_delta=2.0
    )
    device = HotDevice(tmp_path / "root")
    try:
        result = profile_batch(device, DeviceSpec(name="pi", transport="local"), models, settings)
    finally:
        device.done.set()
    assert result.errors == [] and len(result.measurements) == 2
    first, second = (m.memory["environment"]["cooldown"] for _, m in result.measurements)
    # The first model found the device idle; the second found it hot and waited.
    assert first["baseline_c"] == IDLE_C and first["waited_s"] < 0.5
    assert second["start_c"] > IDLE_C + 2.0 and second["end_c"] <= IDLE_C + 2.0
    assert 0.5 < second["waited_s"] < 10 and not second["timed_out"]
    assert result.measurements[1][1].settings["cooldown_delta"] == 2.0
    assert not any("stayed at" in w for _, m in result.measurements for w in m.warnings)


def test_a_device_that_does_not_cool_down_is_measured_with_a_warning(tmp_path: Path) -> None:
    models = [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(2)]
    settings = ProfileSettings(
        max_seconds=0.2,
        target_ci=0.2,
        warmup=1,
        min_runs=5,
        cooldown_delta=1.0,
        cooldown_timeout=1.5,
    )
    device = HotDevice(tmp_path / "root", rate=0.0)  # no fan, no heatsink
    try:
        result = profile_batch(device, DeviceSpec(name="pi", transport="local"), models, settings)
    finally:
        device.done.set()
    assert len(result.measurements) == 2
    late = result.measurements[1][1]
    cooldown = late.memory["environment"]["cooldown"]
    assert cooldown["timed_out"] and cooldown["waited_s"] >= 1.5
    (warning,) = [w for w in late.warnings if "stayed at" in w]
    assert "55.0 °C" in warning and "--cooldown-timeout" in warning


def test_the_wait_itself() -> None:
    readings = iter([50.0, 47.0, 44.0, 41.5, 40.0])
    clock = iter(range(100))
    done = runner.wait_for_cooldown(
        lambda: next(readings), 40.0, 2.0, 30.0, sleep=lambda _s: None, clock=lambda: next(clock)
    )
    assert done["end_c"] == 41.5 and not done["timed_out"] and done["waited_s"] > 0
    skipped = runner.wait_for_cooldown(lambda: 70.0, None, 2.0, 30.0, sleep=lambda _s: None)
    assert skipped["skipped"] == "no idle baseline" and skipped["waited_s"] == 0.0
    no_sensor = runner.wait_for_cooldown(lambda: None, 40.0, 2.0, 30.0, sleep=lambda _s: None)
    assert no_sensor["skipped"] == "no thermal sensor"


def test_throttling_is_named_with_the_fix() -> None:
    falling = runner._thermal_warnings({"frequency_start_mhz": 1800.0, "frequency_end_mhz": 1500.0})
    assert len(falling) == 1 and "1800 MHz to 1500 MHz" in falling[0] and "throttled" in falling[0]
    steady = runner._thermal_warnings({"frequency_start_mhz": 1800.0, "frequency_end_mhz": 1790.0})
    assert steady == []
    hotter = [1.0] * 20 + [1.06] * 20 + [1.15] * 20  # slower and slower
    assert runner.slowdown(hotter) == pytest.approx(0.15)
    (slow,) = runner._thermal_warnings({"slowdown": runner.slowdown(hotter)})
    assert "15% slower" in slow and "--cooldown-delta" in slow
    # One slow phase in the middle is contention, not a trend; too few runs say nothing.
    assert runner.slowdown([1.0] * 20 + [1.3] * 20 + [1.0] * 20) == 0.0
    assert runner.slowdown([1.0, 2.0, 3.0]) is None


def test_mlperf_runs_at_least_its_queries_and_its_seconds(monkeypatch) -> None:
    ticks = iter(range(0, 10**12, 10**8))  # every clock reading 0.1 s later
    samples, reason = runner.fixed_protocol_runs(
        lambda: None, lambda: next(ticks), min_runs=10, min_seconds=5.0
    )
    # 10 runs take 2 s (two readings each): the 5 s minimum decides, 25 runs.
    assert reason == "mlperf" and len(samples) == 25
    ticks = iter(range(0, 10**12, 10**9))  # 1 s per reading
    samples, _ = runner.fixed_protocol_runs(
        lambda: None, lambda: next(ticks), min_runs=10, min_seconds=5.0
    )
    assert len(samples) == 10  # the query minimum decides
    monkeypatch.setattr(runner, "MLPERF_MIN_QUERIES", 7)
    monkeypatch.setattr(runner, "MLPERF_MIN_SECONDS", 0.0)
    # The runner's own parser, so options added later keep their defaults here.
    args = runner.build_parser().parse_args(
        ["m.onnx", "--warmup", "0", "--warmup-seconds", "0", "--protocol", "mlperf"]
        + ["--target-ci", "0.5", "--max-seconds", "0.01", "--min-runs", "1", "--max-runs", "2"]
    )
    _, timed, reason, _ = runner._timed_runs(args, lambda: None, None, None)
    assert reason == "mlperf" and len(timed) == 7  # max_runs and the budget do not stop it


def test_settings_carry_the_protocol_to_the_runner() -> None:
    mlperf = ProfileSettings(protocol="mlperf", cooldown_delta=2.0, cooldown_timeout=30.0)
    args = mlperf.runner_args()
    assert args[args.index("--protocol") + 1] == "mlperf"
    assert args[args.index("--cooldown-delta") + 1] == "2.0"
    assert mlperf.timeout_s() > ProfileSettings().timeout_s() + 60
    assert mlperf.to_dict()["protocol"] == "mlperf"
    assert ProfileSettings.from_dict(mlperf.to_dict()) == mlperf
    assert "--protocol" not in ProfileSettings().runner_args()
    assert "protocol" not in ProfileSettings().to_dict()  # old keys and jobs unchanged
    with pytest.raises(ParameterError, match="protocol must be one of adaptive, mlperf"):
        ProfileSettings(protocol="tflite")
    with pytest.raises(ParameterError, match="cooldown_delta must be >= 0"):
        ProfileSettings(cooldown_delta=-1.0)
    # A measurement under MLPerf's rule is not reused for the adaptive protocol, nor back;
    # waiting to cool down changes nothing measured.
    adaptive = ProfileSettings()
    assert mlperf.result_key() != adaptive.result_key()
    assert ProfileSettings(cooldown_delta=3.0).result_key() == adaptive.result_key()
    assert settings_key({**adaptive.to_dict(), "protocol": "adaptive"}) == settings_key(
        adaptive.to_dict()
    )
    parsed = runner.parse_args(["m.onnx", "--protocol", "mlperf", "--cooldown-delta", "2"])
    assert parsed.protocol == "mlperf" and parsed.cooldown_delta == 2.0


def test_waiting_costs_nothing_without_a_delta(tmp_path: Path) -> None:
    model = onnx_models.conv_model(tmp_path / "m.onnx")
    started = time.monotonic()
    device = HotDevice(tmp_path / "root", rate=0.0)
    try:
        result = profile_batch(
            device,
            DeviceSpec(name="pi", transport="local"),
            [model, model],
            ProfileSettings(max_seconds=0.2, target_ci=0.2, warmup=1, min_runs=5),
        )
    finally:
        device.done.set()
    assert all("cooldown" not in m.memory["environment"] for _, m in result.measurements)
    assert time.monotonic() - started < 30
