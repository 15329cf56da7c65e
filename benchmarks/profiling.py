"""Benchmarks of the foundation profiling protocol (issue 3, item 8).

(a) Harness overhead: the median ``hwnas profile`` reports against a bare
    ``session.run`` loop on the same model, interleaved in one run, each side in
    fresh processes (a median moves by several percent between processes, up to 26% in
    benchmarks/results/profiling.json, so one pair proves
    nothing: we take several rounds and compare medians of medians).
(b) Protocol efficiency: runs and wall time the adaptive protocol needs to reach
    a 1% CI of the median, against a fixed 10 warmup + 50 runs protocol (TFLite
    benchmark_model's default), and the spread of the median over 5 repeated
    profiles of the same model for each.

Run:  .venv/bin/python benchmarks/profiling.py [--rounds 5] [--out benchmarks/out]
      [--results benchmarks/results/profiling.json]

Writes benchmarks/results/profiling.json (the models are exported into --out).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._models import MODELS, benchmark_models  # noqa: E402
from benchmarks._results import provenance, started, write_results  # noqa: E402
from hwnas.profiler.batch import RUNNER_PATH  # noqa: E402
from hwnas.profiler.runner_output import parse_runner_output  # noqa: E402

BARE_LOOP = r"""
import json, sys, time
import numpy as np, onnxruntime as ort
path, runs = sys.argv[1], int(sys.argv[2])
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
feeds = {inp.name: np.random.default_rng(0).standard_normal(inp.shape).astype(np.float32)}
for _ in range(10):
    sess.run(None, feeds)
samples = []
for _ in range(runs):
    t0 = time.perf_counter_ns()
    sess.run(None, feeds)
    samples.append((time.perf_counter_ns() - t0) / 1e6)
print(json.dumps({"median": float(np.median(samples)), "n": runs}))
"""


def run_json(argv: list[str]) -> dict:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return json.loads(done.stdout)


def hwnas_profile(model: Path, *extra: str) -> dict:
    """The runner exactly as `hwnas profile` starts it on the local device (its document
    is read from between its marker lines, as `hwnas profile` reads it)."""
    argv = [sys.executable, str(RUNNER_PATH), str(model), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return parse_runner_output(done.stdout, done.stderr, done.returncode)


def bare_loop(model: Path, runs: int) -> dict:
    return run_json([sys.executable, "-c", BARE_LOOP, str(model), str(runs)])


def overhead(models: list[Path], rounds: int) -> list[dict]:
    rows = []
    for model in models:
        ours, bare = [], []
        for _ in range(rounds):  # interleaved: drift hits both sides alike
            ours.append(hwnas_profile(model)["latency_ms"]["median"])
            bare.append(bare_loop(model, runs=200)["median"])
        m_ours, m_bare = statistics.median(ours), statistics.median(bare)
        rows.append(
            {
                "model": model.stem,
                "hwnas_median_ms": m_ours,
                "bare_median_ms": m_bare,
                "difference_pct": 100 * (m_ours / m_bare - 1),
                "hwnas_medians": ours,
                "bare_medians": bare,
            }
        )
    return rows


def spread_pct(values: list[float]) -> float:
    """(max - min) / median of repeated medians, in percent."""
    return 100 * (max(values) - min(values)) / statistics.median(values)


def efficiency(models: list[Path], repeats: int) -> list[dict]:
    rows = []
    fixed_args = ["--warmup", "10", "--min-runs", "50", "--max-runs", "50"]
    for model in models:
        adaptive, fixed = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            a = hwnas_profile(model)
            a_wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            f = hwnas_profile(model, *fixed_args)
            f_wall = time.perf_counter() - t0
            adaptive.append((a, a_wall))
            fixed.append((f, f_wall))

        def summary(results: list[tuple[dict, float]]) -> dict:
            lat = [r["latency_ms"] for r, _ in results]
            ci = [
                100 * max(x["median"] - x["ci_low"], x["ci_high"] - x["median"]) / x["median"]
                for x in lat
            ]
            return {
                "runs_median": statistics.median(x["n"] for x in lat),
                "measure_s_median": statistics.median(r["elapsed_s"] for r, _ in results),
                "wall_s_median": statistics.median(w for _, w in results),
                "ci_halfwidth_pct_median": statistics.median(ci),
                "ci_halfwidth_pct_max": max(ci),
                "reached_1pct": sum(c <= 1.0 for c in ci),
                "median_spread_pct": spread_pct([x["median"] for x in lat]),
                "medians_ms": [x["median"] for x in lat],
            }

        rows.append(
            {"model": model.stem, "adaptive": summary(adaptive), "fixed_10_50": summary(fixed)}
        )
    return rows


def summarise(rows_a: list[dict], rows_b: list[dict], rounds: int) -> dict[str, Any]:
    """The headline figures: overhead range, profiles that reached a 1% CI, median spread."""
    protocols = ("adaptive", "fixed_10_50")
    return {
        "difference_pct_range": [
            min(r["difference_pct"] for r in rows_a),
            max(r["difference_pct"] for r in rows_a),
        ],
        "reached_1pct": {p: sum(r[p]["reached_1pct"] for r in rows_b) for p in protocols},
        "profiles": {p: rounds * len(rows_b) for p in protocols},
        "median_spread_pct_range": {
            p: [
                min(r[p]["median_spread_pct"] for r in rows_b),
                max(r[p]["median_spread_pct"] for r in rows_b),
            ]
            for p in protocols
        },
    }


def show(rows_a: list[dict], rows_b: list[dict], rounds: int) -> None:
    print("## (a) harness overhead: hwnas median vs bare session.run loop (medians of rounds)")
    print(f"{'model':18} {'hwnas ms':>10} {'bare ms':>10} {'diff %':>8}")
    for r in rows_a:
        print(
            f"{r['model']:18} {r['hwnas_median_ms']:10.4f} {r['bare_median_ms']:10.4f} "
            f"{r['difference_pct']:+8.2f}"
        )
    print("\n## (b) protocol efficiency: adaptive (1% CI target) vs fixed 10 warmup + 50 runs")
    print(
        f"{'model':18} {'protocol':10} {'runs':>6} {'meas s':>7} {'wall s':>7} "
        f"{'CI% med':>8} {'CI% max':>8} {'<=1%':>5} {'spread%':>8}"
    )
    for r in rows_b:
        for name in ("adaptive", "fixed_10_50"):
            s = r[name]
            print(
                f"{r['model']:18} {name:10} {s['runs_median']:6.0f} {s['measure_s_median']:7.2f} "
                f"{s['wall_s_median']:7.2f} {s['ci_halfwidth_pct_median']:8.2f} "
                f"{s['ci_halfwidth_pct_max']:8.2f} {s['reached_1pct']:>3}/{rounds} "
                f"{s['median_spread_pct']:8.2f}"
            )


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds / repeats")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="models")
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    start = started()
    args.out.mkdir(parents=True, exist_ok=True)
    models = benchmark_models(args.out)
    doc = provenance("profiling")
    print(f"# profiling benchmark on {doc['machine']}, {len(models)} models, rounds={args.rounds}")
    rows_a = overhead(models, args.rounds)
    rows_b = efficiency(models, args.rounds)
    show(rows_a, rows_b, args.rounds)
    doc |= {
        "seed": 0,  # the bare loop's input; the runner's inputs are its own fixed ones
        "settings": {
            "rounds": args.rounds,
            "bare_loop": {"warmup": 10, "runs": 200},
            "fixed_protocol": {"warmup": 10, "runs": 50},
            "adaptive_protocol": "the runner's defaults",
            "models": [{"name": n, "width": w, "resolution": r} for n, w, r in MODELS],
        },
        "summary": summarise(rows_a, rows_b, args.rounds),
        "overhead": rows_a,
        "efficiency": rows_b,
    }
    path = write_results(doc, start, args.results)
    print(f"\nresults: {path}")
    return path


if __name__ == "__main__":
    main()
