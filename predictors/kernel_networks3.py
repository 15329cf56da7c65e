"""The third generation of random context networks (seeds from :data:`GENERATION_3`).

The second generation (:mod:`hwnas.predictors.kernel_networks`) draws chains of residual,
bottleneck, inverted-residual and transformer blocks. A second held-out zoo of real
models (``benchmarks/realworld_zoo2.py``) showed what else people ship and the kernel
predictor had never seen inside a network: concatenations of parallel branches, dense
connectivity, many-group convs, dilated convs, upsampling decoders, tiny and non-square
inputs, multichannel signals. This generation draws those, at random sizes:

* stages of one design each, among: Inception-like branches (1x1; 1x1 then kxk; 1x1 then
  two kxk; a pool then 1x1) concatenated; dense layers (1x1 then 3x3, concatenated to
  their input); fire modules (a 1x1 squeeze, then 1x1 and 3x3 expands concatenated, no
  norm); ghost modules (a 1x1 conv and a cheap depthwise conv of its output,
  concatenated); bottlenecks of many groups (a group width of 8-64 channels);
  residual pairs of dilated convs; and the second generation's designs;
* between stages a max or average pool, or a strided conv;
* encoder-decoders (U-Net-like): conv pairs, pooling or strided convs down, nearest or
  bilinear upsampling or transposed convs up, skips concatenated or added, a per-pixel
  head;
* inputs of 1 or 3 image channels at 16-256 pixels, square or not (a 49x10 spectrogram,
  a 64x256 strip), and 1-D signals of 1-80 channels and 100-32,000 samples; batch norm,
  group norm or no norm.

Builds plan half their networks from the second generation and half from this one
(:func:`hwnas.predictors.kernel_context.context_configs`). A seed names the same network
forever; this generation reads its own random stream (``default_rng([seed, 0xC0DE, 3])``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import MAX_ATTEMPTS, MAX_MACS, _choice, _Residual, macs

#: The first seed of the third generation.
GENERATION_3 = 20_000_000
#: The stage designs of this generation (besides the second generation's).
DESIGNS = ("branches", "dense", "fire", "ghost", "grouped", "dilated")
_SECOND = ("basic", "bottleneck", "dwsep", "inverted", "plain")
MODES = ("image", "image", "signal", "unet")


class _Parts:
    """Layer factories of one dimensionality (1-D or 2-D) and one norm."""

    def __init__(self, nn: Any, dim: int, norm: str) -> None:
        self.nn, self.dim, self.norm = nn, dim, norm
        self.conv = nn.Conv2d if dim == 2 else nn.Conv1d
        self.max_pool = nn.MaxPool2d if dim == 2 else nn.MaxPool1d
        self.avg_pool = nn.AvgPool2d if dim == 2 else nn.AvgPool1d

    def cna(self, c: int, cout: int, k: int = 1, s: int = 1, **kw: Any) -> Any:
        """conv, norm, activation (padding keeps the size at stride 1)."""
        from hwnas.predictors.kernel_context import _act

        nn = self.nn
        d = int(kw.get("dilation", 1))
        layers = [
            self.conv(c, cout, k, s, d * (k // 2), dilation=d, groups=kw.get("groups", 1)),
            *self.norm_of(cout),
        ]
        act = kw.get("act", "relu")
        return nn.Sequential(*layers, *([] if act is None else [_act(nn, act)]))

    def norm_of(self, c: int) -> list[Any]:
        nn = self.nn
        if self.norm == "none":
            return []
        if self.norm == "group":
            return [nn.GroupNorm(max(1, c // 8) if c % 8 == 0 else 1, c)]
        return [nn.BatchNorm2d(c) if self.dim == 2 else nn.BatchNorm1d(c)]


class _Concat:
    """Parallel branches of the same input, concatenated on channels (optionally with the
    input itself first)."""

    @staticmethod
    def build(nn: Any, branches: list[Any], keep_input: bool = False) -> Any:
        import torch

        class Concat(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.branches = nn.ModuleList(branches)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                outs = [b(x) for b in self.branches]
                return torch.cat([x, *outs] if keep_input else outs, 1)

        return Concat()


def _branches(p: _Parts, rng: np.random.Generator, c: int, cout: int) -> Any:
    nn = p.nn
    n = int(rng.integers(2, 5))
    widths = [cout // n] * (n - 1) + [cout - (cout // n) * (n - 1)]
    k = _choice(rng, [3, 5] if p.dim == 2 else [3, 5, 9])
    out = []
    for i, w in enumerate(widths):
        mid = max(4, w // _choice(rng, [1, 2]))
        if i == 0:
            out.append(p.cna(c, w))
        elif i == 1:
            out.append(nn.Sequential(p.cna(c, mid), p.cna(mid, w, k)))
        elif i == 2:
            out.append(nn.Sequential(p.cna(c, mid), p.cna(mid, mid, 3), p.cna(mid, w, 3)))
        else:
            out.append(nn.Sequential(p.max_pool(3, 1, 1), p.cna(c, w)))
    return _Concat.build(nn, out)


def _dense(p: _Parts, rng: np.random.Generator, c: int, layers: int) -> tuple[Any, int]:
    """Dense layers (each adds ``growth`` channels); the block and its output channels."""
    nn = p.nn
    growth = _choice(rng, [8, 12, 16, 24, 32])
    block = []
    for _ in range(layers):
        body = nn.Sequential(p.cna(c, 4 * growth), p.cna(4 * growth, growth, 3))
        block.append(_Concat.build(nn, [body], keep_input=True))
        c += growth
    return nn.Sequential(*block), c


def _fire(p: _Parts, rng: np.random.Generator, c: int, cout: int) -> Any:
    nn = p.nn
    squeeze = max(4, cout // _choice(rng, [4, 8]))
    half = cout // 2
    expand = [
        nn.Sequential(p.conv(squeeze, half, 1), nn.ReLU()),
        nn.Sequential(p.conv(squeeze, cout - half, 3, 1, 1), nn.ReLU()),
    ]
    return nn.Sequential(p.conv(c, squeeze, 1), nn.ReLU(), _Concat.build(nn, expand))


def _ghost(p: _Parts, rng: np.random.Generator, c: int, cout: int) -> Any:
    nn = p.nn
    half = cout // 2
    k = _choice(rng, [3, 3, 5])
    primary = p.cna(c, half)
    cheap = p.cna(half, cout - half, k, groups=half if (cout - half) % half == 0 else 1)
    # cat([y, cheap(y)]) of y = primary(x)
    body = nn.Sequential(primary, _Concat.build(nn, [cheap], keep_input=True))
    return _Residual.block(nn, body, nn.Identity(), nn.Identity()) if c == cout else body


def _grouped(p: _Parts, rng: np.random.Generator, c: int, cout: int) -> Any:
    nn = p.nn
    width = _choice(rng, [w for w in (8, 16, 24, 32, 48, 64) if cout % w == 0] or [cout])
    body = nn.Sequential(
        p.cna(c, cout), p.cna(cout, cout, 3, groups=cout // width), p.cna(cout, cout, act=None)
    )
    short = nn.Identity() if c == cout else p.cna(c, cout, act=None)
    return _Residual.block(nn, body, short, nn.ReLU())


def _dilated(p: _Parts, rng: np.random.Generator, c: int, cout: int, i: int) -> Any:
    nn = p.nn
    d = 2 ** (i + 1) if p.dim == 1 else _choice(rng, [2, 3, 4, 6])
    k = 3 if p.dim == 2 else _choice(rng, [3, 5, 7])
    body = nn.Sequential(p.cna(c, cout, k, dilation=d), p.cna(cout, cout, k, dilation=d, act=None))
    short = nn.Identity() if c == cout else p.cna(c, cout, act=None)
    return _Residual.block(nn, body, short, nn.ReLU())


def _stage(p: _Parts, rng: np.random.Generator, c: int, cout: int) -> tuple[list[Any], int]:
    """One stage of 1-4 blocks of one design (at stride 1); its layers and channels."""
    from hwnas.predictors.kernel_networks import _conv_block

    design = _choice(rng, [*DESIGNS, *_SECOND])
    blocks = int(rng.integers(1, 5))
    if design == "dense":
        block, c = _dense(p, rng, c, blocks + int(rng.integers(0, 5)))
        return [block], c
    layers = []
    for i in range(blocks):
        if design in _SECOND:
            layers.append(_conv_block(p.nn, rng, design, (c, cout, 1, p.dim)))
        elif design == "branches":
            layers.append(_branches(p, rng, c, cout))
        elif design == "fire":
            layers.append(_fire(p, rng, c, cout))
        elif design == "ghost":
            layers.append(_ghost(p, rng, c, cout))
        elif design == "grouped":
            layers.append(_grouped(p, rng, c, cout))
        else:
            layers.append(_dilated(p, rng, c, cout, i))
        c = cout
    return layers, c


def _down(p: _Parts, rng: np.random.Generator, c: int) -> Any:
    """Halve the size: a max or average pool, or a strided 3x3 conv."""
    kind = _choice(rng, ["max", "avg", "conv"])
    if kind == "conv":
        return p.cna(c, c, 3, 2)
    return (p.max_pool if kind == "max" else p.avg_pool)(2)


def _input_shape(rng: np.random.Generator, dim: int) -> tuple[int, ...]:
    if dim == 1:
        channels = _choice(rng, [1, 1, 2, 8, 12, 40, 64, 80])
        length = _choice(rng, [100, 400, 1000, 4000, 8000, 16000, 32000])
        return (1, channels, length if channels < 40 else min(length, 1000))
    cin = _choice(rng, [3, 3, 3, 1])
    if rng.random() < 0.3:
        h, w = _choice(rng, [(49, 10), (64, 256), (96, 160), (40, 100), (128, 64), (32, 96)])
        return (1, cin, h, w)
    res = _choice(rng, [16, 24, 32, 48, 64, 96, 128, 160, 192, 224, 256])
    return (1, cin, res, res)


def random_convnet_3(seed: int | list[int], dim: int) -> tuple[Any, tuple[int, ...]]:
    """A random classifier of this generation: a stem, 2-5 stages (a downsampling
    between them while the size allows), a global pool and a linear head."""
    import torch

    from hwnas.predictors.kernel_context import _Net

    nn = torch.nn
    key = seed if isinstance(seed, list) else [seed]
    rng = np.random.default_rng([*key, 0xC0DE, 3])
    torch.manual_seed(key[0])
    shape = _input_shape(rng, dim)
    p = _Parts(nn, dim, _choice(rng, ["batch", "batch", "batch", "group", "none"]))
    c = _choice(rng, [8, 16, 24, 32, 48, 64, 96])
    stride = _choice(rng, [1, 2, 2, 4] if dim == 2 else [1, 2, 4, 8, 16])
    k = max(3, stride + 1) if dim == 2 else _choice(rng, [3, 11, 41, 81])
    layers: list[Any] = [p.cna(shape[1], c, k, stride)]
    size = -(-min(shape[2:]) // stride)
    for stage in range(int(rng.integers(2, 6))):
        if stage and size >= 4:
            layers.append(_down(p, rng, c))
            size //= 2
        cout = int(min(768, c * _choice(rng, [1.0, 1.5, 2.0, 2.0])))
        cout -= cout % 8 if cout >= 16 else cout % 2
        stage_layers, c = _stage(p, rng, c, cout)
        layers += stage_layers
    net = _Net.build(nn, layers, None, c, "image" if dim == 2 else "signal")
    return net.eval(), shape


def random_unet(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random encoder-decoder: conv pairs at 2-4 levels, down by pool or strided conv,
    up by upsampling (nearest or bilinear) or a transposed conv, skips concatenated or
    added, a per-pixel 1x1 head."""
    import torch

    nn = torch.nn
    key = seed if isinstance(seed, list) else [seed]
    rng = np.random.default_rng([*key, 0xC0DE, 3, 1])
    torch.manual_seed(key[0])
    levels = int(rng.integers(2, 5))
    res = _choice(rng, [32, 64, 96, 128, 160, 192, 256])
    shape = (1, _choice(rng, [1, 3, 3]), res, res)
    p = _Parts(nn, 2, _choice(rng, ["batch", "batch", "none"]))
    chans = [_choice(rng, [8, 16, 24, 32, 48]) * 2**i for i in range(levels + 1)]
    concat, up = rng.random() < 0.7, _choice(rng, ["nearest", "bilinear", "transpose"])
    down = [nn.Sequential(p.cna(shape[1], chans[0], 3), p.cna(chans[0], chans[0], 3))]
    for i in range(levels):
        first = p.max_pool(2) if rng.random() < 0.6 else p.cna(chans[i], chans[i], 3, 2)
        down.append(nn.Sequential(first, p.cna(chans[i], chans[i + 1], 3)))
    ups, merges = [], []
    for i in reversed(range(levels)):
        ups.append(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, 2)
            if up == "transpose"
            else nn.Sequential(nn.Upsample(scale_factor=2, mode=up), p.cna(chans[i + 1], chans[i]))
        )
        merges.append(p.cna(2 * chans[i] if concat else chans[i], chans[i], 3))
    head = nn.Conv2d(chans[0], _choice(rng, [1, 2, 3, 21]), 1)
    return _UNet.build(nn, (down, ups, merges, head), concat).eval(), shape


class _UNet:
    @staticmethod
    def build(nn: Any, parts: tuple[list[Any], list[Any], list[Any], Any], concat: bool) -> Any:
        import torch

        down, ups, merges, head = parts

        class UNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.down, self.ups = nn.ModuleList(down), nn.ModuleList(ups)
                self.merges, self.head = nn.ModuleList(merges), head

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                skips = []
                for block in self.down:
                    x = block(x)
                    skips.append(x)
                for up, merge, skip in zip(
                    self.ups, self.merges, reversed(skips[:-1]), strict=True
                ):
                    x = up(x)
                    x = merge(torch.cat([x, skip], 1) if concat else x + skip)
                return self.head(x)

        return UNet()


def random_network_3(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the third generation from ``seed``: a 2-D classifier (half of
    them), a 1-D one or an encoder-decoder, of at most :data:`MAX_MACS` MACs (drawn
    again, from the seed's next stream, until one is)."""
    for attempt in range(MAX_ATTEMPTS):
        stream = [seed, attempt] if attempt else seed
        mode = _choice(np.random.default_rng([seed, 0xC0DE, 3, attempt]), MODES)
        if mode == "unet":
            net, shape = random_unet(stream)
        else:
            net, shape = random_convnet_3(stream, 2 if mode == "image" else 1)
        if macs(net, shape) <= MAX_MACS:
            return net, shape
    raise AssertionError(f"no network of seed {seed} within {MAX_MACS} MACs")
