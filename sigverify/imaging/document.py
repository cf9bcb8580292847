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
from sigverify.imaging.page import PageInk, crop, find_signature_boxes, page_ink
from sigverify.imaging.preprocess import to_grayscale


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
        self.grey = to_grayscale(pixels)
        self.scale = 1.0
        self._ink: PageInk | None = None

    @property
    def ink(self) -> PageInk:
        """The page's ink analysis; raises NoSignatureError on a page with no ink."""
        if self._ink is None:
            self._ink = page_ink(self.grey)
        return self._ink

    def _to_page(self, box) -> tuple[int, int, int, int]:
        return tuple(int(round(v * self.scale)) for v in box)  # type: ignore[return-value]

    def _to_original(self, box) -> tuple[int, int, int, int]:
        return tuple(int(round(v / self.scale)) for v in box)  # type: ignore[return-value]

    def signatures(self, max_count: int = 4) -> list[FoundSignature]:
        """The signatures found on the page, strongest first; raises NoSignatureError when none."""
        boxes = find_signature_boxes(self.grey, max_count=max_count, ink=self.ink)
        return [self._found(box) for box in boxes]

    def signature_in(self, box: tuple[int, int, int, int]) -> FoundSignature:
        """The signature in a box the clerk drew (original image coordinates)."""
        return self._found(self._to_page(box))

    def printed_share(self, box: tuple[int, int, int, int]) -> float:
        return self.ink.printed_share(self._to_page(box))

    def _found(self, box) -> FoundSignature:
        try:
            image = self.ink.without_print(self.grey, box)
        except NoSignatureError:
            image = crop(self.grey, box)
        return FoundSignature(self._to_original(box), image, ())


def read_document(pixels: np.ndarray) -> DocumentPage:
    """Read a decoded document (grey or RGB uint8) for its signatures."""
    return DocumentPage(np.asarray(pixels))


def box_iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / float(union) if union else 0.0


