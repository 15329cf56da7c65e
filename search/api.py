"""``hwnas.search(...)``: the best accuracy within hardware budgets, as one Python call.

::

    import hwnas

    result = hwnas.search(
        space="nb201",
        predictors={"latency_ms": "predictors/raspi4-latency"},  # or Predictor objects
        budgets={"latency_ms": 15},
        accuracy="tabular:cifar10",
        strategy="nsga2",          # or "random", "regevo", "exhaustive", "auto"
        budget_quantile=0.9,       # budgets on the predicted 0.9-quantile
    )
    result.pareto[0].arch, result.pareto[0].accuracy, result.pareto[0].metrics
    result.to_frame()          # one row per Pareto member
    result.save("out/")        # what `hwnas search -o out/` writes

The library prints nothing: pass ``progress=`` a callable to receive
:class:`hwnas.events.Event` objects (one ``"step"`` per generation). The strategies
live in ``hwnas.search.strategies``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hwnas.errors import ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.search.accuracy import AccuracySource
from hwnas.search.checkpoint import Checkpoint
from hwnas.search.inputs import (
    AccuracyLike,
    PredictorLike,
    resolve_accuracy,
    resolve_budgets,
    resolve_predictors,
    searched_space,
)
from hwnas.search.nsga import (
    Candidate,
    MetricPredictor,
    check_settings,
    hypervolume,
    reference_point,
)
from hwnas.search.report import convergence_png, pareto_png, software_versions
from hwnas.search.strategies import (
    SearchRun,
    check_evaluations,
    degenerate_archs,
    get_strategy,
    predictor_identity,
    run_search,
)
from hwnas.spaces import SearchSpace, resolve_space

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Candidate", "SearchResult", "search"]


SUMMARY = "search.json"
PARETO_CSV = "pareto.csv"
PARETO_PLOT = "pareto.png"
HISTORY = "history.parquet"
CONVERGENCE_PLOT = "convergence.png"
NOTHING_MET = "no architecture met the budgets"


@dataclass(kw_only=True)
class SearchResult:
    """What a search found and how: the feasible Pareto set first.

    ``pareto``: the non-dominated architectures within every budget, best accuracy first
    (:class:`Candidate`: ``arch``, ``accuracy``, ``metrics`` of predicted values, and
    ``upper``: the predicted ``budget_quantile`` of each budgeted metric when one was
    given); ``baseline``: the Pareto set of random search with as many predictor queries
    (empty after :meth:`load`: the files keep its hypervolume only); ``history``: one
    ``{"generation", "evaluated"}`` per generation (per batch for ``exhaustive``);
    ``strategy``: the strategy asked for, ``strategy_used``: the one that ran (what
    ``auto`` chose); ``evaluations``: the query budget, ``evaluated``: the distinct
    architectures predicted (the queries spent); ``reason``: why ``pareto`` is empty,
    else ``None``; ``warnings``: checks that ``force=True`` overrode.
    """

    space: str
    accuracy: str
    metrics: list[str]
    budgets: dict[str, float]
    pareto: list[Candidate]
    baseline: list[Candidate] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    evaluated: int
    seconds: float
    population: int
    generations: int
    seed: int
    hypervolume: float
    random_search_hypervolume: float
    hypervolume_reference: list[float]
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Added later: defaults are what older search.json files meant.
    strategy: str = "nsga2"
    strategy_used: str = "nsga2"
    evaluations: int | None = None
    budget_quantile: float | None = None
    #: With ``verify``: the device, the settings, each round and why the loop stopped.
    verify: dict[str, Any] | None = None
    #: Device measurements a verified search took (0 without ``verify``).
    measurements: int = 0
    #: Hypervolume (against ``hypervolume_reference``) of the predicted front by the end
    #: of each generation, beside random search's after as many queries; one row per
    #: generation (``round`` too after a verified search): see ``strategies.convergence``.
    convergence: list[dict[str, Any]] = field(default_factory=list)
    #: Versions of Python and the packages that shaped the result (``report.VERSIONED``).
    versions: dict[str, str] = field(default_factory=software_versions)
    #: Per metric, the predictor that predicted it: kind, training-set hash and size,
    #: device and fingerprint (``strategies.predictor_identity``).
    predictors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Pareto and baseline architectures that are degenerate (NB201: the output never
    #: sees the input, so accuracy is at chance): flagged, and left out of the plots.
    degenerate: list[str] = field(default_factory=list)
    #: Every architecture evaluated, one dict each (:meth:`evaluated_frame`); saved as
    #: ``history.parquet``, not in ``search.json``.
    archive: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The summary document: what ``hwnas search --json`` prints and ``search.json``
        holds (Pareto members as ``{"arch", "accuracy", <metric>: value ...}``)."""
        return {
            "space": self.space,
            "accuracy": self.accuracy,
            "budgets": self.budgets,
            "metrics": self.metrics,
            "population": self.population,
            "generations": self.generations,
            "seed": self.seed,
            "strategy": self.strategy,
            "strategy_used": self.strategy_used,
            "evaluations": self.evaluations,
            "budget_quantile": self.budget_quantile,
            "verify": self.verify,
            "measurements": self.measurements,
            "evaluated": self.evaluated,
            "seconds": round(self.seconds, 3),
            "hypervolume": self.hypervolume,
            "random_search_hypervolume": self.random_search_hypervolume,
            "hypervolume_reference": self.hypervolume_reference,
            "pareto": [_member(c) for c in self.pareto],
            "history": self.history,
            "convergence": self.convergence,
            "degenerate": self.degenerate,
            "predictors": self.predictors,
            "versions": self.versions,
        }

    def to_frame(self) -> pd.DataFrame:
        """The Pareto set as a pandas DataFrame: one row per member, best accuracy first;
        columns ``arch``, ``accuracy``, one per metric (predicted values), with a
        ``budget_quantile`` q ``<metric>_q<q>`` per budgeted metric (the quantile), and
        after a verified search ``<metric>_measured`` (the device's values)."""
        import pandas as pd

        upper = sorted({m for c in self.pareto for m in c.upper})
        measured = sorted({m for c in self.pareto for m in c.measured})
        rows = [
            [c.arch, c.accuracy, *(c.metrics[m] for m in self.metrics)]
            + [c.upper.get(m, math.nan) for m in upper]
            + [c.measured.get(m, math.nan) for m in measured]
            for c in self.pareto
        ]
        names = [f"{m}_q{self.budget_quantile:g}" for m in upper]
        names += [f"{m}_measured" for m in measured]
        return pd.DataFrame(rows, columns=["arch", "accuracy", *self.metrics, *names])

    def evaluated_frame(self) -> pd.DataFrame:
        """Every architecture the search evaluated (``history.parquet``): ``arch``,
        ``round`` (verified searches), ``generation``, ``accuracy``, each metric predicted
        (and its budget quantile), ``feasible``, ``degenerate``, and after a verified
        search ``<metric>_measured`` (NaN where not measured)."""
        import pandas as pd

        if self.archive:
            return pd.DataFrame(self.archive)
        columns = ["arch", "generation", "accuracy", *self.metrics, "feasible", "degenerate"]
        return pd.DataFrame(columns=columns)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``pareto.csv``, ``search.json``, ``history.parquet`` (every architecture
        evaluated), ``pareto.png`` and ``convergence.png`` into the directory ``path``
        (created if missing; ``ParameterError`` if it is a file); return it."""
        directory = Path(path)
        if directory.exists() and not directory.is_dir():
            raise ParameterError("path", f"{directory} exists and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.to_frame().to_csv(directory / PARETO_CSV, index=False)
        (directory / SUMMARY).write_text(json.dumps(self.to_dict(), indent=1))
        self.evaluated_frame().to_parquet(directory / HISTORY, index=False)
        _plot(self, directory / PARETO_PLOT)
        convergence_png(self, directory / CONVERGENCE_PLOT)
        return directory

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SearchResult:
        """The result :meth:`save` (or ``hwnas search -o``) wrote into ``path``, read from
        its ``search.json`` (``baseline`` comes back empty; its hypervolume is kept) and
        ``history.parquet`` when there is one (``archive``)."""
        file = Path(path) / SUMMARY
        try:
            doc = json.loads(file.read_text())
            metrics = list(doc["metrics"])
            pareto = [
                Candidate(
                    p["arch"],
                    float(p["accuracy"]),
                    {m: float(p[m]) for m in metrics},
                    {m: float(v) for m, v in p.get("upper", {}).items()},
                    {m: float(v) for m, v in p.get("measured", {}).items()},
                )
                for p in doc["pareto"]
            ]
            fields = {k: doc[k] for k in _SAVED_AS_IS}
            fields.update({k: doc[k] for k in _ADDED_LATER if k in doc})
            fields.setdefault("versions", {})
            fields["archive"] = _read_archive(Path(path) / HISTORY)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ParameterError(
                "path", f"holds no readable {SUMMARY} ({type(exc).__name__}: {exc})"
            ) from None
        return cls(
            **fields,
            metrics=metrics,
            pareto=pareto,
            reason=None if pareto else NOTHING_MET,
        )


_SAVED_AS_IS = (
    "space",
    "accuracy",
    "budgets",
    "population",
    "generations",
    "seed",
    "evaluated",
    "seconds",
    "hypervolume",
    "random_search_hypervolume",
    "hypervolume_reference",
    "history",
)
#: Keys newer versions write; an older search.json without them loads with the defaults.
_ADDED_LATER = (
    "strategy",
    "strategy_used",
    "evaluations",
    "budget_quantile",
    "verify",
    "measurements",
    "convergence",
    "degenerate",
    "predictors",
    "versions",
)


def _read_archive(file: Path) -> list[dict[str, Any]]:
    """The rows of ``history.parquet`` (none when the file is missing: older results)."""
    if not file.is_file():
        return []
    import pandas as pd

    rows = pd.read_parquet(file).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def _member(c: Candidate) -> dict[str, Any]:
    """A Pareto member in search.json: arch, accuracy, each metric, and ``upper`` (the
    budget quantiles) when there are any."""
    member: dict[str, Any] = {"arch": c.arch, "accuracy": c.accuracy, **c.metrics}
    if c.upper:
        member["upper"] = c.upper
    if c.measured:
        member["measured"] = c.measured
    return member


def _plot(result: SearchResult, file: Path) -> None:
    """Accuracy against the first metric: the Pareto set, random search and the budget,
    degenerate architectures left out (``hwnas.search.report.pareto_png``)."""
    pareto_png(result, file)


def search(
    *,
    space: str | SearchSpace,
    predictors: Mapping[str, PredictorLike] | Sequence[PredictorLike] | PredictorLike,
    budgets: Mapping[str, float] | Sequence[str] | str,
    accuracy: AccuracyLike = "tabular:cifar10",
    jobs: int = 1,
    executor: str | None = None,
    population: int = 50,
    generations: int = 30,
    seed: int = 0,
    strategy: str = "nsga2",
    evaluations: int | None = None,
    budget_quantile: float | None = None,
    verify: str | None = None,
    rounds: int = 3,
    verify_per_round: int = 10,
    max_measurements: int = 100,
    store: Any = None,
    profile_settings: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
) -> SearchResult:
    """Search ``space`` for the most accurate architectures within ``budgets``.

    - ``space``: a space name (``"nb201"``, ``"package.module:Class"``) or a SearchSpace.
    - ``predictors``: ``{metric: predictor}``, or a sequence of predictors (each names
      its ``.metric``; two of one metric are refused). A predictor is a fitted object
      with ``predict(archs)`` or a directory saved by ``Predictor.save``, loaded with
      ``hwnas.load_predictor`` and checked against ``space``.
    - ``budgets``: ``{metric: upper bound}`` or strings ``"latency_ms=15"``; every
      metric must have a predictor. Budgets are constraints: no Pareto member exceeds one.
    - ``accuracy``: ``"tabular[:cifar10|cifar100|imagenet16]"`` (nb201),
      ``"table:FILE[:COLUMN]"`` (your CSV/Parquet table, optionally gzipped: ``arch`` and
      an accuracy column; see ``hwnas.search.accuracy.TableAccuracy``),
      ``"proxy:naswot"``, ``"package.module:function"``, an ``AccuracySource``, or a
      function ``archs -> scores`` (higher is better). Tables and functions are asked
      once per equivalence class of architectures.
    - ``jobs``: worker processes (>= 1) that evaluate a ``package.module:function`` or a
      function given here, in chunks, order kept (``hwnas.executors.local_pool``); the
      function must then be importable by name (not a lambda or a closure), and a
      script that calls ``search`` must do so under ``if __name__ == "__main__":``. Other
      sources ignore it.
    - ``executor``: ``"dask://HOST:PORT"`` evaluates that function on a Dask cluster's
      workers instead (``pip install 'hwnas[dask]'``; ``hwnas.executors``), in about
      ``2 * jobs`` chunks; ``None`` or ``"local"``: local processes as ``jobs`` says.
    - ``population`` (>= 4), ``generations`` (>= 1), ``seed``: the size of a generation
      (NSGA-II's and regularized evolution's population), how many, and the seed; the
      same arguments give the same result.
    - ``strategy``: ``"nsga2"`` (pymoo's NSGA-II on the space's own sampling, mutation
      and crossover), ``"random"``, ``"regevo"`` (regularized evolution),
      ``"exhaustive"`` (every distinct architecture of a space of at most 100,000
      encodings, predicted in batches) or ``"auto"`` (exhaustive where it fits, else
      nsga2); see ``hwnas.search.strategies``.
    - ``evaluations``: predictor queries (distinct architectures evaluated) every
      strategy but exhaustive spends; default ``population * generations``.
    - ``budget_quantile``: q in (0, 1) to constrain the predicted q-quantile of each
      budgeted metric (from the predictor's interval, a normal approximation: see
      ``hwnas.search.nsga.quantile_from_interval``) rather than the point prediction;
      its predictors need calibrated intervals. ``None`` or 0.5: the point prediction.
    - ``verify``: a registered device (a table device too) to close the loop on:
      ``rounds`` times, search, measure the candidates that matter there (the predicted
      front, then those whose interval straddles a budget and could be on the true
      front; at most ``verify_per_round`` per round, ``max_measurements`` in all), add
      them to the predictors' training data and refit them (same options, same seed).
      The result then holds only architectures *measured* within every budget (those
      measured before included), each with ``measured`` values beside the predicted ones;
      ``measurements`` counts the device measurements and ``verify`` sums up the rounds
      (with ``advice`` where the last round's measurements joined the front: more
      measurements would likely find more; :func:`still_improving`). Every predictor
      must have been trained on that device's measurements in a store
      (``hwnas.train_predictor(device=...)``); ``store``: that store (default: the one
      the predictors were trained from); ``profile_settings``: timing settings of the
      verification measurements (as for :func:`hwnas.profile_space`).
    - ``checkpoint``: a directory for the search's checkpoint, written after every
      generation (``hwnas.search.checkpoint``: JSON, no pickle). Called again with the
      same arguments and directory after an interruption (Ctrl-C, a crash), the search
      takes its evaluations from there (and the device measurements of ``verify`` from
      the store) and ends with the result of an uninterrupted run; a directory holding
      another search's checkpoint is refused.
    - ``progress``: receives a ``"step"`` :class:`~hwnas.events.Event` per generation
      (stage ``"search"``), then stage ``"random search"`` (and with ``verify`` stage
      ``"verify"`` per round plus the profiling events), and ``"warning"`` events.
    - ``force``: use predictors whose directory does not match (space, version, edits).

    Wrong arguments raise :class:`~hwnas.errors.ParameterError` (also a ``ValueError``)
    naming the parameter, e.g. ``population must be >= 4, got 2``. When nothing meets
    the budgets, ``pareto`` is empty and ``reason`` says how far the closest came.
    Nothing is printed.
    """
    check_settings(population, generations, {}, [])
    check_evaluations(evaluations, population, generations)
    get_strategy(strategy)
    bounds = resolve_budgets(budgets)
    the_space = resolve_space(space)
    models, warnings = resolve_predictors(predictors, the_space, force=force)
    check_settings(population, generations, bounds, list(models))
    made = resolve_accuracy(accuracy, the_space, seed=seed, jobs=jobs, executor=executor)
    the_space = searched_space(the_space, models)
    report = emitter(progress)
    for message in warnings:
        report(Event("warning", stage="search", message=message))
    settings = {"population": population, "generations": generations, "seed": seed}
    saved = _checkpoint(
        checkpoint,
        the_space,
        made,
        bounds,
        models,
        {**settings, "strategy": strategy, "evaluations": evaluations},
        budget_quantile=budget_quantile,
        verify=None if verify is None else [verify, rounds, verify_per_round, max_measurements],
    )
    source = made if saved is None else saved.accuracy(made)
    report = report if saved is None else saved.saving(report)

    def one_search(predicted_by: Mapping[str, MetricPredictor]) -> SearchRun:
        return run_search(
            the_space,
            source,
            predicted_by,
            budgets=bounds,
            strategy=strategy,
            evaluations=evaluations,
            budget_quantile=budget_quantile,
            progress=report,
            **settings,
        )

    try:
        if verify is None:
            run = one_search(models)
            if saved is not None:
                saved.finish()
            return _result(run, the_space, source, bounds, sorted(models), settings, warnings)
        loop = VerifySettings(verify, rounds, verify_per_round, max_measurements, store)
        context = (models, the_space, source, bounds, settings, warnings)
        return _verified(loop, one_search, *context, profile_settings, report, saved)
    finally:
        if saved is not None:
            saved.save()  # what the interrupted generation evaluated is kept too
        if made is not accuracy:  # made here: stop its worker processes (jobs > 1)
            made.close()


def _checkpoint(
    directory: str | os.PathLike[str] | None,
    space: SearchSpace,
    source: AccuracySource,
    budgets: Mapping[str, float],
    models: Mapping[str, MetricPredictor],
    settings: Mapping[str, Any],
    **more: Any,
) -> Checkpoint | None:
    """The search's checkpoint in ``directory`` (None without one), identified by what
    decides its result."""
    if directory is None:
        return None
    from hwnas.spaces import space_reference

    identity = {
        "hwnas": software_versions()["hwnas"],
        **more,
        "space": space_reference(space),
        "accuracy": source.name,
        "budgets": dict(budgets),
        "predictors": {m: predictor_identity(p) for m, p in sorted(models.items())},
        **settings,
    }
    return Checkpoint(directory, identity)


@dataclass(frozen=True)
class VerifySettings:
    """``search``'s verify arguments: the device, the loop's bounds and the store."""

    device: str
    rounds: int
    per_round: int
    max_measurements: int
    store: Any = None


def _verified(
    loop: VerifySettings,
    one_search: Callable[[Mapping[str, MetricPredictor]], SearchRun],
    models: Mapping[str, MetricPredictor],
    space: SearchSpace,
    source: AccuracySource,
    budgets: dict[str, float],
    settings: dict[str, int],
    warnings: list[str],
    profile_settings: Mapping[str, Any] | None,
    progress: ProgressCallback,
    checkpoint: Checkpoint | None = None,
) -> SearchResult:
    """The closed loop of :mod:`hwnas.search.verify` on ``loop.device``, as a result whose
    Pareto set holds only architectures measured within every budget."""
    from hwnas.search.verify import DeviceLoop, check_verify_settings, refine

    check_verify_settings(loop.rounds, loop.per_round, loop.max_measurements)
    if not isinstance(loop.device, str) or not loop.device:
        raise ParameterError("verify", f"must name a registered device, got {loop.device!r}")
    bound = DeviceLoop.for_predictors(
        space=space,
        device=loop.device,
        predictors=models,
        store=loop.store,
        settings=profile_settings,
        progress=progress,
    )
    if checkpoint is not None:  # a resumed loop: what was measured before its first start
        bound.before = checkpoint.measured_before(lambda: list(bound.known()))
    runs: list[SearchRun] = []

    def search_round(
        predicted_by: Mapping[str, MetricPredictor],
    ) -> tuple[list[Candidate], list[Candidate]]:
        runs.append(one_search(predicted_by))
        return runs[-1].pareto, runs[-1].candidates

    started = time.perf_counter()
    refined = refine(
        search_round=search_round,
        predictors=models,
        measure=bound.measure,
        retrain=bound.retrain,
        accuracy=source.evaluate,
        budgets=budgets,
        known=bound.known(),
        rounds=loop.rounds,
        per_round=loop.per_round,
        max_measurements=loop.max_measurements,
        progress=progress,
        degenerate=lambda archs: degenerate_archs(space, archs),
    )
    if checkpoint is not None:
        checkpoint.finish()
    result = _result(runs[-1], space, source, budgets, sorted(models), settings, warnings)
    result.pareto = _as_candidates(refined.pareto, refined.predictors)
    ref = reference_point([*result.pareto, *runs[-1].baseline], result.metrics)
    result.hypervolume = hypervolume(result.pareto, result.metrics, ref)
    result.random_search_hypervolume = hypervolume(runs[-1].baseline, result.metrics, ref)
    result.hypervolume_reference = ref.tolist()
    result.reason = None if result.pareto else _why_none_measured(refined, budgets)
    result.measurements = refined.measurements
    result.seconds = time.perf_counter() - started
    result.verify = _verify_summary(loop, bound.store, refined)
    measured = {a: dict(c.measured) for a, c in refined.checked.items()}
    return _with_outputs(
        result, runs, space, budgets, predictors=refined.predictors, measured=measured
    )


def _verify_summary(loop: VerifySettings, store: str, refined: Any) -> dict[str, Any]:
    """``SearchResult.verify``: the loop's settings, each round, why it stopped, which
    measurement each Pareto member's is (0: the store's before the loop, r: round r), and
    ``advice`` (:func:`still_improving`)."""
    return {
        "device": loop.device,
        "store": store,
        "rounds": loop.rounds,
        "verify_per_round": loop.per_round,
        "max_measurements": loop.max_measurements,
        "measured_before": sum(1 for c in refined.checked.values() if c.round == 0),
        "per_round": [r.to_dict() for r in refined.rounds],
        "stopped": refined.stopped,
        "pareto_rounds": {c.arch: c.round for c in refined.pareto},
        "advice": still_improving(refined, loop.rounds, loop.max_measurements),
    }


def still_improving(refined: Any, rounds: int, max_measurements: int) -> str | None:
    """Advice when the front was still growing: the last round's measurements are on the
    returned front, and the loop ended on its ``rounds`` or ``max_measurements`` (not for
    want of candidates worth measuring). On a device whose single measurements scatter,
    the front is made of the architectures that happened to measure fast, and only more
    measurements find more of them (``benchmarks/search_bound.py``: on the raspi4 table,
    200 measurements reach 0.968 of the true front's hypervolume, 300 reach 0.978).
    ``None`` otherwise."""
    bounded = len(refined.rounds) == rounds or refined.measurements >= max_measurements
    if not refined.rounds or not bounded:
        return None
    last = refined.rounds[-1].round
    joined = sum(1 for c in refined.pareto if c.round == last)
    if not joined:
        return None
    return (
        f"the front was still improving: {joined} of the {len(refined.pareto)} returned "
        f"architecture(s) came from the last round's measurements; more rounds (rounds=, "
        f"--rounds) or measurements (max_measurements=, --max-measurements) would likely "
        f"find more"
    )


def _as_candidates(
    checked: Sequence[Any], predictors: Mapping[str, MetricPredictor]
) -> list[Candidate]:
    """Measured architectures as Pareto members: the final predictors' values in
    ``metrics``, the device's in ``measured``."""
    archs = [c.arch for c in checked]
    values = {m: np.asarray(p.predict(archs), dtype=float) for m, p in predictors.items()}
    return [
        Candidate(
            c.arch,
            c.accuracy,
            {m: float(v[i]) for m, v in values.items()},
            measured=dict(c.measured),
        )
        for i, c in enumerate(checked)
    ]


def _why_none_measured(refined: Any, budgets: Mapping[str, float]) -> str:
    """Nothing measured within the budgets: the lowest measured value of each."""
    lowest = {
        m: min((c.measured[m] for c in refined.checked.values() if m in c.measured), default=None)
        for m in sorted(budgets)
    }
    shown = ", ".join(
        f"{m} <= {budgets[m]:g} (lowest measured: {v:.4g})"
        for m, v in lowest.items()
        if v is not None
    )
    return (
        f"no architecture was measured within the budgets ({len(refined.checked)} measured"
        f"{'; ' + shown if shown else ''}); loosen the budgets or measure more "
        f"(max_measurements, rounds)"
    )


def _result(
    run: SearchRun,
    space: SearchSpace,
    source: AccuracySource,
    budgets: dict[str, float],
    metrics: list[str],
    settings: dict[str, int],
    warnings: list[str],
) -> SearchResult:
    """The run scored: hypervolumes of the search's and random search's fronts against
    one reference point just worse than both."""
    ref = reference_point([*run.pareto, *run.baseline], metrics)
    result = SearchResult(
        space=space.name,
        accuracy=source.name,
        metrics=metrics,
        budgets=budgets,
        pareto=run.pareto,
        baseline=run.baseline,
        history=run.history,
        evaluated=run.evaluated,
        seconds=run.seconds,
        hypervolume=hypervolume(run.pareto, metrics, ref),
        random_search_hypervolume=hypervolume(run.baseline, metrics, ref),
        hypervolume_reference=ref.tolist(),
        reason=None if run.pareto else _why_nothing(run, budgets),
        warnings=warnings,
        strategy=run.strategy,
        strategy_used=run.strategy_used,
        evaluations=run.evaluations,
        budget_quantile=run.budget_quantile,
        population=settings["population"],
        generations=settings["generations"],
        seed=settings["seed"],
    )
    return _with_outputs(result, [run], space, budgets)


def _with_outputs(
    result: SearchResult,
    runs: Sequence[SearchRun],
    space: SearchSpace,
    budgets: Mapping[str, float],
    *,
    predictors: Mapping[str, MetricPredictor] | None = None,
    measured: Mapping[str, Mapping[str, float]] | None = None,
) -> SearchResult:
    """``result`` with what its files keep beside the Pareto set: every architecture the
    ``runs`` evaluated (tagged by round when ``measured``, i.e. verified), hypervolume
    per generation against ``result``'s reference point, the predictors' identities
    (``predictors``, else the last run's) and the degenerate architectures shown."""
    from hwnas.search.strategies import (
        archive_rows,
        convergence,
        degenerate_archs,
        predictor_identity,
    )

    rounds = measured is not None
    ref = np.asarray(result.hypervolume_reference, dtype=float)
    result.archive = archive_rows(runs, budgets, rounds=rounds, measured=measured)
    result.convergence = convergence(runs, result.metrics, budgets, ref, rounds=rounds)
    result.predictors = (
        {m: predictor_identity(p) for m, p in sorted(predictors.items())}
        if predictors is not None
        else dict(runs[-1].predictors)
    )
    shown = [c.arch for c in [*result.pareto, *result.baseline]]
    result.degenerate = sorted(degenerate_archs(space, shown))
    return result


def _why_nothing(run: SearchRun, budgets: Mapping[str, float]) -> str:
    """Which budgets were out of reach, with the lowest predicted value of each."""
    what = "predicted" if run.budget_quantile is None else f"q{run.budget_quantile:g} predicted"
    missed = [
        f"{m} <= {b:g} (lowest {what}: {run.lowest[m]:.4g})"
        for m, b in sorted(budgets.items())
        if m in run.lowest and run.lowest[m] > b
    ]
    detail = f" ({run.evaluated} evaluated; {', '.join(missed)})" if missed else ""
    return f"{NOTHING_MET}{detail}; loosen the budgets or check the predictors' units"
