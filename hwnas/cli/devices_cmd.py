"""`hwnas devices add | list | remove | check`: the device registry and what a device has."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table

from hwnas.cli._common import JsonOption, err, fail, note, out, print_json, warn
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(help="Devices to measure on: register them over SSH or adb, check them.")

MIN_PYTHON = (3, 8)
_SSH_TARGET = re.compile(
    r"^(?P<user>[^@\s]+)@(?P<host>\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+)"
    r"(?::(?P<port>\d+))?$"
)


def parse_ssh_target(text: str) -> tuple[str, str, int | None]:
    """(user, host, port) from USER@HOST[:PORT]; IPv6 hosts in brackets."""
    match = _SSH_TARGET.match(text.strip())
    if not match:
        raise UsageError(
            f"--ssh {text!r} is not USER@HOST[:PORT]; for example pi@192.168.1.20 or "
            f"u0_a123@phone.local:8022 (IPv6: pi@[fe80::1]:22)"
        )
    host = match["host"].strip("[]")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise UsageError(f"--ssh {text!r}: port {port} is not in 1..65535")
    return match["user"], host, port


@app.command("add")
def add(
    name: str = typer.Argument(..., help="A short name, e.g. pi4 or pixel7."),
    ssh: str | None = typer.Option(None, "--ssh", help="USER@HOST[:PORT] of an SSH device."),
    adb: str | None = typer.Option(None, "--adb", help="Serial of an adb device."),
    key: str | None = typer.Option(None, "--key", help="Private key file (else ssh-agent)."),
    known_hosts: str | None = typer.Option(
        None, "--known-hosts", help="known_hosts file to verify the host key against."
    ),
    python: str = typer.Option("python3", "--python", help="Python on the device."),
    workdir: str | None = typer.Option(
        None, "--workdir", help="Where hwnas keeps its files on the device."
    ),
    threads: int | None = typer.Option(None, "--threads", help="Default intra-op threads."),
    energy: str = typer.Option(
        "none", "--energy", help="Energy meter: rapl, power_supply, hwmon, auto or none."
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a device of that name."),
    as_json: bool = JsonOption,
) -> None:
    """Register a device (nothing is contacted; run `hwnas devices check NAME` next)."""
    from pathlib import Path

    from hwnas.devices.registry import add_device
    from hwnas.errors import DataError
    from hwnas.records import DeviceSpec

    try:
        if (ssh is None) == (adb is None):
            raise UsageError("give exactly one of --ssh USER@HOST[:PORT] or --adb SERIAL")
        from hwnas.profiler.settings import ENERGY_BACKENDS

        if energy not in ENERGY_BACKENDS:
            raise UsageError(f"--energy {energy!r}: use one of {', '.join(ENERGY_BACKENDS)}")
        fields: dict[str, Any] = {
            "name": name,
            "python": python,
            "workdir": workdir,
            "threads": threads,
            "energy": energy,
        }
        if ssh is not None:
            user, host, port = parse_ssh_target(ssh)
            fields |= {"transport": "ssh", "address": host, "user": user, "port": port}
            if key is not None:
                if not Path(key).expanduser().is_file():
                    raise UsageError(f"--key {key}: no such file; give the private key's path")
                fields["key"] = str(Path(key).expanduser().resolve())
            if known_hosts is not None:
                fields["known_hosts"] = str(Path(known_hosts).expanduser().resolve())
        else:
            if key is not None or known_hosts is not None:
                raise UsageError("--key and --known-hosts are for --ssh devices only")
            fields |= {"transport": "adb", "address": adb}
        try:
            spec = DeviceSpec(**fields)
        except DataError as exc:
            raise UsageError(exc.message) from None
        path = add_device(spec, replace=replace)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"device": spec.to_dict(), "registry": str(path)})
        return
    note(f"registered {name!r} in {path}; check it with: hwnas devices check {name}")


@app.command("list")
def list_devices(as_json: bool = JsonOption) -> None:
    """The registered devices (``local`` is always there)."""
    from hwnas.devices.registry import load_registry

    try:
        devices = load_registry()
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"devices": [d.to_dict() for d in devices.values()]})
        return
    table = Table(title="Devices", title_justify="left")
    for col in ("name", "transport", "address", "python", "workdir"):
        table.add_column(col, overflow="fold")
    for d in devices.values():
        where = (
            "this machine"
            if d.transport == "local"
            else (
                f"{d.user + '@' if d.user else ''}{d.address}{':' + str(d.port) if d.port else ''}"
            )
        )
        table.add_row(
            d.name, d.transport, where, d.python if d.transport != "local" else "", d.workdir or ""
        )
    out.print(table)


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The device to forget.")) -> None:
    """Remove a device from the registry (its measurements stay in the store)."""
    from hwnas.devices.registry import remove_device

    try:
        path = remove_device(name)
    except HwnasError as exc:
        fail(exc)
    note(f"removed {name!r} from {path}; its measurements stay in the store")


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
    lacking = [m for m in ("numpy", "onnxruntime") if not report.get(m)]
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


def probe(transport: Any, workdir: str | None) -> dict[str, Any]:
    """Run the runner's --check on the device and return its report."""
    from hwnas.profiler.batch import parse_runner_output, stage_runner

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


@app.command("check")
def check(
    name: str = typer.Argument(..., help="A registered device (see `hwnas devices list`)."),
    install: bool = typer.Option(
        False, "--install", help="pip-install what the runner lacks, for the device user."
    ),
    trust_on_first_use: bool = typer.Option(
        False,
        "--trust-on-first-use",
        help="Record an SSH host key not yet in known_hosts (a changed key is still refused).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Connect and report Python, numpy, onnxruntime, CPU, governor, temperature, energy
    meters and free disk; say what is missing and how to install it."""
    from hwnas.devices.registry import connect, get_device

    installed: list[str] = []
    try:
        spec = get_device(name)
        with (
            err.status(f"connecting to {name} ..."),
            connect(spec, trust_on_first_use=trust_on_first_use) as transport,
        ):
            report = probe(transport, spec.workdir)
            problems = missing_and_fixes(report, spec.python)
            lacking = [m for m in ("numpy", "onnxruntime") if not report.get(m)]
            if install and lacking:
                err.print(f"installing {', '.join(lacking)} on {name} (this can take minutes)")
                argv = [spec.python, "-m", "pip", "install", "--user", *lacking]
                done = transport.run(argv, timeout=1800.0)
                if done.returncode != 0:
                    tail = " | ".join(done.stderr.strip().splitlines()[-3:])
                    raise HwnasError(
                        f"installing {', '.join(lacking)} on {name} failed ({tail}); install "
                        f"them by hand on the device (on Termux: pkg install python-numpy, "
                        f"then pip install onnxruntime)."
                    )
                installed = lacking
                report = probe(transport, spec.workdir)
                problems = missing_and_fixes(report, spec.python)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    ready = not any("not importable" in p["what"] or "too old" in p["what"] for p in problems)
    if as_json:
        print_json(
            {
                "device": name,
                "ready": ready,
                "report": report,
                "problems": problems,
                "installed": installed,
            }
        )
    else:
        table = Table(show_header=False, title=f"Device {name}", title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value", overflow="fold")
        meters = (
            ", ".join(
                f"{m['meter']}{'' if m.get('readable') else ' (not readable)'}"
                for m in report.get("energy_meters", [])
            )
            or "none found"
        )
        for label, value in (
            ("python", f"{report.get('python')} ({report.get('python_executable')})"),
            ("numpy", report.get("numpy") or "missing"),
            ("onnxruntime", report.get("onnxruntime") or "missing"),
            (
                "cpu",
                f"{report.get('cpu_model')}, {report.get('cores')} cores, {report.get('machine')}",
            ),
            ("governor", report.get("governor") or "unknown"),
            (
                "frequency",
                f"{report['frequency_mhz']:.0f} MHz" if report.get("frequency_mhz") else "unknown",
            ),
            (
                "temperature",
                f"{report['temperature_c']:.1f} °C"
                if report.get("temperature_c") is not None
                else "unknown",
            ),
            ("energy meters", meters),
            ("free disk", f"{report.get('disk_free_mb')} MB in {report.get('disk_checked')}"),
        ):
            table.add_row(label, str(value))
        out.print(table)
        for p in problems:
            warn(f"{p['what']}; fix: {p['fix']}")
        if installed:
            note(f"installed {', '.join(installed)}")
        note(
            f"{name} is ready to profile"
            if ready
            else f"{name} is not ready: fix the above (or rerun with --install)"
        )
    if not ready:
        raise typer.Exit(1)
