"""`hwnas report DIR`: one self-contained report.html from what `hwnas search -o DIR` wrote.

DIR -> :func:`hwnas.search.report.write_report` -> the Pareto table on stdout (Rich) and
the page's path on stderr; the page itself is built in the library.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from hwnas.cli._common import JsonOption, fail, note, options, out, print_json
from hwnas.errors import HwnasError

if TYPE_CHECKING:
    from hwnas.search.api import SearchResult


def report(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="A directory written by `hwnas search -o DIR`."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Write DIR/report.html (plots embedded, no network needed) and print the Pareto set."""
    from hwnas.search.api import SearchResult
    from hwnas.search.report import write_report

    try:
        with options(path="DIR"):
            page = write_report(directory)
            result = SearchResult.load(directory)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json({"report": str(page), "pareto": result.to_dict()["pareto"]})
        return
    out.print(pareto_table(result))
    if not result.pareto:
        note(result.reason or "no architecture met the budgets")
    note(f"wrote {page}")


def pareto_table(result: SearchResult) -> Table:
    """The Pareto set: architecture, accuracy, predicted (quantile, measured) values, and
    a mark on degenerate members."""
    measured = sorted({m for c in result.pareto for m in c.measured})
    flagged = set(result.degenerate)
    table = Table(
        title=f"Pareto set of {result.space} ({len(result.pareto)} architectures, "
        f"{result.strategy_used})",
        title_justify="left",
    )
    table.add_column("arch", overflow="fold")
    table.add_column("accuracy", justify="right")
    for m in result.metrics:
        table.add_column(f"{m} (predicted)", justify="right")
    for m in measured:
        table.add_column(f"{m} (measured)", justify="right")
    if flagged:
        table.add_column("degenerate")
    for c in result.pareto:
        values = [c.metrics[m] for m in result.metrics]
        values += [c.measured.get(m, math.nan) for m in measured]
        cells = [c.arch, f"{c.accuracy:.4g}", *(f"{v:.4g}" for v in values)]
        if flagged:
            cells.append("yes" if c.arch in flagged else "")
        table.add_row(*cells)
    return table
