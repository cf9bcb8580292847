"""Separating the pen's ink from what else is printed or stamped on a colour document.

Ink on paper is subtractive: each ink absorbs light in its own proportions per colour channel, and
where a stamp lies over a stroke their optical densities add (Beer-Lambert). So the page is turned
into optical density relative to its own paper (which also evens out a photo's shadow), the colours
of the inks on it are found (clusters of density directions), each pixel is unmixed into those inks,
and only the pen's share is kept as a grey image: security tints, guilloche bands and stamps of
another hue drop out before the grey image the rest of the pipeline reads is made.

Which ink is the pen: a pen's stroke is among the densest inks on a document (ballpoint and gel
pens are far denser than a security tint or a stamp pad's ink), so the inks kept are the densest and
every ink at least ``PEN_DENSITY_SHARE`` as dense (a blue pen beside black print). A stamp in the
pen's own colour cannot be separated this way: the quality check (document.py) refers those.

Unmixing is not exact where a photo's blur or a JPEG mixed an ink with the paper: what it leaves of
an ink taken out (pale dashes along a guilloche's lines, a stamp's rim) is taken off too
(``without_remnants``), as no pen's stroke is that faint beside the page's own pen and print.
"""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import PreprocessParams, paper_level, to_grayscale

#: an ink is kept as "pen" when its typical density is at least this share of the densest ink's
PEN_DENSITY_SHARE = 0.55
#: ... on a phone photo: its blur spreads a thin stroke's ink over more, paler pixels than a printed
#: letter's broad ones, so a violet ballpoint's density falls below the scans' share of black print
#: (measured 1.35 against 2.74 on one blurred photo); a flat security tint is still far below this
PHOTO_PEN_DENSITY_SHARE = 0.45
#: two ink colours closer than this (degrees between density directions) are one ink
SAME_INK_DEGREES = 9.0
#: optical density (summed over channels) above which a pixel is ink for finding the inks' colours
INKY = 0.45


def optical_density(rgb: np.ndarray) -> np.ndarray:
    """Per pixel and channel, how much light the inks absorb relative to the local paper (>= 0)."""
    out = np.empty(rgb.shape, np.float32)
    for c in range(3):
        channel = rgb[..., c]
        paper = paper_level(channel, PreprocessParams()).astype(np.float32)
        out[..., c] = np.log((paper + 1.0) / (channel.astype(np.float32) + 1.0))
    return np.maximum(out, 0.0)


def ink_colours(density: np.ndarray, rng_seed: int = 0, clusters: int = 6) -> list[tuple[np.ndarray, float, int]]:
    """The inks on a page: (unit density direction, typical density, pixel count), densest first.
    Clustered on colour and on density together: a light security tint can have a blue pen's hue."""
    flat = density.reshape(-1, 3)
    total = flat.sum(1)
    inky = np.nonzero(total > INKY)[0]
    if inky.size < 50:
        return []
    rng = np.random.default_rng(rng_seed)
    sample = flat[rng.choice(inky, min(inky.size, 30000), replace=False)]
    magnitude = np.linalg.norm(sample, axis=1)
    directions = sample / magnitude[:, None]
    features = np.hstack([directions, 0.15 * np.log(magnitude)[:, None]]).astype(np.float32)
    k = min(clusters, len(features))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-4)
    cv2.setRNGSeed(rng_seed)
    _, labels, _ = cv2.kmeans(features, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    groups = []  # [direction, log density, member magnitudes]
    for j in range(k):
        members = labels == j
        if members.sum() < 20:
            continue
        direction = directions[members].mean(0)
        groups.append([direction / np.linalg.norm(direction), float(np.median(np.log(magnitude[members]))),
                       magnitude[members]])
    merged: list[list] = []
    for group in sorted(groups, key=lambda g: -g[2].size):
        for ink in merged:
            angle = np.degrees(np.arccos(np.clip(float(ink[0] @ group[0]), -1, 1)))
            if angle < SAME_INK_DEGREES and abs(ink[1] - group[1]) < 0.6:
                weight = group[2].size / (group[2].size + ink[2].size)
                direction = (1 - weight) * ink[0] + weight * group[0]
                ink[0] = direction / np.linalg.norm(direction)
                ink[2] = np.concatenate([ink[2], group[2]])
                break
        else:
            merged.append(group)
    found = [(d, float(np.percentile(m, 90)), int(m.size)) for d, _, m in merged]
    return sorted(found, key=lambda ink: -ink[1])


#: pen and print cover a few percent of a document; a security pattern in the pen's own hue covers far
#: more of it, lighter: density below the level this share of the page reaches is background
INK_SHARE = 0.06
#: densities above this are ink or shadow, never a security pattern's
LIGHT = 0.7


def without_background(density: np.ndarray) -> np.ndarray:
    """Take a light pattern spread over the page (guilloche lines, a pantograph screen in the pen's
    own hue, which unmixing cannot tell from the pen) off every pixel's density."""
    # measured over light pixels only: a dark table around a photographed cheque is no pattern
    light = density[density < LIGHT]
    if light.size < 0.5 * density.size:
        return density
    above = max(0.02, (INK_SHARE * density.size - (density.size - light.size)) / light.size)
    level = float(np.quantile(light, 1.0 - above))
    if level <= 0.05:
        return density
    return np.maximum(density - 1.15 * level, 0.0)


def pen_grey(image: np.ndarray, pen_share: float = PEN_DENSITY_SHARE) -> tuple[np.ndarray, dict]:
    """A grey image of the pen's ink alone (paper white, light background patterns taken off) from a
    grey or colour page, and what was found (``inks``: ink colours, ``removed``: how many dropped).
    ``pen_share``: how dense, against the densest ink, an ink must be to be kept as pen."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        grey = to_grayscale(image.reshape(image.shape[:2]))
        density = np.log((paper_level(grey, PreprocessParams()).astype(np.float32) + 1.0) / (grey.astype(np.float32) + 1.0))
        return _to_grey(without_background(np.maximum(density, 0.0))), {"inks": 1, "removed": 0}
    rgb = np.ascontiguousarray(image[..., :3])
    density = optical_density(rgb)
    inks = ink_colours(density)
    flat = density.reshape(-1, 3)
    total = flat.sum(1)
    if not inks:
        return _to_grey(without_background(total.reshape(rgb.shape[:2]) / 3.0)), {"inks": 0, "removed": 0}
    densest = inks[0][1]
    pen = [i for i, ink in enumerate(inks) if ink[1] >= pen_share * densest]

    def far_from_pen(i: int) -> bool:
        return all(np.degrees(np.arccos(np.clip(float(inks[i][0] @ inks[p][0]), -1, 1))) >= SAME_INK_DEGREES
                   for p in pen)

    # each pixel is explained by one ink, or by a pen ink under another ink (a stamp, a tint over a
    # stroke): whichever explains its colour best gives the pen's share. Pairs, not all inks at once:
    # three channels cannot unmix four inks, and a stroke rarely lies under more than one other ink.
    # An ink of the pen's colour but lighter (a tint) is left to without_background.
    others = [i for i in range(len(inks)) if i not in pen and far_from_pen(i)]
    # the paper's own grain is not unmixed: close inks' directions would amplify it into speckle
    floor = max(0.12, 4.0 * float(np.median(total)))
    inked = np.nonzero(total > floor)[0]
    pen_density = np.zeros(flat.shape[0], np.float32)
    if inked.size:
        pen_density[inked] = _pen_share(flat[inked], [inks[i][0] for i in pen], [inks[i][0] for i in others])
    grey = _to_grey(without_background(pen_density.reshape(rgb.shape[:2])))
    if len(pen) < len(inks):
        grey = without_remnants(grey)
    return grey, {"inks": len(inks), "removed": len(inks) - len(pen),
                  "pen": [inks[i][0].round(3).tolist() for i in pen]}


#: an ink mark whose darkest pixel is lighter than this share of the page's pen and print is what
#: unmixing leaves of an ink taken out (a blurred guilloche line's rim, a stamp's edge), not pen
REMNANT_SHARE = 0.45
#: ... but a mark this dark (grey levels below the paper) is pen, however black the print beside it:
#: a light ballpoint is half as dark as black print and must not be taken for a remnant
PEN_FLOOR = 90
#: grey levels below the paper from which a pixel belongs to a mark at all
MARK_DARKNESS = 14


def without_remnants(grey: np.ndarray) -> np.ndarray:
    """The pen grey without the faint marks that unmixing leaves where another ink was taken out.

    Where a photo's blur or a JPEG mixed a security pattern's fine lines with the paper, their
    colour is no longer clearly theirs and a little of it is given to the pen: rows of pale dashes
    over the whole pattern, which the signature finder read as handwriting (a box around the
    pattern, or a signature's box stretched over it). A pen's stroke has a core nearly half as
    dark as the page's darkest pen and print, or 90 grey levels below the paper; such a remnant has
    none. Only marks apart from the pen are taken: a remnant touching a stroke stays with it."""
    darkness = 255 - grey.astype(np.int16)
    marked = darkness >= MARK_DARKNESS
    if not marked.any():
        return grey
    cut = min(REMNANT_SHARE * float(np.percentile(darkness[marked], 90)), PEN_FLOOR)
    count, labels = cv2.connectedComponents(marked.astype(np.uint8), connectivity=8)
    faint = np.ones(count, bool)  # a mark with no pixel as dark as the cut
    faint[np.unique(labels[darkness >= cut])] = False
    faint[0] = False
    if not faint.any():
        return grey
    out = grey.copy()
    out[faint[labels]] = 255
    return out


def _pen_share(x: np.ndarray, pens: list[np.ndarray], others: list[np.ndarray]) -> np.ndarray:
    """Per pixel (rows of optical density), the pen's density under the best of: one ink alone, or a
    pen ink with one other ink laid over it (non-negative amounts)."""
    best = np.full(len(x), np.inf, np.float32)
    share = np.zeros(len(x), np.float32)

    def consider(residual: np.ndarray, pen_amount: np.ndarray) -> None:
        better = residual < best
        best[better] = residual[better]
        share[better] = pen_amount[better]

    for q in others:  # another ink alone: no pen here
        amount = np.maximum(x @ q, 0.0)
        consider(((x - amount[:, None] * q) ** 2).sum(1), np.zeros(len(x), np.float32))
    for p in pens:
        amount = np.maximum(x @ p, 0.0)
        consider(((x - amount[:, None] * p) ** 2).sum(1), amount * float(p.mean()))
        for q in others:
            pair = np.stack([p, q], 1).astype(np.float32)  # 3 x 2
            amounts = x @ np.linalg.pinv(pair).T.astype(np.float32)
            valid = (amounts >= 0).all(1)  # a negative amount is no mixture: the single inks cover it
            residual = np.where(valid, ((x - amounts @ pair.T) ** 2).sum(1), np.inf)
            consider(residual, amounts[:, 0] * float(p.mean()))
    return share


def _to_grey(density: np.ndarray) -> np.ndarray:
    return np.clip(255.0 * np.exp(-density), 0, 255).astype(np.uint8)
