"""The second generation of random context networks (seeds from :data:`GENERATION_2`).

The first generation (:func:`hwnas.predictors.kernel_context.random_network` below
:data:`GENERATION_2`) draws small convolutional stages of single-conv, depthwise and
inverted-residual blocks, and token blocks that are either an attention or an MLP. Real
networks are also built from blocks it never draws, and the in-network cost of a kernel
depends on what surrounds it, so this generation adds the standard families' building
blocks, each drawn at random sizes:

* stems: a strided conv, a 7x7 conv and a max pool, a patchify conv (kernel = stride),
  two 3x3 convs;
* convolutional stages whose blocks share one design, as real stages do: two-conv
  residual blocks and bottlenecks (1x1, kxk with 1 or many groups, 1x1) with projection
  shortcuts where the shape changes, besides the first generation's blocks; pooling
  between stages; widths up to 1024;
* transformers: a conv patch embedding or a plain token input, a class token and
  learnt positions, pre-norm or post-norm blocks of attention (fused or separate Q, K,
  V) followed by an MLP, and MLP-mixer blocks; 16 to 384 tokens.

A seed names the same network forever: the first generation's draws are unchanged, and
this one reads its own random stream (``default_rng([seed, 0xC0DE, 2])``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: The first seed of the second generation.
GENERATION_2 = 10_000_000
#: The largest network drawn (multiply-accumulates; about 10 to 30 ms on one laptop core).
MAX_MACS = 600_000_000
MODES = ("image", "image", "image", "signal", "tokens", "tokens")
#: Draws of one seed before giving up (over 120 seeds: 1.4 draws on average, at most 4).
MAX_ATTEMPTS = 100

_CONV_BLOCKS = (
    "plain",
    "basic",
    "bottleneck",
    "bottleneck",
    "dwsep",
    "inverted",
    "inverted_se",
    "split",
    "channels_last",
)


def _choice(rng: np.random.Generator, options: Any) -> Any:
    """One of ``options`` as a Python value (``rng.choice`` returns numpy scalars)."""
    return options[int(rng.integers(len(options)))]


def generation_rng(
    generation: int, seed: int | list[int], *extra: int
) -> tuple[np.random.Generator, int]:
    """The random stream of ``generation``'s network of ``seed`` (a seed, or ``[seed,
    attempt]`` as :func:`drawn_within_macs` passes it): ``default_rng([*seed, 0xC0DE,
    generation, *extra])``, ``extra`` naming a design, with torch seeded by the seed (the
    layers' initial weights); and the seed. The fourth to tenth generations' ``_rng``."""
    import torch

    key = seed if isinstance(seed, list) else [seed]
    torch.manual_seed(key[0])
    return np.random.default_rng([*key, 0xC0DE, generation, *extra]), key[0]


def drawn_within_macs(
    seed: int,
    generation: int,
    draws: Mapping[str, Callable[[Any], tuple[Any, tuple[int, ...]]]],
    modes: Sequence[str],
    macs_of: Callable[[Any, tuple[int, ...]], int],
) -> tuple[str, Any, tuple[int, ...]]:
    """(design, network, input shape) of ``generation``'s network of ``seed``: a design
    of ``modes`` (from the stream ``[seed, 0xC0DE, generation, attempt]``) drawn by
    ``draws[design]`` from the seed's stream (``[seed, attempt]`` after the first), of at
    most :data:`MAX_MACS` MACs by ``macs_of`` (drawn again until one is): the fourth
    to seventh generations' ``drawn_N``."""
    for attempt in range(MAX_ATTEMPTS):
        stream = [seed, attempt] if attempt else seed
        mode = _choice(np.random.default_rng([seed, 0xC0DE, generation, attempt]), modes)
        net, shape = draws[mode](stream)
        if macs_of(net, shape) <= MAX_MACS:
            return mode, net, shape
    raise AssertionError(f"no network of seed {seed} within {MAX_MACS} MACs")


def _bn_act(nn: Any, dim: int, c: int, act: str | None) -> list[Any]:
    from hwnas.predictors.kernel_context import _act

    bn = nn.BatchNorm2d(c) if dim == 2 else nn.BatchNorm1d(c)
    return [bn] if act is None else [bn, _act(nn, act)]


class _Residual:
    """``act(body(x) + shortcut(x))``: identity shortcut, or a strided 1x1 conv and norm
    where the shape changes (the two-conv and bottleneck blocks)."""

    @staticmethod
    def build(nn: Any, body: Any, c: int, cout: int, s: int, dim: int, act: str) -> Any:
        from hwnas.predictors.kernel_context import _act

        conv = nn.Conv2d if dim == 2 else nn.Conv1d
        short = (
            nn.Identity()
            if c == cout and s == 1
            else nn.Sequential(conv(c, cout, 1, s, bias=False), *_bn_act(nn, dim, cout, None))
        )
        return _Residual.block(nn, body, short, _act(nn, act))

    @staticmethod
    def block(nn: Any, body: Any, short: Any, out_act: Any) -> Any:
        """``out_act(body(x) + short(x))`` of given modules (``nn.Identity()``: no
        activation after the sum)."""
        import torch

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.body, self.short, self.act = body, short, out_act

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.act(self.body(x) + self.short(x))

        return Block()


def _conv_block(nn: Any, rng: np.random.Generator, design: str, shape: tuple[int, ...]) -> Any:
    """One block of ``design``; ``shape``: (channels in, out, stride, dim)."""
    from hwnas.predictors.kernel_context import _ACTS
    from hwnas.predictors.kernel_context import _conv_block as first_generation

    c, cout, s, dim = shape
    conv = nn.Conv2d if dim == 2 else nn.Conv1d
    act = _choice(rng, _ACTS)
    k = _choice(rng, [1, 3, 3, 5, 7] if dim == 2 else [3, 5, 7, 9, 15])
    if design == "basic":
        body = nn.Sequential(
            conv(c, cout, k, s, k // 2, bias=False),
            *_bn_act(nn, dim, cout, act),
            conv(cout, cout, k, 1, k // 2, bias=False),
            *_bn_act(nn, dim, cout, None),
        )
        return _Residual.build(nn, body, c, cout, s, dim, act)
    if design == "bottleneck":
        mid = max(8, cout // _choice(rng, [2, 4, 4]))
        groups = _choice(rng, [g for g in (1, 1, 4, 8, 32) if mid % g == 0 and mid // g >= 4])
        body = nn.Sequential(
            conv(c, mid, 1, bias=False),
            *_bn_act(nn, dim, mid, act),
            conv(mid, mid, k if k > 1 else 3, s, (k if k > 1 else 3) // 2, groups=groups),
            *_bn_act(nn, dim, mid, act),
            conv(mid, cout, 1, bias=False),
            *_bn_act(nn, dim, cout, None),
        )
        return _Residual.build(nn, body, c, cout, s, dim, act)
    # The first generation's builder draws its own design: hand it a stream whose first
    # design choice is this one.
    fixed: Any = _Fixed(rng, design)
    return first_generation(nn, fixed, c, cout, s, dim)


class _Fixed:
    """A random stream whose first string choice among the first generation's block
    designs is ``design`` (so its block builder makes that design)."""

    def __init__(self, rng: np.random.Generator, design: str) -> None:
        self.rng, self.design, self.used = rng, design, False

    def choice(self, options: Any) -> Any:
        if not self.used and self.design in list(options):
            self.used = True
            return self.design
        return _choice(self.rng, list(options))

    def random(self) -> float:
        return float(self.rng.random())

    def integers(self, low: int, high: int | None = None) -> int:
        return int(self.rng.integers(low, high))


def _stem(nn: Any, rng: np.random.Generator, dim: int, c: int) -> tuple[list[Any], int]:
    """The first layers and their total stride."""
    conv = nn.Conv2d if dim == 2 else nn.Conv1d
    cin = 3 if dim == 2 else 1
    design = _choice(rng, ["strided", "resnet", "patch", "double"])
    if design == "resnet":
        pool = nn.MaxPool2d(3, 2, 1) if dim == 2 else nn.MaxPool1d(3, 2, 1)
        k = 7 if dim == 2 else 15
        return [conv(cin, c, k, 2, k // 2, bias=False), *_bn_act(nn, dim, c, "relu"), pool], 4
    if design == "patch":
        p = _choice(rng, [2, 4, 4] if dim == 2 else [4, 8, 16])
        return [conv(cin, c, p, p)], p
    if design == "double":
        return [
            conv(cin, c // 2, 3, 2, 1, bias=False),
            *_bn_act(nn, dim, c // 2, "relu"),
            conv(c // 2, c, 3, 2 if dim == 1 else 1, 1, bias=False),
            *_bn_act(nn, dim, c, "relu"),
        ], (2 if dim == 2 else 4)
    stride = _choice(rng, [2, 4] if dim == 2 else [4, 8, 16])
    return [conv(cin, c, stride + 1, stride, stride // 2)], stride


def _stages(
    nn: Any, rng: np.random.Generator, c: int, size: int, dim: int
) -> tuple[list[Any], int, int]:
    """Random stages (one block design each, 1-4 blocks, the first strided or after a
    pool); returns the layers, the channels and the spatial size at the end."""
    layers: list[Any] = []
    for stage in range(int(rng.integers(2, 6))):
        cout = int(min(1024, c * _choice(rng, [1.0, 1.5, 2.0, 2.0])))
        cout -= cout % 2
        design = _choice(
            rng, [d for d in _CONV_BLOCKS if dim == 2 or d not in ("split", "channels_last")]
        )
        pool = stage > 0 and size >= 4 and rng.random() < 0.25
        if pool:
            layers.append(
                (nn.MaxPool2d if rng.random() < 0.5 else nn.AvgPool2d)(2)
                if dim == 2
                else (nn.MaxPool1d if rng.random() < 0.5 else nn.AvgPool1d)(2)
            )
            size //= 2
        for i in range(int(rng.integers(1, 5))):
            s = 2 if (i == 0 and stage > 0 and size >= 4 and not pool) else 1
            layers.append(_conv_block(nn, rng, design, (c, cout, s, dim)))
            size, c = -(-size // s), cout
    return layers, c, size


def random_convnet(seed: int | list[int], dim: int) -> tuple[Any, tuple[int, ...]]:
    """A random convolutional network of the second generation (2-D images or 1-D
    signals), with (sometimes, for small feature maps) token blocks before its head."""
    import torch

    from hwnas.predictors.kernel_context import _Net, _token_block

    nn = torch.nn
    key = seed if isinstance(seed, list) else [seed]
    rng = np.random.default_rng([*key, 0xC0DE, 2])
    torch.manual_seed(key[0])
    res = _choice(
        rng,
        [32, 48, 64, 96, 112, 128, 160, 192, 224, 256]
        if dim == 2
        else [1000, 4000, 8000, 16000, 32000],
    )
    c = _choice(rng, [8, 16, 24, 32, 48, 64, 96])
    stem, stride = _stem(nn, rng, dim, c)
    size = -(-res // stride)
    layers, c, size = _stages(nn, rng, c, size, dim)
    token_layers = []
    if dim == 2 and size * size <= 256 and rng.random() < 0.3:
        # The real size after the stem and the stages: run a zero input through them.
        with torch.no_grad():
            out = nn.Sequential(*stem, *layers).eval()(torch.zeros(1, 3, res, res))
        tokens = int(out.shape[2] * out.shape[3])
        token_layers = [_token_block(nn, rng, c, tokens) for _ in range(int(rng.integers(1, 3)))]
    net = _Net.build(nn, [*stem, *layers], token_layers, c, "image" if dim == 2 else "signal")
    return net.eval(), ((1, 3, res, res) if dim == 2 else (1, 1, res))


class _Attention:
    """Multi-head self-attention with fused or separate Q, K, V projections."""

    @staticmethod
    def build(nn: Any, d: int, heads: int, fused: bool) -> Any:
        import torch

        class Attention(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if fused:
                    self.qkv = nn.Linear(d, 3 * d)
                else:
                    self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
                self.proj = nn.Linear(d, d)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                b, t, _ = x.shape
                if fused:
                    q, k, v = self.qkv(x).reshape(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
                else:
                    q, k, v = (
                        f(x).reshape(b, t, heads, -1).transpose(1, 2)
                        for f in (self.q, self.k, self.v)
                    )
                a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)
                return self.proj((a @ v).transpose(1, 2).reshape(b, t, d))

        return Attention()


class _Encoder:
    """A transformer encoder block (attention, then an MLP; pre-norm or post-norm) or an
    MLP-mixer block (token-mixing MLP, then a channel MLP)."""

    @staticmethod
    def build(nn: Any, rng: np.random.Generator, d: int, tokens: int, design: str) -> Any:
        import torch

        from hwnas.predictors.kernel_context import _act

        act = _choice(rng, ["gelu", "gelu", "relu", "silu"])
        ratio = _choice(rng, [2, 3, 4, 4])
        post_norm = design == "post"
        if design == "mixer":
            hidden = max(8, tokens * _choice(rng, [1, 2, 4]) // 2)
            mix = nn.Sequential(nn.Linear(tokens, hidden), _act(nn, act), nn.Linear(hidden, tokens))
        else:
            heads = _choice(rng, [h for h in (1, 2, 4, 6, 8, 12) if d % h == 0 and d // h >= 16])
            mix = _Attention.build(nn, d, heads, rng.random() < 0.5)
        mlp = nn.Sequential(nn.Linear(d, ratio * d), _act(nn, act), nn.Linear(ratio * d, d))

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mix, self.mlp = mix, mlp
                self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

            def mixing(self, x: torch.Tensor) -> torch.Tensor:
                if design == "mixer":
                    return self.mix(x.transpose(1, 2)).transpose(1, 2)
                return self.mix(x)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                if post_norm:
                    x = self.n1(x + self.mixing(x))
                    return self.n2(x + self.mlp(x))
                x = x + self.mixing(self.n1(x))
                return x + self.mlp(self.n2(x))

        return Block()


def random_transformer(seed: int | list[int]) -> tuple[Any, tuple[int, ...]]:
    """A random transformer or MLP-mixer of the second generation: on image patches (a
    conv patch embedding, sometimes a class token) or on a plain token input, with learnt
    positions, 1-8 blocks of one design, a final norm and a linear head."""
    import torch

    nn = torch.nn
    key = seed if isinstance(seed, list) else [seed]
    rng = np.random.default_rng([*key, 0xC0DE, 2])
    torch.manual_seed(key[0])
    d = _choice(rng, [64, 96, 128, 192, 256, 384, 512])
    design = _choice(rng, ["pre", "pre", "post", "mixer"])
    images = rng.random() < 0.5
    shape: tuple[int, ...]
    if images:
        patch, grid = _choice(rng, [4, 8, 16]), _choice(rng, [4, 6, 7, 8, 12, 14])
        tokens, shape = grid * grid, (1, 3, patch * grid, patch * grid)
    else:
        patch, tokens = 0, _choice(rng, [16, 32, 64, 96, 128, 196, 256, 384])
        shape = (1, tokens, d)
    cls = images and design != "mixer" and rng.random() < 0.5
    blocks = nn.Sequential(
        *(_Encoder.build(nn, rng, d, tokens + cls, design) for _ in range(int(rng.integers(1, 9))))
    )

    class Transformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch) if images else nn.Identity()
            self.cls = nn.Parameter(torch.zeros(1, 1, d)) if cls else None
            self.pos = nn.Parameter(torch.randn(1, tokens + cls, d) * 0.02)
            self.blocks, self.norm, self.head = blocks, nn.LayerNorm(d), nn.Linear(d, 100)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if images:
                x = self.embed(x).flatten(2).transpose(1, 2)
            if self.cls is not None:
                x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1)
            x = self.norm(self.blocks(x + self.pos))
            return self.head(x[:, 0] if self.cls is not None else x.mean(1))

    return Transformer().eval(), shape


def macs(module: Any, shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of the convolutions and linear layers of ``module`` on an
    input of ``shape`` (counted on one forward pass)."""
    import torch

    total = [0]

    def count(layer: Any, _: Any, out: torch.Tensor) -> None:
        if isinstance(layer, torch.nn.Linear):
            total[0] += out.numel() * layer.in_features
        else:
            per = layer.in_channels // layer.groups * int(np.prod(layer.kernel_size))
            total[0] += out.numel() * per

    kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)
    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        module(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return total[0]


def random_network_2(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random network of the second generation from ``seed``: a 2-D convnet (half of
    them), a 1-D one or a transformer, of at most :data:`MAX_MACS` (drawn again, from the
    seed's next stream, until one is)."""
    for attempt in range(MAX_ATTEMPTS):
        stream = [seed, attempt] if attempt else seed
        mode = _choice(np.random.default_rng([seed, 0xC0DE, 2, attempt]), MODES)
        if mode == "tokens":
            net, shape = random_transformer(stream)
        else:
            net, shape = random_convnet(stream, 2 if mode == "image" else 1)
        if macs(net, shape) <= MAX_MACS:
            return net, shape
    raise AssertionError(f"no network of seed {seed} within {MAX_MACS} MACs")
