"""The forgery space: a linear view of the network's pooled features and texture in which skilled
forgeries stand out from their writer's genuine signatures.

The embedding is trained to tell *writers* apart; its head throws away much of what the pooled
features (global and strip pooling, 2,048 numbers) know about *how* a stroke was made, and the
pooling itself averages away the finer maps' texture (model.py, ``pooled_and_texture``: each
channel's mean and spread over the image at two finer scales, 896 more numbers, and how the
channels of the three pooled maps fire together — their correlations, 10,640 more, the widest
map's 8,128 reduced to 1,024 principal components for the fit). Fitted on
the training writers after training — no gradient, no new data — the space keeps the directions
along which a writer's skilled forgeries (and other writers, weighted by ``between``) move away
from the writer's genuine mean, measured against how that writer's genuine signatures vary:

    maximise  wᵀ (S_forged + between · S_writers) w   subject to   wᵀ (S_genuine + ridge) w = 1

(a generalised eigenproblem; S_genuine is the pooled within-writer scatter of genuine signatures,
S_forged that of skilled forgeries around their writer's genuine mean, S_writers the spread of
writer means). In that space a genuine signature's distance to its writer's specimens is about the
same for every writer, and a forgery's is larger. The exported model outputs the embedding and
these coordinates side by side; the account model (verification/account_model.py) scores both.
Measured on validation writers before it was adopted (bench/results/accuracy.md, ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sigverify.verification.account_model import within_writer_whitening

#: settings chosen on the validation writers (the sweeps are in models/README.md): 512 directions,
#: ridge 1 and other writers weighted 3 since the channel correlations joined the texture
DIMENSIONS = 512
RIDGE = 1.0
BETWEEN_WEIGHT = 3.0
#: the widest map's channel correlations enter the fit as this many principal components
WIDE_COMPONENTS = 1024
MIN_WRITERS = 10  # writers with genuine signatures and skilled forgeries needed to fit it at all


@dataclass(frozen=True)
class ForgerySpace:
    mean: np.ndarray  # (P,) of log(1 + features)
    scale: np.ndarray  # (P,)
    projection: np.ndarray  # (P, m)

    @property
    def dimensions(self) -> int:
        return int(self.projection.shape[1])

    def coordinates(self, features: np.ndarray) -> np.ndarray:
        """Numpy twin of the exported graph, from space_features (tests compare the two)."""
        return ((np.log1p(np.maximum(features, 0.0)) - self.mean) / self.scale) @ self.projection


def fit_forgery_space(features: np.ndarray, writer: np.ndarray, forged: np.ndarray, dimensions: int = DIMENSIONS,
                      ridge: float = RIDGE, between: float = BETWEEN_WEIGHT, wide: int = 0,
                      components: int = WIDE_COMPONENTS) -> ForgerySpace | None:
    """Fit on training writers' space features (pooled and texture); None when the data cannot support it (too few
    writers with both genuine signatures and skilled forgeries).

    ``wide``: how many trailing columns form one block too wide to fit directly (the widest map's channel
    correlations, model.wide_texture_size): they enter as their ``components`` leading principal components
    (each scaled to unit spread), and the returned projection folds that step in, so it still reads every
    feature and the exported graph stays one projection."""
    x = np.log1p(np.maximum(np.asarray(features, np.float64), 0.0))
    mean, spread = x.mean(axis=0), x.std(axis=0)
    # a feature that (nearly) never varies carries nothing: a floor keeps float noise in it from
    # being magnified (the shipped model's smallest spread is 0.4 of the median, far above the floor)
    scale = np.maximum(spread, 0.01 * np.median(spread)) + 1e-6
    x = (x - mean) / scale
    reduction = None
    if 0 < components < wide <= x.shape[1]:
        reduction = _principal_components(x[:, -wide:], components)
        x = np.concatenate([x[:, :-wide], x[:, -wide:] @ reduction], axis=1)
    size = x.shape[1]
    forged_scatter, forged_count, writer_means, with_forgeries = np.zeros((size, size)), 0, [], 0
    for w in np.unique(writer):
        genuine, forgeries = x[(writer == w) & ~forged], x[(writer == w) & forged]
        if len(genuine) < 2:
            continue
        centre = genuine.mean(axis=0)
        writer_means.append(centre)
        if len(forgeries):
            centred = forgeries - centre
            forged_scatter += centred.T @ centred
            forged_count += len(forgeries)
            with_forgeries += 1
    if with_forgeries < MIN_WRITERS:
        return None
    forged_scatter /= forged_count
    writers_scatter = np.cov(np.asarray(writer_means).T)
    # S_genuine's inverse square root, ridge included: the within-writer whitening the account model uses
    whiten = within_writer_whitening(x[~forged], writer[~forged], ridge=ridge)
    spread, directions = np.linalg.eigh(whiten @ (forged_scatter + between * writers_scatter) @ whiten)
    keep = np.argsort(spread)[::-1][:min(dimensions, size)]
    projection = whiten @ directions[:, keep]
    if reduction is not None:  # fold the components back: the projection reads the wide block itself
        projection = np.concatenate([projection[:-components], reduction @ projection[-components:]])
    return ForgerySpace(mean.astype(np.float32), scale.astype(np.float32), projection.astype(np.float32))


def _principal_components(block: np.ndarray, components: int) -> np.ndarray:
    """(W, components): the block's leading principal directions, each scaled so its coordinate has unit
    spread. Estimated on every third row, which bounds the SVD's cost (about a minute for the shipped
    model's 8,128 correlations of 10,459 training images) and moves the result very little."""
    sample = block[::3]
    sample = sample - sample.mean(axis=0)
    _, _, rows = np.linalg.svd(sample.astype(np.float32), full_matrices=False)
    basis = rows[:components].T.astype(np.float64)
    return basis / ((block @ basis).std(axis=0) + 1e-6)


def space_features(model: nn.Module, canvases: np.ndarray, batch: int = 128) -> np.ndarray:
    """What the space is fitted on: the branch's pooled features and texture (N, P), in eval mode on the CPU."""
    from sigverify.training.trainer import as_input

    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(canvases), batch):
            out.append(torch.cat(model.pooled_and_texture(as_input(canvases[start : start + batch][:, None], "cpu")),
                                 dim=1).numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


class WithForgerySpace(nn.Module):
    """The exported network: [embedding | forgery-space coordinates] in one output."""

    def __init__(self, branch: nn.Module, space: ForgerySpace) -> None:
        super().__init__()
        self.branch = branch
        self.register_buffer("mean", torch.from_numpy(np.asarray(space.mean, np.float32)))
        self.register_buffer("scale", torch.from_numpy(np.asarray(space.scale, np.float32)))
        self.register_buffer("projection", torch.from_numpy(np.asarray(space.projection, np.float32)))
        self.embedding_size = branch.embedding_size + space.dimensions
        self.identity_size = branch.embedding_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, texture = self.branch.pooled_and_texture(x)
        features = torch.cat([pooled, texture], dim=1)
        coordinates = ((torch.log1p(torch.relu(features)) - self.mean) / self.scale) @ self.projection
        return torch.cat([self.branch.embed_pooled(pooled), coordinates], dim=1)
