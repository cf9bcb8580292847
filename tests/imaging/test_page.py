"""Finding the signature on a page with printed lines and print-like text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.errors import NoSignatureError
from sigverify.imaging.page import crop, find_signature_box
from sigverify.synthetic import SyntheticWriter, place_on_page
from sigverify.synthetic_cheque import iou


def _cheque(rng, writer_seed):
    page, box = place_on_page(SyntheticWriter(writer_seed).genuine(rng), rng, page_size=(600, 1400),
                              position=(int(rng.integers(700, 1000)), int(rng.integers(330, 420))))
    # printed text: small regular glyph-like marks in lines, and a box around the amount
    for line in range(4):
        y = 60 + 45 * line
        for k in range(30):
            x = 60 + 18 * k
            cv2.putText(page, "A", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 40, 1, cv2.LINE_AA)
    cv2.rectangle(page, (900, 60), (1300, 120), 60, 2)
    return page, box


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_signature_is_found_among_print_and_lines(seed):
    rng = np.random.default_rng(seed)
    page, truth = _cheque(rng, 40 + seed)
    found = find_signature_box(page)
    assert iou(found, truth) > 0.6, (found, truth)


def test_blank_page_has_no_signature(rng):
    page = np.clip(rng.normal(242, 3, (500, 800)), 0, 255).astype(np.uint8)
    with pytest.raises(NoSignatureError):
        find_signature_box(page)


def test_crop_clips_to_the_image():
    image = np.zeros((50, 80), np.uint8)
    assert crop(image, (70, 40, 30, 30)).shape == (10, 10)
    with pytest.raises(NoSignatureError, match="empty"):
        crop(image, (100, 100, 5, 5))


@pytest.mark.parametrize("seed", range(6))
def test_two_signatures_side_by_side_are_both_found(seed):
    from sigverify.imaging.page import find_signature_boxes

    rng = np.random.default_rng(seed)
    page = np.full((420, 1500), 246, np.uint8)
    truths = []
    for x, writer in ((80, 401), (820, 402)):
        sig = SyntheticWriter(writer).genuine(rng)
        page[160 : 160 + sig.shape[0], x : x + sig.shape[1]] = sig
        truths.append((x, 160, sig.shape[1], sig.shape[0]))
    boxes = find_signature_boxes(page)
    assert len(boxes) == 2
    for truth in truths:
        assert max(iou(box, truth) for box in boxes) > 0.6
