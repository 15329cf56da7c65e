"""A second held-out zoo of real-world architectures (plain torch), written after the
first zoo (benchmarks/realworld_zoo.py) had been scored too often to stay a test set.

It was written, committed and then scored once with the kernel predictor frozen
(``kernels_context.py --zoo 2``); nothing in the library was fitted, tuned or chosen on
it. Half of it is families the first zoo lacks (RegNet-like grouped bottlenecks,
DenseNet, SqueezeNet, Inception-like branches, GhostNet-like cheap convs, a U-Net with
upsampling, small VGG/CIFAR nets, a dilated 1-D TCN, an M5 audio net, a 1-D ResNet for
ECG, a wav2vec-like feature extractor, a keyword-spotting DS-CNN); the other half is the
first zoo's families at sizes and resolutions it does not have.

``zoo()`` lists ``(family, name, builder, input shape)`` like the first zoo's.
"""

from __future__ import annotations

from typing import Any

from realworld_zoo import (
    _MBV2,
    Builder,
    _cbr,
    _nn,
    convnext,
    efficientnet,
    mixer,
    mobilenet,
    resnet,
    text_encoder,
    vit,
)


def regnet(widths: tuple[int, ...], depths: tuple[int, ...], group_width: int) -> Any:
    """RegNetX-like: stages of bottlenecks (ratio 1) whose 3x3 conv has groups of
    ``group_width`` channels."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            g = max(1, cout // group_width)
            self.body = nn.Sequential(
                _cbr(cin, cout, 1, act=nn.ReLU),
                _cbr(cout, cout, 3, s, g=g, act=nn.ReLU),
                _cbr(cout, cout, 1),
            )
            self.short = _cbr(cin, cout, 1, s) if (s != 1 or cin != cout) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[Any] = [_cbr(3, 32, 3, 2, act=nn.ReLU)]
    cin = 32
    for w, d in zip(widths, depths, strict=True):
        for i in range(d):
            layers.append(Block(cin, w, 2 if i == 0 else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def densenet(growth: int, blocks: tuple[int, ...], stem: int) -> Any:
    """DenseNet-BC: each layer (BN-ReLU-1x1-BN-ReLU-3x3) concatenates ``growth`` channels;
    transitions halve channels and size."""
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.BatchNorm2d(cin),
                nn.ReLU(),
                nn.Conv2d(cin, 4 * growth, 1, bias=False),
                nn.BatchNorm2d(4 * growth),
                nn.ReLU(),
                nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x, self.f(x)], 1)

    layers: list[Any] = [nn.Conv2d(3, stem, 3, 1, 1, bias=False)]
    c = stem
    for i, n in enumerate(blocks):
        for _ in range(n):
            layers.append(Layer(c))
            c += growth
        if i < len(blocks) - 1:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False)]
            layers.append(nn.AvgPool2d(2))
            c //= 2
    layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(c, 100))
    return nn.Sequential(*layers)


def squeezenet(width: float) -> Any:
    """SqueezeNet 1.1: fire modules (1x1 squeeze, then 1x1 and 3x3 expands concatenated)."""
    import torch

    nn = _nn()

    class Fire(nn.Module):
        def __init__(self, cin: int, sq: int, ex: int) -> None:
            super().__init__()
            self.sq = nn.Sequential(nn.Conv2d(cin, sq, 1), nn.ReLU())
            self.e1 = nn.Sequential(nn.Conv2d(sq, ex, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(sq, ex, 3, 1, 1), nn.ReLU())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = self.sq(x)
            return torch.cat([self.e1(s), self.e3(s)], 1)

    def w(c: int) -> int:
        return max(8, int(c * width))

    layers: list[Any] = [nn.Conv2d(3, w(64), 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True)]
    cin = w(64)
    for sq, ex, pool in ((16, 64, False), (16, 64, True), (32, 128, False), (32, 128, True)):
        layers.append(Fire(cin, w(sq), w(ex)))
        cin = 2 * w(ex)
        if pool:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
    for sq, ex in ((48, 192), (48, 192), (64, 256), (64, 256)):
        layers.append(Fire(cin, w(sq), w(ex)))
        cin = 2 * w(ex)
    layers += [nn.Conv2d(cin, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def inception(width: int) -> Any:
    """GoogLeNet-like: modules of four branches (1x1; 1x1-3x3; 1x1-5x5; pool-1x1),
    concatenated."""
    import torch

    nn = _nn()

    class Module(nn.Module):
        def __init__(self, cin: int, c: int) -> None:
            super().__init__()
            self.b1 = _cbr(cin, c, 1, act=nn.ReLU)
            self.b3 = nn.Sequential(_cbr(cin, c, 1, act=nn.ReLU), _cbr(c, 2 * c, 3, act=nn.ReLU))
            self.b5 = nn.Sequential(
                _cbr(cin, c // 2, 1, act=nn.ReLU), _cbr(c // 2, c // 2, 5, act=nn.ReLU)
            )
            self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), _cbr(cin, c // 2, 1, act=nn.ReLU))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)

    layers: list[Any] = [_cbr(3, width, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    layers += [_cbr(width, 2 * width, 3, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = 2 * width
    for i, c in enumerate((width, width, 2 * width, 2 * width)):
        layers.append(Module(cin, c))
        cin = 4 * c
        if i == 1:
            layers.append(nn.MaxPool2d(3, 2, 1))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


def ghostnet(width: float) -> Any:
    """GhostNet-like: ghost modules (a 1x1 conv, then a cheap depthwise 3x3 of its output,
    concatenated) in bottlenecks with depthwise downsampling."""
    import torch

    nn = _nn()

    class Ghost(nn.Module):
        def __init__(self, cin: int, cout: int, relu: bool) -> None:
            super().__init__()
            half = cout // 2
            act = nn.ReLU if relu else None
            self.primary = _cbr(cin, half, 1, act=act)
            self.cheap = _cbr(half, half, 3, g=half, act=act)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.primary(x)
            return torch.cat([y, self.cheap(y)], 1)

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, mid: int, cout: int, s: int) -> None:
            super().__init__()
            parts = [Ghost(cin, mid, True)]
            if s == 2:
                parts.append(_cbr(mid, mid, 3, 2, g=mid))
            parts.append(Ghost(mid, cout, False))
            self.f = nn.Sequential(*parts)
            self.short = (
                nn.Identity()
                if s == 1 and cin == cout
                else nn.Sequential(_cbr(cin, cin, 3, s, g=cin), _cbr(cin, cout, 1))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.f(x) + self.short(x)

    def w(c: int) -> int:
        return max(8, int(c * width) // 2 * 2)

    rows = [(16, 16, 1), (48, 24, 2), (72, 24, 1), (72, 40, 2), (120, 40, 1), (240, 80, 2)]
    rows += [(200, 80, 1), (480, 112, 1), (672, 160, 2), (960, 160, 1)]
    layers: list[Any] = [_cbr(3, w(16), 3, 2, act=nn.ReLU)]
    cin = w(16)
    for mid, cout, s in rows:
        layers.append(Bottleneck(cin, w(mid), w(cout), s))
        cin = w(cout)
    layers += [_cbr(cin, w(960), 1, act=nn.ReLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(w(960), 1000))
    return nn.Sequential(*layers)


def unet(width: int, levels: int) -> Any:
    """A small U-Net: conv pairs, max-pool down, nearest-neighbour upsampling, skip
    concatenation, a 1x1 head of 2 classes per pixel."""
    import torch

    nn = _nn()

    def pair(cin: int, cout: int) -> Any:
        return nn.Sequential(_cbr(cin, cout, 3, act=nn.ReLU), _cbr(cout, cout, 3, act=nn.ReLU))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [width * 2**i for i in range(levels + 1)]
            self.down = nn.ModuleList([pair(3, chans[0])])
            self.down.extend(pair(chans[i], chans[i + 1]) for i in range(levels))
            self.up = nn.ModuleList(
                pair(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(levels))
            )
            self.pool, self.upsample = nn.MaxPool2d(2), nn.Upsample(scale_factor=2)
            self.head = nn.Conv2d(chans[0], 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            for i, block in enumerate(self.down):
                x = block(x if i == 0 else self.pool(x))
                skips.append(x)
            for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
                x = block(torch.cat([self.upsample(x), skip], 1))
            return self.head(x)

    return UNet()


def vgg(widths: tuple[int, ...], convs: int, classes: int) -> Any:
    """VGG-like: ``convs`` 3x3 conv-BN-ReLU per stage, max pool between stages, a
    two-layer classifier."""
    nn = _nn()
    layers: list[Any] = []
    cin = 3
    for w in widths:
        for _ in range(convs):
            layers.append(_cbr(cin, w, 3, act=nn.ReLU))
            cin = w
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 256), nn.ReLU()]
    layers.append(nn.Linear(256, classes))
    return nn.Sequential(*layers)


def _bn1(c: int) -> Any:
    return _nn().BatchNorm1d(c)


def tcn(width: int, levels: int, k: int) -> Any:
    """A temporal convolutional network: residual blocks of two dilated 1-D convs
    (dilation 1, 2, 4, ...), on a multichannel signal."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, d: int) -> None:
            super().__init__()
            pad = (k - 1) * d // 2
            self.f = nn.Sequential(
                nn.Conv1d(cin, width, k, padding=pad, dilation=d),
                _bn1(width),
                nn.ReLU(),
                nn.Conv1d(width, width, k, padding=pad, dilation=d),
                _bn1(width),
            )
            self.short = nn.Conv1d(cin, width, 1) if cin != width else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.f(x) + self.short(x))

    layers: list[Any] = [Block(8, 1)]
    layers += [Block(width, 2**i) for i in range(1, levels)]
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(width, 10)]
    return nn.Sequential(*layers)


def m5(width: int) -> Any:
    """M5 (Dai et al.): a wide strided first 1-D conv on raw audio, then 3-wide convs and
    max pools."""
    nn = _nn()
    layers: list[Any] = [nn.Conv1d(1, width, 80, 4), _bn1(width), nn.ReLU(), nn.MaxPool1d(4)]
    c = width
    for cout in (width, 2 * width, 4 * width):
        layers += [nn.Conv1d(c, cout, 3), _bn1(cout), nn.ReLU(), nn.MaxPool1d(4)]
        c = cout
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c, 35)]
    return nn.Sequential(*layers)


def resnet1d(width: int, blocks: int) -> Any:
    """A 1-D ResNet of the kind used on ECG: a k15 stem, residual pairs of k7 convs,
    every other block strided."""
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.f = nn.Sequential(
                nn.Conv1d(cin, cout, 7, s, 3, bias=False),
                _bn1(cout),
                nn.ReLU(),
                nn.Conv1d(cout, cout, 7, 1, 3, bias=False),
                _bn1(cout),
            )
            self.short = (
                nn.Identity()
                if s == 1 and cin == cout
                else nn.Sequential(nn.Conv1d(cin, cout, 1, s, bias=False), _bn1(cout))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.f(x) + self.short(x))

    layers: list[Any] = [nn.Conv1d(12, width, 15, 2, 7, bias=False), _bn1(width), nn.ReLU()]
    c = width
    for i in range(blocks):
        cout = c * 2 if i % 2 else c
        layers.append(Block(c, cout, 2 if i % 2 else 1))
        c = cout
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c, 5)]
    return nn.Sequential(*layers)


def wav2vec_features(width: int) -> Any:
    """wav2vec 2.0's feature extractor: seven 1-D convs (kernels 10, 3 x4, 2 x2; strides
    5, 2 x6) with GELU, group norm after the first."""
    nn = _nn()
    layers: list[Any] = [nn.Conv1d(1, width, 10, 5, bias=False), nn.GroupNorm(width, width)]
    layers.append(nn.GELU())
    for k in (3, 3, 3, 3, 2, 2):
        layers += [nn.Conv1d(width, width, k, 2, bias=False), nn.GELU()]
    return nn.Sequential(*layers)


def ds_cnn(width: int) -> Any:
    """The keyword-spotting DS-CNN (Zhang et al.): a 10x4 conv on a 49x10 MFCC map, then
    depthwise-separable blocks."""
    nn = _nn()
    layers: list[Any] = [
        nn.Conv2d(1, width, (10, 4), (2, 2), (5, 1), bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    ]
    for _ in range(4):
        layers += [_cbr(width, width, 3, g=width, act=nn.ReLU), _cbr(width, width, 1, act=nn.ReLU)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 12)]
    return nn.Sequential(*layers)


def _image(res: int) -> tuple[int, ...]:
    return (1, 3, res, res)


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every model of the second zoo."""
    return [
        (
            "regnet",
            "regnetx_200mf_128",
            lambda: regnet((24, 56, 152, 368), (1, 1, 4, 7), 8),
            _image(128),
        ),
        (
            "regnet",
            "regnetx_400mf_96",
            lambda: regnet((32, 64, 160, 384), (1, 2, 7, 12), 16),
            _image(96),
        ),
        ("densenet", "densenet_k12_64", lambda: densenet(12, (6, 12, 16), 24), _image(64)),
        ("squeezenet", "squeezenet_x1.0_160", lambda: squeezenet(1.0), _image(160)),
        ("squeezenet", "squeezenet_x0.5_224", lambda: squeezenet(0.5), _image(224)),
        ("inception", "inception_w32_128", lambda: inception(32), _image(128)),
        ("ghostnet", "ghostnet_x1.0_160", lambda: ghostnet(1.0), _image(160)),
        ("unet", "unet_w16_128", lambda: unet(16, 3), _image(128)),
        ("unet", "unet_w8_192", lambda: unet(8, 4), _image(192)),
        ("vgg", "cifar_vgg_w32_32", lambda: vgg((32, 64, 128), 2, 10), _image(32)),
        ("vgg", "vgg_w48_64", lambda: vgg((48, 96, 192, 256), 2, 100), _image(64)),
        ("resnet", "resnet18_w64_128", lambda: resnet((2, 2, 2, 2), 64, False), _image(128)),
        ("mobilenetv2", "mbv2_x0.75_192", lambda: mobilenet(_MBV2, 0.75, False), _image(192)),
        ("mobilenetv2", "mbv2_x1.4_96", lambda: mobilenet(_MBV2, 1.4, False), _image(96)),
        ("efficientnet", "effnet_x1.0_192", lambda: efficientnet(1.0, 1.0), _image(192)),
        (
            "convnext",
            "convnext_s_64",
            lambda: convnext((64, 128, 256, 512), (1, 1, 3, 1)),
            _image(64),
        ),
        ("vit", "vit_d256_p8_64", lambda: vit(64, 8, 256, 4, 4), _image(64)),
        ("vit", "deit_tiny_224", lambda: vit(224, 16, 192, 3, 12), _image(224)),
        ("mixer", "mixer_d192_p8_64", lambda: mixer(64, 8, 192, 4), _image(64)),
        ("text", "bert_d512_s32", lambda: text_encoder(512, 8, 4), (1, 32, 512)),
        ("text", "bert_d128_s256", lambda: text_encoder(128, 2, 2), (1, 256, 128)),
        ("audio", "tcn_w64_4k", lambda: tcn(64, 5, 3), (1, 8, 4000)),
        ("audio", "m5_w64_8k", lambda: m5(64), (1, 1, 8000)),
        ("audio", "resnet1d_w32_5k", lambda: resnet1d(32, 6), (1, 12, 5000)),
        ("audio", "wav2vec_fe_w128_8k", lambda: wav2vec_features(128), (1, 1, 8000)),
        ("audio", "dscnn_w64_kws", lambda: ds_cnn(64), (1, 1, 49, 10)),
    ]
