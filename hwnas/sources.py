"""Typed seams where the packages meet: what a workflow needs of "a space".

The fleet measures models it knows by a key (an architecture string, a lookup-table
block, a sampled kernel) and must turn a key into an ONNX file on demand (again after
a resume). Search spaces, lookup-table block sets and the kernel sampler all do that;
this protocol is what the profiler asks of them, instead of ``Any``.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable


@runtime_checkable
class ModelSource(Protocol):
    """Names models by string keys and exports each one to an ONNX file."""

    @property
    def name(self) -> str:
        """The ``Arch.space`` its measurements are stored under."""
        ...

    def to_onnx(self, key: str, *, exporter: str = "torchscript") -> str | os.PathLike[str]:
        """The ONNX file of ``key`` (exported once, then served from the cache)."""
        ...
