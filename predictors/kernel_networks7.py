"""The seventh generation of random context networks (seeds from :data:`GENERATION_7`).

The ninth held-out zoo was missed most where its models ran what no random network of
the earlier generations runs: recurrent layers (RNNoise's GRUs -86%, an LSTM language
model -80%), convs whose weights are computed at run time (StyleGAN2 -24%: onnxruntime
cannot pre-pack such a conv into its blocked layout), a two-way attention decoder with
transposed-conv upscaling (SAM -24%) and temporal shifts over frames run as a batch
(TSM +12%). This generation draws those designs, at random sizes:

* ``recurrent``: sequence models on (1, T, F) features: an optional 1-D conv front
  (CRNN), an optional dense projection with tanh (RNNoise), 1-3 LSTM, GRU or RNN layers
  (forward or bidirectional, sometimes the next layer reading the concatenation of
  earlier outputs), a per-step or last-step dense head;
* ``dynamic``: convs with computed weights: StyleGAN2-like modulated convs (a style
  vector from a mapping MLP scales a base weight, which is then demodulated) with
  upsampling between them, or CondConv/DynamicConv-like layers (routing weights from a
  global pool mix several expert kernels) inside a small convnet;
* ``twoway``: SAM-like prompt decoders: tokens attend to a flattened image embedding
  and back, MLPs and layer norms, the embedding upscaled by transposed convs with a
  channels-first layer norm and GELU, hypernetwork MLPs whose outputs multiply the
  upscaled embedding into masks;
* ``temporal``: TSM-like video nets: frames as the batch (4-16 of them), residual
  blocks whose input is shifted along time (slices and a concat with zeros), global
  pooling, a mean over the frames.

A seed names the same network forever; this generation reads its own random stream
(``default_rng([seed, 0xC0DE, 7])``). Builds plan a sixth of their networks from each of
the second to seventh generations
(:func:`hwnas.predictors.kernel_context.context_configs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from hwnas.predictors.kernel_networks import _choice, drawn_within_macs, generation_rng
from hwnas.predictors.kernel_networks5 import macs5

#: The first seed of the seventh generation.
GENERATION_7 = 60_000_000
MODES = ("recurrent", "recurrent", "dynamic", "dynamic", "twoway", "temporal")


#: This generation's random streams (:func:`~hwnas.predictors.kernel_networks.generation_rng`).
_rng = partial(generation_rng, 7)


def _recurrent_layers(rng: np.random.Generator, f: int) -> tuple[list[Any], list[int], bool]:
    """1-3 recurrent layers reading ``f`` features: the layers, each one's output width,
    and whether each layer after the first reads the concatenation of every earlier
    output (RNNoise's wiring) rather than the last one."""
    import torch

    nn = torch.nn
    cell = _choice(rng, ["lstm", "lstm", "gru", "gru", "rnn"])
    kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    dense = rng.random() < 0.3
    layers, widths, width = [], [], f
    for _ in range(int(rng.integers(1, 4))):
        hidden = _choice(rng, [24, 32, 48, 64, 96, 128, 192, 256, 384])
        bi = rng.random() < 0.35
        layers.append(kind(width, hidden, batch_first=True, bidirectional=bi))
        widths.append(hidden * (2 if bi else 1))
        width = f + sum(widths) if dense else widths[-1]
    return layers, widths, dense


def random_recurrent(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A CRNN/RNNoise/LSTM-LM-like sequence model on (1, T, F) features."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 1)
    t = _choice(rng, [8, 16, 32, 50, 64, 100, 128, 200, 256])
    f = _choice(rng, [16, 32, 40, 42, 64, 80, 128, 256])
    front = _choice(rng, ["none", "conv", "dense"])
    width = _choice(rng, [32, 64, 128]) if front != "none" else f
    conv = nn.Sequential(nn.Conv1d(f, width, 3, 1, 1), nn.BatchNorm1d(width), nn.ReLU())
    dense = nn.Sequential(nn.Linear(f, width), nn.Tanh())
    layers, widths, concat = _recurrent_layers(rng, width)
    out = _choice(rng, [1, 10, 22, 40, 256, 1000])
    last = rng.random() < 0.4
    head = nn.Linear(widths[-1], out)

    class Sequence(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.dense, self.rnn, self.head = conv, dense, nn.ModuleList(layers), head

        def forward(self, x: Any) -> Any:
            if front == "conv":
                x = self.conv(x.transpose(1, 2)).transpose(1, 2)
            elif front == "dense":
                x = self.dense(x)
            outs, y = [x], x
            for rnn in self.rnn:
                y, _ = rnn(y)
                outs.append(y)
                y = torch.cat(outs, -1) if concat else y
            y = outs[-1]
            y = self.head(y[:, -1] if last else y)
            return torch.sigmoid(y) if out == 22 else y

    return Sequence().eval(), (1, t, f)


def _modulated(c_in: int, c_out: int, k: int, style: int, demod: bool) -> Any:
    """StyleGAN2's modulated conv: the weight scaled by an affine map of the style,
    demodulated, then a conv with that computed weight (batch 1)."""
    import torch

    nn = torch.nn

    class Modulated(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.randn(1, c_out, c_in, k, k) / math.sqrt(c_in * k * k))
            self.affine = nn.Linear(style, c_in)

        def forward(self, x: Any, w: Any) -> Any:
            s = self.affine(w).view(1, 1, c_in, 1, 1)
            weight = self.weight * s
            if demod:
                weight = weight * torch.rsqrt(weight.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8)
            y = nn.functional.conv2d(x, weight.view(c_out, c_in, k, k), padding=k // 2)
            return nn.functional.leaky_relu(y, 0.2)

    return Modulated()


def _cond_conv(c_in: int, c_out: int, k: int, experts: int, stride: int) -> Any:
    """A CondConv/DynamicConv layer: routing weights from a global pool mix ``experts``
    kernels into the one conv the input is run through."""
    import torch

    nn = torch.nn

    class CondConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.experts = nn.Parameter(
                torch.randn(experts, c_out * c_in * k * k) / math.sqrt(c_in * k * k)
            )
            self.route = nn.Linear(c_in, experts)
            self.bn = nn.BatchNorm2d(c_out)

        def forward(self, x: Any) -> Any:
            r = torch.softmax(self.route(x.mean((2, 3))), -1)
            weight = (r @ self.experts).view(c_out, c_in, k, k)
            y = nn.functional.conv2d(x, weight, stride=stride, padding=k // 2)
            return torch.relu(self.bn(y))

    return CondConv()


def _stylegan(rng: np.random.Generator) -> tuple[Any, tuple[int, ...]]:
    """A StyleGAN2-like synthesis net from a (1, z) latent: a mapping MLP, a learned
    constant, modulated convs with nearest or bilinear upsampling between them."""
    import torch

    nn = torch.nn
    z = _choice(rng, [64, 128, 256])
    mapping = nn.Sequential(
        *[m for _ in range(int(rng.integers(2, 5))) for m in (nn.Linear(z, z), nn.LeakyReLU(0.2))]
    )
    c, convs = _choice(rng, [32, 64, 128]), []
    for _ in range(int(rng.integers(2, 5))):
        cout = max(8, c // _choice(rng, [1, 2]))
        convs.append(_modulated(c, cout, 3, z, rng.random() < 0.8))
        c = cout
    to_rgb = _modulated(c, 3, 1, z, False)
    mode = _choice(rng, ["nearest", "bilinear"])

    class Synthesis(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mapping, self.convs, self.rgb = mapping, nn.ModuleList(convs), to_rgb
            self.const = nn.Parameter(torch.randn(1, convs[0].weight.shape[2], 4, 4))

        def forward(self, latent: Any) -> Any:
            w, x = self.mapping(latent), self.const
            for conv in self.convs:
                x = conv(nn.functional.interpolate(x, scale_factor=2, mode=mode), w)
            return self.rgb(x, w)

    return Synthesis().eval(), (1, z)


def random_dynamic(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """Convs with weights computed at run time: a StyleGAN2-like generator, or a small
    convnet of CondConv/DynamicConv layers between ordinary convs."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 2)
    if rng.random() < 0.4:
        return _stylegan(rng)
    res = _choice(rng, [48, 64, 96, 128, 160])
    c = _choice(rng, [16, 24, 32, 48])
    layers: list[Any] = [nn.Conv2d(3, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU()]
    experts = _choice(rng, [2, 4, 8])
    for stage in range(int(rng.integers(2, 5))):
        cout = min(256, c * _choice(rng, [1, 2]))
        stride = 2 if stage % 2 else 1
        k = _choice(rng, [1, 3, 3, 5])
        if rng.random() < 0.7:
            layers.append(_cond_conv(c, cout, k, experts, stride))
        else:
            layers += [nn.Conv2d(c, cout, k, stride, k // 2), nn.BatchNorm2d(cout), nn.ReLU()]
        c = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, _choice(rng, [10, 100]))]
    return nn.Sequential(*layers).eval(), (1, 3, res, res)


def _twoway_parts(d: int, c: int, masks: int) -> Any:
    """The upscaler and hypernetwork MLPs of a SAM-like decoder of width ``d``: an embedding of
    ``c`` channels upscaled to ``c // 8`` and ``masks`` hypernetwork MLPs."""
    import torch

    nn = torch.nn

    class LayerNorm2d(nn.Module):
        def __init__(self, ch: int) -> None:
            super().__init__()
            self.w, self.b = nn.Parameter(torch.ones(ch, 1, 1)), nn.Parameter(torch.zeros(ch, 1, 1))

        def forward(self, x: Any) -> Any:
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            return (x - u) / torch.sqrt(s + 1e-6) * self.w + self.b

    up = nn.Sequential(
        nn.ConvTranspose2d(c, c // 4, 2, 2),
        LayerNorm2d(c // 4),
        nn.GELU(),
        nn.ConvTranspose2d(c // 4, c // 8, 2, 2),
        nn.GELU(),
    )
    hyper = nn.ModuleList(
        [
            nn.Sequential(
                nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, c // 8)
            )
            for _ in range(masks)
        ]
    )
    return up, hyper


def _attention(d: int, heads: int, rate: int) -> Any:
    """SAM's attention: q, k and v projected to ``d // rate``, split into heads, scaled
    dot products, a softmax, the heads merged and projected back to ``d``."""
    import torch

    nn = torch.nn
    inner = d // rate

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.v = nn.Linear(d, inner), nn.Linear(d, inner), nn.Linear(d, inner)
            self.out = nn.Linear(inner, d)

        def split(self, x: Any) -> Any:
            return x.reshape(1, x.shape[1], heads, inner // heads).transpose(1, 2)

        def forward(self, q: Any, k: Any, v: Any) -> Any:
            q, k, v = self.split(self.q(q)), self.split(self.k(k)), self.split(self.v(v))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(inner // heads), -1) @ v
            return self.out(a.transpose(1, 2).reshape(1, a.shape[2], inner))

    return Attention()


def random_twoway(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A SAM-like prompt decoder: (1, N, D) tokens and a (1, D, h, w) image embedding
    (the embedding is the input; the prompt and output tokens are learned)."""
    import torch

    rng, _ = _rng(seed, 3)
    d = _choice(rng, [64, 128, 256])
    h = _choice(rng, [8, 16, 24, 32])
    heads = _choice(rng, [2, 4, 8])
    n_tok, masks, depth = _choice(rng, [3, 5, 7]), _choice(rng, [1, 3, 4]), int(rng.integers(1, 3))
    masks = min(masks, n_tok)
    nn = torch.nn
    up, hyper = _twoway_parts(d, d, masks)

    class TwoWay(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Parameter(torch.randn(1, n_tok, d))
            self.self_attn = nn.ModuleList([_attention(d, heads, 1) for _ in range(depth)])
            self.t2i = nn.ModuleList([_attention(d, heads, 2) for _ in range(depth)])
            self.i2t = nn.ModuleList([_attention(d, heads, 2) for _ in range(depth)])
            self.mlp = nn.ModuleList(
                [
                    nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
                    for _ in range(depth)
                ]
            )
            self.norms = nn.ModuleList([nn.LayerNorm(d) for _ in range(4 * depth)])
            self.up, self.hyper = up, hyper

        def forward(self, image: Any) -> Any:
            src, q = image.flatten(2).transpose(1, 2), self.tokens
            for i in range(len(self.t2i)):
                n = self.norms[4 * i : 4 * i + 4]
                q = n[0](q + self.self_attn[i](q, q, q))
                q = n[1](q + self.t2i[i](q, src, src))
                q = n[2](q + self.mlp[i](q))
                src = n[3](src + self.i2t[i](src, q, q))
            emb = self.up(src.transpose(1, 2).reshape(1, d, h, h))
            hyp = torch.stack([m(q[:, j]) for j, m in enumerate(self.hyper)], 1)
            return (hyp @ emb.flatten(2)).view(1, len(self.hyper), 4 * h, 4 * h)

    return TwoWay().eval(), (1, d, h, h)


def _shift(x: Any, frames: int, fold: int) -> Any:
    """TSM's temporal shift of (frames, C, H, W): ``fold`` channels taken from the next
    frame, ``fold`` from the previous one, zeros at the ends."""
    import torch

    t = x.view(1, frames, *x.shape[1:])
    zero = torch.zeros_like(t[:, :1, :fold])
    back = torch.cat([t[:, 1:, :fold], zero], 1)
    fwd = torch.cat([zero, t[:, :-1, fold : 2 * fold]], 1)
    return torch.cat([back, fwd, t[:, :, 2 * fold :]], 2).view(x.shape)


def random_temporal(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A TSM-like video net: frames as the batch, residual blocks (ResNet basic or
    MobileNetV2 inverted) on temporally shifted inputs, pooled over space and time."""
    import torch

    nn = torch.nn
    rng, _ = _rng(seed, 4)
    frames = _choice(rng, [4, 8, 8, 16])
    res = _choice(rng, [32, 48, 64, 96, 112])
    c = _choice(rng, [8, 16, 24, 32])
    div = _choice(rng, [4, 8])
    inverted = rng.random() < 0.5

    def body(ch: int) -> Any:
        if inverted:
            e = ch * _choice(rng, [2, 4, 6])
            return nn.Sequential(
                nn.Conv2d(ch, e, 1), nn.BatchNorm2d(e), nn.ReLU6(),
                nn.Conv2d(e, e, 3, 1, 1, groups=e), nn.BatchNorm2d(e), nn.ReLU6(),
                nn.Conv2d(e, ch, 1), nn.BatchNorm2d(ch),
            )  # fmt: skip
        return nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch), nn.ReLU(),
            nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch),
        )  # fmt: skip

    class Shifted(nn.Module):
        def __init__(self, ch: int) -> None:
            super().__init__()
            self.body, self.fold = body(ch), max(1, ch // div)

        def forward(self, x: Any) -> Any:
            return torch.relu(x + self.body(_shift(x, frames, self.fold)))

    layers: list[Any] = [nn.Conv2d(3, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU()]
    for stage in range(int(rng.integers(2, 4))):
        if stage:
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU()]
            c *= 2
        layers += [Shifted(c) for _ in range(int(rng.integers(1, 3)))]
    head = nn.Linear(c, _choice(rng, [10, 101, 174]))

    class TSM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features, self.head = nn.Sequential(*layers), head

        def forward(self, x: Any) -> Any:
            y = self.features(x).mean((2, 3))
            return self.head(y.view(1, frames, -1).mean(1))

    return TSM().eval(), (frames, 3, res, res)


_DRAW: dict[str, Callable[[Any], tuple[Any, tuple[int, ...]]]] = {
    "recurrent": random_recurrent,
    "dynamic": random_dynamic,
    "twoway": random_twoway,
    "temporal": random_temporal,
}


def drawn_7(seed: int) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of the seventh-generation network of ``seed``: one
    of :data:`MODES`, within the MAC bound
    (:func:`~hwnas.predictors.kernel_networks.drawn_within_macs`)."""
    return drawn_within_macs(seed, 7, _DRAW, MODES, macs5)


def random_network_7(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the seventh generation from ``seed`` (:func:`drawn_7`)."""
    _, net, shape = drawn_7(seed)
    return net, shape
