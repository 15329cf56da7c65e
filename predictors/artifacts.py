"""Predictor artifacts: one directory format for every kind, checked when loaded.

A predictor directory holds the kind's model files (open formats only: LightGBM's text
format written by ``Booster.save_model``, JSON; a transfer predictor adds its base
predictor as a nested directory ``base/``) and ``meta.json``, written last: the format
and its version, the ``kind`` of predictor, space (``null`` for a kernel predictor
without one), metric, device and fingerprint, feature names, the hash and size of the
training set, metrics on data held out from training, library versions, the SHA-256 of
every model file, the kind's own numbers (``state``) and ``meta_sha256``, the SHA-256 of
``meta.json``'s own content (:func:`meta_digest`): an edit of the numbers in it (the
state, the metric) is caught like an edit of a model file. Nothing is pickled.

:func:`load_predictor` dispatches on ``kind`` through the registry
(``hwnas.predictors.registry``), so this module names no predictor class. It refuses,
with an :class:`~hwnas.predictors.errors.ArtifactError` that says what to do, a
directory that is incomplete (no ``meta.json``, a missing model file), was not written
by hwnas or holds a kind nothing registers, and unless ``force=True`` also one that does
not match: another major format version, a model file whose hash changed, a
``meta.json`` edited since it was written (directories written before ``meta_sha256``
existed are not checked for this), another space, device or fingerprint than asked
for, or what the kind checks itself (feature names that differ from what the space
gives now). Forced loads record what they overrode in ``load_warnings_``. A LightGBM
text model is checked to be complete before LightGBM parses it, even with ``force``
(:func:`lightgbm_model_text`: LightGBM's parser crashes the process on a truncated
file). Directories that a kind wrote in an older format of its own (kernel predictors
before this format) are read by that kind (``legacy_formats``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from hwnas.predictors.base import Predictor
from hwnas.predictors.errors import ArtifactError, UnknownKindError
from hwnas.predictors.metrics import json_ready
from hwnas.predictors.registry import class_for_legacy_format, predictor_class
from hwnas.spaces import SearchSpace, resolve_space

FORMAT = "hwnas-predictor"
#: ``major.minor``: a new major version cannot be read by older code (nor the reverse).
FORMAT_VERSION = "1.0"
META = "meta.json"
#: Fields every ``meta.json`` of this format has.
REQUIRED = ("format_version", "kind", "space", "metric", "feature_names", "files", "state")
#: The field of ``meta.json`` that holds the SHA-256 of the rest of it.
SEAL = "meta_sha256"
_FORCE_HINT = " (or pass force=True / --force to load it anyway)"


def _major(version: object) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def meta_digest(meta: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``meta`` without its :data:`SEAL` field, as canonical JSON
    (sorted keys, no spaces): what ``meta.json`` stores under ``meta_sha256``."""
    content = {k: v for k, v in meta.items() if k != SEAL}
    # NaN is allowed here only so that a meta.json edited to hold one mismatches.
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Lines a complete LightGBM text model has, in this order (``Booster.save_model``).
_LIGHTGBM_ENDS = ("end of trees", "end of parameters")


def lightgbm_model_text(path: Path, *, fix: str) -> str:
    """The text of the LightGBM model file ``path``, checked to be complete; an
    ``ArtifactError`` naming the file and ending with ``fix`` otherwise.

    LightGBM's own parser reads past the end of a truncated model and crashes the whole
    process (abort or segmentation fault), so a file cut short is refused here first: it
    must have every tree its header announces (``tree_sizes``) and the closing lines
    ``save_model`` writes.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read the model file {path} ({exc}); {fix}") from None
    lines = text.splitlines()
    where = [lines.index(end) if end in lines else -1 for end in _LIGHTGBM_ENDS]
    sizes = next(
        (ln.split("=", 1)[1].split() for ln in lines if ln.startswith("tree_sizes=")), None
    )
    trees = sum(1 for ln in lines if ln.startswith("Tree="))
    if min(where) < 0 or where != sorted(where) or (sizes is not None and trees != len(sizes)):
        announced = "" if sizes is None else f" of the {len(sizes)} its header announces"
        raise ArtifactError(
            f"{path} is not a readable LightGBM text model (cut short or damaged: it holds "
            f"{trees} tree(s){announced}, and its closing lines "
            f"{'are there' if min(where) >= 0 else 'are missing'}); {fix}"
        )
    return text


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("hwnas", "lightgbm", "numpy", "scipy", "onnx"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found


def _check_target(directory: Path, *, overwrite: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(
            f"cannot write the predictor to {directory}: it is a file; pass a directory"
        )
    busy = directory.is_dir() and any(directory.iterdir())
    if busy and not overwrite and not (directory / META).exists():
        raise ArtifactError(
            f"{directory} exists and is not a predictor directory (it has no {META}); pass "
            f"a new or empty directory"
        )


def _meta(predictor: Predictor, directory: Path, names: list[str]) -> dict[str, Any]:
    origin, space = predictor.origin_, predictor.space
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": predictor.kind,
        "space": None if space is None else space.name,
        "space_identity": None if space is None else space.identity(),
        "metric": predictor.metric,
        "device": origin.device,
        "fingerprint": origin.fingerprint,
        "precision": origin.precision,
        "origin": origin.to_dict(),
        "feature_names": list(predictor.feature_names_),
        "training_set": {
            "hash": predictor.training_hash_,
            "n": predictor.n_train_,
            "source": origin.source,
        },
        "validation": json_ready(predictor.validation_),
        "versions": _versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": {name: _sha256(directory / name) for name in names},
        "state": predictor._state(),
    }


def save_predictor(
    predictor: Predictor, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a fitted ``predictor`` of any kind to the directory ``path`` (created if
    needed) and return it; ``meta.json`` is written last, atomically.

    An existing predictor directory is overwritten; any other non-empty directory is
    refused (so that a typo in ``-o`` cannot mix a model into unrelated files) unless
    ``overwrite``. Raises ``NotFittedError`` or ``ArtifactError``.
    """
    predictor.check_is_fitted()
    directory = Path(path)
    _check_target(directory, overwrite=overwrite)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / META).unlink(missing_ok=True)  # no stale meta beside new files
        names = predictor._write_files(directory)
        meta = _meta(predictor, directory, names)
        meta[SEAL] = meta_digest(meta)
        text = json.dumps(meta, indent=2, allow_nan=False) + "\n"
        partial = directory / f".{META}.partial"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, directory / META)
    except OSError as exc:
        raise ArtifactError(
            f"cannot write the predictor to {directory} ({exc.strerror or exc}); pass "
            f"another -o in a writable place"
        ) from None
    return directory


def _read_json(directory: Path) -> Any:
    """The parsed ``meta.json`` of ``directory``, whatever its format."""
    if not directory.exists():
        raise ArtifactError(
            f"there is no predictor at {directory} (it does not exist); train one with "
            f"`hwnas predictor train ... -o {directory}`"
        )
    if not directory.is_dir():
        raise ArtifactError(f"{directory} is a file; a predictor is a directory with {META}")
    meta_path = directory / META
    if not meta_path.exists():
        raise ArtifactError(
            f"{directory} has no {META}, so it is not a complete predictor (was training "
            f"interrupted?); train it again with `hwnas predictor train ... -o {directory}`"
        )
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"{meta_path} is not valid JSON ({exc}); retrain the predictor"
        ) from None


def _check_ours(meta: Any, meta_path: Path) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(
            f"{meta_path} was not written by hwnas (its format is not {FORMAT!r}); point to "
            f"a directory made by `hwnas predictor train`"
        )
    for key in REQUIRED:
        if key not in meta:
            raise ArtifactError(f"{meta_path} lacks the field {key!r}; retrain the predictor")
    if not isinstance(meta["files"], Mapping):
        raise ArtifactError(f"{meta_path} has a malformed 'files' field; retrain the predictor")
    return meta


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``meta.json`` of a predictor directory, checked to be one of ours (not forceable)."""
    directory = Path(path)
    return _check_ours(_read_json(directory), directory / META)


class _Checks:
    """Collects what does not match: raised at once, or kept as warnings under ``force``."""

    def __init__(self, force: bool) -> None:
        self.force = force
        self.overridden: list[str] = []

    def refuse(self, message: str, *, forceable: bool = True) -> None:
        if self.force and forceable:
            self.overridden.append(message)
            return
        raise ArtifactError(message + (_FORCE_HINT if forceable else ""))


def _check_version(meta: Mapping[str, Any], directory: Path, checks: _Checks) -> None:
    version, ours = meta["format_version"], _major(FORMAT_VERSION)
    if _major(version) != ours:
        checks.refuse(
            f"{directory} has predictor format {version!r}, but this hwnas reads major "
            f"version {ours} of the format and cannot read format version {version}; retrain "
            f"it with this hwnas"
        )


def _check_files(meta: Mapping[str, Any], directory: Path, checks: _Checks) -> None:
    for name, digest in meta["files"].items():
        file = directory / name
        if not file.is_file():
            checks.refuse(
                f"{directory} lacks its model file {name}; copy the whole directory or "
                f"retrain the predictor",
                forceable=False,
            )
        elif _sha256(file) != digest:
            checks.refuse(
                f"{file} changed since it was written: it does not match the hash in {META} "
                f"(edited or corrupted). Retrain the predictor"
            )


def _check_seal(meta: Mapping[str, Any], directory: Path, checks: _Checks) -> None:
    """Refuse a ``meta.json`` whose content is not what was written (unless forced);
    one written before the seal existed has none and is not checked."""
    sealed = meta.get(SEAL)
    if sealed is not None and sealed != meta_digest(meta):
        checks.refuse(
            f"{directory / META} changed since it was written: its content does not match "
            f"its {SEAL} (edited or corrupted), so its numbers cannot be trusted. Retrain "
            f"the predictor"
        )


def _check_space(
    cls: type[Predictor],
    meta: Mapping[str, Any],
    space: SearchSpace | str | None,
    directory: Path,
    checks: _Checks,
) -> SearchSpace | None:
    """The space to restore with: the one asked for (refused if the predictor learnt
    another), else the one saved (None for a predictor of any model saved without one)."""
    saved = meta["space"]
    if space is None:
        return None if saved is None else resolve_space(str(saved))
    wanted = resolve_space(space)
    if cls.space_bound and wanted.name != saved:
        checks.refuse(
            f"{directory} predicts architectures of space {saved!r}, not "
            f"{wanted.name!r}; use a predictor trained on {wanted.name!r}"
        )
    return wanted


def _check_origin(
    meta: Mapping[str, Any],
    directory: Path,
    device: str | None,
    fingerprint: str | None,
    checks: _Checks,
) -> None:
    if device is not None and meta.get("device") != device:
        checks.refuse(
            f"{directory} was trained on device {meta.get('device')!r}, not {device!r}; use "
            f"a predictor trained on {device!r}"
        )
    if fingerprint is not None and not str(meta.get("fingerprint") or "").startswith(fingerprint):
        checks.refuse(
            f"{directory} was trained on measurements with fingerprint "
            f"{meta.get('fingerprint')!r}, not {fingerprint!r}: the device, runtime or "
            f"threads differ. Retrain it on measurements with this fingerprint"
        )


def _kind_class(meta: Mapping[str, Any], directory: Path) -> type[Predictor]:
    try:
        return predictor_class(str(meta["kind"]))
    except UnknownKindError as exc:
        raise ArtifactError(
            f"{directory} holds a predictor of kind {meta['kind']!r}, which this hwnas cannot "
            f"load: {exc.message}"
        ) from None


def _load_legacy(
    directory: Path, meta: Any, *, space: SearchSpace | str | None, **checks: Any
) -> Predictor | None:
    """A predictor from a directory in a kind's older format of its own, or None."""
    fmt = meta.get("format") if isinstance(meta, dict) else None
    cls = class_for_legacy_format(fmt) if isinstance(fmt, str) and fmt != FORMAT else None
    if cls is None:
        return None
    wanted = None if space is None else resolve_space(space)
    predictor = cls._load_legacy(directory, meta, space=wanted, **checks)
    if not hasattr(predictor, "load_warnings_"):
        predictor.load_warnings_ = []
    return predictor


def load_predictor(
    path: str | os.PathLike[str],
    *,
    space: SearchSpace | str | None = None,
    device: str | None = None,
    fingerprint: str | None = None,
    force: bool = False,
) -> Predictor:
    """The predictor saved in the directory ``path``, of whichever registered kind,
    checked against what the caller expects.

    ``space`` (default: the one in ``meta.json``), ``device`` and ``fingerprint`` (a
    hash or its start) are what the caller will use it for; ``None`` skips that check.
    A kernel predictor predicts any model: ``space`` lets it take that space's
    architecture strings. Raises ``ArtifactError`` (see the module docstring).
    """
    directory = Path(path)
    raw = _read_json(directory)
    legacy = _load_legacy(
        directory, raw, space=space, device=device, fingerprint=fingerprint, force=force
    )
    if legacy is not None:
        return legacy
    meta = _check_ours(raw, directory / META)
    checks = _Checks(force)
    _check_version(meta, directory, checks)
    cls = _kind_class(meta, directory)
    _check_files(meta, directory, checks)
    wanted = _check_space(cls, meta, space, directory, checks)
    for message, forceable in cls._artifact_problems(meta, wanted, directory):
        checks.refuse(message, forceable=forceable)
    _check_origin(meta, directory, device, fingerprint, checks)
    _check_seal(meta, directory, checks)
    try:
        predictor = cls._restore(wanted, meta, directory, force=force)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(
            f"{directory / META} is malformed ({type(exc).__name__}: {exc}); retrain the predictor"
        ) from None
    predictor.load_warnings_ = checks.overridden
    return predictor


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META",
    "SEAL",
    "lightgbm_model_text",
    "load_predictor",
    "meta_digest",
    "read_meta",
    "save_predictor",
]
