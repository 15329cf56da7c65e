"""Execution providers (issue 12 item 1): `--provider NAME[:key=value,...]` on `profile`
and `devices add`, refused before anything is timed when the device's onnxruntime lacks
it (listing the ones it has), part of the settings and the fingerprint, and the share of
nodes and time each provider took in `--op-profile`, with the ops that fell back to the
CPU named. This machine's onnxruntime has only the CPU (and Azure) providers, so the
fall-back is tested on a recorded profile of two providers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

import hwnas
from hwnas.cli import main
from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import CompletedRun
from hwnas.errors import ParameterError, UsageError
from hwnas.profiler import runner
from hwnas.profiler.batch import profile_batch
from hwnas.profiler.settings import ProfileSettings, check_provider
from hwnas.records import DeviceSpec
from tests import onnx_models

FAST = {"max_seconds": 0.2, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


def test_provider_names_and_options_are_kept_one_way() -> None:
    assert check_provider("xnnpack") == "XnnpackExecutionProvider"
    assert check_provider("QNNExecutionProvider") == "QNNExecutionProvider"
    assert (
        check_provider("xnnpack: intra_op_num_threads=2 ,a=b")
        == "XnnpackExecutionProvider:a=b,intra_op_num_threads=2"
    )
    with pytest.raises(ParameterError, match="names no execution provider"):
        check_provider("fastest")
    with pytest.raises(ParameterError, match="option 'threads' is not key=value"):
        check_provider("xnnpack:threads")
    settings = ProfileSettings(provider="nnapi:flags=USE_FP16")
    args = settings.runner_args()
    assert args[args.index("--provider") + 1] == "NnapiExecutionProvider"
    assert args[args.index("--provider-option") + 1] == "flags=USE_FP16"
    assert ProfileSettings.from_dict(settings.to_dict()) == settings
    assert "provider" not in ProfileSettings().to_dict()  # the device's, as before


def test_an_unknown_provider_is_refused_listing_the_ones_the_device_has(
    conv_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["profile", str(conv_onnx), "--provider", "xnnpack", "--store", str(tmp_path / "s.db")]
    )
    err = capsys.readouterr().err
    assert code != 0 and "'XnnpackExecutionProvider' is not available" in err
    assert "'CPUExecutionProvider'" in err  # what it has


class Recording(LocalTransport):
    """This machine, remembering every runner command line."""

    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[list[str]] = []

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        self.argvs.append([str(a) for a in argv])
        return super().run(argv, timeout=timeout)


def test_a_device_registered_with_a_provider_runs_on_it(tmp_path: Path) -> None:
    model = onnx_models.conv_model(tmp_path / "m.onnx")
    phone = DeviceSpec(name="phone", transport="local", execution_provider="NnapiExecutionProvider")
    transport = Recording()
    # This machine has no NNAPI: the runner refuses before timing anything, listing what
    # it has, and the batch stops (every model would fail the same way).
    with pytest.raises(UsageError, match=r"'NnapiExecutionProvider' is not available.*CPU"):
        profile_batch(transport, phone, [model, model], ProfileSettings(**FAST))
    assert len(transport.argvs) == 1
    assert any(a[a.index("--provider") + 1] == "NnapiExecutionProvider" for a in transport.argvs)
    # profile --provider overrides the device's.
    cpu = profile_batch(Recording(), phone, [model], ProfileSettings(provider="cpu", **FAST))
    assert cpu.errors == [] and len(cpu.measurements) == 1


def test_provider_options_are_part_of_the_fingerprint(conv_onnx: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    (plain,) = hwnas.profile([conv_onnx], store=store, **FAST)
    # The CPU provider takes no options and ignores unknown ones: the same speed, but
    # the fingerprint tells the two apart, as it would for a provider that uses them.
    (tuned,) = hwnas.profile([conv_onnx], store=store, provider="cpu:arena=off", **FAST)
    assert plain.fingerprint.execution_provider == "CPUExecutionProvider"
    assert tuned.fingerprint.execution_provider == "CPUExecutionProvider:arena=off"
    assert plain.fingerprint.hash != tuned.fingerprint.hash


def _node(name: str, op: str, provider: str, ts: int, dur: int) -> dict:
    return {
        "cat": "Node",
        "name": f"{name}_kernel_time",
        "ts": ts,
        "dur": dur,
        "args": {"op_name": op, "provider": provider},
    }


def test_the_op_profile_shares_time_by_provider_and_names_the_cpu_fallbacks() -> None:
    # As onnxruntime's profiler writes it for a quantized model on XNNPACK: the QLinear
    # ops ran on XNNPACK, a DequantizeLinear and a Softmax fell back to the CPU.
    events = [
        _node("conv1", "QLinearConv", "XnnpackExecutionProvider", 100, 600),
        _node("conv2", "QLinearConv", "XnnpackExecutionProvider", 700, 200),
        _node("dq", "DequantizeLinear", "CPUExecutionProvider", 900, 50),
        _node("softmax", "Softmax", "CPUExecutionProvider", 950, 150),
    ]
    profile = runner.summarize_profile_events(events, runs=1)
    xnnpack, cpu = profile["providers"].values()
    assert list(profile["providers"]) == ["XnnpackExecutionProvider", "CPUExecutionProvider"]
    assert xnnpack["nodes"] == 2 and xnnpack["time_share"] == pytest.approx(0.8)
    assert cpu["node_share"] == 0.5 and cpu["ops"] == ["DequantizeLinear", "Softmax"]
    assert profile["ms_per_inference"] == pytest.approx(1.0)
    (warning,) = runner.provider_warnings(profile, "XnnpackExecutionProvider:threads=2")
    assert "2 node(s) ran on the CPU, not on XnnpackExecutionProvider (20%" in warning
    assert "DequantizeLinear, Softmax" in warning
    assert runner.provider_warnings(profile, "CPUExecutionProvider") == []


def test_op_profile_says_how_the_op_times_add_up(
    conv_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        ["profile", str(conv_onnx), "--op-profile", "--store", str(tmp_path / "s.db"), "--json"]
        + ["--max-seconds", "0.3"]
    )
    assert code == 0
    (m,) = json.loads(capsys.readouterr().out)["measurements"]
    profile = m["op_profile"]
    assert profile["providers"]["CPUExecutionProvider"]["node_share"] == 1.0
    assert profile["sum_to_median"] == pytest.approx(
        profile["ms_per_inference"] / m["latency_ms"]["median"]
    )
    code = main(
        ["profile", str(conv_onnx), "--op-profile", "--store", str(tmp_path / "t.db")]
        + ["--max-seconds", "0.3"]
    )
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0 and "CPUExecutionProvider: 100% of nodes" in out
    assert "the per-op times sum to" in out


def test_devices_add_keeps_the_provider(capsys: pytest.CaptureFixture) -> None:
    code = main(["devices", "add", "phone", "--adb", "R58M", "--provider", "nnapi", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["device"]["execution_provider"] == (
        "NnapiExecutionProvider"
    )
    code = main(["devices", "add", "pi", "--ssh", "pi@10.0.0.2", "--provider", "fast"])
    assert code != 0 and "names no execution provider" in capsys.readouterr().err
