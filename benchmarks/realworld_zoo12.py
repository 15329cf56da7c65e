"""A twelfth held-out zoo of real-world architectures (plain torch), written after the
eleventh zoo (benchmarks/realworld_zoo11.py), before any prediction of it.

Like the second to eleventh, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. About two
thirds of it is families none of the eleven earlier zoos has, across tasks: ResNeSt's
split attention, MaxViT's MBConvs with block and grid attention and VAN's large kernel
attention (classification), FCOS's anchor-free FPN head with group norms (detection),
Attention U-Net's additive attention gates and deep supervision (medical segmentation),
CapsNet's routing by agreement (digits), LPRNet's channel-pooling blocks and global
context (licence-plate recognition), RAFT-small's all-pairs correlation pyramid, grid
sampled lookups and convolutional GRU iterations (optical flow), SuperGlue's attentional
graph network and log-domain Sinkhorn (feature matching), Demucs v2's GLU conv U-Net
around a BiLSTM (music source separation), EnCodec's SEANet codec with residual vector
quantisation (neural audio coding), Kim's multichannel TextCNN (text classification),
DeBERTa-v3's disentangled attention with gathered relative scores (text), RetNet's
parallel multi-scale retention (text), a Switch Transformer's capacity-limited top-1
expert routing by dispatch and combine einsums (text), the Temporal Fusion Transformer's
variable selection, LSTM encoder-decoder and interpretable attention (time-series
forecasting), EGNN's E(n)-equivariant message passing with coordinate updates
(molecules), AlphaFold 2's Evoformer with triangle updates and triangle attention
(scientific, protein structure), SASRec's causal self-attention over item histories
(sequential recommendation), TabNet's sparsemax attentive feature selection (tabular),
DiT's adaLN-Zero diffusion transformer (generative) and Glow's actnorm, LU-decomposed
invertible 1x1 convs and affine couplings (generative, normalising flow); the other
part is the earlier zoos' families at widths, depths, sequence lengths and input shapes
none of them has (some non-square, two tiny, some large). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV2,
    Builder,
    _cbr,
    _nn,
    convnext,
    efficientnet,
    mobilenet,
    resnet,
    text_encoder,
)
from realworld_zoo3 import _image, conformer, gpt, vit_rect
from realworld_zoo9 import _residual, _rms_norm
from realworld_zoo11 import fasternet, mamba2


def _split_attention(c: int, radix: int, attn: int) -> Any:
    """ResNeSt's split-attention 3x3 conv: a grouped conv-BN-ReLU to ``radix`` splits of
    ``c`` channels, their sum pooled and through a 1x1 conv-BN-ReLU to ``attn`` and a 1x1
    conv back to ``radix`` ``c``; a softmax over the splits (the r-softmax) weighting
    their sum."""
    import torch

    nn = _nn()

    class SplitAttn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = _cbr(c, c * radix, 3, g=radix, act=nn.ReLU)
            self.fc1 = nn.Sequential(
                nn.Conv2d(c, attn, 1),
                nn.BatchNorm2d(attn),
                nn.ReLU(),
                nn.Conv2d(attn, c * radix, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x)
            b, _, h, w = x.shape
            splits = x.reshape(b, radix, c, h, w)
            gap = splits.sum(1).mean((2, 3), keepdim=True)
            a = torch.softmax(self.fc1(gap).reshape(b, radix, c, 1, 1), 1)
            return (splits * a).sum(1)

    return SplitAttn()


def _resnest_block(cin: int, planes: int, s: int) -> Any:
    """ResNeSt's bottleneck (radix 2, cardinality 1, "avd" down-sampling last): a 1x1
    conv-BN-ReLU to ``planes``, the split-attention conv, a 3x3 stride-``s`` average pool
    when ``s`` is 2, a 1x1 conv-BN to 4 ``planes``; the ResNet-D shortcut (a 2x2 average
    pool when strided, a 1x1 conv-BN) when the shape changes; ReLU after the sum."""
    import torch

    nn = _nn()
    attn = max(planes * 2 // 4, 32)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = [_cbr(cin, planes, 1, act=nn.ReLU), _split_attention(planes, 2, attn)]
            body += [nn.AvgPool2d(3, s, 1)] if s > 1 else []
            self.body = nn.Sequential(*body, _cbr(planes, 4 * planes, 1))
            short = [nn.AvgPool2d(s, s, ceil_mode=True, count_include_pad=False)] if s > 1 else []
            same = s == 1 and cin == 4 * planes
            self.short = nn.Identity() if same else nn.Sequential(*short, _cbr(cin, 4 * planes, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    return Block()


def resnest(depths: tuple[int, ...], stem: int) -> Any:
    """ResNeSt-D (Zhang et al., CVPR Workshops 2022) classification: the deep stem (3x3
    conv-BN-ReLUs to ``stem``, ``stem`` and 2 ``stem``, the first of stride 2; a 3x3
    stride-2 max pool); four stages of ``depths[i]`` split-attention bottlenecks of 64 x
    1, 2, 4, 8 planes; pooling and a classifier. ResNeSt-26d is ``((2, 2, 2, 2), 32)``,
    ResNeSt-50d ``((3, 4, 6, 3), 32)``."""
    nn = _nn()
    layers: list[Any] = [
        *(_cbr(3, stem, 3, 2, act=nn.ReLU), _cbr(stem, stem, 3, act=nn.ReLU)),
        *(_cbr(stem, 2 * stem, 3, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)),
    ]
    c = 2 * stem
    for i, n in enumerate(depths):
        for j in range(n):
            layers.append(_resnest_block(c, 64 * 2**i, 2 if (j == 0 and i > 0) else 1))
            c = 256 * 2**i
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000))


def _relative_index(p: int) -> Any:
    """The (``p``^2, ``p``^2) indices into a ((2 ``p`` - 1)^2)-row table of relative
    position biases between the cells of a ``p`` x ``p`` window."""
    import torch

    ys, xs = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    coords = torch.stack([ys.flatten(), xs.flatten()])
    rel = coords[:, :, None] - coords[:, None, :] + p - 1
    return rel[0] * (2 * p - 1) + rel[1]


def _maxvit_attention(d: int, p: int, grid: bool) -> Any:
    """MaxViT's block or grid attention on a (1, h, w, ``d``) map: a layer norm; the map
    cut into non-overlapping ``p`` x ``p`` windows (block) or into a ``p`` x ``p`` grid of
    cells ``h``/``p`` apart (grid); multi-head self-attention of heads of 32 within each
    with a learned relative position bias; merged back, residual; a layer norm and a GELU
    MLP of 4 ``d``, residual."""
    import torch

    nn = _nn()
    heads = d // 32

    class Attention(nn.Module):
        index: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.table = nn.Parameter(torch.randn(heads, (2 * p - 1) ** 2) * 0.02)
            self.register_buffer("index", _relative_index(p))
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            _, h, w, _ = x.shape
            y = self.n1(x)
            if grid:
                y = y.reshape(1, p, h // p, p, w // p, d).permute(0, 2, 4, 1, 3, 5)
            else:
                y = y.reshape(1, h // p, p, w // p, p, d).permute(0, 1, 3, 2, 4, 5)
            n = (h // p) * (w // p)
            q, k, v = self.qkv(y.reshape(n, p * p, d)).reshape(n, p * p, 3, heads, 32).unbind(2)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            s = q @ k.transpose(-1, -2) * 32**-0.5 + self.table[:, self.index]
            y = self.proj((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(n, p * p, d))
            y = y.reshape(1, h // p, w // p, p, p, d)
            if grid:
                y = y.permute(0, 3, 1, 4, 2, 5)
            else:
                y = y.permute(0, 1, 3, 2, 4, 5)
            x = x + y.reshape(1, h, w, d)
            return x + self.mlp(self.n2(x))

    return Attention()


def _maxvit_block(cin: int, d: int, s: int, p: int) -> Any:
    """A MaxViT block: an MBConv (BN first; a 1x1 conv-BN-GELU to 4 ``d``, a 3x3 depthwise
    conv-BN-GELU of stride ``s``, squeeze-excitation to ``d``/4 with SiLU, a 1x1 conv;
    residual, by a 2x2 average pool and a 1x1 conv when strided), then block attention
    and grid attention in windows and grids of ``p``."""
    import torch

    nn = _nn()
    mid = 4 * d

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mb = nn.Sequential(
                *(nn.BatchNorm2d(cin), _cbr(cin, mid, 1, act=nn.GELU)),
                _cbr(mid, mid, 3, s, g=mid, act=nn.GELU),
            )
            self.se = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, d // 4, 1), nn.SiLU()),
                *(nn.Conv2d(d // 4, mid, 1), nn.Sigmoid()),
            )
            self.out = nn.Conv2d(mid, d, 1)
            strided = s > 1 or cin != d
            self.short = (
                nn.Sequential(nn.AvgPool2d(s, s), nn.Conv2d(cin, d, 1))
                if strided
                else nn.Identity()
            )
            self.block, self.grid = _maxvit_attention(d, p, False), _maxvit_attention(d, p, True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.mb(x)
            y = self.out(y * self.se(y)) + self.short(x)
            y = self.grid(self.block(y.permute(0, 2, 3, 1)))
            return y.permute(0, 3, 1, 2)

    return Block()


def maxvit(dims: tuple[int, ...], depths: tuple[int, ...], stem: int, p: int) -> Any:
    """MaxViT (Tu et al., ECCV 2022) classification: a stem of two 3x3 conv-BNs to
    ``stem`` (the first of stride 2, GELU between); four stages of ``depths[i]`` MaxViT
    blocks of ``dims[i]``, the first of each stage of stride 2; pooling, a layer norm and
    a classifier. MaxViT-T is ``((64, 128, 256, 512), (2, 2, 5, 2), 64, 7)`` at 224;
    the smallest ("pico") widths are ``(32, 64, 128, 256)``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, stem, 3, 2, act=nn.GELU), nn.Conv2d(stem, stem, 3, 1, 1)]
    c = stem
    for d, n in zip(dims, depths, strict=True):
        for j in range(n):
            layers.append(_maxvit_block(c, d, 2 if j == 0 else 1, p))
            c = d
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(c), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def _van_block(d: int, ratio: int) -> Any:
    """VAN's block: BN, a 1x1 conv, GELU, large kernel attention (a 5x5 depthwise conv, a
    7x7 depthwise conv of dilation 3 and a 1x1 conv, multiplying its input), a 1x1 conv
    and the BN's input added, scaled and residual; BN, an MLP (a 1x1 conv to ``ratio``
    ``d``, a 3x3 depthwise conv, GELU, a 1x1 conv back), scaled and residual."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.BatchNorm2d(d), nn.BatchNorm2d(d)
            self.proj1, self.proj2 = nn.Conv2d(d, d, 1), nn.Conv2d(d, d, 1)
            self.lka = nn.Sequential(
                nn.Conv2d(d, d, 5, 1, 2, groups=d),
                nn.Conv2d(d, d, 7, 1, 9, dilation=3, groups=d),
                nn.Conv2d(d, d, 1),
            )
            h = ratio * d
            self.mlp = nn.Sequential(
                *(nn.Conv2d(d, h, 1), nn.Conv2d(h, h, 3, 1, 1, groups=h)),
                *(nn.GELU(), nn.Conv2d(h, d, 1)),
            )
            self.ls1 = nn.Parameter(torch.full((d, 1, 1), 1e-2))
            self.ls2 = nn.Parameter(torch.full((d, 1, 1), 1e-2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.n1(x)
            u = nn.functional.gelu(self.proj1(y))
            x = x + self.ls1 * (self.proj2(u * self.lka(u)) + y)
            return x + self.ls2 * self.mlp(self.n2(x))

    return Block()


def van(dims: tuple[int, ...], depths: tuple[int, ...], ratios: tuple[int, ...]) -> Any:
    """VAN, the Visual Attention Network (Guo et al., CVMJ 2023) classification: four
    stages, each an overlapping patch embedding (a 7x7 stride-4 conv, then 3x3 stride-2
    ones, BN), ``depths[i]`` large-kernel-attention blocks and a layer norm over the
    channels; pooling and a classifier. VAN-B0 is ``((32, 64, 160, 256), (3, 3, 5, 2),
    (8, 8, 4, 4))``."""
    import torch

    nn = _nn()

    class ChannelNorm(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.n = nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.n(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    layers: list[Any] = []
    c = 3
    for i, (d, n, r) in enumerate(zip(dims, depths, ratios, strict=True)):
        k, s = (7, 4) if i == 0 else (3, 2)
        layers += [nn.Conv2d(c, d, k, s, k // 2), nn.BatchNorm2d(d)]
        layers += [_van_block(d, r) for _ in range(n)] + [ChannelNorm(d)]
        c = d
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def fcos(width: int, neck: int, classes: int) -> Any:
    """FCOS (Tian et al., ICCV 2019) anchor-free detection on a ResNet-18 of ``width``:
    an FPN of ``neck`` channels (1x1 laterals on C3-C5, nearest top-down sums, 3x3
    output convs; P6 and P7 by 3x3 stride-2 convs on P5 and on ReLU(P6)); a head shared
    over the five levels (a classification and a regression tower of four 3x3
    conv-GroupNorm(32)-ReLUs; a 3x3 conv to ``classes`` logits, one to 4 distances,
    scaled per level and through ReLU, and a centerness conv on the regression tower);
    all levels' outputs flattened and concatenated. FCOS-R50 is ResNet-50, 256, 80."""
    import torch

    nn = _nn()

    def tower() -> Any:
        """Four 3x3 conv-GN-ReLUs."""
        convs = [(nn.Conv2d(neck, neck, 3, 1, 1), nn.GroupNorm(32, neck), nn.ReLU())]
        return nn.Sequential(*[m for _ in range(4) for m in convs[0]])

    class FCOS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = resnet((2, 2, 2, 2), width, False)
            self.c3, self.c4, self.c5 = body[:6], body[6:8], body[8:10]
            chans = (2 * width, 4 * width, 8 * width)
            self.lateral = nn.ModuleList(nn.Conv2d(c, neck, 1) for c in chans)
            self.output = nn.ModuleList(nn.Conv2d(neck, neck, 3, 1, 1) for _ in chans)
            self.p6, self.p7 = nn.Conv2d(neck, neck, 3, 2, 1), nn.Conv2d(neck, neck, 3, 2, 1)
            self.cls_tower, self.box_tower = tower(), tower()
            self.cls = nn.Conv2d(neck, classes, 3, 1, 1)
            self.box, self.ctr = nn.Conv2d(neck, 4, 3, 1, 1), nn.Conv2d(neck, 1, 3, 1, 1)
            self.scales = nn.Parameter(torch.ones(5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c3 = self.c3(x)
            c4 = self.c4(c3)
            c5 = self.c5(c4)
            lat = [f(c) for f, c in zip(self.lateral, (c3, c4, c5), strict=True)]
            p5 = lat[2]
            p4 = lat[1] + nn.functional.interpolate(p5, scale_factor=2.0, mode="nearest")
            p3 = lat[0] + nn.functional.interpolate(p4, scale_factor=2.0, mode="nearest")
            p3, p4, p5 = (f(p) for f, p in zip(self.output, (p3, p4, p5), strict=True))
            p6 = self.p6(p5)
            p7 = self.p7(torch.relu(p6))
            outs = []
            for i, p in enumerate((p3, p4, p5, p6, p7)):
                t, r = self.cls_tower(p), self.box_tower(p)
                box = torch.relu(self.box(r) * self.scales[i])
                outs.append(torch.cat([self.cls(t), box, self.ctr(r)], 1).flatten(2))
            return torch.cat(outs, 2)

    return FCOS()


def _conv_block(cin: int, cout: int) -> Any:
    """Two 3x3 conv-BN-ReLUs, as U-Nets have."""
    nn = _nn()
    return nn.Sequential(_cbr(cin, cout, 3, act=nn.ReLU), _cbr(cout, cout, 3, act=nn.ReLU))


def _attention_gate(c: int, g: int, inter: int) -> Any:
    """Attention U-Net's additive grid attention gate on a skip map of ``c`` channels,
    gated by a coarse map of ``g``: the skip map through a 2x2 stride-2 conv to ``inter``,
    the gate through a 1x1 conv resized bilinearly to it, their sum through ReLU, a 1x1
    conv to one channel and a sigmoid; the coefficients resized bilinearly back, scaling
    the skip map, a 1x1 conv-BN."""
    import torch

    nn = _nn()

    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.theta = nn.Conv2d(c, inter, 2, 2, bias=False)
            self.phi, self.psi = nn.Conv2d(g, inter, 1), nn.Conv2d(inter, 1, 1)
            self.out = _cbr(c, c, 1)

        def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
            f = nn.functional
            t = self.theta(x)
            p = f.interpolate(self.phi(gate), t.shape[2:], mode="bilinear")
            a = torch.sigmoid(self.psi(torch.relu(t + p)))
            return self.out(x * f.interpolate(a, x.shape[2:], mode="bilinear"))

    return Gate()


def attention_unet(filters: tuple[int, ...], classes: int) -> Any:
    """Attention U-Net (Oktay et al., MIDL 2018; the 2-D form of its released CT model) on
    a (1, 1, h, w) slice: five levels of two 3x3 conv-BN-ReLUs of ``filters`` with 2x2
    max pools between; a gating signal (a 1x1 conv-BN-ReLU on the bottom map) gating the
    skip maps of levels 2 to 4 through attention gates; up the decoder by bilinear x2
    upsampling, concatenation with the (gated) skip and two conv-BN-ReLUs; deep
    supervision (a 1x1 conv to ``classes`` per decoder level, upsampled) concatenated and
    a final 1x1 conv. The released model is ``((16, 32, 64, 128, 256), ...)``."""
    import torch

    nn = _nn()
    f = filters

    class AttUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.ModuleList(
                _conv_block(a, b) for a, b in zip((1, *f[:-1]), f, strict=True)
            )
            self.gating = _cbr(f[4], f[4], 1, act=nn.ReLU)
            self.gates = nn.ModuleList(_attention_gate(f[i], f[4], f[i]) for i in (1, 2, 3))
            self.up = nn.ModuleList(_conv_block(f[i] + f[i + 1], f[i]) for i in range(4))
            self.dsv = nn.ModuleList(nn.Conv2d(f[i], classes, 1) for i in range(4))
            self.final = nn.Conv2d(4 * classes, classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for i, block in enumerate(self.down):
                x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
                skips.append(x)
            g = self.gating(x)
            for i, gate in zip((1, 2, 3), self.gates, strict=True):
                skips[i] = gate(skips[i], g)
            size, outs = skips[0].shape[2:], []
            for i in (3, 2, 1, 0):
                up = nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear")
                x = self.up[i](torch.cat([skips[i], up], 1))
                outs.append(nn.functional.interpolate(self.dsv[i](x), size, mode="bilinear"))
            return self.final(torch.cat(outs, 1))

    return AttUNet()


def capsnet(routing: int) -> Any:
    """CapsNet (Sabour, Frosst and Hinton, NeurIPS 2017) on a (1, 1, 28, 28) digit: a 9x9
    conv-ReLU to 256; primary capsules (a 9x9 stride-2 conv to 32 x 8, 1152 capsules of 8
    squashed); per capsule and class a 16 x 8 prediction matrix; ``routing`` iterations
    of routing by agreement (a softmax of the logits over the classes, the weighted sum
    squashed, the agreement added to the logits); the class capsules' lengths, and the
    reconstruction decoder (the longest capsule kept, an MLP 512-1024-784 with a
    sigmoid). The paper's is ``3``."""
    import torch

    nn = _nn()

    def squash(s: torch.Tensor) -> torch.Tensor:
        n2 = s.pow(2).sum(-1, keepdim=True)
        return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)

    class CapsNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(1, 256, 9), nn.ReLU())
            self.primary = nn.Conv2d(256, 256, 9, 2)
            self.w = nn.Parameter(torch.randn(1152, 10, 16, 8) * 0.01)
            self.decoder = nn.Sequential(
                *(nn.Linear(160, 512), nn.ReLU(), nn.Linear(512, 1024), nn.ReLU()),
                *(nn.Linear(1024, 784), nn.Sigmoid()),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            u = self.primary(self.conv(x)).reshape(32, 8, 36).permute(0, 2, 1).reshape(1152, 8)
            u_hat = (self.w @ squash(u)[:, None, :, None])[..., 0]
            b = torch.zeros(1152, 10)
            v = u_hat.mean(0)
            for i in range(routing):
                c = torch.softmax(b, 1)
                v = squash((c[..., None] * u_hat).sum(0))
                if i < routing - 1:
                    b = b + (u_hat * v[None]).sum(-1)
            lengths = v.pow(2).sum(-1).sqrt()
            keep = (lengths == lengths.max()).float()
            recon = self.decoder((v * keep[:, None]).reshape(1, 160))
            return torch.cat([lengths[None], recon], 1)

    return CapsNet()


def lprnet(classes: int) -> Any:
    """LPRNet (Zherzdev and Gruzdev, 2018; the common PyTorch port) licence-plate
    recognition on a (1, 3, 24, 94) crop: a 3x3 conv-BN-ReLU to 64; small basic blocks (a
    1x1 conv to a quarter, 3x1 and 1x3 convs, a 1x1 conv out, ReLUs between) to 128, 256
    and 256 with BN-ReLU; 3x3 max pools over (channels, height, width) of strides (1, 1,
    1), (2, 1, 2) and (4, 1, 2), the last ones halving and quartering the channels; a 1x4
    conv to 256 and a 13x1 conv to ``classes``, BN-ReLU each; global context (four
    features average-pooled to the 4 x 18 map, each divided by its mean square)
    concatenated, a 1x1 conv and a mean over height: (1, ``classes``, 18) logits for CTC.
    Chinese plates have 68 classes."""
    import torch

    nn = _nn()

    def small_block(cin: int, cout: int) -> Any:
        """LPRNet's small basic block."""
        q = cout // 4
        return nn.Sequential(
            *(nn.Conv2d(cin, q, 1), nn.ReLU(), nn.Conv2d(q, q, (3, 1), 1, (1, 0)), nn.ReLU()),
            *(nn.Conv2d(q, q, (1, 3), 1, (0, 1)), nn.ReLU(), nn.Conv2d(q, cout, 1)),
        )

    def pool3d(s: tuple[int, int, int]) -> Any:
        """A (1, 3, 3) max pool over (channels, height, width) of stride ``s``."""
        pool = nn.MaxPool3d((1, 3, 3), s)

        class Pool(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return pool(x[:, None])[:, 0]

        return Pool()

    def bn_relu(c: int) -> list[Any]:
        return [nn.BatchNorm2d(c), nn.ReLU()]

    class LPRNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s1 = nn.Sequential(nn.Conv2d(3, 64, 3), *bn_relu(64))
            self.s2 = nn.Sequential(pool3d((1, 1, 1)), small_block(64, 128), *bn_relu(128))
            self.s3 = nn.Sequential(
                *(pool3d((2, 1, 2)), small_block(64, 256), *bn_relu(256)),
                *(small_block(256, 256), nn.BatchNorm2d(256)),
            )
            self.s4 = nn.Sequential(
                *(nn.ReLU(), pool3d((4, 1, 2)), nn.Conv2d(64, 256, (1, 4)), *bn_relu(256)),
                *(nn.Conv2d(256, classes, (13, 1)), *bn_relu(classes)),
            )
            self.container = nn.Conv2d(448 + classes, classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f1 = self.s1(x)
            f2 = self.s2(f1)
            f3 = self.s3(f2)
            f4 = self.s4(f3)
            feats = [
                nn.functional.avg_pool2d(f1, 5, 5),
                nn.functional.avg_pool2d(f2, 5, 5),
                nn.functional.avg_pool2d(f3, (4, 10), (4, 2)),
                f4,
            ]
            y = torch.cat([f / f.pow(2).mean() for f in feats], 1)
            return self.container(y).mean(2)

    return LPRNet()


def _raft_encoder(cout: int, norm: bool) -> Any:
    """RAFT's small encoder on (n, 3, h, w): a 7x7 stride-2 conv to 32 (instance norm or
    none, ReLU); pairs of bottleneck residual blocks (1x1, 3x3 and 1x1 convs to a quarter,
    a quarter and all of the width, norm and ReLU each; the second-level and third-level
    first blocks of stride 2 with a 1x1 strided shortcut) to 32, 64 and 96; a 1x1 conv to
    ``cout`` at 1/8 resolution."""
    import torch

    nn = _nn()

    def conv(a: int, b: int, k: int, s: int = 1) -> list[Any]:
        """A conv, the norm and ReLU."""
        layers = [nn.Conv2d(a, b, k, s, k // 2)]
        return layers + ([nn.InstanceNorm2d(b)] if norm else []) + [nn.ReLU()]

    class Bottleneck(nn.Module):
        def __init__(self, a: int, b: int, s: int) -> None:
            super().__init__()
            q = b // 4
            self.body = nn.Sequential(*conv(a, q, 1), *conv(q, q, 3, s), *conv(q, b, 1))
            short = [nn.Conv2d(a, b, 1, s)] + ([nn.InstanceNorm2d(b)] if norm else [])
            self.short = nn.Sequential(*short) if s > 1 or a != b else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.short(x) + self.body(x))

    layers: list[Any] = conv(3, 32, 7, 2)
    c = 32
    for b, s in ((32, 1), (64, 2), (96, 2)):
        layers += [Bottleneck(c, b, s), Bottleneck(b, b, 1)]
        c = b
    return nn.Sequential(*layers, nn.Conv2d(c, cout, 1))


def raft_small(iters: int, h: int, w: int) -> Any:
    """RAFT-small (Teed and Deng, ECCV 2020) optical flow between the two frames of a (1,
    6, ``h``, ``w``) pair: feature encoders (instance norm, 128 channels, both frames as
    one batch) and a context encoder (no norm, 96 hidden and 64 context channels) at 1/8;
    the all-pairs correlation volume (scaled dot products) and its 4-level average-pooled
    pyramid; ``iters`` updates, each looking up a 7 x 7 window per level around the
    current match (bilinear grid sampling), a motion encoder (1x1 conv on the
    correlations, 7x7 and 3x3 convs on the flow, a 3x3 conv), a convolutional GRU of 96
    (3x3 gates) and a flow head adding its delta; the flow upsampled bilinearly x8.
    RAFT-small runs 12 iterations."""
    import torch

    nn = _nn()
    hh, ww = h // 8, w // 8
    ys, xs = torch.meshgrid(torch.arange(hh).float(), torch.arange(ww).float(), indexing="ij")
    coords0 = torch.stack([xs, ys])[None]
    r = torch.linspace(-3.0, 3.0, 7)
    delta = torch.stack(torch.meshgrid(r, r, indexing="ij"), -1)[None]

    class MotionEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convc = nn.Conv2d(4 * 49, 96, 1)
            self.convf = nn.Sequential(
                nn.Conv2d(2, 64, 7, 1, 3), nn.ReLU(), nn.Conv2d(64, 32, 3, 1, 1), nn.ReLU()
            )
            self.conv = nn.Conv2d(128, 80, 3, 1, 1)

        def forward(self, corr: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
            y = torch.cat([torch.relu(self.convc(corr)), self.convf(flow)], 1)
            return torch.cat([torch.relu(self.conv(y)), flow], 1)

    class RAFT(nn.Module):
        coords0: torch.Tensor
        delta: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.fnet, self.cnet = _raft_encoder(128, True), _raft_encoder(160, False)
            self.register_buffer("coords0", coords0)
            self.register_buffer("delta", delta)
            self.motion = MotionEncoder()
            self.convz, self.convr, self.convq = (
                nn.Conv2d(96 + 146, 96, 3, 1, 1) for _ in range(3)
            )
            self.flow_head = nn.Sequential(
                nn.Conv2d(96, 128, 3, 1, 1), nn.ReLU(), nn.Conv2d(128, 2, 3, 1, 1)
            )

        def lookup(self, pyramid: list[torch.Tensor], coords: torch.Tensor) -> torch.Tensor:
            centre = coords.permute(0, 2, 3, 1).reshape(hh * ww, 1, 1, 2)
            out = []
            for i, corr in enumerate(pyramid):
                pts = centre / 2**i + self.delta
                size = torch.tensor([corr.shape[3] - 1.0, corr.shape[2] - 1.0])
                grid = 2 * pts / size - 1
                s = nn.functional.grid_sample(corr, grid, align_corners=True)
                out.append(s.reshape(1, hh, ww, 49))
            return torch.cat(out, -1).permute(0, 3, 1, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.fnet(torch.cat([x[:, :3], x[:, 3:]], 0))
            f1, f2 = f[0].flatten(1), f[1].flatten(1)
            corr = (f1.t() @ f2 / math.sqrt(128.0)).reshape(hh * ww, 1, hh, ww)
            pyramid = [corr]
            for _ in range(3):
                pyramid.append(nn.functional.avg_pool2d(pyramid[-1], 2, 2))
            net, inp = torch.split(self.cnet(x[:, :3]), [96, 64], 1)
            net, inp = torch.tanh(net), torch.relu(inp)
            coords = self.coords0
            for _ in range(iters):
                flow = coords - self.coords0
                m = torch.cat([inp, self.motion(self.lookup(pyramid, coords), flow)], 1)
                hx = torch.cat([net, m], 1)
                z, rr = torch.sigmoid(self.convz(hx)), torch.sigmoid(self.convr(hx))
                q = torch.tanh(self.convq(torch.cat([rr * net, m], 1)))
                net = (1 - z) * net + z * q
                coords = coords + self.flow_head(net)
            flow = coords - self.coords0
            return 8 * nn.functional.interpolate(
                flow, scale_factor=8.0, mode="bilinear", align_corners=True
            )

    return RAFT()


def _superglue_layer(d: int, heads: int) -> Any:
    """SuperGlue's attentional propagation on (1, ``d``, n) descriptors and a (1, ``d``,
    m) source: multi-head attention (1x1 conv projections, channels split per head as
    SuperGlue lays them out, a 1x1 merge); the descriptors and the message through an
    MLP 2 ``d``-2 ``d``-``d`` (conv-BN-ReLU, conv), added to the descriptors."""
    import torch

    nn = _nn()
    dh = d // heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = (nn.Conv1d(d, d, 1) for _ in range(3))
            self.merge = nn.Conv1d(d, d, 1)
            self.mlp = nn.Sequential(
                nn.Conv1d(2 * d, 2 * d, 1), nn.BatchNorm1d(2 * d), nn.ReLU(), nn.Conv1d(2 * d, d, 1)
            )

        def forward(self, x: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
            q = self.q(x).reshape(1, dh, heads, -1)
            k, v = self.k(src).reshape(1, dh, heads, -1), self.v(src).reshape(1, dh, heads, -1)
            s = torch.einsum("bdhn,bdhm->bhnm", q, k) / dh**0.5
            msg = torch.einsum("bhnm,bdhm->bdhn", torch.softmax(s, -1), v)
            msg = self.merge(msg.reshape(1, d, -1))
            return x + self.mlp(torch.cat([x, msg], 1))

    return Layer()


def superglue(layers: int, sinkhorn: int, n: int) -> Any:
    """SuperGlue (Sarlin et al., CVPR 2020) matching two images' ``n`` SuperPoint
    keypoints, given as (1, 2, ``n``, 259) (x, y, score and a 256-d descriptor per
    keypoint): a keypoint encoder (an MLP 32-64-128-256-256 with BN and ReLU on the
    normalised positions and scores) added to the descriptors; ``layers`` pairs of self
    and cross attentional propagation layers (4 heads); a final 1x1 projection; the
    scaled score matrix with a learned dustbin row and column; ``sinkhorn`` log-domain
    Sinkhorn iterations of optimal transport; mutual-nearest matches. SuperGlue has 9
    pairs and its demo runs 20 Sinkhorn iterations."""
    import torch

    nn = _nn()
    d = 256

    class SuperGlue(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (3, 32, 64, 128, 256)
            enc = [
                m
                for a, b in zip(chans[:-1], chans[1:], strict=True)
                for m in (nn.Conv1d(a, b, 1), nn.BatchNorm1d(b), nn.ReLU())
            ]
            self.kenc = nn.Sequential(*enc, nn.Conv1d(256, d, 1))
            self.layers = nn.ModuleList(_superglue_layer(d, 4) for _ in range(2 * layers))
            self.proj = nn.Conv1d(d, d, 1)
            self.bin = nn.Parameter(torch.tensor(1.0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            kpts = (x[0, :, :, :2] - torch.tensor([320.0, 240.0])) / (0.7 * 640)
            feats = torch.cat([kpts, x[0, :, :, 2:3]], -1).transpose(1, 2)
            desc = x[0, :, :, 3:].transpose(1, 2) + self.kenc(feats)
            d0, d1 = desc[:1], desc[1:]
            for i, layer in enumerate(self.layers):
                s0, s1 = (d0, d1) if i % 2 == 0 else (d1, d0)
                d0, d1 = layer(d0, s0), layer(d1, s1)
            m0, m1 = self.proj(d0)[0], self.proj(d1)[0]
            scores = m0.t() @ m1 / d**0.5
            bins_c = self.bin.expand(n, 1)
            z = torch.cat(
                [torch.cat([scores, bins_c], 1), torch.cat([bins_c.t(), self.bin.expand(1, 1)], 1)]
            )
            norm = -math.log(2 * n)
            log_mu = torch.cat([torch.full((n,), norm), torch.tensor([math.log(n) + norm])])
            u, v = torch.zeros(n + 1), torch.zeros(n + 1)
            for _ in range(sinkhorn):
                u = log_mu - torch.logsumexp(z + v[None], 1)
                v = log_mu - torch.logsumexp(z + u[:, None], 0)
            z = z + u[:, None] + v[None] - norm
            inner = z[:-1, :-1]
            best0, best1 = inner.max(1), inner.max(0)
            mutual = best1.indices[best0.indices] == torch.arange(n)
            matches = torch.where(mutual, best0.indices.float(), torch.full((n,), -1.0))
            return torch.cat([z.flatten(), matches, best0.values.exp() * mutual])[None]

    return SuperGlue()


def demucs_valid_length(length: int, depth: int) -> int:
    """The input length Demucs (kernel 8, stride 4, context 3) pads ``length`` to."""
    for _ in range(depth):
        length = max(1, math.ceil((length - 8) / 4) + 1) + 2
    for _ in range(depth):
        length = (length - 1) * 4 + 8
    return length


def demucs(channels: int, depth: int, sources: int) -> Any:
    """Demucs v2 (Defossez et al., 2019) music source separation of a (1, 2, samples)
    stereo mix: normalised by the mono mix's mean and deviation; ``depth`` encoder
    layers (a conv of kernel 8 and stride 4 with ReLU, a 1x1 conv to twice the width and
    a GLU; ``channels`` doubling per layer); a bidirectional 2-layer LSTM with a linear
    layer on the bottleneck; decoder layers (the centre-trimmed skip added, a conv of
    kernel 3 to twice the width and a GLU, a transposed conv of kernel 8 and stride 4,
    ReLU but last) to ``sources`` stereo stems, de-normalised. Demucs v2 is ``(64, 6,
    4)`` (48 for its HQ model)."""
    import torch

    nn = _nn()

    class Demucs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.decoder = nn.ModuleList(), nn.ModuleList()
            cin, ch = 2, channels
            for i in range(depth):
                self.encoder.append(
                    nn.Sequential(
                        *(nn.Conv1d(cin, ch, 8, 4), nn.ReLU()),
                        *(nn.Conv1d(ch, 2 * ch, 1), nn.GLU(1)),
                    )
                )
                out = 2 * sources if i == 0 else cin
                dec = [nn.Conv1d(ch, 2 * ch, 3), nn.GLU(1), nn.ConvTranspose1d(ch, out, 8, 4)]
                self.decoder.insert(0, nn.Sequential(*dec, *([nn.ReLU()] if i else [])))
                cin, ch = ch, 2 * ch
            self.lstm = nn.LSTM(cin, cin, 2, bidirectional=True)
            self.linear = nn.Linear(2 * cin, cin)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mono = x.mean(1, keepdim=True)
            mean, std = mono.mean(-1, keepdim=True), mono.std(-1, keepdim=True)
            x = (x - mean) / (1e-5 + std)
            saved = []
            for encode in self.encoder:
                x = encode(x)
                saved.append(x)
            x = self.linear(self.lstm(x.permute(2, 0, 1))[0]).permute(1, 2, 0)
            for decode in self.decoder:
                skip = saved.pop(-1)
                cut = (skip.shape[-1] - x.shape[-1]) // 2
                x = decode(x + skip[..., cut : cut + x.shape[-1]])
            x = x * std + mean
            return x.reshape(1, sources, 2, -1)

    return Demucs()


def _sconv(cin: int, cout: int, k: int, s: int = 1, dil: int = 1) -> Any:
    """EnCodec's non-causal streamable conv: reflect padding of (``k`` - 1) ``dil`` -
    (``s`` - 1) split evenly (plus what makes the last frame whole) and a 1-D conv."""
    import torch

    nn = _nn()
    total = (k - 1) * dil - (s - 1)

    class SConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(cin, cout, k, s, dilation=dil)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[-1]
            frames = (n - k + total) / s + 1
            extra = (math.ceil(frames) - 1) * s + (k - total) - n
            right = total // 2
            return self.conv(nn.functional.pad(x, (total - right, right + extra), mode="reflect"))

    return SConv()


def _sconv_transpose(cin: int, cout: int, k: int, s: int) -> Any:
    """EnCodec's non-causal streamable transposed conv: the transposed conv, its output
    trimmed by ``k`` - ``s`` split evenly."""
    import torch

    nn = _nn()
    total = k - s
    right = total // 2

    class SConvT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.ConvTranspose1d(cin, cout, k, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return y[..., total - right : y.shape[-1] - right]

    return SConvT()


def _seanet_unit(c: int) -> Any:
    """SEANet's residual unit: ELU, a conv of kernel 3 to ``c``/2, ELU, a 1x1 conv back;
    the input added."""
    nn = _nn()
    return _residual(nn.Sequential(nn.ELU(), _sconv(c, c // 2, 3), nn.ELU(), _sconv(c // 2, c, 1)))


def _slstm(c: int) -> Any:
    """EnCodec's 2-layer LSTM over time on (1, ``c``, t) with a skip connection."""
    import torch

    nn = _nn()

    class SLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(c, c, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x.permute(2, 0, 1)
            return (self.lstm(y)[0] + y).permute(1, 2, 0)

    return SLSTM()


def encodec(nf: int, ratios: tuple[int, ...], dim: int, codebooks: int) -> Any:
    """The EnCodec codec (Defossez et al., TMLR 2023; the 24 kHz model) round trip of a
    (1, 1, samples) waveform: the SEANet encoder (a conv of kernel 7 to ``nf``; per ratio
    a residual unit, ELU and a strided conv of kernel 2 ``ratio`` doubling the width; a
    skip-connected 2-layer LSTM, ELU, a conv of kernel 7 to ``dim``); residual vector
    quantisation by ``codebooks`` codebooks of 1024 (each the nearest code to the
    residual left by the previous ones, by a matmul, an argmin and a gather); the
    mirrored SEANet decoder (transposed convs). The 24 kHz model is ``(32, (2, 4, 5, 8),
    128, ...)``, 8 codebooks at 6 kbps."""
    import torch

    nn = _nn()

    def encoder() -> Any:
        layers: list[Any] = [_sconv(1, nf, 7)]
        c = nf
        for r in ratios:
            layers += [_seanet_unit(c), nn.ELU(), _sconv(c, 2 * c, 2 * r, r)]
            c *= 2
        return nn.Sequential(*layers, _slstm(c), nn.ELU(), _sconv(c, dim, 7))

    def decoder() -> Any:
        c = nf * 2 ** len(ratios)
        layers: list[Any] = [_sconv(dim, c, 7), _slstm(c)]
        for r in reversed(ratios):
            layers += [nn.ELU(), _sconv_transpose(c, c // 2, 2 * r, r), _seanet_unit(c // 2)]
            c //= 2
        return nn.Sequential(*layers, nn.ELU(), _sconv(c, 1, 7))

    class EnCodec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.decoder = encoder(), decoder()
            self.codebooks = nn.Parameter(torch.randn(codebooks, 1024, dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.encoder(x)[0].t()
            residual, quantised = z, torch.zeros_like(z)
            for e in self.codebooks:
                dist = (
                    residual.pow(2).sum(1, keepdim=True)
                    - 2 * residual @ e.t()
                    + e.pow(2).sum(1)[None]
                )
                q = e[dist.argmin(1)]
                residual, quantised = residual - q, quantised + q
            return self.decoder(quantised.t()[None])

    return EnCodec()


def textcnn(vocab: int, dim: int, maps: int, windows: tuple[int, ...], classes: int) -> Any:
    """Kim's CNN-multichannel (Kim, EMNLP 2014) sentence classification of a (1, words)
    sequence of word ids (read like ids, hashed to ``vocab``): a static and a fine-tuned
    embedding table of ``dim`` stacked as two channels; per window size a conv over
    (window, ``dim``) to ``maps`` maps (both channels summed) with ReLU and max-over-time
    pooling; concatenated and a linear classifier. Kim's is ``(..., 300, 100, (3, 4, 5),
    ...)``."""
    import torch

    nn = _nn()

    class TextCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.static = nn.Parameter(torch.randn(vocab, dim) * 0.1)
            self.tuned = nn.Parameter(torch.randn(vocab, dim) * 0.1)
            self.convs = nn.ModuleList(nn.Conv2d(2, maps, (k, dim)) for k in windows)
            self.fc = nn.Linear(maps * len(windows), classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = torch.remainder((x[0].abs() * 1000).long(), vocab)
            e = torch.stack([self.static[ids], self.tuned[ids]])[None]
            feats = [torch.relu(conv(e)).amax((2, 3)) for conv in self.convs]
            return self.fc(torch.cat(feats, 1))

    return TextCNN()


def _log_buckets(seq: int, buckets: int, max_position: int) -> Any:
    """DeBERTa-v3's (``seq``, ``seq``) relative positions q - k, exact within half of
    ``buckets`` and log-bucketed beyond, up to ``max_position``."""
    import torch

    pos = torch.arange(seq)
    rel = (pos[:, None] - pos[None]).float()
    mid = buckets // 2
    sign = torch.sign(rel)
    inner = (rel < mid) & (rel > -mid)
    abs_pos = torch.where(inner, torch.tensor(mid - 1.0), rel.abs())
    scale = math.log((max_position - 1) / mid)
    log_pos = torch.ceil(torch.log(abs_pos / mid) / scale * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel, log_pos * sign).long()


def _deberta_layer(d: int, heads: int, ff: int, span: int) -> Any:
    """A DeBERTa-v3 layer on (1, n, ``d``) with the (2 ``span``, ``d``) normalised
    relative position embeddings and the (n, n) relative positions: disentangled
    self-attention (content-to-content, content-to-position and position-to-content
    scores; the positions projected by the shared query and key projections; the
    relative scores gathered by position, clamped to the span; all scaled by the root of
    3 head widths), an output projection, residual and a layer norm; a GELU feed-forward
    of ``ff``, residual and a layer norm."""
    import torch

    nn = _nn()
    dh = d // heads
    scale = math.sqrt(dh * 3)

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.n1, self.n2 = nn.LayerNorm(d, eps=1e-7), nn.LayerNorm(d, eps=1e-7)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor, rel_emb: torch.Tensor, rel: torch.Tensor) -> Any:
            n = x.shape[1]

            def heads_of(t: torch.Tensor) -> torch.Tensor:
                return t.reshape(t.shape[0], heads, dh).transpose(0, 1)

            q, k, v = heads_of(self.q(x[0])), heads_of(self.k(x[0])), heads_of(self.v(x[0]))
            pq, pk = heads_of(self.q(rel_emb)), heads_of(self.k(rel_emb))
            c2p_pos = torch.clamp(rel + span, 0, 2 * span - 1).expand(heads, n, n)
            p2c_pos = torch.clamp(-rel + span, 0, 2 * span - 1).expand(heads, n, n)
            s = q @ k.transpose(-1, -2) / scale
            s = s + torch.gather(q @ pk.transpose(-1, -2), -1, c2p_pos) / scale
            s = s + torch.gather(k @ pq.transpose(-1, -2), -1, p2c_pos).transpose(-1, -2) / scale
            a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(1, n, d)
            x = self.n1(x + self.o(a))
            return self.n2(x + self.ff(x))

    return Layer()


def deberta_v3(d: int, heads: int, layers: int, seq: int) -> Any:
    """A DeBERTa-v3 encoder (He, Gao and Chen, ICLR 2023; the encoder of He et al., ICLR
    2021) on (1, ``seq``, ``d``) token embeddings: a layer norm; relative position
    embeddings of 2 x 256 buckets (log buckets up to 512) through a layer norm;
    ``layers`` disentangled-attention layers with a feed-forward of 4 ``d``.
    DeBERTa-v3-xsmall is ``(384, 6, 12, ...)``."""
    import torch

    nn = _nn()
    span = 256

    class DeBERTa(nn.Module):
        rel: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(d, eps=1e-7)
            self.rel_emb = nn.Parameter(torch.randn(2 * span, d) * 0.02)
            self.rel_norm = nn.LayerNorm(d, eps=1e-7)
            self.register_buffer("rel", _log_buckets(seq, span, 512))
            self.layers = nn.ModuleList(
                _deberta_layer(d, heads, 4 * d, span) for _ in range(layers)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x, rel_emb = self.norm(x), self.rel_norm(self.rel_emb)
            for layer in self.layers:
                x = layer(x, rel_emb, self.rel)
            return x

    return DeBERTa()


def _retention(d: int, heads: int, seq: int) -> Any:
    """RetNet's multi-scale retention in its parallel form on (1, ``seq``, ``d``): query
    and key projections rotated by xPos-like angles, values of 2 ``d``; per head the
    scores times a causal decay mask of gamma = 1 - 2^(-5 - head) (rows normalised by
    their root sums), divided by their absolute row sums (at least 1); the heads'
    outputs group-normalised, gated by SiLU of a 2 ``d`` projection and projected back."""
    import torch

    nn = _nn()
    dk, dv = d // heads, 2 * d // heads
    angle = 1.0 / 10000 ** torch.linspace(0, 1, dk // 2)
    angle = torch.arange(seq).float()[:, None] * angle.repeat_interleave(2)[None]
    decay = torch.log(1 - 2 ** (-5 - torch.arange(heads).float()))
    idx = torch.arange(seq).float()
    diff = idx[:, None] - idx[None]
    mask = torch.where(diff >= 0, torch.exp(decay[:, None, None] * diff), torch.zeros(()))
    mask = mask / mask.sum(-1, keepdim=True).sqrt()

    def rotate(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[..., ::2], x[..., 1::2]
        return x * cos + torch.stack([-x2, x1], -1).flatten(-2) * sin

    class Retention(nn.Module):
        sin: torch.Tensor
        cos: torch.Tensor
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.q, self.k = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
            self.v, self.g = nn.Linear(d, 2 * d, bias=False), nn.Linear(d, 2 * d, bias=False)
            self.o = nn.Linear(2 * d, d, bias=False)
            self.norm = nn.GroupNorm(heads, 2 * d, affine=False)
            for name, t in (("sin", angle.sin()), ("cos", angle.cos()), ("mask", mask)):
                self.register_buffer(name, t)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = self.q(x[0]).reshape(seq, heads, dk).transpose(0, 1)
            k = self.k(x[0]).reshape(seq, heads, dk).transpose(0, 1) * dk**-0.5
            v = self.v(x[0]).reshape(seq, heads, dv).transpose(0, 1)
            q, k = rotate(q, self.sin, self.cos), rotate(k, self.sin, self.cos)
            s = q @ k.transpose(-1, -2) * self.mask
            s = s / s.abs().sum(-1, keepdim=True).clamp(min=1.0)
            y = (s @ v).transpose(0, 1).reshape(seq, 2 * d)
            y = self.norm(y[..., None])[..., 0]
            return self.o(nn.functional.silu(self.g(x[0])) * y)[None]

    return Retention()


def retnet(d: int, heads: int, layers: int, seq: int, vocab: int) -> Any:
    """A RetNet language model (Sun et al., 2023) prefilling (1, ``seq``, ``d``) token
    embeddings in the parallel form: ``layers`` pre-norm layers of multi-scale retention
    (heads of ``d``/``heads`` keys and twice that values) and a GELU feed-forward of 2
    ``d``, each residual; a final layer norm and the vocabulary head on the last
    position. The paper's models have heads of 256 and feed-forwards of 2 ``d``."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.msr = _retention(d, heads, seq)
            self.ffn = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.msr(self.n1(x))
            return x + self.ffn(self.n2(x))

    class RetNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*[Layer() for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.norm(self.blocks(x)[:, -1]))

    return RetNet()


def _t5_buckets(seq: int, buckets: int, max_distance: int) -> Any:
    """T5's bidirectional relative position buckets of the (``seq``, ``seq``) offsets
    k - q: half the buckets per direction, exact below a quarter, log-spaced up to
    ``max_distance``."""
    import torch

    pos = torch.arange(seq)
    rel = pos[None] - pos[:, None]
    half = buckets // 2
    out = (rel > 0).long() * half
    n = rel.abs()
    exact = half // 2
    big = (
        exact
        + (
            torch.log(n.float().clamp(min=1) / exact)
            / math.log(max_distance / exact)
            * (half - exact)
        ).long()
    )
    return out + torch.where(n < exact, n, big.clamp(max=half - 1))


def _switch_moe(d: int, ff: int, experts: int, capacity: int) -> Any:
    """The Switch Transformer's switch feed-forward on (1, n, ``d``): a router (a linear
    layer and a softmax) sends each token to its top expert, within ``capacity`` slots per
    expert in token order (one-hot positions by a cumulative sum); the dispatch einsum
    gathers each expert's tokens, the ``experts`` ReLU feed-forwards of ``ff`` run as
    batched matmuls, and the combine einsum scatters them back weighted by the router
    probability (dropped tokens get zero)."""
    import torch

    nn = _nn()

    class SwitchFF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.router = nn.Linear(d, experts, bias=False)
            self.wi = nn.Parameter(torch.randn(experts, d, ff) * d**-0.5)
            self.wo = nn.Parameter(torch.randn(experts, ff, d) * ff**-0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(self.router(x[0]), -1)
            gate, expert = probs.max(-1)
            one_hot = (expert[:, None] == torch.arange(experts)).float()
            slot = (torch.cumsum(one_hot, 0) - 1) * one_hot
            keep = one_hot * (slot < capacity).float()
            slots = (slot[..., None] == torch.arange(capacity).float()).float()
            dispatch = keep[..., None] * slots
            h = torch.einsum("tec,td->ecd", dispatch, x[0])
            h = torch.relu(h @ self.wi) @ self.wo
            return torch.einsum("tec,ecd->td", dispatch * gate[:, None, None], h)[None]

    return SwitchFF()


def switch_encoder(d: int, heads: int, layers: int, experts: int, seq: int) -> Any:
    """A Switch Transformer encoder (Fedus, Zoph and Shazeer, JMLR 2022; T5 layout) on (1,
    ``seq``, ``d``) token embeddings: pre-RMSNorm layers of bias-free unscaled
    self-attention with T5's relative position bias (32 buckets up to 128, computed once
    and shared), and feed-forwards of 4 ``d``, every second one a switch layer of
    ``experts`` experts with a capacity factor of 1.25; residuals; a final RMSNorm.
    Switch-Base-8 is ``(768, 12, 12, 8, ...)``."""
    import torch

    nn = _nn()
    dh = d // heads
    capacity = math.ceil(1.25 * seq / experts)

    class Layer(nn.Module):
        def __init__(self, sparse: bool) -> None:
            super().__init__()
            self.n1, self.n2 = _rms_norm(d), _rms_norm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
            dense = nn.Sequential(
                nn.Linear(d, 4 * d, bias=False), nn.ReLU(), nn.Linear(4 * d, d, bias=False)
            )
            self.ff = _switch_moe(d, 4 * d, experts, capacity) if sparse else dense

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.n1(x)[0]).reshape(seq, 3, heads, dh).permute(1, 2, 0, 3)
            a = torch.softmax(q @ k.transpose(-1, -2) + bias, -1) @ v
            x = x + self.o(a.transpose(0, 1).reshape(1, seq, d))
            return x + self.ff(self.n2(x))

    class Switch(nn.Module):
        buckets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("buckets", _t5_buckets(seq, 32, 128))
            self.rel = nn.Parameter(torch.randn(32, heads) * 0.1)
            self.layers = nn.ModuleList(Layer(i % 2 == 1) for i in range(layers))
            self.norm = _rms_norm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            bias = self.rel[self.buckets].permute(2, 0, 1)
            for layer in self.layers:
                x = layer(x, bias)
            return self.norm(x)

    return Switch()


def _grn(a: int, h: int, out: int) -> Any:
    """The Temporal Fusion Transformer's gated residual network: a linear layer to ``h``,
    ELU, a linear layer, a GLU to ``out``; the input (linearly projected if ``a`` !=
    ``out``) added and a layer norm."""
    import torch

    nn = _nn()

    class GRN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Linear(a, h), nn.ELU(), nn.Linear(h, h), nn.Linear(h, 2 * out)
            )
            self.skip = nn.Linear(a, out) if a != out else nn.Identity()
            self.norm = nn.LayerNorm(out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(self.skip(x) + nn.functional.glu(self.f(x), -1))

    return GRN()


def _variable_selection(n: int, h: int) -> Any:
    """The TFT's variable selection network on (t, ``n``, ``h``) embedded variables: a GRN
    of the flattened embeddings to ``n`` softmax weights, a GRN per variable, their
    weighted sum."""
    import torch

    nn = _nn()

    class VSN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = _grn(n * h, h, n)
            self.grns = nn.ModuleList(_grn(h, h, h) for _ in range(n))

        def forward(self, e: torch.Tensor) -> torch.Tensor:
            w = torch.softmax(self.weights(e.flatten(1)), -1)
            v = torch.stack([g(e[:, i]) for i, g in enumerate(self.grns)], 1)
            return (w[..., None] * v).sum(1)

    return VSN()


def tft(h: int, heads: int, past: int, future: int, known: int, quantiles: int) -> Any:
    """The Temporal Fusion Transformer (Lim et al., IJF 2021) forecasting ``future`` steps
    from a (1, ``past`` + ``future``, 1 + ``known``) frame (the target, observed in the
    past only, and ``known`` inputs): each variable embedded linearly to ``h``; variable
    selection networks for past and future; an LSTM encoder and a decoder LSTM continuing
    its state; a gated skip (GLU, add and norm); static-free enrichment by a GRN;
    interpretable multi-head attention of the future positions on all (per-head queries
    and keys, one value projection shared by the heads, the heads averaged, causal); a
    gated skip, a position-wise GRN, a gated skip from the LSTM stage and a linear layer
    to ``quantiles``. The electricity setting is ``(160, 4, 168, 24, ...)``."""
    import torch

    nn = _nn()
    dh, t = h // heads, past + future
    mask = torch.full((future, t), float("-inf")).triu(past + 1)

    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.glu, self.norm = nn.Linear(h, 2 * h), nn.LayerNorm(h)

        def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
            return self.norm(skip + nn.functional.glu(self.glu(x), -1))

    class TFT(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed_w = nn.Parameter(torch.randn(1 + known, h))
            self.embed_b = nn.Parameter(torch.zeros(1 + known, h))
            self.vsn_past = _variable_selection(1 + known, h)
            self.vsn_future = _variable_selection(known, h)
            self.encoder, self.decoder = (
                nn.LSTM(h, h, batch_first=True),
                nn.LSTM(h, h, batch_first=True),
            )
            self.lstm_gate, self.attn_gate, self.out_gate = Gate(), Gate(), Gate()
            self.enrich, self.ff = _grn(h, h, h), _grn(h, h, h)
            self.q, self.k = nn.Linear(h, h), nn.Linear(h, h)
            self.v, self.wh = nn.Linear(h, dh), nn.Linear(dh, h)
            self.register_buffer("mask", mask)
            self.head = nn.Linear(h, quantiles)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = x[0, :, :, None] * self.embed_w + self.embed_b
            sel = torch.cat([self.vsn_past(e[:past]), self.vsn_future(e[past:, 1:])])[None]
            enc, state = self.encoder(sel[:, :past])
            dec, _ = self.decoder(sel[:, past:], state)
            phi = self.lstm_gate(torch.cat([enc, dec], 1), sel)
            theta = self.enrich(phi)[0]
            q = self.q(theta[past:]).reshape(future, heads, dh).transpose(0, 1)
            k = self.k(theta).reshape(t, heads, dh).transpose(0, 1)
            a = torch.softmax(q @ k.transpose(-1, -2) * dh**-0.5 + self.mask, -1)
            y = self.wh((a @ self.v(theta)).mean(0))
            y = self.ff(self.attn_gate(y, theta[past:]))
            return self.head(self.out_gate(y, phi[0, past:]))[None]

    return TFT()


def _egnn_layer(h: int) -> Any:
    """An E(n)-equivariant graph layer (EGNN) on (n, ``h``) features and (n, 3)
    coordinates, fully connected without self-edges: edge messages from both features and
    the squared distance (two SiLU linear layers, a sigmoid attention weight); the
    coordinates moved by the mean of their differences times an MLP of the message; the
    features updated by an MLP of themselves and the summed messages, residual."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.edge = nn.Sequential(
                nn.Linear(2 * h + 1, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU()
            )
            self.att = nn.Sequential(nn.Linear(h, 1), nn.Sigmoid())
            self.coord = nn.Sequential(nn.Linear(h, h), nn.SiLU(), nn.Linear(h, 1, bias=False))
            self.node = nn.Sequential(nn.Linear(2 * h, h), nn.SiLU(), nn.Linear(h, h))

        def forward(
            self, f: torch.Tensor, pos: torch.Tensor, adj: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            n = f.shape[0]
            diff = pos[:, None] - pos[None]
            d2 = diff.pow(2).sum(-1, keepdim=True)
            pair = torch.cat([f[:, None].expand(n, n, h), f[None].expand(n, n, h), d2], -1)
            m = self.edge(pair)
            m = m * self.att(m) * adj[..., None]
            pos = pos + (diff * self.coord(m) * adj[..., None]).sum(1) / (n - 1)
            return f + self.node(torch.cat([f, m.sum(1)], -1)), pos

    return Layer()


def egnn(h: int, layers: int, features: int) -> Any:
    """EGNN (Satorras, Hoogeboom and Welling, ICML 2021) regressing a property of a
    molecule given as (1, atoms, 3 + ``features``) coordinates and atom features: a
    linear embedding to ``h``; ``layers`` E(n)-equivariant layers with attention and
    coordinate updates; a node decoder (two SiLU linear layers), a sum over atoms and a
    graph decoder to one value. The QM9 model is ``(128, 7, 15)``."""
    import torch

    nn = _nn()

    class EGNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(features, h)
            self.layers = nn.ModuleList(_egnn_layer(h) for _ in range(layers))
            self.node_dec = nn.Sequential(nn.Linear(h, h), nn.SiLU(), nn.Linear(h, h))
            self.graph_dec = nn.Sequential(nn.Linear(h, h), nn.SiLU(), nn.Linear(h, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pos, f = x[0, :, :3], self.embed(x[0, :, 3:])
            n = f.shape[0]
            adj = 1 - torch.eye(n)
            for layer in self.layers:
                f, pos = layer(f, pos, adj)
            return self.graph_dec(self.node_dec(f).sum(0, keepdim=True))

    return EGNN()


def _gated_attention(cq: int, heads: int, c: int, bias: bool) -> Any:
    """AlphaFold's gated multi-head attention along the second-to-last axis of (..., n,
    ``cq``) inputs, per leading index: bias-free query, key and value projections to
    ``heads`` of ``c``; optionally a (``heads``, n, n) bias added to the logits; the
    output gated by a sigmoid projection and projected back."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(cq, 3 * heads * c, bias=False)
            self.gate, self.o = nn.Linear(cq, heads * c), nn.Linear(heads * c, cq)

        def forward(self, x: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
            r, n, _ = x.shape
            q, k, v = self.qkv(x).reshape(r, n, 3, heads, c).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-1, -2) * c**-0.5
            s = s if b is None else s + b
            y = (torch.softmax(s, -1) @ v).permute(0, 2, 1, 3).reshape(r, n, heads * c)
            return self.o(torch.sigmoid(self.gate(x)) * y)

    return Attention()


def _triangle_multiply(cz: int, c: int, outgoing: bool) -> Any:
    """AlphaFold's triangle multiplicative update on the (n, n, ``cz``) pair map: a layer
    norm; two gated projections a and b to ``c``; their product summed over the third
    residue (edges i-k and j-k outgoing, k-i and k-j incoming); a layer norm, a projection
    back and a sigmoid gate."""
    import torch

    nn = _nn()

    class TriMul(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.out_norm = nn.LayerNorm(cz), nn.LayerNorm(c)
            self.proj, self.gates = nn.Linear(cz, 2 * c), nn.Linear(cz, 2 * c)
            self.gate, self.o = nn.Linear(cz, cz), nn.Linear(c, cz)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            z = self.norm(z)
            ab = torch.sigmoid(self.gates(z)) * self.proj(z)
            a, b = ab[..., :c].permute(2, 0, 1), ab[..., c:].permute(2, 0, 1)
            t = a @ b.transpose(1, 2) if outgoing else a.transpose(1, 2) @ b
            return torch.sigmoid(self.gate(z)) * self.o(self.out_norm(t.permute(1, 2, 0)))

    return TriMul()


def _evoformer_block(cm: int, cz: int, heads_m: int, heads_z: int) -> Any:
    """An Evoformer block on the (s, n, ``cm``) MSA and the (n, n, ``cz``) pair maps: MSA
    row attention biased by the pair map and MSA column attention (gated, heads of 32),
    an MSA transition; the outer product mean (projections to 32, their outer product
    averaged over sequences, a projection to ``cz``); triangle multiplicative updates
    (outgoing, incoming; 128 wide), triangle attention around the starting and the
    ending node (biased by the pair map), a pair transition; all residual (transitions
    of 4x with ReLU after a layer norm, attention after a layer norm)."""
    import torch

    nn = _nn()

    def transition(c: int) -> Any:
        return _residual(
            nn.Sequential(nn.LayerNorm(c), nn.Linear(c, 4 * c), nn.ReLU(), nn.Linear(4 * c, c))
        )

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.row_norm, self.row_bias = (
                nn.LayerNorm(cm),
                nn.Sequential(nn.LayerNorm(cz), nn.Linear(cz, heads_m, bias=False)),
            )
            self.row, self.col = (
                _gated_attention(cm, heads_m, 32, True),
                _gated_attention(cm, heads_m, 32, False),
            )
            self.col_norm, self.msa_trans = nn.LayerNorm(cm), transition(cm)
            self.opm_norm, self.opm_ab = nn.LayerNorm(cm), nn.Linear(cm, 64)
            self.opm_out = nn.Linear(32 * 32, cz)
            self.tri_out, self.tri_in = (
                _triangle_multiply(cz, 128, True),
                _triangle_multiply(cz, 128, False),
            )
            self.start_norm, self.end_norm = nn.LayerNorm(cz), nn.LayerNorm(cz)
            self.start_bias = nn.Linear(cz, heads_z, bias=False)
            self.end_bias = nn.Linear(cz, heads_z, bias=False)
            self.start, self.end = (
                _gated_attention(cz, heads_z, 32, True),
                _gated_attention(cz, heads_z, 32, True),
            )
            self.pair_trans = transition(cz)

        def forward(self, m: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            s, n = m.shape[0], m.shape[1]
            m = m + self.row(self.row_norm(m), self.row_bias(z).permute(2, 0, 1)[None])
            mt = self.col_norm(m.transpose(0, 1))
            m = m + self.col(mt, None).transpose(0, 1)
            m = self.msa_trans(m)
            ab = self.opm_ab(self.opm_norm(m))
            a, b = ab[..., :32], ab[..., 32:]
            outer = torch.einsum("sic,sjd->ijcd", a, b).reshape(n, n, 32 * 32) / s
            z = z + self.opm_out(outer)
            z = z + self.tri_out(z)
            z = z + self.tri_in(z)
            zs = self.start_norm(z)
            z = z + self.start(zs, self.start_bias(zs).permute(2, 0, 1)[None])
            ze = self.end_norm(z.transpose(0, 1))
            z = z + self.end(ze, self.end_bias(ze).permute(2, 0, 1)[None]).transpose(0, 1)
            return m, self.pair_trans(z)

    return Block()


def evoformer(blocks: int, cm: int, cz: int, n: int) -> Any:
    """AlphaFold 2's Evoformer trunk (Jumper et al., Nature 2021) on a (1, sequences,
    ``n``, 49) MSA feature stack: the input embedder (the MSA features and the first
    row's 22 target features projected to ``cm``; the pair map from outer sums of two
    target projections to ``cz`` plus a projection of the one-hot relative residue
    offsets clipped to +-32); ``blocks`` Evoformer blocks (MSA attention of ``cm``/32
    heads, pair attention of 4); the distogram head (the symmetrised pair map projected
    to 64 distance bins). AlphaFold's trunk is 48 blocks of ``(256, 128)``."""
    import torch

    nn = _nn()
    offset = torch.arange(n)[None] - torch.arange(n)[:, None]
    relpos = (offset.clamp(-32, 32)[..., None] + 32 == torch.arange(65)).float()

    class Evoformer(nn.Module):
        relpos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.msa, self.target = nn.Linear(49, cm), nn.Linear(22, cm)
            self.left, self.right = nn.Linear(22, cz), nn.Linear(22, cz)
            self.register_buffer("relpos", relpos)
            self.rel = nn.Linear(65, cz)
            self.blocks = nn.ModuleList(
                _evoformer_block(cm, cz, cm // 32, 4) for _ in range(blocks)
            )
            self.disto = nn.Linear(cz, 64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tf = x[0, 0, :, :22]
            m = self.msa(x[0]) + self.target(tf)[None]
            z = self.left(tf)[:, None] + self.right(tf)[None] + self.rel(self.relpos)
            for block in self.blocks:
                m, z = block(m, z)
            logits = self.disto(z)
            return (logits + logits.transpose(0, 1))[None]

    return Evoformer()


def sasrec(items: int, d: int, blocks: int, heads: int, seq: int) -> Any:
    """SASRec (Kang and McAuley, ICDM 2018; the PyTorch port) next-item scoring of a (1,
    ``seq``) history of item ids (read like ids, hashed to ``items``, 0 being padding):
    item embeddings scaled by the root of ``d`` plus learned positions, padding zeroed;
    ``blocks`` blocks of causal multi-head attention (the query layer-normalised, added
    to it), a layer norm and a point-wise feed-forward (two 1x1 convs, ReLU, residual),
    padding zeroed; a final layer norm; the last position's dot products with every item
    embedding. The MovieLens-1M setting is ``(3416, 50, 2, 1, 200)``."""
    import torch

    nn = _nn()
    dh = d // heads
    mask = torch.full((seq, seq), float("-inf")).triu(1)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d, eps=1e-8), nn.LayerNorm(d, eps=1e-8)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))

        def forward(self, x: torch.Tensor, m: torch.Tensor, keep: torch.Tensor) -> Any:
            q = self.n1(x)
            w = self.qkv.weight
            qh = (q @ w[:d].t() + self.qkv.bias[:d]).reshape(seq, heads, dh).transpose(0, 1)
            kv = (x @ w[d:].t() + self.qkv.bias[d:]).reshape(seq, 2, heads, dh).permute(1, 2, 0, 3)
            a = torch.softmax(qh @ kv[0].transpose(-1, -2) * dh**-0.5 + m, -1) @ kv[1]
            x = self.n2(q + self.o(a.transpose(0, 1).reshape(seq, d)))
            return (x + self.ff(x)) * keep

    class SASRec(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Parameter(torch.randn(items + 1, d) * 0.1)
            self.pos = nn.Parameter(torch.randn(seq, d) * 0.1)
            self.blocks = nn.ModuleList(Block() for _ in range(blocks))
            self.register_buffer("mask", mask)
            self.norm = nn.LayerNorm(d, eps=1e-8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = torch.remainder((x[0].abs() * 1000).long(), items + 1)
            keep = (ids != 0).float()[:, None]
            h = (self.items[ids] * d**0.5 + self.pos) * keep
            for block in self.blocks:
                h = block(h, self.mask, keep)
            return self.norm(h)[-1:] @ self.items[1:].t()

    return SASRec()


def _sparsemax(z: Any) -> Any:
    """Sparsemax over the last axis of (1, n): the Euclidean projection onto the simplex
    (sorted descending, cumulative sums, the support's threshold, clamped)."""
    import torch

    n = z.shape[-1]
    zs = torch.sort(z, -1, descending=True)[0]
    k = torch.arange(1, n + 1).float()
    cum = torch.cumsum(zs, -1)
    support = (1 + k * zs > cum).float()
    kz = support.sum(-1, keepdim=True)
    tau = (torch.gather(cum, -1, kz.long() - 1) - 1) / kz
    return torch.clamp(z - tau, min=0.0)


def tabnet(features: int, nd: int, steps: int, gamma: float, classes: int) -> Any:
    """TabNet (Arik and Pfister, AAAI 2021) classification of a (1, ``features``) row: BN
    on the input; a feature transformer (two shared and two step-dependent GLU layers, a
    linear layer, BN and a GLU to ``nd`` + ``na`` (= ``nd``) each, residual scaled by the
    root of one half after the first) first on the input, then at each of ``steps``
    decision steps on the input masked by an attentive transformer (a linear layer and
    BN on the previous attention features, times the prior, sparsemax; the prior then
    scaled by ``gamma`` minus the mask); the ReLU decision outputs summed, a linear
    classifier. The Forest Cover Type setting is ``(54, 64, 5, 1.5, 7)``."""
    import torch

    nn = _nn()
    w = 2 * nd

    def glu_layer(a: int) -> Any:
        return nn.Sequential(nn.Linear(a, 2 * w, bias=False), nn.BatchNorm1d(2 * w), nn.GLU(-1))

    class FeatureTransformer(nn.Module):
        def __init__(self, shared: Any) -> None:
            super().__init__()
            self.layers = nn.ModuleList([*shared, glu_layer(w), glu_layer(w)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.layers[0](x)
            for layer in self.layers[1:]:
                x = (x + layer(x)) * math.sqrt(0.5)
            return x

    class TabNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(features)
            shared = [glu_layer(features), glu_layer(w)]
            self.initial = FeatureTransformer(shared)
            self.transformers = nn.ModuleList(FeatureTransformer(shared) for _ in range(steps))
            self.attentive = nn.ModuleList(
                nn.Sequential(nn.Linear(nd, features, bias=False), nn.BatchNorm1d(features))
                for _ in range(steps)
            )
            self.fc = nn.Linear(nd, classes, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.bn(x)
            att = self.initial(x)[:, nd:]
            prior, out = torch.ones_like(x), torch.zeros(1, nd)
            for attentive, transformer in zip(self.attentive, self.transformers, strict=True):
                mask = _sparsemax(attentive(att) * prior)
                prior = prior * (gamma - mask)
                y = transformer(mask * x)
                out, att = out + torch.relu(y[:, :nd]), y[:, nd:]
            return self.fc(out)

    return TabNet()


def _timestep_embedding(t: Any, dim: int) -> Any:
    """The sinusoidal embedding of timestep ``t`` (1,) to ``dim`` (cosines then sines of
    geometric frequencies down to 1/10000)."""
    import torch

    freqs = torch.exp(-math.log(10000.0) * torch.arange(dim // 2).float() / (dim // 2))
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], -1)


def _sincos_2d(d: int, side: int) -> Any:
    """MAE's fixed 2-D sine-cosine position table for a ``side`` x ``side`` grid, (side^2,
    ``d``): half the channels for each axis."""
    import torch

    omega = 1.0 / 10000 ** (torch.arange(d // 4).float() / (d / 4))
    grid = torch.arange(side).float()
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")

    def emb(p: torch.Tensor) -> torch.Tensor:
        out = p.flatten()[:, None] * omega[None]
        return torch.cat([out.sin(), out.cos()], 1)

    return torch.cat([emb(xs), emb(ys)], 1)


def dit(d: int, heads: int, layers: int, patch: int, side: int, classes: int) -> Any:
    """DiT (Peebles and Xie, ICCV 2023) predicting noise and variance for one denoising step
    of a (1, 4, ``side`` + 1, ``side``) tensor: the ``side`` x ``side`` latent and, in an
    extra row, the timestep and the class label (read like ids): ``patch`` x ``patch``
    patches embedded to ``d`` plus fixed 2-D sine-cosine positions; the conditioning (the
    timestep's sinusoidal embedding through an MLP with SiLU, plus the class embedding);
    ``layers`` adaLN-Zero blocks (SiLU and a linear layer of the conditioning to six
    shifts, scales and gates; modulated non-affine layer norms before attention and a
    tanh-GELU MLP of 4 ``d``, gated residuals); a modulated final layer to 8 channels per
    pixel, unpatchified. DiT-S/4 is ``(384, 6, 12, 4, 32, 1000)``."""
    import torch

    nn = _nn()
    n, g = (side // patch) ** 2, side // patch

    def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return x * (1 + scale) + shift

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.n2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(
                nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d)
            )
            self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))

        def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            sm, cm, gm, sf, cf, gf = self.ada(c).chunk(6, -1)
            q, k, v = self.qkv(modulate(self.n1(x), sm, cm)).reshape(n, 3, heads, -1).unbind(1)
            q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
            a = torch.softmax(q @ k.transpose(-1, -2) * (d // heads) ** -0.5, -1) @ v
            x = x + gm * self.proj(a.transpose(0, 1).reshape(n, d))
            return x + gf * self.mlp(modulate(self.n2(x), sf, cf))

    class DiT(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(4, d, patch, patch)
            self.register_buffer("pos", _sincos_2d(d, g))
            self.t_mlp = nn.Sequential(nn.Linear(256, d), nn.SiLU(), nn.Linear(d, d))
            self.y_embed = nn.Parameter(torch.randn(classes + 1, d) * 0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.final_ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
            self.final = nn.Linear(d, patch * patch * 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = torch.remainder(x[0, 0, side, :1].abs() * 1000, 1000.0)
            y = torch.remainder((x[0, 0, side, 1:2].abs() * 1000).long(), classes)
            c = self.t_mlp(_timestep_embedding(t, 256)) + self.y_embed[y]
            h = self.embed(x[:, :, :side]).flatten(2)[0].t() + self.pos
            for block in self.blocks:
                h = block(h, c)
            shift, scale = self.final_ada(c).chunk(2, -1)
            h = self.final(modulate(self.norm(h), shift, scale))
            h = h.reshape(g, g, patch, patch, 8).permute(4, 0, 2, 1, 3)
            return h.reshape(1, 8, side, side)

    return DiT()


def _actnorm(c: int) -> Any:
    """Glow's activation normalisation: a per-channel shift and log-scale; (output,
    log-determinant per pixel)."""
    import torch

    nn = _nn()

    class ActNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b = nn.Parameter(torch.randn(1, c, 1, 1) * 0.05)
            self.logs = nn.Parameter(torch.randn(1, c, 1, 1) * 0.05)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x + self.b) * torch.exp(self.logs)

    return ActNorm()


def _zero_conv(cin: int, cout: int) -> Any:
    """Glow's zero-initialised output conv: a 3x3 conv times exp(3 log-scales)."""
    import torch

    nn = _nn()

    class ZeroConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
            self.logs = nn.Parameter(torch.randn(1, cout, 1, 1) * 0.01)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) * torch.exp(self.logs * 3)

    return ZeroConv()


def _flow_step(c: int, hidden: int) -> Any:
    """A Glow step of flow on (1, ``c``, h, w): actnorm; an invertible 1x1 conv, LU
    parametrised (a fixed permutation, unit lower and upper triangles and a signed
    diagonal of learned log-scales, multiplied out); an affine coupling (the first half
    through a 3x3 conv, actnorm, ReLU, a 1x1 conv, actnorm, ReLU and a zero conv to a
    shift and a sigmoid scale for the second half); (output, the step's
    log-determinant)."""
    import torch

    nn = _nn()

    p, lower, upper = torch.linalg.lu(torch.linalg.qr(torch.randn(c, c))[0])
    diag = torch.diagonal(upper)

    class Step(nn.Module):
        p: torch.Tensor
        sign: torch.Tensor
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.actnorm = _actnorm(c)
            self.register_buffer("p", p)
            self.register_buffer("sign", torch.sign(diag))
            self.register_buffer("mask", torch.ones(c, c).triu(1))
            self.lower, self.upper = nn.Parameter(lower), nn.Parameter(upper)
            self.log_s = nn.Parameter(diag.abs().log())
            self.nn = nn.Sequential(
                *(nn.Conv2d(c // 2, hidden, 3, 1, 1, bias=False), _actnorm(hidden), nn.ReLU()),
                *(nn.Conv2d(hidden, hidden, 1, bias=False), _actnorm(hidden), nn.ReLU()),
                _zero_conv(hidden, c),
            )

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hw = x.shape[2] * x.shape[3]
            eye = torch.eye(c)
            lower = self.lower * self.mask.t() + eye
            upper = self.upper * self.mask + eye * (self.sign * torch.exp(self.log_s))
            w = self.p @ lower @ upper
            x = nn.functional.conv2d(self.actnorm(x), w[:, :, None, None])
            logdet = hw * (self.actnorm.logs.sum() + self.log_s.sum())
            x1, x2 = x[:, : c // 2], x[:, c // 2 :]
            h = self.nn(x1)
            scale = torch.sigmoid(h[:, 1::2] + 2.0)
            x2 = (x2 + h[:, 0::2]) * scale
            return torch.cat([x1, x2], 1), logdet + torch.log(scale).sum()

    return Step()


def glow(levels: int, steps: int, hidden: int) -> Any:
    """Glow (Kingma and Dhariwal, NeurIPS 2018) scoring a (1, 3, 32, 32) image in bits per
    dimension: ``levels`` levels, each a squeeze (2x2 space to depth) and ``steps``
    steps of flow of ``hidden`` wide couplings; all but the last level split off half the
    channels, scored under a Gaussian whose mean and log-scale a zero conv computes from
    the other half; the last level's output under a learned prior; the log-likelihood
    plus the log-determinants, with the 8-bit discretisation, in bits per dimension.
    Glow's CIFAR-10 model is ``(3, 32, 512)``."""
    import torch

    nn = _nn()
    dims = 3 * 32 * 32

    def gaussian(x: torch.Tensor, mean: torch.Tensor, logs: torch.Tensor) -> torch.Tensor:
        return (
            -0.5 * (math.log(2 * math.pi) + 2 * logs + (x - mean) ** 2 * torch.exp(-2 * logs))
        ).sum()

    def squeeze(x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return x.reshape(b, 4 * c, h // 2, w // 2)

    class Glow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.levels = nn.ModuleList()
            self.priors = nn.ModuleList()
            c = 3
            for i in range(levels):
                c *= 4
                self.levels.append(nn.ModuleList(_flow_step(c, hidden) for _ in range(steps)))
                last = i == levels - 1
                self.priors.append(_zero_conv(2 * c, 2 * c) if last else _zero_conv(c // 2, c))
                c = c if last else c // 2
            self.top = nn.Parameter(torch.zeros(1, 2 * c, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            objective = torch.zeros(()) - math.log(256.0) * dims
            for i, (steps_, prior) in enumerate(zip(self.levels, self.priors, strict=True)):
                x = squeeze(x)
                for step in steps_:
                    x, logdet = step(x)
                    objective = objective + logdet
                c = x.shape[1]
                if i < levels - 1:
                    x, z = x[:, : c // 2], x[:, c // 2 :]
                    h = prior(x)
                    objective = objective + gaussian(z, h[:, 0::2], h[:, 1::2])
                else:
                    h = prior(self.top.expand(1, 2 * c, x.shape[2], x.shape[3]))
                    objective = objective + gaussian(x, h[:, 0::2], h[:, 1::2])
            return (-objective / (math.log(2.0) * dims)).reshape(1, 1)

    return Glow()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    return [
        ("resnest", "resnest26d_160x192", partial(resnest, (2, 2, 2, 2), 32), _image(160, 192)),
        (
            "maxvit",
            "maxvit_pico_224",
            partial(maxvit, (32, 64, 128, 256), (2, 2, 5, 2), 32, 7),
            _image(224),
        ),
        (
            "van",
            "van_b0_224",
            partial(van, (32, 64, 160, 256), (3, 3, 5, 2), (8, 8, 4, 4)),
            _image(224),
        ),
        ("fcos", "fcos_r18w32_n128_256x320", partial(fcos, 32, 128, 80), _image(256, 320)),
        (
            "attention_unet",
            "attention_unet_f16_ct_160x224",
            partial(attention_unet, (16, 32, 64, 128, 256), 2),
            (1, 1, 160, 224),
        ),
        ("capsnet", "capsnet_mnist_r3", partial(capsnet, 3), (1, 1, 28, 28)),
        ("lprnet", "lprnet_c68_24x94", partial(lprnet, 68), (1, 3, 24, 94)),
        ("raft", "raft_small_i12_128x160", partial(raft_small, 12, 128, 160), (1, 6, 128, 160)),
        ("superglue", "superglue_l9_s20_2x64", partial(superglue, 9, 20, 64), (1, 2, 64, 259)),
        (
            "demucs",
            "demucs_v2_c32_d5_44k_1s",
            partial(demucs, 32, 5, 4),
            (1, 2, demucs_valid_length(44100, 5)),
        ),
        (
            "encodec",
            "encodec_24k_6kbps_16000",
            partial(encodec, 32, (2, 4, 5, 8), 128, 8),
            (1, 1, 16000),
        ),
        (
            "textcnn",
            "textcnn_multichannel_s64",
            partial(textcnn, 20000, 300, 100, (3, 4, 5), 2),
            (1, 64),
        ),
        ("deberta", "deberta_v3_xsmall_s64", partial(deberta_v3, 384, 6, 12, 64), (1, 64, 384)),
        ("retnet", "retnet_d512_l6_s128", partial(retnet, 512, 2, 6, 128, 32000), (1, 128, 512)),
        (
            "switch",
            "switch_d384_e8_l6_s128",
            partial(switch_encoder, 384, 6, 6, 8, 128),
            (1, 128, 384),
        ),
        ("tft", "tft_electricity_168_24", partial(tft, 160, 4, 168, 24, 3, 3), (1, 192, 4)),
        ("egnn", "egnn_qm9_29atoms", partial(egnn, 128, 7, 15), (1, 29, 18)),
        ("evoformer", "evoformer_b2_s16_r32", partial(evoformer, 2, 256, 128, 32), (1, 16, 32, 49)),
        ("sasrec", "sasrec_ml1m_d50_s200", partial(sasrec, 3416, 50, 2, 1, 200), (1, 200)),
        ("tabnet", "tabnet_l_higgs_28", partial(tabnet, 28, 96, 8, 2.0, 2), (1, 28)),
        ("dit", "dit_s4_latent32", partial(dit, 384, 6, 12, 4, 32, 1000), (1, 4, 33, 32)),
        ("glow", "glow_cifar_l3_k8_h512", partial(glow, 3, 8, 512), _image(32)),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        ("resnet", "resnet18_w64_224", partial(resnet, (2, 2, 2, 2), 64, False), _image(224)),
        ("mobilenetv2", "mbv2_x0.35_32x48", partial(mobilenet, _MBV2, 0.35, False), _image(32, 48)),
        ("efficientnet", "effnet_b0_384x512", partial(efficientnet, 1.0, 1.0), _image(384, 512)),
        ("vit", "vit_t_p16_224x320", partial(vit_rect, 224, 320, 16, 192, 3, 12), _image(224, 320)),
        (
            "convnext",
            "convnext_atto_224x288",
            partial(convnext, (40, 80, 160, 320), (2, 2, 6, 2)),
            _image(224, 288),
        ),
        (
            "fasternet",
            "fasternet_t1_160x256",
            partial(fasternet, (64, 128, 256, 512), (1, 2, 8, 2)),
            _image(160, 256),
        ),
        ("text", "bert_d1024_l2_s8", partial(text_encoder, 1024, 16, 2), (1, 8, 1024)),
        ("gpt", "gpt_d128_l4_s1024_v2000", partial(gpt, 128, 4, 4, 1024, 2000), (1, 1024, 128)),
        ("conformer", "conformer_d144_t600", partial(conformer, 144, 4, 4, 31), (1, 600, 144)),
        (
            "mamba2",
            "mamba2_d384_l6_s32",
            partial(mamba2, 384, 6, 128, 32, 50280),
            (1, 32, 384),
        ),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the twelfth zoo."""
    return _new_families() + _known_families()
