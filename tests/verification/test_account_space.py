"""The account model with a forgery space beside the embedding: [embedding | space coordinates]."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.verification.account_model import Population, fit_account
from sigverify.verification.decision import DecisionPolicy, decide
from sigverify.verification.calibration import LogisticCalibration
from sigverify.verification.metrics import eer
from sigverify.verification.protocol import verification_distances

IDENTITY, SPACE = 16, 8


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _outputs(rng, writers=30, genuine=10, forgeries=6, forgery_shift=0.0):
    """Embeddings that barely tell a forgery from its writer (it imitates the shape), and space
    coordinates where genuine signatures vary ~N(0, 1) around the writer and forgeries are shifted."""
    rows, writer, forged = [], [], []
    for w in range(writers):
        centre, place = _unit(rng.normal(size=IDENTITY)), 3.0 * rng.normal(size=SPACE)
        for fake in [False] * genuine + [True] * forgeries:
            e = _unit(centre + 0.2 * rng.normal(size=IDENTITY) / np.sqrt(IDENTITY))
            z = place + rng.normal(size=SPACE) + (forgery_shift * np.ones(SPACE) / np.sqrt(SPACE) if fake else 0)
            rows.append(np.concatenate([e, z]))
            writer.append(w)
            forged.append(fake)
    return np.array(rows), np.array(writer), np.array(forged)


def _population(rng, weight=1.0):
    rows, _, forged = _outputs(rng, writers=40)
    return Population(rows[~forged], genuine_distance=0.2, identity_size=IDENTITY,
                      space_genuine_distance=float(np.sqrt(2 * SPACE)), identity_weight=weight)


def test_the_score_averages_the_embedding_rule_and_the_space_rule_with_the_chosen_weight():
    rng = np.random.default_rng(0)
    population = _population(rng, weight=0.5)
    rows, writer, forged = _outputs(rng, writers=2)
    refs, queries = rows[writer == 0][:5], rows[writer == 0][5:]
    fused = fit_account(refs, population, "spread").distance(queries)
    identity_only = fit_account(refs[:, :IDENTITY], Population(population.background[:, :IDENTITY], 0.2), "spread")
    space_only = fit_account(refs[:, IDENTITY:], Population(population.background[:, IDENTITY:],
                                                            population.space_genuine_distance), "spread")
    expected = (0.5 * identity_only.distance(queries[:, :IDENTITY]) + space_only.distance(queries[:, IDENTITY:])) / 1.5
    assert np.allclose(fused, expected)


def test_forgeries_that_only_the_space_sees_are_caught():
    rng = np.random.default_rng(1)
    rows, writer, forged = _outputs(rng, forgery_shift=4.0)
    with_space = verification_distances(rows, writer, forged, k_refs=5, repeats=2, rule="spread",
                                        population=_population(np.random.default_rng(2)))
    population = _population(np.random.default_rng(2))
    embedding_only = verification_distances(rows[:, :IDENTITY], writer, forged, k_refs=5, repeats=2, rule="spread",
                                            population=Population(population.background[:, :IDENTITY], 0.2))
    assert eer(with_space.genuine, with_space.skilled)[0] < eer(embedding_only.genuine, embedding_only.skilled)[0] - 0.15


@pytest.mark.parametrize("k", [1, 2, 12])
def test_works_from_one_reference(k):
    rng = np.random.default_rng(3)
    rows, writer, forged = _outputs(rng, writers=3, genuine=14, forgery_shift=4.0)
    own = rows[(writer == 0) & ~forged]
    account = fit_account(own[:k], _population(rng), "spread")
    d = account.distance(rows)
    assert np.isfinite(d).all()
    assert account.distance(own[k:]).mean() < account.distance(rows[writer == 1]).mean()


def test_clerks_see_embedding_distances_and_the_mean_rule_ignores_the_space():
    rng = np.random.default_rng(4)
    population = _population(rng)
    rows, writer, _ = _outputs(rng, writers=1)
    refs, query = rows[:5], rows[7].copy()
    policy = DecisionPolicy(1.2, LogisticCalibration(1.2, 10.0), 0.1, rule="spread", population=population)
    decision = decide(query, refs, policy)
    assert np.allclose(decision.distances, np.linalg.norm(refs[:, :IDENTITY] - query[:IDENTITY], axis=1))
    mean = fit_account(refs, population, "mean")
    query[IDENTITY:] += 100.0  # far off in the space: the plain mean of embedding distances does not move
    assert np.isclose(mean.distance(query)[0], np.linalg.norm(refs[:, :IDENTITY] - rows[7, :IDENTITY], axis=1).mean())
