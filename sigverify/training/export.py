"""Export a trained branch to ONNX + the manifest the verification core reads.

The threshold is the validation writers' skilled-forgery EER point (K references, the
protocol of verification/protocol.py); the logistic calibration is fitted on the same
validation distances. The ONNX output is compared with torch on real validation canvases and
the export fails loudly if they differ by more than 1e-4.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

import sigverify
from sigverify.errors import ModelError
from sigverify.inference.manifest import MANIFEST_NAME, ONNX_NAME, Manifest
from sigverify.training.evaluate import accuracy_table
from sigverify.training.decision_fit import add_forgery_space, fit_decision, forgery_head
from sigverify.training.trainer import TrainConfig, embed, load_checkpoint, split_dataset
from sigverify.verification.calibration import fit_logistic
from sigverify.verification.decision import DecisionPolicy
from sigverify.verification.identification import FALSE_MATCH_RATE, open_set_report
from sigverify.verification.metrics import eer, roc_curve
from sigverify.verification.protocol import report
from sigverify.verification.refer_band import choose_refer_band, refer_bands_by_references

#: onnxruntime 1.31 reads ONNX IR version <= 13; the onnx package may write newer.
MAX_IR_VERSION = 10
OPSET = 17
PARITY_TOLERANCE = 1e-4
POPULATION_NAME = "population.npz"


class ExportError(ModelError):
    """The exported model does not behave like the trained one."""


def to_onnx_bytes(model: torch.nn.Module, height: int, width: int) -> bytes:
    """ONNX bytes of the branch with a dynamic batch axis and a pinned IR version."""
    model = model.cpu().eval()
    buffer = io.BytesIO()
    dummy = torch.zeros(2, 1, height, width)
    # The TorchScript exporter: it needs no onnxscript and handles this plain CNN exactly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), buffer, input_names=["image"], output_names=["embedding"],
                          dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=OPSET,
                          dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    proto.producer_name = "sigverify"
    proto.producer_version = sigverify.__version__
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def check_parity(model: torch.nn.Module, onnx_bytes: bytes, canvases: np.ndarray) -> float:
    """Max |torch − onnxruntime| / max(1, |torch|) over the canvases; raises ExportError above the tolerance."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    batch = np.ascontiguousarray(canvases[:, None].astype(np.float32))
    (ours,) = session.run(["embedding"], {"image": batch})
    with torch.no_grad():
        reference = model.cpu().eval()(torch.from_numpy(batch)).numpy()
    # relative to the output's size: forgery-space coordinates are not bounded like a unit embedding
    difference = float((np.abs(ours - reference) / np.maximum(1.0, np.abs(reference))).max())
    if not difference <= PARITY_TOLERANCE:
        raise ExportError(f"ONNX and torch disagree by {difference:.2e} (> {PARITY_TOLERANCE:.0e}); export refused")
    return difference


def _curve_summary(genuine: np.ndarray, negatives: np.ndarray, points: int = 200) -> dict:
    """Validation ROC, thinned to ``points`` thresholds (for operating points chosen later)."""
    curve = roc_curve(genuine, negatives)
    keep = np.unique(np.linspace(0, curve.thresholds.size - 1, points).round().astype(int))
    return {"thresholds": curve.thresholds[keep].round(6).tolist(), "far": curve.far[keep].round(6).tolist(),
            "frr": curve.frr[keep].round(6).tolist()}


def export(checkpoint: Path, out_dir: Path, name: str = "sigverify", evaluate_test: bool = True,
           threshold: float | None = None, data_description: str = "") -> Manifest:
    """Checkpoint → ``out_dir/model.onnx`` + ``manifest.json`` (written atomically as a folder)."""
    config, model, state = load_checkpoint(Path(checkpoint))
    # the whole run's history (best.pt stops at the epoch it kept; last.pt has every epoch)
    last = Path(checkpoint).with_name("last.pt")
    run_history = torch.load(last, map_location="cpu", weights_only=False)["history"] if last.is_file() \
        else state["history"]
    params = config.preprocess_params
    problems: list[str] = []
    split = split_dataset(config, problems)  # scanned once; only validation and test writers are preprocessed
    val_set = split.prepare(split.validation, config, problems)
    test_writers = split.test
    if len(val_set) == 0:
        raise ExportError("no validation writers: the threshold cannot be chosen without them")
    val_emb = embed(model, val_set.canvases, "cpu")
    fitted = fit_decision(model, split, config, val_emb, val_set, problems, forgery_head(state))
    network = model  # what is exported: the branch, or the branch with the forgery space beside it
    with_space = add_forgery_space(fitted, model, split, config, val_emb, val_set, problems) \
        if config.forgery_space else None
    if with_space is not None:
        network, fitted, val_emb = with_space.network, with_space.fitted, with_space.val_outputs
    rule, population, background, rule_table = fitted.rule, fitted.population, fitted.background, fitted.table
    val = fitted.distances(val_emb, val_set, config, config.eval_references)
    negatives = np.concatenate([val.skilled, val.random]) if val.skilled.size else val.random
    hard_negatives = val.skilled if val.skilled.size else val.random
    val_eer, eer_threshold = eer(val.genuine, hard_negatives)
    threshold = eer_threshold if threshold is None else float(threshold)  # a supervisor's choice, if any
    calibration = fit_logistic(val.genuine, negatives)
    refer_band = choose_refer_band(val.genuine, hard_negatives, threshold)
    thresholds_by_k = {config.eval_references: threshold}
    for k in (1, 10):
        if k == config.eval_references:
            continue
        val_k = fitted.distances(val_emb, val_set, config, k)
        if val_k.genuine.size:
            thresholds_by_k[k] = eer(val_k.genuine, val_k.skilled if val_k.skilled.size else val_k.random)[1]
    # wider with fewer specimens: chosen per number on the same validation writers
    by_k_policy = DecisionPolicy(threshold, calibration, refer_band, rule=rule, population=population,
                                 by_references=tuple(sorted(thresholds_by_k.items())))
    refer_bands = refer_bands_by_references(val_emb, val_set.writer, val_set.forged, by_k_policy, seed=config.seed)
    try:
        identification = open_set_report(val_emb, val_set.writer, val_set.forged,
                                         DecisionPolicy(threshold, calibration, refer_band, rule=rule,
                                                        population=population), references=config.eval_references)
    except ValueError:  # too few validation writers to simulate a gallery: identification borrows the threshold
        identification = None
    metrics: dict = {"validation": report(val, threshold), "validation_writers": val_set.writer_names,
                     "validation_eer_threshold": eer_threshold, "decision_rules": rule_table,
                     "thresholds_by_references": {str(k): v for k, v in thresholds_by_k.items()},
                     "refer_bands_by_references": {str(k): v for k, v in refer_bands.items()}}
    if evaluate_test and test_writers:
        test_set = split.prepare(test_writers, config, problems)
        test_emb = embed(network, test_set.canvases, "cpu")
        metrics["test"] = accuracy_table(test_emb, test_set.writer, test_set.forged, thresholds_by_k,
                                         seed=config.seed, rule=rule, population=population)
        metrics["test_writers"] = test_writers

    onnx_bytes = to_onnx_bytes(network, params.canvas_height, params.canvas_width)
    population_bytes = _population_bytes(background, population.whitening, population.forgery_direction)
    parity = check_parity(network, onnx_bytes, val_set.canvases[:32])
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    today = dt.datetime.now(dt.timezone.utc)
    manifest = Manifest(
        # named by the network and the decision's population together: the same network with another
        # decision (rule, cue, background) is another model, with its own threshold overrides
        version=f"{name}-{today:%Y%m%d}-{hashlib.sha256(onnx_bytes + population_bytes).hexdigest()[:8]}",
        sha256=digest,
        onnx_file=ONNX_NAME,
        input_name="image",
        input_shape=(None, 1, params.canvas_height, params.canvas_width),
        output_name="embedding",
        embedding_size=getattr(network, "embedding_size", config.embedding_size),
        preprocessing=params,
        threshold=float(threshold),
        threshold_range=(float(min(threshold, eer_threshold) * 0.5), float(min(2.0, max(threshold, eer_threshold) * 1.5))),
        calibration=calibration,
        refer_band=refer_band,
        decision_rule=rule,
        background_file=POPULATION_NAME,
        background_sha256=hashlib.sha256(population_bytes).hexdigest(),
        genuine_distance=population.genuine_distance,
        identity_size=population.identity_size or 0,
        space_genuine_distance=population.space_genuine_distance,
        identity_weight=population.identity_weight,
        extra={
            "created": today.isoformat(timespec="seconds"),
            # open set, on validation writers: half enrolled, half never (verification/identification.py)
            **({"identification": {"threshold": identification.threshold,
                                   "false_match_rate_target": FALSE_MATCH_RATE,
                                   "validation": identification.to_dict()}} if identification else {}),
            "code_version": sigverify.__version__,
            "metrics": metrics,
            "validation_curve": _curve_summary(val.genuine, hard_negatives),
            "parity_max_abs_diff": parity,
            "references_for_threshold": config.eval_references,
            "data": {"dataset": ", ".join(os.path.basename(os.path.normpath(str(f))) for f in config.dataset_folders),
                     "description": data_description,
                     "train_writers": split.train,
                     "train_images": sum(len(split.scan.writers[w].genuine) + len(split.scan.writers[w].forged)
                                         for w in split.train),
                     "validation_images": len(val_set),
                     "problems": problems[:50]},
            "training": {"config": _public_config(config), "epochs_run": len(run_history),
                         "best_epoch": state["epoch"], "history": run_history,
                         "train_seconds": float(sum(h["seconds"] for h in run_history)),
                         "torch": torch.__version__, "machine": platform.machine(),
                         # snapshot weight averaging after the run (training/averaging.py), when done
                         **({"averaging": state["averaging"]} if "averaging" in state else {})},
        },
    )
    _write_folder(Path(out_dir), onnx_bytes, manifest, {POPULATION_NAME: population_bytes})
    return manifest


def _population_bytes(background: np.ndarray, whitening: np.ndarray | None,
                      forgery_direction: np.ndarray | None = None) -> bytes:
    arrays = {"background": np.ascontiguousarray(background, dtype=np.float32)}
    if whitening is not None:
        arrays["whitening"] = np.ascontiguousarray(whitening, dtype=np.float64)
    if forgery_direction is not None:
        arrays["forgery_direction"] = np.ascontiguousarray(forgery_direction, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _public_config(config: TrainConfig) -> dict:
    data = {k: v for k, v in config.__dict__.items() if k != "resume"}
    data["channels"] = list(config.channels)
    return data


def _write_folder(out_dir: Path, onnx_bytes: bytes, manifest: Manifest, others: dict[str, bytes] | None = None) -> None:
    """Write model and manifest into a temporary sibling, then swap it in: never half a model."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        (staging / ONNX_NAME).write_bytes(onnx_bytes)
        for name, data in (others or {}).items():
            (staging / name).write_bytes(data)
        manifest.save(staging)
        if out_dir.exists():
            old = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    assert (out_dir / MANIFEST_NAME).is_file()
