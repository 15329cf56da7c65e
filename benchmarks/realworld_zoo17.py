"""A seventeenth held-out zoo of real-world architectures (plain torch), written after the
sixteenth zoo (benchmarks/realworld_zoo16.py), before any prediction of it.

Like the second to sixteenth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the sixteen earlier zoos has, across tasks: CBAM's channel and spatial
attention in ResNet-50 (classification; Woo et al., ECCV 2018), RedNet's involutions
(classification; Li et al., CVPR 2021), T2T-ViT's tokens-to-token Performers (Yuan et
al., ICCV 2021) and PiT's pooling layers (Heo et al., ICCV 2021) (vision transformers),
FocalNet's focal modulation (classification; Yang et al., NeurIPS 2022), MTCNN's P-, R-
and O-Net cascade over an image pyramid (face detection and alignment; Zhang et al.,
IEEE SPL 2016), CGNet's context guided blocks (light-weight segmentation; Wu et al.,
IEEE TIP 2021), SPyNet's spatial pyramid of warping flow nets (optical flow; Ranjan &
Black, CVPR 2017), I3D's inflated Inception-v1 (video action recognition; Carreira &
Zisserman, CVPR 2017), LapSRN's Laplacian pyramid (super-resolution; Lai et al., CVPR
2017), RetinexNet's decomposition and enhancement nets (low-light enhancement; Wei et
al., BMVC 2018), Prototypical Networks' Conv-4 and prototypes (few-shot classification;
Snell et al., NeurIPS 2017), the spatial transformer network reading house numbers
(Jaderberg et al., NeurIPS 2015), ContextNet's squeeze-and-excitation conv encoder
(Han et al., Interspeech 2020) and the streaming LSTMP RNN-T (He et al., ICASSP 2019)
(speech recognition, both decoded greedily by a transducer), VGGish with its PCA
postprocessing (audio embedding; Hershey et al., ICASSP 2017), SampleCNN on raw
waveforms (music tagging; Lee et al., SMC 2017), the SEGAN generator (speech
enhancement; Pascual et al., Interspeech 2017), Transformer-XL's segment recurrence
and relative attention (character language modelling; Dai et al., ACL 2019), ConvS2S
(translation; Gehring et al., ICML 2017), the QRNN language model (Bradbury et al.,
ICLR 2017), ESIM (natural language inference; Chen et al., ACL 2017), GRU4Rec (session
recommendation; Hidasi et al., ICLR 2016) and PLE (multi-task recommendation; Tang et
al., RecSys 2020), TabPFN's in-context transformer (tabular; Hollmann et al., ICLR
2023), PNA's multiple aggregators and degree scalers (molecular graphs; Corso et al.,
NeurIPS 2020), the edge-network MPNN with set2set (quantum chemistry; Gilmer et al.,
ICML 2017), RandLA-Net's local spatial encoding and attentive pooling (point cloud
segmentation; Hu et al., CVPR 2020), DeepAR's ancestral sample paths (Salinas et al.,
IJF 2020), TiDE's dense encoder-decoder (Das et al., TMLR 2023) and the InceptionTime
ensemble (Ismail Fawaz et al., DMKD 2020) (time series), Sketch-RNN (Ha & Eck, ICLR
2018) and DRAW's attentive canvas (Gregor et al., ICML 2015) (generative models),
Dreamer's RSSM filtering and latent imagination (Hafner et al., ICLR 2020) and
Diffusion Policy's conditional 1-D U-Net under DDIM (Chi et al., RSS 2023) (control),
DeepDTA's SMILES and protein CNNs (drug-target affinity; Öztürk et al., Bioinformatics
2018), PaiNN's equivariant messages (molecular properties; Schütt et al., ICML 2021)
and FiLM's question-conditioned residual blocks (visual question answering; Perez et
al., AAAI 2018). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import Builder, _cbr, _nn
from realworld_zoo3 import _image
from realworld_zoo16 import _ids, _lstm_cell, _sinusoids


def _gru_cell(a: int, h: int) -> Any:
    """A GRU cell of linear layers: reset and update gates and the candidate (its
    recurrent part gated by the reset gate) from the input and the state."""
    import torch

    nn = _nn()

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x, self.h = nn.Linear(a, 3 * h), nn.Linear(h, 3 * h)

        def forward(self, x: torch.Tensor, hx: torch.Tensor) -> torch.Tensor:
            xr, xz, xn = self.x(x).chunk(3, -1)
            hr, hz, hn = self.h(hx).chunk(3, -1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            return (1 - z) * n + z * hx

    return Cell()


def _mlp(*dims: int, act: Any = None) -> Any:
    """Linear layers of ``dims`` with ``act`` (ReLU by default) between them."""
    nn = _nn()
    act = nn.ReLU if act is None else act
    layers: list[Any] = []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def _vit_block(d: int, heads: int, ff: int, bias: bool = True, eps: float = 1e-6) -> Any:
    """A pre-norm ViT block on (t, ``d``) tokens: multi-head self-attention of ``heads``
    and a GELU MLP of ``ff``, each added."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
            self.qkv, self.proj = nn.Linear(d, 3 * d, bias=bias), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[0]
            q, k, v = self.qkv(self.n1(x)).reshape(t, 3, heads, -1).permute(1, 2, 0, 3).unbind(0)
            a = torch.softmax(q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5), -1)
            x = x + self.proj((a @ v).transpose(0, 1).reshape(t, d))
            return x + self.mlp(self.n2(x))

    return Block()


def _crop(img: Any, boxes: Any, size: int) -> Any:
    """(k, c, ``size``, ``size``) bilinear crops of a (1, c, h, w) image at (k, 4) pixel
    boxes (x1, y1, x2, y2), by one grid sample."""
    import torch

    nn = _nn()
    c, h, w = img.shape[1], img.shape[2], img.shape[3]
    k = boxes.shape[0]
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    gx = (boxes[:, :1] + t * (boxes[:, 2:3] - boxes[:, :1])) / w * 2 - 1
    gy = (boxes[:, 1:2] + t * (boxes[:, 3:4] - boxes[:, 1:2])) / h * 2 - 1
    grid = torch.stack(
        [gx[:, None, :].expand(k, size, size), gy[:, :, None].expand(k, size, size)], -1
    )
    out = nn.functional.grid_sample(
        img, grid.reshape(1, k * size, size, 2), mode="bilinear", align_corners=False
    )
    return out.reshape(c, k, size, size).transpose(0, 1)


# ---------------------------------------------------------------------------- vision


def _cbam(c: int, r: int = 16) -> Any:
    """CBAM's channel attention (a shared MLP of reduction ``r`` on the average- and
    max-pooled map, summed, sigmoid) then spatial attention (a 7x7 conv and BN on the
    channel max and mean, sigmoid)."""
    import torch

    nn = _nn()

    class CBAM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Conv2d(c, c // r, 1, bias=False), nn.ReLU(), nn.Conv2d(c // r, c, 1, bias=False)
            )
            self.spatial = nn.Sequential(nn.Conv2d(2, 1, 7, 1, 3, bias=False), nn.BatchNorm2d(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))
            x = x * torch.sigmoid(a)
            s = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
            return x * torch.sigmoid(self.spatial(s))

    return CBAM()


def _attention_resnet(attention: Any, depths: tuple[int, ...], classes: int) -> Any:
    """ResNet-50's layout (a 7x7 stride-2 stem and max pool, bottlenecks of ``depths`` in
    four stages of 256 to 2048 channels) with ``attention(channels)`` on every
    bottleneck's output before the shortcut is added; pooling and a classifier."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, mid: int, s: int) -> None:
            super().__init__()
            cout = 4 * mid
            self.body = nn.Sequential(
                _cbr(cin, mid, 1, act=nn.ReLU),
                _cbr(mid, mid, 3, s, act=nn.ReLU),
                _cbr(mid, cout, 1),
                attention(cout),
            )
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[Any] = [_cbr(3, 64, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, n in enumerate(depths):
        mid = 64 * 2**i
        for j in range(n):
            layers.append(Block(cin, mid, 2 if j == 0 and i else 1))
            cin = 4 * mid
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def cbam_resnet(depths: tuple[int, ...] = (3, 4, 6, 3), classes: int = 1000) -> Any:
    """CBAM-ResNet-50 (Woo, Park, Lee & Kweon, "CBAM: Convolutional Block Attention
    Module", ECCV 2018): ResNet-50 (a 7x7 stride-2 stem and max pool, bottlenecks of
    ``depths`` in four stages of 256 to 2048 channels) with the convolutional block
    attention module (channel then spatial attention) on every bottleneck's output
    before the shortcut is added; pooling and a classifier."""
    return _attention_resnet(_cbam, depths, classes)


def _involution(c: int, k: int, s: int, group: int = 16, r: int = 4) -> Any:
    """Involution of ``c`` channels: a ``k`` x ``k`` kernel per position and per group of
    ``group`` channels, generated from the (average-pooled, for stride ``s``) input by a
    1x1 conv-BN-ReLU to ``c`` / ``r`` and a 1x1 conv, applied to the unfolded input."""
    import torch

    nn = _nn()
    F = nn.functional
    g = c // group

    class Involution(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AvgPool2d(s, s) if s > 1 else nn.Identity()
            self.reduce = _cbr(c, c // r, 1, act=nn.ReLU)
            self.span = nn.Conv2d(c // r, k * k * g, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, w = x.shape[2] // s, x.shape[3] // s
            kern = self.span(self.reduce(self.pool(x))).reshape(1, g, 1, k * k, h, w)
            cols = F.unfold(x, k, padding=(k - 1) // 2, stride=s)
            return (kern * cols.reshape(1, g, group, k * k, h, w)).sum(3).reshape(1, c, h, w)

    return Involution()


def rednet(depths: tuple[int, ...] = (1, 2, 4, 1), classes: int = 1000) -> Any:
    """RedNet (Li et al., "Involution: Inverting the Inherence of Convolution for Visual
    Recognition", CVPR 2021), RedNet-26 by default: the stem (a 3x3 stride-2 conv to 32,
    a 3x3 involution, a 3x3 conv to 64, a max pool); ResNet bottlenecks of ``depths``
    whose 3x3 convs are 7x7 involutions (16 channels a group, reduction 4; the stride
    by average pooling the kernel generator's input); pooling and a classifier."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, mid: int, s: int) -> None:
            super().__init__()
            cout = 4 * mid
            self.body = nn.Sequential(
                _cbr(cin, mid, 1, act=nn.ReLU),
                _involution(mid, 7, s),
                nn.BatchNorm2d(mid),
                nn.ReLU(),
                _cbr(mid, cout, 1),
            )
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[Any] = [
        _cbr(3, 32, 3, 2, act=nn.ReLU),
        _involution(32, 3, 1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        _cbr(32, 64, 3, act=nn.ReLU),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = 64
    for i, n in enumerate(depths):
        mid = 64 * 2**i
        for j in range(n):
            layers.append(Block(cin, mid, 2 if j == 0 and i else 1))
            cin = 4 * mid
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def _token_performer(dim: int, emb: int, ratio: float = 0.5) -> Any:
    """T2T-ViT's token Performer on (t, ``dim``) tokens: key, query and value of ``emb``,
    linear attention through ``ratio`` ``emb`` positive random features exp(w x -
    |x|^2 / 2) of a fixed orthogonal w, the value added as the shortcut; an MLP of
    ``emb``."""
    import torch

    nn = _nn()
    m = int(emb * ratio)

    class TokenPerformer(nn.Module):
        w: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(emb)
            self.kqv, self.proj = nn.Linear(dim, 3 * emb), nn.Linear(emb, emb)
            self.mlp = nn.Sequential(nn.Linear(emb, emb), nn.GELU(), nn.Linear(emb, emb))
            self.register_buffer("w", nn.init.orthogonal_(torch.empty(m, emb)) * math.sqrt(m))

        def prm(self, x: torch.Tensor) -> torch.Tensor:
            return torch.exp(x @ self.w.t() - (x * x).sum(-1, keepdim=True) / 2) / math.sqrt(m)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            k, q, v = self.kqv(self.n1(x)).chunk(3, -1)
            kp, qp = self.prm(k), self.prm(q)
            den = qp @ kp.sum(0, keepdim=True).t()
            y = v + self.proj(qp @ (kp.t() @ v) / (den + 1e-8))
            return y + self.mlp(self.n2(y))

    return TokenPerformer()


def t2t_vit(
    res: int = 224,
    d: int = 256,
    depth: int = 7,
    heads: int = 4,
    mlp: int = 2,
    token: int = 64,
    classes: int = 1000,
) -> Any:
    """T2T-ViT (Yuan et al., "Tokens-to-Token ViT: Training Vision Transformers from
    Scratch on ImageNet", ICCV 2021), T2T-ViT-7 by default: the tokens-to-token module
    (a soft split of 7x7 patches at stride 4, a token Performer of ``token``, reshaped
    to an image and re-split into 3x3 patches at stride 2, twice, then projected to
    ``d``); a class token and sinusoidal positions; ``depth`` ViT blocks of ``heads``
    heads (no qkv bias) and MLP ratio ``mlp``; the class token classified."""
    import torch

    nn = _nn()
    F = nn.functional
    s1 = (res + 4 - 7) // 4 + 1
    s2, s3 = (s1 + 1) // 2, (s1 + 3) // 4

    class T2TViT(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.a1, self.a2 = _token_performer(3 * 49, token), _token_performer(9 * token, token)
            self.project = nn.Linear(9 * token, d)
            self.cls = nn.Parameter(torch.zeros(1, d))
            self.register_buffer("pos", _sinusoids(s3 * s3 + 1, d))
            self.blocks = nn.Sequential(
                *[_vit_block(d, heads, mlp * d, bias=False) for _ in range(depth)]
            )
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.a1(F.unfold(x, 7, padding=2, stride=4)[0].t())
            t = self.a2(F.unfold(t.t().reshape(1, token, s1, s1), 3, padding=1, stride=2)[0].t())
            t = F.unfold(t.t().reshape(1, token, s2, s2), 3, padding=1, stride=2)[0].t()
            t = torch.cat([self.cls, self.project(t)], 0) + self.pos
            return self.head(self.norm(self.blocks(t)[:1]))

    return T2TViT()


def pit(
    res: int = 224,
    base: int = 32,
    depths: tuple[int, ...] = (2, 6, 4),
    heads: tuple[int, ...] = (2, 4, 8),
    classes: int = 1000,
) -> Any:
    """PiT (Heo et al., "Rethinking Spatial Dimensions of Vision Transformers", ICCV
    2021), PiT-Ti by default: a 16x16 conv embedding at stride 8 to ``base`` times the
    first stage's heads, learned positions and a class token; three stages of ``depths``
    ViT blocks (``base`` channels a head, MLP ratio 4), between them pooling layers (a
    3x3 stride-2 depthwise conv doubling the channels of the tokens' map, a linear layer
    for the class token); the class token classified."""
    import torch

    nn = _nn()
    dims = [base * h for h in heads]
    s0 = (res - 16) // 8 + 1

    class Pool(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(a, b, 3, 2, 1, groups=a), nn.Linear(a, b)

        def forward(self, t: torch.Tensor, hw: int) -> Any:
            m = self.conv(t[1:].t().reshape(1, -1, hw, hw))
            return torch.cat([self.fc(t[:1]), m.flatten(2)[0].t()], 0), m.shape[2]

    class PiT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, dims[0], 16, 8)
            self.pos = nn.Parameter(torch.zeros(1, dims[0], s0, s0))
            self.cls = nn.Parameter(torch.zeros(1, dims[0]))
            self.stages = nn.ModuleList(
                nn.Sequential(*[_vit_block(d, h, 4 * d) for _ in range(n)])
                for d, h, n in zip(dims, heads, depths, strict=True)
            )
            self.pools = nn.ModuleList(Pool(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
            self.norm, self.head = nn.LayerNorm(dims[-1], eps=1e-6), nn.Linear(dims[-1], classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            m = self.embed(x) + self.pos
            t = torch.cat([self.cls, m.flatten(2)[0].t()], 0)
            hw = s0
            for i, stage in enumerate(self.stages):
                t = stage(t)
                if i < len(self.pools):
                    t, hw = self.pools[i](t, hw)
            return self.head(self.norm(t[:1]))

    return PiT()


def focalnet(
    dim: int = 96,
    depths: tuple[int, ...] = (2, 2, 6, 2),
    levels: int = 2,
    window: int = 3,
    classes: int = 1000,
) -> Any:
    """FocalNet (Yang, Li, Dai & Gao, "Focal Modulation Networks", NeurIPS 2022),
    FocalNet-T (SRF) by default: a 4x4 stride-4 patch embedding to ``dim`` and 2x2
    stride-2 ones doubling it between four stages (each layer-normed); blocks of focal
    modulation (a linear layer to a query, a context and ``levels`` + 1 gates; the
    context through ``levels`` GELU depthwise convs of growing kernel from ``window``
    and a global average, gated and summed; a 1x1 conv of it modulating the query; a
    projection) and a GELU MLP of ratio 4, pre-norm residuals; pooling and a
    classifier."""
    import torch

    nn = _nn()
    F = nn.functional

    class Modulation(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.c = c
            self.f, self.proj = nn.Linear(c, 2 * c + levels + 1), nn.Linear(c, c)
            self.h = nn.Conv2d(c, c, 1)
            self.focal = nn.ModuleList(
                nn.Sequential(nn.Conv2d(c, c, k, 1, k // 2, groups=c, bias=False), nn.GELU())
                for k in (2 * lv + window for lv in range(levels))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, ctx, gates = self.f(x).permute(0, 3, 1, 2).split([self.c, self.c, levels + 1], 1)
            total = torch.zeros_like(q)
            for lv, layer in enumerate(self.focal):
                ctx = layer(ctx)
                total = total + ctx * gates[:, lv : lv + 1]
            total = total + F.gelu(ctx.mean((2, 3), keepdim=True)) * gates[:, levels:]
            return self.proj((q * self.h(total)).permute(0, 2, 3, 1))

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.mod = Modulation(c)
            self.mlp = nn.Sequential(nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.mod(self.n1(x))
            return x + self.mlp(self.n2(x))

    class Embed(nn.Module):
        def __init__(self, a: int, b: int, k: int) -> None:
            super().__init__()
            self.conv, self.norm = nn.Conv2d(a, b, k, k), nn.LayerNorm(b)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))

    class FocalNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [dim * 2**i for i in range(len(depths))]
            layers: list[Any] = [Embed(3, dim, 4)]
            for i, (c, n) in enumerate(zip(dims, depths, strict=True)):
                layers += [Block(c) for _ in range(n)]
                if i < len(dims) - 1:
                    layers.append(Embed(c, 2 * c, 2))
            self.layers = nn.Sequential(*layers)
            self.norm, self.head = nn.LayerNorm(dims[-1]), nn.Linear(dims[-1], classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.norm(self.layers(x.permute(0, 2, 3, 1)))
            return self.head(y.mean((1, 2)))

    return FocalNet()


def mtcnn(
    h: int, w: int, min_face: int = 20, factor: float = 0.709, k1: int = 48, k2: int = 16
) -> Any:
    """MTCNN (Zhang, Zhang, Li & Qiao, "Joint Face Detection and Alignment Using
    Multitask Cascaded Convolutional Networks", IEEE Signal Processing Letters 2016) on an
    ``h`` x ``w`` image: P-Net (three 3x3 PReLU convs, a max pool, 1x1 face and box
    heads) fully convolutional over an image pyramid (scale 12 / ``min_face``, then
    ``factor`` times down to 12 pixels), its windows regressed and the ``k1`` most
    face-like (top-k in place of NMS) squared and cropped to 24 x 24 by bilinear
    sampling; R-Net (three convs, max pools, a fully connected PReLU layer of 128, face
    and box heads) refining them, the ``k2`` best cropped to 48 x 48; O-Net (four convs,
    256 units) giving the final scores, boxes and five facial landmarks."""
    import torch

    nn = _nn()
    F = nn.functional
    scales = []
    s, side = 12 / min_face, min(h, w) * 12 / min_face
    while side >= 12:
        scales.append(s)
        s, side = s * factor, side * factor
    sizes = [(int(h * s + 1), int(w * s + 1)) for s in scales]
    cells = []
    for s, (hs, ws) in zip(scales, sizes, strict=True):
        mh, mw = math.ceil((hs - 2) / 2) - 4, math.ceil((ws - 2) / 2) - 4
        ys, xs = torch.meshgrid(torch.arange(mh), torch.arange(mw), indexing="ij")
        ys, xs = ys.flatten().float(), xs.flatten().float()
        cells.append(torch.stack([2 * xs + 1, 2 * ys + 1, 2 * xs + 12, 2 * ys + 12], -1) / s)

    def refine(b: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
        wh = (b[:, 2:] - b[:, :2]).repeat(1, 2)
        return b + reg * wh

    def square(b: torch.Tensor) -> torch.Tensor:
        c = (b[:, :2] + b[:, 2:]) / 2
        half = (b[:, 2:] - b[:, :2]).amax(1, keepdim=True) / 2
        return torch.cat([c - half, c + half], 1)

    class MTCNN(nn.Module):
        cells: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("cells", torch.cat(cells))
            self.pnet = nn.Sequential(
                nn.Conv2d(3, 10, 3),
                nn.PReLU(10),
                nn.MaxPool2d(2, 2, ceil_mode=True),
                nn.Conv2d(10, 16, 3),
                nn.PReLU(16),
                nn.Conv2d(16, 32, 3),
                nn.PReLU(32),
            )
            self.p_cls, self.p_reg = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)
            self.rnet = nn.Sequential(
                nn.Conv2d(3, 28, 3),
                nn.PReLU(28),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                nn.Conv2d(28, 48, 3),
                nn.PReLU(48),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                nn.Conv2d(48, 64, 2),
                nn.PReLU(64),
                nn.Flatten(),
                nn.Linear(576, 128),
                nn.PReLU(128),
            )
            self.r_out = nn.Linear(128, 6)
            self.onet = nn.Sequential(
                nn.Conv2d(3, 32, 3),
                nn.PReLU(32),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                nn.Conv2d(32, 64, 3),
                nn.PReLU(64),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                nn.Conv2d(64, 64, 3),
                nn.PReLU(64),
                nn.MaxPool2d(2, 2, ceil_mode=True),
                nn.Conv2d(64, 128, 2),
                nn.PReLU(128),
                nn.Flatten(),
                nn.Linear(1152, 256),
                nn.PReLU(256),
            )
            self.o_out = nn.Linear(256, 16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            probs, regs = [], []
            for hs, ws in sizes:
                f = self.pnet(F.interpolate(x, size=(hs, ws), mode="bilinear"))
                probs.append(torch.softmax(self.p_cls(f), 1)[0, 1].flatten())
                regs.append(self.p_reg(f)[0].flatten(1).t())
            score, idx = torch.topk(torch.cat(probs), k1)
            boxes = square(refine(self.cells[idx], torch.cat(regs)[idx]))
            r = self.r_out(self.rnet(_crop(x, boxes, 24)))
            score, idx = torch.topk(torch.softmax(r[:, :2], 1)[:, 1], k2)
            boxes = square(refine(boxes[idx], r[idx, 2:]))
            o = self.o_out(self.onet(_crop(x, boxes, 48)))
            score = torch.softmax(o[:, :2], 1)[:, 1:]
            wh = boxes[:, 2:] - boxes[:, :2]
            lx = boxes[:, :1] + o[:, 6:11] * wh[:, :1]
            ly = boxes[:, 1:2] + o[:, 11:] * wh[:, 1:]
            return torch.cat([refine(boxes, o[:, 2:6]), score, lx, ly], 1)[None]

    return MTCNN()


def cgnet(classes: int = 19, m: int = 3, n: int = 21) -> Any:
    """CGNet (Wu, Tang, Zhang & Zhang, "CGNet: A Light-weight Context Guided Network for
    Semantic Segmentation", IEEE TIP 2021), CGNet_M3N21 by default: three 3x3 conv-BN-PReLU
    layers (the first of stride 2) to 32; context guided blocks (a 1x1 conv halving the
    channels, a local depthwise 3x3 conv beside a dilated one, concatenated, BN-PReLU,
    a global context SE-style reweighting, a residual) in stage 2 (``m`` blocks of 64,
    dilation 2) and stage 3 (``n`` of 128, dilation 4), each stage opened by a stride-2
    down-sampling block, with the image average-pooled and injected at both; a 1x1
    classifier and bilinear upsampling."""
    import torch

    nn = _nn()
    F = nn.functional

    def cbp(a: int, b: int, k: int, s: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(a, b, k, s, k // 2, bias=False), nn.BatchNorm2d(b), nn.PReLU(b)
        )

    def bnp(c: int) -> Any:
        return nn.Sequential(nn.BatchNorm2d(c), nn.PReLU(c))

    class Glo(nn.Module):
        def __init__(self, c: int, r: int) -> None:
            super().__init__()
            self.fc = nn.Sequential(
                nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c), nn.Sigmoid()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.fc(x.mean((2, 3)))[:, :, None, None]

    class CG(nn.Module):
        def __init__(self, cin: int, cout: int, d: int, r: int, down: bool) -> None:
            super().__init__()
            self.down = down
            c = cout if down else cout // 2
            self.conv = cbp(cin, c, 3, 2) if down else cbp(cin, c, 1)
            self.loc = nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False)
            self.sur = nn.Conv2d(c, c, 3, 1, d, d, groups=c, bias=False)
            self.bnp = bnp(2 * c)
            self.reduce = nn.Conv2d(2 * c, cout, 1, bias=False) if down else nn.Identity()
            self.glo = Glo(cout, r)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            y = self.glo(self.reduce(self.bnp(torch.cat([self.loc(y), self.sur(y)], 1))))
            return y if self.down else x + y

    class CGNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stage1 = nn.Sequential(cbp(3, 32, 3, 2), cbp(32, 32, 3), cbp(32, 32, 3))
            self.b1 = bnp(35)
            self.down2 = CG(35, 64, 2, 8, True)
            self.stage2 = nn.Sequential(*[CG(64, 64, 2, 8, False) for _ in range(m - 1)])
            self.b2 = bnp(131)
            self.down3 = CG(131, 128, 4, 16, True)
            self.stage3 = nn.Sequential(*[CG(128, 128, 4, 16, False) for _ in range(n - 1)])
            self.b3 = bnp(256)
            self.classifier = nn.Conv2d(256, classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            i1 = F.avg_pool2d(x, 3, 2, 1)
            i2 = F.avg_pool2d(i1, 3, 2, 1)
            y = self.b1(torch.cat([self.stage1(x), i1], 1))
            d2 = self.down2(y)
            y = self.b2(torch.cat([self.stage2(d2), d2, i2], 1))
            d3 = self.down3(y)
            y = self.b3(torch.cat([d3, self.stage3(d3)], 1))
            return F.interpolate(self.classifier(y), size=x.shape[2:], mode="bilinear")

    return CGNet()


def spynet(h: int, w: int, levels: int = 5) -> Any:
    """SPyNet (Ranjan & Black, "Optical Flow Estimation using a Spatial Pyramid Network",
    CVPR 2017) on two stacked, normalised RGB frames: ``levels``-level average-pooled
    pyramids; from zero flow at the coarsest level, at each level the flow upsampled
    (doubled), the second frame backward-warped by it (bilinear grid sampling) and the
    residual flow predicted by that level's five 7x7 conv net (32, 64, 32, 16, 2
    channels, ReLUs) from the first frame, the warped frame and the flow."""
    import torch

    nn = _nn()
    F = nn.functional
    hs = [h >> (levels - 1 - i) for i in range(levels)]
    ws = [w >> (levels - 1 - i) for i in range(levels)]

    def basic() -> Any:
        layers: list[Any] = []
        for a, b in ((8, 32), (32, 64), (64, 32), (32, 16), (16, 2)):
            layers += [nn.Conv2d(a, b, 7, 1, 3), nn.ReLU()]
        return nn.Sequential(*layers[:-1])

    class SpyNet(nn.Module):
        mean: torch.Tensor
        std: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
            for i in range(levels):
                gy, gx = torch.meshgrid(
                    torch.linspace(-1, 1, hs[i]), torch.linspace(-1, 1, ws[i]), indexing="ij"
                )
                self.register_buffer(f"grid{i}", torch.stack([gx, gy], -1)[None])
            self.basic = nn.ModuleList(basic() for _ in range(levels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pa, pb = [(x[:, :3] - self.mean) / self.std], [(x[:, 3:] - self.mean) / self.std]
            for _ in range(levels - 1):
                pa.insert(0, F.avg_pool2d(pa[0], 2))
                pb.insert(0, F.avg_pool2d(pb[0], 2))
            flow = torch.zeros(1, 2, hs[0], ws[0])
            for i in range(levels):
                if i:
                    flow = F.interpolate(
                        flow, size=(hs[i], ws[i]), mode="bilinear", align_corners=True
                    )
                    flow = flow * 2
                scale = torch.tensor([(ws[i] - 1) / 2, (hs[i] - 1) / 2]).reshape(1, 1, 1, 2)
                grid = getattr(self, f"grid{i}") + flow.permute(0, 2, 3, 1) / scale
                warped = F.grid_sample(
                    pb[i], grid, mode="bilinear", padding_mode="border", align_corners=True
                )
                flow = flow + self.basic[i](torch.cat([pa[i], warped, flow], 1))
            return flow

    return SpyNet()


def i3d(classes: int = 400) -> Any:
    """I3D (Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and the
    Kinetics Dataset", CVPR 2017), its RGB stream: Inception-v1 inflated to 3-D (a 7x7x7
    stride-2 conv to 64, 1x3x3 max pools, a 1x1x1 and a 3x3x3 conv to 192, Inception
    modules 3b-3c, 4b-4f and 5b-5c of 1x1x1, 3x3x3 and pooled branches between 3x3x3 and
    2x2x2 max pools, every conv BN-ReLU); global average pooling and the ``classes``
    logits."""
    import torch

    nn = _nn()

    def unit(a: int, b: int, k: int = 1, s: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv3d(a, b, k, s, k // 2, bias=False), nn.BatchNorm3d(b, eps=1e-3), nn.ReLU()
        )

    class Mixed(nn.Module):
        def __init__(self, cin: int, c: tuple[int, ...]) -> None:
            super().__init__()
            self.b0 = unit(cin, c[0])
            self.b1 = nn.Sequential(unit(cin, c[1]), unit(c[1], c[2], 3))
            self.b2 = nn.Sequential(unit(cin, c[3]), unit(c[3], c[4], 3))
            self.b3 = nn.Sequential(nn.MaxPool3d(3, 1, 1), unit(cin, c[5]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], 1)

    def mixed(cin: int, *c: int) -> Any:
        return Mixed(cin, c)

    return nn.Sequential(
        unit(3, 64, 7, 2),
        nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        unit(64, 64),
        unit(64, 192, 3),
        nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        mixed(192, 64, 96, 128, 16, 32, 32),
        mixed(256, 128, 128, 192, 32, 96, 64),
        nn.MaxPool3d(3, 2, 1),
        mixed(480, 192, 96, 208, 16, 48, 64),
        mixed(512, 160, 112, 224, 24, 64, 64),
        mixed(512, 128, 128, 256, 24, 64, 64),
        mixed(512, 112, 144, 288, 32, 64, 64),
        mixed(528, 256, 160, 320, 32, 128, 128),
        nn.MaxPool3d(2, 2),
        mixed(832, 256, 160, 320, 32, 128, 128),
        mixed(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(1024, classes),
    )


def lapsrn(levels: int = 2, depth: int = 10, c: int = 64) -> Any:
    """LapSRN (Lai, Huang, Ahuja & Yang, "Deep Laplacian Pyramid Networks for Fast and
    Accurate Super-Resolution", CVPR 2017) upscaling a luminance image 2^``levels``
    times: a 3x3 conv to ``c``; at each pyramid level a feature branch (``depth`` 3x3
    convs and a 4x4 stride-2 transposed conv, leaky ReLUs) predicting the level's
    residual by a 3x3 conv, added to the image branch's 4x4 stride-2 transposed-conv
    upsampling of the previous level's output."""
    import torch

    nn = _nn()

    def lrelu() -> Any:
        return nn.LeakyReLU(0.2)

    class LapSRN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Sequential(nn.Conv2d(1, c, 3, 1, 1), lrelu())
            feats = []
            for _ in range(levels):
                layers: list[Any] = []
                for _ in range(depth):
                    layers += [nn.Conv2d(c, c, 3, 1, 1), lrelu()]
                layers += [nn.ConvTranspose2d(c, c, 4, 2, 1), lrelu()]
                feats.append(nn.Sequential(*layers))
            self.feats = nn.ModuleList(feats)
            self.res = nn.ModuleList(nn.Conv2d(c, 1, 3, 1, 1) for _ in range(levels))
            self.up = nn.ModuleList(nn.ConvTranspose2d(1, 1, 4, 2, 1) for _ in range(levels))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f, img = self.inp(x), x
            for feat, res, up in zip(self.feats, self.res, self.up, strict=True):
                f = feat(f)
                img = up(img) + res(f)
            return img

    return LapSRN()


def retinexnet(h: int, w: int, c: int = 64, layers: int = 5) -> Any:
    """RetinexNet (Wei, Wang, Yang & Liu, "Deep Retinex Decomposition for Low-Light
    Enhancement", BMVC 2018) on an ``h`` x ``w`` low-light image: Decom-Net (the channel
    maximum concatenated with the image, a 9x9 conv to ``c``, ``layers`` 3x3 ReLU convs and
    a 3x3 conv to a sigmoid reflectance and illumination); Enhance-Net on them (an
    encoder of three stride-2 3x3 convs, a decoder of nearest resizes and 3x3 convs with
    skip sums, multi-scale features resized, concatenated and fused by a 1x1 and a 3x3
    conv to the adjusted illumination); the reflectance times it."""
    import torch

    nn = _nn()
    F = nn.functional
    sizes = [(h, w)]
    for _ in range(3):
        sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))

    def conv(a: int, b: int, s: int = 1) -> Any:
        return nn.Sequential(nn.Conv2d(a, b, 3, s, 1), nn.ReLU())

    class RetinexNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.decom = nn.Sequential(
                nn.Conv2d(4, c, 9, 1, 4),
                *[conv(c, c) for _ in range(layers)],
                nn.Conv2d(c, 4, 3, 1, 1),
            )
            self.c0 = nn.Conv2d(4, c, 3, 1, 1)
            self.enc = nn.ModuleList(conv(c, c, 2) for _ in range(3))
            self.dec = nn.ModuleList(conv(c, c) for _ in range(3))
            self.fusion, self.out = nn.Conv2d(3 * c, c, 1), nn.Conv2d(c, 1, 3, 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d = self.decom(torch.cat([x.amax(1, keepdim=True), x], 1))
            r, light = torch.sigmoid(d[:, :3]), torch.sigmoid(d[:, 3:])
            feats = [self.c0(torch.cat([r, light], 1))]
            for enc in self.enc:
                feats.append(enc(feats[-1]))
            y, ups = feats[3], []
            for i, dec in enumerate(self.dec):
                y = dec(F.interpolate(y, size=sizes[2 - i], mode="nearest")) + feats[2 - i]
                ups.append(y)
            g = [F.interpolate(u, size=sizes[0], mode="nearest") for u in ups[:2]]
            adjusted = self.out(self.fusion(torch.cat([*g, ups[2]], 1)))
            return r * adjusted

    return RetinexNet()


def protonet(way: int, shot: int, query: int, c: int = 64) -> Any:
    """Prototypical Networks (Snell, Swersky & Zemel, "Prototypical Networks for Few-shot
    Learning", NeurIPS 2017) on a ``way``-way ``shot``-shot Omniglot episode of (1,
    ``way`` (``shot`` + ``query``), 1, 28, 28) characters, support first: the Conv-4
    embedding (four 3x3 conv-BN-ReLU-max-pool blocks of ``c``); each class's prototype the
    mean of its support embeddings; every query's log-softmax over its negative squared
    Euclidean distances to the prototypes."""
    import torch

    nn = _nn()

    class ProtoNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            blocks = [
                nn.Sequential(_cbr(1 if i == 0 else c, c, 3, act=nn.ReLU), nn.MaxPool2d(2))
                for i in range(4)
            ]
            self.enc = nn.Sequential(*blocks, nn.Flatten())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.enc(x[0])
            p = e[: way * shot].reshape(way, shot, -1).mean(1)
            q = e[way * shot :]
            d = (q * q).sum(-1, keepdim=True) - 2 * q @ p.t() + (p * p).sum(-1)[None]
            return torch.log_softmax(-d, -1)[None]

    return ProtoNet()


def stn_svhn(res: int = 64, digits: int = 5) -> Any:
    """The ST-CNN Single of Spatial Transformer Networks (Jaderberg, Simonyan, Zisserman &
    Kavukcuoglu, "Spatial Transformer Networks", NeurIPS 2015) reading SVHN house numbers
    in a ``res`` x ``res`` crop: a localisation net (two 5x5 conv-ReLU-max-pool layers of
    32 and two fully connected layers of 32 to six affine parameters, initialised to the
    identity) whose affine grid bilinearly resamples the image; Goodfellow et al.'s
    eleven-layer CNN (eight 5x5 ReLU convs of 48 to 192 with 2x2 max pools alternating
    stride 2 and 1, two fully connected layers of 3072) and softmax heads for the length
    and ``digits`` digits."""
    import torch

    nn = _nn()
    F = nn.functional
    lin = (torch.arange(res, dtype=torch.float32) * 2 + 1) / res - 1
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    base = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(-1, 3)

    class STN(nn.Module):
        base: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("base", base)
            self.loc = nn.Sequential(
                nn.Conv2d(3, 32, 5, 1, 2),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 32, 5, 1, 2),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(32 * (res // 4) ** 2, 32),
                nn.ReLU(),
                nn.Linear(32, 6),
            )
            nn.init.zeros_(self.loc[-1].weight)
            with torch.no_grad():
                self.loc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))
            layers: list[Any] = []
            cin = 3
            for i, c in enumerate((48, 64, 128, 160, 192, 192, 192, 192)):
                layers += [nn.Conv2d(cin, c, 5, 1, 2), nn.ReLU()]
                if i % 2 == 0:
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)]
                cin = c
            self.cnn = nn.Sequential(*layers, nn.Flatten())
            self.fc = nn.Sequential(
                nn.Linear(192 * (res // 16) ** 2, 3072),
                nn.ReLU(),
                nn.Linear(3072, 3072),
                nn.ReLU(),
                nn.Linear(3072, 7 + 11 * digits),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            theta = self.loc(x).reshape(2, 3)
            grid = (self.base @ theta.t()).reshape(1, res, res, 2)
            y = F.grid_sample(x, grid, mode="bilinear", align_corners=False)
            logits = self.fc(self.cnn(y))
            heads = [logits[:, :7]] + [logits[:, 7 + 11 * i : 18 + 11 * i] for i in range(digits)]
            return torch.cat([torch.log_softmax(t, -1) for t in heads], -1)

    return STN()


# ---------------------------------------------------------------- speech and audio


def _lstmp_layer(a: int, cell: int, proj: int) -> Any:
    """An LSTM layer with a recurrent projection (LSTMP) on a (t, ``a``) sequence: the
    input's gate contributions for every step at once, then per step those of the
    projected state, the memory of ``cell`` and its output projected to ``proj``."""
    import torch

    nn = _nn()

    class LSTMP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x, self.h = nn.Linear(a, 4 * cell), nn.Linear(proj, 4 * cell, bias=False)
            self.p = nn.Linear(cell, proj, bias=False)

        def step(self, gx: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> Any:
            i, f, g, o = (gx + self.h(h)).chunk(4, -1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return self.p(torch.sigmoid(o) * torch.tanh(c)), c

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            gx = self.x(x)
            h, c = torch.zeros(1, proj), torch.zeros(1, cell)
            outs = []
            for t in range(x.shape[0]):
                h, c = self.step(gx[t : t + 1], h, c)
                outs.append(h)
            return torch.cat(outs, 0)

    return LSTMP()


def _transducer(
    enc: int, vocab: int, embed: int, cell: int, proj: int, layers: int, joint: int
) -> Any:
    """A transducer's prediction and joint networks decoding (t, ``enc``) encodings
    greedily: the previous non-blank label (blank 0 to start) embedded in ``embed``
    through ``layers`` LSTM cells of ``cell`` (projected to ``proj`` when smaller); the
    encoding and the prediction projected to ``joint``, added, tanh, to ``vocab`` logits
    at every frame; a non-blank argmax is fed back (the prediction network is stepped at
    every frame and its new state kept only on an emission, at most one label a
    frame)."""
    import torch

    nn = _nn()
    out = proj if proj < cell else cell

    class Transducer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.x = nn.ModuleList(
                nn.Linear(embed if i == 0 else out, 4 * cell) for i in range(layers)
            )
            self.h = nn.ModuleList(nn.Linear(out, 4 * cell, bias=False) for _ in range(layers))
            self.p = nn.ModuleList(
                nn.Linear(cell, proj, bias=False) if proj < cell else nn.Identity()
                for _ in range(layers)
            )
            self.enc, self.pred = nn.Linear(enc, joint), nn.Linear(out, joint)
            self.out = nn.Linear(joint, vocab)

        def step(self, tok: torch.Tensor, hs: list[Any], cs: list[Any]) -> Any:
            y = self.embed(tok)
            nh, nc = [], []
            for i in range(layers):
                gi, gf, gg, go = (self.x[i](y) + self.h[i](hs[i])).chunk(4, -1)
                c = torch.sigmoid(gf) * cs[i] + torch.sigmoid(gi) * torch.tanh(gg)
                y = self.p[i](torch.sigmoid(go) * torch.tanh(c))
                nh.append(y)
                nc.append(c)
            return y, nh, nc

        def forward(self, e: torch.Tensor) -> torch.Tensor:
            hs = [torch.zeros(1, out) for _ in range(layers)]
            cs = [torch.zeros(1, cell) for _ in range(layers)]
            g, hs, cs = self.step(torch.zeros(1, dtype=torch.long), hs, cs)
            ep = self.enc(e)
            logits = []
            for t in range(e.shape[0]):
                z = self.out(torch.tanh(ep[t : t + 1] + self.pred(g)))
                logits.append(z)
                k = z.argmax(-1)
                emit = (k != 0).float()[:, None]
                g2, hs2, cs2 = self.step(k, hs, cs)
                g = emit * g2 + (1 - emit) * g
                hs = [emit * a + (1 - emit) * b for a, b in zip(hs2, hs, strict=True)]
                cs = [emit * a + (1 - emit) * b for a, b in zip(cs2, cs, strict=True)]
            return torch.cat(logits, 0)[None]

    return Transducer()


def contextnet(alpha: float, feats: int = 80, vocab: int = 1024, k: int = 5) -> Any:
    """ContextNet (Han et al., "ContextNet: Improving Convolutional Neural Networks for
    Automatic Speech Recognition with Global Context", Interspeech 2020) transcribing (1,
    ``feats``, frames) log-mel features: an encoder of 23 blocks C0-C22 (256 ``alpha``
    channels to C10, 512 ``alpha`` to C21, 640 ``alpha`` in C22; C0 and C22 one layer,
    the others five) of depthwise-separable width-``k`` conv-BN-swish layers,
    squeeze-and-excitation over the whole utterance and a pointwise conv-BN residual,
    striding by 2 in C3, C7 and C14; an RNN-T of a one-layer LSTM prediction network of
    640 and a joint network of 640 over ``vocab`` word pieces, decoded greedily.
    ContextNet-S is ``alpha`` 0.5, M 1."""
    import torch

    nn = _nn()
    a, b, c = int(256 * alpha), int(512 * alpha), int(640 * alpha)
    spec = [(feats, a, 1, 1)] + [(a, a, 5, 1)] * 2 + [(a, a, 5, 2)] + [(a, a, 5, 1)] * 3
    spec += [(a, a, 5, 2)] + [(a, a, 5, 1)] * 3 + [(a, b, 5, 1)] + [(b, b, 5, 1)] * 2
    spec += [(b, b, 5, 2)] + [(b, b, 5, 1)] * 7 + [(b, c, 1, 1)]

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, n: int, s: int, residual: bool) -> None:
            super().__init__()
            layers: list[Any] = []
            for i in range(n):
                ci = cin if i == 0 else cout
                stride = s if i == n - 1 else 1
                layers += [
                    nn.Conv1d(ci, ci, k, stride, k // 2, groups=ci, bias=False),
                    nn.Conv1d(ci, cout, 1, bias=False),
                    nn.BatchNorm1d(cout),
                    nn.SiLU(),
                ]
            self.convs = nn.Sequential(*layers)
            self.se = nn.Sequential(
                nn.Linear(cout, cout // 8), nn.SiLU(), nn.Linear(cout // 8, cout), nn.Sigmoid()
            )
            self.res = (
                nn.Sequential(nn.Conv1d(cin, cout, 1, s, bias=False), nn.BatchNorm1d(cout))
                if residual
                else None
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.convs(x)
            y = y * self.se(y.mean(-1))[..., None]
            return y if self.res is None else torch.nn.functional.silu(y + self.res(x))

    class ContextNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            last = len(spec) - 1
            self.encoder = nn.Sequential(
                *[Block(ci, co, n, s, 0 < i < last) for i, (ci, co, n, s) in enumerate(spec)]
            )
            self.rnnt = _transducer(c, vocab, 640, 640, 640, 1, 640)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.rnnt(self.encoder(x)[0].t())

    return ContextNet()


def rnnt(
    frames: int,
    feats: int = 80,
    stack: int = 3,
    cell: int = 2048,
    proj: int = 640,
    layers: int = 8,
    vocab: int = 4096,
) -> Any:
    """The streaming RNN-T of He et al. ("Streaming End-to-end Speech Recognition for
    Mobile Devices", ICASSP 2019) on (1, ``frames``, ``feats``) log-mel frames: frames
    stacked by ``stack`` (and so downsampled); an encoder of ``layers`` LSTM layers of
    ``cell`` cells projected to ``proj``, a time-reduction layer concatenating pairs of
    steps after the second; a prediction network of two such layers on a word-piece
    embedding and a joint network of ``proj`` over ``vocab`` word pieces, decoded
    greedily."""
    import torch

    nn = _nn()
    steps = frames // stack

    class RNNT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            dims = [stack * feats, proj, 2 * proj] + [proj] * (layers - 3)
            self.enc = nn.ModuleList(_lstmp_layer(d, cell, proj) for d in dims)
            self.rnnt = _transducer(proj, vocab, proj, cell, proj, 2, proj)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x[0, : steps * stack].reshape(steps, stack * feats)
            for i, layer in enumerate(self.enc):
                y = layer(y)
                if i == 1:
                    y = y[: steps // 2 * 2].reshape(steps // 2, 2 * proj)
            return self.rnnt(y)

    return RNNT()


def vggish(patches: int) -> Any:
    """VGGish (Hershey et al., "CNN Architectures for Large-Scale Audio Classification",
    ICASSP 2017) embedding (1, ``patches``, 96, 64) log-mel patches of 0.96 s: VGG
    configuration A cut to four conv groups (64, 128, 2 x 256, 2 x 512, 3x3 ReLU convs
    and 2x2 max pools), fully connected ReLU layers of 4096, 4096 and 128; the AudioSet
    release's PCA whitening, clipping and 8-bit quantisation of the embeddings."""
    import torch

    nn = _nn()

    def conv(a: int, b: int) -> list[Any]:
        return [nn.Conv2d(a, b, 3, 1, 1), nn.ReLU()]

    class VGGish(nn.Module):
        means: torch.Tensor
        eigen: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *conv(1, 64),
                nn.MaxPool2d(2),
                *conv(64, 128),
                nn.MaxPool2d(2),
                *conv(128, 256),
                *conv(256, 256),
                nn.MaxPool2d(2),
                *conv(256, 512),
                *conv(512, 512),
                nn.MaxPool2d(2),
            )
            self.embed = nn.Sequential(
                nn.Linear(512 * 24, 4096),
                nn.ReLU(),
                nn.Linear(4096, 4096),
                nn.ReLU(),
                nn.Linear(4096, 128),
                nn.ReLU(),
            )
            self.register_buffer("means", torch.randn(128) * 0.1)
            self.register_buffer("eigen", torch.linalg.qr(torch.randn(128, 128))[0])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.features(x[0][:, None]).permute(0, 2, 3, 1).flatten(1)
            e = (self.embed(f) - self.means) @ self.eigen.t()
            return torch.round((e.clamp(-2.0, 2.0) + 2.0) * (255.0 / 4.0))[None]

    return VGGish()


def samplecnn(tags: int = 50) -> Any:
    """SampleCNN (Lee, Park, Kim & Nam, "Sample-level Deep Convolutional Neural Networks
    for Music Auto-tagging Using Raw Waveforms", SMC 2017), the 3^9 model on (1, 1,
    59049) raw samples: a width-3 stride-3 conv to 128; nine width-3 conv-BN-ReLU layers
    each followed by a max pool of 3 (128, 128, 256 x 6, 512 channels) down to one step;
    a 1x1 conv of 512 and sigmoid outputs for ``tags`` tags."""
    nn = _nn()
    layers: list[Any] = [nn.Conv1d(1, 128, 3, 3), nn.BatchNorm1d(128), nn.ReLU()]
    cin = 128
    for c in (128, 128, 256, 256, 256, 256, 256, 256, 512):
        layers += [nn.Conv1d(cin, c, 3, 1, 1), nn.BatchNorm1d(c), nn.ReLU(), nn.MaxPool1d(3)]
        cin = c
    layers += [nn.Conv1d(512, 512, 1), nn.BatchNorm1d(512), nn.ReLU(), nn.Flatten()]
    layers += [nn.Dropout(0.5), nn.Linear(512, tags), nn.Sigmoid()]
    return nn.Sequential(*layers)


def segan(samples: int = 16384, k: int = 31) -> Any:
    """The SEGAN generator (Pascual, Bonafonte & Serrà, "SEGAN: Speech Enhancement
    Generative Adversarial Network", Interspeech 2017) enhancing (1, 1, ``samples``) noisy
    speech: an encoder of eleven width-``k`` stride-2 PReLU convs (16 to 1024 channels);
    the thought vector concatenated with a (fixed) latent noise of as many channels; a
    mirrored decoder of stride-2 transposed convs whose outputs are concatenated with the
    encoder's (skip connections), PReLUs and a tanh output."""
    import torch

    nn = _nn()
    chans = (1, 16, 32, 32, 64, 64, 128, 128, 256, 256, 512, 1024)

    class SEGAN(nn.Module):
        z: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.ModuleList(
                nn.Sequential(nn.Conv1d(a, b, k, 2, k // 2), nn.PReLU(b))
                for a, b in zip(chans[:-1], chans[1:], strict=True)
            )
            dec = []
            for i in range(len(chans) - 1):
                a, b = 2 * chans[-1 - i], chans[-2 - i]
                up = nn.ConvTranspose1d(a, b, k, 2, k // 2, output_padding=1)
                dec.append(nn.Sequential(up, nn.PReLU(b) if i < len(chans) - 2 else nn.Tanh()))
            self.dec = nn.ModuleList(dec)
            g = torch.Generator().manual_seed(0)
            n = samples >> (len(chans) - 1)
            self.register_buffer("z", torch.randn(1, chans[-1], n, generator=g))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for layer in self.enc:
                x = layer(x)
                skips.append(x)
            y = torch.cat([x, self.z], 1)
            for i, layer in enumerate(self.dec):
                y = layer(y)
                if i < len(self.dec) - 1:
                    y = torch.cat([y, skips[-2 - i]], 1)
            return y

    return SEGAN()


# ----------------------------------------------------------------------------- text


def transformer_xl(
    seg: int,
    segments: int = 2,
    layers: int = 12,
    d: int = 512,
    heads: int = 8,
    ff: int = 2048,
    vocab: int = 204,
) -> Any:
    """Transformer-XL (Dai et al., "Transformer-XL: Attentive Language Models beyond a
    Fixed-Length Context", ACL 2019), its enwik8 base model, on (1, ``segments`` ``seg``)
    characters read segment by segment with segment-level recurrence: each of
    ``layers`` post-norm layers of ``d`` attends from the segment to the cached previous
    segment's hidden states (memory of ``seg``) and itself with relative positional
    attention (content and position terms with the global biases u and v, sinusoidal
    relative encodings through a linear layer, the relative shift), causal masking and a
    ReLU feed-forward net of ``ff``; the last segment's logits through the tied
    embedding."""
    import torch

    nn = _nn()
    dh = d // heads

    def rel(klen: int) -> Any:
        pos = torch.arange(klen - 1, -1, -1.0)[:, None]
        freq = 1 / (10000 ** (torch.arange(0, d, 2.0) / d))
        return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], -1)

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.r = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
            self.o = nn.Linear(d, d, bias=False)
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor, mem: Any, pos: Any, u: Any, v: Any, mask: Any) -> Any:
            q_len = x.shape[0]
            cat = x if mem is None else torch.cat([mem, x], 0)
            k_len = cat.shape[0]
            q, k, val = self.qkv(cat).reshape(k_len, 3, heads, dh).permute(1, 2, 0, 3).unbind(0)
            q = q[:, k_len - q_len :]
            r = self.r(pos).reshape(k_len, heads, dh).transpose(0, 1)
            ac = (q + u[:, None]) @ k.transpose(1, 2)
            bd = (q + v[:, None]) @ r.transpose(1, 2)
            bd = torch.cat([torch.zeros(heads, q_len, 1), bd], -1).reshape(heads, k_len + 1, q_len)
            bd = bd[:, 1:].reshape(heads, q_len, k_len)
            a = torch.softmax((ac + bd) * dh**-0.5 + mask, -1)
            x = self.n1(x + self.o((a @ val).transpose(0, 1).reshape(q_len, d)))
            return self.n2(x + self.ff(x))

    class TransformerXL(nn.Module):
        pos0: torch.Tensor
        pos1: torch.Tensor
        mask0: torch.Tensor
        mask1: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.u, self.v = (
                nn.Parameter(torch.zeros(heads, dh)),
                nn.Parameter(torch.zeros(heads, dh)),
            )
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.bias = nn.Parameter(torch.zeros(vocab))
            for i, mlen in enumerate((0, seg)):
                self.register_buffer(f"pos{i}", rel(seg + mlen))
                self.register_buffer(
                    f"mask{i}", torch.triu(torch.full((seg, seg + mlen), -1e9), 1 + mlen)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = _ids(x[0], vocab)
            mems: Any = None
            h = x
            for s in range(segments):
                h = self.embed(ids[s * seg : (s + 1) * seg]) * d**0.5
                hids = [h]
                pos, mask = (self.pos0, self.mask0) if mems is None else (self.pos1, self.mask1)
                for i, layer in enumerate(self.layers):
                    h = layer(h, None if mems is None else mems[i], pos, self.u, self.v, mask)
                    hids.append(h)
                mems = hids
            return (h @ self.embed.weight.t() + self.bias)[None]

    return TransformerXL()


def convs2s(
    src: int,
    tgt: int,
    d: int,
    enc_layers: int,
    dec_layers: int,
    src_vocab: int,
    tgt_vocab: int,
    k: int = 3,
    max_pos: int = 1024,
) -> Any:
    """ConvS2S (Gehring, Auli, Grangier, Yarats & Dauphin, "Convolutional Sequence to
    Sequence Learning", ICML 2017), fairseq's fconv layouts, scoring (1, ``src`` + ``tgt``)
    ids (a source and a target prefix, decoded in parallel): token plus learned position
    embeddings of ``d``; ``enc_layers`` encoder and ``dec_layers`` causal decoder layers of
    width-``k`` convs to 2 ``d`` and GLUs with residuals scaled by sqrt(1/2); every decoder
    layer's multi-step attention (its projected state plus the target embedding against
    the encoder outputs as keys, with the source embeddings added in the values, scaled
    by the source length); the output projected through ``d`` to ``tgt_vocab`` logits."""
    import torch

    nn = _nn()
    F = nn.functional
    half = math.sqrt(0.5)

    class ConvS2S(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.src_tok, self.tgt_tok = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
            self.src_pos, self.tgt_pos = nn.Embedding(max_pos, d), nn.Embedding(max_pos, d)
            self.enc_fc1, self.enc_fc2 = nn.Linear(d, d), nn.Linear(d, d)
            self.dec_fc1, self.dec_fc2 = nn.Linear(d, d), nn.Linear(d, d)
            self.enc = nn.ModuleList(nn.Conv1d(d, 2 * d, k, 1, k // 2) for _ in range(enc_layers))
            self.dec = nn.ModuleList(nn.Conv1d(d, 2 * d, k) for _ in range(dec_layers))
            self.att_in = nn.ModuleList(nn.Linear(d, d) for _ in range(dec_layers))
            self.att_out = nn.ModuleList(nn.Linear(d, d) for _ in range(dec_layers))
            self.out = nn.Linear(d, tgt_vocab)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            e = self.src_tok(_ids(r[:src], src_vocab)) + self.src_pos.weight[2 : src + 2]
            y = self.enc_fc1(e)
            for conv in self.enc:
                y = (F.glu(conv(y.t()[None])[0], 0).t() + y) * half
            keys = self.enc_fc2(y)
            values = (keys + e) * half
            t = self.tgt_tok(_ids(r[src:], tgt_vocab)) + self.tgt_pos.weight[2 : tgt + 2]
            y = self.dec_fc1(t)
            for conv, att_in, att_out in zip(self.dec, self.att_in, self.att_out, strict=True):
                res = y
                y = F.glu(conv(F.pad(y.t()[None], (k - 1, 0)))[0], 0).t()
                a = torch.softmax(((att_in(y) + t) * half) @ keys.t(), -1)
                y = (att_out(a @ values * math.sqrt(src)) + y) * half
                y = (y + res) * half
            return self.out(self.dec_fc2(y))[None]

    return ConvS2S()


def qrnn(seq: int, vocab: int = 10000, emb: int = 400, hidden: int = 1550, layers: int = 4) -> Any:
    """The QRNN language model (Bradbury, Merity, Xiong & Socher, "Quasi-Recurrent Neural
    Networks", ICLR 2017) in AWD-QRNN's Penn Treebank layout on (1, ``seq``) words: an
    embedding of ``emb``; ``layers`` QRNN layers (``hidden`` units, the last ``emb``;
    candidates and forget and output gates from a masked convolution over two steps in
    the first layer and one after, then fo-pooling c = f c + (1 - f) z, h = o c, step by
    step); next-word logits through the tied embedding."""
    import torch

    nn = _nn()
    F = nn.functional

    class Layer(nn.Module):
        def __init__(self, a: int, h: int, window: int) -> None:
            super().__init__()
            self.h, self.window = h, window
            self.lin = nn.Linear(window * a, 3 * h)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.window == 2:
                x = torch.cat([F.pad(x, (0, 0, 1, 0))[:-1], x], -1)
            z, f, o = self.lin(x).chunk(3, -1)
            f = torch.sigmoid(f)
            fz = (1 - f) * torch.tanh(z)
            c = torch.zeros(1, self.h)
            outs = []
            for t in range(x.shape[0]):
                c = f[t : t + 1] * c + fz[t : t + 1]
                outs.append(c)
            return torch.sigmoid(o) * torch.cat(outs, 0)

    class QRNNLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            dims = [emb] + [hidden] * (layers - 1) + [emb]
            self.layers = nn.Sequential(
                *[Layer(dims[i], dims[i + 1], 2 if i == 0 else 1) for i in range(layers)]
            )
            self.bias = nn.Parameter(torch.zeros(vocab))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.layers(self.embed(_ids(x[0], vocab)))
            return (h @ self.embed.weight.t() + self.bias)[None]

    return QRNNLM()


def esim(prem: int, hyp: int, vocab: int = 42394, d: int = 300, classes: int = 3) -> Any:
    """ESIM (Chen et al., "Enhanced LSTM for Natural Language Inference", ACL 2017) on (1,
    ``prem`` + ``hyp``) word ids of a premise and a hypothesis: embeddings of ``d``, an
    input-encoding BiLSTM; soft alignment by the dot products of the encodings, the
    local inference enhanced as [a; a~; a - a~; a * a~]; a ReLU projection and a
    composition BiLSTM; average and max pooling of both; an MLP with a tanh hidden layer
    to the ``classes`` relations."""
    import torch

    nn = _nn()

    class ESIM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.enc = nn.LSTM(d, d, batch_first=True, bidirectional=True)
            self.proj = nn.Sequential(nn.Linear(8 * d, d), nn.ReLU())
            self.comp = nn.LSTM(d, d, batch_first=True, bidirectional=True)
            self.cls = nn.Sequential(nn.Linear(8 * d, d), nn.Tanh(), nn.Linear(d, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.embed(_ids(x[0], vocab))
            a, b = self.enc(e[None, :prem])[0][0], self.enc(e[None, prem:])[0][0]
            s = a @ b.t()
            at, bt = torch.softmax(s, 1) @ b, torch.softmax(s, 0).t() @ a
            ma = torch.cat([a, at, a - at, a * at], -1)
            mb = torch.cat([b, bt, b - bt, b * bt], -1)
            va = self.comp(self.proj(ma)[None])[0][0]
            vb = self.comp(self.proj(mb)[None])[0][0]
            v = torch.cat([va.mean(0), va.amax(0), vb.mean(0), vb.amax(0)])
            return self.cls(v[None])

    return ESIM()


# -------------------------------------------------------- recommendation and tabular


def gru4rec(steps: int, items: int = 37483, hidden: int = 1000) -> Any:
    """GRU4Rec (Hidasi, Karatzoglou, Baltrunas & Tikk, "Session-based Recommendations
    with Recurrent Neural Networks", ICLR 2016) on the RecSys Challenge 2015 clicks, a
    session of (1, ``steps``) item ids: an item embedding and a GRU layer of ``hidden``
    units; the final state's scores for all ``items`` items (output embeddings and
    biases, tanh) to rank the next click."""
    import torch

    nn = _nn()

    class GRU4Rec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.gru = nn.Embedding(items, hidden), nn.GRU(hidden, hidden)
            self.out = nn.Embedding(items, hidden)
            self.bias = nn.Parameter(torch.zeros(items))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.gru(self.embed(_ids(x[0], items))[:, None])[1][0]
            return torch.tanh(h @ self.out.weight.t() + self.bias)

    return GRU4Rec()


def ple(
    cands: int,
    sparse: int = 26,
    dense: int = 13,
    rows: int = 100000,
    emb: int = 16,
    tasks: int = 2,
    specific: int = 2,
    shared: int = 2,
    levels: int = 2,
    expert: int = 256,
    tower: tuple[int, ...] = (128, 64),
) -> Any:
    """PLE (Tang, Liu, Zhao & Gong, "Progressive Layered Extraction (PLE): A Novel
    Multi-Task Learning (MTL) Model for Personalized Recommendations", RecSys 2020)
    scoring (1, ``cands``, ``sparse`` + ``dense``) candidates for ``tasks`` tasks: field
    embeddings of ``emb`` with the dense features; ``levels`` customized gate control
    levels, each of ``specific`` ReLU experts of ``expert`` per task and ``shared`` shared
    ones, every task's input the softmax-gated sum of its and the shared experts (and,
    below the top, the shared input gated over all experts); per-task ReLU towers of
    ``tower`` and sigmoid outputs."""
    import torch

    nn = _nn()
    d = sparse * emb + dense
    n_all = tasks * specific + shared

    def experts(a: int, n: int) -> Any:
        return nn.ModuleList(nn.Sequential(nn.Linear(a, expert), nn.ReLU()) for _ in range(n))

    class Level(nn.Module):
        def __init__(self, a: int, top: bool) -> None:
            super().__init__()
            self.top = top
            self.specific = nn.ModuleList(experts(a, specific) for _ in range(tasks))
            self.shared = experts(a, shared)
            self.gates = nn.ModuleList(nn.Linear(a, specific + shared) for _ in range(tasks))
            self.shared_gate = None if top else nn.Linear(a, n_all)

        def forward(self, xs: list[Any]) -> list[Any]:
            sh = [e(xs[-1]) for e in self.shared]
            outs, every = [], []
            for i in range(tasks):
                sp = [e(xs[i]) for e in self.specific[i]]
                every += sp
                g = torch.softmax(self.gates[i](xs[i]), -1)
                outs.append((torch.stack(sp + sh, -1) * g[:, None]).sum(-1))
            if self.shared_gate is not None:
                g = torch.softmax(self.shared_gate(xs[-1]), -1)
                outs.append((torch.stack(every + sh, -1) * g[:, None]).sum(-1))
            return outs

    class PLE(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding(sparse * rows, emb)
            self.register_buffer("offsets", torch.arange(sparse) * rows)
            self.levels = nn.ModuleList(
                Level(d if i == 0 else expert, i == levels - 1) for i in range(levels)
            )
            self.towers = nn.ModuleList(
                nn.Sequential(_mlp(expert, *tower, 1), nn.Sigmoid()) for _ in range(tasks)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            e = self.table(_ids(r[:, :sparse], rows) + self.offsets).flatten(1)
            h = torch.cat([e, r[:, sparse:]], -1)
            xs = [h] * (tasks + 1)
            for level in self.levels:
                xs = level(xs)
            return torch.cat([t(xi) for t, xi in zip(self.towers, xs, strict=True)], -1)[None]

    return PLE()


def tabpfn(
    train: int,
    test: int,
    features: int = 100,
    classes: int = 10,
    d: int = 512,
    heads: int = 4,
    ff: int = 1024,
    layers: int = 12,
) -> Any:
    """TabPFN (Hollmann, Müller, Eggensperger & Hutter, "TabPFN: A Transformer That
    Solves Small Tabular Classification Problems in a Second", ICLR 2023) predicting in
    context on (1, ``train`` + ``test``, ``features`` + 1) rows (zero-padded features and
    a label, the training rows first): features standardised by the training rows,
    encoded by a linear layer to ``d``, the training labels' linear encoding added;
    ``layers`` post-norm transformer layers (``heads`` heads, GELU feed-forward nets of
    ``ff``) in which every row attends only to the training rows; the test rows'
    ``classes`` logits by a two-layer GELU decoder."""
    import torch

    nn = _nn()
    n = train + test

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.kv, self.o = nn.Linear(d, d), nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.ffn = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = self.q(x).reshape(n, heads, -1).transpose(0, 1)
            k, v = self.kv(x[:train]).reshape(train, 2, heads, -1).permute(1, 2, 0, 3).unbind(0)
            a = torch.softmax(q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5), -1)
            x = self.n1(x + self.o((a @ v).transpose(0, 1).reshape(n, d)))
            return self.n2(x + self.ffn(x))

    class TabPFN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x_enc, self.y_enc = nn.Linear(features, d), nn.Linear(1, d)
            self.layers = nn.Sequential(*[Layer() for _ in range(layers)])
            self.dec = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f, y = x[0, :, :features], _ids(x[0, :train, features:], classes).float()
            mean, std = f[:train].mean(0), f[:train].std(0) + 1e-6
            h = self.x_enc(((f - mean) / std).clamp(-100, 100))
            h = torch.cat([h[:train] + self.y_enc(y), h[train:]], 0)
            return self.dec(self.layers(h)[train:])[None]

    return TabPFN()


# ------------------------------------------------------- graphs, points, time series


def pna(
    nodes: int,
    slots: int = 4,
    layers: int = 4,
    d: int = 75,
    towers: int = 5,
    atoms: int = 28,
    bonds: int = 4,
    edge: int = 50,
    avg_log: float = 1.0,
) -> Any:
    """PNA (Corso, Cavalleri, Beaini, Liò & Veličković, "Principal Neighbourhood
    Aggregation for Graph Nets", NeurIPS 2020) in its ZINC layout on a molecule of
    ``nodes`` atoms given as (1, ``nodes``, 1 + 3 ``slots``): each atom's type, the ids,
    bond types and presence of up to ``slots`` neighbours. Atom and bond embeddings;
    ``layers`` PNA layers of ``towers`` towers (a pre-transformation of each edge's two
    atoms and bond; mean, min, max and standard-deviation aggregators each with the
    identity, amplification and attenuation degree scalers; a post-transformation with
    the atom), a linear mixing with leaky ReLU, BN, ReLU and a residual; a sum readout
    and an MLP."""
    import torch

    nn = _nn()
    out = d // towers

    class Tower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre, self.post = nn.Linear(3 * d, d), nn.Linear(13 * d, out)

        def forward(self, x: Any, nb: Any, e: Any, valid: Any, deg: Any) -> torch.Tensor:
            m = self.pre(torch.cat([x[:, None].expand(nodes, slots, d), nb, e], -1))
            mean = (m * valid).sum(1) / deg
            sq = (m * m * valid).sum(1) / deg
            big, has = (1 - valid) * 1e9, (valid.sum(1) > 0).float()
            mx, mn = (m - big).amax(1) * has, (m + big).amin(1) * has
            std = torch.sqrt(torch.relu(sq - mean * mean) + 1e-5)
            agg = torch.cat([mean, mn, mx, std], -1)
            logd = torch.log(deg + 1)
            agg = torch.cat([agg, agg * logd / avg_log, agg * avg_log / logd], -1)
            return self.post(torch.cat([x, agg], -1))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.edge = nn.Linear(edge, d)
            self.towers = nn.ModuleList(Tower() for _ in range(towers))
            self.mix = nn.Sequential(nn.Linear(d, d), nn.LeakyReLU())
            self.bn = nn.BatchNorm1d(d)

        def forward(self, x: Any, idx: Any, e: Any, valid: Any, deg: Any) -> torch.Tensor:
            nb, eh = x[idx], self.edge(e)
            y = self.mix(torch.cat([t(x, nb, eh, valid, deg) for t in self.towers], -1))
            return x + torch.relu(self.bn(y))

    class PNA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.atom, self.bond = nn.Embedding(atoms, d), nn.Embedding(bonds, edge)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.readout = _mlp(d, d // 2, d // 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            h = self.atom(_ids(r[:, 0], atoms))
            idx = _ids(r[:, 1 : 1 + slots], nodes)
            e = self.bond(_ids(r[:, 1 + slots : 1 + 2 * slots], bonds))
            valid = (r[:, 1 + 2 * slots :] > 0).float()[..., None]
            deg = valid.sum(1).clamp(min=1)
            for layer in self.layers:
                h = layer(h, idx, e, valid, deg)
            return self.readout(h.sum(0, keepdim=True))

    return PNA()


def mpnn(atoms: int, feats: int = 11, d: int = 64, steps: int = 3, s2s: int = 3) -> Any:
    """The MPNN of Gilmer et al. ("Neural Message Passing for Quantum Chemistry", ICML
    2017) on a QM9 molecule of ``atoms`` atoms given as (1, ``atoms``, ``feats`` + 3 +
    ``atoms``): atom features, coordinates and the bond type to every atom, as a
    complete graph. Atom features embedded to ``d``; ``steps`` rounds of the edge network
    message (an MLP of each pair's bond one-hot and distance to a ``d`` x ``d`` matrix
    applied to the neighbour, averaged, plus a root weight) and a GRU update shared
    across rounds; a set2set readout of ``s2s`` LSTM steps; a two-layer regressor."""
    import torch

    nn = _nn()

    class MPNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin0 = nn.Linear(feats, d)
            self.edge_net = nn.Sequential(nn.Linear(5, 128), nn.ReLU(), nn.Linear(128, d * d))
            self.root = nn.Linear(d, d)
            self.gru = _gru_cell(d, d)
            self.lstm = _lstm_cell(2 * d, d)
            self.head = _mlp(2 * d, d, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            pos = r[:, feats : feats + 3]
            bond = torch.nn.functional.one_hot(_ids(r[:, feats + 3 :], 5), 5)[..., 1:].float()
            dist = ((pos[:, None] - pos[None]) ** 2).sum(-1, keepdim=True).sqrt()
            w = self.edge_net(torch.cat([bond, dist], -1)).reshape(atoms, atoms, d, d)
            off = 1 - torch.eye(atoms)[..., None]
            h = torch.relu(self.lin0(r[:, :feats]))
            state = h
            for _ in range(steps):
                msg = (h[None, :, None, :] @ w)[:, :, 0] * off
                m = torch.relu(msg.sum(1) / (atoms - 1) + self.root(h))
                h = state = self.gru(m, state)
            q_star = torch.zeros(1, 2 * d)
            hq, cq = torch.zeros(1, d), torch.zeros(1, d)
            for _ in range(s2s):
                hq, cq = self.lstm(q_star, hq, cq)
                a = torch.softmax((h * hq).sum(-1), 0)
                q_star = torch.cat([hq, a[None] @ h], -1)
            return self.head(q_star)

    return MPNN()


def _knn(q: Any, p: Any, k: int) -> Any:
    """Indices (queries, ``k``) of the ``k`` points of ``p`` nearest each of ``q``."""
    import torch

    d = (q * q).sum(-1, keepdim=True) - 2 * q @ p.t() + (p * p).sum(-1)[None]
    return torch.topk(-d, k, -1).indices


def randlanet(
    points: int,
    feats: int = 6,
    classes: int = 13,
    k: int = 16,
    dims: tuple[int, ...] = (16, 64, 128, 256, 512),
    ratios: tuple[int, ...] = (4, 4, 4, 4, 2),
) -> Any:
    """RandLA-Net (Hu et al., "RandLA-Net: Efficient Semantic Segmentation of
    Large-Scale Point Clouds", CVPR 2020) in its S3DIS layout on (1, ``points``,
    ``feats``) points (xyz first) in random order: a linear layer to 8; five encoder
    layers of dilated residual blocks (two local spatial encodings of each point's ``k``
    nearest neighbours, relative positions through an MLP, concatenated with their
    features and attentively pooled by a softmax score per channel; shared MLPs and a
    shortcut) of ``dims``, each followed by random sampling (the first points) by
    ``ratios`` with max pooling over neighbourhoods; a decoder of nearest-neighbour
    upsampling and skip concatenations; per-point MLPs to ``classes`` classes."""
    import torch

    nn = _nn()

    def mlp(a: int, b: int, act: bool = True) -> Any:
        layers: list[Any] = [nn.Linear(a, b), nn.BatchNorm1d(b)]
        return nn.Sequential(*layers, nn.LeakyReLU(0.2)) if act else nn.Sequential(*layers)

    def nb_mlp(a: int, b: int) -> Any:
        return nn.Sequential(nn.Linear(a, b), nn.LeakyReLU(0.2))

    class AttPool(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.score, self.mlp = nn.Linear(a, a, bias=False), mlp(a, b)

        def forward(self, f: torch.Tensor) -> torch.Tensor:
            return self.mlp((f * torch.softmax(self.score(f), 1)).sum(1))

    class Block(nn.Module):
        def __init__(self, a: int, d: int) -> None:
            super().__init__()
            self.mlp1, self.mlp2, self.short = (
                mlp(a, d // 2),
                mlp(d, 2 * d, False),
                mlp(a, 2 * d, False),
            )
            self.pos1, self.pos2 = nb_mlp(10, d // 2), nb_mlp(d // 2, d // 2)
            self.att1, self.att2 = AttPool(d, d // 2), AttPool(d, d)

        def forward(self, f: torch.Tensor, xyz: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            nb = xyz[idx]
            rel = xyz[:, None] - nb
            dist = torch.sqrt((rel * rel).sum(-1, keepdim=True) + 1e-12)
            tile = xyz[:, None].expand_as(nb)
            pe = self.pos1(torch.cat([dist, rel, tile, nb], -1))
            y = self.mlp1(f)
            y = self.att1(torch.cat([y[idx], pe], -1))
            y = self.att2(torch.cat([y[idx], self.pos2(pe)], -1))
            return torch.nn.functional.leaky_relu(self.mlp2(y) + self.short(f), 0.2)

    class RandLANet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc0 = mlp(feats, 8)
            ins = [8] + [2 * d for d in dims[:-1]]
            self.blocks = nn.ModuleList(Block(a, d) for a, d in zip(ins, dims, strict=True))
            self.dec0 = mlp(2 * dims[-1], 2 * dims[-1])
            skips = [2 * dims[0]] + [2 * d for d in dims[:-1]]
            ups, c = [], 2 * dims[-1]
            for s in reversed(skips):
                ups.append(mlp(c + s, s))
                c = s
            self.ups = nn.ModuleList(ups)
            self.head = nn.Sequential(
                mlp(c, 64), mlp(64, 32), nn.Dropout(0.5), nn.Linear(32, classes)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xyz, f = x[0, :, :3], self.fc0(x[0])
            sizes = [points]
            for r in ratios:
                sizes.append(sizes[-1] // r)
            xyzs = [xyz[:n] for n in sizes]
            skips = []
            for i, block in enumerate(self.blocks):
                idx = _knn(xyzs[i], xyzs[i], k)
                f = block(f, xyzs[i], idx)
                if i == 0:
                    skips.append(f)
                f = f[idx[: sizes[i + 1]]].amax(1)
                skips.append(f)
            f = self.dec0(skips.pop())
            for j, up in enumerate(self.ups):
                level = len(sizes) - 2 - j
                near = _knn(xyzs[level], xyzs[level + 1], 1)[:, 0]
                f = up(torch.cat([skips.pop(), f[near]], -1))
            return self.head(f)[None]

    return RandLANet()


def deepar(
    context: int,
    horizon: int = 24,
    paths: int = 100,
    hidden: int = 40,
    layers: int = 3,
    series: int = 370,
    emb: int = 20,
) -> Any:
    """DeepAR (Salinas, Flunkert, Gasthaus & Januschowski, "DeepAR: Probabilistic
    Forecasting with Autoregressive Recurrent Networks", International Journal of
    Forecasting 2020) on an hourly electricity series' last (1, ``context``) values: the
    values scaled by 1 + their mean; a ``layers``-layer LSTM of ``hidden`` on the previous
    scaled value, age, hour-of-day and day-of-week covariates and a series embedding
    conditions on the context; ``paths`` sample paths (fixed Gaussian noise) are then
    drawn ancestrally for ``horizon`` hours from the Gaussian likelihood's mean and
    softplus scale, each sample fed back, and rescaled."""
    import torch

    nn = _nn()
    F = nn.functional
    total = context + horizon
    t = torch.arange(total, dtype=torch.float32)
    cov = torch.stack([t / total - 0.5, (t % 24) / 23 - 0.5, (t // 24 % 7) / 6 - 0.5], -1)

    class DeepAR(nn.Module):
        cov: torch.Tensor
        noise: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(series, emb)
            self.lstm = nn.LSTM(1 + 3 + emb, hidden, layers)
            self.mu, self.sigma = nn.Linear(hidden, 1), nn.Linear(hidden, 1)
            self.register_buffer("cov", cov)
            g = torch.Generator().manual_seed(0)
            self.register_buffer("noise", torch.randn(horizon, paths, 1, generator=g))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = x[0]
            nu = 1 + z.abs().mean()
            e = self.embed(_ids(z[:1], series))
            prev = torch.cat([torch.zeros(1), z[:-1]]) / nu
            inp = torch.cat([prev[:, None], self.cov[:context], e.expand(context, emb)], -1)
            _, (h, c) = self.lstm(inp[:, None])
            h, c = h.expand(layers, paths, hidden), c.expand(layers, paths, hidden)
            y = (z[-1:] / nu).expand(paths, 1)
            ep = e.expand(paths, emb)
            samples = []
            for i in range(horizon):
                step = torch.cat([y, self.cov[context + i].expand(paths, 3), ep], -1)
                o, (h, c) = self.lstm(step[None], (h.contiguous(), c.contiguous()))
                y = self.mu(o[0]) + F.softplus(self.sigma(o[0])) * self.noise[i]
                samples.append(y)
            return (torch.cat(samples, -1) * nu)[None]

    return DeepAR()


def tide(
    lookback: int,
    horizon: int,
    series: int,
    hidden: int = 1024,
    layers: int = 2,
    out: int = 8,
    temporal: int = 64,
    covariates: int = 7,
    proj: int = 4,
) -> Any:
    """TiDE (Das et al., "Long-term Forecasting with TiDE: Time-series Dense Encoder",
    TMLR 2023) in its electricity layout on (1, ``series``, ``lookback``) series, each
    forecast ``horizon`` steps independently: residual blocks (a ReLU hidden layer, a
    linear layer, a linear skip, a layer norm) projecting ``covariates`` date features
    of every step to ``proj``; a dense encoder and decoder of ``layers`` residual blocks of
    ``hidden`` on the lookback and the flattened projected covariates, decoded to
    ``out`` features per horizon step; a temporal decoder block per step with its
    projected covariates; plus a linear global residual from the lookback."""
    import torch

    nn = _nn()
    total = lookback + horizon
    t = torch.arange(total, dtype=torch.float32)
    cols = [t % 24 / 23, t // 24 % 7 / 6, t // 24 % 30 / 29, t // 24 % 365 / 364]
    cols += [t // 720 % 12 / 11, t / total, (t % 168) / 167]
    cov = torch.stack(cols[:covariates], -1) - 0.5

    class Res(nn.Module):
        def __init__(self, a: int, h: int, b: int) -> None:
            super().__init__()
            self.f = nn.Sequential(nn.Linear(a, h), nn.ReLU(), nn.Linear(h, b))
            self.skip, self.norm = nn.Linear(a, b), nn.LayerNorm(b)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(self.f(x) + self.skip(x))

    class TiDE(nn.Module):
        cov: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("cov", cov)
            self.feature = Res(covariates, temporal, proj)
            dims = [lookback + total * proj] + [hidden] * layers
            self.enc = nn.Sequential(*[Res(dims[i], hidden, dims[i + 1]) for i in range(layers)])
            outs = [hidden] * (layers - 1) + [horizon * out]
            self.dec = nn.Sequential(*[Res(hidden, hidden, b) for b in outs])
            self.temporal = Res(out + proj, temporal, 1)
            self.residual = nn.Linear(lookback, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x[0]
            p = self.feature(self.cov)
            h = torch.cat([y, p.flatten()[None].expand(series, total * proj)], -1)
            g = self.dec(self.enc(h)).reshape(series, horizon, out)
            pf = p[lookback:][None].expand(series, horizon, proj)
            return (self.temporal(torch.cat([g, pf], -1))[..., 0] + self.residual(y))[None]

    return TiDE()


def inception_time(channels: int, classes: int, nets: int = 5, depth: int = 6, f: int = 32) -> Any:
    """InceptionTime (Ismail Fawaz et al., "InceptionTime: Finding AlexNet for Time Series
    Classification", Data Mining and Knowledge Discovery 2020) on (1, ``channels``,
    length) series: an ensemble of ``nets`` Inception networks averaged, each ``depth``
    Inception modules (a 1x1 bottleneck of ``f``, convs of widths 39, 19 and 9 beside a
    max pool and 1x1 conv, concatenated to 4 ``f``, BN, ReLU) with a conv-BN shortcut
    every three, global average pooling and a softmax classifier."""
    import torch

    nn = _nn()

    class Module(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.neck = nn.Conv1d(cin, f, 1, bias=False) if cin > 1 else nn.Identity()
            a = f if cin > 1 else cin
            self.convs = nn.ModuleList(
                nn.Conv1d(a, f, k, 1, k // 2, bias=False) for k in (39, 19, 9)
            )
            self.pool = nn.Sequential(nn.MaxPool1d(3, 1, 1), nn.Conv1d(cin, f, 1, bias=False))
            self.bn = nn.BatchNorm1d(4 * f)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.neck(x)
            y = torch.cat([c(y) for c in self.convs] + [self.pool(x)], 1)
            return torch.relu(self.bn(y))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mods = nn.ModuleList(Module(channels if i == 0 else 4 * f) for i in range(depth))
            self.shorts = nn.ModuleList(
                nn.Sequential(
                    nn.Conv1d(channels if i == 0 else 4 * f, 4 * f, 1, bias=False),
                    nn.BatchNorm1d(4 * f),
                )
                for i in range(depth // 3)
            )
            self.fc = nn.Linear(4 * f, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            res = x
            for i, m in enumerate(self.mods):
                x = m(x)
                if i % 3 == 2:
                    x = torch.relu(x + self.shorts[i // 3](res))
                    res = x
            return torch.softmax(self.fc(x.mean(-1)), -1)

    class InceptionTime(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.nets = nn.ModuleList(Net() for _ in range(nets))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([n(x) for n in self.nets]).mean(0)

    return InceptionTime()


# ------------------------------------- generative, control, scientific and multimodal


def sketch_rnn(steps: int, enc: int = 256, dec: int = 512, z: int = 128, mixtures: int = 20) -> Any:
    """Sketch-RNN (Ha & Eck, "A Neural Representation of Sketch Drawings", ICLR 2018)
    encoding a (1, ``steps``, 5) stroke-5 sketch and redrawing it: a bidirectional LSTM
    encoder of ``enc`` whose final states give the latent mean of ``z``; the decoder
    LSTM of ``dec`` started from a tanh projection of it, fed the previous stroke and
    the latent, its mixture density output (``mixtures`` bivariate Gaussians and three
    pen states) decoded greedily (the most likely component's mean and pen state) for
    ``steps`` strokes."""
    import torch

    nn = _nn()
    F = nn.functional
    m = mixtures

    class SketchRNN(nn.Module):
        start: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.LSTM(5, enc, batch_first=True, bidirectional=True)
            self.mu, self.sigma = nn.Linear(2 * enc, z), nn.Linear(2 * enc, z)
            self.init = nn.Linear(z, 2 * dec)
            self.cell = _lstm_cell(5 + z, dec)
            self.out = nn.Linear(dec, 6 * m + 3)
            self.register_buffer("start", torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.encoder(x)[1][0]
            code = self.mu(h.transpose(0, 1).reshape(1, 2 * enc))
            hx, cx = torch.tanh(self.init(code)).chunk(2, -1)
            s = self.start
            strokes = []
            for _ in range(steps):
                hx, cx = self.cell(torch.cat([s, code], -1), hx, cx)
                p = self.out(hx)
                best = p[:, :m].argmax(-1, keepdim=True)
                dx, dy = p[:, m : 2 * m].gather(1, best), p[:, 2 * m : 3 * m].gather(1, best)
                pen = F.one_hot(p[:, 6 * m :].argmax(-1), 3).float()
                s = torch.cat([dx, dy, pen], -1)
                strokes.append(s)
            return torch.stack(strokes, 1)

    return SketchRNN()


def draw(
    steps: int = 64,
    res: int = 28,
    read_n: int = 2,
    write_n: int = 5,
    hidden: int = 256,
    z: int = 100,
) -> Any:
    """DRAW (Gregor, Danihelka, Graves, Rezende & Wierstra, "DRAW: A Recurrent Neural
    Network For Image Generation", ICML 2015), its MNIST model with attention,
    reconstructing a (1, 1, ``res``, ``res``) digit over ``steps`` glimpses: each step reads
    ``read_n`` x ``read_n`` Gaussian-filterbank glimpses of the image and of its error
    against the canvas (grid centre, stride, variance and intensity from the decoder
    state), an encoder LSTM of ``hidden``, the latent mean of ``z``, a decoder LSTM of
    ``hidden`` and a ``write_n`` x ``write_n`` attentive write added to the canvas; the
    sigmoid canvas."""
    import torch

    nn = _nn()

    class DRAW(nn.Module):
        grid: torch.Tensor
        off_r: torch.Tensor
        off_w: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.enc = _lstm_cell(2 * read_n * read_n + hidden, hidden)
            self.dec = _lstm_cell(z, hidden)
            self.mu = nn.Linear(hidden, z)
            self.read_att, self.write_att = nn.Linear(hidden, 5), nn.Linear(hidden, 5)
            self.write = nn.Linear(hidden, write_n * write_n)
            self.register_buffer("grid", torch.arange(res, dtype=torch.float32)[None])
            for name, n in (("off_r", read_n), ("off_w", write_n)):
                self.register_buffer(
                    name, (torch.arange(n, dtype=torch.float32) - n / 2 - 0.5)[:, None]
                )

        def bank(self, p: torch.Tensor, n: int, off: torch.Tensor) -> Any:
            gx, gy, logvar, logdelta, loggamma = p[0].unbind(0)
            gx, gy = (res + 1) / 2 * (gx + 1), (res + 1) / 2 * (gy + 1)
            delta, var = (res - 1) / (n - 1) * torch.exp(logdelta), torch.exp(logvar)
            fx = torch.exp(-((self.grid - (gx + off * delta)) ** 2) / (2 * var))
            fy = torch.exp(-((self.grid - (gy + off * delta)) ** 2) / (2 * var))
            fx = fx / (fx.sum(-1, keepdim=True) + 1e-8)
            fy = fy / (fy.sum(-1, keepdim=True) + 1e-8)
            return fx, fy, torch.exp(loggamma)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            img = x[0, 0]
            canvas = torch.zeros(res, res)
            he = ce = hd = cd = torch.zeros(1, hidden)
            for _ in range(steps):
                err = img - torch.sigmoid(canvas)
                fx, fy, g = self.bank(self.read_att(hd), read_n, self.off_r)
                r = torch.cat([(fy @ img @ fx.t()).flatten(), (fy @ err @ fx.t()).flatten()]) * g
                he, ce = self.enc(torch.cat([r[None], hd], -1), he, ce)
                hd, cd = self.dec(self.mu(he), hd, cd)
                fx, fy, g = self.bank(self.write_att(hd), write_n, self.off_w)
                patch = self.write(hd).reshape(write_n, write_n)
                canvas = canvas + fy.t() @ patch @ fx / g
            return torch.sigmoid(canvas)[None, None]

    return DRAW()


def dreamer(
    frames: int,
    horizon: int = 15,
    actions: int = 6,
    stoch: int = 30,
    deter: int = 200,
    hidden: int = 200,
    units: int = 400,
    gamma: float = 0.99,
    lam: float = 0.95,
) -> Any:
    """Dreamer (Hafner, Lillicrap, Ba & Norouzi, "Dream to Control: Learning Behaviors by
    Latent Imagination", ICLR 2020) on DeepMind Control, (1, ``frames``, 3, 64, 64)
    observations: the conv encoder (four 4x4 stride-2 ReLU convs of 32 to 256); the RSSM
    (a GRU of ``deter`` on the previous stochastic state of ``stoch`` and action, prior and
    posterior means from ELU MLPs of ``hidden``) filtering the observations while the
    actor (four ELU layers of ``units``, tanh mean action) acts; from the last state the
    actor imagines ``horizon`` steps through the prior, whose reward and value models'
    predictions give the lambda-return; the first action and that return."""
    import torch

    nn = _nn()
    feat = deter + stoch

    class Dreamer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            enc: list[Any] = []
            for a, b in ((3, 32), (32, 64), (64, 128), (128, 256)):
                enc += [nn.Conv2d(a, b, 4, 2), nn.ReLU()]
            self.enc = nn.Sequential(*enc, nn.Flatten())
            self.img_in = nn.Sequential(nn.Linear(stoch + actions, hidden), nn.ELU())
            self.gru = _gru_cell(hidden, deter)
            self.prior = _mlp(deter, hidden, 2 * stoch, act=nn.ELU)
            self.post = _mlp(deter + 1024, hidden, 2 * stoch, act=nn.ELU)
            self.actor = _mlp(feat, units, units, units, units, 2 * actions, act=nn.ELU)
            self.value = _mlp(feat, units, units, units, 1, act=nn.ELU)
            self.reward = _mlp(feat, units, units, 1, act=nn.ELU)

        def act(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.actor(torch.cat([h, s], -1))[:, :actions])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            emb = self.enc(x[0])
            s, h, a = torch.zeros(1, stoch), torch.zeros(1, deter), torch.zeros(1, actions)
            for t in range(frames):
                h = self.gru(self.img_in(torch.cat([s, a], -1)), h)
                s = self.post(torch.cat([h, emb[t : t + 1]], -1))[:, :stoch]
                a = self.act(s, h)
            first = a
            rewards, values = [], []
            for _ in range(horizon):
                h = self.gru(self.img_in(torch.cat([s, a], -1)), h)
                s = self.prior(h)[:, :stoch]
                a = self.act(s, h)
                f = torch.cat([h, s], -1)
                rewards.append(self.reward(f))
                values.append(self.value(f))
            ret = values[-1]
            for i in range(horizon - 2, -1, -1):
                ret = rewards[i] + gamma * ((1 - lam) * values[i + 1] + lam * ret)
            return torch.cat([first, ret], -1)

    return Dreamer()


def diffusion_policy(
    obs: int = 2,
    horizon: int = 16,
    act_dim: int = 2,
    res: int = 96,
    crop: int = 84,
    steps: int = 10,
    train_steps: int = 100,
    dims: tuple[int, ...] = (256, 512, 1024),
    k: int = 5,
    groups: int = 8,
    step_emb: int = 128,
    kp: int = 32,
) -> Any:
    """Diffusion Policy (Chi et al., "Diffusion Policy: Visuomotor Policy Learning via
    Action Diffusion", RSS 2023), the CNN-based policy on Push-T images, from (1,
    ``obs``, 3, ``res``, ``res``) frames (the agent position read from their first
    pixels): each centre-cropped frame through a ResNet-18 with group norms and a
    spatial-softmax keypoint head (``kp`` keypoints, a linear layer to 64); the 1-D
    temporal conditional U-Net (``dims`` channels, residual blocks of width-``k``
    conv-group-norm-Mish layers FiLM-conditioned on the diffusion step's sinusoidal
    embedding and the observation features, strided down- and transposed up-sampling)
    denoising a ``horizon`` x ``act_dim`` action sequence from fixed Gaussian noise in
    ``steps`` DDIM steps of a ``train_steps``-step cosine schedule."""
    import torch

    nn = _nn()

    def alpha_bar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [
        min(1 - alpha_bar((i + 1) / train_steps) / alpha_bar(i / train_steps), 0.999)
        for i in range(train_steps)
    ]
    cum = torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), 0)
    jump = train_steps // steps
    times = list(range((steps - 1) * jump, -1, -jump))
    ab = [float(cum[t]) for t in times]
    ab_prev = [float(cum[t - jump]) if t - jump >= 0 else 1.0 for t in times]
    cond_dim = step_emb + obs * (64 + 2)
    half = step_emb // 2
    freqs = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
    t_in = torch.tensor(times, dtype=torch.float32)[:, None] * freqs
    t_in = torch.cat([t_in.sin(), t_in.cos()], -1)

    def gn(c: int) -> Any:
        return nn.GroupNorm(c // 16, c)

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, s, 1, bias=False),
                gn(cout),
                nn.ReLU(),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                gn(cout),
            )
            same = s == 1 and cin == cout
            self.short = (
                nn.Identity()
                if same
                else nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), gn(cout))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    class Encoder(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [
                nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                gn(64),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, 1),
            ]
            for a, b, s in ((64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)):
                layers += [Basic(a, b, s), Basic(b, b, 1)]
            self.backbone = nn.Sequential(*layers)
            self.keypoints = nn.Conv2d(512, kp, 1)
            side = math.ceil(crop / 32)
            lin = torch.linspace(-1, 1, side)
            gy, gx = torch.meshgrid(lin, lin, indexing="ij")
            self.register_buffer("pos", torch.stack([gx.flatten(), gy.flatten()], -1))
            self.out = nn.Linear(2 * kp, 64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.keypoints(self.backbone(x)).flatten(2)
            return self.out((torch.softmax(f, -1) @ self.pos).flatten(1))

    class Block1d(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv1d(cin, cout, k, 1, k // 2), nn.GroupNorm(groups, cout), nn.Mish()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.f(x)

    class ResBlock(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.b1, self.b2 = Block1d(cin, cout), Block1d(cout, cout)
            self.cond = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * cout))
            self.res = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            scale, bias = self.cond(c)[0].reshape(2, -1, 1).unbind(0)
            return self.b2(scale * self.b1(x) + bias) + self.res(x)

    class DiffusionPolicy(nn.Module):
        t_in: torch.Tensor
        noise: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.encoder = Encoder()
            self.register_buffer("t_in", t_in)
            g = torch.Generator().manual_seed(0)
            self.register_buffer("noise", torch.randn(1, act_dim, horizon, generator=g))
            self.step_mlp = nn.Sequential(
                nn.Linear(step_emb, 4 * step_emb), nn.Mish(), nn.Linear(4 * step_emb, step_emb)
            )
            chans = [act_dim, *dims]
            n = len(dims)
            self.down = nn.ModuleList(
                nn.ModuleList(
                    [
                        ResBlock(a, b),
                        ResBlock(b, b),
                        nn.Conv1d(b, b, 3, 2, 1) if i < n - 1 else nn.Identity(),
                    ]
                )
                for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True))
            )
            self.mid = nn.ModuleList(ResBlock(dims[-1], dims[-1]) for _ in range(2))
            self.up = nn.ModuleList(
                nn.ModuleList(
                    [ResBlock(2 * b, a), ResBlock(a, a), nn.ConvTranspose1d(a, a, 4, 2, 1)]
                )
                for a, b in reversed(list(zip(dims[:-1], dims[1:], strict=True)))
            )
            self.final = nn.Sequential(Block1d(dims[0], dims[0]), nn.Conv1d(dims[0], act_dim, 1))

        def unet(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            skips = []
            for r1, r2, down in self.down:
                x = r2(r1(x, c), c)
                skips.append(x)
                x = down(x)
            for r in self.mid:
                x = r(x, c)
            for r1, r2, up in self.up:
                x = up(r2(r1(torch.cat([x, skips.pop()], 1), c), c))
            return self.final(x)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            o = (res - crop) // 2
            frames = x[0, :, :, o : o + crop, o : o + crop]
            agent = x[0, :, 0, 0, :2]
            global_cond = torch.cat([self.encoder(frames), agent], -1).flatten()[None]
            temb = self.step_mlp(self.t_in)
            a = self.noise
            for i in range(steps):
                c = torch.cat([temb[i : i + 1], global_cond], -1)
                eps = self.unet(a, c)
                x0 = ((a - math.sqrt(1 - ab[i]) * eps) / math.sqrt(ab[i])).clamp(-1, 1)
                eps = (a - math.sqrt(ab[i]) * x0) / math.sqrt(1 - ab[i])
                a = math.sqrt(ab_prev[i]) * x0 + math.sqrt(1 - ab_prev[i]) * eps
            return a.transpose(1, 2)

    return DiffusionPolicy()


def deepdta(
    drug: int = 85,
    prot: int = 1200,
    charset: int = 64,
    aminos: int = 25,
    emb: int = 128,
    filters: int = 32,
    dk: int = 4,
    pk: int = 8,
) -> Any:
    """DeepDTA (Öztürk, Özgür & Ozkirimli, "DeepDTA: deep drug-target binding affinity
    prediction", Bioinformatics 2018) in its Davis layout on (1, ``drug`` + ``prot``) ids
    of a SMILES string and a protein sequence: each embedded in ``emb`` and through
    three ReLU 1-D convs of ``filters``, 2 and 3 times ``filters`` (widths ``dk`` and
    ``pk``) and global max pooling; the two concatenated into fully connected ReLU layers
    of 1024, 1024 and 512 and the predicted affinity."""
    import torch

    nn = _nn()

    def branch(k: int) -> Any:
        f = filters
        return nn.Sequential(
            nn.Conv1d(emb, f, k),
            nn.ReLU(),
            nn.Conv1d(f, 2 * f, k),
            nn.ReLU(),
            nn.Conv1d(2 * f, 3 * f, k),
            nn.ReLU(),
        )

    class DeepDTA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.d_emb, self.p_emb = nn.Embedding(charset + 1, emb), nn.Embedding(aminos + 1, emb)
            self.d_conv, self.p_conv = branch(dk), branch(pk)
            self.fc = nn.Sequential(
                nn.Linear(6 * filters, 1024),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Linear(1024, 1024),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Linear(1024, 512),
                nn.ReLU(),
                nn.Linear(512, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d = self.d_emb(_ids(x[0, :drug], charset + 1)).t()[None]
            p = self.p_emb(_ids(x[0, drug:], aminos + 1)).t()[None]
            f = torch.cat([self.d_conv(d).amax(-1), self.p_conv(p).amax(-1)], -1)
            return self.fc(f)

    return DeepDTA()


def painn(
    atoms: int,
    f: int = 128,
    blocks: int = 3,
    rbf: int = 20,
    cutoff: float = 5.0,
    elements: int = 100,
) -> Any:
    """PaiNN (Schütt, Unke & Gastegger, "Equivariant message passing for the prediction
    of tensorial properties and molecular spectra", ICML 2021) in its QM9 layout on a
    molecule of ``atoms`` atoms given as (1, ``atoms``, 4) atomic numbers and positions:
    scalar embeddings of ``f`` and zero vector features; ``blocks`` rounds of equivariant
    messages (an MLP of the neighbour's scalars times a linear filter of ``rbf`` sine
    radial bases under a cosine cutoff at ``cutoff``, split into scalar, vector-gating and
    direction terms) and updates (linear maps U and V of the vectors, an MLP of the
    scalars and |V v| gating U v, the scalar product and the scalars); an atomwise MLP
    summed to the property."""
    import torch

    nn = _nn()

    class Message(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.phi = nn.Sequential(nn.Linear(f, f), nn.SiLU(), nn.Linear(f, 3 * f))
            self.w = nn.Linear(rbf, 3 * f)

        def forward(self, s: Any, v: Any, dirs: Any, basis: Any, fcut: Any) -> Any:
            ds, dvv, dvs = (self.phi(s)[None] * self.w(basis) * fcut).split(f, -1)
            dv = (dvv[:, :, None] * v[None]).sum(1) + (dvs[:, :, None] * dirs[..., None]).sum(1)
            return s + ds.sum(1), v + dv

    class Update(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.u, self.v = nn.Linear(f, f, bias=False), nn.Linear(f, f, bias=False)
            self.a = nn.Sequential(nn.Linear(2 * f, f), nn.SiLU(), nn.Linear(f, 3 * f))

        def forward(self, s: Any, v: Any) -> Any:
            uv, vv = self.u(v), self.v(v)
            norm = torch.sqrt((vv * vv).sum(1) + 1e-8)
            avv, asv, ass = self.a(torch.cat([s, norm], -1)).split(f, -1)
            return s + asv * (uv * vv).sum(1) + ass, v + avv[:, None] * uv

    class PaiNN(nn.Module):
        n: torch.Tensor
        off: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(elements, f)
            self.msgs = nn.ModuleList(Message() for _ in range(blocks))
            self.upds = nn.ModuleList(Update() for _ in range(blocks))
            self.out = _mlp(f, f // 2, 1, act=nn.SiLU)
            self.register_buffer(
                "n", torch.arange(1, rbf + 1, dtype=torch.float32) * math.pi / cutoff
            )
            self.register_buffer("off", 1 - torch.eye(atoms)[..., None])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            s = self.embed(_ids(r[:, 0], elements))
            pos = r[:, 1:] * 2
            rel = pos[None] - pos[:, None]
            dist = torch.sqrt((rel * rel).sum(-1, keepdim=True) + 1e-8)
            basis = torch.sin(dist * self.n) / dist
            fcut = (
                0.5 * (torch.cos(dist * math.pi / cutoff) + 1) * (dist < cutoff).float() * self.off
            )
            dirs = rel / dist
            v = torch.zeros(atoms, 3, f)
            for msg, upd in zip(self.msgs, self.upds, strict=True):
                s, v = msg(s, v, dirs, basis, fcut)
                s, v = upd(s, v)
            return self.out(s).sum(0, keepdim=True)

    return PaiNN()


def film(
    q: int = 24,
    vocab: int = 93,
    emb: int = 200,
    gru: int = 4096,
    c: int = 128,
    blocks: int = 4,
    answers: int = 28,
    res: int = 224,
) -> Any:
    """FiLM (Perez, Strub, de Vries, Dumoulin & Courville, "FiLM: Visual Reasoning with a
    General Conditioning Layer", AAAI 2018) answering a CLEVR question about a (1, 3,
    ``res``, ``res``) image from raw pixels (the question's ``q`` word ids read from its
    first row): a GRU of ``gru`` on word embeddings of ``emb`` whose final state predicts,
    by a linear layer, a scale and shift per channel for each of ``blocks`` residual
    blocks; four 4x4 stride-2 conv-BN-ReLU layers of ``c``; the residual blocks (a 1x1
    ReLU conv on features and coordinate maps, a 3x3 conv, BN without affine, the FiLM
    modulation, ReLU, a residual); a classifier (a 1x1 conv of 512 with coordinates,
    global max pooling, an MLP of 1024) to ``answers`` answers."""
    import torch

    nn = _nn()
    side = res // 16
    lin = torch.linspace(-1, 1, side)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    coords = torch.stack([gx, gy])[None]

    class ResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(c + 2, c, 1), nn.Conv2d(c, c, 3, 1, 1)
            self.bn = nn.BatchNorm2d(c, affine=False)

        def forward(self, x: Any, xy: Any, gamma: Any, beta: Any) -> torch.Tensor:
            x = torch.relu(self.c1(torch.cat([x, xy], 1)))
            y = self.bn(self.c2(x)) * gamma[None, :, None, None] + beta[None, :, None, None]
            return x + torch.relu(y)

    class FiLM(nn.Module):
        coords: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.embed, self.gru = nn.Embedding(vocab, emb), nn.GRU(emb, gru)
            self.film = nn.Linear(gru, blocks * 2 * c)
            self.stem = nn.Sequential(
                *[
                    nn.Sequential(
                        nn.Conv2d(3 if i == 0 else c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU()
                    )
                    for i in range(4)
                ]
            )
            self.blocks = nn.ModuleList(ResBlock() for _ in range(blocks))
            self.register_buffer("coords", coords)
            self.conv = nn.Sequential(nn.Conv2d(c + 2, 512, 1), nn.BatchNorm2d(512), nn.ReLU())
            self.mlp = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, answers))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            words = self.embed(_ids(x[0, 0, 0, :q], vocab))[:, None]
            params = self.film(self.gru(words)[1][0]).reshape(blocks, 2, c)
            y = self.stem(x)
            for i, block in enumerate(self.blocks):
                y = block(y, self.coords, params[i, 0], params[i, 1])
            y = self.conv(torch.cat([y, self.coords], 1)).amax((2, 3))
            return self.mlp(y)

    return FiLM()


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the seventeenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image, video and few-shot models."""
    return [
        ("cbam", "cbam_resnet50_224", partial(cbam_resnet), _image(224)),
        ("rednet", "rednet26_160", partial(rednet), _image(160)),
        ("t2t_vit", "t2t_vit7_224", partial(t2t_vit), _image(224)),
        ("pit", "pit_ti_224", partial(pit), _image(224)),
        ("focalnet", "focalnet_t_srf_160", partial(focalnet), _image(160)),
        ("focalnet", "focalnet_t_srf_224", partial(focalnet), _image(224)),
        ("mtcnn", "mtcnn_240x320", partial(mtcnn, 240, 320), _image(240, 320)),
        ("cgnet", "cgnet_m3n21_c19_256x512", partial(cgnet), _image(256, 512)),
        ("cgnet", "cgnet_m3n21_c11_360x480", partial(cgnet, 11), _image(360, 480)),
        ("spynet", "spynet_96x128", partial(spynet, 96, 128), (1, 6, 96, 128)),
        ("i3d", "i3d_rgb_8x112", partial(i3d), (1, 3, 8, 112, 112)),
        ("lapsrn", "lapsrn_x4_24x32", partial(lapsrn), (1, 1, 24, 32)),
        ("lapsrn", "lapsrn_x4_48x64", partial(lapsrn), (1, 1, 48, 64)),
        ("retinexnet", "retinexnet_96x128", partial(retinexnet, 96, 128), _image(96, 128)),
        (
            "protonet",
            "protonet_omniglot_20w1s5q",
            partial(protonet, 20, 1, 5),
            (1, 120, 1, 28, 28),
        ),
        ("stn", "st_cnn_svhn_64", partial(stn_svhn), _image(64)),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The speech, audio, text and translation models."""
    return [
        ("contextnet", "contextnet_s_80x200", partial(contextnet, 0.5), (1, 80, 200)),
        ("contextnet", "contextnet_m_80x400", partial(contextnet, 1.0), (1, 80, 400)),
        ("rnnt", "rnnt_lstmp2048_48f", partial(rnnt, 48), (1, 48, 80)),
        ("vggish", "vggish_2x96x64", partial(vggish, 2), (1, 2, 96, 64)),
        ("samplecnn", "samplecnn_3_9_59049", partial(samplecnn), (1, 1, 59049)),
        ("segan", "segan_16384", partial(segan), (1, 1, 16384)),
        ("transformer_xl", "txl_enwik8_base_2x64", partial(transformer_xl, 64), (1, 128)),
        (
            "convs2s",
            "convs2s_iwslt_40x40",
            partial(convs2s, 40, 40, 256, 4, 3, 8848, 6632),
            (1, 80),
        ),
        (
            "convs2s",
            "convs2s_wmt_enro_32x32",
            partial(convs2s, 32, 32, 512, 20, 20, 32768, 32768),
            (1, 64),
        ),
        ("qrnn", "awd_qrnn_ptb_70", partial(qrnn, 70), (1, 70)),
        ("esim", "esim_snli_32_24", partial(esim, 32, 24), (1, 56)),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, tabular, graph, point-cloud, time-series, generative,
    control, scientific and multimodal models."""
    return [
        ("gru4rec", "gru4rec_rsc15_h1000_s20", partial(gru4rec, 20), (1, 20)),
        ("ple", "ple_2t_2l_256c", partial(ple, 256), (1, 256, 39)),
        ("tabpfn", "tabpfn_128tr_32te", partial(tabpfn, 128, 32), (1, 160, 101)),
        ("pna", "pna_zinc_n38", partial(pna, 38), (1, 38, 13)),
        ("mpnn", "mpnn_qm9_n29", partial(mpnn, 29), (1, 29, 43)),
        ("randlanet", "randlanet_s3dis_4096", partial(randlanet, 4096), (1, 4096, 6)),
        ("deepar", "deepar_elec_168_24x100", partial(deepar, 168), (1, 168)),
        ("tide", "tide_elec_720_96_c321", partial(tide, 720, 96, 321), (1, 321, 720)),
        ("inceptiontime", "inceptiontime_x5_512", partial(inception_time, 1, 10), (1, 1, 512)),
        ("sketch_rnn", "sketch_rnn_125", partial(sketch_rnn, 125), (1, 125, 5)),
        ("draw", "draw_mnist_t64", partial(draw), (1, 1, 28, 28)),
        ("dreamer", "dreamer_dmc_16f_h15", partial(dreamer, 16), (1, 16, 3, 64, 64)),
        (
            "diffusion_policy",
            "dp_pusht_cnn_ddim5",
            partial(diffusion_policy, steps=5),
            (1, 2, 3, 96, 96),
        ),
        ("deepdta", "deepdta_davis", partial(deepdta), (1, 1285)),
        ("painn", "painn_qm9_n29", partial(painn, 29), (1, 29, 4)),
        ("film", "film_clevr_pixels_224_q12", partial(film, 12), _image(224)),
    ]
