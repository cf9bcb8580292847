"""A phone photo of a document: where the paper is, and the paper flattened to a rectangle.

A phone held over a cheque sees it in perspective: the signature comes out sheared and narrowed at
one end, as no specimen scan is, and the model called such genuine signatures FORGED (phone photos in
bench/documents.py). The paper is the largest bright region against a darker surround; its outline's
four corners are mapped back onto a rectangle before the page is read.
"""

from __future__ import annotations

import cv2
import numpy as np

#: the paper's outline is looked for on the photo reduced to this longer side
OUTLINE_SIDE = 600.0
#: a four-cornered outline must cover at least this share of the paper's own region to be trusted
MIN_QUAD_COVER = 0.9
#: corners within this share of the image's longer side from its own corners: nothing to flatten
SQUARE_ON = 0.015


def paper_region(grey: np.ndarray):
    """(the paper's convex hull on the reduced photo, the reduced shape, the reduction factor), or None
    for a scan (the paper fills the image, or nothing dark surrounds it). Worked out once per image:
    outside_of and corners_of both read it."""
    h, w = grey.shape
    shrink = max(1.0, max(h, w) / OUTLINE_SIDE)
    small = cv2.resize(grey, (int(w / shrink), int(h / shrink)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)
    level, bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if float(np.median(small)) - level < 40:  # no dark surround distinct from the paper
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(bright, 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    share = stats[largest, cv2.CC_STAT_AREA] / float(small.size)
    if not 0.3 <= share <= 0.97:
        return None
    contours, _ = cv2.findContours((labels == largest).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.convexHull(max(contours, key=cv2.contourArea)), small.shape, shrink


def outside_of(region, shape: tuple[int, int]) -> np.ndarray | None:
    """Where a photo (of this shape, with this paper_region) shows the table around the document (a
    mask), or None when the paper fills the image (a scan): the paper's outline is drawn a little inside."""
    if region is None:
        return None
    hull, small_shape, _ = region
    paper = np.zeros(small_shape, np.uint8)
    cv2.drawContours(paper, [hull], -1, 1, -1)
    paper = cv2.erode(paper, np.ones((5, 5), np.uint8))  # the paper's own edge and its shadow
    return cv2.resize(paper, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) == 0


def paper_corners(grey: np.ndarray) -> np.ndarray | None:
    """The paper's four corners in the photo (top-left, top-right, bottom-right, bottom-left, float32),
    or None: a scan, a sheet seen square on, or an outline that is not a four-cornered sheet (folded,
    cut off, held in a hand)."""
    return corners_of(paper_region(grey), grey.shape)


def corners_of(region, shape: tuple[int, int]) -> np.ndarray | None:
    """paper_corners from a paper_region already worked out for an image of this shape."""
    if region is None:
        return None
    hull, _, shrink = region
    perimeter = cv2.arcLength(hull, True)
    for tolerance in (0.01, 0.02, 0.03, 0.05):
        quad = cv2.approxPolyDP(hull, tolerance * perimeter, True)
        if len(quad) == 4:
            break
    else:
        return None
    if not cv2.isContourConvex(quad) or cv2.contourArea(quad) < MIN_QUAD_COVER * cv2.contourArea(hull):
        return None
    quad = quad.reshape(4, 2).astype(np.float32) * np.float32(shrink)
    total, difference = quad.sum(1), np.diff(quad, axis=1).ravel()
    ordered = np.float32([quad[np.argmin(total)], quad[np.argmin(difference)], quad[np.argmax(total)],
                          quad[np.argmax(difference)]])
    if len({tuple(p) for p in ordered.tolist()}) < 4:
        return None
    h, w = shape[:2]
    frame = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    if np.abs(ordered - frame).max() <= SQUARE_ON * max(h, w):
        return None  # the sheet fills the image square on (a scan whose edge is a little darker)
    return ordered


def flattened(pixels: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper within ``corners`` (grey or colour pixels) mapped onto a rectangle of its mean side
    lengths (anything beyond the photo white), and the 3×3 map from photo to flattened page."""
    top_left, top_right, bottom_right, bottom_left = corners
    width = int(round((np.linalg.norm(top_right - top_left) + np.linalg.norm(bottom_right - bottom_left)) / 2))
    height = int(round((np.linalg.norm(bottom_left - top_left) + np.linalg.norm(bottom_right - top_right)) / 2))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    warp = cv2.getPerspectiveTransform(corners, target)
    white = (255,) * (pixels.shape[2] if pixels.ndim == 3 else 1)
    page = cv2.warpPerspective(pixels, warp, (width, height), flags=cv2.INTER_LINEAR, borderValue=white)
    return page, warp


def warped_box(box, warp: np.ndarray) -> tuple[float, float, float, float]:
    """The box (x, y, w, h) around a box's corners carried through a 3×3 map."""
    x, y, w, h = (float(v) for v in box)
    corners = np.float32([[[x, y]], [[x + w, y]], [[x, y + h]], [[x + w, y + h]]])
    moved = cv2.perspectiveTransform(corners, warp.astype(np.float64)).reshape(4, 2)
    (x0, y0), (x1, y1) = moved.min(0), moved.max(0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
