"""A decision fitted to each account: what the account's own specimens say about their spread.

A raw distance means different things for different people: one signs the same way every time
(genuine signatures land very close), another varies a lot. The account model, fitted at
enrolment from the account's reference embeddings and a *background population* (embeddings of
other writers' genuine signatures shipped with the model: embeddings, never images), turns the
questioned signature's distance into one on a common scale:

- ``mean``:   the mean Euclidean distance to the references (no account model; the old rule).
- ``spread``: 1 + (d − g) / (b − g), where d is that mean distance, g how far the account's own
  genuine specimens lie from the others (leave-one-out, shrunk towards the population's value
  when there are few specimens) and b how far strangers lie from the references. A genuine
  signature scores about 1 ("as close as the account's specimens are to each other"), a
  stranger about 2; a skilled forgery lands in between, one threshold suits every account, and
  the refer band (a share of the threshold) spans a fixed share of the genuine–stranger gap.
- ``cohort``: d / b (only the strangers' side; works the same from 1 reference on).
- ``logistic``: a small writer-dependent logistic classifier, the references against the
  background, its margin turned into a distance-like score.

Optionally a *forgery cue* is added to the mean, spread and cohort rules: how much further the
questioned signature lies than the account's specimens along the direction that the training's
genuine-versus-forgery head learnt (SigNet-F), c · w·(q − mean of the references). It is
relative to the account's own specimens, so a writer whose genuine hand happens to look
"forged-like" to the head is not penalised; its weight c was chosen on validation writers.

Numpy only; fitting takes well under a millisecond for 12 references and 2,000 background
embeddings, so it is refitted whenever specimens change and cached per model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RULES = ("mean", "spread", "cohort", "logistic")


@dataclass(frozen=True)
class Population:
    """What the model knows about writers in general: a background of strangers' embeddings and
    the typical genuine-to-genuine distance (for accounts with a single specimen)."""

    background: np.ndarray  # (B, D) genuine signatures of writers not in any account
    genuine_distance: float  # population mean distance between two genuine signatures of one writer
    prior_weight: float = 2.0  # how many reference pairs the population's value counts as
    #: (D, D) within-writer whitening, or None: distances are then measured where the ways a
    #: writer's own signatures naturally vary count less, so what a forger changes counts more
    whitening: np.ndarray | None = None
    #: (D,) the forgery head's direction times its weight in the decision (raw embedding space), or None
    forgery_direction: np.ndarray | None = None

    def with_forgery_direction(self, direction: np.ndarray | None) -> "Population":
        return Population(self.background, self.genuine_distance, self.prior_weight, self.whitening,
                          None if direction is None else np.asarray(direction, np.float64))

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        embeddings = np.atleast_2d(np.asarray(embeddings, np.float64))
        return embeddings if self.whitening is None else embeddings @ self.whitening


def within_writer_whitening(embeddings: np.ndarray, writer: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """The symmetric inverse square root of the pooled within-writer covariance (WCCN).

    Estimated from genuine signatures of training writers: directions along which one writer's
    signatures vary a lot are shrunk, directions they keep steady are stretched."""
    embeddings = np.asarray(embeddings, np.float64)
    dim = embeddings.shape[1]
    scatter, dof = np.zeros((dim, dim)), 0
    for w in np.unique(writer):
        own = embeddings[writer == w]
        if len(own) >= 2:
            centred = own - own.mean(axis=0)
            scatter += centred.T @ centred
            dof += len(own) - 1
    if dof == 0:
        return np.eye(dim)
    covariance = scatter / dof
    values, vectors = np.linalg.eigh(covariance + ridge * np.trace(covariance) / dim * np.eye(dim))
    return (vectors * values ** -0.5) @ vectors.T


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


@dataclass(frozen=True)
class AccountModel:
    """Fitted for one account (one model version); ``distance`` is what the threshold applies to."""

    rule: str
    references: np.ndarray
    own: float  # g: the account's genuine spread (shrunk)
    strangers: float  # b: mean distance of the background to the references
    weights: np.ndarray | None = None
    bias: float = 0.0
    whitening: np.ndarray | None = None
    forgery_direction: np.ndarray | None = None  # see Population
    forgery_origin: float = 0.0  # the references' mean position along it

    def _space(self, queries: np.ndarray) -> np.ndarray:
        queries = np.atleast_2d(np.asarray(queries, np.float64))
        return queries if self.whitening is None else queries @ self.whitening

    def raw(self, queries: np.ndarray) -> np.ndarray:
        """Mean distance of each query (N, D) to the references (in the model's decision space)."""
        return _pairwise(self._space(queries), self.references).mean(axis=1)

    def distance(self, queries: np.ndarray) -> np.ndarray:
        """The normalised distance of each query (N, D); larger = less like this account."""
        raw = np.atleast_2d(np.asarray(queries, np.float64))
        queries = self._space(raw)  # once: the references already live in this space
        if self.rule == "logistic":
            margin = queries @ self.weights + self.bias  # > 0 for the account
            return 1.0 / (1.0 + np.exp(np.clip(margin, -50, 50)))
        d = _pairwise(queries, self.references).mean(axis=1)
        if self.rule == "spread":
            d = 1.0 + (d - self.own) / max(self.strangers - self.own, 1e-6)
        elif self.rule == "cohort":
            d = d / max(self.strangers, 1e-6)
        if self.forgery_direction is not None:
            d = d + (raw @ self.forgery_direction - self.forgery_origin)
        return d


def fit_account(references: np.ndarray, population: Population | None, rule: str = "spread") -> AccountModel:
    """Fit the account model from its reference embeddings (1 to any number) and the population."""
    if rule not in RULES:
        raise ValueError(f"unknown decision rule {rule!r}; expected one of {RULES}")
    refs = raw_refs = np.atleast_2d(np.asarray(references, np.float64))
    if refs.shape[0] == 0:
        raise ValueError("at least one reference embedding is needed")
    if rule == "mean" or population is None:
        return AccountModel("mean", refs, 0.0, 1.0)
    background = np.asarray(population.background, np.float64)
    if background.ndim != 2 or background.shape[1] != refs.shape[1]:
        raise ValueError("the background population does not match the embedding size")
    refs, background = population.transform(refs), population.transform(background)
    whitening = population.whitening
    strangers = float(_pairwise(background, refs).mean())
    k = refs.shape[0]
    pairs = k * (k - 1) / 2
    observed = 0.0
    if k >= 2:
        within = _pairwise(refs, refs)
        # leave one out: a specimen's mean distance to the other specimens
        observed = float((within.sum(1) / (k - 1)).mean())
    w = population.prior_weight
    own = (pairs * observed + w * population.genuine_distance) / (pairs + w)
    if rule != "logistic":
        direction = population.forgery_direction
        origin = float(raw_refs.mean(axis=0) @ direction) if direction is not None else 0.0
        return AccountModel(rule, refs, own, strangers, whitening=whitening, forgery_direction=direction,
                            forgery_origin=origin)
    weights, bias = _fit_logistic(refs, background)
    return AccountModel(rule, refs, own, strangers, weights, bias, whitening)


def _fit_logistic(positive: np.ndarray, negative: np.ndarray, ridge: float = 1.0,
                  iterations: int = 25) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method, the two classes weighted equally."""
    x = np.concatenate([positive, negative])
    y = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    sample = np.concatenate([np.full(len(positive), 0.5 / len(positive)), np.full(len(negative), 0.5 / len(negative))])
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    beta = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], ridge / len(x))
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -50, 50)))
        gradient = design.T @ (sample * (p - y)) + penalty * beta
        hessian = (design * (sample * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])
