"""Which architectures a verify round measures: the batch of greatest expected
hypervolume improvement (EHVI) over the front measured so far.

Each unmeasured candidate's metrics are taken as log-normal around the point prediction,
with the spread of the predictor's interval (hwnas intervals are 80%: the 0.1 and 0.9
quantiles), at least :data:`SIGMA_FLOOR`. Its accuracy is known (a table, a proxy or the
user's evaluator), so its value is the hypervolume it is expected to add to the front of
what was *measured* within every budget (accuracy up, each metric down): a candidate
that is surely over a budget, or surely slower than a measured one at least as
accurate, is worth nothing; one that may beat the measured front where it is sparse is
worth the most (one expected to add less than :data:`WORTHLESS` of the front's
hypervolume is not measured). A batch is chosen greedily: after each pick the candidate
is assumed to measure as predicted (the "kriging believer"), so the next pick goes where
that one would not already have improved the front.

With one metric the expectation is an exact integral on a grid of the metric; with more,
a Monte Carlo mean over :data:`SAMPLES` draws shared by every candidate (common random
numbers) among the :data:`SHORTLIST` times ``room`` candidates of greatest optimistic
improvement.

The reference point: each budget (a value over it adds nothing); elsewhere, accuracy
included, the worst value on the measured and predicted fronts (degenerate architectures
left out) plus :data:`MARGIN` of the range they span. A reference at the fronts' own
least accurate member makes extending the front to faster, less accurate cells worth
nothing, and one at zero accuracy spends measurements on fast cells of poor accuracy
(margins 0, 0.1, 0.25 and 0.5 were tried on six zoo tables other than raspi4; 0.25 did
best). :func:`hwnas.search.verify.refine` uses it for half of each batch by default
(``benchmarks/verify_selection.py`` has the comparison).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hwnas.search.nsga import Candidate, MetricPredictor, objectives, pareto_front

#: The standard normal quantile of an 80% interval's ends (0.1 and 0.9).
INTERVAL_Z = 1.2816
#: The least spread (log scale) assumed for a prediction: 2%.
SIGMA_FLOOR = 0.02
#: Points of the grid the one-metric expectation is integrated on.
GRID = 512
#: Monte Carlo draws per candidate with two metrics or more.
SAMPLES = 32
#: With two metrics or more, how many candidates per place in the batch are scored.
SHORTLIST = 8
#: How far past the fronts' worst value the reference point lies, as a share of the
#: range they span.
MARGIN = 0.25
#: A candidate expected to add less than this share of the measured front's hypervolume
#: is not worth a device measurement.
WORTHLESS = 1e-4


@dataclass
class Spread:
    """Candidates' metrics as log-normals: ``mu`` and ``sigma`` (log scale), one column
    per metric."""

    mu: np.ndarray
    sigma: np.ndarray


def spread(
    cands: Sequence[Candidate], predictors: Mapping[str, MetricPredictor], metrics: Sequence[str]
) -> Spread:
    """Log-normal parameters of each candidate's metrics from its point prediction and,
    where the predictor has one, its interval (else :data:`SIGMA_FLOOR`)."""
    archs = [c.arch for c in cands]
    mu = np.zeros((len(cands), len(metrics)))
    sigma = np.full((len(cands), len(metrics)), SIGMA_FLOOR)
    for j, m in enumerate(metrics):
        point = np.maximum(np.array([c.metrics[m] for c in cands], dtype=float), 1e-12)
        mu[:, j] = np.log(point)
        interval = getattr(predictors.get(m), "predict_interval", None)
        if interval is None or not archs:
            continue
        got = interval(archs)
        low = np.log(np.maximum(np.minimum(np.asarray(got.low, dtype=float), point), 1e-12))
        high = np.log(np.maximum(np.asarray(got.high, dtype=float), point))
        sigma[:, j] = np.maximum((high - low) / (2 * INTERVAL_Z), SIGMA_FLOOR)
    return Spread(mu, sigma)


def reference(
    measured: np.ndarray,
    predicted: np.ndarray,
    budgets: Sequence[float | None],
) -> np.ndarray:
    """The reference point (``-accuracy``, metrics...) from the measured front's and the
    predicted front's objectives (rows, as minimised): each budget where there is one;
    elsewhere the worst value on either front plus :data:`MARGIN` of the range the two
    fronts span (so that a point extending the front past its least accurate or slowest
    member is worth something)."""
    both = np.vstack([measured, predicted])
    worst, best = both.max(axis=0), both.min(axis=0)
    ref = worst + MARGIN * (worst - best) + 1e-9 * np.maximum(np.abs(worst), 1.0)
    for j, b in enumerate(budgets, start=1):
        if b is not None:
            ref[j] = b
    return ref


def improvement_1d(
    acc: np.ndarray, spread_: Spread, front: np.ndarray, ref: np.ndarray
) -> np.ndarray:
    """Expected hypervolume improvement of each candidate (accuracy ``acc``, one metric)
    over ``front`` (rows ``-accuracy, metric``): the integral over the metric ``l`` of
    ``max(0, acc - best front accuracy at <= l) * P(metric <= l)``, on a grid."""
    mu, sigma = spread_.mu[:, 0], spread_.sigma[:, 0]
    top = ref[1]
    low = float(min(np.exp(mu - 4 * sigma).min(initial=top), 0.5 * top))
    grid = np.linspace(low, top, GRID)
    step = grid[1] - grid[0]
    reached = np.full(GRID, -ref[0])
    if len(front):
        order = np.argsort(front[:, 1])
        best = np.maximum.accumulate(-front[order, 0])
        at = np.searchsorted(front[order, 1], grid, side="right") - 1
        reached = np.maximum(np.where(at >= 0, best[np.maximum(at, 0)], -ref[0]), -ref[0])
    from scipy.special import ndtr

    gain = np.maximum(acc[:, None] - reached[None, :], 0.0)
    below = ndtr((np.log(grid)[None, :] - mu[:, None]) / sigma[:, None])
    return (gain * below).sum(axis=1) * step


def improvement_mc(
    acc: np.ndarray, spread_: Spread, front: np.ndarray, ref: np.ndarray, draws: np.ndarray
) -> np.ndarray:
    """Monte Carlo expected hypervolume improvement over ``front`` with ``draws``
    (samples x metrics standard normals shared by every candidate)."""
    from pymoo.indicators.hv import HV

    measure = HV(ref_point=ref)
    base = float(measure(front)) if len(front) else 0.0
    out = np.zeros(len(acc))
    for i in range(len(acc)):
        values = np.exp(spread_.mu[i] + spread_.sigma[i] * draws)
        total = 0.0
        for row in values:
            point = np.concatenate([[-acc[i]], row])
            if np.any(point >= ref):
                continue
            rows = np.vstack([front, point]) if len(front) else point[None, :]
            total += float(measure(rows)) - base
        out[i] = total / len(draws)
    return out


def choose_ehvi(
    pool: Sequence[Candidate],
    predictors: Mapping[str, MetricPredictor],
    budgets: Mapping[str, float],
    measured: Mapping[str, tuple[float, Mapping[str, float]]],
    room: int,
    *,
    degenerate: Callable[[Sequence[str]], set[str]] | None = None,
    seed: int = 0,
) -> list[Candidate]:
    """At most ``room`` candidates of ``pool`` not in ``measured`` (arch -> (accuracy,
    measured metrics)), greedily of greatest expected hypervolume improvement; none
    where nothing is expected to improve the measured front. ``degenerate``: which
    architectures to leave out of the fronts and the batch (chance accuracy)."""
    if room <= 0 or not pool:
        return []
    metrics = sorted(pool[0].metrics)
    flagged = degenerate([c.arch for c in pool] + list(measured)) if degenerate else set()
    cands = [c for c in pool if c.arch not in measured and c.arch not in flagged]
    if not cands or not metrics:
        return []
    front = _measured_front(measured, flagged, budgets, metrics)
    useful = [c for c in pool if c.arch not in flagged]
    predicted = pareto_front(useful, metrics, budgets)
    guess = objectives(predicted, metrics).reshape(-1, 1 + len(metrics))
    if not len(front) and not len(guess):
        return []
    ref = reference(front, guess, [budgets.get(m) for m in metrics])
    if not np.all(np.isfinite(ref)):
        return []
    return _greedy(cands, spread(cands, predictors, metrics), front, ref, room, seed)


def _measured_front(
    measured: Mapping[str, tuple[float, Mapping[str, float]]],
    flagged: set[str],
    budgets: Mapping[str, float],
    metrics: Sequence[str],
) -> np.ndarray:
    """Objectives (rows ``-accuracy, metrics``) of the non-dominated architectures among
    those measured within every budget with a value of every metric, degenerate ones
    left out."""
    kept = [
        Candidate(arch, acc, dict(values))
        for arch, (acc, values) in measured.items()
        if arch not in flagged and all(m in values for m in {*metrics, *budgets})
    ]
    front = pareto_front(kept, metrics, budgets)
    return objectives(front, metrics).reshape(-1, 1 + len(metrics))


def _greedy(
    cands: list[Candidate],
    spread_: Spread,
    front: np.ndarray,
    ref: np.ndarray,
    room: int,
    seed: int,
) -> list[Candidate]:
    """Pick the best, assume it measures as predicted, repeat."""
    acc = np.array([c.accuracy for c in cands])
    keep = (acc > -ref[0]) & np.all(spread_.mu - 3 * spread_.sigma < np.log(ref[1:]), axis=1)
    ids = np.flatnonzero(keep)
    one = spread_.mu.shape[1] == 1
    draws = np.random.default_rng(seed).standard_normal((SAMPLES, spread_.mu.shape[1]))
    if not one and len(ids) > SHORTLIST * room:  # optimistic improvement, one draw each
        first = improvement_mc(
            acc[ids], _rows(spread_, ids), front, ref, -np.ones((1, spread_.mu.shape[1]))
        )
        ids = ids[np.argsort(-first, kind="stable")[: SHORTLIST * room]]
    chosen: list[int] = []
    floor = WORTHLESS * _volume(front, ref)
    for _ in range(room):
        rest = np.array([i for i in ids if i not in chosen], dtype=int)
        if not len(rest):
            break
        part = _rows(spread_, rest)
        gain = (
            improvement_1d(acc[rest], part, front, ref)
            if one
            else improvement_mc(acc[rest], part, front, ref, draws)
        )
        best = int(np.argmax(gain))
        if gain[best] <= floor:
            break
        pick = int(rest[best])
        chosen.append(pick)
        believed = np.concatenate([[-acc[pick]], np.exp(spread_.mu[pick])])
        if np.all(believed < ref):
            front = np.vstack([front, believed])
    return [cands[i] for i in chosen]


def _volume(front: np.ndarray, ref: np.ndarray) -> float:
    """The hypervolume of ``front`` (0 when empty)."""
    from pymoo.indicators.hv import HV

    inside = front[np.all(front < ref, axis=1)] if len(front) else front
    return float(HV(ref_point=ref)(inside)) if len(inside) else 0.0


def _rows(spread_: Spread, ids: np.ndarray) -> Spread:
    return Spread(spread_.mu[ids], spread_.sigma[ids])
