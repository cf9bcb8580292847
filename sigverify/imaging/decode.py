"""Safe decoding of what scanners and phones produce.

Pillow reads the header lazily, so the pixel limit is checked *before* any pixel is
decoded (a 30000x30000 PNG of a few kilobytes must not allocate gigabytes). It also
gives one path for EXIF orientation, palettes, 1-bit and 16-bit TIFF and multipage TIFF.
Everything after decoding is numpy/OpenCV.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sigverify.errors import BadImageError

#: Largest image accepted, in pixels. An A4 page at 600 dpi is about 35 MP; a 48 MP phone
#: photo fits. Anything larger is refused before its pixels are decoded.
MAX_PIXELS = 50_000_000
#: Largest file accepted, in bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Container formats SigVerify reads.
SUPPORTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF")

Image.MAX_IMAGE_PIXELS = None  # our own limit below replaces Pillow's warning


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels: uint8, HxW grayscale or HxWx3 RGB, paper where it was transparent."""

    pixels: np.ndarray
    page: int
    page_count: int
    format: str


def _read_bytes(source: str | Path | bytes, name: str | None = None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "the image"
    path = Path(source)
    name = path.name
    if not path.exists():
        raise BadImageError(f"{name}: file not found")
    if not path.is_file():
        raise BadImageError(f"{name}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise BadImageError(f"{name}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise BadImageError(f"{name}: the file is {size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB")
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise BadImageError(f"{name}: cannot be read ({exc.strerror or exc})") from exc


def _open(data: bytes, name: str) -> Image.Image:
    if not data:
        raise BadImageError(f"{name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise BadImageError(
            f"{name}: not an image SigVerify can read (expected {', '.join(SUPPORTED_FORMATS)})"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"{name}: the image header is damaged ({exc})") from exc
    if image.format not in SUPPORTED_FORMATS:
        raise BadImageError(
            f"{name}: {image.format} images are not supported (expected {', '.join(SUPPORTED_FORMATS)})"
        )
    _check_size(image, name)
    return image


def _check_size(image: Image.Image, name: str) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise BadImageError(f"{name}: the image has no pixels")
    if width * height > MAX_PIXELS:
        raise BadImageError(
            f"{name}: {width}x{height} pixels is larger than the {MAX_PIXELS // 1_000_000} megapixel limit; "
            "scan at a lower resolution or crop the page"
        )


def page_count(source: str | Path | bytes, name: str | None = None) -> int:
    """Number of pages (frames) in the file: more than 1 only for multipage TIFF."""
    data, name = _read_bytes(source, name)
    return int(getattr(_open(data, name), "n_frames", 1))


def load_image(source: str | Path | bytes, page: int = 0, name: str | None = None) -> LoadedImage:
    """Decode one page of an image file (or of bytes read from one: ``name`` then says which
    file to name in errors) into uint8 pixels, or raise BadImageError."""
    data, name = _read_bytes(source, name)
    image = _open(data, name)
    count = int(getattr(image, "n_frames", 1))
    if not 0 <= page < count:
        raise BadImageError(f"{name}: page {page + 1} requested but the file has {count} page(s)")
    fmt = image.format
    try:
        if page:
            image.seek(page)
            _check_size(image, name)
        image.load()
        image = ImageOps.exif_transpose(image)
        pixels = _to_uint8(image)
    except BadImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadImageError(f"{name}: the image data is damaged or truncated ({exc})") from exc
    return LoadedImage(pixels=pixels, page=page, page_count=count, format=fmt)


def _to_uint8(image: Image.Image) -> np.ndarray:
    """Bring every Pillow mode to uint8 gray or RGB; transparency becomes white paper."""
    mode = image.mode
    if mode == "P" or mode == "PA":
        image = image.convert("RGBA" if ("transparency" in image.info or mode == "PA") else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "La", "RGBa"):
        return _composite_on_white(image)
    if mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8).copy()
    if mode == "L":
        return np.asarray(image, dtype=np.uint8).copy()
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8).copy()
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.float64)
        top = 65535.0 if values.max(initial=0) <= 65535 else float(values.max())
        return np.clip(np.round(values / top * 255.0), 0, 255).astype(np.uint8)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return np.clip(np.round((values - lo) * scale), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _composite_on_white(image: Image.Image) -> np.ndarray:
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)
