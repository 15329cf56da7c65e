"""What predictors learn from: a fixed-length float vector per architecture.

:class:`FeatureSet` is the space's own ``features(arch)`` followed by ``flops`` and
``params`` (every space can count them; the built-in spaces do it analytically),
cached per architecture string. :func:`feature_set` picks a space's richer set where
hwnas has one:

NAS-Bench-201 (:class:`NB201FeatureSet`) adds per-op counts under three execution
rules, and the FLOPs under each. A cell's edges cost different things on different
runtimes: a framework that runs the graph as written executes every edge that is not
``none`` (rule ``all``); one that drops nodes whose result never reaches the output runs
``to_output`` edges, even when their input is a zero node; the space's own torch network
builds only ``live`` edges (``NB201Space.live_edges``). The public Raspberry Pi 4 table
follows ``to_output``, the Xeon table ``all``; with only the space's features and FLOPs
(which follow ``live``) a model needs thousands of measurements to discover that.

Every set can also compute features from integer encodings (``from_genes``), which is
what the fast path of predictors uses; a space whose every gene vector is a distinct
architecture and that is small enough (:data:`ENUMERATION_LIMIT`) can be enumerated.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from hwnas.spaces.base import Block, SearchSpace

#: Spaces with at most this many gene vectors may be enumerated (lookup-table fast path).
ENUMERATION_LIMIT = 1 << 20
#: Per-arch cache size of a feature set; cleared when full.
CACHE_LIMIT = 1 << 18


class FeatureSet:
    """The features of ``space``'s architectures: ``space.features`` + ``flops``, ``params``."""

    #: Whether every spelling of an equivalence class has the same features, so that a
    #: canonical-form predictor need not canonicalise encodings first (unknown: no).
    class_invariant = False

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._cache: dict[str, np.ndarray] = {}
        low, high = space.bounds()
        self._low = np.asarray(low, dtype=np.int64)
        self._high = np.asarray(high, dtype=np.int64)

    @property
    def names(self) -> list[str]:
        """Feature names, in column order."""
        return [*self.space.feature_names(), "flops", "params"]

    @property
    def summary_names(self) -> list[str]:
        """The few columns that summarise an architecture's cost (FLOPs, parameters):
        what a model fit on a dozen measurements can afford (see ``hwnas.predictors.transfer``)."""
        return ["flops", "params"]

    @property
    def cost_names(self) -> list[str]:
        """Columns a metric such as latency is close to a non-negative weighted sum of
        (work per kind of operation); empty where the set has none. Predictors fit that
        sum first and learn the rest (see ``hwnas.predictors.lgbm``)."""
        return []

    def cost_columns(self) -> list[int]:
        names = self.names
        return [names.index(n) for n in self.cost_names]

    def summary_columns(self) -> list[int]:
        names = self.names
        return [names.index(n) for n in self.summary_names]

    # -- from strings ------------------------------------------------------------------

    def row(self, arch: str) -> np.ndarray:
        """The feature vector of one architecture (cached); ``InvalidArchError`` if invalid."""
        found = self._cache.get(arch)
        if found is None:
            found = self._compute(arch)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[arch] = found
        return found

    def _compute(self, arch: str) -> np.ndarray:
        space = self.space
        own = np.asarray(space.features(arch), dtype=np.float64)
        return np.concatenate([own, [float(space.flops(arch)), float(space.params(arch))]])

    def matrix(self, archs: Sequence[str]) -> np.ndarray:
        """A float64 matrix, one row per architecture, ``len(names)`` columns."""
        if not archs:
            return np.zeros((0, len(self.names)), dtype=np.float64)
        return np.vstack([self.row(a) for a in archs])

    # -- from integer encodings ----------------------------------------------------------

    @property
    def n_genes(self) -> int:
        return int(self._low.size)

    def check_genes(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """``genes`` as an int64 (n, n_genes) array; ``ValueError`` naming what is wrong."""
        array = np.asarray(genes)
        if array.ndim == 1 and array.size == self.n_genes:
            array = array[None, :]
        if array.ndim != 2 or array.shape[1] != self.n_genes:
            raise ValueError(
                f"genes must have shape (n, {self.n_genes}) for space {self.space.name!r}, "
                f"got {array.shape}"
            )
        if array.size and not np.issubdtype(array.dtype, np.integer):
            if not np.array_equal(array, np.round(array)):
                raise ValueError(f"genes must be integers, got dtype {array.dtype}")
        array = array.astype(np.int64, copy=False)
        bad = (array < self._low) | (array > self._high)
        if bad.any():
            r, c = map(int, np.argwhere(bad)[0])
            raise ValueError(
                f"genes[{r}, {c}] = {int(array[r, c])} is outside the bounds "
                f"{int(self._low[c])}..{int(self._high[c])} of gene {c} of space "
                f"{self.space.name!r}"
            )
        return array

    def from_genes(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Features of integer encodings (by decoding; subclasses vectorize)."""
        array = self.check_genes(genes)
        return self.matrix([self.space.decode(g) for g in array])

    def enumerable(self) -> bool:
        """Whether every gene vector is a distinct architecture and there are at most
        :data:`ENUMERATION_LIMIT` of them (then a predictor may tabulate all of them)."""
        ranges = [int(h - lo + 1) for lo, h in zip(self._low, self._high, strict=True)]
        total = 1
        for r in ranges:
            total *= r
            if total > ENUMERATION_LIMIT:
                return False
        return total == self.space.size()

    def all_genes(self) -> np.ndarray:
        """Every gene vector, gene 0 most significant (row ``i`` has ``flat_index`` ``i``)."""
        if not self.enumerable():
            raise ValueError(
                f"space {self.space.name!r} is not enumerable (more than "
                f"{ENUMERATION_LIMIT:,} gene vectors, or some are not distinct architectures)"
            )
        axes = [np.arange(lo, h + 1) for lo, h in zip(self._low, self._high, strict=True)]
        grid = np.meshgrid(*axes, indexing="ij")
        return np.stack([g.ravel() for g in grid], axis=1).astype(np.int64)

    def flat_index(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """The row of each gene vector in :meth:`all_genes` (bounds are checked)."""
        array = self.check_genes(genes)
        ranges = self._high - self._low + 1
        strides = np.ones(self.n_genes, dtype=np.int64)
        for i in range(self.n_genes - 2, -1, -1):
            strides[i] = strides[i + 1] * ranges[i + 1]
        return ((array - self._low) * strides).sum(axis=1)


# -- NAS-Bench-201 ---------------------------------------------------------------------

#: Execution rules of NAS-Bench-201 edges, see the module docstring.
NB201_RULES = ("all", "to_output", "live")


def _to_output_edges(genes: Sequence[int]) -> tuple[bool, ...]:
    """Edges that are not ``none`` and whose target node reaches the cell output."""
    from hwnas.spaces.nb201 import EDGES, N_NODES

    reaches = [False] * (N_NODES - 1) + [True]
    for e in reversed(range(len(EDGES))):  # edges are in topological order
        target, source = EDGES[e]
        if genes[e] != 0 and reaches[target]:
            reaches[source] = True
    return tuple(genes[e] != 0 and reaches[EDGES[e][0]] for e in range(len(EDGES)))


def _op_count_name(op: str, rule: str) -> str:
    """The feature counting ``op``'s edges under execution ``rule``."""
    return f"n_{op}_{rule}"


@lru_cache(maxsize=1)
def _nb201_table() -> tuple[tuple[str, ...], np.ndarray]:
    """Names and the feature matrix of all 15,625 cells, in ``flat_index`` order."""
    from hwnas.spaces.nb201 import EDGES, OPS, NB201Space

    space = NB201Space()
    n_edges, n_ops = len(EDGES), len(OPS)
    genes = np.array(list(itertools.product(range(n_ops), repeat=n_edges)), dtype=np.int64)
    masks = {
        "all": genes != 0,
        "to_output": np.array([_to_output_edges(g) for g in genes]),
        "live": np.array([space.live_edges(space.decode(g)) for g in genes]),
    }
    # The space counts FLOPs and parameters of live edges only, additively: a constant
    # (stem, reductions, head) plus one amount per live op. Read both off the space
    # itself, so the features follow it if its network changes.
    empty = space.decode([0] * n_edges)
    base_flops, base_params = space.flops(empty), space.params(empty)
    op_flops, op_params = np.zeros(n_ops), np.zeros(n_ops)
    probe_edge = 3  # node 3 <- node 0: live whenever its op is not none
    for k in range(1, n_ops):
        probe = space.decode([k if e == probe_edge else 0 for e in range(n_edges)])
        op_flops[k] = space.flops(probe) - base_flops
        op_params[k] = space.params(probe) - base_params
    names: list[str] = list(space.feature_names())
    columns: list[np.ndarray] = []
    one_hot = np.zeros((genes.shape[0], n_edges * n_ops))
    for e in range(n_edges):
        one_hot[np.arange(genes.shape[0]), e * n_ops + genes[:, e]] = 1.0
    columns.append(one_hot)
    for rule in NB201_RULES:
        for k in range(1, n_ops):
            names.append(_op_count_name(OPS[k], rule))
            columns.append(((genes == k) & masks[rule]).sum(axis=1, keepdims=True))
    for rule in NB201_RULES:
        names.append("flops" if rule == "live" else f"flops_{rule}")
        columns.append((np.where(masks[rule], op_flops[genes], 0.0).sum(1) + base_flops)[:, None])
    names.append("params")
    columns.append((np.where(masks["live"], op_params[genes], 0.0).sum(1) + base_params)[:, None])
    table = np.hstack(columns).astype(np.float64)
    table.setflags(write=False)
    return tuple(names), table


class NB201FeatureSet(FeatureSet):
    """NAS-Bench-201 features: the space's one-hot, op counts and FLOPs under each
    execution rule (:data:`NB201_RULES`), and parameters; tabulated for all cells."""

    @property
    def names(self) -> list[str]:
        return list(_nb201_table()[0])

    @property
    def cost_names(self) -> list[str]:
        """The op counts under every execution rule: a cell's latency is close to a
        constant plus a price per executed op, and which rule the device follows is
        what the non-negative fit finds (``hwnas.predictors.lgbm``). The sum is what
        reaches the cells a random sample rarely holds: of 100 random cells about 5 have
        no convolution and fewer than 1 only skips and zeros (the fastest cells of most
        tables), which trees alone price like the cheapest cells they saw."""
        from hwnas.spaces.nb201 import OPS

        return [_op_count_name(op, rule) for rule in NB201_RULES for op in OPS[1:]]

    @property
    def summary_names(self) -> list[str]:
        """Op counts and FLOPs under every execution rule, and parameters."""
        own = set(self.space.feature_names())
        return [n for n in self.names if n not in own]

    def matrix(self, archs: Sequence[str]) -> np.ndarray:
        genes = np.array([self.space.encode(a) for a in archs], dtype=np.int64)
        return self.from_genes(genes.reshape(len(archs), self.n_genes))

    def from_genes(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        return _nb201_table()[1][self.flat_index(genes)]


# -- the chain space ----------------------------------------------------------------------

#: Work of a chain segment (stem and first block, the five stages, final conv and head),
#: each a separate cost column: dense MACs (stem, 1x1 expansion, final conv, classifier),
#: depthwise MACs per kernel size, 1x1 projection MACs, activation elements read and
#: written, residual-add elements and the number of blocks (per-call overhead).
CHAIN_SEGMENTS = ("stem", "stage1", "stage2", "stage3", "stage4", "stage5", "head")


class ChainFeatureSet(FeatureSet):
    """The chain space's features plus per-segment work (:data:`CHAIN_SEGMENTS`).

    A convolution's time on a CPU grows with its MACs at a rate that depends on its kind
    (dense or depthwise, kernel size) and on the shape it runs at (early stages have
    large images and few channels, late ones the reverse), so each (segment, kind) pair
    gets its own column; a non-negative weighted sum of them is a per-device cost model.
    Distinct chain strings are distinct networks, so its features are class-invariant.
    """

    class_invariant = True

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        self._kernels = tuple(int(k) for k in space.kernels)  # type: ignore[attr-defined]
        kinds = [
            "dense_macs",
            *[f"dw{k}_macs" for k in self._kernels],
            "project_macs",
            "activations",
            "residual",
            "blocks",
        ]
        self._kinds = kinds
        self._cost_names = [f"{seg}_{kind}" for seg in CHAIN_SEGMENTS for kind in kinds]

    @property
    def names(self) -> list[str]:
        return [*super().names, *self._cost_names]

    @property
    def cost_names(self) -> list[str]:
        return list(self._cost_names)

    def _compute(self, arch: str) -> np.ndarray:
        return np.concatenate([super()._compute(arch), self._costs(arch)])

    def _costs(self, arch: str) -> np.ndarray:
        out = np.zeros((len(CHAIN_SEGMENTS), len(self._kinds)))
        for segment, block in self._segments(self.space.blocks(arch)):
            out[segment] += self._block_work(block)
        return out.ravel()

    @staticmethod
    def _segments(blocks: Sequence[Block]) -> Iterator[tuple[int, Block]]:
        """Each block with its segment: stem and first block 0, stages 1-5, the rest 6."""
        segment = 0
        for position, block in enumerate(blocks):
            p = block.params
            if block.op != "mbconv" or position <= 1:
                segment = 0 if position <= 1 else len(CHAIN_SEGMENTS) - 1
            elif p["stride"] != 1 or p["in_channels"] != p["out_channels"]:
                segment += 1  # the first block of a stage changes shape
            yield segment, block

    def _block_work(self, block: Block) -> np.ndarray:
        """One block's work, one value per kind of cost column."""
        kinds = {k: i for i, k in enumerate(self._kinds)}
        row = np.zeros(len(self._kinds))
        p = block.params
        hw_in = block.input_shape[2] * block.input_shape[3]
        row[kinds["blocks"]] = 1
        if block.op == "head":
            cin, feature, classes = p["in_channels"], p["feature_channels"], p["classes"]
            row[kinds["dense_macs"]] += cin * feature + feature * classes
            row[kinds["activations"]] += cin * hw_in + feature + classes
            return row
        hw_out = block.output_shape[2] * block.output_shape[3]
        cin, cout, kernel = p["in_channels"], p["out_channels"], p["kernel"]
        if block.op != "mbconv":  # conv_bn_relu6: the stem and the final 1x1 conv
            row[kinds["dense_macs"]] += hw_out * cout * cin * kernel * kernel
            row[kinds["activations"]] += cin * hw_in + cout * hw_out
            return row
        hidden = cin * p["expansion"]
        if p["expansion"] != 1:
            row[kinds["dense_macs"]] += hw_in * hidden * cin
        row[kinds[f"dw{kernel}_macs"]] += hw_out * hidden * kernel * kernel
        row[kinds["project_macs"]] += hw_out * cout * hidden
        read = cin * hw_in if p["expansion"] != 1 else 0  # the 1x1 expansion's input
        row[kinds["activations"]] += read + hidden * (hw_in + hw_out) + cout * hw_out
        if p["stride"] == 1 and cin == cout:
            row[kinds["residual"]] += cout * hw_out
        return row

    # -- from integer encodings, vectorized ---------------------------------------------

    def _work_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """(fixed, per_block): the work, MACs and parameters of the blocks every network
        at a width and resolution has (stem, first block, final conv, head), shape
        (widths, resolutions, cost columns + 2), and of one searchable block, shape
        (widths, resolutions, stages, first slot or later, expansions, kernels, kinds
        + 2). A block is fixed by those; uniform architectures at the greatest depth
        contain every one (as in ``ChainSpace.distinct_blocks``)."""
        found = getattr(self, "_tables", None)
        if found is not None:
            return found
        space: Any = self.space
        nw, nr = len(space.widths), len(space.resolutions)
        ne, nk, depth = len(space.expansions), len(space.kernels), max(space.depths)
        stages, kinds = len(CHAIN_SEGMENTS) - 2, len(self._kinds)
        fixed = np.zeros((nw, nr, len(CHAIN_SEGMENTS) * kinds + 2))
        per_block = np.zeros((nw, nr, stages, 2, ne, nk, kinds + 2))
        deepest = space.depths.index(depth)
        for w, r, e, k in itertools.product(range(nw), range(nr), range(ne), range(nk)):
            genes = [w, r, *[deepest] * stages, *[e, k] * (stages * depth)]
            blocks = space.blocks(space.decode(genes))
            for position, (segment, block) in enumerate(self._segments(blocks)):
                values = np.concatenate([self._block_work(block), space.block_macs_params(block)])
                if segment in (0, len(CHAIN_SEGMENTS) - 1):
                    if e == 0 and k == 0:
                        fixed[w, r, segment * kinds : (segment + 1) * kinds] += values[:kinds]
                        fixed[w, r, -2:] += values[kinds:]
                    continue
                slot = (position - 2) % depth
                if slot <= 1:
                    per_block[w, r, segment - 1, slot, e, k] = values
        self._tables = (fixed, per_block)
        return self._tables

    def from_genes(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Features of integer encodings without decoding them: table lookups (the same
        numbers as ``matrix`` of the decoded strings; a test keeps them equal)."""
        g = self.check_genes(genes)
        space: Any = self.space
        fixed, per_block = self._work_tables()
        stages, kinds, depth = per_block.shape[2], len(self._kinds), max(space.depths)
        w, r = g[:, 0], g[:, 1]
        depths = np.asarray(space.depths)[g[:, 2 : 2 + stages]]
        costs = fixed[w, r].copy()
        slots = np.zeros((g.shape[0], stages * depth * 2))
        for s in range(stages):
            for b in range(depth):
                used = b < depths[:, s]
                gene = 2 + stages + 2 * (s * depth + b)
                e, k = g[:, gene], g[:, gene + 1]
                values = per_block[w, r, s, min(b, 1), e, k] * used[:, None]
                costs[:, (s + 1) * kinds : (s + 2) * kinds] += values[:, :kinds]
                costs[:, -2:] += values[:, kinds:]
                column = 2 * (s * depth + b)
                slots[:, column] = np.asarray(space.expansions)[e] * used
                slots[:, column + 1] = np.asarray(space.kernels)[k] * used
        macs, params = costs[:, -2], costs[:, -1]
        own = np.column_stack(
            [
                np.asarray(space.widths)[w],
                np.asarray(space.resolutions)[r],
                depths,
                slots,
                macs / 1e6,
                params / 1e6,
            ]
        )
        return np.column_stack([own, macs, params, costs[:, :-2]])


# -- a device's lookup table as a feature ----------------------------------------------

#: The column a lookup table adds: the sum over an architecture's blocks of their measured
#: latency less the runner floor (``hwnas.predictors.lut.LookupTable.block_sum``), in ms.
LUT_FEATURE = "lut_block_sum"


class BlockTable(Protocol):
    """What a feature set needs of a lookup table (``hwnas.predictors.lut.LookupTable``)."""

    space: SearchSpace

    def block_sum(self, arch: str) -> float: ...


class LookupTableFeatureSet(FeatureSet):
    """Another feature set plus :data:`LUT_FEATURE`, the block sum of a device's lookup
    table: measured block costs, which is what trees find hardest to learn from a few
    hundred networks. It is also a cost column (the cost model scales it) and a summary
    column (a few-shot transfer may use it)."""

    def __init__(self, inner: FeatureSet, table: BlockTable) -> None:
        super().__init__(inner.space)
        self.inner = inner
        self.table = table
        self.class_invariant = inner.class_invariant

    @property
    def names(self) -> list[str]:
        return [*self.inner.names, LUT_FEATURE]

    @property
    def summary_names(self) -> list[str]:
        return [*self.inner.summary_names, LUT_FEATURE]

    @property
    def cost_names(self) -> list[str]:
        return [*self.inner.cost_names, LUT_FEATURE]

    def _sums(self, archs: Sequence[str]) -> np.ndarray:
        return np.array([[self.table.block_sum(a)] for a in archs], dtype=np.float64)

    def _compute(self, arch: str) -> np.ndarray:
        return np.concatenate([self.inner.row(arch), self._sums([arch])[0]])

    def matrix(self, archs: Sequence[str]) -> np.ndarray:
        if not archs:
            return np.zeros((0, len(self.names)), dtype=np.float64)
        return np.hstack([self.inner.matrix(archs), self._sums(archs)])

    def from_genes(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        array = self.check_genes(genes)
        return np.hstack(
            [self.inner.from_genes(array), self._sums([self.space.decode(g) for g in array])]
        )


def feature_set(space: SearchSpace, *, table: BlockTable | None = None) -> FeatureSet:
    """The feature set predictors use for ``space``, with ``table``'s block sum if given."""
    from hwnas.spaces.chain import ChainSpace
    from hwnas.spaces.nb201 import NB201Space

    found: FeatureSet
    if isinstance(space, NB201Space):
        found = NB201FeatureSet(space)
    elif isinstance(space, ChainSpace):
        found = ChainFeatureSet(space)
    else:
        found = FeatureSet(space)
    return found if table is None else LookupTableFeatureSet(found, table)


__all__ = [
    "CHAIN_SEGMENTS",
    "ENUMERATION_LIMIT",
    "LUT_FEATURE",
    "NB201_RULES",
    "BlockTable",
    "ChainFeatureSet",
    "FeatureSet",
    "LookupTableFeatureSet",
    "NB201FeatureSet",
    "feature_set",
]
