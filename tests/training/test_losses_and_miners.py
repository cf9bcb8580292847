"""Losses against hand-computed values; miners pick the expected indices on hand-made embeddings."""

from __future__ import annotations

import pytest
import torch

from sigverify.training.losses import (ContrastiveLoss, ForgeryAwareTripletLoss, Objective, TrainingHeads, TripletLoss,
                                       as_pairs, as_triplets)
from sigverify.training.miners import (AllPairsMiner, AllTripletsMiner, BaseMiner, BatchHardMiner, Labels, Pairs,
                                       SemiHardMiner, Triplets, relation_masks)


def _points(*xs):
    """1-D embeddings as (N, 2) with y = 0, so distances are |xi - xj|."""
    return torch.tensor([[x, 0.0] for x in xs])


def test_contrastive_pair_values():
    loss = ContrastiveLoss(margin=1.0)
    emb = _points(0.0, 0.5, 1.2)
    # similar (0,1): d = .5 → d² = .25 ; dissimilar (0,2): d = 1.2 → max(0, 1 - 1.2)² = 0 ; (1,2): .7 → .09
    assert float(loss(emb, None, Pairs(torch.tensor([0]), torch.tensor([1]), torch.tensor([1])))) == pytest.approx(0.25)
    assert float(loss(emb, None, Pairs(torch.tensor([0]), torch.tensor([2]), torch.tensor([0])))) == pytest.approx(0.0)
    assert float(loss(emb, None, Pairs(torch.tensor([1]), torch.tensor([2]), torch.tensor([0])))) == pytest.approx(0.09)


def test_contrastive_balances_positive_and_negative_means():
    loss = ContrastiveLoss(margin=1.0)
    emb = _points(0.0, 0.5, 0.2, 2.0)
    pairs = Pairs(torch.tensor([0, 0, 0]), torch.tensor([1, 2, 3]), torch.tensor([1, 0, 0]))
    # positive (0,1): d = .5 → .25 ; negatives (0,2): d = .2 → .64, (0,3): d = 2 → 0 ; mean .32
    assert float(loss(emb, None, pairs)) == pytest.approx(0.25 + 0.32, abs=1e-5)


def test_triplet_values():
    loss = TripletLoss(margin=0.3)
    emb = _points(0.0, 0.5, 0.6, 2.0)
    triplets = Triplets(torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([2, 3]))
    # max(0, .5 - .6 + .3) = .2 ; max(0, .5 - 2 + .3) = 0 ; mean .1
    assert float(loss(emb, None, triplets)) == pytest.approx(0.1, abs=1e-5)
    empty = torch.zeros(0, dtype=torch.long)
    assert float(loss(emb, None, Triplets(empty, empty, empty))) == 0.0


def test_losses_have_gradients():
    emb = _points(0.0, 0.3, 0.4).requires_grad_()
    pairs = Pairs(torch.tensor([0, 0]), torch.tensor([1, 2]), torch.tensor([1, 0]))
    ContrastiveLoss(1.0)(emb, None, pairs).backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0


# writer 0: genuine 0, 1, 2 and a skilled forgery 3; writer 1: genuine 4, 5
WRITER = torch.tensor([0, 0, 0, 0, 1, 1])
FORGED = torch.tensor([False, False, False, True, False, False])
LABELS = Labels(WRITER, FORGED)


def test_relations():
    positive, negative = relation_masks(WRITER, FORGED)
    assert positive[0, 1] and positive[4, 5] and not positive[0, 0]
    assert not positive[0, 3] and negative[0, 3]  # a forgery is never a positive of its writer
    assert negative[0, 4] and not negative[0, 1]
    assert not positive[3].any()  # forgeries anchor nothing


def test_batch_hard_picks_farthest_positive_and_nearest_negative():
    emb = _points(0.0, 0.1, 0.9, 0.3, 5.0, 5.2)
    anchors, positives, negatives = BatchHardMiner()(emb, LABELS)
    chosen = {int(a): (int(p), int(n)) for a, p, n in zip(anchors, positives, negatives)}
    assert chosen[0] == (2, 3)  # farthest own genuine: 2 (0.9); nearest negative: the forgery 3 (0.3)
    assert chosen[2] == (0, 3)
    assert chosen[4] == (5, 2)  # writer 1's nearest negative is genuine 2 at 4.1
    assert 3 not in chosen  # forgeries are not anchors


def test_semi_hard_picks_negative_just_beyond_the_positive():
    emb = _points(0.0, 0.5, 3.0, 0.7, 0.6, 9.0)
    writer = torch.tensor([0, 0, 0, 1, 2, 3])
    forged = torch.zeros(6, dtype=torch.bool)
    anchors, positives, negatives = SemiHardMiner(margin=0.3)(emb, Labels(writer, forged))
    chosen = {(int(a), int(p)): int(n) for a, p, n in zip(anchors, positives, negatives)}
    # (0,1): d_ap = .5; negatives at .6 (4) and .7 (3) are semi-hard; the nearest is 4
    assert chosen[(0, 1)] == 4
    # (0,2): d_ap = 3; no negative within (3, 3.3); fallback: nearest farther than 3 → 5 (9.0)
    assert chosen[(0, 2)] == 5


def test_all_pairs_and_all_triplets_count():
    emb = _points(0, 1, 2, 3, 4, 5)
    first, second, similar = AllPairsMiner()(emb, LABELS)
    assert int(similar.sum()) == 3 + 1  # (0,1) (0,2) (1,2) and (4,5)
    assert len(first) - int(similar.sum()) == 3 + 3 * 2 + 2  # forgery vs 3 genuine, 3×2 cross, forgery vs 4,5
    a, p, n = AllTripletsMiner()(emb, LABELS)
    assert len(a) == 6 * 3 + 2 * 4  # writer 0: 6 (a,p) × 3 negatives; writer 1: 2 × 4


def test_triplets_become_pairs_and_pairs_become_triplets():
    first, second, similar = as_pairs(Triplets(torch.tensor([0]), torch.tensor([1]), torch.tensor([3])))
    assert first.tolist() == [0, 0] and second.tolist() == [1, 3] and similar.tolist() == [1, 0]
    # anchor 0: one positive (1) and two negatives (3, 4); anchor 2: a negative but no positive
    pairs = Pairs(torch.tensor([0, 0, 0, 2]), torch.tensor([1, 3, 4, 5]), torch.tensor([1, 0, 0, 0]))
    a, p, n = as_triplets(pairs)
    assert sorted(zip(a.tolist(), p.tolist(), n.tolist())) == [(0, 1, 3), (0, 1, 4)]


def test_every_loss_takes_any_miner_output():
    """A pair loss on mined triplets equals the same loss on their pairs, a triplet loss on those
    pairs equals it on the triplets (the conversion happens inside the loss, not in the trainer)."""
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    triplets = BatchHardMiner()(emb, LABELS)
    contrastive = ContrastiveLoss(1.0)
    assert float(contrastive(emb, LABELS, triplets)) == pytest.approx(float(contrastive(emb, LABELS, as_pairs(triplets))))
    triplet = TripletLoss(0.3)
    assert float(triplet(emb, LABELS, as_pairs(triplets))) == pytest.approx(float(triplet(emb, LABELS, triplets)))
    assert float(triplet(emb, LABELS, triplets)) > 0
    assert float(contrastive(emb, LABELS)) == pytest.approx(float(contrastive(emb, LABELS, AllPairsMiner()(emb, LABELS))))


def test_miners_build_no_graph_and_refuse_malformed_output():
    emb = _points(0.0, 0.1, 0.9, 0.3, 5.0, 5.2).requires_grad_()
    anchors, _, _ = BatchHardMiner()(emb * 2, LABELS)
    assert not anchors.requires_grad and anchors.grad_fn is None

    class OutOfBatch(BaseMiner):
        def mine(self, embeddings, labels):
            return Triplets(torch.tensor([0]), torch.tensor([1]), torch.tensor([6]))

    class Untyped(BaseMiner):
        def mine(self, embeddings, labels):
            return torch.tensor([0]), torch.tensor([1]), torch.tensor([2])

    class Ragged(BaseMiner):
        def mine(self, embeddings, labels):
            return Pairs(torch.tensor([0, 1]), torch.tensor([1]), torch.tensor([1]))

    with pytest.raises(ValueError, match="outside the batch"):
        OutOfBatch()(emb, LABELS)
    with pytest.raises(TypeError, match="Pairs or Triplets"):
        Untyped()(emb, LABELS)
    with pytest.raises(ValueError, match="one length"):
        Ragged()(emb, LABELS)


def test_objective_composes_loss_miner_and_heads():
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(6, 8), dim=1)
    plain = Objective.from_settings("contrastive", "hard", 1.0, 0.6)
    assert isinstance(plain.miner, BatchHardMiner)
    assert float(plain(emb, LABELS)) == pytest.approx(float(ContrastiveLoss(1.0)(emb, LABELS, BatchHardMiner()(emb, LABELS))))
    heads = TrainingHeads(embedding_size=8, writers=2, writer_weight=1.0, forgery_weight=1.0)
    with_heads = Objective.from_settings("forgery-aware", "none", 0.4, 0.6, heads)
    expected = ForgeryAwareTripletLoss(0.4, 0.6)(emb, LABELS) + heads(emb, LABELS)
    assert float(with_heads(emb, LABELS).detach()) == pytest.approx(float(expected.detach()))
    with pytest.raises(ValueError, match="mines its own"):
        ForgeryAwareTripletLoss()(emb, LABELS, BatchHardMiner()(emb, LABELS))


def test_a_run_refuses_a_miner_the_loss_would_ignore():
    from sigverify.training.trainer import TrainConfig

    with pytest.raises(ValueError, match="mines its own"):
        TrainConfig(loss="forgery-aware", mining="hard")


def test_forgery_aware_loss_is_zero_only_when_forgeries_sit_beyond_their_margin():
    loss = ForgeryAwareTripletLoss(skilled_margin=0.4, random_margin=0.6)
    writer = torch.tensor([0, 0, 0, 1, 1])
    forged = torch.tensor([False, False, True, False, False])
    a = torch.tensor([1.0, 0.0])
    close_forgery = torch.stack([a, a, torch.tensor([0.995, 0.0998]), torch.tensor([-1.0, 0.0]), torch.tensor([-1.0, 0.0])])
    far_forgery = torch.stack([a, a, torch.tensor([0.0, 1.0]), torch.tensor([-1.0, 0.0]), torch.tensor([-1.0, 0.0])])
    assert float(loss(close_forgery, Labels(writer, forged))) > 0.2  # the skilled forgery is within its margin
    assert float(loss(far_forgery, Labels(writer, forged))) == pytest.approx(0.0, abs=1e-5)


def test_forgery_aware_loss_pulls_forgeries_away_from_their_writer():
    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(12, 8), dim=1).requires_grad_(True)
    writer = torch.tensor([0] * 6 + [1] * 6)
    forged = torch.tensor([False] * 4 + [True] * 2 + [False] * 4 + [True] * 2)
    optimizer = torch.optim.SGD([x], lr=0.2)
    loss_fn = ForgeryAwareTripletLoss()
    first = float(loss_fn(torch.nn.functional.normalize(x, dim=1), Labels(writer, forged)).detach())
    for _ in range(200):
        optimizer.zero_grad()
        loss_fn(torch.nn.functional.normalize(x, dim=1), Labels(writer, forged)).backward()
        optimizer.step()
    assert float(loss_fn(torch.nn.functional.normalize(x, dim=1), Labels(writer, forged)).detach()) < 0.25 * first


def test_training_heads_learn_writers_and_forgeries():
    torch.manual_seed(1)
    heads = TrainingHeads(embedding_size=8, writers=3, writer_weight=1.0, forgery_weight=1.0)
    emb = torch.nn.functional.normalize(torch.randn(12, 8), dim=1)
    writer = torch.tensor([0, 0, 1, 1, 2, 2] * 2)
    forged = torch.tensor([False] * 6 + [True] * 6)
    optimizer = torch.optim.Adam(heads.parameters(), lr=0.05)
    first = float(heads(emb, Labels(writer, forged)).detach())
    for _ in range(300):
        optimizer.zero_grad()
        heads(emb, Labels(writer, forged)).backward()
        optimizer.step()
    assert float(heads(emb, Labels(writer, forged)).detach()) < 0.5 * first


def test_losses_count_the_tuples_they_learnt_from():
    """What a benchmark reports per step is what the objective used, not n(n-1)/2."""
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    contrastive = ContrastiveLoss(1.0)
    contrastive(emb, LABELS, BatchHardMiner()(emb, LABELS))
    assert contrastive.tuples_used == 2 * 5  # five genuine anchors: one positive and one negative pair each
    triplet = TripletLoss(0.3)
    triplet(emb, LABELS)
    assert triplet.tuples_used == 6 * 3 + 2 * 4  # every valid triplet (see the count above)
    aware = Objective.from_settings("forgery-aware", "none", 0.4, 0.6)
    aware(emb, LABELS)
    assert aware.tuples_used == 3 + 5  # writer 0's three anchors have a forgery; all five have other writers
