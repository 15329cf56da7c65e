"""Expected hypervolume improvement (hwnas.search.acquire): the integral is right, the
Monte Carlo path agrees with it, the batch goes where the measured front can improve,
and on a synthetic problem it finds more of the true front than the old rule (the
predicted front, then the straddlers) with as many measurements, over several seeds."""

from __future__ import annotations

import numpy as np
import pytest

from hwnas.search.acquire import (
    INTERVAL_Z,
    Spread,
    choose_ehvi,
    improvement_1d,
    improvement_mc,
)
from hwnas.search.nsga import Candidate, hypervolume, pareto_front
from hwnas.search.verify import choose
from tests.helpers import Fixed


def _brute_hvi(acc: float, mu: float, sigma: float, front: np.ndarray, ref: np.ndarray) -> float:
    """E[HV(front + point) - HV(front)] by sampling the point's metric."""
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=ref)
    base = hv(front)
    values = np.exp(mu + sigma * np.random.default_rng(0).standard_normal(20_000))
    gains = [hv(np.vstack([front, [-acc, v]])) - base if v < ref[1] else 0.0 for v in values[:4000]]
    return float(np.mean(gains))


def test_the_one_metric_integral_matches_sampling() -> None:
    front = np.array([[-90.0, 8.0], [-85.0, 5.0], [-70.0, 2.0]])
    ref = np.array([-60.0, 10.0])
    acc = np.array([88.0, 95.0, 75.0, 50.0])
    mu = np.log(np.array([6.0, 9.0, 3.0, 1.0]))
    sigma = np.array([0.1, 0.05, 0.3, 0.1])
    got = improvement_1d(acc, Spread(mu[:, None], sigma[:, None]), front, ref)
    want = [_brute_hvi(a, m, s, front, ref) for a, m, s in zip(acc, mu, sigma, strict=True)]
    assert got[3] == 0.0  # below the reference accuracy: worth nothing
    assert np.allclose(got[:3], want[:3], rtol=0.05, atol=0.02)
    assert got[1] > 0 and got[2] > 0


def test_monte_carlo_agrees_with_the_integral_on_one_metric() -> None:
    front = np.array([[-90.0, 8.0], [-80.0, 4.0]])
    ref = np.array([-70.0, 10.0])
    acc = np.array([85.0, 92.0])
    spread = Spread(np.log(np.array([[5.0], [8.5]])), np.array([[0.2], [0.1]]))
    exact = improvement_1d(acc, spread, front, ref)
    draws = np.random.default_rng(1).standard_normal((4000, 1))
    sampled = improvement_mc(acc, spread, front, ref, draws)
    assert np.allclose(sampled, exact, rtol=0.08)


def _pick(table, budgets, measured, room, degenerate=None):  # type: ignore[no-untyped-def]
    metrics = sorted(next(iter(table.values()))[1])
    predictors = {m: Fixed({a: v[1][m] for a, v in table.items()}) for m in metrics}
    pool = [Candidate(a, acc, {m: v[m][1] for m in metrics}) for a, (acc, v) in table.items()]
    return [
        c.arch
        for c in choose_ehvi(pool, predictors, budgets, measured, room, degenerate=degenerate)
    ]


def test_the_batch_skips_what_cannot_improve_and_spreads_out() -> None:
    lat = "latency_ms"
    table = {
        "over": (99.0, {lat: (11.5, 12.0, 13.0)}),  # surely over the budget of 10
        "dominated": (80.0, {lat: (8.5, 9.0, 9.5)}),  # slower than measured "m1", less accurate
        "gap-a": (88.0, {lat: (3.0, 3.2, 3.4)}),  # where the measured front is sparse
        "gap-a-twin": (88.0, {lat: (3.0, 3.2, 3.4)}),
        "gap-b": (93.0, {lat: (6.5, 7.0, 7.5)}),
        "junk": (95.0, {lat: (0.5, 0.6, 0.7)}),  # degenerate: left out
    }
    measured = {"m1": (90.0, {lat: 8.0}), "m0": (70.0, {lat: 2.0})}
    got = _pick(table, {lat: 10.0}, measured, 4, degenerate=lambda archs: {"junk"} & set(archs))
    assert "over" not in got and "dominated" not in got and "junk" not in got
    # A twin first (the biggest gap), then the other gap before the second twin:
    # believing the first twin measures as predicted, its twin adds only its lower tail.
    assert got[0] in ("gap-a", "gap-a-twin") and got[1] == "gap-b"
    assert set(got[:3]) == {"gap-a", "gap-a-twin", "gap-b"}
    assert _pick(table, {lat: 10.0}, measured, 0) == []
    # Everything measured: nothing left to pick.
    assert (
        _pick(table, {lat: 10.0}, {a: (v[0], {lat: v[1][lat][1]}) for a, v in table.items()}, 5)
        == []
    )


def test_two_metrics_go_through_monte_carlo() -> None:
    lat, mem = "latency_ms", "peak_memory_mb"
    table = {
        "fast-big": (90.0, {lat: (2.8, 3.0, 3.2), mem: (95.0, 100.0, 105.0)}),
        "slow-small": (90.0, {lat: (7.5, 8.0, 8.5), mem: (19.0, 20.0, 21.0)}),
        "worse": (80.0, {lat: (8.5, 9.0, 9.5), mem: (95.0, 100.0, 105.0)}),
    }
    measured = {"m": (85.0, {lat: 5.0, mem: 50.0})}
    got = _pick(table, {lat: 10.0}, measured, 3)
    assert set(got) == {"fast-big", "slow-small"}  # "worse" is dominated by "m"


def _problem(seed: int, n: int = 1500):  # type: ignore[no-untyped-def]
    """Accuracy and true latency with a trade-off, and a predictor off by a smooth
    systematic error plus noise, with 80% intervals of the right width."""
    rng = np.random.default_rng(seed)
    work = rng.uniform(1.0, 10.0, n)
    acc = 60 + 35 * (1 - np.exp(-work / 3)) + rng.normal(0, 2.0, n)
    truth = work * np.exp(rng.normal(0, 0.02, n))
    error = 0.08 * np.sin(work * 1.7 + seed) + rng.normal(0, 0.05, n)
    pred = truth * np.exp(error)
    half = INTERVAL_Z * 0.09
    archs = [f"a{i}" for i in range(n)]
    values = {a: (p * np.exp(-half), p, p * np.exp(half)) for a, p in zip(archs, pred, strict=True)}
    cands = [
        Candidate(a, float(x), {"latency_ms": float(p)})
        for a, x, p in zip(archs, acc, pred, strict=True)
    ]
    return cands, Fixed(values), dict(zip(archs, truth, strict=True)), rng


def _share(picked, measured, truth, budgets, ref, best):  # type: ignore[no-untyped-def]
    """The true hypervolume of what is measured after ``picked`` over the true front's."""
    got = {**measured, **{c.arch: (c.accuracy, {"latency_ms": truth[c.arch]}) for c in picked}}
    mine = [Candidate(a, acc, v) for a, (acc, v) in got.items()]
    front = pareto_front(mine, ["latency_ms"], budgets)
    return hypervolume(front, ["latency_ms"], ref) / hypervolume(best, ["latency_ms"], ref)


def test_it_finds_more_of_the_true_front_than_the_old_rule() -> None:
    budgets, room = {"latency_ms": 8.0}, 20
    wins, shares = 0, []
    for seed in range(6):
        cands, predictor, truth, rng = _problem(seed)
        start = rng.choice(len(cands), 40, replace=False)
        measured = {
            cands[i].arch: (cands[i].accuracy, {"latency_ms": truth[cands[i].arch]}) for i in start
        }
        real = [Candidate(c.arch, c.accuracy, {"latency_ms": truth[c.arch]}) for c in cands]
        best = pareto_front(real, ["latency_ms"], budgets)
        ref = np.array([-60.0, budgets["latency_ms"]])
        front = pareto_front(cands, ["latency_ms"], budgets)
        new = choose_ehvi(cands, {"latency_ms": predictor}, budgets, measured, room)
        old = choose(front, cands, {"latency_ms": predictor}, budgets, set(measured), room)
        assert len(new) == room
        a = _share(new, measured, truth, budgets, ref, best)
        b = _share(old, measured, truth, budgets, ref, best)
        wins += a > b
        shares.append((round(a, 3), round(b, 3)))
    assert wins >= 5, (wins, shares)


def test_the_reference_comes_from_the_measured_front_alone() -> None:
    """A slow, poor cell measured within budget (dominated) is not on the measured front
    and does not move the reference; a degenerate one is left out; one over budget too."""
    from hwnas.search.acquire import _measured_front, reference

    lat = "latency_ms"
    measured = {
        "m1": (85.0, {lat: 4.0}),
        "m2": (88.0, {lat: 7.0}),
        "poor": (20.0, {lat: 9.0}),
        "junk": (10.0, {lat: 0.1}),
        "over": (95.0, {lat: 12.0}),
    }
    front = _measured_front(measured, {"junk"}, {lat: 10.0}, [lat])
    assert sorted(front[:, 0]) == [-88.0, -85.0]
    ref = reference(front, np.array([[-90.0, 8.0]]), [10.0])
    assert ref[1] == 10.0 and ref[0] == pytest.approx(-85.0 + 0.25 * 5.0)
