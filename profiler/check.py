"""Checking a device: can the runner measure there, and if not, what fixes it.

``check_device("pi")`` connects, runs the runner's ``--check`` (Python, numpy,
onnxruntime, CPU, governor, temperature, energy meters, free disk) and lists each
problem with the command that fixes it; with ``install=True`` it pip-installs what
the runner lacks the way the device's Python allows (in its virtualenv; for the user;
or, where the Python is externally managed (PEP 668), in a venv at ``<workdir>/venv``)
and checks again.

A table device (``hwnas.devices.table``) runs nothing: its check loads its table and
reports it (file, rows, metrics, keying, content hash, fingerprint) instead.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.errors import HwnasError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.profiler.batch import parse_runner_output, stage_runner
from hwnas.records import DeviceSpec

#: The oldest Python the runner supports on a device.
MIN_PYTHON = (3, 8)
#: What the runner imports besides the standard library.
RUNNER_PACKAGES = ("numpy", "onnxruntime")


@dataclass
class DeviceCheck:
    """What ``check_device`` found: the runner's ``report``, the ``problems`` (each a dict
    with ``what`` and ``fix``), what was ``installed``, and whether the device is ``ready``
    to profile (a problem such as a governor that is not ``performance`` does not stop it).
    """

    device: str
    report: dict[str, Any]
    problems: list[dict[str, str]]
    installed: list[str] = field(default_factory=list)
    #: The SSH host key recorded on first use (``file``, ``host``, ``key_type``,
    #: ``fingerprint``), or None when nothing was recorded.
    host_key_recorded: dict[str, str] | None = None

    @property
    def ready(self) -> bool:
        """Whether the runner can measure: Python new enough, numpy and onnxruntime there."""
        return not any(
            "not importable" in p["what"] or "too old" in p["what"] for p in self.problems
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``hwnas devices check --json`` prints."""
        return {
            "device": self.device,
            "ready": self.ready,
            "report": self.report,
            "problems": self.problems,
            "installed": self.installed,
            "host_key_recorded": self.host_key_recorded,
        }


def check_device(
    name: str,
    *,
    install: bool = False,
    break_system_packages: bool = False,
    register_venv: bool = False,
    trust_on_first_use: bool = False,
    progress: ProgressCallback | None = None,
) -> DeviceCheck:
    """Connect to the registered device ``name`` and check what the runner needs.

    ``install``: pip-install numpy and onnxruntime when they are missing, the way the
    device's Python allows, then check again (a ``note`` event on ``progress`` says so
    first: it can take minutes). In a virtualenv that is a plain ``pip install``; an
    externally managed Python (PEP 668, Debian 12 / Raspberry Pi OS Bookworm) gets a venv
    at ``<workdir>/venv`` (``--system-site-packages``) to install into, unless
    ``break_system_packages`` asks for ``pip install --user --break-system-packages``;
    elsewhere ``pip install --user``. ``register_venv``: register that venv's interpreter
    as the device's ``python`` (otherwise a problem says how). ``trust_on_first_use``:
    record an SSH host key not yet known (a changed key, a revoked key, is still
    refused); what it recorded is reported as a ``note`` event and returned in
    ``host_key_recorded``. Returns a :class:`DeviceCheck`. Raises ``UnknownDeviceError``,
    the transport's connection errors (``UnreachableError``, ``HostKeyError`` ...), and
    ``HwnasError`` when the device's Python is missing or the installation fails (with
    pip's own error lines).
    """
    from hwnas.devices.registry import connect, get_device

    spec = get_device(name)
    if spec.transport == "table":
        return check_table_device(spec)
    with connect(spec, trust_on_first_use=trust_on_first_use, progress=progress) as transport:
        recorded = getattr(transport, "recorded_host_key", None)
        host_key = recorded.to_dict() if recorded is not None else None
        report = probe(transport, spec.workdir)
        report.update(interpreter_kind(transport, spec.python))
        lacking = [m for m in RUNNER_PACKAGES if not report.get(m)]
        if not (install and lacking):
            problems = missing_and_fixes(report, spec.python)
            return DeviceCheck(name, report, problems, host_key_recorded=host_key)
        message = f"installing {', '.join(lacking)} on {name} (this can take minutes)"
        emitter(progress)(Event(kind="note", device=name, message=message))
        python = _install(transport, spec, report, lacking, break_system_packages)
        if python != spec.python and register_venv:
            from dataclasses import replace

            from hwnas.devices.registry import add_device

            add_device(replace(spec, python=python), replace=True)
            note = f"registered {python} as the python of {name}"
            emitter(progress)(Event(kind="note", device=name, message=note))
        report = probe(transport, spec.workdir, python=python)
        report.update(interpreter_kind(transport, python))
        problems = missing_and_fixes(report, python)
        if python != spec.python and not register_venv:
            problems.insert(0, _register_problem(name, spec.python, python, lacking))
        return DeviceCheck(name, report, problems, lacking, host_key_recorded=host_key)


def device_llc_kb(spec: DeviceSpec) -> int | None:
    """The last-level cache of ``spec``'s CPU in KiB, as the runner's ``--check`` reads it
    from sysfs on the device; None for a table device, where the kernel does not export
    its caches, or where the check fails (the caller goes on without it)."""
    from hwnas.devices.registry import connect

    if spec.transport == "table":
        return None
    try:
        with connect(spec) as transport:
            value = probe(transport, spec.workdir).get("llc_kb")
    except HwnasError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


_KIND_SNIPPET = (
    "import json, os, sys, sysconfig; print(json.dumps({'venv': sys.prefix != "
    "getattr(sys, 'base_prefix', sys.prefix), 'externally_managed': os.path.isfile("
    "os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))}))"
)


def check_table_device(spec: DeviceSpec) -> DeviceCheck:
    """The check of a table device: its table loaded and described (``report``: ``transport``
    ``"table"``, ``table``, ``space``, ``rows``, ``architectures``, ``metrics``, ``keyed``,
    ``sha256``, ``fingerprint``, ``changed``: whether its content changed since it was
    registered, a problem that does not stop it). Raises ``TableDeviceError`` when the
    table is gone or no longer valid, and ``SpaceError`` when its space cannot be loaded."""
    from hwnas.devices.table import open_table_device

    table, _ = open_table_device(spec)
    registered = spec.table_sha256 or ""
    changed = bool(registered) and registered != table.sha256
    report = {"transport": "table", **table.describe(), "changed": changed}
    problems = []
    if changed:
        problems.append(
            {
                "what": f"the table has changed since it was registered (sha256 "
                f"{registered[:12]} -> {table.sha256[:12]}); its measurements get "
                f"a new fingerprint, kept apart from the earlier ones",
                "fix": f"nothing is needed; to record the new content, `hwnas devices add "
                f"{spec.name} --table {table.path} --space {spec.space} --replace`",
            }
        )
    return DeviceCheck(spec.name, report, problems)


def interpreter_kind(transport: Transport, python: str) -> dict[str, bool | None]:
    """``venv`` (the interpreter runs in a virtualenv) and ``externally_managed`` (PEP
    668's EXTERNALLY-MANAGED marker is in its stdlib), None each when they cannot be told."""
    done = transport.run([python, "-c", _KIND_SNIPPET], timeout=60.0)
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return {
            "venv": bool(found["venv"]),
            "externally_managed": bool(found["externally_managed"]),
        }
    except (ValueError, IndexError, KeyError, TypeError):
        return {"venv": None, "externally_managed": None}


def _install(
    transport: Transport,
    spec: Any,
    report: dict[str, Any],
    packages: list[str],
    break_system_packages: bool,
) -> str:
    """Install ``packages`` for the device; returns the interpreter that now has them."""
    python = spec.python
    if report.get("venv"):
        argv = [python, "-m", "pip", "install", *packages]
    elif break_system_packages:
        argv = [python, "-m", "pip", "install", "--user", "--break-system-packages", *packages]
    elif report.get("externally_managed"):
        return _install_in_venv(transport, spec, packages)
    else:
        argv = [python, "-m", "pip", "install", "--user", *packages]
    done = transport.run(argv, timeout=1800.0)
    if done.returncode == 0:
        return python
    if EXTERNALLY_MANAGED in done.stderr + done.stdout and not break_system_packages:
        return _install_in_venv(transport, spec, packages)
    raise HwnasError(_install_failed(spec.name, argv, done.stderr or done.stdout))


#: What pip says when PEP 668 forbids installing into an interpreter.
EXTERNALLY_MANAGED = "externally-managed-environment"


def venv_dir(transport: Transport, workdir: str | None) -> str:
    """Where ``--install`` makes a venv on the device: ``<workdir>/venv``."""
    base = getattr(transport, "workdir", None)
    if base is None:  # a local device: this machine's paths
        base = os.path.expanduser(workdir or os.path.join("~", ".cache", "hwnas"))
    return posixpath.join(base, "venv")


def _install_in_venv(transport: Transport, spec: Any, packages: list[str]) -> str:
    """Make ``<workdir>/venv`` (seeing the system's packages) and pip-install there."""
    folder = venv_dir(transport, spec.workdir)
    python = posixpath.join(folder, "bin", "python")
    argv = [spec.python, "-m", "venv", "--system-site-packages", folder]
    done = transport.run(argv, timeout=600.0)
    if done.returncode != 0:
        raise HwnasError(
            f"{spec.python} is externally managed (PEP 668), and making a venv at {folder} "
            f"to install into failed:\n{_pip_error(done.stderr or done.stdout)}\nInstall "
            f"the venv module (Debian, Raspberry Pi OS: sudo apt install python3-venv), or "
            f"rerun with --break-system-packages."
        )
    argv = [python, "-m", "pip", "install", *packages]
    done = transport.run(argv, timeout=1800.0)
    if done.returncode != 0:
        raise HwnasError(_install_failed(spec.name, argv, done.stderr or done.stdout))
    return python


def _pip_error(text: str, limit: int = 20) -> str:
    """pip's own error lines: from its first ``error``/``ERROR`` line on, else the end."""
    lines = text.rstrip().splitlines()
    first = next((i for i, line in enumerate(lines) if re.match(r"\s*error", line, re.I)), None)
    shown = lines[first : first + limit] if first is not None else lines[-limit:]
    return "\n".join("  " + line for line in shown) or "  (pip printed nothing)"


def _install_failed(name: str, argv: list[str], text: str) -> str:
    return (
        f"installing on {name} failed; `{' '.join(argv)}` said:\n{_pip_error(text)}\n"
        f"Fix the above, or install them by hand on the device (on Termux: pkg install "
        f"python-numpy, then pip install onnxruntime)."
    )


def _register_problem(name: str, old: str, new: str, packages: list[str]) -> dict[str, str]:
    return {
        "what": f"{' and '.join(packages)} not importable by {old}: {old} is externally "
        f"managed (PEP 668), so they were installed in the venv {new}",
        "fix": f"hwnas devices add {name} ... --python {new} --replace (or rerun "
        f"`hwnas devices check {name} --install --register-venv`)",
    }


def probe(transport: Transport, workdir: str | None, python: str | None = None) -> dict[str, Any]:
    """Run the runner's ``--check`` on the device (with ``python``, else the transport's)
    and return its report.

    Raises ``HwnasError`` when the device's Python is not found, and the runner's
    errors (``RunnerError``) when it fails.
    """
    runner = stage_runner(transport)
    python = python or transport.python
    argv = [python, runner, "--check"]
    if workdir:
        argv += ["--workdir", workdir]
    done = transport.run(argv, timeout=60.0)
    if done.returncode == 127 or "not found" in done.stderr and not done.stdout.strip():
        raise HwnasError(
            f"{python!r} was not found on the device; install Python 3.8+ there or "
            f"register the right interpreter with `hwnas devices add NAME ... --python PATH "
            f"--replace`."
        )
    report: dict[str, Any] = parse_runner_output(done.stdout, done.stderr, done.returncode)["check"]
    return report


def _install_fix(report: dict[str, Any], python: str, lacking: list[str]) -> str:
    """The command that installs ``lacking`` the way ``python`` allows."""
    names = " ".join(lacking)
    if report.get("externally_managed") and not report.get("venv"):
        return (
            f"`hwnas devices check NAME --install` (makes a venv with --system-site-packages "
            f"and installs there), or {python} -m pip install --user --break-system-packages "
            f"{names}"
        )
    user = "" if report.get("venv") else " --user"
    first = "" if report.get("pip") else f" (first: {python} -m ensurepip{user})"
    return f"{python} -m pip install{user} {names}{first}"


def missing_and_fixes(report: dict[str, Any], python: str) -> list[dict[str, str]]:
    """What the runner needs that the device lacks, each with the command that fixes it."""
    problems: list[dict[str, str]] = []
    version = tuple(int(p) for p in re.findall(r"\d+", report.get("python", "0"))[:2])
    if version < MIN_PYTHON:
        problems.append(
            {
                "what": f"Python {report.get('python')} is too old (the runner needs 3.8+)",
                "fix": "install a newer Python and register it with "
                "`hwnas devices add NAME ... --python PATH --replace`",
            }
        )
    lacking = [m for m in RUNNER_PACKAGES if not report.get(m)]
    if lacking:
        problems.append({"what": f"{' and '.join(lacking)} not importable by {python}"})
        problems[-1]["fix"] = _install_fix(report, python, lacking)
    if report.get("governor") not in (None, "performance"):
        problems.append(
            {
                "what": f"CPU governor is {report.get('governor')!r}: latencies will vary",
                "fix": "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/"
                "scaling_governor",
            }
        )
    free = report.get("disk_free_mb")
    if free is not None and free < 200:
        problems.append(
            {
                "what": f"only {free:.0f} MB free in {report.get('disk_checked')}",
                "fix": "free some space or register another --workdir",
            }
        )
    return problems
