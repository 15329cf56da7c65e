"""Constrained multi-objective search: NSGA-II (pymoo) over a space's integer encoding.

Objectives: maximise accuracy (from an ``AccuracySource``) and minimise every
predicted metric (latency, memory, energy: one predictor each). Budgets
(``latency_ms <= 15``) are constraints, not objectives: an architecture over budget
is never in the result. Random search with the same number of evaluations is the
baseline the report compares against.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hwnas.errors import UsageError
from hwnas.search.accuracy import AccuracySource


@dataclass(frozen=True)
class Candidate:
    arch: str
    accuracy: float
    metrics: dict[str, float]


@dataclass
class SearchResult:
    """The feasible Pareto set and how the search got there."""

    pareto: list[Candidate]
    evaluated: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    baseline: list[Candidate] = field(default_factory=list)


def parse_budget(text: str) -> tuple[str, float]:
    """``latency_ms=15`` (or ``<=``) → ("latency_ms", 15.0)."""
    name, sep, value = text.replace("<=", "=").partition("=")
    try:
        bound = float(value)
    except ValueError:
        bound = float("nan")
    if not sep or not name.strip() or not np.isfinite(bound) or bound <= 0:
        raise UsageError(
            f"--budget {text!r} must look like latency_ms=15 (a metric and a positive number)"
        )
    return name.strip(), bound


class Evaluator:
    """Accuracy and predicted metrics of architectures, each function computed once."""

    def __init__(self, space: Any, accuracy: AccuracySource, predictors: Mapping[str, Any]) -> None:
        self.space, self.accuracy, self.predictors = space, accuracy, dict(predictors)
        self.cache: dict[str, Candidate] = {}

    def __call__(self, archs: Sequence[str]) -> list[Candidate]:
        canon = [self.space.canonical(a) for a in archs]
        todo = sorted({a for a in canon if a not in self.cache})
        if todo:
            acc = self.accuracy.evaluate(todo)
            preds = {
                m: np.asarray(p.predict(todo), dtype=float) for m, p in self.predictors.items()
            }
            for i, arch in enumerate(todo):
                self.cache[arch] = Candidate(
                    arch, float(acc[i]), {m: float(v[i]) for m, v in preds.items()}
                )
        return [self.cache[a] for a in canon]


def _objectives(cands: Sequence[Candidate], metrics: Sequence[str]) -> np.ndarray:
    return np.array([[-c.accuracy, *(c.metrics[m] for m in metrics)] for c in cands])


def pareto_front(
    cands: Sequence[Candidate], metrics: Sequence[str], budgets: Mapping[str, float]
) -> list[Candidate]:
    """The feasible, non-dominated candidates (one per architecture), best accuracy first."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    unique = {c.arch: c for c in cands}
    ok = [c for c in unique.values() if all(c.metrics[m] <= b for m, b in budgets.items())]
    if not ok:
        return []
    front = NonDominatedSorting().do(_objectives(ok, metrics), only_non_dominated_front=True)
    return sorted((ok[i] for i in front), key=lambda c: -c.accuracy)


def hypervolume(front: Sequence[Candidate], metrics: Sequence[str], ref: np.ndarray) -> float:
    """Hypervolume of the front w.r.t. ``ref`` (objectives as minimised: -acc, metrics)."""
    if not front:
        return 0.0
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=ref)(_objectives(front, metrics)))


def run_search(
    space: Any,
    accuracy: AccuracySource,
    predictors: Mapping[str, Any],
    *,
    budgets: Mapping[str, float],
    population: int = 50,
    generations: int = 30,
    seed: int = 0,
    on_generation: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """NSGA-II over the space, then random search with as many evaluations."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    if population < 4 or generations < 1:
        raise UsageError(
            f"--population must be >= 4 and --generations >= 1, got {population} and {generations}"
        )
    for name in budgets:
        if name not in predictors:
            raise UsageError(
                f"--budget {name}=... needs a predictor of {name}; the "
                f"predictors given predict {', '.join(predictors) or 'nothing'}"
            )
    metrics = sorted(predictors)
    evaluate = Evaluator(space, accuracy, predictors)
    low, high = space.bounds()
    budget_names = sorted(budgets)

    class SpaceProblem(Problem):
        def __init__(self) -> None:
            super().__init__(
                n_var=int(low.size),
                n_obj=1 + len(metrics),
                n_ieq_constr=len(budget_names),
                xl=low,
                xu=high,
                vtype=int,
            )

        def _evaluate(self, x: np.ndarray, out: dict[str, Any], *_: Any, **__: Any) -> None:
            genes = np.clip(np.rint(x).astype(np.int64), low, high)
            archs = [_decode(space, g) for g in genes]
            cands = evaluate(archs)
            out["F"] = _objectives(cands, metrics)
            if budget_names:
                out["G"] = np.array(
                    [[c.metrics[m] - budgets[m] for m in budget_names] for c in cands]
                )

    history: list[dict[str, Any]] = []

    def callback(algorithm: Any) -> None:
        history.append({"generation": int(algorithm.n_gen), "evaluated": len(evaluate.cache)})
        if on_generation:
            on_generation(int(algorithm.n_gen), generations)

    algorithm = NSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    started = time.perf_counter()
    minimize(
        SpaceProblem(),
        algorithm,
        ("n_gen", generations),
        seed=seed,
        callback=callback,
        verbose=False,
    )
    seconds = time.perf_counter() - started
    searched = list(evaluate.cache.values())
    front = pareto_front(searched, metrics, budgets)

    # Baseline: random search, as many distinct evaluations, same seed.
    baseline_eval = Evaluator(space, accuracy, predictors)
    baseline_eval.cache = {a: c for a, c in evaluate.cache.items()}  # reuse, don't recompute
    n = min(len(searched), space.size())
    randoms = space.sample_distinct(seed + 1, n)
    baseline = pareto_front(baseline_eval(randoms), metrics, budgets)
    return SearchResult(
        pareto=front, evaluated=len(searched), seconds=seconds, history=history, baseline=baseline
    )


def _decode(space: Any, genes: np.ndarray) -> str:
    """Decode; a vector the space rejects (some spaces have invalid corners) is repaired
    by resampling its genes from a generator seeded by the vector itself."""
    from hwnas.spaces import InvalidArchError

    try:
        return str(space.decode(genes))
    except InvalidArchError:
        rng = np.random.default_rng(abs(hash(tuple(int(g) for g in genes))) % (2**32))
        return str(space.sample(rng, 1)[0])
