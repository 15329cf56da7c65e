"""`hwnas queue`: list and cancel the profiling jobs queued in the store.

Every profiling job is queued before it runs; `hwnas profile --resume` runs those left
pending. `queue status` counts them per device (and lists the pending ones with
`--jobs`); `queue cancel` marks pending jobs cancelled, so that resume no longer runs
them (a device that was removed, a meter that is missing). Measurements are never
deleted. The command calls ``hwnas.profiler.api.queue_status`` and ``cancel_jobs``.
"""

from __future__ import annotations

from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    fail,
    missing_store,
    note,
    open_store,
    options,
    out,
    print_json,
)
from hwnas.errors import HwnasError

app = typer.Typer(help="List and cancel queued profiling jobs.", no_args_is_help=True)


@app.command("status")
def status(
    device: str | None = typer.Option(None, "--device", "-d", help="Only this device."),
    jobs: bool = typer.Option(False, "--jobs", help="List the pending jobs too."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Per device: how many jobs are pending, failed, done and cancelled."""
    from hwnas.profiler import api

    try:
        if (absent := missing_store(store_path)) is not None:
            result = api.QueueStatus(store=absent, counts={}, pending=[])
        else:
            with open_store(store_path, create=False) as store:
                result = api.queue_status(store=store, device=device)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    doc = result.to_dict(jobs=jobs)
    if as_json:
        print_json(doc)
        return
    if not doc["devices"]:
        note(f"no queued jobs in {result.store}")
        return
    out.print(_counts_table(doc["devices"]))
    if jobs and doc["jobs"]:
        out.print(_jobs_table(doc["jobs"]))
    pending = sum(d["pending"] for d in doc["devices"])
    note(
        f"{pending} pending job(s) in {result.store}"
        + (
            ": `hwnas profile --resume` runs them, `hwnas queue cancel` drops them"
            if pending
            else ""
        )
    )


@app.command("cancel")
def cancel(
    device: str | None = typer.Option(
        None, "--device", "-d", help="Cancel this device's pending jobs."
    ),
    job: list[int] = typer.Option([], "--job", help="Cancel the pending job with this id."),
    everything: bool = typer.Option(False, "--all", help="Cancel every pending job."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Mark pending jobs cancelled so that `profile --resume` skips them (never deletes
    a measurement)."""
    from hwnas.profiler import api

    try:
        with options(ids="--job", all_pending="--all"), open_store(store_path) as store:
            cancelled = api.cancel_jobs(
                store=store, device=device, ids=job or None, all_pending=everything
            )
            where = store.url
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"cancelled": cancelled, "store": where})
        return
    shown = ", ".join(map(str, cancelled[:20])) + (" ..." if cancelled[20:] else "")
    note(
        f"cancelled {len(cancelled)} pending job(s) in {where}"
        + (f": {shown}" if cancelled else "")
        + "; measurements are kept"
    )


def _counts_table(devices: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("device", "pending", "failed", "done", "cancelled"):
        table.add_column(column, justify="left" if column == "device" else "right")
    for d in devices:
        table.add_row(
            escape(d["device"]), *(str(d[k]) for k in ("pending", "failed", "done", "cancelled"))
        )
    return table


def _jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="pending jobs")
    for column in ("id", "label", "device", "settings", "age"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for j in jobs:
        table.add_row(
            str(j["id"]),
            escape(j["label"]),
            escape(j["device"]),
            escape(j["settings"]),
            _age(j["age_s"]),
        )
    return table


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
