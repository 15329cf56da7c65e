"""`hwnas worker` and `hwnas queue add` (issue 11, item 2), with real processes: two
workers on one queue measure every job exactly once; a worker killed with SIGKILL in the
middle of a job loses its lease and another worker measures the job; Ctrl-C lets the job
running finish; `queue add` then `worker --exit-when-idle`; `queue status` shows who
holds a device.

The multi-process tests take ``store_url`` (tests/conftest.py): SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hwnas.profiler import api
from hwnas.profiler.worker import queue_add
from hwnas.store import Store
from tests import onnx_models
from tests.test_queue import FAST, register, run_cli

#: A job that keeps the runner busy for about this long (s): a target it never reaches.
SLOW = {"max_seconds": 1.5, "target_ci": 1e-6, "min_runs": 100_000, "warmup": 1}
FAST_ARGS = ["--max-seconds", "0.3", "--target-ci", "0.2", "--warmup", "1", "--min-runs", "5"]


def models(tmp_path: Path, n: int) -> list[Path]:
    return [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(n)]


def worker_process(store: str, *args: str) -> subprocess.Popen[str]:
    """``hwnas worker ARGS --json`` in a session of its own (as a terminal's foreground
    job: a Ctrl-C is sent to the whole group, runners included)."""
    return subprocess.Popen(
        [sys.executable, "-m", "hwnas", "worker", *args, "--json", "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_running(store: str, timeout: float = 60.0) -> int:
    """The id of the first job a worker claims (status running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Store(store) as s:
            running = s.jobs(status="running")
        if running:
            return running[0].id
        time.sleep(0.05)
    raise AssertionError(f"no job started running within {timeout} s")


def test_two_worker_processes_measure_every_job_exactly_once(
    tmp_path: Path, store_url: str
) -> None:
    register('[devices.local2]\ntransport = "local"\n')
    files = models(tmp_path, 3)
    queued = queue_add([str(f) for f in files], device=["local", "local2"], store=store_url, **FAST)
    assert len(queued.jobs) == 6 and {j.status for j in queued.jobs} == {"pending"}
    workers = [
        worker_process(store_url, "--device", "local,local2", "--exit-when-idle") for _ in range(2)
    ]
    docs = []
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        docs.append(json.loads(out))
    with Store(store_url) as s:
        jobs = s.jobs()
        assert [(j.status, j.claims) for j in jobs] == [("done", 1)] * 6
        assert len({j.measurement_id for j in jobs}) == 6 and s.count() == 6
    measured = [d["measured"] for doc in docs for d in doc["devices"]]
    assert sum(measured) == 6  # between them, each job once
    assert docs[0]["worker"] != docs[1]["worker"]


def test_a_worker_killed_mid_job_loses_its_lease_and_another_measures_the_job(
    capsys, tmp_path: Path, store_url: str
) -> None:
    slow, quick = models(tmp_path, 2)
    (first,) = queue_add([str(slow)], store=store_url, **SLOW).jobs
    (second,) = queue_add([str(quick)], store=store_url, **FAST).jobs
    doomed = worker_process(store_url, "--device", "local", "--lease-seconds", "1.5")
    try:
        assert wait_for_running(store_url) == first.id
        # queue status shows the job running under that worker, which holds the device.
        code, out, err = run_cli(
            capsys, "queue", "status", "--jobs", "--json", "--store", store_url
        )
        assert code == 0, err
        (local,) = json.loads(out)["devices"]
        (lease,) = local["workers"]
        assert (local["running"], local["pending"]) == (1, 1)
        assert f":{doomed.pid}:" in lease["worker"] and not lease["expired"]
        assert lease["lease_age_s"] < 60
        running = next(j for j in json.loads(out)["jobs"] if j["status"] == "running")
        assert running["id"] == first.id and running["worker"] == lease["worker"]
        code, out, _ = run_cli(capsys, "queue", "status", "--store", store_url)
        assert code == 0 and lease["worker"] in out
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its runner, mid-job
        doomed.communicate(timeout=60)
    with Store(store_url) as s:
        assert s.jobs(ids=[first.id])[0].status == "running"  # until its lease expires
    rescuer = worker_process(store_url, "--device", "local", "--exit-when-idle")
    out, err = rescuer.communicate(timeout=120)
    assert rescuer.returncode == 0, err
    doc = json.loads(out)
    assert doc["devices"] == [{"device": "local", "measured": 2, "failed": 0}]
    assert any(f"job(s) {first.id} requeued" in n for n in doc["notes"]), doc["notes"]
    with Store(store_url) as s:
        done = {j.id: j for j in s.jobs()}
        assert [done[first.id].claims, done[second.id].claims] == [2, 1]
        assert {j.status for j in done.values()} == {"done"} and s.count() == 2
        assert s.leases() == []


def test_ctrl_c_finishes_the_running_job_then_the_worker_exits(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    slow, *rest = models(tmp_path, 3)
    (first,) = queue_add([str(slow)], store=store, **SLOW).jobs
    later = queue_add([str(m) for m in rest], store=store, **FAST).jobs
    proc = worker_process(store, "--device", "local")
    try:
        assert wait_for_running(store) == first.id
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole group
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "the jobs running now finish first" in err
    assert json.loads(out)["devices"] == [{"device": "local", "measured": 1, "failed": 0}]
    with Store(store) as s:
        (done,) = s.jobs(status="done")
        assert done.id == first.id and s.get(done.measurement_id).measurement.latency_ms.n > 5
        assert [j.id for j in s.jobs(status="pending")] == [j.id for j in later]
        assert s.leases() == []


def test_queue_add_then_worker_exit_when_idle_and_profile_claims_its_jobs(
    capsys, tmp_path: Path
) -> None:
    store = str(tmp_path / "s.db")
    files = models(tmp_path, 2)
    add = ["queue", "add", *map(str, files), *FAST_ARGS, "--store", store]
    code, out, err = run_cli(capsys, *add, "--json")
    assert code == 0, err
    ids = [j["id"] for j in json.loads(out)["jobs"]]
    assert len(ids) == 2 and json.loads(out)["jobs"][0]["device"] == "local"
    code, _, err = run_cli(capsys, *add)  # the same jobs again: still pending, not doubled
    assert code == 0 and "queued 2 for local" in err
    with Store(store) as s:
        assert [j.id for j in s.jobs(status="pending")] == ids
    code, _, err = run_cli(capsys, "queue", "add", "--space", "nb201", "--store", store)
    assert code == 2 and "--sample" in err
    code, _, err = run_cli(capsys, "queue", "add", str(tmp_path / "nope.onnx"), "--store", store)
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "worker", "--device", "nosuch", "--store", store)
    assert code == 2 and "nosuch" in err
    code, _, err = run_cli(
        capsys, "worker", "-d", "local", "--lease-seconds", "0", "--store", store
    )
    assert code == 2 and "--lease-seconds must be" in err
    code, out, err = run_cli(
        capsys, "worker", "-d", "local", "--exit-when-idle", "--json", "--store", store
    )
    assert code == 0, err
    assert json.loads(out)["devices"] == [{"device": "local", "measured": 2, "failed": 0}]
    assert "2 measured, 0 failed" in err
    # profile is a queue plus an in-process worker: it claims its jobs as any worker does.
    result = api.profile(files[:1], store=store, **FAST)
    assert len(result) == 1
    with Store(store) as s:
        jobs = s.jobs()
        assert [(j.status, j.claims) for j in jobs] == [("done", 1)] * 3 and s.count() == 3
    code, out, _ = run_cli(capsys, "queue", "status", "--json", "--store", store)
    assert json.loads(out)["devices"][0] == {
        "device": "local",
        "pending": 0,
        "running": 0,
        "failed": 0,
        "done": 3,
        "cancelled": 0,
        "workers": [],
    }


@pytest.mark.parametrize("bad", [{"models": None}, {"models": ["a.onnx"], "space": "nb201"}])
def test_queue_add_needs_models_or_a_space(bad: dict[str, object]) -> None:
    from hwnas.errors import ParameterError

    with pytest.raises(ParameterError, match="models or space must be given"):
        queue_add(**bad)  # type: ignore[arg-type]


class Thief:
    """Worker B of another host (only its lease tells whether it lives), which takes a
    worker's device over as if that worker had stalled past its lease: the lease is
    expired in the database, then B acquires the device."""

    worker = "elsewhere:1:thief"

    def __init__(self, store: str, device: str) -> None:
        self.store, self.device = store, device
        self.reclaimed: tuple[int, ...] | None = None

    def take_over(self) -> None:
        from sqlalchemy import text

        from tests.test_store import database

        with Store(self.store) as s:
            for _ in range(20):  # the worker's heartbeat may renew it in between: again
                with database(self.store) as db:
                    db.execute(text("UPDATE device_leases SET expires_at = expires_at - 3600"))
                lease = s.acquire_device(self.device, self.worker, lease_seconds=60)
                if lease.worker == self.worker:
                    self.reclaimed = lease.reclaimed
                    return
        raise AssertionError("the thief could not take the device over")

    def release(self) -> None:
        with Store(self.store) as s:
            s.release_device(self.device, self.worker)


def table_jobs(tmp_path: Path, store: str, n: int) -> list[int]:
    """Device ``tab``, a table of NAS-Bench-201 cells, with ``n`` jobs queued for it."""
    from hwnas.devices.registry import add_device
    from hwnas.devices.table import table_device_spec
    from hwnas.spaces import get_space

    archs = get_space("nb201").sample_distinct(0, n)
    table = tmp_path / "latency.csv"
    rows = "\n".join(f"{a},{1.0 + i / 100}" for i, a in enumerate(archs))
    table.write_text(f"arch,latency_ms\n{rows}\n")
    add_device(table_device_spec("tab", table, "nb201")[0])
    return [j.id for j in queue_add(space="nb201", archs=archs, device="tab", store=store).jobs]


def message(event: object) -> str:
    return str(getattr(event, "message", None) or "")


WAITING_AGAIN = "Waiting for tab again: this worker takes its lease back once it is free"


@pytest.mark.parametrize("when", ["mid-job", "between jobs"])
def test_a_worker_that_loses_its_lease_stops_waits_and_takes_the_device_back(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Worker A's device is taken over by worker B (A stalled past its lease) while A
    looks up its first job, or just after it stored it: A's heartbeat says at once that
    the lease is lost; a job running then is not stored (it went back to the queue); A
    starts no job more under the lost lease nor while B holds the device, and takes it
    back once B releases it, measuring every job once. Not a device error, nor a store
    outage: with ``reconnect_timeout=0`` a lost lease used to end the worker."""
    from hwnas.devices.table import DeviceTable
    from hwnas.profiler.worker import WorkerResult, run_worker

    queued, thief = table_jobs(tmp_path, store_url, 4), Thief(store_url, "tab")
    events: list[object] = []
    lost = threading.Event()
    look_up, lookups = DeviceTable.lookup, []

    def steal() -> None:
        if thief.reclaimed is None:  # the first time only
            thief.take_over()
            assert lost.wait(20), "the heartbeat did not say the lease was lost"

    def progress(event: object) -> None:
        events.append(event)
        lost.set() if "lost its lease on tab" in message(event) else None
        if when == "between jobs" and getattr(event, "kind", "") == "done":
            steal()

    def slow(self: DeviceTable, arch: str) -> object:
        lookups.append(arch)
        steal() if when == "mid-job" else None
        return look_up(self, arch)

    monkeypatch.setattr(DeviceTable, "lookup", slow)
    done: list[WorkerResult] = []
    options = {"lease_seconds": 1.5, "poll_seconds": 0.05, "reconnect_timeout": 0}
    serve = lambda: done.append(  # noqa: E731
        run_worker("tab", store=store_url, exit_when_idle=True, progress=progress, **options)
    )
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not any(WAITING_AGAIN in message(e) for e in events):
        assert time.monotonic() < deadline and thread.is_alive(), events
        time.sleep(0.02)
    time.sleep(0.5)  # A waits while B holds the device...
    events.append("released")
    thief.release()  # ...and takes it back once it is free
    thread.join(60)
    (result,) = done
    assert (result.device_errors, result.failed, result.interrupted) == ({}, {}, False)
    assert result.measured == {"tab": 4}
    said = [n for n in result.notes if "lost its lease on tab: another worker took" in n]
    assert len(said) == 1 and "the job measuring now, if any, is not stored" in said[0]
    back = [n for n in result.notes if n.startswith("tab: ") and WAITING_AGAIN in n]
    assert len(back) == 1 and result.notes.index(said[0]) < result.notes.index(back[0])
    assert any(f"held by worker {thief.worker}" in n for n in result.notes)
    assert not any("the store failed" in n for n in result.notes)
    # No job started from the loss until the device was free again.
    at = next(i for i, e in enumerate(events) if "lost its lease" in message(e))
    assert not [
        e for e in events[at : events.index("released")] if getattr(e, "kind", "") == "start"
    ]
    with Store(store_url) as s:
        jobs = s.jobs()
        assert [j.id for j in jobs] == queued and s.leases() == []
        assert [j.status for j in jobs] == ["done"] * 4 and s.count() == 4
        assert len({j.measurement_id for j in jobs}) == 4
        claims = [j.claims for j in jobs]
    if when == "mid-job":  # its late result refused, the job measured again
        assert thief.reclaimed == (queued[0],) and claims == [2, 1, 1, 1]
        assert "nothing was stored" in back[0] and len(lookups) == 5
    else:  # stopped before the next job
        assert thief.reclaimed == () and claims == [1, 1, 1, 1] and len(lookups) == 4
        assert "started no job more there: the 3 job(s) it had not started" in back[0]
