"""Rectangular stamps' frames on the pen-only page: ruler-straight sides joined at right angles.

A hand draws no such thing, but the strokes of the signature a stamp was pressed over cross its
sides and break them into pieces, and the page's printed field lines are as straight as any side.
So a frame is followed from any one straight side found (Hough, on the whole page and in tiles: a
thick slanted side comes only in pieces), its other sides looked for beside and across it, and a
candidate is rejected where a side runs on beyond both its ends (a line through, not a frame).
Used by stamps.found_stamps at twice the ring search's width.
"""

from __future__ import annotations

import cv2
import numpy as np

#: share of a ring's or a frame side's length that must run over ink
COVERED = 0.85


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
            if not any(_overlap_share(bounds(corners), bounds(other)) > 0.5 for other in found):
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


def bounds(corners: np.ndarray) -> tuple[float, float, float, float]:
    x_lo, y_lo = corners.min(0)
    x_hi, y_hi = corners.max(0)
    return float(x_lo), float(y_lo), float(x_hi - x_lo), float(y_hi - y_lo)


def _overlap_share(a, b) -> float:
    """The share of the smaller box that the two boxes have in common."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    smaller = min(a[2] * a[3], b[2] * b[3])
    return max(0.0, w) * max(0.0, h) / smaller if smaller > 0 else 0.0
