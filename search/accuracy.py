"""Where a search gets accuracy from: a tabular benchmark, a zero-cost proxy, or yours.

Every source maps a list of architecture strings of one space to one number each,
higher is better, and says what the number is (``name``, ``unit``).
"""

from __future__ import annotations

import abc
import functools
import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hwnas.errors import AccuracyError as AccuracyError  # re-exported: its old home
from hwnas.errors import ParameterError
from hwnas.spaces import SearchSpace


class AccuracySource(abc.ABC):
    """Accuracy (or a proxy of it) for architectures of one space; higher is better."""

    name: str
    unit: str = ""

    @abc.abstractmethod
    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        """One finite float per architecture, in order."""


class TabularAccuracy(AccuracySource):
    """NAS-Bench-201 test accuracy after 200 epochs, from the bundled NATS-Bench table."""

    DATASETS = {
        "cifar10": "cifar10_test_acc",
        "cifar100": "cifar100_test_acc",
        "imagenet16": "imagenet16_test_acc",
    }
    unit = "%"

    def __init__(self, space: SearchSpace, dataset: str = "cifar10") -> None:
        if getattr(space, "name", None) != "nb201":
            raise AccuracyError(
                f"the tabular benchmark covers the nb201 space only, not "
                f"{getattr(space, 'name', space)!r}; use the accuracy proxy:naswot or your "
                f"own evaluator (package.module:function)"
            )
        if dataset not in self.DATASETS:
            raise AccuracyError(
                f"unknown dataset {dataset!r} for tabular accuracy; use one of "
                f"{', '.join(self.DATASETS)}"
            )
        from hwnas.data import nb201_table

        table = nb201_table()
        self.space = space
        self.name = f"nb201 {dataset} test accuracy"
        self._by_arch = dict(zip(table["arch"], table[self.DATASETS[dataset]], strict=True))

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        out = np.empty(len(archs))
        for i, arch in enumerate(archs):
            value = self._by_arch.get(arch)
            if value is None:  # a valid but non-official spelling: go through the encoding
                value = self._by_arch[self.space.decode(self.space.encode(arch))]
            out[i] = value
        return out


class NaswotProxy(AccuracySource):
    """NASWOT (Mellor et al., ICML 2021): log-determinant of the Hamming kernel of the
    ReLU activation patterns of a mini-batch, at initialisation. No training, no labels;
    random inputs (seeded) stand in for data, so the ranking is coarser than with real
    images. Cost: one forward pass per architecture."""

    unit = "score"

    def __init__(self, space: SearchSpace, *, batch: int = 32, seed: int = 0) -> None:
        if batch < 2:
            raise ParameterError("batch", f"must be >= 2, got {batch}")
        self.space, self.batch, self.seed = space, batch, seed
        self.name = f"NASWOT proxy (batch {batch})"

    def score(self, arch: str) -> float:
        import torch
        from torch import nn

        module = self.space.to_torch(arch)
        shape = (self.batch, *self.space.arch_input_shape(arch)[1:])
        # The kernel is accumulated layer by layer (as the paper's code does): keeping
        # every layer's codes for one product would hold batch x all-activations floats,
        # gigabytes for a 224 x 224 network.
        kernel = torch.zeros(self.batch, self.batch, dtype=torch.float64)
        seen = [False]

        def hook(_m: Any, _i: Any, out: torch.Tensor) -> None:
            c = (out.detach().reshape(out.shape[0], -1) > 0).float()
            agree = c @ c.t() + (1 - c) @ (1 - c).t()  # units where two inputs agree
            kernel.add_(agree.double())
            seen[0] = True

        handles = [
            m.register_forward_hook(hook)
            for m in module.modules()
            if isinstance(m, nn.ReLU | nn.ReLU6)
        ]
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(self.seed))
        try:
            with torch.no_grad():
                module(x)
        finally:
            for h in handles:
                h.remove()
        if not seen[0]:
            return 0.0
        sign, logdet = torch.linalg.slogdet(kernel)
        return float(logdet) if sign > 0 else 0.0

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        return np.array([self.score(a) for a in archs], dtype=np.float64)


class CallableAccuracy(AccuracySource):
    """A function ``archs -> scores`` as an accuracy source: called with a list of
    architecture strings, it must return one finite number per architecture (higher is
    better); anything else is an ``AccuracyError`` naming the function."""

    unit = ""

    def __init__(self, func: Callable[[list[str]], Any], *, name: str | None = None) -> None:
        if not callable(func):
            raise AccuracyError(f"{name or func!r} is not a function")
        self.func = func
        self.name = name or getattr(func, "__qualname__", None) or repr(func)

    def evaluate(self, archs: Sequence[str]) -> np.ndarray:
        values = self.func(list(archs))
        try:
            out = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise AccuracyError(
                f"the evaluator {self.name} returned {type(values).__name__} "
                f"that is not a list of numbers ({exc})"
            ) from None
        if out.size != len(archs):
            raise AccuracyError(
                f"the evaluator {self.name} returned {out.size} values for "
                f"{len(archs)} architectures; return one per architecture"
            )
        bad = [a for a, v in zip(archs, out, strict=True) if not math.isfinite(v)]
        if bad:
            raise AccuracyError(
                f"the evaluator {self.name} returned a non-finite value for "
                f"{len(bad)} architecture(s), e.g. {bad[0]!r}"
            )
        return out


class UserAccuracy(CallableAccuracy):
    """Your evaluator: ``package.module:function``, called with a list of architecture
    strings (and the space as keyword ``space``), returning one number per architecture."""

    def __init__(self, space: SearchSpace, reference: str) -> None:
        module_name, _, attr = reference.partition(":")
        if not module_name or not attr:
            raise ParameterError(
                "accuracy",
                f"{reference!r} must be tabular[:DATASET], proxy:naswot or package.module:function",
            )
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise AccuracyError(
                f"cannot load the evaluator {reference!r} ({exc}); check "
                f"the name and that its package is installed"
            ) from None
        if not callable(func):
            raise AccuracyError(f"{reference!r} is not a function")
        self.space = space
        super().__init__(functools.partial(func, space=space), name=reference)


def accuracy_source(spec: str, space: SearchSpace, *, seed: int = 0) -> AccuracySource:
    """``tabular[:cifar10|cifar100|imagenet16]``, ``proxy:naswot`` or ``module:function``."""
    kind, _, arg = spec.partition(":")
    if kind == "tabular":
        return TabularAccuracy(space, arg or "cifar10")
    if kind == "proxy":
        if arg not in ("", "naswot"):
            raise AccuracyError(f"unknown proxy {arg!r}; available: naswot")
        return NaswotProxy(space, seed=seed)
    return UserAccuracy(space, spec)
