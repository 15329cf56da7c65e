"""A fifteenth held-out zoo of real-world architectures (plain torch), written after the
fourteenth zoo (benchmarks/realworld_zoo14.py), before any prediction of it.

Like the second to fourteenth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the fourteen earlier zoos has, across tasks: SKNet's selective kernel
convolutions (classification; Li et al., CVPR 2019), UNet++'s nested dense skip
pathways with deep supervision (medical segmentation; Zhou et al., DLMIA 2018),
ESPNet's efficient spatial pyramids of dilated convs (real-time segmentation; Mehta et
al., ECCV 2018), Lightweight OpenPose's MobileNet trunk with heatmap and part affinity
field stages (multi-person pose; Osokin, ICPRAM 2019, after Cao et al., CVPR 2017),
RetinaFace's SSH context modules on a MobileNet-0.25 FPN (face detection; Deng et al.,
CVPR 2020), CARN's and CARN-M's cascading residual blocks (super-resolution; Ahn et al.,
ECCV 2018), SlowFast's two pathways with lateral fusion (video recognition; Feichtenhofer
et al., ICCV 2019), the ConvLSTM encoding-forecasting network (video prediction; Shi et
al., NeurIPS 2015), Gated PixelCNN's vertical and horizontal stacks (autoregressive
image model; van den Oord et al., NeurIPS 2016), Wav2Letter's wide 1-D convs (speech
recognition; Collobert et al., arXiv 2016), Tacotron's CBHGs and attention GRU decoder
(text to speech; Wang et al., Interspeech 2017), the PANNs CNN14 and CNN6 (audio
tagging; Kong et al., IEEE/ACM TASLP 2020), DPRNN's intra- and inter-chunk BiLSTMs
(speech separation; Luo et al., ICASSP 2020), Linformer's projected keys and values
(Wang et al., arXiv 2020) and Nyströmformer's landmark attention with an iterative
pseudo-inverse (Xiong et al., AAAI 2021) (efficient text transformers), RNNsearch's
additive attention and greedy GRU decoding (translation; Bahdanau et al., ICLR 2015),
ELMo's character CNN and projected bidirectional LSTM language models (contextual
embeddings; Peters et al., NAACL 2018), NeuMF (He et al., WWW 2017), FiBiNET's SENET
and bilinear interactions (Huang et al., RecSys 2019) and DIEN's interest-evolving
AUGRU (Zhou et al., AAAI 2019) (recommendation), NODE's oblivious differentiable trees
with entmax (tabular; Popov et al., ICLR 2020), GraphSAGE's sampled mean aggregation
(graphs; Hamilton et al., NeurIPS 2017), PointMLP's geometric affine module and
residual point MLPs (point clouds; Ma et al., ICLR 2022), N-HiTS's multi-rate pooling
and hierarchical interpolation (Challu et al., AAAI 2023) and TimesNet's period folding
with 2-D Inception blocks (Wu et al., ICLR 2023) (time series), and DeepONet's branch
and trunk nets (operator learning; Lu et al., Nature Machine Intelligence 2021). Every
input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import Builder, _cbr, _nn
from realworld_zoo3 import _image


def _ids(x: Any, vocab: int) -> Any:
    """Integer ids in [0, ``vocab``) read from a float tensor, like the other zoos'."""
    import torch

    return torch.remainder((x.abs() * 1000).long(), vocab)


def _sk_conv(c: int, groups: int, s: int, r: int = 16, lmin: int = 32) -> Any:
    """SKNet's selective kernel convolution on ``c`` channels: split (two grouped 3x3
    conv-BN-ReLU branches of dilation 1 and 2 and stride ``s``), fuse (the branches
    summed, global pooling, a 1x1 conv-BN-ReLU to max(``c`` / ``r``, ``lmin``)) and
    select (a 1x1 conv to two ``c`` logits, a softmax across the branches, the branches
    reweighted and summed)."""
    import torch

    nn = _nn()
    d = max(c // r, lmin)

    def branch(dil: int) -> Any:
        conv = nn.Conv2d(c, c, 3, s, dil, dil, groups=groups, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(c), nn.ReLU())

    class SKConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = branch(1), branch(2)
            self.fuse = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(c, d, 1, bias=False),
                nn.BatchNorm2d(d),
                nn.ReLU(),
            )
            self.select = nn.Conv2d(d, 2 * c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = self.a(x), self.b(x)
            w = torch.softmax(self.select(self.fuse(a + b)).reshape(1, 2, c, 1, 1), 1)
            return a * w[:, 0] + b * w[:, 1]

    return SKConv()


def _sk_unit(cin: int, mid: int, cout: int, s: int, groups: int = 32) -> Any:
    """SKNet's bottleneck unit: a 1x1 conv-BN-ReLU to ``mid``, a selective kernel conv of
    stride ``s``, a 1x1 conv-BN to ``cout``; a 1x1 conv-BN shortcut when the shape
    changes; ReLU after the sum."""
    import torch

    nn = _nn()

    class Unit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                _cbr(cin, mid, 1, act=nn.ReLU), _sk_conv(mid, groups, s), _cbr(mid, cout, 1)
            )
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    return Unit()


def sknet(depths: tuple[int, ...], classes: int = 1000) -> Any:
    """SKNet (Li et al., "Selective Kernel Networks", CVPR 2019) classification: a 7x7
    stride-2 conv-BN-ReLU to 64 and max pooling; four stages of ``depths`` SK units
    (widths 128 to 1024 inside, 256 to 2048 out, 32 groups, the first unit of the later
    stages of stride 2); pooling and a classifier. SKNet-50 is ``(3, 4, 6, 3)``,
    SKNet-26 ``(2, 2, 2, 2)``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, 64, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    c = 64
    for i, n in enumerate(depths):
        mid, cout = 128 * 2**i, 256 * 2**i
        for j in range(n):
            layers.append(_sk_unit(c, mid, cout, 2 if i > 0 and j == 0 else 1))
            c = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def unetpp(cin: int, base: int, classes: int) -> Any:
    """UNet++ (Zhou et al., DLMIA 2018) segmentation: a five-level encoder X(i, 0) of VGG
    blocks (two 3x3 conv-BN-ReLUs, ``base`` 2^i wide, max pooled between levels) and the
    nested dense skip pathways: node X(i, j) is a VGG block on the concatenation of all
    X(i, k < j) and the bilinearly upsampled X(i + 1, j - 1); deep supervision, the 1x1
    conv heads on X(0, 1..4) averaged (the accurate mode)."""
    import torch

    nn = _nn()
    F = nn.functional
    f = [base * 2**i for i in range(5)]

    def vgg(a: int, b: int) -> Any:
        return nn.Sequential(_cbr(a, b, 3, act=nn.ReLU), _cbr(b, b, 3, act=nn.ReLU))

    class UNetPP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            nodes = {}
            for i in range(5):
                nodes[f"{i}_0"] = vgg(cin if i == 0 else f[i - 1], f[i])
                for j in range(1, 5 - i):
                    nodes[f"{i}_{j}"] = vgg(f[i] * j + f[i + 1], f[i])
            self.nodes = nn.ModuleDict(nodes)
            self.heads = nn.ModuleList(nn.Conv2d(f[0], classes, 1) for _ in range(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h: dict[tuple[int, int], torch.Tensor] = {(0, 0): self.nodes["0_0"](x)}
            for i in range(1, 5):
                h[i, 0] = self.nodes[f"{i}_0"](F.max_pool2d(h[i - 1, 0], 2))
            for j in range(1, 5):
                for i in range(5 - j):
                    up = F.interpolate(
                        h[i + 1, j - 1], scale_factor=2.0, mode="bilinear", align_corners=True
                    )
                    h[i, j] = self.nodes[f"{i}_{j}"](
                        torch.cat([*(h[i, k] for k in range(j)), up], 1)
                    )
            return sum(head(h[0, j + 1]) for j, head in enumerate(self.heads)) / 4

    return UNetPP()


def _conv_dw(cin: int, cout: int, s: int = 1, d: int = 1, bn: bool = True, act: Any = None) -> Any:
    """A 3x3 depthwise conv (stride ``s``, dilation ``d``) and a 1x1 conv to ``cout``,
    each with BN (when ``bn``) and ``act`` (ReLU by default)."""
    nn = _nn()
    act = act or nn.ReLU
    dw = nn.Conv2d(cin, cin, 3, s, d, d, groups=cin, bias=not bn)
    pw = nn.Conv2d(cin, cout, 1, bias=not bn)
    norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
    return nn.Sequential(dw, norm(cin), act(), pw, norm(cout), act())


def _conv(cin: int, cout: int, k: int = 3, d: int = 1, bn: bool = True, relu: bool = True):
    """A ``k`` x ``k`` conv (dilation ``d``) with optional BN and ReLU."""
    nn = _nn()
    layers = [nn.Conv2d(cin, cout, k, 1, d * (k // 2), d, bias=not bn)]
    return nn.Sequential(
        *layers, *([nn.BatchNorm2d(cout)] if bn else []), *([nn.ReLU()] if relu else [])
    )


def lightweight_openpose(refinements: int = 1, c: int = 128, heat: int = 19, paf: int = 38):
    """Lightweight OpenPose (Osokin, ICPRAM 2019; the part affinity fields of Cao et al.,
    CVPR 2017) multi-person pose: a MobileNetV1 trunk to conv5_5 at stride 8 (conv4_2's
    successor dilated by 2); the CPM (a 1x1 align conv, three depthwise separable
    conv-ELUs added back, a 3x3 conv); the initial stage (three 3x3 convs, then 1x1
    heads to ``heat`` heatmaps and ``paf`` part affinity fields through 512); ``
    refinements`` refinement stages on the features and both maps (five blocks of a 1x1
    conv and a 3x3 plus a dilated 3x3 conv-BN-ReLU added back, 1x1 heads); the last
    heatmaps and PAFs."""
    import torch

    nn = _nn()
    plan = [(32, 64, 1, 1), (64, 128, 2, 1), (128, 128, 1, 1), (128, 256, 2, 1)]
    plan += [(256, 256, 1, 1), (256, 512, 1, 1), (512, 512, 1, 2)] + [(512, 512, 1, 1)] * 4

    def heads(cin: int, mid: int) -> Any:
        return nn.ModuleList(
            nn.Sequential(_conv(cin, mid, 1, bn=False), _conv(mid, n, 1, bn=False, relu=False))
            for n in (heat, paf)
        )

    class RefineBlock(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.initial = _conv(cin, c, 1, bn=False)
            self.trunk = nn.Sequential(_conv(c, c), _conv(c, c, d=2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.initial(x)
            return x + self.trunk(x)

    class OpenPose(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            trunk = [_cbr(3, 32, 3, 2, act=nn.ReLU)]
            self.trunk = nn.Sequential(*trunk, *(_conv_dw(a, b, s, d) for a, b, s, d in plan))
            self.align = _conv(512, c, 1, bn=False)
            self.cpm = nn.Sequential(*(_conv_dw(c, c, bn=False, act=nn.ELU) for _ in range(3)))
            self.cpm_out = _conv(c, c, bn=False)
            self.init_trunk = nn.Sequential(*(_conv(c, c, bn=False) for _ in range(3)))
            self.init_heads = heads(c, 512)
            self.refine = nn.ModuleList(
                nn.Sequential(*(RefineBlock(c + heat + paf if i == 0 else c) for i in range(5)))
                for _ in range(refinements)
            )
            self.refine_heads = nn.ModuleList(heads(c, c) for _ in range(refinements))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.align(self.trunk(x))
            f = self.cpm_out(f + self.cpm(f))
            t = self.init_trunk(f)
            h, p = (head(t) for head in self.init_heads)
            for stage, hs in zip(self.refine, self.refine_heads, strict=True):
                t = stage(torch.cat([f, h, p], 1))
                h, p = (head(t) for head in hs)
            return torch.cat([h, p], 1)

    return OpenPose()


def _carn_res(c: int, mobile: bool) -> Any:
    """CARN's residual block (conv, ReLU, conv, the input added, ReLU) or, when
    ``mobile``, CARN-M's efficient residual block (two grouped (4) 3x3 conv-ReLUs and a
    1x1 conv, the input added, ReLU)."""
    import torch

    nn = _nn()

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if mobile:
                self.body = nn.Sequential(
                    *(nn.Conv2d(c, c, 3, 1, 1, groups=4), nn.ReLU()),
                    *(nn.Conv2d(c, c, 3, 1, 1, groups=4), nn.ReLU()),
                    nn.Conv2d(c, c, 1),
                )
            else:
                self.body = nn.Sequential(
                    nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x + self.body(x))

    return Res()


def _carn_cascade(c: int, blocks: Any) -> Any:
    """CARN's cascade over three ``blocks``: each block's output concatenated with the
    input and all earlier outputs and fused by a 1x1 conv-ReLU into the next block's
    input; the last fusion's output."""
    import torch

    nn = _nn()

    class Cascade(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = blocks
            self.fuse = nn.ModuleList(
                nn.Sequential(nn.Conv2d(c * (i + 2), c, 1), nn.ReLU()) for i in range(3)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            cat, o = x, x
            for block, fuse in zip(self.blocks, self.fuse, strict=True):
                cat = torch.cat([cat, block(o)], 1)
                o = fuse(cat)
            return o

    return Cascade()


def carn(mobile: bool, scale: int, c: int = 64) -> Any:
    """CARN (Ahn et al., "Fast, Accurate, and Lightweight Super-Resolution with Cascading
    Residual Network", ECCV 2018) upscaling by ``scale``: mean shift, a 3x3 conv to
    ``c``; three cascading blocks joined by the global cascade; inside each, three
    residual blocks in a local cascade (CARN-M, when ``mobile``: efficient residual
    blocks, one shared by the three); 3x3 conv-ReLU-pixel-shuffle upsampling (grouped in
    CARN-M); a 3x3 conv to RGB."""
    import torch

    nn = _nn()
    g = 4 if mobile else 1

    def local() -> Any:
        if mobile:
            shared = _carn_res(c, True)
            return nn.ModuleList([shared, shared, shared])
        return nn.ModuleList(_carn_res(c, False) for _ in range(3))

    class CARN(nn.Module):
        mean: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer(
                "mean", torch.tensor([0.4488, 0.4371, 0.4040])[None, :, None, None]
            )
            self.entry = nn.Conv2d(3, c, 3, 1, 1)
            cascades = nn.ModuleList(_carn_cascade(c, local()) for _ in range(3))
            self.body = _carn_cascade(c, cascades)
            ups: list[Any] = []
            for r in [3] if scale == 3 else [2] * int(math.log2(scale)):
                ups += [nn.Conv2d(c, r * r * c, 3, 1, 1, groups=g), nn.ReLU(), nn.PixelShuffle(r)]
            self.up = nn.Sequential(*ups)
            self.exit = nn.Conv2d(c, 3, 3, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.exit(self.up(self.body(self.entry(x - self.mean)))) + self.mean

    return CARN()


def _conv_bn(cin: int, cout: int, k: int = 3, s: int = 1, leaky: float | None = 0.1) -> Any:
    """A ``k`` x ``k`` conv-BN (stride ``s``) and a leaky ReLU (none when ``leaky`` is
    None)."""
    nn = _nn()
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([nn.LeakyReLU(leaky)] if leaky is not None else []))


def _ssh(c: int) -> Any:
    """RetinaFace's SSH context module: a 3x3 conv-BN to ``c`` / 2 beside stacked 3x3
    convs to ``c`` / 4 giving 5x5 and 7x7 receptive fields, concatenated and ReLU'd."""
    import torch

    nn = _nn()

    class SSH(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c3 = _conv_bn(c, c // 2, leaky=None)
            self.c5_1, self.c5_2 = _conv_bn(c, c // 4), _conv_bn(c // 4, c // 4, leaky=None)
            self.c7_2, self.c7_3 = _conv_bn(c // 4, c // 4), _conv_bn(c // 4, c // 4, leaky=None)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.c5_1(x)
            u = self.c7_2(t)
            return torch.relu(torch.cat([self.c3(x), self.c5_2(t), self.c7_3(u)], 1))

    return SSH()


def retinaface(fpn: int = 64, anchors: int = 2) -> Any:
    """RetinaFace (Deng et al., CVPR 2020) face detection with the MobileNet-0.25
    backbone of its public models: depthwise separable conv-BN-leaky-ReLU stages to 64,
    128 and 256 channels at strides 8, 16 and 32; an FPN of ``fpn`` (1x1 laterals,
    nearest upsampling, 3x3 merges); an SSH context module per level; 1x1 heads per level
    to ``anchors`` x (2 class scores, 4 box offsets, 10 landmark coordinates); every
    anchor's softmaxed scores, box and landmarks concatenated."""
    import torch

    nn = _nn()
    F = nn.functional
    act = partial(nn.LeakyReLU, 0.1)
    plans = [
        [(8, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1)],
        [(64, 128, 2)] + [(128, 128, 1)] * 5,
        [(128, 256, 2), (256, 256, 1)],
    ]

    class RetinaFace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stages = [[_conv_bn(3, 8, 3, 2)], [], []]
            for stage, plan in zip(stages, plans, strict=True):
                stage += [_conv_dw(a, b, s, act=act) for a, b, s in plan]
            self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
            self.lateral = nn.ModuleList(_conv_bn(c, fpn, 1) for c in (64, 128, 256))
            self.merge = nn.ModuleList(_conv_bn(fpn, fpn) for _ in range(2))
            self.ssh = nn.ModuleList(_ssh(fpn) for _ in range(3))
            self.heads = nn.ModuleList(
                nn.ModuleList(nn.Conv2d(fpn, anchors * n, 1) for n in (2, 4, 10)) for _ in range(3)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for stage in self.stages:
                x = stage(x)
                feats.append(x)
            p = [lat(f) for lat, f in zip(self.lateral, feats, strict=True)]
            for i in (1, 0):
                up = F.interpolate(p[i + 1], p[i].shape[2:], mode="nearest")
                p[i] = self.merge[i](p[i] + up)
            outs = []
            for f, ssh, heads in zip(p, self.ssh, self.heads, strict=True):
                f = ssh(f)
                o = [
                    h(f).permute(0, 2, 3, 1).reshape(1, -1, n)
                    for h, n in zip(heads, (2, 4, 10), strict=True)
                ]
                outs.append(torch.cat([torch.softmax(o[0], -1), o[1], o[2]], -1))
            return torch.cat(outs, 1)

    return RetinaFace()


def _esp_block(cin: int, cout: int, down: bool, add: bool) -> Any:
    """ESPNet's efficient spatial pyramid module: a 3x3 stride-2 conv (``down``) or a 1x1
    conv to ``cout`` / 5; five parallel 3x3 convs of dilation 1, 2, 4, 8 and 16; the
    hierarchical feature fusion (each dilated output summed with the larger-dilation
    ones before it), concatenation, the input added (when ``add``), BN and PReLU."""
    import torch

    nn = _nn()
    n = cout // 5
    n1 = cout - 4 * n

    class ESP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.reduce = (
                nn.Conv2d(cin, n, 3, 2, 1, bias=False) if down else nn.Conv2d(cin, n, 1, bias=False)
            )
            self.dil = nn.ModuleList(
                nn.Conv2d(n, n1 if d == 1 else n, 3, 1, d, d, bias=False) for d in (1, 2, 4, 8, 16)
            )
            self.out = nn.Sequential(nn.BatchNorm2d(cout, eps=1e-3), nn.PReLU(cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = self.reduce(x)
            d = [conv(r) for conv in self.dil]
            fused = [d[0], d[1]]
            for i in (2, 3, 4):
                fused.append(fused[-1] + d[i])
            y = torch.cat(fused, 1)
            return self.out(x + y if add else y)

    return ESP()


def espnet(classes: int, p: int = 5, q: int = 3) -> Any:
    """ESPNet (Mehta et al., ECCV 2018) semantic segmentation: a 3x3 stride-2
    conv-BN-PReLU to 16 joined by the average-pooled image; a strided ESP module to 64
    and ``p`` residual ESP modules (joined by their input and the image at 1/4); a
    strided ESP module to 128 and ``q`` residual ones (joined by their input); the
    decoder (a 1x1 classifier, 2x transposed-conv upsampling, fusion with the 1/4
    features' classifier by an ESP module, upsampling, a 3x3 conv-BN-PReLU with the 1/2
    features, a last transposed conv to full resolution). Cityscapes uses
    ``(20, 5, 3)``."""
    import torch

    nn = _nn()
    F = nn.functional

    def br(c: int) -> Any:
        return nn.Sequential(nn.BatchNorm2d(c, eps=1e-3), nn.PReLU(c))

    def up(c: int) -> Any:
        return nn.ConvTranspose2d(c, c, 2, 2, bias=False)

    class ESPNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.level1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), br(16))
            self.b1, self.b2, self.b3 = br(19), br(131), br(256)
            self.level2_0 = _esp_block(19, 64, True, False)
            self.level2 = nn.Sequential(*(_esp_block(64, 64, False, True) for _ in range(p)))
            self.level3_0 = _esp_block(131, 128, True, False)
            self.level3 = nn.Sequential(*(_esp_block(128, 128, False, True) for _ in range(q)))
            self.cls3 = nn.Sequential(
                nn.Conv2d(256, classes, 1, bias=False), nn.BatchNorm2d(classes, eps=1e-3)
            )
            self.up3 = nn.Sequential(up(classes), br(classes))
            self.cls2 = nn.Conv2d(131, classes, 1, bias=False)
            self.fuse = _esp_block(2 * classes, classes, False, False)
            self.up2 = nn.Sequential(up(classes), br(classes))
            self.conv = nn.Sequential(
                nn.Conv2d(19 + classes, classes, 3, 1, 1, bias=False), br(classes)
            )
            self.out = up(classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            i1 = F.avg_pool2d(x, 3, 2, 1)
            i2 = F.avg_pool2d(i1, 3, 2, 1)
            o0 = self.b1(torch.cat([self.level1(x), i1], 1))
            o1_0 = self.level2_0(o0)
            o1 = self.b2(torch.cat([self.level2(o1_0), o1_0, i2], 1))
            o2_0 = self.level3_0(o1)
            o2 = self.b3(torch.cat([o2_0, self.level3(o2_0)], 1))
            c3 = self.up3(self.cls3(o2))
            c2 = self.up2(self.fuse(torch.cat([self.cls2(o1), c3], 1)))
            return self.out(self.conv(torch.cat([c2, o0], 1)))

    return ESPNet()


def _slowfast_block(cin: int, inner: int, cout: int, tk: int, s: int) -> Any:
    """A SlowFast ResNet bottleneck: a ``tk`` x 1 x 1 conv-BN-ReLU to ``inner``, a 1 x 3
    x 3 conv-BN-ReLU of spatial stride ``s``, a 1x1x1 conv-BN to ``cout``; a 1x1x1
    conv-BN shortcut when the shape changes; ReLU after the sum."""
    import torch

    nn = _nn()

    def cbr3(a: int, b: int, k: Any, st: Any, pad: Any, relu: bool = True) -> Any:
        layers = [nn.Conv3d(a, b, k, st, pad, bias=False), nn.BatchNorm3d(b)]
        return nn.Sequential(*layers, *([nn.ReLU()] if relu else []))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                cbr3(cin, inner, (tk, 1, 1), 1, (tk // 2, 0, 0)),
                cbr3(inner, inner, (1, 3, 3), (1, s, s), (0, 1, 1)),
                cbr3(inner, cout, 1, 1, 0, relu=False),
            )
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else cbr3(cin, cout, 1, (1, s, s), 0, relu=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    return Block()


def slowfast(depths: tuple[int, ...], alpha: int, beta_inv: int = 8, classes: int = 400) -> Any:
    """SlowFast (Feichtenhofer et al., ICCV 2019) action recognition of a (1, 3, T, h, w)
    clip: the Slow pathway on every ``alpha``-th frame (a 1x7x7 stride-2 conv stem to 64,
    max pooling, ResNet bottleneck stages of ``depths`` to 256..2048 with temporal
    kernels only in res4 and res5), the Fast pathway on all frames with 1/``beta_inv``
    the channels (a 5x7x7 stem, temporal kernels of 3 everywhere); after the stem and
    res2-res4 a lateral 5x1x1 conv of temporal stride ``alpha`` fuses Fast into Slow by
    concatenation; both pooled, concatenated and classified. SlowFast 4x16 R50 is
    ``((3, 4, 6, 3), 8)``."""
    import torch

    nn = _nn()

    def stem(cout: int, tk: int) -> Any:
        conv = nn.Conv3d(3, cout, (tk, 7, 7), (1, 2, 2), (tk // 2, 3, 3), bias=False)
        pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        return nn.Sequential(conv, nn.BatchNorm3d(cout), nn.ReLU(), pool)

    def lateral(cf: int) -> Any:
        conv = nn.Conv3d(cf, 2 * cf, (5, 1, 1), (alpha, 1, 1), (2, 0, 0), bias=False)
        return nn.Sequential(conv, nn.BatchNorm3d(2 * cf), nn.ReLU())

    def stage(i: int, n: int, cin: int, inner: int, cout: int, tk: int) -> Any:
        return nn.Sequential(
            *(
                _slowfast_block(cout if j else cin, inner, cout, tk, 2 if i > 0 and j == 0 else 1)
                for j in range(n)
            )
        )

    class SlowFast(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cs, cf = 64, 64 // beta_inv
            self.stems = nn.ModuleList([stem(cs, 1), stem(cf, 5)])
            self.laterals = nn.ModuleList()
            self.slow, self.fast = nn.ModuleList(), nn.ModuleList()
            for i, n in enumerate(depths):
                self.laterals.append(lateral(cf))
                s_in, s_out = 64 * 2**i, 256 * 2**i
                f_in, f_out = s_in // beta_inv, s_out // beta_inv
                self.slow.append(stage(i, n, cs + 2 * cf, s_in, s_out, 3 if i >= 2 else 1))
                self.fast.append(stage(i, n, cf, f_in, f_out, 3))
                cs, cf = s_out, f_out
            self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(cs + cf, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s, f = self.stems[0](x[:, :, ::alpha]), self.stems[1](x)
            for lat, slow, fast in zip(self.laterals, self.slow, self.fast, strict=True):
                s = slow(torch.cat([s, lat(f)], 1))
                f = fast(f)
            return self.head(torch.cat([s.mean((2, 3, 4)), f.mean((2, 3, 4))], 1))

    return SlowFast()


def _convlstm_cell(a: int, h: int, k: int, g: int) -> Any:
    """A ConvLSTM cell of ``h`` channels on a ``g`` x ``g`` grid: one ``k`` x ``k`` conv of
    the input (``a`` channels, none when 0) and the hidden state to the four gates, the
    input, forget and output gates with peephole Hadamard terms on the cell."""
    import torch

    nn = _nn()

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(a + h, 4 * h, k, 1, k // 2)
            self.peep = nn.Parameter(torch.zeros(3, h, g, g))

        def forward(self, x: Any, hs: torch.Tensor, c: torch.Tensor) -> Any:
            z = self.conv(hs if x is None else torch.cat([x, hs], 1))
            i, f, gg, o = z.chunk(4, 1)
            i = torch.sigmoid(i + self.peep[0] * c)
            f = torch.sigmoid(f + self.peep[1] * c)
            c = f * c + i * torch.tanh(gg)
            return torch.sigmoid(o + self.peep[2] * c) * torch.tanh(c), c

    return Cell()


def convlstm(
    t_in: int, t_out: int, hidden: tuple[int, ...], k: int, size: int = 64, patch: int = 4
) -> Any:
    """The ConvLSTM encoding-forecasting network (Shi et al., NeurIPS 2015) predicting
    ``t_out`` frames from a (1, ``t_in``, ``size``, ``size``) sequence: every frame cut
    into ``patch`` x ``patch`` patches (space to depth); an encoder of stacked ConvLSTM
    layers of ``hidden`` (input-to-state and state-to-state ``k`` x ``k`` convs, peephole
    Hadamard terms on the cell); a forecaster of as many layers initialised with the
    encoder's states (its first layer without input); each forecast step's hidden
    states concatenated, a 1x1 conv to the patches, depth to space and a sigmoid."""
    import torch

    nn = _nn()
    F = nn.functional
    g = size // patch
    cin = patch * patch

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ins = [cin, *hidden[:-1]]
            self.enc = nn.ModuleList(
                _convlstm_cell(a, h, k, g) for a, h in zip(ins, hidden, strict=True)
            )
            self.dec = nn.ModuleList(
                _convlstm_cell(0 if i == 0 else a, h, k, g)
                for i, (a, h) in enumerate(zip(ins, hidden, strict=True))
            )
            self.out = nn.Conv2d(sum(hidden), cin, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            frames = F.pixel_unshuffle(x[0][:, None], patch)  # (t_in, cin, g, g)
            hs = [torch.zeros(1, h, g, g) for h in hidden]
            cs = [torch.zeros(1, h, g, g) for h in hidden]
            for t in range(t_in):
                inp = frames[t : t + 1]
                for i, cell in enumerate(self.enc):
                    hs[i], cs[i] = cell(inp, hs[i], cs[i])
                    inp = hs[i]
            preds = []
            for _ in range(t_out):
                inp = None
                for i, cell in enumerate(self.dec):
                    hs[i], cs[i] = cell(inp, hs[i], cs[i])
                    inp = hs[i]
                preds.append(self.out(torch.cat(hs, 1)))
            return torch.sigmoid(F.pixel_shuffle(torch.cat(preds, 0), patch))[:, 0][None]

    return Net()


def gated_pixelcnn(cin: int, c: int, layers: int, k: int = 3, levels: int = 256) -> Any:
    """Gated PixelCNN (van den Oord et al., "Conditional Image Generation with PixelCNN
    Decoders", NeurIPS 2016) logits of a (1, ``cin``, h, w) image: a vertical and a
    horizontal stack with no blind spot (the masks as shifted (k/2 + 1) x k and 1 x (k/2
    + 1) convs, the vertical stack fed down-shifted through a 1x1 conv into the
    horizontal one), gated tanh x sigmoid units of ``c`` channels, the horizontal stack
    residual with a 1x1 conv; a first layer of 7 x 7 with mask A and ``layers`` - 1 of
    ``k`` x ``k``; two ReLU 1x1 convs to ``levels`` logits per subpixel."""
    import torch

    nn = _nn()
    F = nn.functional

    class Layer(nn.Module):
        def __init__(self, a: int, kk: int, first: bool) -> None:
            super().__init__()
            self.kk, self.first = kk, first
            self.v = nn.Conv2d(a, 2 * c, (kk // 2 + 1, kk))
            self.v2h = nn.Conv2d(2 * c, 2 * c, 1)
            self.h = nn.Conv2d(a, 2 * c, (1, kk // 2 + 1))
            self.h_out = nn.Conv2d(c, c, 1)

        def forward(self, v: torch.Tensor, h: torch.Tensor) -> Any:
            kk = self.kk
            vo = self.v(F.pad(v, (kk // 2, kk // 2, kk // 2, 0)))
            hin = F.pad(h, (kk // 2 + 1, 0))[:, :, :, :-1] if self.first else F.pad(h, (kk // 2, 0))
            ho = self.h(hin) + self.v2h(F.pad(vo, (0, 0, 1, 0))[:, :, :-1])
            va, vb = vo.chunk(2, 1)
            ha, hb = ho.chunk(2, 1)
            hn = self.h_out(torch.tanh(ha) * torch.sigmoid(hb))
            return torch.tanh(va) * torch.sigmoid(vb), hn if self.first else h + hn

    class PixelCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                Layer(cin if i == 0 else c, 7 if i == 0 else k, i == 0) for i in range(layers)
            )
            self.out = nn.Sequential(
                nn.ReLU(), nn.Conv2d(c, 4 * c, 1), nn.ReLU(), nn.Conv2d(4 * c, cin * levels, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            v = h = x
            for layer in self.layers:
                v, h = layer(v, h)
            _, _, hh, ww = x.shape
            return self.out(h).reshape(1, cin, levels, hh, ww)

    return PixelCNN()


def wav2letter(features: int, waveform: bool = False, classes: int = 40) -> Any:
    """Wav2Letter's acoustic model (Collobert et al., arXiv 2016; torchaudio's layout) on
    (1, ``features``, frames) MFCCs, or on a raw (1, 1, samples) waveform through a
    250-wide conv of stride 160 to 250 channels first: a 48-wide stride-2 conv to 250,
    seven 7-wide convs of 250, a 32-wide conv to 2000, 1x1 convs to 2000 and to
    ``classes`` (ReLUs between) and a log-softmax over the letters per frame."""
    nn = _nn()
    layers: list[Any] = [nn.Conv1d(1, 250, 250, 160, 45), nn.ReLU()] if waveform else []
    layers += [nn.Conv1d(250 if waveform else features, 250, 48, 2, 23), nn.ReLU()]
    for _ in range(7):
        layers += [nn.Conv1d(250, 250, 7, 1, 3), nn.ReLU()]
    layers += [nn.Conv1d(250, 2000, 32, 1, 16), nn.ReLU(), nn.Conv1d(2000, 2000, 1), nn.ReLU()]
    return nn.Sequential(*layers, nn.Conv1d(2000, classes, 1), nn.LogSoftmax(1))


def _gru_cell(a: int, h: int) -> Any:
    """A GRU cell (input ``a``, state ``h``) of plain linear layers: reset and update
    gates, the candidate with the reset applied to the state's projection."""
    import torch

    nn = _nn()

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x, self.h = nn.Linear(a, 3 * h), nn.Linear(h, 3 * h)

        def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
            xr, xz, xn = self.x(x).chunk(3, -1)
            hr, hz, hn = self.h(s).chunk(3, -1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            return (1 - z) * torch.tanh(xn + r * hn) + z * s

    return Cell()


def _cbhg(cin: int, k: int, proj: tuple[int, int], d: int = 128) -> Any:
    """Tacotron's CBHG on (1, ``cin``, steps): a bank of ``k`` convs of widths 1..``k``
    (128 each, BN, ReLU) concatenated, max pooling of width 2 and stride 1, two 3-wide
    conv projections to ``proj`` (BN; ReLU on the first) plus the input; a linear layer
    to ``d`` when the widths differ; four highway layers of ``d``; a bidirectional GRU of
    ``d``; (1, steps, 2 ``d``)."""
    import torch

    nn = _nn()
    F = nn.functional

    def conv_bn(a: int, b: int, w: int) -> Any:
        return nn.Sequential(nn.Conv1d(a, b, w, 1, w // 2, bias=False), nn.BatchNorm1d(b))

    class CBHG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bank = nn.ModuleList(conv_bn(cin, 128, w) for w in range(1, k + 1))
            self.proj1, self.proj2 = conv_bn(k * 128, proj[0], 3), conv_bn(proj[0], proj[1], 3)
            self.pre = nn.Linear(proj[1], d, bias=False) if proj[1] != d else nn.Identity()
            self.highway = nn.ModuleList(nn.Linear(d, 2 * d) for _ in range(4))
            self.gru = nn.GRU(d, d, batch_first=True, bidirectional=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[2]
            y = torch.cat([torch.relu(conv(x)[:, :, :n]) for conv in self.bank], 1)
            y = F.max_pool1d(F.pad(y, (0, 1)), 2, 1)
            y = self.proj2(torch.relu(self.proj1(y))) + x
            h = self.pre(y.transpose(1, 2))
            for hw in self.highway:
                a, t = hw(h).chunk(2, -1)
                t = torch.sigmoid(t)
                h = torch.relu(a) * t + h * (1 - t)
            return self.gru(h)[0]

    return CBHG()


def tacotron(steps: int, r: int = 2, vocab: int = 70, mels: int = 80, linear: int = 1025) -> Any:
    """Tacotron (Wang et al., Interspeech 2017) text to linear spectrogram from (1,
    chars) ids: a character embedding of 256, the encoder pre-net (dense 256 and 128,
    ReLU) and the encoder CBHG (16 conv widths); ``steps`` greedy decoder steps each
    emitting ``r`` mel frames (the decoder pre-net on the last frame, an attention GRU of
    256, Bahdanau additive attention over the encoder states, two residual GRUs of 256
    on the projected state and context, a linear layer to ``r`` frames); the
    post-processing CBHG (8 conv widths, projections 256 and 80) and a linear layer to
    ``linear`` bins."""
    import torch

    nn = _nn()

    def prenet(a: int) -> Any:
        return nn.Sequential(nn.Linear(a, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())

    class Tacotron(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.enc_pre = nn.Embedding(vocab, 256), prenet(256)
            self.enc = _cbhg(128, 16, (128, 128))
            self.dec_pre = prenet(mels)
            self.attn_rnn = _gru_cell(128 + 256, 256)
            self.wq, self.wm = nn.Linear(256, 256, bias=False), nn.Linear(256, 256)
            self.v = nn.Linear(256, 1, bias=False)
            self.dec_in = nn.Linear(512, 256)
            self.dec_rnns = nn.ModuleList(_gru_cell(256, 256) for _ in range(2))
            self.frames = nn.Linear(256, mels * r)
            self.post = _cbhg(mels, 8, (256, mels))
            self.out = nn.Linear(256, linear)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem = self.enc(self.enc_pre(self.embed(_ids(x, vocab))).transpose(1, 2))[0]
            keys = self.wm(mem)  # (chars, 256)
            frame, ctx = torch.zeros(1, mels), torch.zeros(1, 256)
            h_att = torch.zeros(1, 256)
            h_dec = [torch.zeros(1, 256), torch.zeros(1, 256)]
            outs = []
            for _ in range(steps):
                h_att = self.attn_rnn(torch.cat([self.dec_pre(frame), ctx], -1), h_att)
                e = self.v(torch.tanh(keys + self.wq(h_att))).t()  # (1, chars)
                ctx = torch.softmax(e, -1) @ mem
                y = self.dec_in(torch.cat([h_att, ctx], -1))
                for i, rnn in enumerate(self.dec_rnns):
                    h_dec[i] = rnn(y, h_dec[i])
                    y = y + h_dec[i]
                out = self.frames(y).reshape(r, mels)
                outs.append(out)
                frame = out[-1:]
            spec = torch.cat(outs, 0).t()[None]  # (1, mels, steps r)
            return self.out(self.post(spec))

    return Tacotron()


def panns(widths: tuple[int, ...], double: bool, mels: int = 64, classes: int = 527) -> Any:
    """A PANNs audio tagging CNN (Kong et al., IEEE/ACM TASLP 2020) on a (1, 1, frames,
    ``mels``) log-mel spectrogram: batch norm over the mel bins; conv blocks of
    ``widths`` (CNN14: two 3x3 conv-BN-ReLUs, CNN6: one 5x5, when not ``double``), each
    average pooled 2x2 but the sixth; the mean over frequency, max and average pooling
    of width 3 over time summed, the max and the mean over time summed; a ReLU dense layer
    and sigmoid scores for the ``classes`` AudioSet labels. CNN14 is ``((64, 128, 256,
    512, 1024, 2048), True)``, CNN6 ``((64, 128, 256, 512), False)``."""
    import torch

    nn = _nn()
    F = nn.functional

    class PANN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn0 = nn.BatchNorm2d(mels)
            blocks, c = [], 1
            for i, w in enumerate(widths):
                convs = [_cbr(c, w, 3, act=nn.ReLU), _cbr(w, w, 3, act=nn.ReLU)] if double else []
                convs = convs or [_cbr(c, w, 5, act=nn.ReLU)]
                pool = nn.AvgPool2d(2) if i < 5 else nn.Identity()
                blocks.append(nn.Sequential(*convs, pool))
                c = w
            self.blocks = nn.Sequential(*blocks)
            self.fc1, self.fc = nn.Linear(c, c), nn.Linear(c, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
            x = self.blocks(x).mean(3)
            x = F.max_pool1d(x, 3, 1, 1) + F.avg_pool1d(x, 3, 1, 1)
            x = x.amax(2) + x.mean(2)
            return torch.sigmoid(self.fc(torch.relu(self.fc1(x))))

    return PANN()


def dprnn(samples: int, n: int, kernel: int, bn: int, hidden: int, chunk: int, repeats: int) -> Any:
    """DPRNN-TasNet (Luo et al., "Dual-path RNN", ICASSP 2020; Asteroid's layout)
    separating two speakers in (1, 1, ``samples``): a conv encoder of ``n`` filters of
    ``kernel`` samples (hop half), global layer norm and a 1x1 conv to ``bn``; the frames
    cut into half-overlapping chunks of ``chunk``; ``repeats`` dual-path blocks (a
    bidirectional LSTM of ``hidden`` within every chunk, then across the chunks at every
    position, each followed by a linear layer, global layer norm and a residual); PReLU,
    a 1x1 conv to two masks' features, overlap-add, a tanh x sigmoid gate, a 1x1 conv
    and a sigmoid to the masks; the masked encodings through a transposed-conv decoder."""
    import torch

    nn = _nn()
    F = nn.functional
    hop, half = chunk // 2, kernel // 2
    frames = (samples - kernel) // half + 1
    s = math.ceil((frames + chunk) / hop)  # chunks once padded by ``chunk`` on the left
    total = (s - 1) * hop + chunk

    class Path(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(bn, hidden, batch_first=True, bidirectional=True)
            self.fc, self.norm = nn.Linear(2 * hidden, bn), nn.GroupNorm(1, bn)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (1, bn, a, b), along b
            _, _, a, b = x.shape
            y = self.fc(self.rnn(x[0].permute(1, 2, 0))[0])  # (a, b, bn)
            return x + self.norm(y.permute(2, 0, 1)[None])

    class DPRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(nn.Conv1d(1, n, kernel, half, bias=False), nn.ReLU())
            self.bottleneck = nn.Sequential(nn.GroupNorm(1, n), nn.Conv1d(n, bn, 1))
            self.paths = nn.ModuleList(Path() for _ in range(2 * repeats))
            self.masks = nn.Sequential(nn.PReLU(), nn.Conv2d(bn, 2 * bn, 1))
            self.tanh, self.gate = nn.Conv1d(bn, bn, 1), nn.Conv1d(bn, bn, 1)
            self.mask_out = nn.Conv1d(bn, n, 1, bias=False)
            self.dec = nn.ConvTranspose1d(n, 1, kernel, half, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            w = self.enc(x)  # (1, n, frames)
            h = F.pad(self.bottleneck(w), (chunk, total - chunk - frames))
            h = torch.stack([h[:, :, i * hop : i * hop + chunk] for i in range(s)], 2)
            for i, path in enumerate(self.paths):
                h = path(h) if i % 2 == 0 else path(h.transpose(2, 3)).transpose(2, 3)
            m = self.masks(h).reshape(2, bn, s, chunk)
            ola = sum(F.pad(m[:, :, i], (i * hop, total - i * hop - chunk)) for i in range(s))
            ola = ola[:, :, chunk : chunk + frames]
            gated = torch.tanh(self.tanh(ola)) * torch.sigmoid(self.gate(ola))
            m = torch.sigmoid(self.mask_out(gated))
            return self.dec(m * w)

    return DPRNN()


def linformer(d: int, heads: int, layers: int, seq: int, k: int, vocab: int = 30522) -> Any:
    """A Linformer encoder (Wang et al., "Linformer: Self-Attention with Linear
    Complexity", arXiv 2020) classifying (1, ``seq``) token ids: word and learned position
    embeddings with a layer norm; ``layers`` post-norm layers whose attention projects
    the ``seq`` keys and values to ``k`` by learned matrices E and F (shared by the heads),
    a GELU MLP of 4 ``d``; a tanh pooler on the first token and two logits."""
    import torch

    nn = _nn()
    dh = d // heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.e = nn.Parameter(torch.randn(k, seq) / seq**0.5)
            self.f = nn.Parameter(torch.randn(k, seq) / seq**0.5)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, kk, v = self.qkv(x[0]).chunk(3, -1)
            q = q.reshape(seq, heads, dh).transpose(0, 1)
            kk = (self.e @ kk).reshape(k, heads, dh).permute(1, 2, 0)  # (heads, dh, k)
            v = (self.f @ v).reshape(k, heads, dh).transpose(0, 1)
            a = torch.softmax(q @ kk * dh**-0.5, -1) @ v
            x = self.n1(x + self.o(a.transpose(0, 1).reshape(1, seq, d)))
            return self.n2(x + self.mlp(x))

    class Linformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.zeros(1, seq, d))
            self.norm = nn.LayerNorm(d)
            self.layers = nn.Sequential(*(Layer() for _ in range(layers)))
            self.pooler = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.layers(self.norm(self.word(_ids(x, vocab)) + self.pos))
            return self.pooler(h[:, 0])

    return Linformer()


def _nystrom_attention(d: int, heads: int, seq: int, m: int, conv: int = 33) -> Any:
    """Nyströmformer's self-attention: ``m`` landmarks as segment means of the queries and
    keys; softmax(Q K~^T) pinv(softmax(Q~ K~^T)) softmax(Q~ K^T) V with the
    Moore-Penrose inverse by six Newton-Schulz iterations; plus a depthwise conv of
    ``conv`` taps along the sequence on the values; an output projection."""
    import torch

    nn = _nn()
    dh = d // heads

    class Attention(nn.Module):
        eye: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.conv = nn.Conv2d(
                heads, heads, (conv, 1), 1, (conv // 2, 0), groups=heads, bias=False
            )
            self.register_buffer("eye", torch.eye(m))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(x[0]).reshape(seq, 3, heads, dh).permute(1, 2, 0, 3)
            q, k = q * dh**-0.25, k * dh**-0.25
            ql = q.reshape(heads, m, seq // m, dh).mean(2)
            kl = k.reshape(heads, m, seq // m, dh).mean(2)
            k1 = torch.softmax(q @ kl.transpose(1, 2), -1)
            k2 = torch.softmax(ql @ kl.transpose(1, 2), -1)
            k3 = torch.softmax(ql @ k.transpose(1, 2), -1)
            z = k2.transpose(1, 2) / k2.sum(1).amax(-1)[:, None, None]
            for _ in range(6):
                kz = k2 @ z
                z = 0.25 * z @ (13 * self.eye - kz @ (15 * self.eye - kz @ (7 * self.eye - kz)))
            a = (k1 @ z) @ (k3 @ v) + self.conv(v[None])[0]
            return self.o(a.transpose(0, 1).reshape(1, seq, d))

    return Attention()


def nystromformer(
    d: int, heads: int, layers: int, ff: int, seq: int, m: int, vocab: int, classes: int
) -> Any:
    """A Nyströmformer encoder (Xiong et al., AAAI 2021) classifying (1, ``seq``) token
    ids: word and learned position embeddings; ``layers`` post-norm layers of Nyström
    attention with ``m`` landmarks and a GELU MLP of ``ff``; mean pooling and a
    classifier. Its Long Range Arena byte-level text model is ``(64, 2, 2, 128, 4096,
    ..., 256, 2)``."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = _nystrom_attention(d, heads, seq, m)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.attn(x))
            return self.n2(x + self.mlp(x))

    class Nystromformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.zeros(1, seq, d))
            self.layers = nn.Sequential(*(Layer() for _ in range(layers)))
            self.head = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.layers(self.word(_ids(x, vocab)) + self.pos)
            return self.head(h.mean(1))

    return Nystromformer()


def rnnsearch(src: int, steps: int, emb: int, hidden: int, maxout: int, vocab: int) -> Any:
    """RNNsearch (Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning
    to Align and Translate", ICLR 2015) greedily translating (1, ``src``) ids: a
    bidirectional GRU encoder of ``hidden`` on embeddings of ``emb``; the decoder state
    initialised from the backward first annotation; ``steps`` steps of additive
    attention (v tanh(W s + U h)), a GRU on the previous word's embedding and the
    context, the deep output (a maxout of ``maxout`` on the state, word and context) to
    ``vocab`` logits and the argmax word fed back; the logits of every step."""
    import torch

    nn = _nn()

    class RNNsearch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.src_embed, self.tgt_embed = nn.Embedding(vocab, emb), nn.Embedding(vocab, emb)
            self.enc = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
            self.init = nn.Linear(hidden, hidden)
            self.wa, self.ua = nn.Linear(hidden, hidden, bias=False), nn.Linear(2 * hidden, hidden)
            self.va = nn.Linear(hidden, 1, bias=False)
            self.cell = _gru_cell(emb + 2 * hidden, hidden)
            self.deep = nn.Linear(hidden + emb + 2 * hidden, 2 * maxout)
            self.out = nn.Linear(maxout, vocab)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ann = self.enc(self.src_embed(_ids(x, vocab)))[0][0]  # (src, 2 hidden)
            s = torch.tanh(self.init(ann[:1, hidden:]))
            keys = self.ua(ann)
            y = self.tgt_embed(torch.zeros(1, dtype=torch.long))
            logits = []
            for _ in range(steps):
                e = self.va(torch.tanh(keys + self.wa(s))).t()
                ctx = torch.softmax(e, -1) @ ann
                t = self.deep(torch.cat([s, y, ctx], -1)).reshape(1, maxout, 2).amax(-1)
                s = self.cell(torch.cat([y, ctx], -1), s)
                logit = self.out(t)
                logits.append(logit)
                y = self.tgt_embed(logit.argmax(-1))
            return torch.cat(logits, 0)[None]

    return RNNsearch()


def _lstmp_cell(a: int, cell: int, proj: int, clip: float = 3.0) -> Any:
    """ELMo's LSTM cell with a projection: gates from the input and the projected state,
    the memory clipped to +-``clip``, the output projected to ``proj`` and clipped."""
    import torch

    nn = _nn()

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x, self.h = nn.Linear(a, 4 * cell), nn.Linear(proj, 4 * cell, bias=False)
            self.p = nn.Linear(cell, proj, bias=False)

        def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> Any:
            i, f, g, o = (self.x(x) + self.h(h)).chunk(4, -1)
            c = torch.clamp(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g), -clip, clip)
            h = torch.clamp(self.p(torch.sigmoid(o) * torch.tanh(c)), -clip, clip)
            return h, c

    return Cell()


def elmo(tokens: int, cell: int, proj: int, highway: int, chars: int = 50) -> Any:
    """ELMo (Peters et al., "Deep contextualized word representations", NAACL 2018) on
    (1, ``tokens``, ``chars``) character ids: character embeddings of 16; convs of widths
    1-7 (32, 32, 64, 128, 256, 512, 1024 filters) max pooled over the characters, ReLU;
    ``highway`` highway layers and a projection to ``proj``; a forward and a backward
    language model of two LSTM layers of ``cell`` cells projected to ``proj`` (clipped,
    with a skip connection between the layers); the three layers' representations. The
    small model is ``(..., 1024, 128, 1)``."""
    import torch

    nn = _nn()
    filters = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024))
    nf = sum(n for _, n in filters)

    class ELMo(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.char = nn.Embedding(262, 16)
            self.convs = nn.ModuleList(nn.Conv1d(16, n, w) for w, n in filters)
            self.highway = nn.ModuleList(nn.Linear(nf, 2 * nf) for _ in range(highway))
            self.proj = nn.Linear(nf, proj)
            self.cells = nn.ModuleList(_lstmp_cell(proj, cell, proj) for _ in range(4))

        def run(self, xs: list[torch.Tensor], c0: Any, c1: Any) -> list[list[torch.Tensor]]:
            z = torch.zeros(1, proj), torch.zeros(1, cell)
            (h0, m0), (h1, m1), outs = z, z, [[], []]
            for x in xs:
                h0, m0 = c0(x, h0, m0)
                h1, m1 = c1(h0, h1, m1)
                outs[0].append(h0)
                outs[1].append(h1 + h0)
            return outs

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.char(_ids(x[0], 262)).transpose(1, 2)  # (tokens, 16, chars)
            h = torch.relu(torch.cat([conv(e).amax(-1) for conv in self.convs], -1))
            for hw in self.highway:
                a, g = hw(h).chunk(2, -1)
                g = torch.sigmoid(g)
                h = g * h + (1 - g) * torch.relu(a)
            t = self.proj(h)  # (tokens, proj)
            xs = list(t.split(1, 0))
            fw = self.run(xs, self.cells[0], self.cells[1])
            bw = [o[::-1] for o in self.run(xs[::-1], self.cells[2], self.cells[3])]
            layers = [torch.cat([t, t], -1)]
            layers += [
                torch.cat([torch.cat(f, 0), torch.cat(b, 0)], -1)
                for f, b in zip(fw, bw, strict=True)
            ]
            return torch.stack(layers, 0)[None]

    return ELMo()


def neumf(users: int, items: int, factors: int, layers: tuple[int, ...]) -> Any:
    """NeuMF (He et al., "Neural Collaborative Filtering", WWW 2017) scoring candidates
    for a user from (1, 1 + candidates) ids (the user, then the items): generalised
    matrix factorisation (user and item embeddings of ``factors`` multiplied) beside an
    MLP tower (user and item embeddings of ``layers[0]`` / 2 concatenated, ReLU layers of
    ``layers[1:]``); both concatenated into a sigmoid score per candidate. The MovieLens
    model is ``(6040, 3706, 8, (64, 32, 16, 8))``."""
    import torch

    nn = _nn()

    class NeuMF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gmf_u, self.gmf_i = nn.Embedding(users, factors), nn.Embedding(items, factors)
            self.mlp_u = nn.Embedding(users, layers[0] // 2)
            self.mlp_i = nn.Embedding(items, layers[0] // 2)
            mlp: list[Any] = []
            for a, b in zip(layers[:-1], layers[1:], strict=True):
                mlp += [nn.Linear(a, b), nn.ReLU()]
            self.mlp = nn.Sequential(*mlp)
            self.predict = nn.Linear(factors + layers[-1], 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            u, i = _ids(x[0, :1], users), _ids(x[0, 1:], items)
            gmf = self.gmf_u(u) * self.gmf_i(i)
            n = i.shape[0]
            mlp = self.mlp(torch.cat([self.mlp_u(u).expand(n, -1), self.mlp_i(i)], -1))
            return torch.sigmoid(self.predict(torch.cat([gmf, mlp], -1)))[:, 0][None]

    return NeuMF()


def fibinet(fields: int, rows: int, emb: int, reduction: int, dnn: tuple[int, ...]) -> Any:
    """FiBiNET (Huang et al., RecSys 2019) click-through scoring of (1, candidates,
    ``fields``) categorical features (read like ids, each field hashed to ``rows`` rows
    of ``emb``): the SENET layer (field embeddings mean pooled, two ReLU layers through
    ``fields`` / ``reduction``, the embeddings reweighted); the field-each bilinear
    interaction (v_i W_i elementwise v_j for every pair i < j) of both the plain and the
    reweighted embeddings; a ReLU DNN of ``dnn`` on them plus a linear term, sigmoid. The
    Criteo model is ``(39, ..., 10, 3, (400, 400, 400))``."""
    import torch

    nn = _nn()
    pairs = [(i, j) for i in range(fields) for j in range(i + 1, fields)]

    class FiBiNET(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding(fields * rows, emb)
            self.linear = nn.Embedding(fields * rows, 1)
            self.register_buffer("offsets", torch.arange(fields) * rows)
            self.register_buffer("left", torch.tensor([i for i, _ in pairs]))
            self.register_buffer("right", torch.tensor([j for _, j in pairs]))
            r = max(fields // reduction, 1)
            self.se = nn.Sequential(
                nn.Linear(fields, r), nn.ReLU(), nn.Linear(r, fields), nn.ReLU()
            )
            self.w = nn.ParameterList(
                nn.Parameter(torch.randn(fields, emb, emb) / emb**0.5) for _ in range(2)
            )
            dims = [2 * len(pairs) * emb, *dnn]
            mlp: list[Any] = []
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                mlp += [nn.Linear(a, b), nn.ReLU()]
            self.dnn = nn.Sequential(*mlp, nn.Linear(dims[-1], 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0], rows) + self.offsets
            e = self.table(ids)  # (n, fields, emb)
            v = e * self.se(e.mean(-1))[..., None]
            inter = []
            for t, w in zip((e, v), self.w, strict=True):
                vw = (t.transpose(0, 1) @ w).transpose(0, 1)  # v_i W_i
                inter.append((vw[:, self.left] * t[:, self.right]).flatten(1))
            y = self.dnn(torch.cat(inter, 1)) + self.linear(ids).sum(1)
            return torch.sigmoid(y)[:, 0][None]

    return FiBiNET()


def dien(seq: int, items: int, cats: int, emb: int, mlp: tuple[int, ...]) -> Any:
    """DIEN (Zhou et al., "Deep Interest Evolution Network", AAAI 2019) scoring
    candidates from (1, 2 ``seq`` + 2 candidates) ids (the behaviours' items and
    categories, then the candidates'): item and category embeddings of ``emb``
    concatenated; the interest extractor GRU over the behaviours; attention of every
    candidate over the interest states (softmax of h_t W e); the interest evolving AUGRU
    (the update gate scaled by the attention) run for all candidates at once; the
    candidate, the summed behaviours, their product and the final interest through a
    PReLU MLP of ``mlp`` to a softmax click probability."""
    import torch

    nn = _nn()
    d = 2 * emb

    class DIEN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item, self.cat = nn.Embedding(items, emb), nn.Embedding(cats, emb)
            self.gru = nn.GRU(d, d, batch_first=True)
            self.att = nn.Linear(d, d, bias=False)
            self.aux, self.auh = nn.Linear(d, 3 * d), nn.Linear(d, 3 * d)
            dims = [4 * d, *mlp]
            layers: list[Any] = []
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                layers += [nn.Linear(a, b), nn.PReLU()]
            self.mlp = nn.Sequential(*layers, nn.Linear(dims[-1], 2), nn.Softmax(-1))

        def embed(self, it: torch.Tensor, ct: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.item(_ids(it, items)), self.cat(_ids(ct, cats))], -1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = (x.shape[1] - 2 * seq) // 2
            b = self.embed(x[0, :seq], x[0, seq : 2 * seq])  # (seq, d)
            c = self.embed(x[0, 2 * seq : 2 * seq + n], x[0, 2 * seq + n :])  # (n, d)
            h = self.gru(b[None])[0][0]  # (seq, d)
            a = torch.softmax(self.att(c) @ h.t(), -1)  # (n, seq)
            xs = self.aux(h)
            s = torch.zeros(n, d)
            for t in range(seq):
                xr, xz, xn = xs[t].chunk(3, -1)
                hr, hz, hn = self.auh(s).chunk(3, -1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz) * a[:, t : t + 1]
                s = (1 - z) * s + z * torch.tanh(xn + r * hn)
            hist = b.sum(0, keepdim=True)
            feats = torch.cat([c, hist.expand(n, -1), c * hist, s], -1)
            return self.mlp(feats)[None]

    return DIEN()


def _entmax15(x: Any, dim: int) -> Any:
    """The exact 1.5-entmax of Peters et al. (ACL 2019) along ``dim``, by sorting."""
    import torch

    x = (x - x.amax(dim, keepdim=True)) / 2
    srt = torch.sort(x, dim, descending=True)[0]
    shape = [1] * x.dim()
    shape[dim] = x.shape[dim]
    rho = torch.arange(1, x.shape[dim] + 1, dtype=x.dtype).reshape(shape)
    mean = srt.cumsum(dim) / rho
    mean_sq = (srt**2).cumsum(dim) / rho
    delta = (1 - rho * (mean_sq - mean**2)) / rho
    tau = mean - torch.sqrt(torch.clamp(delta, min=0))
    support = (tau <= srt).sum(dim, keepdim=True)
    tau_star = tau.gather(dim, support - 1)
    return torch.clamp(x - tau_star, min=0) ** 2


def _entmoid15(x: Any) -> Any:
    """The two-class 1.5-entmax (entmoid) of NODE, elementwise."""
    import torch

    a = x.abs()
    tau = (a + torch.sqrt(torch.relu(8 - a**2))) / 2
    tau = torch.where(tau <= a, torch.full_like(tau, 2.0), tau)
    y_neg = 0.25 * torch.relu(tau - a) ** 2
    return torch.where(x >= 0, 1 - y_neg, y_neg)


def node(din: int, layers: int, trees: int, depth: int, tree_dim: int = 3) -> Any:
    """NODE (Popov et al., "Neural Oblivious Decision Ensembles", ICLR 2020) regression on
    a (1, rows, ``din``) batch: a dense block of ``layers`` layers of ``trees`` oblivious
    differentiable trees of ``depth`` (each level's feature chosen by a 1.5-entmax over
    the inputs, compared with a learned threshold and temperature through entmoid; the
    2^``depth`` leaf weights the product of the levels' soft choices; ``tree_dim``
    responses per leaf), each layer fed the input and all earlier layers' outputs; the
    mean of every tree's first response."""
    import torch

    nn = _nn()
    leaves = 2**depth
    codes = torch.tensor(
        [[(c >> (depth - 1 - d)) & 1 for c in range(leaves)] for d in range(depth)]
    )

    class ODST(nn.Module):
        def __init__(self, a: int) -> None:
            super().__init__()
            self.logits = nn.Parameter(torch.rand(a, trees * depth))
            self.thresholds = nn.Parameter(torch.randn(trees, depth))
            self.log_temp = nn.Parameter(torch.zeros(trees, depth))
            self.response = nn.Parameter(torch.randn(trees, leaves, tree_dim))
            self.register_buffer("codes", torch.stack([1 - codes, codes], -1).float())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[0]
            fv = (x @ _entmax15(self.logits, 0)).reshape(n, trees, depth)
            t = (fv - self.thresholds) * torch.exp(-self.log_temp)
            bins = _entmoid15(torch.stack([-t, t], -1))  # (n, trees, depth, 2)
            match = bins[..., :1] * self.codes[..., 0] + bins[..., 1:] * self.codes[..., 1]
            w = match.prod(2)  # (n, trees, leaves)
            return (w.transpose(0, 1) @ self.response).transpose(0, 1).flatten(1)

    class NODE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(ODST(din + i * trees * tree_dim) for i in range(layers))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, outs = x[0], []
            for layer in self.layers:
                o = layer(h)
                outs.append(o)
                h = torch.cat([h, o], -1)
            y = torch.cat(outs, -1).reshape(h.shape[0], -1, tree_dim)[..., 0]
            return y.mean(-1)[None]

    return NODE()


def graphsage(nodes: int, din: int, fanout: int, d: int, layers: int, classes: int) -> Any:
    """GraphSAGE-mean (Hamilton et al., "Inductive Representation Learning on Large
    Graphs", NeurIPS 2017) on a (1, ``nodes``, ``din`` + ``fanout``) input: node features,
    then each node's ``fanout`` sampled neighbours (ids read from floats); ``layers``
    layers (the neighbours' features gathered and averaged, concatenated with the node's
    own, a linear layer to ``d``, ReLU, L2 normalisation); a linear layer to ``classes``
    logits per node."""
    import torch

    nn = _nn()
    F = nn.functional

    class SAGE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [din] + [d] * layers
            self.layers = nn.ModuleList(
                nn.Linear(2 * a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
            )
            self.out = nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, nbr = x[0, :, :din], _ids(x[0, :, din:], nodes)
            for layer in self.layers:
                agg = h[nbr].mean(1)
                h = F.normalize(torch.relu(layer(torch.cat([h, agg], -1))), dim=-1)
            return self.out(h)[None]

    return SAGE()


def _knn(p: Any, q: Any, k: int) -> Any:
    """Indices (``q`` points, ``k``) of each query point's ``k`` nearest points of
    ``p``."""
    import torch

    d = (q * q).sum(-1, keepdim=True) - 2 * q @ p.t() + (p * p).sum(-1)[None]
    return torch.topk(-d, k, -1).indices


def _res_mlp1d(c: int, expansion: float) -> Any:
    """PointMLP's residual point MLP: 1x1 conv-BN-ReLU to ``c`` x ``expansion``, 1x1
    conv-BN back, the input added, ReLU."""
    import torch

    nn = _nn()
    mid = int(c * expansion)

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *(nn.Conv1d(c, mid, 1, bias=False), nn.BatchNorm1d(mid), nn.ReLU()),
                *(nn.Conv1d(mid, c, 1, bias=False), nn.BatchNorm1d(c)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + x)

    return Res()


def _pointmlp_stage(c: int, cout: int, npre: int, npos: int, expansion: float, k: int) -> Any:
    """A PointMLP stage on points (n, 3) with features (n, ``c``): every other point kept
    as an anchor (in place of farthest point sampling), its ``k`` nearest neighbours'
    features grouped, the geometric affine module (offsets from the anchor divided by
    their standard deviation, a learned scale and shift) and the anchor's features
    concatenated; the pre-extraction (a conv-BN-ReLU to ``cout`` and ``npre`` residual
    point MLPs on every group, the groups side by side, max pooled per group) and the
    pos-extraction (``npos`` residual point MLPs); (anchors, features)."""
    import torch

    nn = _nn()

    class Stage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.alpha = nn.Parameter(torch.ones(1, 1, c))
            self.beta = nn.Parameter(torch.zeros(1, 1, c))
            self.pre = nn.Sequential(
                *(nn.Conv1d(2 * c, cout, 1, bias=False), nn.BatchNorm1d(cout), nn.ReLU()),
                *(_res_mlp1d(cout, expansion) for _ in range(npre)),
            )
            self.pos = nn.Sequential(*(_res_mlp1d(cout, expansion) for _ in range(npos)))

        def forward(self, p: torch.Tensor, f: torch.Tensor) -> Any:
            q, a = p[::2], f[::2]  # anchors: (m, 3), (m, c)
            g = f[_knn(p, q, k)]  # (m, k, c)
            off = g - a[:, None]
            std = torch.sqrt((off - off.mean()).pow(2).sum() / (off.numel() - 1))
            g = self.alpha * off / (std + 1e-5) + self.beta
            g = torch.cat([g, a[:, None].expand(-1, k, -1)], -1)  # (m, k, 2c)
            m = g.shape[0]
            h = self.pre(g.reshape(1, m * k, -1).transpose(1, 2))
            h = h.reshape(1, -1, m, k).amax(-1)  # (1, cout, m)
            return q, self.pos(h)[0].t()

    return Stage()


def pointmlp(
    points: int,
    embed: int,
    expansion: float,
    dims: tuple[int, ...],
    pre: tuple[int, ...],
    pos: tuple[int, ...],
    k: int = 24,
    classes: int = 40,
) -> Any:
    """PointMLP (Ma et al., "Rethinking Network Design and Local Geometry in Point Cloud",
    ICLR 2022) classifying a (1, ``points``, 3) cloud: a point-wise conv-BN-ReLU to
    ``embed``; four stages, each halving the points (every other point kept, in place of
    farthest point sampling), grouping each kept point's ``k`` nearest neighbours'
    features, the geometric affine module (the offsets from the anchor divided by their
    standard deviation, a learned scale and shift) and the anchor's features
    concatenated, the pre-extraction (a conv-BN-ReLU to ``dims[i]`` times the width and
    ``pre[i]`` residual point MLPs on every group, max pooled) and the pos-extraction
    (``pos[i]`` residual point MLPs); max pooling and a 512-256 BN-ReLU classifier.
    PointMLP-elite is ``(1024, 32, 0.25, (2, 2, 2, 1), (1, 1, 2, 1), (1, 1, 2, 1))``."""
    import torch

    nn = _nn()

    class PointMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Sequential(
                nn.Conv1d(3, embed, 1, bias=False), nn.BatchNorm1d(embed), nn.ReLU()
            )
            stages, c = [], embed
            for e, a, b in zip(dims, pre, pos, strict=True):
                stages.append(_pointmlp_stage(c, c * e, a, b, expansion, k))
                c *= e
            self.stages = nn.ModuleList(stages)
            self.head = nn.Sequential(
                *(nn.Linear(c, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5)),
                *(nn.Linear(512, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.5)),
                nn.Linear(256, classes),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = x[0]
            f = self.embed(x.transpose(1, 2))[0].t()  # (points, embed)
            for stage in self.stages:
                p, f = stage(p, f)
            return self.head(f.amax(0, keepdim=True))

    return PointMLP()


def nhits(
    lookback: int,
    horizon: int,
    pools: tuple[int, ...],
    ratios: tuple[int, ...],
    hidden: int = 512,
) -> Any:
    """N-HiTS (Challu et al., AAAI 2023) forecasting each variate of a (1, ``lookback``,
    variates) series independently: one block per stack, each max pooling the residual
    input by ``pools[i]`` (multi-rate sampling), an MLP of two ReLU layers of ``hidden``,
    a backcast of ``lookback`` subtracted from the input and ``horizon`` / ``ratios[i]``
    forecast knots linearly interpolated to ``horizon`` (hierarchical interpolation);
    the stacks' forecasts summed; (1, ``horizon``, variates)."""
    import torch

    nn = _nn()
    F = nn.functional

    class Block(nn.Module):
        def __init__(self, pool: int, ratio: int) -> None:
            super().__init__()
            self.pool, self.knots = pool, max(horizon // ratio, 1)
            self.mlp = nn.Sequential(
                *(nn.Linear(math.ceil(lookback / pool), hidden), nn.ReLU()),
                *(nn.Linear(hidden, hidden), nn.ReLU()),
                nn.Linear(hidden, lookback + self.knots),
            )

        def forward(self, x: torch.Tensor) -> Any:
            h = F.max_pool1d(x, self.pool, self.pool, ceil_mode=True) if self.pool > 1 else x
            theta = self.mlp(h)
            back, knots = theta[..., :lookback], theta[..., lookback:]
            fore = F.interpolate(knots, size=horizon, mode="linear")
            return back, fore

    class NHiTS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(Block(p, r) for p, r in zip(pools, ratios, strict=True))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0].t()[:, None]  # (variates, 1, lookback)
            y = torch.zeros(1)
            for block in self.blocks:
                back, fore = block(r)
                r, y = r - back, y + fore
            return y[:, 0].t()[None]

    return NHiTS()


def _inception2d(cin: int, cout: int, kernels: int = 6) -> Any:
    """TimesNet's Inception block: ``kernels`` parallel square convs of widths 1, 3, 5,
    ... averaged."""
    import torch

    nn = _nn()

    class Inception(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(cin, cout, 2 * i + 1, 1, i) for i in range(kernels)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([conv(x) for conv in self.convs], -1).mean(-1)

    return Inception()


def _times_block(t: int, d: int, ff: int, freqs: tuple[int, ...]) -> Any:
    """A TimesBlock on (1, ``t``, ``d``): for each frequency f of ``freqs`` the series
    zero-padded and folded into a 2-D map of its period ``t`` // f, two Inception blocks
    through ``ff`` with a GELU, unfolded; the periods' outputs weighted by a softmax of
    the series' DFT amplitudes at those frequencies (cosine and sine matmuls, the mean
    over channels); residual."""
    import torch

    nn = _nn()
    F = nn.functional
    periods = [t // f for f in freqs]
    steps = torch.arange(t).float()[:, None]
    w = 2 * math.pi * torch.tensor(freqs).float()[None] / t

    class Block(nn.Module):
        cos: torch.Tensor
        sin: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(_inception2d(d, ff), nn.GELU(), _inception2d(ff, d))
            self.register_buffer("cos", torch.cos(steps * w))
            self.register_buffer("sin", torch.sin(steps * w))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            re, im = x[0].t() @ self.cos, x[0].t() @ self.sin  # (d, k)
            weights = torch.softmax(torch.sqrt(re**2 + im**2).mean(0), -1)
            out = x
            for i, p in enumerate(periods):
                n = math.ceil(t / p) * p
                y = F.pad(x, (0, 0, 0, n - t)).reshape(1, n // p, p, d).permute(0, 3, 1, 2)
                y = self.conv(y).permute(0, 2, 3, 1).reshape(1, n, d)[:, :t]
                out = out + y * weights[i]
            return out

    return Block()


def timesnet(
    lookback: int,
    horizon: int,
    variates: int,
    d: int,
    ff: int,
    layers: int,
    freqs: tuple[int, ...],
) -> Any:
    """TimesNet (Wu et al., ICLR 2023) forecasting a (1, ``lookback``, ``variates``)
    series: per-variate normalisation; a circular 3-wide token conv to ``d`` plus
    sinusoidal positions; a linear layer over time to ``lookback`` + ``horizon`` steps;
    ``layers`` TimesBlocks (for each frequency of ``freqs``, in place of the FFT's top
    ones, the series folded into a 2-D map of its period (``T`` / f columns), two Inception
    blocks of six kernels through ``ff`` with a GELU, unfolded; the periods' outputs
    weighted by a softmax of the series' DFT amplitudes at those frequencies, computed
    by cosine and sine matmuls; residual; a layer norm); a linear projection to the
    variates, de-normalised; the last ``horizon`` steps."""
    import torch

    nn = _nn()
    t = lookback + horizon

    class TimesNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token = nn.Conv1d(variates, d, 3, 1, 1, padding_mode="circular", bias=False)
            self.register_buffer("pos", _sinusoids(lookback, d))
            self.extend = nn.Linear(lookback, t)
            self.blocks = nn.ModuleList(_times_block(t, d, ff, freqs) for _ in range(layers))
            self.norm, self.proj = nn.LayerNorm(d), nn.Linear(d, variates)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean = x.mean(1, keepdim=True)
            std = torch.sqrt(((x - mean) ** 2).mean(1, keepdim=True) + 1e-5)
            h = self.token(((x - mean) / std).transpose(1, 2)).transpose(1, 2) + self.pos
            h = self.extend(h.transpose(1, 2)).transpose(1, 2)
            for block in self.blocks:
                h = self.norm(block(h))
            return (self.proj(h) * std + mean)[:, -horizon:]

    return TimesNet()


def _sinusoids(n: int, d: int) -> Any:
    """The fixed sinusoidal position encodings of Vaswani et al. (``n`` x ``d``)."""
    import torch

    pos = torch.arange(n).float()[:, None]
    inv = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
    return torch.cat([torch.sin(pos * inv), torch.cos(pos * inv)], 1)


def deeponet(sensors: int, points: int, coords: int, width: int, depth: int, p: int) -> Any:
    """DeepONet (Lu et al., "Learning nonlinear operators via DeepONet", Nature Machine
    Intelligence 2021) evaluating an operator's output at ``points`` query locations from
    a (1, ``sensors`` + ``points`` ``coords``) input (the input function sampled at
    ``sensors`` fixed sensors, then the query coordinates): the branch net (a ReLU MLP of
    ``depth`` layers of ``width`` to ``p``) on the samples, the trunk net (the same
    shape, tanh) on every query point; their dot product plus a bias, (1, ``points``)."""
    import torch

    nn = _nn()

    def mlp(a: int, act: Any) -> Any:
        layers: list[Any] = []
        for i in range(depth):
            layers += [nn.Linear(a if i == 0 else width, width), act()]
        return nn.Sequential(*layers, nn.Linear(width, p))

    class DeepONet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branch, self.trunk = mlp(sensors, nn.ReLU), mlp(coords, nn.Tanh)
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b = self.branch(x[:, :sensors])  # (1, p)
            t = self.trunk(x[0, sensors:].reshape(points, coords))  # (points, p)
            return b @ t.t() + self.bias

    return DeepONet()


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the fifteenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image, video and pixel-generative models."""
    return [
        ("sknet", "sknet26_160", partial(sknet, (2, 2, 2, 2)), _image(160)),
        ("sknet", "sknet50_112x144", partial(sknet, (3, 4, 6, 3)), _image(112, 144)),
        ("unetpp", "unetpp_f32_c1_64", partial(unetpp, 1, 32, 1), (1, 1, 64, 64)),
        ("unetpp", "unetpp_f16_c3_96x160", partial(unetpp, 3, 16, 2), _image(96, 160)),
        ("openpose", "lw_openpose_r1_192x256", partial(lightweight_openpose, 1), _image(192, 256)),
        ("carn", "carn_x2_32x48", partial(carn, False, 2), _image(32, 48)),
        ("carn", "carn_m_x4_48", partial(carn, True, 4), _image(48)),
        ("retinaface", "retinaface_mb0.25_480x640", partial(retinaface), _image(480, 640)),
        ("retinaface", "retinaface_mb0.25_240x320", partial(retinaface), _image(240, 320)),
        ("espnet", "espnet_p2q8_c20_192x384", partial(espnet, 20, 2, 8), _image(192, 384)),
        ("espnet", "espnet_p5q3_c20_128x256", partial(espnet, 20, 5, 3), _image(128, 256)),
        (
            "slowfast",
            "slowfast_4x16_r50_16x64",
            partial(slowfast, (3, 4, 6, 3), 8),
            (1, 3, 16, 64, 64),
        ),
        (
            "convlstm",
            "convlstm_mmnist_h64x2_k3",
            partial(convlstm, 10, 10, (64, 64), 3),
            (1, 10, 64, 64),
        ),
        (
            "pixelcnn",
            "gated_pixelcnn_mnist_c64_l15",
            partial(gated_pixelcnn, 1, 64, 15),
            (1, 1, 28, 28),
        ),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The speech, audio and text models."""
    return [
        ("wav2letter", "wav2letter_mfcc13_160f", partial(wav2letter, 13), (1, 13, 160)),
        ("tacotron", "tacotron_r2_c32_s25", partial(tacotron, 25), (1, 32)),
        (
            "panns",
            "panns_cnn14_96f",
            partial(panns, (64, 128, 256, 512, 1024, 2048), True),
            (1, 1, 96, 64),
        ),
        ("panns", "panns_cnn6_192f", partial(panns, (64, 128, 256, 512), False), (1, 1, 192, 64)),
        (
            "dprnn",
            "dprnn_n64_b64_h128_2000",
            partial(dprnn, 2000, 64, 16, 64, 128, 100, 6),
            (1, 1, 2000),
        ),
        (
            "linformer",
            "linformer_d256_l4_n512_k128",
            partial(linformer, 256, 4, 4, 512, 128),
            (1, 512),
        ),
        (
            "nystromformer",
            "nystrom_lra_text_4096_m128",
            partial(nystromformer, 64, 2, 2, 128, 4096, 128, 256, 2),
            (1, 4096),
        ),
        (
            "nystromformer",
            "nystrom_d256_l2_n1024_m64",
            partial(nystromformer, 256, 4, 2, 1024, 1024, 64, 30522, 2),
            (1, 1024),
        ),
        (
            "rnnsearch",
            "rnnsearch_h256_v8k_24",
            partial(rnnsearch, 24, 24, 256, 256, 256, 8000),
            (1, 24),
        ),
        (
            "rnnsearch",
            "rnnsearch_h512_v16k_16",
            partial(rnnsearch, 16, 16, 512, 512, 256, 16000),
            (1, 16),
        ),
        ("elmo", "elmo_small_t20", partial(elmo, 20, 1024, 128, 1), (1, 20, 50)),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, tabular, graph, point-cloud, time-series and scientific
    models."""
    return [
        (
            "neumf",
            "neumf_ml1m_f8_all_items",
            partial(neumf, 6040, 3706, 8, (64, 32, 16, 8)),
            (1, 3707),
        ),
        (
            "fibinet",
            "fibinet_criteo_16c",
            partial(fibinet, 39, 10000, 10, 3, (400, 400, 400)),
            (1, 16, 39),
        ),
        ("dien", "dien_books_t50_32c", partial(dien, 50, 367982, 1600, 18, (200, 80)), (1, 164)),
        ("node", "node_8x128t_d6_32r", partial(node, 90, 8, 128, 6), (1, 32, 90)),
        (
            "graphsage",
            "sage_ppi_n2048_s25",
            partial(graphsage, 2048, 50, 25, 256, 2, 121),
            (1, 2048, 75),
        ),
        (
            "graphsage",
            "sage_reddit_n512_s10",
            partial(graphsage, 512, 602, 10, 256, 2, 41),
            (1, 512, 612),
        ),
        (
            "pointmlp",
            "pointmlp_elite_1024",
            partial(pointmlp, 1024, 32, 0.25, (2, 2, 2, 1), (1, 1, 2, 1), (1, 1, 2, 1)),
            (1, 1024, 3),
        ),
        (
            "nhits",
            "nhits_ecl_1680_336_c321",
            partial(nhits, 1680, 336, (8, 4, 1), (168, 24, 1)),
            (1, 1680, 321),
        ),
        (
            "timesnet",
            "timesnet_etth1_96_96_d16",
            partial(timesnet, 96, 96, 7, 16, 32, 2, (8, 16, 4, 24, 2)),
            (1, 96, 7),
        ),
        (
            "timesnet",
            "timesnet_weather_96_192_d32",
            partial(timesnet, 96, 192, 21, 32, 32, 2, (12, 24, 6, 4, 3)),
            (1, 96, 21),
        ),
        (
            "deeponet",
            "deeponet_darcy_64x64",
            partial(deeponet, 400, 4096, 2, 128, 3, 128),
            (1, 400 + 8192),
        ),
    ]
