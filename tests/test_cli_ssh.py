"""`hwnas` over SSH against a real OpenSSH server on 127.0.0.1 (see tests/sshd.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.store import Store
from tests import onnx_models
from tests.helpers import wait_for_count
from tests.sshd import free_port

FAST = ["--max-seconds", "0.3", "--target-ci", "0.05", "--warmup", "2"]


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add_device(capsys, sshd, tmp_path: Path, name: str = "box", *, known_hosts=None) -> Path:
    known = known_hosts or sshd.known_hosts(tmp_path)
    code, _, err = run_cli(
        capsys,
        "devices",
        "add",
        name,
        "--ssh",
        f"{sshd.user}@127.0.0.1:{sshd.port}",
        "--key",
        sshd.user_key,
        "--known-hosts",
        known,
        "--python",
        sys.executable,
        "--workdir",
        tmp_path / f"{name}-work",
    )
    assert code == 0, err
    return known


def test_profile_over_ssh_gives_the_same_record_as_local(capsys, sshd, conv_onnx, tmp_path):
    add_device(capsys, sshd, tmp_path)
    code, out, err = run_cli(capsys, "devices", "check", "box", "--json")
    assert code == 0, err
    assert json.loads(out)["report"]["onnxruntime"]
    store = tmp_path / "s.db"
    records = {}
    for device in ("local", "box"):
        code, out, err = run_cli(
            capsys, "profile", conv_onnx, "--device", device, *FAST, "--json", "--store", store
        )
        assert code == 0, err
        (records[device],) = json.loads(out)["measurements"]
    assert set(records["box"]) == set(records["local"])
    assert set(records["box"]["latency_ms"]) == set(records["local"]["latency_ms"])
    assert (
        records["box"]["device"] == "box"
        and records["box"]["model_hash"] == (records["local"]["model_hash"])
    )
    assert (
        records["box"]["fingerprint"]["cpu_model"] == records["local"]["fingerprint"]["cpu_model"]
    )
    # The model and runner were sent once: a second profile uploads nothing new.
    files = sorted(p.name for p in (tmp_path / "box-work" / "files").iterdir())
    assert len(files) == 2 and any(f.startswith("runner-") for f in files)
    assert run_cli(capsys, "profile", conv_onnx, "--device", "box", *FAST, "--store", store)[0] == 0
    assert sorted(p.name for p in (tmp_path / "box-work" / "files").iterdir()) == files
    # A reference model is staged like a model (once) and timed on the device.
    code, out, err = run_cli(
        capsys,
        "profile",
        conv_onnx,
        "--device",
        "box",
        "--reference",
        conv_onnx,
        *FAST,
        "--json",
        "--store",
        store,
    )
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    assert m["settings"]["reference"]["ratio"]["median"] > 0
    assert sorted(p.name for p in (tmp_path / "box-work" / "files").iterdir()) == files


def test_an_unknown_host_key_is_refused_until_trusted_explicitly(capsys, sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    add_device(capsys, sshd, tmp_path, known_hosts=empty)
    code, _, err = run_cli(capsys, "devices", "check", "box")
    assert code == 2 and "--trust-on-first-use" in err and "Traceback" not in err
    assert empty.read_text() == ""
    code, _, err = run_cli(capsys, "devices", "check", "box", "--trust-on-first-use")
    assert code == 0, err
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519" in empty.read_text()
    assert run_cli(capsys, "devices", "check", "box")[0] == 0  # recorded: no flag needed


def test_an_unreachable_device_fails_fast_and_keeps_the_jobs(capsys, conv_onnx, tmp_path):
    port = free_port()  # nothing listens there
    assert run_cli(capsys, "devices", "add", "gone", "--ssh", f"me@127.0.0.1:{port}")[0] == 0
    store = tmp_path / "s.db"
    start = time.monotonic()
    code, _, err = run_cli(capsys, "profile", conv_onnx, "--device", "gone", "--store", store)
    assert code != 0 and time.monotonic() - start < 15
    assert f"127.0.0.1:{port}" in err and "Traceback" not in err
    with Store(store) as s:
        assert [j.status for j in s.jobs(device="gone")] == ["pending"]


def test_hostile_paths_and_input_names_run_nothing(capsys, sshd, tmp_path):
    add_device(capsys, sshd, tmp_path)
    canary = tmp_path / "CANARY"
    token = f"hwnas-canary-{os.getpid()}"  # file names cannot hold '/': a relative canary
    weird = f"x; touch {canary}; $(touch {canary}) `touch {canary}` 'q\" y"
    folder = tmp_path / f"dir with space;$(touch {token})"
    folder.mkdir()
    model = onnx_models.dynamic_model(
        folder / f"m 'a\";$(touch {token})`touch {token}`.onnx", input_name=weird
    )
    code, out, err = run_cli(
        capsys,
        "profile",
        model,
        "--device",
        "box",
        "--shape",
        f"{weird}=1x3x8x8",
        *FAST,
        "--json",
        "--store",
        tmp_path / "s.db",
    )
    assert code == 0, err
    (m,) = json.loads(out)["measurements"]
    assert m["inputs"][weird]["shape"] == [1, 3, 8, 8]
    assert not canary.exists()
    for where in (Path.home(), Path.cwd(), tmp_path, tmp_path / "box-work"):
        assert not (where / token).exists()


def profile_in_background(models: list[Path], env: dict[str, str], *extra: str):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hwnas",
            "profile",
            *map(str, models),
            "--device",
            "box",
            "--max-seconds",
            "0.5",
            "--target-ci",
            "0.02",
            "--json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def twenty(tmp_path: Path) -> list[Path]:
    return [
        onnx_models.conv_model(tmp_path / f"m{i:02d}.onnx", channels=3 + i, size=16)
        for i in range(20)
    ]


def test_a_killed_connection_is_reconnected_and_nothing_is_lost_or_doubled(
    capsys, sshd, tmp_path, twenty
):
    add_device(capsys, sshd, tmp_path)
    store = tmp_path / "s.db"
    env = {**os.environ, "HWNAS_STORE": str(store)}
    proc = profile_in_background(twenty, env)
    wait_for_count(store, 5)
    assert sshd.kill_sessions() >= 1
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert "connection to box lost" in err and doc["reconnects"]["box"] >= 1
    with Store(str(store)) as s:
        names = [x.measurement.model_name for x in s.measurements(device="box")]
    assert sorted(names) == sorted(p.name for p in twenty)  # exactly 20, none twice
    assert len(doc["measurements"]) == 20


def test_a_device_gone_for_good_is_finished_by_resume(capsys, sshd, tmp_path, twenty):
    add_device(capsys, sshd, tmp_path)
    store = tmp_path / "s.db"
    env = {**os.environ, "HWNAS_STORE": str(store)}
    proc = profile_in_background(twenty, env, "--reconnect-timeout", "0")
    wait_for_count(store, 5)
    sshd.kill_sessions()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    doc = json.loads(out)
    assert "--resume" in doc["connection_lost"]["box"]
    first = len(doc["measurements"])
    assert 5 <= first < 20 and doc["left"] == 20 - first
    done = subprocess.run(
        [sys.executable, "-m", "hwnas", "profile", "--resume", *FAST, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["measurements"]) == 20 - first
    with Store(str(store)) as s:
        names = [x.measurement.model_name for x in s.measurements(device="box")]
        assert s.jobs(status="pending") == []
    assert sorted(names) == sorted(p.name for p in twenty)
