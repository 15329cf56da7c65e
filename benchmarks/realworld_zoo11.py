"""An eleventh held-out zoo of real-world architectures (plain torch), written after the
tenth zoo (benchmarks/realworld_zoo10.py), before any prediction of it.

Like the second to tenth, it is committed and then scored once with the kernel predictor
frozen; nothing in the library is fitted, tuned or chosen on it. About two thirds of it is
families none of the ten earlier zoos has, across tasks: FasterNet's partial convolutions
and StarNet's element-wise "star" products (classification), DETR's transformer encoder
and decoder of object queries on a ResNet-18 (detection), PP-LiteSeg's STDC backbone with
its pyramid pooling and spatial-attention fusion (real-time segmentation), SiamFC's
AlexNet with a cross-correlation whose kernel is the template's features (tracking), PFLD's
multi-scale landmark regressor (face alignment), RIFE's IFNet of coarse-to-fine flow
blocks with bilinear warping by grid sampling (video frame interpolation), the Lc0 /
AlphaZero SE-ResNet tower on an 8 x 8 board with policy and value heads (game playing),
DTLN's two LSTM cores in a DFT domain and a learned domain with overlap-add (speech
enhancement), FastSpeech 2's feed-forward transformers, variance adaptor and a length
regulator as an alignment matrix (text to speech), TC-ResNet's temporal 1-D convs
(keyword spotting), FNet's Fourier token mixing (text), a Mamba-2 language model of
state-space duality (text), one RWKV-4 decoding step from its recurrent state (text),
N-BEATS' interpretable trend and seasonality stacks (time-series forecasting),
PointNet++'s farthest point sampling, ball query and set abstraction (point clouds),
pix2pix's U-Net generator (image-to-image translation), VQ-VAE's nearest-code
quantisation (generative compression), a Fourier neural operator's spectral convolutions
(scientific, PDE surrogate) and DeepFM's factorisation machine beside a deep net
(recommendation); the other part is the earlier zoos' families at widths, depths,
sequence lengths and input shapes none of them has (some non-square, two tiny, some
large). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV2,
    _MBV3,
    Builder,
    _cbr,
    _inverted,
    _nn,
    efficientnet,
    mobilenet,
    resnet,
    text_encoder,
)
from realworld_zoo3 import _image, conformer, gpt, vit_rect, yolo_csp
from realworld_zoo4 import swin
from realworld_zoo9 import _residual, _rms_norm, llama


def _pconv_block(c: int) -> Any:
    """FasterNet's block: a partial conv (a 3x3 conv on the first quarter of the
    channels, the rest passed through, concatenated), a 1x1 conv to 2 ``c`` with BN and
    GELU and a 1x1 conv back; residual."""
    import torch

    nn = _nn()
    part = c // 4

    class PConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(part, part, 3, 1, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x1, x2 = torch.split(x, [part, c - part], 1)
            return torch.cat([self.conv(x1), x2], 1)

    mlp = [PConv(), _cbr(c, 2 * c, 1, act=nn.GELU), nn.Conv2d(2 * c, c, 1, bias=False)]
    return _residual(nn.Sequential(*mlp))


def fasternet(dims: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """FasterNet (Chen et al., CVPR 2023) classification: a 4x4 stride-4 conv-BN
    embedding to ``dims[0]``; four stages of ``depths[i]`` partial-conv blocks, 2x2
    stride-2 conv-BN merging between them; pooling, a 1x1 conv to 1280 with GELU and a
    classifier. FasterNet-T0 is ``((40, 80, 160, 320), (1, 2, 8, 2))``."""
    nn = _nn()
    layers: list[Any] = [nn.Conv2d(3, dims[0], 4, 4, bias=False), nn.BatchNorm2d(dims[0])]
    for i, (d, n) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers += [nn.Conv2d(dims[i - 1], d, 2, 2, bias=False), nn.BatchNorm2d(d)]
        layers += [_pconv_block(d) for _ in range(n)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dims[-1], 1280, 1, bias=False), nn.GELU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(1280, 1000))


def _star_block(d: int, ratio: int) -> Any:
    """StarNet's block: a 7x7 depthwise conv-BN, two 1x1 convs to ``ratio`` ``d``
    multiplied element-wise (the first through ReLU6: the star operation), a 1x1 conv-BN
    back and a 7x7 depthwise conv; residual."""
    import torch

    nn = _nn()

    class Star(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = _cbr(d, d, 7, g=d)
            self.f1, self.f2 = nn.Conv2d(d, ratio * d, 1), nn.Conv2d(d, ratio * d, 1)
            self.g = _cbr(ratio * d, d, 1)
            self.dw2 = nn.Conv2d(d, d, 7, 1, 3, groups=d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.dw(x)
            y = nn.functional.relu6(self.f1(y)) * self.f2(y)
            return x + self.dw2(self.g(y))

    return Star()


def starnet(base: int, depths: tuple[int, ...]) -> Any:
    """StarNet (Ma et al., CVPR 2024) classification: a 3x3 stride-2 conv-BN-ReLU6 stem
    to 32; four stages of ``base`` x 1, 2, 4, 8 channels, each a 3x3 stride-2 conv-BN
    and ``depths[i]`` star blocks of ratio 4; BN, pooling and a classifier. StarNet-S1 is
    ``(24, (2, 2, 8, 3))``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, 32, 3, 2, act=nn.ReLU6)]
    c = 32
    for i, n in enumerate(depths):
        d = base * 2**i
        layers += [_cbr(c, d, 3, 2)] + [_star_block(d, 4) for _ in range(n)]
        c = d
    layers += [nn.BatchNorm2d(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def _sine_positions(d: int, h: int, w: int) -> Any:
    """DETR's fixed sine positional encoding of an ``h`` x ``w`` map as (``h`` ``w``,
    ``d``): ``d``/2 sine and cosine features of the normalised row and of the column
    index."""
    import torch

    f = d // 2
    ys = torch.arange(1, h + 1).float()[:, None].expand(h, w) / h * 2 * math.pi
    xs = torch.arange(1, w + 1).float()[None, :].expand(h, w) / w * 2 * math.pi
    dim_t = 10000.0 ** (2 * (torch.arange(f) // 2) / f)

    def features(v: torch.Tensor) -> torch.Tensor:
        """Interleaved sines and cosines of ``v`` over the ``f`` frequencies."""
        v = v[..., None] / dim_t
        return torch.stack([v[..., 0::2].sin(), v[..., 1::2].cos()], -1).flatten(2)

    return torch.cat([features(ys), features(xs)], -1).reshape(h * w, d)


def _mha(d: int, heads: int) -> Any:
    """Multi-head attention with separate query, key and value inputs (each (1, n,
    ``d``)): linear projections, a scaled softmax over the keys and an output
    projection."""
    import torch

    nn = _nn()

    class MHA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.o = nn.Linear(d, d)

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            n, m = q.shape[1], k.shape[1]
            qh = self.q(q).reshape(1, n, heads, -1).transpose(1, 2)
            kh = self.k(k).reshape(1, m, heads, -1).transpose(1, 2)
            vh = self.v(v).reshape(1, m, heads, -1).transpose(1, 2)
            a = torch.softmax(qh @ kh.transpose(-1, -2) * (d // heads) ** -0.5, dim=-1)
            return self.o((a @ vh).transpose(1, 2).reshape(1, n, d))

    return MHA()


def _detr_layer(d: int, heads: int, ff: int, decoder: bool) -> Any:
    """A post-norm DETR layer: self-attention with positions added to queries and keys;
    in the decoder, cross-attention of the queries (plus query positions) on the memory
    (plus its positions); a ReLU feed-forward of ``ff``; a layer norm after each residual
    sum."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn, self.cross = _mha(d, heads), _mha(d, heads) if decoder else None
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3 if decoder else 2))

        def forward(
            self, x: torch.Tensor, pos: torch.Tensor, mem: torch.Tensor, mpos: torch.Tensor
        ) -> torch.Tensor:
            x = self.norms[0](x + self.attn(x + pos, x + pos, x))
            if self.cross is not None:
                x = self.norms[1](x + self.cross(x + pos, mem + mpos, mem))
            return self.norms[-1](x + self.ff(x))

    return Layer()


def detr(layers: int, queries: int, classes: int, h: int, w: int) -> Any:
    """DETR (Carion et al., ECCV 2020) on an ``h`` x ``w`` image, with a ResNet-18 in
    place of its ResNet-50: the stride-32 map through a 1x1 conv to 256, flattened, with
    fixed sine positions; ``layers`` encoder layers and ``layers`` decoder layers (8
    heads, feed-forward 2048) on ``queries`` learned object queries; per query a class
    head (``classes`` + 1) and a 3-layer box MLP with a sigmoid. DETR is ``(6, 100, 91,
    ...)``."""
    import torch

    nn = _nn()
    d = 256
    pos = _sine_positions(d, h // 32, w // 32)[None]

    class DETR(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.backbone = resnet((2, 2, 2, 2), 64, False)[:-3]
            self.proj = nn.Conv2d(512, d, 1)
            self.register_buffer("pos", pos)
            self.query = nn.Parameter(torch.randn(1, queries, d))
            self.enc = nn.ModuleList(_detr_layer(d, 8, 2048, False) for _ in range(layers))
            self.dec = nn.ModuleList(_detr_layer(d, 8, 2048, True) for _ in range(layers))
            self.norm, self.cls = nn.LayerNorm(d), nn.Linear(d, classes + 1)
            self.box = nn.Sequential(
                *(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem = self.proj(self.backbone(x)).flatten(2).transpose(1, 2)
            for layer in self.enc:
                mem = layer(mem, self.pos, mem, self.pos)
            y = torch.zeros_like(self.query)
            for layer in self.dec:
                y = layer(y, self.query, mem, self.pos)
            y = self.norm(y)
            return torch.cat([self.cls(y), self.box(y).sigmoid()], -1)

    return DETR()


def _stdc_module(cin: int, cout: int, s: int) -> Any:
    """STDC's short-term dense concatenate module: a 1x1 conv-BN-ReLU to ``cout``/2, then
    3x3 conv-BN-ReLUs to ``cout``/4, /8 and /8 each on the previous one; all four outputs
    concatenated. With stride 2, the first output goes through a 3x3 stride-2 depthwise
    conv-BN before the second conv and through a 3x3 stride-2 average pool into the
    concatenation."""
    import torch

    nn = _nn()
    widths = (cout // 2, cout // 4, cout // 8, cout // 8)

    class STDC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList([_cbr(cin, widths[0], 1, act=nn.ReLU)])
            for a, b in zip(widths[:-1], widths[1:], strict=True):
                self.convs.append(_cbr(a, b, 3, act=nn.ReLU))
            self.down = _cbr(widths[0], widths[0], 3, 2, g=widths[0]) if s == 2 else None
            self.skip = nn.AvgPool2d(3, 2, 1) if s == 2 else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            first = self.convs[0](x)
            y = first if self.down is None else self.down(first)
            outs = [first if self.skip is None else self.skip(first)]
            for conv in self.convs[1:]:
                y = conv(y)
                outs.append(y)
            return torch.cat(outs, 1)

    return STDC()


def _uafm(low: int, high: int, cout: int) -> Any:
    """PP-LiteSeg's unified attention fusion with spatial attention: the deeper map (of
    ``high`` channels) upsampled bilinearly to the shallower one's size, the shallower
    map through a 3x3 conv-BN-ReLU to ``high``; the channel means and maxima of both (4
    maps) through a 3x3 conv-BN-ReLU to 2 and a 3x3 conv-BN to 1, a sigmoid weight
    ``a``; a times the shallow plus (1 - a) times the deep map, a 3x3 conv-BN-ReLU to
    ``cout``."""
    import torch

    nn = _nn()

    class UAFM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.low = _cbr(low, high, 3, act=nn.ReLU)
            self.att = nn.Sequential(_cbr(4, 2, 3, act=nn.ReLU), _cbr(2, 1, 3))
            self.out = _cbr(high, cout, 3, act=nn.ReLU)

        def forward(self, x: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
            x = self.low(x)
            deep = nn.functional.interpolate(deep, x.shape[2:], mode="bilinear")
            stats = [x.mean(1, keepdim=True), x.amax(1, keepdim=True)]
            stats += [deep.mean(1, keepdim=True), deep.amax(1, keepdim=True)]
            a = torch.sigmoid(self.att(torch.cat(stats, 1)))
            return self.out(x * a + deep * (1 - a))

    return UAFM()


def _sppm(cin: int, inner: int, cout: int) -> Any:
    """PP-LiteSeg's simple pyramid pooling module: adaptive average pools to 1, 2 and 4
    cells, each a 1x1 conv-BN-ReLU to ``inner`` upsampled bilinearly and summed, a 3x3
    conv-BN-ReLU to ``cout``."""
    import torch

    nn = _nn()

    class SPPM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stages = nn.ModuleList(
                nn.Sequential(nn.AdaptiveAvgPool2d(s), _cbr(cin, inner, 1, act=nn.ReLU))
                for s in (1, 2, 4)
            )
            self.out = _cbr(inner, cout, 3, act=nn.ReLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            size = x.shape[2:]
            y = sum(
                nn.functional.interpolate(stage(x), size, mode="bilinear") for stage in self.stages
            )
            return self.out(torch.as_tensor(y))

    return SPPM()


def pp_liteseg(dec: tuple[int, int, int], classes: int) -> Any:
    """PP-LiteSeg-T (Peng et al., 2022) real-time segmentation with an STDC1 backbone: two
    3x3 stride-2 conv-BN-ReLUs to 32 and 64; three stages of two STDC modules (the
    first of stride 2) to 256, 512 and 1024 channels (strides 8, 16, 32); the SPPM on the
    last; two UAFMs fusing top-down with the stride-16 and stride-8 maps (decoder widths
    ``dec``); a 3x3 conv-BN-ReLU to 64, a 1x1 conv to ``classes`` and bilinear x8
    upsampling. PP-LiteSeg-T is ``((32, 64, 128), 19)`` on Cityscapes."""
    nn = _nn()

    class PPLiteSeg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                _cbr(3, 32, 3, 2, act=nn.ReLU), _cbr(32, 64, 3, 2, act=nn.ReLU)
            )
            self.stages = nn.ModuleList(
                nn.Sequential(_stdc_module(a, b, 2), _stdc_module(b, b, 1))
                for a, b in ((64, 256), (256, 512), (512, 1024))
            )
            self.sppm = _sppm(1024, 128, dec[2])
            self.fuse16, self.fuse8 = _uafm(512, dec[2], dec[1]), _uafm(256, dec[1], dec[0])
            self.head = nn.Sequential(_cbr(dec[0], 64, 3, act=nn.ReLU), nn.Conv2d(64, classes, 1))

        def forward(self, x: Any) -> Any:
            x8 = self.stages[0](self.stem(x))
            x16 = self.stages[1](x8)
            y = self.fuse8(x8, self.fuse16(x16, self.sppm(self.stages[2](x16))))
            return nn.functional.interpolate(self.head(y), scale_factor=8.0, mode="bilinear")

    return PPLiteSeg()


def siamfc(search: int, template: int) -> Any:
    """SiamFC (Bertinetto et al., ECCV Workshops 2016) tracking on one (1, 3, ``search``,
    ``search`` + ``template``) tensor holding the search crop and, beside it in the top
    rows, the exemplar crop: both through the same AlexNet (an 11x11 stride-2 conv to 96,
    3x3 stride-2 max pools, a 5x5 conv to 256 in two groups, 3x3 convs to 384, 384 and
    256, the last two in two groups; BN and ReLU but after the last); the search features
    cross-correlated with the exemplar features as the conv kernel, scaled by 0.001 to a
    score map. SiamFC is ``(255, 127)``."""
    nn = _nn()

    class SiamFC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *(nn.Conv2d(3, 96, 11, 2), nn.BatchNorm2d(96), nn.ReLU(), nn.MaxPool2d(3, 2)),
                *(nn.Conv2d(96, 256, 5, 1, groups=2), nn.BatchNorm2d(256), nn.ReLU()),
                *(nn.MaxPool2d(3, 2), nn.Conv2d(256, 384, 3), nn.BatchNorm2d(384), nn.ReLU()),
                *(nn.Conv2d(384, 384, 3, groups=2), nn.BatchNorm2d(384), nn.ReLU()),
                nn.Conv2d(384, 256, 3, groups=2),
            )

        def forward(self, x: Any) -> Any:
            z = self.features(x[:, :, :template, search:])
            return nn.functional.conv2d(self.features(x[..., :search]), z) * 0.001

    return SiamFC()


def pfld(landmarks: int) -> Any:
    """PFLD (Guo et al., 2019) face alignment on a (1, 3, 112, 112) face: a 3x3 stride-2
    conv-BN-ReLU to 64 and a 3x3 depthwise one; inverted residual blocks of MobileNetV2
    (ReLU) to 64 (5, stride 2, expansion 2), 128 (1, stride 2, expansion 2), 128 (6,
    expansion 4) and 16 (1, expansion 2) at 14 x 14; a 3x3 stride-2 conv-BN-ReLU to 32
    (7 x 7) and a valid 7x7 conv-ReLU to 128 (1 x 1); the three scales pooled and
    concatenated, a linear layer to 2 ``landmarks`` coordinates. PFLD has 98 landmarks."""
    import torch

    nn = _nn()
    blocks: list[Any] = [_cbr(3, 64, 3, 2, act=nn.ReLU), _cbr(64, 64, 3, g=64, act=nn.ReLU)]
    c = 64
    for cout, n, s, e in ((64, 5, 2, 2), (128, 1, 2, 2), (128, 6, 1, 4), (16, 1, 1, 2)):
        for i in range(n):
            blocks.append(_inverted(c, cout, 3, s if i == 0 else 1, e, nn.ReLU, None))
            c = cout

    class PFLD(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*blocks)
            self.s2 = _cbr(16, 32, 3, 2, act=nn.ReLU)
            self.s3 = nn.Sequential(nn.Conv2d(32, 128, 7), nn.ReLU())
            self.fc = nn.Linear(16 + 32 + 128, 2 * landmarks)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s1 = self.body(x)
            s2 = self.s2(s1)
            s3 = self.s3(s2)
            feats = [s1.mean((2, 3)), s2.mean((2, 3)), s3.flatten(1)]
            return self.fc(torch.cat(feats, 1))

    return PFLD()


def _warp(img: Any, flow: Any) -> Any:
    """Backward warping of ``img`` by the 2-channel pixel ``flow``: a normalised base grid
    plus the flow, bilinear grid sampling with border padding."""
    import torch

    h, w = (int(n) for n in img.shape[2:])
    ys = torch.linspace(-1.0, 1.0, h)[:, None].expand(h, w)
    xs = torch.linspace(-1.0, 1.0, w)[None, :].expand(h, w)
    base = torch.stack([xs, ys], -1)[None]
    scale = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)])
    grid = base + flow.permute(0, 2, 3, 1) * scale
    return torch.nn.functional.grid_sample(
        img, grid, mode="bilinear", padding_mode="border", align_corners=True
    )


def _ifblock(cin: int, c: int, scale: int) -> Any:
    """RIFE's IFBlock: the inputs (and the flow, divided by ``scale``) resized bilinearly
    by 1/``scale``; two 3x3 stride-2 conv-PReLUs to ``c``/2 and ``c``; eight 3x3
    conv-PReLUs with a residual; a 4x4 stride-2 transposed conv to 4 flow channels and a
    mask, resized back by ``scale`` x 2 (the flow times ``scale`` x 2)."""
    import torch

    nn = _nn()

    def conv(a: int, b: int, s: int = 1) -> list[Any]:
        """A 3x3 conv of stride ``s`` and a PReLU."""
        return [nn.Conv2d(a, b, 3, s, 1), nn.PReLU(b)]

    class IFBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv0 = nn.Sequential(*conv(cin, c // 2, 2), *conv(c // 2, c, 2))
            self.block = nn.Sequential(*[m for _ in range(8) for m in conv(c, c)])
            self.last = nn.ConvTranspose2d(c, 5, 4, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = nn.functional
            if scale != 1:
                x = f.interpolate(x, scale_factor=1.0 / scale, mode="bilinear")
            y = self.conv0(x)
            y = self.last(self.block(y) + y)
            y = f.interpolate(y, scale_factor=2.0 * scale, mode="bilinear")
            return torch.cat([y[:, :4] * (2.0 * scale), y[:, 4:]], 1)

    return IFBlock()


def rife(channels: tuple[int, int, int]) -> Any:
    """RIFE's IFNet (Huang et al., ECCV 2022) interpolating the middle frame of a (1, 6,
    h, w) pair: three IFBlocks at scales 4, 2 and 1 of ``channels`` widths, the first on
    the two frames, the later ones on the frames, both warped frames, the mask and the
    current flow, each adding its flow and mask residuals; both frames warped by the
    final flows (grid sampling) and blended by the sigmoid mask. RIFE's is ``(240, 150,
    90)``."""
    import torch

    nn = _nn()

    class IFNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(
                _ifblock(6 if i == 0 else 17, c, s)
                for i, (c, s) in enumerate(zip(channels, (4, 2, 1), strict=True))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            img0, img1 = x[:, :3], x[:, 3:]
            flow = mask = w0 = w1 = None
            for block in self.blocks:
                if flow is None:
                    fm = block(x)
                    flow, mask = fm[:, :4], fm[:, 4:]
                else:
                    inp = torch.cat([img0, img1, w0, w1, mask, flow], 1)
                    fm = block(inp)
                    flow, mask = flow + fm[:, :4], mask + fm[:, 4:]
                w0, w1 = _warp(img0, flow[:, :2]), _warp(img1, flow[:, 2:4])
            m = torch.sigmoid(torch.as_tensor(mask))
            return torch.as_tensor(w0) * m + torch.as_tensor(w1) * (1 - m)

    return IFNet()


def _lc0_block(c: int, se: int) -> Any:
    """Lc0's SE residual block: two 3x3 conv-BNs (ReLU between); squeeze-excitation (a
    board average, a linear layer to ``c``/``se`` with ReLU and one to 2 ``c``: a sigmoid
    scale and a bias per channel); the input added; ReLU."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(_cbr(c, c, 3, act=nn.ReLU), _cbr(c, c, 3))
            self.se = nn.Sequential(nn.Linear(c, c // se), nn.ReLU(), nn.Linear(c // se, 2 * c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            wb = self.se(y.mean((2, 3)))[..., None, None]
            return torch.relu(y * torch.sigmoid(wb[:, :c]) + wb[:, c:] + x)

    return Block()


def lc0(filters: int, blocks: int, se: int) -> Any:
    """Leela Chess Zero's network (AlphaZero's residual tower with squeeze-excitation) on
    (1, 112, 8, 8) input planes: a 3x3 conv-BN-ReLU to ``filters``; ``blocks`` SE residual
    blocks; the convolutional policy head (a 3x3 conv-BN-ReLU and a 3x3 conv to 80 planes,
    a fixed gather of 1858 move logits) and the WDL value head (a 1x1 conv-BN-ReLU to 32,
    a linear layer to 128 with ReLU and one to 3, softmax). The T40-era nets are ``(256,
    20, 8)``."""
    import torch

    nn = _nn()
    moves = torch.randperm(80 * 64, generator=torch.Generator().manual_seed(0))[:1858]

    class Lc0(nn.Module):
        moves: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            tower = [_lc0_block(filters, se) for _ in range(blocks)]
            self.body = nn.Sequential(_cbr(112, filters, 3, act=nn.ReLU), *tower)
            self.policy = nn.Sequential(
                _cbr(filters, filters, 3, act=nn.ReLU), nn.Conv2d(filters, 80, 3, 1, 1)
            )
            self.register_buffer("moves", moves)
            self.value = nn.Sequential(
                *(_cbr(filters, 32, 1, act=nn.ReLU), nn.Flatten(), nn.Linear(2048, 128)),
                *(nn.ReLU(), nn.Linear(128, 3), nn.Softmax(-1)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            policy = self.policy(y).flatten(1)[:, self.moves]
            return torch.cat([policy, self.value(y)], 1)

    return Lc0()


def _dft_frames(n: int, bins: int) -> tuple[Any, Any, Any, Any]:
    """The real DFT of ``n``-sample frames as matrices: forward cosines and negated sines
    (``bins`` x ``n``), and the inverse (real part of the Hermitian spectrum) as
    (``bins`` x ``n``) cosine and sine matrices."""
    import torch

    k, t = torch.arange(bins).float()[:, None], torch.arange(n).float()[None]
    ang = 2 * math.pi * k * t / n
    weight = torch.full((bins, 1), 2.0 / n)
    weight[0], weight[-1] = 1.0 / n, 1.0 / n
    return ang.cos(), -ang.sin(), ang.cos() * weight, -ang.sin() * weight


def dtln(frame: int, shift: int, hidden: int, enc: int) -> Any:
    """DTLN (Westhausen and Meyer, Interspeech 2020) real-time speech enhancement of a
    (1, samples) waveform: ``frame``-sample frames every ``shift`` samples; the first
    core on the DFT magnitudes (two LSTMs of ``hidden``, a sigmoid dense mask) masking
    the spectrum, an inverse DFT to frames; the second core on a learned 1x1 conv basis
    of ``enc`` (an instant layer norm, two LSTMs, a sigmoid mask on the un-normalised
    features), a 1x1 conv back to frames and overlap-add (a transposed conv of
    identity kernels). DTLN is ``(512, 128, 128, 256)`` at 16 kHz."""
    import torch

    nn = _nn()
    bins = frame // 2 + 1
    cos, nsin, icos, insin = _dft_frames(frame, bins)

    class DTLN(nn.Module):
        basis: torch.Tensor
        inverse: torch.Tensor
        ola: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("basis", torch.cat([cos, nsin])[:, None])
            self.register_buffer("inverse", torch.cat([icos, insin]))
            self.register_buffer("ola", torch.eye(frame)[:, None])
            self.lstm1 = nn.LSTM(bins, hidden, 2, batch_first=True)
            self.mask1 = nn.Sequential(nn.Linear(hidden, bins), nn.Sigmoid())
            self.encode = nn.Conv1d(frame, enc, 1, bias=False)
            self.norm = nn.LayerNorm(enc, eps=1e-7)
            self.lstm2 = nn.LSTM(enc, hidden, 2, batch_first=True)
            self.mask2 = nn.Sequential(nn.Linear(hidden, enc), nn.Sigmoid())
            self.decode = nn.Conv1d(enc, frame, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            spec = nn.functional.conv1d(x[:, None], self.basis, stride=shift).transpose(1, 2)
            re, im = spec[..., :bins], spec[..., bins:]
            mask = self.mask1(self.lstm1((re.pow(2) + im.pow(2) + 1e-7).sqrt())[0])
            frames = torch.cat([re * mask, im * mask], -1) @ self.inverse
            feats = self.encode(frames.transpose(1, 2)).transpose(1, 2)
            mask = self.mask2(self.lstm2(self.norm(feats))[0])
            y = self.decode((feats * mask).transpose(1, 2))
            return nn.functional.conv_transpose1d(y, self.ola, stride=shift)

    return DTLN()


def _sinusoids(n: int, d: int) -> Any:
    """The transformer's sinusoid position table, (n, d)."""
    import torch

    pos = torch.arange(n).float()[:, None]
    div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
    table = torch.zeros(n, d)
    table[:, 0::2], table[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return table


def _fft_block(d: int, heads: int, ff: int, k: int) -> Any:
    """FastSpeech's feed-forward transformer block: self-attention, residual and a layer
    norm; a conv feed-forward (a 1-D conv of kernel ``k`` to ``ff``, ReLU, a 1x1 conv
    back), residual and a layer norm."""
    import torch

    nn = _nn()

    class FFTBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn, self.n1, self.n2 = _mha(d, heads), nn.LayerNorm(d), nn.LayerNorm(d)
            self.conv = nn.Sequential(
                nn.Conv1d(d, ff, k, 1, k // 2), nn.ReLU(), nn.Conv1d(ff, d, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.attn(x, x, x))
            return self.n2(x + self.conv(x.transpose(1, 2)).transpose(1, 2))

    return FFTBlock()


def _variance_predictor(d: int) -> Any:
    """FastSpeech 2's variance predictor on (1, n, ``d``): two 1-D convs of kernel 3 with
    ReLU and a layer norm each, a linear layer to one value per position."""
    import torch

    nn = _nn()

    class Predictor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv1d(d, d, 3, 1, 1) for _ in range(2))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(2))
            self.out = nn.Linear(d, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for conv, norm in zip(self.convs, self.norms, strict=True):
                x = norm(torch.relu(conv(x.transpose(1, 2))).transpose(1, 2))
            return self.out(x)[..., 0]

    return Predictor()


def _postnet(mels: int, c: int) -> Any:
    """Tacotron 2's post-net: five 1-D convs of kernel 5 (``c`` wide, the last back to
    ``mels``) with BN, tanh between; residual."""
    nn = _nn()
    layers: list[Any] = []
    for i in range(5):
        a, b = mels if i == 0 else c, mels if i == 4 else c
        layers += [nn.Conv1d(a, b, 5, 1, 2), nn.BatchNorm1d(b)] + ([nn.Tanh()] if i < 4 else [])
    return _residual(nn.Sequential(*layers))


def fastspeech2(d: int, enc: int, dec: int, vocab: int, frames: int) -> Any:
    """FastSpeech 2 (Ren et al., ICLR 2021; the widely used open implementation's layout)
    on a (1, phonemes) sequence of phoneme ids: embeddings of ``d`` plus sinusoid
    positions; ``enc`` FFT blocks (2 heads, conv feed-forward 1024 of kernel 9); the
    variance adaptor (phoneme-level pitch and energy predictors, each quantised to 256
    bins by comparisons and embedded, added; a duration predictor whose rounded
    durations build the length regulator's frame-to-phoneme alignment matrix, padded to
    ``frames`` frames); ``dec`` FFT blocks, a linear layer to 80 mels and the post-net.
    FastSpeech 2 is ``(256, 4, 6, 361, ...)``."""
    import torch

    nn = _nn()

    class FastSpeech2(nn.Module):
        table: torch.Tensor
        bins: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Parameter(torch.randn(vocab, d) * 0.1)
            self.register_buffer("table", _sinusoids(1024, d))
            self.register_buffer("bins", torch.linspace(-2.0, 2.0, 255))
            self.encoder = nn.Sequential(*[_fft_block(d, 2, 1024, 9) for _ in range(enc)])
            self.dur, self.pitch, self.energy = (_variance_predictor(d) for _ in range(3))
            self.pitch_emb, self.energy_emb = nn.Embedding(256, d), nn.Embedding(256, d)
            self.decoder = nn.Sequential(*[_fft_block(d, 2, 1024, 9) for _ in range(dec)])
            self.mel, self.post = nn.Linear(d, 80), _postnet(80, 512)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[1]
            ids = torch.remainder((x[0].abs() * 1000).long(), vocab)
            h = self.encoder((self.embed[ids] + self.table[:n])[None])
            for pred, emb in ((self.pitch, self.pitch_emb), (self.energy, self.energy_emb)):
                h = h + emb((pred(h)[..., None] > self.bins).sum(-1))
            dur = torch.clamp(torch.round(torch.exp(self.dur(h)) - 1), min=0.0)[0]
            end = torch.cumsum(dur, 0)
            t = torch.arange(frames).float()[:, None]
            align = ((t >= end - dur) & (t < end)).float()
            y = self.decoder(align @ h + self.table[:frames])
            return self.post(self.mel(y).transpose(1, 2))

    return FastSpeech2()


def tc_resnet(widths: tuple[int, ...], classes: int) -> Any:
    """TC-ResNet8 (Choi et al., Interspeech 2019) keyword spotting on (1, 40, frames) MFCCs,
    the 40 coefficients taken as channels of a 1 x frames map: a bias-free 1x3 conv to
    ``widths[0]``; residual blocks (a 1x9 stride-2 conv-BN-ReLU, a 1x9 conv-BN; a 1x1
    stride-2 conv-BN-ReLU shortcut; ReLU) to each further width; pooling and a linear
    classifier. TC-ResNet8-1.5 is ``(24, 36, 48, 72)`` on 40 x 101 with 12 classes."""
    import torch

    nn = _nn()

    def conv_bn(a: int, b: int, k: int, s: int) -> list[Any]:
        """A bias-free 1 x ``k`` conv of time stride ``s`` and BN."""
        return [nn.Conv2d(a, b, (1, k), (1, s), (0, k // 2), bias=False), nn.BatchNorm2d(b)]

    class Block(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.body = nn.Sequential(*conv_bn(a, b, 9, 2), nn.ReLU(), *conv_bn(b, b, 9, 1))
            self.short = nn.Sequential(*conv_bn(a, b, 1, 2), nn.ReLU())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    class TCResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            blocks = [Block(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
            self.body = nn.Sequential(nn.Conv2d(40, widths[0], (1, 3), 1, (0, 1), bias=False))
            self.body.extend(blocks)
            self.fc = nn.Linear(widths[-1], classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.body(x[:, :, None]).mean((2, 3)))

    return TCResNet()


def fnet(d: int, layers: int, seq: int) -> Any:
    """FNet (Lee-Thorp et al., NAACL 2022) on (1, ``seq``, ``d``) token embeddings:
    learned positions, a layer norm and a linear projection; ``layers`` encoder layers of
    Fourier mixing (the real part of the 2-D DFT over the sequence and hidden axes, as
    constant cosine and sine matrix products), residual and a layer norm, then a GELU
    feed-forward of 4 ``d``, residual and a layer norm; a tanh pooler on the first
    token. FNet-Base is ``(768, 12, 512)``."""
    import torch

    nn = _nn()

    def dft(n: int) -> tuple[Any, Any]:
        """The ``n``-point DFT's cosine and sine matrices."""
        ang = 2 * math.pi * torch.outer(torch.arange(n).float(), torch.arange(n).float()) / n
        return ang.cos(), ang.sin()

    cs, ss = dft(seq)
    cd, sd = dft(d)

    class FNet(nn.Module):
        cs: torch.Tensor
        ss: torch.Tensor
        cd: torch.Tensor
        sd: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            for name, m in (("cs", cs), ("ss", ss), ("cd", cd), ("sd", sd)):
                self.register_buffer(name, m)
            self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
            self.embed = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d))
            self.n1 = nn.ModuleList(nn.LayerNorm(d) for _ in range(layers))
            self.n2 = nn.ModuleList(nn.LayerNorm(d) for _ in range(layers))
            self.ff = nn.ModuleList(
                nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
                for _ in range(layers)
            )
            self.pool = nn.Linear(d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x + self.pos)
            for n1, n2, ff in zip(self.n1, self.n2, self.ff, strict=True):
                mix = self.cs @ x @ self.cd - self.ss @ x @ self.sd
                x = n1(x + mix)
                x = n2(x + ff(x))
            return torch.tanh(self.pool(x[:, 0]))

    return FNet()


def _mamba2_mixer(d: int, state: int, headdim: int, seq: int) -> Any:
    """Mamba-2's mixer on (1, ``seq``, ``d``): an input projection to the gate z, x, B, C
    (one group of ``state``) and a step dt per head of ``headdim`` (inner width 2 ``d``);
    a causal depthwise 1-D conv of kernel 4 with SiLU on x, B and C; dt through softplus
    with a bias; the state-space dual form on one chunk (per head the decays' segment sums
    from a cumulative sum, exponentiated under a causal mask, times C B^T, applied to x dt)
    plus a skip D x; a gated RMSNorm (times SiLU of z) and an output projection."""
    import torch

    nn = _nn()
    inner = 2 * d
    heads, conv_dim = inner // headdim, inner + 2 * state
    causal = torch.tril(torch.ones(seq, seq, dtype=torch.bool))

    class Mixer(nn.Module):
        causal: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.in_proj = nn.Linear(d, 2 * inner + 2 * state + heads, bias=False)
            self.conv = nn.Conv1d(conv_dim, conv_dim, 4, 1, 3, groups=conv_dim)
            self.dt_bias = nn.Parameter(torch.rand(heads) - 4.0)
            self.a_log = nn.Parameter(torch.log(torch.arange(1, heads + 1).float()))
            self.skip = nn.Parameter(torch.ones(heads))
            self.register_buffer("causal", causal)
            self.norm, self.out_proj = _rms_norm(inner), nn.Linear(inner, d, bias=False)

        def forward(self, u: torch.Tensor) -> torch.Tensor:
            z, xbc, dt = torch.split(self.in_proj(u), [inner, conv_dim, heads], -1)
            xbc = nn.functional.silu(self.conv(xbc.transpose(1, 2))[..., :seq]).transpose(1, 2)
            x, b, c = torch.split(xbc[0], [inner, state, state], -1)
            dt = nn.functional.softplus(dt[0] + self.dt_bias).transpose(0, 1)
            cs = torch.cumsum(dt * -torch.exp(self.a_log)[:, None], -1)
            seg = (cs[:, :, None] - cs[:, None, :]).masked_fill(~self.causal, float("-inf"))
            xh = x.reshape(seq, heads, headdim).transpose(0, 1)
            y = ((c @ b.transpose(0, 1)) * torch.exp(seg)) @ (xh * dt[..., None])
            y = (y + xh * self.skip[:, None, None]).transpose(0, 1).reshape(1, seq, inner)
            return self.out_proj(self.norm(y * nn.functional.silu(z)))

    return Mixer()


def mamba2(d: int, layers: int, state: int, seq: int, vocab: int) -> Any:
    """A Mamba-2 language model (Dao and Gu, ICML 2024) prefilling (1, ``seq``, ``d``)
    token embeddings: ``layers`` pre-norm residual Mamba-2 mixers (RMSNorm; heads of 64;
    ``seq`` within one chunk), a final RMSNorm and a vocabulary head over every position.
    Mamba-2-130M is ``(768, 24, 128, ..., 50280)``."""
    nn = _nn()
    blocks = [
        _residual(nn.Sequential(_rms_norm(d), _mamba2_mixer(d, state, 64, seq)))
        for _ in range(layers)
    ]
    return nn.Sequential(*blocks, _rms_norm(d), nn.Linear(d, vocab, bias=False))


def _rwkv_layer(d: int) -> Any:
    """One RWKV-4 layer's recurrent step on a (1, ``d``) token and its five (1, ``d``)
    states (the previous token before time mixing, the WKV numerator, denominator and
    running maximum, the previous token before channel mixing): time mixing (token-shift
    interpolations to k, v and r, the numerically stable WKV with time-first and decay
    weights, a sigmoid receptance, an output projection) and channel mixing (squared ReLU
    key of 4 ``d``, a sigmoid receptance), each after a layer norm, residual."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mix = nn.Parameter(torch.rand(5, d))
            self.first, self.decay = nn.Parameter(torch.randn(d)), nn.Parameter(torch.randn(d))
            self.k, self.v = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
            self.r, self.o = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
            self.fk, self.fv = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)
            self.fr = nn.Linear(d, d, bias=False)

        def forward(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            m, (prev, aa, bb, pp, fprev) = self.mix, s.unbind(0)
            h = self.ln1(x)
            k = self.k(h * m[0] + prev * (1 - m[0]))
            v = self.v(h * m[1] + prev * (1 - m[1]))
            r = torch.sigmoid(self.r(h * m[2] + prev * (1 - m[2])))
            ww = self.first + k
            p = torch.maximum(pp, ww)
            e1, e2 = torch.exp(pp - p), torch.exp(ww - p)
            x = x + self.o(r * (e1 * aa + e2 * v) / (e1 * bb + e2))
            ww = pp - torch.exp(self.decay)
            p = torch.maximum(ww, k)
            e1, e2 = torch.exp(ww - p), torch.exp(k - p)
            f = self.ln2(x)
            fk = torch.relu(self.fk(f * m[3] + fprev * (1 - m[3]))).pow(2)
            x = x + torch.sigmoid(self.fr(f * m[4] + fprev * (1 - m[4]))) * self.fv(fk)
            return x, torch.stack([h, e1 * aa + e2 * v, e1 * bb + e2, p, f])

    return Layer()


def rwkv4_step(d: int, layers: int, vocab: int) -> Any:
    """One decoding step of an RWKV-4 language model (Peng et al., Findings of EMNLP 2023)
    in its recurrent form, on (1, 1 + 5 ``layers``, ``d``): the token's embedding and every
    layer's five states; an input layer norm, ``layers`` RWKV layers, a final layer norm
    and the vocabulary head; the logits and the new states out. RWKV-4-169M is ``(768,
    12, 50277)``."""
    import torch

    nn = _nn()

    class RWKV(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln0, self.ln_out = nn.LayerNorm(d), nn.LayerNorm(d)
            self.blocks = nn.ModuleList(_rwkv_layer(d) for _ in range(layers))
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, states = self.ln0(x[:, :1]), []
            for i, block in enumerate(self.blocks):
                h, s = block(h, x[0, 1 + 5 * i : 6 + 5 * i, None])
                states.append(s.flatten())
            return torch.cat([self.head(self.ln_out(h)).flatten(), *states])[None]

    return RWKV()


def _nbeats_block(back: int, fore: int, width: int, basis: Any) -> Any:
    """An interpretable N-BEATS block: four ReLU linear layers of ``width``, a linear
    layer to the expansion coefficients of backcast and forecast, each expanded in the
    fixed ``basis`` (rows over ``back`` + ``fore`` steps); (backcast, forecast)."""
    import torch

    nn = _nn()
    p = basis.shape[0]

    class Block(nn.Module):
        basis: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            sizes = (back, width, width, width)
            self.fc = nn.Sequential(*[m for a in sizes for m in (nn.Linear(a, width), nn.ReLU())])
            self.theta = nn.Linear(width, 2 * p, bias=False)
            self.register_buffer("basis", basis)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            t = self.theta(self.fc(x))
            return t[:, :p] @ self.basis[:, :back], t[:, p:] @ self.basis[:, back:]

    return Block()


def nbeats(horizon: int, lookback: int, degree: int, widths: tuple[int, int]) -> Any:
    """N-BEATS-I (Oreshkin et al., ICLR 2020) forecasting ``horizon`` steps of a (1,
    ``lookback``) series: a trend stack (polynomials up to ``degree``) and a seasonality
    stack (Fourier harmonics up to ``horizon``/2 - 1) of three blocks each, weights shared
    within a stack, blocks of ``widths`` (trend, seasonality); each block's backcast
    subtracted from the residual series and its forecast summed. M4-style is ``(..., 3,
    (256, 2048))`` with a lookback of 2 to 7 horizons."""
    import torch

    nn = _nn()
    t = torch.cat([torch.arange(lookback) - lookback, torch.arange(horizon)]).float() / horizon
    trend = torch.stack([t**i for i in range(degree + 1)])
    harm = torch.arange(1, horizon // 2).float()[:, None] * 2 * math.pi * t[None]
    season = torch.cat([torch.ones(1, t.numel()), harm.cos(), harm.sin()])

    class NBeats(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trend = _nbeats_block(lookback, horizon, widths[0], trend)
            self.season = _nbeats_block(lookback, horizon, widths[1], season)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(1, horizon)
            for block in (self.trend,) * 3 + (self.season,) * 3:
                back, fore = block(x)
                x, out = x - back, out + fore
            return out

    return NBeats()


def _farthest_points(xyz: Any, count: int) -> Any:
    """Farthest point sampling of ``count`` of the (n, 3) points, from the first one: each
    next point the one farthest from those chosen (the loop unrolled); their indices."""
    import torch

    dist = torch.full(xyz.shape[:1], 1e10)
    far, chosen = torch.zeros((), dtype=torch.long), []
    for _ in range(count):
        chosen.append(far)
        dist = torch.minimum(dist, (xyz - xyz[far]).pow(2).sum(-1))
        far = dist.argmax()
    return torch.stack(chosen)


def _set_abstraction(cin: int, widths: tuple[int, ...], points: int, radius: float, k: int) -> Any:
    """PointNet++'s set abstraction level on (n, 3) points and (n, ``cin``) features:
    ``points`` centroids by farthest point sampling; a ball query (the first ``k`` points
    within ``radius`` by index, the first repeated when fewer; by a top-k of masked
    indices); each group's offsets and features through shared 1x1 conv-BN-ReLUs of
    ``widths``, max-pooled over the group; (centroids, features)."""
    import torch

    nn = _nn()

    class SA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (cin + 3, *widths)
            self.mlp = nn.Sequential(
                *(_cbr(a, b, 1, act=nn.ReLU) for a, b in zip(chans[:-1], chans[1:], strict=True))
            )

        def forward(self, xyz: torch.Tensor, feats: torch.Tensor) -> tuple[Any, Any]:
            n = xyz.shape[0]
            centers = xyz[_farthest_points(xyz, points)]
            sq = (centers[:, None] - xyz[None]).pow(2).sum(-1)
            idx = torch.arange(n).float()[None].expand(points, n)
            idx = torch.where(sq > radius**2, torch.full_like(idx, float(n)), idx)
            idx = torch.topk(idx, k, -1, largest=False)[0]
            idx = torch.where(idx == n, idx[:, :1], idx).long()
            grouped = torch.cat([xyz[idx] - centers[:, None], feats[idx]], -1)
            return centers, self.mlp(grouped.permute(2, 0, 1)[None]).amax(-1)[0].transpose(0, 1)

    return SA()


def pointnet2(classes: int) -> Any:
    """PointNet++ SSG classification (Qi et al., NeurIPS 2017) on (1, 3, points): set
    abstraction to 512 centroids (radius 0.2, 32 neighbours, 64-64-128) and to 128
    (radius 0.4, 64 neighbours, 128-128-256) with the coordinates as first features; a
    global level (offsets from the origin and features, 256-512-1024, max pool); an MLP
    512-256 (BN, ReLU) to ``classes``. ModelNet40 has 40 classes on 1024 points."""
    import torch

    nn = _nn()

    class PointNet2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sa1 = _set_abstraction(3, (64, 64, 128), 512, 0.2, 32)
            self.sa2 = _set_abstraction(128, (128, 128, 256), 128, 0.4, 64)
            chans = (259, 256, 512, 1024)
            self.sa3 = nn.Sequential(
                *(_cbr(a, b, 1, act=nn.ReLU) for a, b in zip(chans[:-1], chans[1:], strict=True))
            )
            self.head = nn.Sequential(
                *(nn.Linear(1024, 512), nn.BatchNorm1d(512), nn.ReLU()),
                *(nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, classes)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xyz = x[0].transpose(0, 1)
            xyz, feats = self.sa1(xyz, xyz)
            xyz, feats = self.sa2(xyz, feats)
            g = torch.cat([xyz, feats], -1).transpose(0, 1)[None, :, :, None]
            return self.head(self.sa3(g).amax((2, 3)))

    return PointNet2()


def pix2pix(ngf: int, levels: int) -> Any:
    """pix2pix's U-Net generator (Isola et al., CVPR 2017) on a (1, 3, 2^``levels``,
    2^``levels``) image: ``levels`` 4x4 stride-2 convs down (LeakyReLU 0.2 before all but
    the first, BN after all but the first and innermost) of ``ngf`` x 1, 2, 4, then 8;
    4x4 stride-2 transposed convs up (ReLU before, BN after), each output concatenated
    with the mirrored down output; the outermost to 3 channels with tanh. U-Net-256 is
    ``(64, 8)``."""
    import torch

    nn = _nn()
    enc = [ngf * min(2**i, 8) for i in range(levels)]

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.ModuleList([nn.Conv2d(3, ngf, 4, 2, 1)])
            for i in range(1, levels):
                conv = nn.Conv2d(enc[i - 1], enc[i], 4, 2, 1, bias=False)
                norm = [nn.BatchNorm2d(enc[i])] if i < levels - 1 else []
                self.down.append(nn.Sequential(nn.LeakyReLU(0.2), conv, *norm))
            self.up = nn.ModuleList()
            for i in range(levels - 1, 0, -1):
                cin = enc[i] * (1 if i == levels - 1 else 2)
                conv = nn.ConvTranspose2d(cin, enc[i - 1], 4, 2, 1, bias=False)
                self.up.append(nn.Sequential(nn.ReLU(), conv, nn.BatchNorm2d(enc[i - 1])))
            last = nn.ConvTranspose2d(2 * ngf, 3, 4, 2, 1)
            self.up.append(nn.Sequential(nn.ReLU(), last, nn.Tanh()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for down in self.down:
                x = down(x)
                feats.append(x)
            for i, up in enumerate(self.up):
                x = up(x)
                x = torch.cat([feats[-2 - i], x], 1) if i < levels - 1 else x
            return x

    return UNet()


def _vq_residuals(h: int, r: int, n: int) -> Any:
    """VQ-VAE's residual stack: ``n`` blocks (ReLU, a 3x3 conv to ``r``, ReLU, a 1x1 conv
    back to ``h``; residual), then ReLU."""
    nn = _nn()
    blocks = [
        _residual(
            nn.Sequential(
                *(nn.ReLU(), nn.Conv2d(h, r, 3, 1, 1, bias=False), nn.ReLU()),
                nn.Conv2d(r, h, 1, bias=False),
            )
        )
        for _ in range(n)
    ]
    return nn.Sequential(*blocks, nn.ReLU())


def vqvae(h: int, r: int, codes: int, dim: int) -> Any:
    """VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, NeurIPS 2017; DeepMind's released
    example) reconstructing an image: an encoder of two 4x4 stride-2 convs (to ``h``/2 and
    ``h``, ReLU), a 3x3 conv and a residual stack of two blocks (``r`` wide), a 1x1 conv
    to ``dim``; quantisation to the nearest of ``codes`` codebook vectors (squared
    distances by a matmul, argmin, a gather); a decoder of a 3x3 conv, a residual stack
    and two 4x4 stride-2 transposed convs. The example's is ``(128, 32, 512, 64)``."""
    import torch

    nn = _nn()

    class VQVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(
                *(nn.Conv2d(3, h // 2, 4, 2, 1), nn.ReLU(), nn.Conv2d(h // 2, h, 4, 2, 1)),
                *(nn.ReLU(), nn.Conv2d(h, h, 3, 1, 1), _vq_residuals(h, r, 2)),
                nn.Conv2d(h, dim, 1),
            )
            self.codebook = nn.Parameter(torch.randn(codes, dim))
            self.decoder = nn.Sequential(
                *(nn.Conv2d(dim, h, 3, 1, 1), _vq_residuals(h, r, 2)),
                *(nn.ConvTranspose2d(h, h // 2, 4, 2, 1), nn.ReLU()),
                nn.ConvTranspose2d(h // 2, 3, 4, 2, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.encoder(x)
            _, c, hh, ww = z.shape
            flat = z.flatten(2)[0].transpose(0, 1)
            e = self.codebook
            dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
            q = e[dist.argmin(1)].transpose(0, 1).reshape(1, c, hh, ww)
            return self.decoder(q)

    return VQVAE()


def _spectral_conv(c: int, modes: int, n: int) -> Any:
    """The Fourier neural operator's spectral convolution on a (1, ``c``, ``n``, ``n``)
    field: the real 2-D DFT kept at ``modes`` positive column frequencies and ``modes``
    lowest positive and negative row frequencies (constant cosine and sine matrix
    products), multiplied per mode by complex ``c`` x ``c`` weights (einsums of their real
    and imaginary parts), and the inverse real DFT back to the grid."""
    import torch

    nn = _nn()
    rows = torch.cat([torch.arange(modes), torch.arange(n - modes, n)]).float()
    pos = torch.arange(n).float()
    wa = 2 * math.pi * pos[:, None] * torch.arange(modes).float()[None] / n
    ha = 2 * math.pi * rows[:, None] * pos[None] / n
    scale = torch.full((modes, 1), 2.0 / (n * n))
    scale[0] = 1.0 / (n * n)
    mats = {"cw": wa.cos(), "sw": wa.sin(), "ch": ha.cos(), "sh": ha.sin()}
    mats |= {"icw": wa.cos().t() * scale, "isw": wa.sin().t() * scale}

    class SpectralConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for name, m in mats.items():
                self.register_buffer(name, m)
            self.wr = nn.Parameter(torch.rand(c, c, 2 * modes, modes) / (c * c))
            self.wi = nn.Parameter(torch.rand(c, c, 2 * modes, modes) / (c * c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b = dict(self.named_buffers())
            ar, ai = x @ b["cw"], -(x @ b["sw"])
            br, bi = b["ch"] @ ar + b["sh"] @ ai, b["ch"] @ ai - b["sh"] @ ar
            e = partial(torch.einsum, "bixy,ioxy->boxy")
            o_r, o_i = e(br, self.wr) - e(bi, self.wi), e(br, self.wi) + e(bi, self.wr)
            chi, shi = b["ch"].t(), b["sh"].t()
            gr, gi = chi @ o_r - shi @ o_i, chi @ o_i + shi @ o_r
            return gr @ b["icw"] - gi @ b["isw"]

    return SpectralConv()


def fno2d(modes: int, width: int, layers: int, side: int, pad: int) -> Any:
    """A 2-D Fourier neural operator (Li et al., ICLR 2021; the Darcy-flow script) on a
    (1, ``side``, ``side``, 1) coefficient field: the grid coordinates appended, a linear
    lift to ``width``, the field zero-padded by ``pad``; ``layers`` Fourier layers (a
    spectral conv of ``modes`` plus a 1x1 conv, GELU but after the last); the padding
    cropped, a linear layer to 128 with GELU and one to the solution. The Darcy script is
    ``(12, 32, 4, 85, 9)``."""
    import torch

    nn = _nn()
    n = side + pad
    g = torch.linspace(0.0, 1.0, side)
    grid = torch.stack([g[:, None].expand(side, side), g[None].expand(side, side)], -1)[None]

    class FNO(nn.Module):
        grid: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("grid", grid)
            self.lift = nn.Linear(3, width)
            self.spectral = nn.ModuleList(_spectral_conv(width, modes, n) for _ in range(layers))
            self.w = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(layers))
            self.proj = nn.Sequential(nn.Linear(width, 128), nn.GELU(), nn.Linear(128, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.lift(torch.cat([x, self.grid], -1)).permute(0, 3, 1, 2)
            y = nn.functional.pad(y, (0, pad, 0, pad))
            for i, (spec, w) in enumerate(zip(self.spectral, self.w, strict=True)):
                y = spec(y) + w(y)
                y = nn.functional.gelu(y) if i < layers - 1 else y
            return self.proj(y[..., :side, :side].permute(0, 2, 3, 1))

    return FNO()


def deepfm(fields: int, rows: int, k: int, hidden: tuple[int, ...]) -> Any:
    """DeepFM (Guo et al., IJCAI 2017) scoring a (1, candidates, ``fields``) batch of
    categorical ids (read like ids, hashed to ``rows`` per field): first-order weights
    and ``k``-wide embeddings gathered from one table; the factorisation machine's
    pairwise term (half the square of the summed embeddings minus the summed squares);
    the concatenated embeddings through a ReLU MLP of ``hidden``; their sum through a
    sigmoid. The Criteo setting is ``(39, ..., 10, (400, 400, 400))``."""
    import torch

    nn = _nn()
    offsets = torch.arange(fields) * rows

    class DeepFM(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("offsets", offsets)
            self.w = nn.Parameter(torch.randn(fields * rows) * 0.01)
            self.emb = nn.Parameter(torch.randn(fields * rows, k) * 0.01)
            sizes = (fields * k, *hidden)
            pairs = zip(sizes[:-1], sizes[1:], strict=True)
            mlp = [m for a, b in pairs for m in (nn.Linear(a, b), nn.ReLU())]
            self.mlp = nn.Sequential(*mlp, nn.Linear(hidden[-1], 1))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = torch.remainder((x[0].abs() * 1000).long(), rows) + self.offsets
            e = self.emb[ids]
            fm = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)
            y = self.w[ids].sum(1) + fm + self.mlp(e.flatten(1))[:, 0] + self.bias
            return torch.sigmoid(y)[None]

    return DeepFM()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    return [
        (
            "fasternet",
            "fasternet_t0_224",
            partial(fasternet, (40, 80, 160, 320), (1, 2, 8, 2)),
            _image(224),
        ),
        ("starnet", "starnet_s1_224", partial(starnet, 24, (2, 2, 8, 3)), _image(224)),
        ("detr", "detr_r18_192x256", partial(detr, 6, 100, 91, 192, 256), _image(192, 256)),
        (
            "ppliteseg",
            "pp_liteseg_t_stdc1_256x512",
            partial(pp_liteseg, (32, 64, 128), 19),
            _image(256, 512),
        ),
        ("siamfc", "siamfc_alexnet_255_127", partial(siamfc, 255, 127), (1, 3, 255, 382)),
        ("pfld", "pfld_98_112", partial(pfld, 98), _image(112)),
        ("rife", "rife_ifnet_128x224", partial(rife, (240, 150, 90)), (1, 6, 128, 224)),
        ("lc0", "lc0_se_20x256", partial(lc0, 256, 20, 8), (1, 112, 8, 8)),
        ("dtln", "dtln_16k_1s", partial(dtln, 512, 128, 128, 256), (1, 16000)),
        (
            "fastspeech2",
            "fastspeech2_p48_f256",
            partial(fastspeech2, 256, 4, 6, 361, 256),
            (1, 48),
        ),
        (
            "tcresnet",
            "tc_resnet8_x1.5_40x101",
            partial(tc_resnet, (24, 36, 48, 72), 12),
            (1, 40, 101),
        ),
        ("fnet", "fnet_d512_l8_s128", partial(fnet, 512, 8, 128), (1, 128, 512)),
        (
            "mamba2",
            "mamba2_d256_l8_s128",
            partial(mamba2, 256, 8, 128, 128, 50280),
            (1, 128, 256),
        ),
        ("rwkv", "rwkv4_d512_l8_step", partial(rwkv4_step, 512, 8, 50277), (1, 41, 512)),
        ("nbeats", "nbeats_i_h48_l336", partial(nbeats, 48, 336, 3, (256, 2048)), (1, 336)),
        ("pointnet2", "pointnet2_ssg_cls40_1024", partial(pointnet2, 40), (1, 3, 1024)),
        ("pix2pix", "pix2pix_unet256_ngf32", partial(pix2pix, 32, 8), _image(256)),
        ("vqvae", "vqvae_h128_k512_128", partial(vqvae, 128, 32, 512, 64), _image(128)),
        ("fno", "fno2d_darcy_85", partial(fno2d, 12, 32, 4, 85, 9), (1, 85, 85, 1)),
        (
            "deepfm",
            "deepfm_criteo_256cands",
            partial(deepfm, 39, 10000, 10, (400, 400, 400)),
            (1, 256, 39),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet34_w16_64x320",
            partial(resnet, (3, 4, 6, 3), 16, False),
            _image(64, 320),
        ),
        (
            "mobilenetv2",
            "mbv2_x1.4_160x224",
            partial(mobilenet, _MBV2, 1.4, False),
            _image(160, 224),
        ),
        ("mobilenetv3", "mbv3_x0.5_32", partial(mobilenet, _MBV3, 0.5, True), _image(32)),
        ("efficientnet", "effnet_b3_300", partial(efficientnet, 1.2, 1.4), _image(300)),
        (
            "vit",
            "vit_b_p32_224",
            partial(vit_rect, 224, 224, 32, 768, 12, 12),
            _image(224),
        ),
        ("text", "bert_d64_l2_s16", partial(text_encoder, 64, 2, 2), (1, 16, 64)),
        ("gpt", "gpt_d512_l6_s32", partial(gpt, 512, 8, 6, 32, 8000), (1, 32, 512)),
        ("conformer", "conformer_d64_t1000", partial(conformer, 64, 4, 4, 31), (1, 1000, 64)),
        (
            "swin",
            "swin_d32_w7_224",
            partial(swin, 224, 32, (2, 2, 6, 2), (1, 2, 4, 8), 7),
            _image(224),
        ),
        ("yolo", "yolov8n_csp_w16_384x640", partial(yolo_csp, 16, (1, 2, 2, 1)), _image(384, 640)),
        (
            "llama",
            "llama_d256_l4_gqa2_s256",
            partial(llama, 256, 8, 2, 4, 688, 256, 32000),
            (1, 256, 256),
        ),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the eleventh zoo."""
    return _new_families() + _known_families()
