"""`hwnas predictor train | eval` and `hwnas predict`, end to end through the CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.spaces import get_space
from hwnas.store import Store
from tests.test_predictors import fill_store, make_fingerprint

RASPI4, GOLD = "latency_raspi4_ms", "latency_gold_6226_ms"
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"  # noqa: E501


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_table(path: Path, index: np.ndarray, column: str = RASPI4) -> Path:
    """A table shaped like ../shared/data/nb201_latency_*.csv: index, arch, latency_ms."""
    part = nb201_table().iloc[index]
    frame = pd.DataFrame({"index": part["index"], "arch": part["arch"], "latency_ms": part[column]})
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tables")
    order = np.random.default_rng(0).permutation(15625)
    return {
        "train": write_table(root / "train.csv", order[:600]),
        "test": write_table(root / "test.parquet", order[600:2600]),
        "gold_few": write_table(root / "gold_few.csv", order[3000:3020], GOLD),
    }


@pytest.fixture(scope="module")
def trained(tables: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("predictors") / "raspi4"
    code = main(
        [
            "predictor",
            "train",
            "--space",
            "nb201",
            "--metric",
            "latency_ms",
            "--table",
            str(tables["train"]),
            "-o",
            str(directory),
            "--seed",
            "0",
        ]
    )
    assert code == 0
    return directory


def test_train_from_a_table_prints_one_json_document(capsys, tables, tmp_path) -> None:
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--metric",
        "latency_ms",
        "--table",
        tables["train"],
        "-o",
        tmp_path / "p",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "lightgbm" and doc["space"] == "nb201" and doc["metric"] == "latency_ms"
    assert doc["training_set"]["n"] == 600 and doc["training_set"]["rows"] == 600
    assert doc["validation"]["n"] == 60 and doc["validation"]["spearman"] > 0.9  # a third of 30%
    assert doc["interval"] == {"nominal": 0.8, "method": "cross-conformal, 5 folds of classes"}
    assert doc["source"] == f"table {tables['train']}"
    meta = json.loads((tmp_path / "p" / "meta.json").read_text())
    assert meta["state"]["training"]["seed"] == 3 and meta["training_set"]["n"] == 600


def test_train_calibrates_intervals_as_told(capsys, tables, tmp_path) -> None:
    """--interval-calibration reaches the predictor and its artifact; auto takes the
    cross-conformal path on a few hundred rows (60 calibration rows of 600)."""
    methods = {}
    for how in ("auto", "split"):
        out_dir = tmp_path / how
        code, _, err = run_cli(
            capsys,
            "predictor",
            "train",
            "--space",
            "nb201",
            "--table",
            tables["train"],
            "-o",
            out_dir,
            "--interval-calibration",
            how,
        )
        assert code == 0, err
        meta = json.loads((out_dir / "meta.json").read_text())
        assert meta["state"]["training"]["interval_calibration"] == how
        methods[how] = meta["state"]["interval"]["method"]
        assert f"80% prediction intervals, calibrated {methods[how]}" in " ".join(err.split())
    assert methods == {"auto": "cross-conformal, 5 folds of classes", "split": "split-conformal"}


def test_train_shows_validation_scores(capsys, trained, tables, tmp_path) -> None:
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--table",
        tables["gold_few"],
        "-o",
        tmp_path / "g",
    )
    assert code == 0, err
    assert "Spearman" in out and "within ±10%" in out and "validation" in out
    assert "trained a lightgbm predictor of latency_ms on 20 nb201 architectures" in err


def test_eval_reports_connected_and_disconnected_cells_apart(
    capsys, trained, tables, tmp_path
) -> None:
    plot = tmp_path / "scatter.png"
    code, out, err = run_cli(
        capsys, "predictor", "eval", trained, "--table", tables["test"], "--plot", plot, "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    groups = doc["groups"]
    assert set(groups) == {"all", "connected", "disconnected"}
    assert groups["all"]["n"] == 2000
    assert groups["connected"]["n"] + groups["disconnected"]["n"] == 2000
    assert set(groups["connected"]) == {
        "n",
        "mape",
        "rmse",
        "spearman",
        "kendall",
        "within_5",
        "within_10",
    }
    assert groups["connected"]["spearman"] > 0.95 and groups["connected"]["within_10"] > 0.55
    # 95% bootstrap intervals around every group's figures, narrower for more rows.
    for name, group in groups.items():
        for key in ("mape", "spearman", "kendall", "within_5", "within_10"):
            low, high = doc["intervals"][name][key]
            assert low <= group[key] <= high, (name, key)
    # Narrower for more rows, on Kendall's tau (the disconnected cells' near-zero
    # latencies may all be missed by more than 10%: a share of 0 has no width).
    width = {
        g: doc["intervals"][g]["kendall"][1] - doc["intervals"][g]["kendall"][0] for g in groups
    }
    assert 0 < width["all"] < width["disconnected"]
    assert 0.6 < doc["interval"]["coverage"] <= 1.0 and doc["interval"]["nominal"] == 0.8
    assert doc["warnings"] == [] and doc["plot"] == str(plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = run_cli(capsys, "predictor", "eval", trained, "--table", tables["test"])
    assert code == 0 and "disconnected" in out and "Kendall" in out and "coverage" in err
    flat = " ".join(out.split())  # Rich wraps cells to the terminal's width
    assert "(95% bootstrap intervals)" in flat and re.search(r"\(0\.9\d+–0\.9\d+\)", flat)


def test_eval_on_the_training_table_warns(capsys, trained, tables) -> None:
    code, out, _ = run_cli(
        capsys, "predictor", "eval", trained, "--table", tables["train"], "--json"
    )
    assert code == 0
    assert json.loads(out)["warnings"] == [
        "this is the predictor's training set: the scores flatter it"
    ]


def test_predict_prints_values_and_intervals(capsys, trained) -> None:
    other = "|none~0|+|nor_conv_1x1~0|none~1|+|nor_conv_1x1~0|none~1|none~2|"
    code, out, err = run_cli(capsys, "predict", trained, "--arch", CELL, "--arch", other, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["metric"] == "latency_ms" and doc["interval_nominal"] == 0.8
    values = {p["arch"]: p for p in doc["predictions"]}
    assert set(values) == {CELL, other}
    for p in values.values():
        assert 0 < p["low"] <= p["value"] <= p["high"]
    assert values[CELL]["value"] > 3 * values[other]["value"]  # 3 convs 3x3 vs 2 convs 1x1
    code, out, _ = run_cli(capsys, "predict", trained, "--arch", CELL)
    assert code == 0 and "interval (80%)" in out


def test_train_from_the_store_and_refuse_mixed_fingerprints(capsys, tmp_path) -> None:
    table = nb201_table()
    one, two = make_fingerprint(threads=4), make_fingerprint(threads=2)
    with Store(os.environ["HWNAS_STORE"]) as store:  # the isolated store of conftest.py
        fill_store(store, table, 30, one)
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--device",
        "rpi4",
        "-o",
        tmp_path / "s",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["device"] == "rpi4" and doc["fingerprint"] == one.hash
    classes = {get_space("nb201").canonical(a) for a in table["arch"][:30]}
    assert doc["training_set"] == {
        "n": len(classes),
        "rows": 30,
        "hash": doc["training_set"]["hash"],
    }
    assert doc["arch_form"]["form"] == "canonical"
    with Store(os.environ["HWNAS_STORE"]) as store:
        fill_store(store, table, 12, two, start=30)
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--device",
        "rpi4",
        "-o",
        tmp_path / "t",
        "--json",
    )
    assert code == 2 and "Traceback" not in err
    message = json.loads(out)["errors"][0]["message"]
    assert one.hash[:12] in message and two.hash[:12] in message and "--fingerprint" in message
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--device",
        "rpi4",
        "--fingerprint",
        two.hash[:10],
        "-o",
        tmp_path / "t",
        "--statistic",
        "p10",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["training_set"]["n"] == 12
    assert json.loads(out)["statistic"] == "p10" and doc["statistic"] == "p50"
    meta = json.loads((tmp_path / "t" / "meta.json").read_text())
    assert meta["origin"]["statistic"] == "p10"


def test_train_with_a_lookup_table_of_the_device(capsys, tables, tmp_path) -> None:
    from tests.test_predictors import synthetic_block_table

    lut = synthetic_block_table(get_space("nb201")).write(tmp_path / "lut.json")
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--table",
        tables["train"],
        "--lut",
        lut,
        "-o",
        tmp_path / "p",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["lookup_table"] == str(lut)
    meta = json.loads((tmp_path / "p" / "meta.json").read_text())
    assert meta["feature_names"][-1] == "lut_block_sum" and "lookup_table.json" in meta["files"]
    code, out, err = run_cli(capsys, "predict", tmp_path / "p", "--arch", CELL, "--json")
    assert code == 0, err
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "chain",
        "--table",
        tables["train"],
        "--lut",
        lut,
        "-o",
        tmp_path / "q",
    )
    assert code == 2 and "is a lookup table of space 'nb201', not 'chain'" in " ".join(err.split())


def test_transfer_with_a_base_predictor(capsys, trained, tables, tmp_path) -> None:
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--table",
        tables["gold_few"],
        "--device",
        "gold",
        "--base",
        trained,
        "-o",
        tmp_path / "gold",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "transfer" and doc["device"] == "gold"
    assert doc["validation"]["method"] == "10-fold cross-validation"
    assert doc["interval"] == {"nominal": 0.8, "method": "on out-of-fold residuals"}
    assert (tmp_path / "gold" / "base" / "model.txt").exists()
    code, out, err = run_cli(capsys, "predict", tmp_path / "gold", "--arch", CELL, "--json")
    assert code == 0, err
    assert json.loads(out)["device"] == "gold"


def test_a_tampered_predictor_needs_force(capsys, trained, tmp_path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    with (copy / "quantile_high.txt").open("a") as fh:
        fh.write("\n")
    code, out, err = run_cli(capsys, "predict", copy, "--arch", CELL, "--json")
    assert code == 2 and "Traceback" not in err
    assert json.loads(out)["errors"][0]["error"] == "predictor_artifact"
    assert "changed since it was written" in err and "--force" in err
    code, out, err = run_cli(capsys, "predict", copy, "--arch", CELL, "--force")
    assert code == 0 and "loaded anyway (--force)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["predictor", "train", "--space", "nb202", "--table", "{train}", "-o", "{out}"],
            "unknown space 'nb202'",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--metric",
                "latency",
                "--table",
                "{train}",
                "-o",
                "{out}",
            ],
            "--metric must be one of latency_ms, peak_memory_mb, energy_mj",
        ),
        (
            ["predictor", "train", "--space", "nb201", "-o", "{out}"],
            "say where the measurements are: --device NAME",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--table", "{missing}", "-o", "{out}"],
            "does not exist",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--metric",
                "energy_mj",
                "--table",
                "{train}",
                "-o",
                "{out}",
            ],
            "lacks the column(s) energy_mj",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--table", "{bad}", "-o", "{out}"],
            "row 2 (line 3): 'resnet18' has 1 node(s)",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--table", "{tiny}", "-o", "{out}"],
            "only 4 distinct architecture(s) to learn from; a predictor needs at least 10",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--device", "nodev", "-o", "{out}"],
            "no measurements of nb201 architectures on device 'nodev'",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--device",
                "rpi4",
                "--statistic",
                "min",
                "-o",
                "{out}",
            ],
            "--statistic must be one of p50, p10, ratio, got 'min'",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--table",
                "{train}",
                "--statistic",
                "p10",
                "-o",
                "{out}",
            ],
            "--statistic p10 needs --device",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--table",
                "{train}",
                "--lut",
                "{missing}",
                "-o",
                "{out}",
            ],
            "cannot read the lookup table",
        ),
        (
            [
                "predictor",
                "train",
                "--space",
                "nb201",
                "--table",
                "{train}",
                "--lut",
                "{train}",
                "--base",
                "{trained}",
                "-o",
                "{out}",
            ],
            "--lut is for a new predictor",
        ),
        (
            ["predictor", "train", "--space", "chain", "--table", "{train}", "-o", "{out}"],
            "are not chain architectures",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--table", "{train}", "-o", "{out}"]
            + ["--interval-calibration", "jackknife"],
            "--interval-calibration must be one of auto, split, cross, got 'jackknife'",
        ),
        (
            ["predictor", "train", "--space", "nb201", "--table", "{train}", "-o", "{out}"]
            + ["--base", "{trained}", "--interval-calibration", "split"],
            "--interval-calibration is for a new LightGBM predictor",
        ),
        (["predictor", "eval", "{missing}", "--table", "{train}"], "there is no predictor at"),
        (
            ["predictor", "eval", "{trained}", "--table", "{train}", "--plot", "{out}.jpg"],
            "--plot writes PNG",
        ),
        (["predict", "{trained}", "--arch", "|none~0|+|x~0|"], "has 2 node(s)"),
        (["predict", "{train}", "--arch", "x"], "is a file; a predictor is a directory"),
    ],
)
def test_bad_inputs_exit_2_with_a_clear_message(
    capsys, tables, trained, tmp_path, args: list[str], message: str
) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"arch": [CELL, "resnet18"], "latency_ms": [1.0, 2.0]}).to_csv(bad, index=False)
    tiny = write_table(tmp_path / "tiny.csv", np.arange(4))
    names = {
        "train": tables["train"],
        "out": tmp_path / "out",
        "missing": tmp_path / "nope.csv",
        "bad": bad,
        "tiny": tiny,
        "trained": trained,
    }
    argv = [a.format(**names) for a in args]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err
    code, out, _ = run_cli(capsys, *argv, "--json")
    assert code == 2 and json.loads(out)["errors"][0]["message"]
