"""Augmentations that suit signatures, applied to preprocessed canvases (ink high, paper 0).

A writer's hand varies in slant, size, pressure and small wobbles; so do these. Never a flip:
a mirrored signature is a different signature. The affine transform is shrunk when needed so
the ink stays inside the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentParams:
    """Ranges at strength 1.0; ``strength`` scales them all (0 = no augmentation)."""

    strength: float = 1.0
    rotation_deg: float = 5.0
    shear: float = 0.15
    scale: float = 0.10
    shift: float = 0.04  # fraction of the canvas
    stroke_probability: float = 0.4
    elastic_sigma: float = 6.0
    elastic_alpha: float = 1.5  # pixels
    ink_low: float = 0.7


def _affine(rng: np.random.Generator, p: AugmentParams, shape: tuple[int, int], box) -> np.ndarray:
    h, w = shape
    s = p.strength
    angle = np.deg2rad(rng.uniform(-p.rotation_deg, p.rotation_deg) * s)
    shear = rng.uniform(-p.shear, p.shear) * s
    sx = 1.0 + rng.uniform(-p.scale, p.scale) * s
    sy = sx * (1.0 + rng.uniform(-p.scale, p.scale) * s * 0.5)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    centre = np.array([w / 2.0, h / 2.0])
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64) - centre
    moved = corners @ linear.T
    margin = 2.0 + p.elastic_alpha * s  # the elastic wobble must not push ink out either
    half = np.array([w / 2.0 - margin, h / 2.0 - margin])
    extent = np.abs(moved).max(axis=0)
    shrink = min(1.0, float(np.min(half / np.maximum(extent, 1e-6))))
    linear = linear * shrink
    moved = corners @ linear.T
    # shift within the room left, up to `shift` of the canvas
    room = np.maximum(half - np.abs(moved).max(axis=0), 0.0)
    limit = np.minimum(room, np.array([w, h]) * p.shift * s)
    offset = rng.uniform(-limit, limit)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = linear
    matrix[:, 2] = centre - linear @ centre + offset
    return matrix


def _ink_box(canvas: np.ndarray):
    ys, xs = np.nonzero(canvas > 0.02)
    if xs.size == 0:
        return None
    return xs.min(), ys.min(), xs.max(), ys.max()


def augment(canvas: np.ndarray, rng: np.random.Generator, params: AugmentParams = AugmentParams()) -> np.ndarray:
    """One random variation of a canvas; the ink stays inside."""
    if params.strength <= 0:
        return canvas
    box = _ink_box(canvas)
    if box is None:
        return canvas
    h, w = canvas.shape
    out = canvas
    if rng.random() < params.stroke_probability * min(1.0, params.strength):
        kernel = np.ones((2, 2), np.uint8)
        out = cv2.dilate(out, kernel) if rng.random() < 0.5 else cv2.erode(out, kernel)
        if out.sum() < 0.6 * canvas.sum():  # thin strokes would vanish: keep the pen as it was
            out = canvas
    matrix = _affine(rng, params, (h, w), box)
    if params.elastic_alpha > 0:
        # smooth random displacement: a gentle wobble of the strokes
        dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), params.elastic_sigma)
        dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), params.elastic_sigma)
        norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
        alpha = params.elastic_alpha * params.strength / norm
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        full = np.vstack([matrix, [0, 0, 1]])
        inverse = np.linalg.inv(full)[:2]
        map_x = inverse[0, 0] * grid_x + inverse[0, 1] * grid_y + inverse[0, 2] + dx * alpha
        map_y = inverse[1, 0] * grid_x + inverse[1, 1] * grid_y + inverse[1, 2] + dy * alpha
        out = cv2.remap(out, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        out = cv2.warpAffine(out, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    ink = rng.uniform(params.ink_low + (1 - params.ink_low) * (1 - min(1.0, params.strength)), 1.0)
    return np.clip(out * ink, 0.0, 1.0).astype(np.float32)
