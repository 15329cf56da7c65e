"""Holding a device while its jobs run: the device's lease in the store, renewed by a
heartbeat thread.

One device is measured by one worker at a time, whatever process or host it runs in:
the worker that holds the device's lease (``Store.acquire_device``) is the only one
that may claim its jobs (``Store.claim_job``) and store their results
(``Store.finish_job(..., worker=...)``). A heartbeat renews the lease every third of
its length while the worker holds it; a worker that dies (SIGKILL, a crashed host, a
lost network) stops renewing it, and once it has expired the next worker to ask for
the device takes it over, with the jobs the dead one was running back in the queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hwnas.errors import HwnasError
from hwnas.events import Event, ProgressCallback
from hwnas.store import Lease, Store

#: How long a lease lasts without a heartbeat (s), unless a worker is given another.
DEFAULT_LEASE_SECONDS = 30.0
#: How often a worker waiting for a device, or for jobs, looks again (s).
DEFAULT_POLL_SECONDS = 1.0
_log = logging.getLogger(__name__)


class Heartbeat:
    """Renews ``worker``'s lease on ``device`` every ``lease_seconds / 3`` from its own
    thread, with its own store handle, until :meth:`stop`. ``lost`` is set once the lease
    is no longer the worker's (another worker took the device over, or it was released),
    then ``on_lost()`` is called, from the heartbeat's thread, and the beats end; a store
    that fails meanwhile (the database restarting) is tried again at the next beat, as
    the lease may well outlast the failure."""

    def __init__(
        self,
        location: str,
        device: str,
        worker: str,
        lease_seconds: float,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.location, self.device, self.worker = location, device, worker
        self.lease_seconds = lease_seconds
        self.lost = threading.Event()
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"hwnas-heartbeat-{device}", daemon=True
        )

    def start(self) -> Heartbeat:
        """Start beating; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the lease is left as it is: release it with the store)."""
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.lease_seconds))

    def _run(self) -> None:
        interval = self.lease_seconds / 3
        store: Store | None = None
        try:
            while not self._stop.wait(interval):
                try:
                    store = store or Store(self.location)
                    if not store.renew_lease(
                        self.device, self.worker, lease_seconds=self.lease_seconds
                    ):
                        self.lost.set()
                        if self.on_lost is not None:
                            self.on_lost()
                        return
                except HwnasError as exc:
                    _log.warning("heartbeat of %s on %s failed: %s", self.worker, self.device, exc)
        finally:
            if store is not None:
                store.close()


@contextmanager
def hold_device(
    store: Store,
    location: str,
    device: str,
    worker: str,
    *,
    lease_seconds: float,
    stop: threading.Event,
    give_up: Callable[[], bool],
    report: ProgressCallback,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    on_lost: Callable[[], None] | None = None,
) -> Iterator[Lease | None]:
    """Hold ``device`` for the block: its lease, acquired for ``worker`` and renewed by a
    :class:`Heartbeat` (which opens ``location``, the store of ``store``), then released
    (jobs still claimed go back to the queue).

    While another worker holds the device, wait for it, looking every ``poll_seconds``,
    with one ``note`` event saying who holds it; yield None instead of a lease when
    ``stop`` is set or ``give_up()`` says the wait is pointless (the jobs it was for were
    all finished by the other worker). A note also says which jobs an expired lease left
    running and the acquisition put back in the queue.

    If the lease is lost while held (another worker took the device over once it ran out
    without a heartbeat, as when this worker was stopped or cut off from the store for
    longer than the lease; or it was released), a ``note`` event says so and
    ``on_lost()`` is called, both from the heartbeat's thread, as soon as the heartbeat
    finds out: the block must start no job more under it (the store would refuse
    the claim, and the result of a job claimed under it: :func:`lost_lease`).
    """
    waiting = False
    while True:
        lease = store.acquire_device(device, worker, lease_seconds=lease_seconds)
        if lease.worker == worker:
            break
        if stop.is_set() or give_up():
            yield None
            return
        if not waiting:
            report(_note(device, held_by(lease)))
            waiting = True
        stop.wait(poll_seconds)
    if lease.reclaimed:
        report(_note(device, took_over(lease)))

    def lost() -> None:
        report(_note(device, lost_lease(device, worker)))
        if on_lost is not None:
            on_lost()

    heartbeat = Heartbeat(location, device, worker, lease_seconds, on_lost=lost).start()
    try:
        yield lease
    finally:
        heartbeat.stop()
        try:
            store.release_device(device, worker)
        except HwnasError as exc:  # the lease expires on its own; its jobs return then
            _log.warning("releasing %s for %s failed: %s", device, worker, exc)


def took_over(lease: Lease) -> str:
    """What a worker says when its acquisition of a device put back in the queue the jobs
    an expired lease (or a worker gone) left running (``lease.reclaimed``)."""
    ids = ", ".join(map(str, lease.reclaimed))
    return f"took over {lease.device} from an expired lease: job(s) {ids} requeued"


def lost_lease(device: str, worker: str) -> str:
    """What a worker says when its heartbeat finds its lease on ``device`` gone."""
    return (
        f"worker {worker} lost its lease on {device}: another worker took the device over "
        f"after the lease ran out without a heartbeat (this worker was stopped, or cut off "
        f"from the store, for longer than --lease-seconds), or it was released. No job "
        f"more starts here under it; the job measuring now, if any, is not stored as this "
        f"worker's (it went back to the queue and is measured again under the device's "
        f"lease, so nothing is lost or measured twice)"
    )


def held_by(lease: Lease) -> str:
    """What a worker that finds ``lease``'s device held says while it waits for it."""
    left = max(0.0, lease.expires_at - lease.now)
    return (
        f"{lease.device} is held by worker {lease.worker} (for {lease.held_s:.0f} s; its "
        f"lease runs {left:.0f} s more unless renewed): waiting for it; that worker runs "
        f"this device's queued jobs meanwhile"
    )


def _note(device: str, message: str) -> Event:
    return Event(kind="note", stage="measure", device=device, message=message)
