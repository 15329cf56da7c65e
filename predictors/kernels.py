"""Kernel-level latency prediction for arbitrary ONNX models.

A model is split into the kernels onnxruntime's CPU provider runs
(:func:`~hwnas.predictors.kernel_features.split_kernels`, which documents the fusion rules);
each kernel is predicted by a model of its kind, trained on single-kernel models
sampled and measured on the device (:mod:`hwnas.predictors.kernel_sampler`); the model's
latency is

    per-model overhead + sum over kernels of the kernel's prediction.

A kind's model is a linear cost model ``c0 + c1 MACs + c2 bytes + c3 elements`` with
non-negative coefficients fitted for relative error (it extrapolates like a roofline,
where trees would stay flat) times ``exp`` of a LightGBM regressor (text format,
seeded) of its log residual on every kernel feature; the regressor is kept only where
5-fold cross-validation says it helps (it learns what the line cannot: channel
alignment, kernel sizes, activations, cache effects).

The overheads come from the sampled ``Neg`` chains: their latency against the chain
length is a line whose intercept is the per-model overhead (binding inputs and outputs,
starting a run) and whose slope is the per-kernel overhead (dispatch). A sampled
kernel's own time is its model's latency less the per-model overhead and less the NCHWc
layout reorders its op profile shows (onnxruntime wraps a lone conv or pool in them; a
network mostly runs without), priced by a model of the measured ``reorder`` samples, or,
on a device without them, by the op profile's shares (corrected for what the profiler
adds to each node). ``view`` kernels cost the per-kernel overhead; kinds with fewer than
``min_samples`` samples and ``other`` kernels go to a generic model trained on every
sample (its regressor sees kind-agnostic features only: MACs, bytes, elements,
parameters). A conv's fused residual sum is approximated as a third of a standalone
``Add`` of its output (it streams one tensor where the ``Add`` streams three).

Limits: kernels are measured warm (a sampled model runs again and again, so its
weights and inputs stay in the caches); inside a network other layers evict them, so
memory-bound kernels with large weights (a classifier Gemm at batch 1, 1x1 convs on tiny
feature maps) run slower there than predicted; the benchmark's MobileNetV2-like chains
come out 10-18% low for this reason. Fusions and layouts are onnxruntime's CPU
provider's (see :mod:`hwnas.predictors.kernel_features`); other runtimes need other rules.

The artifact is a directory: one LightGBM text model per residual regressor plus
``meta.json`` (format version, device, fingerprint hash, kinds with their cost-model
coefficients and cross-validated errors, feature names, overheads, versions, file
hashes). Loading checks all of it and refuses a mismatch; nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from hwnas.predictors.errors import ArtifactError, NotFittedError, PredictorError
from hwnas.predictors.kernel_features import FEATURE_NAMES, Kernel, kernel_features, split_kernels
from hwnas.predictors.kernel_sampler import (
    OVERHEAD_KIND,
    REORDER_KIND,
    SAMPLED_KINDS,
    KernelSample,
    main_kernel,
    reorder_kernel,
)

__all__ = ["FORMAT", "KernelPredictor", "estimate_overhead", "is_kernel_predictor", "split_kernels"]

FORMAT = "hwnas-kernel-predictor"
FORMAT_VERSION = 1
GENERIC = "generic"
#: Kind-agnostic features of the generic regressor (``other`` kernels, thin kinds).
GENERIC_FEATURES = (
    "n_inputs",
    "macs",
    "flops",
    "bytes_read",
    "bytes_written",
    "params",
    "intensity",
    "elements_out",
    "log_macs",
    "log_bytes",
    "log_elements",
)
_GENERIC_COLS = [FEATURE_NAMES.index(f) for f in GENERIC_FEATURES]
#: A fused residual sum costs this fraction of a standalone Add of the same tensor.
RESIDUAL_FRACTION = 1.0 / 3.0


def estimate_overhead(samples: Sequence[KernelSample]) -> tuple[float, float]:
    """(per-model ms, per-kernel ms) from the overhead chains (Theil-Sen line fit).

    Without enough chains: no per-model overhead, and a per-kernel overhead of the
    smallest measured latency.
    """
    from scipy import stats

    chains = [(float(s.config["chain"]), s.latency_ms) for s in samples if s.kind == OVERHEAD_KIND]
    if len({c for c, _ in chains}) >= 3:
        x, y = np.array([c for c, _ in chains]), np.array([t for _, t in chains])
        fit = stats.theilslopes(y, x)
        slope = max(float(fit.slope), 1e-6)
        return max(float(fit.intercept), 0.0), slope
    smallest = min((s.latency_ms for s in samples), default=1e-3)
    return 0.0, smallest


def profiler_node_ms(samples: Sequence[KernelSample], kernel_ms: float) -> float:
    """What onnxruntime's profiler adds to each node: the profiled time per ``Neg`` node of
    the overhead chains less the per-kernel overhead that timing shows (0 without)."""
    per_node = [
        ms / count
        for s in samples
        if s.kind == OVERHEAD_KIND
        for op, (count, ms) in s.op_times.items()
        if count > 0
    ]
    return max(float(np.median(per_node)) - kernel_ms, 0.0) if per_node else 0.0


def _booster_params(seed: int) -> dict[str, Any]:
    return {
        "objective": "huber",
        "alpha": 0.3,
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 3,
        "min_data_in_bin": 1,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 5.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }


_COST_COLS = [
    FEATURE_NAMES.index(f) for f in ("macs", "bytes_read", "bytes_written", "elements_out")
]


def _cost_terms(x: np.ndarray) -> np.ndarray:
    """Columns of the linear cost model: 1, MACs, bytes moved, output elements."""
    macs, read, written, elements = (x[:, c] for c in _COST_COLS)
    return np.column_stack([np.ones(len(x)), macs, read + written, elements])


def fit_cost_model(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative coefficients of ``ms = c0 + c1 MACs + c2 bytes + c3 elements`` that
    minimise the absolute relative error of ``exp(y)`` (a roofline-like baseline that
    extrapolates sensibly, unlike trees). Least squares reweighted a few times towards
    absolute error, so that a few noisy samples do not pull the line."""
    from scipy.optimize import nnls

    t = np.exp(y)
    a = _cost_terms(x) / t[:, None]
    weights = np.ones(len(t))
    coef = np.zeros(a.shape[1])
    for _ in range(5):
        coef, _ = nnls(a * weights[:, None], weights)
        weights = 1.0 / np.sqrt(np.maximum(np.abs(a @ coef - 1.0), 0.05))
    if not np.any(coef > 0):
        coef = np.array([float(np.median(t)), 0.0, 0.0, 0.0])
    return coef


def cost_model_log_ms(x: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(_cost_terms(x) @ coef, 1e-6))


def _train_residual(
    x: np.ndarray, r: np.ndarray, *, seed: int, names: Sequence[str], rounds: int
) -> Any:
    import lightgbm as lgb

    data = lgb.Dataset(x, r, feature_name=list(names), params={"feature_pre_filter": False})
    return lgb.train(_booster_params(seed), data, num_boost_round=rounds)


def fit_kind(
    x: np.ndarray, y: np.ndarray, *, seed: int, generic: bool = False, rounds: int = 150
) -> tuple[np.ndarray, Any, dict[str, Any]]:
    """(cost-model coefficients, residual booster or None, training report) of one kind.

    The cost model alone and the cost model plus a LightGBM regressor of its log
    residual are compared by seeded 5-fold cross-validation (15 rows or more); the better
    one is refit on every row. The report holds ``n``, ``cv_mape`` (%, of the kernel's own
    latency) and whether the residual regressor is used. ``generic``: the regressor sees
    only :data:`GENERIC_FEATURES`.
    """
    n = len(y)
    cols = _GENERIC_COLS if generic else list(range(len(FEATURE_NAMES)))
    names = GENERIC_FEATURES if generic else FEATURE_NAMES
    use_residual, cv_mape = n >= 15, None
    if n >= 15:
        errors: dict[bool, list[float]] = {False: [], True: []}
        for fold in np.array_split(np.random.default_rng(seed).permutation(n), 5):
            train = np.setdiff1d(np.arange(n), fold)
            coef = fit_cost_model(x[train], y[train])
            base = cost_model_log_ms(x[train], coef)
            booster = _train_residual(
                x[train][:, cols], y[train] - base, seed=seed, names=names, rounds=rounds
            )
            plain = cost_model_log_ms(x[fold], coef)
            errors[False] += list(np.abs(plain - y[fold]))
            errors[True] += list(np.abs(plain + booster.predict(x[fold][:, cols]) - y[fold]))
        use_residual = float(np.mean(errors[True])) < float(np.mean(errors[False]))
        cv_mape = float(100 * np.mean(np.expm1(np.asarray(errors[use_residual]))))
    coef = fit_cost_model(x, y)
    booster = None
    if use_residual:
        booster = _train_residual(
            x[:, cols], y - cost_model_log_ms(x, coef), seed=seed, names=names, rounds=rounds
        )
    report = {
        "n": n,
        "cv_mape": cv_mape,
        "residual_model": use_residual,
        "cost_model": [float(c) for c in coef],
    }
    return coef, booster, report


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata

    import lightgbm

    try:
        hwnas_version = metadata.version("hwnas")
    except metadata.PackageNotFoundError:
        hwnas_version = "unknown"
    return {"hwnas": hwnas_version, "lightgbm": lightgbm.__version__, "onnx": onnx.__version__}


class KernelPredictor:
    """Per-kind cost models (with LightGBM residual regressors) on kernel features,
    summed with overheads.

    ``fit`` returns self; fitted state ends in ``_``; using it unfitted raises
    :class:`~hwnas.predictors.errors.NotFittedError`.
    """

    def __init__(self, *, seed: int = 0, min_samples: int = 8, rounds: int = 150) -> None:
        if min_samples < 2:
            raise ValueError(f"min_samples must be >= 2, got {min_samples!r}")
        if rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds!r}")
        self.seed, self.min_samples, self.rounds = seed, min_samples, rounds

    # -- training -----------------------------------------------------------------------

    def fit(
        self, samples: Sequence[KernelSample], *, device: str, fingerprint: str
    ) -> KernelPredictor:
        """Train from measured kernel samples (see :func:`~hwnas.predictors.kernel_sampler.
        measured_samples`) of one device under one fingerprint."""
        model_ms, kernel_ms = estimate_overhead(samples)
        node_ms = profiler_node_ms(samples, kernel_ms)
        floor = max(0.5 * kernel_ms, 1e-6)
        self.models_: dict[str, tuple[np.ndarray, Any]] = {}
        self.training_: dict[str, dict[str, Any]] = {}
        reorders = [s for s in samples if s.kind == REORDER_KIND]
        if len(reorders) >= self.min_samples:
            x = np.vstack([kernel_features(main_kernel(s.config)) for s in reorders])
            y = np.log([max(s.latency_ms - model_ms, floor) for s in reorders])
            coef, booster, report = fit_kind(x, y, seed=self.seed, rounds=self.rounds)
            self.models_[REORDER_KIND], self.training_[REORDER_KIND] = (coef, booster), report
        rows: dict[str, tuple[list[np.ndarray], list[float]]] = {}
        for s in samples:
            if s.kind in (OVERHEAD_KIND, REORDER_KIND):
                continue
            kernel = main_kernel(s.config)
            own = self._own_ms(s, kernel, model_ms, node_ms)
            xs, ys = rows.setdefault(s.kind, ([], []))
            xs.append(kernel_features(kernel))
            ys.append(math.log(max(own, floor)))
        if not rows:
            raise PredictorError(
                f"no measured kernel samples for device {device!r} under fingerprint "
                f"{fingerprint}; run `hwnas kernels build --device {device}` to measure them"
            )
        for kind, (xs, ys) in sorted(rows.items()):
            if len(ys) >= self.min_samples:
                coef, booster, report = fit_kind(
                    np.vstack(xs), np.asarray(ys), seed=self.seed, rounds=self.rounds
                )
                self.models_[kind], self.training_[kind] = (coef, booster), report
        all_x = np.vstack([x for xs, _ in rows.values() for x in xs])
        all_y = np.asarray([y for _, ys in rows.values() for y in ys])
        coef, booster, report = fit_kind(
            all_x, all_y, seed=self.seed, generic=True, rounds=self.rounds
        )
        self.models_[GENERIC], self.training_[GENERIC] = (coef, booster), report
        self.device_, self.fingerprint_ = device, fingerprint
        self.overhead_model_ms_, self.overhead_kernel_ms_ = model_ms, kernel_ms
        self.profiler_node_ms_ = node_ms
        return self

    def _own_ms(self, s: KernelSample, kernel: Kernel, model_ms: float, node_ms: float) -> float:
        """A sample's own kernel time: its latency less the per-model overhead and the
        NCHWc reorders its op profile shows (their measured cost where reorders were
        measured, but at least the op profile's share; else that share)."""
        n_in = s.op_times.get("ReorderInput", (0, 0.0))[0]
        n_out = s.op_times.get("ReorderOutput", (0, 0.0))[0]
        total = s.latency_ms - model_ms
        if not (n_in or n_out):
            return total
        if REORDER_KIND not in self.models_:
            return total * s.own_share(node_ms)
        shapes = [kernel.inputs[0]] * n_in + [kernel.output] * n_out
        pairs = np.vstack([kernel_features(reorder_kernel(sh)) for sh in shapes])
        reorders = 0.5 * float(np.exp(self._log_ms(REORDER_KIND, pairs)).sum())
        # never below what the op profile leaves the kernel (a noisy sample or a reorder
        # model off for this size must not push the label to nothing)
        return max(total - reorders, total * s.own_share(node_ms))

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError(
                "this KernelPredictor is not fitted; call fit() or KernelPredictor.load(DIR)"
            )

    # -- prediction ---------------------------------------------------------------------

    def _log_ms(self, name: str, x: np.ndarray) -> np.ndarray:
        coef, booster = self.models_[name]
        out = cost_model_log_ms(x, coef)
        if booster is not None:
            out = out + booster.predict(x[:, _GENERIC_COLS] if name == GENERIC else x)
        return out

    def predict_kernels(self, kernels: Sequence[Kernel]) -> tuple[np.ndarray, list[str]]:
        """Predicted ms of each kernel and which model said so (its kind, ``generic`` or
        ``overhead``)."""
        self._check_fitted()
        ms = np.zeros(len(kernels))
        source = ["overhead"] * len(kernels)
        by_model: dict[str, list[int]] = {}
        for i, k in enumerate(kernels):
            if k.kind == "view":
                ms[i] = self.overhead_kernel_ms_
            else:
                by_model.setdefault(k.kind if k.kind in self.models_ else GENERIC, []).append(i)
        for name, idx in by_model.items():
            ms[idx] = np.exp(
                self._log_ms(name, np.vstack([kernel_features(kernels[i]) for i in idx]))
            )
            for i in idx:
                source[i] = name
        for i, k in enumerate(kernels):
            if k.kind in ("conv", "dwconv") and k.attrs.get("residual"):
                ms[i] += self._residual_ms(k)
        return ms, source

    def _residual_ms(self, conv: Kernel) -> float:
        """Approximate cost of a residual sum fused into a conv (see the module doc)."""
        el = math.prod(conv.output)
        add = Kernel(
            kind="elementwise",
            op="Add",
            fused=(),
            nodes=(),
            inputs=(conv.output,) * 2,
            output=conv.output,
            macs=0,
            flops=el,
            bytes_read=8 * el,
            bytes_written=4 * el,
            params=0,
            attrs={"broadcast": 0},
        )
        ms, _ = self.predict_kernels([add])
        return max(float(ms[0]) - self.overhead_kernel_ms_, 0.0) * RESIDUAL_FRACTION

    def predict_onnx(
        self,
        model: str | Path | onnx.ModelProto,
        *,
        shapes: Mapping[str, Sequence[int]] | None = None,
    ) -> tuple[float, list[dict[str, Any]]]:
        """(predicted total ms, one row per kernel) for an ONNX file or model."""
        self._check_fitted()
        proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))
        kernels = split_kernels(proto, shapes)
        ms, source = self.predict_kernels(kernels)
        rows = [
            {"index": i, **k.to_dict(), "ms": float(t), "regressor": src}
            for i, (k, t, src) in enumerate(zip(kernels, ms, source, strict=True))
        ]
        return float(self.overhead_model_ms_ + ms.sum()), rows

    # -- artifact -----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "device": self.device_,
            "fingerprint": self.fingerprint_,
            "overhead": {
                "model_ms": self.overhead_model_ms_,
                "kernel_ms": self.overhead_kernel_ms_,
                "profiler_node_ms": getattr(self, "profiler_node_ms_", 0.0),
            },
            "kinds": dict(self.training_),
        }

    def save(self, directory: str | Path) -> Path:
        """Write the LightGBM text models and meta.json to ``directory``."""
        self._check_fitted()
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
            models = {}
            for name, (coef, booster) in self.models_.items():
                entry: dict[str, Any] = {"cost_model": [float(c) for c in coef], "file": None}
                if booster is not None:
                    text = booster.model_to_string()
                    (path / f"{name}.txt").write_text(text, encoding="utf-8")
                    entry.update(file=f"{name}.txt", sha256=_sha256(text))
                models[name] = entry
            meta = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                **self.summary(),
                "seed": self.seed,
                "min_samples": self.min_samples,
                "rounds": self.rounds,
                "feature_names": list(FEATURE_NAMES),
                "generic_features": list(GENERIC_FEATURES),
                "sampled_kinds": list(SAMPLED_KINDS),
                "models": models,
                "versions": _versions(),
            }
            tmp = path / f"meta.json.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
            os.replace(tmp, path / "meta.json")
        except OSError as exc:
            raise ArtifactError(
                f"cannot write the predictor to {path} ({exc.strerror or exc}); "
                f"choose a writable -o DIR"
            ) from None
        return path

    @classmethod
    def load(
        cls, directory: str | Path, *, device: str | None = None, fingerprint: str | None = None
    ) -> KernelPredictor:
        """Read a predictor directory; refuse one that is incomplete, tampered with, of
        another format or feature set, or (when given) of another device or fingerprint."""
        import lightgbm as lgb

        path = Path(directory)
        meta = _read_meta(path)
        for key, want in (("device", device), ("fingerprint", fingerprint)):
            if want is not None and meta.get(key) != want:
                raise ArtifactError(
                    f"{path} predicts for {key} {meta.get(key)!r}, not {want!r}; build one for "
                    f"it with `hwnas kernels build --device ...`"
                )
        self = cls(
            seed=int(meta.get("seed", 0)),
            min_samples=int(meta.get("min_samples", 8)),
            rounds=int(meta.get("rounds", 150)),
        )
        self.models_ = {}
        for name, entry in meta["models"].items():
            coef = np.asarray(entry["cost_model"], dtype=np.float64)
            if coef.shape != (4,) or not np.all(np.isfinite(coef)) or np.any(coef < 0):
                raise ArtifactError(
                    f"{path}/meta.json has a bad cost model for {name!r}; build the predictor again"
                )
            booster = None
            if entry.get("file"):
                file = path / str(entry["file"])
                try:
                    text = file.read_text(encoding="utf-8")
                except OSError:
                    raise ArtifactError(
                        f"{path} is incomplete: {entry['file']} is missing; "
                        f"build the predictor again"
                    ) from None
                if _sha256(text) != entry.get("sha256"):
                    raise ArtifactError(
                        f"{file} does not match the hash in meta.json (edited "
                        f"or corrupt); build the predictor again"
                    )
                booster = lgb.Booster(model_str=text)
            self.models_[name] = (coef, booster)
        self.training_ = dict(meta.get("kinds") or {})
        self.device_, self.fingerprint_ = str(meta["device"]), str(meta["fingerprint"])
        self.overhead_model_ms_ = float(meta["overhead"]["model_ms"])
        self.overhead_kernel_ms_ = float(meta["overhead"]["kernel_ms"])
        self.profiler_node_ms_ = float(meta["overhead"].get("profiler_node_ms", 0.0))
        return self


def is_kernel_predictor(directory: str | Path) -> bool:
    """Whether ``directory`` claims to hold a kernel predictor (for commands that accept
    several predictor types and dispatch on it); :meth:`KernelPredictor.load` checks it."""
    try:
        meta = json.loads((Path(directory) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _read_meta(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise ArtifactError(
            f"{path} is not a kernel predictor directory (it does not exist or "
            f"is a file); build one with `hwnas kernels build -o {path}`"
        )
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(
            f"{path} has no meta.json, so it is not a kernel predictor; build "
            f"one with `hwnas kernels build -o {path}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(
            f"{path}/meta.json is unreadable or not JSON ({exc}); build the predictor again"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        what = meta.get("format") if isinstance(meta, dict) else None
        raise ArtifactError(
            f"{path} holds a {what!r} artifact, not a kernel predictor "
            f"({FORMAT}); pass a directory written by `hwnas kernels build`"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {meta.get('format_version')!r}; this "
            f"hwnas reads {FORMAT_VERSION}. Build the predictor again."
        )
    if meta.get("feature_names") != list(FEATURE_NAMES) or meta.get("generic_features") != list(
        GENERIC_FEATURES
    ):
        raise ArtifactError(
            f"{path} was built with another kernel feature set than this hwnas "
            f"uses; build the predictor again (the measurements are reused)"
        )
    for key in ("device", "fingerprint", "overhead", "models"):
        if key not in meta:
            raise ArtifactError(f"{path}/meta.json lacks {key!r}; build the predictor again")
    if not isinstance(meta["models"], dict) or GENERIC not in meta["models"]:
        raise ArtifactError(f"{path} has no generic regressor; build the predictor again")
    return meta
