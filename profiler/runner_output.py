"""The runner as the host sees it: where it is, how it is staged, and how its answers
(one framed JSON document each, see ``runner.py``) become documents or errors."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.errors import (
    HwnasError,
    InvalidModelError,
    ModelLoadError,
    ModelNotFoundError,
    RunnerError,
    ShapeError,
    UsageError,
)
from hwnas.onnx_model import file_hash

RUNNER_PATH = Path(__file__).with_name("runner.py")


def stage_runner(transport: Transport) -> str:
    """The runner's path on the device, sent once per content (an upgraded runner is
    sent again, never confused with an old copy)."""
    return transport.stage(RUNNER_PATH, content_hash=_runner_hash(), suffix=".py")


@lru_cache(maxsize=1)
def _runner_hash() -> str:
    return "runner-" + file_hash(RUNNER_PATH)[:16]


_ERRORS: dict[str, type[HwnasError]] = {
    "model_not_found": ModelNotFoundError,
    "invalid_model": InvalidModelError,
    "model_load": ModelLoadError,
    "shape": ShapeError,
    "usage": UsageError,
    "energy": UsageError,  # the device has no such meter: not one model's fault
    "reference": UsageError,  # the --reference model fails: every model would
    "runner": RunnerError,
}


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


#: The lines around the runner's JSON document on its stdout (runner.py has the same).
RESULT_BEGIN = "@@hwnas-result-begin@@"
RESULT_END = "@@hwnas-result-end@@"
# The document is one line (JSON escapes every newline), right between the markers. The
# begin marker may follow text without a line break (a prompt of the device's shell).
_FRAME = re.compile(re.escape(RESULT_BEGIN) + r"\r?\n([^\r\n]*)\r?\n" + re.escape(RESULT_END))


def parse_runner_output(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The runner's JSON document, or the ``HwnasError`` it reports.

    The document is read from between the runner's marker lines (``RESULT_BEGIN``,
    ``RESULT_END``), so whatever else reached stdout (a login banner, ``conda activate``
    chatter or a logout message from the device's shell start-up files) is ignored. A
    stdout that is one runner document and nothing else is accepted without markers too
    (a runner from before them printed that); anything else without a complete frame
    raises ``RunnerError`` saying what stdout and stderr held and what to check.
    """
    return checked_document(runner_document(stdout, stderr, returncode))


def runner_document(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The runner's document as it is, failures included (see :func:`parse_runner_output`);
    ``RunnerError`` if there is none."""
    match = _FRAME.search(stdout)
    if match is None:
        doc = _unframed_document(stdout)
        if doc is None:
            raise RunnerError(_no_result(stdout, stderr, returncode))
    else:
        try:
            doc = json.loads(match.group(1))
        except json.JSONDecodeError as exc:
            raise RunnerError(
                f"the runner's result is not valid JSON ({exc}): {match.group(1)[:200]!r}; "
                f"please report this with the model and the command line"
            ) from None
    if not isinstance(doc, dict) or "ok" not in doc:
        raise RunnerError(f"the runner answered something unexpected: {json.dumps(doc)[:200]}")
    return doc


def checked_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A success document as it is; the ``HwnasError`` a failure document reports."""
    if not doc["ok"]:
        err = doc.get("error") or {}
        cls = _ERRORS.get(err.get("kind", "runner"), RunnerError)
        raise cls(err.get("message") or "the runner failed without saying why")
    return doc


def _unframed_document(stdout: str) -> dict[str, Any] | None:
    """The document of a runner from before the frame: all of stdout, or None."""
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) and "ok" in doc else None


def _no_result(stdout: str, stderr: str, returncode: int) -> str:
    """Why there is no result, from what the runner left on stdout and stderr."""
    said = f": {_tail(stderr)}" if stderr.strip() else ""
    if RESULT_BEGIN in stdout:
        return (
            f"the runner's result was cut off (exit code {returncode}){said}; it was stopped "
            f"while writing it (killed, or out of memory?): measure the model again."
        )
    chatter = ""
    if stdout.strip():
        chatter = (
            f" Its stdout held only other text ({_tail(stdout, 3)!r}), such as a shell "
            f"start-up file on the device prints (a banner, `conda activate`); that is "
            f"ignored and not the problem."
        )
    return (
        f"the runner exited with code {returncode} without a result{said}.{chatter} Check "
        f"that the device's Python runs the runner and has numpy and onnxruntime: "
        f"`hwnas devices check DEVICE` says what is missing."
    )


class RunInterrupted(RunnerError):
    """The runner was stopped by Ctrl-C/SIGINT: the job is not done, and not the model's fault."""

    kind = "interrupted"


_ERRORS["interrupted"] = RunInterrupted
