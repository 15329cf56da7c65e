"""Host-side checks of an ONNX file before it is sent anywhere to be measured."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from hwnas.errors import InvalidModelError, ModelNotFoundError


@dataclass(frozen=True)
class ModelFile:
    """An ONNX file that parsed and passed onnx's checker."""

    path: Path
    hash: str
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 2**20


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes: the model's identity everywhere in hwnas."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_model(path: str | Path) -> ModelFile:
    """Check that ``path`` is a readable, well-formed ONNX model and hash it.

    Raises ``ModelNotFoundError`` or ``InvalidModelError`` with a message that says
    what is wrong; whether onnxruntime can run the model is the runner's to say.
    """
    import onnx  # deferred: keeps `import hwnas` light

    p = Path(path)
    if not p.exists():
        raise ModelNotFoundError(f"model file {str(p)!r} does not exist; check the path.")
    if not p.is_file():
        raise ModelNotFoundError(f"{str(p)!r} is not a file; pass the path of a .onnx file.")
    try:
        data = p.read_bytes()  # read once: parsed, checked and hashed from memory
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {p}: {exc.strerror or exc}") from None
    if not data:
        raise InvalidModelError(f"{p} is empty (0 bytes); re-export the model.")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # onnx raises protobuf's DecodeError and friends
        raise InvalidModelError(
            f"{p} is not a valid ONNX model (it does not parse: {type(exc).__name__}); "
            f"the file is truncated or not ONNX. Re-export it, e.g. with torch.onnx.export."
        ) from None
    if not model.graph.node and not model.graph.output:
        raise InvalidModelError(
            f"{p} parsed but holds no graph (no nodes, no outputs); the file is truncated "
            f"or not ONNX. Re-export it."
        )
    try:
        onnx.checker.check_model(data)  # the bytes: a ModelProto would be serialized again
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidModelError(
            f"{p} fails onnx's model checker ({first}); the file is truncated or was written "
            f"by a broken exporter. Re-export it."
        ) from None
    return ModelFile(path=p.resolve(), hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
