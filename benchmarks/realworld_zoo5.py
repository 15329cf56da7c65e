"""A fifth held-out zoo of real-world architectures (plain torch), written after the
fourth zoo (benchmarks/realworld_zoo4.py) had been scored.

Like the second to fourth, it is written before any prediction of it, committed, and then
scored once with the kernel predictor frozen; nothing in the library is fitted, tuned or
chosen on it. Half of it is families none of the four earlier zoos has (MnasNet-A1, a
ProxylessNAS-like net of 7x7 depthwise convs, RepVGG and MobileOne in their deploy forms,
a CIFAR Wide ResNet, ConvMixer, an ALBERT-like encoder of one shared layer, a Whisper-like
audio encoder, a Conv-TasNet-like speech separator, FSRCNN super-resolution, an ENet-like
segmentation net, SSDLite on a MobileNetV2 backbone and a fast style-transfer net); the
other half is the earlier zoos' families at widths, depths, sequence lengths and input
shapes none of them has (several non-square, some tiny). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV2,
    _MBV3,
    Builder,
    _cbr,
    _encoder_layer,
    _nn,
    convnext,
    efficientnet,
    mobilenet,
    resnet,
    shufflenet,
    text_encoder,
)
from realworld_zoo2 import densenet
from realworld_zoo3 import _image, conformer, gpt, vit_rect
from realworld_zoo4 import t5_encoder

#: An inverted-residual row: (expansion, channels, kernel, stride, SE, repeats).
MBRow = tuple[int, int, int, int, bool, int]
#: MnasNet-A1 after its stem and first separable conv (16 channels).
_MNAS_A1: list[MBRow] = [
    (6, 24, 3, 2, False, 2),
    (3, 40, 5, 2, True, 3),
    (6, 80, 3, 2, False, 4),
    (6, 112, 3, 1, True, 2),
    (6, 160, 5, 2, True, 3),
    (6, 320, 3, 1, False, 1),
]
#: ProxylessNAS-mobile-like, one row per block (the searched kernels and expansions vary
#: block by block) after its stem and first separable conv (16 channels).
_PROXYLESS: list[MBRow] = [
    (3, 24, 5, 2, False, 1),
    (3, 24, 3, 1, False, 1),
    (3, 40, 7, 2, False, 1),
    (3, 40, 3, 1, False, 1),
    (3, 40, 5, 1, False, 2),
    (6, 80, 7, 2, False, 1),
    (3, 80, 5, 1, False, 3),
    (6, 96, 5, 1, False, 1),
    (3, 96, 5, 1, False, 3),
    (6, 192, 7, 2, False, 2),
    (3, 192, 7, 1, False, 2),
    (6, 320, 7, 1, False, 1),
]


def _div8(c: float) -> int:
    """``c`` rounded to a multiple of 8 (never below 8 nor 10% below ``c``)."""
    out = max(8, int(c + 4) // 8 * 8)
    return out + 8 if out < 0.9 * c else out


def _mbconv(cin: int, cout: int, k: int, s: int, e: int, se: bool) -> Any:
    """MnasNet's inverted residual: a 1x1 expansion, a ``k`` x ``k`` depthwise conv, an SE
    gate whose hidden width is a quarter of the *input's* (ReLU, sigmoid), a 1x1
    projection; ReLU."""
    import torch

    nn = _nn()
    mid = cin * e

    class SE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            hidden = max(1, cin // 4)
            self.f = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                *(nn.Conv2d(mid, hidden, 1), nn.ReLU()),
                *(nn.Conv2d(hidden, mid, 1), nn.Sigmoid()),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.f(x)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            parts: list[Any] = [_cbr(cin, mid, 1, act=nn.ReLU)] if e != 1 else []
            parts.append(_cbr(mid, mid, k, s, g=mid, act=nn.ReLU))
            if se:
                parts.append(SE())
            parts.append(_cbr(mid, cout, 1))
            self.f = nn.Sequential(*parts)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    return Block()


def nas_mobile(rows: list[MBRow], width: float) -> Any:
    """A mobile NAS net (MnasNet, ProxylessNAS): a 3x3 stride-2 stem of 32, a separable
    conv to 16, inverted residuals over ``rows`` (channels scaled by ``width``, rounded to
    8), a 1x1 head conv of 1280, pooling and a classifier."""
    nn = _nn()
    stem = _div8(32 * width)
    c = _div8(16 * width)
    layers: list[Any] = [_cbr(3, stem, 3, 2, act=nn.ReLU)]
    layers += [_cbr(stem, stem, 3, g=stem, act=nn.ReLU), _cbr(stem, c, 1)]
    for e, ch, k, s, se, n in rows:
        cout = _div8(ch * width)
        for i in range(n):
            layers.append(_mbconv(c, cout, k, s if i == 0 else 1, e, se))
            c = cout
    layers += [_cbr(c, 1280, 1, act=nn.ReLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1280, 1000))
    return nn.Sequential(*layers)


def repvgg(widths: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """RepVGG in its deploy form (every block's 3x3, 1x1 and identity branches fused into
    one biased 3x3 conv): stages of 3x3 conv + ReLU, the first of each stage stride 2, then
    pooling and a classifier; RepVGG-A0 is ``((48, 48, 96, 192, 1280), (1, 2, 4, 14, 1))``."""
    nn = _nn()
    layers: list[Any] = []
    c = 3
    for w, n in zip(widths, depths, strict=True):
        for i in range(n):
            layers += [nn.Conv2d(c, w, 3, 2 if i == 0 else 1, 1), nn.ReLU()]
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def mobileone(widths: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """MobileOne in its deploy form (the over-parameterised branches fused): a 3x3
    stride-2 stem, stages of blocks that are a biased 3x3 depthwise conv and a biased 1x1
    conv, each with ReLU (the first block of a stage strided), pooling and a classifier;
    MobileOne-S0 is ``((48, 48, 128, 256, 1024), (1, 2, 8, 10, 1))`` (the stem first)."""
    nn = _nn()
    layers: list[Any] = [nn.Conv2d(3, widths[0], 3, 2, 1), nn.ReLU()]
    c = widths[0]
    for w, n in zip(widths[1:], depths[1:], strict=True):
        for i in range(n):
            layers += [nn.Conv2d(c, c, 3, 2 if i == 0 else 1, 1, groups=c), nn.ReLU()]
            layers += [nn.Conv2d(c, w, 1), nn.ReLU()]
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def wide_resnet(depth: int, k: int, classes: int) -> Any:
    """A CIFAR Wide ResNet WRN-``depth``-``k``: a 3x3 conv of 16, three groups of
    pre-activation blocks (BN-ReLU-3x3 conv, twice; a 1x1 conv shortcut where the shape
    changes) of 16k, 32k and 64k channels, BN-ReLU, pooling and a classifier."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.pre = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU())
            self.f = nn.Sequential(
                nn.Conv2d(cin, cout, 3, s, 1, bias=False),
                *(nn.BatchNorm2d(cout), nn.ReLU()),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            )
            same = s == 1 and cin == cout
            self.short = None if same else nn.Conv2d(cin, cout, 1, s, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.pre(x)
            return self.f(y) + (x if self.short is None else self.short(y))

    n = (depth - 4) // 6
    layers: list[Any] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    c = 16
    for i, w in enumerate((16 * k, 32 * k, 64 * k)):
        for j in range(n):
            layers.append(Block(c, w, 2 if (j == 0 and i > 0) else 1))
            c = w
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(c, classes))
    return nn.Sequential(*layers)


def convmixer(d: int, depth: int, patch: int, k: int) -> Any:
    """ConvMixer-``d``/``depth``: a ``patch`` x ``patch`` stride-``patch`` embedding, then
    blocks of a residual ``k`` x ``k`` depthwise conv and a 1x1 conv, each followed by GELU
    and BN; pooling and a classifier."""
    import torch

    nn = _nn()

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(d, d, k, 1, k // 2, groups=d), nn.GELU(), nn.BatchNorm2d(d)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    layers: list[Any] = [nn.Conv2d(3, d, patch, patch), nn.GELU(), nn.BatchNorm2d(d)]
    for _ in range(depth):
        layers += [Residual(), nn.Conv2d(d, d, 1), nn.GELU(), nn.BatchNorm2d(d)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(d, 1000)]
    return nn.Sequential(*layers)


def albert(embed: int, d: int, heads: int, repeats: int) -> Any:
    """ALBERT-like on (1, seq, ``embed``) factorised embeddings: a linear projection to
    ``d``, one post-norm encoder layer (attention, GELU feed-forward of 4d) whose weights
    are shared by all ``repeats`` applications, a tanh pooler on the first token."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) * (d // heads) ** -0.5, dim=-1)
            x = self.n1(x + self.o((a @ v).transpose(1, 2).reshape(b, t, d)))
            return self.n2(x + self.ff(x))

    class Albert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.proj = nn.LayerNorm(embed), nn.Linear(embed, d)
            self.layer, self.pool = Layer(), nn.Linear(d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.proj(self.norm(x))
            for _ in range(repeats):
                x = self.layer(x)
            return torch.tanh(self.pool(x[:, 0]))

    return Albert()


def whisper_encoder(mels: int, frames: int, d: int, heads: int, layers: int) -> Any:
    """A Whisper-like audio encoder on a (1, ``mels``, ``frames``) log-mel spectrogram: a
    3-tap 1-D conv and a 3-tap stride-2 1-D conv (GELU each), fixed sinusoidal positions,
    pre-norm transformer layers (the first zoo's, GELU MLP of 4d) and a final layer
    norm."""
    import math

    import torch

    nn = _nn()
    t = frames // 2

    class Whisper(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.Sequential(
                *(nn.Conv1d(mels, d, 3, 1, 1), nn.GELU()),
                *(nn.Conv1d(d, d, 3, 2, 1), nn.GELU()),
            )
            scale = torch.exp(-math.log(10000) * torch.arange(d // 2) / (d // 2 - 1))
            angle = torch.arange(t)[:, None] * scale[None, :]
            self.register_buffer("pos", torch.cat([angle.sin(), angle.cos()], 1)[None])
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.norm = nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.convs(x).transpose(1, 2) + self.pos
            return self.norm(self.blocks(x))

    return Whisper()


def _tasnet_block(b: int, h: int, dil: int) -> Any:
    """Conv-TasNet's 1-D conv block: a 1x1 conv to ``h``, PReLU, global layer norm (a
    one-group group norm), a dilated 3-tap depthwise conv, PReLU, global layer norm, and
    two 1x1 convs back to ``b``: a residual output and a skip output."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                *(nn.Conv1d(b, h, 1), nn.PReLU(), nn.GroupNorm(1, h)),
                nn.Conv1d(h, h, 3, 1, dil, dilation=dil, groups=h),
                *(nn.PReLU(), nn.GroupNorm(1, h)),
            )
            self.res, self.skip = nn.Conv1d(h, b, 1), nn.Conv1d(h, b, 1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            y = self.f(x)
            return x + self.res(y), self.skip(y)

    return Block()


def conv_tasnet(n: int, kernel: int, b: int, h: int, x: int, r: int, speakers: int) -> Any:
    """A Conv-TasNet-like separator on a (1, 1, samples) waveform: a ``kernel``-tap
    stride-``kernel // 2`` conv encoder of ``n`` filters (ReLU), a global layer norm and a
    1x1 bottleneck to ``b``, ``r`` repeats of ``x`` conv blocks (dilations 1 ... 2^(x-1))
    whose skip outputs are summed, PReLU, a 1x1 conv to one sigmoid mask per speaker, and a
    transposed-conv decoder of each masked encoding to (speakers, 1, samples)."""
    import torch

    nn = _nn()

    class TasNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(nn.Conv1d(1, n, kernel, kernel // 2, bias=False), nn.ReLU())
            self.bottleneck = nn.Sequential(nn.GroupNorm(1, n), nn.Conv1d(n, b, 1))
            self.blocks = nn.ModuleList(
                _tasnet_block(b, h, 2**i) for _ in range(r) for i in range(x)
            )
            self.mask = nn.Sequential(nn.PReLU(), nn.Conv1d(b, speakers * n, 1), nn.Sigmoid())
            self.dec = nn.ConvTranspose1d(n, 1, kernel, kernel // 2, bias=False)

        def forward(self, wav: torch.Tensor) -> torch.Tensor:
            w = self.enc(wav)
            y = self.bottleneck(w)
            skips = torch.zeros_like(y)
            for block in self.blocks:
                y, s = block(y)
                skips = skips + s
            m = self.mask(skips).reshape(speakers, n, -1)
            return self.dec(m * w)

    return TasNet()


def fsrcnn(scale: int, d: int, s: int, m: int) -> Any:
    """FSRCNN super-resolution of a one-channel (luma) image: a 5x5 conv of ``d``, a 1x1
    shrink to ``s``, ``m`` 3x3 mapping convs, a 1x1 expansion back to ``d`` (PReLU after
    each) and a 9x9 transposed conv of stride ``scale`` to the upscaled image."""
    nn = _nn()
    layers: list[Any] = [nn.Conv2d(1, d, 5, 1, 2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
    for _ in range(m):
        layers += [nn.Conv2d(s, s, 3, 1, 1), nn.PReLU(s)]
    layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
    layers.append(nn.ConvTranspose2d(d, 1, 9, scale, 4, output_padding=scale - 1))
    return nn.Sequential(*layers)


def _enet_block(c: int, kind: str, dil: int = 1) -> Any:
    """ENet's regular bottleneck: a 1x1 conv to c/4, a 3x3 conv (dilated by ``dil``) or,
    for ``kind`` "asym", a 5x1 and a 1x5 conv, a 1x1 conv back to ``c`` (BN, PReLU), added
    to the input, PReLU."""
    import torch

    nn = _nn()
    q = c // 4

    def bn_prelu(conv: Any) -> list[Any]:
        return [conv, nn.BatchNorm2d(q), nn.PReLU()]

    if kind == "asym":
        first = nn.Conv2d(q, q, (5, 1), 1, (2, 0), bias=False)
        mid = [first, *bn_prelu(nn.Conv2d(q, q, (1, 5), 1, (0, 2), bias=False))]
    else:
        mid = bn_prelu(nn.Conv2d(q, q, 3, 1, dil, dilation=dil, bias=False))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                *bn_prelu(nn.Conv2d(c, q, 1, bias=False)),
                *mid,
                *(nn.Conv2d(q, c, 1, bias=False), nn.BatchNorm2d(c)),
            )
            self.act = nn.PReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(x + self.f(x))

    return Block()


def _enet_resample(cin: int, cout: int, down: bool) -> Any:
    """ENet's downsampling bottleneck (a 2x2 stride-2 conv branch; a max pool, zero-padded
    to ``cout`` channels, as the main path) or upsampling bottleneck (a 3x3 stride-2
    transposed conv branch; a 1x1 conv and a bilinear x2 upsampling, in place of max
    unpooling, as the main path)."""
    import torch

    nn = _nn()
    q = cout // 4 if down else cin // 4

    class Resample(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            first = nn.Conv2d(cin, q, 2, 2, bias=False) if down else nn.Conv2d(cin, q, 1)
            mid = (
                nn.Conv2d(q, q, 3, 1, 1, bias=False)
                if down
                else nn.ConvTranspose2d(q, q, 3, 2, 1, output_padding=1, bias=False)
            )
            self.f = nn.Sequential(
                *(first, nn.BatchNorm2d(q), nn.PReLU()),
                *(mid, nn.BatchNorm2d(q), nn.PReLU()),
                *(nn.Conv2d(q, cout, 1, bias=False), nn.BatchNorm2d(cout)),
            )
            self.main = (
                nn.MaxPool2d(2, 2)
                if down
                else nn.Sequential(
                    _cbr(cin, cout, 1),
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                )
            )
            self.act = nn.PReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            main = self.main(x)
            if down:
                main = nn.functional.pad(main, (0, 0, 0, 0, 0, cout - cin))
            return self.act(main + self.f(x))

    return Resample()


def enet(classes: int) -> Any:
    """ENet-like segmentation: an initial block (a 3x3 stride-2 conv of 13 concatenated
    with a max pool of the image), downsampling bottlenecks to 64 and 128 channels, two
    stages of regular, dilated (2, 4, 8, 16) and asymmetric 5x5 bottlenecks, upsampling
    bottlenecks back to 16 channels, a transposed conv to per-class logits at full size."""
    import torch

    nn = _nn()

    class Initial(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.pool = nn.Conv2d(3, 13, 3, 2, 1, bias=False), nn.MaxPool2d(2, 2)
            self.post = nn.Sequential(nn.BatchNorm2d(16), nn.PReLU())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.post(torch.cat([self.conv(x), self.pool(x)], 1))

    middle = [("reg", 1), ("dil", 2), ("asym", 1), ("dil", 4)]
    middle += [("reg", 1), ("dil", 8), ("asym", 1), ("dil", 16)]
    layers: list[Any] = [Initial(), _enet_resample(16, 64, True)]
    layers += [_enet_block(64, "reg") for _ in range(4)]
    layers.append(_enet_resample(64, 128, True))
    layers += [_enet_block(128, kind, dil) for _ in range(2) for kind, dil in middle]
    layers += [_enet_resample(128, 64, False), _enet_block(64, "reg"), _enet_block(64, "reg")]
    layers += [_enet_resample(64, 16, False), _enet_block(16, "reg")]
    layers.append(nn.ConvTranspose2d(16, classes, 3, 2, 1, output_padding=1))
    return nn.Sequential(*layers)


def _ssd_sep(cin: int, cout: int) -> Any:
    """SSDLite's prediction conv: a 3x3 depthwise conv-BN-ReLU6 and a biased 1x1 conv."""
    nn = _nn()
    return nn.Sequential(_cbr(cin, cin, 3, g=cin, act=nn.ReLU6), nn.Conv2d(cin, cout, 1))


def ssdlite(width: float, classes: int, anchors: int) -> Any:
    """SSDLite on the first zoo's MobileNetV2 (scaled by ``width``): its stride-16
    features and its 1x1 head conv at stride 32, four extra layers (1x1 conv to half,
    3x3 stride-2 depthwise, 1x1 conv; ReLU6), and on each of the six maps separable
    predictors of ``anchors`` boxes and class scores, flattened and concatenated to
    (1, boxes, 4 + ``classes``)."""
    import torch

    nn = _nn()
    body = mobilenet(_MBV2, width, False)
    c16, c32 = max(8, int(96 * width)), max(64, int(1280 * width))

    def extra(cin: int, cout: int) -> Any:
        half = cout // 2
        return nn.Sequential(
            _cbr(cin, half, 1, act=nn.ReLU6),
            _cbr(half, half, 3, 2, g=half, act=nn.ReLU6),
            _cbr(half, cout, 1, act=nn.ReLU6),
        )

    class SSDLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.low, self.high = body[:14], body[14:19]
            chans = [c16, c32, 512, 256, 256, 128]
            self.extras = nn.ModuleList(
                extra(a, b) for a, b in zip(chans[1:-1], chans[2:], strict=True)
            )
            self.heads = nn.ModuleList(_ssd_sep(c, anchors * (4 + classes)) for c in chans)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            maps = [self.low(x)]
            maps.append(self.high(maps[0]))
            for layer in self.extras:
                maps.append(layer(maps[-1]))
            outs = [head(m).permute(0, 2, 3, 1) for head, m in zip(self.heads, maps, strict=True)]
            return torch.cat([o.reshape(1, -1, 4 + classes) for o in outs], 1)

    return SSDLite()


def style_transfer(width: int, blocks: int) -> Any:
    """A fast style-transfer net (Johnson et al.): reflection-padded convs with instance
    norm and ReLU (9x9 of ``width``, two 3x3 stride-2 convs to 2x and 4x ``width``),
    ``blocks`` residual blocks of two 3x3 convs, two nearest x2 upsamplings each followed
    by a 3x3 conv, and a 9x9 conv to the RGB image."""
    import torch

    nn = _nn()

    def conv(cin: int, cout: int, k: int, s: int = 1, relu: bool = True) -> list[Any]:
        out = [nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, s)]
        out.append(nn.InstanceNorm2d(cout, affine=True))
        return out + [nn.ReLU()] if relu else out

    class Residual(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.f = nn.Sequential(*conv(c, c, 3), *conv(c, c, 3, relu=False))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    w = width
    layers: list[Any] = [*conv(3, w, 9), *conv(w, 2 * w, 3, 2), *conv(2 * w, 4 * w, 3, 2)]
    layers += [Residual(4 * w) for _ in range(blocks)]
    layers += [nn.Upsample(scale_factor=2, mode="nearest"), *conv(4 * w, 2 * w, 3)]
    layers += [nn.Upsample(scale_factor=2, mode="nearest"), *conv(2 * w, w, 3)]
    layers += [nn.ReflectionPad2d(4), nn.Conv2d(w, 3, 9)]
    return nn.Sequential(*layers)


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    return [
        (
            "mnasnet",
            "mnasnet_a1_x0.75_160x128",
            partial(nas_mobile, _MNAS_A1, 0.75),
            _image(160, 128),
        ),
        (
            "proxylessnas",
            "proxyless_mobile_160x144",
            partial(nas_mobile, _PROXYLESS, 1.0),
            _image(160, 144),
        ),
        (
            "repvgg",
            "repvgg_a0_deploy_160x192",
            partial(repvgg, (48, 48, 96, 192, 1280), (1, 2, 4, 14, 1)),
            _image(160, 192),
        ),
        (
            "mobileone",
            "mobileone_s0_deploy_192x160",
            partial(mobileone, (48, 48, 128, 256, 1024), (1, 2, 8, 10, 1)),
            _image(192, 160),
        ),
        ("wideresnet", "wrn16_4_cifar_32", partial(wide_resnet, 16, 4, 100), _image(32)),
        (
            "convmixer",
            "convmixer_192_8_p8_k7_128x160",
            partial(convmixer, 192, 8, 8, 7),
            _image(128, 160),
        ),
        ("albert", "albert_e128_d384_x6_s64", partial(albert, 128, 384, 6, 6), (1, 64, 128)),
        (
            "whisper",
            "whisper_enc_d256_l4_80x300",
            partial(whisper_encoder, 80, 300, 256, 4, 4),
            (1, 80, 300),
        ),
        (
            "tasnet",
            "convtasnet_n256_b128_x6r2_6k",
            partial(conv_tasnet, 256, 16, 128, 256, 6, 2, 2),
            (1, 1, 6000),
        ),
        ("superres", "fsrcnn_s_x3_48x64", partial(fsrcnn, 3, 32, 5, 1), (1, 1, 48, 64)),
        ("enet", "enet_c19_192x384", partial(enet, 19), _image(192, 384)),
        ("ssdlite", "ssdlite_mbv2_x0.5_192x256", partial(ssdlite, 0.5, 21, 6), _image(192, 256)),
        (
            "style",
            "style_transfer_w16_r5_128x160",
            partial(style_transfer, 16, 5),
            _image(128, 160),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet101_w16_112x144",
            partial(resnet, (3, 4, 23, 3), 16, True),
            _image(112, 144),
        ),
        ("mobilenetv2", "mbv2_x1.0_48", partial(mobilenet, _MBV2, 1.0, False), _image(48)),
        (
            "mobilenetv3",
            "mbv3_x1.25_128x160",
            partial(mobilenet, _MBV3, 1.25, True),
            _image(128, 160),
        ),
        (
            "efficientnet",
            "effnet_x0.6_d1.6_128x112",
            partial(efficientnet, 0.6, 1.6),
            _image(128, 112),
        ),
        (
            "shufflenetv2",
            "shufflev2_x1.0_160x208",
            partial(shufflenet, (116, 232, 464)),
            _image(160, 208),
        ),
        (
            "convnext",
            "convnext_d64_2262_96x128",
            partial(convnext, (64, 128, 256, 512), (2, 2, 6, 2)),
            _image(96, 128),
        ),
        (
            "vit",
            "vit_d192_144x256",
            partial(vit_rect, 144, 256, 16, 192, 3, 8),
            _image(144, 256),
        ),
        ("text", "bert_d640_s64", partial(text_encoder, 640, 10, 2), (1, 64, 640)),
        ("gpt", "gpt_d192_s256", partial(gpt, 192, 3, 4, 256, 4000), (1, 256, 192)),
        ("conformer", "conformer_d256_t100", partial(conformer, 256, 4, 4, 31), (1, 100, 256)),
        ("densenet", "densenet_k8_32", partial(densenet, 8, (3, 6, 8), 16), _image(32)),
        ("t5", "t5_d128_s64", partial(t5_encoder, 128, 2, 512, 2, 64), (1, 64, 128)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the fifth zoo."""
    return _new_families() + _known_families()
