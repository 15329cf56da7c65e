"""`hwnas quickstart`: the main job end to end on the local CPU, with nothing to configure.

1. profile a small built-in CNN (exported to ONNX) with the full protocol;
2. profile a seeded sample of NAS-Bench-201 cells on this CPU (cached exports; what
   is already in the store under this machine's fingerprint is not measured again);
3. train a LightGBM latency predictor for this CPU on those measurements;
4. search NB201 with NSGA-II for the best CIFAR-10 accuracy (the tabular benchmark)
   under a latency budget, using the predictor;
5. verify the best architectures found by measuring them, predicted vs measured.
"""

from __future__ import annotations

import statistics
import uuid
from typing import Any

import typer
from rich.table import Table

from hwnas.cli._common import (
    JsonOption,
    StoreOption,
    err,
    fail,
    note,
    open_store,
    out,
    print_json,
    warn,
)
from hwnas.errors import HwnasError, UsageError
from hwnas.records import Measurement


def quickstart(
    max_seconds: float = typer.Option(2.0, "--max-seconds", help="Time limit per model."),
    sample: int = typer.Option(40, "--sample", help="NB201 cells to measure for training."),
    verify: int = typer.Option(3, "--verify", help="Pareto architectures to measure."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the search."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Profile a CNN, learn this CPU's NB201 latency, search under a budget, verify."""
    from hwnas.devices.registry import get_device
    from hwnas.examples import example_onnx, example_onnx_path
    from hwnas.predictors import LightGBMPredictor
    from hwnas.profiler.fleet import DevicePlan, SpaceSample
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.search.accuracy import TabularAccuracy
    from hwnas.search.nsga import run_search
    from hwnas.spaces import get_space
    from hwnas.store import NewJob

    try:
        if sample < 10 or verify < 1:
            raise UsageError(
                f"--sample must be >= 10 and --verify >= 1 (got {sample}, "
                f"{verify}): a predictor needs some data"
            )
        spec = get_device("local")
        store = open_store(store_path)
        location = store.url
        settings = ProfileSettings(max_seconds=max_seconds, target_ci=0.01)
        quick = ProfileSettings(max_seconds=min(max_seconds, 1.0), target_ci=0.02, warmup=5)
        if not example_onnx_path().exists():
            err.print("[1/5] exporting a small MobileNetV2-like CNN")
        path = example_onnx()
        with store:
            jobs = store.add_jobs(
                uuid.uuid4().hex[:12],
                "local",
                [
                    NewJob(
                        label=str(path),
                        model_path=str(path),
                        arch=None,
                        settings={**settings.to_dict(), "op_profile": True},
                    )
                ],
            )
        from hwnas.cli.profile_cmd import local_contention

        local_contention([spec])
        err.print("[1/5] profiling the CNN")
        cnn = _run([DevicePlan(spec=spec, settings=settings, jobs=jobs)], location)
        nb201 = get_space("nb201")
        archs = nb201.sample_distinct(seed, sample)
        err.print(f"[2/5] profiling {sample} NAS-Bench-201 cells on this CPU")
        _run(
            [
                DevicePlan(
                    spec=spec, settings=quick, sample=SpaceSample(nb201, archs, "torchscript")
                )
            ],
            location,
            space=nb201,
        )
        measured = _latest(location, nb201.name, archs)
        err.print(f"[3/5] training a latency predictor on {len(measured)} measurements")
        names = sorted(measured)
        predictor = LightGBMPredictor(space=nb201, seed=seed).fit(
            names, [measured[a].latency_ms.median for a in names]
        )
        budget = statistics.median(m.latency_ms.median for m in measured.values())
        err.print(
            f"[4/5] searching NB201 for CIFAR-10 accuracy with latency_ms <= "
            f"{budget:.3g} (the sample's median)"
        )
        result = run_search(
            nb201,
            TabularAccuracy(nb201),
            {"latency_ms": predictor},
            budgets={"latency_ms": budget},
            population=32,
            generations=15,
            seed=seed,
        )
        best = result.pareto[:verify]
        err.print(f"[5/5] verifying the {len(best)} most accurate architectures found")
        _run(
            [
                DevicePlan(
                    spec=spec,
                    settings=quick,
                    sample=SpaceSample(nb201, [c.arch for c in best], "torchscript"),
                )
            ],
            location,
            space=nb201,
        )
        checked = _latest(location, nb201.name, [c.arch for c in best])
    except HwnasError as exc:
        fail(exc, as_json=as_json)

    rows: list[dict[str, Any]] = []
    for c in best:
        got = checked.get(c.arch)
        measured_ms = got.latency_ms.median if got is not None else None
        rows.append(
            {
                "arch": c.arch,
                "cifar10_accuracy": c.accuracy,
                "predicted_ms": c.metrics["latency_ms"],
                "measured_ms": measured_ms,
                "within_budget": None if measured_ms is None else measured_ms <= budget,
            }
        )
    over = [r for r in rows if r["within_budget"] is False]
    if as_json:
        print_json(
            {
                "measurements": [m.to_dict(samples=False) for m in cnn],
                "pipeline": {
                    "sample": len(measured),
                    "budget_ms": budget,
                    "evaluated": result.evaluated,
                    "pareto": len(result.pareto),
                    "verified": rows,
                },
            }
        )
        return
    from hwnas.cli.profile_cmd import op_profile_table, results_table

    out.print(results_table(cnn))
    for m in cnn:
        if m.op_profile:
            out.print(op_profile_table(m))
    table = Table(
        title=f"NB201 under latency_ms <= {budget:.3g} on this CPU: best found, verified",
        title_justify="left",
    )
    for col in ("arch", "CIFAR-10 %", "predicted ms", "measured ms", "error", "in budget"):
        table.add_column(col, overflow="fold", justify="left" if col == "arch" else "right")
    for r in rows:
        predicted, measured_ms = r["predicted_ms"], r["measured_ms"]
        table.add_row(
            r["arch"],
            f"{r['cifar10_accuracy']:.2f}",
            f"{predicted:.4g}",
            "—" if measured_ms is None else f"{measured_ms:.4g}",
            "—"
            if measured_ms is None
            else f"{100 * (predicted - measured_ms) / measured_ms:+.1f}%",
            "—" if measured_ms is None else ("yes" if r["within_budget"] else "no"),
        )
    out.print(table)
    if over:
        warn(
            f"{len(over)} of {len(rows)} verified architecture(s) measured over the budget "
            f"of {budget:.3g} ms: the predictor learnt from only {len(measured)} cells. "
            f"Measure more (--sample 200), or search with a margin below the budget"
        )
    note(
        f"{result.evaluated} architectures evaluated by the predictor, {len(result.pareto)} "
        f"on the Pareto front; measurements are in {location}. Next: the README's "
        f"devices section measures a Raspberry Pi the same way."
    )


def _run(plans: list[Any], location: str, space: Any = None) -> list[Measurement]:
    from hwnas.cli.profile_cmd import run_with_progress

    outcomes, interrupted = run_with_progress(
        plans, location=location, batch=uuid.uuid4().hex[:12], space=space
    )
    if interrupted:
        note(
            "interrupted; what was measured is stored (`hwnas profile --resume` finishes the rest)"
        )
        raise typer.Exit(130)
    for o in outcomes:
        if o.error is not None:
            raise o.error
        if o.result.errors:
            raise HwnasError(
                f"quickstart could not measure {o.result.errors[0]['model']}: "
                f"{o.result.errors[0]['message']}"
            )
    return [m for o in outcomes for _, m in o.result.measurements]


def _latest(location: str, space: str, archs: list[str]) -> dict[str, Measurement]:
    """The newest local measurement of each arch under the current fingerprint."""
    wanted = set(archs)
    with open_store(location) as store:
        stored = store.measurements(device="local", space=space)
    found: dict[str, Measurement] = {}
    newest_fp = stored[-1].measurement.fingerprint_hash if stored else None
    for s in stored:
        m = s.measurement
        if m.arch and m.arch.string in wanted and m.fingerprint_hash == newest_fp:
            found[m.arch.string] = m
    return found
