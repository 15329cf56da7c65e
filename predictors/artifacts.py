"""Predictor artifacts: a directory of open-format files, checked when loaded.

A predictor directory holds its model files (LightGBM's text format, written by
``Booster.save_model``; a transfer predictor adds its base predictor as a nested
directory ``base/``) and ``meta.json``, written last: the format and its version, the
kind of predictor, space, metric, device and fingerprint, feature names, the hash and
size of the training set, metrics on the validation split, library versions, the
SHA-256 of every model file and the numbers the predictor needs besides its files.
Nothing is pickled.

:func:`load_predictor` refuses, with an :class:`~hwnas.predictors.errors.ArtifactError`
that says what to do, a directory that is incomplete (no ``meta.json``, a missing
model file) or was not written by hwnas, and unless ``force=True`` also one that does
not match: another major format version, a model file whose hash changed, another
space, device or fingerprint than asked for, or feature names that differ from what
the space gives now. Forced loads record what they overrode in ``load_warnings_``.
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

from hwnas.predictors.base import Predictor, resolve_space
from hwnas.predictors.errors import ArtifactError
from hwnas.predictors.features import LUT_FEATURE, feature_set
from hwnas.predictors.metrics import json_ready
from hwnas.spaces import SearchSpace

FORMAT = "hwnas-predictor"
#: ``major.minor``: a new major version cannot be read by older code (nor the reverse).
FORMAT_VERSION = "1.0"
META = "meta.json"


def _major(version: object) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("hwnas", "lightgbm", "numpy", "scipy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    return found


def _kinds() -> dict[str, type[Predictor]]:
    from hwnas.predictors.lgbm import LightGBMPredictor
    from hwnas.predictors.transfer import TransferPredictor

    return {cls.kind: cls for cls in (LightGBMPredictor, TransferPredictor)}


def save_predictor(predictor: Predictor, path: str | os.PathLike[str]) -> Path:
    """Write a fitted ``predictor`` to the directory ``path`` (created if needed).

    An existing predictor directory is overwritten; any other non-empty directory is
    refused, so that a typo in ``-o`` cannot mix a model into unrelated files.
    """
    predictor.check_is_fitted()
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(
            f"cannot write the predictor to {directory}: it is a file; pass a directory"
        )
    if directory.is_dir() and any(directory.iterdir()) and not (directory / META).exists():
        raise ArtifactError(
            f"{directory} exists and is not a predictor directory (it has no {META}); pass "
            f"a new or empty directory"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / META).unlink(missing_ok=True)  # no stale meta beside new files
        names = predictor._write_files(directory)
        origin = predictor.origin_
        meta: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": predictor.kind,
            "space": predictor.space.name,
            "space_identity": predictor.space.identity(),
            "metric": predictor.metric,
            "device": origin.device,
            "fingerprint": origin.fingerprint,
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


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``meta.json`` of a predictor directory, checked to be one of ours (not forceable)."""
    directory = Path(path)
    if not directory.exists():
        raise ArtifactError(
            f"there is no predictor at {directory}; train one with `hwnas predictor train "
            f"... -o {directory}`"
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
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(
            f"{meta_path} is not valid JSON ({exc}); retrain the predictor"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(
            f"{meta_path} was not written by hwnas (its format is not {FORMAT!r}); point to "
            f"a directory made by `hwnas predictor train`"
        )
    for key in ("format_version", "kind", "space", "metric", "feature_names", "files", "state"):
        if key not in meta:
            raise ArtifactError(f"{meta_path} lacks the field {key!r}; retrain the predictor")
    return meta


def load_predictor(
    path: str | os.PathLike[str],
    *,
    space: SearchSpace | str | None = None,
    device: str | None = None,
    fingerprint: str | None = None,
    force: bool = False,
) -> Predictor:
    """The predictor saved in ``path``, checked against what the caller expects.

    ``space`` (default: the one in ``meta.json``), ``device`` and ``fingerprint`` (a
    hash or its start) are what the caller will use it for; ``None`` skips that check.
    """
    directory = Path(path)
    meta = read_meta(directory)
    overridden: list[str] = []

    def refuse(message: str, *, forceable: bool = True) -> None:
        if force and forceable:
            overridden.append(message)
            return
        hint = " (or pass force=True / --force to load it anyway)" if forceable else ""
        raise ArtifactError(message + hint)

    major, ours = _major(meta["format_version"]), _major(FORMAT_VERSION)
    if major != ours:
        refuse(
            f"{directory} has predictor format {meta['format_version']!r}, but this hwnas "
            f"reads major version {ours}; retrain it with this hwnas"
        )
    kinds = _kinds()
    if meta["kind"] not in kinds:
        refuse(
            f"{directory} holds a predictor of unknown kind {meta['kind']!r}; known: "
            f"{', '.join(sorted(kinds))}",
            forceable=False,
        )
    files = meta["files"]
    if not isinstance(files, Mapping):
        refuse(
            f"{directory / META} has a malformed 'files' field; retrain the predictor",
            forceable=False,
        )
    for name, digest in files.items():
        file = directory / name
        if not file.is_file():
            refuse(
                f"{directory} lacks its model file {name}; copy the whole directory or "
                f"retrain the predictor",
                forceable=False,
            )
        elif _sha256(file) != digest:
            refuse(
                f"{file} changed since it was written (its SHA-256 differs from {META}); it "
                f"was edited or corrupted. Retrain the predictor"
            )
    if space is not None:
        wanted = resolve_space(space)
        if wanted.name != meta["space"]:
            refuse(
                f"{directory} predicts architectures of space {meta['space']!r}, not "
                f"{wanted.name!r}; use a predictor trained on {wanted.name!r}"
            )
    else:
        wanted = resolve_space(meta["space"])
    names = feature_set(wanted).names
    if isinstance(meta["state"], Mapping) and meta["state"].get("block_table"):
        names = [*names, LUT_FEATURE]
    if list(meta["feature_names"]) != names:
        same_width = len(meta["feature_names"]) == len(names)
        refuse(
            f"the features of space {wanted.name!r} changed since {directory} was trained "
            f"({len(meta['feature_names'])} saved, {len(names)} now"
            f"{_first_difference(meta['feature_names'], names)}); retrain the predictor",
            forceable=same_width,
        )
    if device is not None and meta.get("device") != device:
        refuse(
            f"{directory} was trained on device {meta.get('device')!r}, not {device!r}; use "
            f"a predictor trained on {device!r}"
        )
    if fingerprint is not None and not str(meta.get("fingerprint") or "").startswith(fingerprint):
        refuse(
            f"{directory} was trained on measurements with fingerprint "
            f"{meta.get('fingerprint')!r}, not {fingerprint!r}: the device, runtime or "
            f"threads differ. Retrain it on measurements with this fingerprint"
        )
    try:
        predictor = kinds[meta["kind"]]._restore(wanted, meta, directory, force=force)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            f"{directory / META} is malformed ({type(exc).__name__}: {exc}); retrain the predictor"
        ) from None
    predictor.load_warnings_ = overridden
    return predictor


def _first_difference(saved: list[str], now: list[str]) -> str:
    for i, (a, b) in enumerate(zip(saved, now, strict=False)):
        if a != b:
            return f"; column {i} was {a!r} and is {b!r}"
    return ""


__all__ = ["FORMAT", "FORMAT_VERSION", "load_predictor", "read_meta", "save_predictor"]
