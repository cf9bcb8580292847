"""Separating the pen from other inks (imaging/ink_layers.py): what unmixing leaves of an ink taken
out is no pen, and a pale pen is still pen."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.ink_layers import MARK_DARKNESS, pen_grey, without_remnants


def _marks(grey: np.ndarray) -> np.ndarray:
    return (255 - grey.astype(np.int16)) >= MARK_DARKNESS


def _scribble(shape: tuple[int, int], origin: tuple[int, int], seed: int) -> np.ndarray:
    """A pen-like polyline: a mask of where it runs."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    x, y = origin
    points = [(x + 25 * i, y + int(rng.integers(-40, 41))) for i in range(14)]
    cv2.polylines(mask, [np.array(points, np.int32)], False, 1, 3, cv2.LINE_AA)
    return mask > 0


def test_faint_remnants_are_taken_out_and_the_pens_strokes_kept_whole():
    grey = np.full((400, 900), 255, np.uint8)
    rng = np.random.default_rng(3)
    for _ in range(600):  # a pattern's rim left behind: short pale dashes everywhere
        x, y = int(rng.integers(0, 900)), int(rng.integers(0, 400))
        cv2.line(grey, (x, y), (x + int(rng.integers(2, 8)), y + int(rng.integers(-2, 3))), 215, 1)
    pen = _scribble(grey.shape, (300, 200), seed=4)
    grey[pen] = 60
    out = without_remnants(grey)
    assert (out[pen] == 60).all(), "a stroke of the pen was touched"
    left = _marks(out) & ~cv2.dilate(pen.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert left.sum() < 0.02 * (_marks(grey) & ~pen).sum(), left.sum()


def test_a_pale_pen_alone_on_the_page_is_kept():
    """Faint is relative to the page's own pen and print: a pencil's strokes are all there is."""
    grey = np.full((400, 900), 255, np.uint8)
    pen = _scribble(grey.shape, (250, 200), seed=5)
    grey[pen] = 205
    assert (without_remnants(grey) == grey).all()


def test_a_light_ballpoint_beside_black_print_is_kept():
    """A grey-blue ballpoint is far lighter than black print, and still far darker than a remnant."""
    grey = np.full((400, 900), 255, np.uint8)
    cv2.putText(grey, "PAY TO THE ORDER OF 1234", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 20, 4)
    pen = _scribble(grey.shape, (250, 250), seed=6)
    grey[pen] = 150  # a hundred grey levels below the paper, the print two hundred and more
    out = without_remnants(grey)
    assert (out[pen] == 150).all()


def _photographed_security_paper(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A colour photo (soft, JPEG) of paper with a fine pink guilloche, black print and a blue pen."""
    rng = np.random.default_rng(seed)
    h, w = 500, 1200
    page = np.empty((h, w, 3), np.uint8)
    page[:] = (236, 229, 226)
    xs = np.arange(w)
    for k in range(18):  # interlaced sine waves, as a pantograph draws them
        ys = (250 + 180 * np.sin(xs / (70 + 3 * k) + k)).astype(np.int32)
        cv2.polylines(page, [np.stack([xs, ys], 1)], False, (205, 150, 165), 1, cv2.LINE_AA)
    cv2.putText(page, "PAY TO THE ORDER OF", (40, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (25, 25, 25), 2)
    pen = _scribble((h, w), (700, 300), seed=seed)
    page[pen] = (45, 55, 150)
    photo = cv2.GaussianBlur(page, (0, 0), 1.1)
    photo = np.clip(photo.astype(np.int16) + rng.normal(0, 2.5, photo.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    photo = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    pattern = np.zeros((h, w), bool)
    pattern[120:, :650] = True  # the pattern alone: no print, no pen
    return photo, pen, pattern


def test_a_photographed_guilloche_in_another_hue_leaves_no_marks_for_the_finder():
    """On photos the separated pen grey kept rows of pale dashes over the whole pattern, and the
    signature finder boxed the pattern or stretched the signature's box over it (bench/documents.py:
    phone photos boxed on 87.5%)."""
    for seed in range(3):
        photo, pen, pattern = _photographed_security_paper(seed)
        grey, inks = pen_grey(photo)
        assert inks["removed"] >= 1
        assert _marks(grey)[pattern].mean() < 0.002, (seed, _marks(grey)[pattern].mean())
        assert (grey[pen] < 200).mean() > 0.9  # the pen is still there
