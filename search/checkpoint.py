"""A search's checkpoint: what an interrupted search needs to end as it would have.

A search is deterministic given its arguments and seed; what is slow or cannot be
redone is *evaluating* architectures (a user's accuracy function that trains, say) and
*measuring* them on a device. So a checkpoint keeps, in open formats (JSON, no pickle):

- ``search.json`` of the checkpoint: what identifies the search (space, budgets,
  accuracy, strategy, its settings and seed, the predictors' training sets, verify
  settings), so that a checkpoint is never applied to another search;
- ``accuracy.json``: every accuracy evaluated so far (written after each generation,
  atomically);
- ``verify.json``: with ``verify``, the architectures measured on the device before the
  loop began (the loop's measurements are in the store; which ones belong to the loop is
  what tells them apart).

Resuming runs the search again from its start with these: evaluations come from
``accuracy.json``, device measurements from the store (``profile_space`` reuses what it
measured), and the strategy, seeded the same, makes the same choices; so the result
equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.errors import ParameterError
from hwnas.events import Event, ProgressCallback
from hwnas.search.accuracy import AccuracySource

IDENTITY = "search.json"
ACCURACY = "accuracy.json"
VERIFY = "verify.json"
#: Written when the search ended: a finished checkpoint of another search is replaced.
FINISHED = "finished.json"


def _write_json(file: Path, doc: Any) -> None:
    """Write ``doc`` to ``file`` through a temporary file and a rename (never half)."""
    partial = file.with_name(f".{file.name}.part")
    partial.write_text(json.dumps(doc, indent=1, sort_keys=True))
    os.replace(partial, file)


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(
            "checkpoint",
            f"{file} cannot be read ({type(exc).__name__}: {exc}); delete {file.parent} to "
            f"start the search afresh",
        ) from None


def holds_unfinished_work(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds the checkpoint of a search that did not finish and
    had evaluated something (one that failed before its first evaluation holds nothing
    worth keeping)."""
    folder = Path(directory)
    if (folder / FINISHED).is_file():
        return False
    return (folder / ACCURACY).is_file() or (folder / VERIFY).is_file()


class Checkpoint:
    """The checkpoint directory of one search (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], identity: Mapping[str, Any]) -> None:
        self.directory = Path(directory)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.accuracies: dict[str, float] = {}
        self.resumed = False
        self._open()

    def _open(self) -> None:
        """Start one, or take up the one there after checking it is of this search."""
        if self.directory.exists() and not self.directory.is_dir():
            raise ParameterError("checkpoint", f"{self.directory} exists and is not a directory")
        found = self.directory / IDENTITY
        if not found.is_file():
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_json(found, self.identity)
            return
        theirs = _read_json(found)
        differs = sorted(
            k for k in {*theirs, *self.identity} if theirs.get(k) != self.identity.get(k)
        )
        if differs and not holds_unfinished_work(self.directory):  # this one replaces it
            for name in (ACCURACY, VERIFY, FINISHED):
                (self.directory / name).unlink(missing_ok=True)
            _write_json(found, self.identity)
            return
        if differs:
            shown = "; ".join(
                f"{k}: {theirs.get(k)!r} there, {self.identity.get(k)!r} now" for k in differs[:3]
            )
            raise ParameterError(
                "checkpoint",
                f"{self.directory} holds the checkpoint of another search ({shown}); resume "
                f"with the same arguments, use another directory, or delete it to start afresh",
            )
        file = self.directory / ACCURACY
        if file.is_file():
            self.accuracies = {str(a): float(v) for a, v in _read_json(file).items()}
        self.resumed = True

    @property
    def finished(self) -> bool:
        """Whether the search of this checkpoint ran to its end."""
        return (self.directory / FINISHED).is_file()

    def finish(self) -> None:
        """Save, and mark the search as ended (another search may then replace it)."""
        self.save()
        _write_json(self.directory / FINISHED, {"finished": True})

    def accuracy(self, source: AccuracySource) -> CheckpointedAccuracy:
        """``source`` with the accuracies evaluated before, recording the new ones."""
        return CheckpointedAccuracy(source, self.accuracies)

    def save(self) -> None:
        """Write the accuracies evaluated so far."""
        _write_json(self.directory / ACCURACY, self.accuracies)

    def saving(self, report: ProgressCallback) -> ProgressCallback:
        """``report``, saving the checkpoint after each generation (a search step)."""

        def on_event(event: Event) -> None:
            if event.kind == "step" and event.stage == "search" and event.done:
                self.save()
            report(event)

        return on_event

    def measured_before(self, known: Callable[[], Sequence[str]]) -> set[str]:
        """The architectures measured on the device before the verify loop began: those of
        the first start (saved), else ``known()`` now (and saved)."""
        file = self.directory / VERIFY
        if file.is_file():
            return {str(a) for a in _read_json(file)["measured_before"]}
        archs = sorted(known())
        _write_json(file, {"measured_before": archs})
        return set(archs)


class CheckpointedAccuracy(AccuracySource):
    """An accuracy source that answers from ``known`` (arch -> value) and asks ``inner``
    only for the rest, adding its answers to ``known``."""

    def __init__(self, inner: AccuracySource, known: dict[str, float]) -> None:
        self.inner, self.known = inner, known
        self.name, self.unit = inner.name, inner.unit

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(a for a in archs if a not in self.known))
        if todo:
            values = np.asarray(self.inner.evaluate(todo), dtype=float)
            self.known.update({a: float(v) for a, v in zip(todo, values, strict=True)})
        return np.array([self.known[a] for a in archs], dtype=float)

    def close(self) -> None:
        self.inner.close()
