"""Does a reference model make measurements repeatable? Test-retest of chain networks.

N `chain` networks (the first N of the sample of ``benchmarks/chain_cpu.py``) are each
measured twice, pass by pass, with a reference model timed beside them (another
`chain` network, not in the sample), in a store of their own:

    hwnas profile --space chain --sample N --seed 0 --repeats 2 --reference REF.onnx
                  --exporter torchscript --max-seconds 1

Then, per network, the first measurement is compared with the second, once for the
median latency (what a plain profile reports) and once for the reference-normalised
latency (``--statistic ratio``: median per-pair ratio times the reference's typical
median). The more repeatable label is the one a predictor can learn to ±10%.

Run:  taskset -c 0 .venv/bin/python benchmarks/reference.py [--networks 100]
      [--store benchmarks/out/chain_ref.db] [--results benchmarks/results/reference.json]

Writes benchmarks/results/reference.json. ``--write-reference ref.onnx`` only writes the
reference model (the ``ref.onnx`` of the README's commands) and prints its SHA-256.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance, started, write_results  # noqa: E402
from hwnas.predictors import metrics as M  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402
from hwnas.store import Store  # noqa: E402

#: SHA-256 of :func:`reference_model`'s file: the ``ref.onnx`` every committed
#: reference-ratio result was measured against (``chain_frozen.json`` records it).
REFERENCE_SHA256 = "de52809206d0b145918c928054aa13b81748acbfb9a49dc3d29cf716a1593f16"


def reference_model() -> Path:
    """The reference: a `chain` network outside the sample (seed 99)."""
    space = get_space("chain")
    return Path(space.to_onnx(space.sample_distinct(99, 1)[0], exporter="torchscript"))


def write_reference(path: Path) -> str:
    """Copy the reference model to ``path`` (the ``ref.onnx`` the README's commands
    pass to ``--reference``); its SHA-256, with a warning on stderr where it is not the
    model the committed results were measured against."""
    import hashlib
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(reference_model(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != REFERENCE_SHA256:
        print(
            f"warning: {path} (sha256 {digest[:12]}) is not the reference the committed "
            f"results were measured against ({REFERENCE_SHA256[:12]}): this torch or hwnas "
            f"exports it differently, so ratios to it are not comparable with theirs",
            file=sys.stderr,
        )
    return digest


def measure(store: Path, networks: int, reference: Path) -> None:
    import hwnas

    result = hwnas.profile_space(
        "chain",
        sample=networks,
        seed=0,
        repeats=2,
        reference=reference,
        exporter="torchscript",
        max_seconds=1,
        store=store,
        errors="collect",
    )
    if result.errors or result.device_errors:
        raise SystemExit(f"profiling failed: {(result.errors or result.device_errors)!r}")


def pairs(store_path: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Per network measured twice: (medians, reference-normalised ratios), oldest first."""
    with Store(store_path, create=False) as store:
        stored = [
            s
            for s in store.measurements(space="chain", device="local")
            if s.measurement.settings.get("reference") and s.measurement.arch
        ]
    typical = statistics.median(
        s.measurement.settings["reference"]["latency_ms"]["median"] for s in stored
    )
    found: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for s in sorted(stored, key=lambda s: s.id):
        m = s.measurement
        assert m.arch is not None
        medians, ratios = found[m.arch.string]
        medians.append(m.latency_ms.median)
        ratios.append(m.settings["reference"]["ratio"]["median"] * typical)
    return {a: v for a, v in found.items() if len(v[0]) >= 2}


LABELS = {
    "median": "median latency (plain profile)",
    "ratio": "reference-normalised (--statistic ratio)",
}


def agreement(found: dict[str, tuple[list[float], list[float]]]) -> dict[str, dict[str, float]]:
    """Per label: how the second measurement of each network agrees with the first."""
    out = {}
    for index, label in enumerate(LABELS):
        first = np.array([v[index][0] for v in found.values()])
        second = np.array([v[index][1] for v in found.values()])
        diff = np.abs(second / first - 1.0)
        out[label] = {
            "spearman": float(M.spearman(first, second)),
            "median_abs_difference_pct": float(100 * np.median(diff)),
            "within_5_pct": float(100 * M.within(first, second, 0.05)),
            "within_10_pct": float(100 * M.within(first, second, 0.10)),
        }
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=100)
    parser.add_argument("--store", type=Path, default=Path("benchmarks/out/chain_ref.db"))
    parser.add_argument("--skip-measuring", action="store_true")
    parser.add_argument("--results", type=Path, default=None, help="results file")
    parser.add_argument(
        "--write-reference",
        type=Path,
        metavar="PATH",
        help="only write the reference model to PATH (the README's ref.onnx) and exit",
    )
    args = parser.parse_args(argv)
    if args.write_reference:
        try:
            digest = write_reference(args.write_reference)
        except OSError as exc:
            parser.error(f"--write-reference: cannot write {args.write_reference}: {exc}")
        print(f"{args.write_reference}  sha256 {digest}")
        return args.write_reference
    start = started()
    if not args.skip_measuring:
        args.store.parent.mkdir(parents=True, exist_ok=True)
        measure(args.store, args.networks, reference_model())
    found = pairs(args.store)
    summary = agreement(found)
    doc: dict[str, Any] = provenance("reference")
    affinity = sorted(os.sched_getaffinity(0))
    print(
        f"# test-retest of {len(found)} chain networks measured twice "
        f"({doc['machine']}, Python {doc['python']}, affinity {affinity})"
    )
    print("| label | Spearman | median abs. difference % | within ±5% | within ±10% |")
    print("|---|---|---|---|---|")
    for label, r in summary.items():
        print(
            f"| {LABELS[label]} | {r['spearman']:.4f} | {r['median_abs_difference_pct']:.2f} "
            f"| {r['within_5_pct']:.1f}% | {r['within_10_pct']:.1f}% |"
        )
    doc |= {
        "seed": 0,
        "settings": {
            "networks": args.networks,
            "repeats": 2,
            "max_seconds": 1,
            "exporter": "torchscript",
            "reference": "chain, sample_distinct(99, 1)[0]",
            "measured_now": not args.skip_measuring,
        },
        "affinity": affinity,
        "networks_measured_twice": len(found),
        "summary": summary,
        "networks": [
            {"arch": a, "medians_ms": v[0][:2], "ratio_ms": v[1][:2]} for a, v in found.items()
        ],
    }
    path = write_results(doc, start, args.results)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
