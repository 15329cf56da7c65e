"""`hwnas queue`: add, list and cancel the profiling jobs queued in the store.

Every profiling job is queued before it runs; `hwnas worker` and `hwnas profile --resume`
run those pending. `queue add` queues what `hwnas profile` would measure (same
arguments) without running it; `queue status` counts jobs per device, with the worker
holding each device and its lease's age (and lists the pending and running ones with
`--jobs`); `queue cancel` marks pending jobs cancelled, so that no worker runs them (a
device that was removed, a meter that is missing). Measurements are never deleted. The
commands call ``hwnas.queue_add``, ``hwnas.profiler.api.queue_status`` and ``cancel_jobs``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
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
from hwnas.cli.profile_cmd import (
    RUN_ONLY,
    check_space_options,
    device_names,
    profile,
    settings_of,
)
from hwnas.errors import HwnasError

app = typer.Typer(
    help="Add, list and cancel queued profiling jobs (run by `hwnas worker`).",
    no_args_is_help=True,
)


def add(**values: Any) -> None:
    """Queue what `hwnas profile` would measure (same arguments), without running it:
    `hwnas worker --device NAME` runs the jobs, on this host or any other sharing the
    store. Architectures of --space already measured on the device (latest fingerprint,
    same settings) are not queued again."""
    from hwnas.profiler import worker

    models: list[Path] = list(values["models"] or [])
    as_json = values["as_json"]
    try:
        with options(shapes="--shape", fresh="--fresh"):
            check_space_options(values["space_name"], values["sample"], models, values["repeats"])
            settings = settings_of(values)
            exporter = settings.pop("exporter")
            seed = settings.pop("seed")
            space = {}
            if values["space_name"] is not None:
                space = dict(
                    space=values["space_name"],
                    sample=values["sample"],
                    repeats=values["repeats"],
                    exporter=exporter,
                    seed=seed,
                )
            else:
                settings["seed"] = seed
            queued = worker.queue_add(
                [str(m) for m in models] or None,
                device=device_names(values["device"]) or "local",
                store=values["store_path"],
                **space,
                **settings,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(queued.to_dict())
        return
    for text in queued.notes:
        note(text)
    for device, archs in queued.skipped.items():
        if archs:
            note(f"{device}: {len(archs)} architecture(s) already measured, not queued")
    per_device: dict[str, int] = {}
    for job in queued.jobs:
        per_device[job.device] = per_device.get(job.device, 0) + 1
    shown = ", ".join(f"{n} for {d}" for d, n in per_device.items()) or "nothing"
    note(
        f"queued {shown} in {queued.store}; `hwnas worker --device NAME` runs them, "
        f"`hwnas queue status` shows them"
    )


# `queue add` takes the options of `profile` (less those only running needs): one
# definition of them, in profile_cmd.
_PROFILE = inspect.signature(profile, eval_str=True)
add.__signature__ = _PROFILE.replace(  # type: ignore[attr-defined]
    parameters=[p for p in _PROFILE.parameters.values() if p.name not in (*RUN_ONLY, "ctx")]
)
app.command("add")(add)


@app.command("status")
def status(
    device: str | None = typer.Option(None, "--device", "-d", help="Only this device."),
    jobs: bool = typer.Option(False, "--jobs", help="List the pending jobs too."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Per device: how many jobs are pending, running (with the worker holding the device
    and how long it has held it), failed, done and cancelled."""
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
            ": `hwnas worker --device NAME` (or `hwnas profile --resume`) runs them, "
            "`hwnas queue cancel` drops them"
            if pending
            else ""
        )
    )
    for d in doc["devices"]:
        for lease in d["workers"]:
            if lease["expired"]:
                note(
                    f"{d['device']}: the lease of worker {lease['worker']} expired "
                    f"{lease['heartbeat_age_s']:.0f} s after its last heartbeat (the worker "
                    f"died or lost the store); the next worker to look at {d['device']} "
                    f"takes it over and runs its job again"
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
    # The worker's id (host:pid:uuid) whole: it is what to look for on the hosts.
    widest = max((len(w["worker"]) for d in devices for w in d["workers"]), default=6)
    table.add_column("device")
    for column in ("pending", "running"):
        table.add_column(column, justify="right")
    table.add_column("worker", min_width=widest, no_wrap=True)
    for column in ("lease", "failed", "done", "cancelled"):
        table.add_column(column, justify="right")
    for d in devices:
        lease = d["workers"][0] if d["workers"] else None
        held = "" if lease is None else _age(lease["lease_age_s"])
        if lease is not None and lease["expired"]:
            held += " (expired)"
        table.add_row(
            escape(d["device"]),
            str(d["pending"]),
            str(d["running"]),
            escape(lease["worker"]) if lease else "",
            held,
            *(str(d[k]) for k in ("failed", "done", "cancelled")),
        )
    return table


def _jobs_table(jobs: list[dict[str, Any]]) -> Table:
    running = any(j["status"] == "running" for j in jobs)
    table = Table(
        box=box.SIMPLE_HEAD, title="pending and running jobs" if running else "pending jobs"
    )
    for column in ("id", "label", "device", "status", "worker", "settings", "age"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for j in jobs:
        table.add_row(
            str(j["id"]),
            escape(j["label"]),
            escape(j["device"]),
            j["status"],
            escape(j["worker"] or ""),
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
