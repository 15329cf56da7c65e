"""fp32 against int8 (dynamic and static) on chain networks on this CPU (issue 12 item 6).

``--n`` distinct architectures of the ``chain`` space (seeded) are profiled three times
through ``hwnas.profile_space``, each precision in its own run (``precision="fp32"``,
``"int8"`` with ``quantize_mode="static"``: QDQ calibrated on 16 seeded random inputs,
and ``"dynamic"``), with the op profile on, so that the files measured are exactly what
``hwnas profile --space chain --precision int8 [--quantize-mode dynamic]`` measures.
Each architecture's three precisions are measured one after the other (in alternating
order), so that a slow phase of the machine lands on all three of it.

Reported per int8 mode, over the architectures:

- the latency ratio int8 / fp32 (median, min, max; < 1: int8 is faster) and how many
  networks int8 made slower;
- the model size ratio (int8 file / fp32 file);
- the ops that fall back: float ops left in the int8 graph (``split_kernels`` kinds of
  float compute that are not int8: ``hwnas.predictors.kernel_quant``) and, from
  onnxruntime's op profile, the op types that ran in float and the share of the time
  they took (quantization's own ops, ``QuantizeLinear`` and the like, counted apart);
- with ``--kernels`` (the default), the kernel-level predictor's accuracy on the int8
  networks: a predictor built on this CPU with ``per_kind`` fp32 samples of the kinds a
  chain network has (``hwnas kernels build``; int8 kinds fall back to their float kind's
  model), scored on fp32 and on each int8 mode (MAPE, Spearman).

Run:  .venv/bin/python benchmarks/precision.py [--n 20] [--seed 0] [--per-kind 20]
      [--no-kernels] [--store PATH] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
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
from hwnas.profiler.quantize import PROFILE_QUANTIZATION, quantized_file  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402

SETTINGS = {"max_seconds": 1.0, "target_ci": 0.02, "warmup": 5, "min_runs": 20}
#: Label -> the profile settings of that precision.
PRECISIONS = {
    "fp32": {},
    "int8-static": {"precision": "int8", "quantize_mode": "static"},
    "int8-dynamic": {"precision": "int8", "quantize_mode": "dynamic"},
}
#: Op types of quantization itself (int8 ops, and the conversions into and out of int8).
INT8_OPS = ("QLinear", "QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantize")
CONVERSIONS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")
#: Kernel kinds that do float arithmetic (views and int8 kinds do not count).
FLOAT_COMPUTE = ("conv", "dwconv", "gemm", "matmul", "elementwise", "pool", "softmax", "other")
KERNEL_KINDS = ("conv", "dwconv", "gemm", "pool", "elementwise")


def profile_all(archs: list[str], store: Path) -> dict[str, dict[str, Any]]:
    """``{precision: {arch: measurement}}``, interleaved: each architecture's three
    precisions are measured one after the other (in alternating order), so that a slow
    phase of a shared machine lands on all three of it, not on one precision."""
    best: dict[str, dict[str, Any]] = {p: {} for p in PRECISIONS}
    for i, arch in enumerate(archs):
        order = list(PRECISIONS) if i % 2 == 0 else list(reversed(PRECISIONS))
        for label in order:
            (m,) = hwnas.profile_space(
                "chain",
                archs=[arch],
                store=store,
                fresh=True,
                op_profile=True,
                **SETTINGS,
                **PRECISIONS[label],
            )
            best[label][arch] = m
        print(f"{i + 1}/{len(archs)} {arch}", flush=True)
    return best


def fallbacks(path: Path) -> dict[str, int]:
    """Float compute kernels left in an int8 graph, by kind:op."""
    import onnx

    from hwnas.predictors.kernel_split import split_kernels

    kernels = split_kernels(onnx.load(str(path)))
    return dict(collections.Counter(f"{k.kind}:{k.op}" for k in kernels if k.kind in FLOAT_COMPUTE))


def runtime_ops(measurement: Any) -> dict[str, float]:
    """Share of the op profile's time in int8 ops, conversions and float ops, and the float
    op types that ran."""
    ops = (measurement.op_profile or {}).get("ops") or {}
    shares = {"int8": 0.0, "conversions": 0.0, "float": 0.0}
    for op, row in ops.items():
        share = float(row.get("share") or 0.0)
        if op in CONVERSIONS:
            shares["conversions"] += share
        elif op.startswith(INT8_OPS):
            shares["int8"] += share
        else:
            shares["float"] += share
    return shares


def rows_of(archs: list[str], best: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    space = get_space("chain")
    rows = []
    for arch in archs:
        source = export_arch(space, arch, exporter="torchscript").path
        row: dict[str, Any] = {"arch": arch, "fp32_mb": source.stat().st_size / 2**20}
        row["fp32_ms"] = best["fp32"][arch].latency_ms.median
        for label in ("int8-static", "int8-dynamic"):
            mode = label.split("-")[1]
            path = quantized_file(source, mode=mode).path
            m = best[label][arch]
            row[f"{label}_ms"] = m.latency_ms.median
            row[f"{label}_mb"] = path.stat().st_size / 2**20
            row[f"{label}_fallback_kernels"] = fallbacks(path)
            row[f"{label}_runtime_shares"] = runtime_ops(m)
            row[f"{label}_float_ops_run"] = sorted(
                op
                for op in ((m.op_profile or {}).get("ops") or {})
                if not op.startswith(INT8_OPS) and op not in CONVERSIONS
            )
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k.endswith(("_ms", "_mb"))}), flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fp32 = np.array([r["fp32_ms"] for r in rows])
    for label in ("int8-static", "int8-dynamic"):
        ratio = np.array([r[f"{label}_ms"] for r in rows]) / fp32
        size = np.array([r[f"{label}_mb"] / r["fp32_mb"] for r in rows])
        kernels: collections.Counter[str] = collections.Counter()
        ran: collections.Counter[str] = collections.Counter()
        shares = collections.defaultdict(list)
        for r in rows:
            kernels.update(r[f"{label}_fallback_kernels"])
            ran.update(r[f"{label}_float_ops_run"])
            for k, v in r[f"{label}_runtime_shares"].items():
                shares[k].append(v)
        out[label] = {
            "latency_ratio": {
                "median": float(np.median(ratio)),
                "min": float(ratio.min()),
                "max": float(ratio.max()),
                "slower_than_fp32": int((ratio > 1).sum()),
            },
            "size_ratio": {"median": float(np.median(size)), "max": float(size.max())},
            "fallback_kernels_total": dict(kernels.most_common()),
            "float_op_types_run": {op: n for op, n in ran.most_common()},
            "time_share_median": {k: float(np.median(v)) for k, v in shares.items()},
        }
    return out


def kernel_accuracy(
    rows: list[dict[str, Any]], store: Path, per_kind: int, seed: int
) -> dict[str, Any]:
    """Build a kernel predictor on this CPU and score it on each precision's networks."""
    from hwnas.predictors.kernel_build import build_kernel_predictor

    started = time.perf_counter()
    predictor = build_kernel_predictor(
        per_kind=per_kind, store=store, seed=seed, kinds=list(KERNEL_KINDS), max_seconds=0.3
    )
    built = time.perf_counter() - started
    space = get_space("chain")
    out: dict[str, Any] = {"per_kind": per_kind, "kinds": list(KERNEL_KINDS), "build_s": built}
    for label in PRECISIONS:
        truth, predicted = [], []
        for r in rows:
            path = export_arch(space, r["arch"], exporter="torchscript").path
            if label != "fp32":
                path = quantized_file(path, mode=label.split("-")[1]).path
            truth.append(r[f"{label}_ms" if label != "fp32" else "fp32_ms"])
            predicted.append(float(predictor.predict([path])[0]))
        t, p = np.array(truth), np.array(predicted)
        out[label] = {
            "mape": metrics.mape(t, p),
            "spearman": metrics.spearman(t, p),
            "median_predicted_over_measured": float(np.median(p / t)),
        }
        for r, value in zip(rows, predicted, strict=True):
            r[f"{label}_kernel_predicted_ms"] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--no-kernels", action="store_true")
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    started, load_at_start = time.perf_counter(), os.getloadavg()[0]
    archs = get_space("chain").sample_distinct(args.seed, args.n)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "s.db"
        rows = rows_of(archs, profile_all(archs, store))
        summary = summarise(rows)
        if not args.no_kernels:
            summary["kernel_predictor"] = kernel_accuracy(rows, store, args.per_kind, args.seed)
    doc = {
        **provenance("precision"),
        "hwnas": hwnas.__version__,
        "seed": args.seed,
        "n": args.n,
        "settings": SETTINGS,
        "quantization": {"static": PROFILE_QUANTIZATION, "dynamic": {"weights": "int8"}},
        "seconds": round(time.perf_counter() - started, 1),
        # Other work on the machine during the run (it slows whichever precision it meets).
        "load_average": {"start": load_at_start, "end": os.getloadavg()[0]},
        **summary,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "precision.json").write_text(json.dumps(doc, indent=1, default=float))
    print(json.dumps(summary, indent=1, default=float))


if __name__ == "__main__":
    main()
