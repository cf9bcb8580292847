"""Finding rubber stamps left on the pen-only page: the shapes a pen never draws.

A round stamp's border is a ring whose whole circumference is ink; a rectangular one's is a frame
of ruler-straight, parallel sides joined at their ends. Both survive colour separation only when
the stamp has the pen's colour (or is black or grey beside black print), and then the signature
under it cannot be cleaned: the quality check (document.py) refers it.

Stamp pads ink unevenly and a grey stamp is light: the shapes are looked for in every pixel darker
than the paper by a little, with gaps in the ink closed, and a ring is fitted around each circle
the Hough transform proposes (its centre and radius are only estimates on a mottled ring).
"""

from __future__ import annotations

import cv2
import numpy as np

#: pages are searched for rings at this width (a 300-dpi cheque's stamp ring is then 30-60 px in
#: radius), for frames at twice it (a frame's sides are thinner and shorter than a ring)
SEARCH_WIDTH = 700
#: a pixel darker than this (of 255, paper white) is ink for the search: a grey stamp pad's mottled
#: ink reaches 200-215 where it is thin
INK_LEVEL = 215
#: share of a ring's or a frame side's length that must run over ink
COVERED = 0.85
#: a stamp's ring is at least this share of the page's shorter side in radius (on a cheque about
#: 0.3 inch; a bank's round stamp is an inch or more across): smaller rings are a pen's loops
SMALLEST_RING = 0.09
#: at most this many circle proposals are fitted
PROPOSALS = 40

_ANGLES = np.linspace(0, 2 * np.pi, 180, endpoint=False)


def stamp_ink(grey: np.ndarray, width: int = SEARCH_WIDTH) -> tuple[np.ndarray, np.ndarray, float]:
    """The page at a search width, as grey and as an ink mask (thickened: a pad leaves holes), and the scale."""
    h, w = grey.shape
    scale = width / w
    small = cv2.resize(grey, (width, max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    ink = cv2.dilate((small < INK_LEVEL).astype(np.uint8), np.ones((3, 3), np.uint8))
    return small, ink, scale


def ring_cover(ink: np.ndarray, x: float, y: float, r: float) -> float:
    """The share of the circle (x, y, r) that runs over ink."""
    px = np.clip((x + r * np.cos(_ANGLES)).astype(int), 0, ink.shape[1] - 1)
    py = np.clip((y + r * np.sin(_ANGLES)).astype(int), 0, ink.shape[0] - 1)
    return float(ink[py, px].mean())


def fitted_ring(ink: np.ndarray, x: float, y: float, r: float, reach: int = 4) -> tuple[float, float, float, float]:
    """The best-covered circle near a proposal: (cover, x, y, r), searched on a grid of ±reach px."""
    steps = np.arange(-reach, reach + 1)
    dx, dy, dr = (a.ravel() for a in np.meshgrid(steps, steps, steps, indexing="ij"))
    cx, cy, rr = x + dx, y + dy, np.maximum(r + dr, 1)
    px = np.clip((cx[:, None] + rr[:, None] * np.cos(_ANGLES)).astype(int), 0, ink.shape[1] - 1)
    py = np.clip((cy[:, None] + rr[:, None] * np.sin(_ANGLES)).astype(int), 0, ink.shape[0] - 1)
    cover = ink[py, px].mean(1)
    best = int(np.argmax(cover))
    return float(cover[best]), float(cx[best]), float(cy[best]), float(rr[best])


def rings(small_grey: np.ndarray, ink: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Round stamps' borders as boxes at search scale."""
    shortest = min(ink.shape)
    circles = cv2.HoughCircles(cv2.GaussianBlur(small_grey, (0, 0), 1.2), cv2.HOUGH_GRADIENT, dp=1.5, minDist=10,
                               param1=80, param2=20, minRadius=max(8, int(0.07 * shortest)),
                               maxRadius=max(9, int(0.3 * ink.shape[0])))
    found: list[tuple[float, float, float, float]] = []
    for x, y, r in ([] if circles is None else circles[0][:PROPOSALS]):
        if any(abs(x - fx - fr) < fr * 0.3 and abs(y - fy - fr) < fr * 0.3 for fx, fy, fr, _ in found):
            continue  # a proposal on a ring already found
        if ring_cover(ink, x, y, r) < 0.4:
            continue  # nothing ring-like here worth fitting
        cover, cx, cy, cr = fitted_ring(ink, x, y, r)
        if cover >= COVERED and cr >= SMALLEST_RING * shortest and stamp_inside(ink, cx, cy, cr):
            found.append((cx - cr, cy - cr, 2 * cr, 2 * cr))
    return found


def _annulus_share(ink: np.ndarray, x: float, y: float, inner: float, outer: float) -> float:
    """The share of ink in the ring between two radii around (x, y)."""
    h, w = ink.shape
    ys, xs = np.ogrid[:h, :w]
    distance = np.hypot(xs - x, ys - y)
    band = (distance >= inner) & (distance <= outer)
    return float(ink[band].mean()) if band.any() else 0.0


def stamp_inside(ink: np.ndarray, x: float, y: float, r: float) -> bool:
    """What a round stamp has inside its border and a pen's loop has not: a second, inner ring, or
    a band of lettering running along the border (the bank's name, the branch). A large, round
    loop of a signature has paper inside its stroke."""
    inner_ring = max(ring_cover(ink, x, y, r * k) for k in np.linspace(0.6, 0.82, 12))
    lettering = _annulus_share(ink, x, y, 0.74 * r, 0.93 * r)
    return inner_ring >= 0.75 or lettering >= 0.2


def _covered(ink: np.ndarray, a, b) -> float:
    """The share of the straight path from a to b (x, y) that runs over ink."""
    steps = max(2, int(np.hypot(b[0] - a[0], b[1] - a[1])))
    xs = np.clip(np.linspace(a[0], b[0], steps).round().astype(int), 0, ink.shape[1] - 1)
    ys = np.clip(np.linspace(a[1], b[1], steps).round().astype(int), 0, ink.shape[0] - 1)
    return float(ink[ys, xs].mean())


#: a straight side is followed across ink gaps up to this long (search pixels): a pad leaves holes
LONGEST_GAP = 4


def extended(ink: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """A segment followed along its own line, both ways, for as long as ink continues (gaps of up to
    LONGEST_GAP): Hough gives a mottled stamp side in pieces."""
    direction = np.array([x1 - x0, y1 - y0], np.float64)
    direction /= max(np.linalg.norm(direction), 1e-9)
    h, w = ink.shape

    def reach(start: np.ndarray, step: np.ndarray) -> np.ndarray:
        end, gap, point = start, 0, start.copy()
        while gap <= LONGEST_GAP:
            point = point + step
            x, y = int(round(point[0])), int(round(point[1]))
            if not (0 <= x < w and 0 <= y < h):
                break
            if ink[y, x]:
                end, gap = point.copy(), 0
            else:
                gap += 1
        return end

    a = reach(np.array([x0, y0], np.float64), -direction)
    b = reach(np.array([x1, y1], np.float64), direction)
    return float(a[0]), float(a[1]), float(b[0]), float(b[1])


def frames(ink: np.ndarray, shortest: int) -> list[tuple[float, float, float, float]]:
    """Rectangles at any turn: two long, straight, parallel strokes whose ends are joined by two
    more straight strokes of ink (a rectangular stamp's frame; a hand draws no such thing)."""
    segments = cv2.HoughLinesP(ink * 255, 1, np.pi / 180, threshold=shortest, minLineLength=shortest, maxLineGap=3)
    if segments is None:
        return []
    raw = segments.reshape(-1, 4).astype(np.float64)[:160]  # (N, 1, 4) in OpenCV 4, (N, 4) in 5
    segments = np.array([extended(ink, *s) for s in raw])
    found = []
    for i, (x0, y0, x1, y1) in enumerate(segments):
        direction = np.array([x1 - x0, y1 - y0])
        length = np.linalg.norm(direction)
        direction /= length
        normal = np.array([-direction[1], direction[0]])
        for u0, v0, u1, v1 in segments[i + 1:]:
            other = np.array([u1 - u0, v1 - v0])
            if abs(abs(float(other @ direction)) / np.linalg.norm(other) - 1.0) > 0.003:  # not parallel (about 4°)
                continue
            apart = abs(float((np.array([u0, v0]) - [x0, y0]) @ normal))
            if not max(0.25 * length, shortest) <= apart <= 3.0 * length:  # a stamp, not a letter's box
                continue
            along = sorted((float((np.array(p) - [x0, y0]) @ direction) for p in ((u0, v0), (u1, v1))))
            start, end = max(0.0, along[0]), min(length, along[1])
            if end - start < 0.6 * length:
                continue
            side = 1.0 if float((np.array([u0, v0]) - [x0, y0]) @ normal) > 0 else -1.0
            corners = [np.array([x0, y0]) + t * direction + k * side * apart * normal
                       for t in (start, end) for k in (0.0, 1.0)]
            if min(_covered(ink, corners[0], corners[1]), _covered(ink, corners[2], corners[3])) >= COVERED:
                xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                found.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    return found


def stamp_boxes(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (page pixels) of the round and rectangular stamps on a pen-only grey page."""
    small, ink, scale = stamp_ink(grey)
    found = [tuple(v / scale for v in box) for box in rings(small, ink)]
    _, ink, scale = stamp_ink(grey, 2 * SEARCH_WIDTH)
    found += [tuple(v / scale for v in box) for box in frames(ink, max(12, int(0.09 * ink.shape[0])))]
    return [tuple(int(round(v)) for v in box) for box in found]  # type: ignore[misc]
