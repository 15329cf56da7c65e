"""FLOPs (multiply-accumulates) of a torch module, counted with forward hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def count_macs_params(module: Any, input_shape: Sequence[int]) -> tuple[int, int]:
    """(MACs, parameters) of one forward pass of ``module`` on zeros of ``input_shape``.

    Counts Conv2d, Linear and BatchNorm-free arithmetic of convolutions and linear
    layers only: those dominate CNN cost and are what "FLOPs" means in NAS papers.
    """
    import torch
    from torch import nn

    macs = 0

    def conv_hook(mod: nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        nonlocal macs
        kh, kw = mod.kernel_size
        macs += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    def linear_hook(mod: nn.Linear, _inp: Any, out: torch.Tensor) -> None:
        nonlocal macs
        macs += out.numel() * mod.in_features

    handles = []
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            handles.append(sub.register_forward_hook(conv_hook))
        elif isinstance(sub, nn.Linear):
            handles.append(sub.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            module.eval()(torch.zeros(*input_shape))
    finally:
        for h in handles:
            h.remove()
    params = sum(int(p.numel()) for p in module.parameters())
    return macs, params
