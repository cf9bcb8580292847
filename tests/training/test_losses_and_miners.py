"""Losses against hand-computed values; miners pick the expected indices on hand-made embeddings."""

from __future__ import annotations

import pytest
import torch

from sigverify.training.losses import ContrastiveLoss, TripletLoss
from sigverify.training.miners import (AllTripletsMiner, BatchHardMiner, SemiHardMiner, all_pairs,
                                       relation_masks, triplets_to_pairs)


def _points(*xs):
    """1-D embeddings as (N, 2) with y = 0, so distances are |xi - xj|."""
    return torch.tensor([[x, 0.0] for x in xs])


def test_contrastive_per_pair_values():
    loss = ContrastiveLoss(margin=1.0)
    d = torch.tensor([0.5, 0.5, 1.2, 0.0])
    y = torch.tensor([1, 0, 0, 1])
    # similar: d² ; dissimilar: max(0, m - d)²
    assert loss.per_pair(d, y).tolist() == pytest.approx([0.25, 0.25, 0.0, 0.0])


def test_contrastive_balances_positive_and_negative_means():
    loss = ContrastiveLoss(margin=1.0)
    emb = _points(0.0, 0.5, 0.2, 2.0)
    pairs = (torch.tensor([0, 0, 0]), torch.tensor([1, 2, 3]), torch.tensor([1, 0, 0]))
    # positive (0,1): d = .5 → .25 ; negatives (0,2): d = .2 → .64, (0,3): d = 2 → 0 ; mean .32
    assert float(loss(emb, pairs)) == pytest.approx(0.25 + 0.32, abs=1e-5)


def test_triplet_values():
    loss = TripletLoss(margin=0.3)
    emb = _points(0.0, 0.5, 0.6, 2.0)
    triplets = (torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([2, 3]))
    # max(0, .5 - .6 + .3) = .2 ; max(0, .5 - 2 + .3) = 0 ; mean .1
    assert float(loss(emb, triplets)) == pytest.approx(0.1, abs=1e-5)
    empty = torch.zeros(0, dtype=torch.long)
    assert float(loss(emb, (empty, empty, empty))) == 0.0


def test_losses_have_gradients():
    emb = _points(0.0, 0.3, 0.4).requires_grad_()
    pairs = (torch.tensor([0, 0]), torch.tensor([1, 2]), torch.tensor([1, 0]))
    ContrastiveLoss(1.0)(emb, pairs).backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0


# writer 0: genuine 0, 1, 2 and a skilled forgery 3; writer 1: genuine 4, 5
WRITER = torch.tensor([0, 0, 0, 0, 1, 1])
FORGED = torch.tensor([False, False, False, True, False, False])


def test_relations():
    positive, negative = relation_masks(WRITER, FORGED)
    assert positive[0, 1] and positive[4, 5] and not positive[0, 0]
    assert not positive[0, 3] and negative[0, 3]  # a forgery is never a positive of its writer
    assert negative[0, 4] and not negative[0, 1]
    assert not positive[3].any()  # forgeries anchor nothing


def test_batch_hard_picks_farthest_positive_and_nearest_negative():
    emb = _points(0.0, 0.1, 0.9, 0.3, 5.0, 5.2)
    anchors, positives, negatives = BatchHardMiner()(emb, WRITER, FORGED)
    chosen = {int(a): (int(p), int(n)) for a, p, n in zip(anchors, positives, negatives)}
    assert chosen[0] == (2, 3)  # farthest own genuine: 2 (0.9); nearest negative: the forgery 3 (0.3)
    assert chosen[2] == (0, 3)
    assert chosen[4] == (5, 2)  # writer 1's nearest negative is genuine 2 at 4.1
    assert 3 not in chosen  # forgeries are not anchors


def test_semi_hard_picks_negative_just_beyond_the_positive():
    emb = _points(0.0, 0.5, 3.0, 0.7, 0.6, 9.0)
    writer = torch.tensor([0, 0, 0, 1, 2, 3])
    forged = torch.zeros(6, dtype=torch.bool)
    anchors, positives, negatives = SemiHardMiner(margin=0.3)(emb, writer, forged)
    chosen = {(int(a), int(p)): int(n) for a, p, n in zip(anchors, positives, negatives)}
    # (0,1): d_ap = .5; negatives at .6 (4) and .7 (3) are semi-hard; the nearest is 4
    assert chosen[(0, 1)] == 4
    # (0,2): d_ap = 3; no negative within (3, 3.3); fallback: nearest farther than 3 → 5 (9.0)
    assert chosen[(0, 2)] == 5


def test_all_pairs_and_all_triplets_count():
    emb = _points(0, 1, 2, 3, 4, 5)
    first, second, similar = all_pairs(emb, WRITER, FORGED)
    assert int(similar.sum()) == 3 + 1  # (0,1) (0,2) (1,2) and (4,5)
    assert len(first) - int(similar.sum()) == 3 + 3 * 2 + 2  # forgery vs 3 genuine, 3×2 cross, forgery vs 4,5
    a, p, n = AllTripletsMiner()(emb, WRITER, FORGED)
    assert len(a) == 6 * 3 + 2 * 4  # writer 0: 6 (a,p) × 3 negatives; writer 1: 2 × 4


def test_triplets_to_pairs():
    first, second, similar = triplets_to_pairs((torch.tensor([0]), torch.tensor([1]), torch.tensor([3])))
    assert first.tolist() == [0, 0] and second.tolist() == [1, 3] and similar.tolist() == [1, 0]


def test_forgery_aware_loss_is_zero_only_when_forgeries_sit_beyond_their_margin():
    from sigverify.training.losses import ForgeryAwareTripletLoss

    loss = ForgeryAwareTripletLoss(skilled_margin=0.4, random_margin=0.6)
    writer = torch.tensor([0, 0, 0, 1, 1])
    forged = torch.tensor([False, False, True, False, False])
    a = torch.tensor([1.0, 0.0])
    close_forgery = torch.stack([a, a, torch.tensor([0.995, 0.0998]), torch.tensor([-1.0, 0.0]), torch.tensor([-1.0, 0.0])])
    far_forgery = torch.stack([a, a, torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 0.0]), torch.tensor([-1.0, 0.0])])
    assert float(loss(close_forgery, writer, forged)) > 0.2  # the skilled forgery is within its margin
    assert float(loss(far_forgery, writer, forged)) == pytest.approx(0.0, abs=1e-5)


def test_forgery_aware_loss_pulls_forgeries_away_from_their_writer():
    from sigverify.training.losses import ForgeryAwareTripletLoss

    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(12, 8), dim=1).requires_grad_(True)
    writer = torch.tensor([0] * 6 + [1] * 6)
    forged = torch.tensor([False] * 4 + [True] * 2 + [False] * 4 + [True] * 2)
    optimizer = torch.optim.SGD([x], lr=0.2)
    loss_fn = ForgeryAwareTripletLoss()
    first = float(loss_fn(torch.nn.functional.normalize(x, dim=1), writer, forged).detach())
    for _ in range(200):
        optimizer.zero_grad()
        loss_fn(torch.nn.functional.normalize(x, dim=1), writer, forged).backward()
        optimizer.step()
    assert float(loss_fn(torch.nn.functional.normalize(x, dim=1), writer, forged).detach()) < 0.25 * first


def test_training_heads_learn_writers_and_forgeries():
    from sigverify.training.losses import TrainingHeads

    torch.manual_seed(1)
    heads = TrainingHeads(embedding_size=8, writers=3, writer_weight=1.0, forgery_weight=1.0)
    emb = torch.nn.functional.normalize(torch.randn(12, 8), dim=1)
    writer = torch.tensor([0, 0, 1, 1, 2, 2] * 2)
    forged = torch.tensor([False] * 6 + [True] * 6)
    optimizer = torch.optim.Adam(heads.parameters(), lr=0.05)
    first = float(heads(emb, writer, forged).detach())
    for _ in range(300):
        optimizer.zero_grad()
        heads(emb, writer, forged).backward()
        optimizer.step()
    assert float(heads(emb, writer, forged).detach()) < 0.5 * first
