"""LightGBM predictors: gradient-boosted trees on a space's features, with intervals.

What makes them good (measured in ``benchmarks/predictors.py``):

- The target is ``log(value)``: latency is multiplicative in its causes and errors
  that matter are relative. The loss is Huber with ``alpha = 0.1`` on the log, i.e.
  squared error up to about 10% and absolute beyond: a few wild measurements (the
  public Raspberry Pi table has near-zero and doubled values) do not drag the fit.
- Early stopping on a seeded validation split picks the number of trees; the point
  model is then refit on all rows with that many trees scaled up by the share of rows
  held out, so no measurement is wasted. The reported validation metrics come from the
  model before the refit, which never saw the validation rows.
- Small trees (7 leaves, at least 3 rows a leaf) and a learning rate of 0.05: a few
  hundred measurements are the common case.
- A cost model first, where the space's feature set has cost columns (``chain``: work
  per segment and kind of operation; ``nb201``: the op counts under each execution
  rule; see ``FeatureSet.cost_names``): a non-negative weighted sum of them plus a
  constant, fitted for relative error (NNLS on the training split, robust to a few
  glitched measurements: ``_fit_cost_model``). The trees then learn log(value / cost
  model), with the cost model's log as one more feature. Trees alone approximate a sum
  of many small terms in steps; the sum gets the additive structure right and the trees
  what it misses (cache effects, fusion, per-call overhead).
- Intervals: two quantile models (by default 0.1 and 0.9), conformally calibrated
  (CQR: widened or narrowed by a quantile of the conformity scores), so that the nominal
  share of held-out values falls inside. Each interval also contains its point
  prediction. With fewer than :data:`CROSS_CONFORMAL_BELOW` calibration rows (a few
  hundred measurements) the split's handful of scores makes the interval far too wide
  (a 10-row split takes its second-largest score: 80% intervals covered 93-100% of
  held-out NB201 cells at 100 training rows); there the scores come out of fold from
  :data:`CROSS_FOLDS` folds of whole classes over every row (cross-conformal), and both
  quantile models are refitted on every row like the point model.

Models are saved in LightGBM's text format only (see ``hwnas.predictors.artifacts``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightgbm as lgb
import numpy as np
from scipy.optimize import nnls

from hwnas.errors import ParameterError
from hwnas.predictors import metrics
from hwnas.predictors.base import (
    FeaturePredictor,
    Interval,
    Origin,
    check_metric,
    check_training_data,
    training_hash,
)
from hwnas.predictors.errors import ArtifactError, PredictorError
from hwnas.predictors.registry import register_predictor
from hwnas.spaces import SearchSpace, resolve_space

#: LightGBM parameters of every model; ``params=`` overrides or adds to them.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "huber",
    "alpha": 0.1,
    "metric": "l1",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 3,
    "min_data_in_bin": 1,
    "feature_pre_filter": False,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
#: Parameters fit() sets itself; passing them in ``params`` is an error.
_RESERVED = {"seed", "num_threads", "num_iterations", "num_boost_round", "n_estimators"}
#: Fewest training rows accepted (3 or more are held out for validation).
MIN_ROWS = 10
MODEL_FILES = ("model.txt", "quantile_low.txt", "quantile_high.txt")
#: Intervals are calibrated out of fold over every row (cross-conformal) when the
#: calibration split would have fewer rows than this; on the split itself otherwise.
CROSS_CONFORMAL_BELOW = 200
#: Folds of the cross-conformal calibration.
CROSS_FOLDS = 5
#: How intervals may be calibrated (``interval_calibration=``).
CALIBRATIONS = ("auto", "split", "cross")
#: The device's lookup table, saved beside the models when one is a feature.
TABLE_FILE = "lookup_table.json"
#: The trees' extra feature when a cost model runs first: the log of its prediction.
COST_FEATURE = "cost_model_log"
#: Cost-model predictions are kept above this share of the training median.
COST_FLOOR = 1e-3
#: The cost model is refitted without rows whose log error under the fit before is more
#: than this many robust standard deviations (1.4826 x the median absolute deviation)
#: from the median, at most :data:`COST_REFITS` times.
COST_TRIM = 3.0
COST_REFITS = 3


def _read_block_table(directory: Path, state: Mapping[str, Any], space: SearchSpace) -> Any:
    """The lookup table saved with a predictor, or None if it was trained without one."""
    if not state.get("block_table"):
        return None
    from hwnas.predictors.lut import read_table

    try:
        return read_table(directory / str(state["block_table"]), space=space)
    except PredictorError as exc:
        raise ArtifactError(f"{exc.message}; retrain the predictor") from None


def _fit_cost_model(costs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Non-negative weights of ``costs``' columns and a non-negative constant (last) that
    minimise the squared *relative* error against ``values`` (all > 0), robustly: fitted
    first for absolute error, then for relative error up to :data:`COST_REFITS` times
    (at least once, until the rows kept stop changing), each time without the rows whose
    log error under the fit before lies more than :data:`COST_TRIM` robust standard
    deviations from the median (all rows where that would leave too few to fit). A
    relative error is divided by the measured value, so a few glitched measurements near
    zero (a public Raspberry Pi table has connected cells at 0.01-0.3 ms among cells of
    8-60) would otherwise set the whole fit: every price 0, the constant their value."""
    weights = _nnls(costs, values, relative=False)  # glitches near 0 weigh little
    keep: np.ndarray | None = None
    for _ in range(COST_REFITS):
        fitted = costs @ weights[:-1] + weights[-1]
        error = np.log(np.maximum(fitted, 1e-300) / values)
        off = np.abs(error - np.median(error))
        inside = off <= COST_TRIM * 1.4826 * np.median(off)
        if inside.sum() <= costs.shape[1]:  # too few left to fit: keep every row
            inside[:] = True
        if keep is not None and np.array_equal(inside, keep):
            break
        keep = inside
        weights = _nnls(costs[keep], values[keep])
    return weights


def _nnls(costs: np.ndarray, values: np.ndarray, relative: bool = True) -> np.ndarray:
    """NNLS of the rows divided by their values (``relative``; else as they are), columns
    scaled to at most 1 for conditioning; the weights of ``costs``' columns, then the
    constant."""
    design = np.column_stack([costs, np.ones(costs.shape[0])])
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    rows = values[:, None] if relative else 1.0
    target = np.ones(values.size) if relative else values
    weights, _ = nnls(design / scale / rows, target, maxiter=50 * design.shape[1])
    return np.asarray(weights / scale, dtype=np.float64)


class _Rows:
    """The trees' inputs and log targets of every training row, as LightGBM datasets."""

    def __init__(self, x: np.ndarray, target: np.ndarray, names: list[str]) -> None:
        self.x, self.target, self.names = x, target, names

    def dataset(self, rows: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            self.x[rows],
            self.target[rows],
            feature_name=self.names,
            reference=reference,
            params={"min_data_in_bin": 1, "feature_pre_filter": False, "verbose": -1},
            free_raw_data=False,
        )


#: How ``validation_`` was scored (shown by ``predictor train`` and ``show``).
VALIDATION_METHOD = "held-out classes, apart from early stopping and calibration"


def held_out(
    groups: Sequence[str], fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row indices for training, early stopping, interval calibration and the reported
    validation score: disjoint, each of whole groups (equivalence classes, so no held-out
    row has a functionally identical twin in training), about ``fraction`` of the rows
    held out in all and shared in thirds between the three uses, chosen by ``seed``.
    At least 5 rows train; each held-out part has a row (one part may lend its rows to
    another when there are too few groups)."""
    n = len(groups)
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    order = np.random.default_rng(seed).permutation(len(members))
    names = list(members)
    want = min(max(3, math.ceil(fraction * n)), n - 5)
    parts: list[list[int]] = [[], [], []]
    taken = 0
    for k in order:
        rows = members[names[k]]
        if (taken + len(rows) > want and taken >= 3) or n - taken - len(rows) < 5:
            continue
        if taken >= want:
            break
        part = min(range(3), key=lambda p: len(parts[p]))
        parts[part].extend(rows)
        taken += len(rows)
    if not any(parts):  # a few huge groups: split rows, as there is nothing else to do
        rows = [int(i) for i in np.random.default_rng(seed).permutation(n)[:want]]
        parts = [rows[p::3] for p in range(3)]
    for p in range(3):  # too few groups: share another part's rows
        if not parts[p]:
            parts[p] = list(parts[(p + 1) % 3] or parts[(p + 2) % 3])
    held = set().union(*parts)
    train = np.array([i for i in range(n) if i not in held], dtype=np.int64)
    stop, calibrate, score = (np.array(sorted(p), dtype=np.int64) for p in parts)
    return train, stop, calibrate, score


def _lgb_name(name: str) -> str:
    """LightGBM refuses some characters in feature names; the artifact keeps the real ones."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "feature"


@register_predictor("lightgbm")
class LightGBMPredictor(FeaturePredictor):
    """Gradient-boosted trees predicting ``metric`` from ``space``'s features.

    Keyword-only arguments: ``space`` (instance or name), ``metric`` (``latency_ms``,
    ``peak_memory_mb`` or ``energy_mj``), ``seed``, ``validation_fraction`` (share of
    rows held out, whole equivalence classes, in thirds: early stopping, interval
    calibration and the reported ``validation_`` score, each on its own rows),
    ``quantiles`` (the interval's
    nominal low and high quantiles), ``interval_calibration`` (``"auto"``: cross-conformal
    below :data:`CROSS_CONFORMAL_BELOW` calibration rows, else on the split; ``"split"``
    or ``"cross"`` to force one), ``max_rounds``, ``early_stopping_rounds``,
    ``params`` (LightGBM parameters over :data:`DEFAULT_PARAMS`), ``cost_model``
    (fit the feature set's cost columns first, where it has any), ``block_table`` (a
    ``hwnas.predictors.lut.LookupTable`` of the device: its block sum becomes a feature and a
    cost column, and the table is saved with the predictor) and ``n_jobs``
    (threads for training and prediction; 0 lets OpenMP choose). One thread is the
    default: on tables of a few thousand rows it is as fast as two, and OpenMP's
    spinning threads slow training down tenfold when the cores are shared with other
    work. Large prediction batches gain from more threads (the attribute may be changed
    after loading).
    """

    kind: ClassVar[str] = "lightgbm"
    #: Fewest training rows ``fit`` accepts.
    min_rows: ClassVar[int] = MIN_ROWS

    booster_: lgb.Booster
    low_booster_: lgb.Booster
    high_booster_: lgb.Booster
    interval_offset_: float
    interval_method_: str  # how the interval was calibrated (split- or cross-conformal)
    target_offset_: float
    target_center_: float
    best_iteration_: int
    validation_: dict[str, Any]
    training_hash_: str
    n_train_: int
    origin_: Origin
    cost_columns_: list[int]  # the feature columns the cost model sums
    cost_weights_: np.ndarray | None  # per cost column, then the constant; None: no cost model

    def __init__(
        self,
        *,
        space: SearchSpace | str,
        metric: str = "latency_ms",
        seed: int = 0,
        validation_fraction: float = 0.3,
        quantiles: tuple[float, float] = (0.1, 0.9),
        interval_calibration: str = "auto",
        max_rounds: int = 5000,
        early_stopping_rounds: int = 100,
        params: Mapping[str, Any] | None = None,
        cost_model: bool = True,
        block_table: Any = None,
        n_jobs: int = 1,
    ) -> None:
        self.space = resolve_space(space)
        self.metric = check_metric(metric)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError("seed", f"must be an int >= 0, got {seed!r}")
        if not 0.05 <= validation_fraction <= 0.5:
            raise ParameterError(
                "validation_fraction", f"must be in [0.05, 0.5], got {validation_fraction!r}"
            )
        low, high = quantiles
        if not 0.0 < low < high < 1.0:
            raise ParameterError("quantiles", f"must satisfy 0 < low < high < 1, got {quantiles!r}")
        if interval_calibration not in CALIBRATIONS:
            raise ParameterError(
                "interval_calibration",
                f"must be one of {', '.join(CALIBRATIONS)}, got {interval_calibration!r}",
            )
        if max_rounds < 1:
            raise ParameterError("max_rounds", f"must be >= 1, got {max_rounds!r}")
        if early_stopping_rounds < 1:
            raise ParameterError(
                "early_stopping_rounds", f"must be >= 1, got {early_stopping_rounds!r}"
            )
        reserved = sorted(_RESERVED & set(params or {}))
        if reserved:
            raise ParameterError(
                "params", f"must not set {', '.join(reserved)}; use seed=, n_jobs= and max_rounds="
            )
        if n_jobs < 0:
            raise ParameterError("n_jobs", f"must be >= 0, got {n_jobs!r}")
        self.seed = seed
        self.validation_fraction = float(validation_fraction)
        self.quantiles = (float(low), float(high))
        self.interval_calibration = interval_calibration
        self.max_rounds = int(max_rounds)
        self.early_stopping_rounds = int(early_stopping_rounds)
        self.params = dict(params or {})
        self.cost_model = bool(cost_model)
        if block_table is not None and block_table.space.name != self.space.name:
            raise ParameterError(
                "block_table",
                f"is a lookup table of space {block_table.space.name!r}, not "
                f"{self.space.name!r}; build one with `hwnas lut build --space {self.space.name}`",
            )
        self.block_table = block_table
        self.n_jobs = int(n_jobs)

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("booster_", "low_booster_", "high_booster_", "interval_offset_", "feature_names_")

    def _lgb_params(self, **extra: Any) -> dict[str, Any]:
        return {
            **DEFAULT_PARAMS,
            **self.params,
            **extra,
            "seed": self.seed,
            "num_threads": self.n_jobs,
        }

    # -- training --------------------------------------------------------------------------

    def fit(
        self,
        archs: Sequence[str],
        y: Sequence[float] | np.ndarray,
        *,
        origin: Origin | None = None,
    ) -> LightGBMPredictor:
        """Train on measured ``y`` of ``archs`` (at least :data:`MIN_ROWS` rows); return self.

        Raises ``InvalidArchError`` for an architecture not in the space and
        ``ValueError`` for mismatched lengths or values that are not finite and >= 0.
        """
        arch_list, values = check_training_data(archs, y, min_rows=MIN_ROWS)
        origin = origin or Origin()
        arch_list = self._in_form(arch_list, origin.arch_form)
        features = self.features.matrix(arch_list)
        self.target_offset_, self.target_center_ = self._target_transform(values)
        n = values.size
        classes = [self.space.canonical(a) for a in arch_list]
        train, stop, calibrate, score = held_out(classes, self.validation_fraction, self.seed)
        offset = self.target_offset_
        self.cost_columns_ = self.features.cost_columns() if self.cost_model else []
        self.cost_weights_ = (
            _fit_cost_model(features[train][:, self.cost_columns_], values[train] + offset)
            if self.cost_columns_
            else None
        )
        x, baseline = self._tree_inputs(features)
        names = self.features.names
        if self.cost_weights_ is not None:
            names = [*names, COST_FEATURE]
        rows = _Rows(x, np.log(values + offset) - baseline, [_lgb_name(c) for c in names])
        train_set = rows.dataset(train)
        stop_set = rows.dataset(stop, train_set)
        point = self._train(self._lgb_params(), train_set, stop_set)
        best = max(1, point.best_iteration or point.current_iteration())
        scored = self._from_log(
            np.asarray(point.predict(x[score], num_iteration=best)), baseline[score]
        )
        self._fit_intervals(rows, train_set, stop_set, calibrate, classes, train.size)
        # Refit the point model on every row with proportionally more trees.
        rounds = max(1, math.ceil(best * n / train.size))
        self.booster_ = lgb.train(
            self._lgb_params(), rows.dataset(np.arange(n)), num_boost_round=rounds
        )
        self.best_iteration_ = best
        self.validation_ = {
            **metrics.report(values[score], scored),
            "share": self.validation_fraction,
            "method": VALIDATION_METHOD,
            "split": {
                "train": int(train.size),
                "early_stopping": int(stop.size),
                "calibration": int(calibrate.size),
                "scored": int(score.size),
            },
        }
        self.training_hash_ = training_hash(arch_list, values)
        self.n_train_ = n
        self.origin_ = origin
        self.feature_names_ = list(self.features.names)
        self._forget_table()
        return self

    def _fit_intervals(
        self,
        rows: _Rows,
        train_set: lgb.Dataset,
        stop_set: lgb.Dataset,
        calibrate: np.ndarray,
        classes: list[str],
        n_train: int,
    ) -> None:
        """Both quantile models and the conformal offset (``interval_calibration``);
        ``classes``: each row's equivalence class."""
        self.low_booster_, self.high_booster_ = (
            self._train(
                self._lgb_params(objective="quantile", alpha=alpha, metric="quantile"),
                train_set,
                stop_set,
            )
            for alpha in self.quantiles
        )
        cross = self.interval_calibration == "cross" or (
            self.interval_calibration == "auto" and calibrate.size < CROSS_CONFORMAL_BELOW
        )
        if cross:
            self.interval_offset_ = self._calibrate_cross(rows, classes, n_train)
            self.interval_method_ = f"cross-conformal, {CROSS_FOLDS} folds of classes"
        else:
            self.interval_offset_ = self._calibrate_interval(
                rows.x[calibrate], rows.target[calibrate]
            )
            self.interval_method_ = "split-conformal"

    def _target_transform(self, values: np.ndarray) -> tuple[float, float]:
        """(offset, center) of the log target: ``log(value + offset)`` starts at ``center``."""
        positive = values[values > 0]
        if positive.size == 0:
            raise PredictorError(f"every training value of {self.metric} is 0; nothing to learn")
        # log(0) is -inf: shift by a small amount when any value is exactly zero.
        offset = 0.0 if positive.size == values.size else float(1e-3 * np.median(positive))
        # Huber gradients are capped at alpha, so trees would need hundreds of rounds just
        # to climb from 0 to the typical log value: start from the median instead.
        return offset, float(np.median(np.log(values + offset)))

    def _train(
        self, params: dict[str, Any], train_set: lgb.Dataset, val_set: lgb.Dataset
    ) -> lgb.Booster:
        """A model trained with early stopping on ``val_set`` (a fresh callback per model:
        it keeps state)."""
        stop: list[Callable[..., Any]] = [
            lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
        ]
        return lgb.train(
            params,
            train_set,
            num_boost_round=self.max_rounds,
            valid_sets=[val_set],
            callbacks=stop,
        )

    def _calibrate_interval(self, x_val: np.ndarray, target_val: np.ndarray) -> float:
        """Conformalized quantile regression on the validation split (log scale): how much
        to widen (or narrow) both quantile models for the nominal coverage."""
        scores = np.maximum(
            self.low_booster_.predict(x_val) - target_val,
            target_val - self.high_booster_.predict(x_val),
        )
        return self._conformal_quantile(scores)

    def _conformal_quantile(self, scores: np.ndarray) -> float:
        """The finite-sample conformal quantile of ``scores`` for the nominal coverage."""
        n_val = scores.size
        miss = self.quantiles[0] + (1.0 - self.quantiles[1])
        level = min(1.0, math.ceil((n_val + 1) * (1.0 - miss)) / n_val)
        return float(np.quantile(scores, level, method="higher"))

    def _calibrate_cross(self, rows: _Rows, classes: list[str], n_train: int) -> float:
        """Cross-conformal CQR: each row's conformity score from quantile models fitted
        without its class's fold (each with the trees early stopping chose, scaled to the
        rows it sees); then both quantile models refitted on every row the same way.
        Returns the calibration offset."""
        n = len(classes)
        names = sorted(set(classes))
        order = np.random.default_rng(self.seed).permutation(len(names))
        fold_of = {names[k]: i % CROSS_FOLDS for i, k in enumerate(order)}
        folds = np.array([fold_of[c] for c in classes])
        boosters = (self.low_booster_, self.high_booster_)
        best = [max(1, b.best_iteration or b.current_iteration()) for b in boosters]
        params = [
            self._lgb_params(objective="quantile", alpha=alpha, metric="quantile")
            for alpha in self.quantiles
        ]
        scores = np.zeros(n)
        for k in range(CROSS_FOLDS):
            out, keep = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
            if not out.size or not keep.size:
                continue
            low, high = (
                lgb.train(
                    p, rows.dataset(keep), num_boost_round=max(1, round(b * keep.size / n_train))
                )
                for p, b in zip(params, best, strict=True)
            )
            scores[out] = np.maximum(
                low.predict(rows.x[out]) - rows.target[out],
                rows.target[out] - high.predict(rows.x[out]),
            )
        everything = rows.dataset(np.arange(n))
        self.low_booster_, self.high_booster_ = (
            lgb.train(p, everything, num_boost_round=max(1, math.ceil(b * n / n_train)))
            for p, b in zip(params, best, strict=True)
        )
        return self._conformal_quantile(scores)

    def _tree_inputs(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the trees see for ``features`` rows, and the log baseline they correct:
        the cost model's log (also appended as a feature) or the training median's."""
        if self.cost_weights_ is None:
            return features, np.full(features.shape[0], self.target_center_)
        cost = features[:, self.cost_columns_] @ self.cost_weights_[:-1] + self.cost_weights_[-1]
        # A row with no work in any cost column and a zero constant would have log(0).
        baseline = np.log(np.maximum(cost, COST_FLOOR * math.exp(self.target_center_)))
        return np.column_stack([features, baseline]), baseline

    # -- prediction --------------------------------------------------------------------------

    def _from_log(self, log_values: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(log_values + baseline) - self.target_offset_, 0.0)

    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        checked = self._check_features(features)
        if checked.shape[0] == 0:
            return np.zeros(0)
        x, baseline = self._tree_inputs(checked)
        raw = np.asarray(self.booster_.predict(x, num_threads=self.n_jobs))
        return self._from_log(raw, baseline)

    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        checked = self._check_features(features)
        value = self.predict_batch(checked)
        if checked.shape[0] == 0:
            return Interval(value, value.copy(), value.copy())
        x, baseline = self._tree_inputs(checked)
        q = self.interval_offset_
        low = self._from_log(
            np.asarray(self.low_booster_.predict(x, num_threads=self.n_jobs)) - q, baseline
        )
        high = self._from_log(
            np.asarray(self.high_booster_.predict(x, num_threads=self.n_jobs)) + q, baseline
        )
        return Interval(value, np.minimum(low, value), np.maximum(high, value))

    # -- artifact hooks (see hwnas.predictors.artifacts) -------------------------------------------

    def _state(self) -> dict[str, Any]:
        self.check_is_fitted()
        return {
            "target": {
                "transform": "log",
                "offset": self.target_offset_,
                "center": self.target_center_,
            },
            "interval": {
                "quantiles": list(self.quantiles),
                "calibration": self.interval_offset_,
                "method": self.interval_method_,
            },
            "block_table": None if self.block_table is None else TABLE_FILE,
            "cost_model": None
            if self.cost_weights_ is None
            else {
                "columns": [self.feature_names_[i] for i in self.cost_columns_],
                "weights": [float(w) for w in self.cost_weights_[:-1]],
                "constant": float(self.cost_weights_[-1]),
            },
            "training": {
                "seed": self.seed,
                "validation_fraction": self.validation_fraction,
                "interval_calibration": self.interval_calibration,
                "best_iteration": self.best_iteration_,
                "rounds": self.booster_.current_iteration(),
                "max_rounds": self.max_rounds,
                "early_stopping_rounds": self.early_stopping_rounds,
                "params": self._lgb_params(),
            },
        }

    def _write_files(self, directory: Path) -> list[str]:
        self.check_is_fitted()
        boosters = (self.booster_, self.low_booster_, self.high_booster_)
        for name, booster in zip(MODEL_FILES, boosters, strict=True):
            booster.save_model(str(directory / name))
        if self.block_table is None:
            (directory / TABLE_FILE).unlink(missing_ok=True)
            return list(MODEL_FILES)
        self.block_table.write(directory / TABLE_FILE, format="json")
        return [*MODEL_FILES, TABLE_FILE]

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> LightGBMPredictor:
        space = cls._saved_space(space, directory)
        state = meta["state"]
        training = state["training"]
        quantiles = state["interval"]["quantiles"]
        params = {
            k: v
            for k, v in training["params"].items()
            if k not in _RESERVED and DEFAULT_PARAMS.get(k) != v
        }
        new = cls(
            space=space,
            metric=meta["metric"],
            seed=int(training["seed"]),
            validation_fraction=float(training["validation_fraction"]),
            quantiles=(float(quantiles[0]), float(quantiles[1])),
            interval_calibration=str(training.get("interval_calibration", "split")),
            max_rounds=int(training["max_rounds"]),
            early_stopping_rounds=int(training["early_stopping_rounds"]),
            params=params,
            cost_model=state.get("cost_model") is not None,
            block_table=_read_block_table(directory, state, space),
        )
        new.booster_, new.low_booster_, new.high_booster_ = (
            _read_booster(directory / name) for name in MODEL_FILES
        )
        new.interval_offset_ = float(state["interval"]["calibration"])
        new.interval_method_ = str(state["interval"].get("method", "split-conformal"))
        new.target_offset_ = float(state["target"]["offset"])
        new.target_center_ = float(state["target"]["center"])
        new.best_iteration_ = int(training["best_iteration"])
        new.validation_ = dict(meta.get("validation") or {})
        new.training_hash_ = str(meta["training_set"]["hash"])
        new.n_train_ = int(meta["training_set"]["n"])
        new.origin_ = Origin.from_dict(meta.get("origin"))
        new.feature_names_ = list(meta["feature_names"])
        new.cost_columns_, new.cost_weights_ = _read_cost_model(
            state.get("cost_model"), new.feature_names_, directory
        )
        return new


def _read_booster(path: Path) -> lgb.Booster:
    from hwnas.predictors.artifacts import lightgbm_model_text

    fix = "retrain the predictor with `hwnas predictor train`"
    try:
        return lgb.Booster(model_str=lightgbm_model_text(path, fix=fix))
    except (lgb.basic.LightGBMError, ValueError) as exc:
        raise ArtifactError(
            f"{path} is not a readable LightGBM text model ({exc}); {fix}"
        ) from None


def _read_cost_model(
    cost: Mapping[str, Any] | None, feature_names: list[str], directory: Path
) -> tuple[list[int], np.ndarray | None]:
    """(cost columns, weights then constant) from the saved ``cost_model`` state."""
    if cost is None:
        return [], None
    missing = [c for c in cost["columns"] if c not in feature_names]
    if missing or len(cost["weights"]) != len(cost["columns"]):
        raise ArtifactError(
            f"the cost model in {directory / 'meta.json'} names columns that are not "
            f"features ({', '.join(missing[:3]) or 'weights and columns differ'}); "
            f"retrain the predictor with `hwnas predictor train`"
        )
    columns = [feature_names.index(c) for c in cost["columns"]]
    return columns, np.array([*cost["weights"], cost["constant"]], dtype=np.float64)


__all__ = ["COST_FEATURE", "DEFAULT_PARAMS", "MIN_ROWS", "LightGBMPredictor"]
