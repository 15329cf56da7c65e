"""Queued jobs, device leases and the workers that hold them: the records the queue
returns and the checks its methods share."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    func,
    select,
)

from hwnas.errors import ParameterError

if TYPE_CHECKING:
    pass
from hwnas.records import (
    Arch,
)


@dataclass(frozen=True)
class NewJob:
    """A job to queue: what to measure and with which settings."""

    label: str
    model_path: str | None
    arch: Arch | None
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    """A queued profiling job."""

    id: int
    batch: str
    device: str
    label: str
    model_path: str | None
    arch: Arch | None
    settings: dict[str, Any]
    status: str
    measurement_id: int | None = None
    error: dict[str, Any] | None = None
    #: When it was queued (ISO 8601, UTC), where read from the store; not compared.
    created_at: str | None = field(default=None, compare=False)
    #: The worker running it (status ``running``), when it claimed it, and how often the
    #: job was claimed in all (more than once: a worker died or was stopped while running it).
    worker: str | None = field(default=None, compare=False)
    claimed_at: str | None = field(default=None, compare=False)
    claims: int = field(default=0, compare=False)


def _job_from_row(r: Any) -> Job:
    arch = Arch(space=r["arch_space"], string=r["arch_string"]) if r["arch_space"] else None
    return Job(
        id=int(r["id"]),
        batch=r["batch"],
        device=r["device"],
        label=r["label"],
        model_path=r["model_path"],
        arch=arch,
        settings=json.loads(r["settings_json"]),
        status=r["status"],
        measurement_id=r["measurement_id"],
        error=json.loads(r["error_json"]) if r["error_json"] else None,
        created_at=r["created_at"],
        worker=r["worker"],
        claimed_at=r["claimed_at"],
        claims=int(r["claims"] or 0),
    )


@dataclass(frozen=True)
class Lease:
    """Who holds a device (``worker``) and until when, in seconds on the database's clock:
    ``now`` is that clock when the lease was read. ``reclaimed`` lists the jobs the
    acquisition returned to the queue (running under a worker whose lease had expired)."""

    device: str
    worker: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float
    now: float
    reclaimed: tuple[int, ...] = ()

    @property
    def held_s(self) -> float:
        """Seconds since the worker acquired the device."""
        return max(0.0, self.now - self.acquired_at)

    @property
    def heartbeat_age_s(self) -> float:
        """Seconds since the worker's last heartbeat."""
        return max(0.0, self.now - self.heartbeat_at)

    @property
    def expired(self) -> bool:
        """Whether the lease ran out (the worker is gone or stalled): the next worker to
        ask for the device takes it, and the jobs it was running go back to the queue."""
        return self.expires_at <= self.now


def _lease_from_row(r: Any, now: float, reclaimed: Iterable[int] = ()) -> Lease:
    return Lease(
        device=r["device"],
        worker=r["worker"],
        acquired_at=float(r["acquired_at"]),
        heartbeat_at=float(r["heartbeat_at"]),
        expires_at=float(r["expires_at"]),
        now=now,
        reclaimed=tuple(reclaimed),
    )


def worker_id() -> str:
    """A name for a new worker, unique across hosts and time: ``host:pid:uuid``, the host
    suffixed with this process's PID namespace (``host/ns``) where ``/proc`` shows it, so
    that :func:`worker_gone` never mistakes a worker in another container for a dead one."""
    import socket
    import uuid

    host = socket.gethostname()
    ns = _pid_namespace()
    if ns:
        host = f"{host}/{ns}"
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_namespace() -> str:
    try:
        link = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return ""
    return link.partition("[")[2].rstrip("]")


def worker_gone(worker: str) -> bool:
    """True when ``worker`` (a :func:`worker_id`) ran on this host, in this PID namespace,
    and its process no longer exists; False whenever that cannot be told (another host,
    another container, no ``/proc``): such a worker's lease is left to expire."""
    import socket

    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    ns = _pid_namespace()
    if not ns or host != f"{socket.gethostname()}/{ns}" or not pid_text.isdigit():
        return False
    return not os.path.exists(f"/proc/{int(pid_text)}")


def _clock(conn: Connection) -> float:
    """Now, in seconds since the epoch, on the database's clock: PostgreSQL's (workers
    on several hosts agree on it whatever their own clocks say), or this host's for
    SQLite (whose file every worker reaches from this host)."""
    if conn.dialect.name == "postgresql":
        now = conn.execute(select(func.extract("epoch", func.clock_timestamp()))).scalar_one()
        return float(now)
    return time.time()


def _check_lease_seconds(lease_seconds: object) -> float:
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)):
        raise ParameterError("lease_seconds", f"must be a number of seconds, got {lease_seconds!r}")
    if not lease_seconds > 0:
        raise ParameterError("lease_seconds", f"must be > 0, got {lease_seconds!r}")
    return float(lease_seconds)
