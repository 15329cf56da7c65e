"""The ninth generation of random context networks (seeds from :data:`GENERATION_9`).

The twelfth held-out zoo was missed most where its models ran what no random network of
the earlier generations runs: Linear layers on 2-D inputs of many rows, which torch
exports as ONNX ``Gemm`` (transB=1) with M > 1 (DiT and TFT over-predicted by 55%: every
multi-row linear of the earlier networks ran as MatMul+Add, so the correction learnt
that a ``Gemm`` is a batch-1 gemv whose weights stream from memory), a Switch
Transformer's mixture-of-experts layers (routing softmax, top-1, one-hot dispatch) and
tiny CNNs whose time is per-kernel overhead (a 0.35x MobileNetV2 at 32x48, CapsNet).
This generation draws those designs, at random sizes:

* ``rows``: Linear layers on (rows, features) inputs: DiT-like adaLN-Zero transformer
  blocks on flattened patch tokens (a batch-1 conditioning vector modulates them),
  Temporal-Fusion-Transformer-like nets on (time, variables) frames (gated residual
  networks, variable selection softmax, a batch-1 LSTM, interpretable attention), or
  plain MLPs on batches of 2 to 4,096 rows;
* ``moe``: pre-norm transformer encoders on (1, tokens, d) whose feed-forwards are
  mixtures of 4-16 experts, exported without data-dependent shapes: a router (Linear,
  Softmax, ArgMax or TopK of 1 or 2) and one-hot masks, every expert run on every token
  and the outputs weighted by the masks, or tokens dispatched by a dense one-hot
  (tokens, experts, capacity) einsum or matmul (Switch Transformer style);
* ``tiny``: small CNNs at small inputs: MobileNetV2/MnasNet-like inverted residuals at
  width multipliers 0.1-0.5 on 16x16 to 64x96 images, LeNet/VGG-like nets on 28x28 to
  48x48, or a capsule network (primary capsules squashed, 2-3 iterations of routing by
  agreement).

Every network has at most :data:`MAX_PARAMS` weights. A seed names the same network
forever; this generation reads its own random stream (``default_rng([seed, 0xC0DE, 9])``).
Builds plan an eighth of their networks from each of the second to ninth generations
(:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_context import _act as _activation
from hwnas.predictors.kernel_networks import MAX_MACS, _choice, drawn_within_macs, generation_rng
from hwnas.predictors.kernel_networks5 import macs5
from hwnas.predictors.kernel_networks8 import _Decoder
from hwnas.predictors.kernel_sampler import _log_int

#: The first seed of the ninth generation.
GENERATION_9 = 80_000_000
MODES = ("rows", "moe", "tiny")
#: The most weights of one network (80 MB of float32).
MAX_PARAMS = 20_000_000


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 9)


class _DiT:
    """The parts of DiT-like networks: adaLN-Zero blocks on (tokens, d) rows."""

    @staticmethod
    def block(nn: Any, d: int, heads: int, tokens: int, ratio: int) -> Any:
        """Modulated non-affine layer norms (shifts, scales and gates from a Linear of the
        SiLU of the (1, d) conditioning), attention by reshaping to heads and back, a
        tanh-GELU MLP; every Linear on (tokens, d): a Gemm of ``tokens`` rows."""
        import torch

        hd = d // heads

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
                self.n2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
                self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
                self.mlp = nn.Sequential(
                    nn.Linear(d, ratio * d), nn.GELU(approximate="tanh"), nn.Linear(ratio * d, d)
                )
                self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))

            def forward(self, x: Any, c: Any) -> Any:
                sm, cm, gm, sf, cf, gf = self.ada(c).chunk(6, -1)
                y = self.qkv(self.n1(x) * (1 + cm) + sm)
                q, k, v = y.reshape(tokens, 3, heads, hd).permute(1, 2, 0, 3)
                a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5, -1) @ v
                x = x + gm * self.proj(a.transpose(0, 1).reshape(tokens, d))
                return x + gf * self.mlp(self.n2(x) * (1 + cf) + sf)

        return Block()

    @staticmethod
    def sizes(rng: np.random.Generator) -> dict[str, int]:
        """Width, heads, depth, MLP ratio, patch, token grid and channels of a DiT of at
        most :data:`MAX_PARAMS` and :data:`MAX_MACS` (fewer blocks, then a narrower width
        or fewer tokens, at even odds)."""
        widths = [64, 96, 128, 192, 256, 384, 512, 768]
        z = {"d": _choice(rng, widths), "depth": int(rng.integers(1, 7))}
        z.update(ratio=_choice(rng, [2, 4, 4]), patch=_choice(rng, [1, 2, 2, 4, 8]))
        z.update(gh=_log_int(rng, 4, 32), gw=_log_int(rng, 4, 32), c=_choice(rng, [3, 4, 4]))
        hd = _choice(rng, [32, 64])

        def fit() -> tuple[int, int]:  # params, MACs
            d, n = z["d"], z["gh"] * z["gw"]
            z["heads"] = d // hd if d % hd == 0 else d // 32
            block = (10 + 2 * z["ratio"]) * d * d
            embed = n * z["c"] * z["patch"] ** 2 * d * 2
            per = n * (4 + 2 * z["ratio"]) * d * d + 2 * n * n * d + 6 * d * d
            return z["depth"] * block, z["depth"] * per + embed

        while fit()[0] > MAX_PARAMS:
            z["depth"], z["d"] = (
                (z["depth"] - 1, z["d"])
                if z["depth"] > 1
                else (1, widths[widths.index(z["d"]) - 1])
            )
        while fit()[1] > MAX_MACS:
            if z["depth"] > 1:
                z["depth"] -= 1
            elif z["d"] > 64 and rng.random() < 0.5:
                z["d"] = widths[widths.index(z["d"]) - 1]
            else:
                key = "gh" if z["gh"] >= z["gw"] else "gw"
                z[key] = max(2, z[key] // 2)
        return z


def _dit(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A DiT-like denoiser on a (1, C, H, W) latent: a patchify conv reshaped to (tokens,
    d) rows plus a learned position table; the conditioning (1, d) from the input's
    channel means (a pooled "class") or a sinusoidal embedding of a pixel (a "timestep")
    through a SiLU MLP; adaLN-Zero blocks; a modulated final Linear, unpatchified."""
    import torch

    z = _DiT.sizes(rng)
    d, p, c, gh, gw = z["d"], z["patch"], z["c"], z["gh"], z["gw"]
    n, out = gh * gw, _choice(rng, [c, 2 * c])
    timestep = rng.random() < 0.5
    blocks = [_DiT.block(nn, d, z["heads"], n, z["ratio"]) for _ in range(z["depth"])]
    freqs = torch.exp(-math.log(10000.0) * torch.arange(d // 2).float() / (d // 2))

    class DiT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(c, d, p, p)
            self.pos = nn.Parameter(0.02 * torch.randn(n, d))
            self.cond = nn.Sequential(
                nn.Linear(d if timestep else c, d), nn.SiLU(), nn.Linear(d, d)
            )
            self.blocks = nn.ModuleList(blocks)
            self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.ada, self.final = nn.Linear(d, 2 * d), nn.Linear(d, p * p * out)
            self.register_buffer("freqs", freqs)

        def condition(self, x: Any) -> Any:
            if timestep:
                args = (x[0, 0, 0, :1].abs() * 1000)[:, None] * self.freqs[None]
                return self.cond(torch.cat([torch.cos(args), torch.sin(args)], -1))
            return self.cond(x.mean((2, 3)))

        def forward(self, x: Any) -> Any:
            cond = self.condition(x)
            h = self.embed(x).reshape(d, n).t() + self.pos
            for block in self.blocks:
                h = block(h, cond)
            shift, scale = self.ada(nn.functional.silu(cond)).chunk(2, -1)
            h = self.final(self.norm(h) * (1 + scale) + shift)
            h = h.reshape(gh, gw, p, p, out).permute(4, 0, 2, 1, 3)
            return h.reshape(1, out, gh * p, gw * p)

    return DiT(), (1, c, gh * p, gw * p)


class _TFT:
    """The parts of Temporal-Fusion-Transformer-like nets on (time, variables) rows."""

    @staticmethod
    def grn(nn: Any, sizes: tuple[int, int, int], glu: bool) -> Any:
        """A gated residual network of ``sizes`` (in, hidden, out): Linear, ELU, Linear,
        a GLU gate (one Linear of twice the width and ``glu``, or a sigmoid Linear times
        a Linear), the input (projected where the widths differ) added, a LayerNorm."""
        import torch

        a, h, out = sizes

        class GRN(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.f = nn.Sequential(nn.Linear(a, h), nn.ELU(), nn.Linear(h, h))
                self.gate = nn.Linear(h, 2 * out) if glu else nn.Linear(h, out)
                self.value = nn.Identity() if glu else nn.Linear(h, out)
                self.skip = nn.Linear(a, out) if a != out else nn.Identity()
                self.norm = nn.LayerNorm(out)

            def forward(self, x: Any) -> Any:
                y = self.f(x)
                if glu:
                    gated = nn.functional.glu(self.gate(y), -1)
                else:
                    gated = torch.sigmoid(self.gate(y)) * self.value(y)
                return self.norm(self.skip(x) + gated)

        return GRN()

    @staticmethod
    def selection(nn: Any, n: int, h: int, glu: bool) -> Any:
        """Variable selection on (time, ``n``, ``h``) embeddings: a GRN of the flattened
        embeddings to ``n`` softmax weights, a GRN per variable, their weighted sum."""
        import torch

        class Selection(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.weights = _TFT.grn(nn, (n * h, h, n), glu)
                self.grns = nn.ModuleList(_TFT.grn(nn, (h, h, h), glu) for _ in range(n))

            def forward(self, e: Any) -> Any:
                w = torch.softmax(self.weights(e.flatten(1)), -1)
                v = torch.stack([g(e[:, i]) for i, g in enumerate(self.grns)], 1)
                return (w[..., None] * v).sum(1)

        return Selection()

    @staticmethod
    def attention(nn: Any, h: int, heads: int, t: int, causal: bool) -> Any:
        """Interpretable multi-head attention on (t, h): per-head queries and keys, one
        value projection shared by the heads, the heads averaged, then a Linear."""
        import torch

        dh = h // heads
        mask = torch.full((t, t), float("-inf")).triu(1) if causal else torch.zeros(t, t)

        class Attention(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.q, self.k = nn.Linear(h, h), nn.Linear(h, h)
                self.v, self.out = nn.Linear(h, dh), nn.Linear(dh, h)
                self.register_buffer("mask", mask)

            def forward(self, x: Any) -> Any:
                q = self.q(x).reshape(t, heads, dh).transpose(0, 1)
                k = self.k(x).reshape(t, heads, dh).transpose(0, 1)
                a = torch.softmax(q @ k.transpose(-1, -2) * dh**-0.5 + self.mask, -1)
                return self.out((a @ self.v(x)).mean(0))

        return Attention()


def _tft_sizes(rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Steps, variables, width and heads of a TFT of at most :data:`MAX_MACS` (fewer
    steps, or a narrower width, at even odds)."""
    t, n = _log_int(rng, 16, 512), int(rng.integers(2, 9))
    h, heads = _choice(rng, [16, 32, 64, 96, 128, 160, 256]), _choice(rng, [1, 2, 4])

    def macs() -> int:
        grn = 5 * h * h
        per_step = n * n * h * h + n * grn + 8 * h * h + 4 * grn + 4 * h * h + 2 * t * h
        return t * per_step

    while macs() > MAX_MACS:
        if h > 16 and rng.random() < 0.5:
            h //= 2
        else:
            t = max(8, t // 2)
    return t, n, h, heads


def _tft(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A TFT-like forecaster on a (time, variables) frame: each variable embedded to
    ``h``, variable selection, a batch-1 LSTM (or an encoder and a decoder LSTM), gated
    skips (GLU, add, LayerNorm), a GRN
    enrichment, interpretable attention (causal or not), a GRN, quantile heads."""
    import torch

    t, n, h, heads = _tft_sizes(rng)
    glu, causal = rng.random() < 0.5, rng.random() < 0.6
    quantiles = _choice(rng, [1, 3, 7])
    # As TFT runs it: an encoder LSTM over the past whose final state starts a decoder
    # LSTM over the horizon (an LSTM fed initial states); else one LSTM from zeros.
    horizon = max(1, t // int(rng.choice([3, 4, 7]))) if rng.random() < 0.5 else 0

    class TFT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed_w = nn.Parameter(torch.randn(n, h))
            self.embed_b = nn.Parameter(0.1 * torch.randn(n, h))
            self.select = _TFT.selection(nn, n, h, glu)
            self.lstm = nn.LSTM(h, h, batch_first=True)
            self.decoder = nn.LSTM(h, h, batch_first=True) if horizon else None
            self.gates = nn.ModuleList(nn.Linear(h, 2 * h) for _ in range(2))
            self.norms = nn.ModuleList(nn.LayerNorm(h) for _ in range(2))
            self.enrich, self.ff = _TFT.grn(nn, (h, h, h), glu), _TFT.grn(nn, (h, h, h), glu)
            self.attention = _TFT.attention(nn, h, heads, t, causal)
            self.head = nn.Linear(h, quantiles)

        def gate(self, i: int, x: Any, skip: Any) -> Any:
            return self.norms[i](skip + nn.functional.glu(self.gates[i](x), -1))

        def forward(self, x: Any) -> Any:
            sel = self.select(x[:, :, None] * self.embed_w + self.embed_b)
            if self.decoder is None:
                enc = self.gate(0, self.lstm(sel[None])[0][0], sel)
            else:
                past, state = self.lstm(sel[None, : t - horizon])
                future = self.decoder(sel[None, t - horizon :], state)[0]
                enc = self.gate(0, torch.cat([past, future], 1)[0], sel)
            theta = self.enrich(enc)
            y = self.gate(1, self.attention(theta), theta)
            return self.head(self.ff(y))

    return TFT(), (t, n)


def _mlp_rows(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """An MLP on a (rows, features) batch: 2-6 Linear layers of 8 to 4,096 wide
    (log-uniform), an activation between, sometimes LayerNorm or BatchNorm1d; within
    :data:`MAX_PARAMS` and :data:`MAX_MACS` (fewer rows or narrower layers, at even
    odds)."""
    rows = _log_int(rng, 2, 4096)
    sizes = [_log_int(rng, 8, 4096) for _ in range(int(rng.integers(3, 8)))]
    act = _choice(rng, ["relu", "gelu", "silu", "elu", "tanh"])
    norm = _choice(rng, ["none", "none", "layer", "batch"])
    bias = rng.random() < 0.9

    def params() -> int:
        return sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))

    while params() > MAX_PARAMS:
        i = int(np.argmax(sizes))
        sizes[i] = max(8, sizes[i] // 2)
    while rows * params() > MAX_MACS:
        if rows > 2 and rng.random() < 0.5:
            rows //= 2
        else:
            i = int(np.argmax(sizes))
            sizes[i] = max(8, sizes[i] // 2)
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            if norm != "none":
                layers.append(nn.LayerNorm(b) if norm == "layer" else nn.BatchNorm1d(b))
            layers.append(_activation(nn, act))
    return nn.Sequential(*layers), (rows, sizes[0])


def random_rows(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A network of Linear layers on 2-D inputs of many rows (ONNX Gemms with M > 1): a
    DiT-like denoiser, a TFT-like forecaster or a plain MLP on a batch."""
    import torch

    rng, _ = _rng(seed, 1)
    build = _choice(rng, [_dit, _tft, _mlp_rows])
    net, shape = build(torch.nn, rng)
    return net.eval(), shape


class _MoE:
    """The parts of the ``moe`` design: routers, experts and how tokens reach them."""

    @staticmethod
    def route(probs: Any, experts: Any, top: int, argmax: bool) -> tuple[Any, Any]:
        """(chosen, weights), both (tokens, experts): a one-hot mask of each token's top
        ``top`` experts (ArgMax, or TopK) and their routing probabilities (renormalised
        over the chosen two for top-2)."""
        if argmax:
            gate, idx = probs.max(-1)
            chosen = (idx[:, None] == experts).float()
            return chosen, chosen * gate[:, None]
        vals, idx = probs.topk(top, -1)
        if top > 1:
            vals = vals / vals.sum(-1, keepdim=True)
        hot = (idx[..., None] == experts).float()
        return hot.sum(1), (hot * vals[..., None]).sum(1)

    @staticmethod
    def dispatch(chosen: Any, capacity: int, slots: Any) -> Any:
        """(tokens, experts, capacity): token t fills expert e's slot c (in token order;
        tokens past an expert's capacity are dropped), as Switch Transformer exports do."""
        import torch

        slot = (torch.cumsum(chosen, 0) - 1) * chosen
        keep = chosen * (slot < capacity).float()
        return keep[..., None] * (slot[..., None] == slots).float()

    @staticmethod
    def experts(nn: Any, style: str, sizes: tuple[int, int, int], act: str) -> Any:
        """``style`` experts of ``sizes`` (experts, d, hidden): ``modules`` (a Linear pair
        each, run on (tokens, d) rows) or ``batched`` ((experts, d, hidden) weights run
        by batched matmuls)."""
        import torch

        e, d, ff = sizes

        class Experts(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.act = _activation(nn, act)
                if style == "modules":
                    self.each = nn.ModuleList(
                        nn.Sequential(nn.Linear(d, ff), _activation(nn, act), nn.Linear(ff, d))
                        for _ in range(e)
                    )
                else:
                    self.wi = nn.Parameter(torch.randn(e, d, ff) * d**-0.5)
                    self.bi = nn.Parameter(torch.zeros(e, 1, ff))
                    self.wo = nn.Parameter(torch.randn(e, ff, d) * ff**-0.5)

            def forward(self, x: Any) -> Any:  # (tokens or (experts, capacity), d)
                if style == "modules":
                    return torch.stack(
                        [f(x[i] if x.dim() == 3 else x) for i, f in enumerate(self.each)]
                    )
                return self.act(x @ self.wi + self.bi) @ self.wo

        return Experts()

    @staticmethod
    def layer(nn: Any, plan: dict[str, Any], experts: Any) -> Any:
        """A mixture-of-experts feed-forward on (1, tokens, d): a router Linear and
        Softmax, top-1 or top-2 masks, then every expert on every token combined by the
        masks (``mask``) or tokens dispatched to ``capacity`` slots per expert by a dense
        one-hot einsum (``einsum``) or matmul (``matmul``) and combined back."""
        import torch

        t, d, e, cap = plan["tokens"], plan["d"], plan["experts"], plan["capacity"]
        combine, top, argmax = plan["combine"], plan["top"], plan["argmax"]

        class MoE(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.router, self.experts = nn.Linear(d, e, bias=plan["bias"]), experts
                self.register_buffer("ids", torch.arange(e))
                self.register_buffer("slots", torch.arange(cap).float())

            def forward(self, x: Any) -> Any:
                x = x[0]
                probs = torch.softmax(self.router(x), -1)
                chosen, weights = _MoE.route(probs, self.ids, top, argmax)
                if combine == "mask":
                    return (weights.t()[..., None] * self.experts(x)).sum(0)[None]
                disp = _MoE.dispatch(chosen, cap, self.slots)
                back = disp * (weights * chosen)[..., None]
                if combine == "einsum":
                    h = self.experts(torch.einsum("tec,td->ecd", disp, x))
                    return torch.einsum("tec,ecd->td", back, h)[None]
                h = self.experts((disp.reshape(t, e * cap).t() @ x).reshape(e, cap, d))
                return (back.reshape(t, e * cap) @ h.reshape(e * cap, d))[None]

        return MoE()

    @staticmethod
    def block(nn: Any, shape: tuple[int, int, int], ff: Any, rms: bool) -> Any:
        """A pre-norm encoder block of ``shape`` (tokens, d, heads): multi-head
        self-attention and the feed-forward ``ff`` (a mixture of experts or a dense MLP),
        each added to the residual."""
        import torch

        t, d, heads = shape
        hd = d // heads

        def norm() -> Any:
            return _Decoder.rms_norm(nn, d, True) if rms else nn.LayerNorm(d)

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.n1, self.n2, self.ff = norm(), norm(), ff
                self.qkv, self.o = nn.Linear(d, 3 * d), nn.Linear(d, d)

            def forward(self, x: Any) -> Any:
                q, k, v = self.qkv(self.n1(x)).reshape(t, 3, heads, hd).permute(1, 2, 0, 3)
                a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5, -1) @ v
                x = x + self.o(a.transpose(0, 1).reshape(1, t, d))
                return x + self.ff(self.n2(x))

        return Block()


def _moe_plan(rng: np.random.Generator) -> dict[str, Any]:
    """Tokens, width, heads, layers, experts, hidden width, top-k, routing and combining
    of an MoE encoder of at most :data:`MAX_PARAMS` (fewer layers, then fewer experts,
    then a narrower hidden width) and :data:`MAX_MACS` (fewer tokens, or a narrower
    width, at even odds)."""
    widths = [64, 96, 128, 192, 256, 384, 512]
    z: dict[str, Any] = {"tokens": _log_int(rng, 16, 512), "d": _choice(rng, widths)}
    z.update(layers=int(rng.integers(1, 5)), experts=int(rng.integers(4, 17)))
    z.update(ratio=_choice(rng, [1, 2, 4]), every=_choice(rng, [1, 1, 2]))
    z.update(combine=_choice(rng, ["mask", "einsum", "matmul"]), top=_choice(rng, [1, 1, 2]))
    z.update(argmax=bool(rng.random() < 0.5), factor=_choice(rng, [1.0, 1.25, 1.5, 2.0]))
    z.update(style=_choice(rng, ["modules", "batched"]), bias=bool(rng.random() < 0.5))
    z["argmax"] = z["argmax"] and z["top"] == 1
    hd = _choice(rng, [32, 64])

    def fit() -> tuple[int, int]:  # params, MACs
        d, t, e = z["d"], z["tokens"], z["experts"]
        z["heads"] = d // hd if d % hd == 0 else d // 32
        z["ff"] = z["ratio"] * d
        z["capacity"] = max(1, math.ceil(z["factor"] * t * z["top"] / e))
        moes = (z["layers"] + z["every"] - 1) // z["every"]
        expert = 2 * d * z["ff"]
        params = z["layers"] * (4 * d * d + expert) + moes * e * expert
        run = e * t if z["combine"] == "mask" else e * z["capacity"]
        moved = 0 if z["combine"] == "mask" else 2 * t * e * z["capacity"] * d
        dense = z["layers"] * t * (4 * d * d + 2 * t * d)
        return params, dense + moes * (run * expert + moved + t * d * e)

    while fit()[0] > MAX_PARAMS:
        if z["layers"] > 1:
            z["layers"] -= 1
        elif z["experts"] > 4:
            z["experts"] -= 2
        else:
            z["ratio"] = max(1, z["ratio"] // 2)
            z["d"] = widths[widths.index(z["d"]) - 1] if z["ratio"] == 1 else z["d"]
    while fit()[1] > MAX_MACS:
        if z["layers"] > 1:
            z["layers"] -= 1
        elif z["d"] > 64 and rng.random() < 0.5:
            z["d"] = widths[widths.index(z["d"]) - 1]
        else:
            z["tokens"] = max(16, z["tokens"] // 2) if z["tokens"] > 16 else z["tokens"]
            z["experts"] = z["experts"] if z["tokens"] > 16 else max(4, z["experts"] - 2)
    return z


def random_moe(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A pre-norm transformer encoder on (1, tokens, d) whose feed-forwards (all, or
    every second one) are mixtures of experts, exported without data-dependent shapes."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 2)
    z = _moe_plan(rng)
    d, act, rms = z["d"], _choice(rng, ["relu", "gelu", "silu"]), rng.random() < 0.4
    blocks = []
    for i in range(z["layers"]):
        if i % z["every"] == (z["layers"] - 1) % z["every"]:  # the last is one
            experts = _MoE.experts(nn, z["style"], (z["experts"], d, z["ff"]), act)
            ff = _MoE.layer(nn, z, experts)
        else:
            ff = nn.Sequential(nn.Linear(d, z["ff"]), _activation(nn, act), nn.Linear(z["ff"], d))
        blocks.append(_MoE.block(nn, (z["tokens"], d, z["heads"]), ff, rms))
    net = nn.Sequential(*blocks, nn.LayerNorm(d))
    return net.eval(), (1, z["tokens"], d)


def _divisible(v: float, by: int = 8) -> int:
    """``v`` rounded to a multiple of ``by`` (MobileNet's channel rounding), at least
    ``by`` and not 10% below ``v``."""
    out = max(by, int(v + by / 2) // by * by)
    return out + by if out < 0.9 * v else out


#: MobileNetV2's stages: (expansion, channels, repeats, stride).
_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
_MBV2_TAIL = ((6, 160, 3, 2), (6, 320, 1, 1))


def _inverted(nn: Any, shape: tuple[int, int, int, int, int], act: str, se: bool) -> Any:
    """An inverted residual of ``shape`` (in, out, expansion, kernel, stride): a 1x1
    expansion, a depthwise conv, a squeeze-excitation (``se``), a linear 1x1 projection;
    the input added where the shape stays."""
    from hwnas.predictors.kernel_networks import _Residual

    c, cout, t, k, s = shape
    mid = c * t
    layers: list[Any] = []
    if t != 1:
        layers += [nn.Conv2d(c, mid, 1, bias=False), nn.BatchNorm2d(mid), _activation(nn, act)]
    layers += [nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid)]
    layers.append(_activation(nn, act))
    if se:
        squeeze = max(8, _divisible(mid / 4))
        layers.append(_SqueezeExcite.build(nn, mid, squeeze))
    layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
    body = nn.Sequential(*layers)
    if s == 1 and c == cout:
        return _Residual.block(nn, body, nn.Identity(), nn.Identity())
    return body


class _SqueezeExcite:
    @staticmethod
    def build(nn: Any, c: int, squeeze: int) -> Any:
        class SE(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.f = nn.Sequential(
                    nn.AdaptiveAvgPool2d(1),
                    nn.Conv2d(c, squeeze, 1),
                    nn.ReLU(),
                    nn.Conv2d(squeeze, c, 1),
                    nn.Hardsigmoid(),
                )

            def forward(self, x: Any) -> Any:
                return x * self.f(x)

        return SE()


def _mobile(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A MobileNetV2/MnasNet-like net at a width multiplier of 0.1-0.5 on a 16x16 to 64x96
    image: a stem conv, inverted residual stages (3x3 or, MnasNet-like, 5x5 kernels and
    squeeze-excitation), strides only while the map is at least 4 wide, a 1x1 head conv,
    a global pool and a Linear."""
    alpha = _choice(rng, [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5])
    h, w = _choice(rng, [16, 24, 32, 32, 48, 64]), _choice(rng, [16, 24, 32, 48, 64, 96])
    act, mnas = _choice(rng, ["relu6", "relu6", "relu", "hardswish"]), rng.random() < 0.4
    depth = _choice(rng, [0.5, 0.75, 1.0])
    stages = _MBV2 + (_MBV2_TAIL if rng.random() < 0.7 else ())
    c = _divisible(32 * alpha)
    side = min(h, w) // 2
    layers: list[Any] = [
        nn.Conv2d(3, c, 3, 2, 1, bias=False),
        nn.BatchNorm2d(c),
        _activation(nn, act),
    ]
    for t, ch, n, s in stages:
        cout, k = _divisible(ch * alpha), _choice(rng, [3, 5]) if mnas else 3
        for i in range(max(1, round(n * depth))):
            stride = s if i == 0 and side >= 4 else 1
            side //= stride
            se = mnas and rng.random() < 0.5
            layers.append(_inverted(nn, (c, cout, t, k, stride), act, se))
            c = cout
    head = _choice(rng, [1280, _divisible(1280 * alpha), _divisible(640 * alpha)])
    layers += [nn.Conv2d(c, head, 1, bias=False), nn.BatchNorm2d(head), _activation(nn, act)]
    layers += [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(head, _choice(rng, [10, 100, 1000])),
    ]
    return nn.Sequential(*layers), (1, 3, h, w)


def _small_cnn(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A LeNet-like (two 5x5 convs with pooling, three Linears) or VGG-like (2-4 stages
    of 1-2 3x3 convs, sometimes batch-normed, and a max pool; 1-2 Linears) classifier of
    a 28x28 to 48x48 image of 1 or 3 channels."""
    side, cin = _choice(rng, [28, 28, 32, 36, 40, 48]), _choice(rng, [1, 3])
    act = _choice(rng, ["relu", "relu", "tanh", "elu"])
    pool = nn.MaxPool2d if rng.random() < 0.7 else nn.AvgPool2d
    layers: list[Any] = []
    if rng.random() < 0.4:
        c1, c2 = _choice(rng, [6, 8, 16, 20]), _choice(rng, [16, 32, 50, 64])
        s = ((side - 4) // 2 - 4) // 2
        layers += [nn.Conv2d(cin, c1, 5), _activation(nn, act), pool(2)]
        layers += [nn.Conv2d(c1, c2, 5), _activation(nn, act), pool(2), nn.Flatten()]
        widths = [c2 * s * s, _choice(rng, [120, 128, 256, 500]), 84]
    else:
        c, s, norm = cin, side, rng.random() < 0.5
        width = _choice(rng, [8, 16, 32, 64])
        for i in range(int(rng.integers(2, 5))):
            for _ in range(int(rng.integers(1, 3))):
                layers += [nn.Conv2d(c, width * 2**i, 3, 1, 1)]
                layers += [nn.BatchNorm2d(width * 2**i)] if norm else []
                layers.append(_activation(nn, act))
                c = width * 2**i
            layers.append(pool(2))
            s //= 2
        layers.append(nn.Flatten())
        widths = [c * s * s] + [_choice(rng, [64, 128, 256, 512])] * int(rng.integers(1, 3))
    for a, b in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(a, b), _activation(nn, act)]
    layers.append(nn.Linear(widths[-1], _choice(rng, [10, 26, 43, 100])))
    return nn.Sequential(*layers), (1, cin, side, side)


def _squash(s: Any) -> Any:
    """A capsule's squash: its norm scaled into [0, 1) by ``n^2 / (1 + n^2)``."""
    import torch

    n2 = s.pow(2).sum(-1, keepdim=True)
    return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)


def _capsule_sizes(rng: np.random.Generator, side: int, cin: int) -> tuple[int, ...]:
    """(first conv's channels and kernel, primary capsule types and kernel, grid) of a
    capsule net of at most :data:`MAX_MACS` (fewer channels, or fewer capsule types)."""
    ch, k1 = _choice(rng, [32, 64, 128, 256]), _choice(rng, [5, 7, 9])
    types, k2 = _choice(rng, [4, 8, 16, 32]), _choice(rng, [3, 5, 9])
    grid = (side - k1 + 1 - k2) // 2 + 1

    def macs() -> int:
        first = (side - k1 + 1) ** 2 * k1 * k1 * cin * ch
        return first + grid * grid * k2 * k2 * ch * types * 8 + types * grid * grid * 10 * 128

    while macs() > MAX_MACS // 2:
        ch, types = (ch // 2, types) if ch > 32 and rng.random() < 0.5 else (ch, max(2, types // 2))
    return ch, k1, types, k2, grid


def _capsules(nn: Any, rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A capsule network on a 28x28 to 40x40 image: a conv and ReLU, primary capsules (a
    stride-2 conv reshaped to (capsules, 8), squashed), per capsule and class a
    prediction matrix, 2-3 iterations of routing by agreement (softmax of the logits over
    the classes, the weighted sum squashed, the agreement added); the class capsules'
    lengths. All shapes static."""
    import torch

    side, cin = _choice(rng, [28, 28, 32, 36, 40]), _choice(rng, [1, 3])
    ch, k1, types, k2, grid = _capsule_sizes(rng, side, cin)
    classes, dim, routing = (
        _choice(rng, [5, 10, 10, 16]),
        _choice(rng, [8, 16]),
        int(rng.integers(2, 4)),
    )
    n = types * grid * grid

    class Capsules(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(cin, ch, k1), nn.ReLU())
            self.primary = nn.Conv2d(ch, types * 8, k2, 2)
            self.w = nn.Parameter(torch.randn(n, classes, dim, 8) * 0.05)

        def forward(self, x: Any) -> Any:
            u = self.primary(self.conv(x)).reshape(types, 8, grid * grid)
            u = _squash(u.permute(0, 2, 1).reshape(n, 8))
            u_hat = (self.w @ u[:, None, :, None])[..., 0]
            b = torch.zeros(n, classes)
            v = u_hat.mean(0)
            for i in range(routing):
                c = torch.softmax(b, 1)
                v = _squash((c[..., None] * u_hat).sum(0))
                if i < routing - 1:
                    b = b + (u_hat * v[None]).sum(-1)
            return v.pow(2).sum(-1).sqrt()[None]

    return Capsules(), (1, cin, side, side)


def random_tiny(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A small CNN at a small input, where per-kernel overhead dominates: a
    MobileNetV2/MnasNet-like net, a LeNet/VGG-like net or a capsule network."""
    import torch

    rng, _ = _rng(seed, 3)
    build = _choice(rng, [_mobile, _mobile, _small_cnn, _capsules])
    net, shape = build(torch.nn, rng)
    return net.eval(), shape


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "rows": random_rows,
    "moe": random_moe,
    "tiny": random_tiny,
}


def drawn_9(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the ninth-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 9, _DRAW, MODES, macs5)


def random_network_9(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the ninth generation from ``seed`` (:func:`drawn_9`)."""
    _, net, shape = drawn_9(seed)
    return net, shape
