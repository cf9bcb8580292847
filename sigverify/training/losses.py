"""Metric-learning losses. Every loss takes ``(embeddings, labels, indices=None)``.

``indices`` is a miner's output (miners.py): a pair loss turns mined triplets into their pairs
itself, a triplet loss turns mined pairs into the triplets they make; with no indices a loss
uses every valid pair or triplet of the batch. The trainer composes a loss, an optional miner
and the training heads through :class:`Objective` and never looks inside them, so a new loss is
one class here and one entry in ``LOSSES``.

Label convention for pairs: y = 1 for a *similar* pair (two genuine signatures of the same
writer), y = 0 for a *dissimilar* pair (a genuine signature and a forgery, skilled or random).
Contrastive: L = y·d² + (1−y)·max(0, m − d)²  (Hadsell, Chopra & LeCun 2006).
Triplet:     L = max(0, d(a, p) − d(a, n) + m).
"""

from __future__ import annotations

import torch
from torch import nn

from sigverify.training.miners import MINERS, AllPairsMiner, AllTripletsMiner, BaseMiner, Labels, Pairs, Triplets


def pair_distances(embeddings: torch.Tensor, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Euclidean distances of the given index pairs (with a tiny epsilon for a finite gradient at 0)."""
    diff = embeddings[first] - embeddings[second]
    return torch.sqrt((diff * diff).sum(dim=1) + 1e-12)


def as_pairs(indices: Pairs | Triplets) -> Pairs:
    """Mined triplets as contrastive pairs: (a, p) similar, (a, n) dissimilar."""
    if isinstance(indices, Pairs):
        return indices
    a, p, n = indices
    return Pairs(torch.cat([a, a]), torch.cat([p, n]), torch.cat([torch.ones_like(a), torch.zeros_like(a)]))


def as_triplets(indices: Pairs | Triplets) -> Triplets:
    """Mined pairs as triplets: every similar pair (a, p) with every dissimilar pair (a, n) of its anchor."""
    if isinstance(indices, Triplets):
        return indices
    first, second, similar = indices
    similar = similar.bool()
    matches = (first[similar][:, None] == first[~similar][None, :])
    i, j = torch.nonzero(matches, as_tuple=True)
    return Triplets(first[similar][i], second[similar][i], second[~similar][j])


class MetricLoss(nn.Module):
    """A loss over index tuples of a batch; ``all_miner`` supplies them when no miner ran."""

    all_miner: BaseMiner = AllPairsMiner()
    #: how many pairs or triplets the last call learnt from (what a benchmark counts per step)
    tuples_used: int = 0

    def forward(self, embeddings: torch.Tensor, labels: Labels, indices: Pairs | Triplets | None = None) -> torch.Tensor:
        if indices is None:
            indices = self.all_miner(embeddings, labels)
        return self.compute(embeddings, indices)

    def compute(self, embeddings: torch.Tensor, indices: Pairs | Triplets) -> torch.Tensor:
        raise NotImplementedError


class ContrastiveLoss(MetricLoss):
    """Mean over positive pairs plus mean over negative pairs, so the two classes weigh the same."""

    def __init__(self, margin: float = 1.0) -> None:
        super().__init__()
        self.margin = margin

    def compute(self, embeddings, indices):
        first, second, similar = as_pairs(indices)
        self.tuples_used = int(first.numel())
        d = pair_distances(embeddings, first, second)
        y = similar.to(d.dtype)
        positive = y * d.pow(2)
        negative = (1 - y) * torch.clamp(self.margin - d, min=0).pow(2)
        n_pos, n_neg = y.sum().clamp(min=1), (1 - y).sum().clamp(min=1)
        return positive.sum() / n_pos + negative.sum() / n_neg


class TripletLoss(MetricLoss):
    """Mean of max(0, d(a,p) − d(a,n) + margin) over the mined triplets."""

    all_miner = AllTripletsMiner()

    def __init__(self, margin: float = 0.3) -> None:
        super().__init__()
        self.margin = margin

    def compute(self, embeddings, indices):
        anchor, positive, negative = as_triplets(indices)
        self.tuples_used = int(anchor.numel())
        if anchor.numel() == 0:
            return embeddings.sum() * 0.0
        d_ap = pair_distances(embeddings, anchor, positive)
        d_an = pair_distances(embeddings, anchor, negative)
        return torch.clamp(d_ap - d_an + self.margin, min=0).mean()


class ForgeryAwareTripletLoss(MetricLoss):
    """Dual-margin batch-hard triplet loss that learns what a forgery looks like, not only who wrote.

    For every genuine anchor: its farthest genuine signature of the same writer must be nearer
    than its *nearest skilled forgery of that writer* by ``skilled_margin``, and nearer than
    the nearest signature of *any other writer* by ``random_margin``. The two terms are
    averaged apart, so the few skilled forgeries in a batch weigh as much as the many other
    writers (who alone would teach identification, which is the easy half of the problem).
    It mines its own two kinds of negative, so it takes no miner's indices.
    """

    def __init__(self, skilled_margin: float = 0.4, random_margin: float = 0.6) -> None:
        super().__init__()
        self.skilled_margin, self.random_margin = skilled_margin, random_margin

    def forward(self, embeddings, labels, indices=None):
        if indices is not None:
            raise ValueError("the forgery-aware loss mines its own negatives; train it with mining 'none'")
        writer, forged = labels
        diff = embeddings[:, None, :] - embeddings[None, :, :]
        d = torch.sqrt((diff * diff).sum(dim=2) + 1e-12)
        genuine = ~forged
        same = writer[:, None] == writer[None, :]
        eye = torch.eye(writer.numel(), dtype=torch.bool, device=writer.device)
        positive = same & genuine[:, None] & genuine[None, :] & ~eye
        skilled = same & genuine[:, None] & forged[None, :]
        other = ~same & genuine[:, None]
        anchors = positive.any(dim=1)
        self.tuples_used = 0
        if not anchors.any():
            return embeddings.sum() * 0.0
        hardest_positive = torch.where(positive, d, torch.zeros_like(d)).amax(dim=1)
        big = torch.full_like(d, 4.0)  # unit embeddings: no distance exceeds 2
        terms = []
        for mask, margin in ((skilled, self.skilled_margin), (other, self.random_margin)):
            usable = anchors & mask.any(dim=1)
            if usable.any():
                self.tuples_used += int(usable.sum())  # one triplet per anchor and kind of negative
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

    def forward(self, embeddings: torch.Tensor, labels: Labels) -> torch.Tensor:
        writer, forged = labels
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


#: the `loss` setting of a training run → the loss (margins from the run's settings)
LOSSES = {
    "contrastive": lambda margin, random_margin: ContrastiveLoss(margin),
    "triplet": lambda margin, random_margin: TripletLoss(margin),
    "forgery-aware": lambda margin, random_margin: ForgeryAwareTripletLoss(margin, random_margin),
}
#: losses that mine their own negatives (a separate miner would be ignored, so it is refused)
SELF_MINING = ("forgery-aware",)


class Objective(nn.Module):
    """What one training step minimises: a metric loss on a miner's indices (or on every valid
    tuple), plus the training heads when the run has them."""

    def __init__(self, loss: MetricLoss, miner: BaseMiner | None = None, heads: "TrainingHeads | None" = None) -> None:
        super().__init__()
        self.loss, self.miner, self.heads = loss, miner, heads

    @classmethod
    def from_settings(cls, loss: str, mining: str, margin: float, random_margin: float,
                      heads: "TrainingHeads | None" = None) -> "Objective":
        return cls(LOSSES[loss](margin, random_margin), MINERS[mining](margin), heads)

    @property
    def tuples_used(self) -> int:
        """Pairs or triplets the metric loss learnt from in the last step."""
        return self.loss.tuples_used

    def forward(self, embeddings: torch.Tensor, labels: Labels) -> torch.Tensor:
        indices = self.miner(embeddings, labels) if self.miner is not None else None
        total = self.loss(embeddings, labels, indices)
        if self.heads is not None:
            total = total + self.heads(embeddings, labels)
        return total
