"""Verdicts on every dataset's test writers with one refer band for every number of specimens (the
manifest's ``refer_band``) beside the band chosen per number (``refer_bands_by_references``):

    python bench/refer_band_verdicts.py      # a few minutes; results in bench/results/refer-bands-by-k.md

Protocol as bench/accuracy.py (K references drawn per writer, 20 draws pooled, the threshold chosen for
K on validation writers); each questioned genuine signature and skilled forgery is decided GENUINE /
REFER / FORGED as ``decide()`` does. Prints one line per dataset and K.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accuracy import test_embeddings  # noqa: E402  (bench/ is on the path)
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.paths import shipped_model_dir  # noqa: E402
from sigverify.training.known_datasets import KNOWN_DATASETS  # noqa: E402
from sigverify.verification.benchmark import verdict_counts  # noqa: E402
from sigverify.verification.protocol import verification_distances  # noqa: E402


def shares(counts: dict, total: int) -> str:
    return "/".join(f"{100 * counts[v] / total:.1f}" for v in ("genuine", "refer", "forged")) + "%"


def main() -> int:
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    policy = engine.manifest.policy
    for name in KNOWN_DATASETS:
        found = test_embeddings(engine, name, None)
        if found is None:
            print(f"{name}: not in ../shared/data, skipped")
            continue
        embeddings, data = found
        for k in (1, 3, 5):
            d = verification_distances(embeddings, data.writer, data.forged, k_refs=k, repeats=20, rule=policy.rule,
                                       population=policy.population)
            threshold = policy.threshold_for(k)
            row = [f"band {band:.3f}: genuine G/R/F {shares(verdict_counts(d.genuine, threshold, band), d.genuine.size)}  "
                   f"skilled G/R/F {shares(verdict_counts(d.skilled, threshold, band), d.skilled.size)}"
                   for band in (policy.refer_band, policy.refer_band_for(k))]
            print(f"{name} K={k} t={threshold:.4f} | " + " || ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
