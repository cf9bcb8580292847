"""Test-time augmentation of the references (issue 32: "use what one specimen cannot say"): is a
specimen enrolled as several slightly warped copies of itself better than the specimen alone?

    python bench/reference_augmentation.py                      # the shipped model, validation writers
    python bench/reference_augmentation.py --sets validation sigcomp2011 --references 1 5

Each reference canvas is also embedded turned (±2°, ±4°), scaled (0.95/1.05, 0.92/1.08) or with its
strokes a pixel thicker and thinner; the copies are enrolled either averaged into one embedding
("mean") or each as a reference of its own ("as references"). The questioned signatures are
embedded as they are, so verification costs the same. Paired against plain enrolment on the same
draws (verification/protocol.py, 6 seeds × 3 draws, skilled EER, Δ ± standard error in points).
Selection reads the validation row only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compare_models import prepared_sets  # noqa: E402  (bench/ is on the path)
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.paths import shipped_model_dir  # noqa: E402
from sigverify.verification.metrics import eer  # noqa: E402
from sigverify.verification.protocol import verification_distances  # noqa: E402

#: per variant, the (degrees turned, scale) of each copy; the plain canvas is always one of the copies too
TURNS = {
    "turned ±2°": [(2, 1.0), (-2, 1.0)],
    "scaled 0.95/1.05": [(0, 0.95), (0, 1.05)],
    "turned ±2°, scaled 0.95/1.05": [(2, 1.0), (-2, 1.0), (0, 0.95), (0, 1.05)],
    "turned ±4°, scaled 0.92/1.08": [(4, 1.0), (-4, 1.0), (0, 0.92), (0, 1.08)],
}


def warped(canvas: np.ndarray, angle: float, scale: float) -> np.ndarray:
    h, w = canvas.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    return cv2.warpAffine(canvas, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)


def copies() -> dict[str, list]:
    """Per variant, the functions making its copies (besides the plain canvas)."""
    kernel = np.ones((2, 2), np.uint8)
    out = {name: [lambda c, a=a, s=s: warped(c, a, s) for a, s in turns] for name, turns in TURNS.items()}
    out["strokes ±1 px"] = [lambda c: cv2.dilate(c, kernel), lambda c: cv2.erode(c, kernel)]
    return out


def skilled_eers(engine, embeddings, references, writer, forged, k: int, seeds: int, draws: int) -> np.ndarray:
    policy = engine.manifest.policy
    out = []
    for seed in range(seeds):
        d = verification_distances(embeddings, writer, forged, k_refs=k, seed=seed, repeats=draws, rule=policy.rule,
                                   population=policy.population, references=references)
        out.append(eer(d.genuine, d.skilled)[0])
    return np.array(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a model folder (default: the shipped model)")
    parser.add_argument("--sets", nargs="+", default=["validation"], help="validation and/or dataset names (test writers)")
    parser.add_argument("--references", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--cache", default=str(REPO / "runs" / "cache"), help="preprocessed canvases ('' for none)")
    args = parser.parse_args(argv)
    engine = EmbeddingEngine(Path(args.model) if args.model else shipped_model_dir(), provider="cpu")
    validation = sorted(engine.manifest.metrics.get("validation_writers", []))
    print(f"{engine.version}: skilled EER, plain enrolment -> augmented references, Δ ± standard error "
          f"({args.seeds} seeds × {args.draws} draws)")
    for name, data in prepared_sets(validation, engine.manifest.preprocessing, Path(args.cache) if args.cache else None):
        if name not in args.sets:
            continue
        plain = engine.embed_many(data.canvases)
        variants = {}
        for label, makers in copies().items():
            stacked = np.stack([plain] + [engine.embed_many(np.stack([make(c) for c in data.canvases])) for make in makers])
            variants[f"{label}, mean"] = stacked.mean(axis=0)
            variants[f"{label}, as references"] = stacked
        for k in args.references:
            base = skilled_eers(engine, plain, None, data.writer, data.forged, k, args.seeds, args.draws)
            for label, references in variants.items():
                other = skilled_eers(engine, plain, references, data.writer, data.forged, k, args.seeds, args.draws)
                diff = other - base
                print(f"{name:<15} K={k}  {label:<42} {100 * base.mean():6.2f}% -> {100 * other.mean():6.2f}%  "
                      f"{100 * diff.mean():+.2f} ± {100 * diff.std(ddof=1) / np.sqrt(len(diff)):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
