"""Energy per inference: RAPL, power_supply and hwmon backends against fake sysfs trees
driven by a thread that plays the hardware (the runner's real code path, in process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hwnas.profiler import runner
from tests.test_runner import run_in_process

ENERGY = [
    "--max-seconds",
    "0.2",
    "--target-ci",
    "0.5",
    "--warmup",
    "1",
    "--energy-seconds",
    "0.8",
    "--energy-idle-seconds",
    "0.5",
]


def write_atomically(path: Path, text: str) -> None:
    """sysfs reads never see half a value: replace the file in one step."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@contextmanager
def hardware(tick: Callable[[float], None], period: float = 0.005) -> Iterator[None]:
    """Call ``tick(seconds since last tick)`` from a thread, like a meter updating."""
    stop = threading.Event()

    def loop() -> None:
        last = time.perf_counter()
        while not stop.wait(period):
            now = time.perf_counter()
            tick(now - last)
            last = now

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def rapl_tree(root: Path, *, start_uj: int = 0, max_uj: int = 2**32) -> Path:
    zone = root / "sys/class/powercap/intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text(f"{start_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    sub = root / "sys/class/powercap/intel-rapl:0:0"  # a sub-zone: must not be added twice
    sub.mkdir(parents=True)
    (sub / "energy_uj").write_text("0\n")
    return zone / "energy_uj"


# A RAPL counter at 7 W (7e6 uJ/s) as a function of the monotonic clock, rewritten every
# 5 ms by a process of its own: a thread in the runner's process can be starved of the GIL
# for long enough to leave a stale value at the start of a phase.
RAPL_AT_7_WATTS = """
import os, sys, time
path, start = sys.argv[1], float(sys.argv[2])
tmp = path + ".tmp"
while True:
    with open(tmp, "w") as fh:
        fh.write(f"{int(7e6 * (time.monotonic() - start)) % 2**32}\\n")
    os.replace(tmp, path)
    time.sleep(0.005)
"""


def test_rapl_energy_per_inference_from_a_counter_at_7_watts(conv_onnx, tmp_path) -> None:
    counter = rapl_tree(tmp_path)
    writer = subprocess.Popen(
        [sys.executable, "-c", RAPL_AT_7_WATTS, str(counter), repr(time.monotonic())]
    )
    try:
        time.sleep(0.2)  # the first values are written
        doc, code = run_in_process(
            [str(conv_onnx), "--energy", "rapl", "--sys-root", str(tmp_path), *ENERGY]
        )
    finally:
        writer.kill()
        writer.wait()
    assert code == 0, doc
    energy = doc["energy"]
    assert energy["method"] == "rapl:package-0"
    # The fake counter lags by at most one tick of its writer (5 ms).
    assert energy["active_w"] == pytest.approx(7.0, rel=0.25)
    assert energy["idle_w"] == pytest.approx(7.0, rel=0.25)
    expected_mj = 1000 * 7.0 * energy["seconds"] / energy["runs"]
    assert energy["energy_mj"] == pytest.approx(expected_mj, rel=0.25)
    assert energy["dynamic_energy_mj"] < 0.2 * energy["energy_mj"]  # same power idle and busy
    assert any("within 2% of idle" in w for w in doc["warnings"])
    assert doc["settings"]["energy"] == "rapl"


def test_rapl_counter_wraparound_is_handled(tmp_path) -> None:
    counter = rapl_tree(tmp_path, start_uj=990, max_uj=1000)
    meter = runner.RaplMeter(str(tmp_path))
    meter.start()
    counter.write_text("30\n")  # wrapped: 10 uJ to the top, then 30
    assert meter.stop() == pytest.approx(40e-6)


def test_power_supply_current_and_voltage_are_integrated(conv_onnx, tmp_path) -> None:
    supply = tmp_path / "sys/class/power_supply/battery"
    supply.mkdir(parents=True)
    (supply / "voltage_now").write_text("4000000\n")  # 4 V
    current = supply / "current_now"
    current.write_text("-500000\n")  # 0.5 A, discharging (negative on many phones)
    phase = [0.0]

    def tick(dt: float) -> None:  # small wobble so the gauge "updates"
        phase[0] += dt
        write_atomically(current, f"{-500000 - int(phase[0] * 1000) % 7}\n")

    with hardware(tick):
        doc, code = run_in_process(
            [str(conv_onnx), "--energy", "auto", "--sys-root", str(tmp_path), *ENERGY]
        )
    assert code == 0, doc
    energy = doc["energy"]
    assert energy["method"] == "power_supply:battery"
    assert energy["active_w"] == pytest.approx(2.0, rel=0.05)
    assert energy["energy_mj"] == pytest.approx(
        1000 * 2.0 * energy["seconds"] / energy["runs"], rel=0.05
    )


def test_hwmon_power_sensors_are_summed(tmp_path) -> None:
    for i, microwatts in enumerate((1_500_000, 500_000)):
        folder = tmp_path / f"sys/class/hwmon/hwmon{i}"
        folder.mkdir(parents=True)
        (folder / "power1_input").write_text(f"{microwatts}\n")
    meter = runner.open_energy_meter("hwmon", str(tmp_path))
    meter.start()
    time.sleep(0.1)
    joules = meter.stop()
    assert joules == pytest.approx(2.0 * 0.1, rel=0.3)


@pytest.mark.parametrize(
    ("backend", "tree", "message"),
    [
        ("rapl", None, "no RAPL package domains"),
        ("power_supply", None, "no power_supply"),
        ("hwmon", None, "no hwmon power sensors"),
        ("auto", None, "no energy meter works on this device"),
        ("rapl", "unreadable", "permission denied"),
    ],
)
def test_missing_or_unreadable_meters_fail_before_measuring(
    conv_onnx, tmp_path, backend: str, tree: str | None, message: str, monkeypatch
) -> None:
    if tree == "unreadable":
        rapl_tree(tmp_path)
        real_open = open

        def deny(path, *args, **kwargs):  # as a non-root user on Linux >= 5.10
            if str(path).endswith("energy_uj"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr("builtins.open", deny)
    doc, code = run_in_process(
        [str(conv_onnx), "--energy", backend, "--sys-root", str(tmp_path), *ENERGY]
    )
    assert code == 2 and doc["error"]["kind"] == "energy"
    assert message in doc["error"]["message"] and "--energy none" in doc["error"]["message"]


def test_energy_reaches_the_stored_measurement(conv_onnx, tmp_path) -> None:
    from hwnas.devices.local import LocalTransport
    from hwnas.onnx_model import check_model
    from hwnas.profiler.batch import measurement_from_runner, parse_runner_output
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.records import DeviceSpec

    settings = ProfileSettings(
        max_seconds=0.2, target_ci=0.5, warmup=1, energy="rapl", energy_seconds=0.5
    )
    assert settings.runner_args()[-4:] == ["--energy", "rapl", "--energy-seconds", "0.5"]
    counter = rapl_tree(tmp_path)
    start = time.perf_counter()

    def tick(_dt: float) -> None:
        write_atomically(counter, f"{int(3e6 * (time.perf_counter() - start))}\n")

    with hardware(tick):
        done = LocalTransport().run(
            [
                sys.executable,
                str(runner.__file__),
                str(conv_onnx),
                *settings.runner_args(),
                "--energy-idle-seconds",
                "0.2",
                "--sys-root",
                str(tmp_path),
            ],
            timeout=60,
        )
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    m = measurement_from_runner(doc, model=check_model(conv_onnx), device=DeviceSpec(name="local"))
    assert m.energy_method == "rapl:package-0"
    assert m.energy_mj == pytest.approx(doc["energy"]["energy_mj"]) and m.energy_mj > 0
    assert m.settings["energy_details"]["active_w"] == pytest.approx(3.0, rel=0.25)


def test_rapl_through_the_cli_on_this_machine(capsys, conv_onnx) -> None:
    from hwnas.cli import main

    code = main(
        [
            "profile",
            str(conv_onnx),
            "--energy",
            "rapl",
            "--max-seconds",
            "0.2",
            "--energy-seconds",
            "0.3",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    zones = list(Path("/sys/class/powercap").glob("intel-rapl:*/energy_uj"))
    if not zones:  # this machine (and CI): no RAPL at all
        assert code == 2 and "no RAPL package domains" in err and "--energy none" in err
    elif not os.access(zones[0], os.R_OK):  # a laptop, as a normal user
        assert code == 2 and "permission denied" in err
    else:
        assert code == 0 and json.loads(out)["measurements"][0]["energy_mj"] > 0


def test_runner_and_host_agree_on_the_backends() -> None:
    from hwnas.profiler.settings import ENERGY_BACKENDS

    assert ENERGY_BACKENDS == runner.ENERGY_BACKENDS
