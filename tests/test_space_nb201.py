"""The NAS-Bench-201 space: strings, official indices, equivalence classes, network, export."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hwnas.data import nb201_table
from hwnas.spaces import InvalidArchError, get_space
from hwnas.spaces.nb201 import EDGES, OPS, NB201Space

INDEX0 = (
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
    "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
)
CONVS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
# Live ops, but node 2 gets nothing and node 3 reads only node 2: the output is zeros.
DISCONNECTED = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
ALLOWED = "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space()


@pytest.fixture(scope="module")
def table_archs() -> list[str]:
    return [str(a) for a in nb201_table()["arch"]]


def with_genes(space: NB201Space, arch: str, changes: dict[int, int]) -> str:
    genes = space.encode(arch)
    for edge, op in changes.items():
        genes[edge] = op
    return space.decode(genes)


# -- strings, encoding, official order -------------------------------------------------


@pytest.mark.parametrize("arch", [INDEX0, CONVS, ALL_NONE, DISCONNECTED])
def test_strings_round_trip(space: NB201Space, arch: str) -> None:
    genes = space.encode(arch)
    assert genes.dtype == np.int64 and genes.shape == (6,)
    assert space.decode(genes) == arch
    assert space.decode(genes.tolist()) == arch
    assert space.validate(f"  {arch}\n") == arch


def test_encoding_is_the_op_index_per_edge_in_official_order(space: NB201Space) -> None:
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    assert EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
    assert space.encode(CONVS).tolist() == [3, 3, 4, 1, 3, 1]
    low, high = space.bounds()
    assert low.tolist() == [0] * 6 and high.tolist() == [4] * 6
    assert space.size() == 15625 == 5**6
    assert space.input_shape() == (1, 3, 32, 32)


def test_registry_gives_this_space() -> None:
    assert isinstance(get_space("nb201"), NB201Space)
    assert NB201Space.name == "nb201"


@pytest.mark.parametrize("index", [0, 1, 2, 4321, 15624])
def test_official_indices_match_the_table(
    space: NB201Space, table_archs: list[str], index: int
) -> None:
    assert space.arch_at(index) == table_archs[index]
    assert space.index_of(table_archs[index]) == index
    assert space.arch_at(np.int64(index)) == table_archs[index]


def test_index_zero(space: NB201Space) -> None:
    assert space.arch_at(0) == INDEX0
    assert space.index_of(INDEX0) == 0


@pytest.mark.parametrize("index", [-1, 15625, True, 1.0, "3"])
def test_bad_index(space: NB201Space, index: Any) -> None:
    with pytest.raises(InvalidArchError, match="nb201 index"):
        space.arch_at(index)


def test_index_of_rejects_invalid_strings(space: NB201Space) -> None:
    with pytest.raises(InvalidArchError, match="unknown op 'conv'"):
        space.index_of("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_every_table_string_round_trips_and_is_distinct(
    space: NB201Space, table_archs: list[str]
) -> None:
    assert len(table_archs) == 15625 == len(set(table_archs))
    encodings = {tuple(space.encode(a).tolist()) for a in table_archs}
    assert encodings == set(itertools.product(range(5), repeat=6))
    assert all(space.decode(space.encode(a)) == a for a in table_archs)


# -- bad input names the position and what is allowed ---------------------------------


@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        pytest.param(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x4~1|+|none~0|none~1|none~2|",
            [
                "edge 3 of 6 (node 2 <- node 1; gene 2)",
                "'nor_conv_3x4'",
                "did you mean 'nor_conv_3x3'",
                ALLOWED,
            ],
            id="wrong-op",
        ),
        pytest.param(
            "|nor_conv_3x3~1|+|none~0|none~1|+|none~0|none~1|none~2|",
            ["edge 1 of 6 (node 1 <- node 0; gene 0)", "~1", "must be ~0"],
            id="wrong-input-index",
        ),
        pytest.param(
            "|none~0|+|none~0|none~1|+|none~0|none~2|none~1|",
            ["edge 5 of 6 (node 3 <- node 1; gene 4)", "~2", "must be ~1"],
            id="swapped-input-index",
        ),
        pytest.param(
            "|nor_conv_3x3~0|+|none~0|none~1|",
            ["2 node(s)", "exactly 3"],
            id="missing-node",
        ),
        pytest.param(
            "|none~0|+|none~0|none~1|skip_connect~2|+|none~0|none~1|none~2|",
            ["node 2", "3 edge(s)", "exactly 2", "'|op~0|op~1|'"],
            id="extra-edge",
        ),
        pytest.param(
            "|none~0|+|none~0|none~1|+|none~0|none~1|",
            ["node 3", "2 edge(s)", "exactly 3"],
            id="missing-edge",
        ),
        pytest.param("", ["empty architecture string", "3 nodes"], id="empty"),
        pytest.param("   ", ["empty architecture string"], id="blank"),
        pytest.param(
            "none~0+|none~0|none~1|+|none~0|none~1|none~2|",
            ["node 1", "between bars", "'|op~0|'"],
            id="missing-bars",
        ),
        pytest.param(
            "|none|+|none~0|none~1|+|none~0|none~1|none~2|",
            ["edge 1 of 6", "op~0", ALLOWED],
            id="missing-tilde",
        ),
        pytest.param("not an architecture", ["1 node(s)", "exactly 3"], id="garbage"),
    ],
)
def test_bad_strings_name_the_position_and_what_is_allowed(
    space: NB201Space, arch: str, expected: list[str]
) -> None:
    with pytest.raises(InvalidArchError) as info:
        space.encode(arch)
    for part in expected:
        assert part in info.value.message


def test_a_non_string_is_rejected(space: NB201Space) -> None:
    with pytest.raises(InvalidArchError, match="is a string"):
        space.encode(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("genes", "expected"),
    [
        ([0, 0, 0, 0, 0], "6 genes (one per edge), got 5 genes"),
        ([0] * 7, "got 7 genes"),
        ([[0] * 6], "got shape (1, 6)"),
        ([0, 0, 0, 5, 0, 0], "gene 3 (edge 4 of 6 (node 3 <- node 0; gene 3)) is 5"),
        ([-1, 0, 0, 0, 0, 0], "gene 0 (edge 1 of 6 (node 1 <- node 0; gene 0)) is -1"),
        ([0, 0, 0, 0, 0, 1.5], "gene 5"),
        ([0, 0, 0, 0, 0, float("nan")], "gene 5"),
        (["a", 0, 0, 0, 0, 0], "gene 0"),
    ],
)
def test_decode_rejects_bad_vectors(space: NB201Space, genes: Any, expected: str) -> None:
    with pytest.raises(InvalidArchError) as info:
        space.decode(genes)
    assert expected in info.value.message
    if "gene " in expected:
        assert "0..4: 0=none, 1=skip_connect" in info.value.message


def test_decode_accepts_integral_floats(space: NB201Space) -> None:
    assert space.decode(np.array([3, 3, 4, 1, 3, 1], dtype=np.float64)) == CONVS


# -- equivalence -------------------------------------------------------------------------


def test_6466_canonical_classes(space: NB201Space, table_archs: list[str]) -> None:
    canon = [space.canonical(a) for a in table_archs]
    assert len(set(canon)) == 6466
    assert len({space.unique_str(a) for a in table_archs}) == 6466
    # The representative is the class member with the smallest official index.
    first: dict[str, int] = {}
    for i, a in enumerate(table_archs):
        first.setdefault(space.unique_str(a), i)
    for a, c in zip(table_archs, canon, strict=True):
        assert space.index_of(c) == first[space.unique_str(a)]


def test_341_disconnected_cells(space: NB201Space, table_archs: list[str]) -> None:
    disconnected = [a for a in table_archs if space.is_disconnected(a)]
    assert len(disconnected) == 341
    assert ALL_NONE in disconnected and DISCONNECTED in disconnected
    assert not space.is_disconnected(CONVS)
    assert not any(space.live_edges(DISCONNECTED))


def test_canonical_is_idempotent(space: NB201Space, table_archs: list[str]) -> None:
    for a in table_archs[::7]:
        c = space.canonical(a)
        assert space.canonical(c) == c
        assert space.unique_str(c) == space.unique_str(a)


def test_unique_str_follows_the_official_code(space: NB201Space) -> None:
    # skip_connect copies the source's string; terms are sorted and joined with '+'.
    assert space.unique_str(CONVS) == (
        "((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0"
    )
    # Official zeros: node 1 with a `none` edge is '#', and edges out of it are '#'.
    assert space.unique_str("|none~0|+|none~0|avg_pool_3x3~1|+|none~0|skip_connect~1|none~2|") == (
        "#+#+#"
    )
    # Node 2 with two zero inputs is '#+#', which the official rule keeps as a source.
    assert space.unique_str(DISCONNECTED) == "#+#+(#+#)@nor_conv_3x3"


def test_dead_edges_do_not_change_canonical(space: NB201Space, table_archs: list[str]) -> None:
    gen = np.random.default_rng(0)
    for a in table_archs[::3]:
        genes = space.encode(a)
        dead: set[int] = set()
        if genes[5] == 0:  # node 2 never reaches the output: its edges are dead
            dead |= {1, 2}
        if genes[0] == 0:  # node 1 is zero: edges out of it are dead
            dead |= {2, 4}
        if genes[4] == 0 and (genes[2] == 0 or genes[5] == 0):  # node 1 is never read
            dead.add(0)
        for edge in sorted(dead):  # one at a time: each is dead given the others
            other = with_genes(space, a, {edge: int(gen.integers(5))})
            assert space.canonical(other) == space.canonical(a), (a, other)


def test_summation_order_and_skip_are_seen_through(space: NB201Space) -> None:
    a = "|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
    b = "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|none~2|"
    assert space.canonical(a) == space.canonical(b)
    assert space.canonical(a) != space.canonical(CONVS)


def test_mutation_always_changes_the_class(space: NB201Space) -> None:
    # Mostly dead edges: a plain gene change would often give an equivalent cell.
    parent = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|"
    for seed in range(30):
        child = space.mutate(parent, seed, rate=0.1)
        assert space.canonical(child) != space.canonical(parent)
        assert child == space.mutate(parent, seed, rate=0.1)
    assert space.mutate(parent, 0, rate=0.0) == parent
    with pytest.raises(ValueError, match="rate"):
        space.mutate(parent, 0, rate=1.5)


# -- features and blocks -----------------------------------------------------------------


def test_features_are_one_hot_edge_ops(space: NB201Space) -> None:
    names = space.feature_names()
    assert len(names) == 30 == len(set(names))
    assert names[:5] == [f"edge0_{op}" for op in OPS]
    assert names[-1] == "edge5_avg_pool_3x3"
    x = space.features(CONVS)
    assert x.shape == (30,) and x.dtype == np.float64
    assert x.reshape(6, 5).sum(axis=1).tolist() == [1.0] * 6
    on = [n for n, v in zip(names, x, strict=True) if v == 1.0]
    assert on == [
        "edge0_nor_conv_3x3",
        "edge1_nor_conv_3x3",
        "edge2_avg_pool_3x3",
        "edge3_skip_connect",
        "edge4_nor_conv_3x3",
        "edge5_skip_connect",
    ]


def test_blocks_of_a_known_arch(space: NB201Space) -> None:
    # Node 2 (edges 1, 2) never reaches the output, edge 5 is none: 3 live edges.
    arch = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    assert space.live_edges(arch) == (True, False, False, True, True, False)
    blocks = space.blocks(arch)
    assert len(blocks) == 1 + 3 * 5 * 3 + 2 + 1
    assert blocks[0].op == "stem_conv3x3_bn"
    assert blocks[0].input_shape == (1, 3, 32, 32) and blocks[0].output_shape == (1, 16, 32, 32)
    cell = blocks[1:4]
    assert [b.op for b in cell] == ["nor_conv_3x3", "skip_connect", "nor_conv_1x1"]
    assert cell[0].key == "nor_conv_3x3[C=16]:1x16x32x32->1x16x32x32"
    reduction = blocks[16]
    assert reduction.op == "resnet_reduction"
    assert reduction.key == "resnet_reduction[C_in=16,C_out=32,stride=2]:1x16x32x32->1x32x16x16"
    assert blocks[17].key == "nor_conv_3x3[C=32]:1x32x16x16->1x32x16x16"
    assert blocks[32].key == "resnet_reduction[C_in=32,C_out=64,stride=2]:1x32x16x16->1x64x8x8"
    assert blocks[-1].key == "head_bn_relu_pool_linear[C_in=64,classes=10]:1x64x8x8->1x10"
    assert not any(b.op in {"none", "avg_pool_3x3"} for b in blocks)


def test_disconnected_cells_have_no_blocks(space: NB201Space) -> None:
    ops = [b.op for b in space.blocks(DISCONNECTED)]
    assert ops == [
        "stem_conv3x3_bn",
        "resnet_reduction",
        "resnet_reduction",
        "head_bn_relu_pool_linear",
    ]


# -- the torch network -------------------------------------------------------------------


def test_to_torch_is_eval_deterministic_and_classifies(space: NB201Space) -> None:
    import torch

    a, b = space.to_torch(CONVS), space.to_torch(CONVS)
    assert not a.training
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ya, yb = a(x), b(x)
        y_other = a(torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1)))
    assert ya.shape == (1, 10)
    assert torch.equal(ya, yb)
    assert not torch.allclose(ya, y_other)  # the output depends on the input
    with torch.no_grad():
        y_seed = NB201Space(seed=1).to_torch(CONVS)(x)
    assert not torch.equal(ya, y_seed)


def test_to_torch_does_not_disturb_the_global_rng(space: NB201Space) -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    space.to_torch(INDEX0)
    assert torch.equal(torch.rand(3), expected)


def test_equivalent_cells_with_different_dead_edges_compute_the_same(
    space: NB201Space,
) -> None:
    import torch

    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    b = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    assert a != b and space.canonical(a) == space.canonical(b)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(space.to_torch(a)(x), space.to_torch(b)(x))


@pytest.mark.parametrize("arch", [INDEX0, CONVS, DISCONNECTED, ALL_NONE])
def test_flops_and_params_match_the_module(space: NB201Space, arch: str) -> None:
    from hwnas.spaces.counting import count_macs_params

    module = space.to_torch(arch)
    assert (space.flops(arch), space.params(arch)) == count_macs_params(module, (1, 3, 32, 32))
    assert space.params(arch) == sum(p.numel() for p in module.parameters())


def test_identity_names_the_seed_and_network_version(space: NB201Space) -> None:
    ident = space.identity()
    assert ident["settings"] == {"seed": "0"} and ident["network_version"] == 1
    assert NB201Space(seed=3).identity() != ident
    with pytest.raises(ValueError, match="seed must be an int"):
        NB201Space(seed="3")  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", [CONVS, DISCONNECTED], ids=["convs", "disconnected"])
def test_onnx_export_matches_torch(space: NB201Space, arch: str, tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from hwnas.export import export_onnx

    module = space.to_torch(arch)
    path = export_onnx(module, space.input_shape(), tmp_path / "cell.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert list(inp.shape) == [1, 3, 32, 32]
    for seed in (0, 1):
        x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            expected = module(x).numpy()
        got = session.run(None, {inp.name: x.numpy()})[0]
        assert got.shape == (1, 10)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
