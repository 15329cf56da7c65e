"""The in-context correction of the kernel predictor: its terms, fit and use, the random
network generator it is fitted on, and its round trip through a saved predictor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hwnas.errors import ParameterError, UsageError
from hwnas.predictors.kernel_build import DEFAULT_CONTEXT, context_networks
from hwnas.predictors.kernel_context import (
    GROUPS,
    TERMS,
    ContextSpace,
    apply_context,
    context_configs,
    fit_context,
    generation_firsts,
    network_terms,
    random_network,
)
from hwnas.predictors.kernel_networks import GENERATION_2, MAX_MACS, macs
from hwnas.predictors.kernel_networks3 import GENERATION_3
from hwnas.predictors.kernel_networks4 import GENERATION_4, MAX_MLP_PARAMS, macs4
from hwnas.predictors.kernel_networks5 import GENERATION_5, MODES, drawn_5, macs5
from hwnas.predictors.kernels import KernelPredictor
from tests.test_kernels import small_cnn, synthetic_samples


def _row(kind: str, ms: float, params: int = 0) -> dict[str, object]:
    return {"kind": kind, "ms": ms, "params": params}


def test_terms_sum_the_kernels_by_group_and_count_weights() -> None:
    rows = [_row("conv", 1.0, 250_000), _row("qconv", 0.5), _row("matmul", 2.0)]
    rows += [_row("softmax", 0.25), _row("view", 0.125), _row("elementwise", 0.5, 10)]
    x = dict(zip(TERMS, network_terms(rows), strict=True))
    assert x["ms_conv"] == 1.5 and x["ms_gemm"] == 2.0 and x["ms_norm"] == 0.25
    assert x["ms_dwconv"] == 0.0 and x["ms_other"] == 0.625
    assert x["weight_mb"] == pytest.approx(4 * 250_010 / 1e6)
    assert x["kernels"] == 6 and x["one"] == 1


def test_fit_recovers_multipliers_and_overheads_from_networks() -> None:
    rng = np.random.default_rng(0)
    truth = np.array([1.3, 1.1, 1.2, 1.5, 1.8, 0.4, 0.002, 0.05])
    terms = np.column_stack(
        [rng.uniform(0, 5, (60, len(GROUPS))), rng.uniform(0, 20, 60), rng.integers(10, 200, 60)]
    )
    terms = np.column_stack([terms, np.ones(60)])
    coef = fit_context(terms, terms @ truth)
    got = np.array([coef[t] for t in TERMS])
    np.testing.assert_allclose(got, truth, rtol=0.02, atol=1e-2)
    rows = [_row("conv", 2.0, 1000), _row("gemm", 1.0)]
    assert apply_context(coef, rows) == pytest.approx(network_terms(rows) @ got)
    with pytest.raises(UsageError, match="needs >= 8 networks"):
        fit_context(terms[:3], terms[:3] @ truth)


def test_random_networks_are_seeded_diverse_and_export(tmp_path: Path) -> None:
    import torch

    shapes = [random_network(s)[1] for s in range(12)]
    assert shapes == [random_network(s)[1] for s in range(12)]
    assert {len(s) for s in shapes} == {3, 4}  # tokens or 1-D signals, and images
    module, shape = random_network(6)
    assert module(torch.randn(*shape)).shape == (1, 100)
    space = ContextSpace(tmp_path)
    from hwnas.predictors.kernel_networks6 import GENERATION_6
    from hwnas.predictors.kernel_networks7 import GENERATION_7
    from hwnas.predictors.kernel_networks8 import GENERATION_8
    from hwnas.predictors.kernel_networks9 import GENERATION_9
    from hwnas.predictors.kernel_networks10 import GENERATION_10

    # A ninth each of the second to tenth generations; a larger build only adds
    # networks.
    seeds = [c["seed"] for c in context_configs(10, seed=3)]
    assert seeds == [
        GENERATION_2 + 300_000,
        GENERATION_2 + 300_001,
        GENERATION_3 + 300_000,
        GENERATION_4 + 300_000,
        GENERATION_5 + 300_000,
        GENERATION_6 + 300_000,
        GENERATION_7 + 300_000,
        GENERATION_8 + 300_000,
        GENERATION_9 + 300_000,
        GENERATION_10 + 300_000,
    ]
    for n in range(1, 12):
        smaller = {c["seed"] for c in context_configs(n, seed=3)}
        assert smaller <= {c["seed"] for c in context_configs(n + 1, seed=3)}
    firsts = generation_firsts()
    assert firsts[-3:] == (GENERATION_8, GENERATION_9, GENERATION_10)
    assert [c["seed"] for c in context_configs(2700)][::300] == list(firsts)
    # The default build plans the 300 of each of the eight earlier generations that a
    # build of 2400 planned before the tenth generation, and adds the tenth's.
    planned = {c["seed"] for c in context_configs(DEFAULT_CONTEXT)}
    earlier = {g + i for g in firsts[:-1] for i in range(300)}
    assert earlier <= planned and len(planned - earlier) == 300
    assert {s for s in planned if s >= GENERATION_10} == {GENERATION_10 + i for i in range(300)}
    path = space.to_onnx('{"kind": "context", "seed": 6}')
    assert path.exists() and space.to_onnx('{"kind": "context", "seed": 6}') == path
    with pytest.raises(UsageError, match="not a random context network"):
        space.to_onnx('{"kind": "conv"}')


def test_how_many_networks_a_build_measures() -> None:
    assert context_networks(120, None) == context_networks(20, None) == DEFAULT_CONTEXT == 2700
    assert context_networks(5, None) == 0
    assert context_networks(5, 30) == 30
    with pytest.raises(ParameterError, match="context"):
        context_networks(120, -1)


def test_saved_predictor_keeps_and_applies_its_correction(tmp_path: Path) -> None:
    predictor = KernelPredictor(seed=0, rounds=20).fit(
        synthetic_samples(), device="local", fingerprint="abc"
    )
    raw, rows = predictor.predict_onnx(small_cnn())
    assert predictor.context_ is None and predictor.predict_onnx_raw(small_cnn())[0] == raw
    predictor.context_ = dict.fromkeys(TERMS, 0.0) | {"ms_conv": 2.0, "one": 0.5}
    conv_ms = sum(r["ms"] for r in rows if r["kind"] == "conv")
    assert predictor.predict_onnx(small_cnn())[0] == pytest.approx(2 * conv_ms + 0.5)
    loaded = KernelPredictor.load(predictor.save(tmp_path / "p"))
    assert loaded.context_ == predictor.context_
    assert loaded.predict_onnx(small_cnn())[0] == pytest.approx(2 * conv_ms + 0.5)
    assert loaded.predict_onnx_raw(small_cnn())[0] == pytest.approx(raw)


@pytest.mark.parametrize("seed", [57, 235, 100025])
def test_token_mixing_follows_the_real_size_of_an_odd_feature_map(seed: int) -> None:
    # These seeds reach an odd feature map before a token-mixing MLP: its width was the
    # floor of the halved size, one short of what the strided convs give, and the
    # network could not run (nor be exported). The choices made before are unchanged.
    import torch

    net, shape = random_network(seed)
    with torch.no_grad():
        out = net(torch.zeros(shape))
    assert tuple(out.shape) == (1, 100)
    token_mlps = [m for m in net.tokens.modules() if isinstance(m, torch.nn.Linear)]
    assert token_mlps, "the seed should still build token blocks"


def _designs(net: object) -> set[str]:
    """What a network is built of: block classes and layer types, by name."""
    import torch

    assert isinstance(net, torch.nn.Module)
    names = {type(m).__qualname__.split(".")[0] for m in net.modules()}  # the builder
    names |= {type(m).__name__ for m in net.modules()}
    grouped = any(
        isinstance(m, torch.nn.Conv2d) and 1 < m.groups < m.in_channels for m in net.modules()
    )
    return names | ({"grouped"} if grouped else set())


def _drawn(seeds: list[int], redo: int) -> tuple[list[Any], list[Any], set[str]]:
    """The networks of ``seeds`` (the one at ``redo`` drawn again must be the same, each
    within the MAC bound), their outputs on a zero input, and what they are built of."""
    import torch

    nets = [random_network(s) for s in seeds]
    again = random_network(seeds[redo])
    assert again[1] == nets[redo][1]
    assert sum(p.numel() for p in again[0].parameters()) == sum(
        p.numel() for p in nets[redo][0].parameters()
    )
    outs, seen = [], set()
    for net, shape in nets:
        assert macs(net, shape) <= MAX_MACS
        with torch.no_grad():
            outs.append(net(torch.zeros(shape)))
        seen |= _designs(net)
    return nets, outs, seen


def test_second_generation_networks_are_seeded_bounded_and_cover_new_blocks() -> None:
    nets, outs, seen = _drawn([GENERATION_2 + i for i in range(40)], 5)
    assert all(tuple(out.shape) == (1, 100) for out in outs)
    assert {len(shape) for _, shape in nets} == {3, 4}
    # Blocks the first generation never draws: residual blocks with projection
    # shortcuts, grouped convolutions, transformers with attention and an MLP, pools.
    assert {"_Residual", "Attention", "Transformer", "grouped", "MaxPool2d"} <= seen, seen
    assert random_network(6)[1] == (1, 3, 32, 32)  # the first generation is unchanged


def test_second_generation_draws_again_until_a_network_is_small_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hwnas.predictors import kernel_networks

    net, shape = random_network(GENERATION_2 + 7)
    cost = macs(net, shape)
    monkeypatch.setattr(kernel_networks, "MAX_MACS", cost - 1)
    smaller, small_shape = random_network(GENERATION_2 + 7)
    assert macs(smaller, small_shape) < cost
    monkeypatch.setattr(kernel_networks, "MAX_MACS", 0)
    monkeypatch.setattr(kernel_networks, "MAX_ATTEMPTS", 3)
    with pytest.raises(AssertionError, match="within 0 MACs"):
        random_network(GENERATION_2 + 7)


def test_third_generation_networks_are_seeded_bounded_and_cover_new_structures() -> None:
    import torch

    nets, outs, seen = _drawn([GENERATION_3 + i for i in range(24)], 9)
    for (_, shape), out in zip(nets, outs, strict=True):
        # Classifiers end in 100 logits, encoder-decoders in a map of the input's size.
        assert tuple(out.shape) == (1, 100) or tuple(out.shape[2:]) == shape[2:]
    shapes = {shape for _, shape in nets}
    assert {len(s) for s in shapes} == {3, 4}
    assert any(len(s) == 4 and s[2] != s[3] for s in shapes), "non-square inputs"
    assert any(len(s) == 3 and s[1] > 1 for s in shapes), "multichannel signals"
    # What the second generation never draws: concatenated branches, upsampling
    # decoders, dilated convs, many-group convs.
    assert {"Concat", "UNet", "grouped"} <= seen, seen
    convs = (torch.nn.Conv1d, torch.nn.Conv2d)
    dilated = [
        m for net, _ in nets for m in net.modules() if isinstance(m, convs) and m.dilation[0] > 1
    ]
    assert dilated
    assert random_network(GENERATION_2 + 7)[1] == random_network(GENERATION_2 + 7)[1]


def test_third_generation_draws_again_until_a_network_is_small_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hwnas.predictors import kernel_networks3

    net, shape = random_network(GENERATION_3 + 3)
    cost = macs(net, shape)
    monkeypatch.setattr(kernel_networks3, "MAX_MACS", cost - 1)
    smaller, small_shape = random_network(GENERATION_3 + 3)
    assert macs(smaller, small_shape) < cost
    monkeypatch.setattr(kernel_networks3, "MAX_MACS", 0)
    monkeypatch.setattr(kernel_networks3, "MAX_ATTEMPTS", 2)
    with pytest.raises(AssertionError, match="within 0 MACs"):
        random_network(GENERATION_3 + 3)


def test_fourth_generation_is_seeded_bounded_and_runs_the_ops_zoo5_missed(
    tmp_path: Path,
) -> None:
    import onnx
    import onnxruntime as ort
    import torch

    seeds = [GENERATION_4 + i for i in range(30)]
    nets = [random_network(s) for s in seeds]
    again, shape = random_network(seeds[4])
    assert shape == nets[4][1]
    assert [p.shape for p in again.parameters()] == [p.shape for p in nets[4][0].parameters()]
    ops: set[str] = set()
    space = ContextSpace(tmp_path)
    for seed, (net, shape) in zip(seeds, nets, strict=True):
        assert macs4(net, shape) <= MAX_MACS
        path = space.to_onnx(f'{{"kind": "context", "seed": {seed}}}')
        ops |= {n.op_type for n in onnx.load(path).graph.node}
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = torch.randn(shape)
        with torch.no_grad():
            expected = net(x).numpy()
        (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    # Batch-1 Linear stacks (one row), PReLU, pixel shuffle, transposed convs (2-D and
    # 1-D), instance and group norm, reflection padding, resizing.
    assert {"PRelu", "ConvTranspose", "InstanceNormalization", "Pad", "Resize"} <= ops, ops
    assert {"Gemm", "DepthToSpace"} <= ops, ops
    one_row = [net for net, shape in nets if len(shape) == 2]
    assert one_row and all(
        sum(p.numel() for p in net.parameters()) <= MAX_MLP_PARAMS * 1.01 for net in one_row
    )
    assert any(len(shape) == 3 and shape[2] >= 1000 for _, shape in nets), "1-D separators"


def _seeds_by_design(
    drawn: Any, first: int, modes: tuple[str, ...], per_mode: int = 1
) -> dict[int, str]:
    """The first ``per_mode`` seeds (from ``first``) of each design of ``modes`` that
    ``drawn`` (a generation's ``drawn_N``) draws, by seed."""
    found: dict[int, str] = {}
    counts = dict.fromkeys(modes, 0)
    seed = first
    while min(counts.values()) < per_mode:
        mode = drawn(seed)[0]
        if counts[mode] < per_mode:
            found[seed] = mode
            counts[mode] += 1
        seed += 1
    return found


def _matches_torch(path: Path, net: Any, shape: tuple[int, ...], tol: float) -> None:
    """The exported network at ``path`` gives what ``net`` gives on a random input."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(shape)
    with torch.no_grad():
        expected = net(x).numpy()
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def _export_checked(
    drawn_n: Any, seed: int, mode: str, max_params: int, space: ContextSpace, compare: bool
) -> Any:
    """The ONNX model of ``drawn_n``'s network of ``seed`` (a generation's ``drawn_N``),
    after checking that it is of design ``mode``, within the MAC bound and ``max_params``
    weights; with ``compare``, that the seed draws the same network again and that its
    export matches torch."""
    import onnx

    drawn, net, shape = drawn_n(seed)
    assert drawn == mode and macs5(net, shape) <= MAX_MACS
    assert sum(p.numel() for p in net.parameters()) <= max_params
    path = space.to_onnx(f'{{"kind": "context", "seed": {seed}}}')
    if compare:
        again = drawn_n(seed)[1]
        assert [p.shape for p in net.parameters()] == [p.shape for p in again.parameters()]
        _matches_torch(path, net, shape, 2e-3)
    return onnx.load(path)


def test_fifth_generation_is_seeded_bounded_and_runs_the_ops_zoo7_missed(
    tmp_path: Path,
) -> None:
    import onnx

    seeds = _seeds_by_design(drawn_5, GENERATION_5, MODES, 2)
    assert set(seeds.values()) == set(MODES)
    again = drawn_5(next(iter(seeds)))
    ops: set[str] = set()
    ranks: set[int] = set()
    constants = 0
    space = ContextSpace(tmp_path)
    for seed, mode in seeds.items():
        drawn, net, shape = drawn_5(seed)
        assert drawn == mode and macs5(net, shape) <= MAX_MACS
        if seed == next(iter(seeds)):
            assert shape == again[2]
            assert [p.shape for p in net.parameters()] == [p.shape for p in again[1].parameters()]
        path = space.to_onnx(f'{{"kind": "context", "seed": {seed}}}')
        graph = onnx.load(path).graph
        ops |= {n.op_type for n in graph.node}
        ranks |= {len(t.dims) for t in graph.initializer}
        constants = max([constants, *(int(np.prod(t.dims)) for t in graph.initializer)])
        _matches_torch(path, net, shape, 1e-3)
    # 3-D convs (5-D weights), TopK and gathers of k nearest neighbours, embedding
    # gathers, batched MatMuls, channels-last LayerNorm and Linear layers.
    assert 5 in ranks and {"Conv", "TopK", "Gather", "MatMul", "LayerNormalization"} <= ops
    assert "Transpose" in ops, ops
    assert constants >= 64 * 64  # a graph's dense adjacency, or an embedding table


def test_macs5_counts_matmuls_and_3d_convolutions() -> None:
    import torch

    conv = torch.nn.Conv3d(2, 4, 3, padding=1)
    assert macs5(conv, (1, 2, 3, 5, 5)) == 4 * 3 * 5 * 5 * 2 * 27
    assert macs(conv, (1, 2, 3, 5, 5)) == 0  # the earlier generations' count ignores them

    class Product(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ x.transpose(1, 2)

    assert macs5(Product(), (1, 6, 7)) == 6 * 6 * 7


def test_macs_count_transposed_convolutions() -> None:
    import torch

    up = torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, output_padding=1)
    # Each of the 4 x 5 x 5 input elements is multiplied into 6 x 3 x 3 outputs.
    assert macs4(up, (1, 4, 5, 5)) == 4 * 5 * 5 * 6 * 9
    assert macs(up, (1, 4, 5, 5)) == 0  # the earlier generations' count ignores them
    assert macs4(torch.nn.Linear(7, 3), (1, 7)) == 21


def test_sixth_generation_is_seeded_bounded_and_runs_the_ops_zoo8_missed(
    tmp_path: Path,
) -> None:
    """Each design of the sixth generation is drawn, within the MAC bound, the same for a
    seed every time; its export matches torch; together they run channels-first means,
    Pow and Sqrt, pixel shuffles, PReLU, depthwise convs of 9x9 and more,
    and RMSNorm's root of a mean of squares."""
    import onnx

    from hwnas.predictors.kernel_networks6 import GENERATION_6, drawn_6
    from hwnas.predictors.kernel_networks6 import MODES as MODES_6

    found = _seeds_by_design(drawn_6, GENERATION_6, MODES_6)
    first = next(iter(found))
    again = drawn_6(first)
    ops: set[str] = set()
    depthwise: list[int] = []
    space = ContextSpace(tmp_path)
    for seed, mode in found.items():
        drawn, net, shape = drawn_6(seed)
        assert drawn == mode and macs5(net, shape) <= MAX_MACS
        if seed == first:
            assert [p.shape for p in net.parameters()] == [p.shape for p in again[1].parameters()]
        path = space.to_onnx(f'{{"kind": "context", "seed": {seed}}}')
        graph = onnx.load(path).graph
        ops |= {n.op_type for n in graph.node}
        depthwise += [
            int(t.dims[-1])
            for t in graph.initializer
            if len(t.dims) == 4 and t.dims[1] == 1 and t.dims[-1] > 1
        ]
        _matches_torch(path, net, shape, 2e-3)
    assert {"ReduceMean", "Pow", "Sqrt", "DepthToSpace", "PRelu"} <= ops, ops
    assert max(depthwise) >= 9


def test_seventh_generation_is_seeded_bounded_and_runs_the_ops_zoo9_missed(
    tmp_path: Path,
) -> None:
    """Each design of the seventh generation is drawn, within the MAC bound, the same for
    a seed every time; its export matches torch; together they run recurrent layers,
    convs whose weights are computed at run time (split as such), transposed convs, and
    frames as a batch."""
    import onnx

    from hwnas.predictors.kernel_networks7 import GENERATION_7, drawn_7
    from hwnas.predictors.kernel_networks7 import MODES as MODES_7
    from hwnas.predictors.kernel_split import split_kernels

    found = _seeds_by_design(drawn_7, GENERATION_7, MODES_7)
    ops: set[str] = set()
    computed, batches = 0, set()
    space = ContextSpace(tmp_path)
    for seed, mode in found.items():
        drawn, net, shape = drawn_7(seed)
        again = drawn_7(seed)[1]
        assert drawn == mode and macs5(net, shape) <= MAX_MACS
        assert [p.shape for p in net.parameters()] == [p.shape for p in again.parameters()]
        path = space.to_onnx(f'{{"kind": "context", "seed": {seed}}}')
        model = onnx.load(path)
        ops |= {n.op_type for n in model.graph.node}
        computed += sum(
            bool(k.attrs.get("computed_weights")) for k in split_kernels(model) if k.op == "Conv"
        )
        batches.add(shape[0])
        _matches_torch(path, net, shape, 2e-3)
    assert {"ConvTranspose", "Conv"} <= ops and ops & {"LSTM", "GRU", "RNN"}, ops
    assert computed >= 1 and max(batches) > 1


def test_eighth_generation_is_seeded_bounded_and_runs_the_ops_zoo11_missed(
    tmp_path: Path,
) -> None:
    """Each design of the eighth generation is drawn, within the MAC bound, the same for
    a seed every time; its export matches torch; together they run einsums (spectral
    mixing), gathers from an embedding table, RMSNorm (one SimplifiedLayerNormalization
    kernel) and batch-1 Linears (gemms of one row)."""

    from hwnas.predictors.kernel_networks8 import GENERATION_8, MAX_PARAMS, drawn_8
    from hwnas.predictors.kernel_networks8 import MODES as MODES_8
    from hwnas.predictors.kernel_split import split_kernels

    found = _seeds_by_design(drawn_8, GENERATION_8, MODES_8)
    ops: set[str] = set()
    rms, one_row = 0, 0
    space = ContextSpace(tmp_path)
    for seed, mode in found.items():
        model = _export_checked(drawn_8, seed, mode, MAX_PARAMS, space, compare=True)
        ops |= {n.op_type for n in model.graph.node}
        kernels = split_kernels(model)
        rms += sum(
            k.kind == "layernorm" and k.op == "SimplifiedLayerNormalization" for k in kernels
        )
        one_row += sum(k.kind == "gemm" and k.attrs.get("m") == 1 for k in kernels)
    assert {"Einsum", "Gather"} <= ops, ops
    assert rms >= 1 and one_row >= 1


def test_ninth_generation_is_seeded_bounded_and_runs_the_ops_zoo12_missed(
    tmp_path: Path,
) -> None:
    """Each design of the ninth generation is drawn, within the MAC and weight bounds, the
    same for a seed every time; its export matches torch; over 20 networks of each design
    every ``moe`` one routes by a Softmax and an ArgMax or TopK, and most ``rows`` ones run
    ONNX Gemms of more than one row (which no earlier generation ran; a ``rows`` MLP
    without biases exports MatMuls)."""

    from hwnas.predictors.kernel_networks9 import GENERATION_9, MAX_PARAMS, drawn_9
    from hwnas.predictors.kernel_networks9 import MODES as MODES_9
    from hwnas.predictors.kernel_split import split_kernels

    found = _seeds_by_design(drawn_9, GENERATION_9, MODES_9, 20)
    rows, moe, checked = 0, 0, dict.fromkeys(MODES_9, 0)
    space = ContextSpace(tmp_path)
    for seed, mode in found.items():
        # the first three of each design against torch, and again
        compare = checked[mode] < 3
        model = _export_checked(drawn_9, seed, mode, MAX_PARAMS, space, compare)
        checked[mode] += compare
        ops = {n.op_type for n in model.graph.node}
        if mode == "rows":
            kernels = split_kernels(model)
            rows += any(
                k.kind == "gemm" and k.op.startswith("Gemm") and k.attrs.get("m", 1) > 1
                for k in kernels
            )
        moe += mode == "moe" and "Softmax" in ops and bool(ops & {"ArgMax", "TopK"})
    assert moe == 20 and rows >= 15, (moe, rows)


def test_tenth_generation_is_seeded_bounded_and_runs_the_ops_zoos_13_to_15_missed(
    tmp_path: Path,
) -> None:
    """Each design of the tenth generation is drawn, within the MAC and weight bounds, the
    same for a seed every time; its export runs in onnxruntime and matches torch; every
    ``pairwise`` network scores its pairs by a Softmax or a TopK, every ``hashed`` one
    computes int64 ids (Cast, Mod) and gathers by them, every ``trees`` one multiplies its
    choices by a ReduceProd; over 10 networks of each design the exports run the Floor,
    LeakyReLU, TopK, Einsum, Where and ReduceLogSumExp of GAT, point nets, hash grids and
    tree ensembles."""

    from hwnas.predictors.kernel_networks10 import GENERATION_10, MAX_PARAMS, drawn_10
    from hwnas.predictors.kernel_networks10 import MODES as MODES_10

    found = _seeds_by_design(drawn_10, GENERATION_10, MODES_10, 10)
    ops: set[str] = set()
    checked = dict.fromkeys(MODES_10, 0)
    space = ContextSpace(tmp_path)
    for seed, mode in found.items():
        # the first three of each design against torch, and again
        compare = checked[mode] < 3
        model = _export_checked(drawn_10, seed, mode, MAX_PARAMS, space, compare)
        checked[mode] += compare
        got = {n.op_type for n in model.graph.node}
        ops |= got
        if mode == "pairwise":
            assert got & {"Softmax", "TopK"}, (seed, got)
        elif mode == "hashed":
            assert {"Cast", "Mod", "Gather"} <= got, (seed, got)
        else:
            assert "ReduceProd" in got, (seed, got)
    assert {"Floor", "LeakyRelu", "TopK", "Einsum", "Where", "ReduceLogSumExp"} <= ops, ops


#: (seed, input shape, weights) of the first networks of each generation, as they were
#: when their measurements entered stores: a store keys a random network's measurement
#: by its seed alone (and the export cache its file), so a generator that changes what
#: a seed draws makes every stored measurement of it wrong, silently.
PINNED = (
    (0, (1, 3, 112, 112), 287128),
    (1, (1, 1, 16000), 415348),
    (10000000, (1, 3, 32, 32), 19660),
    (10000001, (1, 3, 48, 48), 1217684),
    (10000002, (1, 3, 112, 112), 582388),
    (20000000, (1, 40, 100), 7221201),
    (20000001, (1, 3, 192, 192), 1309468),
    (20000002, (1, 3, 32, 96), 182068),
    (30000000, (1, 3, 128, 256), 33804),
    (30000001, (1, 3, 96, 160), 3257),
    (30000002, (1, 1, 8000), 751296),
    (40000000, (1, 3, 512), 449320),
    (40000001, (1, 3, 224, 224), 363498),
    (40000002, (1, 3, 8, 112, 112), 678493),
    (50000000, (1, 3, 64, 64), 114920),
    (50000001, (1, 3, 64, 96), 74730),
    (50000002, (1, 16, 192), 1967040),
    (60000000, (1, 256, 42), 81558),
    (60000001, (1, 64, 42), 48112),
    (60000002, (8, 3, 96, 96), 22330),
    (70000000, (1, 120), 3218786),
    (70000001, (1, 4, 64), 81667),
    (70000002, (1, 60), 458528),
    (80000000, (1, 3, 64, 48), 382308),
    (80000001, (1, 3, 16, 96), 89594),
    (80000002, (1, 50, 384), 4141824),
    (90000000, (300, 3), 3961924),
    (90000001, (1, 222, 270), 43519),
    (90000002, (6, 6), 5696761),
)


@pytest.mark.parametrize("seed, shape, weights", PINNED, ids=lambda v: str(v))
def test_a_seed_names_the_same_network_forever(
    seed: int, shape: tuple[int, ...], weights: int
) -> None:
    """Change a generator and these fail: add a generation instead (stores keep what
    earlier builds measured, by seed)."""
    module, drawn = random_network(seed)
    assert (tuple(drawn), sum(p.numel() for p in module.parameters())) == (shape, weights)


def _value_dependent_model() -> Any:
    """x (1, 256) @ W (256, 2048), then NonZero of the product: shape inference cannot
    know NonZero's output size, so preparing the graph runs the model for it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).standard_normal((256, 2048)).astype(np.float32) / 16
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"),
        helper.make_node("Greater", ["y", "zero"], ["pos"], name="gt"),
        helper.make_node("NonZero", ["pos"], ["idx"], name="nz"),
        helper.make_node("Cast", ["idx"], ["out"], to=TensorProto.FLOAT, name="cast"),
    ]
    graph = helper.make_graph(
        nodes,
        "dependent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, "n"])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(1, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def test_a_weightless_copy_predicts_as_its_network_without_its_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weightless copy a build keeps of each random network: the same kernels,
    shapes and predictions as the network, without running anything, in a fraction of
    the bytes; small and integer tensors keep their values."""
    import json

    import onnx

    from hwnas.predictors import kernel_graph
    from hwnas.predictors.kernel_graph import (
        WEIGHTLESS_KEY,
        WEIGHTLESS_MIN_ELEMENTS,
        prepare_graph,
        weightless,
    )

    predictor = KernelPredictor(seed=0, rounds=20).fit(
        synthetic_samples(), device="local", fingerprint="abc"
    )
    space = ContextSpace(tmp_path)
    models = [
        onnx.load(str(space.to_onnx(json.dumps({"kind": "context", "seed": s}))))
        for s in (GENERATION_3, GENERATION_4 + 1)
    ]
    models.append(_value_dependent_model())
    copies = [weightless(m) for m in models]
    wants = [(prepare_graph(m).shapes, predictor.predict_onnx_raw(m)) for m in models]

    def no_run(*_: Any) -> None:
        raise AssertionError("a weightless copy must prepare without running the model")

    monkeypatch.setattr(kernel_graph, "_run_for_shapes", no_run)
    for model, copy, (shapes, prediction) in zip(models, copies, wants, strict=True):
        assert prepare_graph(copy).shapes == shapes
        assert predictor.predict_onnx_raw(copy) == prediction
        assert {p.key: p.value for p in copy.metadata_props}[WEIGHTLESS_KEY] == "true"
        kept = {t.name: t for t in copy.graph.initializer}
        assert all(tuple(kept[t.name].dims) == tuple(t.dims) for t in model.graph.initializer)
        big = [t for t in kept.values() if np.prod(t.dims) >= WEIGHTLESS_MIN_ELEMENTS]
        assert all(not t.raw_data and not t.float_data for t in big)
    assert sum(c.ByteSize() for c in copies) < sum(m.ByteSize() for m in models) / 4
    small = {t.name: t for t in copies[2].graph.initializer}
    assert small["zero"].raw_data or small["zero"].float_data  # values kept below the floor
    assert not small["w"].raw_data and not small["w"].float_data


def test_a_build_keeps_one_weightless_copy_per_network_and_migrates_old_caches(
    tmp_path: Path,
) -> None:
    """With a scratch directory the networks to measure are exported there and only the
    last few are kept; the cache holds one weightless copy per network, however its
    configuration is spelt, and an older build's full exports are replaced by copies."""
    import hashlib
    import json

    from hwnas.predictors.kernel_context import SCRATCH_KEPT

    cache, scratch = tmp_path / "cache", tmp_path / "scratch"
    space = ContextSpace(cache, scratch=scratch)
    seeds = [GENERATION_3 + i for i in range(SCRATCH_KEPT + 2)]
    paths = [space.to_onnx(json.dumps({"kind": "context", "seed": s})) for s in seeds]
    assert sorted(scratch.iterdir()) == sorted(paths[-SCRATCH_KEPT:])
    copies = sorted(cache.iterdir())
    assert len(copies) == len(seeds) and all(p.name.endswith(".shapes.onnx") for p in copies)
    # the store's canonical spelling and the spaced one name the same network
    canonical = json.dumps({"kind": "context", "seed": seeds[0]}, separators=(",", ":"))
    again = space.structure(json.dumps({"seed": seeds[0], "kind": "context"}))
    assert again == space.structure(canonical) and again in copies
    assert sorted(cache.iterdir()) == copies
    # a network dropped from scratch is exported again when it is measured again
    assert not paths[0].exists() and space.to_onnx(canonical) == paths[0] and paths[0].exists()

    # An older build kept the full export in the cache, keyed by the spaced JSON.
    old, spaced = tmp_path / "old", json.dumps({"kind": "context", "seed": seeds[1]})
    full = ContextSpace(tmp_path / "export").to_onnx(spaced)
    old.mkdir()
    legacy = old / f"context-{hashlib.sha256(spaced.encode()).hexdigest()[:20]}.onnx"
    legacy.write_bytes(full.read_bytes())
    copy = ContextSpace(old).structure(spaced)
    assert sorted(old.iterdir()) == [copy] and copy.stat().st_size < full.stat().st_size / 2
    for bad in (json.dumps({"kind": "conv", "seed": 1}), "{seed: 1", "[1, 2]"):
        with pytest.raises(UsageError, match="not a random context network"):
            space.structure(bad)
        with pytest.raises(UsageError, match="not a random context network"):
            space.to_onnx(bad)
