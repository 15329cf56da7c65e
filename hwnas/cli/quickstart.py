"""`hwnas quickstart`: the main job end to end on the local CPU, with nothing to configure."""

from __future__ import annotations

from pathlib import Path

import typer

from hwnas.cli._common import JsonOption, StoreOption, fail, note
from hwnas.config import cache_dir
from hwnas.errors import HwnasError


def quickstart(
    max_seconds: float = typer.Option(5.0, "--max-seconds", help="Time limit per model."),
    store_path: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Export a small built-in CNN to ONNX and profile it on the local CPU."""
    from hwnas.cli.profile_cmd import profile
    from hwnas.examples import EXAMPLE_INPUT_SHAPE, mobilenet_like
    from hwnas.export import export_onnx

    path = cache_dir() / "examples" / "mobilenet_like_w16_64px.onnx"
    if not path.exists():
        note(f"exporting a small MobileNetV2-like CNN to {path} ...")
        try:
            export_onnx(mobilenet_like(), EXAMPLE_INPUT_SHAPE, path)
        except HwnasError as exc:
            fail(exc, as_json=as_json)
    profile(
        models=[Path(path)], space_name=None, sample=None, device="local", threads=1,
        target_ci=0.01, max_seconds=max_seconds, min_runs=20, max_runs=100_000, warmup=10,
        graph_opt="all", shape=[], op_profile=True, seed=0, energy=None, energy_seconds=2.0,
        exporter="dynamo", resume=False,
        reconnect_timeout=300.0, store_path=store_path, as_json=as_json,
    )  # fmt: skip
