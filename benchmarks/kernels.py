"""Benchmark of the kernel-level latency predictor on whole models it never saw.

1. Builds a kernel predictor for the local CPU exactly as ``hwnas kernels build`` does
   (samples single-kernel models of every kind, measures them with the profiling
   protocol, trains one LightGBM regressor per kind); resumable: the store keeps what
   was measured.
2. Exports whole models that are not in the training set: the built-in
   MobileNetV2-like CNN at several widths and resolutions, samples of the ``chain`` and
   ``multibranch`` spaces, and transformer encoders (``torch.nn.TransformerEncoderLayer``
   through the legacy exporter).
3. Measures each whole model with the profiling protocol (``profile_model`` on the
   local transport, a fresh runner process each) and predicts it from its ONNX file.
4. Prints a markdown report: per-model error, overall MAPE, share within ±10%,
   Spearman's rank correlation, per family; writes ``kernels.json`` beside it.

Run:  .venv/bin/python benchmarks/kernels.py [--per-kind 120] [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

LOAD_AT_START = os.getloadavg()[0]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class _EncoderWrapper:
    """Builds a torch module that calls an encoder with ``is_causal=False`` (the legacy
    exporter cannot trace the tensor it would pass otherwise)."""

    @staticmethod
    def build(d_model: int, heads: int, ff: int, layers: int) -> Any:
        import torch

        class Encoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = torch.nn.ModuleList(
                    torch.nn.TransformerEncoderLayer(
                        d_model, heads, ff, batch_first=True, dropout=0.0
                    )
                    for _ in range(layers)
                )

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                for layer in self.layers:
                    x = layer(x, is_causal=False)
                return x

        torch.manual_seed(0)
        return Encoder().eval()


def _legacy_export(module: Any, shape: tuple[int, ...], path: Path) -> Path:
    import torch

    if path.exists():
        return path
    with warnings.catch_warnings():  # the legacy exporter is deprecated; we use it knowingly
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        torch.onnx.export(
            module,
            (torch.randn(*shape),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["y"],
        )
    return path


def whole_models(out: Path) -> list[tuple[str, str, Path]]:
    """(family, name, path) of every test model, exported once into ``out``."""
    from hwnas.examples import mobilenet_like
    from hwnas.spaces import get_space

    out.mkdir(parents=True, exist_ok=True)
    models: list[tuple[str, str, Path]] = []
    for width, res in [(8, 64), (16, 64), (16, 128), (24, 96), (32, 160), (48, 224)]:
        name = f"mbv2_w{width}_{res}px"
        models.append(
            (
                "mobilenet_like",
                name,
                _legacy_export(
                    mobilenet_like(width=width), (1, 3, res, res), out / f"k_{name}.onnx"
                ),
            )
        )
    for space_name, count in (("chain", 4), ("multibranch", 3)):
        space = get_space(space_name)
        for arch in space.sample_distinct(7, count):
            path = Path(space.to_onnx(arch, exporter="torchscript"))
            models.append((space_name, f"{space_name}:{space.record(arch).hash[:8]}", path))
    for d, heads, ff, seq, layers in [
        (128, 4, 512, 64, 1),
        (256, 8, 1024, 128, 1),
        (384, 6, 1536, 196, 1),
        (512, 8, 2048, 32, 1),
        (256, 4, 1024, 256, 2),
    ]:
        name = f"encoder_d{d}_h{heads}_s{seq}_l{layers}"
        models.append(
            (
                "transformer",
                name,
                _legacy_export(
                    _EncoderWrapper.build(d, heads, ff, layers), (1, seq, d), out / f"k_{name}.onnx"
                ),
            )
        )
    return models


def measure_whole(models: list[tuple[str, str, Path]], cache: Path) -> dict[str, float]:
    """Median latency (ms) of each model with the profiling protocol (cached by file hash)."""
    from hwnas.devices.local import LocalTransport
    from hwnas.onnx_model import check_model
    from hwnas.profiler.batch import profile_model
    from hwnas.profiler.settings import ProfileSettings
    from hwnas.records import DeviceSpec

    known = json.loads(cache.read_text()) if cache.exists() else {}
    transport, spec = LocalTransport(), DeviceSpec(name="local")
    settings = ProfileSettings(max_seconds=5.0, target_ci=0.01)
    out: dict[str, float] = {}
    for _, name, path in models:
        checked = check_model(path)
        if checked.hash not in known:
            m = profile_model(transport, spec, checked, settings)
            known[checked.hash] = m.latency_ms.median
            cache.write_text(json.dumps(known, indent=1))
        out[name] = known[checked.hash]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HWNAS_HOME", str(out / "hwnas_home"))

    import hwnas
    from hwnas.predictors import metrics
    from hwnas.predictors.kernels import KernelPredictor

    predictor_dir, store = out / "kernel_predictor", out / "kernels.db"
    command = (
        f"hwnas.build_kernel_predictor(device='local', per_kind={args.per_kind}, "
        f"seed={args.seed}, store={str(store)!r}).save({str(predictor_dir)!r})"
    )
    started = time.monotonic()
    hwnas.build_kernel_predictor(
        device="local", per_kind=args.per_kind, seed=args.seed, store=store
    ).save(predictor_dir)
    build_s = time.monotonic() - started
    predictor = KernelPredictor.load(predictor_dir)

    models = whole_models(out / "kernel_models")
    started = time.monotonic()
    measured = measure_whole(models, out / "kernel_whole_measured.json")
    measure_s = time.monotonic() - started
    rows = []
    for family, name, path in models:
        predicted, kernels = predictor.predict_onnx(path)
        rows.append(
            {
                "family": family,
                "model": name,
                "measured_ms": measured[name],
                "predicted_ms": predicted,
                "kernels": len(kernels),
                "error_pct": 100 * (predicted - measured[name]) / measured[name],
            }
        )
    report(rows, predictor, metrics, command=command, build_s=build_s, measure_s=measure_s, out=out)


def report(
    rows: list[dict[str, Any]],
    predictor: Any,
    metrics: Any,
    *,
    command: str,
    build_s: float,
    measure_s: float,
    out: Path,
) -> None:
    import onnxruntime

    y = np.array([r["measured_ms"] for r in rows])
    p = np.array([r["predicted_ms"] for r in rows])
    overall = metrics.report(y, p)
    print("# Kernel-level predictor: whole models it never saw\n")
    print(f"Command: `.venv/bin/python benchmarks/kernels.py` (build step: `{command}`)  ")
    print(
        f"Machine: {_cpu_model()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, onnxruntime {onnxruntime.__version__}, one thread, "
        f"{time.strftime('%Y-%m-%d')}  "
    )
    print(
        f"Build (sampling + measuring + training): {build_s:.0f} s; measuring the "
        f"{len(rows)} whole models: {measure_s:.0f} s  "
    )
    print(
        f"Load average (1 min) at the start / end: {LOAD_AT_START:.2f} / "
        f"{os.getloadavg()[0]:.2f} (above ~0.5 on this machine, other processes competed "
        f"for the cores and every figure below is noisier)\n"
    )
    print("| model | kernels | measured ms | predicted ms | error |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['model']} | {r['kernels']} | {r['measured_ms']:.4g} | "
            f"{r['predicted_ms']:.4g} | {r['error_pct']:+.1f}% |"
        )
    print("\n| family | n | MAPE | within ±10% | Spearman |")
    print("|---|---:|---:|---:|---:|")
    families = sorted({r["family"] for r in rows})
    summary = {}
    for family in [*families, "all"]:
        sel = [i for i, r in enumerate(rows) if family == "all" or r["family"] == family]
        stats = metrics.report(y[sel], p[sel])
        summary[family] = metrics.json_ready(stats)
        rho = stats["spearman"]
        print(
            f"| {family} | {stats['n']} | {stats['mape']:.1f}% | "
            f"{100 * stats['within_10']:.0f}% | {'—' if rho != rho else f'{rho:.3f}'} |"
        )
    print("\nPer-kind models (5-fold CV MAPE on the sampled kernels' own latency):\n")
    print("| kind | samples | CV MAPE | model |")
    print("|---|---:|---:|---|")
    for kind, row in predictor.training_.items():
        mape = row.get("cv_mape")
        model = "cost model + LightGBM residual" if row["residual_model"] else "cost model"
        print(f"| {kind} | {row['n']} | {'—' if mape is None else f'{mape:.1f}%'} | {model} |")
    print(
        f"\nOverheads: {1000 * predictor.overhead_model_ms_:.1f} µs per model, "
        f"{1000 * predictor.overhead_kernel_ms_:.2f} µs per kernel."
    )
    doc = {
        "rows": rows,
        "summary": summary,
        "overall": metrics.json_ready(overall),
        "training": predictor.training_,
        "build_s": build_s,
        "measure_s": measure_s,
        "command": command,
        "machine": _cpu_model(),
    }
    (out / "kernels.json").write_text(json.dumps(doc, indent=2, default=str))


if __name__ == "__main__":
    main()
