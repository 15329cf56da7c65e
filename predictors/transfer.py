"""Few-shot transfer: a predictor for device B from a predictor for device A and k
measurements on B.

The base predictor's output is a feature: ``z = log(prediction on A)``. Three
corrections map it to B, all fit on ``log`` of B's values:

- ``linear``: ``a + b z`` (least squares). Enough when B is A, slower or faster.
- ``isotonic``: a non-decreasing step function of ``z`` (keeps A's ranking).
- ``ridge`` (default): ``a + b z + w . s``, where ``s`` are the few summary features
  of the space (FLOPs and parameters; for NAS-Bench-201 also the op counts under each
  execution rule) standardised, with a ridge penalty. The penalty and how much to
  trust ``z`` (its own penalty: light, equal, or none of it) are chosen by k-fold
  cross-validation, so a base device that ranks architectures differently from B is
  discounted rather than trusted.

Intervals come from the out-of-fold residuals (their ``quantiles``), and the reported
validation metrics are out-of-fold too. The base predictor travels with the artifact
as ``base/``.

The base may be a set of several (:class:`hwnas.predictors.zoo.BaseSet`: the device zoo
of ``zoo_bases()``, or predictor directories of your own). ``fit`` then first chooses
among them from the same measurements (each base fitted alone and weighted by its
leave-one-out error) and ``z`` is the log of that blend; ``base_choice`` says which bases
were used and why, and only those travel in ``base/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import isotonic_regression

from hwnas.errors import ParameterError
from hwnas.predictors import metrics
from hwnas.predictors.base import (
    FeaturePredictor,
    Interval,
    Origin,
    Predictor,
    check_metric,
    check_training_data,
    log_residual_interval,
    training_hash,
)
from hwnas.predictors.errors import ArtifactError
from hwnas.predictors.registry import register_predictor
from hwnas.spaces import SearchSpace

CORRECTIONS = ("ridge", "linear", "isotonic")
#: Fewest measurements on the new device that ``fit`` accepts.
MIN_ROWS = 3
#: The ridge penalties tried, and the factors of the penalty on ``z`` (1e6: ignore A).
RIDGE_GRID = tuple(float(v) for v in np.logspace(-3, 4, 15))
Z_PENALTY_FACTORS = (0.01, 1.0, 1e6)
#: With a set of bases: the penalties on the summary features tried (1e9: none of them),
#: z unpenalised (chosen on development seeds 100-104 of ``benchmarks/zoo.py``).
SET_RIDGE_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 1e9)
#: With a set of bases the correction is fitted with the Huber loss of this threshold on
#: the log, as each base is (``hwnas.predictors.zoo.HUBER``): a near-zero measurement (a
#: disconnected cell in the public Raspberry Pi table) must not tilt it.
SET_HUBER = 0.1
_TINY = 1e-12


@register_predictor("transfer")
class TransferPredictor(FeaturePredictor):
    """A predictor for a new device: ``base``'s prediction corrected by a few measurements.

    Keyword-only arguments: ``base`` (a fitted predictor of features: LightGBM or
    another transfer), ``metric``
    (default: the base's), ``correction`` (one of :data:`CORRECTIONS`), ``seed`` (the
    cross-validation folds) and ``quantiles`` (the interval's nominal quantiles).
    """

    kind: ClassVar[str] = "transfer"
    #: Fewest measurements on the new device that ``fit`` accepts.
    min_rows: ClassVar[int] = MIN_ROWS

    coef_: np.ndarray
    intercept_: float
    mean_: np.ndarray
    scale_: np.ndarray
    lambda_: float
    z_penalty_: float
    knots_: tuple[np.ndarray, np.ndarray]
    residual_interval_: tuple[float, float]
    target_offset_: float

    def __init__(
        self,
        *,
        base: FeaturePredictor,
        metric: str | None = None,
        correction: str = "ridge",
        seed: int = 0,
        quantiles: tuple[float, float] = (0.1, 0.9),
    ) -> None:
        if not isinstance(base, Predictor):
            raise ParameterError("base", f"must be a Predictor, got {type(base).__name__}")
        if not isinstance(base, FeaturePredictor):
            raise ParameterError(
                "base",
                f"must be a predictor of features (lightgbm or transfer), got a {base.kind} "
                f"predictor",
            )
        if correction not in CORRECTIONS:
            raise ParameterError(
                "correction", f"must be one of {', '.join(CORRECTIONS)}, got {correction!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ParameterError("seed", f"must be an int >= 0, got {seed!r}")
        low, high = quantiles
        if not 0.0 < low < high < 1.0:
            raise ParameterError("quantiles", f"must satisfy 0 < low < high < 1, got {quantiles!r}")
        self.base = base
        self.space = base.space
        self.metric = check_metric(metric if metric is not None else base.metric)
        self.correction = correction
        self.seed = seed
        self.quantiles = (float(low), float(high))

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("coef_", "intercept_", "residual_interval_", "feature_names_")

    def _source(self) -> FeaturePredictor:
        """The predictor whose log is ``z``: the base, or the blend ``fit`` chose from a
        set of bases."""
        chosen: FeaturePredictor | None = getattr(self, "blend_", None)
        return self.base if chosen is None else chosen

    @property
    def base_choice(self) -> dict[str, Any] | None:
        """With a set of bases: which were used, with what weight and why (the blend's
        ``choice_``, JSON-ready); None for a transfer from one base."""
        chosen = getattr(self, "blend_", None)
        return None if chosen is None else dict(chosen.choice_)

    # -- the correction -----------------------------------------------------------------

    def _design(self, features: np.ndarray, source: FeaturePredictor | None = None) -> np.ndarray:
        """Columns ``[z, summary features...]`` (``linear``/``isotonic`` use only ``z``);
        ``z`` is the log of ``source``'s prediction (default :meth:`_source`)."""
        found = (source or self._source()).predict_batch(features)
        z = np.log(np.maximum(found, _TINY))
        if self.correction != "ridge":
            return z[:, None]
        return np.hstack([z[:, None], features[:, self.features.summary_columns()]])

    @staticmethod
    def _ridge(
        design: np.ndarray, target: np.ndarray, lam: float, z_factor: float, huber: float = 0.0
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Ridge on the standardised design (the intercept unpenalised); with ``huber`` > 0
        the Huber loss of that threshold (iteratively reweighted least squares)."""
        mean = design.mean(axis=0)
        scale = design.std(axis=0)
        scale[scale == 0] = 1.0
        z = (design - mean) / scale
        penalty = np.ones(design.shape[1])
        penalty[0] = z_factor
        weights = np.ones_like(target)
        for _ in range(8 if huber > 0 else 1):
            centre = float(np.average(target, weights=weights))
            zc = z - np.average(z, axis=0, weights=weights)
            gram = (zc * weights[:, None]).T @ zc + lam * np.diag(penalty)
            rhs = (zc * weights[:, None]).T @ (target - centre)
            coef = np.linalg.solve(gram + 1e-12 * np.eye(gram.shape[0]), rhs)
            intercept = centre - float(np.average(z, axis=0, weights=weights) @ coef)
            residual = target - intercept - z @ coef
            weights = np.minimum(1.0, huber / np.maximum(np.abs(residual), 1e-12))
        return intercept, coef, mean, scale

    @staticmethod
    def _isotonic(z: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(z, kind="stable")
        fitted = isotonic_regression(target[order]).x
        knots, inverse = np.unique(z[order], return_inverse=True)
        values = np.bincount(inverse, weights=fitted) / np.bincount(inverse)
        return knots, values

    def _fit_once(
        self, design: np.ndarray, target: np.ndarray, lam: float, z_factor: float
    ) -> dict[str, Any]:
        if self.correction == "isotonic":
            return {"knots": self._isotonic(design[:, 0], target)}
        huber = SET_HUBER if getattr(self, "blend_", None) is not None else 0.0
        intercept, coef, mean, scale = self._ridge(design, target, lam, z_factor, huber)
        return {"intercept": intercept, "coef": coef, "mean": mean, "scale": scale}

    @staticmethod
    def _apply(model: Mapping[str, Any], design: np.ndarray) -> np.ndarray:
        if "knots" in model:
            knots, values = model["knots"]
            return np.interp(design[:, 0], knots, values)
        scaled = (design - model["mean"]) / model["scale"]
        return np.asarray(model["intercept"] + scaled @ model["coef"])

    def fit(
        self,
        archs: Sequence[str],
        y: Sequence[float] | np.ndarray,
        *,
        origin: Origin | None = None,
    ) -> TransferPredictor:
        """Fit the correction on ``y`` measured on the new device (at least 3 rows); return
        self."""
        arch_list, values = check_training_data(archs, y, min_rows=MIN_ROWS)
        origin = origin or Origin()
        self.__dict__.pop("blend_", None)
        if getattr(self.base, "kind", None) == "weighted_bases":
            # Choose among the bases from these measurements; the blend becomes z.
            self.blend_ = self.base.clone().fit(arch_list, values, origin=origin)
        else:
            self.base.check_is_fitted()
        given = arch_list
        arch_list = self._in_form(arch_list, origin.arch_form)
        features = self.features.matrix(arch_list)
        positive = values[values > 0]
        offset = (
            0.0
            if positive.size == values.size
            else float(1e-3 * np.median(positive) if positive.size else 1e-6)
        )
        target = np.log(values + offset)
        design = self._design(features)
        n = values.size
        lam, zf, oof = self._select(design, target)
        self._keep(self._fit_once(design, target, lam, zf))
        method = f"{min(n, 10)}-fold cross-validation"
        if getattr(self, "blend_", None) is not None and n - math.ceil(n / 10) >= MIN_ROWS:
            oof = self._oof_with_choice(given, values, origin, features, target, lam, zf)
            method += ", the choice of bases redone in each fold"
        low, high = np.quantile(target - oof, self.quantiles)
        self.lambda_ = float(lam)
        self.z_penalty_ = float(zf)
        self.residual_interval_ = (min(float(low), 0.0), max(float(high), 0.0))
        self.target_offset_ = offset
        self.validation_ = {
            **metrics.report(values, np.maximum(np.exp(oof) - offset, 0.0)),
            "method": method,
        }
        self.training_hash_ = training_hash(arch_list, values)
        self.n_train_ = n
        self.origin_ = origin
        self.feature_names_ = list(self._source().feature_names_)
        self._forget_table()
        return self

    def _oof_with_choice(
        self,
        archs: Sequence[str],
        values: np.ndarray,
        origin: Origin,
        features: np.ndarray,
        target: np.ndarray,
        lam: float,
        z_factor: float,
    ) -> np.ndarray:
        """Out-of-fold log predictions (the folds of :meth:`_select`) with the choice of
        bases redone on each fold's training rows, so that neither the choice nor the
        correction saw the rows they are scored on: the honest validation and intervals."""
        n = target.size
        folds = np.random.default_rng(self.seed).permutation(n) % min(n, 10)
        found = np.empty(n)
        for f in np.unique(folds):
            test = folds == f
            kept = [a for a, held in zip(archs, test, strict=True) if not held]
            blend = self.base.clone().fit(kept, values[~test], origin=origin)
            design = self._design(features, blend)
            model = self._fit_once(design[~test], target[~test], lam, z_factor)
            found[test] = self._apply(model, design[test])
        return found

    def _select(self, design: np.ndarray, target: np.ndarray) -> tuple[float, float, np.ndarray]:
        """The ridge penalty and ``z`` factor with the lowest out-of-fold error (seeded
        folds, at most 10), and the out-of-fold log predictions they give."""
        n = target.size
        folds = np.random.default_rng(self.seed).permutation(n) % min(n, 10)

        def out_of_fold(lam: float, z_factor: float) -> np.ndarray:
            found = np.empty(n)
            for f in np.unique(folds):
                test = folds == f
                model = self._fit_once(design[~test], target[~test], lam, z_factor)
                found[test] = self._apply(model, design[test])
            return found

        if self.correction == "ridge" and getattr(self, "blend_", None) is not None:
            # A blend chosen from these rows: z is trusted (no penalty on it), the summary
            # features only correct it, with penalties strong enough for k = 5..50 rows.
            candidates = [(lam, 0.0) for lam in SET_RIDGE_GRID]
        elif self.correction == "ridge":
            candidates = [(lam, zf) for zf in Z_PENALTY_FACTORS for lam in RIDGE_GRID]
        else:
            candidates = [(1e-9, 1.0)]
        best: tuple[float, float, float, np.ndarray] | None = None
        for lam, zf in candidates:
            oof = out_of_fold(lam, zf)
            error = float(np.mean(np.abs(oof - target)))
            if best is None or error < best[0] - 1e-12:
                best = (error, lam, zf, oof)
        assert best is not None
        return best[1], best[2], best[3]

    def _keep(self, model: Mapping[str, Any]) -> None:
        """Set the fitted correction from what ``_fit_once`` returned."""
        self.intercept_ = float(model.get("intercept", 0.0))
        self.coef_ = np.asarray(model.get("coef", np.zeros(0)), dtype=np.float64)
        self.mean_ = np.asarray(model.get("mean", np.zeros(0)), dtype=np.float64)
        self.scale_ = np.asarray(model.get("scale", np.zeros(0)), dtype=np.float64)
        knots = model.get("knots", (np.zeros(0), np.zeros(0)))
        self.knots_ = (
            np.asarray(knots[0], dtype=np.float64),
            np.asarray(knots[1], dtype=np.float64),
        )

    # -- prediction ----------------------------------------------------------------------

    def _model(self) -> dict[str, Any]:
        if self.correction == "isotonic":
            return {"knots": self.knots_}
        return {
            "intercept": self.intercept_,
            "coef": self.coef_,
            "mean": self.mean_,
            "scale": self.scale_,
        }

    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        x = self._check_features(features)
        if x.shape[0] == 0:
            return np.zeros(0)
        log_value = self._apply(self._model(), self._design(x))
        return np.maximum(np.exp(log_value) - self.target_offset_, 0.0)

    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        value = self.predict_batch(features)
        return log_residual_interval(value, self.target_offset_, self.residual_interval_)

    # -- artifact hooks ----------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        self.check_is_fitted()
        return {
            "correction": self.correction,
            "seed": self.seed,
            "quantiles": list(self.quantiles),
            "intercept": self.intercept_,
            "coef": self.coef_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "knots": [self.knots_[0].tolist(), self.knots_[1].tolist()],
            "lambda": self.lambda_,
            "z_penalty": self.z_penalty_,
            "residual_interval": list(self.residual_interval_),
            "target_offset": self.target_offset_,
            "base": {
                "kind": self._source().kind,
                "device": self._source().origin_.device,
                "fingerprint": self._source().origin_.fingerprint,
            },
            "base_choice": self.base_choice,
        }

    def _write_files(self, directory: Path) -> list[str]:
        from hwnas.predictors.artifacts import META, save_predictor

        save_predictor(self._source(), directory / "base")
        return [f"base/{META}"]

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> TransferPredictor:
        from hwnas.predictors.artifacts import load_predictor

        state = meta["state"]
        base = load_predictor(
            directory / "base", space=cls._saved_space(space, directory), force=force
        )
        if not isinstance(base, FeaturePredictor):
            raise ArtifactError(
                f"{directory / 'base'} holds a {base.kind} predictor, but a transfer needs a "
                f"predictor of features; retrain the predictor"
            )
        low_q, high_q = (float(q) for q in state["quantiles"])
        new = cls(
            base=base,
            metric=meta["metric"],
            correction=state["correction"],
            seed=int(state["seed"]),
            quantiles=(low_q, high_q),
        )
        new.intercept_ = float(state["intercept"])
        new.coef_ = np.asarray(state["coef"], dtype=np.float64)
        new.mean_ = np.asarray(state["mean"], dtype=np.float64)
        new.scale_ = np.asarray(state["scale"], dtype=np.float64)
        new.knots_ = (
            np.asarray(state["knots"][0], dtype=np.float64),
            np.asarray(state["knots"][1], dtype=np.float64),
        )
        new.lambda_ = float(state["lambda"])
        new.z_penalty_ = float(state["z_penalty"])
        low, high = state["residual_interval"]
        new.residual_interval_ = (float(low), float(high))
        new.target_offset_ = float(state["target_offset"])
        new.validation_ = dict(meta.get("validation") or {})
        new.training_hash_ = str(meta["training_set"]["hash"])
        new.n_train_ = int(meta["training_set"]["n"])
        new.origin_ = Origin.from_dict(meta.get("origin"))
        new.feature_names_ = list(meta["feature_names"])
        if base.kind == "weighted_bases":
            new.blend_ = base
        return new


__all__ = ["CORRECTIONS", "MIN_ROWS", "TransferPredictor"]
