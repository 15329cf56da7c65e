"""The `hwnas` command line (Typer + Rich). The CLI may import every layer."""

from __future__ import annotations

import atexit
import signal
import sys

import typer

from hwnas.cli import (
    devices_cmd,
    kernels_cmd,
    lut_cmd,
    measurements_cmd,
    memory_cmd,
    predictor_cmd,
    quantize_cmd,
    queue_cmd,
    report_cmd,
    search_cmd,
    spaces_cmd,
    worker_cmd,
)
from hwnas.cli._common import report_error
from hwnas.cli.profile_cmd import profile
from hwnas.cli.quickstart import quickstart
from hwnas.errors import HwnasError

app = typer.Typer(
    name="hwnas",
    help="Hardware-aware neural architecture search: measure ONNX models on real devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from hwnas import __version__

        print(f"hwnas {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_show_version,
        help="Print the version of hwnas and exit.",
    ),
) -> None:
    """Hardware-aware neural architecture search: measure ONNX models on real devices."""


app.command()(quickstart)
app.command()(profile)
app.add_typer(measurements_cmd.app, name="measurements")
app.add_typer(spaces_cmd.app, name="spaces")
app.add_typer(devices_cmd.app, name="devices")
app.add_typer(lut_cmd.app, name="lut")
app.add_typer(kernels_cmd.app, name="kernels")
app.add_typer(queue_cmd.app, name="queue")
app.command()(worker_cmd.worker)
app.command()(memory_cmd.memory)
app.command()(quantize_cmd.quantize)

app.add_typer(predictor_cmd.app, name="predictor")
app.command()(predictor_cmd.predict)
app.command()(search_cmd.search)
app.command()(report_cmd.report)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every ``HwnasError`` into a clean exit code."""
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=argv, prog_name="hwnas", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors, bad parameters (Typer's own Click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"Error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except HwnasError as exc:
        report_error(exc)
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


def _ignore_late_interrupts() -> None:
    """Ignore Ctrl-C for the rest of the interpreter's shutdown (the last exit handler:
    the result is printed and stored by then). A second Ctrl-C that lands while Python
    tears down would otherwise kill the process with SIGINT instead of its exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run() -> None:
    """The console entry point: :func:`main`'s code is the exit status."""
    atexit.register(_ignore_late_interrupts)  # runs after the handlers registered later
    sys.exit(main())
