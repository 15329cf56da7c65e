"""``ProgressBars`` for the workflows that measure in stages on one device (``hwnas lut
build``: blocks, then networks; ``hwnas kernels build``): one bar per device *and* stage,
and no display until the first event, so that an argument the library refuses is
reported alone, as before any bar existed.
"""

from __future__ import annotations

import threading

from hwnas.cli._progress import ProgressBars
from hwnas.events import Event


class StageBars(ProgressBars):
    """``ProgressBars`` keyed by device and stage, started by the first event."""

    def __init__(self, *, show_failures: bool = True, warnings: bool = True) -> None:
        super().__init__(show_failures=show_failures, warnings=warnings)
        self._started = False
        self._start_lock = threading.Lock()

    def __enter__(self) -> StageBars:
        return self  # the display starts with the first event

    def __exit__(self, *exc: object) -> None:
        with self._start_lock:
            if self._started:
                self.bars.stop()
                self._started = False

    def __call__(self, event: Event) -> None:
        with self._start_lock:
            if not self._started:
                self.bars.start()
                self._started = True
        super().__call__(event)

    def _key(self, event: Event) -> str:
        return ": ".join(p for p in (event.device, event.stage) if p) or "work"
