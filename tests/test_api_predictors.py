"""The predictors' Python API: hwnas.train_predictor, evaluate_predictor, load_predictor
over every kind (lookup tables and kernel predictors included), and directories written
before the one artifact format."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.errors import DataError, HwnasError, ModelNotFoundError, ParameterError
from hwnas.events import Event
from hwnas.predictors.artifacts import load_predictor
from hwnas.predictors.base import Predictor
from hwnas.predictors.errors import ArtifactError, NotFittedError
from hwnas.predictors.kernels import KernelPredictor, is_kernel_predictor
from hwnas.predictors.lgbm import LightGBMPredictor
from hwnas.predictors.lut import LookupTable
from hwnas.predictors.train import TRAINING_SET_WARNING, evaluate_predictor, train_predictor
from hwnas.predictors.transfer import TransferPredictor
from hwnas.spaces import get_space
from hwnas.store import Store
from tests.test_kernels import small_cnn, synthetic_samples
from tests.test_predictors import fill_store, make_fingerprint, synthetic_block_table

RASPI4, GOLD = "latency_raspi4_ms", "latency_gold_6226_ms"


def write_table(path: Path, index: np.ndarray, column: str = RASPI4) -> Path:
    part = nb201_table().iloc[index]
    pd.DataFrame({"arch": part["arch"], "latency_ms": part[column]}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tables")
    order = np.random.default_rng(1).permutation(15625)
    return {
        "train": write_table(root / "train.csv", order[:300]),
        "test": write_table(root / "test.csv", order[300:1300]),
        "gold_few": write_table(root / "gold.csv", order[2000:2020], GOLD),
        "tiny": write_table(root / "tiny.csv", order[3000:3004]),
    }


@pytest.fixture(scope="module")
def trained(tables: dict[str, Path]) -> Predictor:
    return train_predictor(space="nb201", table=tables["train"], seed=0)


# -- train_predictor -----------------------------------------------------------------------


def test_train_predictor_is_hwnas_train_predictor_and_prints_nothing(
    tables: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[Event] = []
    predictor = hwnas.train_predictor(
        space="nb201", table=tables["train"], seed=2, progress=events.append, max_rounds=400
    )
    assert hwnas.train_predictor is train_predictor
    assert isinstance(predictor, LightGBMPredictor) and predictor.is_fitted()
    assert predictor.seed == 2 and predictor.max_rounds == 400  # options reach the class
    origin = predictor.origin_
    assert origin.source == f"table {tables['train']}" and origin.rows == 300
    assert predictor.n_train_ == 300 and predictor.metric == "latency_ms"
    assert [(e.kind, e.stage, e.done) for e in events] == [
        ("step", "reading measurements", 0),
        ("step", "reading measurements", 1),
        ("step", "training on 300 architectures", 0),
        ("step", "training on 300 architectures", 1),
    ]
    assert capsys.readouterr() == ("", "")


def test_train_predictor_from_the_store_by_instance_or_location(tmp_path: Path) -> None:
    fp = make_fingerprint()
    location = tmp_path / "s.db"
    with Store(location) as store:
        fill_store(store, nb201_table(), 30, fp)
        from_instance = train_predictor(space="nb201", device="rpi4", store=store)
    from_path = train_predictor(space="nb201", device="rpi4", store=str(location), statistic="p10")
    assert from_instance.origin_.device == "rpi4" and from_instance.origin_.fingerprint == fp.hash
    assert from_instance.origin_.source == from_path.origin_.source == f"store {store.url}"
    assert from_path.origin_.statistic == "p10" and from_instance.origin_.statistic == "p50"
    assert from_path.training_hash_ != from_instance.training_hash_  # p10 values differ
    with pytest.raises(DataError, match="no measurements of nb201 architectures on device 'x'"):
        train_predictor(space="nb201", device="x", store=location)


def test_a_transfer_from_a_base_object_or_its_directory(
    trained: Predictor, tables: dict[str, Path], tmp_path: Path
) -> None:
    directory = trained.save(tmp_path / "base")
    query = get_space("nb201").sample(4, 5)
    by_object = train_predictor(
        space="nb201", table=tables["gold_few"], device="gold", base=trained, correction="linear"
    )
    by_path = train_predictor(
        space="nb201", table=tables["gold_few"], device="gold", base=directory, correction="linear"
    )
    assert isinstance(by_object, TransferPredictor) and by_object.correction == "linear"
    assert by_object.origin_.device == "gold" and by_object.n_train_ == 20
    np.testing.assert_array_equal(by_object.predict(query), by_path.predict(query))
    with pytest.raises(ParameterError, match="base predicts space 'nb201', not 'chain'"):
        train_predictor(space="chain", table=tables["gold_few"], base=trained)
    with pytest.raises(ArtifactError, match="predicts architectures of space 'nb201', not 'chain'"):
        train_predictor(space="chain", table=tables["gold_few"], base=directory)


def test_a_lookup_table_feature_and_the_warning_for_another_device(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    lut = synthetic_block_table(get_space("nb201"))  # measured on "rpi4"
    events: list[Event] = []
    predictor = train_predictor(
        space="nb201", table=tables["train"], device="pixel7", lut=lut, progress=events.append
    )
    assert isinstance(predictor, LightGBMPredictor) and predictor.block_table is lut
    (warning,) = [e.message for e in events if e.kind == "warning"]
    assert warning is not None and "'rpi4'" in warning and "'pixel7'" in warning
    from_file = train_predictor(
        space="nb201", table=tables["train"], lut=lut.write(tmp_path / "lut.json")
    )
    assert isinstance(from_file, LightGBMPredictor)
    assert from_file.block_table is not None and from_file.feature_names_[-1] == "lut_block_sum"


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({}, "device", "device or table must say where the measurements are: device=NAME"),
        ({"table": "{train}", "metric": "latency"}, "metric", "metric must be one of latency_ms"),
        ({"table": "{train}", "seed": -1}, "seed", "seed must be an int >= 0, got -1"),
        ({"device": "d", "statistic": "p99"}, "statistic", "must be one of p50, p10, ratio"),
        (
            {"device": "d", "statistic": "p10", "metric": "energy_mj"},
            "statistic",
            "'p10' applies to latency_ms only",
        ),
        ({"table": "{train}", "statistic": "p10"}, "statistic", "'p10' needs the store"),
        ({"table": "{train}", "correction": "spline"}, "correction", "ridge, linear, isotonic"),
        ({"table": "{train}", "lut": "x.json", "base": "dir"}, "lut", "lut is for a new predictor"),
        (
            {"table": "{train}", "max_round": 3},
            "max_round",
            "max_round is not an option of a lightgbm predictor; it takes cost_model, ",
        ),
        ({"table": "{train}", "block_table": 3}, "block_table", "pass lut= instead"),
        ({"table": "{train}", "space": 3}, "space", "space must be a space name or a SearchSpace"),
    ],
)
def test_bad_arguments_name_the_python_parameter(
    tables: dict[str, Path], kwargs: dict[str, Any], param: str, message: str
) -> None:
    given = {"space": "nb201", **kwargs}
    given.update({k: str(tables["train"]) for k, v in kwargs.items() if v == "{train}"})
    with pytest.raises(ParameterError) as caught:
        train_predictor(**given)
    assert caught.value.param == param and message in caught.value.message
    assert "--" not in caught.value.message  # only the CLI speaks of options
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, HwnasError)


def test_too_few_architectures_is_a_data_error(tables: dict[str, Path]) -> None:
    with pytest.raises(DataError, match="only 4 distinct architecture.* needs at least 10"):
        train_predictor(space="nb201", table=tables["tiny"])


# -- evaluate_predictor --------------------------------------------------------------------


def test_evaluate_on_a_table_by_object_or_directory(
    trained: Predictor, tables: dict[str, Path], tmp_path: Path
) -> None:
    result = evaluate_predictor(trained, table=tables["test"])
    assert set(result.groups) == {"all", "connected", "disconnected"}
    assert result.groups["all"]["n"] == 1000 == len(result.archs) == result.measured.size
    assert result.groups["connected"]["n"] + result.groups["disconnected"]["n"] == 1000
    assert result.groups["connected"]["spearman"] > 0.9 and result.nominal == pytest.approx(0.8)
    inside = (result.interval.low <= result.measured) & (result.measured <= result.interval.high)
    assert result.coverage == pytest.approx(inside.mean()) and 0.5 < result.coverage <= 1.0
    assert result.warnings == []
    doc = result.to_dict()
    json.dumps(doc, allow_nan=False)  # JSON-ready: no nan
    assert doc["interval"] == {"coverage": result.coverage, "nominal": result.nominal}
    again = evaluate_predictor(trained.save(tmp_path / "p"), table=tables["train"])
    assert again.warnings == [TRAINING_SET_WARNING]


def test_evaluate_on_the_store(tmp_path: Path) -> None:
    location = tmp_path / "s.db"
    with Store(location) as store:
        fill_store(store, nb201_table(), 40, make_fingerprint())
    predictor = train_predictor(space="nb201", device="rpi4", store=location)
    result = evaluate_predictor(predictor, device="rpi4", store=location)
    classes = {get_space("nb201").canonical(a) for a in nb201_table()["arch"][:40]}
    assert result.groups["all"]["n"] == len(classes) and result.warnings == [TRAINING_SET_WARNING]
    with pytest.raises(ParameterError, match="device or table must say"):
        evaluate_predictor(predictor)


# -- every kind through one load_predictor --------------------------------------------------


def test_hwnas_exports_the_interface() -> None:
    assert hwnas.load_predictor is load_predictor and hwnas.Predictor is Predictor
    for cls in (LightGBMPredictor, TransferPredictor, LookupTable, KernelPredictor):
        assert issubclass(cls, Predictor)


def test_a_lookup_table_is_a_predictor(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    space = get_space("nb201")
    blocks = synthetic_block_table(space).blocks
    table = LookupTable(space=space, device="rpi4", fingerprint="f" * 64)
    archs = space.sample(5, 8)
    with pytest.raises(NotFittedError, match="call fit\\(archs, y, blocks=...\\)"):
        table.predict(archs)
    sums = LookupTable(space=space, blocks=blocks).predict(archs)
    assert table.fit(archs, 2.0 * sums + 0.5, blocks=blocks) is table
    assert table.calibration_.scale == pytest.approx(2.0) and table.n_train_ == len(blocks)
    value = table.predict(archs)
    np.testing.assert_allclose(value, 2.0 * sums + 0.5)
    assert table.predict(archs[0]) == pytest.approx(value[0])  # one string: a float, as before
    genes = np.array([space.encode(a) for a in archs])
    np.testing.assert_allclose(table.predict_encodings(genes), value)
    interval = table.predict_interval(archs)
    assert np.all(interval.low < value) and np.all(value < interval.high)
    directory = table.save(tmp_path / "lut")
    loaded = load_predictor(directory, space="nb201")
    assert isinstance(loaded, LookupTable) and loaded.calibration_ == table.calibration_
    np.testing.assert_array_equal(loaded.predict(archs), value)
    assert main(["predict", str(directory), "--arch", archs[0], "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["interval_nominal"] is None and doc["device"] == "rpi4"
    assert doc["predictions"][0]["value"] == pytest.approx(value[0])


@pytest.fixture(scope="module")
def kernel_predictor() -> KernelPredictor:
    return KernelPredictor(seed=0, rounds=50).fit(
        synthetic_samples(), device="local", fingerprint="abc123"
    )


def test_a_kernel_predictor_predicts_onnx_paths_models_and_architectures(
    kernel_predictor: KernelPredictor, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from hwnas.export import export_arch
    from tests.toy_space import ToySpace

    path = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(), str(path))
    total, _ = kernel_predictor.predict_onnx(small_cnn())
    value = kernel_predictor.predict([str(path), path, small_cnn()])
    np.testing.assert_array_equal(value, [total, total, total])
    interval = kernel_predictor.predict_interval([path])
    assert interval.low[0] < total < interval.high[0] and kernel_predictor.interval_share is None
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        kernel_predictor.predict([str(tmp_path / "missing.onnx")])
    directory = kernel_predictor.save(tmp_path / "kp")
    with pytest.raises(ParameterError, match="predictor has no space"):
        evaluate_predictor(directory, table=tmp_path / "t.csv")
    assert main(["predictor", "eval", str(directory), "--table", str(tmp_path / "t.csv")]) == 2
    assert f"{directory} has no space to read architectures" in capsys.readouterr().err
    space = ToySpace()
    on_toy = load_predictor(directory, space=space)  # any space: it predicts any model
    assert isinstance(on_toy, KernelPredictor) and on_toy.space is space
    arch = space.sample(0, 1)[0]
    expected, _ = kernel_predictor.predict_onnx(export_arch(space, arch).path)
    np.testing.assert_allclose(on_toy.predict([arch]), [expected])


def write_the_old_way(predictor: KernelPredictor, path: Path) -> Path:
    """A kernel predictor directory as `hwnas kernels build` wrote it before the one
    predictor format (format hwnas-kernel-predictor, version 1)."""
    import hashlib

    from hwnas.predictors.kernel_features import FEATURE_NAMES
    from hwnas.predictors.kernel_sampler import SAMPLED_KINDS
    from hwnas.predictors.kernels import GENERIC_FEATURES

    path.mkdir(parents=True)
    models = {}
    for name, (coef, booster) in predictor.models_.items():
        entry: dict[str, Any] = {"cost_model": [float(c) for c in coef], "file": None}
        if booster is not None:
            text = booster.model_to_string()
            (path / f"{name}.txt").write_text(text, encoding="utf-8")
            entry.update(file=f"{name}.txt", sha256=hashlib.sha256(text.encode()).hexdigest())
        models[name] = entry
    meta = {
        "format": "hwnas-kernel-predictor",
        "format_version": 1,
        **predictor.summary(),
        "seed": predictor.seed,
        "min_samples": predictor.min_samples,
        "rounds": predictor.rounds,
        "feature_names": list(FEATURE_NAMES),
        "generic_features": list(GENERIC_FEATURES),
        "sampled_kinds": list(SAMPLED_KINDS),
        "models": models,
        "versions": {"hwnas": "0.1.0", "lightgbm": "4.5.0", "onnx": "1.17.0"},
    }
    (path / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return path


def test_kernel_predictor_directories_of_the_old_format_still_load(
    kernel_predictor: KernelPredictor, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    old = write_the_old_way(kernel_predictor, tmp_path / "old")
    assert is_kernel_predictor(old)
    expected, rows = kernel_predictor.predict_onnx(small_cnn())
    for loaded in (load_predictor(old), KernelPredictor.load(old, device="local")):
        assert isinstance(loaded, KernelPredictor) and loaded.load_warnings_ == []
        assert loaded.predict_onnx(small_cnn()) == (expected, rows)
        assert loaded.origin_.device == "local" and loaded.feature_names_
    cnn = tmp_path / "cnn.onnx"
    onnx.save(small_cnn(), str(cnn))
    assert main(["predict", str(old), "--onnx", str(cnn), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["latency_ms"] == pytest.approx(expected)
    with pytest.raises(ArtifactError, match="predicts for device 'local', not 'pi'"):
        load_predictor(old, device="pi")
    resaved = load_predictor(old).save(tmp_path / "new")  # now in the one format
    meta = json.loads((resaved / "meta.json").read_text())
    assert (meta["format"], meta["kind"], meta["space"]) == ("hwnas-predictor", "kernel", None)
    assert load_predictor(resaved).predict_onnx(small_cnn())[0] == expected
    conv = old / "conv.txt"
    conv.write_text(conv.read_text() + "\n")
    with pytest.raises(ArtifactError, match="does not match the hash"):
        load_predictor(old)


def test_a_lightgbm_directory_from_before_the_registry_loads(
    trained: Predictor, tmp_path: Path
) -> None:
    directory = trained.save(tmp_path / "p")
    meta = json.loads((directory / "meta.json").read_text())
    del meta["origin"]["rows"]  # what this version added to the metadata
    del meta["versions"]["onnx"]
    del meta["meta_sha256"]
    (directory / "meta.json").write_text(json.dumps(meta))
    loaded = load_predictor(directory)
    assert isinstance(loaded, LightGBMPredictor) and loaded.origin_.rows is None
    query = get_space("nb201").sample(9, 4)
    np.testing.assert_array_equal(loaded.predict(query), trained.predict(query))


def test_another_kind_refuses_to_load_as_a_kernel_predictor(
    trained: Predictor, tmp_path: Path
) -> None:
    directory = trained.save(tmp_path / "p")
    assert not is_kernel_predictor(directory)
    with pytest.raises(ArtifactError, match="holds a lightgbm predictor, not a kernel predictor"):
        KernelPredictor.load(directory)
    shutil.rmtree(directory)
    with pytest.raises(ArtifactError, match="does not exist"):
        KernelPredictor.load(directory)
    assert not os.path.exists(directory)
