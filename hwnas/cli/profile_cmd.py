"""`hwnas profile`: measure ONNX models on a device and store the results.

The command parses options, calls ``hwnas.profiler.api`` (``profile``, ``profile_space``
or ``resume``) with Rich progress bars, and renders the result as a table or ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    err,
    executor_option,
    fail,
    jobs_option,
    note,
    options,
    out,
    parse_shapes,
    print_json,
    warn,
)
from hwnas.cli._progress import ProgressBars
from hwnas.cli._render import op_profile_table, results_table
from hwnas.errors import HwnasError, UsageError
from hwnas.events import Event, ProgressCallback

if TYPE_CHECKING:
    from hwnas.profiler.api import ProfileResult


def profile(
    ctx: typer.Context,
    models: list[Path] = typer.Argument(
        None, help="ONNX files to measure (or use --space).", show_default=False
    ),
    space_name: str | None = typer.Option(
        None, "--space", help="Profile sampled architectures of this search space."
    ),
    sample: int | None = typer.Option(
        None, "--sample", help="How many distinct architectures of --space to profile."
    ),
    repeats: int = typer.Option(
        1,
        "--repeats",
        help="With --space: measurements per architecture, each in its own "
        "process, pass by pass (on a shared machine, learn from the lowest).",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        "-d",
        help="Registered device name, or several separated by commas (default: local).",
    ),
    threads: int = typer.Option(1, "--threads", help="onnxruntime intra-op threads."),
    target_ci: float = typer.Option(
        0.01, "--target-ci", help="Stop when the 95% CI of the median is within this fraction."
    ),
    max_seconds: float = typer.Option(10.0, "--max-seconds", help="Time limit per model."),
    min_runs: int = typer.Option(20, "--min-runs", help="Timed runs before the CI is checked."),
    max_runs: int = typer.Option(100_000, "--max-runs", help="Upper bound on timed runs."),
    warmup: int = typer.Option(10, "--warmup", help="Untimed warm-up runs."),
    graph_opt: str = typer.Option("all", "--graph-opt", help="all | extended | basic | disable"),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for inputs with dynamic dimensions (repeatable)."
    ),
    op_profile: bool = typer.Option(False, "--op-profile", help="Add a per-op-type profile."),
    energy: str | None = typer.Option(
        None,
        "--energy",
        help="Energy per inference: rapl, power_supply, hwmon, auto or none "
        "(default: the device's setting, else none).",
    ),
    energy_seconds: float = typer.Option(
        2.0, "--energy-seconds", help="Back-to-back running time of the energy measurement."
    ),
    energy_idle_seconds: float = typer.Option(
        1.0, "--energy-idle-seconds", help="Idle time over which the meter's baseline is read."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the architecture sample (--space) and of the random inputs."
    ),
    exporter: str = typer.Option(
        "torchscript",
        "--exporter",
        help="torch exporter for --space: torchscript (about 6x faster), or dynamo.",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Finish the jobs an interrupted or disconnected run left (timing and energy "
        "options given with it replace the queued ones; `hwnas queue status` lists them).",
    ),
    reconnect_timeout: float = typer.Option(
        300.0,
        "--reconnect-timeout",
        help="How long to keep reconnecting to a lost device (s); 0: do not reconnect.",
    ),
    max_attempts: int = typer.Option(
        3,
        "--max-attempts",
        help="Tries per model when the connection drops while it runs; then the model "
        "fails (it may crash or reboot the device) and the batch goes on.",
    ),
    provider: str | None = typer.Option(
        None,
        "--provider",
        help="onnxruntime execution provider, NAME[:key=value,...] (xnnpack, nnapi, qnn, "
        "coreml, cuda, tensorrt, openvino or onnxruntime's name; default: the device's). "
        "Refused before measuring when the device's onnxruntime lacks it.",
    ),
    protocol: str = typer.Option(
        "adaptive",
        "--protocol",
        help="adaptive (until --target-ci or a budget) or mlperf (MLPerf Mobile's "
        "single-stream rule: at least 1,024 runs and 60 s; quote its p90).",
    ),
    cooldown_delta: float | None = typer.Option(
        None,
        "--cooldown-delta",
        help="Before each model, wait until the device is within this many °C of its idle "
        "temperature (read before the first model).",
    ),
    cooldown_timeout: float = typer.Option(
        120.0, "--cooldown-timeout", help="Longest cool-down wait (s); then measure and warn."
    ),
    precision: str = typer.Option(
        "fp32",
        "--precision",
        help="fp32 (each model as it is) or int8: quantized on this host first (cached), "
        "then measured; recorded with every measurement, never reused for the other.",
    ),
    quantize_mode: str = typer.Option(
        "static",
        "--quantize-mode",
        help="With --precision int8: static (QDQ, calibrated on 16 seeded random inputs: "
        "what NNAPI, QNN, XNNPACK take) or dynamic.",
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="Time this ONNX model (or `builtin`, a small CNN) after "
        "every timed run too; the per-pair ratio cancels slow phases of a shared machine "
        "(`predictor train --statistic ratio`).",
    ),
    jobs: int = jobs_option(
        "With --space or --resume: export in this many worker processes, ahead of "
        "the measurements (1: each just before it is measured)."
    ),
    executor: str | None = executor_option("With --space or --resume: export"),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Measure latency distribution and peak memory of ONNX models on devices.

    With --space SPACE --sample N, N distinct architectures of the space are exported to
    ONNX (cached) and measured; those already measured on the device under the same
    fingerprint with the same settings (all but --seed) are skipped. Every job is queued
    in the store before it runs: after Ctrl-C or a lost device, `hwnas profile --resume`
    finishes what is left. Several devices (--device pi,phone) are measured in parallel,
    one model at a time each.
    """
    models = list(models or [])
    try:
        with options(shapes="--shape"), ProgressBars() as bars:
            result = _call_api(
                models,
                space_name,
                sample,
                repeats,
                resume,
                dict(
                    device=device_names(device) or None,
                    store=store_path,
                    progress=_live(bars),
                    errors="collect",
                    reconnect_timeout=reconnect_timeout,
                    max_attempts=max_attempts,
                    jobs=jobs,
                    executor=executor,
                ),
                settings_of(locals()),
                given=_given(ctx),
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if resume and not result.devices:
        _nothing_to_resume(result, as_json=as_json)
        return
    _report(result, as_json=as_json)


#: The options of `profile` that only running jobs needs; `hwnas queue add` takes the others.
RUN_ONLY = ("resume", "reconnect_timeout", "max_attempts", "jobs", "executor")
#: The options of `profile` that are timing settings, as the API names them (by option).
SETTINGS = {
    "threads": "threads",
    "target_ci": "target_ci",
    "max_seconds": "max_seconds",
    "min_runs": "min_runs",
    "max_runs": "max_runs",
    "warmup": "warmup",
    "graph_opt": "graph_opt",
    "shape": "shapes",
    "op_profile": "op_profile",
    "energy": "energy",
    "energy_seconds": "energy_seconds",
    "energy_idle_seconds": "energy_idle_seconds",
    "reference": "reference",
    "provider": "provider",
    "protocol": "protocol",
    "cooldown_delta": "cooldown_delta",
    "cooldown_timeout": "cooldown_timeout",
    "precision": "precision",
    "quantize_mode": "quantize_mode",
    "seed": "seed",
    "exporter": "exporter",
}


def settings_of(values: dict[str, Any]) -> dict[str, Any]:
    """The settings among the values of `profile`'s options, named as the API names them
    (``--shape`` parsed; ``UsageError`` for a bad one)."""
    out = {SETTINGS[name]: values[name] for name in SETTINGS}
    out["shapes"] = parse_shapes(out["shapes"])
    return out


def _call_api(
    models: list[Path],
    space_name: str | None,
    sample: int | None,
    repeats: int,
    resume: bool,
    run: dict[str, Any],
    settings: dict[str, Any],
    given: set[str],
) -> ProfileResult:
    """Check how the options combine, then call the matching workflow of the API."""
    from hwnas.profiler import api

    space_only = {k: run.pop(k) for k in ("jobs", "executor")}
    ahead = space_only["jobs"] != 1 or space_only["executor"] is not None
    if space_name is None and not resume and ahead:
        raise UsageError(
            "--jobs and --executor export --space architectures (and those --resume finds "
            "queued); models given as files need no export: leave them out"
        )
    if resume:
        if models or space_name or sample is not None or repeats != 1:
            raise UsageError(
                "--resume finishes queued jobs; give no models, --space, "
                "--sample or --repeats with it"
            )
        # Only the settings given on the command line replace the queued ones.
        overrides = {k: v for k, v in settings.items() if k in given}
        return api.resume(**run, **space_only, **overrides)
    check_space_options(space_name, sample, models, repeats)
    run["device"] = run["device"] or "local"
    if space_name is None:
        settings.pop("exporter")
        return api.profile(models, **run, **settings)
    assert sample is not None
    return api.profile_space(
        space_name, sample=sample, repeats=repeats, **run, **space_only, **settings
    )


def _given(ctx: typer.Context) -> set[str]:
    """The settings given on the command line (not left at their defaults)."""
    names = {"shape": "shapes"}
    sources = {p.name: ctx.get_parameter_source(p.name) for p in ctx.command.params if p.name}
    return {
        names.get(name, name)
        for name, source in sources.items()
        if source is not None and source.name == "COMMANDLINE"
    }


def _live(bars: ProgressBars) -> ProgressCallback:
    """The bars, less the notes: those are printed after the results, with the summary."""

    def show(event: Event) -> None:
        if event.kind != "note":
            bars(event)

    return show


def device_names(device: str | None) -> list[str]:
    """The names of ``--device pi,phone`` (none when not given); ``UsageError`` for an
    empty or repeated name."""
    if device is None:
        return []
    names = [d.strip() for d in device.split(",")]
    if any(not n for n in names):
        raise UsageError(f"--device {device!r} has an empty name; write e.g. --device pi,phone")
    if len(set(names)) != len(names):
        raise UsageError(
            f"--device {device!r} names a device twice; each runs one job at a "
            f"time, so list it once"
        )
    return names


def check_space_options(
    space_name: str | None, sample: int | None, models: list[Path], repeats: int
) -> None:
    """Usage errors for options that do not go together (--space without --sample ...)."""
    if space_name is None:
        if sample is not None:
            raise UsageError("--sample needs --space SPACE (see `hwnas spaces list`)")
        if not models:
            raise UsageError(
                "nothing to profile: give ONNX files (hwnas profile model.onnx) or sample a "
                "search space (hwnas profile --space nb201 --sample 10)"
            )
    elif models:
        raise UsageError("give either ONNX files or --space, not both; run them as two commands")
    elif sample is None or sample < 1:
        raise UsageError(f"--space needs --sample N with N >= 1 (got {sample}); e.g. --sample 20")
    if repeats < 1 or (repeats > 1 and space_name is None):
        raise UsageError(
            f"--repeats must be >= 1 and needs --space (got {repeats}); "
            f"e.g. --space nb201 --sample 100 --repeats 2"
        )


def _nothing_to_resume(result: ProfileResult, *, as_json: bool) -> None:
    for text in result.notes:
        note(text)
    if as_json:
        print_json(result.to_dict())


def _report(result: ProfileResult, *, as_json: bool) -> None:
    """Render the result (table or JSON), then the summary on stderr; exit non-zero on
    failures (1) or an interrupt (130)."""
    if len(result.devices) == 1 and result.device_errors and not result:
        fail(next(iter(result.device_errors.values())), as_json=as_json)  # never worked
    if as_json:
        print_json(result.to_dict())
    elif result:
        out.print(results_table(list(result), devices=len(result.devices) > 1))
        for m in result:
            if m.op_profile:
                out.print(op_profile_table(m))
    for m in result:
        for w in m.warnings:
            warn(f"{m.arch.string if m.arch else m.model_name}: {w}")
    for model in result.not_queued:  # never queued, so no progress event showed them
        why = next(e["message"] for e in result.errors if e["model"] == model)
        err.print(f"[red]failed[/red] {escape(model)}: {escape(why)}", soft_wrap=True)
    for text in result.notes:
        note(text)
    _precision_note(result)
    for device, error in result.device_errors.items():
        err.print(f"[red]{device}:[/red] {error.message}", soft_wrap=True)
    for device, why in result.connection_lost.items():
        err.print(f"[red]{device}:[/red] {why}", soft_wrap=True)
    _summary(result)


def _precision_note(result: ProfileResult) -> None:
    """Say that what was measured is int8 copies, and where they are."""
    from hwnas.profiler.quantize import default_quantize_cache
    from hwnas.profiler.settings import precision_of

    precisions = sorted({precision_of(m.settings) for m in result} - {"fp32"})
    if precisions:
        note(
            f"measured at {', '.join(precisions)}: each model's int8 copy, quantized on this "
            f"host and cached in {default_quantize_cache()}"
        )


def _summary(result: ProfileResult) -> None:
    from hwnas.profiler.api import REUSED_BECAUSE

    if result.skipped:
        note(f"skipped {len(result.skipped)} architecture(s) {REUSED_BECAUSE}")
    if result:
        note(f"stored {len(result)} measurement(s) in {result.store}")
    if result.interrupted:
        note(
            f"interrupted: {len(result)} measured and stored, {result.left} left in the queue; "
            f"`hwnas profile --resume` finishes them."
        )
        raise typer.Exit(130)
    if result.errors or result.device_errors or result.connection_lost:
        raise typer.Exit(1)
