"""Quantized (int8) models as kernels: QDQ pairs, QLinear and Integer ops.

onnxruntime's CPU provider runs a QDQ model (``hwnas quantize --format qdq``, what
``profile --precision int8`` measures) by fusing ``DequantizeLinear -> op ->
QuantizeLinear`` units into the op's int8 kernel (``QLinearConv``, ``QGemm`` ...) where it
can, and a QOperator or dynamic model holds such ops already (``QLinearConv``,
``QLinearMatMul``, ``ConvInteger``, ``MatMulInteger``, with ``DynamicQuantizeLinear`` in
front). Which units fuse is asked of this host's onnxruntime
(:func:`fused_by_onnxruntime`): on x64 with int8 activations a residual ``Add`` and the
1x1 convs beside it stay float, with their Q and DQ nodes around them.
:func:`dequantized` rewrites a model into the float graph of the same kernels (QDQ
pairs inside fused units removed, each QLinear or Integer op replaced by its float op on
the same tensors, which keep their int8 types and so their byte counts) and names the
nodes that run int8; :func:`requantized` gives those kernels their own kinds
(:data:`QUANTIZED_KINDS`: ``qconv``, ``qdwconv``, ``qgemm``, ``qmatmul``,
``qelementwise``, ``qpool``) and ops. Quantization's own ops left are kernels of their
own: ``quantize`` (``QuantizeLinear``, ``DynamicQuantizeLinear``) and ``dequantize``
(``DequantizeLinear``). Not modelled: the layout transposes onnxruntime puts around its
NHWC int8 convs, and its fusion of dynamic quantization into ``DynamicQuantizeMatMul``.
A predictor without samples of a
quantized kind predicts it with the float kind's model (:data:`FLOAT_KIND`): the same
work at float precision, an upper bound where int8 kernels are faster.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

if TYPE_CHECKING:
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


#: Op types of int8 kernels (what fused units and QOperator models run).
INT8_OP_PREFIXES = ("QLinear", "QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantizeMatMul")
_CONVERSIONS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")
# onnxruntime names a fused unit's node after the op's node, plus "_token_N".
_TOKEN = re.compile(r"_token_\d+$")


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


def fused_by_onnxruntime(model: onnx.ModelProto) -> dict[str, str] | None:
    """``{node name: int8 op}`` for the nodes of a QDQ model that this host's onnxruntime
    fuses into int8 kernels (its CPU provider's graph at the extended level: a fused
    unit is named after its op's node), or None when onnxruntime cannot tell. Which units
    fuse depends on types, shapes and onnxruntime's version (a residual ``Add`` and the
    1x1 convs next to it stay float on x64 with int8 activations, for one): onnxruntime
    knows, so it is asked rather than guessed."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="hwnas-qdq-") as folder:
        source, optimized = Path(folder) / "m.onnx", Path(folder) / "opt.onnx"
        onnx.save(model, str(source))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(optimized)
        options.log_severity_level = 3
        try:
            ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
            graph = onnx.load(str(optimized)).graph
        except Exception:  # noqa: BLE001 - any failure: the caller assumes every unit fuses
            return None
    return {
        _TOKEN.sub("", n.name): n.op_type
        for n in graph.node
        if n.op_type.startswith(INT8_OP_PREFIXES) and n.op_type not in _CONVERSIONS
    }


def dequantized(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, str]]:
    """The float graph of ``model``'s kernels and ``{node name: the op it runs as}`` for
    the nodes that run quantized: a node between a QDQ pair that onnxruntime fuses
    (:func:`fused_by_onnxruntime`; every such node when it cannot tell) runs as its int8
    op (``QLinearConv``), a QLinear or Integer op as itself. The QDQ pairs inside fused
    units are removed; those next to a node that stays float are kernels of their own
    (``quantize``, ``dequantize``), as onnxruntime runs them. A float model comes back as
    it is, with no marks."""
    if not is_quantized(model):
        return model, {}
    work = _named(model)
    g = work.graph
    consts = {t.name for t in g.initializer}
    consts |= {o for n in g.node if n.op_type == "Constant" for o in n.output}
    fused = fused_by_onnxruntime(work)
    marks = _unit_marks(g, consts, fused)
    alias, dropped = _absorbed_pairs(g, consts, marks)
    kept: list[onnx.NodeProto] = []
    for node in g.node:
        if node.name in dropped:
            continue
        for k, x in enumerate(node.input):
            node.input[k] = alias.get(x, x)
        if node.op_type in _AS_FLOAT:
            marks[node.name] = node.op_type
            _as_float(node)
        kept.append(node)
    del g.node[:]
    g.node.extend(kept)
    return work, marks


def _unit_marks(
    g: onnx.GraphProto, consts: set[str], fused: dict[str, str] | None
) -> dict[str, str]:
    """The nodes of DQ -> op (-> Q) units that run int8, with the op they run as."""
    from_dq = {n.output[0] for n in g.node if n.op_type == "DequantizeLinear"}
    marks = {}
    for node in g.node:
        if node.op_type in (*_CONVERSIONS, *_AS_FLOAT) or not any(x in from_dq for x in node.input):
            continue
        if fused is None:
            marks[node.name] = "QGemm" if node.op_type == "Gemm" else f"QLinear{node.op_type}"
        elif node.name in fused:
            marks[node.name] = fused[node.name]
    return marks


def _absorbed_pairs(
    g: onnx.GraphProto, consts: set[str], marks: dict[str, str]
) -> tuple[dict[str, str], set[str]]:
    """The Q and DQ nodes that fused units absorb (by name) and, for each absorbed
    DQ's output, the float tensor its reader reads instead. A Q is absorbed when the node
    before it runs int8, a DQ when every node after it does; a DQ kept after an absorbed
    Q reads that Q's float input. A DQ of constant weights folds (not listed)."""
    outputs = {o.name for o in g.output}
    producer = {o: n for n in g.node for o in n.output}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in g.node:
        for x in node.input:
            readers.setdefault(x, []).append(node)
    alias: dict[str, str] = {}
    dropped: set[str] = set()
    for q in g.node:
        if q.op_type != "QuantizeLinear" or q.input[0] in consts:
            continue
        before = producer.get(q.input[0])
        q_absorbed = before is not None and before.name in marks
        if q_absorbed:
            dropped.add(q.name)
        for dq in readers.get(q.output[0], []):
            if dq.op_type != "DequantizeLinear":
                continue
            after = readers.get(dq.output[0], [])
            if after and dq.output[0] not in outputs and all(n.name in marks for n in after):
                dropped.add(dq.name)
                alias[dq.output[0]] = q.input[0]
            elif q_absorbed:
                dq.input[0] = q.input[0]
    return alias, dropped


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
    "fused_by_onnxruntime",
    "is_quantized",
    "requantized",
]
