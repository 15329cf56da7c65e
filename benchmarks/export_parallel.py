"""Export throughput on the executor interface (issue 11 item 3): N chain architectures
exported in this process with each exporter, then with the default exporter on a local
pool of 1 and 2 processes and on a 2-worker ``distributed.LocalCluster`` (processes).

Every configuration exports its own distinct architectures (one seeded sample, split),
so no run is served from the cache another one filled; pools and the cluster are started
before the clock starts (their workers' first import of torch is not counted: a
long-lived pool pays it once). Prints architectures per second and the speed-up over one
process.

Run:  .venv/bin/python benchmarks/export_parallel.py [--n 32] [--space chain]
      [--results benchmarks/results/export_parallel.json]

Writes benchmarks/results/export_parallel.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance, started, write_results  # noqa: E402


def timed(space, archs, executor, exporter: str) -> float:  # type: ignore[no-untyped-def]
    from hwnas.export import export_archs

    start = time.perf_counter()
    export_archs(space, archs, executor=executor, exporter=exporter)
    return time.perf_counter() - start


def warm(executor, space, arch) -> None:  # type: ignore[no-untyped-def]
    """Import torch in every worker (one export each, of a throwaway architecture)."""
    from hwnas.export import export_in_worker

    futures = [executor.submit(export_in_worker, space, arch, "torchscript") for _ in range(4)]
    for f in futures:
        f.result()


def measure(n: int, space_name: str, seed: int) -> list[tuple[str, str, float]]:
    """(where, exporter, seconds) of each configuration, ``n`` architectures each."""
    from distributed import LocalCluster

    from hwnas.executors import local_pool, open_executor
    from hwnas.export import DEFAULT_EXPORTER
    from hwnas.spaces import get_space

    space = get_space(space_name)
    sample = space.sample_distinct(seed, 6 * n + 1)
    parts = [sample[i * n : (i + 1) * n] for i in range(6)]
    spare = sample[-1]
    timed(space, [spare], None, "torchscript")  # torch imported here too
    rows = []
    for exporter, part in (("dynamo", parts[0]), ("torchscript", parts[1])):
        rows.append(("1 process (here)", exporter, timed(space, part, None, exporter)))
    for jobs, part in ((1, parts[2]), (2, parts[3])):
        pool = local_pool(jobs)
        warm(pool, space, spare)
        rows.append(
            (f"local pool, {jobs}", DEFAULT_EXPORTER, timed(space, part, pool, "torchscript"))
        )
        pool.shutdown()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        address = "dask://" + cluster.scheduler_address.split("://", 1)[1]
        with open_executor(address) as remote:
            warm(remote, space, spare)
            seconds = timed(space, parts[4], remote, "torchscript")
            rows.append(("LocalCluster, 2 workers", DEFAULT_EXPORTER, seconds))
    return rows


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--space", default="chain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=None, help="results file")
    args = parser.parse_args(argv)
    start = started()
    os.environ["HWNAS_HOME"] = tempfile.mkdtemp(prefix="hwnas-bench-")
    rows = measure(args.n, args.space, args.seed)
    base = rows[1][2]
    doc: dict[str, Any] = provenance("export_parallel")
    print(f"{args.n} {args.space} architectures each, {doc['machine']}")
    print(f"{'where':26} {'exporter':12} {'s':>7} {'arch/s':>7} {'vs 1':>6}")
    table = []
    for where, exporter, seconds in rows:
        table.append(
            {
                "where": where,
                "exporter": exporter,
                "seconds": seconds,
                "arch_per_s": args.n / seconds,
                "speedup_vs_1_process_torchscript": base / seconds,
            }
        )
        print(
            f"{where:26} {exporter:12} {seconds:7.1f} {args.n / seconds:7.2f} {base / seconds:6.2f}"
        )
    doc |= {
        "seed": args.seed,
        "settings": {"n": args.n, "space": args.space},
        "summary": {r["where"] + ", " + r["exporter"]: r["arch_per_s"] for r in table},
        "rows": table,
    }
    path = write_results(doc, start, args.results)
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()
