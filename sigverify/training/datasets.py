"""Reading signature datasets: scan a folder, report what is there and what is wrong.

Layouts read:
- ``WRITER/genuine/*.png`` and ``WRITER/forged/*.png`` (the layout of ../shared/data),
- CEDAR: ``full_org/original_W_N.png`` and ``full_forg/forgeries_W_N.png``,
- a CSV of labelled pairs: ``reference,questioned,label`` with label 1 = same writer (genuine),
  0 = forgery; paths relative to the CSV. Pairs are read for evaluation.

This module needs no torch: the wizard's data page scans in a background thread with it.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sigverify.errors import BadImageError, DatasetError, NoSignatureError
from sigverify.imaging.decode import load_image
from sigverify.imaging.preprocess import PreprocessParams, preprocess

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
_CEDAR = re.compile(r"^(original|forgeries)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


@dataclass
class WriterSamples:
    genuine: list[Path] = field(default_factory=list)
    forged: list[Path] = field(default_factory=list)


@dataclass
class DatasetScan:
    """What a folder holds: writers with their files, the layout found, and problems."""

    root: Path
    layout: str
    writers: dict[str, WriterSamples]
    problems: list[str] = field(default_factory=list)
    pairs: list[tuple[Path, Path, int]] = field(default_factory=list)

    @property
    def genuine_count(self) -> int:
        return sum(len(w.genuine) for w in self.writers.values())

    @property
    def forged_count(self) -> int:
        return sum(len(w.forged) for w in self.writers.values())

    def usable_writers(self) -> list[str]:
        """Writers with at least two genuine signatures (one pair), sorted."""
        return sorted(w for w, s in self.writers.items() if len(s.genuine) >= 2)

    def summary(self) -> str:
        return (f"{len(self.writers)} writers, {self.genuine_count} genuine, {self.forged_count} forged "
                f"({self.layout} layout), {len(self.problems)} problem(s)")

    def require_trainable(self, min_writers: int = 2) -> None:
        """Raise a DatasetError a supervisor can act on if training cannot start."""
        if not self.writers:
            raise DatasetError(f"{self.root}: no signature images found in a layout SigVerify reads")
        usable = self.usable_writers()
        if len(usable) < min_writers:
            raise DatasetError(
                f"{self.root}: {len(usable)} writer(s) with at least 2 readable genuine signatures; "
                f"training needs at least {min_writers}"
            )


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def scan_dataset(root: Path, check_images: bool = True) -> DatasetScan:
    """Find the layout and the writers; never raises for bad files, lists them as problems."""
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        return _scan_csv(root, check_images)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    if (root / "full_org").is_dir():
        scan = _scan_cedar(root)
    else:
        csvs = sorted(root.glob("*.csv"))
        if csvs and not any((d / "genuine").is_dir() for d in root.iterdir() if d.is_dir()):
            return _scan_csv(csvs[0], check_images)
        scan = _scan_writer_folders(root)
    if check_images:
        _check_images(scan)
    for writer, samples in sorted(scan.writers.items()):
        if len(samples.genuine) < 2:
            scan.problems.append(f"writer {writer}: {len(samples.genuine)} genuine signature(s); at least 2 needed")
    return scan


def scan_datasets(roots: list[Path], check_images: bool = True) -> DatasetScan:
    """Scan several dataset folders as one: writers are named ``DATASET/WRITER`` so none collide.

    A single folder is scanned as it is (writer names unchanged)."""
    roots = [Path(r) for r in roots]
    if not roots:
        raise DatasetError("no dataset folder given")
    if len(roots) == 1:
        return scan_dataset(roots[0], check_images)
    names = [r.name for r in roots]
    if len(set(names)) != len(names):
        raise DatasetError(f"two dataset folders share a name ({', '.join(sorted(names))}); rename one")
    merged = DatasetScan(root=roots[0].parent, layout="several datasets", writers={})
    for root in roots:
        scan = scan_dataset(root, check_images)
        if scan.pairs:
            raise DatasetError(f"{root}: a CSV of pairs cannot be combined with other datasets")
        merged.problems += [f"{root.name}: {problem}" for problem in scan.problems]
        merged.writers.update({f"{root.name}/{writer}": samples for writer, samples in scan.writers.items()})
    return merged


def _scan_writer_folders(root: Path) -> DatasetScan:
    writers: dict[str, WriterSamples] = {}
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        genuine_dir, forged_dir = folder / "genuine", folder / "forged"
        if not genuine_dir.is_dir() and not forged_dir.is_dir():
            continue
        samples = WriterSamples()
        if genuine_dir.is_dir():
            samples.genuine = _images(genuine_dir)
        if forged_dir.is_dir():
            samples.forged = _images(forged_dir)
        writers[folder.name] = samples
    return DatasetScan(root=root, layout="writer folders", writers=writers)


def _scan_cedar(root: Path) -> DatasetScan:
    writers: dict[str, WriterSamples] = {}
    scan = DatasetScan(root=root, layout="CEDAR", writers=writers)
    for sub in ("full_org", "full_forg"):
        folder = root / sub
        if not folder.is_dir():
            continue
        for path in _images(folder):
            match = _CEDAR.match(path.name)
            if not match:
                scan.problems.append(f"{sub}/{path.name}: name does not follow original_W_N / forgeries_W_N")
                continue
            samples = writers.setdefault(f"{int(match.group(2)):03d}", WriterSamples())
            (samples.genuine if match.group(1).lower() == "original" else samples.forged).append(path)
    return scan


def _scan_csv(path: Path, check_images: bool) -> DatasetScan:
    scan = DatasetScan(root=path, layout="CSV pairs", writers={})
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the CSV ({exc})") from exc
    for number, row in enumerate(rows, start=1):
        if not row or (number == 1 and row[-1].strip().lower() == "label"):
            continue
        if len(row) != 3 or row[2].strip() not in ("0", "1"):
            scan.problems.append(f"{path.name} line {number}: expected reference,questioned,label(0/1)")
            continue
        first, second = (path.parent / row[0].strip()), (path.parent / row[1].strip())
        missing = [p.name for p in (first, second) if not p.is_file()]
        if missing:
            scan.problems.append(f"{path.name} line {number}: missing file(s) {', '.join(missing)}")
            continue
        scan.pairs.append((first, second, int(row[2])))
    if not scan.pairs:
        raise DatasetError(f"{path}: no usable labelled pairs")
    return scan


def _check_images(scan: DatasetScan) -> None:
    """Open every header (cheap); unreadable files become problems and leave the lists."""
    from sigverify.imaging.decode import page_count

    for writer, samples in scan.writers.items():
        for kind in ("genuine", "forged"):
            kept = []
            for path in getattr(samples, kind):
                try:
                    page_count(path)
                    kept.append(path)
                except BadImageError as exc:
                    scan.problems.append(f"writer {writer}: {exc}")
            setattr(samples, kind, kept)


def split_writers(
    writers: list[str], validation_share: float, seed: int, test_writers: list[str] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Writer-disjoint (train, validation, test); explicit test writers, else none; seeded."""
    test = sorted(set(test_writers or []) & set(writers))
    rest = sorted(set(writers) - set(test))
    rng = random.Random(seed)
    rng.shuffle(rest)
    n_val = max(1, round(len(rest) * validation_share)) if validation_share > 0 else 0
    if len(rest) - n_val < 2:
        raise DatasetError(f"{len(rest)} writers are too few to keep {n_val} for validation and still train")
    return sorted(rest[n_val:]), sorted(rest[:n_val]), test


@dataclass
class PreparedSet:
    """Preprocessed canvases with labels: writer index, and whether each is a skilled forgery."""

    canvases: np.ndarray  # (N, H, W) float32
    writer: np.ndarray  # (N,) int
    forged: np.ndarray  # (N,) bool
    writer_names: list[str]
    paths: list[Path]

    def __len__(self) -> int:
        return int(self.writer.size)


def prepare(scan: DatasetScan, writers: list[str], params: PreprocessParams,
            problems: list[str] | None = None, cache_dir: Path | None = None) -> PreparedSet:
    """Decode and preprocess the writers' images once; failures go to ``problems``.

    With ``cache_dir``, the canvases are kept there (float16) keyed by the preprocessing
    parameters and every file's path, size and modification time, so a second run with the
    same data and parameters skips the decoding; any change to either recomputes."""
    if cache_dir is not None:
        return _prepare_cached(scan, writers, params, problems, Path(cache_dir))
    canvases, writer_ids, forged, paths = [], [], [], []
    for index, name in enumerate(writers):
        samples = scan.writers[name]
        for is_forged, files in ((False, samples.genuine), (True, samples.forged)):
            for path in files:
                try:
                    canvases.append(preprocess(load_image(path).pixels, params))
                except (BadImageError, NoSignatureError) as exc:
                    if problems is not None:
                        problems.append(f"writer {name}: {exc}")
                    continue
                writer_ids.append(index)
                forged.append(is_forged)
                paths.append(path)
    shape = (0, params.canvas_height, params.canvas_width)
    return PreparedSet(
        canvases=np.stack(canvases) if canvases else np.zeros(shape, np.float32),
        writer=np.asarray(writer_ids, dtype=np.int64),
        forged=np.asarray(forged, dtype=bool),
        writer_names=list(writers),
        paths=paths,
    )


def _cache_key(scan: DatasetScan, writers: list[str], params: PreprocessParams) -> str:
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(params.to_dict(), sort_keys=True).encode())
    for name in writers:
        samples = scan.writers[name]
        for path in samples.genuine + samples.forged:
            stat = path.stat()
            digest.update(f"{name}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _prepare_cached(scan: DatasetScan, writers: list[str], params: PreprocessParams,
                    problems: list[str] | None, cache_dir: Path) -> PreparedSet:
    import os

    path = cache_dir / f"canvases-{_cache_key(scan, writers, params)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                if problems is not None:
                    problems.extend(str(p) for p in stored["problems"])
                return PreparedSet(canvases=stored["canvases"].astype(np.float32), writer=stored["writer"],
                                   forged=stored["forged"], writer_names=list(writers),
                                   paths=[Path(p) for p in stored["paths"]])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is recomputed, never trusted
    found: list[str] = []
    prepared = prepare(scan, writers, params, found)
    prepared.canvases = prepared.canvases.astype(np.float16).astype(np.float32)  # as a later run reads them
    if problems is not None:
        problems.extend(found)
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(staging, canvases=prepared.canvases.astype(np.float16), writer=prepared.writer,
             forged=prepared.forged, paths=np.asarray([str(p) for p in prepared.paths]),
             problems=np.asarray(found, dtype=str))
    os.replace(staging, path)
    return prepared
