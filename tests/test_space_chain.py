"""The MobileNetV2/OFA-like chain space: strings, genes, size, shapes, costs, export."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hwnas.spaces import InvalidArchError, get_space
from hwnas.spaces.chain import ChainSpace, make_divisible

SPACE = ChainSpace()
SMALLEST = "w0.75-r160|" + "|".join(["e3k3,e3k3"] * 5)
LARGEST = "w1.25-r224|" + "|".join(["e6k7,e6k7,e6k7,e6k7"] * 5)
EXAMPLE = "w1.0-r224|e3k3,e4k5|e6k7,e3k3,e3k3|e3k3,e3k3|e4k3,e4k3|e6k5,e6k5,e6k5,e6k5"


def unused_slots(genes: np.ndarray) -> np.ndarray:
    """Indices of the block-slot genes beyond each stage's depth (documented layout)."""
    out = []
    for stage in range(5):
        depth = (2, 3, 4)[int(genes[2 + stage])]
        for block in range(depth, 4):
            first = 7 + 8 * stage + 2 * block
            out += [first, first + 1]
    return np.array(out, dtype=np.int64)


# -- size ---------------------------------------------------------------------------


def test_size_is_the_stated_number() -> None:
    per_stage = 9**2 + 9**3 + 9**4
    assert per_stage == 7371
    assert SPACE.size() == 3 * 5 * per_stage**5 == 326_379_832_388_587_287_765
    assert "326,379,832,388,587,287,765" in (ChainSpace.__doc__ or "")


def test_size_matches_a_brute_force_count_on_a_reduced_space() -> None:
    space = ChainSpace(
        widths=(1.0,), resolutions=(160, 176), depths=(1, 2), expansions=(3, 4), kernels=(3,)
    )
    low, high = space.bounds()
    assert low.size == 2 + 5 + 5 * 2 * 2
    seen = set()
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(low, high, strict=True)]
    for genes in itertools.product(*ranges):
        arch = space.decode(genes)
        seen.add(arch)
    assert len(seen) == space.size() == 2 * (2 + 4) ** 5
    assert all(space.decode(space.encode(a)) == a for a in itertools.islice(seen, 500))


# -- strings and genes --------------------------------------------------------------------


def test_registered_under_its_name() -> None:
    space = get_space("chain")
    assert isinstance(space, ChainSpace) and space.name == "chain"


def test_bounds_are_47_inclusive_genes() -> None:
    low, high = SPACE.bounds()
    assert low.tolist() == [0] * 47
    assert high.tolist() == [2, 4] + [2] * 5 + [2, 2] * 20


def test_the_documented_gene_order() -> None:
    genes = SPACE.encode(EXAMPLE)
    assert genes[:7].tolist() == [1, 4, 0, 1, 0, 0, 2]  # w1.0, r224, depths 2 3 2 2 4
    assert genes[7:15].tolist() == [0, 0, 1, 1, 0, 0, 0, 0]  # stage 1: e3k3, e4k5, unused
    assert genes[15:23].tolist() == [2, 2, 0, 0, 0, 0, 0, 0]  # stage 2: e6k7, e3k3, e3k3, -
    assert genes[39:47].tolist() == [2, 1] * 4  # stage 5: four e6k5
    assert SPACE.decode(genes) == EXAMPLE


def test_sampled_architectures_round_trip() -> None:
    for arch in SPACE.sample(0, 300):
        genes = SPACE.encode(arch)
        assert genes.dtype.kind == "i"
        assert SPACE.decode(genes) == arch
        assert SPACE.validate(arch) == arch == SPACE.canonical(arch)
        assert (genes[unused_slots(genes)] == 0).all()  # encode zeroes unused slots


def test_junk_in_unused_slots_decodes_to_the_same_string() -> None:
    gen = np.random.default_rng(5)
    for arch in SPACE.sample(1, 100):
        genes = SPACE.encode(arch)
        unused = unused_slots(genes)
        genes[unused] = gen.integers(0, 3, unused.size)
        assert SPACE.decode(genes) == arch
        assert SPACE.decode(genes.astype(np.float64)) == arch  # pymoo may hand floats


W = r"width must be one of 0\.75, 1\.0, 1\.25"
DEPTH = "depth must be one of 2, 3, 4"


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        pytest.param(EXAMPLE.replace("w1.0", "w0.5"), rf"width '0\.5': {W}", id="width"),
        pytest.param(EXAMPLE.replace("w1.0", "w1"), rf"width '1': {W}", id="width-not-canonical"),
        pytest.param(
            EXAMPLE.replace("r224", "r225"),
            "resolution '225': resolution must be one of 160, 176, 192, 208, 224",
            id="resolution",
        ),
        pytest.param(
            EXAMPLE.replace("e4k5", "e5k5"),
            r"stage 1 block 2 \('e5k5'\): expansion must be one of 3, 4, 6",
            id="expansion",
        ),
        pytest.param(
            EXAMPLE.replace("e6k7", "e6k9"),
            r"stage 2 block 1 \('e6k9'\): kernel must be one of 3, 5, 7",
            id="kernel",
        ),
        pytest.param(
            EXAMPLE.replace("e4k3,e4k3", "e4k3"),
            rf"stage 4 has 1 block \('e4k3'\); {DEPTH}",
            id="depth-1",
        ),
        pytest.param(
            EXAMPLE.replace("e6k5,e6k5,e6k5,e6k5", "e6k5,e6k5,e6k5,e6k5,e6k5"),
            f"stage 5 has 5 blocks .*; {DEPTH}",
            id="depth-5",
        ),
        pytest.param(
            EXAMPLE.replace("|e4k3,e4k3", ""),
            "has 5 '\\|'-separated groups; expected 6",
            id="missing-stage",
        ),
        pytest.param(
            EXAMPLE.replace("e3k3,e3k3|e4k3", "e3k3,e3k3||e4k3"),
            "has 7 '\\|'-separated groups",
            id="empty-stage",
        ),
        pytest.param(
            EXAMPLE.replace("e3k3,e4k5", "e3k3,conv3x3"),
            "stage 1 block 2 is 'conv3x3'; a block is e<expansion>k<kernel>",
            id="bad-block",
        ),
        pytest.param(
            EXAMPLE.replace("e3k3,e4k5", "e3k3,e04k5"),
            "stage 1 block 2 .*expansion must be",
            id="leading-zero",
        ),
        pytest.param(
            EXAMPLE.replace("e3k3,e4k5", "e3k3,e4k5,"), "stage 1 block 3 is ''", id="trailing-comma"
        ),
        pytest.param(
            EXAMPLE.replace("w1.0-r224", "r224-w1.0"),
            "must be 'w<width>-r<resolution>'",
            id="prefix-order",
        ),
        pytest.param(" " + EXAMPLE, "must be 'w<width>-r<resolution>'", id="whitespace"),
        pytest.param("garbage", "'garbage' has 1 '\\|'-separated groups; expected 6", id="garbage"),
        pytest.param("", "has 1 '\\|'-separated groups", id="empty"),
    ],
)
def test_bad_strings_name_the_position_and_what_is_allowed(arch: str, message: str) -> None:
    with pytest.raises(InvalidArchError, match=message):
        SPACE.encode(arch)
    with pytest.raises(InvalidArchError):
        SPACE.blocks(arch)


def test_a_non_string_is_rejected() -> None:
    with pytest.raises(InvalidArchError, match="an architecture is a string"):
        SPACE.encode(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("genes", "message"),
    [
        ([0] * 46, r"has 47 genes, got shape \(46,\)"),
        ([0] * 48, r"has 47 genes, got shape \(48,\)"),
        ([3] + [0] * 46, r"gene 0 \(width\) is 3; it must be an integer in 0\.\.2"),
        ([0, 5] + [0] * 45, r"gene 1 \(resolution\) is 5; it must be an integer in 0\.\.4"),
        ([0] * 4 + [-1] + [0] * 42, r"gene 4 \(stage 3 depth\) is -1"),
        ([0] * 12 + [3] + [0] * 34, r"gene 12 \(stage 1 block 3 kernel\) is 3"),
        ([0] * 46 + [0.5], r"gene 46 \(stage 5 block 4 kernel\) is 0\.5; it must be an integer"),
        ([0] * 46 + [math.nan], "gene 46 .* is nan"),
        ("abc", "must be 47 integers"),
    ],
)
def test_decode_rejects_vectors_outside_the_bounds(genes: object, message: str) -> None:
    with pytest.raises(InvalidArchError, match=message):
        SPACE.decode(genes)  # type: ignore[arg-type]


def test_constructor_checks_its_choices() -> None:
    with pytest.raises(ValueError, match="widths must be distinct positive numbers"):
        ChainSpace(widths=())
    with pytest.raises(ValueError, match="depths must be distinct positive numbers"):
        ChainSpace(depths=(2, 2))
    with pytest.raises(ValueError, match="kernels must be odd"):
        ChainSpace(kernels=(3, 4))
    with pytest.raises(ValueError, match="expansions must be integers"):
        ChainSpace(expansions=(2.5, 3))  # type: ignore[arg-type]
    assert ChainSpace(depths=(4, 2, 3)).depths == (2, 3, 4)


def test_identity_names_the_choices() -> None:
    assert SPACE.identity() == ChainSpace().identity()
    assert SPACE.identity() != ChainSpace(widths=(1.0,)).identity()


# -- shapes and blocks -----------------------------------------------------------------


def test_input_shapes() -> None:
    assert SPACE.input_shape() == (1, 3, 224, 224)
    assert SPACE.arch_input_shape(SMALLEST) == (1, 3, 160, 160)


@pytest.mark.parametrize("arch", [SMALLEST, LARGEST, *SPACE.sample(3, 20)])
def test_block_shapes_chain_from_the_input_to_the_classes(arch: str) -> None:
    blocks = SPACE.blocks(arch)
    assert blocks[0].input_shape == SPACE.arch_input_shape(arch)
    for before, after in itertools.pairwise(blocks):
        assert after.input_shape == before.output_shape
    assert blocks[-1].output_shape == (1, 1000)
    ops = [b.op for b in blocks]
    n_searchable = sum(len(stage.split(",")) for stage in arch.split("|")[1:])
    assert ops == ["conv_bn_relu6", "mbconv"] + ["mbconv"] * n_searchable + [
        "conv_bn_relu6",
        "head",
    ]
    resolution = SPACE.arch_input_shape(arch)[2]
    # Four stride-2 stages after the stem: the last feature map is resolution / 32, rounded up.
    assert blocks[-1].input_shape[2] == math.ceil(resolution / 32)


def test_block_params_and_channels() -> None:
    blocks = SPACE.blocks(SMALLEST)
    stem, first, searchable = blocks[0], blocks[1], blocks[2:-2]
    assert dict(stem.params) == {"kernel": 3, "stride": 2, "in_channels": 3, "out_channels": 24}
    assert dict(first.params) == {
        "expansion": 1,
        "kernel": 3,
        "stride": 1,
        "in_channels": 24,
        "out_channels": 16,
    }
    # 0.75 x (24, 40, 80, 112, 160), rounded to multiples of 8 never 10% below.
    assert [b.params["out_channels"] for b in searchable[::2]] == [24, 32, 64, 88, 120]
    assert [b.params["stride"] for b in searchable] == [2, 1, 2, 1, 2, 1, 1, 1, 2, 1]
    assert blocks[-2].output_shape == (1, 720, 5, 5)
    assert dict(blocks[-1].params) == {
        "in_channels": 720,
        "feature_channels": 1280,
        "classes": 1000,
    }
    assert SPACE.blocks(LARGEST)[-1].params["feature_channels"] == 1600
    assert [make_divisible(v) for v in (12, 18, 30, 84, 100)] == [16, 24, 32, 88, 104]


def test_identical_blocks_share_a_key() -> None:
    blocks = SPACE.blocks(SMALLEST)
    # Stage 2's and stage 3's second blocks differ only in channels and shape.
    assert blocks[3].key != blocks[5].key
    other = SPACE.blocks("w0.75-r160|e3k3,e3k3|e6k7,e3k3|e3k3,e3k3|e3k3,e3k3|e3k3,e3k3")
    assert [b.key for b in other[:4]] == [b.key for b in blocks[:4]]
    assert other[4].key != blocks[4].key and other[5].key == blocks[5].key
    assert other[4].params["expansion"] == 6 and other[4].params["kernel"] == 7


# -- features and analytic costs --------------------------------------------------------


def test_features_match_their_names_and_zero_unused_slots() -> None:
    names = SPACE.feature_names()
    x = SPACE.features(EXAMPLE)
    assert x.shape == (len(names),) == (49,)
    named = dict(zip(names, x.tolist(), strict=True))
    assert named["width"] == 1.0 and named["resolution"] == 224
    assert [named[f"depth_{s}"] for s in range(1, 6)] == [2, 3, 2, 2, 4]
    assert named["s1b2_expansion"] == 4 and named["s1b2_kernel"] == 5
    assert named["s1b3_expansion"] == 0 and named["s1b4_kernel"] == 0
    assert named["mmacs"] == pytest.approx(SPACE.flops(EXAMPLE) / 1e6)


@pytest.mark.parametrize("arch", [SMALLEST, *SPACE.sample(11, 3)])
def test_analytic_flops_and_params_equal_the_hook_count(arch: str) -> None:
    from hwnas.spaces.counting import count_macs_params

    module = SPACE.to_torch(arch)
    assert (SPACE.flops(arch), SPACE.params(arch)) == count_macs_params(
        module, SPACE.arch_input_shape(arch)
    )


def test_costs_grow_with_the_choices() -> None:
    assert SPACE.flops(SMALLEST) < SPACE.flops(EXAMPLE) < SPACE.flops(LARGEST)
    assert SPACE.params(SMALLEST) < SPACE.params(LARGEST)


def test_costs_need_no_torch() -> None:
    code = (
        "import sys\n"
        "from hwnas.spaces.chain import ChainSpace\n"
        "s = ChainSpace()\n"
        "a = s.sample(0, 1)[0]\n"
        "s.flops(a), s.params(a), s.features(a), s.blocks(a), s.mutate(a, 0)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# -- evolution ------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0001, 0.05, 0.2, 1.0])
def test_mutation_always_changes_the_architecture(rate: float) -> None:
    parents = SPACE.sample(21, 20)
    for seed in range(300):
        parent = parents[seed % len(parents)]
        child = SPACE.mutate(parent, seed, rate=rate)
        assert child != parent
        assert SPACE.validate(child) == child


def test_mutation_rate_is_checked_and_zero_keeps_the_parent() -> None:
    for rate in (-0.1, 1.01, math.nan):
        with pytest.raises(ValueError, match="mutation rate must be in"):
            SPACE.mutate(EXAMPLE, 0, rate=rate)
    assert SPACE.mutate(EXAMPLE, 0, rate=0.0) == EXAMPLE
    assert SPACE.mutate(EXAMPLE, 3) == SPACE.mutate(EXAMPLE, 3)
    one = ChainSpace(widths=(1.0,), resolutions=(224,), depths=(2,), expansions=(3,), kernels=(3,))
    only = one.sample(0, 1)[0]
    assert one.size() == 1 and one.mutate(only, 0, rate=1.0) == only


def test_a_growing_stage_gets_random_new_blocks() -> None:
    new_blocks = set()
    for seed in range(300):
        child = SPACE.mutate(SMALLEST, seed, rate=0.3)
        for stage in child.split("|")[1:]:
            new_blocks.update(stage.split(",")[2:])
    assert len(new_blocks) > 5  # not only the e3k3 that zero genes would give


def test_crossover_children_take_each_block_gene_from_a_parent_using_it() -> None:
    a, b = SMALLEST.replace("w0.75", "w1.0"), LARGEST.replace("w1.25", "w0.75")
    for seed in range(50):
        children = SPACE.crossover(a, b, seed)
        assert children == SPACE.crossover(a, b, seed)
        for child in children:
            assert SPACE.validate(child) == child
            for stage in child.split("|")[1:]:
                for position, block in enumerate(stage.split(",")):
                    # Slots 3 and 4 exist only in b: they must carry b's e6k7.
                    allowed = {"e3k3", "e3k7", "e6k3", "e6k7"} if position < 2 else {"e6k7"}
                    assert block in allowed


# -- torch and ONNX --------------------------------------------------------------------


def test_to_torch_is_deterministic_eval_mode_and_shaped() -> None:
    import torch

    state = torch.random.get_rng_state()
    module = SPACE.to_torch(SMALLEST)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched
    assert not module.training
    x = torch.randn(*SPACE.arch_input_shape(SMALLEST), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = module(x)
        assert torch.equal(y, SPACE.to_torch(SMALLEST)(x))
        assert not torch.equal(y, SPACE.to_torch(SMALLEST, seed=1)(x))
    assert tuple(y.shape) == (1, 1000)
    assert 0.1 < float(y.std()) < 100  # activations neither vanish nor explode
    assert len(module) == len(SPACE.blocks(SMALLEST))


def test_block_to_torch_computes_a_block_of_the_stated_shapes() -> None:
    import torch

    for block in SPACE.blocks(EXAMPLE)[:4] + SPACE.blocks(EXAMPLE)[-2:]:
        module = SPACE.block_to_torch(block)
        assert not module.training
        with torch.no_grad():
            assert tuple(module(torch.zeros(*block.input_shape)).shape) == block.output_shape


def test_smallest_architecture_exports_and_matches_onnxruntime(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from hwnas.export import export_onnx

    shape = SPACE.arch_input_shape(SMALLEST)
    module = SPACE.to_torch(SMALLEST)
    path = export_onnx(module, shape, tmp_path / "smallest.onnx")
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = module(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == (1, 1000)
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
