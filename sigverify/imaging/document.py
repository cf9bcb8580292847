"""A whole document (cheque, slip, form; scan, clearing image or photo) to the signatures on it, each
cleaned for the model and checked for what would make its verdict unreliable.

The one function every path uses: the window, ``verify --account`` on a page, ``document``,
``batch`` and ``identify`` call :func:`read_document`, then ``signatures()`` or ``signature_in(box)``.
Steps, each because real documents broke the crop-trained model:
- a phone photo's sheet, seen in perspective, is flattened back to a rectangle (photo.py);
- the page is brought to a working resolution (a 7200-px scan and a 200-dpi clearing image are
  analysed alike) and a black-and-white image is softened to the grey a scan would give;
- on a colour page the pen's ink is separated from security tints and stamps of another hue
  (ink_layers.py) before a grey image is made;
- the page's ink analysis (page.py) finds the signatures and paints over print inside the box;
- a quality check names what it could not remove (a stamp or print over the strokes, too little ink,
  too low a resolution, a box that is mostly paper): the caller turns that into REFER, never FORGED.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from sigverify.errors import NoSignatureError, SigVerifyError
from sigverify.imaging.ink_layers import PEN_DENSITY_SHARE, PHOTO_PEN_DENSITY_SHARE, pen_grey
from sigverify.imaging.page import PageInk, crop, find_signature_boxes, page_ink
from sigverify.imaging.photo import corners_of, flattened, outside_of, paper_region, warped_box
from sigverify.imaging.preprocess import PreprocessParams, preprocess_with_box, to_grayscale
from sigverify.imaging.stamp_lift import lifted
from sigverify.imaging.stamps import Stamp, found_stamps

#: pages are analysed with their longer side at most this long (a 300-dpi cheque is about 2,100 px)
WORKING_SIDE = 2600
#: a 300-dpi cheque's longer side: low-resolution clearing images are brought to it
CHEQUE_SIDE = 2100
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
#: a piece of ink with less than this share of the box's ink, off to the side of the rest, is a stray
STRAY_SHARE = 0.03
#: a found signature's box is drawn this many pixels (of the analysed page) around its ink: its grey rims
TIGHT_PAD = 4
#: what the quality check says of a stamp over the signature
STAMP_PROBLEM = "a stamp lies over the signature; compare it by eye or ask for a clean copy"
#: the page is turned straight when its print leans by at least this much (degrees)
MIN_SKEW = 0.3
#: a cleaned crop's ink spans at most this share of its width (with_margin)
MARGIN_SHARE = 0.5


def is_bitonal(grey: np.ndarray) -> bool:
    """Black and white only (a clearing image, a fax), whatever the file's pixel format."""
    counts = np.bincount(grey.ravel(), minlength=256)
    return int(counts[0] + counts[255]) >= 0.99 * grey.size


def without_strays(image: np.ndarray, share: float = STRAY_SHARE) -> np.ndarray:
    """The box's small pieces of ink lying off to the side of the signature painted over: a stub of a
    field line, a letter of a label, a fleck of a stamp at the box's edge would widen the ink's
    bounding box, and the model sees the signature smaller and shifted."""
    ink = (image < 160).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(ink, 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count <= 2:
        return image
    area = stats[1:, cv2.CC_STAT_AREA]
    large = np.nonzero(area >= share * area.sum())[0] + 1
    if large.size == 0:
        return image
    x0, y0 = stats[large, 0].min(), stats[large, 1].min()
    x1, y1 = (stats[large, 0] + stats[large, 2]).max(), (stats[large, 1] + stats[large, 3]).max()
    pad_x, pad_y = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
    x, y, w, h = (stats[1:, i] for i in range(4))
    outside = (x + w < x0 - pad_x) | (x > x1 + pad_x) | (y + h < y0 - pad_y) | (y > y1 + pad_y)
    strays = np.nonzero(outside & (area < share * area.sum()))[0] + 1
    if strays.size == 0:
        return image
    mask = cv2.dilate(np.isin(labels, strays).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    out = image.copy()
    out[mask] = 255
    return out


def with_margin(image: np.ndarray, share: float = MARGIN_SHARE) -> np.ndarray:
    """The cleaned crop with paper added left and right, so its ink spans at most ``share`` of the
    width. A specimen scan has margins; a tight box does not, and preprocessing (which takes any
    straight run over 60% of the width for a form line) would then cut a Devanagari headline or a
    signature's underline that it keeps on the specimen. The document's own lines are gone already."""
    h, w = image.shape[:2]
    side = int(np.ceil(max(0.0, w / share - w) / 2))
    if side == 0:
        return image
    paper = int(np.median(image[image >= 200])) if (image >= 200).any() else 255
    return cv2.copyMakeBorder(image, 0, 0, side, side, cv2.BORDER_CONSTANT, value=paper)


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
        self._warp = self._unwarp = None  # a photo's sheet flattened: the maps from photo to page and back
        photo_grey = to_grayscale(pixels)
        region = paper_region(photo_grey)
        corners = None if is_bitonal(photo_grey) else corners_of(region, photo_grey.shape)
        if corners is not None:  # seen in perspective: the sheet brought back to a rectangle first (the
            pixels, self._warp = flattened(pixels, corners)  # table would also darken the inks' separation)
            self._unwarp = np.linalg.inv(self._warp)
            photo_grey = to_grayscale(pixels)
            region = paper_region(photo_grey)
        grey, self.inks = pen_grey(pixels, PHOTO_PEN_DENSITY_SHARE if corners is not None else PEN_DENSITY_SHARE)
        self.bitonal = is_bitonal(grey)
        if not self.bitonal:
            outside = outside_of(region, photo_grey.shape)
            if outside is not None:  # a photo: the table around the cheque, and its edge, are no ink
                grey = grey.copy()
                grey[outside] = 255
        longer = max(grey.shape)
        self.scale = 1.0
        if longer > WORKING_SIDE:
            self.scale = WORKING_SIDE / longer
        elif 900 <= longer < CLEARING_SIDE:
            self.scale = min(1.6, CHEQUE_SIDE / longer)
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
        self._found_cache: dict = {}
        self._unlifted: dict = {}  # a box's cleaned crop before a stamp was lifted off it, to draw boxes by

    @property
    def ink(self) -> PageInk:
        """The page's ink analysis; raises NoSignatureError on a page with no ink."""
        if self._ink is None:
            self._ink = page_ink(self.grey, self.bitonal)
        return self._ink

    def _to_page(self, box) -> tuple[int, int, int, int]:
        """A box on the original image to the analysed page (scaled, turned straight)."""
        return self._map(box, forward=True)

    def _to_original(self, box) -> tuple[int, int, int, int]:
        return self._map(box, forward=False)

    def _map(self, box, forward: bool) -> tuple[int, int, int, int]:
        if forward and self._warp is not None:
            box = warped_box(box, self._warp)
        x, y, w, h = self._scaled_and_turned(box, forward)
        if not forward and self._warp is not None:
            x, y, w, h = warped_box((x, y, w, h), self._unwarp)
        return int(round(x)), int(round(y)), int(round(w)), int(round(h))

    def _scaled_and_turned(self, box, forward: bool) -> tuple[float, float, float, float]:
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
        return float(x0), float(y0), float(x1 - x0), float(y1 - y0)

    def signatures(self, max_count: int = 4) -> list[FoundSignature]:
        """The signatures found on the page, strongest first; raises NoSignatureError when none."""
        boxes = find_signature_boxes(self.grey, max_count=max_count, ink=self.ink)
        if len(boxes) > 1:  # several signatures (a joint cheque): a box drawn around one's ink could take in
            return [self._found(box) for box in boxes]  # a stroke of its neighbour; the finder's cut holds
        return [self._tightened(box, self._found(box)) for box in boxes]

    def _tightened(self, box, found: FoundSignature) -> FoundSignature:
        """A found signature boxed around the ink the model is to see: the finder's box is generous (it
        takes in the paper around a signature, a label's letters, and on a photo the sensor's speckle
        beside it; such boxes overlapped the signature by less than half on photos and under stamps).
        The signature is then cleaned again from the box shown, as the window verifies the box it shows.
        A clerk's own box (signature_in) is left as drawn."""
        if self._plain():
            return found
        left, top = max(0, int(box[0])), max(0, int(box[1]))
        cropped_width = min(self.grey.shape[1], int(box[0] + box[2])) - left
        side = (found.image.shape[1] - cropped_width) // 2  # the paper with_margin added on each side
        # the box is drawn around the ink as it was before a stamp was lifted: lifting may take a pale
        # signature's strokes under the stamp too, and the box must still hold the signature
        image = self._unlifted.get(tuple(int(v) for v in box), found.image)
        for stamp in self.found_stamps:  # a stamp's border is not the signature's (a ring reaches above it)
            if _overlap(stamp.box, box) > 0:
                image = stamp.paint_out(image, (left - side, top))
        try:
            x, y, w, h = preprocess_with_box(image, PreprocessParams()).box
        except SigVerifyError:
            return found
        x0, y0 = max(0, left - side + x - TIGHT_PAD), max(0, top + y - TIGHT_PAD)
        x1 = min(self.grey.shape[1], left - side + x + w + TIGHT_PAD)
        y1 = min(self.grey.shape[0], top + y + h + TIGHT_PAD)
        tight = self._found((x0, y0, x1 - x0, y1 - y0))
        lost = tuple(p for p in found.problems if p == STAMP_PROBLEM and p not in tight.problems)
        return replace(tight, problems=lost + tight.problems) if lost else tight  # the stamp is still there

    def signature_in(self, box: tuple[int, int, int, int]) -> FoundSignature:
        """The signature in a box the clerk drew (original image coordinates)."""
        return self._found(self._to_page(box))

    def printed_share(self, box: tuple[int, int, int, int]) -> float:
        return self.ink.printed_share(self._to_page(box))

    @property
    def stamps(self) -> list[tuple[int, int, int, int]]:
        return [stamp.box for stamp in self.found_stamps]

    @property
    def found_stamps(self) -> list[Stamp]:
        if self._stamps is None:
            self._stamps = found_stamps(self.grey)
        return self._stamps

    def _plain(self) -> bool:
        """A signature crop as scanned: no print, no other ink taken out, not resized or turned; it is
        verified from its own pixels, exactly as the specimens and the training images were."""
        try:
            printed = int(self.ink.printed.sum())
        except NoSignatureError:
            printed = 0
        return (printed < MIN_PRINTED_PIECES and not self.inks.get("removed") and self.scale >= 1.0
                and self._turn is None and self._warp is None and not self.bitonal)

    def _found(self, box) -> FoundSignature:
        """The box's cleaned signature and its problems, worked out once per box (the preview, the
        warning and the verification all ask for the same box)."""
        key = tuple(int(v) for v in box)
        if key not in self._found_cache:
            self._found_cache[key] = self._clean(key)
        return self._found_cache[key]

    def _clean(self, box) -> FoundSignature:
        plain = self._plain()
        try:
            if plain:
                image = crop(self.source, self._to_original(box))
            else:
                cleaned = self.ink.without_print(self.grey, box, self.bitonal)
                piece = cleaned
                for stamp in self.found_stamps:  # a stamp of the pen's hue, paler than the strokes
                    if _overlap(stamp.box, box) > 0:
                        piece = lifted(piece, stamp, (max(0, box[0]), max(0, box[1])))
                image = without_strays(piece)
            document = not plain and self.ink.is_document(box)
            if not plain and piece is not cleaned:
                unlifted = without_strays(cleaned)
                self._unlifted[box] = with_margin(unlifted) if document else unlifted
        except NoSignatureError:
            image, document = crop(self.grey, box), False
        problems = tuple(self.problems(box, image))
        return FoundSignature(self._to_original(box), with_margin(image) if document else image, problems)

    def problems(self, box, image: np.ndarray) -> list[str]:
        """What makes a verdict on this box unreliable, in words a clerk can act on."""
        problems = []
        x, y, w, h = box
        covered = [s for s in self.stamps if _overlap(s, box) >= 0.04 * w * h]
        if covered:
            problems.append(STAMP_PROBLEM)
        try:
            printed = self.ink.printed_share(box)
        except NoSignatureError:
            printed = 0.0
        if printed > 0.3:
            problems.append("print lies over the signature; move the box onto the handwriting or compare by eye")
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
    inter = _overlap(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / float(union) if union else 0.0


