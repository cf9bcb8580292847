"""Is this image fit to be a reference specimen? Dark handwriting on light paper, nothing else.

A specimen is what every later cheque is compared with, so enrolment is stricter than
verification: besides what preprocessing already refuses (blank pages, noise that never forms
strokes), a colour picture, light writing on a dark ground, or a texture of hundreds of specks is
refused here, each with the reason in words. The limits sit far outside what the genuine
signatures of every dataset in ../shared/data show (8,554 images, measured when they were set:
strongly coloured pixels 0%, polarity at most 0.79, at most 24 ink components, ink at most 32% of
the image), so no real signature is refused; tests/realdata proves it on every image present.
"""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import PreprocessParams, kept_ink, paper_darkness, to_grayscale

#: more than this share of strongly coloured pixels: a colour photograph or picture
MAX_COLOURED_SHARE = 0.4
#: the lightest pixels lie this many times further from the paper's median than the darkest do:
#: light writing on a dark ground (a negative, chalk on a board)
MAX_POLARITY = 3.0
#: separate pieces of ink after speck removal (handwriting has a few dozen at most)
MAX_COMPONENTS = 80
#: share of the image that is ink
MAX_INK_SHARE = 0.5


def coloured_share(pixels: np.ndarray) -> float:
    """Share of pixels in a strong colour (saturation and brightness well above grey); 0 for grey images."""
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        return 0.0
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2HSV)
    return float(np.mean((hsv[..., 1] > 120) & (hsv[..., 2] > 60)))


def polarity(gray: np.ndarray) -> float:
    """How far the lightest pixels stand from the median compared with the darkest (ink on paper: < 1)."""
    low, median, high = np.percentile(gray, [0.5, 50, 99.5])
    return float((high - median) / (median - low + 1.0))


def specimen_problems(pixels: np.ndarray, params: PreprocessParams) -> list[str]:
    """Why these pixels cannot be a reference specimen; empty when they can.

    Raises NoSignatureError (from preprocessing) where there is no writing at all."""
    problems = []
    share = coloured_share(pixels)
    if share > MAX_COLOURED_SHARE:
        problems.append(f"it is a colour picture ({share:.0%} of it strongly coloured), not a signature on paper")
    gray = to_grayscale(pixels)
    ratio = polarity(gray)
    if ratio > MAX_POLARITY:
        problems.append("it shows light writing on a dark ground (a negative or white on black); "
                        "scan the signature as dark ink on light paper")
    _, pieces, ink = kept_ink(paper_darkness(gray, params), params)
    if pieces > MAX_COMPONENTS:
        problems.append(f"its ink falls into {pieces} separate specks: noise or a texture, not handwriting")
    if ink / gray.size > MAX_INK_SHARE:
        problems.append(f"{ink / gray.size:.0%} of it is ink: a signature covers far less of its page")
    return problems
