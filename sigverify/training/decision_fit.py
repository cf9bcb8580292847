"""Fitting a model's decision on its validation writers: the background population, the
within-writer whitening, the account rule and the weight of the forgery cue. Export and the
wizard's evaluation use the same code, so the threshold a supervisor picks in the wizard is in
the units the model decides in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from sigverify.training.datasets import DatasetScan, WriterSamples, prepare
from sigverify.training.forgery_space import WithForgerySpace, fit_forgery_space, space_features
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
    chosen: str = ""  # the table's key of the chosen rule and decision space

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
    return FittedDecision(rule, populations[space], background, table, rule + space)


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


#: weights of the embedding's score beside the forgery space's tried on validation
IDENTITY_WEIGHTS = (0.5, 1.0, 2.0)


@dataclass
class WithSpace:
    """What export ships when validation keeps the forgery space: the network that outputs
    [embedding | space coordinates], the decision fitted on those outputs, and the validation outputs."""

    network: torch.nn.Module
    fitted: FittedDecision
    val_outputs: np.ndarray


def add_forgery_space(fitted: FittedDecision, model: torch.nn.Module, split, config: TrainConfig,
                      val_emb: np.ndarray, val_set, problems: list[str], writers_per_chunk: int = 24) -> WithSpace | None:
    """Fit the forgery space on the training writers and keep it only if the validation writers'
    skilled-forgery EER improves with it (the weights tried and their EER join the rule table)."""
    if fitted.rule not in ("spread", "cohort") or not hasattr(model, "pooled_and_texture"):
        return None
    features, writer, forged = training_features(model, split, config, problems, writers_per_chunk)
    if not len(features):
        return None
    space = fit_forgery_space(features, writer, forged, wide=model.wide_texture_size)
    if space is None:
        return None
    network = WithForgerySpace(model, space).eval()
    val_outputs = embed(network, val_set.canvases, "cpu")
    background, _ = background_population(network, split, config, problems)
    size = network.identity_size
    base = fitted.population
    spread = genuine_spread(val_outputs[:, size:], val_set.writer, val_set.forged)
    baseline = fitted.table[fitted.chosen]["eer_skilled"]
    best, table = None, fitted.table  # every weight tried joins the ablation, kept or not
    for weight in IDENTITY_WEIGHTS:
        population = replace(base, background=background.astype(np.float64), identity_size=size,
                             space_genuine_distance=spread, identity_weight=weight)
        d = verification_distances(val_outputs, val_set.writer, val_set.forged, k_refs=config.eval_references,
                                   seed=config.seed, repeats=3, rule=fitted.rule, population=population)
        hard = d.skilled if d.skilled.size else d.random
        name = f"{fitted.chosen} + forgery space (embedding weight {weight:g})"
        table[name] = {"eer_skilled": eer(d.genuine, hard)[0], "eer_random": eer(d.genuine, d.random)[0]}
        if table[name]["eer_skilled"] < baseline and (best is None or table[name]["eer_skilled"] < best[0]):
            best = (table[name]["eer_skilled"], population)
    if best is None:
        return None
    return WithSpace(network, FittedDecision(fitted.rule, best[1], background, table,
                                             f"{fitted.chosen} + forgery space (embedding weight {best[1].identity_weight:g})"),
                     val_outputs)


def training_features(model: torch.nn.Module, split, config: TrainConfig, problems: list[str],
                      writers_per_chunk: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Space features (pooled and texture), writer index (into split.train) and forged flag of every training image,
    prepared a chunk of writers at a time so memory stays bounded on a large dataset."""
    features, writer, forged = [], [], []
    for start in range(0, len(split.train), writers_per_chunk):
        chunk = split.prepare(split.train[start : start + writers_per_chunk], config, problems)
        if len(chunk):
            features.append(space_features(model, chunk.canvases))
            writer.append(chunk.writer + start)  # a chunk numbers its writers from 0: make them global
            forged.append(chunk.forged)
    if not features:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(features), np.concatenate(writer), np.concatenate(forged)
