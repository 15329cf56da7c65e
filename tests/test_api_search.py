"""hwnas.search(...) from Python: the callable module, the result, its files, its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.errors import ParameterError
from hwnas.events import Event
from hwnas.search.accuracy import TabularAccuracy
from hwnas.search.api import SearchResult
from tests.test_search import BUDGET, latency, nb201  # noqa: F401  (fixtures)

SMALL = {"population": 12, "generations": 3}


@pytest.fixture(scope="module")
def found(latency):  # noqa: F811
    """One small search from Python, with the events it reported."""
    events: list[Event] = []
    result = hwnas.search(
        space="nb201",
        predictors={"latency_ms": latency},
        budgets={"latency_ms": BUDGET},
        accuracy="tabular:cifar10",
        progress=events.append,
        **SMALL,
    )
    return result, events


def test_a_search_from_python_returns_a_feasible_pareto_set(found, latency) -> None:  # noqa: F811
    result, _ = found
    assert isinstance(result, hwnas.SearchResult) and result.reason is None
    assert result.pareto and result.evaluated >= SMALL["population"]
    archs = [c.arch for c in result.pareto]
    predicted = latency.predict(archs)
    # Every member is within budget by its predicted metric, which is the predictor's.
    assert (predicted <= BUDGET).all()
    np.testing.assert_allclose([c.metrics["latency_ms"] for c in result.pareto], predicted)
    table = nb201_table().set_index("arch")
    np.testing.assert_allclose(
        [c.accuracy for c in result.pareto], table.loc[archs, "cifar10_test_acc"]
    )
    assert [c.accuracy for c in result.pareto] == sorted(
        (c.accuracy for c in result.pareto), reverse=True
    )
    assert [h["generation"] for h in result.history] == [1, 2, 3]
    assert result.baseline and result.hypervolume > 0
    # NSGA-II by default, spending population x generations predictor queries exactly.
    assert result.strategy == result.strategy_used == "nsga2" and result.budget_quantile is None
    assert result.evaluated == result.evaluations == 36


def test_progress_arrives_as_events_and_nothing_is_printed(capsys, latency) -> None:  # noqa: F811
    events: list[Event] = []
    hwnas.search(
        space="nb201",
        predictors=[latency],
        budgets=["latency_ms=25"],
        progress=events.append,
        **SMALL,
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    steps = [(e.done, e.total) for e in events if e.kind == "step" and e.stage == "search"]
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [e.done for e in events if e.stage == "random search"] == [0, 1]


def test_the_same_seed_gives_the_same_result(found, latency) -> None:  # noqa: F811
    again = hwnas.search(
        space=hwnas.get_space("nb201"),
        predictors={"latency_ms": latency},
        budgets="latency_ms<=25",
        accuracy=TabularAccuracy(hwnas.get_space("nb201")),
        **SMALL,
    )
    assert again.pareto == found[0].pareto


def test_to_frame_has_one_row_per_member(found) -> None:
    result, _ = found
    frame = result.to_frame()
    assert list(frame.columns) == ["arch", "accuracy", "latency_ms"]
    assert list(frame.arch) == [c.arch for c in result.pareto]
    assert list(frame.latency_ms) == [c.metrics["latency_ms"] for c in result.pareto]


def test_save_writes_what_the_cli_writes_and_load_reads_it(found, tmp_path: Path) -> None:
    result, _ = found
    assert result.save(tmp_path / "out") == tmp_path / "out"
    doc = json.loads((tmp_path / "out" / "search.json").read_text())
    assert doc == json.loads(json.dumps(result.to_dict()))
    assert set(doc) >= {"space", "budgets", "metrics", "pareto", "history", "hypervolume"}
    assert doc["pareto"][0] == {
        "arch": result.pareto[0].arch,
        "accuracy": result.pareto[0].accuracy,
        "latency_ms": result.pareto[0].metrics["latency_ms"],
    }
    csv = pd.read_csv(tmp_path / "out" / "pareto.csv")
    pd.testing.assert_frame_equal(csv, result.to_frame())
    assert (tmp_path / "out" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    loaded = SearchResult.load(tmp_path / "out")
    assert loaded.pareto == result.pareto and loaded.to_dict() == doc
    (tmp_path / "file").write_text("")
    with pytest.raises(ParameterError, match="^path .* exists and is not a directory"):
        result.save(tmp_path / "file")


def test_the_cli_writes_the_same_files(found, latency, tmp_path: Path, capsys) -> None:  # noqa: F811
    result, _ = found
    code = main(
        [
            "search",
            "--space",
            "nb201",
            "--predictor",
            str(latency.save(tmp_path / "pred")),
            "--budget",
            f"latency_ms={BUDGET}",
            "--population",
            str(SMALL["population"]),
            "--generations",
            str(SMALL["generations"]),
            "-o",
            str(tmp_path / "cli"),
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    printed = json.loads(capsys.readouterr().out)
    expected = {**result.to_dict(), "seconds": printed["seconds"]}
    assert printed == json.loads(json.dumps(expected))
    result.save(tmp_path / "api")
    for name in ("pareto.csv", "search.json"):
        api_text = (tmp_path / "api" / name).read_text()
        cli_text = (tmp_path / "cli" / name).read_text()
        if name == "search.json":
            api_text, cli_text = (
                json.dumps({**json.loads(t), "seconds": 0}) for t in (api_text, cli_text)
            )
        assert api_text == cli_text, name


def test_predictors_can_be_directories(latency, tmp_path: Path) -> None:  # noqa: F811
    directory = latency.save(tmp_path / "pred")
    result = hwnas.search(
        space="nb201",
        predictors=[str(directory)],
        budgets={"latency_ms": BUDGET},
        accuracy=lambda archs: [float(len(a)) for a in archs],
        **SMALL,
    )
    assert result.metrics == ["latency_ms"] and result.pareto
    # A plain function scored them: the accuracy of each member is its string's length.
    assert all(c.accuracy == len(c.arch) for c in result.pareto)
    assert all(c.metrics["latency_ms"] <= BUDGET for c in result.pareto)


def test_a_budget_nothing_meets_gives_an_empty_set_with_a_reason(latency) -> None:  # noqa: F811
    result = hwnas.search(
        space="nb201", predictors=[latency], budgets={"latency_ms": 0.001}, **SMALL
    )
    assert result.pareto == [] and result.to_frame().empty
    assert result.reason is not None
    assert result.reason.startswith("no architecture met the budgets")
    assert "latency_ms <= 0.001 (lowest predicted: " in result.reason


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"population": 2}, r"^population must be >= 4, got 2$"),
        ({"generations": 0}, r"^generations must be >= 1, got 0$"),
        ({"budgets": {"energy_mj": 3}}, r"^budgets energy_mj=\.\.\. needs a predictor of "),
        ({"budgets": {"latency_ms": -1}}, r"^budgets latency_ms=-1 must be a positive number"),
        ({"budgets": ["latency_ms"]}, r"^budgets 'latency_ms' must look like latency_ms=15"),
        ({"accuracy": 3}, r"^accuracy must be a spec such as 'tabular:cifar10'"),
        ({"accuracy": "nothing"}, r"^accuracy 'nothing' must be tabular\[:DATASET\]"),
        ({"space": 3}, r"^space must be a space name or a SearchSpace, got 3$"),
        ({"predictors": {}}, r"^predictors is empty"),
        ({"predictors": [3]}, r"^predictors must hold predictors .* got int$"),
    ],
)
def test_wrong_arguments_name_the_parameter(latency, arguments, message) -> None:  # noqa: F811
    call = {
        "space": "nb201",
        "predictors": {"latency_ms": latency},
        "budgets": {"latency_ms": BUDGET},
        **SMALL,
        **arguments,
    }
    with pytest.raises(ParameterError, match=message) as caught:
        hwnas.search(**call)
    assert isinstance(caught.value, ValueError)


def test_a_budget_without_its_predictor_lists_the_metrics_available(latency) -> None:  # noqa: F811
    with pytest.raises(ParameterError, match="the predictors given predict latency_ms$"):
        hwnas.search(space="nb201", predictors=[latency], budgets={"energy_mj": 3.0}, **SMALL)


def test_predictors_of_one_metric_twice_or_mislabelled_are_refused(latency) -> None:  # noqa: F811
    with pytest.raises(ParameterError, match="^predictors holds two predictors of latency_ms"):
        hwnas.search(space="nb201", predictors=[latency, latency], budgets={}, **SMALL)
    with pytest.raises(ParameterError, match="^predictors maps 'energy_mj' to a predictor of"):
        hwnas.search(space="nb201", predictors={"energy_mj": latency}, budgets={}, **SMALL)
    with pytest.raises(ParameterError, match="predictor is for space 'nb201', not 'chain'"):
        hwnas.search(space="chain", predictors=[latency], budgets={}, **SMALL)


def test_the_cli_names_the_option_for_the_same_mistake(latency, tmp_path, capsys) -> None:  # noqa: F811
    predictor = str(latency.save(tmp_path / "pred"))
    base = ["search", "--space", "nb201", "--predictor", predictor, "-o", str(tmp_path / "o")]
    assert main([*base, "--population", "2"]) == 2
    assert "error: --population must be >= 4, got 2" in capsys.readouterr().err
    assert main([*base, "--predictor", predictor]) == 2
    assert "--predictor holds two predictors of latency_ms" in capsys.readouterr().err
    assert main([*base, "--budget", "latency_ms"]) == 2
    assert "--budget 'latency_ms' must look like latency_ms=15" in capsys.readouterr().err


def test_the_module_is_callable_and_the_function_importable() -> None:
    import hwnas.search.nsga  # the subpackage imported, then called
    from hwnas.search import search
    from hwnas.search.api import search as api_search

    assert search is api_search
    assert callable(hwnas.search) and sys.modules["hwnas.search"] is hwnas.search
    assert hwnas.SearchResult is SearchResult


SCRIPT = """
import sys
import numpy as np
{first}
import hwnas

imported_before = "hwnas.search" in sys.modules

class Latency:
    metric = "latency_ms"
    def predict(self, archs):
        return np.array([float(a.count("conv")) for a in archs])

def run(call):
    return call(space="nb201", predictors=[Latency()], budgets={{"latency_ms": 2}},
                population=8, generations=2)

result = run(hwnas.search)
assert result.pareto and all(c.metrics["latency_ms"] <= 2 for c in result.pareto)
import hwnas.search.nsga
assert run(hwnas.search).pareto == result.pareto
from hwnas.search import search
assert run(search).pareto == result.pareto
print(imported_before)
"""


@pytest.mark.parametrize(
    ("first", "imported_before"),
    [
        ("", "False"),  # reached through hwnas's lazy attribute
        ("import hwnas.search.nsga", "True"),  # the subpackage imported first
    ],
)
def test_hwnas_search_is_callable_in_a_fresh_interpreter(first: str, imported_before: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(first=first)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == imported_before
