"""Team scale (issue 11 item 7): the shared job queue on PostgreSQL, the store's cost per
measurement on PostgreSQL against SQLite, and export throughput on the executors.

- **Jobs per second with 1, 4 and 8 worker processes** (``hwnas worker --device ...
  --exit-when-idle``) on one PostgreSQL database: 8 table devices (NB201 cells looked
  up in a table, no model runs), ``--per-device`` jobs queued for each. Two layouts:
  each worker serves its own share of the 8 devices (8, 2 or 1: a worker per device
  host), or every worker serves all 8 (the others stand by for each device, waiting on
  its lease). Each worker process imports what it needs first, then all start at
  once (``ready``/``go`` on stdin): the clock runs from the start to the last exit, and
  covers each job's claim, lookup and stored result, and the workers' polling and
  lease traffic; afterwards every job is checked done, claimed once.
- **Store cost per measurement**: in one process, ``claim_job`` + ``finish_job`` (a
  measurement of 200 samples) for ``--store-jobs`` jobs, on PostgreSQL and on a SQLite
  file; the median milliseconds of each, and PostgreSQL's over SQLite's.
- **Export throughput**: ``--n`` distinct chain architectures per configuration with
  ``hwnas.export.export_archs`` and the default exporter: in this process, on a local
  pool of 1 and of 2 processes, and on a 2-worker ``distributed.LocalCluster``; pools
  are warmed first (torch imported: four throwaway exports each), as a long-lived pool
  or cluster is.
- **Batch overhead** (issue 11 item 4) is not measured here: that path is being
  reworked, and ``benchmarks/batch_overhead.py`` measures it; the ``batch_overhead`` key
  of team.json points at it (``BATCH_OVERHEAD``).

PostgreSQL is a throwaway cluster (tests/postgres.py's recipe: Debian's ``initdb``, a
unix socket) started with the server's default durability (fsync and synchronous
commits on, as a lab's server runs), so it is not the test suite's fsync-less cluster.
SQLite runs as hwnas opens it (WAL, ``synchronous=NORMAL``). A real lab's database is
across a network: add its round trip (a few per job) to these figures.

Run:  .venv/bin/python benchmarks/team.py [--per-device 150] [--store-jobs 300] [--n 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hwnas  # noqa: E402
from benchmarks._results import provenance  # noqa: E402

DEVICES = [f"t{i}" for i in range(8)]
WORKERS = (1, 4, 8)
#: How often a worker looks again at a device another holds (s): `hwnas worker`'s default.
POLL = "1.0"
#: Item 4's batch overhead: measured by its own benchmark, not here (the batch path is
#: being reworked); team.json's ``batch_overhead`` says where its figures are.
BATCH_OVERHEAD = {
    "measured_here": False,
    "benchmark": "benchmarks/batch_overhead.py",
    "results": "benchmarks/results/batch_overhead.json",
}

#: `hwnas worker ARGV` with its imports done before the clock starts.
LAUNCHER = r"""
import sys
import hwnas.devices.table, hwnas.profiler.worker  # noqa: F401
from hwnas.cli import main
from hwnas.spaces import get_space
get_space("nb201")
print("ready", flush=True)
sys.stdin.readline()
sys.exit(main(sys.argv[1:]))
"""


def register_tables(folder: Path, n: int) -> list[str]:
    """The 8 table devices, one table of ``n`` NB201 cells; the cells."""
    import pandas as pd

    from hwnas.devices.registry import add_device
    from hwnas.devices.table import table_device_spec
    from hwnas.spaces import get_space

    archs = get_space("nb201").sample_distinct(0, n)
    table = folder / "latency.csv"
    rows = [{"arch": a, "latency_ms": 1.0 + i / 1000} for i, a in enumerate(archs)]
    pd.DataFrame(rows).to_csv(table, index=False)
    for name in DEVICES:
        add_device(table_device_spec(name, table, "nb201")[0])
    return archs


def run_workers(
    url: str, workers: int, archs: list[str], per_device: int, *, shared: bool
) -> dict[str, Any]:
    """Queue ``per_device`` jobs per device, run ``workers`` processes, time them: each
    serving its own share of the devices (a worker per device host), or every one all
    of them (``shared``: the others standing by)."""
    from hwnas.profiler.worker import queue_add
    from hwnas.store import Store

    for i, name in enumerate(DEVICES):
        part = archs[i * per_device : (i + 1) * per_device]
        queue_add(space="nb201", archs=part, device=name, store=url)
    size = len(DEVICES) // workers
    serves = [DEVICES if shared else DEVICES[i * size : (i + 1) * size] for i in range(workers)]
    tail = ["--exit-when-idle", "--poll-seconds", POLL, "--json", "--store", url]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "worker", "--device", ",".join(mine), *tail],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for mine in serves
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
    start = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
    for p in procs:
        p.communicate(timeout=600)
        assert p.returncode == 0, f"a worker failed (exit {p.returncode})"
    seconds = time.perf_counter() - start
    with Store(url) as store:
        jobs = store.jobs()
        assert all(j.status == "done" and j.claims == 1 for j in jobs), "a job not done once"
        measured = store.count()
    assert measured == len(jobs) == per_device * len(DEVICES)
    return {
        "workers": workers,
        "devices_per_worker": len(serves[0]),
        "jobs": len(jobs),
        "seconds": round(seconds, 2),
        "jobs_per_s": round(len(jobs) / seconds, 1),
    }


def store_costs(url: str, n: int) -> dict[str, float]:
    """Median ms of ``claim_job`` and of ``finish_job`` (200 samples), over ``n`` jobs."""
    from hwnas.store import NewJob, Store, worker_id
    from tests.test_store import make_measurement

    me = worker_id()
    claim, finish = [], []
    with Store(url) as store:
        todo = [NewJob(f"m{i}.onnx", f"/m{i}.onnx", None, {"threads": 1}) for i in range(n)]
        store.add_jobs("bench", "dev", todo)
        store.acquire_device("dev", me, lease_seconds=600)
        for i in range(n):
            m = make_measurement(i, device="dev", model_hash=f"model{i}", n=200)
            t0 = time.perf_counter()
            job = store.claim_job("dev", me)
            t1 = time.perf_counter()
            assert job is not None
            store.finish_job(job.id, m, worker=me)
            finish.append(time.perf_counter() - t1)
            claim.append(t1 - t0)
        store.release_device("dev", me)
    ms = {"claim_ms": statistics.median(claim) * 1e3, "finish_ms": statistics.median(finish) * 1e3}
    return {
        **{k: round(v, 2) for k, v in ms.items()},
        "per_measurement_ms": round(sum(ms.values()), 2),
    }


def queue_figures(server: Any, folder: Path, per_device: int, store_jobs: int) -> dict[str, Any]:
    """Jobs per second per worker count, and the store's cost on both backends."""
    archs = register_tables(folder, per_device * len(DEVICES))
    rows: dict[str, list[dict[str, Any]]] = {"own_devices": [], "all_devices": []}
    for layout, shared in (("own_devices", False), ("all_devices", True)):
        for workers in WORKERS:
            with server.database() as url:
                rows[layout].append(run_workers(url, workers, archs, per_device, shared=shared))
            print(json.dumps({layout: rows[layout][-1]}), flush=True)
    with server.database() as url:
        postgres = store_costs(url, store_jobs)
    sqlite = store_costs(str(folder / "store.db"), store_jobs)
    ratio = postgres["per_measurement_ms"] / sqlite["per_measurement_ms"]
    costs = {"jobs": store_jobs, "postgresql": postgres, "sqlite": sqlite}
    costs["postgresql_over_sqlite"] = round(ratio, 2)
    print(json.dumps(costs), flush=True)
    return {"jobs_per_second": rows, "store_per_measurement": costs}


def warm(executor: Any, space: Any, spares: list[str]) -> None:
    """Import torch and the space in every worker: distinct throwaway exports, more than
    the workers (one architecture exported again is a cache hit that imports nothing)."""
    from hwnas.export import DEFAULT_EXPORTER, export_in_worker

    futures = [executor.submit(export_in_worker, space, a, DEFAULT_EXPORTER) for a in spares]
    for f in futures:
        f.result()


def export_figures(n: int, seed: int) -> list[dict[str, Any]]:
    """Architectures per second, ``n`` distinct ones per configuration."""
    from distributed import LocalCluster

    from benchmarks.export_parallel import timed
    from hwnas.executors import local_pool, open_executor
    from hwnas.export import DEFAULT_EXPORTER
    from hwnas.spaces import get_space

    space = get_space("chain")
    sample = space.sample_distinct(seed, 4 * n + 13)
    parts = [sample[i * n : (i + 1) * n] for i in range(4)]
    spares = [sample[4 * n + i : 4 * n + i + 4] for i in range(0, 12, 4)]
    timed(space, sample[-1:], None, DEFAULT_EXPORTER)  # torch imported here first
    rows = [("1 process (here)", timed(space, parts[0], None, DEFAULT_EXPORTER))]
    for jobs, part, spare in ((1, parts[1], spares[0]), (2, parts[2], spares[1])):
        pool = local_pool(jobs)
        warm(pool, space, spare)
        rows.append((f"local pool, {jobs}", timed(space, part, pool, DEFAULT_EXPORTER)))
        pool.shutdown()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        address = "dask://" + cluster.scheduler_address.split("://", 1)[1]
        with open_executor(address) as remote:
            warm(remote, space, spares[2])
            seconds = timed(space, parts[3], remote, DEFAULT_EXPORTER)
            rows.append(("LocalCluster, 2 workers", seconds))
    base = rows[0][1]
    return [
        {
            "where": where,
            "exporter": DEFAULT_EXPORTER,
            "archs": n,
            "seconds": round(s, 2),
            "archs_per_s": round(n / s, 2),
            "speedup": round(base / s, 2),
        }
        for where, s in rows
    ]


def show(doc: dict[str, Any]) -> None:
    print(f"\n{os.cpu_count()} cores, {platform.platform()}")
    print(f"{'worker processes':>16} {'devices each':>12} {'jobs':>6} {'s':>7} {'jobs/s':>8}")
    for layout in ("own_devices", "all_devices"):
        for r in doc["jobs_per_second"][layout]:
            each = r["devices_per_worker"]
            print(
                f"{r['workers']:>16} {each:>12} {r['jobs']:>6} {r['seconds']:>7.2f} "
                f"{r['jobs_per_s']:>8.1f}"
            )
    costs = doc["store_per_measurement"]
    print(f"\nstore, ms per measurement (median of {costs['jobs']}): claim + finish")
    for backend in ("postgresql", "sqlite"):
        c = costs[backend]
        total = c["per_measurement_ms"]
        print(f"{backend:>12} {c['claim_ms']:6.2f} + {c['finish_ms']:6.2f} = {total:6.2f}")
    print(f"PostgreSQL / SQLite: {costs['postgresql_over_sqlite']:.2f}x")
    print(f"\n{'export, chain':26} {'s':>7} {'arch/s':>7} {'vs 1':>6}")
    for r in doc["export"]:
        print(f"{r['where']:26} {r['seconds']:7.2f} {r['archs_per_s']:7.2f} {r['speedup']:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-device", type=int, default=150)
    parser.add_argument("--store-jobs", type=int, default=300)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="hwnas-team-"))
    os.environ["HWNAS_HOME"] = str(folder)  # devices and export cache, workers' too
    import tests.postgres as pg

    pg.SERVER_OPTIONS = "-c listen_addresses="  # the server's default durability
    server = pg.PostgresServer.start()
    try:
        queue = queue_figures(server, folder, args.per_device, args.store_jobs)
    finally:
        server.stop()
    doc = {
        **provenance("team"),
        "hwnas": hwnas.__version__,
        "settings": {"per_device": args.per_device, "store_jobs": args.store_jobs, "n": args.n},
        **queue,
        "export": export_figures(args.n, args.seed),
        "batch_overhead": BATCH_OVERHEAD,
    }
    doc["seconds"] = round(time.perf_counter() - started, 1)
    # Other work on the host slows every figure: the load averages (1, 5, 15 min) say how
    # busy it was when the run started and ended.
    doc["load_average"] = {"start": load_before, "end": os.getloadavg()}
    show(doc)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "team.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
