"""The search-space interface every space implements (built-in or a user's).

A space is a set of architectures, each named by a canonical string. Search,
predictors and the profiler only ever talk to a space through this class.
Architectures are also a fixed-length integer vector (``encode``/``decode``)
with inclusive bounds per gene, which is what pymoo's integer NSGA-II needs.

Subclasses implement the abstract methods; the rest have working defaults that
a subclass may override for speed or meaning (``canonical`` in particular).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hwnas.errors import InvalidArchError as InvalidArchError  # re-exported: its old home
from hwnas.errors import SpaceError as SpaceError
from hwnas.records import Arch


@dataclass(frozen=True)
class Block:
    """One block of a network, as a lookup table keys it.

    ``op`` names the kind of block, ``params`` its hyper-parameters; two blocks with
    the same ``key`` compute the same function shape-wise and cost the same.
    """

    op: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        items = ",".join(f"{k}={self.params[k]}" for k in sorted(self.params))
        shape_in = "x".join(map(str, self.input_shape))
        shape_out = "x".join(map(str, self.output_shape))
        return f"{self.op}[{items}]:{shape_in}->{shape_out}"


def _as_rng(rng: np.random.Generator | int) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class SearchSpace(abc.ABC):
    """Base of every search space. Keyword-only constructor arguments, if any."""

    #: Registry name, e.g. ``"nb201"``.
    name: ClassVar[str]

    # -- what a space must say -------------------------------------------------

    @abc.abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive integer (lower, upper) per gene of the encoding."""

    @abc.abstractmethod
    def encode(self, arch: str) -> np.ndarray:
        """The integer vector of a valid string; ``InvalidArchError`` (naming the position
        and what is allowed there) for anything else."""

    @abc.abstractmethod
    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        """The canonical string of a vector within bounds; ``InvalidArchError`` otherwise."""

    @abc.abstractmethod
    def size(self) -> int:
        """The exact number of distinct architecture strings."""

    @abc.abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """The input tensor shape (batch 1) of the networks of the space, or of the
        default resolution where the space chooses resolutions."""

    @abc.abstractmethod
    def blocks(self, arch: str) -> list[Block]:
        """The blocks of ``arch`` in order, with input and output shapes."""

    @abc.abstractmethod
    def to_torch(self, arch: str) -> Any:
        """A ``torch.nn.Module`` (eval mode, batch 1) that computes ``arch``."""

    # -- defaults ------------------------------------------------------------------

    def arch_input_shape(self, arch: str) -> tuple[int, ...]:
        """The input shape of this particular architecture (resolution may vary)."""
        return self.input_shape()

    def validate(self, arch: str) -> str:
        """The canonical string of ``arch``; raises ``InvalidArchError`` if not in the space."""
        return self.decode(self.encode(arch))

    def record(self, arch: str) -> Arch:
        return Arch(space=self.name, string=self.validate(arch))

    def sample(self, rng: np.random.Generator | int, n: int = 1) -> list[str]:
        """``n`` architectures drawn uniformly over genes with a seeded generator."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        gen = _as_rng(rng)
        low, high = self.bounds()
        return [self.decode(gen.integers(low, high + 1)) for _ in range(n)]

    def sample_distinct(self, rng: np.random.Generator | int, n: int) -> list[str]:
        """``n`` seeded samples, canonical and pairwise distinct (no function twice).

        Raises ``SpaceError`` when the space cannot supply ``n`` distinct architectures.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n > self.size():
            raise SpaceError(
                f"space {self.name!r} has only {self.size():,} architectures; ask for at "
                f"most that many (got {n:,})."
            )
        gen = _as_rng(rng)
        found: dict[str, None] = {}
        draws, limit = 0, 50 * n + 1000
        while len(found) < n and draws < limit:
            batch = self.sample(gen, min(n - len(found), 1024))
            draws += len(batch)
            for arch in batch:
                found.setdefault(self.canonical(arch), None)
        if len(found) < n:
            raise SpaceError(
                f"found only {len(found):,} functionally distinct architectures of space "
                f"{self.name!r} in {draws:,} draws; ask for fewer than {n:,}."
            )
        return list(found)[:n]

    def mutate(self, arch: str, rng: np.random.Generator | int, rate: float = 0.2) -> str:
        """Resample each gene with probability ``rate``; at least one gene changes value."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"mutation rate must be in [0, 1], got {rate!r}")
        gen = _as_rng(rng)
        genes = self.encode(arch).copy()
        low, high = self.bounds()
        free = np.flatnonzero(high > low)
        if free.size == 0 or rate == 0.0:
            return self.decode(genes)
        mask = gen.random(genes.size) < rate
        mask &= high > low
        if not mask.any():
            mask[gen.choice(free)] = True
        for i in np.flatnonzero(mask):
            choices = [v for v in range(int(low[i]), int(high[i]) + 1) if v != genes[i]]
            genes[i] = gen.choice(choices)
        return self.decode(genes)

    def crossover(self, a: str, b: str, rng: np.random.Generator | int) -> tuple[str, str]:
        """Uniform crossover of two parents' genes into two children."""
        gen = _as_rng(rng)
        ga, gb = self.encode(a), self.encode(b)
        take = gen.random(ga.size) < 0.5
        return self.decode(np.where(take, ga, gb)), self.decode(np.where(take, gb, ga))

    def canonical(self, arch: str) -> str:
        """One representative of every set of architectures that compute the same function."""
        return self.validate(arch)

    def feature_names(self) -> list[str]:
        return [f"gene_{i}" for i in range(self.bounds()[0].size)]

    def features(self, arch: str) -> np.ndarray:
        """Numbers a predictor learns from; by default the encoding itself."""
        return self.encode(arch).astype(np.float64)

    def flops(self, arch: str) -> int:
        """Multiply-accumulates of one forward pass at batch 1 (the "math ops" proxy)."""
        from hwnas.spaces.counting import count_macs_params

        return count_macs_params(self.to_torch(arch), self.arch_input_shape(arch))[0]

    def params(self, arch: str) -> int:
        """Number of trainable parameters."""
        return sum(int(p.numel()) for p in self.to_torch(arch).parameters())

    def identity(self) -> dict[str, Any]:
        """What makes this space's networks what they are, for cache keys.

        The class and its public constructor settings. A space whose networks depend
        on anything else (weights files, a version of its own) must add it here.
        """
        cls = type(self)
        settings = {k: repr(v) for k, v in sorted(vars(self).items()) if not k.startswith("_")}
        return {"class": f"{cls.__module__}.{cls.__qualname__}", "settings": settings}

    # -- lookup tables (optional) -------------------------------------------------

    def distinct_blocks(self) -> list[Block]:
        """Every distinct block (by ``Block.key``) that any architecture of the space can
        contain, each once: what a lookup table measures. Exact: the union of ``blocks(a)``
        over every architecture ``a``, nothing more.

        Optional; a space without it cannot have a lookup table (``SpaceError``).
        """
        raise SpaceError(self._no_lookup_table("distinct_blocks"))

    def block_to_torch(self, block: Block) -> Any:
        """One block of ``distinct_blocks()`` as a ``torch.nn.Module`` (eval mode,
        deterministic weights) taking ``block.input_shape`` to ``block.output_shape``.

        Optional, like ``distinct_blocks``.
        """
        raise SpaceError(self._no_lookup_table("block_to_torch"))

    def _no_lookup_table(self, method: str) -> str:
        cls = type(self)
        return (
            f"space {self.name!r} ({cls.__module__}.{cls.__qualname__}) does not support "
            f"lookup tables: it does not implement {method}(). Implement distinct_blocks() "
            f"and block_to_torch(block) on the space (see hwnas.spaces.base.SearchSpace), "
            f"or use a predictor that measures whole networks (hwnas profile --space)."
        )

    def to_onnx(
        self, arch: str, *, cache: Any = None, opset: int = 18, exporter: str = "torchscript"
    ) -> Any:
        """Path of the ONNX file of ``arch``: exported through torch once, then cached
        by content hash (see ``hwnas.export.export_arch``)."""
        from hwnas.export import export_arch

        return export_arch(self, arch, cache=cache, opset=opset, exporter=exporter).path

    def describe(self) -> dict[str, Any]:
        """Size, encoding and an example, for ``hwnas spaces show``."""
        low, high = self.bounds()
        example = self.sample(0, 1)[0]
        return {
            "name": self.name,
            "size": self.size(),
            "genes": int(low.size),
            "bounds": [[int(lo), int(hi)] for lo, hi in zip(low, high, strict=True)],
            "input_shape": list(self.input_shape()),
            "example": example,
            "example_encoding": [int(g) for g in self.encode(example)],
            "doc": (type(self).__doc__ or "").strip().splitlines()[0] if type(self).__doc__ else "",
        }
