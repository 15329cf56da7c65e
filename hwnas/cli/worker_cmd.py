"""`hwnas worker`: run the queued jobs of devices from a shared store until stopped.

The command parses options, calls ``hwnas.run_worker`` with a Rich status line per device
(measured and failed so far, the job running now) and prints a summary; Ctrl-C lets the
jobs running finish and exits with 130, a second Ctrl-C exits at once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    err,
    executor_option,
    fail,
    jobs_option,
    note,
    options,
    print_json,
)
from hwnas.cli.profile_cmd import device_names
from hwnas.errors import HwnasError, UsageError
from hwnas.events import Event


class _DeviceLines:
    """A ``progress=`` callback: one live line per device, failures and notes above."""

    def __init__(self) -> None:
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._tasks: dict[str, Any] = {}
        self._counts: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> _DeviceLines:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.__exit__(None, None, None)

    def _show(self, device: str, doing: str) -> None:
        with self._lock:
            if device not in self._tasks:
                self._tasks[device] = self.bars.add_task("", total=None)
                self._counts[device] = [0, 0]
            measured, failed = self._counts[device]
            line = f"{escape(device)}: {measured} measured, {failed} failed; {doing}"
            self.bars.update(self._tasks[device], description=line)

    def __call__(self, event: Event) -> None:
        device = event.device or "worker"
        if event.kind == "start":
            self._show(device, f"measuring {escape(Path(event.label or '').name or '')}")
        elif event.kind == "done":
            with self._lock:
                self._counts.setdefault(device, [0, 0])[event.error is not None] += 1
            if event.error is not None:
                err.print(
                    f"[red]failed[/red] {escape(event.label or '')} on {escape(device)}: "
                    f"{escape(event.error.message)}",
                    soft_wrap=True,
                )
            self._show(device, "waiting for jobs")
        elif event.kind in ("note", "warning") and event.message:
            note(event.message)


def worker(
    device: str = typer.Option(
        ...,
        "--device",
        "-d",
        help="The device(s) to serve: a registered name, or several separated by commas.",
    ),
    exit_when_idle: bool = typer.Option(
        False,
        "--exit-when-idle",
        help="Exit once no job of the devices is pending or running (for scripts and CI).",
    ),
    lease_seconds: float = typer.Option(
        30.0,
        "--lease-seconds",
        help="How long a device stays this worker's without a heartbeat (renewed every "
        "third of it); if the worker dies, another takes the device over after this long.",
    ),
    poll_seconds: float = typer.Option(
        1.0, "--poll-seconds", help="How often to look for new jobs when idle (s)."
    ),
    reconnect_timeout: float = typer.Option(
        300.0,
        "--reconnect-timeout",
        help="How long to keep reconnecting to a lost device, or to the store (s); 0: do not "
        "reconnect.",
    ),
    max_attempts: int = typer.Option(
        3, "--max-attempts", help="Tries per model when the connection drops while it runs."
    ),
    jobs: int = jobs_option(
        "Export (and quantize) the queued architectures in this many worker "
        "processes, ahead of measuring them (1: each job exports its own)."
    ),
    executor: str | None = executor_option("Export"),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Run the queued profiling jobs of devices (`hwnas queue add`, interrupted `hwnas
    profile` runs) until stopped, one job at a time per device.

    Any number of workers on any number of hosts can share one store (PostgreSQL:
    --store postgresql+psycopg://...): each device is held by one worker at a time, under
    a lease its heartbeat renews, and each job is claimed before it runs, so nothing is
    measured twice. If a worker dies, its lease expires and another worker takes the
    device over and runs the dead one's job again. Ctrl-C finishes the jobs running now,
    then exits; a second Ctrl-C exits at once (their jobs go back to the queue).
    """
    from hwnas.profiler.worker import run_worker

    try:
        names = device_names(device)
        if not names:
            raise UsageError("--device needs a device name, e.g. --device pi,phone")
        with options(), _DeviceLines() as lines:
            for name in names:
                lines._show(name, "waiting for jobs")
            result = run_worker(
                names,
                store=store_path,
                exit_when_idle=exit_when_idle,
                lease_seconds=lease_seconds,
                poll_seconds=poll_seconds,
                progress=lines,
                reconnect_timeout=reconnect_timeout,
                max_attempts=max_attempts,
                jobs=jobs,
                executor=executor,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
    for name, error in result.device_errors.items():
        err.print(f"[red]{escape(name)}:[/red] {escape(error.message)}", soft_wrap=True)
    done = ", ".join(
        f"{d}: {result.measured.get(d, 0)} measured, {result.failed.get(d, 0)} failed"
        for d in result.devices
    )
    note(f"worker {result.worker} stopped ({done}); results are in {result.store}")
    if result.interrupted:
        raise typer.Exit(130)
    if result.device_errors:
        raise typer.Exit(1)
