"""Where hwnas keeps things, and how that is overridden.

Defaults need no configuration: the store is ``./hwnas.db`` unless ``--store`` or
``HWNAS_STORE`` says otherwise; the device registry lives under ``~/.config/hwnas``
unless ``HWNAS_HOME`` names another directory; exported models are cached under the
user's cache directory (``$XDG_CACHE_HOME/hwnas``, else ``~/.cache/hwnas``), or under
``$HWNAS_HOME/cache`` when ``HWNAS_HOME`` is set (one directory holds everything).
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_ENV = "HWNAS_STORE"
HOME_ENV = "HWNAS_HOME"
DEFAULT_STORE = "hwnas.db"


def store_location(cli_value: str | None = None) -> str:
    """The store to use: the CLI value, else ``$HWNAS_STORE``, else ``./hwnas.db``."""
    if cli_value:
        return cli_value
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def home_dir() -> Path:
    """hwnas's own directory (registry, caches): ``$HWNAS_HOME`` or ``~/.config/hwnas``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "hwnas"


def registry_path() -> Path:
    return home_dir() / "devices.toml"


def cache_dir() -> Path:
    """Where exported ONNX files are cached by content hash: ``$HWNAS_HOME/cache`` if
    ``HWNAS_HOME`` is set, else ``$XDG_CACHE_HOME/hwnas``, else ``~/.cache/hwnas``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser() / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "hwnas"
