"""Search spaces: the built-in ones, entry points (group ``hwnas.spaces``) and
``module:Class`` references to a user's own."""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points
from types import ModuleType

from hwnas.spaces.base import Block, InvalidArchError, SearchSpace, SpaceError

__all__ = [
    "Block",
    "InvalidArchError",
    "SearchSpace",
    "SpaceError",
    "get_space",
    "resolve_space",
    "space_names",
    "space_reference",
]

# name -> "module:Class"; imported lazily so `import hwnas.spaces` stays cheap.
BUILTIN = {
    "chain": "hwnas.spaces.chain:ChainSpace",
    "multibranch": "hwnas.spaces.multibranch:MultiBranchSpace",
    "nb201": "hwnas.spaces.nb201:NB201Space",
}
ENTRY_POINT_GROUP = "hwnas.spaces"


def _registered() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def space_names() -> list[str]:
    """Names of every registered space (built-in and entry points)."""
    return sorted(_registered())


def _import_user_module(module_name: str) -> ModuleType:
    """Import a user's module as ``python -m`` would: the current directory is searched
    too (the ``hwnas`` script's own ``sys.path`` starts at its bin directory)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        cwd = os.getcwd()
        if exc.name != top or cwd in sys.path or "" in sys.path:
            raise
        sys.path.insert(0, cwd)
        return importlib.import_module(module_name)


def _load(reference: str) -> type:
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise SpaceError(f"space reference {reference!r} must look like package.module:ClassName")
    try:
        module = _import_user_module(module_name)
    except ImportError as exc:
        raise SpaceError(
            f"cannot import {module_name!r} for space {reference!r} ({exc}); check that the "
            f"package is installed in this environment or is in the current directory."
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SpaceError(f"module {module_name!r} has no attribute {attr!r}") from None


def get_space(name: str) -> SearchSpace:
    """An instance of the space called ``name``, or of ``package.module:Class``."""
    registered = _registered()
    if name in registered:
        cls = _load(registered[name])
    elif ":" in name:
        cls = _load(name)
    else:
        raise SpaceError(
            f"unknown space {name!r}; known spaces: {', '.join(sorted(registered))}. A space "
            f"of your own is given as package.module:ClassName or registered under the "
            f"entry point group {ENTRY_POINT_GROUP!r}."
        )
    if not (isinstance(cls, type) and issubclass(cls, SearchSpace)):
        raise SpaceError(f"{name!r} is not a subclass of hwnas.spaces.SearchSpace")
    try:
        return cls()
    except TypeError as exc:
        raise SpaceError(f"cannot create space {name!r} with no arguments: {exc}") from None


def resolve_space(space: SearchSpace | str) -> SearchSpace:
    """``space`` itself, or the space registered under that name (or
    ``package.module:Class``): ``SpaceError`` for an unknown name, ``ParameterError`` for
    anything that is neither."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str) and space:
        return get_space(space)
    from hwnas.errors import ParameterError

    raise ParameterError("space", f"must be a space name or a SearchSpace, got {space!r}")


def space_reference(space: SearchSpace) -> str:
    """What :func:`get_space` loads ``space`` from in another process: its name where that
    name is registered to its class, else ``package.module:Class`` (a queued job keeps this,
    so that ``resume`` can export the architecture again)."""
    cls = type(space)
    reference = f"{cls.__module__}:{cls.__qualname__}"
    return space.name if _registered().get(space.name) == reference else reference
