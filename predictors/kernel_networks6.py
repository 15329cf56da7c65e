"""The sixth generation of random context networks (seeds from :data:`GENERATION_6`).

The eighth held-out zoo was missed most where its models ran ops that no random network
of the earlier generations runs: NAFNet's channels-first layer norms (means over the
channels of an NCHW map, ``Pow`` and ``Sqrt``), simple gates and pixel shuffles (-33%),
RepLKNet's 31x31 to 13x13 depthwise convs (-25%), SRVGG's PReLUs and pixel shuffle
(+17%) and a 1.1 ms EfficientNet of tiny maps (-34%). This generation draws those
designs, at random sizes:

* ``restoration``: NAFNet- and Restormer-like U-Nets on (1, 3, H, W) images: blocks of a
  channels-first layer norm written as torch code (``x.mean(1)``, ``pow``, ``sqrt``), a
  1x1 conv, a depthwise 3x3, a simple gate (the channels' halves multiplied) or GELU, a
  simplified channel attention (a global pool, a 1x1 conv, a product) and a layer scale;
  down by strided 2x2 convs or pixel unshuffles, up by 1x1 convs and pixel shuffles;
* ``superres``: super-resolution nets (ESPCN, SRVGG, EDSR-like): 3x3 convs with PReLU,
  LeakyReLU or ReLU, plain or residual, a pixel-shuffle tail (x2-x4) and a
  nearest- or bilinear-upsampled skip of the input;
* ``largekernel``: RepLKNet-, SLaK- and ConvMixer-like nets: a patchify or strided stem,
  depthwise convs of 9x9 to 31x31 (or 5x5 to 9x9 for ConvMixer) between 1x1 convs, BN,
  ReLU or GELU, ConvFFNs, strided transitions;
* ``metaformer``: ConvNeXt- and PoolFormer-like stages with channels-first layer norms
  or one-group group norms, pooling or depthwise token mixers, 1x1-conv MLPs with a
  layer scale, patchify stems and strided merges;
* ``decoder``: LLaMA-like decoder blocks on (1, T, D) tokens: RMSNorm written as torch
  code (``pow``, ``mean``, ``rsqrt``), rotary position embeddings (constant sines and
  cosines, halves rotated with ``Neg`` and ``Concat``), causal attention with a constant
  mask, a SwiGLU MLP;
* ``tiny``: mobile nets of tiny maps and widths (MobileNetV2/EfficientNet-like inverted
  bottlenecks, width 0.25-0.5, input 32-128 pixels): many convs of a few microseconds.

A seed names the same network forever; this generation reads its own random stream
(``default_rng([seed, 0xC0DE, 6])``). Builds plan a fifth of their networks from each of
the second to sixth generations
(:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import _choice, drawn_within_macs, generation_rng
from hwnas.predictors.kernel_networks5 import macs5

#: The first seed of the sixth generation.
GENERATION_6 = 50_000_000
MODES = (
    "restoration",
    "restoration",
    "superres",
    "largekernel",
    "largekernel",
    "metaformer",
    "decoder",
    "tiny",
)


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 6)


def _layers() -> Any:
    """The small modules of this generation (torch is imported lazily)."""
    import torch

    nn = torch.nn

    class LayerNorm2d(nn.Module):
        """A channels-first layer norm as NAFNet and ConvNeXt write it."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.w, self.b = (
                nn.Parameter(torch.ones(1, c, 1, 1)),
                nn.Parameter(torch.zeros(1, c, 1, 1)),
            )

        def forward(self, x: Any) -> Any:
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            return (x - u) / torch.sqrt(s + 1e-6) * self.w + self.b

    class SimpleGate(nn.Module):
        def forward(self, x: Any) -> Any:
            a, b = x.chunk(2, dim=1)
            return a * b

    class ChannelAttention(nn.Module):
        """NAFNet's simplified channel attention: x times a 1x1 conv of its mean."""

        def __init__(self, c: int) -> None:
            super().__init__()
            self.pool, self.conv = nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1)

        def forward(self, x: Any) -> Any:
            return x * self.conv(self.pool(x))

    class Residual(nn.Module):
        def __init__(self, body: Any, scale: int = 0) -> None:
            super().__init__()
            self.body = body
            self.gamma = nn.Parameter(torch.full((1, scale, 1, 1), 0.1)) if scale else None

        def forward(self, x: Any) -> Any:
            y = self.body(x)
            return x + (y * self.gamma if self.gamma is not None else y)

    return nn, LayerNorm2d, SimpleGate, ChannelAttention, Residual


def _restoration_block(rng: np.random.Generator, c: int) -> Any:
    """A NAFNet-like block (norm, 1x1 up, depthwise 3x3, gate, attention, 1x1 down) and,
    half of the time, its FFN (norm, 1x1 up, gate, 1x1 down), each with a layer scale."""
    nn, ln, gate, attention, residual = _layers()
    e = _choice(rng, [1, 2, 2])
    simple = rng.random() < 0.7
    wide, mid = 2 * c * e, c * e if simple else 2 * c * e
    norm = ln if rng.random() < 0.8 else (lambda ch: nn.GroupNorm(1, ch))
    body = nn.Sequential(
        norm(c),
        nn.Conv2d(c, wide, 1),
        nn.Conv2d(wide, wide, 3, 1, 1, groups=wide),
        gate() if simple else nn.GELU(),
        *([attention(mid)] if rng.random() < 0.7 else []),
        nn.Conv2d(mid, c, 1),
    )
    blocks = [residual(body, c)]
    if rng.random() < 0.5:
        ffn = nn.Sequential(norm(c), nn.Conv2d(c, 2 * c, 1), gate(), nn.Conv2d(c, c, 1))
        blocks.append(residual(ffn, c))
    return nn.Sequential(*blocks)


def random_restoration(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A NAFNet/Restormer-like U-Net on a (1, 3, H, W) image, with a global skip."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 1)
    levels = int(rng.integers(1, 4))
    h, w = _choice(rng, [(64, 64), (96, 96), (128, 128), (64, 96), (96, 160), (128, 192)])
    c = _choice(rng, [8, 12, 16, 16, 24, 32])
    unshuffle = rng.random() < 0.5
    intro, ending = nn.Conv2d(3, c, 3, 1, 1), nn.Conv2d(c, 3, 3, 1, 1)
    enc, down, up, dec, widths = [], [], [], [], []
    for _ in range(levels):
        enc.append(
            nn.Sequential(*[_restoration_block(rng, c) for _ in range(int(rng.integers(1, 3)))])
        )
        widths.append(c)
        down.append(
            nn.Sequential(nn.PixelUnshuffle(2), nn.Conv2d(4 * c, 2 * c, 1))
            if unshuffle
            else nn.Conv2d(c, 2 * c, 2, 2)
        )
        c *= 2
    middle = nn.Sequential(*[_restoration_block(rng, c) for _ in range(int(rng.integers(1, 3)))])
    for cw in reversed(widths):
        up.append(nn.Sequential(nn.Conv2d(c, 4 * cw, 1, bias=False), nn.PixelShuffle(2)))
        c = cw
        dec.append(_restoration_block(rng, c))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.intro, self.ending, self.middle = intro, ending, middle
            self.enc, self.down = nn.ModuleList(enc), nn.ModuleList(down)
            self.up, self.dec = nn.ModuleList(up), nn.ModuleList(dec)

        def forward(self, x: Any) -> Any:
            y, skips = self.intro(x), []
            for e, d in zip(self.enc, self.down, strict=True):
                y = e(y)
                skips.append(y)
                y = d(y)
            y = self.middle(y)
            for u, d, s in zip(self.up, self.dec, reversed(skips), strict=True):
                y = d(u(y) + s)
            return self.ending(y) + x

    return UNet().eval(), (1, 3, h, w)


def random_superres(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """An ESPCN/SRVGG/EDSR-like super-resolution net on a small (1, 3, H, W) image."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 2)
    style = _choice(rng, ["espcn", "srvgg", "edsr"])
    h, w = _choice(rng, [(32, 32), (48, 48), (48, 64), (64, 64), (64, 96), (96, 128)])
    scale = _choice(rng, [2, 2, 3, 4])
    c = _choice(rng, [16, 32, 48, 64])
    act_name = _choice(rng, ["prelu", "prelu", "leaky", "relu"])

    def act() -> Any:
        return {"prelu": lambda: nn.PReLU(c), "leaky": lambda: nn.LeakyReLU(0.1), "relu": nn.ReLU}[
            act_name
        ]()

    _, _, _, _, residual = _layers()
    n = int(rng.integers(2, 5 if style == "espcn" else 13))
    if style == "edsr":
        body = [
            residual(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), act(), nn.Conv2d(c, c, 3, 1, 1)))
            for _ in range(n // 2 + 1)
        ]
    else:
        body = [m for _ in range(n) for m in (nn.Conv2d(c, c, 3, 1, 1), act())]
    hk = _choice(rng, [5, 5, 3]) if style == "espcn" else 3
    head = nn.Sequential(nn.Conv2d(3, c, hk, 1, hk // 2), act())
    tail = nn.Sequential(nn.Conv2d(c, 3 * scale * scale, 3, 1, 1), nn.PixelShuffle(scale))
    mode = _choice(rng, ["nearest", "bilinear"])

    class SR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head, self.body, self.tail = head, nn.Sequential(*body), tail
            self.up = nn.Upsample(scale_factor=scale, mode=mode)

        def forward(self, x: Any) -> Any:
            return self.tail(self.body(self.head(x))) + self.up(x)

    return SR().eval(), (1, 3, h, w)


def _large_kernel_block(rng: np.random.Generator, d: int, k: int, convmixer: bool) -> list[Any]:
    """A RepLKNet/SLaK block (BN, 1x1 conv, a k x k depthwise conv, ReLU, 1x1 conv;
    residual) and its ConvFFN, or a ConvMixer block (depthwise conv, GELU, BN; residual;
    then a 1x1 conv, GELU, BN)."""
    nn, _, _, _, residual = _layers()
    if convmixer:
        mix = nn.Sequential(nn.Conv2d(d, d, k, 1, k // 2, groups=d), nn.GELU(), nn.BatchNorm2d(d))
        return [residual(mix), nn.Conv2d(d, d, 1), nn.GELU(), nn.BatchNorm2d(d)]
    lk = nn.Sequential(
        nn.BatchNorm2d(d),
        nn.Conv2d(d, d, 1),
        nn.ReLU(),
        nn.Conv2d(d, d, k, 1, k // 2, groups=d),
        nn.ReLU(),
        nn.Conv2d(d, d, 1),
    )
    e = _choice(rng, [2, 4])
    ffn = nn.Sequential(
        nn.BatchNorm2d(d), nn.Conv2d(d, e * d, 1), nn.GELU(), nn.Conv2d(e * d, d, 1)
    )
    return [residual(lk), residual(ffn)]


def random_largekernel(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A large-kernel convnet (RepLKNet/SLaK-like stages, or a ConvMixer) on an image."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 3)
    convmixer = rng.random() < 0.2
    res = _choice(rng, [96, 128, 160, 224] if convmixer else [64, 80, 96, 128, 160])
    d = _choice(rng, [16, 24, 32, 48, 64] if convmixer else [16, 16, 24, 32])
    if convmixer:
        p = _choice(rng, [4, 7, 8])
        layers: list[Any] = [nn.Conv2d(3, d, p, p), nn.GELU(), nn.BatchNorm2d(d)]
        k = _choice(rng, [5, 7, 9])
        for _ in range(int(rng.integers(2, 9))):
            layers += _large_kernel_block(rng, d, k, True)
    else:
        layers = [
            nn.Conv2d(3, d, 3, 2, 1),
            nn.BatchNorm2d(d),
            nn.ReLU(),
            nn.Conv2d(d, d, 3, 2, 1, groups=d),
            nn.ReLU(),
        ]
        for stage in range(int(rng.integers(1, 4))):
            if stage:
                layers += [
                    nn.Conv2d(d, 2 * d, 1),
                    nn.ReLU(),
                    nn.Conv2d(2 * d, 2 * d, 3, 2, 1, groups=2 * d),
                    nn.ReLU(),
                ]
                d *= 2
            k = _choice(rng, [9, 13, 17, 21, 27, 31])
            for _ in range(int(rng.integers(1, 3))):
                layers += _large_kernel_block(rng, d, k, False)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(d, _choice(rng, [10, 100, 1000]))]
    return nn.Sequential(*layers).eval(), (1, 3, res, res)


def _metaformer_block(rng: np.random.Generator, d: int, mixer: str) -> list[Any]:
    """A MetaFormer block (norm, token mixer: a 3x3 average pool less its input or a 7x7
    depthwise conv; residual with a layer scale) and its 1x1-conv MLP (norm, 1x1 up, GELU,
    1x1 down; residual with a layer scale)."""
    import torch

    nn = torch.nn
    _, ln, _, _, residual = _layers()
    norm = ln if rng.random() < 0.5 else (lambda ch: nn.GroupNorm(1, ch))

    class PoolMixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

        def forward(self, x: Any) -> Any:
            return self.pool(x) - x

    token = PoolMixer() if mixer == "pool" else nn.Conv2d(d, d, 7, 1, 3, groups=d)
    e = _choice(rng, [2, 4])
    mlp = nn.Sequential(norm(d), nn.Conv2d(d, e * d, 1), nn.GELU(), nn.Conv2d(e * d, d, 1))
    return [residual(nn.Sequential(norm(d), token), d), residual(mlp, d)]


def random_metaformer(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A PoolFormer/ConvNeXt-like (channels-first) hierarchical net on an image."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 4)
    _, ln, _, _, _ = _layers()
    mixer = _choice(rng, ["pool", "dwconv"])
    res = _choice(rng, [64, 96, 128, 160, 224, 256])
    d = _choice(rng, [16, 24, 32, 48, 64])
    stem = _choice(rng, [(4, 4, 0), (7, 4, 2)])
    layers: list[Any] = [nn.Conv2d(3, d, stem[0], stem[1], stem[2])]
    for stage in range(int(rng.integers(2, 5))):
        if stage:
            layers += (
                [ln(d), nn.Conv2d(d, 2 * d, 2, 2)]
                if mixer == "dwconv"
                else [nn.Conv2d(d, 2 * d, 3, 2, 1)]
            )
            d *= 2
        for _ in range(int(rng.integers(1, 4))):
            layers += _metaformer_block(rng, d, mixer)
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.LayerNorm(d),
        nn.Linear(d, _choice(rng, [10, 1000])),
    ]
    return nn.Sequential(*layers).eval(), (1, 3, res, res)


def random_decoder(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """LLaMA-like decoder blocks on (1, T, D) tokens (RMSNorm, rotary embeddings, causal
    attention, SwiGLU), a final RMSNorm and a head."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 5)
    t = _choice(rng, [16, 32, 64, 128, 256, 512, 1024])
    d = _choice(rng, [64, 128, 192, 256, 384, 512])
    heads = _choice(rng, [h for h in (2, 4, 8) if d // h >= 16])
    hidden = int(d * _choice(rng, [2, 8 / 3, 4]) // 8 * 8)
    hd = d // heads
    inv = 1.0 / (10000 ** (np.arange(0, hd, 2) / hd))
    angles = np.outer(np.arange(t), inv)
    cos = torch.tensor(np.concatenate([np.cos(angles)] * 2, -1), dtype=torch.float32)
    sin = torch.tensor(np.concatenate([np.sin(angles)] * 2, -1), dtype=torch.float32)
    mask = torch.triu(torch.full((t, t), -1e4), 1)

    def rms(x: Any, w: Any) -> Any:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    def rotate(x: Any) -> Any:
        a, b = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-b, a], -1) * sin

    class Decoder(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n1 = nn.ParameterList([nn.Parameter(torch.ones(d)) for _ in range(n + 1)])
            self.n2 = nn.ParameterList([nn.Parameter(torch.ones(d)) for _ in range(n)])
            self.qkv = nn.ModuleList([nn.Linear(d, 3 * d, bias=False) for _ in range(n)])
            self.o = nn.ModuleList([nn.Linear(d, d, bias=False) for _ in range(n)])
            self.gu = nn.ModuleList([nn.Linear(d, 2 * hidden, bias=False) for _ in range(n)])
            self.down = nn.ModuleList([nn.Linear(hidden, d, bias=False) for _ in range(n)])
            self.head = nn.Linear(d, _choice(rng, [256, 1000, 4096]), bias=False)

        def forward(self, x: Any) -> Any:
            for i in range(len(self.qkv)):
                q, k, v = (
                    self.qkv[i](rms(x, self.n1[i])).view(1, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
                )
                s = rotate(q) @ rotate(k).transpose(-1, -2) / math.sqrt(hd) + mask
                a = (s.softmax(-1) @ v).transpose(1, 2).reshape(1, t, d)
                x = x + self.o[i](a)
                g, u = self.gu[i](rms(x, self.n2[i])).chunk(2, -1)
                x = x + self.down[i](nn.functional.silu(g) * u)
            return self.head(rms(x, self.n1[-1]))

    return Decoder(int(rng.integers(1, 5))).eval(), (1, t, d)


def random_tiny(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A MobileNetV2/EfficientNet-like net of tiny widths on a 32-128 pixel image."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 6)
    _, _, _, _, residual = _layers()
    act = _choice(rng, [nn.ReLU6, nn.SiLU, nn.Hardswish])
    h, w = _choice(rng, [(32, 32), (48, 48), (56, 72), (64, 64), (64, 96), (96, 96), (128, 128)])
    c = _choice(rng, [4, 8, 8, 12, 16])
    layers: list[Any] = [nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), act()]
    for stage in range(int(rng.integers(3, 7))):
        cout = int(min(160, c * _choice(rng, [1, 1.5, 2])) // 4 * 4) or 4
        for i in range(int(rng.integers(1, 4))):
            s = 2 if i == 0 and stage % 2 == 1 else 1
            e, k = _choice(rng, [1, 3, 4, 6]), _choice(rng, [3, 3, 5])
            wide = c * e
            body = nn.Sequential(
                *(
                    [nn.Conv2d(c, wide, 1, bias=False), nn.BatchNorm2d(wide), act()]
                    if e > 1
                    else []
                ),
                nn.Conv2d(wide, wide, k, s, k // 2, groups=wide, bias=False),
                nn.BatchNorm2d(wide),
                act(),
                nn.Conv2d(wide, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            layers.append(residual(body) if s == 1 and c == cout else body)
            c = cout
    head = _choice(rng, [c * 4, 128, 256])
    layers += [
        nn.Conv2d(c, head, 1),
        act(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(head, 10),
    ]
    return nn.Sequential(*layers).eval(), (1, 3, h, w)


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "restoration": random_restoration,
    "superres": random_superres,
    "largekernel": random_largekernel,
    "metaformer": random_metaformer,
    "decoder": random_decoder,
    "tiny": random_tiny,
}


def drawn_6(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the sixth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 6, _DRAW, MODES, macs5)


def random_network_6(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the sixth generation from ``seed`` (:func:`drawn_6`)."""
    _, net, shape = drawn_6(seed)
    return net, shape
