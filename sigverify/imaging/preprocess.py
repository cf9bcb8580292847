"""The one preprocessing pipeline used by training, evaluation, export checks and inference.

Small pure functions on numpy arrays, composed by :func:`preprocess`. Its parameters are
stored in the model manifest, so a model never meets an image prepared differently from
the images it was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from sigverify.errors import NoSignatureError


# One image at a time is too small for OpenCV's thread pool: its hand-offs cost more than they save
# and compete with onnxruntime for the cores (verification p50 12.1 → 10.8 ms on a 2-core machine).
cv2.setNumThreads(1)

@dataclass(frozen=True)
class PreprocessParams:
    """Everything that shapes the model's input; recorded in the model manifest."""

    canvas_height: int = 96
    canvas_width: int = 192
    padding: int = 4
    #: the paper's brightness is estimated over windows of this fraction of the shorter side
    background_window: float = 0.1
    #: ink must be at least this much darker than its paper (fraction of the paper's brightness)
    min_ink_contrast: float = 0.06
    #: and stand this many noise deviations above the paper
    noise_factor: float = 4.0
    #: faint stroke pixels down to this fraction of the strong-ink threshold are kept when they
    #: touch strong ink (hysteresis: a light pencil stroke stays whole, paper grain does not)
    hysteresis: float = 0.5
    #: ink components smaller than this fraction of the total ink are specks
    speck_fraction: float = 0.002
    #: and components smaller than this many pixels are always specks
    speck_min_pixels: int = 6
    #: components lying wholly within this fraction of the border are scanner noise
    border_fraction: float = 0.02
    #: fewer ink pixels than this after cleaning means "no signature" (less on tiny crops)
    min_ink_pixels: int = 60
    #: horizontal runs longer than this fraction of the width are printed lines
    line_fraction: float = 0.6

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PreprocessParams":
        """Parameters from a manifest or config; a key this version does not know is refused, so a
        model is never served preprocessing other than the one it was trained with."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"preprocessing setting(s) {', '.join(unknown)} are not known to this version of "
                             "SigVerify: the model was made for a different preprocessing")
        return cls(**data)


@dataclass(frozen=True)
class Preprocessed:
    """The model's input (float32, HxW, ink high in [0, 1]) and where the ink was found."""

    canvas: np.ndarray
    box: tuple[int, int, int, int]  # x, y, width, height in the source image


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale from gray, RGB or RGBA pixels (RGB order, as decode returns)."""
    if image.ndim == 2:
        return image.astype(np.uint8, copy=False)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY)
    raise ValueError(f"unsupported image shape {image.shape}")


def paper_darkness(gray: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """How much darker each pixel is than its local paper, as a fraction of the paper (0..1).

    The paper's brightness is the local maximum of grey (ink is always darker), smoothed: this
    evens out grey or dark paper and the uneven light of phone photos, and it never thins a
    stroke (no median or blur touches the ink itself). Computed on a reduced image for speed.
    """
    paper = paper_level(gray, params).astype(np.float32)
    return 1.0 - gray.astype(np.float32) / np.maximum(paper, 1.0)


def paper_level(gray: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """The paper's local brightness under each pixel (local maximum, smoothed; never below the pixel)."""
    h, w = gray.shape
    shrink = max(1, min(h, w) // 256)
    small = cv2.resize(gray, (max(1, w // shrink), max(1, h // shrink)), interpolation=cv2.INTER_AREA) \
        if shrink > 1 else gray
    size = int(round(min(small.shape) * params.background_window)) | 1
    size = min(max(size, 7), 51)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    paper = cv2.blur(cv2.dilate(small, kernel), (size, size))
    if shrink > 1:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(paper, gray)


def _median_of_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """np.median of a sample given as distinct values with their counts (exactly, halves included):
    on 256 grey levels this takes microseconds where sorting a page's pixels takes milliseconds."""
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(counts[order])
    total = int(cumulative[-1])
    lower = values[np.searchsorted(cumulative, (total - 1) // 2, side="right")]
    upper = values[np.searchsorted(cumulative, total // 2, side="right")]
    return float((lower + upper) / 2.0)


def ink_mask(darkness: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Boolean ink mask by a noise-aware hysteresis threshold; raises on an image with no writing.

    Strong ink: above Otsu's cut of the darkness, and clearly above the paper's own grain.
    Faint ink (down to ``hysteresis`` of that cut) is kept only where it touches strong ink,
    so 1-px and light strokes stay whole while paper texture stays out.
    """
    return _ink_components(darkness, params)[0]


def _ink_components(darkness: np.ndarray, params: PreprocessParams):
    """The ink mask with its connected components (labels, stats, which are ink), reused below."""
    level = np.clip(darkness * 255.0, 0, 255).astype(np.uint8)
    counts = cv2.calcHist([level], [0], None, [256], [0, 256]).ravel().astype(np.int64)  # = np.bincount, 7× faster
    paper = _median_of_counts(np.arange(256, dtype=np.float64), counts)
    spread = 1.4826 * _median_of_counts(np.abs(np.arange(256, dtype=np.float64) - paper), counts)
    floor = paper + max(params.noise_factor * spread, 255.0 * params.min_ink_contrast)
    if float(level.max()) < floor:
        raise NoSignatureError("no ink found: the image looks blank")
    otsu, _ = cv2.threshold(level, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    high = max(float(otsu), floor)
    low = max(floor, params.hysteresis * high)
    strong = level >= high
    if not strong.any():
        raise NoSignatureError("no ink found: the image looks blank")
    weak = (level >= low).astype(np.uint8)
    count, labels, stats = connected_components(weak)
    touched = np.zeros(count, dtype=bool)
    touched[labels[strong]] = True
    touched[0] = False
    if not (stats[touched, cv2.CC_STAT_AREA] >= params.speck_min_pixels).any():
        # only isolated grains of paper noise cross the cut: nothing was written here
        raise NoSignatureError("no ink found: the image looks blank")
    return _touched_mask(weak, labels, stats, touched), labels, stats, touched


def _touched_mask(weak: np.ndarray, labels: np.ndarray, stats: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """``touched[labels]``: the faint pixels of the components that touch strong ink. Most
    components do, so the faint mask is taken whole and the few that do not are erased inside
    their boxes (the same pixels, without a lookup over the whole image)."""
    untouched = np.nonzero(~touched[1:])[0] + 1
    if untouched.size > 64:
        return touched[labels]
    mask = weak.astype(bool)
    for label in untouched:
        x, y, w, h = stats[label, :4]
        inside = mask[y : y + h, x : x + w]
        inside[labels[y : y + h, x : x + w] == label] = False
    return mask


def connected_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components of a 0/1 uint8 mask with their statistics (count, labels, stats).

    Grana's block-based algorithm: with statistics it takes about a third of the time of
    OpenCV's default (0.64 vs 2.2 ms on a 760×380 crop), and the pixels of every component are
    the same (only what the components are called could differ; nothing here depends on it)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count, labels, stats


def remove_printed_lines(mask: np.ndarray, line_fraction: float) -> np.ndarray:
    """Drop long straight horizontal runs (form lines, cheque baselines) from the ink mask.

    A run is a horizontal stretch of ink at least ``line_fraction`` of the width long, or at
    least about half of that where it runs off the left or right edge (a line cut by the scan).
    Only rows holding that much ink at all are examined, so a signature costs almost nothing.
    (The same result as a morphological opening with a 1-pixel-high rectangle of that length.)
    """
    height, width = mask.shape
    length = int(width * line_fraction)
    if length < 20:
        return mask
    anchor = length // 2
    shortest = min(length - anchor, anchor + 1)  # a run touching the left or the right edge
    rows = np.nonzero(np.count_nonzero(mask, axis=1) >= shortest)[0]
    if rows.size == 0:
        return mask
    lines = np.zeros_like(mask)
    for row in rows:
        edges = np.diff(np.concatenate(([0], mask[row].view(np.uint8), [0])).astype(np.int8))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        for start, end in zip(starts, ends):
            # erosion then dilation by a 1×length window anchored at length//2, beyond the edges
            # counting as ink (OpenCV's opening, whose windows these are, kept bit for bit)
            virtual_start = -width if start == 0 else start
            virtual_end = 2 * width if end == width else end
            low = max(virtual_start + anchor, 0)
            high = min(virtual_end - length + anchor, width - 1)
            if low > high:
                continue
            low, high = max(low - (length - 1 - anchor), 0), min(high + anchor, width - 1)
            lines[max(row - 1, 0) : row + 2, low : high + 1] = True  # and the anti-aliased rows beside it
    return mask & ~lines


def _kept_components(mask: np.ndarray, params: PreprocessParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of the ink; which to keep (not specks, not border noise)."""
    count, labels, stats = connected_components(mask.astype(np.uint8))
    if count <= 1:
        raise NoSignatureError("no ink found: the image looks blank")
    present = np.ones(count, dtype=bool)
    present[0] = False
    return labels, stats, _keep(stats, present, mask.shape, params)


def _keep(stats: np.ndarray, present: np.ndarray, shape: tuple[int, int], params: PreprocessParams) -> np.ndarray:
    """Which of the ink's components (``present``) to keep: not specks, not noise in the border band."""
    height, width = shape
    x, y, w, h, area = (stats[:, i] for i in range(5))
    band_x = max(1, int(width * params.border_fraction))
    band_y = max(1, int(height * params.border_fraction))
    min_area = max(params.speck_min_pixels, params.speck_fraction * int(area[present].sum()))
    in_band = (x + w <= band_x) | (y + h <= band_y) | (x >= width - band_x) | (y >= height - band_y)
    keep = present & (area >= min_area) & ~in_band
    least = min(params.min_ink_pixels, max(15, int(0.01 * height * width)))  # tiny crops hold little ink
    if int(area[keep].sum()) < least:
        raise NoSignatureError("no signature found: only a speck of ink on the image")
    return keep


def kept_ink(darkness: np.ndarray, params: PreprocessParams) -> tuple[np.ndarray, int, int]:
    """The ink as preprocessing keeps it (before printed lines go): its mask, how many separate
    pieces it has and how many pixels (for the specimen check)."""
    mask, labels, stats, touched = _ink_components(darkness, params)
    keep = _keep(stats, touched, mask.shape, params)
    return keep[labels], int(keep.sum()), int(stats[keep, cv2.CC_STAT_AREA].sum())


def clean_ink(mask: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Keep the signature's ink: drop specks and noise lying in the border band."""
    labels, _, keep = _kept_components(mask, params)
    return keep[labels]


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the ink."""
    cols, rows = np.nonzero(mask.any(axis=0))[0], np.nonzero(mask.any(axis=1))[0]
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _union_box(stats: np.ndarray, keep: np.ndarray) -> tuple[int, int, int, int]:
    kept = stats[keep]
    x0, y0 = kept[:, 0].min(), kept[:, 1].min()
    x1, y1 = (kept[:, 0] + kept[:, 2]).max(), (kept[:, 1] + kept[:, 3]).max()
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def fit_to_canvas(ink: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Resize keeping the aspect ratio and centre it on the model's canvas."""
    inner_h = params.canvas_height - 2 * params.padding
    inner_w = params.canvas_width - 2 * params.padding
    h, w = ink.shape
    scale = min(inner_h / h, inner_w / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(ink, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((params.canvas_height, params.canvas_width), dtype=np.float32)
    top = (params.canvas_height - new_h) // 2
    left = (params.canvas_width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


def normalise(canvas: np.ndarray) -> np.ndarray:
    """Scale ink so its strong strokes reach 1: pens and scanners differ in darkness."""
    ink = canvas[canvas > 0.02]
    if ink.size == 0:
        return canvas
    top = float(np.percentile(ink, 95))
    return np.clip(canvas / max(top, 1e-3), 0.0, 1.0).astype(np.float32)


def preprocess_with_box(image: np.ndarray, params: PreprocessParams) -> Preprocessed:
    """Image → model input, with the ink's box in the source image."""
    ink, box = kept_ink_darkness(image, params)
    canvas = normalise(fit_to_canvas(ink.astype(np.float32), params))
    return Preprocessed(canvas=canvas, box=box)


def kept_ink_darkness(image: np.ndarray, params: PreprocessParams) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The ink preprocessing keeps, in its box: how dark each pixel is against its local paper
    (0..1), exactly zero wherever preprocessing sees paper, specks or print; and the box
    (x, y, width, height) in the source image. The model sees this, scaled to its canvas; the
    document benchmark lays this on its pages, so a photo's shaded paper never travels with it."""
    darkness = paper_darkness(to_grayscale(image), params)
    mask, labels, stats, touched = _ink_components(darkness, params)
    cleaned = remove_printed_lines(mask, params.line_fraction)
    if cleaned is mask:  # no printed line: the hysteresis components are the ink's components
        keep = _keep(stats, touched, mask.shape, params)
    else:
        labels, stats, keep = _kept_components(cleaned, params)
    x, y, w, h = _union_box(stats, keep)
    kept = keep[labels[y : y + h, x : x + w]]
    # ink high, paper exactly zero; how dark the ink is against its paper is kept as a grey level
    return np.where(kept, darkness[y : y + h, x : x + w], 0.0), (x, y, w, h)


def preprocess(image: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Image → float32 canvas (H, W) with ink high in [0, 1], ready for the embedding model."""
    return preprocess_with_box(image, params).canvas
