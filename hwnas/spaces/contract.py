"""The search-space contract: checks every space must pass, built-in or a user's.

Like scikit-learn's estimator checks: ``space_checks(space)`` yields named checks,
``check_space(space)`` runs them all and raises ``ContractError`` naming the first
that fails, and ``parametrize_with_checks(spaces)`` turns them into pytest cases::

    from hwnas.spaces.contract import parametrize_with_checks
    from mypkg.spaces import MySpace

    @parametrize_with_checks([MySpace()])
    def test_my_space(space, check):
        check(space)

``hwnas spaces check mypkg.spaces:MySpace`` runs the same checks from the shell.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.checks import run_checks
from hwnas.errors import ContractError as ContractError  # re-exported: its old home
from hwnas.errors import InvalidArchError
from hwnas.spaces.base import Block, SearchSpace

Check = Callable[[SearchSpace], None]

#: Architectures drawn per check; small, so the whole contract runs in seconds.
N_SAMPLES = 4


def _fail(check: str, message: str) -> ContractError:
    return ContractError(f"search-space contract check {check!r} failed: {message}")


def _samples(space: SearchSpace, seed: int = 0, n: int = N_SAMPLES) -> list[str]:
    return space.sample(seed, n)


def check_name(space: SearchSpace) -> None:
    """The class names itself with a non-empty string ``name``."""
    name = getattr(space, "name", None)
    if not isinstance(name, str) or not name:
        raise _fail(
            "check_name",
            f"{type(space).__name__}.name must be a non-empty string, "
            f"got {name!r}; set the class attribute name = 'myspace'",
        )


def check_bounds(space: SearchSpace) -> None:
    """``bounds()`` gives two integer vectors of one fixed length with low <= high."""
    low, high = space.bounds()
    low, high = np.asarray(low), np.asarray(high)
    if low.ndim != 1 or low.shape != high.shape or low.size == 0:
        raise _fail(
            "check_bounds",
            f"bounds() must return two 1-d arrays of the same non-zero "
            f"length, got shapes {low.shape} and {high.shape}",
        )
    if not (np.issubdtype(low.dtype, np.integer) and np.issubdtype(high.dtype, np.integer)):
        raise _fail(
            "check_bounds", f"bounds() must be integer arrays, got {low.dtype} and {high.dtype}"
        )
    if (low > high).any():
        gene = int(np.flatnonzero(low > high)[0])
        raise _fail(
            "check_bounds",
            f"gene {gene} has lower bound {low[gene]} above upper bound {high[gene]}",
        )


def check_size(space: SearchSpace) -> None:
    """``size()`` is a positive int, at least the number of distinct samples."""
    size = space.size()
    if not isinstance(size, int | np.integer) or isinstance(size, bool) or size <= 0:
        raise _fail("check_size", f"size() must be a positive int, got {size!r}")
    distinct = {space.canonical(a) for a in _samples(space, 1, 16)}
    if len(distinct) > size:
        raise _fail(
            "check_size",
            f"size() says {size} but 16 samples already hold "
            f"{len(distinct)} distinct architectures",
        )


def check_sample_is_seeded(space: SearchSpace) -> None:
    """The same seed gives the same architectures; each is a valid canonical string."""
    a, b = _samples(space, 7), _samples(space, 7)
    if a != b:
        raise _fail(
            "check_sample_is_seeded",
            "sample(7, n) returned different architectures "
            "on two calls; draw every random choice from the generator passed in",
        )
    if len(a) != N_SAMPLES or not all(isinstance(s, str) and s for s in a):
        raise _fail(
            "check_sample_is_seeded",
            f"sample(seed, {N_SAMPLES}) must return {N_SAMPLES} non-empty strings, got {a!r}",
        )
    for arch in a:
        try:
            valid = space.validate(arch)
        except InvalidArchError as exc:
            raise _fail(
                "check_sample_is_seeded",
                f"sample() produced {arch!r}, which the space itself rejects: {exc.message}",
            ) from None
        if valid != arch:
            raise _fail(
                "check_sample_is_seeded",
                f"sample() must return decoded strings; {arch!r} decodes as {valid!r}",
            )


def check_encode_decode_round_trip(space: SearchSpace) -> None:
    """encode gives an in-bounds integer vector of fixed length; decode(encode(a)) == a."""
    low, high = space.bounds()
    for arch in _samples(space, 2):
        genes = np.asarray(space.encode(arch))
        if genes.shape != low.shape or not np.issubdtype(genes.dtype, np.integer):
            raise _fail(
                "check_encode_decode_round_trip",
                f"encode({arch!r}) must be an "
                f"integer vector of length {low.size}, got {genes.dtype} "
                f"{genes.shape}",
            )
        if (genes < low).any() or (genes > high).any():
            raise _fail(
                "check_encode_decode_round_trip",
                f"encode({arch!r}) = {genes.tolist()} is outside bounds()",
            )
        back = space.decode(genes)
        if back != arch:
            raise _fail("check_encode_decode_round_trip", f"decode(encode({arch!r})) gave {back!r}")
    gen = np.random.default_rng(3)
    for _ in range(N_SAMPLES):
        genes = gen.integers(low, high + 1)
        try:
            arch = space.decode(genes)
        except InvalidArchError:
            continue  # some vectors may be invalid (say so clearly: checked below)
        if space.decode(space.encode(arch)) != arch:
            raise _fail(
                "check_encode_decode_round_trip",
                f"decode of {genes.tolist()} gave {arch!r}, which does not round-trip",
            )


def check_invalid_input_is_rejected(space: SearchSpace) -> None:
    """Garbage strings and out-of-bounds vectors raise ``InvalidArchError``, nothing else."""
    low, high = space.bounds()
    bad_inputs: list[tuple[str, Callable[[], object]]] = [
        ("encode('')", lambda: space.encode("")),
        ("encode('not an architecture')", lambda: space.encode("not an architecture")),
        ("decode(upper bounds + 1)", lambda: space.decode(high + 1)),
        ("decode(lower bounds - 1)", lambda: space.decode(low - 1)),
        ("decode(a vector one gene too long)", lambda: space.decode(np.append(low, 0))),
    ]
    for what, call in bad_inputs:
        try:
            call()
        except InvalidArchError as exc:
            if not exc.message:
                raise _fail(
                    "check_invalid_input_is_rejected",
                    f"{what} raised InvalidArchError without a message",
                ) from None
            continue
        except Exception as exc:  # noqa: BLE001 - the point is to name what was raised
            raise _fail(
                "check_invalid_input_is_rejected",
                f"{what} raised "
                f"{type(exc).__name__}: {exc}; raise hwnas.spaces.InvalidArchError "
                f"with a message that says what is allowed",
            ) from None
        raise _fail(
            "check_invalid_input_is_rejected",
            f"{what} was accepted; it must raise hwnas.spaces.InvalidArchError",
        )


def check_mutate(space: SearchSpace) -> None:
    """mutate is seeded, stays in the space, changes the architecture, checks its rate."""
    for rate in (-0.1, 1.5, math.nan):
        try:
            space.mutate(_samples(space)[0], 0, rate=rate)
        except ValueError:
            continue
        raise _fail(
            "check_mutate",
            f"mutate(rate={rate}) was accepted; a rate outside "
            f"[0, 1] must raise ValueError naming the rate",
        )
    for i, arch in enumerate(_samples(space, 4)):
        child = space.mutate(arch, i, rate=0.2)
        if child != space.mutate(arch, i, rate=0.2):
            raise _fail("check_mutate", "mutate with the same seed gave different children")
        if space.validate(child) != child:
            raise _fail("check_mutate", f"mutate gave {child!r}, not a decoded string")
        if space.canonical(child) == space.canonical(arch):
            raise _fail(
                "check_mutate",
                f"mutate({arch!r}) returned an equivalent "
                f"architecture {child!r}; a mutation must change the network",
            )
        if space.mutate(arch, i, rate=0.0) != arch:
            raise _fail("check_mutate", "mutate with rate 0 must return the parent")


def check_crossover(space: SearchSpace) -> None:
    """crossover is seeded and gives two valid children."""
    a, b = _samples(space, 5, 2)
    children = space.crossover(a, b, 11)
    if children != space.crossover(a, b, 11):
        raise _fail("check_crossover", "crossover with the same seed gave different children")
    if len(children) != 2:
        raise _fail("check_crossover", f"crossover must return two children, got {children!r}")
    for child in children:
        if space.validate(child) != child:
            raise _fail("check_crossover", f"crossover gave {child!r}, not a decoded string")


def check_canonical(space: SearchSpace) -> None:
    """canonical gives a valid architecture and is idempotent."""
    for arch in _samples(space, 6):
        rep = space.canonical(arch)
        if space.validate(rep) != rep:
            raise _fail(
                "check_canonical",
                f"canonical({arch!r}) = {rep!r} is not a valid, decoded architecture",
            )
        if space.canonical(rep) != rep:
            raise _fail("check_canonical", f"canonical is not idempotent on {arch!r}")


def check_features(space: SearchSpace) -> None:
    """features are finite floats, as many as feature_names, the same on every call."""
    names = space.feature_names()
    if len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise _fail("check_features", "feature_names() must be distinct strings")
    for arch in _samples(space, 8):
        x = np.asarray(space.features(arch), dtype=np.float64)
        if x.shape != (len(names),):
            raise _fail(
                "check_features",
                f"features() has shape {x.shape} but there are {len(names)} feature_names()",
            )
        if not np.isfinite(x).all():
            raise _fail("check_features", f"features({arch!r}) has non-finite values")
        if not np.array_equal(x, np.asarray(space.features(arch), dtype=np.float64)):
            raise _fail("check_features", "features() differ between two calls")


def check_blocks(space: SearchSpace) -> None:
    """blocks() is a non-empty list of Block with positive shapes and JSON-able params."""
    for arch in _samples(space, 9, 2):
        blocks = space.blocks(arch)
        if not blocks or not all(isinstance(b, Block) for b in blocks):
            raise _fail(
                "check_blocks", f"blocks({arch!r}) must be a non-empty list of hwnas.spaces.Block"
            )
        if tuple(blocks[0].input_shape) != tuple(space.arch_input_shape(arch)):
            raise _fail(
                "check_blocks",
                f"the first block's input shape "
                f"{blocks[0].input_shape} is not the architecture's input shape "
                f"{space.arch_input_shape(arch)}",
            )
        for b in blocks:
            shapes = (*b.input_shape, *b.output_shape)
            if not all(isinstance(d, int | np.integer) and d > 0 for d in shapes):
                raise _fail(
                    "check_blocks",
                    f"block {b.op} has shapes {b.input_shape} -> "
                    f"{b.output_shape}; dimensions must be positive ints",
                )
            try:
                json.dumps(dict(b.params))
            except TypeError as exc:
                raise _fail(
                    "check_blocks", f"block {b.op} params are not JSON-serializable: {exc}"
                ) from None
        if space.blocks(arch) != blocks:
            raise _fail("check_blocks", "blocks() differ between two calls")


def check_torch_module(space: SearchSpace) -> None:
    """to_torch gives an eval-mode module with the same weights every call and finite output;
    flops and params are non-negative ints, params counting the module's parameters."""
    import torch

    arch = _samples(space, 10, 1)[0]
    shape = space.arch_input_shape(arch)
    first, second = space.to_torch(arch), space.to_torch(arch)
    if not isinstance(first, torch.nn.Module):
        raise _fail(
            "check_torch_module",
            f"to_torch must return a torch.nn.Module, got {type(first).__name__}",
        )
    if first.training:
        raise _fail("check_torch_module", "to_torch must return the module in eval mode")
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y1, y2 = first(x), second(x)
    if not torch.isfinite(y1).all():
        raise _fail("check_torch_module", f"the output of {arch!r} has non-finite values")
    if not torch.equal(y1, y2):
        raise _fail(
            "check_torch_module",
            "two to_torch calls gave different weights; seed "
            "the initialisation inside to_torch so exports are reproducible",
        )
    flops, params = space.flops(arch), space.params(arch)
    for what, value in (("flops", flops), ("params", params)):
        if not isinstance(value, int | np.integer) or value < 0:
            raise _fail("check_torch_module", f"{what}() must be a non-negative int, got {value!r}")
    counted = sum(int(p.numel()) for p in first.parameters())
    if params != counted:
        raise _fail(
            "check_torch_module", f"params() says {params} but the module has {counted} parameters"
        )


def check_identity(space: SearchSpace) -> None:
    """identity() is JSON-serializable and stable (it keys the export cache)."""
    try:
        text = json.dumps(space.identity(), sort_keys=True)
    except TypeError as exc:
        raise _fail("check_identity", f"identity() is not JSON-serializable: {exc}") from None
    if json.dumps(space.identity(), sort_keys=True) != text:
        raise _fail("check_identity", "identity() differs between two calls")


def check_onnx_export(space: SearchSpace) -> None:
    """The exported ONNX file runs in onnxruntime and matches torch within tolerance.

    Exported with ``hwnas.export.DEFAULT_EXPORTER``, the exporter every command uses
    unless told otherwise: this check is what keeps that default honest for every space."""
    import onnxruntime as ort
    import torch

    from hwnas.export import export_onnx

    arch = _samples(space, 12, 1)[0]
    shape = space.arch_input_shape(arch)
    module = space.to_torch(arch)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = module(x).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(module, shape, Path(tmp) / "arch.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        diff = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else None
        raise _fail(
            "check_onnx_export",
            f"onnxruntime output of {arch!r} differs from torch "
            f"(shapes {got.shape} vs {expected.shape}, max abs diff {diff})",
        )


ALL_CHECKS: tuple[Check, ...] = (
    check_name,
    check_bounds,
    check_encode_decode_round_trip,
    check_invalid_input_is_rejected,
    check_sample_is_seeded,
    check_size,
    check_mutate,
    check_crossover,
    check_canonical,
    check_features,
    check_blocks,
    check_identity,
    check_torch_module,
    check_onnx_export,
)


def space_checks(space: SearchSpace, *, export: bool = True) -> Iterator[Check]:
    """The checks of the contract, in order; ``export=False`` leaves out the ONNX export."""
    for check in ALL_CHECKS:
        if export or check is not check_onnx_export:
            yield check


def check_space(
    space: SearchSpace | str,
    *,
    export: bool = True,
    on_check: Callable[[str, ContractError | None], None] | None = None,
) -> None:
    """Run every check; raise ``ContractError`` naming the first that fails.

    ``space`` is an instance or a name (``nb201``, ``package.module:Class``).
    An unexpected exception inside a check is reported as that check's failure.
    """
    from hwnas.spaces import get_space

    instance = get_space(space) if isinstance(space, str) else space
    checks = space_checks(instance, export=export)
    run_checks(checks, instance, error_type=ContractError, fail=_fail, on_check=on_check)


def parametrize_with_checks(spaces: Iterable[SearchSpace], *, export: bool = True) -> Any:
    """A ``pytest.mark.parametrize`` over (space, check) pairs, ids like ``nb201-check_mutate``."""
    import pytest

    pairs: Sequence[tuple[SearchSpace, Check]] = [
        (space, check) for space in spaces for check in space_checks(space, export=export)
    ]
    return pytest.mark.parametrize(
        ("space", "check"),
        pairs,
        ids=[f"{space.name}-{check.__name__}" for space, check in pairs],
    )
