"""The predictor registry: which class saves and restores the predictors of each ``kind``.

A kind is the name in a predictor directory's ``meta.json`` (``lightgbm``, ``transfer``,
``lookup_table``, ``kernel``); :func:`hwnas.predictors.artifacts.load_predictor`
dispatches on it through :func:`predictor_class` and names no class itself.

Built-in kinds register themselves when their module is imported (the registry imports
that module the first time the kind is asked for). A kind of your own registers with
the decorator :func:`register_predictor` (the module must be imported before loading)
or, with no import at all, through the entry point group ``hwnas.predictors``::

    [project.entry-points."hwnas.predictors"]
    gaussian_process = "mypkg.predictors:GaussianProcessPredictor"

The class subclasses :class:`~hwnas.predictors.base.Predictor`; run the contract
(:mod:`hwnas.predictors.contract`) over it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TypeVar, overload

from hwnas.predictors.base import Predictor
from hwnas.predictors.errors import PredictorError, UnknownKindError

#: Built-in kind -> the module whose import registers it (imported lazily).
BUILTIN_MODULES = {
    "kernel": "hwnas.predictors.kernels",
    "lightgbm": "hwnas.predictors.lgbm",
    "lookup_table": "hwnas.predictors.lut",
    "table_base": "hwnas.predictors.zoo",
    "transfer": "hwnas.predictors.transfer",
    "weighted_bases": "hwnas.predictors.zoo",
}
ENTRY_POINT_GROUP = "hwnas.predictors"
_KIND = re.compile(r"[a-z][a-z0-9_.-]*")
_REGISTRY: dict[str, type[Predictor]] = {}

P = TypeVar("P", bound=type[Predictor])


def _check(kind: str, cls: object) -> type[Predictor]:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise PredictorError(
            f"a predictor kind must be a lower-case name like 'my_kind', got {kind!r}"
        )
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise PredictorError(
            f"predictor kind {kind!r} must be a subclass of hwnas.predictors.base.Predictor, "
            f"got {cls!r}"
        )
    own = cls.__dict__.get("kind")
    if own is not None and own != kind:
        raise PredictorError(
            f"{cls.__qualname__}.kind is {own!r}, so it cannot register as {kind!r}; "
            f"register it under its own kind"
        )
    return cls


@overload
def register_predictor(kind: str) -> Callable[[P], P]: ...
@overload
def register_predictor(kind: str, cls: P) -> P: ...
def register_predictor(kind: str, cls: P | None = None) -> P | Callable[[P], P]:
    """Register ``cls`` as the class of predictors of ``kind`` and return it; without
    ``cls``, return a class decorator that does so.

    Sets ``cls.kind`` when the class does not name its kind; a class naming another kind
    is refused, and so is a second class under a kind already taken (registering the
    same class again, or a reloaded module's class of the same name, is fine). Raises
    :class:`~hwnas.predictors.errors.PredictorError`.
    """

    def register(target: P) -> P:
        checked = _check(kind, target)
        taken = _REGISTRY.get(kind)
        if taken is not None and taken is not checked and _name(taken) != _name(checked):
            raise PredictorError(
                f"predictor kind {kind!r} is already registered to {_name(taken)}; choose "
                f"another kind for {_name(checked)}"
            )
        checked.kind = kind
        _REGISTRY[kind] = checked
        return target

    return register if cls is None else register(cls)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_entry_point(ep: EntryPoint) -> None:
    try:
        cls = ep.load()
    except (ImportError, AttributeError) as exc:
        raise UnknownKindError(
            f"cannot load predictor kind {ep.name!r} from the entry point {ep.value!r} "
            f"({type(exc).__name__}: {exc}); check that its package is installed in this "
            f"environment"
        ) from None
    register_predictor(ep.name, cls)


def predictor_kinds() -> list[str]:
    """Every kind that can be loaded: built in, registered and entry points."""
    return sorted({*BUILTIN_MODULES, *_REGISTRY, *_entry_points()})


def predictor_class(kind: str) -> type[Predictor]:
    """The class registered for ``kind``, importing the built-in module or loading the
    entry point that provides it; :class:`~hwnas.predictors.errors.UnknownKindError`
    (listing the known kinds) if nothing does."""
    if kind not in _REGISTRY and kind in BUILTIN_MODULES:
        importlib.import_module(BUILTIN_MODULES[kind])
    if kind not in _REGISTRY:
        ep = _entry_points().get(kind)
        if ep is not None:
            _load_entry_point(ep)
    if kind not in _REGISTRY:
        raise UnknownKindError(
            f"unknown predictor kind {kind!r}; known kinds: {', '.join(predictor_kinds())}. "
            f"A kind of your own registers with hwnas.predictors.registry.register_predictor "
            f"or the entry point group {ENTRY_POINT_GROUP!r}"
        )
    return _REGISTRY[kind]


def class_for_legacy_format(format: str) -> type[Predictor] | None:
    """The registered class that reads directories of an older, kind-specific format
    (its ``legacy_formats``), or None."""
    for kind in predictor_kinds():
        try:
            cls = predictor_class(kind)
        except UnknownKindError:
            continue  # a broken third-party entry point must not hide the built-in kinds
        if format in cls.legacy_formats:
            return cls
    return None


__all__ = [
    "BUILTIN_MODULES",
    "ENTRY_POINT_GROUP",
    "class_for_legacy_format",
    "predictor_class",
    "predictor_kinds",
    "register_predictor",
]
