"""The 'refer to a supervisor' band around the threshold, chosen on validation writers, per number of
specimens (numpy only: the export after training and the tool that adds bands to a model folder).

The band is wide enough that at most ``REFER_TARGET`` of skilled forgeries fall below it (accepted
outright) and at most that share of genuine signatures above it (called forged outright). With one
specimen the account's own spread is unknown and genuine and forged distances overlap far more than
with five, so the band chosen for one specimen is wider: the verdict says how sure it can be.
"""

from __future__ import annotations

import numpy as np

from sigverify.verification.metrics import threshold_for_far
from sigverify.verification.protocol import verification_distances

REFER_TARGET = 0.05  # at most this share of forgeries accepted, or of genuine signatures rejected, outright
REFER_BAND_LIMITS = (0.05, 0.35)
#: the numbers of specimens a band is chosen for (others are interpolated, verification/decision.py)
BAND_REFERENCES = (1, 3, 5, 10)


def choose_refer_band(genuine: np.ndarray, forged: np.ndarray, threshold: float) -> float:
    """The band (a share of ``threshold``) for these validation distances, within the limits."""
    accept_below = threshold_for_far(genuine, forged, REFER_TARGET)
    reject_above = float(np.quantile(genuine, 1.0 - REFER_TARGET))
    wanted = max((threshold - accept_below) / threshold, (reject_above - threshold) / threshold)
    return float(np.clip(wanted, *REFER_BAND_LIMITS))


def refer_bands_by_references(embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, policy,
                              seed: int = 0, repeats: int = 5,
                              references: tuple[int, ...] = BAND_REFERENCES) -> dict[int, float]:
    """Per number of specimens, the band for validation writers' distances under ``policy`` (its rule,
    population and threshold for that number). Skilled forgeries are the negatives where there are
    any, else other writers' signatures. A number no writer has enough signatures for is left out."""
    bands: dict[int, float] = {}
    for k in references:
        d = verification_distances(embeddings, writer, forged, k_refs=k, seed=seed, repeats=repeats,
                                   rule=policy.rule, population=policy.population)
        negatives = d.skilled if d.skilled.size else d.random
        if d.genuine.size == 0 or negatives.size == 0:
            continue
        bands[k] = choose_refer_band(d.genuine, negatives, policy.threshold_for(k))
    return bands
