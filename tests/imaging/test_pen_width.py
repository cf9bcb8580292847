"""The pen width that decides how wide a stroke's kept path through a printed label is."""

import cv2
import numpy as np

from sigverify.imaging.glued_print import pen_width


def _strokes(thickness: int) -> np.ndarray:
    mask = np.zeros((120, 300), np.uint8)
    cv2.line(mask, (10, 60), (290, 40), 1, thickness)
    cv2.ellipse(mask, (150, 60), (80, 30), 0, 0, 300, 1, thickness)
    return mask


def test_a_pen_lines_width_is_read_from_its_middle_whatever_the_masks_type():
    widths = []
    for thickness in (3, 6, 9):
        mask = _strokes(thickness)
        as_bool, as_bytes, as_255 = pen_width(mask > 0), pen_width(mask), pen_width(mask * 255)
        assert as_bool == as_bytes == as_255
        # the distance counts the middle pixel itself: a w-pixel line reads about w + 1 to w + 3
        assert thickness <= as_bool <= thickness + 3, (thickness, as_bool)
        widths.append(as_bool)
    assert widths == sorted(widths)


def test_a_blank_mask_gets_a_pens_default_not_an_error():
    assert pen_width(np.zeros((20, 20), bool)) == 3.0
