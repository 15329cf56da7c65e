"""Closed-loop search on a public device table: how near the true Pareto front, how often
within budget, with how many device measurements (issue 10's benchmark).

The device is the Raspberry Pi 4 NAS-Bench-201 latency table of ``../shared/data``
(every one of the 15,625 cells measured as written), registered as a *table device*
(``hwnas devices add raspi4 --table FILE --space nb201``): ``profile`` looks cells up
there instead of running them, through the ordinary job queue and store. Per seed:

1. 100 cells sampled and profiled on the table device: distinct spellings, since the
   table measured every spelling as written (``hwnas.spaces.forms.written_as_is``);
2. a LightGBM latency predictor trained on them (``hwnas.train_predictor``): the table
   device is keyed by the exact string, so the predictor learns spellings as written
   (``arch_form`` ``as-written``) and the search tells all 15,625 cells apart;
3. the budget: the table's median latency; accuracy: NAS-Bench-201 CIFAR-10 test
   accuracy (``tabular:cifar10``, the same NATS-Bench figures as
   ``../shared/data/nb201_accuracy.csv``);
4. ``hwnas.search`` with each strategy at the same number of predictor queries, without
   and with ``verify=`` (rounds of measuring the candidates that matter on the device,
   retraining, searching again; at most 100 more measurements, 200 in all).

Scored on the table's true values: the hypervolume of the returned set (accuracy up,
latency down) over the true front's (all 15,625 cells), the share of returned cells
truly within budget, device measurements used, and wall time; mean and spread over the
seeds. The reference point is the budget and the accuracy of the least accurate member
of the true front above chance (the fastest useful cell, 86.5%): a reference at chance
accuracy (10%) would let any front of ~90% cells score above 0.97.

Run:  .venv/bin/python benchmarks/search.py [--seeds 5] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hwnas  # noqa: E402
from benchmarks._results import provenance  # noqa: E402
from hwnas.predictors.lgbm import CALIBRATIONS  # noqa: E402
from hwnas.search.accuracy import accuracy_source  # noqa: E402
from hwnas.search.nsga import Candidate, hypervolume, pareto_front  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402
from hwnas.spaces.forms import written_as_is  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TABLE = DATA / "nb201_latency_raspi4.csv"
DEVICE = "raspi4-table"
SAMPLE = 100
STRATEGIES = ("nsga2", "regevo", "random", "exhaustive")
SEARCH = {"population": 50, "generations": 30}
VERIFY = {"rounds": 4, "verify_per_round": 25, "max_measurements": 100}
#: CIFAR-10 accuracy at chance: NB201 cells whose output never sees the input (10.0%).
CHANCE = 10.5


def true_front(
    space: Any, budget: float, table: Path = TABLE
) -> tuple[dict[str, float], list[Candidate], np.ndarray]:
    """The table's latency of every cell, the true Pareto front within ``budget`` over all
    15,625 cells, and the hypervolume reference point."""
    frame = pd.read_csv(table)
    truth = dict(zip(frame["arch"], frame["latency_ms"].astype(float), strict=True))
    archs = list(truth)
    scores = accuracy_source("tabular:cifar10", space).evaluate(archs)
    cands = [
        Candidate(a, float(s), {"latency_ms": truth[a]}) for a, s in zip(archs, scores, strict=True)
    ]
    front = pareto_front(cands, ["latency_ms"], {"latency_ms": budget})
    useful = [c.accuracy for c in front if c.accuracy > CHANCE]
    return truth, front, np.array([-min(useful), budget])


def reachable(space: Any, truth: dict[str, float], budget: float, ref: np.ndarray, best: float):
    """The share of the true hypervolume that the 6,466 canonical cells reach: a search
    returns one cell per class of equivalent cells, the true front over all 15,625
    strings also picks the luckiest member of a class (the table measured every string
    as written, with its noise, and the benchmark trained each string on its own)."""
    canonical = sorted({space.canonical(a) for a in truth})
    return score(canonical, truth, budget, ref, best)["hypervolume_share"]


def score(
    archs: list[str], truth: dict[str, float], budget: float, ref: np.ndarray, best: float
) -> dict[str, float]:
    """The returned ``archs`` on true values: hypervolume share and share within budget."""
    space = get_space("nb201")
    scores = accuracy_source("tabular:cifar10", space).evaluate(archs) if archs else []
    real = [
        Candidate(a, float(s), {"latency_ms": truth[a]}) for a, s in zip(archs, scores, strict=True)
    ]
    front = pareto_front(real, ["latency_ms"], {"latency_ms": budget})
    within = [truth[a] <= budget for a in archs]
    return {
        "hypervolume_share": hypervolume(front, ["latency_ms"], ref) / best,
        "within_budget_share": float(np.mean(within)) if within else 0.0,
        "returned": len(archs),
    }


def one_seed(
    seed: int,
    home: Path,
    truth: dict[str, float],
    budget: float,
    ref,
    best,
    strategies: tuple[str, ...] = STRATEGIES,
    modes: tuple[bool, ...] = (False, True),
    loop: dict[str, int] = VERIFY,
    calibration: str = "auto",
) -> list:
    """Each strategy, without and with verify (``modes``), for one seed (its own store);
    ``calibration``: the predictor's ``interval_calibration``."""
    pristine = home / f"seed{seed}.db"
    hwnas.profile_space(
        written_as_is(get_space("nb201")), sample=SAMPLE, seed=seed, device=DEVICE, store=pristine
    )
    rows = []
    for strategy in strategies:
        for verify in modes:
            # Each run starts from the same 100 measurements: a run's verification
            # measurements must not teach the next run's predictor.
            store = home / f"seed{seed}-{strategy}-{verify}.db"
            shutil.copyfile(pristine, store)
            predictor = hwnas.train_predictor(
                space="nb201",
                metric="latency_ms",
                device=DEVICE,
                store=store,
                seed=seed,
                interval_calibration=calibration,
            )
            extra = {"verify": DEVICE, "store": store, **loop} if verify else {}
            started = time.perf_counter()
            result = hwnas.search(
                space="nb201",
                predictors={"latency_ms": predictor},
                budgets={"latency_ms": budget},
                accuracy="tabular:cifar10",
                strategy=strategy,
                seed=seed,
                **SEARCH,
                **extra,
            )
            seconds = time.perf_counter() - started
            archs = [c.arch for c in result.pareto]
            measured = SAMPLE + (result.measurements if verify else 0)
            row = {
                "seed": seed,
                "strategy": strategy,
                "verify": verify,
                "device_measurements": measured,
                "arch_form": predictor.arch_form,
                "seconds": round(seconds, 2),
                **score(archs, truth, budget, ref, best),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, standard deviation and range per strategy and verify setting."""
    out = []
    keys = ("hypervolume_share", "within_budget_share", "device_measurements", "seconds")
    for strategy in STRATEGIES:
        for verify in (False, True):
            group = [r for r in rows if r["strategy"] == strategy and r["verify"] == verify]
            if not group:
                continue
            entry: dict[str, Any] = {"strategy": strategy, "verify": verify, "seeds": len(group)}
            for key in keys:
                values = [float(r[key]) for r in group]
                entry[key] = {
                    "mean": round(statistics.fmean(values), 4),
                    "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                    "min": round(min(values), 4),
                    "max": round(max(values), 4),
                }
            out.append(entry)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds from this one on")
    parser.add_argument("--table", type=Path, default=TABLE, help="a 15,625-cell NB201 table")
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="comma-separated")
    parser.add_argument("--verify-only", action="store_true", help="only the runs with verify")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--name", default="search", help="the results file: OUT/NAME.json")
    parser.add_argument("--rounds", type=int, default=VERIFY["rounds"], help="verify rounds")
    parser.add_argument(
        "--verify-per-round", type=int, default=VERIFY["verify_per_round"], help="at most"
    )
    parser.add_argument(
        "--interval-calibration",
        default="auto",
        choices=CALIBRATIONS,
        help="how the predictor's intervals are calibrated (hwnas.predictors.lgbm)",
    )
    args = parser.parse_args()
    table: Path = args.table
    strategies = tuple(args.strategies.split(","))
    modes = (True,) if args.verify_only else (False, True)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    loop = {**VERIFY, "rounds": args.rounds, "verify_per_round": args.verify_per_round}
    calibration: str = args.interval_calibration
    space = get_space("nb201")
    budget = float(pd.read_csv(table)["latency_ms"].median())
    truth, front, ref = true_front(space, budget, table)
    best = hypervolume(front, ["latency_ms"], ref)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["HWNAS_HOME"] = str(home)
        from hwnas.devices.registry import add_device
        from hwnas.devices.table import table_device_spec

        add_device(table_device_spec(DEVICE, table, "nb201")[0])
        started = time.perf_counter()
        rows = [
            row
            for seed in seeds
            for row in one_seed(
                seed, home, truth, budget, ref, best, strategies, modes, loop, calibration
            )
        ]
        total = time.perf_counter() - started
    doc = {
        **provenance("search"),
        "hwnas": hwnas.__version__,
        "table": table.name,
        "budget_ms": budget,
        "true_front": len(front),
        "canonical_reachable_share": round(reachable(space, truth, budget, ref, best), 4),
        "reference_point": ref.tolist(),
        "sample": SAMPLE,
        "search": SEARCH,
        "verify": loop,
        "interval_calibration": calibration,
        "seeds": seeds,
        "seconds": round(total, 1),
        "summary": summarise(rows),
        "runs": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(doc, indent=1))
    for entry in doc["summary"]:
        hv, within = entry["hypervolume_share"], entry["within_budget_share"]
        print(
            f"{entry['strategy']:>7} verify={entry['verify']!s:5} hypervolume "
            f"{hv['mean']:.4f} ± {hv['sd']:.4f} (min {hv['min']:.4f})  within budget "
            f"{within['mean']:.3f} (min {within['min']:.3f})  measurements "
            f"{entry['device_measurements']['max']:.0f}  {entry['seconds']['mean']:.1f} s"
        )


if __name__ == "__main__":
    main()
