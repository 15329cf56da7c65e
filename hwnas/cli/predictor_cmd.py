"""`hwnas predictor train | eval` and `hwnas predict`: per-device predictors.

Each command is options -> a library call (``hwnas.predictors.train``,
``hwnas.load_predictor``) -> rendering. The predictors package (and LightGBM with it) is
imported inside the commands, so that other commands start without it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
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
    warn,
)
from hwnas.cli._render import render_kernel_prediction
from hwnas.errors import HwnasError, UsageError

if TYPE_CHECKING:
    from hwnas.predictors.base import Predictor
    from hwnas.predictors.train import Evaluation

app = typer.Typer(help="Train and evaluate per-device predictors.", no_args_is_help=True)

ForceOption = typer.Option(
    False,
    "--force",
    help="Load a predictor even if its checks fail (format version, "
    "changed model files, feature names).",
)
SpaceOption = typer.Option(..., "--space", help="Search space of the architectures.")
MetricOption = typer.Option(
    "latency_ms", "--metric", help="latency_ms | peak_memory_mb | energy_mj"
)
DeviceOption = typer.Option(
    None,
    "--device",
    "-d",
    help="Train on this device's measurements in the store (with "
    "--table: keep this device's rows, or name the device of the table).",
)
TableOption = typer.Option(
    None,
    "--table",
    help="Train on a measurement table (CSV or Parquet with columns arch "
    "and the metric) instead of the store.",
)
FingerprintOption = typer.Option(
    None, "--fingerprint", help="Only measurements with this fingerprint (hash or its start)."
)
PrecisionOption = typer.Option(
    None,
    "--precision",
    help="Only measurements of this precision: fp32, int8 or int8-dynamic (`profile "
    "--precision`); required when the data mix several.",
)
StatisticOption = typer.Option(
    "p50",
    "--statistic",
    help="With --device and latency_ms: the statistic of each "
    "measurement to learn: p50 (the median), p10 (less sensitive to brief "
    "interruptions) or ratio (to the reference model of `profile --reference`, in ms "
    "at its typical speed; cancels slow phases of a shared machine).",
)
ArchFormOption = typer.Option(
    "auto",
    "--arch-form",
    help="Which world the measured values come from: canonical (one network measured per "
    "equivalence class, as hwnas profiles; every spelling is predicted as its class), "
    "as-written (each spelling measured itself, dead edges and all, as some public "
    "tables are) or auto (the store: canonical; a table: what it shows).",
)
IntervalOption = typer.Option(
    "auto",
    "--interval-calibration",
    help="How the 80% prediction intervals are calibrated: split (on a third of the "
    "held-out classes), cross (out of fold over every row, 5 folds of classes) or auto "
    "(cross below 200 calibration rows, about 2,000 measurements; split above).",
)
LutOption = typer.Option(
    None,
    "--lut",
    help="A lookup table of the device (JSON or CSV from `hwnas lut "
    "export`): its block sum becomes a feature; it is saved with the predictor.",
)
OutputOption = typer.Option(..., "--output", "-o", help="Directory to write the predictor to.")
SeedOption = typer.Option(0, "--seed", help="Seed of the validation split and of LightGBM.")
BaseOption = typer.Option(
    None,
    "--base",
    help="Few-shot transfer: correct this predictor of another device "
    "with the given measurements instead of training from scratch. Repeatable, and 'zoo' "
    "(the NAS-Bench-201 latency tables hwnas ships): several bases are weighted from the "
    "measurements, and the choice is printed.",
)
CorrectionOption = typer.Option(
    "ridge", "--correction", help="With --base: ridge | linear | isotonic."
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


def _with_interval(key: str, value: Any, ends: list[float] | None) -> str:
    """A metric, with its 95% interval after it where there is one."""
    shown = _fmt(key, value)
    if not ends or shown == "—" or not all(math.isfinite(e) for e in ends):
        return shown
    return f"{shown} ({_fmt(key, ends[0])}–{_fmt(key, ends[1])})"


def _metrics_table(
    title: str,
    groups: dict[str, dict[str, Any]],
    intervals: dict[str, dict[str, list[float]]] | None = None,
) -> Table:
    """One column per group; with ``intervals``, each metric's 95% interval beside it."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("metric")
    for name in groups:
        table.add_column(name, justify="right")
    for key, label in _METRIC_LABELS.items():
        table.add_row(
            label,
            *(
                _with_interval(key, g.get(key), (intervals or {}).get(name, {}).get(key))
                for name, g in groups.items()
            ),
        )
    return table


def _check_train_flags(
    table: Path | None,
    device: str | None,
    statistic: str,
    lut: Path | None,
    base: object,
    calibration: str = "auto",
) -> None:
    """What the library refuses in its own words, said in the words of the options."""
    from hwnas.predictors.data import LATENCY_STATISTICS

    if table is None and device is None:
        raise UsageError(
            "say where the measurements are: --device NAME (the store) or --table FILE"
        )
    if table is not None and statistic != "p50" and statistic in LATENCY_STATISTICS:
        raise UsageError(
            f"--statistic {statistic} needs --device (the store keeps every "
            f"measurement's distribution); a table has one value a row"
        )
    if lut is not None and base is not None:
        raise UsageError(
            "--lut is for a new predictor; a transfer (--base) uses its base predictor's features"
        )
    if calibration != "auto" and base is not None:
        raise UsageError(
            "--interval-calibration is for a new LightGBM predictor; a transfer (--base) "
            "calibrates its interval on its own cross-validated residuals: leave the option out"
        )


@app.command("train")
def train(
    space: str = SpaceOption,
    metric: str = MetricOption,
    device: str | None = DeviceOption,
    table: Path | None = TableOption,
    fingerprint: str | None = FingerprintOption,
    statistic: str = StatisticOption,
    precision: str | None = PrecisionOption,
    arch_form: str = ArchFormOption,
    interval_calibration: str = IntervalOption,
    lut: Path | None = LutOption,
    output: Path = OutputOption,
    seed: int = SeedOption,
    base: list[str] | None = BaseOption,
    correction: str = CorrectionOption,
    force: bool = ForceOption,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a predictor of one metric on one device from the store or a table."""
    from hwnas.cli._progress import ProgressBars
    from hwnas.predictors.train import train_predictor
    from hwnas.predictors.zoo import resolve_base

    started = time.perf_counter()
    try:
        _check_train_flags(table, device, statistic, lut, base, interval_calibration)
        extra = {} if base else {"interval_calibration": interval_calibration}
        with (
            options(
                store="--store",
                block_table="--lut",
                interval_calibration="--interval-calibration",
            ),
            ProgressBars() as bars,
        ):
            bases = resolve_base(base, space=space, metric=metric, force=force)
            predictor = train_predictor(
                space=space,
                metric=metric,
                table=table,
                device=device,
                store=store_path,
                base=bases,
                fingerprint=fingerprint,
                statistic=statistic,
                precision=precision,
                arch_form=arch_form,
                lut=lut,
                seed=seed,
                correction=correction,
                force=force,
                progress=bars,
                **extra,
            )
            written = predictor.save(output)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    _show_training(predictor, written, lut, time.perf_counter() - started, as_json=as_json)


def _show_training(
    predictor: Predictor, written: Path, lut: Path | None, seconds: float, *, as_json: bool
) -> None:
    from hwnas.predictors.metrics import json_ready
    from hwnas.predictors.zoo import describe_choice

    origin, space = predictor.origin_, predictor.space
    assert space is not None  # train_predictor's predictors learn one space
    n = predictor.n_train_
    if as_json:
        print_json(
            {
                "path": str(written),
                "kind": predictor.kind,
                "space": space.name,
                "metric": predictor.metric,
                "device": origin.device,
                "fingerprint": origin.fingerprint,
                "source": origin.source,
                "statistic": origin.statistic,
                "precision": origin.precision,
                "arch_form": {"form": origin.arch_form, "reason": origin.arch_form_reason},
                "lookup_table": None if lut is None else str(lut),
                "training_set": {"n": n, "rows": origin.rows, "hash": predictor.training_hash_},
                "validation": json_ready(predictor.validation_),
                "interval": _interval_doc(predictor),
                "base_choice": getattr(predictor, "base_choice", None),
                "seconds": round(seconds, 3),
            }
        )
        return
    fold = "their lowest p10" if origin.statistic == "p10" else "median"
    duplicates = (origin.rows or n) - n
    folded = (
        "repeated rows and spellings of one class"
        if origin.arch_form == "canonical"
        else ("repeated rows")
    )
    merged = f" ({duplicates} {folded} merged by {fold})" if duplicates else ""
    note(
        f"trained a {predictor.kind} predictor of {predictor.metric} on {n:,} "
        f"{space.name} architectures from {origin.source}{merged} in {seconds:.1f} s"
        + (f" (precision {origin.precision})" if origin.precision else "")
    )
    if origin.arch_form is not None:
        note(f"architectures learnt {origin.arch_form}: {origin.arch_form_reason}")
    for line in describe_choice(getattr(predictor, "base_choice", None)):
        note(line)
    method = predictor.validation_.get("method") or "held-out split"
    out.print(_metrics_table(f"validation ({method})", {"validation": predictor.validation_}))
    interval = _interval_doc(predictor)
    if interval["method"]:
        note(f"{interval['nominal']:.0%} prediction intervals, calibrated {interval['method']}")
    note(f"wrote {written}; use it with `hwnas predict {written} --arch ARCH`")


def _interval_doc(predictor: Predictor) -> dict[str, Any]:
    """The intervals' nominal coverage and, where the predictor says, how they were
    calibrated (LightGBM: split- or cross-conformal)."""
    low, high = getattr(predictor, "quantiles", (0.1, 0.9))
    method = getattr(predictor, "interval_method_", None)
    if method is None and hasattr(predictor, "residual_interval_"):
        method = "on out-of-fold residuals"  # a transfer or a weighted set of bases
    return {"nominal": round(high - low, 6), "method": method}


def _load(directory: Path, force: bool) -> Predictor:
    from hwnas.predictors.artifacts import load_predictor

    predictor = load_predictor(directory, force=force)
    for message in getattr(predictor, "load_warnings_", []):
        warn(f"loaded anyway (--force): {message}")
    return predictor


@app.command("eval")
def evaluate(
    directory: Path = typer.Argument(..., help="A predictor directory."),
    table: Path = typer.Option(..., "--table", help="Measurement table to test on."),
    arch_form: str = ArchFormOption,
    plot: Path | None = typer.Option(
        None, "--plot", help="Write a predicted-vs-measured scatter plot to this PNG file."
    ),
    force: bool = ForceOption,
    as_json: bool = JsonOption,
) -> None:
    """Score a predictor on a measurement table: MAPE, RMSE, rank correlations, ±5%/±10%."""
    from hwnas.predictors.train import evaluate_predictor

    try:
        predictor = _load(directory, force)
        with options(predictor=str(directory)):
            result = evaluate_predictor(predictor, table=table, arch_form=arch_form)
        if plot is not None:
            _scatter(plot, result, predictor)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        doc = {"predictor": str(directory), "table": str(table), **result.to_dict()}
        print_json({**doc, "plot": str(plot) if plot is not None else None})
        return
    for message in result.warnings:
        warn(message)
    title = f"{result.metric} of {directory} on {table} (95% bootstrap intervals)"
    out.print(_metrics_table(title, result.groups, result.intervals))
    nominal = result.nominal
    nominal_text = f" (nominal {100 * nominal:.0f}%)" if nominal is not None else ""
    note(f"interval coverage: {100 * result.coverage:.1f}%{nominal_text}")
    if plot is not None:
        note(f"wrote {plot}")


def _scatter(path: Path, result: Evaluation, predictor: Predictor) -> None:
    """Predicted vs measured on log axes with the ±10% band (matplotlib, Agg canvas)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG; give a file name ending in .png, got {path}")
    measured, predicted = result.measured, result.interval.value
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
    ax.set_xlabel(f"measured {result.metric}")
    ax.set_ylabel(f"predicted {result.metric}")
    scores = result.groups["all"]
    device = f", {predictor.origin_.device}" if predictor.origin_.device else ""
    ax.set_title(
        f"{result.space}{device}: n {len(measured):,}, Spearman "
        f"{_fmt('spearman', scores.get('spearman'))}, within ±10% "
        f"{_fmt('within_10', scores.get('within_10'))}",
        fontsize=9,
    )
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as exc:
        raise UsageError(
            f"cannot write the plot to {path} ({exc.strerror or exc}); pass another --plot"
        ) from None


def _check_predict_flags(directory: Path, arch: list[str], onnx_file: Path | None) -> bool:
    """Whether ``directory`` is a kernel predictor; refuse the wrong kind of input."""
    from hwnas.predictors.kernels import is_kernel_predictor

    kernel_dir = directory.is_dir() and is_kernel_predictor(directory)
    if (onnx_file is None) == (not arch):
        raise UsageError(
            "give --arch STRING (space predictor) or --onnx FILE (kernel predictor), one of the two"
        )
    if onnx_file is not None and not kernel_dir:
        raise UsageError(
            f"{directory} is not a kernel predictor, so it cannot predict "
            f"an ONNX file; build one with `hwnas kernels build -o DIR`, or "
            f"pass --arch for this space predictor"
        )
    if arch and kernel_dir:
        raise UsageError(f"{directory} is a kernel predictor: pass --onnx FILE, not --arch")
    return kernel_dir


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
    try:
        _check_predict_flags(directory, arch, onnx_file)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if onnx_file is not None:
        # The kernel-by-kernel table is `hwnas kernels predict`'s; this is the same command.
        try:
            kernel, total, kernel_rows = kernel_prediction(directory, onnx_file, shape)
        except HwnasError as exc:
            fail(exc, as_json=as_json)
        render_kernel_prediction(onnx_file, kernel, total, kernel_rows, top=0, as_json=as_json)
        return
    try:
        predictor = _load(directory, force)
        space = predictor.space
        assert space is not None  # a kernel predictor went the --onnx way
        archs = [space.validate(a) for a in arch]
        interval = predictor.predict_interval(archs)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    rows: list[dict[str, Any]] = [
        {"arch": a, "value": float(v), "low": float(lo), "high": float(hi)}
        for a, v, lo, hi in zip(archs, interval.value, interval.low, interval.high, strict=True)
    ]
    _show_predictions(directory, predictor, rows, as_json=as_json)


def _show_predictions(
    directory: Path, predictor: Predictor, rows: list[dict[str, Any]], *, as_json: bool
) -> None:
    nominal = predictor.interval_share
    if as_json:
        print_json(
            {
                "predictor": str(directory),
                "space": predictor.space.name if predictor.space is not None else None,
                "metric": predictor.metric,
                "device": predictor.origin_.device,
                "arch_form": getattr(predictor, "arch_form", None),
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
