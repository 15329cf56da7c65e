"""Fault tests of the shared job queue with real processes (issue 11, item 6): four
`hwnas worker` processes and two fake devices measure 200 queued jobs exactly once while
one worker is killed with SIGKILL in the middle of a job (its lease expires, another
worker runs its job again, nothing is duplicated or lost); workers cut off from
PostgreSQL (their connections terminated, the server restarted) reconnect and finish
every job exactly once.

The fake devices are table devices (`hwnas devices add NAME --table FILE --space nb201`)
whose lookups are slowed to a few milliseconds, as a fast device would take: cheap, yet
long enough for a kill to land in the middle of a job. Each worker runs as if on a host
of its own (its ``socket.gethostname()`` replaced), so that the others can tell it died
by its lease only, as across a lab's hosts (on one host a dead worker's process is
seen gone, and its lease taken over at once: tests/test_leases.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from hwnas.devices.registry import add_device
from hwnas.devices.table import table_device_spec
from hwnas.profiler.worker import queue_add
from hwnas.spaces import get_space
from hwnas.store import Job, Store
from tests.postgres import PostgresServer

#: `hwnas worker ARGS` as if on host ``argv[1]``, its table lookups taking ``argv[2]`` s.
WORKER = r"""
import socket, sys, time
host, delay = sys.argv[1], float(sys.argv[2])
socket.gethostname = lambda: host  # a host of its own: only its lease tells it died
from hwnas.devices.table import DeviceTable
look_up = DeviceTable.lookup
def slow(self, arch):
    time.sleep(delay)  # a device that takes this long per measurement
    return look_up(self, arch)
DeviceTable.lookup = slow
from hwnas.cli import main
sys.exit(main(sys.argv[3:]))
"""
DEVICES = ("tabA", "tabB")
LEASE = 3.0


class Worker:
    """One `hwnas worker --json` process; its output goes to files (a pipe nobody reads
    during the run could fill and stall it)."""

    def __init__(self, tmp: Path, store: str, host: str, *args: str, delay: float) -> None:
        self.host = host
        self.out, self.err = tmp / f"{host}.out", tmp / f"{host}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WORKER, host, str(delay), "worker", *args, "--json"]
                + ["--store", store],
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def finish(self, timeout: float = 90.0) -> dict[str, Any]:
        """Its JSON document once it exits (cleanly: exit 0)."""
        self.proc.wait(timeout=timeout)
        assert self.proc.returncode == 0, self.err.read_text()[-3000:]
        return json.loads(self.out.read_text())

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def farm(tmp: Path, store: str, per_device: int) -> list[Job]:
    """Two table devices of NAS-Bench-201 cells, ``per_device`` jobs queued for each."""
    archs = get_space("nb201").sample_distinct(0, per_device * len(DEVICES))
    table = tmp / "latency.csv"
    rows = [{"arch": a, "latency_ms": 1.0 + i / 100} for i, a in enumerate(archs)]
    pd.DataFrame(rows).to_csv(table, index=False)
    jobs = []
    for i, name in enumerate(DEVICES):
        spec, _ = table_device_spec(name, table, "nb201")
        add_device(spec)
        mine = archs[i * per_device : (i + 1) * per_device]
        jobs += queue_add(space="nb201", archs=mine, device=name, store=store).jobs
    assert len(jobs) == len(archs) and {j.status for j in jobs} == {"pending"}
    return jobs


def team(tmp: Path, store: str, n: int, *args: str, delay: float) -> list[Worker]:
    common = ["--device", ",".join(DEVICES), "--exit-when-idle", "--poll-seconds", "0.1"]
    return [Worker(tmp, store, f"host-{i}", *common, *args, delay=delay) for i in range(n)]


def done_count(store: Store) -> int:
    return sum(c.get("done", 0) for c in store.job_counts().values())


def wait_until_done(store: Store, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while done_count(store) < n:
        assert time.monotonic() < deadline, f"fewer than {n} jobs done after {timeout} s"
        time.sleep(0.02)


def wait_stopped(pid: int, timeout: float = 5.0) -> None:
    """Until process ``pid`` is in the stopped state (``T`` in /proc/PID/stat)."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, f"process {pid} did not stop in {timeout} s"
        time.sleep(0.001)


def freeze_one_mid_job(store: Store, workers: list[Worker]) -> tuple[Worker, list[Job]]:
    """A worker stopped (SIGSTOP) while it has a job claimed and not finished, and its
    jobs running then (one per device it holds); a worker caught between jobs is let go
    and another moment is tried."""
    by_pid = {w.proc.pid: w for w in workers}
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        for job in store.jobs(status="running"):
            assert job.worker is not None
            worker = by_pid[int(job.worker.split(":")[1])]
            os.kill(worker.proc.pid, signal.SIGSTOP)
            # A signal is delivered when the process next runs: on another core it may
            # still commit a claim after kill() returns. Read its jobs once it has stopped.
            wait_stopped(worker.proc.pid)
            # Frozen now: what is running under it stays so until it is killed.
            still = [j for j in store.jobs(status="running") if j.worker == job.worker]
            if still:
                return worker, still
            os.kill(worker.proc.pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("no worker was caught in the middle of a job within 30 s")


def wait_until_taken_over(store: Store, jobs: list[Job], timeout: float = 30.0) -> None:
    """Until none of ``jobs`` runs under the worker it ran under any more."""
    deadline = time.monotonic() + timeout
    while any(
        j.status == "running" and j.worker == jobs[0].worker
        for j in store.jobs(ids=[j.id for j in jobs])
    ):
        assert time.monotonic() < deadline, f"jobs {jobs} not taken over in {timeout} s"
        time.sleep(0.02)


def check_each_job_measured_once(store: Store, queued: list[Job]) -> list[Job]:
    """Every queued job done, with a measurement of its own architecture on its device;
    no measurement that is not a job's. Returns the jobs as they ended."""
    jobs = store.jobs()
    assert [j.id for j in jobs] == [j.id for j in queued]
    assert Counter(j.status for j in jobs) == {"done": len(queued)}
    assert len({j.measurement_id for j in jobs}) == len(jobs) == store.count()
    for job in jobs:
        assert job.measurement_id is not None
        measured = store.get(job.measurement_id, samples=False).measurement
        assert (measured.arch, measured.device) == (job.arch, job.device)
    return jobs


def test_four_workers_measure_200_jobs_exactly_once_while_one_is_killed_mid_job(
    tmp_path: Path, store_url: str
) -> None:
    queued = farm(tmp_path, store_url, per_device=100)
    workers = team(tmp_path, store_url, 4, "--lease-seconds", str(LEASE), delay=0.02)
    try:
        with Store(store_url) as store:  # one handle: opening writes, reading never waits
            wait_until_done(store, 50)
            victim, cut_off = freeze_one_mid_job(store, workers)
            frozen_at = time.monotonic()
            victim.kill()
            wait_until_taken_over(store, cut_off)
            waited = time.monotonic() - frozen_at
        docs = [w.finish() for w in workers if w is not victim]
    finally:
        for w in workers:
            w.kill()
    # Its last heartbeat came at most a third of a lease before it froze: the lease ran
    # out no sooner than two thirds of a lease later, and was taken over soon after.
    assert 2 * LEASE / 3 - 0.1 <= waited <= LEASE + 10, waited
    with Store(store_url) as store:
        jobs = check_each_job_measured_once(store, queued)
        assert store.leases() == []
    rerun = {j.id for j in cut_off}
    claims = {j.id: j.claims for j in jobs}
    assert claims == {j.id: 2 if j.id in rerun else 1 for j in jobs}  # its jobs re-run
    dead = cut_off[0].worker
    assert dead is not None and f":{victim.proc.pid}:" in dead
    # Who finished what (a done job keeps its worker): the victim's finished jobs are
    # kept, those it was running were finished by others, the survivors report the rest.
    finished_by = Counter(j.worker for j in jobs)
    survivors = {doc["worker"] for doc in docs}
    assert {j.worker for j in jobs if j.id in rerun} <= survivors
    measured = sum(d["measured"] for doc in docs for d in doc["devices"])
    assert measured == len(jobs) - finished_by[dead]
    assert all(doc["device_errors"] == [] and doc["errors"] == [] for doc in docs)
    notes = [n for doc in docs for n in doc["notes"]]
    for job in cut_off:
        requeued = f"from an expired lease: job(s) {job.id} requeued"
        assert any(requeued in n for n in notes), notes


def test_workers_whose_postgresql_connections_are_cut_reconnect_and_finish_once(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    from sqlalchemy import create_engine

    with postgres.database() as url:
        queued = farm(tmp_path, url, per_device=100)
        workers = team(tmp_path, url, 2, "--lease-seconds", "10", delay=0.02)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with Store(url) as store:
                wait_until_done(store, 10)
            cut = 0
            for _ in range(20):  # every connection of the workers, mid-query or idle
                with admin.connect() as conn:
                    cut += len(conn.exec_driver_sql(TERMINATE).all())
                time.sleep(0.05)
            docs = [w.finish() for w in workers]
        finally:
            admin.dispose()
            for w in workers:
                w.kill()
        with Store(url) as store:
            jobs = check_each_job_measured_once(store, queued)
    assert cut > 0
    failures = [n for doc in docs for n in doc["notes"] if "the store failed" in n]
    assert failures, "no termination landed in a worker's transaction: nothing was tested"
    assert all(doc["device_errors"] == [] for doc in docs)
    # A job is claimed again only after a failure cut its worker off in the middle of it.
    assert sum(j.claims - 1 for j in jobs) <= len(failures)
    assert sum(d["measured"] for doc in docs for d in doc["devices"]) == len(jobs)


TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def test_a_worker_waits_out_a_database_restart_and_carries_on(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    with postgres.database() as url:
        queued = farm(tmp_path, url, per_device=40)
        (worker,) = team(tmp_path, url, 1, "--lease-seconds", "8", delay=0.05)
        try:
            with Store(url) as store:
                wait_until_done(store, 10)
            with postgres.halted():  # the database host restarts, mid-job
                time.sleep(2.0)
            doc = worker.finish()
        finally:
            worker.kill()
        with Store(url) as store:
            jobs = check_each_job_measured_once(store, queued)
    down = [n for n in doc["notes"] if "cannot reach the database server" in n]
    assert down and "trying again in" in down[0], doc["notes"]
    assert doc["device_errors"] == [] and doc["errors"] == []
    # The lease outlived the outage: the jobs cut off were taken up again, not re-run.
    assert [j.claims for j in jobs] == [1] * len(jobs)
    assert sum(d["measured"] for d in doc["devices"]) == len(jobs)
