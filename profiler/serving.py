"""The runner as a batch uses it: one process per device for the whole batch where the
transport can keep one running, one process per model otherwise.

Starting a runner costs about 0.4 s on a laptop (the interpreter, numpy and onnxruntime
imports), as much as timing a fast model. A :class:`RunnerSession` starts
``runner.py --serve`` once and sends it each model's command line as one JSON line on
stdin; the runner answers with the same framed document as for one model, so the
measurement is made by the same code. Each model's figures stay its own: the runner
measures each model in a child forked for it from a process that has only imported,
which resets its peak memory first (``/proc/self/clear_refs``); where it cannot, it says
so and the session runs one process per model, as before. A model whose child dies is
that model's error and the runner goes on; a model that outlives its timeout is stopped
with the runner, and the next model starts a new runner.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hwnas.devices.running import RunningCommand
from hwnas.devices.transport import Transport
from hwnas.errors import RunnerError
from hwnas.profiler.runner_output import (
    RESULT_END,
    checked_document,
    parse_runner_output,
    runner_document,
    stage_runner,
)


@dataclass(frozen=True)
class RunnerCall:
    """How one model's runner call went (for benchmarks): the host's wall time, whether a
    runner process was started for it, and the runner's own phases (``phases_s``: its
    imports, set-up (``--serve``'s checks), session creation, warm-up, timed runs, and its
    whole time)."""

    wall_s: float
    new_process: bool
    phases: Mapping[str, float] = field(default_factory=dict)


def keeps_runner(transport: Transport) -> bool:
    """Whether the transport can keep a runner running (``Transport.start``), in a class
    no less derived than the one its ``run`` comes from: a subclass that changes how
    commands run (a test's fake device, say) and not how long-lived ones start gets one
    runner process per model, so it is not bypassed."""
    mro = type(transport).__mro__
    start_owner = next(k for k in mro if "start" in vars(k))
    run_owner = next(k for k in mro if "run" in vars(k))
    return start_owner is not Transport and issubclass(start_owner, run_owner)


class RunnerSession:
    """Runs the runner for one model after another on one device.

    ``reuse`` (default True): keep one ``runner.py --serve`` process for all of them
    where the transport can (:func:`keeps_runner`); False, or a transport that cannot:
    one process per model. ``calls`` records each call (:class:`RunnerCall`); ``started``
    counts runner processes. Close it (or use it as a context manager) to end the process.
    """

    def __init__(self, transport: Transport, *, reuse: bool = True) -> None:
        self.transport = transport
        #: Whether models share a runner process (False once the device said it cannot
        #: reset a process's peak memory).
        self.reuse = reuse and keeps_runner(transport)
        self.calls: list[RunnerCall] = []
        self.started = 0
        self._command: RunningCommand | None = None

    def run(self, args: Sequence[str], *, timeout: float) -> dict[str, Any]:
        """The runner's success document for the command line ``args`` (the model's path
        and options, as ``runner.py`` takes them), or the ``HwnasError`` it reports.

        ``RunnerError`` when the runner crashed or outlived ``timeout`` s (it is stopped;
        the next call starts another); ``ConnectionLostError`` when the link went down.
        """
        started = time.perf_counter()
        if not self.reuse:
            runner = stage_runner(self.transport)
            done = self.transport.run([self.transport.python, runner, *args], timeout=timeout)
            doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
            self.started += 1
            return self._record(doc, started, new_process=True)
        for _ in range(2):  # once more in a new process when the runner asks for one
            new_process = self._command is None
            doc = self._served(args, timeout)
            if (doc.get("error") or {}).get("kind") != "fresh_process":
                return self._record(checked_document(doc), started, new_process=new_process)
            if new_process:
                break
        # A new runner cannot reset its peak memory here: one process per model from now on.
        self.reuse = False
        return self.run(args, timeout=timeout)

    def _record(self, doc: dict[str, Any], started: float, *, new_process: bool) -> dict[str, Any]:
        phases = {k: float(v) for k, v in (doc.get("phases_s") or {}).items()}
        self.calls.append(RunnerCall(time.perf_counter() - started, new_process, phases))
        return doc

    def _running(self) -> RunningCommand:
        if self._command is None:
            runner = stage_runner(self.transport)
            self._command = self.transport.start([self.transport.python, runner, "--serve"])
            self.started += 1
        return self._command

    def _served(self, args: Sequence[str], timeout: float) -> dict[str, Any]:
        """One request to the serving runner: its document as it is (failures included)."""
        command = self._running()
        try:
            command.send(json.dumps({"argv": list(args)}) + "\n")
            text = command.read_until(RESULT_END + "\n", timeout)
        except BaseException:  # the link went down, or Ctrl-C: this process is done for
            self._discard(stop=True)
            raise
        if text is None:
            self._discard(stop=True)
            raise RunnerError(
                f"the runner did not finish {_model_of(args)} within {timeout:.0f} s and was "
                f"stopped; check that the model runs at all on the device, or lower "
                f"--max-seconds (the batch goes on with a new runner process)."
            )
        returncode = 0
        if not text.rstrip().endswith(RESULT_END):  # its stdout ended: it exited
            returncode = self._discard(stop=False)
        try:
            doc = runner_document(text, command.stderr(), returncode)
        except RunnerError:
            self._discard(stop=True)
            raise
        kind = (doc.get("error") or {}).get("kind")
        if kind in ("fresh_process", "interrupted", "runner"):  # it ends after these
            self.close()
        return doc

    def _discard(self, *, stop: bool) -> int:
        """Forget the process (stopped now with ``stop``, else one whose stdout ended given
        time to exit); its exit code (-1 if unknown)."""
        command, self._command = self._command, None
        if command is None:
            return -1
        if stop:
            command.stop()
            return -1
        code = command.finish()
        if code is None:
            command.stop()
        return -1 if code is None else code

    def close(self) -> None:
        """End the runner process, if one runs (EOF on its stdin; stopped if it lingers)."""
        command, self._command = self._command, None
        if command is not None:
            command.close()

    def __enter__(self) -> RunnerSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _model_of(args: Sequence[str]) -> str:
    """The model file a runner command line names, as a message shows it."""
    model = next((a for a in args if a.endswith(".onnx")), None)
    return f"the model {model.rsplit('/', 1)[-1]}" if model else "the model"
