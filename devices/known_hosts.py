"""OpenSSH ``known_hosts`` files, read the way OpenSSH's client reads them.

A line is ``[@marker] HOSTS KEYTYPE BASE64 [comment]``. ``HOSTS`` is a comma list of
patterns (``*`` and ``?`` wildcards, ``!`` negates: a matching negated pattern rules the
line out) or one hashed name ``|1|SALT|HMAC-SHA1``. A host on another port than 22 is
looked up as ``[host]:port`` (then, if it has no key there, as plain ``host``), host
names without regard to case. The markers:

* ``@revoked``: the key must never be accepted for the hosts the line matches, whatever
  other lines say. hwnas refuses it always, also under trust on first use.
* ``@cert-authority``: host certificates signed by that key are accepted. paramiko checks
  neither a host certificate's signature nor its principals or validity, so hwnas cannot
  honour these lines: a host that only a certificate authority vouches for is refused
  with the command that adds its plain key.

Unparseable lines are skipped, as OpenSSH does. :meth:`KnownHosts.judge` decides what an
offered key is: ``known``, ``revoked``, ``changed`` (the host has other keys, a key of
another type included, as paramiko's check has it), ``cert-authority`` or ``unknown``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

from hwnas.errors import HostKeyError

DEFAULT_PORT = 22
MARKERS = ("@revoked", "@cert-authority")


def fingerprint_of(blob: bytes) -> str:
    """The OpenSSH fingerprint ``SHA256:...`` of a public key blob (``ssh-keygen -lf``)."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint(key: paramiko.PKey) -> str:
    """The key's OpenSSH-style fingerprint, ``SHA256:...`` (as ``ssh-keygen -lf`` prints)."""
    return fingerprint_of(key.asbytes())


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: ``host`` on port 22, else ``[host]:port``."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def _pattern_matches(name: str, pattern: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` any run, ``?`` one character, all else literal."""
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, name, flags=re.DOTALL) is not None


def hosts_match(hosts: str, name: str) -> bool:
    """Whether a line's host field covers ``name`` (OpenSSH's ``match_maybe_hashed``)."""
    name = name.lower()
    if hosts.startswith("|"):
        parts = hosts.split("|")
        if len(parts) != 4 or parts[1] != "1":
            return False
        try:
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        except (binascii.Error, ValueError):
            return False
        got = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
        return hmac.compare_digest(got, want)
    matched = False
    for pattern in hosts.split(","):
        negated = pattern.startswith("!")
        if _pattern_matches(name, pattern[1:] if negated else pattern):
            if negated:
                return False
            matched = True
    return matched


@dataclass(frozen=True)
class KnownHostLine:
    """One parsed known_hosts line: ``marker`` is ``""``, ``"@revoked"`` or
    ``"@cert-authority"``; ``blob`` is the public key as SSH encodes it."""

    path: Path
    lineno: int
    marker: str
    hosts: str
    key_type: str
    blob: bytes

    @property
    def where(self) -> str:
        """``FILE line N``, for messages."""
        return f"{self.path} line {self.lineno}"

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.blob)

    def pkey(self) -> paramiko.PKey | None:
        """The key as paramiko knows it; None for a type paramiko cannot load."""
        try:
            return paramiko.PKey.from_type_string(self.key_type, self.blob)
        except Exception:  # any bad blob: UnknownKeyType, SSHException, struct errors ...
            return None


def parse_line(path: Path, lineno: int, raw: str) -> KnownHostLine | None:
    """The line, or None for a comment, a blank or a line OpenSSH would skip."""
    fields = raw.split()
    if not fields or fields[0].startswith("#"):
        return None
    marker = ""
    if fields[0].startswith("@"):
        if fields[0] not in MARKERS:
            return None
        marker, fields = fields[0], fields[1:]
    if len(fields) < 3:
        return None
    hosts, key_type, b64 = fields[:3]
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not blob:
        return None
    return KnownHostLine(path, lineno, marker, hosts, key_type, blob)


@dataclass(frozen=True)
class Judgement:
    """What a known_hosts file says about an offered key: ``status`` is one of
    ``known``, ``revoked``, ``changed``, ``cert-authority`` or ``unknown``; ``line`` is
    the line that decided it (the revoking line, the recorded key, the CA line)."""

    status: str
    line: KnownHostLine | None = None


@dataclass(frozen=True)
class KnownHosts:
    """The parsed lines of one known_hosts file (a missing file has none)."""

    path: Path
    lines: tuple[KnownHostLine, ...]

    @classmethod
    def load(cls, path: Path) -> KnownHosts:
        """Read ``path``; raise ``HostKeyError`` if it exists but cannot be read."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return cls(path, ())
        except OSError as exc:
            raise HostKeyError(
                f"cannot read the known_hosts file {path}: {exc.strerror or exc}; fix its "
                f"permissions or name another file in the device's `known_hosts` setting."
            ) from None
        parsed = (parse_line(path, n, raw) for n, raw in enumerate(text.splitlines(), 1))
        return cls(path, tuple(line for line in parsed if line is not None))

    def matching(self, name: str, marker: str = "") -> list[KnownHostLine]:
        """The lines with ``marker`` whose host field covers ``name``."""
        return [ln for ln in self.lines if ln.marker == marker and hosts_match(ln.hosts, name)]

    def revoking(self, name: str, blob: bytes) -> KnownHostLine | None:
        """The first ``@revoked`` line covering ``name`` that names this key, if any."""
        return next((ln for ln in self.matching(name, "@revoked") if ln.blob == blob), None)

    def trusted_keys(self, name: str) -> list[paramiko.PKey]:
        """The plain keys recorded for ``name``, revoked ones left out."""
        keys = []
        for line in self.matching(name):
            key = line.pkey()
            if key is not None and self.revoking(name, line.blob) is None:
                keys.append(key)
        return keys

    def judge(self, host: str, port: int, key: paramiko.PKey) -> Judgement:
        """What this file says of ``key`` offered by ``host`` on ``port``.

        As OpenSSH does, a key that is new for ``[host]:port`` is looked up under the
        plain ``host`` too, and accepted if recorded there; a key revoked there is
        refused (OpenSSH would let trust on first use record it).
        """
        judgement = self._judge_name(known_hosts_name(host, port), key)
        if judgement.status == "unknown" and port != DEFAULT_PORT:
            bare = self._judge_name(host, key)
            if bare.status in ("known", "revoked"):
                return bare
        return judgement

    def _judge_name(self, name: str, key: paramiko.PKey) -> Judgement:
        blob = key.asbytes()
        revoked = self.revoking(name, blob)
        if revoked is not None:
            return Judgement("revoked", revoked)
        plain = self.matching(name)
        for line in plain:
            if line.blob == blob:
                return Judgement("known", line)
        if plain:
            same_type = [ln for ln in plain if ln.key_type == key.get_name()]
            return Judgement("changed", (same_type or plain)[0])
        authorities = self.matching(name, "@cert-authority")
        if authorities:
            return Judgement("cert-authority", authorities[0])
        return Judgement("unknown")


@dataclass(frozen=True)
class RecordedHostKey:
    """A host key recorded on first use: where, under which name, which key."""

    file: str
    host: str
    key_type: str
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "host": self.host,
            "key_type": self.key_type,
            "fingerprint": self.fingerprint,
        }

    @property
    def message(self) -> str:
        return (
            f"recorded the {self.key_type} host key {self.fingerprint} of {self.host} in "
            f"{self.file}; compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on "
            f"the device, and remove the line if they differ"
        )


def append_known_host(path: Path, name: str, key: paramiko.PKey) -> RecordedHostKey:
    """Append ``name type base64`` to ``path`` (created with parents, mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        if fh.tell() > 0:
            with path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                if existing.read(1) != b"\n":
                    line = "\n" + line
        fh.write(line)
    return RecordedHostKey(str(path), name, key.get_name(), fingerprint(key))
