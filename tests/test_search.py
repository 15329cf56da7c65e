"""Search: accuracy sources, NSGA-II under budgets, the `hwnas search` command."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.errors import UsageError
from hwnas.predictors import LightGBMPredictor
from hwnas.search.accuracy import AccuracyError, NaswotProxy, TabularAccuracy, accuracy_source
from hwnas.search.nsga import pareto_front, parse_budget
from hwnas.search.strategies import run_search
from hwnas.spaces import get_space

BUDGET = 25.0


@pytest.fixture(scope="module")
def nb201():
    return get_space("nb201")


@pytest.fixture(scope="module")
def latency(nb201):
    table = nb201_table().sample(900, random_state=0)
    return LightGBMPredictor(space=nb201).fit(list(table.arch), table.latency_raspi4_ms.values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("latency_ms=15", ("latency_ms", 15.0)), ("peak_memory_mb<=20.5", ("peak_memory_mb", 20.5))],
)
def test_budgets_parse(text, expected) -> None:
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["latency_ms", "latency_ms=fast", "=3", "latency_ms=-1"])
def test_bad_budgets_are_refused(text) -> None:
    with pytest.raises(UsageError, match="must look like latency_ms=15"):
        parse_budget(text)


def test_tabular_accuracy_matches_the_table(nb201) -> None:
    table = nb201_table()
    source = TabularAccuracy(nb201, "cifar100")
    got = source.evaluate(list(table.arch[:5]))
    np.testing.assert_allclose(got, table.cifar100_test_acc[:5])
    with pytest.raises(AccuracyError, match="covers the nb201 space only"):
        TabularAccuracy(get_space("chain"))
    with pytest.raises(AccuracyError, match="unknown dataset 'mnist'"):
        TabularAccuracy(nb201, "mnist")


def test_naswot_is_seeded_and_tells_cells_apart(nb201) -> None:
    archs = nb201.sample_distinct(3, 4)
    proxy = NaswotProxy(nb201, batch=8)
    first = proxy.evaluate(archs)
    assert np.isfinite(first).all() and np.array_equal(first, proxy.evaluate(archs))
    assert len(set(first.round(6))) > 1


def evaluator_ok(archs, space):
    return [len(a) for a in archs]


def evaluator_short(archs, space):
    return [1.0]


def test_user_evaluators_are_loaded_and_checked(nb201) -> None:
    archs = nb201.sample(0, 3)
    source = accuracy_source("tests.test_search:evaluator_ok", nb201)
    assert list(source.evaluate(archs)) == [len(a) for a in archs]
    with pytest.raises(AccuracyError, match="returned 1 values for 3 architectures"):
        accuracy_source("tests.test_search:evaluator_short", nb201).evaluate(archs)
    with pytest.raises(AccuracyError, match="cannot load the evaluator"):
        accuracy_source("tests.test_search:nothing_here", nb201)
    with pytest.raises(AccuracyError, match="unknown proxy 'synflow'"):
        accuracy_source("proxy:synflow", nb201)


def test_nsga_finds_the_best_cell_within_the_budget(nb201, latency) -> None:
    run = functools.partial(
        run_search,
        nb201,
        TabularAccuracy(nb201),
        {"latency_ms": latency},
        budgets={"latency_ms": BUDGET},
        population=40,
        generations=25,
    )
    # The true optimum under the (predicted) budget, by brute force over the 6,466
    # distinct cells (each one's accuracy is its canonical member's, as in a search).
    table = nb201_table().set_index("arch")
    cells = sorted({nb201.canonical(a) for a in table.index})
    within = latency.predict(cells) <= BUDGET
    best = table.loc[[c for c, ok in zip(cells, within, strict=True) if ok], "cifar10_test_acc"]
    # 1,000 queries of 6,466 cells. Random search with as many finds this exact optimum
    # on 43 of 100 seeds (its median gap 0.007 points, 90th percentile 0.34: measured),
    # so three seeds in a row by chance would be about 8%; NSGA-II found it on 10 of 10.
    for seed in (0, 1, 2):
        result = run(seed=seed)
        assert result.evaluated == 1000
        assert result.pareto and all(c.metrics["latency_ms"] <= BUDGET for c in result.pareto)
        assert result.pareto[0].accuracy == best.max(), seed
    # A front: no member dominates another.
    for a in result.pareto:
        for b in result.pareto:
            la, lb = a.metrics["latency_ms"], b.metrics["latency_ms"]
            dominates = (
                a.accuracy >= b.accuracy and la <= lb and (a.accuracy, la) != (b.accuracy, lb)
            )
            assert not dominates, (a, b)
    assert pareto_front(result.pareto, ["latency_ms"], {"latency_ms": BUDGET}) == result.pareto
    again = run(seed=2)
    assert [c.arch for c in again.pareto] == [c.arch for c in result.pareto]


def test_a_budget_needs_a_predictor_of_its_metric(nb201, latency) -> None:
    with pytest.raises(UsageError, match="needs a predictor of energy_mj"):
        run_search(
            nb201, TabularAccuracy(nb201), {"latency_ms": latency}, budgets={"energy_mj": 3.0}
        )


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_search_command_end_to_end(capsys, tmp_path: Path, latency) -> None:
    predictor = latency.save(tmp_path / "pred")
    out_dir = tmp_path / "result"
    code, out, err = run_cli(
        capsys,
        "search",
        "--space",
        "nb201",
        "--predictor",
        predictor,
        "--budget",
        f"latency_ms={BUDGET}",
        "--population",
        "20",
        "--generations",
        "5",
        "-o",
        out_dir,
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["pareto"] and all(p["latency_ms"] <= BUDGET for p in doc["pareto"])
    assert doc["hypervolume"] > 0 and doc["evaluated"] >= 20
    assert (out_dir / "pareto.png").stat().st_size > 0
    assert json.loads((out_dir / "search.json").read_text())["pareto"] == doc["pareto"]
    assert (out_dir / "pareto.csv").read_text().startswith("arch,accuracy,latency_ms")
    code, _, err = run_cli(
        capsys,
        "search",
        "--space",
        "nb201",
        "--predictor",
        predictor,
        "--budget",
        "latency_ms=0.001",
        "--population",
        "8",
        "--generations",
        "2",
        "-o",
        tmp_path / "none",
    )
    assert code == 1 and "no architecture met the budgets" in err
    code, _, err = run_cli(
        capsys,
        "search",
        "--space",
        "nb201",
        "--predictor",
        predictor,
        "--budget",
        "speed=3",
        "-o",
        tmp_path / "x",
    )
    assert code == 2 and "needs a predictor of speed" in err
    code, _, err = run_cli(
        capsys, "search", "--space", "chain", "--predictor", predictor, "-o", tmp_path / "y"
    )
    assert code == 2 and "Traceback" not in err
