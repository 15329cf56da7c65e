"""The verify-and-refine loop (hwnas.search.verify): only measured architectures within
budget come back, the measurement count is bounded, predictors are retrained between
rounds, and the candidates that matter are chosen.

The "device" is a public NAS-Bench-201 latency table of a Raspberry Pi 4 (every cell
measured as written): measuring an architecture reads its row. The predictor is a
LightGBM model trained on 100 of its cells, so it is wrong by a few percent near the
budget, as a real one is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwnas.errors import ParameterError
from hwnas.predictors import LightGBMPredictor
from hwnas.search.accuracy import accuracy_source
from hwnas.search.nsga import Candidate, MetricPredictor, pareto_front
from hwnas.search.verify import Checked, choose, measured_front, refine
from hwnas.spaces import get_space
from tests.data_files import raspi4_csv
from tests.helpers import Fixed

TABLE = raspi4_csv()
NB201 = get_space("nb201")


@pytest.fixture(scope="module")
def truth() -> dict[str, float]:
    frame = pd.read_csv(TABLE)
    return dict(zip(frame["arch"], frame["latency_ms"], strict=True))


@pytest.fixture(scope="module")
def pool() -> list[str]:
    """2,000 distinct canonical cells: what a search run evaluates, cheaply."""
    return NB201.sample_distinct(11, 2000)


@pytest.fixture(scope="module")
def accuracy():  # type: ignore[no-untyped-def]
    return accuracy_source("tabular:cifar10", NB201)


class Device:
    """Measures by reading the table; counts what it was asked."""

    def __init__(self, truth: Mapping[str, float]) -> None:
        self.truth, self.asked = truth, []  # type: ignore[var-annotated]

    def __call__(self, archs: list[str]) -> dict[str, dict[str, float]]:
        self.asked += archs
        return {a: {"latency_ms": float(self.truth[a])} for a in archs if a in self.truth}


def train(archs: list[str], truth: Mapping[str, float], seed: int = 0) -> LightGBMPredictor:
    return LightGBMPredictor(space=NB201, seed=seed, max_rounds=400).fit(
        archs, [truth[a] for a in archs]
    )


def searcher(pool: list[str], accuracy, budgets):  # type: ignore[no-untyped-def]
    """A search round: every pool cell through the predictors; its front and the pool."""
    scores = accuracy.evaluate(pool)

    def search_round(
        predictors: Mapping[str, MetricPredictor],
    ) -> tuple[list[Candidate], list[Candidate]]:
        values = {m: p.predict(pool) for m, p in predictors.items()}
        cands = [
            Candidate(a, float(scores[i]), {m: float(v[i]) for m, v in values.items()})
            for i, a in enumerate(pool)
        ]
        return pareto_front(cands, sorted(predictors), budgets), cands

    return search_round


def loop(truth, pool, accuracy, *, seed: int = 0, **settings):  # type: ignore[no-untyped-def]
    training = NB201.sample_distinct(100 + seed, 100)
    budget = float(np.median([truth[a] for a in training]))
    budgets = {"latency_ms": budget}
    device = Device(truth)
    retrained: list[list[str]] = []

    def retrain() -> dict[str, MetricPredictor]:
        data = training + [a for a in device.asked if a not in training]
        retrained.append(data)
        return {"latency_ms": train(data, truth, seed)}

    result = refine(
        search_round=searcher(pool, accuracy, budgets),
        predictors={"latency_ms": train(training, truth, seed)},
        measure=device,
        retrain=retrain,
        accuracy=accuracy.evaluate,
        budgets=budgets,
        known={a: {"latency_ms": truth[a]} for a in training},
        **settings,
    )
    return result, device, retrained, budget, training


def test_only_architectures_measured_within_budget_come_back(truth, pool, accuracy) -> None:
    caught = 0
    for seed in range(3):
        result, device, _, budget, training = loop(
            truth, pool, accuracy, seed=seed, rounds=3, per_round=15
        )
        assert result.pareto, "a front exists: the training data alone has cells under budget"
        for item in result.pareto:
            assert item.measured["latency_ms"] <= budget
            assert item.measured["latency_ms"] == truth[item.arch]  # what was measured
            assert item.arch in training or item.arch in device.asked
        # The predicted fronts held cells that measure over budget: the loop caught them.
        caught += sum(r.over_budget for r in result.rounds)
        over = [a for a in device.asked if truth[a] > budget]
        assert not set(over) & {c.arch for c in result.pareto}
    assert caught > 0  # else this test could not tell a loop that filters from one that does not


def test_the_result_is_the_measured_front_and_beats_the_unverified_prediction(
    truth, pool, accuracy
) -> None:
    result, _, _, budget, _ = loop(truth, pool, accuracy, seed=1, rounds=3, per_round=15)
    everything = list(result.checked.values())
    assert result.pareto == measured_front(everything, {"latency_ms": budget}, ["latency_ms"])
    best = max(c.accuracy for c in everything if c.measured["latency_ms"] <= budget)
    assert result.pareto[0].accuracy == best
    # Non-dominated: nothing measured within budget is both more accurate and faster.
    for item in result.pareto:
        assert not any(
            o.accuracy > item.accuracy and o.measured["latency_ms"] < item.measured["latency_ms"]
            for o in everything
            if o.within({"latency_ms": budget})
        )


def test_measurements_are_bounded_per_round_and_in_all(truth, pool, accuracy) -> None:
    result, device, retrained, _, training = loop(
        truth, pool, accuracy, rounds=4, per_round=6, max_measurements=14
    )
    assert result.measurements == len(device.asked) == 14
    assert [len(r.measured) for r in result.rounds] == [6, 6, 2]
    assert result.stopped == "reached max_measurements=14"
    assert len(set(device.asked)) == 14 and not set(device.asked) & set(training)
    # Retrained after each round but the last, on the training data plus what was measured.
    assert [len(d) for d in retrained] == [106, 112]


def test_every_round_uses_the_retrained_predictors(truth, pool, accuracy) -> None:
    seen: list[object] = []
    budgets = {"latency_ms": 20.0}
    inner = searcher(pool, accuracy, budgets)

    def search_round(predictors):  # type: ignore[no-untyped-def]
        seen.append(predictors["latency_ms"])
        return inner(predictors)

    first = train(NB201.sample_distinct(5, 60), truth)
    fresh = [train(NB201.sample_distinct(6 + i, 60), truth) for i in range(2)]
    result = refine(
        search_round=search_round,
        predictors={"latency_ms": first},
        measure=Device(truth),
        retrain=lambda: {"latency_ms": fresh.pop(0)},
        accuracy=accuracy.evaluate,
        budgets=budgets,
        rounds=3,
        per_round=3,
    )
    assert len(seen) == 3 and seen[0] is first and seen[1] is not first
    assert fresh == [] and len(result.rounds) == 3


def test_a_failed_measurement_is_not_returned(truth, pool, accuracy) -> None:
    budgets = {"latency_ms": 20.0}
    device = Device({})  # knows nothing: every measurement fails
    result = refine(
        search_round=searcher(pool, accuracy, budgets),
        predictors={"latency_ms": train(NB201.sample_distinct(5, 60), truth)},
        measure=device,
        retrain=lambda: {"latency_ms": train(NB201.sample_distinct(5, 60), truth)},
        accuracy=accuracy.evaluate,
        budgets=budgets,
        rounds=2,
        per_round=4,
    )
    assert result.pareto == [] and [r.failed for r in result.rounds] == [4, 4]


def test_choose_takes_the_front_then_the_straddlers_that_could_be_on_it() -> None:
    # arch: (accuracy, (low, predicted, high)); budget 10.
    table = {
        "front-a": (90.0, (8.0, 9.0, 9.5)),  # predicted front, surely within
        "front-b": (80.0, (4.0, 5.0, 6.0)),
        "straddle-hi": (95.0, (9.0, 10.5, 12.0)),  # predicted over, could be within: best acc
        "straddle-lo": (70.0, (8.5, 9.8, 11.0)),  # within predicted, interval over: dominated
        "over": (99.0, (10.5, 12.0, 13.0)),  # over even at its low end
        "dominated": (60.0, (7.0, 8.0, 9.0)),  # within, dominated by front-b
    }
    predictor = Fixed({a: v for a, (_, v) in table.items()})
    cands = [Candidate(a, acc, {"latency_ms": v[1]}) for a, (acc, v) in table.items()]
    front = pareto_front(cands, ["latency_ms"], {"latency_ms": 10.0})
    assert [c.arch for c in front] == ["front-a", "front-b"]
    picked = choose(front, cands, {"latency_ms": predictor}, {"latency_ms": 10.0}, set(), 10)
    assert [c.arch for c in picked] == ["front-a", "front-b", "straddle-hi"]
    picked = choose(front, cands, {"latency_ms": predictor}, {"latency_ms": 10.0}, {"front-a"}, 2)
    assert [c.arch for c in picked] == ["front-b", "straddle-hi"]
    assert choose(front, cands, {"latency_ms": predictor}, {"latency_ms": 10.0}, set(), 0) == []


def test_the_loop_stops_when_nothing_is_left_to_measure() -> None:
    cand = Candidate("only", 50.0, {"latency_ms": 1.0})
    calls = []
    result = refine(
        search_round=lambda p: ([cand], [cand]),
        predictors={"latency_ms": Fixed({"only": (0.5, 1.0, 1.5)})},
        measure=lambda archs: calls.append(archs) or {"only": {"latency_ms": 1.2}},
        retrain=lambda: {"latency_ms": Fixed({"only": (0.5, 1.0, 1.5)})},
        accuracy=lambda archs: np.full(len(archs), 50.0),
        budgets={"latency_ms": 2.0},
        rounds=5,
    )
    assert calls == [["only"]] and len(result.rounds) == 1 and result.stopped
    assert result.pareto == [Checked("only", 50.0, {"latency_ms": 1.0}, {"latency_ms": 1.2}, 1)]


def test_hybrid_takes_half_by_the_rule_before_and_half_by_expected_improvement() -> None:
    from hwnas.search.acquire import choose_ehvi

    rng = np.random.default_rng(3)
    table, cands = {}, []
    for i in range(60):
        work = float(rng.uniform(1, 10))
        table[f"c{i}"] = (0.9 * work, work, 1.1 * work)
        cands.append(
            Candidate(f"c{i}", 60 + 3 * work + float(rng.normal(0, 2)), {"latency_ms": work})
        )
    budgets = {"latency_ms": 8.0}
    front = pareto_front(cands, ["latency_ms"], budgets)
    predictors = {"latency_ms": Fixed(table)}
    calls: list[list[str]] = []
    refine(
        search_round=lambda p: (front, cands),
        predictors=predictors,
        measure=lambda archs: (
            calls.append(archs) or {a: {"latency_ms": table[a][1]} for a in archs}
        ),
        retrain=lambda: predictors,
        accuracy=lambda archs: np.array(
            [next(c.accuracy for c in cands if c.arch == a) for a in archs]
        ),
        budgets=budgets,
        rounds=1,
        per_round=6,
    )
    old = [c.arch for c in choose(front, cands, predictors, budgets, set(), 6)]
    first = {c.arch: (c.accuracy, dict(c.metrics)) for c in cands if c.arch in old[:3]}
    rest = [c.arch for c in choose_ehvi(cands, predictors, budgets, first, 3)]
    assert calls == [old[:3] + rest]
    assert len(set(calls[0])) == 6 and calls[0] != old


@pytest.mark.parametrize("selection", ["ehvi", "front"])
def test_a_degenerate_cell_is_measured_only_by_the_rule_before(selection: str) -> None:
    """EHVI leaves out what ``degenerate`` names (chance accuracy, however fast); the
    rule before measures the predicted front whatever it holds."""
    cands = [
        Candidate("junk", 95.0, {"latency_ms": 0.5}),
        Candidate("good", 90.0, {"latency_ms": 3.0}),
    ]
    table = {"junk": (0.4, 0.5, 0.6), "good": (2.5, 3.0, 3.5)}
    calls: list[list[str]] = []
    refine(
        search_round=lambda p: (pareto_front(cands, ["latency_ms"], {"latency_ms": 5.0}), cands),
        predictors={"latency_ms": Fixed(table)},
        measure=lambda archs: (
            calls.append(archs) or {a: {"latency_ms": table[a][1]} for a in archs}
        ),
        retrain=lambda: {"latency_ms": Fixed(table)},
        accuracy=lambda archs: np.array([{"junk": 95.0, "good": 90.0}[a] for a in archs]),
        budgets={"latency_ms": 5.0},
        rounds=1,
        degenerate=lambda archs: {"junk"} & set(archs),
        selection=selection,
    )
    assert calls == ([["good"]] if selection == "ehvi" else [["junk"]])


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("rounds", {"rounds": 0}),
        ("verify_per_round", {"per_round": -1}),
        ("max_measurements", {"max_measurements": 2.5}),
        ("selection", {"selection": "best"}),
    ],
)
def test_bad_settings_name_the_parameter(name: str, settings: dict) -> None:
    with pytest.raises(ParameterError, match=name):
        refine(
            search_round=lambda p: ([], []),
            predictors={},
            measure=lambda a: {},
            retrain=lambda: {},
            accuracy=lambda a: np.zeros(len(a)),
            budgets={},
            **settings,
        )


# -- hwnas.search(verify=...) on a table device, through the store -----------------------


@pytest.fixture
def table_device(tmp_path: Path) -> tuple[str, Path]:
    """The raspi4 table registered as a device, 80 cells of it profiled into a store."""
    import hwnas
    from hwnas.devices.registry import add_device
    from hwnas.devices.table import table_device_spec

    add_device(table_device_spec("pi-table", TABLE, "nb201")[0])
    store = tmp_path / "s.db"
    hwnas.profile_space("nb201", sample=80, seed=4, device="pi-table", store=store)
    return "pi-table", store


def test_search_with_verify_returns_only_cells_measured_within_budget(table_device, truth) -> None:
    import hwnas
    from hwnas.store import Store

    device, store = table_device
    predictor = hwnas.train_predictor(space="nb201", device=device, store=store, seed=0)
    budget = float(np.median(list(truth.values())))
    events = []
    result = hwnas.search(
        space="nb201",
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": budget},
        strategy="exhaustive",
        verify=device,
        rounds=3,
        verify_per_round=8,
        max_measurements=20,
        progress=events.append,
    )
    assert result.pareto and result.measurements <= 20
    for member in result.pareto:
        assert member.measured["latency_ms"] == pytest.approx(truth[member.arch])
        assert member.measured["latency_ms"] <= budget
    with Store(store) as s:
        assert s.count(device=device) == 80 + result.measurements  # each measured once
    doc = result.to_dict()
    assert doc["verify"]["device"] == device and doc["measurements"] == result.measurements
    assert sum(r["measured"] for r in doc["verify"]["per_round"]) == result.measurements
    assert doc["verify"]["measured_before"] == 80
    assert "latency_ms_measured" in result.to_frame().columns
    assert any(e.stage == "verify" for e in events)
    # The unverified search on the same predictor returns cells the device measures over budget.
    plain = hwnas.search(
        space="nb201",
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": budget},
        strategy="exhaustive",
    )
    assert any(truth[c.arch] > budget for c in plain.pareto)


def test_verify_refuses_a_predictor_not_trained_on_the_device(table_device, truth) -> None:
    import hwnas

    device, _ = table_device
    archs = NB201.sample_distinct(3, 60)
    loose = train(archs, truth)  # fitted in Python: nothing to refit it on
    with pytest.raises(ParameterError, match=r"verify.*train one on pi-table's measurements"):
        hwnas.search(
            space="nb201",
            predictors={"latency_ms": loose},
            budgets={"latency_ms": 20},
            verify=device,
        )
    with pytest.raises(ParameterError, match="verify_per_round must be an int >= 1"):
        hwnas.search(
            space="nb201",
            predictors={"latency_ms": loose},
            budgets={"latency_ms": 20},
            verify=device,
            verify_per_round=0,
        )


def test_the_cli_verifies_on_a_device_and_says_so(table_device, truth, tmp_path, capsys) -> None:
    import json

    import hwnas
    from hwnas.cli import main

    device, store = table_device
    predictor = hwnas.train_predictor(space="nb201", device=device, store=store, seed=0)
    saved = predictor.save(tmp_path / "pred")
    budget = float(np.median(list(truth.values())))
    args = ["search", "--space", "nb201", "--predictor", str(saved), "--budget"]
    args += [f"latency_ms={budget}", "--strategy", "exhaustive", "--verify", device]
    args += ["--rounds", "2", "--verify-per-round", "5", "--store", str(store)]
    code = main([*args, "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "(measured)" in captured.out  # the column (its header may wrap)
    assert f"verified on {device}:" in captured.err and "measured within budget" in captured.err
    doc = json.loads((tmp_path / "out" / "search.json").read_text())
    assert doc["verify"]["rounds"] == 2 and doc["measurements"] <= 10
    assert all(p["measured"]["latency_ms"] <= budget for p in doc["pareto"])
    frame = pd.read_csv(tmp_path / "out" / "pareto.csv")
    assert (frame["latency_ms_measured"] <= budget).all()
    reloaded = hwnas.SearchResult.load(tmp_path / "out")
    assert reloaded.measurements == doc["measurements"] and reloaded.pareto[0].measured
    # Advice where the last round's measurements are on the front (and it is said).
    ran = doc["verify"]["per_round"]
    last = sum(r == ran[-1]["round"] for r in doc["verify"]["pareto_rounds"].values())
    bounded = len(ran) == 2 or doc["measurements"] >= doc["verify"]["max_measurements"]
    growing = bounded and last > 0
    assert (doc["verify"]["advice"] is not None) == growing
    assert ("the front was still improving" in " ".join(captured.err.split())) == growing
    code = main([*args, "--rounds", "0", "-o", str(tmp_path / "bad")])
    assert code == 2 and "--rounds must be an int >= 1" in capsys.readouterr().err


def test_advice_to_measure_more_only_while_the_front_still_grows() -> None:
    from hwnas.search.api import still_improving
    from hwnas.search.verify import Refined, RoundReport

    def refined(pareto_rounds: list[int], ran: int, stopped: str | None = None) -> Refined:
        pareto = [
            Checked(f"a{i}", 90.0 - i, {}, {"latency_ms": 1.0 + i}, r)
            for i, r in enumerate(pareto_rounds)
        ]
        rounds = [RoundReport(r, 5, ["x"], 0) for r in range(1, ran + 1)]
        return Refined(pareto, {}, rounds, 5 * ran, {}, stopped=stopped)

    said = still_improving(refined([0, 3, 3, 1], 3), 3, 100)
    assert said is not None and "2 of the 4 returned" in said and "--rounds" in said
    assert still_improving(refined([0, 2, 1], 3), 3, 100) is None  # the last round added nothing
    # Stopped at max_measurements (10 taken) while the front grew: advice.
    assert still_improving(refined([0, 2, 2], 2, stopped="reached max_measurements"), 3, 10)
    # Stopped because nothing was left worth measuring: none.
    assert still_improving(refined([0, 2], 2, stopped="nothing new to measure"), 3, 100) is None
    assert still_improving(refined([], 0), 3, 100) is None
