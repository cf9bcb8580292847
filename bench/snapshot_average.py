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

from sigverify.training.known_datasets import shared_data_folder  # noqa: E402
from sigverify.training.trainer import TrainConfig, as_input, load_checkpoint, load_data, train  # noqa: E402

TRAINED_ON = ("sigcomp2011", "bhsig260_hindi", "gpds_synthetic")


def recompute_batchnorm(model: torch.nn.Module, canvases: np.ndarray, count: int = 4096, batch: int = 128) -> None:
    """Averaged weights need their own BatchNorm statistics: a cumulative average over canvases."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    order = np.random.default_rng(0).permutation(len(canvases))[:count]
    with torch.no_grad():
        for start in range(0, len(order), batch):
            model(as_input(canvases[order[start:start + batch]][:, None], "cpu"))
    for m in norms:
        m.momentum = 0.1
    model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("start", type=Path, help="the fine-tuned checkpoint to start from")
    parser.add_argument("--validation-from", type=Path, required=True,
                        help="model folder whose manifest lists the validation writers to keep out")
    parser.add_argument("--config", type=Path, default=Path("models/finetune-default.json"))
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--out", type=Path, default=Path("runs/swa"))
    args = parser.parse_args()
    validation = json.loads((args.validation_from / "manifest.json").read_text())["metrics"]["validation_writers"]
    data = [str(shared_data_folder() / name) for name in TRAINED_ON]
    base = replace(TrainConfig.from_file(args.config), datasets=data, validation_writers=sorted(validation),
                   epochs=1, learning_rate=args.learning_rate)
    snapshots, previous = [args.start], args.start
    for cycle in range(args.cycles):
        started = time.perf_counter()
        result = train(replace(base, out_dir=str(args.out / f"cycle{cycle}"), seed=100 + cycle,
                               init_weights=str(previous)))
        previous = result.out_dir / "last.pt"
        snapshots.append(previous)
        print(f"cycle {cycle}: validation EER {100 * result.history[-1]['val_eer']:.2f}% "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    states = [torch.load(p, map_location="cpu", weights_only=False) for p in snapshots]
    average = copy.deepcopy(states[0])
    for key, value in average["model"].items():
        if value.is_floating_point():
            average["model"][key] = sum(s["model"][key] for s in states) / len(states)
    config, model, _ = load_checkpoint(args.start)
    model.load_state_dict(average["model"])
    train_set, _, _ = load_data(replace(config, datasets=data, validation_writers=sorted(validation)), [])
    recompute_batchnorm(model, train_set.canvases)
    average["model"] = model.state_dict()
    torch.save(average, args.out / "average.pt")
    print(f"saved {args.out / 'average.pt'}; export: sigverify export {args.out / 'average.pt'} --out DIR")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
