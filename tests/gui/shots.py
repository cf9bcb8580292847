"""Screenshots for review: saved when SIGVERIFY_SCREENSHOT_DIR is set, skipped otherwise."""

from __future__ import annotations

import os
from pathlib import Path


def save_screenshot(widget, name: str) -> None:
    folder = os.environ.get("SIGVERIFY_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))
