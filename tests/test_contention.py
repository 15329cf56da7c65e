"""Other processes busy on the local machine are named before measuring (psutil)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.profiler import contention
from hwnas.profiler.contention import BusyProcess, busy_processes, contention_warning

# Forks a grandchild that spins and prints its pid, then exits: the spinner is not a
# descendant of the test process any more (like an unrelated job on the machine).
SPINNER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # let the parent's pipes close
        os.dup2(devnull, fd)
    while True:
        pass
print(pid, flush=True)
"""


@pytest.fixture
def spinner() -> Iterator[int]:
    out = subprocess.run(
        [sys.executable, "-c", SPINNER], capture_output=True, text=True, timeout=30, check=True
    )
    pid = int(out.stdout.strip())
    try:
        time.sleep(0.3)  # let it start spinning
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_busy_unrelated_process_is_found_and_this_one_is_not(spinner: int) -> None:
    busy = busy_processes(seconds=0.5)
    found = {b.pid: b for b in busy}
    assert spinner in found and found[spinner].cpu_percent >= 20.0
    assert os.getpid() not in found
    assert [b.cpu_percent for b in busy] == sorted((b.cpu_percent for b in busy), reverse=True)


def test_the_warning_names_the_processes_and_the_fix() -> None:
    assert contention_warning([]) is None
    busy = [BusyProcess(pid=10 + i, name=f"job{i}", cpu_percent=90.0 - i) for i in range(5)]
    message = contention_warning(busy)
    assert message is not None
    assert "job0 (pid 10, 90% of a core)" in message and "job2 (pid 12" in message
    assert "job3" not in message and "and 2 more" in message
    assert "using 4.4 of this machine's" in message and "taskset -c" in message


def test_profile_on_the_local_device_warns_before_measuring(
    capsys, monkeypatch, spinner: int, conv_onnx: Path
) -> None:
    # Name every busy process: under pytest-xdist the other worker and its children can
    # outrank the spinner on two cores, and the warning names only the busiest few.
    monkeypatch.setattr(contention, "SHOWN", 1_000)
    code = main(
        [
            "profile",
            str(conv_onnx),
            "--max-seconds",
            "0.3",
            "--target-ci",
            "0.2",
            "--warmup",
            "1",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (warning,) = json.loads(captured.out)["warnings"]
    assert f"pid {spinner}" in warning
    assert f"pid {spinner}" in " ".join(captured.err.split())
