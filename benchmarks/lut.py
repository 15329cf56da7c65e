"""Lookup tables on the local CPU: build them, calibrate, and measure their additivity error.

For each space, run ``hwnas.predictors.build.run_lut_build(S, calibrate=K, holdout=N)``
(what ``hwnas lut build --space S --calibrate K --holdout N`` runs: every
distinct block measured once as a one-block ONNX model with the profiling protocol, then
K + N sampled whole networks), then compare predictors of the whole-network medians on
the N held-out networks: the textbook sum of block medians, the same with the runner
floor subtracted per block (hwnas' table), uncalibrated or calibrated on the K networks by
an offset or by scale and offset (hwnas' default), and the same with the 10th percentile
of blocks and networks instead of the median (``--statistic p10``).

``chain`` at every width and resolution has 1,254 blocks (about 15 minutes here); the
default ``chain-subset`` keeps width 1.0 and resolutions 160 and 224 (188 blocks), with
every stage depth, expansion and kernel. The store is kept (``--store``), so a second run
only recomputes the tables; ``--fresh`` starts over.

Run:  .venv/bin/python benchmarks/lut.py [--spaces nb201,chain-subset] [--calibrate 10]
      [--holdout 50] [--max-seconds 3] [--fresh] [--out benchmarks/results/lut.json]

Writes benchmarks/results/lut.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import RESULTS, provenance, started, write_results  # noqa: E402
from hwnas.spaces.chain import ChainSpace  # noqa: E402

SPACES = {
    "nb201": "nb201",
    "chain": "chain",
    "chain-subset": "benchmarks.lut:ChainSubset",
    "multibranch": "multibranch",
}


class ChainSubset(ChainSpace):
    """``chain`` at width 1.0 and resolutions 160 and 224 only (188 distinct blocks); its
    blocks and networks are ``chain``'s, stored under the same names."""

    def __init__(self) -> None:
        super().__init__(widths=(1.0,), resolutions=(160, 224))


def build(space: str, args: argparse.Namespace) -> tuple[dict[str, Any], float]:
    """``hwnas.predictors.build.run_lut_build`` (the ``lut build --json`` report) and its
    wall time in seconds."""
    from hwnas.predictors.build import run_lut_build
    from hwnas.spaces import get_space

    started = time.perf_counter()
    report = run_lut_build(
        get_space(space),
        store=args.store,
        calibrate=args.calibrate,
        holdout=args.holdout,
        seed=args.seed,
        max_seconds=args.max_seconds,
    )
    return report.to_dict(), time.perf_counter() - started


#: (statistic, floor correction, calibration) of the predictors compared; the first is the
#: textbook table, the second the brief's (sum of medians, affine), the fifth hwnas' default.
VARIANTS = [
    ("p50", False, "none"),
    ("p50", False, "affine"),
    ("p50", True, "none"),
    ("p50", True, "offset"),
    ("p50", True, "affine"),
    ("p10", True, "affine"),
]


def variants(store: Path, reference: str, *, calibrate: int, seed: int) -> list[dict[str, Any]]:
    """Additivity of the :data:`VARIANTS` on the held-out networks of the table in ``store``
    (each statistic predicts the same statistic of the whole networks)."""
    from hwnas.predictors.lut import LookupTable, network_latencies, split_networks
    from hwnas.spaces import get_space
    from hwnas.store import Store

    space = get_space(reference)
    rows = []
    with Store(store) as s:
        base = LookupTable.from_store(s, space, "local")
        networks = {
            stat: network_latencies(s, space, "local", base.fingerprint, statistic=stat)
            for stat in ("p50", "p10")
        }
    for statistic, floor, fit in VARIANTS:
        calibration, held_out = split_networks(
            space, networks[statistic], calibrate=calibrate, seed=seed
        )
        lut = LookupTable(
            space=space,
            device="local",
            fingerprint=base.fingerprint,
            blocks=base.blocks,
            floor_correction=floor,
            statistic=statistic,
        )
        lut.calibrate(calibration, mode=fit)
        report = lut.additivity_report(held_out)
        worst = max(report["rows"], key=lambda r: abs(r["predicted_ms"] / r["measured_ms"] - 1))
        rows.append(
            {
                "statistic": statistic,
                "sum": f"Σ max({statistic} − floor, 0)" if floor else f"Σ {statistic}",
                "calibration": fit,
                "scale": lut.calibration_.scale,
                "offset_ms": lut.calibration_.offset,
                "default": statistic == "p50" and floor and fit == "affine",
                **{k: v for k, v in report.items() if k != "rows"},
                "worst": worst,
            }
        )
    return rows


def machine() -> dict[str, Any]:
    import onnxruntime
    import torch

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "torch": torch.__version__,
        "os": platform.platform(),
        "date": date.today().isoformat(),
    }


def _f(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def measure(names: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Build each space's table (or reuse the store's) and score the variants on it."""
    results = []
    for name in names:
        command = (
            f"hwnas.predictors.build.run_lut_build({SPACES[name]!r}, store={str(args.store)!r}, "
            f"calibrate={args.calibrate}, holdout={args.holdout}, seed={args.seed}, "
            f"max_seconds={args.max_seconds})"
        )
        print(f">>> {command}", file=sys.stderr, flush=True)
        doc, seconds = build(SPACES[name], args)
        if doc["errors"] or doc["interrupted"]:
            print(json.dumps(doc, indent=2), file=sys.stderr)
            raise SystemExit(f"building the lookup table of {name} failed")
        results.append(
            {
                "space": name,
                "command": command,
                "seconds": seconds,
                "build": {
                    k: doc[k]
                    for k in ("fingerprint", "blocks", "networks", "floor_ms", "calibration")
                },
                "variants": variants(
                    args.store, SPACES[name], calibrate=args.calibrate, seed=args.seed
                ),
            }
        )
    return results


def results_document(
    info: dict[str, Any], results: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """The results file: provenance, settings, hwnas' default per space first, then all."""
    return {
        **provenance("lut"),
        "versions": info,
        "seed": args.seed,
        "settings": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in vars(args).items()
            if k in ("spaces", "calibrate", "holdout", "max_seconds", "store", "fresh")
        },
        "summary": {
            r["space"]: next(
                {k: v[k] for k in ("sum", "calibration", "mape", "spearman", "within_10")}
                for v in r["variants"]
                if v["default"]
            )
            for r in results
        },
        "results": results,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--spaces", default="nb201,chain-subset", help=f"comma-separated, of {', '.join(SPACES)}"
    )
    parser.add_argument("--calibrate", type=int, default=10)
    parser.add_argument("--holdout", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=3.0, help="per model")
    parser.add_argument("--store", type=Path, default=Path("benchmarks/out/lut.db"))
    parser.add_argument("--out", type=Path, default=RESULTS / "lut.json", help="results file")
    parser.add_argument("--fresh", action="store_true", help="delete the store first")
    args = parser.parse_args(argv)
    start = started()
    names = [n.strip() for n in args.spaces.split(",") if n.strip()]
    unknown = [n for n in names if n not in SPACES]
    if unknown:
        parser.error(f"unknown space(s) {unknown}; choose from {', '.join(SPACES)}")
    if args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.store}{suffix}").unlink(missing_ok=True)
    args.store.parent.mkdir(parents=True, exist_ok=True)

    info = machine()
    load_before = start["load_average"]
    results = measure(names, args)
    load_after = os.getloadavg()
    info["loadavg_1min"] = [round(load_before[0], 2), round(load_after[0], 2)]
    write_results(results_document(info, results, args), start, args.out)
    show(info, results, args)


def show(info: dict[str, Any], results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    load_before, load_after = info["loadavg_1min"]
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['os']}; Python "
        f"{info['python']}, onnxruntime {info['onnxruntime']}, torch {info['torch']}, one "
        f"thread; {info['date']}; 1-min load average {load_before:.2f} before, "
        f"{load_after:.2f} after.\n"
    )
    print(
        "| space | distinct blocks | blocks measured now | networks (calibration + held out) "
        "| runner floor µs | wall s |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        b, n = r["build"]["blocks"], r["build"]["networks"]
        print(
            f"| {r['space']} | {b['total'] - 1} | {b['measured']} | {args.calibrate} + "
            f"{args.holdout} ({n['measured']} measured now) | "
            f"{1000 * r['build']['floor_ms']:.2f} | {r['seconds']:.0f} |"
        )
    print()
    print(
        "Additivity on the held-out networks (each statistic of the whole networks against "
        "its prediction):\n"
    )
    print(
        "| space | sum of blocks | calibration | scale | offset ms | MAPE % | Spearman "
        "| Kendall | within ±10% | within ±5% | worst error |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for v in r["variants"]:
            worst = v["worst"]
            rel = 100 * (worst["predicted_ms"] / worst["measured_ms"] - 1)
            mark = "**" if v["default"] else ""
            print(
                f"| {r['space']} | {mark}{v['sum']}{mark} | {v['calibration']} | "
                f"{v['scale']:.3f} | {v['offset_ms']:+.3f} | {mark}{_f(v['mape'])}{mark} | "
                f"{_f(v['spearman'], 3)} | {_f(v['kendall'], 3)} | "
                f"{_f(100 * v['within_10'], 0)}% | {_f(100 * v['within_5'], 0)}% | "
                f"{rel:+.0f}% |"
            )
    print(
        f"\nn = {args.holdout} held-out networks per space; calibration on the first "
        f"{args.calibrate} of the seeded sample (seed {args.seed}). Bold: hwnas' default."
    )
    print(
        f"Commands: {'; '.join(r['command'] for r in results)}; "
        f"then benchmarks/lut.py recomputes the variants from the store."
    )


if __name__ == "__main__":
    main()
