"""Settings of the timing protocol, validated on the host before anything runs."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from hwnas.errors import ParameterError

#: Keys of a queued space job's settings that are for the host, not the runner.
SPACE_JOB_KEYS = ("exporter", "space_ref", "repeat")
GRAPH_OPT_LEVELS = ("all", "extended", "basic", "disable")
#: How the timed runs stop: ``adaptive`` (the 95% CI target or a budget) or ``mlperf``
#: (MLPerf Mobile's single-stream rule: at least 1,024 runs and 60 s, p90 reported).
PROTOCOLS = ("adaptive", "mlperf")
ENERGY_BACKENDS = ("none", "auto", "rapl", "power_supply", "hwmon", "pmic")
#: What a model is measured as: ``fp32`` (as exported or given) or ``int8`` (quantized on
#: the host first: ``hwnas.profiler.quantize.quantized_file``, cached by content hash).
PRECISIONS = ("fp32", "int8")
#: How an ``int8`` model is quantized: ``static`` (QDQ, weights and activations, calibrated
#: on seeded random inputs: what NNAPI, QNN and XNNPACK take) or ``dynamic``.
QUANTIZE_MODES = ("static", "dynamic")
#: ``energy="command:CMD ARGS"``: a user's meter command (the runner's CommandEnergyMeter).
ENERGY_COMMAND_PREFIX = "command:"

#: The type each setting takes from a Python caller (``shapes``: name -> dimensions).
SETTING_TYPES: dict[str, type] = {
    "threads": int,
    "target_ci": float,
    "max_seconds": float,
    "min_runs": int,
    "max_runs": int,
    "warmup": int,
    "graph_opt": str,
    "op_profile": bool,
    "seed": int,
    "shapes": dict,
    "energy": str,
    "energy_seconds": float,
    "energy_idle_seconds": float,
    "reference": str,
    "protocol": str,
    "cooldown_delta": float,
    "cooldown_timeout": float,
    "provider": str,
    "precision": str,
    "quantize_mode": str,
}

#: Settings whose value may be None (not set: no reference, no cool-down wait, the
#: device's own provider).
OPTIONAL_SETTINGS = ("reference", "cooldown_delta", "provider")

_SHAPE = re.compile(r"^([^=]+)=(\d+(?:x\d+)*)$")
#: onnxruntime's names of the execution providers users ask for most, by short name
#: (any other full ``...ExecutionProvider`` name is taken as it is).
PROVIDER_NAMES = {
    "cpu": "CPUExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider",
    "nnapi": "NnapiExecutionProvider",
    "qnn": "QNNExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
_OPTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*=[^,]*$")


def check_provider(value: Any) -> str:
    """An execution provider as settings keep it: onnxruntime's name (a short name such as
    ``xnnpack`` is expanded), then ``:key=value,...`` with its options sorted, e.g.
    ``XnnpackExecutionProvider:intra_op_num_threads=2``. ``ParameterError`` naming
    ``provider`` and the form otherwise. Whether the device's onnxruntime has it is the
    runner's to say (it lists the ones it has)."""
    form = "NAME[:key=value,...], e.g. xnnpack or XnnpackExecutionProvider:intra_op_num_threads=2"
    if not isinstance(value, str) or not value.strip():
        raise ParameterError("provider", f"must be {form}; got {value!r}")
    name, _, options = value.strip().partition(":")
    name = PROVIDER_NAMES.get(name.strip().lower(), name.strip())
    if not name.endswith("ExecutionProvider"):
        known = ", ".join(PROVIDER_NAMES)
        raise ParameterError(
            "provider",
            f"{value!r} names no execution provider: give onnxruntime's name "
            f"(...ExecutionProvider) or one of {known}",
        )
    pairs = [p.strip() for p in options.split(",") if p.strip()] if options else []
    bad = [p for p in pairs if not _OPTION.match(p)]
    if bad:
        raise ParameterError("provider", f"option {bad[0]!r} is not key=value; write {form}")
    return name + (":" + ",".join(sorted(pairs)) if pairs else "")


def provider_parts(provider: str) -> tuple[str, dict[str, str]]:
    """A provider as :func:`check_provider` keeps it, as its name and its options."""
    name, _, options = provider.partition(":")
    pairs = (p.split("=", 1) for p in options.split(",") if p) if options else ()
    return name, {k: v for k, v in pairs}


def check_energy(value: Any) -> str:
    """The energy setting `value` as it is kept: one of :data:`ENERGY_BACKENDS`, or
    ``command:CMD ARGS`` with its words requoted the one way ``shlex.join`` writes them (so
    a command written with other spacing or quotes is the same meter, and the same
    measurement key). ``ParameterError`` naming ``energy`` otherwise."""
    if isinstance(value, str) and value in ENERGY_BACKENDS:
        return value
    if isinstance(value, str) and value.startswith(ENERGY_COMMAND_PREFIX):
        try:
            words = shlex.split(value[len(ENERGY_COMMAND_PREFIX) :])
        except ValueError as exc:
            raise ParameterError(
                "energy", f"{value!r}: the command does not parse ({exc})"
            ) from None
        if words:
            return ENERGY_COMMAND_PREFIX + shlex.join(words)
    raise ParameterError(
        "energy",
        f'must be one of {", ".join(ENERGY_BACKENDS)}, or command:"CMD ARGS" (a meter '
        f"command printing joules or watts); got {value!r}",
    )


def parse_shape(spec: str) -> tuple[str, tuple[int, ...]]:
    """Parse ``name=1x3x224x224``; raise ``ValueError`` naming the spec and the format."""
    match = _SHAPE.match(spec.strip())
    if not match:
        raise ValueError(
            f"--shape {spec!r} is malformed; write NAME=DIMxDIM..., e.g. --shape input=1x3x224x224"
        )
    dims = tuple(int(d) for d in match.group(2).split("x"))
    if any(d <= 0 for d in dims):
        raise ValueError(f"--shape {spec!r} has a zero dimension; every dimension must be >= 1")
    return match.group(1), dims


@dataclass(frozen=True, kw_only=True)
class ProfileSettings:
    """How to time one model. Defaults follow the foundation issue's protocol."""

    threads: int = 1
    target_ci: float = 0.01
    max_seconds: float = 10.0
    min_runs: int = 20
    max_runs: int = 100_000
    warmup: int = 10
    graph_opt: str = "all"
    op_profile: bool = False
    seed: int = 0
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    energy: str = "none"
    energy_seconds: float = 2.0
    #: Idle time before the energy run, over which the meter's baseline is read.
    energy_idle_seconds: float = 1.0
    #: A reference ONNX file (on the host) timed after every timed run: see the runner.
    reference: str | None = None
    #: ``adaptive`` or ``mlperf`` (:data:`PROTOCOLS`).
    protocol: str = "adaptive"
    #: Before each model, wait until the device is within this many °C of its idle
    #: temperature (read when the batch starts); None: no wait.
    cooldown_delta: float | None = None
    #: The longest wait (s); then the model is measured with a warning.
    cooldown_timeout: float = 120.0
    #: onnxruntime's execution provider and its options (:func:`check_provider`); None:
    #: the device's registered one (CPU unless ``devices add --provider`` said otherwise).
    provider: str | None = None
    #: ``fp32`` or ``int8`` (:data:`PRECISIONS`): an ``int8`` job's model is quantized on
    #: the host before it is sent (the runner times whatever file it gets).
    precision: str = "fp32"
    #: How ``int8`` quantizes (:data:`QUANTIZE_MODES`); only with ``precision="int8"``.
    quantize_mode: str = "static"

    def __post_init__(self) -> None:
        """Raise ``ParameterError`` (also a ``ValueError``) naming the first bad field."""

        def bad(name: str, value: Any, want: str) -> ParameterError:
            return ParameterError(name, f"must be {want}, got {value!r}")

        if self.threads < 1:
            raise bad("threads", self.threads, ">= 1")
        if not (0 < self.target_ci < 1) or math.isnan(self.target_ci):
            raise bad("target_ci", self.target_ci, "a fraction in (0, 1), e.g. 0.01 for 1%")
        if not self.max_seconds > 0:
            raise bad("max_seconds", self.max_seconds, "> 0")
        if self.min_runs < 1:
            raise bad("min_runs", self.min_runs, ">= 1")
        if self.max_runs < self.min_runs:
            raise bad("max_runs", self.max_runs, f">= the minimum number of runs ({self.min_runs})")
        if self.warmup < 0:
            raise bad("warmup", self.warmup, ">= 0")
        object.__setattr__(self, "energy", check_energy(self.energy))  # frozen: canonical form
        if not self.energy_seconds > 0:
            raise bad("energy_seconds", self.energy_seconds, "> 0")
        if not self.energy_idle_seconds > 0:
            raise bad("energy_idle_seconds", self.energy_idle_seconds, "> 0")
        if self.graph_opt not in GRAPH_OPT_LEVELS:
            raise bad("graph_opt", self.graph_opt, f"one of {', '.join(GRAPH_OPT_LEVELS)}")
        if self.protocol not in PROTOCOLS:
            raise bad("protocol", self.protocol, f"one of {', '.join(PROTOCOLS)}")
        if self.cooldown_delta is not None and not self.cooldown_delta >= 0:
            raise bad("cooldown_delta", self.cooldown_delta, ">= 0 (°C above idle), or None")
        if not self.cooldown_timeout > 0:
            raise bad("cooldown_timeout", self.cooldown_timeout, "> 0 (seconds)")
        if self.provider is not None:
            object.__setattr__(self, "provider", check_provider(self.provider))
        if self.precision not in PRECISIONS:
            raise bad("precision", self.precision, f"one of {', '.join(PRECISIONS)}")
        if self.quantize_mode not in QUANTIZE_MODES:
            raise bad("quantize_mode", self.quantize_mode, f"one of {', '.join(QUANTIZE_MODES)}")
        if self.precision == "fp32" and self.quantize_mode != "static":
            raise ParameterError(
                "quantize_mode",
                f"is {self.quantize_mode!r}, but it applies to precision='int8' only; add "
                f"precision='int8' (--precision int8) or drop it",
            )

    @classmethod
    def from_options(cls, **options: Any) -> ProfileSettings:
        """Settings from keyword arguments as a Python caller gives them.

        Every name must be a field (an unknown one raises ``ParameterError`` naming it and
        listing the valid ones), each value of the field's type (an ``int`` field takes an
        int, a ``float`` one any real number; ``shapes`` maps input names to sequences of
        positive ints), then ``__post_init__`` checks the ranges. Fields not given keep
        their defaults.
        """
        unknown = sorted(set(options) - set(SETTING_TYPES))
        if unknown:
            raise ParameterError(
                unknown[0],
                f"is not a profiling setting; valid settings: {', '.join(SETTING_TYPES)}",
            )
        values = {name: _checked(name, value) for name, value in options.items()}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (shapes as lists); ``from_dict`` reads them back."""
        return {
            "threads": self.threads,
            "target_ci": self.target_ci,
            "max_seconds": self.max_seconds,
            "min_runs": self.min_runs,
            "max_runs": self.max_runs,
            "warmup": self.warmup,
            "graph_opt": self.graph_opt,
            "op_profile": self.op_profile,
            "seed": self.seed,
            "shapes": {k: list(v) for k, v in sorted(self.shapes.items())},
            "energy": self.energy,
            "energy_seconds": self.energy_seconds,
            "energy_idle_seconds": self.energy_idle_seconds,
            **({"reference": self.reference} if self.reference is not None else {}),
            **({"protocol": self.protocol} if self.protocol != "adaptive" else {}),
            **({"provider": self.provider} if self.provider is not None else {}),
            # fp32 (every job before precision existed) stays out: no stored key changes.
            **(
                {"precision": self.precision, "quantize_mode": self.quantize_mode}
                if self.precision != "fp32"
                else {}
            ),
            **(
                {"cooldown_delta": self.cooldown_delta, "cooldown_timeout": self.cooldown_timeout}
                if self.cooldown_delta is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileSettings:
        # "exporter", "space_ref" and "repeat" belong to a space job, not to the runner.
        values = {k: v for k, v in data.items() if k not in SPACE_JOB_KEYS}
        values["shapes"] = {k: tuple(v) for k, v in (values.get("shapes") or {}).items()}
        return cls(**values)

    def result_key(self, *, exporter: str | None = None) -> str:
        """The key of what these settings measure (``exporter``: a space's, if any): equal
        keys measure the same thing, so a stored measurement with this key is reused
        (:func:`result_key`; the fields that count are ``hwnas.store.RESULT_SETTINGS``)."""
        return result_key({**self.to_dict(), "exporter": exporter})

    def runner_args(self) -> list[str]:
        """The runner's command-line options for these settings."""
        args = [
            "--threads",
            str(self.threads),
            "--target-ci",
            repr(self.target_ci),
            "--max-seconds",
            repr(self.max_seconds),
            "--min-runs",
            str(self.min_runs),
            "--max-runs",
            str(self.max_runs),
            "--warmup",
            str(self.warmup),
            "--graph-opt",
            self.graph_opt,
            "--seed",
            str(self.seed),
        ]
        for name, dims in self.shapes.items():
            args += ["--shape", f"{name}={'x'.join(str(d) for d in dims)}"]
        if self.op_profile:
            args.append("--op-profile")
        if self.energy != "none":
            args += ["--energy-idle-seconds", repr(self.energy_idle_seconds)]
            args += ["--energy", self.energy, "--energy-seconds", repr(self.energy_seconds)]
        if self.protocol != "adaptive":
            args += ["--protocol", self.protocol]
        if self.provider is not None:
            args += provider_args(self.provider)
        if self.cooldown_delta is not None:
            args += ["--cooldown-delta", repr(self.cooldown_delta)]
            args += ["--cooldown-timeout", repr(self.cooldown_timeout)]
        return args

    def timeout_s(self) -> float:
        """How long the runner may take before it is considered hung."""
        energy = (
            2.0 * self.energy_seconds + self.energy_idle_seconds + 5.0
            if self.energy != "none"
            else 0.0
        )
        # With a reference, the budget bounds the model's runs; the reference's add to it.
        # MLPerf's rule runs at least 60 s and 1,024 runs, whatever the budget says.
        budget = max(self.max_seconds, 60.0) if self.protocol == "mlperf" else self.max_seconds
        timing = (4.0 if self.reference is not None else 2.0) * budget
        mlperf = 600.0 if self.protocol == "mlperf" else 0.0  # 1,024 runs of a slow model
        cooldown = self.cooldown_timeout if self.cooldown_delta is not None else 0.0
        return 120.0 + timing + energy + mlperf + cooldown


def precision_of(settings: Mapping[str, Any]) -> str:
    """The precision a job's or a measurement's ``settings`` measured, as predictors keep
    precisions apart: ``fp32`` (also when the settings predate precision), ``int8``
    (static QDQ, the default quantization) or ``int8-dynamic``."""
    precision = str(settings.get("precision") or "fp32")
    if precision != "fp32" and settings.get("quantize_mode") == "dynamic":
        return f"{precision}-dynamic"
    return precision


def precision_settings(precision: str | None) -> dict[str, str]:
    """The settings that measure ``precision`` (as :func:`precision_of` names it; None or
    ``fp32``: none, the default), e.g. ``{"precision": "int8", "quantize_mode":
    "dynamic"}`` for ``int8-dynamic``."""
    if precision in (None, "fp32"):
        return {}
    base, _, mode = str(precision).partition("-")
    return {"precision": base, "quantize_mode": mode or "static"}


def provider_args(provider: str) -> list[str]:
    """The runner's options for ``provider`` (as :func:`check_provider` keeps it)."""
    name, options = provider_parts(provider)
    args = ["--provider", name]
    for key, value in options.items():
        args += ["--provider-option", f"{key}={value}"]
    return args


def result_key(settings: Mapping[str, Any]) -> str:
    """The settings key (``hwnas.store.settings_key``) of a job's settings, as the store
    keeps it with each measurement: ``ProfileSettings.to_dict()`` plus, for a space,
    ``"exporter"``. The reference model counts by its content, so its file is hashed here
    (a file that is gone counts by its path, which matches no measurement)."""
    # Imported here: the command line parses --shape with this module, without a store.
    from hwnas.onnx_model import file_hash
    from hwnas.store import settings_key

    values = dict(settings)
    reference = values.get("reference")
    if isinstance(reference, str):
        try:
            values["reference"] = file_hash(Path(reference))
        except OSError:
            pass
    return settings_key(values)


def _checked(name: str, value: Any) -> Any:
    """``value`` for setting ``name`` in the type the dataclass holds, or ``ParameterError``."""
    want = SETTING_TYPES[name]
    if name in OPTIONAL_SETTINGS and value is None:
        return None
    if name == "shapes":
        return _checked_shapes(value)
    if want is bool and isinstance(value, bool):
        return value
    if want is int and isinstance(value, Integral) and not isinstance(value, bool):
        return int(value)
    if want is float and isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    if want is str and isinstance(value, str):
        return value
    raise ParameterError(name, f"must be {want.__name__}, got {type(value).__name__} {value!r}")


def _checked_shapes(value: Any) -> dict[str, tuple[int, ...]]:
    if not isinstance(value, Mapping):
        raise ParameterError(
            "shapes",
            f"must map input names to dimensions, e.g. {{'x': (1, 3, 224, 224)}}; got {value!r}",
        )
    shapes: dict[str, tuple[int, ...]] = {}
    for input_name, dims in value.items():
        ok = isinstance(dims, (list, tuple)) and bool(dims) and all(map(_positive_int, dims))
        if not isinstance(input_name, str) or not ok:
            raise ParameterError(
                "shapes",
                f"must give each input a non-empty sequence of ints >= 1; "
                f"{input_name!r} has {dims!r}",
            )
        shapes[input_name] = tuple(int(d) for d in dims)
    return shapes


def _positive_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= 1
