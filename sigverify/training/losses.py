"""Metric-learning losses as small parts: they take embeddings and index tuples from a miner.

Label convention for pairs: y = 1 for a *similar* pair (two genuine signatures of the same
writer), y = 0 for a *dissimilar* pair (a genuine signature and a forgery, skilled or random).
Contrastive: L = y·d² + (1−y)·max(0, m − d)²  (Hadsell, Chopra & LeCun 2006).
Triplet:     L = max(0, d(a, p) − d(a, n) + m).
"""

from __future__ import annotations

import torch
from torch import nn


def pair_distances(embeddings: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Euclidean distances of the given index pairs (with a tiny epsilon for a finite gradient at 0)."""
    diff = embeddings[first] - embeddings[second]
    return torch.sqrt((diff * diff).sum(dim=1) + 1e-12)


class ContrastiveLoss(nn.Module):
    """Mean over positive pairs plus mean over negative pairs, so the two classes weigh the same."""

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        first, second, similar = pairs
        d = pair_distances(embeddings, first, second)
        y = similar.to(d.dtype)
        positive = y * d.pow(2)
        negative = (1 - y) * torch.clamp(self.margin - d, min=0).pow(2)
        n_pos, n_neg = y.sum().clamp(min=1), (1 - y).sum().clamp(min=1)
        return positive.sum() / n_pos + negative.sum() / n_neg

    def per_pair(self, d: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of each pair, from distances and labels (for tests and inspection)."""
        y = y.to(d.dtype)
        return y * d.pow(2) + (1 - y) * torch.clamp(self.margin - d, min=0).pow(2)


class TripletLoss(nn.Module):
    """Mean of max(0, d(a,p) − d(a,n) + margin) over the mined triplets."""

    def __init__(self, margin: float = 0.3) -> None:
        super().__init__()
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, triplets: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        anchor, positive, negative = triplets
        if anchor.numel() == 0:
            return embeddings.sum() * 0.0
        d_ap = pair_distances(embeddings, anchor, positive)
        d_an = pair_distances(embeddings, anchor, negative)
        return torch.clamp(d_ap - d_an + self.margin, min=0).mean()
