"""Quantized (int8) models as kernels: QDQ pairs, QLinear and Integer ops.

onnxruntime's CPU provider runs a QDQ model (``hwnas quantize --format qdq``, what
``profile --precision int8`` measures) by fusing each ``DequantizeLinear -> op ->
QuantizeLinear`` unit into the op's int8 kernel (``QLinearConv``, ``QLinearAdd``,
``QGemm`` ...), and a QOperator or dynamic model holds such ops already (``QLinearConv``,
``QLinearMatMul``, ``ConvInteger``, ``MatMulInteger``, with ``DynamicQuantizeLinear`` in
front). :func:`dequantized` rewrites a model into the float graph of the same kernels
(QDQ pairs between ops removed, each int8 op replaced by its float op on the same
tensors, which keep their int8 types and so their byte counts) and names the nodes that
run quantized; :func:`requantized` gives those kernels their own kinds
(:data:`QUANTIZED_KINDS`: ``qconv``, ``qdwconv``, ``qgemm``, ``qmatmul``,
``qelementwise``, ``qpool``) and ops. What stays is a kernel of its own too:
``quantize`` (a ``QuantizeLinear`` at the model's input, ``DynamicQuantizeLinear``) and
``dequantize`` (a ``DequantizeLinear`` at its output). A predictor without samples of a
quantized kind predicts it with the float kind's model (:data:`FLOAT_KIND`): the same
work at float precision, an upper bound where int8 kernels are faster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import onnx

if TYPE_CHECKING:  # kernel_features imports this module
    from hwnas.predictors.kernel_features import Kernel

#: A float kernel kind -> the kind of the same kernel run in int8.
QUANTIZED_KINDS = {
    "conv": "qconv",
    "dwconv": "qdwconv",
    "gemm": "qgemm",
    "matmul": "qmatmul",
    "elementwise": "qelementwise",
    "pool": "qpool",
}
#: Kinds of quantization's own kernels (their ops are elementwise).
QUANTIZE_KINDS = {"QuantizeLinear": "quantize", "DynamicQuantizeLinear": "quantize"}
DEQUANTIZE_KINDS = {"DequantizeLinear": "dequantize"}
#: A quantized kind -> the float kind whose model predicts it when it has none.
FLOAT_KIND = {
    **{q: f for f, q in QUANTIZED_KINDS.items()},
    "quantize": "elementwise",
    "dequantize": "elementwise",
}
ALL_QUANTIZED_KINDS = (*QUANTIZED_KINDS.values(), "quantize", "dequantize")

#: An int8 op -> (its float op, the positions of the float op's inputs among its own).
_AS_FLOAT = {
    "QLinearConv": ("Conv", (0, 3, 8)),
    "ConvInteger": ("Conv", (0, 1)),
    "QLinearMatMul": ("MatMul", (0, 3)),
    "MatMulInteger": ("MatMul", (0, 1)),
    "QLinearAdd": ("Add", (0, 3)),
    "QLinearMul": ("Mul", (0, 3)),
    "QLinearGlobalAveragePool": ("GlobalAveragePool", (0,)),
    "QLinearAveragePool": ("AveragePool", (0,)),
    "QLinearSigmoid": ("Sigmoid", (0,)),
    "QLinearLeakyRelu": ("LeakyRelu", (0,)),
}


def _named(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose every node has a unique name (the marks name nodes)."""
    work = onnx.ModelProto()
    work.CopyFrom(model)
    seen: set[str] = set()
    for i, node in enumerate(work.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_q{i}"
        seen.add(node.name)
    return work


def is_quantized(model: onnx.ModelProto) -> bool:
    """Whether ``model`` holds quantization ops (QDQ, QLinear, Integer)."""
    ops = {n.op_type for n in model.graph.node}
    return bool(ops & ({*_AS_FLOAT, *QUANTIZE_KINDS, *DEQUANTIZE_KINDS}))


def dequantized(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, str]]:
    """The float graph of ``model``'s kernels and ``{node name: the op it runs as}`` for
    the nodes that run quantized (``QLinearConv`` for a ``Conv`` between a QDQ pair, the
    original op for a rewritten QLinear or Integer op). A float model comes back as it
    is, with no marks."""
    if not is_quantized(model):
        return model, {}
    work = _named(model)
    g = work.graph
    consts = {t.name for t in g.initializer}
    consts |= {o for n in g.node if n.op_type == "Constant" for o in n.output}
    outputs = {o.name for o in g.output}
    inputs = {vi.name for vi in g.input} - consts
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in g.node:
        for x in node.input:
            readers.setdefault(x, []).append(node)
    alias: dict[str, str] = {}  # a stripped DQ's output -> the Q's float input
    into_q: set[str] = set()  # tensors a stripped Q quantized
    dropped: set[int] = set()
    for node in g.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in consts:
            continue
        users = readers.get(node.output[0], [])
        pairs = [u for u in users if u.op_type == "DequantizeLinear"]
        if not users or len(pairs) != len(users) or node.output[0] in outputs:
            continue
        into_q.add(node.input[0])
        if node.input[0] not in inputs:  # the model's input is quantized by a kernel of its own
            dropped.add(id(node))
        for dq in pairs:
            if dq.output[0] in outputs:  # the model's output is dequantized by one of its own
                dq.input[0] = node.input[0]
                continue
            dropped.add(id(dq))
            alias[dq.output[0]] = node.input[0]
    weight_dq = {
        n.output[0] for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] in consts
    }
    marks: dict[str, str] = {}
    kept: list[onnx.NodeProto] = []
    for node in g.node:
        if id(node) in dropped:
            continue
        from_dq = any(x in alias or x in weight_dq for x in node.input)
        for k, x in enumerate(node.input):
            node.input[k] = alias.get(x, x)
        if node.op_type in _AS_FLOAT:
            marks[node.name] = node.op_type
            _as_float(node)
        elif from_dq and node.op_type != "DequantizeLinear":
            if any(o in into_q for o in node.output) or node.op_type in ("Gemm", "MatMul"):
                marks[node.name] = "QGemm" if node.op_type == "Gemm" else f"QLinear{node.op_type}"
        kept.append(node)
    del g.node[:]
    g.node.extend(kept)
    return work, marks


def _as_float(node: onnx.NodeProto) -> None:
    """Rewrite an int8 op in place as its float op on the same tensors (attributes the
    float op has are kept: ``group``, ``kernel_shape``, ``strides`` ...)."""
    op, positions = _AS_FLOAT[node.op_type]
    ins = [node.input[p] if p < len(node.input) else "" for p in positions]
    while ins and not ins[-1]:
        ins.pop()
    node.op_type = op
    node.domain = ""
    del node.input[:]
    node.input.extend(ins)
    keep = [a for a in node.attribute if a.name != "channels_last"]
    del node.attribute[:]
    node.attribute.extend(keep)


def requantized(kernels: Sequence[Kernel], marks: dict[str, str]) -> list[Kernel]:
    """The kernels of a :func:`dequantized` graph with the quantized ones (whose first
    node is marked) in their own kinds and named after the op they run, and quantization's
    own ops (``QuantizeLinear`` ...) in ``quantize`` and ``dequantize``."""
    out = []
    for kernel in kernels:
        kind, op, nodes = kernel.kind, kernel.op, kernel.nodes
        if op in QUANTIZE_KINDS:
            kernel = dataclasses.replace(kernel, kind=QUANTIZE_KINDS[op])
        elif op in DEQUANTIZE_KINDS:
            kernel = dataclasses.replace(kernel, kind=DEQUANTIZE_KINDS[op])
        elif kind in QUANTIZED_KINDS and any(n in marks for n in nodes):
            ran_as = next(marks[n] for n in nodes if n in marks)
            attrs = {**kernel.attrs, "quantized": 1}
            kernel = dataclasses.replace(kernel, kind=QUANTIZED_KINDS[kind], op=ran_as, attrs=attrs)
        out.append(kernel)
    return out


__all__ = [
    "ALL_QUANTIZED_KINDS",
    "FLOAT_KIND",
    "QUANTIZED_KINDS",
    "dequantized",
    "is_quantized",
    "requantized",
]
