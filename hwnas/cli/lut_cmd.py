"""`hwnas lut build | export | show | predict`: per-block latency lookup tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hwnas.cli._common import JsonOption, StoreOption, err, note, open_store, out, print_json
from hwnas.cli.profile_cmd import build_settings
from hwnas.errors import HwnasError, UsageError
from hwnas.records import Measurement

app = typer.Typer(
    help="Lookup tables: the latency of every distinct block of a search space on a device.",
    no_args_is_help=True,
)

#: Held-out networks needed before an additivity report is worth printing.
MIN_HELD_OUT = 3

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
    help="What to add up and predict: p50 (the median), or p10 (resists contention on a busy "
    "or shared device).",
)


def fail(exc: HwnasError, *, as_json: bool = False) -> NoReturn:
    """Report ``exc`` and exit like ``hwnas.cli._common.fail``, with the message printed
    literally: block keys such as ``mbconv[kernel=3,...]`` would be read as Rich markup."""
    err.print("[bold red]error:[/bold red]", escape(exc.message), soft_wrap=True)
    if as_json:
        print_json({"errors": [exc.to_dict()]})
    raise typer.Exit(exc.exit_code)


def _check_calibration(calibrate: int, fit: str, statistic: str = "p50") -> None:
    from hwnas.predictors.lut import CALIBRATION_MODES, STATISTICS

    if statistic not in STATISTICS:
        raise UsageError(f"--statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    if calibrate < 0:
        raise UsageError(f"--calibrate must be >= 0 (0: no calibration), got {calibrate}")
    if fit not in CALIBRATION_MODES:
        raise UsageError(f"--fit must be one of {', '.join(CALIBRATION_MODES)}, got {fit!r}")


def _calibrated(
    store: Any,
    space: Any,
    device: str,
    fingerprint: str | None,
    *,
    calibrate: int,
    seed: int,
    fit: str,
    statistic: str,
) -> tuple[Any, dict[str, float], dict[str, Any] | None]:
    """(table, calibration networks, additivity report on the held-out ones or None)."""
    from hwnas.predictors.lut import LookupTable, network_latencies, split_networks

    lut = LookupTable.from_store(store, space, device, fingerprint=fingerprint, statistic=statistic)
    networks = network_latencies(store, space, device, lut.fingerprint, statistic=statistic)
    calibration, held_out = split_networks(space, networks, calibrate=calibrate, seed=seed)
    lut.calibrate(calibration, mode=fit if calibrate > 0 else "none")
    report = lut.additivity_report(held_out) if len(held_out) >= MIN_HELD_OUT else None
    return lut, calibration, report


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _summary(report: dict[str, Any] | None, *, rows: bool = False) -> dict[str, Any] | None:
    if report is None:
        return None
    return {k: _number(v) for k, v in report.items() if rows or k != "rows"}


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
    reconnect_timeout: float = typer.Option(
        300.0, "--reconnect-timeout", help="How long to keep reconnecting to a lost device (s)."
    ),
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
    import uuid

    from hwnas.devices.registry import connect, get_device
    from hwnas.export import check_exporter
    from hwnas.profiler.fleet import DevicePlan, SpaceSample
    from hwnas.profiler.lut import BlockSet
    from hwnas.spaces import get_space

    try:
        _check_calibration(calibrate, fit, statistic)
        if holdout < 0:
            raise UsageError(f"--holdout must be >= 0, got {holdout}")
        check_exporter(exporter)
        settings = build_settings(
            threads=threads,
            target_ci=target_ci,
            max_seconds=max_seconds,
            min_runs=min_runs,
            max_runs=max_runs,
            warmup=warmup,
            graph_opt=graph_opt,
            shape=[],
            op_profile=False,
            seed=seed,
        )
        space = get_space(space_name)
        blocks = BlockSet(space, exporter=exporter)
        if calibrate + holdout > space.size():
            raise UsageError(
                f"--calibrate {calibrate} + --holdout {holdout} asks for {calibrate + holdout:,} "
                f"networks, but space {space.name!r} has only {space.size():,}; ask for fewer"
            )
        archs = space.sample_distinct(seed, calibrate + holdout)
        spec = get_device(device or "local")
        store = open_store(store_path)
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    doc: dict[str, Any] = {
        "space": space.name,
        "device": spec.name,
        "fingerprint": None,
        "statistic": statistic,
        "blocks": {},
        "networks": {},
        "floor_ms": None,
        "calibration": None,
        "additivity": None,
        "interrupted": False,
        "errors": [],
    }
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        batch = uuid.uuid4().hex[:12]
        try:
            with store:  # closed before measuring: the fleet's workers open their own
                plan = _plan(progress, store, spec, settings, blocks, batch, connect)
        except HwnasError as exc:
            progress.stop()
            fail(exc, as_json=as_json)
        except KeyboardInterrupt:
            progress.stop()
            if as_json:
                print_json({**doc, "interrupted": True})
            note("interrupted before measuring; nothing is lost (exported blocks are cached)")
            raise typer.Exit(130) from None
        doc["fingerprint"] = plan.fingerprint.hash
        loader = _loader(blocks, space)
        phases = [
            ("blocks", DevicePlan(spec=spec, settings=settings, jobs=plan.jobs)),
            (
                "networks",
                DevicePlan(
                    spec=spec, settings=settings, sample=SpaceSample(space, archs, exporter)
                ),
            ),
        ]
        from hwnas.cli.profile_cmd import local_contention

        doc["warnings"] = local_contention([spec])
        interrupted = False
        for what, device_plan in phases:
            doc[what] = {"measured": 0, "skipped": 0, "errors": []}
            if not interrupted:
                interrupted = _measure(
                    progress,
                    what,
                    device_plan,
                    store.url,
                    batch,
                    connect,
                    loader,
                    reconnect_timeout,
                    doc,
                )
        done = doc["blocks"]
        doc["blocks"] = {
            "total": plan.total,
            "measured": done["measured"],
            "skipped": len(plan.skipped),
            "exported": plan.exported,
            "errors": done["errors"],
        }
    _finish(
        doc,
        store.url,
        space,
        spec.name,
        calibrate=calibrate,
        seed=seed,
        fit=fit,
        statistic=statistic,
        interrupted=interrupted,
        as_json=as_json,
    )


def _plan(
    progress: Progress, store: Any, spec: Any, settings: Any, blocks: Any, batch: str, connect: Any
) -> Any:
    from hwnas.profiler.lut import plan_blocks

    task = progress.add_task(f"{spec.name}: reading the fingerprint", total=None)

    def exported(key: str, done: int, total: int) -> None:
        progress.update(
            task, completed=done, total=total, description=f"{spec.name}: exporting blocks"
        )

    try:
        return plan_blocks(
            store, spec, settings, blocks, batch=batch, connect=connect, on_export=exported
        )
    finally:
        progress.remove_task(task)


def _loader(blocks: Any, space: Any) -> Any:
    from hwnas.spaces import get_space

    def load(name: str) -> Any:
        if name == blocks.name:
            return blocks
        return space if name == space.name else get_space(name)

    return load


def _measure(
    progress: Progress,
    what: str,
    plan: Any,
    store_url: str,
    batch: str,
    connect: Any,
    loader: Any,
    reconnect_timeout: float,
    doc: dict[str, Any],
) -> bool:
    """Run one phase (the queued block jobs, or a sample of whole networks) through the
    fleet; record what happened in ``doc[what]``; return whether Ctrl-C stopped it."""
    from hwnas.profiler.fleet import run_fleet

    if not plan.jobs and (plan.sample is None or not plan.sample.archs):
        return False
    name = plan.spec.name
    task = progress.add_task(f"{name}: {what}", total=len(plan.jobs) or None)
    (outcome,), interrupted = run_fleet(
        [plan],
        store_location=store_url,
        batch=batch,
        connect=connect,
        events=_Events(progress, task, what),
        space_loader=loader,
        reconnect_timeout=reconnect_timeout,
    )
    progress.remove_task(task)
    part = doc[what]
    part["measured"] = len(outcome.result.measurements)
    part["skipped"] = len(outcome.skipped)
    part["errors"] = list(outcome.result.errors)
    doc["errors"] += part["errors"]
    if outcome.error is not None:
        doc["errors"].append({"device": name, **outcome.error.to_dict()})
    if outcome.result.connection_lost:
        doc["errors"].append(
            {"device": name, "error": "connection_lost", "message": outcome.result.connection_lost}
        )
    return interrupted or outcome.result.interrupted


class _Events:
    """Fleet events as one Rich progress bar (thread-safe) and error lines on stderr."""

    def __init__(self, progress: Progress, task: Any, what: str) -> None:
        self.progress, self.task, self.what = progress, task, what

    def planned(self, device: str, jobs: int, skipped: int) -> None:
        self.progress.update(self.task, total=jobs, description=f"{device}: {self.what}")

    def start(self, device: str, label: str) -> None:
        short = label.split("[")[0] + (" " + label.rsplit(":", 1)[-1] if "[" in label else "")
        self.progress.update(self.task, description=f"{device}: {self.what}: {short[:60]}")

    def done(self, device: str, label: str, m: Measurement | None, e: HwnasError | None) -> None:
        self.progress.advance(self.task)
        if e is not None:
            err.print(
                f"[red]failed[/red] {escape(label)} on {device}: {escape(e.message)}",
                soft_wrap=True,
            )

    def retry(self, device: str, error: HwnasError, delay: float) -> None:
        wait = "reconnecting" if delay == 0 else f"retrying in {delay:.0f} s"
        err.print(
            f"[yellow]{device} unreachable[/yellow] ({escape(error.message)}); {wait}",
            soft_wrap=True,
        )


def _finish(
    doc: dict[str, Any],
    store_url: str,
    space: Any,
    device: str,
    *,
    calibrate: int,
    seed: int,
    fit: str,
    statistic: str,
    interrupted: bool,
    as_json: bool,
) -> None:
    """Calibrate and report after ``build`` measured; exit 130 / 1 / 0."""
    doc["interrupted"] = interrupted
    if not interrupted:
        try:
            with open_store(store_url) as store:
                lut, calibration, report = _calibrated(
                    store,
                    space,
                    device,
                    doc["fingerprint"],
                    calibrate=calibrate,
                    seed=seed,
                    fit=fit,
                    statistic=statistic,
                )
            doc["floor_ms"] = lut.floor_ms
            doc["calibration"] = {**lut.calibration_.to_dict(), "n": len(calibration)}
            doc["additivity"] = _summary(report, rows=True)
        except HwnasError as exc:
            doc["errors"].append(exc.to_dict())
    if as_json:
        print_json(doc)
    else:
        out.print(_build_table(doc))
        if doc["calibration"] and doc["calibration"].get("note"):
            note(f"calibration: {doc['calibration']['note']}")
        if doc["additivity"] is None and not interrupted and not doc["errors"]:
            note(
                f"no additivity report: fewer than {MIN_HELD_OUT} measured networks besides "
                f"the calibration ones; add --holdout N (or `hwnas profile --space "
                f"{space.name} --sample N`)."
            )
    for e in doc["errors"]:
        if "model" not in e:
            err.print(f"[bold red]error:[/bold red] {escape(e['message'])}", soft_wrap=True)
    if interrupted:
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
    calibrate: int = CalibrateOption,
    seed: int = SeedOption,
    fit: str = FitOption,
    statistic: str = StatisticOption,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the lookup table as CSV or JSON.

    CSV: one row per block (key, op, shapes, params, n, mean, std, p10, p50, p90 in ms).
    JSON: the blocks, the calibration and the additivity report on held-out networks.
    """
    from hwnas.predictors.lut import table_format
    from hwnas.spaces import get_space

    try:
        _check_calibration(calibrate, fit, statistic)
        table_format(output, fmt)
        space = get_space(space_name)
        with open_store(store_path) as store:
            lut, _, report = _calibrated(
                store,
                space,
                device or "local",
                fingerprint,
                calibrate=calibrate,
                seed=seed,
                fit=fit,
                statistic=statistic,
            )
        written = lut.write(output, format=fmt, extra={"additivity": _summary(report)})
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(
            {
                "path": str(written),
                "blocks": len(lut.blocks),
                "fingerprint": lut.fingerprint,
                "calibration": lut.calibration_.to_dict(),
                "additivity": _summary(report),
            }
        )
    else:
        note(
            f"wrote {len(lut.blocks)} block(s) of {space.name} on {lut.device} (fingerprint "
            f"{lut.fingerprint}) to {written}"
        )


@app.command("show")
def show(
    space_name: str = SpaceOption,
    device: str | None = DeviceOption,
    fingerprint: str | None = FingerprintOption,
    calibrate: int = CalibrateOption,
    seed: int = SeedOption,
    fit: str = FitOption,
    statistic: str = StatisticOption,
    limit: int = typer.Option(20, "--limit", help="Show this many of the slowest blocks."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Print the slowest blocks of the table, its calibration and its additivity error."""
    from hwnas.spaces import get_space

    try:
        _check_calibration(calibrate, fit, statistic)
        if limit < 1:
            raise UsageError(f"--limit must be >= 1, got {limit}")
        space = get_space(space_name)
        with open_store(store_path) as store:
            lut, calibration, report = _calibrated(
                store,
                space,
                device or "local",
                fingerprint,
                calibrate=calibrate,
                seed=seed,
                fit=fit,
                statistic=statistic,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({**lut.to_dict(), "additivity": _summary(report, rows=True)})
        return
    slowest = sorted(lut.blocks.values(), key=lambda b: -b.p50_ms)[:limit]
    table = Table(
        title=f"{len(slowest)} slowest of {len(lut.blocks)} blocks of {space.name} on "
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
    calibrate: int = CalibrateOption,
    seed: int = SeedOption,
    fit: str = FitOption,
    statistic: str = StatisticOption,
    table_path: Path | None = typer.Option(
        None, "--table", help="A JSON table from `hwnas lut export` instead of the store."
    ),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Predict the latency of architectures from the lookup table (ms)."""
    from hwnas.predictors.lut import network_latencies, read_table
    from hwnas.spaces import get_space

    try:
        _check_calibration(calibrate, fit, statistic)
        space = get_space(space_name)
        measured: dict[str, float] = {}
        if table_path is not None:
            lut = read_table(table_path, space=space)
        else:
            with open_store(store_path) as store:
                lut, _, _ = _calibrated(
                    store,
                    space,
                    device or "local",
                    fingerprint,
                    calibrate=calibrate,
                    seed=seed,
                    fit=fit,
                    statistic=statistic,
                )
                measured = network_latencies(
                    store, space, lut.device, lut.fingerprint, statistic=statistic
                )
        rows: list[dict[str, Any]] = []
        for a in arch:
            canonical = space.canonical(a)
            rows.append(
                {
                    "arch": canonical,
                    "plain_sum_ms": lut.plain_sum(canonical),
                    "predicted_ms": lut.predict(canonical),
                    "measured_ms": measured.get(canonical),
                }
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(
            {
                "space": space.name,
                "device": lut.device,
                "fingerprint": lut.fingerprint,
                "calibration": lut.calibration_.to_dict(),
                "predictions": rows,
            }
        )
        return
    table = Table(title=f"Lookup-table predictions on {lut.device} (ms)", title_justify="left")
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
