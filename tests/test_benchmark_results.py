"""Benchmark results files (issue 14 item 3): every committed file says where it came from,
and every benchmark that prints figures also writes them, with its load average.

The writers are run for real, each on small synthetic figures put in place of its
measurements (which take minutes), into tmp_path."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import (
    _results,
    chain_cpu,
    export,
    export_parallel,
    lut,
    noise,
    profiling,
    reference,
    ssh,
)

# Results files; a ``*.labels.json`` beside them is data a benchmark reads back
# (``kernels_context.py --labels``), named by the results file that made it.
COMMITTED = sorted(
    p for p in _results.RESULTS.glob("*.json") if not p.name.endswith(".labels.json")
)


def check_provenance(doc: dict[str, Any]) -> None:
    for key in ("benchmark", "command", "date", "machine"):
        assert doc.get(key), f"no {key!r}"
    assert isinstance(doc["command"], str)
    assert isinstance(doc["machine"]["cpu"], str) and doc["machine"]["cpu"]
    assert isinstance(doc["machine"]["cores"], int) and doc["machine"]["cores"] >= 1
    # predictors.json (written before provenance() existed) keeps python under machine
    assert doc.get("python") or doc["machine"].get("python")
    assert datetime.fromisoformat(doc["date"]).year >= 2026


def _labels_named(doc: dict[str, Any]) -> set[str]:
    """The labels files a results file says it read or wrote."""
    named = [doc.get("labels"), (doc.get("settings") or {}).get("labels")]
    flat = [n for v in named for n in (v if isinstance(v, list) else [v]) if isinstance(n, str)]
    return {Path(n).name for n in flat}


def test_every_labels_file_is_accounted_for_by_a_results_file() -> None:
    """A labels file sits beside the results file that made it (NAME.labels.json beside
    NAME.json) or is named by a results file that read it."""
    docs = {p.name: json.loads(p.read_text()) for p in COMMITTED}
    read = {name for doc in docs.values() for name in _labels_named(doc)}
    for labels in _results.RESULTS.glob("*.labels.json"):
        made_by = labels.name.replace(".labels.json", ".json")
        assert made_by in docs or labels.name in read, f"no results file made or read {labels.name}"
        assert json.loads(labels.read_text())["labels"], labels.name


def test_results_are_committed() -> None:
    names = {p.stem for p in COMMITTED}
    assert {"profiling", "export", "noise", "memory", "precision"} <= names


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_file_says_where_it_came_from(path: Path) -> None:
    doc = json.loads(path.read_text())
    check_provenance(doc)
    assert "benchmarks/" in doc["command"], doc["command"]
    if "load_average" in doc:  # the 1-minute figure, or all three (write_results)
        for when in ("start", "end"):
            assert min(np.atleast_1d(doc["load_average"][when])) >= 0


def written(path: Path, benchmark: str) -> dict[str, Any]:
    """The file a benchmark wrote, checked for what every new results file carries."""
    doc = json.loads(path.read_text())
    check_provenance(doc)
    assert doc["benchmark"] == benchmark
    assert doc["python"]
    assert "seed" in doc and "settings" in doc and "summary" in doc
    assert 0 <= doc["seconds"] < 60
    assert [len(doc["load_average"][k]) for k in ("start", "end")] == [3, 3]
    assert list(doc)[:5] == ["benchmark", "command", "date", "machine", "python"]
    return doc


def test_write_results_adds_time_and_load(tmp_path: Path) -> None:
    start = _results.started()
    doc = {**_results.provenance("demo"), "seed": 3, "figure": 1.5}
    path = _results.write_results(doc, start, tmp_path / "sub" / "demo.json")
    assert path == tmp_path / "sub" / "demo.json"
    back = json.loads(path.read_text())
    assert back["figure"] == 1.5 and back["seed"] == 3
    assert back["load_average"]["start"] == start["load_average"]
    assert list(back)[-2:] == ["seconds", "load_average"]


def efficiency_row(model: str, reached: int) -> dict[str, Any]:
    summary = {
        "runs_median": 50,
        "measure_s_median": 0.1,
        "wall_s_median": 0.3,
        "ci_halfwidth_pct_median": 0.8,
        "ci_halfwidth_pct_max": 1.2,
        "reached_1pct": reached,
        "median_spread_pct": 2.0 + reached,
        "medians_ms": [1.0, 1.02],
    }
    return {"model": model, "adaptive": summary, "fixed_10_50": {**summary, "reached_1pct": 0}}


def test_profiling_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "benchmark_models", lambda out: [Path("a.onnx")] * 2)
    over = [
        {"model": m, "hwnas_median_ms": 1.0, "bare_median_ms": 1.0, "difference_pct": d}
        for m, d in (("a", -2.0), ("b", 0.5))
    ]
    monkeypatch.setattr(profiling, "overhead", lambda models, rounds: over)
    rows = [efficiency_row("a", 2), efficiency_row("b", 1)]
    monkeypatch.setattr(profiling, "efficiency", lambda models, rounds: rows)
    argv = ["--rounds", "2", "--out", str(tmp_path), "--results", str(tmp_path / "p.json")]
    doc = written(profiling.main(argv), "profiling")
    assert doc["summary"]["difference_pct_range"] == [-2.0, 0.5]
    assert doc["summary"]["reached_1pct"] == {"adaptive": 3, "fixed_10_50": 0}
    assert doc["summary"]["profiles"]["adaptive"] == 4
    assert doc["settings"]["rounds"] == 2 and doc["overhead"] == over


def test_export_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(name: str, n: int, seed: int, exporter: str) -> dict[str, Any]:
        cold = {"nb201": 1.0, "chain": 3.0}[name]
        return {
            "space": name,
            "n": n,
            "export_s_median": cold,
            "export_s_max": cold,
            "hit_ms_median": cold,
            "model_mb_median": 1.0,
            "speedup": 1000.0,
        }

    monkeypatch.setattr(export, "bench_space", fake)
    argv = ["--n", "2", "--seed", "4", "--spaces", "nb201,chain", "--exporter", "torchscript"]
    doc = written(export.main([*argv, "--results", str(tmp_path / "e.json")]), "export")
    assert doc["seed"] == 4 and doc["settings"]["exporter"] == "torchscript"
    assert doc["summary"]["export_s_median_range"] == [1.0, 3.0]
    assert [r["space"] for r in doc["rows"]] == ["nb201", "chain"]
    assert doc["torch"] and doc["onnxruntime"]


def test_export_parallel_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        ("1 process (here)", "dynamo", 8.0),
        ("1 process (here)", "torchscript", 2.0),
        ("local pool, 2", "torchscript", 1.0),
    ]
    monkeypatch.setattr(export_parallel, "measure", lambda n, space, seed: rows)
    monkeypatch.setenv("HWNAS_HOME", str(tmp_path / "home"))  # main points it elsewhere
    path = export_parallel.main(["--n", "4", "--results", str(tmp_path / "x.json")])
    doc = written(path, "export_parallel")
    assert doc["settings"] == {"n": 4, "space": "chain"}
    assert doc["summary"]["local pool, 2, torchscript"] == 4.0
    assert [r["speedup_vs_1_process_torchscript"] for r in doc["rows"]] == [0.25, 1.0, 2.0]


def test_ssh_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = {"local": ([0.1, 0.2, 0.3], 1.0), "ssh, staged": ([0.2, 0.3, 0.4], 2.0)}
    monkeypatch.setattr(ssh, "measure", lambda n: runs)
    doc = written(ssh.main(["--models", "3", "--results", str(tmp_path / "s.json")]), "ssh")
    assert doc["summary"]["extra_s_median"] == pytest.approx({"local": 0.0, "ssh, staged": 0.1})
    assert doc["rows"][1]["overheads_s"] == [0.2, 0.3, 0.4]
    assert doc["settings"]["models"] == 3 and doc["settings"]["profile"]["max_seconds"] == 0.5


def test_noise_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [[1.0, 10.0, 0.1], [2.0, 20.0, 0.1], [3.0, 30.0, 0.1]]
    monkeypatch.setattr(noise, "measure", lambda seed, processes, pairs: (["a", "b"], rows))
    doc = written(noise.main(["--processes", "3", "--results", str(tmp_path / "n.json")]), "noise")
    a, ratio = doc["summary"]["median_a_ms"], doc["summary"]["median_ratio_a_b"]
    assert a["mean"] == pytest.approx(2.0)
    assert a["cv_pct"] == pytest.approx(100 * np.std([1, 2, 3]) / 2)
    assert a["spread_pct"] == pytest.approx(100.0)
    assert ratio["cv_pct"] == pytest.approx(0.0, abs=1e-9)
    assert doc["processes"][1] == {"median_a_ms": 2.0, "median_b_ms": 20.0, "median_ratio_a_b": 0.1}


def test_reference_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = {
        f"arch{i}": ([1.0 + i, (1.0 + i) * (1.2 if i % 2 else 1.0)], [1.0 + i] * 2)
        for i in range(4)
    }
    monkeypatch.setattr(reference, "pairs", lambda store: found)
    argv = ["--skip-measuring", "--store", str(tmp_path / "r.db")]
    doc = written(reference.main([*argv, "--results", str(tmp_path / "r.json")]), "reference")
    assert doc["summary"]["median"]["within_10_pct"] == pytest.approx(50.0)
    assert doc["summary"]["ratio"]["within_5_pct"] == pytest.approx(100.0)
    assert doc["summary"]["ratio"]["median_abs_difference_pct"] == pytest.approx(0.0)
    assert doc["networks_measured_twice"] == 4 and doc["settings"]["measured_now"] is False


def test_lut_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = {
        "errors": [],
        "interrupted": False,
        "fingerprint": "f",
        "blocks": {"total": 3, "measured": 2},
        "networks": {"measured": 5},
        "floor_ms": 0.01,
        "calibration": {},
    }
    variant = {
        "statistic": "p50",
        "sum": "Σ p50",
        "calibration": "affine",
        "scale": 1.0,
        "offset_ms": 0.0,
        "mape": 8.0,
        "spearman": 0.99,
        "kendall": 0.9,
        "within_10": 0.8,
        "within_5": 0.5,
        "worst": {"predicted_ms": 1.1, "measured_ms": 1.0},
    }
    monkeypatch.setattr(lut, "build", lambda space, args: (report, 2.5))
    monkeypatch.setattr(
        lut,
        "machine",
        lambda: {
            "cpu": "x",
            "cores": 2,
            "python": "3",
            "onnxruntime": "1",
            "torch": "2",
            "os": "linux",
            "date": "today",
        },
    )
    rows = [{**variant, "default": False}, {**variant, "mape": 5.0, "default": True}]
    monkeypatch.setattr(lut, "variants", lambda *a, **k: rows)
    argv = ["--spaces", "nb201", "--store", str(tmp_path / "l.db"), "--seed", "7"]
    lut.main([*argv, "--out", str(tmp_path / "l.json")])
    doc = written(tmp_path / "l.json", "lut")
    assert doc["seed"] == 7 and doc["settings"]["spaces"] == "nb201"
    assert doc["summary"]["nb201"]["mape"] == 5.0
    assert doc["results"][0]["seconds"] == 2.5 and doc["results"][0]["variants"] == rows


def chain_store(path: Path, archs: list[str], speed: float, seed: int) -> None:
    """A store of ``archs`` measured on "local" with a reference model beside each: the
    latency follows the MACs, the machine runs ``speed`` times slower (varying from
    measurement to measurement), and the ratio to the reference cancels the speed."""
    from hwnas.records import Arch, Fingerprint, LatencyStats, Measurement
    from hwnas.spaces import get_space
    from hwnas.store import Store

    space = get_space("chain")
    rng = np.random.default_rng(seed)
    fp = Fingerprint(
        cpu_model="x",
        cores=2,
        os="Linux",
        python="3.11",
        onnxruntime="1.18.0",
        execution_provider="CPUExecutionProvider",
        threads=1,
    )
    records = []
    for arch in archs:
        true_ms = 0.5 + 2e-8 * space.flops(arch)
        phase = speed * rng.uniform(0.8, 1.2)
        ms = true_ms * phase
        stats = LatencyStats(
            n=5, median=ms, mean=ms, std=0.01, p10=ms, p90=ms, p99=ms, ci_low=ms, ci_high=ms
        )
        reference = {
            "model": "ref.onnx",
            "latency_ms": {"median": 4.0 * phase},
            "ratio": {"median": true_ms / 4.0},
        }
        records.append(
            Measurement(
                model_hash=f"m-{arch}",
                device="local",
                fingerprint=fp,
                latency_ms=stats,
                timestamp="2026-12-01T00:00:00+00:00",
                arch=Arch(space="chain", string=arch),
                settings={"reference": reference},
            )
        )
    with Store(path) as store:
        store.add_many(records)


def test_chain_cpu_splits_by_class_and_scores_a_frozen_predictor_on_a_hold_out(
    tmp_path: Path,
) -> None:
    from hwnas.spaces import get_space

    archs = get_space("chain").sample_distinct(3, 80)
    train, later = tmp_path / "train.db", tmp_path / "later.db"
    chain_store(train, archs[:60], speed=1.0, seed=0)
    # The hold-out set runs on a machine 1.4x slower, and repeats one training network.
    chain_store(later, archs[59:], speed=1.4, seed=1)
    common = ["--store", str(train), "--lut-store", str(tmp_path / "none.db")]
    out = str(tmp_path / "c.json")
    doc = written(
        chain_cpu.main([*common, "--train", "40", "--splits", "3", "--results", out]), "chain_cpu"
    )
    ratio = next(label for label in doc["labels"] if label["statistic"] == "ratio")
    assert ratio["splits"] == 3 and ratio["classes"] == 60 and ratio["seeds"] == [0, 1, 2]
    name = next(k for k in ratio["results"] if k.startswith("hwnas"))
    for key in ("spearman", "within10"):
        found = ratio["results"][name][key]
        assert found["low"] <= found["mean"] <= found["high"]
        assert found["mean"] == pytest.approx(np.mean([s[key] for s in ratio["per_split"][name]]))
    assert ratio["results"][name]["spearman"]["mean"] > 0.8  # ratio labels are clean here
    t, rest = chain_cpu.class_split(archs[:60], 40, 5)
    assert len(t) == 40 and not set(t) & set(rest) and len(rest) == 20

    frozen = tmp_path / "frozen"
    chain_cpu.main([*common, "--freeze", str(frozen), "--results", str(tmp_path / "f.json")])
    out = str(tmp_path / "h.json")
    path = chain_cpu.main(
        [*common, "--holdout", str(later), "--frozen", str(frozen), "--results", out]
    )
    held = written(path, "chain_cpu")["holdout"]
    sealed = json.loads((tmp_path / "f.json").read_text())["frozen"]["seal"]
    assert sealed and held["seal"] == sealed  # scored with the very predictor frozen
    assert held["statistic"] == "ratio" and held["n"] == 20 and held["dropped_as_seen"] == 1
    # In ms at the frozen predictor's reference speed, not the slower machine's.
    assert held["scores"]["mape"] < 15
    low, high = held["bootstrap_95"]["spearman"]
    assert low <= held["scores"]["spearman"] <= high
    with pytest.raises(SystemExit):
        chain_cpu.main([*common, "--holdout", str(later)])
    with pytest.raises(SystemExit):
        chain_cpu.main([*common, "--splits", "0"])


def test_kernels_rescore_adds_bootstrap_intervals_from_the_rows(tmp_path: Path) -> None:
    from benchmarks import kernels_context

    errors = [2.0, -4.0, 12.0, -30.0, 8.0, 1.0, -15.0, 5.0]
    rows = [{"error_pct": e, "raw_error_pct": 2 * e} for e in errors]
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"rows": rows, "incontext": None, "other": 1}))
    kernels_context.rescore(path)
    doc = json.loads(path.read_text())
    assert doc["other"] == 1 and set(doc["intervals_95"]) == {"corrected", "uncorrected"}
    low, high = doc["intervals_95"]["corrected"]["within_10"]
    assert low <= 5 / 8 <= high and high - low > 0.1  # 5 of 8 within ±10%, 8 models: wide
    low, high = doc["intervals_95"]["corrected"]["mape"]
    assert low <= float(np.mean(np.abs(errors))) <= high
    raw = doc["intervals_95"]["uncorrected"]["mape"]
    assert raw[0] > low and raw[1] > high  # twice the errors


def test_verify_selection_writes_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import verify_selection

    monkeypatch.setattr(verify_selection, "load", lambda name: {"name": name})
    share = {"ehvi": 0.99, "front": 0.96, "hybrid": 0.98}
    loops: list[dict[str, int]] = []

    def one_run(table: Any, seed: int, sel: str, loop: dict[str, int]) -> float:
        loops.append(loop)
        return share[sel] - 0.001 * (seed % 3)

    monkeypatch.setattr(verify_selection, "one_run", one_run)
    argv = ["--tables", "a,b", "--seeds", "3", "--first-seed", "7", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", ["verify_selection.py", *argv])
    verify_selection.main()
    doc = written(tmp_path / "verify_selection.json", "verify_selection")
    assert (
        loops[-1]
        == verify_selection.LOOP
        == {k: doc["settings"][k] for k in ("rounds", "per_round", "max_measurements")}
    )
    assert doc["seeds"] == [7, 8, 9] and doc["settings"]["tables"] == "a,b"
    assert [(r["table"], r["selection"]) for r in doc["rows"]] == [
        (t, s) for t in "ab" for s in ("ehvi", "front", "hybrid")
    ]
    assert doc["summary"]["ehvi"]["mean"] > doc["summary"]["front"]["mean"]
    assert doc["rows"][0]["per_seed"] == [0.989, 0.988, 0.99]
    monkeypatch.setattr(sys, "argv", ["verify_selection.py", "--selections", "best"])
    with pytest.raises(SystemExit):
        verify_selection.main()
    # Smaller rounds, written under another name.
    argv += ["--rounds", "10", "--per-round", "10", "--name", "rounds"]
    monkeypatch.setattr(sys, "argv", ["verify_selection.py", *argv])
    verify_selection.main()
    doc = written(tmp_path / "rounds.json", "rounds")
    assert doc["settings"]["rounds"] == doc["settings"]["per_round"] == 10
    assert loops[-1]["rounds"] == 10 and loops[-1]["per_round"] == 10


def test_verify_selection_refuses_bad_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import verify_selection

    with pytest.raises(SystemExit, match="no table nb201_latency_nope"):
        verify_selection.load("nope")
    for bad in (["--seeds", "0"], ["--rounds", "0"], ["--per-round", "0"]):
        monkeypatch.setattr(sys, "argv", ["verify_selection.py", *bad])
        with pytest.raises(SystemExit):
            verify_selection.main()


def test_kernels_validate_curve_scores_each_fit_size_on_the_same_networks() -> None:
    """Synthetic networks whose convs cost 1.5x their isolated prediction inside a
    network: fitted on more networks, the in-network correction gets nearer the truth
    than the raw sum, and every size is scored on the same validation networks."""
    from benchmarks import kernels_validate
    from hwnas.predictors.kernel_features import FEATURE_NAMES

    rng = np.random.default_rng(0)

    def network(seed: int) -> dict[str, Any]:
        kinds = list(rng.choice(["conv", "elementwise"], size=12))
        isolated = rng.uniform(0.05, 1.0, size=12)
        labels = np.where(np.array(kinds) == "conv", 1.5, 1.0) * isolated
        x = rng.random((12, len(FEATURE_NAMES)))
        x[:, 0] = [kind == "conv" for kind in kinds]  # op_code tells the kinds apart
        return {
            "seed": seed,
            "mode": "image",
            "measured": 0.1 + float(labels.sum()),
            "x": x,
            "kinds": kinds,
            "params": [0] * 12,
            "isolated": isolated,
            "labels": labels,
        }

    fit, val = [network(s) for s in range(40)], [network(s) for s in range(40, 60)]
    predictor = type("P", (), {"overhead_model_ms_": 0.1})()
    curve = kernels_validate.learning_curve(predictor, fit, val, [10, 40, 80])
    assert list(curve) == ["10", "40"]  # 80 is more than there are
    for scored in curve.values():
        assert set(scored) == set(kernels_validate.METHODS)
        assert all(m["n"] == len(val) for m in scored.values())
    best = curve["40"]
    assert best["incontext"]["mape"] < best["raw"]["mape"]
    assert best["raw"]["mean_error_pct"] < -10  # the convs' extra half is missing


@pytest.mark.parametrize("bad", ["12,x", "5,50"])
def test_kernels_validate_refuses_a_bad_curve_before_measuring(
    bad: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import kernels_validate

    argv = ["kernels_validate.py", "--predictor", "p", "--store", "s", "--curve", bad]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        kernels_validate.main()  # the predictor "p" does not exist: never reached
    assert exit_.value.code == 2 and "--curve" in capsys.readouterr().err
    assert kernels_validate.curve_sizes("50, 12,50") == [12, 50]


def test_kernels_validate_splits_one_generation_of_networks_by_position() -> None:
    import argparse

    from benchmarks import kernels_validate
    from hwnas.predictors.kernel_networks import GENERATION_2

    measured = {s: 1.0 for s in [0, 1, 3, 5, GENERATION_2 + 2, GENERATION_2, GENERATION_2 + 7]}
    args = argparse.Namespace(fit=2, val=1, split="block", generation=2)
    assert kernels_validate.split(args, measured) == (
        [GENERATION_2, GENERATION_2 + 2],
        [GENERATION_2 + 7],
    )
    args = argparse.Namespace(fit=2, val=2, split="interleave", generation=1)
    assert kernels_validate.split(args, measured) == ([0, 3], [1, 5])


def test_kernels_validate_cross_generation_fits_on_each_and_scores_each() -> None:
    """Synthetic networks whose convs cost 1.2x their isolated prediction in the first
    generation and 2x in the second (an op code only the second uses marks its convs):
    fitted on the first alone, the second is predicted too low; fitted on the second,
    it is predicted near the truth."""
    from benchmarks import kernels_validate
    from hwnas.predictors.kernel_features import FEATURE_NAMES
    from hwnas.predictors.kernel_networks import GENERATION_2

    rng = np.random.default_rng(1)

    def network(seed: int) -> dict[str, Any]:
        second = seed >= GENERATION_2
        kinds = list(rng.choice(["conv", "elementwise"], size=10))
        isolated = rng.uniform(0.05, 1.0, size=10)
        labels = np.where(np.array(kinds) == "conv", 2.0 if second else 1.2, 1.0) * isolated
        x = rng.random((10, len(FEATURE_NAMES)))
        x[:, 0] = [(2 if second else 1) * (kind == "conv") for kind in kinds]
        return {
            "seed": seed,
            "measured": float(labels.sum()),
            "x": x,
            "kinds": kinds,
            "params": [0] * 10,
            "isolated": isolated,
            "labels": labels,
        }

    # Every generation has its name, the eighth and ninth too.
    from hwnas.predictors.kernel_networks8 import GENERATION_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9

    seeds = (0, GENERATION_2, GENERATION_8 + 5, GENERATION_9 + 5)
    assert [kernels_validate.generation(s) for s in seeds] == [1, 2, 8, 9]
    assert kernels_validate._ORDINAL[8] == "eighth" and kernels_validate._ORDINAL[9] == "ninth"
    nets = [network(s) for s in range(60)] + [network(GENERATION_2 + s) for s in range(60)]
    predictor = type("P", (), {"overhead_model_ms_": 0.0})()
    got = kernels_validate.cross_generation(predictor, nets, reps=1)
    assert set(got) == {
        f"fit_{a}_score_{b}" for a in ("first", "second", "both") for b in ("first", "second")
    }
    assert got["fit_first_score_second"]["n"] == 60
    assert got["fit_first_score_second"]["mean_error_pct"] < -10
    assert abs(got["fit_second_score_second"]["mean_error_pct"]) < 5
    assert got["fit_second_score_second"]["mape"] < got["fit_first_score_second"]["mape"]


def test_kernels_validate_merges_labels_at_the_first_files_reference_speed(
    tmp_path: Path,
) -> None:
    from benchmarks import kernels_validate

    a, b = tmp_path / "a.labels.json", tmp_path / "b.labels.json"
    a.write_text(json.dumps({"reference_ms": 10.0, "labels": {"1": 2.0, "2": 4.0}}))
    b.write_text(json.dumps({"reference_ms": 5.0, "labels": {"7": 1.0}}))
    assert kernels_validate.merged_labels([a, b]) == {1: 2.0, 2: 4.0, 7: 2.0}


def test_kernels_relabel_recovers_a_fixed_cost_per_inference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels measured in a session with 0.06 ms more per inference (and a reference 20%
    slower): the fit finds the constant and a scale of 1, at the file's reference speed."""
    import importlib
    import sys

    from benchmarks import kernels_relabel

    # The benchmark imports its sibling by the name it runs under (benchmarks/ on the path).
    kernels_validate = importlib.import_module("kernels_validate")
    rng = np.random.default_rng(1)
    now = {s: float(ms) for s, ms in enumerate(np.exp(rng.uniform(-1.6, 2.5, size=60)))}
    then = {s: ms + 0.06 for s, ms in now.items()}
    labels = tmp_path / "old.labels.json"
    labels.write_text(json.dumps({"reference_ms": 12.0, "labels": then}))
    ref = tmp_path / "ref.onnx"
    ref.write_bytes(b"x")

    def measure(seeds: list[int], reference: Path, max_seconds: float) -> tuple:
        assert reference == ref and len(set(seeds)) == len(seeds)
        # Today's labels are in ms at today's reference speed (10 ms, not 12).
        return {s: now[s] * 10 / 12 for s in seeds}, {"reference_ms": 10.0, "ratio": {}}

    monkeypatch.setattr(kernels_validate, "reference_labels", measure)
    written: list[dict[str, Any]] = []
    monkeypatch.setattr(kernels_relabel, "write_results", lambda d, s: written.append(d))
    argv = ["kernels_relabel.py", "--labels", str(labels), "--reference", str(ref)]
    monkeypatch.setattr(sys, "argv", argv)
    kernels_relabel.main()
    fit = written[0]["summary"][str(labels)]
    assert fit["c_ms"] == pytest.approx(0.06, abs=1e-3) and fit["a"] == pytest.approx(1.0, abs=1e-3)
    assert fit["ratio_change_pct"]["below_1ms_mean"] < fit["ratio_change_pct"]["from_1ms_mean"]
    # Stratified: every size band that has networks is sampled.
    sizes = [r["then_ms"] for r in written[0]["files"][0]["rows"]]
    assert min(sizes) < 0.5 and max(sizes) > 5
    assert written[0]["seed"] == 0 and written[0]["settings"]["passes"] == 2


def test_kernels_relabel_compares_two_labels_files_without_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from benchmarks import kernels_relabel

    later = {str(s): 0.2 * (s + 1) for s in range(40)}
    earlier = {s: 2 * (ms + 0.03) for s, ms in later.items()}  # reference twice as slow
    a, b = tmp_path / "a.labels.json", tmp_path / "b.labels.json"
    a.write_text(json.dumps({"reference_ms": 20.0, "labels": earlier}))
    b.write_text(json.dumps({"reference_ms": 10.0, "labels": later}))
    written: list[dict[str, Any]] = []
    monkeypatch.setattr(kernels_relabel, "write_results", lambda d, s: written.append(d))
    monkeypatch.setattr(sys, "argv", ["x", "--labels", str(a), "--against", str(b)])
    kernels_relabel.main()
    fit = written[0]["files"][0]["fit"]
    # At a's reference speed the later labels are 2x and the fixed cost 0.06 ms.
    assert fit["c_ms"] == pytest.approx(0.06, abs=1e-6) and fit["a"] == pytest.approx(1.0)
    assert written[0]["files"][0]["networks"] == 40
    for argv, match in [
        (["--labels", str(a)], "give --reference"),
        (["--labels", str(a), "--against", str(b), "--reference", str(b)], "give --reference"),
        (["--labels", str(a), "--against", str(tmp_path / "c.json")], "no such file"),
    ]:
        monkeypatch.setattr(sys, "argv", ["x", *argv])
        with pytest.raises(SystemExit, match=match):
            kernels_relabel.main()


def test_kernels_fc_draws_seeded_mlps_and_summarises_their_errors() -> None:
    from benchmarks import kernels_fc

    a, shape_a = kernels_fc.random_mlp(np.random.default_rng(3))
    b, shape_b = kernels_fc.random_mlp(np.random.default_rng(3))
    assert shape_a == shape_b and str(a) == str(b)  # a seed names one network
    linears = [m for m in a if type(m).__name__ == "Linear"]
    assert 3 <= len(linears) <= 6 and linears[0].in_features == shape_a[1]
    mlps = [
        {"weights_mb": 16.0, "measured_ms": 0.8, "error_pct": -60.0},
        {"weights_mb": 32.0, "measured_ms": 1.6, "error_pct": 5.0},
        {"weights_mb": 2.0, "measured_ms": 0.3, "error_pct": -20.0},
    ]
    alone = [
        {"m": 1, "weights_mb": 16.0, "error_pct": -50.0},
        {"m": 1, "weights_mb": 0.3, "error_pct": 90.0},  # too small to count
        {"m": 16, "weights_mb": 16.0, "error_pct": -10.0},
    ]
    sampled = [{"m": 1, "k": 1000, "n": 1000}, {"m": 8, "k": 100, "n": 10}]
    got = kernels_fc.summary(mlps, alone, sampled)
    assert got["within_10"] == pytest.approx(1 / 3, abs=1e-3)
    assert got["measured_ms_per_weight_mb_median"] == pytest.approx(0.05)
    assert got["one_row_gemm_alone_mean_error_pct"] == -50.0
    assert got["sampled_gemms_one_row"] == 1 and got["sampled_gemm_max_weights_mb"] == 4.0


def test_kernels_validate_says_which_generation_a_store_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import contextlib
    import sys

    from benchmarks import kernels_validate
    from hwnas import store
    from hwnas.predictors import kernel_context, kernels

    stub = type("P", (), {"device_": "local", "fingerprint_": "f"})()
    monkeypatch.setattr(kernels.KernelPredictor, "load", staticmethod(lambda path: stub))
    monkeypatch.setattr(store, "Store", lambda path: contextlib.nullcontext(None))
    first_generation = {s: 1.0 for s in range(30)}
    monkeypatch.setattr(kernel_context, "context_measurements", lambda *a, **k: first_generation)
    argv = ["kernels_validate.py", "--predictor", "p", "--store", "s", "--fit", "10"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match="--generation 1"):
        kernels_validate.main()


def test_kernels_context_refuses_labels_that_miss_the_builds_networks_before_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import hwnas
    from benchmarks import kernels_context
    from hwnas.predictors.kernel_networks import GENERATION_2
    from hwnas.predictors.kernel_networks3 import GENERATION_3
    from hwnas.predictors.kernel_networks4 import GENERATION_4
    from hwnas.predictors.kernel_networks5 import GENERATION_5
    from hwnas.predictors.kernel_networks6 import GENERATION_6
    from hwnas.predictors.kernel_networks7 import GENERATION_7
    from hwnas.predictors.kernel_networks8 import GENERATION_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9
    from hwnas.predictors.kernel_networks10 import GENERATION_10

    labels = tmp_path / "first.labels.json"
    first = {str(s): 1.0 for s in range(20)}  # the first generation only
    labels.write_text(json.dumps({"reference_ms": 10.0, "labels": first}))

    def no_build(**_: Any) -> None:
        raise AssertionError("nothing may be measured with unusable labels")

    monkeypatch.setattr(hwnas, "build_kernel_predictor", no_build)
    argv = ["kernels_context.py", "--context", "18", "--out", str(tmp_path), "--labels"]
    monkeypatch.setattr(sys, "argv", [*argv, str(labels), "--reference", "ref.onnx"])
    with pytest.raises(SystemExit, match="holds 0 of the build's 18 random networks"):
        kernels_context.main()
    monkeypatch.setattr(sys, "argv", [*argv, str(tmp_path / "absent.json")])
    with pytest.raises(SystemExit, match=r"absent.json: no such file \(kernels_validate"):
        kernels_context.main()
    monkeypatch.setattr(sys, "argv", [*argv, str(labels), "--reference", "ref.onnx"])
    second = {**first, **{str(GENERATION_2 + i): 2.0 for i in range(16)}}
    labels.write_text(json.dumps({"reference_ms": 10.0, "labels": second}))
    # The build plans its networks in ninths of the second to tenth generations
    # (2 of each of 18): the missing generations are named.
    with pytest.raises(
        SystemExit,
        match=r"holds 2 of the build's 18 .*generation 3 and 4 and 5 and 6 and 7 and 8 and 9 "
        r"and 10\)",
    ):
        kernels_context.main()

    def add_labels(name: str, first_seed: int, ms: float, reference_ms: float) -> None:
        """A labels file of 16 networks from ``first_seed``, one more ``--labels``."""
        path = tmp_path / f"{name}.labels.json"
        labels = {str(first_seed + i): ms for i in range(16)}
        path.write_text(json.dumps({"reference_ms": reference_ms, "labels": labels}))
        monkeypatch.setattr(sys, "argv", [*sys.argv, "--labels", str(path)])

    # The third generation's labels in a second file, measured when the reference ran at
    # 20 ms: merged at the first file's reference speed.
    add_labels("third", GENERATION_3, 3.0, 20.0)
    with pytest.raises(
        SystemExit,
        match=r"holds 4 of the build's 18 .*\(--generation 4 and 5 and 6 and 7 and 8 and 9 "
        r"and 10\)",
    ):
        kernels_context.main()
    add_labels("fourth", GENERATION_4, 4.0, 5.0)
    with pytest.raises(
        SystemExit,
        match=r"holds 6 of the build's 18 .*\(--generation 5 and 6 and 7 and 8 and 9 and 10\)",
    ):
        kernels_context.main()
    add_labels("fifth", GENERATION_5, 1.0, 10.0)
    with pytest.raises(
        SystemExit, match=r"holds 8 of the build's 18 .*\(--generation 6 and 7 and 8 and 9 and 10\)"
    ):
        kernels_context.main()
    add_labels("sixth", GENERATION_6, 3.0, 30.0)
    with pytest.raises(
        SystemExit, match=r"holds 10 of the build's 18 .*\(--generation 7 and 8 and 9 and 10\)"
    ):
        kernels_context.main()
    add_labels("seventh", GENERATION_7, 2.0, 10.0)
    with pytest.raises(
        SystemExit, match=r"holds 12 of the build's 18 .*\(--generation 8 and 9 and 10\)"
    ):
        kernels_context.main()
    add_labels("eighth", GENERATION_8, 4.0, 20.0)
    with pytest.raises(SystemExit, match=r"holds 14 of the build's 18 .*\(--generation 9 and 10\)"):
        kernels_context.main()
    add_labels("ninth", GENERATION_9, 6.0, 30.0)
    with pytest.raises(SystemExit, match=r"holds 16 of the build's 18 .*\(--generation 10\)"):
        kernels_context.main()
    add_labels("tenth", GENERATION_10, 5.0, 25.0)
    got, reference = kernels_context.planned_labels(kernels_context.parse_args())
    assert got == (
        {GENERATION_2 + i: 2.0 for i in range(2)}
        | {GENERATION_3 + i: 1.5 for i in range(2)}
        | {GENERATION_4 + i: 8.0 for i in range(2)}
        | {GENERATION_5 + i: 1.0 for i in range(2)}
        | {GENERATION_6 + i: 1.0 for i in range(2)}
        | {GENERATION_7 + i: 2.0 for i in range(2)}
        | {GENERATION_8 + i: 2.0 for i in range(2)}
        | {GENERATION_9 + i: 2.0 for i in range(2)}
        | {GENERATION_10 + i: 2.0 for i in range(2)}
    )
    assert reference == (Path("ref.onnx"), 10.0)


def test_kernels_context_warns_of_labels_from_another_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys
    from datetime import timedelta, timezone

    from benchmarks import kernels_context
    from hwnas.predictors.kernel_networks import GENERATION_2
    from hwnas.predictors.kernel_networks3 import GENERATION_3
    from hwnas.predictors.kernel_networks4 import GENERATION_4
    from hwnas.predictors.kernel_networks5 import GENERATION_5

    labels = tmp_path / "old.labels.json"
    from hwnas.predictors.kernel_networks6 import GENERATION_6
    from hwnas.predictors.kernel_networks7 import GENERATION_7
    from hwnas.predictors.kernel_networks8 import GENERATION_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9
    from hwnas.predictors.kernel_networks10 import GENERATION_10

    firsts = (
        GENERATION_2,
        GENERATION_3,
        GENERATION_4,
        GENERATION_5,
        GENERATION_6,
        GENERATION_7,
        GENERATION_8,
        GENERATION_9,
        GENERATION_10,
    )
    seeds = [g + i for g in firsts for i in range(2)]  # a ninth of 18 from each
    labels.write_text(json.dumps({"reference_ms": 10.0, "labels": {s: 1.0 for s in seeds}}))
    now = datetime.now(timezone.utc)
    # No results file beside the labels: their age is unknown, and nothing is said.
    assert kernels_context.labels_age_hours(labels) is None
    written = (now - timedelta(hours=26)).isoformat(timespec="seconds")
    (tmp_path / "old.json").write_text(json.dumps({"date": written}))
    assert kernels_context.labels_age_hours(labels, now) == pytest.approx(26, abs=0.01)
    argv = ["kernels_context.py", "--context", "18", "--labels", str(labels)]
    monkeypatch.setattr(sys, "argv", [*argv, "--reference", "ref.onnx"])
    got, _ = kernels_context.planned_labels(kernels_context.parse_args())
    assert len(got) == 18
    assert "measured 26 h ago" in capsys.readouterr().err
    (tmp_path / "old.json").write_text(json.dumps({"date": now.isoformat()}))
    kernels_context.planned_labels(kernels_context.parse_args())
    assert "warning" not in capsys.readouterr().err


def test_kernels_pooled_scores_against_the_truth_of_all_sessions() -> None:
    from benchmarks import kernels_pooled

    def session(truth: dict[str, float], predicted: dict[str, float]) -> dict[str, Any]:
        rows = [
            {"model": m, "measured_ms": [t, t], "corrected_ms": predicted[m]}
            for m, t in truth.items()
        ]
        return {"rows": rows}

    # Session 1 measured model b at 1.0 ms, session 2 at 1.44: the pooled truth is 1.2.
    first = session({"a": 2.0, "b": 1.0}, {"a": 2.0, "b": 1.2})
    second = session({"a": 2.0, "b": 1.44, "c": 5.0}, {"a": 2.0, "b": 1.2, "c": 5.0})
    truth = kernels_pooled.pooled_truth([first, second])
    assert set(truth) == {"a", "b"}  # c: measured in one session only
    assert truth["b"]["ms"] == pytest.approx(1.2) and truth["b"]["spread_pct"] == 44.0
    got = kernels_pooled.score(first, truth)
    assert got["n"] == 2 and got["within_10"] == 1.0 and got["errors_pct"]["b"] == 0.0
    # Against session 1's own truth b is 20% high: pooling changes the verdict.
    assert kernels_pooled.score(first, kernels_pooled.pooled_truth([first]))["within_10"] == 0.5
    with pytest.raises(SystemExit, match="no such results file"):
        kernels_pooled.load("no_such_results_file")


def test_search_bound_scores_out_of_fold_errors_near_the_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A predictor 10% high everywhere: every cell near the front is 9.1% below its
    prediction (within ±10%), folds train on four fifths, and only the loop tables run
    the loop, once as it is and once with the every-cell predictor."""
    from benchmarks import search_bound, verify_selection

    rng = np.random.default_rng(0)
    cells = [f"c{i}" for i in range(60)]
    truth = dict(zip(cells, rng.uniform(1, 10, 60).tolist(), strict=True))
    acc = dict(zip(cells, rng.uniform(80, 95, 60).tolist(), strict=True))
    table = {"truth": truth, "accuracy": acc, "budget": 6.0, "ref": np.array([-85.0, 6.0])}
    monkeypatch.setattr(verify_selection, "load", lambda name: table)
    trained: list[int] = []

    class High:
        def predict(self, archs: list[str]) -> np.ndarray:
            return np.array([truth[a] * 1.1 for a in archs])

    def train(archs: list[str], tab: Any, seed: int, where: Path) -> High:
        trained.append(len(archs))
        return High()

    loops: list[Any] = []

    def one_run(
        tab: Any, seed: int, sel: str, loop: Any = None, train: Any = None, keep: Any = None
    ) -> float:
        from hwnas.search.verify import Checked, Refined, RoundReport

        (train or verify_selection._train)(list(truth), tab, seed, tmp_path)
        loops.append(loop)
        if keep is not None:  # the last round joined the front on even seeds
            front = [Checked("c0", 90.0, {}, {"latency_ms": 1.0}, loop["rounds"] - seed % 2)]
            ran = [RoundReport(r, 1, ["c0"], 0) for r in range(1, loop["rounds"] + 1)]
            keep["refined"] = Refined(front, {}, ran, 25 * loop["rounds"], {})
        return 0.95 if train else 0.9

    monkeypatch.setattr(verify_selection, "_train", train)
    monkeypatch.setattr(verify_selection, "one_run", one_run)
    argv = ["--tables", "a,b", "--loop-tables", "a", "--seeds", "2", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", ["search_bound.py", *argv])
    search_bound.main()
    doc = written(tmp_path / "search_bound.json", "search_bound")
    assert trained[:5] == [48] * 5
    a, b = doc["rows"]
    p = a["predictability"]
    assert p["cells"]["mean"] == sum(acc[c] >= 85 and truth[c] <= 6 for c in cells)
    assert p["median_abs_error_pct"]["mean"] == pytest.approx(100 / 11)
    assert p["front_median_error_pct"]["mean"] == pytest.approx(-100 / 11)
    assert p["within_10"]["mean"] == 1.0
    assert a["per_seed"] == {
        "measured_cells": [0.9, 0.9],
        "advised_measured_cells": [1.0, 0.0],
        "every_cell": [0.95, 0.95],
    }
    assert "hypervolume_share" not in b and doc["summary"]["a"]["every_cell"] == 0.95
    argv += ["--rounds", "4,8", "--no-every-cell", "--name", "more"]
    monkeypatch.setattr(sys, "argv", ["search_bound.py", *argv])
    search_bound.main()
    more = written(tmp_path / "more.json", "more")
    assert list(more["rows"][0]["per_seed"]) == [
        "measured_cells",
        "advised_measured_cells",
        "measured_cells_8_rounds",
        "advised_measured_cells_8_rounds",
    ]
    assert loops[-1] == {**verify_selection.LOOP, "rounds": 8, "max_measurements": 200}
    for bad in (["--seeds", "1"], ["--tables", "a", "--loop-tables", "c"], ["--rounds", "x"]):
        monkeypatch.setattr(sys, "argv", ["search_bound.py", *bad])
        with pytest.raises(SystemExit):
            search_bound.main()


def test_the_reference_model_is_the_one_the_committed_results_used(tmp_path: Path) -> None:
    """``reference.py --write-reference`` writes the ref.onnx of the README's commands,
    byte for byte the model every committed reference-ratio result was timed against."""
    out = tmp_path / "sub" / "ref.onnx"
    assert reference.main(["--write-reference", str(out)]) == out
    assert _sha256(out) == reference.REFERENCE_SHA256
    frozen = json.loads((_results.RESULTS / "chain_frozen.json").read_text())
    assert json.dumps(frozen).count(reference.REFERENCE_SHA256) >= 1
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as exc:  # a path under a file: exit 2, not a traceback
        reference.main(["--write-reference", str(tmp_path / "file" / "ref.onnx")])
    assert exc.value.code == 2


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_intervals_benchmark_compares_both_calibrations_on_unseen_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real fits on one zoo table: cross-conformal intervals are narrower than the
    split's at 60 rows, and no scored cell shares a class with a training cell."""
    from benchmarks import intervals

    frames: list[Any] = []
    real_load = intervals.load
    # As on a clean checkout without ../shared beside it: the bundled copy of the table.
    monkeypatch.setattr(intervals, "DATA", tmp_path / "no-shared-data")
    monkeypatch.setattr(
        intervals, "load", lambda name: frames.append(real_load(name)) or frames[-1]
    )
    argv = ["--tables", "gold_6226", "--sizes", "60", "--seeds", "2", "--test", "300"]
    monkeypatch.setattr(sys, "argv", ["intervals.py", *argv, "--out", str(tmp_path)])
    intervals.main()
    doc = written(tmp_path / "intervals.json", "intervals")
    auto, split = doc["summary"]["60 rows, auto"], doc["summary"]["60 rows, split"]
    assert auto["median_log_width_mean"] < split["median_log_width_mean"]
    # Which covers more varies with the table and the seeds (two seeds of 300 cells here).
    assert 0.5 < auto["coverage_mean"] <= 1.0 and 0.5 < split["coverage_mean"] <= 1.0
    assert [r["calibration"] for r in doc["rows"]] == ["auto", "split"]
    train, scored = intervals.draw(frames[0], 60, 100, 10**6)  # every unseen cell
    assert len(train) == 60 and not set(train["cls"]) & set(scored["cls"])
    assert len(train) + len(scored) == (~frames[0]["cls"].isin(train["cls"])).sum() + 60
    for bad in (["--sizes", "10"], ["--seeds", "0"]):
        monkeypatch.setattr(sys, "argv", ["intervals.py", *bad])
        with pytest.raises(SystemExit):
            intervals.main()


@pytest.mark.parametrize(
    ("module", "args", "said"),
    [
        ("kernels_label", ["--generation", "2", "--count", "0", "--reference", "R"], "--count"),
        ("kernels_label", ["--generation", "2", "--first", "-1", "--reference", "R"], "--first"),
        ("kernels_label", ["--generation", "11", "--reference", "R"], "invalid choice"),
        ("kernels_label", ["--generation", "2", "--reference", "absent.onnx"], "no such file"),
        ("kernels_incontext_cv", ["--predictor", "P", "--store", "S", "--folds", "1"], "--folds"),
        ("kernels_incontext_cv", ["--predictor", "P", "--store", "S", "--seeds", "0"], "--seeds"),
        ("kernels_ablation", ["--results", "Z", "--out", "T", "--generations", "2,11"], "1 to 10"),
        ("kernels_ablation", ["--results", "Z", "--out", "T", "--generations", "x"], "not a list"),
        ("kernels_ablation", ["--results", "absent", "--out", "T", "--generations", "2"], "no "),
        ("kernels_ablation", ["--results", "Z", "--out", "T", "--generations", "2"], "kernels.db"),
    ],
)
def test_kernel_labelling_and_cv_benchmarks_refuse_bad_arguments(
    module: str, args: list[str], said: str, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """Refused before anything is measured or loaded, naming the argument."""
    import importlib

    reference = tmp_path / "ref.onnx"
    reference.write_bytes(b"")
    args = [str(reference) if a == "R" else a for a in args]
    args = [str(tmp_path) if a == "T" else "kernels_zoo7_v16" if a == "Z" else a for a in args]
    (tmp_path / "kernel_predictor").mkdir()
    if module in ("kernels_label", "kernels_ablation"):
        args += ["--name", "x"]
    main = importlib.import_module(f"benchmarks.{module}").main
    monkeypatch.setattr(sys, "argv", [f"{module}.py", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert said in capsys.readouterr().err


def test_kernels_ablation_keeps_the_profiled_networks_of_the_generations_asked(
    tmp_path: Path,
) -> None:
    from benchmarks import kernels_ablation
    from hwnas.predictors.kernel_networks import GENERATION_2
    from hwnas.predictors.kernel_networks3 import GENERATION_3
    from hwnas.predictors.kernel_networks4 import GENERATION_4
    from hwnas.predictors.kernel_networks5 import GENERATION_5

    firsts = (GENERATION_2, GENERATION_3, GENERATION_4, GENERATION_5)
    planned = [g + i for g in firsts for i in range(2)]  # 2 of each of four generations
    first, second = tmp_path / "a.labels.json", tmp_path / "b.labels.json"
    labels = {str(s): 2.0 for s in planned[:6]} | {str(GENERATION_2 + 50): 9.0}
    first.write_text(json.dumps({"reference_ms": 10.0, "labels": labels}))
    fifth = {str(s): 1.0 for s in planned[6:]}
    second.write_text(json.dumps({"reference_ms": 5.0, "labels": fifth}))
    run = {"seed": 0, "settings": {"context_networks": 8, "labels": [str(first), str(second)]}}
    got = kernels_ablation.ablated_labels(run, {2, 5}, set(planned))
    # Only profiled networks (not GENERATION_2 + 50), of the second and fifth
    # generations, the fifth's rescaled to the first file's reference speed.
    assert got == {planned[0]: 2.0, planned[1]: 2.0} | {s: 2.0 for s in planned[6:]}
    assert all(s >= GENERATION_5 for s in planned[6:])
    assert kernels_ablation.ablated_labels(run, {2})[GENERATION_2 + 50] == 9.0
    assert kernels_ablation.ablated_labels(run, {1}, set(planned)) == {}
    with pytest.raises(SystemExit, match="no --labels"):
        kernels_ablation.ablated_labels(
            {**run, "settings": {**run["settings"], "labels": None}}, {2}
        )


def test_kernels_ops_refuses_bad_arguments_and_writes_every_case(tmp_path: Path) -> None:
    """The held-out single-op check: refuses a directory that is not a predictor and too
    few runs, naming them; every case writes a model onnxruntime runs; the summary gives
    each group's median, lowest and highest ratio per predictor."""
    import onnxruntime as ort

    from benchmarks import kernels_ops

    with pytest.raises(SystemExit):
        kernels_ops.parse_args(["--predictor", str(tmp_path), "--name", "x"])
    (tmp_path / "meta.json").write_text("{}")
    with pytest.raises(SystemExit):
        kernels_ops.parse_args(["--predictor", str(tmp_path), "--runs", "2", "--name", "x"])
    assert kernels_ops.parse_args(["--predictor", str(tmp_path), "--name", "x"]).runs == 30
    found = kernels_ops.cases()
    groups = [g for g, _, _ in found]
    assert {g: groups.count(g) for g in dict.fromkeys(groups)} == {
        **dict.fromkeys(("Pow", "Sqrt", "ReduceMean", "DepthToSpace", "Transpose"), 6),
        "LSTM": 3,
        "GRU": 3,
        "computed conv": 5,
        "head": 5,
    }
    computed = next(c for c in found if c[0] == "computed conv")
    for group, _, write in [found[0], found[-1], next(c for c in found if c[0] == "GRU"), computed]:
        path = tmp_path / f"{group}.onnx"
        write(path)
        assert ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()
    import onnx

    from hwnas.predictors.kernel_split import split_kernels

    (conv,) = [
        k for k in split_kernels(onnx.load(tmp_path / "computed conv.onnx")) if k.op == "Conv"
    ]
    assert conv.attrs["computed_weights"] == 1
    rows = [
        {"group": "Pow", "ratio": {"a": 1.0, "b": 2.0}},
        {"group": "Pow", "ratio": {"a": 3.0, "b": 4.0}},
        {"group": "GRU", "ratio": {"a": 0.5, "b": 0.5}},
    ]
    got = kernels_ops.summary(rows, ["a", "b"])
    assert got["Pow"]["a"] == {"median": 2.0, "low": 1.0, "high": 3.0}
    assert got["GRU"]["b"] == {"median": 0.5, "low": 0.5, "high": 0.5}


def test_reference_labels_keep_each_networks_gap_between_its_two_passes(
    tmp_path: Path, conv_onnx: Path
) -> None:
    """``kernels_validate.reference_labels`` measures each random network twice beside a
    reference model: one label each (the geometric mean of both ratio labels), the
    summary test-retest, and each network's own gap between its passes."""
    from benchmarks import kernels_validate
    from hwnas.predictors.kernel_networks3 import GENERATION_3

    seeds = [GENERATION_3, GENERATION_3 + 1]
    labels, retest = kernels_validate.reference_labels(seeds, conv_onnx, 0.2)
    assert sorted(labels) == seeds and all(ms > 0 for ms in labels.values())
    gaps = retest["pass_gap_pct"]
    assert sorted(gaps) == sorted(map(str, seeds))
    assert retest["ratio"]["n"] == 2
    within = sum(abs(g) <= 10 for g in gaps.values()) / 2
    assert retest["ratio"]["within_10"] == pytest.approx(within)


def test_kernels_incontext_cv_refuses_an_unknown_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--settings`` names only settings the benchmark knows, before anything loads."""
    import sys

    from benchmarks import kernels_incontext_cv

    for bad in ("v15,v99", ","):
        argv = ["x", "--predictor", str(tmp_path), "--store", str(tmp_path / "k.db")]
        monkeypatch.setattr(sys, "argv", [*argv, "--settings", bad])
        with pytest.raises(SystemExit) as exc:
            kernels_incontext_cv.main()
        assert exc.value.code == 2
        assert "--settings: choose from v14, v15" in capsys.readouterr().err
