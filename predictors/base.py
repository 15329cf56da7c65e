"""The predictor interface: every kind of predictor (LightGBM, transfer, lookup table,
kernel-level, a third party's) is a :class:`Predictor`.

scikit-learn's conventions: keyword-only constructor arguments that are only stored
(and checked, with a ``ValueError`` naming the parameter: a
:class:`~hwnas.errors.ParameterError`); ``fit`` returns ``self``; everything learned
ends in ``_``; using a predictor before ``fit`` raises
:class:`~hwnas.predictors.errors.NotFittedError`.

:class:`Predictor` is the interface (``fit``, ``predict``, ``predict_interval``,
``save``, ``metric``, ``space``) with the artifact hooks that
``hwnas.predictors.artifacts`` calls; :class:`FeaturePredictor` is the base of the
predictors that learn from a space's feature vectors (LightGBM, transfer): they
implement ``predict_batch`` and ``predict_interval_batch``, and strings, integer
encodings and intervals are handled there once.
"""

from __future__ import annotations

import abc
import hashlib
import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hwnas.errors import ParameterError
from hwnas.predictors.errors import ArtifactError, NotFittedError, PredictorError
from hwnas.predictors.features import LUT_FEATURE, FeatureSet, feature_set
from hwnas.spaces import SearchSpace
from hwnas.spaces.forms import CANONICAL
from hwnas.tables import METRICS


@dataclass(frozen=True)
class Origin:
    """Where training data came from: the device, its fingerprint and the source.

    ``runtime`` holds what the fingerprint says about how models ran (execution
    provider, threads, onnxruntime version) when it is known; ``statistic`` which
    statistic of each latency distribution was learnt (``p50``, ``p10``, ``ratio``) when the data
    came from the store.
    """

    device: str | None = None
    fingerprint: str | None = None
    source: str | None = None
    runtime: dict[str, Any] = field(default_factory=dict)
    statistic: str | None = None
    #: Rows read from the source before repeated architectures were folded into one.
    rows: int | None = None
    #: Which world the labels come from (``hwnas.spaces.forms``): ``canonical`` (one
    #: network per equivalence class: the predictor sees ``space.canonical(arch)``),
    #: ``as-written`` (each spelling measured itself), or None (a predictor that predates
    #: forms, or one fitted on strings as given).
    arch_form: str | None = None
    #: Why that form: given by the user, the store's, or what the table showed.
    arch_form_reason: str | None = None
    #: What the measured models were (``hwnas.profiler.settings.precision_of``): ``fp32``,
    #: ``int8``, ``int8-dynamic``; None when unknown (a table without the column, a
    #: predictor that predates precisions). Predictors of different ones are not mixed.
    precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Origin:
        data = data or {}
        return cls(
            device=data.get("device"),
            fingerprint=data.get("fingerprint"),
            source=data.get("source"),
            runtime=dict(data.get("runtime") or {}),
            statistic=data.get("statistic"),
            rows=None if data.get("rows") is None else int(data["rows"]),
            arch_form=data.get("arch_form"),
            arch_form_reason=data.get("arch_form_reason"),
            precision=data.get("precision"),
        )


@dataclass(frozen=True)
class Interval:
    """Point predictions with the low and high ends of their intervals (same shapes,
    ``low <= value <= high``)."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def log_residual_interval(
    value: np.ndarray, offset: float, residuals: tuple[float, float]
) -> Interval:
    """The interval of point predictions ``value`` of a model fitted on
    ``log(y + offset)`` whose residuals (in log space) lie within ``residuals`` (low <= 0
    <= high): each end scaled in that space, clipped at 0, and ordered around ``value``."""
    low, high = residuals
    shifted = value + offset
    return Interval(
        value,
        np.minimum(np.maximum(shifted * np.exp(low) - offset, 0.0), value),
        np.maximum(shifted * np.exp(high) - offset, value),
    )


def check_metric(metric: str) -> str:
    """``metric`` if it is one of the metrics a measurement has; ``ParameterError``."""
    if metric not in METRICS:
        raise ParameterError("metric", f"must be one of {', '.join(METRICS)}, got {metric!r}")
    return metric


def training_hash(archs: Sequence[str], values: np.ndarray) -> str:
    """SHA-256 (first 16 hex digits) of the (arch, value) pairs, independent of row order."""
    digest = hashlib.sha256()
    for arch, value in sorted(
        zip(archs, np.asarray(values, dtype=np.float64).tolist(), strict=True)
    ):
        digest.update(f"{arch}\t{value!r}\n".encode())
    return digest.hexdigest()[:16]


def check_training_data(
    archs: Sequence[str], y: Sequence[float] | np.ndarray, *, min_rows: int
) -> tuple[list[str], np.ndarray]:
    """``archs`` as a list and ``y`` as float64, checked: same length, finite, >= 0."""
    if isinstance(archs, str):
        raise ParameterError("archs", "must be a sequence of architecture strings, got one string")
    arch_list = list(archs)
    values = np.asarray(y, dtype=np.float64).ravel()
    if len(arch_list) != values.size:
        raise ParameterError(
            "archs", f"and y must have the same length, got {len(arch_list)} and {values.size}"
        )
    if values.size < min_rows:
        raise ValueError(f"need at least {min_rows} training rows, got {values.size}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ParameterError("y", "must hold finite values >= 0")
    return arch_list, values


class Predictor(abc.ABC):
    """Predicts ``metric`` of models on one device: the interface every kind implements.

    - ``fit(...)`` learns and returns ``self``. What it learns from depends on the kind:
      measured architectures (``fit(archs, y)``: LightGBM, transfer), block statistics
      and whole networks to calibrate on (lookup table), measured kernels (kernel).
    - ``predict(archs)`` gives one float64 value per input, in the unit of ``metric``;
      inputs are architecture strings of ``space`` (a kernel predictor also takes ONNX
      models). ``predict_interval(archs)`` adds the low and high ends of an interval
      around each (``low <= value <= high``); ``interval_share`` is its nominal
      coverage where the kind calibrates one (``None`` otherwise).
    - ``save(dir)`` writes a predictor directory (``hwnas.predictors.artifacts``) that
      ``hwnas.load_predictor(dir)`` reads back with identical predictions.
    - ``metric`` (``latency_ms``, ``peak_memory_mb`` or ``energy_mj``), ``space`` (a
      :class:`~hwnas.spaces.SearchSpace`; ``None`` for a kernel predictor given none)
      and ``kind`` (the registered name, see ``hwnas.predictors.registry``).
    - Fitted state ends in ``_``; every kind sets ``origin_`` (where its data came
      from), ``training_hash_``, ``n_train_``, ``validation_`` (scores on data held out
      from training, possibly empty) and ``feature_names_`` (its input columns, possibly
      empty). Using a predictor before ``fit`` raises :class:`NotFittedError`.
    """

    #: The artifact ``kind`` of this class (set by ``register_predictor``).
    kind: ClassVar[str]
    #: ``format`` values of older, kind-specific ``meta.json`` files this class still
    #: reads (through ``_load_legacy``).
    legacy_formats: ClassVar[tuple[str, ...]] = ()
    #: True when the predictor learnt one space's architectures, so loading it for
    #: another space is refused; False when it predicts any model (``space`` then only
    #: says which architecture strings ``predict`` accepts).
    space_bound: ClassVar[bool] = True
    #: How to fit this kind, for the message of :class:`NotFittedError`.
    fit_hint: ClassVar[str] = "fit(archs, y)"

    space: SearchSpace | None
    metric: str
    # Set by fit (or loading) in every implementation:
    feature_names_: list[str]
    origin_: Origin
    training_hash_: str
    n_train_: int
    validation_: dict[str, Any]
    #: Set by ``load_predictor``: the checks that ``force=True`` overrode.
    load_warnings_: list[str]

    # -- what a predictor must do --------------------------------------------------------

    @abc.abstractmethod
    def fit(self, *args: Any, **kwargs: Any) -> Predictor:
        """Learn from training data (the kind says which); return ``self``."""

    @abc.abstractmethod
    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """One prediction of ``metric`` per input, float64, shape ``(len(archs),)``."""

    @abc.abstractmethod
    def predict_interval(self, archs: Sequence[Any]) -> Interval:
        """``predict(archs)`` with the low and high ends of an interval around each."""

    @abc.abstractmethod
    def _fitted_attributes(self) -> tuple[str, ...]:
        """Names of the attributes ``fit`` sets (each ends in ``_``)."""

    # -- artifact hooks, used by hwnas.predictors.artifacts ------------------------------

    @abc.abstractmethod
    def _state(self) -> dict[str, Any]:
        """What ``_restore`` needs besides the model files, as JSON-ready values."""

    @abc.abstractmethod
    def _write_files(self, directory: Path) -> list[str]:
        """Write the model files into ``directory``; return their names (relative)."""

    @classmethod
    @abc.abstractmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> Predictor:
        """A fitted predictor from a checked ``meta.json`` and its directory (``force`` is
        passed on to nested artifacts). ``space`` is the one asked for or saved."""

    @classmethod
    def _artifact_problems(
        cls, meta: Mapping[str, Any], space: SearchSpace | None, directory: Path
    ) -> list[tuple[str, bool]]:
        """What does not match between ``meta.json`` and this hwnas (for example feature
        names that changed), as (message, can ``force`` override it) pairs; none here."""
        return []

    @classmethod
    def _load_legacy(
        cls,
        directory: Path,
        meta: Mapping[str, Any],
        *,
        space: SearchSpace | None,
        device: str | None,
        fingerprint: str | None,
        force: bool,
    ) -> Predictor:
        """A predictor from a directory in one of ``legacy_formats`` (checked here)."""
        raise NotImplementedError(f"{cls.__name__} reads no older format")

    # -- shared behaviour ----------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this predictor to the directory ``path`` (see ``hwnas.predictors.artifacts``)
        and return it; ``hwnas.load_predictor(path)`` gives back identical predictions."""
        from hwnas.predictors.artifacts import save_predictor

        return save_predictor(self, path)

    @property
    def interval_share(self) -> float | None:
        """Nominal share of measurements inside ``predict_interval`` (None: not calibrated)."""
        return None

    def is_fitted(self) -> bool:
        """Whether ``fit`` (or loading) set what the predictor learns."""
        return all(hasattr(self, name) for name in self._fitted_attributes())

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` (or loading) happened."""
        if not self.is_fitted():
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call {self.fit_hint} or load "
                f"a trained one with hwnas.load_predictor(DIR)"
            )

    def predict_encodings(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Point predictions for integer encodings of ``space``, shape (n, genes): each row
        is decoded (``InvalidArchError`` if it is not an architecture) and predicted."""
        self.check_is_fitted()
        if self.space is None:
            raise PredictorError(
                f"this {type(self).__name__} has no space, so it cannot decode encodings; "
                f"load it with hwnas.load_predictor(DIR, space=NAME)"
            )
        space = self.space
        return self.predict([space.decode(row) for row in np.asarray(genes)])


class FeaturePredictor(Predictor):
    """A predictor of one space's architectures from their feature vectors
    (``hwnas.predictors.features``): the base of LightGBM and transfer predictors.

    Subclasses implement ``fit(archs, y, *, origin=None)``, ``predict_batch`` and
    ``predict_interval_batch`` on feature matrices and the artifact hooks; strings and
    integer encodings become features here once.
    """

    space: SearchSpace

    def clone(self) -> FeaturePredictor:
        """A new, unfitted predictor with this one's constructor arguments (as
        scikit-learn's ``clone``: each keyword of ``__init__`` read from the attribute of
        the same name), so that refitting on more data changes nothing else."""
        signature = inspect.signature(type(self).__init__)
        arguments = {
            name: getattr(self, name)
            for name, parameter in signature.parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY and hasattr(self, name)
        }
        return type(self)(**arguments)

    @abc.abstractmethod
    def fit(
        self, archs: Sequence[str], y: Sequence[float] | np.ndarray, *, origin: Origin | None = None
    ) -> FeaturePredictor:
        """Learn from measured values ``y`` of ``archs``; return ``self``."""

    @abc.abstractmethod
    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        """Point predictions for a feature matrix (columns ``feature_names_``)."""

    @abc.abstractmethod
    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        """Point predictions with intervals for a feature matrix."""

    @property
    def interval_share(self) -> float | None:
        """The nominal coverage of the interval: the share between its two quantiles."""
        quantiles = getattr(self, "quantiles", None)
        return None if quantiles is None else quantiles[1] - quantiles[0]

    @classmethod
    def _artifact_problems(
        cls, meta: Mapping[str, Any], space: SearchSpace | None, directory: Path
    ) -> list[tuple[str, bool]]:
        """Feature names saved that differ from what ``space`` gives now (forceable when
        only names changed, not the number of columns)."""
        if space is None:
            return []
        names = feature_set(space).names
        if isinstance(meta["state"], Mapping) and meta["state"].get("block_table"):
            names = [*names, LUT_FEATURE]
        saved = list(meta["feature_names"])
        if saved == names:
            return []
        message = (
            f"the features of space {space.name!r} changed since {directory} was trained "
            f"({len(saved)} saved, {len(names)} now{_first_difference(saved, names)}); "
            f"retrain the predictor"
        )
        return [(message, len(saved) == len(names))]

    @staticmethod
    def _saved_space(space: SearchSpace | None, directory: Path) -> SearchSpace:
        """The space ``_restore`` got, which a predictor of features cannot do without."""
        if space is None:
            raise ArtifactError(
                f"{directory / 'meta.json'} names no space, but a predictor of features "
                f"needs one; retrain the predictor"
            )
        return space

    @property
    def features(self) -> FeatureSet:
        """The feature set of ``space``, with the block sum of ``block_table`` where the
        predictor has one (built on first use)."""
        table = getattr(self, "block_table", None)
        found: FeatureSet | None = getattr(self, "_features", None)
        if (
            found is None
            or found.space is not self.space
            or getattr(found, "table", None) is not table
        ):
            found = feature_set(self.space, table=table)
            self._features = found
        return found

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        self.check_is_fitted()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        width = len(self.feature_names_)
        if x.ndim != 2 or x.shape[1] != width:
            raise ParameterError(
                "features",
                f"must have shape (n, {width}) (columns feature_names_), got "
                f"{np.asarray(features).shape}",
            )
        return x

    @property
    def arch_form(self) -> str | None:
        """The form of the architectures learnt (``origin_.arch_form``; None before ``fit``
        and for predictors that predate forms): every string predicted goes through it."""
        origin: Origin | None = getattr(self, "origin_", None)
        return None if origin is None else origin.arch_form

    def _in_form(self, archs: Sequence[str], form: str | None = None) -> list[str]:
        """``archs`` as the predictor sees them: canonical strings for a canonical form
        (``form``, default the fitted one), else as given."""
        found = form if form is not None else self.arch_form
        if found != CANONICAL:
            return list(archs)
        return [self.space.canonical(a) for a in archs]

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        """Point predictions for architecture strings (``InvalidArchError`` if not in space),
        each through the predictor's :attr:`arch_form`."""
        self.check_is_fitted()
        return self.predict_batch(self.features.matrix(self._in_form(archs)))

    def predict_interval(self, archs: Sequence[str]) -> Interval:
        """Point predictions and intervals for architecture strings."""
        self.check_is_fitted()
        return self.predict_interval_batch(self.features.matrix(self._in_form(archs)))

    def predict_encodings(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Point predictions for integer encodings, shape (n, genes).

        For an enumerable space (see ``FeatureSet.enumerable``; NAS-Bench-201 is) the
        first call predicts every encoding once and later calls are a table lookup;
        otherwise features are computed and ``predict_batch`` runs.
        """
        self.check_is_fitted()
        if self.features.enumerable():
            return self._lookup_table()[self.features.flat_index(genes)]
        return self.predict_batch(self.features.from_genes(self._genes_in_form(genes)))

    def _genes_in_form(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Integer encodings as the predictor sees them: each replaced by its canonical
        architecture's for a canonical form (unless the space's features are the same
        within every class), else as given."""
        checked = self.features.check_genes(genes)
        if self.arch_form != CANONICAL or self.features.class_invariant:
            return checked
        space = self.space
        memo: dict[tuple[int, ...], np.ndarray] = {}
        rows = []
        for row in checked:
            key = tuple(int(g) for g in row)
            if key not in memo:
                memo[key] = space.encode(space.canonical(space.decode(row)))
            rows.append(memo[key])
        return np.array(rows, dtype=checked.dtype).reshape(checked.shape)

    def encoding_path(self) -> str:
        """Which path ``predict_encodings`` takes: ``"lookup-table"`` or ``"model"``."""
        return "lookup-table" if self.features.enumerable() else "model"

    def _lookup_table(self) -> np.ndarray:
        table: np.ndarray | None = getattr(self, "_table", None)  # set lazily
        if table is None:
            genes = self._genes_in_form(self.features.all_genes())
            table = self.predict_batch(self.features.from_genes(genes))
            table.setflags(write=False)
            self._table = table
        return table

    def _forget_table(self) -> None:
        """Drop the tabulated predictions (after a new fit)."""
        self.__dict__.pop("_table", None)


def _first_difference(saved: list[str], now: list[str]) -> str:
    for i, (a, b) in enumerate(zip(saved, now, strict=False)):
        if a != b:
            return f"; column {i} was {a!r} and is {b!r}"
    return ""


__all__ = [
    "FeaturePredictor",
    "Interval",
    "Origin",
    "Predictor",
    "check_metric",
    "check_training_data",
    "log_residual_interval",
    "training_hash",
]
