"""Models: the registry of this computer, training, export and evaluation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sigverify.commands.common import (EXIT_DATASET, ProgressBar, UsageError, load_engine_for, open_store, requested,
                                       signed_in_actor)
from sigverify.errors import DatasetError, ModelError


def cmd_models(args) -> int:
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.inference.registry import default_registry
    from sigverify.inference.trust import is_shipped

    registry = default_registry()
    if args.action == "list":
        active = registry.active_dir().resolve()
        for entry in registry.entries():
            eer = f"validation EER {100 * entry.eer:.2f}%" if entry.eer is not None else ""
            print(f"{'*' if entry.folder.resolve() == active else ' '} {entry.version:<40} "
                  f"{'shipped' if entry.shipped else 'trained here':<13} {eer}")
        return 0
    if not args.target and args.action in ("register", "activate"):
        raise UsageError(f"models {args.action} needs " + ("the model folder" if args.action == "register" else
                                                           "a version (see 'sigverify models list')"))
    store = open_store(args)
    actor = signed_in_actor(args, store)
    from sigverify.store.auth import require_supervisor

    require_supervisor(store.actor(actor), f"{args.action} models")
    if args.action == "register":
        entry = registry.register(Path(args.target))
        engine = EmbeddingEngine(entry.folder, provider="cpu")
        change = store.approve_model(engine.version, engine.folder_digest, actor)
        if change is not None:
            return requested(change, f"model {entry.version} copied to {entry.folder}; approving it in the store")
        print(f"model {entry.version} registered in {entry.folder} and approved in the store")
        return 0
    version = args.target if args.action == "activate" else registry.previous_version()
    if version is None:
        raise UsageError("no previous model to roll back to")
    entry = next((e for e in registry.entries() if e.version == version), None)
    if entry is None:
        raise ModelError(f"no model {version!r} on this computer")
    engine = EmbeddingEngine(entry.folder, provider="cpu")
    if not (is_shipped(engine.folder_digest) or store.model_approved(engine.folder_digest)):
        raise ModelError(f"model {version} is not approved in this store (or its folder changed since); "
                         "register it again with 'sigverify models register FOLDER'")
    change = store.activate_model(engine.version, engine.manifest.sha256, actor)
    if change is not None:
        return requested(change, f"activating model {version} (the active model stays until then)")
    registry.activate(version)
    print(f"model {version} is active; reference embeddings are recomputed at the next verification")
    return 0

def cmd_train(args) -> int:
    from sigverify.training.trainer import TrainConfig, train
    from sigverify.training.export import export

    folders = [str(folder) for folder in args.dataset]
    if args.recipe:
        return _train_recipe(args, folders)
    config = TrainConfig.from_file(Path(args.config)) if args.config else TrainConfig()
    config.dataset, config.datasets = folders[0], (folders if len(folders) > 1 else [])
    out = Path(args.out)
    config.out_dir = str(out / "checkpoints")
    for name in ("epochs", "device", "seed", "resume"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.test_writers:
        config.test_writers = _writer_range(args.test_writers)
    bar = ProgressBar(enabled=not args.quiet)
    result = train(config, progress=bar)
    bar.close()
    print(f"training {result.status} in {result.seconds / 60:.1f} min; best validation EER "
          f"{100 * result.best_val_eer:.2f}%")
    if result.best_checkpoint is None:
        print("no complete epoch: nothing to export", file=sys.stderr)
        return EXIT_DATASET
    (out / "history.json").write_text(json.dumps(result.history, indent=1), encoding="utf-8")
    manifest = export(result.best_checkpoint, out / "model")
    _print_metrics(manifest.metrics)
    print(f"model written to {out / 'model'} (version {manifest.version})")
    return 0


def _train_recipe(args, folders: list[str]) -> int:
    """`sigverify train --recipe`: every stage, the averaging, one export; minutes of each on the way."""
    import time

    from sigverify.training.export import export
    from sigverify.training.recipe import Recipe, run_recipe

    clashing = [f"--{name.replace('_', '-')}" for name in ("config", "epochs", "resume", "test_writers")
                if getattr(args, name)]
    if clashing:
        raise UsageError(f"--recipe sets every stage itself; drop {', '.join(clashing)}")
    started = time.perf_counter()
    recipe = Recipe.from_file(Path(args.recipe))
    out = Path(args.out)
    overrides = {name: getattr(args, name) for name in ("device", "seed") if getattr(args, name) is not None}
    bar = ProgressBar(enabled=not args.quiet)
    checkpoint, timings = run_recipe(recipe, folders, out, progress=bar, overrides=overrides,
                                     log=lambda line: print(line, flush=True))
    bar.close()
    manifest = export(checkpoint, out / "model")
    timings["total_seconds"] = time.perf_counter() - started
    (out / "recipe-timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    _print_metrics(manifest.metrics)
    print(f"model written to {out / 'model'} (version {manifest.version}) in "
          f"{timings['total_seconds'] / 60:.1f} min, training {timings['training_seconds'] / 60:.1f} min")
    return 0


def cmd_export(args) -> int:
    from sigverify.training.export import export

    manifest = export(Path(args.checkpoint), Path(args.out))
    _print_metrics(manifest.metrics)
    print(f"model written to {args.out} (version {manifest.version})")
    return 0

def cmd_average(args) -> int:
    from sigverify.inference.manifest import load_manifest
    from sigverify.training.averaging import average_snapshots
    from sigverify.training.export import export

    validation = load_manifest(Path(args.validation_from)).metrics.get("validation_writers")
    if not validation:
        raise UsageError(f"{args.validation_from}: its manifest lists no validation writers to keep out")
    if args.cycles < 1:
        raise UsageError("--cycles must be at least 1")
    out = Path(args.out)
    bar = ProgressBar()  # each cycle's steps in a terminal, as `sigverify train` shows them
    saved = average_snapshots(Path(args.checkpoint), out, validation, args.cycles, args.learning_rate,
                              log=lambda line: print(line, flush=True), progress=bar)
    bar.close()
    manifest = export(saved, out / "model")
    _print_metrics(manifest.metrics)
    print(f"model written to {out / 'model'} (version {manifest.version})")
    return 0

def cmd_evaluate(args) -> int:
    from sigverify.training.datasets import prepare, scan_dataset
    from sigverify.training.evaluate import accuracy_table, format_table

    engine = load_engine_for(args.model, args.provider)
    scan = scan_dataset(Path(args.dataset))
    writers = _writer_range(args.writers) if args.writers else scan.usable_writers()
    writers = [w for w in writers if w in scan.writers]
    problems: list[str] = []
    data = prepare(scan, writers, engine.manifest.preprocessing, problems)
    if len(data) == 0:
        raise DatasetError(f"{args.dataset}: no usable images for the chosen writers")
    embeddings = engine.embed_many(data.canvases)
    thresholds = {int(k): v for k, v in engine.manifest.metrics.get("thresholds_by_references", {}).items()}
    thresholds.setdefault(engine.manifest.extra.get("references_for_threshold", 5), engine.manifest.threshold)
    policy = engine.manifest.policy
    table = accuracy_table(embeddings, data.writer, data.forged, thresholds, rule=policy.rule,
                           population=policy.population)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(f"model {engine.version}, {len(writers)} writers, {len(data)} images ({engine.provider})")
        print(format_table(table))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0

def _print_metrics(metrics: dict) -> None:
    from sigverify.training.evaluate import format_table

    val = metrics.get("validation", {})
    if "eer_skilled" in val:
        print(f"validation EER (skilled) {100 * val['eer_skilled']:.2f}% at threshold {val['threshold']:.4f}")
    if "test" in metrics:
        print("test writers:")
        print(format_table(metrics["test"]))

def _writer_range(text: str) -> list[str]:
    """'051-069' or '051,052' → writer folder names."""
    writers: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-")
            width = len(lo)
            writers += [f"{i:0{width}d}" for i in range(int(lo), int(hi) + 1)]
        elif part:
            writers.append(part)
    return writers
