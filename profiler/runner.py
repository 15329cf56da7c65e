"""On-device latency and memory runner for one ONNX model.

This file is copied to the target device (phone, Raspberry Pi, laptop) and run
there as a standalone script::

    python3 runner.py MODEL.onnx [--shape NAME=1x3x224x224 ...] [--threads N] ...

It imports only the Python standard library, numpy and onnxruntime, and runs on
Python 3.8 or newer. One runner process measures one model, so the process is
fresh and its peak resident memory belongs to that model.

A batch runs ``python3 runner.py --serve`` instead: one process that imports and sets
up onnxruntime once, reads one request a line on stdin, ``{"argv": ["MODEL.onnx",
options...]}`` (the command line above), and answers each with the document below,
measured by the same code in a child forked for the model (which dies with it: nothing of
one model reaches the next). The serving process creates no session, so each child
starts from the state of a fresh process after its imports; it maps again the code its
parent had mapped and resets its peak (``/proc/self/clear_refs``, after giving freed
memory back with glibc's ``malloc_trim``), so that ``peak_over_baseline_mb`` means what a
fresh process reads (:class:`ReusedProcess`). Where the peak cannot be reset (no
``clear_refs``, not glibc, no fork) it answers ``{"ok": false, "error": {"kind":
"fresh_process", ...}}`` and exits: the host then runs one process per model, as
without ``--serve``. It also exits after an interrupt.

Output contract: exactly one JSON document on stdout, on one line between two marker
lines, and nothing else from the runner there (what native code prints goes to stderr)::

    @@hwnas-result-begin@@
    {"ok": true, "runner_version": 1, ...}
    @@hwnas-result-end@@

The host reads only what is between the markers, so text that the device's shell prints
to the same stdout (a login banner or ``conda activate`` chatter from a start-up file,
before; a logout message, after) does not spoil the result.

* success: ``{"ok": true, "runner_version": 1, "latency_ms": {...}, ...}``, exit 0;
* failure: ``{"ok": false, "runner_version": 1, "error": {"kind": K, "message": M}}``
  with exit 2 for the kinds a user can fix (``model_not_found``,
  ``invalid_model``, ``model_load``, ``shape``, ``usage``) and exit 1 for
  ``runner`` (an unexpected failure of this script).

Timing protocol (after pyperf): warmup runs are kept apart from the samples;
then runs repeat until the 95% confidence interval of the median is narrow
enough (``--target-ci``), or a time or run budget is spent. Every run calls
``run_with_iobinding`` on inputs bound once, without a ``RunOptions`` object
(one costs about 25 us per call), and is timed with ``time.perf_counter_ns``.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, NoReturn

#: When this script started running (after the interpreter's own start-up): the host
#: tells process start-up from the runner's work with it (``phases_s``).
_SCRIPT_STARTED = time.perf_counter()

# numpy and onnxruntime are imported here (not lazily) so the memory baseline,
# read in main(), already includes them. A device without them still gets a
# JSON error document instead of a traceback.
_MISSING_DEPENDENCY: str | None = None
try:
    import numpy as np
    import onnxruntime as ort
except ImportError as _import_error:  # pragma: no cover - depends on the device
    _MISSING_DEPENDENCY = str(_import_error)
#: Seconds the two imports took.
_IMPORTS_S = time.perf_counter() - _SCRIPT_STARTED

RUNNER_VERSION = 1

#: The lines around the JSON document on stdout (see "Output contract"); the host's
#: copies are in hwnas.profiler.runner_output, as this file imports nothing from hwnas.
RESULT_BEGIN = "@@hwnas-result-begin@@"
RESULT_END = "@@hwnas-result-end@@"

#: Error kinds a user can fix (exit 2); anything else is kind "runner" (exit 1).
USER_ERROR_KINDS = (
    "model_not_found",
    "invalid_model",
    "model_load",
    "shape",
    "usage",
    "energy",
    "reference",
)
ENERGY_BACKENDS = ("none", "auto", "rapl", "power_supply", "hwmon", "pmic")
#: ``--energy command:CMD``: a meter command of the user's (see CommandEnergyMeter).
ENERGY_COMMAND_PREFIX = "command:"

GRAPH_OPT_LEVELS = ("all", "extended", "basic", "disable")

#: ONNX element type -> numpy dtype name of the random inputs the runner makes.
FLOAT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
}
INT_TYPES = {
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
}
BOOL_TYPES = {"tensor(bool)": "bool"}

#: Thresholds of diagnose(): beyond them a measurement deserves a warning.
MAX_CV = 0.05
MAX_TEMPERATURE_RISE_C = 5.0
#: A clock this much lower at the end of the timed runs than at their start: throttling.
MAX_FREQUENCY_DROP = 0.05
#: The last third of the runs this much slower (median) than the first, the middle third
#: between them: a slowdown trend (throttling or growing contention), judged from at
#: least TREND_MIN_RUNS runs.
MAX_SLOWDOWN = 0.10
TREND_MIN_RUNS = 30

#: The warm-up ends before --warmup runs once it has taken this share of --max-seconds
#: (after WARMUP_MIN_RUNS runs at least, besides the untimed run that loads the model):
#: on the machines measured here a model's runs settle after one or two (README, "One
#: runner process per batch"), and a 30 ms model timed for 0.4 s warmed up as long as
#: it was timed.
WARMUP_SHARE = 0.1
WARMUP_MIN_RUNS = 2

#: MLPerf Mobile's single-stream rule: at least this many queries and this long; p90.
MLPERF_MIN_QUERIES = 1024
MLPERF_MIN_SECONDS = 60.0
PROTOCOLS = ("adaptive", "mlperf")
#: How often the temperature is read while waiting for the device to cool down (s).
COOLDOWN_POLL_S = 1.0

MIB = 1024 * 1024


# --------------------------------------------------------------------------- errors


class RunnerError(Exception):
    """A failure reported as the JSON error document: a kind and a one-paragraph message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = " ".join(message.split())  # one paragraph, whatever the source text

    @property
    def exit_code(self) -> int:
        """2 for errors the user can fix, 1 for unexpected runner failures."""
        return 2 if self.kind in USER_ERROR_KINDS else 1


def error_document(kind: str, message: str) -> dict[str, Any]:
    """The failure document printed on stdout."""
    return {
        "ok": False,
        "runner_version": RUNNER_VERSION,
        "error": {"kind": kind, "message": " ".join(message.split())},
    }


# --------------------------------------------------------------------------- command line


class _JsonArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become RunnerError("usage") instead of usage text."""

    def error(self, message: str) -> NoReturn:
        raise RunnerError("usage", f"{message}; run `python3 runner.py --help` for the options")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def energy_backend(text: str) -> str:
    """An ``--energy`` value: one of ENERGY_BACKENDS, or ``command:CMD`` whose CMD splits
    into shell words (it is run as that argument list, never through a shell)."""
    if text in ENERGY_BACKENDS:
        return text
    if text.startswith(ENERGY_COMMAND_PREFIX):
        try:
            words = shlex.split(text[len(ENERGY_COMMAND_PREFIX) :])
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the command does not parse ({exc})"
            ) from None
        if words:
            return text
        raise argparse.ArgumentTypeError(
            f'{text!r} names no command; write command:"CMD ARGS", e.g. command:"usbmeter --read"'
        )
    raise argparse.ArgumentTypeError(
        f'invalid choice {text!r} (choose from {", ".join(ENERGY_BACKENDS)}, or command:"CMD ARGS")'
    )


def _add_energy_options(add: Callable[..., Any]) -> None:
    """--energy and how long its idle and active phases last."""
    add(
        "--energy",
        type=energy_backend,
        default="none",
        metavar="BACKEND",
        help="measure energy per inference after timing: rapl, power_supply, hwmon, pmic "
        '(Raspberry Pi 5), command:"CMD ARGS" (a meter command printing joules or watts), '
        "auto (the first of rapl, power_supply, hwmon, pmic that works) or none (default)",
    )
    add(
        "--energy-seconds",
        type=_positive_float,
        default=2.0,
        help="how long to run back to back while measuring energy (default 2)",
    )
    add(
        "--energy-idle-seconds",
        type=_positive_float,
        default=1.0,
        help="idle baseline before the energy run (default 1)",
    )


def _add_mode_options(add: Callable[..., Any]) -> None:
    """--check and --fingerprint-only: report on the device instead of timing a model."""
    add(
        "--check",
        action="store_true",
        help="report what this device has (Python, numpy, onnxruntime, CPU, energy meters, "
        "disk) and exit; works without numpy and onnxruntime",
    )
    add("--workdir", default=None, help="directory whose free space --check reports")
    add(
        "--fingerprint-only",
        action="store_true",
        help="print only this device's fingerprint for the given settings (no model)",
    )


def _add_input_options(add: Callable[..., Any]) -> None:
    """The full shapes of dynamic inputs, and the threads the model runs on."""
    add(
        "--shape",
        action="append",
        default=[],
        metavar="NAME=1x3x224x224",
        help="full shape of an input with dynamic dimensions (repeatable)",
    )
    add("--threads", type=_positive_int, default=1, help="intra-op threads (default 1)")


def _add_timing_options(add: Callable[..., Any]) -> None:
    """When the timed runs stop (--target-ci, budgets) and the warmup before them."""
    add(
        "--target-ci",
        type=_positive_float,
        default=0.01,
        help="stop when the 95%% CI of the median is within this fraction of it (default 0.01)",
    )
    add(
        "--max-seconds",
        type=_positive_float,
        default=10.0,
        help="time budget of the timed runs, warmup excluded (default 10)",
    )
    add("--min-runs", type=_positive_int, default=20, help="timed runs at least (default 20)")
    add("--max-runs", type=_positive_int, default=100000, help="timed runs at most")
    add("--warmup", type=_non_negative_int, default=10, help="warmup runs (default 10)")
    add(
        "--protocol",
        choices=PROTOCOLS,
        default="adaptive",
        help="adaptive: until --target-ci or a budget; mlperf: MLPerf Mobile's single-stream "
        "rule, at least 1,024 runs and 60 s, p90 reported",
    )
    add(
        "--cooldown-delta",
        type=_non_negative_float,
        default=None,
        help="before warming up, wait until the temperature is within this many °C of "
        "--idle-baseline-c",
    )
    add("--cooldown-timeout", type=_positive_float, default=120.0, help="longest wait (s)")
    add("--idle-baseline-c", type=float, default=None, help="the device's idle temperature")
    add(
        "--warmup-seconds",
        type=_non_negative_float,
        default=0.0,
        help="keep warming up at least this long (default 0)",
    )
    add(
        "--warmup-share",
        type=_non_negative_float,
        default=WARMUP_SHARE,
        help="end the warm-up before --warmup runs once it has taken this share of "
        f"--max-seconds, after {WARMUP_MIN_RUNS} runs at least (default {WARMUP_SHARE}; "
        "--warmup-seconds still holds)",
    )


def _add_session_options(add: Callable[..., Any]) -> None:
    """How the onnxruntime session is made and what else is measured beside the latency."""
    add(
        "--graph-opt",
        choices=GRAPH_OPT_LEVELS,
        default="all",
        help="onnxruntime graph optimization level (default all)",
    )
    add(
        "--op-profile",
        action="store_true",
        help="after timing, profile a second session and report time per operator type",
    )
    add("--op-profile-runs", type=_positive_int, default=20, help="runs of the op profile")
    add("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    add("--sys-root", default="/", help="where /proc and /sys are (default /; for tests)")
    add("--provider", default="CPUExecutionProvider", help="onnxruntime execution provider")
    add(
        "--provider-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of --provider (repeatable), e.g. intra_op_num_threads=2",
    )
    add(
        "--reference",
        default=None,
        metavar="REFERENCE.onnx",
        help="a second model (fixed shapes) timed right after every timed run of MODEL; the "
        "median of the per-pair ratios MODEL/REFERENCE is reported and its CI is what "
        "--target-ci bounds (the ratio cancels slow phases of a shared machine)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The runner's argument parser; its errors raise RunnerError("usage")."""
    parser = _JsonArgumentParser(
        prog="runner.py",
        description="Measure the latency and peak memory of one ONNX model with onnxruntime "
        "and print one JSON document on stdout.",
    )
    add = parser.add_argument
    add("model", metavar="MODEL", nargs="?", help="path to the .onnx file")
    # Grouped by what they control; the order of the calls is the order of --help.
    _add_energy_options(add)
    _add_mode_options(add)
    _add_input_options(add)
    _add_timing_options(add)
    _add_session_options(add)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and cross-check the command line; raises RunnerError("usage")."""
    args = build_parser().parse_args(list(argv))
    if args.model is None and not (args.fingerprint_only or args.check):
        raise RunnerError(
            "usage",
            "the model path is missing; pass MODEL.onnx "
            "(or --fingerprint-only to read the device's fingerprint)",
        )
    if args.max_runs < args.min_runs:
        raise RunnerError(
            "usage",
            f"--max-runs {args.max_runs} is below --min-runs {args.min_runs}; "
            "raise --max-runs or lower --min-runs",
        )
    args.provider = provider_spec(args.provider, args.provider_option)
    return args


# --------------------------------------------------------------------------- statistics


def median_ci(sorted_values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median, from order statistics.

    For n sorted values x_1..x_n (1-based) the bounds are x_j and x_k with
    j = floor(n/2 - z*sqrt(n)/2) and k = ceil(1 + n/2 + z*sqrt(n)/2), both
    clipped to [1, n], where z is the normal quantile of the confidence
    (1.96 for 95%). This is the normal approximation of the binomial
    distribution of the number of values below the median, so it holds
    whatever the distribution of the latencies (which is skewed, not normal).
    """
    n = len(sorted_values)
    if n == 0:
        raise ValueError("median_ci needs at least one value, got none")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    z = statistics.NormalDist().inv_cdf((1 + confidence) / 2)
    spread = z * math.sqrt(n) / 2
    j = min(max(math.floor(n / 2 - spread), 1), n)
    k = min(max(math.ceil(1 + n / 2 + spread), 1), n)
    return float(sorted_values[j - 1]), float(sorted_values[k - 1])


def relative_half_width(median: float, ci_low: float, ci_high: float) -> float:
    """The conservative relative half-width max(median - lo, hi - median) / median.

    Latency distributions are skewed, so the interval is not symmetric; taking
    the wider side never overstates precision. A zero median with a zero-width
    interval gives 0; a zero median with any spread gives infinity.
    """
    half = max(median - ci_low, ci_high - median)
    if median <= 0:
        return 0.0 if half <= 0 else math.inf
    return half / median


def _sorted_median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    mid = n // 2
    if n % 2:
        return float(sorted_values[mid])
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def ci_half_width_of(sorted_values: Sequence[float], confidence: float = 0.95) -> float:
    """Relative half-width of the median's CI for already sorted values."""
    lo, hi = median_ci(sorted_values, confidence)
    return relative_half_width(_sorted_median(sorted_values), lo, hi)


def summarize(samples_ms: Sequence[float]) -> dict[str, Any]:
    """The latency_ms document: n, median, mean, std, p10, p90, p99, ci_low, ci_high.

    Percentiles use numpy's default linear interpolation; std is the sample
    standard deviation (ddof=1), 0 for a single sample; ci_low/ci_high is the
    95% confidence interval of the median from median_ci().
    """
    if len(samples_ms) == 0:
        raise ValueError("summarize needs at least one sample, got none")
    values = np.asarray(samples_ms, dtype=np.float64)
    p10, p90, p99 = (float(p) for p in np.percentile(values, [10, 90, 99]))
    ci_low, ci_high = median_ci(np.sort(values).tolist())
    return {
        "n": int(values.size),
        "median": float(np.median(values)),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "p10": p10,
        "p90": p90,
        "p99": p99,
        "ci_low": ci_low,
        "ci_high": ci_high,
    }


# --------------------------------------------------------------------------- timing


def warmup_runs(
    run_once: Callable[[], object],
    clock: Callable[[], int],
    *,
    runs: int,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> list[int]:
    """Run `runs` times, and at least `min_seconds` long; return each run's ns.

    ``max_seconds``: stop before `runs` once the warm-up has lasted that long, after
    ``WARMUP_MIN_RUNS`` runs at least (`min_seconds` still holds): a slow model does not
    spend as long warming up as being timed. These values are reported as warmup_ms and
    never mixed into the samples.
    """
    durations: list[int] = []
    start = clock()
    deadline = start + int(min_seconds * 1e9)
    cap = None if max_seconds is None else start + int(max_seconds * 1e9)
    enough = min(runs, WARMUP_MIN_RUNS)
    now = start
    while now < deadline or (
        len(durations) < runs and (cap is None or now < cap or len(durations) < enough)
    ):
        t0 = clock()
        run_once()
        now = clock()
        durations.append(now - t0)
    return durations


def adaptive_repeats(
    run_once: Callable[[], object],
    clock: Callable[[], int],
    *,
    target_ci: float,
    max_seconds: float,
    min_runs: int,
    max_runs: int,
    reference: Callable[[], object] | None = None,
    reference_samples: list[int] | None = None,
) -> tuple[list[int], str]:
    """Time `run_once` until the median is precise enough or a budget is spent.

    With `reference`, every timed run is followed by a timed run of `reference`
    (appended to `reference_samples`, in ns), and the precision checked is that of the
    median of the per-pair ratios run/reference.

    Returns the per-run durations in ns (of `clock`, which returns ns) and the
    stop reason:

    * "target_ci": at least `min_runs` runs and the 95% CI of the median has a
      relative half-width (see relative_half_width) of at most `target_ci`;
    * "max_seconds": the timed runs took `max_seconds` (checked after every run,
      from the clock readings the timing takes anyway, even before `min_runs`);
    * "max_runs": `max_runs` runs were made.

    When a budget ends the loop, the CI is checked one last time, so
    "target_ci" is reported whenever the target was met. The CI is otherwise
    checked only at n = min_runs and then every max(min_runs, n // 10) runs:
    sorting the samples after every run would cost O(n^2 log n) in total.
    """
    if min_runs < 1 or max_runs < 1:
        raise ValueError(f"min_runs and max_runs must be >= 1, got {min_runs} and {max_runs}")
    if (reference is None) != (reference_samples is None):
        raise ValueError("reference and reference_samples go together")
    samples: list[int] = []
    budget_ns = int(max_seconds * 1e9)
    next_check = min_runs
    start = clock()
    while True:
        t0 = clock()
        run_once()
        t1 = clock()
        samples.append(t1 - t0)
        if reference is not None and reference_samples is not None:
            reference()
            t2 = clock()
            reference_samples.append(t2 - t1)
            t1 = t2
        n = len(samples)
        budget_spent = None
        if n >= max_runs:
            budget_spent = "max_runs"
        elif t1 - start >= budget_ns:
            budget_spent = "max_seconds"
        if budget_spent is not None or n >= next_check:
            checked = (
                samples if reference_samples is None else pair_ratios(samples, reference_samples)
            )
            if n >= min_runs and ci_half_width_of(sorted(checked)) <= target_ci:
                return samples, "target_ci"
            if budget_spent is not None:
                return samples, budget_spent
            next_check = n + max(min_runs, n // 10)


def fixed_protocol_runs(
    run_once: Callable[[], object],
    clock: Callable[[], int],
    *,
    min_runs: int,
    min_seconds: float,
    reference: Callable[[], object] | None = None,
    reference_samples: list[int] | None = None,
) -> tuple[list[int], str]:
    """Time `run_once` until at least `min_runs` runs *and* `min_seconds` of timed runs
    (MLPerf Mobile's single-stream rule: 1,024 queries and 60 s), with no precision
    target. Returns the per-run ns and the stop reason ``"mlperf"``."""
    if (reference is None) != (reference_samples is None):
        raise ValueError("reference and reference_samples go together")
    samples: list[int] = []
    budget_ns = int(min_seconds * 1e9)
    start = clock()
    now = start
    while len(samples) < min_runs or now - start < budget_ns:
        t0 = clock()
        run_once()
        now = clock()
        samples.append(now - t0)
        if reference is not None and reference_samples is not None:
            reference()
            t2 = clock()
            reference_samples.append(t2 - now)
            now = t2
    return samples, "mlperf"


def slowdown(samples: Sequence[float]) -> float | None:
    """How much slower the runs got: the median of the last third of the runs over the
    median of the first third, minus 1 (0.08: 8% slower by the end), when the middle
    third lies between them (a trend, not one slow phase); 0.0 without such a trend, and
    None for fewer than TREND_MIN_RUNS runs."""
    if len(samples) < TREND_MIN_RUNS:
        return None
    third = len(samples) // 3
    first, middle, last = (
        _sorted_median(sorted(part))
        for part in (samples[:third], samples[third:-third], samples[-third:])
    )
    if first <= 0 or not first <= middle <= last:
        return 0.0
    return last / first - 1.0


def wait_for_cooldown(
    read_c: Callable[[], float | None],
    baseline_c: float | None,
    delta_c: float,
    timeout_s: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Wait until the temperature is within `delta_c` of the idle `baseline_c`, or
    `timeout_s` passed. What happened, for the measurement's environment: the seconds
    waited, the temperatures at the start and end of the wait, and ``timed_out``;
    ``skipped`` says why nothing was waited for (no baseline, no thermal sensor)."""
    first = read_c()
    report: dict[str, Any] = {"baseline_c": baseline_c, "delta_c": delta_c, "start_c": first}
    if baseline_c is None or first is None:
        why = "no idle baseline" if baseline_c is None else "no thermal sensor"
        return {**report, "waited_s": 0.0, "end_c": first, "timed_out": False, "skipped": why}
    started = clock()
    now_c: float | None = first
    while now_c is not None and now_c > baseline_c + delta_c:
        if clock() - started >= timeout_s:
            return {**report, "waited_s": clock() - started, "end_c": now_c, "timed_out": True}
        sleep(COOLDOWN_POLL_S)
        now_c = read_c()
    return {**report, "waited_s": clock() - started, "end_c": now_c, "timed_out": False}


def pair_ratios(samples: Sequence[float], reference_samples: Sequence[float]) -> list[float]:
    """Per-pair ratios sample / reference sample (pairs timed back to back)."""
    pairs = zip(samples, reference_samples)  # noqa: B905 - py3.8
    return [a / b if b > 0 else float("inf") for a, b in pairs]


# --------------------------------------------------------------------------- inputs


def parse_shape_specs(specs: Iterable[str]) -> dict[str, list[int]]:
    """Parse repeated `--shape NAME=1x3x224x224` values into {name: dims}.

    Raises RunnerError("shape") for a spec without '=', an empty name, empty,
    non-integer, zero or negative dimensions, or a name given twice.
    """
    shapes: dict[str, list[int]] = {}
    for spec in specs:
        example = "--shape x=1x3x224x224"
        # rpartition: dims never contain '=', input names might.
        name, sep, dims_text = spec.rpartition("=")
        if not sep or not name:
            raise RunnerError(
                "shape", f"--shape {spec!r} is malformed: expected NAME=D1xD2x..., e.g. {example}"
            )
        parts = dims_text.split("x")
        if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
            raise RunnerError(
                "shape",
                f"--shape {spec!r} is malformed: the dimensions must be positive integers "
                f"separated by 'x', e.g. {example}",
            )
        dims = [int(part) for part in parts]
        if any(d <= 0 for d in dims):
            raise RunnerError(
                "shape",
                f"--shape {spec!r} has a zero dimension; every dimension must be >= 1, "
                f"e.g. {example}",
            )
        if name in shapes:
            raise RunnerError("shape", f"--shape is given twice for input {name!r}; pass it once")
        shapes[name] = dims
    return shapes


def _is_fixed(dim: object) -> bool:
    # onnxruntime reports a named dynamic dim as str and an unnamed one as None;
    # bool is excluded because it is an int subclass.
    return isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0


def _example_shape(dims: Sequence[object]) -> str:
    """A --shape value for declared `dims`: fixed dims kept, dynamic ones given a guess.

    A dynamic first axis is taken as the batch (1); the other dynamic axes of a
    4-D input as image height and width (224); any other dynamic axis as 1.
    """
    guesses = []
    for axis, dim in enumerate(dims):
        if _is_fixed(dim):
            guesses.append(str(dim))
        elif axis == 0 or len(dims) != 4:
            guesses.append("1")
        else:
            guesses.append("224")
    return "x".join(guesses)


def resolve_input_shapes(
    inputs: Sequence[Any], overrides: dict[str, list[int]]
) -> dict[str, list[int]]:
    """The concrete shape of every model input, from its declaration and --shape overrides.

    `inputs` are onnxruntime NodeArgs (anything with .name and .shape). Raises
    RunnerError("shape") when an input has dynamic dimensions and no --shape,
    when --shape names an unknown input, or when an override disagrees with the
    declared rank or a fixed dimension.
    """
    names = [i.name for i in inputs]
    unknown = [name for name in overrides if name not in names]
    if unknown:
        raise RunnerError(
            "shape",
            f"--shape names {unknown[0]!r}, which is not an input of the model; "
            f"the inputs are {names}",
        )
    shapes: dict[str, list[int]] = {}
    for node in inputs:
        declared = list(node.shape or [])
        override = overrides.get(node.name)
        if override is None:
            if not all(_is_fixed(d) for d in declared):
                raise RunnerError(
                    "shape",
                    f"input {node.name!r} has dynamic dimensions {declared}; pass its full "
                    f"shape with the sizes to measure, e.g. "
                    f"--shape {node.name}={_example_shape(declared)}",
                )
            shapes[node.name] = [int(d) for d in declared]
            continue
        given = f"--shape {node.name}={'x'.join(map(str, override))}"
        if len(override) != len(declared):
            raise RunnerError(
                "shape",
                f"{given} has rank {len(override)} but input {node.name!r} is declared with "
                f"rank {len(declared)} as {declared}; pass {len(declared)} dimensions, e.g. "
                f"--shape {node.name}={_example_shape(declared)}",
            )
        # zip(strict=) is Python 3.10+, hence the index loop.
        for axis in range(len(declared)):
            want, have = declared[axis], override[axis]
            if _is_fixed(want) and want != have:
                fixed = [d if _is_fixed(d) else override[i] for i, d in enumerate(declared)]
                raise RunnerError(
                    "shape",
                    f"{given} sets axis {axis} to {have} but input {node.name!r} fixes it to "
                    f"{want} (declared {declared}); keep the fixed dimensions, e.g. "
                    f"--shape {node.name}={_example_shape(fixed)}",
                )
        shapes[node.name] = list(override)
    return shapes


def input_dtype(onnx_type: str, name: str) -> str:
    """numpy dtype name for an ONNX input type; RunnerError("model_load") if unsupported."""
    for table in (FLOAT_TYPES, INT_TYPES, BOOL_TYPES):
        if onnx_type in table:
            return table[onnx_type]
    supported = ", ".join([*FLOAT_TYPES, *INT_TYPES, *BOOL_TYPES])
    raise RunnerError(
        "model_load",
        f"input {name!r} has type {onnx_type}, for which the runner cannot make random data "
        f"(supported: {supported}); export the model with numeric tensor inputs",
    )


def make_inputs(inputs: Sequence[Any], shapes: dict[str, list[int]], seed: int) -> dict[str, Any]:
    """Random input arrays, reproducible from `seed`, in the model's input order.

    Floats are standard normal, integers uniform in [0, 10) (small, so they are
    valid indices or sizes for most ops), booleans fair coin flips.
    """
    rng = np.random.default_rng(seed)
    arrays: dict[str, Any] = {}
    for node in inputs:
        dtype = input_dtype(node.type, node.name)
        shape = tuple(shapes[node.name])
        if node.type in FLOAT_TYPES:
            arrays[node.name] = rng.standard_normal(shape).astype(dtype)
        elif node.type in INT_TYPES:
            arrays[node.name] = rng.integers(0, 10, size=shape).astype(dtype)
        else:
            arrays[node.name] = rng.random(shape) < 0.5
    return arrays


# --------------------------------------------------------------------------- session


def _ort_message(exc: BaseException) -> str:
    """onnxruntime's message without its trailing period (it is followed by the fix)."""
    return str(exc).strip().rstrip(".")


def _ort_short_version() -> str:
    return ".".join(ort.__version__.split(".")[:2])


def _is_invalid_protobuf(exc: BaseException) -> bool:
    text = str(exc)
    return (
        type(exc).__name__ == "InvalidProtobuf"
        or "INVALID_PROTOBUF" in text
        or "Protobuf parsing failed" in text
        # An empty file parses as an empty protobuf message without a graph.
        or "No graph was found in the protobuf" in text
    )


def session_options(threads: int, graph_opt: str) -> Any:
    """SessionOptions of every session the runner makes: sequential, `threads` intra-op."""
    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = levels[graph_opt]
    return options


def provider_spec(name: str, options: Sequence[str]) -> str:
    """``--provider`` and its ``--provider-option`` values as one string,
    ``Name:key=value,...`` (options sorted): what the fingerprint records, so that the
    options are part of what makes two measurements comparable."""
    for option in options:
        if "=" not in option or not option.split("=", 1)[0]:
            raise RunnerError("usage", f"--provider-option {option!r} is not KEY=VALUE")
    return name + (":" + ",".join(sorted(options)) if options else "")


def session_providers(provider: str) -> list[Any]:
    """The ``providers`` argument of an InferenceSession for a provider spec: the provider
    with its options, then the CPU for the ops it cannot run (as onnxruntime's mobile
    providers are meant to be used)."""
    name, _, options = provider.partition(":")
    pairs = dict(o.split("=", 1) for o in options.split(",") if o) if options else {}
    chosen: list[Any] = [(name, pairs) if pairs else name]
    return chosen if name == "CPUExecutionProvider" else [*chosen, "CPUExecutionProvider"]


def check_provider(provider: str) -> None:
    """RunnerError("usage") unless onnxruntime here offers `provider` (a spec's name).

    onnxruntime itself only warns and silently falls back to the CPU.
    """
    available = ort.get_available_providers()
    if provider.partition(":")[0] not in available:
        raise RunnerError(
            "usage",
            f"execution provider {provider!r} is not available in this onnxruntime "
            f"{ort.__version__}; pass --provider with one of {available}",
        )


def load_session(model_path: str, options: Any, provider: str) -> Any:
    """An InferenceSession of the model, or RunnerError with the kind of failure.

    model_not_found: no such file; invalid_model: not parseable as ONNX;
    model_load: onnxruntime rejects the model (unknown op, opset, IR version...).
    """
    if not os.path.isfile(model_path):
        what = "is a directory" if os.path.isdir(model_path) else "does not exist"
        raise RunnerError(
            "model_not_found",
            f"model file {model_path!r} {what}; check the path (relative paths are resolved "
            f"from {os.getcwd()!r})",
        )
    try:
        return ort.InferenceSession(model_path, options, providers=session_providers(provider))
    except Exception as exc:
        if _is_invalid_protobuf(exc):
            raise RunnerError(
                "invalid_model",
                f"{model_path!r} ({os.path.getsize(model_path)} bytes) is not a valid ONNX file "
                f"(truncated or not ONNX): {_ort_message(exc)}; copy or export the model again",
            ) from exc
        raise RunnerError(
            "model_load",
            f"onnxruntime could not load {model_path!r}: {_ort_message(exc)}; check the "
            f"opset/ops are supported by onnxruntime {_ort_short_version()}",
        ) from exc


def bind_inputs(session: Any, arrays: dict[str, Any]) -> Any:
    """An IOBinding with every input bound once and every output left to onnxruntime."""
    binding = session.io_binding()
    for name, array in arrays.items():
        binding.bind_cpu_input(name, array)
    for output in session.get_outputs():
        binding.bind_output(output.name)
    return binding


_SHAPE_ERROR_HINTS = re.compile(r"dimension|shape|rank|broadcast|mismatch", re.IGNORECASE)


def run_error(exc: BaseException, shapes: dict[str, list[int]], overridden: bool) -> RunnerError:
    """Classify a failed run: the user's --shape ("shape") or the model ("model_load")."""
    text = _ort_message(exc)
    if overridden and _SHAPE_ERROR_HINTS.search(text):
        return RunnerError(
            "shape",
            f"onnxruntime failed to run the model with input shapes {shapes}: {text}; check "
            "that the --shape values are sizes the model accepts",
        )
    return RunnerError(
        "model_load",
        f"onnxruntime loaded the model but failed to run it with input shapes {shapes}: {text}; "
        f"check that the model runs in onnxruntime {_ort_short_version()} (the version here) "
        "on random inputs of these shapes, and re-export it if not",
    )


# --------------------------------------------------------------------------- memory


def peak_rss_mb(status_path: str = "/proc/self/status") -> tuple[str | None, float | None]:
    """(method, peak resident set size of this process in MiB) so far.

    "mb" throughout the runner means MiB (1024 * 1024 bytes). Prefers VmHWM from
    /proc/self/status (Linux, Android); falls back to getrusage's ru_maxrss,
    which is in kB on Linux and in bytes on macOS; (None, None) where neither
    exists (Windows).
    """
    text = _read_text(status_path)
    if text is not None:
        match = re.search(r"^VmHWM:\s*(\d+)\s*kB", text, re.MULTILINE)
        if match:
            return "VmHWM", int(match.group(1)) / 1024
    try:
        import resource
    except ImportError:  # Windows
        return None, None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = MIB if sys.platform == "darwin" else 1024
    return "ru_maxrss", maxrss / divisor


def memory_document(
    baseline: tuple[str | None, float | None], peak: tuple[str | None, float | None]
) -> dict[str, Any]:
    """The memory document from two peak_rss_mb() readings."""
    method, baseline_mb = baseline
    _, peak_mb = peak
    over = None
    if baseline_mb is not None and peak_mb is not None:
        over = peak_mb - baseline_mb
    return {
        "method": method,
        "baseline_mb": baseline_mb,
        "peak_mb": peak_mb,
        "peak_over_baseline_mb": over,
    }


# --------------------------------------------------------------------------- fingerprint


def _read_text(path: str) -> str | None:
    """The file's text, or None if it is absent, unreadable or not text."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def _sys_path(sys_root: str, relative: str) -> str:
    return os.path.join(sys_root, relative)


def _cpuinfo_fields(sys_root: str) -> dict[str, str]:
    """First value of each "key : value" line of /proc/cpuinfo ({} if unreadable)."""
    fields: dict[str, str] = {}
    for line in (_read_text(_sys_path(sys_root, "proc/cpuinfo")) or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and value.strip():
            fields.setdefault(key.strip(), value.strip())
    return fields


def read_cpu_model(sys_root: str = "/") -> str:
    """CPU model name: /proc/cpuinfo "model name", or on ARM "Hardware", "Model",
    "CPU part"; else platform.processor() or platform.machine()."""
    fields = _cpuinfo_fields(sys_root)
    for key in ("model name", "Hardware", "Model", "CPU part"):
        if key in fields:
            return fields[key]
    return platform.processor() or platform.machine()


def _cache_size_kb(text: str | None) -> int | None:
    """A sysfs cache ``size`` ("32K", "1024K", "8M") in KiB, or None if unreadable."""
    value = (text or "").strip().upper()
    scale = {"K": 1, "M": 1024, "G": 1024 * 1024}.get(value[-1:])
    digits = value[:-1] if scale else value
    if not digits.isdigit():
        return None
    kb = int(digits) * scale if scale else int(digits) // 1024  # a bare number: bytes
    return kb or None


def read_caches_kb(sys_root: str = "/") -> dict[str, int]:
    """cpu0's caches in KiB by name ("L1d", "L1i", "L2", "L3"), from
    sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}; empty where the kernel
    does not export them (macOS, some VMs and Android kernels)."""
    caches: dict[str, int] = {}
    pattern = _sys_path(sys_root, "sys/devices/system/cpu/cpu0/cache/index*")
    for folder in sorted(glob.glob(pattern)):
        level = (_read_text(os.path.join(folder, "level")) or "").strip()
        kind = (_read_text(os.path.join(folder, "type")) or "").strip()
        size = _cache_size_kb(_read_text(os.path.join(folder, "size")))
        if not level.isdigit() or size is None:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        name = f"L{level}{suffix}"
        caches[name] = max(size, caches.get(name, 0))
    return caches


def last_level_cache_kb(caches: dict[str, int]) -> int | None:
    """The size of the highest-level data or unified cache of ``caches``
    (:func:`read_caches_kb`) in KiB: what a network's weights compete for between two
    reads. None without any."""
    data = [
        (int(name[1:].rstrip("d")), kb) for name, kb in caches.items() if not name.endswith("i")
    ]
    return max(data)[1] if data else None


def read_governor(sys_root: str = "/") -> str | None:
    """cpu0's cpufreq scaling governor, or None where cpufreq is absent (VMs, macOS)."""
    text = _read_text(_sys_path(sys_root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))
    if text is None:
        return None
    return text.strip() or None


def read_frequency_mhz(sys_root: str = "/") -> float | None:
    """cpu0's current frequency in MHz from cpufreq (kHz), else /proc/cpuinfo "cpu MHz"."""
    text = _read_text(_sys_path(sys_root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"))
    try:
        if text is not None:
            return int(text.strip()) / 1000
    except ValueError:
        pass
    mhz = _cpuinfo_fields(sys_root).get("cpu MHz")
    try:
        return float(mhz) if mhz is not None else None
    except ValueError:
        return None


def read_temperature_c(sys_root: str = "/") -> float | None:
    """Highest temperature over sys/class/thermal/thermal_zone*/temp in °C, or None.

    The kernel reports millidegrees; a few old Android kernels report whole
    degrees, so readings below 1000 in absolute value are taken as degrees.
    """
    readings: list[float] = []
    pattern = _sys_path(sys_root, "sys/class/thermal/thermal_zone*/temp")
    for path in sorted(glob.glob(pattern)):
        text = _read_text(path)
        try:
            value = float(text.strip()) if text is not None else None
        except ValueError:
            continue
        if value is None:
            continue
        readings.append(value / 1000 if abs(value) >= 1000 else value)
    return max(readings) if readings else None


def read_affinity(cores: int) -> list[int]:
    """CPUs this process may run on (Linux), else all `cores`."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is not None:
        try:
            return sorted(getter(0))
        except OSError:
            pass
    return list(range(cores))


def collect_fingerprint(
    threads: int, provider: str, graph_opt: str, sys_root: str = "/"
) -> dict[str, Any]:
    """What makes two measurements comparable: hardware, clocks, software and settings.

    Every read of /proc or /sys (under `sys_root`, so tests can use a fake
    tree) tolerates absent files and permission errors; governor,
    frequency_mhz and temperature_c are None when they cannot be read.
    """
    cores = os.cpu_count() or 1
    return {
        "cpu_model": read_cpu_model(sys_root),
        "cores": cores,
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "execution_provider": provider,
        "threads": threads,
        "affinity": read_affinity(cores),
        "governor": read_governor(sys_root),
        "frequency_mhz": read_frequency_mhz(sys_root),
        "temperature_c": read_temperature_c(sys_root),
        "machine": platform.machine(),
        "graph_optimization": graph_opt,
    }


# --------------------------------------------------------------------------- op profile


def summarize_profile_events(
    events: Iterable[dict[str, Any]], runs: int, skip_before_us: float | None = None
) -> dict[str, Any]:
    """Per-operator-type time from onnxruntime profiler events.

    Keeps "Node" events named "*_kernel_time" (starting at or after
    `skip_before_us`, to drop a warmup run), groups them by args["op_name"],
    and returns {"runs": runs, "ops": {op: {"count": distinct nodes,
    "ms_per_inference": summed dur (us) / runs / 1000, "share": fraction of the
    total}}}, ops sorted by time, largest first, and "nodes": [[node name, op,
    ms per inference], ...] in the order the nodes first ran (how
    ``hwnas.predictors.kernel_incontext`` splits a network's time among its kernels).
    """
    total_us: dict[str, float] = {}
    per_node: dict[str, list[Any]] = {}
    by_provider: dict[str, dict[str, Any]] = {}
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.endswith("_kernel_time"):
            continue
        if skip_before_us is not None and float(event.get("ts", 0)) < skip_before_us:
            continue
        details = event.get("args") or {}
        op = str(details.get("op_name", "unknown"))
        total_us[op] = total_us.get(op, 0.0) + float(event.get("dur", 0))
        node = per_node.setdefault(name[: -len("_kernel_time")], [op, 0.0])
        node[1] += float(event.get("dur", 0))
        place = by_provider.setdefault(
            str(details.get("provider", "unknown")), {"us": 0.0, "nodes": set(), "ops": set()}
        )
        place["us"] += float(event.get("dur", 0))
        place["nodes"].add(name)
        place["ops"].add(op)
    grand_total = sum(total_us.values())
    counts = Counter(op for op, _ in per_node.values())
    ops = {}
    for op in sorted(total_us, key=lambda o: -total_us[o]):
        ops[op] = {
            "count": counts[op],
            "ms_per_inference": total_us[op] / runs / 1000,
            "share": total_us[op] / grand_total if grand_total > 0 else 0.0,
        }
    all_nodes = sum(len(p["nodes"]) for p in by_provider.values())
    providers = {
        name: {
            "nodes": len(p["nodes"]),
            "node_share": len(p["nodes"]) / all_nodes if all_nodes else 0.0,
            "time_share": p["us"] / grand_total if grand_total > 0 else 0.0,
            "ops": sorted(p["ops"]),
        }
        for name, p in sorted(by_provider.items(), key=lambda kv: -kv[1]["us"])
    }
    return {
        "runs": runs,
        "ops": ops,
        "providers": providers,
        "ms_per_inference": grand_total / runs / 1000 if runs else 0.0,
        "nodes": [
            [name, op, us / runs / 1000 if runs else 0.0] for name, (op, us) in per_node.items()
        ],
    }


def provider_warnings(profile: dict[str, Any], asked: str) -> list[str]:
    """A warning naming the ops that ran on the CPU when another provider was asked for
    (they fell back: the provider does not support them, e.g. quantized ops), and the
    share of the time they took."""
    name = asked.partition(":")[0]
    cpu = (profile.get("providers") or {}).get("CPUExecutionProvider")
    if name == "CPUExecutionProvider" or not cpu or not cpu["nodes"]:
        return []
    return [
        f"{cpu['nodes']} node(s) ran on the CPU, not on {name} ({_percent(cpu['time_share'])} "
        f"of the profiled time; ops: {', '.join(cpu['ops'])}): {name} does not support them "
        "here; check its supported operators or export the model with ops it supports"
    ]


def _first_run_end_us(events: Sequence[dict[str, Any]]) -> float | None:
    """End time of the first "model_run" event, None if the trace has none."""
    ends = [
        float(e.get("ts", 0)) + float(e.get("dur", 0))
        for e in events
        if e.get("cat") == "Session" and e.get("name") == "model_run"
    ]
    return min(ends) if ends else None


def op_profile(
    model_path: str,
    arrays: dict[str, Any],
    *,
    threads: int,
    graph_opt: str,
    provider: str,
    runs: int,
) -> dict[str, Any]:
    """Time per operator type over `runs` runs of a second, profiling session.

    Profiling slows every run, so it happens after (and apart from) the timed
    runs. One extra first run is made and left out, like a warmup. The ops are
    those onnxruntime actually runs after graph optimization (with "all",
    Relu is fused into Conv, for instance). The trace file is deleted.
    """
    options = session_options(threads, graph_opt)
    options.enable_profiling = True
    with tempfile.TemporaryDirectory(prefix="hwnas-runner-") as tmp:
        options.profile_file_prefix = os.path.join(tmp, "profile")
        session = ort.InferenceSession(model_path, options, providers=session_providers(provider))
        binding = bind_inputs(session, arrays)
        for _ in range(runs + 1):
            session.run_with_iobinding(binding)
        trace_path = session.end_profiling()
        with open(trace_path, encoding="utf-8") as handle:
            events = json.load(handle)
        os.remove(trace_path)
    first_end = _first_run_end_us(events)
    counted = runs if first_end is not None else runs + 1
    return summarize_profile_events(events, counted, skip_before_us=first_end)


# --------------------------------------------------------------------------- diagnosis


def _percent(fraction: float) -> str:
    """0.023 -> "2.3%", 0.01 -> "1%": one decimal, none when it is zero."""
    return f"{fraction:.1%}".replace(".0%", "%")


def _thermal_warnings(environment: dict[str, Any]) -> list[str]:
    """A cool-down that timed out, a clock that fell during the runs, runs that slowed
    down through the measurement: each with what to do."""
    warnings = []
    cooldown = environment.get("cooldown") or {}
    if cooldown.get("timed_out"):
        warnings.append(
            f"the device stayed at {cooldown['end_c']:.1f} °C, above its idle "
            f"{cooldown['baseline_c']:.1f} °C + {cooldown['delta_c']:g} °C, for "
            f"{cooldown['waited_s']:.0f} s, and was measured anyway: lengthen "
            "--cooldown-timeout, cool the device (heatsink, fan) or raise --cooldown-delta"
        )
    start, end = environment.get("frequency_start_mhz"), environment.get("frequency_end_mhz")
    if start and end and end < (1.0 - MAX_FREQUENCY_DROP) * start:
        warnings.append(
            f"the CPU clock fell from {start:.0f} MHz to {end:.0f} MHz during the timed runs: "
            "the CPU throttled (heat or power), so later runs are slower; cool the device, "
            "pin the governor to 'performance' and wait between models (--cooldown-delta 2)"
        )
    trend = environment.get("slowdown")
    if trend is not None and trend > MAX_SLOWDOWN:
        warnings.append(
            f"the last third of the timed runs was {_percent(trend)} slower (median) than "
            "the first: the device throttled or other work grew during the measurement; "
            "cool it down between models (--cooldown-delta 2) and close other programs"
        )
    return warnings


def diagnose(
    summary: dict[str, Any],
    fingerprint: dict[str, Any],
    environment: dict[str, Any],
    settings: dict[str, Any],
    stop_reason: str,
) -> list[str]:
    """Warnings about a measurement that may not be trustworthy, each saying what to change.

    The spread of the runs is only warned about when it threatens the reported figure:
    when the 95% CI of the median missed its target (a wide spread with the CI met is
    slow outliers the median resists)."""
    warnings: list[str] = []
    target = settings["target_ci"]
    # With a reference model the target bounds the CI of the median per-pair ratio.
    reference = settings.get("reference")
    checked = reference["ratio"] if reference else summary
    half_width = relative_half_width(checked["median"], checked["ci_low"], checked["ci_high"])
    mean, std = summary["mean"], summary["std"]
    if half_width > target and mean > 0 and std / mean > MAX_CV:
        warnings.append(
            f"the standard deviation is {_percent(std / mean)} of the mean and the 95% CI of "
            "the median missed its target (slow outliers or drift): close other programs, "
            "pin the CPU frequency (governor 'performance') and isolate a core with taskset"
        )
    governor = fingerprint.get("governor")
    if governor is not None and governor != "performance":
        warnings.append(
            f"the CPU frequency governor is {governor!r}, not 'performance': timings drift "
            "with clock speed; run `sudo cpupower frequency-set -g performance` (or write "
            "performance to /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)"
        )
    start_c, end_c = environment.get("temperature_start_c"), environment.get("temperature_end_c")
    if start_c is not None and end_c is not None and end_c - start_c > MAX_TEMPERATURE_RISE_C:
        warnings.append(
            f"the CPU temperature rose from {start_c:.1f} °C to {end_c:.1f} °C during the "
            "measurement: the CPU may throttle and slow down later runs; let the device cool "
            "down, add a heatsink or fan, or pause between models"
        )
    warnings += _thermal_warnings(environment)
    if stop_reason in ("max_seconds", "max_runs") and half_width > target:
        limit = "--max-seconds" if stop_reason == "max_seconds" else "--max-runs"
        what = "median ratio to the reference" if reference else "median"
        warnings.append(
            f"the 95% CI of the {what} is ±{_percent(half_width)}, above the target "
            f"{_percent(target)}: raise {limit} or reduce noise"
        )
    if summary["n"] < settings["min_runs"]:
        warnings.append(
            f"only {summary['n']} runs fit in --max-seconds {settings['max_seconds']}, fewer "
            f"than --min-runs {settings['min_runs']}: raise --max-seconds"
        )
    cores = fingerprint.get("cores")
    if cores and settings["threads"] > cores:
        warnings.append(
            f"--threads {settings['threads']} exceeds the {cores} CPU cores: threads compete "
            f"for cores and timings get noisy; pass --threads {cores} or fewer"
        )
    return warnings


# --------------------------------------------------------------------------- energy


def _read_number(path: str) -> float:
    with open(path, encoding="ascii") as fh:
        return float(fh.read().strip())


class RaplMeter:
    """Package energy from the RAPL counters in sysfs (Intel, and AMD Zen on Linux >= 5.8).

    Counts every core of each package, not only the model's thread: hence the idle
    baseline measured beside it.
    """

    sampled = False

    def __init__(self, sys_root: str) -> None:
        base = os.path.join(sys_root, "sys/class/powercap")
        self.zones = sorted(
            z
            for z in glob.glob(os.path.join(base, "intel-rapl:*"))
            if re.fullmatch(r"intel-rapl:\d+", os.path.basename(z))
        )
        if not self.zones:
            raise RunnerError(
                "energy",
                f"no RAPL package domains under {base}; this CPU or "
                "kernel does not expose RAPL: use --energy none, or another "
                "backend (power_supply on phones, hwmon for power sensors)",
            )
        self.name = "rapl:" + ",".join(self._zone_name(z) for z in self.zones)
        self._start: list[float] = []
        self.read()  # permission problems surface now, before the model is loaded

    @staticmethod
    def _zone_name(zone: str) -> str:
        try:
            with open(os.path.join(zone, "name"), encoding="ascii") as fh:
                return fh.read().strip()
        except OSError:
            return os.path.basename(zone)

    def read(self) -> list[float]:
        values = []
        for zone in self.zones:
            path = os.path.join(zone, "energy_uj")
            try:
                values.append(_read_number(path))
            except PermissionError:
                raise RunnerError(
                    "energy",
                    f"cannot read {path}: permission denied (since "
                    "Linux 5.10 RAPL counters are root-only); run `sudo chmod "
                    "o+r /sys/class/powercap/intel-rapl:*/energy_uj` on the "
                    "device, or use --energy none",
                ) from None
            except (OSError, ValueError) as exc:
                raise RunnerError(
                    "energy", f"cannot read {path} ({exc}); use --energy none"
                ) from None
        return values

    def start(self) -> None:
        self._start = self.read()

    def stop(self) -> float:
        """Joules since start(), across counter wrap-arounds."""
        end = self.read()
        total_uj = 0.0
        for zone, first, last in zip(self.zones, self._start, end):  # noqa: B905 - py3.8
            delta = last - first
            if delta < 0:  # the counter wrapped at max_energy_range_uj
                try:
                    delta += _read_number(os.path.join(zone, "max_energy_range_uj"))
                except (OSError, ValueError):
                    delta += 2.0**32
            total_uj += delta
        return total_uj / 1e6


class SampledMeter:
    """Power sampled by a thread (W), integrated over time (trapezoids) into joules.

    A reading is dated at the middle of its read, and the integral spans the whole phase,
    from start() to the end of stop(): the first reading's power is taken back to the start
    and the closing one's on to the end. A sysfs read takes microseconds, so this changes
    nothing there; a meter command (pmic, command:...) takes milliseconds or more, which
    each phase would otherwise lose at its start.
    """

    sampled = True
    #: How the meter is read, where the energy document should say it (command meters).
    reading = None  # type: str | None

    def __init__(
        self, name: str, read_watts: Callable[[], float], interval_s: float = 0.02
    ) -> None:
        self.name = name
        self.read_watts = read_watts
        self.interval_s = interval_s
        self.readings: list[tuple[float, float]] = []
        read_watts()  # fail now, before the model is loaded
        self._stop = None  # type: Any
        self._thread = None  # type: Any
        self._started = 0.0

    def _reading(self) -> tuple[float, float]:
        before = time.perf_counter()
        watts = self.read_watts()
        return (before + time.perf_counter()) / 2, watts

    def _loop(self) -> None:
        while True:
            try:
                self.readings.append(self._reading())
            except (OSError, ValueError):
                pass  # some fuel gauges fail a read now and then (EAGAIN): skip that sample
            if self._stop.wait(self.interval_s):
                break

    def start(self) -> None:
        import threading

        self.readings = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = time.perf_counter()
        self._thread.start()

    def stop(self) -> float:
        """Joules since start(). RunnerError("energy") when the closing read fails or the
        phase has fewer than two readings: the integral would then miss part of the phase
        (with one reading it is 0 J) instead of measuring it."""
        self._stop.set()
        self._thread.join()
        try:
            self.readings.append(self._reading())
        except (OSError, ValueError) as exc:
            raise RunnerError(
                "energy",
                f"the {self.name} meter failed its closing read ({exc}); measure again, "
                "or use --energy none",
            ) from None
        pts = self.readings
        if len(pts) < 2:
            raise RunnerError(
                "energy",
                f"the {self.name} meter gave no reading while the phase ran (every read "
                "failed), so there is nothing to integrate; check the meter's files, or "
                "use --energy none",
            )
        pts.insert(0, (min(self._started, pts[0][0]), pts[0][1]))
        pts.append((time.perf_counter(), pts[-1][1]))
        return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(pts, pts[1:]))  # noqa: B905 - py3.8

    def distinct_readings(self) -> int:
        return len({w for _, w in self.readings})


def _watts_from(power_uw: str) -> Callable[[], float]:
    def read() -> float:
        return abs(_read_number(power_uw)) / 1e6

    return read


def _watts_from_current(current_ua: str, voltage_uv: str) -> Callable[[], float]:
    def read() -> float:  # current is negative while discharging on many phones
        return abs(_read_number(current_ua)) * _read_number(voltage_uv) / 1e12

    return read


def _power_supply_meter(sys_root: str) -> SampledMeter:
    base = os.path.join(sys_root, "sys/class/power_supply")
    for supply in sorted(glob.glob(os.path.join(base, "*"))):
        power = os.path.join(supply, "power_now")
        current, voltage = (os.path.join(supply, f) for f in ("current_now", "voltage_now"))
        name = "power_supply:" + os.path.basename(supply)
        if os.path.exists(power):
            return SampledMeter(name, _watts_from(power))
        if os.path.exists(current) and os.path.exists(voltage):
            return SampledMeter(name, _watts_from_current(current, voltage))
    raise RunnerError(
        "energy",
        f"no power_supply under {base} reports power_now or "
        "current_now and voltage_now; use --energy none or another backend",
    )


def _hwmon_meter(sys_root: str) -> SampledMeter:
    base = os.path.join(sys_root, "sys/class/hwmon")
    sensors = sorted(glob.glob(os.path.join(base, "hwmon*", "power*_input")))
    if not sensors:
        raise RunnerError(
            "energy",
            f"no hwmon power sensors (power*_input) under {base}; "
            "use --energy none or another backend",
        )
    return SampledMeter(
        "hwmon:" + ",".join(os.path.relpath(s, base) for s in sensors),
        lambda: sum(_read_number(s) for s in sensors) / 1e6,
    )


# Meters read through a command, run as an argument list (never a shell): each read starts
# a process, so they are sampled less often than sysfs files.

#: Seconds between two reads of a sampled meter command, and the most one read may take.
COMMAND_INTERVAL_S = 0.05
COMMAND_TIMEOUT_S = 10.0


class MeterReadError(ValueError):
    """A meter command that failed or printed nothing readable, saying which and why.

    A ValueError, like a bad sysfs read: a sampling thread skips that sample and a closing
    read reports it (energy null, the latency kept); the opening read is turned into a
    RunnerError("energy") that names the fix before anything is measured.
    """


def _excerpt(text: str, limit: int = 240) -> str:
    """`text` on one line, its end kept (where a command says what went wrong)."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else "..." + flat[-limit:])


def command_output(argv: Sequence[str]) -> str:
    """What `argv` prints on stdout, run without a shell within COMMAND_TIMEOUT_S.
    MeterReadError when it cannot start, times out or exits non-zero (with its output)."""
    shown = shlex.join(argv)
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",  # a meter printing stray bytes still gives its number
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise MeterReadError(
            f"command not found: {argv[0]!r} (looked for on PATH={os.environ.get('PATH', '')})"
        ) from None
    except PermissionError:
        raise MeterReadError(f"{argv[0]!r} is not executable (chmod +x it)") from None
    except OSError as exc:
        raise MeterReadError(f"`{shown}` could not start ({exc})") from None
    except subprocess.TimeoutExpired:
        raise MeterReadError(f"`{shown}` did not finish within {COMMAND_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        said = (done.stderr or "").strip() or done.stdout.strip()
        raise MeterReadError(
            f"`{shown}` exited with status {done.returncode}"
            + (f", printing {_excerpt(said)}" if said else "")
        )
    return done.stdout


#: One rail of `vcgencmd pmic_read_adc` on a Raspberry Pi 5: a current line per rail,
#: ``  VDD_CORE_A current(7)=0.75012000A``, then a voltage line per rail,
#: ``  VDD_CORE_V volt(15)=0.72097620V`` (the ADC channel in parentheses differs), as the
#: README of github.com/jfikar/RPi5-power and
#: jeffgeerling.com/blog/2023/overclocking-and-underclocking-raspberry-pi-5 show them.
#: EXT5V_V (the 5 V input) and BATT_V (the RTC battery) are voltages without a current and
#: count for nothing. Older firmware, and other Pis, answer
#: ``error=1 error_msg="Command not registered"`` (exit status 255).
_PMIC_LINE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=(\S+?)([AV])\s*$")
PMIC_COMMAND = ("vcgencmd", "pmic_read_adc")


def parse_pmic_rails(text: str) -> dict[str, float]:
    """Watts of each rail of a `vcgencmd pmic_read_adc` output (``_A`` current times the
    ``_V`` voltage of the same name); MeterReadError when no rail has both."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        match = _PMIC_LINE.match(line)
        if match is None or match.group(2) != match.group(4):
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        (amps if match.group(2) == "A" else volts)[match.group(1)] = value
    watts = {rail: amps[rail] * volts[rail] for rail in sorted(set(amps) & set(volts))}
    if not watts:
        raise MeterReadError(
            "`vcgencmd pmic_read_adc` printed no rail with both a current and a voltage "
            "(lines like `VDD_CORE_A current(7)=0.75A` and `VDD_CORE_V volt(15)=0.72V`); "
            f"it printed {_excerpt(text)}"
        )
    if not all(map(math.isfinite, watts.values())):
        raise MeterReadError(
            f"`vcgencmd pmic_read_adc` printed a rail that is not a number: {_excerpt(text)}"
        )
    return watts


def _pmic_fix(reason: str) -> str:
    """`reason` a PMIC read failed, with the fix for the failures known to happen."""
    if "command not found" in reason:
        fix = (
            "vcgencmd is not installed or not on PATH; it comes with Raspberry Pi OS "
            "(package raspi-utils; libraspberrypi-bin before Bookworm), and --energy pmic "
            "needs a Raspberry Pi 5"
        )
    elif "Command not registered" in reason:
        fix = (
            "this vcgencmd has no pmic_read_adc: the PMIC it reads is the Raspberry Pi 5's "
            "(and CM5's); on one of those, update the firmware (`sudo apt full-upgrade`, "
            "`sudo rpi-eeprom-update -a`, reboot)"
        )
    elif "/dev/vcio" in reason:
        fix = (
            "vcgencmd cannot open /dev/vcio: add the user to the video group (`sudo "
            "usermod -aG video $USER`, then log in again)"
        )
    else:
        return reason
    return f"{reason}: {fix}"


def read_pmic_watts() -> float:
    """The Raspberry Pi 5's power over its PMIC rails, in W (sum of current x voltage)."""
    try:
        return sum(parse_pmic_rails(command_output(PMIC_COMMAND)).values())
    except MeterReadError as exc:
        raise MeterReadError(_pmic_fix(str(exc))) from None


def _pmic_meter(sys_root: str) -> SampledMeter:
    try:
        rails = parse_pmic_rails(command_output(PMIC_COMMAND))
    except MeterReadError as exc:
        raise RunnerError(
            "energy",
            f"--energy pmic cannot read the PMIC: {_pmic_fix(str(exc))}; or use --energy none",
        ) from None
    name = f"pmic:{len(rails)} rails"
    return SampledMeter(name, read_pmic_watts, interval_s=COMMAND_INTERVAL_S)


#: Units a meter command may print after its last number: energy (cumulative, in J per
#: unit; a bare number is joules) or power (sampled, in W per unit). Case does not matter.
JOULE_UNITS = {
    "": 1.0,
    "j": 1.0,
    "joule": 1.0,
    "joules": 1.0,
    "mj": 1e-3,
    "kj": 1e3,
    "mwh": 3.6,
    "wh": 3600.0,
    "kwh": 3.6e6,
}
WATT_UNITS = {"w": 1.0, "watt": 1.0, "watts": 1.0, "mw": 1e-3}
_NUMBER_AND_UNIT = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)")


def parse_meter_reading(text: str) -> tuple[str, float]:
    """("joules", J) or ("watts", W) from a meter command's output: the last number on its
    last non-blank line and the unit right after it (``12.34 J``, ``5.1W``, ``830 mWh``;
    a bare number is joules). MeterReadError for no number or another unit."""
    lines = [line for line in text.splitlines() if line.strip()]
    found = _NUMBER_AND_UNIT.findall(lines[-1]) if lines else []
    if not found:
        raise MeterReadError(
            "the meter command printed no number on its last line (it should end in a "
            f"line like `12.34 J` or `5.1 W`); it printed {_excerpt(text)}"
        )
    number, unit = found[-1]
    if unit.lower() in WATT_UNITS:
        return "watts", float(number) * WATT_UNITS[unit.lower()]
    if unit.lower() in JOULE_UNITS:
        return "joules", float(number) * JOULE_UNITS[unit.lower()]
    raise MeterReadError(
        f"the meter command's last line ends in {number} {unit}, and {unit!r} is neither "
        "energy (J, mJ, kJ, Wh, mWh, kWh, or a bare number: joules) nor power (W, mW)"
    )


class CommandEnergyMeter:
    """A meter command that prints cumulative energy: read at each phase's start and end."""

    sampled = False
    reading = "joules (cumulative), read at the start and end of each phase"

    def __init__(self, name: str, read_joules: Callable[[], float]) -> None:
        self.name = name
        self.read_joules = read_joules
        self._start = 0.0

    def _read(self) -> float:
        try:
            return self.read_joules()
        except ValueError as exc:  # MeterReadError
            raise RunnerError(
                "energy",
                f"the {self.name} meter failed a read ({exc}); measure again, or use --energy none",
            ) from None

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> float:
        """Joules since start(); RunnerError("energy") when the count went down."""
        end = self._read()
        if end < self._start:
            raise RunnerError(
                "energy",
                f"the {self.name} meter's count went down from {self._start:g} J to "
                f"{end:g} J (it was reset or wrapped); measure again, or have the command "
                "print energy that only grows",
            )
        return end - self._start


def _command_reader(argv: Sequence[str], kind: str) -> Callable[[], float]:
    """A read of the meter command `argv` that must keep printing `kind` (joules, watts)."""

    def read() -> float:
        got, value = parse_meter_reading(command_output(argv))
        if got != kind:
            raise MeterReadError(f"the meter command printed {got} where it began with {kind}")
        return value

    return read


def _command_meter(backend: str) -> Any:
    """The meter of ``command:CMD``: its first reading's unit decides how it is read."""
    argv = shlex.split(backend[len(ENERGY_COMMAND_PREFIX) :])
    name = ENERGY_COMMAND_PREFIX + shlex.join(argv)
    try:
        kind, _ = parse_meter_reading(command_output(argv))
    except MeterReadError as exc:
        raise RunnerError(
            "energy",
            f"--energy {name}: {exc}; fix the command (it runs without a shell and must "
            "print a last line like `12.34 J`, cumulative, or `5.1 W`), or use --energy none",
        ) from None
    if kind == "joules":
        return CommandEnergyMeter(name, _command_reader(argv, kind))
    meter = SampledMeter(name, _command_reader(argv, kind), interval_s=COMMAND_INTERVAL_S)
    meter.reading = "watts, sampled"
    return meter


def open_energy_meter(backend: str, sys_root: str = "/") -> Any:
    """The meter of `backend` (``command:CMD`` too); `auto` takes the first of rapl,
    power_supply, hwmon, pmic that works here. RunnerError("energy") with the fix when none does."""
    if backend.startswith(ENERGY_COMMAND_PREFIX):
        return _command_meter(backend)
    makers = {
        "rapl": RaplMeter,
        "power_supply": _power_supply_meter,
        "hwmon": _hwmon_meter,
        "pmic": _pmic_meter,
    }
    if backend != "auto":
        return makers[backend](sys_root)
    reasons = []
    for name, make in makers.items():
        try:
            return make(sys_root)
        except RunnerError as exc:
            reasons.append(f"{name}: {exc.message}")
    raise RunnerError(
        "energy",
        "no energy meter works on this device (" + "; ".join(reasons) + "); use --energy none",
    )


def measure_energy(
    meter: Any, run_once: Callable[[], None], seconds: float, idle_seconds: float
) -> tuple[dict[str, Any], list[str]]:
    """Energy per inference: an idle baseline, then back-to-back runs for `seconds`.

    Each phase's power is its energy over the time the meter was actually read across
    (a sleep can overrun on a busy device), so the idle power subtracted from the active
    phase is the idle power, not the idle energy spread over a nominal duration.
    """
    warnings = []
    meter.start()
    idle_started = time.perf_counter()
    time.sleep(idle_seconds)
    idle_j = meter.stop()
    idle_w = idle_j / (time.perf_counter() - idle_started)
    runs = 0
    meter.start()
    started = time.perf_counter()
    while True:
        run_once()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            break
    active_j = meter.stop()
    window = time.perf_counter() - started  # what the meter integrated: the runs and stop()
    active_w = active_j / window
    dynamic_j = max(0.0, active_j - idle_w * window)
    if meter.sampled and meter.distinct_readings() < 3:
        warnings.append(
            f"the {meter.name} meter changed value fewer than 3 times in "
            f"{elapsed:.1f} s, so the energy figure is coarse; raise "
            "--energy-seconds (battery gauges update every few seconds)"
        )
    if active_w <= idle_w * 1.02:
        warnings.append(
            f"power while running ({active_w:.2f} W) is within 2% of idle "
            f"({idle_w:.2f} W): the model's share is in the meter's noise; "
            "raise --energy-seconds or measure a larger model"
        )
    return {
        "method": meter.name,
        "energy_mj": round(1000 * active_j / runs, 6),
        "dynamic_energy_mj": round(1000 * dynamic_j / runs, 6),
        "idle_w": round(idle_w, 4),
        "active_w": round(active_w, 4),
        "runs": runs,
        "seconds": round(elapsed, 3),
        "idle_seconds": idle_seconds,
        **({"reading": meter.reading} if getattr(meter, "reading", None) else {}),
    }, warnings


def energy_or_reason(
    meter: Any, run_once: Callable[[], None], args: argparse.Namespace, warnings: list[str]
) -> dict[str, Any]:
    """The energy document of `measure_energy`, its warnings added to `warnings`.

    A meter that fails during the energy phase (a read error at a phase's end, a counter
    gone) costs only the energy: the latency was measured before it and stands. The
    document then says why: ``method`` and ``energy_mj`` are null (so the record's
    ``energy_method`` is null: nothing was measured), ``meter`` names the meter and
    ``error`` the failure, which is also among the warnings.
    """
    try:
        energy, energy_warnings = measure_energy(
            meter, run_once, args.energy_seconds, args.energy_idle_seconds
        )
    except (RunnerError, OSError, ValueError) as exc:
        reason = exc.message if isinstance(exc, RunnerError) else f"{type(exc).__name__}: {exc}"
        warnings.append(f"energy was not measured ({reason}); the latency figures stand")
        return {
            "method": None,
            "meter": meter.name,
            "energy_mj": None,
            "dynamic_energy_mj": None,
            "error": reason,
        }
    warnings.extend(energy_warnings)
    return energy


# --------------------------------------------------------------------------- orchestration


def _ns_to_ms(values: Iterable[int]) -> list[float]:
    # Rounded to the nanosecond, the clock's resolution, to drop float noise like 0.0141459999.
    return [round(v / 1e6, 6) for v in values]


def _environment_reading(sys_root: str, when: str) -> dict[str, Any]:
    return {
        f"temperature_{when}_c": read_temperature_c(sys_root),
        f"frequency_{when}_mhz": read_frequency_mhz(sys_root),
    }


def reference_runner(
    path: str, threads: int, graph_opt: str, provider: str, seed: int
) -> Callable[[], None]:
    """One run of the reference model, bound to inputs once; RunnerError("reference")
    for a reference that is missing, not loadable, dynamic or failing."""
    try:
        session = load_session(path, session_options(threads, graph_opt), provider)
        inputs = session.get_inputs()
        shapes = resolve_input_shapes(inputs, {})
        binding = bind_inputs(session, make_inputs(inputs, shapes, seed))
        session.run_with_iobinding(binding)
    except RunnerError as exc:
        raise RunnerError(
            "reference",
            f"the reference model {path} cannot be used: {exc.message}; pass another --reference",
        ) from exc
    except Exception as exc:
        raise RunnerError(
            "reference",
            f"the reference model {path} fails to run "
            f"({_ort_message(exc)}); pass another --reference",
        ) from exc
    run = session.run_with_iobinding
    return lambda: run(binding)


def _load_bound_model(
    args: argparse.Namespace, overrides: dict[str, Any]
) -> tuple[str, dict[str, list[int]], dict[str, Any], Callable[[], None]]:
    """Load the model, bind random inputs once and run it once untimed.

    Returns the provider that runs it, the input shapes, the input arrays and one run.
    The untimed run comes first so a failure there is reported as the model's or the
    --shape's; a later failure would be unexpected ("runner").
    """
    session = load_session(args.model, session_options(args.threads, args.graph_opt), args.provider)
    # The spec asked for (with its options) when onnxruntime took it, else what it runs on.
    first = session.get_providers()[0]
    provider = args.provider if first == args.provider.partition(":")[0] else first
    model_inputs = session.get_inputs()
    shapes = resolve_input_shapes(model_inputs, overrides)
    arrays = make_inputs(model_inputs, shapes, args.seed)
    binding = bind_inputs(session, arrays)
    run_with_iobinding = session.run_with_iobinding  # looked up once, outside the timed loop

    def run_once() -> None:
        run_with_iobinding(binding)

    try:
        run_once()
    except Exception as exc:
        raise run_error(exc, shapes, overridden=bool(overrides)) from exc
    return provider, shapes, arrays, run_once


def _timed_runs(
    args: argparse.Namespace,
    run_once: Callable[[], None],
    reference_once: Callable[[], None] | None,
    reference_ns: list[int] | None,
) -> tuple[list[int], list[int], str, float]:
    """Warm up, then time runs until --target-ci or a budget stops them (with the
    reference after each, into ``reference_ns``). Returns the warmup and timed samples
    in ns, why the runs stopped, and how long the timed runs took in s."""
    clock = time.perf_counter_ns
    if reference_once is not None:  # its warm-up is not reported: warmup_ms is the model's
        warmup_runs(reference_once, clock, runs=args.warmup)
    warmup_ns = warmup_runs(
        run_once,
        clock,
        runs=args.warmup,
        min_seconds=args.warmup_seconds,
        max_seconds=args.warmup_share * args.max_seconds,
    )
    # A garbage collection in the middle of a run would land in one sample as an outlier.
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        if args.protocol == "mlperf":
            samples_ns, stop_reason = fixed_protocol_runs(
                run_once,
                clock,
                min_runs=MLPERF_MIN_QUERIES,
                min_seconds=MLPERF_MIN_SECONDS,
                reference=reference_once,
                reference_samples=reference_ns,
            )
        else:
            samples_ns, stop_reason = adaptive_repeats(
                run_once,
                clock,
                target_ci=args.target_ci,
                max_seconds=args.max_seconds,
                min_runs=args.min_runs,
                max_runs=args.max_runs,
                reference=reference_once,
                reference_samples=reference_ns,
            )
        elapsed_s = time.perf_counter() - started
    finally:
        gc.enable()
    return warmup_ns, samples_ns, stop_reason, elapsed_s


def _run_settings(args: argparse.Namespace, shapes: dict[str, list[int]]) -> dict[str, Any]:
    """The settings a measurement was taken with, as its document reports them."""
    return {
        "threads": args.threads,
        "target_ci": args.target_ci,
        "max_seconds": args.max_seconds,
        "min_runs": args.min_runs,
        "max_runs": args.max_runs,
        "warmup": args.warmup,
        "warmup_seconds": args.warmup_seconds,
        "warmup_share": args.warmup_share,
        "graph_optimization": args.graph_opt,
        "execution_mode": "sequential",
        "provider": args.provider,
        "seed": args.seed,
        "shapes": shapes,
        "op_profile": bool(args.op_profile),
        "energy": args.energy,
        "energy_seconds": args.energy_seconds if args.energy != "none" else None,
        "protocol": args.protocol,
        "cooldown_delta": args.cooldown_delta,
    }


def _reference_report(
    path: str, samples_ms: list[float], reference_ns: list[int]
) -> dict[str, Any]:
    """The reference model's latency and the per-pair ratios model/reference."""
    reference_ms = _ns_to_ms(reference_ns)
    return {
        "model": os.path.basename(path),
        "latency_ms": summarize(reference_ms),
        "ratio": summarize(pair_ratios(samples_ms, reference_ms)),
    }


def _op_profile_or_warning(
    args: argparse.Namespace, arrays: dict[str, Any], warnings: list[str], median_ms: float
) -> dict[str, Any] | None:
    """The op profile when --op-profile asks for one; a failure of it becomes a warning
    (and None), because the latency measurement is still good. Ops that fell back to the
    CPU from another provider are warned about; ``sum_to_median`` says how the per-op
    times add up against the timed median (the profiler's own clock reads inflate them)."""
    if not args.op_profile:
        return None
    try:
        profile = op_profile(
            args.model,
            arrays,
            threads=args.threads,
            graph_opt=args.graph_opt,
            provider=args.provider,
            runs=args.op_profile_runs,
        )
    except Exception as exc:  # the latency measurement is still good
        reason = " ".join(str(exc).split())
        warnings.append(
            f"op profiling failed ({reason}); the latency figures are "
            "unaffected; rerun without --op-profile or report the model"
        )
        return None
    warnings.extend(provider_warnings(profile, args.provider))
    if median_ms > 0:
        profile["sum_to_median"] = profile["ms_per_inference"] / median_ms
    return profile


def _cool_down(args: argparse.Namespace, environment: dict[str, Any]) -> None:
    """With --cooldown-delta, wait for the device to cool down (``environment["cooldown"]``
    says how it went) and read the start temperature and clock again after the wait."""
    if args.cooldown_delta is None:
        return
    environment["cooldown"] = wait_for_cooldown(
        lambda: read_temperature_c(args.sys_root),
        args.idle_baseline_c,
        args.cooldown_delta,
        args.cooldown_timeout,
    )
    environment.update(_environment_reading(args.sys_root, "start"))


def measure(args: argparse.Namespace, reused: ReusedProcess | None = None) -> dict[str, Any]:
    """Load, time and describe the model as parsed `args` say; the success document.

    ``reused``: this process measured models before (``--serve``) and its peak was reset
    since; the memory figures then mean what a fresh process would have read (see
    :class:`ReusedProcess`). Raises RunnerError for anything the user can fix.
    """
    overrides = parse_shape_specs(args.shape)  # fail fast on typos, before loading
    check_provider(args.provider)
    meter = None if args.energy == "none" else open_energy_meter(args.energy, args.sys_root)
    # A fresh process with numpy/onnxruntime imported (or one whose peak was just reset):
    # this is the baseline.
    baseline = peak_rss_mb()
    fingerprint = collect_fingerprint(args.threads, args.provider, args.graph_opt, args.sys_root)
    environment = _environment_reading(args.sys_root, "start")
    loading = time.perf_counter()
    provider, shapes, arrays, run_once = _load_bound_model(args, overrides)
    phases = {"session": time.perf_counter() - loading}
    fingerprint["execution_provider"] = provider

    reference_once = None
    reference_ns: list[int] | None = None
    if args.reference is not None:
        reference_once = reference_runner(
            args.reference, args.threads, args.graph_opt, args.provider, args.seed
        )
        reference_ns = []
    _cool_down(args, environment)
    running = time.perf_counter()
    warmup_ns, samples_ns, stop_reason, elapsed_s = _timed_runs(
        args, run_once, reference_once, reference_ns
    )
    phases.update(warmup=time.perf_counter() - running - elapsed_s, timed=elapsed_s)
    peak = peak_rss_mb()  # before op profiling, whose second session adds memory
    environment.update(_environment_reading(args.sys_root, "end"))
    environment["slowdown"] = slowdown(samples_ns)

    settings = _run_settings(args, shapes)
    samples_ms = _ns_to_ms(samples_ns)
    summary = summarize(samples_ms)
    if reference_ns is not None:
        settings["reference"] = _reference_report(args.reference, samples_ms, reference_ns)
    warnings = diagnose(summary, fingerprint, environment, settings, stop_reason)
    energy = None if meter is None else energy_or_reason(meter, run_once, args, warnings)
    profile = _op_profile_or_warning(args, arrays, warnings, summary["median"])
    memory = memory_document(baseline, peak) if reused is None else reused.memory(baseline, peak)
    return {
        "ok": True,
        "runner_version": RUNNER_VERSION,
        "latency_ms": summary,
        "samples_ms": samples_ms,
        "warmup_ms": _ns_to_ms(warmup_ns),
        "stop_reason": stop_reason,
        "elapsed_s": elapsed_s,
        "inputs": {
            name: {"shape": shapes[name], "dtype": str(array.dtype)}
            for name, array in arrays.items()
        },
        "memory": memory,
        "fingerprint": fingerprint,
        "environment": environment,
        "op_profile": profile,
        "energy": energy,
        "warnings": warnings,
        "settings": settings,
        "phases_s": phases,
    }


def _module_version(name: str) -> str | None:
    try:
        module = __import__(name)
    except Exception:  # ImportError, or a broken install that fails while importing
        return None
    return str(getattr(module, "__version__", "unknown"))


def energy_meters(sys_root: str = "/") -> list[dict[str, Any]]:
    """Energy and power meters this device exposes in sysfs, and whether we may read them."""
    found: list[dict[str, Any]] = []
    rapl = sorted(glob.glob(os.path.join(sys_root, "sys/class/powercap/intel-rapl:*/energy_uj")))
    if rapl:
        found.append(
            {
                "meter": "rapl",
                "paths": len(rapl),
                "readable": all(os.access(p, os.R_OK) for p in rapl),
            }
        )
    for supply in sorted(glob.glob(os.path.join(sys_root, "sys/class/power_supply/*"))):
        files = [
            f
            for f in ("power_now", "current_now", "voltage_now")
            if os.path.exists(os.path.join(supply, f))
        ]
        if "power_now" in files or {"current_now", "voltage_now"} <= set(files):
            found.append(
                {
                    "meter": "power_supply",
                    "name": os.path.basename(supply),
                    "files": files,
                    "readable": all(os.access(os.path.join(supply, f), os.R_OK) for f in files),
                }
            )
    hwmon = sorted(glob.glob(os.path.join(sys_root, "sys/class/hwmon/hwmon*/power*_input")))
    if hwmon:
        found.append(
            {
                "meter": "hwmon",
                "paths": len(hwmon),
                "readable": all(os.access(p, os.R_OK) for p in hwmon),
            }
        )
    pmic = _pmic_report()
    return found if pmic is None else [*found, pmic]


def _pmic_report() -> dict[str, Any] | None:
    """The Raspberry Pi 5's PMIC when vcgencmd is on PATH: readable, or why not."""
    import shutil

    vcgencmd = shutil.which(PMIC_COMMAND[0])
    if vcgencmd is None:
        return None
    try:
        rails = parse_pmic_rails(command_output([vcgencmd, *PMIC_COMMAND[1:]]))
    except MeterReadError as exc:
        return {"meter": "pmic", "path": vcgencmd, "readable": False, "error": _pmic_fix(str(exc))}
    return {"meter": "pmic", "path": vcgencmd, "rails": len(rails), "readable": True}


def device_report(sys_root: str = "/", workdir: str | None = None) -> dict[str, Any]:
    """The success document of --check: what the device has, for `hwnas devices check`."""
    import shutil

    caches = read_caches_kb(sys_root)
    folder = os.path.expanduser(workdir or "~")
    while folder and not os.path.isdir(folder):  # the workdir may not exist yet
        folder = os.path.dirname(folder.rstrip("/")) or "/"
    try:
        usage = shutil.disk_usage(folder)
        free_mb: float | None = round(usage.free / 1e6, 1)
    except OSError:
        free_mb = None
    return {
        "ok": True,
        "runner_version": RUNNER_VERSION,
        "check": {
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "numpy": _module_version("numpy"),
            "onnxruntime": _module_version("onnxruntime"),
            "pip": _module_version("pip"),
            "cpu_model": read_cpu_model(sys_root),
            "cores": os.cpu_count() or 1,
            "machine": platform.machine(),
            "os": platform.platform(),
            "governor": read_governor(sys_root),
            "frequency_mhz": read_frequency_mhz(sys_root),
            "temperature_c": read_temperature_c(sys_root),
            "energy_meters": energy_meters(sys_root),
            "disk_free_mb": free_mb,
            "disk_checked": folder,
            "caches_kb": caches,
            "llc_kb": last_level_cache_kb(caches),
        },
    }


def fingerprint_document(args: argparse.Namespace) -> dict[str, Any]:
    """The success document of --fingerprint-only: what a measurement here would carry."""
    check_provider(args.provider)
    return {
        "ok": True,
        "runner_version": RUNNER_VERSION,
        "fingerprint": collect_fingerprint(
            args.threads, args.provider, args.graph_opt, args.sys_root
        ),
    }


def run_cli(argv: Sequence[str], reused: ReusedProcess | None = None) -> tuple[dict[str, Any], int]:
    """(document, exit code) for a command line; never raises for ordinary failures
    (``reused``: see :func:`measure`)."""
    try:
        args = parse_args(argv)
        if args.check:
            return device_report(args.sys_root, args.workdir), 0
        if _MISSING_DEPENDENCY is not None:
            raise RunnerError(
                "runner",
                f"the runner needs numpy and onnxruntime on this device ({_MISSING_DEPENDENCY}); "
                "install them with `python3 -m pip install numpy onnxruntime`",
            )
        if args.fingerprint_only:
            return fingerprint_document(args), 0
        return (measure(args) if reused is None else measure(args, reused)), 0
    except RunnerError as exc:
        return error_document(exc.kind, exc.message), exc.exit_code
    except KeyboardInterrupt:
        return _interrupted_document(), 1
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)  # stderr only: stdout carries the JSON document
        return error_document(
            "runner",
            f"unexpected {type(exc).__name__}: {exc}; this is a bug in the runner, please "
            "report it with the model and the command line (the traceback is on stderr)",
        ), 1


# --------------------------------------------------------------------------- --serve

#: After a reset, VmHWM is within this of VmRSS (MiB), or the reset did not work.
_RESET_SLACK_MB = 1.0
#: The block the start-up check touches and frees to see that a reset lowers VmHWM (MiB).
_PROBE_MB = 32


def malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, which hands freed heap memory back to the kernel, so
    that the next model's allocations raise the resident size (and its peak) again
    instead of reusing pages the model before freed; None where the C library has none."""
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (ImportError, OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


def resident_mb(status_path: str = "/proc/self/status") -> float | None:
    """VmRSS of this process in MiB, or None where /proc does not say."""
    match = re.search(r"^VmRSS:\s*(\d+)\s*kB", _read_text(status_path) or "", re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def reset_peak(
    trim: Callable[[], object],
    clear_refs: str = "/proc/self/clear_refs",
    status_path: str = "/proc/self/status",
) -> bool:
    """Free what can be freed, then reset VmHWM to the resident size (``5`` written to
    ``clear_refs``, Linux 4.0+). True if VmHWM is now within ``_RESET_SLACK_MB`` of VmRSS."""
    gc.collect()
    trim()
    try:
        with open(clear_refs, "w") as handle:
            handle.write("5")
    except OSError:  # no such file (not Linux, old kernel) or not allowed
        return False
    method, peak = peak_rss_mb(status_path)
    rss = resident_mb(status_path)
    if method != "VmHWM" or peak is None or rss is None:
        return False
    return peak - rss <= _RESET_SLACK_MB


def peak_reset_works(trim: Callable[[], object]) -> bool:
    """Whether :func:`reset_peak` really lowers VmHWM here: a block of ``_PROBE_MB`` is
    touched and freed first, so the peak stands that far above the resident size. The
    block is mapped directly, not through malloc: freeing a big malloc block would raise
    glibc's mmap threshold for the models after (and their peaks)."""
    import mmap

    page = mmap.PAGESIZE
    with mmap.mmap(-1, _PROBE_MB * MIB) as block:
        for offset in range(0, _PROBE_MB * MIB, page):
            block[offset] = 1  # written, so resident
    _, before = peak_rss_mb()
    if not reset_peak(trim):
        return False
    _, after = peak_rss_mb()
    return before is not None and after is not None and before - after >= _PROBE_MB / 2


class ReusedProcess:
    """A ``--serve`` process that measures each model in a child forked for it
    (:func:`measure_in_child`): the child maps again the file pages this process has
    mapped (a fork copies no page table entries of code) and resets its peak, so that its
    baseline is what a fresh process reads after its imports, and its peak over that
    baseline what a fresh process reads (README, "Peak memory"). ``baseline_mb`` is this
    process's imports-only reading; the child's raw readings are kept under
    ``memory["reused_process"]``.
    """

    def __init__(
        self, baseline_mb: float, trim: Callable[[], object], mapped: Sequence[tuple[int, int]]
    ):
        self.baseline_mb = baseline_mb
        #: (address, length) of the file pages this process has mapped (code, read-only
        #: data), which a child maps again (:func:`map_again`) before its reset.
        self.mapped = mapped
        self._trim = trim

    def reset(self) -> bool:
        """In a child: map what the parent mapped, then reset the peak (:func:`reset_peak`)."""
        map_again(self.mapped)
        return reset_peak(self._trim)

    def memory(
        self, baseline: tuple[str | None, float | None], peak: tuple[str | None, float | None]
    ) -> dict[str, Any]:
        """The memory document from the readings after the reset and after the runs."""
        method, now_mb = baseline
        _, peak_mb = peak
        if now_mb is None or peak_mb is None:
            return memory_document(baseline, peak)
        over = peak_mb - now_mb
        return {
            "method": method,
            "baseline_mb": self.baseline_mb,
            "peak_mb": self.baseline_mb + over,
            "peak_over_baseline_mb": over,
            "reused_process": {
                "isolation": "fork",
                "reset": "clear_refs",
                "baseline_mb": now_mb,
                "peak_mb": peak_mb,
            },
        }


def reused_process() -> ReusedProcess | None:
    """At the start of ``--serve``: a :class:`ReusedProcess` if the peak can be reset here
    (Linux with a writable clear_refs, glibc, fork), else None (the host then runs each
    model in a process of its own).

    This process creates no onnxruntime session: each child starts from the state a
    fresh process has after its imports (the allocator's included), sets up the runtime
    itself and so counts that set-up in its peak, as a fresh process does.
    """
    trim = malloc_trim()
    if _MISSING_DEPENDENCY is not None or trim is None or not hasattr(os, "fork"):
        return None
    method, baseline = peak_rss_mb()
    if method != "VmHWM" or baseline is None:
        return None
    # Three tries: on a busy machine one check in many reads the peak a moment late.
    if not any(peak_reset_works(trim) for _ in range(3)):
        print("runner --serve: the peak memory cannot be reset here", file=sys.stderr)
        return None
    return ReusedProcess(baseline, trim, mapped_file_pages())


#: madvise(2)'s MADV_POPULATE_READ (Linux 5.14): map a range's pages, reading them in.
_MADV_POPULATE_READ = 22


def mapped_file_pages(
    maps: str = "/proc/self/maps", pagemap: str = "/proc/self/pagemap"
) -> list[tuple[int, int]]:
    """(address, length) of each run of pages this process has mapped from files (the
    present bit of /proc/self/pagemap, readable by the process itself); empty where it
    cannot be read. A forked child starts without them (fork copies no page table entries
    of mappings that hold nothing but file pages)."""
    page = os.sysconf("SC_PAGE_SIZE")
    runs: list[tuple[int, int]] = []
    try:
        with open(maps, encoding="utf-8") as lines, open(pagemap, "rb") as entries:
            for line in lines:
                fields = line.split()
                if len(fields) < 6 or fields[4] == "0" or not fields[5].startswith("/"):
                    continue  # anonymous memory (copied by fork), or a special mapping
                start, end = (int(x, 16) for x in fields[0].split("-"))
                # In pieces of 8,192 pages: a big read buffer, freed, would raise glibc's
                # mmap threshold (see peak_reset_works).
                for at in range(start, end, 8192 * page):
                    entries.seek(at // page * 8)
                    chunk = entries.read((min(end, at + 8192 * page) - at) // page * 8)
                    present = np.frombuffer(chunk, np.uint64) >> 63
                    runs += _runs(at, present.astype(bool), page)
    except (OSError, ValueError):
        return []
    return runs


def _runs(start: int, present: Any, page: int) -> list[tuple[int, int]]:
    """(address, length) of each run of True in ``present`` (one flag a page from ``start``)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], present.view(np.int8), [0]))))
    return [(start + int(a) * page, int(b - a) * page) for a, b in edges.reshape(-1, 2)]


def map_again(runs: Sequence[tuple[int, int]]) -> None:
    """Map ``runs`` (from :func:`mapped_file_pages` in the parent) in this child, so that
    the model's peak counts only the pages it maps beyond them, as in a fresh process
    where they were mapped before its baseline. Best effort (MADV_POPULATE_READ, else a
    read of a byte of each page)."""
    if not runs:
        return
    import ctypes

    madvise = ctypes.CDLL(None).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = os.sysconf("SC_PAGE_SIZE")
    for address, length in runs:
        if madvise(address, length, _MADV_POPULATE_READ) != 0:  # before Linux 5.14
            for offset in range(0, length, page):
                ctypes.string_at(address + offset, 1)


def _request_argv(line: str) -> list[str]:
    """The runner's command line from one ``--serve`` request: ``{"argv": [...]}``."""
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise RunnerError(
            "usage", f"a --serve request is not JSON ({exc}): {line[:200]!r}"
        ) from None
    argv = request.get("argv") if isinstance(request, dict) else None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise RunnerError(
            "usage", f'a --serve request must be {{"argv": [strings]}}, got {line[:200]!r}'
        )
    return argv


def fresh_process_document(reason: str) -> dict[str, Any]:
    """The answer to a request this process must not measure: the host starts a new one."""
    return error_document("fresh_process", f"{reason}; measure this model in a new runner process")


def serve_request(
    line: str, reused: ReusedProcess | None, extra: Sequence[str] = ()
) -> tuple[dict[str, Any], bool]:
    """(document, whether the process ends after it) for one ``--serve`` request, with
    the options ``extra`` after its own.

    With a :class:`ReusedProcess`, the model is measured in a child forked for it
    (:func:`measure_in_child`). Without (the peak cannot be reset here), it is answered
    with "fresh_process" and the process ends: the host then measures each model in a
    process of its own, without ``--serve``.
    """
    try:
        argv = [*_request_argv(line), *extra]
    except RunnerError as exc:
        return {**error_document(exc.kind, exc.message), "not_run": True}, False
    if reused is None:
        return fresh_process_document("this device cannot reset the peak memory"), True
    return measure_in_child(argv, reused)


def measure_in_child(argv: Sequence[str], reused: ReusedProcess) -> tuple[dict[str, Any], bool]:
    """Run ``argv`` in a child forked for it: (its document, whether this process ends).

    The child starts from this process's state, the same for every model (the runtime
    set up, nothing of the models before: their sessions, lazily set-up state and the
    allocator's thresholds, which a freed big model raises, stay in their children),
    resets its peak and dies with this process. A child that dies without a document
    (a crash in native code) is that model's "crashed" error; Ctrl-C reaches the child,
    which answers "interrupted", and this process ends after it.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            _die_with_parent()
            document = _child_document(argv, reused)
            with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
                pipe.write(json.dumps(document, allow_nan=True))
        except BaseException:  # noqa: B036 - nothing may escape a forked child
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    interrupted, text, status = _wait_for_child(pid, read_end)
    if not text:
        return _crashed_document(status), interrupted
    document = json.loads(text)
    kind = (document.get("error") or {}).get("kind")
    return document, interrupted or kind in ("interrupted", "fresh_process")


def _child_document(argv: Sequence[str], reused: ReusedProcess) -> dict[str, Any]:
    """In a forked child: reset the peak, then measure (see :func:`measure_in_child`)."""
    try:
        if not reused.reset():
            return fresh_process_document("the reset of the peak memory failed")
        document, _ = run_cli(argv, reused)
    except KeyboardInterrupt:
        document = _interrupted_document()
    return document


def _die_with_parent() -> None:
    """Ask the kernel to kill this child when its parent dies (Linux ``PR_SET_PDEATHSIG``):
    a runner stopped by the host for a timeout takes its child with it."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (ImportError, OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _wait_for_child(pid: int, read_end: int) -> tuple[bool, str, int]:
    """(whether Ctrl-C came, what the child sent, its wait status): read its pipe to the
    end and reap it; a Ctrl-C (which reaches the child too) does not stop the waiting."""
    chunks: list[bytes] = []
    interrupted = False
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            try:
                chunk = pipe.read1(65536)
            except KeyboardInterrupt:
                interrupted = True
                continue
            if not chunk:
                break
            chunks.append(chunk)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except KeyboardInterrupt:
            interrupted = True
    return interrupted, b"".join(chunks).decode("utf-8", errors="replace"), status


def _crashed_document(status: int) -> dict[str, Any]:
    """The error of a child that died without a document (``status``: from waitpid)."""
    how = f"exit code {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        how = f"signal {number} ({_signal_name(number)})"
    return error_document(
        "crashed",
        f"the runner's process for this model died with {how} before it had a result "
        "(out of memory, or a crash in onnxruntime: its message, if any, is on the "
        "runner's stderr); measure the model alone to see, or leave it out",
    )


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def _with_phases(document: dict[str, Any], since: float, first: float | None) -> dict[str, Any]:
    """A success document with the runner's time in ``phases_s``: ``runner``, since
    ``since``; for a process's first document (``first``: its set-up in s, --serve's checks) also
    its imports."""
    if document.get("ok"):
        phases = document.setdefault("phases_s", {})
        phases["runner"] = time.perf_counter() - since
        if first is not None:
            phases.update(imports=_IMPORTS_S, setup=first)
    return document


def serve(stdin: IO[str], out: IO[str], extra: Sequence[str] = ()) -> int:
    """``--serve``: measure the model of each line of ``stdin`` (``{"argv": [MODEL.onnx,
    options...]}``, the one-model command line) and write each document as the one-model
    mode does, framed, on ``out`` (``extra``: the options after ``--serve``, added to
    every request's), until stdin ends (exit 0), an answer ends the process
    (:func:`serve_request`) or Ctrl-C comes between models."""
    setting_up = time.perf_counter()
    reused = reused_process()
    if reused is not None:
        # numpy's quantiles import numpy.ma (16 ms) after the peak is read: once here,
        # after the baseline, instead of in every child. Its memory is then in a child's
        # baseline and peak alike, and in neither of a fresh process's.
        import numpy.ma  # noqa: F401
    if reused is not None and hasattr(gc, "freeze"):
        # What exists now is the children's too: a child's collection need not walk it
        # (20 ms a model), nor write to its pages.
        gc.collect()
        gc.freeze()
    first: float | None = time.perf_counter() - setting_up
    while True:
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            return 1
        if not line:
            return 0
        if not line.strip():
            continue
        since = _SCRIPT_STARTED if first is not None else time.perf_counter()
        try:
            document, last = serve_request(line, reused, extra)
        except KeyboardInterrupt:
            document, last = _interrupted_document(), True
        run = not document.pop("not_run", False)
        code = write_document(out, _with_phases(document, since, first if run else None))
        if run:
            first = None
        if last:
            return code


def _interrupted_document() -> dict[str, Any]:
    return error_document(
        "interrupted",
        "interrupted (Ctrl-C or SIGINT) before the measurement finished; "
        "run the runner again and let it finish (it stops by --max-seconds)",
    )


def _claim_stdout() -> IO[str]:
    """A writer on the real stdout, after pointing file descriptor 1 at stderr.

    onnxruntime's native code and stray prints write to fd 1 directly; moving
    them to stderr keeps stdout to the single JSON document.
    """
    sys.stdout.flush()
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return real_stdout


def write_document(out: IO[str], document: dict[str, Any]) -> int:
    """Write one framed document on ``out`` (between the RESULT_BEGIN and RESULT_END
    lines); its exit code (0 for success, else the error's). A document that is not valid
    JSON (NaN, infinity) becomes a "runner" error."""
    code = 0 if document.get("ok") else RunnerError(document["error"]["kind"], "").exit_code
    try:
        text = json.dumps(document, allow_nan=False)
    except ValueError as exc:  # NaN or infinity: not valid JSON
        document = error_document(
            "runner",
            f"the result could not be written as JSON: {exc}; "
            "please report this with the model and the command line",
        )
        text, code = json.dumps(document), 1
    out.write(RESULT_BEGIN + "\n" + text + "\n" + RESULT_END + "\n")
    out.flush()
    return code


def main(
    argv: Sequence[str] | None = None, stdout: IO[str] | None = None, stdin: IO[str] | None = None
) -> int:
    """Run the command line, write one framed JSON document to `stdout` (between the
    RESULT_BEGIN and RESULT_END lines), return the exit code.

    With `stdout` None (the script), the process's real stdout is used and
    everything else written to fd 1 goes to stderr. `--help` prints the usage
    on stdout and returns 0 without a JSON document. ``--serve [OPTIONS]`` reads one
    request a line from `stdin` and answers each (:func:`serve`; OPTIONS are added to
    each request's, e.g. a device's ``--sys-root``).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        build_parser().print_help(stdout or sys.stdout)
        return 0
    out = _claim_stdout() if stdout is None else stdout
    if argv[:1] == ["--serve"]:
        return serve(stdin or sys.stdin, out, argv[1:])
    document, _ = run_cli(argv)
    if "phases_s" in document:  # a measurement: since the script started, imports included
        _with_phases(document, _SCRIPT_STARTED, 0.0)
    return write_document(out, document)


if __name__ == "__main__":
    sys.exit(main())
