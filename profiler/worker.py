"""A worker: serve devices' job queues in a shared store until stopped.

::

    import hwnas

    hwnas.run_worker(["pi", "phone"], store="postgresql+psycopg://lab@db/hwnas",
                     exit_when_idle=True)

Any number of workers, in any number of processes on any number of hosts, serve one
store: each device is held by one worker at a time (its lease, renewed by a heartbeat:
``hwnas.profiler.leases``) and each job is claimed before it runs, so nothing is
measured twice; a worker that dies leaves its lease to expire, and the next worker to
look at the device takes it over and measures the dead one's job again, so nothing is
lost. Jobs come from :func:`queue_add` (``hwnas queue add``) or an interrupted
``hwnas profile``; each runs with the settings it was queued with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from hwnas.devices.local import LocalTransport
from hwnas.devices.transport import Transport
from hwnas.errors import HwnasError, LeaseLostError, ParameterError, StoreError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.executors import open_executor
from hwnas.profiler import api
from hwnas.profiler.batch import check_max_attempts
from hwnas.profiler.fleet import DevicePlan, plan_missing, run_fleet
from hwnas.profiler.leases import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_POLL_SECONDS,
    held_by,
    took_over,
)
from hwnas.profiler.settings import ProfileSettings
from hwnas.records import Arch, DeviceSpec
from hwnas.spaces import SearchSpace, get_space, space_reference
from hwnas.store import Job, Lease, NewJob, Store, worker_gone, worker_id

__all__ = ["QueuedJobs", "WorkerResult", "queue_add", "run_worker"]

_log = logging.getLogger(__name__)
#: The first pause after the store fails (s), doubled at each failure up to the last.
_STORE_RETRY_FIRST = 0.5
_STORE_RETRY_MAX = 10.0


@dataclass
class WorkerResult:
    """What a worker did until it stopped: per device, the jobs it ``measured`` and those
    that ``failed`` (each failure in ``errors``: ``device``, ``model``, ``error``,
    ``message``); ``device_errors``: the error that last stopped a device's batch;
    ``skipped_jobs``: queued jobs it cannot run (left queued, with the reason);
    ``interrupted``: stopped by Ctrl-C (or ``stop``); ``notes``: leases waited for,
    taken over or lost. ``worker`` is its id (``host:pid:uuid``), ``store`` the store's
    URL."""

    worker: str
    store: str
    devices: list[str]
    measured: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    device_errors: dict[str, HwnasError] = field(default_factory=dict)
    skipped_jobs: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``hwnas worker --json`` prints."""
        return {
            "worker": self.worker,
            "store": self.store,
            "devices": [
                {"device": d, "measured": self.measured.get(d, 0), "failed": self.failed.get(d, 0)}
                for d in self.devices
            ],
            "errors": list(self.errors),
            "device_errors": [{"device": d, **e.to_dict()} for d, e in self.device_errors.items()],
            "skipped_jobs": [dict(j) for j in self.skipped_jobs],
            "interrupted": self.interrupted,
            "notes": list(self.notes),
        }


@dataclass
class QueuedJobs:
    """What :func:`queue_add` queued: the ``jobs`` (pending, oldest first; a job equal to
    one already pending or running is that one), per device the architectures ``skipped``
    (already measured there, see :func:`queue_add`), ``notes`` and the ``store``'s URL."""

    store: str
    jobs: list[Job] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``hwnas queue add --json`` prints."""
        return {
            "store": self.store,
            "jobs": [
                {"id": j.id, "device": j.device, "label": j.label, "status": j.status}
                for j in self.jobs
            ],
            "skipped": {d: list(a) for d, a in self.skipped.items()},
            "notes": list(self.notes),
        }


def queue_add(
    models: str | Sequence[str] | None = None,
    *,
    space: str | SearchSpace | None = None,
    sample: int | None = None,
    archs: Sequence[str] | None = None,
    seed: int = 0,
    repeats: int = 1,
    exporter: str = "torchscript",
    fresh: bool = False,
    device: api.DeviceArg = "local",
    store: api.StoreArg = None,
    reference: str | None = None,
    **settings: Any,
) -> QueuedJobs:
    """Queue profiling jobs without running them: what :func:`hwnas.profile` (``models``)
    or :func:`hwnas.profile_space` (``space`` with ``sample`` or ``archs``) would measure,
    with the same arguments and settings, for workers (:func:`run_worker`) to run.

    Nothing is exported or measured now and no device is contacted: a space's
    architectures are exported by the worker that runs them. Those already measured on a
    device under its latest fingerprint in the store with the same settings are not
    queued (``skipped``; ``fresh=True`` queues them all). A device need not be registered
    here (the workers' hosts must know it); an unregistered one gets the settings as
    given (a note says so: its meter is not known here). Raises ``ParameterError`` for a
    bad argument, ``ModelNotFoundError``/``InvalidModelError`` for a bad model file and
    ``SpaceError`` for an unknown space, before anything is queued.
    """
    if (models is None) == (space is None):
        raise ParameterError("models", "or space must be given, not both nor neither")
    energy_given = settings.get("energy") is not None
    if space is None:
        paths = api._model_paths(models, check=True)
        base = api._settings(settings, reference)
        the_space: SearchSpace | None = None
        chosen: list[str] = []
    else:
        base = api._settings({**settings, "seed": seed}, reference)
        the_space, chosen = api._sample(space, sample, seed, archs)
        from hwnas.export import check_exporter

        check_exporter(exporter)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ParameterError("repeats", f"must be an int >= 1, got {repeats!r}")
    names = api._device_names(device)
    out = QueuedJobs(store="")
    batch = api._batch()
    with api._open(store) as db:
        out.store = db.url
        for name in names:
            spec = _known(name, out)
            mine = api._for_device(base, spec, energy_given) if spec else base
            if the_space is None:
                todo = [NewJob(str(p), str(p.absolute()), None, mine.to_dict()) for p in paths]
                out.jobs += db.add_jobs(batch, name, todo)
                continue
            ask = {**mine.to_dict(), "exporter": exporter, **_space_ref(the_space)}
            planned = plan_missing(
                db,
                device=name,
                fingerprint=_latest_fingerprint(db, name),
                archs=[Arch(space=the_space.name, string=a) for a in chosen],
                settings=ask,
                batch=batch,
                repeats=repeats,
                fresh=fresh,
            )
            out.jobs += planned.jobs
            out.skipped[name] = [a.string for a in planned.skipped]
    return out


def _known(name: str, out: QueuedJobs) -> DeviceSpec | None:
    """The registered device ``name``, or None with a note that it is not registered here."""
    from hwnas.errors import UnknownDeviceError

    try:
        return api._device(name)
    except UnknownDeviceError:
        out.notes.append(
            f"device {name!r} is not registered on this host: its jobs are queued with the "
            f"settings given (energy as --energy says; its meter is not known here); a "
            f"worker on a host that has it registered runs them (`hwnas worker --device "
            f"{name}`)"
        )
        return None


def _latest_fingerprint(db: Store, device: str) -> str:
    """The hash of the fingerprint ``device`` was last measured under ("": none yet)."""
    usages = db.fingerprints(device=device)
    return max(usages, key=lambda u: u.last).fingerprint.hash if usages else ""


def _space_ref(space: SearchSpace) -> dict[str, str]:
    """``{"space_ref": ...}`` for a space not registered under its name (see the fleet)."""
    reference = space_reference(space)
    return {} if reference == space.name else {"space_ref": reference}


@dataclass
class _Serving:
    """What the device threads of one worker share."""

    #: Where to open the store again (``Store.location``: the password kept; not shown).
    url: str
    result: WorkerResult
    report: ProgressCallback
    stop: threading.Event
    exit_when_idle: bool
    lease_seconds: float
    poll_seconds: float
    reconnect_timeout: float
    max_attempts: int
    #: Where the jobs' model files are made ahead of the measurements (None: by each job).
    pool: Executor | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    spaces: dict[str, Any] = field(default_factory=dict)


def run_worker(
    device: str | Sequence[str],
    *,
    store: api.StoreArg = None,
    exit_when_idle: bool = False,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    progress: ProgressCallback | None = None,
    reconnect_timeout: float = 300.0,
    max_attempts: int = 3,
    stop: threading.Event | None = None,
    jobs: int = 1,
    executor: str | None = None,
) -> WorkerResult:
    """Run the queued jobs of ``device`` (a registered name or several, served in
    parallel, one job at a time each) from ``store`` until stopped; return what was done.

    Runs until ``stop`` is set or Ctrl-C (KeyboardInterrupt in the calling thread): the
    jobs running then finish and are stored, then it returns with ``interrupted`` set; a
    second Ctrl-C returns at once, giving the running jobs back to the queue. With
    ``exit_when_idle``, it also returns once no job of its devices is pending or running
    (and a device that fails is not tried again). It looks for new jobs every
    ``poll_seconds``. A device it serves is leased for ``lease_seconds`` and renewed every
    third of it: if this worker dies, another takes the device over after at most that
    long. ``progress`` receives the events of :func:`hwnas.profile` per job (``start``,
    ``done``) and ``note`` events about leases. ``store``, ``reconnect_timeout`` and
    ``max_attempts`` are as for :func:`hwnas.profile`. A store that fails while serving
    (the database restarting, connections cut) is tried again with backoff for up to
    ``reconnect_timeout`` s, with a note each time: the worker then carries on where it
    was, and a job it had claimed runs once all the same (under its lease, or by the
    worker that takes the device over if the lease ran out meanwhile).

    A worker that loses a device's lease (stopped or cut off for longer than
    ``lease_seconds``, another worker took the device over) starts no job more there:
    a ``note`` says so as soon as its heartbeat finds out, the job it was measuring then
    is not stored as its own (the store put it back in the queue: the device's holder
    measures it), and once the batch has stopped a second note says it waits for the
    device again; it takes the device back when it is free (not a device error).

    ``jobs`` > 1 (worker processes on this host) or ``executor="dask://HOST:PORT"`` (a
    Dask cluster) make the model files of each batch of queued architectures ahead of
    their measurements (exports, quantized for int8 jobs), so a device does not wait for
    the exporter while this host has cores to spare (:func:`hwnas.profiler.api.resume`
    does the same).

    Raises ``UnknownDeviceError`` for a device not registered and ``ParameterError`` for
    a bad argument, before anything runs; a device that fails while serving is in
    ``device_errors`` (and tried again after a pause unless ``exit_when_idle``).
    """
    names = api._device_names(device)
    specs = [api._device(n) for n in names]
    for name, value in (("lease_seconds", lease_seconds), ("poll_seconds", poll_seconds)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ParameterError(name, f"must be a number of seconds > 0, got {value!r}")
    api._check_ahead(jobs, executor)
    with api._open(store) as db:
        url, location = db.url, db.location
    serving = _Serving(
        location,
        WorkerResult(worker=worker_id(), store=url, devices=names),
        emitter(progress),
        stop or threading.Event(),
        exit_when_idle,
        float(lease_seconds),
        float(poll_seconds),
        reconnect_timeout,
        check_max_attempts(max_attempts),
    )
    threads = [
        threading.Thread(target=_serve, args=(serving, s), name=f"hwnas-worker-{s.name}")
        for s in specs
    ]
    with open_executor(executor, jobs=jobs) as serving.pool:
        for t in threads:
            t.daemon = True
            t.start()
        _wait(serving, threads)
    return serving.result


def _wait(serving: _Serving, threads: list[threading.Thread]) -> None:
    """Until every device thread ends; Ctrl-C stops them after their jobs, a second one
    gives their devices (and running jobs) back and returns at once."""
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)  # not join: see fleet._wait
        serving.result.interrupted = serving.stop.is_set()
        return
    except KeyboardInterrupt:
        serving.stop.set()
        serving.result.interrupted = True
        _note(serving, None, "stopping: the jobs running now finish first (Ctrl-C again: abort)")
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.1)
    except KeyboardInterrupt:
        try:
            with Store(serving.url) as store:  # their late results are refused (LeaseLostError)
                for name in serving.result.devices:
                    store.release_device(name, serving.result.worker)
        except HwnasError:  # the leases expire on their own, and their jobs return then
            pass


def _serve(serving: _Serving, spec: DeviceSpec) -> None:
    """One device: run its queued jobs, batch after batch, until stopped (or idle).

    The device thread takes the device's lease itself before a batch, and waits outside
    any batch while another worker holds it: with many workers on one queue, a batch
    waiting in the fleet would read the device's whole queue at every look."""
    skipped: set[int] = set()  # jobs this worker cannot run: left queued for others
    outage = _Outage()
    looks = _Looks(serving.url, serving.result.worker)
    try:
        while not serving.stop.is_set():
            try:
                if _held_elsewhere(serving, spec.name, looks):
                    outage.over()
                    serving.stop.wait(serving.poll_seconds)
                    continue
                jobs = _work_for(looks.store(), spec.name, skipped)
                outage.over()
                if not jobs:
                    if serving.exit_when_idle:
                        return
                    serving.stop.wait(serving.poll_seconds)
                    continue
                if not _acquired(serving, spec.name, looks):
                    serving.stop.wait(serving.poll_seconds)
                    continue
                error = _run_batch(serving, spec, jobs, skipped)
            except HwnasError as exc:
                error = exc
            looks.give_back(spec.name)  # for the next batch, whoever asks first
            if isinstance(error, LeaseLostError):
                _note(serving, spec.name, _back_to_waiting(spec.name, error))
                serving.stop.wait(serving.poll_seconds)
                continue  # not the device's fault: wait for it, take it back when free
            if isinstance(error, StoreError) and _store_back_soon(
                serving, spec.name, error, outage
            ):
                continue  # the store failed, not the device: its jobs are still there
            if error is not None:
                with serving.lock:
                    serving.result.device_errors[spec.name] = error
                if serving.exit_when_idle:
                    return
                _note(serving, spec.name, f"{spec.name}: {error.message}; trying again in 30 s")
                serving.stop.wait(30.0)
    finally:
        looks.give_back(spec.name)
        looks.close()


@dataclass
class _Looks:
    """A device thread's own store handle for looking at the queue and the device's lease
    between batches (opened once: each opening of a store is a write, and a connection),
    and the holder it last said it waits for."""

    url: str
    worker: str
    opened: Store | None = None
    noted: str | None = None

    def store(self) -> Store:
        if self.opened is None:
            self.opened = Store(self.url)
        return self.opened

    def give_back(self, device: str) -> None:
        """Release the device if this worker still holds it (its running jobs, if any,
        return to the queue); a store that fails leaves the lease to expire."""
        try:
            self.store().release_device(device, self.worker)
        except HwnasError as exc:
            _log.warning("releasing %s for %s failed: %s", device, self.worker, exc)

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None


def _back_to_waiting(device: str, error: LeaseLostError) -> str:
    """What a worker says when a batch ended because it lost the device's lease."""
    return (
        f"{device}: {error.message}. Waiting for {device} again: this worker takes its "
        f"lease back once it is free (`hwnas queue status` shows who holds it)"
    )


def _held_elsewhere(serving: _Serving, device: str, looks: _Looks) -> bool:
    """Whether another worker holds ``device`` under a lease still running (nothing to do
    here until it gives the device back or its lease expires): a look at one small table.
    Says so once per holder."""
    lease = next((x for x in looks.store().leases() if x.device == device), None)
    if lease is None or lease.worker == looks.worker or lease.expired:
        return False
    if worker_gone(lease.worker):
        return False
    _waiting_for(serving, lease, looks)
    return True


def _acquired(serving: _Serving, device: str, looks: _Looks) -> bool:
    """Take the device's lease (the fleet's heartbeat renews it); False when another
    worker took it first. Says which jobs an expired lease left running and went back to
    the queue."""
    lease = looks.store().acquire_device(device, looks.worker, lease_seconds=serving.lease_seconds)
    if lease.worker != looks.worker:
        _waiting_for(serving, lease, looks)
        return False
    looks.noted = None
    if lease.reclaimed:
        _note(serving, device, took_over(lease))
    return True


def _waiting_for(serving: _Serving, lease: Lease, looks: _Looks) -> None:
    """Say (once per holder) that the device is held by ``lease``'s worker."""
    if looks.noted != lease.worker:
        looks.noted = lease.worker
        _note(serving, lease.device, held_by(lease))


@dataclass
class _Outage:
    """Since when (monotonic s) a device's store has been failing, and how often."""

    since: float | None = None
    failures: int = 0

    def over(self) -> None:
        self.since, self.failures = None, 0


def _store_back_soon(serving: _Serving, device: str, error: StoreError, outage: _Outage) -> bool:
    """After the store failed (the database restarting, a dropped connection): wait,
    with backoff, and say whether to try again; False once it has failed for longer than
    ``reconnect_timeout`` (the device's error then).

    Nothing is lost meanwhile: a job this worker had claimed is still running under it
    (taken up again on its return, while the lease holds) or went back to the queue."""
    now = time.monotonic()
    outage.since = now if outage.since is None else outage.since
    if now - outage.since >= serving.reconnect_timeout:
        return False
    delay = min(_STORE_RETRY_FIRST * 2**outage.failures, _STORE_RETRY_MAX)
    outage.failures += 1
    _note(
        serving,
        device,
        f"{device}: the store failed ({error.message}); trying again in {delay:.1f} s "
        f"(for up to {serving.reconnect_timeout:.0f} s, --reconnect-timeout)",
    )
    serving.stop.wait(delay)
    return True


def _work_for(db: Store, device: str, skipped: set[int]) -> list[Job]:
    """The device's pending and running jobs: those running under another worker come
    back to the queue if that worker's lease has expired (the fleet waits for it
    otherwise), and those running under this one were cut off by a store failure (its
    lease, still held, lets it take them up again)."""
    jobs = db.jobs(device=device, status="pending") + db.jobs(device=device, status="running")
    return sorted((j for j in jobs if j.id not in skipped), key=lambda j: j.id)


def _run_batch(
    serving: _Serving, spec: DeviceSpec, jobs: list[Job], skipped: set[int]
) -> HwnasError | None:
    """Run ``jobs`` on the device under its lease; return the error that stopped it."""
    run = api._Run(serving.url, api._batch(), None, None, serving.reconnect_timeout, "collect")
    loadable = api._loadable(jobs, run)  # a space not importable here: skipped, left queued
    error = None
    if loadable:
        plan = DevicePlan(spec, ProfileSettings(), jobs=loadable, skip_unrunnable=True)
        with api.queued_exports_ahead(loadable, serving.pool):
            (outcome,), _ = run_fleet(
                [plan],
                store_location=serving.url,
                batch=run.batch,
                connect=_connect,
                space_loader=lambda name: _space(serving, name),
                progress=lambda e: _count(serving, e),
                reconnect_timeout=serving.reconnect_timeout,
                max_attempts=serving.max_attempts,
                worker=serving.result.worker,
                lease_seconds=serving.lease_seconds,
                stop=serving.stop,
            )
        run.skipped_jobs += outcome.skipped_jobs
        error = outcome.error
    skipped.update(int(j["id"]) for j in run.skipped_jobs)
    with serving.lock:
        serving.result.skipped_jobs += run.skipped_jobs
    for text in api.skipped_job_notes(run.skipped_jobs):
        _note(serving, spec.name, text)
    return error


def _connect(spec: DeviceSpec) -> Transport:
    """The device's transport; a local runner runs out of the terminal's reach, so that
    Ctrl-C stops the worker after the model it measures, not in the middle of it."""
    from hwnas.devices.registry import connect

    transport = connect(spec)
    if isinstance(transport, LocalTransport):
        transport.own_session = True
    return transport


def _space(serving: _Serving, name: str) -> Any:
    with serving.lock:
        if name not in serving.spaces:
            serving.spaces[name] = get_space(name)
        return serving.spaces[name]


def _count(serving: _Serving, event: Event) -> None:
    """Tally what this worker measured and failed, and pass every event on."""
    if event.kind == "done" and event.device is not None:
        with serving.lock:
            tally = serving.result.measured if event.error is None else serving.result.failed
            tally[event.device] = tally.get(event.device, 0) + 1
            if event.error is not None:
                serving.result.errors.append(
                    {"device": event.device, "model": event.label, **event.error.to_dict()}
                )
    elif event.kind == "note" and event.message:
        with serving.lock:
            serving.result.notes.append(event.message)
    serving.report(event)


def _note(serving: _Serving, device: str | None, message: str) -> None:
    _count(serving, Event(kind="note", stage="measure", device=device, message=message))
