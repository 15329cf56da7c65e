"""A fourth held-out zoo of real-world architectures (plain torch), written after the
third zoo (benchmarks/realworld_zoo3.py) had been scored.

Like the second and third, it is written before any prediction of it, committed, and then
scored once with the kernel predictor frozen; nothing in the library is fitted, tuned or
chosen on it. Half of it is families none of the three earlier zoos has (MixNet's mixed
depthwise kernels, Res2Net with ResNet-D stem and shortcuts, a dual-path net, a
DeepLabV3-like ASPP head, a deconvolution-free pose head, CSPDarknet-tiny, Swin-like
windowed attention, a T5-like encoder, a LeViT-like conv/attention hybrid, a SincNet-like
raw-waveform net, PointNet, a tabular MLP and a siamese embedding net); the other half is
the earlier zoos' families at widths and input shapes none of them has (several
non-square). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV2,
    _MBV3,
    _SE,
    Builder,
    _cbr,
    _nn,
    convnext,
    efficientnet,
    mobilenet,
    resnet,
    shufflenet,
    text_encoder,
    vit,
)
from realworld_zoo2 import _bn1, ds_cnn, squeezenet
from realworld_zoo3 import _image, conformer, gpt

#: MixNet-S: (expansion, channels, depthwise kernels, stride, swish, SE, repeats).
MixRow = tuple[int, int, tuple[int, ...], int, bool, bool, int]
_MIXNET_S: list[MixRow] = [
    (1, 16, (3,), 1, False, False, 1),
    (6, 24, (3,), 2, False, False, 1),
    (3, 24, (3,), 1, False, False, 1),
    (6, 40, (3, 5, 7), 2, True, True, 1),
    (6, 40, (3, 5), 1, True, True, 3),
    (6, 80, (3, 5, 7), 2, True, True, 1),
    (6, 80, (3, 5), 1, True, True, 2),
    (6, 120, (3, 5, 7), 1, True, True, 1),
    (3, 120, (3, 5, 7, 9), 1, True, True, 2),
    (6, 200, (3, 5, 7, 9, 11), 2, True, True, 1),
    (6, 200, (3, 5, 7, 9), 1, True, True, 2),
]


def _mixconv(c: int, kernels: tuple[int, ...], s: int) -> Any:
    """MixConv: the channels split into one group per kernel size, each group a depthwise
    conv of its own kernel, the outputs concatenated (one plain depthwise conv for one
    kernel)."""
    import torch

    nn = _nn()
    if len(kernels) == 1:
        return nn.Conv2d(c, c, kernels[0], s, kernels[0] // 2, groups=c, bias=False)

    class MixConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            n = len(kernels)
            self.splits = [c // n + (1 if i < c % n else 0) for i in range(n)]
            self.convs = nn.ModuleList(
                nn.Conv2d(g, g, k, s, k // 2, groups=g, bias=False)
                for g, k in zip(self.splits, kernels, strict=True)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            parts = torch.split(x, self.splits, 1)
            return torch.cat([conv(p) for conv, p in zip(self.convs, parts, strict=True)], 1)

    return MixConv()


def _mix_block(
    cin: int, cout: int, kernels: tuple[int, ...], s: int, e: int, swish: bool, se: bool
) -> Any:
    """MixNet's inverted residual: a 1x1 expansion, a MixConv, an SE gate (hidden width a
    quarter of the input's), a 1x1 projection; ReLU or SiLU."""
    import torch

    nn = _nn()
    act = nn.SiLU if swish else nn.ReLU
    mid = cin * e

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            parts: list[Any] = [_cbr(cin, mid, 1, act=act)] if e != 1 else []
            parts += [_mixconv(mid, kernels, s), nn.BatchNorm2d(mid), act()]
            if se:
                parts.append(_SE.build(mid, 4 * e, nn.Sigmoid))
            parts.append(_cbr(mid, cout, 1))
            self.f = nn.Sequential(*parts)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    return Block()


def mixnet(rows: list[MixRow], width: float) -> Any:
    """MixNet-like: a stride-2 stem of 16 channels, MixNet blocks over ``rows`` (channels
    scaled by ``width``), a 1x1 head conv of 1536 and a classifier."""
    nn = _nn()
    c = 16
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.ReLU)]
    for e, ch, kernels, s, swish, se, n in rows:
        cout = max(8, int(ch * width))
        for i in range(n):
            layers.append(_mix_block(c, cout, kernels, s if i == 0 else 1, e, swish, se))
            c = cout
    layers += [_cbr(c, 1536, 1, act=nn.ReLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1536, 1000))
    return nn.Sequential(*layers)


def _res2_block(cin: int, width: int, scale: int, cout: int, s: int) -> Any:
    """Res2Net's bottleneck: a 1x1 conv to ``scale`` groups of ``width`` channels, 3x3
    convs in a hierarchy (each on its group plus the previous group's output; the first
    block of a stage runs them side by side and average-pools the last group), a 1x1 conv;
    a ResNet-D shortcut (average pool, then 1x1 conv) where the shape changes."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = s != 1 or cin != cout
            self.reduce = _cbr(cin, width * scale, 1, act=nn.ReLU)
            self.convs = nn.ModuleList(
                _cbr(width, width, 3, s, act=nn.ReLU) for _ in range(scale - 1)
            )
            self.pool = nn.AvgPool2d(3, s, 1) if self.first else nn.Identity()
            self.expand = _cbr(width * scale, cout, 1)
            down = nn.AvgPool2d(s, s) if s != 1 else nn.Identity()
            self.short = nn.Sequential(down, _cbr(cin, cout, 1)) if self.first else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xs = torch.split(self.reduce(x), width, 1)
            ys: list[torch.Tensor] = []
            for i, conv in enumerate(self.convs):
                ys.append(conv(xs[i] if (i == 0 or self.first) else xs[i] + ys[-1]))
            ys.append(self.pool(xs[-1]))
            return torch.relu(self.expand(torch.cat(ys, 1)) + self.short(x))

    return Block()


def res2net(depths: tuple[int, ...], planes: int, width: int, scale: int) -> Any:
    """Res2Net-like (ResNet-D stem of three 3x3 convs): stage ``i`` has Res2Net
    bottlenecks of ``scale`` groups of ``width * 2**i`` channels and an output of
    ``4 * planes * 2**i``; Res2Net-50 26w4s is ``((3, 4, 6, 3), 64, 26, 4)``."""
    nn = _nn()
    half = planes // 2
    layers: list[Any] = [_cbr(3, half, 3, 2, act=nn.ReLU), _cbr(half, half, 3, act=nn.ReLU)]
    layers += [_cbr(half, planes, 3, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = planes
    for i, n in enumerate(depths):
        cout = 4 * planes * 2**i
        for j in range(n):
            s = 2 if (j == 0 and i > 0) else 1
            layers.append(_res2_block(cin, width * 2**i, scale, cout, s))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def _dpn_block(cin: int, mid: int, res: int, inc: int, groups: int, s: int, proj: bool) -> Any:
    """A dual-path block: a grouped bottleneck whose output's first ``res`` channels are
    added to the residual path and whose last ``inc`` are concatenated to the dense path
    (the first block of a stage projects the input into both paths, 2 * ``inc`` dense)."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                _cbr(cin, mid, 1, act=nn.ReLU),
                _cbr(mid, mid, 3, s, g=groups, act=nn.ReLU),
                _cbr(mid, res + inc, 1),
            )
            self.proj = _cbr(cin, res + 2 * inc, 1, s) if proj else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            short, y = self.proj(x), self.f(x)
            parts = [short[:, :res] + y[:, :res], short[:, res:], y[:, res:]]
            return torch.relu(torch.cat(parts, 1))

    return Block()


def dpn(depths: tuple[int, ...], incs: tuple[int, ...], mid: int, res: int, stem: int) -> Any:
    """DPN-like (Chen et al.): a 3x3 stem, stages of dual-path blocks (32-group 3x3 convs
    of ``mid * 2**i`` channels, a residual path of ``res * 2**i``, a dense path growing by
    ``incs[i]`` per block); DPN-68 is ``((3, 4, 12, 3), (16, 32, 32, 64), 128, 64, 10)``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, stem, 3, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = stem
    for i, (n, inc) in enumerate(zip(depths, incs, strict=True)):
        m, r = mid * 2**i, res * 2**i
        for j in range(n):
            s = 2 if (j == 0 and i > 0) else 1
            layers.append(_dpn_block(cin, m, r, inc, 32, s, j == 0))
            cin = r + (j + 3) * inc
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def _aspp(c: int, a: int, rates: tuple[int, ...], size: tuple[int, int]) -> Any:
    """DeepLabV3's ASPP: a 1x1 conv, dilated 3x3 convs at ``rates`` and an image-pooling
    branch (global pool, 1x1 conv, bilinear upsampling back to ``size``), concatenated and
    fused by a 1x1 conv; all ``a`` channels, BN and ReLU."""
    import torch

    nn = _nn()

    def dilated(r: int) -> Any:
        conv = nn.Conv2d(c, a, 3, 1, r, dilation=r, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(a), nn.ReLU())

    class ASPP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branches = nn.ModuleList([_cbr(c, a, 1, act=nn.ReLU)])
            self.branches.extend(dilated(r) for r in rates)
            self.pool = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                _cbr(c, a, 1, act=nn.ReLU),
                nn.Upsample(size=size, mode="bilinear", align_corners=False),
            )
            self.fuse = _cbr(a * (len(rates) + 2), a, 1, act=nn.ReLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fuse(torch.cat([b(x) for b in self.branches] + [self.pool(x)], 1))

    return ASPP()


def deeplab_v3(width: int, aspp: int, classes: int, h: int, w: int) -> Any:
    """DeepLabV3-like segmentation of an ``h`` x ``w`` image: the first zoo's
    ResNet-18-like backbone cut at stride 16, an ASPP head (rates 6, 12, 18), a 3x3 conv,
    per-class logits and a bilinear x16 upsampling to the input size."""
    nn = _nn()
    body = resnet((2, 2, 2, 2), width, False)
    return nn.Sequential(
        *body[:8],
        _aspp(4 * width, aspp, (6, 12, 18), (h // 16, w // 16)),
        _cbr(aspp, aspp, 3, act=nn.ReLU),
        nn.Conv2d(aspp, classes, 1),
        nn.Upsample(scale_factor=16, mode="bilinear", align_corners=False),
    )


def pose_net(width: int, head: int, joints: int) -> Any:
    """A SimpleBaseline-like pose estimator without deconvolutions: the first zoo's
    ResNet-18-like backbone to stride 32, three bilinear x2 upsamplings each followed by a
    3x3 conv-BN-ReLU of ``head`` channels, a 1x1 conv to ``joints`` heatmaps (stride 4)."""
    nn = _nn()
    layers: list[Any] = list(resnet((2, 2, 2, 2), width, False)[:10])
    c = 8 * width
    for _ in range(3):
        layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
        layers.append(_cbr(c, head, 3, act=nn.ReLU))
        c = head
    layers.append(nn.Conv2d(head, joints, 1))
    return nn.Sequential(*layers)


def csp_darknet_tiny(width: int, outputs: int) -> Any:
    """YOLOv4-tiny's CSPDarknet: two strided 3x3 convs, three CSP blocks (a 3x3 conv, its
    second channel half through two 3x3 convs whose outputs are concatenated and fused by a
    1x1 conv, concatenated with the block's first conv, a 2x2 max pool), a 3x3 conv and a
    1x1 detection conv of ``outputs`` channels; LeakyReLU(0.1) throughout."""
    import torch

    nn = _nn()
    leaky = partial(nn.LeakyReLU, 0.1)

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.c1 = _cbr(c, c, 3, act=leaky)
            self.c2 = _cbr(c // 2, c // 2, 3, act=leaky)
            self.c3 = _cbr(c // 2, c // 2, 3, act=leaky)
            self.c4 = _cbr(c, c, 1, act=leaky)
            self.pool = nn.MaxPool2d(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            route = self.c1(x)
            a = self.c2(route.chunk(2, 1)[1])
            b = self.c3(a)
            return self.pool(torch.cat([route, self.c4(torch.cat([b, a], 1))], 1))

    layers: list[Any] = [_cbr(3, width, 3, 2, act=leaky), _cbr(width, 2 * width, 3, 2, act=leaky)]
    c = 2 * width
    for _ in range(3):
        layers.append(Block(c))
        c *= 2
    layers += [_cbr(c, c, 3, act=leaky), nn.Conv2d(c, outputs, 1)]
    return nn.Sequential(*layers)


def _swin_block(d: int, heads: int, win: int, h: int, w: int) -> Any:
    """A Swin block without shifting on (1, h * w, d) tokens: layer norm, the tokens cut
    into ``win`` x ``win`` windows (reshape + permute), multi-head attention within each
    window plus a learned relative-position bias per head, windows merged back; a GELU
    MLP."""
    import torch

    nn = _nn()
    n, nw, hd = win * win, (h // win) * (w // win), d // heads

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.bias = nn.Parameter(torch.zeros(heads, n, n))
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def attend(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(x).reshape(nw, n, 3, heads, hd).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) * hd**-0.5 + self.bias, dim=-1)
            return self.proj((a @ v).transpose(1, 2).reshape(nw, n, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.n1(x).reshape(h // win, win, w // win, win, d).permute(0, 2, 1, 3, 4)
            y = self.attend(y.reshape(nw, n, d))
            y = y.reshape(h // win, w // win, win, win, d).permute(0, 2, 1, 3, 4)
            x = x + y.reshape(1, h * w, d)
            return x + self.mlp(self.n2(x))

    return Block()


def _patch_merge(d: int, h: int, w: int) -> Any:
    """Swin's patch merging: each 2x2 neighbourhood of tokens concatenated (4d), layer
    norm, a linear reduction to 2d."""
    import torch

    nn = _nn()

    class Merge(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.reduce = nn.LayerNorm(4 * d), nn.Linear(4 * d, 2 * d, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.reshape(h // 2, 2, w // 2, 2, d).permute(0, 2, 3, 1, 4)
            return self.reduce(self.norm(x.reshape(1, h * w // 4, 4 * d)))

    return Merge()


def swin(res: int, dim: int, depths: tuple[int, ...], heads: tuple[int, ...], win: int) -> Any:
    """Swin-like (no shifted windows): a 4x4 patch embedding with layer norm, stages of
    windowed-attention blocks with patch merging between them, mean-pooled tokens and a
    classifier; Swin-T is ``(224, 96, (2, 2, 6, 2), (3, 6, 12, 24), 7)``."""
    import torch

    nn = _nn()

    class Swin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.embed_norm = nn.Conv2d(3, dim, 4, 4), nn.LayerNorm(dim)
            layers: list[Any] = []
            side, d = res // 4, dim
            for i, (n, hd) in enumerate(zip(depths, heads, strict=True)):
                if i:
                    layers.append(_patch_merge(d, side, side))
                    side, d = side // 2, 2 * d
                layers += [_swin_block(d, hd, win, side, side) for _ in range(n)]
            self.blocks = nn.Sequential(*layers)
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed_norm(self.embed(x).flatten(2).transpose(1, 2))
            return self.head(self.norm(self.blocks(x)).mean(1))

    return Swin()


def t5_encoder(d: int, heads: int, ff: int, layers: int, seq: int) -> Any:
    """A T5-like encoder on (1, seq, d) embeddings: RMS norms, bias-free linears,
    unscaled attention scores plus a relative-position bias shared by every layer (an
    embedding of the clipped offset j - i, 33 buckets, per head), a ReLU feed-forward."""
    import torch

    nn = _nn()

    class RMSNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = RMSNorm(), RMSNorm()
            self.qkv, self.o = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
            self.ff = nn.Sequential(
                nn.Linear(d, ff, bias=False), nn.ReLU(), nn.Linear(ff, d, bias=False)
            )

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.n1(x)).reshape(1, seq, 3, heads, -1).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) + bias, dim=-1)
            x = x + self.o((a @ v).transpose(1, 2).reshape(1, seq, d))
            return x + self.ff(self.n2(x))

    class T5(nn.Module):
        buckets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            pos = torch.arange(seq)
            self.register_buffer("buckets", (pos[None, :] - pos[:, None]).clamp(-16, 16) + 16)
            self.rel = nn.Embedding(33, heads)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.norm = RMSNorm()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            bias = self.rel(self.buckets).permute(2, 0, 1)
            for layer in self.layers:
                x = layer(x, bias)
            return self.norm(x)

    return T5()


def _linear_bn(a: int, b: int) -> Any:
    """LeViT's Linear + BatchNorm1d over the (tokens, channels) matrix."""
    import torch

    nn = _nn()

    class LinearBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin, self.bn = nn.Linear(a, b, bias=False), nn.BatchNorm1d(b)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.lin(x)
            return self.bn(y.flatten(0, 1)).reshape(y.shape)

    return LinearBN()


def _levit_block(d: int, heads: int, kd: int, n: int) -> Any:
    """A LeViT block on (1, n, d) tokens: attention with ``kd``-wide queries and keys,
    2 * ``kd``-wide values and a learned per-head bias, hardswish before the projection;
    a Linear-BN MLP of ratio 2; every linear a Linear + BN."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = _linear_bn(d, heads * 4 * kd)
            self.proj = nn.Sequential(nn.Hardswish(), _linear_bn(heads * 2 * kd, d))
            self.bias = nn.Parameter(torch.zeros(heads, n, n))
            self.mlp = nn.Sequential(_linear_bn(d, 2 * d), nn.Hardswish(), _linear_bn(2 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            qkv = self.qkv(x).reshape(1, n, heads, 4 * kd).permute(0, 2, 1, 3)
            q, k, v = qkv.split([kd, kd, 2 * kd], dim=-1)
            a = torch.softmax(q @ k.transpose(-2, -1) * kd**-0.5 + self.bias, dim=-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(1, n, heads * 2 * kd))
            return x + self.mlp(x)

    return Block()


def _tokens_conv(cin: int, cout: int, side: int) -> Any:
    """(1, side * side, cin) tokens to a map, a 3x3 stride-2 conv-BN-hardswish, back to
    tokens."""
    import torch

    nn = _nn()

    class Down(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = _cbr(cin, cout, 3, 2, act=nn.Hardswish)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x.transpose(1, 2).reshape(1, cin, side, side))
            return y.flatten(2).transpose(1, 2)

    return Down()


def levit(res: int, dims: tuple[int, ...], heads: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """LeViT-like: a stem of four 3x3 stride-2 convs (hardswish) to 1/16 scale, stages of
    LeViT blocks (key width 16) joined by strided conv downsamples on the token map, mean
    pooling, BN and a classifier; LeViT-128S is ``(224, (128, 256, 384), (4, 6, 8),
    (2, 3, 4))``."""
    import torch

    nn = _nn()
    d0 = dims[0]

    class LeViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                _cbr(3, d0 // 8, 3, 2, act=nn.Hardswish),
                _cbr(d0 // 8, d0 // 4, 3, 2, act=nn.Hardswish),
                _cbr(d0 // 4, d0 // 2, 3, 2, act=nn.Hardswish),
                _cbr(d0 // 2, d0, 3, 2),
            )
            layers: list[Any] = []
            side = res // 16
            for i, (d, h, n) in enumerate(zip(dims, heads, depths, strict=True)):
                if i:
                    layers.append(_tokens_conv(dims[i - 1], d, side))
                    side = (side + 1) // 2
                layers += [_levit_block(d, h, 16, side * side) for _ in range(n)]
            self.blocks = nn.Sequential(*layers)
            self.norm, self.head = _bn1(dims[-1]), nn.Linear(dims[-1], 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.blocks(self.stem(x).flatten(2).transpose(1, 2))
            return self.head(self.norm(x.mean(1)))

    return LeViT()


def sincnet(filters: int, samples: int, hidden: int, classes: int) -> Any:
    """SincNet-like on a raw waveform of ``samples``: a 251-tap conv of ``filters`` (the
    sinc band-pass filters, a plain conv once trained), two 5-tap convs of 60; each conv
    followed by a 3-wide max pool, a layer norm over (channels, time) and LeakyReLU(0.2);
    then three Linear-BN-LeakyReLU layers of ``hidden`` and a speaker classifier."""
    nn = _nn()
    leaky = partial(nn.LeakyReLU, 0.2)
    layers: list[Any] = []
    c, t = 1, samples
    for cout, k in ((filters, 251), (60, 5), (60, 5)):
        t = (t - k + 1) // 3
        layers += [nn.Conv1d(c, cout, k), nn.MaxPool1d(3), nn.LayerNorm([cout, t]), leaky()]
        c = cout
    layers.append(nn.Flatten())
    width = c * t
    for _ in range(3):
        layers += [nn.Linear(width, hidden), _bn1(hidden), leaky()]
        width = hidden
    layers.append(nn.Linear(hidden, classes))
    return nn.Sequential(*layers)


def pointnet(classes: int) -> Any:
    """PointNet classification on (1, 3, points): an input T-Net (shared 1-D convs, max
    pool over points, an MLP to a 3x3 transform added to the identity) applied by batched
    matmul, shared 1-D convs 64-64-64-128-1024 (BN, ReLU), a max pool over points and an
    MLP 512-256 to ``classes``."""
    import torch

    nn = _nn()

    def layers(chans: tuple[int, ...], conv: bool) -> list[Any]:
        out: list[Any] = []
        for a, b in zip(chans[:-1], chans[1:], strict=True):
            out += [nn.Conv1d(a, b, 1) if conv else nn.Linear(a, b), _bn1(b), nn.ReLU()]
        return out

    class TNet(nn.Module):
        eye: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(*layers((3, 64, 128, 1024), True))
            self.g = nn.Sequential(*layers((1024, 512, 256), False), nn.Linear(256, 9))
            self.register_buffer("eye", torch.eye(3).flatten())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.g(self.f(x).amax(2)) + self.eye).reshape(1, 3, 3)

    class PointNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.t = TNet()
            self.f = nn.Sequential(*layers((3, 64, 64, 64, 128, 1024), True))
            self.head = nn.Sequential(*layers((1024, 512, 256), False), nn.Linear(256, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.bmm(self.t(x).transpose(1, 2), x)
            return self.head(self.f(x).amax(2))

    return PointNet()


def tabular_mlp(features: int, hidden: tuple[int, ...], classes: int) -> Any:
    """A tabular MLP: Linear-BN-ReLU layers of ``hidden`` widths and a linear output."""
    nn = _nn()
    layers: list[Any] = []
    c = features
    for h in hidden:
        layers += [nn.Linear(c, h), _bn1(h), nn.ReLU()]
        c = h
    layers.append(nn.Linear(c, classes))
    return nn.Sequential(*layers)


def siamese(width: int, embed: int) -> Any:
    """A siamese verification net (Koch et al., Omniglot) on a (1, 2, 105, 105) pair of
    grayscale images: one shared CNN (10x10, 7x7, 4x4, 4x4 convs with ReLU and max pools,
    a sigmoid embedding of ``embed``) on each image, the L1 distance of the embeddings, a
    linear score and a sigmoid."""
    import torch

    nn = _nn()
    w = width

    class Siamese(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                *(nn.Conv2d(1, w, 10), nn.ReLU(), nn.MaxPool2d(2)),
                *(nn.Conv2d(w, 2 * w, 7), nn.ReLU(), nn.MaxPool2d(2)),
                *(nn.Conv2d(2 * w, 2 * w, 4), nn.ReLU(), nn.MaxPool2d(2)),
                *(nn.Conv2d(2 * w, 4 * w, 4), nn.ReLU(), nn.Flatten()),
                *(nn.Linear(4 * w * 36, embed), nn.Sigmoid()),
            )
            self.out = nn.Linear(embed, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x.chunk(2, 1)
            return torch.sigmoid(self.out(torch.abs(self.f(a) - self.f(b))))

    return Siamese()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    return [
        ("mixnet", "mixnet_s_160", lambda: mixnet(_MIXNET_S, 1.0), _image(160)),
        (
            "res2net",
            "res2net26_p32_w14s4_160",
            lambda: res2net((2, 2, 2, 2), 32, 14, 4),
            _image(160),
        ),
        (
            "dpn",
            "dpn68_112",
            lambda: dpn((3, 4, 12, 3), (16, 32, 32, 64), 128, 64, 10),
            _image(112),
        ),
        (
            "deeplabv3",
            "deeplabv3_r18w32_256x320",
            lambda: deeplab_v3(32, 128, 21, 256, 320),
            _image(256, 320),
        ),
        ("pose", "pose_r18w32_256x192", lambda: pose_net(32, 64, 17), _image(256, 192)),
        (
            "cspdarknet",
            "cspdarknet_tiny_w16_224x288",
            lambda: csp_darknet_tiny(16, 255),
            _image(224, 288),
        ),
        (
            "swin",
            "swin_d48_224",
            lambda: swin(224, 48, (2, 2, 4, 2), (2, 4, 8, 16), 7),
            _image(224),
        ),
        ("t5", "t5_d256_s128", lambda: t5_encoder(256, 4, 1024, 4, 128), (1, 128, 256)),
        (
            "levit",
            "levit_128s_224",
            lambda: levit(224, (128, 256, 384), (4, 6, 8), (2, 3, 4)),
            _image(224),
        ),
        ("sincnet", "sincnet_f80_3200", lambda: sincnet(80, 3200, 2048, 462), (1, 1, 3200)),
        ("pointnet", "pointnet_cls_1024", lambda: pointnet(40), (1, 3, 1024)),
        (
            "tabular",
            "tabular_mlp_256_w2048",
            lambda: tabular_mlp(256, (2048, 1024, 1024, 512), 2),
            (1, 256),
        ),
        ("siamese", "siamese_koch_w16_105", lambda: siamese(16, 512), (1, 2, 105, 105)),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet18_w24_120x160",
            lambda: resnet((2, 2, 2, 2), 24, False),
            _image(120, 160),
        ),
        (
            "mobilenetv2",
            "mbv2_x1.3_160x224",
            lambda: mobilenet(_MBV2, 1.3, False),
            _image(160, 224),
        ),
        ("mobilenetv3", "mbv3_x0.5_96x128", lambda: mobilenet(_MBV3, 0.5, True), _image(96, 128)),
        ("efficientnet", "effnet_b3_96x128", lambda: efficientnet(1.2, 1.4), _image(96, 128)),
        (
            "shufflenetv2",
            "shufflev2_x2.0_128x96",
            lambda: shufflenet((244, 488, 976)),
            _image(128, 96),
        ),
        (
            "convnext",
            "convnext_a_64x96",
            lambda: convnext((24, 48, 96, 192), (1, 1, 2, 1)),
            _image(64, 96),
        ),
        ("vit", "vit_d96_p4_32", lambda: vit(32, 4, 96, 3, 4), _image(32)),
        ("text", "bert_d320_s48", lambda: text_encoder(320, 5, 3), (1, 48, 320)),
        ("gpt", "gpt_d384_s64", lambda: gpt(384, 6, 3, 64, 8000), (1, 64, 384)),
        ("squeezenet", "squeezenet_x0.75_128x192", lambda: squeezenet(0.75), _image(128, 192)),
        ("audio", "dscnn_w32_98x40", lambda: ds_cnn(32), (1, 1, 98, 40)),
        ("conformer", "conformer_d96_t400", lambda: conformer(96, 4, 3, 15), (1, 400, 96)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the fourth zoo."""
    return _new_families() + _known_families()
