"""Finding the signature on a full scanned page (cheque, slip, form) to propose a crop box.

Ink is what is clearly darker than its own paper (pale pens and uneven light included); printed
lines are removed (long horizontal and vertical runs, keeping the strokes written across them),
printed characters (rows of type: a common baseline, a few exact sizes, with their dots and
dashes) and what is left of field boxes are taken out, the ink left is blurred into blobs, and
the largest cluster of handwriting-like ink is proposed. The clerk always sees the proposal and
can adjust it. Measured on generated cheques by bench/cheques.py."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from sigverify.errors import NoSignatureError
from sigverify.imaging.field_lines import microprint_letter, pen_on_lines, remove_form_lines
from sigverify.imaging.glued_print import LABEL_X_HEIGHT, hidden_rows, labels_a_line, pen_width, strokes_through
from sigverify.imaging.preprocess import PreprocessParams, connected_components, paper_darkness, to_grayscale
from sigverify.imaging.signature_lines import line_gaps


def printed_components(stats: np.ndarray, mask_labels: np.ndarray | None = None,
                       page_height: int | None = None, rows_found: list | None = None,
                       on_line: np.ndarray | None = None) -> np.ndarray:
    """Which connected components (rows of ``stats``, 0 = background) look printed: small
    characters standing in a row (three or more on one baseline, at a size print has on a
    document: under 6.5% of the page's height) that come in a few exact sizes — most have a twin
    of the same height at the same height, which a hand's letters do not — and are shaped like
    characters or stand ruler-straight; the dots and dashes that continue such a row; straight
    bars (a field box's sides) and box outlines (all their ink on the border of their box)."""
    count = len(stats)
    printed = np.zeros(count, bool)
    x, y, w, h = (stats[:, i].astype(np.float64) for i in range(4))
    bottom = y + h  # rows: pieces overlapping vertically, a character's gap apart
    not_paper = np.arange(count) > 0
    usable = not_paper & (h >= 4)
    letters = usable & ~on_line if on_line is not None else usable  # what may stand in a row of type
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(x)
    candidates = [int(i) for i in order if letters[i]]
    for a_index, a in enumerate(candidates):
        for b in candidates[a_index + 1:]:
            gap = x[b] - (x[a] + w[a])
            if gap > 6 * max(h[a], 40):
                break
            overlap = min(bottom[a], bottom[b]) - max(y[a], y[b])
            if gap > 1.5 * max(h[a], h[b]):
                # farther apart (a label whose middle letters the strokes swallowed): only letters of
                # one size standing on the same ruler-straight baseline, to a pixel or two
                if (abs(bottom[a] - bottom[b]) <= max(1.5, 0.06 * max(h[a], h[b])) and gap <= 6 * max(h[a], h[b])
                        and max(h[a], h[b]) <= 1.5 * min(h[a], h[b])):
                    parent[root(a)] = root(b)
                continue
            if overlap >= 0.6 * min(h[a], h[b]) and max(h[a], h[b]) <= 2.2 * min(h[a], h[b]):
                parent[root(a)] = root(b)
    rows: dict[int, list[int]] = {}
    for i in candidates:
        rows.setdefault(root(i), []).append(i)
    small = 0.065 * page_height if page_height else np.inf
    for members in rows.values():
        # a stroke that touches a label's letter joins its row, far taller than type: the row is
        # judged (and printed) without such pieces
        typical = float(np.median(h[members]))  # a row has one member at least
        trimmed = [i for i in members if h[i] <= 2.5 * typical]
        if len(members) - len(trimmed) <= max(1, len(members) // 4):
            members = trimmed
        if len(members) >= 3 and _row_is_type(x[members], y[members], w[members], h[members], small):
            printed[members] = True
            typical = float(np.median(h[members]))
            row = _extend_row(printed, members, x, y, w, h, typical, letters)
            if rows_found is not None:
                rows_found.append(row)
            _attach_marks(printed, members, x, y, w, h, typical, np.nonzero(not_paper & (h < 0.5 * typical))[0])
    # what is left of a field box once its lines are gone: a straight, thin, solid bar
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    tall = max(25.0, 0.06 * page_height) if page_height else 25.0  # a field box's height, not a stroke's piece
    # (ruler-straight and pen-line thin: an Arabic alif or a hand's upright stroke is neither)
    bars = usable & (h >= tall) & (w <= np.maximum(5, 0.06 * h)) & (area >= 0.8 * w * h)
    printed |= bars
    if mask_labels is not None:
        for i in np.nonzero(usable & (w > 60) & (h > 30))[0]:  # a box drawn around a field
            x0, y0, x1, y1 = int(x[i]), int(y[i]), int(x[i] + w[i]), int(y[i] + h[i])
            inner = mask_labels[y0 + 5 : y1 - 5, x0 + 5 : x1 - 5] == i
            total = int(stats[i, cv2.CC_STAT_AREA])
            if total and inner.sum() <= 0.05 * total:
                printed[i] = True
    return printed


def _row_is_type(x, y, w, h, largest: float) -> bool:
    """Whether pieces standing in one row (bounding boxes) are type rather than handwriting."""
    bottoms = y + h
    typical = float(np.median(h))
    on_baseline = np.abs(bottoms - np.median(bottoms)) <= 0.15 * typical
    # characters are about as wide as tall; a cursive word (a signature's, Devanagari's joined
    # letters under their headline) is several times wider than tall ...
    character_like = np.median(w / h) <= 1.6 and w.max() <= 4.0 * typical
    # ... unless the characters touch (bold, MICR): then the row stands on a ruler-straight
    # baseline, to a pixel or two, which no hand keeps over four pieces
    exact = len(h) >= 4 and (np.abs(bottoms - np.median(bottoms)) <= max(1.5, 0.06 * typical)).mean() >= 0.7
    # type comes in a few exact sizes: most characters have a twin of the same height standing at
    # the same height (every x-height letter, every digit); a hand's letters vary continuously
    tolerance = np.maximum(1.5, 0.05 * h)[:, None]
    twins = ((np.abs(h[:, None] - h[None]) <= tolerance) & (np.abs(y[:, None] - y[None]) <= tolerance)).sum(1) > 1
    return bool(typical <= largest and on_baseline.mean() >= 0.6 and h.std() <= 0.5 * typical
                and twins.mean() >= 0.5 and twins.sum() >= 3 and (character_like or exact))


def _extend_row(printed: np.ndarray, members: list[int], x, y, w, h, typical: float, usable) -> "TypeRow":
    """The rest of a printed row: letters of its size standing on its baseline (or hanging from its
    x-height, as g and p do) next to it. A stroke crossing a label joins some of its letters and
    splits the row; the letters on either side are still the same row of type."""
    bottom = y + h
    baseline = float(np.median(bottom[members]))
    x_height = float(np.median(y[members][h[members] <= 1.1 * typical]))
    tolerance = max(1.5, 0.08 * typical)
    sized = usable & ~printed & (h <= 1.6 * typical) & (h >= 0.4 * typical)
    aligned = sized & ((np.abs(bottom - baseline) <= tolerance) | (np.abs(y - x_height) <= tolerance))
    left, right = x[members].min(), (x[members] + w[members]).max()
    changed = True
    while changed:
        changed = False
        for i in np.nonzero(aligned & ~printed)[0]:
            if left - 3 * typical <= x[i] + w[i] and x[i] <= right + 3 * typical:
                printed[i] = True
                left, right = min(left, x[i]), max(right, x[i] + w[i])
                changed = True
    top = float(y[members].min())
    return TypeRow(int(left), int(right), int(top), int(round(baseline)), float(typical))


@dataclass(frozen=True)
class TypeRow:
    """Where a row of print stands on the page: its letters' span, cap top, baseline and height."""

    left: int
    right: int
    top: int
    baseline: int
    letter: float


def _attach_marks(printed: np.ndarray, members: list[int], x, y, w, h, typical: float, candidates) -> None:
    """Dots, hyphens and dashes too small to stand in a row are print when they continue a
    printed row (an i's dot, the ---- after an amount in words)."""
    left, right = x[members].min(), (x[members] + w[members]).max()
    top, bottom = y[members].min() - 0.6 * typical, (y[members] + h[members]).max() + 0.3 * typical
    for i in sorted(candidates, key=lambda i: x[i]):
        centre = y[i] + h[i] / 2
        if not top <= centre <= bottom or x[i] > right + 1.5 * typical or x[i] + w[i] < left - 1.5 * typical:
            continue
        printed[i] = True
        right = max(right, x[i] + w[i])


def _page_ink(gray: np.ndarray, bitonal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The page's ink without its field lines (but with a pen's strokes on them, except on a
    black-and-white image: see page_ink), and the field lines taken out; raises NoSignatureError on
    a page with no ink."""
    # how much darker than its own paper each pixel is (preprocessing's paper level: uneven light
    # of phone photos and scanner gradients), in grey levels: a pale pen (grey ballpoint, pencil)
    # is far lighter than black print but still clearly darker than its paper
    darker = np.clip(paper_darkness(gray, PreprocessParams()) * 255.0, 0, 255).astype(np.int16)
    # the paper's grain: how much flat paper differs from its smoothed self (robust to the ink)
    grain = float(np.median(np.abs(gray.astype(np.int16) - cv2.blur(gray, (5, 5)).astype(np.int16)))) * 1.48
    # half the darkness of the nearest stroke's core: a black print's grey anti-aliased rim is
    # not ink (it would merge the characters), while a pale stroke is ink all the same
    core = cv2.dilate(darker, np.ones((5, 5), np.uint8))
    mask = (darker > max(14.0, 6.0 * grain)) & (darker > core // 2)
    if not mask.any() or float(np.percentile(darker[mask], 90)) < 30:
        raise NoSignatureError("no ink found on the page")
    # field lines (date, payee, signature) are a sixth of the page or more
    ink = remove_form_lines(mask, 0.15, broken=bitonal)
    # what a thick or jagged line leaves behind: a hair of a row or two along it, long and flat as no
    # stroke is
    # (and beside it, where that hair touches a stroke: a run along the row, in the line's band)
    band = cv2.dilate((mask & ~ink).astype(np.uint8), np.ones((5, 1), np.uint8))
    ink = ink & ~cv2.morphologyEx(ink.astype(np.uint8) & band, cv2.MORPH_OPEN, np.ones((1, 25), np.uint8)).astype(bool)
    count, labels, stats = connected_components(ink.astype(np.uint8))
    flat = (stats[:, cv2.CC_STAT_HEIGHT] <= 4) & (stats[:, cv2.CC_STAT_WIDTH] >= 0.05 * gray.shape[1])
    flat[0] = False
    if flat.any():
        ink = ink & ~flat[labels]
    lines = mask & ~ink
    # a stroke's pixels on a line are ink, and stay part of the line too: the line still runs on
    # under the signature (a joint cheque is cut only where its lines part)
    return (ink if bitonal else ink | pen_on_lines(gray, lines, ink)), lines


@dataclass(frozen=True)
class PageInk:
    """A page's ink as connected components, and which of them look printed: worked out once per
    page, then any box (the finder's candidates, the clerk's crop) is a lookup."""

    labels: np.ndarray
    stats: np.ndarray
    printed: np.ndarray  # per component (0 = paper)
    rows: tuple = ()     # TypeRow per row of print found
    lines: np.ndarray | None = None  # the field lines taken out (a mask; a pen's stroke on them is ink too)

    def printed_share(self, box: tuple[int, int, int, int]) -> float:
        """How much of the ink inside ``box`` looks printed: a box on a bank's name or an amount
        should not be verified as a signature."""
        x, y, w, h = box
        inside = self.labels[max(0, y):y + h, max(0, x):x + w]
        ink = inside[inside > 0]
        return float(self.printed[ink].mean()) if ink.size else 0.0


    def is_document(self, box: tuple[int, int, int, int]) -> bool:
        """Whether the box lies on a document (print outside it) rather than being a signature crop."""
        x, y, w, h = (int(v) for v in box)
        left, top, width, height = (self.stats[:, i] for i in range(4))
        outside = (left + width <= x) | (left >= x + w) | (top + height <= y) | (top >= y + h)
        return int((self.printed & outside).sum()) >= 3

    def _glued_print(self, x: int, y: int, width: int, height: int) -> np.ndarray:
        """Letters of a printed row that a stroke touches, so that they became one piece of ink with
        the handwriting: within the row's band, everything but the strokes passing through it
        (_strokes_through) is print. For the box (x, y, width, height) on the page; the page's ink
        around it says whether a stroke leaving a band carries on."""
        glued = np.zeros((height, width), bool)
        found = hidden_rows(self.labels[y:y + height, x:x + width] > 0,
                            largest=max(5, int(LABEL_X_HEIGHT * self.labels.shape[0]))) if self.lines is not None else []
        hidden = [TypeRow(left + x, right + x, int(y + baseline - 1.4 * x_height), y + baseline, 1.4 * x_height)
                  for left, right, baseline, x_height in found
                  if labels_a_line(self._guides, left + x, right + x, y + baseline, x_height)]
        rows = (*self.rows, *hidden)
        if not rows:
            return glued
        margin = int(2 * max(row.letter for row in rows)) + 2
        y0 = max(0, y - margin)
        ink = self.labels[y0:y + height + margin, x:x + width] > 0
        stroke = pen_width(ink)
        for row in rows:
            # capitals and ascenders stand above the x-height letters the row may have been found by
            top, bottom = int(min(row.top, row.baseline - 1.5 * row.letter)) - 1 - y, row.baseline + 2 - y
            if bottom <= 0 or top >= height:
                continue
            top, bottom = max(0, top), min(height, bottom)
            # the row goes on (its letters glued into the strokes) as far as its band holds ink
            columns = ink[top + y - y0:bottom + y - y0].any(axis=0)
            reach = int(3 * row.letter)
            left, right = row.left - x, row.right - x  # the row may end just beside the box
            if right < -reach or left > width + reach:
                continue
            left, right = min(max(0, left), width), max(min(width, right), 0)
            while left > 0 and columns[max(0, left - reach):left].any():
                left = max(0, left - reach) + int(np.argmax(columns[max(0, left - reach):left]))
            while right < width and columns[right:right + reach].any():
                right = right + len(columns[right:right + reach]) - int(np.argmax(columns[right:right + reach][::-1]))
            if right <= left:
                continue
            band = ink[top + y - y0:bottom + y - y0, left:right]
            through = strokes_through(ink, top + y - y0, bottom + y - y0, left, right, row.letter, stroke)
            glued[top:bottom, left:right] |= band & ~through
        return glued

    def without_print(self, image: np.ndarray, box: tuple[int, int, int, int], bitonal: bool = False) -> np.ndarray:
        """The box's pixels with the print inside it (a "Signature" label the strokes reach down
        to, a bank's name) painted over with the paper around it: the model is to see the
        handwriting only, as it did in training. Only on a document, a page with print outside
        the box: a lone signature's own marks are never erased (Arabic dots on a baseline can
        look like a row of type). On a black-and-white image (``bitonal``) pen and line are the same
        black, so the line's crossings are left as the page's ink analysis kept them."""
        piece = crop(image, box).copy()
        if not self.is_document(box):
            return piece
        x, y = max(0, int(box[0])), max(0, int(box[1]))
        labels = self.labels[y : y + piece.shape[0], x : x + piece.shape[1]]
        handwriting = ~self.printed[labels] & (labels > 0)
        type_marks = self.printed[labels] & (labels > 0)
        # a small mark touching the handwriting stays: a stroke's piece cut off by a field line can
        # look like a printed dot, and a notch in the stroke would do more harm than a dot of print.
        # A whole printed letter goes even where a stroke passes within a pixel or two of it: how
        # close the label's letters come to the strokes is chance (OpenCV 5.1 spaces the same text
        # wider than 5.0, and a label that stayed on one version was painted over on the other)
        near = cv2.dilate(handwriting.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        touching = np.unique(labels[type_marks & near])
        heights = self.stats[np.unique(labels[type_marks]), cv2.CC_STAT_HEIGHT]
        letter = 0.6 * float(np.median(heights)) if heights.size else np.inf
        small = touching[self.stats[touching, cv2.CC_STAT_HEIGHT] < letter]
        # everything else goes too: the field line under the strokes (its crossings stay, they are in
        # the handwriting), its anti-aliased rows, the print: the model then sees the strokes on
        # bare paper as on a specimen scan, and preprocessing's own line rule has nothing to find
        kept = handwriting | (np.isin(labels, small) & (labels > 0))
        glued = self._glued_print(x, y, piece.shape[1], piece.shape[0])
        kept &= ~glued
        kept = cv2.dilate(kept.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # with the strokes' grey rims
        kept &= ~glued  # (not the letters a stroke touches: the stroke's own path is its rim there)
        # but never a printed letter's own ink, however close a stroke passes
        kept &= ~type_marks | np.isin(labels, small)
        paper = np.median(piece[~kept], axis=0) if (~kept).any() else 255
        piece[~kept] = paper
        return piece if bitonal else self._across_the_line(piece, handwriting, x, y)

    @cached_property
    def _guides(self) -> np.ndarray:
        """The lines a form's label stands under: the field lines, and the rows of microprint (a
        security cheque's signature line is tiny repeated text; where the strokes cross it, its
        letters join them and only its pieces are found as rows of type, not as a line). Once a page."""
        guides = self.lines.copy()
        tiny = microprint_letter(guides.shape[0])
        for row in self.rows:
            if row.letter <= tiny:
                guides[max(0, row.top):row.baseline + 1, row.left:row.right + 1] = True
        return guides

    def _across_the_line(self, piece: np.ndarray, handwriting: np.ndarray, x: int, y: int) -> np.ndarray:
        """The strokes carried on across the field line they were written on: where the line was
        (and is not a stroke's, pen_on_lines), the crop is filled in from the pixels around it (paper,
        or a stroke entering from above or below), so the model sees a stroke whole, not cut at the
        line with a stub of print beside each crossing. (The field line was the largest part of a
        genuine signature's distance growing on a plain grey cheque. Filling each column from the
        pixels above and below only, which smears nothing along the line, left genuine signatures
        further from their specimens: scratch measurements in the closing note.)"""
        if self.lines is None or piece.ndim != 2:
            return piece
        line = self.lines[y : y + piece.shape[0], x : x + piece.shape[1]]
        if not line.any():
            return piece
        band = cv2.dilate(line.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~handwriting
        return cv2.inpaint(piece, band.astype(np.uint8), 3, cv2.INPAINT_TELEA)


def page_ink(image: np.ndarray, bitonal: bool = False) -> PageInk:
    """The page's ink (field lines removed) and its printed parts; raises NoSignatureError on a
    page with no ink. ``bitonal``: the page was black and white (softened to grey for the analysis),
    so pen and print were the same black and no stroke can be told from the line it lies on: the
    softening's uneven grey along a jagged line would otherwise give back whole stretches of the
    line as "pen" (200-dpi clearing images: the signature line stayed in the crop)."""
    gray = cv2.medianBlur(to_grayscale(image), 3)
    ink, lines = _page_ink(gray, bitonal)
    count, labels, stats = connected_components(ink.astype(np.uint8))
    # pieces a field line was taken out of: the strokes of a signature written on its line, cut
    # there, stand on one flat bottom as type does; no printed row touches a line
    near_line = cv2.dilate(lines.astype(np.uint8), np.ones((7, 1), np.uint8)).astype(bool)
    on_line = np.bincount(labels[near_line], minlength=count) > 0
    on_line[0] = False
    rows: list = []
    printed = printed_components(stats, labels, gray.shape[0], rows, on_line)
    return PageInk(labels, stats, printed, tuple(rows), lines)


def find_signature_box(image: np.ndarray, margin: float = 0.04, ink: PageInk | None = None) -> tuple[int, int, int, int]:
    """Propose (x, y, w, h) of the signature on a page; raises NoSignatureError on a blank page."""
    return find_signature_boxes(image, max_count=1, margin=margin, ink=ink)[0]


def find_signature_boxes(image: np.ndarray, max_count: int = 4, min_share: float = 0.15,
                         margin: float = 0.04, ink: PageInk | None = None) -> list[tuple[int, int, int, int]]:
    """Boxes of the most signature-like ink clusters, strongest first (documents with several
    signatures); clusters weaker than ``min_share`` of the strongest are left out. ``ink``: the
    page's analysis when the caller already has it (page_ink)."""
    ink = ink or page_ink(image)
    keep = np.zeros(len(ink.stats), bool)
    keep[1:] = ink.stats[1:, cv2.CC_STAT_AREA] >= 8
    keep &= ~ink.printed  # bank name, payee, amounts, MICR, field boxes
    mask = keep[ink.labels]
    page_shape = ink.labels.shape
    if mask.sum() < 50:
        raise NoSignatureError("no signature found on the page")
    # join the strokes of one signature into one blob, but not separate lines of print
    size = max(5, int(min(page_shape) * 0.03))
    # a rectangle is separable, so this dilation costs little even on a 300-dpi page
    blobs = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (size * 2, size)))
    count, labels, stats = connected_components(blobs)
    ink_per_blob = np.bincount(labels[mask], minlength=count)
    # handwriting: much ink, tall strokes (print lines are flat), not a thin strip
    heights = stats[:, cv2.CC_STAT_HEIGHT]
    scores = {label: float(ink_per_blob[label]) * min(1.0, heights[label] / max(1.0, 0.08 * page_shape[0]))
              for label in range(1, count)}
    boxes, used = [], set()
    for label in sorted(scores, key=scores.get, reverse=True):
        if label in used or len(boxes) >= max_count or scores[label] < min_share * max(scores.values()):
            continue
        chosen = [c for c in _grow_cluster(stats, label, JOINT_GAP * page_shape[1]) if c not in used]
        used.update(chosen)
        bx0 = min(stats[c, 0] for c in chosen)
        by0 = min(stats[c, 1] for c in chosen)
        bx1 = max(stats[c, 0] + stats[c, 2] for c in chosen)
        by1 = max(stats[c, 1] + stats[c, 3] for c in chosen)
        region = mask[by0:by1, bx0:bx1] & np.isin(labels[by0:by1, bx0:bx1], chosen)
        cuts = [bx0, *line_gaps(ink.lines, mask, bx0, by0, bx1, by1), bx1] if ink.lines is not None else [bx0, bx1]
        for left, right in zip(cuts[:-1], cuts[1:]):  # one box per signature line under the cluster
            ys, xs = np.nonzero(region[:, left - bx0 : right - bx0])
            if xs.size == 0 or (len(cuts) > 2 and xs.size < 50) or len(boxes) >= max_count:
                continue
            x0, x1, y0, y1 = left + xs.min(), left + xs.max() + 1, by0 + ys.min(), by0 + ys.max() + 1
            pad_x, pad_y = int((x1 - x0) * margin) + 4, int((y1 - y0) * margin) + 4
            x0, y0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
            x1, y1 = min(page_shape[1], x1 + pad_x), min(page_shape[0], y1 + pad_y)
            boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    if not boxes:
        raise NoSignatureError("no signature found on the page")
    return boxes



#: two ink clusters further apart than this share of the page's width are two signatures (a joint
#: cheque's signatories sign side by side), however tall their strokes
JOINT_GAP = 0.12


def _grow_cluster(stats: np.ndarray, best: int, max_gap: float = np.inf) -> list[int]:
    """The chosen blob plus blobs beside it on the same line: a signature's detached strokes."""
    x, y, w, h = (int(v) for v in stats[best][:4])
    chosen = [best]
    changed = True
    while changed:
        changed = False
        for label in range(1, len(stats)):
            if label in chosen:
                continue
            bx, by, bw, bh = (int(v) for v in stats[label][:4])
            gap_x = max(bx - (x + w), x - (bx + bw), 0)
            overlap_y = min(y + h, by + bh) - max(y, by)
            # words of one name: a word's gap apart (the smaller part's height), on one line
            if gap_x <= min(1.2 * min(h, bh), max_gap) and overlap_y > 0.3 * min(h, bh) and bh < 2.5 * h:
                x0, y0 = min(x, bx), min(y, by)
                x, y, w, h = x0, y0, max(x + w, bx + bw) - x0, max(y + h, by + bh) - y0
                chosen.append(label)
                changed = True
    return chosen


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box's pixels, clipped to the image."""
    x, y, w, h = box
    x0, y0 = max(0, int(x)), max(0, int(y))
    x1, y1 = min(image.shape[1], int(x + w)), min(image.shape[0], int(y + h))
    if x1 <= x0 or y1 <= y0:
        raise NoSignatureError("the selected area is empty")
    return image[y0:y1, x0:x1]
