"""Checking a device: can the runner measure there, and if not, what fixes it.

``check_device("pi")`` connects, runs the runner's ``--check`` (Python, numpy,
onnxruntime, CPU, governor, temperature, energy meters, free disk) and lists each
problem with the command that fixes it; with ``install=True`` it pip-installs what
the runner lacks, for the device's user, and checks again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.errors import HwnasError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.profiler.batch import parse_runner_output, stage_runner

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
    trust_on_first_use: bool = False,
    progress: ProgressCallback | None = None,
) -> DeviceCheck:
    """Connect to the registered device ``name`` and check what the runner needs.

    ``install``: pip-install (``--user``) numpy and onnxruntime when they are missing,
    then check again (a ``note`` event on ``progress`` says so first: it can take
    minutes). ``trust_on_first_use``: record an SSH host key not yet known (a changed
    key, a revoked key, is still refused); what it recorded is reported as a ``note``
    event and returned in ``host_key_recorded``. Returns a :class:`DeviceCheck`. Raises
    ``UnknownDeviceError``, the transport's connection errors (``UnreachableError``,
    ``HostKeyError`` ...), and ``HwnasError`` when the device's Python is missing or the
    installation fails.
    """
    from hwnas.devices.registry import connect, get_device

    spec = get_device(name)
    with connect(spec, trust_on_first_use=trust_on_first_use, progress=progress) as transport:
        recorded = getattr(transport, "recorded_host_key", None)
        host_key = recorded.to_dict() if recorded is not None else None
        report = probe(transport, spec.workdir)
        lacking = [m for m in RUNNER_PACKAGES if not report.get(m)]
        if not (install and lacking):
            problems = missing_and_fixes(report, spec.python)
            return DeviceCheck(name, report, problems, host_key_recorded=host_key)
        message = f"installing {', '.join(lacking)} on {name} (this can take minutes)"
        emitter(progress)(Event(kind="note", device=name, message=message))
        _pip_install(transport, spec.python, lacking, name)
        report = probe(transport, spec.workdir)
        problems = missing_and_fixes(report, spec.python)
        return DeviceCheck(name, report, problems, lacking, host_key_recorded=host_key)


def _pip_install(transport: Transport, python: str, packages: list[str], name: str) -> None:
    argv = [python, "-m", "pip", "install", "--user", *packages]
    done = transport.run(argv, timeout=1800.0)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise HwnasError(
            f"installing {', '.join(packages)} on {name} failed ({tail}); install "
            f"them by hand on the device (on Termux: pkg install python-numpy, "
            f"then pip install onnxruntime)."
        )


def probe(transport: Transport, workdir: str | None) -> dict[str, Any]:
    """Run the runner's ``--check`` on the device and return its report.

    Raises ``HwnasError`` when the device's Python is not found, and the runner's
    errors (``RunnerError``) when it fails.
    """
    runner = stage_runner(transport)
    argv = [transport.python, runner, "--check"]
    if workdir:
        argv += ["--workdir", workdir]
    done = transport.run(argv, timeout=60.0)
    if done.returncode == 127 or "not found" in done.stderr and not done.stdout.strip():
        raise HwnasError(
            f"{transport.python!r} was not found on the device; install Python 3.8+ there or "
            f"register the right interpreter with `hwnas devices add NAME ... --python PATH "
            f"--replace`."
        )
    report: dict[str, Any] = parse_runner_output(done.stdout, done.stderr, done.returncode)["check"]
    return report


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
        problems.append(
            {
                "what": f"{' and '.join(lacking)} not importable by {python}",
                "fix": f"{python} -m pip install --user {' '.join(lacking)}"
                + ("" if report.get("pip") else f" (first: {python} -m ensurepip --user)"),
            }
        )
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
