"""Kernel-level latency prediction for arbitrary ONNX models.

A model is split into the kernels onnxruntime's CPU provider runs
(:func:`~hwnas.predictors.kernel_split.split_kernels`, which documents the fusion rules);
each kernel is predicted by a model of its kind, trained on single-kernel models
sampled and measured on the device (:mod:`hwnas.predictors.kernel_sampler`); the model's
latency is

    per-model overhead + sum over kernels of the kernel's prediction.

A kind's model is a linear cost model ``c0 + c1 MACs + c2 bytes + c3 elements`` with
non-negative coefficients fitted for relative error (it extrapolates like a roofline,
where trees would stay flat), times a factor per op of the kind (from 2 samples of it:
an elementwise PRelu costs 40 times a Relu per element here), times ``exp`` of a
LightGBM regressor (text format,
seeded) of its log residual on every kernel feature; the regressor is kept only where
5-fold cross-validation says it helps (it learns what the line cannot: channel
alignment, kernel sizes, activations, cache effects).

The overheads come from the sampled ``Neg`` chains: their latency against the chain
length is a line whose intercept is the per-model overhead (binding inputs and outputs,
starting a run) and whose slope is the per-kernel overhead (dispatch). A sampled
kernel's own time is its model's latency less the per-model overhead and less the NCHWc
layout reorders its op profile shows (onnxruntime wraps a lone conv or pool in them; a
network mostly runs without), priced by a model of the measured ``reorder`` samples, or,
on a device without them, by the op profile's shares (corrected for what the profiler
adds to each node). ``view`` kernels cost the per-kernel overhead; kinds with fewer than
``min_samples`` samples and ``other`` kernels go to a generic model trained on every
sample (its regressor sees kind-agnostic features only: MACs, bytes, elements,
parameters). Dense 1-D convs have a model of their own (:func:`model_kind`), trained on
the sampled ``conv1d`` kind; predictors fitted before it predict them with the conv
model. A conv's fused residual sum is approximated as a third of a standalone
``Add`` of its output (it streams one tensor where the ``Add`` streams three).

Kernels are measured warm (a sampled model runs again and again, so its weights and
inputs stay in the caches); inside a network other layers evict them, so memory-bound
kernels with large weights (a classifier Gemm at batch 1, 1x1 convs on tiny feature
maps) run slower there. Two corrections fitted on random whole networks (never on a
model anyone scores the predictor on) address this: ``incontext_`` multiplies each
kernel's prediction by its learnt in-network ratio
(:mod:`hwnas.predictors.kernel_incontext`), then ``context_`` corrects the network's
total (:mod:`hwnas.predictors.kernel_context`). Fusions and layouts are onnxruntime's CPU
provider's (see :mod:`hwnas.predictors.kernel_split`); other runtimes need other rules.

The :class:`KernelPredictor` is a :class:`~hwnas.predictors.base.Predictor` (kind
``kernel``) of ``latency_ms``. ``predict(models)`` takes ONNX models: paths (``str`` or
``os.PathLike``) or ``onnx.ModelProto`` objects. Given a ``space`` (in the constructor,
or ``hwnas.load_predictor(DIR, space=...)``), a ``str`` is instead an architecture
string of that space, exported to ONNX through the export cache (``hwnas.export``) and
predicted; paths are then given as ``pathlib.Path``. ``predict_interval`` widens each
kernel's prediction by its model's cross-validated error (a rough band with no nominal
coverage: ``interval_share`` is None).

The artifact is the one predictor directory format (``hwnas.predictors.artifacts``):
one LightGBM text model per residual regressor plus ``meta.json`` (kind ``kernel``,
device, fingerprint hash, feature names, versions, file hashes; in ``state`` the kinds
with their cost-model coefficients and cross-validated errors and the overheads).
Loading checks all of it and refuses a mismatch; nothing is pickled. Directories that
``hwnas kernels build`` wrote before (format ``hwnas-kernel-predictor``) still load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx

from hwnas.errors import ParameterError
from hwnas.predictors.base import Interval, Origin, Predictor, training_hash
from hwnas.predictors.errors import ArtifactError, PredictorError
from hwnas.predictors.kernel_features import FEATURE_NAMES, Kernel, kernel_features
from hwnas.predictors.kernel_quant import FLOAT_KIND
from hwnas.predictors.kernel_sampler import (
    OVERHEAD_KIND,
    REORDER_KIND,
    SAMPLED_KINDS,
    KernelSample,
    config_string,
    main_kernel,
    reorder_kernel,
)
from hwnas.predictors.kernel_split import RECURRENT_GATES, REDUCTIONS, split_kernels
from hwnas.predictors.registry import register_predictor
from hwnas.spaces import SearchSpace, resolve_space

__all__ = ["FORMAT", "KernelPredictor", "estimate_overhead", "is_kernel_predictor", "split_kernels"]

#: The format of kernel predictor directories before the one predictor format; still read.
FORMAT = "hwnas-kernel-predictor"
FORMAT_VERSION = 1
#: What ``predict`` takes: an ONNX path or model, or an architecture string of ``space``.
ModelLike = str | os.PathLike[str] | onnx.ModelProto
GENERIC = "generic"
#: The saved in-context correction's LightGBM text model, beside the kinds' models.
INCONTEXT_FILE = "incontext.txt"
#: Kind-agnostic features of the generic regressor (``other`` kernels, thin kinds).
GENERIC_FEATURES = (
    "n_inputs",
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
)
_GENERIC_COLS = [FEATURE_NAMES.index(f) for f in GENERIC_FEATURES]
#: A fused residual sum costs this fraction of a standalone Add of the same tensor.
RESIDUAL_FRACTION = 1.0 / 3.0
#: The model of dense and grouped 1-D convs (``conv`` kernels on a 3-D input), trained on
#: the sampled ``conv1d`` kind: their shapes (long signals, wide kernels, large strides)
#: are not the 2-D ones', and training one model on both bent the 2-D fit (README, "Any
#: ONNX model").
CONV1D_MODEL = "conv1d"
#: The model of transposed convs (``other`` kernels of op ``ConvTranspose``).
CONVT_MODEL = "convt"
#: The model of instance norms (``other`` kernels of op ``InstanceNormalization``; torch
#: exports group norm as one).
INSTNORM_MODEL = "instnorm"
#: The model of 1-D depthwise convs (``dwconv`` kernels on a 3-D input).
DWCONV1D_MODEL = "dwconv1d"
#: The model of dense 3-D convs (``conv`` kernels on a 5-D input), trained on the sampled
#: ``conv3d`` kind.
CONV3D_MODEL = "conv3d"
#: The model of depthwise 3-D convs (``dwconv`` kernels on a 5-D input), trained on the
#: sampled ``dwconv3d`` kind.
DWCONV3D_MODEL = "dwconv3d"
#: The model of reductions and selections (``other`` kernels of :data:`REDUCE_OPS`),
#: trained on the sampled ``reduce`` and ``reduce_axes`` kinds.
REDUCE_MODEL = "reduce"
REDUCE_OPS = REDUCTIONS | {"TopK", "CumSum"}
#: The model of recurrent layers (``other`` kernels of op LSTM, GRU or RNN), trained on the
#: sampled ``rnn`` kind.
RNN_MODEL = "rnn"
#: The model of 2-D convs whose weights are computed at run time (``conv`` and ``dwconv``
#: kernels with ``computed_weights``), trained on the sampled ``conv_computed`` kind.
CONV_COMPUTED_MODEL = "conv_computed"
#: The model of transposes that copy element by element (``memory`` kernels with
#: ``scatter``: a pixel unshuffle's 6-D transpose), trained on the ``transpose_nd``
#: kind's: onnxruntime's generic path costs about ten times per element what its other
#: transposes do, which the memory model, fitted on every memory kernel, priced 2.7
#: times low even on its own training samples (alone, their 5-fold CV MAPE is 2.8%).
SCATTER_MODEL = "transpose_scatter"
#: The model of two-operand Einsums (``matmul`` kernels of op ``Einsum``), trained on the
#: sampled ``einsum`` kind: onnxruntime permutes their operands and multiplies batch by
#: batch, which the matmul model (fitted on MatMuls) priced at 0.31 of their time in a
#: Fourier neural operator.
EINSUM_MODEL = "einsum"
#: The model of 1-D pools (``pool`` kernels on a 3-D input: moving averages over
#: sequences), trained on the ``pool`` kind's 1-D samples: among the 2-D ones the pool
#: model priced a 25-step average of 321 channels at 0.18 ms of its 0.61.
POOL1D_MODEL = "pool1d"
#: The model of integer arithmetic (``elementwise`` kernels with ``integer``: index and
#: hash computations, and Casts to or from integers), trained on the sampled ``intwise``
#: kind: an int64 Add cost 5x a float one per element here, an int64 Div 11x a float
#: Div, a Mod 18x a float Add.
INT_MODEL = "intwise"
#: Models of a kind's 1-D (and 3-D) kernels, and the model that takes them without enough
#: samples (and predicts them for predictors fitted before they had their own).
ONE_D_MODELS = {
    CONV1D_MODEL: "conv",
    DWCONV1D_MODEL: "dwconv",
    CONV3D_MODEL: "conv",
    DWCONV3D_MODEL: "dwconv",
    CONV_COMPUTED_MODEL: "conv",
    SCATTER_MODEL: "memory",
    EINSUM_MODEL: "matmul",
    POOL1D_MODEL: "pool",
    INT_MODEL: "elementwise",
}


def model_kind(kernel: Kernel) -> str:
    """The model a kernel trains and is predicted by: :data:`CONV1D_MODEL` for a ``conv``
    kernel on a 3-D input, :data:`DWCONV1D_MODEL` for such a ``dwconv`` one,
    :data:`CONV3D_MODEL` for a ``conv`` kernel on a 5-D input (:data:`DWCONV3D_MODEL`
    for a ``dwconv`` one),
    :data:`CONVT_MODEL` for a transposed conv, :data:`INSTNORM_MODEL` for an instance
    norm, :data:`REDUCE_MODEL` for a reduction or TopK and :data:`RNN_MODEL` for an LSTM,
    GRU or RNN (``other`` kernels), :data:`CONV_COMPUTED_MODEL` for a 2-D conv whose
    weights are computed at run time, :data:`SCATTER_MODEL` for a transpose that copies element
    by element, :data:`EINSUM_MODEL` for an Einsum, :data:`POOL1D_MODEL` for a pool on a
    3-D input, :data:`INT_MODEL` for integer arithmetic, else its kind.
    Predictors without such a model predict those kernels with the 2-D conv's
    (:data:`ONE_D_MODELS`) or the generic model (``KernelPredictor._model_of``)."""
    if kernel.kind == "memory" and kernel.attrs.get("scatter"):
        return SCATTER_MODEL
    rank = len(kernel.inputs[0]) if kernel.inputs else 0
    if kernel.kind in ("conv", "dwconv") and kernel.attrs.get("computed_weights") and rank == 4:
        return CONV_COMPUTED_MODEL
    if kernel.kind in ("conv", "dwconv") and rank == 3:
        return CONV1D_MODEL if kernel.kind == "conv" else DWCONV1D_MODEL
    if kernel.kind in ("conv", "dwconv") and rank == 5:
        return CONV3D_MODEL if kernel.kind == "conv" else DWCONV3D_MODEL
    if kernel.kind == "matmul" and kernel.op == "Einsum":
        return EINSUM_MODEL
    if kernel.kind == "pool" and rank == 3:
        return POOL1D_MODEL
    if kernel.kind == "elementwise" and kernel.attrs.get("integer"):
        return INT_MODEL
    if kernel.kind == "other" and kernel.op == "ConvTranspose":
        return CONVT_MODEL
    if kernel.kind == "other" and kernel.op == "InstanceNormalization":
        return INSTNORM_MODEL
    if kernel.kind == "other" and kernel.op in REDUCE_OPS:
        return REDUCE_MODEL
    if kernel.kind == "other" and kernel.op in RECURRENT_GATES:
        return RNN_MODEL
    return kernel.kind


def estimate_overhead(samples: Sequence[KernelSample]) -> tuple[float, float]:
    """(per-model ms, per-kernel ms) from the overhead chains (Theil-Sen line fit).

    Without enough chains: no per-model overhead, and a per-kernel overhead of the
    smallest measured latency.
    """
    from scipy import stats

    chains = [(float(s.config["chain"]), s.latency_ms) for s in samples if s.kind == OVERHEAD_KIND]
    if len({c for c, _ in chains}) >= 3:
        x, y = np.array([c for c, _ in chains]), np.array([t for _, t in chains])
        fit = stats.theilslopes(y, x)
        slope = max(float(fit.slope), 1e-6)
        return max(float(fit.intercept), 0.0), slope
    smallest = min((s.latency_ms for s in samples), default=1e-3)
    return 0.0, smallest


def profiler_node_ms(samples: Sequence[KernelSample], kernel_ms: float) -> float:
    """What onnxruntime's profiler adds to each node: the profiled time per ``Neg`` node of
    the overhead chains less the per-kernel overhead that timing shows (0 without)."""
    per_node = [
        ms / count
        for s in samples
        if s.kind == OVERHEAD_KIND
        for op, (count, ms) in s.op_times.items()
        if count > 0
    ]
    return max(float(np.median(per_node)) - kernel_ms, 0.0) if per_node else 0.0


def booster_params(seed: int) -> dict[str, Any]:
    """The LightGBM settings of a per-kind kernel model (Huber loss, small trees,
    deterministic, one thread)."""
    return {
        "objective": "huber",
        "alpha": 0.3,
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 3,
        "min_data_in_bin": 1,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 5.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }


_COST_COLS = [
    FEATURE_NAMES.index(f) for f in ("macs", "bytes_read", "bytes_written", "elements_out")
]


_OP_COL = FEATURE_NAMES.index("op_code_v3")
#: Samples an op needs for a cost offset of its own.
OP_OFFSET_MIN = 2


def _cost_terms(x: np.ndarray) -> np.ndarray:
    """Columns of the linear cost model: 1, MACs, bytes moved, output elements."""
    macs, read, written, elements = (x[:, c] for c in _COST_COLS)
    return np.column_stack([np.ones(len(x)), macs, read + written, elements])


def _fit_line(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative ``c0 .. c3`` of ``ms = c0 + c1 MACs + c2 bytes + c3 elements`` that
    minimise the absolute relative error of ``exp(y)``: least squares reweighted a few
    times towards absolute error, so that a few noisy samples do not pull the line."""
    from scipy.optimize import nnls

    t = np.exp(y)
    a = _cost_terms(x) / t[:, None]
    weights = np.ones(len(t))
    coef = np.zeros(a.shape[1])
    for _ in range(5):
        coef, _ = nnls(a * weights[:, None], weights)
        weights = 1.0 / np.sqrt(np.maximum(np.abs(a @ coef - 1.0), 0.05))
    if not np.any(coef > 0):
        coef = np.array([float(np.median(t)), 0.0, 0.0, 0.0])
    return coef


def _line_log_ms(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(_cost_terms(x) @ coef[:4], 1e-6))


def _op_offsets(x: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """(op code, log offset) rows: each op's median log residual over its samples (ops
    with at least :data:`OP_OFFSET_MIN`; not shrunk: the effects are large, 40-100x)."""
    ops = x[:, _OP_COL]
    rows = []
    for op in np.unique(ops):
        mine = residual[ops == op]
        if len(mine) >= OP_OFFSET_MIN:
            rows.append((op, float(np.median(mine))))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def _offsets_of(x: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    out = np.zeros(len(x))
    for op, offset in pairs:
        out[x[:, _OP_COL] == op] = offset
    return out


def fit_cost_model(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The cost model of one kind: a roofline-like line (``c0 .. c3``, :func:`_fit_line`;
    it extrapolates sensibly, unlike trees) and a log offset per op (op code, offset
    pairs after the first four values): one kind lumps ops of very different cost per
    element (an elementwise PRelu or Softplus runs 40-100 times slower than a Relu here),
    which a line through all of them prices alike. The line is fitted again without the
    ops' offsets, twice."""
    coef = _fit_line(x, y)
    pairs = _op_offsets(x, y - _line_log_ms(x, coef))
    for _ in range(2):
        coef = _fit_line(x, y - _offsets_of(x, pairs))
        pairs = _op_offsets(x, y - _line_log_ms(x, coef))
    return np.concatenate([coef, pairs.ravel()])


def cost_model_log_ms(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return _line_log_ms(x, coef) + _offsets_of(x, np.asarray(coef[4:]).reshape(-1, 2))


def _train_residual(
    x: np.ndarray, r: np.ndarray, *, seed: int, names: Sequence[str], rounds: int
) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(x, r, feature_name=list(names), params={"feature_pre_filter": False})
    return lgb.train(booster_params(seed), data, num_boost_round=rounds)


def fit_kind(
    x: np.ndarray, y: np.ndarray, *, seed: int, generic: bool = False, rounds: int = 150
) -> tuple[np.ndarray, Any, dict[str, Any]]:
    """(cost-model coefficients, residual booster or None, training report) of one kind.

    The cost model alone and the cost model plus a LightGBM regressor of its log
    residual are compared by seeded 5-fold cross-validation (15 rows or more); the better
    one is refit on every row. The report holds ``n``, ``cv_mape`` (%, of the kernel's own
    latency; errors are ``exp |log error| - 1``), ``cv_within_5`` and ``cv_within_10``
    (shares of kernels within ±5% / ±10%) and whether the residual regressor is used.
    ``generic``: the regressor sees only :data:`GENERIC_FEATURES`.
    """
    n = len(y)
    cols = _GENERIC_COLS if generic else list(range(len(FEATURE_NAMES)))
    names = GENERIC_FEATURES if generic else FEATURE_NAMES
    use_residual, cv_mape = n >= 15, None
    shares: dict[str, float] = {}
    if n >= 15:
        errors: dict[bool, list[float]] = {False: [], True: []}
        for fold in np.array_split(np.random.default_rng(seed).permutation(n), 5):
            train = np.setdiff1d(np.arange(n), fold)
            coef = fit_cost_model(x[train], y[train])
            base = cost_model_log_ms(x[train], coef)
            booster = _train_residual(
                x[train][:, cols], y[train] - base, seed=seed, names=names, rounds=rounds
            )
            plain = cost_model_log_ms(x[fold], coef)
            errors[False] += list(np.abs(plain - y[fold]))
            errors[True] += list(np.abs(plain + booster.predict(x[fold][:, cols]) - y[fold]))
        use_residual = float(np.mean(errors[True])) < float(np.mean(errors[False]))
        ratio = np.expm1(np.asarray(errors[use_residual]))
        cv_mape = float(100 * np.mean(ratio))
        shares = {f"cv_within_{k}": float(np.mean(ratio <= k / 100)) for k in (5, 10)}
    coef = fit_cost_model(x, y)
    booster = None
    if use_residual:
        booster = _train_residual(
            x[:, cols], y - cost_model_log_ms(x, coef), seed=seed, names=names, rounds=rounds
        )
    report = {
        "n": n,
        "cv_mape": cv_mape,
        **shares,
        "residual_model": use_residual,
        "cost_model": [float(c) for c in coef],
    }
    return coef, booster, report


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@register_predictor("kernel")
class KernelPredictor(Predictor):
    """Per-kind cost models (with LightGBM residual regressors) on kernel features,
    summed with overheads: a predictor of ``latency_ms`` of any ONNX model.

    Keyword-only arguments: ``seed`` (cross-validation folds and LightGBM),
    ``min_samples`` (fewer samples of a kind go to the generic model), ``rounds``
    (boosting rounds of a residual regressor) and ``space`` (a space or its name whose
    architecture strings ``predict`` then accepts; see the module docstring).

    ``fit`` returns self; fitted state ends in ``_``; using it unfitted raises
    :class:`~hwnas.predictors.errors.NotFittedError`.
    """

    kind: ClassVar[str] = "kernel"
    legacy_formats: ClassVar[tuple[str, ...]] = (FORMAT,)
    space_bound: ClassVar[bool] = False
    fit_hint: ClassVar[str] = "fit(samples, device=..., fingerprint=...)"

    models_: dict[str, tuple[np.ndarray, Any]]
    training_: dict[str, dict[str, Any]]
    device_: str
    fingerprint_: str
    overhead_model_ms_: float
    overhead_kernel_ms_: float
    #: Measured samples ``fit`` left out (their model is not the kernel their kind names).
    skipped_samples_: int = 0
    profiler_node_ms_: float
    #: Whole-network correction (``kernel_context``), fitted on random networks; None: none.
    context_: dict[str, float] | None = None
    #: Per-kernel in-network correction (``kernel_incontext``), fitted on the same random
    #: networks' per-node profiles; None: kernels are summed as timed alone.
    incontext_: Any = None
    #: The device's last-level cache in KiB (``hwnas kernels build`` reads it on the
    #: device): shared weights that fit in it are cold at their first read only
    #: (``kernel_incontext.amortised``). None: unknown, nothing amortised.
    llc_kb_: int | None = None

    def __init__(
        self,
        *,
        seed: int = 0,
        min_samples: int = 8,
        rounds: int = 150,
        space: SearchSpace | str | None = None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError("seed", f"must be an int >= 0, got {seed!r}")
        if min_samples < 2:
            raise ParameterError("min_samples", f"must be >= 2, got {min_samples!r}")
        if rounds < 1:
            raise ParameterError("rounds", f"must be >= 1, got {rounds!r}")
        self.seed, self.min_samples, self.rounds = seed, min_samples, rounds
        self.space = None if space is None else resolve_space(space)
        self.metric = "latency_ms"

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("models_", "overhead_model_ms_", "feature_names_")

    # -- training -----------------------------------------------------------------------

    def fit(
        self,
        samples: Sequence[KernelSample],
        *,
        device: str,
        fingerprint: str,
        origin: Origin | None = None,
    ) -> KernelPredictor:
        """Train from measured kernel samples (see :func:`~hwnas.predictors.kernel_sampler.
        measured_samples`) of one device under one fingerprint; return self. ``origin``
        adds what else is known of the data (its source, the runtime)."""
        model_ms, kernel_ms = estimate_overhead(samples)
        node_ms = profiler_node_ms(samples, kernel_ms)
        floor = max(0.5 * kernel_ms, 1e-6)
        self.models_, self.training_ = {}, {}
        self.skipped_samples_ = 0
        self._fit_reorders(samples, model_ms, floor)
        rows: dict[str, tuple[list[np.ndarray], list[float]]] = {}
        for s in samples:
            if s.kind in (OVERHEAD_KIND, REORDER_KIND):
                continue
            try:
                kernel = main_kernel(s.config)
            except (RuntimeError, KeyError, ValueError, TypeError):
                # measured by an hwnas whose sampler drew a bad config, or one of a form
                # this sampler no longer builds (a gather's ``m`` before its ``ids``)
                self.skipped_samples_ += 1
                continue
            own = self._own_ms(s, kernel, model_ms, node_ms)
            xs, ys = rows.setdefault(model_kind(kernel), ([], []))
            xs.append(kernel_features(kernel))
            ys.append(math.log(max(own, floor)))
        if not rows:
            raise PredictorError(
                f"no measured kernel samples for device {device!r} under fingerprint "
                f"{fingerprint}; run `hwnas kernels build --device {device}` to measure them"
            )
        for one_d, two_d in ONE_D_MODELS.items():
            if one_d in rows and len(rows[one_d][1]) < self.min_samples:
                # Too few 1-D convs for a model of their own: they train the 2-D model.
                xs, ys = rows.pop(one_d)
                rows.setdefault(two_d, ([], []))[0].extend(xs)
                rows[two_d][1].extend(ys)
        for kind, (xs, ys) in sorted(rows.items()):
            if len(ys) >= self.min_samples:
                self._fit_model(kind, np.vstack(xs), np.asarray(ys))
        all_x = np.vstack([x for xs, _ in rows.values() for x in xs])
        all_y = np.asarray([y for _, ys in rows.values() for y in ys])
        self._fit_model(GENERIC, all_x, all_y, generic=True)
        self.device_, self.fingerprint_ = device, fingerprint
        self.overhead_model_ms_, self.overhead_kernel_ms_ = model_ms, kernel_ms
        self.profiler_node_ms_ = node_ms
        # Both fitted afterwards on whole networks (kernel_incontext, kernel_context).
        self.context_ = self.incontext_ = None
        self._set_summary(samples, origin)
        return self

    def _fit_model(self, name: str, x: np.ndarray, y: np.ndarray, generic: bool = False) -> None:
        coef, booster, report = fit_kind(x, y, seed=self.seed, generic=generic, rounds=self.rounds)
        self.models_[name], self.training_[name] = (coef, booster), report

    def _fit_reorders(self, samples: Sequence[KernelSample], model_ms: float, floor: float) -> None:
        """The model of NCHWc reorders, where enough of them were measured."""
        reorders = [s for s in samples if s.kind == REORDER_KIND]
        if len(reorders) >= self.min_samples:
            x = np.vstack([kernel_features(main_kernel(s.config)) for s in reorders])
            y = np.log([max(s.latency_ms - model_ms, floor) for s in reorders])
            self._fit_model(REORDER_KIND, x, y)

    def _set_summary(self, samples: Sequence[KernelSample], origin: Origin | None) -> None:
        """The attributes every predictor has: origin, training set, validation."""
        given = origin or Origin()
        self.origin_ = dataclasses.replace(
            given, device=self.device_, fingerprint=self.fingerprint_, statistic=None
        )
        self.training_hash_ = training_hash(
            [f"{s.kind}:{config_string(s.config)}" for s in samples],
            np.array([s.latency_ms for s in samples], dtype=np.float64),
        )
        self.n_train_ = len(samples)
        self.feature_names_ = list(FEATURE_NAMES)
        self.validation_ = _validation(self.training_)

    def _own_ms(self, s: KernelSample, kernel: Kernel, model_ms: float, node_ms: float) -> float:
        """A sample's own kernel time: its latency less the per-model overhead and the
        NCHWc reorders its op profile shows (their measured cost where reorders were
        measured, but at least the op profile's share; else that share), and for an
        embedding lookup whose ids the model computes, its op profile's share."""
        n_in = s.op_times.get("ReorderInput", (0, 0.0))[0]
        n_out = s.op_times.get("ReorderOutput", (0, 0.0))[0]
        total = s.latency_ms - model_ms
        if s.computes_ids:  # an embedding lookup: its ids' ops are not its time
            return total * s.own_share(node_ms)
        if not (n_in or n_out):
            return total
        if REORDER_KIND not in self.models_:
            return total * s.own_share(node_ms)
        shapes = [kernel.inputs[0]] * n_in + [kernel.output] * n_out
        pairs = np.vstack([kernel_features(reorder_kernel(sh)) for sh in shapes])
        reorders = 0.5 * float(np.exp(self._log_ms(REORDER_KIND, pairs)).sum())
        # never below what the op profile leaves the kernel (a noisy sample or a reorder
        # model off for this size must not push the label to nothing)
        return max(total - reorders, total * s.own_share(node_ms))

    def _check_fitted(self) -> None:
        self.check_is_fitted()

    # -- prediction ---------------------------------------------------------------------

    def _log_ms(self, name: str, x: np.ndarray) -> np.ndarray:
        coef, booster = self.models_[name]
        out = cost_model_log_ms(x, coef)
        if booster is not None:
            out = out + booster.predict(x[:, _GENERIC_COLS] if name == GENERIC else x)
        return out

    def predict_kernels(
        self, kernels: Sequence[Kernel], features: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[str]]:
        """Predicted ms of each kernel and which model said so (its kind, ``generic`` or
        ``overhead``); ``features``: the kernels' feature rows, if already computed."""
        self.check_is_fitted()
        if features is None:
            features = _feature_rows(kernels)
        ms = np.zeros(len(kernels))
        source = ["overhead"] * len(kernels)
        by_model: dict[str, list[int]] = {}
        for i, k in enumerate(kernels):
            if k.kind == "view":
                ms[i] = self.overhead_kernel_ms_
            else:
                by_model.setdefault(self._model_of(model_kind(k)), []).append(i)
        for name, idx in by_model.items():
            ms[idx] = np.exp(self._log_ms(name, features[idx]))
            for i in idx:
                source[i] = name
        for i, k in enumerate(kernels):
            if k.kind in ("conv", "dwconv", "qconv", "qdwconv") and k.attrs.get("residual"):
                ms[i] += self._residual_ms(k)
        return ms, source

    def _model_of(self, kind: str) -> str:
        """The model that predicts kernels of ``kind`` (a :func:`model_kind`): its own;
        1-D convs without one, the conv model's (predictors fitted before they had their
        own); for an int8 kind without one, its float kind's
        (``kernel_quant.FLOAT_KIND``); else the generic one."""
        if kind in self.models_:
            return kind
        if ONE_D_MODELS.get(kind) in self.models_:
            return ONE_D_MODELS[kind]
        floating = FLOAT_KIND.get(kind)
        return floating if floating in self.models_ else GENERIC

    def _residual_ms(self, conv: Kernel) -> float:
        """Approximate cost of a residual sum fused into a conv (see the module doc)."""
        el = math.prod(conv.output)
        add = Kernel(
            kind="elementwise",
            op="Add",
            fused=(),
            nodes=(),
            inputs=(conv.output,) * 2,
            output=conv.output,
            macs=0,
            flops=el,
            bytes_read=8 * el,
            bytes_written=4 * el,
            params=0,
            attrs={"broadcast": 0},
        )
        ms, _ = self.predict_kernels([add])
        return max(float(ms[0]) - self.overhead_kernel_ms_, 0.0) * RESIDUAL_FRACTION

    def predict_onnx(
        self,
        model: str | Path | onnx.ModelProto,
        *,
        shapes: Mapping[str, Sequence[int]] | None = None,
    ) -> tuple[float, list[dict[str, Any]]]:
        """(predicted total ms, one row per kernel) for an ONNX file or model."""
        total, rows = self.predict_onnx_raw(model, shapes=shapes)
        context = getattr(self, "context_", None)
        if context:
            from hwnas.predictors.kernel_context import apply_context

            total = apply_context(context, rows)
        return total, rows

    def predict_onnx_raw(
        self,
        model: str | Path | onnx.ModelProto,
        *,
        shapes: Mapping[str, Sequence[int]] | None = None,
    ) -> tuple[float, list[dict[str, Any]]]:
        """Like :meth:`predict_onnx`, without the whole-network (context) correction: the
        sum of the kernels plus the per-model overhead. Each row's ``ms`` is the kernel's
        in-network time where the predictor has that correction (``incontext_``), and
        ``isolated_ms`` its time as timed alone."""
        self.check_is_fitted()
        proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
        kernels = split_kernels(proto, shapes)
        features = _feature_rows(kernels)
        isolated, source = self.predict_kernels(kernels, features)
        ms = isolated
        if getattr(self, "incontext_", None) is not None and kernels:
            from hwnas.predictors.kernel_incontext import amortised, incontext_features

            ms = self.incontext_.kernel_ms(incontext_features(proto, kernels, features), isolated)
            ms = amortised(proto, kernels, ms, isolated, getattr(self, "llc_kb_", None))
        rows = [
            {"index": i, **k.to_dict(), "ms": float(t), "isolated_ms": float(a), "regressor": src}
            for i, (k, t, a, src) in enumerate(zip(kernels, ms, isolated, source, strict=True))
        ]
        return float(self.overhead_model_ms_ + ms.sum()), rows

    def _onnx(self, item: ModelLike) -> str | Path | onnx.ModelProto:
        """An ONNX model to predict from one input of ``predict`` (see the module doc)."""
        from hwnas.onnx_model import check_model

        if isinstance(item, onnx.ModelProto):
            return item
        if isinstance(item, str) and self.space is not None:
            from hwnas.export import export_arch

            return export_arch(self.space, item).path  # InvalidArchError if not in space
        if isinstance(item, str | os.PathLike):
            return check_model(Path(item)).path
        raise ParameterError(
            "archs",
            f"must hold ONNX paths or onnx.ModelProto objects (or, with a space, "
            f"architecture strings), got {type(item).__name__}",
        )

    def predict(self, archs: Sequence[ModelLike]) -> np.ndarray:
        """Predicted latency (ms) of each model: ONNX paths or ``onnx.ModelProto`` objects,
        or architecture strings of ``space`` when the predictor has one (float64 array)."""
        self.check_is_fitted()
        return np.array(
            [self.predict_onnx(self._onnx(item))[0] for item in archs], dtype=np.float64
        )

    def predict_interval(self, archs: Sequence[ModelLike]) -> Interval:
        """``predict(archs)`` with each kernel's prediction divided and multiplied by
        (1 + its model's cross-validated relative error): a rough band, not calibrated."""
        self.check_is_fitted()
        bands = [self._band(self._onnx(item)) for item in archs]
        value, low, high = (np.array([b[i] for b in bands], dtype=np.float64) for i in range(3))
        return Interval(value, np.minimum(low, value), np.maximum(high, value))

    def _band(self, model: str | Path | onnx.ModelProto) -> tuple[float, float, float]:
        total, rows = self.predict_onnx(model)
        error = {name: _relative_error(report) for name, report in self.training_.items()}
        error["overhead"] = 0.0
        fallback = error.get(GENERIC, 0.0)
        spread = [(row["ms"], error.get(row["regressor"], fallback)) for row in rows]
        low = self.overhead_model_ms_ + sum(ms / (1.0 + e) for ms, e in spread)
        high = self.overhead_model_ms_ + sum(ms * (1.0 + e) for ms, e in spread)
        return total, low, high

    # -- artifact -----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Device, fingerprint, overheads and each kind's training report."""
        self.check_is_fitted()
        return {
            "device": self.device_,
            "fingerprint": self.fingerprint_,
            "overhead": {
                "model_ms": self.overhead_model_ms_,
                "kernel_ms": self.overhead_kernel_ms_,
                "profiler_node_ms": getattr(self, "profiler_node_ms_", 0.0),
            },
            "kinds": dict(self.training_),
            "llc_kb": getattr(self, "llc_kb_", None),
        }

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
        """Write the predictor directory (LightGBM text models and ``meta.json``, see
        ``hwnas.predictors.artifacts``) and return it. Unlike other kinds it writes into
        a non-empty directory unless ``overwrite=False`` (``hwnas kernels build --force``
        relies on it)."""
        from hwnas.predictors.artifacts import save_predictor

        return save_predictor(self, directory, overwrite=overwrite)

    def _state(self) -> dict[str, Any]:
        models = {
            name: {
                "cost_model": [float(c) for c in coef],
                "file": None if booster is None else f"{name}.txt",
            }
            for name, (coef, booster) in self.models_.items()
        }
        return {
            **self.summary(),
            "seed": self.seed,
            "min_samples": self.min_samples,
            "rounds": self.rounds,
            "generic_features": list(GENERIC_FEATURES),
            "sampled_kinds": list(SAMPLED_KINDS),
            "models": models,
            "context": getattr(self, "context_", None),
            "incontext": None
            if getattr(self, "incontext_", None) is None
            else {
                "file": INCONTEXT_FILE,
                "floor_ms": self.incontext_.floor_ms,
                "domain": self.incontext_.domain_,
            },
        }

    def _write_files(self, directory: Path) -> list[str]:
        names = []
        for name, (_, booster) in self.models_.items():
            if booster is not None:
                (directory / f"{name}.txt").write_text(booster.model_to_string(), encoding="utf-8")
                names.append(f"{name}.txt")
        if getattr(self, "incontext_", None) is not None:
            (directory / INCONTEXT_FILE).write_text(self.incontext_.to_text(), encoding="utf-8")
            names.append(INCONTEXT_FILE)
        return names

    @classmethod
    def _artifact_problems(
        cls, meta: Mapping[str, Any], space: SearchSpace | None, directory: Path
    ) -> list[tuple[str, bool]]:
        state = meta["state"] if isinstance(meta["state"], Mapping) else {}
        if list(meta["feature_names"]) != list(FEATURE_NAMES) or list(
            state.get("generic_features") or ()
        ) != list(GENERIC_FEATURES):
            return [(_feature_set_changed(directory), False)]
        if not isinstance(state.get("models"), Mapping) or GENERIC not in state["models"]:
            return [(f"{directory} has no generic regressor; build the predictor again", False)]
        return []

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> KernelPredictor:
        state = meta["state"]
        self = cls._from_state(state, directory, space=space)
        self.origin_ = Origin.from_dict(meta.get("origin"))
        self.training_hash_ = str(meta["training_set"]["hash"])
        self.n_train_ = int(meta["training_set"]["n"])
        self.validation_ = dict(meta.get("validation") or {})
        return self

    @classmethod
    def _from_state(
        cls, state: Mapping[str, Any], path: Path, *, space: SearchSpace | None
    ) -> KernelPredictor:
        """A fitted predictor from the numbers both formats keep alike (``state`` of the
        predictor format, the whole ``meta.json`` of the older one)."""
        self = cls(
            seed=int(state.get("seed", 0)),
            min_samples=int(state.get("min_samples", 8)),
            rounds=int(state.get("rounds", 150)),
            space=space,
        )
        self.models_ = {
            name: (_cost_model(entry, name, path), _booster(entry, path))
            for name, entry in state["models"].items()
        }
        self.training_ = dict(state.get("kinds") or {})
        self.device_, self.fingerprint_ = str(state["device"]), str(state["fingerprint"])
        self.overhead_model_ms_ = float(state["overhead"]["model_ms"])
        self.overhead_kernel_ms_ = float(state["overhead"]["kernel_ms"])
        self.profiler_node_ms_ = float(state["overhead"].get("profiler_node_ms", 0.0))
        self.feature_names_ = list(FEATURE_NAMES)
        context = state.get("context")
        self.context_ = dict(context) if isinstance(context, Mapping) else None
        self.incontext_ = _incontext(state.get("incontext"), path)
        self.llc_kb_ = _llc_kb(state.get("llc_kb"), path)
        return self

    @classmethod
    def _load_legacy(
        cls,
        directory: Path,
        meta: Mapping[str, Any],
        *,
        space: SearchSpace | None,
        device: str | None,
        fingerprint: str | None,
        force: bool,
    ) -> KernelPredictor:
        """A directory ``hwnas kernels build`` wrote before the one predictor format,
        checked as it always was (``force`` does not apply)."""
        _check_legacy_meta(directory, meta)
        for key, want in (("device", device), ("fingerprint", fingerprint)):
            if want is not None and meta.get(key) != want:
                raise ArtifactError(
                    f"{directory} predicts for {key} {meta.get(key)!r}, not {want!r}; build "
                    f"one for it with `hwnas kernels build --device ...`"
                )
        for entry in meta["models"].values():
            if entry.get("file"):
                _check_legacy_hash(directory, entry)
        self = cls._from_state(meta, directory, space=space)
        self.origin_ = Origin(device=self.device_, fingerprint=self.fingerprint_)
        self.training_hash_ = ""
        self.n_train_ = sum(int(r.get("n", 0)) for k, r in self.training_.items() if k != GENERIC)
        self.validation_ = _validation(self.training_)
        return self

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        device: str | None = None,
        fingerprint: str | None = None,
    ) -> KernelPredictor:
        """Read a kernel predictor directory (either format); refuse one that is
        incomplete, tampered with, of another format or feature set, of another kind, or
        (when given) of another device or fingerprint. ``hwnas.load_predictor`` reads it
        too."""
        from hwnas.predictors.artifacts import load_predictor

        path = Path(directory)
        if not path.is_dir():
            raise ArtifactError(
                f"{path} is not a kernel predictor directory (it does not exist or "
                f"is a file); build one with `hwnas kernels build -o {path}`"
            )
        predictor = load_predictor(path, device=device, fingerprint=fingerprint)
        if not isinstance(predictor, cls):
            raise ArtifactError(
                f"{path} holds a {predictor.kind} predictor, not a kernel predictor; pass a "
                f"directory written by `hwnas kernels build`"
            )
        return predictor


def _relative_error(report: Mapping[str, Any]) -> float:
    """A kind's cross-validated relative error (0 where it was not cross-validated)."""
    mape = report.get("cv_mape")
    return 0.0 if mape is None else max(float(mape), 0.0) / 100.0


def _validation(training: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The kinds' cross-validated MAPE, weighted by their samples, and the shares of
    kernels within ±5% / ±10% (kinds not cross-validated are left out; the generic model,
    trained on all, too). The MAPE is a mean over kernels whose own time, the overheads
    taken off, can be a few microseconds: a handful of those dominate it, so the shares
    say more (predictors built before the shares were kept have the MAPE alone)."""
    kinds = [r for k, r in training.items() if k != GENERIC and r.get("cv_mape") is not None]
    scored = [(int(r["n"]), float(r["cv_mape"])) for r in kinds]
    n = sum(count for count, _ in scored)
    if not n:
        return {}
    shares = {
        key: sum(int(r["n"]) * float(r[f"cv_{key}"]) for r in kinds) / n
        for key in ("within_5", "within_10")
        if all(r.get(f"cv_{key}") is not None for r in kinds)
    }
    return {
        "n": n,
        "mape": sum(count * mape for count, mape in scored) / n,
        **shares,
        "method": "5-fold cross-validation of each kind's model (kernel's own latency)",
    }


def _feature_set_changed(path: Path) -> str:
    return (
        f"{path} was built with another kernel feature set than this hwnas "
        f"uses; build the predictor again (the measurements are reused)"
    )


def _cost_model(entry: Mapping[str, Any], name: str, path: Path) -> np.ndarray:
    coef = np.asarray(entry["cost_model"], dtype=np.float64)
    if (
        coef.ndim != 1
        or len(coef) < 4
        or len(coef) % 2
        or not np.all(np.isfinite(coef))
        or np.any(coef[:4] < 0)
    ):
        raise ArtifactError(
            f"{path}/meta.json has a bad cost model for {name!r}; build the predictor again"
        )
    return coef


def _booster(entry: Mapping[str, Any], path: Path) -> Any:
    import lightgbm as lgb

    if not entry.get("file"):
        return None
    from hwnas.predictors.artifacts import lightgbm_model_text

    file = path / str(entry["file"])
    if not file.is_file():
        raise ArtifactError(
            f"{path} is incomplete: {entry['file']} is missing; build the predictor again"
        )
    try:
        return lgb.Booster(model_str=lightgbm_model_text(file, fix="build the predictor again"))
    except (lgb.basic.LightGBMError, ValueError) as exc:
        raise ArtifactError(
            f"{file} is not a readable LightGBM text model ({exc}); build the predictor again"
        ) from None


def _feature_rows(kernels: Sequence[Kernel]) -> np.ndarray:
    """The kernels' feature vectors as rows (``(0, n)`` for no kernels)."""
    if not kernels:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.vstack([kernel_features(k) for k in kernels])


def _llc_kb(value: Any, path: Path) -> int | None:
    """The saved last-level cache size in KiB (``state["llc_kb"]``): None where it was not
    known (or the predictor was saved before it was recorded), else a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArtifactError(
            f"{path}/meta.json has a bad last-level cache size (llc_kb {value!r}); "
            "build the predictor again"
        )
    return value


def _incontext(entry: Any, path: Path) -> Any:
    """The saved in-context correction (``state["incontext"]``), or None."""
    if not isinstance(entry, Mapping):
        return None
    from hwnas.predictors.kernel_incontext import InContextCorrection

    floor = entry.get("floor_ms")
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not floor > 0:
        raise ArtifactError(
            f"{path}/meta.json has a bad in-context correction (floor_ms {floor!r}); "
            "build the predictor again"
        )
    domain = entry.get("domain")
    if domain is not None and not _domain_ok(domain):
        raise ArtifactError(
            f"{path}/meta.json has a bad in-context correction (domain {domain!r}); "
            "build the predictor again"
        )
    return InContextCorrection.from_booster(
        _booster(entry, path),
        floor_ms=float(floor),
        domain=None if domain is None else dict(domain),
    )


def _domain_ok(domain: Any) -> bool:
    """Whether a saved applicability (``kernel_incontext.applicability``) has, per op, a
    numeric median and the values seen of every guarded column."""
    from hwnas.predictors.kernel_incontext import GUARDED

    return isinstance(domain, Mapping) and all(
        isinstance(e, Mapping)
        and isinstance(e.get("median"), int | float)
        and isinstance(e.get("seen"), Mapping)
        and all(isinstance(e["seen"].get(name), list) for name in GUARDED)
        for e in domain.values()
    )


def _check_legacy_hash(path: Path, entry: Mapping[str, Any]) -> None:
    file = path / str(entry["file"])
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        raise ArtifactError(
            f"{path} is incomplete: {entry['file']} is missing; build the predictor again"
        ) from None
    if _sha256(text) != entry.get("sha256"):
        raise ArtifactError(
            f"{file} does not match the hash in meta.json (edited or corrupt); build the "
            f"predictor again"
        )


def _check_legacy_meta(path: Path, meta: Mapping[str, Any]) -> None:
    """The checks of a ``hwnas-kernel-predictor`` directory's ``meta.json``."""
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {meta.get('format_version')!r}; this "
            f"hwnas reads {FORMAT_VERSION}. Build the predictor again."
        )
    if meta.get("feature_names") != list(FEATURE_NAMES) or meta.get("generic_features") != list(
        GENERIC_FEATURES
    ):
        raise ArtifactError(_feature_set_changed(path))
    for key in ("device", "fingerprint", "overhead", "models"):
        if key not in meta:
            raise ArtifactError(f"{path}/meta.json lacks {key!r}; build the predictor again")
    if not isinstance(meta["models"], dict) or GENERIC not in meta["models"]:
        raise ArtifactError(f"{path} has no generic regressor; build the predictor again")


def is_kernel_predictor(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` claims to hold a kernel predictor, in either format (for
    commands that accept several predictor types and dispatch on it);
    :meth:`KernelPredictor.load` checks it."""
    try:
        meta = json.loads((Path(directory) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict):
        return False
    return meta.get("format") == FORMAT or (
        meta.get("format") == "hwnas-predictor" and meta.get("kind") == KernelPredictor.kind
    )
