"""The main job end to end on the local CPU, as one Python call (``hwnas quickstart``).

1. profile a small built-in CNN (exported to ONNX once) with the full protocol;
2. profile a seeded sample of NAS-Bench-201 cells on this CPU (cached exports; cells
   already in the store under this machine's fingerprint, measured with the same
   settings, are not measured again);
3. train a LightGBM latency predictor for this CPU on this CPU's measurements in the
   store (``hwnas.train_predictor``);
4. search NB201 for the best CIFAR-10 accuracy (the tabular benchmark) under a latency
   budget (the sample's median), verified on this CPU: rounds of search, measuring the
   candidates that matter, retraining (``hwnas.search(verify="local")``), so that every
   architecture returned was *measured* within the budget;
5. with ``output``: the predictor, ``pareto.csv``, ``search.json``, ``history.parquet``,
   the plots and ``report.html`` there.

::

    import hwnas

    result = hwnas.quickstart(sample=40, rounds=2, verify=4, output="hwnas-quickstart")
    result.budget_ms, result.verified   # rows: arch, accuracy, predicted, measured, source
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from hwnas.errors import HwnasError, ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.profiler.api import ProfileResult, profile, profile_space
from hwnas.records import Measurement
from hwnas.search.api import SearchResult, search
from hwnas.spaces import SearchSpace, get_space
from hwnas.store import Store

STAGES = 5
#: The cells' timing protocol: shorter than the CNN's, enough for a median within 2%.
CELL_SETTINGS: dict[str, Any] = {"target_ci": 0.02, "warmup": 5}


@dataclass
class Verified:
    """One architecture of the verified front: measured on this CPU within the budget.
    ``round`` says which measurement: 0 is the training sample (this run's, or an earlier
    run's with the same fingerprint and settings), ``r >= 1`` the verification round."""

    arch: str
    accuracy: float
    predicted_ms: float
    measured_ms: float | None
    budget_ms: float
    round: int = 0

    @property
    def within_budget(self) -> bool | None:
        return None if self.measured_ms is None else self.measured_ms <= self.budget_ms

    @property
    def source(self) -> str:
        return "training sample" if self.round == 0 else f"verify round {self.round}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "cifar10_accuracy": self.accuracy,
            "predicted_ms": self.predicted_ms,
            "measured_ms": self.measured_ms,
            "within_budget": self.within_budget,
            "measured_in": self.source,
        }


@dataclass
class QuickstartResult:
    """What each stage produced: the CNN's measurements, how many cells trained the
    predictor, the budget, the search result and the verified architectures."""

    cnn: ProfileResult
    sample: int
    budget_ms: float
    search: SearchResult
    verified: list[Verified]
    store: str
    warnings: list[str] = field(default_factory=list)
    #: Where the predictor and the search's files were written (``output``), if anywhere.
    output: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document ``hwnas quickstart --json`` prints."""
        return {
            "measurements": [m.to_dict(samples=False) for m in self.cnn],
            "pipeline": {
                "sample": self.sample,
                "budget_ms": self.budget_ms,
                "evaluated": self.search.evaluated,
                "pareto": len(self.search.pareto),
                "verify_measurements": self.search.measurements,
                "verified": [v.to_dict() for v in self.verified],
                "output": self.output,
            },
        }


def _check(max_seconds: float, sample: int, verify: int, rounds: int) -> None:
    if sample < 10:
        raise ParameterError("sample", f"must be >= 10 (a predictor needs some data), got {sample}")
    if verify < 1:
        raise ParameterError("verify", f"must be >= 1, got {verify}")
    if rounds < 1:
        raise ParameterError("rounds", f"must be >= 1, got {rounds}")
    if not max_seconds > 0:
        raise ParameterError("max_seconds", f"must be > 0, got {max_seconds}")


def _stage(report: ProgressCallback, number: int, text: str) -> None:
    report(Event("note", stage="quickstart", done=number, total=STAGES, message=text))


def _reused(result: ProfileResult, space: str) -> dict[str, Measurement]:
    """The newest stored measurement of each architecture ``result`` skipped: one taken
    under the same fingerprint with the same settings (what skipping it promised)."""
    found: dict[str, Measurement] = {}
    skipped = set(result.skipped)
    for reuse in result.reused:
        with Store(result.store) as db:
            stored = db.measurements(
                device=reuse["device"],
                space=space,
                fingerprint=reuse["fingerprint"],
                settings_key=reuse["settings_key"],
            )
        for s in stored:  # oldest first: the newest wins
            m = s.measurement
            if m.arch and m.arch.string in skipped and m.fingerprint_hash == reuse["fingerprint"]:
                found[m.arch.string] = m
    return found


def _measure_cells(
    space: SearchSpace,
    archs: list[str],
    store: str,
    settings: dict[str, Any],
    progress: Any,
    *,
    fresh: bool = False,
) -> dict[str, Measurement]:
    """Each architecture's measurement on this CPU: taken now, or (unless ``fresh``) one
    stored earlier under the same fingerprint with the same settings."""
    done = profile_space(
        space,
        archs=archs,
        store=store,
        exporter="torchscript",
        fresh=fresh,
        progress=progress,
        **settings,
    )
    _stop_if_interrupted(done)
    found = _reused(done, space.name)
    found.update({m.arch.string: m for m in done if m.arch is not None})
    return found


def _stop_if_interrupted(result: ProfileResult) -> None:
    """Ctrl-C during a stage ends the pipeline as it ends any Python call; what was
    measured is stored and ``hwnas.profiler.api.resume()`` finishes the queued rest."""
    if result.interrupted:
        raise KeyboardInterrupt


def quickstart(
    *,
    max_seconds: float = 2.0,
    sample: int = 40,
    verify: int = 4,
    rounds: int = 2,
    seed: int = 0,
    store: str | PathLike[str] | None = None,
    output: str | PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> QuickstartResult:
    """Run the five stages of the module docstring on the local device.

    ``max_seconds``: time limit per model (the cells get at most 1 s each); ``sample``:
    NB201 cells to measure for training (>= 10); ``rounds`` of verification measuring
    at most ``verify`` candidates each; ``seed``: seeds the sample and the search;
    ``store``: as for :func:`hwnas.profile`; ``output``: a directory for the predictor
    (``predictor/``) and the search's files (``pareto.csv``, ``search.json``, plots).
    Stage announcements are ``"note"`` events with ``done`` set to the stage's number.
    Raises ``ParameterError`` for bad arguments and the profiling errors of
    :func:`hwnas.profile` (nothing measured is lost).
    """
    _check(max_seconds, sample, verify, rounds)
    from hwnas.examples import example_onnx

    report = emitter(progress)
    _stage(report, 1, "profiling a small MobileNetV2-like CNN")
    cnn = profile(
        [example_onnx()],
        store=store,
        progress=progress,
        max_seconds=max_seconds,
        target_ci=0.01,
        op_profile=True,
    )
    _stop_if_interrupted(cnn)
    quick = {**CELL_SETTINGS, "max_seconds": min(max_seconds, 1.0)}
    nb201 = get_space("nb201")
    _stage(report, 2, f"profiling {sample} NAS-Bench-201 cells on this CPU")
    measured = _measure_cells(
        nb201, nb201.sample_distinct(seed, sample), cnn.store, quick, progress
    )
    if len(measured) < 10:
        raise HwnasError(f"only {len(measured)} cells were measured; rerun quickstart")
    predictor = _train(nb201, measured, cnn.store, seed, report)
    budget = statistics.median(m.latency_ms.median for m in measured.values())
    _stage(
        report,
        4,
        f"searching NB201 for CIFAR-10 accuracy with latency_ms <= {budget:.3g}, verified "
        f"on this CPU ({rounds} round(s) of at most {verify} measurements)",
    )
    found = search(
        space=nb201,
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": budget},
        population=32,
        generations=15,
        seed=seed,
        verify="local",
        rounds=rounds,
        verify_per_round=verify,
        max_measurements=rounds * verify,
        store=cnn.store,
        profile_settings=quick,
        progress=progress,
    )
    written = _write(output, predictor, found, report)
    return QuickstartResult(
        cnn, len(measured), budget, found, _rows(found, budget), cnn.store, cnn.warnings, written
    )


def _rows(found: SearchResult, budget: float) -> list[Verified]:
    """The verified front as rows, each saying which measurement it is."""
    rounds_of = (found.verify or {}).get("pareto_rounds", {})
    return [
        Verified(
            c.arch,
            c.accuracy,
            c.metrics["latency_ms"],
            c.measured.get("latency_ms"),
            budget,
            int(rounds_of.get(c.arch, 0)),
        )
        for c in found.pareto
    ]


def _train(
    space: SearchSpace,
    measured: dict[str, Measurement],
    store: str,
    seed: int,
    report: ProgressCallback,
) -> Any:
    """A latency predictor trained on this CPU's measurements in the store, of the
    fingerprint the cells were just measured under (so verification can refit it)."""
    from hwnas.predictors.train import train_predictor

    fingerprints = {m.fingerprint_hash for m in measured.values()}
    fingerprint = max(fingerprints)  # one, unless the machine changed mid-run
    _stage(
        report,
        3,
        f"training a latency predictor on this CPU's measurements ({len(measured)} of the sample)",
    )
    return train_predictor(
        space=space,
        metric="latency_ms",
        device="local",
        store=store,
        fingerprint=fingerprint,
        seed=seed,
    )


def _write(
    output: str | PathLike[str] | None,
    predictor: Any,
    found: SearchResult,
    report: ProgressCallback,
) -> str | None:
    """With ``output``: the predictor and the search's files there; its path."""
    if output is None:
        return None
    directory = Path(output)
    _stage(report, 5, f"writing the predictor and the results to {directory}/")
    from hwnas.search.report import write_report

    found.save(directory)
    predictor.save(directory / "predictor")
    write_report(directory)
    return str(directory)
