"""The ``ssh`` device: a Raspberry Pi, a board or a server reached with OpenSSH.

Built on paramiko. Decisions worth knowing:

* **Eager connection.** ``SSHTransport(spec)`` connects (and verifies the host key and
  logs in) before it returns, so every reachability, host-key and credential problem
  shows up at once, with its own error, before any model is exported or sent.
* **Host keys are verified, never silently accepted.** Keys come from the device's
  ``known_hosts``, read as OpenSSH reads it (hashed names, wildcards, ``[host]:port``;
  see :mod:`hwnas.devices.known_hosts`). An unknown key raises :class:`HostKeyError`
  unless ``trust_on_first_use`` is set, in which case the key is appended to that file as
  ``[host]:port type base64`` (plain ``host`` on port 22), reported as a ``note`` event
  and kept in ``recorded_host_key``. A key that *differs* from the recorded one, a key
  an ``@revoked`` line names, and a host only an ``@cert-authority`` line vouches for
  (paramiko cannot verify host certificates) are always refused.
* **Commands are argument lists.** The remote command line is built with
  :func:`shlex.join` only, so no argument is ever parsed by the remote shell. It runs
  under ``sh -c 'echo "hwnas-pid:$$"; exec "$@"'``: the shell prints its PID and becomes
  the command, so on a timeout the command's own PID is known and it is stopped
  with ``kill -TERM`` (then ``kill -KILL`` after 2 s) over a second channel. This needs
  nothing beyond POSIX ``sh`` and ``kill`` on the device (no GNU ``timeout``).
* **Dead links are noticed.** SSH keepalives every 5 s plus ``TCP_USER_TIMEOUT`` of
  30 s (Linux) make the kernel drop a connection whose peer vanished; a drop during a
  command raises :class:`ConnectionLostError`, which the batch answers with
  :meth:`SSHTransport.reconnect`.
* **Files are staged by content hash** under ``<workdir>/files/``, uploaded to a
  temporary name and renamed into place, so a dropped connection never leaves a
  truncated file under the final name; a file already there is used only if its size
  and SHA-256 match (checked once per connection). The work dir is ``spec.workdir`` or
  ``~/.cache/hwnas``, with ``~`` resolved to the remote home.
* **SFTP if there is one.** Files move over SFTP; a server without the SFTP subsystem
  (Dropbear without sftp-server, busybox systems) gets them through exec channels
  (``cat > PATH`` fed on stdin, ``cat PATH``; see :mod:`hwnas.devices.ssh_files`).
"""

from __future__ import annotations

import getpass
import logging
import posixpath
import re
import select
import shlex
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko

from hwnas.devices.known_hosts import (
    DEFAULT_PORT,
    Judgement,
    KnownHostLine,
    KnownHosts,
    RecordedHostKey,
    append_known_host,
    fingerprint,
    known_hosts_name,
)
from hwnas.devices.running import CLOSE_GRACE_S, RunningCommand
from hwnas.devices.ssh_files import ExecFiles, SftpFiles
from hwnas.devices.transport import CompletedRun, RemoteFiles
from hwnas.errors import (
    AuthenticationError,
    ConnectionLostError,
    DeviceError,
    HostKeyError,
    RunnerError,
    UnreachableError,
)
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.records import DeviceSpec

# paramiko logs a traceback when a reconnect meets a server that resets before its banner
# (a device booting or shutting down); hwnas reports the failure itself, as an error with
# the fix, so the library keeps paramiko's log quiet unless the application configures it.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

__all__ = ["DEFAULT_WORKDIR", "SSHTransport", "fingerprint", "known_hosts_name"]

DEFAULT_WORKDIR = "~/.cache/hwnas"
#: Seconds between SSH keepalive messages; with TCP_USER_TIMEOUT they expose dead links.
KEEPALIVE_S = 5
#: Unacknowledged data older than this (ms) makes the kernel drop the connection (Linux).
TCP_USER_TIMEOUT_MS = 30_000
#: How long a timed-out command gets between SIGTERM and SIGKILL.
KILL_GRACE_S = 2

# The wrapper every command runs under: print the shell's PID, then become the command
# (``exec`` keeps the PID), with the arguments passed through "$@" unparsed.
_WRAPPER = 'echo "hwnas-pid:$$"; exec "$@"'
_PID_LINE = re.compile(rb"^hwnas-pid:(\d+)\n", re.MULTILINE)
# Stop PID $1: SIGTERM, wait up to KILL_GRACE_S for it to go, then SIGKILL. POSIX sh;
# fractional sleep is not POSIX, so fall back to whole seconds where it is missing.
_KILLER = (
    'kill -TERM "$1" 2>/dev/null || exit 0; n=0; '
    'while kill -0 "$1" 2>/dev/null; do '
    f'n=$((n+1)); if [ "$n" -gt {KILL_GRACE_S * 10} ]; then '
    'kill -KILL "$1" 2>/dev/null; exit 0; fi; '
    "sleep 0.1 2>/dev/null || { sleep 1; n=$((n+9)); }; done"
)
_CHUNK = 65536
_POLL_S = 0.2


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` bounded by ``timeout`` (the libc call has no timeout of its own)."""
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            result.append(exc)

    # A daemon thread: a resolver stuck past the timeout must not block interpreter exit.
    thread = threading.Thread(target=target, name=f"hwnas-resolve-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        raise TimeoutError(f"resolving {host!r} took longer than {timeout:g} s")
    if isinstance(result[0], OSError):
        raise result[0]
    return list(result[0])


def _tune_socket(sock: socket.socket) -> None:
    """TCP keepalive and a user timeout so that a vanished peer ends the connection."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", 10),
        ("TCP_KEEPINTVL", 5),
        ("TCP_KEEPCNT", 3),
        ("TCP_USER_TIMEOUT", TCP_USER_TIMEOUT_MS),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


class _KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Called when paramiko found no usable recorded key: the known_hosts file's judgement
    (revoked, changed, only a certificate authority) decides, then trust on first use."""

    def __init__(self, transport: SSHTransport) -> None:
        self.transport = transport

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        t = self.transport
        judgement = t.known.judge(t.host, t.port, key)
        if judgement.status == "known":
            return
        if judgement.status != "unknown" or not t.trust_on_first_use:
            raise t.host_key_error(judgement, key)
        t.record_host_key(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


class SSHTransport(RemoteFiles):
    """Run commands and move files on a device over SSH. Connects on construction.

    Attributes a batch or a test may read: ``python`` (the device's interpreter),
    ``uploads`` and ``bytes_uploaded`` (files and bytes sent by :meth:`put` and
    :meth:`stage`), ``known_hosts`` (the file host keys are checked against).
    """

    def __init__(
        self,
        spec: DeviceSpec,
        *,
        connect_timeout: float = 10.0,
        trust_on_first_use: bool = False,
        known_hosts: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if spec.transport != "ssh" or not spec.address:
            raise ValueError(
                f"SSHTransport needs a device with transport 'ssh' and an address, got "
                f"transport={spec.transport!r} address={spec.address!r}"
            )
        if not connect_timeout > 0:
            raise ValueError(f"connect_timeout must be > 0 seconds, got {connect_timeout!r}")
        self.spec = spec
        self.python = spec.python
        self.host: str = spec.address
        self.port: int = spec.port or DEFAULT_PORT
        self.user: str = spec.user or getpass.getuser()
        self.connect_timeout = connect_timeout
        self.trust_on_first_use = trust_on_first_use
        if spec.known_hosts:
            self.known_hosts = Path(spec.known_hosts).expanduser()
        elif known_hosts is not None:
            self.known_hosts = Path(known_hosts).expanduser()
        else:
            self.known_hosts = Path.home() / ".ssh" / "known_hosts"
        self.key_file = Path(spec.key).expanduser() if spec.key else None
        self.known = KnownHosts(self.known_hosts, ())
        #: The host key this transport recorded (trust on first use), if it recorded one.
        self.recorded_host_key: RecordedHostKey | None = None
        self._progress = emitter(progress)
        self.uploads = 0
        self.bytes_uploaded = 0
        self._client: paramiko.SSHClient | None = None
        self._file_ops: SftpFiles | ExecFiles | None = None
        self._workdir: str | None = None
        super().__init__()
        self._connect()

    # -- connection -------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def record_host_key(self, name: str, key: paramiko.PKey) -> RecordedHostKey:
        """Append ``key`` to the known_hosts file (trust on first use) and report it."""
        try:
            recorded = append_known_host(self.known_hosts, name, key)
        except OSError as exc:
            raise HostKeyError(
                f"cannot record the host key of device {self.spec.name!r} in "
                f"{self.known_hosts}: {exc.strerror or exc}. Fix the file's permissions or "
                f"name another file in the device's `known_hosts` setting."
            ) from None
        self.recorded_host_key = recorded
        message = f"device {self.spec.name}: {recorded.message}"
        self._progress(Event(kind="note", device=self.spec.name, message=message))
        return recorded

    def host_key_error(self, judgement: Judgement, key: paramiko.PKey) -> HostKeyError:
        """The error for a key the known_hosts file does not let hwnas accept."""
        line = judgement.line
        if judgement.status == "revoked" and line is not None:
            return HostKeyError(self._revoked_message(key, line.where))
        if judgement.status == "changed" and line is not None:
            return HostKeyError(self._changed_key_message(key, line))
        if judgement.status == "cert-authority" and line is not None:
            return HostKeyError(self._authority_message(key, line.where))
        return HostKeyError(self.unknown_key_message(key))

    def _offered(self, key: paramiko.PKey) -> str:
        return (
            f"a {key.get_name()} key with fingerprint {fingerprint(key)} "
            f"(on the device, `ssh-keygen -lf /etc/ssh/ssh_host_{_short_type(key)}_key.pub` "
            f"prints it)"
        )

    def _keyscan(self) -> str:
        """The shell command that appends the device's keys to the known_hosts file."""
        port = "" if self.port == DEFAULT_PORT else f"-p {self.port} "
        file = self.known_hosts
        return (
            f"mkdir -p -m 700 {shlex.quote(str(file.parent))} && ssh-keyscan {port}"
            f"{shlex.quote(self.host)} >> {shlex.quote(str(file))}"
        )

    def unknown_key_message(self, key: paramiko.PKey) -> str:
        """What to tell the user about a host key that is not in known_hosts."""
        name = self.spec.name
        return (
            f"the SSH host key of device {name!r} ({self._where}) is not in {self.known_hosts}: "
            f"the device offers {self._offered(key)}. hwnas does not connect to unverified "
            f"hosts. If that is the device's key, trust it with `hwnas devices check {name} "
            f"--trust-on-first-use` (records it in {self.known_hosts}), or record it yourself "
            f"with `{self._keyscan()}` and compare the fingerprints `ssh-keygen -lf "
            f"{shlex.quote(str(self.known_hosts))}` prints."
        )

    def _revoked_message(self, key: paramiko.PKey, where: str) -> str:
        return (
            f"the SSH host key of device {self.spec.name!r} ({self._where}) is REVOKED: "
            f"{where} marks the {key.get_name()} key {fingerprint(key)} that the device "
            f"offers as @revoked. hwnas never connects with a revoked key "
            f"(--trust-on-first-use does not override it). Give the device a new host key "
            f"(on the device: remove its /etc/ssh/ssh_host_{_short_type(key)}_key files and "
            f"run `sudo ssh-keygen -A`), then record the new key after verifying it; if the "
            f"key was revoked by mistake, delete {where}."
        )

    def _changed_key_message(self, offered: paramiko.PKey, expected: KnownHostLine) -> str:
        name = known_hosts_name(self.host, self.port)
        return (
            f"the SSH host key of device {self.spec.name!r} ({self._where}) has CHANGED: "
            f"{expected.where} records a {expected.key_type} key {expected.fingerprint}, "
            f"the device now offers a {offered.get_name()} key {fingerprint(offered)}. This "
            f"can be a man-in-the-middle attack, or the device was reinstalled; hwnas will not "
            f"connect (--trust-on-first-use does not override a changed key). If you know the "
            f"device was reinstalled, remove the old entry with `ssh-keygen -R "
            f"{shlex.quote(name)} -f {shlex.quote(str(self.known_hosts))}` and trust the new "
            f"key after verifying it."
        )

    def _authority_message(self, key: paramiko.PKey, where: str) -> str:
        return (
            f"device {self.spec.name!r} ({self._where}) has no host key in "
            f"{self.known_hosts}, only a certificate authority that vouches for it "
            f"(@cert-authority, {where}), and hwnas cannot verify SSH host certificates "
            f"(paramiko checks neither their signature nor their principals). "
            f"The device offers {self._offered(key)}; after verifying it, "
            f"add the device's plain host key with `{self._keyscan()}`. "
            f"--trust-on-first-use does not record keys of hosts a certificate authority "
            f"vouches for."
        )

    def _open_socket(self, deadline: float) -> socket.socket:
        name, where, timeout = self.spec.name, self._where, self.connect_timeout
        try:
            addresses = _resolve(self.host, self.port, timeout)
        except socket.gaierror as exc:
            raise UnreachableError(
                f"cannot reach device {name!r}: the host name {self.host!r} does not resolve "
                f"({exc.strerror or exc}). Check the address in the device registry, or use "
                f"an IP address."
            ) from None
        except (TimeoutError, OSError) as exc:
            raise UnreachableError(
                f"cannot reach device {name!r}: resolving {self.host!r} failed ({exc}). Check "
                f"this machine's DNS, or use an IP address."
            ) from None
        last: OSError | None = None
        for family, kind, proto, _, sockaddr in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = socket.socket(family, kind, proto)
            sock.settimeout(remaining)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            _tune_socket(sock)
            return sock
        if last is None or isinstance(last, TimeoutError):
            raise UnreachableError(
                f"cannot reach device {name!r} at {where}: no answer within {timeout:g} s. "
                f"Check that the device is powered on and on this network, the address and "
                f"port, and any firewall in between; on a slow link raise the connect timeout."
            )
        if isinstance(last, ConnectionRefusedError):
            raise UnreachableError(
                f"cannot reach device {name!r} at {where}: connection refused. The host is up "
                f"but nothing listens on port {self.port}: check the port, and that the SSH "
                f"server runs on the device (`sudo systemctl status ssh`)."
            )
        raise UnreachableError(
            f"cannot reach device {name!r} at {where}: {last.strerror or last}. Check the "
            f"address and this machine's network connection."
        )

    def _connect(self) -> None:
        deadline = time.monotonic() + self.connect_timeout
        if self.key_file is not None and not self.key_file.is_file():
            raise AuthenticationError(
                f"the SSH key file {self.key_file} for device {self.spec.name!r} does not "
                f"exist; fix the path (`hwnas devices add {self.spec.name} --key PATH`)."
            )
        client = paramiko.SSHClient()
        # paramiko compares the offered key with these (and prefers their type); any other
        # key goes to the policy, which asks self.known (revoked, changed, CA lines).
        self.known = KnownHosts.load(self.known_hosts)
        name = known_hosts_name(self.host, self.port)
        for key in self.known.trusted_keys(name):
            client.get_host_keys().add(name, key.get_name(), key)
        client.set_missing_host_key_policy(_KnownHostsPolicy(self))
        sock = self._open_socket(deadline)
        # Each phase (handshake, banner, auth) gets what is left of the connect timeout.
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                key_filename=str(self.key_file) if self.key_file else None,
                # A named key is the key; an agent may still hold it unlocked.
                allow_agent=True,
                look_for_keys=self.key_file is None,
                timeout=remaining,
                banner_timeout=remaining,
                auth_timeout=remaining,
                sock=sock,
            )
        except BaseException as exc:
            handshake_done = _handshake_done(client)
            client.close()
            sock.close()
            raise self._connect_error(exc, handshake_done) from None
        transport = client.get_transport()
        assert transport is not None  # connect() succeeded
        transport.set_keepalive(KEEPALIVE_S)
        self._client = client

    def _connect_error(self, exc: BaseException, handshake_done: bool) -> BaseException:
        """The error to raise for ``exc`` from paramiko's connect (``exc`` itself if ours)."""
        if isinstance(exc, HostKeyError):
            return exc
        if isinstance(exc, paramiko.BadHostKeyException):
            return self.host_key_error(self.known.judge(self.host, self.port, exc.key), exc.key)
        if isinstance(exc, paramiko.AuthenticationException):
            return AuthenticationError(self._auth_message(exc))
        if not isinstance(exc, (paramiko.SSHException, EOFError, OSError)):
            return exc  # a bug, or Ctrl-C: keep it as it is
        if handshake_done:  # e.g. a key file paramiko cannot read
            return AuthenticationError(self._auth_message(exc))
        return UnreachableError(
            f"cannot reach device {self.spec.name!r} at {self._where}: the SSH handshake "
            f"failed ({exc or type(exc).__name__}). Check that port {self.port} is the "
            f"device's SSH server and not another service."
        )

    def _auth_message(self, exc: Exception) -> str:
        login = f"{self.user}@{self.host}"
        what = f"the key {self.key_file}" if self.key_file else "ssh-agent and the default keys"
        return (
            f"device {self.spec.name!r} refused the SSH login as {login} (port {self.port}) "
            f"with {what} ({exc or type(exc).__name__}). Check the user name, that the public "
            f"key is in ~/.ssh/authorized_keys of {self.user} on the device (`ssh-copy-id -p "
            f"{self.port} {login}`), and that the key file is not passphrase-protected (or is "
            f"loaded in ssh-agent); name another key with `--key`."
        )

    def _alive(self, grace: float = 0.0) -> bool:
        """Whether the SSH connection is up; waits up to ``grace`` s for a dying one to die."""
        transport = self._client.get_transport() if self._client else None
        end = time.monotonic() + grace
        while transport is not None and transport.is_active():
            if time.monotonic() >= end:
                return True
            time.sleep(0.02)
        return False

    def _lost(self, doing: str) -> ConnectionLostError:
        return ConnectionLostError(
            f"the SSH connection to {self.spec.name} ({self._where}) dropped while {doing}; "
            f"the batch will reconnect and retry. If it keeps dropping, check the device's "
            f"power supply and network."
        )

    def _require_client(self) -> paramiko.SSHClient:
        if self._client is None:
            raise DeviceError(
                f"the SSH connection to {self.spec.name} is closed; call reconnect() first."
            )
        return self._client

    def reconnect(self) -> None:
        """Close the connection and open a new one (errors as on construction).

        Staged files stay on the device; they are checked (size and content hash) before
        their next use.
        """
        self.close()
        self._forget_staged()
        self._connect()

    def close(self) -> None:
        """Close SFTP and the SSH connection. Safe to call twice."""
        files, client = self._file_ops, self._client
        self._file_ops = self._client = None
        if files is not None:
            files.close()
        if client is not None:
            client.close()

    # -- commands ---------------------------------------------------------------------

    def run(self, argv: Sequence[str], *, timeout: float | None = None) -> CompletedRun:
        """Run ``argv`` on the device; stdout and stderr are read concurrently.

        Raises :class:`ConnectionLostError` if the connection drops, and
        :class:`RunnerError` after stopping the command if it outlives ``timeout``.
        A command killed by a signal has return code -1 (SSH reports no number then).
        """
        args = tuple(str(a) for a in argv)
        if not args:
            raise ValueError("argv must name a command, got an empty sequence")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        label = _label(args)
        returncode, out, stderr = self._exec(_wrapped(args), timeout, label)
        pid, stdout = _split_pid(out)
        if returncode is None:
            self._stop_remote(pid)
            raise RunnerError(
                f"`{label}` did not finish within {timeout:g} s on device {self.spec.name} and "
                f"was stopped; check that the model runs at all on the device, or lower "
                f"--max-seconds."
            )
        return CompletedRun(
            args,
            returncode,
            stdout.decode("utf-8", errors="replace"),
            stderr.decode("utf-8", errors="replace"),
        )

    def start(self, argv: Sequence[str]) -> RunningCommand:
        """Start ``argv`` on the device on a channel of its own and leave it running (under
        the PID-printing wrapper, so :meth:`RunningCommand.stop` can stop it).

        Raises :class:`ConnectionLostError` if the connection is down, ``DeviceError``
        if the device does not start it.
        """
        args = tuple(str(a) for a in argv)
        if not args:
            raise ValueError("argv must name a command, got an empty sequence")
        label = _label(args)
        transport = self._require_client().get_transport()
        if transport is None or not transport.is_active():
            raise self._lost(f"starting `{label}`")
        try:
            chan = transport.open_session(timeout=self.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._start_failed(exc, label) from None
        try:
            chan.exec_command(_wrapped(args))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            chan.close()
            raise self._start_failed(exc, label) from None
        return _SSHCommand(self, chan, label)

    def _exec(
        self, command: str, timeout: float | None, label: str, stdin: Path | None = None
    ) -> tuple[int | None, bytes, bytes]:
        """Run a wrapped ``command`` with ``stdin`` (a local file, sent before anything is
        read) or none (EOF at once); stdout and stderr are read together until the exit
        status.

        Returns (return code, or None after ``timeout``; stdout, the PID line included;
        stderr).
        """
        client = self._require_client()
        doing = f"running `{label}`"
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            raise self._lost(doing)
        try:
            chan = transport.open_session(timeout=self.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._start_failed(exc, label) from None
        try:
            try:
                chan.exec_command(command)
                if stdin is not None:
                    _send_file(chan, stdin)
                if not chan.closed:
                    chan.shutdown_write()  # like `ssh host cmd < /dev/null`
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise self._start_failed(exc, label) from None
            try:
                return self._collect(chan, transport, timeout, doing)
            except (paramiko.SSHException, EOFError, OSError):
                if not self._alive(grace=0.2):
                    raise self._lost(doing) from None
                raise
        finally:
            chan.close()

    def _collect(
        self,
        chan: paramiko.Channel,
        transport: paramiko.Transport,
        timeout: float | None,
        doing: str,
    ) -> tuple[int | None, bytes, bytes]:
        """Read a started command's stdout and stderr until its exit status (see _exec)."""
        out, err = bytearray(), bytearray()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            out += _drain(chan.recv, chan.recv_ready)
            err += _drain(chan.recv_stderr, chan.recv_stderr_ready)
            if chan.closed or (chan.eof_received and chan.exit_status != -1):
                out += _drain(chan.recv, chan.recv_ready)
                err += _drain(chan.recv_stderr, chan.recv_stderr_ready)
                break
            if not transport.is_active():
                raise self._lost(doing)
            wait = _POLL_S
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, bytes(out), bytes(err)
                wait = min(wait, remaining)
            if chan.eof_received:
                # After EOF the channel's pipe stays readable: wait for the status.
                chan.status_event.wait(wait)
            else:
                select.select([chan], [], [], wait)
        status = chan.exit_status
        # No exit status: killed by a signal, or the link died. paramiko closes the
        # channels just before it marks the transport inactive, hence the grace.
        if status == -1 and not self._alive(grace=0.3):
            raise self._lost(doing)
        return status, bytes(out), bytes(err)

    def _run_for_files(
        self, argv: Sequence[str], stdin: Path | None, timeout: float | None
    ) -> tuple[int | None, bytes, bytes]:
        """Run ``argv`` for :class:`ExecFiles`: stdout is what the command printed (not
        what a shell start-up file printed before the PID line); a timed-out command is
        stopped."""
        args = tuple(str(a) for a in argv)
        status, out, err = self._exec(_wrapped(args), timeout, _label(args), stdin)
        pid, _ = _split_pid(out)
        if status is None:
            self._stop_remote(pid)
        return status, _after_pid(out), err

    def _start_failed(self, exc: BaseException, label: str) -> DeviceError:
        if not self._alive(grace=0.2):
            return self._lost(f"starting `{label}`")
        return DeviceError(
            f"device {self.spec.name} did not start `{label}` over SSH ({exc}); check the "
            f"SSH server's MaxSessions setting and the device's load."
        )

    def _stop_remote(self, pid: int | None) -> None:
        """Best effort: stop a timed-out command (TERM, then KILL) and wait for it."""
        if pid is None or not self._alive():
            return
        killer = ("sh", "-c", _KILLER, "hwnas-kill", str(pid))
        try:
            self._exec(_wrapped(killer), KILL_GRACE_S + 5.0, f"kill {pid}")
        except DeviceError:
            pass

    # -- files ------------------------------------------------------------------------

    @contextmanager
    def _file_errors(self, doing: str) -> Iterator[None]:
        """Map file failures: a dropped link to ConnectionLostError, the rest to DeviceError."""
        try:
            yield
        except (paramiko.SSHException, EOFError, OSError) as exc:
            # An SFTP status (no such file, permission denied) or a command's failure comes
            # as an OSError with an errno over a live link; anything else may be a link
            # that is going down.
            status = isinstance(exc, OSError) and exc.errno is not None
            if not self._alive(grace=0.0 if status else 0.2):
                raise self._lost(doing) from None
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DeviceError(
                f"device {self.spec.name}: {doing} failed: {detail or type(exc).__name__}. "
                f"Check the path, free space and permissions on the device."
            ) from None

    def _files(self) -> SftpFiles | ExecFiles:
        """SFTP, opened on first use; where the server has no SFTP subsystem, POSIX tools
        over exec channels (for the rest of this connection)."""
        if self._file_ops is None:
            sftp = self._open_sftp()
            self._file_ops = ExecFiles(self._run_for_files) if sftp is None else SftpFiles(sftp)
        return self._file_ops

    def _open_sftp(self) -> paramiko.SFTPClient | None:
        """An SFTP session, or None where the server refuses the subsystem (Dropbear
        without sftp-server: "Channel closed") or a chatty shell in front of the
        sftp-server garbles it ("Garbage packet received")."""
        transport = self._require_client().get_transport()
        chan = None
        try:
            if transport is None:
                raise EOFError("no SSH transport")
            chan = transport.open_session(timeout=self.connect_timeout)
            chan.invoke_subsystem("sftp")
            return paramiko.SFTPClient(chan)
        except (paramiko.SSHException, paramiko.SFTPError, EOFError, OSError):
            if chan is not None:
                chan.close()
            if not self._alive(grace=0.2):
                raise self._lost("opening SFTP") from None
            return None

    @property
    def file_channel(self) -> str:
        """How files move on this connection: ``"sftp"``, or ``"exec"`` without SFTP."""
        return self._files().kind

    @property
    def workdir(self) -> str:
        """The absolute work dir on the device (``~`` resolved to the remote home)."""
        if self._workdir is None:
            raw = self.spec.workdir or DEFAULT_WORKDIR
            if raw.startswith("~") and not (raw == "~" or raw.startswith("~/")):
                raise DeviceError(
                    f"device {self.spec.name}: workdir {raw!r} is not supported; use an "
                    f"absolute path or one under ~/."
                )
            path = raw
            if not raw.startswith("/"):
                with self._file_errors("finding the home directory"):
                    home = self._files().home()
                path = posixpath.join(home, raw[2:] if raw.startswith("~/") else raw.lstrip("~"))
            self._workdir = posixpath.normpath(path)
        return self._workdir

    def put(self, local: Path, remote: str) -> None:
        """Copy ``local`` to ``remote`` on the device, creating parent dirs."""
        local = Path(local)
        with self._file_errors(f"sending {local} to {remote}"):
            files = self._files()
            files.makedirs(posixpath.dirname(remote))
            files.write(local, remote)
        self.uploads += 1
        self.bytes_uploaded += local.stat().st_size

    def get(self, remote: str, local: Path) -> None:
        """Copy ``remote`` from the device to ``local`` (replaced only when complete)."""
        with self._file_errors(f"fetching {remote}"):
            self._files().read(remote, Path(local))

    # -- staging primitives (RemoteFiles.stage is the one implementation) ---------------

    def _remote_size(self, remote: str) -> int | None:
        with self._file_errors(f"checking {remote}"):
            return self._files().size(remote)

    def _make_dirs(self, remote_dir: str) -> None:
        with self._file_errors(f"creating {remote_dir}"):
            self._files().makedirs(remote_dir)

    def _upload(self, local: Path, remote: str) -> None:
        with self._file_errors(f"staging {local.name} as {remote}"):
            self._files().write(local, remote)
        self.uploads += 1
        self.bytes_uploaded += local.stat().st_size

    def _rename(self, remote: str, target: str) -> None:
        with self._file_errors(f"moving {remote} to {target}"):
            self._files().rename(remote, target)

    def _discard(self, remote: str) -> None:
        if self._alive():
            try:
                self._files().remove(remote)
            except (OSError, paramiko.SSHException, DeviceError):
                pass


class _SSHCommand(RunningCommand):
    """A command left running on its own SSH channel (:meth:`SSHTransport.start`)."""

    def __init__(self, ssh: SSHTransport, chan: paramiko.Channel, label: str) -> None:
        super().__init__(label)
        self._ssh, self._chan = ssh, chan
        #: The command's PID on the device, once the wrapper printed it.
        self.pid: int | None = None
        self._in_thread("out", self._pump_stdout)
        self._read_in_thread("err", lambda: chan.recv_stderr(_CHUNK))

    def _pump_stdout(self) -> None:
        """Read stdout to its end, the wrapper's PID line taken out; then the exit status
        (-1: killed by a signal, or the link went down: then reading fails with
        ``ConnectionLostError``)."""
        head = bytearray()  # stdout before the PID line: a shell start-up file's chatter
        failure = None
        try:
            while data := self._chan.recv(_CHUNK):
                if self.pid is None:
                    head += data
                    match = _PID_LINE.search(head)
                    if match is None:
                        continue
                    self.pid = int(match.group(1))
                    data = bytes(head[: match.start()] + head[match.end() :])
                self._feed("out", data)
            if self.pid is None:
                self._feed("out", bytes(head))
            status = self._chan.recv_exit_status()
            if status == -1 and not self._ssh._alive(grace=0.3):
                failure = self._ssh._lost(f"running `{self.label}`")
        except (paramiko.SSHException, EOFError, OSError):
            if not self._ssh._alive(grace=0.3):
                failure = self._ssh._lost(f"running `{self.label}`")
        finally:
            self._ended("out", failure)

    def send(self, text: str) -> None:
        try:
            self._chan.sendall(text.encode("utf-8"))
        except (paramiko.SSHException, EOFError, OSError):
            if not self._ssh._alive(grace=0.2):
                raise self._ssh._lost(f"running `{self.label}`") from None

    def finish(self, timeout: float = CLOSE_GRACE_S) -> int | None:
        if not self._chan.status_event.wait(timeout):
            return None
        self._join_readers(timeout)
        return self._chan.exit_status

    def stop(self) -> None:
        if not self._chan.exit_status_ready():
            self._ssh._stop_remote(self.pid)
        self._chan.close()
        self._join_readers(CLOSE_GRACE_S)

    def close(self) -> None:
        try:
            self._chan.shutdown_write()
        except (paramiko.SSHException, EOFError, OSError):
            pass
        if self.finish(CLOSE_GRACE_S) is None:
            self.stop()
        self._chan.close()


def _short_type(key: paramiko.PKey) -> str:
    """``ssh-ed25519`` -> ``ed25519``, ``ecdsa-sha2-nistp256`` -> ``ecdsa`` (key file names)."""
    name = key.get_name()
    if name.startswith("ecdsa"):
        return "ecdsa"
    return name.removeprefix("ssh-")


def _handshake_done(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return bool(transport is not None and transport.is_active() and transport.host_key)


def _label(args: tuple[str, ...]) -> str:
    text = shlex.join(args[:3])
    return text + " ..." if len(args) > 3 else text


def _wrapped(args: Sequence[str]) -> str:
    """The remote command line that runs ``args`` under the PID-printing wrapper."""
    return shlex.join(["sh", "-c", _WRAPPER, "hwnas", *args])


def _after_pid(out: bytes) -> bytes:
    """What the command itself printed: stdout after the wrapper's PID line."""
    match = _PID_LINE.search(out)
    return out if match is None else out[match.end() :]


def _send_file(chan: paramiko.Channel, local: Path) -> None:
    """Feed ``local`` to a command's stdin. A command that ends early (a full disk) closes
    the channel: stop sending, its exit status and stderr say why."""
    with local.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            try:
                chan.sendall(chunk)
            except OSError:
                if chan.closed or chan.exit_status_ready():
                    return
                raise


def _split_pid(out: bytes) -> tuple[int | None, bytes]:
    """The PID the wrapper printed, and stdout without that line.

    Whatever a chatty shell start-up file printed before it stays in stdout.
    """
    match = _PID_LINE.search(out)
    if match is None:
        return None, out
    return int(match.group(1)), out[: match.start()] + out[match.end() :]


def _drain(recv: Any, ready: Any) -> bytes:
    data = bytearray()
    while ready():
        data += recv(_CHUNK)
    return bytes(data)
