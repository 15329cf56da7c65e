"""`hwnas memory`: a static estimate of models' memory from their ONNX graphs.

Calls :func:`hwnas.estimate_memory` (``hwnas.predictors.memory``) for each file and
prints weights, the largest set of live activations and their sum, with the node where
the live set peaks. No device is needed; `hwnas profile` measures the real peak.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hwnas.cli._common import JsonOption, fail, note, out, parse_shapes, print_json
from hwnas.errors import HwnasError


def memory(
    models: list[Path] = typer.Argument(..., help="ONNX files to estimate."),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for inputs with dynamic dimensions (repeatable)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Estimate models' memory from their ONNX graphs: weights + peak live activations."""
    from hwnas.predictors.memory import estimate_memory

    rows: list[dict[str, Any]] = []
    try:
        shapes = parse_shapes(shape)
        for model in models:
            rows.append({"model": str(model), **estimate_memory(model, shapes=shapes).to_dict()})
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"models": rows})
        return
    table = Table(title="static memory estimate (MiB)", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("model", "weights", "activations", "peak", "peaks at"):
        table.add_column(column, justify="left" if column in ("model", "peaks at") else "right")
    for r in rows:
        table.add_row(
            escape(r["model"]),
            f"{r['weights_mb']:.2f}",
            f"{r['activations_mb']:.2f}",
            f"{r['peak_mb']:.2f}",
            escape(r["peak_node"]),
        )
    out.print(table)
    unknown = sum(r["unknown_tensors"] for r in rows)
    if unknown:
        note(f"{unknown} tensor(s) had no known shape and count as empty: the estimate is low")
    note(
        "a lower bound of the runtime's peak: `hwnas profile` measures it (peak_memory_mb), "
        "with the allocator's arena and graph optimisation's copies"
    )
