"""Single-kernel ONNX models to measure, sampled over realistic ranges.

:func:`sample_kernel_models` draws configurations of one kernel kind (a seeded stream:
a larger ``n`` with the same seed extends the earlier sample) and builds each as a small
ONNX model with ``onnx.helper``: graph inputs in, the kernel, its output out. Ranges
follow what CNNs and transformers contain (conv channels 8-512, feature maps 4-224,
depthwise ones to 640, kernels 1/3/5/7, strides 1/2, grouped and depthwise; 1-D convs
on signals of 16-64,000 samples, kernels 1-81, strides 1-16 (kind ``conv1d``: ``conv`` kernels, see
:data:`KERNEL_KIND`, with a model of their own); gemms with transformer and
classifier sizes, and one-row gemms of up to 64 MB of weights (kind ``gemv``: batch-1
``Linear`` layers, trained with the gemms); transposed convs, 2-D and 1-D, strides 1-8
(kind ``convt``); resizes by 2-4, half of them cubic (kind ``upsample``, trained with the
resizes); attention-shaped batched matmuls and softmaxes, seq 16-512, 1-16 heads, head
dim 8-128, some in groups of 2-64 (windows, channels, frames: batches to 1,024), half
with torch's (1, seq, heads, dim) operands transposed in; ...), and every model is kept under
about 4e8 MACs and 8M elements per activation so that one inference stays well under
50 ms on a laptop core.

Two kinds serve the training of the others. ``overhead`` is a fixed set of chains of
1-64 tiny ``Neg`` ops: their latencies against the chain length give the per-model and
per-kernel overheads. ``reorder`` models are an NCHWc ``ReorderInput`` followed by a
``ReorderOutput`` (onnxruntime's x86 contrib ops): onnxruntime wraps a lone conv or pool
in them, a whole network mostly not, so their measured cost is taken off those samples.
On a device without NCHWc they fail to load, and training falls back to the op
profile's shares.

A measured kernel model is recorded with ``Arch(space="kernels:<kind>", string=<config
JSON>)``; :class:`KernelSpace` rebuilds (and caches) the file from that string, which is
what the profiling fleet needs to measure or re-measure it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hwnas.errors import ParameterError, UsageError
from hwnas.predictors.kernel_features import Kernel
from hwnas.predictors.kernel_split import split_kernels

#: Kinds with a sampler (``view`` and ``other`` have none; ``overhead`` is fixed).
SAMPLED_KINDS = (
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
    "conv1d",
    "gemv",
    "convt",
    "upsample",
    "dwconv1d",
    "activation",
    "instnorm",
    "conv3d",
    "reduce",
    "gather",
    "dwconv3d",
    "patchify",
    "dwconv_large",
    "shuffle",
    "unary",
    "reduce_axes",
    "rnn",
    "gemm_wide",
    "transpose_nd",
    "conv_computed",
    "conv_reach",
    "einsum",
    "intwise",
    "broadcast",
)
#: The kernel kind a sampled kind measures, where they differ: 1-D convolutions are
#: ``conv`` kernels, sampled apart so that 1-D shapes (long signals, wide kernels) are
#: measured and not extrapolated from 2-D ones (they train their own model:
#: ``hwnas.predictors.kernels.model_kind``); ``gemv`` kernels are one-row ``gemm``
#: kernels with up to :data:`MAX_GEMV_PARAMS` weights (a batch-1 ``Linear`` layer:
#: every weight read once, memory-bound, which the ``gemm`` draws, of at most
#: :data:`MAX_PARAMS` weights and mostly many rows, seldom show), trained with them;
#: ``convt`` kernels are transposed convs (2-D and 1-D: decoders, super-resolution,
#: waveform synthesis), ``other`` kernels with a model of their own
#: (``hwnas.predictors.kernels.model_kind``); ``upsample`` kernels are ``resize`` kernels
#: at scales 2-4 and in cubic mode too (which costs several times a linear one), trained
#: with the other resizes; ``dwconv1d`` kernels are 1-D depthwise convs, dilated too
#: (Conv-TasNet, Conformer convolution modules), which onnxruntime runs by another path
#: than 2-D ones: ``dwconv`` kernels with a model of their own; ``activation`` kernels
#: are elementwise kernels of the activations that cost far more per element than an
#: add (PRelu, Softplus, Elu, Erf ...: each a few draws among the ``elementwise`` kind's
#: many ops, too few for the cost offset of its op), trained with them; ``instnorm``
#: kernels are ``InstanceNormalization`` (style transfer, and torch's export of group
#: norm: one instance per group of a reshaped tensor), ``other`` kernels with a model of
#: their own; ``conv3d`` kernels are 3-D convs on (1, C, T, H, W) clips and volumes
#: (C3D, I3D stems, R(2+1)D's (1, k, k) and (k, 1, 1) factorised pairs), ``conv`` kernels
#: with a model of their own (the 2-D conv model priced an R(2+1)D net's 3-D convs 30%
#: high); ``reduce`` kernels are reductions and selections (TopK of the k nearest on
#: square distance matrices and of detection scores, ReduceMax/Mean/Sum/Min/L2 over
#: channels, positions or the last axis, CumSum), ``other`` kernels with a model of their
#: own (before, the generic model priced a DGCNN's TopKs 100 times low); ``gather``
#: kernels are row gathers by an index tensor (embedding lookups, k-nearest-neighbour
#: features), GatherElements, Expand and Tile, ``memory`` kernels trained with them
#: (their in-network time was 6 times what the memory model priced); ``dwconv3d``
#: kernels are depthwise 3-D convs (X3D, CSN), ``dwconv`` kernels with a model of their
#: own (the 2-D depthwise model priced them 6 times low inside random video nets);
#: ``patchify`` kernels are the stems and merges of vision transformers and hierarchical
#: nets (a conv whose stride is its kernel, 2-32; or an overlapping 7x7/4, 11x11/4 or
#: 3x3/2 one), ``conv`` kernels trained with them (the ``conv`` kind draws kernels of at
#: most 7 and strides of at most 2); ``dwconv_large`` kernels are depthwise convs of 9x9
#: to 31x31 (RepLKNet, SLaK, MixNet, ConvMixer), ``dwconv`` kernels trained with them
#: (the ``dwconv`` kind stops at 7x7); ``shuffle`` kernels are DepthToSpace and
#: SpaceToDepth (pixel shuffles of super-resolution nets, space-to-depth stems):
#: ``memory`` kernels; ``unary`` kernels are the math ops of hand-written norms and
#: encodings (Pow, Sqrt, Reciprocal, Exp, Log, Abs, Sin, Cos, Floor): ``elementwise``
#: kernels; ``reduce_axes`` kernels are reductions over the channels of an NCHW map
#: (a channels-first layer norm's means), the last axis, positions or all, and ArgMax:
#: trained with the ``reduce`` kind; ``rnn`` kernels are LSTM and GRU layers (one or
#: two directions, 1-512 steps), ``other`` kernels with a model of their own (before,
#: the generic model priced two recurrent nets 80-86% low); ``gemm_wide`` kernels are
#: gemms of 2,000-50,000 outputs with up to 16M weights and many rows (a language
#: model's vocabulary head), which neither ``gemm`` (4M weights) nor ``gemv`` (one
#: row) draws: ``gemm`` kernels trained with them; ``transpose_nd`` kernels are the 5-D
#: and 6-D transposes of channel shuffles, pixel (un)shuffles written as reshapes, window
#: partitions and fused QKV head splits (the ``memory`` kind draws 3-D and 4-D ones):
#: ``memory`` kernels; ``conv_computed`` kernels are 2-D convs whose weights are an
#: input of the model, computed at run time (StyleGAN2's modulated convs, CondConv and
#: dynamic convs): onnxruntime can neither pre-pack them nor run them in its blocked
#: layout, so they take another path than constant-weight convs: ``conv`` kernels with
#: a model of their own; ``conv_reach`` kernels are convs beyond the ``conv`` kind's
#: reach (maps of 225-640 a side, as face and object detectors and dehazing nets run
#: them, and even kernels with strides of 2-4: the 8x8/4 and 4x4/2 convs of Atari
#: policies), ``conv`` kernels trained with them; ``einsum`` kernels are two-operand
#: Einsums (a Fourier neural operator's spectral mixing ``bixy,ioxy->boxy``, attention
#: written as einsums, heads inner or not, linear maps and channel mixes by a constant,
#: batched products, linear attention's ``k^T v``): onnxruntime permutes the operands
#: into batched-matmul order and multiplies batch by batch, not as its MatMul does:
#: ``matmul`` kernels with a model of their own (before, the matmul model priced a
#: FNO's spectral einsums at 0.31 of their time); ``intwise`` kernels are integer
#: arithmetic (int64 and int32: sums, products, divisions, modulo, bitwise XOR/AND, and
#: the Casts between floats and integers, as index and hash computations run them:
#: Instant-NGP's spatial hash), ``elementwise`` kernels with a model of their own
#: (here an int64 Add cost 5x a float one per element, an int64 Div 11x a float Div, a
#: Mod 18x a float Add, and no float sample showed it); ``broadcast`` kernels are binary
#: elementwise ops whose operands differ in shape (pairwise sums of (b, m, 1, t) and
#: (b, 1, n, t), an operand that keeps any subset of a 4-D tensor's axes, short rows by
#: a constant or a column, a scalar on a last axis of 1): ``elementwise`` kernels
#: trained with them (a few such draws among the ``elementwise`` kind's did not bend its
#: model: a dense GATv2, whose pairwise sums were priced at a third of their time, ran
#: 1.8x its prediction).
KERNEL_KIND = {
    "conv1d": "conv",
    "gemv": "gemm",
    "convt": "other",
    "upsample": "resize",
    "dwconv1d": "dwconv",
    "activation": "elementwise",
    "instnorm": "other",
    "conv3d": "conv",
    "reduce": "other",
    "gather": "memory",
    "dwconv3d": "dwconv",
    "patchify": "conv",
    "dwconv_large": "dwconv",
    "shuffle": "memory",
    "unary": "elementwise",
    "reduce_axes": "other",
    "rnn": "other",
    "gemm_wide": "gemm",
    "transpose_nd": "memory",
    "conv_computed": "conv",
    "conv_reach": "conv",
    "einsum": "matmul",
    "intwise": "elementwise",
    "broadcast": "elementwise",
}
OVERHEAD_KIND = "overhead"
#: Pairs of onnxruntime's NCHWc layout reorders (x86 only): what a lone conv pays extra.
REORDER_KIND = "reorder"
REORDER_DOMAIN = "com.microsoft.nchwc"
OVERHEAD_CHAINS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
SPACE_PREFIX = "kernels:"
OPSET = 17
MAX_MACS = 4e8
MAX_ELEMENTS = 8_000_000
MAX_PARAMS = 4_000_000
#: Weights of the largest one-row gemm sampled (64 MB in float32: beyond a CPU's caches).
MAX_GEMV_PARAMS = 16_000_000
_COMMON_HW = (7, 8, 10, 14, 16, 20, 28, 32, 40, 56, 64, 80, 112, 128, 160, 224)

Config = dict[str, Any]


def config_string(config: Mapping[str, Any]) -> str:
    """The canonical JSON of a configuration (its identity in the store)."""
    return json.dumps(dict(config), sort_keys=True, separators=(",", ":"))


def space_name(kind: str) -> str:
    return SPACE_PREFIX + kind


# --------------------------------------------------------------------------- drawing


def _log_int(rng: np.random.Generator, lo: float, hi: float) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _channels(rng: np.random.Generator, lo: int = 8, hi: int = 512) -> int:
    c = _log_int(rng, lo, hi)
    return max(8, int(round(c / 8)) * 8) if rng.random() < 0.75 else c


def _hw(rng: np.random.Generator, lo: int = 4, hi: int = 224) -> int:
    if rng.random() < 0.5:
        return int(rng.choice([h for h in _COMMON_HW if lo <= h <= hi]))
    return _log_int(rng, lo, hi)


def _pick(rng: np.random.Generator, options: Mapping[Any, float]) -> Any:
    keys = list(options)
    p = np.asarray([options[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _out_hw(hw: int, k: int, stride: int) -> int:
    return (hw + 2 * (k // 2) - k) // stride + 1


def _groups(rng: np.random.Generator, cin: int, cout: int) -> int:
    """A grouped conv's groups (15% of convs; else 1): a power of two dividing both
    channel counts, never as many as ``cin`` (that is a depthwise conv, another kind)."""
    if rng.random() >= 0.15:
        return 1
    shared = [g for g in (2, 4, 8, 16, 32) if cin % g == 0 and cout % g == 0]
    groups = int(rng.choice(shared)) if shared else 1
    return groups // 2 if 1 < groups == cin else groups


def _head_channels(rng: np.random.Generator, hi: int = 512) -> int:
    """A conv's output channels: 12% of them 1-15 (heads and output layers: a mask,
    three colours, a handful of classes), which onnxruntime's blocked convs pad to a
    whole block and so cost about as much as 16 here; else :func:`_channels`."""
    return _log_int(rng, 1, 15) if rng.random() < 0.12 else _channels(rng, 8, hi)


def _conv_2d(
    cin: int, cout: int, hw: int, k: int, stride: int, *, groups: int = 1, pad: int | None = None
) -> Config | None:
    """A square 2-D conv's configuration without its activation, or ``None`` beyond the
    sampler's bounds (:data:`MAX_MACS`, :data:`MAX_ELEMENTS`, an empty output). Without
    ``pad`` the conv pads to keep its size and the configuration carries no ``pad``."""
    p = k // 2 if pad is None else pad
    ho = (hw + 2 * p - k) // stride + 1
    macs = cout * ho * ho * (cin // groups) * k * k
    if ho < 1 or macs > MAX_MACS or max(cin * hw * hw, cout * ho * ho) > MAX_ELEMENTS:
        return None
    padding = {} if pad is None else {"pad": pad}
    return {
        "cin": cin,
        "cout": cout,
        "hw": hw,
        "k": k,
        "stride": stride,
        **padding,
        "groups": groups,
    }


def _draw_conv(rng: np.random.Generator) -> Config | None:
    cin = 3 if rng.random() < 0.08 else _channels(rng)
    cout = _head_channels(rng)
    k = _pick(rng, {1: 0.4, 3: 0.4, 5: 0.1, 7: 0.1})
    stride = _pick(rng, {1: 0.75, 2: 0.25})
    hw = _hw(rng, 1, 224)  # from 1: the last stages of small inputs, squeeze-excitation
    groups = _groups(rng, cin, cout)
    act = _pick(rng, {"": 0.3, "Relu": 0.35, "Clip": 0.3, "Sigmoid": 0.05})
    conv = _conv_2d(cin, cout, hw, k, stride, groups=groups)
    return None if conv is None else {**conv, "act": act}


def _draw_conv1d(rng: np.random.Generator) -> Config | None:
    cin = 1 if rng.random() < 0.1 else _channels(rng, 8, 512)
    cout = _head_channels(rng)
    k = _pick(rng, {1: 0.2, 3: 0.3, 5: 0.1, 7: 0.1, 9: 0.1, 15: 0.1, 31: 0.05, 81: 0.05})
    stride = _pick(rng, {1: 0.65, 2: 0.2, 4: 0.1, 16: 0.05})
    length = _log_int(rng, 16, 64_000)
    groups = _groups(rng, cin, cout)
    out = _out_hw(length, k, stride)
    macs = cout * out * (cin // groups) * k
    if out < 1 or macs > MAX_MACS or max(cin * length, cout * out) > MAX_ELEMENTS:
        return None
    act = _pick(rng, {"": 0.3, "Relu": 0.4, "Clip": 0.2, "Sigmoid": 0.1})
    cfg = {
        "cin": cin,
        "cout": cout,
        "length": length,
        "k": k,
        "stride": stride,
        "groups": groups,
        "act": act,
    }
    if k > 1 and stride == 1 and rng.random() < 0.25:  # WaveNet-like dilated convs
        cfg["dilation"] = _pick(rng, {2: 0.3, 4: 0.3, 8: 0.2, 16: 0.1, 64: 0.1})
    return cfg


def _draw_dwconv1d(rng: np.random.Generator) -> Config | None:
    c = _channels(rng, 8, 1024)
    k = _pick(rng, {3: 0.5, 5: 0.1, 7: 0.1, 15: 0.1, 31: 0.2})
    stride = _pick(rng, {1: 0.85, 2: 0.15})
    length = _log_int(rng, 16, 32_000)
    dilation = 1 if stride > 1 or rng.random() < 0.5 else _log_int(rng, 2, 128)
    if c * length > MAX_ELEMENTS or length < k:
        return None
    act = _pick(rng, {"": 0.5, "Relu": 0.3, "Clip": 0.1, "Sigmoid": 0.1})
    return {"c": c, "length": length, "k": k, "stride": stride, "dilation": dilation, "act": act}


#: 3-D kernel shapes (t, h, w) a conv3d draw takes, and how often.
_KERNELS_3D = {
    (3, 3, 3): 0.3,
    (1, 3, 3): 0.2,
    (3, 1, 1): 0.2,
    (1, 1, 1): 0.15,
    (5, 3, 3): 0.05,
    (3, 7, 7): 0.05,
    (1, 7, 7): 0.05,
}


def _draw_conv3d(rng: np.random.Generator) -> Config | None:
    """A 3-D conv on a (1, cin, t, hw, hw) clip: full, (1, k, k) spatial or (k, 1, 1)
    temporal kernels, strided in space or in both."""
    cin = 3 if rng.random() < 0.1 else _channels(rng, 4, 512)
    cout = _channels(rng, 8, 512)
    k = _pick(rng, _KERNELS_3D)
    stride = _pick(rng, {(1, 1, 1): 0.6, (1, 2, 2): 0.25, (2, 2, 2): 0.15})
    t, hw = _log_int(rng, 2, 32), _hw(rng, 4, 112)
    out = [_out_hw(n, kk, ss) for n, kk, ss in zip((t, hw, hw), k, stride, strict=True)]
    macs = cout * math.prod(out) * cin * math.prod(k)
    if min(out) < 1 or macs > MAX_MACS:
        return None
    if max(cin * t * hw * hw, cout * math.prod(out)) > MAX_ELEMENTS:
        return None
    act = _pick(rng, {"": 0.4, "Relu": 0.5, "Clip": 0.1})
    return {
        "cin": cin,
        "cout": cout,
        "t": t,
        "hw": hw,
        "k": list(k),
        "stride": list(stride),
        "act": act,
    }


def _draw_dwconv3d(rng: np.random.Generator) -> Config | None:
    """A depthwise 3-D conv on a (1, c, t, hw, hw) clip (X3D's 3x3x3 bottlenecks, CSN's
    channel-separated convs), strided in space or not."""
    c = _channels(rng, 8, 1024)
    k = _pick(rng, {(3, 3, 3): 0.5, (1, 3, 3): 0.2, (3, 1, 1): 0.1, (5, 3, 3): 0.1, (1, 5, 5): 0.1})
    stride = _pick(rng, {(1, 1, 1): 0.7, (1, 2, 2): 0.3})
    t, hw = _log_int(rng, 1, 32), _hw(rng, 4, 112)
    out = [_out_hw(n, kk, ss) for n, kk, ss in zip((t, hw, hw), k, stride, strict=True)]
    if min(out) < 1 or c * t * hw * hw > MAX_ELEMENTS:
        return None
    act = _pick(rng, {"": 0.5, "Relu": 0.3, "Clip": 0.2})
    return {"c": c, "t": t, "hw": hw, "k": list(k), "stride": list(stride), "act": act}


def _draw_dwconv(rng: np.random.Generator) -> Config | None:
    """A depthwise conv; most on maps of 1-160 a side, some (few channels) on 161-640
    (the first layers of detectors and segmenters at full resolution). Maps below 4 a
    side are the last stages of small inputs (a MobileNetV2 at 32x48 ends on 1x2), where
    channels that are no multiple of 4 leave onnxruntime's blocked path: 198 channels
    of 2x3 ran 45 us here, 192 or 200 of them 8 us."""
    large = rng.random() < 0.15
    c = _channels(rng, 8, 64 if large else 1536)
    k = _pick(rng, {3: 0.5, 5: 0.3, 7: 0.2})
    stride = _pick(rng, {1: 0.7, 2: 0.3})
    hw = _log_int(rng, 161, 640) if large else _hw(rng, 1, 160)
    if c * hw * hw > MAX_ELEMENTS:
        return None
    return {
        "c": c,
        "hw": hw,
        "k": k,
        "stride": stride,
        "act": _pick(rng, {"": 0.3, "Relu": 0.35, "Clip": 0.35}),
    }


def _draw_gemm(rng: np.random.Generator) -> Config | None:
    m = _log_int(rng, 1, 1024)
    if rng.random() < 0.5:
        d = int(rng.choice([128, 192, 256, 384, 512, 768, 1024]))
        k, n = [(d, d), (d, 3 * d), (d, 4 * d), (4 * d, d)][int(rng.integers(4))]
    else:
        k, n = _log_int(rng, 16, 4096), _log_int(rng, 8, 4096)
    if m * k * n > MAX_MACS or k * n > MAX_PARAMS or max(m * k, m * n) > MAX_ELEMENTS:
        return None
    bias = bool(rng.random() < 0.9)  # onnxruntime fuses an activation only with a bias
    act = _pick(rng, {"": 0.6, "Relu": 0.3, "Sigmoid": 0.05, "Tanh": 0.05}) if bias else ""
    if rng.random() < 0.2:
        return _draw_gemm_experts(rng, m, k, n)
    return {"m": m, "k": k, "n": n, "bias": bias, "act": act}


def _draw_gemm_experts(rng: np.random.Generator, m: int, k: int, n: int) -> Config | None:
    """A batched ``MatMul`` by constant 3-D weights, (experts, m, k) @ (experts, k, n):
    a mixture of experts' feed-forwards on their dispatched tokens, grouped linear
    layers. onnxruntime pre-packs only 2-D weights: eight (20, 384) @ (384, 1536) ran
    4.4 ms here as one batched MatMul, 1.9 ms as eight Gemms."""
    experts = _log_int(rng, 2, 32)
    m = max(1, m // experts)
    if experts * k * n > 2 * MAX_PARAMS or experts * m * k * n > MAX_MACS:
        return None
    return {"m": m, "k": k, "n": n, "bias": False, "act": "", "experts": experts}


def _draw_gemv(rng: np.random.Generator) -> Config | None:
    """A batch-1 ``Linear`` layer: one row, 64-8,192 inputs and 16-8,192 outputs."""
    k, n = _log_int(rng, 64, 8192), _log_int(rng, 16, 8192)
    if k * n > MAX_GEMV_PARAMS:
        return None
    bias = bool(rng.random() < 0.9)
    act = _pick(rng, {"": 0.6, "Relu": 0.3, "Sigmoid": 0.05, "Tanh": 0.05}) if bias else ""
    return {"m": 1, "k": k, "n": n, "bias": bias, "act": act}


def _draw_convt(rng: np.random.Generator) -> Config | None:
    """A transposed conv: 2-D (three in four) or 1-D, kernel 2-16, stride 1-8 (at most the
    kernel), padding that makes the output ``stride`` times the input."""
    dim = 2 if rng.random() < 0.75 else 1
    cin, cout = _channels(rng, 4, 512), _channels(rng, 1, 256)
    stride = _pick(rng, {1: 0.1, 2: 0.55, 3: 0.1, 4: 0.15, 8: 0.1})
    k = int(stride * _pick(rng, {1: 0.5, 2: 0.3, 3: 0.2}) + (rng.random() < 0.3))
    if dim == 2:
        size, k = _hw(rng, 2, 128), max(min(k, 9), stride)
    else:
        size = _log_int(rng, 16, 16_000)
        cout = 1 if rng.random() < 0.3 else cout
    k += stride == 1 and k % 2 == 0  # an even kernel at stride 1 cannot keep the size
    pad = (k - stride + 1) // 2
    groups = _groups(rng, cin, cout)
    out = size * stride
    macs = size**dim * cin * (cout // groups) * k**dim
    if macs > MAX_MACS or max(cin * size**dim, cout * out**dim) > MAX_ELEMENTS:
        return None
    return {
        "dim": dim,
        "cin": cin,
        "cout": cout,
        "size": size,
        "k": k,
        "stride": stride,
        "pad": pad,
        "groups": groups,
    }


def _draw_instnorm(rng: np.random.Generator) -> Config | None:
    if rng.random() < 0.5:  # InstanceNorm2d on an image
        shape = [1, _channels(rng, 3, 512), *([_hw(rng, 4, 256)] * 2)]
    else:  # GroupNorm as torch exports it: (1, groups, channels / groups * positions)
        groups = _pick(rng, {1: 0.35, 2: 0.1, 4: 0.1, 8: 0.15, 16: 0.1, 32: 0.2})
        shape = [1, groups, _log_int(rng, 64, MAX_ELEMENTS // groups)]
    return {"shape": shape} if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_upsample(rng: np.random.Generator) -> Config | None:
    """A resize by 2-4 (nearest, linear or cubic, half the draws cubic), square or not."""
    c, h = _channels(rng, 1, 256), _hw(rng, 4, 128)
    w = h if rng.random() < 0.6 else _hw(rng, 4, 160)
    scale = _pick(rng, {2: 0.5, 3: 0.2, 4: 0.3})
    mode = _pick(rng, {"nearest": 0.25, "linear": 0.25, "cubic": 0.5})
    if c * h * w * scale**2 > MAX_ELEMENTS:
        return None
    return {"c": c, "h": h, "w": w, "scale": scale, "mode": mode}


def _draw_matmul(rng: np.random.Generator) -> Config | None:
    if rng.random() < 0.7:
        heads = int(rng.choice([1, 2, 4, 6, 8, 12, 16]))
        seq, dim = _log_int(rng, 16, 512), int(rng.choice([8, 16, 32, 64, 96, 128]))
        if rng.random() < 0.3:  # attention in groups: windows, channels, frames
            heads *= _log_int(rng, 2, 64)
            seq = _log_int(rng, 8, 196)
        if rng.random() < 0.5:  # scores = q @ k^T * scale
            cfg = {"batch": heads, "m": seq, "k": dim, "n": seq, "trans_b": True, "scale": True}
        else:  # context = probs @ v
            cfg = {"batch": heads, "m": seq, "k": seq, "n": dim, "trans_b": False, "scale": False}
        # torch's multi-head attention: q, k, v as (1, seq, heads, dim), transposed into
        # the matmul (onnxruntime's FusedMatMul absorbs q's and k's, its transBatch
        # flags; v's it runs as a Transpose of its own)
        cfg["heads_inner"] = bool(rng.random() < 0.5)
    else:
        cfg = {
            "batch": _log_int(rng, 1, 64) if rng.random() < 0.7 else _log_int(rng, 64, 1024),
            "m": _log_int(rng, 8, 512),
            "k": _log_int(rng, 8, 512),
            "n": _log_int(rng, 8, 512),
            "trans_b": bool(rng.random() < 0.3),
            "scale": bool(rng.random() < 0.3),
        }
    b, m, k, n = cfg["batch"], cfg["m"], cfg["k"], cfg["n"]
    if b * m * k * n > MAX_MACS or b * max(m * k, k * n, m * n) > MAX_ELEMENTS:
        return None
    return cfg


def _draw_layernorm(rng: np.random.Generator) -> Config | None:
    rows = _log_int(rng, 1, 2048)
    dim = (
        int(rng.choice([64, 128, 192, 256, 384, 512, 768, 1024]))
        if rng.random() < 0.7
        else _log_int(rng, 16, 2048)
    )
    if rows * dim > MAX_ELEMENTS:
        return None
    skip = bool(rng.random() < 0.5)
    if rng.random() < 0.35:  # RMSNorm as torch writes it (LLaMA, T5): one pass, no shift
        return {"rows": rows, "dim": dim, "skip": False, "rms": True}
    return {"rows": rows, "dim": dim, "skip": skip}


def _draw_softmax(rng: np.random.Generator) -> Config | None:
    if rng.random() < 0.6:
        seq = _log_int(rng, 16, 512)
        shape = [1, int(rng.choice([1, 2, 4, 6, 8, 12, 16])), seq, seq]
    else:
        shape = [_log_int(rng, 1, 1024), _log_int(rng, 8, 4096)]
    return {"shape": shape} if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_pool(rng: np.random.Generator) -> Config | None:
    if rng.random() < 0.35:
        return _draw_pool_wide(rng)
    op = _pick(rng, {"MaxPool": 0.4, "AveragePool": 0.2, "GlobalAveragePool": 0.4})
    c, hw = _channels(rng, 8, 2048), _hw(rng, 2, 224)
    k, stride = (_pick(rng, {2: 0.4, 3: 0.6}), _pick(rng, {1: 0.3, 2: 0.7}))
    if op == "GlobalAveragePool":
        k = stride = 1
    if c * hw * hw > MAX_ELEMENTS or hw < k:
        return None
    return {"op": op, "c": c, "hw": hw, "k": k, "stride": stride}


def _draw_pool_wide(rng: np.random.Generator) -> Config | None:
    """A pool of a wide window: 1-D over (1, C, L) sequences (a moving average of 3-32
    steps: DLinear's and Autoformer's trend, audio), or 2-D of 3-13 (spatial pyramid
    pooling's 5, 9, 13; PoolFormer's token mixer); stride 1 (padded to keep the size, or
    not) or the window. A 25-step average of 321 channels of 360 ran 0.61 ms here."""
    op = _pick(rng, {"AveragePool": 0.6, "MaxPool": 0.4})
    one_d = bool(rng.random() < 0.5)
    c = _channels(rng, 8, 1024)
    size = _log_int(rng, 16, 8192) if one_d else _hw(rng, 4, 128)
    k = _log_int(rng, 3, 32) if one_d else int(rng.choice([3, 5, 7, 9, 13]))
    stride = 1 if rng.random() < 0.7 else k
    pad = k // 2 if stride == 1 and rng.random() < 0.5 else 0
    elements = c * size if one_d else c * size * size
    if elements > MAX_ELEMENTS or size + 2 * pad < k:
        return None
    return {
        "op": op,
        "c": c,
        "hw": size,
        "k": k,
        "stride": stride,
        "pad": pad,
        "rank": 1 + (not one_d),
    }


_ELEMENTWISE = {
    "Add": 0.25,
    "Mul": 0.15,
    "Sub": 0.03,
    "Div": 0.03,
    "Relu": 0.1,
    "Clip": 0.1,
    "Sigmoid": 0.05,
    "Tanh": 0.03,
    "HardSigmoid": 0.02,
    "Gelu": 0.08,
    "QuickGelu": 0.07,
    "Erf": 0.02,
    "BatchNormalization": 0.04,
    "Neg": 0.03,
    # Activations onnxruntime runs far slower than Relu, alone (not fused into a conv):
    # PRelu (a learnt slope per channel or one for all; ~40x Relu here), Elu (~15x),
    # Softplus (Mish's, ~100x); LeakyRelu where it follows no conv.
    "PRelu": 0.06,
    "LeakyRelu": 0.03,
    "Elu": 0.02,
    "Softplus": 0.02,
}
_BINARY = ("Add", "Mul", "Sub", "Div")


#: The ``activation`` kind's ops (unary, or PRelu with its slope).
_SLOW_ACTIVATIONS = {
    "PRelu": 0.25,
    "Softplus": 0.1,
    "Elu": 0.1,
    "Selu": 0.05,
    "LeakyRelu": 0.1,
    "Sigmoid": 0.1,
    "Tanh": 0.1,
    "Erf": 0.1,
    "Exp": 0.05,
    "HardSigmoid": 0.05,
}


def _draw_activation(rng: np.random.Generator) -> Config | None:
    return _draw_elementwise(rng, _SLOW_ACTIVATIONS)


def _activation_shape(rng: np.random.Generator) -> list[int]:
    if rng.random() < 0.6:
        return [1, _channels(rng, 8, 1024), *([_hw(rng, 2, 224)] * 2)]
    return [1, _log_int(rng, 1, 1024), _log_int(rng, 16, 4096)]


def _draw_elementwise(
    rng: np.random.Generator, ops: Mapping[str, float] | None = None
) -> Config | None:
    op = _pick(rng, ops or _ELEMENTWISE)
    shape = _activation_shape(rng)
    if op == "BatchNormalization" and len(shape) != 4:
        return None
    operand = ""
    if op in _BINARY:
        operand = _pick(
            rng, {"same": 0.45, "broadcast": 0.25, "scalar": 0.15, "short": 0.1, "outer": 0.05}
        )
        if operand == "short":  # coordinates: (points, 2-6) by a (2-6,) constant or a column
            shape = [_log_int(rng, 16, 400_000), int(rng.choice([2, 3, 4, 6]))]
        if operand == "outer":  # (b, m, 1, t) by (b, 1, n, t): pairwise interactions
            b, m, n = _log_int(rng, 1, 16), _log_int(rng, 2, 512), _log_int(rng, 2, 512)
            shape = [b, m, n, _log_int(rng, 1, 64)]
    elif op == "PRelu":  # nn.PReLU(channels), or nn.PReLU(): one slope
        operand = _pick(rng, {"channel": 0.7, "scalar": 0.3})
    return (
        {"op": op, "shape": shape, "operand": operand} if math.prod(shape) <= MAX_ELEMENTS else None
    )


#: Integer ops of the ``intwise`` kind, by share of the draws.
_INTWISE = {
    "Add": 0.2,
    "Mul": 0.2,
    "Sub": 0.05,
    "Div": 0.15,
    "Mod": 0.15,
    "BitwiseXor": 0.05,
    "BitwiseAnd": 0.05,
    "Cast": 0.15,
}
#: The ops that divide: only ever by a constant (an integer division by zero stops the
#: process), as index and hash computations divide (by a table size, a stride).
_INT_DIVIDING = ("Div", "Mod")


def _draw_intwise(rng: np.random.Generator) -> Config | None:
    """An integer op of :data:`_INTWISE` (int64 mostly, int32) on an activation-like
    tensor or on points (n, levels, coordinates), with an operand of the same shape, a
    scalar, a per-channel or per-coordinate constant (divisions: constants only); a Cast
    turns floats into integers or back."""
    op = _pick(rng, _INTWISE)
    dtype = _pick(rng, {"int64": 0.8, "int32": 0.2})
    if rng.random() < 0.5:
        shape = _activation_shape(rng)
    else:  # points: Instant-NGP's (n, levels, corners x coordinates), a graph's edges
        shape = [_log_int(rng, 16, 400_000), _log_int(rng, 1, 32), int(rng.choice([1, 2, 3, 8]))]
    if op == "Cast":
        operand = _pick(rng, {"to_int": 0.6, "to_float": 0.4})
    elif op in _INT_DIVIDING:
        operand = _pick(rng, {"scalar": 0.6, "short": 0.4})
    else:
        operand = _pick(rng, {"same": 0.35, "scalar": 0.35, "broadcast": 0.15, "short": 0.15})
    cfg: Config = {"op": op, "dtype": dtype, "shape": shape, "operand": operand}
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_broadcast(rng: np.random.Generator) -> Config | None:
    """A binary op (Add, Mul, Sub, Div) of operands that differ in shape: a pairwise
    ``outer`` one of (b, m, 1, t) and (b, 1, n, t); ``axes``, a 4-D tensor by an operand
    that keeps some of its axes (``keep``: 1 kept, 0 of size 1; ``const``: a constant
    one, as a learnt per-head scale is); ``short`` rows of 2-6 by
    a constant or a column; ``broadcast``, by channel or by the last axis; ``scalar``,
    mostly on a tensor whose last axis is 1 (onnxruntime's broadcast then runs over one
    element at a time: :func:`hwnas.predictors.kernel_split.broadcast_span`)."""
    op = _pick(rng, {"Add": 0.4, "Mul": 0.35, "Sub": 0.15, "Div": 0.1})
    operand = _pick(
        rng, {"outer": 0.25, "axes": 0.35, "short": 0.15, "broadcast": 0.1, "scalar": 0.15}
    )
    cfg: Config = {"op": op, "operand": operand}
    if operand == "outer":
        b, m, n = _log_int(rng, 1, 16), _log_int(rng, 2, 512), _log_int(rng, 2, 512)
        shape = [b, m, n, _log_int(rng, 1, 64)]
    elif operand == "axes":
        shape = [_log_int(rng, 1, 16), _log_int(rng, 1, 512), _log_int(rng, 1, 512)]
        shape.append(_log_int(rng, 1, 256))
        keep = [int(rng.random() < 0.5) for _ in shape]
        if all(keep) or not any(d > 1 for d, k in zip(shape, keep, strict=True) if not k):
            return None  # the same shape as the tensor: the ``elementwise`` kind's
        cfg["keep"] = keep
        if rng.random() < 0.5:  # a learnt scale or bias (GATv2's attention vector)
            cfg["const"] = 1
    elif operand == "short":
        shape = [_log_int(rng, 16, 400_000), int(rng.choice([2, 3, 4, 6]))]
    elif operand == "scalar" and rng.random() < 0.7:  # on a last axis of 1: runs of one
        shape = [_log_int(rng, 1, 400_000), _log_int(rng, 1, 64), 1]
    else:
        shape = _activation_shape(rng)
    cfg["shape"] = shape
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_memory(rng: np.random.Generator) -> Config | None:
    op = _pick(rng, {"Concat": 0.35, "Transpose": 0.3, "Split": 0.15, "Slice": 0.1, "Pad": 0.1})
    shape = _activation_shape(rng)
    cfg: Config = {"op": op, "shape": shape}
    if op == "Concat":
        cfg["parts"] = int(rng.integers(2, 5))
    elif op == "Split":
        cfg["parts"] = int(rng.integers(2, 4))
    elif op == "Transpose":
        perms = (
            [[0, 2, 3, 1], [0, 3, 1, 2], [0, 2, 1, 3]]
            if len(shape) == 4
            else [[0, 2, 1], [1, 0, 2]]
        )
        cfg["perm"] = perms[int(rng.integers(len(perms)))]
    elif op == "Pad" and len(shape) != 4:
        return None
    parts = int(cfg.get("parts", 1))
    return cfg if math.prod(shape) * (parts if op == "Concat" else 1) <= MAX_ELEMENTS else None


#: Reductions and selections of the ``reduce`` kind, by share of the draws.
_REDUCE_OPS = {
    "TopK": 0.35,
    "ReduceMax": 0.15,
    "ReduceMean": 0.15,
    "ReduceSum": 0.1,
    "ReduceMin": 0.05,
    "ReduceL2": 0.05,
    "CumSum": 0.15,
}


def _draw_reduce(rng: np.random.Generator) -> Config | None:
    """A TopK along the last axis (of a square distance matrix, or of a few rows of many
    scores), or a reduction over channels, positions or the last axis, or a CumSum."""
    op = _pick(rng, _REDUCE_OPS)
    if op == "TopK":
        if rng.random() < 0.5:
            n = _log_int(rng, 32, 2048)
            shape = [1, n, n]
        else:
            shape = [1, _log_int(rng, 1, 512), _log_int(rng, 16, 65536)]
        k = _pick(rng, {1: 0.1, 5: 0.1, 10: 0.1, 16: 0.15, 20: 0.2, 32: 0.1, 64: 0.1, 100: 0.15})
        cfg: Config = {"op": op, "shape": shape, "k": min(k, shape[-1])}
    else:
        shape = _activation_shape(rng)
        options = [[len(shape) - 1], [1]] + ([[2, 3]] if len(shape) == 4 else [])
        axes = options[0] if op == "CumSum" else options[int(rng.integers(len(options)))]
        cfg = {"op": op, "shape": shape, "axes": axes, "keepdims": int(rng.random() < 0.5)}
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_gather(rng: np.random.Generator) -> Config | None:
    """Rows of a table by an index tensor (an embedding lookup: the table a weight; or the
    k nearest points' features: an activation), GatherElements along the last axis, an
    Expand of a singleton axis, or a Tile."""
    op = _pick(rng, {"Gather": 0.5, "GatherElements": 0.15, "Expand": 0.2, "Tile": 0.15})
    if op == "Gather":
        rows = _log_int(rng, 16, 1_000_000)
        c = 0 if rng.random() < 0.15 else _log_int(rng, 3, 1024)  # 0: a 1-D table
        ids = [_log_int(rng, 1, 65536)]
        if rng.random() < 0.35:  # (candidates, fields) ids, as recommenders look them up
            ids = [_log_int(rng, 1, 1024), _log_int(rng, 2, 64)]
        table = "weight" if rng.random() < 0.6 else "input"
        limit = MAX_GEMV_PARAMS if table == "weight" else MAX_ELEMENTS
        width = max(c, 1)
        ok = rows * width <= limit and math.prod(ids) * width <= MAX_ELEMENTS
        lookup: Config = {"op": op, "rows": rows, "c": c, "ids": ids, "table": table}
        return lookup if ok else None
    n, c = _log_int(rng, 16, 4096), _log_int(rng, 3, 512)
    k = _pick(rng, {2: 0.1, 4: 0.15, 8: 0.15, 16: 0.2, 20: 0.2, 32: 0.2})
    if op == "Tile":
        shape = [1, _channels(rng, 8, 512), *([_hw(rng, 2, 112)] * 2)]
        cfg: Config = {"op": op, "shape": shape, "repeats": _pick(rng, {2: 0.7, 4: 0.3})}
        out = math.prod(shape) * cfg["repeats"] ** 2
    else:
        cfg, out = {"op": op, "n": n, "c": c, "k": k}, n * c * k
    return cfg if out <= MAX_ELEMENTS else None


def _draw_resize(rng: np.random.Generator) -> Config | None:
    if rng.random() < 0.3:
        return _draw_grid_sample(rng)
    c, hw, scale = _channels(rng, 8, 512), _hw(rng, 2, 112), _pick(rng, {2: 0.8, 4: 0.2})
    mode = _pick(rng, {"nearest": 0.6, "linear": 0.4})
    return (
        {"c": c, "hw": hw, "scale": scale, "mode": mode}
        if c * (hw * scale) ** 2 <= MAX_ELEMENTS
        else None
    )


def _draw_grid_sample(rng: np.random.Generator) -> Config | None:
    """A GridSample: (n, c, hw, hw) maps sampled at an (n, ho, wo, 2) grid of points
    computed at run time (optical flow's warps and correlation lookups, spatial
    transformers, deformable attention): 1-512 maps of 1-256 channels. onnxruntime
    runs it about 17 ns a sampled value here, thirty times a Resize."""
    n = 1 if rng.random() < 0.4 else _log_int(rng, 2, 512)
    c, hw = _log_int(rng, 1, 256), _hw(rng, 4, 128)
    ho, wo = _log_int(rng, 1, 128), _log_int(rng, 1, 128)
    mode = _pick(rng, {"bilinear": 0.7, "nearest": 0.2, "bicubic": 0.1})
    cfg = {"op": "GridSample", "n": n, "c": c, "hw": hw, "out": [ho, wo], "mode": mode}
    cfg["align"] = int(rng.random() < 0.5)
    too_big = max(n * c * hw * hw, n * c * ho * wo) > MAX_ELEMENTS or n * c * ho * wo > 1_000_000
    return None if too_big else cfg


def _draw_patchify(rng: np.random.Generator) -> Config | None:
    """A patch embedding (a conv whose stride is its kernel, on an image or as a
    patch merge between stages) or an overlapping strided stem."""
    cin = 3 if rng.random() < 0.5 else _channels(rng, 8, 512)
    cout = _channels(rng, 16, 1024)
    if rng.random() < 0.75:
        k = _pick(rng, {2: 0.25, 4: 0.3, 8: 0.1, 14: 0.1, 16: 0.2, 32: 0.05})
        stride, pad = k, 0
    else:
        k, stride, pad = _pick(rng, {(7, 4, 3): 0.4, (11, 4, 2): 0.2, (3, 2, 1): 0.4})
    hw = _log_int(rng, 2 * k, 384) if cin == 3 else _hw(rng, max(2 * stride, 4), 112)
    conv = _conv_2d(cin, cout, hw, k, stride, pad=pad)
    return None if conv is None else {**conv, "act": _pick(rng, {"": 0.7, "Relu": 0.3})}


def _draw_dwconv_large(rng: np.random.Generator) -> Config | None:
    """A depthwise conv of a large kernel (9x9 to 31x31), same padding."""
    c = _channels(rng, 16, 1024)
    k = _pick(rng, {9: 0.2, 11: 0.1, 13: 0.15, 15: 0.05, 17: 0.1, 21: 0.1, 27: 0.1, 31: 0.2})
    stride = _pick(rng, {1: 0.9, 2: 0.1})
    hw = _hw(rng, 4, 112)
    if c * hw * hw > MAX_ELEMENTS or c * hw * hw * k * k // stride**2 > MAX_MACS:
        return None
    act = _pick(rng, {"": 0.5, "Relu": 0.3, "Clip": 0.2})
    return {"c": c, "hw": hw, "k": k, "stride": stride, "act": act}


def _draw_shuffle(rng: np.random.Generator) -> Config | None:
    """A DepthToSpace (CRD, as torch exports PixelShuffle, or DCR) or a SpaceToDepth
    of block 2-4 on a (1, C, H, W) map, as the input of its op."""
    op = _pick(rng, {"DepthToSpace": 0.75, "SpaceToDepth": 0.25})
    block = _pick(rng, {2: 0.6, 3: 0.1, 4: 0.3})
    hw = _hw(rng, 4, 224) // block * block if op == "SpaceToDepth" else _hw(rng, 4, 128)
    c = _channels(rng, 1, 256) * (block * block if op == "DepthToSpace" else 1)
    if hw < block or c * hw * hw > MAX_ELEMENTS:
        return None
    mode = _pick(rng, {"CRD": 0.6, "DCR": 0.4}) if op == "DepthToSpace" else "DCR"
    return {"op": op, "shape": [1, c, hw, hw], "block": block, "mode": mode}


#: The ``unary`` kind's ops (Pow by a constant exponent), by share of the draws.
_UNARY = {
    "Pow": 0.3,
    "Sqrt": 0.12,
    "Reciprocal": 0.1,
    "Exp": 0.1,
    "Log": 0.08,
    "Abs": 0.08,
    "Sin": 0.08,
    "Cos": 0.06,
    "Floor": 0.08,
}


def _draw_unary(rng: np.random.Generator) -> Config | None:
    """A math op of :data:`_UNARY` on an activation (Pow by 2, 0.5 or 3)."""
    op, shape = _pick(rng, _UNARY), _activation_shape(rng)
    cfg: Config = {"op": op, "shape": shape}
    if op == "Pow":
        cfg["exponent"] = _pick(rng, {2.0: 0.7, 0.5: 0.15, 3.0: 0.15})
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


#: The ``reduce_axes`` kind's reductions, by share of the draws. onnxruntime has no fast
#: path for ReduceProd or ReduceLogSumExp: over the last axis of (1, 4096, 512) they ran
#: 1.7 and 8.7 ms here against 0.16 ms for a ReduceSum (a NODE ensemble's entmax trees
#: multiply their choices: 8 ReduceProds took 28% of the network, priced at a tenth).
_REDUCE_AXES_OPS = {
    "ReduceMean": 0.2,
    "ReduceSum": 0.15,
    "ReduceMax": 0.15,
    "ReduceMin": 0.03,
    "ReduceL2": 0.05,
    "ReduceSumSquare": 0.1,
    "ReduceProd": 0.1,
    "ReduceLogSumExp": 0.07,
    "ArgMax": 0.15,
}


def _draw_reduce_axes(rng: np.random.Generator) -> Config | None:
    """A reduction over the channels of an NCHW map (most draws), its last axis, its
    positions or all of it; over the first or last axis of a (1, N, C) sequence."""
    op = _pick(rng, _REDUCE_AXES_OPS)
    draw = rng.random()
    if draw < 0.35:
        return _draw_reduce_leading(rng, op)
    if draw < 0.35 + 0.65 * 0.7:
        shape = [1, _channels(rng, 4, 1024), *([_hw(rng, 2, 224)] * 2)]
        options = {(1,): 0.55, (3,): 0.15, (2, 3): 0.2, (1, 2, 3): 0.1}
    else:
        shape = [1, _log_int(rng, 1, 4096), _log_int(rng, 4, 2048)]
        options = {(1,): 0.5, (2,): 0.5}
    axes = list(_pick(rng, {a: p for a, p in options.items() if op != "ArgMax" or len(a) == 1}))
    keepdims = int(rng.random() < 0.75)
    cfg = {"op": op, "shape": shape, "axes": axes, "keepdims": keepdims}
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_reduce_leading(rng: np.random.Generator, op: str) -> Config | None:
    """A reduction over one axis with no, one unit, or 2-64 elements of axes before it
    (a graph's readout over its nodes, a sum over a split's radix or a capsule layer's
    inputs, a mixture's combination of its experts): 2-4,096 reduced, 1-65,536 after.
    onnxruntime's fast path depends on what comes before (``first_axis``): behind a unit
    axis, a sum of (1, 1024, 1024) over axis 1 ran 3.5 ms here, of (1024, 1024) over axis
    0 0.11 ms (a point transformer's offset attention normalises so)."""
    before = [[], [1], [_log_int(rng, 2, 64)]][int(rng.choice(3, p=[0.3, 0.5, 0.2]))]
    k = _log_int(rng, 2, 4096)
    after = [_log_int(rng, 1, 65536)] if rng.random() < 0.6 else [_log_int(rng, 2, 256)] * 2
    shape = [*before, k, *after]
    cfg = {"op": op, "shape": shape, "axes": [len(before)], "keepdims": int(rng.random() < 0.5)}
    return cfg if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_rnn(rng: np.random.Generator) -> Config | None:
    """An LSTM or GRU layer on a (T, 1, I) sequence, forward or bidirectional."""
    op = _pick(rng, {"LSTM": 0.5, "GRU": 0.5})
    steps, size = _log_int(rng, 1, 512), _log_int(rng, 8, 1024)
    hidden = _log_int(rng, 16, 1024)
    dirs = _pick(rng, {1: 0.75, 2: 0.25})
    gates = 4 if op == "LSTM" else 3
    if dirs * steps * gates * hidden * (size + hidden) > MAX_MACS:
        return None
    return {"op": op, "steps": steps, "input": size, "hidden": hidden, "dirs": dirs}


def _draw_gemm_wide(rng: np.random.Generator) -> Config | None:
    """A gemm of many outputs (2,000-50,000) and rows (1-512): a vocabulary head."""
    m, k = _log_int(rng, 1, 512), int(rng.choice([64, 128, 256, 288, 384, 512, 768, 1024]))
    n = _log_int(rng, 2000, 50_000)
    if k * n > MAX_GEMV_PARAMS or m * k * n > 5 * MAX_MACS or m * n > MAX_ELEMENTS:
        return None
    return {"m": m, "k": k, "n": n, "bias": bool(rng.random() < 0.5), "act": ""}


def _draw_transpose_nd(rng: np.random.Generator) -> Config | None:
    """A 5-D or 6-D transpose as models write them: a channel shuffle (1, g, C/g, H, W),
    a pixel unshuffle (1, C, H/b, b, W/b, b) or shuffle (1, C, b, b, H, W), a window
    partition (1, H/w, w, W/w, w, C), a fused QKV split into heads (1, T, 3, h, d)."""
    style = _pick(rng, {"shuffle": 0.2, "unshuffle": 0.2, "pixel": 0.2, "window": 0.2, "qkv": 0.2})
    c, hw = _channels(rng, 8, 512), _hw(rng, 4, 128)
    b = _pick(rng, {2: 0.7, 4: 0.3})
    if style == "shuffle":
        g = _pick(rng, {2: 0.5, 4: 0.25, 8: 0.25})
        shape, perm = [1, g, max(1, c // g), hw, hw], [0, 2, 1, 3, 4]
    elif style == "unshuffle":
        shape, perm = [1, c, max(1, hw // b), b, max(1, hw // b), b], [0, 1, 3, 5, 2, 4]
    elif style == "pixel":
        shape, perm = [1, c, b, b, hw, hw], [0, 1, 4, 2, 5, 3]
    elif style == "window":
        w = _pick(rng, {4: 0.2, 7: 0.5, 8: 0.3})
        n = max(1, hw // w)
        shape, perm = [1, n, w, n, w, c], [0, 1, 3, 2, 4, 5]
    else:
        heads = _pick(rng, {2: 0.2, 4: 0.3, 8: 0.3, 12: 0.2})
        d = _pick(rng, {16: 0.2, 32: 0.3, 64: 0.5})
        shape, perm = [1, _log_int(rng, 4, 2048), 3, heads, d], [2, 0, 3, 1, 4]
    return {"shape": shape, "perm": perm} if math.prod(shape) <= MAX_ELEMENTS else None


def _draw_conv_computed(rng: np.random.Generator) -> Config | None:
    """A conv with computed weights: 1x1 to 5x5 (mostly 3x3), groups 1 (or a few), widths
    and maps of generators and dynamic-conv backbones."""
    cin, cout = _channels(rng, 8, 512), _head_channels(rng)
    k = _pick(rng, {1: 0.3, 3: 0.55, 5: 0.15})
    stride = _pick(rng, {1: 0.85, 2: 0.15})
    hw = _hw(rng, 4, 256)
    conv = _conv_2d(cin, cout, hw, k, stride, groups=_groups(rng, cin, cout))
    act = {"": 0.6, "Relu": 0.2, "LeakyRelu": 0.2}
    return None if conv is None else {**conv, "act": _pick(rng, act)}


def _draw_conv_reach(rng: np.random.Generator) -> Config | None:
    """A conv the ``conv`` kind never draws: on a map of 225-640 a side (few channels),
    or with an even kernel and a stride of 2-4 (8x8/4, 4x4/2, 6x6/2; no padding)."""
    if rng.random() < 0.6:
        cin = _pick(rng, {1: 0.1, 3: 0.25}) if rng.random() < 0.35 else _channels(rng, 8, 64)
        cout = _head_channels(rng, 64)
        k, stride = _pick(rng, {(1, 1): 0.25, (3, 1): 0.35, (3, 2): 0.25, (5, 1): 0.15})
        hw, pad = _log_int(rng, 225, 640), k // 2
    else:
        cin = _pick(rng, {1: 0.2, 3: 0.2, 4: 0.2}) if rng.random() < 0.4 else _channels(rng, 8, 256)
        cout = _channels(rng, 8, 256)
        k, stride = _pick(rng, {(8, 4): 0.35, (4, 2): 0.35, (6, 2): 0.15, (4, 4): 0.15})
        hw, pad = _hw(rng, 2 * k, 224), 0
    conv = _conv_2d(cin, cout, hw, k, stride, pad=pad)
    act = {"": 0.4, "Relu": 0.5, "LeakyRelu": 0.1}
    return None if conv is None else {**conv, "act": _pick(rng, act)}


#: Einsum forms drawn: (equation, whether the second operand is a constant weight, the
#: draw's weight). Letters: ``b`` batch 1; ``h`` heads; ``q``/``k`` sequence positions;
#: ``d``/``e`` head dims; ``i``/``o`` channels in and out; ``x``/``y`` Fourier modes;
#: ``l`` tokens; ``n``/``j`` features; ``c`` channels; ``g`` a batch of products.
EINSUM_FORMS: tuple[tuple[str, bool, float], ...] = (
    ("bixy,ioxy->boxy", True, 0.2),  # FNO 2-D spectral mixing (real or imaginary part)
    ("bix,iox->box", True, 0.1),  # FNO 1-D
    ("bhqd,bhkd->bhqk", False, 0.12),  # attention scores
    ("bhqk,bhkd->bhqd", False, 0.1),  # attention context
    ("bqhd,bkhd->bhqk", False, 0.08),  # scores, heads inner
    ("bhqk,bkhd->bqhd", False, 0.06),  # context, heads inner
    ("bld,dn->bln", True, 0.1),  # a linear map
    ("bchw,oc->bohw", True, 0.08),  # a 1x1 conv as an einsum
    ("gij,gjn->gin", False, 0.08),  # batched products
    ("bhqd,bhqe->bhde", False, 0.08),  # linear attention: k^T v
)


def _einsum_sizes_drawn(rng: np.random.Generator, form: str) -> dict[str, int]:
    """A size for each letter of ``form`` (see :data:`EINSUM_FORMS`)."""
    seq = _log_int(rng, 8, 1024)
    mode = _log_int(rng, 4, 48)
    sizes = {
        "b": 1,
        "h": int(rng.choice([1, 2, 4, 8, 12, 16])),
        "q": seq,
        "k": seq if rng.random() < 0.7 else _log_int(rng, 8, 1024),
        "d": int(rng.choice([16, 32, 64, 128])),
        "e": int(rng.choice([16, 32, 64, 128])),
        "i": _channels(rng, 8, 256),
        "o": _channels(rng, 8, 256),
        "x": mode,
        "y": mode if rng.random() < 0.7 else _log_int(rng, 4, 48),
        "l": _log_int(rng, 1, 2048),
        "n": _log_int(rng, 16, 2048),
        "c": _channels(rng, 8, 512),
        "g": _log_int(rng, 1, 512),
        "j": _log_int(rng, 8, 512),
    }
    if form.startswith("bld"):
        sizes["d"] = _log_int(rng, 16, 2048)
    if form.startswith("bchw"):
        sizes["h"] = sizes["w"] = _hw(rng, 4, 112)
    return sizes


def _draw_einsum(rng: np.random.Generator) -> Config | None:
    forms = {i: weight for i, (_, _, weight) in enumerate(EINSUM_FORMS)}
    equation, const, _ = EINSUM_FORMS[_pick(rng, forms)]
    sizes = _einsum_sizes_drawn(rng, equation)
    lhs, out = equation.split("->")
    shapes = [[sizes[c] for c in term] for term in lhs.split(",")]
    letters = set(lhs) - {","}
    macs = math.prod(sizes[c] for c in letters)
    largest = max(math.prod(s) for s in [*shapes, [sizes[c] for c in out]])
    if macs > MAX_MACS or largest > MAX_ELEMENTS or (const and math.prod(shapes[1]) > MAX_PARAMS):
        return None
    return {"equation": equation, "shapes": shapes, "const": const}


_DRAW: dict[str, Callable[[np.random.Generator], Config | None]] = {
    "conv": _draw_conv,
    "dwconv": _draw_dwconv,
    "gemm": _draw_gemm,
    "matmul": _draw_matmul,
    "layernorm": _draw_layernorm,
    "softmax": _draw_softmax,
    "pool": _draw_pool,
    "elementwise": _draw_elementwise,
    "activation": _draw_activation,
    "instnorm": _draw_instnorm,
    "memory": _draw_memory,
    "resize": _draw_resize,
    "conv1d": _draw_conv1d,
    "dwconv1d": _draw_dwconv1d,
    "gemv": _draw_gemv,
    "convt": _draw_convt,
    "upsample": _draw_upsample,
    "conv3d": _draw_conv3d,
    "reduce": _draw_reduce,
    "gather": _draw_gather,
    "dwconv3d": _draw_dwconv3d,
    "patchify": _draw_patchify,
    "dwconv_large": _draw_dwconv_large,
    "shuffle": _draw_shuffle,
    "unary": _draw_unary,
    "reduce_axes": _draw_reduce_axes,
    "rnn": _draw_rnn,
    "gemm_wide": _draw_gemm_wide,
    "transpose_nd": _draw_transpose_nd,
    "conv_computed": _draw_conv_computed,
    "conv_reach": _draw_conv_reach,
    "einsum": _draw_einsum,
    "intwise": _draw_intwise,
    "broadcast": _draw_broadcast,
}


def _draw_reorder(rng: np.random.Generator) -> Config | None:
    c, hw = 16 * max(1, _log_int(rng, 1, 64)), _hw(rng, 2, 224)
    return {"c": c, "hw": hw} if c * hw * hw <= MAX_ELEMENTS else None


_DRAW[REORDER_KIND] = _draw_reorder
#: Every kind the sampler knows, in the order they are measured.
ALL_KINDS = (*SAMPLED_KINDS, REORDER_KIND, OVERHEAD_KIND)
#: Kinds added after the first ones, in the order they were added.
_LATER_KINDS = (
    "conv1d",
    "gemv",
    "convt",
    "upsample",
    "dwconv1d",
    "activation",
    "instnorm",
    "conv3d",
    "reduce",
    "gather",
    "dwconv3d",
    "patchify",
    "dwconv_large",
    "shuffle",
    "unary",
    "reduce_axes",
    "rnn",
    "gemm_wide",
    "transpose_nd",
    "conv_computed",
    "conv_reach",
    "einsum",
    "intwise",
    "broadcast",
)
#: Each kind's random stream (fixed: a kind added later must not move the others').
_STREAM = {
    kind: i
    for i, kind in enumerate(
        (
            *(k for k in SAMPLED_KINDS if k not in _LATER_KINDS),
            REORDER_KIND,
            OVERHEAD_KIND,
            *_LATER_KINDS,
        )
    )
}


def _check_kind(kind: str) -> None:
    if kind not in ALL_KINDS:
        raise ParameterError(
            "kind", f"names an unknown kernel kind {kind!r}; use one of {', '.join(ALL_KINDS)}"
        )


def sample_configs(kind: str, n: int, seed: int = 0) -> list[Config]:
    """``n`` distinct configurations of ``kind`` (a prefix of one seeded stream).

    The ``overhead`` kind is fixed: every chain length, whatever ``n``; ``reorder``
    gets half of ``n`` (at least 8): its cost is a smooth function of the tensor size.
    """
    _check_kind(kind)
    if n < 0:
        raise ParameterError("n", f"must be >= 0, got {n!r}")
    if kind == OVERHEAD_KIND:
        return [{"kind": kind, "chain": c} for c in OVERHEAD_CHAINS]
    if kind == REORDER_KIND:
        n = max(n // 2, min(n, 8))
    rng = np.random.default_rng([seed, _STREAM[kind]])
    out: list[Config] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 200 * (n + 10):
            raise RuntimeError(f"could not draw {n} distinct {kind} kernels")  # a bug
        cfg = _DRAW[kind](rng)
        if cfg is None:
            continue
        cfg = {"kind": kind, **cfg}
        key = config_string(cfg)
        if key not in seen:
            seen.add(key)
            out.append(cfg)
    return out


def plan_kernels(
    per_kind: int, seed: int = 0, kinds: Sequence[str] | None = None
) -> dict[str, list[Config]]:
    """The configurations a kernel predictor is trained on, by kind: ``per_kind`` of each
    of ``kinds`` (default: every kind of :data:`SAMPLED_KINDS`), the ``reorder`` pairs
    when a kind onnxruntime wraps in layout reorders is among them, and the fixed
    ``overhead`` chains. Raises ``ParameterError`` for ``per_kind < 1`` and unknown kinds.
    """
    if per_kind < 1:
        raise ParameterError("per_kind", f"must be >= 1, got {per_kind}")
    unknown = sorted(set(kinds or ()) - set(SAMPLED_KINDS))
    if unknown:
        raise ParameterError(
            "kinds",
            f"names unknown kind(s) {', '.join(unknown)}; choose from {', '.join(SAMPLED_KINDS)}",
        )
    wanted = [k for k in SAMPLED_KINDS if kinds is None or k in kinds]
    plan = {kind: sample_configs(kind, per_kind, seed) for kind in wanted}
    if {"conv", "dwconv", "pool"} & set(wanted):  # the kinds onnxruntime wraps in reorders
        plan[REORDER_KIND] = sample_configs(REORDER_KIND, per_kind, seed)
    plan[OVERHEAD_KIND] = sample_configs(OVERHEAD_KIND, 0)
    return plan


def sample_kernel_models(kind: str, n: int, seed: int = 0) -> list[tuple[onnx.ModelProto, Config]]:
    """``n`` single-kernel ONNX models of ``kind`` with their configurations (seeded)."""
    return [(build_kernel_model(cfg), cfg) for cfg in sample_configs(kind, n, seed)]


# --------------------------------------------------------------------------- building


class _Builder:
    """Collects nodes, inputs and seeded random weights of one small model."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        digest = hashlib.sha256(config_string(config).encode()).digest()
        self.rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def input(
        self, shape: list[int], name: str | None = None, dtype: int = TensorProto.FLOAT
    ) -> str:
        name = name or f"x{len(self.inputs)}"
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def weight(
        self, shape: list[int], *, scale: float = 0.1, dtype: Any = np.float32, value: Any = None
    ) -> str:
        name = f"w{len(self.inits)}"
        if value is None:
            array = (self.rng.standard_normal(shape) * scale).astype(dtype)
        else:
            array = np.asarray(value, dtype=dtype).reshape(shape)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> list[str]:
        outs = [f"t{self.count}_{i}" for i in range(n_out)]
        self.count += 1
        self.nodes.append(helper.make_node(op, inputs, outs, **attrs))
        return outs

    def model(
        self,
        outputs: list[str],
        name: str,
        domain: str = "",
        dtype: int = TensorProto.FLOAT,
        opset: int = OPSET,
    ) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            name,
            self.inputs,
            [helper.make_tensor_value_info(o, dtype, None) for o in outputs],
            initializer=self.inits,
        )
        opsets = [helper.make_opsetid("", opset)]
        if domain:
            opsets.append(helper.make_opsetid(domain, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="hwnas-kernels")
        model.ir_version = 8
        return onnx.shape_inference.infer_shapes(model)


def _activation(b: _Builder, x: str, act: str) -> str:
    if not act:
        return x
    if act == "Clip":
        lo, hi = b.weight([], value=0.0), b.weight([], value=6.0)
        return b.node("Clip", [x, lo, hi])[0]
    return b.node(act, [x])[0]


def build_kernel_model(config: Mapping[str, Any]) -> onnx.ModelProto:
    """The single-kernel ONNX model of a configuration (deterministic weights)."""
    kind = str(config.get("kind"))
    _check_kind(kind)
    b = _Builder(config)
    c = dict(config)
    if kind == OVERHEAD_KIND:
        y = b.input([1, 16])
        for _ in range(int(c["chain"])):
            y = b.node("Neg", [y])[0]
    elif kind == REORDER_KIND:
        return _build_reorder(b, c)
    elif kind in ("conv", "dwconv", "patchify", "dwconv_large", "conv_computed", "conv_reach"):
        y = _build_conv(b, c, depthwise=kind in ("dwconv", "dwconv_large"))
    elif kind in ("convt", "upsample"):
        y = _build_convt(b, c) if kind == "convt" else _build_upsample(b, c)
    elif kind in ("conv1d", "dwconv1d"):
        y = _build_conv1d(b, c, depthwise=kind == "dwconv1d")
    elif kind in ("conv3d", "dwconv3d"):
        y = _build_conv3d(b, c)
    elif kind in ("gemm", "gemv", "gemm_wide"):
        y = _build_gemm(b, c)
    elif kind == "matmul":
        y = _build_matmul(b, c)
    elif kind == "layernorm":
        y = _build_layernorm(b, c)
    elif kind == "softmax":
        y = b.node("Softmax", [b.input(list(c["shape"]))], axis=-1)[0]
    elif kind == "pool":
        y = _build_pool(b, c)
    elif kind in ("elementwise", "activation", "broadcast"):
        y = _build_elementwise(b, c)
    elif kind == "intwise":
        return _build_intwise(b, c)
    elif kind == "instnorm":
        x, ch = b.input(list(c["shape"])), int(c["shape"][1])
        scale, bias = b.weight([ch], value=np.ones(ch)), b.weight([ch], value=np.zeros(ch))
        y = b.node("InstanceNormalization", [x, scale, bias], epsilon=1e-5)[0]
    elif kind == "memory":
        outs = _build_memory(b, c)
        return b.model(outs, f"kernel_{kind}")
    elif kind in ("reduce", "reduce_axes"):
        y = _build_reduce(b, c)
    elif kind in ("shuffle", "unary"):
        y = _build_shuffle_or_unary(b, c)
    elif kind == "transpose_nd":
        y = b.node("Transpose", [b.input(list(c["shape"]))], perm=list(c["perm"]))[0]
    elif kind == "rnn":
        y = _build_rnn(b, c)
    elif kind == "gather":
        y = _build_gather(b, c)
    elif kind == "einsum":
        first, second = (list(shape) for shape in c["shapes"])
        x = b.input(first)
        other = b.weight(second, scale=0.05) if c["const"] else b.input(second)
        y = b.node("Einsum", [x, other], equation=str(c["equation"]))[0]
    else:
        y = _build_resize(b, c)
    dtype = TensorProto.INT64 if c.get("op") == "ArgMax" else TensorProto.FLOAT
    return b.model([y], f"kernel_{kind}", dtype=dtype)


def _build_resize(b: _Builder, c: Mapping[str, Any]) -> str:
    """A Resize by an integer scale, or a GridSample at an input grid."""
    if c.get("op") == "GridSample":
        x = b.input([c["n"], c["c"], c["hw"], c["hw"]])
        grid = b.input([c["n"], *c["out"], 2])
        return b.node("GridSample", [x, grid], mode=c["mode"], align_corners=c["align"])[0]
    x = b.input([1, c["c"], c["hw"], c["hw"]])
    scales = b.weight([4], value=[1, 1, c["scale"], c["scale"]])
    return b.node("Resize", [x, "", scales], mode=c["mode"])[0]


def _build_gemm(b: _Builder, c: Mapping[str, Any]) -> str:
    batch = [c["experts"]] if c.get("experts") else []
    x = b.input([*batch, c["m"], c["k"]])
    y = b.node("MatMul", [x, b.weight([*batch, c["k"], c["n"]], scale=0.02)])[0]
    if c["bias"]:
        y = b.node("Add", [y, b.weight([c["n"]])])[0]
    return _activation(b, y, c["act"])


def _build_rnn(b: _Builder, c: Mapping[str, Any]) -> str:
    """An LSTM or GRU node as torch exports one (GRU: linear before reset); its output Y."""
    gates, dirs, hidden = (4 if c["op"] == "LSTM" else 3), int(c["dirs"]), int(c["hidden"])
    x = b.input([c["steps"], 1, c["input"]])
    w = b.weight([dirs, gates * hidden, c["input"]])
    r = b.weight([dirs, gates * hidden, hidden])
    bias = b.weight([dirs, 2 * gates * hidden])
    extra = {"linear_before_reset": 1} if c["op"] == "GRU" else {}
    direction = "bidirectional" if dirs == 2 else "forward"
    return b.node(c["op"], [x, w, r, bias], hidden_size=hidden, direction=direction, **extra)[0]


def _build_layernorm(b: _Builder, c: Mapping[str, Any]) -> str:
    x = b.input([1, c["rows"], c["dim"]])
    if c.get("rms"):  # x / sqrt(mean(x^2) + eps) * w: onnxruntime's SimplifiedLayerNormalization
        square = b.node("Pow", [x, b.weight([], value=2.0)])[0]
        mean = b.node("ReduceMean", [square], axes=[-1], keepdims=1)[0]
        root = b.node("Sqrt", [b.node("Add", [mean, b.weight([], value=1e-6)])[0]])[0]
        normed = b.node("Div", [x, root])[0]
        return b.node("Mul", [normed, b.weight([c["dim"]])])[0]
    if c["skip"]:
        x = b.node("Add", [x, b.input([1, c["rows"], c["dim"]])])[0]
    scale, bias = b.weight([c["dim"]]), b.weight([c["dim"]])
    return b.node("LayerNormalization", [x, scale, bias], axis=-1)[0]


def _build_shuffle_or_unary(b: _Builder, c: Mapping[str, Any]) -> str:
    """A DepthToSpace or SpaceToDepth (``shuffle``), or a math op (``unary``)."""
    x = b.input(list(c["shape"]))
    if c["kind"] == "shuffle":
        extra = {"mode": c["mode"]} if c["op"] == "DepthToSpace" else {}
        return b.node(c["op"], [x], blocksize=int(c["block"]), **extra)[0]
    operands = [x, b.weight([], value=c["exponent"])] if c["op"] == "Pow" else [x]
    return b.node(c["op"], operands)[0]


def _build_conv1d(b: _Builder, c: Mapping[str, Any], *, depthwise: bool) -> str:
    cin = c["c"] if depthwise else c["cin"]
    cout, groups = (cin, cin) if depthwise else (c["cout"], c["groups"])
    dilation = int(c.get("dilation", 1))
    x = b.input([1, cin, c["length"]])
    conv = [x, b.weight([cout, cin // groups, c["k"]]), b.weight([cout])]
    y = b.node(
        "Conv",
        conv,
        pads=[dilation * (c["k"] // 2)] * 2,
        strides=[c["stride"]],
        dilations=[dilation],
        group=groups,
    )[0]
    return _activation(b, y, c["act"])


def _build_conv3d(b: _Builder, c: Mapping[str, Any]) -> str:
    """A dense 3-D conv, or (``c`` without ``cin``: the ``dwconv3d`` kind) a depthwise one."""
    k, stride = [int(v) for v in c["k"]], [int(v) for v in c["stride"]]
    cin, cout, groups = (c["cin"], c["cout"], 1) if "cin" in c else (c["c"], c["c"], c["c"])
    x = b.input([1, cin, c["t"], c["hw"], c["hw"]])
    conv = [x, b.weight([cout, cin // groups, *k]), b.weight([cout])]
    pads = [v // 2 for v in k] * 2
    y = b.node("Conv", conv, pads=pads, strides=stride, group=groups)[0]
    return _activation(b, y, c["act"])


def _build_convt(b: _Builder, c: Mapping[str, Any]) -> str:
    dim, size = int(c["dim"]), int(c["size"])
    x = b.input([1, c["cin"], *([size] * dim)])
    w = b.weight([c["cin"], c["cout"] // c["groups"], *([c["k"]] * dim)])
    pad, extra = int(c["pad"]), int(c["stride"]) - int(c["k"]) + 2 * int(c["pad"])
    return b.node(
        "ConvTranspose",
        [x, w, b.weight([c["cout"]])],
        strides=[c["stride"]] * dim,
        pads=[pad] * (2 * dim),
        output_padding=[extra] * dim,
        group=c["groups"],
    )[0]


def _build_upsample(b: _Builder, c: Mapping[str, Any]) -> str:
    x = b.input([1, c["c"], c["h"], c["w"]])
    scales = b.weight([4], value=[1, 1, c["scale"], c["scale"]])
    return b.node("Resize", [x, "", scales], mode=c["mode"])[0]


def _build_reorder(b: _Builder, c: Mapping[str, Any]) -> onnx.ModelProto:
    x = b.input([1, c["c"], c["hw"], c["hw"]])
    b.nodes.append(helper.make_node("ReorderInput", [x], ["blocked"], domain=REORDER_DOMAIN))
    b.nodes.append(
        helper.make_node(
            "ReorderOutput", ["blocked"], ["y"], domain=REORDER_DOMAIN, channels=c["c"]
        )
    )
    model = b.model(["y"], "kernel_reorder", domain=REORDER_DOMAIN)
    out = model.graph.output[0].type.tensor_type  # inference cannot see into contrib ops
    for d in (1, c["c"], c["hw"], c["hw"]):
        out.shape.dim.add().dim_value = d
    return model


def _build_conv(b: _Builder, c: Mapping[str, Any], *, depthwise: bool) -> str:
    cin = c["c"] if depthwise else c["cin"]
    cout, groups = (c["c"], c["c"]) if depthwise else (c["cout"], c["groups"])
    x = b.input([1, cin, c["hw"], c["hw"]])
    w_shape = [cout, cin // groups, c["k"], c["k"]]
    w = b.input(w_shape, "w") if c["kind"] == "conv_computed" else b.weight(w_shape)
    y = b.node(
        "Conv",
        [x, w, b.weight([cout])],
        pads=[c.get("pad", c["k"] // 2)] * 4,
        strides=[c["stride"]] * 2,
        group=groups,
    )[0]
    return _activation(b, y, c["act"])


def _build_matmul(b: _Builder, c: Mapping[str, Any]) -> str:
    bt, m, k, n = c["batch"], c["m"], c["k"], c["n"]
    inner = c.get("heads_inner")
    if inner and c["trans_b"]:  # q as (1, seq, heads, dim), moved in
        a = b.node("Transpose", [b.input([1, m, bt, k])], perm=[0, 2, 1, 3])[0]
    else:  # (1, batch, m, k) as it is (attention probs: out of a softmax)
        a = b.input([1, bt, m, k])
    if inner:  # k or v as (1, seq, heads, dim), moved in
        shape, perm = (
            ([1, n, bt, k], [0, 2, 3, 1]) if c["trans_b"] else ([1, k, bt, n], [0, 2, 1, 3])
        )
        other = b.node("Transpose", [b.input(shape)], perm=perm)[0]
    elif c["trans_b"]:
        other = b.node("Transpose", [b.input([1, bt, n, k])], perm=[0, 1, 3, 2])[0]
    else:
        other = b.input([1, bt, k, n])
    y = b.node("MatMul", [a, other])[0]
    if c["scale"]:
        y = b.node("Mul", [y, b.weight([], value=1.0 / math.sqrt(k))])[0]
    return y


def _build_pool(b: _Builder, c: Mapping[str, Any]) -> str:
    if "rank" in c:  # a wide window (_draw_pool_wide)
        rank, k, pad = int(c["rank"]), int(c["k"]), int(c["pad"])
        x = b.input([1, c["c"], *[c["hw"]] * rank])
        return b.node(
            c["op"],
            [x],
            kernel_shape=[k] * rank,
            strides=[c["stride"]] * rank,
            pads=[pad] * 2 * rank,
        )[0]
    x = b.input([1, c["c"], c["hw"], c["hw"]])
    if c["op"] == "GlobalAveragePool":
        return b.node("GlobalAveragePool", [x])[0]
    pads = [c["k"] // 2] * 4 if c["stride"] == 1 else [0] * 4
    return b.node(c["op"], [x], kernel_shape=[c["k"]] * 2, strides=[c["stride"]] * 2, pads=pads)[0]


def _broadcast_operand(shape: list[int]) -> list[int]:
    """The shape of a ``broadcast`` operand of ``shape``: per channel of an NCHW map,
    else along the last axis."""
    return [1, shape[1], 1, 1] if len(shape) == 4 else [1] * (len(shape) - 1) + [shape[-1]]


def _build_elementwise(b: _Builder, c: Mapping[str, Any]) -> str:
    op, shape = c["op"], list(c["shape"])
    if c.get("operand") == "outer":  # an outer product along two axes, in runs of t
        bb, m, n, t = shape
        return b.node(op, [b.input([bb, m, 1, t]), b.input([bb, 1, n, t])])[0]
    if c.get("operand") == "axes":  # an operand that keeps the axes of ``keep``
        kept = [d if k else 1 for d, k in zip(shape, c["keep"], strict=True)]
        other = b.weight(kept, value=np.full(kept, 1.5)) if c.get("const") else b.input(kept)
        return b.node(op, [b.input(shape), other])[0]
    x = b.input(shape)
    if op in _BINARY:
        if c["operand"] == "scalar":
            other = b.weight([], value=1.5)
        elif c["operand"] == "broadcast":
            other = b.input(_broadcast_operand(shape))
        elif c["operand"] == "short":  # a run of 2-6 elements per broadcast step
            rows, width = shape
            column = rows % 2 == 0  # a deterministic half: a (rows, 1) input
            other = b.input([rows, 1]) if column else b.weight([width], value=np.full(width, 1.5))
        else:
            other = b.input(shape)
        return b.node(op, [x, other])[0]
    if op == "PRelu":  # the slope as torch exports it: (C, 1, 1), (C, 1) or (1,)
        slope = [shape[1], *([1] * (len(shape) - 2))] if c["operand"] == "channel" else [1]
        return b.node(op, [x, b.weight(slope, value=np.full(slope, 0.25))])[0]
    if op == "Gelu":
        a = b.node("Div", [x, b.weight([], value=math.sqrt(2.0))])[0]
        e = b.node("Add", [b.node("Erf", [a])[0], b.weight([], value=1.0)])[0]
        return b.node("Mul", [b.node("Mul", [x, e])[0], b.weight([], value=0.5)])[0]
    if op == "QuickGelu":
        return b.node("Mul", [x, b.node("Sigmoid", [x])[0]])[0]
    if op == "BatchNormalization":
        ch = shape[1]
        return b.node(
            op,
            [x, b.weight([ch]), b.weight([ch]), b.weight([ch]), b.weight([ch], value=np.ones(ch))],
        )[0]
    return _activation(b, x, op)


#: ONNX element types of the ``intwise`` kind's ``dtype``s.
_INT_TYPES = {"int64": (TensorProto.INT64, np.int64), "int32": (TensorProto.INT32, np.int32)}


def _build_intwise(b: _Builder, c: Mapping[str, Any]) -> onnx.ModelProto:
    """The model of an ``intwise`` configuration (opset 18: the bitwise ops)."""
    op, shape, operand = c["op"], list(c["shape"]), c["operand"]
    elem, np_type = _INT_TYPES[c["dtype"]]
    if op == "Cast":
        to_int = operand == "to_int"
        x = b.input(shape) if to_int else b.input(shape, dtype=elem)
        y = b.node("Cast", [x], to=elem if to_int else TensorProto.FLOAT)[0]
        return b.model([y], "kernel_intwise", dtype=elem if to_int else TensorProto.FLOAT, opset=18)
    x = b.input(shape, dtype=elem)
    if operand == "scalar":  # a prime, as a hash multiplies by, or a table size
        other = b.weight([], dtype=np_type, value=40_009 if op != "Div" else 16)
    elif operand == "short":  # a constant per coordinate (strides, primes)
        width = shape[-1]
        other = b.weight([width], dtype=np_type, value=np.arange(width) * 7 + 3)
    elif operand == "broadcast":
        other = b.input(_broadcast_operand(shape), dtype=elem)
    else:
        other = b.input(shape, dtype=elem)
    return b.model([b.node(op, [x, other])[0]], "kernel_intwise", dtype=elem, opset=18)


def _build_memory(b: _Builder, c: Mapping[str, Any]) -> list[str]:
    op, shape = c["op"], list(c["shape"])
    axis = 1 if len(shape) == 4 else len(shape) - 1
    if op == "Concat":
        return b.node("Concat", [b.input(shape) for _ in range(c["parts"])], axis=axis)
    x = b.input(shape)
    if op == "Transpose":
        return b.node("Transpose", [x], perm=list(c["perm"]))
    if op == "Split":
        size, parts = shape[axis], int(c["parts"])
        sizes = [size // parts] * (parts - 1) + [size - (size // parts) * (parts - 1)]
        if min(sizes) < 1:
            sizes = [size]
        return b.node(
            "Split",
            [x, b.weight([len(sizes)], dtype=np.int64, value=sizes)],
            n_out=len(sizes),
            axis=axis,
        )
    if op == "Slice":
        half = max(shape[axis] // 2, 1)
        starts = b.weight([1], dtype=np.int64, value=[0])
        ends = b.weight([1], dtype=np.int64, value=[half])
        axes = b.weight([1], dtype=np.int64, value=[axis])
        return b.node("Slice", [x, starts, ends, axes])
    pads = b.weight([8], dtype=np.int64, value=[0, 0, 1, 1, 0, 0, 1, 1])
    return b.node("Pad", [x, pads])


def _build_reduce(b: _Builder, c: Mapping[str, Any]) -> str:
    x = b.input(list(c["shape"]))
    if c["op"] == "TopK":
        k = b.weight([1], dtype=np.int64, value=[c["k"]])
        return b.node("TopK", [x, k], n_out=2, axis=-1)[0]
    if c["op"] == "ArgMax":
        return b.node("ArgMax", [x], axis=c["axes"][0], keepdims=c["keepdims"])[0]
    if c["op"] == "CumSum":
        return b.node("CumSum", [x, b.weight([], dtype=np.int64, value=c["axes"][0])])[0]
    if c["op"] == "ReduceSum":  # axes an input since opset 13
        axes = b.weight([len(c["axes"])], dtype=np.int64, value=c["axes"])
        return b.node("ReduceSum", [x, axes], keepdims=c["keepdims"])[0]
    return b.node(c["op"], [x], axes=list(c["axes"]), keepdims=c["keepdims"])[0]


def _build_gather(b: _Builder, c: Mapping[str, Any]) -> str:
    op = c["op"]
    if op == "Gather":
        rows, width, ids = int(c["rows"]), int(c["c"]), [int(d) for d in c["ids"]]
        table = [rows, width] if width else [rows]
        if c["table"] == "input":
            value = b.rng.integers(0, rows, math.prod(ids))
            index = b.weight(ids, dtype=np.int64, value=value)
            return b.node("Gather", [b.input(table), index], axis=0)[0]
        # A weight table is an embedding: its ids come at run time (constant ones and
        # the table would be folded away by onnxruntime), spread over the table as
        # hashed ids are: |x| * 10^4 mod rows, from the runner's normal inputs. Those
        # ops are not the gather's time (:data:`INDEX_OPS`).
        scaled = b.node("Mul", [b.node("Abs", [b.input(ids)])[0], b.weight([], value=1e4)])[0]
        index = b.node("Cast", [scaled], to=TensorProto.INT64)[0]
        index = b.node("Mod", [index, b.weight([], dtype=np.int64, value=rows)])[0]
        return b.node("Gather", [b.weight(table), index], axis=0)[0]
    if op == "Tile":
        r = int(c["repeats"])
        return b.node(
            "Tile", [b.input(list(c["shape"])), b.weight([4], dtype=np.int64, value=[1, 1, r, r])]
        )[0]
    n, width, k = int(c["n"]), int(c["c"]), int(c["k"])
    if op == "Expand":
        shape = b.weight([4], dtype=np.int64, value=[1, n, k, width])
        return b.node("Expand", [b.input([1, n, 1, width]), shape])[0]
    index = b.weight([1, n, k], dtype=np.int64, value=b.rng.integers(0, width, n * k))
    return b.node("GatherElements", [b.input([1, n, width]), index], axis=2)[0]


# --------------------------------------------------------------------------- as a "space"


class KernelSpace:
    """The sampled models of one kind, addressed the way the profiling fleet expects:
    ``name`` is ``kernels:<kind>`` and :meth:`to_onnx` turns a config string into a file."""

    def __init__(self, kind: str, cache: Path) -> None:
        _check_kind(kind)
        self.kind = kind
        self.name = space_name(kind)
        self.cache = Path(cache)

    def to_onnx(self, arch: str, *, exporter: str = "onnx") -> Path:
        """The model file of configuration ``arch`` (built once, cached by content)."""
        config = json.loads(arch)
        if config.get("kind") != self.kind:
            raise UsageError(f"configuration {arch!r} is not a {self.kind} kernel")
        key = hashlib.sha256(config_string(config).encode()).hexdigest()[:20]
        path = self.cache / f"{self.kind}-{key}.onnx"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            onnx.save(build_kernel_model(config), str(tmp))
            os.replace(tmp, path)
        return path


# --------------------------------------------------------------------------- measurements

#: Ops onnxruntime adds around a lone NCHWc kernel (layout reorders) that a whole
#: network mostly does without: their part of the time is not the kernel's.
AUXILIARY_OPS = frozenset({"ReorderInput", "ReorderOutput"})
#: The ops that compute a sampled embedding lookup's ids at run time (``gather`` kernels
#: of a weight table): not the kernel's own time either.
INDEX_OPS = frozenset({"Abs", "Mul", "Cast", "Mod"})

#: An op profile reduced to {op type: (nodes, ms per inference)}.
OpTimes = Mapping[str, tuple[int, float]]


@dataclass(frozen=True)
class KernelSample:
    """One measured kernel model: its configuration, median latency (ms) and its op
    profile (time per op type after onnxruntime's graph optimization; empty without)."""

    kind: str
    config: Mapping[str, Any]
    latency_ms: float
    op_times: OpTimes = field(default_factory=dict)

    @property
    def computes_ids(self) -> bool:
        """Whether the model computes its kernel's ids at run time (an embedding lookup
        of a weight table: :func:`_build_gather`)."""
        return (
            self.kind == "gather" and self.config.get("table") == "weight" and "ids" in self.config
        )

    def own_share(self, profiler_node_ms: float = 0.0) -> float:
        """The share of the run that the kernel itself took, not :data:`AUXILIARY_OPS`
        (nor :data:`INDEX_OPS` where it computes its ids: :attr:`computes_ids`).

        onnxruntime's profiler records whole microseconds and adds its own cost to each
        node, which makes small nodes look big: ``profiler_node_ms`` (estimated from the
        overhead chains) is taken off every node first.
        """
        own = aux = 0.0
        auxiliary = AUXILIARY_OPS | INDEX_OPS if self.computes_ids else AUXILIARY_OPS
        for op, (count, ms) in self.op_times.items():
            t = max(ms - count * profiler_node_ms, 0.0)
            if op in auxiliary:
                aux += t
            else:
                own += t
        if own + aux <= 0:
            return 1.0
        return min(max(own / (own + aux), 0.05), 1.0)


def reorder_kernel(shape: tuple[int, ...]) -> Kernel:
    """An NCHWc reorder pair of a tensor, as a kernel to featurize (memory traffic only)."""
    elements = math.prod(shape)
    return Kernel(
        kind=REORDER_KIND,
        op="Reorder",
        fused=(),
        nodes=(),
        inputs=(shape,),
        output=shape,
        macs=0,
        flops=0,
        bytes_read=4 * elements,
        bytes_written=4 * elements,
        params=0,
    )


def main_kernel(config: Mapping[str, Any]) -> Kernel:
    """The kernel a sampled configuration measures (featurized like any model's)."""
    kind = str(config["kind"])
    if kind == REORDER_KIND:
        return reorder_kernel((1, int(config["c"]), int(config["hw"]), int(config["hw"])))
    kernels = split_kernels(build_kernel_model(config))
    mine = [k for k in kernels if k.kind == KERNEL_KIND.get(kind, kind)]
    if len(mine) != 1:  # the sampler builds exactly one; anything else is a bug
        raise RuntimeError(f"{config_string(config)} split into {[k.label for k in kernels]}")
    return mine[0]


def op_times(op_profile: Mapping[str, Any] | None) -> dict[str, tuple[int, float]]:
    """{op type: (nodes, ms per inference)} of a measurement's op profile."""
    ops = (op_profile or {}).get("ops") or {}
    return {
        str(op): (int(v.get("count", 1)), float(v.get("ms_per_inference", 0.0)))
        for op, v in ops.items()
    }


def samples_from_measurements(measurements: Iterable[Any]) -> list[KernelSample]:
    """Kernel samples from stored measurements tagged ``kernels:<kind>`` (others skipped);
    a configuration measured several times counts once: the measurement with the median
    latency."""
    grouped: dict[str, list[Any]] = {}
    for m in measurements:
        if m.arch is None or not m.arch.space.startswith(SPACE_PREFIX):
            continue
        if m.arch.space == SPACE_PREFIX + "context":  # whole networks (kernel_context)
            continue
        grouped.setdefault(m.arch.string, []).append(m)
    out: list[KernelSample] = []
    for text, ms in sorted(grouped.items()):
        config = json.loads(text)
        ms.sort(key=lambda m: m.latency_ms.median)
        chosen = ms[(len(ms) - 1) // 2]
        out.append(
            KernelSample(
                kind=str(config["kind"]),
                config=config,
                latency_ms=float(chosen.latency_ms.median),
                op_times=op_times(chosen.op_profile),
            )
        )
    return out


def measured_samples(store: Any, *, device: str, fingerprint: str) -> list[KernelSample]:
    """Every kernel sample measured on ``device`` under fingerprint hash ``fingerprint``."""
    found = []
    for kind in ALL_KINDS:
        found += [
            s.measurement
            for s in store.measurements(
                device=device, fingerprint=fingerprint, space=space_name(kind)
            )
        ]
    return samples_from_measurements(found)
