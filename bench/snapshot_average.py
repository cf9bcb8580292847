"""Snapshot weight averaging, an experiment measured beside the shipped model (models/README.md).

From a fine-tuned checkpoint, run N short low-learning-rate cycles (each one epoch with its own
one-cycle schedule: warm up, anneal), average the start's and the snapshots' weights, recompute
the BatchNorm statistics of the averaged network on un-augmented training canvases, and save a
checkpoint that `sigverify export` turns into a model folder. The validation writers are pinned
to the start model's, so selection never sees a writer the cycles trained on.

    python bench/snapshot_average.py runs/finetune/checkpoints/best.pt --validation-from models/default \
        --cycles 3 --out runs/swa
    .venv/bin/sigverify export runs/swa/average.pt --out runs/swa/model
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sigverify.training.trainer import as_input, load_checkpoint, load_data, train  # noqa: E402


def training_batches(canvases: np.ndarray, count: int = 4096, batch: int = 128):
    """Un-augmented training canvases, as inference sees them, for the BatchNorm statistics."""
    order = np.random.default_rng(0).permutation(len(canvases))[:count]
    for start in range(0, len(order), batch):
        yield as_input(canvases[order[start:start + batch]][:, None], "cpu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("start", type=Path, help="the fine-tuned checkpoint to start from")
    parser.add_argument("--validation-from", type=Path, required=True,
                        help="model folder whose manifest lists the validation writers to keep out")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--out", type=Path, default=Path("runs/swa"))
    args = parser.parse_args()
    validation = json.loads((args.validation_from / "manifest.json").read_text())["metrics"]["validation_writers"]
    # the cycles continue the start's own fine-tune: its settings and datasets, one epoch each
    config, model, start_state = load_checkpoint(args.start)
    base = replace(config, validation_writers=sorted(validation), epochs=1, learning_rate=args.learning_rate,
                   resume="")
    snapshots, previous = [], args.start
    for cycle in range(args.cycles):
        started = time.perf_counter()
        result = train(replace(base, out_dir=str(args.out / f"cycle{cycle}"), seed=100 + cycle,
                               init_weights=str(previous)))
        previous = result.out_dir / "last.pt"
        snapshots.append(previous)
        print(f"cycle {cycle}: validation EER {100 * result.history[-1]['val_eer']:.2f}% "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    states = [start_state] + [torch.load(p, map_location="cpu", weights_only=False) for p in snapshots]
    average = copy.deepcopy(start_state)
    for key, value in average["model"].items():
        if value.is_floating_point():
            average["model"][key] = sum(s["model"][key] for s in states) / len(states)
    model.load_state_dict(average["model"])
    train_set, _, _ = load_data(base, [])
    # averaged weights need their own BatchNorm statistics (a cumulative average over the batches)
    torch.optim.swa_utils.update_bn(training_batches(train_set.canvases), model)
    average["model"] = model.state_dict()
    torch.save(average, args.out / "average.pt")
    print(f"saved {args.out / 'average.pt'}; export: sigverify export {args.out / 'average.pt'} --out DIR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
