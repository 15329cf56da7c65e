"""The ``adb`` transport: an Android device over USB or TCP/IP, through Android's ``adb``.

Every call is an argument list ``[adb, "-s", SERIAL, ...]`` run without a host shell.
The device side is different: ``adb shell`` joins its arguments with spaces and hands
the result to the device's ``sh``, exactly as if typed. So :meth:`AdbTransport.run`
sends ``shlex.join(argv)``: each argument single-quoted for POSIX ``sh`` (Android's
mksh and Termux's dash/bash agree), never a user string unquoted.

The exit status. With the shell protocol (adb >= 1.0.36 on the host and Android 7+ on
the device) ``adb shell`` returns the command's exit status and keeps stdout and
stderr apart. Older pairs return 0 whatever happened, merge stderr into stdout and run
the command under a pty (``\\r\\n`` line ends). So every command is followed by
``; echo __HWNAS_EXIT__$?`` and the status is read from that marker, which is then
stripped; when the marker line ends in ``\\r\\n`` (a pty) the output's ``\\r\\n`` become
``\\n``. A missing marker means the shell never finished: the link dropped.
On those old pairs stderr still arrives inside stdout; upgrade platform-tools.

A timeout stops the local ``adb`` client. The program on the device normally dies with
the session, but adbd does not promise it on every Android version.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hwnas.devices.transport import CompletedRun, RemoteFiles
from hwnas.errors import ConnectionLostError, DeviceError, RunnerError, UnreachableError
from hwnas.records import DeviceSpec

#: Where models and the runner go when the device record names no workdir. Writable by
#: the ``shell`` user on every Android; Termux's python can read it.
DEFAULT_WORKDIR = "/data/local/tmp/hwnas"

EXIT_MARKER = "__HWNAS_EXIT__"
_MARKER_AT_END = re.compile(re.escape(EXIT_MARKER) + r"(\d+)(\r?\n)?\Z")

#: A content hash becomes a file name on the device: keep it to a safe alphabet.

#: Slowest link we plan for when sizing a push's timeout (bytes per second).
_MIN_PUSH_RATE = 1_000_000

_INSTALL_HINT = (
    "install Android SDK platform-tools (https://developer.android.com/tools/releases/"
    "platform-tools, or `apt install adb`) and put adb on PATH"
)


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


class AdbTransport(RemoteFiles):
    """Runs commands on an Android device with ``adb shell`` and moves files with push/pull.

    ``spec.address`` is the adb serial (the first column of ``adb devices``, or
    ``HOST:PORT`` for a device on adb over TCP/IP). ``spec.python`` is the device's
    interpreter, typically Termux's ``/data/data/com.termux/files/usr/bin/python``.
    ``adb`` is the adb executable (a name on PATH or a path); ``timeout`` bounds each
    housekeeping call (mkdir, size check, mv, wait-for-device) and, plus one second
    per MB, each push and pull. ``run`` takes its own timeout (None: wait forever).
    """

    def __init__(self, spec: DeviceSpec, *, adb: str = "adb", timeout: float = 30.0) -> None:
        if spec.transport != "adb":
            raise ValueError(
                f"AdbTransport needs a device with transport 'adb', got {spec.transport!r} "
                f"for device {spec.name!r}"
            )
        if not spec.address:
            raise ValueError(f"device {spec.name!r}: the adb serial (address) is empty")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.spec = spec
        self.serial = spec.address
        self.adb = adb
        self.timeout = timeout
        self.python = spec.python
        self._workdir = (spec.workdir or DEFAULT_WORKDIR).rstrip("/") or "/"
        #: How many files were sent with ``adb push`` (tests check that staging skips).
        self.pushes = 0
        super().__init__()
        self._made_dirs: set[str] = set()
        # Once the device has answered, losing it is ConnectionLostError, not Unreachable.
        self._answered = False

    @property
    def workdir(self) -> str:
        return self._workdir

    # -- the Transport operations -------------------------------------------------

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        """Run ``argv`` on the device, every argument quoted; raise ``RunnerError`` on timeout."""
        args = tuple(str(a) for a in argv)
        if not args:
            raise ValueError("argv must name a program to run, got an empty list")
        try:
            return self._shell(shlex.join(args), timeout=timeout, argv=args)
        except subprocess.TimeoutExpired:
            # The link answered before, so a hang is the program's (the runner's, the
            # model's): report it per model, as LocalTransport does.
            raise RunnerError(
                f"{' '.join(args[:3])} did not finish within {timeout:.1f} s on Android device "
                f"{self.serial} and was stopped; check that the model runs at all, or lower "
                f"--max-seconds."
            ) from None

    def put(self, local: Path, remote: str) -> None:
        """``adb push`` ``local`` to ``remote`` (relative paths are under the workdir)."""
        remote = self._absolute(remote)
        self._mkdir(posixpath.dirname(remote))
        self._push(Path(local), remote)

    def get(self, remote: str, local: Path) -> None:
        """``adb pull`` ``remote`` into ``local``; ``local`` is replaced only when complete."""
        remote = self._absolute(remote)
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        size = self._remote_size(remote)
        if size is None:
            raise DeviceError(
                f"Android device {self.serial} has no file {remote} to fetch; check the path "
                f"with `adb -s {self.serial} shell ls -l {shlex.quote(remote)}`."
            )
        timeout = self.timeout + size / _MIN_PUSH_RATE
        partial = local.with_name(f".{local.name}.part-{secrets.token_hex(4)}")
        try:
            proc = self._adb(["pull", remote, str(partial)], timeout=timeout)
            self._check(proc, f"pull {remote}")
            os.replace(partial, local)
        except subprocess.TimeoutExpired:
            raise ConnectionLostError(
                f"adb pull of {remote} from Android device {self.serial} did not finish "
                f"within {timeout:.1f} s; check the cable and `adb devices`, and retry."
            ) from None
        finally:
            partial.unlink(missing_ok=True)

    def reconnect(self) -> None:
        """Wait (up to ``timeout``) for the device to be back and check that it answers.

        A ``HOST:PORT`` serial is reconnected with ``adb connect`` first. Staged files
        are checked on the device again before their next use.
        """
        self._forget_staged()
        self._made_dirs.clear()
        try:
            if re.fullmatch(r".+:\d+", self.serial):
                self._adb(["connect", self.serial], timeout=self.timeout)
            proc = self._adb(["wait-for-device"], timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise UnreachableError(
                f"Android device {self.serial} did not come back within {self.timeout:.1f} s. "
                f"Check the cable (or network), that USB debugging is on and this computer is "
                f"authorized, and that `adb devices` lists it as 'device'."
            ) from None
        self._check(proc, "wait-for-device")
        self._shell_ok("true", "answer after reconnecting")

    def close(self) -> None:
        """Nothing to release: every adb call is its own process. Safe to call twice."""

    def __enter__(self) -> AdbTransport:
        return self

    # -- adb plumbing ---------------------------------------------------------------

    def _adb(
        self, args: Sequence[str], *, timeout: float | None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``adb -s SERIAL *args`` (no host shell); a timeout propagates as such."""
        cmd = [self.adb, "-s", self.serial, *args]
        try:
            # Bytes, not text=True: universal newlines would rewrite a lone \r in the
            # output; line ends are only undone where a pty made them (see _shell).
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,  # adb shell forwards stdin; never let it eat ours
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise DeviceError(
                f"cannot run adb ({self.adb!r}: {exc.strerror or exc}) to reach Android device "
                f"{self.serial}; {_INSTALL_HINT}."
            ) from None
        return subprocess.CompletedProcess(
            cmd,
            proc.returncode,
            proc.stdout.decode("utf-8", errors="replace"),
            proc.stderr.decode("utf-8", errors="replace"),
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        """Raise the right error when an adb call failed; remember that the device answered."""
        if proc.returncode == 0:
            self._answered = True
            return
        raise self._failure(proc, what)

    def _failure(self, proc: subprocess.CompletedProcess[str], what: str) -> DeviceError:
        """Classify a failed adb call by what adb printed."""
        said = (proc.stderr.strip() or proc.stdout.strip()) or f"exit status {proc.returncode}"
        low = said.lower()
        lost = ConnectionLostError if self._answered else UnreachableError
        see = "then check that `adb devices` lists it as 'device'"
        if "offline" in low:
            return lost(
                f"Android device {self.serial} is offline ({_tail(said)}). Replug it, or run "
                f"`adb reconnect`, {see}."
            )
        if "unauthorized" in low or "authorizing" in low:
            return lost(
                f"Android device {self.serial} has not authorized this computer "
                f"({_tail(said)}). Unlock it and accept the USB debugging prompt, {see}."
            )
        if "not found" in low and ("device" in low or "emulator" in low):
            return lost(
                f"adb does not see Android device {self.serial} ({_tail(said)}). Check the "
                f"cable and that USB debugging is on, {see}; the serial is its first column."
            )
        if any(s in low for s in ("no devices", "cannot connect to daemon", "start daemon")):
            return lost(
                f"adb cannot reach Android device {self.serial} ({_tail(said)}). Start adb "
                f"with `adb start-server`, {see}."
            )
        if any(s in low for s in ("closed", "connection reset", "broken pipe", "protocol fault")):
            return ConnectionLostError(
                f"the adb connection to Android device {self.serial} dropped during {what} "
                f"({_tail(said)}); {see}, and retry."
            )
        return DeviceError(f"adb {what} failed on Android device {self.serial}: {_tail(said)}")

    def _shell(
        self, script: str, *, timeout: float | None, argv: tuple[str, ...] = ()
    ) -> CompletedRun:
        """Run a (quoted!) shell script on the device; its exit status comes from the marker."""
        proc = self._adb(["shell", f"{script}; echo {EXIT_MARKER}$?"], timeout=timeout)
        match = _MARKER_AT_END.search(proc.stdout)
        if match is None:
            if proc.returncode != 0:
                raise self._failure(proc, "shell")
            raise ConnectionLostError(
                f"adb shell on Android device {self.serial} ended before the command finished "
                f"(no exit status came back: {_tail(proc.stderr) or 'no message'}). The link "
                f"probably dropped; check `adb devices` and retry."
            )
        self._answered = True
        stdout = proc.stdout[: match.start()]
        if match.group(2) == "\r\n":  # a pty (old adb): undo its line-end translation
            stdout = stdout.replace("\r\n", "\n")
        return CompletedRun(argv or (script,), int(match.group(1)), stdout, proc.stderr)

    def _shell_ok(self, script: str, what: str) -> CompletedRun:
        """Run a housekeeping script; raise ``DeviceError`` if it fails or hangs."""
        try:
            done = self._shell(script, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ConnectionLostError(
                f"adb did not {what} on Android device {self.serial} within "
                f"{self.timeout:.1f} s; check `adb devices` and retry."
            ) from None
        if done.returncode != 0:
            raise DeviceError(
                f"could not {what} on Android device {self.serial} "
                f"(`{script}` exited with {done.returncode}: "
                f"{_tail(done.stderr or done.stdout) or 'no message'}). Check that the workdir "
                f"{self.workdir} is writable by adb's shell user, or set another with workdir."
            )
        return done

    # -- staging primitives (RemoteFiles.stage is the one implementation) ---------------

    def _make_dirs(self, remote_dir: str) -> None:
        self._mkdir(remote_dir)

    def _upload(self, local: Path, remote: str) -> None:
        self._push(local, remote)

    def _rename(self, remote: str, target: str) -> None:
        self._shell_ok(
            f"mv -f {shlex.quote(remote)} {shlex.quote(target)}",
            "move the pushed file into place",
        )

    def _mkdir(self, path: str) -> None:
        if path not in self._made_dirs:
            self._shell_ok(f"mkdir -p {shlex.quote(path)}", f"create {path}")
            self._made_dirs.add(path)

    def _remote_size(self, path: str) -> int | None:
        """Size in bytes of the regular file ``path`` on the device, or None if absent."""
        q = shlex.quote(path)
        try:
            done = self._shell(f"[ -f {q} ] && wc -c < {q}", timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ConnectionLostError(
                f"adb did not answer within {self.timeout:.1f} s on Android device "
                f"{self.serial}; check `adb devices` and retry."
            ) from None
        try:
            return int(done.stdout.strip()) if done.returncode == 0 else None
        except ValueError:
            return None

    def _push(self, local: Path, remote: str) -> None:
        if not local.is_file():
            raise FileNotFoundError(f"cannot send {local} to the device: no such file")
        timeout = self.timeout + local.stat().st_size / _MIN_PUSH_RATE
        try:
            proc = self._adb(["push", str(local), remote], timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConnectionLostError(
                f"adb push of {local.name} to Android device {self.serial} did not finish "
                f"within {timeout:.1f} s; check the cable and `adb devices`, and retry."
            ) from None
        self.pushes += 1
        self._check(proc, f"push {local.name}")

    def _absolute(self, remote: str) -> str:
        return remote if remote.startswith("/") else posixpath.join(self.workdir, remote)
