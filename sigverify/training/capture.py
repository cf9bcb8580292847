"""Capture variants of a training signature: what a cheque scanner, a low-resolution scan, a JPEG
or the removal of a stamp or a printed label does to it before it reaches the model.

Specimens are clean scans; cheques arrive as 200-dpi black-and-white clearing images, grey scans
at a lower resolution, JPEGs, or with print and stamp painted out of the strokes. A network that
saw only clean scans reads those differences as another hand. Each variant is made from the raw
image at a cheque's scale (the ink brought to the height a signature has on a scanned cheque),
passed through the same functions the document path uses (``softened_bitonal``), then through
the one ``preprocess``; the variants are computed once and cached beside the clean canvases.
"""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.errors import NoSignatureError
from sigverify.imaging.document import softened_bitonal
from sigverify.imaging.preprocess import PreprocessParams, preprocess, to_grayscale

KINDS = ("bitonal", "grey_low", "jpeg", "painted")
#: the signature's ink height on a scanned cheque, in pixels (200-dpi to 300-dpi captures)
INK_HEIGHT = (55, 150)


def _ink_height(grey: np.ndarray) -> int:
    dark = grey < min(200, int(np.median(grey)) - 40)
    rows = np.nonzero(dark.any(axis=1))[0]
    return int(rows[-1] - rows[0] + 1) if rows.size else grey.shape[0]


def _at_cheque_scale(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shrink (never enlarge) so the ink is as high as on a cheque scan."""
    target = rng.uniform(*INK_HEIGHT)
    scale = min(1.0, target / max(_ink_height(grey), 1))
    if scale >= 0.98:
        return grey
    size = (max(8, int(round(grey.shape[1] * scale))), max(8, int(round(grey.shape[0] * scale))))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _bitonal(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clearing scanner's adaptive threshold, then what the document path makes of black and white."""
    block = int(rng.integers(9, 21)) * 2 + 1
    offset = float(rng.uniform(8, 26))
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, offset)
    if rng.random() < 0.5:  # the page path brings a low-resolution clearing image up to a cheque's size
        binary = cv2.resize(binary, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
        binary = np.where(binary < 128, 0, 255).astype(np.uint8)
    return softened_bitonal(binary)


def _grey_low(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey scan at the lower end of the resolution range, a little soft."""
    factor = rng.uniform(0.6, 0.85)
    size = (max(8, int(round(grey.shape[1] * factor))), max(8, int(round(grey.shape[0] * factor))))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(small, (0, 0), float(rng.uniform(0.3, 0.8)))


def _jpeg(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 86))])
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE) if ok else grey


def _painted(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parts of the strokes painted over with paper, as where a label, a field line or a stamp's
    ink was taken out; and a few specks left behind by the stamp's rim or the background."""
    out = grey.copy()
    h, w = out.shape
    paper = int(np.percentile(out, 90))
    dark = np.argwhere(out < paper - 50)
    if dark.size:
        for _ in range(int(rng.integers(1, 4))):
            y, x = dark[rng.integers(len(dark))]
            if rng.random() < 0.5:  # a field line or a row of print: a flat band
                thickness = int(rng.integers(2, max(3, h // 25) + 1))
                length = int(rng.integers(w // 8, w // 3 + 2))
                cv2.rectangle(out, (int(x) - length // 2, int(y)), (int(x) + length // 2, int(y) + thickness), paper, -1)
            else:  # a stamp's ring or letter
                radius = int(rng.integers(max(4, h // 5), max(6, h // 2) + 1))
                cv2.circle(out, (int(x) + radius, int(y)), radius, paper, int(rng.integers(2, 5)))
    if not dark.size:
        return out
    (y0, x0), (y1, x1) = dark.min(axis=0), dark.max(axis=0)
    for _ in range(int(rng.integers(0, 6))):  # within the ink's box: a fleck beside it widens the box
        x, y = int(rng.integers(x0, x1 + 1)), int(rng.integers(y0, y1 + 1))
        cv2.circle(out, (x, y), int(rng.integers(1, 3)), int(rng.integers(40, 140)), -1)
    return out


_MAKERS = {"bitonal": _bitonal, "grey_low": _grey_low, "jpeg": _jpeg, "painted": _painted}


def capture_variant(pixels: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The raw image as it might arrive on a document, still uncropped: ready for ``preprocess``."""
    grey = to_grayscale(pixels)
    return _MAKERS[kind](_at_cheque_scale(grey, rng), rng)


def capture_canvases(pixels: np.ndarray, params: PreprocessParams, count: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``count`` preprocessed capture variants of one image (each of a random kind); a variant in
    which no signature is left falls back to the clean canvas."""
    out = np.empty((count, params.canvas_height, params.canvas_width), np.float32)
    for i in range(count):
        kind = KINDS[int(rng.integers(len(KINDS)))]
        try:
            out[i] = preprocess(capture_variant(pixels, kind, rng), params)
        except (NoSignatureError, cv2.error):  # a variant that lost the signature is not used
            out[i] = preprocess(pixels, params)
    return out


#: bump when a variant is made differently, so cached variants are recomputed
CAPTURE_VERSION = 1


def _variants_of(task) -> np.ndarray:
    path, params, count, seed = task
    from sigverify.imaging.decode import load_image

    rng = np.random.default_rng(seed)
    return capture_canvases(load_image(path).pixels, params, count, rng).astype(np.float16)


def captured_canvases(paths: list, params: PreprocessParams, count: int, seed: int,
                      cache_dir=None, workers: int = 2) -> np.ndarray:
    """(N, count, H, W) float16 capture variants of the prepared images, in their order; kept in
    ``cache_dir`` keyed by the files, the parameters, the seed and CAPTURE_VERSION."""
    import hashlib
    import json
    import os
    import zlib
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    from pathlib import Path

    digest = hashlib.sha256(json.dumps([params.to_dict(), count, seed, CAPTURE_VERSION]).encode())
    for path in paths:
        stat = Path(path).stat()
        digest.update(f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    stored = Path(cache_dir) / f"captured-{digest.hexdigest()[:24]}.npy" if cache_dir else None
    if stored is not None and stored.is_file():
        try:
            return np.load(stored, allow_pickle=False)
        except (OSError, ValueError):
            pass  # a damaged cache is recomputed
    tasks = [(str(p), params, count, seed * 1_000_003 + zlib.crc32(str(p).encode())) for p in paths]
    if workers > 1 and len(tasks) > 64:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            variants = list(pool.map(_variants_of, tasks, chunksize=64))
    else:
        variants = [_variants_of(t) for t in tasks]
    shape = (0, count, params.canvas_height, params.canvas_width)
    out = np.stack(variants) if variants else np.zeros(shape, np.float16)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        staging = stored.with_name(stored.name + f".{os.getpid()}.tmp.npy")
        np.save(staging, out)
        os.replace(staging, stored)
    return out
