"""The job queue and device leases of a store (:class:`QueueMixin`, a part of
:class:`~hwnas.store.Store`): jobs queued, claimed under a lease, finished or failed
exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from hwnas.errors import LeaseLostError, StoreError

if TYPE_CHECKING:
    pass
from hwnas.records import (
    Measurement,
)
from hwnas.store.engine import _now, _serialise
from hwnas.store.jobs import (
    Job,
    Lease,
    NewJob,
    _check_lease_seconds,
    _clock,
    _job_from_row,
    _lease_from_row,
    worker_gone,
)
from hwnas.store.schema import JOBS, LEASES


class QueueMixin:
    """The queue methods of :class:`~hwnas.store.Store`, which provides the transactions,
    the measurement insert and the store's name for messages."""

    _where: str
    if TYPE_CHECKING:
        _transaction: Callable[..., AbstractContextManager[Connection]]
        _insert_measurement: Callable[..., int]

    # -- jobs --------------------------------------------------------------

    def add_jobs(self, batch: str, device: str, jobs: Iterable[NewJob]) -> list[Job]:
        """Queue ``jobs`` for ``device`` (status pending) in one transaction.

        A job equal to one still pending or running (same device, label, architecture and
        settings) is not queued twice: that one is returned instead.
        """
        now = _now()
        out: list[Job] = []
        with self._transaction(write=True) as conn:
            _serialise(conn, f"jobs:{device}")  # two queuers must not both find none pending
            for job in jobs:
                settings = json.dumps(dict(job.settings), sort_keys=True)
                existing = conn.execute(
                    select(JOBS.c.id).where(
                        JOBS.c.device == device,
                        JOBS.c.status.in_(("pending", "running")),
                        JOBS.c.label == job.label,
                        JOBS.c.settings_json == settings,
                    )
                ).scalar()
                if existing is None:
                    result = conn.execute(
                        insert(JOBS).values(
                            batch=batch,
                            device=device,
                            label=job.label,
                            model_path=job.model_path,
                            arch_space=job.arch.space if job.arch else None,
                            arch_string=job.arch.string if job.arch else None,
                            settings_json=settings,
                            status="pending",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    key = result.inserted_primary_key
                    assert key is not None
                    existing = int(key[0])
                out.append(
                    Job(
                        id=int(existing),
                        batch=batch,
                        device=device,
                        label=job.label,
                        model_path=job.model_path,
                        arch=job.arch,
                        settings=dict(job.settings),
                        status="pending",
                    )
                )
        return out

    def jobs(
        self,
        *,
        device: str | None = None,
        status: str | None = None,
        batch: str | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[Job]:
        """Queued jobs, oldest first, optionally of one device, status, batch and/or ids."""
        where = []
        if device is not None:
            where.append(JOBS.c.device == device)
        if status is not None:
            where.append(JOBS.c.status == status)
        if batch is not None:
            where.append(JOBS.c.batch == batch)
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=False) as conn:
            rows = conn.execute(select(JOBS).where(*where).order_by(JOBS.c.id)).mappings()
            return [_job_from_row(r) for r in rows]

    def job_counts(self) -> dict[str, dict[str, int]]:
        """Device -> status (``pending``, ``done``, ``failed``, ``cancelled``) -> job count."""
        stmt = select(JOBS.c.device, JOBS.c.status, func.count()).group_by(
            JOBS.c.device, JOBS.c.status
        )
        counts: dict[str, dict[str, int]] = {}
        with self._transaction(write=False) as conn:
            for device, status, n in conn.execute(stmt):
                counts.setdefault(device, {})[status] = int(n)
        return counts

    def cancel_jobs(
        self, *, device: str | None = None, ids: Iterable[int] | None = None
    ) -> list[int]:
        """Mark pending jobs cancelled (of ``device``, and/or with these ``ids``; neither:
        every pending job); return their ids. Measurements are never touched, and jobs
        done or failed stay as they are."""
        where = [JOBS.c.status == "pending"]
        if device is not None:
            where.append(JOBS.c.device == device)
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=True) as conn:
            # Locked as read: a job being finished meanwhile is waited for and left done.
            chosen = select(JOBS.c.id).where(*where).with_for_update()
            found = [int(i) for i in conn.execute(chosen).scalars()]
            if found:
                conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id.in_(found))
                    .values(status="cancelled", updated_at=_now())
                )
        return sorted(found)

    def set_job_settings(self, job_id: int, settings: Mapping[str, Any]) -> None:
        """Replace a pending job's settings (what it will be measured with, and so the
        key its measurement is stored under); a job no longer pending is left alone."""
        with self._transaction(write=True) as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status == "pending")
                .values(settings_json=json.dumps(dict(settings), sort_keys=True), updated_at=_now())
            )

    def finish_job(
        self, job_id: int, measurement: Measurement, *, worker: str | None = None
    ) -> int:
        """Store the job's measurement and mark it done, atomically; return the new id.

        The measurement is stored with the key of the job's settings (:func:`settings_key`),
        what "already measured" compares. A job already done is never stored twice: its
        measurement id is returned. With ``worker`` (the one that claimed the job:
        :meth:`claim_job`), the job must still be running under that worker and the worker
        must still hold the device's lease; otherwise nothing is stored and
        :class:`~hwnas.errors.LeaseLostError` says so (the job went back to the queue).
        """
        with self._transaction(write=True) as conn:
            if worker is not None:
                self._check_claim(conn, job_id, worker)
            # Locked as read: a second finisher waits, then finds the job done.
            row = conn.execute(
                select(JOBS.c.status, JOBS.c.measurement_id, JOBS.c.settings_json)
                .where(JOBS.c.id == job_id)
                .with_for_update()
            ).first()
            if row is None:
                raise StoreError(f"no job with id {job_id} in {self._where}")
            if row.status == "done" and row.measurement_id is not None:
                return int(row.measurement_id)
            settings = json.loads(row.settings_json)
            new_id = self._insert_measurement(conn, measurement, job_settings=settings)
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(status="done", measurement_id=new_id, error_json=None, updated_at=_now())
            )
        return new_id

    def fail_job(self, job_id: int, error: Mapping[str, Any], *, worker: str | None = None) -> None:
        """Mark a job failed (the model's fault); --resume does not retry it. With
        ``worker``, as for :meth:`finish_job`: ``LeaseLostError`` unless it still runs there."""
        with self._transaction(write=True) as conn:
            if worker is not None:
                self._check_claim(conn, job_id, worker)
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id)
                .values(status="failed", error_json=json.dumps(dict(error)), updated_at=_now())
            )

    # -- leases and claims --------------------------------------------------

    def acquire_device(self, device: str, worker: str, *, lease_seconds: float) -> Lease:
        """Lease ``device`` to ``worker`` for ``lease_seconds`` (or renew its lease) unless
        another worker's lease on it is still running; return the device's lease as it now
        is: ``lease.worker == worker`` when acquired, else the holder's.

        A lease that expired (its worker stopped renewing it: killed, stalled, cut off) is
        taken over, and so is one whose worker ran on this host and has exited
        (:func:`worker_gone`: a killed ``hwnas profile`` is resumed at once, not a lease
        later), and the jobs that worker was running go back to the queue, pending
        (``lease.reclaimed``): nothing is lost, and what the old worker still measures is
        refused by :meth:`finish_job`. ``ParameterError`` unless ``lease_seconds`` > 0.
        """
        seconds = _check_lease_seconds(lease_seconds)
        with self._transaction(write=True) as conn:
            _serialise(conn, f"lease:{device}")  # two workers must not both find no lease
            now = _clock(conn)
            row = (
                conn.execute(select(LEASES).where(LEASES.c.device == device).with_for_update())
                .mappings()
                .first()
            )
            if (
                row is not None
                and row["worker"] != worker
                and row["expires_at"] > now
                and not worker_gone(row["worker"])
            ):
                return _lease_from_row(row, now)
            # Whatever runs on the device under another worker has no live lease: requeue it.
            reclaimed = self._requeue(conn, device, JOBS.c.worker != worker)
            mine = row is not None and row["worker"] == worker
            values = {
                "device": device,
                "worker": worker,
                "acquired_at": row["acquired_at"] if mine else now,  # type: ignore[index]
                "heartbeat_at": now,
                "expires_at": now + seconds,
            }
            conn.execute(delete(LEASES).where(LEASES.c.device == device))
            conn.execute(insert(LEASES).values(values))
        return _lease_from_row(values, now, reclaimed)

    def renew_lease(self, device: str, worker: str, *, lease_seconds: float) -> bool:
        """The heartbeat: push ``worker``'s lease on ``device`` to ``lease_seconds`` from
        now; False when the lease is no longer this worker's (another took the device)."""
        seconds = _check_lease_seconds(lease_seconds)
        with self._transaction(write=True) as conn:
            now = _clock(conn)
            done = conn.execute(
                update(LEASES)
                .where(LEASES.c.device == device, LEASES.c.worker == worker)
                .values(heartbeat_at=now, expires_at=now + seconds)
            )
            return done.rowcount == 1

    def release_device(self, device: str, worker: str) -> list[int]:
        """End ``worker``'s lease on ``device`` (if it still holds it); the jobs it was
        running there go back to the queue. Returns their ids."""
        with self._transaction(write=True) as conn:
            conn.execute(
                select(LEASES.c.device)
                .where(LEASES.c.device == device, LEASES.c.worker == worker)
                .with_for_update()
            ).all()
            requeued = self._requeue(conn, device, JOBS.c.worker == worker)
            conn.execute(delete(LEASES).where(LEASES.c.device == device, LEASES.c.worker == worker))
        return requeued

    def leases(self) -> list[Lease]:
        """Every device's lease, expired ones too, by device (``Lease.now``: the clock)."""
        with self._transaction(write=False) as conn:
            now = _clock(conn)
            rows = conn.execute(select(LEASES).order_by(LEASES.c.device)).mappings().all()
        return [_lease_from_row(r, now) for r in rows]

    def claim_job(
        self, device: str, worker: str, *, ids: Iterable[int] | None = None
    ) -> Job | None:
        """The oldest pending job of ``device`` (of those with ``ids``, if given), marked
        running under ``worker`` in the same transaction: no other worker can claim it
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the write lock). A job already
        running under ``worker`` is returned as it is. None when nothing is left to claim.

        ``worker`` must hold the device's lease (:meth:`acquire_device`), else
        :class:`~hwnas.errors.LeaseLostError`.
        """
        where = [
            JOBS.c.device == device,
            or_(
                JOBS.c.status == "pending",
                and_(JOBS.c.status == "running", JOBS.c.worker == worker),
            ),
        ]
        if ids is not None:
            where.append(JOBS.c.id.in_(sorted({int(i) for i in ids})))
        with self._transaction(write=True) as conn:
            self._check_holder(conn, device, worker)
            chosen = select(JOBS).where(*where).order_by(JOBS.c.id).limit(1)
            row = conn.execute(chosen.with_for_update(skip_locked=True)).mappings().first()
            if row is None:
                return None
            if row["status"] == "running":
                return _job_from_row(row)
            values = {"status": "running", "worker": worker, "claimed_at": _now()}
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == row["id"])
                .values(**values, claims=func.coalesce(JOBS.c.claims, 0) + 1, updated_at=_now())
            )
        return _job_from_row({**row, **values, "claims": int(row["claims"] or 0) + 1})

    def _requeue(self, conn: Connection, device: str, whose: ColumnElement[bool]) -> list[int]:
        """Put the running jobs of ``device`` that match ``whose`` back to pending."""
        running = select(JOBS.c.id).where(JOBS.c.device == device, JOBS.c.status == "running")
        ids = sorted(int(i) for i in conn.execute(running.where(whose).with_for_update()).scalars())
        if ids:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids))
                .values(status="pending", worker=None, claimed_at=None, updated_at=_now())
            )
        return ids

    def _check_holder(self, conn: Connection, device: str, worker: str) -> None:
        """``LeaseLostError`` unless ``worker`` holds ``device``'s lease (locked till the end)."""
        holder = conn.execute(
            select(LEASES.c.worker).where(LEASES.c.device == device).with_for_update()
        ).scalar()
        if holder != worker:
            now = f"worker {holder} holds it now" if holder else "nobody holds it now"
            raise LeaseLostError(
                f"worker {worker} does not hold device {device!r} in {self._where} ({now}); "
                f"a worker claims and finishes jobs only under the device's lease "
                f"(acquire_device). If it held it, the lease ran out without a heartbeat "
                f"(the worker was stopped, or cut off from the database, for longer than the "
                f"lease): its job went back to the queue and runs again, and nothing was "
                f"stored. If the worker was only slow, give it a longer lease (--lease-seconds)"
            )

    def _check_claim(self, conn: Connection, job_id: int, worker: str) -> None:
        """``LeaseLostError`` unless job ``job_id`` runs under ``worker``, which holds its
        device (the lease is locked before the job: the order every claim takes)."""
        device = conn.execute(select(JOBS.c.device).where(JOBS.c.id == job_id)).scalar()
        if device is None:
            raise StoreError(f"no job with id {job_id} in {self._where}")
        self._check_holder(conn, device, worker)
        row = conn.execute(
            select(JOBS.c.status, JOBS.c.worker).where(JOBS.c.id == job_id).with_for_update()
        ).first()
        assert row is not None
        if row.status != "running" or row.worker != worker:
            raise LeaseLostError(
                f"job {job_id} on device {device!r} is no longer worker {worker}'s (it is "
                f"{row.status}{f' under worker {row.worker}' if row.worker else ''}): the worker "
                f"lost the device's lease meanwhile, and the job went back to the queue. "
                f"Nothing was stored; give workers a longer lease (--lease-seconds) if they stall"
            )
