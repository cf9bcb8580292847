"""The training process the wizard starts: a crash or out-of-memory here cannot take the window down.

Protocol: one JSON object per line on stdout (``{"kind": ...}``); the line ``cancel`` on stdin
asks it to stop at the next step (the last complete epoch's checkpoint is kept).

    train-worker train CONFIG.json       progress events, then "evaluation", then "done"
    train-worker export CHECKPOINT OUT [--threshold T] [--description TEXT]
    train-worker probe                   torch version and whether CUDA is usable
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import traceback
from pathlib import Path


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event, default=float) + "\n")
    sys.stdout.flush()


def _listen_for_cancel(flag: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip() == "cancel":
            flag.set()
            return


def run_train(config_path: Path, compare: Path | None = None) -> int:
    from sigverify.training.evaluate import evaluate_checkpoint, model_on_same_writers
    from sigverify.training.trainer import TrainConfig, train

    config = TrainConfig.from_file(config_path)
    cancel = threading.Event()
    threading.Thread(target=_listen_for_cancel, args=(cancel,), daemon=True).start()
    result = train(config, progress=emit, should_stop=cancel.is_set)
    if result.status != "cancelled" and result.best_checkpoint is not None:
        evaluation = evaluate_checkpoint(result.best_checkpoint)
        if compare is not None:
            try:
                evaluation["in_use"] = model_on_same_writers(compare, result.best_checkpoint)
            except Exception as exc:  # noqa: BLE001 - the comparison is advice; the new model still stands
                evaluation["in_use"] = {"error": f"{type(exc).__name__}: {exc}"}
        emit({"kind": "evaluation", "checkpoint": str(result.best_checkpoint), **evaluation})
    emit({"kind": "finished", "status": result.status,
          "checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None,
          "last": str(Path(config.out_dir) / "last.pt")})
    return 0


def run_export(checkpoint: Path, out: Path, threshold: float | None, description: str) -> int:
    from sigverify.training.export import export

    manifest = export(checkpoint, out, threshold=threshold, data_description=description, evaluate_test=False)
    emit({"kind": "exported", "folder": str(out), "version": manifest.version,
          "parity": manifest.extra["parity_max_abs_diff"], "threshold": manifest.threshold})
    return 0


def run_probe() -> int:
    from sigverify.training.trainer import cuda_available, torch_version

    emit({"kind": "probe", "torch": torch_version(), "cuda": cuda_available()})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sigverify train-worker")
    sub = parser.add_subparsers(dest="mode", required=True)
    train_cmd = sub.add_parser("train")
    train_cmd.add_argument("config")
    train_cmd.add_argument("--compare", help="the model in use, evaluated on the same held-out writers")
    export_cmd = sub.add_parser("export")
    export_cmd.add_argument("checkpoint")
    export_cmd.add_argument("out")
    export_cmd.add_argument("--threshold", type=float)
    export_cmd.add_argument("--description", default="")
    sub.add_parser("probe")
    args = parser.parse_args(argv)
    try:
        if args.mode == "train":
            return run_train(Path(args.config), Path(args.compare) if args.compare else None)
        if args.mode == "export":
            return run_export(Path(args.checkpoint), Path(args.out), args.threshold, args.description)
        return run_probe()
    except Exception as exc:  # noqa: BLE001 - reported to the wizard as an event, then exit 1
        emit({"kind": "error", "message": str(exc), "type": type(exc).__name__,
              "traceback": traceback.format_exc()[-4000:]})
        return 1


def command() -> list[str]:
    """How to start this worker: the bundle's own executable, or this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "train-worker"]
    return [sys.executable, "-m", "sigverify", "train-worker"]
