"""Synthetic signatures, so tests, demos and the wizard's tests need no external data.

A writer is a seeded set of pen strokes (control points of smooth curves) with its own
slant, size and pen. A genuine sample redraws them with small natural variation; a skilled
forgery is another hand copying the shape: wrong proportions, a tremor, a slower, more even
pen. Samples can be put on paper-like pages with printed lines and scanner noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


def _catmull_rom(points: np.ndarray, samples_per_segment: int = 12) -> np.ndarray:
    """Smooth curve through the control points (a pen moves smoothly)."""
    padded = np.vstack([points[0], points, points[-1]])
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(points[-1:])
    return np.vstack(out)


@dataclass
class SyntheticWriter:
    """One writer's hand: strokes, slant, size and pen, all drawn from its seed."""

    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.strokes: list[np.ndarray] = []
        x = 0.0
        for _ in range(int(rng.integers(2, 5))):
            n = int(rng.integers(5, 11))
            xs = x + np.cumsum(rng.uniform(4.0, 16.0, n))
            ys = rng.normal(0.0, 14.0, n)
            if rng.random() < 0.5:  # a loop, as in capital letters
                k = int(rng.integers(1, n - 1))
                ys[k] -= rng.uniform(15, 35)
                xs[k] -= rng.uniform(5, 15)
            self.strokes.append(np.stack([xs, ys], axis=1))
            x = xs[-1] + rng.uniform(-8.0, 10.0)
        if rng.random() < 0.5:  # a flourish underneath
            xs = np.linspace(-5, x * rng.uniform(0.6, 1.0), 4)
            ys = 25 + rng.normal(0, 4, 4)
            self.strokes.append(np.stack([xs, ys], axis=1))
        self.slant = float(rng.uniform(-0.35, 0.35))
        self.height = float(rng.uniform(45, 75))
        self.pen = float(rng.uniform(1.5, 3.2))
        self.ink = float(rng.uniform(10, 70))

    def genuine(self, rng: np.random.Generator) -> np.ndarray:
        """A genuine signature by this writer: the same shape, naturally varied."""
        return self._render(rng, shape_noise=1.2, proportion=0.04, slant_noise=0.04, tremor=0.0, pen_noise=0.25)

    def forgery(self, rng: np.random.Generator) -> np.ndarray:
        """A skilled forgery: another hand copying the shape, with tremor and wrong proportions."""
        return self._render(rng, shape_noise=2.6, proportion=0.12, slant_noise=0.12, tremor=0.7, pen_noise=0.05)

    def _render(
        self,
        rng: np.random.Generator,
        shape_noise: float,
        proportion: float,
        slant_noise: float,
        tremor: float,
        pen_noise: float,
    ) -> np.ndarray:
        scale = self.height / 60.0 * rng.uniform(0.92, 1.08)
        slant = self.slant + rng.normal(0.0, slant_noise)
        paths = []
        for stroke in self.strokes:
            pts = stroke + rng.normal(0.0, shape_noise, stroke.shape)
            pts = pts * np.array([1.0 + rng.normal(0, proportion), 1.0 + rng.normal(0, proportion)])
            curve = _catmull_rom(pts)
            if tremor:
                curve = curve + rng.normal(0.0, tremor, curve.shape)
            curve[:, 0] += -slant * curve[:, 1]
            paths.append(curve * scale)
        every = np.vstack(paths)
        origin = every.min(axis=0) - 10
        size = np.ceil(every.max(axis=0) - origin + 10).astype(int)
        canvas = np.full((size[1], size[0]), 255, np.uint8)
        ink = int(np.clip(self.ink + rng.normal(0, 8), 0, 120))
        for curve in paths:
            pts = np.round((curve - origin) * 4).astype(np.int32)  # 2 bits of sub-pixel precision
            pressure = 1.0 + pen_noise * np.sin(np.linspace(0, rng.uniform(2, 6), len(pts)) + rng.uniform(0, 6))
            for i in range(len(pts) - 1):
                width = max(1, int(round(self.pen * pressure[i] * scale)))
                cv2.line(canvas, tuple(pts[i]), tuple(pts[i + 1]), ink, width, cv2.LINE_AA, shift=2)
        return canvas


def place_on_page(
    signature: np.ndarray,
    rng: np.random.Generator,
    page_size: tuple[int, int] = (400, 900),
    position: tuple[int, int] | None = None,
    printed_lines: bool = True,
    noise: float = 4.0,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Put a signature on a paper-like page; returns the page and the signature's box (x, y, w, h)."""
    height, width = page_size
    sh, sw = signature.shape
    if sh > height or sw > width:
        raise ValueError("page too small for the signature")
    paper = 235 + 12 * np.linspace(0, 1, width)[None, :] * rng.uniform(0.3, 1.0)
    page = np.broadcast_to(paper, (height, width)).astype(np.float32).copy()
    if printed_lines:
        for y in rng.choice(np.arange(10, height - 10), size=3, replace=False):
            cv2.line(page, (5, int(y)), (width - 5, int(y)), 120.0, 1)
    if position is None:
        position = (int(rng.integers(0, width - sw + 1)), int(rng.integers(0, height - sh + 1)))
    x, y = position
    region = page[y : y + sh, x : x + sw]
    np.minimum(region, signature.astype(np.float32), out=region)
    page += rng.normal(0.0, noise, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8), (x, y, sw, sh)


def write_dataset(
    root: Path, writers: int = 6, genuine: int = 6, forged: int = 4, seed: int = 0, first_id: int = 1
) -> Path:
    """Write a dataset in the WRITER/genuine, WRITER/forged layout of ../shared/data."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for w in range(writers):
        writer = SyntheticWriter(seed=seed * 1000 + w)
        folder = root / f"{first_id + w:03d}"
        (folder / "genuine").mkdir(parents=True, exist_ok=True)
        (folder / "forged").mkdir(parents=True, exist_ok=True)
        for i in range(genuine):
            cv2.imwrite(str(folder / "genuine" / f"{i + 1:02d}.png"), writer.genuine(rng))
        for i in range(forged):
            cv2.imwrite(str(folder / "forged" / f"forger0001_{i + 1:02d}.png"), writer.forgery(rng))
    return root


def write_samples(folder: Path, seed: int = 2026) -> list[Path]:
    """The demo files in assets/samples: one writer's references, a genuine and a forged
    questioned signature, another writer's signature, and a genuine one on a lined page."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    writer, stranger = SyntheticWriter(seed), SyntheticWriter(seed + 1)
    images = {f"reference_{i}.png": writer.genuine(rng) for i in range(1, 4)}
    images["questioned_genuine.png"] = writer.genuine(rng)
    images["questioned_forged.png"] = writer.forgery(rng)
    images["other_writer.png"] = stranger.genuine(rng)
    images["page_with_signature.jpg"] = place_on_page(writer.genuine(rng), rng, page_size=(500, 1000))[0]
    written = []
    for name, image in images.items():
        cv2.imwrite(str(folder / name), image)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    import sys

    for path in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "assets/samples")):
        print(path)
