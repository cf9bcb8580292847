"""The accuracy table of a model on held-out writers, from embeddings (protocol in verification/)."""

from __future__ import annotations

import numpy as np

from sigverify.verification.protocol import n_way_one_shot, report, verification_distances


def evaluate_checkpoint(checkpoint) -> dict:
    """The held-out (validation) writers' distances and EER for a checkpoint: what the wizard shows."""
    from pathlib import Path

    from sigverify.training.decision_fit import fit_decision, forgery_head
    from sigverify.training.trainer import embed, load_checkpoint, split_dataset

    config, model, state = load_checkpoint(Path(checkpoint))
    split = split_dataset(config, [])
    val_set = split.prepare(split.validation, config, [])  # only the writers evaluated are preprocessed
    embeddings = embed(model, val_set.canvases, "cpu")
    # the decision the export will ship (rule, population), so a threshold picked here means the same there
    fitted = fit_decision(model, split, config, embeddings, val_set, [], forgery_head(state))
    distances = fitted.distances(embeddings, val_set, config, config.eval_references)
    metrics = report(distances)
    return {"genuine": distances.genuine.tolist(), "skilled": distances.skilled.tolist(),
            "random": distances.random.tolist(), "metrics": metrics, "references": config.eval_references,
            "writers": val_set.writer_names, "epoch": state["epoch"], "rule": fitted.rule}


def model_on_same_writers(model_dir, checkpoint) -> dict:
    """The model in use, on the held-out writers a new checkpoint was evaluated on, with its own
    preprocessing and decision: what the wizard compares before a supervisor activates."""
    import dataclasses
    from pathlib import Path

    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.training.trainer import load_checkpoint, split_dataset

    engine = EmbeddingEngine(Path(model_dir), provider="cpu")
    config, _model, _state = load_checkpoint(Path(checkpoint))
    split = split_dataset(config, [])
    own = dataclasses.replace(config, preprocessing=engine.manifest.preprocessing.to_dict())
    data = split.prepare(split.validation, own, [])
    embeddings = engine.embed_many(data.canvases)
    policy = engine.manifest.policy
    distances = verification_distances(embeddings, data.writer, data.forged, k_refs=config.eval_references,
                                       seed=config.seed, repeats=5, rule=policy.rule, population=policy.population)
    return {"version": engine.version, "metrics": report(distances)}


def accuracy_table(embeddings: np.ndarray, writer: np.ndarray, forged: np.ndarray, threshold_by_k: dict[int, float],
                   ks=(1, 5), ns=(5, 20), seed: int = 0, aggregation: str = "mean", rule: str = "mean",
                   population=None) -> dict:
    """EER/AUC/FAR/FRR per K references (skilled and random apart) and N-way one-shot accuracy.

    An N larger than the number of writers is reported as not measurable rather than faked.
    """
    table: dict = {"verification": {}, "identification": {}}
    for k in ks:
        distances = verification_distances(embeddings, writer, forged, k_refs=k, seed=seed, repeats=5,
                                           aggregation=aggregation, rule=rule, population=population)
        table["verification"][f"K={k}"] = report(distances, threshold_by_k.get(k))
    writers = len(np.unique(writer[~np.asarray(forged, bool)]))
    if population is not None:  # identification compares embeddings, not forgery-space coordinates
        embeddings = population.identity(embeddings)
    for n in ns:
        if n > writers:
            table["identification"][f"N={n}"] = {"accuracy": None,
                                                 "note": f"only {writers} writers; N={writers} reported instead"}
            if f"N={writers}" not in table["identification"] and writers >= 2:
                table["identification"][f"N={writers}"] = {
                    "accuracy": n_way_one_shot(embeddings, writer, forged, writers, seed=seed)}
            continue
        table["identification"][f"N={n}"] = {"accuracy": n_way_one_shot(embeddings, writer, forged, n, seed=seed)}
    return table


def format_table(table: dict) -> str:
    """A plain-text table for the CLI and the model card."""
    lines = ["| refs | EER skilled | EER random | AUC skilled | FAR skilled | FAR random | FRR | threshold |",
             "|---|---|---|---|---|---|---|---|"]

    def pct(value):
        return "—" if value is None else f"{100 * value:.2f}%"

    for key, row in table["verification"].items():
        thr = row.get("threshold")
        lines.append(f"| {key} | {pct(row.get('eer_skilled'))} | {pct(row.get('eer_random'))} | "
                     f"{row.get('auc_skilled', float('nan')):.4f} | {pct(row.get('far_skilled'))} | "
                     f"{pct(row.get('far_random'))} | {pct(row.get('frr'))} | "
                     f"{'—' if thr is None else f'{thr:.4f}'} |")
    lines.append("")
    lines.append("| N-way one-shot | accuracy |")
    lines.append("|---|---|")
    for key, row in table["identification"].items():
        lines.append(f"| {key} | {pct(row['accuracy']) if row['accuracy'] is not None else row['note']} |")
    return "\n".join(lines)
