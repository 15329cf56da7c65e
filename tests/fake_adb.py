#!/usr/bin/env python3
"""A fake ``adb`` for tests: one Android device emulated on this machine.

Run it as ``python fake_adb.py ARGS...`` (tests put a two-line shell shim named
``adb`` in front of it). It understands what ``devices/adb.py`` uses:
``-s SERIAL``, ``shell``, ``push``, ``pull``, ``wait-for-device``, ``connect`` and
``devices``, with adb's own messages and exit statuses.

The one property that matters for security is reproduced exactly: like real adb,
``shell`` joins its arguments with single spaces and hands the result to ``sh -c``,
so an unquoted ``;``, ``$(...)`` or backtick WOULD run.

The device's filesystem is this machine's, fenced for push and pull to the tree
under ``FAKE_ADB_ROOT`` (a path outside it fails as on a read-only Android
partition). A shell command cannot be fenced without privileges (no chroot), so it
runs with its working directory at ``FAKE_ADB_ROOT``; tests point the transport's
workdir inside that tree rather than at ``/data/local/tmp``.

Environment:

- ``FAKE_ADB_ROOT``: the device's tree (required).
- ``FAKE_ADB_LOG``: append each invocation's argv as one JSON line.
- ``FAKE_ADB_SERIALS``: the attached devices, comma-separated (default ``emulator-5554``).
- ``FAKE_ADB_OFFLINE=1``: every device is listed but offline.
- ``FAKE_ADB_LEGACY=1``: an old adb without the shell protocol: the command's exit status
  is lost (adb exits 0), stderr is merged into stdout and lines end in ``\\r\\n`` (a pty).
- ``FAKE_ADB_PUSH_FAIL=1``: a push writes half the file, then the link drops.
- ``FAKE_ADB_WAIT_S``: how long ``wait-for-device`` waits for an absent device (default 60).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def log_invocation(argv: list[str]) -> None:
    path = os.environ.get("FAKE_ADB_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(argv) + "\n")


def serials() -> list[str]:
    raw = os.environ.get("FAKE_ADB_SERIALS", "emulator-5554")
    return [s.strip() for s in raw.split(",") if s.strip()]


def offline() -> bool:
    return os.environ.get("FAKE_ADB_OFFLINE") == "1"


def root() -> Path:
    return Path(os.environ["FAKE_ADB_ROOT"]).resolve()


def on_device(remote: str) -> Path | None:
    """The file for an absolute device path, or None outside the fenced tree."""
    if not remote.startswith("/"):
        return None
    path = Path(os.path.normpath(remote))
    return path if path == root() or root() in path.parents else None


def cmd_devices() -> int:
    print("List of devices attached")
    for serial in serials():
        print(f"{serial}\t{'offline' if offline() else 'device'}")
    print()
    return 0


def cmd_shell(args: list[str]) -> int:
    if not args:
        return fail("fake adb: interactive shells are not emulated")
    # What real adb does: join with spaces, no quoting, and let the device's sh parse it.
    command = " ".join(args)
    if os.environ.get("FAKE_ADB_LEGACY") == "1":
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=root(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        sys.stdout.buffer.write(proc.stdout.replace(b"\n", b"\r\n"))
        sys.stdout.flush()
        return 0
    sys.stdout.flush()
    proc = subprocess.run(["/bin/sh", "-c", command], cwd=root(), stdin=subprocess.DEVNULL)
    rc = proc.returncode
    return 128 - rc if rc < 0 else rc  # a signal, reported as sh would


def cmd_push(args: list[str]) -> int:
    if len(args) != 2:
        return fail("adb: usage: push LOCAL REMOTE (the fake takes exactly one file)")
    local, remote = Path(args[0]), args[1]
    if not local.is_file():
        return fail(f"adb: error: cannot stat '{local}': No such file or directory")
    target = on_device(remote)
    if target is None:
        return fail(
            f"adb: error: failed to copy '{local}' to '{remote}': remote couldn't create file: "
            f"Read-only file system"
        )
    if remote.endswith("/") or target.is_dir():
        target = target / local.name
    target.parent.mkdir(parents=True, exist_ok=True)  # adbd creates parents too
    data = local.read_bytes()
    if os.environ.get("FAKE_ADB_PUSH_FAIL") == "1":
        target.write_bytes(data[: len(data) // 2])
        return fail(f"adb: error: failed to copy '{local}' to '{remote}': connection reset")
    target.write_bytes(data)
    print(f"{local}: 1 file pushed, 0 skipped. ({len(data)} bytes in 0.001s)")
    return 0


def cmd_pull(args: list[str]) -> int:
    if len(args) != 2:
        return fail("adb: usage: pull REMOTE LOCAL (the fake takes exactly one file)")
    remote, local = args[0], Path(args[1])
    source = on_device(remote)
    if source is None or not source.is_file():
        return fail(
            f"adb: error: failed to stat remote object '{remote}': No such file or directory"
        )
    if local.is_dir():
        local = local / source.name
    shutil.copyfile(source, local)
    print(f"{remote}: 1 file pulled, 0 skipped.")
    return 0


def main(argv: list[str]) -> int:
    log_invocation(argv)
    serial = None
    if len(argv) >= 2 and argv[0] == "-s":
        serial, argv = argv[1], argv[2:]
    if not argv:
        return fail("adb: usage: no command specified")
    command, args = argv[0], argv[1:]
    if command == "devices":
        return cmd_devices()
    if command == "connect":
        target = args[0] if args else ""
        if target in serials():
            print(f"already connected to {target}")
            return 0
        print(f"failed to connect to '{target}': Connection refused")
        return 1
    if command == "wait-for-device":
        if (serial is None or serial in serials()) and not offline():
            return 0
        time.sleep(float(os.environ.get("FAKE_ADB_WAIT_S", "60")))
        return fail("fake adb: gave up waiting for the device")
    # The rest talk to one device: pick it as adb does.
    attached = serials()
    if serial is None:
        if not attached:
            return fail("error: no devices/emulators found")
        if len(attached) > 1:
            return fail("error: more than one device/emulator")
    elif serial not in attached:
        return fail(f"error: device '{serial}' not found")
    if offline():
        return fail("error: device offline")
    if command == "shell":
        return cmd_shell(args)
    if command == "push":
        return cmd_push(args)
    if command == "pull":
        return cmd_pull(args)
    return fail(f"adb: unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
