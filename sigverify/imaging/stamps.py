"""Finding rubber stamps left on the pen-only page: the shapes a pen never draws.

A round stamp's border is a ring whose whole circumference is ink; a rectangular one's is a frame
of ruler-straight, parallel sides joined at their ends. Both survive colour separation only when
the stamp has the pen's colour (or is black or grey beside black print), and then the signature
under it cannot be told from it by colour: the quality check (document.py) refers it, and where the
stamp's ink is clearly paler than the strokes it is lifted off them (stamp_lift.py).

Stamp pads ink unevenly and a grey stamp is light: the shapes are looked for in every pixel darker
than the paper on both sides by a little (a line; a grey region and its edge are not), with gaps in
the ink closed, and a ring is fitted around each circle the Hough transform proposes (its centre
and radius are only estimates on a mottled ring). Frames are followed from
any one straight side they have (stamp_frames.py): strokes crossing a stamp break its other sides.

A found stamp refers the signature under it (document.py), and its border is left out when the
signature's box is drawn around its ink: a ring reaches above and below the strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sigverify.imaging.stamp_frames import COVERED, bounds, frames

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
#: frames are looked for in fainter ink too: a stamp of the pen's hue on the pen-only page (colour
#: separation took most of it with the tint) is 215-230 and a shallower valley (a violet PAID frame on
#: a validation cheque came out in dashes). Not rings: with the faint ink a bank's stamp's inner ring
#: was fitted instead of its rim, and the band painted out missed the rim (a test cheque's box grew)
FRAME_INK_LEVEL, FRAME_LOCAL_CONTRAST = 230, 15
PAPER_REACH = 15
#: a stamp's ring is at least this share of the page's shorter side in radius (on a cheque about
#: 0.3 inch; a bank's round stamp is an inch or more across): smaller rings are a pen's loops
SMALLEST_RING = 0.09
#: at most this many circle proposals are fitted
PROPOSALS = 40

_ANGLES = np.linspace(0, 2 * np.pi, 180, endpoint=False)


def stamp_ink(grey: np.ndarray, width: int = SEARCH_WIDTH, level: int = INK_LEVEL,
              contrast: int = LOCAL_CONTRAST) -> tuple[np.ndarray, np.ndarray, float]:
    """The page at a search width, as grey and as an ink mask (thickened: a pad leaves holes), and the scale."""
    h, w = grey.shape
    scale = width / w
    small = cv2.resize(grey, (width, max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    # how much darker than the paper on both sides (black top-hat): a line is, a grey region's edge is not
    valley = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, np.ones((PAPER_REACH, PAPER_REACH), np.uint8))
    dark = (small < level) & (valley > contrast)
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
        if cover < COVERED or cr < SMALLEST_RING * shortest:
            continue
        if (rim := rim_around(ink, cx, cy, cr)) is not None:  # it was the inner ring: the stamp is the rim's
            found.append(outermost_ring(ink, *rim))
        elif stamp_inside(ink, cx, cy, cr):
            found.append(outermost_ring(ink, cx, cy, cr))
    return found


def rim_around(ink: np.ndarray, x: float, y: float, r: float) -> tuple[float, float, float] | None:
    """The rim of a stamp whose inner ring (x, y, r) was proposed: a whole concentric ring as far out
    as an inner ring lies in (stamp_inside). A grey stamp's lettering can go with the print and the
    tint when the inks are separated, leaving two bare rings; the proposal then settled on the inner
    one, which has nothing inside it, and the stamp went unfound, or was found as the inner ring only
    and its rim stayed in the signature's box (the box then held both rings)."""
    best = None
    for k in np.linspace(0.6, 0.82, 12):
        cover, cx, cy, cr = fitted_ring(ink, x, y, r / k)
        if cover >= COVERED and (best is None or cover > best[0]):
            best = (cover, cx, cy, cr)
    return None if best is None else best[1:]


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
        out[self.regions(out.shape[:2], origin)[1]] = paper
        return out

    def regions(self, shape: tuple[int, int], origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """The stamp's whole area and its border band, as masks of an image of ``shape`` whose
        pixel (0, 0) is page point ``origin``."""
        ox, oy = origin
        area, border = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
        if self.ring is not None:
            cx, cy, r = self.ring
            ys, xs = np.ogrid[:shape[0], :shape[1]]
            distance = np.hypot(xs - (cx - ox), ys - (cy - oy))
            area[distance <= RING_BAND[1] * r] = 1
            border[(distance >= RING_BAND[0] * r) & (distance <= RING_BAND[1] * r)] = 1
        elif self.corners is not None:
            sides = np.linalg.norm(self.corners - np.roll(self.corners, 1, axis=0), axis=1)
            width = max(3, int(round(FRAME_BAND * float(sides.min()))))
            points = np.round(self.corners - [ox, oy]).astype(np.int32)
            cv2.fillPoly(area, [points], 1)
            cv2.polylines(area, [points], True, 1, width)
            cv2.polylines(border, [points], True, 1, width)
        return area.astype(bool), border.astype(bool)


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
    _, ink, scale = stamp_ink(grey, 2 * SEARCH_WIDTH, FRAME_INK_LEVEL, FRAME_LOCAL_CONTRAST)
    for corners in frames(ink, max(12, int(0.09 * ink.shape[0]))):
        found.append(Stamp(_rounded(bounds(corners / scale)), corners=corners / scale))
    return found


def _rounded(box) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in box)  # type: ignore[return-value]

