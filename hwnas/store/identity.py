"""When two stored measurements measured the same thing: the settings that change a
measurement (:data:`RESULT_SETTINGS`), their key and a measurement's identity."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass
from hwnas.records import (
    LATENCY_KEYS,
    Measurement,
    stable_hash,
)

#: The settings that change what a measurement reports, each with the value that a
#: settings mapping without it stands for (the protocol's default; ``None``: unknown or
#: absent). A stored measurement of an architecture is reused for a new request, instead
#: of measuring again, only when the device, the fingerprint and these settings agree:
#: :func:`settings_key` hashes them, and the store keeps that key with each measurement.
#:
#: In, and why:
#:
#: - ``threads``, ``graph_opt``: another session, another latency. Both are in the
#:   fingerprint too; they are here as well so that the key says alone what was asked.
#: - ``target_ci``, ``max_seconds``, ``min_runs``, ``max_runs``, ``warmup``: the timing
#:   protocol decides how many runs are timed after how much warm-up, so how precise the
#:   median is and which phase of the machine it saw (a 0.5 s budget is not a 10 s one).
#:   The runner's warm-up ends early once it took a tenth of ``max_seconds`` (after two
#:   runs); before it did, a model slower than ``max_seconds / (10 * warmup)`` warmed
#:   up longer under the same key: the same settled runs, so the key stays.
#: - ``shapes``: the input sizes measured.
#: - ``op_profile``: a record has a per-operator profile only when it was asked for.
#: - ``energy``, ``energy_seconds``: which meter, if any, and for how long it read;
#:   ``energy_seconds`` counts only when energy is measured. ``energy_idle_seconds`` (how
#:   long the idle baseline was read) counts too, but only when energy is measured and it
#:   differs from its default of 1 s, so that the keys of measurements taken before it
#:   was a setting stay valid (see :func:`result_settings`).
#: - ``reference``: the content hash of the reference model timed between the runs
#:   (the ratios are to that model); a moved file is the same reference, an edited one not.
#: - ``exporter``: a space's architecture exported by another exporter is another graph.
#: - ``precision`` (and ``quantize_mode``): an ``int8`` job measures the quantized model;
#:   counted only when it is not ``fp32`` (see :func:`result_settings`), so the keys of
#:   measurements taken before it was a setting stay valid.
#:
#: Out, and why: ``seed`` (it draws the random input values, which do not change the
#: latency of the networks measured here, and the sample, which is the architecture
#: itself), ``repeat`` (the pass number of repeated measurements, which count together),
#: the runner's own constants (``warmup_seconds``, ``execution_mode``) and the
#: device's runtime and execution provider (they are the fingerprint's).
#:
#: Changing this set changes every key: append a migration that recomputes
#: ``measurements.settings_key``, as ``_migrate_2_to_3`` first computed it.
ENERGY_IDLE_DEFAULT = 1.0
RESULT_SETTINGS: dict[str, Any] = {
    "threads": 1,
    "graph_opt": "all",
    "target_ci": 0.01,
    "max_seconds": 10.0,
    "min_runs": 20,
    "max_runs": 100_000,
    "warmup": 10,
    "shapes": {},
    "op_profile": False,
    "energy": "none",
    "energy_seconds": 2.0,
    "reference": None,
    "exporter": None,
}


def result_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``settings`` that changes a measurement (:data:`RESULT_SETTINGS`), in
    one canonical form: every field present (a missing one at its default), numbers of
    their field's type, shapes as sorted lists, no ``energy_seconds`` without energy.

    Takes the settings a job was queued with (``ProfileSettings.to_dict()`` plus, for a
    space, ``"exporter"``) as well as those a measurement recorded (the runner names
    ``graph_optimization``; its ``reference`` is a report whose ``model_hash`` counts).
    A ``reference`` string is taken as it is: give the file's content hash, not its path
    (``hwnas.profiler.settings.result_key`` does).
    """
    given = dict(settings)
    if given.get("graph_opt") is None:
        given["graph_opt"] = given.get("graph_optimization")
    reference = given.get("reference")
    if isinstance(reference, Mapping):
        given["reference"] = reference.get("model_hash") or reference.get("model")
    out = {}
    for name, default in RESULT_SETTINGS.items():
        value = given.get(name)
        out[name] = default if value is None else _canonical(value, default)
    if out["energy"] == "none":
        out["energy_seconds"] = None
    idle = given.get("energy_idle_seconds")
    if out["energy"] != "none" and idle is not None and float(idle) != ENERGY_IDLE_DEFAULT:
        out["energy_idle_seconds"] = float(idle)
    # MLPerf's rule measures another statistic's worth of runs; the adaptive protocol
    # (every key before it existed) stays out, so no stored key changes.
    if given.get("protocol") not in (None, "adaptive"):
        out["protocol"] = str(given["protocol"])
    # An int8 job measures another model (quantized on the host); fp32 stays out likewise.
    if given.get("precision") not in (None, "fp32"):
        out["precision"] = str(given["precision"])
        out["quantize_mode"] = str(given.get("quantize_mode") or "static")
    return out


def _canonical(value: Any, default: Any) -> Any:
    """``value`` in the type of its field's ``default`` (as it is when it does not convert)."""
    try:
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, dict):
            return {str(k): [int(d) for d in v] for k, v in sorted(dict(value).items())}
    except (TypeError, ValueError):
        pass
    return value


def settings_key(settings: Mapping[str, Any]) -> str:
    """The hash of :func:`result_settings` of ``settings``: equal exactly when the
    settings would measure the same thing."""
    return stable_hash(result_settings(settings))


def _measured_key(recorded: Mapping[str, Any], job: Mapping[str, Any] | None) -> str:
    """The settings key of a measurement that recorded the settings ``recorded``, taken
    for the job with settings ``job`` (``None``: stored without a job).

    A job's settings are what was asked, so they decide (the record has the input shapes
    resolved, not those asked, and no exporter); the reference is the content hash the
    measurement recorded, where the job names a path.
    """
    values = dict(recorded if job is None else job)
    report = recorded.get("reference")
    if values.get("reference") is not None and isinstance(report, Mapping):
        values["reference"] = report
    return settings_key(values)


def measurement_identity(m: Measurement) -> str:
    """What makes two measurement records the same measurement, wherever they are stored:
    a hash of the model, device, fingerprint hash, timestamp, the settings as recorded,
    the latency statistics and the raw samples. Importing a measurement whose identity a
    store already holds adds nothing (``hwnas.import_measurements``).

    All recorded settings count, not their :func:`settings_key`, so that a later change of
    :data:`RESULT_SETTINGS` leaves every stored identity valid; the latency statistics
    count so that two measurements without raw samples taken in the same second differ.
    """
    return _identity(
        m.model_hash,
        m.device,
        m.fingerprint_hash,
        m.timestamp,
        m.settings,
        m.latency_ms.to_dict(),
        m.samples_ms,
    )


def _identity(
    model_hash: str,
    device: str,
    fingerprint_hash: str,
    timestamp: str,
    settings: Mapping[str, Any],
    latency: Mapping[str, Any],
    samples: Iterable[float],
) -> str:
    """:func:`measurement_identity` of these parts (also of a stored row, in a migration)."""
    return stable_hash(
        {
            "model_hash": model_hash,
            "device": device,
            "fingerprint": fingerprint_hash,
            "timestamp": timestamp,
            "settings": dict(settings),
            "latency_ms": {k: float(latency[k]) for k in LATENCY_KEYS},
            "samples_ms": [float(x) for x in samples],
        },
        length=32,
    )
