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
