"""Augmentation keeps the ink inside the canvas and never mirrors a signature."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.imaging.preprocess import PreprocessParams, preprocess
from sigverify.training.augment import AugmentParams, augment


def test_ink_stays_inside_the_canvas(signature):
    canvas = preprocess(signature, PreprocessParams(padding=0))  # ink touches the canvas edge already
    rng = np.random.default_rng(0)
    strong = AugmentParams(strength=1.5)
    for _ in range(200):
        out = augment(canvas, rng, strong)
        assert out.shape == canvas.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
        border = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
        assert border.max() < 0.05, "ink reached the canvas border"
        assert out.sum() > 0.3 * canvas.sum(), "ink was lost"


def test_never_a_mirror_image(signature):
    def blur(image):  # compare shapes, not exact stroke pixels
        return cv2.GaussianBlur(image, (0, 0), 4).ravel()

    canvas = preprocess(signature, PreprocessParams())
    rng = np.random.default_rng(1)
    for _ in range(50):
        out = blur(augment(canvas, rng))
        same = np.corrcoef(out, blur(canvas))[0, 1]
        assert same > np.corrcoef(out, blur(np.ascontiguousarray(canvas[:, ::-1])))[0, 1]
        assert same > np.corrcoef(out, blur(np.ascontiguousarray(canvas[::-1, :])))[0, 1]


def test_strength_zero_is_identity(signature):
    canvas = preprocess(signature, PreprocessParams())
    assert augment(canvas, np.random.default_rng(0), AugmentParams(strength=0)) is canvas


def test_seeded_augmentation_is_reproducible(signature):
    canvas = preprocess(signature, PreprocessParams())
    a = augment(canvas, np.random.default_rng(5))
    b = augment(canvas, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_without_pen_augmentation_the_ink_keeps_its_darkness(signature):
    """The pen's traces (how dark, how wide) can be what tells a forger's hand: a run may keep them."""
    canvas = preprocess(signature, PreprocessParams())
    keep_pen = AugmentParams(stroke_probability=0.0, ink_low=1.0)
    vary_pen = AugmentParams()
    rng_keep, rng_vary = np.random.default_rng(2), np.random.default_rng(2)

    def darkness(image):  # how dark the strong strokes are
        return np.percentile(image[image > 0.05], 95)

    kept = [darkness(augment(canvas, rng_keep, keep_pen)) / darkness(canvas) for _ in range(60)]
    varied = [darkness(augment(canvas, rng_vary, vary_pen)) / darkness(canvas) for _ in range(60)]
    assert min(kept) > 0.9 and min(varied) < 0.8  # lighter ink only when asked
    assert np.std(kept) < 0.5 * np.std(varied)


def test_a_run_chooses_pen_augmentation(tmp_path):
    from sigverify.synthetic import write_dataset
    from sigverify.training.datasets import prepare, scan_dataset
    from sigverify.training.sampler import BatchSampler
    from sigverify.training.trainer import TrainConfig

    scan = scan_dataset(write_dataset(tmp_path / "data", writers=3, genuine=3, forged=1, seed=1))
    data = prepare(scan, sorted(scan.usable_writers()), PreprocessParams(), [])
    plain = BatchSampler(data, TrainConfig(pen_augmentation=False), np.random.default_rng(0)).augment
    assert plain.stroke_probability == 0.0 and plain.ink_low == 1.0
    assert BatchSampler(data, TrainConfig(), np.random.default_rng(0)).augment == AugmentParams()


def test_settling_keeps_the_pen_and_softens_geometry(tmp_path):
    from sigverify.synthetic import write_dataset
    from sigverify.training.datasets import prepare, scan_dataset
    from sigverify.training.sampler import BatchSampler
    from sigverify.training.trainer import TrainConfig

    scan = scan_dataset(write_dataset(tmp_path / "data", writers=3, genuine=3, forged=1, seed=1))
    data = prepare(scan, sorted(scan.usable_writers()), PreprocessParams(), [])
    sampler = BatchSampler(data, TrainConfig(augment_strength=0.8, settle_augment_strength=0.3), np.random.default_rng(0))
    assert sampler.augment == AugmentParams(strength=0.8)
    sampler.settle(True)
    assert sampler.augment == AugmentParams(strength=0.3, stroke_probability=0.0, ink_low=1.0)
    sampler.settle(False)
    assert sampler.augment == AugmentParams(strength=0.8)
