"""Quantize an ONNX model to int8 with onnxruntime's quantization tools.

- ``dynamic``: weights int8 ahead of time, activations quantized at run time from their
  observed range (``onnxruntime.quantization.quantize_dynamic``); no calibration data.
- ``static``: weights and activations int8, activation ranges calibrated ahead of time
  (``quantize_static``, min-max) on ``calibration`` inputs: seeded random ones (standard
  normal floats, as the runner times models with) or the user's (an ``.npz`` file with
  one array per model input, samples along the first axis, each a whole input or one
  without its batch axis of 1). ``format`` ``qdq`` writes
  QuantizeLinear/DequantizeLinear pairs around float ops (what mobile execution providers
  take), ``qoperator`` the QLinear* ops. ``per_channel`` quantizes weights per output
  channel.

The model is pre-processed first (``quant_pre_process``: shape inference and graph
optimisation, as onnxruntime recommends); a model it cannot pre-process is quantized as
it is. Every failure is a :class:`~hwnas.errors.HwnasError` that says what to change.
"""

from __future__ import annotations

import collections
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwnas.errors import InvalidModelError, ParameterError, ShapeError
from hwnas.onnx_model import check_model

MODES = ("dynamic", "static")
FORMATS = ("qdq", "qoperator")


@dataclass(frozen=True)
class Quantized:
    """A quantized model: its file, how it was made, and what changed (sizes in MiB, the
    op types of the quantized graph that are quantization's own)."""

    path: Path
    source: Path
    mode: str
    format: str | None
    per_channel: bool
    calibration: int | None
    size_mb: float
    source_size_mb: float
    quantized_ops: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def size_ratio(self) -> float:
        return self.size_mb / self.source_size_mb if self.source_size_mb else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(path=str(self.path), source=str(self.source), size_ratio=self.size_ratio)
        return out


def _check(mode: str, fmt: str, calibration: int, source: Path, output: Path) -> None:
    if mode not in MODES:
        raise ParameterError("mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    if fmt not in FORMATS:
        raise ParameterError("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(calibration, bool) or not isinstance(calibration, int) or calibration < 1:
        raise ParameterError("calibration", f"must be an int >= 1, got {calibration!r}")
    if output.resolve() == source.resolve():
        raise ParameterError("output", f"is the model itself ({source}); write another file")


def _input_shapes(model: Any, shapes: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Every graph input's concrete shape (``shapes`` for dynamic dimensions)."""
    initializers = {t.name for t in model.graph.initializer}
    found: dict[str, list[int]] = {}
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        dims = [
            d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim
        ]
        given = shapes.get(vi.name)
        if given is not None:
            found[vi.name] = [int(d) for d in given]
        elif all(isinstance(d, int) and d > 0 for d in dims):
            found[vi.name] = [int(d) for d in dims]  # type: ignore[arg-type]
        else:
            example = "x".join(str(d) if d else "1" for d in dims)
            raise ShapeError(
                f"input {vi.name!r} has dynamic dimensions; static calibration needs its "
                f"shape: pass --shape {vi.name}={example} (shapes={{...}})"
            )
    return found


class _Inputs:
    """onnxruntime's CalibrationDataReader over a list of input dicts."""

    def __init__(self, samples: list[dict[str, Any]]) -> None:
        self._it: Iterator[dict[str, Any]] = iter(samples)

    def get_next(self) -> dict[str, Any] | None:
        return next(self._it, None)

    def rewind(self) -> None:  # pragma: no cover - onnxruntime asks only for some methods
        pass


def _random_samples(
    model: Any, shapes: Mapping[str, Sequence[int]], n: int, seed: int
) -> list[dict[str, Any]]:
    import numpy as np
    from onnx import TensorProto

    found = _input_shapes(model, shapes)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in model.graph.input}
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        sample = {}
        for name, dims in found.items():
            if types[name] in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE):
                sample[name] = rng.standard_normal(dims).astype(np.float32)
            else:
                sample[name] = rng.integers(0, 10, size=dims).astype(np.int64)
        samples.append(sample)
    return samples


def _user_samples(path: Path, model: Any, n: int) -> list[dict[str, Any]]:
    """The first ``n`` samples of an ``.npz`` file with one array per model input."""
    import numpy as np

    names = [vi.name for vi in model.graph.input]
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidModelError(
            f"cannot read the calibration data {path} ({exc}); give an .npz file with one "
            f"array per model input ({', '.join(names)}), samples along the first axis"
        ) from None
    missing = [name for name in names if name not in data.files]
    if missing:
        raise ParameterError(
            "calibration_data",
            f"{path} has no array for input(s) {', '.join(missing)} (it has "
            f"{', '.join(data.files) or 'none'}); save one per input with numpy.savez",
        )
    rank = {vi.name: len(vi.type.tensor_type.shape.dim) for vi in model.graph.input}
    count = min(len(data[name]) for name in names)

    def sample(name: str, i: int) -> Any:
        one = data[name][i]  # a whole input, or one without its batch axis of 1
        return one[None] if one.ndim == rank[name] - 1 else one

    return [{name: sample(name, i) for name in names} for i in range(min(n, count))]


def _preprocessed(source: Path, folder: str, notes: list[str]) -> Path:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = Path(folder) / "pre.onnx"
    try:
        quant_pre_process(str(source), str(target))
        return target
    except Exception as exc:  # noqa: BLE001 - any failure: quantize the model as it is
        notes.append(f"pre-processing failed ({type(exc).__name__}); quantized as it is")
        return source


def _quantized_ops(path: Path) -> dict[str, int]:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    counts = collections.Counter(
        n.op_type
        for n in graph.node
        if n.op_type.startswith(("QLinear", "Quantize", "Dequantize", "DynamicQuantize"))
        or n.op_type in ("ConvInteger", "MatMulInteger", "MatMulIntegerToFloat")
    )
    return dict(sorted(counts.items()))


def quantize_model(
    model: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    mode: str = "static",
    calibration: int = 16,
    format: str = "qdq",
    per_channel: bool = False,
    calibration_data: str | os.PathLike[str] | None = None,
    shapes: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
) -> Quantized:
    """Quantize the ONNX file ``model`` to int8 and write ``output`` (see the module
    docstring for ``mode``, ``format``, ``per_channel``, ``calibration`` and
    ``calibration_data``; ``shapes`` for inputs with dynamic dimensions; ``seed`` seeds
    the random calibration inputs, so the same call writes the same file). Raises
    ``ParameterError``, ``ModelNotFoundError``, ``InvalidModelError``, ``ShapeError``."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    source, target = Path(model), Path(output)
    _check(mode, format, calibration, source, target)
    checked = check_model(source)
    notes: list[str] = []
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hwnas-quantize-") as folder:
        ready = _preprocessed(checked.path, folder, notes)
        try:
            if mode == "dynamic":
                quantize_dynamic(
                    ready, target, per_channel=per_channel, weight_type=QuantType.QInt8
                )
            else:
                loaded = onnx.load(str(ready))
                samples = (
                    _user_samples(Path(calibration_data), loaded, calibration)
                    if calibration_data is not None
                    else _random_samples(loaded, shapes or {}, calibration, seed)
                )
                quantize_static(
                    ready,
                    target,
                    _Inputs(samples),
                    quant_format=QuantFormat.QDQ if format == "qdq" else QuantFormat.QOperator,
                    per_channel=per_channel,
                    # QLinear ops on x64 want unsigned activations (onnxruntime's advice).
                    activation_type=QuantType.QInt8 if format == "qdq" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                )
        except (ShapeError, ParameterError, InvalidModelError):
            raise
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InvalidModelError(
                f"onnxruntime could not quantize {source} ({first}); try --mode dynamic, "
                f"--format qoperator, or a model exported at a newer opset"
            ) from None
    return Quantized(
        path=target,
        source=source,
        mode=mode,
        format=format if mode == "static" else None,
        per_channel=per_channel,
        calibration=calibration if mode == "static" else None,
        size_mb=target.stat().st_size / 2**20,
        source_size_mb=checked.size_mb,
        quantized_ops=_quantized_ops(target),
        notes=notes,
    )


__all__ = ["FORMATS", "MODES", "Quantized", "quantize_model"]
