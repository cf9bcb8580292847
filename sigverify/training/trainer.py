"""The training loop, readable top to bottom.

One config dataclass; a seeded loop over P×K batches (P writers, K genuine signatures each,
plus F skilled forgeries of those writers as the hardest negatives; the other writers in the
batch are the random forgeries); validation EER on held-out writers after each epoch;
checkpoints that carry the config next to the weights; resume; a cancel flag checked at every
step; CPU, CUDA, or several processes under ``torchrun`` (DistributedDataParallel, gloo on CPU).
"""

from __future__ import annotations

import atexit
import gc
import hashlib

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from sigverify.errors import DatasetError, ModelError
from sigverify.imaging.preprocess import PreprocessParams
from sigverify.training.sampler import BatchSampler, dataset_of
from sigverify.training.datasets import DatasetScan, PreparedSet, prepare, scan_datasets, split_writers
from sigverify.training.known_datasets import known_dataset
from sigverify.training.losses import LOSSES as LOSS_TABLE, SELF_MINING, Objective, TrainingHeads
from sigverify.training.miners import MINERS, Labels
from sigverify.training.model import RegionalSignatureNet, SeedNet, SignatureNet
from sigverify.verification.protocol import report, verification_distances

LOSSES = tuple(LOSS_TABLE)
MININGS = tuple(MINERS)
DEFAULT_MARGIN = {"contrastive": 1.0, "triplet": 0.3, "forgery-aware": 0.4}
ARCHITECTURES = ("compact", "regional", "seed")


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved inside every checkpoint."""

    dataset: str = ""
    datasets: list[str] = field(default_factory=list)  # several folders trained as one (else `dataset`)
    cache_dir: str = ""  # where preprocessed canvases are kept between runs ("" = not kept)
    out_dir: str = "runs/latest"
    loss: str = "contrastive"
    margin: float | None = None  # None: 1.0 for contrastive, 0.3 for triplet
    mining: str = "none"
    epochs: int = 30
    steps_per_epoch: int = 40
    writers_per_batch: int = 8
    genuine_per_writer: int = 4
    forged_per_writer: int = 2
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    augment_strength: float = 1.0
    pen_augmentation: bool = True  # vary stroke width and ink darkness (False: keep the pen's traces as written)
    #: the last N epochs "settle": the pen's traces kept as written and geometry at
    #: ``settle_augment_strength`` (what the separate fine-tune stage did, in one run)
    settle_epochs: int = 0
    settle_augment_strength: float = 0.5
    #: share of drawn training images replaced by one of their capture variants (training/capture.py)
    capture_share: float = 0.0
    capture_variants: int = 1
    #: at export, fit the forgery space on the training writers and keep it if validation improves
    #: (training/forgery_space.py); no effect on training itself
    forgery_space: bool = True
    validation_share: float = 0.2
    validation_writers: list[str] = field(default_factory=list)  # explicit, else drawn by the seed
    test_writers: list[str] = field(default_factory=list)
    eval_references: int = 5
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # 0: torch's default
    architecture: str = "compact"  # "compact" (SignatureNet) or "seed" (the original design, for bench/)
    embedding_size: int = 128
    channels: tuple[int, ...] = (16, 32, 64, 128, 192)
    preprocessing: dict = field(default_factory=lambda: PreprocessParams().to_dict())
    time_budget_s: float = 0.0  # 0: no limit; else stop after the epoch that crosses it
    patience: int = 0  # 0: run every epoch; else stop after this many epochs without a better validation EER
    random_margin: float = 0.6  # forgery-aware: margin against other writers (skilled: `margin`)
    writer_head_weight: float = 0.0  # weight of the writer-classification head (SigNet's), 0 = off
    forgery_head_weight: float = 0.0  # weight of the genuine-vs-skilled-forgery head (SigNet-F's), 0 = off
    balance_datasets: bool = False  # draw each batch's writers equally from every dataset (several folders)
    init_weights: str = ""  # start from this checkpoint's network weights (a fine-tune; not a resume)
    resume: str = ""  # path of a checkpoint to continue from

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}")
        if self.mining not in MININGS:
            raise ValueError(f"mining must be one of {MININGS}")
        if self.loss in SELF_MINING and self.mining != "none":
            raise ValueError(f"the {self.loss} loss mines its own negatives: mining must be 'none'")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}")
        if self.margin is None:
            self.margin = DEFAULT_MARGIN[self.loss]
        self.channels = tuple(self.channels)
        self.datasets = [str(d) for d in self.datasets]

    @property
    def dataset_folders(self) -> list[Path]:
        return [Path(d) for d in (self.datasets or [self.dataset])]

    @property
    def preprocess_params(self) -> PreprocessParams:
        return PreprocessParams.from_dict(self.preprocessing)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


Progress = Callable[[dict], None]


@dataclass
class TrainResult:
    status: str  # "finished", "cancelled", "time budget", "early stop"
    out_dir: Path
    best_checkpoint: Path | None
    history: list[dict]
    best_val_eer: float
    seconds: float
    weights_digest: str = ""  # of this process's final weights (every DDP rank must end with the same)
    batches_digest: str = ""  # of the batches this process drew (DDP ranks must differ)


def torch_version() -> str:
    return torch.__version__


def cuda_available() -> bool:
    return torch.cuda.is_available()


def build_model(config: TrainConfig) -> nn.Module:
    if config.architecture == "seed":
        p = config.preprocess_params
        return SeedNet(p.canvas_height, p.canvas_width, config.embedding_size)
    if config.architecture == "regional":
        return RegionalSignatureNet(embedding_size=config.embedding_size, channels=config.channels, depth_from=4)
    return SignatureNet(embedding_size=config.embedding_size, channels=config.channels)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("SIGVERIFY_DDP_BACKEND") == "nccl" else "gloo"
        torch.distributed.init_process_group(backend=backend)
        # left to interpreter shutdown, gloo's worker threads sometimes abort the process
        # ("terminate called without an active exception", SIGABRT): leave the group while Python still runs
        atexit.register(_leave_process_group)
    rank = torch.distributed.get_rank() if world > 1 else 0
    return rank, world


def _leave_process_group() -> None:
    # a finished run's DistributedDataParallel wrapper sits in a reference cycle that still holds the
    # group (and its threads); collect it first, so that the group is really gone before shutdown
    gc.collect()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def as_input(images: np.ndarray, device: str) -> torch.Tensor:
    """A batch (N, 1, H, W) for the network, channels-last: PyTorch's CPU convolutions (oneDNN)
    run a training step about 1.7× faster in that memory layout (measured on this 2-core CPU)."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).contiguous(memory_format=torch.channels_last)


def embed(model: nn.Module, canvases: np.ndarray, device: str, batch: int = 128) -> np.ndarray:
    """Embeddings of preprocessed canvases (no augmentation), in eval mode."""
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(canvases), batch):
            x = as_input(canvases[start : start + batch][:, None], device)
            out.append(model(x).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _agreed(flag: bool, world: int) -> bool:
    """A stop decision every DDP rank takes together (a clock read apart on each rank could stop
    one and leave the other waiting in the next all-reduce for ever): true if any rank says so."""
    if world <= 1:
        return bool(flag)
    value = torch.tensor([1.0 if flag else 0.0])
    torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
    return bool(value.item())


def validation_eer(model: nn.Module, data: PreparedSet, config: TrainConfig) -> float:
    """Skilled-forgery EER on the validation writers with K references (NaN if not measurable)."""
    if len(data) == 0:
        return float("nan")
    distances = verification_distances(embed(model, data.canvases, config.device), data.writer, data.forged,
                                       k_refs=config.eval_references, seed=config.seed, repeats=3)
    metrics = report(distances)
    return float(metrics.get("eer_skilled", metrics.get("eer_random", float("nan"))))


@dataclass
class WriterSplit:
    """The scanned dataset and its writer-disjoint split (nothing preprocessed yet)."""

    scan: DatasetScan
    train: list[str]
    validation: list[str]
    test: list[str]

    def prepare(self, writers: list[str], config: TrainConfig, problems: list[str]) -> PreparedSet:
        return prepare(self.scan, writers, config.preprocess_params, problems,
                       cache_dir=Path(config.cache_dir) if config.cache_dir else None)


def split_dataset(config: TrainConfig, problems: list[str]) -> WriterSplit:
    """Scan once and split writer-disjointly.

    Known public datasets (see known_datasets.py) keep their published test writers out of
    training and selection, and a test-only dataset is never trained on. Validation writers are
    the explicit list, else drawn by the seed from each dataset's trainable writers, so every
    dataset is represented in the choice of epoch and threshold."""
    folders = config.dataset_folders
    scan = scan_datasets(folders)
    problems.extend(scan.problems)
    scan.require_trainable()
    usable = scan.usable_writers()
    entries = {folder.name: known_dataset(folder) for folder in folders}
    several = len(folders) > 1

    def entry_of(writer: str):
        return entries.get(dataset_of(writer)) if several else entries[folders[0].name]

    registry_test = [w for w in usable if entry_of(w) is not None and (entry_of(w).test_only or
                                                                      entry_of(w).is_test_writer(w))]
    test = sorted(set(registry_test) | (set(config.test_writers) & set(usable)))
    pool = [w for w in usable if w not in test and (entry_of(w) is None or entry_of(w).is_train_writer(w))]
    if config.validation_writers:
        val = sorted(set(config.validation_writers) & set(pool))
        train = sorted(set(pool) - set(val))
    else:
        train, val = [], []
        for name in sorted({dataset_of(w) for w in pool}):
            members = [w for w in pool if dataset_of(w) == name]
            if len(members) < 4:  # too few to spare validation writers: all train
                train += members
                continue
            part_train, part_val, _ = split_writers(members, config.validation_share, config.seed)
            train += part_train
            val += part_val
        train, val = sorted(train), sorted(val)
    if len(train) < 2:
        raise DatasetError(f"only {len(train)} training writer(s) left after the split; need at least 2")
    return WriterSplit(scan, train, val, test)


def load_data(config: TrainConfig, problems: list[str]) -> tuple[PreparedSet, PreparedSet, list[str]]:
    """Scan, split writer-disjointly, preprocess train and validation writers once."""
    split = split_dataset(config, problems)
    return split.prepare(split.train, config, problems), split.prepare(split.validation, config, problems), split.test


def train(config: TrainConfig, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Run (or resume) a training; returns when finished, cancelled, or over the time budget."""
    started = time.perf_counter()
    emit = progress or (lambda event: None)
    stop = should_stop or (lambda: False)
    rank, world = _distributed()
    if config.threads:
        torch.set_num_threads(config.threads)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    train_set, val_set, _ = load_data(config, problems)
    emit({"kind": "data", "train_images": len(train_set), "validation_images": len(val_set),
          "train_writers": len(train_set.writer_names), "validation_writers": len(val_set.writer_names),
          "problems": problems})

    torch.manual_seed(config.seed)
    model = build_model(config).to(config.device, memory_format=torch.channels_last)
    if config.init_weights and not config.resume:
        start = torch.load(config.init_weights, map_location=config.device, weights_only=False)
        model.load_state_dict(start["model"])
    heads = None
    if config.writer_head_weight > 0 or config.forgery_head_weight > 0:
        heads = TrainingHeads(config.embedding_size, len(train_set.writer_names), config.writer_head_weight,
                              config.forgery_head_weight).to(config.device)
        if config.init_weights and not config.resume and start.get("heads"):
            heads.load_state_dict(start["heads"])
    parameters = list(model.parameters()) + (list(heads.parameters()) if heads is not None else [])
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * config.steps_per_epoch, pct_start=0.15)
    history: list[dict] = []
    first_epoch, best_eer = 0, float("inf")
    rng = np.random.default_rng([config.seed, rank, 0])
    if config.resume:
        state = torch.load(config.resume, map_location=config.device, weights_only=False)
        planned = state["config"].get("epochs")
        if planned != config.epochs or state["config"].get("steps_per_epoch") != config.steps_per_epoch:
            raise ValueError(f"{config.resume} continues a run of {planned} epochs × "
                             f"{state['config'].get('steps_per_epoch')} steps (its learning-rate schedule); "
                             f"resume it with those, or start a fine-tune from it with init_weights")
        model.load_state_dict(state["model"])
        if heads is not None and state.get("heads"):
            heads.load_state_dict(state["heads"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, first_epoch, best_eer = state["history"], state["epoch"] + 1, state["best_val_eer"]
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model)
    objective = Objective.from_settings(config.loss, config.mining, config.margin, config.random_margin, heads)
    sampler = BatchSampler(train_set, config, rng)
    status, best_path = "finished", (out_dir / "best.pt" if (out_dir / "best.pt").exists() else None)
    total_steps = config.epochs * config.steps_per_epoch
    emit({"kind": "start", "epochs": config.epochs, "steps_per_epoch": config.steps_per_epoch,
          "first_epoch": first_epoch, "total_steps": total_steps})

    for epoch in range(first_epoch, config.epochs):
        # each rank, each epoch its own stream (nanoGPT's seed offset): ranks draw different batches,
        # and a resumed run draws exactly what an uninterrupted one would have
        sampler.rng = np.random.default_rng([config.seed, rank, epoch])
        torch.manual_seed(int(np.random.default_rng([config.seed, rank, epoch, 1]).integers(2**62)))  # dropout
        sampler.settle(epoch >= config.epochs - config.settle_epochs)
        epoch_started, losses = time.perf_counter(), []
        model.train()
        cancelled = False
        for step in range(config.steps_per_epoch):
            if stop():
                cancelled = True
                break
            images, writer, forged = sampler()
            embeddings = net(as_input(images, config.device))
            loss = objective(embeddings, Labels(torch.from_numpy(writer).to(config.device),
                                                torch.from_numpy(forged).to(config.device)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            emit({"kind": "step", "epoch": epoch, "step": step, "loss": losses[-1], "tuples": objective.tuples_used,
                  "global_step": epoch * config.steps_per_epoch + step + 1, "total_steps": total_steps,
                  "elapsed": time.perf_counter() - started})
        if cancelled:
            status = "cancelled"
            break
        if world > 1:  # BatchNorm statistics are per process; rank 0's are the ones kept
            for buffer in model.buffers():
                torch.distributed.broadcast(buffer, src=0)
        val_eer = validation_eer(model, val_set, config)
        record = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else float("nan"),
                  "val_eer": val_eer, "seconds": time.perf_counter() - epoch_started,
                  "lr": scheduler.get_last_lr()[0], "augment_strength": sampler.augment.strength,
                  "pen_augmentation": sampler.augment.stroke_probability > 0}
        history.append(record)
        improved = not np.isnan(val_eer) and val_eer <= best_eer
        if improved:
            best_eer = val_eer
        if rank == 0:
            state = _checkpoint(config, model, optimizer, scheduler, epoch, history, best_eer)
            if heads is not None:
                state["heads"] = heads.state_dict()
            _atomic_save(state, out_dir / "last.pt")
            if improved or best_path is None:
                best_path = out_dir / "best.pt"
                _atomic_save(state, best_path)
        emit({"kind": "epoch", **record, "best_val_eer": best_eer})
        if _agreed(config.time_budget_s and time.perf_counter() - started > config.time_budget_s, world):
            status = "time budget"
            break
        since_best = len(history) - 1 - min((i for i, h in enumerate(history) if h["val_eer"] == best_eer),
                                            default=len(history) - 1)
        if config.patience and since_best >= config.patience:
            status = "early stop"
            break
    # on cancel, last.pt holds the last complete epoch: a resume continues from there
    if world > 1:
        torch.distributed.barrier()
    seconds = time.perf_counter() - started
    emit({"kind": "done", "status": status, "seconds": seconds, "best_val_eer": best_eer})
    return TrainResult(status, out_dir, best_path, history, best_eer, seconds, weights_digest(model),
                       sampler.drawn.hexdigest())


def weights_digest(model: nn.Module) -> str:
    """SHA-256 over the model's parameters and buffers, in order (equal weights, equal digest)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _checkpoint(config, model, optimizer, scheduler, epoch, history, best_eer) -> dict:
    return {"config": asdict(config), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history, "best_val_eer": best_eer}


def _atomic_save(state: dict, path: Path) -> None:
    """Write then rename, so a crash never leaves a half-written checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


#: settings older checkpoints carry that no longer exist (a test aid that left the production config)
RETIRED_SETTINGS = ("save_rank_weights",)


def checkpoint_config(state: dict) -> TrainConfig:
    """The training settings a loaded checkpoint was made with."""
    return TrainConfig.from_dict({k: v for k, v in state["config"].items() if k not in RETIRED_SETTINGS})


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[TrainConfig, nn.Module, dict]:
    """Model and config from a checkpoint file; a missing or unreadable one is a ModelError, not a traceback."""
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        config = checkpoint_config(state)
        model = build_model(config).to(device)
        model.load_state_dict(state["model"])
    except FileNotFoundError:
        raise ModelError(f"no checkpoint at {path}") from None
    except Exception as error:  # a truncated, foreign or other-architecture file: say so in one line
        raise ModelError(f"{path} is not a SigVerify training checkpoint ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:120] if str(error) else 'unreadable'})") from None
    model.eval()
    return config, model, state
