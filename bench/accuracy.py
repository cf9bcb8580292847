"""Accuracy of the shipped model, of the seed architecture trained the same way, and on Omniglot.

    python bench/accuracy.py                # everything (about 30 min on a 2-core CPU)
    python bench/accuracy.py --only shipped # just the shipped model's table (a minute)

Protocol (sigverify/verification/protocol.py): SigComp2011 test writers 051–069, K reference
genuine signatures per writer (K = 1, 5); skilled forgeries and random forgeries (one genuine
signature of every other test writer) reported apart; thresholds chosen on the validation
writers only (from the model's manifest); N-way one-shot identification among test writers.
The seed architecture (conv 1→32 5×5 · ReLU · maxpool · conv 32→64 5×5 · ReLU · maxpool ·
FC 256 · FC 256 · FC 128, input 224×224, contrastive margin 2.0) is trained with the shipped
model's data, split, settings and wall-clock budget. Omniglot: trained on the two small
background sets, scored on the 20 standard 20-way one-shot runs of all_runs.zip.
Results go to bench/results/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sigverify.imaging.decode import load_image  # noqa: E402
from sigverify.imaging.preprocess import PreprocessParams, preprocess  # noqa: E402
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.paths import shipped_model_dir  # noqa: E402
from sigverify.training.datasets import prepare, scan_dataset  # noqa: E402
from sigverify.training.evaluate import accuracy_table, format_table  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SIGCOMP = DATA / "sigcomp2011"
OMNIGLOT = DATA / "omniglot"


def evaluate_model(model_dir: Path) -> tuple[dict, EmbeddingEngine]:
    engine = EmbeddingEngine(model_dir, provider="cpu")
    test_writers = engine.manifest.metrics.get("test_writers") or [f"{i:03d}" for i in range(51, 70)]
    scan = scan_dataset(SIGCOMP)
    data = prepare(scan, [w for w in test_writers if w in scan.writers], engine.manifest.preprocessing)
    embeddings = np.concatenate([engine.embed_canvases(data.canvases[i : i + 64]) for i in range(0, len(data), 64)])
    thresholds = {int(k): v for k, v in engine.manifest.metrics.get("thresholds_by_references", {}).items()}
    return accuracy_table(embeddings, data.writer, data.forged, thresholds), engine


def train_seed(engine: EmbeddingEngine, out: Path) -> tuple[Path, float, float]:
    """The seed architecture with the shipped model's data, split, settings and time budget."""
    from sigverify.training.export import export
    from sigverify.training.trainer import TrainConfig, train

    config_data = dict(engine.manifest.extra["training"]["config"])
    budget = engine.manifest.extra["training"]["train_seconds"]
    config_data.update(architecture="seed", margin=2.0, out_dir=str(out / "checkpoints"), time_budget_s=budget,
                       dataset=str(SIGCOMP),
                       preprocessing=PreprocessParams(canvas_height=224, canvas_width=224).to_dict())
    config_data.pop("resume", None)
    config = TrainConfig.from_dict(config_data)
    started = time.perf_counter()
    result = train(config, progress=_epoch_printer("seed"))
    export(result.best_checkpoint, out / "model", name="seed")
    return out / "model", time.perf_counter() - started, budget


def _epoch_printer(name: str):
    def show(event):
        if event["kind"] == "epoch":
            print(f"  [{name}] epoch {event['epoch'] + 1}: loss {event['loss']:.4f} "
                  f"val EER {100 * event['val_eer']:.2f}%", flush=True)
    return show


def _omniglot_folder(tmp: Path) -> Path:
    """The two small background sets as one CLASS/genuine/*.png dataset (one class per character)."""
    root = tmp / "omniglot_train"
    for name in ("images_background_small1.zip", "images_background_small2.zip"):
        with zipfile.ZipFile(OMNIGLOT / name) as archive:
            archive.extractall(tmp / "raw")
    for character in sorted((tmp / "raw").glob("*/*/*")):
        if not character.is_dir():
            continue
        # Greek and Latin are in both small sets, with the same files: one class per character
        target = root / f"{character.parent.name}__{character.name}" / "genuine"
        if target.exists():
            continue
        target.mkdir(parents=True)
        for image in character.glob("*.png"):
            (target / image.name).symlink_to(image)
    return root


def omniglot(tmp: Path, minutes: float) -> dict:
    """Train on the background sets, then the 20 standard 20-way one-shot runs."""
    from sigverify.training.trainer import TrainConfig, embed, train

    params = PreprocessParams(canvas_height=96, canvas_width=96, min_ink_pixels=20, line_fraction=0.95)
    config = TrainConfig(dataset=str(_omniglot_folder(tmp)), out_dir=str(tmp / "omniglot_run"), mining="hard",
                         epochs=40, steps_per_epoch=40, writers_per_batch=16, genuine_per_writer=4,
                         forged_per_writer=0, validation_share=0.1, eval_references=1,
                         preprocessing=params.to_dict(), time_budget_s=minutes * 60)
    result = train(config, progress=_epoch_printer("omniglot"))
    from sigverify.training.trainer import load_checkpoint

    _, model, _ = load_checkpoint(result.best_checkpoint)
    with zipfile.ZipFile(OMNIGLOT / "all_runs.zip") as archive:
        archive.extractall(tmp / "runs")
    correct = total = 0
    for labels in sorted((tmp / "runs").rglob("class_labels.txt")):
        run = labels.parent
        pairs = [line.split() for line in labels.read_text().splitlines() if line.strip()]
        train_files = sorted({p[1] for p in pairs})
        canvases = [preprocess(load_image(run.parent / f if not (run / f).exists() else run / f).pixels, params)
                    for f in train_files]
        train_emb = embed(model, np.stack(canvases), "cpu")
        for test_file, train_file in pairs:
            path = run / test_file if (run / test_file).exists() else run.parent / test_file
            query = embed(model, preprocess(load_image(path).pixels, params)[None], "cpu")[0]
            guess = train_files[int(np.linalg.norm(train_emb - query, axis=1).argmin())]
            correct += guess == train_file
            total += 1
    return {"accuracy": correct / total, "trials": total, "classes": len(list((tmp / "omniglot_train").iterdir())),
            "train_minutes": result.seconds / 60}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(shipped_model_dir()))
    parser.add_argument("--only", choices=("shipped", "seed", "omniglot"), action="append")
    parser.add_argument("--omniglot-minutes", type=float, default=8.0)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "accuracy.md"))
    args = parser.parse_args(argv)
    parts = set(args.only or ("shipped", "seed", "omniglot"))
    if not SIGCOMP.is_dir():
        print(f"accuracy: {SIGCOMP} not found", file=sys.stderr)
        return 2
    lines = [f"# SigVerify accuracy — {time.strftime('%Y-%m-%d')}", "",
             "Protocol: see the docstring of `bench/accuracy.py`. Command: `python bench/accuracy.py`", ""]
    table, engine = evaluate_model(Path(args.model))
    params = engine.manifest.extra.get("training", {})
    lines += [f"## Shipped model `{engine.version}`", "",
              f"Trained {params.get('train_seconds', 0) / 60:.1f} min on this machine's CPU; "
              f"best epoch {params.get('best_epoch', '?') + 1 if isinstance(params.get('best_epoch'), int) else '?'} "
              f"of {params.get('epochs_run', '?')}.", "", format_table(table), ""]
    results = {"shipped": table}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after each part, so a later failure loses nothing measured
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")

    save()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "seed" in parts:
            seed_dir, seconds, budget = train_seed(engine, tmp / "seed")
            seed_table, seed_engine = evaluate_model(seed_dir)
            results["seed"] = seed_table
            lines += ["## Seed architecture, same data, split, settings and time budget", "",
                      f"Budget {budget / 60:.1f} min of training epochs (the shipped model's); run took "
                      f"{seconds / 60:.1f} min with evaluation and export.", "", format_table(seed_table), ""]
            save()
        if "omniglot" in parts and OMNIGLOT.is_dir():
            result = omniglot(tmp, args.omniglot_minutes)
            results["omniglot"] = result
            lines += ["## Omniglot 20-way one-shot (20 standard runs, 400 trials)", "",
                      f"Trained {result['train_minutes']:.1f} min on the two small background sets (Greek and Latin "
                      "appear in both; counted once) "
                      f"({result['classes']} characters). Accuracy **{100 * result['accuracy']:.1f}%** "
                      f"({result['trials']} trials). Published: Siamese CNN 92% (trained on the full background "
                      "set), humans 95.5%.", ""]
    save()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
