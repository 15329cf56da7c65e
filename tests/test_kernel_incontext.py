"""In-network kernel labels: a per-node onnxruntime profile attributed to hwnas kernels,
scaled to the measured latency, and the per-kernel correction learnt from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from hwnas.errors import UsageError
from hwnas.predictors.kernel_context import ContextSpace
from hwnas.predictors.kernel_incontext import (
    InContextCorrection,
    attribute_profile,
    in_network_labels,
    per_kind_ratios,
)
from hwnas.predictors.kernel_split import split_kernels

# hwnas kernels and onnxruntime 1.2x's optimized-graph profile of a random network
# (seed 3 of kernel_context.random_network), names as onnxruntime wrote them.
KERNELS = [
    ("/convs/convs.1/body/body.0/Conv", "/convs/convs.1/body/body.2/Relu"),
    ("/convs/convs.2/Add",),
    ("/convs/convs.5/Slice",),
    ("/convs/convs.5/Slice_1",),
    ("/convs/convs.5/f/f.3/Conv",),
    ("/convs/convs.6/body/body.2/Sigmoid", "/convs/convs.6/body/body.2/Mul"),
    ("/Transpose",),
]
PROFILE = [
    ("/convs/convs.1/body/body.2/Relu_output_0_nchwc", "Conv", 100.0),
    ("/convs/convs.2/Add", "Add", 10.0),
    ("ReorderOutput_token_42", "ReorderOutput", 4.0),
    ("/convs/convs.5/Slice_1/GatherSliceToSplitFusion", "Split", 6.0),
    ("ReorderInput_token_24", "ReorderInput", 2.0),
    ("/convs/convs.5/f/f.3/Conv_output_0_nchwc", "Conv", 50.0),
    ("/convs/convs.6/body/body.2/Mul/QuickGeluFusion/", "QuickGelu", 8.0),
]


def test_profiled_nodes_go_to_their_kernels_and_reorders_to_neighbours() -> None:
    us, lost = attribute_profile(KERNELS, PROFILE)
    # the ReorderOutput goes to the Add before it, the ReorderInput to the conv after it;
    # the Slice that became part of a Split and the eliminated Transpose cost nothing
    np.testing.assert_allclose(us, [100, 14, 0, 6, 52, 8, 0])
    assert lost == 0.0
    profile = [("/a", "Add", 1.0), ("ReorderInput", "ReorderInput", 3.0)]
    us, lost = attribute_profile([("/a",)], profile)
    assert lost == 0.0 and us[0] == 4.0  # no kernel after it: the one before
    us, lost = attribute_profile([("/a",)], [("/ab", "Add", 3.0), ("/a_x", "Add", 1.0)])
    assert us[0] == 4.0 and lost == 0.0  # "/ab" is not "/a": attributed as a neighbour
    assert attribute_profile([], [("/a", "Add", 2.0)]) == (pytest.approx(np.zeros(0)), 2.0)


def test_labels_split_the_measured_time_by_profiled_shares() -> None:
    labels = in_network_labels(KERNELS, PROFILE, measured_ms=2.0 + 0.5, model_ms=0.5, node_us=1.0)
    assert labels.sum() == pytest.approx(2.0)
    clean = np.array([99, 9 + 3, 0, 5, 49 + 1, 7, 0])
    np.testing.assert_allclose(labels, 2.0 * clean / clean.sum())
    with pytest.raises(UsageError, match="no time"):
        in_network_labels(KERNELS, [], measured_ms=1.0, model_ms=0.0, node_us=0.0)


def test_correction_learns_a_feature_dependent_ratio() -> None:
    from hwnas.predictors.kernel_features import FEATURE_NAMES

    params = FEATURE_NAMES.index("params")
    rng = np.random.default_rng(0)

    def kernels(first: np.ndarray, network_mb: float) -> np.ndarray:
        x = np.zeros((len(first), len(FEATURE_NAMES)))
        x[:, 0] = first
        x[:, params] = network_mb * 1e6 / 4 / len(first)  # the network's weights
        return x

    nets = []
    for _ in range(80):
        mb = float(rng.choice([1.0, 100.0]))
        x = kernels(rng.uniform(0, 1, 20), mb)
        isolated = rng.uniform(0.05, 1.0, 20)
        # slower where the first feature is high, and in a network of 100 MB of weights
        label = isolated * np.where(x[:, 0] > 0.5, 1.5, 0.8) * (2.0 if mb > 50 else 1.0)
        nets.append((x, isolated, label))
    model = InContextCorrection(rounds=150).fit(nets)
    x = kernels(np.array([0.9, 0.1]), 1.0)
    got = model.kernel_ms(x, np.array([0.5, 0.5]))
    np.testing.assert_allclose(got, [0.75, 0.4], rtol=0.1)
    # the same two kernels in a network of 100 MB of weights
    got = model.kernel_ms(kernels(np.array([0.9, 0.1]), 100.0), np.array([0.5, 0.5]))
    np.testing.assert_allclose(got, [1.5, 0.8], rtol=0.1)
    with pytest.raises(UsageError, match="not fitted"):
        InContextCorrection().kernel_ms(x, np.array([0.5, 0.5]))
    ratios = per_kind_ratios([(["conv", "gemm"], np.array([1.0, 2.0]), np.array([1.5, 1.0]))])
    assert ratios == {"conv": 1.5, "gemm": 0.5}


def _node_profile(path: Path, tmp_path: Path) -> list[tuple[str, str, float]]:
    """onnxruntime's per-node profile of one run of ``path`` (name, op, us + 1)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "p")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = session.get_inputs()[0]
    session.run(None, {x.name: np.zeros(x.shape, np.float32)})
    events = json.loads(Path(session.end_profiling()).read_text())
    return [
        (e["name"][: -len("_kernel_time")], e["args"]["op_name"], float(e["dur"]) + 1.0)
        for e in events
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
    ]


def test_every_profiled_node_of_a_real_network_finds_a_kernel(tmp_path: Path) -> None:
    path = ContextSpace(tmp_path).to_onnx(json.dumps({"kind": "context", "seed": 3}))
    kernels = split_kernels(onnx.load(str(path)))
    profile = _node_profile(path, tmp_path)
    us, lost = attribute_profile([k.nodes for k in kernels], profile)
    assert lost == 0.0 and us.sum() == pytest.approx(sum(t for *_, t in profile))
    convs = [i for i, k in enumerate(kernels) if k.kind in ("conv", "dwconv")]
    assert all(us[i] > 0 for i in convs)  # every conv matched by name, not as a neighbour


def test_build_fits_the_in_network_correction_on_the_runners_node_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end on the local CPU: ``kernels build --context 8`` measures eight random
    networks, each with the runner's per-node profile, fits every kernel's in-network
    correction on them and then the network-level one; the saved predictor applies both."""
    from hwnas.cli import main
    from hwnas.events import Event
    from hwnas.predictors.kernel_build import context_cache, fit_whole_networks
    from hwnas.predictors.kernel_context import TERMS, context_measurements, context_profiles
    from hwnas.predictors.kernels import KernelPredictor
    from hwnas.store import Store

    out_dir, store = tmp_path / "kp", tmp_path / "k.db"
    argv = ["kernels", "build", "-o", str(out_dir), "--per-kind", "8"]
    argv += ["--kinds", "conv,dwconv,pool,gemm", "--context", str(len(TERMS))]
    argv += ["--max-seconds", "0.2", "--store", str(store), "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["in_network_correction"] is True and doc["context_correction"] is not None
    with Store(store) as db:
        measured = context_measurements(db, device="local", fingerprint=doc["fingerprint"])
        profiles = context_profiles(db, device="local", fingerprint=doc["fingerprint"])
    assert len(measured) == len(TERMS) and sorted(profiles) == sorted(measured)
    # What the build keeps of its random networks: one weightless copy each (no weights,
    # no full export left behind); the copies are what the fit below reads.
    kept = sorted(p.name for p in context_cache().iterdir())
    assert len(kept) == len(TERMS) and all(n.endswith(".shapes.onnx") for n in kept)
    kernels_dir = context_cache().parent
    assert [p for p in kernels_dir.rglob("*.onnx") if p.parent != context_cache()] == []
    space = ContextSpace(context_cache())
    predictor = KernelPredictor.load(out_dir)
    assert predictor.incontext_ is not None
    # the build read this CPU's last-level cache (None where sysfs does not export it)
    from hwnas.profiler.runner import last_level_cache_kb, read_caches_kb

    assert predictor.llc_kb_ == last_level_cache_kb(read_caches_kb())
    floor = predictor.incontext_.floor_ms
    raw_errors, corrected_errors = [], []
    for seed, profile in profiles.items():
        path = space.structure(json.dumps({"kind": "context", "seed": seed}))
        kernels = split_kernels(onnx.load(str(path)))
        _, lost = attribute_profile([k.nodes for k in kernels], profile)
        assert lost == 0.0 and sum(us for *_, us in profile) > 0
        labels = in_network_labels(
            [k.nodes for k in kernels],
            profile,
            measured_ms=measured[seed],
            model_ms=predictor.overhead_model_ms_,
            node_us=1000 * predictor.profiler_node_ms_,
        )
        total, rows = predictor.predict_onnx_raw(path)
        assert total == pytest.approx(predictor.overhead_model_ms_ + sum(r["ms"] for r in rows))
        isolated = np.array([r["isolated_ms"] for r in rows])
        corrected = np.array([r["ms"] for r in rows])
        share = (isolated + floor) / np.sum(isolated + floor)
        raw_errors.append(share @ np.abs(np.log((isolated + floor) / (labels + floor))))
        corrected_errors.append(share @ np.abs(np.log((corrected + floor) / (labels + floor))))
    # Fitted on these networks' kernels, the corrected kernels are nearer their
    # in-network labels than the kernels timed alone (what the correction minimises).
    assert np.mean(corrected_errors) < np.mean(raw_errors), (corrected_errors, raw_errors)

    # Networks measured by a runner without per-node profiles: a note, no in-network
    # correction, the network-level one still fitted.
    # Profiles that hold no time (nothing to split a network's latency by) likewise.
    empty = {s: [(name, op, 0.0) for name, op, _ in p] for s, p in profiles.items()}
    for given in ({}, empty):
        events: list[Event] = []
        fit_whole_networks(predictor, sorted(measured), measured, given, progress=events.append)
        assert predictor.incontext_ is None and predictor.context_ is not None
        notes = [e.message for e in events if e.kind == "note"]
        assert len(notes) == 1 and "usable per-node profile" in notes[0]
    # A copy gone (a cache older builds left): made again, with a note saying so.
    gone = space.structure_path(json.dumps({"kind": "context", "seed": min(measured)}))
    gone.unlink()
    events = []
    fit_whole_networks(predictor, sorted(measured), measured, profiles, progress=events.append)
    notes = [e.message for e in events if e.kind == "note"]
    assert notes == [
        "making the weightless copies of 1 random network(s) that fitting reads (once: a "
        "build before this hwnas kept full exports, which are replaced)"
    ]
    assert gone.exists() and predictor.incontext_ is not None


def test_saved_in_network_correction_round_trips_and_bad_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hwnas.predictors.artifacts import load_predictor
    from hwnas.predictors.errors import ArtifactError
    from hwnas.predictors.kernel_incontext import fit_in_network
    from hwnas.predictors.kernels import INCONTEXT_FILE, KernelPredictor
    from tests.test_kernels import small_cnn, synthetic_samples

    predictor = KernelPredictor(seed=0, rounds=20).fit(
        synthetic_samples(), device="local", fingerprint="abc"
    )
    model = small_cnn()
    kernels = split_kernels(model)
    # A profile in which the first kernel takes four times its share: the correction
    # learns to raise it against the others.
    profile = [(k.nodes[0], "Op", 400.0 if i == 0 else 100.0) for i, k in enumerate(kernels)]
    before, _ = predictor.predict_onnx_raw(model)
    predictor.incontext_ = fit_in_network(predictor, [(model, 2 * before, profile)] * 8)
    after, rows = predictor.predict_onnx_raw(model)
    assert rows[0]["ms"] / rows[0]["isolated_ms"] > rows[1]["ms"] / rows[1]["isolated_ms"]
    assert after != pytest.approx(before)

    predictor.llc_kb_ = 1024
    saved = predictor.save(tmp_path / "p")
    loaded = KernelPredictor.load(saved)
    assert loaded.predict_onnx_raw(model)[0] == pytest.approx(after)
    assert loaded.llc_kb_ == 1024 and loaded.summary()["llc_kb"] == 1024
    assert loaded.incontext_.domain_ == predictor.incontext_.domain_ is not None
    # `kernels predict` shows each kernel inside the network and alone.
    from hwnas.cli import main

    onnx.save(model, str(tmp_path / "cnn.onnx"))
    assert main(["kernels", "predict", str(saved), str(tmp_path / "cnn.onnx")]) == 0
    shown = capsys.readouterr()
    assert "alone" in shown.out and "timed alone" in shown.out + shown.err
    assert main(["kernels", "predict", str(saved), str(tmp_path / "cnn.onnx"), "--json"]) == 0
    kernels_json = json.loads(capsys.readouterr().out)["kernels"]
    assert [k["isolated_ms"] for k in kernels_json] == pytest.approx(
        [r["isolated_ms"] for r in rows]
    )
    meta = json.loads((saved / "meta.json").read_text())
    meta["state"]["llc_kb"] = None  # not known, or saved before it was recorded
    (saved / "meta.json").write_text(json.dumps(meta))
    assert load_predictor(saved, force=True).llc_kb_ is None
    for garbled in ("big", True, -5, 0, 1.5):
        meta["state"]["llc_kb"] = garbled
        (saved / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(ArtifactError, match="bad last-level cache size"):
            load_predictor(saved, force=True)
    del meta["state"]["llc_kb"]  # a predictor saved before hwnas recorded it
    (saved / "meta.json").write_text(json.dumps(meta))
    assert load_predictor(saved, force=True).llc_kb_ is None
    meta["state"]["incontext"]["floor_ms"] = -1
    (saved / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="in-context correction"):
        load_predictor(saved, force=True)
    meta["state"]["incontext"]["floor_ms"] = 0.002
    good = meta["state"]["incontext"]["domain"]
    for bad in ([1, 2], {"5": {"median": 0.1}}, {"5": {"median": "x", "seen": {}}}):
        meta["state"]["incontext"]["domain"] = bad
        (saved / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(ArtifactError, match="in-context correction .domain"):
            load_predictor(saved, force=True)
    meta["state"]["incontext"]["domain"] = good
    (saved / "meta.json").write_text(json.dumps(meta))
    (saved / INCONTEXT_FILE).unlink()
    with pytest.raises(ArtifactError, match=f"lacks its model file {INCONTEXT_FILE}"):
        load_predictor(saved, force=True)


def test_fused_gemms_and_a_conv_writing_the_graph_output_are_matched_by_name(
    tmp_path: Path,
) -> None:
    """onnxruntime runs Gemm+Tanh as ``FusedGemm`` named ``fused <Gemm>``, and names an
    NCHWc conv after its output tensor (``output_nchwc`` for a graph output). Before
    these were matched, a Linear stack's whole time went to its one plain Gemm."""
    from torch import nn

    from hwnas.export import export_onnx
    from hwnas.predictors.kernel_incontext import kernel_names

    mlp = nn.Sequential(nn.Linear(64, 256), nn.Tanh(), nn.Linear(256, 128), nn.Tanh())
    convs = nn.Sequential(nn.Conv2d(8, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 16, 3))
    for name, net, shape in (("mlp", mlp, (1, 64)), ("conv", convs, (1, 8, 32, 32))):
        path = tmp_path / f"{name}.onnx"
        export_onnx(net, shape, path)  # names the graph output "output"
        proto = onnx.load(str(path))
        kernels = split_kernels(proto)
        profile = _node_profile(path, tmp_path)
        ops = {op for _, op, _ in profile}
        assert ("FusedGemm" in ops) if name == "mlp" else ("Conv" in ops), ops
        us, lost = attribute_profile(kernel_names(proto, kernels), profile)
        assert lost == 0.0
        # every kernel is matched by name, so none is left at zero
        assert all(t > 0 for t in us), (name, us, profile)
        if name == "conv":  # by node names alone, the last conv went to its neighbour
            by_nodes, _ = attribute_profile([k.nodes for k in kernels], profile)
            assert by_nodes[-1] == 0.0


def test_fusions_onnxruntime_names_after_their_op_go_to_the_kernel_of_that_op(
    tmp_path: Path,
) -> None:
    """onnxruntime fuses an Erf GELU into ``Gelu`` and a residual Add + LayerNorm into
    ``SkipLayerNormalization``, named after the op type (``..._token_N``) and not after any
    graph node. Without the kernels' ops they go to the kernel before them (the MatMul),
    and the GELU and LayerNorm kernels are labelled as costing nothing."""
    import torch
    from torch import nn

    from hwnas.export import export_onnx
    from hwnas.predictors.kernel_incontext import kernel_names

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up, self.down = nn.Linear(64, 256), nn.Linear(256, 64)
            self.act, self.norm = nn.GELU(), nn.LayerNorm(64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(x + self.down(self.act(self.up(x))))

    path = tmp_path / "block.onnx"
    export_onnx(Block(), (1, 196, 64), path)
    proto = onnx.load(str(path))
    kernels = split_kernels(proto)
    profile = _node_profile(path, tmp_path)
    fused = {op for _, op, _ in profile}
    assert {"Gelu", "SkipLayerNormalization"} <= fused, fused
    names = kernel_names(proto, kernels)
    ops = [k.op for k in kernels]
    us, lost = attribute_profile(names, profile, ops)
    assert lost == 0.0 and us.sum() == pytest.approx(sum(t for *_, t in profile))
    gelu, norm = ops.index("Gelu"), ops.index("LayerNormalization")
    by_op = dict(zip((op for _, op, _ in profile), (t for *_, t in profile), strict=True))
    assert us[gelu] == pytest.approx(by_op["Gelu"])
    assert us[norm] == pytest.approx(by_op["SkipLayerNormalization"])
    blind, _ = attribute_profile(names, profile)  # by names alone, as before
    assert blind[gelu] == 0.0 and blind[norm] == 0.0
    # two fused nodes of one op go to that op's kernels in order, each once
    twice = [("Gelu_token_1", "Gelu", 5.0), ("/x", "Add", 1.0), ("Gelu_token_2", "Gelu", 7.0)]
    us, _ = attribute_profile([("/a",), ("/x",), ("/b",)], twice, ["Gelu", "Add", "Gelu"])
    np.testing.assert_allclose(us, [5.0, 1.0, 7.0])
    # the Reshape onnxruntime puts before a 3-D MatMul it runs as a Gemm is the Gemm's
    reshaped = [("/a", "Add", 1.0), ("gemm_input_reshape_token_3", "Reshape", 2.0)]
    us, _ = attribute_profile([("/a",), ("/b",)], [*reshaped, ("/b", "Gemm", 3.0)])
    np.testing.assert_allclose(us, [1.0, 5.0])


def _branchy_graph(names: bool = True) -> onnx.ModelProto:
    """A conv, a max pool read by two convs, their sum, then a relu: real ONNX."""
    from onnx import TensorProto, helper

    def w(name: str, shape: list[int]) -> onnx.TensorProto:
        return helper.make_tensor(name, TensorProto.FLOAT, shape, np.ones(int(np.prod(shape))))

    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p", "w1"], ["b"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p", "w2"], ["c"]),
        helper.make_node("Add", ["b", "c"], ["s"]),
        helper.make_node("Sigmoid", ["s"], ["y"]),
    ]
    for i, node in enumerate(nodes):
        node.name = f"n{i}" if names else ""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 8, 8])],
        [w("w0", [16, 8, 3, 3]), w("w1", [16, 16, 3, 3]), w("w2", [16, 16, 1, 1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_neighbour_features_say_who_feeds_and_reads_each_kernel() -> None:
    from hwnas.predictors.kernel_features import KINDS
    from hwnas.predictors.kernel_incontext import NEIGHBOUR_NAMES, neighbour_features

    proto = _branchy_graph()
    kernels = split_kernels(proto)
    by_node = {k.nodes[0]: i for i, k in enumerate(kernels)}
    nb = neighbour_features(proto, kernels)
    assert nb.shape == (len(kernels), len(NEIGHBOUR_NAMES))
    code = {kind: float(i) for i, kind in enumerate(KINDS)}
    first, pool = nb[by_node["n0"]], nb[by_node["n1"]]
    assert first[0] == -1.0 and first[1] == code["pool"] and first[2] == 0 and first[3] == 1
    assert pool[0] == code["conv"] and pool[2] == 1 and pool[3] == 2  # read by two convs
    assert pool[4] == pytest.approx(np.log1p(4 * 16 * 8 * 9 / 1e6))  # the conv's weights
    # the sum and the sigmoid fuse into the 3x3 conv, which the 1x1 conv feeds too
    fused, side = nb[by_node["n2"]], nb[by_node["n3"]]
    assert kernels[by_node["n2"]].nodes == ("n2", "n4", "n5")
    assert fused[2] == 2 and fused[3] == 0 and fused[1] == -1.0 and fused[0] == code["pool"]
    assert side[1] == code["conv"] and side[3] == 1
    # nodes without names cannot be matched: unknown, not wrong
    unnamed = _branchy_graph(names=False)
    blank = neighbour_features(unnamed, split_kernels(unnamed))
    assert np.all(blank[:, :2] == -1.0) and np.all(blank[:, 2:] == 0.0)


def test_a_correction_saved_before_neighbours_reads_the_kernel_features_alone() -> None:
    from hwnas.predictors.kernel_features import FEATURE_NAMES
    from hwnas.predictors.kernel_incontext import NEIGHBOUR_NAMES

    rng = np.random.default_rng(1)
    nets = []
    for _ in range(30):
        x = rng.uniform(0, 1, (12, len(FEATURE_NAMES)))
        isolated = rng.uniform(0.05, 1.0, 12)
        nets.append((x, isolated, isolated * np.where(x[:, 0] > 0.5, 1.5, 0.8)))
    old = InContextCorrection(rounds=50).fit(nets)
    x, isolated = nets[0][0], nets[0][1]
    wide = np.column_stack([x, rng.uniform(0, 3, (12, len(NEIGHBOUR_NAMES)))])
    np.testing.assert_allclose(old.kernel_ms(wide, isolated), old.kernel_ms(x, isolated))
    new = InContextCorrection(rounds=50).fit([(wide, isolated, label) for _, _, label in nets])
    assert new.booster_.num_feature() == len(FEATURE_NAMES) + len(NEIGHBOUR_NAMES) + 2


def test_a_kernel_written_as_no_training_kernel_of_its_op_gets_its_ops_median_ratio() -> None:
    """Trained where op 1 always has one producer (fan-in 1) and runs 1.2x its isolated
    time, and op 2 runs 1.2x with fan-in 1 and 2x with fan-in 3: an op-1 kernel of
    fan-in 3 would get op 2's multiplier from the trees; the guard gives it op 1's (and
    leaves kernels written as training ones were alone)."""
    from hwnas.predictors.kernel_features import FEATURE_NAMES
    from hwnas.predictors.kernel_incontext import NEIGHBOUR_NAMES, outside

    op, fan_in = (
        FEATURE_NAMES.index("op_code_v3"),
        len(FEATURE_NAMES) + NEIGHBOUR_NAMES.index("fan_in"),
    )
    rng = np.random.default_rng(0)
    nets = []
    for _ in range(40):
        x = np.zeros((10, len(FEATURE_NAMES) + len(NEIGHBOUR_NAMES)))
        x[:, op] = [1, 1, 1, 1, 2, 2, 2, 2, 2, 2]
        x[:, fan_in] = [1, 1, 1, 1, 1, 1, 3, 3, 3, 3]
        isolated = rng.uniform(0.1, 1.0, 10)
        nets.append((x, isolated, isolated * np.where(x[:, fan_in] == 3, 2.0, 1.2)))
    model = InContextCorrection(rounds=80, floor_ms=1e-6).fit(nets)
    probe = np.zeros((3, nets[0][0].shape[1]))
    probe[:, op] = [1, 1, 7]  # seen; fan-in 3 never seen with op 1; op 7 never seen
    probe[:, fan_in] = [1, 3, 3]
    fallback = outside(model.domain_, probe)
    assert np.isnan(fallback[0]) and np.isnan(fallback[2])
    assert fallback[1] == pytest.approx(np.log(1.2), abs=1e-6)
    ms = model.kernel_ms(probe, np.full(3, 1.0))
    assert ms[0] == pytest.approx(1.2, rel=0.05) and ms[1] == pytest.approx(1.2, rel=1e-6)
    unguarded = InContextCorrection.from_booster(model.booster_, floor_ms=1e-6)
    assert unguarded.kernel_ms(probe, np.full(3, 1.0))[1] == pytest.approx(2.0, rel=0.05)


def _shared_weight_graph(alias: bool = False) -> onnx.ModelProto:
    """Two steps of a decoder that read one 256 KiB projection ``w`` and a scalar ``s``,
    then a head with its own weights ``v``. With ``alias``, the second step reads ``w``
    through two ``Identity`` nodes, as torch's exporter writes a weight's further uses."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.random((256, 256), dtype=np.float32), "w"),
        numpy_helper.from_array(rng.random((256, 256), dtype=np.float32), "v"),
        numpy_helper.from_array(np.array(0.5, dtype=np.float32), "s"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m1"], name="m1"),
        helper.make_node("Tanh", ["m1"], ["t1"], name="t1"),
        helper.make_node("Mul", ["t1", "s"], ["a1"], name="a1"),
        helper.make_node("MatMul", ["a1", "w2" if alias else "w"], ["m2"], name="m2"),
        helper.make_node("Tanh", ["m2"], ["t2"], name="t2"),
        helper.make_node("Mul", ["t2", "s"], ["a2"], name="a2"),
        helper.make_node("MatMul", ["a2", "v"], ["y"], name="m3"),
    ]
    if alias:
        nodes[:0] = [
            helper.make_node("Identity", ["w"], ["w1"], name="i1"),
            helper.make_node("Identity", ["w1"], ["w2"], name="i2"),
        ]
    graph = helper.make_graph(
        nodes,
        "decoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("alias", [False, True])
def test_shared_weights_are_cold_at_their_first_read_only_where_they_fit_in_the_cache(
    alias: bool,
) -> None:
    from hwnas.predictors.kernel_incontext import amortised, weight_reads

    proto = _shared_weight_graph(alias)
    kernels = split_kernels(proto)
    first = {k.nodes[0]: i for i, k in enumerate(kernels)}
    uses, shared = weight_reads(proto, kernels)
    assert shared == 256 * 256 * 4  # w; the scalar both Muls read is not a weight
    assert uses[first["m1"]] == uses[first["m2"]] == 2 and uses[first["m3"]] == 1
    assert all(uses[i] == 1 for i, k in enumerate(kernels) if k.op != "MatMul")

    isolated = np.full(len(kernels), 1.0)
    ms = np.full(len(kernels), 3.0)  # every kernel priced at 3x its isolated time
    out = amortised(proto, kernels, ms, isolated, llc_kb=32 * 1024)
    # each read of w pays half the excess (2 ms over 1) of a cold read
    assert out[first["m1"]] == out[first["m2"]] == pytest.approx(2.0)
    unshared = [i for i in range(len(kernels)) if i not in (first["m1"], first["m2"])]
    np.testing.assert_allclose(out[unshared], ms[unshared])
    # w does not fit in a 128 KiB cache: every read is cold, as priced; no cache size
    # known (an older predictor, a device that does not say): nothing amortised
    np.testing.assert_allclose(amortised(proto, kernels, ms, isolated, llc_kb=128), ms)
    np.testing.assert_allclose(amortised(proto, kernels, ms, isolated, llc_kb=None), ms)
    # a kernel priced below its isolated time keeps its price
    low = np.full(len(kernels), 0.5)
    np.testing.assert_allclose(amortised(proto, kernels, low, isolated, llc_kb=32 * 1024), low)
