"""The public NAS-Bench-201 tables the tests use, as files.

``../shared/data`` holds them beside the repository on the development machine, but CI
runs a clean clone elsewhere; the same tables ship inside hwnas (``hwnas.data``, values
identical to the shared files'), so the tests write them out once per process.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from hwnas.data import nb201_latency_table, nb201_table


@lru_cache(maxsize=1)
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="hwnas-test-data-"))


@lru_cache(maxsize=1)
def raspi4_csv() -> Path:
    """``nb201_latency_raspi4.csv``: ``index``, ``arch``, ``latency_ms`` (15,625 cells of a
    Raspberry Pi 4, each measured as written)."""
    path = _folder() / "nb201_latency_raspi4.csv"
    frame = nb201_latency_table("raspi4")
    frame.insert(0, "index", range(len(frame)))
    frame.to_csv(path, index=False)
    return path


@lru_cache(maxsize=1)
def nb201_accuracy_csv() -> Path:
    """``nb201_accuracy.csv``: ``index``, ``arch`` and the three test accuracies."""
    path = _folder() / "nb201_accuracy.csv"
    columns = ["arch", "cifar10_test_acc", "cifar100_test_acc", "imagenet16_test_acc"]
    frame = nb201_table()[columns]
    frame.insert(0, "index", range(len(frame)))
    frame.to_csv(path, index=False)
    return path
