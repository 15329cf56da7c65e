"""Search strategies behind one small interface, selectable by name, and the search run.

A :class:`Strategy` has one method::

    run(problem, *, queries, seed, step) -> list[Candidate]

It asks ``problem.evaluate`` (an :class:`~hwnas.search.nsga.Evaluator`) for
architectures until ``queries`` distinct (canonical) architectures have been evaluated,
calls ``step(done, total)`` as it goes, and returns everything it evaluated; the same
seed gives the same result. The number of predictor queries is therefore what every
strategy spends, so they compare fairly (``exhaustive`` excepted: it spends what the
space holds). Budgets are constraints on ``Candidate.budget_value``; the caller keeps
the feasible Pareto front (:func:`run_search`).

- ``nsga2`` (default): pymoo's NSGA-II on the space's own ``sample_distinct``,
  ``mutate`` and ``crossover`` (:func:`hwnas.search.nsga.nsga2`).
- ``random``: distinct random architectures (``space.sample_distinct``).
- ``regevo``: regularized evolution (Real et al., AAAI 2019), multi-objective and
  constrained (see :class:`RegularizedEvolution`).
- ``exhaustive``: every distinct architecture of an enumerable space, predicted in
  batches (:func:`enumerate_space`).
- ``auto``: ``exhaustive`` when the space has at most :data:`AUTO_LIMIT` encodings,
  else ``nsga2``; the run records which ran.
"""

from __future__ import annotations

import abc
import itertools
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hwnas.errors import ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.search.accuracy import AccuracySource
from hwnas.search.nsga import (
    Candidate,
    Evaluator,
    MetricPredictor,
    Problem,
    StepCallback,
    check_quantile,
    check_settings,
    hypervolume,
    nsga2,
    objectives,
    pareto_front,
)
from hwnas.spaces import InvalidArchError, SearchSpace

#: The most encodings ``exhaustive`` enumerates (decoding each is Python work).
ENUMERATION_LIMIT = 100_000
#: ``auto`` runs ``exhaustive`` up to this many encodings, ``nsga2`` beyond.
AUTO_LIMIT = 100_000
#: Architectures per batched predictor call in ``exhaustive``.
BATCH = 2048


class Strategy(abc.ABC):
    """How to spend a number of predictor queries on a problem (module docstring).

    ``population`` sets the size of a generation: the unit of progress of every strategy
    and the population of the evolutionary ones.
    """

    name: ClassVar[str]

    def __init__(self, *, population: int = 50) -> None:
        self.population = population

    @abc.abstractmethod
    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        """Evaluate up to ``queries`` distinct architectures through ``problem.evaluate``
        and return every candidate evaluated, in order."""

    def resolve(self, space: SearchSpace) -> Strategy:
        """The strategy that will run on ``space``: itself, except for ``auto``."""
        return self


def _report_rounds(
    step: StepCallback, problem: Problem, population: int, queries: int, reported: int
) -> int:
    """``step`` once per ``population`` new queries (the last at ``queries``); returns
    the last ``done`` reported."""
    total = math.ceil(queries / population)
    done = total if problem.evaluated >= queries else min(problem.evaluated // population, total)
    if done > reported:
        step(done, total)
    return max(done, reported)


class NSGA2Strategy(Strategy):
    """NSGA-II (pymoo) with the space's own operators; see :func:`hwnas.search.nsga.nsga2`."""

    name = "nsga2"

    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        return nsga2(problem, queries=queries, population=self.population, seed=seed, step=step)


class RandomSearch(Strategy):
    """``queries`` distinct architectures drawn uniformly over genes (seeded)."""

    name = "random"

    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        archs = problem.space.sample_distinct(seed, min(queries, problem.space.size()))
        step(0, math.ceil(len(archs) / self.population))
        reported = 0
        for start in range(0, len(archs), self.population):
            problem.evaluate(archs[start : start + self.population])
            reported = _report_rounds(step, problem, self.population, len(archs), reported)
        return problem.candidates()


class RegularizedEvolution(Strategy):
    """Regularized (aging) evolution, Real et al. 2019, with budgets and several objectives.

    A queue of ``population`` architectures (the first drawn at random); each cycle draws
    ``tournament`` members at random, mutates the winner with ``space.mutate`` (redrawn a
    few times if the child was evaluated already) and appends the child, and the oldest
    member dies whatever its quality: that aging is the regularization.

    The winner of a tournament: feasibility first (the least relative excess over the
    budgets if none is within), as in Deb's constrained tournament; among feasible
    members, the best under a random augmented-Tchebycheff scalarization of the
    objectives (weights drawn from a flat Dirichlet per tournament, objectives normalised
    to the population's range), as ParEGO does (Knowles 2006). One scalarization per
    tournament keeps Real et al.'s single winner, and over many tournaments the weights
    pull toward every part of the front, including non-convex parts (Tchebycheff), where
    a non-dominated rank within a small sample is mostly ties broken at random.

    ``tournament`` defaults to half the population, greedier than Real et al.'s quarter:
    at a few hundred queries selection pressure pays (NB201, 20 x 15, 10 seeds:
    hypervolume 0.94 of the exhaustive front's with half, 0.87 with a fifth).
    """

    name = "regevo"

    def __init__(self, *, population: int = 50, tournament: int | None = None) -> None:
        super().__init__(population=population)
        self.tournament = tournament or max(2, population // 2)

    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        rng = np.random.default_rng(seed)
        space = problem.space
        step(0, math.ceil(queries / self.population))
        first = space.sample_distinct(rng, min(self.population, queries, space.size()))
        alive: deque[Candidate] = deque(problem.evaluate(first), maxlen=self.population)
        reported = _report_rounds(step, problem, self.population, queries, 0)
        for _ in range(20 * queries):  # a bound: children already seen cost no query
            if problem.evaluated >= queries:
                break
            members = list(alive)
            drawn = rng.choice(len(members), size=min(self.tournament, len(members)), replace=False)
            parent = self._winner([members[i] for i in drawn], members, problem, rng)
            alive.append(problem.evaluate([self._child(parent.arch, problem, rng)])[0])
            reported = _report_rounds(step, problem, self.population, queries, reported)
        return problem.candidates()

    @staticmethod
    def _winner(
        drawn: list[Candidate],
        members: list[Candidate],
        problem: Problem,
        rng: np.random.Generator,
    ) -> Candidate:
        feasible = [c for c in drawn if c.feasible(problem.budgets)]
        if not feasible:
            return min(drawn, key=lambda c: c.violation(problem.budgets))
        every = objectives(members, problem.metrics)
        low, span = every.min(axis=0), np.ptp(every, axis=0)
        scaled = (objectives(feasible, problem.metrics) - low) / np.where(span > 0, span, 1.0)
        weighted = scaled * rng.dirichlet(np.ones(scaled.shape[1]))
        score = weighted.max(axis=1) + 0.05 * weighted.sum(axis=1)
        return feasible[int(np.argmin(score))]

    @staticmethod
    def _child(arch: str, problem: Problem, rng: np.random.Generator) -> str:
        child = arch
        for _ in range(8):
            try:
                child = problem.space.mutate(arch, rng)
            except InvalidArchError:
                continue
            if problem.space.canonical(child) not in problem.evaluate.seen:
                break
        return child


def encodings(space: SearchSpace) -> int:
    """How many integer vectors the space's bounds allow (what enumeration walks)."""
    low, high = space.bounds()
    return math.prod(int(h) - int(lo) + 1 for lo, h in zip(low, high, strict=True))


def enumerate_space(space: SearchSpace, *, limit: int = ENUMERATION_LIMIT) -> list[str]:
    """Every distinct (canonical) architecture of ``space``: the product over its bounds,
    decoded (vectors the space rejects skipped) and canonicalised, in encoding order.
    ``ParameterError`` (of ``strategy``) when there are more than ``limit`` encodings."""
    count = encodings(space)
    if count > limit:
        raise ParameterError(
            "strategy",
            f"'exhaustive' enumerates at most {limit:,} encodings; space {space.name!r} has "
            f"{count:,} ({space.size():,} architectures); use strategy='nsga2', or 'auto', "
            f"which picks exhaustive only where it fits",
        )
    low, high = space.bounds()
    found: dict[str, None] = {}
    axes = [range(int(a), int(b) + 1) for a, b in zip(low, high, strict=True)]
    for genes in itertools.product(*axes):
        try:
            arch = space.decode(np.array(genes, dtype=np.int64))
        except InvalidArchError:
            continue
        found.setdefault(space.canonical(arch), None)
    return list(found)


class Exhaustive(Strategy):
    """Every distinct architecture, predicted in batches of :data:`BATCH` (``queries``
    does not apply); ``step`` counts batches."""

    name = "exhaustive"

    def __init__(self, *, population: int = 50, limit: int = ENUMERATION_LIMIT) -> None:
        super().__init__(population=population)
        self.limit = limit

    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        archs = enumerate_space(problem.space, limit=self.limit)
        batches = max(1, math.ceil(len(archs) / BATCH))
        step(0, batches)
        for i in range(batches):
            problem.evaluate(archs[i * BATCH : (i + 1) * BATCH])
            step(i + 1, batches)
        return problem.candidates()


class Auto(Strategy):
    """``exhaustive`` when the space has at most ``limit`` encodings, else ``nsga2``."""

    name = "auto"

    def __init__(self, *, population: int = 50, limit: int = AUTO_LIMIT) -> None:
        super().__init__(population=population)
        self.limit = limit

    def resolve(self, space: SearchSpace) -> Strategy:
        if encodings(space) <= self.limit:
            return Exhaustive(population=self.population, limit=max(self.limit, ENUMERATION_LIMIT))
        return NSGA2Strategy(population=self.population)

    def run(
        self, problem: Problem, *, queries: int, seed: int, step: StepCallback
    ) -> list[Candidate]:
        chosen = self.resolve(problem.space)
        return chosen.run(problem, queries=queries, seed=seed, step=step)


#: Every strategy by name.
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (NSGA2Strategy, RandomSearch, RegularizedEvolution, Exhaustive, Auto)
}


def get_strategy(name: str, *, population: int = 50) -> Strategy:
    """The strategy registered as ``name`` (``ParameterError`` listing the names)."""
    if not isinstance(name, str) or name not in STRATEGIES:
        raise ParameterError(
            "strategy", f"must be one of {', '.join(sorted(STRATEGIES))}, got {name!r}"
        )
    return STRATEGIES[name](population=population)


@dataclass
class SearchRun:
    """What one run found: the feasible Pareto set, the random-search baseline's Pareto
    set (as many queries), the lowest budget value of every metric among everything
    evaluated (to say how far a budget nothing met is), and which strategy ran."""

    pareto: list[Candidate]
    evaluated: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    baseline: list[Candidate] = field(default_factory=list)
    lowest: dict[str, float] = field(default_factory=dict)
    strategy: str = "nsga2"
    strategy_used: str = "nsga2"
    evaluations: int = 0
    budget_quantile: float | None = None
    #: Every candidate evaluated (the verify loop looks for straddlers among them).
    candidates: list[Candidate] = field(default_factory=list)
    #: The generation (batch for ``exhaustive``) that first evaluated each of
    #: ``candidates`` (same order): the first ``history`` step that had counted it.
    generations: list[int] = field(default_factory=list)
    #: Everything random search evaluated, in order (empty when ``exhaustive`` ran: its
    #: front is the baseline's).
    baseline_candidates: list[Candidate] = field(default_factory=list)
    #: The architectures among ``candidates`` that are degenerate (:func:`degenerate_archs`).
    degenerate: set[str] = field(default_factory=set)
    #: Per metric, what identifies the predictor used (:func:`predictor_identity`).
    predictors: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_evaluations(evaluations: int | None, population: int, generations: int) -> int:
    """The query budget: ``evaluations``, or ``population * generations`` when None."""
    if evaluations is None:
        return population * generations
    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
        raise ParameterError("evaluations", f"must be an integer >= 1, got {evaluations!r}")
    return evaluations


def run_search(
    space: SearchSpace,
    accuracy: AccuracySource,
    predictors: Mapping[str, MetricPredictor],
    *,
    budgets: Mapping[str, float],
    population: int = 50,
    generations: int = 30,
    seed: int = 0,
    strategy: str = "nsga2",
    evaluations: int | None = None,
    budget_quantile: float | None = None,
    progress: ProgressCallback | None = None,
) -> SearchRun:
    """Run ``strategy`` on the space, then random search with as many queries.

    ``predictors`` maps each metric to its predictor; every budget must name one of
    them. ``evaluations`` (default ``population * generations``) is the number of
    predictor queries; ``budget_quantile`` q makes budgets apply to the predicted
    q-quantile. Bad settings raise ``ParameterError`` naming the parameter. Progress:
    ``"step"`` events of stage ``"search"`` (generations, or batches for exhaustive),
    then stage ``"random search"``. The same seed gives the same result.
    """
    check_settings(population, generations, budgets, list(predictors))
    queries = check_evaluations(evaluations, population, generations)
    chosen = get_strategy(strategy, population=population).resolve(space)
    quantile = check_quantile(budget_quantile, predictors, budgets)
    report = emitter(progress)
    evaluate = Evaluator(space, accuracy, predictors, quantile=quantile, budgeted=list(budgets))
    problem = Problem(space, evaluate, dict(budgets))
    history: list[dict[str, Any]] = []

    def step(done: int, total: int) -> None:
        if done:
            history.append({"generation": done, "evaluated": problem.evaluated})
        report(Event("step", stage="search", done=done, total=total))

    started = time.perf_counter()
    found = chosen.run(problem, queries=queries, seed=seed, step=step)
    seconds = time.perf_counter() - started
    metrics = problem.metrics
    pareto = pareto_front(found, metrics, budgets)
    # Random search with as many queries as an exhaustive run evaluates every
    # architecture too: its front is the same (and drawing it would be coupon collecting).
    exhausted = pareto if isinstance(chosen, Exhaustive) else None
    baseline, drawn = random_baseline(problem, len(found), seed, report, exhausted=exhausted)
    return SearchRun(
        pareto=pareto,
        evaluated=len(found),
        seconds=seconds,
        history=history,
        baseline=baseline,
        lowest={m: min(c.budget_value(m) for c in found) for m in metrics} if found else {},
        strategy=strategy,
        strategy_used=chosen.name,
        evaluations=queries,
        budget_quantile=budget_quantile,
        candidates=found,
        generations=generation_tags(history, len(found)),
        baseline_candidates=drawn,
        degenerate=degenerate_archs(space, [c.arch for c in found]),
        predictors={m: predictor_identity(p) for m, p in sorted(predictors.items())},
    )


def predictor_identity(model: Any) -> dict[str, Any]:
    """What identifies a predictor, as far as it says: ``kind`` (else its class),
    ``metric``, ``training_hash`` and ``n_train`` (its training set) and, from
    ``origin_``, the ``device``, ``fingerprint``, ``source`` and ``precision`` of its data."""
    origin = getattr(model, "origin_", None)
    found = {
        "kind": getattr(model, "kind", None) or type(model).__name__,
        "metric": getattr(model, "metric", None),
        "training_hash": getattr(model, "training_hash_", None),
        "n_train": getattr(model, "n_train_", None),
        "device": getattr(origin, "device", None),
        "fingerprint": getattr(origin, "fingerprint", None),
        "source": getattr(origin, "source", None),
        "precision": getattr(origin, "precision", None),
    }
    return {k: (int(v) if k == "n_train" else str(v)) for k, v in found.items() if v is not None}


def generation_tags(history: Sequence[Mapping[str, Any]], count: int) -> list[int]:
    """The generation of each of ``count`` candidates in evaluation order: the first
    ``history`` entry (``{"generation", "evaluated"}``, ``evaluated`` cumulative) whose
    count includes it; the last entry's past the end (0 without history)."""
    tags: list[int] = []
    steps = [(int(h["evaluated"]), int(h["generation"])) for h in history]
    last = steps[-1][1] if steps else 0
    k = 0
    for i in range(count):
        while k < len(steps) and steps[k][0] < i + 1:
            k += 1
        tags.append(steps[k][1] if k < len(steps) else last)
    return tags


def degenerate_archs(space: SearchSpace, archs: Sequence[str]) -> set[str]:
    """The architectures of ``archs`` the space calls degenerate: its
    ``is_degenerate(arch)``, else its ``is_disconnected(arch)`` (NB201: cells whose output
    never sees the input, at chance accuracy whatever their ops); none if it has neither."""
    check = getattr(space, "is_degenerate", None) or getattr(space, "is_disconnected", None)
    if not callable(check):
        return set()
    return {a for a in dict.fromkeys(archs) if check(a)}


def random_baseline(
    problem: Problem,
    queries: int,
    seed: int,
    report: ProgressCallback,
    *,
    exhausted: list[Candidate] | None = None,
) -> tuple[list[Candidate], list[Candidate]]:
    """The Pareto set of ``queries`` distinct random architectures (seed + 1), evaluated
    with ``problem``'s results shared, so nothing is computed twice, and everything it
    evaluated in order; ``exhausted`` when ``queries`` covered the whole space (the front
    of every architecture; nothing is drawn then)."""
    report(Event("step", stage="random search", done=0, total=1))
    found: list[Candidate] = []
    if exhausted is None:
        baseline = Problem(problem.space, problem.evaluate.fresh(), problem.budgets)
        found = RandomSearch().run(baseline, queries=queries, seed=seed + 1, step=_ignore)
        exhausted = pareto_front(found, problem.metrics, problem.budgets)
    report(Event("step", stage="random search", done=1, total=1))
    return exhausted, found


def _ignore(done: int, total: int) -> None:
    """A ``step`` that reports nothing."""


# -- what a run leaves behind: every architecture evaluated, and convergence ------------


def archive_rows(
    runs: Sequence[SearchRun],
    budgets: Mapping[str, float],
    *,
    rounds: bool = False,
    measured: Mapping[str, Mapping[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """One row per architecture each run evaluated, in order: ``arch``, ``round`` (the
    run's number from 1, when ``rounds``), ``generation``, ``accuracy``, each metric
    predicted, the budget quantile ``<metric>_q<q>`` where there is one, ``feasible``
    (within every budget as the search judged it), ``degenerate``, and with ``measured``
    (arch -> the device's values) ``<metric>_measured`` (NaN where not measured)."""
    rows: list[dict[str, Any]] = []
    for number, run in enumerate(runs, start=1):
        q = run.budget_quantile
        metrics = sorted({m for c in run.candidates[:1] for m in c.metrics})
        for cand, generation in zip(run.candidates, run.generations, strict=True):
            row: dict[str, Any] = {"arch": cand.arch}
            if rounds:
                row["round"] = number
            row.update(generation=generation, accuracy=cand.accuracy, **cand.metrics)
            row.update({f"{m}_q{q:g}": v for m, v in cand.upper.items()})
            row["feasible"] = cand.feasible(budgets)
            row["degenerate"] = cand.arch in run.degenerate
            if measured is not None:
                got = measured.get(cand.arch, {})
                row.update({f"{m}_measured": got.get(m, math.nan) for m in metrics})
            rows.append(row)
    return rows


def convergence(
    runs: Sequence[SearchRun],
    metrics: Sequence[str],
    budgets: Mapping[str, float],
    ref: np.ndarray,
    *,
    rounds: bool = False,
) -> list[dict[str, Any]]:
    """Hypervolume (against ``ref``) of the feasible front found by the end of each
    generation of each run, beside random search's after as many queries (``None``
    where random search drew nothing: ``exhaustive``'s baseline is its own front): one
    ``{"round"?, "generation", "evaluated", "hypervolume", "random_search_hypervolume"}``
    per ``history`` step, ``round`` (from 1) when ``rounds``."""
    rows: list[dict[str, Any]] = []
    for number, run in enumerate(runs, start=1):
        counts = [int(h["evaluated"]) for h in run.history]
        ours = _front_growth(run.candidates, counts, metrics, budgets, ref)
        theirs: list[float | None] = [None] * len(counts)
        if run.baseline_candidates:
            theirs = list(_front_growth(run.baseline_candidates, counts, metrics, budgets, ref))
        for h, hv, random_hv in zip(run.history, ours, theirs, strict=True):
            row: dict[str, Any] = {"round": number} if rounds else {}
            row.update(generation=int(h["generation"]), evaluated=int(h["evaluated"]))
            row.update(hypervolume=hv, random_search_hypervolume=random_hv)
            rows.append(row)
    return rows


def _front_growth(
    cands: Sequence[Candidate],
    counts: Sequence[int],
    metrics: Sequence[str],
    budgets: Mapping[str, float],
    ref: np.ndarray,
) -> list[float]:
    """The hypervolume of the feasible front of the first ``n`` candidates, for each
    ``n`` of ``counts`` (non-decreasing); the front grows incrementally."""
    front: list[Candidate] = []
    done = 0
    out: list[float] = []
    for n in counts:
        if n > done:
            front = pareto_front([*front, *cands[done:n]], metrics, budgets)
            done = n
        out.append(hypervolume(front, metrics, ref))
    return out


__all__ = [
    "AUTO_LIMIT",
    "ENUMERATION_LIMIT",
    "STRATEGIES",
    "Auto",
    "Exhaustive",
    "NSGA2Strategy",
    "RandomSearch",
    "RegularizedEvolution",
    "SearchRun",
    "Strategy",
    "archive_rows",
    "convergence",
    "degenerate_archs",
    "enumerate_space",
    "generation_tags",
    "get_strategy",
    "predictor_identity",
    "run_search",
]
