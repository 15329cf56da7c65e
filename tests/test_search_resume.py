"""Resumable searches: interrupted (Ctrl-C, a crash), then run again with the same
arguments and checkpoint directory, a search ends with the uninterrupted run's result,
evaluating nothing twice; the command line's ``--resume DIR`` does the same in a new
process after a real SIGINT."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.errors import ParameterError
from hwnas.events import Event
from hwnas.predictors import LightGBMPredictor
from hwnas.spaces import get_space
from hwnas.store import Store
from tests import slow_accuracy
from tests.data_files import raspi4_csv
from tests.helpers import hwnas_process, run_hwnas

TABLE = raspi4_csv()
NB201 = get_space("nb201")
ACCURACY = "tests.slow_accuracy:score"


@pytest.fixture(scope="module")
def predictor() -> LightGBMPredictor:
    frame = pd.read_csv(TABLE).sample(200, random_state=0)
    return LightGBMPredictor(space=NB201, seed=0, max_rounds=300).fit(
        list(frame["arch"]), frame["latency_ms"].to_numpy()
    )


def stop_after(generation: int, stage: str = "search"):  # type: ignore[no-untyped-def]
    """A progress callback that presses Ctrl-C once ``generation`` steps are done."""

    def on_event(event: Event) -> None:
        if event.kind == "step" and event.stage == stage and event.done == generation:
            raise KeyboardInterrupt

    return on_event


def summary(result: hwnas.SearchResult) -> dict:
    doc = result.to_dict()
    return {k: doc[k] for k in ("pareto", "history", "evaluated", "hypervolume", "measurements")}


@pytest.mark.parametrize("strategy", ["nsga2", "regevo"])
def test_an_interrupted_search_run_again_ends_as_an_uninterrupted_one(
    predictor, tmp_path, strategy
) -> None:
    settings = dict(
        space="nb201",
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": 20.0},
        accuracy=ACCURACY,
        strategy=strategy,
        population=16,
        generations=8,
        seed=3,
    )
    slow_accuracy.CALLS.clear()
    whole = hwnas.search(**settings)
    evaluated_once = list(slow_accuracy.CALLS)
    slow_accuracy.CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        hwnas.search(**settings, checkpoint=tmp_path / "ck", progress=stop_after(4))
    before = len(slow_accuracy.CALLS)
    saved = json.loads((tmp_path / "ck" / "accuracy.json").read_text())
    assert 0 < before == len(saved) < len(evaluated_once)  # kept up to the interrupt
    resumed = hwnas.search(**settings, checkpoint=tmp_path / "ck")
    assert summary(resumed) == summary(whole)
    # Each architecture evaluated once over both runs, as in the uninterrupted one.
    assert sorted(slow_accuracy.CALLS) == sorted(evaluated_once)
    # A finished checkpoint replays without evaluating anything.
    slow_accuracy.CALLS.clear()
    assert summary(hwnas.search(**settings, checkpoint=tmp_path / "ck")) == summary(whole)
    assert slow_accuracy.CALLS == []


def test_a_checkpoint_of_another_unfinished_search_is_refused_a_finished_one_replaced(
    predictor, tmp_path
) -> None:
    settings = dict(
        space="nb201",
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": 20.0},
        accuracy=ACCURACY,
        population=8,
        generations=4,
    )
    with pytest.raises(KeyboardInterrupt):
        hwnas.search(**settings, seed=1, checkpoint=tmp_path / "ck", progress=stop_after(2))
    with pytest.raises(ParameterError, match=r"another search \(seed: 1 there, 2 now\)"):
        hwnas.search(**settings, seed=2, checkpoint=tmp_path / "ck")
    hwnas.search(**settings, seed=1, checkpoint=tmp_path / "ck")  # finishes it
    again = hwnas.search(**settings, seed=2, checkpoint=tmp_path / "ck")  # replaces it
    assert again.seed == 2
    assert json.loads((tmp_path / "ck" / "search.json").read_text())["seed"] == 2


def test_an_interrupted_verified_search_resumes_to_the_same_measured_front(
    tmp_path, monkeypatch
) -> None:
    """Interrupted after its first verify round; the store keeps that round's
    measurements, the resumed loop reuses them and measures nothing twice."""
    from hwnas.devices.registry import add_device
    from hwnas.devices.table import table_device_spec

    add_device(table_device_spec("pi-table", TABLE, "nb201")[0])
    stores = [tmp_path / "whole.db", tmp_path / "cut.db"]
    for store in stores:
        hwnas.profile_space("nb201", sample=60, seed=2, device="pi-table", store=store)

    # Trained once per store, before any search: the resumed search is given the same
    # predictor (one retrained on the store after the interrupt is another search's).
    trained = {
        store: hwnas.train_predictor(space="nb201", device="pi-table", store=store, seed=0)
        for store in stores
    }

    def run(store: Path, **extra):  # type: ignore[no-untyped-def]
        return hwnas.search(
            space="nb201",
            predictors={"latency_ms": trained[store]},
            budgets={"latency_ms": 25.0},
            strategy="exhaustive",
            verify="pi-table",
            rounds=3,
            verify_per_round=6,
            store=store,
            **extra,
        )

    whole = run(stores[0])
    with pytest.raises(KeyboardInterrupt):
        run(stores[1], checkpoint=tmp_path / "ck", progress=stop_after(2, "verify"))
    with Store(stores[1]) as s:
        cut = s.count(device="pi-table")
    assert 60 < cut < 60 + whole.measurements  # one round measured, then Ctrl-C
    resumed = run(stores[1], checkpoint=tmp_path / "ck")
    assert summary(resumed) == summary(whole)
    assert [(c.arch, c.measured) for c in resumed.pareto] == [
        (c.arch, c.measured) for c in whole.pareto
    ]
    with Store(stores[1]) as s:
        assert s.count(device="pi-table") == 60 + whole.measurements  # nothing twice


def test_the_cli_resumes_after_a_real_sigint(predictor, tmp_path) -> None:
    saved = predictor.save(tmp_path / "pred")
    args = ["search", "--space", "nb201", "--predictor", str(saved), "--budget"]
    args += ["latency_ms=20", "--accuracy", ACCURACY, "--population", "20"]
    args += ["--generations", "12", "--seed", "5"]
    store = tmp_path / "s.db"
    code, _, err = run_hwnas([*args, "-o", str(tmp_path / "whole")], store, timeout=300)
    assert code == 0, err
    proc = hwnas_process([*args, "-o", str(tmp_path / "cut")], store)
    checkpoint = tmp_path / "cut" / "checkpoint" / "accuracy.json"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"hwnas search --resume {tmp_path / 'cut'}" in err and "Traceback" not in err
    assert not (tmp_path / "cut" / "pareto.csv").exists()  # it did not finish
    # Started again with other arguments in its directory before it finished: refused.
    other = [*args[:-1], "6", "-o", str(tmp_path / "cut")]
    code, _, err = run_hwnas(other, store)
    assert code == 2 and "holds an interrupted search started with other arguments" in err
    code, _, err = run_hwnas(["search", "--resume", str(tmp_path / "cut")], store, timeout=300)
    assert code == 0, err
    whole = pd.read_csv(tmp_path / "whole" / "pareto.csv")
    resumed = pd.read_csv(tmp_path / "cut" / "pareto.csv")
    pd.testing.assert_frame_equal(resumed, whole)
    code, _, err = run_hwnas(["search", "--resume", str(tmp_path / "nowhere")], store)
    assert code == 2 and "no search to resume there" in err
    assert np.isfinite(resumed["latency_ms"]).all()


def test_a_checkpoint_path_that_is_a_file_is_refused(predictor, tmp_path) -> None:
    (tmp_path / "ck").write_text("not a directory")
    with pytest.raises(ParameterError, match="checkpoint .* exists and is not a directory"):
        hwnas.search(
            space="nb201",
            predictors={"latency_ms": predictor},
            budgets={"latency_ms": 20.0},
            checkpoint=tmp_path / "ck",
        )


def test_arguments_the_search_refuses_leave_no_checkpoint_behind(tmp_path) -> None:
    args = ["search", "--space", "nb201", "--predictor", "nowhere", "--budget", "bad"]
    code, _, err = run_hwnas([*args, "-o", str(tmp_path / "out")], tmp_path / "s.db")
    assert code == 2 and "--budget 'bad'" in err
    assert not (tmp_path / "out").exists()
