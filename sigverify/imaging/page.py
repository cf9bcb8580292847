"""Finding the signature on a full scanned page (cheque, slip, form) to propose a crop box.

Printed lines are removed (long horizontal and vertical runs), printed characters (small, in
rows on one baseline) and field boxes are taken out, the ink left is blurred into blobs, and the
largest cluster of handwriting-like ink is proposed. The clerk always sees the proposal and can
adjust it. Measured on generated cheques by bench/cheques.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sigverify.errors import NoSignatureError
from sigverify.imaging.preprocess import connected_components, to_grayscale


def remove_form_lines(mask: np.ndarray, fraction: float = 0.25) -> np.ndarray:
    """Drop long horizontal and vertical straight runs (boxes, baselines) from an ink mask."""
    h, w = mask.shape
    out = mask.copy()
    for length, shape in ((int(w * fraction), (max(int(w * fraction), 2), 1)),
                          (int(h * fraction), (1, max(int(h * fraction), 2)))):
        if length < 15:
            continue
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, shape)
        lines = cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
        out &= ~lines.astype(bool)
    return out


def printed_components(stats: np.ndarray, mask_labels: np.ndarray | None = None,
                       page_height: int | None = None) -> np.ndarray:
    """Which connected components (rows of ``stats``, 0 = background) look printed: small
    characters standing in a row (three or more, of similar height, on one baseline — print's
    regularity a hand does not keep, at a size print has on a document: under 6.5% of the page's
    height), and box outlines (all their ink on the border of their bounding box)."""
    count = len(stats)
    printed = np.zeros(count, bool)
    x, y, w, h = (stats[:, i].astype(np.float64) for i in range(4))
    bottom = y + h
    usable = np.arange(count) > 0
    usable &= h >= 4
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(x)
    candidates = [int(i) for i in order if usable[i]]
    for a_index, a in enumerate(candidates):
        for b in candidates[a_index + 1:]:
            gap = x[b] - (x[a] + w[a])
            if gap > 1.5 * max(h[a], h[b]):
                if x[b] > x[a] + w[a] + 3 * max(h[a], 40):
                    break
                continue
            overlap = min(bottom[a], bottom[b]) - max(y[a], y[b])
            if overlap >= 0.6 * min(h[a], h[b]) and max(h[a], h[b]) <= 2.2 * min(h[a], h[b]):
                parent[root(a)] = root(b)
    rows: dict[int, list[int]] = {}
    for i in candidates:
        rows.setdefault(root(i), []).append(i)
    small = 0.065 * page_height if page_height else np.inf
    for members in rows.values():
        if len(members) < 3:
            continue
        heights, bottoms = h[members], bottom[members]
        typical = float(np.median(heights))
        on_baseline = np.abs(bottoms - np.median(bottoms)) <= 0.15 * typical
        if typical <= small and on_baseline.mean() >= 0.7 and heights.std() <= 0.35 * typical:
            printed[members] = True
    if mask_labels is not None:
        for i in np.nonzero(usable & (w > 60) & (h > 30))[0]:  # a box drawn around a field
            x0, y0, x1, y1 = int(x[i]), int(y[i]), int(x[i] + w[i]), int(y[i] + h[i])
            inner = mask_labels[y0 + 5 : y1 - 5, x0 + 5 : x1 - 5] == i
            total = int(stats[i, cv2.CC_STAT_AREA])
            if total and inner.sum() <= 0.05 * total:
                printed[i] = True
    return printed


def _page_ink(gray: np.ndarray) -> np.ndarray:
    """The page's ink without its field lines; raises NoSignatureError on a page with none."""
    # local threshold: uneven lighting of phone photos and scanner gradients
    block = max(15, (min(gray.shape) // 20) | 1)
    local = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15) > 0
    otsu, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # a pale pen (grey ballpoint, pencil) can be lighter than Otsu's cut between paper and black print:
    # ink is what is clearly darker than its neighbourhood, and darker than the paper's typical level
    paper = float(np.percentile(gray, 75))
    mask = local & (gray < max(otsu, paper - 40))
    if float(gray[~mask].mean() if (~mask).any() else 0) - float(gray[mask].mean() if mask.any() else 255) < 30:
        raise NoSignatureError("no ink found on the page")
    return remove_form_lines(mask, 0.15)  # field lines (date, payee, signature) are a sixth of the page or more


@dataclass(frozen=True)
class PageInk:
    """A page's ink as connected components, and which of them look printed: worked out once per
    page, then any box (the finder's candidates, the clerk's crop) is a lookup."""

    labels: np.ndarray
    stats: np.ndarray
    printed: np.ndarray  # per component (0 = paper)

    def printed_share(self, box: tuple[int, int, int, int]) -> float:
        """How much of the ink inside ``box`` looks printed: a box on a bank's name or an amount
        should not be verified as a signature."""
        x, y, w, h = box
        inside = self.labels[max(0, y):y + h, max(0, x):x + w]
        ink = inside[inside > 0]
        return float(self.printed[ink].mean()) if ink.size else 0.0


def page_ink(image: np.ndarray) -> PageInk:
    """The page's ink (field lines removed) and its printed parts; raises NoSignatureError on a
    page with no ink."""
    gray = cv2.medianBlur(to_grayscale(image), 3)
    count, labels, stats = connected_components(_page_ink(gray).astype(np.uint8))
    return PageInk(labels, stats, printed_components(stats, labels, gray.shape[0]))


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
        chosen = [c for c in _grow_cluster(stats, label) if c not in used]
        used.update(chosen)
        bx0 = min(stats[c, 0] for c in chosen)
        by0 = min(stats[c, 1] for c in chosen)
        bx1 = max(stats[c, 0] + stats[c, 2] for c in chosen)
        by1 = max(stats[c, 1] + stats[c, 3] for c in chosen)
        region = mask[by0:by1, bx0:bx1] & np.isin(labels[by0:by1, bx0:bx1], chosen)
        ys, xs = np.nonzero(region)
        x0, x1, y0, y1 = bx0 + xs.min(), bx0 + xs.max() + 1, by0 + ys.min(), by0 + ys.max() + 1
        pad_x, pad_y = int((x1 - x0) * margin) + 4, int((y1 - y0) * margin) + 4
        x0, y0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
        x1, y1 = min(page_shape[1], x1 + pad_x), min(page_shape[0], y1 + pad_y)
        boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return boxes


def _grow_cluster(stats: np.ndarray, best: int) -> list[int]:
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
            if gap_x <= 2.0 * h and overlap_y > 0.3 * min(h, bh) and bh < 2.5 * h:  # words of one name
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
