"""`hwnas profile`: measure ONNX models on a device and store the results."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    err,
    fail,
    note,
    open_store,
    out,
    print_json,
    warn,
)
from hwnas.errors import HwnasError, UsageError
from hwnas.records import Measurement


def build_settings(**kwargs: Any) -> Any:
    """ProfileSettings from CLI values; bad values become a UsageError naming the option."""
    from hwnas.profiler.settings import ProfileSettings, parse_shape

    shapes: dict[str, tuple[int, ...]] = {}
    try:
        for spec in kwargs.pop("shape") or []:
            name, dims = parse_shape(spec)
            shapes[name] = dims
        return ProfileSettings(shapes=shapes, **kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def reference_model(reference: str | None) -> str | None:
    """The absolute path of a checked --reference model (``builtin``: the example CNN)."""
    if reference is None:
        return None
    from hwnas.onnx_model import check_model

    if reference == "builtin":
        from hwnas.examples import example_onnx

        return str(example_onnx())
    return str(check_model(Path(reference)).path.absolute())


def results_table(measurements: list[Measurement], *, devices: bool = False) -> Table:
    table = Table(
        title="Measurements (latency in ms; ±CI: 95% CI of the median)", title_justify="left"
    )
    table.add_column("model", overflow="fold", min_width=16)
    if devices:
        table.add_column("device")
    with_energy = any(m.energy_mj is not None for m in measurements)
    for col in (
        "median ms",
        "±CI",
        "p10",
        "p90",
        "p99",
        "n",
        "peak MB",
        "file MB",
        *(("mJ",) if with_energy else ()),
    ):
        table.add_column(col, justify="right", no_wrap=True)
    for m in measurements:
        lat = m.latency_ms
        table.add_row(
            m.arch.string if m.arch else (m.model_name or m.model_hash[:12]),
            *((m.device,) if devices else ()),
            f"{lat.median:.4g}",
            f"±{100 * lat.ci_relative:.2g}%",
            f"{lat.p10:.4g}",
            f"{lat.p90:.4g}",
            f"{lat.p99:.4g}",
            str(lat.n),
            "—" if m.peak_memory_mb is None else f"{m.peak_memory_mb:.1f}",
            "—" if m.model_size_mb is None else f"{m.model_size_mb:.2f}",
            *((("—" if m.energy_mj is None else f"{m.energy_mj:.4g}"),) if with_energy else ()),
        )
    return table


def fingerprint_notes(store: Any, device: str, measured: list[Measurement]) -> list[str]:
    """Say so when a device's measurements now span several fingerprints."""
    if not measured:
        return []
    current = measured[-1].fingerprint
    others = [u for u in store.fingerprints(device=device) if u.fingerprint.hash != current.hash]
    notes = []
    for usage in others:
        diff = current.differences(usage.fingerprint)
        what = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (new, old) in diff.items())
        notes.append(
            f"device {device!r} also has {usage.count} measurement(s) under fingerprint "
            f"{usage.fingerprint.hash} (this run: {current.hash}; differs in {what}). They are "
            f"kept apart, never mixed: select one with --fingerprint HASH when listing, "
            f"exporting or training."
        )
    return notes


def profile(
    models: list[Path] = typer.Argument(
        None, help="ONNX files to measure (or use --space).", show_default=False
    ),
    space_name: str | None = typer.Option(
        None, "--space", help="Profile sampled architectures of this search space."
    ),
    sample: int | None = typer.Option(
        None, "--sample", help="How many distinct architectures of --space to profile."
    ),
    repeats: int = typer.Option(
        1,
        "--repeats",
        help="With --space: measurements per architecture, each in its own "
        "process, pass by pass (on a shared machine, learn from the lowest).",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        "-d",
        help="Registered device name, or several separated by commas (default: local).",
    ),
    threads: int = typer.Option(1, "--threads", help="onnxruntime intra-op threads."),
    target_ci: float = typer.Option(
        0.01, "--target-ci", help="Stop when the 95% CI of the median is within this fraction."
    ),
    max_seconds: float = typer.Option(10.0, "--max-seconds", help="Time limit per model."),
    min_runs: int = typer.Option(20, "--min-runs", help="Timed runs before the CI is checked."),
    max_runs: int = typer.Option(100_000, "--max-runs", help="Upper bound on timed runs."),
    warmup: int = typer.Option(10, "--warmup", help="Untimed warm-up runs."),
    graph_opt: str = typer.Option("all", "--graph-opt", help="all | extended | basic | disable"),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for inputs with dynamic dimensions (repeatable)."
    ),
    op_profile: bool = typer.Option(False, "--op-profile", help="Add a per-op-type profile."),
    energy: str | None = typer.Option(
        None,
        "--energy",
        help="Energy per inference: rapl, power_supply, hwmon, auto or none "
        "(default: the device's setting, else none).",
    ),
    energy_seconds: float = typer.Option(
        2.0, "--energy-seconds", help="Back-to-back running time of the energy measurement."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the architecture sample (--space) and of the random inputs."
    ),
    exporter: str = typer.Option(
        "dynamo",
        "--exporter",
        help="torch exporter for --space: dynamo, or torchscript (legacy, ~10x faster).",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Finish the jobs an interrupted or disconnected run left."
    ),
    reconnect_timeout: float = typer.Option(
        300.0,
        "--reconnect-timeout",
        help="How long to keep reconnecting to a lost device (s); 0: do not reconnect.",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="Time this ONNX model (or `builtin`, a small CNN) after "
        "every timed run too; the per-pair ratio cancels slow phases of a shared machine "
        "(`predictor train --statistic ratio`).",
    ),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure latency distribution and peak memory of ONNX models on devices.

    With --space SPACE --sample N, N distinct architectures of the space are exported to
    ONNX (cached) and measured; those already measured on the device under the same
    fingerprint are skipped. Every job is queued in the store before it runs: after
    Ctrl-C or a lost device, `hwnas profile --resume` finishes what is left. Several
    devices (--device pi,phone) are measured in parallel, one model at a time each.
    """
    import uuid

    from hwnas.devices.registry import get_device
    from hwnas.export import check_exporter
    from hwnas.profiler.fleet import DevicePlan, SpaceSample
    from hwnas.store import NewJob

    models = list(models or [])
    try:
        names = _device_names(device)
        settings = build_settings(
            threads=threads,
            target_ci=target_ci,
            max_seconds=max_seconds,
            min_runs=min_runs,
            max_runs=max_runs,
            warmup=warmup,
            graph_opt=graph_opt,
            shape=shape,
            op_profile=op_profile,
            seed=seed,
            energy=energy or "none",
            energy_seconds=energy_seconds,
            reference=reference_model(reference),
        )
        if resume:
            if models or space_name or sample is not None or repeats != 1:
                raise UsageError(
                    "--resume finishes queued jobs; give no models, --space, "
                    "--sample or --repeats with it"
                )
            space, archs = None, list[str]()
        else:
            space, archs = plan_space_sample(space_name, sample, seed, models)
            check_exporter(exporter)
            if repeats < 1 or (repeats > 1 and space is None):
                raise UsageError(
                    f"--repeats must be >= 1 and needs --space (got {repeats}); "
                    f"e.g. --space nb201 --sample 100 --repeats 2"
                )
        store = open_store(store_path)  # before measuring: an unwritable store fails now
        batch = uuid.uuid4().hex[:12]
        plans: list[DevicePlan] = []
        with store:
            if resume:
                pending = store.jobs(status="pending")
                wanted = names or sorted({j.device for j in pending})
                specs = [get_device(n) for n in wanted]
                for spec in specs:
                    jobs = [j for j in pending if j.device == spec.name]
                    if jobs:
                        plans.append(DevicePlan(spec=spec, settings=settings, jobs=jobs))
                if not plans:
                    note(
                        "nothing to resume: no queued jobs"
                        + (f" for {', '.join(wanted)}" if names else "")
                    )
                    if as_json:
                        print_json(
                            {
                                "measurements": [],
                                "errors": [],
                                "skipped": [],
                                "interrupted": False,
                                "left": 0,
                            }
                        )
                    return
            else:
                specs = [get_device(n) for n in names or ["local"]]
                for spec in specs:
                    mine = settings if energy else replace(settings, energy=spec.energy)
                    if space is not None:
                        plans.append(
                            DevicePlan(
                                spec=spec,
                                settings=mine,
                                sample=SpaceSample(space, archs, exporter, repeats),
                            )
                        )
                        continue
                    queued = store.add_jobs(
                        batch,
                        spec.name,
                        [
                            NewJob(
                                label=str(m),
                                model_path=str(Path(m).absolute()),
                                arch=None,
                                settings=mine.to_dict(),
                            )
                            for m in models
                        ],
                    )
                    plans.append(DevicePlan(spec=spec, settings=mine, jobs=queued))
        location = store.url
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    host_warnings = local_contention([p.spec for p in plans])
    outcomes, interrupted = run_with_progress(
        plans, location=location, batch=batch, space=space, reconnect_timeout=reconnect_timeout
    )
    _report(outcomes, interrupted, as_json=as_json, store_url=location, host_warnings=host_warnings)


def local_contention(specs: list[Any]) -> list[str]:
    """Warn (now, before measuring) about other processes busy on this machine when one
    of the device ``specs`` is local; the warnings, for --json."""
    if not any(spec.transport == "local" for spec in specs):
        return []
    from hwnas.profiler.contention import busy_processes, contention_warning

    message = contention_warning(busy_processes())
    if message is None:
        return []
    warn(message)
    return [message]


def run_with_progress(
    plans: list[Any],
    *,
    location: str,
    batch: str,
    space: Any = None,
    reconnect_timeout: float = 300.0,
) -> tuple[list[Any], bool]:
    """Run the plans on their devices with one progress bar per device (on stderr)."""
    from hwnas.devices.registry import connect
    from hwnas.profiler.fleet import run_fleet
    from hwnas.spaces import get_space

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks = {
        p.spec.name: progress.add_task(f"{p.spec.name}: connecting", total=len(p.jobs) or None)
        for p in plans
    }
    events = _ProgressEvents(progress, tasks, labels_are_archs=space is not None)
    with progress:
        return run_fleet(
            plans,
            store_location=location,
            batch=batch,
            connect=connect,
            events=events,
            space_loader=lambda name: (
                space if space is not None and name == space.name else get_space(name)
            ),
            reconnect_timeout=reconnect_timeout,
        )


def _device_names(device: str | None) -> list[str]:
    if device is None:
        return []
    names = [d.strip() for d in device.split(",")]
    if any(not n for n in names):
        raise UsageError(f"--device {device!r} has an empty name; write e.g. --device pi,phone")
    if len(set(names)) != len(names):
        raise UsageError(
            f"--device {device!r} names a device twice; each runs one job at a "
            f"time, so list it once"
        )
    return names


class _ProgressEvents:
    """Fleet events as Rich progress bars (thread-safe) and error lines on stderr."""

    def __init__(self, progress: Progress, tasks: dict[str, Any], *, labels_are_archs: bool):
        self.progress, self.tasks, self.archs = progress, tasks, labels_are_archs

    def planned(self, device: str, jobs: int, skipped: int) -> None:
        self.progress.update(self.tasks[device], total=jobs, description=f"{device}: ready")

    def start(self, device: str, label: str) -> None:
        name = label if self.archs else Path(label).name
        self.progress.update(self.tasks[device], description=f"{device}: {name}")

    def done(self, device: str, label: str, m: Measurement | None, e: HwnasError | None) -> None:
        self.progress.advance(self.tasks[device])
        if e is not None:
            err.print(f"[red]failed[/red] {label} on {device}: {e.message}", soft_wrap=True)

    def retry(self, device: str, error: HwnasError, delay: float) -> None:
        if delay == 0:
            self.progress.update(self.tasks[device], description=f"{device}: reconnecting")
            err.print(
                f"[yellow]connection to {device} lost[/yellow] ({error.message}); reconnecting",
                soft_wrap=True,
            )
            return
        self.progress.update(self.tasks[device], description=f"{device}: retrying in {delay:.0f} s")
        err.print(
            f"[yellow]{device} still unreachable[/yellow] ({error.message}); "
            f"retrying in {delay:.0f} s",
            soft_wrap=True,
        )


def _report(
    outcomes: list[Any],
    interrupted: bool,
    *,
    as_json: bool,
    store_url: str,
    host_warnings: list[str] | None = None,
) -> None:
    measured = [(i, m) for o in outcomes for i, m in o.result.measurements]
    errors = [{"device": o.device, **e} for o in outcomes for e in o.result.errors]
    device_errors = [o for o in outcomes if o.error is not None]
    lost = [o for o in outcomes if o.result.connection_lost]
    skipped = sorted({a for o in outcomes for a in o.skipped})
    left = sum(len(o.result.left) for o in outcomes)
    if len(outcomes) == 1 and device_errors and not measured:
        fail(device_errors[0].error, as_json=as_json)  # one device that never worked
    if as_json:
        print_json(
            {
                "measurements": [{"id": i, **m.to_dict(samples=False)} for i, m in measured],
                "errors": errors,
                "device_errors": [{"device": o.device, **o.error.to_dict()} for o in device_errors],
                "skipped": skipped,
                "interrupted": interrupted or any(o.result.interrupted for o in outcomes),
                "connection_lost": {o.device: o.result.connection_lost for o in lost},
                "reconnects": {o.device: o.result.reconnects for o in outcomes},
                "left": left,
                "warnings": list(host_warnings or []),
            }
        )
    elif measured:
        out.print(results_table([m for _, m in measured], devices=len(outcomes) > 1))
        for _, m in measured:
            if m.op_profile:
                out.print(op_profile_table(m))
    for _, m in measured:
        for w in m.warnings:
            warn(f"{m.arch.string if m.arch else m.model_name}: {w}")
    if measured:
        with open_store(store_url) as store:
            for name in sorted({m.device for _, m in measured}):
                mine = [m for _, m in measured if m.device == name]
                for text in fingerprint_notes(store, name, mine):
                    note(text)
    for o in device_errors:
        err.print(f"[red]{o.device}:[/red] {o.error.message}", soft_wrap=True)
    for o in lost:
        err.print(f"[red]{o.device}:[/red] {o.result.connection_lost}", soft_wrap=True)
    if skipped:
        note(f"skipped {len(skipped)} architecture(s) already measured under this fingerprint")
    if measured:
        note(f"stored {len(measured)} measurement(s) in {store_url}")
    if interrupted or any(o.result.interrupted for o in outcomes):
        note(
            f"interrupted: {len(measured)} measured and stored, {left} left in the queue; "
            f"`hwnas profile --resume` finishes them."
        )
        raise typer.Exit(130)
    if errors or device_errors or lost:
        raise typer.Exit(1)


def plan_space_sample(
    space_name: str | None, sample: int | None, seed: int, models: list[Path]
) -> tuple[Any, list[str]]:
    """(space, distinct canonical architectures) for --space/--sample, or (None, [])."""
    if space_name is None:
        if sample is not None:
            raise UsageError("--sample needs --space SPACE (see `hwnas spaces list`)")
        if not models:
            raise UsageError(
                "nothing to profile: give ONNX files (hwnas profile model.onnx) or sample a "
                "search space (hwnas profile --space nb201 --sample 10)"
            )
        return None, []
    if models:
        raise UsageError("give either ONNX files or --space, not both; run them as two commands")
    if sample is None or sample < 1:
        raise UsageError(f"--space needs --sample N with N >= 1 (got {sample}); e.g. --sample 20")
    from hwnas.spaces import get_space

    space = get_space(space_name)
    return space, space.sample_distinct(seed, sample)


def op_profile_table(m: Measurement) -> Table:
    table = Table(title=f"Op profile of {m.model_name}", title_justify="left")
    for col in ("op type", "nodes", "ms / inference", "share"):
        table.add_column(col, justify="left" if col == "op type" else "right")
    ops = (m.op_profile or {}).get("ops", {})
    for name, row in sorted(ops.items(), key=lambda kv: -kv[1].get("ms_per_inference", 0)):
        table.add_row(
            name,
            str(row.get("count", "")),
            f"{row.get('ms_per_inference', 0):.4g}",
            f"{100 * row.get('share', 0):.1f}%",
        )
    return table
