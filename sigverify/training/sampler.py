"""Training batches: P writers × (K genuine + F skilled forgeries), augmented, optionally drawn
evenly from every dataset; the stream each batch draws from is set per rank and epoch by the
trainer."""

from __future__ import annotations

import hashlib
import numpy as np

from sigverify.training.augment import AugmentParams, augment
from sigverify.training.capture import captured_canvases
from sigverify.training.datasets import PreparedSet

def dataset_of(writer: str) -> str:
    """The dataset part of a ``DATASET/WRITER`` name ("" for a single folder's writers)."""
    return writer.split("/", 1)[0] if "/" in writer else ""


class BatchSampler:
    """P writers × (K genuine + F skilled forgeries), augmented; labels are writer and forged."""

    def __init__(self, data: PreparedSet, config, rng: np.random.Generator) -> None:  # config: a TrainConfig
        self.data, self.config, self.rng = data, config, rng
        self.drawn = hashlib.sha256()  # what this process drew, in order (tests compare ranks and resumes)
        self.genuine = {w: np.nonzero((data.writer == w) & ~data.forged)[0] for w in np.unique(data.writer)}
        self.forged = {w: np.nonzero((data.writer == w) & data.forged)[0] for w in np.unique(data.writer)}
        self.writers = [w for w, idx in self.genuine.items() if idx.size >= 2]
        self.settle(False)
        #: capture variants (a clearing image, a low-resolution scan, a JPEG, print painted out) of
        #: every image, computed once; a share of the draws uses one instead of the clean canvas
        self.captured = None
        if getattr(config, "capture_share", 0.0) > 0 and len(data):
            self.captured = captured_canvases(data.paths, config.preprocess_params, config.capture_variants,
                                              config.seed, config.cache_dir or None)
        groups: dict[str, list] = {}
        for w in self.writers:
            groups.setdefault(dataset_of(data.writer_names[w]), []).append(w)
        self.groups = list(groups.values()) if config.balance_datasets and len(groups) > 1 else [self.writers]

    def settle(self, settled: bool) -> None:
        """Augment as configured, or (settled: the run's last epochs) keep the pen's traces and
        use the gentler geometric strength."""
        c = self.config
        strength = c.settle_augment_strength if settled else c.augment_strength
        keep_pen = settled or not c.pen_augmentation
        self.augment = AugmentParams(strength=strength, stroke_probability=0.0, ink_low=1.0) if keep_pen \
            else AugmentParams(strength=strength)

    def _choose_writers(self) -> np.ndarray:
        """P writers; with balance_datasets, as evenly as possible from every dataset, so a small
        dataset is not drowned by the large ones."""
        c, rng = self.config, self.rng
        if len(self.groups) == 1:
            return rng.choice(self.writers, size=min(c.writers_per_batch, len(self.writers)), replace=False)
        share = np.full(len(self.groups), c.writers_per_batch // len(self.groups))
        share[rng.permutation(len(self.groups))[: c.writers_per_batch % len(self.groups)]] += 1
        return np.concatenate([rng.choice(group, size=min(n, len(group)), replace=False)
                               for group, n in zip(self.groups, share)])

    def _canvas(self, index: int) -> np.ndarray:
        if self.captured is not None and self.rng.random() < self.config.capture_share:
            return self.captured[index, self.rng.integers(self.captured.shape[1])].astype(np.float32)
        return self.data.canvases[index]

    def __call__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, rng = self.config, self.rng
        chosen = self._choose_writers()
        indices = []
        for w in chosen:
            own = self.genuine[w]
            indices += list(rng.choice(own, size=c.genuine_per_writer, replace=own.size < c.genuine_per_writer))
            if self.forged[w].size and c.forged_per_writer:
                fakes = self.forged[w]
                indices += list(rng.choice(fakes, size=c.forged_per_writer, replace=fakes.size < c.forged_per_writer))
        indices = np.asarray(indices)
        self.drawn.update(indices.astype("<i8").tobytes())
        images = np.stack([augment(self._canvas(i), rng, self.augment) for i in indices])
        return images[:, None], self.data.writer[indices], self.data.forged[indices]
