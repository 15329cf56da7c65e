"""What every committed results file (benchmarks/results/) says of where it came from."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
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
