"""How good a predictor is: error and ranking metrics on measured vs predicted values.

Every function takes ``(measured, predicted)`` in that order, as 1-D sequences of the
same length, and returns a plain ``float`` (``nan`` where a metric is undefined, for
example a rank correlation of fewer than two values or of constant values).
Relative metrics (MAPE, the share within a tolerance) divide by the measured value and
therefore skip measured values of zero; near-zero values (NAS-Bench-201's disconnected
cells) make them meaningless, which is why reports list such groups apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

ArrayLike = Sequence[float] | np.ndarray


def _pair(measured: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(measured, dtype=np.float64).ravel()
    p = np.asarray(predicted, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(
            f"measured and predicted must have the same length, got {y.size} and {p.size}"
        )
    return y, p


def _relative_errors(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    keep = y != 0
    return np.abs(p[keep] - y[keep]) / np.abs(y[keep])


def mape(measured: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute percentage error in percent (rows with a measured 0 are skipped)."""
    rel = _relative_errors(*_pair(measured, predicted))
    return float(100.0 * rel.mean()) if rel.size else math.nan


def rmse(measured: ArrayLike, predicted: ArrayLike) -> float:
    """Root mean squared error, in the unit of the metric."""
    y, p = _pair(measured, predicted)
    return float(np.sqrt(np.mean((p - y) ** 2))) if y.size else math.nan


def within(measured: ArrayLike, predicted: ArrayLike, tolerance: float) -> float:
    """Share (0..1) of predictions within ``tolerance`` (0.1 for ±10%) of the measured value."""
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    rel = _relative_errors(*_pair(measured, predicted))
    return float(np.mean(rel <= tolerance + 1e-12)) if rel.size else math.nan


def _rank_ready(y: np.ndarray, p: np.ndarray) -> bool:
    # scipy warns (and our test suite errors) on constant input; the answer is nan anyway.
    return y.size >= 2 and bool(np.ptp(y) > 0) and bool(np.ptp(p) > 0)


def spearman(measured: ArrayLike, predicted: ArrayLike) -> float:
    """Spearman's rank correlation (nan for fewer than two values or constant input)."""
    y, p = _pair(measured, predicted)
    if not _rank_ready(y, p):
        return math.nan
    return float(stats.spearmanr(y, p).statistic)


def kendall(measured: ArrayLike, predicted: ArrayLike) -> float:
    """Kendall's tau-b (nan for fewer than two values or constant input)."""
    y, p = _pair(measured, predicted)
    if not _rank_ready(y, p):
        return math.nan
    return float(stats.kendalltau(y, p).statistic)


def report(measured: ArrayLike, predicted: ArrayLike) -> dict[str, float | int]:
    """All metrics at once: ``n``, ``mape`` (%), ``rmse``, ``spearman``, ``kendall``,
    ``within_5`` and ``within_10`` (shares 0..1)."""
    y, p = _pair(measured, predicted)
    return {
        "n": int(y.size),
        "mape": mape(y, p),
        "rmse": rmse(y, p),
        "spearman": spearman(y, p),
        "kendall": kendall(y, p),
        "within_5": within(y, p, 0.05),
        "within_10": within(y, p, 0.10),
    }


#: The metrics :func:`bootstrap` gives an interval of.
BOOTSTRAPPED = ("mape", "spearman", "kendall", "within_5", "within_10")


def bootstrap(
    measured: ArrayLike,
    predicted: ArrayLike,
    *,
    resamples: int = 400,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, list[float]]:
    """A percentile-bootstrap interval (``level``, ``resamples`` seeded resamples of the
    rows with replacement) of each metric in :data:`BOOTSTRAPPED`: ``[low, high]``, or
    ``[nan, nan]`` where the metric is undefined. Rows should be independent: one per
    equivalence class of architectures, as ``predictor eval`` scores them."""
    y, p = _pair(measured, predicted)
    if y.size < 2:
        return {k: [math.nan, math.nan] for k in BOOTSTRAPPED}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in BOOTSTRAPPED}
    for _ in range(resamples):
        rows = rng.integers(0, y.size, size=y.size)
        a, b = y[rows], p[rows]
        draws["mape"].append(mape(a, b))
        draws["spearman"].append(spearman(a, b))
        draws["kendall"].append(kendall(a, b))
        draws["within_5"].append(within(a, b, 0.05))
        draws["within_10"].append(within(a, b, 0.10))
    tail = 100.0 * (1.0 - level) / 2.0
    out = {}
    for key, values in draws.items():
        finite = np.array([v for v in values if math.isfinite(v)])
        out[key] = (
            [float(np.percentile(finite, tail)), float(np.percentile(finite, 100.0 - tail))]
            if finite.size
            else [math.nan, math.nan]
        )
    return out


def json_ready(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with nan/inf floats replaced by ``None`` (JSON has no nan)."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()
    }


__all__ = [
    "BOOTSTRAPPED",
    "bootstrap",
    "json_ready",
    "kendall",
    "mape",
    "report",
    "rmse",
    "spearman",
    "within",
]
