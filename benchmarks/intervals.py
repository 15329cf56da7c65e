"""Do the LightGBM predictor's 80% intervals hold 80% of what they predict? Per NB201
device table of the zoo and training-set size: the share of unseen cells inside the
interval (coverage) and the interval's median width (log of high over low), with the
calibration hwnas uses (``interval_calibration="auto"``: cross-conformal below a few
hundred measurements) against conformal calibration on the held-out split alone
(``"split"``, what every predictor did before).

Per table, size and seed: that many cells drawn at random and their table latency used
as measurements (arch form as written); scored on up to ``--test`` cells of classes
none of the training cells belongs to. Mean and 95% interval over the seeds.

Run:  .venv/bin/python benchmarks/intervals.py [--tables raspi4,...] [--sizes 50,100,200,500,1000]
      [--seeds 5] [--first-seed 100] [--test 3000] [--out benchmarks/results] [--name intervals]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import RESULTS, mean_interval, provenance, started, write_results  # noqa: E402
from benchmarks.search import DATA  # noqa: E402
from hwnas.predictors.lgbm import LightGBMPredictor  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402

TABLES = (
    "raspi4",
    "gold_6226",
    "essential_ph_1",
    "samsung_s7",
    "silver_4114",
    "silver_4210r",
    "gold_6240",
    "1080ti_1",
    "2080ti_1",
    "titan_rtx_1",
    "titanxp_1",
)
METHODS = ("auto", "split")


def load(name: str) -> pd.DataFrame:
    """The table's ``arch`` and ``latency_ms`` columns, with each cell's class: from
    ``../shared/data``, else (raspi4 and gold_6226, where that folder is not beside the
    checkout) the copy hwnas bundles (``hwnas.data.nb201_latency_table``)."""
    from hwnas.data import NB201_DEVICES, nb201_latency_table

    path = next(DATA.glob(f"nb201_latency_{name}.csv*"), None)
    if path is None and name not in NB201_DEVICES:
        raise SystemExit(f"no table nb201_latency_{name}.csv[.gz] in {DATA}")
    table = nb201_latency_table(name) if path is None else pd.read_csv(path)
    frame = table[["arch", "latency_ms"]]
    space = get_space("nb201")
    return frame.assign(cls=[space.canonical(a) for a in frame["arch"]])


def draw(frame: pd.DataFrame, size: int, seed: int, test: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One seed's training cells and at most ``test`` scored cells of other classes."""
    rng = np.random.default_rng(seed)
    train = frame.iloc[rng.choice(len(frame), size, replace=False)]
    unseen = frame[~frame["cls"].isin(set(train["cls"]))]
    return train, unseen.iloc[rng.permutation(len(unseen))[:test]]


def one_fit(frame: pd.DataFrame, size: int, seed: int, test: int) -> dict[str, tuple[float, float]]:
    """(coverage, median log width) of each method for one seed's training draw."""
    train, scored = draw(frame, size, seed, test)
    y = scored["latency_ms"].to_numpy()
    out = {}
    for method in METHODS:
        model = LightGBMPredictor(space="nb201", seed=seed, interval_calibration=method)
        model.fit(train["arch"].tolist(), train["latency_ms"].to_numpy())
        interval = model.predict_interval(scored["arch"].tolist())
        inside = (interval.low <= y) & (y <= interval.high)
        width = np.log(np.maximum(interval.high, 1e-12) / np.maximum(interval.low, 1e-12))
        out[method] = (float(inside.mean()), float(np.median(width)))
    return out


def run(tables: list[str], sizes: list[int], seeds: list[int], test: int) -> list[dict[str, Any]]:
    """One row per table, size and method: coverage and width over the seeds."""
    rows = []
    for name in tables:
        frame = load(name)
        for size in sizes:
            fits = [one_fit(frame, size, seed, test) for seed in seeds]
            for method in METHODS:
                cover = [f[method][0] for f in fits]
                width = [f[method][1] for f in fits]
                rows.append(
                    {
                        "table": name,
                        "training_rows": size,
                        "calibration": method,
                        "coverage": mean_interval(cover),
                        "median_log_width": mean_interval(width),
                    }
                )
                print(
                    f"{name:15s} {size:5d} {method:5s} coverage {np.mean(cover):.3f} "
                    f"width {np.mean(width):.3f}",
                    flush=True,
                )
    return rows


def summarise(rows: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Per size and method, the mean over tables of coverage and width, and the range of
    the tables' mean coverage."""
    out: dict[str, Any] = {"nominal": 0.8}
    for size in sizes:
        for method in METHODS:
            sel = [r for r in rows if r["training_rows"] == size and r["calibration"] == method]
            cover = [r["coverage"]["mean"] for r in sel]
            out[f"{size} rows, {method}"] = {
                "coverage_mean": round(float(np.mean(cover)), 3),
                "coverage_range": [round(min(cover), 3), round(max(cover), 3)],
                "median_log_width_mean": round(
                    float(np.mean([r["median_log_width"]["mean"] for r in sel])), 3
                ),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated zoo names")
    parser.add_argument("--sizes", default="50,100,200,500,1000", help="training rows")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--test", type=int, default=3000, help="unseen cells scored per fit")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--name", default="intervals", help="the results file: OUT/NAME.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.seeds < 1 or args.test < 1 or min(sizes) < 20:
        parser.error("--seeds and --test must be at least 1 and every --sizes at least 20")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    start = started()
    tables = args.tables.split(",")
    rows = run(tables, sizes, seeds, args.test)
    doc = {
        **provenance(args.name),
        "seed": seeds[0],
        "seeds": seeds,
        "settings": {"tables": tables, "sizes": sizes, "test": args.test, "quantiles": [0.1, 0.9]},
        "summary": summarise(rows, sizes),
        "rows": rows,
    }
    print(write_results(doc, start, args.out / f"{args.name}.json"))


if __name__ == "__main__":
    main()
