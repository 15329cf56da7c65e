"""A batch says each warning about the machine once, not once per model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import CompletedRun
from hwnas.profiler.batch import profile_batch
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec
from hwnas.store import Store
from tests import onnx_models


class PowersaveTransport(LocalTransport):
    """This machine, but the runner reads /sys from ``root``, whose governor is powersave."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        governor = root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
        governor.parent.mkdir(parents=True)
        governor.write_text("powersave\n")
        self.root = root

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        if any(str(a).endswith(".py") for a in argv[1:2]):  # the runner
            argv = [*argv, "--sys-root", str(self.root)]
        return super().run(argv, timeout=timeout)


def test_a_batch_on_a_powersave_machine_says_the_governor_once(tmp_path) -> None:
    models = [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(3)]
    settings = ProfileSettings(max_seconds=0.3, target_ci=0.05, warmup=2)
    spec = DeviceSpec(name="slowpi", transport="local")
    with Store(tmp_path / "s.db") as store:
        result = profile_batch(
            PowersaveTransport(tmp_path / "root"),
            spec,
            models,
            settings,
            sink=lambda m, _job: store.add(m),
        )
        stored = [s.measurement for s in store.measurements()]
    assert result.errors == [] and len(result.measurements) == 3
    said = [w for _, m in result.measurements for w in m.warnings if "governor is" in w]
    assert len(said) == 1 and "'powersave'" in said[0]
    assert "governor is" in " ".join(result.measurements[0][1].warnings)
    # The store keeps each measurement's own warnings.
    assert all(any("governor is" in w for w in m.warnings) for m in stored)
