"""`hwnas profile` and `hwnas measurements` end to end on the local CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hwnas.cli import main
from hwnas.records import LATENCY_KEYS
from hwnas.store import Store
from tests import onnx_models
from tests.helpers import interrupt_after

FAST = ["--max-seconds", "1", "--target-ci", "0.05", "--warmup", "3"]
MEASUREMENT_KEYS = {
    "arch",
    "model_hash",
    "device",
    "fingerprint",
    "latency_ms",
    "peak_memory_mb",
    "energy_mj",
    "energy_method",
}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profile_json_has_the_documented_keys(capsys, conv_onnx, tmp_path):
    store = tmp_path / "s.db"
    code, out, err = run_cli(
        capsys, "profile", conv_onnx, "--json", "--store", store, "--max-seconds", "5"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {"measurements", "errors"}
    assert doc["errors"] == []
    (m,) = doc["measurements"]
    assert MEASUREMENT_KEYS <= set(m)
    assert set(m["latency_ms"]) == set(LATENCY_KEYS)
    lat = m["latency_ms"]
    assert lat["ci_low"] <= lat["median"] <= lat["ci_high"]
    assert lat["p10"] <= lat["median"] <= lat["p90"] <= lat["p99"]
    # The protocol's promise: stop at the target CI (1% by default) unless time ran out.
    half = max(lat["median"] - lat["ci_low"], lat["ci_high"] - lat["median"])
    if m["settings"]["stop_reason"] == "target_ci":
        assert half <= 0.01 * lat["median"] + 1e-12
    else:
        assert any("CI" in w for w in m["warnings"])
    assert m["peak_memory_mb"] is not None and m["peak_memory_mb"] >= 0
    assert m["energy_mj"] is None and m["energy_method"] is None
    assert m["fingerprint"]["hash"] and m["fingerprint"]["threads"] == 1
    assert m["device"] == "local" and m["arch"] is None
    with Store(str(store)) as s:
        (stored,) = s.measurements(samples=True)
    assert stored.measurement.model_hash == m["model_hash"]
    assert len(stored.measurement.samples_ms) == lat["n"]


def test_human_output_is_a_table(capsys, conv_onnx, tmp_path):
    code, out, err = run_cli(capsys, "profile", conv_onnx, *FAST, "--store", tmp_path / "s.db")
    assert code == 0, err
    assert "median ms" in out and conv_onnx.name in out
    assert "stored 1 measurement" in err


def test_one_bad_model_does_not_stop_the_batch(
    capsys, conv_onnx, garbage_onnx, truncated_onnx, unrunnable_onnx, tmp_path
):
    store = tmp_path / "s.db"
    code, _, _ = run_cli(capsys, "profile", conv_onnx, *FAST, "--store", store)
    assert code == 0
    missing = tmp_path / "missing.onnx"
    code, out, err = run_cli(
        capsys,
        "profile",
        missing,
        garbage_onnx,
        conv_onnx,
        truncated_onnx,
        unrunnable_onnx,
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code != 0
    doc = json.loads(out)
    assert len(doc["measurements"]) == 1
    kinds = {Path(e["model"]).name: e["error"] for e in doc["errors"]}
    assert kinds == {
        "missing.onnx": "model_not_found",
        "garbage.onnx": "invalid_model",
        "truncated.onnx": "invalid_model",
        "unrunnable.onnx": "model_load",
    }
    for e in doc["errors"]:
        assert e["message"] and "Traceback" not in e["message"]
    assert "Traceback" not in err
    with Store(str(store)) as s:
        assert s.count() == 2  # the earlier measurement is still there, plus the new one


def test_dynamic_shapes_need_shape_and_accept_it(capsys, dynamic_onnx, tmp_path):
    store = tmp_path / "s.db"
    code, out, _ = run_cli(capsys, "profile", dynamic_onnx, *FAST, "--json", "--store", store)
    assert code != 0
    (error,) = json.loads(out)["errors"]
    assert error["error"] == "shape" and "--shape" in error["message"] and "x" in error["message"]
    code, out, err = run_cli(
        capsys,
        "profile",
        dynamic_onnx,
        *FAST,
        "--shape",
        "x=1x3x16x16",
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    assert m["inputs"]["x"]["shape"] == [1, 3, 16, 16]


@pytest.mark.parametrize(
    ("shape", "expect"),
    [
        ("x=1xAx3", "malformed"),
        ("x", "malformed"),
        ("x=1x0x3x3", "zero"),
    ],
)
def test_malformed_shape_is_a_usage_error(capsys, dynamic_onnx, shape, expect):
    code, _, err = run_cli(capsys, "profile", dynamic_onnx, "--shape", shape)
    assert code == 2
    assert expect in err and "--shape" in err and "Traceback" not in err


def test_shape_for_an_unknown_input_names_the_inputs(capsys, dynamic_onnx, tmp_path):
    code, out, _ = run_cli(
        capsys,
        "profile",
        dynamic_onnx,
        "--shape",
        "image=1x3x8x8",
        *FAST,
        "--json",
        "--store",
        tmp_path / "s.db",
    )
    assert code != 0
    (error,) = json.loads(out)["errors"]
    assert error["error"] == "shape" and "image" in error["message"] and "'x'" in error["message"]


def test_unknown_device_lists_known_ones(capsys, conv_onnx):
    code, out, err = run_cli(capsys, "profile", conv_onnx, "--device", "pi", "--json")
    assert code == 2
    assert "unknown device 'pi'" in err and "local" in err
    assert json.loads(out)["errors"][0]["error"] == "unknown_device"


def test_unwritable_store_fails_before_measuring(capsys, conv_onnx, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(capsys, "profile", conv_onnx, "--store", blocker / "s.db")
    assert code != 0
    assert "--store" in err and "HWNAS_STORE" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--target-ci", "0"), ("--threads", "0"), ("--max-seconds", "-1"), ("--graph-opt", "max")],
)
def test_bad_settings_name_the_option(capsys, conv_onnx, option, value):
    code, _, err = run_cli(capsys, "profile", conv_onnx, option, value)
    assert code == 2
    assert option in err


def test_list_and_export(capsys, conv_onnx, tmp_path):
    store = tmp_path / "s.db"
    for _ in range(2):
        assert run_cli(capsys, "profile", conv_onnx, *FAST, "--store", store)[0] == 0
    code, out, _ = run_cli(capsys, "measurements", "list", "--json", "--store", store)
    assert code == 0
    doc = json.loads(out)
    assert doc["total"] == 2 and doc["warnings"] == []
    assert [m["id"] for m in doc["measurements"]] == [2, 1]
    for fmt, name in (("csv", "t.csv"), ("parquet", "t.parquet")):
        target = tmp_path / name
        code, _, err = run_cli(
            capsys, "measurements", "export", "--format", fmt, "-o", target, "--store", store
        )
        assert code == 0, err
        frame = pd.read_csv(target) if fmt == "csv" else pd.read_parquet(target)
        assert len(frame) == 2
        assert {"arch", "latency_ms", "peak_memory_mb", "energy_mj", "fingerprint"} <= set(frame)
    code, out, _ = run_cli(capsys, "measurements", "show", "1", "--store", store)
    shown = json.loads(out)
    assert len(shown["samples_ms"]) == shown["latency_ms"]["n"]


def test_export_of_nothing_says_so(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "measurements", "export", "-o", tmp_path / "t.csv", "--store", tmp_path / "e.db"
    )
    assert code == 2 and "nothing to export" in err


def test_mixed_fingerprints_are_never_silent(capsys, conv_onnx, tmp_path):
    from dataclasses import replace

    store = tmp_path / "s.db"
    assert run_cli(capsys, "profile", conv_onnx, *FAST, "--store", store)[0] == 0
    with Store(str(store)) as s:
        (first,) = s.measurements()
        m = first.measurement
        other = replace(m, fingerprint=replace(m.fingerprint, onnxruntime="0.0.1"))
        s.add(other)
    code, out, _ = run_cli(capsys, "measurements", "list", "--json", "--store", store)
    (warning,) = json.loads(out)["warnings"]
    assert m.fingerprint.hash in warning and other.fingerprint.hash in warning
    code, _, err = run_cli(
        capsys, "measurements", "export", "-o", tmp_path / "t.csv", "--store", store
    )
    assert code == 0 and "mixes fingerprints" in err
    code, _, err = run_cli(
        capsys,
        "measurements",
        "export",
        "-o",
        tmp_path / "u.csv",
        "--store",
        store,
        "--fingerprint",
        m.fingerprint.hash,
    )
    assert code == 0 and "mixes" not in err
    assert len(pd.read_csv(tmp_path / "u.csv")) == 1
    # A new profile under the current fingerprint says that another one exists.
    code, _, err = run_cli(capsys, "profile", conv_onnx, *FAST, "--store", store)
    assert code == 0 and "also has 1 measurement" in err and "onnxruntime" in err


def test_ctrl_c_keeps_what_was_measured(conv_onnx, tmp_path):
    store = tmp_path / "s.db"
    models = [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(6)]
    code, out, err = interrupt_after(
        ["profile", *map(str, models), "--max-seconds", "1", "--target-ci", "0.0001", "--json"],
        store,
        1,
    )
    assert code == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] is True
    with Store(str(store)) as s:
        stored = s.measurements()
    assert 1 <= len(stored) < len(models)
    assert sorted(m["id"] for m in doc["measurements"]) == sorted(s.id for s in stored)


def test_measurements_list_prints_a_table(capsys, conv_onnx, tmp_path):
    store = tmp_path / "s.db"
    assert run_cli(capsys, "profile", conv_onnx, *FAST, "--store", store)[0] == 0
    code, out, err = run_cli(capsys, "measurements", "list", "--store", store)
    assert code == 0, err
    assert conv_onnx.name in out and "local" in out
    code, out, err = run_cli(capsys, "measurements", "list", "--store", tmp_path / "none.db")
    assert code == 0 and "no measurements" in (out + err).lower()


def test_quickstart_runs_the_whole_pipeline_on_this_cpu(capsys, monkeypatch, tmp_path):
    store = tmp_path / "q.db"
    args = ["quickstart", "--sample", "12", "--verify", "2", "--rounds", "2"]
    args += ["--max-seconds", "0.5", "--store", store, "-o", tmp_path / "out"]
    code, out, err = run_cli(capsys, *args, "--json")
    assert code == 0, err
    doc = json.loads(out)
    (m,) = doc["measurements"]
    assert m["model_name"] == "mobilenet_like_w16_64px.onnx"
    assert "Conv" in m["op_profile"]["ops"] and m["peak_memory_mb"] > 0
    pipeline = doc["pipeline"]
    assert pipeline["sample"] == 12 and pipeline["pareto"] == len(pipeline["verified"]) >= 1
    assert pipeline["verify_measurements"] <= 4  # 2 rounds of at most 2
    with Store(str(store)) as s:
        stored = {x.measurement.arch.string: x for x in s.measurements(space="nb201")}
        # The training cells, then each verification measurement: nothing measured twice.
        assert s.count(space="nb201") == 12 + pipeline["verify_measurements"] == len(stored)
        last_id = s.measurements(newest_first=True, limit=1)[0].id
    for row in pipeline["verified"]:  # every one measured here, within the budget
        assert row["within_budget"] is True and row["measured_ms"] <= pipeline["budget_ms"]
        assert row["measured_ms"] == stored[row["arch"]].measurement.latency_ms.median
        assert 0 < row["cifar10_accuracy"] < 100
        assert row["measured_in"] in ("training sample", "verify round 1", "verify round 2")
    written = tmp_path / "out"
    assert pipeline["output"] == str(written)
    assert (written / "predictor" / "meta.json").is_file() and (written / "search.json").is_file()
    assert "plotly" in (written / "report.html").read_text()[:5_000_000]
    frame = pd.read_csv(written / "pareto.csv")
    assert sorted(frame["arch"]) == sorted(r["arch"] for r in pipeline["verified"])
    assert (frame["latency_ms_measured"] <= pipeline["budget_ms"]).all()
    # Again, in a table: the exported files and the training cells are reused (nothing
    # exported again); what the run shows is its own result (kept by a spy).
    import hwnas.search.pipeline as quickstart_module

    kept = []
    real = quickstart_module.quickstart
    monkeypatch.setattr(
        quickstart_module, "quickstart", lambda **kw: kept.append(real(**kw)) or kept[-1]
    )
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    (again,) = kept
    assert "exporting" not in err and "the verified front" in out and "measured in" in out
    assert f"{again.search.measurements} to verify the search" in err
    with Store(str(store)) as s:
        new = [x for x in s.measurements(space="nb201") if x.id > last_id]
    assert len(new) == again.search.measurements  # only verification measurements are new
    for v in again.verified:
        assert v.within_budget and f"{v.measured_ms:.4g}" in out
        assert v.source.split()[0] in out  # "training" or "verify" (the column may wrap)
    code, _, err = run_cli(capsys, "quickstart", "--sample", "3", "--store", store)
    assert code == 2 and "--sample must be >= 10" in err
    for option in ("--rounds", "--verify"):
        code, _, err = run_cli(capsys, "quickstart", option, "0", "--store", store)
        assert code == 2 and f"{option} must be >= 1" in err


def test_profile_with_a_reference_model_stores_the_ratio(capsys, conv_onnx, tmp_path):
    store = tmp_path / "r.db"
    code, out, err = run_cli(
        capsys,
        "profile",
        str(conv_onnx),
        "--reference",
        "builtin",
        *FAST,
        "--json",
        "--store",
        str(store),
    )
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    reference = m["settings"]["reference"]
    assert reference["model"] == "mobilenet_like_w16_64px.onnx"
    assert len(reference["model_hash"]) == 64
    assert reference["ratio"]["n"] == m["latency_ms"]["n"] and reference["ratio"]["median"] > 0
    with Store(str(store)) as s:
        (stored,) = s.measurements(samples=True)
    assert stored.measurement.settings["reference"] == reference
    assert len(stored.measurement.warmup_ms) == 3  # the model's warm-up only (--warmup 3)
    code, out, err = run_cli(
        capsys,
        "profile",
        str(conv_onnx),
        "--reference",
        str(tmp_path / "missing.onnx"),
        "--store",
        str(store),
    )
    assert code == 2 and "missing.onnx" in err and "Traceback" not in err


def test_profile_space_measures_again_with_other_settings_and_says_what_it_reused(capsys, tmp_path):
    store = tmp_path / "reuse.db"
    toy = ["profile", "--space", "tests.toy_space:ToySpace", "--sample", "2", "--store", store]
    quick = ["--exporter", "torchscript", "--target-ci", "0.2", "--warmup", "1", "--min-runs", "5"]
    code, out, err = run_cli(capsys, *toy, *quick, "--max-seconds", "0.3", "--json")
    assert code == 0, err
    first = sorted(m["arch"]["string"] for m in json.loads(out)["measurements"])
    assert len(first) == 2
    # Another --max-seconds measures another thing: both measured again, nothing reused.
    code, out, err = run_cli(capsys, *toy, *quick, "--max-seconds", "0.4", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(m["arch"]["string"] for m in doc["measurements"]) == first
    assert doc["skipped"] == [] and doc["reused"] == []
    # The same settings again: reused, and the summary says why.
    code, out, err = run_cli(capsys, *toy, *quick, "--max-seconds", "0.3")
    assert code == 0, err
    assert out == ""
    assert (
        "skipped 2 architecture(s) already measured under this fingerprint with the same "
        "settings" in " ".join(err.split())
    )
    code, out, err = run_cli(capsys, *toy, *quick, "--max-seconds", "0.3", "--json")
    doc = json.loads(out)
    assert doc["measurements"] == [] and sorted(doc["skipped"]) == first
    (reused,) = doc["reused"]
    assert reused["device"] == "local" and reused["count"] == 2
    assert reused["reason"] == "already measured under this fingerprint with the same settings"
    with Store(str(store)) as s:
        assert s.count(space="toy") == 4
        assert s.count(space="toy", settings_key=reused["settings_key"]) == 2
