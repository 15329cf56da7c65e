"""The predictor contract: checks every predictor kind must pass, built-in or a user's.

Like scikit-learn's estimator checks (and :mod:`hwnas.spaces.contract`). Kinds learn
from different data, so a :class:`ContractCase` says how to make an unfitted predictor
of the kind, what to fit it on and what to predict. ``predictor_checks()`` lists the
named checks, ``check_predictor(case)`` runs them all and raises
:class:`~hwnas.predictors.errors.PredictorContractError` naming the first that fails,
and ``parametrize_with_checks(cases)`` turns them into pytest cases::

    from hwnas.predictors.contract import ContractCase, parametrize_with_checks

    CASE = ContractCase(
        make=lambda: MyPredictor(space="nb201", seed=0),
        fit_args=(train_archs, train_latencies),
        inputs=test_archs,
    )

    @parametrize_with_checks([CASE])
    def test_my_predictor(case, check):
        check(case)

:func:`builtin_case` gives the case of each built-in kind (small bundled or synthetic
data, seconds to run); the test suite runs the contract over every registered kind.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.checks import run_checks
from hwnas.predictors.artifacts import FORMAT, META, load_predictor
from hwnas.predictors.base import Interval, Origin, Predictor
from hwnas.predictors.errors import (
    ArtifactError,
    NotFittedError,
    PredictorContractError,
    UnknownKindError,
)
from hwnas.predictors.registry import predictor_class
from hwnas.spaces import SearchSpace
from hwnas.tables import METRICS


@dataclass(frozen=True)
class ContractCase:
    """One predictor kind under test.

    ``make`` returns a new, unfitted predictor, configured the same way on every call
    (seeded); ``make().fit(*fit_args, **fit_kwargs)`` must train it; ``inputs`` (two or
    more) are what its ``predict`` takes. ``name`` is the pytest id (default: the kind).
    """

    make: Callable[[], Predictor]
    fit_args: tuple[Any, ...] = ()
    fit_kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: Sequence[Any] = ()
    name: str = ""

    def fitted(self) -> Predictor:
        """A new predictor, fitted on the case's data."""
        return self.make().fit(*self.fit_args, **self.fit_kwargs)

    @property
    def id(self) -> str:
        """The case's name in test ids: ``name``, else the predictor's kind."""
        return self.name or type(self.make()).kind


Check = Callable[[ContractCase], None]


def _fail(check: str, message: str) -> PredictorContractError:
    return PredictorContractError(f"predictor contract check {check!r} failed: {message}")


def _same(check: str, what: str, left: np.ndarray, right: np.ndarray, *, rtol: float = 0.0) -> None:
    """Raise unless equal (within ``rtol``: batches in another order may round apart)."""
    if left.shape != right.shape or not np.allclose(left, right, rtol=rtol, atol=0.0):
        raise _fail(check, f"{what} differ: {left[:4]!r} and {right[:4]!r}")


def check_registered(case: ContractCase) -> None:
    """The class is registered under its ``kind``, so ``load_predictor`` finds it."""
    cls = type(case.make())
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise _fail(
            "check_registered",
            f"{cls.__name__} has no kind; decorate it with @register_predictor('my_kind')",
        )
    try:
        found: type | None = predictor_class(kind)
    except UnknownKindError:
        found = None
    if found is not cls:
        loads = "nothing" if found is None else found.__name__
        raise _fail(
            "check_registered",
            f"kind {kind!r} loads {loads}, not {cls.__name__}; register the class "
            f"(register_predictor or the entry point group 'hwnas.predictors')",
        )


def check_metric_and_space(case: ContractCase) -> None:
    """``metric`` is a measured metric; ``space`` a SearchSpace (None only for a kind
    that predicts any model)."""
    predictor = case.make()
    if predictor.metric not in METRICS:
        raise _fail(
            "check_metric_and_space",
            f"metric is {predictor.metric!r}; it must be one of {', '.join(METRICS)}",
        )
    space = predictor.space
    if not (isinstance(space, SearchSpace) or (space is None and not predictor.space_bound)):
        raise _fail(
            "check_metric_and_space",
            f"space is {space!r}; it must be a SearchSpace (or None with space_bound = False)",
        )


def check_not_fitted(case: ContractCase) -> None:
    """Before ``fit``, predicting and saving raise ``NotFittedError``."""
    predictor = case.make()
    if predictor.is_fitted():
        raise _fail("check_not_fitted", "is_fitted() is True before fit")
    with tempfile.TemporaryDirectory() as tmp:
        calls: list[tuple[str, Callable[[], object]]] = [
            ("predict", lambda: predictor.predict(list(case.inputs))),
            ("predict_interval", lambda: predictor.predict_interval(list(case.inputs))),
            ("save", lambda: predictor.save(Path(tmp) / "p")),
        ]
        for name, call in calls:
            try:
                call()
            except NotFittedError:
                continue
            except Exception as exc:  # noqa: BLE001 - the point is to name what was raised
                raise _fail(
                    "check_not_fitted",
                    f"{name} before fit raised {type(exc).__name__}: {exc}; call "
                    f"self.check_is_fitted() first",
                ) from None
            raise _fail("check_not_fitted", f"{name} before fit did not raise NotFittedError")


def check_fit_returns_self(case: ContractCase) -> None:
    """``fit`` returns the predictor itself; what it learns ends in ``_``; the attributes
    every kind has are set."""
    predictor = case.make()
    before = set(vars(predictor))
    if predictor.fit(*case.fit_args, **case.fit_kwargs) is not predictor:
        raise _fail("check_fit_returns_self", "fit must return self")
    learned = sorted(k for k in set(vars(predictor)) - before if not k.startswith("_"))
    odd = [k for k in learned if not k.endswith("_")]
    if odd:
        raise _fail("check_fit_returns_self", f"fit set {odd}, which do not end in '_'")
    if not predictor.is_fitted():
        raise _fail("check_fit_returns_self", "is_fitted() is False after fit")
    kinds = {
        "origin_": Origin,
        "training_hash_": str,
        "n_train_": int,
        "validation_": dict,
        "feature_names_": list,
    }
    for name, kind in kinds.items():
        if not isinstance(getattr(predictor, name, None), kind):
            raise _fail(
                "check_fit_returns_self",
                f"after fit, {name} must be a {kind.__name__}, got "
                f"{type(getattr(predictor, name, None)).__name__}",
            )


def check_predict(case: ContractCase) -> None:
    """One finite float64 value >= 0 per input, independent of the other inputs."""
    if len(case.inputs) < 2:
        raise _fail("check_predict", "the case needs two or more inputs")
    predictor = case.fitted()
    inputs = list(case.inputs)
    value = predictor.predict(inputs)
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        raise _fail("check_predict", f"predict must return a float64 array, got {value!r}")
    if value.shape != (len(inputs),):
        raise _fail("check_predict", f"predict gave shape {value.shape} for {len(inputs)} inputs")
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise _fail("check_predict", f"predictions must be finite and >= 0, got {value}")
    _same(
        "check_predict",
        "predictions of the inputs reversed",
        predictor.predict(inputs[::-1]),
        value[::-1],
        rtol=1e-9,
    )
    if predictor.predict([]).shape != (0,):
        raise _fail("check_predict", "predict([]) must return an empty array")


def check_predict_interval(case: ContractCase) -> None:
    """``predict_interval`` brackets ``predict``: same values, finite ``low <= value <= high``."""
    predictor = case.fitted()
    inputs = list(case.inputs)
    interval = predictor.predict_interval(inputs)
    if not isinstance(interval, Interval):
        raise _fail("check_predict_interval", f"must return an Interval, got {interval!r}")
    _same(
        "check_predict_interval",
        "Interval.value and predict",
        interval.value,
        predictor.predict(inputs),
    )
    for name in ("low", "high"):
        end = np.asarray(getattr(interval, name))
        if end.shape != interval.value.shape or not np.all(np.isfinite(end)):
            raise _fail("check_predict_interval", f"{name} must be finite, shaped like value")
    if np.any(interval.low > interval.value) or np.any(interval.value > interval.high):
        raise _fail("check_predict_interval", "the interval must satisfy low <= value <= high")
    share = predictor.interval_share
    if share is not None and not 0.0 < share < 1.0:
        raise _fail("check_predict_interval", f"interval_share must be in (0, 1), got {share}")


def _listed(directory: Path) -> set[Path]:
    """The files a predictor directory's ``meta.json`` hashes, with those of nested
    predictor directories whose ``meta.json`` it hashes (a transfer's ``base/``)."""
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    found = {directory / META}
    for name in meta.get("files") or {}:
        path = directory / name
        found.add(path)
        if path.name == META and path.parent != directory and path.is_file():
            found |= _listed(path.parent)
    return found


def _check_meta(directory: Path, predictor: Predictor) -> dict[str, Any]:
    meta = json.loads((directory / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("kind") != predictor.kind:
        raise _fail(
            "check_save_load_round_trip",
            f"meta.json must have format {FORMAT!r} and kind {predictor.kind!r}",
        )
    if not isinstance(meta.get("versions"), dict) or "hwnas" not in meta["versions"]:
        raise _fail("check_save_load_round_trip", "meta.json must record the library versions")
    for name, digest in meta["files"].items():
        if not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
            raise _fail("check_save_load_round_trip", f"{name} has no SHA-256 in meta.json")
    unlisted = sorted(
        str(f.relative_to(directory))
        for f in directory.rglob("*")
        if f.is_file() and f not in _listed(directory)
    )
    if unlisted:
        raise _fail(
            "check_save_load_round_trip",
            f"{', '.join(unlisted)} not listed in meta.json's files, so a change to it goes "
            f"unnoticed; return its name from _write_files",
        )
    for file in directory.rglob("*"):
        if file.is_file() and file.read_bytes()[:1] == b"\x80":
            raise _fail(
                "check_save_load_round_trip", f"{file.name} looks pickled; use open formats"
            )
    return meta


def check_save_load_round_trip(case: ContractCase) -> None:
    """``save`` writes the one artifact format; ``load_predictor`` gives back the same kind
    with identical predictions and intervals."""
    predictor = case.fitted()
    inputs = list(case.inputs)
    with tempfile.TemporaryDirectory() as tmp:
        directory = predictor.save(Path(tmp) / "p")
        _check_meta(directory, predictor)
        loaded = load_predictor(directory)
        if type(loaded) is not type(predictor) or loaded.load_warnings_:
            raise _fail(
                "check_save_load_round_trip",
                f"loading gave {type(loaded).__name__} with warnings {loaded.load_warnings_}",
            )
        if loaded.metric != predictor.metric or loaded.training_hash_ != predictor.training_hash_:
            raise _fail("check_save_load_round_trip", "metric or training_hash_ changed")
        a, b = predictor.predict_interval(inputs), loaded.predict_interval(inputs)
        for name in ("value", "low", "high"):
            _same(
                "check_save_load_round_trip",
                f"{name} before and after loading",
                getattr(a, name),
                getattr(b, name),
            )


def check_tampered_artifact_refused(case: ContractCase) -> None:
    """A changed model file, a missing or corrupt ``meta.json`` are refused with
    ``ArtifactError``."""
    predictor = case.fitted()
    with tempfile.TemporaryDirectory() as tmp:
        directory = predictor.save(Path(tmp) / "p")
        meta_text = (directory / META).read_text(encoding="utf-8")
        files = list(json.loads(meta_text)["files"])
        damage: list[tuple[str, Callable[[], object]]] = [
            ("corrupt meta.json", lambda: (directory / META).write_text(meta_text[:-20])),
            ("no meta.json", lambda: (directory / META).unlink()),
        ]
        if files:
            first = directory / files[0]
            damage.insert(
                0, (f"changed {files[0]}", lambda: first.write_bytes(first.read_bytes() + b"\n"))
            )
        for what, do in damage:
            (directory / META).write_text(meta_text, encoding="utf-8")
            do()
            try:
                load_predictor(directory)
            except ArtifactError:
                continue
            raise _fail("check_tampered_artifact_refused", f"a directory with {what} was loaded")


def check_deterministic(case: ContractCase) -> None:
    """Two predictors made and fitted alike (same seed) predict identically; so does one
    fitted twice."""
    inputs = list(case.inputs)
    first, second = case.fitted(), case.fitted()
    _same(
        "check_deterministic",
        "two fits' predictions",
        first.predict(inputs),
        second.predict(inputs),
    )
    again = first.fit(*case.fit_args, **case.fit_kwargs)
    _same(
        "check_deterministic",
        "predictions after fitting again",
        again.predict(inputs),
        second.predict(inputs),
    )


ALL_CHECKS: tuple[Check, ...] = (
    check_registered,
    check_metric_and_space,
    check_not_fitted,
    check_fit_returns_self,
    check_predict,
    check_predict_interval,
    check_save_load_round_trip,
    check_tampered_artifact_refused,
    check_deterministic,
)


def predictor_checks() -> Iterator[Check]:
    """The checks of the contract, in order."""
    yield from ALL_CHECKS


def check_predictor(
    case: ContractCase,
    *,
    on_check: Callable[[str, PredictorContractError | None], None] | None = None,
) -> None:
    """Run every check on ``case``; raise ``PredictorContractError`` naming the first that
    fails (an unexpected exception inside a check is reported as that check's failure).
    ``on_check(name, error_or_None)`` hears of each check."""
    run_checks(
        predictor_checks(), case, error_type=PredictorContractError, fail=_fail, on_check=on_check
    )


def parametrize_with_checks(cases: Iterable[ContractCase]) -> Any:
    """A ``pytest.mark.parametrize`` over (case, check) pairs, ids like
    ``lightgbm-check_predict``."""
    import pytest

    pairs = [(case, check) for case in cases for check in predictor_checks()]
    return pytest.mark.parametrize(
        ("case", "check"), pairs, ids=[f"{case.id}-{check.__name__}" for case, check in pairs]
    )


# -- the built-in kinds' cases ------------------------------------------------------------


def _nb201_rows(column: str, rows: slice) -> tuple[list[str], np.ndarray]:
    """Architectures and one latency column of the bundled NAS-Bench-201 table."""
    from hwnas.data import nb201_table

    part = nb201_table().iloc[rows]
    return list(part["arch"]), part[column].to_numpy(dtype=np.float64)


def _nb201_inputs() -> list[str]:
    from hwnas.spaces import get_space

    return get_space("nb201").sample(7, 6)


def _lightgbm_case() -> ContractCase:
    from hwnas.predictors.lgbm import LightGBMPredictor

    archs, y = _nb201_rows("latency_raspi4_ms", slice(0, 1200, 20))  # 60 rows
    return ContractCase(
        make=lambda: LightGBMPredictor(space="nb201", seed=1, max_rounds=300),
        fit_args=(archs, y),
        inputs=_nb201_inputs(),
    )


@functools.cache
def _transfer_base() -> Predictor:
    from hwnas.predictors.lgbm import LightGBMPredictor

    archs, y = _nb201_rows("latency_gold_6226_ms", slice(0, 3000, 30))  # 100 rows
    return LightGBMPredictor(space="nb201", seed=3, max_rounds=300).fit(archs, y)


def _transfer_case() -> ContractCase:
    from hwnas.predictors.base import FeaturePredictor
    from hwnas.predictors.transfer import TransferPredictor

    base = _transfer_base()
    assert isinstance(base, FeaturePredictor)
    archs, y = _nb201_rows("latency_raspi4_ms", slice(7, 600, 30))  # 20 rows, another device
    return ContractCase(
        make=lambda: TransferPredictor(base=base, seed=1),
        fit_args=(archs, y),
        inputs=_nb201_inputs(),
    )


def _lookup_table_case() -> ContractCase:
    """Synthetic per-block latencies (seeded) and networks that cost 1.2 times their
    blocks plus 0.3 ms."""
    from hwnas.predictors.lut import FLOOR_BLOCK, BlockStats, LookupTable
    from hwnas.spaces import get_space

    space = get_space("nb201")
    rng = np.random.default_rng(0)
    blocks = []
    for block in [FLOOR_BLOCK, *space.distinct_blocks()]:
        ms = 0.01 if block is FLOOR_BLOCK else float(rng.uniform(0.05, 2.0))
        blocks.append(
            BlockStats(
                key=block.key,
                op=block.op,
                input_shape=tuple(block.input_shape),
                output_shape=tuple(block.output_shape),
                params=dict(block.params),
                n=50,
                mean_ms=ms,
                std_ms=0.01 * ms,
                p10_ms=0.97 * ms,
                p50_ms=ms,
                p90_ms=1.05 * ms,
            )
        )
    archs = space.sample(3, 12)
    sums = LookupTable(space=space, blocks={b.key: b for b in blocks}).predict(archs)
    return ContractCase(
        make=lambda: LookupTable(space=space, device="contract", fingerprint="f" * 16),
        fit_args=(archs, 1.2 * sums + 0.3),
        fit_kwargs={"blocks": blocks},
        inputs=_nb201_inputs(),
    )


def _kernel_case() -> ContractCase:
    """Synthetic kernel samples (2 µs a model, 1 µs a kernel, 20 GMAC/s) and a few
    single-kernel ONNX models to predict."""
    from hwnas.predictors.kernel_sampler import (
        KernelSample,
        main_kernel,
        sample_configs,
        sample_kernel_models,
    )
    from hwnas.predictors.kernels import KernelPredictor

    samples = [
        KernelSample("overhead", c, 0.002 + 0.001 * c["chain"], {"Neg": (c["chain"], 0.003)})
        for c in sample_configs("overhead", 0)
    ]
    for kind in ("conv", "elementwise"):
        for config in sample_configs(kind, 20, seed=0):
            k = main_kernel(config)
            ms = 0.003 + k.macs / 2e7 + (k.bytes_read + k.bytes_written) / 1e7
            samples.append(KernelSample(kind, config, ms, {}))
    models = [m for kind in ("conv", "gemm") for m, _ in sample_kernel_models(kind, 2, seed=9)]
    return ContractCase(
        make=lambda: KernelPredictor(seed=0, rounds=20),
        fit_args=(samples,),
        fit_kwargs={"device": "contract", "fingerprint": "f" * 16},
        inputs=models,
    )


def _table_base_case() -> ContractCase:
    """The bundled NAS-Bench-201 table (every cell once) as a base."""
    from hwnas.predictors.zoo import TableBase

    archs, y = _nb201_rows("latency_gold_6226_ms", slice(None))
    return ContractCase(
        make=lambda: TableBase(space="nb201", device="gold_6226"),
        fit_args=(archs, y),
        inputs=_nb201_inputs(),
    )


def _weighted_bases_case() -> ContractCase:
    """Two bases (a LightGBM model of one device, the complete table of another) weighed
    on 12 measurements of a third."""
    from hwnas.predictors.zoo import BaseSet, TableBase

    archs, y = _nb201_rows("latency_gold_6226_ms", slice(None))
    table = TableBase(space="nb201", device="gold_6226").fit(archs, y)
    bases = {"lightgbm": _transfer_base(), "gold_6226": table}
    few, values = _nb201_rows("latency_raspi4_ms", slice(11, 1200, 100))  # 12 rows
    return ContractCase(
        make=lambda: BaseSet(bases=bases),
        fit_args=(few, values),
        inputs=_nb201_inputs(),
    )


_BUILTIN_CASES: dict[str, Callable[[], ContractCase]] = {
    "kernel": _kernel_case,
    "lightgbm": _lightgbm_case,
    "lookup_table": _lookup_table_case,
    "table_base": _table_base_case,
    "transfer": _transfer_case,
    "weighted_bases": _weighted_bases_case,
}


def builtin_case(kind: str) -> ContractCase:
    """The contract case of a built-in kind (``PredictorContractError`` for any other:
    a kind of your own brings its own :class:`ContractCase`)."""
    if kind not in _BUILTIN_CASES:
        raise PredictorContractError(
            f"{kind!r} is not a built-in predictor kind ({', '.join(sorted(_BUILTIN_CASES))}); "
            f"write a ContractCase for it"
        )
    return _BUILTIN_CASES[kind]()


__all__ = [
    "ALL_CHECKS",
    "builtin_case",
    "ContractCase",
    "check_predictor",
    "parametrize_with_checks",
    "predictor_checks",
]
