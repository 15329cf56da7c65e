"""The ONNX export cache: exported once per (space, canonical arch, torch, opset)."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
import pytest

from hwnas.export import ExportError, export_arch, export_key
from hwnas.spaces import InvalidArchError
from tests.toy_space import ToySpace


def test_second_export_is_served_from_the_cache(tmp_path: Path) -> None:
    space = ToySpace()
    first = export_arch(space, "c4-c8", cache=tmp_path)
    assert not first.cached and first.path.exists()
    onnx.checker.check_model(str(first.path))
    mtime = first.path.stat().st_mtime_ns
    second = export_arch(space, "c4-c8", cache=tmp_path)
    assert second.cached and second.path == first.path and second.key == first.key
    assert second.path.stat().st_mtime_ns == mtime  # not rewritten
    other = export_arch(space, "c8-c4", cache=tmp_path)
    assert not other.cached and other.path != first.path


def test_the_default_cache_lives_under_hwnas_home(monkeypatch: pytest.MonkeyPatch) -> None:
    path = ToySpace().to_onnx("c4-c4")
    assert Path(os.environ["HWNAS_HOME"]) in path.parents
    assert path.parent.parent.name == "onnx"


def test_key_depends_on_opset_and_space_settings() -> None:
    space = ToySpace()
    assert export_key(space, "c4-c8") == export_key(space, "c4-c8")
    assert export_key(space, "c4-c8") != export_key(space, "c4-c8", opset=17)
    assert export_key(space, "c4-c8") != export_key(space, "c8-c4")
    tweaked = ToySpace()
    tweaked.scale = 2  # a public setting: part of the identity
    assert export_key(tweaked, "c4-c8") != export_key(space, "c4-c8")


def test_a_damaged_cached_file_is_exported_again(tmp_path: Path) -> None:
    space = ToySpace()
    first = export_arch(space, "c16-c4", cache=tmp_path)
    first.path.write_bytes(first.path.read_bytes()[:100])  # truncated by a crash or a disk
    again = export_arch(space, "c16-c4", cache=tmp_path)
    assert not again.cached
    onnx.checker.check_model(str(again.path))


def test_invalid_arch_is_refused_before_exporting(tmp_path: Path) -> None:
    with pytest.raises(InvalidArchError, match="layer 1 .* allowed: c4, c8, c16"):
        export_arch(ToySpace(), "c4-c5", cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    with pytest.raises(ExportError, match="cannot write the export cache .*HWNAS_HOME"):
        export_arch(ToySpace(), "c4-c4", cache=blocker / "onnx")
    assert blocker.read_text().startswith("a file")


def test_the_default_exporter_is_the_fast_one_cached_apart_and_matches_torch(
    tmp_path: Path,
) -> None:
    import numpy as np
    import onnxruntime as ort
    import torch

    from hwnas.export import DEFAULT_EXPORTER

    space = ToySpace()
    fast = export_arch(space, "c8-c16", cache=tmp_path)
    assert (
        DEFAULT_EXPORTER == "torchscript"
        and fast.key == export_arch(space, "c8-c16", cache=tmp_path, exporter="torchscript").key
    )
    dynamo = export_arch(space, "c8-c16", cache=tmp_path, exporter="dynamo")
    assert fast.key != dynamo.key and not dynamo.cached
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = space.to_torch("c8-c16")(x).numpy()
    session = ort.InferenceSession(str(fast.path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_an_unknown_exporter_is_a_usage_error(tmp_path: Path) -> None:
    from hwnas.errors import UsageError

    with pytest.raises(UsageError, match="unknown exporter 'jit'; use one of dynamo"):
        export_arch(ToySpace(), "c4-c4", cache=tmp_path, exporter="jit")
