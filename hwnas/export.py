"""Torch module -> ONNX file, through torch's default (dynamo) exporter.

torch is imported inside the functions: the core must stay importable without it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwnas.errors import HwnasError


class ExportError(HwnasError):
    kind = "export"


def export_onnx(
    module: Any, input_shape: Sequence[int], path: str | Path, *, opset: int = 18
) -> Path:
    """Export ``module`` (eval mode) for one input of ``input_shape`` to ``path``.

    The file is written to a temporary name first and renamed, so a crash never
    leaves a truncated model behind. Returns the path.
    """
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    example = torch.randn(*input_shape)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch._dynamo", "torch.export")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        # The exporter chats on stdout and warns about its own internals; neither is
        # the user's business, and stdout must stay clean for --json.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            with torch.no_grad():
                program = torch.onnx.export(
                    module, (example,), dynamo=True, opset_version=opset, verbose=False
                )
            assert program is not None
            program.save(tmp)
        onnx.checker.check_model(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    except Exception as exc:
        raise ExportError(f"exporting {type(module).__name__} to ONNX failed: {exc}") from exc
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
