"""Ink extraction keeps every real stroke: generated cases of each hard kind, and blank pages refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.errors import NoSignatureError
from sigverify.imaging.preprocess import PreprocessParams, ink_mask, paper_darkness, preprocess

PARAMS = PreprocessParams(canvas_height=128, canvas_width=256)


def _strokes(height: int, width: int, thickness: int, seed: int = 5) -> np.ndarray:
    """A boolean mask of a few random polyline strokes (a scribbled signature)."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((height, width), np.uint8)
    for _ in range(4):
        points = np.stack([np.sort(rng.uniform(0.1, 0.9, 6)) * width, rng.uniform(0.25, 0.75, 6) * height], axis=1)
        cv2.polylines(canvas, [points.astype(np.int32)], False, 255, thickness, lineType=cv2.LINE_8)
    return canvas > 0


def _on_paper(strokes: np.ndarray, paper: float | np.ndarray, ink: float, noise: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.broadcast_to(np.asarray(paper, np.float32), strokes.shape).copy()
    page[strokes] = ink
    page += rng.normal(0, noise, strokes.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def _kept(image: np.ndarray, strokes: np.ndarray) -> float:
    """Share of the drawn stroke pixels that the ink mask keeps."""
    mask = ink_mask(paper_darkness(image, PARAMS), PARAMS)
    return float((mask & strokes).sum() / strokes.sum())


@pytest.mark.parametrize("name, paper, ink, noise, thickness", [
    ("1-px light pencil on white", 250.0, 175.0, 3.0, 1),
    ("ballpoint on grey paper", 150.0, 70.0, 4.0, 2),
    ("dark pen on dark paper", 90.0, 35.0, 3.0, 2),
    ("one flat ink grey level", 200.0, 200.0 - 60.0, 0.0, 2),
])
def test_every_drawn_stroke_is_kept(name, paper, ink, noise, thickness):
    strokes = _strokes(300, 600, thickness)
    image = _on_paper(strokes, paper, ink, noise)
    assert _kept(image, strokes) > 0.95, name
    canvas = preprocess(image, PARAMS)
    assert canvas.max() == pytest.approx(1.0) and (canvas > 0).mean() < 0.3


def test_uneven_light_of_a_phone_photo_is_evened_out():
    strokes = _strokes(300, 600, 2)
    light = np.linspace(230, 90, 600, dtype=np.float32)[None, :] * np.ones((300, 1), np.float32)  # a shadow across
    image = _on_paper(strokes, light, 0.0, 3.0)
    image[strokes] = (light[strokes] * 0.45).astype(np.uint8)  # ink as dark as its paper allows
    assert _kept(image, strokes) > 0.95
    mask = ink_mask(paper_darkness(image, PARAMS), PARAMS)
    assert (mask & ~cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3))).astype(bool)).sum() < 0.01 * mask.size


def test_a_tiny_low_resolution_crop_is_read():
    strokes = _strokes(36, 70, 1, seed=9)
    image = _on_paper(strokes, 170.0, 80.0, 4.0)
    assert _kept(image, strokes) > 0.9
    assert preprocess(image, PARAMS).shape == (128, 256)


def test_thin_strokes_are_not_erased_by_any_filter():
    """A 1-px stroke must survive preprocessing whole (a 3x3 median filter erases it)."""
    strokes = _strokes(200, 400, 1, seed=3)
    image = _on_paper(strokes, 255.0, 120.0, 0.0)
    assert _kept(image, strokes) == 1.0


@pytest.mark.parametrize("page", [
    np.full((300, 400), 255, np.uint8),
    np.full((300, 400), 120, np.uint8),
    np.clip(np.random.default_rng(2).normal(235, 5, (300, 400)), 0, 255).astype(np.uint8),
    np.clip(np.random.default_rng(3).normal(110, 6, (300, 400)), 0, 255).astype(np.uint8),
    np.clip(np.linspace(250, 120, 400)[None, :] + np.random.default_rng(4).normal(0, 3, (300, 400)), 0, 255
            ).astype(np.uint8),
], ids=["white", "grey", "noisy-white", "noisy-dark", "shadow-gradient"])
def test_pages_with_no_writing_are_refused(page):
    with pytest.raises(NoSignatureError):
        preprocess(page, PARAMS)
