"""Distances, aggregation, calibration and verdicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sigverify.verification.calibration import LogisticCalibration, fit_logistic
from sigverify.verification.decision import (FORGED, REFER, DecisionPolicy, aggregate, decide,
                                              distances_to_references, verdict_for)
from sigverify.verification.protocol import n_way_one_shot, report, verification_distances

POLICY = DecisionPolicy(threshold=1.0, calibration=LogisticCalibration(slope=8.0, midpoint=1.0), refer_band=0.1)


def test_distances_to_references():
    refs = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(distances_to_references(np.array([0.0, 0.0]), refs), [0.0, 5.0])


def test_aggregation_rules():
    d = [0.2, 0.4, 1.2]
    assert aggregate(d, "mean") == pytest.approx(0.6)
    assert aggregate(d, "min") == pytest.approx(0.2)
    assert aggregate(d, "median") == pytest.approx(0.4)
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(d, "max")


@pytest.mark.parametrize("distance,expected", [(0.5, "genuine"), (0.95, "refer"), (1.05, "refer"), (1.5, "forged")])
def test_verdict_band_around_the_threshold(distance, expected):
    assert verdict_for(distance, 1.0, 0.1) == expected


def test_decide_reports_every_reference_and_a_calibrated_score():
    refs = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.4]])
    decision = decide(np.array([0.0, 0.0]), refs, POLICY)
    assert decision.distances == pytest.approx((0.0, 0.2, 0.4))
    assert decision.distance == pytest.approx(0.2)
    assert decision.verdict == "genuine"
    assert 0.9 < decision.score <= 1.0
    far = decide(np.array([3.0, 0.0]), refs, POLICY)
    assert far.verdict == "forged" and far.score < 0.01
    assert decision.threshold_score == pytest.approx(0.5)


def test_decide_rejects_mismatched_embeddings():
    with pytest.raises(ValueError, match="embedding sizes differ"):
        decide(np.zeros(3), np.zeros((2, 4)), POLICY)
    with pytest.raises(ValueError, match="at least one reference"):
        decide(np.zeros(3), np.zeros((0, 3)), POLICY)


def test_calibration_is_monotone_and_bounded():
    cal = LogisticCalibration(slope=5.0, midpoint=0.8)
    scores = cal.score(np.linspace(0, 3, 50))
    assert np.all(np.diff(scores) < 0) and scores.max() <= 1 and scores.min() >= 0
    assert cal.score(0.8) == pytest.approx(0.5)
    assert LogisticCalibration.from_dict(cal.to_dict()) == cal


def test_fit_logistic_recovers_the_crossing_point():
    rng = np.random.default_rng(0)
    genuine, forged = rng.normal(0.5, 0.1, 4000), rng.normal(1.1, 0.1, 4000)
    cal = fit_logistic(genuine, forged)
    assert cal.midpoint == pytest.approx(0.8, abs=0.02)
    assert cal.score(0.5) > 0.95 and cal.score(1.1) < 0.05


def test_fit_logistic_refuses_inverted_data():
    with pytest.raises(ValueError, match="calibration failed"):
        fit_logistic([1.0, 1.1, 1.2], [0.1, 0.2, 0.3])


def _clustered_embeddings(writers=6, per=8, forgeries=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (writers, 8))
    emb, writer, forged = [], [], []
    for w in range(writers):
        emb += list(centres[w] + rng.normal(0, 0.1, (per, 8)))
        emb += list(centres[w] + rng.normal(0, 0.1, (forgeries, 8)) + 0.8)  # forgeries near, but off
        writer += [w] * (per + forgeries)
        forged += [False] * per + [True] * forgeries
    return np.array(emb), np.array(writer), np.array(forged)


def test_protocol_separates_clean_clusters():
    emb, writer, forged = _clustered_embeddings()
    distances = verification_distances(emb, writer, forged, k_refs=5, repeats=2)
    assert distances.genuine.size == 6 * 3 * 2 and distances.skilled.size == 6 * 3 * 2
    metrics = report(distances, threshold=0.8)
    assert metrics["eer_skilled"] == 0.0 and metrics["eer_random"] == 0.0
    assert metrics["far_skilled"] == 0.0 and metrics["frr"] == 0.0
    assert n_way_one_shot(emb, writer, forged, n=5, trials=50) == 1.0


def test_n_way_refuses_more_ways_than_writers():
    emb, writer, forged = _clustered_embeddings(writers=4)
    with pytest.raises(ValueError, match="needs 5 writers"):
        n_way_one_shot(emb, writer, forged, n=5)


def test_benchmark_verdict_counts_match_verdict_for():
    import numpy as np

    from sigverify.verification.benchmark import verdict_counts

    values = np.random.default_rng(0).uniform(0.5, 1.5, 500)
    expected = [verdict_for(float(v), 1.0, 0.1) for v in values]
    counts = verdict_counts(values, 1.0, 0.1)
    assert counts == {v: expected.count(v) for v in ("genuine", "refer", "forged")}


def test_per_writer_eer_is_zero_when_each_writer_separates_at_its_own_threshold():
    from sigverify.verification.benchmark import per_writer_eer
    from sigverify.verification.metrics import eer
    from sigverify.verification.protocol import ProtocolDistances

    # writer 0 lives around 1.0, writer 1 around 2.0: each separates perfectly on its own,
    # while one pooled threshold cannot (writer 1's genuine lie above writer 0's forgeries)
    genuine = np.array([1.0, 1.1, 1.2, 2.0, 2.1, 2.2])
    skilled = np.array([1.5, 1.6, 2.5, 2.6])
    d = ProtocolDistances(genuine, skilled, np.array([3.0]), genuine_writer=np.array([0, 0, 0, 1, 1, 1]),
                          skilled_writer=np.array([0, 0, 1, 1]), random_writer=np.array([0]))
    assert per_writer_eer(d) == 0.0 and eer(genuine, skilled)[0] > 0.2
    # one writer's forgery as close as its genuine signatures: that writer's EER counts, halved by the mean
    d.skilled[0] = 1.05
    assert 0.0 < per_writer_eer(d) < eer(d.genuine[:3], d.skilled[:2])[0]


def test_a_joint_account_is_decided_against_the_closest_signatorys_specimens():
    from sigverify.services import closest_signatory

    policy = DecisionPolicy(threshold=0.5, calibration=LogisticCalibration(midpoint=0.5, slope=10.0))
    anna = np.array([[1.0, 0.0], [0.98, 0.2]])
    piet = np.array([[0.0, 1.0], [0.2, 0.98]])
    matrix, ids = np.vstack([anna, piet]), [11, 12, 21, 22]
    owners = {11: "Anna", 12: "Anna", 21: "Piet", 22: "Piet"}
    query = np.array([0.99, 0.1])  # Anna's hand
    name, used, decision = closest_signatory(query, ids, matrix, owners, policy)
    assert name == "Anna" and used == [11, 12] and decision.verdict == "genuine"
    averaged = decide(query, matrix, policy)  # over both signatories' specimens: far from Piet's
    assert averaged.distance > decision.distance and averaged.verdict != "genuine"
    # one signatory, or specimens of no named signatory: every reference together
    assert closest_signatory(query, ids, matrix, {11: "Anna", 12: "Anna"}, policy)[:2] == ("", ids)
    assert closest_signatory(query, ids[:2], anna, {11: "Anna", 12: "Anna"}, policy)[:2] == ("", ids[:2])


def test_an_account_with_fewer_specimens_is_judged_by_the_threshold_chosen_for_that_many():
    """Issue 32: one specimen says less about how a hand varies, so genuine signatures lie further
    from it; the five-specimen threshold refused them. The manifest carries a threshold per number
    of specimens (chosen on validation writers); between two, interpolated on log K."""
    import math

    policy = replace(POLICY, by_references=((1, 1.30), (5, 1.00), (10, 0.95)))
    assert policy.threshold_for(1) == 1.30 and policy.threshold_for(5) == 1.00 and policy.threshold_for(40) == 0.95
    assert math.isclose(policy.threshold_for(3), 1.30 - 0.30 * math.log(3) / math.log(5))
    one, five = np.zeros((1, 4)), np.zeros((5, 4))
    query = np.array([1.0, 0.0, 0.0, 0.0])
    assert decide(query, one, policy).threshold == 1.30 and decide(query, five, policy).threshold == 1.00
    # a supervisor's threshold holds for every number of specimens
    assert policy.with_threshold(1.1).threshold_for(1) == 1.1


def test_the_shipped_manifest_gives_each_number_of_specimens_its_threshold():
    from sigverify.inference.manifest import load_manifest
    from sigverify.paths import shipped_model_dir

    manifest = load_manifest(shipped_model_dir())
    chosen = {int(k): v for k, v in manifest.metrics["thresholds_by_references"].items()}
    policy = manifest.policy
    assert policy.threshold_for(1) == chosen[1] and policy.threshold_for(5) == chosen[5] == manifest.threshold


def test_with_one_specimen_the_refer_band_is_wider_and_the_decision_says_which_applied():
    """Issue 32: with one specimen the account's own spread is unknown, so fewer cases are decided
    outright: a distance five specimens decide is referred with one."""
    policy = replace(POLICY, threshold=1.0, by_references=(), refer_band=0.05, refer_bands=((1, 0.15), (5, 0.05)))
    assert policy.refer_band_for(1) == 0.15 and policy.refer_band_for(5) == 0.05 and policy.refer_band_for(9) == 0.05
    assert 0.05 < policy.refer_band_for(2) < 0.15
    query = np.array([1.10, 0.0, 0.0, 0.0])  # 1.10 from every reference at the origin
    one, five = np.zeros((1, 4)), np.zeros((5, 4))
    with_one, with_five = decide(query, one, policy), decide(query, five, policy)
    assert (with_one.verdict, with_one.refer_band) == (REFER, 0.15)
    assert (with_five.verdict, with_five.refer_band) == (FORGED, 0.05)
    # without bands per number, the one band holds for every number (older manifests)
    assert decide(query, one, replace(policy, refer_bands=())).verdict == FORGED


def test_refer_bands_chosen_on_validation_widen_with_fewer_specimens():
    """Chosen as export chooses them (each number of specimens at its own EER threshold): one specimen
    tells less about the writer, genuine and forged distances overlap more, the band is wider."""
    from sigverify.verification.metrics import eer
    from sigverify.verification.refer_band import REFER_BAND_LIMITS, refer_bands_by_references

    rng = np.random.default_rng(0)
    vectors, writer, forged = [], [], []
    for w, centre in enumerate(rng.normal(size=(30, 16))):
        for is_forged, count in ((False, 12), (True, 6)):
            shift = 0.35 * rng.normal(size=16) if is_forged else 0.0  # a forger's own way of writing it
            vectors.append(centre + shift + 0.15 * rng.normal(size=(count, 16)))
            writer += [w] * count
            forged += [is_forged] * count
    vectors = np.concatenate(vectors)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    writer, forged = np.array(writer), np.array(forged)
    thresholds = tuple((k, eer(d.genuine, d.skilled)[1]) for k in (1, 5)
                       for d in [verification_distances(vectors, writer, forged, k_refs=k, repeats=5)])
    policy = replace(POLICY, threshold=thresholds[1][1], by_references=thresholds)
    bands = refer_bands_by_references(vectors, writer, forged, policy, references=(1, 5))
    assert set(bands) == {1, 5}
    assert REFER_BAND_LIMITS[0] <= bands[5] < bands[1] <= REFER_BAND_LIMITS[1], bands


def test_the_shipped_manifest_refers_more_with_one_specimen_than_with_five():
    from sigverify.inference.manifest import load_manifest
    from sigverify.paths import shipped_model_dir

    manifest = load_manifest(shipped_model_dir())
    chosen = {int(k): v for k, v in manifest.metrics["refer_bands_by_references"].items()}
    policy = manifest.policy
    assert policy.refer_band_for(1) == chosen[1] > policy.refer_band_for(5) == chosen[5]
