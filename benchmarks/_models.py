"""Benchmark models: the built-in MobileNetV2-like CNN at several widths and resolutions."""

from __future__ import annotations

from pathlib import Path

from hwnas.examples import mobilenet_like
from hwnas.export import export_onnx

# (name, width, resolution): from a ~0.1 ms to a few-ms model on one x86 core.
MODELS = [
    ("mbv2_w8_64px", 8, 64),
    ("mbv2_w16_64px", 16, 64),
    ("mbv2_w16_128px", 16, 128),
    ("mbv2_w32_160px", 32, 160),
]


def benchmark_models(out_dir: Path) -> list[Path]:
    """Export the benchmark models once into ``out_dir`` and return their paths."""
    paths = []
    for name, width, resolution in MODELS:
        path = out_dir / f"{name}.onnx"
        if not path.exists():
            export_onnx(mobilenet_like(width=width), (1, 3, resolution, resolution), path)
        paths.append(path)
    return paths
