"""`hwnas devices add | list | show | remove | check`: the device registry and what a
device has (a table device: its table)."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table

from hwnas.cli._common import JsonOption, err, fail, note, out, print_json, warn
from hwnas.errors import HwnasError, UsageError
from hwnas.profiler.check import DeviceCheck, missing_and_fixes

__all__ = ["app", "missing_and_fixes", "parse_ssh_target"]

app = typer.Typer(
    help="Devices to measure on: register them over SSH or adb (or a benchmark table as a "
    "device), check them."
)

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
    table: str | None = typer.Option(
        None,
        "--table",
        help="A table device: measurements are looked up in this CSV or Parquet file "
        "(optionally .gz) with columns arch, latency_ms [, energy_mj, peak_memory_mb].",
    ),
    space: str | None = typer.Option(
        None, "--space", help="With --table: the search space of its architectures."
    ),
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
        "none",
        "--energy",
        help="Energy meter: rapl, power_supply, hwmon, pmic (Raspberry Pi 5), "
        'command:"CMD ARGS" (your meter), auto or none.',
    ),
    provider: str = typer.Option(
        "CPUExecutionProvider",
        "--provider",
        help="onnxruntime execution provider its models run on, NAME[:key=value,...] "
        "(xnnpack, nnapi, qnn, coreml, cuda, tensorrt, openvino or onnxruntime's name); "
        "`profile --provider` overrides it.",
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a device of that name."),
    as_json: bool = JsonOption,
) -> None:
    """Register a device (nothing is contacted; run `hwnas devices check NAME` next).

    With --table FILE --space SPACE the device is a benchmark table: `hwnas profile
    --space SPACE --device NAME` looks its architectures up there instead of running
    them. The table is checked now (a malformed one is refused, naming the row)."""
    from hwnas.devices.registry import add_device
    from hwnas.profiler.settings import check_provider

    described: dict[str, Any] | None = None
    try:
        if sum(x is not None for x in (ssh, adb, table)) != 1:
            raise UsageError(
                "give exactly one of --ssh USER@HOST[:PORT], --adb SERIAL or --table FILE"
            )
        if table is not None:
            if key is not None or known_hosts is not None:
                raise UsageError("--key and --known-hosts are for --ssh devices only")
            spec, described = _table_spec(name, table, space)
        else:
            if space is not None:
                raise UsageError("--space goes with --table FILE (a table device)")
            fields: dict[str, Any] = {
                "name": name,
                "python": python,
                "workdir": workdir,
                "threads": threads,
                "energy": energy,
                "execution_provider": check_provider(provider),
            }
            spec = _transport_spec(fields, ssh, adb, key, known_hosts)
        path = add_device(spec, replace=replace)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"device": spec.to_dict(), "registry": str(path), "table": described})
        return
    note(f"registered {name!r} in {path}; check it with: hwnas devices check {name}")
    if described is not None:
        note(
            f"{name} answers from {described['table']}: {described['architectures']:,} "
            f"{described['space']} architectures ({described['rows']:,} rows), "
            f"{', '.join(described['metrics'])}, looked up by {described['keyed']} form"
        )


def _table_spec(name: str, table: str, space: str | None) -> tuple[Any, dict[str, Any]]:
    """The spec of a table device and its table's description (the table checked)."""
    from hwnas.devices.table import table_device_spec
    from hwnas.errors import DataError

    if space is None:
        raise UsageError(
            "--table needs --space SPACE, the search space of its architectures (e.g. "
            "--space nb201; `hwnas spaces list`)"
        )
    from hwnas.records import DeviceSpec

    try:  # the name first, before the table is read
        DeviceSpec(name=name, transport="table", table=table, space=space)
    except DataError as exc:
        raise UsageError(exc.message) from None
    spec, loaded = table_device_spec(name, table, space)
    return spec, loaded.describe()


def _transport_spec(
    fields: dict[str, Any],
    ssh: str | None,
    adb: str | None,
    key: str | None,
    known_hosts: str | None,
) -> Any:
    """The spec of an SSH or adb device from the options."""
    from pathlib import Path

    from hwnas.errors import DataError, ParameterError
    from hwnas.profiler.settings import check_energy
    from hwnas.records import DeviceSpec

    try:
        fields["energy"] = check_energy(fields["energy"])
    except ParameterError as exc:
        raise UsageError(f"--energy {exc.message.removeprefix('energy ')}") from None
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
        return DeviceSpec(**fields)
    except DataError as exc:
        raise UsageError(exc.message) from None


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
        runs_python = d.transport not in ("local", "table")
        table.add_row(
            d.name, d.transport, _where(d), d.python if runs_python else "", d.workdir or ""
        )
    out.print(table)


def _where(d: Any) -> str:
    """Where a device is: this machine, ``user@host:port``, or a table device's table."""
    if d.transport == "local":
        return "this machine"
    if d.transport == "table":
        return f"table {d.table} ({d.space} architectures)"
    return f"{d.user + '@' if d.user else ''}{d.address}{':' + str(d.port) if d.port else ''}"


@app.command("show")
def show(
    name: str = typer.Argument(..., help="A registered device (see `hwnas devices list`)."),
    as_json: bool = JsonOption,
) -> None:
    """A device's registry entry; for a table device also whether its table is still
    there and unchanged (contacts nothing, reads no table: `devices check` does)."""
    from hwnas.devices.registry import get_device

    try:
        spec = get_device(name)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    entry = {k: v for k, v in spec.to_dict().items() if v is not None and k != "schema_version"}
    if spec.transport == "table":  # it runs nothing: the runner's fields do not apply
        fields = ("name", "transport", "table", "space", "table_sha256")
        entry = {k: entry[k] for k in fields if k in entry}
        entry["table_status"] = _table_status(spec)
    if as_json:
        print_json({"device": entry})
        return
    table = Table(show_header=False, title=f"Device {name}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field_name, value in entry.items():
        table.add_row(field_name, str(value))
    out.print(table)


def _table_status(spec: Any) -> str:
    """``unchanged``, ``changed since registration`` or ``missing``: the table file now."""
    from pathlib import Path

    from hwnas.onnx_model import file_hash

    path = Path(spec.table)
    if not path.is_file():
        return "missing"
    if spec.table_sha256 and file_hash(path) != spec.table_sha256:
        return "changed since registration"
    return "unchanged"


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The device to forget.")) -> None:
    """Remove a device from the registry (its measurements stay in the store)."""
    from hwnas.devices.registry import remove_device

    try:
        path = remove_device(name)
    except HwnasError as exc:
        fail(exc)
    note(f"removed {name!r} from {path}; its measurements stay in the store")


@app.command("check")
def check(
    name: str = typer.Argument(..., help="A registered device (see `hwnas devices list`)."),
    install: bool = typer.Option(
        False,
        "--install",
        help="pip-install what the runner lacks the way the device's Python allows: in its "
        "virtualenv, for the user, or (externally managed Python, PEP 668) in a venv at "
        "<workdir>/venv.",
    ),
    break_system_packages: bool = typer.Option(
        False,
        "--break-system-packages",
        help="With --install on an externally managed Python: pip install --user "
        "--break-system-packages instead of making a venv.",
    ),
    register_venv: bool = typer.Option(
        False,
        "--register-venv",
        help="With --install: register the venv's interpreter as the device's python.",
    ),
    trust_on_first_use: bool = typer.Option(
        False,
        "--trust-on-first-use",
        help="Record an SSH host key not yet in known_hosts and say what was recorded (a "
        "changed or revoked key is still refused).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Connect and report Python, numpy, onnxruntime, CPU, governor, temperature, energy
    meters and free disk; say what is missing and how to install it. A table device's
    check reports its table: rows, metrics, keying, content hash."""
    from hwnas.profiler.api import check_device

    try:
        if (break_system_packages or register_venv) and not install:
            raise UsageError("--break-system-packages and --register-venv go with --install")
        with err.status(f"checking {name} ..."):
            checked = check_device(
                name,
                install=install,
                break_system_packages=break_system_packages,
                register_venv=register_venv,
                trust_on_first_use=trust_on_first_use,
                # Notes: what trust on first use recorded, an installation starting.
                progress=lambda event: note(event.message or ""),
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(checked.to_dict())
    else:
        _print_check(checked)
    if not checked.ready:
        raise typer.Exit(1)


def _print_check(checked: DeviceCheck) -> None:
    """The check as a table on stdout, then each problem with its fix on stderr."""
    name, report = checked.device, checked.report
    table = Table(show_header=False, title=f"Device {name}", title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    rows = _table_rows(report) if report.get("transport") == "table" else _report_rows(report)
    for label, value in rows:
        table.add_row(label, str(value))
    out.print(table)
    for p in checked.problems:
        warn(f"{p['what']}; fix: {p['fix']}")
    if checked.installed:
        note(f"installed {', '.join(checked.installed)}")
    note(
        f"{name} is ready to profile"
        if checked.ready
        else f"{name} is not ready: fix the above (or rerun with --install)"
    )


def _table_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    changed = " (changed since registration)" if report.get("changed") else ""
    return [
        ("table", report.get("table")),
        ("space", report.get("space")),
        ("rows", f"{report.get('rows'):,} ({report.get('architectures'):,} architectures)"),
        ("metrics", ", ".join(report.get("metrics") or [])),
        ("looked up by", f"{report.get('keyed')} form"),
        ("sha256", f"{report.get('sha256')}{changed}"),
        ("fingerprint", report.get("fingerprint")),
    ]


def _caches(caches: Any) -> str:
    """cpu0's caches as "L1d 32 KiB, L2 1 MiB, L3 32 MiB" (older runners: unknown)."""
    if not isinstance(caches, dict) or not caches:
        return "unknown"
    size = {
        k: f"{v // 1024} MiB" if v >= 1024 and v % 1024 == 0 else f"{v} KiB"
        for k, v in caches.items()
    }
    return ", ".join(f"{name} {size[name]}" for name in sorted(caches))


def _report_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    meters = (
        ", ".join(
            f"{m['meter']}{'' if m.get('readable') else ' (not readable)'}"
            for m in report.get("energy_meters", [])
        )
        or "none found"
    )
    frequency = report.get("frequency_mhz")
    temperature = report.get("temperature_c")
    return [
        ("python", f"{report.get('python')} ({report.get('python_executable')})"),
        ("numpy", report.get("numpy") or "missing"),
        ("onnxruntime", report.get("onnxruntime") or "missing"),
        ("cpu", f"{report.get('cpu_model')}, {report.get('cores')} cores, {report.get('machine')}"),
        ("caches", _caches(report.get("caches_kb"))),
        ("governor", report.get("governor") or "unknown"),
        ("frequency", f"{frequency:.0f} MHz" if frequency else "unknown"),
        ("temperature", f"{temperature:.1f} °C" if temperature is not None else "unknown"),
        ("energy meters", meters),
        ("free disk", f"{report.get('disk_free_mb')} MB in {report.get('disk_checked')}"),
    ]
