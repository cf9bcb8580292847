"""A training recipe: several stages, each from the previous one's checkpoint, then averaging.

The shipped model is made in three steps (a long run on the union, a fine-tune from it, snapshot
averaging from that). A recipe file names them so one command reproduces the model, in one
process, exporting once at the end instead of after every step. A stage that already finished
with the same settings is kept, and one that was cut short goes on from its last whole epoch, so
an interrupted recipe continues where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sigverify.errors import SigVerifyError
from sigverify.training.averaging import average_snapshots, same_run
from sigverify.training.trainer import Progress, TrainConfig, split_dataset, train


class RecipeError(SigVerifyError, ValueError):
    """The recipe file cannot be followed."""


@dataclass(frozen=True)
class Recipe:
    stages: list[TrainConfig]
    average_cycles: int = 0  # 0: no averaging, the last stage's best checkpoint is exported
    average_learning_rate: float = 1e-4
    #: which checkpoint of a stage the next one starts from: "best" (lowest validation EER during
    #: the stage) or "last" (the end of its learning-rate schedule)
    hand_over: str = "best"

    @classmethod
    def from_file(cls, path: Path) -> "Recipe":
        """Stage configs are paths relative to the recipe file (or inline objects)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecipeError(f"{path}: cannot read the recipe ({exc})") from exc
        unknown = set(data) - {"stages", "average", "hand_over"}
        if unknown or not data.get("stages"):
            raise RecipeError(f"{path}: a recipe holds 'stages' (a list of training configs) and optionally "
                              f"'average' ({', '.join(sorted(unknown)) or 'no stages'} found)")
        stages = []
        for entry in data["stages"]:
            try:
                stages.append(TrainConfig.from_file(path.parent / entry) if isinstance(entry, str)
                              else TrainConfig.from_dict(entry))
            except (OSError, ValueError, TypeError) as exc:
                raise RecipeError(f"{path}: stage {len(stages) + 1}: {exc}") from exc
        average = data.get("average") or {}
        cycles, rate = int(average.get("cycles", 0)), float(average.get("learning_rate", 1e-4))
        if cycles < 0 or rate <= 0:
            raise RecipeError(f"{path}: averaging needs cycles >= 0 and a positive learning rate")
        hand_over = data.get("hand_over", "best")
        if hand_over not in ("best", "last"):
            raise RecipeError(f"{path}: 'hand_over' is 'best' or 'last', not {hand_over!r}")
        return cls(stages, cycles, rate, hand_over)


def run_recipe(recipe: Recipe, datasets: list[str], out: Path, progress: Progress | None = None,
               log: Callable[[str], None] = print, overrides: dict | None = None) -> tuple[Path, dict]:
    """Run every stage into ``out/stageN``, then the averaging into ``out/average``.

    Returns the checkpoint to export and a timing record. Each stage after the first starts from
    the previous stage's best (or last, see ``hand_over``) checkpoint, whatever its own
    ``init_weights`` says, and so does the averaging; ``overrides`` (e.g. device, seed) apply
    to every stage.
    """
    out = Path(out)
    timings: dict = {"stages": []}
    started = time.perf_counter()
    previous: Path | None = None
    config: TrainConfig | None = None
    for number, stage in enumerate(recipe.stages, start=1):
        config = replace(stage, dataset=datasets[0], datasets=list(datasets) if len(datasets) > 1 else [],
                         out_dir=str(out / f"stage{number}" / "checkpoints"), resume="",
                         init_weights=str(previous) if previous else stage.init_weights, **(overrides or {}))
        stage_started = time.perf_counter()
        last = Path(config.out_dir) / "last.pt"
        done = same_run(last, config)  # the stage's checkpoint is read once
        epochs_done = len(done.get("history", [])) if done is not None else 0
        if epochs_done == config.epochs and (last.parent / "best.pt").is_file():
            log(f"stage {number}: kept from {last.parent}")
        else:
            if 0 < epochs_done < config.epochs:  # a cancelled or cut-off stage goes on from its last whole epoch
                config = replace(config, resume=str(last))
                log(f"stage {number}: continuing after epoch {epochs_done} of {config.epochs}")
            else:
                log(f"stage {number}: {config.epochs} epochs" + (f" from {previous}" if previous else ""))
            result = train(config, progress=progress)
            if result.status != "finished" or result.best_checkpoint is None:
                raise SigVerifyError(f"stage {number} ended as {result.status}; the recipe stops here "
                                     "(run it again: the stages already finished are kept)")
            log(f"stage {number}: best validation EER {100 * result.best_val_eer:.2f}% "
                f"({(time.perf_counter() - stage_started) / 60:.1f} min)")
        previous = last.parent / f"{recipe.hand_over}.pt"
        timings["stages"].append({"stage": number, "seconds": time.perf_counter() - stage_started})
    if recipe.average_cycles:
        averaging_started = time.perf_counter()
        validation = split_dataset(config, []).validation  # the writers every stage kept out, pinned for the cycles
        previous = average_snapshots(previous, out / "average", validation, recipe.average_cycles,
                                     recipe.average_learning_rate, log=log, progress=progress)
        timings["averaging_seconds"] = time.perf_counter() - averaging_started
    timings["training_seconds"] = time.perf_counter() - started
    return previous, timings
