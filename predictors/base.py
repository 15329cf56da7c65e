"""The predictor interface: learn one metric of one space's architectures on one device.

scikit-learn's conventions: keyword-only constructor arguments that are only stored
(and checked, with a ``ValueError`` naming the parameter); ``fit`` returns ``self``;
everything learned ends in ``_``; using a predictor before ``fit`` raises
:class:`~hwnas.predictors.errors.NotFittedError`. Subclasses implement ``fit``,
``predict_batch``, ``predict_interval_batch`` and the artifact hooks; strings, integer
encodings and intervals are handled here once.
"""

from __future__ import annotations

import abc
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hwnas.predictors.errors import NotFittedError
from hwnas.predictors.features import FeatureSet, feature_set
from hwnas.spaces import SearchSpace, get_space
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
        )


@dataclass(frozen=True)
class Interval:
    """Point predictions with the low and high ends of their intervals (same shapes)."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def resolve_space(space: SearchSpace | str) -> SearchSpace:
    """A space instance from an instance or a registered name."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str):
        return get_space(space)
    raise ValueError(f"space must be a SearchSpace or a space name, got {space!r}")


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
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
        raise ValueError("archs must be a sequence of architecture strings, got one string")
    arch_list = list(archs)
    values = np.asarray(y, dtype=np.float64).ravel()
    if len(arch_list) != values.size:
        raise ValueError(
            f"archs and y must have the same length, got {len(arch_list)} and {values.size}"
        )
    if values.size < min_rows:
        raise ValueError(f"need at least {min_rows} training rows, got {values.size}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("y must hold finite values >= 0")
    return arch_list, values


class Predictor(abc.ABC):
    """Predicts ``metric`` of architectures of ``space`` on one device."""

    #: The artifact ``kind`` of this class (see ``hwnas.predictors.artifacts``).
    kind: ClassVar[str]

    space: SearchSpace
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
    def fit(
        self, archs: Sequence[str], y: Sequence[float] | np.ndarray, *, origin: Origin | None = None
    ) -> Predictor:
        """Learn from measured values ``y`` of ``archs``; return ``self``."""

    @abc.abstractmethod
    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        """Point predictions for a feature matrix (columns ``feature_names_``)."""

    @abc.abstractmethod
    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        """Point predictions with intervals for a feature matrix."""

    @abc.abstractmethod
    def _fitted_attributes(self) -> tuple[str, ...]:
        """Names of the attributes ``fit`` sets (each ends in ``_``)."""

    # -- artifact hooks, used by hwnas.predictors.artifacts ------------------------------------

    @abc.abstractmethod
    def _state(self) -> dict[str, Any]:
        """What ``_restore`` needs besides the model files, as JSON-ready values."""

    @abc.abstractmethod
    def _write_files(self, directory: Path) -> list[str]:
        """Write the model files into ``directory``; return their names (relative)."""

    @classmethod
    @abc.abstractmethod
    def _restore(
        cls, space: SearchSpace, meta: Mapping[str, Any], directory: Path, *, force: bool = False
    ) -> Predictor:
        """A fitted predictor from a checked ``meta.json`` and its directory (``force`` is
        passed on to nested artifacts)."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this predictor to the directory ``path`` (see ``hwnas.predictors.artifacts``)."""
        from hwnas.predictors.artifacts import save_predictor

        return save_predictor(self, path)

    # -- shared behaviour ----------------------------------------------------------------

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

    def is_fitted(self) -> bool:
        return all(hasattr(self, name) for name in self._fitted_attributes())

    def check_is_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` (or loading) happened."""
        if not self.is_fitted():
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(archs, y) or load "
                f"a trained one with predictors.load_predictor(DIR)"
            )

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        self.check_is_fitted()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        width = len(self.feature_names_)
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(
                f"features must have shape (n, {width}) (columns feature_names_), got "
                f"{np.asarray(features).shape}"
            )
        return x

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        """Point predictions for architecture strings (``InvalidArchError`` if not in space)."""
        self.check_is_fitted()
        return self.predict_batch(self.features.matrix(list(archs)))

    def predict_interval(self, archs: Sequence[str]) -> Interval:
        """Point predictions and intervals for architecture strings."""
        self.check_is_fitted()
        return self.predict_interval_batch(self.features.matrix(list(archs)))

    def predict_encodings(self, genes: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Point predictions for integer encodings, shape (n, genes).

        For an enumerable space (see ``FeatureSet.enumerable``; NAS-Bench-201 is) the
        first call predicts every encoding once and later calls are a table lookup;
        otherwise features are computed and ``predict_batch`` runs.
        """
        self.check_is_fitted()
        if self.features.enumerable():
            return self._lookup_table()[self.features.flat_index(genes)]
        return self.predict_batch(self.features.from_genes(genes))

    def encoding_path(self) -> str:
        """Which path ``predict_encodings`` takes: ``"lookup-table"`` or ``"model"``."""
        return "lookup-table" if self.features.enumerable() else "model"

    def _lookup_table(self) -> np.ndarray:
        table: np.ndarray | None = getattr(self, "_table", None)  # set lazily
        if table is None:
            table = self.predict_batch(self.features.from_genes(self.features.all_genes()))
            table.setflags(write=False)
            self._table = table
        return table

    def _forget_table(self) -> None:
        """Drop the tabulated predictions (after a new fit)."""
        self.__dict__.pop("_table", None)
