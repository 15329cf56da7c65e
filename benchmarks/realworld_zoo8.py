"""An eighth held-out zoo of real-world architectures (plain torch), written after the
seventh zoo (benchmarks/realworld_zoo7.py), before any prediction of it.

Like the second to seventh, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. About half of
it is families none of the seven earlier zoos has: three 3-D convolutional nets of
different styles (C3D's full 3x3x3 convs on a clip, X3D's 5x1x1 temporal and 3x3x3
depthwise convs with squeeze-excitation, a 3-D U-Net of nnU-Net's layout with instance
norms and transposed convs on a medical volume), SegFormer's MiT encoder with its all-MLP
decoder, an EfficientDet-like BiFPN with weighted fusion and shared separable heads,
MobileNetV4's universal inverted bottlenecks, RepLKNet's 31x31 ... 13x13 depthwise
kernels, ResMLP's affine layers and linear token mixing, an FT-Transformer on tabular
features, a small noise-conditioned diffusion U-Net with group norms and attention,
Real-ESRGAN's compact SRVGG net, NAFNet's gated restoration blocks, BlazeFace and Tiny
YOLOv3; the other half is the earlier zoos' families at widths, depths, sequence lengths
and input shapes none of them has (several non-square, one tiny, some large). Every input
has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import _MBV3, Builder, _cbr, _nn, efficientnet, mobilenet, resnet, text_encoder
from realworld_zoo2 import densenet
from realworld_zoo3 import _attention, _image, conformer, mobilevit, yolo_csp
from realworld_zoo4 import deeplab_v3, pointnet, swin
from realworld_zoo5 import whisper_encoder
from realworld_zoo7 import _pvt_stage


def _cbr3(
    cin: int, cout: int, k: tuple[int, ...], s: tuple[int, ...], g: int = 1, act: Any = None
) -> Any:
    """A 3-D conv (``k`` and stride ``s`` per (t, h, w), same padding), BN and ``act``."""
    nn = _nn()
    pad = tuple(i // 2 for i in k)
    layers = [nn.Conv3d(cin, cout, k, s, pad, groups=g, bias=False), nn.BatchNorm3d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def c3d(widths: tuple[int, ...], fc: int, classes: int, frames: int, h: int, w: int) -> Any:
    """C3D (Tran et al.) on a (1, 3, ``frames``, ``h``, ``w``) clip: eight 3x3x3 convs
    (ReLU, no BN) in five stages of 1, 1, 2, 2, 2 convs of ``widths``, a max pool after
    each (1x2x2 after the first, 2x2x2 after the others while there are frames to halve,
    the last padded spatially by one), two ReLU fully connected layers of ``fc`` on the
    flattened map and a classifier. C3D is ``((64, 128, 256, 512, 512), 4096, 487, 16,
    112, 112)``."""
    nn = _nn()
    layers: list[Any] = []
    c, t, y, x = 3, frames, h, w
    for i, (wd, n) in enumerate(zip(widths, (1, 1, 2, 2, 2), strict=True)):
        for _ in range(n):
            layers += [nn.Conv3d(c, wd, 3, 1, 1), nn.ReLU()]
            c = wd
        kt, p = (2 if i and t > 1 else 1), (1 if i == 4 else 0)
        layers.append(nn.MaxPool3d((kt, 2, 2), (kt, 2, 2), (0, p, p)))
        t, y, x = t // kt, (y + 2 * p) // 2, (x + 2 * p) // 2
    layers += [nn.Flatten(), nn.Linear(c * t * y * x, fc), nn.ReLU(), nn.Linear(fc, fc)]
    layers += [nn.ReLU(), nn.Linear(fc, classes)]
    return nn.Sequential(*layers)


def _x3d_block(cin: int, cout: int, inner: int, s: int, se: bool) -> Any:
    """X3D's bottleneck: a 1x1x1 conv to ``inner`` (BN, ReLU), a 3x3x3 depthwise conv of
    spatial stride ``s`` (BN), squeeze-excitation to a sixteenth (when ``se``), swish, a
    1x1x1 conv (BN); added to the input (or its strided 1x1x1 conv-BN), then ReLU."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = _cbr3(cin, inner, (1, 1, 1), (1, 1, 1), act=nn.ReLU)
            self.b = _cbr3(inner, inner, (3, 3, 3), (1, s, s), g=inner)
            hid = max(8, round(inner / 16 / 8) * 8)
            self.se = (
                nn.Sequential(
                    *(nn.AdaptiveAvgPool3d(1), nn.Conv3d(inner, hid, 1), nn.ReLU()),
                    *(nn.Conv3d(hid, inner, 1), nn.Sigmoid()),
                )
                if se
                else None
            )
            self.c = _cbr3(inner, cout, (1, 1, 1), (1, 1, 1))
            self.short = (
                nn.Identity() if s == 1 and cin == cout else _cbr3(cin, cout, (1, 1, 1), (1, s, s))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.b(self.a(x))
            y = y * self.se(y) if self.se is not None else y
            return torch.relu(self.c(nn.functional.silu(y)) + self.short(x))

    return Block()


def x3d(width: int, depths: tuple[int, ...], expand: float, classes: int) -> Any:
    """X3D (Feichtenhofer) on a (1, 3, frames, h, w) clip: a stem of a 1x3x3 stride-(1, 2,
    2) conv to ``width`` and a 5x1x1 depthwise temporal conv (BN, ReLU); four stages of
    ``width`` times 1, 2, 4, 8 with ``depths`` bottlenecks (inner width ``expand`` times
    theirs; squeeze-excitation in every other block; the first of each stage spatially
    strided); a 1x1x1 conv-BN-ReLU to the last inner width, pooling, a 2048 fully
    connected layer (ReLU) and a classifier. X3D-XS is ``(24, (1, 2, 5, 3), 2.25, 400)``
    on 4 x 160 x 160."""
    nn = _nn()
    layers: list[Any] = [
        nn.Conv3d(3, width, (1, 3, 3), (1, 2, 2), (0, 1, 1), bias=False),
        _cbr3(width, width, (5, 1, 1), (1, 1, 1), g=width, act=nn.ReLU),
    ]
    c = width
    for i, n in enumerate(depths):
        cout = width * 2**i
        inner = int(cout * expand)
        for j in range(n):
            layers.append(_x3d_block(c, cout, inner, 2 if j == 0 else 1, j % 2 == 0))
            c = cout
    last = int(c * expand)
    layers += [_cbr3(c, last, (1, 1, 1), (1, 1, 1), act=nn.ReLU), nn.AdaptiveAvgPool3d(1)]
    layers += [nn.Flatten(), nn.Linear(last, 2048), nn.ReLU(), nn.Linear(2048, classes)]
    return nn.Sequential(*layers)


def unet3d(width: int, levels: int, cin: int, classes: int) -> Any:
    """A 3-D U-Net of nnU-Net's layout on a (1, ``cin``, d, h, w) volume: per level two
    3x3x3 conv-instance norm-LeakyReLU(0.01)s, the first stride 2 below the top level,
    widths doubling from ``width`` (at most 320); a decoder of 2x2x2 stride-2 transposed
    convs, the skip concatenated, two more convs; a 1x1x1 conv to ``classes`` logits."""
    import torch

    nn = _nn()
    widths = [min(320, width * 2**i) for i in range(levels)]

    def conv(a: int, b: int, s: int) -> Any:
        return nn.Sequential(
            nn.Conv3d(a, b, 3, s, 1), nn.InstanceNorm3d(b, affine=True), nn.LeakyReLU(0.01)
        )

    class UNet3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [cin, *widths]
            self.enc = nn.ModuleList(
                nn.Sequential(
                    conv(chans[i], chans[i + 1], 2 if i else 1), conv(chans[i + 1], chans[i + 1], 1)
                )
                for i in range(levels)
            )
            self.up = nn.ModuleList(
                nn.ConvTranspose3d(widths[i + 1], widths[i], 2, 2) for i in range(levels - 1)
            )
            self.dec = nn.ModuleList(
                nn.Sequential(conv(2 * widths[i], widths[i], 1), conv(widths[i], widths[i], 1))
                for i in range(levels - 1)
            )
            self.out = nn.Conv3d(widths[0], classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for enc in self.enc:
                x = enc(x)
                skips.append(x)
            for i in reversed(range(levels - 1)):
                x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
            return self.out(x)

    return UNet3D()


def segformer(
    dims: tuple[int, ...],
    cfgs: tuple[tuple[int, int, int, int], ...],
    dec: int,
    classes: int,
    h: int,
    w: int,
) -> Any:
    """SegFormer on an ``h`` x ``w`` image: the MiT encoder (the seventh zoo's PVTv2
    stages, which are MiT's overlapping patch embeddings, spatial-reduction attention and
    Mix-FFN; ``cfgs`` rows (depth, heads, MLP ratio, reduction)) and the all-MLP decoder:
    each stage's map projected to ``dec`` channels (a 1x1 conv), bilinearly upsampled to
    1/4, concatenated, fused by a 1x1 conv-BN-ReLU and classified by a 1x1 conv; logits at
    1/4 as SegFormer returns them. SegFormer-B0 is ``((32, 64, 160, 256), ((2, 1, 4, 8),
    (2, 2, 4, 4), (2, 5, 4, 2), (2, 8, 4, 1)), 256, 150)``."""
    import torch

    nn = _nn()
    f = nn.functional
    size = (h // 4, w // 4)

    class SegFormer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ins = (3, *dims[:-1])
            self.stages = nn.ModuleList(
                _pvt_stage(a, d, cfg, h // 2 ** (i + 2), w // 2 ** (i + 2), i == 0)
                for i, (a, d, cfg) in enumerate(zip(ins, dims, cfgs, strict=True))
            )
            self.proj = nn.ModuleList(nn.Conv2d(d, dec, 1) for d in dims)
            self.fuse = _cbr(len(dims) * dec, dec, 1, act=nn.ReLU)
            self.cls = nn.Conv2d(dec, classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            outs = []
            for stage, proj in zip(self.stages, self.proj, strict=True):
                x = stage(x)
                y = proj(x)
                if outs:
                    y = f.interpolate(y, size, mode="bilinear", align_corners=False)
                outs.append(y)
            return self.cls(self.fuse(torch.cat(outs[::-1], 1)))

    return SegFormer()


def _sep_bn(cin: int, cout: int, bn: bool = True) -> Any:
    """EfficientDet's separable conv: a 3x3 depthwise conv, a 1x1 conv (with bias when no
    BN follows), BN."""
    nn = _nn()
    layers = [
        nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=not bn),
    ]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout)) if bn else nn.Sequential(*layers)


def _bifpn(c: int) -> Any:
    """One BiFPN layer on five maps (P3-P7, ``c`` channels): a top-down path (each level
    the fast normalised weighted sum of its input and the nearest x2 upsampled level
    above, swish, a separable conv-BN), then a bottom-up path (each level's input, its
    top-down map and the 3x3 stride-2 max-pooled level below, fused the same way)."""
    import torch

    nn = _nn()
    f = nn.functional

    def fuse(weights: torch.Tensor, xs: list[torch.Tensor]) -> torch.Tensor:
        wts = torch.relu(weights)
        wts = wts / (wts.sum() + 1e-4)
        y = wts[0] * xs[0]
        for i in range(1, len(xs)):
            y = y + wts[i] * xs[i]
        return f.silu(y)

    class BiFPN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w_td, self.w_bu = nn.Parameter(torch.ones(4, 2)), nn.Parameter(torch.ones(4, 3))
            self.td = nn.ModuleList(_sep_bn(c, c) for _ in range(4))
            self.bu = nn.ModuleList(_sep_bn(c, c) for _ in range(4))

        def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
            td = [feats[4]]
            for i in range(3, -1, -1):
                up = f.interpolate(td[0], scale_factor=2.0, mode="nearest")
                td.insert(0, self.td[i](fuse(self.w_td[i], [feats[i], up])))
            out = [td[0]]
            for i in range(1, 5):
                down = f.max_pool2d(out[-1], 3, 2, 1)
                xs = [feats[i], td[i], down] if i < 4 else [feats[i], down]
                out.append(self.bu[i - 1](fuse(self.w_bu[i - 1][: len(xs)], xs)))
            return out

    return BiFPN()


def efficientdet(c: int, layers: int, head: int, anchors: int, classes: int) -> Any:
    """EfficientDet-like detection on an image of sides divisible by 128: the first zoo's
    EfficientNet-B0 as backbone (its stride 8, 16 and 32 maps each projected to ``c`` by
    a 1x1 conv-BN; P6 a projected and max-pooled P5, P7 a max-pooled P6), ``layers``
    BiFPN layers, and class and box nets shared across levels (``head`` separable
    conv-BN-swishes, then a separable conv to ``anchors`` times ``classes`` sigmoid
    scores or 4 box offsets); every level's anchors concatenated. EfficientDet-D0 is
    ``(64, 3, 3, 9, 90)`` on 512 x 512."""
    import torch

    nn = _nn()
    f = nn.functional

    def net(k: int) -> Any:
        parts: list[Any] = []
        for _ in range(head):
            parts += [_sep_bn(c, c), nn.SiLU()]
        return nn.Sequential(*parts, _sep_bn(c, anchors * k, bn=False))

    class EfficientDet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = efficientnet(1.0, 1.0)
            self.stages = nn.ModuleList([body[:6], body[6:12], body[12:17]])
            self.lat = nn.ModuleList(_cbr(a, c, 1) for a in (40, 112, 320))
            self.p6 = _cbr(320, c, 1)
            self.fpn = nn.ModuleList(_bifpn(c) for _ in range(layers))
            self.cls, self.box = net(classes), net(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for stage, lat in zip(self.stages, self.lat, strict=True):
                x = stage(x)
                feats.append(lat(x))
            feats.append(f.max_pool2d(self.p6(x), 3, 2, 1))
            feats.append(f.max_pool2d(feats[-1], 3, 2, 1))
            for layer in self.fpn:
                feats = layer(feats)
            outs = []
            for p in feats:
                scores = torch.sigmoid(self.cls(p)).permute(0, 2, 3, 1).reshape(1, -1, classes)
                boxes = self.box(p).permute(0, 2, 3, 1).reshape(1, -1, 4)
                outs.append(torch.cat([boxes, scores], 2))
            return torch.cat(outs, 1)

    return EfficientDet()


def _uib(cin: int, cout: int, start: int, mid: int, s: int, e: float) -> Any:
    """MobileNetV4's universal inverted bottleneck: an optional depthwise conv of kernel
    ``start`` (BN; stride ``s`` when there is no middle one), a 1x1 expansion to ``e``
    times the input width rounded to eights (BN, ReLU), an optional depthwise conv of
    kernel ``mid`` (BN, ReLU; stride ``s``), a 1x1 projection (BN), residual where the
    shape allows. (start, mid) is (k, k) for ExtraDW, (0, k) for IB, (k, 0) ConvNext-like."""
    import torch

    nn = _nn()
    hid = int(round(cin * e / 8) * 8)

    class UIB(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            parts: list[Any] = []
            if start:
                parts.append(_cbr(cin, cin, start, 1 if mid else s, g=cin))
            parts.append(_cbr(cin, hid, 1, act=nn.ReLU))
            if mid:
                parts.append(_cbr(hid, hid, mid, s, g=hid, act=nn.ReLU))
            parts.append(_cbr(hid, cout, 1))
            self.f = nn.Sequential(*parts)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    return UIB()


_MNV4_S = [(64, 96, 5, 5, 2, 3.0), *[(96, 96, 0, 3, 1, 2.0)] * 4, (96, 96, 3, 0, 1, 4.0)]
_MNV4_S += [(96, 128, 3, 3, 2, 6.0), (128, 128, 5, 5, 1, 4.0), (128, 128, 0, 5, 1, 4.0)]
_MNV4_S += [(128, 128, 0, 5, 1, 3.0), (128, 128, 0, 3, 1, 4.0), (128, 128, 0, 3, 1, 4.0)]


def mobilenet_v4(rows: list[tuple[int, int, int, int, int, float]], classes: int) -> Any:
    """MobileNetV4-Conv-S: a 3x3 stride-2 conv to 32, two fused stages (a 3x3 stride-2
    conv and a 1x1 conv: 32-32 and 96-64), then universal inverted bottlenecks ``rows``
    (in, out, start kernel, middle kernel, stride, expansion), a 1x1 conv to 960, pooling,
    a 1x1 conv to 1280 (BN-free, ReLU) and a classifier; ReLU throughout."""
    nn = _nn()
    relu = nn.ReLU
    layers: list[Any] = [_cbr(3, 32, 3, 2, act=relu), _cbr(32, 32, 3, 2, act=relu)]
    layers += [_cbr(32, 32, 1, act=relu), _cbr(32, 96, 3, 2, act=relu), _cbr(96, 64, 1, act=relu)]
    layers += [_uib(*row) for row in rows]
    layers += [_cbr(rows[-1][1], 960, 1, act=relu), nn.AdaptiveAvgPool2d(1)]
    layers += [nn.Conv2d(960, 1280, 1), nn.ReLU(), nn.Flatten(), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


def _replk_blocks(d: int, k: int) -> list[Any]:
    """RepLKNet's large-kernel block (BN, a 1x1 conv-BN-ReLU, the ``k`` x ``k`` depthwise
    conv in its deploy form (the small kernel merged in, with bias), ReLU, a 1x1 conv-BN;
    residual) and its ConvFFN (BN, a 1x1 conv-BN to 4 ``d``, GELU, a 1x1 conv-BN back;
    residual)."""
    import torch

    nn = _nn()

    class Residual(nn.Module):
        def __init__(self, f: Any) -> None:
            super().__init__()
            self.f = f

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    lk = nn.Sequential(
        *(nn.BatchNorm2d(d), _cbr(d, d, 1, act=nn.ReLU)),
        *(nn.Conv2d(d, d, k, 1, k // 2, groups=d), nn.ReLU(), _cbr(d, d, 1)),
    )
    ffn = nn.Sequential(nn.BatchNorm2d(d), _cbr(d, 4 * d, 1, act=nn.GELU), _cbr(4 * d, d, 1))
    return [Residual(lk), Residual(ffn)]


def replknet(dims: tuple[int, ...], depths: tuple[int, ...], kernels: tuple[int, ...]) -> Any:
    """RepLKNet (deploy form): a stem of a 3x3 stride-2 conv, a 3x3 depthwise conv, a 1x1
    conv and a 3x3 stride-2 depthwise conv (BN-ReLU each), stages of ``depths``
    large-kernel blocks with ConvFFNs at ``kernels``, transitions of a 1x1 conv-BN-ReLU
    and a 3x3 stride-2 depthwise conv-BN-ReLU; BN, pooling and a classifier.
    RepLKNet-31B is ``((128, 256, 512, 1024), (2, 2, 18, 2), (31, 29, 27, 13))``."""
    nn = _nn()
    c = dims[0]
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.ReLU), _cbr(c, c, 3, g=c, act=nn.ReLU)]
    layers += [_cbr(c, c, 1, act=nn.ReLU), _cbr(c, c, 3, 2, g=c, act=nn.ReLU)]
    for i, (d, n, k) in enumerate(zip(dims, depths, kernels, strict=True)):
        if i:
            layers += [_cbr(c, d, 1, act=nn.ReLU), _cbr(d, d, 3, 2, g=d, act=nn.ReLU)]
        for _ in range(n):
            layers += _replk_blocks(d, k)
        c = d
    layers += [nn.BatchNorm2d(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def resmlp(res: int, patch: int, d: int, layers: int) -> Any:
    """ResMLP on a ``res`` x ``res`` image: a patch embedding, ``layers`` blocks of an
    affine (a per-channel scale and shift in place of a norm), a linear layer across the
    patches (transposed), a layer-scaled residual, then an affine, a GELU MLP of 4 ``d``
    across channels and a layer-scaled residual; an affine, mean pooling and a
    classifier. ResMLP-S12 is ``(224, 16, 384, 12)``."""
    import torch

    nn = _nn()
    n = (res // patch) ** 2

    class Affine(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.alpha, self.beta = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.alpha * x + self.beta

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a1, self.a2, self.tokens = Affine(), Affine(), nn.Linear(n, n)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.g1, self.g2 = (
                nn.Parameter(torch.full((d,), 0.1)),
                nn.Parameter(torch.full((d,), 0.1)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.g1 * self.tokens(self.a1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.g2 * self.mlp(self.a2(x))

    class ResMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.norm, self.head = Affine(), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.blocks(self.embed(x).flatten(2).transpose(1, 2))
            return self.head(self.norm(x).mean(1))

    return ResMLP()


def ft_transformer(features: int, d: int, heads: int, layers: int, classes: int) -> Any:
    """FT-Transformer (Gorishniy et al.) on (1, ``features``) numerical features: a feature
    tokenizer (each feature times its own ``d``-vector plus its own bias), a [CLS] token
    appended, ``layers`` pre-norm transformer layers (the first without its attention
    norm) of multi-head attention and a ReGLU feed-forward of 4/3 ``d``; the [CLS] token's
    layer norm, ReLU and a linear head."""
    import torch

    nn = _nn()
    ffn = d * 4 // 3

    class Layer(nn.Module):
        def __init__(self, first: bool) -> None:
            super().__init__()
            self.n1 = nn.Identity() if first else nn.LayerNorm(d)
            self.attn, self.n2 = _attention(d, heads, 0), nn.LayerNorm(d)
            self.fc1, self.fc2 = nn.Linear(d, 2 * ffn), nn.Linear(ffn, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.n1(x))
            a, b = self.fc1(self.n2(x)).chunk(2, -1)
            return x + self.fc2(a * torch.relu(b))

    class FTTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(features, d) * d**-0.5)
            self.bias = nn.Parameter(torch.randn(features, d) * d**-0.5)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * d**-0.5)
            self.layers = nn.Sequential(*[Layer(i == 0) for i in range(layers)])
            self.head = nn.Sequential(nn.LayerNorm(d), nn.ReLU(), nn.Linear(d, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tokens = x[:, :, None] * self.weight + self.bias
            y = self.layers(torch.cat([tokens, self.cls], 1))
            return self.head(y[:, -1])

    return FTTransformer()


def _ddpm_res(cin: int, cout: int, temb: int) -> Any:
    """A DDPM residual block: GroupNorm(32), SiLU, a 3x3 conv, plus a linear projection of
    the (SiLU'd) noise embedding per channel, GroupNorm, SiLU, a 3x3 conv; added to the
    input (a 1x1 conv of it where the width changes)."""
    import torch

    nn = _nn()

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f1 = nn.Sequential(nn.GroupNorm(32, cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, 1, 1))
            self.t = nn.Sequential(nn.SiLU(), nn.Linear(temb, cout))
            self.f2 = nn.Sequential(
                nn.GroupNorm(32, cout), nn.SiLU(), nn.Conv2d(cout, cout, 3, 1, 1)
            )
            self.short = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            y = self.f1(x) + self.t(t)[:, :, None, None]
            return self.short(x) + self.f2(y)

    return Res()


def _ddpm_attn(c: int) -> Any:
    """A DDPM self-attention block: GroupNorm(32), 1x1 q, k, v convs, single-head
    attention over the positions, a 1x1 projection; residual."""
    import torch

    nn = _nn()

    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.qkv = nn.GroupNorm(32, c), nn.Conv2d(c, 3 * c, 1)
            self.proj = nn.Conv2d(c, c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, _, h, w = x.shape
            q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
            a = torch.softmax(q.transpose(1, 2) @ k * c**-0.5, dim=-1)
            return x + self.proj((v @ a.transpose(1, 2)).reshape(b, c, h, w))

    return Attn()


def diffusion_unet(ch: int, mults: tuple[int, ...], attn: int, cin: int) -> Any:
    """A DDPM-like denoising U-Net on a (1, ``cin``, h, w) noisy latent, conditioned on
    its noise level as EDM does (log sigma / 4; sigma estimated as the input's standard
    deviation, so the conditioning stays in the graph): sinusoidal features of it through
    a SiLU MLP to 4 ``ch``; a 3x3 conv in, per level (``ch`` times ``mults``) a residual
    block (and self-attention at level ``attn``), 3x3 stride-2 conv downsamplings; a
    middle of residual, attention and residual blocks; a mirrored decoder on the skips
    concatenated with nearest x2 upsamplings and 3x3 convs; GroupNorm, SiLU and a 3x3
    conv out to the predicted noise."""
    import torch

    nn = _nn()
    temb, widths = 4 * ch, [ch * m for m in mults]

    class UNet(nn.Module):
        freqs: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("freqs", torch.exp(-math.log(1e4) * torch.arange(ch // 2) / ch))
            self.temb = nn.Sequential(nn.Linear(ch, temb), nn.SiLU(), nn.Linear(temb, temb))
            self.inp, c = nn.Conv2d(cin, ch, 3, 1, 1), ch
            self.enc, self.dec = nn.ModuleList(), nn.ModuleList()
            for w in widths:
                self.enc.append(_ddpm_res(c, w, temb))
                c = w
            self.mid = nn.ModuleList([_ddpm_res(c, c, temb), _ddpm_res(c, c, temb)])
            self.mid_attn = _ddpm_attn(c)
            for w in reversed(widths):
                self.dec.append(_ddpm_res(c + w, w, temb))
                c = w
            self.attn_enc, self.attn_dec = _ddpm_attn(widths[attn]), _ddpm_attn(widths[attn])
            self.down = nn.ModuleList(nn.Conv2d(w, w, 3, 2, 1) for w in widths[:-1])
            self.up = nn.ModuleList(nn.Conv2d(w, w, 3, 1, 1) for w in widths[:0:-1])
            self.out = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(ch, cin, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c_noise = torch.log(x.flatten(1).std(1, keepdim=True)) / 4
            t = self.temb(
                torch.cat([(c_noise * self.freqs).sin(), (c_noise * self.freqs).cos()], 1)
            )
            y, skips = self.inp(x), []
            for i, res in enumerate(self.enc):
                y = res(y, t)
                y = self.attn_enc(y) if i == attn else y
                skips.append(y)
                y = self.down[i](y) if i < len(widths) - 1 else y
            y = self.mid[1](self.mid_attn(self.mid[0](y, t)), t)
            for j, res in enumerate(self.dec):
                i = len(widths) - 1 - j
                y = res(torch.cat([y, skips[i]], 1), t)
                y = self.attn_dec(y) if i == attn else y
                if i:
                    y = self.up[j](nn.functional.interpolate(y, scale_factor=2.0, mode="nearest"))
            return self.out(y)

    return UNet()


def srvgg(feat: int, convs: int, scale: int) -> Any:
    """Real-ESRGAN's compact SRVGGNet on a low-resolution RGB image: a 3x3 conv to
    ``feat`` and ``convs`` more 3x3 convs, PReLU (per channel) after each, a 3x3 conv to 3
    times ``scale``^2 channels and a pixel shuffle, plus the nearest-upsampled input.
    realesr-animevideov3 is ``(64, 16, 4)``, realesr-general-x4v3 ``(64, 32, 4)``."""
    import torch

    nn = _nn()

    class SRVGG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [nn.Conv2d(3, feat, 3, 1, 1), nn.PReLU(feat)]
            for _ in range(convs):
                layers += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
            layers += [nn.Conv2d(feat, 3 * scale**2, 3, 1, 1), nn.PixelShuffle(scale)]
            self.body = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            up = nn.functional.interpolate(x, scale_factor=float(scale), mode="nearest")
            return self.body(x) + up

    return SRVGG()


def _naf_block(c: int) -> Any:
    """NAFNet's block: a channel layer norm, a 1x1 conv to 2 ``c``, a 3x3 depthwise conv,
    the simple gate (one half times the other), simplified channel attention (global
    pooling, a 1x1 conv, a product), a 1x1 conv, a scaled residual; a channel layer norm,
    a 1x1 conv to 2 ``c``, the simple gate, a 1x1 conv, a scaled residual."""
    import torch

    nn = _nn()

    class LayerNorm2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w, self.b = nn.Parameter(torch.ones(c, 1, 1)), nn.Parameter(torch.zeros(c, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mu = x.mean(1, keepdim=True)
            var = (x - mu).pow(2).mean(1, keepdim=True)
            return self.w * (x - mu) / (var + 1e-6).sqrt() + self.b

    class NAFBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = LayerNorm2d(), LayerNorm2d()
            self.conv1, self.conv2 = (
                nn.Conv2d(c, 2 * c, 1),
                nn.Conv2d(2 * c, 2 * c, 3, 1, 1, groups=2 * c),
            )
            self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
            self.conv3, self.conv4, self.conv5 = (
                nn.Conv2d(c, c, 1),
                nn.Conv2d(c, 2 * c, 1),
                nn.Conv2d(c, c, 1),
            )
            self.beta = nn.Parameter(torch.full((1, c, 1, 1), 0.1))
            self.gamma = nn.Parameter(torch.full((1, c, 1, 1), 0.1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = self.conv2(self.conv1(self.n1(x))).chunk(2, 1)
            y = a * b
            x = x + self.beta * self.conv3(y * self.sca(y))
            a, b = self.conv4(self.n2(x)).chunk(2, 1)
            return x + self.gamma * self.conv5(a * b)

    return NAFBlock()


def nafnet(width: int, enc: tuple[int, ...], middle: int, dec: tuple[int, ...]) -> Any:
    """NAFNet (Chen et al.) image restoration: a 3x3 conv to ``width``, an encoder of
    ``enc`` NAF blocks per level with 2x2 stride-2 convs doubling the width, ``middle``
    blocks, a decoder of 1x1 convs to twice the width and pixel shuffles, the skip added,
    ``dec`` blocks per level, a 3x3 conv to RGB plus the input. NAFNet-SIDD-width32 is
    ``(32, (2, 2, 4, 8), 12, (2, 2, 2, 2))``."""
    import torch

    nn = _nn()

    class NAFNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.intro, c = nn.Conv2d(3, width, 3, 1, 1), width
            self.enc, self.down = nn.ModuleList(), nn.ModuleList()
            for n in enc:
                self.enc.append(nn.Sequential(*[_naf_block(c) for _ in range(n)]))
                self.down.append(nn.Conv2d(c, 2 * c, 2, 2))
                c *= 2
            self.middle = nn.Sequential(*[_naf_block(c) for _ in range(middle)])
            self.up, self.dec = nn.ModuleList(), nn.ModuleList()
            for n in dec:
                self.up.append(
                    nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2))
                )
                c //= 2
                self.dec.append(nn.Sequential(*[_naf_block(c) for _ in range(n)]))
            self.ending = nn.Conv2d(width, 3, 3, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, skips = self.intro(x), []
            for enc, down in zip(self.enc, self.down, strict=True):
                y = enc(y)
                skips.append(y)
                y = down(y)
            y = self.middle(y)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=True):
                y = dec(up(y) + skip)
            return x + self.ending(y)

    return NAFNet()


def _blaze_block(cin: int, cout: int, s: int) -> Any:
    """BlazeFace's block: a 5x5 depthwise conv (stride ``s``; zero-padded by 1 left and top
    and 2 right and bottom when strided) and a 1x1 conv, added to the input (2x2
    max-pooled when strided, zero-padded in channels when wider), then ReLU."""
    import torch

    nn = _nn()
    f = nn.functional

    class Blaze(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(cin, cin, 5, s, 0 if s == 2 else 2, groups=cin), nn.Conv2d(cin, cout, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(f.pad(x, (1, 2, 1, 2)) if s == 2 else x)
            if s == 2:
                x = f.max_pool2d(x, 2, 2)
            if cout > cin:
                x = f.pad(x, (0, 0, 0, 0, 0, cout - cin))
            return torch.relu(y + x)

    return Blaze()


def blazeface(anchors: tuple[int, int]) -> Any:
    """BlazeFace (front camera, MediaPipe's released model) on a 128 x 128 image: a 5x5
    stride-2 conv to 24 (ReLU), eleven blaze blocks to 88 channels at stride 8 and five to
    96 at stride 16; per scale a 1x1 conv to ``anchors`` face scores per position and one
    to 16 box and keypoint offsets per anchor, flattened and concatenated to (1, 896,
    17)."""
    import torch

    nn = _nn()
    singles = [(24, 24, 1), (24, 28, 1), (28, 32, 2), (32, 36, 1), (36, 42, 1), (42, 48, 2)]
    singles += [(48, 56, 1), (56, 64, 1), (64, 72, 1), (72, 80, 1), (80, 88, 1)]
    second = [(88, 96, 2), *[(96, 96, 1)] * 4]
    chans = (88, 96)

    class BlazeFace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 24, 5, 2, 2), nn.ReLU())
            self.b1 = nn.Sequential(*[_blaze_block(*row) for row in singles])
            self.b2 = nn.Sequential(*[_blaze_block(*row) for row in second])
            self.cls = nn.ModuleList(
                nn.Conv2d(c, a, 1) for c, a in zip(chans, anchors, strict=True)
            )
            self.reg = nn.ModuleList(
                nn.Conv2d(c, 16 * a, 1) for c, a in zip(chans, anchors, strict=True)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p1 = self.b1(self.stem(x))
            p2 = self.b2(p1)
            outs = []
            for p, cls, reg in zip((p1, p2), self.cls, self.reg, strict=True):
                scores = cls(p).permute(0, 2, 3, 1).reshape(1, -1, 1)
                outs.append(torch.cat([reg(p).permute(0, 2, 3, 1).reshape(1, -1, 16), scores], 2))
            return torch.cat(outs, 1)

    return BlazeFace()


def tiny_yolov3(width: int, anchors: int, classes: int) -> Any:
    """Tiny YOLOv3 (Darknet): 3x3 conv-BN-LeakyReLU(0.1)s of ``width`` times 1, 2, ...,
    32 with 2x2 max pools between them (the last stride 1 after a right/bottom zero pad),
    a 3x3 conv to 64 ``width`` and a 1x1 to 16 ``width``; a head of a 3x3 conv to 32
    ``width`` and a 1x1 detection conv of ``anchors`` x (5 + ``classes``); a second head
    on that 1x1 map through a 1x1 conv to 8 ``width``, nearest x2 upsampled and
    concatenated with the stride-16 map, a 3x3 conv to 16 ``width`` and a detection conv;
    both flattened and concatenated. The original is ``(16, 3, 80)``."""
    import torch

    nn = _nn()
    f = nn.functional
    leaky = partial(nn.LeakyReLU, 0.1)
    out = anchors * (5 + classes)

    class TinyYolo(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            a: list[Any] = []
            c = 3
            for i in range(5):
                a += [_cbr(c, width * 2**i, 3, act=leaky), nn.MaxPool2d(2, 2)]
                c = width * 2**i
            self.to16 = nn.Sequential(*a[:-1])
            self.to32 = nn.Sequential(
                *(nn.MaxPool2d(2, 2), _cbr(c, 2 * c, 3, act=leaky), nn.ZeroPad2d((0, 1, 0, 1))),
                *(
                    nn.MaxPool2d(2, 1),
                    _cbr(2 * c, 4 * c, 3, act=leaky),
                    _cbr(4 * c, c, 1, act=leaky),
                ),
            )
            self.head1 = nn.Sequential(_cbr(c, 2 * c, 3, act=leaky), nn.Conv2d(2 * c, out, 1))
            self.lat = _cbr(c, c // 2, 1, act=leaky)
            self.head2 = nn.Sequential(_cbr(c + c // 2, c, 3, act=leaky), nn.Conv2d(c, out, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p16 = self.to16(x)
            p32 = self.to32(p16)
            up = f.interpolate(self.lat(p32), scale_factor=2.0, mode="nearest")
            y1, y2 = self.head1(p32), self.head2(torch.cat([up, p16], 1))
            return torch.cat([y1.flatten(2), y2.flatten(2)], 2)

    return TinyYolo()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    mit_b0 = ((2, 1, 4, 8), (2, 2, 4, 4), (2, 5, 4, 2), (2, 8, 4, 1))
    return [
        (
            "c3d",
            "c3d_quarter_ucf101_8x112",
            partial(c3d, (16, 32, 64, 128, 128), 512, 101, 8, 112, 112),
            (1, 3, 8, 112, 112),
        ),
        ("x3d", "x3d_xs_4x160", partial(x3d, 24, (1, 2, 5, 3), 2.25, 400), (1, 3, 4, 160, 160)),
        ("unet3d", "unet3d_w8_l4_32x48x48", partial(unet3d, 8, 4, 1, 3), (1, 1, 32, 48, 48)),
        (
            "segformer",
            "segformer_b0_ade_224x288",
            partial(segformer, (32, 64, 160, 256), mit_b0, 256, 150, 224, 288),
            _image(224, 288),
        ),
        (
            "efficientdet",
            "efficientdet_d0_256x384",
            partial(efficientdet, 64, 3, 3, 9, 90),
            _image(256, 384),
        ),
        ("mobilenetv4", "mnv4_conv_s_224", partial(mobilenet_v4, _MNV4_S, 1000), _image(224)),
        (
            "replknet",
            "replknet31_mini_160",
            partial(replknet, (32, 64, 128, 256), (2, 2, 6, 2), (31, 29, 27, 13)),
            _image(160),
        ),
        ("resmlp", "resmlp_s12_d256_224", partial(resmlp, 224, 16, 256, 12), _image(224)),
        (
            "fttransformer",
            "ft_transformer_d192_l3_f54",
            partial(ft_transformer, 54, 192, 8, 3, 7),
            (1, 54),
        ),
        (
            "diffusion",
            "ddpm_unet_c64_latent4x32",
            partial(diffusion_unet, 64, (1, 2, 2), 1, 4),
            (1, 4, 32, 32),
        ),
        ("srvgg", "srvgg_compact_x4_48x64", partial(srvgg, 64, 16, 4), (1, 3, 48, 64)),
        (
            "nafnet",
            "nafnet_w16_128x192",
            partial(nafnet, 16, (1, 1, 1, 2), 2, (1, 1, 1, 1)),
            _image(128, 192),
        ),
        ("blazeface", "blazeface_front_128", partial(blazeface, (2, 6)), _image(128)),
        (
            "tinyyolov3",
            "tiny_yolov3_coco_256x320",
            partial(tiny_yolov3, 16, 3, 80),
            _image(256, 320),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet34_w24_224x160",
            partial(resnet, (3, 4, 6, 3), 24, False),
            _image(224, 160),
        ),
        (
            "mobilenetv3",
            "mbv3_x1.0_320x256",
            partial(mobilenet, _MBV3, 1.0, True),
            _image(320, 256),
        ),
        (
            "efficientnet",
            "effnet_x0.35_d0.5_56x72",
            partial(efficientnet, 0.35, 0.5),
            _image(56, 72),
        ),
        (
            "mobilevit",
            "mobilevit_s_128x320",
            partial(mobilevit, (32, 64, 96, 128, 160), (144, 192, 240), (2, 4, 3)),
            _image(128, 320),
        ),
        ("yolo", "yolov8_csp_w24_320x512", partial(yolo_csp, 24, (1, 2, 2, 1)), _image(320, 512)),
        ("conformer", "conformer_d176_k15_t160", partial(conformer, 176, 4, 2, 15), (1, 160, 176)),
        (
            "whisper",
            "whisper_enc_d384_l2_80x200",
            partial(whisper_encoder, 80, 200, 384, 6, 2),
            (1, 80, 200),
        ),
        (
            "densenet",
            "densenet_k16_486_48x40",
            partial(densenet, 16, (4, 8, 6), 24),
            (1, 3, 48, 40),
        ),
        ("text", "bert_d128_s1024", partial(text_encoder, 128, 2, 2), (1, 1024, 128)),
        (
            "swin",
            "swin_d32_w4_128",
            partial(swin, 128, 32, (2, 2, 2, 2), (1, 2, 4, 8), 4),
            _image(128),
        ),
        (
            "deeplabv3",
            "deeplabv3_r18w16_c21_320x480",
            partial(deeplab_v3, 16, 128, 21, 320, 480),
            _image(320, 480),
        ),
        ("pointnet", "pointnet_cls40_2048", partial(pointnet, 40), (1, 3, 2048)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the eighth zoo."""
    return _new_families() + _known_families()
