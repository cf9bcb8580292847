"""Omniglot 20-way one-shot: the twin network on handwritten characters (the seed article's task).

    python bench/omniglot.py [--minutes 8]

Trained on the two small background sets of ../shared/data/omniglot, scored on the 20 standard
20-way one-shot runs of all_runs.zip. Writes bench/results/omniglot.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sigverify.imaging.decode import load_image  # noqa: E402
from sigverify.imaging.preprocess import PreprocessParams, preprocess  # noqa: E402

OMNIGLOT = REPO.parent / "shared" / "data" / "omniglot"


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
    parser.add_argument("--minutes", type=float, default=8.0)
    args = parser.parse_args(argv)
    if not OMNIGLOT.is_dir():
        print(f"omniglot: {OMNIGLOT} not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        result = omniglot(Path(tmp), args.minutes)
    out = REPO / "bench" / "results" / "omniglot.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"Omniglot 20-way one-shot: {100 * result['accuracy']:.1f}% ({result['trials']} trials)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
