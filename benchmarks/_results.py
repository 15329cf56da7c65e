"""What every committed results file (benchmarks/results/) says of where it came from."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def provenance(benchmark: str) -> dict[str, Any]:
    """The benchmark's name, the command that ran it, the date (UTC), the machine (CPU and
    cores) and the Python version: the head of its results file."""
    return {
        "benchmark": benchmark,
        "command": " ".join(["python", *sys.argv]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "python": platform.python_version(),
    }


#: Where the committed results files live.
RESULTS = Path(__file__).resolve().parent / "results"


def started() -> dict[str, Any]:
    """The wall clock and the load average at the start of a run, for :func:`write_results`."""
    return {"clock": time.perf_counter(), "load_average": list(os.getloadavg())}


def mean_interval(values: Any) -> dict[str, float]:
    """The mean of ``values`` (one figure per seed or split) and its 95% t-interval
    (Student's t, n - 1 degrees of freedom); the interval is the mean alone for one value."""
    import numpy as np
    from scipy import stats

    array = np.asarray(values, dtype=float)
    mean = float(array.mean())
    if array.size < 2:
        return {"mean": mean, "low": mean, "high": mean}
    half = float(stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / np.sqrt(array.size))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def write_results(doc: dict[str, Any], start: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``doc`` (headed by :func:`provenance`) with the run's wall time in seconds and
    the load average at its start and end, to ``path`` (``RESULTS/<benchmark>.json`` unless
    told); returns the path written."""
    path = path if path is not None else RESULTS / f"{doc['benchmark']}.json"
    full = {
        **doc,
        "seconds": round(time.perf_counter() - start["clock"], 1),
        "load_average": {"start": start["load_average"], "end": list(os.getloadavg())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(full, indent=1, default=float) + "\n")
    return path
