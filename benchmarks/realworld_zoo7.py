"""A seventh held-out zoo of real-world architectures (plain torch), written after the
sixth zoo (benchmarks/realworld_zoo6.py) had been scored, before any prediction of it.

Like the second to sixth, it is committed and then scored once with the kernel predictor
frozen; nothing in the library is fitted, tuned or chosen on it. About half of it is
families none of the six earlier zoos has (HarDNet-39DS's harmonic dense blocks, BiSeNet's
spatial and context paths with attention refinement and feature fusion, a U^2-Net-like
salient-object net of nested residual U-blocks, CoAtNet's MBConv stages then relative-
attention transformer stages, PVTv2's spatial-reduction attention, NeRF's MLP on a batch
of encoded rays, a GCN with a dense normalised adjacency, an R(2+1)D video net of
factorised 3-D convs, the DnCNN denoiser, CenterNet's upsampling detector, FastDepth's
MobileNet encoder and NNConv5 decoder, gMLP's spatial gating unit and a DLRM recommender
of embedding gathers, MLPs and pairwise dot products); the other half is the earlier
zoos' families at widths, depths, sequence lengths and input shapes none of them has
(several non-square, some tiny, some large). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

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
    shufflenet,
    text_encoder,
    vit,
)
from realworld_zoo2 import ghostnet, regnet, unet
from realworld_zoo3 import _image, gpt
from realworld_zoo6 import wavenet


def _up_like(x: Any, ref: Any, mode: str = "bilinear") -> Any:
    """``x`` resized to ``ref``'s height and width (fixed at export), unless they match."""
    size = (int(ref.shape[2]), int(ref.shape[3]))
    if (int(x.shape[2]), int(x.shape[3])) == size:
        return x
    f = _nn().functional
    return f.interpolate(x, size, mode=mode, align_corners=False if mode == "bilinear" else None)


def _hard_links(layers: int, base: int, growth: int, grmul: float) -> list[tuple[int, int]]:
    """HarDNet's harmonic links: layer k (1-based) takes layers k - 2^i for every 2^i
    dividing k (layer 0 being the block's input) and has ``growth`` times ``grmul`` per
    link beyond the first channels, rounded to even; (out, in) channels per layer."""
    outs, rows = [base], []
    for k in range(1, layers + 1):
        links = [k - 2**i for i in range(10) if k % 2**i == 0]
        out = int(int(growth * grmul ** (len(links) - 1) + 1) / 2) * 2
        rows.append((out, sum(outs[j] for j in links)))
        outs.append(out)
    return rows


def _hard_block(cin: int, layers: int, growth: int, grmul: float) -> tuple[Any, int]:
    """A HarDNet-DS harmonic dense block (each layer a 1x1 conv-BN-ReLU6 and a 3x3
    depthwise conv-BN on the concatenation of its linked layers; the odd layers and the
    last concatenated as the output) and its output channels."""
    import torch

    nn = _nn()
    rows = _hard_links(layers, cin, growth, grmul)
    links = [[k - 2**i for i in range(10) if k % 2**i == 0] for k in range(1, layers + 1)]
    keep = [k for k in range(1, layers + 1) if k % 2 == 1 or k == layers]

    class HarDBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(
                nn.Sequential(_cbr(a, b, 1, act=nn.ReLU6), _cbr(b, b, 3, g=b)) for b, a in rows
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            outs = [x]
            for layer, link in zip(self.layers, links, strict=True):
                ins = [outs[j] for j in link]
                outs.append(layer(torch.cat(ins, 1) if len(ins) > 1 else ins[0]))
            return torch.cat([outs[k] for k in keep], 1)

    return HarDBlock(), sum(rows[k - 1][0] for k in keep)


def hardnet_ds(
    chans: tuple[int, ...], growths: tuple[int, ...], layers: tuple[int, ...], grmul: float
) -> Any:
    """HarDNet-DS (depthwise-separable): a 3x3 stride-2 conv to 24 and a 1x1 conv to 48
    (BN, ReLU6), a stride-2 depthwise conv, then per stage a harmonic dense block, a 1x1
    conv-BN-ReLU6 to ``chans`` and, but for the last, a stride-2 depthwise conv-BN;
    pooling and a classifier. HarDNet-39DS is ``((96, 320, 640, 1024), (16, 20, 64, 160),
    (4, 16, 8, 4), 1.6)``."""
    nn = _nn()
    seq: list[Any] = [_cbr(3, 24, 3, 2, act=nn.ReLU6), _cbr(24, 48, 1, act=nn.ReLU6)]
    seq.append(_cbr(48, 48, 3, 2, g=48))
    c = 48
    for i, (ch, gr, n) in enumerate(zip(chans, growths, layers, strict=True)):
        block, out = _hard_block(c, n, gr, grmul)
        seq += [block, _cbr(out, ch, 1, act=nn.ReLU6)]
        if i < len(chans) - 1:
            seq.append(_cbr(ch, ch, 3, 2, g=ch))
        c = ch
    seq += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*seq)


def _arm(cin: int, cout: int) -> Any:
    """BiSeNet's attention refinement module: a 3x3 conv-BN-ReLU, then the map times a
    channel attention (global pooling, a 1x1 conv, BN, sigmoid)."""
    import torch

    nn = _nn()

    class ARM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = _cbr(cin, cout, 3, act=nn.ReLU)
            self.att = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cout, cout, 1, bias=False)),
                *(nn.BatchNorm2d(cout), nn.Sigmoid()),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return y * self.att(y)

    return ARM()


def _ffm(cin: int, cout: int) -> Any:
    """BiSeNet's feature fusion module: the two paths concatenated through a 1x1
    conv-BN-ReLU, plus itself times a squeeze-excitation-like channel attention."""
    import torch

    nn = _nn()

    class FFM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = _cbr(cin, cout, 1, act=nn.ReLU)
            self.att = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cout, cout // 4, 1), nn.ReLU()),
                *(nn.Conv2d(cout // 4, cout, 1), nn.Sigmoid()),
            )

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            y = self.conv(torch.cat([a, b], 1))
            return y + y * self.att(y)

    return FFM()


def bisenet(width: int, classes: int, h: int, w: int) -> Any:
    """BiSeNet (V1) on an ``h`` x ``w`` image: a spatial path of three stride-2 convs (7x7
    then 3x3, ``width``) and a 1x1 conv to 2 * ``width`` at 1/8; a context path of the
    first zoo's ResNet-18 (``width``) whose 1/32 map is refined (ARM) plus its global
    context, upsampled (nearest) and convolved, added to the refined 1/16 map, upsampled
    and convolved; the paths fused (FFM), a 3x3 conv-BN-ReLU and a 1x1 classifier,
    bilinearly upsampled x8. The original is (64, 19, ...) on 1024x2048 crops."""
    import torch

    nn = _nn()
    f = nn.functional
    ctx, c16, c32 = 2 * width, 4 * width, 8 * width

    class BiSeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            r = resnet((2, 2, 2, 2), width, False)
            self.to16, self.to32 = r[:8], r[8:10]
            self.spatial = nn.Sequential(
                *(_cbr(3, width, 7, 2, act=nn.ReLU), _cbr(width, width, 3, 2, act=nn.ReLU)),
                *(_cbr(width, width, 3, 2, act=nn.ReLU), _cbr(width, ctx, 1, act=nn.ReLU)),
            )
            self.arm16, self.arm32 = _arm(c16, ctx), _arm(c32, ctx)
            self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), _cbr(c32, ctx, 1, act=nn.ReLU))
            self.head32, self.head16 = (
                _cbr(ctx, ctx, 3, act=nn.ReLU),
                _cbr(ctx, ctx, 3, act=nn.ReLU),
            )
            self.ffm = _ffm(2 * ctx, 2 * ctx)
            self.out = nn.Sequential(
                _cbr(2 * ctx, 2 * ctx, 3, act=nn.ReLU), nn.Conv2d(2 * ctx, classes, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f16 = self.to16(x)
            f32 = self.to32(f16)
            y = self.arm32(f32) + self.gap(f32)
            y = self.head32(f.interpolate(y, scale_factor=2.0, mode="nearest"))
            y = self.arm16(f16) + y
            y = self.head16(f.interpolate(y, scale_factor=2.0, mode="nearest"))
            y = self.out(self.ffm(self.spatial(x), y))
            return f.interpolate(y, (h, w), mode="bilinear", align_corners=False)

    return BiSeNet()


def _rebn(cin: int, cout: int, d: int) -> Any:
    """U^2-Net's REBNCONV: a 3x3 conv of dilation ``d`` (padding ``d``), BN, ReLU."""
    nn = _nn()
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, d, dilation=d), nn.BatchNorm2d(cout), nn.ReLU())


def _rsu(depth: int, cin: int, mid: int, cout: int, dilated: bool) -> Any:
    """U^2-Net's residual U-block RSU-``depth``: a conv to ``cout`` (the residual), an
    encoder of ``depth`` - 1 convs to ``mid`` with 2x2 ceil-mode max pools between them
    and a dilation-2 conv at the bottom, a decoder of convs on the concatenated skip and
    the bilinearly upsampled deeper map, the result added to the residual; RSU-4F
    (``dilated``) pools nothing and dilates 1, 2, 4, 8 instead."""
    import torch

    nn = _nn()
    dils = [2**i for i in range(depth)] if dilated else [1] * (depth - 1) + [2]

    class RSU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = _rebn(cin, cout, 1)
            self.enc = nn.ModuleList(
                _rebn(cout if i == 0 else mid, mid, dils[i]) for i in range(depth)
            )
            self.dec = nn.ModuleList(
                _rebn(2 * mid, cout if i == 0 else mid, dils[i]) for i in range(depth - 1)
            )
            self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            res = y = self.first(x)
            skips = []
            for i, enc in enumerate(self.enc):
                y = enc(self.pool(y) if 0 < i < depth - 1 and not dilated else y)
                skips.append(y)
            for i in reversed(range(depth - 1)):
                y = self.dec[i](torch.cat([y, skips[i]], 1))
                y = _up_like(y, skips[i - 1]) if i and not dilated else y
            return y + res

    return RSU()


def u2net(mid: int, out: int) -> Any:
    """U^2-Net-like salient object detection (U2NETP's shape): encoder stages RSU-7, 6, 5,
    4, 4F, 4F (``mid`` inside, ``out`` between; 2x2 ceil-mode max pools between stages), a
    decoder of RSU-4F, 4, 5, 6, 7 on the upsampled deeper output concatenated with the
    encoder's, a 3x3 side conv to one channel per decoder stage and the bottom, upsampled
    to the input, fused by a 1x1 conv and a sigmoid. U2NETP is ``(16, 64)``."""
    import torch

    nn = _nn()
    depths = (7, 6, 5, 4, 4, 4)

    class U2Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.ModuleList(
                _rsu(d, 3 if i == 0 else out, mid, out, i >= 4) for i, d in enumerate(depths)
            )
            self.dec = nn.ModuleList(
                _rsu(d, 2 * out, mid, out, d == 4 and i == 0) for i, d in enumerate(depths[4::-1])
            )
            self.sides = nn.ModuleList(nn.Conv2d(out, 1, 3, 1, 1) for _ in depths)
            self.pool, self.fuse = nn.MaxPool2d(2, 2, ceil_mode=True), nn.Conv2d(len(depths), 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for i, stage in enumerate(self.enc):
                x = stage(x if i == 0 else self.pool(x))
                skips.append(x)
            outs = [x]
            for stage, skip in zip(self.dec, reversed(skips[:-1]), strict=True):
                x = stage(torch.cat([_up_like(x, skip), skip], 1))
                outs.append(x)
            maps = [
                _up_like(side(o), x) for side, o in zip(self.sides, reversed(outs), strict=True)
            ]
            return torch.sigmoid(self.fuse(torch.cat(maps, 1)))

    return U2Net()


def _coat_mbconv(cin: int, cout: int, s: int) -> Any:
    """CoAtNet's MBConv: pre-norm BN, a 1x1 expansion by 4 (BN, GELU), a 3x3 depthwise
    conv (stride ``s``; BN, GELU), squeeze-excitation to a quarter of the input width
    (GELU, sigmoid) and a 1x1 projection, added to the input, or where the shape changes
    to a 2x2 max-pooled 1x1 projection of it."""
    import torch

    nn = _nn()
    mid = 4 * cin

    class MBConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.BatchNorm2d(cin),
                _cbr(cin, mid, 1, act=nn.GELU),
                _cbr(mid, mid, 3, s, g=mid, act=nn.GELU),
            )
            self.se = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, cin // 4, 1), nn.GELU()),
                *(nn.Conv2d(cin // 4, mid, 1), nn.Sigmoid()),
            )
            self.proj = nn.Conv2d(mid, cout, 1)
            pool: list[Any] = [nn.MaxPool2d(2)] if s > 1 else []
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else nn.Sequential(*pool, nn.Conv2d(cin, cout, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return self.short(x) + self.proj(y * self.se(y))

    return MBConv()


def _rel_attention(din: int, d: int, h: int, w: int) -> Any:
    """Multi-head self-attention (32-wide heads, ``din`` in, ``d`` out) on the tokens of an
    ``h`` x ``w`` map with a learned relative position bias: a ((2h-1)(2w-1), heads)
    table indexed by every token pair's offset."""
    import torch

    nn = _nn()
    heads, n = d // 32, h * w
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    rel = (ys[:, None] - ys[None, :] + h - 1) * (2 * w - 1) + xs[:, None] - xs[None, :] + w - 1

    class RelAttention(nn.Module):
        index: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.proj = nn.Linear(din, 3 * d), nn.Linear(d, d)
            self.table = nn.Parameter(torch.randn((2 * h - 1) * (2 * w - 1), heads) * 0.02)
            self.register_buffer("index", rel.flatten())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(x).reshape(1, n, 3, heads, -1).permute(2, 0, 3, 1, 4)
            bias = self.table[self.index].reshape(n, n, heads).permute(2, 0, 1)
            a = torch.softmax(q @ k.transpose(-2, -1) * 32**-0.5 + bias, dim=-1)
            return self.proj((a @ v).transpose(1, 2).reshape(1, n, d))

    return RelAttention()


def _coat_block(cin: int, cout: int, s: int, h: int, w: int) -> Any:
    """CoAtNet's transformer block on an image (output ``h`` x ``w``): relative attention
    on the layer-normed (and, when ``s`` is 2, 2x2 max-pooled) tokens added to the input
    (pooled and 1x1-projected where the shape changes), then a pre-norm GELU MLP of 4x."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(cin), nn.LayerNorm(cout)
            self.pool = nn.MaxPool2d(2) if s > 1 else nn.Identity()
            self.short = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
            self.attn = _rel_attention(cin, cout, h, w)
            self.mlp = nn.Sequential(
                nn.Linear(cout, 4 * cout), nn.GELU(), nn.Linear(4 * cout, cout)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.pool(self.n1(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
            t = self.short(self.pool(x)).flatten(2).transpose(1, 2)
            t = t + self.attn(y.flatten(2).transpose(1, 2))
            t = t + self.mlp(self.n2(t))
            return t.transpose(1, 2).reshape(1, cout, h, w)

    return Block()


def coatnet(dims: tuple[int, ...], depths: tuple[int, ...], h: int, w: int) -> Any:
    """CoAtNet (C-C-T-T) on an ``h`` x ``w`` image: a stem of two 3x3 convs (the first
    stride 2; BN, GELU), two stages of MBConvs and two of relative-attention transformer
    blocks (each stage's first block stride 2), pooling, a layer norm and a classifier.
    CoAtNet-0 is ``((64, 96, 192, 384, 768), (2, 2, 3, 5, 2))``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, dims[0], 3, 2, act=nn.GELU), nn.Conv2d(dims[0], dims[0], 3, 1, 1)]
    c = dims[0]
    for i in range(1, len(dims)):
        hi, wi = h // 2 ** (i + 1), w // 2 ** (i + 1)
        for j in range(depths[i]):
            s = 2 if j == 0 else 1
            layers.append(
                _coat_mbconv(c, dims[i], s) if i < 3 else _coat_block(c, dims[i], s, hi, wi)
            )
            c = dims[i]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(c), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def _sr_attention(d: int, heads: int, sr: int, h: int, w: int) -> Any:
    """PVT's spatial-reduction attention on the (1, h*w, d) tokens of an ``h`` x ``w``
    map: queries from every token, keys and values from the map reduced by an ``sr`` x
    ``sr`` stride-``sr`` conv and a layer norm (all tokens when ``sr`` is 1)."""
    import torch

    nn = _nn()
    n = h * w

    class SRAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.kv, self.proj = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.sr = nn.Conv2d(d, d, sr, sr) if sr > 1 else None
            self.norm = nn.LayerNorm(d) if sr > 1 else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = self.q(x).reshape(1, n, heads, -1).transpose(1, 2)
            if self.sr is not None and self.norm is not None:
                x = self.sr(x.transpose(1, 2).reshape(1, d, h, w)).flatten(2).transpose(1, 2)
                x = self.norm(x)
            k, v = self.kv(x).reshape(1, -1, 2, heads, d // heads).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) * (d // heads) ** -0.5, dim=-1)
            return self.proj((a @ v).transpose(1, 2).reshape(1, n, d))

    return SRAttention()


def _pvt_stage(
    cin: int, d: int, cfg: tuple[int, int, int, int], h: int, w: int, first: bool
) -> Any:
    """One PVTv2 stage on an image, out at ``h`` x ``w``: an overlapping patch embedding (a
    7x7 stride-4 conv when ``first``, else 3x3 stride 2; a layer norm), ``depth`` blocks of
    spatial-reduction attention and an MLP (``ratio`` x; fc, 3x3 depthwise conv, GELU,
    fc), pre-norm and residual, and a layer norm; ``cfg`` is (depth, heads, ratio, sr)."""
    import torch

    nn = _nn()
    depth, heads, ratio, sr = cfg
    hid = ratio * d

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = _sr_attention(d, heads, sr, h, w)
            self.fc1, self.fc2 = nn.Linear(d, hid), nn.Linear(hid, d)
            self.dw = nn.Conv2d(hid, hid, 3, 1, 1, groups=hid)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.n1(x))
            y = self.dw(self.fc1(self.n2(x)).transpose(1, 2).reshape(1, hid, h, w))
            return x + self.fc2(torch.nn.functional.gelu(y.flatten(2).transpose(1, 2)))

    class Stage(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(cin, d, 7 if first else 3, 4 if first else 2, 3 if first else 1)
            self.n0, self.norm = nn.LayerNorm(d), nn.LayerNorm(d)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.n0(self.embed(x).flatten(2).transpose(1, 2))
            return self.norm(self.blocks(t)).transpose(1, 2).reshape(1, d, h, w)

    return Stage()


def pvt_v2(
    dims: tuple[int, ...], cfgs: tuple[tuple[int, int, int, int], ...], h: int, w: int
) -> Any:
    """PVTv2 on an ``h`` x ``w`` image: four stages (strides 4, 8, 16, 32) of ``dims``,
    each ``cfgs`` row (depth, heads, MLP ratio, spatial reduction), then pooling and a
    classifier. PVTv2-b0 is ``((32, 64, 160, 256), ((2, 1, 8, 8), (2, 2, 8, 4), (2, 5, 4,
    2), (2, 8, 4, 1)))``."""
    nn = _nn()
    layers: list[Any] = []
    c = 3
    for i, (d, cfg) in enumerate(zip(dims, cfgs, strict=True)):
        layers.append(_pvt_stage(c, d, cfg, h // 2 ** (i + 2), w // 2 ** (i + 2), i == 0))
        c = d
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*layers)


def nerf(width: int, depth: int, skip: int, pos: int, views: int) -> Any:
    """NeRF's MLP on (1, rays, ``pos`` + ``views``) encoded samples: ``depth`` ReLU linear
    layers of ``width`` on the encoded positions (concatenated again to the output of
    layer ``skip``, counted from 0), a density head, and a feature layer that with the
    encoded view direction goes through a ReLU layer of half width to RGB; (1, rays, 4)
    raw outputs. The original is ``(256, 8, 4, 63, 27)``."""
    import torch

    nn = _nn()

    class NeRF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ins = [pos] + [width + (pos if i == skip else 0) for i in range(depth - 1)]
            self.pts = nn.ModuleList(nn.Linear(a, width) for a in ins)
            self.alpha, self.feature = nn.Linear(width, 1), nn.Linear(width, width)
            self.views = nn.Sequential(nn.Linear(width + views, width // 2), nn.ReLU())
            self.rgb = nn.Linear(width // 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p, d = x[..., :pos], x[..., pos:]
            y = p
            for i, layer in enumerate(self.pts):
                y = torch.relu(layer(y))
                y = torch.cat([p, y], -1) if i == skip else y
            rgb = self.rgb(self.views(torch.cat([self.feature(y), d], -1)))
            return torch.cat([rgb, self.alpha(y)], -1)

    return NeRF()


def gcn(nodes: int, features: int, hidden: int, classes: int, degree: int) -> Any:
    """A two-layer GCN (Kipf and Welling) on (1, ``nodes``, ``features``) node features
    over a fixed random graph of about ``degree`` neighbours a node: its symmetrically
    normalised adjacency with self-loops, D^-1/2 (A + I) D^-1/2, held dense; each layer
    the features times a weight, the adjacency times that, plus a bias (ReLU between);
    a log softmax over ``classes`` per node. Kipf and Welling's Cora model is ``(2708,
    1433, 16, 7, 4)``."""
    import torch

    nn = _nn()
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(nodes, nodes, generator=g) < degree / 2 / nodes).float()
    a = ((a + a.T + torch.eye(nodes)) > 0).float()
    norm = a.sum(1).rsqrt()

    class GCN(nn.Module):
        adj: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("adj", norm[:, None] * a * norm[None, :])
            self.w1, self.w2 = nn.Linear(features, hidden, False), nn.Linear(hidden, classes, False)
            self.b1, self.b2 = nn.Parameter(torch.zeros(hidden)), nn.Parameter(torch.zeros(classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.adj @ self.w1(x) + self.b1)
            return torch.log_softmax(self.adj @ self.w2(y) + self.b2, dim=-1)

    return GCN()


def _conv21d(cin: int, cout: int, s: int) -> list[Any]:
    """R(2+1)D's factorised 3x3x3 conv: a 1x3x3 spatial conv (stride ``s``) to the width
    that keeps the parameters of the full conv, BN, ReLU, and a 3x1x1 temporal conv
    (stride ``s``) to ``cout``."""
    nn = _nn()
    mid = 27 * cin * cout // (9 * cin + 3 * cout)
    return [
        nn.Conv3d(cin, mid, (1, 3, 3), (1, s, s), (0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(),
        nn.Conv3d(mid, cout, (3, 1, 1), (s, 1, 1), (1, 0, 0), bias=False),
    ]


def r2plus1d(widths: tuple[int, ...], depths: tuple[int, ...], classes: int) -> Any:
    """R(2+1)D (torchvision's layout) on a (1, 3, frames, h, w) clip: a stem of a 1x7x7
    stride-(1, 2, 2) conv to 45/64 of the first width and a 3x1x1 conv (BN, ReLU each),
    stages of basic blocks of two (2+1)-D convs (BN; ReLU after the sum with the input,
    or with a 1x1x1 strided conv-BN of it), the first of each stage but the first stride
    2 in time and space; pooling and a classifier. R(2+1)D-18 is ``((64, 128, 256, 512),
    (2, 2, 2, 2), 400)``."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.f = nn.Sequential(
                *_conv21d(cin, cout, s), nn.BatchNorm3d(cout), nn.ReLU(), *_conv21d(cout, cout, 1)
            )
            self.f.append(nn.BatchNorm3d(cout))
            self.short = (
                nn.Identity()
                if s == 1 and cin == cout
                else nn.Sequential(nn.Conv3d(cin, cout, 1, s, bias=False), nn.BatchNorm3d(cout))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.f(x) + self.short(x))

    c, stem = widths[0], widths[0] * 45 // 64
    layers: list[Any] = [
        *(nn.Conv3d(3, stem, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False), nn.BatchNorm3d(stem)),
        *(nn.ReLU(), nn.Conv3d(stem, c, (3, 1, 1), 1, (1, 0, 0), bias=False)),
        *(nn.BatchNorm3d(c), nn.ReLU()),
    ]
    for i, (wd, n) in enumerate(zip(widths, depths, strict=True)):
        for j in range(n):
            layers.append(Block(c, wd, 2 if (i > 0 and j == 0) else 1))
            c = wd
    layers += [nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def dncnn(depth: int, width: int, channels: int) -> Any:
    """DnCNN (Zhang et al.) on a (1, ``channels``, h, w) noisy image: a 3x3 conv to
    ``width`` with ReLU, ``depth`` - 2 3x3 conv-BN-ReLUs and a 3x3 conv back to
    ``channels`` predicting the noise, which is subtracted from the input (residual
    learning). DnCNN-S is ``(17, 64, 1)``."""
    import torch

    nn = _nn()

    class DnCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU()]
            layers += [_cbr(width, width, 3, act=nn.ReLU) for _ in range(depth - 2)]
            layers.append(nn.Conv2d(width, channels, 3, 1, 1, bias=False))
            self.f = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x - self.f(x)

    return DnCNN()


def centernet(width: int, ups: tuple[int, ...], head: int, classes: int) -> Any:
    """CenterNet (objects as points) with the first zoo's ResNet-18 (``width``) to stride
    32, three upsampling stages of a 3x3 conv-BN-ReLU (in place of the deformable conv)
    and a 4x4 stride-2 transposed conv-BN-ReLU (``ups`` channels) to stride 4, and three
    heads (a 3x3 conv of ``head`` with ReLU, then a 1x1 conv: a sigmoid ``classes``
    heatmap, two size and two offset channels), concatenated. The original is ``(64,
    (256, 128, 64), 64, 80)``."""
    import torch

    nn = _nn()

    def up(cin: int, cout: int) -> list[Any]:
        return [
            _cbr(cin, cout, 3, act=nn.ReLU),
            nn.ConvTranspose2d(cout, cout, 4, 2, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    def out(k: int) -> Any:
        return nn.Sequential(nn.Conv2d(ups[-1], head, 3, 1, 1), nn.ReLU(), nn.Conv2d(head, k, 1))

    class CenterNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (8 * width, *ups)
            layers = list(resnet((2, 2, 2, 2), width, False)[:10])
            for a, b in zip(chans[:-1], chans[1:], strict=True):
                layers += up(a, b)
            self.body = nn.Sequential(*layers)
            self.hm, self.wh, self.reg = out(classes), out(2), out(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return torch.cat([torch.sigmoid(self.hm(y)), self.wh(y), self.reg(y)], 1)

    return CenterNet()


def fastdepth(width: float) -> Any:
    """FastDepth's MobileNet-NNConv5 on an RGB image: MobileNet (v1; a 3x3 stride-2 conv
    and 13 depthwise-separable convs, BN-ReLU each, channels times ``width``) to stride
    32; a decoder of five 5x5 depthwise + 1x1 convs (BN-ReLU; 512 ... 32 times ``width``)
    each followed by a nearest x2 upsampling, the encoder's 1/8, 1/4 and 1/2 maps added
    after the second to fourth; a 1x1 conv-BN-ReLU to one depth channel."""
    import torch

    nn = _nn()

    def c(x: int) -> int:
        return max(8, int(x * width))

    def sep(a: int, b: int, k: int, s: int) -> Any:
        return nn.Sequential(_cbr(a, a, k, s, g=a, act=nn.ReLU), _cbr(a, b, 1, act=nn.ReLU))

    enc = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5]
    enc += [(1024, 2), (1024, 1)]

    class FastDepth(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [32] + [ch for ch, _ in enc]
            self.enc = nn.ModuleList([_cbr(3, c(32), 3, 2, act=nn.ReLU)])
            self.enc.extend(
                sep(c(a), c(b), 3, s) for a, (b, s) in zip(chans[:-1], enc, strict=True)
            )
            dec = (1024, 512, 256, 128, 64, 32)
            self.dec = nn.ModuleList(
                sep(c(a), c(b), 5, 1) for a, b in zip(dec[:-1], dec[1:], strict=True)
            )
            self.last = _cbr(c(32), 1, 1, act=nn.ReLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = {}
            for i, layer in enumerate(self.enc):
                x = layer(x)
                skips[i] = x
            for i, layer in enumerate(self.dec, 1):
                x = nn.functional.interpolate(layer(x), scale_factor=2.0, mode="nearest")
                x = x + skips[9 - 2 * i] if 2 <= i <= 4 else x
            return self.last(x)

    return FastDepth()


def gmlp(res: int, patch: int, d: int, ffn: int, layers: int) -> Any:
    """gMLP on a ``res`` x ``res`` image: a patch embedding, ``layers`` blocks of a layer
    norm, a GELU channel projection to ``ffn``, a spatial gating unit (half the channels
    layer-normed, mixed across the tokens by a token-by-token projection, times the other
    half) and a projection back, residual; a layer norm, mean pooling and a classifier.
    gMLP-Ti is ``(224, 16, 128, 768, 30)``."""
    import torch

    nn = _nn()
    n = (res // patch) ** 2

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.gate_norm = nn.LayerNorm(d), nn.LayerNorm(ffn // 2)
            self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn // 2, d)
            self.spatial = nn.Conv1d(n, n, 1)
            nn.init.zeros_(self.spatial.weight)
            nn.init.ones_(self.spatial.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            u, v = nn.functional.gelu(self.fc1(self.norm(x))).split([ffn // 2, ffn // 2], -1)
            return x + self.fc2(u * self.spatial(self.gate_norm(v)))

    class GMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.blocks(self.embed(x).flatten(2).transpose(1, 2))
            return self.head(self.norm(x).mean(1))

    return GMLP()


def _mlp(sizes: tuple[int, ...]) -> list[Any]:
    """Linear layers through ``sizes``, each followed by ReLU."""
    nn = _nn()
    out: list[Any] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        out += [nn.Linear(a, b), nn.ReLU()]
    return out


def dlrm(
    dense: int, tables: int, rows: int, dim: int, bottom: tuple[int, ...], top: tuple[int, ...]
) -> Any:
    """DLRM on (1, ``dense`` + ``tables``) features: the dense ones through a bottom ReLU
    MLP (``bottom``) to ``dim``; the others read as ids (the absolute value times 1000,
    modulo ``rows``) into ``tables`` embedding tables of ``dim`` (stored stacked and read
    by one gather with per-table offsets, as batched embedding kernels do); the pairwise
    dot products of the 1 + ``tables`` vectors (a batched matmul, its strict lower
    triangle gathered) with the bottom output through a top ReLU MLP (``top``) to a
    sigmoid click probability. MLPerf's Criteo model is ``(13, 26, ..., 128, (512, 256),
    (1024, 1024, 512, 256))`` with up to 40M rows a table."""
    import torch

    nn = _nn()
    k = tables + 1
    li, lj = torch.tril_indices(k, k, -1)

    class DLRM(nn.Module):
        offsets: torch.Tensor
        pairs: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.bottom = nn.Sequential(*_mlp((dense, *bottom, dim)))
            self.emb = nn.Parameter(torch.randn(tables * rows, dim) * 0.01)
            self.register_buffer("offsets", torch.arange(tables) * rows)
            self.register_buffer("pairs", li * k + lj)
            self.top = nn.Sequential(*_mlp((dim + k * (k - 1) // 2, *top)))
            self.top.extend([nn.Linear(top[-1], 1), nn.Sigmoid()])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d = self.bottom(x[:, :dense])
            ids = torch.remainder((x[:, dense:].abs() * 1000).long(), rows) + self.offsets
            t = torch.cat([d.unsqueeze(1), self.emb[ids]], 1)
            z = (t @ t.transpose(1, 2)).flatten(1)[:, self.pairs]
            return self.top(torch.cat([d, z], 1))

    return DLRM()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    pvt_b0 = ((2, 1, 8, 8), (2, 2, 8, 4), (2, 5, 4, 2), (2, 8, 4, 1))
    return [
        (
            "hardnet",
            "hardnet39ds_224",
            partial(hardnet_ds, (96, 320, 640, 1024), (16, 20, 64, 160), (4, 16, 8, 4), 1.6),
            _image(224),
        ),
        (
            "bisenet",
            "bisenet_r18w32_c19_192x384",
            partial(bisenet, 32, 19, 192, 384),
            _image(192, 384),
        ),
        ("u2net", "u2netp_96x128", partial(u2net, 16, 64), _image(96, 128)),
        (
            "coatnet",
            "coatnet0_half_160",
            partial(coatnet, (32, 48, 96, 192, 384), (2, 2, 3, 5, 2), 160, 160),
            _image(160),
        ),
        (
            "pvt",
            "pvt_v2_b0_192x256",
            partial(pvt_v2, (32, 64, 160, 256), pvt_b0, 192, 256),
            _image(192, 256),
        ),
        ("nerf", "nerf_w128_4096rays", partial(nerf, 128, 8, 4, 63, 27), (1, 4096, 90)),
        ("gcn", "gcn_cora_2708x1433", partial(gcn, 2708, 1433, 16, 7, 4), (1, 2708, 1433)),
        (
            "r2plus1d",
            "r2plus1d_10_w32_8x56",
            partial(r2plus1d, (32, 64, 128, 256), (1, 1, 1, 1), 400),
            (1, 3, 8, 56, 56),
        ),
        ("dncnn", "dncnn_s17_40x40", partial(dncnn, 17, 64, 1), (1, 1, 40, 40)),
        (
            "centernet",
            "centernet_r18w32_192x256",
            partial(centernet, 32, (128, 64, 32), 32, 80),
            _image(192, 256),
        ),
        ("fastdepth", "fastdepth_x0.75_192x256", partial(fastdepth, 0.75), _image(192, 256)),
        ("gmlp", "gmlp_ti_160", partial(gmlp, 160, 16, 128, 768, 30), _image(160)),
        (
            "dlrm",
            "dlrm_mlperf_r512",
            partial(dlrm, 13, 26, 512, 128, (512, 256), (1024, 1024, 512, 256)),
            (1, 39),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet18_w32_96x320",
            partial(resnet, (2, 2, 2, 2), 32, False),
            _image(96, 320),
        ),
        ("mobilenetv2", "mbv2_x0.75_160", partial(mobilenet, _MBV2, 0.75, False), _image(160)),
        ("efficientnet", "effnet_b1_240", partial(efficientnet, 1.0, 1.1), _image(240)),
        ("vit", "vit_tiny_p8_64", partial(vit, 64, 8, 192, 3, 12), _image(64)),
        ("text", "bert_d256_l6_s48", partial(text_encoder, 256, 4, 6), (1, 48, 256)),
        (
            "convnext",
            "convnext_femto_96x160",
            partial(convnext, (48, 96, 192, 384), (2, 2, 6, 2)),
            _image(96, 160),
        ),
        (
            "shufflenetv2",
            "shufflev2_x0.5_256x192",
            partial(shufflenet, (48, 96, 192)),
            _image(256, 192),
        ),
        (
            "regnet",
            "regnetx_200mf_288",
            partial(regnet, (24, 56, 152, 368), (1, 1, 4, 7), 8),
            _image(288),
        ),
        ("unet", "unet_w8_l4_128x256", partial(unet, 8, 4), _image(128, 256)),
        ("wavenet", "wavenet_r24_s48_3x8_4k", partial(wavenet, 24, 48, 3, 8, 256), (1, 1, 4000)),
        ("ghostnet", "ghostnet_x0.5_96x128", partial(ghostnet, 0.5), _image(96, 128)),
        ("gpt", "gpt_d128_s512", partial(gpt, 128, 2, 2, 512, 2000), (1, 512, 128)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the seventh zoo."""
    return _new_families() + _known_families()
