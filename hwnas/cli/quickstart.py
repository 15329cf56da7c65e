"""`hwnas quickstart`: the main job end to end on the local CPU, with nothing to configure.

The work is :func:`hwnas.search.pipeline.quickstart` (profile a CNN, measure NB201 cells,
train a latency predictor, search under a budget, verify); this module renders it.
"""

from __future__ import annotations

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
    verify: int = typer.Option(3, "--verify", help="Pareto architectures to measure."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the search."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Profile a CNN, learn this CPU's NB201 latency, search under a budget, verify."""
    from hwnas.search.pipeline import quickstart as run_quickstart

    try:
        with options(store="--store"), _Stages() as bars:
            result = run_quickstart(
                max_seconds=max_seconds,
                sample=sample,
                verify=verify,
                seed=seed,
                store=store_path,
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
    over = [v for v in result.verified if v.within_budget is False]
    if over:
        warn_user(
            f"{len(over)} of {len(result.verified)} verified architecture(s) measured over the "
            f"budget of {result.budget_ms:.3g} ms: the predictor learnt from only "
            f"{result.sample} cells. Measure more (--sample 200), or search with a margin "
            f"below the budget"
        )
    note(
        f"{result.search.evaluated} architectures evaluated by the predictor, "
        f"{len(result.search.pareto)} on the Pareto front; measurements are in {result.store}. "
        f"Next: the README's devices section measures a Raspberry Pi the same way."
    )


def _verified_table(result: object) -> Table:
    from hwnas.search.pipeline import QuickstartResult

    assert isinstance(result, QuickstartResult)
    table = Table(
        title=f"NB201 under latency_ms <= {result.budget_ms:.3g} on this CPU: best found, verified",
        title_justify="left",
    )
    for col in ("arch", "CIFAR-10 %", "predicted ms", "measured ms", "error", "in budget"):
        table.add_column(col, overflow="fold", justify="left" if col == "arch" else "right")
    for v in result.verified:
        measured = v.measured_ms
        table.add_row(
            v.arch,
            f"{v.accuracy:.2f}",
            f"{v.predicted_ms:.4g}",
            "—" if measured is None else f"{measured:.4g}",
            "—" if measured is None else f"{100 * (v.predicted_ms - measured) / measured:+.1f}%",
            "—" if measured is None else ("yes" if v.within_budget else "no"),
        )
    return table
