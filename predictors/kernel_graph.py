"""An ONNX graph made ready to split into kernels: static shapes and constants folded
as onnxruntime folds them (:func:`prepare_graph`, :class:`Graph`).

Preparation (:func:`prepare_graph`): fix the input shapes a caller passes, run ONNX
shape inference (with data propagation, so ``Shape -> Gather -> Concat -> Reshape``
chains resolve), fold what onnxruntime folds before it runs anything (``Constant``
nodes, nodes whose inputs are all constant, ``Shape``/``Size`` of a tensor with a
static shape) and drop what it eliminates (``Identity``, ``Dropout``). Shapes that
inference leaves unknown are taken from one run of the model in onnxruntime with every
intermediate tensor exposed; a graph input with a dynamic dimension is an error that
says which input and what to pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from hwnas.errors import InvalidModelError, ShapeError

Shape = tuple[int, ...]

#: Ops onnxruntime removes from the graph before running it (inference mode).
REMOVED_OPS = frozenset({"Identity", "Dropout"})
#: Ops whose output is never constant-folded (random, or with side effects).
NOT_FOLDABLE = frozenset(
    {
        "RandomNormal",
        "RandomUniform",
        "RandomNormalLike",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)

_ELEM_SIZE = {
    onnx.TensorProto.FLOAT: 4,
    onnx.TensorProto.FLOAT16: 2,
    onnx.TensorProto.BFLOAT16: 2,
    onnx.TensorProto.DOUBLE: 8,
    onnx.TensorProto.INT64: 8,
    onnx.TensorProto.UINT64: 8,
    onnx.TensorProto.INT32: 4,
    onnx.TensorProto.UINT32: 4,
    onnx.TensorProto.INT16: 2,
    onnx.TensorProto.UINT16: 2,
    onnx.TensorProto.INT8: 1,
    onnx.TensorProto.UINT8: 1,
    onnx.TensorProto.BOOL: 1,
}
#: Integer element types (not bool): the tensors of :attr:`Graph.integer`.
_INTEGER_TYPES = frozenset(
    {
        onnx.TensorProto.INT64,
        onnx.TensorProto.UINT64,
        onnx.TensorProto.INT32,
        onnx.TensorProto.UINT32,
        onnx.TensorProto.INT16,
        onnx.TensorProto.UINT16,
        onnx.TensorProto.INT8,
        onnx.TensorProto.UINT8,
    }
)


@dataclass
class Graph:
    """The nodes onnxruntime would run, with what the fusion rules need to know."""

    nodes: list[onnx.NodeProto]
    names: list[str]
    shapes: dict[str, Shape]
    elem_size: dict[str, int]
    consts: set[str]
    inputs: set[str]
    outputs: set[str]
    producer: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)
    #: The tensors of an integer type (indices, hashes; not bool), as declared.
    integer: set[str] = field(default_factory=set)

    def shape(self, name: str) -> Shape:
        """The static shape of tensor ``name`` (``()`` for a scalar)."""
        return self.shapes[name]

    def numel(self, name: str) -> int:
        return math.prod(self.shapes.get(name, ()))

    def nbytes(self, name: str) -> int:
        return self.numel(name) * self.elem_size.get(name, 4)

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def sole_consumer(self, i: int) -> int | None:
        """The only node that reads node ``i``'s first output, if it is not a graph output."""
        out = self.nodes[i].output[0]
        users = self.consumers.get(out, [])
        if len(users) != 1 or out in self.outputs:
            return None
        return users[0]

    def producer_of(self, name: str) -> int | None:
        return self.producer.get(name)


def _dims(vi: onnx.ValueInfoProto) -> list[int | str | None] | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    out: list[int | str | None] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _fix_inputs(model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]) -> None:
    """Write fixed shapes into the graph inputs; refuse dynamic dims left unset."""
    inits = {t.name for t in model.graph.initializer}
    real = [vi for vi in model.graph.input if vi.name not in inits]
    unknown = sorted(set(shapes) - {vi.name for vi in real})
    if unknown:
        raise ShapeError(
            f"--shape names {', '.join(map(repr, unknown))} but the model's inputs are "
            f"{', '.join(repr(v.name) for v in real)}; use one of those names."
        )
    for vi in real:
        dims = _dims(vi)
        if vi.name in shapes:
            want = [int(d) for d in shapes[vi.name]]
            if dims is not None and len(dims) != len(want):
                raise ShapeError(
                    f"--shape {vi.name}={'x'.join(map(str, want))} has {len(want)} dimensions "
                    f"but input {vi.name!r} has {len(dims)}; give all of them."
                )
            tensor_shape = vi.type.tensor_type.shape
            del tensor_shape.dim[:]
            for d in want:
                tensor_shape.dim.add().dim_value = d
            continue
        if dims is None or any(not isinstance(d, int) or d <= 0 for d in dims):
            shown = "x".join(str(d) if isinstance(d, int) else "?" for d in dims or ["?"])
            example = "x".join(str(d) if isinstance(d, int) and d > 0 else "1" for d in dims or [1])
            raise ShapeError(
                f"input {vi.name!r} has dynamic dimensions ({shown}); the kernel predictor "
                f"needs fixed input shapes: pass --shape {vi.name}={example} (with the sizes "
                f"you will run it at)."
            )


def _run_for_shapes(model: onnx.ModelProto, missing: list[str]) -> dict[str, Shape]:
    """Shapes of ``missing`` tensors from one onnxruntime run with them as outputs."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    have = {o.name for o in probe.graph.output}
    for name in missing:
        if name not in have:
            probe.graph.output.add().name = name
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        rng = np.random.default_rng(0)
        feeds = {}
        for inp in session.get_inputs():
            dims = [int(d) for d in inp.shape]
            dtype = np.float32 if "float" in inp.type else np.int64
            feeds[inp.name] = (
                rng.random(dims).astype(dtype) if dtype is np.float32 else np.zeros(dims, dtype)
            )
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, feeds)
    except Exception as exc:  # noqa: BLE001 - any failure means: shapes stay unknown
        raise ShapeError(
            f"ONNX shape inference left {len(missing)} tensor shape(s) unknown (e.g. "
            f"{missing[0]!r}) and running the model to find them failed "
            f"({type(exc).__name__}); export the model with static shapes (fixed input "
            f"sizes) or pass them with --shape NAME=1x3x224x224."
        ) from None
    return {n: tuple(int(d) for d in np.shape(v)) for n, v in zip(names, values, strict=True)}


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with ONNX shape inference applied (data propagation on, so shape
    arithmetic such as ``Shape -> Gather -> Concat -> Reshape`` resolves)."""
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises several types here
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidModelError(
            f"ONNX shape inference failed on the model ({first}); check it with "
            f"onnx.checker and re-export it with fixed input shapes."
        ) from None


def _known_tensors(
    g: onnx.GraphProto,
) -> tuple[dict[str, Shape], dict[str, int], set[str], set[str]]:
    """The static shapes and element sizes the graph declares, its initializers (the
    constants everything else is folded from) and its integer tensors."""
    shapes_of: dict[str, Shape] = {}
    elem: dict[str, int] = {}
    integer: set[str] = set()
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = _dims(vi)
        elem[vi.name] = _ELEM_SIZE.get(vi.type.tensor_type.elem_type, 4)
        if vi.type.tensor_type.elem_type in _INTEGER_TYPES:
            integer.add(vi.name)
        if dims is not None and all(isinstance(d, int) and d >= 0 for d in dims):
            shapes_of[vi.name] = tuple(int(d) for d in dims)  # type: ignore[arg-type]
    consts: set[str] = set()
    for t in g.initializer:
        shapes_of[t.name] = tuple(int(d) for d in t.dims)
        elem[t.name] = _ELEM_SIZE.get(t.data_type, 4)
        if t.data_type in _INTEGER_TYPES:
            integer.add(t.name)
        consts.add(t.name)
    return shapes_of, elem, consts, integer


def _runtime_nodes(
    g: onnx.GraphProto, consts: set[str], shapes_of: Mapping[str, Shape], outputs: set[str]
) -> list[onnx.NodeProto]:
    """Copies of the nodes onnxruntime would still run: removed ops are bypassed (their
    readers read the op's input) and foldable nodes are gone, their outputs added to
    ``consts``. A graph output is never dropped, since the caller reads it."""
    alias: dict[str, str] = {}
    kept: list[onnx.NodeProto] = []
    for node in g.node:
        ins = [alias.get(x, x) for x in node.input]
        if node.op_type in REMOVED_OPS and ins and ins[0] and node.output[0] not in outputs:
            alias[node.output[0]] = ins[0]
            continue
        present = [x for x in ins if x]
        foldable = node.op_type not in NOT_FOLDABLE and (
            node.op_type == "Constant"
            or (present and all(x in consts for x in present))
            or (node.op_type in ("Shape", "Size") and present and present[0] in shapes_of)
        )
        if foldable and not any(o in outputs for o in node.output):
            consts.update(o for o in node.output if o)
            continue
        clone = onnx.NodeProto()
        clone.CopyFrom(node)
        del clone.input[:]
        clone.input.extend(ins)
        kept.append(clone)
    return kept


def _link(graph: Graph) -> None:
    """Fill ``graph.producer`` and ``graph.consumers`` (constants have no consumers:
    the fusion rules ask only who reads an activation)."""
    for i, node in enumerate(graph.nodes):
        for o in node.output:
            if o:
                graph.producer[o] = i
        for x in node.input:
            if x and x not in graph.consts:
                users = graph.consumers.setdefault(x, [])
                if i not in users:
                    users.append(i)


#: Float initializers of at least this many elements lose their values in a
#: :func:`weightless` copy (smaller ones, and every integer tensor, are kept: shape
#: arithmetic and ``Resize`` scales read their values).
WEIGHTLESS_MIN_ELEMENTS = 1024
#: The metadata key that marks a :func:`weightless` copy (it cannot be run).
WEIGHTLESS_KEY = "hwnas.weightless"


def _unknown(kept: Sequence[onnx.NodeProto], shapes_of: Mapping[str, Shape]) -> list[str]:
    """The tensors ``kept`` nodes read or write whose shapes ``shapes_of`` lacks."""
    return sorted({o for n in kept for o in [*n.input, *n.output] if o and o not in shapes_of})


def _missing_shapes(work: onnx.ModelProto) -> list[str]:
    """The tensors of the nodes onnxruntime would run whose shapes ``work`` (a model
    after :func:`_inferred`) leaves unknown."""
    g = work.graph
    shapes_of, _, consts, _ = _known_tensors(g)
    return _unknown(_runtime_nodes(g, consts, shapes_of, {o.name for o in g.output}), shapes_of)


def weightless(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` that :func:`prepare_graph` turns into the same graph, without
    the values of its weights: every float initializer of at least
    :data:`WEIGHTLESS_MIN_ELEMENTS` elements keeps its name, type and dims but no data,
    and the shapes ONNX inference leaves unknown (found by running the model) are
    written into ``value_info``. A random network of a kernel build is kept this way
    once measured: fitting reads its shapes, never its weights, and the copy takes
    kilobytes where the model took megabytes. The copy is marked (metadata
    :data:`WEIGHTLESS_KEY`) and cannot be run. Where the copy would lose a shape, the
    weights are kept (the copy is then as large as the model)."""
    work = _inferred(model)
    missing = _missing_shapes(work)
    if missing:
        found = _run_for_shapes(work, missing)
        declared = {vi.name: vi for vi in [*work.graph.value_info, *work.graph.output]}
        for name, shape in found.items():
            vi = declared.get(name)
            if vi is None:  # no type known either: the default element size, as unknown
                vi = work.graph.value_info.add()
                vi.name = name
            dims = vi.type.tensor_type.shape
            del dims.dim[:]
            for d in shape:
                dims.dim.add().dim_value = d
    kept = onnx.ModelProto()
    kept.CopyFrom(work)
    for t in work.graph.initializer:
        floating = t.data_type in (
            onnx.TensorProto.FLOAT,
            onnx.TensorProto.FLOAT16,
            onnx.TensorProto.BFLOAT16,
            onnx.TensorProto.DOUBLE,
        )
        if floating and math.prod(t.dims) >= WEIGHTLESS_MIN_ELEMENTS:
            for name in ("raw_data", "float_data", "double_data", "int32_data"):
                t.ClearField(name)
    if _missing_shapes(_inferred(work)):
        return kept
    entry = work.metadata_props.add()
    entry.key, entry.value = WEIGHTLESS_KEY, "true"
    return work


def prepare_graph(
    model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]] | None = None
) -> Graph:
    """Infer static shapes and fold constants; see the module docstring."""
    work = onnx.ModelProto()
    work.CopyFrom(model)
    _fix_inputs(work, shapes or {})
    work = _inferred(work)
    g = work.graph
    shapes_of, elem, consts, integer = _known_tensors(g)
    inputs = {vi.name for vi in g.input if vi.name not in consts}
    outputs = {o.name for o in g.output}
    kept = _runtime_nodes(g, consts, shapes_of, outputs)
    missing = _unknown(kept, shapes_of)
    if missing:
        shapes_of.update(_run_for_shapes(work, missing))
    names = [n.name or f"{n.op_type}_{i}" for i, n in enumerate(kept)]
    graph = Graph(
        nodes=kept,
        names=names,
        shapes=shapes_of,
        elem_size=elem,
        consts=consts,
        inputs=inputs,
        outputs=outputs,
        integer=integer,
    )
    _link(graph)
    return graph
