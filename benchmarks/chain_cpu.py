"""Issue 6 benchmark (b): a latency predictor for this CPU from 1,000 `chain` networks.

Step 1 measures (resumable; about 40 minutes on 2 busy cores, the exports cached):

    HWNAS_HOME=benchmarks/out/home .venv/bin/hwnas profile --space chain --sample 1000 \\
        --seed 0 --exporter torchscript --max-seconds 1 --target-ci 0.02 --warmup 5 \\
        --store benchmarks/out/chain_cpu.db

Step 2 (this script) trains on 800 of them (seeded split) and tests on the other 200.

Run:  .venv/bin/python benchmarks/chain_cpu.py [--store benchmarks/out/chain_cpu.db]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwnas.spaces import get_space  # noqa: E402
from hwnas.store import Store  # noqa: E402
from predictors import LightGBMPredictor  # noqa: E402
from predictors import metrics as M  # noqa: E402


def load(store_path: Path) -> tuple[list[str], np.ndarray, dict]:
    with Store(store_path, create=False) as store:
        stored = store.measurements(space="chain")
    if not stored:
        raise SystemExit(f"no chain measurements in {store_path}; run step 1 (see --help)")
    fps = {s.measurement.fingerprint_hash for s in stored}
    if len(fps) > 1:
        print(f"note: {len(fps)} fingerprints; using the most common one")
    fp = statistics.mode(s.measurement.fingerprint_hash for s in stored)
    by_arch: dict[str, float] = {}
    cis = []
    for s in stored:
        m = s.measurement
        if m.fingerprint_hash == fp and m.arch is not None:
            by_arch[m.arch.string] = m.latency_ms.median
            cis.append(m.latency_ms.ci_relative)
    archs = sorted(by_arch)
    info = {"fingerprint": fp, "ci_median_pct": 100 * statistics.median(cis)}
    return archs, np.array([by_arch[a] for a in archs]), info


def lookup_table(path: Path, space, fingerprint: str):  # type: ignore[no-untyped-def]
    """The chain block table of the local device under ``fingerprint``, or None."""
    from hwnas.errors import HwnasError
    from predictors.lut import LookupTable

    if not path.exists():
        return None
    try:
        with Store(path, create=False) as store:
            return LookupTable.from_store(store, space, "local", fingerprint)
    except HwnasError as exc:
        print(f"note: {exc.message}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("benchmarks/out/chain_cpu.db"))
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lut-store", type=Path, default=Path("benchmarks/out/lut.db"),
                        help="store with the chain block table of this device "
                             "(benchmarks/lut.py writes it); (d) is skipped without it")
    args = parser.parse_args()
    archs, y, info = load(args.store)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(archs))
    train, test = order[: args.train], order[args.train:]
    if len(test) == 0:
        raise SystemExit(f"only {len(archs)} networks measured; need more than {args.train}")
    space = get_space("chain")
    started = time.perf_counter()
    model = LightGBMPredictor(space=space, seed=args.seed).fit(
        [archs[i] for i in train], y[train]
    )
    fit_s = time.perf_counter() - started
    pred = model.predict([archs[i] for i in test])
    truth = y[test]
    flops = np.array([space.flops(archs[i]) for i in test], dtype=float)
    flops_train = np.array([space.flops(archs[i]) for i in train], dtype=float)
    slope = np.polyfit(flops_train, y[train], 1)  # the "FLOPs proxy" baseline, fitted
    rows = {
        "hwnas LightGBM (800 networks)": pred,
        "baseline: linear in MACs (800 networks)": np.polyval(slope, flops),
    }
    lut = lookup_table(args.lut_store, space, info["fingerprint"])
    if lut is not None:  # (d): the lookup table on the same test networks
        calib = {archs[i]: float(y[i]) for i in train[:10]}
        rows["lookup table (blocks, 10 networks to calibrate)"] = lut.calibrate(
            calib).predict_many([archs[i] for i in test])
    else:
        print(f"note: no chain block table for fingerprint {info['fingerprint'][:12]} in "
              f"{args.lut_store}; (d) skipped (run benchmarks/lut.py --spaces chain)")
    print(f"# chain on this CPU: {len(archs)} networks measured, {len(train)} train, "
          f"{len(test)} test")
    print(f"- machine: {platform.machine()}, Python {platform.python_version()}; "
          f"fingerprint {info['fingerprint'][:12]}; median CI of the measurements "
          f"±{info['ci_median_pct']:.2f}%; latency range {y.min():.1f}-{y.max():.1f} ms")
    print("| model | Spearman | Kendall | MAPE % | RMSE ms | within ±5% | within ±10% |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for name, p in rows.items():
        r = {
            "spearman": M.spearman(truth, p), "kendall": M.kendall(truth, p),
            "mape": M.mape(truth, p), "rmse": M.rmse(truth, p),
            "within5": M.within(truth, p, 0.05), "within10": M.within(truth, p, 0.10),
        }  # fmt: skip
        results[name] = r
        print(f"| {name} | {r['spearman']:.4f} | {r['kendall']:.4f} | {r['mape']:.2f} | "
              f"{r['rmse']:.3f} | {100 * r['within5']:.1f}% | {100 * r['within10']:.1f}% |")
    print(f"fit: {fit_s:.1f} s")
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "chain_cpu.json").write_text(json.dumps({"info": info, "results": results}, indent=1))


if __name__ == "__main__":
    main()
