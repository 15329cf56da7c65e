"""Training and scoring predictors from measurements: ``hwnas.train_predictor`` and
``hwnas.predictors.train.evaluate_predictor``.

Both read measurements from a measurement table or from the store
(:func:`hwnas.predictors.data.training_data`), raise ``HwnasError`` subclasses (bad
Python arguments are :class:`~hwnas.errors.ParameterError` naming the parameter) and
print nothing: ``train_predictor`` reports its stages through ``progress=``
(:mod:`hwnas.events`). ``hwnas predictor train`` and ``hwnas predictor eval`` are these
calls plus rendering.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hwnas.errors import DataError, ParameterError
from hwnas.events import Event, ProgressCallback, emitter
from hwnas.predictors import metrics
from hwnas.predictors.base import (
    FeaturePredictor,
    Interval,
    Origin,
    Predictor,
    check_metric,
    training_hash,
)
from hwnas.predictors.data import LATENCY_STATISTICS, TrainingData, check_source, training_data
from hwnas.predictors.transfer import CORRECTIONS
from hwnas.spaces import SearchSpace, resolve_space

if TYPE_CHECKING:
    from hwnas.predictors.lut import LookupTable
    from hwnas.store import Store

#: Constructor arguments ``train_predictor`` sets itself -> its own argument that does.
_OWN = {
    "space": "space",
    "metric": "metric",
    "seed": "seed",
    "base": "base",
    "correction": "correction",
    "block_table": "lut",
}

PathLike = str | os.PathLike[str]


def _check_arguments(
    *,
    metric: str,
    table: PathLike | None,
    device: str | None,
    seed: int,
    statistic: str,
    correction: str,
    lut: object,
    base: object,
) -> None:
    """Every check of ``train_predictor``'s own arguments, before anything is read."""
    check_metric(metric)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("seed", f"must be an int >= 0, got {seed!r}")
    if statistic not in LATENCY_STATISTICS:
        raise ParameterError(
            "statistic", f"must be one of {', '.join(LATENCY_STATISTICS)}, got {statistic!r}"
        )
    if statistic != "p50" and metric != "latency_ms":
        raise ParameterError(
            "statistic",
            f"{statistic!r} applies to latency_ms only (memory and energy are one value a "
            f"measurement); leave it at 'p50' for {metric}",
        )
    check_source(table=table, device=device, statistic=statistic)
    if correction not in CORRECTIONS:
        raise ParameterError(
            "correction", f"must be one of {', '.join(CORRECTIONS)}, got {correction!r}"
        )
    if lut is not None and base is not None:
        raise ParameterError(
            "lut", "is for a new predictor; a transfer (base=) uses its base predictor's features"
        )


def _block_table(lut: LookupTable | PathLike | None, space: SearchSpace) -> LookupTable | None:
    """The lookup table whose block sum becomes a feature: as given, or read from its file
    (a table of another space is refused)."""
    from hwnas.predictors.lut import LookupTable, read_table

    if lut is None or isinstance(lut, LookupTable):
        return lut
    return read_table(Path(lut), space=space)


def _constructor(cls: type[Predictor], options: dict[str, Any]) -> None:
    """Refuse ``options`` the class's constructor does not take, naming them."""
    taken = sorted(set(_OWN) & set(options))
    if taken:
        raise ParameterError(taken[0], f"is set by train_predictor; pass {_OWN[taken[0]]}= instead")
    accepted = set(inspect.signature(cls).parameters) - set(_OWN)
    for name in sorted(options):
        if name not in accepted:
            raise ParameterError(
                name,
                f"is not an option of a {cls.kind} predictor; it takes "
                f"{', '.join(sorted(accepted)) or 'no options'}",
            )


def _new_predictor(
    space: SearchSpace,
    metric: str,
    *,
    base: Predictor | PathLike | None,
    block_table: LookupTable | None,
    seed: int,
    correction: str,
    force: bool,
    options: dict[str, Any],
) -> Predictor:
    """An unfitted LightGBM predictor, or a transfer of ``base`` (loaded if a path)."""
    from hwnas.predictors.artifacts import load_predictor
    from hwnas.predictors.lgbm import LightGBMPredictor
    from hwnas.predictors.transfer import TransferPredictor

    if base is None:
        _constructor(LightGBMPredictor, options)
        return LightGBMPredictor(
            space=space, metric=metric, seed=seed, block_table=block_table, **options
        )
    _constructor(TransferPredictor, options)
    given = base if isinstance(base, Predictor) else load_predictor(base, space=space, force=force)
    if not isinstance(given, FeaturePredictor):
        raise ParameterError(
            "base", f"must be a LightGBM or transfer predictor, got a {given.kind} predictor"
        )
    if given.space.name != space.name:
        raise ParameterError(
            "base",
            f"predicts space {given.space.name!r}, not {space.name!r}; use one of {space.name!r}",
        )
    return TransferPredictor(base=given, metric=metric, correction=correction, seed=seed, **options)


def _check_enough(data: TrainingData, predictor: Predictor, space: SearchSpace) -> None:
    needed = int(getattr(predictor, "min_rows", 1))
    if len(data.archs) < needed:
        what = "a transfer" if predictor.kind == "transfer" else "a predictor"
        raise DataError(
            f"only {len(data.archs)} distinct architecture(s) to learn from; "
            f"{what} needs at least {needed}. "
            f"Measure more (`hwnas profile --space {space.name} --sample N`)"
        )


def train_predictor(
    *,
    space: SearchSpace | str,
    metric: str = "latency_ms",
    table: PathLike | None = None,
    device: str | None = None,
    store: Store | PathLike | None = None,
    base: Predictor | PathLike | None = None,
    fingerprint: str | None = None,
    statistic: str = "p50",
    precision: str | None = None,
    lut: LookupTable | PathLike | None = None,
    seed: int = 0,
    correction: str = "ridge",
    arch_form: str = "auto",
    force: bool = False,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> Predictor:
    """A fitted predictor of ``metric`` of ``space``'s architectures on one device.

    The data: the measurement ``table`` (CSV or Parquet, columns ``arch`` and
    ``metric``) when given, ``device`` then keeping that device's rows (or naming the
    table's device); otherwise the measurements on ``device`` in ``store`` (a
    :class:`~hwnas.store.Store` or where to open one; default ``$HWNAS_STORE`` or
    ``./hwnas.db``), of one ``fingerprint`` (a hash or its start; required when there
    are several), learning ``statistic`` of each latency distribution (``p50``, ``p10``
    or ``ratio``, see :func:`hwnas.predictors.data.from_store`), of one ``precision``
    (``fp32``, ``int8``, ``int8-dynamic``: what ``profile --precision`` measured; required
    when there are several, recorded in ``origin_.precision``). One of ``table`` and
    ``device`` must be given.

    The predictor: a :class:`~hwnas.predictors.lgbm.LightGBMPredictor` (``seed``; ``lut``,
    a :class:`~hwnas.predictors.lut.LookupTable` of the device or its file, adds its
    block sum as a feature), or with ``base`` (a predictor of another device, or its
    directory, loaded with ``force``; or a set of bases to choose and weight from the
    measurements alone: ``hwnas.predictors.zoo.zoo_bases()``, the shipped device zoo, or
    ``base_set([...])``) a few-shot
    :class:`~hwnas.predictors.transfer.TransferPredictor` with ``correction``.
    ``options`` go to the predictor's constructor (``max_rounds=``, ``n_jobs=``,
    ``quantiles=`` ...). ``origin_`` of the result says where the data came from.

    ``arch_form`` says which world the labels come from (``hwnas.spaces.forms``):
    ``canonical`` (one network per equivalence class; every string is predicted as its
    class's canonical one), ``as-written`` (each spelling measured itself), or ``auto``:
    canonical for the store's measurements, what the table shows for a table.
    ``origin_.arch_form`` and ``origin_.arch_form_reason`` record the decision.

    Raises ``ParameterError`` for bad arguments, ``DataError`` for data that cannot be
    learnt from (too few architectures, mixed fingerprints ...), ``SpaceError``,
    ``LookupTableError`` and ``ArtifactError``. Save the result with ``.save(dir)``.
    """
    _check_arguments(
        metric=metric,
        table=table,
        device=device,
        seed=seed,
        statistic=statistic,
        correction=correction,
        lut=lut,
        base=base,
    )
    report = emitter(progress)
    the_space = resolve_space(space)
    block_table = _block_table(lut, the_space)
    predictor = _new_predictor(
        the_space,
        metric,
        base=base,
        block_table=block_table,
        seed=seed,
        correction=correction,
        force=force,
        options=options,
    )
    report(Event("step", stage="reading measurements", done=0, total=1))
    data = training_data(
        space=the_space,
        metric=metric,
        table=table,
        device=device,
        store=store,
        fingerprint=fingerprint,
        statistic=statistic,
        arch_form=arch_form,
        precision=precision,
    )
    report(Event("step", stage="reading measurements", done=1, total=1))
    _check_enough(data, predictor, the_space)
    if block_table is not None and data.origin.device not in (None, block_table.device):
        report(Event("warning", message=_other_device(block_table, data.origin)))
    stage = f"training on {len(data.archs):,} architectures"
    report(Event("step", stage=stage, done=0, total=1))
    predictor.fit(data.archs, data.values, origin=data.origin)
    report(Event("step", stage=stage, done=1, total=1))
    return predictor


def _other_device(table: LookupTable, origin: Origin) -> str:
    return (
        f"the lookup table was measured on device {table.device!r}, the training data on "
        f"{origin.device!r}: its block sum is a weaker feature for another device"
    )


# -- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """How a predictor scores on measurements it is tested on.

    ``groups`` maps ``all`` (and, for spaces that flag disconnected architectures such as
    NAS-Bench-201, ``connected`` and ``disconnected``) to :func:`hwnas.predictors.
    metrics.report` (``n``, ``mape`` in %, ``rmse``, ``spearman``, ``kendall``,
    ``within_5``, ``within_10``); ``coverage`` is the share of measured values inside
    the predicted intervals and ``nominal`` what the predictor promises (None: not
    calibrated); ``warnings`` say why scores may mislead (testing on the training set).
    ``archs``, ``measured`` and ``interval`` are the rows scored. ``intervals`` holds, per
    group, a 95% bootstrap interval of MAPE, Spearman, Kendall and the shares within ±5%
    and ±10% (:func:`hwnas.predictors.metrics.bootstrap`, 400 seeded resamples of the
    rows: one per architecture, or per class where the table is canonical).
    """

    space: str
    metric: str
    groups: dict[str, dict[str, Any]]
    coverage: float
    nominal: float | None
    archs: list[str]
    measured: np.ndarray
    interval: Interval
    origin: Origin
    warnings: list[str] = field(default_factory=list)
    intervals: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``space``, ``metric``, ``groups`` (nan as None), ``interval``
        (``coverage``, ``nominal``) and ``warnings``."""
        return {
            "space": self.space,
            "metric": self.metric,
            "groups": {k: metrics.json_ready(v) for k, v in self.groups.items()},
            "interval": {"coverage": self.coverage, "nominal": self.nominal},
            "intervals": {
                group: {k: [None if math.isnan(v) else v for v in ends] for k, ends in kept.items()}
                for group, kept in self.intervals.items()
            },
            "warnings": list(self.warnings),
        }


#: The warning of an evaluation on the predictor's own training data.
TRAINING_SET_WARNING = "this is the predictor's training set: the scores flatter it"


def _group_rows(space: SearchSpace, archs: list[str]) -> dict[str, np.ndarray]:
    """The rows of each group scored: ``all``, and where the space flags disconnected
    architectures (NAS-Bench-201), ``connected`` and ``disconnected`` apart."""
    rows = {"all": np.ones(len(archs), dtype=bool)}
    flag: Callable[[str], Any] | None = getattr(space, "is_disconnected", None)
    if callable(flag):
        apart = np.array([bool(flag(a)) for a in archs], dtype=bool)
        rows["connected"], rows["disconnected"] = ~apart, apart
    return rows


def _groups(
    space: SearchSpace, archs: list[str], measured: np.ndarray, predicted: np.ndarray
) -> dict[str, dict[str, Any]]:
    return {
        name: metrics.report(measured[keep], predicted[keep])
        for name, keep in _group_rows(space, archs).items()
    }


def _intervals(
    space: SearchSpace, archs: list[str], measured: np.ndarray, predicted: np.ndarray
) -> dict[str, dict[str, list[float]]]:
    return {
        name: metrics.bootstrap(measured[keep], predicted[keep])
        for name, keep in _group_rows(space, archs).items()
    }


def evaluate_predictor(
    predictor: Predictor | PathLike,
    *,
    table: PathLike | None = None,
    device: str | None = None,
    store: Store | PathLike | None = None,
    fingerprint: str | None = None,
    statistic: str = "p50",
    arch_form: str = "auto",
    force: bool = False,
    precision: str | None = None,
) -> Evaluation:
    """Score ``predictor`` (or the predictor directory it names, loaded with ``force``)
    on measurements of its space and metric: the ``table``, or the store's measurements
    on ``device`` (as in :func:`train_predictor`; ``arch_form`` says which world the
    measured values come from, detected by default). A warning says when that world is
    not the one the predictor learnt. ``precision``: of the measurements scored (default:
    the one the predictor learnt, ``origin_.precision``). Raises ``ParameterError``,
    ``DataError`` and ``ArtifactError``; see :class:`Evaluation` for what it returns."""
    if not isinstance(predictor, Predictor):
        from hwnas.predictors.artifacts import load_predictor

        predictor = load_predictor(Path(predictor), force=force)
    predictor.check_is_fitted()
    space = predictor.space
    if space is None:
        raise ParameterError(
            "predictor",
            "has no space to read architectures of; load it with "
            "hwnas.load_predictor(DIR, space=NAME)",
        )
    data = training_data(
        space=space,
        metric=predictor.metric,
        table=table,
        device=device,
        store=store,
        fingerprint=fingerprint,
        statistic=statistic,
        arch_form=arch_form,
        precision=precision or getattr(predictor.origin_, "precision", None),
    )
    interval = predictor.predict_interval(data.archs)
    inside = (interval.low <= data.values) & (data.values <= interval.high)
    same = training_hash(data.archs, data.values) == predictor.training_hash_
    return Evaluation(
        space=space.name,
        metric=predictor.metric,
        groups=_groups(space, data.archs, data.values, interval.value),
        coverage=float(inside.mean()),
        nominal=predictor.interval_share,
        archs=data.archs,
        measured=data.values,
        interval=interval,
        origin=data.origin,
        warnings=([TRAINING_SET_WARNING] if same else []) + _form_warnings(predictor, data.origin),
        intervals=_intervals(space, data.archs, data.values, interval.value),
    )


def _form_warnings(predictor: Predictor, origin: Origin) -> list[str]:
    """A warning when the measurements scored are of another world than the predictor's
    labels (a canonical predictor scored on a table measured as written, or the reverse)."""
    learnt = getattr(predictor, "arch_form", None)
    if learnt is None or origin.arch_form in (None, learnt):
        return []
    return [
        f"the predictor learnt {learnt} labels, but these measurements are {origin.arch_form} "
        f"({origin.arch_form_reason}): spellings of one class are scored against values "
        f"the predictor was not taught to tell apart"
    ]


__all__ = ["TRAINING_SET_WARNING", "Evaluation", "evaluate_predictor", "train_predictor"]
