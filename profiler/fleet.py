"""Profiling on several devices at once: one worker thread per device.

Measurements on one device never overlap (its worker runs one job at a time, as
they would disturb each other); different devices run in parallel. Each worker has
its own connection and its own store handle; every job is queued in the store before
it runs and marked done in the same transaction that stores its measurement, so an
interrupt, a dropped link or a crash never loses a measurement nor stores one twice.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hwnas.devices.transport import Transport
from hwnas.errors import HwnasError, ModelNotFoundError
from hwnas.profiler.batch import BatchResult, ModelJob, probe_fingerprint, profile_batch
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import DeviceSpec, Measurement
from hwnas.store import Job, NewJob, Store


class Events(Protocol):
    """What a fleet reports while it works (called from worker threads)."""

    def planned(self, device: str, jobs: int, skipped: int) -> None: ...
    def start(self, device: str, label: str) -> None: ...
    def done(
        self, device: str, label: str, m: Measurement | None, e: HwnasError | None
    ) -> None: ...
    def retry(self, device: str, error: HwnasError, delay: float) -> None: ...


@dataclass
class SpaceSample:
    """Architectures of a space to measure; those already measured are skipped per device."""

    space: Any  # hwnas.spaces.SearchSpace
    archs: list[str]
    exporter: str = "dynamo"
    #: Measurements wanted per architecture, each in its own runner process. Repeats run
    #: pass by pass (every architecture once, then every one again), so a slow phase of a
    #: shared machine lands on different architectures each pass.
    repeats: int = 1


@dataclass
class DevicePlan:
    """What one device must do: queued jobs, grouped by settings, or a space sample."""

    spec: DeviceSpec
    settings: ProfileSettings
    jobs: list[Job] = field(default_factory=list)
    sample: SpaceSample | None = None


@dataclass
class DeviceOutcome:
    device: str
    result: BatchResult = field(default_factory=BatchResult)
    skipped: list[str] = field(default_factory=list)
    error: HwnasError | None = None


def job_to_model_job(job: Job, space_loader: Callable[[str], Any]) -> ModelJob:
    """A batch job for a queued one; a space architecture whose exported file is gone is
    exported again (from the cache, usually)."""

    def prepare() -> str | Path:
        if job.model_path and Path(job.model_path).exists():
            return job.model_path
        if job.arch is not None:
            exporter = str(job.settings.get("exporter", "dynamo"))
            return Path(space_loader(job.arch.space).to_onnx(job.arch.string, exporter=exporter))
        raise ModelNotFoundError(
            f"{job.model_path or job.label} no longer exists, so job {job.id} cannot be "
            f"measured; restore the file or profile it again."
        )

    return ModelJob(label=job.label, prepare=prepare, arch=job.arch, job_id=job.id)


def _plan_sample(
    transport: Transport, store: Store, plan: DevicePlan, batch: str, out: DeviceOutcome
) -> list[Job]:
    """Queue the measurements the sample still lacks here under this fingerprint: up to
    ``repeats`` per architecture, pass by pass."""
    assert plan.sample is not None
    space, archs, repeats = plan.sample.space, plan.sample.archs, plan.sample.repeats
    fingerprint = probe_fingerprint(transport, plan.settings)
    done = store.measured_arch_counts(
        space=space.name, device=plan.spec.name, fingerprint=fingerprint.hash
    )
    out.skipped = [a for a in archs if done.get(a, 0) >= repeats]
    from hwnas.records import Arch

    settings = {**plan.settings.to_dict(), "exporter": plan.sample.exporter}
    todo = []
    for r in range(repeats):
        # The repeat number keeps a pass's job apart from the pending job of another pass
        # (equal pending jobs are queued once); the first pass has none, as before repeats.
        pass_settings = settings if r == 0 else {**settings, "repeat": r + 1}
        todo += [
            NewJob(
                label=a,
                model_path=None,
                arch=Arch(space=space.name, string=a),
                settings=pass_settings,
            )
            for a in archs
            if done.get(a, 0) <= r
        ]
    return store.add_jobs(batch, plan.spec.name, todo)


def run_fleet(
    plans: Sequence[DevicePlan],
    *,
    store_location: str,
    batch: str,
    connect: Callable[[DeviceSpec], Transport],
    events: Events,
    space_loader: Callable[[str], Any],
    reconnect_timeout: float = 300.0,
) -> tuple[list[DeviceOutcome], bool]:
    """Run every plan, one thread per device; return the outcomes and whether Ctrl-C
    stopped the run. Nothing raises for a device's failure: it is in its outcome."""
    stop = threading.Event()
    transports: dict[str, Transport] = {}
    outcomes = [DeviceOutcome(device=p.spec.name) for p in plans]

    finished = [threading.Event() for _ in plans]

    def work(plan: DevicePlan, out: DeviceOutcome, done: threading.Event) -> None:
        name = plan.spec.name
        try:
            with Store(store_location) as store, connect(plan.spec) as transport:
                transports[name] = transport
                jobs = plan.jobs
                if plan.sample is not None:
                    jobs = _plan_sample(transport, store, plan, batch, out)
                events.planned(name, len(jobs), len(out.skipped))
                groups: dict[str, tuple[ProfileSettings, list[ModelJob]]] = {}
                for job in jobs:
                    key = json.dumps(job.settings, sort_keys=True)
                    if key not in groups:
                        groups[key] = (ProfileSettings.from_dict(job.settings), [])
                    groups[key][1].append(job_to_model_job(job, space_loader))
                for settings, model_jobs in groups.values():
                    result = profile_batch(
                        transport,
                        plan.spec,
                        model_jobs,
                        settings,
                        sink=lambda m, j: (
                            store.finish_job(j.job_id, m) if j.job_id else store.add(m)
                        ),
                        on_failed=lambda j, e: store.fail_job(j.job_id, e) if j.job_id else None,
                        on_start=lambda label: events.start(name, label),
                        on_done=lambda label, m, e: events.done(name, label, m, e),
                        on_retry=lambda e, d: events.retry(name, e, d),
                        should_stop=stop.is_set,
                        reconnect_timeout=reconnect_timeout,
                    )
                    _merge(out.result, result)
                    if result.interrupted or result.connection_lost:
                        break
        except HwnasError as exc:
            out.error = exc
        except Exception as exc:  # noqa: BLE001 - one device's bug must not hide the others
            traceback.print_exc()
            out.error = HwnasError(
                f"unexpected {type(exc).__name__} on {name}: {exc}; this is "
                f"a bug in hwnas, please report it with the traceback above"
            )
        finally:
            transports.pop(name, None)
            done.set()

    threads = [
        threading.Thread(target=work, args=(p, o, e), name=f"hwnas-{p.spec.name}", daemon=True)
        for p, o, e in zip(plans, outcomes, finished, strict=True)
    ]
    for t in threads:
        t.start()
    interrupted = False
    # Wait with sleep, not Thread.join: a join interrupted by Ctrl-C can return early ever
    # after on CPython < 3.13 (the thread then looks finished while it is still working).
    try:
        while not all(e.is_set() for e in finished):
            time.sleep(0.1)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        # Remote runs do not see the local Ctrl-C: drop their connections so the workers
        # stop now; the jobs in flight stay queued for --resume.
        for transport in list(transports.values()):
            if transport.python and type(transport).__name__ != "LocalTransport":
                try:
                    transport.close()
                except Exception:  # noqa: BLE001 - closing is best effort here
                    pass
        deadline = time.monotonic() + 60.0
        while not all(e.is_set() for e in finished) and time.monotonic() < deadline:
            try:
                time.sleep(0.1)
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the workers
                break
    for o in outcomes:
        if interrupted:
            o.result.interrupted = True
    return outcomes, interrupted


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.measurements += part.measurements
    total.errors += part.errors
    total.interrupted = total.interrupted or part.interrupted
    total.connection_lost = total.connection_lost or part.connection_lost
    total.left += part.left
    total.reconnects += part.reconnects
