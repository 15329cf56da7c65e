"""Energy from meters read through a command: the Raspberry Pi 5's PMIC (`--energy pmic`,
`vcgencmd pmic_read_adc`) and a user's meter command (`--energy command:"CMD ARGS"`).

The meters are fakes in tests/fake_meters that draw more under load, an idle power plus
K_W watts per CPU the runner's process keeps busy. Those of power (`vcgencmd`, first on
PATH as the runner finds the real one, and `watts_meter`) print what a process of the
test's writes from the runner's CPU-time clock (tests/test_energy.py's writer); the one
of cumulative energy (`joules_meter.py`) reads the CPU-time clock of its parent, the
runner, itself. So, as in tests/test_energy.py, the model's dynamic energy is checked
against what the fake's power model implies, not only the gross figure.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hwnas.profiler import runner
from tests.test_energy import (
    DYNAMIC_REL,
    K_W,
    PhaseSpy,
    expected_dynamic_mj,
    load_driven_meter,
    local_device,
)
from tests.test_runner import run_in_process

FAKES = Path(__file__).resolve().parent / "fake_meters"

#: Longer phases than tests/test_energy.py's: a read of a sampled meter command takes a
#: few milliseconds and comes every 50 ms, so a phase holds some 20 readings a second
#: where a sysfs meter gives 50. The idle phase is longer too: the writer's lag carries
#: some of the timed runs' power into its start, which counts less in a longer phase.
ENERGY = [
    "--max-seconds",
    "0.2",
    "--target-ci",
    "0.5",
    "--warmup",
    "1",
    "--energy-seconds",
    "1.5",
    "--energy-idle-seconds",
    "1.0",
]

#: How far the dynamic energy of the sampled meter commands may stray from the fake's
#: model: tests/test_energy.py's 15% for its meters read every 20 ms, a little more for
#: fewer readings. Measured here, 16 runs each on 2 shared cores at a load average of 2-5:
#: 0.91-1.06 of the model (the count of cumulative joules: 0.99-1.03).
SAMPLED_REL = 0.2

#: The fake Pi 5's idle draw: its eleven constant rails (0.80 W) plus 1.2 W on VDD_CORE.
PMIC_IDLE_W = 2.0


#: The fake meter command of cumulative joules (its parent must be the runner: no shell).
JOULES = shlex.join([sys.executable, "-I", "-S", str(FAKES / "joules_meter.py")])


@pytest.fixture
def power_file(tmp_path: Path) -> Iterator[Path]:
    """Where the writer keeps the fake's power: on /dev/shm where there is one, as a disk
    can stall a rewrite for longer than a read (see tests/test_energy.py's sys_root)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path / "power_uw"
        return
    folder = Path(tempfile.mkdtemp(prefix="hwnas-meter-", dir=shm))
    try:
        yield folder / "power_uw"
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def fake_path(tmp_path: Path, power_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/fake_meters first on PATH: its `vcgencmd` is the fake Pi 5. The power stays
    at PMIC_IDLE_W unless a test runs `drawing()`; the joules fake draws PMIC_IDLE_W plus
    K_W per busy CPU."""
    power_file.write_text(f"{int(PMIC_IDLE_W * 1e6)}\n")
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_METER_POWER_FILE", str(power_file))
    monkeypatch.setenv("FAKE_METER_IDLE_W", repr(PMIC_IDLE_W))
    monkeypatch.setenv("FAKE_METER_K_W", repr(K_W))
    monkeypatch.setenv("FAKE_METER_COUNTER", str(tmp_path / "reads"))
    monkeypatch.delenv("FAKE_METER_BREAK", raising=False)
    return FAKES


def drawing(*, k_w: float = K_W, watch: str | None = None) -> Any:
    """The fake's power following the load: PMIC_IDLE_W plus `k_w` per CPU the runner
    keeps busy (in this process, or in the one whose command line holds `watch`)."""
    path = Path(os.environ["FAKE_METER_POWER_FILE"])
    return load_driven_meter(path, "power_uw", idle_w=PMIC_IDLE_W, k_w=k_w, watch=watch)


@pytest.fixture
def phases(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """(wall s, CPU s) of the idle phase, then of the active phase, of the next run."""
    seen: list[tuple[float, float]] = []
    real = runner.open_energy_meter
    monkeypatch.setattr(
        runner, "open_energy_meter", lambda backend, root="/": PhaseSpy(real(backend, root), seen)
    )
    return seen


def check_dynamic(
    energy: dict[str, Any], phases: list[tuple[float, float]], rel: float = DYNAMIC_REL
) -> None:
    """The dynamic energy is what the fake's model implies: K_W x the CPU time the runs
    added above the idle phase's rate. A runner reporting gross energy as dynamic, or 0,
    fails: the idle draw is most of the gross figure, and the runs keep a CPU busy."""
    expected = expected_dynamic_mj(phases, energy)
    assert expected > 0.1 * 1000 * K_W * energy["seconds"] / energy["runs"], (phases, energy)
    assert energy["dynamic_energy_mj"] == pytest.approx(expected, rel=rel), (phases, energy)
    assert energy["dynamic_energy_mj"] < 0.9 * energy["energy_mj"], energy


def profile(model: Path, energy: str, *extra: str) -> tuple[dict[str, Any], int]:
    return run_in_process([str(model), "--energy", energy, *ENERGY, *extra])


# --------------------------------------------------------------------------- parsing

#: `vcgencmd pmic_read_adc` on a Raspberry Pi 5 under load, from the README of
#: github.com/jfikar/RPi5-power.
PI5_OUTPUT = """\
 3V7_WL_SW_A current(0)=0.00000000A
   3V3_SYS_A current(1)=0.06245952A
   1V8_SYS_A current(2)=0.16102850A
  DDR_VDD2_A current(3)=0.00780744A
  DDR_VDDQ_A current(4)=0.00000000A
   1V1_SYS_A current(5)=0.17566740A
    0V8_SW_A current(6)=0.32791250A
  VDD_CORE_A current(7)=10.87674000A
   3V3_DAC_A current(17)=0.00036630A
   3V3_ADC_A current(18)=0.00042735A
   0V8_AON_A current(16)=0.00579975A
      HDMI_A current(22)=0.01367520A
 3V7_WL_SW_V volt(8)=3.79999600V
   3V3_SYS_V volt(9)=3.30632200V
   1V8_SYS_V volt(10)=1.79828900V
  DDR_VDD2_V volt(11)=1.10292900V
  DDR_VDDQ_V volt(12)=0.60476130V
   1V1_SYS_V volt(13)=1.10439400V
    0V8_SW_V volt(14)=0.80256330V
  VDD_CORE_V volt(15)=0.89745940V
   3V3_DAC_V volt(20)=3.30494200V
   3V3_ADC_V volt(21)=3.30219400V
   0V8_AON_V volt(19)=0.79736190V
      HDMI_V volt(23)=5.07056000V
     EXT5V_V volt(24)=5.06788000V
      BATT_V volt(25)=3.01110800V
"""


def test_pmic_rails_pair_each_current_with_its_voltage() -> None:
    rails = runner.parse_pmic_rails(PI5_OUTPUT)
    assert len(rails) == 12 and "EXT5V" not in rails and "BATT" not in rails
    assert rails["VDD_CORE"] == pytest.approx(10.87674 * 0.8974594)
    # Each _A line with the _V line of its name, not the one of the same position.
    lines = PI5_OUTPUT.splitlines()
    shuffled = "\n".join(lines[12:] + lines[:12][::-1])
    assert runner.parse_pmic_rails(shuffled) == rails
    assert sum(rails.values()) == pytest.approx(10.799894, abs=1e-6)  # worked out by hand


@pytest.mark.parametrize(
    "text",
    [
        "",
        'vc_gencmd_read_response returned -1\nerror=1 error_msg="Command not registered"\n',
        "   VDD_CORE_A current(7)=0.75A\n",  # a current without its voltage
        "   VDD_CORE_A current(7)=0.75A\n   VDD_CORE_V volt(15)=xV\n",
    ],
)
def test_pmic_output_without_a_rail_is_refused_quoting_it(text: str) -> None:
    with pytest.raises(runner.MeterReadError, match="no rail with both a current and a voltage"):
        runner.parse_pmic_rails(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("12.34 J\n", "joules", 12.34),
        ("energy since boot\n1.5e3 joules\n\n", "joules", 1500.0),
        ("830 mWh", "joules", 830 * 3.6),
        ("42\n", "joules", 42.0),  # a bare number is joules
        ("t=3.2 s\nP = 5.1W\n", "watts", 5.1),
        ("channel 1: 750 mW", "watts", 0.75),
        ("4.2 watts", "watts", 4.2),
    ],
)
def test_a_meter_command_gives_joules_or_watts_by_its_unit(
    text: str, kind: str, value: float
) -> None:
    got_kind, got = runner.parse_meter_reading(text)
    assert got_kind == kind and got == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "printed no number"),
        ("meter ready\n", "printed no number on its last line"),
        ("5.02 V\n", "'V' is neither energy"),
        ("87 percent\n", "'percent' is neither"),
    ],
)
def test_a_meter_command_without_a_reading_is_refused(text: str, message: str) -> None:
    with pytest.raises(runner.MeterReadError, match=message):
        runner.parse_meter_reading(text)


# --------------------------------------------------------------------------- pmic


def test_pmic_dynamic_energy_is_what_the_load_draws(conv_onnx, fake_path, phases) -> None:
    with drawing():
        doc, code = profile(conv_onnx, "pmic")
    assert code == 0, doc
    energy = doc["energy"]
    assert energy["method"] == "pmic:12 rails" and doc["settings"]["energy"] == "pmic"
    check_dynamic(energy, phases, rel=SAMPLED_REL)
    idle_wall, idle_cpu = phases[0]
    # The fake's idle draw, plus whatever CPU the runner's process spent while idle.
    assert energy["idle_w"] == pytest.approx(
        PMIC_IDLE_W + K_W * idle_cpu / idle_wall, abs=0.1 * K_W
    )
    # The runs keep at least a tenth of a CPU busy (about half of one on a loaded machine).
    assert energy["active_w"] > energy["idle_w"] + K_W / 10
    assert not any("within 2% of idle" in w for w in doc["warnings"])


def test_pmic_through_the_cli_with_vcgencmd_on_path(capsys, conv_onnx, fake_path, tmp_path) -> None:
    """The whole path: CLI option, local device, the runner in a process of its own that
    finds `vcgencmd` on PATH, the store."""
    from hwnas.cli import main
    from hwnas.store import Store

    store = tmp_path / "s.db"
    # A device whose Python marks the runner's command line (-X takes any name): the
    # runner's processes (the serving one and the child it forks per model) are the ones
    # the fake meter follows, and no other test's.
    marker = f"hwnas_test={tmp_path}"
    local_device(tmp_path, "pi5", f'{shlex.quote(sys.executable)} -X {shlex.quote(marker)} "$@"')
    argv = ["profile", str(conv_onnx), "--device", "pi5", "--energy", "pmic"]
    argv += ["--max-seconds", "0.2", "--energy-seconds", "1.0", "--energy-idle-seconds", "0.5"]
    with drawing(watch=marker):
        code = main([*argv, "--json", "--store", str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    details = m["settings"]["energy_details"]
    assert m["energy_method"] == "pmic:12 rails" and m["settings"]["energy"] == "pmic"
    assert m["energy_mj"] == details["energy_mj"] > 0
    # The runner's thread keeps at least a tenth of a CPU busy (a deaf meter: 0 more).
    assert details["active_w"] - details["idle_w"] > K_W / 10, details
    assert 0 < details["dynamic_energy_mj"] < details["energy_mj"]
    with Store(store) as s:
        (stored,) = s.measurements()
    assert stored.measurement.settings["energy_details"] == details


@pytest.mark.parametrize(
    ("break_as", "message"),
    [
        (None, "command not found: 'vcgencmd'"),
        ("missing-subcommand", "this vcgencmd has no pmic_read_adc"),
        ("vcio", "add the user to the video group"),
        ("garbage", "printed no rail with both a current and a voltage"),
    ],
)
def test_pmic_that_cannot_be_read_fails_before_measuring(
    conv_onnx, fake_path, monkeypatch, tmp_path, break_as: str | None, message: str
) -> None:
    if break_as is None:
        monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no vcgencmd
    else:
        monkeypatch.setenv("FAKE_METER_BREAK", break_as)
    doc, code = profile(conv_onnx, "pmic")
    assert code == 2 and doc["error"]["kind"] == "energy", doc
    text = doc["error"]["message"]
    assert text.startswith("--energy pmic cannot read the PMIC")
    assert message in text and "--energy none" in text
    if break_as is None:
        assert "raspi-utils" in text and "Raspberry Pi 5" in text
    if break_as == "missing-subcommand":
        assert "Command not registered" in text and "rpi-eeprom-update" in text


def test_pmic_failing_its_closing_read_costs_only_the_energy(
    conv_onnx, fake_path, monkeypatch
) -> None:
    real = runner.open_energy_meter

    def breaking(backend: str, root: str = "/") -> Any:
        meter = real(backend, root)
        read = meter.read_watts
        closing = [0]

        def read_watts() -> float:  # the closing reads are the main thread's
            if threading.current_thread() is threading.main_thread():
                closing[0] += 1
                if closing[0] == 2:  # the runs' closing read: vcgencmd fails for real
                    os.environ["FAKE_METER_BREAK"] = "vcio"
            return read()

        meter.read_watts = read_watts
        return meter

    monkeypatch.setattr(runner, "open_energy_meter", breaking)
    doc, code = profile(conv_onnx, "pmic")
    assert code == 0, doc
    assert doc["latency_ms"]["n"] >= 1 and doc["latency_ms"]["median"] > 0
    energy = doc["energy"]
    assert energy["method"] is None and energy["energy_mj"] is None
    assert energy["meter"] == "pmic:12 rails"
    assert "failed its closing read" in energy["error"] and "video group" in energy["error"]
    assert (
        f"energy was not measured ({energy['error']}); the latency figures stand"
        in (doc["warnings"])
    )


def test_device_check_lists_the_pmic(fake_path, monkeypatch, tmp_path) -> None:
    (pmic,) = runner.energy_meters(str(tmp_path))  # an empty sysfs: only the PMIC
    assert pmic == {
        "meter": "pmic",
        "path": str(FAKES / "vcgencmd"),
        "rails": 12,
        "readable": True,
    }
    monkeypatch.setenv("FAKE_METER_BREAK", "missing-subcommand")
    (pmic,) = runner.energy_meters(str(tmp_path))
    assert pmic["readable"] is False and "Raspberry Pi 5" in pmic["error"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no vcgencmd: no PMIC to list
    assert runner.energy_meters(str(tmp_path)) == []


# --------------------------------------------------------------------------- command


def test_a_cumulative_joules_command_gives_the_dynamic_energy(conv_onnx, fake_path, phases) -> None:
    doc, code = profile(conv_onnx, f"command:{JOULES}")
    assert code == 0, doc
    energy = doc["energy"]
    assert energy["method"] == f"command:{JOULES}" == doc["settings"]["energy"]
    assert energy["reading"].startswith("joules (cumulative)")
    check_dynamic(energy, phases)
    # Read at the edges of each phase, the count is exact: the idle draw is the fake's.
    idle_wall, idle_cpu = phases[0]
    assert energy["idle_w"] == pytest.approx(PMIC_IDLE_W + K_W * idle_cpu / idle_wall, rel=0.05)


def test_a_watts_command_is_sampled_and_gives_the_dynamic_energy(
    conv_onnx, fake_path, phases
) -> None:
    with drawing():
        doc, code = profile(conv_onnx, "command:watts_meter")
    assert code == 0, doc
    energy = doc["energy"]
    assert energy["reading"] == "watts, sampled"
    check_dynamic(energy, phases, rel=SAMPLED_REL)


@pytest.mark.parametrize("command", [JOULES, "watts_meter"])
def test_a_meter_deaf_to_the_load_gives_no_dynamic_energy(
    conv_onnx, fake_path, monkeypatch, command: str
) -> None:
    monkeypatch.setenv("FAKE_METER_K_W", "0")
    with drawing(k_w=0.0):
        doc, code = profile(conv_onnx, f"command:{command}")
    assert code == 0, doc
    energy = doc["energy"]
    # A process per read starts and ends a few milliseconds late on a loaded machine,
    # so the cumulative count's span strays from the phase's by a few percent; the
    # load-following meters above show 50-80% of the gross figure as dynamic.
    assert energy["active_w"] == pytest.approx(PMIC_IDLE_W, rel=0.05)
    assert energy["dynamic_energy_mj"] < 0.1 * energy["energy_mj"]
    assert any("within 2% of idle" in w for w in doc["warnings"])


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("no-such-meter --read", "command not found: 'no-such-meter'"),
        (JOULES, "exited with status 3, printing 'meter: USB device"),
        ("echo 5.02 V", "'V' is neither energy"),
        ("echo meter ready", "printed no number on its last line"),
    ],
)
def test_a_meter_command_that_fails_stops_the_run_before_measuring(
    conv_onnx, fake_path, monkeypatch, command: str, message: str
) -> None:
    monkeypatch.setenv("FAKE_METER_BREAK", "exit")
    doc, code = profile(conv_onnx, f"command:{command}")
    assert code == 2 and doc["error"]["kind"] == "energy", doc
    text = doc["error"]["message"]
    assert text.startswith("--energy command:") and message in text
    assert "runs without a shell" in text and "--energy none" in text


def test_a_meter_command_failing_at_the_end_costs_only_the_energy(
    conv_onnx, fake_path, monkeypatch
) -> None:
    # Reads: the opening one, the idle phase's two, the runs' start; the runs' end fails.
    monkeypatch.setenv("FAKE_METER_BREAK", "exit-after:4")
    doc, code = profile(conv_onnx, f"command:{JOULES}")
    assert code == 0, doc
    assert doc["latency_ms"]["n"] >= 1 and doc["latency_ms"]["median"] > 0
    energy = doc["energy"]
    assert energy["energy_mj"] is None and energy["dynamic_energy_mj"] is None
    assert "failed a read" in energy["error"] and "exited with status 3" in energy["error"]
    assert any(w.startswith("energy was not measured") for w in doc["warnings"])


def test_a_meter_command_is_never_run_through_a_shell(conv_onnx, tmp_path) -> None:
    marker = tmp_path / "shell-ran"
    # Through a shell, `;` would end echo's command and run touch; as an argument list,
    # echo prints it all, ending in "2 J".
    doc, code = profile(conv_onnx, f"command:echo ; touch {marker} ; echo 2 J")
    assert code == 0, doc
    assert not marker.exists()


# --------------------------------------------------------------------------- settings


def test_the_energy_setting_takes_the_new_meters_and_keeps_a_command_canonical() -> None:
    from hwnas.errors import ParameterError
    from hwnas.profiler.settings import ProfileSettings

    assert ProfileSettings(energy="pmic").runner_args()[-4:-2] == ["--energy", "pmic"]
    spaced = ProfileSettings(energy="command:usbmeter   --port '/dev/ttyUSB0' \"read\"")
    assert spaced.energy == "command:usbmeter --port /dev/ttyUSB0 read"
    assert ProfileSettings.from_dict(spaced.to_dict()) == spaced
    args = spaced.runner_args()
    assert args[args.index("--energy") + 1] == "command:usbmeter --port /dev/ttyUSB0 read"
    # What the host accepts, the runner parses.
    assert runner.parse_args(["m.onnx", *args]).energy == spaced.energy
    for bad in ("command:", "command:   ", "command:meter 'unclosed", "pmic5", "COMMAND:x"):
        with pytest.raises(ParameterError, match="energy"):
            ProfileSettings(energy=bad)


def test_another_meter_is_another_measurement() -> None:
    from hwnas.profiler.settings import ProfileSettings

    def key(energy: str) -> str:
        return ProfileSettings(energy=energy).result_key()

    keys = {
        key(e) for e in ("none", "rapl", "pmic", "command:meter --a", "command:meter --b", "auto")
    }
    assert len(keys) == 6
    # The same command written another way is the same meter.
    assert key("command:meter  '--a'") == key("command:meter --a")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("command:", "names no command"),
        ("command:meter 'unclosed", "the command does not parse"),
        ("pmic5", 'command:"CMD ARGS"'),
    ],
)
def test_the_runner_refuses_a_bad_energy_option(conv_onnx, value: str, message: str) -> None:
    doc, code = run_in_process([str(conv_onnx), "--energy", value])
    assert code == 2 and doc["error"]["kind"] == "usage"
    assert message in doc["error"]["message"]


def test_the_cli_records_the_command_and_keys_measurements_by_it(
    capsys, conv_onnx, fake_path, tmp_path
) -> None:
    """`--energy command:...` parses through the CLI; the store keys each measurement by
    the meter (a measurement is reused only under the same key), a command written with
    other spacing being the same meter."""
    from hwnas.cli import main
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.store import Store

    store = tmp_path / "s.db"
    base = ["profile", str(conv_onnx), "--max-seconds", "0.2", "--energy-seconds", "0.4"]
    base += ["--energy-idle-seconds", "0.3", "--json", "--store", str(store)]
    joules, spaced, other = JOULES, JOULES.replace(" ", "   "), f"{JOULES} --another-meter"
    for command in (joules, spaced, other):
        code = main([*base, "--energy", f"command:{command}"])
        out, err = capsys.readouterr()
        assert code == 0, err
        (m,) = json.loads(out)["measurements"]
        assert (
            m["energy_method"]
            == m["settings"]["energy"]
            == f"command:{shlex.join(shlex.split(command))}"
        )
        assert m["energy_mj"] > 0

    def key(command: str) -> str:
        settings = ProfileSettings(
            max_seconds=0.2, energy_seconds=0.4, energy_idle_seconds=0.3, energy=command
        )
        return settings.result_key()

    with Store(store) as s:
        stored = s.measurements()
        assert {m.settings_key for m in stored} == {
            key(f"command:{joules}"),
            key(f"command:{other}"),
        }
        assert s.count(settings_key=key(f"command:{joules}")) == 2
