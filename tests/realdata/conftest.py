"""Real datasets from ../shared/data: skipped on a machine without them, a failure under CI."""

from __future__ import annotations

import os

import pytest

from sigverify.training.known_datasets import KNOWN_DATASETS, shared_data_folder


def present_datasets() -> list[str]:
    return [name for name in KNOWN_DATASETS if (shared_data_folder() / name).is_dir()]


def require_shared_data() -> None:
    if present_datasets():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI has ../shared beside the clone, but no dataset was found in {shared_data_folder()}")
    pytest.skip(f"no real datasets at {shared_data_folder()}")
