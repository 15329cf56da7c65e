"""`hwnas search`: NSGA-II under budgets, with predictors as cheap proxies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hwnas.cli._common import JsonOption, err, fail, note, out, print_json
from hwnas.errors import HwnasError, UsageError

if TYPE_CHECKING:
    from hwnas.search.nsga import Candidate, SearchResult


def search(
    space_name: str = typer.Option(..., "--space", help="The search space."),
    predictor_dirs: list[Path] = typer.Option(
        ..., "--predictor", help="A predictor directory (repeat: one per metric)."
    ),
    budget: list[str] = typer.Option(
        [], "--budget", help="A hard limit, e.g. latency_ms=15 (repeatable)."
    ),
    accuracy: str = typer.Option(
        "tabular:cifar10",
        "--accuracy",
        help="tabular[:cifar10|cifar100|imagenet16] (nb201), proxy:naswot, or "
        "package.module:function.",
    ),
    population: int = typer.Option(50, "--population", help="NSGA-II population size."),
    generations: int = typer.Option(30, "--generations", help="NSGA-II generations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the search."),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for the results."),
    force: bool = typer.Option(False, "--force", help="Load predictors despite mismatches."),
    as_json: bool = JsonOption,
) -> None:
    """Search SPACE for the best accuracy within budgets; write the Pareto set to -o DIR."""
    from hwnas.predictors import load_predictor
    from hwnas.search.accuracy import accuracy_source
    from hwnas.search.nsga import hypervolume, parse_budget, run_search
    from hwnas.spaces import get_space

    try:
        budgets = dict(parse_budget(b) for b in budget)
        space = get_space(space_name)
        predictors = {}
        for directory in predictor_dirs:
            p = load_predictor(directory, space=space, force=force)
            if p.metric in predictors:
                raise UsageError(
                    f"two predictors of {p.metric} given ({directory}); give one per metric"
                )
            predictors[p.metric] = p
        source = accuracy_source(accuracy, space, seed=seed)
        if output.exists() and not output.is_dir():
            raise UsageError(f"-o {output} exists and is not a directory")
        output.mkdir(parents=True, exist_ok=True)
        progress = Progress(
            TextColumn("searching"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        task = progress.add_task("gen", total=generations)
        with progress:
            result = run_search(
                space,
                source,
                predictors,
                budgets=budgets,
                population=population,
                generations=generations,
                seed=seed,
                on_generation=lambda g, _n: progress.update(task, completed=g),
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    metrics = sorted(predictors)
    everything = [*result.pareto, *result.baseline]
    ref = _reference(everything, metrics)
    summary: dict[str, Any] = {
        "space": space.name,
        "accuracy": source.name,
        "budgets": budgets,
        "metrics": metrics,
        "population": population,
        "generations": generations,
        "seed": seed,
        "evaluated": result.evaluated,
        "seconds": round(result.seconds, 3),
        "hypervolume": hypervolume(result.pareto, metrics, ref),
        "random_search_hypervolume": hypervolume(result.baseline, metrics, ref),
        "hypervolume_reference": ref.tolist(),
        "pareto": [{"arch": c.arch, "accuracy": c.accuracy, **c.metrics} for c in result.pareto],
        "history": result.history,
    }
    _write(output, summary, result, metrics)
    if as_json:
        print_json(summary)
    else:
        table = Table(
            title=f"Pareto set ({len(result.pareto)} architectures, {result.evaluated} evaluated)",
            title_justify="left",
        )
        table.add_column("arch", overflow="fold")
        table.add_column("accuracy", justify="right")
        for m in metrics:
            table.add_column(f"{m} (predicted)", justify="right")
        for c in result.pareto:
            table.add_row(c.arch, f"{c.accuracy:.4g}", *(f"{c.metrics[m]:.4g}" for m in metrics))
        out.print(table)
        note(
            f"hypervolume {summary['hypervolume']:.4g} (random search with as many "
            f"evaluations: {summary['random_search_hypervolume']:.4g}); wrote "
            f"{output}/pareto.csv, search.json and pareto.png"
        )
    if not result.pareto:
        err.print(
            "[red]no architecture met the budgets[/red]; loosen --budget or check the "
            "predictors' units"
        )
        raise typer.Exit(1)


def _reference(cands: Sequence[Candidate], metrics: list[str]) -> np.ndarray:
    """A reference point just worse than every candidate, for comparable hypervolumes."""
    if not cands:
        return np.ones(1 + len(metrics))
    objs = np.array([[-c.accuracy, *(c.metrics[m] for m in metrics)] for c in cands])
    worst = objs.max(axis=0)
    return worst + 0.05 * np.abs(worst) + 1e-9


def _write(output: Path, summary: dict[str, Any], result: SearchResult, metrics: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = pd.DataFrame(summary["pareto"], columns=["arch", "accuracy", *metrics])
    frame.to_csv(output / "pareto.csv", index=False)
    (output / "search.json").write_text(json.dumps(summary, indent=1))
    fig, ax = plt.subplots(figsize=(6, 4))
    x = metrics[0] if metrics else None
    if x:
        for cands, label, style in (
            (result.baseline, "random search", "x"),
            (result.pareto, "NSGA-II Pareto set", "o"),
        ):
            ax.plot([c.metrics[x] for c in cands], [c.accuracy for c in cands], style, label=label)
        for name, bound in summary["budgets"].items():
            if name == x:
                ax.axvline(bound, color="red", linestyle="--", label=f"budget {bound:g}")
        ax.set_xlabel(f"{x} (predicted)")
    ax.set_ylabel("accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(output / "pareto.png", dpi=100)
    plt.close(fig)
