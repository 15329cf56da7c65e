"""A fourteenth held-out zoo of real-world architectures (plain torch), written after the
thirteenth zoo (benchmarks/realworld_zoo13.py), before any prediction of it.

Like the second to thirteenth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the thirteen earlier zoos has, across tasks: Stacked Hourglass heatmaps
(pose), MODNet's semantic, detail and fusion branches with IBNorm (portrait matting),
EDSR's batch-norm-free residual blocks and pixel shuffles (super-resolution), CAIN's
pixel-unshuffled channel attention (video frame interpolation), EAST's feature merging
on VGG16 (scene-text detection), XCiT's cross-covariance attention and class attention
(lightweight ViT), the DARTS V2 cells (a NAS-found CNN), the MelGAN generator (vocoder),
MatchboxNet's time-channel separable convs (keyword spotting), Tan & Wang's CRN with an
LSTM between a causal conv encoder and decoder (speech enhancement), a MarianMT
encoder-decoder with cross-attention (translation), ELECTRA-Small's discriminator and
the character-level ConvNet of Zhang et al. (text), Caser's horizontal and vertical
convs (sequential recommendation), a two-tower retrieval model, SAINT's intersample
attention (tabular), GATv2's dynamic attention (graphs), Point Transformer's vector
attention over nearest neighbours (point clouds), iTransformer's attention across
variates (time series), RealNVP's affine couplings (normalizing flow), the latent
diffusion VAE decoder and a beta-VAE decoder (generative), and MeshGraphNets' message
passing on a mesh (simulation). Every input has batch size 1.

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


def _hg_residual(cin: int, cout: int) -> Any:
    """The Stacked Hourglass residual module: pre-activation BN-ReLU-convs 1x1 to
    ``cout`` / 2, 3x3, 1x1 to ``cout``; a 1x1 conv shortcut when the width changes."""
    import torch

    nn = _nn()

    def bn_relu_conv(a: int, b: int, k: int) -> Any:
        return nn.Sequential(nn.BatchNorm2d(a), nn.ReLU(), nn.Conv2d(a, b, k, 1, k // 2))

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            mid = cout // 2
            self.body = nn.Sequential(
                bn_relu_conv(cin, mid, 1), bn_relu_conv(mid, mid, 3), bn_relu_conv(mid, cout, 1)
            )
            self.short = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x) + self.short(x)

    return Residual()


def _hourglass(depth: int, c: int) -> Any:
    """One hourglass of ``depth`` levels: at each level a residual skip branch and a
    max-pooled branch (residual, the inner hourglass or a residual, residual) upsampled
    by nearest neighbour and added."""
    import torch

    nn = _nn()

    class Hourglass(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up1, self.low1 = _hg_residual(c, c), _hg_residual(c, c)
            self.low2 = _hourglass(depth - 1, c) if depth > 1 else _hg_residual(c, c)
            self.low3 = _hg_residual(c, c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            low = self.low3(self.low2(self.low1(nn.functional.max_pool2d(x, 2))))
            return self.up1(x) + nn.functional.interpolate(low, scale_factor=2.0, mode="nearest")

    return Hourglass()


def stacked_hourglass(stacks: int, c: int, joints: int, depth: int = 4) -> Any:
    """Stacked Hourglass Networks (Newell et al., ECCV 2016) for human pose: a 7x7
    stride-2 conv-BN-ReLU to 64, residuals to 128, max pooling, residuals to ``c``;
    ``stacks`` hourglasses of ``depth`` levels, each followed by a residual, a 1x1
    conv-BN-ReLU and a 1x1 conv to ``joints`` heatmaps, the features and the heatmaps
    remapped by 1x1 convs and added back before the next hourglass; the last heatmaps."""
    import torch

    nn = _nn()

    class StackedHourglass(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                _cbr(3, 64, 7, 2, act=nn.ReLU),
                _hg_residual(64, 128),
                nn.MaxPool2d(2),
                _hg_residual(128, 128),
                _hg_residual(128, c),
            )
            self.hgs = nn.ModuleList(_hourglass(depth, c) for _ in range(stacks))
            self.feats = nn.ModuleList(
                nn.Sequential(_hg_residual(c, c), _cbr(c, c, 1, act=nn.ReLU)) for _ in range(stacks)
            )
            self.heads = nn.ModuleList(nn.Conv2d(c, joints, 1) for _ in range(stacks))
            self.merge_f = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(stacks - 1))
            self.merge_h = nn.ModuleList(nn.Conv2d(joints, c, 1) for _ in range(stacks - 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            for i in range(stacks):
                f = self.feats[i](self.hgs[i](x))
                h = self.heads[i](f)
                if i < stacks - 1:
                    x = x + self.merge_f[i](f) + self.merge_h[i](h)
            return h

    return StackedHourglass()


def _inverted_residual(cin: int, cout: int, s: int, t: int) -> Any:
    """MobileNetV2's inverted residual: a 1x1 conv-BN-ReLU6 to ``t`` ``cin`` (when ``t``
    > 1), a 3x3 depthwise conv-BN-ReLU6 of stride ``s``, a 1x1 conv-BN; the input added
    when the shape is kept."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            mid = cin * t
            body = [_cbr(cin, mid, 1, act=nn.ReLU6)] if t > 1 else []
            body += [_cbr(mid, mid, 3, s, g=mid, act=nn.ReLU6), _cbr(mid, cout, 1)]
            self.body = nn.Sequential(*body)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x) if self.res else self.body(x)

    return Block()


def _mbv2_stages() -> Any:
    """MobileNetV2's feature extractor cut at strides 2, 4, 8 and 32 (16, 24, 32 and
    1280 channels), as MODNet uses it."""
    nn = _nn()
    plan = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
    plan += [(6, 160, 3, 2), (6, 320, 1, 1)]
    blocks: list[Any] = [_cbr(3, 32, 3, 2, act=nn.ReLU6)]
    c = 32
    for t, cout, n, s in plan:
        for i in range(n):
            blocks.append(_inverted_residual(c, cout, s if i == 0 else 1, t))
            c = cout
    blocks.append(_cbr(c, 1280, 1, act=nn.ReLU6))
    cuts = [2, 4, 7, len(blocks)]  # after these many blocks: strides 2, 4, 8, 32
    return nn.ModuleList(
        nn.Sequential(*blocks[a:b]) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)
    )


def _ibn_conv(cin: int, cout: int, k: int, s: int = 1, plain: bool = False) -> Any:
    """MODNet's conv with IBNorm (batch norm on the first half of the channels, instance
    norm on the rest) and ReLU; a bare conv when ``plain``."""
    import torch

    nn = _nn()

    class Conv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, s, k // 2)
            self.bn = nn.BatchNorm2d(cout // 2)
            self.inorm = nn.InstanceNorm2d(cout - cout // 2, affine=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x)
            if plain:
                return x
            h = cout // 2
            return torch.relu(torch.cat([self.bn(x[:, :h]), self.inorm(x[:, h:])], 1))

    return Conv()


def modnet(hr: int) -> Any:
    """MODNet (Ke et al., AAAI 2022) trimap-free portrait matting: a MobileNetV2 encoder;
    the low-resolution semantic branch (squeeze-excitation on the stride-32 features,
    two x2 upsamplings each with a 5x5 IBNorm conv, to stride 8); the high-resolution
    detail branch of ``hr`` channels (stride-2 and stride-4 encoder features and the
    downsampled image, the semantic features at stride 4, convs back to stride 2); the
    fusion branch (semantic and detail features at stride 2, upsampled with the image to
    a sigmoid alpha matte)."""
    import torch

    nn = _nn()
    F = nn.functional

    def up(x: torch.Tensor, f: float) -> torch.Tensor:
        return F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)

    class MODNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = _mbv2_stages()
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                *(nn.Conv2d(1280, 320, 1, bias=False), nn.ReLU()),
                *(nn.Conv2d(320, 1280, 1, bias=False), nn.Sigmoid()),
            )
            self.lr16, self.lr8 = _ibn_conv(1280, 96, 5), _ibn_conv(96, 32, 5)
            self.to2, self.to4 = _ibn_conv(16, hr, 1), _ibn_conv(24, hr, 1)
            self.enc2 = _ibn_conv(hr + 3, hr, 3, 2)
            self.enc4 = _ibn_conv(2 * hr, 2 * hr, 3)
            self.hr4 = nn.Sequential(
                _ibn_conv(2 * hr + 32 + 3, 2 * hr, 3), _ibn_conv(2 * hr, 2 * hr, 3)
            )
            self.hr4_out = _ibn_conv(2 * hr, hr, 3)
            self.hr2 = nn.Sequential(
                _ibn_conv(2 * hr, 2 * hr, 3),
                _ibn_conv(2 * hr, hr, 3),
                *(_ibn_conv(hr, hr, 3), _ibn_conv(hr, hr, 3)),
            )
            self.f_lr4, self.f2 = _ibn_conv(32, hr, 5), _ibn_conv(2 * hr, hr, 3)
            self.f = nn.Sequential(
                _ibn_conv(hr + 3, hr // 2, 3), _ibn_conv(hr // 2, 1, 1, plain=True)
            )

        def forward(self, img: torch.Tensor) -> torch.Tensor:
            e2 = self.enc[0](img)
            e4 = self.enc[1](e2)
            e32 = self.enc[3](self.enc[2](e4))
            e32 = e32 * self.se(e32)
            lr8 = self.lr8(up(self.lr16(up(e32, 2.0)), 2.0))
            img2, img4 = up(img, 0.5), up(img, 0.25)
            e2 = self.to2(e2)
            h4 = self.enc4(torch.cat([self.enc2(torch.cat([img2, e2], 1)), self.to4(e4)], 1))
            h4 = self.hr4_out(self.hr4(torch.cat([h4, up(lr8, 2.0), img4], 1)))
            h2 = self.hr2(torch.cat([up(h4, 2.0), e2], 1))
            lr2 = up(self.f_lr4(up(lr8, 2.0)), 2.0)
            f = up(self.f2(torch.cat([lr2, h2], 1)), 2.0)
            return torch.sigmoid(self.f(torch.cat([f, img], 1)))

    return MODNet()


def edsr(blocks: int, c: int, scale: int, res_scale: float = 1.0) -> Any:
    """EDSR (Lim et al., CVPRW 2017) single-image super-resolution by ``scale``: mean
    shift, a 3x3 conv to ``c``; ``blocks`` residual blocks without batch norm (conv, ReLU,
    conv, scaled by ``res_scale``), a conv and the global skip; the upsampler (3x3 convs
    to 4 ``c`` and pixel shuffles by 2, or to 9 ``c`` and one by 3); a conv to RGB.
    EDSR-baseline is ``(16, 64, ...)``."""
    import torch

    nn = _nn()

    class ResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x) * res_scale

    class EDSR(nn.Module):
        mean: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer(
                "mean", torch.tensor([0.4488, 0.4371, 0.4040])[None, :, None, None]
            )
            self.head = nn.Conv2d(3, c, 3, 1, 1)
            self.body = nn.Sequential(
                *(ResBlock() for _ in range(blocks)), nn.Conv2d(c, c, 3, 1, 1)
            )
            ups: list[Any] = []
            if scale == 3:
                ups = [nn.Conv2d(c, 9 * c, 3, 1, 1), nn.PixelShuffle(3)]
            else:
                for _ in range(int(math.log2(scale))):
                    ups += [nn.Conv2d(c, 4 * c, 3, 1, 1), nn.PixelShuffle(2)]
            self.tail = nn.Sequential(*ups, nn.Conv2d(c, 3, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.head(x - self.mean)
            return self.tail(h + self.body(h)) + self.mean

    return EDSR()


def _rcab(c: int, reduction: int = 16) -> Any:
    """RCAN's residual channel attention block: conv, ReLU, conv, channel attention
    (pooling, a 1x1 conv-ReLU to ``c`` / ``reduction``, a 1x1 conv-sigmoid), the input
    added."""
    import torch

    nn = _nn()

    class RCAB(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1))
            self.ca = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                *(nn.Conv2d(c, c // reduction, 1), nn.ReLU()),
                *(nn.Conv2d(c // reduction, c, 1), nn.Sigmoid()),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return x + y * self.ca(y)

    return RCAB()


def cain(groups: int, blocks: int, depth: int = 3) -> Any:
    """CAIN (Choi et al., AAAI 2020) video frame interpolation of two RGB frames (1, 6,
    h, w) without flow: each frame (minus the pair's mean) pixel-unshuffled by
    2^``depth``, the two concatenated and a 3x3 conv back to one frame's 3 4^``depth``
    channels; ``groups`` residual groups of ``blocks`` residual channel attention blocks
    and a conv, a conv and the global skip; a conv and a pixel shuffle back to the
    middle frame, the mean added. CAIN is ``(5, 12, 3)``."""
    import torch

    nn = _nn()
    c = nf = 3 * 4**depth

    class Group(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *(_rcab(nf) for _ in range(blocks)), nn.Conv2d(nf, nf, 3, 1, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    class CAIN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shuffle_down, self.shuffle_up = (
                nn.PixelUnshuffle(2**depth),
                nn.PixelShuffle(2**depth),
            )
            self.head = nn.Conv2d(2 * c, nf, 3, 1, 1)
            self.body = nn.Sequential(*(Group() for _ in range(groups)), nn.Conv2d(nf, nf, 3, 1, 1))
            self.tail = nn.Conv2d(nf, c, 3, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a, b = x[:, :3], x[:, 3:]
            m = (a.mean((2, 3), keepdim=True) + b.mean((2, 3), keepdim=True)) / 2
            f = torch.cat([self.shuffle_down(a - m), self.shuffle_down(b - m)], 1)
            h = self.head(f)
            h = h + self.body(h)
            return self.shuffle_up(self.tail(h)) + m

    return CAIN()


def east(width: float) -> Any:
    """EAST (Zhou et al., CVPR 2017) scene-text detection on a VGG16-BN backbone at width
    multiplier ``width`` (stages of 2, 2, 3, 3, 3 3x3 conv-BN-ReLUs, max pooled): the
    feature-merging branch (from the stride-32 features, x2 bilinear unpooling,
    concatenation with the next stage's features, a 1x1 and a 3x3 conv-BN-ReLU of 128,
    64 and 32) and a 3x3 conv-BN-ReLU of 32; at stride 4 a sigmoid score map, four
    box-edge distances (sigmoid times 512) and the box angle ((sigmoid - 0.5) pi / 2),
    concatenated."""
    import torch

    nn = _nn()
    F = nn.functional
    widths = [int(c * width) for c in (64, 128, 256, 512, 512)]

    class EAST(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stages, cin = [], 3
            for c, n in zip(widths, (2, 2, 3, 3, 3), strict=True):
                layers = [_cbr(cin if i == 0 else c, c, 3, act=nn.ReLU) for i in range(n)]
                stages.append(nn.Sequential(*layers, nn.MaxPool2d(2)))
                cin = c
            self.stages = nn.ModuleList(stages)
            merge, cin = [], widths[4]
            for skip, c in zip((widths[3], widths[2], widths[1]), (128, 64, 32), strict=True):
                merge.append(
                    nn.Sequential(_cbr(cin + skip, c, 1, act=nn.ReLU), _cbr(c, c, 3, act=nn.ReLU))
                )
                cin = c
            self.merge = nn.ModuleList(merge)
            self.last = _cbr(32, 32, 3, act=nn.ReLU)
            self.out = nn.Conv2d(32, 6, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for stage in self.stages:
                x = stage(x)
                feats.append(x)
            h = feats[4]
            for i, merge in enumerate(self.merge):
                h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=True)
                h = merge(torch.cat([h, feats[3 - i]], 1))
            o = torch.sigmoid(self.out(self.last(h)))
            return torch.cat([o[:, :1], o[:, 1:5] * 512, (o[:, 5:] - 0.5) * math.pi / 2], 1)

    return EAST()


def _fourier_positions(h: int, w: int, dim: int = 32) -> Any:
    """XCiT's fixed sinusoidal positional features (2 ``dim`` per token) of an ``h`` x
    ``w`` grid, before its learned 1x1 projection."""
    import torch

    y = torch.arange(1, h + 1).float()[:, None].expand(h, w) / (h + 1e-6) * 2 * math.pi
    x = torch.arange(1, w + 1).float()[None].expand(h, w) / (w + 1e-6) * 2 * math.pi
    t = 10000 ** (2 * (torch.arange(dim) // 2) / dim)
    py, px = y[..., None] / t, x[..., None] / t
    py = torch.stack([py[..., 0::2].sin(), py[..., 1::2].cos()], -1).flatten(2)
    px = torch.stack([px[..., 0::2].sin(), px[..., 1::2].cos()], -1).flatten(2)
    return torch.cat([py, px], -1).reshape(h * w, 2 * dim)


def _xca_block(d: int, heads: int, h: int, w: int) -> Any:
    """XCiT's block: cross-covariance attention (queries and keys L2-normalised over the
    tokens, a ``heads`` channel-by-channel softmax with a learned temperature), local
    patch interaction (3x3 depthwise conv, GELU, BN, 3x3 depthwise conv on the token
    grid) and a GELU MLP of 4 ``d``, each pre-norm with layer scale."""
    import torch

    nn = _nn()
    F = nn.functional
    dh, n = d // heads, h * w

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2, self.n3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
            self.lpi = nn.Sequential(
                nn.Conv2d(d, d, 3, 1, 1, groups=d),
                *(nn.GELU(), nn.BatchNorm2d(d)),
                nn.Conv2d(d, d, 3, 1, 1, groups=d),
            )
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.g1, self.g2, self.g3 = (nn.Parameter(torch.full((d,), 1e-1)) for _ in range(3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.n1(x)).reshape(n, 3, heads, dh).permute(1, 2, 3, 0)
            q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
            a = torch.softmax(q @ k.transpose(1, 2) * self.temperature, -1)
            x = x + self.g1 * self.proj((a @ v).permute(2, 0, 1).reshape(1, n, d))
            g = self.n3(x).transpose(1, 2).reshape(1, d, h, w)
            x = x + self.g3 * self.lpi(g).flatten(2).transpose(1, 2)
            return x + self.g2 * self.mlp(self.n2(x))

    return Block()


def _class_attention(d: int, heads: int) -> Any:
    """CaiT's class-attention block as XCiT uses it: only the class token queries the
    (normed) tokens, only it goes through the GELU MLP of 4 ``d``."""
    import torch

    nn = _nn()
    dh = d // heads

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.kv, self.proj = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.n1(x)
            n = t.shape[1]
            q = self.q(t[:, :1]).reshape(1, heads, dh).transpose(0, 1)
            k, v = self.kv(t).reshape(n, 2, heads, dh).permute(1, 2, 0, 3)
            a = torch.softmax(q @ k.transpose(1, 2) * dh**-0.5, -1) @ v
            cls = x[:, :1] + self.proj(a.transpose(0, 1).reshape(1, 1, d))
            cls = cls + self.mlp(self.n2(cls))
            return torch.cat([cls, x[:, 1:]], 1)

    return Block()


def xcit(d: int, depth: int, heads: int, size: int, classes: int = 1000) -> Any:
    """XCiT (El-Nouby et al., NeurIPS 2021) classification with 16x16 patches: a patch
    embedding of four stride-2 3x3 conv-BNs (GELUs between) to ``d``, learned projections
    of fixed Fourier positions added; ``depth`` XCA blocks; two class-attention blocks; a
    norm and a classifier on the class token. XCiT-N12 is ``(128, 12, 4, ...)``, XCiT-T12
    ``(192, 12, 4, ...)``."""
    import torch

    nn = _nn()
    g = size // 16

    class XCiT(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            chans = [3, d // 8, d // 4, d // 2, d]
            layers: list[Any] = []
            for i in range(4):
                layers += [_cbr(chans[i], chans[i + 1], 3, 2)] + ([nn.GELU()] if i < 3 else [])
            self.embed = nn.Sequential(*layers)
            self.register_buffer("pos", _fourier_positions(g, g)[None])
            self.pos_proj = nn.Linear(64, d)
            self.blocks = nn.Sequential(*(_xca_block(d, heads, g, g) for _ in range(depth)))
            self.cls = nn.Parameter(torch.zeros(1, 1, d))
            self.ca = nn.Sequential(_class_attention(d, heads), _class_attention(d, heads))
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x).flatten(2).transpose(1, 2) + self.pos_proj(self.pos)
            x = self.ca(torch.cat([self.cls, self.blocks(x)], 1))
            return self.head(self.norm(x[:, 0]))

    return XCiT()


_DARTS_V2_NORMAL = [("sep", 0), ("sep", 1), ("sep", 0), ("sep", 1)]
_DARTS_V2_NORMAL += [("sep", 1), ("skip", 0), ("skip", 0), ("dil", 2)]
_DARTS_V2_REDUCE = [("max", 0), ("max", 1), ("skip", 2), ("max", 1)]
_DARTS_V2_REDUCE += [("max", 0), ("skip", 2), ("skip", 2), ("max", 1)]


def _darts_op(kind: str, c: int, s: int) -> Any:
    """A DARTS operation on ``c`` channels of stride ``s``: ``sep`` (ReLU, 3x3 depthwise,
    1x1, BN, twice, the first of stride ``s``), ``dil`` (ReLU, 3x3 depthwise of dilation
    2, 1x1, BN), ``max`` (3x3 max pooling) or ``skip`` (identity, a factorized reduction
    when strided)."""
    nn = _nn()

    def relu_dw_pw(stride: int, d: int = 1) -> list[Any]:
        return [
            nn.ReLU(),
            nn.Conv2d(c, c, 3, stride, d, d, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        ]

    if kind == "sep":
        return nn.Sequential(*relu_dw_pw(s), *relu_dw_pw(1))
    if kind == "dil":
        return nn.Sequential(*relu_dw_pw(s, 2))
    if kind == "max":
        return nn.MaxPool2d(3, s, 1)
    return nn.Identity() if s == 1 else _factorized_reduce(c, c)


def _factorized_reduce(cin: int, cout: int) -> Any:
    """DARTS' factorized reduction: ReLU, two 1x1 stride-2 convs (one offset by a pixel)
    to ``cout`` / 2 each, concatenated, BN."""
    import torch

    nn = _nn()

    class FactorizedReduce(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
            self.b = nn.Conv2d(cin, cout - cout // 2, 1, 2, bias=False)
            self.bn = nn.BatchNorm2d(cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(x)
            return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], 1))

    return FactorizedReduce()


def _darts_cell(cpp: int, cp: int, c: int, reduction: bool, reduction_prev: bool) -> Any:
    """A DARTS (V2 genotype) cell on the two previous cells' outputs (``cpp`` and ``cp``
    channels, preprocessed to ``c``): four nodes, each the sum of two operations on
    earlier states; the four concatenated."""
    import torch

    nn = _nn()
    genotype = _DARTS_V2_REDUCE if reduction else _DARTS_V2_NORMAL

    def relu_conv_bn(a: int) -> Any:
        return nn.Sequential(nn.ReLU(), nn.Conv2d(a, c, 1, bias=False), nn.BatchNorm2d(c))

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre0 = _factorized_reduce(cpp, c) if reduction_prev else relu_conv_bn(cpp)
            self.pre1 = relu_conv_bn(cp)
            self.ops = nn.ModuleList(
                _darts_op(k, c, 2 if reduction and i < 2 else 1) for k, i in genotype
            )

        def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
            states = [self.pre0(s0), self.pre1(s1)]
            for n in range(4):
                (_, i), (_, j) = genotype[2 * n], genotype[2 * n + 1]
                states.append(self.ops[2 * n](states[i]) + self.ops[2 * n + 1](states[j]))
            return torch.cat(states[2:], 1)

    return Cell()


def darts(c: int, layers: int, classes: int, imagenet: bool) -> Any:
    """DARTS (Liu et al., ICLR 2019) evaluation network of the V2 genotype: a stem (CIFAR:
    a 3x3 conv-BN to 3 ``c``; ImageNet: two stride-2 3x3 conv stems to ``c`` and a third
    stride-2 one), ``layers`` cells, the ones at a third and two thirds reduction cells
    doubling ``c``; global pooling and a classifier. DARTS-CIFAR is ``(36, 20, 10,
    False)``, DARTS-ImageNet ``(48, 14, 1000, True)``."""
    nn = _nn()

    class DARTS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if imagenet:
                self.stem0 = nn.Sequential(
                    _cbr(3, c // 2, 3, 2, act=nn.ReLU), _cbr(c // 2, c, 3, 2)
                )
                self.stem1 = nn.Sequential(nn.ReLU(), _cbr(c, c, 3, 2))
                cpp, cp = c, c
            else:
                self.stem0, self.stem1 = _cbr(3, 3 * c, 3), nn.Identity()
                cpp, cp = 3 * c, 3 * c
            cells, cc, red_prev = [], c, imagenet
            for i in range(layers):
                red = i in (layers // 3, 2 * layers // 3)
                cc = cc * 2 if red else cc
                cells.append(_darts_cell(cpp, cp, cc, red, red_prev))
                cpp, cp, red_prev = cp, 4 * cc, red
            self.cells = nn.ModuleList(cells)
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cp, classes))

        def forward(self, x: Any) -> Any:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
            for cell in self.cells:
                s0, s1 = s1, cell(s0, s1)
            return self.head(s1)

    return DARTS()


def melgan(ngf: int, ratios: tuple[int, ...], mels: int = 80) -> Any:
    """The MelGAN generator (Kumar et al., NeurIPS 2019) from a (1, ``mels``, frames)
    mel spectrogram to a waveform: a reflection-padded 7-wide conv to ``ngf`` 2^len
    (``ratios``); per ratio r a leaky ReLU, a transposed conv upsampling by r (kernel 2 r)
    halving the width and three residual stacks (leaky ReLU, reflection pad, 3-wide conv
    of dilation 1, 3, 9, leaky ReLU, 1x1 conv; a 1x1 conv shortcut); a leaky ReLU, a
    7-wide conv to one channel, tanh (weight norm folded into the weights). MelGAN is
    ``(32, (8, 8, 2, 2))``."""
    import torch

    nn = _nn()

    class ResStack(nn.Module):
        def __init__(self, c: int, d: int) -> None:
            super().__init__()
            self.block = nn.Sequential(
                *(nn.LeakyReLU(0.2), nn.ReflectionPad1d(d), nn.Conv1d(c, c, 3, dilation=d)),
                *(nn.LeakyReLU(0.2), nn.Conv1d(c, c, 1)),
            )
            self.short = nn.Conv1d(c, c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.short(x) + self.block(x)

    c = ngf * 2 ** len(ratios)
    layers: list[Any] = [nn.ReflectionPad1d(3), nn.Conv1d(mels, c, 7)]
    for r in ratios:
        layers += [
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(c, c // 2, 2 * r, r, r // 2 + r % 2, r % 2),
        ]
        c //= 2
        layers += [ResStack(c, 3**j) for j in range(3)]
    layers += [nn.LeakyReLU(0.2), nn.ReflectionPad1d(3), nn.Conv1d(c, 1, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def _tcs_conv(cin: int, cout: int, k: int, d: int = 1) -> list[Any]:
    """QuartzNet's time-channel separable conv: a ``k``-wide depthwise conv (dilation
    ``d``), a 1x1 conv to ``cout``, BN."""
    nn = _nn()
    return [
        nn.Conv1d(cin, cin, k, 1, d * (k // 2), d, groups=cin, bias=False),
        nn.Conv1d(cin, cout, 1, bias=False),
        nn.BatchNorm1d(cout),
    ]


def matchboxnet(blocks: int, repeats: int, c: int, mfcc: int = 64, classes: int = 12) -> Any:
    """MatchboxNet (Majumdar & Ginsburg, Interspeech 2020) keyword spotting on (1,
    ``mfcc``, frames) MFCCs: a prologue time-channel separable conv (11 wide, 128); B =
    ``blocks`` residual blocks of R = ``repeats`` separable conv-BN-ReLUs of ``c`` (widths
    13, 15, 17, ... growing by 2; a 1x1 conv-BN residual added before the last ReLU); an
    epilogue of a separable conv (29 wide, dilation 2, 128) and 1x1 convs to 128 and to
    the classes; average pooling over time. MatchboxNet-3x1x64 is ``(3, 1, 64)``."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, k: int) -> None:
            super().__init__()
            layers: list[Any] = []
            for r in range(repeats):
                layers += _tcs_conv(cin if r == 0 else c, c, k)
                layers += [nn.ReLU()] if r < repeats - 1 else []
            self.body = nn.Sequential(*layers)
            self.res = nn.Sequential(nn.Conv1d(cin, c, 1, bias=False), nn.BatchNorm1d(c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.res(x))

    layers: list[Any] = [*_tcs_conv(mfcc, 128, 11), nn.ReLU()]
    cin = 128
    for b in range(blocks):
        layers.append(Block(cin, 13 + 2 * b))
        cin = c
    layers += [*_tcs_conv(c, 128, 29, 2), nn.ReLU()]
    layers += [nn.Conv1d(128, 128, 1), nn.BatchNorm1d(128), nn.ReLU(), nn.Conv1d(128, classes, 1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten())


def crn(freq: int = 161, hidden: int = 1024) -> Any:
    """The convolutional recurrent network of Tan & Wang (Interspeech 2018) for
    real-time speech enhancement on a (1, 1, frames, ``freq``) magnitude spectrogram: an
    encoder of five causal (2, 3) convs of stride (1, 2) in frequency (16 to 256
    channels, BN, ELU); a two-layer LSTM of ``hidden`` over the flattened frames; a
    mirrored decoder of transposed convs, each fed the matching encoder output
    concatenated (skip connections), the last softplus: the enhanced magnitude."""
    import torch

    nn = _nn()
    chans = [1, 16, 32, 64, 128, 256]
    sizes = [freq]
    for _ in range(5):
        sizes.append((sizes[-1] - 3) // 2 + 1)

    class CRN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.ModuleList(
                nn.Sequential(
                    nn.Conv2d(chans[i], chans[i + 1], (2, 3), (1, 2)),
                    nn.BatchNorm2d(chans[i + 1]),
                    nn.ELU(),
                )
                for i in range(5)
            )
            self.lstm = nn.LSTM(256 * sizes[5], hidden, 2, batch_first=True)
            flat = 256 * sizes[5]  # 1024 = the LSTM's width at 161 bins: no projection
            self.proj = nn.Identity() if hidden == flat else nn.Linear(hidden, flat)
            dec = []
            for i in range(5, 0, -1):
                pad = sizes[i - 1] - ((sizes[i] - 1) * 2 + 3)
                conv = nn.ConvTranspose2d(
                    2 * chans[i], max(chans[i - 1], 1), (2, 3), (1, 2), output_padding=(0, pad)
                )
                tail = [nn.BatchNorm2d(chans[i - 1]), nn.ELU()] if i > 1 else [nn.Softplus()]
                dec.append(nn.Sequential(conv, *tail))
            self.dec = nn.ModuleList(dec)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[2]
            skips = []
            for enc in self.enc:
                x = enc(nn.functional.pad(x, (0, 0, 1, 0)))
                skips.append(x)
            h, _ = self.lstm(x.permute(0, 2, 1, 3).reshape(1, t, -1))
            x = self.proj(h).reshape(1, t, 256, -1).permute(0, 2, 1, 3)
            for dec, skip in zip(self.dec, reversed(skips), strict=True):
                x = dec(torch.cat([x, skip], 1))[:, :, :t]
            return x

    return CRN()


def _sinusoids(n: int, d: int) -> Any:
    """The fixed sinusoidal position encodings of Vaswani et al. (``n`` x ``d``)."""
    import torch

    pos = torch.arange(n).float()[:, None]
    inv = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
    return torch.cat([torch.sin(pos * inv), torch.cos(pos * inv)], 1)


def _mha(d: int, heads: int) -> Any:
    """Multi-head attention of ``d`` (separate query and key-value projections, so the
    same module serves self- and cross-attention) with an optional additive mask."""
    import torch

    nn = _nn()
    dh = d // heads

    class MHA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.kv, self.o = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)

        def forward(self, x: torch.Tensor, mem: torch.Tensor, mask: Any = None) -> torch.Tensor:
            nq, nk = x.shape[1], mem.shape[1]
            q = self.q(x).reshape(nq, heads, dh).transpose(0, 1)
            k, v = self.kv(mem).reshape(nk, 2, heads, dh).permute(1, 2, 0, 3)
            s = q @ k.transpose(1, 2) * dh**-0.5
            s = s if mask is None else s + mask
            return self.o((torch.softmax(s, -1) @ v).transpose(0, 1).reshape(1, nq, d))

    return MHA()


def marian(d: int, heads: int, layers: int, ff: int, src: int, tgt: int, vocab: int) -> Any:
    """A Transformer translation model as MarianMT ships it (Junczys-Dowmunt et al., ACL
    2018; the architecture of Vaswani et al., NeurIPS 2017) scoring (1, ``src`` +
    ``tgt``) ids, a source sentence and the shifted target: shared embeddings scaled by
    sqrt(``d``) plus sinusoidal positions; ``layers`` post-norm encoder layers
    (self-attention, a ReLU MLP of ``ff``); ``layers`` post-norm decoder layers (causal
    self-attention, cross-attention to the encoder output, the MLP); the tied output
    projection to ``vocab`` logits for every target position. Marian's opus-mt models
    are ``(512, 8, 6, 2048, ...)``."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self, cross: bool) -> None:
            super().__init__()
            self.self_attn = _mha(d, heads)
            self.cross = _mha(d, heads) if cross else None
            self.mlp = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3 if cross else 2))

        def forward(self, x: torch.Tensor, mem: Any = None, mask: Any = None) -> torch.Tensor:
            x = self.norms[0](x + self.self_attn(x, x, mask))
            if self.cross is not None:
                x = self.norms[1](x + self.cross(x, mem))
            return self.norms[-1](x + self.mlp(x))

    class Marian(nn.Module):
        pos: torch.Tensor
        causal: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.register_buffer("pos", _sinusoids(max(src, tgt), d))
            self.register_buffer("causal", torch.full((tgt, tgt), -1e9).triu(1))
            self.enc = nn.ModuleList(Layer(False) for _ in range(layers))
            self.dec = nn.ModuleList(Layer(True) for _ in range(layers))
            self.bias = nn.Parameter(torch.zeros(vocab))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x, vocab)
            h = self.embed(ids[:, :src]) * d**0.5 + self.pos[:src]
            for layer in self.enc:
                h = layer(h)
            y = self.embed(ids[:, src:]) * d**0.5 + self.pos[:tgt]
            for layer in self.dec:
                y = layer(y, h, self.causal)
            return y @ self.embed.weight.t() + self.bias

    return Marian()


def electra(emb: int, d: int, heads: int, layers: int, seq: int, vocab: int = 30522) -> Any:
    """An ELECTRA discriminator (Clark et al., ICLR 2020) on (1, ``seq``) token ids:
    word, position and token-type embeddings of ``emb`` with a layer norm, projected to
    ``d``; ``layers`` post-norm BERT layers (self-attention, a GELU MLP of 4 ``d``); the
    replaced-token head (a GELU dense layer and a per-token logit). ELECTRA-Small is
    ``(128, 256, 4, 12, ...)``."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = _mha(d, heads)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.attn(x, x))
            return self.n2(x + self.mlp(x))

    class Electra(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.pos = (
                nn.Embedding(vocab, emb),
                nn.Parameter(torch.randn(seq, emb) * 0.02),
            )
            self.tok_type = nn.Parameter(torch.randn(emb) * 0.02)
            self.norm, self.proj = nn.LayerNorm(emb), nn.Linear(emb, d)
            self.layers = nn.Sequential(*(Layer() for _ in range(layers)))
            self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.norm(self.word(_ids(x, vocab)) + self.pos + self.tok_type)
            return self.head(self.layers(self.proj(h)))[..., 0]

    return Electra()


def char_cnn(features: int, fc: int, seq: int = 1014, alphabet: int = 70, classes: int = 4) -> Any:
    """The character-level ConvNet of Zhang, Zhao & LeCun (NeurIPS 2015) classifying
    (1, ``seq``) characters (ids one-hot over ``alphabet``): six ReLU convs of
    ``features`` (7, 7, 3, 3, 3, 3 wide; max pooling by 3 after the first, second and
    sixth); two ReLU fully connected layers of ``fc`` and a classifier. The small model
    is ``(256, 1024)``, the large ``(1024, 2048)``."""
    import torch

    nn = _nn()
    n = ((seq - 6) // 3 - 6) // 3 - 8
    n //= 3

    class CharCNN(nn.Module):
        eye: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("eye", torch.eye(alphabet))
            layers: list[Any] = []
            for i, k in enumerate((7, 7, 3, 3, 3, 3)):
                layers += [nn.Conv1d(alphabet if i == 0 else features, features, k), nn.ReLU()]
                layers += [nn.MaxPool1d(3)] if i in (0, 1, 5) else []
            self.convs = nn.Sequential(*layers, nn.Flatten())
            self.fc = nn.Sequential(
                *(nn.Linear(features * n, fc), nn.ReLU()),
                *(nn.Linear(fc, fc), nn.ReLU()),
                nn.Linear(fc, classes),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            onehot = self.eye[_ids(x[0], alphabet)].t()[None]
            return self.fc(self.convs(onehot))

    return CharCNN()


def caser(seq: int, d: int, nh: int, nv: int, items: int, users: int) -> Any:
    """Caser (Tang & Wang, WSDM 2018) next-item scoring from (1, ``seq`` + 1) ids (the
    last ``seq`` items, then the user): the item embeddings as an ``seq`` x ``d`` image;
    ``nv`` vertical ``seq`` x 1 convs; for every height h in 1..``seq`` ``nh`` horizontal
    h x ``d`` ReLU convs max pooled over time; concatenated, a ReLU dense layer to ``d``,
    joined with the user embedding and scored against every one of ``items``."""
    import torch

    nn = _nn()

    class Caser(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item, self.user = nn.Embedding(items, d), nn.Embedding(users, d)
            self.vert = nn.Conv2d(1, nv, (seq, 1))
            self.horiz = nn.ModuleList(nn.Conv2d(1, nh, (h, d)) for h in range(1, seq + 1))
            self.fc = nn.Sequential(nn.Linear(nv * d + nh * seq, d), nn.ReLU())
            self.out = nn.Linear(2 * d, items)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.item(_ids(x[:, :seq], items))[:, None]  # (1, 1, seq, d)
            feats = [self.vert(e).flatten(1)]
            feats += [torch.relu(conv(e)).amax((2, 3)) for conv in self.horiz]
            z = self.fc(torch.cat(feats, 1))
            u = self.user(_ids(x[:, seq], users))
            return self.out(torch.cat([z, u], 1))

    return Caser()


def two_tower(
    history: int, cands: int, fields: int, rows: int, emb: int, dims: tuple[int, ...]
) -> Any:
    """A two-tower retrieval model (Yi et al., RecSys 2019; the YouTube candidate model
    of Covington et al., RecSys 2016) scoring (1, ``history`` + ``cands`` ``fields``)
    ids: the query tower (the mean embedding of the watched items and the embedding of
    the last, a ReLU MLP of ``dims``); the candidate tower (each candidate's ``fields``
    categorical features, hashed to ``rows`` rows of ``emb``, concatenated, the same-shaped
    MLP); both L2-normalised, cosine logits over the candidates divided by a temperature
    of 0.05."""
    import torch

    nn = _nn()

    def mlp(din: int) -> Any:
        layers: list[Any] = []
        for i, h in enumerate(dims):
            layers += [nn.Linear(din if i == 0 else dims[i - 1], h)]
            layers += [nn.ReLU()] if i < len(dims) - 1 else []
        return nn.Sequential(*layers)

    class TwoTower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item = nn.Embedding(rows, emb)
            self.fields = nn.Embedding(fields * rows, emb)
            self.query, self.cand = mlp(2 * emb), mlp(fields * emb)
            self.offsets = nn.Parameter(torch.arange(fields) * rows, requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hist = self.item(_ids(x[0, :history], rows))
            q = self.query(torch.cat([hist.mean(0), hist[-1]])[None])
            ids = _ids(x[0, history:].reshape(cands, fields), rows) + self.offsets
            c = self.cand(self.fields(ids).reshape(cands, fields * emb))
            q, c = nn.functional.normalize(q, dim=-1), nn.functional.normalize(c, dim=-1)
            return q @ c.t() / 0.05

    return TwoTower()


def saint(fields: int, cont: int, rows: int, d: int, depth: int, batch: int) -> Any:
    """SAINT (Somepalli et al., arXiv 2021) tabular classification of a (1, ``batch``,
    ``fields``) batch of rows, the first ``cont`` features continuous (each through its
    own ReLU MLP 1-100-``d``), the rest categorical (hashed to ``rows`` rows of ``d``),
    after a CLS token: ``depth`` stages of self-attention over the columns (8 heads of
    16, a GEGLU MLP of 4 ``d``, pre-norm) then intersample attention across the rows
    (each row's flattened embeddings, 8 heads of 64, a GEGLU MLP); an MLP on the CLS
    token."""
    import torch

    nn = _nn()
    n = fields + 1

    class Stage(nn.Module):
        def __init__(self, dim: int, heads: int, dh: int) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.o = (
                nn.Linear(dim, 3 * heads * dh, bias=False),
                nn.Linear(heads * dh, dim),
            )
            self.ff1, self.ff2 = nn.Linear(dim, 8 * dim), nn.Linear(4 * dim, dim)
            self.heads, self.dh = heads, dh

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            q, k, v = (
                self.qkv(self.n1(x)).reshape(b, t, 3, self.heads, self.dh).permute(2, 0, 3, 1, 4)
            )
            a = torch.softmax(q @ k.transpose(-1, -2) * self.dh**-0.5, -1) @ v
            x = x + self.o(a.transpose(1, 2).reshape(b, t, -1))
            h, g = self.ff1(self.n2(x)).chunk(2, -1)
            return x + self.ff2(h * nn.functional.gelu(g))

    class SAINT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w1 = nn.Parameter(torch.randn(cont, 100) * 0.1)
            self.b1 = nn.Parameter(torch.zeros(cont, 100))
            self.w2 = nn.Parameter(torch.randn(cont, 100, d) * 0.1)
            self.cat = nn.Embedding((fields - cont) * rows, d)
            self.offsets = nn.Parameter(torch.arange(fields - cont) * rows, requires_grad=False)
            self.cls = nn.Parameter(torch.randn(1, 1, d))
            self.col = nn.ModuleList(Stage(d, 8, 16) for _ in range(depth))
            self.row = nn.ModuleList(Stage(d * n, 8, 64) for _ in range(depth))
            self.head = nn.Sequential(nn.Linear(d, 1000), nn.ReLU(), nn.Linear(1000, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xc, xk = x[0, :, :cont], x[0, :, cont:]
            hc = torch.relu(xc[..., None] * self.w1 + self.b1)  # (batch, cont, 100)
            hc = (hc.transpose(0, 1) @ self.w2).transpose(0, 1)  # (batch, cont, d)
            hk = self.cat(_ids(xk, rows) + self.offsets)
            h = torch.cat([self.cls.expand(batch, 1, d), hc, hk], 1)
            for col, row in zip(self.col, self.row, strict=True):
                h = row(col(h).reshape(1, batch, n * d)).reshape(batch, n, d)
            return self.head(h[:, 0])

    return SAINT()


def gatv2(nodes: int, din: int, d: int, heads: int, layers: int, classes: int) -> Any:
    """GATv2 (Brody et al., ICLR 2022) node classification of a (1, ``nodes``, ``nodes``
    + ``din``) input (a dense adjacency, thresholded, symmetrised and with self loops,
    then node features): ``layers`` - 1 dynamic-attention layers of ``heads`` heads of
    ``d`` / ``heads`` (scores a^T LeakyReLU(W_s h_j + W_t h_i) over the neighbours,
    softmax, messages W_s h_j, heads concatenated, ELU) and a last one of one head to the
    classes."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self, cin: int, cout: int, h: int) -> None:
            super().__init__()
            self.src, self.dst = nn.Linear(cin, cout), nn.Linear(cin, cout)
            self.att = nn.Parameter(torch.randn(h, 1, 1, cout // h) * 0.1)
            self.bias = nn.Parameter(torch.zeros(cout))
            self.h, self.cout = h, cout

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            s = self.src(x).reshape(nodes, self.h, -1).transpose(0, 1)  # (h, n, c)
            t = self.dst(x).reshape(nodes, self.h, -1).transpose(0, 1)
            e = nn.functional.leaky_relu(t[:, :, None] + s[:, None], 0.2)  # (h, i, j, c)
            a = torch.softmax((e * self.att).sum(-1) + mask, -1)
            return (a @ s).transpose(0, 1).reshape(nodes, self.cout) + self.bias

    class GATv2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [din] + [d] * (layers - 1)
            self.layers = nn.ModuleList(Layer(a, d, heads) for a in dims[:-1])
            self.out = Layer(dims[-1], classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = (x[0, :, :nodes] > 1.5).float()
            a = ((a + a.t() + torch.eye(nodes)) > 0).float()
            mask = (1 - a) * -1e9
            h = x[0, :, nodes:]
            for layer in self.layers:
                h = nn.functional.elu(layer(h, mask))
            return self.out(h, mask)[None]

    return GATv2()


def _knn_gather(p: Any, q: Any, k: int) -> Any:
    """Indices (``q`` points, ``k``) of each query point's ``k`` nearest points of
    ``p``."""
    import torch

    d = (q * q).sum(-1, keepdim=True) - 2 * q @ p.t() + (p * p).sum(-1)[None]
    return torch.topk(-d, k, -1).indices


def _point_transformer_layer(c: int, k: int) -> Any:
    """The Point Transformer layer (Zhao et al., ICCV 2021): over each point's ``k``
    nearest neighbours, vector attention softmax(gamma(phi(x_i) - psi(x_j) + delta)) on
    alpha(x_j) + delta, delta a ReLU MLP of the relative position; inside a residual
    block of linear-BN-ReLUs."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin_in, self.lin_out = nn.Linear(c, c), nn.Linear(c, c)
            self.qkv = nn.Linear(c, 3 * c)
            self.delta = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, c))
            self.gamma = nn.Sequential(nn.Linear(c, c // 8), nn.ReLU(), nn.Linear(c // 8, c))

        def forward(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
            idx = _knn_gather(p, p, min(k, p.shape[0]))
            q, kk, v = self.qkv(torch.relu(self.lin_in(x))).chunk(3, -1)
            dlt = self.delta(p[:, None] - p[idx])  # (n, k, c)
            w = torch.softmax(self.gamma(q[:, None] - kk[idx] + dlt), 1)
            y = (w * (v[idx] + dlt)).sum(1)
            return x + self.lin_out(torch.relu(y))

    return Block()


def point_transformer(points: int, blocks: tuple[int, ...], classes: int, k: int = 16) -> Any:
    """Point Transformer (Zhao et al., ICCV 2021) classification of a (1, ``points``, 3)
    cloud: a linear-ReLU to 32; stages of 32, 64, 128, 256, 512 channels with
    ``blocks[i]`` Point Transformer layers, each stage after the first entered by a
    transition down (every fourth point kept, in place of farthest point sampling; a
    linear-ReLU on the ``k`` nearest previous points' features, max pooled); mean
    pooling and a ReLU MLP classifier."""
    import torch

    nn = _nn()
    chans = (32, 64, 128, 256, 512)[: len(blocks)]

    class PointTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Linear(3, 32), nn.ReLU())
            self.down = nn.ModuleList(
                nn.Sequential(nn.Linear(chans[i - 1] + 3, chans[i]), nn.ReLU())
                for i in range(1, len(chans))
            )
            self.stages = nn.ModuleList(
                nn.ModuleList(_point_transformer_layer(c, k) for _ in range(n))
                for c, n in zip(chans, blocks, strict=True)
            )
            self.head = nn.Sequential(nn.Linear(chans[-1], 256), nn.ReLU(), nn.Linear(256, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = x[0]
            h = self.stem(p)
            for i, stage in enumerate(self.stages):
                if i > 0:
                    q = p[::4]
                    idx = _knn_gather(p, q, k)
                    g = torch.cat([p[idx] - q[:, None], h[idx]], -1)
                    h, p = self.down[i - 1](g).amax(1), q
                for layer in stage:
                    h = layer(h, p)
            return self.head(h.mean(0, keepdim=True))

    return PointTransformer()


def itransformer(lookback: int, horizon: int, variates: int, d: int, layers: int, ff: int) -> Any:
    """iTransformer (Liu et al., ICLR 2024) forecasting a (1, ``lookback``, ``variates``)
    series: each variate normalised by its own mean and deviation and its whole history
    embedded by a linear layer as one token of ``d``; ``layers`` post-norm encoder layers
    (attention across the variates, 8 heads, a GELU MLP of ``ff``); a linear projection
    of each token to ``horizon`` steps, de-normalised; (1, ``horizon``, ``variates``)."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = _mha(d, 8)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.attn(x, x))
            return self.n2(x + self.mlp(x))

    class ITransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(lookback, d)
            self.layers = nn.Sequential(*(Layer() for _ in range(layers)))
            self.norm, self.proj = nn.LayerNorm(d), nn.Linear(d, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean = x.mean(1, keepdim=True)
            std = torch.sqrt(((x - mean) ** 2).mean(1, keepdim=True) + 1e-5)
            tokens = self.embed(((x - mean) / std).transpose(1, 2))
            y = self.proj(self.norm(self.layers(tokens))).transpose(1, 2)
            return y * std + mean

    return ITransformer()


def _coupling(c: int, width: int, blocks: int, mask: Any) -> Any:
    """A RealNVP affine coupling on ``c`` channels: the masked input (``mask`` is a
    checkerboard of the pixels, or None for a split of the channels) through a ResNet of
    ``blocks`` 3x3 conv blocks of ``width`` (BN, ReLU) to a tanh-bounded scale and a
    translation of the other part; returns the output and its log-determinant."""
    import torch

    nn = _nn()
    cin, cout = (c, 2 * c) if mask is not None else (c // 2, c)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(_cbr(width, width, 3, act=nn.ReLU), _cbr(width, width, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x + self.body(x))

    class Coupling(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                _cbr(cin, width, 3, act=nn.ReLU),
                *(Block() for _ in range(blocks)),
                nn.Conv2d(width, cout, 3, 1, 1),
            )
            self.scale = nn.Parameter(torch.ones(1, cout // 2, 1, 1))
            self.register_buffer("mask", mask if mask is not None else torch.zeros(1))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if mask is not None:
                xa = x * self.mask
                s, t = self.net(xa).chunk(2, 1)
                s = self.scale * torch.tanh(s) * (1 - self.mask)
                y = xa + (1 - self.mask) * (x * torch.exp(s) + t)
            else:
                xa, xb = x.chunk(2, 1)
                s, t = self.net(xa).chunk(2, 1)
                s = self.scale * torch.tanh(s)
                y = torch.cat([xa, xb * torch.exp(s) + t], 1)
            return y, s.sum((1, 2, 3))

    return Coupling()


def _squeeze(x: Any) -> Any:
    """RealNVP's squeeze: each 2x2 block of pixels into four times the channels."""
    return _nn().functional.pixel_unshuffle(x, 2)


def realnvp(c: int, size: int, scales: int, width: int, blocks: int) -> Any:
    """RealNVP (Dinh et al., ICLR 2017) density evaluation of a (1, ``c``, ``size``,
    ``size``) image: ``scales`` - 1 scales of three checkerboard couplings, a squeeze,
    three channel-wise couplings and half the channels factored out; four checkerboard
    couplings at the last scale (alternating masks, ResNet coupling nets of ``blocks``
    blocks of ``width``); the latent (flattened) and the log-determinant."""
    import torch

    nn = _nn()

    def checker(ch: int, n: int, flip: bool) -> Any:
        m = ((torch.arange(n)[:, None] + torch.arange(n)[None]) % 2).float()
        return (1 - m if flip else m).expand(1, ch, n, n).clone()

    class RealNVP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stages, ch, n = [], c, size
            for _ in range(scales - 1):
                stage = [_coupling(ch, width, blocks, checker(ch, n, i % 2 == 1)) for i in range(3)]
                stage += [_coupling(4 * ch, width, blocks, None) for _ in range(3)]
                stages.append(nn.ModuleList(stage))
                ch, n = 2 * ch, n // 2
            self.stages = nn.ModuleList(stages)
            self.last = nn.ModuleList(
                _coupling(ch, width, blocks, checker(ch, n, i % 2 == 1)) for i in range(4)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            zs, logdet = [], torch.zeros(1)
            for stage in self.stages:
                for i, layer in enumerate(stage):
                    if i == 3:
                        x = _squeeze(x)
                    if i >= 4:  # alternate which half the channel-wise couplings change
                        x = torch.cat(x.chunk(2, 1)[::-1], 1)
                    x, ld = layer(x)
                    logdet = logdet + ld
                z, x = x.chunk(2, 1)
                zs.append(z.flatten(1))
            for layer in self.last:
                x, ld = layer(x)
                logdet = logdet + ld
            return torch.cat([*zs, x.flatten(1), logdet[:, None]], 1)

    return RealNVP()


def _vae_resblock(cin: int, cout: int) -> Any:
    """The latent-diffusion autoencoder's residual block: GroupNorm(32)-SiLU-3x3 conv
    twice; a 1x1 conv shortcut when the width changes."""
    import torch

    nn = _nn()

    class ResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *(nn.GroupNorm(32, cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, 1, 1)),
                *(nn.GroupNorm(32, cout), nn.SiLU(), nn.Conv2d(cout, cout, 3, 1, 1)),
            )
            self.short = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.short(x) + self.body(x)

    return ResBlock()


def _vae_attention(c: int) -> Any:
    """The autoencoder's single-head spatial self-attention (GroupNorm, 1x1 q, k, v, a
    softmax over all pixels, a 1x1 projection, residual)."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.GroupNorm(32, c)
            self.qkv, self.proj = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            _, _, h, w = x.shape
            q, k, v = self.qkv(self.norm(x)).reshape(3, c, h * w)
            a = torch.softmax(q.t() @ k * c**-0.5, -1)  # (hw, hw)
            return x + self.proj((v @ a.t()).reshape(1, c, h, w))

    return Attention()


def ldm_vae_decoder(ch: int, mults: tuple[int, ...], res_blocks: int, zc: int = 4) -> Any:
    """The decoder of the KL-regularised autoencoder of latent diffusion (Rombach et
    al., CVPR 2022; Stable Diffusion's VAE is ``(128, (1, 2, 4, 4), 2)``) from a (1,
    ``zc``, h, w) latent: a post-quant 1x1 conv, a 3x3 conv to ``ch`` ``mults[-1]``; a
    middle of a residual block, self-attention and a residual block; per level from the
    deepest ``res_blocks`` + 1 residual blocks and (except the last) a nearest x2
    upsampling with a 3x3 conv; GroupNorm, SiLU and a 3x3 conv to RGB."""
    nn = _nn()
    c = ch * mults[-1]
    layers: list[Any] = [nn.Conv2d(zc, zc, 1), nn.Conv2d(zc, c, 3, 1, 1)]
    layers += [_vae_resblock(c, c), _vae_attention(c), _vae_resblock(c, c)]
    for i, m in reversed(list(enumerate(mults))):
        for _ in range(res_blocks + 1):
            layers.append(_vae_resblock(c, ch * m))
            c = ch * m
        if i > 0:
            layers += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c, c, 3, 1, 1)]
    layers += [nn.GroupNorm(32, c), nn.SiLU(), nn.Conv2d(c, 3, 3, 1, 1)]
    return nn.Sequential(*layers)


def beta_vae_decoder(z: int, chans: tuple[int, ...], out: int) -> Any:
    """The beta-VAE decoder (Higgins et al., ICLR 2017; Burgess et al., "Understanding
    disentangling in beta-VAE", 2018) from a (1, ``z``) latent to a 64x64 image: ReLU
    dense layers of 256, 256 and 4x4x``chans[0]``; four 4x4 stride-2 transposed convs
    (to ``chans[1:]`` and ``out``, ReLUs between) and a sigmoid. Burgess et al.'s
    dSprites decoder is ``(10, (32, 32, 32, 32), 1)``, the CelebA one of Higgins et al.
    ``(32, (64, 64, 32, 32), 3)``."""
    nn = _nn()
    layers: list[Any] = [nn.Linear(z, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU()]
    layers += [nn.Linear(256, 16 * chans[0]), nn.ReLU(), nn.Unflatten(1, (chans[0], 4, 4))]
    outs = [*chans[1:], out]
    for i, (a, b) in enumerate(zip(chans, outs, strict=True)):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1)] + ([nn.ReLU()] if i < 3 else [])
    return nn.Sequential(*layers, nn.Sigmoid())


def _periodic_mesh(n: int) -> tuple[Any, Any, Any]:
    """A periodic triangulated ``n`` x ``n`` grid mesh: every node has six neighbours.
    Returns the senders and receivers of its 6 n^2 directed edges (grouped by receiver)
    and the edges' relative displacements and lengths (6 n^2, 3)."""
    import torch

    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    recv = (i * n + j).flatten()
    offsets = [(0, 1), (1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1)]
    send = torch.stack([(((i + a) % n) * n + (j + b) % n).flatten() for a, b in offsets], 1)
    disp = torch.tensor([[b + a / 2, a * math.sqrt(3) / 2] for a, b in offsets]) / n
    disp = disp[None].expand(n * n, 6, 2)
    feats = torch.cat([disp, disp.norm(dim=-1, keepdim=True)], -1).reshape(-1, 3)
    return send.flatten(), recv.repeat_interleave(6), feats


def _mgn_mlp(din: int, d: int, out: int | None = None) -> Any:
    """A MeshGraphNets MLP: two ReLU hidden layers of ``d``, an output of ``d`` (or
    ``out``), then a layer norm unless ``out`` is given (the decoder)."""
    nn = _nn()
    layers = [nn.Linear(din, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, out or d)]
    return nn.Sequential(*layers, *([] if out else [nn.LayerNorm(d)]))


def meshgraphnet(n: int, din: int, d: int, steps: int, out: int) -> Any:
    """MeshGraphNets (Pfaff et al., ICLR 2021) one-step simulation on a periodic ``n`` x
    ``n`` triangle mesh from (1, n^2, ``din``) node features (e.g. velocity and node
    type): node and mesh-edge encoders (edges from the relative rest positions and
    lengths) to ``d``; ``steps`` message-passing steps (each edge updated from itself and
    its two nodes, each node from itself and the sum of its incoming edges, both
    residual); a decoder MLP to ``out`` per node (e.g. the acceleration)."""
    import torch

    nn = _nn()
    send, recv, efeat = _periodic_mesh(n)
    nodes = n * n

    class MeshGraphNet(nn.Module):
        send: torch.Tensor
        recv: torch.Tensor
        efeat: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("send", send)
            self.register_buffer("recv", recv)
            self.register_buffer("efeat", efeat)
            self.node_enc, self.edge_enc = _mgn_mlp(din, d), _mgn_mlp(3, d)
            self.edge_mlps = nn.ModuleList(_mgn_mlp(3 * d, d) for _ in range(steps))
            self.node_mlps = nn.ModuleList(_mgn_mlp(2 * d, d) for _ in range(steps))
            self.dec = _mgn_mlp(d, d, out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, e = self.node_enc(x[0]), self.edge_enc(self.efeat)
            for edge_mlp, node_mlp in zip(self.edge_mlps, self.node_mlps, strict=True):
                e = e + edge_mlp(torch.cat([e, h[self.send], h[self.recv]], -1))
                agg = e.reshape(nodes, 6, d).sum(1)  # edges are grouped by receiver
                h = h + node_mlp(torch.cat([h, agg], -1))
            return self.dec(h)[None]

    return MeshGraphNet()


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the fourteenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image and video models."""
    return [
        ("hourglass", "hourglass2_c128_128", partial(stacked_hourglass, 2, 128, 16), _image(128)),
        (
            "hourglass",
            "hourglass1_c96_d3_128x96",
            partial(stacked_hourglass, 1, 96, 17, 3),
            _image(128, 96),
        ),
        ("modnet", "modnet_hr32_192x160", partial(modnet, 32), _image(192, 160)),
        ("modnet", "modnet_hr16_256", partial(modnet, 16), _image(256)),
        ("edsr", "edsr_baseline_x2_32x48", partial(edsr, 16, 64, 2), _image(32, 48)),
        ("edsr", "edsr_b8_c32_x4_48x64", partial(edsr, 8, 32, 4), _image(48, 64)),
        ("cain", "cain_g2_b4_96x160", partial(cain, 2, 4), (1, 6, 96, 160)),
        ("east", "east_vgg16x0.25_256", partial(east, 0.25), _image(256)),
        ("xcit", "xcit_n12_p16_224", partial(xcit, 128, 12, 4, 224), _image(224)),
        ("xcit", "xcit_t12_p16_160", partial(xcit, 192, 12, 4, 160), _image(160)),
        ("darts", "darts_v2_cifar_c16_l8", partial(darts, 16, 8, 10, False), _image(32)),
        ("darts", "darts_v2_imagenet_c48_l14_160", partial(darts, 48, 14, 1000, True), _image(160)),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The audio, text and time-series models."""
    return [
        ("melgan", "melgan_ngf32_32frames", partial(melgan, 32, (8, 8, 2, 2)), (1, 80, 32)),
        ("melgan", "melgan_ngf16_64frames", partial(melgan, 16, (8, 8, 2, 2)), (1, 80, 64)),
        ("matchboxnet", "matchboxnet_3x1x64_128f", partial(matchboxnet, 3, 1, 64), (1, 64, 128)),
        ("matchboxnet", "matchboxnet_6x2x64_128f", partial(matchboxnet, 6, 2, 64), (1, 64, 128)),
        ("crn", "crn_161_48frames", partial(crn), (1, 1, 48, 161)),
        (
            "marian",
            "marian_d512_l6_s32_v8k",
            partial(marian, 512, 8, 6, 2048, 32, 32, 8000),
            (1, 64),
        ),
        (
            "marian",
            "marian_d256_l3_s64_v16k",
            partial(marian, 256, 4, 3, 1024, 64, 64, 16000),
            (1, 128),
        ),
        ("electra", "electra_small_s128", partial(electra, 128, 256, 4, 12, 128), (1, 128)),
        ("charcnn", "charcnn_small_1014", partial(char_cnn, 256, 1024), (1, 1014)),
        ("charcnn", "charcnn_large_256", partial(char_cnn, 1024, 2048, 256), (1, 256)),
        (
            "itransformer",
            "itransformer_ecl_96_96_c321",
            partial(itransformer, 96, 96, 321, 512, 3, 512),
            (1, 96, 321),
        ),
        (
            "itransformer",
            "itransformer_weather_96_96_c21",
            partial(itransformer, 96, 96, 21, 512, 3, 512),
            (1, 96, 21),
        ),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, tabular, graph, point-cloud, generative and simulation
    models."""
    return [
        ("caser", "caser_l5_d50_40k", partial(caser, 5, 50, 16, 4, 40000, 30000), (1, 6)),
        (
            "two_tower",
            "two_tower_h50_c1024",
            partial(two_tower, 50, 1024, 4, 20000, 32, (256, 128, 64)),
            (1, 50 + 4096),
        ),
        ("saint", "saint_adult_l1_b64", partial(saint, 14, 6, 100, 32, 1, 64), (1, 64, 14)),
        ("saint", "saint_adult_l2_b128", partial(saint, 14, 6, 100, 32, 2, 128), (1, 128, 14)),
        ("gatv2", "gatv2_h8_n256", partial(gatv2, 256, 64, 64, 8, 2, 7), (1, 256, 320)),
        ("gatv2", "gatv2_d128_h4_l3_n320", partial(gatv2, 320, 32, 128, 4, 3, 16), (1, 320, 352)),
        (
            "point_transformer",
            "pt_cls_1024",
            partial(point_transformer, 1024, (1, 1, 1, 1, 1), 40),
            (1, 1024, 3),
        ),
        ("realnvp", "realnvp_cifar_w32_b2", partial(realnvp, 3, 32, 2, 32, 2), (1, 3, 32, 32)),
        (
            "ldm_vae",
            "ldm_vae_dec_ch32_8x8",
            partial(ldm_vae_decoder, 32, (1, 2, 4, 4), 2),
            (1, 4, 8, 8),
        ),
        (
            "betavae",
            "beta_vae_dec_celeba_z32",
            partial(beta_vae_decoder, 32, (64, 64, 32, 32), 3),
            (1, 32),
        ),
        (
            "meshgraphnet",
            "mgn_16x16_d128_s5",
            partial(meshgraphnet, 16, 11, 128, 5, 2),
            (1, 256, 11),
        ),
    ]
