"""`hwnas quantize` (hwnas.quantize_model, issue 12 item 2): int8 copies of a model with
onnxruntime's quantization, dynamic or static (seeded random or the user's calibration
inputs), QDQ or QOperator; the result runs, agrees with the float model, is smaller, and
can be profiled like any model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import ModelNotFoundError, ParameterError, ShapeError
from hwnas.profiler.quantize import quantize_model
from tests import onnx_models


@pytest.fixture(scope="module")
def float_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return onnx_models.conv_model(tmp_path_factory.mktemp("q") / "f.onnx", channels=64)


def outputs(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize(
    ("mode", "fmt", "ops"),
    [
        ("dynamic", "qdq", {"ConvInteger", "DynamicQuantizeLinear"}),
        ("static", "qdq", {"QuantizeLinear", "DequantizeLinear"}),
        ("static", "qoperator", {"QLinearConv"}),
    ],
)
def test_each_mode_writes_a_smaller_model_that_agrees(
    float_model: Path, tmp_path: Path, mode: str, fmt: str, ops: set[str]
) -> None:
    done = quantize_model(float_model, tmp_path / "q.onnx", mode=mode, format=fmt)
    assert ops <= set(done.quantized_ops) and done.size_ratio < 0.6
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    want, got = outputs(float_model, x), outputs(done.path, x)
    # int8 keeps the outputs' pattern: strongly correlated with the float model's.
    assert np.corrcoef(want.ravel(), got.ravel())[0, 1] > 0.95
    assert done.to_dict()["mode"] == mode


def test_static_calibration_is_seeded_and_takes_the_users_inputs(
    float_model: Path, tmp_path: Path
) -> None:
    a = quantize_model(float_model, tmp_path / "a.onnx", calibration=4, seed=3)
    b = quantize_model(float_model, tmp_path / "b.onnx", calibration=4, seed=3)
    c = quantize_model(float_model, tmp_path / "c.onnx", calibration=4, seed=4)
    assert a.path.read_bytes() == b.path.read_bytes() != c.path.read_bytes()
    data = tmp_path / "calib.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=3.0 * rng.standard_normal((6, 1, 3, 32, 32)).astype(np.float32))
    mine = quantize_model(float_model, tmp_path / "m.onnx", calibration_data=data)
    assert mine.calibration == 16 and mine.path.read_bytes() != a.path.read_bytes()
    np.savez(tmp_path / "wrong.npz", image=np.zeros((2, 1, 3, 32, 32), np.float32))
    with pytest.raises(ParameterError, match=r"no array for input\(s\) x .*has image"):
        quantize_model(float_model, tmp_path / "w.onnx", calibration_data=tmp_path / "wrong.npz")


def test_bad_input_names_the_problem(float_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="mode must be one of dynamic, static"):
        quantize_model(float_model, tmp_path / "q.onnx", mode="int4")
    with pytest.raises(ParameterError, match="calibration must be an int >= 1"):
        quantize_model(float_model, tmp_path / "q.onnx", calibration=0)
    with pytest.raises(ParameterError, match="is the model itself"):
        quantize_model(float_model, float_model)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        quantize_model(tmp_path / "none.onnx", tmp_path / "q.onnx")
    dynamic = onnx_models.dynamic_model(tmp_path / "d.onnx")
    with pytest.raises(ShapeError, match=r"--shape x="):
        quantize_model(dynamic, tmp_path / "q.onnx")
    fixed = quantize_model(dynamic, tmp_path / "q.onnx", shapes={"x": (1, 3, 16, 16)})
    assert fixed.quantized_ops


def test_the_command_and_profiling_the_result(
    float_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "q.onnx"
    code = main(["quantize", str(float_model), "-o", str(out), "--format", "qoperator", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == str(out) and doc["format"] == "qoperator" and doc["size_ratio"] < 0.6
    assert main(["quantize", str(float_model), "-o", str(out), "--mode", "int4"]) == 2
    assert "--mode must be one of" in capsys.readouterr().err
    assert hwnas.quantize_model is quantize_model
    (measured,) = hwnas.profile([out], store=tmp_path / "s.db", max_seconds=0.2, op_profile=True)
    assert "QLinearConv" in measured.op_profile["ops"]
