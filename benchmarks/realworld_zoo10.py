"""A tenth held-out zoo of real-world architectures (plain torch), written after the
ninth zoo (benchmarks/realworld_zoo9.py), before any prediction of it.

Like the second to ninth, it is committed and then scored once with the kernel predictor
frozen; nothing in the library is fitted, tuned or chosen on it. More than half of it is
families none of the nine earlier zoos has, across tasks: EdgeNeXt's split depthwise
transpose attention (cross-covariance attention over channels; classification), YAMNet's
MobileNetV1 on a log-mel patch (audio event tagging), BC-ResNet's broadcasted residual
blocks with sub-spectral norms (keyword spotting), CREPE's wide-kernel 1-D convs (pitch
estimation), SVTR's local and global mixing blocks (text recognition), YuNet's
depthwise-pointwise face detector with its tiny FPN and keypoint heads (face detection),
SuperPoint's shared VGG encoder with interest-point and descriptor heads (keypoints for
SLAM), DDRNet-23-slim's dual-resolution branches with bilateral fusion and DAPPM (real-time
segmentation), OSNet's omni-scale streams with a shared channel gate (person
re-identification), TAESD's tiny latent decoder (generative), IMDN's information
multi-distillation blocks with contrast-aware channel attention (super-resolution),
AOD-Net's all-in-one dehazing convs (restoration), the Nature DQN and IMPALA CNNs
(reinforcement-learning policies), PatchTST's patched channel-independent transformer with
batch norms and residual attention (time-series forecasting), DIN's candidate-to-behaviour
attention units and Dice (recommendation), SchNet's continuous-filter convolutions on a
molecule (graphs), TimeSformer's divided space-time attention (video) and MobileBERT's
bottlenecked layers of stacked feed-forward nets and NoNorms (text); the other part is the
earlier zoos' families at widths, depths, sequence lengths and input shapes none of them
has (some non-square, two tiny, some large). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import (
    _MBV2,
    _MBV3,
    Builder,
    _cbr,
    _nn,
    efficientnet,
    mobilenet,
    resnet,
    shufflenet,
    text_encoder,
)
from realworld_zoo3 import _attention, _image, vit_rect, yolo_csp
from realworld_zoo4 import pointnet
from realworld_zoo9 import _layernorm2d, llama


def _fourier_positions(d: int, h: int, w: int) -> Any:
    """EdgeNeXt's positional encoding of an ``h`` x ``w`` map: 32 sine and cosine features
    each of the normalised row and column indices (a constant), a 1x1 conv to ``d``,
    flattened to (1, ``h`` ``w``, ``d``)."""
    import torch

    nn = _nn()
    ys = torch.arange(1, h + 1).float()[:, None].expand(h, w) / (h + 1e-6) * 2 * math.pi
    xs = torch.arange(1, w + 1).float()[None, :].expand(h, w) / (w + 1e-6) * 2 * math.pi
    dim_t = 10000.0 ** (2 * (torch.arange(32) // 2) / 32)

    def features(v: torch.Tensor) -> torch.Tensor:
        v = v[..., None] / dim_t
        return torch.stack([v[..., 0::2].sin(), v[..., 1::2].cos()], -1).flatten(2)

    feats = torch.cat([features(ys), features(xs)], -1).permute(2, 0, 1)[None]

    class Positions(nn.Module):
        feats: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("feats", feats.contiguous())
            self.proj = nn.Conv2d(64, d, 1)

        def forward(self) -> torch.Tensor:
            return self.proj(self.feats).flatten(2).transpose(1, 2)

    return Positions()


def _edge_mlp(d: int) -> Any:
    """EdgeNeXt's inverted bottleneck on (…, ``d``) tokens: a layer norm, a linear layer
    to 4 ``d``, GELU and a linear layer back."""
    nn = _nn()
    return nn.Sequential(
        nn.LayerNorm(d, eps=1e-6), nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)
    )


def _conv_encoder(d: int, k: int) -> Any:
    """EdgeNeXt's conv encoder: a ``k`` x ``k`` depthwise conv, the inverted bottleneck on
    the channels-last map, a layer scale; residual."""
    import torch

    nn = _nn()

    class ConvEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(d, d, k, 1, k // 2, groups=d)
            self.mlp, self.gamma = _edge_mlp(d), nn.Parameter(torch.full((d,), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.gamma * self.mlp(self.dw(x).permute(0, 2, 3, 1))
            return x + y.permute(0, 3, 1, 2)

    return ConvEncoder()


def _xca(d: int, heads: int) -> Any:
    """Cross-covariance attention (XCiT's, as EdgeNeXt uses it) on (1, n, ``d``): q, k, v
    per head as (channels, tokens), q and k L2-normalised over the tokens, a channel-by-
    channel softmax attention scaled by a learned per-head temperature, times v, a
    projection."""
    import torch

    nn = _nn()

    class XCA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 4, 1)
            q, k, v = qkv[0], qkv[1], qkv[2]
            q, k = nn.functional.normalize(q, dim=-1), nn.functional.normalize(k, dim=-1)
            a = torch.softmax(q @ k.transpose(-2, -1) * self.temperature, dim=-1)
            return self.proj((a @ v).permute(0, 3, 1, 2).reshape(b, n, d))

    return XCA()


def _sdta(d: int, scales: int, heads: int, pos: tuple[int, int] | None) -> Any:
    """EdgeNeXt's split depthwise transpose attention encoder: the channels split in
    ``scales`` groups, each but the last through a 3x3 depthwise conv (from the second on
    with the previous output added), concatenated; positional encodings added (when
    ``pos`` gives the map's size); cross-covariance attention with a layer norm and layer
    scale, residual; the inverted bottleneck with a layer scale, added to the block's
    input."""
    import torch

    nn = _nn()
    width = math.ceil(d / scales)
    nums = max(1, scales - 1)

    class SDTA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(width, width, 3, 1, 1, groups=width) for _ in range(nums)
            )
            self.pos = _fourier_positions(d, *pos) if pos is not None else None
            self.norm_xca, self.xca = nn.LayerNorm(d, eps=1e-6), _xca(d, heads)
            self.gamma_xca = nn.Parameter(torch.full((d,), 1e-6))
            self.mlp, self.gamma = _edge_mlp(d), nn.Parameter(torch.full((d,), 1e-6))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            spx, outs = x.split(width, 1), []
            for i, conv in enumerate(self.convs):
                outs.append(conv(spx[i] if i == 0 else outs[-1] + spx[i]))
            b, c, h, w = x.shape
            t = torch.cat([*outs, *spx[nums:]], 1).flatten(2).transpose(1, 2)
            if self.pos is not None:
                t = t + self.pos()
            t = t + self.gamma_xca * self.xca(self.norm_xca(t))
            t = self.gamma * self.mlp(t)
            return x + t.transpose(1, 2).reshape(b, c, h, w)

    return SDTA()


def edgenext(
    dims: tuple[int, ...],
    depths: tuple[int, ...],
    kernels: tuple[int, ...],
    scales: tuple[int, ...],
    h: int,
    w: int,
) -> Any:
    """EdgeNeXt (Maaz et al., ECCV Workshops 2022) on an ``h`` x ``w`` image: a 4x4
    stride-4 conv stem with a channel layer norm; four stages of ``dims`` (after the
    first, a channel layer norm and a 2x2 stride-2 conv) of ``depths[i]`` blocks, conv
    encoders of ``kernels[i]`` depthwise kernels, the last block of stages 2 to 4 an SDTA
    encoder of ``scales[i]`` splits and 4 heads (with positional encodings in stage 2);
    global pooling, a layer norm and a classifier. EdgeNeXt-XXS is ``((24, 48, 88, 168),
    (2, 2, 6, 2), (3, 5, 7, 9), (2, 2, 3, 4), 256, 256)``."""
    nn = _nn()
    layers: list[Any] = [nn.Conv2d(3, dims[0], 4, 4), _layernorm2d(dims[0])]
    for i, (d, n) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers += [_layernorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], d, 2, 2)]
        layers += [_conv_encoder(d, kernels[i]) for _ in range(n - (1 if i else 0))]
        if i:
            pos = (h // 8, w // 8) if i == 1 else None
            layers.append(_sdta(d, scales[i], 4, pos))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(dims[-1], eps=1e-6)]
    layers.append(nn.Linear(dims[-1], 1000))
    return nn.Sequential(*layers)


#: MobileNetV1's depthwise-separable layers: (stride, width).
_MBV1 = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)]
_MBV1 += [(1, 512)] * 5 + [(2, 1024), (1, 1024)]


def yamnet(classes: int) -> Any:
    """YAMNet (Plakal and Ellis, 2020; AudioSet event tagging) on a (1, 1, 96, 64) log-mel
    patch (0.96 s of 64 bands): MobileNetV1 (a 3x3 stride-2 conv to 32, then 13 3x3
    depthwise and 1x1 pointwise convs, BN-ReLU each, of ``_MBV1``), global pooling and a
    sigmoid classifier. YAMNet's has 521 classes."""
    nn = _nn()
    layers: list[Any] = [_cbr(1, 32, 3, 2, act=nn.ReLU)]
    c = 32
    for s, w in _MBV1:
        layers += [_cbr(c, c, 3, s, g=c, act=nn.ReLU), _cbr(c, w, 1, act=nn.ReLU)]
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes), nn.Sigmoid()]
    return nn.Sequential(*layers)


def _subspectral_norm(c: int, bands: int) -> Any:
    """Sub-spectral batch norm: a (1, ``c``, f, t) map's frequencies split in ``bands``
    sub-bands, each with its own batch norm statistics (a BN over ``c`` x ``bands``
    channels of a reshaped map)."""
    import torch

    nn = _nn()

    class SubSpectralNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm2d(c * bands)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, _, f, t = x.shape
            return self.bn(x.reshape(b, c * bands, f // bands, t)).reshape(b, c, f, t)

    return SubSpectralNorm()


def _bc_block(cin: int, cout: int, stride: int, dil: int) -> Any:
    """BC-ResNet's broadcasted residual block: (a 1x1 conv-BN-ReLU to ``cout`` in a
    transition block) a 3x1 frequency-depthwise conv of frequency stride ``stride`` with a
    sub-spectral norm of 5 bands (f2); its mean over frequency through a 1x3 temporal
    depthwise conv of dilation ``dil`` (BN, SiLU) and a 1x1 conv (f1), broadcast-added
    back to f2's output, plus the input outside transitions; ReLU."""
    import torch

    nn = _nn()
    transition = cin != cout

    class BCResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            pre = [_cbr(cin, cout, 1, act=nn.ReLU)] if transition else []
            freq = nn.Conv2d(cout, cout, (3, 1), (stride, 1), (1, 0), groups=cout, bias=False)
            self.f2 = nn.Sequential(*pre, freq, _subspectral_norm(cout, 5))
            time = nn.Conv2d(cout, cout, (1, 3), 1, (0, dil), (1, dil), cout, bias=False)
            self.f1 = nn.Sequential(
                time, nn.BatchNorm2d(cout), nn.SiLU(), nn.Conv2d(cout, cout, 1, bias=False)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f2(x)
            y = y + self.f1(y.mean(2, keepdim=True))
            return torch.relu(y if transition else y + x)

    return BCResBlock()


def bc_resnet(base: int, classes: int) -> Any:
    """BC-ResNet (Kim et al., Interspeech 2021; Qualcomm's release) keyword spotting on a
    (1, 1, 40, frames) log-mel: a 5x5 conv of frequency stride 2 to 2 ``base`` (BN,
    ReLU); four stages of 2, 2, 4, 4 broadcasted residual blocks of ``base`` x (1, 1.5,
    2, 2.5) channels, the first of each a transition, stages 2 and 3 striding frequency
    by 2, temporal dilations 1, 2, 4, 8; a valid 5x5 depthwise conv over the remaining 5
    frequencies, a 1x1 conv-BN-ReLU to 4 ``base``, pooling and a 1x1 classifier conv.
    BC-ResNet-8 is ``(64, 12)`` on 40 x 101."""
    nn = _nn()
    chans = (2 * base, base, int(1.5 * base), 2 * base, int(2.5 * base))
    stem = nn.Conv2d(1, chans[0], 5, (2, 1), 2, bias=False)
    layers: list[Any] = [stem, nn.BatchNorm2d(chans[0]), nn.ReLU()]
    for i, n in enumerate((2, 2, 4, 4)):
        for j in range(n):
            cin = chans[i] if j == 0 else chans[i + 1]
            s = 2 if (j == 0 and i in (1, 2)) else 1
            layers.append(_bc_block(cin, chans[i + 1], s, 2**i))
    c = chans[-1]
    layers += [nn.Conv2d(c, c, 5, 1, (0, 2), groups=c, bias=False), _cbr(c, 4 * base, 1)]
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Conv2d(4 * base, classes, 1)]
    return nn.Sequential(*layers, nn.Flatten())


def crepe(capacity: int) -> Any:
    """CREPE (Kim et al., ICASSP 2018) pitch estimation on a (1, 1024) frame of 16 kHz
    audio: the frame normalised (zero mean, unit deviation); six 1-D convs (filters 32,
    4, 4, 4, 8, 16 times ``capacity``, kernels 512 then 64, the first of stride 4; "same"
    padding, ReLU, BN, a max pool of 2 each); the flattened map through a sigmoid layer
    to 360 pitch bins. Capacities: tiny 4, small 8, medium 16, large 24, full 32."""
    import torch

    nn = _nn()
    filters = [n * capacity for n in (32, 4, 4, 4, 8, 16)]
    layers: list[Any] = []
    cin, length = 1, 1024
    for f, k, s in zip(filters, (512, 64, 64, 64, 64, 64), (4, 1, 1, 1, 1, 1), strict=True):
        out = math.ceil(length / s)
        pad = max((out - 1) * s + k - length, 0)
        layers += [nn.ConstantPad1d((pad // 2, pad - pad // 2), 0.0), nn.Conv1d(cin, f, k, s)]
        layers += [nn.ReLU(), nn.BatchNorm1d(f), nn.MaxPool1d(2)]
        cin, length = f, out // 2

    class CREPE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(*layers)
            self.head = nn.Sequential(nn.Linear(cin * length, 360), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x - x.mean(1, keepdim=True)
            x = x / x.std(1, keepdim=True, correction=0).clamp(min=1e-8)
            return self.head(self.body(x[:, None]).transpose(1, 2).flatten(1))

    return CREPE()


def _local_mask(h: int, w: int, hk: int, wk: int) -> Any:
    """SVTR's local mixing mask on an ``h`` x ``w`` token grid: 0 where a token lies in
    the other's ``hk`` x ``wk`` window, -inf elsewhere; (``h`` ``w``, ``h`` ``w``)."""
    import torch

    r, c = torch.arange(h).repeat_interleave(w), torch.arange(w).repeat(h)
    near = ((r[:, None] - r[None]).abs() <= hk // 2) & ((c[:, None] - c[None]).abs() <= wk // 2)
    return torch.zeros(h * w, h * w).masked_fill(~near, float("-inf"))


def _svtr_block(d: int, heads: int, mask: Any) -> Any:
    """SVTR's mixing block on (1, tokens, ``d``): a layer norm and multi-head softmax
    attention (local mixing: ``mask`` added to the scores; global mixing: ``mask`` None),
    residual; a layer norm and a 4x GELU MLP, residual."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        mask: torch.Tensor | None

        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.register_buffer("mask", mask)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, heads, -1).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-2, -1) * (d // heads) ** -0.5
            if self.mask is not None:
                s = s + self.mask
            x = x + self.proj((torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, n, d))
            return x + self.mlp(self.n2(x))

    return Block()


def _svtr_merge(cin: int, cout: int, h: int, w: int) -> Any:
    """SVTR's merging between stages: the (1, ``h`` ``w``, ``cin``) tokens as a map, a
    3x3 conv of stride (2, 1) to ``cout``, back to tokens and a layer norm."""
    import torch

    nn = _nn()

    class Merge(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.norm = nn.Conv2d(cin, cout, 3, (2, 1), 1), nn.LayerNorm(cout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x.transpose(1, 2).reshape(1, cin, h, w))
            return self.norm(y.flatten(2).transpose(1, 2))

    return Merge()


def svtr(
    dims: tuple[int, ...], depths: tuple[int, ...], heads: tuple[int, ...], locals_: int
) -> Any:
    """SVTR (Du et al., IJCAI 2022; PaddleOCR's SVTRNet with ``prenorm`` off, a layer norm
    before each mixer and MLP) text recognition on a (1, 3, 32, 100) word crop: a patch
    embedding of two 3x3 stride-2 conv-BN-GELUs to ``dims[0]`` (8 x 25 tokens) and learned
    positions; three stages of ``depths[i]`` mixing blocks of ``heads[i]`` heads (the first
    ``locals_`` blocks overall local mixing in 7 x 11 windows, the rest global), merged
    between stages by height-halving convs; a layer norm, pooling to one row of 25, a 1x1
    conv to 192 with hardswish and a linear CTC head to 37 classes per position. SVTR-T is
    ``((64, 128, 256), (3, 6, 3), (2, 4, 8), 6)``."""
    import torch

    nn = _nn()

    class SVTR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            half = dims[0] // 2
            self.embed = nn.Sequential(
                _cbr(3, half, 3, 2, act=nn.GELU), _cbr(half, dims[0], 3, 2, act=nn.GELU)
            )
            self.pos = nn.Parameter(torch.randn(1, 200, dims[0]) * 0.02)
            layers: list[Any] = []
            h, i = 8, 0
            for s, (d, n, nh) in enumerate(zip(dims, depths, heads, strict=True)):
                if s:
                    layers.append(_svtr_merge(dims[s - 1], d, h, 25))
                    h //= 2
                for _ in range(n):
                    mask = _local_mask(h, 25, 7, 11) if i < locals_ else None
                    layers.append(_svtr_block(d, nh, mask))
                    i += 1
            self.blocks = nn.Sequential(*layers, nn.LayerNorm(dims[-1], eps=1e-6))
            self.h, self.last = h, nn.Conv2d(dims[-1], 192, 1, bias=False)
            self.ctc = nn.Linear(192, 37)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.blocks(self.embed(x).flatten(2).transpose(1, 2) + self.pos)
            y = x.transpose(1, 2).reshape(1, dims[-1], self.h, 25).mean(2, keepdim=True)
            y = nn.functional.hardswish(self.last(y))
            return self.ctc(y.flatten(2).transpose(1, 2))

    return SVTR()


def _dp_unit(cin: int, cout: int, bn_relu: bool = True) -> Any:
    """YuNet's ConvDPUnit: a 1x1 conv and a 3x3 depthwise conv (both with biases), BN and
    ReLU when ``bn_relu``."""
    nn = _nn()
    layers = [nn.Conv2d(cin, cout, 1), nn.Conv2d(cout, cout, 3, 1, 1, groups=cout)]
    layers += [nn.BatchNorm2d(cout), nn.ReLU()] if bn_relu else []
    return nn.Sequential(*layers)


def yunet(stages: tuple[int, ...], feat: int) -> Any:
    """YuNet (Wu, Peng and Yu, 2023; libfacedetection, OpenCV's FaceDetectorYN) on an image
    of sides divisible by 32: a 3x3 stride-2 conv-BN-ReLU to ``stages[0]`` and a DP unit;
    five stages of two DP units to ``stages[i]`` (2x2 max pools after the first, third,
    fourth and fifth stage, the last three read at strides 8, 16, 32); the TFPN (top-down
    DP units, bilinear x2 upsampling and adds) and per level DP heads without BN to a
    class score, an objectness (sigmoids), 4 box and 10 landmark values, flattened and
    concatenated. YuNet-n is ``(16, 64, 64, 64, 64, 64)`` with ``feat`` 64."""
    import torch

    nn = _nn()
    f = nn.functional

    class YuNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            stem = _cbr(3, stages[0], 3, 2, act=nn.ReLU)
            self.stages = nn.ModuleList([nn.Sequential(stem, _dp_unit(stages[0], stages[0]))])
            for a, b in zip(stages[:-1], stages[1:], strict=True):
                self.stages.append(nn.Sequential(_dp_unit(a, a), _dp_unit(a, b)))
            self.laterals = nn.ModuleList(_dp_unit(feat, feat) for _ in range(3))
            self.heads = nn.ModuleList(
                nn.ModuleList(_dp_unit(feat, k, False) for k in (1, 1, 4, 10)) for _ in range(3)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for i, stage in enumerate(self.stages):
                x = stage(x)
                feats += [x] if i >= 3 else []
                x = f.max_pool2d(x, 2) if i in (0, 2, 3, 4) else x
            for i in (2, 1):
                feats[i] = self.laterals[i](feats[i])
                up = f.interpolate(feats[i], scale_factor=2.0, mode="bilinear")
                feats[i - 1] = feats[i - 1] + up
            feats[0] = self.laterals[0](feats[0])
            outs = []
            for feat_map, (cls, obj, box, kps) in zip(feats, self.heads, strict=True):
                outs += [cls(feat_map).sigmoid(), obj(feat_map).sigmoid()]
                outs += [box(feat_map), kps(feat_map)]
            return torch.cat([o.flatten(1) for o in outs], 1)

    return YuNet()


def superpoint(h: int, w: int) -> Any:
    """SuperPoint (DeTone, Malisiewicz and Rabinovich, CVPR Workshops 2018; Magic Leap's
    released net, no BN) on a (1, 1, ``h``, ``w``) grayscale image: a VGG encoder of 3x3
    conv-ReLU pairs of 64, 64, 128, 128 channels with 2x2 max pools between (stride 8);
    the interest point head (a 3x3 conv-ReLU to 256, a 1x1 conv to 65 cells, a channel
    softmax, the dustbin dropped and depth-to-space to a full-resolution heatmap) and the
    descriptor head (a 3x3 conv-ReLU to 256, a 1x1 conv to 256, L2-normalised over
    channels), flattened and concatenated."""
    import torch

    nn = _nn()

    def conv(a: int, b: int) -> list[Any]:
        return [nn.Conv2d(a, b, 3, 1, 1), nn.ReLU()]

    class SuperPoint(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            for i, (a, b) in enumerate(((1, 64), (64, 64), (64, 128), (128, 128))):
                layers += [*conv(a, b), *conv(b, b)] + ([nn.MaxPool2d(2)] if i < 3 else [])
            self.encoder = nn.Sequential(*layers)
            self.det = nn.Sequential(*conv(128, 256), nn.Conv2d(256, 65, 1))
            self.desc = nn.Sequential(*conv(128, 256), nn.Conv2d(256, 256, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.encoder(x)
            heat = nn.functional.pixel_shuffle(torch.softmax(self.det(y), 1)[:, :-1], 8)
            desc = nn.functional.normalize(self.desc(y), dim=1)
            return torch.cat([heat.flatten(1), desc.flatten(1)], 1)

    return SuperPoint()


def _ddr_block(cin: int, planes: int, s: int, relu: bool, bottleneck: bool) -> Any:
    """DDRNet's residual blocks: a basic block (two 3x3 conv-BNs) or a bottleneck
    (1x1, 3x3 and 1x1 conv-BNs, expansion 2), the first 3x3 of stride ``s``; a 1x1 conv-BN
    shortcut when the shape changes; ReLU after the sum unless ``relu`` is False (the last
    block of a layer)."""
    import torch

    nn = _nn()
    cout = 2 * planes if bottleneck else planes

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if bottleneck:
                self.body = nn.Sequential(
                    _cbr(cin, planes, 1, act=nn.ReLU),
                    _cbr(planes, planes, 3, s, act=nn.ReLU),
                    _cbr(planes, cout, 1),
                )
            else:
                self.body = nn.Sequential(_cbr(cin, planes, 3, s, act=nn.ReLU), _cbr(planes, cout))
            self.short = _cbr(cin, cout, 1, s) if (s != 1 or cin != cout) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x) + self.short(x)
            return torch.relu(y) if relu else y

    return Block()


def _ddr_layer(cin: int, planes: int, n: int, s: int = 1, bottleneck: bool = False) -> Any:
    """``n`` DDRNet blocks, the first of stride ``s``, the last without its ReLU."""
    nn = _nn()
    cout = 2 * planes if bottleneck else planes
    blocks = [
        _ddr_block(cin if i == 0 else cout, planes, s if i == 0 else 1, i < n - 1, bottleneck)
        for i in range(n)
    ]
    return nn.Sequential(*blocks)


def _bn_relu_conv(cin: int, cout: int, k: int) -> Any:
    """A pre-activation conv: BN, ReLU and a bias-free ``k`` x ``k`` conv."""
    nn = _nn()
    return nn.Sequential(
        nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, k, 1, k // 2, bias=False)
    )


def _dappm(cin: int, branch: int, cout: int) -> Any:
    """DDRNet's deep aggregation pyramid pooling module: a 1x1 branch and branches pooled
    by 5/2, 9/4, 17/8 average pools and globally (pre-activation 1x1 convs to ``branch``),
    each upsampled bilinearly, added to the previous branch and refined by a pre-activation
    3x3 conv; all five concatenated and compressed by a pre-activation 1x1 conv to
    ``cout``, plus a pre-activation 1x1 shortcut."""
    import torch

    nn = _nn()

    class DAPPM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            pools: list[Any] = [nn.AvgPool2d(k, s, s) for k, s in ((5, 2), (9, 4), (17, 8))]
            pools.append(nn.AdaptiveAvgPool2d(1))
            self.scale0 = _bn_relu_conv(cin, branch, 1)
            self.scales = nn.ModuleList(
                nn.Sequential(p, _bn_relu_conv(cin, branch, 1)) for p in pools
            )
            self.process = nn.ModuleList(_bn_relu_conv(branch, branch, 3) for _ in range(4))
            self.compression = _bn_relu_conv(5 * branch, cout, 1)
            self.shortcut = _bn_relu_conv(cin, cout, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            outs = [self.scale0(x)]
            for scale, process in zip(self.scales, self.process, strict=True):
                up = nn.functional.interpolate(scale(x), x.shape[2:], mode="bilinear")
                outs.append(process(up + outs[-1]))
            return self.compression(torch.cat(outs, 1)) + self.shortcut(x)

    return DAPPM()


def ddrnet(planes: int, spp: int, head: int, classes: int, h: int, w: int) -> Any:
    """DDRNet-23-slim (Hong et al., 2021; real-time road-scene segmentation) on an ``h`` x
    ``w`` image: two 3x3 stride-2 conv-BN-ReLUs to ``planes``; basic-block layers of
    ``planes`` x 1, 2 (stride 8), then a low-resolution branch (x 4 at stride 16, x 8 at
    32, a bottleneck to x 16 at 64) beside a high-resolution branch of 2 ``planes`` at
    stride 8, with bilateral fusions (strided 3x3 convs down, 1x1 convs and bilinear
    upsampling up) after the first two; DAPPM of ``spp`` branches on the low branch,
    upsampled and added to the high one; the segmentation head (pre-activation 3x3 to
    ``head`` and 1x1 to ``classes``) and bilinear x8 upsampling. DDRNet-23-slim is ``(32,
    128, 64, 19, ...)`` on Cityscapes."""
    import torch

    nn = _nn()
    f, p, hi = nn.functional, planes, 2 * planes

    class DDRNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                _cbr(3, p, 3, 2, act=nn.ReLU), _cbr(p, p, 3, 2, act=nn.ReLU), _ddr_layer(p, p, 2)
            )
            self.layer2 = _ddr_layer(p, 2 * p, 2, 2)
            self.layer3, self.layer3_ = _ddr_layer(2 * p, 4 * p, 2, 2), _ddr_layer(2 * p, hi, 2)
            self.layer4, self.layer4_ = _ddr_layer(4 * p, 8 * p, 2, 2), _ddr_layer(hi, hi, 2)
            self.compression3, self.compression4 = _cbr(4 * p, hi, 1), _cbr(8 * p, hi, 1)
            self.down3 = _cbr(hi, 4 * p, 3, 2)
            self.down4 = nn.Sequential(_cbr(hi, 4 * p, 3, 2, act=nn.ReLU), _cbr(4 * p, 8 * p, 3, 2))
            self.layer5_ = _ddr_layer(hi, hi, 1, 1, True)
            self.layer5 = _ddr_layer(8 * p, 8 * p, 1, 2, True)
            self.spp = _dappm(16 * p, spp, 4 * p)
            self.head = nn.Sequential(
                _bn_relu_conv(4 * p, head, 3),
                *(nn.BatchNorm2d(head), nn.ReLU(), nn.Conv2d(head, classes, 1)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            size = (h // 8, w // 8)
            x2 = self.layer2(torch.relu(self.stem(x)))
            x = self.layer3(torch.relu(x2))
            x_ = self.layer3_(torch.relu(x2))
            x, x_ = (
                x + self.down3(torch.relu(x_)),
                x_ + f.interpolate(self.compression3(torch.relu(x)), size, mode="bilinear"),
            )
            x = self.layer4(torch.relu(x))
            x_ = self.layer4_(torch.relu(x_))
            x, x_ = (
                x + self.down4(torch.relu(x_)),
                x_ + f.interpolate(self.compression4(torch.relu(x)), size, mode="bilinear"),
            )
            x_ = self.layer5_(torch.relu(x_))
            x = f.interpolate(self.spp(self.layer5(torch.relu(x))), size, mode="bilinear")
            return f.interpolate(self.head(x + x_), scale_factor=8.0, mode="bilinear")

    return DDRNet()


def _light3x3(c: int) -> Any:
    """OSNet's lite 3x3: a bias-free 1x1 conv, a 3x3 depthwise conv, BN and ReLU."""
    nn = _nn()
    return nn.Sequential(nn.Conv2d(c, c, 1, bias=False), _cbr(c, c, 3, g=c, act=nn.ReLU))


def _os_block(cin: int, cout: int) -> Any:
    """OSNet's omni-scale block: a 1x1 conv-BN-ReLU to ``cout``/4; four streams of 1 to 4
    lite 3x3 convs, each scaled by the unified aggregation gate (one shared channel gate:
    pooling, a 1x1 conv to a sixteenth, ReLU, a 1x1 conv back and a sigmoid) and summed;
    a linear 1x1 conv-BN to ``cout``; a 1x1 conv-BN shortcut when the widths differ;
    ReLU."""
    import torch

    nn = _nn()
    mid = cout // 4

    class OSBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = _cbr(cin, mid, 1, act=nn.ReLU)
            self.streams = nn.ModuleList(
                nn.Sequential(*[_light3x3(mid) for _ in range(t)]) for t in range(1, 5)
            )
            self.gate = nn.Sequential(
                *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, mid // 16, 1), nn.ReLU()),
                *(nn.Conv2d(mid // 16, mid, 1), nn.Sigmoid()),
            )
            self.conv3 = _cbr(mid, cout, 1)
            self.short = _cbr(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, z = self.conv1(x), None
            for stream in self.streams:
                a = stream(y)
                z = a * self.gate(a) if z is None else z + a * self.gate(a)
            return torch.relu(self.conv3(z) + self.short(x))

    return OSBlock()


def osnet(chans: tuple[int, ...], feat: int) -> Any:
    """OSNet (Zhou et al., ICCV 2019; torchreid) person re-identification on a (1, 3, 256,
    128) crop: a 7x7 stride-2 conv-BN-ReLU to ``chans[0]`` and a 3x3 stride-2 max pool;
    three stages of two omni-scale blocks to ``chans[1:]``, the first two followed by a
    1x1 conv-BN-ReLU and a 2x2 average pool; a 1x1 conv-BN-ReLU, global pooling and the
    embedding layer (linear to ``feat``, BN, ReLU). OSNet x1.0 is ``((64, 256, 384,
    512), 512)``."""
    nn = _nn()
    layers: list[Any] = [_cbr(3, chans[0], 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    for i in range(3):
        layers += [_os_block(chans[i], chans[i + 1]), _os_block(chans[i + 1], chans[i + 1])]
        if i < 2:
            layers += [_cbr(chans[i + 1], chans[i + 1], 1, act=nn.ReLU), nn.AvgPool2d(2, 2)]
    c = chans[-1]
    layers += [_cbr(c, c, 1, act=nn.ReLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Linear(c, feat), nn.BatchNorm1d(feat), nn.ReLU()]
    return nn.Sequential(*layers)


def taesd_decoder(c: int, latent: int) -> Any:
    """TAESD's decoder (Bohan, 2023; the tiny autoencoder previewing Stable Diffusion) from
    a (1, ``latent``, h, w) latent: tanh(x / 3) * 3, a 3x3 conv to ``c`` and ReLU; three
    times three residual blocks (3x3 convs with ReLUs between, a ReLU after the sum),
    nearest x2 upsampling and a bias-free 3x3 conv; a block and a 3x3 conv to RGB, at
    8 h x 8 w. TAESD's is ``(64, 4)``."""
    import torch

    nn = _nn()

    def conv(a: int, b: int, bias: bool = True) -> Any:
        return nn.Conv2d(a, b, 3, 1, 1, bias=bias)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(conv(c, c), nn.ReLU(), conv(c, c), nn.ReLU(), conv(c, c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.conv(x) + x)

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [conv(latent, c), nn.ReLU()]
            for _ in range(3):
                layers += [Block(), Block(), Block(), nn.Upsample(scale_factor=2.0)]
                layers.append(conv(c, c, False))
            self.body = nn.Sequential(*layers, Block(), conv(c, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(torch.tanh(x / 3) * 3)

    return Decoder()


def _cca(c: int) -> Any:
    """IMDN's contrast-aware channel attention: each channel's standard deviation plus its
    mean, a 1x1 conv to a sixteenth, ReLU, a 1x1 conv back, a sigmoid; a product."""
    import torch

    nn = _nn()

    class CCA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv2d(c, c // 16, 1), nn.ReLU(), nn.Conv2d(c // 16, c, 1), nn.Sigmoid()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mu = x.mean((2, 3), keepdim=True)
            sd = (x - mu).pow(2).mean((2, 3), keepdim=True).sqrt()
            return x * self.f(sd + mu)

    return CCA()


def _imd_module(c: int) -> Any:
    """IMDN's information multi-distillation block: three 3x3 convs (LeakyReLU 0.05),
    each output split into a distilled quarter and the rest the next conv refines, a
    fourth 3x3 conv to a quarter; the four quarters concatenated, contrast-aware channel
    attention, a 1x1 conv; residual."""
    import torch

    nn = _nn()
    dist, rest = c // 4, c - c // 4

    class IMDModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(c if i == 0 else rest, c, 3, 1, 1) for i in range(3)
            )
            self.c4, self.cca = nn.Conv2d(rest, dist, 3, 1, 1), _cca(c)
            self.c5 = nn.Conv2d(c, c, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, parts = x, []
            for conv in self.convs:
                d, y = nn.functional.leaky_relu(conv(y), 0.05).split([dist, rest], 1)
                parts.append(d)
            return self.c5(self.cca(torch.cat([*parts, self.c4(y)], 1))) + x

    return IMDModule()


def imdn(nf: int, modules: int, scale: int) -> Any:
    """IMDN (Hui et al., ACM MM 2019; AIM 2019 efficient SR winner) on an RGB image: a 3x3
    conv to ``nf``, ``modules`` distillation blocks, their outputs concatenated and fused
    by a 1x1 conv (LeakyReLU 0.05) and a 3x3 conv, the first features added; a 3x3 conv
    to 3 ``scale``^2 channels and pixel shuffle. IMDN x4 is ``(64, 6, 4)``."""
    import torch

    nn = _nn()

    class IMDN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fea = nn.Conv2d(3, nf, 3, 1, 1)
            self.blocks = nn.ModuleList(_imd_module(nf) for _ in range(modules))
            self.c = nn.Sequential(nn.Conv2d(modules * nf, nf, 1), nn.LeakyReLU(0.05))
            self.lr = nn.Conv2d(nf, nf, 3, 1, 1)
            self.up = nn.Sequential(nn.Conv2d(nf, 3 * scale**2, 3, 1, 1), nn.PixelShuffle(scale))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            fea = self.fea(x)
            y, outs = fea, []
            for block in self.blocks:
                y = block(y)
                outs.append(y)
            return self.up(self.lr(self.c(torch.cat(outs, 1))) + fea)

    return IMDN()


def aod_net() -> Any:
    """AOD-Net (Li et al., ICCV 2017) dehazing: five convs of 3 channels (1x1, 3x3, 5x5
    on the first two concatenated, 7x7 on the second and third, 3x3 on all four; ReLU
    each) estimating K; the clean image ReLU(K x - K + 1)."""
    import torch

    nn = _nn()

    class AODNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv2d(cin, 3, k, 1, k // 2)
                for cin, k in ((3, 1), (3, 3), (6, 5), (6, 7), (12, 3))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x1 = torch.relu(self.convs[0](x))
            x2 = torch.relu(self.convs[1](x1))
            x3 = torch.relu(self.convs[2](torch.cat([x1, x2], 1)))
            x4 = torch.relu(self.convs[3](torch.cat([x2, x3], 1)))
            k = torch.relu(self.convs[4](torch.cat([x1, x2, x3, x4], 1)))
            return torch.relu(k * x - k + 1)

    return AODNet()


def nature_dqn(actions: int) -> Any:
    """The Nature DQN (Mnih et al., Nature 2015) on a (1, 4, 84, 84) stack of Atari frames:
    scaled by 1/255, convs 8x8/4 to 32, 4x4/2 to 64 and 3x3 to 64 (ReLU), a ReLU linear
    layer to 512 and Q-values for ``actions`` (18 on the full Atari action set)."""
    import torch

    nn = _nn()

    class DQN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                *(nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU()),
                *(nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten()),
                *(nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, actions)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.f(x / 255.0)

    return DQN()


def impala_cnn(depths: tuple[int, ...], hidden: int, actions: int) -> Any:
    """The IMPALA CNN (Espeholt et al., ICML 2018; the Procgen baseline) on a (1, 3, 64,
    64) frame: per stack a 3x3 conv to ``depths[i]``, a 3x3 stride-2 max pool and two
    residual blocks (ReLU, conv, ReLU, conv); ReLU, a ReLU linear layer to ``hidden`` and
    the policy logits for ``actions`` with the value, concatenated. Procgen's is ``((16,
    32, 32), 256, 15)``."""
    import torch

    nn = _nn()

    class Residual(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    class Impala(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            c = 3
            for d in depths:
                layers += [nn.Conv2d(c, d, 3, 1, 1), nn.MaxPool2d(3, 2, 1)]
                layers += [Residual(d), Residual(d)]
                c = d
            side = 64 // 2 ** len(depths)
            layers += [nn.ReLU(), nn.Flatten(), nn.Linear(c * side * side, hidden), nn.ReLU()]
            self.body = nn.Sequential(*layers)
            self.pi, self.v = nn.Linear(hidden, actions), nn.Linear(hidden, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x / 255.0)
            return torch.cat([self.pi(y), self.v(y)], 1)

    return Impala()


def _patchtst_layer(d: int, heads: int, ff: int) -> Any:
    """PatchTST's encoder layer on (channels, patches, ``d``) with the previous layer's
    attention scores: multi-head attention whose pre-softmax scores add the previous
    ones (residual attention; the new scores are passed on), a residual and a batch norm
    over ``d``; a GELU feed-forward net of ``ff``, a residual and a batch norm."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(d, d) for _ in range(3))
            self.o = nn.Linear(d, d)
            self.bn1, self.bn2 = nn.BatchNorm1d(d), nn.BatchNorm1d(d)
            self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(
            self, x: torch.Tensor, prev: torch.Tensor | None
        ) -> tuple[torch.Tensor, torch.Tensor]:
            b, n, _ = x.shape
            q = self.q(x).reshape(b, n, heads, -1).transpose(1, 2)
            k = self.k(x).reshape(b, n, heads, -1).permute(0, 2, 3, 1)
            v = self.v(x).reshape(b, n, heads, -1).transpose(1, 2)
            scores = q @ k * (d // heads) ** -0.5
            scores = scores if prev is None else scores + prev
            y = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
            x = self.bn1((x + self.o(y)).transpose(1, 2)).transpose(1, 2)
            x = self.bn2((x + self.ff(x)).transpose(1, 2)).transpose(1, 2)
            return x, scores

    return Layer()


def patchtst(
    lookback: int, channels: int, d: int, heads: int, ff: int, layers: int, horizon: int
) -> Any:
    """PatchTST (Nie et al., ICLR 2023; supervised, channel-independent) forecasting from
    a (1, ``lookback``, ``channels``) series: RevIN (each channel normalised over time, a
    learned affine), every channel end-padded by repeating its last value and cut into
    patches of 16 at stride 8, a linear patch embedding to ``d`` with learned positions;
    ``layers`` encoder layers with residual attention and batch norms; per channel the
    flattened patches through a linear head to ``horizon`` steps; RevIN undone. Its
    Weather model is ``(336, 21, 128, 16, 256, 3, 96)``."""
    import torch

    nn = _nn()
    patches = lookback // 8

    class PatchTST(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gain, self.bias = (
                nn.Parameter(torch.ones(channels)),
                nn.Parameter(torch.zeros(channels)),
            )
            self.embed, self.pos = nn.Linear(16, d), nn.Parameter(torch.randn(patches, d) * 0.02)
            self.layers = nn.ModuleList(_patchtst_layer(d, heads, ff) for _ in range(layers))
            self.head = nn.Linear(patches * d, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mu = x.mean(1, keepdim=True)
            sd = (x.var(1, keepdim=True, correction=0) + 1e-5).sqrt()
            x = ((x - mu) / sd * self.gain + self.bias)[0].transpose(0, 1)
            x = torch.cat([x, x[:, -1:].expand(channels, 8)], 1).reshape(channels, -1, 8)
            y, prev = self.embed(torch.cat([x[:, :-1], x[:, 1:]], -1)) + self.pos, None
            for layer in self.layers:
                y, prev = layer(y, prev)
            y = self.head(y.flatten(1)).transpose(0, 1)[None]
            return (y - self.bias) / (self.gain + 1e-10) * sd + mu

    return PatchTST()


def _dice(c: int) -> Any:
    """DIN's Dice activation: p the sigmoid of the batch-normalised (no affine) input;
    p x + (1 - p) alpha x with a learned per-channel alpha."""
    import torch

    nn = _nn()

    class Dice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn, self.alpha = nn.BatchNorm1d(c, affine=False), nn.Parameter(torch.zeros(c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = torch.sigmoid(self.bn(x))
            return p * x + (1 - p) * self.alpha * x

    return Dice()


def din(items: int, cates: int, dim: int, history: int) -> Any:
    """DIN (Zhou et al., KDD 2018; the released Amazon model) scoring candidates for one
    user from (1, ``history`` + candidates, 2) (item, category) rows (ids read as the
    ninth zoo's DCN-V2 reads them): item and category embeddings of ``dim`` concatenated;
    per candidate and behaviour the local activation unit ([q, k, q - k, q k] through
    sigmoid layers of 80 and 40 and a linear one), scaled, a softmax over the behaviours
    and the behaviours pooled by it; BN and a linear layer; with the candidate's embedding
    BN, a Dice MLP of 80 and 40, a linear output plus the candidate's item bias, a
    sigmoid. The Amazon Electronics model is ``(63001, 801, 64, ...)``."""
    import torch

    nn = _nn()
    h = 2 * dim

    class DIN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item, self.cate = (
                nn.Parameter(torch.randn(items, dim) * 0.01),
                nn.Parameter(torch.randn(cates, dim) * 0.01),
            )
            self.item_bias = nn.Parameter(torch.zeros(items))
            self.att = nn.Sequential(
                *(nn.Linear(4 * h, 80), nn.Sigmoid(), nn.Linear(80, 40), nn.Sigmoid()),
                nn.Linear(40, 1),
            )
            self.hist = nn.Sequential(nn.BatchNorm1d(h), nn.Linear(h, h))
            self.mlp = nn.Sequential(
                *(nn.BatchNorm1d(2 * h), nn.Linear(2 * h, 80), _dice(80)),
                *(nn.Linear(80, 40), _dice(40), nn.Linear(40, 1)),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = (x[0].abs() * 1000).long()
            i, c = torch.remainder(ids[:, 0], items), torch.remainder(ids[:, 1], cates)
            e = torch.cat([self.item[i], self.cate[c]], 1)
            keys, q = e[:history], e[history:]
            n = q.shape[0]
            qq, kk = q[:, None].expand(n, history, h), keys[None].expand(n, history, h)
            s = self.att(torch.cat([qq, kk, qq - kk, qq * kk], -1))[..., 0] * h**-0.5
            u = self.hist(torch.softmax(s, dim=-1) @ keys)
            y = self.mlp(torch.cat([u, q], 1))[:, 0] + self.item_bias[i[history:]]
            return torch.sigmoid(y)[None]

    return DIN()


def _ssp(x: Any) -> Any:
    """The shifted softplus, softplus(x) - log 2."""
    import torch

    return torch.nn.functional.softplus(x) - math.log(2.0)


def _schnet_interaction(c: int, rbf: int) -> Any:
    """SchNet's interaction block on (n, ``c``) atom features, (n, n, ``rbf``) distance
    expansions and the (n, n) cosine cutoffs: the filter-generating net (linear to ``c``,
    shifted softplus, linear) times the cutoff, a continuous-filter conv (a bias-free
    linear layer on the neighbours, filtered and summed over them), a linear layer,
    shifted softplus and a linear layer; residual."""
    import torch

    nn = _nn()

    class Interaction(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.filt1, self.filt2 = nn.Linear(rbf, c), nn.Linear(c, c)
            self.lin1 = nn.Linear(c, c, bias=False)
            self.lin2, self.lin3 = nn.Linear(c, c), nn.Linear(c, c)

        def forward(self, h: torch.Tensor, e: torch.Tensor, cut: torch.Tensor) -> torch.Tensor:
            w = self.filt2(_ssp(self.filt1(e))) * cut[..., None]
            m = (w * self.lin1(h)[None]).sum(1)
            return h + self.lin3(_ssp(self.lin2(m)))

    return Interaction()


def schnet(c: int, rbf: int, blocks: int, cutoff: float, types: int) -> Any:
    """SchNet (Schuett et al., NeurIPS 2017; PyTorch Geometric's) energy of a molecule
    given as (1, atoms, 4) rows of coordinates and an atom type (read like an id): type
    embeddings of ``c``; all pair distances expanded in ``rbf`` Gaussians up to
    ``cutoff``, a cosine cutoff that also drops each atom's pair with itself; ``blocks``
    interaction blocks; a linear layer to ``c``/2, shifted softplus, a linear layer to
    one value per atom, summed. PyG's QM9 model is ``(128, 50, 6, 10.0, 100)``."""
    import torch

    nn = _nn()
    centers = torch.linspace(0.0, cutoff, rbf)
    gamma = -0.5 / float(centers[1] - centers[0]) ** 2

    class SchNet(nn.Module):
        centers: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Parameter(torch.randn(types, c))
            self.register_buffer("centers", centers)
            self.blocks = nn.ModuleList(_schnet_interaction(c, rbf) for _ in range(blocks))
            self.out1, self.out2 = nn.Linear(c, c // 2), nn.Linear(c // 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            pos, n = x[0, :, :3], x.shape[1]
            h = self.emb[torch.remainder((x[0, :, 3].abs() * 1000).long(), types)]
            dist = ((pos[:, None] - pos[None]).pow(2).sum(-1) + 1e-9).sqrt()
            e = torch.exp(gamma * (dist[..., None] - self.centers).pow(2))
            near = (dist < cutoff).float() * (1 - torch.eye(n))
            cut = 0.5 * (torch.cos(dist * math.pi / cutoff) + 1) * near
            for block in self.blocks:
                h = block(h, e, cut)
            return self.out2(_ssp(self.out1(h))).sum(0, keepdim=True)

    return SchNet()


def _divided_block(d: int, heads: int, n: int, t: int) -> Any:
    """TimeSformer's divided space-time block on (1, 1 + ``n`` ``t``, ``d``) tokens (a
    class token, then patches in (space, time) order): temporal attention over each
    patch's ``t`` frames (a layer norm, attention, a linear layer), residual; spatial
    attention over each frame's ``n`` patches with the class token (a layer norm,
    attention; the class token's outputs averaged over the frames), residual; a layer norm
    and a 4x GELU MLP, residual."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tnorm, self.tattn = nn.LayerNorm(d), _attention(d, heads, 0)
            self.tfc = nn.Linear(d, d)
            self.n1, self.attn, self.n2 = nn.LayerNorm(d), _attention(d, heads, 0), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            cls, xt = x[:, :1], x[:, 1:]
            r = self.tattn(self.tnorm(xt.reshape(n, t, d)))
            xt = xt + self.tfc(r.reshape(1, n * t, d))
            xs = torch.cat([cls.expand(t, 1, d), xt.reshape(n, t, d).transpose(0, 1)], 1)
            r = self.attn(self.n1(xs))
            rs = r[:, 1:].transpose(0, 1).reshape(1, n * t, d)
            x = torch.cat([cls, xt], 1) + torch.cat([r[:, :1].mean(0, keepdim=True), rs], 1)
            return x + self.mlp(self.n2(x))

    return Block()


def timesformer(
    frames: int, side: int, patch: int, d: int, heads: int, layers: int, classes: int
) -> Any:
    """TimeSformer (Bertasius, Wang and Torresani, ICML 2021; divided space-time attention)
    on a (1, 3, ``frames``, ``side``, ``side``) clip: per frame a ``patch`` x ``patch``
    patch embedding, a class token and learned space positions; learned time positions;
    ``layers`` divided space-time blocks; a layer norm and a classifier on the class
    token. TimeSformer is ViT-B's (768, 12 heads, 12 layers) on 8 x 224^2; Kinetics-400
    has 400 classes."""
    import torch

    nn = _nn()
    n = (side // patch) ** 2

    class TimeSformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.cls = nn.Parameter(torch.zeros(1, 1, d))
            self.pos = nn.Parameter(torch.randn(1, n + 1, d) * 0.02)
            self.time = nn.Parameter(torch.randn(1, frames, d) * 0.02)
            self.blocks = nn.Sequential(
                *[_divided_block(d, heads, n, frames) for _ in range(layers)]
            )
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.embed(x[0].transpose(0, 1)).flatten(2).transpose(1, 2)
            y = torch.cat([self.cls.expand(frames, 1, d), y], 1) + self.pos
            cls, y = y[:1, :1], (y[:, 1:].transpose(0, 1) + self.time).reshape(1, n * frames, d)
            return self.head(self.norm(self.blocks(torch.cat([cls, y], 1)))[:, 0])

    return TimeSformer()


def _no_norm(d: int) -> Any:
    """MobileBERT's NoNorm: a per-channel scale and shift in place of a layer norm."""
    import torch

    nn = _nn()

    class NoNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w, self.b = nn.Parameter(torch.ones(d)), nn.Parameter(torch.zeros(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.w + self.b

    return NoNorm()


def _mobilebert_layer(d: int, inner: int, heads: int, ffn: int, stacked: int) -> Any:
    """A MobileBERT layer on (1, seq, ``d``): a linear bottleneck to ``inner`` with NoNorm,
    shared as query and key input (the value projected from the ``d``-wide input);
    attention of ``heads`` heads, an output projection, the bottleneck added, NoNorm;
    ``stacked`` ReLU feed-forward nets of ``ffn`` (each with a residual and NoNorm); a
    linear layer back to ``d``, the layer's input added, NoNorm."""
    import torch

    nn = _nn()
    hd = inner // heads

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bottleneck = nn.Sequential(nn.Linear(d, inner), _no_norm(inner))
            self.q, self.k, self.v = (
                nn.Linear(inner, inner),
                nn.Linear(inner, inner),
                nn.Linear(d, inner),
            )
            self.o, self.n_att = nn.Linear(inner, inner), _no_norm(inner)
            self.ffns = nn.ModuleList(
                nn.Sequential(nn.Linear(inner, ffn), nn.ReLU(), nn.Linear(ffn, inner))
                for _ in range(stacked)
            )
            self.n_ffn = nn.ModuleList(_no_norm(inner) for _ in range(stacked))
            self.out, self.n_out = nn.Linear(inner, d), _no_norm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            s = self.bottleneck(x)
            q = self.q(s).reshape(b, t, heads, hd).transpose(1, 2)
            k = self.k(s).reshape(b, t, heads, hd).transpose(1, 2)
            v = self.v(x).reshape(b, t, heads, hd).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5, dim=-1)
            y = self.n_att(self.o((a @ v).transpose(1, 2).reshape(b, t, inner)) + s)
            for ffn_, norm in zip(self.ffns, self.n_ffn, strict=True):
                y = norm(ffn_(y) + y)
            return self.n_out(self.out(y) + x)

    return Layer()


def mobilebert(embed: int, d: int, inner: int, heads: int, layers: int, seq: int) -> Any:
    """MobileBERT (Sun et al., ACL 2020) on (1, ``seq``, ``embed``) token embeddings: the
    trigram embedding (the next, the same and the previous token's embeddings
    concatenated, a linear layer to ``d``), learned positions and NoNorm; ``layers``
    MobileBERT layers (bottleneck ``inner``, 4 stacked feed-forward nets of 512); the first
    token through a linear classifier of 2 classes. MobileBERT is ``(128, 512, 128, 4, 24,
    ...)``."""
    import torch

    nn = _nn()
    f = nn.functional

    class MobileBERT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trigram = nn.Linear(3 * embed, d)
            self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
            self.norm = _no_norm(d)
            self.layers = nn.Sequential(
                *[_mobilebert_layer(d, inner, heads, 512, 4) for _ in range(layers)]
            )
            self.cls = nn.Linear(d, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nxt, prv = f.pad(x[:, 1:], (0, 0, 0, 1)), f.pad(x[:, :-1], (0, 0, 1, 0))
            y = self.norm(self.trigram(torch.cat([nxt, x, prv], -1)) + self.pos)
            return self.cls(self.layers(y)[:, 0])

    return MobileBERT()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    edge_xxs = partial(edgenext, (24, 48, 88, 168), (2, 2, 6, 2), (3, 5, 7, 9), (2, 2, 3, 4))
    svtr_t = partial(svtr, (64, 128, 256), (3, 6, 3), (2, 4, 8), 6)
    ddr_slim = partial(ddrnet, 32, 128, 64, 19, 160, 320)
    tst = partial(patchtst, 336, 21, 128, 16, 256, 3, 96)
    return [
        ("edgenext", "edgenext_xxs_256", partial(edge_xxs, 256, 256), _image(256)),
        ("yamnet", "yamnet_mbv1_96x64", partial(yamnet, 521), (1, 1, 96, 64)),
        ("bcresnet", "bcresnet8_40x101", partial(bc_resnet, 64, 12), (1, 1, 40, 101)),
        ("crepe", "crepe_small_1024", partial(crepe, 8), (1, 1024)),
        ("svtr", "svtr_t_32x100", svtr_t, _image(32, 100)),
        (
            "yunet",
            "yunet_n_480x640",
            partial(yunet, (16, 64, 64, 64, 64, 64), 64),
            _image(480, 640),
        ),
        ("superpoint", "superpoint_96x128", partial(superpoint, 96, 128), (1, 1, 96, 128)),
        ("ddrnet", "ddrnet23_slim_160x320", ddr_slim, _image(160, 320)),
        ("osnet", "osnet_x1.0_256x128", partial(osnet, (64, 256, 384, 512), 512), _image(256, 128)),
        ("taesd", "taesd_decoder_8x8", partial(taesd_decoder, 64, 4), (1, 4, 8, 8)),
        ("imdn", "imdn_x4_32x48", partial(imdn, 64, 6, 4), _image(32, 48)),
        ("aodnet", "aod_net_240x320", aod_net, _image(240, 320)),
        ("dqn", "nature_dqn_atari_84", partial(nature_dqn, 18), (1, 4, 84, 84)),
        ("impala", "impala_cnn_procgen_64", partial(impala_cnn, (16, 32, 32), 256, 15), _image(64)),
        ("patchtst", "patchtst_weather_336x21", tst, (1, 336, 21)),
        ("din", "din_amazon_h100_c64", partial(din, 63001, 801, 64, 100), (1, 164, 2)),
        ("schnet", "schnet_qm9_29atoms", partial(schnet, 128, 50, 6, 10.0, 100), (1, 29, 4)),
        (
            "timesformer",
            "timesformer_d192_l4_8x96",
            partial(timesformer, 8, 96, 16, 192, 3, 4, 400),
            (1, 3, 8, 96, 96),
        ),
        (
            "mobilebert",
            "mobilebert_s32",
            partial(mobilebert, 128, 512, 128, 4, 24, 32),
            (1, 32, 128),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet18_w64_192x160",
            partial(resnet, (2, 2, 2, 2), 64, False),
            _image(192, 160),
        ),
        ("mobilenetv2", "mbv2_x1.0_224", partial(mobilenet, _MBV2, 1.0, False), _image(224)),
        ("mobilenetv3", "mbv3_x0.75_64x48", partial(mobilenet, _MBV3, 0.75, True), _image(64, 48)),
        (
            "shufflenetv2",
            "shufflev2_x0.5_48x64",
            partial(shufflenet, (48, 96, 192)),
            _image(48, 64),
        ),
        ("efficientnet", "effnet_b0_288x224", partial(efficientnet, 1.0, 1.0), _image(288, 224)),
        (
            "vit",
            "vit_s_d384_l12_96x128",
            partial(vit_rect, 96, 128, 16, 384, 6, 12),
            _image(96, 128),
        ),
        ("text", "bert_d384_l12_s32", partial(text_encoder, 384, 12, 12), (1, 32, 384)),
        (
            "llama",
            "llama2c_d512_l8_s16",
            partial(llama, 512, 8, 8, 8, 1376, 16, 32000),
            (1, 16, 512),
        ),
        ("pointnet", "pointnet_cls10_512", partial(pointnet, 10), (1, 3, 512)),
        ("yolo", "yolov8s_csp_w32_160x288", partial(yolo_csp, 32, (1, 2, 2, 1)), _image(160, 288)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the tenth zoo."""
    return _new_families() + _known_families()
