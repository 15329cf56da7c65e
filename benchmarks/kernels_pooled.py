"""Re-scores kernel-predictor zoo results against the zoo's truth pooled over sessions.

``kernels_context.py`` measures each zoo model twice, back to back, and scores against
the mean of both passes. The two passes agree closely (a median of 1-2%), but the same
model measured in another session, by the same protocol (ratio to a reference model run
beside it), can differ far more: on this shared VM, 30 minutes apart, up to 36% for a
0.1 ms model and a median of 4-12% per zoo. A single session's truth therefore decides
many "within ±10%" verdicts, and two predictor versions scored in two sessions are not
compared on the same truth.

This script measures nothing. It reads the results files of several sessions of one
zoo (``--sessions``; each holds every model's two passes and its predictions), pools
each model's truth as the geometric mean of the sessions' means, reports each model's
between-session spread, and scores the predictions of each ``--score`` file against the
pooled truth (within ±10%, with its 95% bootstrap interval over the models; MAPE; mean
error). Writes ``benchmarks/results/NAME.json``.

Run:
  .venv/bin/python benchmarks/kernels_pooled.py --name kernels_pooled_zoo1 \\
      --sessions kernels_v5 kernels_v6 kernels_v8 kernels_v9 kernels_v10 \\
      --score kernels_v9 kernels_v10
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _results import RESULTS, provenance  # noqa: E402


def load(name: str) -> dict[str, Any]:
    """A committed results file by name (``NAME`` or ``NAME.json``); exits naming a
    missing one."""
    path = RESULTS / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        raise SystemExit(f"{path}: no such results file (kernels_context.py --name writes it)")
    return dict(json.loads(path.read_text()))


def pooled_truth(sessions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model: the geometric mean of the sessions' means (ms), each session's mean and
    the spread (largest over smallest, less 1, in %). Only models every session measured."""
    per: dict[str, list[float]] = {}
    for doc in sessions:
        for row in doc["rows"]:
            per.setdefault(row["model"], []).append(float(np.mean(row["measured_ms"])))
    out = {}
    for model, means in per.items():
        if len(means) == len(sessions):
            v = np.array(means)
            out[model] = {
                "ms": float(np.exp(np.mean(np.log(v)))),
                "sessions_ms": [round(float(x), 4) for x in v],
                "spread_pct": round(float(100 * (v.max() / v.min() - 1)), 1),
            }
    return out


def score(doc: dict[str, Any], truth: dict[str, dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """The corrected predictions of ``doc`` against ``truth``: n, within ±10% and its
    95% bootstrap interval, MAPE, mean error, per model error."""
    rows = [r for r in doc["rows"] if r["model"] in truth]
    err = np.array([100 * (r["corrected_ms"] / truth[r["model"]]["ms"] - 1) for r in rows])
    draws = np.random.default_rng(seed).integers(0, len(err), size=(2000, len(err)))
    within = (np.abs(err)[draws] <= 10).mean(axis=1)
    return {
        "n": len(rows),
        "within_10": round(float(np.mean(np.abs(err) <= 10)), 3),
        "within_10_interval_95": [round(float(v), 3) for v in np.percentile(within, [2.5, 97.5])],
        "mape": round(float(np.mean(np.abs(err))), 2),
        "mean_error_pct": round(float(np.mean(err)), 2),
        "errors_pct": {r["model"]: round(float(e), 2) for r, e in zip(rows, err, strict=True)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="results file benchmarks/results/NAME.json")
    parser.add_argument("--sessions", nargs="+", required=True, help="results files of one zoo")
    parser.add_argument("--score", nargs="+", required=True, help="results files to re-score")
    args = parser.parse_args()
    sessions = [load(n) for n in args.sessions]
    if len({len(d["rows"]) for d in sessions}) != 1:
        raise SystemExit("--sessions must be results of one zoo (they hold different models)")
    truth = pooled_truth(sessions)
    spread = np.array([t["spread_pct"] for t in truth.values()])
    doc = {
        **provenance(args.name),
        "sessions": args.sessions,
        "session_dates": [d["date"] for d in sessions],
        "between_session_spread_pct": {
            "median": round(float(np.median(spread)), 1),
            "share_over_10": round(float(np.mean(spread > 10)), 3),
            "max": round(float(spread.max()), 1),
        },
        "within_session_retest_median_pct": [d.get("retest_median_pct") for d in sessions],
        "truth": truth,
        "scores": {name: score(load(name), truth) for name in args.score},
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    summary = {k: {m: v[m] for m in ("within_10", "mape")} for k, v in doc["scores"].items()}
    print(json.dumps({"spread": doc["between_session_spread_pct"], "scores": summary}))


if __name__ == "__main__":
    main()
