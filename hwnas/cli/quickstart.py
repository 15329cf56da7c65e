"""`hwnas quickstart`: the main job end to end on the local CPU, with nothing to configure.

The work is :func:`hwnas.search.pipeline.quickstart` (profile a CNN, measure NB201 cells,
train a latency predictor, search under a budget, verify); this module renders it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from hwnas.cli._common import JsonOption, StoreOption, err, fail, note, options, out, print_json
from hwnas.cli._common import warn as warn_user
from hwnas.cli._progress import ProgressBars
from hwnas.errors import HwnasError
from hwnas.events import Event


class _Stages(ProgressBars):
    """Progress bars, plus the pipeline's stage lines (``[2/5] profiling ...``)."""

    def _on_note(self, event: Event) -> None:
        if event.stage == "quickstart" and event.message:
            err.print(f"[{event.done}/{event.total}] {escape(event.message)}")
        else:
            super()._on_note(event)


def quickstart(
    max_seconds: float = typer.Option(2.0, "--max-seconds", help="Time limit per model."),
    sample: int = typer.Option(40, "--sample", help="NB201 cells to measure for training."),
    verify: int = typer.Option(
        4, "--verify", help="Candidates measured per verification round, at most."
    ),
    rounds: int = typer.Option(2, "--rounds", help="Verification rounds (search, measure)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the search."),
    output: Path = typer.Option(
        Path("hwnas-quickstart"),
        "--output",
        "-o",
        help="Directory for the predictor and the results (pareto.csv, search.json, plots).",
    ),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Profile a CNN, learn this CPU's NB201 latency, search under a budget verified here."""
    from hwnas.search.pipeline import quickstart as run_quickstart

    try:
        with options(store="--store", output="-o"), _Stages() as bars:
            result = run_quickstart(
                max_seconds=max_seconds,
                sample=sample,
                verify=verify,
                rounds=rounds,
                seed=seed,
                store=store_path,
                output=output,
                progress=bars,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if result.cnn.interrupted:
        note(
            "interrupted; what was measured is stored (`hwnas profile --resume` finishes the rest)"
        )
        raise typer.Exit(130)
    if as_json:
        print_json(result.to_dict())
        return
    _render(result)


def _render(result: object) -> None:
    from hwnas.cli._render import op_profile_table, results_table
    from hwnas.search.pipeline import QuickstartResult

    assert isinstance(result, QuickstartResult)
    out.print(results_table(list(result.cnn)))
    for m in result.cnn:
        if m.op_profile:
            out.print(op_profile_table(m))
    out.print(_verified_table(result))
    search = result.search
    if not result.verified:
        warn_user(search.reason or "no architecture was measured within the budget")
    note(
        f"{search.evaluated} architectures evaluated by the predictor; {result.sample} cells "
        f"measured to train it and {search.measurements} to verify the search: every "
        f"architecture above was measured on this CPU within {result.budget_ms:.3g} ms. "
        f"Measurements are in {result.store}."
    )
    if result.output:
        note(
            f"wrote {result.output}/: predictor/, pareto.csv, search.json, history.parquet, "
            f"report.html and plots. Next: "
            f"the README's devices section measures a Raspberry Pi the same way."
        )


def _verified_table(result: object) -> Table:
    from hwnas.search.pipeline import QuickstartResult

    assert isinstance(result, QuickstartResult)
    table = Table(
        title=f"NB201 under latency_ms <= {result.budget_ms:.3g} on this CPU: "
        f"the verified front (measured here)",
        title_justify="left",
    )
    columns = ("arch", "CIFAR-10 %", "predicted ms", "measured ms", "error", "measured in")
    for col in columns:
        table.add_column(col, overflow="fold", justify="left" if col == "arch" else "right")
    for v in result.verified:
        measured = v.measured_ms
        table.add_row(
            v.arch,
            f"{v.accuracy:.2f}",
            f"{v.predicted_ms:.4g}",
            "—" if measured is None else f"{measured:.4g}",
            "—" if measured is None else f"{100 * (v.predicted_ms - measured) / measured:+.1f}%",
            v.source,
        )
    return table
