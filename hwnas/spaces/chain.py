"""A MobileNetV2 / once-for-all style chain of inverted-residual blocks for ImageNet.

The skeleton is fixed; the search chooses a width multiplier, an input resolution, the
depth of each of five stages and, per block, the expansion ratio and depthwise kernel.
Everything but ``to_torch`` and ``block_to_torch`` is plain Python and numpy: counting
FLOPs and parameters is analytic, so predictors and searches never need torch.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hwnas.spaces.base import Block, InvalidArchError, SearchSpace

#: Base output channels and first-block stride of the five searchable stages.
STAGE_CHANNELS = (24, 40, 80, 112, 160)
STAGE_STRIDES = (2, 2, 2, 1, 2)
STEM_CHANNELS = 32
FIRST_BLOCK_CHANNELS = 16
FINAL_CHANNELS = 960
FEATURE_CHANNELS = 1280
NUM_CLASSES = 1000

_BLOCK_TOKEN = re.compile(r"e(\d+)k(\d+)")
_PREFIX = re.compile(r"w([^-]*)-r(.*)")


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never more than 10% below
    it and never below ``divisor`` (the rule of MobileNetV2 and once-for-all)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _one_of(values: Sequence[object]) -> str:
    return "one of " + ", ".join(str(v) for v in values)


def _conv_out(size: int, stride: int) -> int:
    # A k x k convolution with padding k // 2 (odd k) maps size -> ceil(size / stride).
    return (size - 1) // stride + 1


@dataclass(frozen=True)
class _Config:
    """A parsed architecture: values, not gene indices."""

    width: float
    resolution: int
    stages: tuple[tuple[tuple[int, int], ...], ...]  # per stage, (expansion, kernel) per block


class ChainSpace(SearchSpace):
    """MobileNetV2/once-for-all-like ImageNet chain of inverted residuals, 3.3e20 archs.

    The search picks a width, an input resolution, 5 stage depths and per block an
    expansion ratio and kernel: 326,379,832,388,587,287,765 architectures by default.

    Network (channels are ``make_divisible(base * width)``):

    * stem: 3x3 conv stride 2 to 32 channels + BN + ReLU6;
    * a fixed inverted-residual block, expansion 1, kernel 3, stride 1, to 16 channels;
    * five searchable stages with base output channels 24, 40, 80, 112, 160; the first block
      of a stage has stride 2, 2, 2, 1, 2, the others stride 1. A block is a 1x1 expand
      conv + BN + ReLU6 (absent at expansion 1), a depthwise kxk conv + BN + ReLU6 and a 1x1
      projection + BN, with a residual add when the stride is 1 and channels are unchanged;
    * a 1x1 conv to 960 channels + BN + ReLU6;
    * the head: global average pool, a 1x1 "feature mix" conv with bias to
      ``make_divisible(1280 * max(1, width))`` channels + ReLU6 (as once-for-all and
      MobileNetV2's last channel), and a linear classifier to 1000 classes.

    Choices (constructor arguments, all keyword-only): ``widths`` (0.75, 1.0, 1.25),
    ``resolutions`` (160, 176, 192, 208, 224), ``depths`` (2, 3, 4), ``expansions``
    (3, 4, 6), ``kernels`` (3, 5, 7).

    Canonical string: ``w{width}-r{resolution}`` and the five stages, separated by ``|``;
    a stage is its blocks separated by ``,``, a block ``e{expansion}k{kernel}``, e.g.
    ``w1.0-r224|e3k3,e4k5|e6k7,e3k3,e3k3|e3k3,e3k3|e4k3,e4k3|e6k5,e6k5,e6k5,e6k5``.

    Encoding (47 genes with the defaults; every gene is an index into its choice list):
    gene 0 width, gene 1 resolution, genes 2..6 the depth of stages 1..5, then for each
    stage 1..5 and each block slot 1..max(depths): expansion, kernel (by default the
    expansion of stage s, block b is gene 7 + 8 * (s - 1) + 2 * (b - 1)). Slots beyond a
    stage's depth do not matter: ``decode`` ignores them and ``encode`` sets them to 0, so
    many vectors decode to one string. Distinct strings are distinct networks, so
    ``canonical`` is the identity on valid strings.

    ``size`` = |widths| * |resolutions| * (sum over depths d of (|expansions|*|kernels|)^d)^5
    = 3 * 5 * 7371^5 by default.
    """

    name: ClassVar[str] = "chain"

    def __init__(
        self,
        *,
        widths: Sequence[float] = (0.75, 1.0, 1.25),
        resolutions: Sequence[int] = (160, 176, 192, 208, 224),
        depths: Sequence[int] = (2, 3, 4),
        expansions: Sequence[int] = (3, 4, 6),
        kernels: Sequence[int] = (3, 5, 7),
    ) -> None:
        self.widths: tuple[float, ...] = _choices("widths", widths, float)
        self.resolutions: tuple[int, ...] = _choices("resolutions", resolutions, int)
        self.depths: tuple[int, ...] = _choices("depths", depths, int)
        self.expansions: tuple[int, ...] = _choices("expansions", expansions, int)
        self.kernels: tuple[int, ...] = _choices("kernels", kernels, int)
        even = [k for k in self.kernels if k % 2 == 0]
        if even:
            raise ValueError(f"kernels must be odd (padding k // 2 keeps shapes), got {even}")
        self._max_depth = max(self.depths)
        self._n_head = 2 + len(STAGE_CHANNELS)

    # -- encoding -------------------------------------------------------------------

    def _slot(self, stage: int, block: int) -> int:
        """Gene index of the expansion of block ``block`` (0-based) of stage ``stage``."""
        return self._n_head + 2 * (stage * self._max_depth + block)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n_stages = len(STAGE_CHANNELS)
        high = [len(self.widths) - 1, len(self.resolutions) - 1]
        high += [len(self.depths) - 1] * n_stages
        high += [len(self.expansions) - 1, len(self.kernels) - 1] * (n_stages * self._max_depth)
        upper = np.array(high, dtype=np.int64)
        return np.zeros_like(upper), upper

    def encode(self, arch: str) -> np.ndarray:
        cfg = self._parse(arch)
        genes = np.zeros(self.bounds()[0].size, dtype=np.int64)
        genes[0] = self.widths.index(cfg.width)
        genes[1] = self.resolutions.index(cfg.resolution)
        for s, blocks in enumerate(cfg.stages):
            genes[2 + s] = self.depths.index(len(blocks))
            for b, (expansion, kernel) in enumerate(blocks):
                genes[self._slot(s, b)] = self.expansions.index(expansion)
                genes[self._slot(s, b) + 1] = self.kernels.index(kernel)
        return genes

    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        return self._format(self._config_of(self._check_genes(genes)))

    def _check_genes(self, genes: Sequence[int] | np.ndarray) -> np.ndarray:
        low, high = self.bounds()
        try:
            values = np.asarray(genes, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidArchError(
                f"chain: a gene vector must be {low.size} integers, got {genes!r}"
            ) from None
        if values.shape != low.shape:
            raise InvalidArchError(
                f"chain: a gene vector has {low.size} genes, got shape {values.shape}"
            )
        for i, value in enumerate(values):
            if not (np.isfinite(value) and value == int(value)) or not low[i] <= value <= high[i]:
                raise InvalidArchError(
                    f"chain: gene {i} ({self._gene_name(i)}) is {value:g}; it must be an "
                    f"integer in {low[i]}..{high[i]}"
                )
        return values.astype(np.int64)

    def _gene_name(self, i: int) -> str:
        if i < 2:
            return ("width", "resolution")[i]
        if i < self._n_head:
            return f"stage {i - 1} depth"
        stage, rest = divmod(i - self._n_head, 2 * self._max_depth)
        return f"stage {stage + 1} block {rest // 2 + 1} {('expansion', 'kernel')[rest % 2]}"

    def _config_of(self, genes: np.ndarray) -> _Config:
        stages = []
        for s in range(len(STAGE_CHANNELS)):
            depth = self.depths[int(genes[2 + s])]
            stages.append(
                tuple(
                    (
                        self.expansions[int(genes[self._slot(s, b)])],
                        self.kernels[int(genes[self._slot(s, b) + 1])],
                    )
                    for b in range(depth)
                )
            )
        return _Config(
            width=self.widths[int(genes[0])],
            resolution=self.resolutions[int(genes[1])],
            stages=tuple(stages),
        )

    def _active(self, genes: np.ndarray) -> np.ndarray:
        """True for the genes that matter for this vector (head genes and used slots)."""
        active = np.zeros(genes.size, dtype=bool)
        active[: self._n_head] = True
        for s in range(len(STAGE_CHANNELS)):
            used = self.depths[int(genes[2 + s])]
            active[self._slot(s, 0) : self._slot(s, used)] = True
        return active

    # -- strings ----------------------------------------------------------------------

    @staticmethod
    def _format(cfg: _Config) -> str:
        stages = (",".join(f"e{e}k{k}" for e, k in blocks) for blocks in cfg.stages)
        return "|".join([f"w{cfg.width!r}-r{cfg.resolution}", *stages])

    def _parse(self, arch: str) -> _Config:
        """The configuration of a canonical string; strict, with errors naming the place."""
        if not isinstance(arch, str):
            raise InvalidArchError(f"chain: an architecture is a string, got {arch!r}")
        example = "w1.0-r224|e3k3,e4k5|e6k7,e3k3,e3k3|e3k3,e3k3|e4k3,e4k3|e6k5,e6k5"
        groups = arch.split("|")
        n_stages = len(STAGE_CHANNELS)
        if len(groups) != n_stages + 1:
            raise InvalidArchError(
                f"chain: {arch!r} has {len(groups)} '|'-separated groups; expected "
                f"{n_stages + 1}: 'w<width>-r<resolution>' and {n_stages} stages of "
                f"comma-separated e<expansion>k<kernel> blocks, e.g. {example!r}"
            )
        prefix = _PREFIX.fullmatch(groups[0])
        if prefix is None:
            raise InvalidArchError(
                f"chain: the first group {groups[0]!r} must be 'w<width>-r<resolution>', "
                f"e.g. 'w1.0-r224'"
            )
        widths = {repr(w): w for w in self.widths}
        if prefix[1] not in widths:
            raise InvalidArchError(
                f"chain: width {prefix[1]!r}: width must be {_one_of(list(widths))}"
            )
        resolutions = {str(r): r for r in self.resolutions}
        if prefix[2] not in resolutions:
            raise InvalidArchError(
                f"chain: resolution {prefix[2]!r}: resolution must be {_one_of(self.resolutions)}"
            )
        expansions = {str(e): e for e in self.expansions}
        kernels = {str(k): k for k in self.kernels}
        stages = []
        for s, group in enumerate(groups[1:], start=1):
            tokens = group.split(",") if group else []
            if len(tokens) not in self.depths:
                raise InvalidArchError(
                    f"chain: stage {s} has {len(tokens)} block{'' if len(tokens) == 1 else 's'} "
                    f"({group!r}); depth must be {_one_of(self.depths)}"
                )
            blocks = []
            for b, token in enumerate(tokens, start=1):
                where = f"stage {s} block {b}"
                match = _BLOCK_TOKEN.fullmatch(token)
                if match is None:
                    raise InvalidArchError(
                        f"chain: {where} is {token!r}; a block is e<expansion>k<kernel>, "
                        f"e.g. 'e4k5'"
                    )
                if match[1] not in expansions:
                    raise InvalidArchError(
                        f"chain: {where} ({token!r}): expansion must be {_one_of(self.expansions)}"
                    )
                if match[2] not in kernels:
                    raise InvalidArchError(
                        f"chain: {where} ({token!r}): kernel must be {_one_of(self.kernels)}"
                    )
                blocks.append((expansions[match[1]], kernels[match[2]]))
            stages.append(tuple(blocks))
        return _Config(widths[prefix[1]], resolutions[prefix[2]], tuple(stages))

    def canonical(self, arch: str) -> str:
        """The string itself once validated: distinct strings are distinct networks (the
        genes of unused block slots, which could alias, never reach a string)."""
        return self._format(self._parse(arch))

    def size(self) -> int:
        per_stage = sum((len(self.expansions) * len(self.kernels)) ** d for d in self.depths)
        return len(self.widths) * len(self.resolutions) * per_stage ** len(STAGE_CHANNELS)

    # -- shapes and blocks ---------------------------------------------------------------

    def input_shape(self) -> tuple[int, ...]:
        return (1, 3, max(self.resolutions), max(self.resolutions))

    def arch_input_shape(self, arch: str) -> tuple[int, ...]:
        resolution = self._parse(arch).resolution
        return (1, 3, resolution, resolution)

    def blocks(self, arch: str) -> list[Block]:
        """Stem, the fixed first block, every searchable ``mbconv`` block, the final 1x1
        conv and the head, with shapes at the architecture's resolution.

        Ops: ``conv_bn_relu6`` (params kernel, stride, in/out channels), ``mbconv``
        (expansion, kernel, stride, in/out channels; residual iff stride 1 and in == out)
        and ``head`` (pool, feature conv, classifier). Equal keys mean equal modules.
        """
        cfg = self._parse(arch)
        w = cfg.width
        size = cfg.resolution
        channels = 3
        out: list[Block] = []

        def add(op: str, cout: int, stride: int, **params: int) -> None:
            nonlocal size, channels
            new_size = _conv_out(size, stride)
            params = {**params, "stride": stride, "in_channels": channels, "out_channels": cout}
            out.append(Block(op, (1, channels, size, size), (1, cout, new_size, new_size), params))
            size, channels = new_size, cout

        add("conv_bn_relu6", make_divisible(STEM_CHANNELS * w), 2, kernel=3)
        add("mbconv", make_divisible(FIRST_BLOCK_CHANNELS * w), 1, expansion=1, kernel=3)
        for blocks, base, stride in zip(cfg.stages, STAGE_CHANNELS, STAGE_STRIDES, strict=True):
            for b, (expansion, kernel) in enumerate(blocks):
                add(
                    "mbconv",
                    make_divisible(base * w),
                    stride if b == 0 else 1,
                    expansion=expansion,
                    kernel=kernel,
                )
        add("conv_bn_relu6", make_divisible(FINAL_CHANNELS * w), 1, kernel=1)
        feature = make_divisible(FEATURE_CHANNELS * max(1.0, w))
        params = {"in_channels": channels, "feature_channels": feature, "classes": NUM_CLASSES}
        out.append(Block("head", (1, channels, size, size), (1, NUM_CLASSES), params))
        return out

    def distinct_blocks(self) -> list[Block]:
        """Every distinct block of the space, each once, in a stable order.

        A block is fixed by the width, the resolution, its stage, whether it is the first
        slot of its stage (stride and input channels) or a later one, and its expansion and
        kernel. Uniform architectures (every block ``e{e}k{k}``, every stage at the greatest
        depth) therefore contain them all: per width and resolution, stem, first block,
        final conv and head plus, per stage, |expansions| * |kernels| first-slot blocks and
        as many later-slot ones (when a depth above 1 exists), i.e. at most
        ``|widths| * |resolutions| * (4 + 5 * 2 * |expansions| * |kernels|)`` (1,410 by
        default). Coinciding blocks are listed once: 1,254 by default, because widths 0.75
        and 1.0 round stage 1 to the same channels (90 blocks) and resolutions 176 and 192
        (208 and 224) end stage 5 at the same 6x6 (7x7), sharing per width its 9 later-slot
        blocks, the final conv and the head (66 blocks).
        """
        depth = self._max_depth
        found: dict[str, Block] = {}
        choices = itertools.product(self.widths, self.resolutions, self.expansions, self.kernels)
        for width, resolution, expansion, kernel in choices:
            stage = ((expansion, kernel),) * depth
            arch = self._format(_Config(width, resolution, (stage,) * len(STAGE_CHANNELS)))
            for block in self.blocks(arch):
                found.setdefault(block.key, block)
        return list(found.values())

    # -- predictor features and analytic costs ----------------------------------------------

    def feature_names(self) -> list[str]:
        names = ["width", "resolution"]
        names += [f"depth_{s + 1}" for s in range(len(STAGE_CHANNELS))]
        for s in range(len(STAGE_CHANNELS)):
            for b in range(self._max_depth):
                names += [f"s{s + 1}b{b + 1}_expansion", f"s{s + 1}b{b + 1}_kernel"]
        return names + ["mmacs", "mparams"]

    def features(self, arch: str) -> np.ndarray:
        """Width, resolution, stage depths, per block slot expansion and kernel (0 for an
        unused slot), then MACs and parameters in millions."""
        cfg = self._parse(arch)
        values: list[float] = [cfg.width, cfg.resolution]
        values += [len(blocks) for blocks in cfg.stages]
        for blocks in cfg.stages:
            padded = list(blocks) + [(0, 0)] * (self._max_depth - len(blocks))
            for expansion, kernel in padded:
                values += [expansion, kernel]
        macs, params = self._macs_params(arch)
        return np.array(values + [macs / 1e6, params / 1e6], dtype=np.float64)

    @staticmethod
    def block_macs_params(block: Block) -> tuple[int, int]:
        """(MACs, parameters) of one block, counted as ``count_macs_params`` counts them:
        convolutions and linear layers for MACs; weights, biases and BN affine for params."""
        p = block.params
        if block.op == "head":
            cin, feature, classes = p["in_channels"], p["feature_channels"], p["classes"]
            return cin * feature + feature * classes, (cin + 1) * feature + (feature + 1) * classes
        cin, cout, kernel = p["in_channels"], p["out_channels"], p["kernel"]
        hw_in = block.input_shape[2] * block.input_shape[3]
        hw_out = block.output_shape[2] * block.output_shape[3]
        if block.op == "conv_bn_relu6":
            return hw_out * cout * cin * kernel**2, cin * cout * kernel**2 + 2 * cout
        if block.op == "mbconv":
            hidden = cin * p["expansion"]
            macs = hw_out * hidden * kernel**2 + hw_out * cout * hidden
            params = hidden * kernel**2 + 2 * hidden + hidden * cout + 2 * cout
            if p["expansion"] != 1:
                macs += hw_in * hidden * cin
                params += cin * hidden + 2 * hidden
            return macs, params
        raise ValueError(f"chain: unknown block op {block.op!r}")

    def _macs_params(self, arch: str) -> tuple[int, int]:
        counts = [self.block_macs_params(b) for b in self.blocks(arch)]
        return sum(m for m, _ in counts), sum(p for _, p in counts)

    def flops(self, arch: str) -> int:
        """Multiply-accumulates at batch 1, computed analytically (no torch)."""
        return self._macs_params(arch)[0]

    def params(self, arch: str) -> int:
        """Trainable parameters, computed analytically (no torch)."""
        return self._macs_params(arch)[1]

    # -- evolution ---------------------------------------------------------------------------

    def mutate(self, arch: str, rng: np.random.Generator | int, rate: float = 0.2) -> str:
        """Resample each gene that matters with probability ``rate``; at least one does, so
        the child always differs from the parent (unless ``rate`` is 0 or the space has
        one architecture). Blocks a growing stage gains are drawn at random."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"mutation rate must be in [0, 1], got {rate!r}")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        genes = self.encode(arch)
        low, high = self.bounds()
        active = self._active(genes)
        # Unused slots get random values: they become the new blocks if the depth grows.
        genes[~active] = gen.integers(low[~active], high[~active] + 1)
        free = np.flatnonzero(active & (high > low))
        if free.size == 0 or rate == 0.0:
            return self.decode(genes)
        chosen = free[gen.random(free.size) < rate]
        if chosen.size == 0:
            chosen = np.array([gen.choice(free)])
        for i in chosen:
            choices = [v for v in range(int(low[i]), int(high[i]) + 1) if v != genes[i]]
            genes[i] = gen.choice(choices)
        return self.decode(genes)

    def crossover(self, a: str, b: str, rng: np.random.Generator | int) -> tuple[str, str]:
        """Uniform crossover of the genes that matter: a block slot only one parent uses
        passes that parent's block to both children (never the other's meaningless zeros)."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        ga, gb = self.encode(a), self.encode(b)
        take = gen.random(ga.size) < 0.5
        ca, cb = np.where(take, ga, gb), np.where(take, gb, ga)
        used_a, used_b = self._active(ga), self._active(gb)
        only_a, only_b = used_a & ~used_b, used_b & ~used_a
        ca[only_a] = cb[only_a] = ga[only_a]
        ca[only_b] = cb[only_b] = gb[only_b]
        return self.decode(ca), self.decode(cb)

    # -- torch -------------------------------------------------------------------------------

    def to_torch(self, arch: str, *, seed: int = 0) -> Any:
        """The network (eval mode) with deterministic, untrained weights drawn from ``seed``
        (the global torch RNG is left alone); one child module per entry of ``blocks(arch)``."""
        return _seeded(seed, lambda: [_block_module(b) for b in self.blocks(arch)])

    def block_to_torch(self, block: Block, *, seed: int = 0) -> Any:
        """One block of ``blocks()`` as a module (eval mode), e.g. for a lookup table."""
        return _seeded(seed, lambda: [_block_module(block)])


def _choices(name: str, values: Sequence[Any], kind: type) -> tuple[Any, ...]:
    """The choice list ``values`` checked: non-empty, distinct, positive, sorted."""
    try:
        converted = tuple(sorted(kind(v) for v in values))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if not converted or len(set(converted)) != len(converted) or min(converted) <= 0:
        raise ValueError(f"{name} must be distinct positive numbers, got {values!r}")
    if kind is int and any(int(v) != v for v in values):
        raise ValueError(f"{name} must be integers, got {values!r}")
    return converted


def _seeded(seed: int, build: Any) -> Any:
    """``nn.Sequential(*build())`` with weights drawn under ``seed`` (global RNG untouched)."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = nn.Sequential(*build())
    return module.eval()


def _block_module(block: Block) -> Any:
    """The torch module of one block. Weights are untrained: He (fan-in) normal for convs,
    0.01-std normal for the classifier, identity BN, so activations stay of order one in
    eval mode and comparisons of exported models are meaningful."""
    from torch import nn

    p = block.params
    if block.op == "head":
        module: nn.Module = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(p["in_channels"], p["feature_channels"], 1),
            nn.ReLU6(),
            nn.Flatten(),
            nn.Linear(p["feature_channels"], p["classes"]),
        )
    elif block.op == "conv_bn_relu6":
        module = _conv_bn(p["in_channels"], p["out_channels"], p["kernel"], p["stride"], 1, True)
    elif block.op == "mbconv":
        module = _inverted_residual_class()(
            p["in_channels"], p["out_channels"], p["expansion"], p["kernel"], p["stride"]
        )
    else:
        raise ValueError(f"chain: unknown block op {block.op!r}")
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            nn.init.kaiming_normal_(sub.weight, mode="fan_in")
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Linear):
            nn.init.normal_(sub.weight, 0.0, 0.01)
            nn.init.zeros_(sub.bias)
    return module


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int, act: bool) -> Any:
    from torch import nn

    layers = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU6())
    return nn.Sequential(*layers)


_INVERTED_RESIDUAL: list[type] = []


def _inverted_residual_class() -> type:
    """The inverted-residual module class, defined on first use so torch loads lazily."""
    if _INVERTED_RESIDUAL:
        return _INVERTED_RESIDUAL[0]
    from torch import Tensor, nn

    class InvertedResidual(nn.Module):
        """1x1 expand + BN + ReLU6 (if expansion > 1), depthwise kxk + BN + ReLU6, 1x1
        project + BN; adds the input when the stride is 1 and channels are unchanged."""

        def __init__(self, cin: int, cout: int, expansion: int, kernel: int, stride: int):
            super().__init__()
            hidden = cin * expansion
            layers = [] if expansion == 1 else [_conv_bn(cin, hidden, 1, 1, 1, True)]
            layers += [
                _conv_bn(hidden, hidden, kernel, stride, hidden, True),
                _conv_bn(hidden, cout, 1, 1, 1, False),
            ]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: Tensor) -> Tensor:
            y = self.body(x)
            return x + y if self.residual else y

    _INVERTED_RESIDUAL.append(InvertedResidual)
    return InvertedResidual
