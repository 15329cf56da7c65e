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

``profile(..., precision="int8")`` measures :func:`quantized_file`: the model quantized
the one way profiling does (:data:`PROFILE_QUANTIZATION`), cached under
``<cache_dir>/int8`` by the content hash of the source file and the options, like exports.
"""

from __future__ import annotations

import collections
import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwnas.config import cache_dir
from hwnas.errors import InvalidModelError, ParameterError, ShapeError
from hwnas.export import AheadTask, Exported, ExportedFile, cache_hit, write_sidecar
from hwnas.onnx_model import check_model, file_hash
from hwnas.records import stable_hash

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


# --------------------------------------------------------------------------- cache

#: Bump when the way profiling quantizes changes (invalidates the int8 cache).
QUANTIZE_CACHE_VERSION = 1
#: How ``precision="int8"`` quantizes, besides its mode: QDQ (what NNAPI, QNN and XNNPACK
#: take), per-tensor weights, 16 standard-normal calibration inputs of seed 0 (fixed, so
#: the file depends on the model and the mode only; a run's ``seed`` draws its sample).
PROFILE_QUANTIZATION: dict[str, Any] = {
    "format": "qdq",
    "per_channel": False,
    "calibration": 16,
    "seed": 0,
}
# onnxruntime's quantization tools keep module state; device workers quantize from threads.
_QUANTIZE_LOCK = threading.Lock()


def default_quantize_cache() -> Path:
    """The int8 cache of this user: ``<cache_dir>/int8`` (``hwnas.config.cache_dir``)."""
    return cache_dir() / "int8"


def quantize_key(
    source_hash: str, *, mode: str, shapes: Mapping[str, Sequence[int]] | None = None
) -> str:
    """Content hash of everything :func:`quantized_file` writes depends on: the source
    file's SHA-256, the mode, :data:`PROFILE_QUANTIZATION`, the input shapes given,
    onnxruntime's version and :data:`QUANTIZE_CACHE_VERSION`."""
    import onnxruntime

    return stable_hash(
        {
            "source": source_hash,
            "mode": mode,
            **(PROFILE_QUANTIZATION if mode == "static" else {}),
            "shapes": {k: [int(d) for d in v] for k, v in sorted((shapes or {}).items())},
            "onnxruntime": onnxruntime.__version__,
            "version": QUANTIZE_CACHE_VERSION,
        }
    )


def quantized_file(
    model: str | os.PathLike[str],
    *,
    mode: str = "static",
    shapes: Mapping[str, Sequence[int]] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Exported:
    """The int8 copy of the ONNX file ``model`` that ``precision="int8"`` measures:
    :func:`quantize_model` with ``mode`` and :data:`PROFILE_QUANTIZATION` (``shapes`` for
    inputs with dynamic dimensions), made once and then served from ``cache`` (default:
    :func:`default_quantize_cache`) under :func:`quantize_key` (``cached``: it was there).
    A cached file counts only if its sidecar record's SHA-256 matches it. Raises
    ``ModelNotFoundError``, ``InvalidModelError`` (onnxruntime cannot quantize it, or the
    cache is not writable), ``ShapeError`` and ``ParameterError`` for a bad ``mode``."""
    if mode not in MODES:
        raise ParameterError("quantize_mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    source = check_model(Path(model)).path
    key = quantize_key(file_hash(source), mode=mode, shapes=shapes)
    folder = Path(cache) if cache is not None else default_quantize_cache()
    path = folder / key[:2] / f"{key}.onnx"
    if cache_hit(path):
        return Exported(path=path, key=key, cached=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        try:
            with _QUANTIZE_LOCK:
                done = quantize_model(source, tmp, mode=mode, shapes=shapes, **PROFILE_QUANTIZATION)
            record = {"key": key, "source": str(source), **done.to_dict()}
            record.update(path=str(path), sha256=file_hash(Path(tmp)))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        write_sidecar(path, record)
    except OSError as exc:
        raise InvalidModelError(
            f"cannot write the int8 cache at {folder}: {exc.strerror or exc}; free some "
            f"space, fix its permissions, or point HWNAS_HOME at a writable directory."
        ) from None
    return Exported(path=path, key=key, cached=False)


def export_quantized_in_worker(
    space: Any, arch: str, exporter: str, opset: int, mode: str
) -> ExportedFile:
    """``hwnas.export.export_in_worker``, then the file quantized into the worker's int8
    cache (:func:`quantized_file`): a worker sharing this host's cache (a local process)
    leaves the int8 file ready too. A quantization failure is left to the job (which
    quantizes again and fails with the error)."""
    from hwnas.errors import HwnasError
    from hwnas.export import default_cache, export_arch, exported_file

    def export() -> Exported:
        done = export_arch(space, arch, cache=default_cache(), exporter=exporter, opset=opset)
        try:
            quantized_file(done.path, mode=mode)
        except HwnasError:
            pass
        return done

    return exported_file(export)


def quantizing_ahead(
    space: Any, archs: Sequence[str], *, executor: Any, exporter: str, mode: str, opset: int = 18
) -> contextlib.AbstractContextManager[int]:
    """``hwnas.export.exporting_ahead`` for ``precision="int8"``: each architecture's
    export is submitted with its quantization (:func:`export_quantized_in_worker`)."""
    from hwnas.export import check_exporter, export_key, submitting_ahead

    tasks: list[AheadTask] = []
    for arch in dict.fromkeys(space.canonical(a) for a in archs):
        key = export_key(space, arch, opset=opset, exporter=check_exporter(exporter))
        tasks.append((key, export_quantized_in_worker, (space, arch, exporter, opset, mode)))
    return submitting_ahead(executor, tasks)


def for_precision(
    path: str | os.PathLike[str], settings: Mapping[str, Any]
) -> str | os.PathLike[str]:
    """The file a job with ``settings`` (``ProfileSettings.to_dict()``) measures for the
    model ``path``: the path itself for ``fp32``, its :func:`quantized_file` for
    ``int8`` (``quantize_mode``, ``shapes`` as the settings say)."""
    if str(settings.get("precision") or "fp32") == "fp32":
        return path
    mode = str(settings.get("quantize_mode") or "static")
    return quantized_file(path, mode=mode, shapes=settings.get("shapes") or None).path


__all__ = [
    "FORMATS",
    "MODES",
    "PROFILE_QUANTIZATION",
    "Quantized",
    "default_quantize_cache",
    "export_quantized_in_worker",
    "for_precision",
    "quantize_key",
    "quantize_model",
    "quantized_file",
    "quantizing_ahead",
]
