"""`hwnas measurements`: list, show, export and import what the store holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import typer
from rich import box
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
    warn,
)
from hwnas.config import store_location
from hwnas.errors import HwnasError, UsageError

app = typer.Typer(help="List, show, export and import stored measurements.", no_args_is_help=True)

DeviceFilter = typer.Option(None, "--device", "-d", help="Only this device.")
FingerprintFilter = typer.Option(
    None, "--fingerprint", help="Only this fingerprint (its hash, or the start of it)."
)
SpaceFilter = typer.Option(None, "--space", help="Only architectures of this search space.")


def mixed_fingerprint_warning(stored: list[Any]) -> str | None:
    """A warning when one device's rows come from several fingerprints, else None."""
    by_device: dict[str, set[str]] = defaultdict(set)
    for s in stored:
        by_device[s.measurement.device].add(s.measurement.fingerprint_hash)
    return _mixed_warning(by_device)


def _mixed_warning(by_device: Mapping[str, Iterable[str]]) -> str | None:
    """The warning of :func:`mixed_fingerprint_warning` from device -> fingerprint hashes."""
    mixed = {d: sorted(h) for d, h in by_device.items() if len(set(h)) > 1}
    if not mixed:
        return None
    parts = "; ".join(f"{d}: {', '.join(h)}" for d, h in sorted(mixed.items()))
    return (
        f"this selection mixes fingerprints ({parts}); their numbers are not comparable. "
        f"Each row carries its fingerprint; pass --fingerprint HASH to keep one."
    )


@app.command("list")
def list_measurements(
    device: str | None = DeviceFilter,
    fingerprint: str | None = FingerprintFilter,
    space: str | None = SpaceFilter,
    limit: int = typer.Option(50, "--limit", help="Show at most this many (newest first)."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """List stored measurements, newest first."""
    try:
        if limit < 1:
            raise UsageError(f"--limit must be >= 1, got {limit}")
        if (absent := missing_store(store_path)) is not None:
            _no_store(absent, as_json=as_json)
            return
        with open_store(store_path, create=False) as store:
            where = store.url
            total = store.count(device=device, fingerprint=fingerprint, space=space)
            stored = store.measurements(
                device=device, fingerprint=fingerprint, space=space, limit=limit, newest_first=True
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    mixed = mixed_fingerprint_warning(stored)
    if as_json:
        print_json(
            {
                "measurements": [
                    {"id": s.id, **s.measurement.to_dict(samples=False)} for s in stored
                ],
                "total": total,
                "store": where,
                "warnings": [mixed] if mixed else [],
            }
        )
        return
    if mixed:
        warn(mixed)
    if not stored:
        note(f"no measurements match in {where}; measure some with `hwnas profile MODEL.onnx`.")
        return
    out.print(_measurements_table(stored, total))
    note(f"store: {where}")


def _no_store(where: str, *, as_json: bool) -> None:
    """`measurements list` of a store that does not exist: empty, and nothing created."""
    if as_json:
        print_json({"measurements": [], "total": 0, "store": where, "warnings": []})
        return
    note(
        f"no measurements: there is no store at {where} (pass --store or set HWNAS_STORE, "
        f"or measure some with `hwnas profile MODEL.onnx`)."
    )


def _measurements_table(stored: list[Any], total: int) -> Table:
    """The rows of `measurements list`; the model column names the arch when any row has one."""
    table = Table(
        title=f"{len(stored)} of {total} measurement(s)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    with_arch = any(s.measurement.arch is not None for s in stored)
    numeric = {"id", "median ms", "CI %", "n", "peak MB"}
    for col in (
        "id",
        "model / arch" if with_arch else "model",
        "device",
        "fp",
        "median ms",
        "CI %",
        "n",
        "peak MB",
        "when",
    ):
        table.add_column(
            col,
            justify="right" if col in numeric else "left",
            overflow="fold",
            no_wrap=col not in {"model", "model / arch"},
        )
    for s in stored:
        m = s.measurement
        table.add_row(
            str(s.id),
            m.arch.string if m.arch else (m.model_name or m.model_hash[:12]),
            m.device,
            m.fingerprint_hash[:8],
            f"{m.latency_ms.median:.4g}",
            f"{100 * m.latency_ms.ci_relative:.2g}",
            str(m.latency_ms.n),
            "—" if m.peak_memory_mb is None else f"{m.peak_memory_mb:.1f}",
            m.timestamp[5:16].replace("T", " "),
        )
    return table


@app.command("show")
def show_measurement(
    measurement_id: int = typer.Argument(..., help="Id from `hwnas measurements list`."),
    store_path: str | None = StoreOption,
) -> None:
    """Print one measurement as JSON, raw samples included."""
    try:
        with open_store(store_path, create=False) as store:
            stored = store.get(measurement_id, samples=True)
    except HwnasError as exc:
        fail(exc)
    print_json({"id": stored.id, **stored.measurement.to_dict(samples=True)})


@app.command("export")
def export_measurements(
    output: str = typer.Option(
        ...,
        "--output",
        "-o",
        help="File to write (.csv, .parquet), or a store to copy into: a .db path or a URL "
        "such as postgresql+psycopg://HOST/DB (what it holds already is not added twice).",
        show_default=False,
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="csv | parquet (default: from the file suffix)."
    ),
    device: str | None = DeviceFilter,
    fingerprint: str | None = FingerprintFilter,
    space: str | None = SpaceFilter,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a measurement table (column `arch`, one column per metric, and each whole
    measurement for `measurements import`) as CSV or Parquet, or copy into another store."""
    from hwnas.cli._progress import ProgressBars
    from hwnas.sharing import export_measurements as export

    try:
        if (absent := missing_store(store_path)) is not None:
            raise UsageError(
                f"there is no store at {absent}, so there is nothing to export; pass --store "
                f"or set HWNAS_STORE, or measure first with `hwnas profile`."
            )
        with options(), ProgressBars() as progress:
            report = export(
                output,
                store_location(store_path),
                format=fmt,
                device=device,
                fingerprint=fingerprint,
                space=space,
                progress=progress,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    mixed = _mixed_warning(report.fingerprints)
    if mixed:
        warn(mixed)
    if as_json:
        print_json({**report.to_dict(), "warnings": [mixed] if mixed else []})
    elif report.format == "store":
        note(
            f"copied {report.added} new measurement(s) of {report.rows} from {report.store} "
            f"into {report.destination} ({report.rows - (report.added or 0)} were there already)"
        )
    else:
        note(f"wrote {report.rows} row(s) of {report.store} to {report.destination}")


@app.command("import")
def import_measurements(
    source: str = typer.Argument(
        ...,
        help="What to import: a file written by `measurements export` (.csv, .parquet) or "
        "another store (a .db path or a URL such as postgresql+psycopg://HOST/DB).",
        show_default=False,
    ),
    device: str | None = DeviceFilter,
    fingerprint: str | None = FingerprintFilter,
    space: str | None = SpaceFilter,
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Add to the store the measurements of an export or of another store that it does
    not hold yet (the same measurement twice is added once: importing again adds nothing)."""
    from hwnas.cli._progress import ProgressBars
    from hwnas.sharing import import_measurements as run_import

    try:
        with options(), ProgressBars() as progress:
            report = run_import(
                source,
                store_location(store_path),
                device=device,
                fingerprint=fingerprint,
                space=space,
                progress=progress,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(report.to_dict())
        return
    note(
        f"imported {report.added} new measurement(s) of {report.read} from {report.source} "
        f"into {report.store} ({report.already} were there already)"
    )
