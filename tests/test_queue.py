"""The job queue a new user meets: listing and cancelling pending jobs, resume skipping
what it cannot run (and taking the settings given to it), the summary after a double
Ctrl-C, and a mistyped model path.

The tests that take ``store_url`` (tests/conftest.py) run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.errors import ParameterError
from hwnas.profiler import api
from hwnas.profiler.settings import ProfileSettings
from hwnas.store import NewJob, Store, settings_key
from tests import onnx_models
from tests.helpers import hwnas_process, wait_for_count

SETTINGS = ProfileSettings(max_seconds=0.3, target_ci=0.2, warmup=1, min_runs=5)
FAST = {"max_seconds": 0.3, "target_ci": 0.2, "warmup": 1, "min_runs": 5}


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def register(text: str) -> None:
    home = Path(os.environ["HWNAS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "devices.toml").write_text(text)


def queue(store: str | Path, device: str, models: list[Path], **settings: object) -> list[int]:
    todo = {**SETTINGS.to_dict(), **settings}
    with Store(store) as s:
        jobs = s.add_jobs("old", device, [NewJob(str(m), str(m), None, todo) for m in models])
    return [j.id for j in jobs]


def test_pending_jobs_are_listed_and_cancelled_never_deleting_a_measurement(
    capsys, conv_onnx: Path, tmp_path: Path, store_url: str
) -> None:
    store = store_url
    api.profile([conv_onnx], store=store, **FAST)
    pi_ids = queue(store, "pi", [conv_onnx, tmp_path / "b.onnx"], energy="rapl")
    (local_id,) = queue(store, "local", [tmp_path / "c.onnx"])
    status = api.queue_status(store=store)
    assert status.counts == {"local": {"done": 1, "pending": 1}, "pi": {"pending": 2}}
    assert [j.id for j in status.pending] == [*pi_ids, local_id]
    code, out, err = run_cli(capsys, "queue", "status", "--jobs", "--json", "--store", store)
    assert code == 0, err
    doc = json.loads(out)
    pi = {"device": "pi", "pending": 2, "running": 0, "failed": 0, "done": 0, "cancelled": 0}
    assert {**pi, "workers": []} in doc["devices"]
    first = doc["jobs"][0]
    assert first["id"] == pi_ids[0] and first["device"] == "pi" and first["label"]
    assert "energy=rapl" in first["settings"] and 0 <= first["age_s"] < 600
    code, out, _ = run_cli(capsys, "queue", "status", "--jobs", "--store", store)
    assert code == 0 and "pending jobs" in out and "energy=rapl" in out
    # Nothing selected, a done job: refused, naming the option.
    with pytest.raises(ParameterError, match="all_pending"):
        api.cancel_jobs(store=store)
    code, _, err = run_cli(capsys, "queue", "cancel", "--store", store)
    assert code == 2 and "--all" in err
    with Store(store) as s:
        done_id = next(j.id for j in s.jobs(status="done"))
    code, _, err = run_cli(capsys, "queue", "cancel", "--job", done_id, "--store", store)
    assert code == 2 and "--job" in err and "not pending" in err
    assert api.cancel_jobs(store=store, device="pi") == pi_ids
    code, out, err = run_cli(capsys, "queue", "cancel", "--all", "--json", "--store", store)
    assert code == 0 and json.loads(out)["cancelled"] == [local_id]
    with Store(store) as s:
        assert s.count() == 1 and s.jobs(status="pending") == []
        assert s.job_counts()["pi"] == {"cancelled": 2}
    code, _, err = run_cli(capsys, "profile", "--resume", "--store", store)
    assert code == 0 and "nothing to resume" in err


def test_queue_status_does_not_create_a_store(capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "queue", "status", "--store", tmp_path / "none.db")
    assert code == 0 and "no queued jobs" in err and "none.db" in err
    assert not (tmp_path / "none.db").exists()


def test_resume_skips_the_jobs_of_a_removed_device_and_says_so(
    capsys, conv_onnx: Path, store_url: str
) -> None:
    store = store_url
    (gone,) = queue(store, "oldpi", [conv_onnx])
    (mine,) = queue(store, "local", [conv_onnx])
    result = api.resume(store=store, errors="collect")
    assert len(result) == 1 and result.devices == ["local"]
    assert [(j["id"], j["device"]) for j in result.skipped_jobs] == [(gone, "oldpi")]
    assert "no longer registered" in result.skipped_jobs[0]["reason"]
    (text,) = [n for n in result.notes if "skipped" in n]
    assert "oldpi" in text and "hwnas queue cancel --device oldpi" in text
    with Store(store) as s:
        assert [(j.id, j.status) for j in s.jobs()] == [(gone, "pending"), (mine, "done")]
    code, out, err = run_cli(capsys, "profile", "--resume", "--json", "--store", store)
    assert code == 0, err
    assert json.loads(out)["skipped_jobs"][0]["id"] == gone
    assert "no longer registered" in err and "nothing to resume" not in err


def test_resume_skips_what_the_meter_cannot_measure_and_energy_none_overrides(
    capsys, conv_onnx: Path, tmp_path: Path, store_url: str
) -> None:
    # A device whose runner sees an empty /sys: it has no RAPL meter.
    empty = tmp_path / "sys"
    empty.mkdir()
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@" --sys-root {empty}\n')
    python.chmod(0o755)
    register(f'[devices.nometer]\ntransport = "local"\npython = "{python}"\n')
    store = store_url
    (job,) = queue(store, "nometer", [conv_onnx], energy="rapl")
    result = api.resume(store=store, errors="collect")
    assert list(result) == [] and not result.device_errors
    (skipped,) = result.skipped_jobs
    assert skipped["id"] == job and "RAPL" in skipped["reason"]
    assert any("energy='none'" in n for n in result.notes)
    # What changes what a job measures cannot be changed on resume.
    code, _, err = run_cli(capsys, "profile", "--resume", "--threads", "2", "--store", store)
    assert code == 2 and "--threads" in err
    again = ["--resume", "--energy", "none", "--max-seconds", "0.2", "--json"]
    code, out, err = run_cli(capsys, "profile", *again, "--store", store)
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    assert m["energy_mj"] is None
    with Store(store) as s:
        (done,) = s.jobs()
        stored = s.get(m["id"])
    assert done.status == "done"
    assert done.settings["energy"] == "none" and done.settings["max_seconds"] == 0.2
    assert done.settings["threads"] == SETTINGS.threads  # not given: as queued
    assert stored.settings_key == settings_key(done.settings)


def test_a_mistyped_model_path_says_it_does_not_exist_and_is_not_queued(
    capsys, conv_onnx: Path, tmp_path: Path, store_url: str
) -> None:
    store = store_url
    typo = tmp_path / "modle.onnx"
    result = api.profile([typo, conv_onnx], store=store, errors="collect", **FAST)
    assert len(result) == 1 and result.not_queued == [str(typo)]
    (error,) = result.errors
    assert error["model"] == str(typo) and "does not exist" in error["message"]
    assert "no longer" not in error["message"] and "job" not in error["message"]
    with Store(store) as s:
        assert [j.label for j in s.jobs()] == [str(conv_onnx)]
    code, _, err = run_cli(capsys, "profile", typo, "--store", store)
    assert code == 1 and "does not exist" in err and "job" not in err
    with Store(store) as s:
        assert len(s.jobs()) == 1


def test_a_double_ctrl_c_summary_reads_the_store(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    models = [onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=4 + i) for i in range(8)]
    args = ["profile", *map(str, models), "--max-seconds", "3", "--target-ci", "0.00001"]
    proc = hwnas_process([*args, "--min-runs", "100000", "--json"], store)
    try:
        wait_for_count(store, 2)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # the worker is still measuring its model (3 s each)
        proc.send_signal(signal.SIGINT)
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    with Store(store) as s:
        stored = sorted(x.id for x in s.measurements())
        pending = len(s.jobs(status="pending"))
    assert len(stored) >= 2 and pending >= 1
    assert sorted(m["id"] for m in doc["measurements"]) == stored
    assert doc["left"] == pending == len(models) - len(stored)
    assert f"{len(stored)} measured and stored, {pending} left in the queue" in err
