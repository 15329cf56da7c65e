"""The CLI's one renderer of library progress events (``hwnas.events``) as Rich bars.

Every command that runs a long workflow does::

    with ProgressBars() as progress:
        result = hwnas_api_call(..., progress=progress)

One bar per device (measurements) and one per stage of other work (exports, search
generations); failures, reconnects, warnings and notes are printed above the bars on
stderr, so stdout stays clean for ``--json``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from hwnas.cli._common import err, note, warn
from hwnas.events import Event


def _short(label: str) -> str:
    """A model path as its file name; an architecture or block key cut to fit a bar."""
    if "/" in label and label.endswith(".onnx"):
        label = Path(label).name
    return label if len(label) <= 60 else label[:57] + "..."


class ProgressBars:
    """A ``progress=`` callback that draws Rich progress bars on stderr.

    ``show_failures``: print a line for each failed job (commands that sum failures up
    themselves turn it off). ``warnings``: print ``warning`` and ``note`` events
    (commands that print the result's warnings after the table turn it off).
    """

    def __init__(self, *, show_failures: bool = True, warnings: bool = True) -> None:
        self.show_failures, self.warnings = show_failures, warnings
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressBars:
        self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.__exit__(None, None, None)

    def _task(self, key: str, description: str, total: int | None = None) -> Any:
        with self._lock:
            if key not in self._tasks:
                self._tasks[key] = self.bars.add_task(description, total=total)
            return self._tasks[key]

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event)

    def _key(self, event: Event) -> str:
        return event.device or event.stage or "work"

    def _name(self, event: Event) -> str:
        parts = [p for p in (event.device, event.stage) if p]
        return ": ".join(parts) or "working"

    def _on_planned(self, event: Event) -> None:
        task = self._task(self._key(event), self._name(event), event.total)
        self.bars.update(task, total=event.total, description=f"{self._name(event)}: ready")

    def _on_start(self, event: Event) -> None:
        task = self._task(self._key(event), self._name(event))
        label = _short(event.label or "")
        self.bars.update(task, description=f"{self._name(event)}: {escape(label)}")

    def _on_done(self, event: Event) -> None:
        self.bars.advance(self._task(self._key(event), self._name(event)))
        if event.error is not None and self.show_failures:
            where = f" on {event.device}" if event.device else ""
            err.print(
                f"[red]failed[/red] {escape(event.label or '')}{where}: "
                f"{escape(event.error.message)}",
                soft_wrap=True,
            )

    def _on_retry(self, event: Event) -> None:
        device, delay = event.device or "device", event.delay or 0.0
        task = self._task(self._key(event), self._name(event))
        message = escape(event.error.message) if event.error is not None else ""
        if delay == 0:
            self.bars.update(task, description=f"{device}: reconnecting")
            err.print(
                f"[yellow]connection to {device} lost[/yellow] ({message}); reconnecting",
                soft_wrap=True,
            )
        else:
            self.bars.update(task, description=f"{device}: retrying in {delay:.0f} s")
            err.print(
                f"[yellow]{device} still unreachable[/yellow] ({message}); "
                f"retrying in {delay:.0f} s",
                soft_wrap=True,
            )

    def _on_step(self, event: Event) -> None:
        task = self._task(self._key(event), self._name(event), event.total)
        self.bars.update(task, completed=event.done or 0, total=event.total)

    def _on_warning(self, event: Event) -> None:
        if self.warnings and event.message:
            warn(event.message)

    def _on_note(self, event: Event) -> None:
        if self.warnings and event.message:
            note(event.message)
