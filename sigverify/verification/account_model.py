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

With a model that has a *forgery space* (training/forgery_space.py: the network's pooled
features projected where skilled forgeries stand out from their writer's genuine signatures), its
output is [embedding | space coordinates]; the spread (or cohort) rule is then also applied in the
space, and the two scores are averaged with the weight validation chose: (w · embedding + space) / (1 + w).

Numpy only; fitting takes well under a millisecond for 12 references and 2,000 background
embeddings, so it is refitted whenever specimens change and cached per model version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    #: with a forgery space (training/forgery_space.py) the model's output is [embedding | space
    #: coordinates]; None = the whole output is the embedding
    identity_size: int | None = None
    space_genuine_distance: float = 0.0  # the space's typical genuine-to-genuine distance (one-specimen prior)
    identity_weight: float = 0.0  # d = (w · embedding score + space score) / (1 + w)

    def with_forgery_direction(self, direction: np.ndarray | None) -> "Population":
        return replace(self, forgery_direction=None if direction is None else np.asarray(direction, np.float64))

    def identity(self, vectors: np.ndarray) -> np.ndarray:
        """The embedding part of model outputs (N, D) (all of it when the model has no forgery space)."""
        vectors = np.atleast_2d(np.asarray(vectors, np.float64))
        return vectors if self.identity_size is None else vectors[:, : self.identity_size]

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        embeddings = self.identity(embeddings)
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
    identity_size: int | None = None  # see Population
    space: "SpreadFit | None" = None  # the forgery space's own spread fit, when the model has one
    identity_weight: float = 0.0

    def _space(self, queries: np.ndarray) -> np.ndarray:
        queries = np.atleast_2d(np.asarray(queries, np.float64))
        if self.identity_size is not None:
            queries = queries[:, : self.identity_size]
        return queries if self.whitening is None else queries @ self.whitening

    def raw(self, queries: np.ndarray) -> np.ndarray:
        """Mean distance of each query (N, D) to the references (in the model's decision space)."""
        return _pairwise(self._space(queries), self.references).mean(axis=1)

    def distance(self, queries: np.ndarray) -> np.ndarray:
        """The normalised distance of each query (N, D); larger = less like this account."""
        full = np.atleast_2d(np.asarray(queries, np.float64))
        raw = full if self.identity_size is None else full[:, : self.identity_size]
        queries = self._space(full)  # once: the references already live in this space
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
        if self.space is not None:
            d = (self.identity_weight * d + self.space.score(full[:, self.identity_size:])) / (1.0 + self.identity_weight)
        return d


@dataclass(frozen=True)
class SpreadFit:
    """The spread rule in one space: 1 + (d − g) / (b − g) (see the module's docstring)."""

    references: np.ndarray
    own: float
    strangers: float

    def score(self, queries: np.ndarray) -> np.ndarray:
        d = _pairwise(np.atleast_2d(queries), self.references).mean(axis=1)
        return 1.0 + (d - self.own) / max(self.strangers - self.own, 1e-6)


def _own_spread(refs: np.ndarray, prior: float, prior_weight: float) -> float:
    """The account's genuine spread: leave-one-out mean distance among its specimens, shrunk
    towards the population's value when there are few of them."""
    k = refs.shape[0]
    pairs = k * (k - 1) / 2
    observed = 0.0
    if k >= 2:
        within = _pairwise(refs, refs)
        # leave one out: a specimen's mean distance to the other specimens
        observed = float((within.sum(1) / (k - 1)).mean())
    return (pairs * observed + prior_weight * prior) / (pairs + prior_weight)


def fit_account(references: np.ndarray, population: Population | None, rule: str = "spread") -> AccountModel:
    """Fit the account model from its reference embeddings (1 to any number) and the population."""
    if rule not in RULES:
        raise ValueError(f"unknown decision rule {rule!r}; expected one of {RULES}")
    full = np.atleast_2d(np.asarray(references, np.float64))
    if full.shape[0] == 0:
        raise ValueError("at least one reference embedding is needed")
    size = population.identity_size if population is not None else None
    refs = raw_refs = full if size is None else full[:, :size]
    if rule == "mean" or population is None:
        return AccountModel("mean", refs, 0.0, 1.0, identity_size=size)
    full_background = np.asarray(population.background, np.float64)
    if full_background.ndim != 2 or full_background.shape[1] != full.shape[1]:
        raise ValueError("the background population does not match the embedding size")
    refs, background = population.transform(refs), population.transform(full_background)
    whitening = population.whitening
    strangers = float(_pairwise(background, refs).mean())
    own = _own_spread(refs, population.genuine_distance, population.prior_weight)
    if rule != "logistic":
        direction = population.forgery_direction
        origin = float(raw_refs.mean(axis=0) @ direction) if direction is not None else 0.0
        space = None
        if size is not None and rule in ("spread", "cohort"):
            coordinates = full[:, size:]
            space = SpreadFit(coordinates, _own_spread(coordinates, population.space_genuine_distance,
                                                        population.prior_weight),
                              float(_pairwise(full_background[:, size:], coordinates).mean()))
        return AccountModel(rule, refs, own, strangers, whitening=whitening, forgery_direction=direction,
                            forgery_origin=origin, identity_size=size, space=space,
                            identity_weight=population.identity_weight)
    weights, bias = _fit_logistic(refs, background)
    return AccountModel(rule, refs, own, strangers, weights, bias, whitening, identity_size=size)


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
