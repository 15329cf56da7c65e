"""`hwnas kernels`: build and use kernel-level latency predictors for arbitrary ONNX models.

``build`` samples single-kernel models of every kind, measures those not yet measured
on the device under its current fingerprint (through the profiling fleet: queued in the
store first, so Ctrl-C or a lost device loses nothing and the same command finishes the
job), trains one regressor per kind and writes the predictor directory. ``predict``
splits a model into kernels and prints the predicted total and a per-kernel table.
"""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Sequence
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

from hwnas.cli._common import JsonOption, StoreOption, err, fail, note, open_store, out, print_json
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(
    help="Kernel-level latency predictors: any ONNX model, predicted kernel by kernel.",
    no_args_is_help=True,
)

#: How sampled kernels are timed: shorter than `hwnas profile`'s default, since there are
#: many and each is small; the op profile tells the kernel's own share of the time.
KERNEL_SETTINGS: dict[str, Any] = {
    "target_ci": 0.02,
    "min_runs": 10,
    "warmup": 5,
    "op_profile": True,
}


def kernel_settings(*, threads: int, max_seconds: float, seed: int) -> Any:
    """The profiling settings every sampled kernel is measured with."""
    from hwnas.profiler.settings import ProfileSettings

    try:
        return ProfileSettings(
            threads=threads, max_seconds=max_seconds, seed=seed, **KERNEL_SETTINGS
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def plan_kernels(per_kind: int, seed: int, kinds: Sequence[str] | None = None) -> dict[str, list]:
    """The configurations to measure, by kind (the overhead chains included)."""
    from hwnas.predictors.kernel_sampler import (
        OVERHEAD_KIND,
        REORDER_KIND,
        SAMPLED_KINDS,
        sample_configs,
    )

    if per_kind < 1:
        raise UsageError(f"--per-kind must be >= 1, got {per_kind}")
    unknown = sorted(set(kinds or ()) - set(SAMPLED_KINDS))
    if unknown:
        raise UsageError(
            f"--kinds names unknown kind(s) {', '.join(unknown)}; choose from "
            f"{', '.join(SAMPLED_KINDS)}"
        )
    wanted = [k for k in SAMPLED_KINDS if kinds is None or k in kinds]
    plan = {kind: sample_configs(kind, per_kind, seed) for kind in wanted}
    if {"conv", "dwconv", "pool"} & set(wanted):  # the kinds onnxruntime wraps in reorders
        plan[REORDER_KIND] = sample_configs(REORDER_KIND, per_kind, seed)
    plan[OVERHEAD_KIND] = sample_configs(OVERHEAD_KIND, 0)
    return plan


def measure_kernels(
    store: Any,
    spec: Any,
    plan: dict[str, list],
    settings: Any,
    *,
    connect: Any,
    progress: Progress | None = None,
    reconnect_timeout: float = 300.0,
) -> tuple[str, list[Any], bool]:
    """Measure the planned kernels not yet measured on ``spec`` under its fingerprint.

    Returns (fingerprint hash, device outcomes, interrupted). Every job is queued in the
    store before it runs; running the same build again finishes what is left. The model
    files are built into a directory of this run and deleted afterwards (a configuration
    rebuilds the same file whenever it is needed again).
    """
    from hwnas.config import cache_dir
    from hwnas.predictors.kernel_sampler import KernelSpace, config_string, space_name
    from hwnas.profiler.batch import probe_fingerprint
    from hwnas.profiler.fleet import DevicePlan, run_fleet
    from hwnas.records import Arch
    from hwnas.store import NewJob

    with connect(spec) as transport:
        fingerprint = probe_fingerprint(transport, settings).hash
    batch = uuid.uuid4().hex[:12]
    cache = cache_dir() / "kernels" / batch
    spaces = {space_name(kind): KernelSpace(kind, cache) for kind in plan}
    new_jobs: list[Any] = []
    skipped = 0
    job_settings = {**settings.to_dict(), "exporter": "onnx"}
    for kind, configs in plan.items():
        done = store.measured_archs(
            space=space_name(kind), device=spec.name, fingerprint=fingerprint
        )
        for cfg in configs:
            text = config_string(cfg)
            if text in done:
                skipped += 1
                continue
            new_jobs.append(
                NewJob(
                    label=f"{kind} {text}",
                    model_path=None,
                    arch=Arch(space=space_name(kind), string=text),
                    settings=job_settings,
                )
            )
    jobs = store.add_jobs(batch, spec.name, new_jobs) if new_jobs else []
    if not jobs:
        return fingerprint, [], False
    from hwnas.cli.profile_cmd import local_contention

    local_contention([spec])
    events = _Events(progress, len(jobs), skipped)
    try:
        outcomes, interrupted = run_fleet(
            [DevicePlan(spec=spec, settings=settings, jobs=jobs)],
            store_location=store.url,
            batch=batch,
            connect=connect,
            events=events,
            space_loader=lambda name: spaces[name],
            reconnect_timeout=reconnect_timeout,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return fingerprint, outcomes, interrupted


class _Events:
    """Fleet events as one progress bar (kernels measured / to measure)."""

    def __init__(self, progress: Progress | None, total: int, skipped: int) -> None:
        self.progress = progress
        self.task = (
            progress.add_task(f"measuring kernels ({skipped} already measured)", total=total)
            if progress
            else None
        )

    def planned(self, device: str, jobs: int, skipped: int) -> None:
        pass

    def start(self, device: str, label: str) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=f"{device}: {label.split(' ')[0]}")

    def done(self, device: str, label: str, m: Any, e: HwnasError | None) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)  # failures are summed up by kind at the end

    def retry(self, device: str, error: HwnasError, delay: float) -> None:
        err.print(f"[yellow]{device}:[/yellow] {error.message}; retrying", soft_wrap=True)


def _note_failures(errors: list[dict[str, str]]) -> None:
    """One line per kind of kernel that failed to measure (they are left out of training)."""
    by_kind: dict[str, list[dict[str, str]]] = {}
    for e in errors:
        by_kind.setdefault(str(e.get("model", "?")).split(" ")[0], []).append(e)
    for kind, failed in by_kind.items():
        why = (
            " (expected on a device whose onnxruntime has no NCHWc layout: training uses "
            "the op profile instead)"
            if kind == "reorder"
            else ""
        )
        note(
            f"{len(failed)} {kind} kernel(s) failed to measure{why}; first: "
            f"{failed[0].get('message')}"
        )


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@app.command("build")
def build(
    device: str = typer.Option("local", "--device", "-d", help="Registered device name."),
    output: Path = typer.Option(..., "--output", "-o", help="Predictor directory to write."),
    per_kind: int = typer.Option(60, "--per-kind", help="Sampled kernels per kind."),
    seed: int = typer.Option(0, "--seed", help="Seed of the kernel sample."),
    max_seconds: float = typer.Option(2.0, "--max-seconds", help="Timing budget per kernel."),
    threads: int = typer.Option(1, "--threads", help="onnxruntime intra-op threads."),
    kinds: str | None = typer.Option(
        None, "--kinds", help="Comma-separated kinds to sample (default: all)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a non-empty output directory."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Sample, measure (resumable) and train a kernel-level predictor for a device."""
    from hwnas.devices.registry import connect, get_device
    from hwnas.predictors.kernel_sampler import measured_samples
    from hwnas.predictors.kernels import KernelPredictor

    try:
        wanted = [k.strip() for k in kinds.split(",")] if kinds else None
        plan = plan_kernels(per_kind, seed, wanted)
        settings = kernel_settings(threads=threads, max_seconds=max_seconds, seed=seed)
        if output.exists() and (
            not output.is_dir()
            or (any(output.iterdir()) and not force and not (output / "meta.json").exists())
        ):
            raise UsageError(
                f"{output} exists and is not a kernel predictor directory; "
                f"choose another -o or pass --force"
            )
        spec = get_device(device)
        store = open_store(store_path)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    total = sum(len(v) for v in plan.values())
    with store:
        try:
            with _progress() as progress:
                fingerprint, outcomes, interrupted = measure_kernels(
                    store, spec, plan, settings, connect=connect, progress=progress
                )
        except HwnasError as exc:
            fail(exc, as_json=as_json)
        errors = [e for o in outcomes for e in o.result.errors]
        device_errors = [o.error for o in outcomes if o.error is not None]
        if device_errors:
            fail(device_errors[0], as_json=as_json)
        if interrupted or any(o.result.interrupted for o in outcomes):
            note(
                "interrupted: the kernels measured so far are stored; run the same command "
                "again to finish and train."
            )
            raise typer.Exit(130)
        _note_failures(errors)
        samples = measured_samples(store, device=spec.name, fingerprint=fingerprint)
    try:
        predictor = KernelPredictor(seed=seed).fit(
            samples, device=spec.name, fingerprint=fingerprint
        )
        predictor.save(output)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    summary = predictor.summary()
    if as_json:
        print_json({"output": str(output), "planned": total, "failed": len(errors), **summary})
        return
    table = Table(title=f"Kernel predictor for {spec.name} ({fingerprint})", title_justify="left")
    for col in ("kind", "samples", "CV MAPE % (kernel)", "model"):
        table.add_column(col, justify="left" if col in ("kind", "model") else "right")
    for kind, row in summary["kinds"].items():
        mape = row.get("cv_mape")
        table.add_row(
            kind,
            str(row["n"]),
            "—" if mape is None else f"{mape:.1f}",
            "cost model + LightGBM" if row["residual_model"] else "cost model",
        )
    out.print(table)
    over = summary["overhead"]
    note(
        f"overhead: {over['model_ms'] * 1000:.1f} µs per model, "
        f"{over['kernel_ms'] * 1000:.2f} µs per kernel; wrote {output}"
    )


@app.command("predict")
def predict(
    directory: Path = typer.Argument(..., help="Directory written by `hwnas kernels build`."),
    model: Path = typer.Argument(..., help="ONNX model to predict."),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for inputs with dynamic dimensions (repeatable)."
    ),
    top: int = typer.Option(0, "--top", help="Show only the N slowest kernels (0: all)."),
    as_json: bool = JsonOption,
) -> None:
    """Predict a model's latency kernel by kernel with a kernel-level predictor."""
    from hwnas.onnx_model import check_model
    from hwnas.predictors.kernels import KernelPredictor
    from hwnas.profiler.settings import parse_shape

    try:
        shapes = {}
        for spec in shape:
            try:
                name, dims = parse_shape(spec)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            shapes[name] = dims
        predictor = KernelPredictor.load(directory)
        checked = check_model(model)
        total, rows = predictor.predict_onnx(checked.path, shapes=shapes)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(
            {
                "model": str(model),
                "device": predictor.device_,
                "fingerprint": predictor.fingerprint_,
                "latency_ms": total,
                "overhead_ms": predictor.overhead_model_ms_,
                "kernels": rows,
            }
        )
        return
    table = Table(
        title=f"{model.name}: predicted {total:.4g} ms on {predictor.device_}", title_justify="left"
    )
    for col in ("#", "kind", "op", "output", "MMACs", "ms", "share"):
        table.add_column(col, justify="right" if col in ("#", "MMACs", "ms", "share") else "left")
    shown = sorted(rows, key=lambda r: -r["ms"])[:top] if top > 0 else rows
    for row in shown:
        table.add_row(
            str(row["index"]),
            row["kind"],
            row["op"],
            "x".join(map(str, row["output"])),
            f"{row['macs'] / 1e6:.3g}",
            f"{row['ms']:.4g}",
            f"{100 * row['ms'] / total:.1f}%",
        )
    out.print(table)
    note(
        f"{len(rows)} kernels; per-model overhead {predictor.overhead_model_ms_:.4g} ms; "
        f"total {total:.4g} ms" + ("" if math.isfinite(total) else " (not finite!)")
    )
