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

from sigverify.verification.account_model import Population, fit_account
from sigverify.verification.decision import aggregate
from sigverify.verification.metrics import eer, far_frr, n_way_accuracy, roc_auc


@dataclass
class ProtocolDistances:
    genuine: np.ndarray
    skilled: np.ndarray
    random: np.ndarray
    #: the account (writer) each distance was measured against, for resampling writers
    genuine_writer: np.ndarray | None = None
    skilled_writer: np.ndarray | None = None
    random_writer: np.ndarray | None = None

    def of_writers(self, chosen: np.ndarray) -> "ProtocolDistances":
        """The distances of the chosen writers (repeats allowed: a bootstrap sample of writers)."""
        parts = []
        for values, owners in ((self.genuine, self.genuine_writer), (self.skilled, self.skilled_writer),
                               (self.random, self.random_writer)):
            order = np.argsort(owners, kind="stable")
            starts = np.searchsorted(owners[order], chosen, side="left")
            ends = np.searchsorted(owners[order], chosen, side="right")
            index = np.concatenate([order[a:b] for a, b in zip(starts, ends)]) if len(chosen) else order[:0]
            parts.append(values[index])
        return ProtocolDistances(*parts)


def verification_distances(
    embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, k_refs: int,
    seed: int = 0, repeats: int = 5, aggregation: str = "mean", rule: str = "mean",
    population: Population | None = None, references: np.ndarray | None = None,
) -> ProtocolDistances:
    """Distances of genuine, skilled-forgery and random-forgery questioned signatures to K references.

    With a ``rule`` other than ``mean`` and a ``population``, each writer's references are
    fitted into an account model first (verification/account_model.py), as enrolment does.
    ``references``: what a drawn reference is enrolled as instead of its row of ``embeddings``
    (N, D), or several versions of each (T, N, D) all enrolled (e.g. augmented copies); the
    questioned signatures are always ``embeddings``, and the draws are the same either way."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    enrolled = embeddings[None] if references is None else np.asarray(references, dtype=np.float64)
    if enrolled.ndim == 2:
        enrolled = enrolled[None]
    writer, forged = np.asarray(writer), np.asarray(forged, dtype=bool)
    rng = np.random.default_rng(seed)
    genuine_d, skilled_d, random_d = [], [], []
    owners: tuple[list, list, list] = ([], [], [])
    writers = np.unique(writer)
    for _ in range(repeats):
        for w in writers:
            own = np.nonzero((writer == w) & ~forged)[0]
            if own.size < k_refs + 1:
                continue
            refs = rng.choice(own, size=k_refs, replace=False)
            questioned_genuine = np.setdiff1d(own, refs)
            strangers = []
            for other in writers:
                if other == w:
                    continue
                candidates = np.nonzero((writer == other) & ~forged)[0]
                if candidates.size:
                    strangers.append(int(rng.choice(candidates)))
            skilled = np.nonzero((writer == w) & forged)[0]
            if rule == "mean" or population is None:
                identity = embeddings if population is None else population.identity(embeddings)
                enrolled_refs = enrolled[:, refs].reshape(-1, enrolled.shape[-1])
                ref_emb = enrolled_refs if population is None else population.identity(enrolled_refs)

                def dist(indices: np.ndarray) -> list[float]:
                    return [aggregate(np.linalg.norm(ref_emb - identity[i], axis=1), aggregation) for i in indices]
            else:
                account = fit_account(enrolled[:, refs].reshape(-1, enrolled.shape[-1]), population, rule)

                def dist(indices: np.ndarray) -> list[float]:
                    return account.distance(embeddings[np.asarray(indices, dtype=int)]).tolist() if len(indices) else []
            genuine_d += dist(questioned_genuine)
            skilled_d += dist(skilled)
            random_d += dist(np.asarray(strangers, dtype=int))
            for owner, count in zip(owners, (questioned_genuine.size, skilled.size, len(strangers))):
                owner += [w] * count
    return ProtocolDistances(np.asarray(genuine_d), np.asarray(skilled_d), np.asarray(random_d),
                             *(np.asarray(o) for o in owners))


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
