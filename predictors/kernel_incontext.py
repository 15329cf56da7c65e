"""In-network kernel labels: what each kernel costs inside a whole network.

The kernel predictor's models are trained on kernels timed alone. Inside a network the
same kernel runs after others (cold weights, other data in cache) and onnxruntime adds
work the single kernels do not show (NCHWc reorders between layouts, ops it does not
fuse the way the rules expect). This module turns an onnxruntime per-node profile of a
whole network into one in-network time per hwnas kernel, and fits a per-kernel
correction on those labels:

1. :func:`attribute_profile` maps each profiled node (optimized graph, in execution
   order) to the hwnas kernel whose node name is the longest prefix of the profiled
   node's name (onnxruntime names a fused NCHWc conv after its last fused output,
   ``<node>_output_0_nchwc``, and a fusion after its first node, ``<node>/...Fusion``).
   Fused nodes it names after their op type (``Gelu_token_12``,
   ``SkipLayerNormalization``) go to the kernel of that op (:data:`RENAMED_FUSIONS`).
   Nodes of no kernel (reorders, ops it inserted) go to a neighbour: a ``ReorderInput``
   (or the Reshape before a Gemm) to the next matched node's kernel, anything else to
   the previous one.
2. :func:`in_network_labels` scales the per-kernel profiled shares (each node's time
   less what the profiler adds to a node) to the network's measured latency less the
   per-model overhead, so that labels sum to what was measured, and the profile
   contributes only how the time splits.
3. :class:`InContextCorrection` learns the log ratio in-network label / isolated
   prediction from the kernel's features, its place in the network (what kinds of
   kernel feed and read it, how many, and how many MB of weights the one before it read:
   :func:`neighbour_features`) and its isolated prediction (LightGBM, each network's
   kernels weighted by their share of it, so every network counts alike) and multiplies
   each kernel's prediction by it.

:func:`fit_in_network` does all three for a fitted kernel predictor and the random
networks ``hwnas kernels build`` measured (``hwnas.predictors.kernel_context``): the
runner's op profile lists every node's time in execution order (``op_profile["nodes"]``).
The kernel predictor keeps the correction (``incontext_``, a LightGBM text model) and
applies it to every kernel before its whole-network correction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hwnas.errors import UsageError
from hwnas.predictors.kernel_features import FEATURE_NAMES
from hwnas.predictors.kernels import booster_params

#: Profiled node (name, op type, microseconds per run), in execution order.
ProfiledNode = tuple[str, str, float]
#: The profiled nodes attributed to the next kernel rather than the previous one: by op
#: type, and by name (the Reshape onnxruntime puts before a 3-D MatMul it runs as a Gemm).
LEADING_OPS = frozenset({"ReorderInput"})
LEADING_NAMES = ("gemm_input_reshape",)
#: Fused nodes onnxruntime names after their op type (``Gelu_token_12``,
#: ``SkipLayerNormalization``) rather than after a node of the graph, and the hwnas
#: kernel op each stands for (a Gelu fused from Erf; a LayerNormalization with the
#: residual Add before it). Attributed by name to no kernel, their time went to the
#: kernel before them: a two-way decoder's 190 us SkipLayerNormalization was labelled as
#: its MatMul's, and its LayerNormalization kernel as costing nothing.
RENAMED_FUSIONS = {
    "Gelu": "Gelu",
    "FastGelu": "Gelu",
    "BiasGelu": "Gelu",
    "QuickGelu": "QuickGelu",
    "SkipLayerNormalization": "LayerNormalization",
    "LayerNormalization": "LayerNormalization",
    "SimplifiedLayerNormalization": "SimplifiedLayerNormalization",  # RMSNorm
    "SkipSimplifiedLayerNormalization": "SimplifiedLayerNormalization",
}


#: Prefixes onnxruntime puts before the name of the node a fusion keeps
#: (``GemmActivationFusion``: ``fused <Gemm node>``, run as ``FusedGemm``).
FUSION_PREFIXES = ("fused ",)


def kernel_names(proto: Any, kernels: Sequence[Any]) -> list[tuple[str, ...]]:
    """Each kernel's ONNX node names and the names of those nodes' outputs: onnxruntime
    names an NCHWc conv after its output tensor (``<tensor>_nchwc``), which is not
    prefixed by a node name where the tensor is a graph output (``output_nchwc``)."""
    outputs = {n.name: tuple(o for o in n.output if o) for n in proto.graph.node}
    return [(*k.nodes, *(o for node in k.nodes for o in outputs.get(node, ()))) for k in kernels]


#: What :func:`neighbour_features` says of each kernel's place in its network: the kind
#: (index in ``KINDS``, -1 for none) of the kernel that produces its first activation
#: input and of its first consumer, how many kernels feed it and read it, and the log
#: of 1 + the weights (MB) the producer read just before it.
NEIGHBOUR_NAMES = ("prev_kind", "next_kind", "fan_in", "fan_out", "prev_log_weight_mb")


def neighbour_features(proto: Any, kernels: Sequence[Any]) -> np.ndarray:
    """One row per kernel (columns :data:`NEIGHBOUR_NAMES`) from the graph ``proto`` the
    kernels were split from (:func:`~hwnas.predictors.kernel_split.split_kernels`).

    Inside a network a kernel's time depends on its neighbours as well as on itself:
    onnxruntime adds a layout reorder between an NCHWc conv and an op that is not one
    (attributed to a neighbouring kernel), a tensor read by several kernels stays
    live, and a kernel after one that streamed many MB of weights finds the caches
    cold. Nodes are matched by name; a kernel whose nodes the graph does not name
    uniquely gets -1 and 0 (unknown)."""
    from hwnas.predictors.kernel_features import KINDS

    nodes = list(proto.graph.node)
    counts = Counter(n.name for n in nodes)
    by_name = {n.name: n for n in nodes if n.name and counts[n.name] == 1}
    owner: dict[str, int] = {}
    for i, k in enumerate(kernels):
        for name in k.nodes:
            for out in getattr(by_name.get(name), "output", ()):
                owner[out] = i
    out = np.zeros((len(kernels), len(NEIGHBOUR_NAMES)))
    out[:, :2] = -1.0
    readers: dict[int, list[int]] = {}
    feeds: dict[int, list[int]] = {}
    for i, k in enumerate(kernels):
        inputs = [x for name in k.nodes for x in getattr(by_name.get(name), "input", ())]
        producers = list(dict.fromkeys(owner[x] for x in inputs if owner.get(x, i) != i))
        feeds[i] = producers
        for p in producers:
            readers.setdefault(p, []).append(i)
    code = {kind: j for j, kind in enumerate(KINDS)}
    for i in range(len(kernels)):
        first, users = feeds[i][:1], readers.get(i, [])
        if first:
            out[i, 0] = code.get(kernels[first[0]].kind, -1)
            out[i, 4] = np.log1p(4 * kernels[first[0]].params / 1e6)
        if users:
            out[i, 1] = code.get(kernels[users[0]].kind, -1)
        out[i, 2], out[i, 3] = len(feeds[i]), len(users)
    return out


def _owner(name: str, index: Mapping[str, int]) -> int | None:
    """The kernel whose node name is the longest prefix of ``name`` (ending at the end of
    ``name`` or before ``_`` or ``/``), once a fusion's prefix (:data:`FUSION_PREFIXES`)
    is left out."""
    for prefix in FUSION_PREFIXES:
        name = name.removeprefix(prefix)
    best, length = None, -1
    for node, k in index.items():
        if len(node) > length and name.startswith(node):
            rest = name[len(node) :]
            if not rest or rest[0] in "_/":
                best, length = k, len(node)
    return best


def _place_renamed(
    owners: list[int | None], profile: Sequence[ProfiledNode], kernel_ops: Sequence[str]
) -> None:
    """Give each fused node onnxruntime named after its op type
    (:data:`RENAMED_FUSIONS`) that no name matched to a kernel of the op it stands for
    that no profiled node matched by name: the first such kernel after the last kernel
    placed before it, else the first such kernel left (in place, in ``owners``)."""
    named = {o for o in owners if o is not None}
    free = [k for k in range(len(kernel_ops)) if k not in named]
    last = -1
    for i, (_, op, _) in enumerate(profile):
        want = RENAMED_FUSIONS.get(op)
        if owners[i] is None and want is not None:
            fits = [k for k in free if kernel_ops[k] == want]
            if fits:
                chosen = next((k for k in fits if k > last), fits[0])
                owners[i] = chosen
                free.remove(chosen)
        owner = owners[i]
        if owner is not None:
            last = owner


def attribute_profile(
    kernel_nodes: Sequence[Sequence[str]],
    profile: Sequence[ProfiledNode],
    kernel_ops: Sequence[str] | None = None,
) -> tuple[np.ndarray, float]:
    """(time of each kernel in us, time of nodes that could not be placed) from a per-node
    profile; ``kernel_nodes``: the ONNX node names of each kernel; ``kernel_ops``: each
    kernel's op (``Kernel.op``), to place the fused nodes onnxruntime names after their
    op type (:data:`RENAMED_FUSIONS`; without it, they go to a neighbour)."""
    index = {str(n): k for k, nodes in enumerate(kernel_nodes) for n in nodes}
    owners = [_owner(name, index) for name, _, _ in profile]
    if kernel_ops is not None:
        _place_renamed(owners, profile, kernel_ops)
    out = np.zeros(len(kernel_nodes))
    lost = 0.0
    for i, ((name, op, us), owner) in enumerate(zip(profile, owners, strict=True)):
        if owner is None:
            leads = op in LEADING_OPS or name.startswith(LEADING_NAMES)
            ahead = owners[i + 1 :] if leads else owners[:i][::-1]
            behind = owners[:i][::-1] if leads else owners[i + 1 :]
            owner = next((o for o in [*ahead, *behind] if o is not None), None)
        if owner is None:
            lost += us
        else:
            out[owner] += us
    return out, lost


def in_network_labels(
    kernel_nodes: Sequence[Sequence[str]],
    profile: Sequence[ProfiledNode],
    *,
    measured_ms: float,
    model_ms: float,
    node_us: float,
    kernel_ops: Sequence[str] | None = None,
) -> np.ndarray:
    """Each kernel's in-network time (ms): its share of the profiled time (each node less
    ``node_us``, what the profiler adds to a node) times the measured latency less the
    per-model overhead ``model_ms``; ``kernel_ops``: as :func:`attribute_profile`'s."""
    clean = [(name, op, max(us - node_us, 0.0)) for name, op, us in profile]
    us, lost = attribute_profile(kernel_nodes, clean, kernel_ops)
    total = float(us.sum() + lost)
    if total <= 0:
        raise UsageError("the profile holds no time: profile more runs")
    return us / total * max(measured_ms - model_ms, 0.0)


_PARAMS = FEATURE_NAMES.index("params")
_OP = FEATURE_NAMES.index("op_code_v3")
#: The columns (of :func:`incontext_features`) that say how a kernel is written rather
#: than how big it is. A value that no random network showed with the kernel's op is
#: where the correction would extrapolate from other ops' kernels: an LSTM fed initial
#: states (fan-in 3, inputs 3; every sampled network's LSTMs start from zeros) got the
#: multiplier of three-input concats, 1.7 where LSTMs run 1.17 times their isolated time.
GUARDED = (
    "n_inputs",
    "trans_a",
    "trans_b",
    "bias",
    "activation",
    "residual",
    "const_operand",
    "computed_weights",
    "scatter",
    "first_axis",
    "broadcast",
    "fan_in",
)
_GUARDED_COLS = [
    FEATURE_NAMES.index(c) if c in FEATURE_NAMES else len(FEATURE_NAMES) + NEIGHBOUR_NAMES.index(c)
    for c in GUARDED
]


def applicability(x: np.ndarray, log_ratio: np.ndarray, weight: np.ndarray) -> dict[str, Any]:
    """Per op code of the training rows ``x`` (:func:`incontext_features`): the values
    each :data:`GUARDED` column took, and the weighted median log ratio (what
    :meth:`InContextCorrection.kernel_ms` uses for a kernel outside them)."""
    domain: dict[str, Any] = {}
    for code in np.unique(x[:, _OP]):
        rows = x[:, _OP] == code
        order = np.argsort(log_ratio[rows])
        cum = np.cumsum(weight[rows][order])
        median = float(log_ratio[rows][order][np.searchsorted(cum, cum[-1] / 2)])
        seen = {
            name: sorted({float(v) for v in x[rows, col]})
            for name, col in zip(GUARDED, _GUARDED_COLS, strict=True)
        }
        domain[str(int(code))] = {"median": median, "seen": seen}
    return domain


def outside(domain: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """Per row of ``x``: the median log ratio of its op where a :data:`GUARDED` column
    holds a value its op never showed in training, else NaN (the op unseen too: NaN)."""
    out = np.full(len(x), np.nan)
    for i, row in enumerate(x):
        entry = domain.get(str(int(row[_OP])))
        if entry is None:
            continue
        seen = entry["seen"]
        if any(float(row[c]) not in seen[n] for n, c in zip(GUARDED, _GUARDED_COLS, strict=True)):
            out[i] = float(entry["median"])
    return out


def _params(seed: int, num_leaves: int) -> dict[str, Any]:
    """The kernel models' settings, with a wider Huber threshold, larger leaves (one
    network's kernels are many rows; LightGBM's default of 3 rows a bin) and more of
    them (:class:`InContextCorrection`)."""
    return {
        **booster_params(seed),
        "alpha": 0.5,
        "min_data_in_leaf": 10,
        "min_data_in_bin": 3,
        "num_leaves": num_leaves,
    }


def incontext_features(proto: Any, kernels: Sequence[Any], features: np.ndarray) -> np.ndarray:
    """What the in-context correction reads of each kernel: its feature row
    (``kernel_features``) and its place in the network (:func:`neighbour_features`)."""
    return np.column_stack([features, neighbour_features(proto, kernels)])


def _tensor_bytes(tensor: Any) -> int:
    """Bytes of an ONNX initializer from its dims and type (external data included)."""
    from onnx import helper

    try:
        itemsize = int(np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize)
    except (KeyError, TypeError, ValueError):
        itemsize = 4
    return itemsize * int(np.prod([int(d) for d in tensor.dims], dtype=np.int64))


#: Initializers smaller than this are not weights whose reads are amortised: a scalar
#: or a shape that many kernels read says nothing of what their time is spent on.
MIN_SHARED_BYTES = 64 * 1024


def weight_reads(proto: Any, kernels: Sequence[Any]) -> tuple[np.ndarray, int]:
    """(how many kernels read each kernel's largest weight, 1 for a kernel without any;
    the bytes of all weights more than one kernel reads). Weights are initializers of
    :data:`MIN_SHARED_BYTES` or more. An unrolled decoder reads its output projection at
    every step, a detector its shared head at every pyramid level, ALBERT its one layer
    twelve times. A weight read through ``Identity`` nodes (torch's exporter writes one
    for each further use) counts as the initializer it aliases."""
    sizes = {t.name: _tensor_bytes(t) for t in proto.graph.initializer}
    sizes = {name: size for name, size in sizes.items() if size >= MIN_SHARED_BYTES}
    # torch's exporter gives each further use of a weight an Identity of it, which
    # onnxruntime removes: every reader reads the one initializer.
    alias: dict[str, str] = {}
    for n in proto.graph.node:
        if n.op_type == "Identity" and n.input and alias.get(n.input[0], n.input[0]) in sizes:
            alias[n.output[0]] = alias.get(n.input[0], n.input[0])
    inputs = {
        n.name: [w for w in (alias.get(x, x) for x in n.input) if w in sizes]
        for n in proto.graph.node
        if n.name
    }
    reads = [{x for node in k.nodes for x in inputs.get(node, ())} for k in kernels]
    count = Counter(x for names in reads for x in names)
    largest = [max(names, key=lambda x: (sizes[x], x)) if names else None for names in reads]
    uses = np.asarray([count[x] if x is not None else 1 for x in largest], dtype=np.float64)
    return uses, sum(sizes[x] for x, c in count.items() if c > 1)


def amortised(
    proto: Any,
    kernels: Sequence[Any],
    ms: np.ndarray,
    isolated_ms: np.ndarray,
    llc_kb: int | None,
) -> np.ndarray:
    """``ms`` (in-network) with the excess over ``isolated_ms`` of each kernel whose
    weights ``k`` kernels read (:func:`weight_reads`) divided by ``k``: shared weights
    that fit in the last-level cache (``llc_kb``, all of them together) are cold at the
    first read only. No random network shares weights, so the in-network correction
    prices every read cold: a greedy decoder's 8 MB output projection, read at each of
    24 steps, was given 4x its isolated time here, and took 2x inside its network. A
    33 MB one (the cache here: 32 MiB) was cold at every step, as priced. Without a
    cache size (``None``: a predictor built before it was recorded, a device whose
    kernel does not export it) nothing is amortised."""
    if not llc_kb or not len(kernels):
        return ms
    uses, shared = weight_reads(proto, kernels)
    if shared > llc_kb * 1024:
        return ms
    excess = np.maximum(ms - isolated_ms, 0.0)
    return np.where(uses > 1, ms - excess * (1.0 - 1.0 / uses), ms)


class InContextCorrection:
    """A per-kernel multiplier ``exp(g(features, log isolated ms, log network weight
    MB))`` of the isolated kernel predictions, fitted on in-network labels
    (:func:`in_network_labels`). ``features``: rows of :func:`incontext_features` (a
    correction saved before neighbours were features reads the kernel features alone).

    ``floor_ms``: added to both sides of the ratio (kernels that vanish inside a network,
    like a transpose onnxruntime optimised away, have labels near 0). ``num_leaves`` and
    ``rounds``: with the kernel models' 7 leaves and 200 rounds the correction underfitted
    its own training labels (in-sample, 39% of one design of random networks within
    ±10%); 31 leaves and 400 rounds put 80% of a build's 600 random networks within
    ±10% out of fold, against 68% (``benchmarks/kernels_incontext_cv.py``,
    ``kernels_incontext_cv.json``)."""

    def __init__(
        self, *, floor_ms: float = 0.002, rounds: int = 400, num_leaves: int = 31, seed: int = 0
    ) -> None:
        self.floor_ms, self.rounds, self.seed = floor_ms, rounds, seed
        self.num_leaves = num_leaves
        self.booster_: Any = None
        #: :func:`applicability` of the training rows (None: a correction saved before it).
        self.domain_: dict[str, Any] | None = None

    def _x(self, features: np.ndarray, isolated_ms: np.ndarray) -> np.ndarray:
        """Each kernel's features, its log isolated ms and the log MB of weights of the
        whole network (``features``: one row per kernel of one network): weights that
        fit in the caches alone but not beside the rest of the network's are read from
        memory inside it (a batch-1 ``Linear`` of 12 MB ran 3x slower in an 80 MB
        stack than alone here)."""
        network_mb = 4 * float(np.sum(features[:, _PARAMS])) / 1e6
        return np.column_stack(
            [
                features,
                np.log(isolated_ms + self.floor_ms),
                np.full(len(features), np.log1p(network_mb)),
            ]
        )

    def fit(
        self,
        networks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> InContextCorrection:
        """``networks``: per network (kernel features, isolated ms, in-network label ms)."""
        import lightgbm as lgb

        if not networks:
            raise UsageError("fitting the in-context correction needs networks")
        xs, ys, ws = [], [], []
        for features, isolated, label in networks:
            xs.append(self._x(features, isolated))
            ys.append(np.log((label + self.floor_ms) / (isolated + self.floor_ms)))
            ws.append((isolated + self.floor_ms) / float(np.sum(isolated + self.floor_ms)))
        x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
        data = lgb.Dataset(x, y, weight=w)
        self.booster_ = lgb.train(
            _params(self.seed, self.num_leaves), data, num_boost_round=self.rounds
        )
        self.domain_ = applicability(x, y, w) if x.shape[1] > len(FEATURE_NAMES) + 2 else None
        return self

    def to_text(self) -> str:
        """The fitted booster as LightGBM's text model (what a saved predictor keeps)."""
        if self.booster_ is None:
            raise UsageError("the in-context correction is not fitted")
        return str(self.booster_.model_to_string())

    @classmethod
    def from_booster(
        cls, booster: Any, *, floor_ms: float, domain: dict[str, Any] | None = None
    ) -> InContextCorrection:
        """A fitted correction from a loaded LightGBM booster, its ``floor_ms`` and its
        training rows' :func:`applicability` (None: no guard)."""
        self = cls(floor_ms=floor_ms)
        self.booster_, self.domain_ = booster, domain
        return self

    def kernel_ms(self, features: np.ndarray, isolated_ms: np.ndarray) -> np.ndarray:
        """The corrected (in-network) ms of each kernel."""
        if self.booster_ is None:
            raise UsageError("the in-context correction is not fitted")
        if self.booster_.num_feature() == len(FEATURE_NAMES) + 2:  # saved without neighbours
            features = features[:, : len(FEATURE_NAMES)]
        log_ratio = self.booster_.predict(self._x(features, isolated_ms))
        if self.domain_ and features.shape[1] > len(FEATURE_NAMES):
            fallback = outside(self.domain_, features)
            log_ratio = np.where(np.isnan(fallback), log_ratio, fallback)
        ratio = np.exp(log_ratio)
        return np.maximum((isolated_ms + self.floor_ms) * ratio - self.floor_ms, 0.0)


def node_profile(op_profile: Mapping[str, Any] | None) -> list[ProfiledNode] | None:
    """The per-node profile (name, op, us per run) of a runner's ``op_profile``, or None
    when it has none (measured by a runner before per-node profiles were recorded)."""
    nodes = (op_profile or {}).get("nodes")
    if not nodes:
        return None
    return [(str(name), str(op), 1000.0 * float(ms)) for name, op, ms in nodes]


def network_rows(
    predictor: Any, model: Any, measured_ms: float, profile: Sequence[ProfiledNode]
) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """One measured network's kernels, their correction inputs
    (:func:`incontext_features`), isolated predictions by ``predictor`` (a fitted
    ``KernelPredictor``) and in-network labels from its per-node ``profile``
    (:func:`in_network_labels`; ``UsageError`` where the profile holds no time).
    ``model``: an ONNX path or model."""
    import onnx

    from hwnas.predictors.kernel_features import kernel_features
    from hwnas.predictors.kernel_split import split_kernels

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
    kernels = split_kernels(proto)
    features = np.vstack([kernel_features(k) for k in kernels])
    isolated, _ = predictor.predict_kernels(kernels, features)
    labels = in_network_labels(
        kernel_names(proto, kernels),
        profile,
        measured_ms=float(measured_ms),
        model_ms=predictor.overhead_model_ms_,
        node_us=1000.0 * predictor.profiler_node_ms_,
        kernel_ops=[k.op for k in kernels],
    )
    return kernels, incontext_features(proto, kernels, features), np.asarray(isolated), labels


def fit_in_network(
    predictor: Any,
    networks: Sequence[tuple[Any, float, Sequence[ProfiledNode]]],
    *,
    seed: int = 0,
) -> InContextCorrection:
    """The in-context correction of ``predictor`` (a fitted ``KernelPredictor``) from
    whole ``networks``: (ONNX path or model, measured ms, its per-node profile). A
    network whose profile holds no time is left out; ``UsageError`` if none is left."""
    rows = []
    for model, measured_ms, profile in networks:
        try:
            _, features, isolated, labels = network_rows(predictor, model, measured_ms, profile)
        except UsageError:
            continue
        rows.append((features, isolated, labels))
    return InContextCorrection(seed=seed).fit(rows)


def per_kind_ratios(
    networks: Sequence[tuple[Sequence[str], np.ndarray, np.ndarray]],
) -> dict[str, float]:
    """The simplest in-network correction: per kernel kind, summed in-network labels over
    summed isolated predictions, over all ``networks`` (kinds, isolated ms, labels)."""
    pred: dict[str, float] = {}
    real: dict[str, float] = {}
    for kinds, isolated, label in networks:
        for kind, p, y in zip(kinds, isolated, label, strict=True):
            pred[kind] = pred.get(kind, 0.0) + float(p)
            real[kind] = real.get(kind, 0.0) + float(y)
    return {k: real[k] / pred[k] for k in pred if pred[k] > 0}
