"""Safe decoding of what scanners and phones produce.

Pillow reads the header lazily, so the pixel limit is checked *before* any pixel is
decoded (a 30000x30000 PNG of a few kilobytes must not allocate gigabytes). It also
gives one path for EXIF orientation, palettes, 1-bit and 16-bit TIFF and multipage TIFF.
Everything after decoding is numpy/OpenCV.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sigverify.errors import BadImageError
from sigverify.safe_files import read_regular_file

#: Largest image accepted, in pixels. An A4 page at 600 dpi is about 35 MP; a 48 MP phone
#: photo fits. Anything larger is refused before its pixels are decoded.
MAX_PIXELS = 50_000_000
#: Largest file accepted, in bytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: No side longer than this, and no side more than MAX_ASPECT times the other: a 49,000,000x1
#: strip is within the pixel limit but no scan or photo.
MAX_SIDE = 30_000
MAX_ASPECT = 60
#: Memory the decoded pixels may take before conversion (a 7000x7000 16-bit RGBA PNG needs 392 MB).
MAX_DECODED_BYTES = 256 * 2**20
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2,
                    "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4, "I": 4, "F": 4}
#: Container formats SigVerify reads.
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "TIFF")  # MPO: phone JPEGs with extra frames

Image.MAX_IMAGE_PIXELS = None  # our own limit below replaces Pillow's warning


@dataclass(frozen=True)
class LoadedImage:
    """Decoded pixels: uint8, HxW grayscale or HxWx3 RGB, paper where it was transparent."""

    pixels: np.ndarray
    page: int
    page_count: int
    format: str


def read_image_file(source: str | Path) -> tuple[bytes, str]:
    """The bytes of an image file, read safely (sigverify/safe_files.py): never a FIFO, a device or
    a directory, and never more than the limit. Every way a file enters SigVerify (verify, enrol,
    document, specimen, batch, the window) reads here."""
    return read_regular_file(source, MAX_FILE_BYTES, BadImageError, "an image")


def _read_bytes(source: str | Path | bytes, name: str | None = None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_FILE_BYTES:
            raise BadImageError(f"{name or 'the image'}: larger than the {MAX_FILE_BYTES // 2**20} MB limit")
        return bytes(source), name or "the image"
    return read_image_file(source)


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
    except (OSError, SyntaxError, ValueError, TypeError, struct.error, EOFError) as exc:
        raise BadImageError(f"{name}: the image header is damaged ({exc})") from exc
    if image.format not in SUPPORTED_FORMATS:
        raise BadImageError(
            f"{name}: {image.format} images are not supported (expected {', '.join(SUPPORTED_FORMATS)})"
        )
    _check_size(image, name)
    return image


def png_bytes(pixels: np.ndarray) -> bytes:
    """Decoded pixels (grey or RGB uint8, as load_image returns them) as a lossless PNG file: what the
    store keeps of a questioned signature or a proposed specimen, read back by load_image."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels)
    if not ok:
        raise BadImageError("the image could not be stored as a PNG file")
    return encoded.tobytes()


def _check_size(image: Image.Image, name: str) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise BadImageError(f"{name}: the image has no pixels")
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise BadImageError(
            f"{name}: {width}x{height} pixels is larger than the {MAX_PIXELS // 1_000_000} megapixel "
            f"({MAX_SIDE} pixels a side) limit; scan at a lower resolution or crop the page"
        )
    if max(width, height) > MAX_ASPECT * min(width, height) and max(width, height) > 1000:
        raise BadImageError(f"{name}: {width}x{height} pixels is a strip, not a scan or photo of a signature")
    raw_mode = str(image.tile[0][3] if image.tile and len(image.tile[0]) > 3 else "")
    depth = 2 if ";16" in raw_mode else 1  # a 16-bit PNG decodes through twice the bytes of its mode
    if width * height * _BYTES_PER_PIXEL.get(image.mode, 4) * depth > MAX_DECODED_BYTES:
        raise BadImageError(f"{name}: {width}x{height} {image.mode} pixels would take more than "
                            f"{MAX_DECODED_BYTES // 2**20} MB to decode; save it as 8-bit or at a lower resolution")


def _frames(image: Image.Image, name: str) -> int:
    """How many pages the file holds (counting walks every page header: a damaged one shows here)."""
    try:
        return int(getattr(image, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, struct.error) as exc:
        raise BadImageError(f"{name}: a page of the file is damaged ({exc})") from exc


def page_count(source: str | Path | bytes, name: str | None = None) -> int:
    """Number of pages (frames) in the file: more than 1 only for multipage TIFF."""
    data, name = _read_bytes(source, name)
    return _frames(_open(data, name), name)


def load_image(source: str | Path | bytes, page: int = 0, name: str | None = None) -> LoadedImage:
    """Decode one page of an image file (or of bytes read from one: ``name`` then says which
    file to name in errors) into uint8 pixels, or raise BadImageError."""
    data, name = _read_bytes(source, name)
    image = _open(data, name)
    count = _frames(image, name)
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
    except (OSError, SyntaxError, ValueError, EOFError, TypeError, struct.error, MemoryError) as exc:
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
        finite = np.isfinite(values)
        if not finite.any():
            raise BadImageError("the image holds no finite pixel values")
        values = np.where(finite, values, values[finite].max())  # undefined pixels become paper
        lo, hi = float(values.min()), float(values.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return np.clip(np.round((values - lo) * scale), 0, 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _composite_on_white(image: Image.Image) -> np.ndarray:
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)
