"""The fifth generation of random context networks (seeds from :data:`GENERATION_5`).

The sixth and seventh held-out zoos were missed most where they ran ops that no random
network of the earlier generations runs inside a network: 3-D convs (an R(2+1)D video
net, +49% before 3-D convs were sampled as a kind at all), MatMuls by large constant
matrices (a GCN's dense adjacency: -19%), channels-last ``Linear`` layers of ConvNeXt
stages (+18%), spatial-reduction attention with Mix-FFN depthwise convs (PVTv2: -12%),
embedding gathers and pairwise interactions (a DLRM: -10%) and k-nearest-neighbour
TopK and gathers on point clouds (DGCNN). This generation draws those designs, at random
sizes:

* ``video``: 3-D convnets on (1, 3, T, H, W) clips: C3D-like full 3x3x3 convs with max
  pools, R(2+1)D-like residual pairs of (1, k, k) and (t, 1, 1) convs, or X3D-like
  inverted bottlenecks of depthwise 3x3x3 convs with squeeze-excitation and SiLU; a
  global pool and a Linear head;
* ``graph``: GCN or GraphSAGE-like layers on (1, N, F) node features, multiplied by a
  constant dense normalised adjacency of 64-4,096 nodes (up to 64 MB);
* ``pyramid``: hierarchical image backbones of strided patch embeddings and stages of
  ConvNeXt blocks (depthwise 7x7, then LayerNorm and two ``Linear`` layers on the
  channels-last tensor, a layer scale) or PVTv2/SegFormer blocks (attention whose keys
  and values come from a strided conv of the tokens, a Mix-FFN with a depthwise 3x3),
  then a classifier or an all-MLP segmentation decoder (per-stage ``Linear``, bilinear
  upsampling, concatenation, a 1x1 fuse);
* ``recsys``: DLRM-like nets: a bottom MLP of the dense features, embedding gathers of
  8-26 tables of up to 200,000 rows, pairwise dot products (batched MatMul), a top MLP;
* ``pointnet`` and ``dgcnn``: nets on (1, 3, N) point clouds of shared 1-D convs
  (PointNet-like) or EdgeConv layers (DGCNN-like: pairwise distances, TopK of the k
  nearest, gathered neighbours, 1x1 2-D convs, a max over neighbours), then a 1-D conv
  embedding, a global max pool and an MLP.

A seed names the same network forever; this generation reads its own random stream
(``default_rng([seed, 0xC0DE, 5])``). Builds plan a quarter of their networks from each
of the second to fifth generations
(:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import _choice, drawn_within_macs, generation_rng

#: The first seed of the fifth generation.
GENERATION_5 = 40_000_000
MODES = ("video", "video", "graph", "graph", "pyramid", "pyramid", "recsys", "pointnet", "dgcnn")


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 5)


def _act(nn: Any, name: str) -> Any:
    return {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "leaky": nn.LeakyReLU}[name]()


class _Module:
    """Small modules built inside a function (torch is imported lazily)."""

    @staticmethod
    def residual(nn: Any, body: Any, short: Any, act: Any) -> Any:
        class Residual(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body, self.short, self.act = body, short, act

            def forward(self, x: Any) -> Any:
                return self.act(self.body(x) + self.short(x))

        return Residual()

    @staticmethod
    def squeeze3d(nn: Any, c: int) -> Any:
        class Squeeze(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                hidden = max(8, c // 4)
                self.f = nn.Sequential(
                    nn.AdaptiveAvgPool3d(1),
                    nn.Conv3d(c, hidden, 1),
                    nn.ReLU(),
                    nn.Conv3d(hidden, c, 1),
                    nn.Sigmoid(),
                )

            def forward(self, x: Any) -> Any:
                return x * self.f(x)

        return Squeeze()


def _video_block(nn: Any, rng: np.random.Generator, style: str, c: int, cout: int, s: int) -> Any:
    bn = nn.BatchNorm3d
    if style == "c3d":
        return nn.Sequential(nn.Conv3d(c, cout, 3, padding=1), nn.ReLU())
    short = (
        nn.Identity()
        if c == cout and s == 1
        else nn.Sequential(nn.Conv3d(c, cout, 1, (1, s, s), bias=False), bn(cout))
    )
    if style == "r21d":
        k, t = _choice(rng, [3, 3, 5]), _choice(rng, [3, 3, 5])
        mid = max(8, (c + cout) // 2)
        body = nn.Sequential(
            nn.Conv3d(c, mid, (1, k, k), (1, s, s), (0, k // 2, k // 2), bias=False),
            bn(mid),
            nn.ReLU(),
            nn.Conv3d(mid, cout, (t, 1, 1), 1, (t // 2, 0, 0), bias=False),
            bn(cout),
        )
        return _Module.residual(nn, body, short, nn.ReLU())
    wide = cout * _choice(rng, [2, 3, 4])
    body = nn.Sequential(
        nn.Conv3d(c, wide, 1, bias=False),
        bn(wide),
        nn.SiLU(),
        nn.Conv3d(wide, wide, 3, (1, s, s), 1, groups=wide, bias=False),
        bn(wide),
        *([_Module.squeeze3d(nn, wide)] if rng.random() < 0.6 else []),
        nn.SiLU(),
        nn.Conv3d(wide, cout, 1, bias=False),
        bn(cout),
    )
    return _Module.residual(nn, body, short, nn.Identity())


def random_video(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random 3-D convnet on a (1, 3, T, H, W) clip."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 1)
    style = _choice(rng, ["c3d", "r21d", "x3d"])
    t = t0 = _choice(rng, [4, 8, 8, 16])
    h, w = _choice(rng, [(56, 56), (64, 64), (80, 80), (112, 112), (96, 128), (112, 160)])
    c = _choice(rng, [8, 16, 16, 24, 32])
    stem_t = 1 if style != "c3d" and rng.random() < 0.5 else 3
    layers: list[Any] = [
        nn.Conv3d(3, c, (stem_t, 3, 3), (1, 2, 2), (stem_t // 2, 1, 1), bias=False),
        nn.BatchNorm3d(c),
        nn.ReLU(),
    ]
    if style != "c3d" and rng.random() < 0.5:
        layers.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
    for stage in range(int(rng.integers(2, 5))):
        cout = min(256, c * _choice(rng, [1, 2, 2]))
        for i in range(int(rng.integers(1, 4))):
            s = 2 if i == 0 and stage > 0 and style != "c3d" else 1
            layers.append(_video_block(nn, rng, style, c, cout, s))
            c = cout
        if style == "c3d":
            layers.append(nn.MaxPool3d((2 if t >= 4 else 1, 2, 2)))
            t = max(1, t // 2)
    layers += [nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(c, _choice(rng, [10, 101, 400]))]
    return nn.Sequential(*layers).eval(), (1, 3, t0, h, w)


def _adjacency(rng: np.random.Generator, n: int, degree: int) -> np.ndarray:
    """A symmetric normalised adjacency (with self-loops) of ``n`` nodes of about
    ``degree`` neighbours each, dense, float32."""
    a = np.zeros((n, n), dtype=np.float32)
    rows = rng.integers(0, n, size=(n * degree // 2, 2))
    a[rows[:, 0], rows[:, 1]] = 1.0
    a = np.maximum(a, a.T) + np.eye(n, dtype=np.float32)
    d = 1.0 / np.sqrt(a.sum(1))
    return (a * d[:, None] * d[None, :]).astype(np.float32)


class _Graph:
    @staticmethod
    def build(nn: Any, adjacency: np.ndarray, layers: list[Any], sage: bool, act: str) -> Any:
        import torch

        class Graph(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("a", torch.from_numpy(adjacency))
                self.layers, self.act = nn.ModuleList(layers), _act(nn, act)

            def forward(self, x: Any) -> Any:
                for i, layer in enumerate(self.layers):
                    x = layer(torch.cat([x, self.a @ x], -1)) if sage else self.a @ layer(x)
                    if i < len(self.layers) - 1:
                        x = self.act(x)
                return x

        return Graph()


def random_graph(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random GCN (``A @ (X W)``) or GraphSAGE-like (``[X, A X] W``) net on a constant
    dense adjacency."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 2)
    n = _choice(rng, [64, 128, 256, 500, 1000, 1500, 2000, 2708, 3327, 4096])
    widths = [_choice(rng, [16, 32, 64, 128, 256, 500, 745, 1024, 1433])]
    widths += [_choice(rng, [16, 32, 64, 128, 256]) for _ in range(int(rng.integers(1, 4)))]
    widths.append(_choice(rng, [2, 7, 16, 40]))
    sage = rng.random() < 0.35
    layers = [
        nn.Linear(a * (2 if sage else 1), b) for a, b in zip(widths, widths[1:], strict=False)
    ]
    adjacency = _adjacency(rng, n, _choice(rng, [2, 4, 8, 16]))
    act = _choice(rng, ["relu", "relu", "gelu", "leaky"])
    return _Graph.build(nn, adjacency, layers, sage, act).eval(), (1, n, widths[0])


class _Pyramid:
    """The blocks of the ``pyramid`` design (NCHW in and out)."""

    @staticmethod
    def convnext(nn: Any, c: int, ratio: int) -> Any:
        import torch

        class ConvNeXt(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
                self.norm, self.gamma = nn.LayerNorm(c), nn.Parameter(torch.full((c,), 1e-2))
                self.mlp = nn.Sequential(
                    nn.Linear(c, ratio * c), nn.GELU(), nn.Linear(ratio * c, c)
                )

            def forward(self, x: Any) -> Any:
                y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1)))
                return x + (self.gamma * y).permute(0, 3, 1, 2)

        return ConvNeXt()

    @staticmethod
    def pvt(nn: Any, c: int, heads: int, sr: int, ratio: int) -> Any:
        class PVT(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1, self.n2, self.q = nn.LayerNorm(c), nn.LayerNorm(c), nn.Linear(c, c)
                self.sr = nn.Sequential(nn.Conv2d(c, c, sr, sr), nn.Identity()) if sr > 1 else None
                self.nsr, self.kv, self.proj = nn.LayerNorm(c), nn.Linear(c, 2 * c), nn.Linear(c, c)
                self.fc1, self.fc2 = nn.Linear(c, ratio * c), nn.Linear(ratio * c, c)
                self.dw = nn.Conv2d(ratio * c, ratio * c, 3, padding=1, groups=ratio * c)
                self.act = nn.GELU()

            def attend(self, t: Any, h: int, w: int) -> Any:
                b, n, _ = t.shape
                q = self.q(t).reshape(b, n, heads, c // heads).transpose(1, 2)
                src = t
                if self.sr is not None:
                    img = self.sr(t.transpose(1, 2).reshape(b, c, h, w))
                    src = self.nsr(img.flatten(2).transpose(1, 2))
                k, v = self.kv(src).reshape(b, -1, 2, heads, c // heads).permute(2, 0, 3, 1, 4)
                a = (q @ k.transpose(-2, -1) * (c // heads) ** -0.5).softmax(-1)
                return self.proj((a @ v).transpose(1, 2).reshape(b, n, c))

            def forward(self, x: Any) -> Any:
                b, _, h, w = x.shape
                t = x.flatten(2).transpose(1, 2)
                t = t + self.attend(self.n1(t), h, w)
                y = self.fc1(self.n2(t)).transpose(1, 2).reshape(b, ratio * c, h, w)
                t = t + self.fc2(self.act(self.dw(y)).flatten(2).transpose(1, 2))
                return t.transpose(1, 2).reshape(b, c, h, w)

        return PVT()

    @staticmethod
    def embed(nn: Any, c: int, cout: int, k: int, s: int) -> Any:
        class Embed(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv, self.norm = (
                    nn.Conv2d(c, cout, k, s, k // 2 if k > s else 0),
                    nn.LayerNorm(cout),
                )

            def forward(self, x: Any) -> Any:
                return self.norm(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

        return Embed()


class _PyramidNet:
    @staticmethod
    def build(nn: Any, stages: list[Any], decoder: Any) -> Any:
        import torch

        class PyramidNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.stages = nn.ModuleList(stages)
                self.linears, self.fuse, self.head = decoder

            def forward(self, x: Any) -> Any:
                feats = []
                for stage in self.stages:
                    x = stage(x)
                    feats.append(x)
                if self.fuse is None:
                    return self.head(x.mean((2, 3)))
                size = (int(feats[0].shape[2]), int(feats[0].shape[3]))
                ups = []
                for f, linear in zip(feats, self.linears, strict=True):
                    y = linear(f.flatten(2).transpose(1, 2)).transpose(1, 2)
                    y = y.reshape(1, -1, int(f.shape[2]), int(f.shape[3]))
                    if tuple(y.shape[2:]) != size:
                        y = torch.nn.functional.interpolate(
                            y, size, mode="bilinear", align_corners=False
                        )
                    ups.append(y)
                return self.head(self.fuse(torch.cat(ups, 1)))

        return PyramidNet()


def random_pyramid(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random hierarchical backbone of ConvNeXt or PVTv2 stages (or both), with a
    classifier or a SegFormer-like all-MLP decoder."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 3)
    h, w = _choice(rng, [(64, 64), (96, 96), (128, 128), (160, 160), (224, 224), (128, 256)])
    style = _choice(rng, ["convnext", "pvt", "mixed"])
    c, cin, stages, widths = _choice(rng, [16, 24, 32, 48, 64, 96]), 3, [], []
    first_k, first_s = _choice(rng, [(4, 4), (7, 4), (3, 2)])
    for i in range(int(rng.integers(2, 5))):
        k, s = (first_k, first_s) if i == 0 else _choice(rng, [(2, 2), (3, 2)])
        blocks = [_Pyramid.embed(nn, cin, c, k, s)]
        pvt = style == "pvt" or (style == "mixed" and i >= 2)
        for _ in range(int(rng.integers(1, 4))):
            if pvt:
                heads = max(1, min(8, c // 32))
                sr = _choice(rng, [1, 2, 4, 8][: 4 - i] or [1])
                blocks.append(_Pyramid.pvt(nn, c, heads, sr, _choice(rng, [2, 4, 8])))
            else:
                blocks.append(_Pyramid.convnext(nn, c, _choice(rng, [2, 4])))
        stages.append(nn.Sequential(*blocks))
        widths.append(c)
        cin, c = c, min(768, c * 2)
    classes = _choice(rng, [10, 19, 150, 1000])
    decoder: tuple[Any, Any, Any]
    if rng.random() < 0.4:
        d = _choice(rng, [64, 128, 256])
        decoder = (
            nn.ModuleList([nn.Linear(wi, d) for wi in widths]),
            nn.Sequential(
                nn.Conv2d(d * len(widths), d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU()
            ),
            nn.Conv2d(d, classes, 1),
        )
    else:
        decoder = (nn.ModuleList(), None, nn.Sequential(nn.LayerNorm(cin), nn.Linear(cin, classes)))
    return _PyramidNet.build(nn, stages, decoder).eval(), (1, 3, h, w)


class _Recsys:
    @staticmethod
    def mlp(nn: Any, sizes: list[int]) -> list[Any]:
        layers: list[Any] = []
        for a, b in zip(sizes, sizes[1:], strict=False):
            layers += [nn.Linear(a, b), nn.ReLU()]
        return layers

    @staticmethod
    def build(nn: Any, dense: int, rows: list[int], dim: int, mlps: tuple[list[int], ...]) -> Any:
        import torch

        bottom, top = mlps

        class Recsys(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bottom = nn.Sequential(*_Recsys.mlp(nn, [dense, *bottom, dim]))
                self.tables = nn.ModuleList([nn.Embedding(r, dim) for r in rows])
                pairs = (len(rows) + 1) * len(rows) // 2
                self.top = nn.Sequential(*_Recsys.mlp(nn, [dim + pairs, *top])[:-1], nn.Sigmoid())
                self.triu = torch.triu_indices(len(rows) + 1, len(rows) + 1, 1)

            def forward(self, x: Any) -> Any:
                z = self.bottom(x[:, :dense])
                ids = (x[:, dense:].abs() * 1000).long()
                embs = [z] + [t(ids[:, i] % t.num_embeddings) for i, t in enumerate(self.tables)]
                e = torch.stack(embs, 1)
                inter = (e @ e.transpose(1, 2))[:, self.triu[0], self.triu[1]]
                return self.top(torch.cat([z, inter], 1))

        return Recsys()


def random_recsys(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random DLRM-like recommender (embedding gathers, MLPs, pairwise dot products)."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 4)
    dense, dim = _choice(rng, [8, 13, 32, 64]), _choice(rng, [16, 32, 64, 128])
    rows = [
        _choice(rng, [100, 1000, 10_000, 50_000, 200_000]) for _ in range(int(rng.integers(8, 27)))
    ]
    while sum(rows) * dim > 16_000_000:
        rows = [max(100, r // 2) for r in rows]
    bottom = [_choice(rng, [128, 256, 512])] * int(rng.integers(1, 3))
    top = [_choice(rng, [256, 512, 1024])] * int(rng.integers(1, 3))
    top += [_choice(rng, [64, 128, 256]), 1]
    net = _Recsys.build(nn, dense, rows, dim, (bottom, top))
    return net.eval(), (1, dense + len(rows))


class _Points:
    @staticmethod
    def edge(nn: Any, c: int, cout: int, k: int) -> Any:
        import torch

        class EdgeConv(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.f = nn.Sequential(
                    nn.Conv2d(2 * c, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)
                )

            def forward(self, x: Any) -> Any:
                n = int(x.shape[2])
                inner = x.transpose(1, 2) @ x
                sq = (x * x).sum(1, keepdim=True)
                idx = (2 * inner - sq - sq.transpose(1, 2)).topk(k, -1)[1]
                pts = x.transpose(1, 2).reshape(n, c)
                nb = pts[idx.reshape(-1)].reshape(1, n, k, c)
                centre = x.transpose(1, 2).reshape(1, n, 1, c).expand(1, n, k, c)
                y = self.f(torch.cat([nb - centre, centre], 3).permute(0, 3, 1, 2))
                return y.max(-1)[0]

        return EdgeConv()

    @staticmethod
    def build(nn: Any, layers: list[Any], emb: Any, head: Any) -> Any:
        import torch

        class PointNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers, self.emb, self.head = nn.ModuleList(layers), emb, head

            def forward(self, x: Any) -> Any:
                feats = []
                for layer in self.layers:
                    x = layer(x)
                    feats.append(x)
                return self.head(self.emb(torch.cat(feats, 1)).max(-1)[0])

        return PointNet()


def random_points(seed: int | list[int], edge: bool = False) -> tuple[Any, tuple[int, ...]]:
    """A random PointNet-like (shared 1-D convs) or, with ``edge``, DGCNN-like
    (EdgeConv) point net."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 6 if edge else 5)
    n = _choice(rng, [256, 512, 1024] if edge else [256, 512, 1024, 2048])
    k = _choice(rng, [8, 16, 20])
    c, layers = 3, []
    for _ in range(int(rng.integers(2, 6))):
        cout = _choice(rng, [32, 64, 64, 128, 256])
        if edge:
            layers.append(_Points.edge(nn, c, cout, k))
        else:
            layers.append(
                nn.Sequential(nn.Conv1d(c, cout, 1, bias=False), nn.BatchNorm1d(cout), nn.ReLU())
            )
        c = cout
    width, feats = _choice(rng, [256, 512, 1024]), sum(_out_channels(x) for x in layers)
    emb = nn.Sequential(nn.Conv1d(feats, width, 1, bias=False), nn.BatchNorm1d(width), nn.ReLU())
    head = nn.Sequential(
        nn.Linear(width, 512), nn.ReLU(), nn.Linear(512, _choice(rng, [10, 40, 50]))
    )
    return _Points.build(nn, layers, emb, head).eval(), (1, 3, n)


def _out_channels(layer: Any) -> int:
    for module in reversed(list(layer.modules())):
        if hasattr(module, "out_channels"):
            return int(module.out_channels)
    raise AssertionError("a point layer without a conv")


def macs5(module: Any, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of ``module`` on an input of ``shape`` (one forward pass):
    every convolution, Linear layer and (batched) MatMul, counted by torch's flop
    counter (half its FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(shape))
    return int(counter.get_total_flops()) // 2


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "video": random_video,
    "graph": random_graph,
    "pyramid": random_pyramid,
    "recsys": random_recsys,
    "pointnet": random_points,
    "dgcnn": partial(random_points, edge=True),
}


def drawn_5(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the fifth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 5, _DRAW, MODES, macs5)


def random_network_5(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the fifth generation from ``seed`` (:func:`drawn_5`)."""
    _, net, shape = drawn_5(seed)
    return net, shape
