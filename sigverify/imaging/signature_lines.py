"""The signature lines under a cluster of ink: where a joint cheque's signatures part."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import connected_components


def line_gaps(lines: np.ndarray, ink: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[int]:
    """Where to cut a cluster of ink that stands on two or more signature lines side by side (a joint
    cheque's signatories each sign on their own line): the middles of the gaps between the lines
    found under it. The pieces a line was cut into where strokes cross it count as one line, and a
    gap is one only where the paper along the line is bare (``ink``: the handwriting's mask): strokes
    written along a line hide it without parting the signature."""
    height, width = lines.shape
    top, left = max(0, y0), max(0, x0)
    band = lines[top:min(height, y1 + (y1 - y0) // 3), left:min(width, x1)].astype(np.uint8)
    band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, np.ones((1, 25), np.uint8))  # a line's crossings
    count, _, stats = connected_components(band)
    long = sorted((int(stats[i, 0]), int(stats[i, 0] + stats[i, 2]), int(stats[i, 1] + stats[i, 3] // 2))
                  for i in range(1, count) if stats[i, 2] >= 0.1 * width)
    gaps = []
    for (_, end, row_a), (start, _, row_b) in zip(long[:-1], long[1:]):
        if start - end < max(20, 0.02 * width):
            continue
        rows = slice(top + min(row_a, row_b) - 4, top + max(row_a, row_b) + 5)
        if ink[rows, left + end : left + start].any(axis=0).mean() <= 0.5:
            gaps.append(left + (end + start) // 2)
    return gaps
