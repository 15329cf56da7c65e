"""The multi-branch space: encoding, canonical form, size, variation, blocks, cost, torch."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from hwnas.spaces import InvalidArchError, get_space
from hwnas.spaces.multibranch import MultiBranchSpace

SPACE = MultiBranchSpace()
SMALL = MultiBranchSpace(resolution=64)  # same networks on a smaller input: faster torch tests

EXAMPLE = (
    "conv1x1:0.5+conv3x3:1.0/concat|pool:0.25/add|conv5x5:1.0/add|"
    "conv1x1:0.25+conv3x3:0.25+conv5x5:0.25+pool:0.25/add|conv3x3:0.5+pool:1.0/concat|"
    "conv1x1:1.0/add"
)
EXAMPLE_GENES = [
    2,
    3,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    1,
    0,
    0,
    3,
    0,
    1,
    1,
    1,
    1,
    1,
    1,
    0,
    2,
    0,
    3,
    0,
    3,
    0,
    0,
    0,
    1,
]


def test_registered_under_its_name() -> None:
    space = get_space("multibranch")
    assert isinstance(space, MultiBranchSpace)
    assert space.name == "multibranch"
    assert space.input_shape() == (1, 3, 224, 224)


def test_bounds() -> None:
    low, high = SPACE.bounds()
    assert low.tolist() == [0] * 30
    assert high.tolist() == [3, 3, 3, 3, 1] * 6


def test_example_encodes_and_round_trips() -> None:
    assert SPACE.encode(EXAMPLE).tolist() == EXAMPLE_GENES
    assert SPACE.decode(EXAMPLE_GENES) == EXAMPLE
    assert SPACE.validate(EXAMPLE) == EXAMPLE


def test_round_trips_over_samples() -> None:
    for arch in SPACE.sample(0, 300):
        genes = SPACE.encode(arch)
        assert SPACE.decode(genes) == arch
        assert SPACE.encode(SPACE.decode(genes)).tolist() == genes.tolist()
        assert SPACE.canonical(arch) == arch


def test_branch_order_in_a_string_does_not_matter() -> None:
    shuffled = EXAMPLE.replace("conv1x1:0.5+conv3x3:1.0", "conv3x3:1.0+conv1x1:0.5", 1)
    assert SPACE.validate(shuffled) == EXAMPLE


def block_strings(genes_of_block: tuple[int, ...]) -> str:
    """The canonical text of block 3 when it has ``genes_of_block`` (others fixed)."""
    genes = EXAMPLE_GENES[:10] + list(genes_of_block) + EXAMPLE_GENES[15:]
    return SPACE.decode(genes).split("|")[2]


def test_size_matches_an_independent_count() -> None:
    distinct, invalid = set(), 0
    for genes in itertools.product(range(4), range(4), range(4), range(4), range(2)):
        try:
            distinct.add(block_strings(genes))
        except InvalidArchError:
            invalid += 1
    assert invalid == 2  # no branch, with either merge
    assert len(distinct) == 498
    assert SPACE.size() == 498**6 == 15_253_730_059_904_064


def test_single_branch_concat_is_canonically_add() -> None:
    concat = EXAMPLE.replace("pool:0.25/add", "pool:0.25/concat", 1)
    assert concat != EXAMPLE
    assert SPACE.canonical(concat) == EXAMPLE
    assert SPACE.validate(concat) == EXAMPLE
    assert SPACE.encode(concat)[9] == 0  # the string as written; decode canonicalizes
    # With two branches the merge is a real choice.
    multi_add = EXAMPLE.replace("conv3x3:1.0/concat", "conv3x3:1.0/add", 1)
    assert SPACE.canonical(multi_add) == multi_add != EXAMPLE


def test_equivalent_archs_compute_the_same_function() -> None:
    import torch

    concat = EXAMPLE.replace("pool:0.25/add", "pool:0.25/concat", 1)
    x = torch.randn(*SMALL.input_shape(), generator=torch.Generator().manual_seed(1))
    a, b = SMALL.to_torch(EXAMPLE), SMALL.to_torch(concat)
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert SPACE.blocks(EXAMPLE) == SPACE.blocks(concat)
    assert SPACE.features(EXAMPLE).tolist() == SPACE.features(concat).tolist()
    assert (SPACE.flops(EXAMPLE), SPACE.params(EXAMPLE)) == (
        SPACE.flops(concat),
        SPACE.params(concat),
    )
    # A multi-branch block merged differently is a different network.
    other = SMALL.to_torch(EXAMPLE.replace("conv3x3:1.0/concat", "conv3x3:1.0/add", 1))
    with torch.no_grad():
        assert not torch.allclose(a(x), other(x))


def test_sample_is_seeded_and_valid() -> None:
    assert SPACE.sample(7, 20) == SPACE.sample(7, 20)
    assert SPACE.sample(7, 20) != SPACE.sample(8, 20)
    assert SPACE.sample(np.random.default_rng(3), 0) == []
    seen_single = False
    for seed in range(50):
        for arch in SPACE.sample(seed, 20):
            assert SPACE.validate(arch) == arch
            seen_single |= any("+" not in block for block in arch.split("|"))
    assert seen_single
    with pytest.raises(ValueError, match="n must be >= 0"):
        SPACE.sample(0, -1)


@pytest.mark.parametrize("rate", [1e-9, 0.05, 0.2, 0.5, 1.0])
def test_mutate_is_valid_and_always_changes_the_arch(rate: float) -> None:
    parents = SPACE.sample(11, 10) + [
        "|".join(["conv1x1:1.0+conv3x3:1.0+conv5x5:1.0+pool:1.0/add"] * 6),
        "|".join(["conv1x1:0.25/concat"] * 6),
    ]
    for seed, parent in itertools.product(range(20), parents):
        child = SPACE.mutate(parent, seed, rate)
        assert SPACE.validate(child) == child
        assert child != SPACE.canonical(parent)
    assert SPACE.mutate(parents[0], 5, rate) == SPACE.mutate(parents[0], 5, rate)


def test_mutate_rate_zero_keeps_the_arch() -> None:
    concat = EXAMPLE.replace("pool:0.25/add", "pool:0.25/concat", 1)
    assert SPACE.mutate(concat, 0, 0.0) == EXAMPLE


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan")])
def test_mutate_rate_outside_unit_interval_raises(rate: float) -> None:
    with pytest.raises(ValueError, match="mutation rate must be in"):
        SPACE.mutate(EXAMPLE, 0, rate)


def test_crossover_is_valid_and_mixes_the_parents() -> None:
    pairs = list(zip(SPACE.sample(1, 20), SPACE.sample(2, 20), strict=True))
    # Disjoint branch sets: gene-wise mixing would often leave a block with no branch.
    pairs.append(("|".join(["conv1x1:0.5/add"] * 6), "|".join(["pool:1.0/add"] * 6)))
    pairs.append(
        (
            "|".join(["conv3x3:0.25+conv5x5:1.0/concat"] * 6),
            "|".join(["conv1x1:1.0+pool:0.5/add"] * 6),
        )
    )
    for seed, (a, b) in itertools.product(range(30), pairs):
        one, two = SPACE.crossover(a, b, seed)
        assert SPACE.validate(one) == one and SPACE.validate(two) == two
        ga, gb = SPACE.encode(a), SPACE.encode(b)
        for child in (SPACE.encode(one), SPACE.encode(two)):
            for i in range(30):
                # every gene comes from a parent (merges of single-branch blocks read add)
                assert child[i] in (ga[i], gb[i]) or (i % 5 == 4 and child[i] == 1)
    assert SPACE.crossover(pairs[0][0], pairs[0][1], 4) == SPACE.crossover(*pairs[0], 4)


BAD_STRINGS = [
    (
        "unknown branch",
        EXAMPLE.replace("conv5x5:1.0/add", "conv7x7:1.0/add"),
        "block 3",
        ["conv7x7", "conv1x1, conv3x3, conv5x5, pool"],
    ),
    (
        "bad width",
        EXAMPLE.replace("conv5x5:1.0/add", "conv5x5:0.3/add"),
        "block 3",
        ["'0.3'", "0.25, 0.5, 1.0"],
    ),
    (
        "missing width",
        EXAMPLE.replace("conv5x5:1.0/add", "conv5x5/add"),
        "block 3",
        ["no ':width'", "0.25, 0.5 or 1.0"],
    ),
    (
        "bad merge",
        EXAMPLE.replace("conv5x5:1.0/add", "conv5x5:1.0/sum"),
        "block 3",
        ["'sum'", "concat, add"],
    ),
    (
        "missing merge",
        EXAMPLE.replace("conv5x5:1.0/add", "conv5x5:1.0"),
        "block 3",
        ["'/concat' or '/add'"],
    ),
    (
        "no branches",
        EXAMPLE.replace("conv5x5:1.0/add", "/add"),
        "block 3",
        ["no branch", "conv1x1, conv3x3, conv5x5, pool"],
    ),
    (
        "duplicate branch",
        EXAMPLE.replace("conv5x5:1.0/add", "pool:0.5+pool:1.0/add"),
        "block 3",
        ["'pool' appears twice"],
    ),
    ("5 blocks", EXAMPLE.rsplit("|", 1)[0], "has 5 block(s)", ["6 blocks joined by '|'"]),
    ("garbage", "hello world", "has 1 block(s)", ["6 blocks", "conv1x1:0.5+conv3x3:1.0/concat"]),
    ("empty", "", "has 1 block(s)", ["6 blocks"]),
]


@pytest.mark.parametrize(
    ("string", "position", "allowed"),
    [case[1:] for case in BAD_STRINGS],
    ids=[case[0] for case in BAD_STRINGS],
)
def test_bad_strings_name_the_position_and_what_is_allowed(
    string: str, position: str, allowed: list[str]
) -> None:
    with pytest.raises(InvalidArchError) as info:
        SPACE.encode(string)
    assert position in info.value.message
    for text in allowed:
        assert text in info.value.message
    with pytest.raises(InvalidArchError):
        SPACE.validate(string)


def test_non_string_arch_raises() -> None:
    with pytest.raises(InvalidArchError, match="is a string"):
        SPACE.encode(42)  # type: ignore[arg-type]


def test_decode_of_a_block_without_branches_names_the_block() -> None:
    genes = list(EXAMPLE_GENES)
    genes[15:19] = [0, 0, 0, 0]
    with pytest.raises(InvalidArchError, match=r"block 4 of 6 has no branch \(genes 15..18"):
        SPACE.decode(np.array(genes, dtype=object))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((3, 4), r"gene 3 \(block 1, pool\) is 4; allowed are the integers 0..3"),
        ((9, 2), r"gene 9 \(block 2, merge\) is 2; allowed are the integers 0..1"),
        ((0, -1), r"gene 0 \(block 1, conv1x1\) is -1"),
        ((0, 1.5), r"gene 0 \(block 1, conv1x1\) is 1.5"),
        ((0, float("nan")), r"gene 0 \(block 1, conv1x1\) is nan"),
    ],
)
def test_decode_out_of_bounds_names_the_gene(change: tuple[int, float], message: str) -> None:
    genes: list[float] = list(EXAMPLE_GENES)
    genes[change[0]] = change[1]
    with pytest.raises(InvalidArchError, match=message):
        SPACE.decode(np.array(genes, dtype=object))


def test_decode_wrong_length_raises() -> None:
    with pytest.raises(InvalidArchError, match="has 30 genes"):
        SPACE.decode(EXAMPLE_GENES[:25])


def test_blocks_chain_shapes_consistently() -> None:
    for space in (SPACE, SMALL):
        for arch in space.sample(5, 10):
            blocks = space.blocks(arch)
            assert [b.op for b in blocks] == ["stem"] + ["mb_block"] * 6 + ["head"]
            assert blocks[0].input_shape == space.input_shape()
            assert blocks[-1].output_shape == (1, 1000)
            for before, after in itertools.pairwise(blocks):
                assert before.output_shape == after.input_shape
    shapes = [b.output_shape for b in SPACE.blocks(EXAMPLE)]
    assert shapes[:-1] == [
        (1, 32, 56, 56),
        (1, 64, 56, 56),
        (1, 64, 56, 56),
        (1, 128, 28, 28),
        (1, 128, 28, 28),
        (1, 256, 14, 14),
        (1, 256, 14, 14),
    ]
    block = SPACE.blocks(EXAMPLE)[1]
    assert block.params == {
        "branches": "conv1x1:0.5+conv3x3:1.0",
        "widths": "32+64",
        "merge": "concat",
        "stride": 1,
        "c_in": 32,
        "c_out": 64,
    }


def test_same_block_at_same_shapes_has_the_same_key() -> None:
    other = SPACE.sample(9, 1)[0].split("|")
    other[3] = EXAMPLE.split("|")[3]
    keys_a = [b.key for b in SPACE.blocks(EXAMPLE)]
    keys_b = [b.key for b in SPACE.blocks("|".join(other))]
    assert keys_a[4] == keys_b[4]
    assert keys_a[0] == keys_b[0] and keys_a[-1] == keys_b[-1]
    # The same choice in another stage is another block.
    assert len({b.key for b in SPACE.blocks("|".join(["pool:0.5/add"] * 6))}) == 8


def test_features() -> None:
    names = SPACE.feature_names()
    values = SPACE.features(EXAMPLE)
    assert len(names) == len(set(names)) == values.size == 36
    first = dict(zip(names[:6], values[:6].tolist(), strict=True))
    assert first == {
        "b1_conv1x1": 0.5,
        "b1_conv3x3": 1.0,
        "b1_conv5x5": 0.0,
        "b1_pool": 0.0,
        "b1_add": 0.0,
        "b1_n_branches": 2.0,
    }
    assert values[names.index("b4_n_branches")] == 4.0
    assert values[names.index("b2_add")] == 1.0


def test_analytic_flops_and_params_match_torch_counting() -> None:
    from hwnas.spaces.counting import count_macs_params

    cases = [(SPACE, arch) for arch in SPACE.sample(21, 3)]
    cases += [(SMALL, arch) for arch in SMALL.sample(22, 8) + [EXAMPLE]]
    cases.append((MultiBranchSpace(resolution=37), EXAMPLE))  # odd sizes round like torch
    for space, arch in cases:
        macs, params = count_macs_params(space.to_torch(arch), space.input_shape())
        assert (space.flops(arch), space.params(arch)) == (macs, params)


def test_to_torch_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    import torch

    state = torch.get_rng_state()
    a, b = SMALL.to_torch(EXAMPLE), SMALL.to_torch(EXAMPLE)
    assert torch.equal(state, torch.get_rng_state())
    assert not a.training
    x = torch.randn(*SMALL.input_shape())
    with torch.no_grad():
        out = a(x)
        assert out.shape == (1, 1000)
        assert torch.equal(out, b(x))


@pytest.mark.parametrize("resolution", [16, True, 64.0, "224"])
def test_bad_resolution_raises(resolution: object) -> None:
    with pytest.raises(ValueError, match="resolution must be an integer >= 32"):
        MultiBranchSpace(resolution=resolution)  # type: ignore[arg-type]


def test_describe() -> None:
    info = SPACE.describe()
    assert info["size"] == 498**6 and info["genes"] == 30
    assert SPACE.validate(info["example"]) == info["example"]


def test_onnx_export_matches_torch(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from hwnas.export import export_onnx

    arch = SPACE.sample(3, 1)[0]
    module = SPACE.to_torch(arch)
    path = export_onnx(module, SPACE.input_shape(), tmp_path / "mb.onnx")
    x = np.random.default_rng(0).standard_normal(SPACE.input_shape()).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert got.shape == (1, 1000)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)
