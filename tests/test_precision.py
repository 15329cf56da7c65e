"""Precision (issue 12 item 2): `profile --precision int8` measures each model's int8 copy
(quantized on the host, cached by content hash), records the precision in every
measurement and keeps int8 and fp32 apart in the store's reuse, in training data, in
predictors and in search; the kernel-level predictor splits int8 models into kernels of
their own kinds."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest

import hwnas
from hwnas.cli import main
from hwnas.errors import DataError, ParameterError, TableDeviceError
from hwnas.onnx_model import file_hash
from hwnas.predictors.base import Origin
from hwnas.predictors.data import training_data
from hwnas.predictors.kernel_split import split_kernels
from hwnas.predictors.kernels import KernelPredictor
from hwnas.profiler import api
from hwnas.profiler import quantize as quantize_module
from hwnas.profiler.quantize import quantize_model, quantized_file
from hwnas.profiler.settings import ProfileSettings, precision_of, precision_settings
from hwnas.search.inputs import resolve_predictors
from hwnas.spaces import get_space
from hwnas.store import Store
from tests import onnx_models
from tests.test_kernels import synthetic_samples
from tests.toy_space import ToySpace

FAST = {"max_seconds": 0.2, "target_ci": 0.3, "warmup": 1, "min_runs": 3}
QDQ = {"QuantizeLinear", "DequantizeLinear"}


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """A store with two toy architectures measured at int8, then at fp32, under a home of
    this module (the quantized files' cache included)."""
    home = tmp_path_factory.mktemp("precision-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWNAS_HOME", str(home))
        store = home / "s.db"
        space = ToySpace()
        int8 = api.profile_space(space, sample=2, seed=0, store=store, precision="int8", **FAST)
        fp32 = api.profile_space(space, sample=2, seed=0, store=store, **FAST)
        yield SimpleNamespace(space=space, store=store, int8=int8, fp32=fp32, home=home)


def test_int8_measures_the_quantized_model_and_says_so(measured: SimpleNamespace) -> None:
    space, int8 = measured.space, measured.int8
    assert len(int8) == 2 and int8.ok
    for m in int8:
        assert m.settings["precision"] == "int8" and m.settings["quantize_mode"] == "static"
        assert m.arch is not None
        # The file measured is the architecture's int8 copy from the cache: QDQ nodes in it.
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("HWNAS_HOME", str(measured.home))
            copy = quantized_file(space.to_onnx(m.arch.string))
        assert copy.cached and file_hash(copy.path) == m.model_hash
        assert QDQ <= {n.op_type for n in onnx.load(str(copy.path)).graph.node}
    assert [m.settings["precision"] for m in measured.fp32] == ["fp32", "fp32"]
    # The fp32 run measured both again: an int8 measurement is never reused for fp32.
    assert not measured.fp32.skipped and len(measured.fp32) == 2
    assert {m.model_hash for m in int8}.isdisjoint(m.model_hash for m in measured.fp32)


def test_each_precision_reuses_its_own_and_the_cache_serves_the_int8_file(
    measured: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HWNAS_HOME", str(measured.home))
    space, store = measured.space, measured.store
    again = api.profile_space(space, sample=2, seed=0, store=store, precision="int8", **FAST)
    assert len(again) == 0 and sorted(again.skipped) == sorted(a.arch.string for a in measured.int8)
    with Store(store) as db:
        keys = {s.measurement.settings["precision"]: s.settings_key for s in db.measurements()}
    # fp32's key is what it was before precisions existed; int8's is another.
    fp32_key = ProfileSettings.from_options(**FAST).result_key(exporter="torchscript")
    assert keys["int8"] != keys["fp32"] == fp32_key
    calls = []
    monkeypatch.setattr(quantize_module, "quantize_model", lambda *a, **k: calls.append(a))
    fresh = api.profile_space(
        space, sample=2, seed=0, store=store, precision="int8", fresh=True, **FAST
    )
    assert len(fresh) == 2 and calls == []  # measured again from the cached int8 files
    assert {m.model_hash for m in fresh} == {m.model_hash for m in measured.int8}


def test_training_data_refuses_mixed_precisions_unless_one_is_chosen(
    measured: SimpleNamespace,
) -> None:
    ask = {"space": measured.space, "metric": "latency_ms", "device": "local"}
    with pytest.raises(DataError, match=r"2 precisions: fp32 \(2 .*int8 \(\d .*--precision"):
        training_data(store=measured.store, **ask)
    data = training_data(store=measured.store, precision="int8", **ask)
    assert data.origin.precision == "int8" and len(data.archs) == 2  # repeats fold
    with pytest.raises(DataError, match="none of the measurements .* int8-dynamic"):
        training_data(store=measured.store, precision="int8-dynamic", **ask)
    with pytest.raises(ParameterError, match="precision must be one of fp32, int8"):
        training_data(store=measured.store, precision="int4", **ask)
    # An export (`hwnas measurements export`) keeps them apart too, by its settings column.
    table = measured.home / "export.csv"
    with Store(measured.store) as db:
        db.to_frame().to_csv(table, index=False)
    ask.pop("device")
    with pytest.raises(DataError, match=r"mixes 2 precisions \(fp32, int8\)"):
        training_data(table=table, **ask)
    assert training_data(table=table, precision="fp32", **ask).origin.precision == "fp32"


def test_resume_keeps_a_jobs_precision_and_files_take_it_too(
    tmp_path: Path, conv_onnx: Path, capsys: pytest.CaptureFixture
) -> None:
    store = tmp_path / "q.db"
    args = ["--store", str(store), "--max-seconds", "0.2", "--min-runs", "3", "--json"]
    code = main(["queue", "add", str(conv_onnx), "--precision", "int8", *args])
    assert code == 0, capsys.readouterr().err
    with Store(store) as db:
        (job,) = db.jobs(status="pending")
    assert job.settings["precision"] == "int8"
    capsys.readouterr()
    with pytest.raises(ParameterError, match="precision cannot be changed when resuming"):
        api.resume(store=store, precision="fp32")
    (m,) = api.resume(store=store)
    assert precision_of(m.settings) == "int8"
    # A plain file at dynamic int8, from the command line.
    code = main(["profile", str(conv_onnx), "--precision", "int8", "--quantize-mode", "dynamic"])
    assert code == 0, capsys.readouterr().err
    with Store(os.environ["HWNAS_STORE"]) as db:
        (stored,) = db.measurements()
    assert precision_of(stored.measurement.settings) == "int8-dynamic"
    assert main(["profile", str(conv_onnx), "--quantize-mode", "dynamic", "--json"]) == 2
    assert "--quantize-mode is 'dynamic', but it applies to precision='int8' only" in (
        capsys.readouterr().err
    )
    assert precision_settings("int8-dynamic") == {"precision": "int8", "quantize_mode": "dynamic"}


def test_a_table_device_refuses_int8(tmp_path: Path) -> None:
    from hwnas.profiler.fleet import _table_precision

    table, spec = SimpleNamespace(path=tmp_path / "t.csv"), SimpleNamespace(name="gold")
    with pytest.raises(TableDeviceError, match="cannot measure int8 models"):
        _table_precision(table, spec, ProfileSettings(precision="int8"))  # type: ignore[arg-type]
    _table_precision(table, spec, ProfileSettings())  # type: ignore[arg-type]


def _table(path: Path, precisions: list[str]) -> Path:
    space = get_space("nb201")
    archs = space.sample_distinct(0, 40)
    rng = np.random.default_rng(0)
    rows = [
        {"arch": a, "latency_ms": float(v), "peak_memory_mb": float(v) * 3, "precision": p}
        for a, v, p in zip(archs, rng.uniform(1, 5, len(archs)), precisions * 40, strict=False)
    ]
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_predictors_record_their_precision_and_search_refuses_to_mix_them(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    mixed = _table(tmp_path / "mixed.csv", ["int8", "fp32"])
    with pytest.raises(DataError, match=r"mixes 2 precisions \(fp32, int8\).*--precision"):
        hwnas.train_predictor(space="nb201", table=mixed, max_rounds=20)
    out = str(tmp_path / "x")
    code = main(["predictor", "train", "--space", "nb201", "--table", str(mixed), "-o", out])
    assert code != 0 and "--precision NAME" in capsys.readouterr().err
    int8 = hwnas.train_predictor(
        space="nb201", table=_table(tmp_path / "i.csv", ["int8"]), max_rounds=20
    )
    latency = int8.save(tmp_path / "latency")
    assert hwnas.load_predictor(latency).origin_.precision == "int8"
    assert json.loads((latency / "meta.json").read_text())["precision"] == "int8"
    memory = hwnas.train_predictor(
        space="nb201",
        metric="peak_memory_mb",
        table=_table(tmp_path / "f.csv", ["fp32"]),
        max_rounds=20,
    ).save(tmp_path / "memory")
    space = get_space("nb201")
    with pytest.raises(ParameterError, match=r"different precisions \(latency_ms: int8, peak"):
        resolve_predictors([latency, memory], space)
    same = SimpleNamespace(metric="peak_memory_mb", predict=len, origin_=Origin(precision="int8"))
    assert set(resolve_predictors([latency, same], space)[0]) == {"latency_ms", "peak_memory_mb"}
    code = main(
        ["search", "--space", "nb201", "--predictor", str(latency), "--predictor", str(memory)]
        + ["--budget", "latency_ms=3", "--accuracy", "proxy:naswot", "-o", str(tmp_path / "s")]
    )
    assert code == 2 and "different precisions" in capsys.readouterr().err


@pytest.fixture(scope="module")
def kernel_predictor() -> KernelPredictor:
    """Fitted on fp32 kernel samples only (conv, elementwise): no int8 kind of its own."""
    return KernelPredictor(seed=0, rounds=20).fit(
        synthetic_samples(), device="local", fingerprint="abc123"
    )


@pytest.mark.parametrize(
    ("mode", "fmt", "kinds"),
    [
        ("static", "qdq", {"qconv", "quantize", "dequantize"}),
        ("static", "qoperator", {"qconv", "quantize", "dequantize"}),
        ("dynamic", "qdq", {"qconv", "quantize"}),
    ],
)
def test_kernels_of_an_int8_model(
    kernel_predictor: KernelPredictor, tmp_path: Path, mode: str, fmt: str, kinds: set[str]
) -> None:
    source = onnx_models.conv_model(tmp_path / "f.onnx", channels=16)
    done = quantize_model(source, tmp_path / "q.onnx", mode=mode, format=fmt, calibration=2)
    model = onnx.load(str(done.path))
    kernels = split_kernels(model)
    found = collections.Counter(k.kind for k in kernels)
    assert kinds <= set(found) and "other" not in found, found
    assert not {"conv", "dwconv"} & set(found)  # every conv runs in int8
    assert sum(found[k] for k in ("qconv", "qdwconv")) == sum(
        k.kind in ("conv", "dwconv") for k in split_kernels(onnx.load(str(source)))
    )
    predictor = kernel_predictor
    ms, source_of = predictor.predict_kernels(kernels)
    assert np.all(np.isfinite(ms)) and np.all(ms > 0)
    by = dict(zip((k.kind for k in kernels), source_of, strict=True))
    assert by["qconv"] == "conv" and by["quantize"] == "elementwise"  # the float kinds' models
    assert predictor.predict([done.path])[0] > 0


@pytest.mark.parametrize("name", ["chain", "multibranch", "nb201"])
def test_an_int8_network_of_every_built_in_space_is_measured_and_split_into_kernels(
    name: str, kernel_predictor: KernelPredictor, tmp_path: Path
) -> None:
    space = get_space(name)
    result = api.profile_space(
        space, sample=1, seed=2, store=tmp_path / "s.db", precision="int8", **FAST
    )
    assert result.ok and len(result) == 1
    (m,) = result
    assert m.settings["precision"] == "int8" and m.latency_ms.median > 0
    assert m.arch is not None
    copy = quantized_file(space.to_onnx(m.arch.string))
    assert file_hash(copy.path) == m.model_hash
    kinds = {k.kind for k in split_kernels(onnx.load(str(copy.path)))}
    assert "other" not in kinds and kinds & {"qconv", "qdwconv", "qgemm", "qmatmul"}
    assert kernel_predictor.predict([copy.path])[0] > 0
