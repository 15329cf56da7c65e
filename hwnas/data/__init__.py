"""Public tables bundled with hwnas (see ``SOURCES.md`` beside this file for origin and licence).

``nb201.parquet`` joins three public NAS-Bench-201 tables on the official index and
architecture string: CIFAR-10/100 and ImageNet16-120 test accuracy (NATS-Bench, MIT) and
batch-1 latency on a Raspberry Pi 4 and an Intel Xeon Gold 6226 (HELP, MIT). It is the
tabular accuracy source of the ``nb201`` space and a stand-in device for tests and
benchmarks.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NB201_COLUMNS = (
    "index",
    "arch",
    "cifar10_test_acc",
    "cifar100_test_acc",
    "imagenet16_test_acc",
    "latency_raspi4_ms",
    "latency_gold_6226_ms",
)


@lru_cache(maxsize=1)
def _nb201() -> pd.DataFrame:
    import pandas as pd

    with resources.as_file(resources.files(__name__) / "nb201.parquet") as path:
        return pd.read_parquet(path)


def nb201_table() -> pd.DataFrame:
    """The 15,625-row NAS-Bench-201 table (a copy; callers may modify it)."""
    return _nb201().copy()


#: Devices whose NAS-Bench-201 latency is bundled (column ``latency_<device>_ms``).
NB201_DEVICES = ("raspi4", "gold_6226")


def nb201_latency_table(device: str = "raspi4") -> pd.DataFrame:
    """A measurement table of the bundled NAS-Bench-201 latencies of ``device``
    (``raspi4`` or ``gold_6226``): columns ``arch`` and ``latency_ms``, 15,625 rows, the
    format ``hwnas predictor train --table`` and ``train_predictor(table=...)`` read.
    Write it with ``.to_csv(path, index=False)``."""
    if device not in NB201_DEVICES:
        from hwnas.errors import ParameterError

        raise ParameterError("device", f"must be one of {', '.join(NB201_DEVICES)}, got {device!r}")
    frame = _nb201()
    out = frame[["arch"]].copy()
    out["latency_ms"] = frame[f"latency_{device}_ms"].astype("float64")
    return out
