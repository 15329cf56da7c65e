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
from hwnas.predictors.kernel_features import split_kernels
from hwnas.predictors.kernel_incontext import (
    InContextCorrection,
    attribute_profile,
    in_network_labels,
    per_kind_ratios,
)

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
    rng = np.random.default_rng(0)
    nets = []
    for _ in range(60):
        x = rng.uniform(0, 1, (20, 3))
        isolated = rng.uniform(0.05, 1.0, 20)
        label = isolated * np.where(x[:, 0] > 0.5, 1.5, 0.8)
        nets.append((x, isolated, label))
    model = InContextCorrection(rounds=150).fit(nets)
    x = np.array([[0.9, 0.5, 0.5], [0.1, 0.5, 0.5]])
    got = model.kernel_ms(x, np.array([0.5, 0.5]))
    np.testing.assert_allclose(got, [0.75, 0.4], rtol=0.1)
    with pytest.raises(UsageError, match="not fitted"):
        InContextCorrection().kernel_ms(x, np.array([0.5, 0.5]))
    ratios = per_kind_ratios([(["conv", "gemm"], np.array([1.0, 2.0]), np.array([1.5, 1.0]))])
    assert ratios == {"conv": 1.5, "gemm": 0.5}


def test_every_profiled_node_of_a_real_network_finds_a_kernel(tmp_path: Path) -> None:
    import onnxruntime as ort

    path = ContextSpace(tmp_path).to_onnx(json.dumps({"kind": "context", "seed": 3}))
    kernels = split_kernels(onnx.load(str(path)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(tmp_path / "p")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = session.get_inputs()[0]
    session.run(None, {x.name: np.zeros(x.shape, np.float32)})
    events = json.loads(Path(session.end_profiling()).read_text())
    profile = [
        (e["name"][: -len("_kernel_time")], e["args"]["op_name"], float(e["dur"]) + 1.0)
        for e in events
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
    ]
    us, lost = attribute_profile([k.nodes for k in kernels], profile)
    assert lost == 0.0 and us.sum() == pytest.approx(sum(t for *_, t in profile))
    convs = [i for i, k in enumerate(kernels) if k.kind in ("conv", "dwconv")]
    assert all(us[i] > 0 for i in convs)  # every conv matched by name, not as a neighbour
