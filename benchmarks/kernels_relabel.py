"""Checks whether random-network labels measured in an earlier session still hold in this
one, before a build reuses them (``kernels_context.py --labels``): re-measures a sample of
each labels file's networks by the same protocol (``kernels_validate.reference_labels``:
two passes, fresh runners, ratio to ``--reference``), stratified by label size, and fits
``label_then = a * label_now + c`` (both at the file's reference speed, least squares on
relative error).

A reference ratio cancels a change of the machine's speed (``a`` near 1) but not a change
of the fixed cost of each inference, which the constant ``c`` (ms) measures: a build whose
corrections were fitted on labels carrying ``c`` adds it to every prediction, which is
small beside a 10 ms model and large beside a 0.3 ms one.

Run (pinned to one quiet core):
  flock /tmp/hwnas-bench.lock taskset -c 1 .venv/bin/python benchmarks/kernels_relabel.py \\
      --labels benchmarks/results/kernels_validate_v2.labels.json --reference ref.onnx

``--against LATER.labels.json`` (one per ``--labels``) fits the same line between two
labels files of the same networks instead, measuring nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import provenance, started, write_results  # noqa: E402

#: Label sizes (ms) the sample is stratified by, and networks drawn per stratum.
BINS = (0.0, 0.5, 1.0, 2.0, 5.0, float("inf"))
PER_BIN = (8, 8, 5, 5, 5)


def sample(labels: dict[int, float], seed: int) -> list[int]:
    """Seeds of up to ``PER_BIN`` networks of each size stratum, drawn without
    replacement."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for (low, high), k in zip(itertools.pairwise(BINS), PER_BIN, strict=True):
        pool = sorted(s for s, ms in labels.items() if low <= ms < high)
        if pool:
            out += [int(s) for s in rng.choice(pool, size=min(k, len(pool)), replace=False)]
    return out


def fit_offset(then: np.ndarray, now: np.ndarray) -> dict[str, Any]:
    """``then = a * now + c`` on relative error; the residuals, and the ratio-only error
    (``c`` = 0, ``a`` = 1) by size, for comparison."""
    design = np.c_[now, np.ones_like(now)] / then[:, None]
    (a, c), *_ = np.linalg.lstsq(design, np.ones_like(then), rcond=None)
    resid = 100 * ((a * now + c) / then - 1)
    ratio = 100 * (now / then - 1)
    small = then < 1.0
    return {
        "a": round(float(a), 4),
        "c_ms": round(float(c), 4),
        "residual_median_abs_pct": round(float(np.median(np.abs(resid))), 2),
        "ratio_change_pct": {
            "below_1ms_mean": round(float(ratio[small].mean()), 2) if small.any() else None,
            "from_1ms_mean": round(float(ratio[~small].mean()), 2) if (~small).any() else None,
        },
    }


def relabel(path: Path, reference: Path, seed: int) -> dict[str, Any]:
    """One labels file: its sample re-measured now, rescaled to the file's reference
    speed, and the fit."""
    from kernels_validate import reference_labels

    doc = json.loads(path.read_text())
    labels = {int(s): float(ms) for s, ms in doc["labels"].items()}
    seeds = sample(labels, seed)
    now, retest = reference_labels(seeds, reference, 2.0)
    # Both in ms at the file's reference speed: today's labels are at today's speed.
    scale = float(doc["reference_ms"]) / retest["reference_ms"]
    then_ms = np.array([labels[s] for s in seeds])
    now_ms = np.array([now[s] * scale for s in seeds])
    return {
        "labels": str(path),
        "reference_ms_then": float(doc["reference_ms"]),
        "reference_ms_now": retest["reference_ms"],
        "retest_now": retest["ratio"],
        "fit": fit_offset(then_ms, now_ms),
        "rows": [
            {"seed": s, "then_ms": round(t, 4), "now_ms": round(n, 4)}
            for s, t, n in zip(seeds, then_ms.tolist(), now_ms.tolist(), strict=True)
        ],
    }


def against(path: Path, other: Path) -> dict[str, Any]:
    """One labels file against another's labels of the same networks (measured later,
    rescaled to ``path``'s reference speed): nothing is measured."""
    docs = [json.loads(p.read_text()) for p in (path, other)]
    then, now = ({int(s): float(ms) for s, ms in d["labels"].items()} for d in docs)
    seeds = sorted(set(then) & set(now))
    if len(seeds) < 3:
        raise SystemExit(f"{path} and {other} share {len(seeds)} networks: need at least 3")
    scale = float(docs[0]["reference_ms"]) / float(docs[1]["reference_ms"])
    then_ms = np.array([then[s] for s in seeds])
    now_ms = np.array([now[s] * scale for s in seeds])
    return {
        "labels": str(path),
        "against": str(other),
        "networks": len(seeds),
        "fit": fit_offset(then_ms, now_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, action="append", required=True)
    parser.add_argument("--reference", type=Path, help="re-measure by ratio to this model")
    parser.add_argument(
        "--against",
        type=Path,
        action="append",
        help="instead of measuring: compare each --labels file with this one (in order)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="kernels_relabel")
    args = parser.parse_args()
    if (args.reference is None) == (args.against is None):
        raise SystemExit("give --reference (measure again) or --against (compare files)")
    if args.against is not None and len(args.against) != len(args.labels):
        raise SystemExit("give one --against file per --labels file")
    given = [*args.labels, *(args.against or []), *([args.reference] if args.reference else [])]
    absent = [str(p) for p in given if not p.is_file()]
    if absent:
        raise SystemExit(f"no such file: {' '.join(absent)}")
    start = started()
    if args.against is not None:
        files = [against(p, q) for p, q in zip(args.labels, args.against, strict=True)]
    else:
        files = [relabel(p, args.reference, args.seed) for p in args.labels]
    doc = {
        **provenance(args.name),
        "seed": args.seed,
        "settings": {
            "bins_ms": list(BINS[:-1]),
            "per_bin": list(PER_BIN),
            "passes": 2,
            "against": [str(p) for p in args.against or []] or None,
        },
        "summary": {f["labels"]: f["fit"] for f in files},
        "files": files,
    }
    print(json.dumps(doc["summary"], indent=1))
    write_results(doc, start)


if __name__ == "__main__":
    main()
