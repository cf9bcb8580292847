"""Shared fixtures: images the tests draw themselves, and a tiny ONNX model built without torch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SIGCOMP = SHARED / "data" / "sigcomp2011"


@pytest.fixture(autouse=True)
def _own_home(tmp_path_factory, monkeypatch):
    """Every test gets its own SigVerify folder (registry, audit anchors and key), never the real one."""
    if "SIGVERIFY_HOME" not in os.environ:
        monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def signature(rng) -> np.ndarray:
    """A synthetic genuine signature on white paper (uint8 grayscale)."""
    from sigverify.synthetic import SyntheticWriter

    return SyntheticWriter(seed=7).genuine(rng)


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """A real ONNX model folder (random projection + L2 norm) with a valid manifest."""
    from tests.helpers import make_tiny_model

    return make_tiny_model(tmp_path / "model")
