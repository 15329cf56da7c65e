"""The tenth generation of random context networks (seeds from :data:`GENERATION_10`).

The thirteenth to fifteenth held-out zoos were missed most where their models ran what no
random network of the earlier generations runs: dense pairwise scores built by
broadcasting (GATv2's (N, 1, H, F) + (1, N, H, F) sums, priced at a third: the network
1.8x its prediction; PCT), integer index arithmetic (Instant-NGP's int64 hashing: an
int64 Div 11x a float Div, a Mod 18x a float Add) and soft decision trees (NODE spent
28% of the network in 8 ReduceProds priced at a tenth). This generation draws those
designs, at random sizes:

* ``pairwise``: GAT/GATv2-like attention over 16 to 2,048 nodes (1-8 heads of 8-64
  features: source and target scores broadcast-added as (N, 1, H) + (1, N, H), or
  projected features as (N, 1, H, F) + (1, N, H, F), LeakyReLU, a learnt per-head vector
  multiplied and summed; an additive adjacency mask or ``torch.where`` of a boolean one,
  each layer over its own graph as HAN's metapaths and RGAT's relations are; a softmax
  over the neighbours; aggregation by matmul or einsum), PointNet++-like point nets
  (squared distances (M, 1, C) - (1, P, C) squared and summed, the k nearest by TopK and
  gathered, or a softmax weighting over all points; feature propagation by the 3 nearest
  and inverse-distance weights), or attention with relative-position bias tables added
  to its scores (Swin-like windows, shifted with a mask, and patch merging; or 1-D
  sequences with clipped relative distances);
* ``hashed``: integer index arithmetic as real models do it: Instant-NGP-like
  multiresolution hash encodings of 2-D or 3-D positions (per level: positions scaled,
  Floor, Cast to int64, corner offsets, times large primes, summed, the remainder by the
  table size, a Gather from a table of 2^12-2^18 rows of 2-8 features, bilinear or
  trilinear weights as a product over the axes; a table per level, or all levels
  vectorised through one table) and a tiny MLP (NeRF-like with a spherical-harmonics
  direction encoding, or not); or hashed-embedding recommenders (ids from the float
  input by ``torch.remainder((x.abs() * 1000).long(), buckets)``, a table per field:
  plain, quotient-remainder (an int64 floor division) or 2-3 hashes into one table;
  DLRM dot products, a factorisation machine, AutoInt-like attention over the fields or
  a concatenation; an MLP);
* ``trees``: NODE-like oblivious decision tree ensembles (feature selection by a
  softmax of a learnt matrix, thresholds and temperatures, sigmoid, sparsemoid or
  entmoid15 choices, per-depth choices multiplied to leaf weights by ``torch.prod``
  (ONNX ReduceProd), densely connected layers) or soft decision trees (sigmoid inner
  nodes, each leaf's path gathered and multiplied), pooled over the trees by a mean, a
  sum or ``torch.logsumexp`` (ReduceLogSumExp), on (1-4,096 rows, 8-512 features)
  inputs; a (rows, 1) score column scaled and shifted by scalars or (1,) weights, as
  rankers do.

The hashes sum the prime products (an int64 ReduceSum) where Instant-NGP XORs them:
torch's torchscript exporter, which every context network goes through, exports ``^``
for booleans only, and ONNX has no bitwise XOR before opset 18. No weights are read at
several places (no weight sharing, no tied tables). Every network has at most
:data:`MAX_PARAMS` weights and :data:`MAX_ELEMENTS` elements of its pairwise, per-corner
or per-leaf intermediates (the work MACs do not count). A seed names the same network
forever; this generation reads its own random stream (``default_rng([seed, 0xC0DE,
10])``). Builds plan a ninth of their networks from each of the second to tenth
generations (:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import MAX_MACS, _choice, drawn_within_macs, generation_rng
from hwnas.predictors.kernel_networks5 import macs5
from hwnas.predictors.kernel_sampler import _log_int

#: The first seed of the tenth generation.
GENERATION_10 = 90_000_000
MODES = ("pairwise", "hashed", "trees")
#: The most weights of one network (80 MB of float32).
MAX_PARAMS = 20_000_000
#: The most elements of a network's pairwise, per-corner or per-leaf intermediates (the
#: largest of each layer, summed over the layers): the work MACs do not count (about
#: 80 ms on one core here; a hash encoding's int64 arithmetic and sums over a middle axis
#: cost about five times as much an element, so it gets a fifth, soft trees a third).
MAX_ELEMENTS = 12_000_000
#: Instant-NGP's hash primes (the first axis is not scrambled).
_PRIMES = (1, 2654435761, 805459861)


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 10)


def _fit(
    z: dict[str, Any],
    rng: np.random.Generator,
    floors: dict[str, int],
    too_big: Callable[[], bool],
) -> None:
    """Shrink ``z`` while ``too_big()``: a random one of the keys of ``floors`` still above
    its floor to three quarters (at least the floor)."""
    while too_big():
        keys = [k for k, lo in floors.items() if z[k] > lo]
        if not keys:
            return
        k = _choice(rng, keys)
        z[k] = max(floors[k], z[k] * 3 // 4)


def _mlp(nn: Any, sizes: list[int], last: bool = True) -> Any:
    """Linear layers through ``sizes``, a ReLU after each (after the last one too where
    ``last``)."""
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if last or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------ pairwise


def _adjacency(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random undirected graph of ``n`` nodes with self-loops (mean degree 2 to 32), as
    a boolean (n, n) matrix."""
    degree = _log_int(rng, 2, max(2, min(32, n // 2)))
    adj = rng.random((n, n)) < degree / n
    adj |= adj.T
    np.fill_diagonal(adj, True)
    return adj


class _GAT:
    """The layers of GAT/GATv2-like nets: dense attention over all pairs of nodes."""

    @staticmethod
    def layer(
        nn: Any, dims: tuple[int, int, int, int], style: dict[str, bool], adj: np.ndarray
    ) -> Any:
        """A GAT layer of ``dims`` (nodes, in, heads, features) over the graph ``adj``: GAT
        (per-node source and target scores broadcast-added as (N, 1, H) + (1, N, H), a
        LeakyReLU) or GATv2 (``style["v2"]``: target and source projections broadcast-added
        as (N, 1, H, F) + (1, N, H, F), a LeakyReLU, times a learnt (H, F) vector, summed
        over F); masked by an additive 0/-1e9 matrix or ``torch.where`` of the boolean
        adjacency (``where``); a softmax over the neighbours: axis 1 of (N, N, H) and an
        einsum (``heads_last``), or the last axis of (H, N, N) and a matmul; the heads
        concatenated, a bias."""
        import torch

        n, fin, heads, f = dims
        v2, last = style["v2"], style["heads_last"]
        adjacency = torch.from_numpy(adj)
        adjacency = adjacency[..., None] if last else adjacency

        class Layer(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.src = nn.Linear(fin, heads * f, bias=False)
                self.dst = nn.Linear(fin, heads * f, bias=False) if v2 else None
                self.att = nn.Parameter(0.1 * torch.randn(heads, f))
                self.att_dst = None if v2 else nn.Parameter(0.1 * torch.randn(heads, f))
                self.bias = nn.Parameter(torch.zeros(heads * f))
                mask = adjacency if style["where"] else (~adjacency).float() * -1e9
                self.register_buffer("mask", mask)

            def scores(self, h: Any, x: Any) -> Any:  # (N, N, H): row i attends to j
                if self.dst is None:
                    a_src, a_dst = (h * self.att).sum(-1), (h * self.att_dst).sum(-1)
                    return nn.functional.leaky_relu(a_dst[:, None] + a_src[None], 0.2)
                g = self.dst(x).reshape(n, heads, f)
                return (nn.functional.leaky_relu(g[:, None] + h[None], 0.2) * self.att).sum(-1)

            def forward(self, x: Any) -> Any:
                h = self.src(x).reshape(n, heads, f)
                e = self.scores(h, x) if last else self.scores(h, x).permute(2, 0, 1)
                e = torch.where(self.mask, e, -9e15) if style["where"] else e + self.mask
                if last:
                    out = torch.einsum("ijh,jhf->ihf", torch.softmax(e, 1), h)
                else:
                    out = (torch.softmax(e, -1) @ h.transpose(0, 1)).transpose(0, 1)
                return out.reshape(n, heads * f) + self.bias

        return Layer()


def _gat(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A GAT/GATv2-like net on (1, N, in) node features: 1-3 layers (ELU after each), each
    over its own random graph, a Linear head per node or on the mean node; within
    :data:`MAX_ELEMENTS` and :data:`MAX_MACS` (fewer layers, nodes, heads or features)."""
    z = {"n": _log_int(rng, 16, 2048), "fin": _log_int(rng, 8, 512)}
    z.update(heads=int(rng.integers(1, 9)), f=_choice(rng, [8, 16, 32, 64]))
    z.update(layers=int(rng.integers(1, 4)))
    style = {"v2": bool(rng.random() < 0.6), "heads_last": bool(rng.random() < 0.5)}
    style["where"] = bool(rng.random() < 0.5)
    classes, pooled = _choice(rng, [2, 3, 7, 16, 40]), bool(rng.random() < 0.3)

    def too_big() -> bool:
        n, hf, proj = z["n"], z["heads"] * z["f"], 2 if style["v2"] else 1
        pairs = n * n * z["heads"] * (z["f"] if style["v2"] else 1)
        work = n * (z["fin"] + (z["layers"] - 1) * hf) * hf * proj + z["layers"] * n * n * hf
        return z["layers"] * pairs > MAX_ELEMENTS or work > MAX_MACS

    _fit(z, rng, {"n": 16, "heads": 1, "f": 8, "layers": 1}, too_big)
    n, hf = z["n"], z["heads"] * z["f"]
    layers = [
        _GAT.layer(
            nn, (n, z["fin"] if i == 0 else hf, z["heads"], z["f"]), style, _adjacency(rng, n)
        )
        for i in range(z["layers"])
    ]

    class GAT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.head = nn.Linear(hf, classes)

        def forward(self, x: Any) -> Any:
            h = x[0]
            for layer in self.layers:
                h = nn.functional.elu(layer(h))
            return self.head(h.mean(0, keepdim=True) if pooled else h)

    return GAT(), (1, n, z["fin"])


class _Points:
    """The layers of PointNet++-like nets: neighbourhoods by broadcast squared distances."""

    @staticmethod
    def down(nn: Any, sizes: tuple[int, int, int, int], group: str, in_features: bool) -> Any:
        """A set abstraction of ``sizes`` (stride, neighbours, in, out channels) on (P, 3)
        coordinates and (P, C) features: every stride-th point a centre; squared
        distances from the centres to all points, (M, 1, C) - (1, P, C) squared and summed
        (C the coordinates, or the features where ``in_features``, as DGCNN's dynamic
        graphs); the k nearest (TopK of the smallest; their coordinates relative to the
        centre and their features gathered, a shared MLP, a max over the neighbours) or,
        for ``soft``, a softmax of the scaled distances weighting all points' features."""
        import torch

        r, k, c, out = sizes

        class Down(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mlp = _mlp(nn, [c + 3, out, out])
                if group == "soft":
                    self.beta = nn.Parameter(torch.full((), 4.0))

            def forward(self, xyz: Any, feats: Any) -> tuple[Any, Any]:
                centres = xyz[::r]
                a, b = (feats[::r], feats) if in_features else (centres, xyz)
                d = ((a[:, None] - b[None]) ** 2).sum(-1)
                if group == "soft":
                    w = torch.softmax(-self.beta * d, -1)
                    return centres, self.mlp(torch.cat([centres, w @ feats], -1))
                idx = d.topk(k, -1, largest=False)[1]
                g = torch.cat([xyz[idx] - centres[:, None], feats[idx]], -1)
                return centres, self.mlp(g).max(1)[0]

        return Down()

    @staticmethod
    def up(nn: Any, sizes: tuple[int, int, int]) -> Any:
        """A feature propagation of ``sizes`` (fine, coarse, out channels): squared
        distances from each fine point to the coarse ones by broadcasting, the 3 nearest
        (TopK), inverse-distance weights normalised, the coarse features gathered and
        weighted, concatenated with the fine point's, a shared MLP."""
        import torch

        fine, coarse, out = sizes

        class Up(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mlp = _mlp(nn, [fine + coarse, out, out])

            def forward(self, xyz: Any, feats: Any, cxyz: Any, cfeats: Any) -> Any:
                d = ((xyz[:, None] - cxyz[None]) ** 2).sum(-1)
                dist, idx = d.topk(3, -1, largest=False)
                w = 1.0 / (dist + 1e-8)
                w = w / w.sum(-1, keepdim=True)
                return self.mlp(torch.cat([(cfeats[idx] * w[..., None]).sum(1), feats], -1))

        return Up()


def _points_plan(rng: np.random.Generator) -> dict[str, Any]:
    """Points, channels, levels, stride, neighbours, width and grouping of a point net of
    at most :data:`MAX_ELEMENTS` and :data:`MAX_MACS` (fewer points, levels, neighbours or
    a narrower width); the levels stop where fewer than 4 points would be left."""
    z: dict[str, Any] = {"n": _log_int(rng, 64, 2048), "cin": _choice(rng, [3, 3, 6])}
    z.update(levels=int(rng.integers(1, 4)), r=_choice(rng, [2, 4, 4, 8]))
    z.update(k=_choice(rng, [8, 16, 16, 32]), width=_choice(rng, [32, 64, 64, 128]))
    z.update(group=_choice(rng, ["knn", "knn", "soft"]), space=bool(rng.random() < 0.3))
    z["segment"] = bool(rng.random() < 0.4)

    def cost() -> tuple[int, int]:  # elements, MACs
        p, c, elements, work = z["n"], z["cin"], 0, 0
        for i in range(z["levels"]):
            m, out = -(-p // z["r"]), z["width"] * 2**i
            near = p if z["group"] == "soft" else min(z["k"], p)
            elements += m * p * (c if z["space"] else 3) + m * near * (c + 3)
            work += m * near * ((c + 3) * out + out * out) + (m * p * c if near == p else 0)
            if z["segment"]:  # propagation back to the p points
                elements += p * m * 3
                work += p * ((c + out) * out + out * out)
            p, c = m, out
        return elements, work

    _fit(
        z,
        rng,
        {"n": 64, "levels": 1, "k": 4, "width": 16},
        lambda: cost()[0] > MAX_ELEMENTS or cost()[1] > MAX_MACS,
    )
    return z


def _points(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A PointNet++-like net on (1, N, 3 or 6) points: set abstractions (k nearest or a
    softmax weighting), then a global max and an MLP to classes, or (segmentation)
    feature propagations back to every point and a per-point Linear."""
    z = _points_plan(rng)
    downs, chans, p, c = [], [z["cin"]], z["n"], z["cin"]
    for i in range(z["levels"]):
        if -(-p // z["r"]) < 4:
            break
        out = z["width"] * 2**i
        sizes = (z["r"], min(z["k"], p), c, out)
        downs.append(_Points.down(nn, sizes, z["group"], z["space"] and i > 0))
        p, c = -(-p // z["r"]), out
        chans.append(c)
    ups, coarse = [], c
    for i in reversed(range(len(downs) if z["segment"] else 0)):
        ups.append(_Points.up(nn, (chans[i], coarse, chans[i + 1])))
        coarse = chans[i + 1]
    classes = _choice(rng, [10, 13, 16, 40, 50])

    class PointNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.downs, self.ups = nn.ModuleList(downs), nn.ModuleList(ups)
            self.head = _mlp(nn, [coarse, 128, classes], last=False)

        def forward(self, x: Any) -> Any:
            levels = [(x[0, :, :3], x[0])]
            for down in self.downs:
                levels.append(down(*levels[-1]))
            xyz, feats = levels[-1]
            if not self.ups:
                return self.head(feats.max(0, keepdim=True)[0])
            for up, (fxyz, ffeats) in zip(self.ups, reversed(levels[:-1]), strict=True):
                feats, xyz = up(fxyz, ffeats, xyz, feats), fxyz
            return self.head(feats)

    return PointNet(), (1, z["n"], z["cin"])


class _Relative:
    """Attention with relative-position bias tables added to its scores."""

    @staticmethod
    def window_index(w: int) -> np.ndarray:
        """Swin's relative-position index of a w x w window: (w*w, w*w) into (2w-1)^2
        buckets."""
        yx = np.stack(np.meshgrid(np.arange(w), np.arange(w), indexing="ij")).reshape(2, -1)
        rel = yx[:, :, None] - yx[:, None, :] + (w - 1)
        return rel[0] * (2 * w - 1) + rel[1]

    @staticmethod
    def shift_mask(g: int, w: int) -> np.ndarray:
        """Swin's mask of the shifted windows of a g x g grid: (windows, 1, w*w, w*w), -100
        between tokens of different regions."""
        s = w // 2
        region = np.zeros((g, g), np.int64)
        cuts = (slice(0, -w), slice(-w, -s), slice(-s, None))
        for i, a in enumerate(cuts):
            for j, b in enumerate(cuts):
                region[a, b] = 3 * i + j
        win = region.reshape(g // w, w, g // w, w).transpose(0, 2, 1, 3).reshape(-1, w * w)
        mask = np.where(win[:, :, None] != win[:, None, :], -100.0, 0.0)
        return mask[:, None].astype(np.float32)

    @staticmethod
    def block(
        nn: Any, dims: tuple[int, int, int, int], index: np.ndarray, mask: np.ndarray | None
    ) -> Any:
        """A pre-norm transformer block on (windows, n, d) inputs of ``dims`` (windows, n, d,
        heads): the attention scores plus a relative-position bias (the block's learnt
        (buckets, heads) table gathered by the constant (n, n) ``index``, permuted to
        (heads, n, n)) and ``mask`` where given; a softmax; a GELU MLP."""
        import torch

        nw, n, d, heads = dims
        hd, buckets = d // heads, int(index.max()) + 1

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
                self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
                self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
                self.table = nn.Parameter(0.02 * torch.randn(buckets, heads))
                self.register_buffer("index", torch.from_numpy(index.reshape(-1)).long())
                self.register_buffer("mask", None if mask is None else torch.from_numpy(mask))

            def forward(self, x: Any) -> Any:
                y = self.qkv(self.n1(x)).reshape(nw, n, 3, heads, hd)
                q, k, v = y.permute(2, 0, 3, 1, 4)
                bias = self.table[self.index].reshape(n, n, heads).permute(2, 0, 1)
                s = q @ k.transpose(-1, -2) * hd**-0.5 + bias
                if self.mask is not None:
                    s = s + self.mask
                x = x + self.proj((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(nw, n, d))
                return x + self.mlp(self.n2(x))

        return Block()

    @staticmethod
    def swin(nn: Any, g: int, w: int, dims: tuple[int, int], shift: bool) -> Any:
        """A Swin block of ``dims`` (width, heads) on a (g, g, d) grid: rolled back by half
        a window where ``shift`` (with the shifted windows' mask), partitioned into w x w
        windows, the block, the windows put back, rolled forward."""
        import torch

        d, heads = dims
        s, nw = w // 2 if shift else 0, (g // w) ** 2
        mask = _Relative.shift_mask(g, w) if shift else None
        inner = _Relative.block(nn, (nw, w * w, d, heads), _Relative.window_index(w), mask)

        class Swin(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x: Any) -> Any:
                if s:
                    x = torch.roll(x, (-s, -s), (0, 1))
                x = x.reshape(g // w, w, g // w, w, d).transpose(1, 2).reshape(nw, w * w, d)
                x = self.inner(x).reshape(g // w, g // w, w, w, d).transpose(1, 2)
                x = x.reshape(g, g, d)
                return torch.roll(x, (s, s), (0, 1)) if s else x

        return Swin()

    @staticmethod
    def merge(nn: Any, d: int) -> Any:
        """Swin's patch merging of a (g, g, d) grid: the four 2x2 neighbours concatenated
        (strided slices), a LayerNorm, a Linear to 2d."""
        import torch

        class Merge(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.norm, self.reduce = nn.LayerNorm(4 * d), nn.Linear(4 * d, 2 * d, bias=False)

            def forward(self, x: Any) -> Any:
                x = torch.cat([x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]], -1)
                return self.reduce(self.norm(x))

        return Merge()


def _swin(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A Swin-like classifier of a (1, 3, H, W) image: a patch-embedding conv, 1-3 stages
    (a windowed block, then a shifted one where the grid is wider than a window; patch
    merging between stages), a LayerNorm, a mean over the grid and a Linear; within
    :data:`MAX_MACS` and :data:`MAX_ELEMENTS` (a smaller grid, fewer stages, heads or
    blocks)."""
    z = {"w": _choice(rng, [4, 7, 8]), "stages": int(rng.integers(1, 4))}
    z.update(
        m=int(rng.integers(1, 5)), heads=_choice(rng, [1, 2, 3, 4]), depth=_choice(rng, [1, 2, 2])
    )
    patch, hd, classes = _choice(rng, [2, 4, 4]), 32, _choice(rng, [10, 100, 1000])

    def too_big() -> bool:
        g, work, elements = z["w"] * 2 ** (z["stages"] - 1) * z["m"], 0, 0
        for i in range(z["stages"]):
            n, d = (g >> i) ** 2, z["heads"] * hd * 2**i
            work += z["depth"] * (n * 12 * d * d + 2 * n * z["w"] ** 2 * d)
            elements += z["depth"] * n * z["heads"] * 2**i * z["w"] ** 2
        return work > MAX_MACS or elements > MAX_ELEMENTS

    _fit(z, rng, {"m": 1, "stages": 1, "heads": 1, "depth": 1}, too_big)
    w, g = z["w"], z["w"] * 2 ** (z["stages"] - 1) * z["m"]
    d0, layers = z["heads"] * hd, []
    for i in range(z["stages"]):
        d, heads, side = d0 * 2**i, z["heads"] * 2**i, g >> i
        for j in range(z["depth"]):
            layers.append(_Relative.swin(nn, side, w, (d, heads), j % 2 == 1 and side > w))
        if i < z["stages"] - 1:
            layers.append(_Relative.merge(nn, d))
    d = d0 * 2 ** (z["stages"] - 1)

    class Swin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.norm = nn.Conv2d(3, d0, patch, patch), nn.LayerNorm(d0)
            self.layers = nn.Sequential(*layers)
            self.out_norm, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x: Any) -> Any:
            h = self.layers(self.norm(self.embed(x)[0].permute(1, 2, 0)))
            return self.head(self.out_norm(h).mean((0, 1))[None])

    return Swin(), (1, 3, g * patch, g * patch)


def _relative_1d(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A transformer encoder on (1, T, d) tokens whose blocks add relative-position biases
    of clipped distances (a table of 2K+1 buckets per block and head, gathered by the
    constant (T, T) index ``clip(j - i, -K, K) + K``); a LayerNorm, then a Linear per
    token or on the mean token; within :data:`MAX_MACS` and :data:`MAX_ELEMENTS`."""
    z = {
        "t": _log_int(rng, 16, 512),
        "heads": int(rng.integers(1, 9)),
        "layers": int(rng.integers(1, 5)),
    }
    hd, clip, pooled = (
        _choice(rng, [32, 64]),
        _choice(rng, [8, 16, 32, 64, 128]),
        rng.random() < 0.5,
    )

    def too_big() -> bool:
        t, d = z["t"], z["heads"] * hd
        work = z["layers"] * (t * 12 * d * d + 2 * t * t * d)
        return work > MAX_MACS or z["layers"] * z["heads"] * t * t > MAX_ELEMENTS

    _fit(z, rng, {"t": 8, "heads": 1, "layers": 1}, too_big)
    t, d = z["t"], z["heads"] * hd
    index = np.clip(np.arange(t)[None] - np.arange(t)[:, None], -clip, clip) + clip
    blocks = [_Relative.block(nn, (1, t, d, z["heads"]), index, None) for _ in range(z["layers"])]
    out = _choice(rng, [2, 10, 100])

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*blocks)
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, out)

        def forward(self, x: Any) -> Any:
            h = self.norm(self.blocks(x))
            return self.head(h.mean(1) if pooled else h)

    return Encoder(), (1, t, d)


def random_pairwise(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A network of dense pairwise scores built by broadcasting: a GAT/GATv2-like graph
    net, a PointNet++-like point net or attention with relative-position biases."""
    import torch

    rng, _ = _rng(seed, 1)
    build = _choice(rng, [_gat, _gat, _points, _swin, _relative_1d])
    net, shape = build(torch.nn, rng)
    return net.eval(), shape


# -------------------------------------------------------------------------------- hashed


def _corners(d: int) -> np.ndarray:
    """The 2^d corners of a unit cell, (2^d, d) of 0 and 1."""
    return np.array(list(itertools.product([0, 1], repeat=d)), np.int64)


class _Hash:
    """Multiresolution hash encodings (Instant-NGP): int64 index arithmetic and gathers."""

    @staticmethod
    def level(nn: Any, dims: tuple[int, int, int, int], where: bool) -> Any:
        """One level of ``dims`` (axes d, resolution, table rows, features) of (N, d)
        positions: scaled, Floor, the fractions, Cast to int64, the 2^d corners added,
        times the hash primes (or, where the whole grid fits the table, the grid's
        strides), summed, the remainder by the table rows, a Gather of (N, 2^d, F), the
        corners' weights as a product over the axes of the fractions or one minus them
        (``torch.where`` of the corner bits, or arithmetic), the weighted sum."""
        import torch

        d, res, rows, f = dims
        hashed = (res + 1) ** d > rows
        mult = _PRIMES[:d] if hashed else tuple((res + 1) ** i for i in range(d))
        bits = torch.from_numpy(_corners(d))

        class Level(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.table = nn.Parameter(torch.empty(rows, f).uniform_(-1e-4, 1e-4))
                self.register_buffer("corners", bits)
                self.register_buffer("mult", torch.tensor(mult, dtype=torch.int64))
                self.register_buffer("on", bits.bool() if where else bits.float())

            def forward(self, pos: Any) -> Any:
                p = pos * float(res)
                base = torch.floor(p)
                frac = (p - base)[:, None]
                idx = torch.remainder(
                    ((base.long()[:, None] + self.corners) * self.mult).sum(-1), rows
                )
                if where:
                    w = torch.where(self.on, frac, 1 - frac).prod(-1)
                else:
                    w = (self.on * frac + (1 - self.on) * (1 - frac)).prod(-1)
                return (w[..., None] * self.table[idx]).sum(1)

        return Level()

    @staticmethod
    def grid(nn: Any, d: int, res: list[int], rows: list[int], f: int) -> Any:
        """All levels at once (as pure-torch ports vectorise them): (N, L, d) scaled
        positions, (N, L, 2^d, d) int64 corners times the primes, summed, the remainder by
        each level's rows plus its offset, one Gather of (N, L, 2^d, F) from one table of
        every level's rows, trilinear or bilinear weights, (N, L * F)."""
        import torch

        offsets = np.cumsum([0, *rows[:-1]])
        bits = torch.from_numpy(_corners(d))

        class Grid(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.table = nn.Parameter(torch.empty(sum(rows), f).uniform_(-1e-4, 1e-4))
                self.register_buffer("res", torch.tensor(res, dtype=torch.float32)[:, None])
                self.register_buffer("corners", bits)
                self.register_buffer("on", bits.bool())
                self.register_buffer("primes", torch.tensor(_PRIMES[:d], dtype=torch.int64))
                self.register_buffer("rows", torch.tensor(rows, dtype=torch.int64)[:, None])
                self.register_buffer("offsets", torch.from_numpy(offsets)[:, None])

            def forward(self, pos: Any) -> Any:
                p = pos[:, None] * self.res
                base = torch.floor(p)
                frac = (p - base)[:, :, None]
                h = ((base.long()[:, :, None] + self.corners) * self.primes).sum(-1)
                idx = torch.remainder(h, self.rows) + self.offsets
                w = torch.where(self.on, frac, 1 - frac).prod(-1)
                return (w[..., None] * self.table[idx]).sum(2).flatten(1)

        return Grid()

    @staticmethod
    def harmonics(dirs: Any) -> Any:
        """The spherical harmonics of degree 0-2 of (N, 3) directions (normalised first):
        (N, 9), elementwise products of the components."""
        import torch

        dirs = dirs / dirs.norm(dim=-1, keepdim=True)
        x, y, z = dirs[:, 0], dirs[:, 1], dirs[:, 2]
        terms = [torch.full_like(x, 0.28209479), -0.48860251 * y, 0.48860251 * z]
        terms += [-0.48860251 * x, 1.09254843 * x * y, -1.09254843 * y * z]
        terms += [0.31539157 * (3 * z * z - 1), -1.09254843 * x * z, 0.54627421 * (x * x - y * y)]
        return torch.stack(terms, -1)


def _ngp_plan(rng: np.random.Generator) -> dict[str, Any]:
    """Axes, levels, features, table rows (log2), rows of positions and the MLP of a hash
    encoding of at most :data:`MAX_PARAMS` (smaller tables) and a fifth of
    :data:`MAX_ELEMENTS` corner values (fewer positions or levels); each level's
    resolution from ``n_min`` to ``n_max`` by a constant factor and its table
    ``min(2^log2t, (res + 1)^d)`` rows (to a multiple of 8)."""
    z: dict[str, Any] = {"d": _choice(rng, [2, 3, 3]), "levels": int(rng.integers(4, 17))}
    z.update(f=_choice(rng, [2, 2, 4, 8]), log2t=int(rng.integers(12, 19)))
    z.update(n=_log_int(rng, 64, 16384), hidden=_choice(rng, [16, 32, 64, 64, 128]))
    z.update(depth=int(rng.integers(1, 4)), n_min=_choice(rng, [8, 16, 16, 32]))
    z["n_max"] = _choice(rng, [256, 512, 1024, 2048, 4096])

    def sizes() -> tuple[list[int], list[int]]:
        levels = z["levels"]
        b = math.exp(math.log(z["n_max"] / z["n_min"]) / max(1, levels - 1))
        res = [int(z["n_min"] * b**i) for i in range(levels)]
        rows = [min(2 ** z["log2t"], -(-((r + 1) ** z["d"]) // 8) * 8) for r in res]
        return res, rows

    def too_big() -> bool:
        corners = z["n"] * z["levels"] * 2 ** z["d"]
        too_many = corners * (z["d"] + z["f"]) > MAX_ELEMENTS // 5
        return sum(sizes()[1]) * z["f"] > MAX_PARAMS or too_many

    _fit(z, rng, {"log2t": 12}, lambda: sum(sizes()[1]) * z["f"] > MAX_PARAMS)
    _fit(z, rng, {"n": 64, "levels": 4}, too_big)
    z["res"], z["rows"] = sizes()
    return z


def _ngp(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """An Instant-NGP-like field on (N, d) positions (NeRF-like: (N, 6), positions and
    view directions): positions normalised to the scene's box (and clamped, or not), a
    multiresolution hash encoding (a module per level, or vectorised), a density MLP; for
    NeRF the density's features and the directions' spherical harmonics through a colour
    MLP, a sigmoid."""
    import torch

    z = _ngp_plan(rng)
    d, f, levels, h = z["d"], z["f"], z["levels"], z["hidden"]
    nerf, clamp = d == 3 and rng.random() < 0.5, rng.random() < 0.5
    span = _choice(rng, [1.0, 2.0, 4.0])
    where = rng.random() < 0.5
    if rng.random() < 0.5:
        encs = [
            _Hash.level(nn, (d, r, t, f), where) for r, t in zip(z["res"], z["rows"], strict=True)
        ]
    else:
        encs = [_Hash.grid(nn, d, z["res"], z["rows"], f)]
    out = 16 if nerf else _choice(rng, [1, 3, 4])

    class Field(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encs = nn.ModuleList(encs)
            self.density = _mlp(nn, [levels * f] + [h] * z["depth"] + [out], last=False)
            self.colour = _mlp(nn, [15 + 9, h, h, 3], last=False) if nerf else None

        def forward(self, x: Any) -> Any:
            pos = (x[:, :d] + span) / (2 * span)
            pos = pos.clamp(0, 1) if clamp else pos
            y = self.density(torch.cat([enc(pos) for enc in self.encs], -1))
            if self.colour is None:
                return y
            rgb = self.colour(torch.cat([y[:, 1:], _Hash.harmonics(x[:, 3:])], -1))
            return torch.cat([torch.exp(y[:, :1]), torch.sigmoid(rgb)], -1)

    return Field(), (z["n"], d + 3 if nerf else d)


class _Hashed:
    """The parts of hashed-embedding recommenders: run-time ids, tables, interactions."""

    @staticmethod
    def field(nn: Any, kind: str, buckets: int, sizes: tuple[int, int]) -> Any:
        """The embedding of one field's (rows,) int64 ids of ``sizes`` (width, extra):
        ``mod`` (a Gather of the remainder by ``buckets``), ``qr`` (the remainder by
        ``buckets``, its floor quotient and its remainder by ``extra`` collisions gathered
        from two tables, multiplied: DLRM's quotient-remainder trick) or ``multi``
        (``extra`` hashes ``(id * a + b) mod buckets`` gathered from one table by one
        Gather and summed)."""
        import torch

        dim, extra = sizes

        class Field(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if kind == "qr":
                    self.q, self.r = (
                        nn.Embedding(-(-buckets // extra), dim),
                        nn.Embedding(extra, dim),
                    )
                else:
                    self.t = nn.Embedding(buckets, dim)
                if kind == "multi":
                    a, b = (_PRIMES[1], _PRIMES[2], 2246822519), (0, 374761393, 668265263)
                    self.register_buffer("a", torch.tensor(a[:extra], dtype=torch.int64))
                    self.register_buffer("b", torch.tensor(b[:extra], dtype=torch.int64))

            def forward(self, ids: Any) -> Any:
                if kind == "mod":
                    return self.t(torch.remainder(ids, buckets))
                if kind == "multi":
                    return self.t(torch.remainder(ids[:, None] * self.a + self.b, buckets)).sum(1)
                h = torch.remainder(ids, buckets)
                q = torch.div(h, extra, rounding_mode="floor")
                return self.q(q) * self.r(torch.remainder(h, extra))

        return Field()

    @staticmethod
    def interaction(nn: Any, kind: str, dims: tuple[int, int, int]) -> tuple[Any, int]:
        """(module, output width) of ``kind`` on (rows, fields, dim) embeddings of ``dims``
        (rows, fields, dim): ``dot`` (DLRM: the dot products of every pair by a batched
        matmul, the upper triangle gathered), ``fm`` (a factorisation machine: 0.5 *
        (squared sum - sum of squares)), ``autoint`` (multi-head self-attention over the
        fields, a residual Linear, a ReLU, flattened) or ``concat`` (flattened)."""
        import torch

        rows, fields, dim = dims
        li, lj = np.triu_indices(fields, 1)
        heads = 2 if dim >= 16 else 1
        width = {"dot": len(li), "fm": dim}.get(kind, fields * dim)

        class Interaction(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if kind == "autoint":
                    self.qkv = nn.Linear(dim, 3 * dim, bias=False)
                    self.res = nn.Linear(dim, dim, bias=False)
                self.register_buffer("pairs", torch.from_numpy(li * fields + lj))

            def forward(self, e: Any) -> Any:
                if kind == "dot":
                    return (e @ e.transpose(1, 2)).flatten(1)[:, self.pairs]
                if kind == "fm":
                    s = e.sum(1)
                    return 0.5 * (s * s - (e * e).sum(1))
                if kind == "concat":
                    return e.flatten(1)
                y = self.qkv(e).reshape(rows, fields, 3, heads, dim // heads)
                q, k, v = y.permute(2, 0, 3, 1, 4)
                a = (torch.softmax(q @ k.transpose(-1, -2), -1) @ v).transpose(1, 2)
                return torch.relu(a.reshape(rows, fields, dim) + self.res(e)).flatten(1)

        return Interaction(), width


def _recsys_plan(rng: np.random.Generator) -> dict[str, Any]:
    """Rows, dense features, fields, width, table kinds and sizes, interaction and top
    MLP of a hashed-embedding recommender: tables of at most 16,000,000 floats (the
    largest halved), then within :data:`MAX_MACS` (fewer rows or a narrower MLP)."""
    z: dict[str, Any] = {"rows": _log_int(rng, 1, 1024), "fields": int(rng.integers(4, 27))}
    z.update(dim=_choice(rng, [4, 8, 16, 32, 64]), dense=_choice(rng, [0, 4, 8, 13]))
    z.update(
        inter=_choice(rng, ["dot", "fm", "autoint", "concat"]),
        top=_choice(rng, [64, 256, 512, 1024]),
    )
    z.update(layers=int(rng.integers(1, 4)), floor=bool(rng.random() < 0.5))
    z["kinds"] = [_choice(rng, ["mod", "mod", "qr", "multi"]) for _ in range(z["fields"])]
    z["buckets"] = [_log_int(rng, 1000, 2**20) for _ in range(z["fields"])]
    z["extras"] = [
        _choice(rng, [4, 16, 64]) if k == "qr" else _choice(rng, [2, 3]) if k == "multi" else 1
        for k in z["kinds"]
    ]
    while sum(z["buckets"]) * z["dim"] > 16_000_000:
        i = int(np.argmax(z["buckets"]))
        z["buckets"][i] //= 2

    def too_big() -> bool:
        f, dim, top = z["fields"] + 1, z["dim"], z["top"]
        mlp = (f * f + f * dim + 64) * top + (z["layers"] - 1) * top * top
        return z["rows"] * (mlp + f * f * dim + 4 * f * dim * dim) > MAX_MACS

    _fit(z, rng, {"rows": 1, "top": 16}, too_big)
    return z


def _recsys(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A hashed-embedding recommender on (rows, dense + fields) floats: the fields' ids
    ``torch.remainder((x.abs() * 1000).long(), buckets)`` (Floor first, or not), a table
    (or two) per field, a bottom MLP of the dense features (a field of its own for the
    dot products and attention, else concatenated after), the interaction, a top MLP
    and a sigmoid."""
    import torch

    z = _recsys_plan(rng)
    rows, dense, dim, inter = z["rows"], z["dense"], z["dim"], z["inter"]
    joined = dense > 0 and inter in ("dot", "autoint")
    fields = [
        _Hashed.field(nn, kind, b, (dim, extra))
        for kind, b, extra in zip(z["kinds"], z["buckets"], z["extras"], strict=True)
    ]
    interaction, width = _Hashed.interaction(nn, inter, (rows, z["fields"] + joined, dim))
    width += dim if dense and not joined else 0

    class Recommender(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fields, self.interaction = nn.ModuleList(fields), interaction
            self.bottom = _mlp(nn, [dense, 64, dim]) if dense else None
            self.top = _mlp(nn, [width] + [z["top"]] * z["layers"] + [1], last=False)

        def forward(self, x: Any) -> Any:
            scaled = x[:, dense:].abs() * 1000
            ids = (torch.floor(scaled) if z["floor"] else scaled).long()
            e = [f(ids[:, i]) for i, f in enumerate(self.fields)]
            b = None if self.bottom is None else self.bottom(x[:, :dense])
            h = self.interaction(torch.stack(e + [b] if joined else e, 1))
            h = torch.cat([h, b], -1) if b is not None and not joined else h
            return torch.sigmoid(self.top(h))

    return Recommender(), (rows, dense + z["fields"])


def random_hashed(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A network of integer index arithmetic: an Instant-NGP-like hash-grid field or a
    hashed-embedding recommender."""
    import torch

    rng, _ = _rng(seed, 2)
    build = _choice(rng, [_ngp, _ngp, _recsys])
    net, shape = build(torch.nn, rng)
    return net.eval(), shape


# --------------------------------------------------------------------------------- trees


def _entmoid15(x: Any) -> Any:
    """NODE's entmoid15: the two-way 1.5-entmax of (x, 0) elementwise (absolute values, a
    square root of ``relu(8 - x^2)``, a comparison, squares and ``torch.where``)."""
    import torch

    a = x.abs()
    tau = (a + torch.sqrt(torch.relu(8 - a * a))) / 2
    tau = torch.where(tau <= a, torch.full_like(tau, 2.0), tau)
    y_neg = 0.25 * torch.relu(tau - a) ** 2
    return torch.where(x >= 0, 1 - y_neg, y_neg)


class _Trees:
    """Differentiable decision trees: NODE's oblivious trees and soft decision trees."""

    @staticmethod
    def oblivious(nn: Any, dims: tuple[int, int, int, int], choice: str) -> Any:
        """A NODE layer of ``dims`` (in features, trees, depth, outputs per tree) on (rows,
        in): each tree's feature at each depth chosen by a softmax over a learnt (in,
        trees, depth) matrix (folded to a constant by the exporter) and mixed in by an
        einsum; thresholds subtracted, learnt temperatures applied; each depth's two bins
        chosen by a sigmoid, a sparsemoid (a clamped line) or NODE's entmoid15
        (:func:`_entmoid15`); each leaf's bins picked by a
        constant one-hot code (an einsum) and multiplied over the depth (``torch.prod``:
        ReduceProd) to leaf weights; the leaves' learnt responses summed by them."""
        import torch

        fin, trees, depth, out = dims
        bits = _corners(depth).T.astype(np.float32)  # (depth, leaves)
        codes = np.stack([1 - bits, bits], -1)

        class Oblivious(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.select = nn.Parameter(torch.rand(fin, trees, depth))
                self.thresholds = nn.Parameter(torch.randn(trees, depth))
                self.log_temps = nn.Parameter(torch.zeros(trees, depth))
                self.response = nn.Parameter(torch.randn(trees, out, 2**depth))
                self.register_buffer("codes", torch.from_numpy(codes))

            def forward(self, x: Any) -> Any:
                values = torch.einsum("bi,ind->bnd", x, self.select.softmax(0))
                t = (values - self.thresholds) * torch.exp(-self.log_temps)
                bins = torch.stack([-t, t], -1)
                if choice == "entmoid":
                    bins = _entmoid15(bins)
                elif choice == "sigmoid":
                    bins = torch.sigmoid(bins)
                else:
                    bins = (0.5 * bins + 0.5).clamp(0, 1)
                w = torch.einsum("btds,dcs->btdc", bins, self.codes).prod(-2)
                return torch.einsum("bnd,ncd->bnc", w, self.response)

        return Oblivious()

    @staticmethod
    def soft(nn: Any, dims: tuple[int, int, int, int]) -> Any:
        """Soft decision trees (Frosst and Hinton; DNDF-like) of ``dims`` (in features,
        trees, depth, outputs per leaf): every inner node a sigmoid of a Linear of the
        input (one Gemm for all trees), each leaf's path of inner nodes gathered (a
        constant index) and its decisions or one minus them multiplied over the depth
        (``torch.prod``) to leaf probabilities, the leaves' learnt outputs summed by them
        (an einsum)."""
        import torch

        fin, trees, depth, out = dims
        leaves, inner = 2**depth, 2**depth - 1
        bits, node = _corners(depth), np.zeros(2**depth, np.int64)
        path = np.zeros_like(bits)
        for i in range(depth):  # heap order: node k's children are 2k + 1 and 2k + 2
            path[:, i], node = node, 2 * node + 1 + bits[:, i]

        class Soft(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = nn.Linear(fin, trees * inner)
                self.leaves = nn.Parameter(torch.randn(trees, leaves, out))
                self.register_buffer("path", torch.from_numpy(path.reshape(-1)))
                self.register_buffer("right", torch.from_numpy(bits.astype(bool)))

            def forward(self, x: Any) -> Any:
                d = torch.sigmoid(self.inner(x)).reshape(-1, trees, inner)
                dec = d.index_select(2, self.path).reshape(-1, trees, leaves, depth)
                mu = torch.where(self.right, dec, 1 - dec).prod(-1)
                return torch.einsum("btl,tlc->btc", mu, self.leaves)

        return Soft()


def _score(nn: Any, rng: np.random.Generator, width: int, fin: int) -> Any:
    """A (rows, 1) score column from the (rows, ``width``) pooled ensemble and the (rows,
    ``fin``) input, as rankers scale it: the first column, or a Linear to one; then
    times a learnt scalar plus a learnt (1,) bias (``affine``), times a learning rate plus
    a base score (``constant``: Python numbers), or plus a wide Linear of the input, each
    weighted by a scalar or (1,) weight (``wide``); a sigmoid, or not."""
    import torch

    style, sigmoid = _choice(rng, ["affine", "constant", "wide"]), rng.random() < 0.5
    rate, base = _choice(rng, [0.1, 0.3, 1.0]), _choice(rng, [0.0, 0.5, -1.2])
    project = width > 1 and rng.random() < 0.7

    class Score(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(width, 1) if project else None
            if style != "constant":
                self.scale = nn.Parameter(torch.ones(()))
                self.bias = nn.Parameter(torch.zeros(1))
            if style == "wide":
                self.wide, self.mix = nn.Linear(fin, 1), nn.Parameter(torch.full((1,), 0.5))

        def forward(self, pooled: Any, x: Any) -> Any:
            s = pooled[:, :1] if self.proj is None else self.proj(pooled)
            if style == "affine":
                s = s * self.scale + self.bias
            elif style == "constant":
                s = s * rate + base
            else:
                s = self.scale * s + self.mix * self.wide(x) + self.bias
            return torch.sigmoid(s) if sigmoid else s

    return Score()


def _trees_plan(rng: np.random.Generator) -> dict[str, Any]:
    """Rows, features, trees, depth, layers and outputs of a tree ensemble of at most
    :data:`MAX_ELEMENTS` leaf-by-depth elements (a third for soft trees, whose gather of
    each leaf's path and ``torch.where`` cost about three times as much an element),
    :data:`MAX_MACS` and :data:`MAX_PARAMS` (fewer rows, trees, layers or a smaller
    depth)."""
    z: dict[str, Any] = {"rows": _log_int(rng, 1, 4096), "fin": _log_int(rng, 8, 512)}
    z.update(trees=_log_int(rng, 8, 1024), depth=int(rng.integers(2, 9)))
    z.update(layers=int(rng.integers(1, 5)), out=_choice(rng, [1, 1, 2, 3]))
    z.update(soft=bool(rng.random() < 0.35))
    z.update(choice=_choice(rng, ["sigmoid", "sparsemoid", "entmoid"]))
    z.update(pool=_choice(rng, ["mean", "sum", "logsumexp"]), norm=bool(rng.random() < 0.5))
    z["layers"] = 1 if z["soft"] else z["layers"]

    def cost() -> tuple[int, int, int]:  # elements, MACs, weights
        rows, t, depth, out, leaves = z["rows"], z["trees"], z["depth"], z["out"], 2 ** z["depth"]
        elements = z["layers"] * rows * t * depth * leaves
        if z["soft"]:
            weights = z["fin"] * t * leaves + t * leaves * out
            return elements, rows * weights, weights
        fins = [z["fin"] + i * t * out for i in range(z["layers"])]
        weights = sum(fins) * t * depth + z["layers"] * t * out * leaves
        work = rows * weights + 2 * elements
        return elements, work, weights

    def too_big() -> bool:
        elements, work, weights = cost()
        most = MAX_ELEMENTS // 3 if z["soft"] else MAX_ELEMENTS
        return elements > most or work > MAX_MACS or weights > MAX_PARAMS

    _fit(z, rng, {"rows": 1, "trees": 4, "depth": 2, "layers": 1}, too_big)
    return z


def _trees(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A tree ensemble on (rows, features): a BatchNorm of the input (or none), NODE's
    densely connected layers of oblivious trees (each reading the input and every earlier
    layer's outputs) or one forest of soft trees; the trees' outputs pooled by a mean, a
    sum or ``torch.logsumexp``; a (rows, 1) score."""
    import torch

    z = _trees_plan(rng)
    fin, t, depth, out = z["fin"], z["trees"], z["depth"], z["out"]
    if z["soft"]:
        layers = [_Trees.soft(nn, (fin, t, depth, out))]
    else:
        layers = [
            _Trees.oblivious(nn, (fin + i * t * out, t, depth, out), z["choice"])
            for i in range(z["layers"])
        ]
    score, pool = _score(nn, rng, out, fin), z["pool"]

    class Forest(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.BatchNorm1d(fin) if z["norm"] else nn.Identity()
            self.layers, self.score = nn.ModuleList(layers), score

        def forward(self, x: Any) -> Any:
            feats, outs = self.norm(x), []
            for i, layer in enumerate(self.layers):
                outs.append(layer(feats))
                if i < len(self.layers) - 1:
                    feats = torch.cat([feats, outs[-1].flatten(1)], -1)
            h = torch.cat(outs, 1) if len(outs) > 1 else outs[0]
            if pool == "logsumexp":
                pooled = torch.logsumexp(h, 1)
            else:
                pooled = h.mean(1) if pool == "mean" else h.sum(1)
            return self.score(pooled, x)

    return Forest(), (z["rows"], fin)


def random_trees(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A soft or oblivious decision tree ensemble with a ranker's score column."""
    import torch

    rng, _ = _rng(seed, 3)
    net, shape = _trees(torch.nn, rng)
    return net.eval(), shape


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "pairwise": random_pairwise,
    "hashed": random_hashed,
    "trees": random_trees,
}


def drawn_10(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the tenth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 10, _DRAW, MODES, macs5)


def random_network_10(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the tenth generation from ``seed`` (:func:`drawn_10`)."""
    _, net, shape = drawn_10(seed)
    return net, shape
