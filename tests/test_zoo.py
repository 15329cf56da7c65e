"""The NAS-Bench-201 device zoo and transfer from several bases (hwnas.predictors.zoo):
the choice picks a right base over a wrong one (synthetic and on real tables), ``--base
zoo`` and repeated ``--base DIR`` through the CLI, clear errors, artifacts that round-trip
with identical predictions and hold no pickle."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.data import nb201_latency_table
from hwnas.errors import DataError, ParameterError
from hwnas.predictors import LightGBMPredictor, TransferPredictor, load_predictor, metrics
from hwnas.predictors.base import Origin
from hwnas.predictors.contract import ContractCase, parametrize_with_checks
from hwnas.predictors.zoo import (
    ZOO_DEVICES,
    BaseSet,
    TableBase,
    advice,
    base_set,
    learning_curve,
    zoo_bases,
    zoo_table,
)
from hwnas.spaces import get_space
from hwnas.spaces.forms import AS_WRITTEN

WRITTEN = Origin(arch_form=AS_WRITTEN, arch_form_reason="test: each spelling measured")
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"  # noqa: E501


def few(device: str, k: int, seed: int) -> pd.DataFrame:
    """k rows of a zoo device's table, of distinct equivalence classes (seeded)."""
    table = zoo_table(device)
    space = get_space("nb201")
    picked, seen = [], set()
    for i in np.random.default_rng(seed).permutation(len(table)):
        key = space.canonical(table["arch"].iloc[i])
        if key not in seen:
            picked.append(i)
            seen.add(key)
        if len(picked) == k:
            break
    return table.iloc[picked]


@pytest.fixture(scope="module")
def zoo() -> BaseSet:
    return zoo_bases()


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_zoo_ships_eleven_complete_tables_as_written(zoo: BaseSet) -> None:
    assert zoo.names == list(ZOO_DEVICES)
    raspi4 = zoo_table("raspi4")
    assert raspi4.equals(nb201_latency_table("raspi4"))
    base = zoo.bases["titanxp_1"]
    table = zoo_table("titanxp_1")
    rows = table.sample(50, random_state=0)
    np.testing.assert_array_equal(base.predict(rows["arch"].tolist()), rows["latency_ms"])
    assert base.origin_.arch_form == AS_WRITTEN


def test_the_choice_picks_the_right_base_over_a_wrong_one(zoo: BaseSet) -> None:
    """Synthetic: the target is a power of one device's table; the wrong base is the same
    values shuffled over the cells (same distribution, no information)."""
    right = zoo.bases["gold_6226"]
    shuffled = np.random.default_rng(0).permutation(right.values_)
    table = zoo_table("gold_6226")
    wrong = TableBase(space="nb201", device="shuffled")
    wrong._keep(shuffled, WRITTEN, "shuffled")
    rows = few("gold_6226", 10, seed=3)
    target = 2.5 * rows["latency_ms"].to_numpy() ** 0.9
    chosen = BaseSet(bases={"wrong": wrong, "right": right}).fit(
        rows["arch"].tolist(), target, origin=WRITTEN
    )
    assert chosen.choice_["used"] == ["right"]
    assert chosen.weights_.tolist() == [0.0, 1.0]
    assert chosen.choice_["bases"][0]["base"] == "right"
    predicted = chosen.predict(table["arch"].tolist())
    np.testing.assert_allclose(predicted, 2.5 * table["latency_ms"].to_numpy() ** 0.9, rtol=1e-6)


def test_on_real_tables_a_gpu_is_transferred_from_gpus(zoo: BaseSet) -> None:
    """Leave titanxp_1 out: from 10 of its cells the choice weighs the other GPUs most, not
    the Raspberry Pi, and the transfer ranks the rest of its cells well."""
    bases = zoo_bases(exclude=["titanxp_1"])
    rows = few("titanxp_1", 10, seed=0)
    model = TransferPredictor(base=bases).fit(
        rows["arch"].tolist(), rows["latency_ms"].to_numpy(), origin=WRITTEN
    )
    choice = model.base_choice
    assert choice is not None and "titanxp_1" not in [r["base"] for r in choice["bases"]]
    weights = {r["base"]: r["weight"] for r in choice["bases"]}
    gpus = sum(weights[d] for d in ("1080ti_1", "2080ti_1", "titan_rtx_1"))
    assert gpus > 0.5 and weights["raspi4"] == 0.0
    table = zoo_table("titanxp_1")
    rest = table[~table["arch"].isin(rows["arch"])].sample(3000, random_state=0)
    predicted = model.predict(rest["arch"].tolist())
    assert metrics.spearman(rest["latency_ms"], predicted) > 0.9


def test_base_zoo_end_to_end_through_the_cli(capsys, tmp_path: Path) -> None:
    rows = few("2080ti_1", 10, seed=1)
    rows.to_csv(tmp_path / "new.csv", index=False)
    out_dir = tmp_path / "pred"
    code, out, err = run_cli(
        capsys,
        *("predictor", "train", "--space", "nb201", "--table", tmp_path / "new.csv"),
        *("--arch-form", "as-written", "--base", "zoo", "-o", out_dir, "--json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "transfer" and doc["arch_form"]["form"] == AS_WRITTEN
    choice = doc["base_choice"]
    assert choice["used"][0] == "2080ti_1"  # the zoo holds the device itself: found
    assert "leave-one-out error" in choice["reason"]
    assert json.loads((out_dir / "base" / "meta.json").read_text())["kind"] == "weighted_bases"
    meta = json.loads((out_dir / "meta.json").read_text())
    assert meta["state"]["base_choice"]["used"] == choice["used"]
    code, out, err = run_cli(capsys, "predict", out_dir, "--arch", CELL, "--json")
    assert code == 0, err
    assert json.loads(out)["predictions"][0]["value"] > 0
    code, out, err = run_cli(
        capsys,
        *("predictor", "train", "--space", "nb201", "--table", tmp_path / "new.csv"),
        *("--arch-form", "as-written", "--base", "zoo", "-o", tmp_path / "p2"),
    )
    assert code == 0
    assert "bases used: 2080ti_1" in err + out


def test_several_base_directories(capsys, tmp_path: Path) -> None:
    """--base DIR --base DIR2: LightGBM predictors of a CPU and of the Raspberry Pi; a GPU's
    measurements choose the CPU."""
    for device in ("gold_6226", "raspi4"):
        table = zoo_table(device).sample(300, random_state=0)
        model = LightGBMPredictor(space="nb201", max_rounds=150, seed=0)
        model.fit(table["arch"].tolist(), table["latency_ms"].to_numpy(), origin=WRITTEN)
        model.save(tmp_path / device)
    few("1080ti_1", 12, seed=2).to_csv(tmp_path / "gpu.csv", index=False)
    code, out, err = run_cli(
        capsys,
        *("predictor", "train", "--space", "nb201", "--table", tmp_path / "gpu.csv"),
        *("--arch-form", "as-written", "--base", tmp_path / "raspi4"),
        *("--base", tmp_path / "gold_6226", "-o", tmp_path / "pred", "--json"),
    )
    assert code == 0, err
    choice = json.loads(out)["base_choice"]
    assert choice["used"][0] == "gold_6226"
    loaded = load_predictor(tmp_path / "pred")
    assert loaded.base_choice is not None and loaded.base_choice["used"][0] == "gold_6226"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--base", "zooo"), r"--base 'zooo' is neither 'zoo' nor an existing predictor"),
        (("--base", "zoo", "--space", "chain"), r"cannot be a base for space 'chain'; pass"),
        (("--base", "zoo", "--metric", "energy_mj"), r"latency_ms only, not energy_mj; pass"),
    ],
)
def test_bad_bases_say_what_is_wrong_and_what_to_do(capsys, tmp_path, args, expected) -> None:
    few("raspi4", 10, seed=0).rename(columns={"latency_ms": "energy_mj"}).assign(
        latency_ms=1.0
    ).to_csv(tmp_path / "t.csv", index=False)
    code, out, err = run_cli(
        capsys,
        "predictor",
        "train",
        "--space",
        "nb201",
        "--table",
        tmp_path / "t.csv",
        "-o",
        tmp_path / "o",
        *args,
    )
    assert code != 0
    assert re.search(expected, err), err
    assert not (tmp_path / "o").exists()


def test_too_few_measurements_say_how_many_are_needed(tmp_path: Path) -> None:
    few("silver_4114", 2, seed=0).to_csv(tmp_path / "two.csv", index=False)
    with pytest.raises(
        DataError, match=r"only 2 distinct .* a transfer needs at least 3\. Measure"
    ):
        hwnas.train_predictor(space="nb201", table=tmp_path / "two.csv", base=zoo_bases())


def test_python_arguments_are_checked_by_name(zoo: BaseSet) -> None:
    with pytest.raises(ParameterError, match=r"exclude names no zoo device: pi5"):
        zoo_bases(exclude=["pi5"])
    with pytest.raises(ParameterError, match=r"base must list at least one base"):
        base_set([])
    with pytest.raises(ParameterError, match=r"temperature must be > 0"):
        BaseSet(bases=zoo.bases, temperature=0)
    with pytest.raises(ParameterError, match=r"bases must hold at least one predictor"):
        BaseSet(bases={})
    with pytest.raises(DataError, match=r"needs every one of the 15,625 architectures"):
        TableBase(space="nb201").fit([CELL], [1.0])


def test_save_and_load_give_identical_predictions_and_no_pickle(
    zoo: BaseSet, tmp_path: Path
) -> None:
    rows = few("essential_ph_1", 20, seed=4)
    model = TransferPredictor(base=zoo_bases(exclude=["essential_ph_1"]), seed=2)
    model.fit(rows["arch"].tolist(), rows["latency_ms"].to_numpy(), origin=WRITTEN)
    directory = model.save(tmp_path / "t")
    loaded = load_predictor(directory)
    archs = zoo_table("essential_ph_1")["arch"].sample(500, random_state=1).tolist()
    np.testing.assert_array_equal(loaded.predict(archs), model.predict(archs))
    genes = model.features.all_genes()[::97]
    np.testing.assert_array_equal(loaded.predict_encodings(genes), model.predict_encodings(genes))
    assert loaded.base_choice == model.base_choice
    used = model.base_choice["used"] if model.base_choice else []
    kept = sorted(p.name for p in (directory / "base" / "bases").iterdir())
    assert kept == sorted(used)
    for path in directory.rglob("*"):
        if path.is_file():
            assert path.suffix in {".json", ".parquet"}, path
            assert b"\x80\x04\x95" not in path.read_bytes()[:4], path  # a pickle's header


def test_the_learning_curve_says_how_many_more_would_help() -> None:
    curve = learning_curve()
    assert curve is not None and list(curve["k"]) == [5, 10, 20, 50]
    assert curve["spearman_mean"].is_monotonic_increasing or curve["spearman_mean"].max() > 0.9
    said = advice(5)
    assert said is not None and "with 5 measurements" in said and "Measure about" in said
    assert "gain little" in (advice(80) or "")
    assert advice(10, space="chain") is None


@functools.cache
def _three_bases() -> dict[str, Any]:
    zoo = zoo_bases()
    return {name: zoo.bases[name] for name in ("gold_6226", "raspi4", "1080ti_1")}


def _set_case() -> ContractCase:
    """The contract on the shipped zoo's bases and an as-written origin (the built-in
    cases of ``hwnas.predictors.contract`` use a bundled table and a small LightGBM)."""
    rows = few("titan_rtx_1", 12, seed=5)
    return ContractCase(
        make=lambda: BaseSet(bases=_three_bases()),
        fit_args=(rows["arch"].tolist(), rows["latency_ms"].to_numpy()),
        fit_kwargs={"origin": WRITTEN},
        inputs=rows["arch"].tolist()[:4],
        name="weighted_bases",
    )


def _table_case() -> ContractCase:
    table = zoo_table("samsung_s7")
    return ContractCase(
        make=lambda: TableBase(space="nb201", device="samsung_s7"),
        fit_args=(table["arch"].tolist(), table["latency_ms"].to_numpy()),
        fit_kwargs={"origin": WRITTEN},
        inputs=table["arch"].tolist()[:4],
        name="table_base",
    )


@parametrize_with_checks([_set_case(), _table_case()])
def test_the_zoo_kinds_keep_the_predictor_contract(case: ContractCase, check: Any) -> None:
    check(case)


def test_base_zoo_from_the_stores_measurements(capsys, tmp_path: Path) -> None:
    """The common path: a device's measurements in the store (canonical exports) and
    --device NAME --base zoo."""
    from hwnas.store import Store
    from tests.test_predictors import fill_store, make_fingerprint

    table = zoo_table("raspi4").rename(columns={"latency_ms": "latency_raspi4_ms"})
    with Store(tmp_path / "s.db") as store:
        fill_store(store, table.sample(15, random_state=0), 15, make_fingerprint())
    code, out, err = run_cli(
        capsys,
        *("predictor", "train", "--space", "nb201", "--device", "rpi4", "--base", "zoo"),
        *("--store", tmp_path / "s.db", "-o", tmp_path / "pred", "--json"),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["arch_form"]["form"] == "canonical" and doc["base_choice"]["used"]
    assert doc["base_choice"]["advice"].startswith("with 15 measurements")
