"""How much of a device table's front a predictor can know: why the closed loop stops
short of 0.98 of the true hypervolume on the raspi4 table (issue 10's target).

Two measurements, on the NB201 latency tables of ``../shared/data`` (raspi4, the search
benchmark's, and the six that ``verify_selection.py`` scores):

1. **Predictability near the front.** Per table and seed, 5 folds of the 15,625 cells;
   a LightGBM predictor (``hwnas.train_predictor``, arch form as written, the same as
   the search benchmark's) trained on four folds predicts the fifth. Scored on the cells
   that can be on the front: accuracy at least the reference point's and latency within
   the budget (the table's median). Reported: the median absolute error, the share
   within ±10%, the standard deviation of the log error, and how far the true front's
   cells measured below their prediction (median). What a predictor trained on 12,500
   cells cannot say about a cell is what 100–200 measurements cannot teach one either.
2. **The loop with a predictor that has seen every cell.** ``verify_selection.one_run``
   (100 cells sampled and measured, 4 rounds of 25, the default selection, every cell
   predicted each round) with the predictor trained on every one of the 15,625 cells
   instead of the cells measured so far, beside the loop as it is; hypervolume share of
   the measured front, as in ``benchmarks/search.py``.

   With ``--rounds 8,16``: the loop as it is with more rounds of 25 (300 and 500 device
   measurements in all), to see how many it takes. Each run also records whether
   ``hwnas.search`` would have advised measuring more (``advised_...``: 1 or 0,
   :func:`hwnas.search.api.still_improving`), so ``--rounds 4,8`` says how often that
   advice is right.

Run:  .venv/bin/python benchmarks/search_bound.py [--tables raspi4,gold_6226,...]
      [--loop-tables raspi4] [--rounds 4] [--no-every-cell] [--seeds 5]
      [--first-seed 100] [--out benchmarks/results] [--name search_bound]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import verify_selection  # noqa: E402
from benchmarks._results import RESULTS, mean_interval, provenance, started, write_results  # noqa: E402
from hwnas.search.api import still_improving  # noqa: E402
from hwnas.search.nsga import Candidate, pareto_front  # noqa: E402

TABLES = ("raspi4", *verify_selection.TABLES)
FOLDS = 5


def out_of_fold(table: dict[str, Any], seed: int, where: Path) -> dict[str, float]:
    """Each cell's latency as predicted by a predictor trained on the other folds."""
    archs = list(table["truth"])
    folds = np.array_split(np.random.default_rng(seed).permutation(len(archs)), FOLDS)
    predicted: dict[str, float] = {}
    for fold in folds:
        held = set(fold.tolist())
        train = [a for i, a in enumerate(archs) if i not in held]
        model = verify_selection._train(train, table, seed, where)
        asked = [archs[i] for i in fold]
        predicted.update(zip(asked, (float(v) for v in model.predict(asked)), strict=True))
    return predicted


def near_front(table: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(cells that can be on the front, the true front's cells): accuracy at least the
    reference point's, latency within the budget."""
    truth, acc, budget = table["truth"], table["accuracy"], table["budget"]
    floor = -float(table["ref"][0])
    box = [a for a in truth if acc[a] >= floor and truth[a] <= budget]
    cands = [Candidate(a, acc[a], {"latency_ms": truth[a]}) for a in truth]
    front = pareto_front(cands, ["latency_ms"], {"latency_ms": budget})
    return box, [c.arch for c in front if c.accuracy >= floor]


def predictability(table: dict[str, Any], seed: int) -> dict[str, float]:
    """One seed's out-of-fold errors on the cells near the front."""
    with tempfile.TemporaryDirectory() as tmp:
        predicted = out_of_fold(table, seed, Path(tmp))
    box, front = near_front(table)

    def log_error(cells: list[str]) -> np.ndarray:
        return np.log([table["truth"][a] / predicted[a] for a in cells])

    err = log_error(box)
    return {
        "cells": len(box),
        "median_abs_error_pct": float(100 * np.median(np.abs(np.expm1(err)))),
        "within_10": float(np.mean(np.abs(np.expm1(err)) <= 0.10)),
        "log_error_sd": float(np.std(err)),
        "front_cells": len(front),
        "front_median_error_pct": float(100 * np.median(np.expm1(log_error(front)))),
    }


def loop_shares(
    table: dict[str, Any], seed: int, rounds: list[int], every: bool
) -> dict[str, float]:
    """The verified loop's hypervolume share as it is, at each number of ``rounds`` of
    the default size (``measured_cells`` at the default number, else
    ``measured_cells_R_rounds``), and with ``every`` the all-cell predictor's."""

    @cache
    def every_cell() -> Any:
        with tempfile.TemporaryDirectory() as tmp:
            return verify_selection._train(list(table["truth"]), table, seed, Path(tmp))

    def all_cells(archs: list[str], tab: dict[str, Any], s: int, where: Path) -> Any:
        return every_cell()

    loop = verify_selection.LOOP
    shares = {}
    for r in rounds:
        key = "measured_cells" if r == loop["rounds"] else f"measured_cells_{r}_rounds"
        sized = {**loop, "rounds": r, "max_measurements": r * loop["per_round"]}
        kept: dict[str, Any] = {}
        shares[key] = verify_selection.one_run(table, seed, "hybrid", sized, keep=kept)
        if "refined" in kept:  # whether hwnas.search would have advised measuring more
            said = still_improving(kept["refined"], r, sized["max_measurements"])
            shares[f"advised_{key}"] = float(said is not None)
    if every:
        shares["every_cell"] = verify_selection.one_run(table, seed, "hybrid", train=all_cells)
    return shares


def _summarize(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    return {k: mean_interval([row[k] for row in per_seed]) for k in per_seed[0]}


def run(
    name: str, seeds: list[int], loop: bool, rounds: list[int], every: bool = True
) -> dict[str, Any]:
    """One table's figures over the seeds (with ``loop``, the loop's too)."""
    began = time.perf_counter()
    table = verify_selection.load(name)
    row: dict[str, Any] = {"table": name, "budget_ms": round(table["budget"], 3)}
    row["predictability"] = _summarize([predictability(table, s) for s in seeds])
    if loop:
        shares = [loop_shares(table, s, rounds, every) for s in seeds]
        row["hypervolume_share"] = _summarize(shares)
        row["per_seed"] = {k: [round(s[k], 4) for s in shares] for k in shares[0]}
    row["seconds"] = round(time.perf_counter() - began, 1)
    return row


def _means(row: dict[str, Any]) -> dict[str, float]:
    """A table's mean figures (the summary of the results file)."""
    figures = {**row["predictability"], **row.get("hypervolume_share", {})}
    return {k: round(v["mean"], 4) for k, v in figures.items()}


def _line(row: dict[str, Any]) -> str:
    p = row["predictability"]
    text = (
        f"{row['table']:15s} near front: {p['cells']['mean']:6.0f} cells, median error "
        f"{p['median_abs_error_pct']['mean']:5.1f}%, within ±10% "
        f"{100 * p['within_10']['mean']:4.1f}%, log sd {p['log_error_sd']['mean']:.3f}, "
        f"true front {p['front_median_error_pct']['mean']:+5.1f}% of prediction"
    )
    if "hypervolume_share" in row:
        hv = row["hypervolume_share"]
        text += "; loop " + ", ".join(f"{k} {v['mean']:.3f}" for k, v in hv.items())
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated")
    parser.add_argument(
        "--loop-tables", default="raspi4", help="tables to run the loop on (comma-separated)"
    )
    parser.add_argument(
        "--rounds",
        default=str(verify_selection.LOOP["rounds"]),
        help="comma-separated numbers of verify rounds (of 25) to run the loop with",
    )
    parser.add_argument(
        "--every-cell",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the loop with a predictor trained on every cell",
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--name", default="search_bound", help="the results file: OUT/NAME.json")
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (the figures carry an interval)")
    tables, looped = args.tables.split(","), set(filter(None, args.loop_tables.split(",")))
    if looped - set(tables):
        parser.error(f"--loop-tables {sorted(looped - set(tables))} not in --tables")
    try:
        rounds = [int(r) for r in args.rounds.split(",")]
    except ValueError:
        parser.error(f"--rounds takes whole numbers separated by commas, got {args.rounds!r}")
    if min(rounds) < 1:
        parser.error("--rounds must be at least 1")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    start = started()
    rows = []
    for name in tables:
        rows.append(run(name, seeds, name in looped, rounds, args.every_cell))
        print(_line(rows[-1]), flush=True)
    doc = {
        **provenance(args.name),
        "seed": seeds[0],
        "seeds": seeds,
        "settings": {
            "folds": FOLDS,
            "sample": verify_selection.SAMPLE,
            **verify_selection.LOOP,
            "rounds_run": rounds,
            "every_cell": args.every_cell,
        },
        "summary": {row["table"]: _means(row) for row in rows},
        "rows": rows,
    }
    print(write_results(doc, start, args.out / f"{args.name}.json"))


if __name__ == "__main__":
    main()
