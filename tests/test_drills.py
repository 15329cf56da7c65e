"""Fault drills, end to end: each breaks something for real and checks that nothing is
measured twice, nothing is lost and the error says what happened and what to do.

* an SSH server killed mid-batch (listener and sessions, SIGKILL) and started again;
* the measurement store on a read-only file system, and on a full one;
* ``hwnas profile --space`` (a user's own space) killed with SIGKILL mid-batch, then resumed;
* a corrupted predictor directory and lookup-table JSON;
* malformed measurement tables;
* the device's disk full while models are staged on it, then enlarged.

Every drill runs ``hwnas`` as a separate process (``python -m hwnas``), as a user would:
an abort or a traceback shows as such, and a kill is a real kill.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from hwnas.cli import main
from hwnas.data import nb201_table
from hwnas.predictors.lut import FLOOR_BLOCK, BlockStats, LookupTable
from hwnas.store import Store
from tests import onnx_models
from tests.helpers import hwnas_process, run_hwnas, wait_for_count
from tests.sshd import HOST, SSHD, SSHServer
from tests.toy_space import ToySpace

FAST = ["--max-seconds", "0.3", "--target-ci", "0.05", "--warmup", "2"]
TOY = "tests.toy_space:ToySpace"
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"  # noqa: E501
#: Root may mount a small tmpfs; permission bits do not stop root, so other users get a
#: read-only directory instead (see each drill for why that is faithful).
ROOT = os.geteuid() == 0


def hwnas(*args: object, store: Path, timeout: float = 120) -> tuple[int, str, str]:
    """``python -m hwnas ARGS`` to the end, in its own process; (code, stdout, stderr)."""
    return run_hwnas([str(a) for a in args], store, timeout=timeout)


def run_all(commands: list[list[object]], store: Path) -> list[tuple[int, str, str]]:
    """Several ``python -m hwnas`` at once, each in its own process; their results in order."""
    procs = [hwnas_process([str(a) for a in args], store) for args in commands]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` and its SHA-256."""
    return {str(p.relative_to(directory)): sha256(p) for p in directory.rglob("*") if p.is_file()}


@contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``path`` (root only), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "hwnas-drill", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the drill runs as root but cannot mount a tmpfs at {path} ({done.stderr.strip()});"
            f" run the tests with CAP_SYS_ADMIN or as another user"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def register(sshd: SSHServer, tmp_path: Path, workdir: Path, name: str = "box") -> None:
    code = main(
        [
            "devices",
            "add",
            name,
            "--ssh",
            f"{sshd.user}@127.0.0.1:{sshd.port}",
            "--key",
            str(sshd.user_key),
            "--known-hosts",
            str(sshd.known_hosts(tmp_path)),
            "--python",
            sys.executable,
            "--workdir",
            str(workdir),
        ]
    )
    assert code == 0


# -- 1. the SSH server dies mid-batch and comes back -------------------------------------


def kill_server(server: SSHServer) -> None:
    """SIGKILL the listener, then every session: the device's sshd is gone.

    The listener dies first so that it cannot accept the batch's reconnect (a session
    outlives its listener); the sessions are found while it still lives (then they are
    its children).
    """
    sessions = server.session_processes()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    for session in sessions:
        try:
            session.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def restart_server(server: SSHServer) -> None:
    """Start sshd again with the same config: same port, same host key."""
    log = (server.directory / "sshd.log").open("ab")
    server.process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(server.directory / "sshd_config")],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 10.0
    while server.process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, server.port), timeout=1.0) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sshd did not start again on port {server.port}")


def test_drill_sshd_killed_mid_batch_and_restarted(tmp_path: Path) -> None:
    server = SSHServer.start(tmp_path / "sshd")
    try:
        register(server, tmp_path, tmp_path / "box-work")
        models = [
            onnx_models.conv_model(tmp_path / f"m{i}.onnx", channels=3 + i, size=16)
            for i in range(16)  # enough left after the third that the kill lands mid-batch
        ]
        store = tmp_path / "s.db"
        proc = hwnas_process(
            ["profile", *map(str, models), "--device", "box", *FAST, "--json"], store
        )
        try:
            wait_for_count(store, 3)
            kill_server(server)
            down = time.monotonic()
            time.sleep(2.0)  # the batch's first reconnects find nobody listening
            restart_server(server)
            out, err = proc.communicate(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert time.monotonic() - down >= 2.0
    finally:
        server.stop()
    assert proc.returncode == 0, err
    doc = json.loads(out)
    # Lost, then refused while sshd was down (so a reconnect failed), then back.
    assert "connection to box lost" in err and "box still unreachable" in err
    assert doc["reconnects"]["box"] >= 1 and "Traceback" not in err
    assert len(doc["measurements"]) == 16 and doc["errors"] == [] and doc["left"] == 0
    with Store(str(store)) as s:
        stored = s.measurements(device="box")
        jobs = s.jobs(device="box")
    # Exactly one measurement per model, each the one its job points to.
    assert sorted(x.measurement.model_name for x in stored) == sorted(m.name for m in models)
    assert len({x.measurement.model_hash for x in stored}) == 16
    assert [j.status for j in jobs] == ["done"] * 16
    assert sorted(j.measurement_id for j in jobs) == sorted(x.id for x in stored)


# -- 2. the store lives on a read-only file system ----------------------------------------


@contextmanager
def read_only_store(tmp_path: Path, seed: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the store ``seed`` where it cannot be written; yields (path, how).

    As root: a tmpfs remounted read-only, so every write fails with EROFS, whoever asks
    (a write-protected SD card, a read-only NFS export or bind mount). Otherwise: the
    file 0444 in a directory 0555, which stops this user as it stops a user on a shared
    machine whose store belongs to someone else.
    """
    folder = tmp_path / "ro"
    if ROOT:
        with tmpfs(folder, 1024):
            shutil.copy(seed, folder / "s.db")
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            try:
                yield folder / "s.db", "read-only file system"
            finally:
                subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
                shutil.copy(folder / "s.db", tmp_path / "after.db")
        return
    folder.mkdir()
    shutil.copy(seed, folder / "s.db")
    (folder / "s.db").chmod(0o444)
    folder.chmod(0o555)
    try:
        yield folder / "s.db", "read-only directory"
    finally:
        folder.chmod(0o755)
        (folder / "s.db").chmod(0o644)
        shutil.copy(folder / "s.db", tmp_path / "after.db")


def test_drill_store_on_a_read_only_filesystem(tmp_path: Path, conv_onnx: Path) -> None:
    seed = tmp_path / "seed.db"
    assert main(["profile", str(conv_onnx), *FAST, "--store", str(seed)]) == 0
    with Store(str(seed)) as s:
        (before,) = s.measurements()
    with read_only_store(tmp_path, seed) as (path, how):
        files = snapshot(path.parent)
        start = time.monotonic()
        # Settings that would take 30 s to measure: a quick exit measured nothing.
        slow = ["--max-seconds", "30", "--min-runs", "100000", "--target-ci", "0.000001"]
        code, out, err = hwnas("profile", conv_onnx, *slow, "--json", "--store", path, store=path)
        elapsed = time.monotonic() - start
        assert snapshot(path.parent) == files, how  # not a byte written, no -wal, no -shm
    assert code != 0 and elapsed < 25, (how, err)
    (error,) = json.loads(out)["errors"]
    assert error["error"] == "store" and "Traceback" not in err
    assert f"cannot write the measurement store at {path}" in error["message"], how
    assert "read-only" in error["message"] and "--store" in error["message"]
    with Store(str(tmp_path / "after.db")) as s:  # nothing lost
        (after,) = s.measurements()
    assert after.measurement.to_dict() == before.measurement.to_dict()


# -- 3. hwnas profile killed with SIGKILL, then resumed -----------------------------------


def stored_archs(store: Path) -> tuple[Counter[str], set[str | None], list[str]]:
    """(times each architecture was measured, the settings keys, the jobs' statuses)."""
    with Store(str(store)) as s:
        stored = s.measurements(space="toy")
        statuses = [j.status for j in s.jobs()]
        linked = sorted(j.measurement_id for j in s.jobs() if j.status == "done")
    assert linked == sorted(x.id for x in stored)  # every measurement is its job's
    counts = Counter(x.measurement.arch.string for x in stored if x.measurement.arch)
    return counts, {x.settings_key for x in stored}, statuses


def test_drill_sigkill_mid_batch_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    # A space of the user's own, given as module:Class: the resume, another process, must
    # load it from what the jobs recorded to export the rest.
    args = ["profile", "--space", TOY, "--sample", "5", "--seed", "3"]
    args += ["--exporter", "torchscript", *FAST, "--json"]
    killed, whole = tmp_path / "killed.db", tmp_path / "whole.db"
    uninterrupted = hwnas_process(args, whole)  # alongside, to save time
    try:
        proc = hwnas_process(args, killed)
        try:
            wait_for_count(killed, 2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        counts, _, statuses = stored_archs(killed)
        assert 2 <= sum(counts.values()) < 5 and set(counts.values()) == {1}
        # The rest is queued; the job the kill interrupted is still marked running under the
        # dead process, whose lease the resume takes over at once (its pid is gone).
        assert statuses.count("running") <= 1
        assert statuses.count("pending") + statuses.count("running") == 5 - sum(counts.values())
        code, out, err = hwnas("profile", "--resume", "--json", store=killed)
        assert code == 0, err
        resumed = [m["arch"]["string"] for m in json.loads(out)["measurements"]]
        assert len(resumed) == 5 - sum(counts.values()) and not set(resumed) & set(counts)
        code, out, err = hwnas(*args, store=killed)  # the same command again: nothing to do
        assert code == 0, err
        again = json.loads(out)
        assert again["measurements"] == [] and len(again["skipped"]) == 5
    finally:
        if uninterrupted.poll() is None and sys.exc_info()[0] is not None:
            uninterrupted.kill()
            uninterrupted.communicate()
    _, err = uninterrupted.communicate(timeout=120)
    assert uninterrupted.returncode == 0, err
    got, expected = stored_archs(killed), stored_archs(whole)
    assert got[0] == expected[0] and set(got[0].values()) == {1} and len(got[0]) == 5
    assert got[1] == expected[1] and len(got[1]) == 1  # measured with the same settings
    assert got[2] == expected[2] == ["done"] * 5


# -- 4. a corrupted predictor directory or lookup table ---------------------------------


def nb201_csv(path: Path, rows: np.ndarray) -> Path:
    part = nb201_table().iloc[rows]
    pd.DataFrame({"arch": part["arch"], "latency_ms": part["latency_raspi4_ms"]}).to_csv(
        path, index=False
    )
    return path


def toy_lut(path: Path) -> Path:
    """A lookup table of the toy space with made-up statistics, as `lut export` writes it."""
    space = ToySpace()
    blocks = {FLOOR_BLOCK.key: FLOOR_BLOCK}
    for a in range(3):
        for b in range(3):
            for block in space.blocks(space.decode([a, b])):
                blocks.setdefault(block.key, block)
    stats = {
        key: BlockStats(
            key=key,
            op=block.op,
            input_shape=tuple(block.input_shape),
            output_shape=tuple(block.output_shape),
            params=dict(block.params),
            n=50,
            mean_ms=0.11 * (i + 1),
            std_ms=0.01,
            p10_ms=0.09 * (i + 1),
            p50_ms=0.1 * (i + 1),
            p90_ms=0.12 * (i + 1),
        )
        for i, (key, block) in enumerate(blocks.items())
    }
    return LookupTable(space=space, device="dev", fingerprint="f" * 16, blocks=stats).write(path)


def corrupt_copy(source: Path, target: Path, edit: Callable[[Path], None]) -> Path:
    shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
    edit(target)
    return target


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def refused(result: tuple[int, str, str], named: Path, why: str) -> str:
    """The message of a clean refusal (exit 2, no traceback, no crash) naming ``named``."""
    code, out, err = result
    assert code == 2, (code, err[-2000:])
    assert "Traceback" not in err and "[LightGBM]" not in err
    (error,) = json.loads(out)["errors"]
    assert str(named) in error["message"] and why in error["message"], error["message"]
    return str(error["message"])


def test_drill_a_corrupted_predictor_or_lookup_table_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "s.db"
    good = tmp_path / "good"
    table = nb201_csv(tmp_path / "t.csv", np.random.default_rng(0).permutation(15625)[:150])
    assert (
        main(["predictor", "train", "--space", "nb201", "--table", str(table), "-o", str(good)])
        == 0
    )
    cut_model = corrupt_copy(good, tmp_path / "cut-model", lambda d: truncate(d / "model.txt"))
    cut_meta = corrupt_copy(good, tmp_path / "cut-meta", lambda d: truncate(d / "meta.json"))

    def recentre(d: Path) -> None:  # an edit that changes every prediction, valid JSON
        edit_json(d / "meta.json", lambda m: m["state"]["target"].update(center=5.0))

    edited = corrupt_copy(good, tmp_path / "edited-meta", recentre)
    lut = toy_lut(tmp_path / "lut.json")
    cut_lut = corrupt_copy(lut, tmp_path / "cut-lut.json", truncate)

    def poison(path: Path) -> None:  # a statistic that is not a number of ms
        edit_json(path, lambda t: t["blocks"][1].update(p50_ms=float("nan")))

    nan_lut = corrupt_copy(lut, tmp_path / "nan-lut.json", poison)
    predict = ["--arch", CELL, "--json"]
    lut_predict = ["lut", "predict", "--space", TOY, "--arch", "c4-c8", "--json", "--table"]
    # The intact predictor and table work (in this process: they cannot crash it).
    capsys.readouterr()
    assert main(["predict", str(good), *predict]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["value"] > 0
    assert main([*lut_predict, str(lut)]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["predicted_ms"] > 0
    results = run_all(
        [
            ["predict", cut_model, *predict],
            ["predict", cut_model, *predict, "--force"],  # LightGBM itself would abort here
            ["predict", cut_meta, *predict],
            ["predict", edited, *predict],
            [*lut_predict, cut_lut],
            [*lut_predict, nan_lut],
        ],
        store,
    )
    refused(results[0], cut_model / "model.txt", "changed since it was written")
    refused(results[1], cut_model / "model.txt", "not a readable LightGBM text model")
    refused(results[2], cut_meta / "meta.json", "not valid JSON")
    refused(results[3], edited / "meta.json", "changed since it was written")
    refused(results[4], cut_lut, "not valid JSON")
    refused(results[5], nan_lut, "p50_ms is nan")


# -- 5. malformed measurement tables -----------------------------------------------------


def test_drill_malformed_tables_are_refused_naming_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    part = nb201_table().iloc[np.random.default_rng(1).permutation(15625)[:60]]
    frame = pd.DataFrame({"arch": part["arch"], "latency_ms": part["latency_raspi4_ms"]})
    frame = frame.reset_index(drop=True)

    def table(name: str, changed: pd.DataFrame) -> Path:
        changed.to_csv(tmp_path / name, index=False)
        return tmp_path / name

    no_arch = table("no_arch.csv", frame.rename(columns={"arch": "architecture"}))
    text = frame.astype({"latency_ms": object})
    text.loc[3, "latency_ms"] = "fast"
    not_number = table("not_number.csv", text)
    other = frame.iloc[[2]].assign(latency_ms=frame.loc[2, "latency_ms"] * 1.5)
    conflict = table("conflict.csv", pd.concat([frame, other], ignore_index=True))
    repeated = table("repeated.csv", pd.concat([frame, frame.iloc[[2]]], ignore_index=True))
    # A store export: every row a measurement with its own id (profile --repeats).
    exported = pd.concat([frame, other], ignore_index=True)
    exported.insert(0, "id", range(1, len(exported) + 1))
    export = table("export.csv", exported)
    train = ["predictor", "train", "--space", "nb201", "--json", "--table"]
    results = run_all(
        [[*train, t, "-o", tmp_path / t.stem] for t in (no_arch, not_number, conflict)],
        tmp_path / "s.db",
    )
    message = refused(results[0], no_arch, "lacks the column(s) arch")
    assert "architecture, latency_ms" in message
    refused(results[1], not_number, "row 4 (line 5 of the file)")
    assert "'fast'" in json.loads(results[1][1])["errors"][0]["message"]
    message = refused(results[2], conflict, "different latency_ms values")
    assert "row 3 (line 4)" in message and "row 61 (line 62)" in message
    assert str(frame.loc[2, "arch"]) in message
    for path in (no_arch, not_number, conflict):
        assert not (tmp_path / path.stem).exists()  # nothing written for a refused table
    capsys.readouterr()
    for good in (repeated, export):  # one value written twice; two measurements of one arch
        assert main([*train, str(good), "-o", str(tmp_path / good.stem)]) == 0
        training = json.loads(capsys.readouterr().out)["training_set"]
        assert (training["n"], training["rows"]) == (60, 61)


def test_drill_store_on_a_full_filesystem(tmp_path: Path, conv_onnx: Path) -> None:
    """Root only: a 256 KiB tmpfs holding the store, filled up by another file."""
    seed = tmp_path / "seed.db"
    assert main(["profile", str(conv_onnx), *FAST, "--store", str(seed)]) == 0
    with tmpfs(tmp_path / "tiny", 256) as folder:
        path = folder / "s.db"
        shutil.copy(seed, path)
        with (folder / "ballast").open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
            except OSError:
                pass
        before = sha256(path)
        start = time.monotonic()
        slow = ["--max-seconds", "30", "--min-runs", "100000", "--target-ci", "0.000001"]
        code, out, err = hwnas("profile", conv_onnx, *slow, "--json", "--store", path, store=path)
        assert code != 0 and time.monotonic() - start < 25, err
        (error,) = json.loads(out)["errors"]
        assert error["error"] == "store" and str(path) in error["message"]
        assert re.search(r"full|no space left", error["message"].replace(str(path), ""), re.I), (
            error["message"]
        )
        assert "--store" in error["message"]  # what to do
        assert sha256(path) == before
        (folder / "ballast").unlink()  # the fix: room on the disk
        code, _, err = hwnas("profile", conv_onnx, *FAST, "--store", path, store=path)
        assert code == 0, err
        with Store(str(path)) as s:
            assert s.count() == 2


# -- 7. the device's disk fills up while models are staged on it ------------------------


def test_drill_device_disk_full_while_staging(tmp_path: Path) -> None:
    """Root only: the device's work directory on a 1 MiB tmpfs, reached over a real sshd
    and SFTP; the third model (2.2 MB) does not fit."""
    server = SSHServer.start(tmp_path / "sshd")
    models = [
        onnx_models.conv_model(tmp_path / "m0.onnx", channels=4, size=16),
        onnx_models.conv_model(tmp_path / "m1.onnx", channels=5, size=16),
        onnx_models.conv_model(tmp_path / "big.onnx", channels=20_000, size=4),
        onnx_models.conv_model(tmp_path / "m3.onnx", channels=6, size=16),
    ]
    store = tmp_path / "s.db"
    try:
        with tmpfs(tmp_path / "device-disk", 1024) as disk:
            register(server, tmp_path, disk / "work")
            code, out, err = hwnas(
                "profile", *models, "--device", "box", *FAST, "--json", store=store
            )
            assert code == 1, err
            doc = json.loads(out)
            assert [m["model_name"] for m in doc["measurements"]] == ["m0.onnx", "m1.onnx"]
            (error,) = doc["device_errors"]
            assert error["device"] == "box" and error["error"] == "device_full", error
            assert re.search(r"\d+ kB free in .*, 2\.2 MB needed for big\.onnx", error["message"])
            assert "hwnas profile --resume" in error["message"] and doc["left"] == 2
            assert "Traceback" not in err and "disk is full" in err
            assert not list((disk / "work" / "files").glob("*.part-*"))  # no partial upload
            # The fix: a larger disk. The resume measures what is left, each model once.
            subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
            code, out, err = hwnas("profile", "--resume", "--json", store=store)
            assert code == 0, err
            resumed = [m["model_name"] for m in json.loads(out)["measurements"]]
            assert resumed == ["big.onnx", "m3.onnx"]
    finally:
        server.stop()
    with Store(str(store)) as s:
        names = sorted(x.measurement.model_name for x in s.measurements(device="box"))
        assert names == sorted(m.name for m in models)
        assert [j.status for j in s.jobs(device="box")] == ["done"] * 4
