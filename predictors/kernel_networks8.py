"""The eighth generation of random context networks (seeds from :data:`GENERATION_8`).

The eleventh held-out zoo was missed most where its models ran what no random network
of the earlier generations runs: FNO's spectral einsums (-45%: no network had drawn an
Einsum), N-BEATS's stacks of batch-1 Linears whose weights stream from memory (+28%), a
grouped-query LLaMA at 256 tokens (+20%) and DeepFM's embedding gathers from a large
table (-16%). This generation draws those designs, at random sizes:

* ``ranking``: click-through-rate rankers scoring (1, candidates, fields) rows: ids
  computed at run time gather from one flattened embedding table of 10,000 to 1,000,000
  rows (and sometimes a first-order weight table), an interaction (a factorisation
  machine, DCN cross layers, DLRM pairwise dot products or none), an MLP over the
  flattened embeddings, a sigmoid;
* ``forecast``: batch-1 MLP stacks on a (1, lookback) series: N-BEATS-like blocks
  (generic heads, or coefficients of constant trend or seasonality bases) with residual
  backcasts and summed forecasts, or a TiDE-like residual MLP encoder and decoder;
* ``spectral``: Fourier-neural-operator-like nets on 1-D or 2-D fields: a truncated DFT
  as matmuls by constant cos/sin bases, spectral mixing by einsums of learned weights,
  the inverse DFT, a pointwise conv, GELU; or GFNet/AFNO-like global filters in the DFT
  domain of image tokens;
* ``decoder``: LLaMA-like decoder blocks on (1, seq, d) inputs: RMSNorm, grouped-query
  attention with rotary embeddings and a causal mask, a SwiGLU MLP, a vocabulary head.

Every network has at most :data:`MAX_PARAMS` weights. A seed names the same network
forever; this generation reads its own random stream (``default_rng([seed, 0xC0DE, 8])``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import MAX_MACS, _choice, drawn_within_macs, generation_rng
from hwnas.predictors.kernel_networks5 import macs5

#: The first seed of the eighth generation.
GENERATION_8 = 70_000_000
MODES = ("ranking", "forecast", "spectral", "decoder")
#: The most weights of one network (80 MB of float32).
MAX_PARAMS = 20_000_000
#: The most floats of a ranker's embedding table.
MAX_TABLE = 16_000_000


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 8)


def _mlp(nn: Any, sizes: list[int]) -> list[Any]:
    """Linear and ReLU layers through ``sizes``."""
    layers: list[Any] = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return layers


def _linear_params(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


class _Ranking:
    """The parts of the ``ranking`` design."""

    @staticmethod
    def rows(rng: np.random.Generator, fields: int, total: int, dim: int) -> list[int]:
        """Rows of each field's slice of the table: skewed shares of ``total``, at most
        :data:`MAX_TABLE` floats in all."""
        share = np.exp(rng.normal(0.0, 1.5, fields))
        rows = [max(4, int(total * s / share.sum())) for s in share]
        while sum(rows) * dim > MAX_TABLE:
            rows = [max(4, r // 2) for r in rows]
        return rows

    @staticmethod
    def cross(nn: Any, rng: np.random.Generator, f: int, n: int) -> list[Any]:
        """``n`` DCN cross layers' maps of ``f`` features: full, or low-rank (DCN-Mix)
        where full ones would be large."""
        if f * f * n > 6_000_000 or rng.random() < 0.3:
            r = _choice(rng, [32, 64, 128, 256])
            return [nn.Sequential(nn.Linear(f, r, bias=False), nn.Linear(r, f)) for _ in range(n)]
        return [nn.Linear(f, f) for _ in range(n)]

    @staticmethod
    def parts(nn: Any, rng: np.random.Generator, plan: tuple[str, int, int, int]) -> Any:
        """(deep MLP, head, cross layers, dense bottom MLP, whether the deep MLP reads the
        cross layers' output) of a ``plan`` (interaction kind, sparse fields, embedding
        width, dense features)."""
        kind, sparse, dim, dense = plan
        flat = sparse * dim + dense
        widths = sorted(
            (_choice(rng, [64, 128, 200, 256, 400, 512, 1024]) for _ in range(rng.integers(1, 5))),
            reverse=True,
        )
        cross = _Ranking.cross(nn, rng, flat, int(rng.integers(1, 5))) if kind == "dcn" else []
        bottom = (
            nn.Sequential(*_mlp(nn, [dense, _choice(rng, [64, 128, 256]), dim]))
            if kind == "dlrm" and dense
            else nn.Identity()
        )
        n = sparse + (1 if dense else 0)
        inter = n * (n - 1) // 2 if kind == "dlrm" else 0
        stacked = kind == "dcn" and rng.random() < 0.5
        deep = nn.Sequential(*_mlp(nn, [flat + inter, *widths]))
        side = flat if kind == "dcn" and not stacked else 0
        head = nn.Linear(widths[-1] + side, 1)
        return deep, head, nn.ModuleList(cross), bottom, stacked

    @staticmethod
    def build(nn: Any, plan: tuple[str, int, int, int], rows: list[int], parts: Any) -> Any:
        import torch

        kind, sparse, dim, dense = plan
        scale, first = parts[5:]

        class Ranking(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.deep, self.head, self.cross, self.bottom, self.stacked = parts[:5]
                self.table = nn.Embedding(sum(rows), dim)
                nn.init.normal_(self.table.weight, 0.0, 0.05)
                self.first = nn.Parameter(torch.randn(sum(rows)) * 0.01) if first else None
                self.register_buffer("rows", torch.tensor(rows, dtype=torch.long))
                offsets = np.concatenate([[0], np.cumsum(rows)[:-1]])
                self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.long))
                n = sparse + (1 if dense else 0)
                upper = torch.triu_indices(n, n, 1)
                self.register_buffer("triu", upper[0] * n + upper[1])

            def interact(self, e: Any, flat: Any, x: Any) -> Any:
                if kind == "dlrm":
                    if dense:
                        e = torch.cat([self.bottom(x[..., :dense]).unsqueeze(2), e], 2)
                    t = e.reshape(-1, sparse + (1 if dense else 0), dim)
                    z = torch.bmm(t, t.transpose(1, 2)).flatten(1)[:, self.triu]
                    return self.head(self.deep(torch.cat([flat, z.unsqueeze(0)], -1)))
                if kind == "dcn":
                    y = flat
                    for layer in self.cross:
                        y = flat * layer(y) + y
                    if self.stacked:
                        return self.head(self.deep(y))
                    return self.head(torch.cat([self.deep(flat), y], -1))
                logit = self.head(self.deep(flat))
                if kind == "fm":
                    s = e.sum(2)
                    logit = logit + 0.5 * (s * s - (e * e).sum(2)).sum(-1, keepdim=True)
                return logit

            def forward(self, x: Any) -> Any:
                ids = (x[..., dense:].abs() * scale).long() % self.rows + self.offsets
                e = self.table(ids)
                flat = torch.cat([x[..., :dense], e.flatten(2)], -1) if dense else e.flatten(2)
                logit = self.interact(e, flat, x)
                if self.first is not None:
                    logit = logit + self.first[ids].sum(-1, keepdim=True)
                return torch.sigmoid(logit)

        return Ranking()


def random_ranking(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A CTR ranker (DeepFM, DCN, DLRM or a plain deep model) scoring a batch of
    candidates through run-time ids into one flattened embedding table."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 1)
    cands = _choice(rng, [1, 8, 16, 32, 64, 100, 128, 200, 256, 512])
    fields = int(rng.integers(8, 41))
    dense = min(_choice(rng, [0, 0, 4, 8, 13]), fields - 6)
    dim = _choice(rng, [4, 8, 10, 16, 16, 32, 64])
    total = _choice(rng, [10_000, 30_000, 100_000, 300_000, 1_000_000])
    kind = _choice(rng, ["fm", "dcn", "dlrm", "none"])
    first = kind == "fm" or rng.random() < 0.25
    scale = _choice(rng, [1_000, 100_000, 1_000_000])
    plan = (kind, fields - dense, dim, dense)
    parts = _Ranking.parts(nn, rng, plan)
    rows = _Ranking.rows(rng, fields - dense, total, dim)
    others = sum(p.numel() for m in parts[:4] for p in m.parameters())
    while sum(rows) * (dim + first) + others > MAX_PARAMS and max(rows) > 4:
        rows = [max(4, r // 2) for r in rows]
    per_row = others + (fields - dense + 1) ** 2 * dim
    while cands > 1 and cands * per_row > MAX_MACS:
        cands //= 2
    net = _Ranking.build(nn, plan, rows, (*parts, scale, first))
    return net.eval(), (1, cands, fields)


class _Forecast:
    """The parts of the ``forecast`` design."""

    @staticmethod
    def basis(kind: str, p: int, length: int) -> np.ndarray:
        """(p, length): the first ``p`` powers of time (``trend``) or a constant and the
        cosines and sines of ``p // 2`` harmonics (``seasonality``)."""
        t = np.arange(length) / length
        if kind == "trend":
            return np.stack([t**i for i in range(p)]).astype(np.float32)
        rows = [np.ones(length)]
        for k in range(1, p // 2 + 1):
            rows += [np.cos(2 * np.pi * k * t), np.sin(2 * np.pi * k * t)]
        return np.stack(rows).astype(np.float32)

    @staticmethod
    def nbeats_block(nn: Any, sizes: tuple[int, int, int, int], kind: str, p: int) -> Any:
        """An N-BEATS block of ``depth`` Linear+ReLU layers of ``width`` on a backcast of
        ``lookback``, whose heads are Linear (``generic``) or basis expansions."""
        import torch

        lookback, horizon, width, depth = sizes

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc = nn.Sequential(*_mlp(nn, [lookback] + [width] * depth))
                if kind == "generic":
                    self.back, self.fore = nn.Linear(width, lookback), nn.Linear(width, horizon)
                else:
                    self.back, self.fore = nn.Linear(width, p, False), nn.Linear(width, p, False)
                    for name, n in (("back_basis", lookback), ("fore_basis", horizon)):
                        self.register_buffer(name, torch.from_numpy(_Forecast.basis(kind, p, n)))

            def forward(self, x: Any) -> tuple[Any, Any]:
                h = self.fc(x)
                if kind == "generic":
                    return self.back(h), self.fore(h)
                return self.back(h) @ self.back_basis, self.fore(h) @ self.fore_basis

        return Block()

    @staticmethod
    def nbeats(nn: Any, blocks: list[Any]) -> Any:
        class NBeats(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.blocks = nn.ModuleList(blocks)

            def forward(self, x: Any) -> Any:
                forecast = None
                for block in self.blocks:
                    back, fore = block(x)
                    x = x - back
                    forecast = fore if forecast is None else forecast + fore
                return forecast

        return NBeats()

    @staticmethod
    def residual(nn: Any, a: int, hidden: int, b: int, norm: bool) -> Any:
        """TiDE's residual block: a two-layer MLP plus a linear skip, a layer norm."""

        class Residual(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mlp = nn.Sequential(nn.Linear(a, hidden), nn.ReLU(), nn.Linear(hidden, b))
                self.skip = nn.Linear(a, b)
                self.norm = nn.LayerNorm(b) if norm else nn.Identity()

            def forward(self, x: Any) -> Any:
                return self.norm(self.mlp(x) + self.skip(x))

        return Residual()


def _nbeats(nn: Any, rng: np.random.Generator, lookback: int, horizon: int) -> Any:
    """N-BEATS stacks (generic, interpretable or mixed) of at most :data:`MAX_PARAMS`."""
    width = _choice(rng, [128, 256, 512, 512, 1024, 2048])
    depth, count = int(rng.integers(2, 5)), int(rng.integers(2, 13))
    style = _choice(rng, ["generic", "generic", "interpretable", "mixed"])
    degree, harmonics = int(rng.integers(3, 6)), _choice(rng, [4, 8, 16, 32])

    def params(w: int, n: int) -> int:
        return n * (_linear_params([lookback] + [w] * depth) + w * (lookback + horizon + 2))

    while params(width, count) > MAX_PARAMS:
        count, width = (count - 1, width) if count > 2 else (count, width // 2)
    blocks = []
    for i in range(count):
        kind = {
            "generic": "generic",
            "interpretable": "trend" if i < count // 2 else "seasonality",
            "mixed": _choice(rng, ["generic", "trend", "seasonality"]),
        }[style]
        p = degree if kind == "trend" else 2 * min(harmonics, horizon // 2) + 1
        blocks.append(_Forecast.nbeats_block(nn, (lookback, horizon, width, depth), kind, p))
    return _Forecast.nbeats(nn, blocks)


def _tide(nn: Any, rng: np.random.Generator, lookback: int, horizon: int) -> Any:
    """A TiDE-like residual MLP encoder, decoder and per-step temporal decoder, with a
    global linear skip from the lookback to the horizon."""
    hidden = _choice(rng, [128, 256, 512, 1024, 2048])
    enc, dec = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p, temporal = _choice(rng, [4, 8, 16, 32]), _choice(rng, [16, 32, 64, 128])
    norm = rng.random() < 0.7

    def sizes() -> list[int]:
        return [lookback] + [hidden] * (enc + dec) + [horizon * p]

    def params() -> int:
        pairs = zip(sizes(), sizes()[1:], strict=False)
        return sum(a * hidden + hidden * b + a * b for a, b in pairs)

    while params() > MAX_PARAMS:
        p, hidden = (p // 2, hidden) if p > 4 else (p, hidden // 2)
    pairs = zip(sizes(), sizes()[1:], strict=False)
    blocks = [_Forecast.residual(nn, a, hidden, b, norm) for a, b in pairs]
    step = _Forecast.residual(nn, p, temporal, 1, False)
    skip = nn.Linear(lookback, horizon)

    class TiDE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks, self.step, self.skip = nn.Sequential(*blocks), step, skip

        def forward(self, x: Any) -> Any:
            y = self.step(self.blocks(x).reshape(1, horizon, p)).reshape(1, horizon)
            return y + self.skip(x)

    return TiDE()


def random_forecast(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A batch-1 MLP forecaster (N-BEATS-like, or TiDE-like) on a (1, lookback) series."""
    import torch

    rng, _ = _rng(seed, 2)
    horizon = _choice(rng, [6, 12, 24, 48, 96, 168, 192, 336, 720])
    lookback = min(720, max(24, horizon * _choice(rng, [1, 2, 3, 5, 7])))
    build = _nbeats if rng.random() < 0.7 else _tide
    return build(torch.nn, rng, lookback, horizon).eval(), (1, lookback)


def _dft(n: int, ks: list[int], inverse: str = "") -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the DFT over ``n`` points at frequencies ``ks``: forward (n, m)
    with the sine negated (``e^{-i t}``); ``inverse`` ``complex`` or ``real`` (m, n),
    divided by ``n`` (``real``: the frequencies but 0 and n/2 counted twice)."""
    angle = 2 * np.pi * np.outer(ks, np.arange(n)) / n
    if not inverse:
        return np.cos(angle).T.astype(np.float32), (-np.sin(angle)).T.astype(np.float32)
    weight = np.ones(len(ks))
    if inverse == "real":
        weight = np.array([1.0 if k == 0 or 2 * k == n else 2.0 for k in ks])
    scale = (weight / n)[:, None]
    return (np.cos(angle) * scale).astype(np.float32), (np.sin(angle) * scale).astype(np.float32)


class _Spectral:
    """The parts of the ``spectral`` design: DFTs as matmuls, spectral mixing."""

    @staticmethod
    def dft(nn: Any, cs: tuple[np.ndarray, np.ndarray], stacked: bool, io: str) -> Any:
        """A complex product ``(re + i im) (c + i s)`` by constant matrices, as 4 MatMuls,
        or 1 of the concatenated parts by a block matrix (``stacked``); ``io``:
        ``real_in`` (no ``im``), ``complex``, ``real_out`` (only the real part)."""
        import torch

        c, s = (torch.from_numpy(a) for a in cs)
        m = c.shape[1]

        class Dft(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.register_buffer("c", c)
                self.register_buffer("s", s)
                block = {
                    "real_in": torch.cat([c, s], 1),
                    "complex": torch.cat([torch.cat([c, s], 1), torch.cat([-s, c], 1)], 0),
                    "real_out": torch.cat([c, -s], 0),
                }[io]
                self.register_buffer("block", block if stacked else None)

            def forward(self, re: Any, im: Any = None) -> tuple[Any, Any]:
                if stacked:
                    y = (re if io == "real_in" else torch.cat([re, im], -1)) @ self.block
                    return (y, None) if io == "real_out" else (y[..., :m], y[..., m:])
                if io == "real_in":
                    return re @ self.c, re @ self.s
                if io == "real_out":
                    return re @ self.c - im @ self.s, None
                return re @ self.c - im @ self.s, re @ self.s + im @ self.c

        return Dft()

    @staticmethod
    def mixing(nn: Any, w: int, modes: tuple[int, ...], stacked: bool) -> Any:
        """FNO's spectral weights: a complex (w, w) map per mode by einsums, 4 real ones
        or 2 on the real and imaginary parts stacked along the batch."""
        import torch

        eq = "bixy,ioxy->boxy" if len(modes) == 2 else "bix,iox->box"

        class Mixing(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                scale = 1.0 / (w * w)
                self.wr = nn.Parameter(scale * torch.rand(w, w, *modes))
                self.wi = nn.Parameter(scale * torch.rand(w, w, *modes))

            def forward(self, re: Any, im: Any) -> tuple[Any, Any]:
                if stacked:
                    z = torch.cat([re, im], 0)
                    a, b = torch.einsum(eq, z, self.wr), torch.einsum(eq, z, self.wi)
                    return a[:1] - b[1:], a[1:] + b[:1]
                rr, ii = torch.einsum(eq, re, self.wr), torch.einsum(eq, im, self.wi)
                ri, ir = torch.einsum(eq, re, self.wi), torch.einsum(eq, im, self.wr)
                return rr - ii, ri + ir

        return Mixing()

    @staticmethod
    def fourier2d(nn: Any, size: tuple[int, int], keep: tuple[int, int], stacked: bool) -> Any:
        """The forward and inverse 2-D DFT of an (h, w) map keeping ``keep`` = (kh, kw)
        frequencies: the lowest ``kw`` along w (real input), the lowest and highest
        ``kh // 2`` along h (all ``h`` where ``kh == h``); the spectrum is (my, kh)."""
        h, w = size
        kh, kw = keep
        ks = list(range(h)) if kh == h else [*range(kh // 2), *range(h - kh // 2, h)]
        parts = (
            _Spectral.dft(nn, _dft(w, list(range(kw))), stacked, "real_in"),
            _Spectral.dft(nn, _dft(h, ks), stacked, "complex"),
            _Spectral.dft(nn, _dft(h, ks, "complex"), stacked, "complex"),
            _Spectral.dft(nn, _dft(w, list(range(kw)), "real"), stacked, "real_out"),
        )

        class Fourier2d(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fw, self.fh, self.ih, self.iw = parts

            def forward(self, x: Any, spectral: Any) -> Any:
                re, im = self.fw(x)
                re, im = self.fh(re.transpose(-1, -2), im.transpose(-1, -2))
                re, im = self.ih(*spectral(re, im))
                return self.iw(re.transpose(-1, -2), im.transpose(-1, -2))[0]

        return Fourier2d()

    @staticmethod
    def fourier1d(nn: Any, n: int, modes: int, stacked: bool) -> Any:
        """The forward and inverse real DFT over ``n`` points keeping the lowest
        ``modes`` frequencies."""
        ks = list(range(modes))
        parts = (
            _Spectral.dft(nn, _dft(n, ks), stacked, "real_in"),
            _Spectral.dft(nn, _dft(n, ks, "real"), stacked, "real_out"),
        )

        class Fourier1d(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fwd, self.inv = parts

            def forward(self, x: Any, spectral: Any) -> Any:
                return self.inv(*spectral(*self.fwd(x)))[0]

        return Fourier1d()

    @staticmethod
    def fno_layer(
        nn: Any, w: int, spatial: tuple[int, ...], modes: tuple[int, ...], stacked: bool
    ) -> Any:
        """One FNO layer: the spectral path (DFT, mixing, inverse) plus a 1x1 conv;
        ``modes``: (m,) in 1-D, (my, kh) in 2-D (the spectrum's layout)."""
        if len(spatial) == 2:
            fourier = _Spectral.fourier2d(
                nn, (spatial[0], spatial[1]), (modes[1], modes[0]), stacked
            )
        else:
            fourier = _Spectral.fourier1d(nn, spatial[0], modes[0], stacked)
        conv = nn.Conv2d if len(spatial) == 2 else nn.Conv1d

        class Layer(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fourier, self.pointwise = fourier, conv(w, w, 1)
                self.mixing = _Spectral.mixing(nn, w, modes, stacked)

            def forward(self, x: Any) -> Any:
                return self.fourier(x, self.mixing) + self.pointwise(x)

        return Layer()


def _fno_macs(w: int, spatial: tuple[int, ...], modes: tuple[int, ...], layers: int) -> int:
    """Multiply-accumulates of an FNO of ``layers`` (its DFTs, mixing, 1x1 convs, lift
    and projection)."""
    points, spectrum = math.prod(spatial), math.prod(modes)
    if len(spatial) == 2:
        h, wd = spatial
        dft = 4 * w * h * wd * modes[0] + 8 * w * modes[0] * h * modes[1]
    else:
        dft = 4 * w * points * modes[0]
    return layers * (dft + 4 * w * w * spectrum + w * w * points) + points * w * 140


def _fno_sizes(rng: np.random.Generator) -> tuple[int, tuple[int, ...], tuple[int, ...], int]:
    """(width, field shape, spectrum modes, layers) of an FNO, shrunk (modes, then width)
    to :data:`MAX_PARAMS` and :data:`MAX_MACS`."""
    w = _choice(rng, [16, 20, 24, 32, 48, 64])
    layers = int(rng.integers(2, 5))
    if rng.random() < 0.5:
        spatial: tuple[int, ...] = (_choice(rng, [16, 24, 32, 48, 64, 85, 96]),) * 2
        if rng.random() < 0.3:
            spatial = (spatial[0], _choice(rng, [16, 32, 64, 96]))
        keep = [min(_choice(rng, [4, 6, 8, 12, 16, 24, 32]), n // 2) for n in spatial]
    else:
        spatial = (_choice(rng, [64, 128, 256, 512, 1024]),)
        keep = [min(_choice(rng, [4, 8, 12, 16, 24, 32]), spatial[0] // 2)]

    def modes() -> tuple[int, ...]:  # (my along w, kh: the lowest and highest along h)
        return (keep[1], 2 * keep[0]) if len(keep) == 2 else (keep[0],)

    while 2 * layers * w * w * math.prod(modes()) > MAX_PARAMS or (
        _fno_macs(w, spatial, modes(), layers) > MAX_MACS and w > 16
    ):
        if max(keep) > 8:
            keep = [max(2, k // 2) for k in keep]
        else:
            w //= 2
    return w, spatial, modes(), layers


def _fno(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """An FNO on a (1, C, N) or (1, C, H, W) field: a lift with the grid coordinates
    appended (sometimes), FNO layers and GELU, a pointwise projection MLP."""
    import torch

    w, spatial, modes, layers = _fno_sizes(rng)
    c_in, c_out, grid = _choice(rng, [1, 2, 3, 4]), _choice(rng, [1, 1, 2, 3]), rng.random() < 0.5
    stacked = rng.random() < 0.5
    conv = nn.Conv2d if len(spatial) == 2 else nn.Conv1d
    blocks = [_Spectral.fno_layer(nn, w, spatial, modes, stacked) for _ in range(layers)]
    lift = conv(c_in + (len(spatial) if grid else 0), w, 1)
    proj = nn.Sequential(conv(w, 128, 1), nn.GELU(), conv(128, c_out, 1))
    axes = [torch.linspace(0, 1, n) for n in spatial]
    coords = torch.stack(torch.meshgrid(*axes, indexing="ij")).unsqueeze(0)

    class FNO(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lift, self.blocks, self.proj = lift, nn.ModuleList(blocks), proj
            self.act = nn.GELU()
            self.register_buffer("grid", coords if grid else None)

        def forward(self, x: Any) -> Any:
            x = self.lift(torch.cat([x, self.grid], 1) if self.grid is not None else x)
            for i, block in enumerate(self.blocks):
                x = block(x)
                x = self.act(x) if i < len(self.blocks) - 1 else x
            return self.proj(x)

    return FNO(), (1, c_in, *spatial)


class _Global:
    """GFNet/AFNO-like token mixing by a global filter in the DFT domain."""

    @staticmethod
    def afno(nn: Any, d: int, blocks: int, shape: tuple[int, int]) -> Any:
        """AFNO's filter: a block-diagonal complex two-layer MLP over the channels of
        every frequency (einsums), a ReLU between, a soft shrink."""
        import torch

        bs, eq = d // blocks, "bnixy,nio->bnoxy"

        class Afno(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.w = nn.Parameter(0.02 * torch.randn(4, blocks, bs, bs))

            def layer(self, re: Any, im: Any, wr: Any, wi: Any) -> tuple[Any, Any]:
                rr, ii = torch.einsum(eq, re, wr), torch.einsum(eq, im, wi)
                ri, ir = torch.einsum(eq, re, wi), torch.einsum(eq, im, wr)
                return rr - ii, ri + ir

            def forward(self, re: Any, im: Any) -> tuple[Any, Any]:
                split = (1, blocks, bs, *shape)
                re, im = self.layer(re.reshape(split), im.reshape(split), self.w[0], self.w[1])
                re, im = self.layer(torch.relu(re), torch.relu(im), self.w[2], self.w[3])
                shrink = nn.functional.softshrink
                return shrink(re, 0.01).reshape(1, d, *shape), shrink(im, 0.01).reshape(
                    1, d, *shape
                )

        return Afno()

    @staticmethod
    def gfnet(nn: Any, d: int, shape: tuple[int, int]) -> Any:
        """GFNet's filter: an elementwise complex multiply by a learned spectrum."""
        import torch

        class Filter(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.wr = nn.Parameter(1.0 + 0.02 * torch.randn(d, *shape))
                self.wi = nn.Parameter(0.02 * torch.randn(d, *shape))

            def forward(self, re: Any, im: Any) -> tuple[Any, Any]:
                return re * self.wr - im * self.wi, re * self.wi + im * self.wr

        return Filter()

    @staticmethod
    def block(nn: Any, d: int, grid: int, mixer: Any, ratio: int) -> Any:
        fourier = _Spectral.fourier2d(nn, (grid, grid), (grid, grid // 2 + 1), False)

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1, self.n2, self.mixer, self.fourier = (
                    nn.LayerNorm(d),
                    nn.LayerNorm(d),
                    mixer,
                    fourier,
                )
                self.mlp = nn.Sequential(
                    nn.Linear(d, ratio * d), nn.GELU(), nn.Linear(ratio * d, d)
                )

            def forward(self, x: Any) -> Any:
                y = self.fourier(self.n1(x).permute(0, 3, 1, 2), self.mixer)
                x = x + y.permute(0, 2, 3, 1)
                return x + self.mlp(self.n2(x))

        return Block()


def _global_filter(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A GFNet/AFNO-like classifier: a patch embedding, blocks of a global filter in the
    DFT domain of the token grid and an MLP, a mean over the tokens, a head."""
    res = _choice(rng, [32, 64, 96, 128, 160, 224])
    patch = _choice(rng, [4, 8, 16])
    d = _choice(rng, [64, 128, 192, 256, 384])
    depth, ratio = int(rng.integers(2, 5)), _choice(rng, [2, 4])
    afno, blocks = rng.random() < 0.4, _choice(rng, [4, 8])

    def macs(g: int, n: int) -> int:  # the MLPs, DFTs, AFNO's einsums, the embedding
        spectrum = g * (g // 2 + 1)
        filters = 8 * d * (d // blocks) * spectrum if afno else 0
        return n * (g * g * d * 2 * ratio * d + 12 * d * g * spectrum + filters) + 3 * res * res * d

    while res // patch < 4:
        patch //= 2
    while macs(res // patch, depth) > MAX_MACS and (depth > 2 or res // patch >= 8):
        depth, patch = (depth - 1, patch) if depth > 2 else (depth, 2 * patch)
    g = res // patch
    spectrum = (g // 2 + 1, g)

    def mixer() -> Any:
        return _Global.afno(nn, d, blocks, spectrum) if afno else _Global.gfnet(nn, d, spectrum)

    blks = [_Global.block(nn, d, g, mixer(), ratio) for _ in range(depth)]
    embed, head = nn.Conv2d(3, d, patch, patch), nn.Linear(d, _choice(rng, [10, 100, 1000]))

    class GlobalFilter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed, self.blocks, self.head = embed, nn.Sequential(*blks), head
            self.norm = nn.LayerNorm(d)

        def forward(self, x: Any) -> Any:
            x = self.blocks(self.embed(x).permute(0, 2, 3, 1))
            return self.head(self.norm(x.mean((1, 2))))

    return GlobalFilter(), (1, 3, g * patch, g * patch)


def random_spectral(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A Fourier neural operator on a 1-D or 2-D field, or a GFNet/AFNO-like image
    classifier: DFTs as matmuls by constant bases, einsums or filters between."""
    import torch

    rng, _ = _rng(seed, 3)
    build = _global_filter if rng.random() < 0.3 else _fno
    net, shape = build(torch.nn, rng)
    return net.eval(), shape


class _Decoder:
    """The parts of the ``decoder`` design (LLaMA-like)."""

    @staticmethod
    def rms_norm(nn: Any, d: int, inverse: bool) -> Any:
        """RMSNorm by ``rsqrt`` (``inverse``) or by division by the root."""
        import torch

        class RMSNorm(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.w = nn.Parameter(1.0 + 0.1 * torch.randn(d))

            def forward(self, x: Any) -> Any:
                if inverse:
                    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w
                return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w

        return RMSNorm()

    @staticmethod
    def attention(nn: Any, d: int, heads: tuple[int, int], seq: int, expand: bool) -> Any:
        """Grouped-query attention of ``heads`` (query heads, kv heads) with rotary
        embeddings (constant cos/sin), K and V repeated to the query heads
        (``repeat_interleave`` or expand and reshape), a causal mask."""
        import torch

        h, kv = heads
        hd, rep = d // h, h // kv
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.outer(torch.arange(seq).float(), inv)
        angles = torch.cat([freqs, freqs], -1)
        mask = torch.full((seq, seq), torch.finfo(torch.float32).min).triu(1)

        class Attention(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.q, self.o = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
                self.k, self.v = (
                    nn.Linear(d, kv * hd, bias=False),
                    nn.Linear(d, kv * hd, bias=False),
                )
                self.register_buffer("cos", angles.cos())
                self.register_buffer("sin", angles.sin())
                self.register_buffer("mask", mask)

            def rope(self, x: Any) -> Any:
                half = torch.cat([-x[..., hd // 2 :], x[..., : hd // 2]], -1)
                return x * self.cos + half * self.sin

            def repeat(self, x: Any) -> Any:
                if rep == 1:
                    return x
                if expand:
                    return x[:, :, None].expand(1, kv, rep, seq, hd).reshape(1, h, seq, hd)
                return x.repeat_interleave(rep, 1)

            def forward(self, x: Any) -> Any:
                q = self.rope(self.q(x).view(1, seq, h, hd).transpose(1, 2))
                k = self.rope(self.k(x).view(1, seq, kv, hd).transpose(1, 2))
                v = self.v(x).view(1, seq, kv, hd).transpose(1, 2)
                k, v = self.repeat(k), self.repeat(v)
                a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5 + self.mask, -1)
                return self.o((a @ v).transpose(1, 2).reshape(1, seq, d))

        return Attention()

    @staticmethod
    def block(nn: Any, d: int, hidden: int, attention: Any, inverse: bool) -> Any:
        """A pre-norm block: attention and a SwiGLU MLP, each added to the residual."""

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1, self.n2 = (
                    _Decoder.rms_norm(nn, d, inverse),
                    _Decoder.rms_norm(nn, d, inverse),
                )
                self.attention = attention
                self.w1, self.w3 = (
                    nn.Linear(d, hidden, bias=False),
                    nn.Linear(d, hidden, bias=False),
                )
                self.w2 = nn.Linear(hidden, d, bias=False)

            def forward(self, x: Any) -> Any:
                x = x + self.attention(self.n1(x))
                y = self.n2(x)
                return x + self.w2(nn.functional.silu(self.w1(y)) * self.w3(y))

        return Block()


_WIDTHS = (64, 128, 192, 256, 384, 512, 640, 768, 1024)


def _decoder_sizes(rng: np.random.Generator) -> dict[str, int]:
    """Width, tokens, blocks, vocabulary, heads, kv heads and MLP width of a decoder of
    at most :data:`MAX_PARAMS` (fewer blocks, then a smaller vocabulary) and
    :data:`MAX_MACS`: over it, a narrower width (at even odds; three in four from 128
    tokens, so that long sequences stay) or else fewer tokens (fewer blocks first where 64
    tokens or fewer are left)."""
    z = {"d": _choice(rng, _WIDTHS), "seq": _choice(rng, [8, 16, 32, 64, 128, 256, 384, 512])}
    z.update(count=int(rng.integers(1, 5)), vocab=_choice(rng, [256, 1000, 2048, 4096, 8000]))
    z.update(last=int(rng.random() < 0.6), multiple=_choice(rng, [32, 64, 256]))
    hd, ratio = _choice(rng, [16, 32, 64, 64, 128]), _choice(rng, [1, 1, 2, 4, 8])

    def fit() -> tuple[int, int]:  # params, MACs
        d = z["d"]
        z["h"] = max(2, min(16, d // hd))
        while d % z["h"] or (d // z["h"]) % 2:
            z["h"] -= 1
        z["kv"] = max(
            k for k in range(1, z["h"] + 1) if z["h"] % k == 0 and k <= max(1, z["h"] // ratio)
        )
        z["hidden"] = z["multiple"] * math.ceil(8 * d / 3 / z["multiple"])
        block = 2 * d * d + 2 * d * (d // z["h"]) * z["kv"] + 3 * d * z["hidden"]
        head = d * z["vocab"]
        seq = z["seq"]
        blocks = z["count"] * (seq * block + 2 * seq * seq * d)
        return z["count"] * block + head, blocks + (1 if z["last"] else seq) * head

    while fit()[0] > MAX_PARAMS:
        z["count"], z["vocab"] = (
            (z["count"] - 1, z["vocab"]) if z["count"] > 1 else (1, z["vocab"] // 2)
        )
    while fit()[1] > MAX_MACS and (z["seq"] > 8 or z["d"] > 64):
        if z["d"] > 64 and (z["seq"] <= 8 or rng.random() < (0.75 if z["seq"] >= 128 else 0.5)):
            z["d"] = _WIDTHS[_WIDTHS.index(z["d"]) - 1]
        elif z["count"] > 1 and z["seq"] <= 64:
            z["count"] -= 1
        else:
            z["seq"] //= 2
    return z


def random_decoder(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A LLaMA-like decoder on (1, seq, d) embeddings: 1-4 blocks, a final RMSNorm, a
    vocabulary head on the last token or on every token."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 4)
    z = _decoder_sizes(rng)
    d, seq, count, last, hidden = z["d"], z["seq"], z["count"], z["last"], z["hidden"]
    h, kv = z["h"], z["kv"]
    inverse, expand = rng.random() < 0.7, rng.random() < 0.5
    blocks = [
        _Decoder.block(nn, d, hidden, _Decoder.attention(nn, d, (h, kv), seq, expand), inverse)
        for _ in range(count)
    ]
    norm, head = _Decoder.rms_norm(nn, d, inverse), nn.Linear(d, z["vocab"], bias=False)

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks, self.norm, self.head = nn.Sequential(*blocks), norm, head

        def forward(self, x: Any) -> Any:
            y = self.norm(self.blocks(x))
            return self.head(y[:, -1] if last else y)

    return Decoder().eval(), (1, seq, d)


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "ranking": random_ranking,
    "forecast": random_forecast,
    "spectral": random_spectral,
    "decoder": random_decoder,
}


def drawn_8(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the eighth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 8, _DRAW, MODES, macs5)


def random_network_8(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the eighth generation from ``seed`` (:func:`drawn_8`)."""
    _, net, shape = drawn_8(seed)
    return net, shape
