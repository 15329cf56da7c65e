"""Close the loop: measure what a search returns on the device, retrain, search again.

A search on predicted metrics returns architectures whose true metrics may exceed a
budget (the predictor is off by a few percent near it) and misses better ones predicted
just over it. :func:`refine` runs rounds of

1. a search with the current predictors;
2. the *candidates that matter* measured on the device, at most ``per_round`` per round
   and ``max_measurements`` in all: the batch of greatest expected hypervolume
   improvement over the front measured so far (:mod:`hwnas.search.acquire`) for half
   the batch, and for the other half the predicted Pareto set, most accurate first, then
   the architectures whose predictive interval straddles a budget (:func:`choose`);
3. the predictors retrained on their training data plus these measurements (same
   options, same seed: :meth:`~hwnas.predictors.base.FeaturePredictor.clone`);

and returns only architectures *measured* within every budget: the non-dominated ones
among everything measured (the training measurements included), each with its
predicted and measured values.

The loop is independent of where measurements come from: ``measure``, ``retrain`` and
``search_round`` are callables. :func:`hwnas.search` binds them to a device, a store and
a strategy (``verify=``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hwnas.errors import ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.search.nsga import Candidate, MetricPredictor

#: What one round's search gives: the predicted Pareto set and every candidate evaluated.
SearchRound = Callable[[Mapping[str, MetricPredictor]], tuple[list[Candidate], list[Candidate]]]
#: Measures architectures on the device: arch -> {metric: measured value} (a metric the
#: device did not measure is missing; an architecture that failed is missing).
Measure = Callable[[list[str]], Mapping[str, Mapping[str, float]]]
#: The predictors refitted on everything measured so far (same options, same seed).
Retrain = Callable[[], Mapping[str, MetricPredictor]]


#: How a round chooses what to measure (:func:`refine`'s ``selection``).
SELECTIONS = ("ehvi", "front", "hybrid")


@dataclass(frozen=True)
class Checked:
    """An architecture measured on the device: accuracy, the values predicted when it was
    chosen (empty for a training measurement) and the measured ones; ``round`` 0 is the
    training data, ``r >= 1`` the round that verified it."""

    arch: str
    accuracy: float
    predicted: dict[str, float]
    measured: dict[str, float]
    round: int

    def within(self, budgets: Mapping[str, float]) -> bool:
        """Whether every budgeted metric was measured and is within its budget."""
        return all(m in self.measured and self.measured[m] <= b for m, b in budgets.items())


@dataclass
class RoundReport:
    """One round: how many candidates the search predicted on its front, which were
    measured, and how many of those measured over a budget."""

    round: int
    predicted_front: int
    measured: list[str]
    over_budget: int
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "predicted_front": self.predicted_front,
            "measured": len(self.measured),
            "over_budget": self.over_budget,
            "failed": self.failed,
        }


@dataclass
class Refined:
    """What :func:`refine` found: ``pareto`` (measured within every budget and
    non-dominated on measured values, most accurate first), every measured architecture
    (``checked``), the rounds, the device measurements taken by the loop, why it stopped
    before its last round (``stopped``), and the last round's predicted front and
    predictors."""

    pareto: list[Checked]
    checked: dict[str, Checked]
    rounds: list[RoundReport]
    measurements: int
    predictors: Mapping[str, MetricPredictor]
    last_front: list[Candidate] = field(default_factory=list)
    last_evaluated: list[Candidate] = field(default_factory=list)
    stopped: str | None = None


def check_verify_settings(rounds: int, per_round: int, max_measurements: int) -> None:
    """``ParameterError`` naming the parameter unless each is an int >= 1."""
    for name, value in (
        ("rounds", rounds),
        ("verify_per_round", per_round),
        ("max_measurements", max_measurements),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(name, f"must be an int >= 1, got {value!r}")


def refine(
    *,
    search_round: SearchRound,
    predictors: Mapping[str, MetricPredictor],
    measure: Measure,
    retrain: Retrain,
    accuracy: Callable[[list[str]], np.ndarray],
    budgets: Mapping[str, float],
    known: Mapping[str, Mapping[str, float]] | None = None,
    rounds: int = 3,
    per_round: int = 10,
    max_measurements: int = 100,
    progress: ProgressCallback | None = None,
    degenerate: Callable[[Sequence[str]], set[str]] | None = None,
    selection: str = "hybrid",
) -> Refined:
    """Search, measure the candidates that matter, retrain; ``rounds`` times at most.

    ``known``: architectures measured before (the training data: arch -> measured
    values); they are never measured again and may be returned. The loop stops early
    when ``max_measurements`` are taken or a round finds nothing new worth measuring
    (``stopped`` says which). What a round measures (``selection``): ``"hybrid"``
    (default), half the room by :func:`choose` (the predicted front, most accurate
    first, then the straddlers), the rest by :func:`hwnas.search.acquire.choose_ehvi`
    (greatest expected hypervolume improvement over the measured front, the first half
    taken to measure as predicted); ``"ehvi"``, all by expected improvement; ``"front"``,
    all by :func:`choose` (the rule before). Expected improvement leaves out what
    ``degenerate`` names; where neither half picks anything, :func:`choose`'s batch is
    measured. ``benchmarks/verify_selection.py`` compares the three. Each round
    is announced as a ``"step"`` event of stage ``"verify"``; a ``"note"`` event sums it up.
    """
    check_verify_settings(rounds, per_round, max_measurements)
    if selection not in SELECTIONS:
        raise ParameterError(
            "selection", f"must be one of {', '.join(SELECTIONS)}, got {selection!r}"
        )
    report = emitter(progress)
    checked = _known(known or {}, accuracy)
    out = Refined(pareto=[], checked=checked, rounds=[], measurements=0, predictors=predictors)
    for number in range(1, rounds + 1):
        report(Event("step", stage="verify", done=number - 1, total=rounds))
        front, evaluated = search_round(out.predictors)
        out.last_front, out.last_evaluated = front, evaluated
        room = min(per_round, max_measurements - out.measurements)
        chosen = _next_batch(
            front, evaluated, out.predictors, budgets, checked, room, degenerate, selection
        )
        if not chosen:
            out.stopped = "nothing new to measure: every candidate that matters is measured"
            break
        done = _measure_round(number, chosen, front, measure, budgets, checked)
        out.rounds.append(done)
        out.measurements += len(chosen)
        report(Event("note", stage="verify", message=_summary(done)))
        if out.measurements >= max_measurements and number < rounds:
            out.stopped = f"reached max_measurements={max_measurements}"
            break
        if number < rounds:
            out.predictors = retrain()
    report(Event("step", stage="verify", done=rounds, total=rounds))
    out.pareto = measured_front(list(checked.values()), budgets, sorted(predictors))
    return out


def _next_batch(
    front: Sequence[Candidate],
    evaluated: Sequence[Candidate],
    predictors: Mapping[str, MetricPredictor],
    budgets: Mapping[str, float],
    checked: Mapping[str, Checked],
    room: int,
    degenerate: Callable[[Sequence[str]], set[str]] | None,
    selection: str,
) -> list[Candidate]:
    """The round's batch: expected hypervolume improvement, else :func:`choose`
    (``"front"``: :func:`choose` alone; ``"hybrid"``: half the room by :func:`choose`,
    the rest by expected improvement with those taken to measure as predicted)."""
    from hwnas.search.acquire import choose_ehvi

    def rule_before() -> list[Candidate]:
        return choose(front, evaluated, predictors, budgets, set(checked), room)

    if selection == "front":
        return rule_before()
    # "ehvi" needs the rule before only when expected improvement picks nothing.
    old = rule_before() if selection == "hybrid" else None
    first = old[: room // 2] if old is not None else []
    pool = list({c.arch: c for c in [*front, *evaluated]}.values())
    measured = {a: (c.accuracy, c.measured) for a, c in checked.items()}
    measured.update({c.arch: (c.accuracy, dict(c.metrics)) for c in first})
    picked = choose_ehvi(
        pool, predictors, budgets, measured, room - len(first), degenerate=degenerate
    )
    return [*first, *picked] or (old if old is not None else rule_before())


def _known(
    known: Mapping[str, Mapping[str, float]], accuracy: Callable[[list[str]], np.ndarray]
) -> dict[str, Checked]:
    archs = list(known)
    scores = accuracy(archs) if archs else np.zeros(0)
    return {
        a: Checked(a, float(s), {}, {m: float(v) for m, v in known[a].items()}, 0)
        for a, s in zip(archs, scores, strict=True)
    }


def _measure_round(
    number: int,
    chosen: list[Candidate],
    front: list[Candidate],
    measure: Measure,
    budgets: Mapping[str, float],
    checked: dict[str, Checked],
) -> RoundReport:
    """Measure ``chosen``; each one measured goes into ``checked``."""
    values = measure([c.arch for c in chosen])
    over = failed = 0
    for cand in chosen:
        got = values.get(cand.arch)
        if not got:
            failed += 1
            continue
        item = Checked(cand.arch, cand.accuracy, dict(cand.metrics), dict(got), number)
        checked[cand.arch] = item
        over += not item.within(budgets)
    return RoundReport(number, len(front), [c.arch for c in chosen], over, failed)


def _summary(done: RoundReport) -> str:
    failed = f", {done.failed} failed" if done.failed else ""
    return (
        f"round {done.round}: measured {len(done.measured)} candidate(s) "
        f"({done.over_budget} over a budget{failed}); predicted front: {done.predicted_front}"
    )


def _bounds(
    cands: Sequence[Candidate], predictors: Mapping[str, MetricPredictor], metrics: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Interval ends of every metric of ``cands``: the predictor's interval where it has
    one, else the point prediction at both ends."""
    archs = [c.arch for c in cands]
    low: dict[str, np.ndarray] = {}
    high: dict[str, np.ndarray] = {}
    for m in metrics:
        point = np.array([c.metrics[m] for c in cands], dtype=float)
        interval = getattr(predictors[m], "predict_interval", None)
        if interval is None or not archs:
            low[m] = high[m] = point
            continue
        got = interval(archs)
        low[m] = np.minimum(np.asarray(got.low, dtype=float), point)
        high[m] = np.maximum(np.asarray(got.high, dtype=float), point)
    return low, high


def choose(
    front: Sequence[Candidate],
    evaluated: Sequence[Candidate],
    predictors: Mapping[str, MetricPredictor],
    budgets: Mapping[str, float],
    measured: set[str],
    room: int,
) -> list[Candidate]:
    """The candidates that matter, not yet measured, at most ``room``: the predicted front
    (most accurate first), then candidates whose interval straddles a budget and that could
    be on the true front (:func:`_straddlers`), most accurate first."""
    if room <= 0:
        return []
    pool = list({c.arch: c for c in [*front, *evaluated]}.values())
    metrics = sorted({*budgets, *(pool[0].metrics if pool else ())})
    order = sorted(front, key=lambda c: -c.accuracy)
    if pool:
        order += _straddlers(pool, predictors, budgets, metrics)
    picked: dict[str, Candidate] = {}
    for cand in order:
        if cand.arch not in measured and cand.arch not in picked:
            picked[cand.arch] = cand
        if len(picked) == room:
            break
    return list(picked.values())


def _straddlers(
    pool: list[Candidate],
    predictors: Mapping[str, MetricPredictor],
    budgets: Mapping[str, float],
    metrics: Sequence[str],
) -> list[Candidate]:
    """Candidates whose interval straddles a budget (within it at the low end, over it at
    the high end) that could be on the true front: no candidate surely within every
    budget (high ends) is at least as accurate and at least as good on every metric at
    its high ends as the straddler at its low ends. Most accurate first."""
    low, high = _bounds(pool, predictors, metrics)
    possible = np.ones(len(pool), dtype=bool)
    unsure = np.zeros(len(pool), dtype=bool)
    for m, b in budgets.items():
        possible &= low[m] <= b
        unsure |= high[m] > b
    sure = np.flatnonzero(possible & ~unsure)
    acc = np.array([c.accuracy for c in pool])
    worst = np.column_stack([high[m] for m in metrics]) if metrics else np.zeros((len(pool), 0))
    best = np.column_stack([low[m] for m in metrics]) if metrics else np.zeros((len(pool), 0))
    found = []
    for i in np.flatnonzero(possible & unsure):
        beats = (acc[sure] >= acc[i]) & np.all(worst[sure] <= best[i], axis=1)
        strictly = (acc[sure] > acc[i]) | np.any(worst[sure] < best[i], axis=1)
        if not np.any(beats & strictly):
            found.append(pool[i])
    return sorted(found, key=lambda c: -c.accuracy)


def _non_dominated(objectives: np.ndarray) -> list[int]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    if len(objectives) == 0:
        return []
    return [int(i) for i in NonDominatedSorting().do(objectives, only_non_dominated_front=True)]


def measured_front(
    checked: Sequence[Checked], budgets: Mapping[str, float], metrics: Sequence[str] = ()
) -> list[Checked]:
    """The architectures measured within every budget that no other such one dominates on
    accuracy and the measured ``metrics`` (those of them every such architecture has; the
    budgeted ones at least), most accurate first."""
    ok = [c for c in checked if c.within(budgets)]
    if not ok:
        return []
    metrics = sorted({*budgets, *(m for m in metrics if all(m in c.measured for c in ok))})
    objectives = np.array([[-c.accuracy, *(c.measured[m] for m in metrics)] for c in ok])
    return sorted((ok[i] for i in _non_dominated(objectives)), key=lambda c: -c.accuracy)


# -- on a device, through the store ------------------------------------------------------


@dataclass
class DeviceLoop:
    """``measure``, ``retrain`` and ``known`` for :func:`refine` on a registered device:
    measurements through :func:`hwnas.profile_space` into ``store``; predictors refitted
    (:meth:`clone`, same options and seed) on the device's measurements of the same
    fingerprint in the store, the verified ones included; ``known``: those measurements.
    """

    space: Any
    device: str
    store: str
    predictors: Mapping[str, Any]
    fingerprint: str
    statistic: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The form the predictors learnt (``hwnas.spaces.forms``), kept when refitting.
    arch_form: str = "auto"
    #: The precision the predictors learnt (``Origin.precision``): what is measured and
    #: refitted on (None: whatever the store holds, as before precisions).
    precision: str | None = None
    progress: ProgressCallback | None = None
    #: Device measurements taken that ``profile_space`` did not reuse from the store.
    taken: int = 0
    #: The architectures measured before the loop began (set by the first :meth:`known`,
    #: or given to resume a loop); with ``asked``, what retraining learns from, so that
    #: the loop's figures do not depend on what else reaches the store meanwhile.
    before: set[str] | None = None
    #: The architectures the loop asked to measure.
    asked: set[str] = field(default_factory=set)

    @classmethod
    def for_predictors(
        cls,
        *,
        space: Any,
        device: str,
        predictors: Mapping[str, Any],
        store: Any = None,
        settings: Mapping[str, Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> DeviceLoop:
        """Check that every predictor was trained on ``device``'s measurements in a store
        (one fingerprint, a predictor that can be refitted); ``ParameterError`` of
        ``verify`` naming what differs and how to get a suitable predictor otherwise."""
        origins = {m: _origin(m, p, device) for m, p in predictors.items()}
        fingerprints = {o.fingerprint for o in origins.values()}
        if len(fingerprints) != 1:
            raise ParameterError(
                "verify",
                f"the predictors were trained on measurements of different fingerprints "
                f"({', '.join(sorted(str(f)[:12] for f in fingerprints))}); train them on one",
            )
        first = next(iter(origins.values()))
        where = store if store is not None else str(first.source).removeprefix("store ")
        return cls(
            space=space,
            device=device,
            store=str(where),
            predictors=dict(predictors),
            fingerprint=str(first.fingerprint),
            statistic=str(first.statistic or "p50"),
            settings=dict(settings or {}),
            arch_form=str(first.arch_form or "auto"),
            precision=getattr(first, "precision", None),
            progress=progress,
        )

    def _data(self, metric: str) -> Any:
        """The device's measurements of ``metric`` under the fingerprint, as training data."""
        from hwnas.predictors.data import from_store
        from hwnas.store import Store

        statistic = self.statistic if metric == "latency_ms" else "p50"
        with Store(self.store) as db:
            data = from_store(
                db,
                space=self.space,
                metric=metric,
                device=self.device,
                fingerprint=self.fingerprint,
                statistic=statistic,
                arch_form=self.arch_form,
                precision=self.precision,
            )
        if self.before is None:
            return data
        allowed = self.before | self.asked
        keep = [i for i, a in enumerate(data.archs) if a in allowed]
        return dataclasses.replace(
            data, archs=[data.archs[i] for i in keep], values=data.values[keep]
        )

    def _values(self, metric: str) -> dict[str, float]:
        data = self._data(metric)
        return dict(zip(data.archs, (float(v) for v in data.values), strict=True))

    def known(self) -> dict[str, dict[str, float]]:
        """Every architecture measured on the device under the fingerprint, with a value of
        every metric: at the first call, what the store holds (that becomes ``before``);
        later, ``before`` and what the loop asked to measure."""
        per_metric = {m: self._values(m) for m in self.predictors}
        archs = set.intersection(*(set(v) for v in per_metric.values())) if per_metric else set()
        if self.before is None:
            self.before = set(archs)
        return {a: {m: v[a] for m, v in per_metric.items()} for a in sorted(archs)}

    def measure(self, archs: list[str]) -> dict[str, dict[str, float]]:
        """Measure ``archs`` on the device (a stored measurement with the same settings
        is reused); their values as the predictors learn them."""
        from hwnas.profiler.api import profile_space
        from hwnas.profiler.settings import precision_settings

        self.asked.update(archs)
        done = profile_space(
            self.space,
            archs=archs,
            device=self.device,
            store=self.store,
            errors="collect",
            progress=self.progress,
            **{**self.settings, **precision_settings(self.precision)},
        )
        if done.interrupted:
            raise KeyboardInterrupt
        self.taken += len(done)
        changed = {m.fingerprint_hash for m in done} - {self.fingerprint}
        if changed:
            raise ParameterError(
                "verify",
                f"{self.device} now measures under fingerprint {sorted(changed)[0][:12]}, not "
                f"{self.fingerprint[:12]} that the predictors were trained on (its runtime "
                f"changed); train the predictors again on its new measurements",
            )
        known = self.known()
        return {a: known[a] for a in archs if a in known}

    def retrain(self) -> dict[str, Any]:
        """Each predictor refitted on the device's measurements now in the store."""
        fresh = {}
        for metric, old in self.predictors.items():
            data = self._data(metric)
            fresh[metric] = old.clone().fit(data.archs, data.values, origin=data.origin)
        self.predictors = fresh
        return fresh


def _origin(metric: str, predictor: Any, device: str) -> Any:
    """The predictor's ``origin_``, checked to be ``device``'s measurements in a store."""
    origin = getattr(predictor, "origin_", None)
    how = (
        f"train one on {device}'s measurements: hwnas.train_predictor(space=..., "
        f"metric={metric!r}, device={device!r}) (`hwnas predictor train --device {device}`)"
    )
    if not callable(getattr(predictor, "clone", None)) or origin is None:
        raise ParameterError(
            "verify", f"the {metric} predictor cannot be refitted on new measurements; {how}"
        )
    if origin.device != device or not str(origin.source or "").startswith("store "):
        where = f"device {origin.device!r}" if origin.device else "data not from a store"
        raise ParameterError(
            "verify",
            f"the {metric} predictor was trained on {where} ({origin.source}), so measurements "
            f"of {device} cannot refine it; {how}",
        )
    return origin
