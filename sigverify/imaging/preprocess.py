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


@dataclass(frozen=True)
class PreprocessParams:
    """Everything that shapes the model's input; recorded in the model manifest."""

    canvas_height: int = 96
    canvas_width: int = 192
    padding: int = 4
    median_ksize: int = 3
    #: paper and ink must differ by this many grey levels, else the page is blank
    min_contrast: float = 40.0
    #: ink components smaller than this fraction of the total ink are specks
    speck_fraction: float = 0.002
    #: and components smaller than this many pixels are always specks
    speck_min_pixels: int = 6
    #: components lying wholly within this fraction of the border are scanner noise
    border_fraction: float = 0.02
    #: fewer ink pixels than this after cleaning means "no signature"
    min_ink_pixels: int = 60
    #: horizontal runs longer than this fraction of the width are printed lines
    line_fraction: float = 0.6

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PreprocessParams":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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


def denoise(gray: np.ndarray, ksize: int) -> np.ndarray:
    """Median filter: removes scanner salt-and-pepper without blurring stroke edges much."""
    return cv2.medianBlur(gray, ksize) if ksize > 1 else gray


def ink_mask(gray: np.ndarray, min_contrast: float) -> np.ndarray:
    """Boolean mask of ink pixels by Otsu's threshold; raises on a page with no contrast."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = gray <= threshold
    ink, paper = gray[mask], gray[~mask]
    if ink.size == 0 or paper.size == 0 or float(paper.mean()) - float(ink.mean()) < min_contrast:
        raise NoSignatureError("no ink found: the image looks blank")
    return mask


def remove_printed_lines(mask: np.ndarray, line_fraction: float) -> np.ndarray:
    """Drop long straight horizontal runs (form lines, cheque baselines) from the ink mask."""
    length = int(mask.shape[1] * line_fraction)
    if length < 20:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    lines = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    if not lines.any():
        return mask
    lines = cv2.dilate(lines, np.ones((3, 1), np.uint8))
    return mask & ~lines.astype(bool)


def clean_ink(mask: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Keep the signature's ink: drop specks and noise lying in the border band."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        raise NoSignatureError("no ink found: the image looks blank")
    areas = stats[1:, cv2.CC_STAT_AREA]
    total = int(areas.sum())
    height, width = mask.shape
    band_x = max(1, int(width * params.border_fraction))
    band_y = max(1, int(height * params.border_fraction))
    keep = np.zeros(count, dtype=bool)
    min_area = max(params.speck_min_pixels, params.speck_fraction * total)
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        if area < min_area:
            continue
        in_band = x + w <= band_x or y + h <= band_y or x >= width - band_x or y >= height - band_y
        if in_band:
            continue
        keep[label] = True
    cleaned = keep[labels]
    if int(cleaned.sum()) < params.min_ink_pixels:
        raise NoSignatureError("no signature found: only a speck of ink on the image")
    return cleaned


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the ink."""
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


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
    gray = denoise(to_grayscale(image), params.median_ksize)
    mask = ink_mask(gray, params.min_contrast)
    mask = remove_printed_lines(mask, params.line_fraction)
    mask = clean_ink(mask, params)
    x, y, w, h = ink_box(mask)
    # invert: ink high, paper exactly zero; ink darkness is kept as a grey level
    ink = np.where(mask, 255.0 - gray.astype(np.float32), 0.0)[y : y + h, x : x + w] / 255.0
    canvas = normalise(fit_to_canvas(ink.astype(np.float32), params))
    return Preprocessed(canvas=canvas, box=(x, y, w, h))


def preprocess(image: np.ndarray, params: PreprocessParams) -> np.ndarray:
    """Image → float32 canvas (H, W) with ink high in [0, 1], ready for the embedding model."""
    return preprocess_with_box(image, params).canvas
