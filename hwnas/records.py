"""The data model: plain frozen records with validation and dict round trips.

Records carry their own metadata (pyperf style) and have no behaviour beyond
validation and (de)serialisation. ``to_dict`` output is JSON-ready; ``from_dict``
accepts exactly what ``to_dict`` produced (and the same for older schema
versions once they exist) and raises :class:`~hwnas.errors.DataError` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hwnas.errors import DataError

SCHEMA_VERSION = 1

TRANSPORTS = ("local", "ssh", "adb", "table")


def stable_hash(payload: Any, *, length: int = 16) -> str:
    """Hex SHA-256 of the canonical JSON of ``payload``, cut to ``length`` characters."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _require(data: Mapping[str, Any], key: str, record: str) -> Any:
    try:
        return data[key]
    except KeyError:
        raise DataError(
            f"{record} record is missing the field {key!r}; it was written by another tool or "
            f"is corrupt. Re-create it with hwnas."
        ) from None


def _check_version(data: Mapping[str, Any], record: str) -> None:
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise DataError(
            f"{record} record has schema_version {version!r} but this hwnas reads at most "
            f"{SCHEMA_VERSION}; upgrade hwnas."
        )


@dataclass(frozen=True)
class Arch:
    """One architecture of a search space, by its canonical string."""

    space: str
    string: str
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.space or not isinstance(self.space, str):
            raise DataError(f"Arch.space must be a non-empty string, got {self.space!r}")
        if not self.string or not isinstance(self.string, str):
            raise DataError(f"Arch.string must be a non-empty string, got {self.string!r}")

    @property
    def hash(self) -> str:
        return stable_hash({"space": self.space, "string": self.string})

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "space": self.space,
            "string": self.string,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Arch:
        _check_version(data, "Arch")
        return cls(space=_require(data, "space", "Arch"), string=_require(data, "string", "Arch"))


@dataclass(frozen=True)
class DeviceSpec:
    """How to reach a device and how to run models on it.

    A ``table`` device runs nothing: its measurements are looked up in a benchmark
    table (``table``: the file's absolute path; ``space``: the search space whose
    architectures it holds, a name or ``package.module:Class``; ``table_sha256``: the
    file's content hash when it was registered, to tell that it has changed since).
    """

    name: str
    transport: str = "local"
    address: str | None = None
    user: str | None = None
    port: int | None = None
    key: str | None = None
    known_hosts: str | None = None
    python: str = "python3"
    workdir: str | None = None
    threads: int | None = None
    runtime: str = "onnxruntime"
    execution_provider: str = "CPUExecutionProvider"
    energy: str = "none"
    table: str | None = None
    space: str | None = None
    table_sha256: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not self.name or any(c.isspace() for c in self.name) or "/" in self.name:
            raise DataError(
                f"device name must be non-empty without spaces or '/', got {self.name!r}"
            )
        if self.transport not in TRANSPORTS:
            raise DataError(
                f"device {self.name!r}: transport must be one of {', '.join(TRANSPORTS)}, "
                f"got {self.transport!r}"
            )
        if self.transport == "table":
            if not self.table or not self.space:
                raise DataError(
                    f"device {self.name!r}: transport table needs a table file and a space"
                )
        elif self.table is not None or self.space is not None:
            raise DataError(
                f"device {self.name!r}: table and space are for transport table only, "
                f"not {self.transport}"
            )
        if self.transport not in ("local", "table") and not self.address:
            raise DataError(f"device {self.name!r}: transport {self.transport} needs an address")
        if self.port is not None and not 0 < self.port < 65536:
            raise DataError(f"device {self.name!r}: port must be in 1..65535, got {self.port}")
        if self.threads is not None and self.threads < 1:
            raise DataError(f"device {self.name!r}: threads must be >= 1, got {self.threads}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceSpec:
        _check_version(data, "DeviceSpec")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(
                f"device {data.get('name')!r} has unknown fields {unknown}; "
                f"allowed: {sorted(known)}"
            )
        return cls(**dict(data))


# Fields of a fingerprint that change from run to run on the same, unchanged
# machine. They are recorded but left out of the hash, or no two measurements
# would ever be comparable.
VOLATILE_FINGERPRINT_FIELDS = ("frequency_mhz", "temperature_c")


@dataclass(frozen=True)
class Fingerprint:
    """What makes two measurements comparable. ``hash`` covers all but volatile fields."""

    cpu_model: str
    cores: int
    os: str
    python: str
    onnxruntime: str
    execution_provider: str
    threads: int
    affinity: tuple[int, ...] = ()
    governor: str | None = None
    frequency_mhz: float | None = None
    temperature_c: float | None = None
    machine: str | None = None
    graph_optimization: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "affinity", tuple(int(c) for c in self.affinity))
        if self.cores < 1:
            raise DataError(f"Fingerprint.cores must be >= 1, got {self.cores}")
        if self.threads < 0:
            raise DataError(f"Fingerprint.threads must be >= 0, got {self.threads}")

    def stable_fields(self) -> dict[str, Any]:
        """The fields that decide comparability (everything but volatile readings)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (*VOLATILE_FINGERPRINT_FIELDS, "schema_version"):
            out.pop(name)
        out["affinity"] = list(self.affinity)
        return out

    @property
    def hash(self) -> str:
        return stable_hash(self.stable_fields())

    def differences(self, other: Fingerprint) -> dict[str, tuple[Any, Any]]:
        """Stable fields whose values differ, as ``{field: (self, other)}``."""
        mine, theirs = self.stable_fields(), other.stable_fields()
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["affinity"] = list(self.affinity)
        out["hash"] = self.hash
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        _check_version(data, "Fingerprint")
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("cpu_model", "cores", "os", "python", "onnxruntime"):
            _require(data, key, "Fingerprint")
        kwargs.setdefault("execution_provider", "CPUExecutionProvider")
        kwargs.setdefault("threads", 0)
        try:
            fp = cls(**kwargs)
        except TypeError as exc:
            raise DataError(f"Fingerprint record is malformed: {exc}") from None
        if "hash" in data and data["hash"] != fp.hash:
            raise DataError(
                f"Fingerprint record says hash {data['hash']!r} but its fields hash to "
                f"{fp.hash!r}; the record was edited or is corrupt."
            )
        return fp


LATENCY_KEYS = ("n", "median", "mean", "std", "p10", "p90", "p99", "ci_low", "ci_high")


@dataclass(frozen=True)
class LatencyStats:
    """Summary of a latency distribution in milliseconds; CI is of the median (95%)."""

    n: int
    median: float
    mean: float
    std: float
    p10: float
    p90: float
    p99: float
    ci_low: float
    ci_high: float

    def __post_init__(self) -> None:
        if self.n < 1:
            raise DataError(f"LatencyStats.n must be >= 1, got {self.n}")
        values = [getattr(self, k) for k in LATENCY_KEYS[1:]]
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise DataError(f"LatencyStats values must be finite and >= 0, got {values}")
        if not self.ci_low <= self.median <= self.ci_high:
            raise DataError(
                f"LatencyStats: the median {self.median} lies outside its CI "
                f"[{self.ci_low}, {self.ci_high}]"
            )

    @property
    def ci_half_width(self) -> float:
        """The larger distance from the median to an end of its CI (conservative)."""
        return max(self.median - self.ci_low, self.ci_high - self.median)

    @property
    def ci_relative(self) -> float:
        """CI half-width as a fraction of the median."""
        return self.ci_half_width / self.median if self.median > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in LATENCY_KEYS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyStats:
        values = {k: _require(data, k, "LatencyStats") for k in LATENCY_KEYS}
        try:
            n = int(values.pop("n"))
            floats = {k: float(v) for k, v in values.items()}
        except (TypeError, ValueError):
            raise DataError(f"LatencyStats values must be numbers, got {dict(data)}") from None
        return cls(n=n, **floats)


@dataclass(frozen=True)
class Measurement:
    """One profile of one model on one device under one fingerprint."""

    model_hash: str
    device: str
    fingerprint: Fingerprint
    latency_ms: LatencyStats
    timestamp: str
    arch: Arch | None = None
    model_name: str | None = None
    model_size_mb: float | None = None
    peak_memory_mb: float | None = None
    energy_mj: float | None = None
    energy_method: str | None = None
    samples_ms: tuple[float, ...] = ()
    warmup_ms: tuple[float, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    op_profile: Mapping[str, Any] | None = None
    memory: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples_ms", tuple(float(s) for s in self.samples_ms))
        object.__setattr__(self, "warmup_ms", tuple(float(s) for s in self.warmup_ms))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        if not self.model_hash:
            raise DataError("Measurement.model_hash must not be empty")
        if self.samples_ms and len(self.samples_ms) != self.latency_ms.n:
            raise DataError(
                f"Measurement has {len(self.samples_ms)} samples but latency_ms.n is "
                f"{self.latency_ms.n}"
            )
        if self.energy_mj is not None and self.energy_method is None:
            raise DataError("Measurement.energy_mj is set but energy_method is not")

    @property
    def fingerprint_hash(self) -> str:
        return self.fingerprint.hash

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "arch": self.arch.to_dict() if self.arch else None,
            "model_hash": self.model_hash,
            "model_name": self.model_name,
            "model_size_mb": self.model_size_mb,
            "device": self.device,
            "fingerprint": self.fingerprint.to_dict(),
            "latency_ms": self.latency_ms.to_dict(),
            "peak_memory_mb": self.peak_memory_mb,
            "memory": dict(self.memory),
            "energy_mj": self.energy_mj,
            "energy_method": self.energy_method,
            "inputs": dict(self.inputs),
            "settings": dict(self.settings),
            "op_profile": dict(self.op_profile) if self.op_profile is not None else None,
            "warnings": list(self.warnings),
            "timestamp": self.timestamp,
        }
        if samples:
            out["samples_ms"] = list(self.samples_ms)
            out["warmup_ms"] = list(self.warmup_ms)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        _check_version(data, "Measurement")
        arch = data.get("arch")
        return cls(
            model_hash=_require(data, "model_hash", "Measurement"),
            device=_require(data, "device", "Measurement"),
            fingerprint=Fingerprint.from_dict(_require(data, "fingerprint", "Measurement")),
            latency_ms=LatencyStats.from_dict(_require(data, "latency_ms", "Measurement")),
            timestamp=_require(data, "timestamp", "Measurement"),
            arch=Arch.from_dict(arch) if arch else None,
            model_name=data.get("model_name"),
            model_size_mb=data.get("model_size_mb"),
            peak_memory_mb=data.get("peak_memory_mb"),
            energy_mj=data.get("energy_mj"),
            energy_method=data.get("energy_method"),
            samples_ms=tuple(data.get("samples_ms") or ()),
            warmup_ms=tuple(data.get("warmup_ms") or ()),
            inputs=data.get("inputs") or {},
            settings=data.get("settings") or {},
            op_profile=data.get("op_profile"),
            memory=data.get("memory") or {},
            warnings=tuple(data.get("warnings") or ()),
        )
