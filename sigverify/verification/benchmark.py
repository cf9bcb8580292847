"""The accuracy report of one model on one dataset's held-out writers (numpy only).

For K references per writer: skilled- and random-forgery EER and AUC, FRR at a skilled-forgery
FAR of 1% and 5% (read off this data's own DET curve: what the score can do at the operating
points a bank sets), and FAR/FRR and the three-way verdicts (genuine / refer / forged) at the
model's *shipped* threshold, which was chosen on validation writers only. Every rate carries a
95% bootstrap interval over writers (writers are resampled, not signatures: the signatures of one
writer are not independent).
"""

from __future__ import annotations

import numpy as np

from sigverify.verification.decision import FORGED, GENUINE, REFER
from sigverify.verification.metrics import eer, far_frr, roc_auc, threshold_for_far
from sigverify.verification.protocol import ProtocolDistances, verification_distances

FAR_POINTS = (0.01, 0.05)


def verdict_counts(distances: np.ndarray, threshold: float, refer_band: float) -> dict:
    """How many distances the shipped decision calls genuine, refer and forged (as verdict_for does)."""
    distances = np.asarray(distances, dtype=np.float64)
    genuine = int(np.count_nonzero(distances < threshold * (1.0 - refer_band)))
    forged = int(np.count_nonzero(distances > threshold * (1.0 + refer_band)))
    return {GENUINE: genuine, REFER: int(distances.size) - genuine - forged, FORGED: forged}


def per_writer_eer(d: ProtocolDistances) -> float | None:
    """Mean of each writer's own skilled-forgery EER (every account at its own best threshold): how far
    the pooled EER is from what per-account thresholds could reach."""
    if d.genuine_writer is None or d.skilled_writer is None:
        return None
    rates = [eer(d.genuine[d.genuine_writer == w], d.skilled[d.skilled_writer == w])[0]
             for w in np.intersect1d(d.genuine_writer, d.skilled_writer)]
    return float(np.mean(rates)) if rates else None


def point_figures(d: ProtocolDistances, threshold: float | None, refer_band: float, verdicts: bool = True) -> dict:
    """The figures of one set of distances (no intervals)."""
    out: dict = {"eer_skilled": eer(d.genuine, d.skilled)[0] if d.skilled.size else None,
                 "eer_random": eer(d.genuine, d.random)[0],
                 "auc_skilled": roc_auc(d.genuine, d.skilled) if d.skilled.size else None}
    for far in FAR_POINTS:
        key = f"frr_at_far{int(100 * far)}"
        out[key] = far_frr(d.genuine, d.skilled, threshold_for_far(d.genuine, d.skilled, far))[1] \
            if d.skilled.size else None
    if threshold is not None:
        far_s, frr = far_frr(d.genuine, d.skilled, threshold) if d.skilled.size else (None, None)
        out.update(far_skilled=far_s, far_random=far_frr(d.genuine, d.random, threshold)[0],
                   frr=far_frr(d.genuine, d.random, threshold)[1])
        if verdicts:
            for name, values in (("genuine", d.genuine), ("skilled", d.skilled)):
                out[f"verdicts_{name}"] = verdict_counts(values, threshold, refer_band)
    return out


def dataset_figures(embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, k: int, *, rule: str,
                    population, threshold: float | None, refer_band: float, seed: int = 0, repeats: int = 5,
                    resamples: int = 200) -> dict:
    """Figures for K references with 95% bootstrap intervals over writers."""
    d = verification_distances(embeddings, writer, forged, k_refs=k, seed=seed, repeats=repeats, rule=rule,
                               population=population)
    if d.genuine.size == 0:
        return {"note": f"no writer has {k + 1} genuine signatures"}
    figures = point_figures(d, threshold, refer_band)
    writers = np.unique(d.genuine_writer)
    figures["writers"] = int(writers.size)
    figures["n_genuine"], figures["n_skilled"], figures["n_random"] = (int(d.genuine.size), int(d.skilled.size),
                                                                     int(d.random.size))
    rng = np.random.default_rng(seed + 7)
    keys = [key for key, value in figures.items() if isinstance(value, float)]
    samples: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(resamples):
        sample = d.of_writers(rng.choice(writers, size=writers.size, replace=True))
        if sample.genuine.size == 0 or sample.random.size == 0:
            continue
        if d.skilled.size and sample.skilled.size == 0:
            continue
        values = point_figures(sample, threshold, refer_band, verdicts=False)
        for key in keys:
            if values.get(key) is not None:
                samples[key].append(values[key])
    figures["ci95"] = {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
                       for key, v in samples.items() if v}
    # once, outside the bootstrap: a resample of writers carries no owner labels to split by
    figures["eer_skilled_per_writer"] = per_writer_eer(d) if d.skilled.size else None
    return figures


def clerk_trial(embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, policy, seed: int = 0,
                references: int = 5, questioned: int = 10) -> list[dict]:
    """Per writer, as a clerk would try it: ``references`` specimens, then ``questioned`` other genuine
    signatures and ``questioned`` forgeries through the shipped decision (threshold and refer band)."""
    from sigverify.verification.decision import decide

    rng = np.random.default_rng(seed)
    rows = []
    for w in np.unique(writer):
        own = np.nonzero((writer == w) & ~forged)[0]
        fakes = np.nonzero((writer == w) & forged)[0]
        if own.size < references + 1 or fakes.size == 0:
            continue
        order = rng.permutation(own)
        refs, others = order[:references], order[references:references + questioned]
        fakes = rng.permutation(fakes)[:questioned]
        genuine = [decide(embeddings[i], embeddings[refs], policy).verdict for i in others]
        forgeries = [decide(embeddings[i], embeddings[refs], policy).verdict for i in fakes]
        rows.append({"writer": int(w), "genuine": len(genuine), "genuine_ok": sum(v != FORGED for v in genuine),
                     "genuine_accepted": genuine.count(GENUINE), "forged": len(forgeries),
                     "forged_ok": sum(v != GENUINE for v in forgeries), "forged_rejected": forgeries.count(FORGED)})
    return rows
