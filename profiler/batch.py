"""Host side of profiling: send a model to a device's runner, turn its answer into a record.

A batch keeps one runner process per device where it can (:mod:`hwnas.profiler.serving`),
which resets its peak memory before each model, so peak memory is the model's own;
elsewhere every model runs in a fresh runner process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwnas.devices.transport import Transport
from hwnas.errors import (
    ConnectionLostError,
    DeviceError,
    HwnasError,
    ModelError,
    ParameterError,
    RunnerError,
)
from hwnas.export import ExportError
from hwnas.onnx_model import ModelFile, check_model, file_hash
from hwnas.profiler.runner_output import RESULT_BEGIN as RESULT_BEGIN
from hwnas.profiler.runner_output import RESULT_END as RESULT_END
from hwnas.profiler.runner_output import RUNNER_PATH as RUNNER_PATH
from hwnas.profiler.runner_output import (
    RunInterrupted,
    parse_runner_output,
    stage_runner,
)
from hwnas.profiler.serving import RunnerSession
from hwnas.profiler.settings import ProfileSettings, check_provider, provider_args
from hwnas.records import Arch, DeviceSpec, Fingerprint, LatencyStats, Measurement


@lru_cache(maxsize=8)
def _file_hash(path: Path) -> str:
    # The reference model is the same file for every job of a batch: hash it once.
    return file_hash(path)


def measurement_from_runner(
    doc: dict[str, Any], *, model: ModelFile, device: DeviceSpec, arch: Arch | None = None
) -> Measurement:
    """Build the record from a successful runner document."""
    fp = dict(doc["fingerprint"])
    fp.setdefault("execution_provider", device.execution_provider)
    memory = doc.get("memory") or {}
    energy = doc.get("energy") or {}
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
        energy_mj=energy.get("energy_mj"),
        energy_method=energy.get("method"),
        samples_ms=tuple(doc.get("samples_ms") or ()),
        warmup_ms=tuple(doc.get("warmup_ms") or ()),
        inputs=doc.get("inputs") or {},
        settings={
            **(doc.get("settings") or {}),
            "stop_reason": doc.get("stop_reason"),
            "elapsed_s": doc.get("elapsed_s"),
            **({"energy_details": energy} if energy else {}),
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
    idle_c: float | None = None,
    runner: RunnerSession | None = None,
) -> Measurement:
    """Measure one checked model on one device with the runner (``idle_c``: the device's
    idle temperature, which ``settings.cooldown_delta`` waits for it to come back near).

    ``runner``: the batch's :class:`RunnerSession` (a runner process kept for many
    models); without one, the model gets a runner process of its own.
    """
    remote_model = transport.stage(model.path, content_hash=model.hash, suffix=".onnx")
    args = [remote_model, *settings.runner_args(), *_device_provider(device, settings)]
    if settings.cooldown_delta is not None and idle_c is not None:
        args += ["--idle-baseline-c", repr(idle_c)]
    if settings.reference is not None:
        reference = Path(settings.reference)
        args += [
            "--reference",
            transport.stage(reference, content_hash=_file_hash(reference), suffix=".onnx"),
        ]
    session = runner or RunnerSession(transport, reuse=False)
    doc = session.run(args, timeout=settings.timeout_s())
    if settings.reference is not None and (doc.get("settings") or {}).get("reference"):
        # The device knows the file by its staged name; the record names it as the host does.
        reference = Path(settings.reference)
        doc["settings"]["reference"].update(model=reference.name, model_hash=_file_hash(reference))
    return measurement_from_runner(doc, model=model, device=device, arch=arch)


def _device_provider(device: DeviceSpec, settings: ProfileSettings) -> list[str]:
    """The runner's provider options for the device's registered provider, unless the
    settings name one (then ``runner_args`` has it) or it is the CPU (the default)."""
    if settings.provider is not None or device.execution_provider == "CPUExecutionProvider":
        return []
    return provider_args(check_provider(device.execution_provider))


def probe_fingerprint(
    transport: Transport, settings: ProfileSettings, device: DeviceSpec | None = None
) -> Fingerprint:
    """The fingerprint a measurement with ``settings`` would carry on this device now.

    Lets a batch skip what is already measured under the same fingerprint before it
    exports or sends anything.
    """
    runner = stage_runner(transport)
    argv = [transport.python, runner, "--fingerprint-only", *settings.runner_args()]
    argv += _device_provider(device, settings) if device is not None else []
    done = transport.run(argv, timeout=60.0)
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    return Fingerprint.from_dict(doc["fingerprint"])


@dataclass(frozen=True)
class ModelJob:
    """One model of a batch: a label, how to get its file, and the architecture it is.

    ``prepare`` runs just before measuring (an export, say); an ``HwnasError`` from it
    is that model's error and the batch goes on. ``job_id`` is the job's id in the
    store's queue, when it was queued.
    """

    label: str
    prepare: Callable[[], str | Path]
    arch: Arch | None = None
    job_id: int | None = None


def _file_job(path: str | Path) -> ModelJob:
    return ModelJob(str(path), lambda: path)


@dataclass
class BatchResult:
    """What a batch measured (with store ids where stored), what failed, what is left."""

    measurements: list[tuple[int | None, Measurement]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    interrupted: bool = False
    #: Why the batch stopped early although nobody asked it to (the device is gone).
    connection_lost: str | None = None
    #: The device's error that stopped the batch (its disk is full, say): every model
    #: after would fail the same way, so they stay in ``left`` for a resume.
    stopped_by: DeviceError | None = None
    #: Jobs neither measured nor failed (interrupted, or the device went away).
    left: list[ModelJob] = field(default_factory=list)
    #: How often the connection was re-established during the batch.
    reconnects: int = 0


Sink = Callable[[Measurement, ModelJob], "int | None"]


def reconnect_with_backoff(
    transport: Transport,
    *,
    timeout: float,
    should_stop: Callable[[], bool],
    on_retry: Callable[[HwnasError, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Reconnect, waiting 1, 2, 4 ... 30 s between attempts, for at most ``timeout`` s.

    Raises the last ``ConnectionLostError`` when the time is up (or a stop is asked).
    """
    deadline = clock() + timeout
    delay = 1.0
    while True:
        try:
            transport.reconnect()
            return
        except ConnectionLostError as exc:
            if should_stop() or clock() + delay > deadline:
                raise
            if on_retry:
                on_retry(exc, delay)
            sleep(delay)
            delay = min(2 * delay, 30.0)


def _reconnect_after_loss(
    exc: ConnectionLostError,
    transport: Transport,
    device: DeviceSpec,
    result: BatchResult,
    *,
    stop: Callable[[], bool],
    on_retry: Callable[[HwnasError, float], None] | None,
    reconnect_timeout: float,
    sleep: Callable[[float], None],
) -> bool:
    """After the connection dropped mid-job: True once it is back (the job runs again:
    it was not stored); otherwise False, with why the batch ends set on ``result``."""
    if stop():
        result.interrupted = True
        return False
    if reconnect_timeout <= 0:  # reconnecting is switched off
        result.connection_lost = (
            f"lost the connection to {device.name} ({exc.message}); run "
            f"`hwnas profile --resume` to finish the batch."
        )
        return False
    if on_retry:
        on_retry(exc, 0.0)  # lost: reconnecting now
    try:
        reconnect_with_backoff(
            transport,
            timeout=reconnect_timeout,
            should_stop=stop,
            on_retry=on_retry,
            sleep=sleep,
        )
    except ConnectionLostError as final:
        result.connection_lost = (
            f"lost the connection to {device.name} ({exc.message}) and could not "
            f"reconnect within {reconnect_timeout:.0f} s ({final.message}); "
            f"run `hwnas profile --resume` when the device is back."
        )
        return False
    result.reconnects += 1
    return True


def _record_failure(
    job: ModelJob,
    exc: HwnasError,
    result: BatchResult,
    on_failed: Callable[[ModelJob, dict[str, str]], None] | None,
    on_done: Callable[[str, Measurement | None, HwnasError | None], None] | None,
) -> None:
    """A model's own failure: into ``result.errors`` and to the callbacks."""
    error = {"model": job.label, **exc.to_dict()}
    result.errors.append(error)
    if on_failed:
        on_failed(job, error)
    if on_done:
        on_done(job.label, None, exc)


def _gave_up(exc: ConnectionLostError, device: DeviceSpec, attempts: int) -> ConnectionLostError:
    """The failure of a job whose every attempt ended with the link down."""
    times = "once" if attempts == 1 else f"{attempts} times"
    return ConnectionLostError(
        f"the connection to {device.name} dropped {times} while measuring this model "
        f"(last: {exc.message}); the model may crash or reboot the device (out of memory, "
        f"overheating). The job is marked failed and the batch went on with the next "
        f"model; check the device (`hwnas devices check {device.name}`), then measure the "
        f"model alone, or give it more tries with max_attempts= (--max-attempts)."
    )


def check_max_attempts(max_attempts: object) -> int:
    """``max_attempts`` as given, or ``ParameterError`` unless it is an int >= 1."""
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise ParameterError("max_attempts", f"must be an int >= 1, got {max_attempts!r}")
    return max_attempts


#: The starts of the runner's warnings about the machine rather than the model (its
#: governor, threads for its cores, its noise): a batch says each once.
MACHINE_WARNINGS = (
    "the CPU frequency governor is",
    "the standard deviation is",
    "--threads ",
)


def once_per_batch(measurement: Measurement, said: set[str]) -> Measurement:
    """``measurement`` without the machine's warnings already in ``said`` (a batch's first
    model carries them; the store keeps every measurement's own); adds its own to ``said``."""
    kept = []
    for warning in measurement.warnings:
        kind = next((k for k in MACHINE_WARNINGS if warning.startswith(k)), None)
        if kind is None or kind not in said:
            kept.append(warning)
        if kind is not None:
            said.add(kind)
    if len(kept) == len(measurement.warnings):
        return measurement
    return replace(measurement, warnings=tuple(kept))


def _keep(
    job: ModelJob,
    measurement: Measurement,
    result: BatchResult,
    said: set[str],
    sink: Sink | None,
    on_done: Callable[[str, Measurement | None, HwnasError | None], None] | None,
) -> None:
    """A job measured: to the sink (stored), into ``result`` and to ``on_done``."""
    stored_id = sink(measurement, job) if sink else None
    result.measurements.append((stored_id, once_per_batch(measurement, said)))
    if on_done:
        on_done(job.label, measurement, None)


def _measurer(
    transport: Transport,
    device: DeviceSpec,
    settings: ProfileSettings,
    runner: RunnerSession | None,
) -> tuple[Callable[[ModelFile, Arch | None], Measurement], Callable[[], None]]:
    """:func:`profile_model` for one batch, and what ends it: the models go to ``runner``
    (a session of the batch's own, closed by the second function, when None). With
    ``cooldown_delta``, the device's idle temperature is read once, before the first
    model, and every model waits for it."""
    idle: list[float | None] = []
    session = runner or RunnerSession(transport)

    def measure(model: ModelFile, arch: Arch | None) -> Measurement:
        if settings.cooldown_delta is not None and not idle:
            idle.append(probe_fingerprint(transport, settings, device).temperature_c)
        idle_c = idle[0] if idle else None
        return profile_model(
            transport, device, model, settings, arch=arch, idle_c=idle_c, runner=session
        )

    return measure, (session.close if runner is None else lambda: None)


def profile_batch(
    transport: Transport,
    device: DeviceSpec,
    models: Sequence[str | Path | ModelJob],
    settings: ProfileSettings,
    *,
    sink: Sink | None = None,
    on_failed: Callable[[ModelJob, dict[str, str]], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[str, Measurement | None, HwnasError | None], None] | None = None,
    on_retry: Callable[[HwnasError, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    claim: Callable[[ModelJob], bool] | None = None,
    runner: RunnerSession | None = None,
) -> BatchResult:
    """Measure each model in turn. A bad model is reported in ``errors``; the rest go on.

    ``sink`` stores each measurement as soon as it exists (so an interrupt loses at
    most the model being measured); a sink failure stops the batch and re-raises.
    ``on_failed`` records a model's own failure. When the connection drops, the batch
    reconnects with backoff (for up to ``reconnect_timeout`` s) and measures the same
    model again, so nothing is lost or stored twice; if the device stays away, the
    batch ends with ``connection_lost`` set and the rest in ``left``; a device failure
    no model can get past (``DeviceError`` other than those: its disk is full, say) ends
    it with ``stopped_by`` set and the model in ``left`` too. A model whose
    ``max_attempts`` attempts all end with the link down (it crashes or reboots the
    device, say) fails with ``ConnectionLostError`` saying so, and the batch goes on.
    Ctrl-C (or ``should_stop()``) ends the batch early with ``interrupted`` set instead
    of raising. A warning about the machine (``MACHINE_WARNINGS``: its governor, say) is
    in the first measurement of ``measurements`` that has it, not repeated in the others
    (``sink`` gets each measurement whole). ``claim(job)`` is asked before each job runs
    (again after a reconnect): False skips the job, neither measured nor failed nor left
    (another worker has it, or it is no longer pending). Raises ``ParameterError`` for
    ``max_attempts`` < 1.

    The models share one runner process where the transport can keep one running and
    the device can reset a process's peak memory (:class:`RunnerSession`; each model's
    figures stay its own); ``runner`` passes a session of the caller's (left open),
    ``RunnerSession(transport, reuse=False)`` one process per model.
    """
    check_max_attempts(max_attempts)
    stop = should_stop or (lambda: False)
    result = BatchResult()
    said: set[str] = set()  # the kinds of the machine's warnings given so far
    jobs = [m if isinstance(m, ModelJob) else _file_job(m) for m in models]
    index = attempts = 0  # attempts: of jobs[index] so far
    measure, close = _measurer(transport, device, settings, runner)
    try:
        while index < len(jobs):
            job = jobs[index]
            if stop():
                result.interrupted = True
                break
            if claim is not None and not claim(job):  # another worker's, or not pending
                index, attempts = index + 1, 0
                continue
            if on_start:
                on_start(job.label)
            try:
                model = check_model(job.prepare())
                measurement = measure(model, job.arch)
            except RunInterrupted:
                result.interrupted = True
                break
            except ConnectionLostError as exc:
                attempts += 1
                if attempts >= max_attempts and not stop():  # a Ctrl-C drop is no attempt
                    failure = _gave_up(exc, device, attempts)
                    _record_failure(job, failure, result, on_failed, on_done)
                    index, attempts = index + 1, 0
                if not _reconnect_after_loss(
                    exc,
                    transport,
                    device,
                    result,
                    stop=stop,
                    on_retry=on_retry,
                    reconnect_timeout=reconnect_timeout,
                    sleep=sleep,
                ):
                    break
                continue  # the same job again (it was not stored), or the next one
            except (ModelError, RunnerError, ExportError) as exc:
                if stop():  # a runner killed by the same Ctrl-C: not the model's fault
                    result.interrupted = True
                    break
                _record_failure(job, exc, result, on_failed, on_done)
            except DeviceError as exc:  # the device's, not the model's (a full disk)
                result.stopped_by = exc
                break
            else:
                _keep(job, measurement, result, said, sink, on_done)
            index, attempts = index + 1, 0
    except KeyboardInterrupt:
        # Everything measured so far is already in the sink; the caller reports the rest.
        result.interrupted = True
    finally:
        close()
    result.left = jobs[index:]
    return result
