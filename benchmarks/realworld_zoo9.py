"""A ninth held-out zoo of real-world architectures (plain torch), written after the
eighth zoo (benchmarks/realworld_zoo8.py), before any prediction of it.

Like the second to eighth, it is committed and then scored once with the kernel
predictor frozen; nothing in the library is fitted, tuned or chosen on it. More than half
of it is families none of the eight earlier zoos has, across tasks: EfficientViT's
multi-scale ReLU linear attention (classification), MobileFaceNet's global depthwise conv
and PReLUs (face recognition), Segment Anything's prompt mask decoder (two-way
transformer, transposed-conv upscaling, hypernetwork masks; segmentation), RTMPose-t's
CSPNeXt backbone and SimCC head with a gated attention unit (pose), Monodepth2's
reflection-padded ELU decoder on a ResNet-18 (depth), Zero-DCE++'s curve estimation and
iterated pixel curves (low-light restoration), DBNet's text detector on a MobileNetV3-
Large (OCR), ECAPA-TDNN's SE-Res2 1-D blocks and attentive statistics pooling (speaker
embedding), RNNoise's GRUs (speech enhancement), a llama2.c-like Llama decoder with
RMSNorm, rotary positions, grouped-query attention and SwiGLU, an LSTM keyboard language
model (text), DCN-V2's cross network on embedding gathers (recommendation), a dense GAT
(graph), PointPillars' pillar scatter and BEV detector (point cloud), TSM's temporal
shifts on a MobileNetV2 run over the frames as a batch (video) and a StyleGAN2 generator
of modulated convs whose weights are computed at run time (generative); the other part is
the earlier zoos' families at widths, depths, sequence lengths and input shapes none of
them has (several non-square, two tiny, some large). Every input has batch size 1.

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from realworld_zoo import _MBV2, Builder, _cbr, _nn, efficientnet, mobilenet, resnet, text_encoder
from realworld_zoo3 import _image, conformer, gpt, hrnet, vit_rect, yolo_csp
from realworld_zoo4 import swin
from realworld_zoo6 import dgcnn
from realworld_zoo7 import _mlp


def _residual(f: Any) -> Any:
    """``f`` with its input added to its output."""
    import torch

    nn = _nn()

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = f

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    return Residual()


def _layernorm2d(c: int) -> Any:
    """A layer norm over the channels of a (1, ``c``, h, w) map (mean and variance over
    dim 1, a per-channel scale and shift), as SAM and ConvNeXt write it."""
    import torch

    nn = _nn()

    class LayerNorm2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w, self.b = nn.Parameter(torch.ones(c, 1, 1)), nn.Parameter(torch.zeros(c, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mu = x.mean(1, keepdim=True)
            var = (x - mu).pow(2).mean(1, keepdim=True)
            return self.w * (x - mu) / (var + 1e-6).sqrt() + self.b

    return LayerNorm2d()


def _evit_mb(cin: int, cout: int, s: int, fewer_norm: bool) -> Any:
    """EfficientViT's MBConv: a 1x1 expansion to 4 ``cin`` and a 3x3 depthwise conv of
    stride ``s`` (hardswish each; BN each, or biases and no BN when ``fewer_norm``), a 1x1
    projection with BN; residual when the shape allows."""
    import torch

    nn = _nn()
    mid = 4 * cin

    def conv(a: int, b: int, k: int, st: int, g: int, norm: bool, act: bool) -> Any:
        layers = [nn.Conv2d(a, b, k, st, k // 2, groups=g, bias=not norm)]
        layers += [nn.BatchNorm2d(b)] if norm else []
        return nn.Sequential(*layers, *([nn.Hardswish()] if act else []))

    class MBConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                conv(cin, mid, 1, 1, 1, not fewer_norm, True),
                conv(mid, mid, 3, s, mid, not fewer_norm, True),
                conv(mid, cout, 1, 1, 1, True, False),
            )
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    return MBConv()


def _lite_mla(c: int, dim: int) -> Any:
    """EfficientViT's LiteMLA on a (1, ``c``, h, w) map: a 1x1 conv to q, k, v of ``c``
    / ``dim`` heads of ``dim``; a multi-scale branch of them (a 5x5 depthwise conv and a
    grouped 1x1 conv, one group a head's q, k or v) doubling the heads; per head ReLU
    linear attention (ReLU'd q and k, v padded with a column of ones, q (k^T v), divided
    by its last column); a 1x1 conv-BN projection."""
    import torch

    nn = _nn()
    heads = c // dim

    class LiteMLA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Conv2d(c, 3 * c, 1, bias=False)
            self.aggreg = nn.Sequential(
                nn.Conv2d(3 * c, 3 * c, 5, 1, 2, groups=3 * c, bias=False),
                nn.Conv2d(3 * c, 3 * c, 1, groups=3 * heads, bias=False),
            )
            self.proj = nn.Sequential(nn.Conv2d(2 * c, c, 1, bias=False), nn.BatchNorm2d(c))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, _, h, w = x.shape
            qkv = self.qkv(x)
            qkv = torch.cat([qkv, self.aggreg(qkv)], 1).reshape(b, -1, 3 * dim, h * w)
            qkv = qkv.transpose(-1, -2)
            q, k, v = qkv[..., :dim], qkv[..., dim : 2 * dim], qkv[..., 2 * dim :]
            q, k = torch.relu(q), torch.relu(k)
            v = nn.functional.pad(v, (0, 1), value=1.0)
            out = q @ (k.transpose(-1, -2) @ v)
            out = out[..., :-1] / (out[..., -1:] + 1e-15)
            return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))

    return LiteMLA()


def efficientvit(
    widths: tuple[int, ...], depths: tuple[int, ...], dim: int, head: tuple[int, int]
) -> Any:
    """EfficientViT-B (Cai et al., ICCV 2023): a 3x3 stride-2 conv-BN-hardswish stem and
    ``depths[0]`` residual depthwise-separable convs; two stages of MBConvs (BN,
    hardswish); two stages of a strided MBConv (fewer norms) then ``depths[i]``
    EfficientViT blocks (a residual LiteMLA and a residual MBConv); a 1x1 conv-BN-hardswish
    to ``head[0]``, pooling, a linear layer to ``head[1]`` with layer norm and hardswish,
    and a classifier. EfficientViT-B1 is ``((16, 32, 64, 128, 256), (1, 2, 3, 3, 4), 16,
    (1536, 1600))``."""
    nn = _nn()
    c = widths[0]
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.Hardswish)]
    for _ in range(depths[0]):
        layers.append(_residual(nn.Sequential(_cbr(c, c, 3, g=c, act=nn.Hardswish), _cbr(c, c, 1))))
    for i in (1, 2):
        for j in range(depths[i]):
            layers.append(_evit_mb(c, widths[i], 2 if j == 0 else 1, False))
            c = widths[i]
    for i in (3, 4):
        layers.append(_evit_mb(c, widths[i], 2, True))
        c = widths[i]
        for _ in range(depths[i]):
            layers += [_residual(_lite_mla(c, dim)), _evit_mb(c, c, 1, True)]
    layers += [_cbr(c, head[0], 1, act=nn.Hardswish), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Linear(head[0], head[1], bias=False), nn.LayerNorm(head[1]), nn.Hardswish()]
    layers.append(nn.Linear(head[1], 1000))
    return nn.Sequential(*layers)


_MFN = [(2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)]


def mobilefacenet(rows: list[tuple[int, int, int, int]], side: int, emb: int) -> Any:
    """MobileFaceNet (Chen et al., 2018) on a ``side`` x ``side`` aligned face: a 3x3
    stride-2 conv and a 3x3 depthwise conv to 64 (BN, PReLU), bottlenecks of ``rows``
    (expansion, width, repeats, stride; a 1x1 expansion and a 3x3 depthwise conv with
    BN-PReLUs, a linear 1x1 projection, residual where the shape allows), a 1x1 conv to
    512 (BN, PReLU), the global depthwise conv (a valid ``side``/16 depthwise conv, BN), a
    linear 1x1 conv to ``emb`` (BN) and the L2-normalised embedding. The paper's is
    ``(_MFN, 112, 128)``."""
    import torch

    nn = _nn()

    def prelu(c: int) -> Any:
        return partial(nn.PReLU, c)

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, cout: int, s: int, e: int) -> None:
            super().__init__()
            mid = cin * e
            self.f = nn.Sequential(
                _cbr(cin, mid, 1, act=prelu(mid)),
                _cbr(mid, mid, 3, s, g=mid, act=prelu(mid)),
                _cbr(mid, cout, 1),
            )
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    class MobileFaceNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [
                _cbr(3, 64, 3, 2, act=prelu(64)),
                _cbr(64, 64, 3, g=64, act=prelu(64)),
            ]
            c = 64
            for e, w, n, s in rows:
                for i in range(n):
                    layers.append(Bottleneck(c, w, s if i == 0 else 1, e))
                    c = w
            k = side // 16
            layers += [_cbr(c, 512, 1, act=prelu(512))]
            layers += [nn.Conv2d(512, 512, k, groups=512, bias=False), nn.BatchNorm2d(512)]
            layers += [nn.Conv2d(512, emb, 1, bias=False), nn.BatchNorm2d(emb), nn.Flatten()]
            self.body = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.normalize(self.body(x), dim=1)

    return MobileFaceNet()


def _sam_attention(d: int, heads: int, inner: int) -> Any:
    """SAM's attention: q, k and v linear projections to ``inner`` (``heads`` heads),
    scaled dot-product softmax attention, an output projection back to ``d``."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(d, inner) for _ in range(3))
            self.out = nn.Linear(inner, d)

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            b, nq, _ = q.shape
            nk = k.shape[1]
            q = self.q(q).reshape(b, nq, heads, -1).transpose(1, 2)
            k = self.k(k).reshape(b, nk, heads, -1).transpose(1, 2)
            v = self.v(v).reshape(b, nk, heads, -1).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(-1, -2) * (inner // heads) ** -0.5, dim=-1)
            return self.out((a @ v).transpose(1, 2).reshape(b, nq, inner))

    return Attention()


def _two_way_block(d: int, heads: int, mlp: int, first: bool) -> Any:
    """SAM's two-way attention block on prompt tokens q and image tokens k (with their
    positional encodings added to queries and keys): token self-attention (replacing the
    tokens, without positions, in the first block), token-to-image cross-attention (at
    half width), a ReLU MLP of ``mlp`` on the tokens, image-to-token cross-attention (half
    width) on the image; residuals and a layer norm after each."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self_attn = _sam_attention(d, heads, d)
            self.t2i, self.i2t = _sam_attention(d, heads, d // 2), _sam_attention(d, heads, d // 2)
            self.n1, self.n2, self.n3, self.n4 = (nn.LayerNorm(d) for _ in range(4))
            self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.ReLU(), nn.Linear(mlp, d))

        def forward(
            self, q: torch.Tensor, k: torch.Tensor, qpe: torch.Tensor, kpe: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            if first:
                q = self.n1(self.self_attn(q, q, q))
            else:
                x = q + qpe
                q = self.n1(q + self.self_attn(x, x, q))
            q = self.n2(q + self.t2i(q + qpe, k + kpe, k))
            q = self.n3(q + self.mlp(q))
            k = self.n4(k + self.i2t(k + kpe, q + qpe, q))
            return q, k

    return Block()


def sam_decoder(d: int, heads: int, depth: int, points: int, h: int, w: int) -> Any:
    """Segment Anything's mask decoder (Kirillov et al., 2023; the part SAM exports to
    ONNX and runs per prompt) on (1, ``d``, ``h``, ``w``) image embeddings: the no-mask
    dense prompt embedding added, the image's positional encoding (a constant), an IoU
    token, 4 mask tokens and ``points`` point-prompt tokens (constants here); ``depth``
    two-way blocks and a final token-to-image attention; the image upscaled by two 2x2
    stride-2 transposed convs (channel layer norm, GELUs) to ``d``/8 channels; per mask
    token a 3-layer hypernetwork MLP whose output weights the upscaled map's channels; the
    three multimask outputs bilinearly upsampled to the image's size (16 ``h`` x 16 ``w``)
    and the IoU head's 3 scores, flattened and concatenated. SAM's is ``(256, 8, 2, 2, 64,
    64)``."""
    import torch

    nn = _nn()

    def head(out: int) -> Any:
        return nn.Sequential(*_mlp((d, d, d)), nn.Linear(d, out))

    class MaskDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.no_mask = nn.Parameter(torch.randn(1, d, 1, 1))
            self.pe = nn.Parameter(torch.randn(1, h * w, d))
            self.tokens = nn.Parameter(torch.randn(1, 5 + points, d))
            self.blocks = nn.ModuleList(
                _two_way_block(d, heads, 8 * d, i == 0) for i in range(depth)
            )
            self.final, self.norm = _sam_attention(d, heads, d // 2), nn.LayerNorm(d)
            self.up = nn.Sequential(
                *(nn.ConvTranspose2d(d, d // 4, 2, 2), _layernorm2d(d // 4), nn.GELU()),
                *(nn.ConvTranspose2d(d // 4, d // 8, 2, 2), nn.GELU()),
            )
            self.hyper = nn.ModuleList(head(d // 8) for _ in range(4))
            self.iou = head(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            k = (x + self.no_mask).flatten(2).transpose(1, 2)
            q = qpe = self.tokens
            for block in self.blocks:
                q, k = block(q, k, qpe, self.pe)
            q = self.norm(q + self.final(q + qpe, k + self.pe, k))
            up = self.up(k.transpose(1, 2).reshape(1, d, h, w))
            hyper = torch.stack([mlp(q[:, 1 + i]) for i, mlp in enumerate(self.hyper)], 1)
            masks = (hyper @ up.flatten(2)).reshape(1, 4, 4 * h, 4 * w)[:, 1:]
            masks = nn.functional.interpolate(
                masks, (16 * h, 16 * w), mode="bilinear", align_corners=False
            )
            return torch.cat([masks.flatten(1), self.iou(q[:, 0])[:, 1:]], 1)

    return MaskDecoder()


def _cspnext_layer(c: int, n: int, identity: bool, spp: bool) -> Any:
    """CSPNeXt's CSP layer (with an SPP bottleneck before it when ``spp``: a 1x1 conv to
    half, max pools of 5, 9 and 13 concatenated with it, a 1x1 conv back): 1x1 main and
    short convs to ``c``/2, ``n`` CSPNeXt blocks on the main one (a 3x3 conv and a 5x5
    depthwise-separable conv, BN-SiLU each; residual when ``identity``), the two
    concatenated, channel attention (pooling, a 1x1 conv, hardsigmoid, a product) and a
    1x1 conv; every conv BN-SiLU."""
    import torch

    nn = _nn()
    silu, mid = nn.SiLU, c // 2

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = nn.Sequential(
                _cbr(mid, mid, 3, act=silu),
                _cbr(mid, mid, 5, g=mid, act=silu),
                _cbr(mid, mid, 1, act=silu),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x) if identity else self.f(x)

    class SPP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = _cbr(c, mid, 1, act=silu), _cbr(4 * mid, c, 1, act=silu)
            self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.a(x)
            return self.b(torch.cat([x, *(pool(x) for pool in self.pools)], 1))

    class CSP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.spp = SPP() if spp else nn.Identity()
            self.main, self.short = _cbr(c, mid, 1, act=silu), _cbr(c, mid, 1, act=silu)
            self.blocks = nn.Sequential(*[Block() for _ in range(n)])
            self.att = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1), nn.Hardsigmoid())
            self.final = _cbr(c, c, 1, act=silu)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.spp(x)
            y = torch.cat([self.blocks(self.main(x)), self.short(x)], 1)
            return self.final(y * self.att(y))

    return CSP()


def _scale_norm(d: int) -> Any:
    """RTMPose's ScaleNorm: the input over its L2 norm (times ``d``^-1/2, at least 1e-5)
    times a learned scalar."""
    import torch

    nn = _nn()

    class ScaleNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.g = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * d**-0.5
            return x / norm.clamp(min=1e-5) * self.g

    return ScaleNorm()


def _gau(d: int, e: int, s: int) -> Any:
    """RTMPose's gated attention unit on (1, tokens, ``d``): ScaleNorm, a bias-free linear
    layer to u and v (``e`` each) and a shared base (``s``), SiLU; q and k per-dimension
    scalings and offsets of the base; the squared ReLU of q k^T / sqrt(``s``) times v,
    gated by u, projected back to ``d``; a learned per-channel scaling of the input
    added."""
    import torch

    nn = _nn()

    class GAU(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm, self.uv = _scale_norm(d), nn.Linear(d, 2 * e + s, bias=False)
            self.gamma, self.beta = nn.Parameter(torch.rand(2, s)), nn.Parameter(torch.zeros(2, s))
            self.o, self.scale = nn.Linear(e, d, bias=False), nn.Parameter(torch.ones(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            u, v, base = nn.functional.silu(self.uv(self.norm(x))).split([e, e, s], -1)
            q, k = (base.unsqueeze(2) * self.gamma + self.beta).unbind(2)
            kernel = torch.relu(q @ k.transpose(-1, -2) / math.sqrt(s)).square()
            return x * self.scale + self.o(u * (kernel @ v))

    return GAU()


def rtmpose(
    stem: int, widths: tuple[int, ...], depths: tuple[int, ...], joints: int, h: int, w: int
) -> Any:
    """RTMPose (Jiang et al., 2023) top-down pose on an ``h`` x ``w`` person crop: the
    CSPNeXt backbone (three 3x3 conv-BN-SiLU stem convs, the first stride 2, to ``stem``;
    per stage a 3x3 stride-2 conv to ``widths[i]`` and a CSP layer of ``depths[i]``
    blocks, the last with SPP and without residuals) and the SimCC head: a 7x7 conv to
    ``joints`` maps, each flattened to a token, ScaleNorm and a linear layer to 256, a
    gated attention unit (e 512, s 128) over the joints, and linear x and y classifiers
    over 2 ``w`` and 2 ``h`` bins, concatenated. RTMPose-t is ``(24, (48, 96, 192, 384),
    (1, 1, 1, 1), 17, 256, 192)``."""
    import torch

    nn = _nn()
    silu = nn.SiLU

    class RTMPose(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [
                _cbr(3, stem // 2, 3, 2, act=silu),
                _cbr(stem // 2, stem // 2, 3, act=silu),
            ]
            layers.append(_cbr(stem // 2, stem, 3, act=silu))
            c = stem
            for i, (wd, n) in enumerate(zip(widths, depths, strict=True)):
                last = i == len(widths) - 1
                layers += [_cbr(c, wd, 3, 2, act=silu), _cspnext_layer(wd, n, not last, last)]
                c = wd
            self.backbone = nn.Sequential(*layers)
            self.final = nn.Conv2d(c, joints, 7, 1, 3)
            tokens = (h // 32) * (w // 32)
            self.mlp = nn.Sequential(_scale_norm(tokens), nn.Linear(tokens, 256, bias=False))
            self.gau = _gau(256, 512, 128)
            self.x, self.y = nn.Linear(256, 2 * w, bias=False), nn.Linear(256, 2 * h, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.gau(self.mlp(self.final(self.backbone(x)).flatten(2)))
            return torch.cat([self.x(y), self.y(y)], -1)

    return RTMPose()


def monodepth2(width: int, dec: tuple[int, ...]) -> Any:
    """Monodepth2 (Godard et al., ICCV 2019) on an image of sides divisible by 32: the
    input normalised, the first zoo's ResNet-18 of ``width`` read at strides 2 to 32, and
    the depth decoder: per level from the coarsest a reflection-padded 3x3 conv (ELU) to
    ``dec[i]``, nearest x2 upsampling, the encoder's map of the next stride concatenated
    and a second such conv; a reflection-padded 3x3 conv and a sigmoid to the full-
    resolution disparity (the scale used at inference). Monodepth2's is ``(64, (16, 32,
    64, 128, 256))`` on 192 x 640."""
    import torch

    nn = _nn()
    f = nn.functional
    enc = (width, width, 2 * width, 4 * width, 8 * width)

    def conv(a: int, b: int) -> Any:
        return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(a, b, 3), nn.ELU())

    class Monodepth2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = resnet((2, 2, 2, 2), width, False)
            self.enc = nn.ModuleList([body[0], body[1:4], body[4:6], body[6:8], body[8:10]])
            self.up0 = nn.ModuleList(
                conv(enc[4] if i == 4 else dec[i + 1], dec[i]) for i in range(5)
            )
            self.up1 = nn.ModuleList(
                conv(dec[i] + (enc[i - 1] if i else 0), dec[i]) for i in range(5)
            )
            self.disp = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dec[0], 1, 3), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x, feats = (x - 0.45) / 0.225, []
            for stage in self.enc:
                x = stage(x)
                feats.append(x)
            for i in range(4, -1, -1):
                x = f.interpolate(self.up0[i](x), scale_factor=2.0, mode="nearest")
                x = self.up1[i](torch.cat([x, feats[i - 1]], 1) if i else x)
            return self.disp(x)

    return Monodepth2()


def zero_dce(width: int, scale: int, iters: int) -> Any:
    """Zero-DCE++ (Li, Guo and Loy, TPAMI 2021) low-light enhancement: the image
    bilinearly downscaled by ``scale``; seven depthwise-separable 3x3 convs of ``width``
    (ReLU; the fifth to seventh on the concatenated outputs of the third and fourth, the
    second and fifth, the first and sixth) to a tanh curve map of 3 channels, bilinearly
    upscaled back; the pixel curve x + a (x^2 - x) applied ``iters`` times at full
    resolution. Zero-DCE++ is ``(32, 12, 8)`` on large photos."""
    import torch

    nn = _nn()
    f = nn.functional

    def conv(a: int, b: int) -> Any:
        return nn.Sequential(nn.Conv2d(a, a, 3, 1, 1, groups=a), nn.Conv2d(a, b, 1))

    class ZeroDCE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ins = (3, width, width, width, 2 * width, 2 * width, 2 * width)
            self.convs = nn.ModuleList(conv(a, 3 if i == 6 else width) for i, a in enumerate(ins))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = f.interpolate(x, scale_factor=1 / scale, mode="bilinear") if scale > 1 else x
            x1 = torch.relu(self.convs[0](y))
            x2 = torch.relu(self.convs[1](x1))
            x3 = torch.relu(self.convs[2](x2))
            x4 = torch.relu(self.convs[3](x3))
            x5 = torch.relu(self.convs[4](torch.cat([x3, x4], 1)))
            x6 = torch.relu(self.convs[5](torch.cat([x2, x5], 1)))
            r = torch.tanh(self.convs[6](torch.cat([x1, x6], 1)))
            if scale > 1:
                r = f.interpolate(r, scale_factor=float(scale), mode="bilinear", align_corners=True)
            for _ in range(iters):
                x = x + r * (x * x - x)
            return x

    return ZeroDCE()


def _div8(v: float) -> int:
    """``v`` rounded to a multiple of 8 (at least 8, never below 90% of ``v``), as
    MobileNets round scaled widths."""
    out = max(8, int(v + 4) // 8 * 8)
    return out + 8 if out < 0.9 * v else out


def _mbv3_block(cin: int, mid: int, cout: int, k: int, s: int, se: bool, hs: bool) -> Any:
    """MobileNetV3's block as PaddleOCR writes it: a 1x1 expansion to ``mid`` and a ``k``
    x ``k`` depthwise conv of stride ``s`` (BN, ReLU or hardswish each), squeeze-excitation
    to a quarter (ReLU, hardsigmoid) when ``se``, a 1x1 projection (BN); residual when the
    shape allows."""
    import torch

    nn = _nn()
    act = nn.Hardswish if hs else nn.ReLU

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            parts = [_cbr(cin, mid, 1, act=act), _cbr(mid, mid, k, s, g=mid, act=act)]
            self.f = nn.Sequential(*parts)
            self.se = (
                nn.Sequential(
                    *(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, mid // 4, 1), nn.ReLU()),
                    *(nn.Conv2d(mid // 4, mid, 1), nn.Hardsigmoid()),
                )
                if se
                else None
            )
            self.proj = _cbr(mid, cout, 1)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            y = self.proj(y * self.se(y) if self.se is not None else y)
            return x + y if self.res else y

    return Block()


#: MobileNetV3-Large's blocks: (kernel, expansion width, width, SE, hardswish, stride).
_MBV3_LARGE = [(3, 16, 16, False, False, 1), (3, 64, 24, False, False, 2)]
_MBV3_LARGE += [(3, 72, 24, False, False, 1), (5, 72, 40, True, False, 2)]
_MBV3_LARGE += [(5, 120, 40, True, False, 1), (5, 120, 40, True, False, 1)]
_MBV3_LARGE += [(3, 240, 80, False, True, 2), (3, 200, 80, False, True, 1)]
_MBV3_LARGE += [(3, 184, 80, False, True, 1), (3, 184, 80, False, True, 1)]
_MBV3_LARGE += [(3, 480, 112, True, True, 1), (3, 672, 112, True, True, 1)]
_MBV3_LARGE += [(5, 672, 160, True, True, 2), (5, 960, 160, True, True, 1)]
_MBV3_LARGE += [(5, 960, 160, True, True, 1)]


def dbnet(scale: float, neck: int) -> Any:
    """DBNet (Liao et al., AAAI 2020) text detection as PaddleOCR's PP-OCR mobile detector
    runs it, on an image of sides divisible by 32: a MobileNetV3-Large of width ``scale``
    (a 3x3 stride-2 conv-BN-hardswish, the blocks, a 1x1 conv-BN-hardswish to 960
    ``scale`` at the end) read before each later stride-2 block and at the end (strides 4
    to 32); DBFPN (1x1 convs to ``neck``, a top-down path of nearest x2 upsampling and
    adds, 3x3 convs to ``neck``/4, upsampled to stride 4 and concatenated) and the
    probability head (a 3x3 conv-BN-ReLU to ``neck``/4, a 2x2 stride-2 transposed conv-BN-
    ReLU, a 2x2 stride-2 transposed conv to one map, sigmoid) at full resolution.
    PP-OCR's mobile detector is ``(0.5, 96)``."""
    import torch

    nn = _nn()
    f = nn.functional

    class DBNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = _div8(16 * scale)
            stages: list[list[Any]] = [[_cbr(3, c, 3, 2, act=nn.Hardswish)]]
            chans = []
            for i, (k, e, w, se, hs, s) in enumerate(_MBV3_LARGE):
                if s == 2 and i > 2:
                    chans.append(c)
                    stages.append([])
                stages[-1].append(_mbv3_block(c, _div8(e * scale), _div8(w * scale), k, s, se, hs))
                c = _div8(w * scale)
            stages[-1].append(_cbr(c, _div8(960 * scale), 1, act=nn.Hardswish))
            chans.append(_div8(960 * scale))
            self.stages = nn.ModuleList(nn.Sequential(*st) for st in stages)
            self.ins = nn.ModuleList(nn.Conv2d(ch, neck, 1, bias=False) for ch in chans)
            self.ps = nn.ModuleList(nn.Conv2d(neck, neck // 4, 3, 1, 1, bias=False) for _ in chans)
            q = neck // 4
            self.head = nn.Sequential(
                *(_cbr(neck, q, 3, act=nn.ReLU), nn.ConvTranspose2d(q, q, 2, 2), nn.BatchNorm2d(q)),
                *(nn.ReLU(), nn.ConvTranspose2d(q, 1, 2, 2), nn.Sigmoid()),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = []
            for stage, conv in zip(self.stages, self.ins, strict=True):
                x = stage(x)
                feats.append(conv(x))
            for i in (2, 1, 0):
                feats[i] = feats[i] + f.interpolate(feats[i + 1], scale_factor=2.0, mode="nearest")
            outs = [
                f.interpolate(p(m), scale_factor=float(2**i), mode="nearest") if i else p(m)
                for i, (p, m) in enumerate(zip(self.ps, feats, strict=True))
            ]
            return self.head(torch.cat(outs[::-1], 1))

    return DBNet()


def _tdnn(cin: int, cout: int, k: int = 1, d: int = 1) -> Any:
    """SpeechBrain's TDNN block: a 1-D conv of kernel ``k`` and dilation ``d`` (reflect-
    padded to the same length), ReLU, BN."""
    nn = _nn()
    pad = d * (k - 1) // 2
    conv = nn.Conv1d(cin, cout, k, 1, pad, dilation=d, padding_mode="reflect" if pad else "zeros")
    return nn.Sequential(conv, nn.ReLU(), nn.BatchNorm1d(cout))


def _se_res2(c: int, d: int, scale: int, se: int) -> Any:
    """ECAPA-TDNN's SE-Res2Block: a 1x1 TDNN, a Res2Net block (the channels in ``scale``
    groups; each group after the first through a 3-tap TDNN of dilation ``d``, from the
    second on with the previous group's output added), a 1x1 TDNN, squeeze-excitation
    (time mean, 1x1 convs to ``se`` with ReLU and back with sigmoid, a product); residual."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.t1, self.t2 = _tdnn(c, c), _tdnn(c, c)
            self.res2 = nn.ModuleList(_tdnn(c // scale, c // scale, 3, d) for _ in range(scale - 1))
            self.se = nn.Sequential(
                nn.Conv1d(c, se, 1), nn.ReLU(), nn.Conv1d(se, c, 1), nn.Sigmoid()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            parts = self.t1(x).chunk(scale, 1)
            outs = [parts[0]]
            for i, conv in enumerate(self.res2):
                outs.append(conv(parts[i + 1] if i == 0 else parts[i + 1] + outs[-1]))
            y = self.t2(torch.cat(outs, 1))
            return x + y * self.se(y.mean(2, keepdim=True))

    return Block()


def ecapa_tdnn(mels: int, c: int, dils: tuple[int, ...], att: int, emb: int) -> Any:
    """ECAPA-TDNN (Desplanques et al., Interspeech 2020) speaker embedding on (1, ``mels``,
    frames) filterbanks: a 5-tap TDNN to ``c``, SE-Res2Blocks of dilations ``dils`` (scale
    8, SE 128), their outputs concatenated and fused by a 1x1 TDNN; attentive statistics
    pooling with global context (each frame with the mean and standard deviation over time
    through a 1x1 TDNN to ``att``, tanh and a 1x1 conv to per-channel scores, a softmax
    over time; the weighted mean and standard deviation), BN and a 1x1 conv to ``emb``.
    SpeechBrain's VoxCeleb model is ``(80, 1024, (2, 3, 4), 128, 192)``."""
    import torch

    nn = _nn()
    m = c * len(dils)

    def stats(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = (w * x).sum(2, keepdim=True)
        return mu, ((w * (x - mu).pow(2)).sum(2, keepdim=True).clamp(min=1e-12)).sqrt()

    class ECAPA(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = _tdnn(mels, c, 5)
            self.blocks = nn.ModuleList(_se_res2(c, d, 8, 128) for d in dils)
            self.mfa = _tdnn(m, m)
            self.att = nn.Sequential(_tdnn(3 * m, att), nn.Tanh(), nn.Conv1d(att, m, 1))
            self.bn, self.fc = nn.BatchNorm1d(2 * m), nn.Conv1d(2 * m, emb, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x, outs = self.first(x), []
            for block in self.blocks:
                x = block(x)
                outs.append(x)
            x = self.mfa(torch.cat(outs, 1))
            t = x.shape[2]
            mu, sd = stats(x, torch.full_like(x[:, :1], 1.0 / t))
            ctx = torch.cat([x, mu.expand(-1, -1, t), sd.expand(-1, -1, t)], 1)
            mu, sd = stats(x, torch.softmax(self.att(ctx), dim=2))
            return self.fc(self.bn(torch.cat([mu, sd], 1))).flatten(1)

    return ECAPA()


def rnnoise(features: int, bands: int) -> Any:
    """RNNoise (Valin, MMSP 2018) speech enhancement on (1, frames, ``features``) per-frame
    features: a tanh dense layer to 24, a GRU of 24 (the voice activity one), a GRU of 48
    on the dense output, that GRU and the input, a GRU of 96 on the first GRU, the second
    and the input; sigmoid dense layers to ``bands`` band gains and to the voice activity,
    concatenated per frame. (torch's GRUs are tanh ones where RNNoise's two later GRUs use
    ReLU.) RNNoise is ``(42, 22)``."""
    import torch

    nn = _nn()

    class RNNoise(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dense = nn.Linear(features, 24)
            self.vad = nn.GRU(24, 24, batch_first=True)
            self.noise = nn.GRU(48 + features, 48, batch_first=True)
            self.denoise = nn.GRU(72 + features, 96, batch_first=True)
            self.gains, self.vad_out = nn.Linear(96, bands), nn.Linear(24, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = torch.tanh(self.dense(x))
            v = self.vad(a)[0]
            n = self.noise(torch.cat([a, v, x], -1))[0]
            d = self.denoise(torch.cat([v, n, x], -1))[0]
            return torch.cat([torch.sigmoid(self.gains(d)), torch.sigmoid(self.vad_out(v))], -1)

    return RNNoise()


def _rms_norm(d: int) -> Any:
    """RMSNorm: the input times the reciprocal root of its mean square (plus 1e-5) times
    a learned per-channel weight."""
    import torch

    nn = _nn()

    class RMSNorm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w

    return RMSNorm()


def _llama_layer(d: int, heads: int, kv: int, ffn: int, seq: int) -> Any:
    """A Llama decoder layer on (1, ``seq``, ``d``): RMSNorm, bias-free q (``heads``
    heads) and k, v (``kv`` heads) projections, rotary positions on q and k (constant
    cos/sin tables; the halves rotated), each k, v head repeated for its group of q heads,
    causal softmax attention (a constant mask), an output projection, a residual; RMSNorm,
    a SwiGLU MLP of ``ffn`` (SiLU(gate) times up, down), a residual."""
    import torch

    nn = _nn()
    hd = d // heads
    inv = 10000.0 ** (-torch.arange(0, hd, 2).float() / hd)
    angle = torch.arange(seq)[:, None].float() * inv[None]
    angle = torch.cat([angle, angle], -1)

    def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    class Layer(nn.Module):
        cos: torch.Tensor
        sin: torch.Tensor
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("cos", angle.cos())
            self.register_buffer("sin", angle.sin())
            self.register_buffer("mask", torch.full((seq, seq), float("-inf")).triu(1))
            self.n1, self.n2 = _rms_norm(d), _rms_norm(d)
            self.q, self.o = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
            self.k, self.v = nn.Linear(d, kv * hd, bias=False), nn.Linear(d, kv * hd, bias=False)
            self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
            self.down = nn.Linear(ffn, d, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            h = self.n1(x)
            q = rope(self.q(h).reshape(b, t, heads, hd).transpose(1, 2), self.cos, self.sin)
            k = rope(self.k(h).reshape(b, t, kv, hd).transpose(1, 2), self.cos, self.sin)
            v = self.v(h).reshape(b, t, kv, hd).transpose(1, 2)
            k = k[:, :, None].expand(b, kv, heads // kv, t, hd).reshape(b, heads, t, hd)
            v = v[:, :, None].expand(b, kv, heads // kv, t, hd).reshape(b, heads, t, hd)
            a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5 + self.mask, dim=-1)
            x = x + self.o((a @ v).transpose(1, 2).reshape(b, t, d))
            h = self.n2(x)
            return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))

    return Layer()


def llama(d: int, heads: int, kv: int, layers: int, ffn: int, seq: int, vocab: int) -> Any:
    """A Llama decoder (Touvron et al., 2023) prefilling (1, ``seq``, ``d``) token
    embeddings: ``layers`` decoder layers (RMSNorm, rotary positions, grouped-query
    attention of ``heads`` q and ``kv`` k/v heads, SwiGLU of ``ffn``), a final RMSNorm and a
    bias-free vocabulary head over every position. llama2.c's stories15M is ``(288, 6, 6,
    6, 768, 256, 32000)``."""
    nn = _nn()
    blocks = [_llama_layer(d, heads, kv, ffn, seq) for _ in range(layers)]
    return nn.Sequential(*blocks, _rms_norm(d), nn.Linear(d, vocab, bias=False))


def lstm_lm(embed: int, hidden: int, vocab: int) -> Any:
    """A keyboard next-word LSTM language model (Hard et al., 2018, federated Gboard) on
    (1, words, ``embed``) word embeddings: an LSTM of ``hidden`` units, a linear
    projection back to ``embed`` and the output layer tied to the ``vocab`` x ``embed``
    input embedding (a linear layer), logits at every position. Gboard's is ``(96, 670,
    10000)``, but a CIFG (coupled input-forget gate) LSTM recurring on its projection;
    this one is ONNX's LSTM op, which has neither, so it recurs on its ``hidden`` units."""
    import torch

    nn = _nn()

    class LSTMLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(embed, hidden, batch_first=True)
            self.proj, self.out = nn.Linear(hidden, embed), nn.Linear(embed, vocab)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.proj(self.lstm(x)[0]))

    return LSTMLM()


def dcn_v2(dense: int, tables: int, rows: int, dim: int, cross: int, deep: tuple[int, ...]) -> Any:
    """DCN-V2 (Wang et al., WWW 2021), stacked, scoring (1, candidates, ``dense`` +
    ``tables``) feature rows of one request: the dense features with ``tables``
    embeddings of ``dim`` (ids read as the seventh zoo's DLRM reads them, one gather from
    the stacked tables) as x0; ``cross`` full-rank cross layers x0 * (W x + b) + x; a ReLU
    MLP of ``deep``; a linear layer and a sigmoid per candidate. Criteo's 13 dense and 26
    categorical features make it ``(13, 26, ...)``."""
    import torch

    nn = _nn()
    d0 = dense + tables * dim

    class DCNv2(nn.Module):
        offsets: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Parameter(torch.randn(tables * rows, dim) * 0.01)
            self.register_buffer("offsets", torch.arange(tables) * rows)
            self.cross = nn.ModuleList(nn.Linear(d0, d0) for _ in range(cross))
            self.deep = nn.Sequential(*_mlp((d0, *deep)), nn.Linear(deep[-1], 1), nn.Sigmoid())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ids = torch.remainder((x[..., dense:].abs() * 1000).long(), rows) + self.offsets
            x0 = torch.cat([x[..., :dense], self.emb[ids].flatten(-2)], -1)
            y = x0
            for layer in self.cross:
                y = x0 * layer(y) + y
            return self.deep(y)

    return DCNv2()


def _gat_layer(fin: int, fout: int, heads: int, concat: bool) -> Any:
    """A GAT layer on (n, ``fin``) node features and an (n, n) additive mask (0 on edges,
    -1e9 elsewhere): a bias-free linear layer to ``heads`` x ``fout``; per head the
    LeakyReLU(0.2) of every pair's source and target attention scores (two per-head
    vectors), the mask added, a softmax over the neighbours and the features averaged by
    it; the heads concatenated (ELU) or averaged, plus a bias."""
    import torch

    nn = _nn()

    class GATLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Linear(fin, heads * fout, bias=False)
            self.src, self.dst = (
                nn.Parameter(torch.randn(heads, 1, fout)),
                nn.Parameter(torch.randn(heads, 1, fout)),
            )
            self.bias = nn.Parameter(torch.zeros(heads * fout if concat else fout))

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            n = x.shape[0]
            z = self.w(x).reshape(n, heads, fout).transpose(0, 1)
            e = (z * self.src).sum(-1, keepdim=True) + (z * self.dst).sum(-1).unsqueeze(1)
            y = torch.softmax(nn.functional.leaky_relu(e, 0.2) + mask, dim=-1) @ z
            if concat:
                return nn.functional.elu(y.transpose(0, 1).reshape(n, heads * fout) + self.bias)
            return y.mean(0) + self.bias

    return GATLayer()


def gat(nodes: int, features: int, hidden: int, heads: int, classes: int, degree: int) -> Any:
    """A two-layer GAT (Velickovic et al., ICLR 2018) on (1, ``nodes``, ``features``) node
    features over a fixed random graph of about ``degree`` neighbours a node (with
    self-loops) held as a dense additive mask: ``heads`` heads of ``hidden`` concatenated
    (ELU), then ``heads`` output heads of ``classes`` averaged; a log softmax per node.
    The paper's PubMed model is ``(19717, 500, 8, 8, 3, ...)``."""
    import torch

    nn = _nn()
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(nodes, nodes, generator=g) < degree / 2 / nodes).float()
    a = (a + a.T + torch.eye(nodes)) > 0

    class GAT(nn.Module):
        mask: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mask", torch.zeros(nodes, nodes).masked_fill(~a, -1e9))
            self.l1 = _gat_layer(features, hidden, heads, True)
            self.l2 = _gat_layer(heads * hidden, classes, heads, False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.l2(self.l1(x[0], self.mask), self.mask)
            return torch.log_softmax(y, dim=-1)[None]

    return GAT()


def pointpillars(pillars: int, c: int, grid: int, anchors: int, classes: int) -> Any:
    """PointPillars (Lang et al., CVPR 2019) on (1, 9, ``pillars``, points) pillar point
    features: the pillar feature net (a 1x1 conv-BN-ReLU to ``c``, a max over the points),
    each pillar's vector scattered into a ``grid`` x ``grid`` BEV canvas at its (here
    fixed, random) cell; a backbone of three blocks (a 3x3 stride-2 conv and 3, 5, 5 more
    3x3 convs, BN-ReLU, of ``c``, 2 ``c``, 4 ``c``), each transposed-conv upsampled (1x1,
    2x2 stride 2, 4x4 stride 4; BN-ReLU) to 2 ``c`` at stride 2 and concatenated; an SSD
    head of 1x1 convs to ``anchors`` x ``classes`` scores, 7 box and 2 direction values
    per anchor, flattened and concatenated. KITTI's has up to 12,000 pillars of 100 points,
    ``c`` 64, a 432 x 496 canvas, 6 anchors and 3 classes."""
    import torch

    nn = _nn()
    relu = nn.ReLU

    class PointPillars(nn.Module):
        cells: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.register_buffer("cells", torch.randperm(grid * grid, generator=g)[:pillars])
            self.pfn = _cbr(9, c, 1, act=relu)
            self.blocks, self.ups = nn.ModuleList(), nn.ModuleList()
            cin = c
            for i, (n, w) in enumerate(((3, c), (5, 2 * c), (5, 4 * c))):
                layers = [_cbr(cin, w, 3, 2, act=relu)] + [
                    _cbr(w, w, 3, act=relu) for _ in range(n)
                ]
                self.blocks.append(nn.Sequential(*layers))
                up = nn.ConvTranspose2d(w, 2 * c, 2**i, 2**i, bias=False)
                self.ups.append(nn.Sequential(up, nn.BatchNorm2d(2 * c), relu()))
                cin = w
            self.heads = nn.ModuleList(nn.Conv2d(6 * c, anchors * k, 1) for k in (classes, 7, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = self.pfn(x).amax(3)
            canvas = torch.zeros(1, c, grid * grid)
            canvas[:, :, self.cells] = feats
            y, outs = canvas.reshape(1, c, grid, grid), []
            for block, up in zip(self.blocks, self.ups, strict=True):
                y = block(y)
                outs.append(up(y))
            y = torch.cat(outs, 1)
            return torch.cat([head(y).flatten(2) for head in self.heads], 1)

    return PointPillars()


def _temporal_shift(x: Any, frames: int) -> Any:
    """TSM's shift on an (n ``frames``, c, h, w) batch of frames: an eighth of the
    channels taken from the next frame, an eighth from the previous one (zeros at the
    ends), the rest unchanged."""
    import torch

    nt, c, h, w = x.shape
    f = c // 8
    x = x.reshape(nt // frames, frames, c, h, w)
    zero = torch.zeros(nt // frames, 1, f, h, w)
    ahead = torch.cat([x[:, 1:, :f], zero], 1)
    behind = torch.cat([zero, x[:, :-1, f : 2 * f]], 1)
    return torch.cat([ahead, behind, x[:, :, 2 * f :]], 2).reshape(nt, c, h, w)


def tsm(width: float, frames: int, classes: int) -> Any:
    """TSM (Lin, Gan and Han, ICCV 2019), offline, on a MobileNetV2 of ``width`` over a
    (1, ``frames``, 3, h, w) clip: the frames run as a batch through the first zoo's
    MobileNetV2 layout (ReLU6), every residual inverted bottleneck with an expansion
    shifting an eighth of its input channels forward and an eighth backward in time
    before its expansion; per-frame logits averaged over the frames. TSM's MobileNetV2
    models are ``(1.0, 8, classes)``; its Jetson Nano demo tells Jester's 27 gestures."""
    import torch

    nn = _nn()
    act = nn.ReLU6

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int, e: int) -> None:
            super().__init__()
            mid = cin * e
            parts = [_cbr(cin, mid, 1, act=act)] if e != 1 else []
            parts += [_cbr(mid, mid, 3, s, g=mid, act=act), _cbr(mid, cout, 1)]
            self.f = nn.Sequential(*parts)
            self.res, self.shift = s == 1 and cin == cout, s == 1 and cin == cout and e != 1

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(_temporal_shift(x, frames) if self.shift else x)
            return x + y if self.res else y

    class TSM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = int(32 * width)
            layers: list[Any] = [_cbr(3, c, 3, 2, act=act)]
            for e, ch, n, s, _, _ in _MBV2:
                for i in range(n):
                    layers.append(Block(c, int(ch * width), s if i == 0 else 1, e))
                    c = int(ch * width)
            last = max(1280, int(1280 * width))
            layers += [_cbr(c, last, 1, act=act), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            self.body = nn.Sequential(*layers, nn.Linear(last, classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x.flatten(0, 1))
            return y.reshape(1, frames, classes).mean(1)

    return TSM()


def _modulated_conv(cin: int, cout: int, k: int, wdim: int, demod: bool, up: bool) -> Any:
    """StyleGAN2's modulated conv: a ``k`` x ``k`` weight scaled per input channel by an
    affine map of the style w (a linear layer), demodulated (each output filter over its
    root sum of squares) when ``demod``, applied as a conv whose weight is computed at run
    time; with ``up``, a stride-2 transposed conv then a 4x4 [1, 3, 3, 1] blur (a fixed
    depthwise conv)."""
    import torch

    nn = _nn()
    f = nn.functional
    fir = torch.tensor([1.0, 3.0, 3.0, 1.0])
    blur = (fir[:, None] * fir[None, :] / 16).expand(cout, 1, 4, 4).clone()

    class ModConv(nn.Module):
        blur: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(cout, cin, k, k) / math.sqrt(cin * k * k))
            self.affine = nn.Linear(wdim, cin)
            self.register_buffer("blur", blur)

        def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            wt = self.weight * self.affine(w).reshape(1, cin, 1, 1)
            if demod:
                wt = wt * torch.rsqrt(wt.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8)
            if not up:
                return f.conv2d(x, wt, padding=k // 2)
            y = f.conv_transpose2d(x, wt.transpose(0, 1), stride=2)
            return f.conv2d(y, self.blur, padding=1, groups=cout)

    return ModConv()


def _styled_layer(cin: int, cout: int, wdim: int, up: bool, res: int) -> Any:
    """A StyleGAN2 synthesis layer at ``res`` x ``res``: a demodulated 3x3 modulated conv
    (upsampling when ``up``), scaled constant noise (noise mode 'const'), a bias and
    LeakyReLU(0.2) times sqrt 2."""
    import torch

    nn = _nn()

    class Styled(nn.Module):
        noise: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.conv = _modulated_conv(cin, cout, 3, wdim, True, up)
            self.register_buffer("noise", torch.randn(1, 1, res, res))
            self.strength, self.bias = (
                nn.Parameter(torch.zeros(1)),
                nn.Parameter(torch.zeros(1, cout, 1, 1)),
            )

        def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            y = self.conv(x, w) + self.strength * self.noise + self.bias
            return nn.functional.leaky_relu(y, 0.2) * math.sqrt(2)

    return Styled()


def _to_rgb(c: int, wdim: int) -> Any:
    """StyleGAN2's ToRGB: a 1x1 modulated conv to RGB (no demodulation) and a bias, plus
    the running image (when there is one) upsampled by a stride-2 transposed conv of the
    fixed [1, 3, 3, 1] filter."""
    import torch

    nn = _nn()
    fir = torch.tensor([1.0, 3.0, 3.0, 1.0])
    fir = (fir[:, None] * fir[None, :] / 16).expand(3, 1, 4, 4).clone()

    class ToRGB(nn.Module):
        fir: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.conv = _modulated_conv(c, 3, 1, wdim, False, False)
            self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
            self.register_buffer("fir", fir)

        def forward(
            self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None
        ) -> torch.Tensor:
            y = self.conv(x, w) + self.bias
            if skip is None:
                return y
            return y + nn.functional.conv_transpose2d(skip, self.fir, stride=2, padding=1, groups=3)

    return ToRGB()


def stylegan2(zdim: int, mapping: int, channels: tuple[int, ...]) -> Any:
    """A StyleGAN2 generator (Karras et al., CVPR 2020; skip architecture) from a (1,
    ``zdim``) latent: the mapping net (the latent pixel-normalised, ``mapping`` linear
    layers with LeakyReLU(0.2)); synthesis from a learned 4 x 4 constant, one styled layer
    at 4 x 4, then per doubling resolution an upsampling styled layer and a styled layer
    of ``channels[i]``; at every resolution a 1x1 modulated conv to RGB (no
    demodulation) added to the running image, itself upsampled by a fixed [1, 3, 3, 1]
    transposed conv. Config-f at 256 x 256 is ``(512, 8, (512, 512, 512, 512, 512, 256,
    128))``."""
    import torch

    nn = _nn()

    class Generator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            for _ in range(mapping):
                layers += [nn.Linear(zdim, zdim), nn.LeakyReLU(0.2)]
            self.mapping = nn.Sequential(*layers)
            self.const = nn.Parameter(torch.randn(1, channels[0], 4, 4))
            self.first, self.rgb0 = (
                _styled_layer(channels[0], channels[0], zdim, False, 4),
                _to_rgb(channels[0], zdim),
            )
            self.convs, self.rgbs = nn.ModuleList(), nn.ModuleList()
            for i, (a, b) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
                res = 8 * 2**i
                self.convs.append(_styled_layer(a, b, zdim, True, res))
                self.convs.append(_styled_layer(b, b, zdim, False, res))
                self.rgbs.append(_to_rgb(b, zdim))

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            w = self.mapping(z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8))
            x = self.first(self.const, w)
            img = self.rgb0(x, w, None)
            for i, rgb in enumerate(self.rgbs):
                x = self.convs[2 * i + 1](self.convs[2 * i](x, w), w)
                img = rgb(x, w, img)
            return img

    return Generator()


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families none of the earlier zoos has."""
    evit_b1 = partial(efficientvit, (16, 32, 64, 128, 256), (1, 2, 3, 3, 4), 16, (1536, 1600))
    rtm_t = partial(rtmpose, 24, (48, 96, 192, 384), (1, 1, 1, 1), 17, 256, 192)
    depth = partial(monodepth2, 32, (8, 16, 32, 64, 128))
    ecapa = partial(ecapa_tdnn, 80, 512, (2, 3, 4), 128, 192)
    dcn = partial(dcn_v2, 13, 26, 1000, 16, 3, (1024, 1024, 512))
    return [
        ("efficientvit", "efficientvit_b1_224", evit_b1, _image(224)),
        ("mobilefacenet", "mobilefacenet_112", partial(mobilefacenet, _MFN, 112, 128), _image(112)),
        (
            "sam",
            "sam_mask_decoder_32x48",
            partial(sam_decoder, 256, 8, 2, 2, 32, 48),
            (1, 256, 32, 48),
        ),
        ("rtmpose", "rtmpose_t_256x192", rtm_t, _image(256, 192)),
        ("monodepth2", "monodepth2_r18w32_128x416", depth, _image(128, 416)),
        ("zerodce", "zero_dce_pp_s4_384x512", partial(zero_dce, 32, 4, 8), _image(384, 512)),
        ("dbnet", "dbnet_ppocr_mbv3l_320x480", partial(dbnet, 0.5, 96), _image(320, 480)),
        ("ecapa", "ecapa_tdnn_c512_80x200", ecapa, (1, 80, 200)),
        ("rnnoise", "rnnoise_200frames", partial(rnnoise, 42, 22), (1, 200, 42)),
        (
            "llama",
            "llama2c_d288_l6_gqa2_s48",
            partial(llama, 288, 6, 2, 6, 768, 48, 32000),
            (1, 48, 288),
        ),
        ("lstmlm", "lstm_lm_gboard_24words", partial(lstm_lm, 96, 670, 10000), (1, 24, 96)),
        ("dcnv2", "dcnv2_criteo_64cands", dcn, (1, 64, 39)),
        ("gat", "gat_pubmed_512nodes", partial(gat, 512, 500, 8, 8, 3, 5), (1, 512, 500)),
        (
            "pointpillars",
            "pointpillars_c32_grid160_3000",
            partial(pointpillars, 3000, 32, 160, 6, 3),
            (1, 9, 3000, 32),
        ),
        ("tsm", "tsm_mbv2_jester_8x112", partial(tsm, 1.0, 8, 27), (1, 8, 3, 112, 112)),
        (
            "stylegan2",
            "stylegan2_64_c256",
            partial(stylegan2, 512, 8, (256, 256, 128, 64, 32)),
            (1, 512),
        ),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at widths, depths and input shapes none of them has."""
    return [
        (
            "resnet",
            "resnet50_w64_96x128",
            partial(resnet, (3, 4, 6, 3), 64, True),
            _image(96, 128),
        ),
        ("mobilenetv2", "mbv2_x0.5_64x96", partial(mobilenet, _MBV2, 0.5, False), _image(64, 96)),
        ("efficientnet", "effnet_b2_192x256", partial(efficientnet, 1.1, 1.2), _image(192, 256)),
        (
            "vit",
            "vit_d128_p8_96x224",
            partial(vit_rect, 96, 224, 8, 128, 4, 6),
            _image(96, 224),
        ),
        ("text", "bert_d512_l2_s192", partial(text_encoder, 512, 8, 2), (1, 192, 512)),
        ("gpt", "gpt_d64_s64_v2000", partial(gpt, 64, 2, 2, 64, 2000), (1, 64, 64)),
        ("conformer", "conformer_d128_l4_t320", partial(conformer, 128, 4, 4, 31), (1, 320, 128)),
        ("yolo", "yolov8_csp_w16_192x640", partial(yolo_csp, 16, (1, 1, 1, 1)), _image(192, 640)),
        ("hrnet", "hrnet_w16_u2_256x192", partial(hrnet, 16, 2, 2, 17), _image(256, 192)),
        (
            "dgcnn",
            "dgcnn_k20_512",
            partial(dgcnn, 512, 20, (64, 64, 128, 256), 1024, 40),
            (1, 3, 512),
        ),
        (
            "swin",
            "swin_d40_w6_192",
            partial(swin, 192, 40, (2, 2, 4, 2), (2, 4, 8, 16), 6),
            _image(192),
        ),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the ninth zoo."""
    return _new_families() + _known_families()
