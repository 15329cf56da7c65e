"""A thirteenth held-out zoo of real-world architectures (plain torch), written after the
twelfth zoo (benchmarks/realworld_zoo12.py), before any prediction of it.

Like the second to twelfth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the twelve earlier zoos has, across tasks: MobileNetV1's depthwise
separable stacks and ReXNet's linearly widening inverted residuals (lightweight
classification at unusual widths and resolutions), PSPNet's pyramid pooling on a
dilated ResNet (segmentation), RetinaNet's FPN with shared class and box subnets
(detection), BigGAN's class-conditional residual generator (generative), Instant-NGP's
multiresolution hash encoding with tiny MLPs on samples of rays and SIREN's sine MLP
(neural fields), PWC-Net's pyramid, warping and local cost volumes (optical flow),
StereoNet's low-resolution difference cost volume, 3-D convs and soft argmin
(stereo), wav2vec 2.0's conv feature encoder and LEAF's Gabor filterbank with PCEN
(speech front-ends), S4D's diagonal state-space convolution kernels (sequence),
Performer's FAVOR+ linear attention, BLOOM's ALiBi decoder and Funnel-Transformer's
pooled-query encoder (text), xDeepFM's compressed interaction network, AutoInt's
self-attentive field interactions and MMoE's gated experts (recommendation), GIN's
sum aggregation over a dense adjacency (graphs), PCT's offset attention (point
clouds), DLinear's decomposition, TCN's dilated causal convs and TSMixer's time and
feature mixing (time series), and DS-CNN keyword spotting (tiny). Every input has batch
size 1.

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


def _dw_separable(cin: int, cout: int, s: int) -> Any:
    """MobileNetV1's depthwise separable conv: a 3x3 depthwise conv-BN-ReLU of stride
    ``s`` and a 1x1 conv-BN-ReLU."""
    nn = _nn()
    return nn.Sequential(_cbr(cin, cin, 3, s, g=cin, act=nn.ReLU), _cbr(cin, cout, 1, act=nn.ReLU))


def mobilenet_v1(width: float, classes: int) -> Any:
    """MobileNetV1 (Howard et al., arXiv 2017) classification at width multiplier
    ``width``: a 3x3 stride-2 conv-BN-ReLU to 32; 13 depthwise separable convs to 64,
    128, 128, 256, 256, 512 (x6) and 1024 (x2), five of stride 2; pooling and a
    classifier."""
    nn = _nn()
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    plan += [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    c = int(32 * width)
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.ReLU)]
    for cout, s in plan:
        layers.append(_dw_separable(c, int(cout * width), s))
        c = int(cout * width)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def _rexnet_block(cin: int, cout: int, s: int, t: int, se: bool) -> Any:
    """ReXNet's inverted bottleneck: a 1x1 conv-BN-SiLU to ``t`` ``cin`` (when ``t`` >
    1), a 3x3 depthwise conv-BN of stride ``s``, squeeze-excitation (1/12, BN and ReLU
    inside) when ``se``, ReLU6, a 1x1 conv-BN; when stride 1 and ``cout`` >= ``cin`` the
    input is added to the first ``cin`` output channels."""
    import torch

    nn = _nn()
    mid = cin * t

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = [_cbr(cin, mid, 1, act=nn.SiLU)] if t > 1 else []
            body.append(_cbr(mid, mid, 3, s, g=mid))
            self.body = nn.Sequential(*body)
            rd = max(mid // 12, 8)
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                *(nn.Conv2d(mid, rd, 1), nn.BatchNorm2d(rd), nn.ReLU()),
                *(nn.Conv2d(rd, mid, 1), nn.Sigmoid()),
            )
            self.out = nn.Sequential(nn.ReLU6(), _cbr(mid, cout, 1))
            self.short = s == 1 and cout >= cin

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            if se:
                y = y * self.se(y)
            y = self.out(y)
            if self.short:
                y = torch.cat([y[:, :cin] + x, y[:, cin:]], 1)
            return y

    return Block()


def rexnet(width: float, classes: int) -> Any:
    """ReXNet (Han et al., CVPR 2021) classification at width multiplier ``width``: a
    3x3 stride-2 conv-BN-SiLU stem to 32; 16 inverted bottlenecks (1, 2, 2, 3, 3, 5
    per stage, strides 1, 2, 2, 2, 1, 2, expansion 1 then 6, squeeze-excitation from the
    third stage) whose widths grow linearly from 16 to 180 (times ``width``); a 1x1
    conv-BN-SiLU to 1280 ``width``, pooling and a classifier."""
    nn = _nn()
    depths, strides = (1, 2, 2, 3, 3, 5), (1, 2, 2, 2, 1, 2)
    n = sum(depths)
    stem = int(round(32 * width)) if width < 1 else 32
    layers: list[Any] = [_cbr(3, stem, 3, 2, act=nn.SiLU)]
    c, base, i = stem, 16 / width if width < 1 else 16.0, 0
    for stage, (d, s) in enumerate(zip(depths, strides, strict=True)):
        for j in range(d):
            cout = int(round(base * width))
            t = 1 if stage == 0 else 6
            layers.append(_rexnet_block(c, cout, s if j == 0 else 1, t, stage >= 2))
            c, base, i = cout, base + 180 / n, i + 1
    head = int(1280 * width)
    layers += [_cbr(c, head, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(head, classes))


def _basic_block(cin: int, cout: int, s: int, d: int = 1) -> Any:
    """ResNet's basic block (two 3x3 conv-BNs, ReLU, 1x1 conv-BN shortcut when the
    shape changes), its convs dilated by ``d``."""
    import torch

    nn = _nn()

    def conv_bn(a: int, b: int, stride: int) -> Any:
        return nn.Sequential(nn.Conv2d(a, b, 3, stride, d, d, bias=False), nn.BatchNorm2d(b))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(conv_bn(cin, cout, s), nn.ReLU(), conv_bn(cout, cout, 1))
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    return Block()


def _resnet18_stages(width: int, dilate: tuple[int, ...]) -> Any:
    """A ResNet-18 of base ``width`` as a list of modules: the stem (7x7 stride-2
    conv-BN-ReLU, 3x3 stride-2 max pool) and four stages of two basic blocks; a stage
    whose ``dilate`` is above 1 keeps stride 1 and dilates its convs instead."""
    nn = _nn()
    stages: list[Any] = [nn.Sequential(_cbr(3, width, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1))]
    c = width
    for i, d in enumerate(dilate):
        cout = width * 2**i
        s = 2 if i > 0 and d == 1 else 1
        stages.append(nn.Sequential(_basic_block(c, cout, s, d), _basic_block(cout, cout, 1, d)))
        c = cout
    return nn.ModuleList(stages)


def pspnet(width: int, dilate: tuple[int, ...], classes: int) -> Any:
    """PSPNet (Zhao et al., CVPR 2017) semantic segmentation: a dilated ResNet-18 of base
    ``width`` (its last stages dilated by ``dilate`` instead of strided); the pyramid
    pooling module (average pools to 1x1, 2x2, 3x3 and 6x6, each a 1x1 conv-BN-ReLU to a
    quarter of the channels, bilinearly upsampled and concatenated with the features); a
    3x3 conv-BN-ReLU to 2 ``width`` x 4, a 1x1 classifier and bilinear upsampling to the
    input."""
    import torch

    nn = _nn()
    F = nn.functional
    c = width * 8

    class PSPNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = _resnet18_stages(width, dilate)
            self.pools = nn.ModuleList(
                nn.Sequential(nn.AdaptiveAvgPool2d(b), _cbr(c, c // 4, 1, act=nn.ReLU))
                for b in (1, 2, 3, 6)
            )
            self.head = nn.Sequential(
                _cbr(2 * c, c, 3, act=nn.ReLU), nn.Dropout(0.1), nn.Conv2d(c, classes, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            size = x.shape[2:]
            f = x
            for stage in self.backbone:
                f = stage(f)
            hw = f.shape[2:]
            pyramid = [F.interpolate(p(f), hw, mode="bilinear") for p in self.pools]
            y = self.head(torch.cat([f, *pyramid], 1))
            return F.interpolate(y, size, mode="bilinear")

    return PSPNet()


def retinanet(width: int, fpn: int, classes: int, anchors: int = 9) -> Any:
    """RetinaNet (Lin et al., ICCV 2017) detection: a ResNet-18 of base ``width``; an FPN
    of ``fpn`` channels on C3-C5 (1x1 laterals, nearest upsampling, 3x3 outputs) plus P6
    (a 3x3 stride-2 conv of C5) and P7 (ReLU, a 3x3 stride-2 conv); the class and box
    subnets shared across P3-P7, each four 3x3 conv-ReLUs of ``fpn`` and a 3x3 conv to
    ``anchors`` x ``classes`` sigmoid scores and ``anchors`` x 4 box offsets; all levels'
    outputs flattened and concatenated."""
    import torch

    nn = _nn()
    F = nn.functional

    def subnet(out: int) -> Any:
        layers: list[Any] = []
        for _ in range(4):
            layers += [nn.Conv2d(fpn, fpn, 3, 1, 1), nn.ReLU()]
        return nn.Sequential(*layers, nn.Conv2d(fpn, out, 3, 1, 1))

    class RetinaNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = _resnet18_stages(width, (1, 1, 1, 1))
            self.lateral = nn.ModuleList(nn.Conv2d(width * m, fpn, 1) for m in (2, 4, 8))
            self.smooth = nn.ModuleList(nn.Conv2d(fpn, fpn, 3, 1, 1) for _ in range(3))
            self.p6 = nn.Conv2d(width * 8, fpn, 3, 2, 1)
            self.p7 = nn.Conv2d(fpn, fpn, 3, 2, 1)
            self.cls, self.box = subnet(anchors * classes), subnet(anchors * 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for i, stage in enumerate(self.backbone):
                x = stage(x)
                if i >= 2:
                    feats.append(x)
            lat = [conv(f) for conv, f in zip(self.lateral, feats, strict=True)]
            for i in (1, 0):
                lat[i] = lat[i] + F.interpolate(lat[i + 1], lat[i].shape[2:], mode="nearest")
            p = [conv(f) for conv, f in zip(self.smooth, lat, strict=True)]
            p.append(self.p6(feats[2]))
            p.append(self.p7(torch.relu(p[3])))
            scores = [torch.sigmoid(self.cls(f)).flatten(2) for f in p]
            boxes = [self.box(f).flatten(2) for f in p]
            return torch.cat([torch.cat(scores, 2), torch.cat(boxes, 2)], 1)

    return RetinaNet()


def _biggan_block(cin: int, cout: int, cond: int) -> Any:
    """BigGAN's up-sampling generator block: class-conditional batch norm (gain 1 + and
    bias linear in the conditioning), ReLU, nearest 2x upsampling, a 3x3 conv, a second
    conditional BN, ReLU and 3x3 conv; plus the upsampled input through a 1x1 conv."""
    import torch

    nn = _nn()
    F = nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin, affine=False)
            self.bn2 = nn.BatchNorm2d(cout, affine=False)
            self.film1, self.film2 = nn.Linear(cond, 2 * cin), nn.Linear(cond, 2 * cout)
            self.conv1, self.conv2 = nn.Conv2d(cin, cout, 3, 1, 1), nn.Conv2d(cout, cout, 3, 1, 1)
            self.short = nn.Conv2d(cin, cout, 1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            g1, b1 = self.film1(y)[:, :, None, None].chunk(2, 1)
            g2, b2 = self.film2(y)[:, :, None, None].chunk(2, 1)
            h = torch.relu(self.bn1(x) * (1 + g1) + b1)
            h = self.conv1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
            h = self.conv2(torch.relu(self.bn2(h) * (1 + g2) + b2))
            return h + self.short(F.interpolate(x, scale_factor=2.0, mode="nearest"))

    return Block()


def _sagan_attention(c: int) -> Any:
    """SAGAN's self-attention (BigGAN's non-local block): theta and phi 1x1 convs to
    ``c``/8, g to ``c``/2, phi and g max-pooled 2x2; softmax attention over positions, a
    1x1 conv back to ``c``, scaled by a learned gamma and added."""
    import torch

    nn = _nn()
    F = nn.functional

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.theta, self.phi = nn.Conv2d(c, c // 8, 1), nn.Conv2d(c, c // 8, 1)
            self.g, self.o = nn.Conv2d(c, c // 2, 1), nn.Conv2d(c // 2, c, 1)
            self.gamma = nn.Parameter(torch.tensor(0.1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, _, h, w = x.shape
            theta = self.theta(x).flatten(2)
            phi = F.max_pool2d(self.phi(x), 2).flatten(2)
            g = F.max_pool2d(self.g(x), 2).flatten(2)
            beta = torch.softmax(theta.transpose(1, 2) @ phi, -1)
            o = (g @ beta.transpose(1, 2)).reshape(b, c // 2, h, w)
            return x + self.gamma * self.o(o)

    return Attention()


def biggan(ch: int, mults: tuple[int, ...], attn_at: int, z: int, classes: int) -> Any:
    """BigGAN's generator (Brock et al., ICLR 2019) for one class-conditional sample from
    a (1, ``z`` + 1) input (the latent and, last, the class id read like an id): a shared
    class embedding of 128 concatenated with the latent as the conditioning; a linear
    layer to a 4x4 map of ``mults[0]`` ``ch``; one up-sampling block per later multiple
    (self-attention after the block whose output side is ``attn_at``); BN, ReLU, a 3x3
    conv to RGB and tanh. The CIFAR model is ``(256, (4, 4, 4, 4), 0, 128, 10)``, the 64
    x 64 ImageNet one ``(64, (16, 16, 8, 4, 2), 32, 120, 1000)``."""
    import torch

    nn = _nn()
    cond = 128 + z

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Parameter(torch.randn(classes, 128) * 0.1)
            self.linear = nn.Linear(cond, 16 * mults[0] * ch)
            self.blocks = nn.ModuleList()
            self.attn = nn.ModuleDict()
            side = 4
            for i in range(1, len(mults)):
                self.blocks.append(_biggan_block(mults[i - 1] * ch, mults[i] * ch, cond))
                side *= 2
                if side == attn_at:
                    self.attn[str(i - 1)] = _sagan_attention(mults[i] * ch)
            c = mults[-1] * ch
            self.out = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, 3, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.cat([x[:, :z], self.embed[_ids(x[:, z], classes)]], 1)
            h = self.linear(y).reshape(1, mults[0] * ch, 4, 4)
            for i, block in enumerate(self.blocks):
                h = block(h, y)
                if str(i) in self.attn:
                    h = self.attn[str(i)](h)
            return torch.tanh(self.out(h))

    return Generator()


def _sh_encoding(d: Any) -> Any:
    """Real spherical harmonics of degree 4 (16 values) of unit directions ``d`` (n,
    3), as Instant-NGP encodes view directions."""
    import torch

    x, y, z = d.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    return torch.stack(
        [
            *(torch.full_like(x, 0.28209479), -0.48860251 * y, 0.48860251 * z, -0.48860251 * x),
            *(1.09254843 * x * y, -1.09254843 * y * z, 0.31539157 * (2 * zz - xx - yy)),
            *(-1.09254843 * x * z, 0.54627421 * (xx - yy)),
            -0.59004359 * y * (3 * xx - yy),
            2.89061144 * x * y * z,
            -0.45704580 * y * (4 * zz - xx - yy),
            0.37317633 * z * (2 * zz - 3 * xx - 3 * yy),
            -0.45704580 * x * (4 * zz - xx - yy),
            1.44530572 * z * (xx - yy),
            -0.59004359 * x * (xx - 3 * yy),
        ],
        -1,
    )


def _hash_grid(levels: int, log2_t: int, feats: int, n_min: int, n_max: int) -> Any:
    """Instant-NGP's multiresolution hash encoding of points (n, 3) in [0, 1]^3: per
    level a grid of resolution growing geometrically from ``n_min`` to ``n_max``; the 8
    corners of each point's cell indexed directly when the level's grid fits the table of
    2^``log2_t`` entries and by the spatial hash (x ^ y * 2654435761 ^ z * 805459861 mod
    T) otherwise (the XOR done nibble by nibble through a 16 x 16 table, ONNX 17 having
    no bitwise ops); their ``feats`` features trilinearly interpolated; (n, levels
    ``feats``)."""
    import torch

    nn = _nn()
    t = 2**log2_t
    b = math.exp((math.log(n_max) - math.log(n_min)) / (levels - 1))
    res = [math.floor(n_min * b**i) for i in range(levels)]
    nib = torch.arange(16)
    corners = torch.tensor([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)])

    class HashGrid(nn.Module):
        res: torch.Tensor
        dense: torch.Tensor
        stride: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Parameter(torch.rand(levels * t, feats) * 2e-4 - 1e-4)
            self.register_buffer("res", torch.tensor(res, dtype=torch.float32))
            self.register_buffer("dense", torch.tensor([(r + 1) ** 3 <= t for r in res]))
            strides = [[1, r + 1, (r + 1) ** 2] for r in res]
            self.register_buffer("stride", torch.tensor(strides))
            self.register_buffer("xor", (nib[:, None] ^ nib[None]).flatten())
            self.register_buffer("primes", torch.tensor([1, 2654435761, 805459861]))
            self.register_buffer("corners", corners)
            self.register_buffer("offset", torch.arange(levels) * t)
            self.register_buffer("pow16", 16 ** torch.arange(log2_t // 4))

        def forward(self, p: torch.Tensor) -> torch.Tensor:
            x = p[:, None, :] * self.res[None, :, None]  # (n, L, 3)
            x0 = torch.floor(x)
            frac = x - x0
            c = x0.long()[:, :, None, :] + self.corners  # (n, L, 8, 3)
            dense = (c * self.stride[None, :, None]).sum(-1) % t
            h = (c * self.primes) % t
            n = (h[..., None] // self.pow16) % 16  # (n, L, 8, 3, nibbles)
            v = self.xor[n[..., 0, :] * 16 + n[..., 1, :]]
            v = self.xor[v * 16 + n[..., 2, :]]
            hashed = (v * self.pow16).sum(-1)
            idx = torch.where(self.dense[None, :, None], dense, hashed) + self.offset[:, None]
            w = torch.where(self.corners == 1, frac[:, :, None], 1 - frac[:, :, None]).prod(-1)
            f = (self.table[idx] * w[..., None]).sum(2)  # (n, L, F)
            return f.flatten(1)

    return HashGrid()


def instant_ngp(samples: int, levels: int, log2_t: int) -> Any:
    """Instant-NGP's NeRF (Müller et al., SIGGRAPH 2022) on (1, ``samples``, 6) ray
    samples (a position squashed into [0, 1]^3 and a view direction): the hash encoding
    (``levels`` levels of 2 features, tables of 2^``log2_t``, resolutions 16 to 2048); a
    density MLP (one hidden layer of 64, ReLU) to 16 values, the first the log density;
    the direction's degree-4 spherical harmonics with those 16 through a colour MLP (two
    hidden layers of 64) to sigmoid RGB; (samples, 4) with the exp density."""
    import torch

    nn = _nn()

    class NGP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.grid = _hash_grid(levels, log2_t, 2, 16, 2048)
            self.density = nn.Sequential(
                nn.Linear(2 * levels, 64, bias=False), nn.ReLU(), nn.Linear(64, 16, bias=False)
            )
            self.color = nn.Sequential(
                *(nn.Linear(32, 64, bias=False), nn.ReLU(), nn.Linear(64, 64, bias=False)),
                *(nn.ReLU(), nn.Linear(64, 3, bias=False)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pos = torch.sigmoid(x[0, :, :3])
            d = x[0, :, 3:]
            d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            h = self.density(self.grid(pos))
            rgb = torch.sigmoid(self.color(torch.cat([_sh_encoding(d), h], -1)))
            return torch.cat([rgb, torch.exp(h[:, :1])], -1)

    return NGP()


def siren(width: int, layers: int, out: int, omega: float = 30.0) -> Any:
    """SIREN (Sitzmann et al., NeurIPS 2020) fitting an image: (1, n, 2) coordinates
    through ``layers`` linear layers of ``width`` each followed by sin(``omega`` x), then
    a linear layer to ``out`` values per point."""
    import torch

    nn = _nn()

    class Siren(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [2] + [width] * layers
            self.hidden = nn.ModuleList(
                nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
            )
            self.last = nn.Linear(width, out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.hidden:
                x = torch.sin(omega * layer(x))
            return self.last(x)

    return Siren()


def _lrelu_conv(cin: int, cout: int, k: int = 3, s: int = 1, d: int = 1) -> Any:
    """A ``k`` x ``k`` conv (stride ``s``, dilation ``d``) and a leaky ReLU of 0.1."""
    nn = _nn()
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, d * (k // 2), d), nn.LeakyReLU(0.1))


def _warp(x: Any, flow: Any) -> Any:
    """``x`` (1, c, h, w) bilinearly sampled at each pixel displaced by ``flow`` (1, 2, h,
    w)."""
    import torch

    F = _nn().functional
    _, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    gx = (xs[None].float() + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1
    gy = (ys[None].float() + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _local_correlation(f1: Any, f2: Any, md: int) -> Any:
    """The cost volume of PWC-Net: for each of the (2 ``md`` + 1)^2 displacements the
    channel mean of ``f1`` times the shifted ``f2``, leaky-ReLU'd; (1, (2 md + 1)^2, h,
    w)."""
    import torch

    F = _nn().functional
    _, _, h, w = f1.shape
    p = F.pad(f2, (md, md, md, md))
    k = 2 * md + 1
    cost = [(f1 * p[:, :, i : i + h, j : j + w]).mean(1) for i in range(k) for j in range(k)]
    return F.leaky_relu(torch.stack(cost, 1), 0.1)


def _pwc_decoder(cin: int) -> Any:
    """PWC-Net's densely connected flow estimator: 3x3 conv-leaky-ReLUs of 128, 128, 96,
    64 and 32, each output concatenated to its input; a 3x3 conv to the flow; (flow,
    features)."""
    import torch

    nn = _nn()

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList()
            c = cin
            for cout in (128, 128, 96, 64, 32):
                self.convs.append(_lrelu_conv(c, cout))
                c += cout
            self.flow = nn.Conv2d(c, 2, 3, 1, 1)
            self.out_channels = c

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            for conv in self.convs:
                x = torch.cat([conv(x), x], 1)
            return self.flow(x), x

    return Decoder()


def pwcnet(md: int = 4) -> Any:
    """PWC-Net (Sun et al., CVPR 2018) optical flow between two images stacked as a (1,
    6, h, w) input: a six-level feature pyramid (three 3x3 conv-leaky-ReLUs per level,
    the first of stride 2, to 16, 32, 64, 96, 128, 196); from the coarsest level to the
    second, the second image's features warped by the upsampled flow, a local cost volume
    of displacement ``md``, and a densely connected estimator on it, the first image's
    features, the upsampled flow and features (4x4 transposed convs); a context network
    of dilated convs (1, 2, 4, 8, 16, 1) refining the final flow at a quarter of the
    input resolution."""
    import torch

    nn = _nn()
    chans = (3, 16, 32, 64, 96, 128, 196)
    nd = (2 * md + 1) ** 2

    class PWCNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pyramid = nn.ModuleList(
                nn.Sequential(_lrelu_conv(a, b, 3, 2), _lrelu_conv(b, b), _lrelu_conv(b, b))
                for a, b in zip(chans[:-1], chans[1:], strict=True)
            )
            self.decoders = nn.ModuleList()
            self.up_flow, self.up_feat = nn.ModuleList(), nn.ModuleList()
            for level in (6, 5, 4, 3, 2):
                cin = nd + (0 if level == 6 else chans[level] + 4)
                dec = _pwc_decoder(cin)
                self.decoders.append(dec)
                if level > 2:
                    self.up_flow.append(nn.ConvTranspose2d(2, 2, 4, 2, 1))
                    self.up_feat.append(nn.ConvTranspose2d(dec.out_channels, 2, 4, 2, 1))
            dil = (1, 2, 4, 8, 16, 1)
            ctx = [self.decoders[-1].out_channels, 128, 128, 128, 96, 64, 32]
            self.context = nn.Sequential(
                *(_lrelu_conv(a, b, d=d) for a, b, d in zip(ctx[:-1], ctx[1:], dil, strict=True)),
                nn.Conv2d(32, 2, 3, 1, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f1, f2 = [], []
            a, b = x[:, :3], x[:, 3:]
            for level in self.pyramid:
                a, b = level(a), level(b)
                f1.append(a)
                f2.append(b)
            flow = feat = torch.zeros(())
            for i, level in enumerate((6, 5, 4, 3, 2)):
                t1, t2 = f1[level - 1], f2[level - 1]
                if i == 0:
                    h = _local_correlation(t1, t2, md)
                else:
                    scale = 20.0 / 2**level
                    warped = _warp(t2, flow * scale)
                    h = torch.cat([_local_correlation(t1, warped, md), t1, flow, feat], 1)
                flow, h = self.decoders[i](h)
                if i < 4:
                    flow, feat = self.up_flow[i](flow), self.up_feat[i](h)
            return flow + self.context(h)

    return PWCNet()


def _conv_bn_lrelu(cin: int, cout: int, k: int, s: int = 1, d: int = 1, three_d: bool = False):
    """A conv-BN-leaky-ReLU (0.2), 2-D or 3-D."""
    nn = _nn()
    conv, bn = (nn.Conv3d, nn.BatchNorm3d) if three_d else (nn.Conv2d, nn.BatchNorm2d)
    pad = d * (k // 2)
    return nn.Sequential(conv(cin, cout, k, s, pad, d, bias=False), bn(cout), nn.LeakyReLU(0.2))


def _stereo_res(c: int, d: int) -> Any:
    """StereoNet's residual block: two 3x3 convs of dilation ``d`` with BN and leaky
    ReLU, added to the input."""
    import torch

    nn = _nn()

    class Res(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = _conv_bn_lrelu(c, c, 3, d=d)
            self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, d, d, bias=False), nn.BatchNorm2d(c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.leaky_relu(x + self.b(self.a(x)), 0.2)

    return Res()


def stereonet(k: int, max_disp: int, c: int = 32) -> Any:
    """StereoNet (Khamis et al., ECCV 2018) disparity from a rectified pair stacked as a
    (1, 6, h, w) input: a siamese tower (``k`` 5x5 stride-2 convs, six residual blocks, a
    3x3 conv, all of ``c``); the cost volume of feature differences over (``max_disp`` +
    1) / 2^``k`` disparities; four 3x3x3 conv-BN-leaky-ReLUs and a 3x3x3 conv to one
    cost; a soft argmin over disparities; bilinear upsampling to the input; the
    refinement (the disparity and the left image through a 3x3 conv, six residual blocks
    of dilations 1, 2, 4, 8, 1, 1 and a 3x3 conv to a residual) and ReLU."""
    import torch

    nn = _nn()
    F = nn.functional
    nd = (max_disp + 1) // 2**k

    class StereoNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            down = [nn.Conv2d(3 if i == 0 else c, c, 5, 2, 2) for i in range(k)]
            res = [_stereo_res(c, 1) for _ in range(6)]
            self.tower = nn.Sequential(*down, *res, nn.Conv2d(c, c, 3, 1, 1))
            self.filter = nn.Sequential(
                *(_conv_bn_lrelu(c, c, 3, three_d=True) for _ in range(4)),
                nn.Conv3d(c, 1, 3, 1, 1),
            )
            self.refine = nn.Sequential(
                _conv_bn_lrelu(4, c, 3),
                *(_stereo_res(c, d) for d in (1, 2, 4, 8, 1, 1)),
                nn.Conv2d(c, 1, 3, 1, 1),
            )
            self.register_buffer("disps", torch.arange(nd).float().reshape(1, nd, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            left = x[:, :3]
            fl, fr = self.tower(left), self.tower(x[:, 3:])
            w = fl.shape[3]
            pr = F.pad(fr, (nd - 1, 0, 0, 0))
            cost = torch.stack(
                [fl - pr[:, :, :, nd - 1 - d : nd - 1 - d + w] for d in range(nd)], 2
            )
            prob = torch.softmax(-self.filter(cost)[:, 0], 1)
            disp = (prob * self.disps).sum(1, keepdim=True)
            disp = F.interpolate(disp, x.shape[2:], mode="bilinear") * 2**k
            return torch.relu(disp + self.refine(torch.cat([disp, left], 1)))

    return StereoNet()


def wav2vec2_frontend(conv: int, d: int, pos_kernel: int, pos_groups: int) -> Any:
    """wav2vec 2.0's (Baevski et al., NeurIPS 2020) front end on (1, 1, samples) of 16
    kHz audio: the feature encoder (seven 1-D convs of ``conv`` channels, kernels 10, 3,
    3, 3, 3, 2, 2 and strides 5, 2, 2, 2, 2, 2, 2, a group norm after the first, GELUs:
    one frame per 20 ms); a layer norm, the feature projection to ``d``; the
    convolutional relative position embedding (a grouped conv of ``pos_kernel`` taps
    and ``pos_groups`` groups, GELU) added, and the encoder's layer norm. The base model
    is ``(512, 768, 128, 16)``."""
    import torch

    nn = _nn()
    kernels, strides = (10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)

    class FrontEnd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            for i, (k, s) in enumerate(zip(kernels, strides, strict=True)):
                layers.append(nn.Conv1d(1 if i == 0 else conv, conv, k, s, bias=False))
                if i == 0:
                    layers.append(nn.GroupNorm(conv, conv))
                layers.append(nn.GELU())
            self.encoder = nn.Sequential(*layers)
            self.norm, self.proj = nn.LayerNorm(conv), nn.Linear(conv, d)
            self.pos = nn.Conv1d(d, d, pos_kernel, padding=pos_kernel // 2, groups=pos_groups)
            self.out_norm = nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.proj(self.norm(self.encoder(x).transpose(1, 2)))
            p = self.pos(h.transpose(1, 2))[:, :, : h.shape[1]]
            return self.out_norm(h + nn.functional.gelu(p).transpose(1, 2))

    return FrontEnd()


def leaf(filters: int, window: int, hop: int) -> Any:
    """LEAF (Zeghidour et al., ICLR 2021), a learnable audio front end, on (1, 1,
    samples): ``filters`` complex Gabor filters of ``window`` taps (their real and
    imaginary parts as one conv, built from learned centre frequencies and bandwidths),
    the squared modulus; per-channel Gaussian low-pass filters of ``window`` taps and
    stride ``hop`` (a depthwise conv); PCEN with a learned per-channel smoothing
    coefficient (the exponential moving average as a lower-triangular matrix product
    over frames), alpha, delta and root."""
    import torch

    nn = _nn()
    F = nn.functional
    t = torch.arange(window).float() - window // 2

    class Leaf(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            mel = torch.linspace(0.05, 0.95, filters)
            self.center = nn.Parameter(mel * math.pi)
            self.fwhm = nn.Parameter(torch.full((filters,), 0.02 * window))
            self.pool_w = nn.Parameter(torch.full((filters,), 0.4))
            self.s = nn.Parameter(torch.full((filters,), 0.04))
            self.alpha = nn.Parameter(torch.full((filters,), 0.96))
            self.delta = nn.Parameter(torch.full((filters,), 2.0))
            self.root = nn.Parameter(torch.full((filters,), 2.0))
            self.register_buffer("t", t)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            sigma = self.fwhm[:, None] / (2 * math.sqrt(2 * math.log(2)))
            env = torch.exp(-0.5 * (self.t / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)
            phase = self.center[:, None] * self.t
            kernel = torch.cat([env * torch.cos(phase), env * torch.sin(phase)], 0)
            y = F.conv1d(x, kernel[:, None], padding=window // 2)
            y = y[:, :filters] ** 2 + y[:, filters:] ** 2
            sd = self.pool_w[:, None] * window / 2
            lowpass = torch.exp(-0.5 * (self.t / sd) ** 2)
            y = F.conv1d(y, lowpass[:, None], stride=hop, padding=window // 2, groups=filters)
            n = y.shape[2]
            k = torch.arange(n)
            lag = (k[:, None] - k[None]).clamp_min(0).float()
            s = self.s.clamp(0.0, 1.0)[:, None, None]
            ema = s * (1 - s) ** lag * (lag <= (k[:, None] - k[None]).float()).float()
            m = (ema @ y[0, :, :, None])[None, :, :, 0]
            alpha, delta = self.alpha[:, None], self.delta[:, None]
            r = 1 / self.root[:, None]
            return (y / (1e-6 + m) ** alpha + delta) ** r - delta**r

    return Leaf()


def _s4d_layer(h: int, n: int, seq: int) -> Any:
    """An S4D layer on (1, ``h``, ``seq``): per channel a diagonal state space of ``n``/2
    complex modes (S4D-Lin: A = -1/2 + i pi k, learned log step), its length-``seq``
    convolution kernel 2 Re(sum C B (exp(dt A) - 1)/A exp(dt A l)) applied as a causal
    depthwise conv, plus D u; GELU; a 1x1 conv to 2 ``h`` and a GLU; residual and a layer
    norm over channels (post-norm)."""
    import torch

    nn = _nn()
    F = nn.functional
    m = n // 2

    class S4D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.log_dt = nn.Parameter(torch.rand(h) * math.log(100) + math.log(1e-3))
            self.c_re = nn.Parameter(torch.randn(h, m) * 0.5**0.5)
            self.c_im = nn.Parameter(torch.randn(h, m) * 0.5**0.5)
            self.log_a_re = nn.Parameter(torch.full((h, m), math.log(0.5)))
            self.a_im = nn.Parameter(math.pi * torch.arange(m).float().repeat(h, 1))
            self.d = nn.Parameter(torch.randn(h, 1))
            self.out = nn.Conv1d(h, 2 * h, 1)
            self.norm = nn.LayerNorm(h)
            self.register_buffer("pos", torch.arange(seq).float())

        def kernel(self) -> torch.Tensor:
            dt = torch.exp(self.log_dt)[:, None]
            are, aim = -torch.exp(self.log_a_re) * dt, self.a_im * dt  # dt A
            # C (exp(dt A) - 1) / A, with A = (are + i aim) / dt
            e_re, e_im = torch.exp(are) * torch.cos(aim) - 1, torch.exp(are) * torch.sin(aim)
            den = are**2 + aim**2
            q_re = (e_re * are + e_im * aim) / den * dt
            q_im = (e_im * are - e_re * aim) / den * dt
            c_re = self.c_re * q_re - self.c_im * q_im
            c_im = self.c_re * q_im + self.c_im * q_re
            mag = torch.exp(are[..., None] * self.pos)
            ang = aim[..., None] * self.pos
            k = (c_re[..., None] * torch.cos(ang) - c_im[..., None] * torch.sin(ang)) * mag
            return 2 * k.sum(1)  # (h, seq)

        def forward(self, u: torch.Tensor) -> torch.Tensor:
            k = self.kernel().flip(-1)[:, None]
            y = F.conv1d(F.pad(u, (seq - 1, 0)), k, groups=h) + self.d * u
            y = F.glu(self.out(F.gelu(y)), 1)
            return self.norm((y + u).transpose(1, 2)).transpose(1, 2)

    return S4D()


def s4d(h: int, n: int, layers: int, seq: int, din: int, classes: int) -> Any:
    """S4D (Gu et al., NeurIPS 2022) sequence classification of (1, ``seq``, ``din``): a
    linear encoder to ``h``, ``layers`` S4D layers of state size ``n``, mean pooling over
    time and a linear decoder."""
    import torch

    nn = _nn()

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(din, h)
            self.layers = nn.Sequential(*(_s4d_layer(h, n, seq) for _ in range(layers)))
            self.decoder = nn.Linear(h, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.layers(self.encoder(x).transpose(1, 2))
            return self.decoder(y.mean(2))

    return Model()


def performer(d: int, heads: int, layers: int, features: int, seq: int, classes: int) -> Any:
    """A Performer encoder (Choromanski et al., ICLR 2021) classifying (1, ``seq``, ``d``)
    embeddings: ``layers`` pre-norm blocks whose attention is FAVOR+ (queries and keys
    scaled by head size^-1/4 through ``features`` positive orthogonal random features
    exp(w x - |x|^2/2), attention as phi(q) (phi(k)^T v) normalised by phi(q) phi(k)^T
    1, linear in ``seq``), a GELU MLP of 4 ``d``; a final norm, mean pooling and a
    classifier."""
    import torch

    nn = _nn()
    dh = d // heads

    class Block(nn.Module):
        w: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            q = torch.linalg.qr(torch.randn(max(features, dh), max(features, dh)))[0]
            w = q[:features, :dh] * torch.randn(features, 1).norm(dim=1, keepdim=True)
            self.register_buffer("w", w * dh**0.5)

        def phi(self, x: torch.Tensor) -> torch.Tensor:
            x = x * dh**-0.25
            proj = x @ self.w.t()
            sq = (x**2).sum(-1, keepdim=True) / 2
            return torch.exp(proj - sq - proj.amax(-1, keepdim=True)) * features**-0.5 + 1e-6

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.n1(x)).reshape(seq, 3, heads, dh).permute(1, 2, 0, 3)
            q, k = self.phi(q), self.phi(k)
            kv = k.transpose(1, 2) @ v  # (heads, features, dh)
            norm = q @ k.sum(1, keepdim=True).transpose(1, 2)  # (heads, seq, 1)
            a = (q @ kv / norm).transpose(0, 1).reshape(1, seq, d)
            x = x + self.proj(a)
            return x + self.mlp(self.n2(x))

    class Performer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*(Block() for _ in range(layers)))
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.norm(self.blocks(x)).mean(1))

    return Performer()


def _alibi_slopes(heads: int) -> list[float]:
    """ALiBi's head slopes: the geometric sequence 2^(-8 i / heads)."""
    return [2 ** (-8 * (i + 1) / heads) for i in range(heads)]


def bloom(d: int, heads: int, layers: int, seq: int, vocab: int) -> Any:
    """A BLOOM decoder (BigScience, arXiv 2022) on (1, ``seq``) token ids: word embeddings
    and the embedding layer norm; ``layers`` pre-norm blocks (causal attention with the
    ALiBi linear distance bias of Press et al. instead of position embeddings, a tanh-GELU
    MLP of 4 ``d``); a final layer norm and the tied LM head to ``vocab`` logits for every
    position. BLOOM-560m is ``(1024, 16, 24, ..., 250880)``."""
    import torch

    nn = _nn()
    dh = d // heads
    pos = torch.arange(seq).float()
    dist = pos[None] - pos[:, None]  # key minus query
    slopes = torch.tensor(_alibi_slopes(heads))[:, None, None]
    bias = slopes * dist + torch.full((seq, seq), float("-inf")).triu(1)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.dense = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(
                nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d)
            )

        def forward(self, x: torch.Tensor, alibi: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.n1(x)).reshape(seq, heads, 3, dh).permute(2, 1, 0, 3)
            s = q @ k.transpose(1, 2) * dh**-0.5 + alibi
            a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(1, seq, d)
            x = x + self.dense(a)
            return x + self.mlp(self.n2(x))

    class Bloom(nn.Module):
        alibi: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.embed_norm, self.norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.register_buffer("alibi", bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.embed_norm(self.embed(_ids(x, vocab)))
            for block in self.blocks:
                h = block(h, self.alibi)
            return self.norm(h) @ self.embed.weight.t()

    return Bloom()


def funnel(d: int, heads: int, blocks: tuple[int, ...], seq: int, classes: int) -> Any:
    """A Funnel-Transformer encoder (Dai et al., NeurIPS 2020) classifying (1, ``seq``,
    ``d``) embeddings (with absolute positions added, in place of its relative
    attention): ``len(blocks)`` blocks of ``blocks[i]`` post-norm layers (attention, a
    GELU MLP of 4 ``d``); before each block after the first the sequence is mean-pooled
    by 2, the block's first attention taking the pooled sequence as queries and the
    unpooled one as keys and values; the first position through a tanh pooler and a
    classifier."""
    import torch

    nn = _nn()
    dh = d // heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.kv, self.o = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor) -> torch.Tensor:
            nq, nk = q_in.shape[1], kv_in.shape[1]
            q = self.q(q_in).reshape(nq, heads, dh).transpose(0, 1)
            k, v = self.kv(kv_in).reshape(nk, 2, heads, dh).permute(1, 2, 0, 3)
            a = torch.softmax(q @ k.transpose(1, 2) * dh**-0.5, -1) @ v
            x = self.n1(q_in + self.o(a.transpose(0, 1).reshape(1, nq, d)))
            return self.n2(x + self.mlp(x))

    class Funnel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
            self.norm = nn.LayerNorm(d)
            self.blocks = nn.ModuleList(nn.ModuleList(Layer() for _ in range(n)) for n in blocks)
            self.pooler = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.norm(x + self.pos)
            for i, block in enumerate(self.blocks):
                for j, layer in enumerate(block):
                    if i > 0 and j == 0:
                        q = nn.functional.avg_pool1d(h.transpose(1, 2), 2).transpose(1, 2)
                        h = layer(q, h)
                    else:
                        h = layer(h, h)
            return self.pooler(h[:, 0])

    return Funnel()


def xdeepfm(fields: int, rows: int, emb: int, cin: tuple[int, ...], dnn: tuple[int, ...]) -> Any:
    """xDeepFM (Lian et al., KDD 2018) click-through scoring of (1, candidates, ``fields``)
    categorical features (read like ids, each field hashed to ``rows`` rows of its own
    table of ``emb``): a linear term; the compressed interaction network (layer k the
    outer products of the previous layer's maps with the field embeddings along the
    embedding dimension, compressed by a 1x1 conv to ``cin[k]`` maps; every layer sum
    pooled over the embedding); a ReLU DNN of ``dnn`` on the flattened embeddings; their
    outputs summed, sigmoid. The Criteo model is ``(39, ..., 10, (200, 200, 200), (400,
    400))``."""
    import torch

    nn = _nn()

    class XDeepFM(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding(fields * rows, emb)
            self.linear = nn.Embedding(fields * rows, 1)
            self.register_buffer("offsets", torch.arange(fields) * rows)
            sizes = [fields, *cin]
            self.cin = nn.ModuleList(
                nn.Conv1d(a * fields, b, 1) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            )
            dims = [fields * emb, *dnn]
            mlp: list[Any] = []
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                mlp += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
            self.dnn = nn.Sequential(*mlp, nn.Linear(dims[-1], 1))
            self.cin_out = nn.Linear(sum(cin), 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0], rows) + self.offsets
            n = ids.shape[0]
            x0 = self.table(ids)  # (n, fields, emb)
            h, pooled = x0, []
            for conv in self.cin:
                z = (h[:, :, None] * x0[:, None]).reshape(n, -1, emb)
                h = torch.relu(conv(z))
                pooled.append(h.sum(2))
            y = self.linear(ids).sum((1, 2)) + self.cin_out(torch.cat(pooled, 1))[:, 0]
            return torch.sigmoid(y + self.dnn(x0.flatten(1))[:, 0])

    return XDeepFM()


def autoint(fields: int, rows: int, emb: int, layers: int, heads: int, att: int) -> Any:
    """AutoInt (Song et al., CIKM 2019) click-through scoring of (1, candidates,
    ``fields``) categorical features (read like ids, each field hashed to ``rows`` rows of ``emb``):
    ``layers`` interacting layers (multi-head self-attention across fields, ``heads``
    heads of ``att``, a linear residual, ReLU); the flattened fields through a linear
    output and a sigmoid. The Criteo model is ``(39, ..., 16, 3, 2, 32)``."""
    import torch

    nn = _nn()

    class Interacting(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.qkv = nn.Linear(cin, 3 * heads * att, bias=False)
            self.res = nn.Linear(cin, heads * att, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[0]
            q, k, v = self.qkv(x).reshape(n, fields, 3, heads, att).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2), -1) @ v
            return torch.relu(a.transpose(1, 2).reshape(n, fields, -1) + self.res(x))

    class AutoInt(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding(fields * rows, emb)
            self.register_buffer("offsets", torch.arange(fields) * rows)
            dims = [emb] + [heads * att] * layers
            self.layers = nn.Sequential(*(Interacting(a) for a in dims[:-1]))
            self.out = nn.Linear(fields * heads * att, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.layers(self.table(_ids(x[0], rows) + self.offsets))
            return torch.sigmoid(self.out(h.flatten(1)))

    return AutoInt()


def mmoe(din: int, experts: int, hidden: int, tasks: int, tower: int) -> Any:
    """MMoE (Ma et al., KDD 2018) multi-task scoring of (1, candidates, ``din``) features:
    ``experts``
    ReLU experts of ``hidden``; per task a softmax gate over the experts from the input,
    the gated mixture through a ReLU tower of ``tower`` to a sigmoid; (candidates,
    ``tasks``). The
    census-income model is ``(499, 8, 16, 2, 8)``."""
    import torch

    nn = _nn()

    class MMoE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.experts = nn.Linear(din, experts * hidden)
            self.gates = nn.Linear(din, tasks * experts)
            self.towers = nn.ModuleList(
                nn.Sequential(nn.Linear(hidden, tower), nn.ReLU(), nn.Linear(tower, 1))
                for _ in range(tasks)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = x.shape[1]
            e = torch.relu(self.experts(x[0])).reshape(n, experts, hidden)
            g = torch.softmax(self.gates(x[0]).reshape(n, tasks, experts), -1)
            mixed = g @ e  # (candidates, tasks, hidden)
            outs = [t(mixed[:, i]) for i, t in enumerate(self.towers)]
            return torch.sigmoid(torch.cat(outs, 1))

    return MMoE()


def gin(nodes: int, din: int, d: int, layers: int, classes: int) -> Any:
    """GIN (Xu et al., ICLR 2019) graph classification of a (1, ``nodes``, ``nodes`` +
    ``din``) input (a dense adjacency, thresholded and symmetrised, then node
    features): ``layers`` GIN layers (the node's features times 1 + a learned eps plus
    the sum over neighbours, a two-layer MLP of ``d`` with batch norms and ReLUs); each
    layer's (and the input's) sum readout through a linear layer, the scores summed."""
    import torch

    nn = _nn()

    class GIN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [din] + [d] * layers
            self.eps = nn.Parameter(torch.zeros(layers))
            self.mlps = nn.ModuleList(
                nn.Sequential(
                    *(nn.Linear(a, d), nn.BatchNorm1d(d), nn.ReLU()),
                    *(nn.Linear(d, d), nn.BatchNorm1d(d), nn.ReLU()),
                )
                for a in dims[:-1]
            )
            self.readout = nn.ModuleList(nn.Linear(a, classes) for a in dims)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = (x[0, :, :nodes] > 1.5).float()
            a = ((a + a.t()) > 0).float()
            h = x[0, :, nodes:]
            out = self.readout[0](h.sum(0))
            for i, mlp in enumerate(self.mlps):
                h = mlp((1 + self.eps[i]) * h + a @ h)
                out = out + self.readout[i + 1](h.sum(0))
            return out[None]

    return GIN()


def _offset_attention(c: int) -> Any:
    """PCT's offset attention on (1, ``c``, n) point features: queries and keys of
    ``c``/4 (shared weights), values of ``c``; a softmax over keys then an L1
    normalisation over queries; the offset (input minus attended features) through a
    1x1 conv-BN-ReLU, added to the input."""
    import torch

    nn = _nn()

    class OA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qk = nn.Conv1d(c, c // 4, 1, bias=False)
            self.v = nn.Conv1d(c, c, 1)
            self.trans = nn.Sequential(nn.Conv1d(c, c, 1), nn.BatchNorm1d(c), nn.ReLU())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = self.qk(x)
            energy = q.transpose(1, 2) @ q  # (1, n, n)
            att = torch.softmax(energy, -1)
            att = att / (1e-9 + att.sum(1, keepdim=True))
            r = self.v(x) @ att
            return x + self.trans(x - r)

    return OA()


def pct(points: int, classes: int, c: int = 128) -> Any:
    """PCT's simple variant SPCT (Guo et al., Computational Visual Media 2021) classifying
    a (1, ``points``, 3) point cloud: two point-wise conv-BN-ReLUs to ``c``; four
    stacked offset-attention layers, their outputs concatenated and through a
    conv-BN-leaky-ReLU to 1024; max and mean pooling concatenated; a classifier of 512
    and 256 with BN, ReLU and dropout."""
    import torch

    nn = _nn()

    def cbr1(a: int, b: int) -> Any:
        return nn.Sequential(nn.Conv1d(a, b, 1, bias=False), nn.BatchNorm1d(b), nn.ReLU())

    class PCT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Sequential(cbr1(3, c), cbr1(c, c))
            self.oa = nn.ModuleList(_offset_attention(c) for _ in range(4))
            self.fuse = nn.Sequential(
                nn.Conv1d(4 * c, 1024, 1, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2)
            )
            self.head = nn.Sequential(
                *(nn.Linear(2048, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout()),
                *(nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout()),
                nn.Linear(256, classes),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.embed(x.transpose(1, 2))
            outs = []
            for oa in self.oa:
                h = oa(h)
                outs.append(h)
            f = self.fuse(torch.cat(outs, 1))
            return self.head(torch.cat([f.amax(2), f.mean(2)], 1))

    return PCT()


def dlinear(lookback: int, horizon: int, kernel: int = 25) -> Any:
    """DLinear (Zeng et al., AAAI 2023) forecasting (1, ``horizon``, channels) from (1,
    ``lookback``, channels): the series split by a moving average of ``kernel`` (ends
    replicated) into trend and remainder, each through one linear layer over time shared
    by the channels, summed."""
    import torch

    nn = _nn()

    class DLinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.seasonal, self.trend = nn.Linear(lookback, horizon), nn.Linear(lookback, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            half = (kernel - 1) // 2
            padded = torch.cat(
                [x[:, :1].expand(-1, half, -1), x, x[:, -1:].expand(-1, half, -1)], 1
            )
            trend = nn.functional.avg_pool1d(padded.transpose(1, 2), kernel, 1)
            seasonal = x.transpose(1, 2) - trend
            return (self.seasonal(seasonal) + self.trend(trend)).transpose(1, 2)

    return DLinear()


def _tcn_block(cin: int, cout: int, k: int, d: int) -> Any:
    """TCN's residual block: two causal convs of ``k`` taps and dilation ``d`` (left
    padded), each with ReLU (weight norm folded), and a 1x1 conv on the shortcut when the
    width changes; ReLU after the sum."""
    import torch

    nn = _nn()
    F = nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = (
                nn.Conv1d(cin, cout, k, dilation=d),
                nn.Conv1d(cout, cout, k, dilation=d),
            )
            self.short = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pad = (k - 1) * d
            h = torch.relu(self.c1(F.pad(x, (pad, 0))))
            h = torch.relu(self.c2(F.pad(h, (pad, 0))))
            return torch.relu(h + self.short(x))

    return Block()


def tcn(cin: int, hidden: int, levels: int, k: int, out: int) -> Any:
    """A temporal convolutional network (Bai et al., arXiv 2018) on (1, ``cin``, steps):
    ``levels`` residual blocks of ``hidden`` with dilations 1, 2, 4, ...; the last step
    through a linear layer to ``out``. The sequential-MNIST model is ``(1, 25, 8, 7,
    10)``."""
    import torch

    nn = _nn()

    class TCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(
                *(_tcn_block(cin if i == 0 else hidden, hidden, k, 2**i) for i in range(levels))
            )
            self.out = nn.Linear(hidden, out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.blocks(x)[:, :, -1])

    return TCN()


def tsmixer(lookback: int, horizon: int, channels: int, blocks: int, ff: int) -> Any:
    """TSMixer (Chen et al., TMLR 2023) forecasting from (1, ``lookback``, ``channels``):
    ``blocks`` mixer blocks (time mixing: batch norm over time and channels, a linear
    layer over time, ReLU, residual; feature mixing: batch norm, a two-layer ReLU MLP of
    ``ff`` over channels, residual); a linear temporal projection to ``horizon``."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1 = nn.BatchNorm1d(lookback * channels)
            self.n2 = nn.BatchNorm1d(lookback * channels)
            self.time = nn.Linear(lookback, lookback)
            self.feat = nn.Sequential(nn.Linear(channels, ff), nn.ReLU(), nn.Linear(ff, channels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.n1(x.reshape(1, -1)).reshape(1, lookback, channels)
            x = x + torch.relu(self.time(h.transpose(1, 2))).transpose(1, 2)
            h = self.n2(x.reshape(1, -1)).reshape(1, lookback, channels)
            return x + self.feat(h)

    class TSMixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*(Block() for _ in range(blocks)))
            self.proj = nn.Linear(lookback, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(self.blocks(x).transpose(1, 2)).transpose(1, 2)

    return TSMixer()


def ds_cnn(c: int, blocks: int, classes: int = 12) -> Any:
    """DS-CNN (Zhang et al., "Hello Edge", arXiv 2017) keyword spotting on (1, 1, 49, 10)
    MFCC frames: a 10x4 stride-2 conv-BN-ReLU to ``c``; ``blocks`` depthwise separable
    blocks (3x3 depthwise and 1x1 pointwise conv-BN-ReLUs of ``c``); average pooling and
    a classifier. DS-CNN-S is ``(64, 4)``, DS-CNN-M ``(172, 4)``, DS-CNN-L ``(276, 5)``."""
    nn = _nn()
    layers: list[Any] = [
        nn.Conv2d(1, c, (10, 4), 2, (5, 1), bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
    ]
    layers += [_dw_separable(c, c, 1) for _ in range(blocks)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the thirteenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image, field and flow models."""
    return [
        ("mobilenetv1", "mbv1_x0.5_160x224", partial(mobilenet_v1, 0.5, 1000), _image(160, 224)),
        ("mobilenetv1", "mbv1_x0.25_96x128", partial(mobilenet_v1, 0.25, 100), _image(96, 128)),
        ("rexnet", "rexnet_1.0_192", partial(rexnet, 1.0, 1000), _image(192)),
        (
            "pspnet",
            "pspnet_r18w16_os16_c19_192x384",
            partial(pspnet, 16, (1, 1, 1, 2), 19),
            _image(192, 384),
        ),
        (
            "pspnet",
            "pspnet_r18w32_os8_c21_96x144",
            partial(pspnet, 32, (1, 1, 2, 4), 21),
            _image(96, 144),
        ),
        (
            "retinanet",
            "retinanet_r18w32_f128_voc_128x192",
            partial(retinanet, 32, 128, 20),
            _image(128, 192),
        ),
        ("biggan", "biggan_cifar_ch96", partial(biggan, 96, (4, 4, 4, 4), 0, 128, 10), (1, 129)),
        (
            "biggan",
            "biggan_64_ch16",
            partial(biggan, 16, (16, 16, 8, 4, 2), 32, 120, 1000),
            (1, 121),
        ),
        ("instant_ngp", "ngp_l16_t16_512", partial(instant_ngp, 512, 16, 16), (1, 512, 6)),
        ("instant_ngp", "ngp_l8_t16_1024", partial(instant_ngp, 1024, 8, 16), (1, 1024, 6)),
        ("siren", "siren_w256_l5_64x64", partial(siren, 256, 5, 3), (1, 4096, 2)),
        ("siren", "siren_w64_l3_32x32", partial(siren, 64, 3, 1), (1, 1024, 2)),
        ("pwcnet", "pwcnet_64x128", partial(pwcnet, 4), (1, 6, 64, 128)),
        ("stereonet", "stereonet_k3_d96_64x128", partial(stereonet, 3, 95), (1, 6, 64, 128)),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The audio, text and time-series models."""
    return [
        (
            "wav2vec2",
            "wav2vec2_frontend_c512_8000",
            partial(wav2vec2_frontend, 512, 768, 128, 16),
            (1, 1, 8000),
        ),
        ("leaf", "leaf_40_16000", partial(leaf, 40, 401, 160), (1, 1, 16000)),
        ("s4d", "s4d_h128_n64_l4_s256", partial(s4d, 128, 64, 4, 256, 3, 10), (1, 256, 3)),
        ("s4d", "s4d_h64_n64_l4_s512", partial(s4d, 64, 64, 4, 512, 1, 10), (1, 512, 1)),
        (
            "performer",
            "performer_d128_h4_m64_l4_s1024",
            partial(performer, 128, 4, 4, 64, 1024, 10),
            (1, 1024, 128),
        ),
        ("bloom", "bloom_d256_h8_l4_s128_v8k", partial(bloom, 256, 8, 4, 128, 8000), (1, 128)),
        (
            "funnel",
            "funnel_b2x3_d256_s256",
            partial(funnel, 256, 4, (2, 2, 2), 256, 2),
            (1, 256, 256),
        ),
        ("dlinear", "dlinear_ecl_336_96_c321", partial(dlinear, 336, 96), (1, 336, 321)),
        ("tcn", "tcn_smnist_h25_l8_k7_784", partial(tcn, 1, 25, 8, 7, 10), (1, 1, 784)),
        ("tcn", "tcn_c8_h64_l6_k5_2048", partial(tcn, 8, 64, 6, 5, 8), (1, 8, 2048)),
        (
            "tsmixer",
            "tsmixer_weather_512_96_c21",
            partial(tsmixer, 512, 96, 21, 8, 64),
            (1, 512, 21),
        ),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, graph, point-cloud and keyword-spotting models."""
    return [
        (
            "xdeepfm",
            "xdeepfm_criteo_4cands",
            partial(xdeepfm, 39, 10000, 10, (200, 200, 200), (400, 400)),
            (1, 4, 39),
        ),
        (
            "autoint",
            "autoint_criteo_64cands",
            partial(autoint, 39, 10000, 16, 3, 2, 32),
            (1, 64, 39),
        ),
        ("mmoe", "mmoe_census_e8_256cands", partial(mmoe, 499, 8, 16, 2, 8), (1, 256, 499)),
        ("gin", "gin_d64_l5_n128", partial(gin, 128, 16, 64, 5, 2), (1, 128, 144)),
        ("gin", "gin_d300_l5_n256", partial(gin, 256, 9, 300, 5, 2), (1, 256, 265)),
        ("pct", "spct_modelnet_1024", partial(pct, 1024, 40), (1, 1024, 3)),
        ("pct", "spct_modelnet_256", partial(pct, 256, 40), (1, 256, 3)),
        ("dscnn", "ds_cnn_m_kws", partial(ds_cnn, 172, 4), (1, 1, 49, 10)),
        ("dscnn", "ds_cnn_l_kws", partial(ds_cnn, 276, 5), (1, 1, 49, 10)),
    ]
