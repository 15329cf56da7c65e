"""Host side of profiling: send a model to a device's runner, turn its answer into a record.

Every model runs in a fresh runner process, so peak memory is the model's own and
one model's state never leaks into the next one's timings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from devices.transport import Transport
from hwnas.errors import (
    HwnasError,
    InvalidModelError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    RunnerError,
    ShapeError,
    UsageError,
)
from hwnas.export import ExportError
from hwnas.onnx_model import ModelFile, check_model
from hwnas.records import Arch, DeviceSpec, Fingerprint, LatencyStats, Measurement
from profiler.settings import ProfileSettings

RUNNER_PATH = Path(__file__).with_name("runner.py")

_ERRORS: dict[str, type[HwnasError]] = {
    "model_not_found": ModelNotFoundError,
    "invalid_model": InvalidModelError,
    "model_load": ModelLoadError,
    "shape": ShapeError,
    "usage": UsageError,
    "runner": RunnerError,
}


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def parse_runner_output(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The runner's JSON document, or the ``HwnasError`` it reports."""
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        raise RunnerError(
            f"the runner exited with code {returncode} without a result"
            f"{': ' + _tail(stderr) if stderr.strip() else ''}. Check that the device's Python "
            f"has numpy and onnxruntime (`python3 -c 'import numpy, onnxruntime'`)."
        ) from None
    if not isinstance(doc, dict) or "ok" not in doc:
        raise RunnerError(f"the runner answered something unexpected: {stdout[:200]!r}")
    if not doc["ok"]:
        err = doc.get("error") or {}
        cls = _ERRORS.get(err.get("kind", "runner"), RunnerError)
        raise cls(err.get("message") or "the runner failed without saying why")
    return doc


def measurement_from_runner(
    doc: dict[str, Any], *, model: ModelFile, device: DeviceSpec, arch: Arch | None = None
) -> Measurement:
    """Build the record from a successful runner document."""
    fp = dict(doc["fingerprint"])
    fp.setdefault("execution_provider", device.execution_provider)
    memory = doc.get("memory") or {}
    return Measurement(
        model_hash=model.hash,
        device=device.name,
        fingerprint=Fingerprint.from_dict(fp),
        latency_ms=LatencyStats.from_dict(doc["latency_ms"]),
        timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        arch=arch,
        model_name=model.path.name,
        model_size_mb=round(model.size_mb, 4),
        peak_memory_mb=memory.get("peak_over_baseline_mb"),
        energy_mj=None,
        energy_method=None,
        samples_ms=tuple(doc.get("samples_ms") or ()),
        warmup_ms=tuple(doc.get("warmup_ms") or ()),
        inputs=doc.get("inputs") or {},
        settings={
            **(doc.get("settings") or {}),
            "stop_reason": doc.get("stop_reason"),
            "elapsed_s": doc.get("elapsed_s"),
        },
        op_profile=doc.get("op_profile"),
        memory={**memory, "environment": doc.get("environment") or {}},
        warnings=tuple(doc.get("warnings") or ()),
    )


def profile_model(
    transport: Transport,
    device: DeviceSpec,
    model: ModelFile,
    settings: ProfileSettings,
    *,
    arch: Arch | None = None,
) -> Measurement:
    """Measure one checked model on one device with the runner."""
    runner = transport.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
    remote_model = transport.stage(model.path, content_hash=model.hash, suffix=".onnx")
    argv = [transport.python, runner, remote_model, *settings.runner_args()]
    done = transport.run(argv, timeout=settings.timeout_s())
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    return measurement_from_runner(doc, model=model, device=device, arch=arch)


def probe_fingerprint(transport: Transport, settings: ProfileSettings) -> Fingerprint:
    """The fingerprint a measurement with ``settings`` would carry on this device now.

    Lets a batch skip what is already measured under the same fingerprint before it
    exports or sends anything.
    """
    runner = transport.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
    argv = [transport.python, runner, "--fingerprint-only", *settings.runner_args()]
    done = transport.run(argv, timeout=60.0)
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    return Fingerprint.from_dict(doc["fingerprint"])


@dataclass(frozen=True)
class ModelJob:
    """One model of a batch: a label, how to get its file, and the architecture it is.

    ``prepare`` runs just before measuring (an export, say); an ``HwnasError`` from it
    is that model's error and the batch goes on.
    """

    label: str
    prepare: Callable[[], str | Path]
    arch: Arch | None = None


def _file_job(path: str | Path) -> ModelJob:
    return ModelJob(str(path), lambda: path)


@dataclass
class BatchResult:
    """What a batch measured (with store ids where stored) and what failed, per model."""

    measurements: list[tuple[int | None, Measurement]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    interrupted: bool = False


def profile_batch(
    transport: Transport,
    device: DeviceSpec,
    models: Sequence[str | Path | ModelJob],
    settings: ProfileSettings,
    *,
    sink: Callable[[Measurement], int | None] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[str, Measurement | None, HwnasError | None], None] | None = None,
) -> BatchResult:
    """Measure each model in turn. A bad model is reported in ``errors``; the rest go on.

    ``sink`` stores each measurement as soon as it exists (so an interrupt loses at
    most the model being measured); a sink failure stops the batch and re-raises.
    Ctrl-C ends the batch early with ``interrupted`` set instead of raising.
    """
    result = BatchResult()
    try:
        for item in models:
            job = item if isinstance(item, ModelJob) else _file_job(item)
            label = job.label
            if on_start:
                on_start(label)
            try:
                model = check_model(job.prepare())
                measurement = profile_model(transport, device, model, settings, arch=job.arch)
            except (ModelError, RunnerError, ExportError) as exc:
                # The model's own fault (or the runner dying on it): report, go on.
                result.errors.append({"model": label, **exc.to_dict()})
                if on_done:
                    on_done(label, None, exc)
                continue
            stored_id = sink(measurement) if sink else None
            result.measurements.append((stored_id, measurement))
            if on_done:
                on_done(label, measurement, None)
    except KeyboardInterrupt:
        # Everything measured so far is already in the sink; the caller reports the rest.
        result.interrupted = True
    return result
