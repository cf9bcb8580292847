"""Choose a model's refer band per number of specimens on its own validation writers and write it into
its manifest (``metrics.refer_bands_by_references``): for a model exported before the export chose
them (training/export.py does so now), without retraining or re-exporting the network.

    python -m sigverify.training.refer_bands models/default

The validation writers are the ones the manifest names (never test writers), read from ../shared/data;
the bands are chosen as export chooses them (verification/refer_band.py). The manifest changes, so
the model folder's digest changes: a shipped model's pin (inference/trust.py) must be updated with it.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from sigverify.errors import SigVerifyError
from sigverify.inference.engine import EmbeddingEngine
from sigverify.training.datasets import prepare, scan_dataset
from sigverify.training.known_datasets import shared_data_folder
from sigverify.verification.refer_band import refer_bands_by_references


def validation_embeddings(engine: EmbeddingEngine, data_root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's outputs for every image of the validation writers its manifest names."""
    names = engine.manifest.metrics.get("validation_writers", [])
    by_dataset: dict[str, list[str]] = defaultdict(list)
    for name in names:
        dataset, _, writer = str(name).rpartition("/")
        by_dataset[dataset].append(writer)
    if not by_dataset:
        raise SigVerifyError("the manifest names no validation writers: the bands cannot be chosen")
    outputs, writers, forged = [], [], []
    offset = 0
    for dataset, chosen in sorted(by_dataset.items()):
        folder = data_root / dataset
        if not folder.is_dir():
            raise SigVerifyError(f"validation dataset {dataset} is not in {data_root}")
        data = prepare(scan_dataset(folder), sorted(chosen), engine.manifest.preprocessing)
        outputs.append(engine.embed_many(data.canvases))
        writers.append(np.asarray(data.writer) + offset)  # writer numbers kept apart across datasets
        forged.append(np.asarray(data.forged, dtype=bool))
        offset += len(chosen)
    return np.concatenate(outputs), np.concatenate(writers), np.concatenate(forged)


def add_refer_bands(model_dir: Path, data_root: Path) -> dict[int, float]:
    engine = EmbeddingEngine(model_dir, provider="cpu")
    embeddings, writer, forged = validation_embeddings(engine, data_root)
    bands = refer_bands_by_references(embeddings, writer, forged, engine.manifest.policy)
    manifest = engine.manifest
    manifest.extra.setdefault("metrics", {})["refer_bands_by_references"] = {str(k): v for k, v in bands.items()}
    manifest.save(model_dir)
    return bands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="the model folder whose manifest gets the bands")
    parser.add_argument("--data", type=Path, default=shared_data_folder(), help="the datasets folder (../shared/data)")
    args = parser.parse_args(argv)
    try:
        bands = add_refer_bands(args.model, args.data)
    except SigVerifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for k, band in sorted(bands.items()):
        print(f"{k} specimen(s): refer band ±{100 * band:.1f}% of the threshold")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
