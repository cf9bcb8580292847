"""Stamps in the pen's tone are found where a pad inked them unevenly and lightly (imaging/stamps.py);
a signature's own loops and a field line are not stamps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.imaging.stamps import stamp_boxes
from sigverify.synthetic import SyntheticWriter


def _paper_with_signature(seed: int) -> np.ndarray:
    """A 300-dpi cheque's lower half: a field line and a signature on it, black pen."""
    page = np.full((1000, 2100), 250, np.uint8)
    cv2.line(page, (1200, 800), (1990, 800), 40, 2)
    signature = SyntheticWriter(seed).genuine(np.random.default_rng(seed))
    signature = cv2.resize(signature, (signature.shape[1] * 3, signature.shape[0] * 3))
    h, w = signature.shape
    region = page[800 - int(0.8 * h):800 - int(0.8 * h) + h, 1250:1250 + w]
    np.minimum(region, signature[: region.shape[0], : region.shape[1]], out=region)
    return page


def _mottled(mask: np.ndarray, seed: int, darkest: int) -> np.ndarray:
    """Stamp ink as a pad leaves it: from ``darkest`` to barely darker than the paper, in blotches."""
    rng = np.random.default_rng(seed)
    mottle = cv2.GaussianBlur(rng.random(mask.shape).astype(np.float32), (0, 0), 3)
    mottle = (mottle - mottle.min()) / np.ptp(mottle)
    level = darkest + (215 - darkest) * (1.0 - mottle) * 0.9
    return np.where(mask > 0, level, 255).astype(np.uint8)


def _stamped(page: np.ndarray, shape: str, seed: int, darkest: int = 150) -> tuple[np.ndarray, tuple]:
    size = 330
    mask = np.zeros((size, size), np.uint8)
    if shape == "ring":
        cv2.circle(mask, (size // 2, size // 2), int(0.46 * size), 255, 4, cv2.LINE_AA)
        cv2.putText(mask, "PAID", (90, 180), cv2.FONT_HERSHEY_DUPLEX, 1.6, 255, 3)
    else:
        cv2.rectangle(mask, (14, 92), (316, 238), 255, 4)
        cv2.putText(mask, "CLEARED", (50, 180), cv2.FONT_HERSHEY_DUPLEX, 1.5, 255, 4)
        turn = cv2.getRotationMatrix2D((size / 2, size / 2), 18, 1.0)
        mask = cv2.warpAffine(mask, turn, (size, size))
    ink = _mottled(mask, seed, darkest)
    x, y = 1450, 560
    stamped = page.copy()
    np.minimum(stamped[y:y + size, x:x + size], ink, out=stamped[y:y + size, x:x + size])
    return stamped, (x, y, size, size)


def _hits(boxes, where) -> bool:
    x, y, w, h = where
    return any(bx < x + w and x < bx + bw and by < y + h and y < by + bh for bx, by, bw, bh in boxes)


@pytest.mark.parametrize("shape", ["ring", "frame"])
def test_a_light_unevenly_inked_stamp_over_a_signature_is_found(shape):
    """Issue 29: a grey stamp over a black signature was found on one document in three (its ring's
    centre guessed off the mottled ink, its frame's sides broken into pieces by the pad's holes)."""
    found = 0
    for seed in range(4):
        stamped, where = _stamped(_paper_with_signature(40 + seed), shape, seed)
        found += _hits(stamp_boxes(stamped), where)
    assert found >= 3, f"{shape}: found on {found} of 4 pages"


def test_a_signature_and_its_field_line_are_no_stamp():
    for seed in range(6):
        assert stamp_boxes(_paper_with_signature(40 + seed)) == []
