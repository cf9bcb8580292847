"""From embeddings to a verdict a clerk can act on.

Aggregation rule (documented for auditors): the questioned signature's distance to the
account is the **mean** of its Euclidean distances to the active reference signatures; a model
whose manifest names an account rule (``spread``: see account_model.py) then normalises that
mean by how far the account's own specimens lie from each other and how far strangers lie.
The mean is stricter than the minimum (a forgery that happens to resemble one specimen is
still far from the others) and, unlike the maximum, one poor specimen cannot reject a
genuine signature on its own. ``min`` and ``median`` can be chosen in the manifest.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np

from sigverify.verification.account_model import Population, fit_account
from sigverify.verification.calibration import LogisticCalibration

GENUINE, FORGED, REFER = "genuine", "forged", "refer"
AGGREGATIONS = {"mean": np.mean, "min": np.min, "median": np.median}


def distances_to_references(query: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distance from one embedding (D,) to each reference embedding (K, D)."""
    query = np.asarray(query, dtype=np.float64).reshape(1, -1)
    references = np.asarray(references, dtype=np.float64)
    if references.ndim != 2 or references.shape[0] == 0:
        raise ValueError("at least one reference embedding is needed")
    if references.shape[1] != query.shape[1]:
        raise ValueError(f"embedding sizes differ: {query.shape[1]} vs {references.shape[1]}")
    return np.linalg.norm(references - query, axis=1)


def aggregate(distances: np.ndarray, rule: str = "mean") -> float:
    """One distance for the account from the per-reference distances."""
    if rule not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation rule {rule!r}; expected one of {sorted(AGGREGATIONS)}")
    return float(AGGREGATIONS[rule](np.asarray(distances, dtype=np.float64)))


@dataclass(frozen=True)
class DecisionPolicy:
    """Threshold on the aggregated distance, its calibration, and the 'refer' band.

    The band is relative to the threshold: with threshold t and band b, distances within
    t*(1-b) .. t*(1+b) are referred to a supervisor instead of decided automatically.
    """

    threshold: float
    calibration: LogisticCalibration
    refer_band: float = 0.1
    aggregation: str = "mean"
    #: how the account's own specimens normalise the distance (verification/account_model.py)
    rule: str = "mean"
    population: Population | None = None
    #: (number of specimens, threshold) chosen on validation writers for each (manifest
    #: ``thresholds_by_references``): one specimen says less about how the hand varies, so a genuine
    #: signature lies further from it, and the five-specimen threshold refused far more of them
    by_references: tuple[tuple[int, float], ...] = ()
    #: (number of specimens, refer band) chosen on validation writers (manifest metrics
    #: ``refer_bands_by_references``, verification/refer_band.py): with one specimen the account's own
    #: spread is unknown, genuine and forged distances overlap more, and the band a supervisor looks at
    #: is wider, so the verdict says how sure it can be
    refer_bands: tuple[tuple[int, float], ...] = ()

    def with_threshold(self, threshold: float) -> "DecisionPolicy":
        """One threshold for every number of specimens (a supervisor's choice); the bands, a share of
        the threshold, still widen with fewer specimens."""
        return replace(self, threshold=threshold, by_references=())

    def threshold_for(self, references: int) -> float:
        """The threshold for an account with this many specimens: the one chosen for it, between two
        chosen ones interpolated on the logarithm of the count, beyond them the nearest."""
        return _by_count(self.by_references, references, self.threshold)

    def refer_band_for(self, references: int) -> float:
        """The refer band for an account with this many specimens (interpolated as the threshold is)."""
        return _by_count(self.refer_bands, references, self.refer_band)


def _by_count(chosen: tuple[tuple[int, float], ...], references: int, default: float) -> float:
    """A value chosen per number of specimens, for this number: between two chosen counts interpolated
    on the logarithm of the count, beyond them the nearest; ``default`` when none was chosen."""
    known = sorted(chosen)
    if not known or references < 1:
        return default
    if references <= known[0][0]:
        return float(known[0][1])
    for (k0, v0), (k1, v1) in zip(known, known[1:]):
        if references <= k1:
            share = math.log(references / k0) / math.log(k1 / k0)
            return float(v0 + share * (v1 - v0))
    return float(known[-1][1])


@dataclass(frozen=True)
class Decision:
    """Everything a clerk and an auditor need to see about one verification."""

    distances: tuple[float, ...]
    distance: float
    score: float
    verdict: str
    threshold: float
    threshold_score: float
    #: the refer band applied (a share of the threshold), for this account's number of specimens
    refer_band: float = 0.0


def verdict_for(distance: float, threshold: float, refer_band: float) -> str:
    """genuine / forged, or refer when the distance sits within the band around the threshold."""
    if distance < threshold * (1.0 - refer_band):
        return GENUINE
    if distance > threshold * (1.0 + refer_band):
        return FORGED
    return REFER


def account_distance(query: np.ndarray, references: np.ndarray, policy: DecisionPolicy) -> float:
    """The one distance the threshold applies to: the aggregate of the distances to the references,
    or, under an account rule, that distance normalised by the account's specimens and the population."""
    if policy.rule == "mean" or policy.population is None:
        return aggregate(_identity_distances(query, references, policy), policy.aggregation)
    return float(_fitted(references, policy).distance(query)[0])


def _identity_distances(query: np.ndarray, references: np.ndarray, policy: DecisionPolicy) -> np.ndarray:
    """Distances between embeddings (the part of the model's output that says who wrote it; a
    forgery space beside it is scored by the account model, not shown as a distance)."""
    if policy.population is not None and policy.population.identity_size is not None:
        query = policy.population.identity(query)
        references = policy.population.identity(references)
    return distances_to_references(query, references)


_FITTED: dict = {}


def _fitted(references: np.ndarray, policy: DecisionPolicy):
    """The account model of these references under this policy, fitted once and kept (a clerk verifies
    many cheques of one account; specimens changing means other references, hence a new fit)."""
    references = np.ascontiguousarray(references, dtype=np.float64)
    key = (id(policy.population), policy.rule, references.shape, hashlib.sha256(references.tobytes()).digest())
    population, model = _FITTED.get(key, (None, None))
    if population is not policy.population:  # never trust an id alone: a freed population's id is reused
        if len(_FITTED) >= 256:
            _FITTED.clear()
        model = fit_account(references, policy.population, policy.rule)
        _FITTED[key] = (policy.population, model)
    return model


def decide(query: np.ndarray, references: np.ndarray, policy: DecisionPolicy) -> Decision:
    """Verify one questioned embedding against an account's reference embeddings."""
    distances = _identity_distances(query, references, policy)
    distance = account_distance(query, references, policy)
    score = float(policy.calibration.score(distance))
    count = len(np.atleast_2d(references))
    threshold = policy.threshold_for(count)
    band = policy.refer_band_for(count)
    threshold_score = float(policy.calibration.score(threshold))
    return Decision(
        distances=tuple(float(d) for d in distances),
        distance=distance,
        score=score,
        verdict=verdict_for(distance, threshold, band),
        threshold=threshold,
        threshold_score=threshold_score,
        refer_band=band,
    )
