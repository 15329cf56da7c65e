"""The transport base: how hwnas talks to a device.

Shaped like httpx's transports: a small abstract base with four operations and
one documented exception tree (:mod:`hwnas.errors`). Commands are argument lists,
never shell strings; a transport that must go through a remote shell quotes each
argument itself.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CompletedRun:
    """The outcome of one command on a device."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Transport(abc.ABC):
    """Run commands and move files on one device. One instance per batch, reused."""

    #: The Python interpreter that runs the on-device runner.
    python: str

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        """Run ``argv`` on the device and wait for it; raise ``DeviceError`` on timeout."""

    @abc.abstractmethod
    def put(self, local: Path, remote: str) -> None:
        """Copy a local file to ``remote`` on the device (parents created)."""

    @abc.abstractmethod
    def get(self, remote: str, local: Path) -> None:
        """Copy ``remote`` from the device to a local file."""

    def stage(self, local: Path, *, content_hash: str, suffix: str = "") -> str:
        """Make ``local`` available on the device and return its path there.

        The default keeps files on the device under their content hash so that a
        file already sent is never sent again; ``LocalTransport`` uses files in place.
        """
        raise NotImplementedError

    def reconnect(self) -> None:  # noqa: B027 - local transports have nothing to reopen
        """Drop the connection (if any) and open a new one; raise ``ConnectionLostError``
        (or a subclass) if the device cannot be reached now. Files staged before stay
        staged on the device; they are checked again before use."""

    def close(self) -> None:  # noqa: B027 - optional hook, most transports hold nothing
        """Release the connection. Safe to call twice."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
