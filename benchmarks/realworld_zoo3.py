"""A third held-out zoo of real-world architectures (plain torch), written after the
second zoo (benchmarks/realworld_zoo2.py) had been scored.

Like the second, it is written, committed and then scored once with the kernel predictor
frozen; nothing in the library is fitted, tuned or chosen on it. Half of it is families
neither earlier zoo has (an Xception-like separable net, ResNeXt, SE-ResNet, an HRNet-like
two-resolution net, an FPN detector neck, a YOLO-like CSP backbone, MobileViT-like,
PoolFormer, a GPT-like causal decoder, Conformer blocks, a QuartzNet-like 1-D separable
ASR net, EfficientNetV2-like fused MBConvs, ESPCN super-resolution and a convolutional
autoencoder); the other half is the earlier zoos' families at sizes, sequence lengths and
resolutions neither has (some non-square, some very small, some larger).

``zoo()`` lists ``(family, name, builder, input shape)`` like the other zoos'.
"""

from __future__ import annotations

from typing import Any

from realworld_zoo import (
    _MBV2,
    Builder,
    _cbr,
    _encoder_layer,
    _inverted,
    _nn,
    audio1d,
    convnext,
    efficientnet,
    mobilenet,
    resnet,
    shufflenet,
    text_encoder,
)
from realworld_zoo2 import _bn1, regnet, unet


def _sep(cin: int, cout: int) -> Any:
    """A depthwise-separable conv: depthwise 3x3, then 1x1 conv and BN."""
    nn = _nn()
    return nn.Sequential(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), _cbr(cin, cout, 1))


def xception(width: int, middle: int) -> Any:
    """Xception-like: an entry flow of strided residual blocks of separable convs (ReLU
    before each, a max pool, a strided 1x1 shortcut), a middle flow of ``middle`` residual
    blocks of three separable convs at 1/16 scale, an exit flow. ``width`` is the stem's
    channels (32 in Xception; every other width scales with it)."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, reps: int, s: int) -> None:
            super().__init__()
            parts: list[Any] = []
            for i in range(reps):
                parts += [nn.ReLU(), _sep(cin if i == 0 else cout, cout)]
            if s == 2:
                parts.append(nn.MaxPool2d(3, 2, 1))
            self.f = nn.Sequential(*parts)
            self.short = _cbr(cin, cout, 1, s) if (s != 1 or cin != cout) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.f(x) + self.short(x)

    def c(n: int) -> int:
        return n * width // 32

    layers: list[Any] = [_cbr(3, c(32), 3, 2, act=nn.ReLU), _cbr(c(32), c(64), 3, act=nn.ReLU)]
    layers += [Block(c(64), c(128), 2, 2), Block(c(128), c(256), 2, 2)]
    layers += [Block(c(256), c(728), 2, 2)]
    layers += [Block(c(728), c(728), 3, 1) for _ in range(middle)]
    layers += [Block(c(728), c(1024), 2, 2), _sep(c(1024), c(1536)), nn.ReLU()]
    layers += [_sep(c(1536), c(2048)), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(c(2048), 1000))
    return nn.Sequential(*layers)


def resnext(depths: tuple[int, ...], width: int, cardinality: int, group_width: int) -> Any:
    """ResNeXt-50-like: bottlenecks whose 3x3 conv has ``cardinality`` groups of
    ``group_width`` channels (doubling per stage) and whose output is 4x ``width``
    (doubling per stage); ResNeXt-50 32x4d is ``((3, 4, 6, 3), 64, 32, 4)``."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, mid: int, cout: int, s: int) -> None:
            super().__init__()
            self.body = nn.Sequential(
                _cbr(cin, mid, 1, act=nn.ReLU),
                _cbr(mid, mid, 3, s, g=cardinality, act=nn.ReLU),
                _cbr(mid, cout, 1),
            )
            self.short = _cbr(cin, cout, 1, s) if (s != 1 or cin != cout) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[Any] = [_cbr(3, width, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = width
    for i, n in enumerate(depths):
        mid, cout = cardinality * group_width * 2**i, 4 * width * 2**i
        for j in range(n):
            layers.append(Block(cin, mid, cout, 2 if (j == 0 and i > 0) else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def se_resnet(depths: tuple[int, ...], width: int) -> Any:
    """SE-ResNet-like (basic blocks): each residual branch is rescaled by a
    squeeze-and-excitation gate (global pool, 1x1 down by 16 with ReLU, 1x1 up, sigmoid)
    before the shortcut is added."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, c: int, s: int) -> None:
            super().__init__()
            self.body = nn.Sequential(_cbr(cin, c, 3, s, act=nn.ReLU), _cbr(c, c, 3))
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Conv2d(c, max(8, c // 16), 1),
                nn.ReLU(),
                nn.Conv2d(max(8, c // 16), c, 1),
                nn.Sigmoid(),
            )
            self.short = _cbr(cin, c, 1, s) if (s != 1 or cin != c) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return torch.relu(y * self.se(y) + self.short(x))

    layers: list[Any] = [_cbr(3, width, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = width
    for i, n in enumerate(depths):
        for j in range(n):
            layers.append(Block(cin, width * 2**i, 2 if (j == 0 and i > 0) else 1))
            cin = width * 2**i
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def hrnet(width: int, units: int, blocks: int, joints: int) -> Any:
    """HRNet-like, two branches: a stride-4 stem, then ``units`` exchange units in which a
    stride-4 branch (``width`` channels) and a stride-8 branch (twice as many) each run
    ``blocks`` residual blocks and then swap information (1x1 conv + nearest upsample into
    the high branch, strided 3x3 conv into the low one); a 1x1 heatmap head (``joints``
    maps, as in pose estimation) on the high branch."""
    import torch

    nn = _nn()

    class Basic(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.f = nn.Sequential(_cbr(c, c, 3, act=nn.ReLU), _cbr(c, c, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(x + self.f(x))

    class Unit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hi = nn.Sequential(*[Basic(width) for _ in range(blocks)])
            self.lo = nn.Sequential(*[Basic(2 * width) for _ in range(blocks)])
            self.up = nn.Sequential(_cbr(2 * width, width, 1), nn.Upsample(scale_factor=2))
            self.down = _cbr(width, 2 * width, 3, 2)

        def forward(self, hi: torch.Tensor, lo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            hi, lo = self.hi(hi), self.lo(lo)
            return torch.relu(hi + self.up(lo)), torch.relu(lo + self.down(hi))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                _cbr(3, 64, 3, 2, act=nn.ReLU),
                _cbr(64, 64, 3, 2, act=nn.ReLU),
                _cbr(64, width, 1, act=nn.ReLU),
            )
            self.to_lo = _cbr(width, 2 * width, 3, 2, act=nn.ReLU)
            self.units = nn.ModuleList(Unit() for _ in range(units))
            self.head = nn.Conv2d(width, joints, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            hi = self.stem(x)
            lo = self.to_lo(hi)
            for unit in self.units:
                hi, lo = unit(hi, lo)
            return self.head(hi)

    return Net()


def fpn_detector(width: int, neck: int, outputs: int) -> Any:
    """An FPN detector (RetinaNet-like): the first zoo's ResNet-18-like backbone read at
    strides 8, 16 and 32, 1x1 laterals to ``neck`` channels, a top-down path of nearest
    upsampling + add, 3x3 output convs, and a shared 3x3 head of ``outputs`` channels
    whose per-level maps are flattened and concatenated into one output."""
    import torch

    nn = _nn()

    class FPN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            body = resnet((2, 2, 2, 2), width, False)
            self.c3, self.c4, self.c5 = body[:6], body[6:8], body[8:10]
            chans = (2 * width, 4 * width, 8 * width)
            self.lateral = nn.ModuleList(nn.Conv2d(c, neck, 1) for c in chans)
            self.smooth = nn.ModuleList(nn.Conv2d(neck, neck, 3, 1, 1) for _ in chans)
            self.up = nn.Upsample(scale_factor=2)
            self.head = nn.Sequential(
                _cbr(neck, neck, 3, act=nn.ReLU), nn.Conv2d(neck, outputs, 3, 1, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c3 = self.c3(x)
            c4 = self.c4(c3)
            c5 = self.c5(c4)
            p5 = self.lateral[2](c5)
            p4 = self.lateral[1](c4) + self.up(p5)
            p3 = self.lateral[0](c3) + self.up(p4)
            levels = zip(self.smooth, (p3, p4, p5), strict=True)
            return torch.cat([self.head(conv(p)).flatten(2) for conv, p in levels], 2)

    return FPN()


def yolo_csp(width: int, depths: tuple[int, ...]) -> Any:
    """A YOLOv8-like CSP backbone: strided 3x3 conv-BN-SiLU downsamples, C2f blocks (a 1x1
    conv split in two halves, a chain of residual bottlenecks on one, every partial output
    concatenated and fused by a 1x1 conv) and an SPPF (three chained 5x5 max pools,
    concatenated); the stride-32 feature map out."""
    import torch

    nn = _nn()

    class Bottleneck(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.f = nn.Sequential(_cbr(c, c, 3, act=nn.SiLU), _cbr(c, c, 3, act=nn.SiLU))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.f(x)

    class C2f(nn.Module):
        def __init__(self, c: int, n: int) -> None:
            super().__init__()
            self.cv1 = _cbr(c, c, 1, act=nn.SiLU)
            self.m = nn.ModuleList(Bottleneck(c // 2) for _ in range(n))
            self.cv2 = _cbr((2 + n) * (c // 2), c, 1, act=nn.SiLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ys = list(self.cv1(x).chunk(2, 1))
            for m in self.m:
                ys.append(m(ys[-1]))
            return self.cv2(torch.cat(ys, 1))

    class SPPF(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.cv1 = _cbr(c, c // 2, 1, act=nn.SiLU)
            self.pool = nn.MaxPool2d(5, 1, 2)
            self.cv2 = _cbr(2 * c, c, 1, act=nn.SiLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = self.cv1(x)
            b = self.pool(a)
            c = self.pool(b)
            return self.cv2(torch.cat([a, b, c, self.pool(c)], 1))

    layers: list[Any] = [_cbr(3, width, 3, 2, act=nn.SiLU)]
    c = width
    for n in depths:
        layers += [_cbr(c, 2 * c, 3, 2, act=nn.SiLU), C2f(2 * c, n)]
        c *= 2
    layers.append(SPPF(c))
    return nn.Sequential(*layers)


def _mobilevit_block(c: int, d: int, layers: int) -> Any:
    """MobileViT's block: a 3x3 and a 1x1 conv to ``d`` channels, 2x2 patches unfolded into
    4 token sequences for ``layers`` transformer layers (the first zoo's), folded back,
    projected to ``c``, concatenated with the input and fused by a 3x3 conv."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.local = nn.Sequential(_cbr(c, c, 3, act=nn.SiLU), nn.Conv2d(c, d, 1, bias=False))
            self.blocks = nn.Sequential(*[_encoder_layer(d, 4, 2 * d) for _ in range(layers)])
            self.norm = nn.LayerNorm(d)
            self.proj = _cbr(d, c, 1, act=nn.SiLU)
            self.fuse = _cbr(2 * c, c, 3, act=nn.SiLU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.local(x)
            b, _, h, w = y.shape
            y = y.reshape(b, d, h // 2, 2, w // 2, 2).permute(0, 3, 5, 2, 4, 1)
            y = self.norm(self.blocks(y.reshape(b * 4, h * w // 4, d)))
            y = y.reshape(b, 2, 2, h // 2, w // 2, d).permute(0, 5, 3, 1, 4, 2)
            return self.fuse(torch.cat([x, self.proj(y.reshape(b, d, h, w))], 1))

    return Block()


def mobilevit(chans: tuple[int, ...], dims: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """MobileViT-like: a stride-2 stem and MobileNetV2 blocks (expansion 2, SiLU; the first
    zoo's) over ``chans`` (five stages), the last three stages each a strided MV2 block and
    a MobileViT block of ``dims[i]`` channels and ``depths[i]`` transformer layers."""
    nn = _nn()
    c0, c1, c2, c3, c4 = chans
    layers: list[Any] = [_cbr(3, 16, 3, 2, act=nn.SiLU), _inverted(16, c0, 3, 1, 2, nn.SiLU, None)]
    layers += [_inverted(c0, c1, 3, 2, 2, nn.SiLU, None), _inverted(c1, c1, 3, 1, 2, nn.SiLU, None)]
    c = c1
    for cout, d, n in zip((c2, c3, c4), dims, depths, strict=True):
        layers += [_inverted(c, cout, 3, 2, 2, nn.SiLU, None), _mobilevit_block(cout, d, n)]
        c = cout
    layers += [_cbr(c, 4 * c, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(4 * c, 1000))
    return nn.Sequential(*layers)


def poolformer(dims: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    """PoolFormer (MetaFormer): a 7x7 stride-4 patch embedding, blocks whose token mixer is
    a 3x3 average pool minus its input (a group norm before each half, a 1x1-conv MLP with
    GELU), 3x3 stride-2 convs between stages."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.n1, self.n2 = nn.GroupNorm(1, d), nn.GroupNorm(1, d)
            self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
            self.mlp = nn.Sequential(nn.Conv2d(d, 4 * d, 1), nn.GELU(), nn.Conv2d(4 * d, d, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.n1(x)
            x = x + self.pool(y) - y
            return x + self.mlp(self.n2(x))

    layers: list[Any] = [nn.Conv2d(3, dims[0], 7, 4, 2)]
    for i, (d, n) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers.append(nn.Conv2d(dims[i - 1], d, 3, 2, 1))
        layers += [Block(d) for _ in range(n)]
    layers += [nn.GroupNorm(1, dims[-1]), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(dims[-1], 1000))
    return nn.Sequential(*layers)


def _attention(d: int, heads: int, causal: int) -> Any:
    """Multi-head self-attention on (1, T, d); with ``causal`` = T > 0, a constant
    upper-triangular -inf mask (a buffer) is added to the scores."""
    import torch

    nn = _nn()

    class Attention(nn.Module):
        mask: torch.Tensor | None

        def __init__(self) -> None:
            super().__init__()
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            mask = torch.full((causal, causal), float("-inf")).triu(1) if causal else None
            self.register_buffer("mask", mask)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            q, k, v = self.qkv(x).reshape(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
            s = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5)
            if self.mask is not None:
                s = s + self.mask
            return self.proj((torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, d))

    return Attention()


def gpt(d: int, heads: int, layers: int, seq: int, vocab: int) -> Any:
    """A GPT-like decoder on (1, seq, d) token embeddings: learned positions, pre-norm
    blocks of causal self-attention (a constant mask) and a GELU MLP, a final layer norm
    and a vocabulary head over every position."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = _attention(d, heads, seq)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.n1(x))
            return x + self.mlp(self.n2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(1, seq, d))
            self.blocks = nn.Sequential(*[Layer() for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.norm(self.blocks(x + self.pos)))

    return GPT()


def conformer(d: int, heads: int, layers: int, k: int) -> Any:
    """Conformer-like blocks on (1, T, d) features: a half-step feed-forward (SiLU),
    self-attention, a convolution module (1x1 to 2d, GLU, depthwise 1-D conv of kernel
    ``k``, BN, SiLU, 1x1), a second half-step feed-forward, a final layer norm."""
    import torch

    nn = _nn()

    def ffn() -> Any:
        return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))

    class ConvModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pre = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GLU(-1))
            self.dw = nn.Sequential(nn.Conv1d(d, d, k, 1, k // 2, groups=d), _bn1(d), nn.SiLU())
            self.post = nn.Linear(d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.dw(self.pre(x).transpose(1, 2))
            return self.post(y.transpose(1, 2))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ff1, self.ff2 = ffn(), ffn()
            self.norm, self.attn = nn.LayerNorm(d), _attention(d, heads, 0)
            self.conv, self.out = ConvModule(), nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + 0.5 * self.ff1(x)
            x = x + self.attn(self.norm(x))
            x = x + self.conv(x)
            return self.out(x + 0.5 * self.ff2(x))

    return nn.Sequential(nn.Linear(d, d), *[Block() for _ in range(layers)])


def quartznet(mels: int, chans: tuple[int, ...], kernels: tuple[int, ...], repeats: int) -> Any:
    """QuartzNet/MatchboxNet-like on (1, mels, T) features: a strided time-channel
    separable prologue, blocks of ``repeats`` separable convs (depthwise 1-D conv of kernel
    ``kernels[i]``, pointwise conv, BN, ReLU) with a residual 1x1 conv + BN, a dilated
    separable epilogue, and per-frame logits of 29 characters (CTC)."""
    import torch

    nn = _nn()

    def sep(cin: int, cout: int, k: int, s: int = 1, dil: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv1d(cin, cin, k, s, dil * (k // 2), dilation=dil, groups=cin, bias=False),
            nn.Conv1d(cin, cout, 1, bias=False),
            _bn1(cout),
        )

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, k: int) -> None:
            super().__init__()
            parts: list[Any] = []
            for r in range(repeats):
                parts.append(sep(cin if r == 0 else cout, cout, k))
                if r < repeats - 1:
                    parts.append(nn.ReLU())
            self.f = nn.Sequential(*parts)
            self.short = nn.Sequential(nn.Conv1d(cin, cout, 1, bias=False), _bn1(cout))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.f(x) + self.short(x))

    layers: list[Any] = [sep(mels, chans[0], kernels[0], 2), nn.ReLU()]
    c = chans[0]
    for cout, k in zip(chans[1:-1], kernels[1:-1], strict=True):
        layers.append(Block(c, cout, k))
        c = cout
    layers += [sep(c, chans[-1], kernels[-1], dil=2), nn.ReLU()]
    layers += [nn.Conv1d(chans[-1], 2 * chans[-1], 1, bias=False), _bn1(2 * chans[-1])]
    layers += [nn.ReLU(), nn.Conv1d(2 * chans[-1], 29, 1)]
    return nn.Sequential(*layers)


def efficientnet_v2(width: float, depth: float) -> Any:
    """EfficientNetV2-like (B0 rows): fused-MBConv early (a plain 3x3 expansion conv, then
    a 1x1 projection; one 3x3 conv when the expansion is 1), MBConv with SE later (the
    first zoo's inverted residual), a 1x1 head conv of 1280."""
    import torch

    nn = _nn()

    class Fused(nn.Module):
        def __init__(self, cin: int, cout: int, s: int, e: int) -> None:
            super().__init__()
            if e == 1:
                self.f = _cbr(cin, cout, 3, s, act=nn.SiLU)
            else:
                self.f = nn.Sequential(
                    _cbr(cin, cin * e, 3, s, act=nn.SiLU), _cbr(cin * e, cout, 1)
                )
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    rows = [(True, 1, 16, 1, 1), (True, 4, 32, 2, 2), (True, 4, 48, 2, 2)]
    rows += [(False, 4, 96, 3, 2), (False, 6, 112, 5, 1), (False, 6, 192, 8, 2)]
    c = int(32 * width)
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.SiLU)]
    for fused, e, ch, n, s in rows:
        cout = int(ch * width)
        for i in range(max(1, round(n * depth))):
            stride = s if i == 0 else 1
            if fused:
                layers.append(Fused(c, cout, stride, e))
            else:
                layers.append(_inverted(c, cout, 3, stride, e, nn.SiLU, nn.Sigmoid))
            c = cout
    layers += [_cbr(c, 1280, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1280, 1000))
    return nn.Sequential(*layers)


def espcn(scale: int, width: int) -> Any:
    """ESPCN super-resolution: a 5x5 and a 3x3 conv with tanh, a 3x3 conv to
    3 * scale^2 channels and a PixelShuffle (ONNX DepthToSpace) to the upscaled image."""
    nn = _nn()
    return nn.Sequential(
        nn.Conv2d(3, width, 5, 1, 2),
        nn.Tanh(),
        nn.Conv2d(width, width // 2, 3, 1, 1),
        nn.Tanh(),
        nn.Conv2d(width // 2, 3 * scale**2, 3, 1, 1),
        nn.PixelShuffle(scale),
    )


def conv_autoencoder(width: int, latent: int, res: int) -> Any:
    """A convolutional autoencoder: three 4x4 stride-2 conv-BN-ReLU downsamples, a linear
    bottleneck of ``latent``, and a ConvTranspose2d decoder (4x4, stride 2) back to a
    sigmoid image of ``res`` x ``res``."""
    import torch

    nn = _nn()
    side, top = res // 8, 4 * width

    def down(cin: int, cout: int) -> list[Any]:
        return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    def up(cin: int, cout: int) -> list[Any]:
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    class AE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(
                *down(3, width), *down(width, 2 * width), *down(2 * width, top)
            )
            self.to_z = nn.Linear(top * side * side, latent)
            self.from_z = nn.Linear(latent, top * side * side)
            self.dec = nn.Sequential(
                *up(top, 2 * width),
                *up(2 * width, width),
                nn.ConvTranspose2d(width, 3, 4, 2, 1),
                nn.Sigmoid(),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = self.to_z(self.enc(x).flatten(1))
            return self.dec(torch.relu(self.from_z(z)).reshape(-1, top, side, side))

    return AE()


def vit_rect(h: int, w: int, patch: int, d: int, heads: int, layers: int) -> Any:
    """The first zoo's ViT on an ``h`` x ``w`` image: (h/patch) * (w/patch) tokens."""
    import torch

    nn = _nn()

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.pos = nn.Parameter(torch.zeros(1, (h // patch) * (w // patch), d))
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.blocks(x)).mean(1))

    return ViT()


def _image(h: int, w: int | None = None) -> tuple[int, ...]:
    return (1, 3, h, h if w is None else w)


def _new_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The models of families neither earlier zoo has."""
    return [
        ("xception", "xception_w16_m6_128", lambda: xception(16, 6), _image(128)),
        (
            "resnext",
            "resnext50_32x2d_112",
            lambda: resnext((3, 4, 6, 3), 32, 32, 2),
            _image(112),
        ),
        ("seresnet", "se_resnet34_w32_128", lambda: se_resnet((3, 4, 6, 3), 32), _image(128)),
        ("hrnet", "hrnet_w32_128x96", lambda: hrnet(32, 3, 2, 17), _image(128, 96)),
        ("fpn", "fpn_r18w32_160x256", lambda: fpn_detector(32, 64, 75), _image(160, 256)),
        ("yolo", "yolov8n_csp_256x320", lambda: yolo_csp(16, (1, 2, 2, 1)), _image(256, 320)),
        (
            "mobilevit",
            "mobilevit_xxs_192",
            lambda: mobilevit((16, 24, 48, 64, 80), (64, 80, 96), (2, 4, 3)),
            _image(192),
        ),
        (
            "poolformer",
            "poolformer_s8_128",
            lambda: poolformer((48, 96, 192, 384), (2, 2, 4, 2)),
            _image(128),
        ),
        ("gpt", "gpt_d256_s128", lambda: gpt(256, 4, 4, 128, 4096), (1, 128, 256)),
        ("conformer", "conformer_d144_t200", lambda: conformer(144, 4, 4, 31), (1, 200, 144)),
        (
            "asr1d",
            "quartznet_c192_t400",
            lambda: quartznet(64, (128, 128, 128, 192, 192, 256), (11, 13, 15, 17, 21, 29), 3),
            (1, 64, 400),
        ),
        ("efficientnetv2", "effnetv2_b0_160", lambda: efficientnet_v2(1.0, 1.0), _image(160)),
        ("superres", "espcn_x3_96", lambda: espcn(3, 64), _image(96)),
        ("autoencoder", "conv_ae_w32_64", lambda: conv_autoencoder(32, 128, 64), _image(64)),
    ]


def _known_families() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """The earlier zoos' families at sizes and resolutions neither has."""
    return [
        (
            "resnet",
            "resnet50_w32_96x160",
            lambda: resnet((3, 4, 6, 3), 32, True),
            _image(96, 160),
        ),
        ("resnet", "resnet10_w16_64", lambda: resnet((1, 1, 1, 1), 16, False), _image(64)),
        (
            "mobilenetv2",
            "mbv2_x0.35_64x256",
            lambda: mobilenet(_MBV2, 0.35, False),
            _image(64, 256),
        ),
        ("efficientnet", "effnet_x1.1_112x192", lambda: efficientnet(1.1, 1.2), _image(112, 192)),
        ("shufflenetv2", "shufflev2_x1.5_112", lambda: shufflenet((176, 352, 704)), _image(112)),
        (
            "convnext",
            "convnext_p_128x192",
            lambda: convnext((40, 80, 160, 320), (2, 2, 6, 2)),
            _image(128, 192),
        ),
        ("vit", "vit_d256_128x224", lambda: vit_rect(128, 224, 16, 256, 4, 8), _image(128, 224)),
        ("text", "bert_d768_s16", lambda: text_encoder(768, 12, 2), (1, 16, 768)),
        ("text", "bert_d192_s384", lambda: text_encoder(192, 3, 2), (1, 384, 192)),
        (
            "regnet",
            "regnetx_800mf_112x192",
            lambda: regnet((64, 128, 288, 672), (1, 3, 7, 5), 16),
            _image(112, 192),
        ),
        ("unet", "unet_w12_96x160", lambda: unet(12, 3), _image(96, 160)),
        ("audio", "audio1d_w24_12k", lambda: audio1d(24, 5), (1, 1, 12000)),
    ]


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the third zoo."""
    return _new_families() + _known_families()
