"""A stamp of the pen's own hue, paler than the strokes, is lifted off them (imaging/stamp_lift.py);
a stamp as dark as the pen is left (the signature is referred, not repainted)."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.document import STAMP_PROBLEM, read_document
from sigverify.imaging.stamp_lift import lifted
from sigverify.imaging.stamps import Stamp
from sigverify.synthetic import SyntheticWriter

CENTRE, RADIUS = (1615, 725), 150


def _page(stamp_darkest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey cheque: a bank's name, a field line, a black signature, and over it a round stamp
    mottled from ``stamp_darkest`` to barely darker than the paper; with the pen's and the stamp's pixels."""
    page = np.full((1000, 2100), 250, np.uint8)
    cv2.putText(page, "NORTHSEA SAVINGS BANK", (80, 100), cv2.FONT_HERSHEY_DUPLEX, 1.5, 30, 3, cv2.LINE_AA)
    cv2.line(page, (1200, 800), (1990, 800), 40, 2)
    signature = SyntheticWriter(41).genuine(np.random.default_rng(41))
    signature = cv2.resize(signature, (signature.shape[1] * 3, signature.shape[0] * 3))
    h, w = signature.shape
    region = page[800 - int(0.8 * h):800 - int(0.8 * h) + h, 1250:1250 + w]
    np.minimum(region, signature[: region.shape[0], : region.shape[1]], out=region)
    pen = page < 128
    ring = np.zeros(page.shape, np.uint8)
    cv2.circle(ring, CENTRE, RADIUS, 255, 5, cv2.LINE_AA)
    cv2.putText(ring, "PAID", (CENTRE[0] - 75, CENTRE[1] + 20), cv2.FONT_HERSHEY_DUPLEX, 1.6, 255, 3)
    rng = np.random.default_rng(0)
    mottle = cv2.GaussianBlur(rng.random(page.shape).astype(np.float32), (0, 0), 3)
    mottle = (mottle - mottle.min()) / np.ptp(mottle)
    level = (stamp_darkest + (215 - stamp_darkest) * (1.0 - mottle) * 0.9).astype(np.uint8)
    stamp = (ring > 128) & ~cv2.dilate(pen.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    page = np.where(ring > 128, np.minimum(page, level), page)
    return page, pen, stamp


def test_a_pale_stamp_is_lifted_and_the_strokes_under_it_kept():
    page, pen, stamp = _page(stamp_darkest=150)
    found = Stamp((CENTRE[0] - RADIUS, CENTRE[1] - RADIUS, 2 * RADIUS, 2 * RADIUS), ring=(*CENTRE, float(RADIUS)))
    out = lifted(page, found, (0, 0))
    assert (out[stamp] > 235).mean() >= 0.95  # the stamp's ink is paper
    core = cv2.erode(pen.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert (out[core] == page[core]).all()  # not one pixel of a stroke's core changed


def test_a_stamp_as_dark_as_the_pen_is_left_as_it_is():
    page, _, _ = _page(stamp_darkest=30)
    found = Stamp((CENTRE[0] - RADIUS, CENTRE[1] - RADIUS, 2 * RADIUS, 2 * RADIUS), ring=(*CENTRE, float(RADIUS)))
    assert np.array_equal(lifted(page, found, (0, 0)), page)


def test_on_a_document_the_pale_stamp_is_gone_from_the_signature_and_it_is_still_referred():
    page, pen, stamp = _page(stamp_darkest=150)
    document = read_document(page)
    box = (1180, 520, 800, 380)
    found = document.signature_in(box)
    assert STAMP_PROBLEM in found.problems
    x, y, w, h = box
    side = (found.image.shape[1] - w) // 2  # the paper a document's crop is given on each side
    image = found.image[:, side:side + w]
    assert (image[stamp[y:y + h, x:x + w]] > 200).mean() >= 0.9  # 0.3% of it
