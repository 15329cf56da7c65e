"""Single ops at shapes no build samples, priced by one or more kernel predictors and timed
alone: a check of the sampled kinds (``unary``, ``shuffle``, ``reduce_axes``,
``transpose_nd``, ``rnn``, ``gemm_wide``, ``conv_computed``) on what they were added for,
not a zoo score.

Each case is a one-layer ONNX model: ``Pow`` by 2, ``Sqrt``, a mean over the channels and
a ``DepthToSpace`` of six NCHW maps from (1, 512, 7, 7) to (1, 16, 224, 224); six 5-D and
6-D transposes (channel shuffles, a pixel unshuffle and shuffle, a window partition, a
QKV split); six LSTM and
GRU layers as torch exports them (batch first, some bidirectional); five convs whose
weights are computed at run time (``conv_computed``: StyleGAN2-like modulation); five ``Linear``
vocabulary heads (1-128 rows, 8,000-32,000 outputs). Each predictor prices it with its
kernels' isolated times plus its per-model overhead; onnxruntime times it in this
process (one thread, standard normal input as the profiler feeds, the median of
``--runs`` runs after five). Writes ``benchmarks/results/NAME.json``: per case the
measured and predicted ms and their ratio, and per op group and predictor the median,
lowest and highest ratio.

Run (pinned to a core of its own):
  taskset -c 1 .venv/bin/python benchmarks/kernels_ops.py \\
      --predictor OLD/kernel_predictor --predictor NEW/kernel_predictor --name NAME
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import RESULTS, provenance  # noqa: E402

#: The NCHW maps of the elementwise, reduction and shuffle cases.
MAPS = ((1, 64, 48, 64), (1, 32, 112, 112), (1, 256, 14, 14), (1, 16, 224, 224))
MAPS += ((1, 512, 7, 7), (1, 128, 56, 56))
#: (layer, steps, input size, hidden size, bidirectional) of the recurrent cases.
RECURRENT = (
    ("LSTM", 100, 40, 96, False),
    ("GRU", 200, 42, 48, False),
    ("GRU", 50, 128, 256, True),
    ("LSTM", 24, 96, 670, False),
    ("LSTM", 300, 80, 128, True),
    ("GRU", 16, 512, 512, False),
)
#: (shape, perm) of the high-rank transposes: channel shuffles, a pixel unshuffle and
#: shuffle written as reshapes, a window partition, a fused QKV split.
TRANSPOSES = (
    ((1, 2, 58, 28, 28), (0, 2, 1, 3, 4)),
    ((1, 4, 60, 20, 36), (0, 2, 1, 3, 4)),
    ((1, 16, 48, 2, 32, 2), (0, 1, 3, 5, 2, 4)),
    ((1, 24, 2, 2, 60, 44), (0, 1, 4, 2, 5, 3)),
    ((1, 9, 7, 9, 7, 96), (0, 1, 3, 2, 4, 5)),
    ((1, 197, 3, 6, 64), (2, 0, 3, 1, 4)),
)
#: (input channels, output channels, map size, kernel) of the convs with computed weights
#: (StyleGAN2-like modulated convs: the weight scaled by an affine map of the input's
#: channel means).
MODULATED = (
    (512, 512, 8, 3),
    (256, 256, 16, 3),
    (128, 128, 32, 3),
    (64, 64, 64, 3),
    (32, 3, 128, 1),
)
#: (rows, inputs, outputs) of the vocabulary heads.
HEADS = ((48, 288, 32000), (16, 512, 10000), (128, 256, 8000), (1, 768, 30522), (64, 384, 21128))


def _one_op(op: str, shape: tuple[int, ...], perm: tuple[int, ...] = ()) -> Any:
    """A model of one ``op`` (Pow by 2, Sqrt, ReduceMean over axis 1, DepthToSpace by 2,
    Transpose by ``perm``)."""
    from onnx import TensorProto, helper, numpy_helper

    inits, attrs, inputs = [], {}, ["x"]
    if op == "Pow":
        inits.append(numpy_helper.from_array(np.array(2.0, np.float32), "e"))
        inputs.append("e")
    elif op == "ReduceMean":
        attrs = {"axes": [1], "keepdims": 1}
    elif op == "DepthToSpace":
        attrs = {"blocksize": 2, "mode": "CRD"}
    elif op == "Transpose":
        attrs = {"perm": list(perm)}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node(op, inputs, ["y"], **attrs)
    graph = helper.make_graph([node], op, [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def cases() -> list[tuple[str, str, Callable[[Path], None]]]:
    """(group, name, writer of the case's ONNX file) for every case."""
    import onnx
    import torch

    out: list[tuple[str, str, Callable[[Path], None]]] = []
    for op in ("Pow", "Sqrt", "ReduceMean", "DepthToSpace"):
        for shape in MAPS:
            name = f"{op} {'x'.join(map(str, shape[1:]))}"
            out.append((op, name, lambda p, o=op, s=shape: onnx.save(_one_op(o, s), p)))
    for shape, perm in TRANSPOSES:
        name = f"Transpose {'x'.join(map(str, shape[1:]))}"
        out.append(
            ("Transpose", name, lambda p, s=shape, q=perm: onnx.save(_one_op("Transpose", s, q), p))
        )

    class Recurrent(torch.nn.Module):
        def __init__(self, layer: str, size: int, hidden: int, bi: bool) -> None:
            super().__init__()
            self.rnn = getattr(torch.nn, layer)(size, hidden, batch_first=True, bidirectional=bi)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.rnn(x)[0]

    for layer, steps, size, hidden, bi in RECURRENT:
        name = f"{layer} T{steps} I{size} H{hidden}{' bi' if bi else ''}"
        module = Recurrent(layer, size, hidden, bi).eval()
        out.append((layer, name, lambda p, m=module, s=(1, steps, size): _export(m, s, p)))
    for cin, cout, hw, k in MODULATED:
        module = _modulated(cin, cout, k)
        out.append(
            (
                "computed conv",
                f"Conv {cin}->{cout} {k}x{k} on {hw}x{hw}, computed weights",
                lambda p, m=module, s=(1, cin, hw, hw): _export(m, s, p),
            )
        )
    for rows, k, n in HEADS:
        module = torch.nn.Linear(k, n).eval()
        out.append(
            (
                "head",
                f"Linear {rows}x{k}->{n}",
                lambda p, m=module, s=(1, rows, k): _export(m, s, p),
            )
        )
    return out


def _modulated(cin: int, cout: int, k: int) -> Any:
    """A conv whose weight is computed at run time: a constant weight scaled per input
    channel by an affine map of the input's channel means (StyleGAN2's modulation)."""
    import torch

    class Modulated(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(cout, cin, k, k) / (cin * k * k) ** 0.5)
            self.affine = torch.nn.Linear(cin, cin)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            style = self.affine(x.mean((2, 3))).view(1, cin, 1, 1)
            return torch.nn.functional.conv2d(x, self.weight * style, padding=k // 2)

    return Modulated().eval()


def _export(module: Any, shape: tuple[int, ...], path: Path) -> None:
    from hwnas.export import export_onnx

    export_onnx(module, shape, path, opset=17, exporter="torchscript")


def timed_ms(path: Path, runs: int) -> float:
    """Median ms of ``runs`` onnxruntime runs (one thread) after five, on standard normal
    input."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (x,) = session.get_inputs()
    feed = {x.name: np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)}
    for _ in range(5):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def isolated_ms(predictor: Any, path: Path) -> float:
    """The predictor's price of a model: its kernels' isolated times and its overhead."""
    _, rows = predictor.predict_onnx_raw(path)
    return float(predictor.overhead_model_ms_ + sum(r["isolated_ms"] for r in rows))


def summary(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per op group and predictor: the median, lowest and highest predicted/measured."""
    out: dict[str, Any] = {}
    for group in dict.fromkeys(r["group"] for r in rows):
        ratios = {n: [r["ratio"][n] for r in rows if r["group"] == group] for n in names}
        out[group] = {
            n: {"median": round(float(np.median(v)), 3), "low": min(v), "high": max(v)}
            for n, v in ratios.items()
        }
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictor", type=Path, action="append", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--name", required=True, help="writes RESULTS/NAME.json")
    args = parser.parse_args(argv)
    absent = [str(p) for p in args.predictor if not (p / "meta.json").is_file()]
    if absent:
        parser.error(f"--predictor {' '.join(absent)}: not a kernel predictor directory")
    if args.runs < 5:
        parser.error(f"--runs {args.runs}: at least 5")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from hwnas.predictors.kernels import KernelPredictor

    predictors = {str(p): KernelPredictor.load(p) for p in args.predictor}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (group, name, write) in enumerate(cases()):
            path = Path(tmp) / f"case{i}.onnx"
            write(path)
            measured = timed_ms(path, args.runs)
            predicted = {n: round(isolated_ms(p, path), 4) for n, p in predictors.items()}
            ratio = {n: round(v / measured, 3) for n, v in predicted.items()}
            rows.append(
                {
                    "group": group,
                    "case": name,
                    "measured_ms": round(measured, 4),
                    "predicted_ms": predicted,
                    "ratio": ratio,
                }
            )
            print(
                f"{name:30s} {measured:8.3f} ms  " + "  ".join(f"{v:5.2f}" for v in ratio.values())
            )
    doc = {
        **provenance(args.name),
        "seed": 0,
        "runs": args.runs,
        "predictors": list(predictors),
        "summary": summary(rows, list(predictors)),
        "rows": rows,
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc["summary"]))


if __name__ == "__main__":
    main()
