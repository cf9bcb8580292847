"""The evaluation protocol, on embeddings: numpy only, shared by trainer, wizard, CLI and bench.

Verification: for each writer, K genuine signatures are drawn as references; the questioned
signatures are the writer's other genuine ones (should be accepted), the writer's skilled
forgeries (should be rejected), and one genuine signature of every other writer (random
forgeries, should be rejected). A questioned signature's distance is the aggregate of its
distances to the K references. The draw is repeated ``repeats`` times with different seeds.

Identification: N-way one-shot — N writers each give one genuine reference; a different
genuine signature of one of them must be nearest to its own writer's reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigverify.verification.decision import aggregate
from sigverify.verification.metrics import eer, far_frr, n_way_accuracy, roc_auc


@dataclass
class ProtocolDistances:
    genuine: np.ndarray
    skilled: np.ndarray
    random: np.ndarray


def verification_distances(
    embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, k_refs: int,
    seed: int = 0, repeats: int = 5, aggregation: str = "mean",
) -> ProtocolDistances:
    """Distances of genuine, skilled-forgery and random-forgery questioned signatures to K references."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    writer, forged = np.asarray(writer), np.asarray(forged, dtype=bool)
    rng = np.random.default_rng(seed)
    genuine_d, skilled_d, random_d = [], [], []
    writers = np.unique(writer)
    for _ in range(repeats):
        for w in writers:
            own = np.nonzero((writer == w) & ~forged)[0]
            if own.size < k_refs + 1:
                continue
            refs = rng.choice(own, size=k_refs, replace=False)
            ref_emb = embeddings[refs]

            def dist(index: int) -> float:
                return aggregate(np.linalg.norm(ref_emb - embeddings[index], axis=1), aggregation)

            genuine_d += [dist(i) for i in own if i not in refs]
            skilled_d += [dist(i) for i in np.nonzero((writer == w) & forged)[0]]
            for other in writers:
                if other == w:
                    continue
                candidates = np.nonzero((writer == other) & ~forged)[0]
                if candidates.size:
                    random_d.append(dist(int(rng.choice(candidates))))
    return ProtocolDistances(np.asarray(genuine_d), np.asarray(skilled_d), np.asarray(random_d))


def report(distances: ProtocolDistances, threshold: float | None = None) -> dict:
    """EER, AUC and (at ``threshold``) FAR/FRR, skilled and random forgeries reported apart."""
    out: dict = {"n_genuine": int(distances.genuine.size), "n_skilled": int(distances.skilled.size),
                 "n_random": int(distances.random.size)}
    for name, negatives in (("skilled", distances.skilled), ("random", distances.random)):
        if negatives.size == 0 or distances.genuine.size == 0:
            continue
        rate, at = eer(distances.genuine, negatives)
        out[f"eer_{name}"] = rate
        out[f"eer_threshold_{name}"] = at
        out[f"auc_{name}"] = roc_auc(distances.genuine, negatives)
        if threshold is not None:
            far, frr = far_frr(distances.genuine, negatives, threshold)
            out[f"far_{name}"] = far
            out["frr"] = frr
    if threshold is not None:
        out["threshold"] = threshold
    return out


def n_way_one_shot(
    embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, n: int, trials: int = 400, seed: int = 0
) -> float:
    """Accuracy of N-way one-shot identification among genuine signatures of distinct writers."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    writer, forged = np.asarray(writer), np.asarray(forged, dtype=bool)
    eligible = [w for w in np.unique(writer) if np.count_nonzero((writer == w) & ~forged) >= 2]
    if len(eligible) < n:
        raise ValueError(f"{n}-way identification needs {n} writers with 2 genuine signatures; "
                         f"only {len(eligible)} here")
    rng = np.random.default_rng(seed)
    rows, correct = [], []
    for _ in range(trials):
        chosen = rng.choice(eligible, size=n, replace=False)
        target = int(rng.integers(n))
        refs = []
        query = -1
        for position, w in enumerate(chosen):
            own = np.nonzero((writer == w) & ~forged)[0]
            if position == target:
                ref, query = rng.choice(own, size=2, replace=False)
            else:
                ref = rng.choice(own)
            refs.append(ref)
        rows.append(np.linalg.norm(embeddings[refs] - embeddings[query], axis=1))
        correct.append(target)
    return n_way_accuracy(np.stack(rows), np.asarray(correct))
