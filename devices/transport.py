"""The transport base: how hwnas talks to a device.

Shaped like httpx's transports: a small abstract base with four operations and
one documented exception tree (:mod:`hwnas.errors`). Commands are argument lists,
never shell strings; a transport that must go through a remote shell quotes each
argument itself.
"""

from __future__ import annotations

import abc
import hashlib
import posixpath
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hwnas.devices.running import RunningCommand
from hwnas.errors import ConnectionLostError, DeviceError, DeviceFullError, RunnerError

#: A staged file's name on a device: content hash plus suffix, nothing a shell or a path
#: could read as anything else (no separators, no leading dot or dash).
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


#: A SHA-256 in hex at the start of a line, as ``sha256sum`` and the Python fallback print it.
_SHA256_LINE = re.compile(r"^([0-9a-f]{64})(?:\s|$)", re.MULTILINE)
#: The device's Python computes a file's SHA-256 where ``sha256sum`` is missing.
_PY_SHA256 = (
    "import hashlib,sys;h=hashlib.sha256();f=open(sys.argv[1],'rb');"
    "[h.update(b) for b in iter(lambda:f.read(1<<20),b'')];print(h.hexdigest())"
)
#: Seconds a device gets to hash a staged file, plus one per this many bytes.
_HASH_BASE_S, _HASH_RATE = 60.0, 5_000_000
#: The device's Python prints the bytes free to unprivileged users on a directory's file
#: system (what ``df -Pk`` calls "Available").
_PY_FREE = "import os,sys;s=os.statvfs(sys.argv[1]);print(s.f_bavail*s.f_frsize)"
#: A staged file needs this much room beyond its size (file system blocks, metadata).
_FREE_MARGIN = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a local file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staged_name(content_hash: str, suffix: str = "") -> str:
    """``<content_hash><suffix>``, checked to be a plain file name; ``ValueError`` if not."""
    name = f"{content_hash}{suffix}"
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(
            f"content_hash and suffix must form a plain file name (letters, digits, "
            f"'_', '.', '-'; not starting with '.' or '-'), got content_hash={content_hash!r} "
            f"suffix={suffix!r}"
        )
    return name


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

    def start(self, argv: Sequence[str]) -> RunningCommand:
        """Start ``argv`` on the device and leave it running, its stdin open for
        :meth:`RunningCommand.send` (a runner serving a batch: ``runner.py --serve``).

        Raises ``NotImplementedError`` where the transport runs one command at a time;
        the caller then runs one command per job with :meth:`run`.
        """
        raise NotImplementedError(f"{type(self).__name__} runs one command at a time")

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


class RemoteFiles(Transport):
    """A transport that keeps files on the device: the one implementation of staging.

    Subclasses provide ``workdir`` and four file primitives; :meth:`stage` keeps each
    file once at ``<workdir>/files/<content_hash><suffix>``, sent to a temporary name
    and renamed into place, so an interrupted upload never leaves a truncated file under
    the final name.
    """

    def __init__(self) -> None:
        self._staged: set[str] = set()
        #: The command that printed a device file's SHA-256 on this connection.
        self._hasher: tuple[str, ...] | None = None

    def _forget_staged(self) -> None:
        """After a reconnect: check staged files (size, content) again before use."""
        self._staged.clear()
        self._hasher = None

    @property
    @abc.abstractmethod
    def workdir(self) -> str:
        """The device directory hwnas works in (staged files go to its ``files/``)."""

    @abc.abstractmethod
    def _remote_size(self, remote: str) -> int | None:
        """Size in bytes of the regular file ``remote`` on the device; None if absent."""

    @abc.abstractmethod
    def _make_dirs(self, remote_dir: str) -> None:
        """Create ``remote_dir`` and its parents on the device."""

    @abc.abstractmethod
    def _upload(self, local: Path, remote: str) -> None:
        """Send ``local`` to ``remote`` (its directory exists)."""

    @abc.abstractmethod
    def _rename(self, remote: str, target: str) -> None:
        """Move ``remote`` to ``target`` on the device, replacing it."""

    def _discard(self, remote: str) -> None:  # noqa: B027 - best effort, optional
        """Remove a partial upload after a failure (best effort)."""

    def _remote_sha256(self, remote: str, size: int) -> str | None:
        """The SHA-256 (hex) of the device file ``remote`` (``size`` bytes), computed on
        the device by ``sha256sum`` or else the device's Python, through :meth:`run`
        (argument lists only). None if neither can: the caller then sends the file again.
        """
        timeout = _HASH_BASE_S + size / _HASH_RATE
        candidates = (
            [self._hasher] if self._hasher else [("sha256sum",), (self.python, "-c", _PY_SHA256)]
        )
        for hasher in candidates:
            try:
                done = self.run([*hasher, remote], timeout=timeout)
            except RunnerError:  # too slow: treat as unknown, resend
                continue
            found = _SHA256_LINE.findall(done.stdout) if done.returncode == 0 else []
            if found:
                self._hasher = hasher
                return str(found[-1])
        return None

    def _holds(self, remote: str, local: Path) -> bool:
        """Whether the device's ``remote`` has ``local``'s content: same size (cheap, first)
        and same SHA-256, so a file of the right size but other bytes is not taken."""
        size = local.stat().st_size
        if self._remote_size(remote) != size:
            return False
        return self._remote_sha256(remote, size) == file_sha256(local)

    def stage(self, local: Path, *, content_hash: str, suffix: str = "") -> str:
        """Make ``local`` available as ``<workdir>/files/<content_hash><suffix>``.

        Not sent again if this transport staged it before (until a reconnect), or if
        the device already holds a file of the same size and SHA-256 there (checked
        once per connection); any other file under that name is replaced.
        """
        name = staged_name(content_hash, suffix)
        remote = posixpath.join(self.workdir, "files", name)
        if remote in self._staged:
            return remote
        local = Path(local)
        if not self._holds(remote, local):
            self._make_dirs(posixpath.dirname(remote))
            partial = f"{remote}.part-{secrets.token_hex(6)}"
            try:
                self._upload(local, partial)
                self._rename(partial, remote)
            except BaseException as exc:
                self._discard(partial)
                if isinstance(exc, DeviceError) and not isinstance(exc, ConnectionLostError):
                    self._raise_if_full(local, posixpath.dirname(remote), exc)
                raise
        self._staged.add(remote)
        return remote

    def _free_bytes(self, remote_dir: str) -> int | None:
        """Bytes free for us on ``remote_dir``'s file system (the device's Python says),
        or None if that cannot be found out."""
        try:
            done = self.run([self.python, "-c", _PY_FREE, remote_dir], timeout=_HASH_BASE_S)
        except DeviceError:
            return None
        lines = done.stdout.strip().splitlines() if done.returncode == 0 else []
        return int(lines[-1]) if lines and lines[-1].strip().isdigit() else None

    def _raise_if_full(self, local: Path, remote_dir: str, exc: DeviceError) -> None:
        """After a failed upload: ``DeviceFullError`` (what is free, what is needed, the
        fix) if the device lacks the room for ``local``; otherwise nothing (``exc`` stands)."""
        need = local.stat().st_size
        free = self._free_bytes(remote_dir)
        if free is None or free >= need + _FREE_MARGIN:
            return
        staged = shlex.quote(posixpath.join(self.workdir, "files"))
        raise DeviceFullError(
            f"the device's disk is full: {_mb(free)} free in {remote_dir}, {_mb(need)} "
            f"needed for {local.name} (the upload failed: {exc.message}) Free space on it "
            f"(files hwnas staged before can go: they are sent again when needed, "
            f"`rm -r {staged}` when no batch is running), or "
            f"register the device with a --workdir on a larger disk; then "
            f"`hwnas profile --resume` measures what is left."
        ) from None


def _mb(size: int) -> str:
    """``size`` bytes for a person: kB below a megabyte, MB with one decimal above."""
    return f"{size / 1e3:.0f} kB" if size < 1e6 else f"{size / 1e6:.1f} MB"
