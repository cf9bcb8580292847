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


class ForgeryAwareTripletLoss(nn.Module):
    """Dual-margin batch-hard triplet loss that learns what a forgery looks like, not only who wrote.

    For every genuine anchor: its farthest genuine signature of the same writer must be nearer
    than its *nearest skilled forgery of that writer* by ``skilled_margin``, and nearer than
    the nearest signature of *any other writer* by ``random_margin``. The two terms are
    averaged apart, so the few skilled forgeries in a batch weigh as much as the many other
    writers (who alone would teach identification, which is the easy half of the problem).
    """

    def __init__(self, skilled_margin: float = 0.4, random_margin: float = 0.6) -> None:
        super().__init__()
        self.skilled_margin, self.random_margin = skilled_margin, random_margin

    def forward(self, embeddings: torch.Tensor, writer: torch.Tensor, forged: torch.Tensor) -> torch.Tensor:
        diff = embeddings[:, None, :] - embeddings[None, :, :]
        d = torch.sqrt((diff * diff).sum(dim=2) + 1e-12)
        genuine = ~forged
        same = writer[:, None] == writer[None, :]
        eye = torch.eye(writer.numel(), dtype=torch.bool, device=writer.device)
        positive = same & genuine[:, None] & genuine[None, :] & ~eye
        skilled = same & genuine[:, None] & forged[None, :]
        other = ~same & genuine[:, None]
        anchors = positive.any(dim=1)
        if not anchors.any():
            return embeddings.sum() * 0.0
        hardest_positive = torch.where(positive, d, torch.zeros_like(d)).amax(dim=1)
        big = torch.full_like(d, 4.0)  # unit embeddings: no distance exceeds 2
        terms = []
        for mask, margin in ((skilled, self.skilled_margin), (other, self.random_margin)):
            usable = anchors & mask.any(dim=1)
            if usable.any():
                nearest = torch.where(mask, d, big).amin(dim=1)
                terms.append(torch.relu(hardest_positive - nearest + margin)[usable].mean())
        return torch.stack(terms).sum() if terms else embeddings.sum() * 0.0


class TrainingHeads(nn.Module):
    """Heads used only while training (never exported), as in SigNet / SigNet-F.

    A cosine writer classifier over the training writers' genuine signatures (scale 16) keeps
    the embedding organised by writer; a linear genuine-vs-skilled-forgery head pushes the
    traces a forger leaves (hesitation, tremor, retouching) into the embedding.
    """

    def __init__(self, embedding_size: int, writers: int, writer_weight: float, forgery_weight: float,
                 scale: float = 16.0) -> None:
        super().__init__()
        self.writer = nn.Parameter(torch.randn(writers, embedding_size) * 0.01)
        self.forgery = nn.Linear(embedding_size, 1)
        self.writer_weight, self.forgery_weight, self.scale = writer_weight, forgery_weight, scale

    def forward(self, embeddings: torch.Tensor, writer: torch.Tensor, forged: torch.Tensor) -> torch.Tensor:
        loss = embeddings.sum() * 0.0
        genuine = ~forged
        if self.writer_weight > 0 and genuine.any():
            logits = self.scale * embeddings[genuine] @ nn.functional.normalize(self.writer, dim=1).T
            loss = loss + self.writer_weight * nn.functional.cross_entropy(logits, writer[genuine])
        if self.forgery_weight > 0 and forged.any():
            logit = self.forgery(embeddings).squeeze(1)
            target = forged.to(logit.dtype)
            positive_weight = (genuine.sum() / forged.sum().clamp(min=1)).to(logit.dtype)
            loss = loss + self.forgery_weight * nn.functional.binary_cross_entropy_with_logits(
                logit, target, pos_weight=positive_weight)
        return loss
