"""`hwnas search`: a search strategy under budgets, with predictors as cheap proxies.

Options -> :func:`hwnas.search.api.search` -> a Rich table or ``--json``; the search,
its scoring and the files written live in the API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from hwnas.cli._common import (
    JsonOption,
    err,
    executor_option,
    fail,
    jobs_option,
    note,
    options,
    out,
    print_json,
)
from hwnas.cli._progress import ProgressBars
from hwnas.cli._render import pareto_table
from hwnas.errors import HwnasError, UsageError

if TYPE_CHECKING:
    from hwnas.search.api import SearchResult

#: Python parameters of ``hwnas.search`` whose option is not ``--<name>``.
FLAGS = {
    "predictors": "--predictor",
    "budgets": "--budget",
    "path": "-o",
    "checkpoint": "-o",
}
#: Where in -o DIR the search keeps its checkpoint and the command its arguments.
CHECKPOINT = "checkpoint"
ARGUMENTS = "arguments.json"


def search(
    space_name: str | None = typer.Option(None, "--space", help="The search space."),
    predictor_dirs: list[Path] = typer.Option(
        [], "--predictor", help="A predictor directory (repeat: one per metric)."
    ),
    budget: list[str] = typer.Option(
        [], "--budget", help="A hard limit, e.g. latency_ms=15 (repeatable)."
    ),
    accuracy: str = typer.Option(
        "tabular:cifar10",
        "--accuracy",
        help="tabular[:cifar10|cifar100|imagenet16] (nb201), table:FILE[:COLUMN] (your "
        "CSV/Parquet table with arch and an accuracy column), proxy:naswot, or "
        "package.module:function.",
    ),
    jobs: int = jobs_option(
        "Worker processes that evaluate a package.module:function accuracy, in "
        "chunks (other accuracy sources ignore it)."
    ),
    executor: str | None = executor_option("Evaluate a package.module:function accuracy"),
    strategy: str = typer.Option(
        "nsga2",
        "--strategy",
        help="nsga2, random, regevo (regularized evolution), exhaustive (every distinct "
        "architecture of a small space) or auto (exhaustive where it fits, else nsga2).",
    ),
    population: int = typer.Option(50, "--population", help="Population (generation) size."),
    generations: int = typer.Option(30, "--generations", help="Generations."),
    evaluations: int | None = typer.Option(
        None,
        "--evaluations",
        help="Predictor queries (distinct architectures); default population x generations.",
    ),
    budget_quantile: float | None = typer.Option(
        None,
        "--budget-quantile",
        help="Apply budgets to this predicted quantile (e.g. 0.9), from the predictor's "
        "interval, instead of the point prediction.",
    ),
    verify: str | None = typer.Option(
        None,
        "--verify",
        help="A registered device to close the loop on: measure the candidates that "
        "matter there, retrain, search again; return only architectures measured within "
        "every budget. The predictors must be trained on this device's measurements.",
    ),
    rounds: int = typer.Option(3, "--rounds", help="With --verify: search-measure rounds."),
    verify_per_round: int = typer.Option(
        10, "--verify-per-round", help="With --verify: measurements per round at most."
    ),
    max_measurements: int = typer.Option(
        100, "--max-measurements", help="With --verify: device measurements in all at most."
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="With --verify: the measurement store (default: the one the predictors were "
        "trained from).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the search."),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Directory for the results; it holds the search's checkpoint too.",
    ),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help="Finish the interrupted search whose -o was this directory, with its own "
        "arguments (other options are ignored).",
    ),
    force: bool = typer.Option(False, "--force", help="Load predictors despite mismatches."),
    as_json: bool = JsonOption,
) -> None:
    """Search SPACE for the best accuracy within budgets; write the Pareto set to -o DIR."""
    from hwnas.search.api import search as run

    given = {
        "space": space_name,
        "predictors": [str(d.absolute()) for d in predictor_dirs],
        "budgets": budget,
        "accuracy": accuracy,
        "jobs": jobs,
        "executor": executor,
        "strategy": strategy,
        "population": population,
        "generations": generations,
        "evaluations": evaluations,
        "budget_quantile": budget_quantile,
        "seed": seed,
        "verify": verify,
        "rounds": rounds,
        "verify_per_round": verify_per_round,
        "max_measurements": max_measurements,
        "store": _absolute(store),
        "force": force,
    }
    try:
        output, arguments = _arguments(given, output, resume)
        try:
            with options(**FLAGS), ProgressBars() as bars:
                result = run(**arguments, checkpoint=output / CHECKPOINT, progress=bars)
                result.save(output)
        except KeyboardInterrupt:
            _keep_arguments(output / CHECKPOINT, arguments)
            raise
        _keep_arguments(output / CHECKPOINT, arguments)
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    except KeyboardInterrupt:
        if output is None:  # before the search began: nothing to resume
            raise typer.Exit(130) from None
        err.print(
            f"[yellow]interrupted[/yellow]: the search's checkpoint is in "
            f"{escape(str(output))}/{CHECKPOINT}; `hwnas search --resume "
            f"{escape(str(output))}` finishes it with the same result",
            soft_wrap=True,
        )
        raise typer.Exit(130) from None
    if as_json:
        print_json(result.to_dict())
    else:
        _show(result, output)
    if not result.pareto:
        err.print(f"[red]{result.reason or 'no architecture met the budgets'}[/red]")
        raise typer.Exit(1)


def _show(result: SearchResult, output: Path) -> None:
    """The Pareto set as a table on stdout; the hypervolumes and files written on stderr."""
    used = result.strategy_used
    ran = used if used == result.strategy else f"{result.strategy}: {used}"
    title = (
        f"Pareto set ({len(result.pareto)} architectures, {result.evaluated} evaluated by {ran})"
    )
    out.print(pareto_table(result, title))
    if result.verify is not None:
        before = result.verify["measured_before"]
        note(
            f"verified on {result.verify['device']}: {result.measurements} device "
            f"measurement(s) in {len(result.verify['per_round'])} round(s) besides the "
            f"{before} measured before; every architecture above was measured within budget"
            + (f" ({result.verify['stopped']})" if result.verify["stopped"] else "")
        )
        if result.verify.get("advice"):
            note(result.verify["advice"])
    note(
        f"hypervolume {result.hypervolume:.4g} (random search with as many predictor "
        f"queries: {result.random_search_hypervolume:.4g}); wrote "
        f"{output}/: pareto.csv, search.json, history.parquet, pareto.png, convergence.png "
        f"(`hwnas report {output}` makes report.html)"
    )


def _absolute(store: str | None) -> str | None:
    """A store path made absolute (a URL such as postgresql+psycopg://... kept)."""
    if store is None or "://" in store:
        return store
    return str(Path(store).absolute())


def _arguments(
    given: dict[str, Any], output: Path | None, resume: Path | None
) -> tuple[Path, dict[str, Any]]:
    """The directory and ``hwnas.search``'s arguments: with ``--resume DIR``, those DIR's
    search was started with; else the options given (:func:`_keep_arguments` saves them
    for a resume)."""
    if resume is not None:
        file = resume / CHECKPOINT / ARGUMENTS
        try:
            return resume, json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--resume {resume}: no search to resume there ({file}: {exc}); give the -o "
                f"directory of an interrupted `hwnas search`"
            ) from None
    needed = (("--space", given["space"]), ("--predictor", given["predictors"]), ("-o", output))
    missing = [flag for flag, value in needed if not value]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (or --resume DIR)")
    assert output is not None
    if output.exists() and not output.is_dir():
        raise UsageError(f"-o {output} exists and is not a directory")
    from hwnas.search.checkpoint import holds_unfinished_work

    folder = output / CHECKPOINT
    started = folder / ARGUMENTS
    if started.is_file() and holds_unfinished_work(folder):
        if json.loads(started.read_text()) != given:
            raise UsageError(
                f"-o {output} holds an interrupted search started with other arguments: "
                f"`hwnas search --resume {output}` finishes it; or give another -o, or "
                f"delete {folder} to drop it"
            )
    return output, given


def _keep_arguments(folder: Path, arguments: dict[str, Any]) -> None:
    """The arguments beside the search's checkpoint, for ``--resume``: after the search
    ended or was interrupted, where it made one (arguments it refused, or a checkpoint
    of another search it refused, leave nothing behind)."""
    from hwnas.search.checkpoint import IDENTITY

    if (folder / IDENTITY).is_file():
        (folder / ARGUMENTS).write_text(json.dumps(arguments, indent=1))
