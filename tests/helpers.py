"""Shared test helpers: run hwnas as a real process and interrupt it at the right time;
a predictor of fixed values and intervals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hwnas.predictors.base import Interval
from hwnas.store import Store


class Fixed:
    """A predictor with given ``(low, value, high)`` per architecture."""

    def __init__(self, values: dict[str, tuple[float, float, float]]) -> None:
        self.values = values

    def predict(self, archs):  # type: ignore[no-untyped-def]
        return np.array([self.values[a][1] for a in archs])

    def predict_interval(self, archs):  # type: ignore[no-untyped-def]
        v = np.array([self.values[a] for a in archs], dtype=float).reshape(-1, 3)
        return Interval(value=v[:, 1], low=v[:, 0], high=v[:, 2])


def wait_for_count(store: Path, n: int, timeout: float = 120.0) -> int:
    """Block until the store holds at least ``n`` measurements; return the count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists():
            with Store(str(store)) as s:
                if s.count() >= n:
                    return s.count()
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} measurements in {store} after {timeout} s")


def hwnas_process(args: list[str], store: Path) -> subprocess.Popen[str]:
    """``python -m hwnas ARGS`` in the background with ``store`` as its store."""
    env = {**os.environ, "HWNAS_STORE": str(store)}
    return subprocess.Popen(
        [sys.executable, "-m", "hwnas", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def interrupt_after(args: list[str], store: Path, n: int) -> tuple[int, str, str]:
    """Run hwnas, press Ctrl-C once ``n`` measurements are stored; (code, out, err)."""
    proc = hwnas_process(args, store)
    try:
        wait_for_count(store, n)
    finally:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def run_hwnas(args: list[str], store: Path, timeout: float = 300) -> tuple[int, str, str]:
    """Run hwnas to the end as a separate process; (code, out, err)."""
    proc = hwnas_process(args, store)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
