"""What :func:`hwnas.search.api.search` accepts, resolved and checked: the space as the
predictors tell its architectures apart, budgets, predictors (objects or saved
directories, one per metric, of one precision) and the accuracy source."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hwnas.errors import ParameterError
from hwnas.executors import check_executor, check_jobs
from hwnas.search.accuracy import AccuracySource, CallableAccuracy, accuracy_source
from hwnas.search.nsga import (
    MetricPredictor,
    parse_budget,
)
from hwnas.spaces import SearchSpace
from hwnas.spaces.forms import AS_WRITTEN, written_as_is

if TYPE_CHECKING:
    pass

#: A predictor as ``search`` accepts it: a fitted object or a saved predictor directory.
PredictorLike = MetricPredictor | str | os.PathLike[str]
#: An accuracy as ``search`` accepts it: a spec string, a source, or ``archs -> scores``.
AccuracyLike = str | AccuracySource | Callable[[list[str]], Any]


def searched_space(space: SearchSpace, models: Mapping[str, MetricPredictor]) -> SearchSpace:
    """The space as the predictors tell its architectures apart: ``space`` itself when
    they learnt one network per equivalence class (or predate forms), its
    :func:`~hwnas.spaces.forms.written_as_is` view when any learnt spellings measured as
    written, so the search samples, deduplicates and measures strings, not classes."""
    forms = {getattr(p, "arch_form", None) for p in models.values()}
    return written_as_is(space) if AS_WRITTEN in forms else space


def resolve_budgets(budgets: Mapping[str, float] | Sequence[str] | str) -> dict[str, float]:
    """``{metric: bound}`` from a mapping or ``"metric=bound"`` strings (a later string
    for the same metric wins); every bound a positive finite number."""
    if isinstance(budgets, str):
        budgets = [budgets]
    if isinstance(budgets, Mapping):
        return {str(name): _bound(str(name), value) for name, value in budgets.items()}
    if isinstance(budgets, Iterable):
        parsed: dict[str, float] = {}
        for text in budgets:
            if not isinstance(text, str):
                raise ParameterError(
                    "budgets", f"must hold strings like 'latency_ms=15', got {text!r}"
                )
            name, bound = parse_budget(text)
            parsed[name] = bound
        return parsed
    raise ParameterError(
        "budgets",
        f"must be a mapping metric -> bound or strings like 'latency_ms=15', got {budgets!r}",
    )


def _bound(name: str, value: Any) -> float:
    try:
        bound = float(value)
    except (TypeError, ValueError):
        bound = math.nan
    if isinstance(value, bool) or not math.isfinite(bound) or bound <= 0:
        raise ParameterError("budgets", f"{name}={value!r} must be a positive number")
    return bound


def resolve_predictors(
    predictors: Mapping[str, PredictorLike] | Sequence[PredictorLike] | PredictorLike,
    space: SearchSpace,
    *,
    force: bool = False,
) -> tuple[dict[str, MetricPredictor], list[str]]:
    """``{metric: fitted predictor}`` and the load checks ``force`` overrode.

    A mapping names each metric (a predictor with a different ``.metric`` is refused);
    otherwise each predictor's ``.metric`` names it, and a metric given twice is refused.
    """
    warnings: list[str] = []
    if isinstance(predictors, Mapping):
        found: dict[str, MetricPredictor] = {}
        for metric, given in predictors.items():
            model = _predictor(given, space, force=force, warnings=warnings)
            own = getattr(model, "metric", metric)
            if own != metric:
                raise ParameterError(
                    "predictors", f"maps {metric!r} to a predictor of {own!r} ({given})"
                )
            found[str(metric)] = model
    else:
        found = _by_metric(_as_list(predictors), space, force=force, warnings=warnings)
    if not found:
        raise ParameterError("predictors", "is empty; give at least one predictor")
    check_one_precision(found)
    return found, warnings


def check_one_precision(predictors: Mapping[str, Any]) -> None:
    """Refuse predictors that learnt measurements of different precisions (their
    ``origin_.precision``: ``fp32``, ``int8``, ``int8-dynamic``; one that does not say is
    not counted): a search predicts one network, quantized or not, for every metric."""
    precisions = {
        metric: str(origin.precision)
        for metric, model in predictors.items()
        if (origin := getattr(model, "origin_", None)) is not None
        and getattr(origin, "precision", None) is not None
    }
    if len(set(precisions.values())) <= 1:
        return
    listed = ", ".join(f"{m}: {p}" for m, p in sorted(precisions.items()))
    raise ParameterError(
        "predictors",
        f"were trained on measurements of different precisions ({listed}); a search "
        f"predicts one model for every metric. Train them on one: `hwnas predictor train "
        f"... --precision {sorted(set(precisions.values()))[0]}` (train_predictor(precision=...))",
    )


def _as_list(predictors: Any) -> list[Any]:
    """One predictor (object or path) or a sequence of them, as a list."""
    if isinstance(predictors, str | os.PathLike) or hasattr(predictors, "predict"):
        return [predictors]
    if isinstance(predictors, Iterable):
        return list(predictors)
    raise ParameterError(
        "predictors",
        f"must be a mapping metric -> predictor or a sequence of predictors, got {predictors!r}",
    )


def _by_metric(
    given: list[Any], space: SearchSpace, *, force: bool, warnings: list[str]
) -> dict[str, MetricPredictor]:
    found: dict[str, MetricPredictor] = {}
    for item in given:
        model = _predictor(item, space, force=force, warnings=warnings)
        metric = getattr(model, "metric", None)
        if not isinstance(metric, str):
            raise ParameterError(
                "predictors",
                f"holds {item!r}, which does not say its metric (.metric); pass a "
                f"mapping metric -> predictor instead",
            )
        if metric in found:
            raise ParameterError(
                "predictors", f"holds two predictors of {metric} ({item}); give one per metric"
            )
        found[metric] = model
    return found


def _predictor(
    given: Any, space: SearchSpace, *, force: bool, warnings: list[str]
) -> MetricPredictor:
    """A fitted predictor from an object or a saved directory, checked against ``space``."""
    if isinstance(given, str | os.PathLike):
        from hwnas.predictors import load_predictor

        model = load_predictor(given, space=space, force=force)
        warnings += [f"{given}: {m}" for m in getattr(model, "load_warnings_", [])]
        return model
    if not callable(getattr(given, "predict", None)):
        raise ParameterError(
            "predictors",
            f"must hold predictors (objects with predict) or predictor directories, "
            f"got {type(given).__name__}",
        )
    theirs = getattr(getattr(given, "space", None), "name", space.name)
    if theirs != space.name:
        message = f"the {getattr(given, 'metric', '')} predictor is for space {theirs!r}"
        if not force:
            raise ParameterError(
                "predictors", f"{message}, not {space.name!r} (force=True uses it anyway)"
            )
        warnings.append(f"{message}, not {space.name!r}; used anyway (force)")
    return given


def resolve_accuracy(
    accuracy: AccuracyLike,
    space: SearchSpace,
    *,
    seed: int = 0,
    jobs: int = 1,
    executor: str | None = None,
) -> AccuracySource:
    """An AccuracySource from a spec string (``accuracy_source``), a source, or a function
    (evaluated once per canonical architecture, in ``jobs`` worker processes if > 1). A
    source given as such is used as it is (``jobs`` does not change it). ``executor``: a
    Dask scheduler's address to evaluate a function there (:func:`search`)."""
    check_jobs(jobs)
    check_executor(executor)
    if isinstance(accuracy, AccuracySource):
        return accuracy
    if isinstance(accuracy, str):
        return accuracy_source(accuracy, space, seed=seed, jobs=jobs, executor=executor)
    if callable(accuracy):
        return CallableAccuracy(accuracy, space=space, jobs=jobs, executor=executor)
    raise ParameterError(
        "accuracy",
        f"must be a spec such as 'tabular:cifar10', an AccuracySource or a function "
        f"archs -> scores, got {accuracy!r}",
    )
