"""`hwnas profile`: measure ONNX models on a device and store the results."""

from __future__ import annotations

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
    from profiler.settings import ProfileSettings, parse_shape

    shapes: dict[str, tuple[int, ...]] = {}
    try:
        for spec in kwargs.pop("shape") or []:
            name, dims = parse_shape(spec)
            shapes[name] = dims
        return ProfileSettings(shapes=shapes, **kwargs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def results_table(measurements: list[Measurement]) -> Table:
    table = Table(
        title="Measurements (latency in ms; ±CI: 95% CI of the median)", title_justify="left"
    )
    table.add_column("model", overflow="fold", min_width=16)
    for col in ("median ms", "±CI", "p10", "p90", "p99", "n", "peak MB", "file MB"):
        table.add_column(col, justify="right", no_wrap=True)
    for m in measurements:
        lat = m.latency_ms
        table.add_row(
            m.arch.string if m.arch else (m.model_name or m.model_hash[:12]),
            f"{lat.median:.4g}",
            f"±{100 * lat.ci_relative:.2g}%",
            f"{lat.p10:.4g}",
            f"{lat.p90:.4g}",
            f"{lat.p99:.4g}",
            str(lat.n),
            "—" if m.peak_memory_mb is None else f"{m.peak_memory_mb:.1f}",
            "—" if m.model_size_mb is None else f"{m.model_size_mb:.2f}",
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
    device: str = typer.Option("local", "--device", "-d", help="Registered device name."),
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
    seed: int = typer.Option(
        0, "--seed", help="Seed of the architecture sample (--space) and of the random inputs."
    ),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure latency distribution and peak memory of ONNX models on a device.

    With --space SPACE --sample N, N distinct architectures of the space are exported to
    ONNX (cached) and measured; those already measured on the device under the same
    fingerprint are skipped, so an interrupted run continues where it stopped.
    """
    from devices.registry import connect, get_device
    from profiler.batch import ModelJob, probe_fingerprint, profile_batch

    models = list(models or [])
    try:
        space, archs = plan_space_sample(space_name, sample, seed, models)
        settings = build_settings(
            threads=threads, target_ci=target_ci, max_seconds=max_seconds, min_runs=min_runs,
            max_runs=max_runs, warmup=warmup, graph_opt=graph_opt, shape=shape,
            op_profile=op_profile, seed=seed,
        )  # fmt: skip
        spec = get_device(device)
        store = open_store(store_path)  # before measuring: an unwritable store fails now
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True,
    )  # fmt: skip
    task = progress.add_task(f"profiling on {spec.name}", total=len(models))
    skipped: list[str] = []

    def on_start(label: str) -> None:
        name = label if space is not None else Path(label).name
        progress.update(task, description=f"profiling {name} on {spec.name}")

    def on_done(label: str, m: Measurement | None, exc: HwnasError | None) -> None:
        progress.advance(task)
        if exc is not None:
            err.print(f"[red]failed[/red] {label}: {exc.message}", soft_wrap=True)

    try:
        with store, connect(spec) as transport, progress:
            jobs: list[str | ModelJob] = [str(m) for m in models]
            if space is not None:
                progress.update(task, description=f"reading the fingerprint of {spec.name}")
                fingerprint = probe_fingerprint(transport, settings)
                done = store.measured_archs(
                    space=space.name, device=spec.name, fingerprint=fingerprint.hash
                )
                skipped = [a for a in archs if a in done]
                jobs = [space_job(space, a) for a in archs if a not in done]
                progress.update(task, total=len(jobs))
            result = profile_batch(
                transport, spec, jobs, settings,
                sink=store.add, on_start=on_start, on_done=on_done,
            )  # fmt: skip
            measured = [m for _, m in result.measurements]
            notes = fingerprint_notes(store, spec.name, measured)
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    if as_json:
        print_json(
            {
                "measurements": [
                    {"id": i, **m.to_dict(samples=False)} for i, m in result.measurements
                ],
                "errors": result.errors,
                "skipped": skipped,
                "interrupted": result.interrupted,
            }
        )
    elif measured:
        out.print(results_table(measured))
        for m in measured:
            if m.op_profile:
                out.print(op_profile_table(m))
    for m in measured:
        for w in m.warnings:
            warn(f"{m.arch.string if m.arch else m.model_name}: {w}")
    for text in notes:
        note(text)
    if skipped:
        note(f"skipped {len(skipped)} architecture(s) already measured on {spec.name} under "
             f"this fingerprint")  # fmt: skip
    if measured:
        note(f"stored {len(measured)} measurement(s) in {store.url}")
    if result.interrupted:
        total = len(archs) - len(skipped) if space is not None else len(models)
        left = total - len(measured) - len(result.errors)
        note(f"interrupted: {len(measured)} measured and stored, {left} not measured.")
        raise typer.Exit(130)
    if result.errors:
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
        raise UsageError(
            "give either ONNX files or --space, not both; run them as two commands"
        )
    if sample is None or sample < 1:
        raise UsageError(
            f"--space needs --sample N with N >= 1 (got {sample}); e.g. --sample 20"
        )
    from hwnas.spaces import get_space

    space = get_space(space_name)
    return space, space.sample_distinct(seed, sample)


def space_job(space: Any, arch: str) -> Any:
    """A batch job that exports ``arch`` (cached) when its turn comes."""
    from functools import partial

    from hwnas.records import Arch
    from profiler.batch import ModelJob

    return ModelJob(label=arch, prepare=partial(space.to_onnx, arch),
                    arch=Arch(space=space.name, string=arch))  # fmt: skip


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
