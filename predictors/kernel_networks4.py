"""The fourth generation of random context networks (seeds from :data:`GENERATION_4`).

The fifth held-out zoo of real models (``benchmarks/realworld_zoo5.py``) was missed most
where it ran ops that no random network of the second and third generations runs
(super-resolution: -49%, an ENet: -45%, a Conv-TasNet: -33%, a style-transfer net:
-24%), and batch-1 stacks of wide Linear layers, whose weights are read once and cold,
were predicted 40-66% low (``benchmarks/kernels_fc.py``). This generation draws those
designs, at random sizes:

* ``mlp``: 2-8 Linear layers of 64-8,192 features on one row (or 2-16 tokens), up to
  64 MB of weights, with ReLU, GELU, SiLU, Tanh or PReLU, layer or batch norm, residuals
  where widths allow;
* ``superres``: FSRCNN/ESPCN-like nets at full resolution (PReLU or ReLU, a shrink, 1-6
  mapping convs, an expand), upsampled by PixelShuffle, a transposed conv or bilinear or
  bicubic resizing (x2-x4), sometimes plus a resized input;
* ``segment``: ENet-like nets: an initial conv concatenated with a max pool, bottlenecks
  of 1x1 reduce, a regular, dilated (2-16) or asymmetric (kx1 then 1xk) conv and 1x1
  expand with PReLU, then a decoder of transposed convs or bilinear upsampling;
* ``style``: fast style-transfer nets: reflection padding, instance norm, strided convs
  down, residual blocks, nearest upsampling or transposed convs up, Tanh out;
* ``separator``: Conv-TasNet-like 1-D nets: a strided conv encoder over 1,000-32,000
  samples, global layer norm (one-group GroupNorm), PReLU, dilated depthwise 1-D convs
  with residual and skip outputs, a sigmoid mask and a 1-D transposed conv decoder.

A seed names the same network forever; this generation reads its own random stream
(``default_rng([seed, 0xC0DE, 4])``). Builds plan a quarter of their networks from each of
the second to fifth generations
(:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import _choice, drawn_within_macs, generation_rng

#: The first seed of the fourth generation.
GENERATION_4 = 30_000_000
MODES = ("mlp", "superres", "segment", "style", "separator")
#: Most weights of an ``mlp`` network (parameters; 64 MB of float32).
MAX_MLP_PARAMS = 16_000_000


def _act(nn: Any, name: str, c: int) -> Any:
    if name == "prelu":
        return nn.PReLU(c)
    if name == "prelu1":
        return nn.PReLU()
    return {
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "leaky": nn.LeakyReLU,
        "elu": nn.ELU,
    }[name]()


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 4)


class _Residual:
    @staticmethod
    def build(nn: Any, body: Any) -> Any:
        class Residual(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = body

            def forward(self, x: Any) -> Any:
                return x + self.body(x)

        return Residual()


def random_mlp(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random stack of Linear layers on one row (or a few tokens)."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 1)
    width = [int(np.exp(rng.uniform(np.log(64), np.log(8192))))]
    for _ in range(int(rng.integers(2, 9))):
        same = rng.random() < 0.3
        width.append(width[-1] if same else int(np.exp(rng.uniform(np.log(64), np.log(8192)))))
    while sum(a * b for a, b in zip(width, width[1:], strict=False)) > MAX_MLP_PARAMS:
        width = [max(16, w // 2) for w in width]
    act = _choice(rng, ["relu", "gelu", "silu", "tanh", "prelu1"])
    norm = _choice(rng, ["none", "none", "layer", "batch"])
    tokens = 1 if rng.random() < 0.7 else _choice(rng, [2, 4, 8, 16])
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(width, width[1:], strict=False)):
        block: list[Any] = [nn.Linear(a, b)]
        if i < len(width) - 2:
            if norm == "layer":
                block.append(nn.LayerNorm(b))
            elif norm == "batch" and tokens == 1:
                block.append(nn.BatchNorm1d(b))
            block.append(_act(nn, act, b))
        body = nn.Sequential(*block)
        layers.append(_Residual.build(nn, body) if a == b and rng.random() < 0.6 else body)
    shape = (1, width[0]) if tokens == 1 else (1, tokens, width[0])
    return nn.Sequential(*layers).eval(), shape


def _image_shape(rng: np.random.Generator, sizes: list[int]) -> tuple[int, int]:
    if rng.random() < 0.3:
        return _choice(rng, [(48, 80), (64, 96), (90, 160), (120, 72), (64, 128), (100, 60)])
    res = _choice(rng, sizes)
    return res, res


def _upsampler(nn: Any, rng: np.random.Generator, c: int, cout: int, r: int) -> Any:
    """``c`` channels to ``cout`` at ``r`` times the size."""
    kind = _choice(rng, ["shuffle", "shuffle", "transpose", "resize"])
    if kind == "shuffle":
        return nn.Sequential(nn.Conv2d(c, cout * r * r, 3, 1, 1), nn.PixelShuffle(r))
    if kind == "transpose":
        k = _choice(rng, [r, 2 * r, 9 if r == 3 else 2 * r + 1])
        pad = max(0, (k - r + 1) // 2)
        return nn.ConvTranspose2d(c, cout, k, r, pad, output_padding=r - k + 2 * pad)
    mode = _choice(rng, ["bilinear", "bicubic", "nearest"])
    return nn.Sequential(nn.Upsample(scale_factor=r, mode=mode), nn.Conv2d(c, cout, 3, 1, 1))


def random_superres(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random FSRCNN/ESPCN-like super-resolution net."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 2)
    h, w = _image_shape(rng, [24, 32, 48, 64, 96, 128, 160, 200, 256])
    cin, r = _choice(rng, [1, 1, 3]), _choice(rng, [2, 2, 3, 4])
    d, s = _choice(rng, [16, 32, 48, 56, 64]), _choice(rng, [8, 12, 16, 32])
    act = _choice(rng, ["prelu", "prelu", "relu", "tanh", "leaky"])
    k = _choice(rng, [3, 5, 9])
    layers = [nn.Conv2d(cin, d, k, 1, k // 2), _act(nn, act, d)]
    if rng.random() < 0.7:
        layers += [nn.Conv2d(d, s, 1), _act(nn, act, s)]
        c = s
    else:
        c = d
    for _ in range(int(rng.integers(1, 7))):
        layers += [nn.Conv2d(c, c, 3, 1, 1), _act(nn, act, c)]
    if c != d:
        layers += [nn.Conv2d(c, d, 1), _act(nn, act, d)]
    body = nn.Sequential(*layers, _upsampler(nn, rng, d, cin, r))
    skip = (
        nn.Upsample(scale_factor=r, mode=_choice(rng, ["bilinear", "bicubic"]))
        if rng.random() < 0.4
        else None
    )
    return _SuperRes.build(nn, body, skip).eval(), (1, cin, h, w)


class _SuperRes:
    @staticmethod
    def build(nn: Any, body: Any, skip: Any) -> Any:
        class SuperRes(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body, self.skip = body, skip

            def forward(self, x: Any) -> Any:
                y = self.body(x)
                return y if self.skip is None else y + self.skip(x)

        return SuperRes()


def _enet_bottleneck(nn: Any, rng: np.random.Generator, c: int, act: str) -> Any:
    """1x1 reduce, a regular, dilated or asymmetric conv, 1x1 expand; residual."""
    m = max(4, c // _choice(rng, [2, 4, 4]))
    kind = _choice(rng, ["regular", "dilated", "asymmetric"])
    if kind == "asymmetric":
        k = _choice(rng, [5, 7])
        mid = [
            nn.Conv2d(m, m, (k, 1), 1, (k // 2, 0), bias=False),
            nn.Conv2d(m, m, (1, k), 1, (0, k // 2), bias=False),
        ]
    else:
        dil = 1 if kind == "regular" else _choice(rng, [2, 4, 8, 16])
        mid = [nn.Conv2d(m, m, 3, 1, dil, dilation=dil, bias=False)]
    body = nn.Sequential(
        nn.Conv2d(c, m, 1, bias=False),
        nn.BatchNorm2d(m),
        _act(nn, act, m),
        *mid,
        nn.BatchNorm2d(m),
        _act(nn, act, m),
        nn.Conv2d(m, c, 1, bias=False),
        nn.BatchNorm2d(c),
    )
    return nn.Sequential(_Residual.build(nn, body), _act(nn, act, c))


class _Initial:
    @staticmethod
    def build(nn: Any, cin: int, c: int) -> Any:
        import torch

        class Initial(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv = nn.Conv2d(cin, c - cin, 3, 2, 1)
                self.pool = nn.MaxPool2d(2, 2)

            def forward(self, x: Any) -> Any:
                return torch.cat([self.conv(x), self.pool(x)], 1)

        return Initial()


def random_segment(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random ENet-like segmentation net (input sizes divisible by 8)."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 3)
    h, w = _choice(rng, [(64, 64), (96, 96), (128, 128), (128, 256), (96, 160), (192, 192)])
    act = _choice(rng, ["prelu", "prelu", "relu"])
    c = _choice(rng, [8, 16, 16, 24])
    layers: list[Any] = [_Initial.build(nn, 3, c), nn.BatchNorm2d(c), _act(nn, act, c)]
    chans = [c]
    for _ in range(int(rng.integers(1, 3))):
        cout = min(256, c * _choice(rng, [2, 4]))
        layers += [nn.Conv2d(c, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout)]
        layers += [_act(nn, act, cout)]
        c = cout
        chans.append(c)
        layers += [_enet_bottleneck(nn, rng, c, act) for _ in range(int(rng.integers(1, 5)))]
    up = _choice(rng, ["transpose", "bilinear"])
    for cout in [*reversed(chans[:-1]), _choice(rng, [2, 12, 21])]:
        if up == "transpose":
            layers.append(nn.ConvTranspose2d(c, cout, 2, 2))
        else:
            layers += [nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(c, cout, 1)]
        if rng.random() < 0.5 and cout >= 8:
            layers.append(_enet_bottleneck(nn, rng, cout, act))
        c = cout
    return nn.Sequential(*layers).eval(), (1, 3, h, w)


def _style_conv(nn: Any, c: int, cout: int, k: int, s: int, pad: str) -> list[Any]:
    padding: list[Any] = (
        [nn.ReflectionPad2d(k // 2)] if pad == "reflect" else [nn.ZeroPad2d(k // 2)]
    )
    return [*padding, nn.Conv2d(c, cout, k, s)]


def random_style(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random fast style-transfer net (instance norm, reflection padding)."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 4)
    h, w = _image_shape(rng, [64, 96, 128, 160, 192, 256])
    h, w = h - h % 4, w - w % 4
    pad, c = _choice(rng, ["reflect", "reflect", "zero"]), _choice(rng, [8, 12, 16, 24, 32])
    norm = _choice(rng, ["instance", "instance", "batch"])

    def cna(ci: int, co: int, k: int, s: int = 1, relu: bool = True) -> list[Any]:
        n = nn.InstanceNorm2d(co, affine=True) if norm == "instance" else nn.BatchNorm2d(co)
        return [*_style_conv(nn, ci, co, k, s, pad), n, *([nn.ReLU()] if relu else [])]

    k0 = _choice(rng, [7, 9])
    layers = [*cna(3, c, k0), *cna(c, 2 * c, 3, 2), *cna(2 * c, 4 * c, 3, 2)]
    for _ in range(int(rng.integers(1, 6))):
        layers.append(
            _Residual.build(
                nn, nn.Sequential(*cna(4 * c, 4 * c, 3), *cna(4 * c, 4 * c, 3, 1, False))
            )
        )
    up = _choice(rng, ["nearest", "transpose"])
    for ci, co in ((4 * c, 2 * c), (2 * c, c)):
        if up == "nearest":
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), *cna(ci, co, 3)]
        else:
            layers += [nn.ConvTranspose2d(ci, co, 3, 2, 1, output_padding=1), nn.ReLU()]
    layers += [*_style_conv(nn, c, 3, k0, 1, pad), nn.Tanh()]
    return nn.Sequential(*layers).eval(), (1, 3, h, w)


class _Separator:
    @staticmethod
    def build(nn: Any, parts: dict[str, Any]) -> Any:
        class Separator(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder, self.head = parts["encoder"], parts["head"]
                self.blocks, self.mask = nn.ModuleList(parts["blocks"]), parts["mask"]
                self.decoder, self.sources = parts["decoder"], parts["sources"]

            def forward(self, x: Any) -> Any:
                e = self.encoder(x)
                y = self.head(e)
                skip = 0
                for block in self.blocks:
                    out, s = block(y)
                    y, skip = y + out, skip + s
                m = self.mask(skip).reshape(e.shape[0] * self.sources, e.shape[1], -1)
                return self.decoder(m * e.repeat(self.sources, 1, 1))

        return Separator()


class _TasBlock:
    @staticmethod
    def build(nn: Any, b: int, hidden: int, dil: int, act: str) -> Any:
        class TasBlock(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body = nn.Sequential(
                    nn.Conv1d(b, hidden, 1),
                    _act(nn, act, hidden),
                    nn.GroupNorm(1, hidden),
                    nn.Conv1d(hidden, hidden, 3, 1, dil, dilation=dil, groups=hidden),
                    _act(nn, act, hidden),
                    nn.GroupNorm(1, hidden),
                )
                self.out, self.skip = nn.Conv1d(hidden, b, 1), nn.Conv1d(hidden, b, 1)

            def forward(self, x: Any) -> Any:
                y = self.body(x)
                return self.out(y), self.skip(y)

        return TasBlock()


def random_separator(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random Conv-TasNet-like 1-D source separator."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 5)
    samples = _choice(rng, [1000, 2000, 4000, 8000, 16000, 32000])
    k = _choice(rng, [8, 16, 20, 32, 40])
    n, b = _choice(rng, [64, 128, 256, 512]), _choice(rng, [32, 64, 128])
    hidden, act = b * _choice(rng, [2, 4]), _choice(rng, ["prelu", "prelu", "relu"])
    x, r, sources = int(rng.integers(2, 9)), int(rng.integers(1, 4)), _choice(rng, [1, 2, 3])
    parts = {
        "encoder": nn.Sequential(nn.Conv1d(1, n, k, k // 2, bias=False), nn.ReLU()),
        "head": nn.Sequential(nn.GroupNorm(1, n), nn.Conv1d(n, b, 1)),
        "blocks": [_TasBlock.build(nn, b, hidden, 2**i, act) for _ in range(r) for i in range(x)],
        "mask": nn.Sequential(_act(nn, act, b), nn.Conv1d(b, n * sources, 1), nn.Sigmoid()),
        "decoder": nn.ConvTranspose1d(n, 1, k, k // 2, bias=False),
        "sources": sources,
    }
    return _Separator.build(nn, parts).eval(), (1, 1, samples)


def macs4(module: Any, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of the (transposed) convolutions and linear layers of
    ``module`` on an input of ``shape`` (one forward pass)."""
    import torch

    total = [0]
    nn = torch.nn
    transposed = (nn.ConvTranspose1d, nn.ConvTranspose2d)

    def count(layer: Any, inputs: Any, out: torch.Tensor) -> None:
        if isinstance(layer, nn.Linear):
            total[0] += out.numel() * layer.in_features
        elif isinstance(layer, transposed):
            per = layer.out_channels // layer.groups * int(np.prod(layer.kernel_size))
            total[0] += inputs[0].numel() * per
        else:
            per = layer.in_channels // layer.groups * int(np.prod(layer.kernel_size))
            total[0] += out.numel() * per

    kinds = (nn.Conv1d, nn.Conv2d, nn.Linear, *transposed)
    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        module(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return total[0]


_DRAW = {
    "mlp": random_mlp,
    "superres": random_superres,
    "segment": random_segment,
    "style": random_style,
    "separator": random_separator,
}


def drawn_4(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the fourth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 4, _DRAW, MODES, macs4)


def random_network_4(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the fourth generation from ``seed`` (:func:`drawn_4`)."""
    _, net, shape = drawn_4(seed)
    return net, shape
