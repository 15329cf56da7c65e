"""Issues 6 and 14 benchmark: a latency predictor for this CPU from 800 `chain` networks,
beside a linear model, LightGBM alone and the block lookup table, and a hold-out set
measured after the predictor was frozen.

Step 1 measures, pinned to one core (resumable; the exports are cached), with a
reference model timed beside every run (a `chain` network outside the sample,
``space.to_onnx(space.sample_distinct(99, 1)[0], exporter="torchscript")``):

    taskset -c 1 .venv/bin/hwnas profile --space chain --sample 800 --seed 0 \
        --exporter torchscript --max-seconds 1 --reference REF.onnx \
        --store benchmarks/out/chain/train.db

(``--repeats 2`` measures each network twice, for the test-retest ceiling). The lookup
table of the same device, with the same reference (``--lut-store``):

    taskset -c 0 .venv/bin/hwnas lut build --space chain --reference REF.onnx \
        --statistic ratio --exporter torchscript --max-seconds 1 --calibrate 10 \
        --store benchmarks/out/chain/lut.db

Step 2 (this script) trains on ``--train`` networks (600) and tests on every network of
a functional class none of them is in, over ``--splits`` seeded splits (5): the mean of
each figure and its 95% t-interval. Labels: the median of each measurement (``p50``), the
10th percentile (``p10``, repeats folded by their minimum) and, where the store has
reference measurements, the median ratio to the reference (``ratio``), read from the
store exactly as ``hwnas predictor train --device local --statistic S`` reads them.

Step 3 freezes hwnas' predictor on every network of the store (``--freeze DIR``: the
results file records the predictor's seal); step 4 measures a hold-out set *after* that
(``profile ... --sample 200 --seed 1 --store benchmarks/out/chain/holdout.db``), and
``--holdout STORE --frozen DIR`` scores it once, with a bootstrap interval.

Run:  .venv/bin/python benchmarks/chain_cpu.py --store benchmarks/out/chain/train.db
      [--lut-store benchmarks/out/chain/lut.db] [--freeze DIR | --holdout STORE --frozen DIR]

Writes benchmarks/results/chain_cpu.json (``chain_cpu_ref.json`` for a store with
reference measurements; ``chain_frozen.json``, ``chain_holdout.json`` for steps 3 and 4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import (  # noqa: E402
    RESULTS,
    mean_interval,
    provenance,
    started,
    write_results,
)
from hwnas.predictors import LightGBMPredictor  # noqa: E402
from hwnas.predictors import metrics as M  # noqa: E402
from hwnas.predictors.artifacts import SEAL, load_predictor, read_meta, save_predictor  # noqa: E402
from hwnas.predictors.data import from_store  # noqa: E402
from hwnas.predictors.lut import STATISTICS  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402
from hwnas.store import Store  # noqa: E402


def most_common_fingerprint(store: Store) -> str:
    stored = store.measurements(space="chain", device="local")
    if not stored:
        raise SystemExit(f"no chain measurements in {store.url}; run step 1 (see --help)")
    return statistics.mode(s.measurement.fingerprint_hash for s in stored)


def repeats(store: Store, fingerprint: str, statistic: str) -> dict[str, list[float]]:
    """Every measurement's ``statistic`` per architecture, oldest first (``ratio``: the
    median ratio to the reference times the reference's median over all of them, as
    ``hwnas.predictors.data.from_store`` makes it)."""
    stored = store.measurements(space="chain", device="local", fingerprint=fingerprint)
    stored = sorted((s for s in stored if s.measurement.arch is not None), key=lambda s: s.id)
    if statistic == "ratio":
        stored = [s for s in stored if s.measurement.settings.get("reference")]
        typical = statistics.median(
            s.measurement.settings["reference"]["latency_ms"]["median"] for s in stored
        )
    out: dict[str, list[float]] = defaultdict(list)
    for s in stored:
        m = s.measurement
        assert m.arch is not None
        if statistic == "ratio":
            out[m.arch.string].append(m.settings["reference"]["ratio"]["median"] * typical)
        else:
            out[m.arch.string].append(float(getattr(m.latency_ms, STATISTICS[statistic][1])))
    return out


def has_reference(store: Store) -> bool:
    return any(
        s.measurement.settings.get("reference")
        for s in store.measurements(space="chain", device="local", limit=20)
    )


def scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {
        "spearman": M.spearman(truth, pred),
        "kendall": M.kendall(truth, pred),
        "mape": M.mape(truth, pred),
        "rmse": M.rmse(truth, pred),
        "within5": M.within(truth, pred, 0.05),
        "within10": M.within(truth, pred, 0.10),
    }


def lookup_table(path: Path, space: Any, fingerprint: str, statistic: str) -> Any:
    """The chain block table of the local device in the store ``path``, or None: under
    ``fingerprint`` where the table has it, else under the table's own most common one
    (the blocks measured pinned to another core, say: the fingerprint records the
    affinity), with a note saying so."""
    from hwnas.errors import HwnasError
    from hwnas.predictors.lut import LookupTable

    if not path.exists():
        return None
    try:
        with Store(path, create=False) as store:
            found = [s.measurement.fingerprint_hash for s in store.measurements(device="local")]
            if found and fingerprint not in found:
                own = statistics.mode(found)
                print(
                    f"note: the table's blocks are under fingerprint {own[:16]}, not "
                    f"{fingerprint[:16]}; using them"
                )
                fingerprint = own
            return LookupTable.from_store(store, space, "local", fingerprint, statistic=statistic)
    except HwnasError as exc:
        print(f"note: {exc.message}")
        return None


def test_retest(
    seen: dict[str, list[float]],
    space: Any,
    train_archs: list[str],
    test_archs: list[str],
    seed: int,
) -> dict[str, Any] | None:
    """The ceiling: how well one measurement of a test network predicts another, and
    beside it a predictor trained on first measurements only, scored on the same
    second measurements (which neither has seen); None if no test network was measured
    twice."""
    twice = [a for a in test_archs if len(seen[a]) >= 2]
    if not twice:
        return None
    first = np.array([seen[a][0] for a in twice])
    second = np.array([seen[a][1] for a in twice])
    once = LightGBMPredictor(space=space, seed=seed).fit(
        train_archs, [seen[a][0] for a in train_archs]
    )
    return {
        "n": len(twice),
        "first measurement of the same network": scores(second, first),
        "hwnas predictor trained on first measurements": scores(second, once.predict(twice)),
    }


def class_split(classes: list[str], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded random networks to train on, and every network of a functional class
    (canonical form) none of them is in, to test on."""
    order = np.random.default_rng(seed).permutation(len(classes))
    train = order[:n]
    seen = {classes[i] for i in train}
    test = np.array([i for i in range(len(classes)) if classes[i] not in seen], dtype=int)
    return train, test


def one_split(
    space: Any, archs: list[str], y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Each model's predictions of the ``test`` networks, trained on ``train``."""
    train_archs, test_archs = [archs[i] for i in train], [archs[i] for i in test]
    rows: dict[str, np.ndarray] = {}
    model = LightGBMPredictor(space=space, seed=seed).fit(train_archs, y[train])
    rows[f"hwnas: cost model x LightGBM ({len(train)} networks)"] = model.predict(test_archs)
    trees = LightGBMPredictor(space=space, seed=seed, cost_model=False)
    rows["LightGBM alone, same features"] = trees.fit(train_archs, y[train]).predict(test_archs)
    flops = np.array([space.flops(a) for a in archs], dtype=float)
    slope = np.polyfit(flops[train], y[train], 1)
    rows["baseline: linear in MACs"] = np.polyval(slope, flops[test])
    return rows


def run(store: Store, args: argparse.Namespace, statistic: str) -> dict[str, Any]:
    """``args.splits`` seeded splits by functional class: each model's scores per split,
    their mean and 95% t-interval; the lookup table (where there is one) and the
    test-retest ceiling on the first split."""
    space = get_space("chain")
    fingerprint = most_common_fingerprint(store)
    data = labels(store, space, statistic)
    archs, y = data.archs, data.values
    classes = [space.canonical(a) for a in archs]
    lut = lookup_table(args.lut_store, space, fingerprint, statistic)
    per_split: dict[str, list[dict[str, float]]] = defaultdict(list)
    retest = None
    for k in range(args.splits):
        seed = args.seed + k
        train, test = class_split(classes, args.train, seed)
        if len(test) == 0:
            raise SystemExit(f"only {len(archs)} networks measured; need more than {args.train}")
        rows = one_split(space, archs, y, train, test, seed)
        test_archs = [archs[i] for i in test]
        if lut is not None:  # (d): the lookup table on the same test networks
            calib = {archs[i]: float(y[i]) for i in train[:10]}
            rows["lookup table (blocks, 10 networks to calibrate)"] = lut.calibrate(
                calib
            ).predict_many(test_archs)
        for name, pred in rows.items():
            per_split[name].append(scores(y[test], pred))
        if k == 0:
            seen = repeats(store, fingerprint, statistic)
            train_archs = [archs[i] for i in train]
            retest = test_retest(seen, space, train_archs, test_archs, seed)
    results = {
        name: {key: mean_interval([r[key] for r in splits]) for key in splits[0]}
        for name, splits in per_split.items()
    }
    return {
        "statistic": statistic,
        "fingerprint": fingerprint,
        "n": len(archs),
        "classes": len(set(classes)),
        "train": args.train,
        "test": len(archs) - args.train,
        "splits": args.splits,
        "seeds": [args.seed + k for k in range(args.splits)],
        "rows": data.rows,
        "range_ms": [float(y.min()), float(y.max())],
        "results": results,
        "per_split": dict(per_split),
        "test_retest": retest,
    }


def show(doc: dict[str, Any]) -> None:
    stat = doc["statistic"]
    fold = "minimum" if stat == "p10" else "median"
    what = (
        "the median ratio to the reference model, in ms at the reference's typical speed"
        if stat == "ratio"
        else f"{stat} of each measurement"
    )
    print(
        f"\n## label: {what} ({doc['rows']} measurements of "
        f"{doc['n']} networks, repeats folded by their {fold}); {doc['train']} train, "
        f"about {doc['test']} test; {doc['range_ms'][0]:.1f}-{doc['range_ms'][1]:.1f} ms"
    )
    print("| model | Spearman | Kendall | MAPE % | RMSE ms | within ±5% | within ±10% |")
    print("|---|---|---|---|---|---|---|")

    def line(name: str, r: dict[str, float]) -> None:
        print(
            f"| {name} | {r['spearman']:.4f} | {r['kendall']:.4f} | {r['mape']:.2f} | "
            f"{r['rmse']:.3f} | {100 * r['within5']:.1f}% | {100 * r['within10']:.1f}% |"
        )

    def cell(found: dict[str, float], scale: float, digits: int) -> str:
        return (
            f"{scale * found['mean']:.{digits}f} "
            f"[{scale * found['low']:.{digits}f}, {scale * found['high']:.{digits}f}]"
        )

    print(f"(mean and 95% interval over {doc['splits']} splits by functional class)")
    for name, r in doc["results"].items():
        print(
            f"| {name} | {cell(r['spearman'], 1, 4)} | {cell(r['kendall'], 1, 4)} | "
            f"{cell(r['mape'], 1, 2)} | {cell(r['rmse'], 1, 3)} | {cell(r['within5'], 100, 1)}% "
            f"| {cell(r['within10'], 100, 1)}% |"
        )
    if doc["test_retest"]:
        retest = doc["test_retest"]
        print(f"\nagainst a second, independent measurement of {retest['n']} test networks:")
        print(
            "| predicting measurement 2 | Spearman | Kendall | MAPE % | RMSE ms | within ±5% | "
            "within ±10% |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, r in retest.items():
            if name != "n":
                line(name, r)


def evaluate(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One document per label statistic (``ratio`` only where the store has references)."""
    with Store(args.store, create=False) as store:
        chosen = ("p50", "p10", "ratio") if has_reference(store) else ("p50", "p10")
        return [run(store, args, statistic) for statistic in chosen]


def labels(store: Store, space: Any, statistic: str) -> Any:
    """The store's chain networks on "local" under its most common fingerprint, with
    ``statistic`` labels, as ``hwnas predictor train`` reads them."""
    return from_store(
        store,
        space=space,
        metric="latency_ms",
        device="local",
        fingerprint=most_common_fingerprint(store),
        statistic=statistic,
    )


def label_statistic(store: Store) -> str:
    """The label the frozen predictor learns: reference ratios where measured, else p50."""
    return "ratio" if has_reference(store) else "p50"


def freeze(args: argparse.Namespace) -> dict[str, Any]:
    """Train hwnas' predictor on every network of ``--store`` and save it to ``--freeze``
    (a fresh directory): the model the hold-out set scores, once, later."""
    space = get_space("chain")
    with Store(args.store, create=False) as store:
        statistic = label_statistic(store)
        data = labels(store, space, statistic)
    model = LightGBMPredictor(space=space, seed=args.seed).fit(
        data.archs, data.values, origin=data.origin
    )
    directory = save_predictor(model, args.freeze)
    meta = read_meta(directory)
    print(f"froze a predictor of {len(data.archs)} networks ({statistic}) in {directory}")
    return {
        "statistic": statistic,
        "n": len(data.archs),
        "seal": meta.get(SEAL),
        "directory": str(directory),
        "runtime": data.origin.runtime,
    }


def score_holdout(args: argparse.Namespace) -> dict[str, Any]:
    """Score the predictor frozen in ``--frozen`` on the networks of ``--holdout``
    (measured after it was frozen, none of them in its training set): one score with a
    bootstrap interval. Ratios are put in ms at the frozen predictor's reference speed."""
    space = get_space("chain")
    model = load_predictor(args.frozen, space=space)
    statistic = model.origin_.statistic or "p50"
    with Store(args.holdout, create=False) as store:
        data = labels(store, space, statistic)
    with Store(args.store, create=False) as store:  # what it trained on, to leave out
        trained = {
            space.canonical(s.measurement.arch.string)
            for s in store.measurements(space="chain", device="local")
            if s.measurement.arch is not None
        }
    keep = [i for i, a in enumerate(data.archs) if space.canonical(a) not in trained]
    archs = [data.archs[i] for i in keep]
    truth = data.values[keep]
    if statistic == "ratio":
        truth = truth / data.origin.runtime["reference_ms"] * model.origin_.runtime["reference_ms"]
    pred = model.predict(archs)
    found = scores(truth, pred)
    interval = M.bootstrap(truth, pred, seed=args.seed)
    print(
        f"hold-out: {len(archs)} networks, {statistic}: "
        + ", ".join(f"{k} {v:.4f}" for k, v in found.items())
    )
    print("95% bootstrap intervals: " + ", ".join(f"{k} {v}" for k, v in interval.items()))
    return {
        "statistic": statistic,
        "n": len(archs),
        "dropped_as_seen": len(data.archs) - len(archs),
        "frozen": str(args.frozen),
        "seal": read_meta(args.frozen).get(SEAL),
        "scores": found,
        "bootstrap_95": interval,
        "range_ms": [float(truth.min()), float(truth.max())],
    }


def summarise(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per label: the hwnas predictor's scores and, where measured, the test-retest ceiling."""
    out = {}
    for doc in docs:
        hwnas_row = next(k for k in doc["results"] if k.startswith("hwnas"))
        retest = doc["test_retest"] or {}
        out[doc["statistic"]] = {
            "hwnas": doc["results"][hwnas_row],
            "first_measurement_predicting_second": retest.get(
                "first measurement of the same network"
            ),
        }
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("benchmarks/out/chain_cpu.db"))
    parser.add_argument("--train", type=int, default=600, help="networks to train on per split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=int, default=5, help="seeded splits by class")
    parser.add_argument(
        "--lut-store",
        type=Path,
        default=Path("benchmarks/out/lut.db"),
        help="store with the chain block table of this device "
        "(benchmarks/lut.py writes it); (d) is skipped without it",
    )
    parser.add_argument(
        "--freeze", type=Path, default=None, help="train on all of --store, save the predictor here"
    )
    parser.add_argument(
        "--holdout", type=Path, default=None, help="score the --frozen predictor on this store"
    )
    parser.add_argument("--frozen", type=Path, default=None, help="a predictor --freeze saved")
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    if args.splits < 1 or args.train < 1:
        parser.error("--splits and --train must be 1 or more")
    if args.holdout is not None and args.frozen is None:
        parser.error("--holdout needs --frozen DIR (the predictor --freeze saved)")
    return args


def main(argv: list[str] | None = None) -> Path:
    args = parse(argv)
    start = started()
    doc: dict[str, Any] = provenance("chain_cpu")
    settings = {"store": str(args.store), "train": args.train, "lut_store": str(args.lut_store)}
    doc |= {"seed": args.seed, "settings": settings}
    if args.freeze is not None or args.holdout is not None:
        if args.freeze is not None:
            doc["frozen"] = freeze(args)
        if args.holdout is not None:
            doc["holdout"] = score_holdout(args)
        part = doc.get("holdout") or doc["frozen"]
        doc["summary"] = {k: part[k] for k in ("statistic", "n", "seal") if k in part}
        doc["summary"] |= {"scores": part.get("scores"), "bootstrap_95": part.get("bootstrap_95")}
        default = RESULTS / ("chain_holdout.json" if args.holdout else "chain_frozen.json")
        path = write_results(doc, start, args.results or default)
        print(f"results: {path}")
        return path
    print(f"# chain on this CPU ({doc['machine']}, Python {doc['python']})")
    docs = evaluate(args)
    for label in docs:
        show(label)
    doc |= {"splits": args.splits, "summary": summarise(docs), "labels": docs}
    default = RESULTS / (
        "chain_cpu_ref.json" if any(d["statistic"] == "ratio" for d in docs) else "chain_cpu.json"
    )
    path = write_results(doc, start, args.results or default)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
