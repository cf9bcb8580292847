"""The signature lines under a cluster of ink: where a joint cheque's signatures part."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import connected_components


def line_gaps(lines: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[int]:
    """Where to cut a cluster of ink that stands on two or more signature lines side by side (a joint
    cheque's signatories each sign on their own line): the middles of the gaps between the lines
    found under it. The pieces a line was cut into where strokes cross it count as one line."""
    height, width = lines.shape
    band = lines[max(0, y0):min(height, y1 + (y1 - y0) // 3), max(0, x0):min(width, x1)].astype(np.uint8)
    band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, np.ones((1, 25), np.uint8))  # a line's crossings
    count, _, stats = connected_components(band)
    long = sorted((int(stats[i, 0]), int(stats[i, 0] + stats[i, 2])) for i in range(1, count)
                  if stats[i, 2] >= 0.1 * width)
    gaps = []
    for (_, end), (start, _) in zip(long[:-1], long[1:]):
        if start - end >= 20:
            gaps.append(max(0, x0) + (end + start) // 2)
    return gaps
