"""No genuine signature in any real dataset is refused as blank or as a speck (issue: ink extraction),
nor as a reference specimen (issue 13: the specimen check)."""

from __future__ import annotations

import pytest

from sigverify.errors import NoSignatureError
from sigverify.imaging.decode import load_image
from sigverify.imaging.preprocess import PreprocessParams, preprocess
from sigverify.imaging.specimen_check import specimen_problems
from sigverify.inference.manifest import load_manifest
from sigverify.paths import shipped_model_dir
from sigverify.training.datasets import scan_dataset
from sigverify.training.known_datasets import KNOWN_DATASETS, shared_data_folder
from tests.realdata.conftest import require_shared_data


def _shipped_params() -> PreprocessParams:
    return load_manifest(shipped_model_dir()).preprocessing


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", list(KNOWN_DATASETS))
def test_every_genuine_signature_is_read(name):
    require_shared_data()
    folder = shared_data_folder() / name
    if not folder.is_dir():
        pytest.skip(f"{name} is not in {shared_data_folder()}")
    scan = scan_dataset(folder)
    params = _shipped_params()
    refused, count = [], 0
    for writer, samples in scan.writers.items():
        for path in samples.genuine:
            count += 1
            pixels = load_image(path).pixels
            try:
                preprocess(pixels, params)
                problems = specimen_problems(pixels, params)
            except NoSignatureError as exc:
                problems = [str(exc)]
            if problems:
                refused.append(f"{writer}/{path.name}: {'; '.join(problems)}")
    assert count > 100
    assert refused == [], f"{len(refused)} of {count} genuine signatures refused: {refused[:5]}"
