"""The device registry: ``devices.toml`` under ``HWNAS_HOME``, plus the built-in ``local``.

The file holds one table per device::

    [devices.pi]
    transport = "ssh"
    address = "192.0.2.10"
    user = "pi"

A table device (``transport = "table"``, with ``table``, ``space`` and ``table_sha256``:
``hwnas.devices.table``) is reached by no transport: the profiler looks its measurements
up in the table, and :func:`connect` refuses it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomllib

from hwnas.config import registry_path
from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import Transport
from hwnas.errors import (
    ConfigError,
    DataError,
    DeviceError,
    TableDeviceError,
    UnknownDeviceError,
)
from hwnas.events import ProgressCallback
from hwnas.records import DeviceSpec

LOCAL = DeviceSpec(name="local", transport="local")


def load_registry(path: Path | None = None) -> dict[str, DeviceSpec]:
    """All known devices by name; ``local`` is always there."""
    path = path or registry_path()
    devices = {"local": LOCAL}
    if not path.exists():
        return devices
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"the device registry {path} is not valid TOML ({exc}); fix or remove the file."
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the device registry {path}: {exc}") from None
    table = data.get("devices", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'devices' must be a table of device tables")
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: [devices.{name}] must be a table")
        try:
            devices[name] = DeviceSpec.from_dict({"name": name, **entry})
        except (DataError, TypeError) as exc:
            raise ConfigError(f"{path}: device {name!r} is invalid: {exc}") from None
    return devices


def _read_document(path: Path) -> Any:
    import tomlkit

    if not path.exists():
        doc = tomlkit.document()
        doc.add(
            tomlkit.comment(
                "hwnas device registry: `hwnas devices add|remove` edit it; "
                "hand edits and comments are kept."
            )
        )
        return doc
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit raises its own ParseError subclasses
        raise ConfigError(
            f"the device registry {path} is not valid TOML ({exc}); fix or remove the file."
        ) from None


def _write_document(path: Path, doc: Any) -> None:
    import tomlkit

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".devices.", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(tomlkit.dumps(doc))
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise ConfigError(
            f"cannot write the device registry {path}: {exc.strerror or exc}; check the "
            f"permissions of {path.parent} or set HWNAS_HOME to a writable directory."
        ) from None


def add_device(spec: DeviceSpec, *, path: Path | None = None, replace: bool = False) -> Path:
    """Record ``spec`` in the registry (comments and other devices untouched)."""
    import tomlkit

    path = path or registry_path()
    if spec.name == "local":
        raise ConfigError("'local' is built in (this machine); pick another name.")
    doc = _read_document(path)
    load_registry(path)  # refuse to extend a registry that is already broken
    devices = doc.get("devices")
    if devices is None:
        devices = tomlkit.table(is_super_table=True)
        doc["devices"] = devices
    if spec.name in devices and not replace:
        raise ConfigError(
            f"device {spec.name!r} is already registered in {path}; remove it first "
            f"(`hwnas devices remove {spec.name}`) or pass --replace."
        )
    entry = tomlkit.table()
    defaults = DeviceSpec(name=spec.name)
    for key, value in spec.to_dict().items():
        if key in ("name", "schema_version") or value is None:
            continue
        if key != "transport" and value == getattr(defaults, key):
            continue
        entry[key] = value
    devices[spec.name] = entry
    _write_document(path, doc)
    return path


def remove_device(name: str, *, path: Path | None = None) -> Path:
    """Delete ``name`` from the registry; an unknown name lists the known ones."""
    path = path or registry_path()
    get_device(name, path=path)
    if name == "local":
        raise ConfigError("'local' is built in and cannot be removed.")
    doc = _read_document(path)
    del doc["devices"][name]
    _write_document(path, doc)
    return path


def get_device(name: str, *, path: Path | None = None) -> DeviceSpec:
    """The device called ``name``, or an error that lists the known ones."""
    devices = load_registry(path)
    if name not in devices:
        known = ", ".join(sorted(devices))
        raise UnknownDeviceError(
            f"unknown device {name!r}; known devices: {known}. Register it with "
            f"`hwnas devices add {name} --ssh USER@HOST` or pick one of those."
        )
    return devices[name]


def connect(
    spec: DeviceSpec,
    *,
    trust_on_first_use: bool = False,
    progress: ProgressCallback | None = None,
) -> Transport:
    """Open a transport to ``spec``. One per batch; close it when done.

    ``trust_on_first_use``: record an SSH host key not yet known; the recorded key (type,
    fingerprint, file) is reported as a ``note`` event on ``progress`` and kept in the
    transport's ``recorded_host_key``.
    """
    if spec.transport == "table":
        raise TableDeviceError(
            f"device {spec.name!r} is a table device (its measurements come from "
            f"{spec.table}): it runs no models, so it cannot be connected to. It answers "
            f"`hwnas profile --space {spec.space} --sample N --device {spec.name}` "
            f"(hwnas.profile_space) from its table; `hwnas devices check {spec.name}` "
            f"reports the table."
        )
    if spec.transport == "local":
        # The built-in device runs the runner under hwnas's own interpreter; another local
        # device (a second venv, say) uses the interpreter it was registered with.
        custom = spec.name != "local" and spec.python != DeviceSpec(name="x").python
        return LocalTransport(python=spec.python if custom else None)
    if spec.transport == "ssh":
        from hwnas.devices.ssh import SSHTransport

        return SSHTransport(spec, trust_on_first_use=trust_on_first_use, progress=progress)
    if spec.transport == "adb":
        from hwnas.devices.adb import AdbTransport

        return AdbTransport(spec)
    raise DeviceError(
        f"device {spec.name!r} uses transport {spec.transport!r}, which this version of hwnas "
        f"cannot reach yet; use the local device."
    )
