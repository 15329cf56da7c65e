"""A small built-in network so the quick start needs no model of the user's."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def mobilenet_like(*, width: int = 16, num_classes: int = 10) -> Any:
    """A MobileNetV2-like CNN (inverted residual blocks) for 3x64x64 inputs."""
    from torch import nn

    def inverted_residual(cin: int, cout: int, stride: int, expand: int, kernel: int) -> nn.Module:
        hidden = cin * expand
        return nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    w = width
    return nn.Sequential(
        nn.Conv2d(3, w, 3, 2, 1, bias=False),
        nn.BatchNorm2d(w),
        nn.ReLU6(),
        inverted_residual(w, w, 1, 3, 3),
        inverted_residual(w, 2 * w, 2, 6, 3),
        inverted_residual(2 * w, 2 * w, 1, 6, 5),
        inverted_residual(2 * w, 4 * w, 2, 6, 3),
        inverted_residual(4 * w, 4 * w, 1, 4, 7),
        nn.Conv2d(4 * w, 8 * w, 1, bias=False),
        nn.BatchNorm2d(8 * w),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8 * w, num_classes),
    )


EXAMPLE_INPUT_SHAPE = (1, 3, 64, 64)


def example_onnx_path() -> Path:
    """Where ``example_onnx`` keeps the built-in CNN (it may not be exported yet)."""
    from hwnas.config import cache_dir

    return cache_dir() / "examples" / "mobilenet_like_w16_64px.onnx"


def example_onnx() -> Path:
    """The built-in CNN as an ONNX file in hwnas' cache, exported on first use."""
    from hwnas.export import export_onnx

    path = example_onnx_path()
    if not path.exists():
        export_onnx(mobilenet_like(), EXAMPLE_INPUT_SHAPE, path)
    return path
