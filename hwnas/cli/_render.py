"""Renderings shared by several commands (tables of measurements, op profiles, a
kernel-level prediction, a search's Pareto set), so that no command module imports
another."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from hwnas.cli._common import note, out, print_json
from hwnas.records import Measurement

if TYPE_CHECKING:
    from hwnas.search.api import SearchResult


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


def op_profile_table(m: Measurement) -> Table:
    """The op profile per op type, with the share of nodes and time each execution
    provider took and how the per-op times add up against the timed median."""
    profile = m.op_profile or {}
    caption = _op_profile_caption(profile)
    table = Table(title=f"Op profile of {m.model_name}", title_justify="left", caption=caption)
    for col in ("op type", "nodes", "ms / inference", "share"):
        table.add_column(col, justify="left" if col == "op type" else "right")
    ops = profile.get("ops", {})
    for name, row in sorted(ops.items(), key=lambda kv: -kv[1].get("ms_per_inference", 0)):
        table.add_row(
            name,
            str(row.get("count", "")),
            f"{row.get('ms_per_inference', 0):.4g}",
            f"{100 * row.get('share', 0):.1f}%",
        )
    return table


def _op_profile_caption(profile: Mapping[str, Any]) -> str | None:
    lines = [
        f"{name}: {100 * p['node_share']:.0f}% of nodes, {100 * p['time_share']:.0f}% of time"
        for name, p in (profile.get("providers") or {}).items()
    ]
    ratio = profile.get("sum_to_median")
    if ratio is not None:
        lines.append(
            f"the per-op times sum to {ratio:.2f}× the timed median: the profiling session "
            "reads the clock around every node and runs apart from the timed runs, so "
            "compare shares, not absolute times"
            if abs(ratio - 1.0) > 0.1
            else f"the per-op times sum to {ratio:.2f}× the timed median"
        )
    return "\n".join(lines) or None


def render_kernel_prediction(
    model: Path,
    predictor: Any,
    total: float,
    rows: list[dict[str, Any]],
    *,
    top: int,
    as_json: bool,
) -> None:
    """A kernel-level prediction as ``--json`` or as a per-kernel table (the ``top``
    slowest kernels; 0: all) with a summary line."""
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
    # With the in-network correction, each kernel's time alone is shown beside it.
    alone = getattr(predictor, "incontext_", None) is not None
    columns = ("#", "kind", "op", "output", "MMACs", "ms", *(("alone",) if alone else ()))
    for col in (*columns, "share"):
        table.add_column(col, justify="left" if col in ("kind", "op", "output") else "right")
    shown = sorted(rows, key=lambda r: -r["ms"])[:top] if top > 0 else rows
    for row in shown:
        table.add_row(
            str(row["index"]),
            row["kind"],
            row["op"],
            "x".join(map(str, row["output"])),
            f"{row['macs'] / 1e6:.3g}",
            f"{row['ms']:.4g}",
            *((f"{row.get('isolated_ms', row['ms']):.4g}",) if alone else ()),
            f"{100 * row['ms'] / total:.1f}%",
        )
    out.print(table)
    note(
        f"{len(rows)} kernels; per-model overhead {predictor.overhead_model_ms_:.4g} ms; "
        f"total {total:.4g} ms"
        + ("" if math.isfinite(total) else " (not finite!)")
        + ("; ms: each kernel's time inside the network, alone: timed alone" if alone else "")
    )


def pareto_table(result: SearchResult, title: str) -> Table:
    """A search's Pareto set: architecture, accuracy, each metric predicted, its budget
    quantile and measured value where there are any, and a mark on degenerate members."""
    upper = sorted({m for c in result.pareto for m in c.upper})
    measured = sorted({m for c in result.pareto for m in c.measured})
    flagged = set(result.degenerate)
    table = Table(title=title, title_justify="left")
    table.add_column("arch", overflow="fold")
    table.add_column("accuracy", justify="right")
    for m in result.metrics:
        table.add_column(f"{m} (predicted)", justify="right")
    for m in upper:
        table.add_column(f"{m} (q{result.budget_quantile:g})", justify="right")
    for m in measured:
        table.add_column(f"{m} (measured)", justify="right")
    if flagged:
        table.add_column("degenerate")
    for c in result.pareto:
        values = [c.metrics[m] for m in result.metrics]
        values += [c.upper.get(m, math.nan) for m in upper]
        values += [c.measured.get(m, math.nan) for m in measured]
        cells = [c.arch, f"{c.accuracy:.4g}", *(f"{v:.4g}" for v in values)]
        if flagged:
            cells.append("yes" if c.arch in flagged else "")
        table.add_row(*cells)
    return table
