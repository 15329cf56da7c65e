"""Export throughput and the export cache (issue 4).

For each built-in space: export N sampled architectures into an empty cache (torch's
exporter named by --exporter, dynamo unless told: the README's figures are dynamo's;
opset 18, onnx.checker), then ask for the same N again (cache hits:
key computation + a SHA-256 check of the file). Prints seconds per architecture,
model sizes, and the speed-up of a hit.

Run:  .venv/bin/python benchmarks/export.py [--n 8] [--spaces nb201,chain,multibranch]
      [--exporter dynamo|torchscript] [--results benchmarks/results/export.json]

Writes benchmarks/results/export.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance, started, write_results  # noqa: E402
from hwnas.export import export_arch  # noqa: E402
from hwnas.spaces import get_space  # noqa: E402


def bench_space(name: str, n: int, seed: int, exporter: str = "dynamo") -> dict:
    space = get_space(name)
    archs = space.sample_distinct(seed, n)
    with tempfile.TemporaryDirectory() as cache:
        export_arch(space, space.sample(seed + 1, 1)[0], cache=cache, exporter=exporter)
        cold, sizes = [], []
        for arch in archs:
            t0 = time.perf_counter()
            done = export_arch(space, arch, cache=cache, exporter=exporter)
            cold.append(time.perf_counter() - t0)
            assert not done.cached
            sizes.append(done.path.stat().st_size / 1e6)
        warm = []
        for arch in archs:
            t0 = time.perf_counter()
            done = export_arch(space, arch, cache=cache, exporter=exporter)
            warm.append(time.perf_counter() - t0)
            assert done.cached
    return {
        "space": name,
        "n": n,
        "export_s_median": statistics.median(cold),
        "export_s_max": max(cold),
        "hit_ms_median": 1000 * statistics.median(warm),
        "model_mb_median": statistics.median(sizes),
        "speedup": statistics.median(cold) / statistics.median(warm),
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spaces", default="nb201,chain,multibranch")
    parser.add_argument("--exporter", default="dynamo", choices=("dynamo", "torchscript"))
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    start = started()
    import onnxruntime
    import torch

    rows = [bench_space(name, args.n, args.seed, args.exporter) for name in args.spaces.split(",")]
    doc = provenance("export")
    versions = {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__}
    print(f"export throughput and cache, {args.n} archs per space ({doc['machine']}, {versions})")
    print("| space | export s (median) | export s (max) | model MB | cache hit ms | speed-up |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['space']} | {r['export_s_median']:.2f} | {r['export_s_max']:.2f} | "
            f"{r['model_mb_median']:.2f} | {r['hit_ms_median']:.2f} | "
            f"{r['speedup']:.0f}× |"
        )
    doc |= {
        **versions,
        "seed": args.seed,
        "settings": {"n": args.n, "spaces": args.spaces, "exporter": args.exporter},
        "summary": {
            "export_s_median_range": [
                min(r["export_s_median"] for r in rows),
                max(r["export_s_median"] for r in rows),
            ],
            "hit_ms_median_range": [
                min(r["hit_ms_median"] for r in rows),
                max(r["hit_ms_median"] for r in rows),
            ],
        },
        "rows": rows,
    }
    path = write_results(doc, start, args.results)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
