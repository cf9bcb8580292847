"""The public datasets SigVerify knows, with their published splits: adding one is one entry.

A folder whose name matches an entry gets that entry's writer-disjoint split: its test writers
are never trained on or used for selection, and a test-only dataset is never trained on at all.
Any other folder is an ordinary dataset: its writers are split by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnownDataset:
    name: str
    script: str
    train: tuple[int, int]  # first and last writer number that may be trained on (inclusive)
    test: tuple[int, int]  # first and last writer number kept for reported figures
    capture: str = "scan"
    test_only: bool = False

    def is_test_writer(self, writer: str) -> bool:
        number = _number(writer)
        return number is not None and self.test[0] <= number <= self.test[1]

    def is_train_writer(self, writer: str) -> bool:
        number = _number(writer)
        return not self.test_only and number is not None and self.train[0] <= number <= self.train[1]


KNOWN_DATASETS: dict[str, KnownDataset] = {d.name: d for d in (
    KnownDataset("sigcomp2011", "Latin (Dutch)", train=(1, 50), test=(51, 69)),
    KnownDataset("bhsig260_hindi", "Devanagari", train=(1, 100), test=(101, 160)),
    KnownDataset("gpds_synthetic", "synthetic Latin", train=(1, 120), test=(121, 150)),
    KnownDataset("arabic_photos", "Arabic", train=(0, -1), test=(61, 70), capture="camera", test_only=True),
)}


def _number(writer: str) -> int | None:
    digits = writer.rsplit("/", 1)[-1]
    return int(digits) if digits.isdigit() else None


def known_dataset(folder: Path | str) -> KnownDataset | None:
    """The registry entry for a dataset folder (by its name), or None for any other folder."""
    return KNOWN_DATASETS.get(Path(folder).name.lower())


def shared_data_folder() -> Path:
    """``../shared/data`` beside the repository (present on developers' machines and in CI)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"
