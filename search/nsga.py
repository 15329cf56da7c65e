"""The vocabulary of a constrained search, and NSGA-II (pymoo) on a space's own operators.

Objectives: maximise accuracy (from an ``AccuracySource``) and minimise every
predicted metric (latency, memory, energy: one predictor each). Budgets
(``latency_ms <= 15``) are constraints, not objectives: an architecture over budget
is never in the result. A budget constrains the point prediction, or with a
``budget_quantile`` the predictive q-quantile (:func:`quantile_from_interval`).

- :class:`Candidate`, :class:`Evaluator` (counts predictor queries: distinct canonical
  architectures), :class:`Problem` (what a strategy searches);
- :func:`pareto_front`, :func:`reference_point`, :func:`hypervolume`;
- :func:`nsga2`: pymoo's NSGA-II whose sampling, mutation and crossover are the space's
  ``sample_distinct``, ``mutate`` and ``crossover``, duplicates eliminated by canonical
  form against everything already evaluated, budgets as constraints (pymoo's
  feasibility-first tournament and survival).

The strategies (``hwnas.search.strategies``) use these; :func:`hwnas.search`
(``hwnas.search.api``) is the documented call.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hwnas.errors import ParameterError
from hwnas.search.accuracy import AccuracySource
from hwnas.spaces import InvalidArchError, SearchSpace

#: ``step(done, total)``: how a strategy reports progress (generations or batches).
StepCallback = Callable[[int, int], None]


class MetricPredictor(Protocol):
    """What a search needs of a predictor: one number per architecture string."""

    def predict(self, archs: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Candidate:
    """One evaluated architecture: its accuracy and its predicted metrics.

    ``upper`` holds, when the search had a ``budget_quantile`` q, the predicted
    q-quantile of each budgeted metric: the value its budget was checked against (a
    candidate whose ``metrics`` value is within budget but whose interval reaches past it
    "straddles" the budget). Empty otherwise: budgets then apply to ``metrics``.
    ``measured`` holds the device's values of an architecture a verified search measured.
    """

    arch: str
    accuracy: float
    metrics: dict[str, float]
    upper: dict[str, float] = field(default_factory=dict)
    #: Values measured on the device (``search(verify=...)``); empty when not measured.
    measured: dict[str, float] = field(default_factory=dict)

    def budget_value(self, metric: str) -> float:
        """The value a budget on ``metric`` constrains: the quantile, else the prediction."""
        return self.upper.get(metric, self.metrics[metric])

    def feasible(self, budgets: Mapping[str, float]) -> bool:
        return all(self.budget_value(m) <= b for m, b in budgets.items())

    def violation(self, budgets: Mapping[str, float]) -> float:
        """How far over budget, summed relative to each budget (0 when feasible)."""
        return sum(max(0.0, self.budget_value(m) / b - 1.0) for m, b in budgets.items())


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


def check_quantile(
    quantile: float | None,
    predictors: Mapping[str, MetricPredictor],
    budgets: Mapping[str, float],
) -> float | None:
    """The quantile budgets apply to: ``None`` for the point prediction (``None`` or
    0.5 given), else ``quantile``, checked to lie in (0, 1) and every budgeted metric's
    predictor to have a calibrated interval (``ParameterError`` otherwise)."""
    if quantile is None:
        return None
    q = float(quantile) if isinstance(quantile, int | float) else math.nan
    if isinstance(quantile, bool) or not 0.0 < q < 1.0:
        raise ParameterError("budget_quantile", f"must be in (0, 1), got {quantile!r}")
    if q == 0.5:
        return None
    for metric in sorted(budgets):
        model = predictors[metric]
        share = getattr(model, "interval_share", None)
        if not callable(getattr(model, "predict_interval", None)) or share is None:
            raise ParameterError(
                "budget_quantile",
                f"needs predictive intervals, but the {metric} predictor "
                f"({type(model).__name__}) has no calibrated interval (interval_share is "
                f"None); train a LightGBM predictor or leave budget_quantile unset",
            )
    return q


def quantile_from_interval(
    value: np.ndarray, low: np.ndarray, high: np.ndarray, share: float, q: float
) -> np.ndarray:
    """The q-quantile of each prediction, from its interval.

    The interval ``[low, high]`` holds the central ``share`` of the predictive
    distribution (0.8: the 0.1 and 0.9 quantiles), so ``high`` is its ``(1 + share) / 2``
    quantile. Each side is taken as half a normal around the point prediction, with the
    spread that puts ``high`` (for q > 0.5) or ``low`` (q < 0.5) at that quantile:
    ``value + z(q) / z((1 + share) / 2) * (high - value)``. Skewed intervals (LightGBM's
    are fitted in log space) keep their skew; q = (1 + share) / 2 gives ``high`` exactly.
    """
    normal = statistics.NormalDist()
    scale = normal.inv_cdf(q) / normal.inv_cdf((1.0 + share) / 2.0)
    side = high - value if q >= 0.5 else value - low
    return np.asarray(value + scale * side, dtype=float)


class Evaluator:
    """Accuracy and predicted metrics of architectures, each computed once.

    ``seen`` holds this evaluator's distinct canonical architectures in the order first
    asked: their number is the count of predictor queries a strategy spent. ``cache``
    holds every candidate computed (it may be shared, so a baseline computes nothing
    twice, without counting another's queries as its own). With ``quantile``, every
    metric in ``budgeted`` is predicted with its interval and the quantile is recorded
    as ``Candidate.upper``.
    """

    def __init__(
        self,
        space: SearchSpace,
        accuracy: AccuracySource,
        predictors: Mapping[str, MetricPredictor],
        *,
        quantile: float | None = None,
        budgeted: Sequence[str] = (),
        cache: Mapping[str, Candidate] | None = None,
    ) -> None:
        self.space, self.accuracy, self.predictors = space, accuracy, dict(predictors)
        self.quantile, self.budgeted = quantile, sorted(budgeted) if quantile else []
        self.cache: dict[str, Candidate] = dict(cache or {})
        self.seen: dict[str, Candidate] = {}

    def fresh(self) -> Evaluator:
        """An evaluator of the same functions that has queried nothing (sharing results)."""
        twin = Evaluator(self.space, self.accuracy, self.predictors)
        twin.quantile, twin.budgeted, twin.cache = self.quantile, self.budgeted, self.cache
        return twin

    @property
    def evaluated(self) -> int:
        return len(self.seen)

    def __call__(self, archs: Sequence[str]) -> list[Candidate]:
        canon = [self.space.canonical(a) for a in archs]
        todo = list(dict.fromkeys(a for a in canon if a not in self.cache))
        if todo:
            self._compute(todo)
        for arch in canon:
            self.seen.setdefault(arch, self.cache[arch])
        return [self.cache[a] for a in canon]

    def _compute(self, todo: list[str]) -> None:
        """One batched call per predictor (and one to the accuracy source) for ``todo``."""
        acc = self.accuracy.evaluate(todo)
        preds: dict[str, np.ndarray] = {}
        uppers: dict[str, np.ndarray] = {}
        for metric, model in self.predictors.items():
            if metric in self.budgeted and self.quantile is not None:
                interval = model.predict_interval(todo)  # type: ignore[attr-defined]
                preds[metric] = np.asarray(interval.value, dtype=float)
                uppers[metric] = quantile_from_interval(
                    preds[metric],
                    np.asarray(interval.low, dtype=float),
                    np.asarray(interval.high, dtype=float),
                    float(model.interval_share),  # type: ignore[attr-defined]
                    self.quantile,
                )
            else:
                preds[metric] = np.asarray(model.predict(todo), dtype=float)
        for i, arch in enumerate(todo):
            self.cache[arch] = Candidate(
                arch,
                float(acc[i]),
                {m: float(v[i]) for m, v in preds.items()},
                {m: float(v[i]) for m, v in uppers.items()},
            )


@dataclass
class Problem:
    """What a strategy searches: the space, the evaluator it queries, and the budgets
    (constraints on ``Candidate.budget_value``). Objectives: accuracy up, metrics down."""

    space: SearchSpace
    evaluate: Evaluator
    budgets: dict[str, float]

    @property
    def metrics(self) -> list[str]:
        return sorted(self.evaluate.predictors)

    @property
    def evaluated(self) -> int:
        """Predictor queries spent so far: distinct canonical architectures evaluated."""
        return self.evaluate.evaluated

    def candidates(self) -> list[Candidate]:
        """Everything this problem's evaluator was asked, in order."""
        return list(self.evaluate.seen.values())


def objectives(cands: Sequence[Candidate], metrics: Sequence[str]) -> np.ndarray:
    """One row per candidate, as minimised: -accuracy, then ``metrics`` (predicted)."""
    return np.array([[-c.accuracy, *(c.metrics[m] for m in metrics)] for c in cands])


def pareto_front(
    cands: Sequence[Candidate], metrics: Sequence[str], budgets: Mapping[str, float]
) -> list[Candidate]:
    """The feasible, non-dominated candidates (one per architecture), best accuracy first."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    unique = {c.arch: c for c in cands}
    ok = [c for c in unique.values() if c.feasible(budgets)]
    if not ok:
        return []
    front = NonDominatedSorting().do(objectives(ok, metrics), only_non_dominated_front=True)
    return sorted((ok[i] for i in front), key=lambda c: (-c.accuracy, c.arch))


def reference_point(cands: Sequence[Candidate], metrics: Sequence[str]) -> np.ndarray:
    """A hypervolume reference point just worse than every candidate in every objective
    (-accuracy, then ``metrics``), so two fronts scored against it are comparable."""
    if not cands:
        return np.ones(1 + len(metrics))
    worst = objectives(cands, metrics).max(axis=0)
    return worst + 0.05 * np.abs(worst) + 1e-9


def hypervolume(front: Sequence[Candidate], metrics: Sequence[str], ref: np.ndarray) -> float:
    """Hypervolume of the front w.r.t. ``ref`` (objectives as minimised: -acc, metrics)."""
    if not front:
        return 0.0
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=ref)(objectives(front, metrics)))


# -- NSGA-II on the space's own operators ----------------------------------------------


def _genes_to_arch(space: SearchSpace, genes: np.ndarray) -> str:
    return str(space.decode(np.asarray(genes).astype(np.int64)))


def _operators(problem: Problem, seen: Mapping[str, Any]) -> dict[str, Any]:
    """pymoo sampling, crossover, mutation and duplicate elimination that call the space.

    Genes are the space's integer encoding (what pymoo stores); every operator decodes,
    calls the space, and encodes. A crossover or mutation whose child the space rejects
    leaves the parents (their copies are then dropped as duplicates). Crossover with
    probability 0.9, then ``space.mutate`` on half the children: mutating every child
    (pymoo's habit with bit-flip rates) made NSGA-II little better than random search at
    a few hundred queries on NB201 (hypervolume 0.84 vs 0.91 of the exhaustive front's,
    random search 0.76; 10 seeds, ``tests/test_strategies.py``'s problem).
    """
    from pymoo.core.crossover import Crossover
    from pymoo.core.duplicate import DuplicateElimination
    from pymoo.core.mutation import Mutation
    from pymoo.core.sampling import Sampling

    space = problem.space

    class SpaceSampling(Sampling):
        def _do(self, _p: Any, n_samples: int, *_: Any, random_state: Any = None, **__: Any) -> Any:
            archs = space.sample_distinct(random_state, min(n_samples, space.size()))
            return np.array([space.encode(a) for a in archs])

    class SpaceCrossover(Crossover):
        def _do(self, _p: Any, x: np.ndarray, *_: Any, random_state: Any = None, **__: Any) -> Any:
            children = np.array(x, copy=True)
            for k in range(x.shape[1]):
                a, b = (_genes_to_arch(space, x[i, k]) for i in (0, 1))
                try:
                    pair = space.crossover(a, b, random_state)
                except InvalidArchError:
                    continue
                children[0, k], children[1, k] = (space.encode(c) for c in pair)
            return children

    class SpaceMutation(Mutation):
        def _do(self, _p: Any, x: np.ndarray, *_: Any, random_state: Any = None, **__: Any) -> Any:
            children = np.array(x, copy=True)
            for k, genes in enumerate(x):
                try:
                    child = space.mutate(_genes_to_arch(space, genes), random_state)
                except InvalidArchError:
                    continue
                children[k] = space.encode(child)
            return children

    return {
        "sampling": SpaceSampling(),
        "crossover": SpaceCrossover(2, 2, prob=0.9),
        "mutation": SpaceMutation(prob=0.5),
        "eliminate_duplicates": _canonical_duplicates(space, seen, DuplicateElimination),
    }


def _canonical_duplicates(space: SearchSpace, seen: Mapping[str, Any], base: type) -> Any:
    """pymoo duplicate elimination by canonical form: an individual is a duplicate of an
    earlier one in its population, of any population passed, or of anything evaluated
    (``seen``), so every query NSGA-II spends is a new architecture."""
    memo: dict[tuple[int, ...], str] = {}

    def key(genes: np.ndarray) -> str:
        row = tuple(int(g) for g in np.asarray(genes))
        if row not in memo:
            memo[row] = space.canonical(_genes_to_arch(space, np.array(row)))
        return memo[row]

    class CanonicalDuplicates(base):
        def do(
            self, pop: Any, *others: Any, return_indices: bool = False, to_itself: bool = True
        ) -> Any:
            taken = set(seen)
            for other in others:
                if len(other):
                    taken.update(key(x) for x in other.get("X"))
            keep: list[int] = []
            dropped: list[int] = []
            for i in range(len(pop)):
                k = key(pop[i].get("X"))
                (dropped if k in taken else keep).append(i)
                taken.add(k)
            return (pop[keep], keep, dropped) if return_indices else pop[keep]

    return CanonicalDuplicates()


def _pymoo_problem(problem: Problem) -> Any:
    """genes -> F = (-accuracy, metrics) and G = budget value / budget - 1 (<= 0: within)."""
    from pymoo.core.problem import Problem as PymooProblem

    low, high = problem.space.bounds()
    metrics, names = problem.metrics, sorted(problem.budgets)

    class SpaceProblem(PymooProblem):
        def __init__(self) -> None:
            super().__init__(
                n_var=int(low.size),
                n_obj=1 + len(metrics),
                n_ieq_constr=len(names),
                xl=low,
                xu=high,
                vtype=int,
            )

        def _evaluate(self, x: np.ndarray, out: dict[str, Any], *_: Any, **__: Any) -> None:
            cands = problem.evaluate([_genes_to_arch(problem.space, g) for g in x])
            out["F"] = objectives(cands, metrics)
            if names:
                out["G"] = np.array(
                    [[c.budget_value(m) / problem.budgets[m] - 1.0 for m in names] for c in cands]
                )

    return SpaceProblem()


def nsga2(
    problem: Problem, *, queries: int, population: int, seed: int, step: StepCallback
) -> list[Candidate]:
    """NSGA-II until ``queries`` distinct architectures are evaluated (the last generation
    cut short if need be); ``step(generation, ceil(queries / population))`` after each.
    Stops early only if mating cannot produce a new architecture. Returns every
    candidate evaluated."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.termination import NoTermination

    algorithm = NSGA2(pop_size=population, **_operators(problem, problem.evaluate.seen))
    algorithm.setup(_pymoo_problem(problem), termination=NoTermination(), seed=seed)
    generations = math.ceil(queries / population)
    step(0, generations)
    generation = reported = 0
    while problem.evaluated < queries:
        infills = algorithm.ask()
        if infills is None or len(infills) == 0:
            break
        infills = infills[: queries - problem.evaluated]
        algorithm.evaluator.eval(algorithm.problem, infills)
        algorithm.tell(infills=infills)
        generation += 1
        # Generations cut short by mating shortfalls do not run the bar past its end.
        done = generations if problem.evaluated >= queries else min(generation, generations - 1)
        if done > reported:
            step(done, generations)
            reported = done
    return problem.candidates()
