"""One-shot identification 1:N: whose specimens is a questioned signature closest to — or nobody's.

Each enrolled person (an account's signatory, or an account whose specimens name none) is one
candidate. A candidate is scored exactly as verification scores an account (the account model of
verification/account_model.py fitted to that person's specimens), so "closest" means the same
thing at the counter and in an investigation. An index (store/vector_index.py) may first
shortlist the people whose specimens lie nearest by embedding; scoring is always exact.

Open set: the best candidate is named only if its distance is within the identification
threshold, chosen on validation writers for a stated false-match rate (a never-enrolled writer's
signature named as someone's); otherwise "no match found".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigverify.verification.decision import DecisionPolicy, account_distance
from sigverify.verification.account_model import fit_account

#: false-match rate the shipped identification threshold is chosen for (validation writers)
FALSE_MATCH_RATE = 0.01


@dataclass(frozen=True)
class Candidate:
    account: str
    signatory: str  # "" when the account's specimens name no signatory
    reference_ids: tuple[int, ...]  # that person's specimens, nearest first
    distance: float  # the account model's distance, in the verification's units
    score: float  # the model's calibrated score of that distance

    def record(self) -> dict:
        """What the audit record keeps of it and the command line prints as JSON."""
        return {"account": self.account, "signatory": self.signatory, "distance": round(self.distance, 6),
                "score": round(self.score, 6), "specimens": list(self.reference_ids[:3])}


@dataclass(frozen=True)
class Identification:
    candidates: list[Candidate]  # best first
    threshold: float
    people: int  # how many enrolled people were compared (all of them, or the index's shortlist)

    @property
    def match(self) -> Candidate | None:
        """The named person, or None: no match found."""
        return self.candidates[0] if self.candidates and self.candidates[0].distance <= self.threshold else None


def identify(query: np.ndarray, ids: list[int], vectors: np.ndarray, owners: dict[int, tuple[str, str]],
             policy: DecisionPolicy, threshold: float, top: int = 5) -> Identification:
    """Rank the enrolled people for one questioned output vector.

    ids/vectors: the specimens of everyone to be scored (model outputs; after an index's
    shortlist, every specimen of each shortlisted person); owners: reference id → (account, signatory)."""
    query = np.asarray(query, np.float64)
    rows_of: dict[tuple[str, str], list[int]] = {}
    for row, reference_id in enumerate(ids):
        rows_of.setdefault(owners[reference_id], []).append(row)
    identity = policy.population.identity(vectors) if policy.population is not None else np.asarray(vectors)
    query_identity = policy.population.identity(query)[0] if policy.population is not None else query
    scored = []
    for person, rows in rows_of.items():
        distance = account_distance(query, vectors[rows], policy)
        nearest = np.argsort(np.linalg.norm(identity[rows] - query_identity, axis=1))
        scored.append(Candidate(person[0], person[1], tuple(int(ids[rows[i]]) for i in nearest), float(distance),
                                float(policy.calibration.score(distance))))
    scored.sort(key=lambda c: c.distance)
    return Identification(scored[:top], float(threshold), len(scored))


@dataclass(frozen=True)
class OpenSetReport:
    threshold: float
    false_match_rate: float  # never-enrolled queries named as someone (at the threshold)
    true_match_rate: float  # enrolled queries named, and named right
    rank1: float  # enrolled queries whose best candidate is right (no threshold)
    enrolled: int  # people in each simulated gallery
    queries: int

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def open_set_report(outputs: np.ndarray, writer: np.ndarray, forged: np.ndarray, policy: DecisionPolicy,
                    references: int = 5, false_match_rate: float = FALSE_MATCH_RATE, repeats: int = 5,
                    seed: int = 0, threshold: float | None = None) -> OpenSetReport:
    """Simulate identification on held-out writers: half of them enrolled with ``references``
    specimens, the other half never enrolled. Genuine signatures of the enrolled should be named
    right; those of the never-enrolled should find no match. Without ``threshold``, the largest
    one whose false-match rate stays within ``false_match_rate`` is chosen (on validation writers)."""
    writer, forged = np.asarray(writer), np.asarray(forged, bool)
    eligible = [w for w in np.unique(writer) if np.count_nonzero((writer == w) & ~forged) > references]
    if len(eligible) < 4:
        raise ValueError(f"open-set identification needs 4 writers with more than {references} genuine "
                         f"signatures; only {len(eligible)} here")
    rng = np.random.default_rng(seed)
    impostor_best, enrolled_best, enrolled_right = [], [], []
    for _ in range(repeats):
        order = rng.permutation(eligible)
        enrolled, strangers = order[: len(order) // 2], order[len(order) // 2 :]
        models, questions = [], []
        for w in enrolled:
            own = rng.permutation(np.nonzero((writer == w) & ~forged)[0])
            models.append(fit_account(outputs[own[:references]], policy.population, policy.rule))
            questions.append(own[references:])
        def best(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            table = np.stack([m.distance(outputs[queries]) for m in models])  # (people, queries)
            return table.min(axis=0), table.argmin(axis=0)
        for w in strangers:
            impostor_best += list(best(np.nonzero((writer == w) & ~forged)[0])[0])
        for index, queries in enumerate(questions):
            if len(queries):
                distance, who = best(queries)
                enrolled_best += list(distance)
                enrolled_right += list(who == index)
    impostor_best, enrolled_best = np.array(impostor_best), np.array(enrolled_best)
    enrolled_right = np.array(enrolled_right, bool)
    if threshold is None:
        ordered = np.sort(impostor_best)
        allowed = int(np.floor(false_match_rate * len(ordered)))  # impostors that may fall within
        threshold = float(ordered[allowed - 1]) if allowed else float(ordered[0]) - 1e-9
    return OpenSetReport(float(threshold), float(np.mean(impostor_best <= threshold)),
                         float(np.mean(enrolled_right & (enrolled_best <= threshold))), float(enrolled_right.mean()),
                         len(eligible) // 2, int(len(impostor_best) + len(enrolled_best)))


def n_way_k_shot(outputs: np.ndarray, writer: np.ndarray, forged: np.ndarray, policy: DecisionPolicy, n: int,
                 shots: int, trials: int = 200, seed: int = 0) -> float:
    """Closed-set accuracy: N writers enrolled with K specimens each, one more genuine signature of
    one of them questioned; right when that writer's account model gives it the smallest distance."""
    writer, forged = np.asarray(writer), np.asarray(forged, bool)
    eligible = [w for w in np.unique(writer) if np.count_nonzero((writer == w) & ~forged) > shots]
    if len(eligible) < n:
        raise ValueError(f"{n}-way {shots}-shot needs {n} writers with more than {shots} genuine signatures; "
                         f"only {len(eligible)} here")
    rng = np.random.default_rng(seed)
    right = 0
    for _ in range(trials):
        chosen = rng.choice(eligible, size=n, replace=False)
        target = int(rng.integers(n))
        models = []
        for position, w in enumerate(chosen):
            own = rng.permutation(np.nonzero((writer == w) & ~forged)[0])
            if position == target:
                query = own[shots]
            models.append(fit_account(outputs[own[:shots]], policy.population, policy.rule))
        scores = [m.distance(outputs[query][None])[0] for m in models]
        right += int(np.argmin(scores) == target)
    return right / trials
