"""The search-space contract, run over every registered space and over user spaces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from hwnas.spaces import SearchSpace, SpaceError, get_space, space_names
from hwnas.spaces.contract import (
    ALL_CHECKS,
    ContractError,
    check_space,
    parametrize_with_checks,
    space_checks,
)
from tests.toy_space import ToySpace


@parametrize_with_checks([get_space(name) for name in space_names()] + [ToySpace()])
def test_every_registered_space_keeps_the_contract(space: SearchSpace, check: Any) -> None:
    check(space)


def test_a_user_space_loads_by_module_and_class_and_passes() -> None:
    space = get_space("tests.toy_space:ToySpace")
    assert isinstance(space, ToySpace)
    seen: list[tuple[str, object]] = []
    check_space(space, on_check=lambda name, error: seen.append((name, error)))
    assert [name for name, _ in seen] == [c.__name__ for c in ALL_CHECKS]
    assert all(error is None for _, error in seen)


def test_export_check_can_be_left_out() -> None:
    names = [c.__name__ for c in space_checks(ToySpace(), export=False)]
    assert "check_onnx_export" not in names and "check_mutate" in names


class NoRoundTrip(ToySpace):
    def encode(self, arch: str) -> np.ndarray:
        return super().encode(arch)[::-1].copy()  # layers swapped


class LaxDecoder(ToySpace):
    def decode(self, genes: Sequence[int] | np.ndarray) -> str:
        return super().decode(np.clip(np.asarray(genes)[:2], 0, 2))


class ValueErrorEncoder(ToySpace):
    def encode(self, arch: str) -> np.ndarray:
        if arch.count("-") != 1:
            raise ValueError("bad")
        return super().encode(arch)


class Unseeded(ToySpace):
    def sample(self, rng: Any, n: int = 1) -> list[str]:
        return super().sample(np.random.default_rng(), n)


class FreshWeights(ToySpace):
    def to_torch(self, arch: str) -> Any:
        import torch

        torch.manual_seed(int(np.random.default_rng().integers(1 << 30)))
        module = super().to_torch(arch)
        for p in module.parameters():
            p.data.normal_()
        return module


class SilentMutation(ToySpace):
    def mutate(self, arch: str, rng: Any, rate: float = 0.2) -> str:
        return arch


class Unnamed(ToySpace):
    name = ""


class TooSmall(ToySpace):
    def size(self) -> int:
        return 1


class NotJsonBlocks(ToySpace):
    def blocks(self, arch: str) -> list[Any]:
        blocks = super().blocks(arch)
        return [type(b)(b.op, b.input_shape, b.output_shape, {"x": object()}) for b in blocks]


class Crashes(ToySpace):
    def features(self, arch: str) -> np.ndarray:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("space", "check", "message"),
    [
        (NoRoundTrip(), "check_encode_decode_round_trip", "decode\\(encode"),
        (LaxDecoder(), "check_invalid_input_is_rejected", "was accepted"),
        (ValueErrorEncoder(), "check_invalid_input_is_rejected", "raised ValueError: bad"),
        (Unseeded(), "check_sample_is_seeded", "different architectures"),
        (FreshWeights(), "check_torch_module", "different weights"),
        (SilentMutation(), "check_mutate", "was accepted|equivalent"),
        (Unnamed(), "check_name", "non-empty string"),
        (TooSmall(), "check_size", "size\\(\\) says 1"),
        (NotJsonBlocks(), "check_blocks", "not JSON-serializable"),
        (Crashes(), "check_features", "RuntimeError: boom"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, SearchSpace) else None,
)
def test_a_broken_space_fails_naming_the_check(space: SearchSpace, check: str, message: str):
    with pytest.raises(ContractError, match=f"check {check!r} failed: .*({message})"):
        check_space(space, export=False)


def test_unknown_space_lists_the_known_ones() -> None:
    with pytest.raises(SpaceError, match="unknown space 'nope'; known spaces: chain, "):
        get_space("nope")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("tests.no_such_module:Space", "cannot import 'tests.no_such_module'"),
        ("tests.toy_space:Missing", "has no attribute 'Missing'"),
        ("tests.toy_space:WIDTHS", "not a subclass of hwnas.spaces.SearchSpace"),
        (":Space", "must look like package.module:ClassName"),
    ],
)
def test_bad_user_space_references(reference: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        get_space(reference)


def test_entry_point_spaces_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import hwnas.spaces as spaces

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "hwnas.spaces"
        return [EntryPoint("toy", "tests.toy_space:ToySpace", group)]

    monkeypatch.setattr(spaces, "entry_points", fake_entry_points)
    assert "toy" in space_names()
    assert isinstance(get_space("toy"), ToySpace)
