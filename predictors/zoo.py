"""The NAS-Bench-201 device zoo, and transfer from several base predictors at once.

The zoo is eleven public NB201 latency tables (HELP, MIT; ``hwnas/data/SOURCES.md``),
shipped with hwnas (``nb201.parquet`` and ``nb201_zoo.parquet``, written by
``benchmarks/zoo_build.py``). Each is a complete table of one device, every cell measured
as written, so its base predictor is the table itself (:class:`TableBase`: exact, no
training). :func:`zoo_bases` gathers them into a :class:`BaseSet`.

A :class:`BaseSet` holds several base predictors of one space and metric (the zoo's
tables, or predictor directories of your own) and, fitted on the k measurements of a new
device, chooses among them by themselves: each base alone is fitted to the measurements
(``log y = a + b log base``, Huber loss) and scored by its leave-one-out error; the bases
are then weighted by ``exp(-(error - best error) / temperature)`` (:data:`TEMPERATURE`, chosen on
development seeds of ``benchmarks/zoo.py``), weights under :data:`MIN_WEIGHT` dropped, and
the fitted bases averaged in log space. ``choice_`` records every base's error, rank
correlation with the measurements and weight, and a sentence saying what was used and why.

Use it as the ``base`` of a transfer::

    from hwnas.predictors.zoo import zoo_bases, base_set

    pred = hwnas.train_predictor(space="nb201", table="new.csv", base=zoo_bases())
    pred = hwnas.train_predictor(space="nb201", table="new.csv", base=base_set(["a/", "b/"]))
    print(pred.base_choice["reason"])

or from the command line: ``hwnas predictor train --space nb201 --table new.csv --base zoo
-o DIR`` (``--base DIR --base DIR2`` for several directories). The transfer then corrects
the blend with the space's summary features (``hwnas.predictors.transfer``).
:func:`learning_curve` is how well that does leave-one-device-out over the zoo with k
measurements, and :func:`advice` turns it into how many more measurements would help.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hwnas.errors import DataError, ParameterError
from hwnas.predictors import metrics
from hwnas.predictors.base import (
    FeaturePredictor,
    Interval,
    Origin,
    Predictor,
    check_metric,
    check_training_data,
    log_residual_interval,
    training_hash,
)
from hwnas.predictors.errors import ArtifactError
from hwnas.predictors.registry import register_predictor
from hwnas.spaces import SearchSpace, resolve_space
from hwnas.spaces.forms import AS_WRITTEN

if TYPE_CHECKING:
    import pandas as pd

#: The zoo's devices, in the order of ``hwnas/data/SOURCES.md``.
ZOO_DEVICES = (
    "raspi4",
    "gold_6226",
    "essential_ph_1",
    "samsung_s7",
    "silver_4114",
    "silver_4210r",
    "gold_6240",
    "1080ti_1",
    "2080ti_1",
    "titan_rtx_1",
    "titanxp_1",
)
#: Devices whose table ships in ``nb201.parquet`` rather than in :data:`ZOO_FILE`.
SHIPPED_APART = ("raspi4", "gold_6226")
ZOO_FILE = "nb201_zoo.parquet"
CURVE_FILE = "nb201_zoo_curve.parquet"
#: The softness of the choice, in mean absolute log error (0.02: about 2% of error more
#: than the best base costs a base a factor e of weight).
TEMPERATURE = 0.02
#: Weights below this are dropped (and the rest renormalised): the base is not used.
MIN_WEIGHT = 1e-3
#: Fewest measurements of the new device a base set is fitted on.
MIN_ROWS = 3
_TINY = 1e-12
#: Each base's log-linear fit uses the Huber loss with this threshold on the log (about
#: 10%, as LightGBM's ``alpha``): one wild measurement (a near-zero disconnected cell of the
#: public Raspberry Pi table) does not tilt it.
HUBER = 0.1


# -- the shipped tables -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zoo_frame() -> pd.DataFrame:
    import pandas as pd

    from hwnas.data import nb201_table

    frame = nb201_table()[["arch", *(f"latency_{d}_ms" for d in SHIPPED_APART)]]
    with resources.as_file(resources.files("hwnas.data") / ZOO_FILE) as path:
        rest = pd.read_parquet(path)
    if len(rest) != len(frame):
        raise ArtifactError(f"{ZOO_FILE} has {len(rest)} rows, not {len(frame)}; reinstall hwnas")
    joined = pd.concat([frame.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)
    return joined[["arch", *(f"latency_{d}_ms" for d in ZOO_DEVICES)]]


def zoo_table(device: str) -> pd.DataFrame:
    """The shipped NAS-Bench-201 latency table of one zoo ``device`` (one of
    :data:`ZOO_DEVICES`): columns ``arch`` and ``latency_ms``, 15,625 rows, every cell
    measured as written (the format ``train_predictor(table=...)`` reads)."""
    if device not in ZOO_DEVICES:
        raise ParameterError("device", f"must be one of {', '.join(ZOO_DEVICES)}, got {device!r}")
    frame = _zoo_frame()
    out = frame[["arch"]].copy()
    out["latency_ms"] = frame[f"latency_{device}_ms"].astype("float64")
    return out


def _check_zoo_request(space: SearchSpace, metric: str, exclude: Sequence[str]) -> None:
    if space.name != "nb201":
        raise ParameterError(
            "base",
            f"'zoo' holds NAS-Bench-201 tables, so it cannot be a base for space "
            f"{space.name!r}; pass predictor directories of {space.name!r} instead",
        )
    if metric != "latency_ms":
        raise ParameterError(
            "base",
            f"'zoo' holds latency_ms only, not {metric}; pass predictor directories of "
            f"{metric} instead",
        )
    unknown = sorted(set(exclude) - set(ZOO_DEVICES))
    if unknown:
        raise ParameterError(
            "exclude", f"names no zoo device: {', '.join(unknown)}; the zoo has {ZOO_DEVICES}"
        )


def zoo_bases(
    *,
    space: SearchSpace | str = "nb201",
    metric: str = "latency_ms",
    exclude: Sequence[str] = (),
    temperature: float = TEMPERATURE,
) -> BaseSet:
    """A :class:`BaseSet` of the zoo's devices (less ``exclude``), each a
    :class:`TableBase` of its shipped table: the ``base`` of a transfer to a new device.
    Only NAS-Bench-201 latency is in the zoo; anything else is a ``ParameterError``."""
    the_space = resolve_space(space)
    _check_zoo_request(the_space, check_metric(metric), exclude)
    bases = {
        device: _table_base(the_space, device) for device in ZOO_DEVICES if device not in exclude
    }
    return BaseSet(bases=bases, temperature=temperature)


@lru_cache(maxsize=1)
def _zoo_order() -> np.ndarray:
    """The flat index (``FeatureSet.flat_index``) of each row of the zoo's tables
    (computed once: encoding 15,625 strings takes a second)."""
    from hwnas.predictors.features import feature_set
    from hwnas.spaces import get_space

    space = get_space("nb201")
    archs = _zoo_frame()["arch"].tolist()
    genes = np.array([space.encode(a) for a in archs], dtype=np.int64)
    index = feature_set(space).flat_index(genes)
    index.setflags(write=False)
    return index


def _table_base(space: SearchSpace, device: str) -> TableBase:
    index = _zoo_order()
    origin = Origin(
        device=device,
        source=f"hwnas zoo: HELP's NAS-Bench-201 table of {device}",
        arch_form=AS_WRITTEN,
        arch_form_reason="every spelling of a cell was measured itself (HELP)",
    )
    table = zoo_table(device)
    values = table["latency_ms"].to_numpy()
    flat = np.empty(index.size)
    flat[index] = values
    digest = training_hash(table["arch"].tolist(), values)
    return TableBase(space=space, device=device)._keep(flat, origin, digest)


# -- a complete table as a predictor -----------------------------------------------------------


@register_predictor("table_base")
class TableBase(FeaturePredictor):
    """The measured value of every architecture of an enumerable space whose features
    start with a one-hot of each gene (NAS-Bench-201), looked up: the most accurate base a
    complete table gives. Keyword-only arguments: ``space``, ``metric`` and ``device``
    (a name for messages). ``fit(archs, y)`` needs every architecture exactly once."""

    kind: ClassVar[str] = "table_base"
    values_: np.ndarray

    def __init__(
        self, *, space: SearchSpace | str, metric: str = "latency_ms", device: str = "table"
    ) -> None:
        self.space = resolve_space(space)
        self.metric = check_metric(metric)
        self.device = str(device)
        features = self.features
        width = len(self.space.feature_names())
        if not features.enumerable() or width % max(features.n_genes, 1):
            raise ParameterError(
                "space",
                f"{self.space.name!r} cannot be a complete table (not enumerable, or its "
                f"features are not a one-hot of each gene); train a LightGBM predictor",
            )

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("values_", "feature_names_")

    def fit(
        self, archs: Sequence[str], y: Sequence[float] | np.ndarray, *, origin: Origin | None = None
    ) -> TableBase:
        """Keep ``y`` of every architecture of the space (each exactly once); return self."""
        arch_list, values = check_training_data(archs, y, min_rows=1)
        genes = np.array([self.space.encode(a) for a in arch_list], dtype=np.int64)
        index = self.features.flat_index(genes.reshape(len(arch_list), self.features.n_genes))
        size = self.features.all_genes().shape[0]
        if index.size != size or np.unique(index).size != size:
            raise DataError(
                f"a table base needs every one of the {size:,} architectures of "
                f"{self.space.name!r} once, got {np.unique(index).size:,} distinct of "
                f"{index.size:,} rows; train a LightGBM predictor from a partial table"
            )
        table = np.empty(size)
        table[index] = values
        digest = training_hash(arch_list, values)
        return self._keep(table, origin or Origin(device=self.device), digest)

    def _keep(self, table: np.ndarray, origin: Origin, digest: str) -> TableBase:
        """Set the fitted state from the values in flat-index order."""
        table.setflags(write=False)
        self.values_ = table
        self.origin_ = origin
        self.training_hash_ = digest
        self.n_train_ = table.size
        self.validation_ = {"method": "none: the table is the measurements"}
        self.feature_names_ = list(self.features.names)
        return self

    def _genes(self, features: np.ndarray) -> np.ndarray:
        n_genes = self.features.n_genes
        one_hot = features[:, : len(self.space.feature_names())]
        if features.shape[0] == 0:
            return np.zeros((0, n_genes), dtype=np.int64)
        return one_hot.reshape(features.shape[0], n_genes, -1).argmax(axis=2)

    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        x = self._check_features(features)
        return np.array(self.values_[self.features.flat_index(self._genes(x))], dtype=np.float64)

    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        value = self.predict_batch(features)
        return Interval(value, value.copy(), value.copy())

    def _state(self) -> dict[str, Any]:
        self.check_is_fitted()
        return {"device": self.device, "order": "flat_index", "file": "values.parquet"}

    def _write_files(self, directory: Path) -> list[str]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"value": np.asarray(self.values_)})
        pq.write_table(table, directory / "values.parquet", compression="zstd")
        return ["values.parquet"]

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> TableBase:
        import pyarrow.parquet as pq

        new = cls(
            space=cls._saved_space(space, directory),
            metric=meta["metric"],
            device=meta["state"]["device"],
        )
        values = pq.read_table(directory / "values.parquet").column("value").to_numpy()
        if values.size != new.features.all_genes().shape[0]:
            raise ArtifactError(
                f"{directory / 'values.parquet'} has {values.size} values, not one per "
                f"architecture; retrain the predictor"
            )
        new.values_ = np.array(values, dtype=np.float64)
        new.values_.setflags(write=False)
        new.origin_ = Origin.from_dict(meta.get("origin"))
        new.training_hash_ = str(meta["training_set"]["hash"])
        new.n_train_ = int(meta["training_set"]["n"])
        new.validation_ = dict(meta.get("validation") or {})
        new.feature_names_ = list(meta["feature_names"])
        return new


# -- several bases, chosen from the new device's measurements -------------------------------


def _affine_loo(
    z: np.ndarray, target: np.ndarray, huber: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``target ~ a + b z``: the coefficients ``(a, b)`` on every row and the
    leave-one-out prediction of each row (closed form through the hat matrix of the final
    weights). ``huber`` > 0: Huber loss with that threshold (iteratively reweighted)."""
    x = np.column_stack([np.ones_like(z), z])
    weights = np.ones_like(target)
    for _ in range(8 if huber > 0 else 1):
        xw = x * weights[:, None]
        inverse = np.linalg.inv(xw.T @ x + 1e-9 * np.eye(2))
        coef = inverse @ xw.T @ target
        residual = target - x @ coef
        if huber > 0:
            weights = np.minimum(1.0, huber / np.maximum(np.abs(residual), 1e-12))
    leverage = np.einsum("ij,jk,ik->i", x, inverse, x) * weights
    return coef, target - residual / np.maximum(1.0 - leverage, 1e-6)


def _base_name(base: Predictor, index: int) -> str:
    import re

    device = getattr(base, "device", None) or base.origin_.device or f"base{index}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(device)) or f"base{index}"


def _named(bases: Mapping[str, Predictor] | Sequence[Predictor]) -> dict[str, Predictor]:
    if isinstance(bases, Mapping):
        return {str(k): v for k, v in bases.items()}
    if isinstance(bases, (str, bytes)) or not isinstance(bases, Sequence):
        raise ParameterError(
            "bases", f"must be a mapping or a sequence of predictors, got {bases!r}"
        )
    named: dict[str, Predictor] = {}
    for i, base in enumerate(bases):
        name = _base_name(base, i) if isinstance(base, Predictor) else f"base{i}"
        while name in named:
            name = f"{name}_{i}"
        named[name] = base
    return named


def _check_bases(named: Mapping[str, Predictor], metric: str | None) -> tuple[SearchSpace, str]:
    """The space every base shares and the metric of the set (``metric``, default the
    first base's); ``ParameterError`` naming the odd base."""
    if not named:
        raise ParameterError("bases", "must hold at least one predictor, got none")
    for name, base in named.items():
        if not isinstance(base, FeaturePredictor):
            what = base.kind if isinstance(base, Predictor) else type(base).__name__
            raise ParameterError(
                "bases", f"must be LightGBM, transfer or table predictors; {name!r} is a {what}"
            )
    first = next(b for b in named.values() if isinstance(b, FeaturePredictor))
    for name, base in named.items():
        assert isinstance(base, FeaturePredictor)
        base.check_is_fitted()
        if base.space.name != first.space.name:
            raise ParameterError(
                "bases",
                f"must predict one space; {name!r} predicts {base.space.name!r}, not "
                f"{first.space.name!r}: pass bases of one space",
            )
        if list(base.feature_names_) != list(base.features.names) or (
            base.feature_names_ != first.feature_names_
        ):
            raise ParameterError(
                "bases",
                f"must share the space's plain features; {name!r} has its own (a lookup table "
                f"feature?): retrain it without --lut",
            )
    return first.space, check_metric(metric if metric is not None else first.metric)


@register_predictor("weighted_bases")
class BaseSet(FeaturePredictor):
    """Several base predictors of one space, weighted by how well each alone fits the
    measurements of a new device (see the module docstring).

    Keyword-only arguments: ``bases`` (fitted predictors of features: a mapping name ->
    predictor, or a sequence named by their devices), ``metric`` (default: the first
    base's), ``temperature`` (how soft the choice is) and ``quantiles`` (the interval's).
    ``fit(archs, y)`` (at least 3 rows) sets ``weights_`` (one per base; 0: not used),
    ``calibration_`` (``a, b`` of each base's ``log y = a + b log base``) and ``choice_``.
    A saved set keeps the bases it uses only.
    """

    kind: ClassVar[str] = "weighted_bases"
    #: Fewest measurements of the new device ``fit`` accepts.
    min_rows: ClassVar[int] = MIN_ROWS

    weights_: np.ndarray
    calibration_: np.ndarray
    residual_interval_: tuple[float, float]
    target_offset_: float
    choice_: dict[str, Any]

    def __init__(
        self,
        *,
        bases: Mapping[str, Predictor] | Sequence[Predictor],
        metric: str | None = None,
        temperature: float = TEMPERATURE,
        quantiles: tuple[float, float] = (0.1, 0.9),
    ) -> None:
        named = _named(bases)
        self.space, self.metric = _check_bases(named, metric)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ParameterError("temperature", f"must be a number > 0, got {temperature!r}")
        if not temperature > 0:
            raise ParameterError("temperature", f"must be > 0, got {temperature!r}")
        low, high = quantiles
        if not 0.0 < low < high < 1.0:
            raise ParameterError("quantiles", f"must satisfy 0 < low < high < 1, got {quantiles!r}")
        self.bases: dict[str, FeaturePredictor] = {
            k: v for k, v in named.items() if isinstance(v, FeaturePredictor)
        }
        self.temperature = float(temperature)
        self.quantiles = (float(low), float(high))

    @property
    def names(self) -> list[str]:
        """The bases' names, in order."""
        return list(self.bases)

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("weights_", "calibration_", "choice_", "feature_names_")

    def _logs(self, features: np.ndarray, used: Sequence[int] | None = None) -> np.ndarray:
        """``log`` of each base's predictions (columns: ``used``, default all bases)."""
        bases = list(self.bases.values())
        columns = range(len(bases)) if used is None else used
        found = [np.log(np.maximum(bases[j].predict_batch(features), _TINY)) for j in columns]
        return np.column_stack(found) if found else np.zeros((features.shape[0], 0))

    def fit(
        self, archs: Sequence[str], y: Sequence[float] | np.ndarray, *, origin: Origin | None = None
    ) -> BaseSet:
        """Weigh the bases by their leave-one-out error on ``y`` measured on the new device
        (at least 3 rows); return self."""
        arch_list, values = check_training_data(archs, y, min_rows=MIN_ROWS)
        origin = origin or Origin()
        features = self.features.matrix(self._in_form(arch_list, origin.arch_form))
        positive = values[values > 0]
        offset = (
            0.0
            if positive.size == values.size
            else float(1e-3 * np.median(positive) if positive.size else 1e-6)
        )
        target = np.log(values + offset)
        logs = self._logs(features)
        fitted = [_affine_loo(logs[:, j], target, HUBER) for j in range(logs.shape[1])]
        errors = np.array([np.mean(np.abs(oof - target)) for _, oof in fitted])
        weights = np.exp(-(errors - errors.min()) / self.temperature)
        weights /= weights.sum()
        weights[weights < MIN_WEIGHT] = 0.0
        weights /= weights.sum()
        oof = sum(w * f[1] for w, f in zip(weights, fitted, strict=True))
        self.weights_ = weights
        self.calibration_ = np.array([coef for coef, _ in fitted], dtype=np.float64)
        self.target_offset_ = offset
        low, high = np.quantile(target - oof, self.quantiles)
        self.residual_interval_ = (min(float(low), 0.0), max(float(high), 0.0))
        self.validation_ = {
            **metrics.report(values, np.maximum(np.exp(oof) - offset, 0.0)),
            "method": "leave-one-out",
        }
        ranks = [metrics.spearman(values, logs[:, j]) for j in range(logs.shape[1])]
        self.choice_ = _choice(self, errors, np.array(ranks), values.size)
        self.training_hash_ = training_hash(arch_list, values)
        self.n_train_ = values.size
        self.origin_ = origin
        self.feature_names_ = list(next(iter(self.bases.values())).feature_names_)
        self._forget_table()
        return self

    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        x = self._check_features(features)
        if x.shape[0] == 0:
            return np.zeros(0)
        used = [j for j, w in enumerate(self.weights_) if w > 0]
        logs = self._logs(x, used)
        a, b = self.calibration_[used, 0], self.calibration_[used, 1]
        log_value = (a + b * logs) @ self.weights_[used]
        return np.maximum(np.exp(log_value) - self.target_offset_, 0.0)

    def predict_interval_batch(self, features: np.ndarray) -> Interval:
        value = self.predict_batch(features)
        return log_residual_interval(value, self.target_offset_, self.residual_interval_)

    # -- artifact hooks ----------------------------------------------------------------------

    def _used(self) -> list[int]:
        return [j for j, w in enumerate(self.weights_) if w > 0]

    def _state(self) -> dict[str, Any]:
        self.check_is_fitted()
        used = self._used()
        return {
            "bases": [self.names[j] for j in used],
            "weights": self.weights_[used].tolist(),
            "calibration": self.calibration_[used].tolist(),
            "temperature": self.temperature,
            "quantiles": list(self.quantiles),
            "residual_interval": list(self.residual_interval_),
            "target_offset": self.target_offset_,
            "choice": self.choice_,
        }

    def _write_files(self, directory: Path) -> list[str]:
        from hwnas.predictors.artifacts import META, save_predictor

        bases = list(self.bases.values())
        written = []
        for j in self._used():
            save_predictor(bases[j], directory / "bases" / self.names[j], overwrite=True)
            written.append(f"bases/{self.names[j]}/{META}")
        return written

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> BaseSet:
        from hwnas.predictors.artifacts import load_predictor

        state = meta["state"]
        wanted = cls._saved_space(space, directory)
        bases = {
            str(name): load_predictor(directory / "bases" / str(name), space=wanted, force=force)
            for name in state["bases"]
        }
        low_q, high_q = (float(q) for q in state["quantiles"])
        new = cls(
            bases=bases,
            metric=meta["metric"],
            temperature=float(state["temperature"]),
            quantiles=(low_q, high_q),
        )
        new.weights_ = np.asarray(state["weights"], dtype=np.float64)
        new.calibration_ = np.asarray(state["calibration"], dtype=np.float64).reshape(-1, 2)
        low, high = state["residual_interval"]
        new.residual_interval_ = (float(low), float(high))
        new.target_offset_ = float(state["target_offset"])
        new.choice_ = dict(state["choice"])
        new.validation_ = dict(meta.get("validation") or {})
        new.training_hash_ = str(meta["training_set"]["hash"])
        new.n_train_ = int(meta["training_set"]["n"])
        new.origin_ = Origin.from_dict(meta.get("origin"))
        new.feature_names_ = list(meta["feature_names"])
        return new


def _choice(bases: BaseSet, errors: np.ndarray, ranks: np.ndarray, k: int) -> dict[str, Any]:
    """What the fit chose and why, JSON-ready: every base's leave-one-out error (%),
    rank correlation with the measurements, slope and weight, best first; the names
    used; a sentence; and the learning curve's advice for ``k`` measurements."""
    order = np.argsort(errors, kind="stable")
    rows = [
        {
            "base": bases.names[j],
            "weight": round(float(bases.weights_[j]), 4),
            "loo_error_pct": round(100 * float(np.expm1(errors[j])), 2),
            "spearman": None if not np.isfinite(ranks[j]) else round(float(ranks[j]), 4),
            "slope": round(float(bases.calibration_[j, 1]), 4),
        }
        for j in order
    ]
    used = [r for r in rows if r["weight"] > 0]
    unused = [r for r in rows if r["weight"] == 0]
    listed = ", ".join(
        f"{r['base']} {100 * r['weight']:.0f}% (error {r['loo_error_pct']:.1f}%)"
        for r in used
        if r["weight"] >= 0.01
    )
    small = sum(1 for r in used if r["weight"] < 0.01)
    listed += f", and {small} more under 1% each" if small else ""
    reason = (
        f"each of {len(rows)} bases fitted alone to the {k} measurements (log-linear, Huber) and "
        f"weighted by its leave-one-out error (temperature {bases.temperature:g}): {listed}"
    )
    if unused:
        worst = ", ".join(f"{r['base']} ({r['loo_error_pct']:.1f}%)" for r in unused[:3])
        reason += f"; not used: {len(unused)}, e.g. {worst}"
    return {
        "method": "leave-one-out error weighting of log-linear (Huber) fits",
        "temperature": bases.temperature,
        "used": [r["base"] for r in used],
        "bases": rows,
        "reason": reason,
        "advice": advice(k, space=bases.space.name, metric=bases.metric),
    }


# -- the learning curve ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def learning_curve() -> pd.DataFrame | None:
    """How transfer from the zoo did leave-one-device-out with k measurements (written by
    ``benchmarks/zoo.py``): columns ``k``, ``spearman_mean``, ``spearman_min`` (the worst
    device's mean), ``within_10_mean``; None if this hwnas ships no curve."""
    import pandas as pd

    source = resources.files("hwnas.data") / CURVE_FILE
    if not source.is_file():
        return None
    with resources.as_file(source) as path:
        return pd.read_parquet(path).sort_values("k").reset_index(drop=True)


def advice(k: int, *, space: str = "nb201", metric: str = "latency_ms") -> str | None:
    """How many more measurements would help a transfer fitted on ``k``, from the
    zoo's :func:`learning_curve` (None outside NAS-Bench-201 latency or without one)."""
    curve = learning_curve()
    if curve is None or space != "nb201" or metric != "latency_ms":
        return None
    rows = curve.to_dict("records")
    reached = [r for r in rows if r["k"] <= k]
    ahead = [r for r in rows if r["k"] > k]
    now = (
        f"with {k} measurements, transfer from the zoo reached Spearman "
        f"{reached[-1]['spearman_mean']:.3f} on average (worst device "
        f"{reached[-1]['spearman_min']:.3f}) leave-one-device-out at k = {reached[-1]['k']}"
        if reached
        else f"{k} measurements are fewer than the zoo's curve starts with ({rows[0]['k']})"
    )
    best = rows[-1]["spearman_mean"]
    if not ahead or (reached and reached[-1]["spearman_mean"] >= best - 0.005):
        return f"{now}; more measurements gain little (k = {rows[-1]['k']}: {best:.3f})"
    steps = ", ".join(
        f"k = {r['k']}: {r['spearman_mean']:.3f} (worst {r['spearman_min']:.3f})" for r in ahead
    )
    target = next(r for r in ahead if r["spearman_mean"] >= best - 0.005)
    return (
        f"{now}; {steps}. Measure about {target['k'] - k} more (k = {target['k']}): beyond "
        f"that the curve flattens"
    )


# -- what train_predictor(base=...) and --base take ---------------------------------------------

PathLike = str | os.PathLike[str]


def base_set(
    bases: Sequence[Predictor | PathLike],
    *,
    space: SearchSpace | str = "nb201",
    metric: str = "latency_ms",
    force: bool = False,
    temperature: float = TEMPERATURE,
) -> BaseSet:
    """A :class:`BaseSet` of ``bases``: fitted predictors, predictor directories (loaded
    for ``space`` with ``force``) and ``"zoo"`` (every zoo device). ``ParameterError`` or
    ``ArtifactError`` naming the base that cannot be one."""
    from hwnas.predictors.artifacts import load_predictor

    the_space = resolve_space(space)
    if isinstance(bases, (str, os.PathLike)) or not bases:
        raise ParameterError(
            "base", f"must list at least one base ('zoo' or predictor directories), got {bases!r}"
        )
    named: dict[str, Predictor] = {}
    for i, item in enumerate(bases):
        if isinstance(item, str) and item == "zoo":
            named.update(zoo_bases(space=the_space, metric=metric).bases)
            continue
        loaded = (
            item
            if isinstance(item, Predictor)
            else load_predictor(Path(item), space=the_space, force=force)
        )
        name = _base_name(loaded, i) if isinstance(item, Predictor) else Path(item).name
        while name in named:
            name = f"{name}_{i}"
        named[name] = loaded
    return BaseSet(bases=named, metric=metric, temperature=temperature)


def resolve_base(
    bases: Sequence[PathLike] | None,
    *,
    space: SearchSpace | str,
    metric: str = "latency_ms",
    force: bool = False,
) -> Path | BaseSet | None:
    """What ``hwnas predictor train --base`` (repeatable) hands ``train_predictor``: None
    for none, the directory for one, a :class:`BaseSet` for ``zoo`` or several."""
    if not bases:
        return None
    for item in bases:
        if str(item) != "zoo" and not Path(item).exists():
            raise ParameterError(
                "base",
                f"{str(item)!r} is neither 'zoo' nor an existing predictor directory; pass "
                f"'zoo' (the NAS-Bench-201 latency zoo) or a directory `hwnas predictor "
                f"train -o DIR` wrote",
            )
    if len(bases) == 1 and str(bases[0]) != "zoo":
        return Path(bases[0])
    return base_set(list(bases), space=space, metric=metric, force=force)


def describe_choice(choice: Mapping[str, Any] | None) -> list[str]:
    """The lines ``hwnas predictor train`` prints about a base set's choice (none for
    a transfer from one base)."""
    if not choice:
        return []
    lines = [f"bases used: {', '.join(choice['used'])}; {choice['reason']}"]
    if choice.get("advice"):
        lines.append(str(choice["advice"]))
    return lines


__all__ = [
    "CURVE_FILE",
    "MIN_WEIGHT",
    "TEMPERATURE",
    "ZOO_DEVICES",
    "ZOO_FILE",
    "BaseSet",
    "TableBase",
    "advice",
    "base_set",
    "describe_choice",
    "learning_curve",
    "resolve_base",
    "zoo_bases",
    "zoo_table",
]
