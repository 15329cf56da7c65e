"""How steady is this machine? Between-process timing noise, alone and against a reference.

Two `chain` networks (A and B, exported once) are timed in K fresh processes, one after
the other, each process alternating one run of A and one of B (after a warm-up). Per
process: the median of A, the median of B and the median of the per-pair ratio A/B.
If the machine's speed changes from one process to the next (a busy neighbour on a
shared host, frequency changes), the medians move together and their ratio does not:
the spread of the ratio over the spread of the medians says how much a reference model
timed alongside would remove. This is what the predictor benchmark (b) fights on a VM.

Run:  .venv/bin/python benchmarks/noise.py [--processes 8] [--pairs 80]
      [--results benchmarks/results/noise.json]

Writes benchmarks/results/noise.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance, started, write_results  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402

INTERLEAVED = r"""
import json, sys, time
import numpy as np, onnxruntime as ort
def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    return s, {i.name: np.random.default_rng(0).standard_normal(i.shape).astype(np.float32)}
(a, fa), (b, fb), pairs = session(sys.argv[1]), session(sys.argv[2]), int(sys.argv[3])
for _ in range(10):
    a.run(None, fa); b.run(None, fb)
ta, tb = [], []
for _ in range(pairs):
    t = time.perf_counter(); a.run(None, fa); ta.append(time.perf_counter() - t)
    t = time.perf_counter(); b.run(None, fb); tb.append(time.perf_counter() - t)
ta, tb = np.array(ta) * 1e3, np.array(tb) * 1e3
print(json.dumps([float(np.median(ta)), float(np.median(tb)), float(np.median(ta / tb))]))
"""


QUANTITIES = ("median_a_ms", "median_b_ms", "median_ratio_a_b")


def measure(seed: int, processes: int, pairs: int) -> tuple[list[str], list[list[float]]]:
    """The two networks (small A, large B) and, per fresh process, [median of A, median
    of B, median of the per-pair ratio A/B]."""
    space = get_space("chain")
    small, large = sorted(space.sample_distinct(seed, 20), key=space.flops)[::19]
    paths = [str(space.to_onnx(a, exporter="torchscript")) for a in (small, large)]
    rows = []
    for _ in range(processes):
        out = subprocess.run(
            [sys.executable, "-c", INTERLEAVED, *paths, str(pairs)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout))
        time.sleep(1.0)
    return [small, large], rows


def summarise(rows: list[list[float]]) -> dict[str, dict[str, float]]:
    """Per quantity: mean, CV % and (max - min) / median % over the processes."""
    table = np.array(rows, dtype=float)
    return {
        name: {
            "mean": float(column.mean()),
            "cv_pct": float(100 * column.std() / column.mean()),
            "spread_pct": float(100 * (column.max() - column.min()) / np.median(column)),
        }
        for name, column in zip(QUANTITIES, table.T, strict=True)
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    start = started()
    archs, rows = measure(args.seed, args.processes, args.pairs)
    summary = summarise(rows)
    doc: dict[str, Any] = provenance("noise")
    print(
        f"# timing noise between processes ({doc['machine']}, Python {doc['python']}, "
        f"{args.processes} processes x {args.pairs} pairs)"
    )
    print("| quantity | mean | CV % | (max - min) / median % |")
    print("|---|---|---|---|")
    for name, s in summary.items():
        print(f"| {name} | {s['mean']:.4g} | {s['cv_pct']:.2f} | {s['spread_pct']:.1f} |")
    doc |= {
        "seed": args.seed,
        "settings": {"processes": args.processes, "pairs": args.pairs, "exporter": "torchscript"},
        "affinity": sorted(os.sched_getaffinity(0)),
        "networks": {"a": archs[0], "b": archs[1]},
        "summary": summary,
        "processes": [dict(zip(QUANTITIES, row, strict=True)) for row in rows],
    }
    path = write_results(doc, start, args.results)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
