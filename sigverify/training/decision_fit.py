"""Fitting a model's decision on its validation writers: the background population, the
within-writer whitening, the account rule and the weight of the forgery cue. Export and the
wizard's evaluation use the same code, so the threshold a supervisor picks in the wizard is in
the units the model decides in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from sigverify.training.datasets import DatasetScan, WriterSamples, prepare
from sigverify.training.trainer import TrainConfig, embed
from sigverify.verification.account_model import RULES, Population, within_writer_whitening
from sigverify.verification.metrics import eer
from sigverify.verification.protocol import ProtocolDistances, verification_distances


@dataclass
class FittedDecision:
    rule: str
    population: Population
    background: np.ndarray
    table: dict  # validation EER of every candidate rule (the ablation recorded in the manifest)

    def distances(self, embeddings: np.ndarray, data, config: TrainConfig, k: int, repeats: int = 5) -> ProtocolDistances:
        return verification_distances(embeddings, data.writer, data.forged, k_refs=k, seed=config.seed,
                                      repeats=repeats, rule=self.rule, population=self.population)


#: weights of the forgery cue tried on validation (0 = none); see verification/account_model.py
FORGERY_CUE_WEIGHTS = (0.0, 0.02, 0.05, 0.1)


def forgery_head(state: dict) -> np.ndarray | None:
    """The genuine-versus-forgery head's direction (D,) from a checkpoint, if it was trained with one."""
    weight = (state.get("heads") or {}).get("forgery.weight")
    if weight is None or not state["config"].get("forgery_head_weight", 0):
        return None
    return weight.detach().cpu().numpy().astype(np.float64).ravel()


def fit_decision(model: torch.nn.Module, split, config: TrainConfig, val_emb: np.ndarray, val_set,
                 problems: list[str], forgery_direction: np.ndarray | None = None) -> FittedDecision:
    """Background from the training writers, whitening from their genuine variation, and the rule
    (and forgery-cue weight, when the model has a forgery head) with the lowest validation
    skilled-forgery EER."""
    background, background_writer = background_population(model, split, config, problems)
    whitening = within_writer_whitening(background, background_writer)
    populations = {
        "": Population(background.astype(np.float64), genuine_spread(val_emb, val_set.writer, val_set.forged)),
        " (whitened)": Population(background.astype(np.float64),
                                  genuine_spread(val_emb @ whitening, val_set.writer, val_set.forged),
                                  whitening=whitening)}
    if forgery_direction is not None:
        for space, population in list(populations.items()):
            for weight in FORGERY_CUE_WEIGHTS[1:]:
                populations[f"{space} + forgery cue {weight:g}"] = \
                    population.with_forgery_direction(weight * forgery_direction)
    rule, space, table = choose_rule(val_emb, val_set, config, populations)
    return FittedDecision(rule, populations[space], background, table)


def background_population(model: torch.nn.Module, split, config: TrainConfig, problems: list[str],
                          per_writer: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of a few genuine signatures of every training writer: the strangers an account is
    compared with (shipped with the model as embeddings; no image leaves the training data)."""
    rng = np.random.default_rng(config.seed)
    chosen = {}
    for writer in split.train:
        genuine = split.scan.writers[writer].genuine
        picked = rng.choice(len(genuine), size=min(per_writer, len(genuine)), replace=False)
        chosen[writer] = sorted(int(i) for i in picked)
    subset = DatasetScan(split.scan.root, split.scan.layout, {
        w: WriterSamples(genuine=[split.scan.writers[w].genuine[i] for i in idx]) for w, idx in chosen.items()})
    prepared = prepare(subset, list(chosen), config.preprocess_params, problems)
    return embed(model, prepared.canvases, "cpu").astype(np.float32), prepared.writer


def genuine_spread(embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray) -> float:
    """Mean distance between two genuine signatures of one writer (the prior for one-specimen accounts)."""
    values = []
    for w in np.unique(writer):
        own = embeddings[(writer == w) & ~forged]
        if len(own) >= 2:
            d = np.linalg.norm(own[:, None] - own[None], axis=2)
            values.append(d[np.triu_indices(len(own), 1)].mean())
    return float(np.mean(values)) if values else 0.5


def choose_rule(val_emb: np.ndarray, val_set, config: TrainConfig,
                populations: dict[str, Population]) -> tuple[str, str, dict]:
    """The account rule and decision space with the lowest skilled-forgery EER on the validation
    writers (K references); the table of every candidate goes into the manifest (the ablation)."""
    table, candidates = {}, []
    for order, (space, population) in enumerate(populations.items()):
        for rule in RULES:
            if rule == "mean" and space:
                continue  # the plain mean is the no-account-model baseline, in the raw space only
            if rule == "logistic" and population.forgery_direction is not None:
                continue  # the cue is added to distances; the logistic rule's score is a probability
            d = verification_distances(val_emb, val_set.writer, val_set.forged, k_refs=config.eval_references,
                                       seed=config.seed, repeats=3, rule=rule, population=population)
            hard = d.skilled if d.skilled.size else d.random
            table[rule + space] = {"eer_skilled": eer(d.genuine, hard)[0], "eer_random": eer(d.genuine, d.random)[0]}
            # ties go to the simpler decision: the earlier rule, then the earlier space (no cue first)
            candidates.append((round(table[rule + space]["eer_skilled"], 4), RULES.index(rule), order, rule, space))
    _, _, _, rule, space = min(candidates)
    return rule, space, table
