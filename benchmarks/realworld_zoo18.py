"""An eighteenth held-out zoo of real-world architectures (plain torch), written after the
seventeenth zoo (benchmarks/realworld_zoo17.py), before any prediction of it.

Like the second to seventeenth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the seventeen earlier zoos has, across tasks: ECA-Net's efficient channel
attention in ResNet-50 and MobileNetV2 (classification; Wang et al., CVPR 2020),
HorNet's recursive gated convolutions (classification; Rao et al., NeurIPS 2022),
CrossViT's two-branch multi-scale transformer with cross-attention fusion
(classification; Chen, Fan & Panda, ICCV 2021), Faster R-CNN's region proposal network
and RoI head on a MobileNetV3 FPN (two-stage detection; Ren et al., NeurIPS 2015),
DABNet's depth-wise asymmetric bottlenecks (real-time segmentation; Li, Xiong & Liu,
BMVC 2019), ViTPose's plain ViT with a deconvolution head (pose; Xu et al., NeurIPS
2022), VideoPose3D's strided temporal convolutions lifting 2-D keypoints (3-D pose;
Pavllo et al., CVPR 2019), MiDaS v2.1 small's EfficientNet-Lite encoder and fusion
decoder (monocular depth; Ranftl et al., IEEE TPAMI 2022), DehazeNet's maxout and
multi-scale transmission net with a guided filter (dehazing; Cai et al., IEEE TIP
2016), HDRNet's bilateral grid of affine colour transforms (image enhancement; Gharbi
et al., SIGGRAPH 2017), MoViNet-A0's searched 3-D inverted bottlenecks (video
recognition; Kondratyuk et al., CVPR 2021), ASTER's thin-plate-spline rectification and
attentional decoder (scene text recognition; Shi et al., IEEE TPAMI 2018), PiDiNet's
converted pixel difference blocks (edge detection; Su et al., ICCV 2021), NetVLAD's
soft-assignment residual aggregation on AlexNet (place recognition; Arandjelović et
al., CVPR 2016), SinGAN's pyramid of fully convolutional generators (generative; Shaham,
Dekel & Michaeli, ICCV 2019), Squeezeformer's temporal U-Net of MF/CF blocks (speech
recognition; Kim et al., NeurIPS 2022), Onsets and Frames' acoustic stacks and BiLSTMs
(piano transcription; Hawthorne et al., ISMIR 2018), SELDnet's CRNN (sound event
localisation and detection; Adavanne et al., IEEE JSTSP 2019), WaveRNN's dual-softmax
sample-by-sample GRU (vocoder; Kalchbrenner et al., ICML 2018), the WaveGAN generator
(audio synthesis; Donahue, McAuley & Puckette, ICLR 2019), Reformer's LSH attention in
reversible layers (byte language model; Kitaev, Kaiser & Levskaya, ICLR 2020),
Hierarchical Attention Networks (document classification; Yang et al., NAACL 2016), the
pointer-generator with coverage (summarisation; See, Liu & Manning, ACL 2017),
Mask-Predict's iterative parallel decoding (translation; Ghazvininejad et al., EMNLP
2019), MIND's multi-interest dynamic routing (retrieval; Li et al., CIKM 2019), SR-GNN's
session graphs (session recommendation; Wu et al., AAAI 2019), Neural Additive Models
(tabular; Agarwal et al., NeurIPS 2021), DiffPool's learned cluster assignments (graph
classification; Ying et al., NeurIPS 2018), Graph WaveNet's gated temporal and adaptive
diffusion graph convs (traffic forecasting; Wu et al., IJCAI 2019), KPConv's kernel
point convolutions (point clouds; Thomas et al., ICCV 2019), Occupancy Networks'
conditional-batch-norm decoder (single-view 3-D reconstruction; Mescheder et al., CVPR
2019), SCINet's sample convolution and interaction trees (Liu et al., NeurIPS 2022) and
MiniRocket's fixed dilated kernels and PPV features (Dempster, Schmidt & Webb, KDD 2021)
(time series), EfficientZero's learned model unrolled (model-based reinforcement
learning; Ye et al., NeurIPS 2021), ProteinMPNN's k-NN message passing over a backbone
(protein design; Dauparas et al., Science 2022), the ANI-1x ensemble of atomic
environment vectors and per-species nets (molecular energies; Smith et al., Chemical
Science 2017), CLIP's zero-shot image-text matching (Radford et al., ICML 2021) and the
bottom-up top-down attention VQA model (Anderson et al., CVPR 2018) (multimodal). Every
input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import _MBV2, Builder, _cbr, _inverted, _nn, resnet
from realworld_zoo3 import _image
from realworld_zoo9 import _layernorm2d, _mbv3_block
from realworld_zoo16 import _ids, _lstm_cell, _mha, _post_norm_layer
from realworld_zoo17 import _attention_resnet, _crop, _gru_cell, _knn, _mlp, _vit_block

# ---------------------------------------------------------------------------- vision


def _eca(c: int, k: int | None = None, gamma: int = 2, b: int = 1) -> Any:
    """ECA's efficient channel attention on a (1, ``c``, h, w) map: global average
    pooling, a 1-D conv across the channels of width ``k`` (by default the adaptive odd
    width |(log2 ``c`` + ``b``) / ``gamma``|) and a sigmoid gate."""
    import torch

    nn = _nn()
    if k is None:
        t = int(abs((math.log2(c) + b) / gamma))
        k = t if t % 2 else t + 1

    class ECA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x.mean((2, 3))[:, None])[:, 0]
            return x * torch.sigmoid(y)[:, :, None, None]

    return ECA()


def eca_resnet(depths: tuple[int, ...] = (3, 4, 6, 3), classes: int = 1000) -> Any:
    """ECA-ResNet-50 (Wang, Wu, Zhu, Li, Zuo & Hu, "ECA-Net: Efficient Channel Attention
    for Deep Convolutional Neural Networks", CVPR 2020): ResNet-50 (a 7x7 stride-2 stem
    and max pool, bottlenecks of ``depths`` in four stages of 256 to 2048 channels) with
    efficient channel attention (a 1-D conv of adaptive width across the pooled channels)
    on every bottleneck's output before the shortcut is added; pooling and a
    classifier."""
    return _attention_resnet(_eca, depths, classes)


def eca_mobilenetv2(classes: int = 1000) -> Any:
    """ECA-MobileNetV2 (Wang et al., "ECA-Net: Efficient Channel Attention for Deep
    Convolutional Neural Networks", CVPR 2020): MobileNetV2 (inverted residuals of ReLU6
    1x1 expansions, 3x3 depthwise convs and linear 1x1 projections, 32 to 320 channels,
    a 1x1 conv to 1280) with efficient channel attention after every projection (1-D
    conv widths 1, 3 and 5 growing with the channels); pooling and a classifier."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int, e: int) -> None:
            super().__init__()
            mid = cin * e
            parts = [_cbr(cin, mid, 1, act=nn.ReLU6)] if e != 1 else []
            k = 1 if cout < 96 else 3 if cout < 160 else 5
            parts += [_cbr(mid, mid, 3, s, g=mid, act=nn.ReLU6), _cbr(mid, cout, 1), _eca(cout, k)]
            self.f = nn.Sequential(*parts)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    layers: list[Any] = [_cbr(3, 32, 3, 2, act=nn.ReLU6)]
    c = 32
    for e, ch, n, s, _, _ in _MBV2:
        for i in range(n):
            layers.append(Block(c, ch, s if i == 0 else 1, e))
            c = ch
    layers += [_cbr(c, 1280, 1, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1280, classes))
    return nn.Sequential(*layers)


def _gnconv(dim: int, order: int, k: int = 7, scale: float = 1 / 3) -> Any:
    """HorNet's recursive gated convolution g^n Conv of ``order`` on (1, ``dim``, h, w):
    a 1x1 conv to 2 ``dim`` split into a projection of ``dim`` / 2^(``order`` - 1)
    channels and the rest, the rest through a ``k`` x ``k`` depthwise conv (scaled)
    split into ``order`` gates of doubling widths; the projection multiplied by the first
    gate, then ``order`` - 1 times a 1x1 conv doubling it multiplied by the next gate;
    a 1x1 output conv."""
    import torch

    nn = _nn()
    dims = [dim // 2**i for i in range(order)][::-1]

    class GnConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj_in, self.proj_out = nn.Conv2d(dim, 2 * dim, 1), nn.Conv2d(dim, dim, 1)
            self.dw = nn.Conv2d(sum(dims), sum(dims), k, 1, k // 2, groups=sum(dims))
            self.pws = nn.ModuleList(nn.Conv2d(dims[i], dims[i + 1], 1) for i in range(order - 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pwa, abc = self.proj_in(x).split([dims[0], sum(dims)], 1)
            gates = (self.dw(abc) * scale).split(dims, 1)
            y = pwa * gates[0]
            for i, pw in enumerate(self.pws):
                y = pw(y) * gates[i + 1]
            return self.proj_out(y)

    return GnConv()


def hornet(
    dim: int = 64,
    depths: tuple[int, ...] = (2, 3, 18, 2),
    orders: tuple[int, ...] = (2, 3, 4, 5),
    classes: int = 1000,
) -> Any:
    """HorNet (Rao, Zhao, Tang, Zhou, Lim & Lu, "HorNet: Efficient High-Order Spatial
    Interactions with Recursive Gated Convolutions", NeurIPS 2022), HorNet-T (7x7) by
    default: a 4x4 stride-4 stem and 2x2 stride-2 downsampling convs (layer-normed)
    doubling ``dim`` over four stages of ``depths`` blocks; each block a layer-scaled
    residual recursive gated convolution of the stage's order in ``orders`` and a
    layer-scaled residual GELU MLP of ratio 4 (each after a layer norm); pooling, a
    layer norm and a classifier."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, c: int, order: int) -> None:
            super().__init__()
            self.n1, self.n2 = _layernorm2d(c), nn.LayerNorm(c, eps=1e-6)
            self.gn = _gnconv(c, order)
            self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c))
            self.g1 = nn.Parameter(torch.full((c, 1, 1), 1e-6))
            self.g2 = nn.Parameter(torch.full((c,), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.g1 * self.gn(self.n1(x))
            y = self.g2 * self.mlp(self.n2(x.permute(0, 2, 3, 1)))
            return x + y.permute(0, 3, 1, 2)

    layers: list[Any] = [nn.Conv2d(3, dim, 4, 4), _layernorm2d(dim)]
    for i, (n, order) in enumerate(zip(depths, orders, strict=True)):
        c = dim * 2**i
        if i:
            layers += [_layernorm2d(c // 2), nn.Conv2d(c // 2, c, 2, 2)]
        layers += [Block(c, order) for _ in range(n)]
    c = dim * 2 ** (len(depths) - 1)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(c, eps=1e-6)]
    layers.append(nn.Linear(c, classes))
    return nn.Sequential(*layers)


def crossvit(
    res: int = 240,
    dims: tuple[int, int] = (96, 192),
    patches: tuple[int, int] = (12, 16),
    sizes: tuple[int, int] = (240, 224),
    depths: tuple[int, int] = (1, 4),
    stages: int = 3,
    heads: int = 3,
    classes: int = 1000,
) -> Any:
    """CrossViT (Chen, Fan & Panda, "CrossViT: Cross-Attention Multi-Scale Vision
    Transformer for Image Classification", ICCV 2021), CrossViT-Ti by default: a small
    branch of ``patches[0]`` pixel patches at ``sizes[0]`` and a large one of
    ``patches[1]`` on the image bicubically resized to ``sizes[1]``, each with a class
    token and learned positions; ``stages`` multi-scale stages of ``depths`` ViT blocks
    (``heads`` heads, MLP ratio 4) per branch, then cross-attention fusion (each branch's
    class token projected to the other's width, attending to the other's patch tokens,
    projected back); each branch's class token classified, the logits averaged."""
    import torch

    nn = _nn()
    F = nn.functional
    tokens = [(s // p) ** 2 for s, p in zip(sizes, patches, strict=True)]

    def proj(a: int, b: int) -> Any:
        return nn.Sequential(nn.LayerNorm(a, eps=1e-6), nn.GELU(), nn.Linear(a, b))

    class CrossAttention(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(d, eps=1e-6)
            self.q, self.kv, self.o = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.d = d

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, t = self.norm(x), x.shape[0]
            q = self.q(y[:1]).reshape(1, heads, -1).transpose(0, 1)
            k, v = self.kv(y).reshape(t, 2, heads, -1).permute(1, 2, 0, 3).unbind(0)
            a = torch.softmax(q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5), -1)
            return x[:1] + self.o((a @ v).transpose(0, 1).reshape(1, self.d))

    class Stage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.ModuleList(
                nn.Sequential(*[_vit_block(d, heads, 4 * d) for _ in range(n)])
                for d, n in zip(dims, depths, strict=True)
            )
            self.projs = nn.ModuleList(proj(dims[i], dims[1 - i]) for i in range(2))
            self.fusion = nn.ModuleList(CrossAttention(dims[1 - i]) for i in range(2))
            self.revert = nn.ModuleList(proj(dims[1 - i], dims[i]) for i in range(2))

        def forward(self, xs: list[Any]) -> list[Any]:
            outs = [block(x) for block, x in zip(self.blocks, xs, strict=True)]
            new = []
            for i in range(2):
                t = torch.cat([self.projs[i](outs[i][:1]), outs[1 - i][1:]], 0)
                cls = self.revert[i](self.fusion[i](t))
                new.append(torch.cat([cls, outs[i][1:]], 0))
            return new

    class CrossViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeds = nn.ModuleList(
                nn.Conv2d(3, d, p, p) for d, p in zip(dims, patches, strict=True)
            )
            self.cls = nn.ParameterList(nn.Parameter(torch.zeros(1, d)) for d in dims)
            self.pos = nn.ParameterList(
                nn.Parameter(torch.randn(n + 1, d) * 0.02)
                for n, d in zip(tokens, dims, strict=True)
            )
            self.stages = nn.ModuleList(Stage() for _ in range(stages))
            self.norms = nn.ModuleList(nn.LayerNorm(d, eps=1e-6) for d in dims)
            self.heads = nn.ModuleList(nn.Linear(d, classes) for d in dims)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xs = []
            for i, s in enumerate(sizes):
                img = x if s == res else F.interpolate(x, size=(s, s), mode="bicubic")
                t = self.embeds[i](img).flatten(2)[0].t()
                xs.append(torch.cat([self.cls[i], t], 0) + self.pos[i])
            for stage in self.stages:
                xs = stage(xs)
            logits = [h(n(t[:1])) for h, n, t in zip(self.heads, self.norms, xs, strict=True)]
            return (logits[0] + logits[1]) / 2

    return CrossViT()


def _decode_boxes(deltas: Any, anchors: Any, weights: tuple[float, ...], size: int) -> Any:
    """Boxes (.., 4) from (.., 4) regression deltas on (.., 4) reference boxes (x1, y1,
    x2, y2), Faster R-CNN's centre-size parametrisation with ``weights`` and the scale
    deltas clamped, clipped to a ``size`` x ``size`` image."""
    import torch

    w, h = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    cx, cy = anchors[..., 0] + 0.5 * w, anchors[..., 1] + 0.5 * h
    limit = math.log(1000.0 / 16)
    dx, dy = deltas[..., 0] / weights[0], deltas[..., 1] / weights[1]
    dw = (deltas[..., 2] / weights[2]).clamp(max=limit)
    dh = (deltas[..., 3] / weights[3]).clamp(max=limit)
    px, py, pw, ph = dx * w + cx, dy * h + cy, torch.exp(dw) * w, torch.exp(dh) * h
    boxes = torch.stack([px - 0.5 * pw, py - 0.5 * ph, px + 0.5 * pw, py + 0.5 * ph], -1)
    return boxes.clamp(0, size)


def faster_rcnn(
    res: int = 320,
    classes: int = 91,
    proposals: int = 150,
    detections: int = 100,
    d: int = 256,
) -> Any:
    """Faster R-CNN (Ren, He, Girshick & Sun, "Faster R-CNN: Towards Real-Time Object
    Detection with Region Proposal Networks", NeurIPS 2015) with an FPN (Lin et al., CVPR
    2017) on MobileNetV3-Large (Howard et al., ICCV 2019), as torchvision's low-resolution
    mobile detector, on a ``res`` x ``res`` image: the stride-16 (112 channels) and
    stride-32 (960) features through a feature pyramid of ``d`` (1x1 lateral and 3x3
    output convs, nearest top-down, a max-pooled extra level); a region proposal network
    (a shared 3x3 conv, objectness and box deltas for 15 anchors of five sizes and three
    ratios a position); the ``proposals`` best (top-k in place of NMS) decoded and RoI
    aligned (7 x 7, two samples a bin, by bilinear grid sampling at the level of its
    size); a two-layer MLP head of 1024, ``classes`` class scores and per-class boxes; the
    ``detections`` best (class, box, score) kept."""
    import torch

    nn = _nn()
    F = nn.functional
    cfg = [
        (16, 3, 16, 16, False, False, 1),
        (16, 3, 64, 24, False, False, 2),
        (24, 3, 72, 24, False, False, 1),
        (24, 5, 72, 40, True, False, 2),
        (40, 5, 120, 40, True, False, 1),
        (40, 5, 120, 40, True, False, 1),
        (40, 3, 240, 80, False, True, 2),
        (80, 3, 200, 80, False, True, 1),
        (80, 3, 184, 80, False, True, 1),
        (80, 3, 184, 80, False, True, 1),
        (80, 3, 480, 112, True, True, 1),
        (112, 3, 672, 112, True, True, 1),
        (112, 5, 672, 160, True, True, 2),
        (160, 5, 960, 160, True, True, 1),
        (160, 5, 960, 160, True, True, 1),
    ]
    strides = (16, 32, 64)
    base = []
    for s in (32, 64, 128, 256, 512):
        for r in (0.5, 1.0, 2.0):
            hr, wr = math.sqrt(r), 1 / math.sqrt(r)
            base.append([-wr * s / 2, -hr * s / 2, wr * s / 2, hr * s / 2])
    base_t = torch.tensor(base).round()
    anchors = []
    for st in strides:
        n = math.ceil(res / st)
        ys, xs = torch.meshgrid(torch.arange(n) * st, torch.arange(n) * st, indexing="ij")
        shifts = torch.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4).float()
        anchors.append((shifts + base_t[None]).reshape(-1, 4))
    a = len(base)

    class FasterRCNN(nn.Module):
        anchors: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            blocks = [_mbv3_block(ci, m, co, k, s, se, hs) for ci, k, m, co, se, hs, s in cfg]
            self.c4 = nn.Sequential(_cbr(3, 16, 3, 2, act=nn.Hardswish), *blocks[:12])
            self.c5 = nn.Sequential(*blocks[12:], _cbr(160, 960, 1, act=nn.Hardswish))
            self.lat = nn.ModuleList([nn.Conv2d(112, d, 1), nn.Conv2d(960, d, 1)])
            self.out = nn.ModuleList(nn.Conv2d(d, d, 3, 1, 1) for _ in range(2))
            self.rpn = nn.Sequential(nn.Conv2d(d, d, 3, 1, 1), nn.ReLU())
            self.obj, self.deltas = nn.Conv2d(d, a, 1), nn.Conv2d(d, 4 * a, 1)
            self.head = nn.Sequential(
                nn.Linear(d * 49, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU()
            )
            self.cls, self.box = nn.Linear(1024, classes), nn.Linear(1024, 4 * classes)
            self.register_buffer("anchors", torch.cat(anchors))

        def roi(self, feats: list[Any], boxes: Any) -> Any:
            area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            lvl = torch.floor(4 + torch.log2(torch.sqrt(area.clamp(min=1e-6)) / 224) + 1e-6)
            fine = (lvl <= 4).float()[:, None, None, None]
            crops = [
                F.avg_pool2d(_crop(f, boxes / st, 14), 2)
                for f, st in zip(feats[:2], strides[:2], strict=True)
            ]
            return (fine * crops[0] + (1 - fine) * crops[1]).flatten(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c4 = self.c4(x)
            c5 = self.c5(c4)
            top = self.lat[1](c5)
            p4 = self.lat[0](c4) + F.interpolate(top, size=c4.shape[2:], mode="nearest")
            feats = [self.out[0](p4), self.out[1](top)]
            feats.append(F.max_pool2d(feats[1], 1, 2))
            objs, dels = [], []
            for f in feats:
                h = self.rpn(f)
                objs.append(self.obj(h)[0].permute(1, 2, 0).reshape(-1))
                dels.append(self.deltas(h)[0].reshape(a, 4, -1).permute(2, 0, 1).reshape(-1, 4))
            _, idx = torch.topk(torch.cat(objs), proposals)
            boxes = _decode_boxes(torch.cat(dels)[idx], self.anchors[idx], (1, 1, 1, 1), res)
            h = self.head(self.roi(feats, boxes))
            scores = torch.softmax(self.cls(h), -1)[:, 1:]
            deltas = self.box(h).reshape(proposals, classes, 4)[:, 1:]
            pred = _decode_boxes(deltas, boxes[:, None], (10, 10, 5, 5), res)
            best, idx = torch.topk(scores.flatten(), detections)
            label = (idx % (classes - 1) + 1).float()
            return torch.cat([pred.reshape(-1, 4)[idx], best[:, None], label[:, None]], -1)[None]

    return FasterRCNN()


def dabnet(
    classes: int = 19, d1: tuple[int, ...] = (2, 2, 2), d2: tuple[int, ...] = (4, 4, 8, 8, 16, 16)
) -> Any:
    """DABNet (Li, Xiong & Liu, "DABNet: Depth-wise Asymmetric Bottleneck for Real-time
    Semantic Segmentation", BMVC 2019): three 3x3 conv-BN-PReLUs (the first of stride 2)
    to 32, the image average-pooled and injected (concatenated) at strides 2, 4 and 8; a
    stride-2 downsampling block (a 3x3 stride-2 conv beside a max pool) to 64 and depth-
    wise asymmetric bottlenecks of dilations ``d1`` (a 3x3 conv halving the channels, a
    3x1 and 1x3 depthwise branch beside a dilated one, summed, a 1x1 conv back, a
    residual); another downsampling to 128 and bottlenecks of dilations ``d2``; the
    stages' concatenated outputs classified by a 1x1 conv and bilinearly upsampled."""
    import torch

    nn = _nn()
    F = nn.functional

    def bnp(c: int) -> Any:
        return nn.Sequential(nn.BatchNorm2d(c, eps=1e-3), nn.PReLU(c))

    def conv(a: int, b: int, k: Any, s: int = 1, p: Any = 0, d: Any = 1, g: int = 1) -> Any:
        return nn.Sequential(nn.Conv2d(a, b, k, s, p, d, g, bias=False), bnp(b))

    class DAB(nn.Module):
        def __init__(self, c: int, d: int) -> None:
            super().__init__()
            h = c // 2
            self.pre, self.conv = bnp(c), conv(c, h, 3, p=1)
            self.b1 = nn.Sequential(
                conv(h, h, (3, 1), p=(1, 0), g=h), conv(h, h, (1, 3), p=(0, 1), g=h)
            )
            self.b2 = nn.Sequential(
                conv(h, h, (3, 1), p=(d, 0), d=(d, 1), g=h),
                conv(h, h, (1, 3), p=(0, d), d=(1, d), g=h),
            )
            self.post, self.out = bnp(h), nn.Conv2d(h, c, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(self.pre(x))
            return self.out(self.post(self.b1(y) + self.b2(y))) + x

    class Down(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.pool = a < b
            self.conv = nn.Conv2d(a, b - a if self.pool else b, 3, 2, 1, bias=False)
            self.bnp = bnp(b)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.bnp(torch.cat([y, F.max_pool2d(x, 2, 2)], 1) if self.pool else y)

    class DABNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.init = nn.Sequential(
                conv(3, 32, 3, 2, 1), conv(32, 32, 3, p=1), conv(32, 32, 3, p=1)
            )
            self.bnp1, self.down1 = bnp(35), Down(35, 64)
            self.stage1 = nn.Sequential(*[DAB(64, d) for d in d1])
            self.bnp2, self.down2 = bnp(131), Down(131, 128)
            self.stage2 = nn.Sequential(*[DAB(128, d) for d in d2])
            self.bnp3, self.cls = bnp(259), nn.Conv2d(259, classes, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            i1 = F.avg_pool2d(x, 3, 2, 1)
            i2 = F.avg_pool2d(i1, 3, 2, 1)
            i3 = F.avg_pool2d(i2, 3, 2, 1)
            y = self.bnp1(torch.cat([self.init(x), i1], 1))
            y0 = self.down1(y)
            y = self.bnp2(torch.cat([self.stage1(y0), y0, i2], 1))
            y0 = self.down2(y)
            y = self.bnp3(torch.cat([self.stage2(y0), y0, i3], 1))
            return F.interpolate(self.cls(y), size=x.shape[2:], mode="bilinear")

    return DABNet()


def vitpose(
    h: int = 256,
    w: int = 192,
    d: int = 384,
    depth: int = 12,
    heads: int = 12,
    joints: int = 17,
) -> Any:
    """ViTPose (Xu, Zhang, Zhang & Tao, "ViTPose: Simple Vision Transformer Baselines for
    Human Pose Estimation", NeurIPS 2022), ViTPose-S with the classic decoder by default,
    on an ``h`` x ``w`` person crop: a 16x16 patch embedding (padding 2) to ``d`` with
    learned positions; ``depth`` plain ViT blocks of ``heads`` heads and a final layer
    norm; two 4x4 stride-2 deconv-BN-ReLUs of 256 and a 1x1 conv to ``joints`` heatmaps;
    every heatmap's argmax decoded to (x, y, score)."""
    import torch

    nn = _nn()
    hp, wp = (h + 4 - 16) // 16 + 1, (w + 4 - 16) // 16 + 1

    class ViTPose(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, 16, 16, 2)
            self.pos = nn.Parameter(torch.randn(hp * wp + 1, d) * 0.02)
            self.blocks = nn.Sequential(*[_vit_block(d, heads, 4 * d) for _ in range(depth)])
            self.norm = nn.LayerNorm(d, eps=1e-6)
            self.head = nn.Sequential(
                nn.ConvTranspose2d(d, 256, 4, 2, 1, bias=False),
                nn.BatchNorm2d(256),
                nn.ReLU(),
                nn.ConvTranspose2d(256, 256, 4, 2, 1, bias=False),
                nn.BatchNorm2d(256),
                nn.ReLU(),
                nn.Conv2d(256, joints, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.embed(x).flatten(2)[0].t() + self.pos[1:] + self.pos[:1]
            t = self.norm(self.blocks(t))
            heat = self.head(t.t().reshape(1, d, hp, wp))
            score, idx = heat.flatten(2).max(-1)
            wh = heat.shape[3]
            xs, ys = (idx % wh).float(), torch.div(idx, wh, rounding_mode="floor").float()
            return torch.stack([xs, ys, score], -1)

    return ViTPose()


def videopose3d(frames: int = 243, joints: int = 17, c: int = 1024) -> Any:
    """VideoPose3D (Pavllo, Feichtenhofer, Grangier & Auli, "3D human pose estimation in
    video with temporal convolutions and semi-supervised training", CVPR 2019), the model
    optimised for single-frame inference, lifting (1, ``frames``, 2 ``joints``) 2-D
    keypoints to the centre frame's 3-D pose: a width-3 stride-3 temporal conv-BN-ReLU to
    ``c``; log3(``frames``) - 1 residual blocks (a width-3 stride-3 conv and a 1x1 conv,
    BN-ReLUs each, the input strided-sliced as the residual); a 1x1 conv to 3
    ``joints``."""
    import torch

    nn = _nn()
    blocks = round(math.log(frames, 3)) - 1

    def cbr(k: int, s: int) -> list[Any]:
        return [nn.Conv1d(c, c, k, s, bias=False), nn.BatchNorm1d(c), nn.ReLU()]

    class VideoPose3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.expand = nn.Sequential(
                nn.Conv1d(2 * joints, c, 3, 3, bias=False), nn.BatchNorm1d(c), nn.ReLU()
            )
            self.blocks = nn.ModuleList(
                nn.Sequential(*cbr(3, 3), *cbr(1, 1)) for _ in range(blocks)
            )
            self.shrink = nn.Conv1d(c, 3 * joints, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.expand(x[0].t()[None])
            for block in self.blocks:
                y = y[:, :, 1::3] + block(y)
            return self.shrink(y).reshape(1, joints, 3)

    return VideoPose3D()


def midas_small(f: int = 64) -> Any:
    """MiDaS v2.1 small (Ranftl, Lasinger, Hafner, Schindler & Koltun, "Towards Robust
    Monocular Depth Estimation: Mixing Datasets for Zero-shot Cross-dataset Transfer",
    IEEE TPAMI 2022) predicting relative inverse depth: an EfficientNet-Lite3 encoder
    (ReLU6 MBConvs without squeeze-excitation, widths 32 to 384), its stride-4, 8, 16 and
    32 features through 3x3 convs to ``f``, 2, 4 and 8 ``f``; RefineNet-style fusion
    blocks from the coarsest (residual conv units, the coarser path added, x2 bilinear
    upsampling, a 1x1 conv halving the channels); a head of a 3x3 conv, x2 upsampling, a
    3x3 conv-ReLU and a 1x1 conv-ReLU to depth."""
    import torch

    nn = _nn()
    F = nn.functional
    act = nn.ReLU6
    stages = [
        (1, 3, 1, 24, 1),
        (6, 3, 2, 32, 3),
        (6, 5, 2, 48, 3),
        (6, 3, 2, 96, 5),
        (6, 5, 1, 136, 5),
        (6, 5, 2, 232, 6),
        (6, 3, 1, 384, 1),
    ]
    blocks, c = [], 32
    for e, k, s, co, n in stages:
        blocks.append(
            nn.Sequential(
                *[
                    _inverted(c if i == 0 else co, co, k, s if i == 0 else 1, e, act, None)
                    for i in range(n)
                ]
            )
        )
        c = co

    class RCU(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(c, c, 3, 1, 1), nn.Conv2d(c, c, 3, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.c2(torch.relu(self.c1(torch.relu(x))))

    class Fusion(nn.Module):
        def __init__(self, c: int, out: int, skip: bool) -> None:
            super().__init__()
            self.rcu1 = RCU(c) if skip else None
            self.rcu2, self.out = RCU(c), nn.Conv2d(c, out, 1)

        def forward(self, x: torch.Tensor, skip: Any = None) -> torch.Tensor:
            if self.rcu1 is not None:
                x = x + self.rcu1(skip)
            y = self.rcu2(x)
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=True)
            return self.out(y)

    class MiDaS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = nn.Sequential(_cbr(3, 32, 3, 2, act=act), *blocks[:2])
            self.l2, self.l3, self.l4 = (
                blocks[2],
                nn.Sequential(*blocks[3:5]),
                nn.Sequential(*blocks[5:]),
            )
            self.rn = nn.ModuleList(
                nn.Conv2d(a, b, 3, 1, 1, bias=False)
                for a, b in zip((32, 48, 136, 384), (f, 2 * f, 4 * f, 8 * f), strict=True)
            )
            self.ref4 = Fusion(8 * f, 4 * f, False)
            self.ref3, self.ref2 = Fusion(4 * f, 2 * f, True), Fusion(2 * f, f, True)
            self.ref1 = Fusion(f, f, True)
            self.head = nn.Sequential(
                nn.Conv2d(f, f // 2, 3, 1, 1),
                nn.Upsample(scale_factor=2.0, mode="bilinear"),
                nn.Conv2d(f // 2, 32, 3, 1, 1),
                nn.ReLU(),
                nn.Conv2d(32, 1, 1),
                nn.ReLU(),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f1 = self.l1(x)
            f2 = self.l2(f1)
            f3 = self.l3(f2)
            f4 = self.l4(f3)
            r = [rn(t) for rn, t in zip(self.rn, (f1, f2, f3, f4), strict=True)]
            p = self.ref4(r[3])
            p = self.ref3(p, r[2])
            p = self.ref2(p, r[1])
            p = self.ref1(p, r[0])
            return self.head(p)

    return MiDaS()


def _box_filter(x: Any, r: int) -> Any:
    """The mean of every (2 ``r`` + 1)-square window of a (1, c, h, w) map (over the
    pixels inside the image), as two 1-D average pools."""
    F = _nn().functional
    y = F.avg_pool2d(x, (2 * r + 1, 1), 1, (r, 0), count_include_pad=False)
    return F.avg_pool2d(y, (1, 2 * r + 1), 1, (0, r), count_include_pad=False)


def dehazenet(h: int, w: int, r: int = 20, eps: float = 1e-3, top: float = 0.001) -> Any:
    """DehazeNet (Cai, Xu, Jia, Qing & Tao, "DehazeNet: An End-to-End System for Single
    Image Haze Removal", IEEE TIP 2016) dehazing an ``h`` x ``w`` image: the transmission
    map estimated fully convolutionally (a 5x5 conv to 16 and a maxout over groups of 4;
    parallel 3x3, 5x5 and 7x7 convs of 16; a 7x7 max pool as local extremum; a 6x6 conv
    and the bilateral ReLU to [0, 1]), refined by a guided filter (window 2 ``r`` + 1,
    box filters) on the grey image; the atmospheric light the brightest colour among the
    ``top`` fraction of least transmitted pixels; the scene radiance recovered by the
    atmospheric scattering model."""
    import torch

    nn = _nn()
    F = nn.functional
    k = max(1, int(h * w * top))

    class DehazeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f1 = nn.Conv2d(3, 16, 5, 1, 2)
            self.f2 = nn.ModuleList(nn.Conv2d(4, 16, s, 1, s // 2) for s in (3, 5, 7))
            self.f4 = nn.Conv2d(48, 1, 6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f1(x).reshape(1, 4, 4, h, w).amax(2)
            y = torch.cat([conv(y) for conv in self.f2], 1)
            y = F.max_pool2d(y, 7, 1, 3)
            t = self.f4(F.pad(y, (2, 3, 2, 3), mode="replicate")).clamp(0, 1)
            g = x.mean(1, keepdim=True)
            mg, mt = _box_filter(g, r), _box_filter(t, r)
            cov = _box_filter(g * t, r) - mg * mt
            var = _box_filter(g * g, r) - mg * mg
            a = cov / (var + eps)
            t = _box_filter(a, r) * g + _box_filter(mt - a * mg, r)
            _, idx = torch.topk(-t.flatten(), k)
            light = x[0].flatten(1)[:, idx].amax(1)[None, :, None, None]
            return (x - light) / t.clamp(min=0.1) + light

    return DehazeNet()


def hdrnet(
    h: int,
    w: int,
    low: int = 256,
    bins: int = 8,
    grid: int = 16,
    knots: int = 16,
) -> Any:
    """HDRNet (Gharbi, Chen, Barron, Hasinoff & Durand, "Deep Bilateral Learning for
    Real-Time Image Enhancement", SIGGRAPH 2017) enhancing an ``h`` x ``w`` image: a
    low-resolution copy (``low`` x ``low``) through four stride-2 3x3 conv-ReLUs (8 to 64
    channels, BN after the first) to the ``grid`` x ``grid`` splat features, a local path
    (two 3x3 convs) and a global path (two stride-2 convs and fully connected layers of
    256, 128 and 64) fused by a ReLU and a 1x1 conv into a bilateral grid of 3 x 4 affine
    coefficients in ``bins`` luma bins; a full-resolution guide (a 3x3 colour transform,
    per-channel piecewise-linear curves of ``knots`` knots and a 1x1 mix); the grid
    sliced trilinearly at (x, y, guide) and the affine colour transform applied per
    pixel."""
    import torch

    nn = _nn()
    F = nn.functional
    n = int(math.log2(low // grid))

    class HDRNet(nn.Module):
        shifts: torch.Tensor
        centres: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            for i in range(n):
                a, b = 3 if i == 0 else bins * 2 ** (i - 1), bins * 2**i
                layers += [nn.Conv2d(a, b, 3, 2, 1)]
                layers += [nn.BatchNorm2d(b)] if i else []
                layers += [nn.ReLU()]
            self.splat = nn.Sequential(*layers)
            c = bins * 2 ** (n - 1)
            self.glob_conv = nn.Sequential(
                *(nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU()),
                *(nn.Conv2d(c, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU()),
            )
            side = grid // 4
            self.glob_fc = nn.Sequential(
                nn.Linear(c * side * side, 32 * bins),
                nn.ReLU(),
                nn.Linear(32 * bins, 16 * bins),
                nn.ReLU(),
                nn.Linear(16 * bins, 8 * bins),
            )
            self.local = nn.Sequential(
                nn.Conv2d(c, c, 3, 1, 1),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.Conv2d(c, c, 3, 1, 1, bias=False),
            )
            self.coeffs = nn.Conv2d(c, 12 * bins, 1)
            self.ccm = nn.Conv2d(3, 3, 1)
            self.slopes = nn.Parameter(torch.full((3, knots), 1.0 / knots))
            self.register_buffer("shifts", torch.linspace(0, 1, knots + 1)[:-1].repeat(3, 1))
            self.mix = nn.Conv2d(3, 1, 1)
            self.register_buffer("centres", torch.arange(bins).float() + 0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            lo = F.interpolate(x, size=(low, low), mode="bilinear")
            s = self.splat(lo)
            gl = self.glob_fc(self.glob_conv(s).flatten(1))
            fused = torch.relu(self.local(s) + gl[:, :, None, None])
            g = self.coeffs(fused)
            g = F.interpolate(g, size=(h, w), mode="bilinear").reshape(1, 12, bins, h, w)
            y = self.ccm(x)
            y = torch.relu(y[:, :, None] - self.shifts[None, :, :, None, None])
            y = (y * self.slopes[None, :, :, None, None]).sum(2)
            guide = torch.sigmoid(self.mix(y)) * bins
            wts = torch.relu(1 - (guide - self.centres[None, :, None, None]).abs())
            a = (g * wts[:, None]).sum(2).reshape(1, 3, 4, h, w)
            return (a[:, :, :3] * x[:, None]).sum(2) + a[:, :, 3]

    return HDRNet()


def movinet_a0(classes: int = 600) -> Any:
    """MoViNet-A0 (Kondratyuk et al., "MoViNets: Mobile Video Networks for Efficient
    Video Recognition", CVPR 2021), the base (non-streaming) network found by the
    search, on a (1, 3, t, 172, 172) clip: a 1x3x3 stride-2 conv to 8; five stages of
    3-D inverted bottlenecks (1x1x1 expansion, a depthwise conv of the searched kernel
    (1x5x5, 3x3x3 or 5x3x3), squeeze-excitation with swish and hard sigmoid, a 1x1x1
    projection; swish, BN; a residual through a 1x3x3 average pool and a 1x1x1 conv when
    the shape changes, scaled by a learned ReZero weight) of 8, 32, 56, 56 and 104
    channels; a 1x1x1 conv to 480, global average pooling, a 1x1x1 conv of 2048 with
    swish and the ``classes`` logits."""
    import torch

    nn = _nn()
    spec = [
        [(8, 8, 24, (1, 5, 5), 2, (0, 2, 2), (0, 1, 1))],
        [
            (8, 32, 80, (3, 3, 3), 2, (1, 0, 0), (0, 0, 0)),
            (32, 32, 80, (3, 3, 3), 1, (1, 1, 1), None),
            (32, 32, 80, (3, 3, 3), 1, (1, 1, 1), None),
        ],
        [
            (32, 56, 184, (5, 3, 3), 2, (2, 0, 0), (0, 0, 0)),
            (56, 56, 112, (3, 3, 3), 1, (1, 1, 1), None),
            (56, 56, 184, (3, 3, 3), 1, (1, 1, 1), None),
        ],
        [
            (56, 56, 184, (5, 3, 3), 1, (2, 1, 1), None),
            (56, 56, 184, (3, 3, 3), 1, (1, 1, 1), None),
            (56, 56, 184, (3, 3, 3), 1, (1, 1, 1), None),
            (56, 56, 184, (3, 3, 3), 1, (1, 1, 1), None),
        ],
        [
            (56, 104, 384, (5, 3, 3), 2, (2, 1, 1), (0, 1, 1)),
            (104, 104, 280, (1, 5, 5), 1, (0, 2, 2), None),
            (104, 104, 280, (1, 5, 5), 1, (0, 2, 2), None),
            (104, 104, 344, (1, 5, 5), 1, (0, 2, 2), None),
        ],
    ]

    def cbs(a: int, b: int, k: Any = 1, s: Any = 1, p: Any = 0, g: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv3d(a, b, k, s, p, groups=g, bias=False), nn.BatchNorm3d(b), nn.SiLU()
        )

    class Block(nn.Module):
        def __init__(self, a: int, b: int, e: int, k: Any, s: int, p: Any, pa: Any) -> None:
            super().__init__()
            st = (1, s, s)
            sq = max(8, int(e / 4 + 4) // 8 * 8)
            self.expand, self.deep = cbs(a, e), cbs(e, e, k, st, p, e)
            self.se = nn.Sequential(
                nn.Conv3d(e, sq, 1), nn.SiLU(), nn.Conv3d(sq, e, 1), nn.Hardsigmoid()
            )
            self.project = nn.Sequential(nn.Conv3d(e, b, 1, bias=False), nn.BatchNorm3d(b))
            if a == b and s == 1:
                self.res: Any = nn.Identity()
            else:
                pool = [nn.AvgPool3d((1, 3, 3), st, pa)] if s > 1 else []
                proj = [nn.Conv3d(a, b, 1, bias=False), nn.BatchNorm3d(b)]
                self.res = nn.Sequential(*pool, *proj)
            self.alpha = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.deep(self.expand(x))
            y = self.project(y * self.se(y.mean((2, 3, 4), keepdim=True)))
            return self.res(x) + self.alpha * y

    layers: list[Any] = [cbs(3, 8, (1, 3, 3), (1, 2, 2), (0, 1, 1))]
    for stage in spec:
        layers += [Block(*row) for row in stage]
    layers += [cbs(104, 480), nn.AdaptiveAvgPool3d(1), nn.Conv3d(480, 2048, 1), nn.SiLU()]
    layers += [nn.Conv3d(2048, classes, 1), nn.Flatten()]
    return nn.Sequential(*layers)


def _tps_kernel(src: Any, dst: Any) -> Any:
    """The thin-plate-spline radial terms U(r) = r^2 log r^2 between (n, 2) and (m, 2)
    points, (n, m)."""
    import torch

    d2 = ((src[:, None] - dst[None]) ** 2).sum(-1)
    return 0.5 * d2 * torch.log(d2 + 1e-9)


def aster(
    h: int = 32,
    w: int = 100,
    classes: int = 97,
    steps: int = 25,
    ctrl: int = 20,
    d: int = 512,
) -> Any:
    """ASTER (Shi, Yang, Wang, Lyu, Yao & Bai, "ASTER: An Attentional Scene Text
    Recognizer with Flexible Rectification", IEEE TPAMI 2018) reading a (1, 3, 64, 256)
    word crop: the rectification network (a 32 x 64 copy through six 3x3
    conv-BN-ReLUs of 32 to 256 with max pools, fully connected layers of 512 and 2
    ``ctrl``) predicting ``ctrl`` control points whose thin-plate spline (the inverse of
    its fixed kernel matrix a buffer) maps an ``h`` x ``w`` grid sampled bilinearly from
    the crop; a 45-layer ResNet (1x1-3x3 residual blocks of 32 to 512 in 3, 4, 6, 6 and 3
    blocks, strides 2, 2, (2, 1), (2, 1), (2, 1)) to a ``w`` / 4 sequence; two BiLSTM
    layers of 256; an attentional GRU decoder of ``d`` (additive attention, the previous
    symbol embedded) decoding ``steps`` symbols greedily over ``classes`` classes."""
    import torch

    nn = _nn()
    F = nn.functional
    half = ctrl // 2
    xs = torch.linspace(-0.95, 0.95, half)
    target = torch.cat(
        [
            torch.stack([xs, torch.full_like(xs, -0.95)], 1),
            torch.stack([xs, torch.full_like(xs, 0.95)], 1),
        ]
    )
    kernel = torch.zeros(ctrl + 3, ctrl + 3)
    kernel[:ctrl, :ctrl] = _tps_kernel(target, target)
    kernel[:ctrl, ctrl] = kernel[ctrl, :ctrl] = 1
    kernel[:ctrl, ctrl + 1 :] = target
    kernel[ctrl + 1 :, :ctrl] = target.t()
    gy, gx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    coords = torch.stack([gx, gy], -1).reshape(-1, 2)
    rep = torch.cat([_tps_kernel(coords, target), torch.ones(h * w, 1), coords], 1)

    class Block(nn.Module):
        def __init__(self, a: int, b: int, s: Any) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(a, b, 1, s, bias=False), nn.BatchNorm2d(b), nn.ReLU(), _cbr(b, b, 3)
            )
            self.short = (
                nn.Sequential(nn.Conv2d(a, b, 1, s, bias=False), nn.BatchNorm2d(b))
                if a != b or s != 1
                else nn.Identity()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    class ASTER(nn.Module):
        inverse: torch.Tensor
        rep: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            loc: list[Any] = []
            for i, (a, b) in enumerate(
                zip((3, 32, 64, 128, 256, 256), (32, 64, 128, 256, 256, 256), strict=True)
            ):
                loc.append(_cbr(a, b, 3, act=nn.ReLU))
                if i < 5:
                    loc.append(nn.MaxPool2d(2, 2))
            self.loc = nn.Sequential(*loc, nn.Flatten())
            self.loc_fc = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 2 * ctrl))
            with torch.no_grad():
                self.loc_fc[-1].weight.zero_()
                self.loc_fc[-1].bias.copy_(target.flatten())
            self.register_buffer("inverse", torch.linalg.inv(kernel))
            self.register_buffer("rep", rep)
            layers: list[Any] = [_cbr(3, 32, 3, act=nn.ReLU)]
            cin = 32
            for c, n, s in zip(
                (32, 64, 128, 256, 512),
                (3, 4, 6, 6, 3),
                ((2, 2), (2, 2), (2, 1), (2, 1), (2, 1)),
                strict=True,
            ):
                for j in range(n):
                    layers.append(Block(cin, c, s if j == 0 else 1))
                    cin = c
            self.cnn = nn.Sequential(*layers)
            self.rnn = nn.LSTM(512, 256, num_layers=2, batch_first=True, bidirectional=True)
            self.embed = nn.Embedding(classes + 1, d)
            self.s_proj, self.x_proj = nn.Linear(d, d), nn.Linear(512, d)
            self.score = nn.Linear(d, 1)
            self.gru = _gru_cell(d + 512, d)
            self.out = nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            small = F.interpolate(x, size=(32, 64), mode="bilinear")
            pts = self.loc_fc(self.loc(small)).reshape(ctrl, 2)
            mapping = self.inverse @ torch.cat([pts, torch.zeros(3, 2)], 0)
            grid = (self.rep @ mapping).reshape(1, h, w, 2)
            y = F.grid_sample(x, grid, mode="bilinear", align_corners=True)
            seq = self.rnn(self.cnn(y).flatten(2).transpose(1, 2))[0][0]
            xp = self.x_proj(seq)
            state = torch.zeros(1, d)
            tok = torch.full((1,), classes, dtype=torch.long)
            logits = []
            for _ in range(steps):
                a = torch.softmax(self.score(torch.tanh(xp + self.s_proj(state))), 0)
                ctx = (a * seq).sum(0, keepdim=True)
                state = self.gru(torch.cat([self.embed(tok), ctx], -1), state)
                z = self.out(state)
                logits.append(z)
                tok = z.argmax(-1)
            return torch.cat(logits, 0)[None]

    return ASTER()


def pidinet(c: int = 30, dil: int = 12) -> Any:
    """PiDiNet (Su et al., "Pixel Difference Networks for Efficient Edge Detection",
    ICCV 2021) in its converted (deployed) form, PiDiNet-Small by default: an initial
    3x3 conv to ``c``; four stages of four residual blocks (a depthwise conv, 3x3 or 5x5
    where the radial pixel-difference conv was converted, ReLU and a 1x1 conv; stages
    after the first opened by a 2x2 max pool and a 1x1 shortcut) of ``c``, 2 ``c``, 4
    ``c`` and 4 ``c`` channels; on every stage a compact dilation convolution module
    (ReLU, a 1x1 conv to ``dil``, four 3x3 convs of dilations 5, 7, 9 and 11 summed) and
    a compact spatial attention module; a 1x1 conv per stage to an edge map, upsampled
    bilinearly, and a 1x1 fusion of the four; the five maps through sigmoids."""
    import torch

    nn = _nn()
    F = nn.functional

    class Block(nn.Module):
        def __init__(self, a: int, b: int, k: int, s: int) -> None:
            super().__init__()
            self.pool = nn.MaxPool2d(2, 2) if s > 1 else None
            self.short = nn.Conv2d(a, b, 1) if s > 1 else None
            self.conv1 = nn.Conv2d(a, a, k, 1, k // 2, groups=a, bias=False)
            self.conv2 = nn.Conv2d(a, b, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.pool is not None:
                x = self.pool(x)
            y = self.conv2(torch.relu(self.conv1(x)))
            return y + (self.short(x) if self.short is not None else x)

    class CDCM(nn.Module):
        def __init__(self, a: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(a, dil, 1)
            self.dils = nn.ModuleList(
                nn.Conv2d(dil, dil, 3, 1, r, r, bias=False) for r in (5, 7, 9, 11)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(torch.relu(x))
            d = self.dils
            return d[0](y) + d[1](y) + d[2](y) + d[3](y)

    class CSAM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(dil, 4, 1), nn.Conv2d(4, 1, 3, 1, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(self.c2(self.c1(torch.relu(x))))

    class PiDiNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.init = nn.Conv2d(3, c, 3, 1, 1, bias=False)
            widths = (c, 2 * c, 4 * c, 4 * c)
            stages, cin, i = [], c, 1
            for si, cout in enumerate(widths):
                blocks = []
                for j in range(4 if si else 3):
                    k = 5 if i % 4 == 2 else 3
                    blocks.append(Block(cin, cout, k, 2 if si and j == 0 else 1))
                    cin, i = cout, i + 1
                stages.append(nn.Sequential(*blocks))
            self.stages = nn.ModuleList(stages)
            self.fuse = nn.ModuleList(nn.Sequential(CDCM(wd), CSAM()) for wd in widths)
            self.reduce = nn.ModuleList(nn.Conv2d(dil, 1, 1) for _ in widths)
            self.cls = nn.Conv2d(4, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, edges = self.init(x), []
            for stage, fuse, reduce in zip(self.stages, self.fuse, self.reduce, strict=True):
                y = stage(y)
                e = reduce(fuse(y))
                if e.shape[2] != x.shape[2]:
                    e = F.interpolate(e, size=x.shape[2:], mode="bilinear")
                edges.append(e)
            edges.append(self.cls(torch.cat(edges, 1)))
            return torch.sigmoid(torch.cat(edges, 1))

    return PiDiNet()


def netvlad(clusters: int = 64, whiten: int = 4096) -> Any:
    """NetVLAD (Arandjelović, Gronat, Torii, Pajdla & Sivic, "NetVLAD: CNN architecture
    for weakly supervised place recognition", CVPR 2016) in its AlexNet variant, the
    image descriptor for place recognition: AlexNet's convs (11x11 stride 4 to 96, 5x5
    grouped to 256, 3x3 to 384, 384 and 256, ReLUs, local response norms and max pools)
    cropped at conv5 before its ReLU; each descriptor L2-normalised, softly assigned to
    ``clusters`` clusters by a 1x1 conv and a softmax; the residuals to the cluster
    centres aggregated, intra-normalised and L2-normalised; a PCA whitening layer to
    ``whiten`` dimensions and a final L2 normalisation."""
    import torch

    nn = _nn()
    F = nn.functional

    class NetVLAD(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 11, 4),
                nn.ReLU(),
                nn.LocalResponseNorm(5, 1e-4, 0.75),
                nn.MaxPool2d(3, 2),
                nn.Conv2d(96, 256, 5, 1, 2, groups=2),
                nn.ReLU(),
                nn.LocalResponseNorm(5, 1e-4, 0.75),
                nn.MaxPool2d(3, 2),
                nn.Conv2d(256, 384, 3, 1, 1),
                nn.ReLU(),
                nn.Conv2d(384, 384, 3, 1, 1, groups=2),
                nn.ReLU(),
                nn.Conv2d(384, 256, 3, 1, 1, groups=2),
            )
            self.assign = nn.Conv2d(256, clusters, 1)
            self.centres = nn.Parameter(torch.randn(clusters, 256) * 0.1)
            self.pca = nn.Linear(clusters * 256, whiten)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = F.normalize(self.features(x), dim=1)
            a = torch.softmax(self.assign(f), 1).flatten(2)[0]
            f = f.flatten(2)[0]
            vlad = a @ f.t() - a.sum(1, keepdim=True) * self.centres
            vlad = F.normalize(F.normalize(vlad, dim=1).flatten()[None], dim=1)
            return F.normalize(self.pca(vlad), dim=1)

    return NetVLAD()


def singan(
    h: int = 96, w: int = 128, factor: float = 0.75, smallest: int = 25, amp: float = 0.1
) -> Any:
    """SinGAN (Shaham, Dekel & Michaeli, "SinGAN: Learning a Generative Model from a
    Single Natural Image", ICCV 2019) sampling an ``h`` x ``w`` image from its pyramid of
    fully convolutional generators (scales shrinking by ``factor`` down to ``smallest``
    pixels): the coarsest generator on the given noise map, each finer one on its fixed
    noise (scaled by ``amp``) plus the bilinearly upsampled coarser image, its output
    residual added; each generator five 3x3 convs (BN and leaky ReLUs, a tanh last) of
    32 channels, doubled every four scales, on the input zero-padded by 5."""
    import torch

    nn = _nn()
    F = nn.functional
    sizes = [(h, w)]
    while min(sizes[-1]) * factor >= smallest:
        k = len(sizes)
        sizes.append((round(h * factor**k), round(w * factor**k)))
    sizes = sizes[::-1]

    def gen(c: int) -> Any:
        layers: list[Any] = []
        for a, b in ((3, c), (c, c), (c, c), (c, c)):
            layers += [nn.Conv2d(a, b, 3), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
        return nn.Sequential(nn.ZeroPad2d(5), *layers, nn.Conv2d(c, 3, 3), nn.Tanh())

    class SinGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gens = nn.ModuleList(gen(min(32 * 2 ** (i // 4), 128)) for i in range(len(sizes)))
            g = torch.Generator().manual_seed(0)
            for i, (a, b) in enumerate(sizes[1:]):
                self.register_buffer(f"z{i + 1}", torch.randn(1, 3, a, b, generator=g) * amp)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            img = self.gens[0](x)
            for i in range(1, len(sizes)):
                up = F.interpolate(img, size=sizes[i], mode="bilinear")
                img = self.gens[i](getattr(self, f"z{i}") + up) + up
            return img

    return SinGAN()


# ---------------------------------------------------------------- speech and audio


def _rel_positions(t: int, d: int) -> Any:
    """Sinusoidal encodings (2 ``t`` - 1, ``d``) of the relative positions ``t`` - 1 down
    to 1 - ``t``."""
    import torch

    pos = torch.arange(t - 1, -t, -1, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], 1)


def squeezeformer(
    frames: int,
    d: int = 144,
    layers: int = 16,
    heads: int = 4,
    feats: int = 80,
    vocab: int = 128,
    k: int = 31,
    reduce_at: int = 7,
) -> Any:
    """Squeezeformer (Kim et al., "Squeezeformer: An Efficient Transformer for Automatic
    Speech Recognition", NeurIPS 2022), Squeezeformer-XS by default, transcribing (1,
    ``frames``, ``feats``) log-mel frames with CTC: depthwise-separable conv subsampling
    by 4 (a 3x3 stride-2 conv, a stride-2 depthwise and a pointwise conv, ReLUs, a linear
    layer to ``d``); ``layers`` MF/CF blocks (relative-position multi-head attention of
    ``heads``, a swish feed-forward net, a convolution module of a pointwise conv, a
    width-``k`` depthwise conv, BN and swish, and another feed-forward net; each module
    on a learned scale and bias of its input, added and post-layer-normed); the temporal
    U-Net (halving the rate by a stride-2 depthwise-separable conv before block
    ``reduce_at``, restoring it by repetition, a linear layer and the skip before the
    last); ``vocab`` word pieces and the blank."""
    import torch

    nn = _nn()
    F = nn.functional
    t = (frames - 1) // 2 // 2 + 1
    f4 = (feats - 1) // 2 // 2 + 1
    th = (t - 1) // 2 + 1
    dh = d // heads

    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w, self.b = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.w + self.b

    class RelMHA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.pos, self.o = (
                nn.Linear(d, 3 * d),
                nn.Linear(d, d, bias=False),
                nn.Linear(d, d),
            )
            self.u, self.v = (
                nn.Parameter(torch.zeros(heads, 1, dh)),
                nn.Parameter(torch.zeros(heads, 1, dh)),
            )

        def forward(self, x: torch.Tensor, pe: torch.Tensor) -> torch.Tensor:
            n = x.shape[0]
            q, kk, v = self.qkv(x).reshape(n, 3, heads, dh).permute(1, 2, 0, 3).unbind(0)
            p = self.pos(pe).reshape(2 * n - 1, heads, dh).transpose(0, 1)
            ac = (q + self.u) @ kk.transpose(1, 2)
            bd = F.pad((q + self.v) @ p.transpose(1, 2), (1, 0)).reshape(heads, 2 * n, n)
            bd = bd[:, 1:].reshape(heads, n, 2 * n - 1)[:, :, :n]
            a = torch.softmax((ac + bd) * dh**-0.5, -1)
            return self.o((a @ v).transpose(0, 1).reshape(n, d))

    class ConvModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv1d(d, d, 1),
                nn.SiLU(),
                nn.Conv1d(d, d, k, 1, k // 2, groups=d),
                nn.BatchNorm1d(d),
                nn.SiLU(),
                nn.Conv1d(d, d, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.f(x.t()[None])[0].t()

    def ffn() -> Any:
        return nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mods = nn.ModuleList([RelMHA(), ffn(), ConvModule(), ffn()])
            self.scales = nn.ModuleList(Scale() for _ in range(4))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(4))

        def forward(self, x: torch.Tensor, pe: torch.Tensor) -> torch.Tensor:
            for i, (mod, scale, norm) in enumerate(
                zip(self.mods, self.scales, self.norms, strict=True)
            ):
                y = scale(x)
                x = norm(x + (mod(y, pe) if i == 0 else mod(y)))
            return x

    class Squeezeformer(nn.Module):
        pe: torch.Tensor
        pe_half: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.sub = nn.Sequential(
                nn.Conv2d(1, d, 3, 2, 1),
                nn.ReLU(),
                nn.Conv2d(d, d, 3, 2, 1, groups=d),
                nn.Conv2d(d, d, 1),
                nn.ReLU(),
            )
            self.sub_out, self.pre_ln = nn.Linear(d * f4, d), nn.LayerNorm(d)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.reduce = nn.Sequential(nn.Conv1d(d, d, 5, 2, 2, groups=d), nn.Conv1d(d, d, 1))
            self.recover = nn.Linear(d, d)
            self.register_buffer("pe", _rel_positions(t, d))
            self.register_buffer("pe_half", _rel_positions(th, d))
            self.ctc = nn.Linear(d, vocab + 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.sub(x[:, None])[0].permute(1, 0, 2).reshape(t, d * f4)
            y = self.pre_ln(self.sub_out(y))
            skip, pe = y, self.pe
            for i, block in enumerate(self.blocks):
                if i == reduce_at:
                    skip, pe = y, self.pe_half
                    y = self.reduce(y.t()[None])[0].t()
                if i == layers - 1:
                    up = y[:, None].expand(th, 2, d).reshape(2 * th, d)[:t]
                    y, pe = self.recover(up) + skip, self.pe
                y = block(y, pe)
            return torch.log_softmax(self.ctc(y), -1)[None]

    return Squeezeformer()


def onsets_frames(
    frames: int, mels: int = 229, keys: int = 88, fc: int = 512, lstm: int = 128
) -> Any:
    """Onsets and Frames (Hawthorne et al., "Onsets and Frames: Dual-Objective Piano
    Transcription", ISMIR 2018) transcribing (1, ``frames``, ``mels``) log-mel frames of
    piano: three acoustic stacks (Kelz et al.'s conv stack: 3x3 conv-BN-ReLUs of 32, 32
    and 64 with frequency max pools, a fully connected layer of ``fc``) for onsets,
    frames and velocities; the onset stack through a BiLSTM of ``lstm`` to ``keys`` onset
    probabilities; the frame stack's ``keys`` activations concatenated with the onset
    probabilities through another BiLSTM to the frame probabilities; the velocity stack
    to ``keys`` velocities."""
    import torch

    nn = _nn()
    f4 = mels // 4

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cnn = nn.Sequential(
                _cbr(1, 32, 3, act=nn.ReLU),
                _cbr(32, 32, 3, act=nn.ReLU),
                nn.MaxPool2d((1, 2)),
                _cbr(32, 64, 3, act=nn.ReLU),
                nn.MaxPool2d((1, 2)),
            )
            self.fc = nn.Linear(64 * f4, fc)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.cnn(x[:, None])[0].permute(1, 0, 2).reshape(frames, 64 * f4)
            return self.fc(y)

    class OnsetsFrames(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.onset, self.frame, self.velocity = Stack(), Stack(), Stack()
            self.onset_rnn = nn.LSTM(fc, lstm, batch_first=True, bidirectional=True)
            self.onset_out = nn.Linear(2 * lstm, keys)
            self.frame_fc = nn.Linear(fc, keys)
            self.combined = nn.LSTM(2 * keys, lstm, batch_first=True, bidirectional=True)
            self.frame_out = nn.Linear(2 * lstm, keys)
            self.velocity_out = nn.Linear(fc, keys)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            on = torch.sigmoid(self.onset_out(self.onset_rnn(self.onset(x)[None])[0][0]))
            act = torch.sigmoid(self.frame_fc(self.frame(x)))
            fr = self.combined(torch.cat([on, act], -1)[None])[0][0]
            fr = torch.sigmoid(self.frame_out(fr))
            vel = self.velocity_out(self.velocity(x))
            return torch.cat([on, fr, vel], -1)[None]

    return OnsetsFrames()


def seldnet(
    frames: int = 128,
    bins: int = 512,
    mics: int = 4,
    classes: int = 11,
    c: int = 64,
    pools: tuple[int, ...] = (8, 8, 2),
    gru: int = 128,
) -> Any:
    """SELDnet (Adavanne, Politis, Nikunen & Virtanen, "Sound Event Localization and
    Detection of Overlapping Sources Using Convolutional Recurrent Neural Networks", IEEE
    JSTSP 2019) on the magnitude and phase spectrograms of ``mics`` channels (1, 2
    ``mics``, ``frames``, ``bins``): three 3x3 conv-BN-ReLUs of ``c`` each followed by a
    max pool over frequency only (``pools``); two bidirectional GRU layers of ``gru``;
    a sound event detection branch (a linear layer of 128, ``classes`` sigmoids) and a
    direction-of-arrival branch (a linear layer of 128, 3 ``classes`` tanh Cartesian
    coordinates) at every frame."""
    import torch

    nn = _nn()
    layers: list[Any] = []
    cin = 2 * mics
    for p in pools:
        layers += [_cbr(cin, c, 3, act=nn.ReLU), nn.MaxPool2d((1, p))]
        cin = c
    left = bins // math.prod(pools)

    class SELDnet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cnn = nn.Sequential(*layers)
            self.rnn = nn.GRU(c * left, gru, num_layers=2, batch_first=True, bidirectional=True)
            self.sed = nn.Sequential(nn.Linear(2 * gru, 128), nn.Linear(128, classes), nn.Sigmoid())
            self.doa = nn.Sequential(
                nn.Linear(2 * gru, 128), nn.Linear(128, 3 * classes), nn.Tanh()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.cnn(x).permute(0, 2, 1, 3).reshape(1, frames, c * left)
            y = self.rnn(y)[0]
            return torch.cat([self.sed(y), self.doa(y)], -1)

    return SELDnet()


def wavernn(frames: int = 4, hop: int = 64, mels: int = 80, hidden: int = 896) -> Any:
    """WaveRNN (Kalchbrenner et al., "Efficient Neural Audio Synthesis", ICML 2018)
    generating ``frames`` ``hop`` 16-bit samples one at a time from (1, ``frames``,
    ``mels``) conditioning frames (upsampled by repetition): a GRU of ``hidden`` units
    whose state is split into a coarse and a fine half; at every step the coarse half's
    gates from the state and the previous coarse and fine samples, its 8-bit coarse
    sample drawn from a softmax of a ReLU layer (Gumbel-max with fixed noise), then the
    fine half's gates also from the new coarse sample and its fine 8 bits drawn likewise
    (the dual softmax)."""
    import torch

    nn = _nn()
    half = hidden // 2
    samples = frames * hop

    class WaveRNN(nn.Module):
        gumbel: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.r = nn.Linear(hidden, 3 * hidden, bias=False)
            self.ic, self.if_ = (
                nn.Linear(2, 3 * half, bias=False),
                nn.Linear(3, 3 * half, bias=False),
            )
            self.cc, self.cf = nn.Linear(mels, 3 * half), nn.Linear(mels, 3 * half)
            self.oc = nn.Sequential(nn.Linear(half, half), nn.ReLU(), nn.Linear(half, 256))
            self.of = nn.Sequential(nn.Linear(half, half), nn.ReLU(), nn.Linear(half, 256))
            g = torch.Generator().manual_seed(0)
            u = torch.rand(samples, 2, 256, generator=g).clamp(1e-6, 1 - 1e-6)
            self.register_buffer("gumbel", -torch.log(-torch.log(u)))

        @staticmethod
        def gru(r: Any, i: Any, h: Any) -> Any:
            ru, rr, re = r
            iu, ir, ie = i.chunk(3, -1)
            u, g = torch.sigmoid(ru + iu), torch.sigmoid(rr + ir)
            return u * h + (1 - u) * torch.tanh(g * re + ie)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            m = x[0][:, None].expand(frames, hop, mels).reshape(samples, mels)
            cc, cf = self.cc(m), self.cf(m)
            h = torch.zeros(1, hidden)
            c_prev, f_prev = torch.zeros(1, 1), torch.zeros(1, 1)
            out = []
            for t in range(samples):
                r = self.r(h).reshape(3, hidden)
                hc = self.gru(
                    r[:, None, :half],
                    self.ic(torch.cat([c_prev, f_prev], -1)) + cc[t : t + 1],
                    h[:, :half],
                )
                c = (self.oc(hc) + self.gumbel[t, :1]).argmax(-1)
                cs = c.float()[:, None] / 127.5 - 1
                xf = self.if_(torch.cat([c_prev, f_prev, cs], -1)) + cf[t : t + 1]
                hf = self.gru(r[:, None, half:], xf, h[:, half:])
                f = (self.of(hf) + self.gumbel[t, 1:]).argmax(-1)
                h, c_prev, f_prev = torch.cat([hc, hf], -1), cs, f.float()[:, None] / 127.5 - 1
                out.append(c * 256 + f)
            return (torch.cat(out).float() / 32767.5 - 1)[None]

    return WaveRNN()


def wavegan(z: int = 100, d: int = 64, k: int = 25) -> Any:
    """The WaveGAN generator (Donahue, McAuley & Puckette, "Adversarial Audio Synthesis",
    ICLR 2019) of 16384 samples (one second at 16 kHz) from a (1, ``z``) latent: a
    linear layer to 16 steps of 16 ``d`` channels, ReLU; five width-``k`` stride-4
    transposed 1-D convs (to 8, 4, 2 and 1 ``d`` channels and 1, ReLUs, a tanh last)."""
    nn = _nn()
    chans = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]
    layers: list[Any] = [nn.Linear(z, 16 * 16 * d), nn.Unflatten(1, (16 * d, 16)), nn.ReLU()]
    for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
        layers += [nn.ConvTranspose1d(a, b, k, 4, k // 2 - 1, output_padding=1)]
        layers += [nn.ReLU() if i < len(chans) - 2 else nn.Tanh()]
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- text


def reformer(
    seq: int,
    vocab: int = 256,
    d: int = 256,
    heads: int = 4,
    ff: int = 1024,
    layers: int = 4,
    chunk: int = 64,
    hashes: int = 2,
) -> Any:
    """Reformer (Kitaev, Kaiser & Levskaya, "Reformer: The Efficient Transformer", ICLR
    2020), a byte-level language model on (1, ``seq``) bytes: token and learned position
    embeddings of ``d``; ``layers`` reversible layers (y1 = x1 + attention(x2), y2 = x2 +
    feed-forward(y1), each pre-layer-normed) of causal LSH self-attention (shared
    query-key projections of ``heads`` heads hashed by ``hashes`` random rotations into
    ``seq`` / ``chunk`` buckets, sorted by bucket and position, attended in chunks of
    ``chunk`` with the previous chunk, unit-normed keys, the query's own position masked,
    unsorted and the rounds combined by their log-sum-exp weights) and GELU feed-forward
    nets of ``ff``; the two halves averaged, layer-normed, to byte logits."""
    import torch

    nn = _nn()
    F = nn.functional
    buckets = seq // chunk
    dh = d // heads
    n = hashes * seq
    ch = n // chunk

    def roll(t: Any) -> Any:
        return torch.cat([t[:, -1:], t[:, :-1]], 1)

    class LSHAttention(nn.Module):
        rot: torch.Tensor
        offsets: torch.Tensor
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.qk, self.v = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
            self.o = nn.Linear(d, d)
            self.register_buffer("rot", torch.randn(dh, hashes * (buckets // 2)))
            self.register_buffer("offsets", (torch.arange(hashes) * buckets)[:, None].float())
            self.register_buffer("pos", torch.arange(seq).float().repeat(hashes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.norm(x)
            qk = self.qk(y).reshape(seq, heads, dh).transpose(0, 1)
            v = self.v(y).reshape(seq, heads, dh).transpose(0, 1)
            r = (qk @ self.rot).reshape(heads, seq, hashes, buckets // 2)
            b = torch.cat([r, -r], -1).argmax(-1).float().permute(0, 2, 1) + self.offsets
            key = b.reshape(heads, n) * seq + self.pos
            sticker = torch.topk(key, n, -1, largest=False).indices
            undo = torch.topk(sticker.float(), n, -1, largest=False).indices
            st = sticker % seq
            idx = st[..., None].expand(heads, n, dh)
            bq = torch.gather(qk, 1, idx).reshape(heads, ch, chunk, dh)
            bv = torch.gather(v, 1, idx).reshape(heads, ch, chunk, dh)
            bk = F.normalize(bq, dim=-1)
            pq = st.reshape(heads, ch, chunk)
            bk, bv, pk = (
                torch.cat([bk, roll(bk)], 2),
                torch.cat([bv, roll(bv)], 2),
                torch.cat([pq, roll(pq)], 2),
            )
            dots = bq @ bk.transpose(2, 3) * dh**-0.5
            dots = dots - 1e9 * (pk[:, :, None] > pq[..., None]).float()
            dots = dots - 1e5 * (pk[:, :, None] == pq[..., None]).float()
            lse = torch.logsumexp(dots, -1, keepdim=True)
            bo = (torch.exp(dots - lse) @ bv).reshape(heads, n, dh)
            o = torch.gather(bo, 1, undo[..., None].expand(heads, n, dh)).reshape(
                heads, hashes, seq, dh
            )
            lg = torch.gather(lse.reshape(heads, n), 1, undo).reshape(heads, hashes, seq, 1)
            o = (o * torch.softmax(lg, 1)).sum(1)
            return self.o(o.transpose(0, 1).reshape(seq, d))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = LSHAttention()
            self.ff = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> Any:
            y1 = x1 + self.attn(x2)
            return y1, x2 + self.ff(y1)

    class Reformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.pos = nn.Embedding(vocab, d), nn.Parameter(torch.randn(seq, d) * 0.02)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, vocab))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.embed(_ids(x[0], vocab)) + self.pos
            x1, x2 = h, h
            for layer in self.layers:
                x1, x2 = layer(x1, x2)
            return self.out((x1 + x2) / 2)[None]

    return Reformer()


def han(
    sents: int = 30,
    words: int = 40,
    vocab: int = 50000,
    emb: int = 200,
    hidden: int = 50,
    att: int = 100,
    classes: int = 5,
) -> Any:
    """Hierarchical Attention Networks (Yang, Yang, Dyer, He, Smola & Hovy, "Hierarchical
    Attention Networks for Document Classification", NAACL 2016) classifying a (1,
    ``sents`` ``words``) document of word ids: word embeddings of ``emb``; a word-level
    bidirectional GRU of ``hidden`` per direction over every sentence and word attention
    (a tanh layer of ``att`` scored against a learned context vector); a sentence-level
    bidirectional GRU over the sentence vectors and sentence attention; a softmax over
    ``classes`` classes."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj, self.ctx = nn.Linear(2 * hidden, att), nn.Linear(att, 1, bias=False)

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            a = torch.softmax(self.ctx(torch.tanh(self.proj(h))), -2)
            return (a * h).sum(-2)

    class HAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            self.word_rnn = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
            self.sent_rnn = nn.GRU(2 * hidden, hidden, batch_first=True, bidirectional=True)
            self.word_att, self.sent_att = Attention(), Attention()
            self.fc = nn.Linear(2 * hidden, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.embed(_ids(x[0], vocab).reshape(sents, words))
            s = self.word_att(self.word_rnn(e)[0])
            doc = self.sent_att(self.sent_rnn(s[None])[0])
            return torch.softmax(self.fc(doc), -1)

    return HAN()


def pointer_generator(
    src: int = 400,
    steps: int = 20,
    vocab: int = 50000,
    emb: int = 128,
    hidden: int = 256,
    start: int = 2,
) -> Any:
    """The pointer-generator network with coverage (See, Liu & Manning, "Get To The
    Point: Summarization with Pointer-Generator Networks", ACL 2017) summarising a (1,
    ``src``) article of word ids: embeddings of ``emb``, a bidirectional LSTM encoder of
    ``hidden``, its final states reduced to the decoder's; ``steps`` greedy steps of an
    LSTM decoder (its input a linear layer of the previous context and word) with
    additive attention over the encoder states including the coverage vector, the
    context vector, a vocabulary distribution over ``vocab`` words (two linear layers), a
    generation probability mixing it with the attention scattered onto the article's
    words; each step's final distribution."""
    import torch

    nn = _nn()

    class PointerGenerator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            self.encoder = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
            self.reduce_h = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU())
            self.reduce_c = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU())
            self.w_h = nn.Linear(2 * hidden, 2 * hidden, bias=False)
            self.w_s, self.w_c = (
                nn.Linear(2 * hidden, 2 * hidden),
                nn.Linear(1, 2 * hidden, bias=False),
            )
            self.v = nn.Linear(2 * hidden, 1, bias=False)
            self.x_context = nn.Linear(2 * hidden + emb, emb)
            self.cell = _lstm_cell(emb, hidden)
            self.p_gen = nn.Linear(4 * hidden + emb, 1)
            self.out = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.Linear(hidden, vocab))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0], vocab)
            enc, (hn, cn) = self.encoder(self.embed(ids)[None])
            enc = enc[0]
            feat = self.w_h(enc)
            h = self.reduce_h(hn.transpose(0, 1).reshape(1, 2 * hidden))
            c = self.reduce_c(cn.transpose(0, 1).reshape(1, 2 * hidden))
            ctx, cov = torch.zeros(1, 2 * hidden), torch.zeros(1, src)
            y = torch.full((1,), start, dtype=torch.long)
            dists = []
            for _ in range(steps):
                xi = self.x_context(torch.cat([ctx, self.embed(y)], -1))
                h, c = self.cell(xi, h, c)
                s = torch.cat([h, c], -1)
                e = self.v(torch.tanh(feat + self.w_s(s) + self.w_c(cov.t()))).t()
                a = torch.softmax(e, -1)
                ctx, cov = a @ enc, cov + a
                p = torch.sigmoid(self.p_gen(torch.cat([ctx, s, xi], -1)))
                vocab_dist = torch.softmax(self.out(torch.cat([h, ctx], -1)), -1)
                copy = torch.zeros(1, vocab).scatter_add(1, ids[None], a)
                final = p * vocab_dist + (1 - p) * copy
                dists.append(final)
                y = final.argmax(-1)
            return torch.stack(dists, 1)

    return PointerGenerator()


def cmlm(
    src: int,
    tgt: int,
    iters: int = 4,
    d: int = 512,
    heads: int = 8,
    ff: int = 2048,
    layers: int = 6,
    vocab: int = 32768,
    mask: int = 3,
) -> Any:
    """Mask-Predict (Ghazvininejad, Levy, Liu & Zettlemoyer, "Mask-Predict: Parallel
    Decoding of Conditional Masked Language Models", EMNLP 2019), a conditional masked
    language model of Transformer-base size translating (1, ``src``) source ids into
    ``tgt`` target tokens (the length given): a post-norm encoder of ``layers`` layers;
    ``iters`` iterations of a non-causal post-norm decoder (self-attention, attention to
    the source, a ReLU feed-forward net of ``ff``) over the target with its masked
    positions, the masked tokens replaced by their argmax and probability, then the
    ``tgt`` (``iters`` - 1 - i) / ``iters`` least confident re-masked (top-k and a
    scatter); tied embeddings of ``vocab``; each token and its probability."""
    import torch

    nn = _nn()

    class DecoderLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sa, self.ca = _mha(d, heads), _mha(d, heads)
            self.ffn = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
            self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.sa(x, x))
            x = self.n2(x + self.ca(x, mem))
            return self.n3(x + self.ffn(x))

    class CMLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.pos_enc = nn.Parameter(torch.randn(src, d) * 0.02)
            self.pos_dec = nn.Parameter(torch.randn(tgt, d) * 0.02)
            self.encoder = nn.ModuleList(
                _post_norm_layer(d, heads, ff, nn.ReLU) for _ in range(layers)
            )
            self.decoder = nn.ModuleList(DecoderLayer() for _ in range(layers))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem = (self.embed(_ids(x[0], vocab)) * d**0.5 + self.pos_enc)[None]
            for layer in self.encoder:
                mem = layer(mem)
            mem = mem[0]
            tokens = torch.full((tgt,), mask, dtype=torch.long)
            probs, masked = torch.zeros(tgt), torch.ones(tgt)
            for it in range(iters):
                h = self.embed(tokens) * d**0.5 + self.pos_dec
                for layer in self.decoder:
                    h = layer(h, mem)
                p, arg = torch.softmax(h @ self.embed.weight.t(), -1).max(-1)
                m = masked > 0
                tokens, probs = torch.where(m, arg, tokens), torch.where(m, p, probs)
                k = tgt * (iters - 1 - it) // iters
                if k:
                    idx = torch.topk(probs, k, largest=False).indices
                    masked = torch.zeros(tgt).scatter(0, idx, torch.ones(k))
                    tokens = torch.where(masked > 0, torch.full_like(tokens, mask), tokens)
            return torch.stack([tokens.float(), probs], -1)[None]

    return CMLM()


# -------------------------------------------------------- recommendation and tabular


def mind(
    hist: int = 50,
    items: int = 500000,
    d: int = 64,
    interests: int = 4,
    iters: int = 3,
    fields: int = 4,
    rows: int = 10000,
    top: int = 50,
) -> Any:
    """MIND (Li et al., "Multi-Interest Network with Dynamic Routing for Recommendation at
    Tmall", CIKM 2019) retrieving for a user given as (1, ``hist`` + ``fields``) ids (the
    clicked items, then profile features): item embeddings of ``d``; the behaviour-to-
    interest dynamic routing (a shared bilinear map, routing logits initialised from a
    fixed normal draw, ``iters`` iterations of softmax coupling, squash and agreement
    updates) to ``interests`` interest capsules; each concatenated with the profile
    embeddings through two ReLU layers (4 ``d``, ``d``); every item of ``items`` scored
    by its best interest, the ``top`` best (id, score) kept."""
    import torch

    nn = _nn()

    class MIND(nn.Module):
        b0: torch.Tensor
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.items, self.profile = nn.Embedding(items, d), nn.Embedding(fields * rows, d)
            self.s = nn.Parameter(torch.randn(d, d) * d**-0.5)
            g = torch.Generator().manual_seed(0)
            self.register_buffer("b0", torch.randn(interests, hist, generator=g))
            self.register_buffer("offsets", torch.arange(fields) * rows)
            self.mlp = nn.Sequential(
                nn.Linear(d + fields * d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d), nn.ReLU()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            e = self.items(_ids(r[:hist], items)) @ self.s
            b, u = self.b0, e[:interests]
            for _ in range(iters):
                z = torch.softmax(b, 0) @ e
                n2 = (z * z).sum(-1, keepdim=True)
                u = n2 / (1 + n2) * z / torch.sqrt(n2 + 1e-9)
                b = b + u @ e.t()
            p = self.profile(_ids(r[hist:], rows) + self.offsets).reshape(1, fields * d)
            v = self.mlp(torch.cat([u, p.expand(interests, fields * d)], -1))
            score, idx = torch.topk((v @ self.items.weight.t()).amax(0), top)
            return torch.stack([idx.float(), score], -1)[None]

    return MIND()


def srgnn(steps: int = 16, items: int = 43098, d: int = 100) -> Any:
    """SR-GNN (Wu et al., "Session-based Recommendation with Graph Neural Networks", AAAI
    2019) on a session of (1, ``steps``) clicked item ids: the session graph (repeated
    items merged, outgoing and incoming edges of consecutive clicks, each normalised by
    degree) built from the ids by equality and shift matrices; item embeddings of ``d``;
    a gated graph layer (in- and out-neighbour aggregations of linear maps, a GRU
    update); a soft-attention readout of the session (sigmoid of the last click's and
    every click's projections) concatenated with the last click's node and projected;
    scores for all ``items`` - 1 items."""
    import torch

    nn = _nn()

    class SRGNN(nn.Module):
        shift: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(items, d)
            self.w_in, self.w_out = nn.Linear(d, d), nn.Linear(d, d)
            self.gru = _gru_cell(2 * d, d)
            self.one, self.two = nn.Linear(d, d), nn.Linear(d, d)
            self.three, self.transform = nn.Linear(d, 1, bias=False), nn.Linear(2 * d, d)
            self.register_buffer("shift", torch.diag(torch.ones(steps - 1), 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0], items)
            same = (ids[:, None] == ids[None]).float()
            mult = same.sum(1)[None]
            e_out = ((same @ self.shift @ same) > 0).float() / mult
            e_in = ((same @ self.shift.t() @ same) > 0).float() / mult
            a_out = e_out / e_out.sum(1, keepdim=True).clamp(min=1)
            a_in = e_in / e_in.sum(1, keepdim=True).clamp(min=1)
            h = self.embed(ids)
            h = self.gru(torch.cat([a_in @ self.w_in(h), a_out @ self.w_out(h)], -1), h)
            last = h[-1:]
            alpha = self.three(torch.sigmoid(self.one(last) + self.two(h)))
            s = self.transform(torch.cat([(alpha * h).sum(0, keepdim=True), last], -1))
            return s @ self.embed.weight[1:].t()

    return SRGNN()


def nam(
    rows: int = 256, features: int = 39, units: int = 1024, hidden: tuple[int, int] = (64, 32)
) -> Any:
    """Neural Additive Models (Agarwal et al., "Neural Additive Models: Interpretable
    Machine Learning with Neural Nets", NeurIPS 2021) scoring (1, ``rows``,
    ``features``) rows: one feature net per feature (an ExU layer of ``units`` units,
    exp(w) (x - b) through a ReLU capped at 1, then ReLU layers of ``hidden`` and a
    linear output), run as batched matrix products over the features; the features'
    contributions summed with a bias to the logit."""
    import torch

    nn = _nn()
    a, b = hidden

    class NAM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(features, 1, units) * 0.5 + 3.5)
            self.b = nn.Parameter(torch.randn(features, 1, units) * 0.5)
            self.w1 = nn.Parameter(torch.randn(features, units, a) * units**-0.5)
            self.w2 = nn.Parameter(torch.randn(features, a, b) * a**-0.5)
            self.w3 = nn.Parameter(torch.randn(features, b, 1) * b**-0.5)
            self.b1, self.b2 = (
                nn.Parameter(torch.zeros(features, 1, a)),
                nn.Parameter(torch.zeros(features, 1, b)),
            )
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = ((x[0].t()[:, :, None] - self.b) * torch.exp(self.w)).clamp(0, 1)
            h = torch.relu(h @ self.w1 + self.b1)
            h = torch.relu(h @ self.w2 + self.b2)
            return ((h @ self.w3).sum(0) + self.bias)[None]

    return NAM()


# ------------------------------------------------------- graphs, points, time series


def diffpool(
    nodes: int = 256,
    feats: int = 64,
    hidden: int = 64,
    classes: int = 2,
    ratio: float = 0.25,
    pools: int = 2,
) -> Any:
    """DiffPool (Ying et al., "Hierarchical Graph Representation Learning with
    Differentiable Pooling", NeurIPS 2018) classifying a graph given as (1, ``nodes``,
    ``nodes`` + ``feats``) (a dense adjacency, thresholded and symmetrised, then node
    features): at each of ``pools`` + 1 levels an embedding GNN (three graph convs of
    ``hidden``, L2-normalised, ReLUs between, the layers' outputs concatenated); at the
    first ``pools`` an assignment GNN and a linear layer to a softmax over ``ratio``
    times as many clusters, pooling the embeddings (S^T Z) and the adjacency (S^T A S);
    every level's max-pooled embeddings through a ReLU MLP of 50 to ``classes``."""
    import torch

    nn = _nn()
    F = nn.functional
    sizes = [nodes]
    for _ in range(pools):
        sizes.append(int(sizes[-1] * ratio))

    class GNN(nn.Module):
        def __init__(self, a: int, out: int) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                [nn.Linear(a, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, out)]
            )

        def forward(self, adj: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            outs = []
            for i, conv in enumerate(self.convs):
                x = F.normalize(conv(adj @ x), dim=-1)
                if i < 2:
                    x = torch.relu(x)
                outs.append(x)
            return torch.cat(outs, -1)

    class DiffPool(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            emb = 3 * hidden
            self.embed = nn.ModuleList(
                GNN(feats if i == 0 else emb, hidden) for i in range(pools + 1)
            )
            self.assign = nn.ModuleList(
                GNN(feats if i == 0 else emb, sizes[i + 1]) for i in range(pools)
            )
            self.assign_out = nn.ModuleList(
                nn.Linear(2 * hidden + sizes[i + 1], sizes[i + 1]) for i in range(pools)
            )
            self.pred = _mlp(emb * (pools + 1), 50, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            adj = (x[0, :, :nodes] > 1.5).float()
            adj = ((adj + adj.t()) > 0).float()
            h = x[0, :, nodes:]
            reads = []
            for i in range(pools + 1):
                z = self.embed[i](adj, h)
                reads.append(z.amax(0))
                if i < pools:
                    s = torch.softmax(self.assign_out[i](self.assign[i](adj, h)), -1)
                    h, adj = s.t() @ z, s.t() @ adj @ s
            return self.pred(torch.cat(reads)[None])

    return DiffPool()


def graph_wavenet(
    nodes: int = 207,
    steps: int = 12,
    feats: int = 2,
    c: int = 32,
    skip: int = 256,
    end: int = 512,
    blocks: int = 4,
    emb: int = 10,
) -> Any:
    """Graph WaveNet (Wu, Pan, Long, Jiang & Zhang, "Graph WaveNet for Deep Spatial-
    Temporal Graph Modeling", IJCAI 2019) forecasting ``steps`` steps of traffic on a
    road graph of ``nodes`` sensors from (1, ``feats``, ``nodes``, ``steps``) history: a
    1x1 conv to ``c``; ``blocks`` blocks of two layers (dilations 1 and 2) of a gated
    temporal conv (tanh times sigmoid, width 2), a skip 1x1 conv to ``skip`` and a graph
    conv (diffusion of order 2 over the forward and backward transition matrices of a
    fixed road graph and a self-adaptive adjacency softmax(ReLU(E1 E2)), concatenated,
    a 1x1 conv), a residual and BN; the summed skips through ReLUs and 1x1 convs of
    ``end`` and ``steps``."""
    import torch

    nn = _nn()
    F = nn.functional
    g = torch.Generator().manual_seed(0)
    adj = (torch.rand(nodes, nodes, generator=g) < 0.02).float() + torch.eye(nodes)
    fwd = adj / adj.sum(1, keepdim=True)
    bwd = adj.t() / adj.t().sum(1, keepdim=True)
    dils = [1, 2] * blocks

    def nconv(x: Any, a: Any) -> Any:
        return (x.transpose(2, 3) @ a).transpose(2, 3)

    class GraphWaveNet(nn.Module):
        fwd: torch.Tensor
        bwd: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.start = nn.Conv2d(feats, c, 1)
            self.filt = nn.ModuleList(nn.Conv2d(c, c, (1, 2), dilation=(1, r)) for r in dils)
            self.gate = nn.ModuleList(nn.Conv2d(c, c, (1, 2), dilation=(1, r)) for r in dils)
            self.skip = nn.ModuleList(nn.Conv2d(c, skip, 1) for _ in dils)
            self.gconv = nn.ModuleList(nn.Conv2d(7 * c, c, 1) for _ in dils)
            self.bn = nn.ModuleList(nn.BatchNorm2d(c) for _ in dils)
            self.e1, self.e2 = (
                nn.Parameter(torch.randn(nodes, emb)),
                nn.Parameter(torch.randn(emb, nodes)),
            )
            self.end = nn.Sequential(
                nn.ReLU(), nn.Conv2d(skip, end, 1), nn.ReLU(), nn.Conv2d(end, steps, 1)
            )
            self.register_buffer("fwd", fwd)
            self.register_buffer("bwd", bwd)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.start(F.pad(x, (1, 0)))
            supports = [self.fwd, self.bwd, torch.softmax(torch.relu(self.e1 @ self.e2), 1)]
            sk: Any = None
            for i in range(len(dils)):
                res = y
                y = torch.tanh(self.filt[i](res)) * torch.sigmoid(self.gate[i](res))
                s = self.skip[i](y)
                sk = s if sk is None else s + sk[..., -s.shape[3] :]
                outs = [y]
                for a in supports:
                    y1 = nconv(y, a)
                    outs += [y1, nconv(y1, a)]
                y = self.gconv[i](torch.cat(outs, 1)) + res[..., -y.shape[3] :]
                y = self.bn[i](y)
            return self.end(sk)

    return GraphWaveNet()


def _fibonacci_sphere(n: int, radius: float) -> Any:
    """``n`` kernel points: the centre and ``n`` - 1 points spread on a sphere of
    ``radius``."""
    import torch

    i = torch.arange(n - 1, dtype=torch.float32) + 0.5
    phi = torch.acos(1 - 2 * i / (n - 1))
    theta = math.pi * (1 + 5**0.5) * i
    pts = torch.stack(
        [torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], -1
    )
    return torch.cat([torch.zeros(1, 3), pts * radius])


def kpconv(
    points: int = 2048,
    classes: int = 40,
    first: int = 64,
    k: int = 24,
    kp: int = 15,
    levels: int = 5,
    dl: float = 0.1,
) -> Any:
    """KP-CNN of KPConv (Thomas et al., "KPConv: Flexible and Deformable Convolution for
    Point Clouds", ICCV 2019), the rigid ModelNet40 classifier, on (1, ``points``, 3)
    points in random order: a constant input feature through a simple KPConv block to
    ``first`` / 2; ``levels`` layers of ResNet bottleneck blocks (a unary layer to a
    quarter, a rigid kernel point convolution of ``kp`` kernel points (linear
    correlation max(0, 1 - |y - x_k| / sigma) over each point's ``k`` nearest
    neighbours, in place of the radius neighbourhoods), a unary layer, a shortcut; leaky
    ReLUs, BN), the channels doubling and the points (the first ones, in place of grid
    subsampling) divided by 4 by strided blocks with max-pooled shortcuts between
    layers; global average pooling and a two-layer classifier."""
    import torch

    nn = _nn()
    sizes = [points // 4**i for i in range(levels)]

    def unary(a: int, b: int, act: bool = True) -> Any:
        layers: list[Any] = [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b)]
        return nn.Sequential(*layers, nn.LeakyReLU(0.1)) if act else nn.Sequential(*layers)

    class KPConv(nn.Module):
        kpts: torch.Tensor

        def __init__(self, a: int, b: int, level: int) -> None:
            super().__init__()
            r = 2.5 * dl * 2**level
            self.sigma = 1.2 * dl * 2**level
            self.register_buffer("kpts", _fibonacci_sphere(kp, 0.66 * r))
            self.w = nn.Linear(kp * a, b, bias=False)

        def forward(self, q: Any, p: Any, f: Any, idx: Any) -> torch.Tensor:
            rel = p[idx] - q[:, None]
            diff = rel[:, :, None] - self.kpts
            dist = torch.sqrt((diff * diff).sum(-1) + 1e-12)
            w = torch.relu(1 - dist / self.sigma)
            wf = w.transpose(1, 2) @ f[idx]
            return self.w(wf.flatten(1)) / idx.shape[1]

    class Block(nn.Module):
        def __init__(self, a: int, b: int, level: int, strided: bool) -> None:
            super().__init__()
            m = b // 4
            self.strided = strided
            self.u1 = unary(a, m) if a != m else nn.Identity()
            self.conv, self.post = (
                KPConv(m, m, level),
                nn.Sequential(nn.BatchNorm1d(m), nn.LeakyReLU(0.1)),
            )
            self.u2 = unary(m, b, False)
            self.short = unary(a, b, False) if a != b else nn.Identity()

        def forward(self, q: Any, p: Any, f: Any, idx: Any) -> torch.Tensor:
            y = self.u2(self.post(self.conv(q, p, self.u1(f), idx)))
            sc = f[idx].amax(1) if self.strided else f
            return torch.nn.functional.leaky_relu(y + self.short(sc), 0.1)

    class KPCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.simple = KPConv(1, first // 2, 0)
            self.simple_post = nn.Sequential(nn.BatchNorm1d(first // 2), nn.LeakyReLU(0.1))
            blocks, cin = [], first // 2
            for lv in range(levels):
                out = first * 2**lv
                row = [Block(cin, out, lv, False), Block(out, out, lv, False)]
                if lv < levels - 1:
                    row.append(Block(out, out, lv, True))
                blocks.append(nn.ModuleList(row))
                cin = out
            self.blocks = nn.ModuleList(blocks)
            self.head = nn.Sequential(unary(cin, 1024), nn.Linear(1024, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ps = [x[0, :n] for n in sizes]
            near = [_knn(p, p, min(k, p.shape[0])) for p in ps]
            f = self.simple_post(self.simple(ps[0], ps[0], torch.ones(points, 1), near[0]))
            for lv, row in enumerate(self.blocks):
                f = row[0](ps[lv], ps[lv], f, near[lv])
                f = row[1](ps[lv], ps[lv], f, near[lv])
                if lv < levels - 1:
                    pool = _knn(ps[lv + 1], ps[lv], k)
                    f = row[2](ps[lv + 1], ps[lv], f, pool)
            return self.head(f.mean(0, keepdim=True))

    return KPCNN()


def occupancy_network(queries: int = 2048, c: int = 256, hidden: int = 256, blocks: int = 5) -> Any:
    """Occupancy Networks (Mescheder, Oechsle, Niemeyer, Nowozin & Geiger, "Occupancy
    Networks: Learning 3D Reconstruction in Function Space", CVPR 2019) reconstructing a
    shape from a single (1, 3, 224, 224) image: a ResNet-18 encoder whose classifier
    maps to a ``c``-dimensional code; the conditional-batch-norm decoder on ``queries``
    fixed query points (a 1x1 conv to ``hidden``, ``blocks`` residual blocks of CBN, ReLU
    and 1x1 convs, the CBN's scale and shift predicted from the code; a final CBN, ReLU
    and 1x1 conv); each point's occupancy probability."""
    import torch

    nn = _nn()

    class CBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gamma, self.beta = nn.Linear(c, hidden), nn.Linear(c, hidden)
            self.bn = nn.BatchNorm1d(hidden, affine=False)

        def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
            return self.gamma(code)[:, :, None] * self.bn(x) + self.beta(code)[:, :, None]

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn0, self.bn1 = CBN(), CBN()
            self.fc0, self.fc1 = nn.Conv1d(hidden, hidden, 1), nn.Conv1d(hidden, hidden, 1)

        def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
            y = self.fc0(torch.relu(self.bn0(x, code)))
            return x + self.fc1(torch.relu(self.bn1(y, code)))

    class ONet(nn.Module):
        pts: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.encoder = resnet((2, 2, 2, 2), 64, False)
            self.encoder[-1] = nn.Linear(512, c)
            g = torch.Generator().manual_seed(0)
            self.register_buffer("pts", torch.rand(1, 3, queries, generator=g) * 1.1 - 0.55)
            self.fc_p = nn.Conv1d(3, hidden, 1)
            self.blocks = nn.ModuleList(Block() for _ in range(blocks))
            self.bn, self.out = CBN(), nn.Conv1d(hidden, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            code = self.encoder(x)
            y = self.fc_p(self.pts)
            for block in self.blocks:
                y = block(y, code)
            return torch.sigmoid(self.out(torch.relu(self.bn(y, code))))[:, 0]

    return ONet()


def scinet(
    window: int = 336,
    horizon: int = 48,
    channels: int = 7,
    levels: int = 4,
    hidden: int = 4,
    k: int = 5,
) -> Any:
    """SCINet (Liu et al., "SCINet: Time Series Modeling and Forecasting with Sample
    Convolution and Interaction", NeurIPS 2022), two stacks, forecasting ``horizon``
    steps of ``channels`` series from (1, ``window``, ``channels``): in each stack a
    binary tree of ``levels`` SCI-blocks (the sequence split into even and odd samples,
    each scaled by the exp of a conv module of the other, then updated by adding and
    subtracting conv modules of each other; a conv module a replication pad, a width-
    ``k`` conv to ``hidden`` times the channels, leaky ReLU, a width-3 conv back and tanh)
    whose outputs are re-interleaved, a residual and a 1x1 conv over time to the
    horizon; the second stack on the input followed by the first forecast."""
    import torch

    nn = _nn()
    pad = (k - 1) // 2 + 1

    def conv_module() -> Any:
        return nn.Sequential(
            nn.ReplicationPad1d(pad),
            nn.Conv1d(channels, channels * hidden, k),
            nn.LeakyReLU(0.01),
            nn.Dropout(0.5),
            nn.Conv1d(channels * hidden, channels, 3),
            nn.Tanh(),
        )

    class Tree(nn.Module):
        def __init__(self, level: int) -> None:
            super().__init__()
            self.phi, self.psi, self.u, self.p = (conv_module() for _ in range(4))
            self.children_ = nn.ModuleList(Tree(level - 1) for _ in range(2)) if level else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            even, odd = x[:, :, ::2], x[:, :, 1::2]
            d = odd * torch.exp(self.phi(even))
            c = even * torch.exp(self.psi(odd))
            even, odd = c + self.u(d), d - self.p(c)
            if self.children_ is not None:
                even, odd = self.children_[0](even), self.children_[1](odd)
            return torch.stack([even, odd], -1).reshape(x.shape)

    class SCINet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tree1, self.tree2 = Tree(levels - 1), Tree(levels - 1)
            self.proj1 = nn.Conv1d(window, horizon, 1, bias=False)
            self.proj2 = nn.Conv1d(window + horizon, horizon, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x.transpose(1, 2)
            out1 = self.proj1((self.tree1(y) + y).transpose(1, 2))
            z = torch.cat([x, out1], 1).transpose(1, 2)
            return self.proj2((self.tree2(z) + z).transpose(1, 2))

    return SCINet()


def minirocket(
    length: int = 512, classes: int = 10, features: int = 10000, max_dils: int = 32
) -> Any:
    """MiniRocket (Dempster, Schmidt & Webb, "MiniRocket: A Very Fast (Almost)
    Deterministic Transform for Time Series Classification", KDD 2021) classifying a (1,
    1, ``length``) series: the 84 fixed length-9 kernels (weights -1 and three 2s) at up
    to ``max_dils`` exponentially spaced dilations, with padding alternating over kernels
    and dilations; the proportion of positive values (PPV) of every convolution output
    against its fitted biases (fixed quantiles), about ``features`` features; a ridge
    classifier's linear layer."""
    import itertools

    import torch

    nn = _nn()
    F = nn.functional
    combos = list(itertools.combinations(range(9), 3))
    weights = -torch.ones(len(combos), 1, 9)
    for i, combo in enumerate(combos):
        weights[i, 0, list(combo)] = 2
    per_kernel = features // len(combos)
    top = math.log2((length - 1) / 8)
    raw = [int(2 ** (top * i / (max_dils - 1))) for i in range(max_dils)]
    dils = sorted(set(raw))
    counts = [int(raw.count(dd) * per_kernel / max_dils) for dd in dils]
    for i in range(per_kernel - sum(counts)):
        counts[i % len(counts)] += 1
    total = len(combos) * sum(counts)

    class MiniRocket(nn.Module):
        weights: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("weights", weights)
            g = torch.Generator().manual_seed(0)
            for i, n in enumerate(counts):
                self.register_buffer(
                    f"bias{i}", torch.randn(len(combos), n, 1, generator=g).sort(1)[0] * 2
                )
                pad = (torch.arange(len(combos)) + i) % 2 == 0
                self.register_buffer(f"pad{i}", pad.float()[:, None])
            self.ridge = nn.Linear(total, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for i, dd in enumerate(dils):
                c = F.conv1d(x, self.weights, padding=4 * dd, dilation=dd)[0][:, None]
                b, pad = getattr(self, f"bias{i}"), getattr(self, f"pad{i}")
                full = (c > b).float().mean(-1)
                valid = (c[:, :, 4 * dd : length - 4 * dd] > b).float().mean(-1)
                feats.append((pad * full + (1 - pad) * valid).flatten())
            return self.ridge(torch.cat(feats)[None])

    return MiniRocket()


# ---------------------------------------- control, science and multimodal


def efficientzero(
    actions: int = 18,
    unroll: int = 5,
    c: int = 64,
    frames: int = 4,
    support: int = 601,
    lstm: int = 512,
) -> Any:
    """EfficientZero (Ye, Liu, Kurutach, Abbeel & Gao, "Mastering Atari Games with
    Limited Data", NeurIPS 2021) unrolling its learned model along its greedy policy from
    (1, 3 ``frames``, 96, 96) stacked frames: the representation network (a stride-2
    conv, residual blocks with a strided one and average pools down to 6 x 6 x ``c``, a
    residual block), its state min-max normalised; ``unroll`` steps of the dynamics
    network (the action plane concatenated, a conv with the state as residual, a residual
    block; the value prefix from a 1x1 conv, an LSTM of ``lstm``, BN and an MLP over a
    ``support``-way support) each followed by the prediction network (a residual block,
    1x1 convs, MLPs to value and ``actions`` policy logits), the argmax action fed
    back."""
    import torch

    nn = _nn()

    class Res(nn.Module):
        def __init__(self, a: int, b: int, s: int = 1) -> None:
            super().__init__()
            self.body = nn.Sequential(_cbr(a, b, 3, s, act=nn.ReLU), _cbr(b, b, 3))
            self.down = nn.Conv2d(a, b, 3, s, 1, bias=False) if s > 1 else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + (x if self.down is None else self.down(x)))

    def norm(s: Any) -> Any:
        lo, hi = s.amin((1, 2, 3), keepdim=True), s.amax((1, 2, 3), keepdim=True)
        return (s - lo) / (hi - lo + 1e-5)

    def head(out: int) -> Any:
        return nn.Sequential(_cbr(c, 16, 1, act=nn.ReLU), nn.Flatten(), _mlp(16 * 36, 32, out))

    class EfficientZero(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rep = nn.Sequential(
                _cbr(3 * frames, c // 2, 3, 2, act=nn.ReLU),
                Res(c // 2, c // 2),
                Res(c // 2, c, 2),
                Res(c, c),
                nn.AvgPool2d(3, 2, 1),
                Res(c, c),
                nn.AvgPool2d(3, 2, 1),
                Res(c, c),
            )
            self.dyn_conv, self.dyn_res = _cbr(c + 1, c, 3), Res(c, c)
            self.reward = nn.Sequential(_cbr(c, 16, 1, act=nn.ReLU), nn.Flatten())
            self.lstm = _lstm_cell(16 * 36, lstm)
            self.prefix = nn.Sequential(nn.BatchNorm1d(lstm), nn.ReLU(), _mlp(lstm, 32, support))
            self.pred_res = Res(c, c)
            self.value, self.policy = head(support), head(actions)

        def predict(self, s: torch.Tensor) -> Any:
            y = self.pred_res(s)
            return self.value(y), self.policy(y)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = norm(self.rep(x))
            v, p = self.predict(s)
            outs = [v, p]
            h, cx = torch.zeros(1, lstm), torch.zeros(1, lstm)
            for _ in range(unroll):
                a = p.argmax(-1).float() / actions
                plane = torch.ones(1, 1, 6, 6) * a[:, None, None, None]
                s = torch.relu(self.dyn_conv(torch.cat([s, plane], 1)) + s)
                s = norm(self.dyn_res(s))
                h, cx = self.lstm(self.reward(s), h, cx)
                v, p = self.predict(s)
                outs += [self.prefix(h), v, p]
            return torch.cat(outs, -1)

    return EfficientZero()


def protein_mpnn(
    residues: int = 96,
    k: int = 48,
    d: int = 128,
    layers: int = 3,
    rbf: int = 16,
    vocab: int = 21,
    max_rel: int = 32,
) -> Any:
    """ProteinMPNN (Dauparas et al., "Robust deep learning-based protein sequence design
    using ProteinMPNN", Science 2022) scoring a sequence on a backbone given as (1,
    ``residues``, 13) (N, CA, C and O coordinates and the residue's amino-acid id): the
    virtual C-beta; a k-NN graph of ``k`` neighbours by CA distance (top-k); edge
    features of ``rbf`` radial bases of the 25 backbone atom-pair distances and a one-hot
    relative position embedding, linear and layer-normed to ``d``; ``layers`` encoder
    layers (node messages from an MLP of the two nodes and the edge, summed and scaled,
    a feed-forward net, edge updates by another MLP, GELUs and layer norms); ``layers``
    decoder layers whose neighbour inputs include the neighbour's amino acid only where
    it precedes in a fixed random decoding order; log-probabilities of ``vocab`` amino
    acids."""
    import torch

    nn = _nn()
    F = nn.functional
    names = "11 00 22 33 44 10 12 13 14 02 03 04 42 43 32 01 21 31 41 20 30 40 24 34 23"
    pairs = [(int(p[0]), int(p[1])) for p in names.split()]
    src, dst = [p[0] for p in pairs], [p[1] for p in pairs]

    def mlp(a: int) -> Any:
        return nn.Sequential(
            nn.Linear(a, d), nn.GELU(), nn.Linear(d, d), nn.GELU(), nn.Linear(d, d)
        )

    def ffn() -> Any:
        return nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    class EncLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.msg, self.edge, self.ffn = mlp(3 * d), mlp(3 * d), ffn()
            self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, hv: Any, he: Any, idx: Any) -> Any:
            hi = hv[:, None].expand(residues, k, d)
            hv = self.n1(hv + self.msg(torch.cat([hi, he, hv[idx]], -1)).sum(1) / 30)
            hv = self.n2(hv + self.ffn(hv))
            hi = hv[:, None].expand(residues, k, d)
            return hv, self.n3(he + self.edge(torch.cat([hi, he, hv[idx]], -1)))

    class DecLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.msg, self.ffn = mlp(4 * d), ffn()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, hv: Any, hesv: Any) -> Any:
            hi = hv[:, None].expand(residues, k, d)
            hv = self.n1(hv + self.msg(torch.cat([hi, hesv], -1)).sum(1) / 30)
            return self.n2(hv + self.ffn(hv))

    class ProteinMPNN(nn.Module):
        rank: torch.Tensor
        mu: torch.Tensor
        res_idx: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.register_buffer("rank", torch.randperm(residues, generator=g).float())
            self.register_buffer("mu", torch.linspace(2.0, 22.0, rbf))
            self.register_buffer("res_idx", torch.arange(residues))
            self.pos = nn.Linear(2 * max_rel + 2, 16)
            self.edge_embed = nn.Linear(16 + 25 * rbf, d, bias=False)
            self.edge_norm, self.w_e, self.w_s = (
                nn.LayerNorm(d),
                nn.Linear(d, d),
                nn.Embedding(vocab, d),
            )
            self.enc = nn.ModuleList(EncLayer() for _ in range(layers))
            self.dec = nn.ModuleList(DecLayer() for _ in range(layers))
            self.out = nn.Linear(d, vocab)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            n, ca, c, o = (r[:, :12] * 3).reshape(residues, 4, 3).unbind(1)
            b, cc = ca - n, c - ca
            a = torch.stack(
                [
                    b[:, 1] * cc[:, 2] - b[:, 2] * cc[:, 1],
                    b[:, 2] * cc[:, 0] - b[:, 0] * cc[:, 2],
                    b[:, 0] * cc[:, 1] - b[:, 1] * cc[:, 0],
                ],
                -1,
            )
            cb = -0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca
            atoms = torch.stack([n, ca, c, o, cb])
            dca = ((ca[:, None] - ca[None]) ** 2).sum(-1)
            idx = torch.topk(-dca, k, -1).indices
            diff = atoms[src][:, :, None] - atoms[dst][:, idx]
            dist = torch.sqrt((diff * diff).sum(-1) + 1e-6)
            basis = torch.exp(-(((dist[..., None] - self.mu) / ((22.0 - 2.0) / rbf)) ** 2))
            basis = basis.permute(1, 2, 0, 3).reshape(residues, k, 25 * rbf)
            off = (self.res_idx[:, None] - self.res_idx[idx]).clamp(-max_rel, max_rel) + max_rel
            pos = self.pos(F.one_hot(off, 2 * max_rel + 2).float())
            he = self.w_e(self.edge_norm(self.edge_embed(torch.cat([pos, basis], -1))))
            hv = torch.zeros(residues, d)
            for layer in self.enc:
                hv, he = layer(hv, he, idx)
            hs = self.w_s(_ids(r[:, 12], vocab))
            hes = torch.cat([he, hs[idx]], -1)
            enc_x = torch.cat([he, torch.zeros(residues, k, d), hv[idx]], -1)
            bw = (self.rank[idx] < self.rank[:, None]).float()[..., None]
            fw = (1 - bw) * enc_x
            for layer in self.dec:
                hv = layer(hv, bw * torch.cat([hes, hv[idx]], -1) + fw)
            return torch.log_softmax(self.out(hv), -1)[None]

    return ProteinMPNN()


def ani(atoms: int = 48, ensemble: int = 8) -> Any:
    """ANI-1x (Smith, Isayev & Roitberg, "ANI-1: an extensible neural network potential
    with DFT accuracy at force field computational cost", Chemical Science 2017; the
    ANI-1x ensemble of Smith et al., J. Chem. Phys. 2018) on a molecule of ``atoms``
    atoms of H, C, N and O given as (1, ``atoms``, 4) species ids and coordinates: the
    atomic environment vectors (16 radial symmetry functions per neighbour species under
    a 5.2 A cosine cutoff; 32 angular ones (8 angle sections times 4 radial shells, zeta
    32) per neighbour-species pair under a 3.5 A cutoff, over all atom triplets) of 384
    dimensions; per-species CELU networks (384 to 160/144/128, 128/112, 96 and 1) in an
    ensemble of ``ensemble``; the atomic energies summed with the self energies and
    averaged over the ensemble."""
    import torch

    nn = _nn()
    F = nn.functional
    widths = [(160, 128, 96), (144, 112, 96), (128, 112, 96), (128, 112, 96)]
    pair = torch.zeros(4, 4, 10)
    p = 0
    for i in range(4):
        for j in range(i, 4):
            pair[i, j, p] = pair[j, i, p] = 1
            p += 1
    eye = torch.eye(atoms)
    distinct = (1 - eye)[:, :, None] * (1 - eye)[:, None, :] * (1 - eye)[None]

    def net(w: tuple[int, ...]) -> Any:
        return nn.Sequential(
            *(nn.Linear(384, w[0]), nn.CELU(0.1)),
            *(nn.Linear(w[0], w[1]), nn.CELU(0.1)),
            *(nn.Linear(w[1], w[2]), nn.CELU(0.1)),
            nn.Linear(w[2], 1),
        )

    class ANI(nn.Module):
        shf_r: torch.Tensor
        shf_a: torch.Tensor
        shf_z: torch.Tensor
        pair: torch.Tensor
        distinct: torch.Tensor
        off: torch.Tensor
        self_energy: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("shf_r", torch.linspace(0.9, 4.93125, 16))
            self.register_buffer("shf_a", torch.tensor([0.9, 1.55, 2.2, 2.85]))
            self.register_buffer("shf_z", (torch.arange(8) + 0.5) * math.pi / 8)
            self.register_buffer("pair", pair.reshape(4, 40))
            self.register_buffer("distinct", distinct)
            self.register_buffer("off", 1 - eye)
            self.register_buffer("self_energy", torch.tensor([-0.60, -38.08, -54.71, -75.19]))
            self.nets = nn.ModuleList(
                nn.ModuleList(net(w) for w in widths) for _ in range(ensemble)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            sp = F.one_hot(_ids(r[:, 0], 4), 4).float()
            pos = r[:, 1:] * 1.5
            rel = pos[None] - pos[:, None]
            dist = torch.sqrt((rel * rel).sum(-1) + 1e-12)
            fcr = (0.5 * torch.cos(dist * math.pi / 5.2) + 0.5) * (dist < 5.2).float() * self.off
            rad = 0.25 * torch.exp(-16.0 * (dist[..., None] - self.shf_r) ** 2) * fcr[..., None]
            g_r = (rad.transpose(1, 2) @ sp).transpose(1, 2).reshape(atoms, 64)
            fca = (0.5 * torch.cos(dist * math.pi / 3.5) + 0.5) * (dist < 3.5).float() * self.off
            dots = rel @ rel.transpose(1, 2)
            cos = dots / (dist[:, :, None] * dist[:, None, :])
            theta = torch.acos(0.95 * cos)
            f1 = 2 * ((1 + torch.cos(theta[..., None] - self.shf_z)) / 2) ** 32
            mean = (dist[:, :, None] + dist[:, None, :]) / 2
            f2 = torch.exp(-8.0 * (mean[..., None] - self.shf_a) ** 2)
            cut = (fca[:, :, None] * fca[:, None, :] * self.distinct)[..., None]
            term = (f2[..., :, None] * f1[..., None, :]).reshape(atoms, atoms, atoms, 32) * cut
            w = sp[None] @ (sp @ self.pair).reshape(atoms, 4, 10)
            g_a = (
                0.5
                * term.reshape(atoms, atoms * atoms, 32).transpose(1, 2)
                @ w.reshape(atoms * atoms, 10)
            )
            aev = torch.cat([g_r, g_a.transpose(1, 2).reshape(atoms, 320)], -1)
            total = torch.zeros(atoms)
            for nets in self.nets:
                out = torch.cat([m(aev) for m in nets], -1)
                total = total + (out * sp).sum(-1)
            energy = total.sum() / ensemble + (sp @ self.self_energy).sum()
            return energy.reshape(1, 1)

    return ANI()


def clip(
    prompts: int = 3,
    ctx: int = 16,
    res: int = 224,
    patch: int = 32,
    width: int = 768,
    layers: int = 12,
    text_width: int = 512,
    text_layers: int = 12,
    embed: int = 512,
    vocab: int = 49408,
) -> Any:
    """CLIP (Radford et al., "Learning Transferable Visual Models From Natural Language
    Supervision", ICML 2021), ViT-B/32, classifying a (1, 3, ``res``, ``res``) image zero-
    shot against ``prompts`` prompts of ``ctx`` token ids (read from the image's first
    row): the image transformer (a ``patch`` x ``patch`` patch embedding to ``width``, a
    class token, learned positions, a pre-norm, ``layers`` pre-norm blocks of 64-channel
    heads with QuickGELU MLPs, the class token normed and projected to ``embed``); the
    text transformer (token and position embeddings of ``text_width``, ``text_layers``
    causal blocks, the end-of-text token's features normed and projected); cosine
    similarities scaled by 100 and a softmax over the prompts."""
    import torch

    nn = _nn()
    F = nn.functional

    class Block(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.heads = d // 64
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x: torch.Tensor, mask: Any = None) -> torch.Tensor:
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, 64).permute(2, 0, 3, 1, 4)
            a = q @ k.transpose(-2, -1) * 0.125
            a = torch.softmax(a if mask is None else a + mask, -1)
            x = x + self.o((a @ v).transpose(1, 2).reshape(b, t, d))
            y = self.fc(self.ln2(x))
            return x + self.proj(y * torch.sigmoid(1.702 * y))

    class CLIP(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            n = (res // patch) ** 2 + 1
            self.conv = nn.Conv2d(3, width, patch, patch, bias=False)
            self.cls = nn.Parameter(torch.randn(1, 1, width) * 0.02)
            self.vpos = nn.Parameter(torch.randn(1, n, width) * 0.01)
            self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
            self.visual = nn.ModuleList(Block(width) for _ in range(layers))
            self.vproj = nn.Linear(width, embed, bias=False)
            self.tok = nn.Embedding(vocab, text_width)
            self.tpos = nn.Parameter(torch.randn(ctx, text_width) * 0.01)
            self.text = nn.ModuleList(Block(text_width) for _ in range(text_layers))
            self.ln_final = nn.LayerNorm(text_width)
            self.tproj = nn.Linear(text_width, embed, bias=False)
            self.register_buffer("mask", torch.triu(torch.full((ctx, ctx), -1e9), 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0, 0, 0, : prompts * ctx], vocab).reshape(prompts, ctx)
            v = self.conv(x).flatten(2).transpose(1, 2)
            v = self.ln_pre(torch.cat([self.cls, v], 1) + self.vpos)
            for block in self.visual:
                v = block(v)
            v = F.normalize(self.vproj(self.ln_post(v[:, 0])), dim=-1)
            t = self.tok(ids) + self.tpos
            for block in self.text:
                t = block(t, self.mask)
            eot = F.one_hot(ids.argmax(-1), ctx).float()[..., None]
            t = F.normalize(self.tproj(self.ln_final((t * eot).sum(1))), dim=-1)
            return torch.softmax(100 * v @ t.t(), -1)

    return CLIP()


def updn(
    regions: int = 36,
    feat: int = 2048,
    q: int = 14,
    vocab: int = 20000,
    emb: int = 300,
    hidden: int = 512,
    answers: int = 3129,
) -> Any:
    """The bottom-up and top-down attention VQA model (Anderson et al., "Bottom-Up and
    Top-Down Attention for Image Captioning and Visual Question Answering", CVPR 2018, as
    Teney et al. build it) answering a question about ``regions`` bottom-up region
    features, given as (1, ``regions`` + 1, ``feat``) (the features, then a row whose
    first ``q`` entries are the question's word ids): the features L2-normalised; word
    embeddings of ``emb`` and a GRU of ``hidden``; top-down attention (a gated tanh
    layer on each region concatenated with the question, a linear score, a softmax over
    regions); the question's and the attended image's gated tanh projections multiplied;
    a gated tanh layer and sigmoid scores of ``answers`` answers."""
    import torch

    nn = _nn()
    F = nn.functional

    class GatedTanh(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.y, self.g = nn.Linear(a, b), nn.Linear(a, b)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.y(x)) * torch.sigmoid(self.g(x))

    class UpDn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.gru = nn.Embedding(vocab, emb), nn.GRU(emb, hidden, batch_first=True)
            self.att, self.score = GatedTanh(feat + hidden, hidden), nn.Linear(hidden, 1)
            self.fq, self.fv = GatedTanh(hidden, hidden), GatedTanh(feat, hidden)
            self.cls = nn.Sequential(GatedTanh(hidden, hidden), nn.Linear(hidden, answers))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            v = F.normalize(x[0, :regions], dim=-1)
            qh = self.gru(self.embed(_ids(x[0, regions, :q], vocab))[None])[1][0]
            a = torch.softmax(
                self.score(self.att(torch.cat([v, qh.expand(regions, hidden)], -1))), 0
            )
            h = self.fq(qh) * self.fv((a * v).sum(0, keepdim=True))
            return torch.sigmoid(self.cls(h))

    return UpDn()


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the eighteenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image, video, pose and 3-D pose models."""
    return [
        ("eca", "eca_resnet50_224", partial(eca_resnet), _image(224)),
        ("eca", "eca_mobilenetv2_224", partial(eca_mobilenetv2), _image(224)),
        ("hornet", "hornet_t7x7_224", partial(hornet), _image(224)),
        ("crossvit", "crossvit_ti_240", partial(crossvit), _image(240)),
        ("faster_rcnn", "frcnn_mbv3l_fpn_320", partial(faster_rcnn), _image(320)),
        ("dabnet", "dabnet_camvid_c11_240x320", partial(dabnet, 11), _image(240, 320)),
        ("dabnet", "dabnet_c19_256x512", partial(dabnet), _image(256, 512)),
        ("vitpose", "vitpose_s_256x192", partial(vitpose), _image(256, 192)),
        ("videopose3d", "videopose3d_243f", partial(videopose3d), (1, 243, 34)),
        ("midas", "midas_v21_small_256", partial(midas_small), _image(256)),
        ("dehazenet", "dehazenet_240x320", partial(dehazenet, 240, 320), _image(240, 320)),
        ("hdrnet", "hdrnet_384x512", partial(hdrnet, 384, 512), _image(384, 512)),
        ("movinet", "movinet_a0_16x172", partial(movinet_a0), (1, 3, 16, 172, 172)),
        ("aster", "aster_64x256_s25", partial(aster), _image(64, 256)),
        ("pidinet", "pidinet_tiny_320x480", partial(pidinet, 20, 8), _image(320, 480)),
        ("netvlad", "netvlad_alexnet_240x320", partial(netvlad), _image(240, 320)),
        ("netvlad", "netvlad_alexnet_360x480", partial(netvlad), _image(360, 480)),
        ("singan", "singan_5scales_96x128", partial(singan), (1, 3, 30, 40)),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The speech, audio, text and translation models."""
    return [
        ("squeezeformer", "squeezeformer_xs_400f", partial(squeezeformer, 400), (1, 400, 80)),
        (
            "squeezeformer",
            "squeezeformer_s_1000f",
            partial(squeezeformer, 1000, 196, 18),
            (1, 1000, 80),
        ),
        ("onsets_frames", "onsets_frames_128f", partial(onsets_frames, 128), (1, 128, 229)),
        ("seldnet", "seldnet_4mic_128f", partial(seldnet), (1, 8, 128, 512)),
        ("wavernn", "wavernn_896_256samples", partial(wavernn), (1, 4, 80)),
        ("wavegan", "wavegan_d64_16384", partial(wavegan), (1, 100)),
        ("reformer", "reformer_byte_d256_l3_1024", partial(reformer, 1024, layers=3), (1, 1024)),
        ("han", "han_yelp_30x40", partial(han), (1, 1200)),
        ("pointer_generator", "pointer_gen_cov_400_20", partial(pointer_generator), (1, 400)),
        ("cmlm", "mask_predict_base_24_24_i4", partial(cmlm, 24, 24), (1, 24)),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, tabular, graph, point-cloud, time-series, control,
    scientific and multimodal models."""
    return [
        ("mind", "mind_50h_500k_items", partial(mind), (1, 54)),
        ("srgnn", "srgnn_diginetica_16", partial(srgnn), (1, 16)),
        ("nam", "nam_39f_256rows", partial(nam), (1, 256, 39)),
        ("diffpool", "diffpool_n256_p2", partial(diffpool), (1, 256, 320)),
        ("graph_wavenet", "gwn_metrla_207_12", partial(graph_wavenet), (1, 2, 207, 12)),
        ("kpconv", "kpcnn_modelnet40_2048", partial(kpconv), (1, 2048, 3)),
        ("occupancy_network", "onet_img224_q2048", partial(occupancy_network), _image(224)),
        ("scinet", "scinet_etth1_336_48", partial(scinet), (1, 336, 7)),
        ("minirocket", "minirocket_512", partial(minirocket), (1, 1, 512)),
        ("efficientzero", "efficientzero_atari_k5", partial(efficientzero), (1, 12, 96, 96)),
        ("protein_mpnn", "proteinmpnn_l64_k48", partial(protein_mpnn, 64), (1, 64, 13)),
        ("ani", "ani1x_x8_48atoms", partial(ani), (1, 48, 4)),
        ("clip", "clip_vitb32_224_2x16", partial(clip, 2), _image(224)),
        ("updn", "updn_vqa_36r_q14", partial(updn), (1, 37, 2048)),
    ]
