"""Other processes competing for the local CPU, found (with psutil) before measuring.

A model timed while another process keeps a core busy runs slower and far less
steadily (shared caches, memory bandwidth, the scheduler), and no statistic of the
timings can tell. So before a batch on the ``local`` device, hwnas looks once at what
else is running and names the processes that use a noticeable share of a core, with the
fix. Remote devices are not checked: their runner may use only the standard library,
numpy and onnxruntime, and a Pi or phone is usually idle apart from the runner.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from hwnas.events import Event, ProgressCallback, emitter
from hwnas.records import DeviceSpec

#: A process using at least this share of one core (%) during the look counts as busy.
BUSY_PERCENT = 20.0
#: How long the look lasts (s): CPU shares are measured over this window.
LOOK_SECONDS = 0.2
#: How many busy processes a warning names.
SHOWN = 3


@dataclass(frozen=True)
class BusyProcess:
    """A process that used ``cpu_percent`` of one core during the look."""

    pid: int
    name: str
    cpu_percent: float


def busy_processes(
    *, seconds: float = LOOK_SECONDS, threshold: float = BUSY_PERCENT
) -> list[BusyProcess]:
    """Processes other than this one, its children and its ancestors that used at least
    ``threshold`` % of a core over ``seconds``, busiest first. Processes that end or
    cannot be inspected during the look are left out."""
    me = psutil.Process()
    ours = {me.pid, *(p.pid for p in me.parents()), *(c.pid for c in me.children(recursive=True))}
    watched: list[psutil.Process] = []
    for proc in psutil.process_iter(["name"]):
        if proc.pid in ours:
            continue
        try:
            proc.cpu_percent(None)  # starts the window
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        watched.append(proc)
    time.sleep(seconds)
    busy = []
    for proc in watched:
        try:
            share = proc.cpu_percent(None)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if share >= threshold:
            busy.append(BusyProcess(proc.pid, str(proc.info.get("name") or "?"), share))
    return sorted(busy, key=lambda b: -b.cpu_percent)


def contention_warning(busy: list[BusyProcess]) -> str | None:
    """The warning for ``busy`` (None when nothing else is busy): who, and what to do."""
    if not busy:
        return None
    named = ", ".join(
        f"{b.name} (pid {b.pid}, {b.cpu_percent:.0f}% of a core)" for b in busy[:SHOWN]
    )
    more = f" and {len(busy) - SHOWN} more" if len(busy) > SHOWN else ""
    total = sum(b.cpu_percent for b in busy) / 100.0
    return (
        f"other processes are using {total:.1f} of this machine's "
        f"{psutil.cpu_count() or 1} cores: {named}{more}. Timings taken now will be slower "
        f"and noisier; stop them, or pin them and the measurement to different cores "
        f"(taskset -c)"
    )


def local_contention(
    specs: Iterable[DeviceSpec], progress: ProgressCallback | None = None
) -> list[str]:
    """When one of the devices ``specs`` is this machine, look (for ``LOOK_SECONDS``) for
    other processes busy on its CPU. Returns the warning naming them and the fix, as a
    one-item list (empty when nothing else is busy or no device is local, in which case
    nothing is looked at); the warning also goes to ``progress`` as a ``warning`` event."""
    if not any(spec.transport == "local" for spec in specs):
        return []
    message = contention_warning(busy_processes())
    if message is None:
        return []
    emitter(progress)(Event(kind="warning", message=message))
    return [message]


__all__ = [
    "BUSY_PERCENT",
    "BusyProcess",
    "busy_processes",
    "contention_warning",
    "local_contention",
]
