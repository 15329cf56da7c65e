"""The predictor contract over every registered kind, over a user's predictor and over
broken ones; the registry of kinds (decorator, entry points)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from hwnas.predictors import registry
from hwnas.predictors.artifacts import load_predictor
from hwnas.predictors.base import Interval, Origin, Predictor, training_hash
from hwnas.predictors.contract import (
    ALL_CHECKS,
    ContractCase,
    builtin_case,
    check_predictor,
    parametrize_with_checks,
)
from hwnas.predictors.errors import (
    ArtifactError,
    PredictorContractError,
    PredictorError,
    UnknownKindError,
)
from hwnas.predictors.registry import predictor_class, predictor_kinds, register_predictor
from hwnas.spaces import SearchSpace, resolve_space


@parametrize_with_checks([builtin_case(kind) for kind in predictor_kinds()])
def test_every_registered_kind_keeps_the_contract(case: ContractCase, check: Any) -> None:
    check(case)


def test_the_built_in_kinds_are_registered_and_load_their_classes() -> None:
    from hwnas.predictors.kernels import KernelPredictor
    from hwnas.predictors.lgbm import LightGBMPredictor
    from hwnas.predictors.lut import LookupTable
    from hwnas.predictors.transfer import TransferPredictor

    assert {"kernel", "lightgbm", "lookup_table", "transfer"} <= set(predictor_kinds())
    assert predictor_class("lightgbm") is LightGBMPredictor
    assert predictor_class("transfer") is TransferPredictor
    assert predictor_class("lookup_table") is LookupTable
    assert predictor_class("kernel") is KernelPredictor
    with pytest.raises(PredictorContractError, match="'toy_linear' is not a built-in"):
        builtin_case("toy_linear")


# -- a user's predictor: the contract passes it, and catches each way of breaking it -------


def _convs(arch: str) -> float:
    return float(arch.count("conv"))


class ToyLinear(Predictor):
    """A user's predictor: latency linear in the number of convolutions of a cell."""

    kind: ClassVar[str] = "toy_linear"

    def __init__(self, *, space: SearchSpace | str = "nb201", metric: str = "latency_ms") -> None:
        self.space = resolve_space(space)
        self.metric = metric

    def _fitted_attributes(self) -> tuple[str, ...]:
        return ("slope_", "intercept_")

    def fit(self, archs: Sequence[str], y: Sequence[float], *, origin: Origin | None = None):
        x = np.array([_convs(a) for a in archs])
        self.slope_, self.intercept_ = (float(v) for v in np.polyfit(x, np.asarray(y), 1))
        self.origin_ = origin or Origin()
        self.training_hash_ = training_hash(list(archs), np.asarray(y, dtype=float))
        self.n_train_ = len(archs)
        self.validation_ = {}
        self.feature_names_ = ["convs"]
        return self

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        self.check_is_fitted()
        x = np.array([_convs(a) for a in archs], dtype=np.float64)
        return np.maximum(self.intercept_ + self.slope_ * x, 0.0)

    def predict_interval(self, archs: Sequence[str]) -> Interval:
        value = self.predict(archs)
        return Interval(value, 0.9 * value, 1.1 * value)

    def _state(self) -> dict[str, Any]:
        return {"file": "line.json"}

    def _write_files(self, directory: Path) -> list[str]:
        line = {"slope": self.slope_, "intercept": self.intercept_}
        (directory / "line.json").write_text(json.dumps(line))
        return ["line.json"]

    @classmethod
    def _restore(
        cls,
        space: SearchSpace | None,
        meta: Mapping[str, Any],
        directory: Path,
        *,
        force: bool = False,
    ) -> ToyLinear:
        assert space is not None
        line = json.loads((directory / meta["state"]["file"]).read_text())
        new = cls(space=space, metric=meta["metric"])
        new.slope_, new.intercept_ = float(line["slope"]), float(line["intercept"])
        new.origin_ = Origin.from_dict(meta["origin"])
        new.training_hash_ = meta["training_set"]["hash"]
        new.n_train_ = meta["training_set"]["n"]
        new.validation_ = {}
        new.feature_names_ = list(meta["feature_names"])
        return new


class Unregistered(ToyLinear):
    kind = "toy_unregistered"


class ReturnsNone(ToyLinear):
    kind = "toy_returns_none"

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        super().fit(*args, **kwargs)
        return None


class NeverUnfitted(ToyLinear):
    kind = "toy_never_unfitted"

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        return np.zeros(len(archs))


class Float32(ToyLinear):
    kind = "toy_float32"

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        return super().predict(archs).astype(np.float32)


class NotBracketing(ToyLinear):
    kind = "toy_not_bracketing"

    def predict_interval(self, archs: Sequence[str]) -> Interval:
        value = self.predict(archs)
        return Interval(value, 1.1 * value, 1.2 * value)


class Lossy(ToyLinear):
    kind = "toy_lossy"

    @classmethod
    def _restore(cls, *args: Any, **kwargs: Any) -> ToyLinear:
        new = super()._restore(*args, **kwargs)
        new.intercept_ += 1e-9  # e.g. a float written with too few digits
        return new


class Unlisted(ToyLinear):
    kind = "toy_unlisted"

    def _write_files(self, directory: Path) -> list[str]:
        (directory / "calibration.json").write_text("{}")
        return super()._write_files(directory)


class Pickled(ToyLinear):
    kind = "toy_pickled"

    def _write_files(self, directory: Path) -> list[str]:
        (directory / "model.pkl").write_bytes(b"\x80\x04\x95 pretend pickle")
        return [*super()._write_files(directory), "model.pkl"]


class Unseeded(ToyLinear):
    kind = "toy_unseeded"

    def fit(self, *args: Any, **kwargs: Any) -> Unseeded:
        super().fit(*args, **kwargs)
        self.intercept_ += float(np.random.default_rng().uniform(0.1, 1.0))
        return self


class PlainAttribute(ToyLinear):
    kind = "toy_plain_attribute"

    def fit(self, *args: Any, **kwargs: Any) -> PlainAttribute:
        super().fit(*args, **kwargs)
        self.coefficients = [self.slope_]
        return self


class Crashes(ToyLinear):
    kind = "toy_crashes"

    def predict(self, archs: Sequence[str]) -> np.ndarray:
        self.check_is_fitted()
        raise RuntimeError("boom")


BROKEN = [
    (Unregistered, "check_registered", "register the class"),
    (ReturnsNone, "check_fit_returns_self", "fit must return self"),
    (NeverUnfitted, "check_not_fitted", "predict before fit did not raise NotFittedError"),
    (Float32, "check_predict", "float64 array"),
    (NotBracketing, "check_predict_interval", "low <= value <= high"),
    (Lossy, "check_save_load_round_trip", "before and after loading differ"),
    (Unlisted, "check_save_load_round_trip", "calibration.json not listed"),
    (Pickled, "check_save_load_round_trip", "model.pkl looks pickled"),
    (Unseeded, "check_deterministic", "two fits' predictions differ"),
    (PlainAttribute, "check_fit_returns_self", r"\['coefficients'\], which do not end in '_'"),
    (Crashes, "check_predict", "RuntimeError: boom"),
]


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy kinds registered for one test (the registry is left as it was)."""
    for cls in [ToyLinear, *(c for c, _, _ in BROKEN if c is not Unregistered)]:
        monkeypatch.setitem(registry._REGISTRY, cls.kind, cls)


def toy_case(cls: type[ToyLinear] = ToyLinear) -> ContractCase:
    space = resolve_space("nb201")
    archs = space.sample(1, 30)
    y = np.array([0.5 + 1.5 * _convs(a) for a in archs])
    return ContractCase(
        make=lambda: cls(space=space), fit_args=(archs, y), inputs=space.sample(2, 5)
    )


def test_a_user_predictor_passes_every_check(registered: None) -> None:
    seen: list[tuple[str, object]] = []
    check_predictor(toy_case(), on_check=lambda name, error: seen.append((name, error)))
    assert [name for name, _ in seen] == [c.__name__ for c in ALL_CHECKS]
    assert all(error is None for _, error in seen)


@pytest.mark.parametrize(
    ("cls", "check", "message"), BROKEN, ids=lambda v: getattr(v, "kind", None)
)
def test_a_broken_predictor_fails_naming_the_check(
    registered: None, cls: type[ToyLinear], check: str, message: str
) -> None:
    seen: list[str] = []
    with pytest.raises(PredictorContractError, match=f"check {check!r} failed: .*{message}"):
        check_predictor(toy_case(cls), on_check=lambda name, error: seen.append(name))
    assert seen[-1] == check  # the checks before it passed, and it is the one reported


# -- the registry ------------------------------------------------------------------------


def test_register_predictor_as_a_decorator_and_its_refusals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_predictor("toy_decorated")
    class Decorated(ToyLinear):
        pass

    assert Decorated.kind == "toy_decorated" and predictor_class("toy_decorated") is Decorated
    assert register_predictor("toy_decorated", Decorated) is Decorated  # again: a no-op
    with pytest.raises(PredictorError, match="'toy_decorated' is already registered"):
        register_predictor("toy_decorated", type("Other", (ToyLinear,), {}))
    with pytest.raises(PredictorError, match="ToyLinear.kind is 'toy_linear'"):
        register_predictor("another_name", ToyLinear)
    with pytest.raises(PredictorError, match="must be a subclass of hwnas.predictors.base"):
        register_predictor("toy_dict", dict)  # type: ignore[type-var]
    with pytest.raises(PredictorError, match="lower-case name"):
        register_predictor("Bad Kind", type("Bad", (ToyLinear,), {}))


def test_unknown_kinds_are_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownKindError, match="unknown predictor kind 'gp'; known kinds: kernel"):
        predictor_class("gp")


def test_a_kind_from_an_entry_point_loads_a_saved_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry._REGISTRY[ToyLinear.kind] = ToyLinear
    directory = toy_case().fitted().save(tmp_path / "toy")
    del registry._REGISTRY[ToyLinear.kind]  # a fresh process: nothing imported the class
    with pytest.raises(ArtifactError, match="kind 'toy_linear', which this hwnas cannot load"):
        load_predictor(directory, force=True)  # not forceable

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "hwnas.predictors"
        return [
            EntryPoint("toy_linear", "tests.test_predictor_contract:ToyLinear", group),
            EntryPoint("broken", "tests.no_such_module:Predictor", group),
        ]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    assert {"toy_linear", "broken"} <= set(predictor_kinds())
    loaded = load_predictor(directory)
    assert type(loaded).__name__ == "ToyLinear" and loaded.kind == "toy_linear"
    with pytest.raises(UnknownKindError, match="cannot load predictor kind 'broken'.*installed"):
        predictor_class("broken")
