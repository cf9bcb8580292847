"""Finding rubber stamps left on the pen-only page: the shapes a pen never draws.

A round stamp's border is a ring whose whole circumference is ink; a rectangular one's is a frame
of ruler-straight, parallel sides joined at their ends. Both survive colour separation only when
the stamp has the pen's colour (or is black or grey beside black print), and then the signature
under it cannot be cleaned: the quality check (document.py) refers it.

Stamp pads ink unevenly and a grey stamp is light: the shapes are looked for in every pixel darker
than the paper on both sides by a little (a line; a grey region and its edge are not), with gaps in
the ink closed, and a ring is fitted around each circle the Hough transform proposes (its centre
and radius are only estimates on a mottled ring). A frame is followed from any one straight side
it has, since the strokes crossing a stamp break its other sides into pieces.

A found stamp refers the signature under it (document.py), and its border is left out when the
signature's box is drawn around its ink: a ring reaches above and below the strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: pages are searched for rings at this width (a 300-dpi cheque's stamp ring is then 30-60 px in
#: radius), for frames at twice it (a frame's sides are thinner and shorter than a ring)
SEARCH_WIDTH = 700
#: a pixel darker than this (of 255, paper white) is ink for the search: a grey stamp pad's mottled
#: ink reaches 200-215 where it is thin
INK_LEVEL = 215
#: ink must also be a valley this deep in a PAPER_REACH-pixel neighbourhood (darker than the paper
#: on both sides, as a stamp's line or a stroke is): a grey region (a photographed specimen's paper,
#: a shadow) is not ink, however grey, and neither is its edge
LOCAL_CONTRAST = 25
PAPER_REACH = 15
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
    # how much darker than the paper on both sides (black top-hat): a line is, a grey region's edge is not
    valley = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, np.ones((PAPER_REACH, PAPER_REACH), np.uint8))
    dark = (small < INK_LEVEL) & (valley > LOCAL_CONTRAST)
    ink = cv2.dilate(dark.astype(np.uint8), np.ones((3, 3), np.uint8))
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


def rings(small_grey: np.ndarray, ink: np.ndarray) -> list[tuple[float, float, float]]:
    """Round stamps' borders as circles (centre x, y and radius) at search scale."""
    shortest = min(ink.shape)
    circles = cv2.HoughCircles(cv2.GaussianBlur(small_grey, (0, 0), 1.2), cv2.HOUGH_GRADIENT, dp=1.5, minDist=10,
                               param1=80, param2=20, minRadius=max(8, int(0.07 * shortest)),
                               maxRadius=max(9, int(0.3 * ink.shape[0])))
    found: list[tuple[float, float, float]] = []
    for x, y, r in ([] if circles is None else circles[0][:PROPOSALS]):
        if any(abs(x - fx) < fr * 0.3 and abs(y - fy) < fr * 0.3 for fx, fy, fr in found):
            continue  # a proposal on a ring already found
        if ring_cover(ink, x, y, r) < 0.4:
            continue  # nothing ring-like here worth fitting
        cover, cx, cy, cr = fitted_ring(ink, x, y, r)
        if cover >= COVERED and cr >= SMALLEST_RING * shortest and stamp_inside(ink, cx, cy, cr):
            found.append((cx, cy, cr))
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


def frames(ink: np.ndarray, shortest: int) -> list[np.ndarray]:
    """Rectangles at any turn: a long, straight stroke from whose two ends straight strokes of ink
    run side by side at right angles, joined at their far ends by a fourth (a rectangular stamp's
    frame; a hand draws no such thing). Each side is followed from one found side rather than
    from two found by Hough: where a signature's strokes cross a side, Hough gives it in pieces."""
    segments = cv2.HoughLinesP(ink * 255, 1, np.pi / 180, threshold=shortest, minLineLength=shortest, maxLineGap=3)
    if segments is None:
        return []
    raw = segments.reshape(-1, 4).astype(np.float64)  # (N, 1, 4) in OpenCV 4, (N, 4) in 5
    longest = raw[np.argsort(-np.hypot(raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1]), kind="stable")[:MOST_SIDES]]
    found: list[np.ndarray] = []
    for x0, y0, x1, y1 in (extended(ink, *s) for s in longest):
        for corners in _frame_on(ink, np.array([x0, y0]), np.array([x1, y1]), shortest):
            if not any(_overlap_share(_bounds(corners), _bounds(other)) > 0.5 for other in found):
                found.append(corners)
    return found


#: a frame's longer side is at least this many times the shortest side looked for (about half an
#: inch on a cheque): smaller boxes are letters
FRAME_LONG_SIDE = 1.6
#: the longest straight strokes followed as a frame's first side
MOST_SIDES = 200
#: at most this many places for the opposite side are tried on each side of a first side (a
#: photo's speckle offers many)
MOST_CORNERS = 40
#: a side is looked for this far (search pixels) either side of where it should run: a frame's
#: corner is rounded and a found side's end a few pixels off
SIDE_REACH = 4


def _frame_on(ink: np.ndarray, a: np.ndarray, b: np.ndarray, shortest: int) -> list[np.ndarray]:
    """The frame that has the side a-b, on either side of it (none, one or two: their corners in order)."""
    length = float(np.linalg.norm(b - a))
    if length < shortest:
        return []
    direction = (b - a) / length
    normal = np.array([-direction[1], direction[0]])
    near, far = int(max(0.25 * length, shortest)), int(3.0 * length)
    steps = np.arange(1, far + 1, dtype=np.float64)
    boxes = []
    for side in (1.0, -1.0):
        rays = [_cumulative_cover(ink, end, side * normal, direction, steps) for end in (a, b)]
        covered, hit = np.minimum(rays[0][0], rays[1][0]), rays[0][1] & rays[1][1]
        candidates = steps[near - 1:][(covered[near - 1:] >= COVERED) & hit[near - 1:]]
        for apart in candidates[::-1][:MOST_CORNERS]:  # the farthest opposite side first
            if max(length, apart) < FRAME_LONG_SIDE * shortest:
                break  # a box in the handwriting (a Devanagari letter under its headline), not a stamp
            shift = side * apart * normal
            opposite = max(_covered(ink, a + shift + k * normal, b + shift + k * normal)
                           for k in range(-SIDE_REACH, SIDE_REACH + 1, 2))
            if opposite >= COVERED and _ends_at_corners(ink, a, b, shift):
                boxes.append(np.array([a, b, b + shift, a + shift]))
                break
    return boxes


def _ends_at_corners(ink: np.ndarray, a: np.ndarray, b: np.ndarray, shift: np.ndarray) -> bool:
    """A stamp's sides stop at its corners; a field line, a script's headline or a grey photo's
    paper runs on past them (such "frames" were found in Devanagari signatures and camera photos)."""
    corners = [a, b, b + shift, a + shift]
    running_on = 0
    for i, corner in enumerate(corners):
        for neighbour in (corners[i - 1], corners[(i + 1) % 4]):
            side = corner - neighbour
            length = float(np.linalg.norm(side))
            unit = side / length
            beyond = corner + unit * np.array([[EXTENSION_START], [EXTENSION_START + EXTENSION * length]])
            across = np.array([-unit[1], unit[0]])  # the corner is only known to within SIDE_REACH
            running_on += any(_covered(ink, beyond[0] + k * across, beyond[1] + k * across) > 0.5
                              for k in range(-SIDE_REACH, SIDE_REACH + 1, 2))
            if running_on > RUNNING_ON:  # a stroke of the signature may cross the frame at one corner
                return False
    return True


#: past a corner, the stretch of a side's line that must be mostly paper: from this many search
#: pixels (the other side's thickness and the corner's rounding) for this share of the side's length
EXTENSION_START = 2 * SIDE_REACH
EXTENSION = 0.2
#: of a frame's eight side ends, this many may run on (a line running through runs on at two)
RUNNING_ON = 1


def _cumulative_cover(ink: np.ndarray, start: np.ndarray, step: np.ndarray, along: np.ndarray,
                      steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every distance d along ``step`` from ``start``: the share of the path up to d over ink,
    and whether d itself is (a corner can only be on ink); a pixel counts as ink where any ink lies
    within SIDE_REACH of it along the first side."""
    offsets = np.arange(-SIDE_REACH, SIDE_REACH + 1)
    points = start + steps[:, None, None] * step + offsets[None, :, None] * along
    xs = np.clip(points[..., 0].round().astype(int), 0, ink.shape[1] - 1)
    ys = np.clip(points[..., 1].round().astype(int), 0, ink.shape[0] - 1)
    hit = ink[ys, xs].any(axis=1)
    return np.cumsum(hit) / steps, hit


def _bounds(corners: np.ndarray) -> tuple[float, float, float, float]:
    x_lo, y_lo = corners.min(0)
    x_hi, y_hi = corners.max(0)
    return float(x_lo), float(y_lo), float(x_hi - x_lo), float(y_hi - y_lo)


def _overlap_share(a, b) -> float:
    """The share of the smaller box that the two boxes have in common."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    smaller = min(a[2] * a[3], b[2] * b[3])
    return max(0.0, w) * max(0.0, h) / smaller if smaller > 0 else 0.0


@dataclass(frozen=True)
class Stamp:
    """A stamp found on the page (page pixels): its box, and its border to take out of a box's ink
    when the box is drawn around the signature (ring: centre and radius; frame: four corners)."""

    box: tuple[int, int, int, int]
    ring: tuple[float, float, float] | None = None
    corners: np.ndarray | None = None

    def paint_out(self, image: np.ndarray, origin: tuple[float, float], paper: int = 255) -> np.ndarray:
        """``image`` (whose pixel (0, 0) is page point ``origin``) with this stamp's border painted
        paper: a ring's band from its inner ring to its rim (the lettering between them too), a
        frame's sides with the inner frame beside them. The signature's strokes in that band go with
        it: what is left says where the signature is, not what it looks like."""
        out = image.copy()
        ox, oy = origin
        if self.ring is not None:
            cx, cy, r = self.ring
            ys, xs = np.ogrid[:out.shape[0], :out.shape[1]]
            distance = np.hypot(xs - (cx - ox), ys - (cy - oy))
            out[(distance >= RING_BAND[0] * r) & (distance <= RING_BAND[1] * r)] = paper
        elif self.corners is not None:
            sides = np.linalg.norm(self.corners - np.roll(self.corners, 1, axis=0), axis=1)
            width = max(3, int(round(FRAME_BAND * float(sides.min()))))
            points = np.round(self.corners - [ox, oy]).astype(np.int32)
            cv2.polylines(out, [points], True, int(paper), width)
        return out


#: a ring stamp's border band, in shares of its radius (inner ring at about 0.7, rim at 1.0; the
#: fitted radius can be a few per cent off on a mottled ring)
RING_BAND = (0.62, 1.15)
#: a frame's painted band, as a share of its shorter side (its inner frame runs close beside it)
FRAME_BAND = 0.16


def found_stamps(grey: np.ndarray) -> list[Stamp]:
    """The round and rectangular stamps on a pen-only grey page."""
    small, ink, scale = stamp_ink(grey)
    found = []
    for cx, cy, r in (np.array(circle) / scale for circle in rings(small, ink)):
        found.append(Stamp(_rounded((cx - r, cy - r, 2 * r, 2 * r)), ring=(float(cx), float(cy), float(r))))
    _, ink, scale = stamp_ink(grey, 2 * SEARCH_WIDTH)
    for corners in frames(ink, max(12, int(0.09 * ink.shape[0]))):
        found.append(Stamp(_rounded(_bounds(corners / scale)), corners=corners / scale))
    return found


def _rounded(box) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in box)  # type: ignore[return-value]

