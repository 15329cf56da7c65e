"""Checks the kernel predictor on random batch-1 stacks of wide ``Linear`` layers (a
tabular MLP, a classifier's hidden head, SincNet's dense layers), a structure none of
the build's random networks has, before any change for it: how far off are the
predictions, and is it the isolated kernels or their in-network time?

1. ``--networks`` random MLPs (seeded): input of 64-8192 features, 2-5 ``Linear``
   layers of 256-4096 units (half with batch norm), ReLU, a classifier; each measured
   twice by ratio to ``--reference`` and predicted by the predictor, its corrections
   refitted on ``--labels`` (``kernels_context.refit_context``);
2. single gemm kernels (``kernel_sampler.build_kernel_model``) of one row and of 16 and
   64 rows, timed alone and predicted alone: the isolated kernel model's error;
3. how many of the build's sampled gemm kernels (and ``gemv`` kernels, one-row gemms of
   up to 64 MB of weights, where the sampler has that kind) have one row.

Run (pinned to one quiet core, the predictor and store of a build, labels of this
session):
  flock /tmp/hwnas-bench.lock taskset -c 1 .venv/bin/python benchmarks/kernels_fc.py \\
      --out OUT --labels G2.labels.json --labels G3.labels.json --reference ref.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import provenance, started, write_results  # noqa: E402

#: Single gemm kernels (rows, inputs, outputs) timed and predicted alone.
GEMMS = ((1, 256, 256), (1, 1024, 1024), (1, 512, 4096), (1, 2048, 2048), (1, 4096, 1024))
GEMMS_MANY_ROWS = ((16, 2048, 2048), (64, 1024, 1024))


def random_mlp(rng: np.random.Generator) -> tuple[Any, tuple[int, int]]:
    """One random batch-1 MLP (eval mode) and its input shape."""
    import torch

    nn = torch.nn
    features = int(rng.choice([64, 256, 1024, 2048, 4096, 8192]))
    layers: list[Any] = []
    width = features
    for _ in range(int(rng.integers(2, 6))):
        out = int(rng.choice([256, 512, 1024, 2048, 4096]))
        norm = [nn.BatchNorm1d(out)] if rng.random() < 0.5 else []
        layers += [nn.Linear(width, out), *norm, nn.ReLU()]
        width = out
    layers.append(nn.Linear(width, int(rng.choice([2, 10, 100, 1000]))))
    return nn.Sequential(*layers).eval(), (1, features)


def networks(predictor: Any, out: Path, n: int, seed: int, reference: tuple) -> list[dict]:
    """The random MLPs: weights (MB), truth (mean of two passes) and prediction (ms)."""
    import torch
    from kernels_context import measure

    from hwnas.export import export_onnx

    rng = np.random.default_rng(seed)
    rows, paths = [], []
    for i in range(n):
        net, shape = random_mlp(rng)
        path = out / f"mlp_{seed}_{i}.onnx"
        torch.manual_seed(0)
        export_onnx(net, shape, path, opset=17, exporter="torchscript")
        weights = sum(p.numel() for p in net.parameters()) * 4 / 1e6
        rows.append({"network": i, "weights_mb": round(weights, 2)})
        paths.append(path)
    first, second = (measure(paths, 2.0, reference) for _ in range(2))
    for row, path, a, b in zip(rows, paths, first, second, strict=True):
        truth, pred = (a + b) / 2, float(predictor.predict_onnx(path)[0])
        row |= {"measured_ms": round(truth, 4), "predicted_ms": round(pred, 4)}
        row["error_pct"] = round(100 * (pred - truth) / truth, 1)
    return rows


def kernels_alone(predictor: Any, out: Path) -> list[dict[str, Any]]:
    """Single gemm kernels: timed alone (plain medians, fresh runners) and predicted."""
    import onnx
    from kernels_context import measure

    from hwnas.predictors.kernel_sampler import build_kernel_model
    from hwnas.predictors.kernel_split import split_kernels

    configs = [
        {"kind": "gemm", "m": m, "k": k, "n": n, "bias": True, "act": ""}
        for m, k, n in (*GEMMS, *GEMMS_MANY_ROWS)
    ]
    paths = []
    for i, config in enumerate(configs):
        paths.append(out / f"gemm_{i}.onnx")
        onnx.save(build_kernel_model(config), str(paths[-1]))
    rows = []
    for config, path, ms in zip(configs, paths, measure(paths, 2.0), strict=True):
        isolated, _ = predictor.predict_kernels(split_kernels(onnx.load(str(path))))
        pred = predictor.overhead_model_ms_ + float(np.sum(isolated))
        rows.append(
            {
                **{key: config[key] for key in ("m", "k", "n")},
                "weights_mb": round(config["k"] * config["n"] * 4 / 1e6, 2),
                "measured_ms": round(ms, 4),
                "predicted_ms": round(pred, 4),
                "error_pct": round(100 * (pred - ms) / ms, 1),
            }
        )
    return rows


def summary(mlps: list[dict[str, Any]], alone: list[dict[str, Any]], sampled: list) -> dict:
    err = np.array([r["error_pct"] for r in mlps])
    per_mb = [r["measured_ms"] / r["weights_mb"] for r in mlps if r["weights_mb"] >= 8]
    one_row = [r["error_pct"] for r in alone if r["m"] == 1 and r["weights_mb"] >= 4]
    return {
        "networks": len(mlps),
        "within_10": round(float(np.mean(np.abs(err) <= 10)), 3),
        "mean_error_pct": round(float(err.mean()), 1),
        "error_pct_range": [float(err.min()), float(err.max())],
        "measured_ms_per_weight_mb_median": round(float(np.median(per_mb)), 4) if per_mb else None,
        "one_row_gemm_alone_mean_error_pct": round(float(np.mean(one_row)), 1),
        "sampled_gemms": len(sampled),
        "sampled_gemms_one_row": sum(c["m"] == 1 for c in sampled),
        "sampled_gemm_max_weights_mb": round(max(c["k"] * c["n"] * 4e-6 for c in sampled), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="kernels_context.py's --out")
    parser.add_argument("--labels", type=Path, action="append", required=True)
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--networks", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=80)
    parser.add_argument("--name", default="kernels_fc")
    args = parser.parse_args()
    absent = [str(p) for p in [*args.labels, args.reference] if not p.is_file()]
    if absent or not (args.out / "kernel_predictor").is_dir():
        raise SystemExit(f"missing: {' '.join(absent) or args.out / 'kernel_predictor'}")
    os.environ.setdefault("HWNAS_HOME", str(args.out / "hwnas_home"))
    start = started()
    from kernels_context import refit_context
    from kernels_validate import merged_labels

    from hwnas.predictors.kernel_sampler import SAMPLED_KINDS, sample_configs
    from hwnas.predictors.kernels import KernelPredictor

    predictor = KernelPredictor.load(args.out / "kernel_predictor")
    refit_context(predictor, merged_labels(args.labels), args.out / "kernels.db")
    speed = float(json.loads(args.labels[0].read_text())["reference_ms"])
    work = args.out / "fc"
    work.mkdir(parents=True, exist_ok=True)
    mlps = networks(predictor, work, args.networks, args.seed, (args.reference, speed))
    alone = kernels_alone(predictor, work)
    # One-row gemms a build samples: its gemm draws, and the gemv kind where it has one.
    kinds = [k for k in ("gemm", "gemv") if k in SAMPLED_KINDS]
    sampled = [c for kind in kinds for c in sample_configs(kind, args.per_kind, 0)]
    doc = {
        **provenance(args.name),
        "seed": args.seed,
        "settings": {
            "networks": args.networks,
            "labels": [str(p) for p in args.labels],
            "reference": str(args.reference),
            "per_kind": args.per_kind,
        },
        "summary": summary(mlps, alone, sampled),
        "networks": mlps,
        "gemms_alone": alone,
    }
    print(json.dumps(doc["summary"], indent=1))
    write_results(doc, start)


if __name__ == "__main__":
    main()
