"""Online miners: from a batch's embeddings and labels, pick the pairs or triplets to learn from.

Labels: ``writer`` (who the signature belongs to or imitates) and ``forged`` (a skilled
forgery). Two signatures are a positive pair only if both are genuine and of the same writer;
every genuine–forgery and every cross-writer pair is negative. Anchors are genuine only.
Miners return index tensors; losses consume them (pytorch-metric-learning's split).
"""

from __future__ import annotations

import torch


def relation_masks(writer: torch.Tensor, forged: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positive, negative) boolean N×N masks; the diagonal is neither."""
    genuine = ~forged
    same = writer[:, None] == writer[None, :]
    eye = torch.eye(writer.numel(), dtype=torch.bool, device=writer.device)
    positive = same & genuine[:, None] & genuine[None, :] & ~eye
    negative = (~same | forged[:, None] | forged[None, :]) & ~eye & (genuine[:, None] | genuine[None, :])
    return positive, negative


def all_pairs(embeddings: torch.Tensor, writer: torch.Tensor, forged: torch.Tensor):
    """Every positive and every negative pair (upper triangle), label 1 / 0."""
    positive, negative = relation_masks(writer, forged)
    upper = torch.triu(torch.ones_like(positive), diagonal=1)
    pi, pj = torch.nonzero(positive & upper, as_tuple=True)
    ni, nj = torch.nonzero(negative & upper, as_tuple=True)
    first, second = torch.cat([pi, ni]), torch.cat([pj, nj])
    similar = torch.cat([torch.ones_like(pi), torch.zeros_like(ni)])
    return first, second, similar


def _distance_matrix(embeddings: torch.Tensor) -> torch.Tensor:
    return torch.cdist(embeddings.detach(), embeddings.detach())


class AllTripletsMiner:
    """Every valid (anchor, positive, negative) — no mining; the baseline."""

    def __call__(self, embeddings, writer, forged):
        positive, negative = relation_masks(writer, forged)
        valid = positive[:, :, None] & negative[:, None, :]
        a, p, n = torch.nonzero(valid, as_tuple=True)
        return a, p, n


class BatchHardMiner:
    """For each anchor: its farthest positive and its nearest negative (Hermans et al. 2017)."""

    def __call__(self, embeddings, writer, forged):
        positive, negative = relation_masks(writer, forged)
        d = _distance_matrix(embeddings)
        has = positive.any(dim=1) & negative.any(dim=1)
        anchors = torch.nonzero(has, as_tuple=True)[0]
        if anchors.numel() == 0:
            empty = torch.zeros(0, dtype=torch.long, device=embeddings.device)
            return empty, empty, empty
        d_pos = torch.where(positive, d, torch.full_like(d, -1.0))
        d_neg = torch.where(negative, d, torch.full_like(d, float("inf")))
        return anchors, d_pos[anchors].argmax(dim=1), d_neg[anchors].argmin(dim=1)


class SemiHardMiner:
    """For each positive pair (a, p): the nearest negative farther than p but within the margin
    (d_ap < d_an < d_ap + margin; FaceNet, Schroff et al. 2015). Pairs with no such negative
    fall back to the nearest negative farther than p, or are skipped if there is none."""

    def __init__(self, margin: float) -> None:
        self.margin = margin

    def __call__(self, embeddings, writer, forged):
        positive, negative = relation_masks(writer, forged)
        d = _distance_matrix(embeddings)
        a, p = torch.nonzero(positive, as_tuple=True)
        d_ap = d[a, p][:, None]
        d_an = d[a]  # (pairs, N)
        farther = negative[a] & (d_an > d_ap)
        semi = farther & (d_an < d_ap + self.margin)
        choose_from = torch.where(semi.any(dim=1, keepdim=True), semi, farther)
        keep = choose_from.any(dim=1)
        masked = torch.where(choose_from, d_an, torch.full_like(d_an, float("inf")))
        n = masked.argmin(dim=1)
        return a[keep], p[keep], n[keep]


def triplets_to_pairs(triplets):
    """Mined triplets as contrastive pairs: (a, p) similar, (a, n) dissimilar."""
    a, p, n = triplets
    first = torch.cat([a, a])
    second = torch.cat([p, n])
    similar = torch.cat([torch.ones_like(a), torch.zeros_like(a)])
    return first, second, similar
