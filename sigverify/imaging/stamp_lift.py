"""A stamp of the pen's own hue lifted off the strokes by how dark its ink is.

Colour separation cannot part a violet stamp from a violet pen, so such a stamp stays on the
pen-only page, is found by its shape (stamps.py) and refers the signature. A stamp pad's ink is
thin beside a ballpoint's line, though: on the pen-only page the stamp is a pale grey where the
strokes are dark. Where the stamp's own border (its ring or frame, which it drew alone) is clearly
paler than the strokes beside the stamp, every pixel inside the stamp that is as pale as its
border is paper, except the grey rim of a dark stroke. Where the two are alike (a black stamp on
black ink), nothing is lifted and the signature is only referred.
"""

from __future__ import annotations

import cv2
import numpy as np

#: a pixel darker than the paper by this much (of 255) is ink in the measurements
INK = 40
#: the stamp's border must be at most this share as dark as the strokes outside it to be lifted (a violet
#: ring over a violet signature on a validation cheque: 80 against 114 of 255, 0.70; a black stamp on black ink: 1)
PALER = 0.75
#: at least this many ink pixels on the border and outside the stamp to measure either
FEWEST = 200


def lifted(image: np.ndarray, stamp, origin: tuple[float, float]) -> np.ndarray:
    """``image`` (grey, paper light; pixel (0, 0) at page point ``origin``) with the stamp's pale
    ink painted paper, where its border is clearly paler than the strokes outside it; else as it was."""
    if image.ndim != 2 or image.size == 0:
        return image
    area, border = stamp.regions(image.shape, origin)
    paper = float(np.median(image))
    darkness = np.clip(paper - image.astype(np.float32), 0, 255)
    ink = darkness > INK
    on_border, outside = darkness[ink & border], darkness[ink & ~area]
    if on_border.size < FEWEST or outside.size < FEWEST:
        return image
    stamp_level, pen_level = float(np.median(on_border)), float(np.median(outside))
    if stamp_level > PALER * pen_level:
        return image
    cut = (stamp_level + pen_level) / 2
    dark = (darkness >= cut).astype(np.uint8)
    rims = cv2.dilate(dark, np.ones((3, 3), np.uint8)).astype(bool)  # a dark stroke's own grey edge stays
    out = image.copy()
    out[area & ~rims & (darkness > 0)] = int(round(paper))
    return out
