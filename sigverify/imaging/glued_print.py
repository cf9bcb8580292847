"""Print a signature was written across: the letters of a label the strokes touch are one piece
of ink with the handwriting, so neither their size nor their row finds them as type.

Within the band of a row of print, the pen's strokes are what passes through it: the path each
piece of ink takes between the places where it leaves the band, as wide as the pen; the rest of the
piece is the label's letters (strokes_through). A bold label whose letters touch one another has no
letter standing alone to find its row by; it still has its letters' feet on one baseline and their
tops on one x-height line, to a pixel (hidden_rows), and stands where a form's label does
(labels_a_line). Used by page.PageInk.without_print.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

#: a stroke leaving a row of print's band downwards carries on at least this many letter heights
#: below it; a g's, a p's or a bracket's descender stops sooner
THROUGH_DEPTH = 0.8
#: a stroke ending inside the band (its tail in the label) is kept this many letter heights from
#: where it came in
TAIL_REACH = 1.5


def strokes_through(ink: np.ndarray, top: int, bottom: int, left: int, right: int, letter: float,
                     stroke: float) -> np.ndarray:
    """Within the band [top, bottom) x [left, right) of ``ink`` (a row of print), the pen's strokes
    that pass through it: the path each piece of ink takes between the places where it leaves the
    band (above it, or below it further than a descender), ``stroke`` pixels wide. The letters a
    stroke touches are one piece of ink with it; its path through them is all that is handwriting.
    A stroke that comes in and ends in the band is kept near where it came in."""
    band = ink[top:bottom, left:right].astype(bool)
    depth = max(2, int(round(THROUGH_DEPTH * letter)))
    exits = np.zeros(band.shape, np.uint8)
    if top > 0:
        exits[0] = band[0] & ink[top - 1, left:right].astype(bool)
    if bottom < ink.shape[0]:
        below = ink[bottom:bottom + depth, left:right].astype(np.uint8)
        count, reach = cv2.connectedComponents(below, connectivity=8)
        far = np.unique(reach[-1][reach[-1] > 0]) if below.shape[0] == depth else np.arange(1, count)
        exits[-1] |= band[-1] & np.isin(reach[0], far) & (reach[0] > 0)
    _, pieces = cv2.connectedComponents(band.astype(np.uint8), connectivity=8)
    kept = np.zeros(band.shape, bool)
    if not exits.any():
        return kept
    _, run_labels = cv2.connectedComponents(exits, connectivity=8)
    for piece in np.unique(pieces[exits > 0]):
        inside = pieces == piece
        starts = [np.argwhere(run_labels == r) for r in np.unique(run_labels[inside & (exits > 0)])]
        distances = [_geodesic(inside, s) for s in starts]
        path = np.zeros(band.shape, bool)
        if len(starts) == 1:
            path = distances[0] <= TAIL_REACH * letter
        for a in range(len(starts)):
            for b in range(a + 1, len(starts)):
                path |= _shortest_path(distances[a], starts[b])
        wide = max(3, int(round(stroke)) + 1)
        kept |= inside & (cv2.dilate(path.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (wide, wide))) > 0)
    return kept


#: a form's label is small print: its x-height at most this share of the page's height (6-8 point
#: type on a cheque is 1.5-2%; a signature's letters are larger)
LABEL_X_HEIGHT = 0.015
#: a field line runs over at least this share of the label printed under it (a signature's own
#: level stroke taken for a line, over a "row" in its loops, runs over part of it)
LINE_OVER_LABEL = 0.8


def labels_a_line(lines: np.ndarray, left: int, right: int, baseline: int, x_height: float) -> bool:
    """Whether a row (page pixels) stands where a form's label does, on the page's field ``lines``:
    under a line (a few letters below it, the line running over all of it) or at a line's end on
    its level ("Signature: ____"). A "row" in a signature's own strokes (5% of clean specimen crops
    have six letters' feet and heads on two lines) is not where a label is."""
    reach = int(3 * x_height)
    above = lines[max(0, int(baseline - 6 * x_height)):max(0, int(baseline - 1.5 * x_height)), left:right]
    level = lines[max(0, int(baseline - x_height)):int(baseline + x_height) + 1]
    beside = not level[:, left:right].any() and (level[:, max(0, left - reach):left].any()
                                                 or level[:, right:right + reach].any())
    return bool((above.size and above.any(axis=0).mean() >= LINE_OVER_LABEL) or beside)


#: rows are looked for only where the box is at most this share ink: a signature's box on a cheque
#: is at most 19% (validation writers, thick GPDS strokes); a photographed paper's mottle taken for
#: ink (45% of a box) has feet and tops on every line
CLEAN_PAPER = 0.25
#: a row of print hidden in a stroke: at least this many letters' feet on one baseline and tops on
#: one x-height line, to a pixel, in one run of type
HIDDEN_ROW_LETTERS = 6


def hidden_rows(ink: np.ndarray, smallest: int = 5, largest: int = 40) -> list[tuple[int, int, int, int]]:
    """Rows of type whose letters touch one another and the strokes (a bold "Signature" label the
    signature was written across), so that no letter stands alone to be found by its size: in
    ``ink`` (a box's), many short runs of letters' feet on one baseline and of their tops on one
    x-height line above it, each to a pixel or so, dense between them and sparse below. A hand seldom
    keeps both lines over six letters (5% of clean specimen crops do: the caller asks where the row
    stands); a Devanagari headline is one long run, not many short ones. None in a box whose
    "ink" is mottle. Each row as (left, right, baseline, x-height)."""
    ink = ink.astype(bool)
    height = ink.shape[0]
    if ink.mean() > CLEAN_PAPER:
        return []
    feet = np.zeros(ink.shape, bool)
    feet[:-1] = ink[:-1] & ~ink[1:]
    heads = np.zeros(ink.shape, bool)
    heads[1:] = ink[1:] & ~ink[:-1]
    # each row's runs of feet (of heads), the rows beside it joined: a pixel's tolerance
    feet_at, heads_at = _short_runs_by_row(_beside(feet), largest), _short_runs_by_row(_beside(heads), largest)
    rows: list[tuple[int, int, int, int]] = []
    taken = np.zeros(height, bool)
    for baseline in np.argsort(-feet.sum(axis=1), kind="stable"):
        if (taken[baseline] or baseline < smallest or feet[baseline].sum() < HIDDEN_ROW_LETTERS
                or len(feet_at[baseline]) < HIDDEN_ROW_LETTERS):
            continue
        best = None
        for letter in range(smallest, min(largest, baseline) + 1):
            if len(heads_at[baseline - letter]) < HIDDEN_ROW_LETTERS:
                continue
            span = _chain(feet_at[baseline], heads_at[baseline - letter], letter)
            if span is not None and (best is None or span[2] > best[3]):
                best = (letter, int(span[0]), int(span[1]), span[2])
        if best is None:
            continue
        letter, left, right, _ = best
        if not _dense_above_the_feet(ink[:, left:right], baseline, letter):
            continue
        rows.append((left, right, int(baseline), letter))
        taken[max(0, baseline - letter):baseline + letter] = True
    return rows


#: a row of type is this dense between its baseline and x-height line (the strokes crossing a
#: signature's own lines are sparser) ...
TYPE_DENSITY = 0.5
#: ... and under its baseline (a third of a letter down: descenders only) at most this share of it
UNDER_THE_FEET = 0.6


def _dense_above_the_feet(ink: np.ndarray, baseline: int, letter: int) -> bool:
    """Whether the ink steps down at the baseline as under a row of letters: dense between baseline
    and x-height line, sparse just below (a signature's strokes run on across any line). (Sparse
    above the capitals too was tried: a signature's strokes above a label under its line made the
    true row fail it, and a wrong one of another size was taken.)"""
    below = max(2, letter // 3)
    letters = float(ink[baseline - letter + 1:baseline + 1].mean())
    under = float(ink[baseline + 1:baseline + 1 + below].mean()) if baseline + 1 < ink.shape[0] else 0.0
    return letters >= TYPE_DENSITY and under <= UNDER_THE_FEET * letters


def _beside(edges: np.ndarray) -> np.ndarray:
    """Each row or'ed with the rows above and below it (a pixel's tolerance)."""
    out = edges.copy()
    out[1:] |= edges[:-1]
    out[:-1] |= edges[1:]
    return out


def _short_runs_by_row(lines: np.ndarray, longest: int) -> list[list]:
    """Per row, the [start, end) of its runs of True no longer than ``longest``."""
    padded = np.pad(lines.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)
    start_rows, starts = np.nonzero(step == 1)
    ends = np.nonzero(step == -1)[1]  # row-major: the n-th end closes the n-th start
    keep = (ends - starts) <= longest
    runs: list[list] = [[] for _ in range(lines.shape[0])]
    for row, start, end in zip(start_rows[keep].tolist(), starts[keep].tolist(), ends[keep].tolist()):
        runs[row].append((start, end))
    return runs


def _chain(feet: list, heads: list, letter: int):
    """The longest stretch where letters' feet and heads alternate a letter or so apart: (left,
    right, letters) when it holds HIDDEN_ROW_LETTERS of each, else None. (Plain Python: a few dozen
    runs, thousands of calls a box, where numpy's per-call cost dominated.)"""
    if len(feet) < HIDDEN_ROW_LETTERS or len(heads) < HIDDEN_ROW_LETTERS:
        return None
    marks = sorted([(s, e, 0) for s, e in feet] + [(s, e, 1) for s, e in heads])
    best, counts, left, right = None, [0, 0], marks[0][0], marks[0][1]
    for start, end, kind in marks + [(np.inf, np.inf, 0)]:
        if start - right > 1.5 * letter:  # a gap: the stretch so far ends
            letters = min(counts)
            if letters >= HIDDEN_ROW_LETTERS and right - left <= 30 * letter and (best is None or letters > best[2]):
                best = (float(left), float(right), letters)
            counts, left = [0, 0], start
        counts[kind] += 1
        right = max(right, end) if start - right <= 1.5 * letter else end
    return best


def _geodesic(inside: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Steps from ``starts`` ((row, column) pairs) to every pixel of ``inside`` (8-connected), inf elsewhere."""
    distance = np.full(inside.shape, np.inf)
    queue = deque()
    for r, c in starts:
        distance[r, c] = 0
        queue.append((r, c))
    height, width = inside.shape
    while queue:
        r, c = queue.popleft()
        step = distance[r, c] + 1
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                nr, nc = r + dr, c + dc
                if 0 <= nr < height and 0 <= nc < width and inside[nr, nc] and distance[nr, nc] > step:
                    distance[nr, nc] = step
                    queue.append((nr, nc))
    return distance


def _shortest_path(distance: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The pixels of one shortest path back from the nearest of ``ends`` down ``distance`` to 0."""
    path = np.zeros(distance.shape, bool)
    reachable = [(r, c) for r, c in ends if np.isfinite(distance[r, c])]
    if not reachable:
        return path
    r, c = min(reachable, key=lambda p: distance[p])
    while True:
        path[r, c] = True
        if distance[r, c] == 0:
            return path
        window = distance[max(0, r - 1):r + 2, max(0, c - 1):c + 2]
        dr, dc = np.unravel_index(int(np.argmin(window)), window.shape)
        r, c = max(0, r - 1) + int(dr), max(0, c - 1) + int(dc)


def pen_width(inside: np.ndarray) -> float:
    """A pen's width on this page: twice the median distance to the paper along the strokes' middle.

    Not imaging/document.stroke_width (area over outline): that one averages over every pixel of
    ink, so letters' blobs and a stroke's ragged rim move it; the kept corridors need the width
    of one pen line (5.5 against 4.0 px on a 300-dpi label page). Any mask (bool or 0/1) works."""
    inside = np.asarray(inside) > 0
    dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
    ridge = dist[(dist >= cv2.dilate(dist, np.ones((3, 3), np.uint8))) & inside]
    return 2.0 * float(np.median(ridge)) if ridge.size else 3.0
