"""Device leases and job claims in the store (issue 11, item 2): one worker holds a device
at a time, jobs are claimed atomically, an expired lease returns the device and its
running job to the queue, and a worker that lost its lease cannot store a result.

Every test takes ``store_url`` (tests/conftest.py): it runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from hwnas.errors import LeaseLostError, ParameterError
from hwnas.store import CURRENT_SCHEMA, NewJob, Store, worker_gone, worker_id
from tests.test_store import count_rows, downgrade, make_measurement, run_together, schema_version

A, B = "hostA:1:aaaa", "hostB:2:bbbb"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as s:
        yield s


def queue(store: Store, device: str, n: int) -> list[int]:
    jobs = [NewJob(f"m{i}.onnx", f"/m{i}.onnx", None, {"threads": 1}) for i in range(n)]
    return [j.id for j in store.add_jobs("b", device, jobs)]


def test_one_worker_holds_a_device_and_claims_its_jobs_once_each(store: Store) -> None:
    ids = queue(store, "pi", 3)
    mine = store.acquire_device("pi", A, lease_seconds=30)
    assert mine.worker == A and mine.reclaimed == () and not mine.expired
    theirs = store.acquire_device("pi", B, lease_seconds=30)
    assert theirs.worker == A and 0 < theirs.expires_at - theirs.now <= 30
    with pytest.raises(LeaseLostError, match="does not hold device 'pi'.*worker hostA"):
        store.claim_job("pi", B)
    first = store.claim_job("pi", A)
    assert first is not None and (first.id, first.status, first.worker) == (ids[0], "running", A)
    assert first.claims == 1 and first.claimed_at
    # A job running under the worker is its own: claiming it again returns it (a retry).
    again = store.claim_job("pi", A, ids=[ids[0]])
    assert again is not None and again.id == ids[0] and again.claims == 1
    second = store.claim_job("pi", A, ids=[ids[2]])
    assert second is not None and second.id == ids[2]
    assert store.job_counts() == {"pi": {"pending": 1, "running": 2}}
    assert [(j.id, j.worker) for j in store.jobs(status="running")] == [(ids[0], A), (ids[2], A)]
    # The same job queued again while it runs is that job, not a second one.
    assert queue(store, "pi", 1) == [ids[0]]
    store.finish_job(ids[0], make_measurement(0), worker=A)
    store.fail_job(ids[2], {"error": "model", "message": "broken"}, worker=A)
    assert store.release_device("pi", A) == []
    assert store.leases() == []
    with pytest.raises(ParameterError, match="lease_seconds must be > 0"):
        store.acquire_device("pi", A, lease_seconds=0)


def test_an_expired_lease_returns_the_device_and_its_job_and_refuses_the_late_result(
    store: Store,
) -> None:
    (job,) = queue(store, "pi", 1)
    store.acquire_device("pi", A, lease_seconds=0.3)
    claimed = store.claim_job("pi", A)
    assert claimed is not None and claimed.id == job
    assert store.renew_lease("pi", A, lease_seconds=0.3)  # a heartbeat keeps it
    assert store.acquire_device("pi", B, lease_seconds=30).worker == A
    time.sleep(0.4)  # A is "killed": no heartbeat
    (stale,) = store.leases()
    assert stale.worker == A and stale.expired and stale.heartbeat_age_s >= 0.3
    taken = store.acquire_device("pi", B, lease_seconds=30)
    assert taken.worker == B and taken.reclaimed == (job,)
    assert store.jobs(ids=[job])[0].status == "pending"
    # A comes back: no heartbeat, no claim, no result stored.
    assert not store.renew_lease("pi", A, lease_seconds=30)
    with pytest.raises(LeaseLostError, match="worker hostB:2:bbbb holds it now"):
        store.finish_job(job, make_measurement(0), worker=A)
    with pytest.raises(LeaseLostError):
        store.fail_job(job, {"error": "x", "message": "late"}, worker=A)
    assert store.count() == 0
    rerun = store.claim_job("pi", B)
    assert rerun is not None and rerun.id == job and rerun.claims == 2
    stored = store.finish_job(job, make_measurement(0), worker=B)
    (done,) = store.jobs(ids=[job])
    assert (done.status, done.measurement_id, store.count()) == ("done", stored, 1)


def test_a_lease_of_a_process_gone_from_this_host_is_taken_over_at_once(store: Store) -> None:
    import subprocess
    import sys

    (job,) = queue(store, "pi", 1)
    # A worker of this host whose process has exited (a killed `hwnas profile`)...
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    me_now = worker_id()
    host = me_now.split(":")[0]
    dead = f"{host}:{int(child.stdout)}:dead"
    assert worker_gone(dead) and not worker_gone(me_now)
    store.acquire_device("pi", dead, lease_seconds=300)
    store.claim_job("pi", dead)
    taken = store.acquire_device("pi", A, lease_seconds=30)  # ...does not hold it for 300 s
    assert taken.worker == A and taken.reclaimed == (job,)
    # One alive here, or one of another host or container, keeps its lease till it expires.
    alive = f"{host}:{os.getpid()}:live"
    for other in (
        alive,
        f"elsewhere:{int(child.stdout)}:x",
        f"{host.split('/')[0]}/1:{int(child.stdout)}:x",
    ):
        assert not worker_gone(other)
    store.release_device("pi", A)
    store.acquire_device("pi", alive, lease_seconds=300)
    assert store.acquire_device("pi", B, lease_seconds=30).worker == alive


def test_a_released_device_requeues_what_its_worker_was_running(store: Store) -> None:
    ids = queue(store, "pi", 2)
    store.acquire_device("pi", A, lease_seconds=30)
    store.claim_job("pi", A)
    assert store.release_device("pi", A) == [ids[0]]
    assert store.job_counts() == {"pi": {"pending": 2}}
    # Holding the device again is not holding the job: it was given back.
    assert store.acquire_device("pi", A, lease_seconds=30).worker == A
    with pytest.raises(LeaseLostError, match="no longer worker hostA:1:aaaa's .it is pending"):
        store.finish_job(ids[0], make_measurement(0), worker=A)
    assert store.count() == 0


def test_a_version_3_store_gains_claims_and_leases_and_keeps_its_jobs(store_url: str) -> None:
    with Store(store_url) as s:
        ids = queue(s, "pi", 2)
    downgrade(store_url, 3)
    with Store(store_url) as s:
        assert schema_version(store_url) == CURRENT_SCHEMA
        jobs = s.jobs()
        assert [(j.id, j.status, j.worker, j.claims) for j in jobs] == [
            (i, "pending", None, 0) for i in ids
        ]
        s.acquire_device("pi", A, lease_seconds=30)
        claimed = s.claim_job("pi", A)
        assert claimed is not None and claimed.claims == 1


CLAIMER = r"""
import sys
import time
sys.path.insert(0, sys.argv[1])
from tests.test_store import make_measurement
from hwnas.errors import LeaseLostError
from hwnas.store import Store, worker_id

location, devices = sys.argv[2], sys.argv[3].split(",")
me = worker_id()
print("ready", flush=True)
sys.stdin.readline()  # start together
with Store(location) as store:
    idle = set()
    while len(idle) < len(devices):
        for device in devices:
            if store.acquire_device(device, me, lease_seconds=30).worker != me:
                continue
            job = store.claim_job(device, me)
            if job is None:
                idle.add(device)
            else:
                # A measurement takes a moment, out of any transaction: without it, one
                # process could take SQLite's write lock back each time before the others'
                # busy handlers wake (the lock is not fair), and claim every job alone.
                time.sleep(0.005)
                m = make_measurement(job.id, device=device, model_hash=f"{job.id}:{me}", n=3)
                store.finish_job(job.id, m, worker=me)
            store.release_device(device, me)
print("done", flush=True)
"""


def test_three_processes_claim_every_job_of_two_devices_exactly_once(store_url: str) -> None:
    with Store(store_url) as s:
        ids = queue(s, "pi", 20) + queue(s, "phone", 20)
    run_together(CLAIMER, [[store_url, "pi,phone"] for _ in range(3)])
    with Store(store_url) as s:
        done = s.jobs()
        assert [j.status for j in done] == ["done"] * len(ids)
        assert all(j.claims == 1 for j in done)
        measured = [m.measurement.model_hash.split(":")[0] for m in s.measurements()]
        workers = {m.measurement.model_hash.split(":", 1)[1] for m in s.measurements()}
    assert sorted(map(int, measured)) == sorted(ids)  # each once: none lost, none twice
    assert count_rows(store_url, "measurements") == len(ids) and len(workers) >= 2
