"""The one preprocessing pipeline, on images the tests draw themselves."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.errors import NoSignatureError
from sigverify.imaging.preprocess import (PreprocessParams, clean_ink, ink_mask, normalise, paper_darkness, preprocess,
                                          preprocess_with_box, remove_printed_lines)
from sigverify.synthetic import place_on_page

PARAMS = PreprocessParams()


def _ink_centre(canvas: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(canvas > 0.1)
    return np.array([(ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2])


def test_output_shape_range_and_ink_high(signature):
    canvas = preprocess(signature, PARAMS)
    assert canvas.shape == (PARAMS.canvas_height, PARAMS.canvas_width)
    assert canvas.dtype == np.float32
    assert 0.0 <= canvas.min() and canvas.max() <= 1.0
    # ink is high, paper is zero: far more zeros than ink on a signature
    assert (canvas == 0).mean() > 0.6
    assert canvas.max() == pytest.approx(1.0)


def test_signature_anywhere_on_a_noisy_page_comes_out_centred_and_the_same(signature, rng):
    reference = preprocess(signature, PARAMS)
    page_h, page_w = 500, 1100
    for position in [(0 + 15, 20), (page_w - signature.shape[1] - 15, page_h - signature.shape[0] - 20),
                     (400, 150)]:
        page, box = place_on_page(signature, rng, page_size=(page_h, page_w), position=position, noise=5.0)
        result = preprocess_with_box(page, PARAMS)
        centre = _ink_centre(result.canvas)
        expected = np.array([(PARAMS.canvas_height - 1) / 2, (PARAMS.canvas_width - 1) / 2])
        assert np.abs(centre - expected).max() <= 2.0, f"not centred at {position}: {centre}"
        # the crop box found on the page is the signature's box (within a few pixels)
        assert abs(result.box[0] - box[0]) <= 12 and abs(result.box[1] - box[1]) <= 12
        # the same image within tolerance: printed lines and noise gone
        assert np.abs(result.canvas - reference).mean() < 0.03
        overlap = ((result.canvas > 0.3) & (reference > 0.3)).sum() / max((reference > 0.3).sum(), 1)
        assert overlap > 0.8


def test_printed_lines_are_removed():
    mask = np.zeros((100, 300), bool)
    mask[50, 5:295] = True  # a form line across the page
    mask[20:40, 100:103] = True  # a short vertical stroke
    cleaned = remove_printed_lines(mask, 0.6)
    assert not cleaned[50, 150] and cleaned[30, 101]


def test_specks_and_border_noise_are_ignored():
    mask = np.zeros((200, 400), bool)
    mask[80:120, 150:250] = True  # the signature
    mask[10, 10] = True  # a speck
    mask[0:3, 0:400] = True  # scanner edge along the top border
    kept = clean_ink(mask, PARAMS)
    assert kept[100, 200] and not kept[10, 10] and not kept[1, 200]


def test_blank_page_is_refused(rng):
    page = np.clip(rng.normal(240, 4, (400, 600)), 0, 255).astype(np.uint8)
    with pytest.raises(NoSignatureError, match="no ink found: the image looks blank"):
        preprocess(page, PARAMS)


def test_pure_white_page_is_refused():
    with pytest.raises(NoSignatureError, match="looks blank"):
        preprocess(np.full((300, 300), 255, np.uint8), PARAMS)


def test_single_speck_is_refused(rng):
    page = np.full((400, 600), 245, np.uint8)
    page[200:204, 300:304] = 10
    with pytest.raises(NoSignatureError, match="only a speck of ink"):
        preprocess(page, PARAMS)


def test_colour_and_grayscale_give_the_same_canvas(signature):
    rgb = np.stack([signature] * 3, axis=2)
    np.testing.assert_allclose(preprocess(rgb, PARAMS), preprocess(signature, PARAMS), atol=1e-6)


def test_params_round_trip_through_a_dict():
    params = PreprocessParams(canvas_height=64, canvas_width=128)
    assert PreprocessParams.from_dict(params.to_dict()) == params


def test_a_model_made_for_other_preprocessing_is_refused():
    """A manifest naming settings this version does not know (a newer one, or the median filter of the
    first models) must not be served with this preprocessing."""
    with pytest.raises(ValueError, match="median_ksize"):
        PreprocessParams.from_dict({**PreprocessParams().to_dict(), "median_ksize": 3})


def test_other_canvas_sizes_are_honoured(signature):
    canvas = preprocess(signature, PreprocessParams(canvas_height=64, canvas_width=160))
    assert canvas.shape == (64, 160)


def test_ink_mask_marks_dark_pixels():
    gray = np.full((50, 50), 240, np.uint8)
    gray[10:20, 10:40] = 30
    mask = ink_mask(paper_darkness(gray, PARAMS), PARAMS)
    assert mask[15, 20] and not mask[40, 40]


def test_normalise_brings_faint_ink_up():
    canvas = np.zeros((10, 10), np.float32)
    canvas[2:8, 2:8] = 0.4
    assert normalise(canvas).max() == pytest.approx(1.0)


def test_line_removal_equals_the_morphological_opening_it_replaces():
    """The models were trained with an OpenCV opening; the fast run-length version must match it."""
    import cv2

    def by_opening(mask, fraction):
        length = int(mask.shape[1] * fraction)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
        lines = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        lines = cv2.dilate(lines, np.ones((3, 1), np.uint8))
        return mask & ~lines.astype(bool)

    rng = np.random.default_rng(3)
    for _ in range(500):
        h, w = int(rng.integers(20, 60)), int(rng.integers(40, 260))
        mask = rng.random((h, w)) < rng.uniform(0.3, 0.99)
        for row in rng.integers(0, h, 3):
            mask[row, rng.integers(0, w // 3) : rng.integers(w // 2, w + 1)] = True
        np.testing.assert_array_equal(remove_printed_lines(mask, 0.6), by_opening(mask, 0.6))
