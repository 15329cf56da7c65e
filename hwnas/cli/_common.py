"""What every command shares: consoles, JSON output, error reporting, the store."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from hwnas.config import store_location
from hwnas.errors import HwnasError, ParameterError, UsageError

# Results go to stdout; progress, notes and errors to stderr, so that
# `--json` output and shell pipes stay clean.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

StoreOption = typer.Option(
    None,
    "--store",
    help="Measurement store: a path (SQLite) or a SQLAlchemy URL. "
    "Default: $HWNAS_STORE or ./hwnas.db.",
    show_default=False,
)
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON document on stdout.")


def jobs_option(what: str) -> Any:
    """``--jobs``/``-j``: how many worker processes on this host do ``what`` says."""
    return typer.Option(1, "--jobs", "-j", help=what)


def _checked_executor(value: str | None) -> str | None:
    """An ``--executor`` that names none is refused while parsing, before anything runs."""
    from hwnas.executors import check_executor

    try:
        return check_executor(value)
    except ParameterError as exc:
        raise typer.BadParameter(exc.problem) from None


def executor_option(doing: str) -> Any:
    """``--executor``: ``doing`` (e.g. "Export") on a Dask cluster instead of local
    processes; a value that names no executor is a usage error (exit 2)."""
    return typer.Option(
        None,
        "--executor",
        help=f"{doing} on this Dask cluster (dask://HOST:PORT; pip install 'hwnas[dask]') "
        "instead of local processes ('local', the default).",
        callback=_checked_executor,
    )


def print_json(doc: Any) -> None:
    """Write one JSON document to stdout (never through Rich: no wrapping, no markup)."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def note(message: str) -> None:
    err.print(message, soft_wrap=True, markup=False)


def report_error(exc: HwnasError) -> None:
    """One paragraph on stderr, no traceback."""
    # The message is plain text: block keys like mbconv[kernel=3] must not be read as markup.
    err.print(f"[bold red]error:[/bold red] {escape(exc.message)}", soft_wrap=True, markup=True)


def fail(exc: HwnasError, *, as_json: bool = False) -> NoReturn:
    """Report ``exc`` (also as a JSON document on stdout with --json) and exit non-zero."""
    report_error(exc)
    if as_json:
        print_json({"errors": [exc.to_dict()]})
    raise typer.Exit(exc.exit_code)


@contextmanager
def options(**flags: str) -> Iterator[None]:
    """Speak of options, not parameters: a library ``ParameterError`` raised inside
    becomes the ``UsageError`` the CLI shows (``population must ...`` ->
    ``--population must ...``). ``flags`` maps parameter names whose option is not
    ``--<name-with-dashes>`` (``options(store="--store")``)."""
    try:
        yield
    except ParameterError as exc:
        raise exc.as_option(flags.get(exc.param)) from None


def parse_shapes(specs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """--shape NAME=1x3x224x224 (repeatable) as a dict; a malformed one is a usage error."""
    from hwnas.profiler.settings import parse_shape

    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs or []:
        try:
            name, dims = parse_shape(spec)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        shapes[name] = dims
    return shapes


def kernel_prediction(
    directory: Path, model: Path, shape: list[str]
) -> tuple[Any, float, list[dict[str, Any]]]:
    """(predictor, total ms, per-kernel rows) of ``model`` by the kernel predictor in
    ``directory`` (``hwnas kernels predict`` and ``hwnas predict --onnx``)."""
    from hwnas.onnx_model import check_model
    from hwnas.predictors.kernels import KernelPredictor

    shapes = parse_shapes(shape)
    predictor = KernelPredictor.load(directory)
    total, rows = predictor.predict_onnx(check_model(model).path, shapes=shapes)
    return predictor, total, rows


def open_store(location: str | None, *, create: bool = True) -> Any:
    """Open the store (created on first use unless ``create=False``: read-only commands
    never create one); errors are ``StoreError``."""
    from hwnas.store import Store

    return Store(store_location(location), create=create)


def missing_store(location: str | None) -> str | None:
    """The store's location if it is a SQLite file that does not exist (a read-only
    command then reports an empty store instead of creating one), else None."""
    where = store_location(location)
    if "://" in where or Path(where).exists():
        return None
    return where
