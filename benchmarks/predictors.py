"""Benchmarks of the per-device predictors (LightGBM, few-shot transfer, speed).

(a) NAS-Bench-201 latency on the Raspberry Pi 4 and the Xeon Gold 6226 (the public
    HELP tables bundled as ``hwnas.data.nb201_table()``, each cell measured as written,
    so predictors learn spellings as written): train on 100, 900 and 5,000 random
    cells (seeded), test on every cell of the *other* equivalence classes (split by
    class: no test cell has a functionally identical twin in training). Each figure is
    the mean over the seeds with a 95% t-interval over them. Connected and disconnected
    cells (341 cells whose output never sees the input; their latency is near zero and
    wrecks relative metrics) are reported apart. The naive baseline of FACTS.md (LightGBM
    with default settings on the one-hot edges plus op counts, raw latency) runs on the
    same splits.
(c) Few-shot transfer Raspberry Pi 4 -> Xeon Gold 6226: a LightGBM predictor trained on
    900 Raspberry Pi architectures, corrected with k = 10, 20, 50 Xeon measurements;
    tested on the Xeon latency of all other architectures. Predictors trained on the k
    Xeon measurements alone are listed as references.
(speed) Predictions per second: the integer-encoding fast path (a lookup table of all
    15,625 cells), LightGBM on a feature matrix, and features from strings.

Run:  .venv/bin/python benchmarks/predictors.py [--seeds 5] [--transfer-seeds 5] [--out DIR]
Writes ``predictors.json`` (figures, machine, date, command, seeds) to ``--out``
(default ``benchmarks/results``, committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightgbm as lgb  # noqa: E402

from benchmarks._results import mean_interval  # noqa: E402
from hwnas.data import nb201_table  # noqa: E402
from hwnas.predictors import LightGBMPredictor, TransferPredictor, metrics  # noqa: E402
from hwnas.predictors.base import Origin  # noqa: E402
from hwnas.predictors.transfer import RIDGE_GRID  # noqa: E402
from hwnas.spaces.nb201 import OPS, NB201Space  # noqa: E402

DEVICES = {"raspi4": "latency_raspi4_ms", "gold_6226": "latency_gold_6226_ms"}
SIZES = (100, 900, 5000)
SHOTS = (10, 20, 50)
FACTS_BASELINE = {"raspi4": (0.950, 0.550), "gold_6226": (0.985, 0.941)}  # 900 archs


def naive_baseline(genes: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int) -> Any:
    """FACTS.md's naive model: one-hot edges + op counts, LightGBM defaults, raw latency."""
    one_hot = np.zeros((genes.shape[0], 30))
    for e in range(6):
        one_hot[np.arange(genes.shape[0]), e * 5 + genes[:, e]] = 1
    counts = np.stack([(genes == k).sum(1) for k in range(len(OPS))], axis=1)
    x = np.hstack([one_hot, counts])
    params = {"objective": "regression", "verbose": -1, "seed": seed, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x[train], y[train]), num_boost_round=100)
    return np.asarray(booster.predict(x))


def summary_ridge(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """Reference without a base device: ridge on log(y) over the summary features alone,
    its penalty chosen by the same k-fold cross-validation as the transfer's."""
    target = np.log(y)
    folds = np.random.default_rng(seed).permutation(len(y)) % min(len(y), 10)
    design = np.hstack([np.zeros((len(y), 1)), x])  # a dead first column: z is not used

    def fit(rows: np.ndarray, lam: float) -> Any:
        intercept, coef, mean, scale = TransferPredictor._ridge(
            design[rows], target[rows], lam, 1e6
        )
        return lambda d: intercept + ((d - mean) / scale) @ coef

    def cv_error(lam: float) -> float:
        errors = [
            np.abs(fit(np.flatnonzero(folds != f), lam)(design[folds == f]) - target[folds == f])
            for f in np.unique(folds)
        ]
        return float(np.mean(np.concatenate(errors)))

    best = min(RIDGE_GRID, key=cv_error)
    model = fit(np.arange(len(y)), best)
    return lambda features: np.exp(model(np.hstack([np.zeros((len(features), 1)), features])))


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.report(y, p).items()}


def mean_of(rows: list[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def spread(rows: list[dict[str, float]], key: str) -> dict[str, float]:
    """Mean over the seeds and its 95% t-interval (Student's t, n - 1 degrees of freedom)."""
    return mean_interval([r[key] for r in rows])


def class_split(classes: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random cells to train on, and every cell of the classes none of them is in."""
    order = np.random.default_rng(seed).permutation(len(classes))
    train = order[:n]
    test = np.flatnonzero(~np.isin(classes, classes[train]))
    return train, test


KEYS = ("spearman", "kendall", "mape", "within_5", "within_10")


def _cell(rows: list[dict[str, float]], key: str) -> str:
    found = spread(rows, key)
    scale, unit = (100.0, "%") if key.startswith("within") else (1.0, "")
    digits = 2 if key == "mape" else (1 if unit else 4)
    return (
        f"{scale * found['mean']:.{digits}f}{unit} "
        f"[{scale * found['low']:.{digits}f}, {scale * found['high']:.{digits}f}]"
    )


def _one_split(
    space: NB201Space,
    archs: list[str],
    genes: np.ndarray,
    y: np.ndarray,
    apart: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    started = time.perf_counter()
    written = Origin(arch_form="as-written", arch_form_reason="the table's cells as written")
    model = LightGBMPredictor(space=space, seed=seed).fit(
        [archs[i] for i in train], y[train], origin=written
    )
    fit_s = time.perf_counter() - started
    interval = model.predict_interval_batch(model.features.from_genes(genes[test]))
    conn = ~apart[test]
    inside = (interval.low <= y[test]) & (y[test] <= interval.high)
    naive_pred = naive_baseline(genes, y, train, seed)[test]
    return {
        "ours": scores(y[test][conn], interval.value[conn]),
        "naive": scores(y[test][conn], naive_pred[conn]),
        "disconnected": scores(y[test][~conn], interval.value[~conn]),
        "coverage": float(inside[conn].mean()),
        "fit_s": fit_s,
        "test": int(test.size),
    }


def part_a(seeds: int, results: dict[str, Any]) -> None:
    space = NB201Space()
    table = nb201_table()
    archs = table["arch"].tolist()
    genes = np.array([space.encode(a) for a in archs])
    apart = np.array([space.is_disconnected(a) for a in archs])
    classes = np.array([space.canonical(a) for a in archs], dtype=object)
    print("## (a) NAS-Bench-201 latency: train on n random cells, test on the other classes\n")
    print(
        f"{seeds} seeds per row: mean [95% t-interval over the seeds]. Test cells: every "
        f"connected cell whose equivalence class has no training cell; the "
        f"{int(apart.sum())} disconnected cells are listed apart.\n"
    )
    for device, column in DEVICES.items():
        y = table[column].to_numpy()
        print(f"### {device}\n")
        print(
            "| n train | model | Spearman | Kendall | MAPE % | ±5% | ±10% | interval "
            "coverage (80%) | fit s | disconnected: n, Spearman, MAPE %, ±10% |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for n in SIZES:
            runs = []
            for seed in range(seeds):
                train, test = class_split(classes, n, seed)
                runs.append(_one_split(space, archs, genes, y, apart, train, test, seed))
            ours, naive = [r["ours"] for r in runs], [r["naive"] for r in runs]
            dis = [r["disconnected"] for r in runs]
            for name, rows in (("hwnas LightGBM", ours), ("naive baseline", naive)):
                extra = (
                    f"{100 * mean_of(runs, 'coverage'):.1f}% | {mean_of(runs, 'fit_s'):.1f} | "
                    f"{int(mean_of(dis, 'n'))}, {mean_of(dis, 'spearman'):.3f}, "
                    f"{mean_of(dis, 'mape'):.0f}, {100 * mean_of(dis, 'within_10'):.0f}%"
                    if name.startswith("hwnas")
                    else "— | — | —"
                )
                cells = " | ".join(_cell(rows, k) for k in KEYS)
                print(f"| {n:,} | {name} | {cells} | {extra} |")
            results["a"].append(
                {
                    "device": device,
                    "n": n,
                    "test_cells": [r["test"] for r in runs],
                    "hwnas": {k: spread(ours, k) for k in KEYS},
                    "naive": {k: spread(naive, k) for k in KEYS},
                    "disconnected": {k: spread(dis, k) for k in KEYS},
                    "coverage": spread(runs, "coverage"),
                    "fit_s": spread(runs, "fit_s"),
                }
            )
        print()


def part_c(seeds: int, results: dict[str, Any]) -> None:
    space = NB201Space()
    table = nb201_table()
    archs = table["arch"].tolist()
    apart = np.array([space.is_disconnected(a) for a in archs])
    classes = np.array([space.canonical(a) for a in archs], dtype=object)
    source, target = table[DEVICES["raspi4"]].to_numpy(), table[DEVICES["gold_6226"]].to_numpy()
    order = np.random.default_rng(0).permutation(len(archs))
    base_rows, pool = order[:900], order[900:]
    base = LightGBMPredictor(space=space, seed=0).fit(
        [archs[i] for i in base_rows], source[base_rows]
    )
    features = base.features.matrix(archs)
    connected = ~apart
    rho_devices = metrics.spearman(source[connected], target[connected])
    print("## (c) Few-shot transfer raspi4 -> gold_6226\n")
    print(
        f"Base: LightGBM on 900 raspi4 architectures (seed 0). k gold_6226 measurements drawn "
        f"from the other architectures ({seeds} seeds, mean); test: gold_6226 latency of "
        f"every connected architecture of the classes the k are not in. For scale: the two "
        f"devices' measured latencies have Spearman {rho_devices:.3f} with each other (the Pi runs "
        f"only edges that reach the output, the Xeon every edge).\n"
    )
    print("| k | method | Spearman | ±10% | MAPE % |")
    print("|---:|---|---:|---:|---:|")
    methods = {
        "transfer: ridge on log(base) + summary features (default)": "ridge",
        "transfer: linear in log(base)": "linear",
        "transfer: isotonic in log(base)": "isotonic",
        "reference: LightGBM on the k gold_6226 measurements only": "alone",
        "reference: ridge on the summary features of the k measurements only": "summary",
    }
    summary = base.features.summary_columns()
    for k in SHOTS:
        found: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
        for seed in range(seeds):
            chosen = np.random.default_rng(100 + seed).choice(pool, k, replace=False)
            test = pool[~np.isin(classes[pool], classes[chosen])]  # other classes only
            test = test[connected[test]]
            few = [archs[i] for i in chosen]
            for label, correction in methods.items():
                if correction == "summary":
                    predict = summary_ridge(features[chosen][:, summary], target[chosen], seed)
                    found[label].append(scores(target[test], predict(features[test][:, summary])))
                    continue
                if correction == "alone":
                    model: Any = LightGBMPredictor(space=space, seed=seed).fit(few, target[chosen])
                else:
                    model = TransferPredictor(base=base, correction=correction, seed=seed).fit(
                        few, target[chosen]
                    )
                found[label].append(scores(target[test], model.predict_batch(features[test])))
        for label, rows in found.items():
            print(
                f"| {k} | {label} | {mean_of(rows, 'spearman'):.4f} | "
                f"{100 * mean_of(rows, 'within_10'):.1f}% | {mean_of(rows, 'mape'):.2f} |"
            )
            results["c"].append(
                {"k": k, "method": label, **{key: spread(rows, key) for key in KEYS}}
            )
    print()


def rate(call: Any, n: int, repeat: int = 3) -> float:
    best = min(_timed(call) for _ in range(repeat))
    return n / best


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def part_speed(results: dict[str, Any]) -> None:
    space = NB201Space()
    table = nb201_table()
    archs = table["arch"].tolist()
    y = table[DEVICES["raspi4"]].to_numpy()
    order = np.random.default_rng(0).permutation(len(archs))[:900]
    model = LightGBMPredictor(space=space, seed=0).fit([archs[i] for i in order], y[order])
    trees = model.booster_.current_iteration()
    genes = np.random.default_rng(1).integers(0, 5, size=(2_000_000, 6))
    build = _timed(lambda: model.predict_encodings(genes[:1]))
    fast = rate(lambda: model.predict_encodings(genes), len(genes))
    features = model.features.from_genes(genes[:200_000])
    lgb_rates = {}
    for threads in (1, 2):
        model.n_jobs = threads
        lgb_rates[threads] = rate(lambda: model.predict_batch(features), len(features), 2)
    model.n_jobs = 1
    strings = rate(lambda: model.features.matrix(archs), len(archs), 2)
    print(
        "## (speed) predictions per second (nb201, raspi4 predictor trained on 900 archs, "
        f"{trees} trees)\n"
    )
    print("| path | what it does | predictions / s |")
    print("|---|---|---:|")
    print(
        f"| `predict_encodings` (used) | lookup table: LightGBM predicted all 15,625 encodings "
        f"once ({build:.2f} s, first call), then index arithmetic + gather; 2,000,000 random "
        f"encodings per call | {fast:,.0f} |"
    )
    for threads, value in lgb_rates.items():
        print(
            f"| `predict_batch`, {threads} thread(s) | LightGBM `Booster.predict` on a feature "
            f"matrix of 200,000 rows | {value:,.0f} |"
        )
    print(
        f"| features from strings | parse 15,625 arch strings + table lookup of features "
        f"(before `predict_batch`) | {strings:,.0f} |\n"
    )
    results["speed"] = {
        "lookup_per_s": fast,
        "lookup_build_s": build,
        "trees": trees,
        "lightgbm_per_s": lgb_rates,
        "strings_per_s": strings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per row of (a)")
    parser.add_argument("--transfer-seeds", type=int, default=5, help="seeds per row of (c)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    print("# hwnas predictors benchmark\n")
    print(f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`")
    print(
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, LightGBM "
        f"{lgb.__version__}, numpy {np.__version__}"
    )
    try:
        load = os.getloadavg()[0]
        print(
            f"- load average at start: {load:.2f} (other work on the machine slows fit "
            f"times and speeds, not the scores)"
        )
    except OSError:
        pass
    print(
        "- predictors: LightGBM on log latency (Huber loss), nb201 features = one-hot edges, "
        "op counts and FLOPs under three execution rules, params; intervals from two "
        "quantile models with conformal calibration\n"
    )
    results: dict[str, Any] = {
        "benchmark": "predictors",
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "lightgbm": lgb.__version__,
        },
        "seeds": {
            "a": list(range(args.seeds)),
            "c": [100 + s for s in range(args.transfer_seeds)],
        },
        "split": "by equivalence class: no test cell has a functionally identical twin in training",
        "interval": "95% t-interval of the mean over the seeds",
        "a": [],
        "c": [],
    }
    part_a(args.seeds, results)
    part_c(args.transfer_seeds, results)
    part_speed(results)
    total = time.perf_counter() - started
    results["seconds"] = round(total, 1)
    print(f"total time: {total:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "predictors.json").write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
