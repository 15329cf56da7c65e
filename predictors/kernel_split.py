"""From an ONNX graph to the kernels onnxruntime runs.

:func:`split_kernels` prepares the graph (:func:`~hwnas.predictors.kernel_graph.prepare_graph`:
static shapes, constants folded and nodes eliminated as onnxruntime does), applies the
fusion rules below, and returns :class:`~hwnas.predictors.kernel_features.Kernel`
records (op type, shapes, MACs, bytes moved, parameters, attributes), which
:func:`~hwnas.predictors.kernel_features.kernel_features` turns into feature vectors.

Fusion rules (checked against onnxruntime 1.32's optimized graphs in the tests; all of
them need the intermediate tensor to have one consumer and not be a graph output):

* folded away (no kernel): ``Constant``, nodes whose inputs are all constant, ``Shape``
  and ``Size`` of static shapes; removed: ``Identity``, ``Dropout``;
* **conv** / **dwconv** (``groups == C_in > 1``): ``Conv`` + ``BatchNormalization`` (folded
  into the weights) + ``Mul``/``Add`` by a per-channel constant (folded) + an ``Add`` of a
  same-shaped tensor that another node produced (the residual "sum" of the NCHWc conv) +
  one of ``Relu, Clip, Sigmoid, Tanh, LeakyRelu, HardSigmoid``;
* **gemm** (constant weights) / **matmul** (two activations): ``MatMul`` + scalar
  ``Mul``/``Div`` after it or on its inputs (FusedMatMul's alpha); for two activations,
  also the ``Transpose`` ops (keeping the last axis among the last two) and unit-dim
  ``Reshape`` ops that feed it (FusedMatMul's trans and transBatch flags); ``MatMul`` +
  bias ``Add`` (to Gemm: for a 2-D input, or an
  N-D input with constant 2-D weights, which onnxruntime wraps in two Reshapes, counted
  as two view kernels), ``Gemm``/fused Gemm + ``Relu, Sigmoid, Tanh, LeakyRelu,
  HardSigmoid, Elu`` (only where the Gemm is 2-D);
* **layernorm**: ``LayerNormalization``, preceded by an ``Add`` of two 3-D activations of
  one shape (SkipLayerNormalization), or the decomposed form ``ReduceMean, Sub, Pow, ReduceMean,
  Add, Sqrt, Div[, Mul][, Add]``, or RMSNorm's ``Pow, ReduceMean, Add, Sqrt, Div`` (or
  ``Sqrt, Reciprocal`` or ``1 / Sqrt``, then ``Mul``) ``[, Mul]`` (onnxruntime's
  SimplifiedLayerNormalization);
* **elementwise**: one op each (onnxruntime does not chain them on CPU), except the erf
  GELU pattern and ``x * Sigmoid(x)`` (one kernel each), and ``HardSwish`` (two:
  onnxruntime runs it as HardSigmoid and Mul); standalone ``BatchNormalization`` too;
* **softmax**, **pool** (Max/Average/Global pooling), **resize**, **memory** (Concat,
  Transpose, Split, Slice, Gather, Pad, Tile, Expand, ...; Gathers of every index of an
  axis by scalar constants are one Split), **view** (Reshape, Flatten,
  Squeeze, Unsqueeze; a chain of them is one); anything else is **other**.

Attention (``MatMul -> scale -> Softmax -> MatMul``) is split into its parts (a
FusedMatMul, a Softmax, a MatMul), because that is what onnxruntime's CPU provider runs
for the attention that exporters write: its ``Attention`` contrib-op fusion only matches
BERT-style graphs, and ``torch.nn.TransformerEncoderLayer`` exports are not fused. The
sampler therefore measures attention-shaped batched matmuls and softmaxes.

Limits: the rules mirror onnxruntime's x86 CPU optimizer; they do not model the NCHWc
reorders it inserts where a channel count does not fit its block size or a non-NCHWc op
(Flatten, Reshape, Gemm) follows a conv, constant-folding beyond the cases above,
common-subexpression elimination, or other providers' fusions. Quantized and control
flow ops (``If``, ``Loop``, ``Scan``) are ``other``; their sub-graphs are not predicted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import onnx
from onnx import helper

from hwnas.predictors.kernel_features import ACTIVATIONS, Kernel
from hwnas.predictors.kernel_graph import Graph, Shape, prepare_graph

CONV_ACTIVATIONS = frozenset({"Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid"})
GEMM_ACTIVATIONS = frozenset({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "Elu"})
POOL_OPS = frozenset(
    {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool"}
)
SOFTMAX_OPS = frozenset({"Softmax", "LogSoftmax"})
RESIZE_OPS = frozenset({"Resize", "Upsample", "GridSample"})
VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze"})
MEMORY_OPS = frozenset(
    {
        "Concat",
        "Transpose",
        "Split",
        "Slice",
        "Gather",
        "GatherElements",
        "Pad",
        "Tile",
        "Expand",
        "DepthToSpace",
        "SpaceToDepth",
        "ScatterND",
        "ScatterElements",
        "ReverseSequence",
    }
)
ELEMENTWISE_OPS = frozenset(
    {
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Pow",
        "Max",
        "Min",
        "Sum",
        "Mean",
        "Where",
        "Equal",
        "Less",
        "Greater",
        "LessOrEqual",
        "GreaterOrEqual",
        "And",
        "Or",
        "Xor",
        "Mod",
        "PRelu",
        "Relu",
        "Clip",
        "Sigmoid",
        "Tanh",
        "LeakyRelu",
        "HardSigmoid",
        "HardSwish",
        "Elu",
        "Selu",
        "Celu",
        "Softplus",
        "Softsign",
        "Erf",
        "Exp",
        "Log",
        "Sqrt",
        "Neg",
        "Abs",
        "Reciprocal",
        "Floor",
        "Ceil",
        "Round",
        "Sign",
        "Sin",
        "Cos",
        "Not",
        "Cast",
        "Gelu",
        "Mish",
        "ThresholdedRelu",
        "BatchNormalization",
        "IsNaN",
        "IsInf",
        "BitwiseXor",
        "BitwiseAnd",
        "BitwiseOr",
        "BitwiseNot",
        "BitShift",
    }
)
#: Nominal operations per output element of elementwise ops not listed (default 1).
_ELEMENT_FLOPS = {
    "Gelu": 8,
    "QuickGelu": 4,
    "Sigmoid": 4,
    "Tanh": 4,
    "Erf": 4,
    "Exp": 4,
    "Log": 4,
    "Softplus": 4,
    "Mish": 8,
    "Elu": 3,
    "Selu": 3,
    "Pow": 4,
    "HardSigmoid": 2,
    "BatchNormalization": 2,
    "Div": 2,
}


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def einsum_sizes(equation: str, shapes: Sequence[Shape]) -> tuple[int, int, int, int] | None:
    """(batch, m, k, n) of a two-operand Einsum read as a batched matmul: indices of both
    operands and the output are the batch, indices of the output and one operand are
    ``m`` (the first) or ``n`` (the second), every index the output lacks is summed
    (``k``), so that ``batch m k n`` is the einsum's multiply-adds. None for other forms
    (an ellipsis, not one ``->``, not two operands, shapes unknown or of another rank)."""
    eq = equation.replace(" ", "")
    if "..." in eq or eq.count("->") != 1:
        return None
    lhs, out = eq.split("->")
    terms = lhs.split(",")
    if len(terms) != 2 or len(shapes) != 2:
        return None
    if any(not shape or len(t) != len(shape) for t, shape in zip(terms, shapes, strict=True)):
        return None
    size: dict[str, int] = {}
    for t, shape in zip(terms, shapes, strict=True):
        for c, d in zip(t, shape, strict=True):
            size[c] = max(size.get(c, 1), int(d))  # a 1 broadcasts
    a, b, o = set(terms[0]), set(terms[1]), set(out)

    def prod(indices: set[str]) -> int:
        return math.prod(size[c] for c in indices)

    return prod(a & b & o), prod((a - b) & o), prod((a | b) - o), prod((b - a) & o)


def einsum_layout(equation: str) -> tuple[int, int, int]:
    """Whether each operand and the output of a two-operand Einsum must be permuted to run
    as a batched matmul, (first, second, output) as 0 or 1: the first operand laid out as
    (batch, m, k) or (batch, k, m), the second as (batch, k, n) or (batch, n, k) and the
    output as (batch, m, n), each group in the output's order (onnxruntime's Einsum
    transposes whatever is not, then multiplies batch by batch). (1, 1, 1) for a form
    :func:`einsum_sizes` does not read."""
    eq = equation.replace(" ", "")
    if "..." in eq or eq.count("->") != 1 or eq.count(",") != 1:
        return 1, 1, 1
    lhs, out = eq.split("->")
    first, second = lhs.split(",")
    a, b, o = set(first), set(second), set(out)

    def ordered(term: str, group: set[str]) -> str:
        order = out + "".join(sorted(c for c in term if c not in o))  # summed: any order
        return "".join(c for c in order if c in group and c in term)

    batch, m, n, k = a & b & o, (a - b) & o, (b - a) & o, (a & b) - o
    lead = ordered(first, batch)

    def fits(term: str, inner: set[str], outer: set[str]) -> int:
        options = (
            lead + ordered(term, inner) + ordered(term, outer),
            lead + ordered(term, outer) + ordered(term, inner),
        )
        extra = set(term) - batch - inner - outer  # an index only this operand has, summed
        return 0 if not extra and any(term == x for x in options) else 1

    out_fits = 0 if out == ordered(out, batch) + ordered(out, m) + ordered(out, n) else 1
    return fits(first, m, k), fits(second, k, n), out_fits


def _swaps_last_two(perm: Sequence[int] | None) -> bool:
    if not perm or len(perm) < 2:
        return False
    n = len(perm)
    return list(perm) == [*range(n - 2), n - 1, n - 2]


def _conv_window(node: onnx.NodeProto, w_shape: Shape) -> tuple[list[int], list[int], list[int]]:
    """A Conv's kernel size, strides and dilations per spatial axis (the kernel size from
    the weights when the attribute is absent; 1 where a Conv leaves them out)."""
    kernel = [int(k) for k in (_attr(node, "kernel_shape") or w_shape[2:])] or [1]
    strides = [int(s) for s in (_attr(node, "strides") or [1] * len(kernel))]
    dilations = [int(d) for d in (_attr(node, "dilations") or [1] * len(kernel))]
    return kernel, strides, dilations


def _gemm_sizes(
    node: onnx.NodeProto, a_shape: Shape, b_shape: Shape, attrs: dict[str, int]
) -> tuple[int, int, int]:
    """``m, k, n`` of a Gemm node, whose bias and transpose flags go into ``attrs``."""
    attrs["bias"] = int(len(node.input) > 2 and bool(node.input[2]))
    ta, tb = int(_attr(node, "transA", 0)), int(_attr(node, "transB", 0))
    attrs["trans_a"], attrs["trans_b"] = ta, tb
    m, k = (a_shape[1], a_shape[0]) if ta else (a_shape[0], a_shape[1])
    n = b_shape[0] if tb else b_shape[1]
    return m, k, n


def _pool_macs(
    node: onnx.NodeProto, inputs: Sequence[Shape], elements: int, a: dict[str, int]
) -> int:
    """Window reads of a pooling kernel (a global pool's window is the whole map); its
    window and strides go into ``a``."""
    kernel = [int(v) for v in (_attr(node, "kernel_shape") or [])]
    strides = [int(v) for v in (_attr(node, "strides") or [])]
    x = inputs[0] if inputs else ()
    window = math.prod(kernel) if kernel else math.prod(x[2:]) if len(x) > 2 else 1
    a.update(
        kernel_h=kernel[0] if kernel else (x[2] if len(x) > 2 else 1),
        kernel_w=kernel[-1] if kernel else (x[-1] if len(x) > 2 else 1),
        stride_h=strides[0] if strides else 1,
        stride_w=strides[-1] if strides else 1,
    )
    return elements * window


def _normalization_flops(
    kind: str, node: onnx.NodeProto, x: Shape, elements: int, a: dict[str, int]
) -> int:
    """FLOPs of a layernorm or softmax over ``x``; the size of the normalized axes goes
    into ``a``."""
    axis = int(_attr(node, "axis", -1))
    axis = axis % max(len(x), 1)
    a["axis_size"] = math.prod(x[axis:]) if x else 1
    return (8 if kind == "layernorm" else 5) * elements


#: Reductions whose kernels carry the sizes they reduce (``m`` outer, ``k`` reduced,
#: ``n`` inner elements): a mean over the channels of an NCHW map reads with a stride
#: of H x W and costs several times one over its last axis.
REDUCTIONS = frozenset(
    {
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "ReduceMin",
        "ReduceL1",
        "ReduceL2",
        "ReduceSumSquare",
        "ReduceProd",
        "ReduceLogSumExp",
        "ArgMax",
        "ArgMin",
    }
)


def _reduced_axes(node: onnx.NodeProto, x: Shape, out: Shape) -> list[int]:
    """The axes of ``x`` a reduction node reduces: its ``axes`` (or ``axis``) attribute,
    else (opset 18's axes input) the axes whose size the output changes, else all."""
    rank = len(x)
    axes = _attr(node, "axes")
    if axes is None and node.op_type in ("ArgMax", "ArgMin"):
        axes = [_attr(node, "axis", 0)]
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = _axes_from_shapes(x, out)
    if axes is None:
        axes = list(range(rank))
    return sorted({int(a) % max(rank, 1) for a in axes})


#: Recurrent ops and their gates (rows of the weights per unit of hidden size).
RECURRENT_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def _axes_from_shapes(x: Shape, out: Shape) -> list[int]:
    """The axes a reduction of ``x`` to ``out`` took away (kept as 1, or dropped)."""
    if len(out) == len(x):
        return [i for i in range(len(x)) if x[i] != out[i]]
    axes, j = [], 0
    for i, d in enumerate(x):
        if j < len(out) and out[j] == d:
            j += 1
        else:
            axes.append(i)
    return axes


def trailing_axes(node: onnx.NodeProto, x: Shape, out: Shape) -> bool:
    """Whether a reduction reduces the last axes of ``x`` only (what onnxruntime's
    layer-norm fusion needs; true where the shapes are unknown)."""
    if not x:
        return True
    axes = _reduced_axes(node, x, out)
    return bool(axes) and axes == list(range(len(x) - len(axes), len(x)))


def _reduction_sizes(node: onnx.NodeProto, x: Shape, out: Shape, a: dict[str, int]) -> None:
    """``m``, ``k`` and ``n`` of a reduction (elements before, in and after the reduced
    axes) into ``a``, and ``first_axis``: whether the reduced axes start at the first
    axis as written. onnxruntime's fast path for a sum or mean over leading axes
    misses when unit axes come before them: (1152, 160) summed over axis 0 ran in 27 us
    here, (1, 1152, 160) over axis 1 in 170 us, though ``m``, ``k`` and ``n`` are
    equal."""
    axes = _reduced_axes(node, x, out) if x else []
    if not axes:  # unknown shapes, or no axes (noop_with_empty_axes)
        return
    a["k"] = math.prod(x[i] for i in axes)
    a["n"] = math.prod(x[axes[-1] + 1 :])
    a["m"] = math.prod(x) // max(a["k"] * a["n"], 1)
    a["axis_size"] = a["k"]
    a["first_axis"] = int(axes[0] == 0)


def broadcast_span(shapes: Sequence[Shape], output: Shape) -> int:
    """The elements of ``output`` an elementwise op computes in one run of
    onnxruntime's broadcast loop (its ``Broadcaster``'s span: the smaller of the two
    operands' innermost runs, found from the last axis as onnxruntime walks them; for
    more than two operands, the smallest of each one's against those before it). A
    same-shaped operand or a scalar give every element; a (2,) divisor of (320, 7, 7, 2)
    grid coordinates gives 2 (6.8 ns an element here against 0.6 for the same Div
    without the broadcast), and so does a scalar on a tensor whose last axis is 1: the
    runs are then single elements ((354472, 2, 1) + a scalar: 8.0 ms; (354472, 2): 0.07
    ms)."""
    if len(shapes) < 2:
        return math.prod(output) if output else 1
    span, so_far = math.prod(output) if output else 1, tuple(shapes[0])
    for other in shapes[1:]:
        span = min(span, _ort_span(so_far, tuple(other)))
        so_far = _broadcast_shape(so_far, tuple(other))
    return max(span, 1)


def _broadcast_shape(a: Shape, b: Shape) -> Shape:
    rank = max(len(a), len(b))
    pa, pb = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    return tuple(max(x, y) for x, y in zip(pa, pb, strict=True))


class _Runs:
    """One operand's walk over the output in onnxruntime's broadcaster: the element
    counts of its runs, innermost first, and whether it moves along the current one."""

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.moving: list[bool] = []

    def init(self, axis: int, largest: int) -> None:
        self.counts.append(largest)
        self.moving.append(axis > 1)

    def append(self, axis: int, largest: int) -> None:
        if (axis > 1) != self.moving[-1]:  # starts or stops broadcasting: a new run
            self.counts.append(1)
            self.moving.append(axis > 1)
        self.counts[-1] *= largest


def _ort_span(s1: Shape, s2: Shape) -> int:
    """The span of onnxruntime's two-operand broadcast of ``s1`` and ``s2``."""
    one, two = _Runs(), _Runs()
    low, index = min(len(s1), len(s2)), 0
    if low == 0:  # a scalar: its walk starts at the other's last axis, whatever it is
        axis = (s1 or s2 or (1,))[-1]
        one.init(s1[-1] if s1 else 1, axis)
        two.init(s2[-1] if s2 else 1, axis)
        index = 1
    while low and index < low:  # unit axes both have are skipped, but for the last
        a, b = s1[-1 - index], s2[-1 - index]
        index += 1
        if max(a, b) <= 1 and index < low:
            continue
        one.init(a, max(a, b))
        two.init(b, max(a, b))
        break
    for i in range(index, max(len(s1), len(s2))):
        a = s1[-1 - i] if i < len(s1) else 1
        b = s2[-1 - i] if i < len(s2) else 1
        if i < low and max(a, b) == 1:
            continue
        one.append(a, max(a, b))
        two.append(b, max(a, b))
    return min(one.counts[0], two.counts[0]) if one.counts else 1


def moves_one_axis(perm: Sequence[int]) -> bool:
    """Whether ``perm`` moves a single axis and keeps the others in order (NCHW to NHWC):
    onnxruntime has a fast path for such transposes."""
    return any(
        [p for p in perm if p != axis] == sorted(p for p in perm if p != axis) for axis in perm
    )


def _transpose_runs(perm: Sequence[int], x: Shape, a: dict[str, int]) -> None:
    """A transpose's rank (``k``), the elements of its innermost run that stays
    contiguous (``n``: the trailing input axes it keeps in place) and how many such runs
    it moves (``m``): a 6-D pixel unshuffle moves runs of one element, a transpose of the
    two middle axes of a 4-D tensor runs of a whole row. ``scatter``: it moves single
    elements and is not a one-axis move, so onnxruntime copies element by element (a
    pixel unshuffle's 6-D transpose: about 3.5 ns an element here, ten times an NCHW to
    NHWC transpose of as many)."""
    if not perm or len(x) != len(perm):
        return
    kept = 0
    while kept < len(perm) and perm[len(perm) - 1 - kept] == len(perm) - 1 - kept:
        kept += 1
    a["k"] = len(perm)
    a["n"] = math.prod(x[len(x) - kept :]) if kept else 1
    a["m"] = math.prod(x) // max(a["n"], 1)
    a["scatter"] = int(a["n"] == 1 and not moves_one_axis(perm))


def _resize_flops(node: onnx.NodeProto, x: Shape, elements: int, a: dict[str, int]) -> int:
    """FLOPs of a Resize (or a GridSample: a resampling at computed points) from ``x``;
    its scale and how it interpolates (``bias``: 0 for nearest, 1 for linear modes, 2
    for cubic: 1, 4 and 16 taps) go into ``a``."""
    a["scale"] = round(elements / max(math.prod(x), 1))
    mode = str(_attr(node, "mode", b"nearest"))
    a["bias"] = 2 if "cubic" in mode else int("linear" in mode)
    return elements * (1, 4, 16)[a["bias"]]


class _Splitter:
    """Greedy fusion over the topologically ordered nodes (ONNX requires that order)."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.taken = [False] * len(graph.nodes)
        self.groups: dict[int, tuple[str, str, list[int]]] = {}  # first node -> pattern
        self.absorbed: dict[int, int] = {}  # node -> the node whose kernel it joins

    # -- helpers ----------------------------------------------------------------------

    def op(self, i: int | None) -> str | None:
        return None if i is None else self.g.nodes[i].op_type

    def other_input(self, i: int, mine: str) -> str | None:
        """The input of binary node ``i`` that is not ``mine``."""
        ins = [x for x in self.g.nodes[i].input if x]
        if len(ins) != 2 or ins.count(mine) != 1:
            return None
        return ins[1] if ins[0] == mine else ins[0]

    def follower(self, i: int, ops: frozenset[str] | set[str]) -> int | None:
        """Node ``i``'s sole consumer if its op is in ``ops`` and it is free."""
        j = self.g.sole_consumer(i)
        if j is None or self.taken[j] or self.g.nodes[j].op_type not in ops:
            return None
        return j

    def const_operand(self, i: int, mine: str, *, max_numel: int | None = None) -> bool:
        other = self.other_input(i, mine)
        if other is None or not self.g.is_const(other):
            return False
        return max_numel is None or self.g.numel(other) <= max_numel

    def out(self, i: int) -> str:
        return self.g.nodes[i].output[0]

    def shape(self, name: str) -> Shape:
        return self.g.shapes.get(name, ())

    # -- patterns matched before the greedy pass ---------------------------------------

    def _claim(self, kind: str, op: str, nodes: list[int]) -> None:
        if any(self.taken[n] for n in nodes):
            return
        for n in nodes:
            self.taken[n] = True
        self.groups[min(nodes)] = (kind, op, sorted(nodes))

    def match_patterns(self) -> None:
        g = self.g
        for i, node in enumerate(g.nodes):
            if node.op_type == "ReduceMean" and not self.taken[i]:
                nodes = self._match_layernorm(i)
                if nodes:
                    self._claim("layernorm", "LayerNormalization", nodes)
            elif node.op_type == "Pow" and not self.taken[i]:
                nodes = self._match_rmsnorm(i)
                if nodes:
                    self._claim("layernorm", "SimplifiedLayerNormalization", nodes)
            elif node.op_type == "Erf" and not self.taken[i]:
                nodes = self._match_gelu(i)
                if nodes:
                    self._claim("elementwise", "Gelu", nodes)
            elif node.op_type == "Sigmoid" and not self.taken[i]:
                j = self.follower(i, {"Mul"})
                if j is not None and self.other_input(j, self.out(i)) == node.input[0]:
                    self._claim("elementwise", "QuickGelu", [i, j])
            elif node.op_type == "LayerNormalization":
                p = g.producer_of(node.input[0])
                if (
                    p is not None
                    and self.op(p) == "Add"
                    and g.sole_consumer(p) == i
                    and not any(g.is_const(x) for x in g.nodes[p].input)
                    and self._skip_layernorm_add(p)
                ):
                    self.taken[p], self.absorbed[p] = True, i
            elif node.op_type == "MatMul" and not g.is_const(node.input[1]):
                for x in node.input[:2]:
                    for p in self._matmul_prologue(x, i):
                        self.taken[p], self.absorbed[p] = True, i
        self._match_gather_split()

    def _skip_layernorm_add(self, add: int) -> bool:
        """Whether onnxruntime fuses the residual ``Add`` before a LayerNormalization into
        a SkipLayerNormalization: only where both of its inputs are 3-D of the same shape
        (``SkipLayerNormFusion``'s ``CheckFirstAdd``). Elsewhere (a 2-D (tokens, d) input)
        the Add runs as its own kernel, and the fused kernel's time is not theirs: the
        fused one ran a (1, 168, 160) input 5x slower here than the Add and the
        LayerNormalization of (168, 160) together."""
        shapes = [self.shape(x) for x in self.g.nodes[add].input]
        return all(len(s) == 3 for s in shapes) and shapes[0] == shapes[1]

    def _match_gather_split(self) -> None:
        """Gathers of every index of one axis by scalar constants: onnxruntime runs them
        as one Split (GatherToSplitFusion)."""
        g = self.g
        groups: dict[tuple[str, int], list[int]] = {}
        for i, node in enumerate(g.nodes):
            if (
                node.op_type == "Gather"
                and not self.taken[i]
                and len(node.input) == 2
                and g.is_const(node.input[1])
                and self.shape(node.input[1]) == ()
            ):
                rank = len(self.shape(node.input[0]))
                axis = int(_attr(node, "axis", 0)) % max(rank, 1)
                groups.setdefault((node.input[0], axis), []).append(i)
        for (x, axis), nodes in groups.items():
            dims = self.shape(x)
            if len(nodes) > 1 and axis < len(dims) and len(nodes) == dims[axis]:
                self._claim("memory", "Split", nodes)

    def _matmul_prologue(self, x: str, matmul: int) -> list[int]:
        """Nodes before a MatMul input that FusedMatMul absorbs: scalar Mul/Div, Reshapes
        that only add or drop unit dims, and Transposes that keep the last axis among the
        last two (its trans and transBatch flags)."""
        g, chain, consumer = self.g, [], matmul
        while (p := g.producer_of(x)) is not None and not self.taken[p]:
            node = g.nodes[p]
            if g.consumers.get(x) != [consumer] or x in g.outputs:
                break
            op = node.op_type
            if op in ("Mul", "Div") and self.const_operand(p, node.input[0], max_numel=1):
                x = node.input[0]
            elif op == "Mul" and self.const_operand(p, node.input[1], max_numel=1):
                x = node.input[1]
            elif op in VIEW_OPS and [d for d in self.shape(node.input[0]) if d != 1] == [
                d for d in self.shape(x) if d != 1
            ]:
                x = node.input[0]
            elif (
                op == "Transpose"
                and (perm := _attr(node, "perm"))
                and len(perm) > 1
                and (len(perm) - 1 in perm[-2:])
            ):
                x = node.input[0]
            else:
                break
            chain.append(p)
            consumer = p
        while chain and g.nodes[chain[-1]].op_type in VIEW_OPS:  # a view ahead stays a view
            chain.pop()
        return chain if any(g.nodes[c].op_type not in VIEW_OPS for c in chain) else []

    def _match_layernorm(self, r1: int) -> list[int] | None:
        g = self.g
        x = g.nodes[r1].input[0]
        if not trailing_axes(g.nodes[r1], self.shape(x), self.shape(self.out(r1))):
            return None  # over channels (a channels-first layer norm): not fused
        sub = g.sole_consumer(r1)
        if sub is None or self.op(sub) != "Sub" or list(g.nodes[sub].input) != [x, self.out(r1)]:
            return None
        users = g.consumers.get(self.out(sub), [])
        powers = [u for u in users if self.op(u) == "Pow"]
        divs = [u for u in users if self.op(u) == "Div"]
        if len(users) != 2 or len(powers) != 1 or len(divs) != 1:
            return None
        pw, div = powers[0], divs[0]
        root = self._root_mean(pw)
        if root is None or g.sole_consumer(root[-1]) != div:
            return None
        return [r1, sub, pw, *root, div, *self._constant_tail(div, ("Mul", "Add"))]

    def _root_mean(self, pw: int) -> list[int] | None:
        """The square root of a constant plus the mean of ``pw``'s output, the core of
        both layer norms: its ``ReduceMean``, ``Add`` and ``Sqrt`` nodes, or None."""
        mean = self.follower(pw, {"ReduceMean"})
        add = None if mean is None else self.follower(mean, {"Add"})
        if mean is None or add is None or not self.const_operand(add, self.out(mean)):
            return None
        sqrt = self.follower(add, {"Sqrt"})
        return None if sqrt is None else [mean, add, sqrt]

    def _constant_tail(self, cur: int, ops: Sequence[str]) -> list[int]:
        """The nodes after ``cur`` that apply ``ops`` in order (each optional) with a
        constant operand: a norm's scale and shift."""
        tail = []
        for op in ops:
            j = self.follower(cur, {op})
            if j is not None and self.const_operand(j, self.out(cur)):
                tail.append(j)
                cur = j
        return tail

    def _match_rmsnorm(self, pw: int) -> list[int] | None:
        """RMSNorm from ``pw``: ``x`` squared, its mean over the last axes plus a
        constant, square-rooted, ``x`` divided by it (or multiplied by its reciprocal:
        ``Reciprocal``, or a constant divided by it as torch exports ``rsqrt``),
        then an optional multiplication by constant weights: one
        SimplifiedLayerNormalization in onnxruntime."""
        g = self.g
        x = g.nodes[pw].input[0]
        if not self.const_operand(pw, x, max_numel=1):
            return None
        root = self._root_mean(pw)
        if root is None:
            return None
        mean, _, sqrt = root
        if not trailing_axes(g.nodes[mean], self.shape(x), self.shape(self.out(mean))):
            return None
        j = self.follower(sqrt, {"Div", "Reciprocal"})
        if j is None:
            return None
        nodes = [pw, *root]
        inverse = (
            self.op(j) == "Reciprocal"
            or (  # torch.rsqrt: 1 / sqrt
                list(g.nodes[j].input)[1:] == [self.out(sqrt)] and g.is_const(g.nodes[j].input[0])
            )
        )
        if inverse:
            nodes.append(j)
            j = self.follower(j, {"Mul"})
            if j is None or self.other_input(j, self.out(nodes[-1])) != x:
                return None
        elif list(g.nodes[j].input) != [x, self.out(sqrt)]:
            return None
        return [*nodes, j, *self._constant_tail(j, ("Mul",))]

    def _match_gelu(self, erf: int) -> list[int] | None:
        g = self.g
        p = g.producer_of(g.nodes[erf].input[0])
        if p is None or self.op(p) not in ("Div", "Mul") or g.sole_consumer(p) != erf:
            return None
        x = next((v for v in g.nodes[p].input if not g.is_const(v)), None)
        add = self.follower(erf, {"Add"})
        if x is None or add is None or not self.const_operand(add, self.out(erf)):
            return None
        mul = self.follower(add, {"Mul"})
        if mul is None:
            return None
        other = self.other_input(mul, self.out(add))
        if other == x:
            half = self.follower(mul, {"Mul"})
            if half is None or not self.const_operand(half, self.out(mul)):
                return None
            return [p, erf, add, mul, half]
        h = g.producer_of(other) if other else None
        if (
            h is not None
            and self.op(h) == "Mul"
            and x in g.nodes[h].input
            and g.sole_consumer(h) == mul
            and self.const_operand(h, x)
        ):
            return [h, p, erf, add, mul]
        return None

    # -- the greedy pass ----------------------------------------------------------------

    def run(self) -> list[Kernel]:
        self.match_patterns()
        kernels: list[Kernel] = []
        for i, node in enumerate(self.g.nodes):
            if i in self.groups:
                kind, op, nodes = self.groups[i]
                kernels.append(self.make(kind, op, nodes, nodes[-1], main=None))
                continue
            if self.taken[i]:
                continue
            self.taken[i] = True
            kernels.extend(self.kernels_at(i, node))
        return kernels

    def kernels_at(self, i: int, node: onnx.NodeProto) -> list[Kernel]:
        op = node.op_type
        if op == "Conv":
            return [self.conv(i)]
        if op in ("MatMul", "Gemm"):
            return self.gemm(i)
        if op == "Einsum" and (found := self.einsum(i)) is not None:
            return [found]
        if op == "LayerNormalization":
            pre = [p for p, j in self.absorbed.items() if j == i]
            return [
                self.make("layernorm", op, [*pre, i], i, main=i, attrs={"residual": int(bool(pre))})
            ]
        if op == "HardSwish":
            shape = self.shape(self.out(i))
            return [
                self.make("elementwise", "HardSigmoid", [i], i),
                self.make("elementwise", "Mul", [i], i, inputs=[shape, shape]),
            ]
        if op in VIEW_OPS:
            nodes, cur = [i], i
            while (j := self.follower(cur, VIEW_OPS)) is not None:
                self.taken[j] = True
                nodes.append(j)
                cur = j
            return [self.make("view", op, nodes, cur)]
        for kind, ops in (
            ("pool", POOL_OPS),
            ("softmax", SOFTMAX_OPS),
            ("resize", RESIZE_OPS),
            ("memory", MEMORY_OPS),
            ("elementwise", ELEMENTWISE_OPS),
        ):
            if op in ops:
                return [self.make(kind, op, [i], i)]
        if op == "ConvTranspose":
            return [self.conv_transpose(i)]
        if op in RECURRENT_GATES:
            return [self.recurrent(i)]
        return [self.make("other", op, [i], i)]

    def recurrent(self, i: int) -> Kernel:
        """An LSTM, GRU or RNN node: an ``other`` kernel with its work counted (each step
        multiplies the input and the hidden state into every gate of every direction):
        ``m`` the steps, ``k`` input plus hidden size, ``n`` the gates' rows, ``batch`` the
        directions."""
        node = self.g.nodes[i]
        x = self.shape(node.input[0])
        w = self.shape(node.input[1])
        hidden = int(_attr(node, "hidden_size", 0)) or (
            w[1] // RECURRENT_GATES[node.op_type] if len(w) > 1 else 0
        )
        steps, batch = (x[1], x[0]) if int(_attr(node, "layout", 0)) and x else (x or (0, 0))[:2]
        size = x[2] if len(x) > 2 else 0
        dirs = w[0] if w else 1
        rows = RECURRENT_GATES[node.op_type] * hidden
        macs = dirs * steps * batch * rows * (size + hidden)
        attrs = {"m": steps, "k": size + hidden, "n": rows, "batch": dirs}
        return self.make("other", node.op_type, [i], i, macs=macs, flops=2 * macs, attrs=attrs)

    def conv_transpose(self, i: int) -> Kernel:
        """A transposed conv: an ``other`` kernel (no sampled kind; the generic model), with
        its work counted (each input element is multiplied into ``cout / groups`` times
        the window outputs) so that the generic model sees what it costs."""
        node = self.g.nodes[i]
        w_shape = self.shape(node.input[1])
        x_shape = self.shape(node.input[0])
        groups = int(_attr(node, "group", 1))
        kernel, strides, dilations = _conv_window(node, w_shape)
        per = (w_shape[1] if len(w_shape) > 1 else 0) * math.prod(kernel)
        macs = math.prod(x_shape) * per if x_shape else 0
        attrs = {
            "kernel_h": kernel[0],
            "kernel_w": kernel[-1],
            "stride_h": strides[0],
            "stride_w": strides[-1],
            "dilation": max(dilations),
            "groups": groups,
        }
        return self.make("other", "ConvTranspose", [i], i, macs=macs, flops=2 * macs, attrs=attrs)

    def conv(self, i: int) -> Kernel:
        g, node = self.g, self.g.nodes[i]
        w_shape = self.shape(node.input[1])
        cout = w_shape[0] if w_shape else 0
        nodes, cur, attrs, residual = self._conv_epilogue(i, cout)
        x_shape, y_shape = self.shape(node.input[0]), self.shape(self.out(i))
        groups = int(_attr(node, "group", 1))
        kernel, strides, dilations = _conv_window(node, w_shape)
        cin = x_shape[1] if len(x_shape) > 1 else 0
        macs = math.prod(y_shape) * (cin // max(groups, 1)) * math.prod(kernel)
        params = math.prod(w_shape) + (cout if attrs["bias"] else 0)
        attrs.update(
            kernel_h=kernel[0],
            kernel_w=kernel[-1],
            stride_h=strides[0],
            stride_w=strides[-1],
            dilation=max(dilations),
            groups=groups,
            residual=int(residual is not None),
            computed_weights=int(not g.is_const(node.input[1])),
        )
        kind = "dwconv" if groups > 1 and groups == cin else "conv"
        esize = g.elem_size.get(node.input[0], 4)
        inputs = [x_shape] if residual is None else [x_shape, residual]
        read = sum(math.prod(s) for s in inputs) * esize + params * esize
        return self.make(
            kind,
            "Conv",
            nodes,
            cur,
            inputs=inputs,
            macs=macs,
            flops=2 * macs,
            params=params,
            read=read,
            attrs=attrs,
            main=i,
        )

    def _conv_epilogue(
        self, i: int, cout: int
    ) -> tuple[list[int], int, dict[str, int], Shape | None]:
        """What fuses into conv node ``i``, in the order onnxruntime fuses it: a constant
        BatchNormalization, per-channel constant Mul/Add, a residual Add, an activation.
        Returns the kernel's nodes, its last node, the bias/activation attributes, and
        the residual's shape (``None`` without one)."""
        g, node = self.g, self.g.nodes[i]
        nodes, cur = [i], i
        attrs: dict[str, int] = {"bias": int(len(node.input) > 2 and bool(node.input[2]))}
        j = self.follower(cur, {"BatchNormalization"})
        if j is not None and all(g.is_const(x) for x in g.nodes[j].input[1:]):
            nodes.append(j)
            cur, attrs["bias"] = j, 1
        while (j := self.follower(cur, {"Mul", "Add"})) is not None and self.const_operand(
            j, self.out(cur), max_numel=max(cout, 1)
        ):
            nodes.append(j)
            cur = j
            attrs["bias"] |= int(g.nodes[j].op_type == "Add")
        residual: Shape | None = None
        j = self.follower(cur, {"Add"})
        if j is not None:
            other = self.other_input(j, self.out(cur))
            if (
                other
                and not g.is_const(other)
                and other not in g.inputs
                and self.shape(other) == self.shape(self.out(cur))
            ):
                nodes.append(j)
                cur, residual = j, self.shape(other)
        j = self.follower(cur, CONV_ACTIVATIONS)
        if j is not None and all(g.is_const(x) for x in g.nodes[j].input[1:] if x):
            nodes.append(j)
            cur = j
            attrs["activation"] = ACTIVATIONS.index(g.nodes[j].op_type) + 1
        return nodes, cur, attrs, residual

    def gemm(self, i: int) -> list[Kernel]:
        g, node = self.g, self.g.nodes[i]
        a, b = node.input[0], node.input[1]
        pre = [p for p, j in self.absorbed.items() if j == i]
        attrs = self._prologue_attrs(b, pre)
        a_shape, b_shape = self.shape(a), self.shape(b)
        b_const = g.is_const(b)
        nodes, cur, views = [*pre, i], i, 0
        if node.op_type == "Gemm":
            m, k, n = _gemm_sizes(node, a_shape, b_shape, attrs)
            batch, fusable = 1, True
        else:
            m = math.prod(a_shape[:-1]) if len(a_shape) > 1 else 1
            k = a_shape[-1] if a_shape else 1
            n = b_shape[-1] if len(b_shape) > 1 else 1
            batch = 1
            cur, views = self._matmul_epilogue(i, nodes, attrs, a_shape, b_shape, n)
            fusable = attrs.get("bias", 0) == 1 and len(a_shape) == 2
            if not (b_const and len(b_shape) == 2) and not attrs.get("bias"):
                out = self.shape(self.out(i))
                m = a_shape[-2] if len(a_shape) > 1 else 1
                batch = math.prod(out[:-2]) if len(out) > 2 else 1
        if fusable:
            j = self.follower(cur, GEMM_ACTIVATIONS)
            if j is not None:
                nodes.append(j)
                cur = j
                attrs["activation"] = ACTIVATIONS.index(g.nodes[j].op_type) + 1
        macs = batch * m * k * n
        kind = "gemm" if b_const else "matmul"
        params = (math.prod(b_shape) if b_const else 0) + (n if attrs.get("bias") else 0)
        esize = g.elem_size.get(a, 4)
        inputs = [a_shape] if b_const else [a_shape, b_shape]
        read = (sum(math.prod(s) for s in inputs) + params) * esize
        attrs.update(m=m, k=k, n=n, batch=batch)
        main = self.make(
            kind,
            node.op_type,
            nodes,
            cur,
            inputs=inputs,
            macs=macs,
            flops=2 * macs,
            params=params,
            read=read,
            attrs=attrs,
            main=i,
        )
        if not views:
            return [main]
        return self._between_reshapes(i, main, a_shape, (m, k), (m, n), self.shape(self.out(cur)))

    def _prologue_attrs(self, b: str, pre: list[int]) -> dict[str, int]:
        """FusedMatMul flags of the nodes absorbed before a matmul: a Transpose sets
        ``trans_a`` or ``trans_b`` (by the operand it feeds), a Mul/Div sets ``scale``."""
        attrs: dict[str, int] = {}
        for p in pre:
            if self.g.nodes[p].op_type == "Transpose":
                side = "trans_b" if self._feeds(p, b, pre) else "trans_a"
                attrs[side] = 1
            elif self.g.nodes[p].op_type in ("Mul", "Div"):
                attrs["scale"] = 1
        return attrs

    def _matmul_epilogue(
        self,
        i: int,
        nodes: list[int],
        attrs: dict[str, int],
        a_shape: Shape,
        b_shape: Shape,
        n: int,
    ) -> tuple[int, int]:
        """Fuse what follows MatMul node ``i`` into ``nodes`` and ``attrs``: a scalar
        Mul/Div (FusedMatMul's alpha), else a bias Add where onnxruntime makes a Gemm of
        it. Returns the kernel's last node and how many view kernels wrap it (2 for the
        Reshapes around a Gemm on an N-D input, else 0)."""
        g, cur, views = self.g, i, 0
        b_const = g.is_const(g.nodes[i].input[1])
        j = self.follower(cur, {"Mul", "Div"})
        if j is not None and self.const_operand(j, self.out(cur), max_numel=1):
            nodes.append(j)
            cur, attrs["scale"] = j, 1
        gemm_like = len(b_shape) == 2 and (b_const or len(a_shape) == 2)
        j = self.follower(cur, {"Add"}) if "scale" not in attrs else None
        if gemm_like and j is not None and self.const_operand(j, self.out(cur), max_numel=n):
            nodes.append(j)
            cur, attrs["bias"] = j, 1
            views = 2 if len(a_shape) > 2 else 0
        return cur, views

    def _between_reshapes(
        self, i: int, main: Kernel, a_shape: Shape, flat_in: Shape, flat: Shape, output: Shape
    ) -> list[Kernel]:
        """``main`` between the two Reshape view kernels onnxruntime wraps around a Gemm
        on an N-D input (to ``flat_in`` before it, from ``flat`` to ``output`` after)."""
        name = self.g.names[i]
        reshape_in = Kernel(
            "view", "Reshape", (), (f"{name}/reshape_in",), (a_shape,), flat_in, 0, 0, 0, 0, 0
        )
        reshape_out = Kernel(
            "view", "Reshape", (), (f"{name}/reshape_out",), (flat,), output, 0, 0, 0, 0, 0
        )
        return [reshape_in, main, reshape_out]

    def _feeds(self, p: int, x: str, chain: list[int]) -> bool:
        """Whether node ``p`` reaches tensor ``x`` through nodes of ``chain``."""
        while True:
            if self.g.nodes[p].output[0] == x:
                return True
            users = [u for u in self.g.consumers.get(self.g.nodes[p].output[0], []) if u in chain]
            if not users:
                return False
            p = users[0]

    def einsum(self, i: int) -> Kernel | None:
        """A two-operand Einsum as the batched matmul it computes (``matmul``, constant
        operands too: onnxruntime's Einsum transposes and multiplies batch by batch, it
        does not pre-pack weights like a Gemm), or None where :func:`einsum_sizes` cannot
        read it (it stays an ``other`` kernel)."""
        g, node = self.g, self.g.nodes[i]
        equation = _attr(node, "equation", b"")
        equation = equation.decode() if isinstance(equation, bytes) else str(equation)
        shapes = [self.shape(x) for x in node.input]
        sizes = einsum_sizes(equation, shapes)
        if sizes is None:
            return None
        batch, m, k, n = sizes
        consts = [g.is_const(name) for name in node.input]
        params = sum(math.prod(x) for x, const in zip(shapes, consts, strict=True) if const)
        permute_a, permute_b, permute_out = einsum_layout(equation)
        return self.make(
            "matmul",
            "Einsum",
            [i],
            i,
            inputs=shapes,
            macs=batch * m * k * n,
            flops=2 * batch * m * k * n,
            params=params,
            attrs={
                "m": m,
                "k": k,
                "n": n,
                "batch": batch,
                "trans_a": permute_a,
                "trans_b": permute_b,
                "scatter": permute_out,
                "const_operand": int(any(consts)),
            },
            main=i,
        )

    def make(
        self,
        kind: str,
        op: str,
        nodes: list[int],
        last: int,
        *,
        inputs: Sequence[Shape] | None = None,
        macs: int | None = None,
        flops: int | None = None,
        params: int | None = None,
        read: int | None = None,
        attrs: Mapping[str, int] | None = None,
        main: int | None = -1,
    ) -> Kernel:
        """A kernel of ``nodes``; what is not given is derived from the tensors it touches.

        ``main`` is the node whose op the kernel is named after (default: the first node
        if its op is ``op``; ``None``: every node is listed as fused).
        """
        g = self.g
        if main == -1:
            main = nodes[0] if g.nodes[nodes[0]].op_type == op else None
        for n in nodes:
            self.taken[n] = True
        acts, weights, outs = self._boundary(nodes, last)
        output = self.shape(outs[0]) if outs[0] in g.shapes else ()
        if inputs is None:
            inputs = [self.shape(x) for x in acts]
        if params is None:
            params = sum(
                g.numel(w) for w in weights if kind in ("layernorm", "elementwise", "other")
            )
        a = dict(attrs or {})
        elements = math.prod(output) if output else 1
        node = g.nodes[nodes[0]] if len(nodes) == 1 else g.nodes[last]
        if kind == "pool":
            macs = flops = _pool_macs(node, inputs, elements, a)
        elif kind in ("layernorm", "softmax"):
            norm_node = g.nodes[last] if kind == "layernorm" else node
            x = inputs[0] if inputs else output
            flops = _normalization_flops(kind, norm_node, x, elements, a)
        elif kind == "elementwise":
            flops = _ELEMENT_FLOPS.get(op, 1) * elements * max(len(nodes), 1)
            a["const_operand"] = int(bool(weights) and op not in ("Clip",))
            self._elementwise_attrs(node, inputs, output, [*acts, *outs], a)
        elif kind == "other" and op in REDUCTIONS and len(nodes) == 1:
            _reduction_sizes(node, inputs[0] if inputs else (), output, a)
        elif kind == "resize":
            flops = _resize_flops(node, inputs[0] if inputs else output, elements, a)
        elif kind == "memory":
            a["n_outputs"] = len(outs)
            if op == "Gather" and node.input[0] in weights:
                params, read = self._lookup(node, acts, elements, read)
            if op == "Transpose":
                perm = _attr(node, "perm") or []
                a["trans_a"] = int(bool(perm) and perm[-1] != len(perm) - 1)
                _transpose_runs(perm, inputs[0] if inputs else (), a)
        esize = g.elem_size.get(acts[0], 4) if acts else 4
        if read is None:
            read = sum(math.prod(s) for s in inputs) * esize + (params or 0) * esize
        written = sum(g.nbytes(o) for o in outs)
        if kind == "view":
            read = written = 0
        return Kernel(
            kind=kind,
            op=op,
            fused=tuple(g.nodes[n].op_type for n in nodes if n != main),
            nodes=tuple(g.names[n] for n in nodes),
            inputs=tuple(tuple(s) for s in inputs),
            output=tuple(output),
            macs=int(macs or 0),
            flops=int(flops or 0),
            bytes_read=int(read),
            bytes_written=int(written),
            params=int(params or 0),
            attrs=a,
        )

    def _lookup(
        self, node: onnx.NodeProto, acts: list[str], elements: int, read: int | None
    ) -> tuple[int, int]:
        """(weights, bytes read) of an embedding lookup (a Gather from a constant table):
        the table is its weights (how far apart the rows it reads lie: a 16 MB table
        misses the caches), and it reads the rows it writes and its ids, not the table."""
        g = self.g
        if read is None:
            esize = g.elem_size.get(node.input[0], 4)
            read = elements * esize + sum(g.nbytes(x) for x in acts)
        return g.numel(node.input[0]), read

    def _elementwise_attrs(
        self,
        node: onnx.NodeProto,
        inputs: Sequence[Shape],
        output: Shape,
        tensors: Sequence[str],
        a: dict[str, int],
    ) -> None:
        """An elementwise kernel's ``broadcast``, ``span`` (elements per run of its
        broadcast loop) and ``integer`` (it reads or writes an integer tensor: integer
        arithmetic, or a Cast to or from it, has a model of its own)."""
        a["broadcast"] = int(any(s != output for s in inputs))
        a["span"] = broadcast_span([self.shape(x) for x in node.input if x], output)
        a["integer"] = int(any(t in self.g.integer for t in tensors))

    def _boundary(self, nodes: list[int], last: int) -> tuple[list[str], list[str], list[str]]:
        """The tensors crossing the edge of a kernel of ``nodes``: the activations and the
        constants it reads (each once, in order) and the tensors it writes that anything
        outside reads (at least the output of ``last``)."""
        g = self.g
        inside = {o for n in nodes for o in g.nodes[n].output}
        external = [x for n in nodes for x in g.nodes[n].input if x and x not in inside]
        acts = list(dict.fromkeys(x for x in external if not g.is_const(x)))
        weights = list(dict.fromkeys(x for x in external if g.is_const(x)))
        outs = [
            o
            for n in nodes
            for o in g.nodes[n].output
            if o and (o in g.outputs or any(u not in nodes for u in g.consumers.get(o, [])))
        ]
        return acts, weights, outs or [g.nodes[last].output[0]]


def split_kernels(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]] | None = None
) -> list[Kernel]:
    """The kernels onnxruntime's CPU provider would run for ``model``, in graph order.

    ``shapes`` fixes input shapes (``{"input": (1, 3, 224, 224)}``); an input with a
    dynamic dimension and no shape here is a ``ShapeError`` that says what to pass.
    See the module docstring for the fusion rules. A quantized model's int8 kernels
    (QDQ units, QLinear and Integer ops) come out in kinds of their own
    (``hwnas.predictors.kernel_quant``: ``qconv``, ``quantize`` ...).
    """
    from hwnas.predictors.kernel_quant import dequantized, requantized

    graph, marks = dequantized(model)
    kernels = _Splitter(prepare_graph(graph, shapes)).run()
    return requantized(kernels, marks) if graph is not model else kernels
