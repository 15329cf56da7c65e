"""The NAS-Bench-201 cell space: 6 edges, 5 operations, 15,625 cells.

A cell is a DAG on four nodes; node 0 is the cell input, node 3 its output, and every
node ``j`` sums one operation on each earlier node ``i < j``. The string form is the
official one, ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: the ``+``-separated groups are
nodes 1, 2 and 3, and ``op~i`` is the edge from node ``i``. The encoding is one gene per
edge in that order (node1<-0; node2<-0, node2<-1; node3<-0, node3<-1, node3<-2), each
the index of the edge's operation in :data:`OPS`.

The network around the cell is the benchmark's CIFAR-10 skeleton: a 3x3 stem, three
stages of five cells (16, 32 and 64 channels) joined by ResNet reduction blocks, and a
BN-ReLU-pool-linear head. Official benchmark indices come from the bundled table
(:func:`hwnas.data.nb201_table`), loaded the first time they are needed.

torch is imported inside functions only: the core must import without it.
"""

from __future__ import annotations

import difflib
import itertools
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from hwnas.spaces.base import Block, InvalidArchError, SearchSpace, SpaceError

#: The five operations, in the official order; a gene is an index into this tuple.
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target node, source node) of each edge, in gene order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_NODES = 4
N_ARCHS = len(OPS) ** len(EDGES)
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"  # noqa: E501

#: The macro skeleton: (channels, spatial size) of the three stages, cells per stage.
STAGES: tuple[tuple[int, int], ...] = ((16, 32), (32, 16), (64, 8))
CELLS_PER_STAGE = 5
N_CLASSES = 10
_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
#: Bump when the network built by ``to_torch`` changes; it keys exported-model caches.
NETWORK_VERSION = 1

Genes = tuple[int, ...]


def _edge_label(edge: int) -> str:
    target, source = EDGES[edge]
    return f"edge {edge + 1} of 6 (node {target} <- node {source}; gene {edge})"


def _allowed_ops() -> str:
    return ", ".join(OPS)


def _node_template(node: int) -> str:
    return "|" + "|".join(f"op~{i}" for i in range(node)) + "|"


def _format(genes: Genes) -> str:
    groups = []
    for node in range(1, N_NODES):
        items = [f"{OPS[genes[e]]}~{src}" for e, (dst, src) in enumerate(EDGES) if dst == node]
        groups.append("|" + "|".join(items) + "|")
    return "+".join(groups)


def _parse(arch: object) -> Genes:
    """The genes of an architecture string; ``InvalidArchError`` naming the position."""
    if not isinstance(arch, str):
        raise InvalidArchError(
            f"an nb201 architecture is a string like {EXAMPLE!r}, got {type(arch).__name__}"
        )
    text = arch.strip()
    if not text:
        raise InvalidArchError(
            f"empty architecture string; an nb201 cell is 3 nodes joined by '+', each "
            f"listing its edges, like {EXAMPLE!r}"
        )
    parts = text.split("+")
    if len(parts) != N_NODES - 1:
        raise InvalidArchError(
            f"{arch!r} has {len(parts)} node(s) separated by '+'; an nb201 cell has "
            f"exactly 3 (nodes 1, 2 and 3, with 1, 2 and 3 edges), like {EXAMPLE!r}"
        )
    genes: list[int] = []
    for node, part in enumerate(parts, start=1):
        if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
            raise InvalidArchError(
                f"node {node} of {arch!r} is {part!r}; a node lists its edges between bars, "
                f"like {_node_template(node)!r}"
            )
        items = part[1:-1].split("|")
        if len(items) != node:
            raise InvalidArchError(
                f"node {node} of {arch!r} has {len(items)} edge(s) in {part!r}; node {node} "
                f"has exactly {node} (one from each of nodes 0..{node - 1}), like "
                f"{_node_template(node)!r}"
            )
        for source, item in enumerate(items):
            label = _edge_label(len(genes))
            op, sep, index = item.rpartition("~")
            if not sep:
                raise InvalidArchError(
                    f"{label} of {arch!r} is {item!r}; write it as op~{source} with op one "
                    f"of: {_allowed_ops()}"
                )
            if op not in OPS:
                close = difflib.get_close_matches(op, OPS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidArchError(
                    f"{label} of {arch!r} has unknown op {op!r}{hint}; allowed: {_allowed_ops()}"
                )
            if index != str(source):
                raise InvalidArchError(
                    f"{label} of {arch!r} reads input ~{index}, but this position must be "
                    f"~{source}: node {node}'s edges read nodes 0..{node - 1} in order"
                )
            genes.append(OPS.index(op))
    return tuple(genes)


def _live_edges(genes: Genes) -> tuple[bool, ...]:
    """Which edges change the cell output: not ``none``, fed by a node that has a live
    input (node 0 always has), and into a node from which the output is reachable."""
    has_input = [True] + [False] * (N_NODES - 1)
    for e, (dst, src) in enumerate(EDGES):  # edges are in topological order
        if genes[e] != 0 and has_input[src]:
            has_input[dst] = True
    feeding = [
        OPS[g] != "none" and has_input[src] for g, (_, src) in zip(genes, EDGES, strict=True)
    ]
    reaches_output = [False] * (N_NODES - 1) + [True]
    for e in reversed(range(len(EDGES))):
        dst, src = EDGES[e]
        if feeding[e] and reaches_output[dst]:
            reaches_output[src] = True
    return tuple(feeding[e] and reaches_output[dst] for e, (dst, _) in enumerate(EDGES))


def _unique_str(genes: Genes) -> str:
    """``CellStructure.to_unique_str(consider_zero=True)`` of the official NAS-Bench-201 code.

    A node's string is the ``+``-join of its sorted input terms. An input term is ``#``
    if the op is ``none`` or the source node's string is exactly ``#``; the source's
    string if the op is ``skip_connect``; otherwise ``(source)@op``. Only a node whose
    sole input is zero is ``#`` (in this topology: node 1 when its edge is ``none``); a
    node 2 with two zero inputs is ``#+#`` and counts as a live source downstream, and
    ``#`` terms stay in a sum. The output node's string identifies the class.
    """
    nodes = ["0"]
    for node in range(1, N_NODES):
        terms = []
        for e, (dst, src) in enumerate(EDGES):
            if dst != node:
                continue
            op = OPS[genes[e]]
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


@lru_cache(maxsize=1)
def _official_index() -> tuple[tuple[str, ...], dict[str, int]]:
    """Official index -> string and back, from the bundled benchmark table."""
    from hwnas.data import nb201_table

    table = nb201_table()
    strings = tuple(str(s) for s in table["arch"])
    if len(strings) != N_ARCHS or list(table["index"]) != list(range(N_ARCHS)):
        raise SpaceError(
            f"the bundled NAS-Bench-201 table must hold indices 0..{N_ARCHS - 1} in order, "
            f"got {len(strings)} rows; reinstall hwnas"
        )
    index = {s: i for i, s in enumerate(strings)}
    if len(index) != N_ARCHS:
        raise SpaceError("the bundled NAS-Bench-201 table repeats architectures; reinstall hwnas")
    return strings, index


@lru_cache(maxsize=1)
def _representatives() -> dict[str, str]:
    """Unique string of each class -> its member with the smallest official index."""
    strings, _ = _official_index()
    reps: dict[str, str] = {}
    for arch in strings:  # in index order, so the first member seen is the smallest
        reps.setdefault(_unique_str(_parse(arch)), arch)
    return reps


class NB201Space(SearchSpace):
    """NAS-Bench-201: 15,625 cells of 6 edges x 5 ops, in a 3-stage CIFAR-10 network.

    ``seed`` fixes the initial weights of ``to_torch`` (each module is seeded by its
    position and op, so two cells that differ only in dead edges get the same weights).
    """

    name = "nb201"

    def __init__(self, *, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.seed = int(seed)

    # -- encoding ------------------------------------------------------------------

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(EDGES)
        return np.zeros(n, dtype=np.int64), np.full(n, len(OPS) - 1, dtype=np.int64)

    def encode(self, arch: str) -> np.ndarray:
        return np.array(_parse(arch), dtype=np.int64)

    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        return _format(self._genes(genes))

    def _genes(self, genes: Sequence[int] | np.ndarray) -> Genes:
        values = np.asarray(genes)
        if values.ndim != 1 or values.size != len(EDGES):
            got = f"{values.size} genes" if values.ndim == 1 else f"shape {values.shape}"
            raise InvalidArchError(
                f"an nb201 encoding is {len(EDGES)} genes (one per edge), got {got}"
            )
        allowed = ", ".join(f"{i}={op}" for i, op in enumerate(OPS))
        out = []
        for e, g in enumerate(values.tolist()):
            ok = (
                isinstance(g, int | float)
                and not isinstance(g, bool)
                and float(g).is_integer()
                and 0 <= g < len(OPS)
            )
            if not ok:
                raise InvalidArchError(
                    f"gene {e} ({_edge_label(e)}) is {g!r}; allowed are the integers "
                    f"0..{len(OPS) - 1}: {allowed}"
                )
            out.append(int(g))
        return tuple(out)

    def size(self) -> int:
        return N_ARCHS

    def input_shape(self) -> tuple[int, ...]:
        return (1, 3, 32, 32)

    # -- the benchmark's index -------------------------------------------------------

    def index_of(self, arch: str) -> int:
        """The official NAS-Bench-201 index of ``arch`` (0..15624)."""
        return _official_index()[1][_format(_parse(arch))]

    def arch_at(self, index: int | np.integer[Any]) -> str:
        """The architecture with official NAS-Bench-201 index ``index``."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise InvalidArchError(f"an nb201 index is an int, got {index!r}")
        if not 0 <= index < N_ARCHS:
            raise InvalidArchError(f"nb201 index {index} is out of range 0..{N_ARCHS - 1}")
        return _official_index()[0][int(index)]

    # -- equivalence -------------------------------------------------------------------

    def live_edges(self, arch: str) -> tuple[bool, ...]:
        """Per edge, whether it changes the cell output (see ``to_torch``)."""
        return _live_edges(_parse(arch))

    def is_disconnected(self, arch: str) -> bool:
        """True when the input never reaches the output (the cell computes zeros)."""
        return not any(self.live_edges(arch))

    def unique_str(self, arch: str) -> str:
        """The official ``to_unique_str(consider_zero=True)`` of ``arch``."""
        return _unique_str(_parse(arch))

    def canonical(self, arch: str) -> str:
        """The member with the smallest official index of the class of ``arch``.

        Classes are those of the official ``CellStructure.to_unique_str(consider_zero=True)``
        (6,466 over the 15,625 cells): ``skip_connect`` is identity; a node sums its inputs
        in any order; ``none`` is a zero term; an edge out of a zero node is zero; edges
        that cannot reach node 3 do not count. Zeros propagate the official way: a node
        is zero only when its string is exactly ``#``, i.e. it has a single input and that
        input is zero (only node 1 can be); node 2 with both inputs zero stays a distinct
        ``#+#`` source, and zero terms stay in a sum. Treating every all-zero node as zero
        and dropping zero terms would merge more cells (5,390 classes), but 6,466 is the
        count the benchmark literature uses, so this follows the official rule.
        """
        return _representatives()[_unique_str(_parse(arch))]

    def mutate(self, arch: str, rng: np.random.Generator | int, rate: float = 0.2) -> str:
        """The base mutation, redrawn until the child is not equivalent to the parent.

        Changing only dead edges would give an equivalent cell, a wasted evaluation.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"mutation rate must be in [0, 1], got {rate!r}")
        if rate == 0.0:
            return self.validate(arch)
        gen = np.random.default_rng(rng)  # a Generator passes through unchanged
        parent = self.canonical(arch)
        for _ in range(64):
            child = super().mutate(arch, gen, rate)
            if self.canonical(child) != parent:
                return child
        # Practically unreachable; a deterministic single-edge change always exists.
        genes = list(_parse(arch))
        for e, g in itertools.product(range(len(EDGES)), range(len(OPS))):
            child = _format(tuple(genes[:e] + [g] + genes[e + 1 :]))
            if self.canonical(child) != parent:
                return child
        raise AssertionError("every nb201 cell has a non-equivalent neighbour")

    # -- features ------------------------------------------------------------------------

    def feature_names(self) -> list[str]:
        """``edge{e}_{op}`` for each edge ``e`` (gene order, 0..5) and op (official order)."""
        return [f"edge{e}_{op}" for e in range(len(EDGES)) for op in OPS]

    def features(self, arch: str) -> np.ndarray:
        """One-hot of each edge's op: 30 floats, 5 per edge in gene order (see
        ``feature_names``), exactly one 1.0 per edge."""
        x = np.zeros(len(EDGES) * len(OPS), dtype=np.float64)
        for e, g in enumerate(_parse(arch)):
            x[e * len(OPS) + g] = 1.0
        return x

    # -- the network ---------------------------------------------------------------------

    def blocks(self, arch: str) -> list[Block]:
        """Stem, the live edge ops of every cell (one block each, in gene order), the two
        reduction blocks and the head. Dead edges (see ``live_edges``) are not blocks."""
        genes = _parse(arch)
        live = _live_edges(genes)
        c0, h0 = STAGES[0]
        out = [
            Block("stem_conv3x3_bn", self.input_shape(), (1, c0, h0, h0), {"C_in": 3, "C_out": c0})
        ]
        previous: tuple[int, int] | None = None
        for c, h in STAGES:
            if previous is not None:
                pc, ph = previous
                out.append(
                    Block(
                        "resnet_reduction",
                        (1, pc, ph, ph),
                        (1, c, h, h),
                        {"C_in": pc, "C_out": c, "stride": 2},
                    )
                )
            for _ in range(CELLS_PER_STAGE):
                shape = (1, c, h, h)
                out += [
                    Block(OPS[g], shape, shape, {"C": c})
                    for g, ok in zip(genes, live, strict=True)
                    if ok
                ]
            previous = (c, h)
        c, h = STAGES[-1]
        out.append(
            Block(
                "head_bn_relu_pool_linear",
                (1, c, h, h),
                (1, N_CLASSES),
                {"C_in": c, "classes": N_CLASSES},
            )
        )
        return out

    def distinct_blocks(self) -> list[Block]:
        """Every distinct block, each once: the stem, the two reduction blocks, the head and
        each op but ``none`` (never a block) at each stage's channels and size, i.e.
        ``1 + 2 + 1 + 3 * 4 = 16``. The cells whose six edges all hold one op contain them."""
        found: dict[str, Block] = {}
        for op in OPS[1:]:
            for block in self.blocks(_format((OPS.index(op),) * len(EDGES))):
                found.setdefault(block.key, block)
        return list(found.values())

    def block_to_torch(self, block: Block) -> Any:
        """One block of ``distinct_blocks()`` as the module ``to_torch`` builds for it (eval
        mode), with weights drawn from a seed derived from ``seed`` and the block's key."""
        import torch

        known = {b.key for b in self.distinct_blocks()}
        if block.key not in known:
            raise SpaceError(
                f"nb201 has no block {block.key!r}; the blocks of the space are those of "
                f"distinct_blocks()"
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_module_seed(self.seed, f"block/{block.key}"))
            module = _block_module(block)
        return module.eval()

    def flops(self, arch: str) -> int:
        """Multiply-accumulates of convolutions and the classifier (as
        :func:`hwnas.spaces.counting.count_macs_params` counts them), computed analytically."""
        return self._count(arch)[0]

    def params(self, arch: str) -> int:
        """Parameters of ``to_torch(arch)`` (convolutions, batch norms, classifier)."""
        return self._count(arch)[1]

    def _count(self, arch: str) -> tuple[int, int]:
        genes = _parse(arch)
        live = _live_edges(genes)
        c0, h0 = STAGES[0]
        macs, params = c0 * h0 * h0 * 3 * 9, 3 * c0 * 9 + 2 * c0  # stem conv + BN
        previous: tuple[int, int] | None = None
        for c, h in STAGES:
            if previous is not None:
                pc = previous[0]
                macs += c * h * h * (pc * 9 + c * 9 + pc)  # conv_a, conv_b, shortcut 1x1
                params += pc * c * 9 + 2 * c + c * c * 9 + 2 * c + pc * c
            for g, ok in zip(genes, live, strict=True):
                k = _KERNEL.get(OPS[g])
                if ok and k is not None:
                    macs += CELLS_PER_STAGE * c * h * h * c * k * k
                    params += CELLS_PER_STAGE * (c * c * k * k + 2 * c)
            previous = (c, h)
        c = STAGES[-1][0]
        macs += c * N_CLASSES
        params += 2 * c + c * N_CLASSES + N_CLASSES  # final BN + linear
        return macs, params

    def identity(self) -> dict[str, Any]:
        found = super().identity()
        found["network_version"] = NETWORK_VERSION
        return found

    def to_torch(self, arch: str) -> Any:
        """The CIFAR-10 network of ``arch`` in eval mode, for inputs of (1, 3, 32, 32).

        Cell ops: ``nor_conv_kxk`` is ReLU-Conv(k, no bias)-BN, ``avg_pool_3x3`` is a
        3x3 stride-1 average pool not counting padding, ``skip_connect`` is identity.
        Only live edges are built (``none`` and dead edges compute nothing); a cell whose
        output is never reached returns zeros. Each module is initialised from a seed
        derived from ``seed``, its position and its op, so the same call gives the same
        weights and cells that differ only in dead edges give the same network.
        """
        return _build_network(_parse(arch), self.seed)


def _module_seed(seed: int, where: str) -> int:
    return zlib.crc32(f"nb201/{seed}/{where}".encode())


def _build_network(genes: Genes, seed: int) -> Any:
    import torch
    from torch import nn

    cell_class, reduction_class, network_class = _torch_classes()
    live = _live_edges(genes)
    # Plan: for each needed node in order, the (source node, module index) of its terms.
    plan: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    for node in range(1, N_NODES):
        terms = tuple((src, e) for e, (dst, src) in enumerate(EDGES) if dst == node and live[e])
        if terms:
            plan.append((node, terms))

    def seeded(where: str) -> None:
        torch.manual_seed(_module_seed(seed, where))

    def edge_op(op: str, c: int) -> Any:
        if op == "skip_connect":
            return nn.Identity()
        if op == "avg_pool_3x3":
            return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        k = _KERNEL[op]
        return nn.Sequential(
            nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c)
        )

    with torch.random.fork_rng(devices=[]):
        c0 = STAGES[0][0]
        seeded("stem")
        layers: list[Any] = [nn.Conv2d(3, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0)]
        previous: int | None = None
        for s, (c, _) in enumerate(STAGES):
            if previous is not None:
                seeded(f"reduction{s}")
                layers.append(reduction_class(previous, c))
            for i in range(CELLS_PER_STAGE):
                ops = []
                for e, g in enumerate(genes):
                    # Placeholders keep module indices equal to edge numbers; dead edges
                    # hold an empty Identity that is never called.
                    seeded(f"stage{s}/cell{i}/edge{e}/{OPS[g]}")
                    ops.append(edge_op(OPS[g], c) if live[e] else nn.Identity())
                layers.append(cell_class(tuple(plan), nn.ModuleList(ops)))
            previous = c
        seeded("head")
        c = STAGES[-1][0]
        layers += [
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(c, N_CLASSES),
        ]
        network = network_class(*layers)
    return network.eval()


def _block_module(block: Block) -> Any:
    """The torch module of one block of ``NB201Space.blocks`` (the same layers as in
    ``_build_network``; weights drawn from torch's current seed)."""
    from torch import nn

    p = block.params
    if block.op == "stem_conv3x3_bn":
        return nn.Sequential(
            nn.Conv2d(p["C_in"], p["C_out"], 3, padding=1, bias=False), nn.BatchNorm2d(p["C_out"])
        )
    if block.op == "resnet_reduction":
        return _torch_classes()[1](p["C_in"], p["C_out"])
    if block.op == "head_bn_relu_pool_linear":
        return nn.Sequential(
            nn.BatchNorm2d(p["C_in"]),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(p["C_in"], p["classes"]),
        )
    if block.op == "skip_connect":
        return nn.Identity()
    if block.op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    k, c = _KERNEL[block.op], p["C"]
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c)
    )


@lru_cache(maxsize=1)
def _torch_classes() -> tuple[type, type, type]:
    """The torch module classes, defined on first use so the module imports without torch."""
    import torch
    from torch import nn

    class NB201Cell(nn.Module):
        """One cell: each needed node sums its live terms; zeros if the output is unreached."""

        def __init__(
            self, plan: tuple[tuple[int, tuple[tuple[int, int], ...]], ...], ops: nn.ModuleList
        ) -> None:
            super().__init__()
            self.plan = plan
            self.ops = ops

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nodes = {0: x}
            for node, terms in self.plan:
                total: torch.Tensor | None = None
                for src, index in terms:
                    y = self.ops[index](nodes[src])
                    total = y if total is None else total + y
                assert total is not None
                nodes[node] = total
            out = nodes.get(N_NODES - 1)
            return torch.zeros_like(x) if out is None else out

    class ResNetReduction(nn.Module):
        """NAS-Bench-201's basic residual block with stride 2 between stages."""

        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.conv_a = nn.Sequential(
                nn.ReLU(), nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out)
            )
            self.conv_b = nn.Sequential(
                nn.ReLU(), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
            )
            self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.shortcut(x) + self.conv_b(self.conv_a(x))

    class NB201Network(nn.Sequential):
        """Stem, three stages of cells with reductions between them, and the head."""

    return NB201Cell, ResNetReduction, NB201Network


__all__ = ["EDGES", "OPS", "NB201Space"]
