"""Where things live: the shipped model (in the source tree or the PyInstaller bundle) and user data."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def install_root() -> Path:
    """The folder holding models/ and assets/: the bundle when frozen, else the source tree."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


def shipped_model_dir() -> Path:
    return install_root() / "models" / "default"


def assets_dir() -> Path:
    return install_root() / "assets"


def user_data_dir() -> Path:
    """Per-user writable folder (XDG on Linux, AppData on Windows, Application Support on macOS)."""
    if override := os.environ.get("SIGVERIFY_HOME"):
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "SigVerify"

