"""`hwnas lut build | export | show | predict`: per-block latency lookup tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    err,
    executor_option,
    fail,
    jobs_option,
    note,
    open_store,
    options,
    out,
    print_json,
)
from hwnas.cli._stage_bars import StageBars
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(
    help="Lookup tables: the latency of every distinct block of a search space on a device.",
    no_args_is_help=True,
)

SpaceOption = typer.Option(
    ...,
    "--space",
    help="Search space: a registered name or package.module:ClassName.",
    show_default=False,
)
DeviceOption = typer.Option(None, "--device", "-d", help="Registered device (default: local).")
FingerprintOption = typer.Option(
    None, "--fingerprint", help="Use the blocks measured under this fingerprint (hash or start)."
)
CalibrateOption = typer.Option(
    10,
    "--calibrate",
    help="Whole networks (the first K of the seeded sample) that scale and offset are fitted "
    "on; 0: plain sums.",
)
SeedOption = typer.Option(0, "--seed", help="Seed of the sample of calibration networks.")
FitOption = typer.Option(
    "affine", "--fit", help="affine (scale and offset), offset (offset only) or none."
)
StatisticOption = typer.Option(
    "p50",
    "--statistic",
    help="What to add up and predict: p50 (the median), p10 (resists contention on a busy "
    "or shared device), or ratio (each block's median ratio to the --reference model, in ms "
    "at the reference's typical speed; cancels a shared machine's speed drift).",
)
_BUILT = " Default: what `hwnas lut build` used for this table, else {}."
# Reading a table (show, export, predict): what is not given is what its build used.
ReadCalibrateOption = typer.Option(
    None, "--calibrate", help=CalibrateOption.help + _BUILT.format(10), show_default=False
)
ReadSeedOption = typer.Option(
    None, "--seed", help=SeedOption.help + _BUILT.format(0), show_default=False
)
ReadFitOption = typer.Option(
    None, "--fit", help=FitOption.help + _BUILT.format("affine"), show_default=False
)
ReadStatisticOption = typer.Option(
    None, "--statistic", help=StatisticOption.help + _BUILT.format("p50"), show_default=False
)


def _table(
    space_name: str,
    device: str | None,
    fingerprint: str | None,
    store_path: str | None,
    calibration: dict[str, Any],
) -> Any:
    """The calibrated table in the store (``hwnas.predictors.build.calibrated_table``)."""
    from hwnas.predictors.lut_build import calibrated_table, check_calibration
    from hwnas.spaces import get_space

    with options(store="--store"):
        check_calibration(calibration["calibrate"], calibration["fit"], calibration["statistic"])
        space = get_space(space_name)
        with open_store(store_path) as store:
            return calibrated_table(store, space, device or "local", fingerprint, **calibration)


@app.command("build")
def build(
    space_name: str = SpaceOption,
    device: str | None = DeviceOption,
    calibrate: int = CalibrateOption,
    holdout: int = typer.Option(
        0,
        "--holdout",
        help="Also measure this many further sampled networks, to report "
        "the additivity error on networks the calibration did not see.",
    ),
    seed: int = SeedOption,
    fit: str = FitOption,
    statistic: str = StatisticOption,
    exporter: str = typer.Option(
        "torchscript", "--exporter", help="torch exporter: torchscript (fast) or dynamo."
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
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="Time this ONNX model (or `builtin`, a small CNN) after every timed run of "
        "every block and network, as `hwnas profile --reference` does; "
        "`--statistic ratio` then adds up the blocks' ratios to it.",
    ),
    reconnect_timeout: float = typer.Option(
        300.0, "--reconnect-timeout", help="How long to keep reconnecting to a lost device (s)."
    ),
    jobs: int = jobs_option(
        "Export blocks and networks in this many worker processes, ahead of "
        "measuring them (1: each in this process, just before it is needed)."
    ),
    executor: str | None = executor_option("Export"),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure every distinct block of a space on a device, then calibrate on whole networks.

    Each block (op, input and output shapes, parameters) is exported as a one-block ONNX
    model and measured once with the profiling protocol; blocks already measured on the
    device under its current fingerprint are skipped, so after Ctrl-C the same command
    finishes the table. Then the first --calibrate networks of the seeded sample (and
    --holdout more) are measured whole, the per-network scale and offset are fitted on
    the calibration networks, and the additivity error is reported on the others.
    """
    from hwnas.predictors.build import run_lut_build

    try:
        with options(store="--store"), StageBars() as bars:
            result = run_lut_build(
                space_name,
                device=device or "local",
                store=store_path,
                calibrate=calibrate,
                holdout=holdout,
                seed=seed,
                fit=fit,
                statistic=statistic,
                exporter=exporter,
                threads=threads,
                target_ci=target_ci,
                max_seconds=max_seconds,
                min_runs=min_runs,
                max_runs=max_runs,
                warmup=warmup,
                graph_opt=graph_opt,
                reference=reference,
                reconnect_timeout=reconnect_timeout,
                jobs=jobs,
                executor=executor,
                progress=bars,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    _report_build(result, as_json=as_json)


def _report_build(result: Any, *, as_json: bool) -> None:
    """Print what ``build`` did (a table, or the JSON document); exit 130 / 1 / 0."""
    from hwnas.predictors.lut_build import MIN_HELD_OUT

    doc = result.to_dict()
    if result.measurement.plan is None:  # Ctrl-C before anything was queued
        if as_json:
            print_json(doc)
        note("interrupted before measuring; nothing is lost (exported blocks are cached)")
        raise typer.Exit(130)
    if as_json:
        print_json(doc)
    else:
        out.print(_build_table(doc))
        if doc["calibration"] and doc["calibration"].get("note"):
            note(f"calibration: {doc['calibration']['note']}")
        if doc["additivity"] is None and not result.interrupted and not doc["errors"]:
            note(
                f"no additivity report: fewer than {MIN_HELD_OUT} measured networks besides "
                f"the calibration ones; add --holdout N (or `hwnas profile --space "
                f"{doc['space']} --sample N`)."
            )
    for e in doc["errors"]:
        if "model" not in e:
            err.print(f"[bold red]error:[/bold red] {escape(e['message'])}", soft_wrap=True)
    if result.interrupted:
        note(
            f"interrupted: what was measured is stored; run the same `hwnas lut build` "
            f"command again to finish ({doc['blocks']['measured']} block(s) measured now)."
        )
        raise typer.Exit(130)
    if doc["errors"]:
        raise typer.Exit(1)


def _build_table(doc: dict[str, Any]) -> Table:
    table = Table(
        title=f"Lookup table of {doc['space']} on {doc['device']} (fingerprint "
        f"{doc['fingerprint']})",
        title_justify="left",
        show_header=False,
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    b, n = doc["blocks"], doc["networks"]
    table.add_row("distinct blocks + runner floor", f"{b['total'] - 1} + 1")
    table.add_row("blocks measured now / already", f"{b['measured']} / {b['skipped']}")
    table.add_row("networks measured now / already", f"{n['measured']} / {n['skipped']}")
    if doc.get("reference"):
        typical = doc.get("reference_ms")
        at = f" (typical median {typical:.4g} ms)" if typical is not None else ""
        table.add_row("timed beside", escape(Path(doc["reference"]).name) + at)
    cal = doc["calibration"]
    if cal:
        table.add_row("calibration", f"{cal['mode']} on {cal['n']} network(s)")
        table.add_row(
            f"latency {doc['statistic']} ≈",
            _formula(cal["scale"], cal["offset"], doc["floor_ms"], doc["statistic"]),
        )
    rep = doc["additivity"]
    if rep:
        table.add_row("held-out networks", str(rep["n"]))
        table.add_row(
            f"MAPE (plain Σ {doc['statistic']})",
            f"{_fmt(rep['mape'])}% ({_fmt(rep['mape_plain_sum'])}%)",
        )
        table.add_row("Spearman ρ", _fmt(rep["spearman"], 3))
        table.add_row("within ±10%", _fmt(_pct(rep["within_10"])) + "%")
    return table


def _formula(scale: float, offset: float, floor_ms: float, statistic: str) -> str:
    sign = "−" if offset < 0 else "+"
    return (
        f"{scale:.4g} × Σ max(block {statistic} − {1000 * floor_ms:.3g} µs, 0) {sign} "
        f"{abs(offset):.4g} ms"
    )


def _fmt(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(share: Any) -> Any:
    return None if share is None else 100 * share


@app.command("export")
def export(
    space_name: str = SpaceOption,
    output: Path = typer.Option(..., "--output", "-o", help="File to write.", show_default=False),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="csv | json (default: from the file suffix)."
    ),
    device: str | None = DeviceOption,
    fingerprint: str | None = FingerprintOption,
    calibrate: int | None = ReadCalibrateOption,
    seed: int | None = ReadSeedOption,
    fit: str | None = ReadFitOption,
    statistic: str | None = ReadStatisticOption,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the lookup table as CSV or JSON.

    CSV: one row per block (key, op, shapes, params, n, mean, std, p10, p50, p90 in ms).
    JSON: the blocks, the calibration and the additivity report on held-out networks.
    """
    from hwnas.predictors.lut import table_format
    from hwnas.predictors.lut_build import additivity_summary

    try:
        with options():
            table_format(output, fmt)
        calibration = {"calibrate": calibrate, "seed": seed, "fit": fit, "statistic": statistic}
        t = _table(space_name, device, fingerprint, store_path, calibration)
        lut, report = t.table, t.additivity
        extra = {"additivity": additivity_summary(report)}
        written = lut.write(output, format=fmt, extra=extra)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(
            {
                "path": str(written),
                "blocks": len(lut.blocks),
                "fingerprint": lut.fingerprint,
                "calibration": lut.calibration_.to_dict(),
                "additivity": additivity_summary(report),
            }
        )
    else:
        note(
            f"wrote {len(lut.blocks)} block(s) of {lut.space.name} on {lut.device} (fingerprint "
            f"{lut.fingerprint}) to {written}"
        )


@app.command("show")
def show(
    space_name: str = SpaceOption,
    device: str | None = DeviceOption,
    fingerprint: str | None = FingerprintOption,
    calibrate: int | None = ReadCalibrateOption,
    seed: int | None = ReadSeedOption,
    fit: str | None = ReadFitOption,
    statistic: str | None = ReadStatisticOption,
    limit: int = typer.Option(20, "--limit", help="Show this many of the slowest blocks."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the slowest blocks of the table, its calibration and its additivity error."""
    from hwnas.predictors.lut_build import additivity_summary

    try:
        if limit < 1:
            raise UsageError(f"--limit must be >= 1, got {limit}")
        calibration = {"calibrate": calibrate, "seed": seed, "fit": fit, "statistic": statistic}
        t = _table(space_name, device, fingerprint, store_path, calibration)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({**t.table.to_dict(), "additivity": additivity_summary(t.additivity, rows=True)})
        return
    _print_slowest(t, limit)


def _print_slowest(t: Any, limit: int) -> None:
    """The ``limit`` slowest blocks of a calibrated table, its formula and additivity."""
    lut, calibration, report = t.table, t.calibration, t.additivity
    slowest = sorted(lut.blocks.values(), key=lambda b: -b.p50_ms)[:limit]
    table = Table(
        title=f"{len(slowest)} slowest of {len(lut.blocks)} blocks of {lut.space.name} on "
        f"{lut.device} (ms; fingerprint {lut.fingerprint})",
        title_justify="left",
    )
    for col in ("block", "input -> output", "n", "p50", "p10", "p90", "mean", "std"):
        table.add_column(
            col, justify="left" if col in {"block", "input -> output"} else "right", overflow="fold"
        )
    for b in slowest:
        params = ",".join(f"{k}={v}" for k, v in sorted(b.params.items()))
        table.add_row(
            escape(f"{b.op}[{params}]"),
            b.key.rsplit(":", 1)[-1],
            str(b.n),
            *(f"{v:.4g}" for v in (b.p50_ms, b.p10_ms, b.p90_ms, b.mean_ms, b.std_ms)),
        )
    out.print(table)
    cal = lut.calibration_
    formula = _formula(cal.scale, cal.offset, lut.floor_ms, lut.statistic)
    note(
        f"latency {lut.statistic} ≈ {formula} ({cal.mode}, {len(calibration)} calibration "
        f"network(s){'; ' + cal.note if cal.note else ''})"
    )
    if report is not None:
        note(
            f"additivity on {report['n']} held-out network(s): MAPE {_fmt(report['mape'])}%, "
            f"Spearman {_fmt(report['spearman'], 3)}, within ±10% "
            f"{_fmt(_pct(report['within_10']))}%"
        )


@app.command("predict")
def predict(
    space_name: str = SpaceOption,
    arch: list[str] = typer.Option(
        ..., "--arch", help="Architecture string (repeatable).", show_default=False
    ),
    device: str | None = DeviceOption,
    fingerprint: str | None = FingerprintOption,
    calibrate: int | None = ReadCalibrateOption,
    seed: int | None = ReadSeedOption,
    fit: str | None = ReadFitOption,
    statistic: str | None = ReadStatisticOption,
    table_path: Path | None = typer.Option(
        None, "--table", help="A JSON table from `hwnas lut export` instead of the store."
    ),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Predict the latency of architectures from the lookup table (ms)."""
    from hwnas.predictors.lut import read_table
    from hwnas.predictors.lut_build import check_calibration
    from hwnas.spaces import get_space

    calibration = {"calibrate": calibrate, "seed": seed, "fit": fit, "statistic": statistic}
    try:
        measured: dict[str, float] = {}
        if table_path is not None:
            with options():
                check_calibration(calibrate, fit, statistic)
            lut = read_table(table_path, space=get_space(space_name))
        else:
            t = _table(space_name, device, fingerprint, store_path, calibration)
            lut, measured = t.table, t.networks
        rows = [_prediction(lut, a, measured) for a in arch]
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(
            {
                "space": lut.space.name,
                "device": lut.device,
                "fingerprint": lut.fingerprint,
                "calibration": lut.calibration_.to_dict(),
                "predictions": rows,
            }
        )
        return
    _print_predictions(lut.device, rows)


def _prediction(lut: Any, arch: str, measured: dict[str, float]) -> dict[str, Any]:
    """One row of ``predict``: the table's prediction, its plain sum and the measurement."""
    canonical = lut.space.canonical(arch)
    return {
        "arch": canonical,
        "plain_sum_ms": lut.plain_sum(canonical),
        "predicted_ms": lut.predict(canonical),
        "measured_ms": measured.get(canonical),
    }


def _print_predictions(device: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"Lookup-table predictions on {device} (ms)", title_justify="left")
    for col in ("arch", "predicted", "Σ p50", "measured"):
        table.add_column(col, justify="left" if col == "arch" else "right", overflow="fold")
    for r in rows:
        table.add_row(
            escape(r["arch"]),
            f"{r['predicted_ms']:.4g}",
            f"{r['plain_sum_ms']:.4g}",
            "—" if r["measured_ms"] is None else f"{r['measured_ms']:.4g}",
        )
    out.print(table)
