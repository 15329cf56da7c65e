"""A sixteenth held-out zoo of real-world architectures (plain torch), written after the
fifteenth zoo (benchmarks/realworld_zoo15.py), before any prediction of it.

Like the second to fifteenth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. Every family
is one none of the fifteen earlier zoos has, across tasks: PeleeNet's two-way dense
layers and stem block (mobile classification; Wang, Li & Ling, NeurIPS 2018), BoTNet's
multi-head self-attention in ResNet-50's last stage (classification; Srinivas et al.,
CVPR 2021), CvT's convolutional token embeddings and projections (classification; Wu et
al., ICCV 2021), ArcFace's improved residual IResNets (face recognition; Deng et al.,
CVPR 2019), YOLACT's prototype masks, shared head and Fast NMS (instance segmentation;
Bolya et al., ICCV 2019), ERFNet's factorised non-bottleneck-1D blocks (Romera et al.,
IEEE T-ITS 2018) and LinkNet's ResNet-18 encoder linked to its decoder (Chaurasia &
Culurciello, VCIP 2017) (real-time segmentation), VDSR's twenty-layer residual net
(super-resolution; Kim, Lee & Lee, CVPR 2016), FFDNet's downsampled sub-images with a
noise level map (denoising; Zhang, Zuo & Zhang, IEEE TIP 2018), FlowNetS's refinement
of upconvolutions and flow predictions (optical flow; Dosovitskiy et al., ICCV 2015),
ST-GCN's spatial-temporal graph convolutions on a skeleton (action recognition; Yan,
Xiong & Lin, AAAI 2018), Listen, Attend and Spell's pyramidal BLSTM listener and
attending speller (speech recognition; Chan et al., ICASSP 2016), the x-vector TDNN
with statistics pooling (speaker embedding; Snyder et al., ICASSP 2018), DCCRN's complex
convolutions and complex LSTM between a convolutional STFT and its inverse (speech
enhancement; Hu et al., Interspeech 2020), Open-Unmix's BLSTM spectrogram masker (music
separation; Stöter et al., JOSS 2019), BiDAF's character CNN, highway and bidirectional
attention flow (question answering; Seo et al., ICLR 2017), the dynamic convolution
encoder-decoder (translation; Wu et al., ICLR 2019), ConvBERT's span-based dynamic
convolution mixed with attention and its grouped feed-forward nets (text; Jiang et
al., NeurIPS 2020), Wide & Deep (Cheng et al., DLRS 2016) and the Behavior Sequence
Transformer (Chen et al., DLP-KDD 2019) (recommendation), Graphormer's centrality,
spatial and edge encodings (molecular graphs; Ying et al., NeurIPS 2021), DCRNN's
diffusion convolutional GRU encoder-decoder (traffic forecasting; Li et al., ICLR 2018),
FoldingNet's graph encoder and folding decoder (Yang et al., CVPR 2018) and VoxNet's
3-D convs on occupancy grids voted over rotations (Maturana & Scherer, IROS 2015)
(point clouds), LSTNet's conv, recurrent-skip and autoregressive parts (Lai et al.,
SIGIR 2018) and Informer's ProbSparse attention with distilling (Zhou et al., AAAI 2021)
(time series), TabTransformer's contextual column embeddings (tabular; Huang et al.,
arXiv 2020), the World Models VAE, MDN-RNN and controller (model-based reinforcement
learning; Ha & Schmidhuber, NeurIPS 2018), MADE's masked autoencoder ensembled over
orderings (density estimation; Germain et al., ICML 2015), CGCNN's gated crystal graph
convolutions (materials; Xie & Grossman, Physical Review Letters 2018), the ODE-Net of
Neural ODEs (Chen et al., NeurIPS 2018), Relation Networks on CLEVR pixels (visual
question answering; Santoro et al., NeurIPS 2017), the Decision Transformer on Atari
(offline reinforcement learning; Chen et al., NeurIPS 2021), Show, Attend and Tell's
soft-attention LSTM captioner (captioning; Xu et al., ICML 2015) and Basset's
convolutions on one-hot DNA (genomics; Kelley, Snoek & Rinn, Genome Research 2016).
Every input has batch size 1.

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


def _shifts(x: Any, k: int, left: int) -> Any:
    """(t, ``k``, c) windows of a (t, c) sequence zero padded by ``left`` before and
    ``k`` - 1 - ``left`` after: the k taps of a 1-D convolution at every step."""
    import torch

    t = x.shape[0]
    pad = torch.nn.functional.pad(x, (0, 0, left, k - 1 - left))
    return torch.stack([pad[i : i + t] for i in range(k)], 1)


def _lstm_cell(a: int, h: int) -> Any:
    """An LSTM cell of linear layers: input, forget, cell and output gates from the input
    and the state."""
    import torch

    nn = _nn()

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x, self.h = nn.Linear(a, 4 * h), nn.Linear(h, 4 * h, bias=False)

        def forward(self, x: torch.Tensor, hx: torch.Tensor, cx: torch.Tensor) -> Any:
            i, f, g, o = (self.x(x) + self.h(hx)).chunk(4, -1)
            cx = torch.sigmoid(f) * cx + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(cx), cx

    return Cell()


def _mha(d: int, heads: int) -> Any:
    """Multi-head attention of ``heads`` on (t, ``d``) queries and (s, ``d``) keys, with
    an optional additive mask or bias broadcast over (heads, t, s)."""
    import torch

    nn = _nn()

    class MHA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.o = nn.Linear(d, d)

        def forward(self, x: torch.Tensor, m: torch.Tensor, bias: Any = None) -> torch.Tensor:
            t, s = x.shape[0], m.shape[0]
            q = self.q(x).reshape(t, heads, -1).transpose(0, 1)
            k = self.k(m).reshape(s, heads, -1).transpose(0, 1)
            v = self.v(m).reshape(s, heads, -1).transpose(0, 1)
            a = q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5)
            if bias is not None:
                a = a + bias
            return self.o((torch.softmax(a, -1) @ v).transpose(0, 1).reshape(t, d))

    return MHA()


# ---------------------------------------------------------------------------- vision


def _two_way_dense(cin: int, growth: int, width: int) -> Any:
    """PeleeNet's two-way dense layer: a 1x1 bottleneck then one 3x3 conv (a 3x3
    receptive field) beside a 1x1 bottleneck then two 3x3 convs (5x5), each adding
    ``growth`` / 2 channels concatenated to the input."""
    import torch

    nn = _nn()
    k = growth // 2
    inter = int(k * width / 4) * 4
    if inter > cin / 2:
        inter = int(cin / 8) * 4

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Sequential(_cbr(cin, inter, 1, act=nn.ReLU), _cbr(inter, k, 3, act=nn.ReLU))
            self.b = nn.Sequential(
                _cbr(cin, inter, 1, act=nn.ReLU),
                _cbr(inter, k, 3, act=nn.ReLU),
                _cbr(k, k, 3, act=nn.ReLU),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, self.a(x), self.b(x)], 1)

    return Layer()


def peleenet(
    growth: int = 32,
    layers: tuple[int, ...] = (3, 4, 8, 6),
    widths: tuple[int, ...] = (1, 2, 4, 4),
    classes: int = 1000,
) -> Any:
    """PeleeNet (Wang, Li & Ling, "Pelee: A Real-Time Object Detection System on Mobile
    Devices", NeurIPS 2018): the stem block (a 3x3 stride-2 conv to 32, then a 1x1 and a
    3x3 stride-2 conv beside a 2x2 max pool, concatenated and fused by a 1x1 conv); four
    stages of ``layers`` two-way dense layers of growth rate ``growth`` and bottleneck
    widths ``widths``, each closed by a 1x1 transition conv keeping the channels (and a 2x2
    average pool but in the last); pooling and a classifier."""
    import torch

    nn = _nn()

    class Stem(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem1 = _cbr(3, 32, 3, 2, act=nn.ReLU)
            self.branch = nn.Sequential(
                _cbr(32, 16, 1, act=nn.ReLU), _cbr(16, 32, 3, 2, act=nn.ReLU)
            )
            self.pool = nn.MaxPool2d(2, 2)
            self.fuse = _cbr(64, 32, 1, act=nn.ReLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem1(x)
            return self.fuse(torch.cat([self.branch(x), self.pool(x)], 1))

    parts: list[Any] = [Stem()]
    c = 32
    for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
        for _ in range(n):
            parts.append(_two_way_dense(c, growth, w))
            c += growth
        parts.append(_cbr(c, c, 1, act=nn.ReLU))
        if i < len(layers) - 1:
            parts.append(nn.AvgPool2d(2, 2))
    parts += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*parts)


def _bottleneck(cin: int, mid: int, s: int, mixer: Any = None) -> Any:
    """ResNet-50's bottleneck (1x1, 3x3 of stride ``s``, 1x1 to 4 ``mid``; a 1x1 projection
    shortcut when the shape changes); ``mixer`` replaces the 3x3 conv-BN-ReLU."""
    import torch

    nn = _nn()
    cout = 4 * mid

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            middle = mixer if mixer is not None else _cbr(mid, mid, 3, s, act=nn.ReLU)
            self.body = nn.Sequential(_cbr(cin, mid, 1, act=nn.ReLU), middle, _cbr(mid, cout, 1))
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    return Block()


def _resnet50_stages(depths: tuple[int, ...] = (3, 4, 6, 3)) -> list[Any]:
    """ResNet-50's stem (7x7 stride-2 conv, max pool) fused into the first of four stages
    (widths 64 to 512 inside, 256 to 2048 out, stride 2 from the second)."""
    nn = _nn()
    stages: list[Any] = []
    cin = 64
    for i, n in enumerate(depths):
        mid = 64 * 2**i
        blocks = [
            _bottleneck(cin if j == 0 else 4 * mid, mid, 2 if j == 0 and i else 1) for j in range(n)
        ]
        if i == 0:
            blocks = [_cbr(3, 64, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1), *blocks]
        stages.append(nn.Sequential(*blocks))
        cin = 4 * mid
    return stages


def _bot_mhsa(d: int, heads: int, h: int, w: int) -> Any:
    """BoTNet's all-to-all multi-head self-attention on an ``h`` x ``w`` map of ``d``
    channels: 1x1 query, key and value projections, content logits q k^T plus
    content-position logits q r^T with r the sum of learned height and width
    embeddings."""
    import torch

    nn = _nn()
    dh = d // heads

    class MHSA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Conv2d(d, 3 * d, 1, bias=False)
            self.rel_h = nn.Parameter(torch.randn(heads, dh, h, 1) * dh**-0.5)
            self.rel_w = nn.Parameter(torch.randn(heads, dh, 1, w) * dh**-0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(x).reshape(3, heads, dh, h * w).unbind(0)
            r = (self.rel_h + self.rel_w).reshape(heads, dh, h * w)
            qt = q.transpose(1, 2)
            a = torch.softmax(qt @ k + qt @ r, -1)
            return (v @ a.transpose(1, 2)).reshape(1, d, h, w)

    return MHSA()


def botnet(res: int, heads: int = 4, classes: int = 1000) -> Any:
    """BoTNet-50 (Srinivas et al., "Bottleneck Transformers for Visual Recognition", CVPR
    2021) at ``res``: ResNet-50 with the 3x3 convs of the last stage's three bottlenecks
    replaced by multi-head self-attention of ``heads`` heads on the 512-channel map
    (the first followed by a 2x2 average pool for its stride), then BN-ReLU; pooling and
    a classifier."""
    nn = _nn()
    stages = _resnet50_stages((3, 4, 6, 0))[:3]
    s = res // 16
    blocks = []
    for j in range(3):
        hw = s if j == 0 else s // 2
        mixer: list[Any] = [_bot_mhsa(512, heads, hw, hw)]
        if j == 0:
            mixer.append(nn.AvgPool2d(2, 2))
        mixer += [nn.BatchNorm2d(512), nn.ReLU()]
        blocks.append(
            _bottleneck(1024 if j == 0 else 2048, 512, 2 if j == 0 else 1, nn.Sequential(*mixer))
        )
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes)]
    return nn.Sequential(*stages, *blocks, *head)


def cvt(
    dims: tuple[int, ...] = (64, 192, 384),
    depths: tuple[int, ...] = (1, 2, 10),
    heads: tuple[int, ...] = (1, 3, 6),
    classes: int = 1000,
) -> Any:
    """CvT (Wu et al., "CvT: Introducing Convolutions to Vision Transformers", ICCV 2021),
    CvT-13 by default: three stages, each a convolutional token embedding (a 7x7 stride-4
    conv, then 3x3 stride-2 convs, and a layer norm) and ``depths`` transformer blocks
    whose query, key and value are convolutional projections (a depthwise 3x3 conv and BN,
    of stride 1 for the query and 2 for the key and value, then a linear layer); a class
    token joins in the last stage and is classified after a layer norm."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        def __init__(self, d: int, h: int, cls: bool) -> None:
            super().__init__()
            self.d, self.h, self.cls = d, h, cls

            def proj(s: int) -> Any:
                conv = nn.Conv2d(d, d, 3, s, 1, groups=d, bias=False)
                return nn.Sequential(conv, nn.BatchNorm2d(d))

            self.cq, self.ck, self.cv = proj(1), proj(2), proj(2)
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.o = nn.Linear(d, d)

        def forward(self, x: torch.Tensor, hh: int, ww: int) -> torch.Tensor:
            d = self.d
            tok = x[:, 1:] if self.cls else x
            m = tok.transpose(1, 2).reshape(1, d, hh, ww)
            q, k, v = (f(m).flatten(2).transpose(1, 2) for f in (self.cq, self.ck, self.cv))
            if self.cls:
                q, k, v = (torch.cat([x[:, :1], t], 1) for t in (q, k, v))
            q = self.q(q).reshape(q.shape[1], self.h, -1).transpose(0, 1)
            k = self.k(k).reshape(k.shape[1], self.h, -1).transpose(0, 1)
            v = self.v(v).reshape(v.shape[1], self.h, -1).transpose(0, 1)
            a = torch.softmax(q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5), -1)
            return self.o((a @ v).transpose(0, 1).reshape(1, -1, d))

    class Block(nn.Module):
        def __init__(self, d: int, h: int, cls: bool) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = Attention(d, h, cls)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor, hh: int, ww: int) -> torch.Tensor:
            x = x + self.attn(self.n1(x), hh, ww)
            return x + self.mlp(self.n2(x))

    class CvT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            cins = (3, *dims[:-1])
            self.embeds = nn.ModuleList(
                nn.Conv2d(a, b, 7 if i == 0 else 3, 4 if i == 0 else 2, 2 if i == 0 else 1)
                for i, (a, b) in enumerate(zip(cins, dims, strict=True))
            )
            self.norms = nn.ModuleList(nn.LayerNorm(d) for d in dims)
            last = len(dims) - 1
            self.stages = nn.ModuleList(
                nn.ModuleList(Block(d, h, i == last) for _ in range(n))
                for i, (d, h, n) in enumerate(zip(dims, heads, depths, strict=True))
            )
            self.cls = nn.Parameter(torch.zeros(1, 1, dims[-1]))
            self.norm, self.head = nn.LayerNorm(dims[-1]), nn.Linear(dims[-1], classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x
            for i, (embed, norm, blocks) in enumerate(
                zip(self.embeds, self.norms, self.stages, strict=True)
            ):
                y = embed(x)
                hh, ww = y.shape[2], y.shape[3]
                t = norm(y.flatten(2).transpose(1, 2))
                if i == len(dims) - 1:
                    t = torch.cat([self.cls, t], 1)
                for block in blocks:
                    t = block(t, hh, ww)
                if i < len(dims) - 1:
                    x = t.transpose(1, 2).reshape(1, -1, hh, ww)
            return self.head(self.norm(t[:, 0]))

    return CvT()


def arcface_iresnet(depths: tuple[int, ...], emb: int = 512) -> Any:
    """ArcFace's IResNet (Deng et al., "ArcFace: Additive Angular Margin Loss for Deep
    Face Recognition", CVPR 2019) on a 112 x 112 face: a 3x3 conv-BN-PReLU stem to 64;
    four stages (64 to 512 channels) of ``depths`` improved residual units (BN, 3x3 conv,
    BN, PReLU, 3x3 conv of stride 2 in the first unit, BN; a 1x1 conv-BN shortcut); the
    "E" output layer (BN, dropout, a fully connected layer from the 7 x 7 map to ``emb``,
    BN) giving the embedding. IResNet-50 is ``(3, 4, 14, 3)``, IResNet-18 ``(2, 2, 2,
    2)``."""
    import torch

    nn = _nn()

    class Unit(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.PReLU(cout),
                nn.Conv2d(cout, cout, 3, s, 1, bias=False),
                nn.BatchNorm2d(cout),
            )
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x) + self.short(x)

    layers: list[Any] = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)]
    cin = 64
    for i, n in enumerate(depths):
        c = 64 * 2**i
        for j in range(n):
            layers.append(Unit(cin, c, 2 if j == 0 else 1))
            cin = c
    layers += [nn.BatchNorm2d(cin), nn.Dropout(0.0), nn.Flatten(), nn.Linear(cin * 49, emb)]
    layers.append(nn.BatchNorm1d(emb))
    return nn.Sequential(*layers)


def yolact(
    h: int,
    w: int,
    classes: int = 81,
    protos: int = 32,
    top_k: int = 200,
    keep: int = 100,
) -> Any:
    """YOLACT (Bolya et al., "YOLACT: Real-time Instance Segmentation", ICCV 2019) on an
    ``h`` x ``w`` image: a ResNet-50 backbone; an FPN of 256 channels on C3-C5 (ReLU after
    the 3x3 output convs) with P6 and P7 from stride-2 convs; the protonet on P3 (three
    3x3 convs, 2x bilinear upsampling, a 3x3 and a 1x1 conv to ``protos`` ReLU prototypes);
    the prediction head shared over P3-P7 (a 3x3 conv, then 3x3 convs to class
    confidences, box offsets and tanh mask coefficients for 3 anchors of aspect ratios 1,
    1/2, 2 per position); box decoding from the anchors; Fast NMS (for every class its
    ``top_k`` detections, the upper-triangular IoU matrix, its column maxima above 0.5
    suppressing); the ``keep`` best kept detections' masks assembled (a sigmoid of the
    prototypes times their coefficients, cropped to their boxes) and weighted by their
    scores."""
    import torch

    nn = _nn()
    F = nn.functional
    scales = (24, 48, 96, 192, 384)
    ratios = (1.0, 0.5, 2.0)
    anchors = []
    for i, sc in enumerate(scales):
        fh, fw = math.ceil(h / 2 ** (i + 3)), math.ceil(w / 2 ** (i + 3))
        for y in range(fh):
            for x in range(fw):
                for r in ratios:
                    aw, ah = sc * math.sqrt(r) / 550, sc / math.sqrt(r) / 550
                    anchors.append(((x + 0.5) / fw, (y + 0.5) / fh, aw, ah))

    class YOLACT(nn.Module):
        priors: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2, self.c3, self.c4 = _resnet50_stages()
            self.lat = nn.ModuleList(nn.Conv2d(c, 256, 1) for c in (512, 1024, 2048))
            self.pred = nn.ModuleList(nn.Conv2d(256, 256, 3, 1, 1) for _ in range(3))
            self.down = nn.ModuleList(nn.Conv2d(256, 256, 3, 2, 1) for _ in range(2))
            proto: list[Any] = []
            for _ in range(3):
                proto += [nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU()]
            self.proto_a = nn.Sequential(*proto)
            self.proto_b = nn.Sequential(
                nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(), nn.Conv2d(256, protos, 1), nn.ReLU()
            )
            self.up = nn.Sequential(nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU())
            self.box = nn.Conv2d(256, 3 * 4, 3, 1, 1)
            self.conf = nn.Conv2d(256, 3 * classes, 3, 1, 1)
            self.coef = nn.Conv2d(256, 3 * protos, 3, 1, 1)
            self.register_buffer("priors", torch.tensor(anchors))

        def head(self, p: torch.Tensor) -> Any:
            u = self.up(p)
            out = []
            for conv, n in ((self.box, 4), (self.conf, classes), (self.coef, protos)):
                out.append(conv(u).permute(0, 2, 3, 1).reshape(-1, n))
            return out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c3 = self.c2(self.c1(x))
            c4 = self.c3(c3)
            c5 = self.c4(c4)
            p5 = self.lat[2](c5)
            p4 = self.lat[1](c4) + F.interpolate(p5, size=c4.shape[2:], mode="bilinear")
            p3 = self.lat[0](c3) + F.interpolate(p4, size=c3.shape[2:], mode="bilinear")
            ps = [torch.relu(conv(p)) for conv, p in zip(self.pred, (p3, p4, p5), strict=True)]
            p6 = self.down[0](ps[2])
            ps += [p6, self.down[1](p6)]
            proto = F.interpolate(self.proto_a(ps[0]), scale_factor=2.0, mode="bilinear")
            proto = self.proto_b(proto)[0]  # (protos, ph, pw)
            loc, conf, coef = (
                torch.cat(t, 0) for t in zip(*(self.head(p) for p in ps), strict=True)
            )
            coef = torch.tanh(coef)
            a = self.priors
            cxcy = a[:, :2] + loc[:, :2] * 0.1 * a[:, 2:]
            wh = a[:, 2:] * torch.exp(loc[:, 2:] * 0.2)
            boxes = torch.cat([cxcy - wh / 2, cxcy + wh / 2], 1)
            scores = torch.softmax(conf, -1)[:, 1:].t()  # (classes - 1, anchors)
            s, idx = torch.topk(scores, top_k, 1)
            b = boxes[idx]  # (c, k, 4)
            lt = torch.maximum(b[:, :, None, :2], b[:, None, :, :2])
            rb = torch.minimum(b[:, :, None, 2:], b[:, None, :, 2:])
            inter = (rb - lt).clamp(min=0).prod(-1)
            area = (b[..., 2:] - b[..., :2]).prod(-1)
            iou = torch.triu(inter / (area[:, :, None] + area[:, None, :] - inter), 1)
            s = s * (iou.amax(1) <= 0.5).float()
            best, pick = torch.topk(s.flatten(), keep)
            det = idx.flatten()[pick]
            c = coef[det]  # (keep, protos)
            ph, pw = proto.shape[1], proto.shape[2]
            masks = torch.sigmoid((c @ proto.reshape(protos, -1)).reshape(keep, ph, pw))
            bb = boxes[det]
            gx = (torch.arange(pw, dtype=torch.float32) + 0.5) / pw
            gy = (torch.arange(ph, dtype=torch.float32) + 0.5) / ph
            inx = (gx[None] >= bb[:, :1]) & (gx[None] <= bb[:, 2:3])
            iny = (gy[None] >= bb[:, 1:2]) & (gy[None] <= bb[:, 3:4])
            crop = (iny[:, :, None] & inx[:, None, :]).float()
            return (masks * crop * best[:, None, None])[None]

    return YOLACT()


def erfnet(classes: int = 20) -> Any:
    """ERFNet (Romera et al., "ERFNet: Efficient Residual Factorized ConvNet for Real-time
    Semantic Segmentation", IEEE T-ITS 2018): downsampler blocks (a 3x3 stride-2 conv
    concatenated with a max pool, BN, ReLU) to 16, 64 and 128 channels; five
    non-bottleneck-1D blocks at 64 and eight at 128 of dilations 2, 4, 8, 16 twice (each
    3x1 and 1x3 convs, ReLU, BN, then dilated 3x1 and 1x3 convs, BN, a residual and ReLU);
    a decoder of transposed-conv upsamplers with two non-bottleneck-1D blocks each and a
    final 2x2 transposed conv to ``classes``."""
    import torch

    nn = _nn()

    class Down(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout - cin, 3, 2, 1)
            self.pool = nn.MaxPool2d(2, 2)
            self.bn = nn.BatchNorm2d(cout, eps=1e-3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))

    class NonBt1D(nn.Module):
        def __init__(self, c: int, d: int) -> None:
            super().__init__()
            self.a1 = nn.Conv2d(c, c, (3, 1), 1, (1, 0))
            self.b1 = nn.Conv2d(c, c, (1, 3), 1, (0, 1))
            self.bn1 = nn.BatchNorm2d(c, eps=1e-3)
            self.a2 = nn.Conv2d(c, c, (3, 1), 1, (d, 0), (d, 1))
            self.b2 = nn.Conv2d(c, c, (1, 3), 1, (0, d), (1, d))
            self.bn2 = nn.BatchNorm2d(c, eps=1e-3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.bn1(self.b1(torch.relu(self.a1(x)))))
            y = self.bn2(self.b2(torch.relu(self.a2(y))))
            return torch.relu(y + x)

    def up(cin: int, cout: int) -> Any:
        conv = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1)
        return nn.Sequential(conv, nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU())

    layers: list[Any] = [Down(3, 16), Down(16, 64), *[NonBt1D(64, 1) for _ in range(5)]]
    layers.append(Down(64, 128))
    for _ in range(2):
        layers += [NonBt1D(128, d) for d in (2, 4, 8, 16)]
    layers += [up(128, 64), NonBt1D(64, 1), NonBt1D(64, 1), up(64, 16), NonBt1D(16, 1)]
    layers += [NonBt1D(16, 1), nn.ConvTranspose2d(16, classes, 2, 2)]
    return nn.Sequential(*layers)


def linknet(classes: int = 12) -> Any:
    """LinkNet (Chaurasia & Culurciello, "LinkNet: Exploiting Encoder Representations for
    Efficient Semantic Segmentation", VCIP 2017): a 7x7 stride-2 conv and 3x3 max pool,
    four encoder blocks of two ResNet-18 basic blocks (64 to 512 channels, each the first
    of stride 2); decoder blocks (a 1x1 conv to a
    quarter, a 3x3 stride-2 full convolution, a 1x1 conv to the next width, each BN-ReLU)
    whose outputs are added to the encoder's (the links); a final full conv, a 3x3 conv
    and a 2x2 full conv to ``classes``."""
    import torch

    nn = _nn()

    class Basic(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.body = nn.Sequential(_cbr(cin, cout, 3, s, act=nn.ReLU), _cbr(cout, cout, 3))
            same = s == 1 and cin == cout
            self.short = nn.Identity() if same else _cbr(cin, cout, 1, s)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    def decoder(m: int, n: int) -> Any:
        full = nn.ConvTranspose2d(m // 4, m // 4, 3, 2, 1, output_padding=1, bias=False)
        return nn.Sequential(
            _cbr(m, m // 4, 1, act=nn.ReLU),
            full,
            nn.BatchNorm2d(m // 4),
            nn.ReLU(),
            _cbr(m // 4, n, 1, act=nn.ReLU),
        )

    class LinkNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.init = nn.Sequential(_cbr(3, 64, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1))
            chans = (64, 64, 128, 256, 512)
            self.enc = nn.ModuleList(
                nn.Sequential(Basic(a, b, 2), Basic(b, b, 1))
                for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True))
            )
            self.dec = nn.ModuleList(
                decoder(a, b) for a, b in ((64, 64), (128, 64), (256, 128), (512, 256))
            )
            self.final = nn.Sequential(
                nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(),
                _cbr(32, 32, 3, act=nn.ReLU),
                nn.ConvTranspose2d(32, classes, 2, 2),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            x = self.init(x)
            for enc in self.enc:
                x = enc(x)
                feats.append(x)
            y = self.dec[3](feats[3])
            for i in (2, 1, 0):
                y = self.dec[i](y + feats[i])
            return self.final(y)

    return LinkNet()


def vdsr(depth: int = 20, c: int = 64) -> Any:
    """VDSR (Kim, Lee & Lee, "Accurate Image Super-Resolution Using Very Deep
    Convolutional Networks", CVPR 2016) on a bicubically upscaled luminance image: ``depth``
    3x3 convs of ``c`` channels with ReLUs between, the last to one channel, learning the
    residual added to the input."""
    import torch

    nn = _nn()

    class VDSR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [nn.Conv2d(1, c, 3, 1, 1), nn.ReLU()]
            for _ in range(depth - 2):
                layers += [nn.Conv2d(c, c, 3, 1, 1), nn.ReLU()]
            layers.append(nn.Conv2d(c, 1, 3, 1, 1))
            self.body = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    return VDSR()


def ffdnet(channels: int, sigma: float = 25 / 255) -> Any:
    """FFDNet (Zhang, Zuo & Zhang, "FFDNet: Toward a Fast and Flexible Solution for
    CNN-Based Image Denoising", IEEE TIP 2018) for ``channels``-channel images: the image
    reversibly downsampled into four sub-images, concatenated with a noise level map of
    ``sigma`` per channel; 12 layers of 96 channels for colour (15 of 64 for grey) of
    3x3 conv-ReLU, conv-BN-ReLU in the middle; a 3x3 conv to the sub-images, upsampled
    back."""
    import torch

    nn = _nn()
    depth, c = (12, 96) if channels == 3 else (15, 64)

    class FFDNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [nn.Conv2d(5 * channels, c, 3, 1, 1), nn.ReLU()]
            layers += [_cbr(c, c, 3, act=nn.ReLU) for _ in range(depth - 2)]
            layers.append(nn.Conv2d(c, 4 * channels, 3, 1, 1))
            self.body = nn.Sequential(*layers)
            self.down, self.upsample = nn.PixelUnshuffle(2), nn.PixelShuffle(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            sub = self.down(x)
            noise = torch.zeros_like(sub[:, :channels]) + sigma
            return self.upsample(self.body(torch.cat([sub, noise], 1)))

    return FFDNet()


def flownet_s() -> Any:
    """FlowNetS (Dosovitskiy et al., "FlowNet: Learning Optical Flow with Convolutional
    Networks", ICCV 2015) on two stacked RGB frames: the contracting part (7x7, 5x5, 5x5
    stride-2 convs to 64, 128, 256, then 3x3 convs to 1024 at 1/64, leaky ReLUs); the
    refinement (at every scale a 3x3 conv predicting flow, upconvolutions of the features
    and the flow, concatenated with the contracting part's features) to flow at 1/4,
    bilinearly upsampled to full resolution."""
    import torch

    nn = _nn()
    F = nn.functional

    def conv(a: int, b: int, k: int = 3, s: int = 1) -> Any:
        return nn.Sequential(nn.Conv2d(a, b, k, s, (k - 1) // 2), nn.LeakyReLU(0.1))

    def deconv(a: int, b: int) -> Any:
        return nn.Sequential(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.LeakyReLU(0.1))

    class FlowNetS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.ModuleList(
                [
                    conv(6, 64, 7, 2),
                    conv(64, 128, 5, 2),
                    nn.Sequential(conv(128, 256, 5, 2), conv(256, 256)),
                    nn.Sequential(conv(256, 512, 3, 2), conv(512, 512)),
                    nn.Sequential(conv(512, 512, 3, 2), conv(512, 512)),
                    nn.Sequential(conv(512, 1024, 3, 2), conv(1024, 1024)),
                ]
            )
            ins = (1024, 1026, 770, 386)
            self.deconv = nn.ModuleList(
                deconv(a, b) for a, b in zip(ins, (512, 256, 128, 64), strict=True)
            )
            self.flow = nn.ModuleList(nn.Conv2d(a, 2, 3, 1, 1) for a in (*ins, 194))
            self.up = nn.ModuleList(nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False) for _ in range(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for layer in self.enc:
                x = layer(x)
                feats.append(x)
            y = feats[-1]
            for i in range(4):
                flow = self.flow[i](y)
                y = torch.cat([feats[4 - i], self.deconv[i](y), self.up[i](flow)], 1)
            flow = self.flow[4](y)
            return 20.0 * F.interpolate(flow, scale_factor=4.0, mode="bilinear")

    return FlowNetS()


_NTU_EDGES = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21)]
_NTU_EDGES += [(10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1)]
_NTU_EDGES += [(18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)]


def _spatial_partitions(v: int, edges: list[tuple[int, int]], center: int) -> Any:
    """ST-GCN's spatial configuration partitions of a skeleton of ``v`` joints: the
    normalised one-hop adjacency split into the root itself, the neighbours at least as
    far from the ``center`` joint and those nearer to it (grouped as in the authors'
    code); (3, v, v)."""
    import torch

    adj = [[False] * v for _ in range(v)]
    for a, b in edges:
        adj[a - 1][b - 1] = adj[b - 1][a - 1] = True
    dist = [[math.inf] * v for _ in range(v)]
    for s in range(v):
        dist[s][s], frontier = 0, [s]
        while frontier:
            nxt = []
            for i in frontier:
                for j in range(v):
                    if adj[i][j] and dist[s][j] == math.inf:
                        dist[s][j] = dist[s][i] + 1
                        nxt.append(j)
            frontier = nxt
    a = torch.tensor([[1.0 if dist[i][j] <= 1 else 0.0 for j in range(v)] for i in range(v)])
    norm = a / a.sum(0, keepdim=True)
    parts = torch.zeros(3, v, v)
    for i in range(v):
        for j in range(v):
            if dist[j][i] > 1:
                continue
            dj, di = dist[j][center], dist[i][center]
            k = 0 if dist[j][i] == 0 else (1 if dj >= di else 2)
            parts[k, j, i] = norm[j, i]
    return parts


def stgcn(frames: int, persons: int, classes: int = 60) -> Any:
    """ST-GCN (Yan, Xiong & Lin, "Spatial Temporal Graph Convolutional Networks for
    Skeleton-Based Action Recognition", AAAI 2018) on NTU RGB+D skeletons (1, 3, ``frames``,
    25 joints, ``persons``): a batch norm of the joint coordinates; ten ST-GCN units (64,
    64, 64, 64, 128, 128, 128, 256, 256, 256 channels, temporal stride 2 at the fifth and
    eighth), each a spatial graph conv over the three spatial-configuration partitions
    with a learned edge importance, then BN, ReLU, a 9 x 1 temporal conv and BN, with a
    residual; global pooling, the mean over persons and a 1x1 conv to ``classes``."""
    import torch

    nn = _nn()
    v = 25
    parts = _spatial_partitions(v, _NTU_EDGES, 20)
    spec = [(3, 64, 1, False), (64, 64, 1, True), (64, 64, 1, True), (64, 64, 1, True)]
    spec += [(64, 128, 2, True), (128, 128, 1, True), (128, 128, 1, True)]
    spec += [(128, 256, 2, True), (256, 256, 1, True), (256, 256, 1, True)]

    class Unit(nn.Module):
        a: torch.Tensor

        def __init__(self, cin: int, cout: int, s: int, res: bool) -> None:
            super().__init__()
            self.cout = cout
            self.register_buffer("a", parts.clone())
            self.importance = nn.Parameter(torch.ones(3, v, v))
            self.gcn = nn.Conv2d(cin, 3 * cout, 1)
            self.tcn = nn.Sequential(
                nn.BatchNorm2d(cout),
                nn.ReLU(),
                nn.Conv2d(cout, cout, (9, 1), (s, 1), (4, 0)),
                nn.BatchNorm2d(cout),
            )
            if not res:
                self.res: Any = None
            elif cin == cout and s == 1:
                self.res = nn.Identity()
            else:
                self.res = nn.Sequential(nn.Conv2d(cin, cout, 1, (s, 1)), nn.BatchNorm2d(cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, _, t, _ = x.shape
            y = self.gcn(x).reshape(n, 3, self.cout * t, v).transpose(0, 1)
            y = (y @ (self.a * self.importance)[:, None]).sum(0).reshape(n, self.cout, t, v)
            y = self.tcn(y)
            return torch.relu(y if self.res is None else y + self.res(x))

    class STGCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.data_bn = nn.BatchNorm1d(persons * v * 3)
            self.units = nn.Sequential(*[Unit(*row) for row in spec])
            self.fcn = nn.Conv2d(256, classes, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.permute(0, 4, 3, 1, 2).reshape(1, persons * v * 3, frames)
            x = self.data_bn(x).reshape(persons, v, 3, frames).permute(0, 2, 3, 1)
            y = self.units(x).mean((2, 3)).mean(0)
            return self.fcn(y[None, :, None, None]).flatten(1)

    return STGCN()


# ------------------------------------------------------------------ speech and audio


def las(
    frames: int, steps: int, mels: int = 40, listen: int = 256, spell: int = 512, vocab: int = 34
) -> Any:
    """Listen, Attend and Spell (Chan et al., "Listen, Attend and Spell: A Neural Network
    for Large Vocabulary Conversational Speech Recognition", ICASSP 2016) greedily
    transcribing (1, ``frames``, ``mels``) filterbanks: the listener (a BLSTM of
    ``listen`` per direction, then three pyramidal BLSTMs each on pairs of consecutive
    frames concatenated, 8x shorter in all); the speller (two LSTM layers of ``spell`` on
    the previous character and context, attention as the dot product of MLP
    projections of the state and the listener features, an MLP over the state and
    context to ``vocab`` characters) for ``steps`` characters, the argmax fed back."""
    import torch

    nn = _nn()

    class LAS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blstm = nn.LSTM(mels, listen, batch_first=True, bidirectional=True)
            self.pyramid = nn.ModuleList(
                nn.LSTM(4 * listen, listen, batch_first=True, bidirectional=True) for _ in range(3)
            )
            self.phi = nn.Sequential(nn.Linear(spell, spell), nn.ReLU(), nn.Linear(spell, spell))
            self.psi = nn.Sequential(
                nn.Linear(2 * listen, spell), nn.ReLU(), nn.Linear(spell, spell)
            )
            self.embed = nn.Embedding(vocab, spell)
            self.cell1, self.cell2 = _lstm_cell(spell + 2 * listen, spell), _lstm_cell(spell, spell)
            self.out = nn.Sequential(
                nn.Linear(spell + 2 * listen, spell), nn.ReLU(), nn.Linear(spell, vocab)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.blstm(x)[0]
            for layer in self.pyramid:
                t = h.shape[1] // 2
                h = layer(h[:, : 2 * t].reshape(1, t, 4 * listen))[0]
            h = h[0]
            keys = self.psi(h).t()
            s1 = c1 = s2 = c2 = torch.zeros(1, spell)
            ctx = torch.zeros(1, 2 * listen)
            y = self.embed(torch.zeros(1, dtype=torch.long))
            logits = []
            for _ in range(steps):
                s1, c1 = self.cell1(torch.cat([y, ctx], -1), s1, c1)
                s2, c2 = self.cell2(s1, s2, c2)
                ctx = torch.softmax(self.phi(s2) @ keys, -1) @ h
                logit = self.out(torch.cat([s2, ctx], -1))
                logits.append(logit)
                y = self.embed(logit.argmax(-1))
            return torch.cat(logits, 0)[None]

    return LAS()


def xvector(feats: int = 24, emb: int = 512) -> Any:
    """The x-vector TDNN (Snyder et al., "X-Vectors: Robust DNN Embeddings for Speaker
    Recognition", ICASSP 2018) on (1, ``feats``, frames) filterbanks: five frame layers
    (contexts [t-2, t+2], {t-2, t, t+2}, {t-3, t, t+3}, {t}, {t} as dilated 1-D convs to
    512, 512, 512, 512 and 1500, each ReLU then BN), statistics pooling (the mean and
    standard deviation over time) and the first segment layer's affine output, the
    ``emb``-dimensional x-vector."""
    import torch

    nn = _nn()

    def frame(a: int, b: int, k: int, d: int) -> list[Any]:
        return [nn.Conv1d(a, b, k, dilation=d), nn.ReLU(), nn.BatchNorm1d(b)]

    class XVector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.frames = nn.Sequential(
                *frame(feats, 512, 5, 1),
                *frame(512, 512, 3, 2),
                *frame(512, 512, 3, 3),
                *frame(512, 512, 1, 1),
                *frame(512, 1500, 1, 1),
            )
            self.segment6 = nn.Linear(3000, emb)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.frames(x)
            mean = h.mean(-1)
            std = torch.sqrt(((h - mean[..., None]) ** 2).mean(-1) + 1e-5)
            return self.segment6(torch.cat([mean, std], -1))

    return XVector()


def dccrn(
    samples: int,
    chans: tuple[int, ...] = (32, 64, 128, 128, 256, 256),
    rnn: int = 256,
    rnn_layers: int = 2,
    win: int = 400,
    hop: int = 100,
    fft: int = 512,
) -> Any:
    """DCCRN (Hu et al., "DCCRN: Deep Complex Convolution Recurrent Network for
    Phase-Aware Speech Enhancement", Interspeech 2020) enhancing (1, 1, ``samples``) of
    16 kHz speech: a convolutional STFT (a 1-D conv of windowed Fourier kernels, ``win``
    / ``hop`` / ``fft``); an encoder of complex 2-D convs (real and imaginary kernels,
    5 x 2 causal, stride 2 in frequency) to ``chans`` complex channels, BN and PReLU; a
    complex LSTM (real and imaginary LSTMs of ``rnn`` / 2, ``rnn_layers`` layers) and
    linear projections; a mirrored decoder of complex transposed convs on the encoder
    outputs concatenated; the complex ratio mask applied in its "E" form (tanh-bounded
    magnitude, added phase) and an inverse convolutional STFT with overlap-add
    normalisation."""
    import torch

    nn = _nn()
    F = nn.functional
    bins = fft // 2 + 1
    n = torch.arange(win, dtype=torch.float64)
    window = torch.sqrt(0.5 - 0.5 * torch.cos(2 * math.pi * n / win))
    basis = torch.fft.rfft(torch.eye(fft, dtype=torch.float64))[:win]
    kernel = torch.cat([basis.real.t(), basis.imag.t()], 0)
    inverse = (torch.linalg.pinv(kernel).t() * window).float()
    kernel = (kernel * window).float()
    frames = (samples + 2 * (win - hop) - win) // hop + 1
    squares = (window.float() ** 2)[None, :, None].repeat(1, 1, frames)
    ola = F.conv_transpose1d(squares, torch.eye(win)[:, None], stride=hop)
    full = (2, *chans)
    freqs = fft // 2
    for _ in chans:
        freqs //= 2

    class CConv(nn.Module):
        def __init__(self, cin: int, cout: int, up: bool) -> None:
            super().__init__()
            self.up = up
            if up:
                args: dict[str, Any] = {"padding": (2, 0), "output_padding": (1, 0)}
                self.r = nn.ConvTranspose2d(cin // 2, cout // 2, (5, 2), (2, 1), **args)
                self.i = nn.ConvTranspose2d(cin // 2, cout // 2, (5, 2), (2, 1), **args)
            else:
                self.r = nn.Conv2d(cin // 2, cout // 2, (5, 2), (2, 1), (2, 0))
                self.i = nn.Conv2d(cin // 2, cout // 2, (5, 2), (2, 1), (2, 0))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.up:
                x = F.pad(x, (1, 0, 0, 0))
            xr, xi = x.chunk(2, 1)
            y = torch.cat([self.r(xr) - self.i(xi), self.r(xi) + self.i(xr)], 1)
            return y[..., :-1] if self.up else y

    def ccat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ar, ai = a.chunk(2, 1)
        br, bi = b.chunk(2, 1)
        return torch.cat([ar, br, ai, bi], 1)

    class DCCRN(nn.Module):
        kernel: torch.Tensor
        inverse: torch.Tensor
        ola: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("kernel", kernel[:, None])
            self.register_buffer("inverse", inverse[:, None])
            self.register_buffer("ola", ola)
            self.enc = nn.ModuleList(
                nn.Sequential(CConv(a, b, False), nn.BatchNorm2d(b), nn.PReLU())
                for a, b in zip(full[:-1], full[1:], strict=True)
            )
            feat = chans[-1] // 2 * freqs
            dims = [feat] + [rnn // 2] * rnn_layers
            self.real = nn.ModuleList(nn.LSTM(a, rnn // 2, batch_first=True) for a in dims[:-1])
            self.imag = nn.ModuleList(nn.LSTM(a, rnn // 2, batch_first=True) for a in dims[:-1])
            self.proj_r, self.proj_i = nn.Linear(rnn // 2, feat), nn.Linear(rnn // 2, feat)
            dec = []
            for j in range(len(chans)):
                a, b = 2 * full[-1 - j], full[-2 - j]
                last = j == len(chans) - 1
                tail = [] if last else [nn.BatchNorm2d(b), nn.PReLU()]
                dec.append(nn.Sequential(CConv(a, b, True), *tail))
            self.dec = nn.ModuleList(dec)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            spec = F.conv1d(F.pad(x, (win - hop, win - hop)), self.kernel, stride=hop)
            sr, si = spec[:, :bins], spec[:, bins:]
            h = torch.stack([sr[:, 1:], si[:, 1:]], 1)
            skips = []
            for layer in self.enc:
                h = layer(h)
                skips.append(h)
            c, t = h.shape[1] // 2, h.shape[3]
            hr, hi = (p.permute(0, 3, 1, 2).reshape(1, t, c * freqs) for p in h.chunk(2, 1))
            z = torch.cat([hr, hi], 0)
            for real, imag in zip(self.real, self.imag, strict=True):
                r, i = real(z)[0], imag(z)[0]
                z = torch.cat([r[:1] - i[1:], r[1:] + i[:1]], 0)
            hr, hi = self.proj_r(z[:1]), self.proj_i(z[1:])
            h = torch.cat([p.reshape(1, t, c, freqs).permute(0, 2, 3, 1) for p in (hr, hi)], 1)
            for layer, skip in zip(self.dec, reversed(skips), strict=True):
                h = layer(ccat(h, skip))
            m = F.pad(h, (0, 0, 1, 0))
            mr, mi = m[:, 0], m[:, 1]
            mag = torch.sqrt(mr * mr + mi * mi + 1e-8)
            gain = torch.tanh(mag) / mag
            est = torch.cat([(mr * sr - mi * si) * gain, (mr * si + mi * sr) * gain], 1)
            y = F.conv_transpose1d(est, self.inverse, stride=hop) / (self.ola + 1e-8)
            return y[..., win - hop : win - hop + samples]

    return DCCRN()


def open_unmix(
    frames: int, bins: int = 2049, max_bin: int = 1487, channels: int = 2, hidden: int = 512
) -> Any:
    """Open-Unmix (Stöter, Uhlich, Liutkus & Mitsufuji, "Open-Unmix - A Reference
    Implementation for Music Source Separation", JOSS 2019) for one target on a (1,
    ``channels``, ``bins``, ``frames``) magnitude spectrogram: the bins cropped to
    ``max_bin`` and standardised; a linear layer of both channels to ``hidden``, BN and
    tanh; a three-layer BLSTM of ``hidden`` / 2 per direction; its output concatenated
    with its input through two linear-BN layers (ReLU between) back to every bin and
    channel; the output scaled, ReLU, multiplied with the mixture."""
    import torch

    nn = _nn()

    class OpenUnmix(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.in_mean, self.in_scale = (
                nn.Parameter(torch.zeros(max_bin)),
                nn.Parameter(torch.ones(max_bin)),
            )
            self.out_mean, self.out_scale = (
                nn.Parameter(torch.ones(bins)),
                nn.Parameter(torch.ones(bins)),
            )
            self.fc1 = nn.Sequential(
                nn.Linear(channels * max_bin, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Tanh()
            )
            self.lstm = nn.LSTM(hidden, hidden // 2, 3, bidirectional=True)
            self.fc2 = nn.Sequential(
                nn.Linear(2 * hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()
            )
            self.fc3 = nn.Sequential(
                nn.Linear(hidden, channels * bins, bias=False), nn.BatchNorm1d(channels * bins)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mix = x.permute(3, 0, 1, 2)  # (frames, 1, channels, bins)
            h = (mix[..., :max_bin] + self.in_mean) * self.in_scale
            h = self.fc1(h.reshape(frames, channels * max_bin))
            y = self.lstm(h[:, None])[0][:, 0]
            h = self.fc3(self.fc2(torch.cat([h, y], -1))).reshape(frames, 1, channels, bins)
            return (torch.relu(h * self.out_scale + self.out_mean) * mix).permute(1, 2, 3, 0)

    return OpenUnmix()


# ----------------------------------------------------------------------------- text


def bidaf(
    ctx: int, qry: int, chars: int = 16, vocab: int = 90000, char_vocab: int = 100, d: int = 100
) -> Any:
    """BiDAF (Seo, Kembhavi, Farhadi & Hajishirzi, "Bidirectional Attention Flow for
    Machine Comprehension", ICLR 2017) on (1, ``ctx`` + ``qry``, 1 + ``chars``) word and
    character ids of a context and a query: character embeddings through a width-5 CNN
    max-pooled per word beside word vectors, a two-layer highway network and a shared
    contextual BiLSTM of ``d``; the similarity matrix w^T [h; u; h * u], context-to-query
    and query-to-context attention into G; a two-layer modelling BiLSTM; the start and
    (after another BiLSTM) end distributions over the context."""
    import torch

    nn = _nn()

    class BiDAF(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.char = nn.Embedding(vocab, d), nn.Embedding(char_vocab, 8)
            self.cnn = nn.Conv1d(8, d, 5)
            self.gate = nn.ModuleList(nn.Linear(2 * d, 2 * d) for _ in range(2))
            self.hw = nn.ModuleList(nn.Linear(2 * d, 2 * d) for _ in range(2))
            self.context = nn.LSTM(2 * d, d, batch_first=True, bidirectional=True)
            self.w_h, self.w_u = nn.Linear(2 * d, 1), nn.Linear(2 * d, 1, bias=False)
            self.w_hu = nn.Parameter(torch.randn(2 * d) / d)
            self.model = nn.LSTM(8 * d, d, 2, batch_first=True, bidirectional=True)
            self.end = nn.LSTM(2 * d, d, batch_first=True, bidirectional=True)
            self.p1, self.p2 = nn.Linear(10 * d, 1), nn.Linear(10 * d, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c = self.char(_ids(x[0, :, 1:], char_vocab)).transpose(1, 2)
            c = torch.relu(self.cnn(c)).amax(-1)
            e = torch.cat([c, self.word(_ids(x[0, :, 0], vocab))], -1)
            for gate, hw in zip(self.gate, self.hw, strict=True):
                t = torch.sigmoid(gate(e))
                e = t * torch.relu(hw(e)) + (1 - t) * e
            h = self.context(e[None, :ctx])[0][0]
            u = self.context(e[None, ctx:])[0][0]
            s = self.w_h(h) + self.w_u(u).t() + (h * self.w_hu) @ u.t()
            ut = torch.softmax(s, 1) @ u
            ht = (torch.softmax(s.amax(1), 0)[None] @ h).expand(ctx, -1)
            g = torch.cat([h, ut, h * ut, h * ht], -1)
            m = self.model(g[None])[0][0]
            p1 = self.p1(torch.cat([g, m], -1))[:, 0]
            m2 = self.end(m[None])[0][0]
            p2 = self.p2(torch.cat([g, m2], -1))[:, 0]
            return torch.stack([torch.log_softmax(p1, 0), torch.log_softmax(p2, 0)])[None]

    return BiDAF()


def _sinusoids(n: int, d: int) -> Any:
    import torch

    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, d, 2, dtype=torch.float32) / d)
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], 1)


def dynamic_conv(
    src: int,
    tgt: int,
    d: int = 512,
    ff: int = 1024,
    heads: int = 4,
    enc_k: tuple[int, ...] = (3, 7, 15, 31, 31, 31, 31),
    dec_k: tuple[int, ...] = (3, 7, 15, 31, 31, 31),
    src_vocab: int = 8848,
    tgt_vocab: int = 6632,
) -> Any:
    """The dynamic convolution encoder-decoder (Wu, Fan, Baevski, Dauphin & Auli, "Pay
    Less Attention with Lightweight and Dynamic Convolutions", ICLR 2019) in its IWSLT'14
    De-En layout, scoring (1, ``src`` + ``tgt``) ids (a source and a target prefix,
    decoded in parallel): scaled embeddings plus sinusoids; encoder layers of kernel
    sizes ``enc_k`` and decoder layers of ``dec_k`` (causal), each a linear layer and
    GLU, a dynamic convolution (softmax-normalised kernels of width k predicted per
    step and shared by the channels of each of ``heads`` heads), a linear layer, then
    (in the decoder) attention over the encoder and a ReLU feed-forward net of ``ff``,
    post-norm residuals; logits through the tied target embedding."""
    import torch

    nn = _nn()
    F = nn.functional

    class ConvBlock(nn.Module):
        def __init__(self, k: int, causal: bool) -> None:
            super().__init__()
            self.k, self.left = k, k - 1 if causal else k // 2
            self.inp, self.out = nn.Linear(d, 2 * d), nn.Linear(d, d)
            self.weight = nn.Linear(d, heads * k, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[0]
            x = F.glu(self.inp(x), -1)
            w = torch.softmax(self.weight(x).reshape(t, heads, 1, self.k), -1)
            win = _shifts(x, self.k, self.left).reshape(t, self.k, heads, -1).transpose(1, 2)
            return self.out((w @ win).reshape(t, d))

    class Layer(nn.Module):
        def __init__(self, k: int, decoder: bool) -> None:
            super().__init__()
            self.conv = ConvBlock(k, decoder)
            self.attn = _mha(d, heads) if decoder else None
            self.ffn = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
            self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3 if decoder else 2))

        def forward(self, x: torch.Tensor, memory: Any = None) -> torch.Tensor:
            x = self.norms[0](x + self.conv(x))
            if self.attn is not None:
                x = self.norms[1](x + self.attn(x, memory))
            return self.norms[-1](x + self.ffn(x))

    class DynamicConv(nn.Module):
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.src_embed, self.tgt_embed = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
            self.register_buffer("pos", _sinusoids(max(src, tgt), d))
            self.enc = nn.ModuleList(Layer(k, False) for k in enc_k)
            self.dec = nn.ModuleList(Layer(k, True) for k in dec_k)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = self.src_embed(_ids(x[0, :src], src_vocab)) * d**0.5 + self.pos[:src]
            for layer in self.enc:
                s = layer(s)
            y = self.tgt_embed(_ids(x[0, src:], tgt_vocab)) * d**0.5 + self.pos[:tgt]
            for layer in self.dec:
                y = layer(y, s)
            return (y @ self.tgt_embed.weight.t())[None]

    return DynamicConv()


def convbert(
    d: int,
    heads: int,
    ff: int,
    layers: int,
    seq: int,
    emb: int = 128,
    k: int = 9,
    groups: int = 2,
    ratio: int = 2,
    vocab: int = 30522,
) -> Any:
    """ConvBERT (Jiang et al., "ConvBERT: Improving BERT with Span-based Dynamic
    Convolution", NeurIPS 2020) on (1, ``seq``) ids: word, position and type embeddings
    of ``emb`` projected to ``d``; ``layers`` layers of mixed attention (``heads`` /
    ``ratio`` self-attention heads beside as many span-based dynamic convolution heads:
    a separable conv of the input times the query gives width-``k`` softmax kernels
    applied to windows of a linear projection), a linear layer, then a grouped
    feed-forward net (``groups`` groups, GELU, ``ff``), post-norm residuals; the final
    hidden states. ConvBERT-small is ``d`` 256, 4 heads, ``ff`` 1024; medium-small 384, 8
    heads, 1536."""
    import torch

    nn = _nn()
    ah = heads // ratio
    hd = d // heads
    inner = ah * hd

    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, inner), nn.Linear(d, inner), nn.Linear(d, inner)
            self.depthwise = nn.Conv1d(d, d, k, padding=k // 2, groups=d, bias=False)
            self.pointwise = nn.Conv1d(d, inner, 1)
            self.kernel = nn.Linear(inner, ah * k)
            self.conv_out = nn.Linear(d, inner)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[0]
            q = self.q(x)
            key_conv = self.pointwise(self.depthwise(x.t()[None]))[0].t()
            kern = torch.softmax(self.kernel(key_conv * q).reshape(t * ah, k, 1), 1)
            win = _shifts(self.conv_out(x), k, k // 2)  # (t, k, inner)
            win = win.reshape(t, k, ah, hd).permute(0, 2, 3, 1).reshape(t * ah, hd, k)
            conv = (win @ kern).reshape(t, inner)
            qh = q.reshape(t, ah, hd).transpose(0, 1)
            kh = self.k(x).reshape(t, ah, hd).transpose(0, 1)
            vh = self.v(x).reshape(t, ah, hd).transpose(0, 1)
            a = torch.softmax(qh @ kh.transpose(1, 2) * hd**-0.5, -1)
            return torch.cat([(a @ vh).transpose(0, 1).reshape(t, inner), conv], -1)

    class Grouped(nn.Module):
        def __init__(self, a: int, b: int) -> None:
            super().__init__()
            self.a = a
            self.w = nn.Parameter(
                torch.randn(groups, a // groups, b // groups) * (a // groups) ** -0.5
            )
            self.b = nn.Parameter(torch.zeros(b))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = x.shape[0]
            y = x.reshape(t, groups, self.a // groups).transpose(0, 1) @ self.w
            return y.transpose(0, 1).reshape(t, -1) + self.b

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mixed, self.dense = Mixed(), nn.Linear(d, d)
            self.ffn = nn.Sequential(Grouped(d, ff), nn.GELU(), Grouped(ff, d))
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.n1(x + self.dense(self.mixed(x)))
            return self.n2(x + self.ffn(x))

    class ConvBERT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word, self.pos, self.token_type = (
                nn.Embedding(vocab, emb),
                nn.Embedding(512, emb),
                nn.Embedding(2, emb),
            )
            self.norm, self.project = nn.LayerNorm(emb), nn.Linear(emb, d)
            self.layers = nn.Sequential(*[Layer() for _ in range(layers)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            e = self.word(_ids(x[0], vocab)) + self.pos.weight[:seq] + self.token_type.weight[:1]
            return self.layers(self.project(self.norm(e)))[None]

    return ConvBERT()


# -------------------------------------------------------- recommendation and tabular


def _post_norm_layer(d: int, heads: int, ff: int, act: Any) -> Any:
    """A post-norm transformer layer on a batch (b, l, ``d``) of sequences: multi-head
    self-attention and a feed-forward net of ``ff`` with ``act``, each added and
    layer-normed."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ffn = nn.Sequential(nn.Linear(d, ff), act(), nn.Linear(ff, d))
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), -1)
            x = self.n1(x + self.o((a @ v).transpose(1, 2).reshape(b, n, d)))
            return self.n2(x + self.ffn(x))

    return Layer()


def wide_deep(
    cands: int,
    cats: int = 32,
    rows: int = 10000,
    emb: int = 32,
    dense: int = 176,
    crosses: int = 8,
    wide_rows: int = 1 << 20,
    hidden: tuple[int, ...] = (1024, 512, 256),
) -> Any:
    """Wide & Deep (Cheng et al., "Wide & Deep Learning for Recommender Systems", DLRS
    2016) scoring (1, ``cands``, ``cats`` + ``crosses`` + ``dense``) candidate apps: the
    deep part (``cats`` categorical features embedded in ``emb`` dimensions each,
    concatenated with the ``dense`` continuous features to about 1200, ReLU layers of
    ``hidden``) and the wide part (a linear model on hashed cross-product features) summed
    into a logistic output."""
    import torch

    nn = _nn()

    class WideDeep(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding(cats * rows, emb)
            self.register_buffer("offsets", torch.arange(cats) * rows)
            self.wide = nn.Embedding(wide_rows, 1)
            self.bias = nn.Parameter(torch.zeros(1))
            dims = [cats * emb + dense, *hidden]
            mlp: list[Any] = []
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                mlp += [nn.Linear(a, b), nn.ReLU()]
            self.deep = nn.Sequential(*mlp, nn.Linear(dims[-1], 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            e = self.table(_ids(r[:, :cats], rows) + self.offsets).flatten(1)
            deep = self.deep(torch.cat([e, r[:, cats + crosses :]], -1))
            wide = self.wide(_ids(r[:, cats : cats + crosses], wide_rows)).sum(1) + self.bias
            return torch.sigmoid(deep + wide)[:, 0][None]

    return WideDeep()


def bst(
    cands: int,
    seq: int = 20,
    items: int = 300000,
    cats: int = 5000,
    buckets: int = 64,
    others: int = 8,
    other_rows: int = 10000,
    dims: tuple[int, int, int] = (32, 16, 16),
    heads: int = 8,
    mlp: tuple[int, ...] = (1024, 512, 256),
) -> Any:
    """The Behavior Sequence Transformer (Chen et al., "Behavior Sequence Transformer for
    E-commerce Recommendation in Alibaba", DLP-KDD 2019) scoring (1, ``cands``, 3 (``seq``
    + 1) + ``others``) candidates: a user's ``seq`` clicked items and the target item, each
    an item-id, category and time-difference position embedding concatenated (``dims``);
    one transformer block of ``heads`` heads with a LeakyReLU feed-forward net; its
    outputs flattened with the embeddings of ``others`` profile and context features
    into a LeakyReLU MLP of ``mlp`` and a sigmoid."""
    import torch

    nn = _nn()
    n = seq + 1
    d = sum(dims)
    oe = 16

    class BST(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.item, self.cat = nn.Embedding(items, dims[0]), nn.Embedding(cats, dims[1])
            self.pos = nn.Embedding(buckets, dims[2])
            self.other = nn.Embedding(others * other_rows, oe)
            self.register_buffer("offsets", torch.arange(others) * other_rows)
            self.block = _post_norm_layer(d, heads, 4 * d, partial(nn.LeakyReLU, 0.01))
            sizes = [n * d + others * oe, *mlp]
            layers: list[Any] = []
            for a, b in zip(sizes[:-1], sizes[1:], strict=True):
                layers += [nn.Linear(a, b), nn.LeakyReLU(0.01)]
            self.mlp = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            e = torch.cat(
                [
                    self.item(_ids(r[:, :n], items)),
                    self.cat(_ids(r[:, n : 2 * n], cats)),
                    self.pos(_ids(r[:, 2 * n : 3 * n], buckets)),
                ],
                -1,
            )
            o = self.other(_ids(r[:, 3 * n :], other_rows) + self.offsets).flatten(1)
            h = self.block(e).flatten(1)
            return torch.sigmoid(self.mlp(torch.cat([h, o], -1)))[:, 0][None]

    return BST()


def tab_transformer(
    rows: int, cards: tuple[int, ...], conts: int, d: int = 32, layers: int = 6, heads: int = 8
) -> Any:
    """TabTransformer (Huang, Khetan, Cvitkovic & Karnin, "TabTransformer: Tabular Data
    Modeling Using Contextual Embeddings", arXiv 2020) on (1, ``rows``, categorical +
    ``conts``) table rows: each categorical feature (cardinalities ``cards``) embedded in
    ``d`` dimensions, a value-specific part concatenated with a shared column part of
    ``d`` / 8; ``layers`` transformer layers of ``heads`` heads over the columns; the
    contextual embeddings flattened with the layer-normed continuous features into an MLP
    of 4 and 2 times its input size and one output."""
    import torch

    nn = _nn()
    n = len(cards)
    shared = d // 8
    width = n * d + conts

    class TabTransformer(nn.Module):
        offsets: torch.Tensor
        cards: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("cards", torch.tensor(cards))
            self.register_buffer("offsets", torch.cumsum(torch.tensor((0, *cards[:-1])), 0))
            self.values = nn.Embedding(sum(cards), d - shared)
            self.column = nn.Parameter(torch.randn(n, shared))
            self.blocks = nn.Sequential(
                *[_post_norm_layer(d, heads, 4 * d, nn.GELU) for _ in range(layers)]
            )
            self.norm = nn.LayerNorm(conts)
            self.mlp = nn.Sequential(
                nn.Linear(width, 4 * width),
                nn.ReLU(),
                nn.Linear(4 * width, 2 * width),
                nn.ReLU(),
                nn.Linear(2 * width, 1),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            ids = torch.remainder((r[:, :n].abs() * 1000).long(), self.cards) + self.offsets
            e = torch.cat([self.values(ids), self.column.expand(rows, n, shared)], -1)
            h = self.blocks(e).flatten(1)
            return self.mlp(torch.cat([h, self.norm(r[:, n:])], -1))[:, 0][None]

    return TabTransformer()


# ------------------------------------------------------- graphs, points, time series


def graphormer(
    nodes: int,
    layers: int = 12,
    d: int = 80,
    heads: int = 8,
    ff: int = 80,
    atoms: int = 64,
    bonds: int = 8,
    hops: int = 5,
    max_dist: int = 32,
    degrees: int = 64,
) -> Any:
    """Graphormer (Ying et al., "Do Transformers Really Perform Bad for Graph
    Representation?", NeurIPS 2021), the ZINC Graphormer-SLIM by default, on a molecule
    of ``nodes`` atoms given as (1, ``nodes``, 2 + ``nodes`` + ``nodes`` ``hops``): each
    atom's type and degree, its shortest-path distances and the bond types along its
    shortest paths (cut at ``hops``). Atom plus centrality (degree) embeddings and a
    graph token; ``layers`` pre-norm transformer layers whose attention is biased by a
    learned scalar per shortest-path distance (and a virtual distance to the graph token)
    and by the edge encoding (the path's bond embeddings through a learned matrix per
    hop, averaged); the graph token's layer-normed state regressed."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = _mha(d, heads)
            self.ffn = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            y = self.n1(x)
            x = x + self.attn(y, y, bias)
            return x + self.ffn(self.n2(x))

    class Graphormer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.atom, self.degree = nn.Embedding(atoms, d), nn.Embedding(degrees, d)
            self.token = nn.Parameter(torch.randn(1, d) * 0.02)
            self.spatial = nn.Embedding(max_dist, heads)
            self.virtual = nn.Parameter(torch.zeros(heads))
            self.edge = nn.Embedding(bonds, heads, padding_idx=0)
            self.hop = nn.Parameter(torch.randn(hops, heads, heads) * heads**-0.5)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.norm, self.out = nn.LayerNorm(d), nn.Linear(d, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            h = self.atom(_ids(r[:, 0], atoms)) + self.degree(_ids(r[:, 1], degrees))
            spd = _ids(r[:, 2 : 2 + nodes], max_dist)
            path = self.edge(_ids(r[:, 2 + nodes :], bonds)).reshape(nodes * nodes, hops, heads)
            edge = (path.transpose(0, 1) @ self.hop).sum(0).reshape(nodes, nodes, heads)
            edge = edge / spd.clamp(min=1).float()[..., None]
            bias = (self.spatial(spd) + edge).permute(2, 0, 1)
            top = self.virtual[:, None, None].expand(heads, 1, nodes + 1)
            left = self.virtual[:, None, None].expand(heads, nodes, 1)
            bias = torch.cat([top, torch.cat([left, bias], 2)], 1)
            y = torch.cat([self.token, h], 0)
            for layer in self.layers:
                y = layer(y, bias)
            return self.out(self.norm(y[:1]))

    return Graphormer()


def dcrnn(
    nodes: int = 207,
    steps: int = 12,
    horizon: int = 12,
    units: int = 64,
    layers: int = 2,
    k: int = 2,
    features: int = 2,
) -> Any:
    """DCRNN (Li, Yu, Shahabi & Liu, "Diffusion Convolutional Recurrent Neural Network:
    Data-Driven Traffic Forecasting", ICLR 2018) on (1, ``steps``, ``nodes``,
    ``features``) sensor readings (METR-LA's 207 sensors by default) on a thresholded
    Gaussian-kernel sensor graph: an encoder and a decoder of ``layers`` DCGRU layers of
    ``units`` (GRUs whose matrix products are diffusion convolutions of ``k`` steps of
    the forward and backward random walks), the decoder fed its own projected prediction
    for ``horizon`` steps."""
    import torch

    nn = _nn()
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(nodes, 2, generator=g)
    dist = ((pos[:, None] - pos[None]) ** 2).sum(-1).sqrt()
    w = torch.exp(-((dist / dist.std()) ** 2))
    w = torch.where(w < 0.1, torch.zeros_like(w), w)
    supports = torch.stack([w / w.sum(1, keepdim=True), w.t() / w.t().sum(1, keepdim=True)])

    class DiffConv(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.lin = nn.Linear(cin * (2 * k + 1), cout)

        def forward(self, x: torch.Tensor, sup: torch.Tensor) -> torch.Tensor:
            xs = [x]
            for i in range(2):
                x0, x1 = x, sup[i] @ x
                xs.append(x1)
                for _ in range(2, k + 1):
                    x0, x1 = x1, 2 * (sup[i] @ x1) - x0
                    xs.append(x1)
            return self.lin(torch.cat(xs, -1))

    class Cell(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.gates, self.cand = DiffConv(cin + units, 2 * units), DiffConv(cin + units, units)

        def forward(self, x: torch.Tensor, h: torch.Tensor, sup: torch.Tensor) -> torch.Tensor:
            r, u = torch.sigmoid(self.gates(torch.cat([x, h], -1), sup)).chunk(2, -1)
            c = torch.tanh(self.cand(torch.cat([x, r * h], -1), sup))
            return u * h + (1 - u) * c

    class DCRNN(nn.Module):
        supports: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("supports", supports)
            self.enc = nn.ModuleList(Cell(features if i == 0 else units) for i in range(layers))
            self.dec = nn.ModuleList(Cell(1 if i == 0 else units) for i in range(layers))
            self.proj = nn.Linear(units, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hs = [torch.zeros(nodes, units) for _ in range(layers)]
            for t in range(steps):
                inp = x[0, t]
                for i, cell in enumerate(self.enc):
                    hs[i] = inp = cell(inp, hs[i], self.supports)
            y = torch.zeros(nodes, 1)
            outs = []
            for _ in range(horizon):
                inp = y
                for i, cell in enumerate(self.dec):
                    hs[i] = inp = cell(inp, hs[i], self.supports)
                y = self.proj(inp)
                outs.append(y)
            return torch.cat(outs, 1).t()[None]

    return DCRNN()


def _knn(p: Any, k: int) -> Any:
    """Indices (points, ``k``) of each point's ``k`` nearest points (itself included)."""
    import torch

    d = (p * p).sum(-1, keepdim=True) - 2 * p @ p.t() + (p * p).sum(-1)[None]
    return torch.topk(-d, k, -1).indices


def foldingnet(points: int, k: int = 16, grid: int = 45, code: int = 512) -> Any:
    """FoldingNet (Yang, Feng, Shen & Tian, "FoldingNet: Point Cloud Auto-encoder via Deep
    Grid Deformation", CVPR 2018) reconstructing (1, ``points``, 3): the graph encoder
    (each point with the local covariance of its ``k`` nearest neighbours, a three-layer
    perceptron of 64, two graph layers of local max pooling over the neighbours and a
    linear layer to 128 and 1024, a global max pool and a two-layer MLP to a ``code``
    codeword); the folding decoder (the codeword replicated over a ``grid`` x ``grid`` 2-D
    grid and folded by a three-layer MLP to 3-D, then folded again)."""
    import torch

    nn = _nn()

    def mlp(*dims: int) -> Any:
        layers: list[Any] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*layers[:-1])

    lin = torch.linspace(-0.3, 0.3, grid)
    plane = torch.stack(torch.meshgrid(lin, lin, indexing="ij"), -1).reshape(-1, 2)

    class FoldingNet(nn.Module):
        plane: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.perceptron = nn.Sequential(mlp(12, 64, 64, 64), nn.ReLU())
            self.g1, self.g2 = nn.Linear(64, 128), nn.Linear(128, 1024)
            self.mlp = mlp(1024, code, code)
            self.fold1, self.fold2 = mlp(code + 2, 512, 512, 3), mlp(code + 3, 512, 512, 3)
            self.register_buffer("plane", plane)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = x[0]
            idx = _knn(p, k)
            nb = p[idx]
            c = nb - nb.mean(1, keepdim=True)
            cov = (c.transpose(1, 2) @ c / k).reshape(points, 9)
            h = self.perceptron(torch.cat([p, cov], -1))
            h = torch.relu(self.g1(h[idx].amax(1)))
            h = self.g2(h[idx].amax(1))
            cw = self.mlp(h.amax(0, keepdim=True)).expand(self.plane.shape[0], code)
            f = self.fold1(torch.cat([cw, self.plane], -1))
            return self.fold2(torch.cat([cw, f], -1))[None]

    return FoldingNet()


def voxnet(rotations: int, classes: int = 40) -> Any:
    """VoxNet (Maturana & Scherer, "VoxNet: A 3D Convolutional Neural Network for
    Real-Time Object Recognition", IROS 2015) on (1, ``rotations``, 32, 32, 32) occupancy
    grids of one object under as many rotations: a 5x5x5 stride-2 3-D conv and a 3x3x3
    conv of 32 filters (leaky ReLUs), a 2x2x2 max pool, a fully connected layer of 128 and
    one of ``classes``; the class scores pooled over the rotations."""
    nn = _nn()

    class VoxNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv3d(1, 32, 5, 2),
                nn.LeakyReLU(0.1),
                nn.Conv3d(32, 32, 3),
                nn.LeakyReLU(0.1),
                nn.MaxPool3d(2),
                nn.Flatten(),
                nn.Linear(32 * 6**3, 128),
                nn.ReLU(),
                nn.Linear(128, classes),
            )

        def forward(self, x: Any) -> Any:
            return self.f(x[0][:, None]).mean(0, keepdim=True)

    return VoxNet()


def lstnet(
    window: int,
    n: int,
    conv: int = 100,
    k: int = 6,
    rnn: int = 100,
    skip_rnn: int = 5,
    skip: int = 24,
    ar: int = 24,
) -> Any:
    """LSTNet-skip (Lai, Chang, Yang & Liu, "Modeling Long- and Short-Term Temporal
    Patterns with Deep Neural Networks", SIGIR 2018) on (1, ``window``, ``n``) series: a
    conv of ``conv`` filters over ``k`` steps and all variables, ReLU; a GRU of ``rnn`` on
    it and the recurrent-skip GRU of ``skip_rnn`` over steps ``skip`` apart (the period);
    both to ``n`` outputs by a linear layer, plus the highway autoregressive linear model
    on each variable's last ``ar`` values."""
    import torch

    nn = _nn()
    steps = (window - k) // skip

    class LSTNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, conv, (k, n))
            self.gru, self.skip_gru = nn.GRU(conv, rnn), nn.GRU(conv, skip_rnn)
            self.out = nn.Linear(rnn + skip * skip_rnn, n)
            self.ar = nn.Linear(ar, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c = torch.relu(self.conv(x[:, None]))[0, :, :, 0]  # (conv, t)
            r = self.gru(c.t()[:, None])[1][0]
            s = c[:, -steps * skip :].reshape(conv, steps, skip).permute(1, 2, 0)
            s = self.skip_gru(s)[1][0].reshape(1, skip * skip_rnn)
            z = self.ar(x[0, -ar:].t()).t()
            return self.out(torch.cat([r, s], -1)) + z

    return LSTNet()


def informer(
    seq: int,
    label: int,
    pred: int,
    c: int = 7,
    d: int = 512,
    heads: int = 8,
    e_layers: int = 2,
    d_layers: int = 1,
    ff: int = 2048,
    factor: int = 5,
) -> Any:
    """Informer (Zhou et al., "Informer: Beyond Efficient Transformer for Long Sequence
    Time-Series Forecasting", AAAI 2021) forecasting ``pred`` steps of (1, ``seq``,
    ``c``) series (ETTh1 by default): embeddings of a circular 3-tap conv, sinusoids and
    hourly time features; ``e_layers`` encoder layers of ProbSparse self-attention (the
    factor ln L queries with the largest max-minus-mean score on a fixed sample of
    factor ln L keys attend, the others take the mean of the values), GELU conv
    feed-forward nets, post-norms, with self-attention distilling (circular conv, BN,
    ELU, stride-2 max pool) between; a generative-style decoder over the last ``label``
    inputs and ``pred`` zeros of ``d_layers`` masked ProbSparse self-attention (the lazy
    queries take the cumulative sum of the values), full cross-attention and feed-forward
    layers; a linear projection."""
    import torch

    nn = _nn()
    ld = label + pred

    def marks(n: int, start: int) -> Any:
        t = torch.arange(start, start + n)
        days = t // 24
        cols = [(t % 24) / 23, (days % 7) / 6, (days % 31) / 30, (days % 365) / 364]
        return torch.stack(cols, -1).float() - 0.5

    def circular(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[-1:], x, x[:1]], 0).t()[None]

    class ProbAttention(nn.Module):
        index: torch.Tensor

        def __init__(self, length: int, masked: bool) -> None:
            super().__init__()
            self.length, self.masked = length, masked
            self.u = min(factor * math.ceil(math.log(length)), length)
            g = torch.Generator().manual_seed(length)
            self.register_buffer("index", torch.randint(length, (length, self.u), generator=g))
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n = self.length
            q, k, v = (f(x).reshape(n, heads, -1).transpose(0, 1) for f in (self.q, self.k, self.v))
            dh = q.shape[-1]
            qk = (k[:, self.index] @ q[..., None])[..., 0]  # (heads, n, u)
            m = qk.amax(-1) - qk.sum(-1) / n
            top = torch.topk(m, self.u, -1).indices  # (heads, u)
            gidx = top[..., None].expand(heads, self.u, dh)
            scores = q.gather(1, gidx) @ k.transpose(1, 2) * dh**-0.5
            if self.masked:
                causal = torch.arange(n)[None, None] > top[..., None]
                scores = scores.masked_fill(causal, -1e9)
                ctx = v.cumsum(1)
            else:
                ctx = v.mean(1, keepdim=True).expand(heads, n, dh)
            ctx = ctx.scatter(1, gidx, torch.softmax(scores, -1) @ v)
            return self.o(ctx.transpose(0, 1).reshape(n, d))

    def ffn() -> Any:
        return nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    class Distil(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv1d(d, d, 3), nn.BatchNorm1d(d)
            self.act, self.pool = nn.ELU(), nn.MaxPool1d(3, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.act(self.bn(self.conv(circular(x)))))[0].t()

    class Informer(nn.Module):
        enc_marks: torch.Tensor
        dec_marks: torch.Tensor
        pos: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("enc_marks", marks(seq, 0))
            self.register_buffer("dec_marks", marks(ld, seq - label))
            self.register_buffer("pos", _sinusoids(max(seq, ld), d))
            self.enc_token, self.dec_token = (
                nn.Conv1d(c, d, 3, bias=False),
                nn.Conv1d(c, d, 3, bias=False),
            )
            self.enc_time, self.dec_time = nn.Linear(4, d, bias=False), nn.Linear(4, d, bias=False)
            self.enc_attn = nn.ModuleList(
                ProbAttention(seq // 2**i, False) for i in range(e_layers)
            )
            self.enc_ffn = nn.ModuleList(ffn() for _ in range(e_layers))
            self.enc_norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(2 * e_layers + 1))
            self.distil = nn.ModuleList(Distil() for _ in range(e_layers - 1))
            self.dec_self = nn.ModuleList(ProbAttention(ld, True) for _ in range(d_layers))
            self.dec_cross = nn.ModuleList(_mha(d, heads) for _ in range(d_layers))
            self.dec_ffn = nn.ModuleList(ffn() for _ in range(d_layers))
            self.dec_norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3 * d_layers + 1))
            self.proj = nn.Linear(d, c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xe = x[0]
            e = self.enc_token(circular(xe))[0].t() + self.pos[:seq] + self.enc_time(self.enc_marks)
            for i in range(e_layers):
                e = self.enc_norms[2 * i](e + self.enc_attn[i](e))
                e = self.enc_norms[2 * i + 1](e + self.enc_ffn[i](e))
                if i < e_layers - 1:
                    e = self.distil[i](e)
            e = self.enc_norms[-1](e)
            xd = torch.cat([xe[-label:], torch.zeros(pred, c)], 0)
            y = self.dec_token(circular(xd))[0].t() + self.pos[:ld] + self.dec_time(self.dec_marks)
            for i in range(d_layers):
                y = self.dec_norms[3 * i](y + self.dec_self[i](y))
                y = self.dec_norms[3 * i + 1](y + self.dec_cross[i](y, e))
                y = self.dec_norms[3 * i + 2](y + self.dec_ffn[i](y))
            return self.proj(self.dec_norms[-1](y))[-pred:][None]

    return Informer()


# ------------------------------------------- generative, scientific and other tasks


def world_models(
    frames: int, z: int = 32, hidden: int = 256, mixtures: int = 5, actions: int = 3
) -> Any:
    """World Models (Ha & Schmidhuber, "Recurrent World Models Facilitate Policy
    Evolution", NeurIPS 2018) for CarRacing on (1, ``frames``, 3, 64, 64) observations:
    the VAE encoder (four 4x4 stride-2 convs of 32 to 256, ReLU, to the latent means of
    ``z``); for every frame the linear controller's tanh action from the latent and the
    MDN-RNN state, then an LSTM step of ``hidden`` on the latent and action; the MDN head
    (``mixtures`` Gaussians per latent dimension) of the last step, its most likely
    component's mean decoded by the VAE decoder (transposed convs) as the dreamt next
    frame."""
    import torch

    nn = _nn()

    class WorldModels(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            enc: list[Any] = []
            for a, b in ((3, 32), (32, 64), (64, 128), (128, 256)):
                enc += [nn.Conv2d(a, b, 4, 2), nn.ReLU()]
            self.enc = nn.Sequential(*enc, nn.Flatten())
            self.mu, self.logvar = nn.Linear(1024, z), nn.Linear(1024, z)
            self.cell = _lstm_cell(z + actions, hidden)
            self.mdn = nn.Linear(hidden, 3 * mixtures * z)
            self.controller = nn.Linear(z + hidden, actions)
            self.dec_fc = nn.Linear(z, 1024)
            dec: list[Any] = []
            for a, b, k in ((1024, 128, 5), (128, 64, 5), (64, 32, 6)):
                dec += [nn.ConvTranspose2d(a, b, k, 2), nn.ReLU()]
            self.dec = nn.Sequential(*dec, nn.ConvTranspose2d(32, 3, 6, 2), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            zs = self.mu(self.enc(x[0]))
            h = c = torch.zeros(1, hidden)
            for t in range(frames):
                zt = zs[t : t + 1]
                a = torch.tanh(self.controller(torch.cat([zt, h], -1)))
                h, c = self.cell(torch.cat([zt, a], -1), h, c)
            logit_pi, mu, _ = self.mdn(h).reshape(3, mixtures, z).unbind(0)
            nxt = mu.gather(0, logit_pi.argmax(0, keepdim=True))
            return self.dec(self.dec_fc(nxt).reshape(1, 1024, 1, 1))

    return WorldModels()


def made(d: int = 784, hidden: tuple[int, ...] = (500, 500), masks: int = 8) -> Any:
    """MADE (Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for
    Distribution Estimation", ICML 2015) evaluating the log-likelihood of a (1, ``d``)
    binarised image: ReLU hidden layers of ``hidden`` whose weights are multiplied by
    autoregressive connectivity masks (each unit's degree drawn below the number of
    inputs, an output seeing only inputs earlier in the ordering), the Bernoulli
    log-likelihood under ``masks`` orderings and connectivities ensembled by a
    log-mean-exp."""
    import torch

    nn = _nn()
    g = torch.Generator().manual_seed(0)
    dims = [d, *hidden, d]
    stacks: list[list[Any]] = [[] for _ in range(len(dims) - 1)]
    for _ in range(masks):
        deg = [torch.randperm(d, generator=g) + 1]
        for hsize in hidden:
            low = int(deg[-1].min())
            deg.append(torch.randint(low, d, (hsize,), generator=g))
        for i in range(len(hidden)):
            stacks[i].append((deg[i + 1][:, None] >= deg[i][None]).float())
        stacks[-1].append((deg[0][:, None] > deg[-1][None]).float())

    class MADE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.ParameterList(
                nn.Parameter(torch.randn(b, a) * a**-0.5)
                for a, b in zip(dims[:-1], dims[1:], strict=True)
            )
            self.b = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in dims[1:])
            for i, s in enumerate(stacks):
                self.register_buffer(f"mask{i}", torch.stack(s))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            xb = (x > 0).float()
            h = xb
            n = len(self.w)
            for i, (w, b) in enumerate(zip(self.w, self.b, strict=True)):
                h = h @ (w * getattr(self, f"mask{i}")).transpose(1, 2) + b
                if i < n - 1:
                    h = torch.relu(h)
            ll = (xb * h - nn.functional.softplus(h)).sum(-1)  # (masks, 1)
            return torch.logsumexp(ll, 0) - math.log(masks)

    return MADE()


def cgcnn(
    atoms: int, nbrs: int = 12, orig: int = 92, d: int = 64, convs: int = 3, h: int = 128
) -> Any:
    """CGCNN (Xie & Grossman, "Crystal Graph Convolutional Neural Networks for an Accurate
    and Interpretable Prediction of Material Properties", Physical Review Letters 2018) on
    a crystal of ``atoms`` atoms given as (1, ``atoms``, ``orig`` + 2 ``nbrs``): atom
    features, the ids and distances of each atom's ``nbrs`` neighbours. Distances
    expanded in 41 Gaussians; atom features embedded to ``d``; ``convs`` gated graph
    convolutions (a linear layer and BN on each atom, neighbour and bond, a sigmoid
    filter times a softplus core summed over the neighbours, BN, a softplus residual);
    mean pooling, a softplus hidden layer of ``h`` and the property."""
    import torch

    nn = _nn()
    F = nn.functional
    centers = torch.linspace(0, 8, 41)

    class Conv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2 * d + len(centers), 2 * d)
            self.bn1, self.bn2 = nn.BatchNorm1d(2 * d), nn.BatchNorm1d(d)

        def forward(self, a: torch.Tensor, idx: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
            z = torch.cat([a[:, None].expand(atoms, nbrs, d), a[idx], e], -1)
            gate = self.bn1(self.fc(z).reshape(atoms * nbrs, 2 * d)).reshape(atoms, nbrs, 2 * d)
            f, core = gate.chunk(2, -1)
            return F.softplus(a + self.bn2((torch.sigmoid(f) * F.softplus(core)).sum(1)))

    class CGCNN(nn.Module):
        centers: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("centers", centers)
            self.embed = nn.Linear(orig, d)
            self.convs = nn.ModuleList(Conv() for _ in range(convs))
            self.fc, self.out = nn.Linear(d, h), nn.Linear(h, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = x[0]
            idx = _ids(r[:, orig : orig + nbrs], atoms)
            dist = r[:, orig + nbrs :].abs() * 4
            e = torch.exp(-((dist[..., None] - self.centers) ** 2) / 0.04)
            a = self.embed(r[:, :orig])
            for conv in self.convs:
                a = conv(a, idx, e)
            y = F.softplus(self.fc(F.softplus(a.mean(0, keepdim=True))))
            return self.out(y)

    return CGCNN()


def neural_ode(steps: int, c: int = 64, classes: int = 10) -> Any:
    """The ODE-Net of Neural ODEs (Chen, Rubanova, Bettencourt & Duvenaud, "Neural
    Ordinary Differential Equations", NeurIPS 2018) on a (1, 1, 28, 28) MNIST digit: a
    downsampling conv stack (a 3x3 conv and two 4x4 stride-2 convs of ``c``, group norms,
    ReLUs); one ODE block integrated over [0, 1] by ``steps`` fixed RK4 steps, its
    dynamics two group-norm, ReLU, time-concatenated 3x3 convs and a group norm; group
    norm, ReLU, pooling and a classifier."""
    import torch

    nn = _nn()

    def gn() -> Any:
        return nn.GroupNorm(min(32, c), c)

    class ODEFunc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2, self.n3 = gn(), gn(), gn()
            self.c1, self.c2 = nn.Conv2d(c + 1, c, 3, 1, 1), nn.Conv2d(c + 1, c, 3, 1, 1)

        def forward(self, t: float, x: torch.Tensor) -> torch.Tensor:
            tt = torch.ones_like(x[:, :1]) * t
            y = self.c1(torch.cat([tt, torch.relu(self.n1(x))], 1))
            y = self.c2(torch.cat([tt, torch.relu(self.n2(y))], 1))
            return self.n3(y)

    class ODENet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Sequential(
                nn.Conv2d(1, c, 3, 1),
                gn(),
                nn.ReLU(),
                nn.Conv2d(c, c, 4, 2, 1),
                gn(),
                nn.ReLU(),
                nn.Conv2d(c, c, 4, 2, 1),
            )
            self.f = ODEFunc()
            self.head = nn.Sequential(
                gn(), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.down(x)
            dt = 1.0 / steps
            for i in range(steps):
                t = i * dt
                k1 = self.f(t, y)
                k2 = self.f(t + dt / 2, y + dt / 2 * k1)
                k3 = self.f(t + dt / 2, y + dt / 2 * k2)
                k4 = self.f(t + dt, y + dt * k3)
                y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            return self.head(y)

    return ODENet()


def relation_network(res: int = 128, q: int = 16, vocab: int = 90, answers: int = 29) -> Any:
    """Relation Networks (Santoro et al., "A simple neural network module for relational
    reasoning", NeurIPS 2017) answering a CLEVR question from pixels: four 3x3 stride-2
    conv-BN-ReLU layers of 24 kernels, each cell of the final map an object tagged with
    its coordinates; the question (``q`` ids read from the image's first row) through an
    LSTM of 128; g (four ReLU layers of 256) on every ordered object pair with the
    question, summed; f (256, 256, ``answers``) on the sum."""
    import torch

    nn = _nn()
    s = res // 16
    n = s * s
    ys, xs = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    coords = torch.stack([ys, xs], -1).reshape(n, 2).float() / (s - 1) * 2 - 1

    class RN(nn.Module):
        coords: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(
                *[_cbr(3 if i == 0 else 24, 24, 3, 2, act=nn.ReLU) for i in range(4)]
            )
            self.embed, self.lstm = nn.Embedding(vocab, 32), nn.LSTM(32, 128, batch_first=True)
            self.register_buffer("coords", coords)
            g: list[Any] = []
            for a in (2 * 26 + 128, 256, 256, 256):
                g += [nn.Linear(a, 256), nn.ReLU()]
            self.g = nn.Sequential(*g)
            self.f = nn.Sequential(
                nn.Linear(256, 256),
                nn.ReLU(),
                nn.Linear(256, 256),
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(256, answers),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            o = torch.cat([self.conv(x)[0].flatten(1).t(), self.coords], -1)  # (n, 26)
            qv = self.lstm(self.embed(_ids(x[0, 0, 0, :q], vocab))[None])[0][0, -1]
            pairs = torch.cat(
                [o[:, None].expand(n, n, 26), o[None].expand(n, n, 26), qv.expand(n, n, 128)], -1
            )
            return self.f(self.g(pairs).sum((0, 1)))[None]

    return RN()


def decision_transformer(
    k: int = 30, actions: int = 18, d: int = 128, layers: int = 6, heads: int = 8, max_t: int = 3000
) -> Any:
    """The Decision Transformer (Chen et al., "Decision Transformer: Reinforcement
    Learning via Sequence Modeling", NeurIPS 2021) on Atari, choosing actions from (1,
    ``k``, 4, 84, 84) stacked frames (returns-to-go, previous actions and the start
    timestep read from their first pixels): states embedded by the Nature DQN conv
    encoder and a tanh linear layer, returns by a tanh linear layer, actions by a tanh
    embedding; the (return, state, action) tokens plus a global timestep and a block
    position embedding through a GPT of ``layers`` causal pre-norm blocks of ``d`` and
    ``heads`` heads; action logits read at the state tokens."""
    import torch

    nn = _nn()
    n = 3 * k

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = _mha(d, heads)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            y = self.n1(x)
            x = x + self.attn(y, y, mask)
            return x + self.mlp(self.n2(x))

    class DT(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.state = nn.Sequential(
                nn.Conv2d(4, 32, 8, 4),
                nn.ReLU(),
                nn.Conv2d(32, 64, 4, 2),
                nn.ReLU(),
                nn.Conv2d(64, 64, 3, 1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(3136, d),
                nn.Tanh(),
            )
            self.ret = nn.Sequential(nn.Linear(1, d), nn.Tanh())
            self.act = nn.Embedding(actions, d)
            self.global_pos = nn.Parameter(torch.zeros(max_t + 1, d))
            self.pos = nn.Parameter(torch.zeros(n, d))
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.register_buffer("mask", torch.triu(torch.full((n, n), -1e9), 1))
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, actions, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = x[0]
            s = self.state(f)
            r = self.ret(f[:, 0, 0, :1])
            a = torch.tanh(self.act(_ids(f[:, 0, 1, 0], actions)))
            t = _ids(f[0, 0, 2, 0], max_t + 1)
            y = torch.stack([r, s, a], 1).reshape(n, d) + self.global_pos[t] + self.pos
            for block in self.blocks:
                y = block(y, self.mask)
            return self.head(self.norm(y))[1::3][None]

    return DT()


def show_attend_tell(
    steps: int,
    feats: int = 196,
    fdim: int = 512,
    emb: int = 512,
    hidden: int = 1024,
    att: int = 512,
    vocab: int = 10000,
) -> Any:
    """Show, Attend and Tell (Xu et al., "Show, Attend and Tell: Neural Image Caption
    Generation with Visual Attention", ICML 2015) greedily captioning (1, ``feats``,
    ``fdim``) VGG conv5 annotation vectors: the LSTM state initialised by MLPs of their
    mean; for ``steps`` words the soft attention (an MLP of the annotations and the
    previous state), its context scaled by the gating scalar beta, an LSTM of ``hidden``
    on the previous word's embedding and the context, the deep output layer (the word
    embedding plus projections of the state and context to ``vocab`` logits) and the
    argmax fed back."""
    import torch

    nn = _nn()

    class SAT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.init_h, self.init_c = nn.Linear(fdim, hidden), nn.Linear(fdim, hidden)
            self.wa, self.wh, self.v = (
                nn.Linear(fdim, att),
                nn.Linear(hidden, att),
                nn.Linear(att, 1),
            )
            self.beta = nn.Linear(hidden, 1)
            self.embed = nn.Embedding(vocab, emb)
            self.cell = _lstm_cell(emb + fdim, hidden)
            self.lh, self.lz, self.lo = (
                nn.Linear(hidden, emb),
                nn.Linear(fdim, emb),
                nn.Linear(emb, vocab),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = x[0]
            mean = a.mean(0, keepdim=True)
            h, c = torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))
            keys = self.wa(a)
            y = self.embed(torch.zeros(1, dtype=torch.long))
            logits = []
            for _ in range(steps):
                alpha = torch.softmax(self.v(torch.tanh(keys + self.wh(h))).t(), -1)
                z = torch.sigmoid(self.beta(h)) * (alpha @ a)
                h, c = self.cell(torch.cat([y, z], -1), h, c)
                logit = self.lo(y + self.lh(h) + self.lz(z))
                logits.append(logit)
                y = self.embed(logit.argmax(-1))
            return torch.cat(logits, 0)[None]

    return SAT()


def basset(length: int = 600, targets: int = 164) -> Any:
    """Basset (Kelley, Snoek & Rinn, "Basset: learning the regulatory code of the
    accessible genome with deep convolutional neural networks", Genome Research 2016) on
    (1, 4, ``length``) one-hot DNA: convs of 300 filters of width 19, 200 of 11 and 200 of
    7, each BN, ReLU and a max pool of 3, 4, 4; two fully connected ReLU layers of 1000
    and sigmoid outputs for ``targets`` cell types' accessibility."""
    nn = _nn()
    n = (((length - 18) // 3 - 10) // 4 - 6) // 4
    return nn.Sequential(
        nn.Conv1d(4, 300, 19),
        nn.BatchNorm1d(300),
        nn.ReLU(),
        nn.MaxPool1d(3),
        nn.Conv1d(300, 200, 11),
        nn.BatchNorm1d(200),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Conv1d(200, 200, 7),
        nn.BatchNorm1d(200),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Flatten(),
        nn.Linear(200 * n, 1000),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(1000, 1000),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(1000, targets),
        nn.Sigmoid(),
    )


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the sixteenth zoo."""
    return _vision() + _sequence() + _other()


def _vision() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The image, video and skeleton models."""
    return [
        ("peleenet", "peleenet_224", partial(peleenet), _image(224)),
        ("botnet", "botnet50_224", partial(botnet, 224), _image(224)),
        ("cvt", "cvt13_224", partial(cvt), _image(224)),
        ("arcface", "iresnet18_112", partial(arcface_iresnet, (2, 2, 2, 2)), _image(112)),
        ("arcface", "iresnet50_112", partial(arcface_iresnet, (3, 4, 14, 3)), _image(112)),
        ("yolact", "yolact_r50_224", partial(yolact, 224, 224), _image(224)),
        ("erfnet", "erfnet_c20_128x256", partial(erfnet, 20), _image(128, 256)),
        ("erfnet", "erfnet_c20_256x512", partial(erfnet, 20), _image(256, 512)),
        ("linknet", "linknet_c12_576x768", partial(linknet, 12), _image(576, 768)),
        ("vdsr", "vdsr_48x64", partial(vdsr), (1, 1, 48, 64)),
        ("vdsr", "vdsr_128", partial(vdsr), (1, 1, 128, 128)),
        ("ffdnet", "ffdnet_color_128", partial(ffdnet, 3), _image(128)),
        ("flownet", "flownets_192x256", partial(flownet_s), (1, 6, 192, 256)),
        ("stgcn", "stgcn_ntu_t128_m2", partial(stgcn, 128, 2), (1, 3, 128, 25, 2)),
    ]


def _sequence() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The speech, audio and text models."""
    return [
        ("las", "las_fbank40_400f_60c", partial(las, 400, 60), (1, 400, 40)),
        ("xvector", "xvector_fbank24_400f", partial(xvector, 24), (1, 24, 400)),
        ("dccrn", "dccrn_e_16k_1s", partial(dccrn, 16000), (1, 1, 16000)),
        ("openunmix", "umx_stereo_255f", partial(open_unmix, 255), (1, 2, 2049, 255)),
        ("bidaf", "bidaf_c256_q24", partial(bidaf, 256, 24), (1, 280, 17)),
        ("dynamicconv", "dynamicconv_iwslt_40x40", partial(dynamic_conv, 40, 40), (1, 80)),
        (
            "convbert",
            "convbert_small_s512",
            partial(convbert, 256, 4, 1024, 12, 512),
            (1, 512),
        ),
        (
            "convbert",
            "convbert_medsmall_s128",
            partial(convbert, 384, 8, 1536, 12, 128),
            (1, 128),
        ),
    ]


def _other() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The recommendation, tabular, graph, point-cloud, time-series, generative,
    scientific, reinforcement-learning, multimodal and genomics models."""
    cards = (12, 7, 31, 100, 1000, 5, 3, 42, 250, 9, 16, 60, 2, 500, 24, 80)
    return [
        ("wide_deep", "wide_deep_play_128c", partial(wide_deep, 128), (1, 128, 216)),
        ("bst", "bst_taobao_64c", partial(bst, 64), (1, 64, 71)),
        (
            "tabtransformer",
            "tabtransformer_c16n16_256r",
            partial(tab_transformer, 256, cards, 16),
            (1, 256, 32),
        ),
        ("graphormer", "graphormer_slim_zinc_n32", partial(graphormer, 32), (1, 32, 194)),
        ("dcrnn", "dcrnn_metrla_12_12", partial(dcrnn), (1, 12, 207, 2)),
        ("foldingnet", "foldingnet_2048", partial(foldingnet, 2048), (1, 2048, 3)),
        ("voxnet", "voxnet_modelnet40_r12", partial(voxnet, 12), (1, 12, 32, 32, 32)),
        ("lstnet", "lstnet_electricity_168", partial(lstnet, 168, 321), (1, 168, 321)),
        ("informer", "informer_etth1_96_48_24", partial(informer, 96, 48, 24), (1, 96, 7)),
        (
            "world_models",
            "world_models_carracing_16f",
            partial(world_models, 16),
            (1, 16, 3, 64, 64),
        ),
        ("made", "made_mnist_h500x2_8m", partial(made), (1, 784)),
        ("cgcnn", "cgcnn_n128_m12", partial(cgcnn, 128), (1, 128, 116)),
        ("neural_ode", "odenet_mnist_rk4_8", partial(neural_ode, 8), (1, 1, 28, 28)),
        ("relation_network", "rn_clevr_128", partial(relation_network), _image(128)),
        ("decision_transformer", "dt_atari_k30", partial(decision_transformer), (1, 30, 4, 84, 84)),
        ("show_attend_tell", "sat_vgg_14x14_20w", partial(show_attend_tell, 20), (1, 196, 512)),
        ("basset", "basset_600bp", partial(basset), (1, 4, 600)),
    ]
