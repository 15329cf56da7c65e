"""The device registry: ``devices.toml`` under ``HWNAS_HOME``, plus the built-in ``local``.

The file holds one table per device::

    [devices.pi]
    transport = "ssh"
    address = "192.0.2.10"
    user = "pi"
"""

from __future__ import annotations

from pathlib import Path

import tomllib

from devices.local import LocalTransport
from devices.transport import Transport
from hwnas.config import registry_path
from hwnas.errors import ConfigError, DataError, DeviceError, UnknownDeviceError
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


def connect(spec: DeviceSpec) -> Transport:
    """Open a transport to ``spec``. One per batch; close it when done."""
    if spec.transport == "local":
        return LocalTransport()
    raise DeviceError(
        f"device {spec.name!r} uses transport {spec.transport!r}, which this version of hwnas "
        f"cannot reach yet; use the local device."
    )
