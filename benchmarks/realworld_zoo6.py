"""A sixth held-out zoo of real-world architectures (plain torch), written after the
fifth zoo (benchmarks/realworld_zoo5.py) had been scored.

Like the second to fifth, it is written before any prediction of it, committed, and then
scored once with the kernel predictor frozen; nothing in the library is fitted, tuned or
chosen on it. About half of it is families none of the five earlier zoos has (DLA-34's
tree aggregation, VoVNetV2's one-shot aggregation with eSE, EfficientFormer's pooling and
attention meta-blocks, Fast-SCNN segmentation with a pyramid pooling module and bilinear
upsampling, a WaveNet-like gated dilated causal 1-D net, a CRNN text recogniser with a
linear sequence head, a Perceiver-like latent cross-attention net, a DCGAN generator of
transposed convs, ESRGAN's residual-in-residual dense blocks, DGCNN's k-nearest-neighbour
edge convs on a point cloud, a normalizer-free NFNet-like net, a HiFi-GAN vocoder and a
DeepSpeech2-like speech net of large 2-D convs and a lookahead row conv); the other half
is the earlier zoos' families at widths, depths, sequence lengths and input shapes none
of them has (several non-square, some tiny). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV3,
    Builder,
    _cbr,
    _encoder_layer,
    _inverted,
    _nn,
    mobilenet,
    text_encoder,
)
from realworld_zoo2 import _bn1, ds_cnn, regnet, squeezenet
from realworld_zoo3 import _image, mobilevit, poolformer
from realworld_zoo4 import csp_darknet_tiny, levit, pointnet, swin


def _dla_tree(levels: int, cin: int, cout: int, s: int, level_root: bool, root_dim: int) -> Any:
    """DLA's aggregation tree: at one level two basic blocks (3x3 convs, the first strided,
    a max-pooled and 1x1-projected shortcut) whose outputs, and the tree's pooled input
    when ``level_root``, are concatenated by a root (1x1 conv-BN-ReLU); deeper levels
    nest two trees, the second's root also taking the first's output."""
    import torch

    nn = _nn()
    root_dim = (root_dim or 2 * cout) + (cin if level_root else 0)

    class Basic(nn.Module):
        def __init__(self, a: int, b: int, stride: int) -> None:
            super().__init__()
            self.f = nn.Sequential(_cbr(a, b, 3, stride, act=nn.ReLU), _cbr(b, b, 3))

        def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.f(x) + residual)

    class Tree(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.MaxPool2d(s, s) if s > 1 else nn.Identity()
            if levels == 1:
                self.t1, self.t2 = Basic(cin, cout, s), Basic(cout, cout, 1)
                self.project = _cbr(cin, cout, 1) if cin != cout else nn.Identity()
                self.root = _cbr(root_dim, cout, 1, act=nn.ReLU)
            else:
                self.t1 = _dla_tree(levels - 1, cin, cout, s, False, 0)
                self.t2 = _dla_tree(levels - 1, cout, cout, 1, False, root_dim + cout)

        def forward(self, x: torch.Tensor, children: list[Any] | None = None) -> torch.Tensor:
            children = [] if children is None else children
            bottom = self.down(x)
            if level_root:
                children.append(bottom)
            if levels == 1:
                x1 = self.t1(x, self.project(bottom))
                return self.root(torch.cat([self.t2(x1, x1), x1, *children], 1))
            x1 = self.t1(x)
            return self.t2(x1, [*children, x1])

    return Tree()


def dla(chans: tuple[int, ...], levels: tuple[int, ...]) -> Any:
    """DLA-like (deep layer aggregation): a 7x7 conv, a 3x3 conv and a 3x3 stride-2 conv
    (``chans[:3]``), then strided aggregation trees of ``levels[2:]`` levels (each but the
    first also aggregating its pooled input), pooling and a classifier; DLA-34 is
    ``((16, 32, 64, 128, 256, 512), (1, 1, 1, 2, 2, 1))``."""
    nn = _nn()
    c0, c1 = chans[0], chans[1]
    layers: list[Any] = [_cbr(3, c0, 7, act=nn.ReLU), _cbr(c0, c0, 3, act=nn.ReLU)]
    layers.append(_cbr(c0, c1, 3, 2, act=nn.ReLU))
    for i in range(2, len(chans)):
        layers.append(_dla_tree(levels[i], chans[i - 1], chans[i], 2, i > 2, 0))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chans[-1], 1000)]
    return nn.Sequential(*layers)


def _osa(cin: int, mid: int, cout: int, layers: int, identity: bool) -> Any:
    """VoVNetV2's one-shot aggregation module: a chain of ``layers`` 3x3 conv-BN-ReLUs of
    ``mid`` whose outputs and the input are concatenated once, a 1x1 conv to ``cout``, an
    effective SE gate (global pool, one 1x1 conv, hard sigmoid), an identity shortcut
    when ``identity``."""
    import torch

    nn = _nn()

    class OSA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                _cbr(cin if i == 0 else mid, mid, 3, act=nn.ReLU) for i in range(layers)
            )
            self.concat = _cbr(cin + layers * mid, cout, 1, act=nn.ReLU)
            self.ese = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Conv2d(cout, cout, 1), nn.Hardsigmoid()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            outs = [x]
            for conv in self.convs:
                outs.append(conv(outs[-1]))
            y = self.concat(torch.cat(outs, 1))
            y = y * self.ese(y)
            return x + y if identity else y

    return OSA()


def vovnet(
    mids: tuple[int, ...], outs: tuple[int, ...], layers: int, blocks: tuple[int, ...]
) -> Any:
    """VoVNetV2-like: a stem of 3x3 convs (64 stride 2, 64, 128 stride 2), stages of OSA
    modules (``mids``, ``outs``; a 3x3 stride-2 ceil-mode max pool before every stage but
    the first), pooling and a classifier; VoVNetV2-19-slim is ``((64, 80, 96, 112),
    (112, 256, 384, 512), 3, (1, 1, 1, 1))``."""
    nn = _nn()
    seq: list[Any] = [_cbr(3, 64, 3, 2, act=nn.ReLU), _cbr(64, 64, 3, act=nn.ReLU)]
    seq.append(_cbr(64, 128, 3, 2, act=nn.ReLU))
    c = 128
    for i, (mid, out, n) in enumerate(zip(mids, outs, blocks, strict=True)):
        if i:
            seq.append(nn.MaxPool2d(3, 2, ceil_mode=True))
        for j in range(n):
            seq.append(_osa(c, mid, out, layers, j > 0))
            c = out
    seq += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]
    return nn.Sequential(*seq)


def _meta4d(d: int) -> Any:
    """EfficientFormer's Meta4D block: a 3x3 average pool minus its input as the token
    mixer, a 1x1-conv MLP of 4d (BN, GELU); each half scaled per channel and residual."""
    import torch

    nn = _nn()

    class Meta4D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
            self.mlp = nn.Sequential(
                *(nn.Conv2d(d, 4 * d, 1), nn.BatchNorm2d(4 * d), nn.GELU()),
                *(nn.Conv2d(4 * d, d, 1), nn.BatchNorm2d(d)),
            )
            self.g1 = nn.Parameter(torch.full((d, 1, 1), 1e-2))
            self.g2 = nn.Parameter(torch.full((d, 1, 1), 1e-2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.g1 * (self.pool(x) - x)
            return x + self.g2 * self.mlp(x)

    return Meta4D()


def _meta3d(d: int, n: int, heads: int = 8, kd: int = 32) -> Any:
    """EfficientFormer's Meta3D block on (1, n, d) tokens: layer norm, attention of
    ``heads`` with ``kd``-wide queries and keys, 4 * ``kd``-wide values and a learned
    per-head bias; layer norm, a GELU MLP of 4d; each half scaled per channel."""
    import torch

    nn = _nn()
    dv = 4 * kd

    class Meta3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, heads * (2 * kd + dv)), nn.Linear(heads * dv, d)
            self.bias = nn.Parameter(torch.zeros(heads, n, n))
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.g1, self.g2 = nn.Parameter(torch.full((d,), 1e-2)), nn.Parameter(torch.ones(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            qkv = self.qkv(self.n1(x)).reshape(1, n, heads, -1).permute(0, 2, 1, 3)
            q, k, v = qkv.split([kd, kd, dv], dim=-1)
            a = torch.softmax(q @ k.transpose(-2, -1) * kd**-0.5 + self.bias, dim=-1)
            x = x + self.g1 * self.proj((a @ v).transpose(1, 2).reshape(1, n, heads * dv))
            return x + self.g2 * self.mlp(self.n2(x))

    return Meta3D()


def efficientformer(dims: tuple[int, ...], depths: tuple[int, ...], h: int, w: int) -> Any:
    """EfficientFormer-like on an ``h`` x ``w`` image: two 3x3 stride-2 conv-BN-ReLUs,
    stages of Meta4D blocks joined by 3x3 stride-2 conv-BN embeddings, the last block of
    the last stage a Meta3D attention block on the flattened stride-32 map; layer norm,
    mean-pooled tokens and a classifier; EfficientFormer-L1 is ``((48, 96, 224, 448),
    (3, 2, 6, 4))``."""
    import torch

    nn = _nn()
    d0, dl = dims[0], dims[-1]
    n = (h // 32) * (w // 32)

    class EfficientFormer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [_cbr(3, d0 // 2, 3, 2, act=nn.ReLU)]
            layers.append(_cbr(d0 // 2, d0, 3, 2, act=nn.ReLU))
            for i, (d, k) in enumerate(zip(dims, depths, strict=True)):
                if i:
                    layers.append(_cbr(dims[i - 1], d, 3, 2))
                layers += [_meta4d(d) for _ in range(k - (1 if i == len(dims) - 1 else 0))]
            self.convs = nn.Sequential(*layers)
            self.attn = _meta3d(dl, n)
            self.norm, self.head = nn.LayerNorm(dl), nn.Linear(dl, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.attn(self.convs(x).flatten(2).transpose(1, 2))
            return self.head(self.norm(x).mean(1))

    return EfficientFormer()


def _dsconv(cin: int, cout: int, s: int = 1) -> Any:
    """Fast-SCNN's depthwise-separable conv: a 3x3 depthwise and a 1x1 conv, BN-ReLU each."""
    nn = _nn()
    return nn.Sequential(_cbr(cin, cin, 3, s, g=cin, act=nn.ReLU), _cbr(cin, cout, 1, act=nn.ReLU))


def fast_scnn(classes: int, h: int, w: int) -> Any:
    """Fast-SCNN on an ``h`` x ``w`` image: learning to downsample (a 3x3 stride-2 conv and
    two strided separable convs to 1/8), a global feature extractor of MobileNetV2 blocks
    (64, 96, 128; the first zoo's) to 1/32, a pyramid pooling module (average pools to
    1, 2, 3 and 6 cells, 1x1 convs, bilinear upsampling, concatenation, a 1x1 conv), a
    feature fusion (the low-resolution path upsampled x4, a depthwise conv, added to the
    1/8 path) and a classifier of two separable convs and a 1x1 conv, upsampled to the
    input size."""
    import torch

    nn = _nn()
    f = nn.functional
    lo = (h // 32, w // 32)

    def stage(cin: int, cout: int, s: int) -> list[Any]:
        return [
            _inverted(c, cout, 3, s if i == 0 else 1, 6, nn.ReLU, None)
            for i, c in enumerate((cin, cout, cout))
        ]

    class FastSCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Sequential(
                _cbr(3, 32, 3, 2, act=nn.ReLU), _dsconv(32, 48, 2), _dsconv(48, 64, 2)
            )
            self.gfe = nn.Sequential(*stage(64, 64, 2), *stage(64, 96, 2), *stage(96, 128, 1))
            self.pools = nn.ModuleList(
                nn.Sequential(nn.AdaptiveAvgPool2d(b), _cbr(128, 32, 1, act=nn.ReLU))
                for b in (1, 2, 3, 6)
            )
            self.ppm = _cbr(256, 128, 1, act=nn.ReLU)
            self.low = nn.Sequential(_cbr(128, 128, 3, g=128, act=nn.ReLU), _cbr(128, 128, 1))
            self.high = _cbr(64, 128, 1)
            self.cls = nn.Sequential(
                _dsconv(128, 128), _dsconv(128, 128), nn.Conv2d(128, classes, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hi = self.down(x)
            g = self.gfe(hi)
            ups = [f.interpolate(p(g), lo, mode="bilinear", align_corners=True) for p in self.pools]
            g = self.ppm(torch.cat([g, *ups], 1))
            g = f.interpolate(g, scale_factor=4, mode="bilinear", align_corners=True)
            y = self.cls(torch.relu(self.high(hi) + self.low(g)))
            return f.interpolate(y, (h, w), mode="bilinear", align_corners=True)

    return FastSCNN()


def wavenet(res: int, skip: int, stacks: int, layers: int, classes: int) -> Any:
    """A WaveNet-like net on a (1, 1, samples) waveform: a 2-tap causal conv to ``res``,
    ``stacks`` x ``layers`` gated residual layers (a left-padded 2-tap conv of dilation
    1 ... 2^(layers-1) to 2 * ``res``, tanh times sigmoid, a 1x1 residual conv and a 1x1
    skip conv to ``skip``), the summed skips through ReLU-1x1 conv twice to ``classes``
    logits per sample."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                nn.ConstantPad1d((d, 0), 0.0), nn.Conv1d(res, 2 * res, 2, dilation=d)
            )
            self.res, self.skip = nn.Conv1d(res, res, 1), nn.Conv1d(res, skip, 1)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            a, b = self.conv(x).chunk(2, 1)
            y = torch.tanh(a) * torch.sigmoid(b)
            return x + self.res(y), self.skip(y)

    class WaveNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Sequential(nn.ConstantPad1d((1, 0), 0.0), nn.Conv1d(1, res, 2))
            self.layers = nn.ModuleList(Layer(2**i) for _ in range(stacks) for i in range(layers))
            self.out = nn.Sequential(
                *(nn.ReLU(), nn.Conv1d(skip, skip, 1)),
                *(nn.ReLU(), nn.Conv1d(skip, classes, 1)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.first(x)
            total = None
            for layer in self.layers:
                x, s = layer(x)
                total = s if total is None else total + s
            return self.out(total)

    return WaveNet()


def crnn(width: int, hidden: int, classes: int) -> Any:
    """A CRNN text recogniser on a (1, 1, 32, w) grayscale word image: CRNN's VGG-like
    convs (``width`` doubling to 8 * ``width``; 2x2 max pools, then 2x2 pools of stride
    (2, 1) that keep the width, BN on three convs, a final 2x2 valid conv) to a one-row
    map, read as a sequence by a two-layer linear head (in place of the BiLSTM) and a log
    softmax over ``classes`` per column."""
    import torch

    nn = _nn()
    w1, w2, w4, w8 = width, 2 * width, 4 * width, 8 * width

    def conv(cin: int, cout: int, bn: bool, k: int = 3) -> list[Any]:
        out = [nn.Conv2d(cin, cout, k, 1, 1 if k == 3 else 0)]
        return out + [nn.BatchNorm2d(cout), nn.ReLU()] if bn else out + [nn.ReLU()]

    class CRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.Sequential(
                *(*conv(1, w1, False), nn.MaxPool2d(2, 2)),
                *(*conv(w1, w2, False), nn.MaxPool2d(2, 2)),
                *(*conv(w2, w4, True), *conv(w4, w4, False), nn.MaxPool2d(2, (2, 1), (0, 1))),
                *(*conv(w4, w8, True), *conv(w8, w8, False), nn.MaxPool2d(2, (2, 1), (0, 1))),
                *conv(w8, w8, True, 2),
            )
            self.head = nn.Sequential(nn.Linear(w8, hidden), nn.ReLU(), nn.Linear(hidden, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seq = self.convs(x).squeeze(2).permute(2, 0, 1)
            return torch.log_softmax(self.head(seq), dim=-1)

    return CRNN()


def perceiver(cin: int, latents: int, d: int, heads: int, layers: int, classes: int) -> Any:
    """A Perceiver-like classifier on (1, inputs, ``cin``) input features: a learned
    (``latents``, ``d``) latent array cross-attends (one head, layer norms on both sides)
    to the inputs, a GELU MLP, ``layers`` pre-norm self-attention layers over the latents
    (the first zoo's), a layer norm, mean pooling and a classifier."""
    import torch

    nn = _nn()

    class Perceiver(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.latents = nn.Parameter(torch.randn(1, latents, d) * 0.02)
            self.nx, self.nl, self.nm = nn.LayerNorm(cin), nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.kv, self.o = nn.Linear(d, d), nn.Linear(cin, 2 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            k, v = self.kv(self.nx(x)).chunk(2, -1)
            q = self.q(self.nl(self.latents))
            a = torch.softmax(q @ k.transpose(-2, -1) * d**-0.5, dim=-1)
            z = self.latents + self.o(a @ v)
            z = self.blocks(z + self.mlp(self.nm(z)))
            return self.head(self.norm(z).mean(1))

    return Perceiver()


def dcgan_generator(z: int, g: int) -> Any:
    """The DCGAN generator on a (1, ``z``, 1, 1) latent: a 4x4 transposed conv to 8g
    channels at 4x4, three 4x4 stride-2 transposed convs halving the channels (BN, ReLU
    each) and a last one to a tanh RGB image of 64x64."""
    nn = _nn()

    def up(cin: int, cout: int, s: int, p: int) -> list[Any]:
        return [nn.ConvTranspose2d(cin, cout, 4, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *up(z, 8 * g, 1, 0),
        *up(8 * g, 4 * g, 2, 1),
        *up(4 * g, 2 * g, 2, 1),
        *up(2 * g, g, 2, 1),
        nn.ConvTranspose2d(g, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def _rrdb(nf: int, gc: int) -> Any:
    """ESRGAN's residual-in-residual dense block: three residual dense blocks (five 3x3
    convs, each on the concatenation of the block's input and all earlier outputs, ``gc``
    channels and LeakyReLU(0.2) but the last, which returns to ``nf``; the output scaled by
    0.2 and added), the whole scaled by 0.2 and added."""
    import torch

    nn = _nn()

    class RDB(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(nf + i * gc, gc if i < 4 else nf, 3, 1, 1) for i in range(5)
            )
            self.act = nn.LeakyReLU(0.2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = [x]
            for conv in self.convs[:-1]:
                feats.append(self.act(conv(torch.cat(feats, 1))))
            return x + 0.2 * self.convs[-1](torch.cat(feats, 1))

    class RRDB(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(RDB(), RDB(), RDB())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + 0.2 * self.f(x)

    return RRDB()


def esrgan(nf: int, gc: int, blocks: int) -> Any:
    """ESRGAN-like x4 super-resolution (the RRDBNet of Real-ESRGAN, slimmed): a 3x3 conv
    to ``nf``, ``blocks`` RRDBs and a 3x3 conv added to it, two nearest x2 upsamplings
    each followed by a 3x3 conv and LeakyReLU(0.2), a 3x3 conv with LeakyReLU and a 3x3
    conv to RGB."""
    import torch

    nn = _nn()

    def up() -> list[Any]:
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(nf, nf, 3, 1, 1),
            nn.LeakyReLU(0.2),
        ]

    class ESRGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Conv2d(3, nf, 3, 1, 1)
            self.body = nn.Sequential(
                *[_rrdb(nf, gc) for _ in range(blocks)], nn.Conv2d(nf, nf, 3, 1, 1)
            )
            self.tail = nn.Sequential(
                *up(),
                *up(),
                *(nn.Conv2d(nf, nf, 3, 1, 1), nn.LeakyReLU(0.2)),
                nn.Conv2d(nf, 3, 3, 1, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.first(x)
            return self.tail(y + self.body(y))

    return ESRGAN()


def _edge_conv(cin: int, cout: int, points: int, k: int) -> Any:
    """DGCNN's EdgeConv on (1, ``cin``, points) features: the ``k`` nearest neighbours of
    every point in feature space (pairwise squared distances by matmul, top-k), their
    features gathered, [neighbour - centre, centre] edge features through a 1x1 conv-BN-
    LeakyReLU(0.2), the maximum over the neighbours."""
    import torch

    nn = _nn()

    class EdgeConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(2 * cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pts = x[0].transpose(0, 1)
            sq = (pts * pts).sum(1, keepdim=True)
            dist = 2 * pts @ pts.transpose(0, 1) - sq - sq.transpose(0, 1)
            idx = dist.topk(k, dim=-1)[1]
            nb = pts[idx.reshape(-1)].reshape(points, k, cin)
            centre = pts.reshape(points, 1, cin).expand(points, k, cin)
            edges = torch.cat([nb - centre, centre], 2).permute(2, 0, 1).unsqueeze(0)
            return self.f(edges).amax(-1)

    return EdgeConv()


def dgcnn(points: int, k: int, widths: tuple[int, ...], emb: int, classes: int) -> Any:
    """DGCNN classification on a (1, 3, ``points``) point cloud: EdgeConvs of ``widths``
    (each on the previous one's features, neighbours recomputed per layer), their outputs
    concatenated, a 1x1 conv to ``emb`` (BN, LeakyReLU), max and mean pooling over the
    points concatenated, and an MLP 512-256 (BN, LeakyReLU) to ``classes``."""
    import torch

    nn = _nn()

    def lin(a: int, b: int) -> list[Any]:
        return [nn.Linear(a, b, bias=False), _bn1(b), nn.LeakyReLU(0.2)]

    class DGCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = (3, *widths)
            self.edges = nn.ModuleList(
                _edge_conv(a, b, points, k) for a, b in zip(chans[:-1], chans[1:], strict=True)
            )
            self.emb = nn.Sequential(
                nn.Conv1d(sum(widths), emb, 1, bias=False), _bn1(emb), nn.LeakyReLU(0.2)
            )
            self.head = nn.Sequential(*lin(2 * emb, 512), *lin(512, 256), nn.Linear(256, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for edge in self.edges:
                x = edge(x)
                feats.append(x)
            y = self.emb(torch.cat(feats, 1))
            return self.head(torch.cat([y.amax(2), y.mean(2)], 1))

    return DGCNN()


def _nf_block(cin: int, cout: int, s: int, beta: float, group: int) -> Any:
    """An NFNet block (no normalisation; weight standardisation folded into plain convs):
    the input through a scaled GELU times ``beta``; a 1x1 conv to half ``cout``, two 3x3
    group convs (``group`` channels a group; the first strided) and a 1x1 conv, scaled
    GELUs between; an SE gate (ratio 0.5, twice the sigmoid); the branch times 0.2 times a
    learned gain added to the input, or, where the shape changes, to an average-pooled
    1x1 conv of the activated input."""
    import torch

    nn = _nn()
    f = nn.functional
    mid = cout // 2

    def act(x: torch.Tensor) -> torch.Tensor:
        return f.gelu(x) * 1.7015

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c4 = nn.Conv2d(cin, mid, 1), nn.Conv2d(mid, cout, 1)
            self.c2 = nn.Conv2d(mid, mid, 3, s, 1, groups=mid // group)
            self.c3 = nn.Conv2d(mid, mid, 3, 1, 1, groups=mid // group)
            self.se = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cout, cout // 2, 1), nn.ReLU()),
                *(nn.Conv2d(cout // 2, cout, 1), nn.Sigmoid()),
            )
            self.gain = nn.Parameter(torch.ones(()))
            short: list[Any] = [nn.AvgPool2d(s)] if s > 1 else []
            same = s == 1 and cin == cout
            self.short = None if same else nn.Sequential(*short, nn.Conv2d(cin, cout, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pre = act(x) * beta
            y = self.c4(act(self.c3(act(self.c2(act(self.c1(pre)))))))
            y = y * self.se(y) * 2.0 * 0.2 * self.gain
            return y + (x if self.short is None else self.short(pre))

    return Block()


def nfnet(widths: tuple[int, ...], depths: tuple[int, ...], group: int) -> Any:
    """NFNet-like: a stem of four 3x3 convs (16 stride 2, 32, 64, half the first width
    stride 2; GELU between), stages of NF blocks (the first of each strided but
    the first stage's; betas from the expected variance, reset at each transition), a 1x1
    conv to twice the last width, GELU, pooling and a classifier; NFNet-F0 is
    ``((256, 512, 1536, 1536), (1, 2, 6, 3), 128)``."""
    nn = _nn()
    layers: list[Any] = [
        nn.Conv2d(3, 16, 3, 2, 1),
        nn.GELU(),
        nn.Conv2d(16, 32, 3, 1, 1),
        nn.GELU(),
    ]
    layers += [nn.Conv2d(32, 64, 3, 1, 1), nn.GELU(), nn.Conv2d(64, widths[0] // 2, 3, 2, 1)]
    c = widths[0] // 2
    for i, (w, n) in enumerate(zip(widths, depths, strict=True)):
        var = 1.0
        for j in range(n):
            layers.append(_nf_block(c, w, 2 if (j == 0 and i > 0) else 1, var**-0.5, group))
            var = (1.0 if j == 0 else var) + 0.2**2
            c = w
    layers += [nn.Conv2d(c, 2 * c, 1), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(2 * c, 1000))
    return nn.Sequential(*layers)


def _mrf(c: int, k: int, dils: tuple[int, ...]) -> Any:
    """HiFi-GAN's ResBlock1: for each dilation, LeakyReLU(0.1), a dilated ``k``-tap 1-D
    conv, LeakyReLU, an undilated one, added to the input."""
    import torch

    nn = _nn()

    class ResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.ModuleList(
                nn.Sequential(
                    *(nn.LeakyReLU(0.1), nn.Conv1d(c, c, k, 1, d * (k - 1) // 2, dilation=d)),
                    *(nn.LeakyReLU(0.1), nn.Conv1d(c, c, k, 1, (k - 1) // 2)),
                )
                for d in dils
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for f in self.f:
                x = x + f(x)
            return x

    return ResBlock()


def hifigan(mels: int, ch: int, rates: tuple[int, ...], kernels: tuple[int, ...]) -> Any:
    """A HiFi-GAN generator on a (1, ``mels``, frames) mel spectrogram: a 7-tap conv to
    ``ch``, per upsampling rate a LeakyReLU(0.1) and a transposed 1-D conv (kernel from
    ``kernels``, channels halved) followed by a multi-receptive-field fusion (the mean of
    ResBlock1s of kernels 3, 7 and 11, dilations 1, 3, 5), LeakyReLU, a 7-tap conv to one
    channel and tanh; V2 is ``(80, 128, (8, 8, 2, 2), (16, 16, 4, 4))``."""
    import torch

    nn = _nn()

    class HiFiGAN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = nn.Conv1d(mels, ch, 7, 1, 3)
            self.ups, self.mrfs = nn.ModuleList(), nn.ModuleList()
            c = ch
            for u, k in zip(rates, kernels, strict=True):
                self.ups.append(
                    nn.Sequential(
                        nn.LeakyReLU(0.1), nn.ConvTranspose1d(c, c // 2, k, u, (k - u) // 2)
                    )
                )
                c //= 2
                self.mrfs.append(nn.ModuleList(_mrf(c, kr, (1, 3, 5)) for kr in (3, 7, 11)))
            self.post = nn.Sequential(nn.LeakyReLU(0.1), nn.Conv1d(c, 1, 7, 1, 3), nn.Tanh())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pre(x)
            for up, mrf in zip(self.ups, self.mrfs, strict=True):
                x = up(x)
                x = sum(r(x) for r in mrf) / len(mrf)
            return self.post(x)

    return HiFiGAN()


def deepspeech(freq: int, hidden: int, context: int, classes: int) -> Any:
    """A DeepSpeech2-like acoustic model on a (1, 1, ``freq``, frames) spectrogram: a 41x11
    conv (stride 2, 2) and a 21x11 conv (stride 2, 1) of 32 channels (BN, ReLU clipped at
    20), the channel and frequency axes flattened per frame, three clipped-ReLU linear
    layers of ``hidden`` (in place of the recurrent layers) with DeepSpeech2's lookahead
    row conv (a depthwise 1-D conv over ``context`` future frames) after the second, and a
    log softmax over ``classes`` per frame."""
    import torch

    nn = _nn()
    f2 = ((freq - 1) // 2 + 1 - 1) // 2 + 1
    feats = 32 * f2

    def clip() -> Any:
        return nn.Hardtanh(0.0, 20.0)

    class DeepSpeech(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.Sequential(
                *(
                    nn.Conv2d(1, 32, (41, 11), (2, 2), (20, 5), bias=False),
                    nn.BatchNorm2d(32),
                    clip(),
                ),
                *(
                    nn.Conv2d(32, 32, (21, 11), (2, 1), (10, 5), bias=False),
                    nn.BatchNorm2d(32),
                    clip(),
                ),
            )
            self.fc1 = nn.Sequential(
                nn.Linear(feats, hidden), clip(), nn.Linear(hidden, hidden), clip()
            )
            self.row = nn.Sequential(
                nn.ConstantPad1d((0, context), 0.0),
                nn.Conv1d(hidden, hidden, context + 1, groups=hidden),
            )
            self.fc2 = nn.Sequential(nn.Linear(hidden, hidden), clip(), nn.Linear(hidden, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.convs(x).flatten(1, 2).transpose(1, 2)
            y = self.row(self.fc1(y).transpose(1, 2)).transpose(1, 2)
            return torch.log_softmax(self.fc2(y), dim=-1)

    return DeepSpeech()


def deit(h: int, w: int, patch: int, d: int, heads: int, layers: int) -> Any:
    """DeiT with its distillation token on an ``h`` x ``w`` image: a patch embedding, a
    class and a distillation token prepended, learned positions, the first zoo's encoder
    layers, a layer norm and the mean of the class head and the distillation head."""
    import torch

    nn = _nn()
    n = (h // patch) * (w // patch) + 2

    class DeiT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.tokens = nn.Parameter(torch.zeros(1, 2, d))
            self.pos = nn.Parameter(torch.zeros(1, n, d))
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.norm = nn.LayerNorm(d)
            self.head, self.head_dist = nn.Linear(d, 1000), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.cat([self.tokens, self.embed(x).flatten(2).transpose(1, 2)], 1) + self.pos
            x = self.norm(self.blocks(x))
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2

    return DeiT()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    return [
        (
            "dla",
            "dla34_half_128x160",
            partial(dla, (8, 16, 32, 64, 128, 256), (1, 1, 1, 2, 2, 1)),
            _image(128, 160),
        ),
        (
            "vovnet",
            "vovnet19_slim_ese_160x128",
            partial(vovnet, (64, 80, 96, 112), (112, 256, 384, 512), 3, (1, 1, 1, 1)),
            _image(160, 128),
        ),
        (
            "efficientformer",
            "efficientformer_l1_128x192",
            partial(efficientformer, (48, 96, 224, 448), (3, 2, 6, 4), 128, 192),
            _image(128, 192),
        ),
        ("fastscnn", "fast_scnn_c19_384x576", partial(fast_scnn, 19, 384, 576), _image(384, 576)),
        ("wavenet", "wavenet_r32_s64_2x10_2k", partial(wavenet, 32, 64, 2, 10, 256), (1, 1, 2000)),
        ("crnn", "crnn_w16_32x128", partial(crnn, 16, 128, 37), (1, 1, 32, 128)),
        (
            "perceiver",
            "perceiver_l128_d192_x4_2048x64",
            partial(perceiver, 64, 128, 192, 6, 4, 100),
            (1, 2048, 64),
        ),
        ("dcgan", "dcgan_g64_z100", partial(dcgan_generator, 100, 64), (1, 100, 1, 1)),
        ("esrgan", "rrdb_nf32_gc16_b1_x4_32x48", partial(esrgan, 32, 16, 1), (1, 3, 32, 48)),
        (
            "dgcnn",
            "dgcnn_k12_256",
            partial(dgcnn, 256, 12, (64, 64, 128, 256), 1024, 40),
            (1, 3, 256),
        ),
        (
            "nfnet",
            "nfnet_w64_1232_g32_128x160",
            partial(nfnet, (64, 128, 384, 384), (1, 2, 3, 2), 32),
            _image(128, 160),
        ),
        (
            "hifigan",
            "hifigan_v2_80x16",
            partial(hifigan, 80, 128, (8, 8, 2, 2), (16, 16, 4, 4)),
            (1, 80, 16),
        ),
        (
            "deepspeech",
            "deepspeech2_ff_161x48",
            partial(deepspeech, 161, 512, 19, 29),
            (1, 1, 161, 48),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "regnet",
            "regnetx_400mf_128x176",
            partial(regnet, (32, 64, 160, 384), (1, 2, 7, 12), 16),
            _image(128, 176),
        ),
        (
            "mobilevit",
            "mobilevit_xs_256x192",
            partial(mobilevit, (32, 48, 64, 80, 96), (96, 120, 144), (2, 4, 3)),
            _image(256, 192),
        ),
        (
            "poolformer",
            "poolformer_s12_96x128",
            partial(poolformer, (64, 128, 320, 512), (2, 2, 6, 2)),
            _image(96, 128),
        ),
        (
            "swin",
            "swin_d64_w5_160",
            partial(swin, 160, 64, (2, 2, 4, 2), (2, 4, 8, 16), 5),
            _image(160),
        ),
        (
            "levit",
            "levit_192_160",
            partial(levit, 160, (192, 288, 384), (3, 5, 6), (4, 4, 4)),
            _image(160),
        ),
        (
            "cspdarknet",
            "cspdarknet_tiny_w24_192x352",
            partial(csp_darknet_tiny, 24, 255),
            _image(192, 352),
        ),
        (
            "vit",
            "deit_tiny_distilled_128x160",
            partial(deit, 128, 160, 16, 192, 3, 12),
            _image(128, 160),
        ),
        ("audio", "dscnn_w172_49x10", partial(ds_cnn, 172), (1, 1, 49, 10)),
        ("pointnet", "pointnet_cls16_256", partial(pointnet, 16), (1, 3, 256)),
        ("text", "bert_d96_s512", partial(text_encoder, 96, 2, 2), (1, 512, 96)),
        ("squeezenet", "squeezenet_x0.5_64x96", partial(squeezenet, 0.5), _image(64, 96)),
        ("mobilenetv3", "mbv3_x0.35_64x80", partial(mobilenet, _MBV3, 0.35, True), _image(64, 80)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the sixth zoo."""
    return _new_families() + _known_families()
