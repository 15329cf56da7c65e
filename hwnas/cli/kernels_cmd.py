"""`hwnas kernels`: build and use kernel-level latency predictors for arbitrary ONNX models.

``build`` runs ``hwnas.predictors.build.run_kernel_build`` (samples single-kernel models
of every kind, measures those not yet measured on the device under its current
fingerprint, queued in the store first so that Ctrl-C or a lost device loses nothing and
the same command finishes the job, and trains one regressor per kind, then the
network-level correction on ``--context`` random whole networks) and writes the
predictor directory. ``predict`` splits a model into kernels and prints the predicted
total and a per-kernel table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    fail,
    kernel_prediction,
    note,
    options,
    out,
    print_json,
)
from hwnas.cli._render import render_kernel_prediction
from hwnas.cli._stage_bars import StageBars
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(
    help="Kernel-level latency predictors: any ONNX model, predicted kernel by kernel.",
    no_args_is_help=True,
)


def _check_output(output: Path, force: bool) -> None:
    """Refuse to write over a directory that is not a kernel predictor's (unless --force)."""
    if output.exists() and (
        not output.is_dir()
        or (any(output.iterdir()) and not force and not (output / "meta.json").exists())
    ):
        raise UsageError(
            f"{output} exists and is not a kernel predictor directory; "
            f"choose another -o or pass --force"
        )


def _check_context(context: int | None) -> None:
    """Refuse a --context the correction cannot be fitted on: it has one coefficient per
    term, so fewer networks than terms (but more than 0) would be measured for nothing."""
    from hwnas.predictors.kernel_context import TERMS

    if context is not None and (context < 0 or 0 < context < len(TERMS)):
        raise UsageError(
            f"--context must be 0 (no network-level correction) or at least {len(TERMS)} "
            f"(random networks to fit its {len(TERMS)} coefficients on), got {context}"
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
    context: int | None = typer.Option(
        None,
        "--context",
        help="Random whole networks to measure and fit the in-network and network-level "
        "corrections on (default: 2700, a ninth each of the second to tenth "
        "generations; none below 20 kernels a kind; 0: no correction).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a non-empty output directory."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Sample, measure (resumable) and train a kernel-level predictor for a device."""
    from hwnas.predictors.build import run_kernel_build

    try:
        wanted = [k.strip() for k in kinds.split(",")] if kinds else None
        _check_context(context)
        _check_output(output, force)
        with options(store="--store"), StageBars(show_failures=False) as bars:
            result = run_kernel_build(
                device=device,
                per_kind=per_kind,
                store=store_path,
                seed=seed,
                kinds=wanted,
                threads=threads,
                max_seconds=max_seconds,
                context=context,
                progress=bars,
            )
        if result.interrupted:
            note(
                "interrupted: the kernels measured so far are stored; run the same command "
                "again to finish and train."
            )
            raise typer.Exit(130)
        assert result.predictor is not None  # trained unless interrupted
        result.predictor.save(output)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    _report_build(result, output, as_json=as_json)


def _report_build(result: Any, output: Path, *, as_json: bool) -> None:
    summary = result.predictor.summary()
    if as_json:
        failed = len(result.failed)
        context = result.predictor.context_
        print_json(
            {
                "output": str(output),
                "planned": result.planned,
                "failed": failed,
                "context_correction": context,
                "in_network_correction": result.predictor.incontext_ is not None,
                **summary,
            }
        )
        return
    table = Table(
        title=f"Kernel predictor for {result.device} ({result.fingerprint})", title_justify="left"
    )
    for col in ("kind", "samples", "CV MAPE % (kernel)", "CV within ±10%", "model"):
        table.add_column(col, justify="left" if col in ("kind", "model") else "right")
    for kind, row in summary["kinds"].items():
        mape, within = row.get("cv_mape"), row.get("cv_within_10")
        table.add_row(
            kind,
            str(row["n"]),
            "—" if mape is None else f"{mape:.1f}",
            "—" if within is None else f"{100 * within:.0f}%",
            "cost model + LightGBM" if row["residual_model"] else "cost model",
        )
    out.print(table)
    over = summary["overhead"]
    if result.predictor.context_ is None:
        note("no network-level correction fitted (see --context)")
    elif result.predictor.incontext_ is not None:
        note(
            "each kernel is corrected to its in-network time (fitted on the random networks' "
            "per-node profiles), then the network-level correction is applied"
        )
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
    try:
        predictor, total, rows = kernel_prediction(directory, model, shape)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    render_kernel_prediction(model, predictor, total, rows, top=top, as_json=as_json)
