"""A static estimate of a model's memory from its ONNX graph, no device needed.

Two parts, in MiB:

- **weights**: the bytes of the constants the runtime graph reads (initializers, after
  constant folding: :func:`hwnas.predictors.kernel_graph.prepare_graph`);
- **activations**: the largest total size of the intermediate tensors alive at once when
  the nodes run in the graph's (topological) order: a tensor is allocated when its node
  runs and freed after its last reader; graph inputs live from the start, graph outputs
  to the end. Ops that only reinterpret a buffer (``Reshape``, ``Flatten``,
  ``Squeeze``, ``Unsqueeze``, ``Identity``) allocate nothing: their output shares the
  input's buffer, which then lives as long as either is read.

``peak_mb`` is their sum: a lower bound of what the runtime holds, which
:mod:`hwnas.profiler` measures as ``peak_memory_mb`` (the process's high-water mark,
which also holds graph optimisation's transient copies, the allocator's arena rounding
and thread stacks). Shapes come from ONNX shape inference (and one run of the model
for the ones it leaves unknown); inputs with dynamic dimensions need ``shapes``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import onnx

from hwnas.predictors.kernel_graph import Graph, prepare_graph

#: Ops whose output is a view of their first input (no new buffer in onnxruntime).
VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})
MB = 2**20


@dataclass(frozen=True)
class MemoryEstimate:
    """The static estimate of one model (MiB): ``weights_mb``, ``activations_mb`` (the
    largest live set of intermediate tensors), ``peak_mb`` (their sum), the node at which
    the live set peaks (``peak_node``) and how many tensors had no known shape
    (``unknown_tensors``: counted as empty, so the estimate is low by their size)."""

    weights_mb: float
    activations_mb: float
    peak_mb: float
    peak_node: str
    nodes: int
    unknown_tensors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _roots(graph: Graph) -> dict[str, str]:
    """Each tensor's buffer: its own name, or for a view op's output, its input's buffer."""
    root: dict[str, str] = {}
    for node in graph.nodes:
        for out in node.output:
            if node.op_type in VIEW_OPS and node.input and node.input[0]:
                root[out] = root.get(node.input[0], node.input[0])
            elif out:
                root[out] = out
    return root


def _lifetimes(graph: Graph, root: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Each buffer's first and last step (graph inputs from -1, outputs to the end)."""
    end = len(graph.nodes)
    life: dict[str, tuple[int, int]] = {name: (-1, -1) for name in graph.inputs}
    for i, node in enumerate(graph.nodes):
        for name in [*node.input, *node.output]:
            if not name or graph.is_const(name):
                continue
            buffer = root.get(name, name)
            first, last = life.get(buffer, (i, i))
            life[buffer] = (min(first, i), max(last, i))
    for name in graph.outputs:
        buffer = root.get(name, name)
        if buffer in life:
            life[buffer] = (life[buffer][0], end)
    return life


def _weights(graph: Graph) -> int:
    read = {name for node in graph.nodes for name in node.input if name and graph.is_const(name)}
    return sum(graph.nbytes(name) for name in read)


def estimate_memory(
    model: str | os.PathLike[str] | onnx.ModelProto,
    *,
    shapes: dict[str, Any] | None = None,
) -> MemoryEstimate:
    """The static memory estimate of ``model`` (a path or a loaded ``ModelProto``; see the
    module docstring). ``shapes``: ``{input name: dims}`` for inputs with dynamic
    dimensions. Raises ``InvalidModelError`` for a model that does not parse or whose
    shapes cannot be inferred, ``ShapeError`` naming the input that needs ``shapes``."""
    if not isinstance(model, onnx.ModelProto):
        from hwnas.onnx_model import check_model

        checked = check_model(os.fspath(model))
        model = onnx.load(str(checked.path))
    graph = prepare_graph(model, shapes)
    root = _roots(graph)
    life = _lifetimes(graph, root)
    size = {b: graph.nbytes(b) for b in life}
    unknown = sum(1 for b in life if b not in graph.shapes)
    best, at = 0, -1
    for step in range(-1, len(graph.nodes)):
        live = sum(size[b] for b, (first, last) in life.items() if first <= step <= last)
        if live > best:
            best, at = live, step
    weights = _weights(graph)
    return MemoryEstimate(
        weights_mb=weights / MB,
        activations_mb=best / MB,
        peak_mb=(weights + best) / MB,
        peak_node="(inputs)" if at < 0 else graph.names[at],
        nodes=len(graph.nodes),
        unknown_tensors=unknown,
    )


__all__ = ["VIEW_OPS", "MemoryEstimate", "estimate_memory"]
