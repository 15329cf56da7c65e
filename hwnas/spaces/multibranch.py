"""Inception/ResNeXt-like multi-branch blocks: which branches, how wide, how merged.

torch is imported inside the functions that build modules: the core must stay
importable without it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwnas.spaces.base import Block, InvalidArchError, SearchSpace, _as_rng

#: Branch kinds, in the fixed order of the genes and of the canonical string.
BRANCHES = ("conv1x1", "conv3x3", "conv5x5", "pool")
#: Branch width as a fraction of the block's output channels; gene value i+1 is WIDTHS[i].
WIDTHS = (0.25, 0.5, 1.0)
#: Merge gene value -> name.
MERGES = ("concat", "add")
CONCAT, ADD = 0, 1

STEM_CHANNELS = 32
STAGE_CHANNELS = (64, 128, 256)
BLOCKS_PER_STAGE = 2
NUM_BLOCKS = len(STAGE_CHANNELS) * BLOCKS_PER_STAGE
GENES_PER_BLOCK = len(BRANCHES) + 1
NUM_CLASSES = 1000
#: Spatial kernel of each branch kind (the conv that carries the stride; pool: the max pool).
_KERNEL = {"conv1x1": 1, "conv3x3": 3, "conv5x5": 5, "pool": 3}
_WEIGHT_SEED = 0
_MUTATE_TRIES = 100

_BLOCK_FORM = (
    "a block is one or more of conv1x1, conv3x3, conv5x5, pool (each at most once), each "
    "written kind:width with width 0.25, 0.5 or 1.0, joined by '+', then /concat or /add, "
    "e.g. 'conv1x1:0.5+conv3x3:1.0/concat'"
)


def _down(size: int) -> int:
    """Output size of a stride-2 window with 'same' padding (k=1,p=0 / k=3,p=1 / k=5,p=2)."""
    return (size - 1) // 2 + 1


@dataclass(frozen=True)
class _Choice:
    """The genes of one block: width index per branch kind (0 = absent) and the merge."""

    widths: tuple[int, ...]
    merge: int

    @property
    def present(self) -> list[int]:
        return [k for k, w in enumerate(self.widths) if w]

    def canonical(self) -> _Choice:
        # With one branch, concat (cat of one tensor -> 1x1 conv+BN) and add (the branch's
        # own 1x1 conv+BN, summed alone) are the same modules: the merge gene is moot.
        return _Choice(self.widths, ADD) if len(self.present) == 1 else self

    def branch_text(self) -> str:
        return "+".join(f"{BRANCHES[k]}:{WIDTHS[self.widths[k] - 1]}" for k in self.present)

    def text(self) -> str:
        return f"{self.branch_text()}/{MERGES[self.merge]}"

    def genes(self) -> list[int]:
        return [*self.widths, self.merge]


@dataclass(frozen=True)
class _Geometry:
    """Where a searchable block sits: channels, stride, spatial size in and out."""

    c_in: int
    c_out: int
    stride: int
    size_in: int
    size_out: int


def _block_error(index: int, token: str, arch: str, problem: str) -> InvalidArchError:
    return InvalidArchError(
        f"block {index + 1} of {NUM_BLOCKS} ({token!r}) of {arch!r}: {problem}; {_BLOCK_FORM}."
    )


def _parse_block(index: int, token: str, arch: str) -> _Choice:
    body, sep, merge = token.rpartition("/")
    if not sep:
        raise _block_error(index, token, arch, "missing the merge '/concat' or '/add'")
    if merge not in MERGES:
        raise _block_error(
            index, token, arch, f"unknown merge {merge!r}; allowed merges are concat, add"
        )
    if not body:
        raise _block_error(index, token, arch, "no branch; a block needs at least one branch")
    widths = [0] * len(BRANCHES)
    for part in body.split("+"):
        kind, sep, width_text = part.partition(":")
        if kind not in BRANCHES:
            raise _block_error(
                index,
                token,
                arch,
                f"unknown branch {kind!r}; allowed branches are {', '.join(BRANCHES)}",
            )
        if not sep:
            raise _block_error(index, token, arch, f"branch {kind!r} has no ':width'")
        try:
            ratio = float(width_text)
        except ValueError:
            ratio = float("nan")
        if ratio not in WIDTHS:
            raise _block_error(
                index,
                token,
                arch,
                f"branch {kind!r} has width {width_text!r}; allowed widths are 0.25, 0.5, 1.0",
            )
        slot = BRANCHES.index(kind)
        if widths[slot]:
            raise _block_error(index, token, arch, f"branch {kind!r} appears twice")
        widths[slot] = WIDTHS.index(ratio) + 1
    return _Choice(tuple(widths), MERGES.index(merge))


class MultiBranchSpace(SearchSpace):
    """Inception/ResNeXt-like networks whose 6 blocks choose their branches and merge.

    Skeleton (input ``(1, 3, R, R)``, ``R = resolution``, 224 by default)::

        stem    Conv3x3 s2 (3->32) + BN + ReLU, MaxPool3x3 s2        -> 32 x R/4
        stage 1 block 1 (32->64, s1), block 2 (64->64, s1)            -> 64 x R/4
        stage 2 block 3 (64->128, s2), block 4 (128->128, s1)         -> 128 x R/8
        stage 3 block 5 (128->256, s2), block 6 (256->256, s1)        -> 256 x R/16
        head    global average pool, Linear 256->1000

    Each searchable block with input ``Cin`` and output ``C`` channels has up to four
    branches, each absent or of width ``w = ratio * C`` with ratio 0.25, 0.5 or 1.0:

    - ``conv1x1``: 1x1 conv (Cin->w, carries the stride);
    - ``conv3x3``: 1x1 reduce (Cin->w), then 3x3 conv (w->w, carries the stride);
    - ``conv5x5``: 1x1 reduce (Cin->w), then 5x5 conv (w->w, carries the stride);
    - ``pool``: 3x3 max pool (carries the stride), then 1x1 conv (Cin->w).

    Branch convs are conv (no bias) + BN + ReLU; projections and the shortcut conv are
    conv + BN, the ReLU comes after the sum. Merge ``concat`` concatenates the branch
    outputs and projects them with one 1x1 conv + BN to C channels; ``add`` projects each
    branch with its own 1x1 conv + BN to C channels and sums them. The shortcut is the
    identity, or a 1x1 conv (with the block's stride) + BN where channels or size change
    (block 1 too: 32->64 at stride 1). The block's output is ``ReLU(merge + shortcut)``.

    Encoding: 30 genes, 5 per block: ``[conv1x1, conv3x3, conv5x5, pool]`` each 0 (absent)
    or 1..3 (width 0.25, 0.5, 1.0), then the merge, 0 = concat, 1 = add. A block with no
    branch is not in the space. The string is the blocks joined by ``|``, each its branches
    in that fixed order joined by ``+`` then ``/merge``, e.g.
    ``conv1x1:0.5+conv3x3:1.0/concat|pool:0.25/add|...``.

    Equivalence: with one branch, ``concat`` and ``add`` build the same modules (one 1x1
    conv + BN projecting that branch), so the merge gene is moot and such blocks are
    written ``/add``; ``decode`` and ``canonical`` return that form (``encode`` keeps the
    genes as written, and ``to_torch`` builds either form to identical weights). With two or more
    branches the two merges stay distinct architectures: at inference both are an affine
    map of the concatenated branch outputs, but ``add`` has one BN per branch (different
    training, more parameters) and a different graph (k convs and adds against a concat and
    one conv), so they cost differently on a device.

    Size: per block 12 single-branch choices (4 kinds x 3 widths) counted once and
    243 multi-branch choices (4^4 - 1 - 12) counted twice (concat, add), 498 per block,
    so ``498 ** 6 = 15,253,730,059,904,064`` distinct canonical architectures.

    ``resolution`` (keyword-only, at least 32) changes only the input size.
    """

    name = "multibranch"

    def __init__(self, *, resolution: int = 224) -> None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
            raise ValueError(f"resolution must be an integer >= 32, got {resolution!r}")
        self.resolution = resolution
        self._geometry = self._layout()

    def _layout(self) -> list[_Geometry]:
        size = _down(_down(self.resolution))
        c_in = STEM_CHANNELS
        layout = []
        for stage, c_out in enumerate(STAGE_CHANNELS):
            for j in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 0 and j == 0 else 1
                size_out = _down(size) if stride == 2 else size
                layout.append(_Geometry(c_in, c_out, stride, size, size_out))
                c_in, size = c_out, size_out
        return layout

    # -- encoding ------------------------------------------------------------------

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        per_block = [len(WIDTHS)] * len(BRANCHES) + [len(MERGES) - 1]
        low = np.zeros(NUM_BLOCKS * GENES_PER_BLOCK, dtype=np.int64)
        return low, np.array(per_block * NUM_BLOCKS, dtype=np.int64)

    def _parse(self, arch: str) -> list[_Choice]:
        """The block choices exactly as written (not canonicalized)."""
        if not isinstance(arch, str):
            raise InvalidArchError(f"a {self.name} architecture is a string, got {arch!r}")
        tokens = arch.strip().split("|")
        if len(tokens) != NUM_BLOCKS:
            raise InvalidArchError(
                f"{arch!r} has {len(tokens)} block(s) but a {self.name} architecture has "
                f"{NUM_BLOCKS} blocks joined by '|'; {_BLOCK_FORM}."
            )
        return [_parse_block(i, token, arch) for i, token in enumerate(tokens)]

    def _choices(self, genes: Sequence[int] | np.ndarray) -> list[_Choice]:
        """The block choices of a gene vector, checked against the bounds and validity."""
        values = [v.item() if isinstance(v, np.generic) else v for v in np.ravel(genes)]
        if len(values) != NUM_BLOCKS * GENES_PER_BLOCK:
            raise InvalidArchError(
                f"a {self.name} encoding has {NUM_BLOCKS * GENES_PER_BLOCK} genes "
                f"({GENES_PER_BLOCK} per block), got {len(values)}"
            )
        _, high = self.bounds()
        ints = []
        for i, value in enumerate(values):
            integral = isinstance(value, int) and not isinstance(value, bool)
            integral |= isinstance(value, float) and value.is_integer()
            if not integral or not 0 <= int(value) <= int(high[i]):
                block, slot = divmod(i, GENES_PER_BLOCK)
                what = "merge" if slot == len(BRANCHES) else BRANCHES[slot]
                raise InvalidArchError(
                    f"gene {i} (block {block + 1}, {what}) is {value!r}; allowed are the "
                    f"integers 0..{int(high[i])}"
                )
            ints.append(int(value))
        choices = []
        for b in range(NUM_BLOCKS):
            chunk = ints[b * GENES_PER_BLOCK : (b + 1) * GENES_PER_BLOCK]
            choice = _Choice(tuple(chunk[: len(BRANCHES)]), chunk[-1])
            if not choice.present:
                first = b * GENES_PER_BLOCK
                raise InvalidArchError(
                    f"block {b + 1} of {NUM_BLOCKS} has no branch (genes {first}..{first + 3}, "
                    f"{', '.join(BRANCHES)}, are all 0); at least one must be 1..3"
                )
            choices.append(choice)
        return choices

    def encode(self, arch: str) -> np.ndarray:
        genes = [g for choice in self._parse(arch) for g in choice.genes()]
        return np.array(genes, dtype=np.int64)

    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        """The canonical string: single-branch blocks come out as ``/add``."""
        return "|".join(choice.canonical().text() for choice in self._choices(genes))

    def canonical(self, arch: str) -> str:
        """``arch`` with every single-branch block written ``/add`` (see the class doc)."""
        return self.decode(self.encode(arch))

    def size(self) -> int:
        kinds = len(BRANCHES)
        single = kinds * len(WIDTHS)
        multi = (len(WIDTHS) + 1) ** kinds - 1 - single
        return (single + len(MERGES) * multi) ** NUM_BLOCKS

    def input_shape(self) -> tuple[int, ...]:
        return (1, 3, self.resolution, self.resolution)

    # -- sampling and variation -------------------------------------------------------

    def sample(self, rng: np.random.Generator | int, n: int = 1) -> list[str]:
        """``n`` architectures, uniform over the valid gene vectors (a block with no branch
        is redrawn), with a seeded generator."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        gen = _as_rng(rng)
        out = []
        for _ in range(n):
            genes: list[int] = []
            for _block in range(NUM_BLOCKS):
                widths = gen.integers(0, len(WIDTHS) + 1, size=len(BRANCHES))
                while not widths.any():
                    widths = gen.integers(0, len(WIDTHS) + 1, size=len(BRANCHES))
                genes += [int(w) for w in widths] + [int(gen.integers(0, len(MERGES)))]
            out.append(self.decode(genes))
        return out

    def _valid(self, genes: np.ndarray) -> bool:
        blocks = genes.reshape(NUM_BLOCKS, GENES_PER_BLOCK)[:, : len(BRANCHES)]
        return bool(blocks.any(axis=1).all())

    def mutate(self, arch: str, rng: np.random.Generator | int, rate: float = 0.2) -> str:
        """Resample each gene with probability ``rate`` (at least one gene changes), redrawn
        until the result is valid and a different canonical architecture; ``rate`` 0 returns
        ``arch`` (canonical) unchanged."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"mutation rate must be in [0, 1], got {rate!r}")
        gen = _as_rng(rng)
        start = self.canonical(arch)
        if rate == 0.0:
            return start
        genes = self.encode(start)
        _, high = self.bounds()
        for _ in range(_MUTATE_TRIES):
            mask = gen.random(genes.size) < rate
            if not mask.any():
                mask[gen.integers(genes.size)] = True
            child = genes.copy()
            for i in np.flatnonzero(mask):
                choices = [v for v in range(int(high[i]) + 1) if v != genes[i]]
                child[i] = gen.choice(choices)
            if self._valid(child) and (result := self.decode(child)) != start:
                return result
        # Practically unreachable; resizing one present branch is always valid and new.
        block = int(gen.integers(NUM_BLOCKS))
        first = block * GENES_PER_BLOCK
        present = np.flatnonzero(genes[first : first + len(BRANCHES)])
        slot = first + int(gen.choice(present))
        genes[slot] = gen.choice([v for v in range(1, len(WIDTHS) + 1) if v != genes[slot]])
        return self.decode(genes)

    def crossover(self, a: str, b: str, rng: np.random.Generator | int) -> tuple[str, str]:
        """Uniform crossover of the genes into two complementary children; a block that
        would lose all its branches in either child is inherited whole instead."""
        gen = _as_rng(rng)
        ga, gb = self.encode(a), self.encode(b)
        take = gen.random(ga.size) < 0.5
        for block in range(NUM_BLOCKS):
            span = slice(block * GENES_PER_BLOCK, block * GENES_PER_BLOCK + len(BRANCHES))
            one = np.where(take[span], ga[span], gb[span])
            two = np.where(take[span], gb[span], ga[span])
            if not (one.any() and two.any()):
                whole = slice(block * GENES_PER_BLOCK, (block + 1) * GENES_PER_BLOCK)
                take[whole] = gen.random() < 0.5
        return self.decode(np.where(take, ga, gb)), self.decode(np.where(take, gb, ga))

    # -- what the blocks are --------------------------------------------------------

    def _canonical_choices(self, arch: str) -> list[_Choice]:
        return [choice.canonical() for choice in self._parse(arch)]

    def blocks(self, arch: str) -> list[Block]:
        choices = self._canonical_choices(arch)
        stem_size = self._geometry[0].size_in
        out = [
            Block(
                op="stem",
                input_shape=self.input_shape(),
                output_shape=(1, STEM_CHANNELS, stem_size, stem_size),
                params={
                    "c_in": 3,
                    "c_out": STEM_CHANNELS,
                    "kernel": 3,
                    "stride": 2,
                    "pool": "max3x3s2",
                },
            )
        ]
        for choice, geo in zip(choices, self._geometry, strict=True):
            widths = [int(WIDTHS[choice.widths[k] - 1] * geo.c_out) for k in choice.present]
            out.append(
                Block(
                    op="mb_block",
                    input_shape=(1, geo.c_in, geo.size_in, geo.size_in),
                    output_shape=(1, geo.c_out, geo.size_out, geo.size_out),
                    params={
                        "branches": choice.branch_text(),
                        "widths": "+".join(map(str, widths)),
                        "merge": MERGES[choice.merge],
                        "stride": geo.stride,
                        "c_in": geo.c_in,
                        "c_out": geo.c_out,
                    },
                )
            )
        last = self._geometry[-1]
        out.append(
            Block(
                op="head",
                input_shape=(1, last.c_out, last.size_out, last.size_out),
                output_shape=(1, NUM_CLASSES),
                params={"c_in": last.c_out, "classes": NUM_CLASSES, "pool": "global_avg"},
            )
        )
        return out

    def distinct_blocks(self) -> list[Block]:
        """Every distinct block, each once: the stem, the head and, for each of the 6 block
        positions (each has its own channels, stride and size), its 498 canonical branch
        configurations, i.e. ``2 + 6 * 498 = 2,990``. The architectures whose six blocks
        all make one choice contain them all."""
        found: dict[str, Block] = {}
        kinds = len(BRANCHES)
        for code in range(1, (len(WIDTHS) + 1) ** kinds):
            widths = tuple(
                (code // (len(WIDTHS) + 1) ** k) % (len(WIDTHS) + 1) for k in range(kinds)
            )
            for merge in range(len(MERGES)):
                choice = _Choice(widths, merge)
                if choice.canonical() != choice:
                    continue  # a single-branch block is written /add only
                for block in self.blocks("|".join([choice.text()] * NUM_BLOCKS)):
                    found.setdefault(block.key, block)
        return list(found.values())

    def block_to_torch(self, block: Block) -> Any:
        """One block of ``distinct_blocks()`` as a module (eval mode) built like the matching
        part of ``to_torch`` (same layers, BN statistics drawn the same way), with weights
        from a fixed seed."""
        import torch

        p = block.params
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_WEIGHT_SEED)
            if block.op == "stem":
                module = _stem_module()
            elif block.op == "head":
                module = _head_module(p["c_in"], p["classes"])
            elif block.op == "mb_block":
                choice = _parse_block(0, f"{p['branches']}/{p['merge']}", str(p["branches"]))
                geo = _Geometry(
                    p["c_in"], p["c_out"], p["stride"], block.input_shape[2], block.output_shape[2]
                )
                module = _mb_block_module(choice, geo)
            else:
                raise InvalidArchError(
                    f"multibranch has no block op {block.op!r}; its blocks are stem, "
                    f"mb_block and head (see distinct_blocks())"
                )
            _randomize_batch_norms(module)
        return module.eval()

    def feature_names(self) -> list[str]:
        names = []
        for b in range(1, NUM_BLOCKS + 1):
            names += [f"b{b}_{kind}" for kind in BRANCHES]
            names += [f"b{b}_add", f"b{b}_n_branches"]
        return names

    def features(self, arch: str) -> np.ndarray:
        """Per block: the width ratio of each branch kind (0 when absent), 1.0 if the
        canonical merge is add, and the number of branches."""
        values: list[float] = []
        for choice in self._canonical_choices(arch):
            values += [WIDTHS[w - 1] if w else 0.0 for w in choice.widths]
            values += [float(choice.merge == ADD), float(len(choice.present))]
        return np.array(values, dtype=np.float64)

    # -- cost, analytically (matches counting.count_macs_params on to_torch) -----------

    def _cost(self, arch: str) -> tuple[int, int]:
        conv_out = _down(self.resolution)
        macs = STEM_CHANNELS * conv_out * conv_out * 3 * 9
        params = 3 * 9 * STEM_CHANNELS + 2 * STEM_CHANNELS
        for choice, geo in zip(self._canonical_choices(arch), self._geometry, strict=True):
            area_in, area_out = geo.size_in**2, geo.size_out**2
            widths = [int(WIDTHS[choice.widths[k] - 1] * geo.c_out) for k in choice.present]
            for k, w in zip(choice.present, widths, strict=True):
                kernel = _KERNEL[BRANCHES[k]]
                if BRANCHES[k] in ("conv1x1", "pool"):
                    macs += w * area_out * geo.c_in
                    params += geo.c_in * w + 2 * w
                else:
                    macs += w * area_in * geo.c_in + w * area_out * w * kernel**2
                    params += geo.c_in * w + 2 * w + w * w * kernel**2 + 2 * w
            # One projection over the concatenation or one per branch: the same MACs.
            macs += geo.c_out * area_out * sum(widths)
            projections = len(widths) if choice.merge == ADD else 1
            params += sum(widths) * geo.c_out + 2 * geo.c_out * projections
            if geo.stride != 1 or geo.c_in != geo.c_out:
                macs += geo.c_out * area_out * geo.c_in
                params += geo.c_in * geo.c_out + 2 * geo.c_out
        last = self._geometry[-1].c_out
        macs += last * NUM_CLASSES
        params += last * NUM_CLASSES + NUM_CLASSES
        return macs, params

    def flops(self, arch: str) -> int:
        """Multiply-accumulates of convolutions and the linear layer (as ``counting``)."""
        return self._cost(arch)[0]

    def params(self, arch: str) -> int:
        """Trainable parameters (conv weights, BN scale and shift, linear weight and bias)."""
        return self._cost(arch)[1]

    # -- torch --------------------------------------------------------------------

    def to_torch(self, arch: str) -> Any:
        """The network of ``arch`` as written, in eval mode, with weights (and BN
        statistics) drawn from a fixed seed; the global torch RNG is left untouched.

        Equivalent strings (a single-branch block as concat or add) give modules with the
        same parameter names and values, hence the same outputs.
        """
        import torch
        from torch import nn

        choices = self._parse(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_WEIGHT_SEED)
            # One flat Sequential (stem layers, blocks, head layers), built in that order:
            # the parameter names and the weights drawn depend on both.
            layers: list[Any] = _stem_layers()
            for choice, geo in zip(choices, self._geometry, strict=True):
                layers.append(_mb_block_module(choice, geo))
            layers += _head_layers(self._geometry[-1].c_out, NUM_CLASSES)
            model = nn.Sequential(*layers)
            # Default BN (scale 1, shift 0, mean 0, var 1) would hide BN from any check.
            _randomize_batch_norms(model)
        return model.eval()


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int, relu: bool) -> Any:
    """Conv (no bias) + BN (+ ReLU), as ``MultiBranchSpace.to_torch`` builds them."""
    from torch import nn

    layers: list[Any] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _stem_layers() -> list[Any]:
    """The stem's layers: a strided conv-BN-ReLU, then a strided max pool."""
    from torch import nn

    return [_conv_bn(3, STEM_CHANNELS, 3, 2, relu=True), nn.MaxPool2d(3, 2, 1)]


def _stem_module() -> Any:
    from torch import nn

    return nn.Sequential(*_stem_layers())


def _head_layers(c_in: int, classes: int) -> list[Any]:
    """The head's layers: global average pool, flatten, the linear classifier."""
    from torch import nn

    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, classes)]


def _head_module(c_in: int, classes: int) -> Any:
    from torch import nn

    return nn.Sequential(*_head_layers(c_in, classes))


def _mb_block_module(choice: _Choice, geo: _Geometry) -> Any:
    """One searchable block as ``to_torch`` builds it (weights from torch's current seed)."""
    from torch import nn

    branches, widths = [], []
    for k in choice.present:
        w = int(WIDTHS[choice.widths[k] - 1] * geo.c_out)
        kind, kernel = BRANCHES[k], _KERNEL[BRANCHES[k]]
        if kind == "conv1x1":
            branch = _conv_bn(geo.c_in, w, 1, geo.stride, relu=True)
        elif kind == "pool":
            branch = nn.Sequential(
                nn.MaxPool2d(3, geo.stride, 1), _conv_bn(geo.c_in, w, 1, 1, relu=True)
            )
        else:
            branch = nn.Sequential(
                _conv_bn(geo.c_in, w, 1, 1, relu=True), _conv_bn(w, w, kernel, geo.stride, True)
            )
        branches.append(branch)
        widths.append(w)
    concat = choice.merge == CONCAT and len(widths) > 1
    project_in = [sum(widths)] if concat else widths
    projections = [_conv_bn(c, geo.c_out, 1, 1, relu=False) for c in project_in]
    shortcut = (
        _conv_bn(geo.c_in, geo.c_out, 1, geo.stride, relu=False)
        if geo.stride != 1 or geo.c_in != geo.c_out
        else nn.Identity()
    )
    return _block_class()(branches, projections, shortcut, concat)


def _randomize_batch_norms(model: Any) -> None:
    """Non-default BN statistics, drawn as ``to_torch`` draws them."""
    import torch
    from torch import nn

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None
                assert module.running_var is not None
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)


@functools.lru_cache(maxsize=1)
def _block_class() -> Any:
    """The torch module of one searchable block, defined on first use (torch is lazy)."""
    import torch
    from torch import nn

    class MultiBranchBlock(nn.Module):
        """ReLU(merge(branches(x)) + shortcut(x)); ``concat`` has one projection over the
        concatenated branches, otherwise each branch has its own and they are summed."""

        def __init__(
            self, branches: list[Any], projections: list[Any], shortcut: Any, concat: bool
        ) -> None:
            super().__init__()
            self.branches = nn.ModuleList(branches)
            self.project = nn.ModuleList(projections)
            self.shortcut = shortcut
            self.concat = concat
            self.relu = nn.ReLU()

        def forward(self, x: Any) -> Any:
            outs = [branch(x) for branch in self.branches]
            if self.concat:
                merged = self.project[0](torch.cat(outs, dim=1))
            else:
                merged = self.project[0](outs[0])
                for project, out in zip(self.project[1:], outs[1:], strict=True):
                    merged = merged + project(out)
            return self.relu(merged + self.shortcut(x))

    return MultiBranchBlock
