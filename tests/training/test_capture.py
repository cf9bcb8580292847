"""Capture variants (training/capture.py): each one is the same signature as a document would bring
it, never another shape, and they are computed once."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.imaging.preprocess import PreprocessParams, preprocess
from sigverify.synthetic import SyntheticWriter
from sigverify.training.capture import KINDS, capture_canvases, capture_variant, captured_canvases

PARAMS = PreprocessParams(canvas_height=64, canvas_width=128)


@pytest.fixture
def scan():
    """A synthetic signature scanned large (ink far taller than on a cheque)."""
    image = SyntheticWriter(5).genuine(np.random.default_rng(1))
    return cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("kind", KINDS)
def test_each_variant_keeps_the_signature(scan, kind):
    clean = preprocess(scan, PARAMS)
    variant = preprocess(capture_variant(scan, kind, np.random.default_rng(3)), PARAMS)
    blur = lambda c: cv2.GaussianBlur(c, (0, 0), 3)  # noqa: E731 - compare shapes, not pixels
    similarity = np.corrcoef(blur(clean).ravel(), blur(variant).ravel())[0, 1]
    assert similarity > 0.6, f"{kind}: {similarity:.2f}"
    assert not np.array_equal(clean, variant)


def test_the_clearing_variant_is_black_and_white_before_it_is_softened(scan):
    raw = capture_variant(scan, "bitonal", np.random.default_rng(0))
    assert raw.shape[0] < scan.shape[0]  # brought to a cheque's scale first
    # softened_bitonal leaves at most a pixel-wide grey rim around black strokes
    assert (raw < 64).sum() > 0 and ((raw > 64) & (raw < 192)).sum() < (raw <= 64).sum() * 2


def test_variants_are_seeded_and_cached(scan, tmp_path):
    path = tmp_path / "s.png"
    cv2.imwrite(str(path), scan)
    a = captured_canvases([path], PARAMS, 2, seed=0, cache_dir=tmp_path / "cache", workers=1)
    assert a.shape == (1, 2, 64, 128) and a.dtype == np.float16
    assert len(list((tmp_path / "cache").glob("captured-*.npy"))) == 1
    b = captured_canvases([path], PARAMS, 2, seed=0, cache_dir=tmp_path / "cache", workers=1)
    assert np.array_equal(a, b)
    again = capture_canvases(scan, PARAMS, 2, np.random.default_rng(0))
    assert again.shape == (2, 64, 128)
