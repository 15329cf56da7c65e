"""One stage of work on one device through the fleet, summed up: what the lookup-table and
kernel-predictor builds share (their blocks, networks and kernels are each one stage).

:func:`run_stage` runs one :class:`~hwnas.profiler.fleet.DevicePlan` with
``run_fleet`` and reports it as a :class:`StageOutcome`; the fleet's ``hwnas.events``
carry the stage's name, so a renderer can tell the stages of one device apart.
:func:`opened_store` turns a workflow's ``store=`` argument into an open store.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hwnas.devices.transport import Transport
from hwnas.errors import HwnasError, ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.profiler.fleet import DevicePlan, run_fleet
from hwnas.records import DeviceSpec
from hwnas.store import Store, open_store

#: What a workflow's ``store=`` accepts: an open store, a path (SQLite) or URL, or None
#: (``$HWNAS_STORE``, else ``./hwnas.db``).
StoreLike: TypeAlias = Store | str | os.PathLike[str] | None


@contextmanager
def opened_store(store: StoreLike) -> Iterator[Store]:
    """``store`` if it is an open :class:`Store` (left open), else the store at that
    location, opened here (``StoreError`` if unusable) and closed afterwards."""
    if isinstance(store, Store):
        yield store
        return
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise ParameterError("store", f"must be a path, a URL or a Store, got {store!r}")
    with open_store(store) as opened:
        yield opened


@dataclass
class StageOutcome:
    """What one stage did on one device.

    ``errors`` holds one dict per failed job (``model``, ``error``, ``message``: the
    fleet's form); ``device_error`` is why the device stopped working, if it did;
    ``connection_lost`` the message of a link that stayed down past the reconnect
    timeout; ``interrupted`` whether Ctrl-C stopped the stage.
    """

    stage: str
    device: str
    measured: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    device_error: HwnasError | None = None
    connection_lost: str | None = None
    interrupted: bool = False

    def problems(self) -> list[dict[str, Any]]:
        """Every failure of the stage as JSON-able dicts: the failed jobs, then the
        device's error and a lost connection (each with ``device``)."""
        found = list(self.errors)
        if self.device_error is not None:
            found.append({"device": self.device, **self.device_error.to_dict()})
        if self.connection_lost:
            found.append(
                {"device": self.device, "error": "connection_lost", "message": self.connection_lost}
            )
        return found


def run_stage(
    plan: DevicePlan,
    *,
    stage: str,
    store_location: str,
    batch: str,
    connect: Callable[[DeviceSpec], Transport],
    space_loader: Callable[[str], Any],
    progress: ProgressCallback | None = None,
    reconnect_timeout: float = 300.0,
    skipped: int = 0,
) -> StageOutcome:
    """Run ``plan`` (queued jobs, or a space sample the fleet plans itself) on its device.

    Every event of the fleet reaches ``progress`` with ``stage`` as its stage; ``skipped``
    (jobs left out before ``plan`` was made) is added to the ``planned`` event's count.
    A plan with nothing to do returns at once. Never raises for the device's failure or
    Ctrl-C: both are in the outcome.
    """
    name = plan.spec.name
    if not plan.jobs and (plan.sample is None or not plan.sample.archs):
        return StageOutcome(stage=stage, device=name, skipped=skipped)
    report = emitter(progress)

    def relabel(event: Event) -> None:
        extra = skipped if event.kind == "planned" else 0
        changes: dict[str, Any] = {"stage": stage}
        if extra:
            changes["skipped"] = (event.skipped or 0) + extra
        report(dataclasses.replace(event, **changes))

    (outcome,), interrupted = run_fleet(
        [plan],
        store_location=store_location,
        batch=batch,
        connect=connect,
        space_loader=space_loader,
        progress=relabel,
        reconnect_timeout=reconnect_timeout,
    )
    return StageOutcome(
        stage=stage,
        device=name,
        measured=len(outcome.result.measurements),
        skipped=len(outcome.skipped) + skipped,
        errors=list(outcome.result.errors),
        device_error=outcome.error,
        connection_lost=outcome.result.connection_lost or None,
        interrupted=interrupted or outcome.result.interrupted,
    )
