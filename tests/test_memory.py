"""The static memory estimate (hwnas.predictors.memory, `hwnas memory`): weights plus the
largest set of live activations, worked out by hand on a small graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import hwnas
from hwnas.cli import main
from hwnas.errors import InvalidModelError, ModelNotFoundError, ShapeError
from hwnas.predictors.memory import estimate_memory
from tests import onnx_models

MB = 2**20


def small_graph(path: Path, *, dynamic: bool = False) -> Path:
    """x[1,4,8,8] -> Conv(8, 3x3, pad 1) -> a -> Relu -> b -> Reshape -> c[1,512]
    -> MatMul(512x10) -> y[1,10] (the batch may be dynamic)."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.random((8, 4, 3, 3), dtype=np.float32), "w")
    w2 = numpy_helper.from_array(rng.random((512, 10), dtype=np.float32), "w2")
    shape = numpy_helper.from_array(np.array([-1, 512], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("Reshape", ["b", "shape"], ["c"], name="flat"),
        helper.make_node("MatMul", ["c", "w2"], ["y"], name="fc"),
    ]
    dims = ["n", 4, 8, 8] if dynamic else [1, 4, 8, 8]
    graph = helper.make_graph(
        nodes,
        "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 10] if dynamic else [1, 10])],
        initializer=[w, w2, shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


def test_weights_and_the_largest_live_set_by_hand(tmp_path: Path) -> None:
    found = estimate_memory(small_graph(tmp_path / "m.onnx"))
    # Weights: the conv's 8x4x3x3 and the matmul's 512x10 floats (the reshape's shape is
    # an int64 constant of 2 values).
    assert found.weights_mb * MB == pytest.approx((8 * 4 * 9 + 512 * 10) * 4 + 2 * 8)
    # Live sets (bytes): inputs x 1,024; conv: x + a = 3,072; relu: a + b = 4,096 (x is
    # freed after the conv); reshape: c is a view of b, 2,048; matmul: b/c + y = 2,088.
    assert found.activations_mb * MB == pytest.approx(4096)
    assert found.peak_node == "relu" and found.unknown_tensors == 0
    assert found.peak_mb == pytest.approx(found.weights_mb + found.activations_mb)


def test_dynamic_inputs_need_a_shape(tmp_path: Path) -> None:
    path = small_graph(tmp_path / "d.onnx", dynamic=True)
    with pytest.raises(ShapeError, match=r"--shape x=1x4x8x8"):
        estimate_memory(path)
    batch4 = estimate_memory(path, shapes={"x": (4, 4, 8, 8)})
    assert batch4.activations_mb * MB == pytest.approx(4 * 4096)  # the same peak, 4 times
    assert batch4.weights_mb == estimate_memory(small_graph(tmp_path / "s.onnx")).weights_mb


def test_bad_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        estimate_memory(tmp_path / "missing.onnx")
    with pytest.raises(InvalidModelError, match="not a valid ONNX model"):
        estimate_memory(onnx_models.garbage_file(tmp_path / "g.onnx"))


def test_the_command_and_the_api(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = small_graph(tmp_path / "m.onnx")
    assert hwnas.estimate_memory(path) == estimate_memory(path)
    assert main(["memory", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (row,) = doc["models"]
    assert row["model"] == str(path) and row["peak_node"] == "relu"
    assert row["activations_mb"] * MB == pytest.approx(4096)
    assert main(["memory", str(path)]) == 0
    shown = capsys.readouterr()
    assert "relu" in shown.out and "lower bound" in shown.err
    assert main(["memory", str(tmp_path / "nope.onnx")]) != 0
    assert "does not exist" in capsys.readouterr().err


def test_a_space_network_weighs_what_its_file_holds(tmp_path: Path) -> None:
    from hwnas.export import export_arch
    from hwnas.spaces import get_space

    space = get_space("nb201")
    path = export_arch(space, space.sample_distinct(0, 1)[0], exporter="torchscript").path
    found = estimate_memory(path)
    size = path.stat().st_size / MB
    # The file is its weights plus the graph's description (a few percent).
    assert 0.9 * size <= found.weights_mb <= size
    assert found.activations_mb > 0.1 and found.nodes > 10
