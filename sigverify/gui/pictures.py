"""numpy images ↔ Qt pixmaps, thumbnails and the questioned-over-reference overlay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 gray (H, W) or RGB (H, W, 3) → a QImage that owns its memory."""
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image * 255.0 if image.max() <= 1.0 else image, 0, 255).astype(np.uint8)
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def to_pixmap(image: np.ndarray, max_width: int = 0, max_height: int = 0) -> QPixmap:
    pixmap = QPixmap.fromImage(to_qimage(image))
    if max_width and max_height:
        pixmap = pixmap.scaled(max_width, max_height, Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
    return pixmap


def canvas_view(canvas: np.ndarray) -> np.ndarray:
    """The model's input as a person would read it: dark ink on white."""
    return (255 - np.clip(canvas * 255.0, 0, 255)).astype(np.uint8)


def overlay(questioned: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Questioned ink in red, reference ink in blue, where both agree dark purple, on white."""
    q, r = np.clip(questioned, 0, 1), np.clip(reference, 0, 1)
    rgb = np.ones(q.shape + (3,), np.float32)
    rgb[..., 1] -= np.maximum(q, r) * 0.9  # green drops wherever there is any ink
    rgb[..., 2] -= q * 0.9  # questioned removes blue → red
    rgb[..., 0] -= r * 0.9  # reference removes red → blue
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
