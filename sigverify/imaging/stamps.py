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
        if any(abs(x - fx) < fr * 0.3 and abs(y - fy) < fr * 0.3 or np.hypot(x - fx, y - fy) + r <= 1.1 * fr
               for fx, fy, fr in found):
            continue  # a proposal on a ring already found, or inside it (its inner ring, its lettering)
        if ring_cover(ink, x, y, r) < 0.4:
            continue  # nothing ring-like here worth fitting
        cover, cx, cy, cr = fitted_ring(ink, x, y, r)
        if cover >= COVERED and cr >= SMALLEST_RING * shortest and stamp_inside(ink, cx, cy, cr):
            found.append(outermost_ring(ink, cx, cy, cr))
    return found


#: a found ring's rim is looked for this share of its radius around it, on a grid of this many steps
RIM_REACH, RIM_STEPS = 0.25, 13
#: circles this close to the best cover there are equally good rims
RIM_TIE = 0.03


def outermost_ring(ink: np.ndarray, x: float, y: float, r: float) -> tuple[float, float, float]:
    """The stamp's rim near a found ring: the widest circle around it covered as well as any. A
    proposal can settle on a circle that runs along the rim at the top and over the lettering and
    the inner ring below; painting out the band of that circle left the lower rim, which stretched
    the signature's box down to it."""
    steps = np.linspace(-RIM_REACH * r, RIM_REACH * r, RIM_STEPS)
    dx, dy, dr = (a.ravel() for a in np.meshgrid(steps, steps, steps, indexing="ij"))
    cx, cy, rr = x + dx, y + dy, np.maximum(r + dr, 1)
    px = np.clip((cx[:, None] + rr[:, None] * np.cos(_ANGLES)).astype(int), 0, ink.shape[1] - 1)
    py = np.clip((cy[:, None] + rr[:, None] * np.sin(_ANGLES)).astype(int), 0, ink.shape[0] - 1)
    cover = ink[py, px].mean(1)
    good = np.nonzero(cover >= max(COVERED, float(cover.max()) - RIM_TIE))[0]
    if not good.size:
        return x, y, r
    widest = good[np.argmax(rr[good])]
    _, fx, fy, fr = fitted_ring(ink, float(cx[widest]), float(cy[widest]), float(rr[widest]), reach=2)
    return fx, fy, fr


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
    ink = _without_field_lines(ink)
    raw = _straight_segments(ink, shortest)
    if not len(raw):
        return []
    longest = raw[np.argsort(-np.hypot(raw[:, 2] - raw[:, 0], raw[:, 3] - raw[:, 1]), kind="stable")]
    found: list[np.ndarray] = []
    followed: set = set()
    for segment in _distinct(longest)[:MOST_SIDES]:
        x0, y0, x1, y1 = extended(ink, *segment)
        if (side := _grid_key((x0, y0, x1, y1))) in followed:  # a thick side gives several pieces
            continue
        followed.add(side)
        for corners in _frame_on(ink, np.array([x0, y0]), np.array([x1, y1]), shortest):
            if not any(_overlap_share(_bounds(corners), _bounds(other)) > 0.5 for other in found):
                found.append(corners)
    return found


#: a straight level run this share of the page wide is a printed field line, never a stamp's side
FIELD_LINE = 0.25


def _without_field_lines(ink: np.ndarray) -> np.ndarray:
    """The ink without the page's long level lines, but where something crosses them: a field line
    under a Devanagari signature's headline made a wide "frame" of headline, line and two letters'
    verticals, and a stamp's side that crosses a line must not be cut there."""
    line = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, max(2, int(FIELD_LINE * ink.shape[1]))), np.uint8))
    rest = ink & (1 - line)
    crossing = line & cv2.dilate(rest, np.ones((2 * SIDE_REACH + 1, 1), np.uint8))  # where a side crosses it
    return rest | crossing


def _grid_key(segment) -> tuple:
    """A segment's ends on a SIDE_REACH grid, its direction ignored: pieces this close are one side."""
    a, b = tuple(int(round(v / SIDE_REACH)) for v in segment[:2]), tuple(int(round(v / SIDE_REACH)) for v in segment[2:])
    return min(a, b), max(a, b)


def _distinct(segments: np.ndarray) -> np.ndarray:
    """The segments in their order, without repeats found again by an overlapping tile or along a
    thick line."""
    seen: set = set()
    keep = []
    for i, segment in enumerate(segments):
        key = _grid_key(segment)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return segments[keep]


#: besides the whole page, straight strokes are looked for in tiles this many times the shortest
#: side across, overlapping by half: on the whole page the probabilistic Hough transform lets a
#: thick slanted side's pixels go to short, rejected pieces and never reports the side
TILE = 6


def _straight_segments(ink: np.ndarray, shortest: int) -> np.ndarray:
    """(N, 4) straight pieces of ink (x0, y0, x1, y1) at least ``shortest`` long."""
    def hough(part: np.ndarray) -> np.ndarray:
        found = cv2.HoughLinesP(part * 255, 1, np.pi / 180, threshold=shortest, minLineLength=shortest, maxLineGap=3)
        return np.zeros((0, 4)) if found is None else found.reshape(-1, 4).astype(np.float64)  # (N, 1, 4) in OpenCV 4

    whole = hough(ink)
    pieces = []
    tile = TILE * shortest
    h, w = ink.shape
    for y in range(0, max(1, h - tile // 2), tile // 2):
        for x in range(0, max(1, w - tile // 2), tile // 2):
            part = ink[y:y + tile, x:x + tile]
            if part.any():
                pieces.append(hough(np.ascontiguousarray(part)) + [x, y, x, y])
    if not pieces:
        return whole
    tiled = np.concatenate(pieces)
    return np.concatenate([whole, tiled[~_on_any(tiled, whole)]])


def _on_any(segments: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Which segments lie along one of ``lines`` (both ends within SIDE_REACH / 2 of it): a tile's
    piece of a side the whole page already gave."""
    if not len(lines) or not len(segments):
        return np.zeros(len(segments), bool)
    a, b = lines[:, :2], lines[:, 2:]
    ab = b - a
    length2 = np.maximum((ab ** 2).sum(1), 1e-9)

    def distance(points: np.ndarray) -> np.ndarray:  # (M, N): each point to each line segment
        t = np.clip(((points[:, None, :] - a[None]) * ab[None]).sum(2) / length2[None], 0, 1)
        nearest = a[None] + t[..., None] * ab[None]
        return np.linalg.norm(points[:, None, :] - nearest, axis=2)

    near = SIDE_REACH / 2
    return ((distance(segments[:, :2]) <= near) & (distance(segments[:, 2:]) <= near)).any(axis=1)


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
    paper runs on past them (such "frames" were found in Devanagari signatures and camera photos).
    A signature's strokes may cross near a corner or two of a stamp's oblong and run on there, but
    not along both ends of one side, as a line drawn through the frame does."""
    corners = [a, b, b + shift, a + shift]
    runs_on = np.zeros((4, 4), bool)  # [i, j]: the side from corner j runs on past corner i
    for i, corner in enumerate(corners):
        for j in ((i - 1) % 4, (i + 1) % 4):
            side = corner - corners[j]
            length = float(np.linalg.norm(side))
            unit = side / length
            beyond = corner + unit * np.array([[EXTENSION_START], [EXTENSION_START + EXTENSION * length]])
            across = np.array([-unit[1], unit[0]])  # the corner is only known to within SIDE_REACH
            runs_on[i, j] = any(_covered(ink, beyond[0] + k * across, beyond[1] + k * across) > 0.5
                                for k in range(-SIDE_REACH, SIDE_REACH + 1, 2))
    crossed = np.nonzero(runs_on.any(axis=1))[0]
    if (runs_on & runs_on.T).any() or len(crossed) > RUNNING_ON:  # a line through, or strokes all round
        return False
    if len(crossed) < 2:
        return True
    # two corners: opposite ones (strokes crossing the oblong), not the two ends of one side (a
    # headline running on at one, a letter's stroke at the other), and a stamp's wide oblong
    sides = sorted((float(np.linalg.norm(b - a)), float(np.linalg.norm(shift))))
    return crossed[1] - crossed[0] == 2 and sides[1] >= CROSSED_FRAME_ASPECT * sides[0]


#: past a corner, the stretch of a side's line that must be mostly paper: from this many search
#: pixels (the other side's thickness and the corner's rounding) for this share of the side's length
EXTENSION_START = 2 * SIDE_REACH
EXTENSION = 0.2
#: of a frame's four corners, this many may have a side running on past them (strokes crossing
#: near a corner run on along one or both of its sides), if two then opposite ones; a side running
#: on at both its ends is a line through the "frame", never a stamp's
RUNNING_ON = 2
#: a frame run on past two of its corners is taken for a stamp only when it is a stamp's wide
#: oblong ("PAID", "RECEIVED"): the box of a Devanagari letter between its headline and the field
#: line, a vertical rising above it, is about as high as wide
CROSSED_FRAME_ASPECT = 1.6


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

