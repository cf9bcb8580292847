"""Two models paired on the product's protocol: is a candidate better than the baseline, and where?

    python bench/compare_models.py models/default runs/recipe/model
    python bench/compare_models.py A B --seeds 6 --draws 3 --references 5 --json bench/results/compare.json
    python bench/compare_models.py A B --first-seed 100 --seeds 20   # other draws, more of them
    python bench/compare_models.py A B --references 1 5      # one table per K, the images embedded once

For the validation writers (the candidate's manifest names them; they must be the baseline's too,
else that row is left out) and each dataset's test writers (bench/accuracy.py's sets): each model
embeds the images once; then for every seed, K references per writer are drawn ``draws`` times
(verification/protocol.py, each model with its own decision rule, population and input size: a
candidate with a larger canvas gets its own canvases of the same images) and the
skilled-forgery EER is taken. Both models see the same draws, so the per-seed difference is
paired; the table gives each model's mean EER and the difference's mean ± standard error.
Selection reads the validation row only; the test rows say whether it carried over.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from accuracy import DATA, test_set  # noqa: E402  (bench/ is on the path)
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.training.datasets import prepare, scan_datasets  # noqa: E402
from sigverify.training.known_datasets import KNOWN_DATASETS  # noqa: E402
from sigverify.verification.metrics import eer  # noqa: E402
from sigverify.verification.protocol import verification_distances  # noqa: E402


def prepared_sets(validation: list[str], params, cache: Path | None):
    """(set name, PreparedSet), one at a time: the validation writers (named "DATASET/WRITER", as a
    model trained on several folders names them) and each dataset's test writers."""
    if validation and all("/" in name for name in validation):
        folders = sorted({DATA / name.rpartition("/")[0] for name in validation})
        yield "validation", prepare(scan_datasets(folders), validation, params, cache_dir=cache)
    elif validation:
        print("validation writers are not named by dataset: that row is left out", flush=True)
    for name in KNOWN_DATASETS:
        data = test_set(name, params, cache_dir=cache)
        if data is not None:
            yield name, data


def seed_eers(engine: EmbeddingEngine, embeddings: np.ndarray, writer, forged, k: int, seeds: range,
              draws: int) -> np.ndarray:
    policy = engine.manifest.policy
    out = []
    for seed in seeds:
        d = verification_distances(embeddings, writer, forged, k_refs=k, seed=seed, repeats=draws,
                                   rule=policy.rule, population=policy.population)
        out.append(eer(d.genuine, d.skilled if d.skilled.size else d.random)[0])
    return np.array(out)


def compare(baseline: Path, candidate: Path, seeds: int, draws: int, ks: list[int], cache: Path | None = None,
            first_seed: int = 0) -> list[dict]:
    """One comparison per number of references in ``ks``; each model embeds the images once for all."""
    engines = [EmbeddingEngine(folder, provider="cpu") for folder in (baseline, candidate)]
    params = [e.manifest.preprocessing for e in engines]
    validation = [sorted(e.manifest.metrics.get("validation_writers", [])) for e in engines]
    shared = validation[1] if validation[0] == validation[1] else []
    # each model sees its own canvases (a candidate may take a larger input); the images and their
    # order are the same, so the draws still pair
    own = prepared_sets(shared, params[0], cache) if params[0] != params[1] else None
    rows: dict[int, dict] = {count: {} for count in ks}
    for name, data in prepared_sets(shared, params[1], cache):
        writer, forged = data.writer, data.forged
        baseline_data = data
        if own is not None:
            baseline_name, baseline_data = next(own)
            if baseline_name != name or not (np.array_equal(baseline_data.writer, writer)
                                             and np.array_equal(baseline_data.forged, forged)):
                raise SystemExit(f"{name}: the two models' preprocessing kept different images; not paired")
        embedded = [e.embed_many(d.canvases) for e, d in zip(engines, (baseline_data, data))]
        for count in ks:
            a, b = (seed_eers(e, x, writer, forged, count, range(first_seed, first_seed + seeds), draws)
                    for e, x in zip(engines, embedded))
            diff = b - a
            row = {"baseline": float(a.mean()), "candidate": float(b.mean()), "difference": float(diff.mean()),
                   "standard_error": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else None,
                   "images": int(len(writer))}
            rows[count][name] = row
            print(f"K={count:<3} {name:<16} {100 * a.mean():6.2f}% -> {100 * b.mean():6.2f}%   "
                  f"{100 * diff.mean():+.2f} ± {100 * (row['standard_error'] or 0):.2f}", flush=True)
    results = [{"baseline": engines[0].version, "candidate": engines[1].version, "references": count,
                "seeds": seeds, "first_seed": first_seed, "draws": draws, "sets": rows[count]} for count in ks]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline")
    parser.add_argument("candidate")
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="draw seeds first-seed .. first-seed + seeds - 1 (another set of draws)")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--references", type=int, nargs="+", default=[5],
                        help="numbers of references per writer (several: one table each, one embedding)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--cache", default=str(REPO / "runs" / "cache"),
                        help="preprocessed canvases kept between runs (training's cache; '' for none)")
    args = parser.parse_args(argv)
    print(f"skilled EER, K = {', '.join(map(str, args.references))}, {args.seeds} seeds from {args.first_seed} x {args.draws} draws: "
          "baseline -> candidate, "
          f"difference ± standard error")
    results = compare(Path(args.baseline), Path(args.candidate), args.seeds, args.draws, args.references,
                      Path(args.cache) if args.cache else None, args.first_seed)
    result = results[0] if len(results) == 1 else results  # one K: the file as it always was
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
