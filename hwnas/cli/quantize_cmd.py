"""`hwnas quantize`: an int8 copy of an ONNX model (``hwnas.quantize_model``).

Prints the sizes before and after and the quantization ops the new graph holds; profile
the result like any model (`hwnas profile OUT.onnx --device pi --op-profile` shows which
provider ran its ops).
"""

from __future__ import annotations

from pathlib import Path

import typer

from hwnas.cli._common import JsonOption, fail, note, options, parse_shapes, print_json
from hwnas.errors import HwnasError


def quantize(
    model: Path = typer.Argument(..., help="The ONNX model to quantize."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the int8 model."),
    mode: str = typer.Option(
        "static", "--mode", help="static (weights and activations, calibrated) or dynamic."
    ),
    calibration: int = typer.Option(
        16, "--calibration", help="Calibration inputs for --mode static (seeded random ones)."
    ),
    calibration_data: Path | None = typer.Option(
        None,
        "--calibration-data",
        help="Your calibration inputs instead: an .npz with one array per model input, "
        "samples along the first axis.",
    ),
    fmt: str = typer.Option(
        "qdq", "--format", help="qdq (Quantize/DequantizeLinear pairs) or qoperator (QLinear*)."
    ),
    per_channel: bool = typer.Option(False, "--per-channel", help="Per-channel weight scales."),
    shape: list[str] = typer.Option(
        [], "--shape", help="NAME=1x3x224x224 for inputs with dynamic dimensions (repeatable)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random calibration inputs."),
    as_json: bool = JsonOption,
) -> None:
    """Quantize an ONNX model to int8 with onnxruntime (dynamic or static, QDQ or QOperator)."""
    from hwnas.profiler.quantize import quantize_model

    try:
        with options(format="--format", calibration_data="--calibration-data"):
            done = quantize_model(
                model,
                output,
                mode=mode,
                calibration=calibration,
                format=fmt,
                per_channel=per_channel,
                calibration_data=calibration_data,
                shapes=parse_shapes(shape),
                seed=seed,
            )
    except HwnasError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(done.to_dict())
        return
    for text in done.notes:
        note(text)
    ops = ", ".join(f"{op} ×{n}" for op, n in done.quantized_ops.items()) or "none"
    how = f"{done.mode}" + (
        f", {done.format}, {done.calibration} calibration inputs" if done.format else ""
    )
    note(
        f"wrote {done.path} ({how}): {done.size_mb:.2f} MiB, {100 * done.size_ratio:.0f}% of "
        f"{done.source_size_mb:.2f} MiB; quantization ops: {ops}"
    )
