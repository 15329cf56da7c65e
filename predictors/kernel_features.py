"""A kernel onnxruntime runs (:class:`Kernel`: op type, shapes, MACs, bytes moved,
parameters, attributes) and its fixed-slot feature vector (:func:`kernel_features`,
:data:`FEATURE_NAMES`), which the regressors of :mod:`hwnas.predictors.kernels` use.
Which kernels a graph runs is :func:`hwnas.predictors.kernel_split.split_kernels`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hwnas.predictors.kernel_graph import Shape

#: The kernel types. Each sampled one has its own regressor; ``view`` kernels (Reshape and
#: friends, which onnxruntime runs without copying) cost the per-kernel overhead, and
#: ``other`` (ops no rule knows) goes to a generic regressor trained on every sample.
KINDS = (
    "conv",
    "dwconv",
    "gemm",
    "matmul",
    "layernorm",
    "softmax",
    "pool",
    "elementwise",
    "memory",
    "resize",
    "view",
    "other",
    # int8 (hwnas.predictors.kernel_quant): QDQ units, QLinear and Integer ops.
    "qconv",
    "qdwconv",
    "qgemm",
    "qmatmul",
    "qelementwise",
    "qpool",
    "quantize",
    "dequantize",
)

#: Activations by code (0: none), as fused into Conv or Gemm.
ACTIVATIONS = ("Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "Elu")

#: Op types by code (features): index in this tuple; anything else is len(OP_CODES).
OP_CODES = (
    "Conv",
    "MatMul",
    "Gemm",
    "LayerNormalization",
    "Softmax",
    "LogSoftmax",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "LpPool",
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
    "And",
    "Or",
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
    "QuickGelu",
    "Mish",
    "BatchNormalization",
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
    "Resize",
    "Upsample",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    # Added with the fourth generation of random networks (their kernels are ``other``
    # kernels, told apart by code for the generic and in-network models).
    "ConvTranspose",
    "InstanceNormalization",
    "GroupNormalization",
    "ReduceMean",
    "ReduceSum",
    "ReduceMax",
    "ReduceL2",
    "LpNormalization",
    "MaxUnpool",
    "Einsum",
    "ArgMax",
    "TopK",
    "CumSum",
    "GridSample",
    "LSTM",
    "GRU",
    # v3: a Resize (or Upsample) codes its interpolation: bicubic reads 16 taps an
    # output element and ran 3.4x slower here than the resize model priced it when
    # every mode shared one code (a (1, 32, 32, 32) x2 bicubic: 9.2 ms, predicted 2.7).
    "Resize:linear",
    "Resize:cubic",
    # Reductions the sampled ``reduce_axes`` kind draws (before, coded as unknown ops).
    "ReduceMin",
    "ReduceSumSquare",
    "ReduceL1",
    "ReduceProd",
    "ReduceLogSumExp",
    "ArgMin",
    # Integer ops the sampled ``intwise`` kind draws (opset 18's bitwise ops).
    "BitwiseXor",
    "BitwiseAnd",
    "BitwiseOr",
    "BitShift",
)
#: The ``bias`` attribute of a resize kernel (its interpolation: 1 linear, 2 cubic) to
#: the op name it is coded as.
_RESIZE_MODES = {1: "Resize:linear", 2: "Resize:cubic"}


def op_code(op: str, attrs: Mapping[str, int] | None = None) -> int:
    """The code of op type ``op`` (a Resize or Upsample by its interpolation, from the
    kernel's ``attrs``)."""
    if op in ("Resize", "Upsample") and attrs:
        op = _RESIZE_MODES.get(int(attrs.get("bias", 0)), op)
    try:
        return OP_CODES.index(op)
    except ValueError:
        return len(OP_CODES)


@dataclass(frozen=True)
class Kernel:
    """One unit of work onnxruntime runs: a main op with the ops fused into it.

    ``inputs`` are the shapes of the activations it reads (not its weights), ``output``
    the shape it writes (the first, for several). ``macs`` counts multiply-accumulates
    (conv, gemm, matmul; pooling counts one per window element), ``flops`` a nominal
    operation count (2 per MAC; a few per element for normalizations and activations),
    ``bytes_read`` activations and weights, ``bytes_written`` the outputs. ``attrs``
    holds the numeric attributes the features use (kernel size, strides, groups, M/K/N,
    fused activation, ...).
    """

    kind: str
    op: str
    fused: tuple[str, ...]
    nodes: tuple[str, ...]
    inputs: tuple[Shape, ...]
    output: Shape
    macs: int
    flops: int
    bytes_read: int
    bytes_written: int
    params: int
    attrs: Mapping[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The op types it runs, e.g. ``Conv+BatchNormalization+Relu``."""
        return "+".join((self.op, *self.fused))

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: nominal flops per byte moved."""
        moved = self.bytes_read + self.bytes_written
        return self.flops / moved if moved else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "op": self.label,
            "nodes": list(self.nodes),
            "inputs": [list(s) for s in self.inputs],
            "output": list(self.output),
            "macs": self.macs,
            "flops": self.flops,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "params": self.params,
            "attrs": dict(self.attrs),
        }


_ATTR_FEATURES = (
    "kernel_h",
    "kernel_w",
    "stride_h",
    "stride_w",
    "dilation",
    "groups",
    "m",
    "k",
    "n",
    "batch",
    "activation",
    "bias",
    "residual",
    "trans_a",
    "trans_b",
    "scale",
    "broadcast",
    "const_operand",
    "axis_size",
    "n_outputs",
    "computed_weights",  # a conv whose weights are computed at run time (not pre-packed)
    "scatter",  # a transpose that copies element by element (kernel_split._transpose_runs);
    # for an Einsum: its output is permuted (kernel_split.einsum_layout)
    "first_axis",  # a reduction whose reduced axes start at the shape's first, as written
    "span",  # an elementwise op's elements per run of its broadcast (kernel_split.broadcast_span)
)

#: The feature vector of a kernel, in this order (fixed slots: shapes are padded on the
#: left with 1 to rank 4, and leading dimensions of higher ranks are multiplied together).
FEATURE_NAMES: tuple[str, ...] = (
    "op_code_v3",  # v3: resize modes coded apart (older predictors are refused)
    "n_inputs",
    *(f"in0_d{i}" for i in range(4)),
    *(f"in1_d{i}" for i in range(4)),
    *(f"out_d{i}" for i in range(4)),
    *_ATTR_FEATURES,
    "macs",
    "flops",
    "bytes_read",
    "bytes_written",
    "params",
    "intensity",
    "elements_out",
    "log_macs",
    "log_bytes",
    "log_elements",
    "align_in",
    "align_out",
    "pad8_out",
    "pad16_out",
)


def _slots(shape: Shape | None, n: int = 4) -> list[float]:
    if not shape:
        return [1.0] * n if shape is not None else [0.0] * n
    dims = list(shape)
    if len(dims) > n:
        dims = [math.prod(dims[: len(dims) - n + 1]), *dims[len(dims) - n + 1 :]]
    return [1.0] * (n - len(dims)) + [float(d) for d in dims]


def _alignment(shape: Shape | None) -> float:
    """The largest power of two (up to 64) dividing the channel dimension (dim 1 of a
    4-D tensor, else the last): SIMD kernels and blocked layouts need it."""
    if not shape:
        return 0.0
    c = shape[1] if len(shape) == 4 else shape[-1]
    align = 1
    while align < 64 and c % (2 * align) == 0 and c > 0:
        align *= 2
    return float(align)


def _padding(shape: Shape | None, block: int) -> float:
    """How many times larger the channel dimension (as :func:`_alignment` reads it) is
    once rounded up to whole blocks of ``block`` (blocked layouts compute the padding:
    a conv of 3 output channels costs about one of 16 here)."""
    if not shape:
        return 1.0
    c = shape[1] if len(shape) == 4 else shape[-1]
    return float(-(-c // block) * block / c) if c > 0 else 1.0


def kernel_features(kernel: Kernel) -> np.ndarray:
    """The kernel's feature vector (see :data:`FEATURE_NAMES`)."""
    ins = list(kernel.inputs)
    elements = math.prod(kernel.output) if kernel.output else 1
    moved = kernel.bytes_read + kernel.bytes_written
    values = [
        float(op_code(kernel.op, kernel.attrs)),
        float(len(ins)),
        *_slots(ins[0] if ins else None),
        *_slots(ins[1] if len(ins) > 1 else None),
        *_slots(kernel.output),
        *(float(kernel.attrs.get(name, 0)) for name in _ATTR_FEATURES),
        float(kernel.macs),
        float(kernel.flops),
        float(kernel.bytes_read),
        float(kernel.bytes_written),
        float(kernel.params),
        kernel.intensity,
        float(elements),
        math.log1p(kernel.macs),
        math.log1p(moved),
        math.log1p(elements),
        _alignment(ins[0] if ins else None),
        _alignment(kernel.output),
        _padding(kernel.output, 8),
        _padding(kernel.output, 16),
    ]
    return np.asarray(values, dtype=np.float64)
