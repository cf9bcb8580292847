"""The per-account decision: normalised by the account's own spread and a background of strangers."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.verification.account_model import Population, fit_account
from sigverify.verification.metrics import eer
from sigverify.verification.protocol import verification_distances


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _writers(rng, n_writers=40, per_writer=12, dim=32):
    """Writers whose signing varies by different amounts (tight and loose signers), with skilled
    forgeries lying just outside each writer's own spread."""
    centres = _unit(rng.normal(size=(n_writers, dim)))
    spread = rng.uniform(0.05, 0.35, n_writers)
    emb, writer, forged = [], [], []
    for w in range(n_writers):
        direction = _unit(rng.normal(size=dim))
        for _ in range(per_writer):
            emb.append(_unit(centres[w] + spread[w] * rng.normal(size=dim) / np.sqrt(dim)))
            writer.append(w)
            forged.append(False)
        for _ in range(6):  # a forger lands beyond the writer's own variation, in one direction
            emb.append(_unit(centres[w] + spread[w] * (1.6 * direction + rng.normal(size=dim) / np.sqrt(dim))))
            writer.append(w)
            forged.append(True)
    return np.array(emb), np.array(writer), np.array(forged)


def _population(rng) -> Population:
    emb, writer, forged = _writers(rng, n_writers=60)
    return Population(emb[~forged], genuine_distance=0.2)


def test_spread_rule_beats_the_raw_mean_when_writers_vary_differently():
    rng = np.random.default_rng(0)
    emb, writer, forged = _writers(rng)
    population = _population(np.random.default_rng(1))
    raw = verification_distances(emb, writer, forged, k_refs=5, repeats=2)
    spread = verification_distances(emb, writer, forged, k_refs=5, repeats=2, rule="spread", population=population)
    raw_eer, spread_eer = eer(raw.genuine, raw.skilled)[0], eer(spread.genuine, spread.skilled)[0]
    assert spread_eer < raw_eer - 0.05, (raw_eer, spread_eer)


@pytest.mark.parametrize("k", [1, 2, 5, 12])
@pytest.mark.parametrize("rule", ["mean", "spread", "cohort", "logistic"])
def test_every_rule_works_from_one_to_twelve_references(k, rule):
    rng = np.random.default_rng(2)
    emb, writer, forged = _writers(rng, n_writers=3, per_writer=14)
    own = emb[(writer == 0) & ~forged]
    account = fit_account(own[:k], _population(rng), rule)
    genuine = account.distance(own[k:])
    fakes = account.distance(emb[(writer == 0) & forged])
    strangers = account.distance(emb[(writer == 1) & ~forged])
    assert np.isfinite(genuine).all() and np.isfinite(fakes).all()
    # a stranger is farther than the account's own other signatures, for every rule and K
    assert np.median(strangers) > np.median(genuine)


def test_spread_scale_genuine_near_one_strangers_near_two():
    rng = np.random.default_rng(3)
    emb, writer, forged = _writers(rng, n_writers=30)
    population = _population(np.random.default_rng(4))
    own = emb[(writer == 0) & ~forged]
    account = fit_account(own[:6], population, "spread")
    assert abs(float(np.median(account.distance(own[6:]))) - 1.0) < 0.35
    assert abs(float(np.median(account.distance(emb[(writer == 5) & ~forged]))) - 2.0) < 0.35


def test_one_reference_borrows_the_population_spread():
    rng = np.random.default_rng(5)
    emb, writer, forged = _writers(rng, n_writers=3)
    population = _population(rng)
    account = fit_account(emb[:1], population, "spread")
    assert account.own == pytest.approx(population.genuine_distance)


def test_wrong_inputs_are_refused():
    population = Population(np.ones((20, 8)) / np.sqrt(8), 0.2)
    with pytest.raises(ValueError, match="unknown decision rule"):
        fit_account(np.ones((2, 8)), population, "vote")
    with pytest.raises(ValueError, match="does not match"):
        fit_account(np.ones((2, 4)), population, "spread")
    with pytest.raises(ValueError, match="at least one"):
        fit_account(np.zeros((0, 8)), population, "spread")


def test_within_writer_whitening_discounts_how_writers_naturally_vary():
    """Genuine signatures vary a lot along a few directions; forgers deviate along others. Measured in
    the whitened space (estimated on other writers' genuine signatures only), forgeries stand out."""
    from sigverify.verification.account_model import within_writer_whitening

    dim, nuisance = 16, 4

    def writers(n, seed):
        r = np.random.default_rng(seed)
        emb, writer, forged = [], [], []
        for w in range(n):
            centre = r.normal(size=dim)
            for fake in [False] * 10 + [True] * 5:
                x = centre + 0.05 * r.normal(size=dim)
                x[:nuisance] += 0.6 * r.normal(size=nuisance)  # how one writer's hand varies
                if fake:
                    x[nuisance:] += 0.25 * r.normal(size=dim - nuisance)  # where a forger slips
                emb.append(x)
                writer.append(w)
                forged.append(fake)
        return np.array(emb), np.array(writer), np.array(forged)

    train, train_writer, train_forged = writers(40, 1)
    whitening = within_writer_whitening(train[~train_forged], train_writer[~train_forged])
    emb, writer, forged = writers(20, 2)
    background = train[~train_forged]
    plain = Population(background, genuine_distance=1.0)
    whitened = Population(background, genuine_distance=1.0, whitening=whitening)
    raw = verification_distances(emb, writer, forged, k_refs=5, repeats=2, rule="spread", population=plain)
    white = verification_distances(emb, writer, forged, k_refs=5, repeats=2, rule="spread", population=whitened)
    assert eer(white.genuine, white.skilled)[0] < eer(raw.genuine, raw.skilled)[0] - 0.1


def test_forgery_cue_is_measured_from_the_accounts_own_specimens():
    """The cue adds c·w·(q − mean of the references): nothing for a query at the references' mean
    position along w, c per unit beyond it, and it moves with the account (no absolute penalty)."""
    rng = np.random.default_rng(6)
    population = _population(rng)
    emb, writer, forged = _writers(rng, n_writers=2)
    refs = emb[(writer == 0) & ~forged][:5]
    direction = _unit(rng.normal(size=refs.shape[1]))
    plain = fit_account(refs, population, "spread")
    cued = fit_account(refs, population.with_forgery_direction(0.1 * direction), "spread")
    queries = emb[(writer == 0)][5:]
    expected = plain.distance(queries) + 0.1 * (queries - refs.mean(axis=0)) @ direction
    assert np.allclose(cued.distance(queries), expected)
    # the same account and query shifted together along w: the cue does not change
    moved = refs + 0.3 * direction
    shifted = fit_account(moved, population.with_forgery_direction(0.1 * direction), "spread")
    shifted_plain = fit_account(moved, population, "spread")
    assert np.allclose(shifted.distance(queries + 0.3 * direction) - shifted_plain.distance(queries + 0.3 * direction),
                       cued.distance(queries) - plain.distance(queries))


def test_forgery_cue_separates_forgeries_that_lie_along_the_learnt_direction():
    """Forgers who slip along one shared direction (as the training's forgery head learns it): with the
    cue along that direction, forgeries stand out more than by distance alone."""
    rng = np.random.default_rng(7)
    dim, slip = 32, _unit(np.random.default_rng(8).normal(size=32))
    emb, writer, forged = [], [], []
    for w in range(30):
        centre = _unit(rng.normal(size=dim))
        for fake in [False] * 10 + [True] * 6:
            x = centre + 0.15 * rng.normal(size=dim) / np.sqrt(dim) + (0.12 * slip if fake else 0)
            emb.append(_unit(x))
            writer.append(w)
            forged.append(fake)
    emb, writer, forged = np.array(emb), np.array(writer), np.array(forged)
    population = _population(np.random.default_rng(9))
    plain = verification_distances(emb, writer, forged, k_refs=5, repeats=2, rule="spread", population=population)
    cued = verification_distances(emb, writer, forged, k_refs=5, repeats=2, rule="spread",
                                  population=population.with_forgery_direction(2.0 * slip))
    assert eer(cued.genuine, cued.skilled)[0] < eer(plain.genuine, plain.skilled)[0] - 0.05


@pytest.mark.parametrize("rule", ["mean", "spread"])
def test_references_enrolled_otherwise_keep_the_draws_and_the_questioned_embeddings(rule):
    """bench/reference_augmentation.py enrols each drawn reference as other vectors (averaged or
    several copies); the draws and the questioned side must stay those of plain enrolment."""
    emb, writer, forged = _writers(np.random.default_rng(3), n_writers=12)
    population = _population(np.random.default_rng(4))
    plain = verification_distances(emb, writer, forged, k_refs=1, repeats=2, rule=rule, population=population)
    same = verification_distances(emb, writer, forged, k_refs=1, repeats=2, rule=rule, population=population,
                                  references=emb)
    twice = verification_distances(emb, writer, forged, k_refs=1, repeats=2, rule=rule, population=population,
                                   references=np.stack([emb, emb]))
    np.testing.assert_array_equal(plain.genuine, same.genuine)
    np.testing.assert_array_equal(plain.skilled, same.skilled)
    np.testing.assert_array_equal(plain.genuine_writer, twice.genuine_writer)
    if rule == "mean":  # two identical copies of one reference: the same mean distance
        np.testing.assert_allclose(plain.genuine, twice.genuine)
    # enrolled as someone else's signature: the writer's genuine signatures now lie far away
    other = np.roll(emb, 2 * 18, axis=0)  # each row another writer's (12 genuine + 6 forged a writer)
    moved = verification_distances(emb, writer, forged, k_refs=1, repeats=2, rule=rule, population=population,
                                   references=other)
    assert moved.genuine.mean() > plain.genuine.mean() * 1.2
