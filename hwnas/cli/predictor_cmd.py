"""`hwnas predictor train | eval` and `hwnas predict`: per-device predictors.

The predictors package (and LightGBM with it) is imported inside the commands, so
that other commands start without it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hwnas.cli._common import JsonOption, StoreOption, err, fail, note, out, print_json, warn
from hwnas.errors import DataError, HwnasError, UsageError
from hwnas.tables import METRICS

if TYPE_CHECKING:
    from hwnas.predictors.base import Predictor

app = typer.Typer(help="Train and evaluate per-device predictors.", no_args_is_help=True)

ForceOption = typer.Option(
    False,
    "--force",
    help="Load a predictor even if its checks fail (format version, "
    "changed model files, feature names).",
)
_METRIC_LABELS = {
    "n": "n",
    "mape": "MAPE %",
    "rmse": "RMSE",
    "spearman": "Spearman",
    "kendall": "Kendall τ",
    "within_5": "within ±5%",
    "within_10": "within ±10%",
}


def _fmt(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if key == "n":
        return f"{int(value):,}"
    if key.startswith("within"):
        return f"{100 * value:.1f}%"
    if key == "mape":
        return f"{value:.2f}"
    return f"{value:.4g}"


def _metrics_table(title: str, groups: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("metric")
    for name in groups:
        table.add_column(name, justify="right")
    for key, label in _METRIC_LABELS.items():
        table.add_row(label, *(_fmt(key, g.get(key)) for g in groups.values()))
    return table


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise UsageError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")


@app.command("train")
def train(
    space: str = typer.Option(..., "--space", help="Search space of the architectures."),
    metric: str = typer.Option(
        "latency_ms", "--metric", help="latency_ms | peak_memory_mb | energy_mj"
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        "-d",
        help="Train on this device's measurements in the store (with "
        "--table: keep this device's rows, or name the device of the table).",
    ),
    table: Path | None = typer.Option(
        None,
        "--table",
        help="Train on a measurement table (CSV or Parquet with columns arch "
        "and the metric) instead of the store.",
    ),
    fingerprint: str | None = typer.Option(
        None, "--fingerprint", help="Only measurements with this fingerprint (hash or its start)."
    ),
    statistic: str = typer.Option(
        "p50",
        "--statistic",
        help="With --device and latency_ms: the statistic of each "
        "measurement to learn: p50 (the median), p10 (less sensitive to brief "
        "interruptions) or ratio (to the reference model of `profile --reference`, in ms "
        "at its typical speed; cancels slow phases of a shared machine).",
    ),
    lut: Path | None = typer.Option(
        None,
        "--lut",
        help="A lookup table of the device (JSON or CSV from `hwnas lut "
        "export`): its block sum becomes a feature; it is saved with the predictor.",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory to write the predictor to."),
    seed: int = typer.Option(0, "--seed", help="Seed of the validation split and of LightGBM."),
    base: Path | None = typer.Option(
        None,
        "--base",
        help="Few-shot transfer: correct this predictor of another device "
        "with the given measurements instead of training from scratch.",
    ),
    correction: str = typer.Option(
        "ridge", "--correction", help="With --base: ridge | linear | isotonic."
    ),
    force: bool = ForceOption,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a predictor of one metric on one device from the store or a table."""
    from hwnas.predictors import LightGBMPredictor, TransferPredictor, load_predictor
    from hwnas.predictors.data import check_statistic, from_store, from_table
    from hwnas.predictors.lgbm import MIN_ROWS
    from hwnas.predictors.transfer import CORRECTIONS
    from hwnas.predictors.transfer import MIN_ROWS as TRANSFER_MIN_ROWS

    started = time.perf_counter()
    try:
        _check_metric(metric)
        if table is None and device is None:
            raise UsageError(
                "say where the measurements are: --device NAME (the store) or --table FILE"
            )
        if seed < 0:
            raise UsageError(f"--seed must be >= 0, got {seed}")
        check_statistic(metric, statistic)
        if table is not None and statistic != "p50":
            raise UsageError(
                f"--statistic {statistic} needs --device (the store keeps every "
                f"measurement's distribution); a table has one value a row"
            )
        if correction not in CORRECTIONS:
            raise UsageError(
                f"--correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}"
            )
        from hwnas.spaces import get_space

        the_space = get_space(space)
        block_table = None
        if lut is not None:
            if base is not None:
                raise UsageError(
                    "--lut is for a new predictor; a transfer (--base) uses its "
                    "base predictor's features"
                )
            from hwnas.predictors.lut import read_table

            block_table = read_table(lut, space=the_space)  # refuses another space's table
        with _progress() as progress:
            step = progress.add_task("reading measurements", total=None)
            if table is not None:
                data = from_table(
                    table, space=the_space, metric=metric, device=device, fingerprint=fingerprint
                )
            else:
                from hwnas.cli._common import open_store

                assert device is not None
                with open_store(store_path) as store:
                    data = from_store(
                        store,
                        space=the_space,
                        metric=metric,
                        device=device,
                        fingerprint=fingerprint,
                        statistic=statistic,
                    )
            predictor: Predictor
            if base is not None:
                base_predictor = load_predictor(base, space=the_space, force=force)
                predictor = TransferPredictor(
                    base=base_predictor, metric=metric, correction=correction, seed=seed
                )
                needed = TRANSFER_MIN_ROWS
            else:
                predictor = LightGBMPredictor(
                    space=the_space, metric=metric, seed=seed, block_table=block_table
                )
                needed = MIN_ROWS
            if len(data.archs) < needed:
                raise DataError(
                    f"only {len(data.archs)} distinct architecture(s) to learn from; "
                    f"{'a transfer' if base else 'a predictor'} needs at least {needed}. "
                    f"Measure more (`hwnas profile --space {the_space.name} --sample N`)"
                )
            if block_table is not None and data.origin.device not in (None, block_table.device):
                warn(
                    f"the lookup table {lut} was measured on device {block_table.device!r}, "
                    f"the training data on {data.origin.device!r}: its block sum is a "
                    f"weaker feature for another device"
                )
            progress.update(step, description=f"training on {len(data.archs):,} architectures")
            predictor.fit(data.archs, data.values, origin=data.origin)
            progress.update(step, description=f"writing {output}")
            written = predictor.save(output)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    seconds = time.perf_counter() - started
    from hwnas.predictors.metrics import json_ready

    doc = {
        "path": str(written),
        "kind": predictor.kind,
        "space": the_space.name,
        "metric": metric,
        "device": data.origin.device,
        "fingerprint": data.origin.fingerprint,
        "source": data.origin.source,
        "statistic": data.origin.statistic,
        "lookup_table": None if lut is None else str(lut),
        "training_set": {"n": len(data.archs), "rows": data.rows, "hash": predictor.training_hash_},
        "validation": json_ready(predictor.validation_),
        "seconds": round(seconds, 3),
    }
    if as_json:
        print_json(doc)
        return
    fold = "their lowest p10" if data.origin.statistic == "p10" else "median"
    merged = f" ({data.duplicates} repeated rows merged by {fold})" if data.duplicates else ""
    note(
        f"trained a {predictor.kind} predictor of {metric} on {len(data.archs):,} "
        f"{the_space.name} architectures from {data.origin.source}{merged} "
        f"in {seconds:.1f} s"
    )
    method = predictor.validation_.get("method") or "held-out split"
    out.print(_metrics_table(f"validation ({method})", {"validation": predictor.validation_}))
    note(f"wrote {written}; use it with `hwnas predict {written} --arch ARCH`")


def _load(directory: Path, force: bool) -> Predictor:
    from hwnas.predictors import load_predictor

    predictor = load_predictor(directory, force=force)
    for message in getattr(predictor, "load_warnings_", []):
        warn(f"loaded anyway (--force): {message}")
    return predictor


def _interval_share(predictor: Predictor) -> float | None:
    quantiles = getattr(predictor, "quantiles", None)
    return None if quantiles is None else quantiles[1] - quantiles[0]


@app.command("eval")
def evaluate(
    directory: Path = typer.Argument(..., help="A predictor directory."),
    table: Path = typer.Option(..., "--table", help="Measurement table to test on."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write a predicted-vs-measured scatter plot to this PNG file."
    ),
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Score a predictor on a measurement table: MAPE, RMSE, rank correlations, ±5%/±10%."""
    import numpy as np

    from hwnas.predictors import metrics
    from hwnas.predictors.base import training_hash
    from hwnas.predictors.data import from_table

    try:
        predictor = _load(directory, force)
        data = from_table(table, space=predictor.space, metric=predictor.metric)
        interval = predictor.predict_interval(data.archs)
        groups: dict[str, dict[str, Any]] = {"all": metrics.report(data.values, interval.value)}
        flag = getattr(predictor.space, "is_disconnected", None)
        if callable(flag):
            apart = np.array([bool(flag(a)) for a in data.archs])
            groups["connected"] = metrics.report(data.values[~apart], interval.value[~apart])
            groups["disconnected"] = metrics.report(data.values[apart], interval.value[apart])
        inside = (interval.low <= data.values) & (data.values <= interval.high)
        coverage = float(inside.mean())
        if plot is not None:
            _scatter(plot, data.values, interval.value, predictor, groups["all"])
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    same = training_hash(data.archs, data.values) == predictor.training_hash_
    caveat = "this is the predictor's training set: the scores flatter it" if same else None
    nominal = _interval_share(predictor)
    doc = {
        "predictor": str(directory),
        "table": str(table),
        "space": predictor.space.name,
        "metric": predictor.metric,
        "groups": {k: metrics.json_ready(v) for k, v in groups.items()},
        "interval": {"coverage": coverage, "nominal": nominal},
        "plot": str(plot) if plot is not None else None,
        "warnings": [caveat] if caveat else [],
    }
    if as_json:
        print_json(doc)
        return
    if caveat:
        warn(caveat)
    out.print(_metrics_table(f"{predictor.metric} of {directory} on {table}", groups))
    nominal_text = f" (nominal {100 * nominal:.0f}%)" if nominal is not None else ""
    note(f"interval coverage: {100 * coverage:.1f}%{nominal_text}")
    if plot is not None:
        note(f"wrote {plot}")


def _scatter(
    path: Path, measured: Any, predicted: Any, predictor: Predictor, scores: dict[str, Any]
) -> None:
    """Predicted vs measured on log axes with the ±10% band (matplotlib, Agg canvas)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG; give a file name ending in .png, got {path}")
    figure = Figure(figsize=(5.5, 5.0), dpi=120)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    keep = (measured > 0) & (predicted > 0)
    ax.scatter(measured[keep], predicted[keep], s=4, alpha=0.4, linewidths=0)
    if keep.any():
        lo = float(min(measured[keep].min(), predicted[keep].min()))
        hi = float(max(measured[keep].max(), predicted[keep].max()))
        line = np.geomspace(lo, hi, 50)
        ax.plot(line, line, color="black", linewidth=1)
        for factor in (0.9, 1.1):
            ax.plot(line, factor * line, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
    unit = predictor.metric
    ax.set_xlabel(f"measured {unit}")
    ax.set_ylabel(f"predicted {unit}")
    rho = scores.get("spearman")
    within = scores.get("within_10")
    device = f", {predictor.origin_.device}" if predictor.origin_.device else ""
    ax.set_title(
        f"{predictor.space.name}{device}: n {len(measured):,}, Spearman "
        f"{_fmt('spearman', rho)}, within ±10% {_fmt('within_10', within)}",
        fontsize=9,
    )
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise UsageError(
            f"cannot write the plot to {path} ({exc.strerror or exc}); pass another --plot"
        ) from None


def predict(
    directory: Path = typer.Argument(..., help="A predictor directory."),
    arch: list[str] = typer.Option(
        [], "--arch", help="Architecture string (repeatable); for a space predictor."
    ),
    onnx_file: Path | None = typer.Option(
        None, "--onnx", help="Any ONNX model; needs a kernel predictor (hwnas kernels build)."
    ),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for dynamic inputs of --onnx (repeatable)."
    ),
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Predict a metric of architectures (--arch) or of any ONNX model (--onnx)."""
    from hwnas.predictors.kernels import is_kernel_predictor

    try:
        kernel_dir = directory.is_dir() and is_kernel_predictor(directory)
        if (onnx_file is None) == (not arch):
            raise UsageError(
                "give --arch STRING (space predictor) or --onnx FILE (kernel "
                "predictor), one of the two"
            )
        if onnx_file is not None and not kernel_dir:
            raise UsageError(
                f"{directory} is not a kernel predictor, so it cannot predict "
                f"an ONNX file; build one with `hwnas kernels build -o DIR`, or "
                f"pass --arch for this space predictor"
            )
        if arch and kernel_dir:
            raise UsageError(f"{directory} is a kernel predictor: pass --onnx FILE, not --arch")
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if onnx_file is not None:
        from hwnas.cli.kernels_cmd import predict as predict_kernels

        predict_kernels(directory, onnx_file, shape=shape, top=0, as_json=as_json)
        return
    try:
        predictor = _load(directory, force)
        archs = [predictor.space.validate(a) for a in arch]
        interval = predictor.predict_interval(archs)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    rows: list[dict[str, Any]] = [
        {"arch": a, "value": float(v), "low": float(lo), "high": float(hi)}
        for a, v, lo, hi in zip(archs, interval.value, interval.low, interval.high, strict=True)
    ]
    nominal = _interval_share(predictor)
    if as_json:
        print_json(
            {
                "predictor": str(directory),
                "space": predictor.space.name,
                "metric": predictor.metric,
                "device": predictor.origin_.device,
                "interval_nominal": nominal,
                "predictions": rows,
            }
        )
        return
    share = f" ({100 * nominal:.0f}%)" if nominal is not None else ""
    table = Table(
        title=f"{predictor.metric} on {predictor.origin_.device or 'the device'}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("arch", overflow="fold")
    table.add_column("predicted", justify="right")
    table.add_column(f"interval{share}", justify="right")
    for r in rows:
        table.add_row(r["arch"], f"{r['value']:.4g}", f"{r['low']:.4g} – {r['high']:.4g}")
    out.print(table)
