"""Commands left running on a device: fed lines on stdin, read up to a marker on stdout.

A batch keeps one runner process per device this way (``runner.py --serve``) instead of
starting one per model. :class:`RunningCommand` is the part every transport shares: two
threads read the command's stdout and stderr as they come (a command never blocks on a
full pipe), and :meth:`RunningCommand.read_until` waits, with a timeout, for the text up
to a marker. Transports that can start such commands return one from
``Transport.start``; ``LocalCommand`` is the local one (SSH's is in
:mod:`hwnas.devices.ssh`).
"""

from __future__ import annotations

import abc
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO

from hwnas.errors import DeviceError

_CHUNK = 65536
#: How long a command gets to end by itself after its stdin is closed.
CLOSE_GRACE_S = 5.0


class RunningCommand(abc.ABC):
    """A command running on a device. ``send`` writes to its stdin; ``read_until`` reads
    its stdout; ``stderr`` what it wrote there since the last call; ``finish`` waits for
    its end and gives the exit code; ``stop`` ends it now, ``close`` asks it to end (EOF
    on stdin) and stops it if it does not. Safe to stop or close twice."""

    def __init__(self, label: str) -> None:
        #: The command as error messages name it.
        self.label = label
        self._lock = threading.Condition()
        self._out = bytearray()
        self._err = bytearray()
        self._open = {"out": True, "err": True}
        #: Set by a reader when the link to the device went down (a ``ConnectionLostError``).
        self._failure: DeviceError | None = None
        self._threads: list[threading.Thread] = []

    def _read_in_thread(self, stream: str, read: Callable[[], bytes]) -> None:
        """Start a thread that reads ``stream`` ("out", "err") with ``read`` until EOF."""
        self._in_thread(stream, lambda: self._pump(stream, read))

    def _in_thread(self, stream: str, target: Callable[[], None]) -> None:
        """Start ``target``, the reader of ``stream``, in a thread of its own."""
        thread = threading.Thread(target=target, name=f"hwnas-{stream}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _pump(self, stream: str, read: Callable[[], bytes]) -> None:
        try:
            while data := read():
                self._feed(stream, data)
        except (OSError, ValueError, EOFError):  # the pipe or channel was closed under us
            pass
        finally:
            self._ended(stream)

    def _feed(self, stream: str, data: bytes) -> None:
        with self._lock:
            (self._out if stream == "out" else self._err).extend(data)
            self._lock.notify_all()

    def _ended(self, stream: str, failure: DeviceError | None = None) -> None:
        with self._lock:
            self._open[stream] = False
            self._failure = self._failure or failure
            self._lock.notify_all()

    def read_until(self, marker: str, timeout: float | None) -> str | None:
        """Stdout up to and including the first ``marker`` not read yet; all that is left
        of it if the command's stdout ends first; None if ``timeout`` s pass first (the
        command still runs: stop it). Raises the ``DeviceError`` of a link that went down.
        """
        wanted = marker.encode()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                at = self._out.find(wanted)
                if at >= 0:
                    return self._take_out(at + len(wanted))
                if self._failure is not None:
                    raise self._failure
                if not self._open["out"]:
                    return self._take_out(len(self._out))
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                self._lock.wait(wait)

    def _take_out(self, end: int) -> str:
        text = bytes(self._out[:end])
        del self._out[:end]
        return text.decode("utf-8", errors="replace")

    def stderr(self) -> str:
        """What the command wrote on stderr since the last call."""
        with self._lock:
            text = bytes(self._err).decode("utf-8", errors="replace")
            self._err.clear()
            return text

    def _join_readers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @abc.abstractmethod
    def send(self, text: str) -> None:
        """Write ``text`` to the command's stdin. A command that has ended is not an error
        here (reading its stdout says how it ended); a link that went down raises."""

    @abc.abstractmethod
    def finish(self, timeout: float = CLOSE_GRACE_S) -> int | None:
        """Wait up to ``timeout`` s for the command to end (and its output to be read);
        its exit code (-1 if killed by a signal where the device does not say), or None
        if it still runs."""

    @abc.abstractmethod
    def stop(self) -> None:
        """End the command now (SIGTERM, then SIGKILL where it lingers) and wait for it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close its stdin and give it ``CLOSE_GRACE_S`` to end by itself; then stop it."""


class LocalCommand(RunningCommand):
    """A child process of this one (:meth:`LocalTransport.start`)."""

    def __init__(self, argv: Sequence[str], *, own_session: bool = False) -> None:
        args = tuple(str(a) for a in argv)
        super().__init__(" ".join(args[:3]))
        try:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=own_session,
            )
        except OSError as exc:
            raise DeviceError(f"cannot start {args[0]!r} on the local device: {exc}") from None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._read_in_thread("out", _reader(self._proc.stdout))
        self._read_in_thread("err", _reader(self._proc.stderr))

    def send(self, text: str) -> None:
        stdin = self._proc.stdin
        try:
            if stdin is not None:
                stdin.write(text.encode("utf-8"))
                stdin.flush()
        except (OSError, ValueError):  # it ended: read_until tells how
            pass

    def finish(self, timeout: float = CLOSE_GRACE_S) -> int | None:
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._join_readers(timeout)
        self._close_pipes()
        return code

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._join_readers(CLOSE_GRACE_S)
        self._close_pipes()

    def close(self) -> None:
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:  # a broken pipe: it has ended
            pass
        if self.finish(CLOSE_GRACE_S) is None:
            self.stop()

    def _close_pipes(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


def _reader(pipe: IO[bytes]) -> Callable[[], bytes]:
    """Whatever the pipe has now (at most ``_CHUNK`` bytes), blocking for at least one."""
    read1 = getattr(pipe, "read1", None)
    return (lambda: read1(_CHUNK)) if read1 is not None else (lambda: pipe.read(1))
