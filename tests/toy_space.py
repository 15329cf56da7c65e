"""A tiny user-style search space for the contract tests (and a template for users)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hwnas.spaces import Block, InvalidArchError, SearchSpace

WIDTHS = (4, 8, 16)


class ToySpace(SearchSpace):
    """Two 3x3 convolutions whose widths are chosen from 4, 8, 16; 8x8 input, 2 classes."""

    name = "toy"

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(2, dtype=np.int64), np.full(2, len(WIDTHS) - 1, dtype=np.int64)

    def encode(self, arch: str) -> np.ndarray:
        parts = arch.split("-") if isinstance(arch, str) else []
        if len(parts) != 2:
            raise InvalidArchError(f"{arch!r} is not a toy architecture; write c4-c8")
        genes = []
        for i, part in enumerate(parts):
            allowed = [f"c{w}" for w in WIDTHS]
            if part not in allowed:
                raise InvalidArchError(
                    f"layer {i} of {arch!r} is {part!r}; allowed: {', '.join(allowed)}"
                )
            genes.append(allowed.index(part))
        return np.array(genes, dtype=np.int64)

    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        values = np.asarray(genes)
        if values.shape != (2,) or (values < 0).any() or (values >= len(WIDTHS)).any():
            raise InvalidArchError(f"a toy vector is two genes in 0..2, got {values.tolist()}")
        return "-".join(f"c{WIDTHS[int(g)]}" for g in values)

    def size(self) -> int:
        return len(WIDTHS) ** 2

    def input_shape(self) -> tuple[int, ...]:
        return (1, 3, 8, 8)

    def blocks(self, arch: str) -> list[Block]:
        c1, c2 = (WIDTHS[int(g)] for g in self.encode(arch))
        return [
            Block("conv3x3", (1, 3, 8, 8), (1, c1, 8, 8), {"cout": c1}),
            Block("conv3x3", (1, c1, 8, 8), (1, c2, 8, 8), {"cout": c2}),
            Block("head", (1, c2, 8, 8), (1, 2), {"classes": 2}),
        ]

    def to_torch(self, arch: str) -> Any:
        import torch
        from torch import nn

        c1, c2 = (WIDTHS[int(g)] for g in self.encode(arch))
        with torch.random.fork_rng():
            torch.manual_seed(0)
            module = nn.Sequential(
                nn.Conv2d(3, c1, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(c1, c2, 3, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(c2, 2),
            )
        return module.eval()
