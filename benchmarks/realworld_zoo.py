"""A held-out zoo of real-world architectures, written in plain torch (no torchvision).

Used only to *score* the kernel-level predictor (benchmarks/kernels_context.py), once per
change: nothing in the library is fitted or tuned on these models. The families are the
ones people ship: ResNet-18/34/50-like, MobileNetV2, MobileNetV3-like (SE, hardswish),
EfficientNet-like (SE, SiLU), ShuffleNetV2, ConvNeXt, ViT, MLP-Mixer, a BERT-like text
encoder and a 1-D audio conv net, at two or three sizes and resolutions each (about
1-40 ms each on one x86 core with onnxruntime).

``zoo()`` lists ``(family, name, builder, input shape)``; ``export_zoo(out)`` exports each
once (torchscript exporter) and returns ``(family, name, path)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Builder = Callable[[], Any]


def _nn() -> Any:
    import torch.nn as nn

    return nn


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1, g: int = 1, act: Any = None) -> Any:
    nn = _nn()
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def resnet(depths: tuple[int, ...], width: int, bottleneck: bool) -> Any:
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, cin: int, mid: int, s: int) -> None:
            super().__init__()
            cout = mid * 4 if bottleneck else mid
            if bottleneck:
                self.body = nn.Sequential(
                    _cbr(cin, mid, 1, 1, act=nn.ReLU),
                    _cbr(mid, mid, 3, s, act=nn.ReLU),
                    _cbr(mid, cout, 1),
                )
            else:
                self.body = nn.Sequential(_cbr(cin, mid, 3, s, act=nn.ReLU), _cbr(mid, mid, 3))
            self.short = _cbr(cin, cout, 1, s) if (s != 1 or cin != cout) else nn.Identity()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.body(x) + self.short(x))

    layers: list[Any] = [_cbr(3, width, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = width
    for i, n in enumerate(depths):
        mid = width * 2**i
        for j in range(n):
            layers.append(Block(cin, mid, 2 if (j == 0 and i > 0) else 1))
            cin = mid * 4 if bottleneck else mid
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers)


class _SE:
    @staticmethod
    def build(c: int, r: int, gate: Any) -> Any:
        import torch

        nn = _nn()

        class SE(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                hidden = max(8, c // r)
                self.f = nn.Sequential(
                    nn.AdaptiveAvgPool2d(1),
                    nn.Conv2d(c, hidden, 1),
                    nn.ReLU() if gate is nn.Hardsigmoid else nn.SiLU(),
                    nn.Conv2d(hidden, c, 1),
                    gate(),
                )

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x * self.f(x)

        return SE()


def _inverted(cin: int, cout: int, k: int, s: int, e: int, act: Any, se: Any) -> Any:
    import torch

    nn = _nn()

    class IR(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            mid = cin * e
            parts = [_cbr(cin, mid, 1, act=act)] if e != 1 else []
            parts.append(_cbr(mid, mid, k, s, g=mid, act=act))
            if se is not None:
                parts.append(_SE.build(mid, 4, se))
            parts.append(_cbr(mid, cout, 1))
            self.f = nn.Sequential(*parts)
            self.res = s == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.f(x)
            return x + y if self.res else y

    return IR()


def mobilenet(config: list[tuple[int, int, int, int, int, bool]], width: float, v3: bool) -> Any:
    """(expand, channels, repeats, stride, kernel, se) rows; v3 uses hardswish and SE."""
    nn = _nn()
    act = nn.Hardswish if v3 else nn.ReLU6
    c = max(8, int(16 * width) if v3 else int(32 * width))
    layers: list[Any] = [_cbr(3, c, 3, 2, act=act)]
    for e, ch, n, s, k, se in config:
        cout = max(8, int(ch * width))
        for i in range(n):
            gate = nn.Hardsigmoid if (v3 and se) else None
            layers.append(_inverted(c, cout, k, s if i == 0 else 1, e, act, gate))
            c = cout
    last = max(64, int((576 if v3 else 1280) * width))
    layers += [_cbr(c, last, 1, act=act), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(last, 1000))
    return nn.Sequential(*layers)


_MBV2 = [(1, 16, 1, 1, 3, False), (6, 24, 2, 2, 3, False), (6, 32, 3, 2, 3, False)]
_MBV2 += [(6, 64, 4, 2, 3, False), (6, 96, 3, 1, 3, False), (6, 160, 3, 2, 3, False)]
_MBV2 += [(6, 320, 1, 1, 3, False)]
_MBV3 = [(1, 16, 1, 2, 3, True), (4, 24, 2, 2, 3, False), (4, 40, 3, 2, 5, True)]
_MBV3 += [(6, 48, 2, 1, 5, True), (6, 96, 3, 2, 5, True)]


def efficientnet(width: float, depth: float) -> Any:
    nn = _nn()
    rows = [(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3)]
    rows += [(6, 112, 3, 1, 5), (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)]
    c = int(32 * width)
    layers: list[Any] = [_cbr(3, c, 3, 2, act=nn.SiLU)]
    for e, ch, n, s, k in rows:
        cout = int(ch * width)
        for i in range(max(1, round(n * depth))):
            layers.append(_inverted(c, cout, k, s if i == 0 else 1, e, nn.SiLU, nn.Sigmoid))
            c = cout
    layers += [_cbr(c, 4 * c, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(4 * c, 1000))
    return nn.Sequential(*layers)


def shufflenet(channels: tuple[int, int, int]) -> Any:
    import torch

    nn = _nn()

    def shuffle(x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)

    class Unit(nn.Module):
        def __init__(self, cin: int, cout: int, s: int) -> None:
            super().__init__()
            self.s = s
            half = cout // 2
            inp = cin if s == 2 else cin // 2
            self.main = nn.Sequential(
                _cbr(inp, half, 1, act=nn.ReLU),
                _cbr(half, half, 3, s, g=half),
                _cbr(half, half, 1, act=nn.ReLU),
            )
            if s == 2:
                self.side = nn.Sequential(
                    _cbr(cin, cin, 3, 2, g=cin), _cbr(cin, half, 1, act=nn.ReLU)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.s == 1:
                a, b = x.chunk(2, dim=1)
                return shuffle(torch.cat([a, self.main(b)], 1))
            return shuffle(torch.cat([self.side(x), self.main(x)], 1))

    layers: list[Any] = [_cbr(3, 24, 3, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1)]
    cin = 24
    for c, n in zip(channels, (4, 8, 4), strict=True):
        for i in range(n):
            layers.append(Unit(cin, c, 2 if i == 0 else 1))
            cin = c
    layers += [_cbr(cin, 1024, 1, act=nn.ReLU), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1024, 1000))
    return nn.Sequential(*layers)


def convnext(dims: tuple[int, ...], depths: tuple[int, ...]) -> Any:
    import torch

    nn = _nn()

    class Block(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.dw = nn.Conv2d(d, d, 7, padding=3, groups=d)
            self.norm = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.gamma = nn.Parameter(torch.full((d,), 1e-2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.gamma * self.mlp(self.norm(y))
            return x + y.permute(0, 3, 1, 2)

    class ChannelNorm(nn.Module):
        def __init__(self, d: int) -> None:
            super().__init__()
            self.n = nn.LayerNorm(d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.n(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    layers: list[Any] = [nn.Conv2d(3, dims[0], 4, 4), ChannelNorm(dims[0])]
    for i, (d, n) in enumerate(zip(dims, depths, strict=True)):
        if i:
            layers += [ChannelNorm(dims[i - 1]), nn.Conv2d(dims[i - 1], d, 2, 2)]
        layers += [Block(d) for _ in range(n)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(dims[-1])]
    layers.append(nn.Linear(dims[-1], 1000))
    return nn.Sequential(*layers)


def _encoder_layer(d: int, heads: int, ff: int) -> Any:
    import torch

    nn = _nn()

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = heads
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.n2(x))

    return Layer()


def vit(res: int, patch: int, d: int, heads: int, layers: int) -> Any:
    import torch

    nn = _nn()

    class ViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.pos = nn.Parameter(torch.zeros(1, (res // patch) ** 2, d))
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.blocks(x)).mean(1))

    return ViT()


def mixer(res: int, patch: int, d: int, layers: int) -> Any:
    import torch

    nn = _nn()
    tokens = (res // patch) ** 2

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.tok = nn.Sequential(
                nn.Linear(tokens, tokens * 2), nn.GELU(), nn.Linear(tokens * 2, tokens)
            )
            self.ch = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.tok(self.n1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.ch(self.n2(x))

    class Mixer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.blocks = nn.Sequential(*[Layer() for _ in range(layers)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 1000)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.embed(x).flatten(2).transpose(1, 2)
            return self.head(self.norm(self.blocks(x)).mean(1))

    return Mixer()


def text_encoder(d: int, heads: int, layers: int) -> Any:
    """BERT-like: input embeddings (1, seq, d) in, pooled output out."""
    import torch

    nn = _nn()

    class Bert(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.blocks = nn.Sequential(*[_encoder_layer(d, heads, 4 * d) for _ in range(layers)])
            self.pool = nn.Linear(d, d)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.pool(self.blocks(self.norm(x))[:, 0]))

    return Bert()


def audio1d(width: int, blocks: int) -> Any:
    nn = _nn()
    layers: list[Any] = [nn.Conv1d(1, width, 80, 16, 40), nn.BatchNorm1d(width), nn.ReLU()]
    c = width
    for i in range(blocks):
        cout = c * 2 if i % 2 else c
        layers += [nn.Conv1d(c, cout, 3, 1, 1), nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(2)]
        c = cout
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(c, 35)]
    return nn.Sequential(*layers)


def zoo() -> list[tuple[str, str, Builder, tuple[int, ...]]]:
    """(family, name, builder, input shape) of every held-out model."""
    img = (1, 3)
    rows: list[tuple[str, str, Builder, tuple[int, ...]]] = [
        ("resnet", "resnet18_w32_112", lambda: resnet((2, 2, 2, 2), 32, False), (*img, 112, 112)),
        ("resnet", "resnet34_w32_96", lambda: resnet((3, 4, 6, 3), 32, False), (*img, 96, 96)),
        ("resnet", "resnet50_w16_128", lambda: resnet((3, 4, 6, 3), 16, True), (*img, 128, 128)),
        ("mobilenetv2", "mbv2_x0.5_160", lambda: mobilenet(_MBV2, 0.5, False), (*img, 160, 160)),
        ("mobilenetv2", "mbv2_x1.0_112", lambda: mobilenet(_MBV2, 1.0, False), (*img, 112, 112)),
        ("mobilenetv3", "mbv3_x0.75_160", lambda: mobilenet(_MBV3, 0.75, True), (*img, 160, 160)),
        ("mobilenetv3", "mbv3_x1.0_224", lambda: mobilenet(_MBV3, 1.0, True), (*img, 224, 224)),
        ("efficientnet", "effnet_x0.5_128", lambda: efficientnet(0.5, 0.7), (*img, 128, 128)),
        ("efficientnet", "effnet_x0.75_160", lambda: efficientnet(0.75, 1.0), (*img, 160, 160)),
        ("shufflenetv2", "shufflev2_x0.5_160", lambda: shufflenet((48, 96, 192)), (*img, 160, 160)),
        (
            "shufflenetv2",
            "shufflev2_x1.0_128",
            lambda: shufflenet((116, 232, 464)),
            (*img, 128, 128),
        ),
        (
            "convnext",
            "convnext_n_96",
            lambda: convnext((32, 64, 128, 256), (1, 1, 3, 1)),
            (*img, 96, 96),
        ),
        (
            "convnext",
            "convnext_t_128",
            lambda: convnext((48, 96, 192, 384), (2, 2, 4, 2)),
            (*img, 128, 128),
        ),
        ("vit", "vit_d128_96", lambda: vit(96, 16, 128, 4, 4), (*img, 96, 96)),
        ("vit", "vit_d192_128", lambda: vit(128, 16, 192, 3, 6), (*img, 128, 128)),
        ("mixer", "mixer_d128_96", lambda: mixer(96, 16, 128, 4), (*img, 96, 96)),
        ("mixer", "mixer_d256_128", lambda: mixer(128, 16, 256, 6), (*img, 128, 128)),
        ("text", "bert_d256_s64", lambda: text_encoder(256, 4, 2), (1, 64, 256)),
        ("text", "bert_d384_s128", lambda: text_encoder(384, 6, 3), (1, 128, 384)),
        ("audio", "audio1d_w32_16k", lambda: audio1d(32, 6), (1, 1, 16000)),
        ("audio", "audio1d_w64_32k", lambda: audio1d(64, 7), (1, 1, 32000)),
    ]
    return rows


def export_zoo(
    out: Path, rows: list[tuple[str, str, Builder, tuple[int, ...]]] | None = None
) -> list[tuple[str, str, Path]]:
    """Export every model of ``rows`` (default: this zoo) once into ``out``; (family,
    name, path)."""
    import torch

    from hwnas.export import export_onnx

    models = []
    for family, name, build, shape in zoo() if rows is None else rows:
        path = out / f"zoo_{name}.onnx"
        if not path.exists():
            torch.manual_seed(0)
            export_onnx(build(), shape, path, opset=17, exporter="torchscript")
        models.append((family, name, path))
    return models
