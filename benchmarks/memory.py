"""The static memory estimate against the measured peak (issue 12 item 5).

For each built-in space, ``--per-space`` distinct architectures (seeded) are exported
(torchscript, cached) and profiled on this machine (``hwnas.profile``, short timing
settings: memory does not depend on them), which measures ``peak_memory_mb`` (the
runner's high-water mark above its baseline, see the README). Each is also estimated
statically from its ONNX graph (``hwnas.estimate_memory``: weights + the largest set of
live activations). Reported per space: how the measured peak relates to the estimate
(the median ratio and its range), the rank correlation of each predictor of the measured
peak with it, and the error of ``a × estimate + b`` fitted across spaces in
leave-one-space-out, against the same fit on the model file size (a baseline that could
win: weights dominate many networks).

Run:  .venv/bin/python benchmarks/memory.py [--per-space 8] [--seed 0] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hwnas  # noqa: E402
from benchmarks._results import provenance  # noqa: E402
from hwnas.export import export_arch  # noqa: E402
from hwnas.predictors import metrics  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402

SPACES = ("nb201", "chain", "multibranch")
SETTINGS = {"max_seconds": 0.3, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


def measure(space_name: str, n: int, seed: int, store: Path) -> list[dict[str, Any]]:
    """Export, estimate and profile ``n`` architectures of one space."""
    space = get_space(space_name)
    rows = []
    for arch in space.sample_distinct(seed, n):
        path = export_arch(space, arch, exporter="torchscript").path
        estimate = hwnas.estimate_memory(path)
        (measured,) = hwnas.profile([path], store=store, **SETTINGS)
        rows.append(
            {
                "space": space_name,
                "arch": arch,
                "file_mb": path.stat().st_size / 2**20,
                "static_mb": estimate.peak_mb,
                "weights_mb": estimate.weights_mb,
                "activations_mb": estimate.activations_mb,
                "measured_mb": measured.peak_memory_mb,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def loso(rows: list[dict[str, Any]], column: str) -> dict[str, dict[str, float]]:
    """Leave one space out: ``measured = a * column + b`` fitted on the other spaces,
    scored (MAPE, within ±10%) on the one left out."""
    out = {}
    for held in SPACES:
        train = [r for r in rows if r["space"] != held]
        test = [r for r in rows if r["space"] == held]
        a, b = np.polyfit([r[column] for r in train], [r["measured_mb"] for r in train], 1)
        truth = np.array([r["measured_mb"] for r in test])
        predicted = a * np.array([r[column] for r in test]) + b
        out[held] = {
            "mape": metrics.mape(truth, predicted),
            "within_10": metrics.within(truth, predicted, 0.10),
        }
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    per_space = {}
    for name in SPACES:
        part = [r for r in rows if r["space"] == name]
        measured = np.array([r["measured_mb"] for r in part])
        ratio = measured / np.array([r["static_mb"] for r in part])
        per_space[name] = {
            "n": len(part),
            "measured_mb_median": float(np.median(measured)),
            "static_mb_median": float(np.median([r["static_mb"] for r in part])),
            "ratio_measured_to_static": {
                "median": float(np.median(ratio)),
                "min": float(ratio.min()),
                "max": float(ratio.max()),
            },
            "spearman_static": metrics.spearman(measured, [r["static_mb"] for r in part]),
            "spearman_file_size": metrics.spearman(measured, [r["file_mb"] for r in part]),
        }
    return {
        "per_space": per_space,
        "leave_one_space_out": {
            "static": loso(rows, "static_mb"),
            "file_size": loso(rows, "file_mb"),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-space", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            row
            for name in SPACES
            for row in measure(name, args.per_space, args.seed, Path(tmp) / "s.db")
        ]
    doc = {
        **provenance("memory"),
        "hwnas": hwnas.__version__,
        "seed": args.seed,
        "settings": SETTINGS,
        "seconds": round(time.perf_counter() - started, 1),
        **summarise(rows),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory.json").write_text(json.dumps(doc, indent=1, default=float))
    print(json.dumps({k: doc[k] for k in ("per_space", "leave_one_space_out")}, indent=1))


if __name__ == "__main__":
    main()
