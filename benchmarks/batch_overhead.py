"""Time per model that is not timed runs: one runner process per model against one kept
for the batch (issue 11 item 4).

The batch is the 18 whole models of ``benchmarks/kernels.py`` (MobileNetV2-like CNNs at
six widths and resolutions, four ``chain`` and three ``multibranch`` networks, five
transformer encoders; 1-24 ms each on a quiet machine), exported once into ``--out``
(torch). Each round measures them all with ``profile_batch`` on the local device with
``hwnas profile``'s settings but ``--max-seconds 0.4`` (so about 7 s of timed runs for
the batch, as in the issue's 15.3 s batch), first with one runner process per model
(``RunnerSession(reuse=False)``, as before), then with one ``runner.py --serve`` process
for the batch (the default now), and the other way round in the next round. Printed per
mode: the batch's wall time, the sum of the timed runs and their ratio, and where the
rest went: process start (the host's wall time of a call minus the runner's own time in
it, for calls that started a process), imports (numpy, onnxruntime), serve set-up
(``--serve``'s checks that it can reset a process's peak, once per batch), session
creation (onnxruntime's set-up included: each model's process or forked child makes its
own), warm-up runs, timed runs, and other (host-side model checks, forking, sending
requests, reading answers, fingerprints, statistics). Also each model's
``peak_memory_mb`` in both modes, which must agree (each model runs in a child forked
from a process that has only imported, and resets its peak).

Run:  .venv/bin/python benchmarks/batch_overhead.py [--rounds 3] [--max-seconds 0.4]
      [--out benchmarks/out]
Writes benchmarks/results/batch_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._results import provenance  # noqa: E402
from benchmarks.kernels import whole_models  # noqa: E402
from hwnas.devices.local import LocalTransport  # noqa: E402
from hwnas.onnx_model import check_model  # noqa: E402
from hwnas.profiler.batch import profile_batch  # noqa: E402
from hwnas.profiler.serving import RunnerSession  # noqa: E402
from hwnas.profiler.settings import ProfileSettings  # noqa: E402
from hwnas.records import DeviceSpec  # noqa: E402

LOAD_AT_START = os.getloadavg()

PARTS = (
    "process_start",
    "imports",
    "serve_setup",
    "session",
    "warmup",
    "timed",
    "other",
)
MODES = {"one process per model": False, "one process per batch": True}
#: The batch again with the whole --warmup (10 runs) before every model, as before the
#: warm-up had a time cap: its medians must agree with the capped warm-up's.
FULL = "one process per batch, full warm-up"


@dataclass(frozen=True, kw_only=True)
class FullWarmup(ProfileSettings):
    """The settings with the warm-up's time cap lifted (``--warmup-share`` so high that
    every model warms up ``warmup`` times)."""

    def runner_args(self) -> list[str]:
        return [*super().runner_args(), "--warmup-share", "1000"]


def breakdown(calls: list[Any], wall_s: float) -> dict[str, float]:
    """Where the batch's wall time went, in seconds (``PARTS``)."""
    parts = dict.fromkeys(PARTS, 0.0)
    for call in calls:
        phases = call.phases
        if call.new_process:
            parts["process_start"] += call.wall_s - phases.get("runner", 0.0)
        parts["imports"] += phases.get("imports", 0.0)
        parts["serve_setup"] += phases.get("setup", 0.0)
        for name in ("session", "warmup", "timed"):
            parts[name] += phases.get(name, 0.0)
    parts["other"] = wall_s - sum(parts.values())
    return {name: round(value, 3) for name, value in parts.items()}


def run_batch(paths: list[Path], settings: ProfileSettings, reuse: bool) -> dict[str, Any]:
    """One batch in one mode: wall time, breakdown, ratio, each model's figures."""
    transport = LocalTransport()
    with RunnerSession(transport, reuse=reuse) as runner:
        started = time.perf_counter()
        result = profile_batch(transport, DeviceSpec(name="local"), paths, settings, runner=runner)
        wall_s = time.perf_counter() - started
    if result.errors:
        raise SystemExit(f"models failed: {result.errors}")
    parts = breakdown(runner.calls, wall_s)
    return {
        "wall_s": round(wall_s, 3),
        "timed_s": parts["timed"],
        "ratio": round(wall_s / parts["timed"], 3),
        "processes": runner.started,
        "breakdown_s": parts,
        "models": {
            m.model_name: {"median_ms": m.latency_ms.median, "peak_memory_mb": m.peak_memory_mb}
            for _, m in result.measurements
        },
    }


def memory_agreement(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """How each model's peak memory with a reused process compares with fresh processes':
    the medians' difference, the fresh figures' own spread (some models read one of two
    values from run to run, in fresh processes too), and how far any reused figure lies
    outside the range of the fresh ones (0: inside)."""
    rows = {}
    for name in rounds[0]["one process per model"]["models"]:
        fresh = [r["one process per model"]["models"][name]["peak_memory_mb"] for r in rounds]
        reused = [r["one process per batch"]["models"][name]["peak_memory_mb"] for r in rounds]
        outside = max(max(min(fresh) - v, v - max(fresh), 0.0) for v in reused)
        rows[name] = {
            "fresh_mb": [round(v, 2) for v in fresh],
            "reused_mb": [round(v, 2) for v in reused],
            "median_diff_mb": round(statistics.median(reused) - statistics.median(fresh), 2),
            "fresh_spread_mb": round(max(fresh) - min(fresh), 2),
            "outside_fresh_range_mb": round(outside, 2),
        }
    return {
        "max_outside_fresh_range_mb": max(r["outside_fresh_range_mb"] for r in rows.values()),
        "max_abs_median_diff_mb": max(abs(r["median_diff_mb"]) for r in rows.values()),
        "max_fresh_spread_mb": max(r["fresh_spread_mb"] for r in rows.values()),
        "rows": rows,
    }


def warmup_agreement(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each model's median latency after the capped warm-up against the full one (same
    process mode), as ratios; beside them the same ratio between two rounds of the capped
    mode, the noise a change of warm-up has to stand out of."""
    batch, full = "one process per batch", FULL
    rows = {}
    for name in rounds[0][batch]["models"]:
        capped = [r[batch]["models"][name]["median_ms"] for r in rounds]
        whole = [r[full]["models"][name]["median_ms"] for r in rounds]
        rows[name] = {
            "capped_over_full": round(statistics.median(capped) / statistics.median(whole), 4),
            "round_to_round": round(max(capped) / min(capped), 4),
        }
    ratios = [row["capped_over_full"] for row in rows.values()]
    return {
        "median_capped_over_full": round(statistics.median(ratios), 4),
        "max_abs_deviation": round(max(abs(r - 1) for r in ratios), 4),
        "median_round_to_round_spread": round(
            statistics.median(row["round_to_round"] - 1 for row in rows.values()), 4
        ),
        "rows": rows,
    }


def show(mode: str, runs: list[dict[str, Any]]) -> None:
    wall = statistics.median(r["wall_s"] for r in runs)
    timed = statistics.median(r["timed_s"] for r in runs)
    ratios = ", ".join(f"{r['ratio']:.2f}x" for r in runs)
    print(f"\n{mode}: {wall:.1f} s for {timed:.1f} s of timed runs ({ratios} per round)")
    for part in PARTS:
        value = statistics.median(r["breakdown_s"][part] for r in runs)
        print(f"  {part:<14} {value:7.2f} s  ({100 * value / wall:4.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=0.4)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    models = whole_models(args.out / "kernel_models")
    paths = [path for _, _, path in models]
    # The host of `hwnas profile` has onnx imported (it exported or checked models
    # before the batch): the first model's check does not pay for the import here either.
    check_model(paths[0])
    settings = ProfileSettings(max_seconds=args.max_seconds)
    full = FullWarmup(max_seconds=args.max_seconds)
    rounds = []
    for index in range(args.rounds):
        order = [*MODES, FULL] if index % 2 == 0 else [FULL, *reversed(MODES)]
        rounds.append(
            {
                mode: run_batch(paths, full if mode == FULL else settings, MODES.get(mode, True))
                for mode in order
            }
        )
    print(f"{len(paths)} models, {args.rounds} rounds, max_seconds={args.max_seconds}")
    for mode in [*MODES, FULL]:
        show(mode, [r[mode] for r in rounds])
    warmup = warmup_agreement(rounds)
    print(
        f"\nmedian latency, capped warm-up over the full one: median "
        f"{warmup['median_capped_over_full']:.3f}, at most "
        f"{100 * warmup['max_abs_deviation']:.1f}% apart (the same mode from round to "
        f"round: {100 * warmup['median_round_to_round_spread']:.1f}% at the median)"
    )
    memory = memory_agreement(rounds)
    print(
        f"\npeak memory, reused process against fresh processes: every figure within "
        f"{memory['max_outside_fresh_range_mb']} MB of the fresh figures' range (medians at "
        f"most {memory['max_abs_median_diff_mb']} MB apart; fresh runs alone spread up to "
        f"{memory['max_fresh_spread_mb']} MB)"
    )
    doc = {
        **provenance("batch_overhead"),
        "load_average": {"start": LOAD_AT_START, "end": os.getloadavg()},
        "models": [{"family": f, "name": n, "file": p.name} for f, n, p in models],
        "settings": settings.to_dict(),
        "summary": {
            mode: {
                "wall_s": statistics.median(r[mode]["wall_s"] for r in rounds),
                "timed_s": statistics.median(r[mode]["timed_s"] for r in rounds),
                "ratio": statistics.median(r[mode]["ratio"] for r in rounds),
                "breakdown_s": {
                    p: statistics.median(r[mode]["breakdown_s"][p] for r in rounds) for p in PARTS
                },
            }
            for mode in [*MODES, FULL]
        },
        "warmup": warmup,
        "peak_memory": memory,
        "rounds": rounds,
    }
    results = Path(__file__).parent / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "batch_overhead.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
