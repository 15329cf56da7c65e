"""Predictors know which world their labels come from (hwnas.spaces.forms): one network
measured per equivalence class (canonical, as hwnas profiles), or every spelling measured
as written (dead edges still run, as in the raspi4 table).

Both kinds of table are tested: the raspi4 table as published (as written), and the same
table as a canonical-measured one (each class's canonical spelling's value given to every
spelling, which is what a benchmark that measured one network per class publishes).
Splits are by class, so no test class has a twin in training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.data import nb201_latency_table
from hwnas.errors import ParameterError
from hwnas.predictors.artifacts import load_predictor
from hwnas.predictors.lgbm import LightGBMPredictor
from hwnas.predictors.train import evaluate_predictor, train_predictor
from hwnas.spaces import get_space
from hwnas.spaces.forms import detect_arch_form, written_as_is

NB201 = get_space("nb201")
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def written() -> pd.DataFrame:
    frame = nb201_latency_table("raspi4")[["arch", "latency_ms"]].copy()
    frame["class"] = [NB201.canonical(a) for a in frame["arch"]]
    return frame


@pytest.fixture(scope="module")
def canonical_table(written: pd.DataFrame) -> pd.DataFrame:
    value = dict(zip(written["arch"], written["latency_ms"], strict=True))
    frame = written.copy()
    frame["latency_ms"] = [value[c] for c in frame["class"]]
    return frame


def class_split(frame: pd.DataFrame, seed: int, folder: Path) -> tuple[Path, Path]:
    """900 training rows and 2,000 test rows of disjoint classes, as CSV files."""
    rng = np.random.default_rng(seed)
    classes = np.array(sorted(frame["class"].unique()), dtype=object)
    rng.shuffle(classes)
    train_classes = set(classes[: len(classes) // 3])
    inside = frame["class"].isin(train_classes)
    train = frame[inside].sample(900, random_state=seed)
    test = frame[~inside].sample(2000, random_state=seed)
    paths = folder / f"train{seed}.csv", folder / f"test{seed}.csv"
    for part, path in zip((train, test), paths, strict=True):
        part[["arch", "latency_ms"]].to_csv(path, index=False)
    return paths


def spearman(predictor, test: Path, form: str) -> float:
    return evaluate_predictor(predictor, table=test, arch_form=form).groups["all"]["spearman"]


# -- detection ---------------------------------------------------------------------------


def test_detection_tells_the_two_kinds_of_table_apart(written, canonical_table) -> None:
    found = detect_arch_form(NB201, written["arch"].tolist(), written["latency_ms"])
    assert found.form == "as-written" and "only 0 of the 1,350 classes" in found.reason
    found = detect_arch_form(NB201, canonical_table["arch"].tolist(), canonical_table["latency_ms"])
    assert found.form == "canonical" and "1,350 of the 1,350 classes" in found.reason
    one_each = written.drop_duplicates(
        "class", keep="last"
    )  # one spelling per class, not the canonical one
    assert not (one_each["arch"] == one_each["class"]).all()
    found = detect_arch_form(NB201, one_each["arch"].tolist(), one_each["latency_ms"])
    assert found.form == "as-written" and "6,466 architectures are one spelling" in found.reason
    # A handful of cells of an as-written table (10 rows: no class twice) is as written;
    # the same classes written canonically are one network per class.
    few = written.sample(10, random_state=0)
    assert detect_arch_form(NB201, few["arch"].tolist(), few["latency_ms"]).form == "as-written"
    canon = few["class"].tolist()
    found = detect_arch_form(NB201, canon, few["latency_ms"])
    assert found.form == "canonical" and "canonical form" in found.reason
    # Mostly equal within classes (a few rows noisy): still canonical, by the majority.
    noisy = canonical_table["latency_ms"].to_numpy().copy()
    noisy[:300] *= 1.01
    found = detect_arch_form(NB201, canonical_table["arch"].tolist(), noisy)
    assert found.form == "canonical"


# -- training and prediction in each world ----------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_canonical_table_trains_a_canonical_predictor_that_beats_raw_strings(
    canonical_table, seed, tmp_path
) -> None:
    train, test = class_split(canonical_table, seed, tmp_path)
    auto = train_predictor(space="nb201", table=train, seed=seed)
    assert auto.arch_form == "canonical" and "same value" in auto.origin_.arch_form_reason
    assert auto.n_train_ < 900 == auto.origin_.rows  # spellings folded into their classes
    raw = train_predictor(space="nb201", table=train, seed=seed, arch_form="as-written")
    assert raw.arch_form == "as-written" and raw.n_train_ == 900
    # Scored on every spelling of the test table, as a search asks: raw strings mislead.
    assert spearman(auto, test, "as-written") > spearman(raw, test, "as-written") + 0.03
    # Scored once per class (the test table detected canonical): no worse either.
    assert spearman(auto, test, "auto") > spearman(raw, test, "auto")
    # Every spelling of a class is predicted as the class.
    members = canonical_table[canonical_table["class"] == canonical_table["class"].iloc[7]]
    spellings = members["arch"].tolist()
    assert len(spellings) > 1 and len(set(auto.predict(spellings).tolist())) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_a_table_measured_as_written_keeps_spellings_apart(written, seed, tmp_path) -> None:
    train, test = class_split(written, seed, tmp_path)
    auto = train_predictor(space="nb201", table=train, seed=seed)
    assert auto.arch_form == "as-written" and auto.n_train_ == 900
    forced = train_predictor(space="nb201", table=train, seed=seed, arch_form="canonical")
    assert spearman(auto, test, "auto") > spearman(forced, test, "auto") + 0.02
    # Node 2 never reaches the output (none~2): its two convs are dead edges.
    cell = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|"
    dead = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|"
    assert NB201.canonical(cell) == NB201.canonical(dead)
    # As written the dead conv runs; canonically the two are one network.
    assert auto.predict([dead])[0] != auto.predict([cell])[0]
    assert forced.predict([dead])[0] == forced.predict([cell])[0]
    scored = evaluate_predictor(forced, table=test)
    assert any(
        "learnt canonical labels, but these measurements are as-written" in w
        for w in scored.warnings
    )


def test_the_form_survives_saving_and_encodings_follow_it(canonical_table, tmp_path) -> None:
    train, _ = class_split(canonical_table, 0, tmp_path)
    predictor = train_predictor(space="nb201", table=train, seed=0)
    back = load_predictor(predictor.save(tmp_path / "p"))
    assert back.arch_form == "canonical"
    assert back.origin_.arch_form_reason == predictor.origin_.arch_form_reason
    archs = canonical_table["arch"].iloc[::97].tolist()
    np.testing.assert_array_equal(back.predict(archs), predictor.predict(archs))
    genes = np.array([NB201.encode(a) for a in archs])
    np.testing.assert_allclose(back.predict_encodings(genes), back.predict(archs))
    # A predictor fitted without an origin learns strings as given (and predates forms).
    plain = LightGBMPredictor(space=NB201, seed=0).fit(archs, np.arange(len(archs)) + 1.0)
    assert plain.arch_form is None
    np.testing.assert_allclose(plain.predict_encodings(genes), plain.predict(archs))


def test_the_store_is_canonical_and_an_exact_table_device_as_written(written, tmp_path) -> None:
    from hwnas.devices.registry import add_device
    from hwnas.devices.table import table_device_spec

    path = tmp_path / "pi.csv"
    written[["arch", "latency_ms"]].to_csv(path, index=False)
    add_device(table_device_spec("pi-table", path, "nb201")[0])
    store = tmp_path / "s.db"
    spellings = written["arch"].iloc[:60].tolist()  # several spellings of some classes
    hwnas.profile_space(written_as_is(NB201), archs=spellings, device="pi-table", store=store)
    predictor = train_predictor(space="nb201", device="pi-table", store=store, seed=0)
    assert predictor.arch_form == "as-written" and predictor.n_train_ == 60
    assert "exact string" in predictor.origin_.arch_form_reason
    canonical = train_predictor(
        space="nb201", device="pi-table", store=store, seed=0, arch_form="canonical"
    )
    assert canonical.n_train_ == len({NB201.canonical(a) for a in spellings})


def test_a_search_over_an_as_written_predictor_tells_spellings_apart(written, tmp_path) -> None:
    train, _ = class_split(written, 0, tmp_path)
    as_written = train_predictor(space="nb201", table=train, seed=0)
    canonical = train_predictor(space="nb201", table=train, seed=0, arch_form="canonical")
    budget = float(written["latency_ms"].median())
    runs = {
        p.arch_form: hwnas.search(
            space="nb201",
            predictors={"latency_ms": p},
            budgets={"latency_ms": budget},
            strategy="exhaustive",
        )
        for p in (as_written, canonical)
    }
    assert runs["canonical"].evaluated == 6466 and runs["as-written"].evaluated == 15625
    assert all(NB201.canonical(c.arch) == c.arch for c in runs["canonical"].pareto)
    for member in runs["as-written"].pareto:  # each predicted as its own spelling
        assert member.metrics["latency_ms"] == pytest.approx(as_written.predict([member.arch])[0])


def test_chain_and_multibranch_have_one_spelling_per_class(tmp_path) -> None:
    for name in ("chain", "multibranch"):
        space = get_space(name)
        archs = space.sample_distinct(3, 40)
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"arch": archs, "latency_ms": np.linspace(1, 9, 40)}).to_csv(path, index=False)
        predictor = train_predictor(space=name, table=path, seed=0, max_rounds=20)
        assert predictor.arch_form == "canonical" and predictor.n_train_ == 40
    space = get_space("multibranch")
    single = next(a for a in space.sample(5, 200) if any("+" not in b for b in a.split("|")))
    blocks = single.split("|")
    one = next(k for k, b in enumerate(blocks) if "+" not in b)
    blocks[one] = blocks[one].replace("/add", "/concat")  # the merge of one branch is moot
    other = "|".join(blocks)
    assert other != single and space.canonical(other) == space.canonical(single)
    assert predictor.predict([other])[0] == predictor.predict([single])[0]


def test_a_bad_form_is_refused_with_the_allowed_ones(written, tmp_path, capsys) -> None:
    train, _ = class_split(written, 0, tmp_path)
    with pytest.raises(
        ParameterError, match=r"arch_form must be one of canonical, as-written, auto"
    ):
        train_predictor(space="nb201", table=train, arch_form="written")
    code = main(
        [
            "predictor",
            "train",
            "--space",
            "nb201",
            "--table",
            str(train),
            "-o",
            str(tmp_path / "p"),
            "--arch-form",
            "canon",
        ]
    )
    assert code == 2 and "--arch-form" in capsys.readouterr().err
    code = main(
        [
            "predictor",
            "train",
            "--space",
            "nb201",
            "--table",
            str(train),
            "-o",
            str(tmp_path / "p"),
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["arch_form"]["form"] == "as-written"
    assert "as written" in doc["arch_form"]["reason"]
