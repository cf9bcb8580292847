"""Snapshot weight averaging: a few short low-learning-rate cycles from a trained checkpoint, averaged.

Each cycle is one epoch with its own one-cycle schedule, continuing the start checkpoint's own
settings and datasets. Averaging the start's and the snapshots' weights lands nearer the middle of
the flat region the fine-tune ended in, which measured better on held-out writers than any single
snapshot (models/README.md). The averaged network gets its own BatchNorm statistics, and the
checkpoint records what was done so the exported manifest says so.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from sigverify.errors import SigVerifyError
from sigverify.training.trainer import as_input, checkpoint_config, load_checkpoint, load_data, train


def _bn_batches(canvases: np.ndarray, count: int = 4096, batch: int = 128):
    """Un-augmented training canvases, as inference sees them, for the BatchNorm statistics."""
    order = np.random.default_rng(0).permutation(len(canvases))[:count]
    for start in range(0, len(order), batch):
        yield as_input(canvases[order[start:start + batch]][:, None], "cpu")


def finished_run(last: Path, wanted) -> dict | None:
    """The checkpoint at ``last`` when it is a finished run of exactly these settings (every setting
    but where it was written, how many threads ran it and its time budget), else None: a rerun keeps it."""
    state = same_run(last, wanted)
    return state if state is not None and len(state.get("history", [])) == wanted.epochs else None


def same_run(last: Path, wanted) -> dict | None:
    """The checkpoint at ``last`` when it is a run (finished or cut short) of exactly these settings."""
    if not last.is_file():
        return None
    state = torch.load(last, map_location="cpu", weights_only=False)
    done = checkpoint_config(state)
    ignored = {"dataset", "datasets", "out_dir", "resume", "threads", "time_budget_s"}
    folders = [sorted(map(os.path.realpath, c.dataset_folders)) for c in (done, wanted)]
    settings = [f.name for f in fields(wanted) if f.name not in ignored]
    same = folders[0] == folders[1] and all(getattr(done, key) == getattr(wanted, key) for key in settings)
    return state if same else None


def averaging_record(start: Path, learning_rate: float, snapshots: list[dict]) -> dict:
    """What the manifest says of the averaging: where it started and each cycle's epoch record."""
    cycles = [snapshot["history"][-1] for snapshot in snapshots]
    return {"start": str(start), "cycles": len(cycles), "learning_rate": learning_rate,
            "cycle_history": cycles, "seconds": float(sum(c["seconds"] for c in cycles))}


def average_snapshots(start: Path, out_dir: Path, validation_writers: list[str], cycles: int = 3,
                      learning_rate: float = 1e-4, log: Callable[[str], None] = print,
                      progress: Callable[[dict], None] | None = None) -> Path:
    """Run ``cycles`` one-epoch cycles from ``start`` and save ``out_dir/average.pt``.

    ``validation_writers`` are pinned (the start model's), so selection never sees a writer the
    cycles trained on. ``progress`` gets each cycle's training events (as ``train`` emits them).
    """
    config, model, start_state = load_checkpoint(Path(start))
    # one whole epoch per cycle: no time budget or early stopping inherited from the start's run
    base = replace(config, validation_writers=sorted(validation_writers), epochs=1,
                   learning_rate=learning_rate, resume="", time_budget_s=0.0, patience=0)
    snapshots: list[dict] = []  # each cycle's last checkpoint, loaded once
    previous = Path(start)
    for cycle in range(cycles):
        started = time.perf_counter()
        wanted = replace(base, out_dir=str(Path(out_dir) / f"cycle{cycle}"), seed=100 + cycle,
                         init_weights=str(previous))
        previous = Path(wanted.out_dir) / "last.pt"
        state = finished_run(previous, wanted)  # an interrupted or extended run keeps the cycles it has
        if state is not None:
            log(f"cycle {cycle}: kept from {previous} (validation EER {100 * state['history'][-1]['val_eer']:.2f}%)")
        else:
            result = train(wanted, progress=progress)
            if result.status != "finished":
                raise SigVerifyError(f"averaging cycle {cycle} ended as {result.status}; nothing averaged")
            state = torch.load(previous, map_location="cpu", weights_only=False)
            log(f"cycle {cycle}: validation EER {100 * result.history[-1]['val_eer']:.2f}% "
                f"({time.perf_counter() - started:.0f} s)")
        snapshots.append(state)
    states = [start_state] + snapshots
    average = copy.deepcopy(start_state)
    for key, value in average["model"].items():
        if value.is_floating_point():
            average["model"][key] = sum(s["model"][key] for s in states) / len(states)
    model.load_state_dict(average["model"])
    train_set, _, _ = load_data(base, [])
    # averaged weights need their own BatchNorm statistics (a cumulative average over the batches)
    torch.optim.swa_utils.update_bn(_bn_batches(train_set.canvases), model)
    average["model"] = model.state_dict()
    average["averaging"] = averaging_record(Path(start), learning_rate, snapshots)
    target = Path(out_dir) / "average.pt"
    torch.save(average, target)
    return target
