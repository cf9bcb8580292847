"""Verification metrics as plain numpy functions, shared by trainer, wizard, CLI and benchmarks.

Convention: inputs are *distances*; a pair is accepted as genuine when distance <= threshold.
FAR = share of forgeries accepted, FRR = share of genuine signatures rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_1d(values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError("metrics need at least one genuine and one forged distance")
    return array


def far_frr(genuine, forged, threshold: float) -> tuple[float, float]:
    """(FAR, FRR) at a distance threshold."""
    genuine, forged = _as_1d(genuine), _as_1d(forged)
    return float(np.mean(forged <= threshold)), float(np.mean(genuine > threshold))


@dataclass(frozen=True)
class RocCurve:
    """FAR and FRR at every distinct threshold, thresholds ascending."""

    thresholds: np.ndarray
    far: np.ndarray
    frr: np.ndarray


def roc_curve(genuine, forged) -> RocCurve:
    """FAR/FRR at each candidate threshold (every observed distance, plus one below all)."""
    genuine, forged = _as_1d(genuine), _as_1d(forged)
    candidates = np.unique(np.concatenate([genuine, forged]))
    thresholds = np.concatenate([[candidates[0] - 1e-9], candidates])
    g_sorted, f_sorted = np.sort(genuine), np.sort(forged)
    accepted_forged = np.searchsorted(f_sorted, thresholds, side="right")
    accepted_genuine = np.searchsorted(g_sorted, thresholds, side="right")
    far = accepted_forged / forged.size
    frr = 1.0 - accepted_genuine / genuine.size
    return RocCurve(thresholds=thresholds, far=far, frr=frr)


def eer(genuine, forged) -> tuple[float, float]:
    """Equal error rate and the threshold where FAR and FRR cross (interpolated between points)."""
    curve = roc_curve(genuine, forged)
    diff = curve.far - curve.frr  # rises from -1 (all rejected) towards +1
    idx = int(np.searchsorted(diff, 0.0, side="left"))
    if idx == 0:
        return float(curve.frr[0]), float(curve.thresholds[0])
    if idx >= diff.size:
        return float(curve.far[-1]), float(curve.thresholds[-1])
    d0, d1 = diff[idx - 1], diff[idx]
    w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
    rate0 = (curve.far[idx - 1] + curve.frr[idx - 1]) / 2
    rate1 = (curve.far[idx] + curve.frr[idx]) / 2
    rate = rate0 + w * (rate1 - rate0)
    threshold = curve.thresholds[idx - 1] + w * (curve.thresholds[idx] - curve.thresholds[idx - 1])
    return float(rate), float(threshold)


def threshold_for_far(genuine, forged, max_far: float) -> float:
    """Largest threshold whose FAR stays at or below max_far (the most lenient safe point)."""
    curve = roc_curve(genuine, forged)
    ok = np.nonzero(curve.far <= max_far)[0]
    return float(curve.thresholds[ok[-1]])


def roc_auc(genuine, forged) -> float:
    """Probability that a forgery lies farther than a genuine signature (ties count half)."""
    genuine, forged = _as_1d(genuine), _as_1d(forged)
    values = np.concatenate([genuine, forged])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(values.size, dtype=np.float64)
    sorted_values = values[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    forged_rank_sum = ranks[genuine.size :].sum()
    u = forged_rank_sum - forged.size * (forged.size + 1) / 2.0
    return float(u / (genuine.size * forged.size))


def n_way_accuracy(distances, correct) -> float:
    """Share of trials whose nearest candidate is the correct one; distances is (trials, N)."""
    distances = np.asarray(distances, dtype=np.float64)
    correct = np.asarray(correct).ravel()
    if distances.ndim != 2 or distances.shape[0] != correct.size or correct.size == 0:
        raise ValueError("distances must be (trials, N) with one correct index per trial")
    return float(np.mean(distances.argmin(axis=1) == correct))
