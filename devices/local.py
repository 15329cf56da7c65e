"""The ``local`` device: this machine, in child processes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hwnas.devices.running import LocalCommand
from hwnas.devices.transport import CompletedRun, Transport
from hwnas.errors import DeviceError, RunnerError


class LocalTransport(Transport):
    """Runs commands as child processes of this one; files stay where they are."""

    def __init__(self, *, python: str | None = None) -> None:
        # The interpreter hwnas runs under has numpy and onnxruntime by construction.
        self.python = python or sys.executable
        #: Run commands in a session of their own, out of the terminal's reach: a Ctrl-C
        #: then stops hwnas only, and the runner finishes its model (``hwnas worker``).
        self.own_session = False

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        args = tuple(str(a) for a in argv)
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                start_new_session=self.own_session,
            )
        except subprocess.TimeoutExpired:
            # Locally a hang can only be the model's (or runner's): report it per model.
            raise RunnerError(
                f"{' '.join(args[:3])} did not finish within {timeout:.0f} s on the local device "
                f"and was stopped; check that the model runs at all, or lower --max-seconds."
            ) from None
        except OSError as exc:
            raise DeviceError(f"cannot start {args[0]!r} on the local device: {exc}") from None
        return CompletedRun(args, proc.returncode, proc.stdout, proc.stderr)

    def start(self, argv: Sequence[str]) -> LocalCommand:
        """A child process left running (in a session of its own with ``own_session``)."""
        return LocalCommand(argv, own_session=self.own_session)

    def put(self, local: Path, remote: str) -> None:
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, remote)

    def get(self, remote: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(remote, local)

    def stage(self, local: Path, *, content_hash: str, suffix: str = "") -> str:
        return str(Path(local).resolve())
