"""Generated cheques (synthetic_cheque.py): the page finder leaves the print alone.

The full measurement (200 cheques with real signatures of test writers) is bench/cheques.py;
here, generated writers only, so it runs without ../shared."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.errors import SigVerifyError
from sigverify.imaging.page import find_signature_box, printed_components
from sigverify.imaging.preprocess import connected_components
from sigverify.synthetic import SyntheticWriter
from sigverify.synthetic_cheque import iou, make_cheque


def _box_on(seed: int, layout: int):
    rng = np.random.default_rng(seed)
    page, truth = make_cheque(SyntheticWriter(500 + seed).genuine(rng), rng, layout=layout)
    try:
        return page, truth, find_signature_box(page)
    except SigVerifyError:
        return page, truth, None


@pytest.mark.parametrize("layout", [0, 1, 2, 3])
def test_the_printed_bank_name_and_amount_are_never_proposed(layout):
    """The reported failure: the finder boxed the bank's printed name and the app verified print."""
    for seed in range(5):
        page, truth, box = _box_on(seed + 10 * layout, layout)
        assert box is not None
        x, y, w, h = box
        assert y > 0.25 * page.shape[0], f"a box in the printed header: {box}"
        amount_box = (page.shape[1] - 460, 250, 360, 110)
        assert iou(box, amount_box) < 0.3, f"the printed amount was proposed: {box}"


def test_a_row_of_printed_characters_is_print_and_a_signature_is_not():
    import cv2

    page = np.full((825, 1800), 255, np.uint8)
    cv2.putText(page, "Pay to the order of", (60, 300), cv2.FONT_HERSHEY_DUPLEX, 0.9, 30, 2, cv2.LINE_AA)
    signature = SyntheticWriter(7).genuine(np.random.default_rng(7))
    scaled = cv2.resize(signature, (signature.shape[1] * 2, signature.shape[0] * 2))
    page[450:450 + scaled.shape[0], 900:900 + scaled.shape[1]] = scaled
    count, labels, stats = connected_components((page < 128).astype(np.uint8))
    printed = printed_components(stats, labels, page.shape[0])
    in_print = np.unique(labels[:320, :600])
    in_signature = np.unique(labels[450:, 900:])
    assert printed[in_print[in_print > 0]].mean() > 0.8
    assert not printed[in_signature[in_signature > 0]].any()
