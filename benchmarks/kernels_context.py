"""Scores the kernel-level predictor, with and without its in-context correction, on the
held-out zoo of real-world architectures (benchmarks/realworld_zoo.py) — once per change.

1. Builds (or finishes, resumable) the kernel predictor exactly as ``hwnas kernels
   build`` does: single kernels of every kind, then ``--context`` random whole networks
   (``hwnas.predictors.kernel_context``) on which the correction is fitted. Nothing here
   is fitted on the zoo.
2. Exports the zoo and measures each model twice with the profiling protocol
   (``profile_model`` on the local transport, a fresh runner each; the two passes are the
   test-retest noise) and predicts each from its ONNX file, raw and corrected.
3. Writes ``benchmarks/results/kernels.json``: per model and per family, error against
   the mean of both passes, share within ±10%, test-retest, settings, seed, load average.

Run (never alongside other measurements):
  flock /tmp/hwnas-bench.lock .venv/bin/python benchmarks/kernels_context.py --per-kind 80
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import RESULTS, provenance  # noqa: E402


def measure(paths: list[Path], max_seconds: float) -> list[float]:
    """Median latency (ms) of each file, a fresh runner process each."""
    from hwnas.devices.local import LocalTransport
    from hwnas.onnx_model import check_model
    from hwnas.profiler.batch import profile_model
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.records import DeviceSpec

    transport, spec = LocalTransport(), DeviceSpec(name="local")
    settings = ProfileSettings(max_seconds=max_seconds, target_ci=0.01)
    return [
        float(profile_model(transport, spec, check_model(p), settings).latency_ms.median)
        for p in paths
    ]


def summarise(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Per family and overall: n, MAPE, within ±10%, mean signed error of ``key``."""
    out: dict[str, Any] = {}
    families = sorted({r["family"] for r in rows})
    for family in [*families, "all"]:
        sel = [r for r in rows if family == "all" or r["family"] == family]
        err = np.array([r[key] for r in sel])
        out[family] = {
            "n": len(sel),
            "mape": round(float(np.mean(np.abs(err))), 2),
            "within_10": round(float(np.mean(np.abs(err) <= 10)), 3),
            "mean_error_pct": round(float(np.mean(err)), 2),
        }
    return out


def score(
    models: list[tuple[str, str, Path]], predictor: Any, first: list[float], second: list[float]
) -> list[dict[str, Any]]:
    """One row per model: both measurements, test-retest, raw and corrected prediction and
    their errors against the mean of the two passes."""
    rows = []
    for (family, name, path), a, b in zip(models, first, second, strict=True):
        truth = (a + b) / 2
        raw = predictor.predict_onnx_raw(path)[0]
        corrected = predictor.predict_onnx(path)[0]
        rows.append(
            {
                "family": family,
                "model": name,
                "measured_ms": [round(a, 4), round(b, 4)],
                "retest_pct": round(100 * abs(a - b) / truth, 2),
                "raw_ms": round(raw, 4),
                "corrected_ms": round(corrected, 4),
                "raw_error_pct": round(100 * (raw - truth) / truth, 2),
                "error_pct": round(100 * (corrected - truth) / truth, 2),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=80)
    parser.add_argument("--context", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument(
        "--name", default="kernels", help="results file benchmarks/results/NAME.json"
    )
    args = parser.parse_args()
    load_start, clock = list(os.getloadavg()), time.perf_counter()
    os.environ.setdefault("HWNAS_HOME", str(args.out / "hwnas_home"))

    from realworld_zoo import export_zoo

    import hwnas

    predictor = hwnas.build_kernel_predictor(
        device="local",
        per_kind=args.per_kind,
        seed=args.seed,
        store=args.out / "kernels.db",
        context=args.context,
    )
    predictor.save(args.out / "kernel_predictor")
    build_s = time.perf_counter() - clock
    models = export_zoo(args.out / "zoo")
    paths = [p for _, _, p in models]
    first, second = measure(paths, args.max_seconds), measure(paths, args.max_seconds)
    rows = score(models, predictor, first, second)
    doc = {
        **provenance(args.name),
        "seed": args.seed,
        "settings": {
            "per_kind": args.per_kind,
            "context_networks": args.context if args.context is not None else args.per_kind,
            "zoo_max_seconds": args.max_seconds,
            "threads": 1,
        },
        "context_correction": predictor.context_,
        "corrected": summarise(rows, "error_pct"),
        "uncorrected": summarise(rows, "raw_error_pct"),
        "retest_median_pct": round(float(np.median([r["retest_pct"] for r in rows])), 2),
        "rows": rows,
        "build_s": round(build_s, 1),
        "seconds": round(time.perf_counter() - clock, 1),
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: doc[k] for k in ("corrected", "uncorrected", "retest_median_pct")}))


if __name__ == "__main__":
    main()
