"""A whole document (cheque, slip, form; scan, clearing image or photo) to the signatures on it, each
cleaned for the model and checked for what would make its verdict unreliable.

The one function every path uses: the window, ``verify --account`` on a page, ``document``,
``batch`` and ``identify`` call :func:`read_document`, then ``signatures()`` or ``signature_in(box)``.
Steps, each because real documents broke the crop-trained model:
- the page is brought to a working resolution (a 7200-px scan and a 200-dpi clearing image are
  analysed alike) and a black-and-white image is softened to the grey a scan would give;
- on a colour page the pen's ink is separated from security tints and stamps of another hue
  (ink_layers.py) before a grey image is made;
- the page's ink analysis (page.py) finds the signatures and paints over print inside the box;
- a quality check names what it could not remove (a stamp or print over the strokes, too little ink,
  too low a resolution, a box that is mostly paper): the caller turns that into REFER, never FORGED.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sigverify.errors import NoSignatureError
from sigverify.imaging.ink_layers import pen_grey
from sigverify.imaging.page import PageInk, crop, find_signature_boxes, page_ink

#: pages are analysed with their longer side at most this long (a 300-dpi cheque is about 2,100 px)
WORKING_SIDE = 2600
#: a black-and-white image whose longer side is shorter than this is a low-resolution clearing
#: image: brought up to a 300-dpi scan's size, which also gives its strokes a scan's grey edges
CLEARING_SIDE = 1900
#: a signature lower than this (pixels, in the image as captured) is too coarse to judge
MIN_SIGNATURE_HEIGHT = 30
#: fewer dark pixels than this in the cleaned box: too little ink to judge
MIN_INK_PIXELS = 150
#: a signature box covering at least this share of the image means the image is a signature crop
CROP_SHARE = 0.5
#: an image with fewer printed characters than this is a signature crop, not a document
MIN_PRINTED_PIECES = 6
#: the page is turned straight when its print leans by at least this much (degrees)
MIN_SKEW = 0.3


def is_bitonal(grey: np.ndarray) -> bool:
    """Black and white only (a clearing image, a fax), whatever the file's pixel format."""
    counts = np.bincount(grey.ravel(), minlength=256)
    return int(counts[0] + counts[255]) >= 0.99 * grey.size


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the ink's area over its outline's length."""
    inner = cv2.erode(ink, np.ones((3, 3), np.uint8))
    outline = int(ink.sum()) - int(inner.sum())
    return 2.0 * float(ink.sum()) / max(outline, 1)


def softened_bitonal(grey: np.ndarray) -> np.ndarray:
    """A black-and-white image as a grey scan would show it. A cheque scanner's adaptive threshold
    blackens a stroke's whole half-toned rim, so its strokes come out thicker and evenly black: a
    stroke thicker than a 300-dpi pen line is thinned by a pixel on each side, then its edges are
    softened to the grey a scanner's optics give. (Chosen on generated clearing images: the distance
    between a signature's embedding as clearing image and as clean scan halved; see bench/documents.py.)"""
    ink = (grey < 128).astype(np.uint8)
    if stroke_width(ink) >= 4.0:
        grey = cv2.dilate(grey, np.ones((2, 2), np.uint8))
    return cv2.GaussianBlur(grey, (0, 0), 0.5)


def stamp_boxes(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes of rubber stamps left on the (pen-only) page: rings whose whole circumference is ink
    (a round stamp's border) and frames of two long, ruler-straight, parallel vertical sides (a
    rectangular one). A pen never draws either; both survive colour separation only when the stamp
    has the pen's colour, and then the signature cannot be cleaned: the caller refers it."""
    h, w = grey.shape
    scale = 700.0 / w
    small = cv2.resize(grey, (700, max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    ink = cv2.dilate((small < 200).astype(np.uint8), np.ones((3, 3), np.uint8))
    found = []
    circles = cv2.HoughCircles(cv2.GaussianBlur(small, (0, 0), 1.2), cv2.HOUGH_GRADIENT, dp=1.5, minDist=10,
                               param1=80, param2=20, minRadius=max(8, int(0.07 * min(small.shape))),
                               maxRadius=max(9, int(0.3 * small.shape[0])))
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    for x, y, r in ([] if circles is None else circles[0][:60]):
        px = np.clip((x + r * np.cos(angles)).astype(int), 0, small.shape[1] - 1)
        py = np.clip((y + r * np.sin(angles)).astype(int), 0, small.shape[0] - 1)
        if ink[py, px].mean() >= 0.85:
            found.append((x - r, y - r, 2 * r, 2 * r))
    tall = max(12, int(0.11 * small.shape[0]))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, tall)))
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(vertical, 8, cv2.CV_32S, cv2.CCL_GRANA)
    sides = [s for s in stats[1:count] if s[2] <= 6]
    for i, a in enumerate(sides):
        for b in sides[i + 1:]:
            overlap = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
            apart = abs(int(a[0]) - int(b[0]))
            if overlap >= 0.8 * max(a[3], b[3]) and 1.2 * a[3] <= apart <= 5 * a[3]:
                x0, y0 = min(a[0], b[0]), min(a[1], b[1])
                y1 = max(a[1] + a[3], b[1] + b[3])
                # and closed by a top and a bottom side: two straight strokes of a hand are not a frame
                top = ink[max(0, y0 - 3): y0 + 4, x0: x0 + apart].any(0).mean()
                bottom = ink[max(0, y1 - 4): y1 + 3, x0: x0 + apart].any(0).mean()
                if min(top, bottom) >= 0.85:
                    found.append((x0, y0, apart + 4, y1 - y0))
    return [tuple(int(round(v / scale)) for v in box) for box in found]  # type: ignore[misc]


def skew_angle(grey: np.ndarray, limit: float = 4.0, step: float = 0.25) -> float:
    """How many degrees the page's print leans: the turn that makes its rows of ink most
    concentrated (print lines and field lines are horizontal on every document)."""
    h, w = grey.shape
    shrink = max(1.0, w / 700.0)
    small = cv2.resize(grey, (int(w / shrink), int(h / shrink)), interpolation=cv2.INTER_AREA)
    ink = (small < min(200, int(np.percentile(small, 50)) - 40)).astype(np.float32)
    if ink.sum() < 50:
        return 0.0
    centre = (small.shape[1] / 2, small.shape[0] / 2)
    best, best_score = 0.0, -1.0
    for angle in np.arange(-limit, limit + step / 2, step):
        turned = cv2.warpAffine(ink, cv2.getRotationMatrix2D(centre, float(angle), 1.0), small.shape[::-1])
        rows = turned.sum(1)
        score = float((rows ** 2).sum())
        if score > best_score:
            best, best_score = float(angle), score
    return best


@dataclass(frozen=True)
class FoundSignature:
    """One signature on a document: its box in the original image, the cleaned grey crop the model is
    to see, and the reasons (in words) its verdict would not be reliable; none when it looks fine."""

    box: tuple[int, int, int, int]
    image: np.ndarray
    problems: tuple[str, ...] = ()


class DocumentPage:
    """A document read once: later box changes (the clerk's hand, "find all") are lookups."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.original_shape = pixels.shape[:2]
        self.source = pixels
        grey, self.inks = pen_grey(pixels)
        self.bitonal = is_bitonal(grey)
        longer = max(grey.shape)
        self.scale = 1.0
        if longer > WORKING_SIDE:
            self.scale = WORKING_SIDE / longer
        elif self.bitonal and 900 <= longer < CLEARING_SIDE:
            self.scale = 1.5 if longer * 1.5 <= WORKING_SIDE else WORKING_SIDE / longer
        if self.scale != 1.0:
            size = (max(1, int(round(grey.shape[1] * self.scale))), max(1, int(round(grey.shape[0] * self.scale))))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        if self.bitonal:
            grey = softened_bitonal(grey)
        self.angle = skew_angle(grey)
        self._turn = None
        if abs(self.angle) >= MIN_SKEW:
            centre = (grey.shape[1] / 2, grey.shape[0] / 2)
            self._turn = cv2.getRotationMatrix2D(centre, self.angle, 1.0)
            grey = cv2.warpAffine(grey, self._turn, grey.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=255)
        self.grey = grey
        self._ink: PageInk | None = None
        self._stamps: list | None = None

    @property
    def ink(self) -> PageInk:
        """The page's ink analysis; raises NoSignatureError on a page with no ink."""
        if self._ink is None:
            self._ink = page_ink(self.grey)
        return self._ink

    def _to_page(self, box) -> tuple[int, int, int, int]:
        """A box on the original image to the analysed page (scaled, turned straight)."""
        return self._map(box, forward=True)

    def _to_original(self, box) -> tuple[int, int, int, int]:
        return self._map(box, forward=False)

    def _map(self, box, forward: bool) -> tuple[int, int, int, int]:
        x, y, w, h = (float(v) for v in box)
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]])
        if forward:
            corners = corners * self.scale
        if self._turn is not None:
            matrix = self._turn if forward else cv2.invertAffineTransform(self._turn)
            corners = corners @ matrix[:, :2].T + matrix[:, 2]
        if not forward:
            corners = corners / self.scale
        x0, y0 = corners.min(0)
        x1, y1 = corners.max(0)
        if self._turn is not None:  # the box around a turned box is larger by its corners: take the middle
            shrink_x, shrink_y = (x1 - x0 - w * (self.scale if forward else 1 / self.scale)) / 2, \
                (y1 - y0 - h * (self.scale if forward else 1 / self.scale)) / 2
            x0, x1, y0, y1 = x0 + shrink_x, x1 - shrink_x, y0 + shrink_y, y1 - shrink_y
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))

    def signatures(self, max_count: int = 4) -> list[FoundSignature]:
        """The signatures found on the page, strongest first; raises NoSignatureError when none."""
        boxes = find_signature_boxes(self.grey, max_count=max_count, ink=self.ink)
        return [self._found(box) for box in boxes]

    def signature_in(self, box: tuple[int, int, int, int]) -> FoundSignature:
        """The signature in a box the clerk drew (original image coordinates)."""
        return self._found(self._to_page(box))

    def printed_share(self, box: tuple[int, int, int, int]) -> float:
        return self.ink.printed_share(self._to_page(box))

    @property
    def stamps(self) -> list[tuple[int, int, int, int]]:
        if self._stamps is None:
            self._stamps = stamp_boxes(self.grey)
        return self._stamps

    def _plain(self) -> bool:
        """A signature crop as scanned: no print, no other ink taken out, not resized or turned; it is
        verified from its own pixels, exactly as the specimens and the training images were."""
        try:
            printed = int(self.ink.printed.sum())
        except NoSignatureError:
            printed = 0
        return (printed < MIN_PRINTED_PIECES and not self.inks.get("removed") and self.scale == 1.0
                and self._turn is None and not self.bitonal)

    def _found(self, box) -> FoundSignature:
        try:
            image = crop(self.source, box) if self._plain() else self.ink.without_print(self.grey, box)
        except NoSignatureError:
            image = crop(self.grey, box)
        return FoundSignature(self._to_original(box), image, tuple(self.problems(box, image)))

    def problems(self, box, image: np.ndarray) -> list[str]:
        """What makes a verdict on this box unreliable, in words a clerk can act on."""
        problems = []
        x, y, w, h = box
        covered = [s for s in self.stamps if box_iou(s, box) > 0 and _overlap(s, box) >= 0.04 * w * h]
        if covered:
            problems.append("a stamp lies over the signature: SigVerify cannot separate it from the strokes; "
                            "compare by eye or ask for a clean copy")
        try:
            printed = self.ink.printed_share(box)
        except NoSignatureError:
            printed = 0.0
        if printed > 0.3:
            problems.append("print lies over the signature: move the box onto the handwriting or compare by eye")
        original_h = h / self.scale
        if original_h < MIN_SIGNATURE_HEIGHT:
            problems.append(f"the signature is only {original_h:.0f} pixels high: scan it at 200 dpi or more")
        ink = int((image < 160).sum())
        if ink < MIN_INK_PIXELS:
            problems.append("too little ink in the box to judge: is the signature there and legible?")
        elif ink < 0.004 * image.size:
            problems.append("the box is mostly paper: draw it tighter around the signature")
        return problems


def read_document(pixels: np.ndarray) -> DocumentPage:
    """Read a decoded document (grey or RGB uint8) for its signatures."""
    return DocumentPage(np.asarray(pixels))


def questioned_signature(pixels: np.ndarray) -> FoundSignature:
    """The signature a file or a camera brings: on a document (the signature a small part of the
    page), the strongest signature found there, cleaned and checked; a signature crop as it is."""
    h, w = pixels.shape[:2]
    whole = FoundSignature((0, 0, w, h), pixels, ())
    try:
        page = read_document(pixels)
        # a document has print (a bank's name, labels, amounts); a signature crop has none, and its
        # strongest cluster of ink may be one word of the name: it is verified whole
        if int(page.ink.printed.sum()) < MIN_PRINTED_PIECES:
            return whole
        best = page.signatures(1)[0]
    except NoSignatureError:
        return whole  # preprocessing gives its own plain error for a blank image
    return whole if best.box[2] * best.box[3] >= CROP_SHARE * w * h else best


def _overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))


def box_iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / float(union) if union else 0.0


