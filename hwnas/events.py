"""Progress events: how long-running workflows report what they are doing.

The library prints nothing. A workflow (``hwnas.profile``, ``hwnas.build_lut``,
``hwnas.train_predictor``, ``hwnas.search`` ...) takes ``progress=`` a callable that
receives :class:`Event` objects, from worker threads too (one per device), so a
callback must be thread-safe. The CLI renders them as Rich progress bars
(``hwnas.cli._progress``); a notebook can pass ``print`` or collect them in a list.

Kinds, and the fields each fills:

- ``"planned"``: ``device``, ``stage``, ``total`` (jobs to run), ``skipped`` (already done)
- ``"start"``: ``device``, ``stage``, ``label`` (a model, architecture or block)
- ``"done"``: ``device``, ``stage``, ``label``, ``measurement`` or ``error``
- ``"retry"``: ``device``, ``error``, ``delay`` (seconds; 0: reconnecting now)
- ``"step"``: ``stage``, ``done``, ``total`` (e.g. exports, search generations)
- ``"warning"`` and ``"note"``: ``message`` (also returned with the result)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hwnas.errors import HwnasError
    from hwnas.records import Measurement

KINDS = frozenset({"planned", "start", "done", "retry", "step", "warning", "note"})


@dataclass(frozen=True)
class Event:
    """One thing a workflow reports; see the module docstring for which fields a kind fills."""

    kind: str
    stage: str = ""
    device: str | None = None
    label: str | None = None
    total: int | None = None
    done: int | None = None
    skipped: int | None = None
    measurement: Measurement | None = None
    error: HwnasError | None = None
    delay: float | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}")


#: What a workflow's ``progress=`` accepts.
ProgressCallback = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The default callback: report nothing."""


def emitter(progress: ProgressCallback | None) -> ProgressCallback:
    """``progress`` or, for ``None``, a callback that ignores everything."""
    return progress if progress is not None else ignore
