"""A page's field lines (date, payee, signature lines; field boxes; microprinted lines): found in the
ink mask and taken out, keeping the strokes written across them, and the strokes written along them
given back (a pen on print is darker than the print alone). Used by page.py's ink analysis."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import connected_components

#: a pixel of a field line darker than this share of the line's own grey holds a pen's stroke too
ON_THE_LINE = 0.75
#: a line darker than this (grey level) is as black as a pen: nothing on it can be told apart
BLACK_LINE = 40


def remove_form_lines(mask: np.ndarray, fraction: float = 0.25, reach: int = 8, broken: bool = False) -> np.ndarray:
    """Drop long horizontal and vertical straight runs (boxes, baselines) from an ink mask;
    ``broken``: a black-and-white image's, whose lines the threshold broke into pieces (_broken_line).

    Where a stroke crosses a line (ink within ``reach`` pixels on both sides of it) the crossing
    stays: a signature written across its line would otherwise be cut in two, and the cut would
    give its pieces the common flat bottom that printed characters have."""
    h, w = mask.shape
    out = mask.copy()
    for length, shape in ((int(w * fraction), (max(int(w * fraction), 2), 1)),
                          (int(h * fraction), (1, max(int(h * fraction), 2)))):
        if length < 15:
            continue
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, shape)
        lines = cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        if shape[0] > 1:
            lines |= _microprint(out, kernel)
            # a line that steps a row here and there (a clearing image's jagged threshold, a slight
            # tilt) has no long run in any one row: joined with the rows beside it, it does; only
            # lines twice as long count, a Devanagari headline is rarely so straight for so long
            joined = cv2.dilate(out.astype(np.uint8), np.ones((3, 1), np.uint8))
            long_kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * shape[0], 1))
            stepped = cv2.morphologyEx(joined, cv2.MORPH_OPEN, long_kernel) & out.astype(np.uint8)
            # of which the line's own pieces, runs along the row (not a stroke's pixels crossing it)
            lines |= cv2.morphologyEx(stepped, cv2.MORPH_OPEN, np.ones((1, 15), np.uint8))
            if broken:  # (on a grey page a signature's long flat stroke beside the line is no piece of it)
                lines |= _broken_line(out.astype(np.uint8), joined, 2 * shape[0])
        lines = cv2.dilate(lines, np.ones((3, 3), np.uint8)).astype(bool)
        rest = (out & ~lines).astype(np.uint8)
        horizontal = shape[0] > 1  # then look above and below it, else left and right
        probe = np.ones((reach, 1) if horizontal else (1, reach), np.uint8)
        before = cv2.dilate(rest, probe, anchor=(0, reach - 1) if horizontal else (reach - 1, 0))
        after = cv2.dilate(rest, probe, anchor=(0, 0))
        out &= ~(lines & ~(before.astype(bool) & after.astype(bool)))
    return out


#: a line broken by a black-and-white image's threshold: pieces at least this share of its length,
#: gaps of at most this share of it between them
BROKEN_PIECE = 1 / 6
BROKEN_GAP = 1 / 24


def _broken_line(mask: np.ndarray, joined: np.ndarray, length: int) -> np.ndarray:
    """A long line in pieces: a clearing image's adaptive threshold opens gaps in a thin line where
    a signature's dense strokes darken the neighbourhood it compares with (a 790-pixel signature
    line came out in runs of 293, 292 and 193 pixels and was left under the strokes). Long straight
    runs (of ``joined``, the rows beside each other joined: it may step a row) with short gaps
    between them, ``length`` long in all; a Devanagari headline is no such thing."""
    pieces = cv2.morphologyEx(joined, cv2.MORPH_OPEN, np.ones((1, max(2, int(BROKEN_PIECE * length))), np.uint8))
    bridged = cv2.morphologyEx(pieces, cv2.MORPH_CLOSE, np.ones((1, max(2, int(BROKEN_GAP * length))), np.uint8))
    whole = cv2.morphologyEx(bridged, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    # the line's own pieces: runs along the row, not a stroke's pixels crossing it
    return cv2.morphologyEx(whole & pieces & mask, cv2.MORPH_OPEN, np.ones((1, 15), np.uint8))


#: a microprinted line's letters are at most this share of the page's height (and at least this
#: many pixels are always allowed): a bank's name closes into a run too, and must stay print
MICROPRINT_SHARE = 0.012
MICROPRINT_LETTER = 8


def microprint_letter(page_height: int) -> int:
    """The tallest letter (pixels) of a microprinted line on a page this high."""
    return max(MICROPRINT_LETTER, int(MICROPRINT_SHARE * page_height))


def _microprint(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """A microprinted line (a security feature: tiny repeated text along a signature line): closed
    along the row, its tiny letters make a long run. Only letters that are tiny count (under 1.2% of
    the page's height): a bank's name closes into a run too, and must stay print to be recognised."""
    small = mask.astype(np.uint8)
    count, labels, stats = connected_components(small)
    tiny = np.zeros(count, bool)
    tiny[1:] = stats[1:, cv2.CC_STAT_HEIGHT] <= microprint_letter(mask.shape[0])
    small = tiny[labels].astype(np.uint8)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1)))
    return cv2.morphologyEx(closed, cv2.MORPH_OPEN, kernel) & small


def pen_on_lines(gray: np.ndarray, lines: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """The pixels of the field lines taken out that hold a pen's stroke too: a stroke written along
    its line at a shallow angle is cut away with it (and the signature's box with it: a long final
    stroke along the line was lost). Where pen lies on print, the two inks together are darker than
    the line alone; the line's own grey is its darkest pixel in each column, in the lighter columns (a
    stroke along it darkens many of them, not all). A line as black as a pen (a black-and-white clearing image)
    tells nothing, and gives nothing back. Only pieces that touch the strokes (``strokes``: the ink
    left beside the lines) are given back: a line turned straight from a skewed scan darkens here and
    there by interpolation, and its dark bits had joined the label beside it to the signature's box."""
    count, labels, stats = connected_components(lines.astype(np.uint8))
    pen = np.zeros(lines.shape, bool)
    paper = float(np.median(gray))
    for i in np.nonzero(stats[:, cv2.CC_STAT_WIDTH] >= 0.05 * lines.shape[1])[0]:
        if i == 0:
            continue
        x, y, w, h = stats[i, :4]
        line = labels[y : y + h, x : x + w] == i
        grey = gray[y : y + h, x : x + w]
        darkest = np.where(line, grey, 255).min(axis=0)
        darkest = darkest[darkest < 0.6 * paper]  # not the columns where only the line's grey rim was taken
        if darkest.size == 0:
            continue
        level = float(np.percentile(darkest, 90))
        if level < BLACK_LINE:
            continue
        pen[y : y + h, x : x + w] |= line & (grey < ON_THE_LINE * level)
    if not pen.any():
        return pen
    count, labels, _ = connected_components(pen.astype(np.uint8))
    touching = np.zeros(count, bool)
    # (within a few pixels: the line was taken out with a pixel of rim, the stroke's end with it)
    near = cv2.dilate(strokes.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    touching[labels[pen & near]] = True
    touching[0] = False
    return touching[labels]
