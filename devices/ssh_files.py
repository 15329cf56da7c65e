"""How :class:`~hwnas.devices.ssh.SSHTransport` moves files: two ways, one interface.

* :class:`SftpFiles`: over SFTP, the normal way.
* :class:`ExecFiles`: where the server offers no SFTP subsystem (Dropbear without
  ``sftp-server``, busybox systems, OpenSSH with ``Subsystem sftp`` removed), through exec
  channels and POSIX tools: a file goes up as ``cat > PATH`` fed on the channel's stdin and
  comes down as ``cat PATH``; ``mkdir -p``, ``mv -f``, ``rm -f`` and ``wc -c`` do the rest.
  Every command is an argument list; the transport quotes it for the remote shell.

Both raise ``OSError`` (with an errno, so the transport reports it as the device's
answer, not as a dropped link) or paramiko's exceptions; the transport maps them.
"""

from __future__ import annotations

import errno
import os
import posixpath
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

import paramiko

#: Runs an argument list on the device with an optional file on stdin and a timeout;
#: returns (exit status, or None after the timeout; stdout; stderr).
Runner = Callable[[Sequence[str], Path | None, float | None], tuple[int | None, bytes, bytes]]

#: Housekeeping commands (mkdir, mv, wc ...) that take longer than this are stuck.
HOUSEKEEPING_S = 60.0


def _replace_local(local: Path, write: Callable[[Path], object]) -> None:
    """Fill a temporary file next to ``local`` with ``write``, then rename it into place,
    so a failed download never leaves a truncated file under the final name."""
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = local.with_name(f".{local.name}.part-{secrets.token_hex(4)}")
    try:
        write(partial)
        os.replace(partial, local)
    finally:
        partial.unlink(missing_ok=True)


class SftpFiles:
    """Files over an open SFTP session."""

    kind = "sftp"

    def __init__(self, sftp: paramiko.SFTPClient) -> None:
        self.sftp = sftp

    def home(self) -> str:
        return self.sftp.normalize(".")

    def size(self, path: str) -> int | None:
        try:
            return int(self.sftp.stat(path).st_size or 0)
        except FileNotFoundError:
            return None

    def makedirs(self, remote_dir: str) -> None:
        missing: list[str] = []
        current = remote_dir
        while current not in ("", "/", "."):
            try:
                self.sftp.stat(current)
                break
            except FileNotFoundError:
                missing.append(current)
                current = posixpath.dirname(current)
        for directory in reversed(missing):
            try:
                self.sftp.mkdir(directory)
            except OSError:
                self.sftp.stat(directory)  # made meanwhile by someone else is fine

    def write(self, local: Path, remote: str) -> None:
        self.sftp.put(str(local), remote, confirm=True)

    def read(self, remote: str, local: Path) -> None:
        _replace_local(local, lambda partial: self.sftp.get(remote, str(partial)))

    def rename(self, source: str, target: str) -> None:
        self.sftp.posix_rename(source, target)

    def remove(self, path: str) -> None:
        self.sftp.remove(path)

    def close(self) -> None:
        self.sftp.close()


class ExecFiles:
    """Files through exec channels, for servers without SFTP."""

    kind = "exec"

    def __init__(self, run: Runner) -> None:
        self._run = run

    def _check(
        self, argv: Sequence[str], *, stdin: Path | None = None, timeout: float | None = None
    ) -> bytes:
        """Run ``argv``; its stdout, or ``OSError`` with what the device said."""
        status, out, err = self._run(argv, stdin, timeout)
        if status is None:
            raise OSError(errno.ETIMEDOUT, f"`{argv[0]}` did not finish within {timeout:g} s")
        if status != 0:
            said = " | ".join(err.decode("utf-8", "replace").strip().splitlines()[-3:])
            raise OSError(errno.EIO, said or f"`{argv[0]}` exited with status {status}")
        return out

    def home(self) -> str:
        out = self._check(["sh", "-c", "cd && pwd -P"], timeout=HOUSEKEEPING_S)
        lines = out.decode("utf-8", "replace").strip().splitlines()
        if not lines or not lines[-1].startswith("/"):
            raise OSError(errno.EIO, "the device did not say where its home directory is")
        return lines[-1]

    def size(self, path: str) -> int | None:
        script = 'if [ -f "$1" ]; then wc -c < "$1"; else echo absent; fi'
        out = self._check(["sh", "-c", script, "sh", path], timeout=HOUSEKEEPING_S)
        last = (out.decode("utf-8", "replace").strip().splitlines() or ["absent"])[-1]
        try:
            return int(last.strip())
        except ValueError:
            return None

    def makedirs(self, remote_dir: str) -> None:
        self._check(["mkdir", "-p", remote_dir], timeout=HOUSEKEEPING_S)

    def write(self, local: Path, remote: str) -> None:
        self._check(["sh", "-c", 'cat > "$1"', "sh", remote], stdin=local)

    def read(self, remote: str, local: Path) -> None:
        data = self._check(["cat", remote])
        _replace_local(local, lambda partial: partial.write_bytes(data))

    def rename(self, source: str, target: str) -> None:
        self._check(["mv", "-f", source, target], timeout=HOUSEKEEPING_S)

    def remove(self, path: str) -> None:
        self._check(["rm", "-f", path], timeout=HOUSEKEEPING_S)

    def close(self) -> None:
        """Nothing to close: each command had its own channel."""
