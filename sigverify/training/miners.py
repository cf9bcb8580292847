"""Online miners: from a batch's embeddings and labels, pick the pairs or triplets to learn from.

Labels: ``writer`` (who the signature belongs to or imitates) and ``forged`` (a skilled
forgery). Two signatures are a positive pair only if both are genuine and of the same writer;
every genuine–forgery and every cross-writer pair is negative. Anchors are genuine only.

Every miner derives from :class:`BaseMiner`: it mines without building a graph (no_grad) and
its output is checked (typed :class:`Pairs` or :class:`Triplets` of equal-length index
tensors within the batch) before a loss sees it — pytorch-metric-learning's split, so a loss
takes any miner's output and a new miner needs no change in the trainer or the losses.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Labels(NamedTuple):
    writer: torch.Tensor  # (N,) writer index
    forged: torch.Tensor  # (N,) bool, a skilled forgery of that writer


class Pairs(NamedTuple):
    first: torch.Tensor
    second: torch.Tensor
    similar: torch.Tensor  # 1: two genuine signatures of one writer, 0: a negative pair


class Triplets(NamedTuple):
    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor


def relation_masks(writer: torch.Tensor, forged: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positive, negative) boolean N×N masks; the diagonal is neither."""
    genuine = ~forged
    same = writer[:, None] == writer[None, :]
    eye = torch.eye(writer.numel(), dtype=torch.bool, device=writer.device)
    positive = same & genuine[:, None] & genuine[None, :] & ~eye
    negative = (~same | forged[:, None] | forged[None, :]) & ~eye & (genuine[:, None] | genuine[None, :])
    return positive, negative


def check_indices(indices, batch_size: int) -> None:
    """Refuse malformed miner output (what a loss would otherwise silently mis-read)."""
    if not isinstance(indices, (Pairs, Triplets)):
        raise TypeError(f"a miner must return Pairs or Triplets, not {type(indices).__name__}")
    lengths = {int(t.numel()) for t in indices}
    if any(t.dim() != 1 or t.dtype != torch.long for t in indices) or len(lengths) > 1:
        raise ValueError(f"{type(indices).__name__}: expected three 1-D int64 tensors of one length")
    for t in indices[:2] if isinstance(indices, Pairs) else indices:
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= batch_size):
            raise ValueError(f"{type(indices).__name__}: an index lies outside the batch of {batch_size}")


class BaseMiner:
    """Mines under no_grad (choosing indices is not part of the objective) and checks its output."""

    def __call__(self, embeddings: torch.Tensor, labels: Labels) -> Pairs | Triplets:
        with torch.no_grad():
            indices = self.mine(embeddings.detach(), labels)
        check_indices(indices, embeddings.shape[0])
        return indices

    def mine(self, embeddings: torch.Tensor, labels: Labels) -> Pairs | Triplets:
        raise NotImplementedError


def _empty_triplets(device) -> Triplets:
    empty = torch.zeros(0, dtype=torch.long, device=device)
    return Triplets(empty, empty, empty)


class AllPairsMiner(BaseMiner):
    """Every positive and every negative pair (upper triangle), label 1 / 0."""

    def mine(self, embeddings, labels):
        positive, negative = relation_masks(*labels)
        upper = torch.triu(torch.ones_like(positive), diagonal=1)
        pi, pj = torch.nonzero(positive & upper, as_tuple=True)
        ni, nj = torch.nonzero(negative & upper, as_tuple=True)
        similar = torch.cat([torch.ones_like(pi), torch.zeros_like(ni)])
        return Pairs(torch.cat([pi, ni]), torch.cat([pj, nj]), similar)


class AllTripletsMiner(BaseMiner):
    """Every valid (anchor, positive, negative) — no mining; the baseline."""

    def mine(self, embeddings, labels):
        positive, negative = relation_masks(*labels)
        valid = positive[:, :, None] & negative[:, None, :]
        return Triplets(*torch.nonzero(valid, as_tuple=True))


class BatchHardMiner(BaseMiner):
    """For each anchor: its farthest positive and its nearest negative (Hermans et al. 2017)."""

    def mine(self, embeddings, labels):
        positive, negative = relation_masks(*labels)
        d = torch.cdist(embeddings, embeddings)
        has = positive.any(dim=1) & negative.any(dim=1)
        anchors = torch.nonzero(has, as_tuple=True)[0]
        if anchors.numel() == 0:
            return _empty_triplets(embeddings.device)
        d_pos = torch.where(positive, d, torch.full_like(d, -1.0))
        d_neg = torch.where(negative, d, torch.full_like(d, float("inf")))
        return Triplets(anchors, d_pos[anchors].argmax(dim=1), d_neg[anchors].argmin(dim=1))


class SemiHardMiner(BaseMiner):
    """For each positive pair (a, p): the nearest negative farther than p but within the margin
    (d_ap < d_an < d_ap + margin; FaceNet, Schroff et al. 2015). Pairs with no such negative
    fall back to the nearest negative farther than p, or are skipped if there is none."""

    def __init__(self, margin: float) -> None:
        self.margin = margin

    def mine(self, embeddings, labels):
        positive, negative = relation_masks(*labels)
        d = torch.cdist(embeddings, embeddings)
        a, p = torch.nonzero(positive, as_tuple=True)
        d_ap = d[a, p][:, None]
        d_an = d[a]  # (pairs, N)
        farther = negative[a] & (d_an > d_ap)
        semi = farther & (d_an < d_ap + self.margin)
        choose_from = torch.where(semi.any(dim=1, keepdim=True), semi, farther)
        keep = choose_from.any(dim=1)
        masked = torch.where(choose_from, d_an, torch.full_like(d_an, float("inf")))
        return Triplets(a[keep], p[keep], masked.argmin(dim=1)[keep])


#: the `mining` setting of a training run → its miner (margin: the loss's)
MINERS = {
    "none": lambda margin: None,
    "hard": lambda margin: BatchHardMiner(),
    "semi-hard": lambda margin: SemiHardMiner(margin),
}
