"""`hwnas report DIR`: one self-contained report.html from what `hwnas search -o DIR` wrote.

DIR -> :func:`hwnas.search.report.write_report` -> the Pareto table on stdout (Rich) and
the page's path on stderr; the page itself is built in the library.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hwnas.cli._common import JsonOption, fail, note, options, out, print_json
from hwnas.cli._render import pareto_table
from hwnas.errors import HwnasError

if TYPE_CHECKING:
    pass


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
    title = (
        f"Pareto set of {result.space} ({len(result.pareto)} architectures, {result.strategy_used})"
    )
    out.print(pareto_table(result, title))
    if not result.pareto:
        note(result.reason or "no architecture met the budgets")
    note(f"wrote {page}")
