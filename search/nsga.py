"""Constrained multi-objective search: NSGA-II (pymoo) over a space's integer encoding.

Objectives: maximise accuracy (from an ``AccuracySource``) and minimise every
predicted metric (latency, memory, energy: one predictor each). Budgets
(``latency_ms <= 15``) are constraints, not objectives: an architecture over budget
is never in the result. Random search with the same number of evaluations is the
baseline the report compares against.

This is the engine; :func:`hwnas.search` (``hwnas.search.api``) is the documented call
that loads predictors, builds the accuracy source and scores the result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hwnas.errors import ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.search.accuracy import AccuracySource
from hwnas.spaces import SearchSpace


class MetricPredictor(Protocol):
    """What a search needs of a predictor: one number per architecture string."""

    def predict(self, archs: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Candidate:
    """One evaluated architecture: its accuracy and its predicted metrics."""

    arch: str
    accuracy: float
    metrics: dict[str, float]


@dataclass
class SearchRun:
    """What one NSGA-II run found: the feasible Pareto set, the random-search baseline's
    Pareto set (as many evaluations), and the lowest predicted value of every metric
    among everything evaluated (to say how far a budget nothing met is)."""

    pareto: list[Candidate]
    evaluated: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    baseline: list[Candidate] = field(default_factory=list)
    lowest: dict[str, float] = field(default_factory=dict)


def parse_budget(text: str) -> tuple[str, float]:
    """``latency_ms=15`` (or ``<=``) → ("latency_ms", 15.0); ``ParameterError`` (of
    ``budgets``) for anything else."""
    name, sep, value = text.replace("<=", "=").partition("=")
    try:
        bound = float(value)
    except ValueError:
        bound = float("nan")
    if not sep or not name.strip() or not np.isfinite(bound) or bound <= 0:
        raise ParameterError(
            "budgets", f"{text!r} must look like latency_ms=15 (a metric and a positive number)"
        )
    return name.strip(), bound


def check_settings(
    population: int, generations: int, budgets: Mapping[str, float], metrics: Sequence[str]
) -> None:
    """``ParameterError`` naming the parameter unless ``population >= 4``,
    ``generations >= 1`` and every budget names a metric in ``metrics``."""
    if population < 4:
        raise ParameterError("population", f"must be >= 4, got {population}")
    if generations < 1:
        raise ParameterError("generations", f"must be >= 1, got {generations}")
    for name in budgets:
        if name not in metrics:
            raise ParameterError(
                "budgets",
                f"{name}=... needs a predictor of {name}; the predictors given predict "
                f"{', '.join(sorted(metrics)) or 'nothing'}",
            )


class Evaluator:
    """Accuracy and predicted metrics of architectures, each function computed once."""

    def __init__(
        self,
        space: SearchSpace,
        accuracy: AccuracySource,
        predictors: Mapping[str, MetricPredictor],
    ) -> None:
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


def reference_point(cands: Sequence[Candidate], metrics: Sequence[str]) -> np.ndarray:
    """A hypervolume reference point just worse than every candidate in every objective
    (-accuracy, then ``metrics``), so two fronts scored against it are comparable."""
    if not cands:
        return np.ones(1 + len(metrics))
    worst = _objectives(cands, metrics).max(axis=0)
    return worst + 0.05 * np.abs(worst) + 1e-9


def hypervolume(front: Sequence[Candidate], metrics: Sequence[str], ref: np.ndarray) -> float:
    """Hypervolume of the front w.r.t. ``ref`` (objectives as minimised: -acc, metrics)."""
    if not front:
        return 0.0
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=ref)(_objectives(front, metrics)))


def _problem(
    space: SearchSpace,
    evaluate: Evaluator,
    metrics: Sequence[str],
    budgets: Mapping[str, float],
) -> Any:
    """The pymoo problem: genes -> (-accuracy, metrics), budgets as constraints g <= 0."""
    from pymoo.core.problem import Problem

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
            cands = evaluate([_decode(space, g) for g in genes])
            out["F"] = _objectives(cands, metrics)
            if budget_names:
                out["G"] = np.array(
                    [[c.metrics[m] - budgets[m] for m in budget_names] for c in cands]
                )

    return SpaceProblem()


def _algorithm(population: int) -> Any:
    """NSGA-II on integer genes: SBX crossover and polynomial mutation, rounded."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    return NSGA2(
        pop_size=population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )


def run_search(
    space: SearchSpace,
    accuracy: AccuracySource,
    predictors: Mapping[str, MetricPredictor],
    *,
    budgets: Mapping[str, float],
    population: int = 50,
    generations: int = 30,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> SearchRun:
    """NSGA-II over the space, then random search with as many evaluations.

    ``predictors`` maps each metric to its predictor; every budget must name one of them
    (``ParameterError`` otherwise, as for ``population < 4`` or ``generations < 1``).
    Each finished generation is reported to ``progress`` as a ``"step"`` event of stage
    ``"search"``; the same seed gives the same result.
    """
    from pymoo.optimize import minimize

    check_settings(population, generations, budgets, list(predictors))
    report = emitter(progress)
    metrics = sorted(predictors)
    evaluate = Evaluator(space, accuracy, predictors)
    history: list[dict[str, Any]] = []

    def callback(algorithm: Any) -> None:
        history.append({"generation": int(algorithm.n_gen), "evaluated": len(evaluate.cache)})
        report(Event("step", stage="search", done=int(algorithm.n_gen), total=generations))

    report(Event("step", stage="search", done=0, total=generations))
    started = time.perf_counter()
    minimize(
        _problem(space, evaluate, metrics, budgets),
        _algorithm(population),
        ("n_gen", generations),
        seed=seed,
        callback=callback,
        verbose=False,
    )
    seconds = time.perf_counter() - started
    searched = list(evaluate.cache.values())
    return SearchRun(
        pareto=pareto_front(searched, metrics, budgets),
        evaluated=len(searched),
        seconds=seconds,
        history=history,
        baseline=_random_baseline(space, evaluate, len(searched), seed, budgets, report),
        lowest={m: min(c.metrics[m] for c in searched) for m in metrics} if searched else {},
    )


def _random_baseline(
    space: SearchSpace,
    evaluate: Evaluator,
    n: int,
    seed: int,
    budgets: Mapping[str, float],
    report: ProgressCallback,
) -> list[Candidate]:
    """The Pareto set of ``n`` distinct random architectures (seed + 1), evaluated with a
    copy of ``evaluate``'s cache so nothing is computed twice nor added to the search's."""
    baseline_eval = Evaluator(space, evaluate.accuracy, evaluate.predictors)
    baseline_eval.cache = dict(evaluate.cache)
    report(Event("step", stage="random search", done=0, total=1))
    randoms = space.sample_distinct(seed + 1, min(n, space.size()))
    front = pareto_front(baseline_eval(randoms), sorted(evaluate.predictors), budgets)
    report(Event("step", stage="random search", done=1, total=1))
    return front


def _decode(space: SearchSpace, genes: np.ndarray) -> str:
    """Decode; a vector the space rejects (some spaces have invalid corners) is repaired
    by resampling its genes from a generator seeded by the vector itself."""
    from hwnas.spaces import InvalidArchError

    try:
        return str(space.decode(genes))
    except InvalidArchError:
        rng = np.random.default_rng(abs(hash(tuple(int(g) for g in genes))) % (2**32))
        return str(space.sample(rng, 1)[0])
