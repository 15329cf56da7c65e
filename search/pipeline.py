"""The main job end to end on the local CPU, as one Python call (``hwnas quickstart``).

1. profile a small built-in CNN (exported to ONNX once) with the full protocol;
2. profile a seeded sample of NAS-Bench-201 cells on this CPU (cached exports; cells
   already in the store under this machine's fingerprint, measured with the same
   settings, are not measured again);
3. train a LightGBM latency predictor for this CPU on those measurements;
4. search NB201 with NSGA-II for the best CIFAR-10 accuracy (the tabular benchmark)
   under a latency budget (the sample's median), using the predictor;
5. verify the best architectures found by measuring them now (never a stored
   measurement, not even the training one): predicted against measured.

::

    import hwnas.search.pipeline as pipeline

    result = pipeline.quickstart(sample=40, verify=3)
    result.budget_ms, result.verified   # rows: arch, accuracy, predicted, measured
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from hwnas.errors import HwnasError, ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.predictors import LightGBMPredictor
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
    """One searched architecture measured on the device."""

    arch: str
    accuracy: float
    predicted_ms: float
    measured_ms: float | None
    budget_ms: float

    @property
    def within_budget(self) -> bool | None:
        return None if self.measured_ms is None else self.measured_ms <= self.budget_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "cifar10_accuracy": self.accuracy,
            "predicted_ms": self.predicted_ms,
            "measured_ms": self.measured_ms,
            "within_budget": self.within_budget,
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

    def to_dict(self) -> dict[str, Any]:
        """The document ``hwnas quickstart --json`` prints."""
        return {
            "measurements": [m.to_dict(samples=False) for m in self.cnn],
            "pipeline": {
                "sample": self.sample,
                "budget_ms": self.budget_ms,
                "evaluated": self.search.evaluated,
                "pareto": len(self.search.pareto),
                "verified": [v.to_dict() for v in self.verified],
            },
        }


def _check(max_seconds: float, sample: int, verify: int) -> None:
    if sample < 10:
        raise ParameterError("sample", f"must be >= 10 (a predictor needs some data), got {sample}")
    if verify < 1:
        raise ParameterError("verify", f"must be >= 1, got {verify}")
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
    verify: int = 3,
    seed: int = 0,
    store: str | PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> QuickstartResult:
    """Run the five stages of the module docstring on the local device.

    ``max_seconds``: time limit per model (the cells get at most 1 s each); ``sample``:
    NB201 cells to measure for training (>= 10); ``verify``: Pareto architectures to
    measure; ``seed``: seeds the sample and the search; ``store``: as for
    :func:`hwnas.profile`. Stage announcements are ``"note"`` events with ``done`` set
    to the stage's number. Raises ``ParameterError`` for bad arguments and the
    profiling errors of :func:`hwnas.profile` (nothing measured is lost).
    """
    _check(max_seconds, sample, verify)
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
    archs = nb201.sample_distinct(seed, sample)
    _stage(report, 2, f"profiling {sample} NAS-Bench-201 cells on this CPU")
    measured = _measure_cells(nb201, archs, cnn.store, quick, progress)
    if len(measured) < 10:
        raise HwnasError(f"only {len(measured)} cells were measured; rerun quickstart")
    _stage(report, 3, f"training a latency predictor on {len(measured)} measurements")
    names = sorted(measured)
    predictor = LightGBMPredictor(space=nb201, seed=seed).fit(
        names, [measured[a].latency_ms.median for a in names]
    )
    budget = statistics.median(m.latency_ms.median for m in measured.values())
    _stage(report, 4, f"searching NB201 for CIFAR-10 accuracy with latency_ms <= {budget:.3g}")
    found = search(
        space=nb201,
        predictors={"latency_ms": predictor},
        budgets={"latency_ms": budget},
        population=32,
        generations=15,
        seed=seed,
        progress=progress,
    )
    best = found.pareto[:verify]
    _stage(report, 5, f"verifying the {len(best)} most accurate architectures found")
    # Measured now: a stored measurement (the training one, a former run's) verifies nothing.
    checked = _measure_cells(nb201, [c.arch for c in best], cnn.store, quick, progress, fresh=True)
    rows = [
        Verified(
            c.arch,
            c.accuracy,
            c.metrics["latency_ms"],
            checked[c.arch].latency_ms.median if c.arch in checked else None,
            budget,
        )
        for c in best
    ]
    return QuickstartResult(cnn, len(measured), budget, found, rows, cnn.store, cnn.warnings)
