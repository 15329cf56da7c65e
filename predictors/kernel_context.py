"""Kernels in context: a whole-network correction of the kernel-level predictor.

Single kernels are timed alone, with their weights warm in cache and nothing before
them; inside a network they run after other kernels, read weights that no longer fit in
cache and pay for every kernel boundary. So a sum of single-kernel times is too low for
real networks, by an amount that depends on what the network is made of.

This module fits that difference on whole networks from a *generator of random diverse
architectures* (:func:`random_network`: random mixes of plain, depthwise-separable,
inverted-residual, squeeze-excitation, attention and MLP blocks, 1-D and 2-D, random
widths and resolutions) — never on the models anyone scores the predictor on. The
correction is linear in network-level aggregates of the per-kernel prediction::

    corrected = sum_g a_g * predicted_g + b * weight_MB + c * kernels + d

(``predicted_g``: the summed prediction of the kernels of group ``g``, each kernel
already corrected to its in-network time where the predictor has that correction,
:mod:`hwnas.predictors.kernel_incontext`; ``weight_MB``: the
network's parameters in MB; non-negative coefficients fitted by least squares on relative
error, so a big network does not outweigh a small one.) ``hwnas kernels build`` measures
the random networks (configuration ``{"kind": "context", "seed": s}`` in space
``kernels:context``) through the same queue and store as the kernels, resumable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.errors import HwnasError, UsageError

CONTEXT_KIND = "context"

#: Kernel kinds summed together as one term of the correction.
GROUPS: dict[str, tuple[str, ...]] = {
    "conv": ("conv", "qconv"),
    "dwconv": ("dwconv", "qdwconv"),
    "gemm": ("gemm", "matmul", "qgemm", "qmatmul"),
    "norm": ("layernorm", "softmax"),
    "other": (),  # every other kind
}
TERMS = (*(f"ms_{g}" for g in GROUPS), "weight_mb", "kernels", "one")
#: Weight of the pull of each kernel-sum multiplier towards 1 (against relative errors).
PRIOR = 0.02
_ACTS = ("relu", "relu6", "silu", "hardswish", "gelu")


def network_terms(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The correction's inputs of one network from its per-kernel rows
    (``KernelPredictor.predict_onnx``): one value per name in :data:`TERMS`."""
    where = {kind: g for g, kinds in GROUPS.items() for kind in kinds}
    sums = dict.fromkeys(GROUPS, 0.0)
    params = 0
    for r in rows:
        sums[where.get(str(r["kind"]), "other")] += float(r["ms"])
        params += int(r.get("params", 0))
    return np.array([*sums.values(), 4 * params / 1e6, float(len(rows)), 1.0])


def fit_context(terms: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """Non-negative coefficients (one per :data:`TERMS`) minimising the relative error of
    ``terms @ coef`` against ``measured`` (ms), slightly pulled towards 1 on the kernel
    sums (a weak prior: without evidence, trust the kernels)."""
    from scipy.optimize import nnls

    terms, measured = np.asarray(terms, float), np.asarray(measured, float)
    if len(measured) < len(TERMS):
        raise UsageError(f"fitting the context correction needs >= {len(TERMS)} networks")
    a = terms / measured[:, None]
    b = np.ones(len(measured))
    prior = np.zeros((len(GROUPS), len(TERMS)))
    prior[np.arange(len(GROUPS)), np.arange(len(GROUPS))] = PRIOR
    coef, _ = nnls(np.vstack([a, prior]), np.concatenate([b, PRIOR * np.ones(len(GROUPS))]))
    return {name: float(c) for name, c in zip(TERMS, coef, strict=True)}


def apply_context(coef: Mapping[str, float], rows: Sequence[Mapping[str, Any]]) -> float:
    """The corrected network latency (ms) from its per-kernel rows."""
    x = network_terms(rows)
    return float(x @ np.array([coef[name] for name in TERMS]))


# ----------------------------------------------------------------------- the generator


def _act(nn: Any, name: str) -> Any:
    return {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "silu": nn.SiLU,
        "hardswish": nn.Hardswish,
        "gelu": nn.GELU,
        "elu": nn.ELU,
        "tanh": nn.Tanh,
    }[name]()


def _conv_block(nn: Any, rng: np.random.Generator, c: int, cout: int, s: int, dim: int) -> Any:
    """One random convolutional block (plain, depthwise-separable, inverted residual with
    optional squeeze-excitation), with a residual when shapes allow."""
    import torch

    conv = nn.Conv2d if dim == 2 else nn.Conv1d
    bn = nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d
    kind = rng.choice(["plain", "dwsep", "inverted", "inverted_se", "split", "channels_last"])
    if kind in ("split", "channels_last") and (dim == 1 or c != cout or s != 1 or c % 2):
        kind = "plain"
    if kind == "split":
        return _SplitShuffle.build(nn, c, int(rng.choice([3, 5])))
    if kind == "channels_last":
        return _ChannelsLast.build(nn, c, int(rng.choice([3, 5, 7])), int(rng.choice([2, 4])))
    k = int(rng.choice([1, 3, 5, 7] if dim == 2 else [3, 5, 9]))
    act = str(rng.choice(_ACTS))
    if kind == "plain":
        parts = [conv(c, cout, k, s, k // 2, bias=False), bn(cout), _act(nn, act)]
    else:
        e = 1 if kind == "dwsep" else int(rng.choice([2, 3, 4, 6]))
        mid = c * e
        parts = [conv(c, mid, 1), bn(mid), _act(nn, act)] if e > 1 else []
        parts += [conv(mid, mid, k, s, k // 2, groups=mid), bn(mid), _act(nn, act)]
        if kind == "inverted_se":
            parts.append(_Gate.build(nn, conv, mid, dim, str(rng.choice(["sigmoid", "hard"]))))
        parts += [conv(mid, cout, 1), bn(cout)]
    body = nn.Sequential(*parts)
    residual = s == 1 and c == cout

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x) if residual else self.body(x)

    return Block()


class _SplitShuffle:
    """Half the channels through pointwise-depthwise-pointwise, concatenated with the
    other half and shuffled (reshape, transpose): memory-heavy glue."""

    @staticmethod
    def build(nn: Any, c: int, k: int) -> Any:
        import torch

        h = c // 2
        f = nn.Sequential(
            nn.Conv2d(h, h, 1),
            nn.ReLU(),
            nn.Conv2d(h, h, k, 1, k // 2, groups=h),
            nn.Conv2d(h, h, 1),
        )

        class Split(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.f = f

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                a, b = x.chunk(2, dim=1)
                y = torch.cat([a, self.f(b)], 1)
                n, _, hh, ww = y.shape
                return y.view(n, 2, h, hh, ww).transpose(1, 2).reshape(n, c, hh, ww)

        return Split()


class _ChannelsLast:
    """Depthwise conv, then LayerNorm and an MLP on channels-last (permuted) tensors."""

    @staticmethod
    def build(nn: Any, c: int, k: int, ratio: int) -> Any:
        import torch

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.dw = nn.Conv2d(c, c, k, 1, k // 2, groups=c)
                self.norm = nn.LayerNorm(c)
                self.mlp = nn.Sequential(
                    nn.Linear(c, ratio * c), nn.GELU(), nn.Linear(ratio * c, c)
                )

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                y = self.mlp(self.norm(self.dw(x).permute(0, 2, 3, 1)))
                return x + y.permute(0, 3, 1, 2)

        return Block()


class _Gate:
    @staticmethod
    def build(nn: Any, conv: Any, c: int, dim: int, gate: str) -> Any:
        import torch

        pool = nn.AdaptiveAvgPool2d(1) if dim == 2 else nn.AdaptiveAvgPool1d(1)
        f = nn.Sequential(
            pool,
            conv(c, max(4, c // 4), 1),
            nn.ReLU(),
            conv(max(4, c // 4), c, 1),
            nn.Sigmoid() if gate == "sigmoid" else nn.Hardsigmoid(),
        )

        class Gate(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.f = f

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x * self.f(x)

        return Gate()


def _token_block(nn: Any, rng: np.random.Generator, d: int, tokens: int) -> Any:
    """A random token block: self-attention, a channel MLP or a token-mixing MLP, with a
    pre-norm and a residual."""
    import torch

    kind = str(rng.choice(["attention", "mlp", "token_mlp"]))
    heads = int(rng.choice([h for h in (1, 2, 4, 8) if d % h == 0]))
    ratio = int(rng.choice([2, 3, 4]))
    act = str(rng.choice(["gelu", "relu", "silu"]))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(d)
            if kind == "attention":
                self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            elif kind == "mlp":
                self.f = nn.Sequential(
                    nn.Linear(d, ratio * d), _act(nn, act), nn.Linear(ratio * d, d)
                )
            else:
                hidden = max(8, tokens * ratio // 2)
                self.f = nn.Sequential(
                    nn.Linear(tokens, hidden), _act(nn, act), nn.Linear(hidden, tokens)
                )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.norm(x)
            if kind == "attention":
                b, t, _ = y.shape
                q, k, v = self.qkv(y).reshape(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
                a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)
                return x + self.proj((a @ v).transpose(1, 2).reshape(b, t, d))
            if kind == "mlp":
                return x + self.f(y)
            return x + self.f(y.transpose(1, 2)).transpose(1, 2)

    return Block()


def _later_generation(seed: int) -> tuple[Any, tuple[int, ...]] | None:
    """The network of ``seed`` from the second generation on (None for the first)."""
    from hwnas.predictors.kernel_networks import GENERATION_2, random_network_2
    from hwnas.predictors.kernel_networks3 import GENERATION_3, random_network_3
    from hwnas.predictors.kernel_networks4 import GENERATION_4, random_network_4
    from hwnas.predictors.kernel_networks5 import GENERATION_5, random_network_5
    from hwnas.predictors.kernel_networks6 import GENERATION_6, random_network_6
    from hwnas.predictors.kernel_networks7 import GENERATION_7, random_network_7
    from hwnas.predictors.kernel_networks8 import GENERATION_8, random_network_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9, random_network_9
    from hwnas.predictors.kernel_networks10 import GENERATION_10, random_network_10

    latest_first = (
        (GENERATION_10, random_network_10),
        (GENERATION_9, random_network_9),
        (GENERATION_8, random_network_8),
        (GENERATION_7, random_network_7),
        (GENERATION_6, random_network_6),
        (GENERATION_5, random_network_5),
        (GENERATION_4, random_network_4),
        (GENERATION_3, random_network_3),
        (GENERATION_2, random_network_2),
    )
    for first, draw in latest_first:
        if seed >= first:
            return draw(seed)
    return None


def random_network(seed: int) -> tuple[Any, tuple[int, ...]]:
    """A random diverse network (torch module, eval mode) and its input shape, from
    ``seed``: an image (2-D), signal (1-D) or token model; convolutional stages of random
    blocks and widths, then (sometimes) token blocks, then a head. Seeds from
    :data:`~hwnas.predictors.kernel_networks.GENERATION_2` draw the second generation
    (:mod:`hwnas.predictors.kernel_networks`), seeds from
    :data:`~hwnas.predictors.kernel_networks3.GENERATION_3` the third
    (:mod:`hwnas.predictors.kernel_networks3`), seeds from
    :data:`~hwnas.predictors.kernel_networks4.GENERATION_4` the fourth
    (:mod:`hwnas.predictors.kernel_networks4`), seeds from
    :data:`~hwnas.predictors.kernel_networks5.GENERATION_5` the fifth
    (:mod:`hwnas.predictors.kernel_networks5`), seeds from
    :data:`~hwnas.predictors.kernel_networks6.GENERATION_6` the sixth
    (:mod:`hwnas.predictors.kernel_networks6`), seeds from
    :data:`~hwnas.predictors.kernel_networks7.GENERATION_7` the seventh
    (:mod:`hwnas.predictors.kernel_networks7`), seeds from
    :data:`~hwnas.predictors.kernel_networks8.GENERATION_8` the eighth
    (:mod:`hwnas.predictors.kernel_networks8`), seeds from
    :data:`~hwnas.predictors.kernel_networks9.GENERATION_9` the ninth
    (:mod:`hwnas.predictors.kernel_networks9`), seeds from
    :data:`~hwnas.predictors.kernel_networks10.GENERATION_10` the tenth
    (:mod:`hwnas.predictors.kernel_networks10`); ``hwnas kernels build`` measures the
    second to tenth."""
    import torch

    later = _later_generation(seed)
    if later is not None:
        return later

    nn = torch.nn
    rng = np.random.default_rng([seed, 0xC0DE])
    torch.manual_seed(seed)
    mode = str(rng.choice(["image", "image", "image", "signal", "tokens"]))
    if mode == "tokens":
        d = int(rng.choice([64, 96, 128, 192, 256, 384]))
        tokens = int(rng.choice([16, 32, 49, 64, 96, 128, 196]))
        blocks = [_token_block(nn, rng, d, tokens) for _ in range(int(rng.integers(2, 9)))]
        return _Net.build(nn, blocks, None, d, "tokens").eval(), (1, tokens, d)
    dim = 2 if mode == "image" else 1
    res = (
        int(rng.choice([32, 48, 64, 96, 112, 128, 160, 192, 224]))
        if dim == 2
        else int(rng.choice([2000, 4000, 8000, 16000]))
    )
    conv = nn.Conv2d if dim == 2 else nn.Conv1d
    c = int(rng.choice([8, 12, 16, 24, 32, 48]))
    stride = int(rng.choice([2, 4])) if dim == 2 else int(rng.choice([4, 8, 16]))
    layers: list[Any] = [conv(3 if dim == 2 else 1, c, stride + 1, stride, stride // 2)]
    # ``size`` is the floor the choices below were first made with (a seed names the same
    # network in every store); ``exact`` is the real one: odd kernels with padding k // 2
    # give ceil(size / stride), which the token-mixing MLPs must match.
    size, exact = res // stride, -(-res // stride)
    for stage in range(int(rng.integers(2, 6))):
        cout = int(min(512, c * rng.choice([1.0, 1.5, 2.0, 2.0])))
        for i in range(int(rng.integers(1, 4))):
            s = 2 if (i == 0 and stage > 0 and size >= 4) else 1
            layers.append(_conv_block(nn, rng, c, cout, s, dim))
            size, exact, c = size // s, -(-exact // s), cout
    token_layers = []
    if dim == 2 and size**dim <= 256 and rng.random() < 0.4:
        tokens = exact**dim
        token_layers = [_token_block(nn, rng, c, tokens) for _ in range(int(rng.integers(1, 4)))]
    return _Net.build(nn, layers, token_layers, c, mode).eval(), (1, 3, res, res) if dim == 2 else (
        1,
        1,
        res,
    )


class _Net:
    @staticmethod
    def build(nn: Any, convs: list[Any], tokens: list[Any] | None, c: int, mode: str) -> Any:
        import torch

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.convs = nn.Sequential(*convs)
                self.tokens = nn.Sequential(*(tokens or []))
                self.head = nn.Linear(c, 100)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                x = self.convs(x)
                if mode != "tokens":
                    x = x.flatten(2).transpose(1, 2)
                return self.head(self.tokens(x).mean(1))

        return Net()


#: How many exported networks a :class:`ContextSpace` with a scratch directory keeps.
SCRATCH_KEPT = 2


class ContextSpace:
    """The random networks, addressed the way the profiling fleet expects: ``name`` is
    ``kernels:context`` and :meth:`to_onnx` turns ``{"kind": "context", "seed": s}`` into
    an exported file (torchscript exporter, opset 17).

    Fitting needs a network's shapes, never its weights, so what is kept in ``cache`` is
    each network's weightless copy (:meth:`structure`, kilobytes; see
    :func:`hwnas.predictors.kernel_graph.weightless`). With ``scratch``, the files to
    measure are exported there and only the last :data:`SCRATCH_KEPT` are kept (a build
    measures one at a time, just after exporting it: 2,700 full networks took 32-36 GB);
    without it they are kept in ``cache`` beside their copies (benchmarks that measure
    the same networks again)."""

    def __init__(self, cache: Path, scratch: Path | None = None) -> None:
        self.kind = CONTEXT_KIND
        self.name = f"kernels:{CONTEXT_KIND}"
        self.cache = Path(cache)
        self.scratch = None if scratch is None else Path(scratch)
        self._exported: list[Path] = []

    @staticmethod
    def _key(arch: str) -> str:
        """The file key of a configuration, however its JSON is spelt (the store's
        canonical form: ``{"seed": 5, "kind": "context"}`` is the same network)."""
        from hwnas.predictors.kernel_sampler import config_string

        try:
            config = json.loads(arch)
        except ValueError:
            config = None
        if not isinstance(config, dict) or config.get("kind") != CONTEXT_KIND:
            raise UsageError(f"configuration {arch!r} is not a random context network")
        return hashlib.sha256(config_string(config).encode()).hexdigest()[:20]

    def to_onnx(self, arch: str, *, exporter: str = "onnx") -> Path:
        """The network to measure (exported again if it is gone); its weightless copy is
        written beside it in ``cache`` the first time."""
        key = self._key(arch)
        path = (self.scratch or self.cache) / f"context-{key}.onnx"
        if not path.exists():
            self._export(arch, path)
        with contextlib.suppress(HwnasError):  # no copy: structure() says why, later
            self._keep_structure(key, path)
        if self.scratch is not None:
            if path in self._exported:
                self._exported.remove(path)
            self._exported.append(path)
            while len(self._exported) > SCRATCH_KEPT:
                self._exported.pop(0).unlink(missing_ok=True)
        return path

    def structure_path(self, arch: str) -> Path:
        """Where the weightless copy of the network is (or will be) kept."""
        return self._copy(self._key(arch))

    def _copy(self, key: str) -> Path:
        return self.cache / f"context-{key}.shapes.onnx"

    def structure(self, arch: str) -> Path:
        """The weightless copy of the network (exported again to make it if it was never
        made). A full export that older builds kept in ``cache`` is replaced by its
        copy."""
        key = self._key(arch)
        path = self._copy(key)
        if path.exists():
            return path
        # Older builds kept full exports here, keyed by the JSON as spelt: two per network
        # (the measured job's canonical JSON and the fit's spaced one).
        spelt = {json.dumps(json.loads(arch)), arch}
        legacy = [self.cache / f"context-{key}.onnx"] + [
            self.cache / f"context-{hashlib.sha256(a.encode()).hexdigest()[:20]}.onnx"
            for a in sorted(spelt)
        ]
        found = [p for p in legacy if p.exists()]
        if found:
            self._keep_structure(key, found[0])
            for p in found:
                p.unlink(missing_ok=True)
            return path
        import tempfile

        with tempfile.TemporaryDirectory(prefix="hwnas-context-") as tmp:
            self._export(arch, Path(tmp) / "model.onnx")
            self._keep_structure(key, Path(tmp) / "model.onnx")
        return path

    @staticmethod
    def _export(arch: str, path: Path) -> None:
        from hwnas.export import export_onnx

        path.parent.mkdir(parents=True, exist_ok=True)
        module, shape = random_network(int(json.loads(arch)["seed"]))
        export_onnx(module, shape, path, opset=17, exporter="torchscript")

    def _keep_structure(self, key: str, full: Path) -> None:
        import onnx

        from hwnas.predictors.kernel_graph import weightless

        path = self._copy(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        onnx.save(weightless(onnx.load(str(full))), str(part))
        os.replace(part, path)


def generation_firsts() -> tuple[int, ...]:
    """The first seed of each generation of random networks a build plans, the second to
    the tenth, in order (the first generation's seeds start at 0)."""
    from hwnas.predictors.kernel_networks import GENERATION_2
    from hwnas.predictors.kernel_networks3 import GENERATION_3
    from hwnas.predictors.kernel_networks4 import GENERATION_4
    from hwnas.predictors.kernel_networks5 import GENERATION_5
    from hwnas.predictors.kernel_networks6 import GENERATION_6
    from hwnas.predictors.kernel_networks7 import GENERATION_7
    from hwnas.predictors.kernel_networks8 import GENERATION_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9
    from hwnas.predictors.kernel_networks10 import GENERATION_10

    return (
        GENERATION_2,
        GENERATION_3,
        GENERATION_4,
        GENERATION_5,
        GENERATION_6,
        GENERATION_7,
        GENERATION_8,
        GENERATION_9,
        GENERATION_10,
    )


def context_configs(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """The configurations of ``n`` random networks: a ninth each (the earlier
    generations rounded up) of the second generation (seeds ``GENERATION_2 +
    seed*100000 + i``), the third (``GENERATION_3 + ...``), the fourth (``GENERATION_4 +
    ...``), the fifth (``GENERATION_5 + ...``), the sixth (``GENERATION_6 + ...``), the
    seventh (``GENERATION_7 + ...``), the eighth (``GENERATION_8 + ...``), the ninth
    (``GENERATION_9 + ...``) and the tenth (``GENERATION_10 + ...``). Stores keep what
    earlier builds measured (builds before the tenth generation planned an eighth of
    ``n`` from each of the second to ninth, builds before the ninth generation planned a
    seventh of ``n`` from each of the second to eighth, builds
    before the eighth generation planned a sixth of
    ``n`` from each of the second to seventh, builds before the seventh generation
    planned a fifth of ``n`` from each of the
    second to sixth, builds before the sixth generation planned
    a quarter of ``n`` from each of the second to fifth, builds before the fifth a third
    from each of the second to fourth, builds before the fourth half from each of the
    second and third, and earlier ones the first generation, seeds ``seed*100000 + i``),
    and a larger ``n`` measures only the networks it adds."""
    firsts = generation_firsts()
    k = len(firsts)
    counts = tuple((n + k - 1 - i) // k for i in range(k))
    seeds = [
        first + seed * 100_000 + i
        for first, count in zip(firsts, counts, strict=True)
        for i in range(count)
    ]
    return [{"kind": CONTEXT_KIND, "seed": s} for s in seeds]


def context_measurements(store: Any, *, device: str, fingerprint: str) -> dict[int, float]:
    """Median latency (ms) of every random network measured on ``device`` under
    ``fingerprint``, by seed (the median measurement where one was measured again)."""
    by_seed: dict[int, list[float]] = {}
    for s in store.measurements(
        device=device, fingerprint=fingerprint, space=f"kernels:{CONTEXT_KIND}"
    ):
        m = s.measurement
        seed = int(json.loads(m.arch.string)["seed"])
        by_seed.setdefault(seed, []).append(float(m.latency_ms.median))
    return {k: sorted(v)[(len(v) - 1) // 2] for k, v in by_seed.items()}


def context_profiles(store: Any, *, device: str, fingerprint: str) -> dict[int, list[Any]]:
    """The per-node profile (``kernel_incontext.node_profile``) of every random network
    measured on ``device`` under ``fingerprint`` that has one, by seed (the first
    measurement that has one)."""
    from hwnas.predictors.kernel_incontext import node_profile

    out: dict[int, list[Any]] = {}
    for s in store.measurements(
        device=device, fingerprint=fingerprint, space=f"kernels:{CONTEXT_KIND}"
    ):
        seed = int(json.loads(s.measurement.arch.string)["seed"])
        profile = node_profile(s.measurement.op_profile)
        if profile is not None and seed not in out:
            out[seed] = profile
    return out


def fit_on_networks(
    predictor: Any, paths: Sequence[str | os.PathLike[str]], measured: Sequence[float]
) -> dict[str, float]:
    """Fit the context correction of ``predictor`` (a fitted ``KernelPredictor``, used
    uncorrected) on networks ``paths`` measured at ``measured`` ms."""
    terms = np.array([network_terms(predictor.predict_onnx_raw(p)[1]) for p in paths])
    return fit_context(terms, np.asarray(measured, float))
