"""Metrics on hand-made distance lists whose answers can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.verification.metrics import (eer, far_frr, n_way_accuracy, roc_auc, roc_curve,
                                            threshold_for_far)


def test_far_frr_at_a_threshold():
    genuine = [0.1, 0.2, 0.3, 0.9]  # one genuine far away
    forged = [0.25, 0.8, 0.9, 1.0]  # one forgery close
    far, frr = far_frr(genuine, forged, 0.5)
    assert far == pytest.approx(0.25) and frr == pytest.approx(0.25)


def test_perfect_separation_has_zero_eer_and_auc_one():
    rate, threshold = eer([0.1, 0.2, 0.3], [0.7, 0.8, 0.9])
    assert rate == 0.0
    assert 0.3 <= threshold < 0.7
    assert roc_auc([0.1, 0.2, 0.3], [0.7, 0.8, 0.9]) == 1.0


def test_eer_of_a_symmetric_overlap():
    # one genuine beyond one forgery: at t=0.45 FAR = 1/4 and FRR = 1/4
    genuine = [0.1, 0.2, 0.3, 0.6]
    forged = [0.4, 0.7, 0.8, 0.9]
    rate, _ = eer(genuine, forged)
    assert rate == pytest.approx(0.25)


def test_reversed_scores_give_eer_one_and_auc_zero():
    assert roc_auc([0.9, 0.8], [0.1, 0.2]) == 0.0
    assert eer([0.9, 0.8], [0.1, 0.2])[0] == pytest.approx(1.0)


def test_auc_counts_ties_as_half():
    assert roc_auc([0.5], [0.5]) == 0.5
    assert roc_auc([0.1, 0.5], [0.5, 0.9]) == pytest.approx((1 + 1 + 0.5 + 1) / 4)


def test_roc_curve_is_monotone_and_spans_both_ends():
    rng = np.random.default_rng(0)
    curve = roc_curve(rng.normal(0.4, 0.1, 200), rng.normal(0.8, 0.1, 200))
    assert curve.far[0] == 0.0 and curve.frr[0] == 1.0
    assert curve.far[-1] == 1.0 and curve.frr[-1] == 0.0
    assert np.all(np.diff(curve.far) >= 0) and np.all(np.diff(curve.frr) <= 0)


def test_threshold_for_far():
    genuine = [0.1, 0.2, 0.3]
    forged = [0.35, 0.5, 0.6, 0.7]
    t = threshold_for_far(genuine, forged, 0.25)
    assert far_frr(genuine, forged, t)[0] <= 0.25
    assert t >= 0.35  # the most lenient threshold that accepts at most one forgery in four


def test_eer_on_gaussians_matches_theory():
    rng = np.random.default_rng(1)
    genuine, forged = rng.normal(0.0, 1.0, 20000), rng.normal(2.0, 1.0, 20000)
    # equal variances: EER = Phi(-1) = 0.1587
    assert eer(genuine, forged)[0] == pytest.approx(0.1587, abs=0.01)


def test_n_way_accuracy():
    distances = [[0.1, 0.5, 0.9], [0.4, 0.2, 0.3], [0.9, 0.8, 0.7]]
    assert n_way_accuracy(distances, [0, 0, 2]) == pytest.approx(2 / 3)


def test_empty_inputs_are_rejected():
    with pytest.raises(ValueError):
        eer([], [0.1])
