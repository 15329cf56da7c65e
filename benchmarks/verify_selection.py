"""How a verify round chooses what to measure: expected hypervolume improvement (EHVI,
the default) against the rule before it (the predicted front, then the straddlers), on
NB201 device tables of the zoo that are *not* the search benchmark's (raspi4).

Per table and seed: 100 cells sampled and their table latency "measured"; a LightGBM
predictor trained on them (``hwnas.train_predictor`` on a table of those rows, arch form
as written); then ``hwnas.search.verify.refine`` itself, with every one of the 15,625
cells predicted each round (the exhaustive strategy), ``measure`` reading the table and
``retrain`` training again on everything measured: 4 rounds of 25 (200 measurements in
all), budget = the table's median latency, CIFAR-10 accuracy of the tabular benchmark.
Scored like ``benchmarks/search.py``: the hypervolume of the measured front within
budget over the true front's, reference at the budget and the least accurate true-front
cell above chance. Mean and 95% interval over the seeds per table and rule.

Run:  .venv/bin/python benchmarks/verify_selection.py [--tables gold_6226,...] [--seeds 5]
      [--first-seed 100] [--selections ehvi,front] [--rounds 4] [--per-round 25]
      [--out benchmarks/results] [--name verify_selection]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hwnas  # noqa: E402
from benchmarks._results import RESULTS, mean_interval, provenance, started, write_results  # noqa: E402
from benchmarks.search import DATA, true_front  # noqa: E402
from hwnas.search.accuracy import accuracy_source  # noqa: E402
from hwnas.search.nsga import Candidate, hypervolume, pareto_front  # noqa: E402
from hwnas.search.strategies import degenerate_archs  # noqa: E402
from hwnas.search.verify import SELECTIONS, refine  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402

TABLES = ("gold_6226", "essential_ph_1", "samsung_s7", "silver_4114", "gold_6240", "silver_4210r")
SAMPLE = 100
LOOP = {"rounds": 4, "per_round": 25, "max_measurements": 100}


def load(name: str) -> dict[str, Any]:
    """The table's truth, accuracy, budget, reference point and true hypervolume."""
    path = next(DATA.glob(f"nb201_latency_{name}.csv*"), None)
    if path is None:
        raise SystemExit(f"no table nb201_latency_{name}.csv[.gz] in {DATA}")
    space = get_space("nb201")
    budget = float(pd.read_csv(path)["latency_ms"].median())
    truth, front, ref = true_front(space, budget, path)
    archs = list(truth)
    scores = accuracy_source("tabular:cifar10", space).evaluate(archs)
    return {
        "truth": truth,
        "accuracy": dict(zip(archs, (float(s) for s in scores), strict=True)),
        "budget": budget,
        "ref": ref,
        "best": hypervolume(front, ["latency_ms"], ref),
    }


def _train(archs: list[str], table: dict[str, Any], seed: int, where: Path) -> Any:
    rows = pd.DataFrame({"arch": archs, "latency_ms": [table["truth"][a] for a in archs]})
    rows.to_csv(where / "measured.csv", index=False)
    return hwnas.train_predictor(
        space="nb201",
        metric="latency_ms",
        table=where / "measured.csv",
        arch_form="as-written",
        seed=seed,
    )


def one_run(
    table: dict[str, Any],
    seed: int,
    selection: str,
    loop: dict[str, int] | None = None,
    train: Any = None,
    keep: dict[str, Any] | None = None,
) -> float:
    """The hypervolume share of one seed's verified loop under ``selection``.
    ``train(archs, table, seed, where)`` fits the predictor on the cells measured so far
    (default: LightGBM on exactly those cells); ``keep`` receives the loop's result
    (``hwnas.search.verify.Refined``) under ``"refined"``."""
    train = train or _train
    truth, acc, budget = table["truth"], table["accuracy"], table["budget"]
    archs = list(truth)
    start = [str(a) for a in np.random.default_rng(seed).choice(archs, SAMPLE, replace=False)]
    measured = list(start)
    budgets = {"latency_ms": budget}
    space = get_space("nb201")
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)

        def search_round(predictors: Any) -> tuple[list[Candidate], list[Candidate]]:
            values = predictors["latency_ms"].predict(archs)
            cands = [
                Candidate(a, acc[a], {"latency_ms": float(v)})
                for a, v in zip(archs, values, strict=True)
            ]
            return pareto_front(cands, ["latency_ms"], budgets), cands

        def measure(asked: list[str]) -> dict[str, dict[str, float]]:
            measured.extend(asked)
            return {a: {"latency_ms": truth[a]} for a in asked}

        done = refine(
            search_round=search_round,
            predictors={"latency_ms": train(start, table, seed, where)},
            measure=measure,
            retrain=lambda: {"latency_ms": train(measured, table, seed, where)},
            accuracy=lambda a: np.array([acc[x] for x in a]),
            budgets=budgets,
            known={a: {"latency_ms": truth[a]} for a in start},
            degenerate=lambda a: degenerate_archs(space, a),
            selection=selection,
            **(loop or LOOP),
        )
    if keep is not None:
        keep["refined"] = done
    front = [Candidate(c.arch, c.accuracy, dict(c.measured)) for c in done.pareto]
    return hypervolume(front, ["latency_ms"], table["ref"]) / table["best"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated zoo names")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--selections", default=",".join(SELECTIONS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=LOOP["rounds"], help="verify rounds")
    parser.add_argument(
        "--per-round", type=int, default=LOOP["per_round"], help="measurements per round"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument(
        "--name", default="verify_selection", help="the results file: OUT/NAME.json"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.rounds < 1 or args.per_round < 1:
        parser.error("--rounds and --per-round must be at least 1")
    loop = {**LOOP, "rounds": args.rounds, "per_round": args.per_round}
    selections = args.selections.split(",")
    unknown = sorted(set(selections) - set(SELECTIONS))
    if unknown:
        parser.error(f"unknown selection {unknown[0]!r}; choose from {', '.join(SELECTIONS)}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    start = started()
    rows = []
    for name in args.tables.split(","):
        table = load(name)
        for selection in selections:
            began = time.perf_counter()
            shares = [one_run(table, seed, selection, loop) for seed in seeds]
            row = {
                "table": name,
                "selection": selection,
                "hypervolume_share": mean_interval(shares),
                "per_seed": [round(s, 4) for s in shares],
                "seconds": round(time.perf_counter() - began, 1),
            }
            rows.append(row)
            print(f"{name:15s} {selection:6s} {row['hypervolume_share']} {row['per_seed']}")
    overall = {
        s: mean_interval([v for r in rows if r["selection"] == s for v in r["per_seed"]])
        for s in selections
    }
    for s, figures in overall.items():
        print(f"all tables      {s:6s} {figures}")
    doc = {
        **provenance(args.name),
        "seed": seeds[0],
        "seeds": seeds,
        "settings": {"sample": SAMPLE, **loop, "tables": args.tables, "selections": selections},
        "summary": overall,
        "rows": rows,
    }
    print(write_results(doc, start, args.out / f"{args.name}.json"))


if __name__ == "__main__":
    main()
