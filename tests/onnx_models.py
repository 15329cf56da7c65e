"""Small ONNX models built with onnx.helper (no torch: tests stay fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def conv_model(path: Path, *, channels: int = 8, size: int = 32, batch: int | str = 1) -> Path:
    """x[batch,3,size,size] -> Conv(3x3) -> Relu -> y. ``batch`` may be a symbolic name."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((channels, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(channels, np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, channels, size, size])],
        initializer=[w, b],
    )
    return _save(helper.make_model(graph, opset_imports=OPSET), path)


def dynamic_model(path: Path, *, input_name: str = "x") -> Path:
    """Like conv_model, but batch, height and width are symbolic."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", [input_name, "w"], ["y"], pads=[1, 1, 1, 1])],
        "dynamic",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, "h", "w"])],
        initializer=[w],
    )
    return _save(helper.make_model(graph, opset_imports=OPSET), path)


def unrunnable_model(path: Path) -> Path:
    """Valid ONNX that onnxruntime cannot load: an op from a domain nobody implements."""
    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example.nothing")],
        "unrunnable",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(
        graph, opset_imports=[*OPSET, helper.make_opsetid("com.example.nothing", 1)]
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def garbage_file(path: Path) -> Path:
    path.write_bytes(b"this is not an onnx model\x00\xff\xfe" * 10)
    return path


def truncated_copy(source: Path, path: Path, *, keep: float = 0.5) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
