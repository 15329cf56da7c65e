"""Ratios to a reference model, in milliseconds: the one definition that training labels
(``hwnas.predictors.data.from_store(statistic="ratio")``) and lookup tables
(``LookupTable.from_store(statistic="ratio")``) share.

``hwnas profile --reference REF.onnx`` (and ``hwnas lut build --reference``) time the
reference model after every timed run of a model; each measurement then records, under
``settings["reference"]``, the reference's own latency (``latency_ms``) and the per-pair
ratios model / reference (``ratio``). A slow phase of a shared machine slows both halves
of a pair alike, so the median ratio cancels it. A ratio becomes milliseconds at the
reference's *typical* speed: times the median, over a set of measurements, of the
reference's median in each. All of them must be timed against one reference model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwnas.errors import DataError, HwnasError
from hwnas.records import Measurement


def reference_report(m: Measurement) -> Mapping[str, Any] | None:
    """What ``m`` recorded of the reference timed beside it (``None``: no reference)."""
    report = m.settings.get("reference")
    return report if isinstance(report, Mapping) and report else None


def ratio_median(m: Measurement) -> float | None:
    """The median ratio of ``m`` to its reference (``None`` without a reference)."""
    report = reference_report(m)
    return None if report is None else float(report["ratio"]["median"])


@dataclass(frozen=True)
class ReferenceScale:
    """The reference's typical median (ms) over a set of measurements, and which model."""

    typical_ms: float
    model: str
    model_hash: str | None

    def in_ms(self, ratio: float) -> float:
        """A ratio to the reference in ms at the reference's typical speed."""
        return ratio * self.typical_ms

    def runtime(self) -> dict[str, Any]:
        """What a predictor's origin records of the reference."""
        return {
            "reference_model": self.model,
            "reference_hash": self.model_hash,
            "reference_ms": self.typical_ms,
        }


def reference_scale(
    measurements: Sequence[Measurement], what: str, *, error: type[HwnasError] = DataError
) -> ReferenceScale:
    """The :class:`ReferenceScale` of ``measurements`` (each timed with a reference): the
    median of the reference's median over them. ``error`` (naming ``what``, e.g. "the
    measurements on device 'pi'") when they were timed against several reference models,
    whose ratios are not comparable, or none was timed with a reference."""
    reports = [r for m in measurements if (r := reference_report(m)) is not None]
    if not reports or len(reports) != len(measurements):
        raise error(
            f"{what} include some not timed with a reference model; measure them with --reference"
        )
    references = {str(r.get("model_hash") or r["model"]) for r in reports}
    if len(references) > 1:
        raise error(
            f"{what} were timed against {len(references)} reference models "
            f"({', '.join(sorted(references))}); their ratios are not comparable. Measure "
            f"again with one --reference"
        )
    typical = float(np.median([float(r["latency_ms"]["median"]) for r in reports]))
    first = reports[0]
    return ReferenceScale(typical, str(first["model"]), first.get("model_hash"))


__all__ = ["ReferenceScale", "ratio_median", "reference_report", "reference_scale"]
