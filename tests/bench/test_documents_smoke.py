"""The document benchmark's smoke mode: real test-writer signatures on generated documents through the
product's document path, beside the same signatures as clean crops."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.realdata.conftest import require_shared_data


@pytest.mark.slow
@pytest.mark.realdata
def test_documents_smoke_measures_each_condition_beside_clean_crops(tmp_path):
    require_shared_data()
    run = subprocess.run([sys.executable, str(REPO / "bench" / "documents.py"), "--smoke", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "documents.json").read_text())
    grey = results["conditions"]["grey 300 dpi"]["all"]
    for key in ("boxed", "eer_document", "eer_clean", "genuine_called_forged_document"):
        assert 0.0 <= grey[key] <= 1.0, key
    # a plain grey cheque is boxed nearly always; the coloured stamp no longer hides the signature
    assert grey["boxed"] >= 0.9
    assert results["conditions"]["coloured stamp over the signature"]["all"]["boxed"] >= 0.6
    assert "joint cheque, two signatures" in results["conditions"]
    assert "| grey 300 dpi |" in (tmp_path / "documents.md").read_text()


def test_documents_without_any_dataset_says_so_in_one_line(tmp_path):
    """A machine without ../shared/data (or a misspelt dataset) gets one clear line, not a traceback
    from rendering an empty table."""
    run = subprocess.run([sys.executable, str(REPO / "bench" / "documents.py"), "--datasets", "no_such_dataset",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "no dataset found" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "documents.json").exists()


@pytest.mark.slow
@pytest.mark.realdata
def test_documents_on_validation_writers_takes_the_models_own_and_never_a_test_writer(tmp_path):
    """Changes are chosen on the validation writers: --validation-writers takes the writers the
    shipped model's manifest names, and no dataset's test writer."""
    require_shared_data()
    from sigverify.paths import shipped_model_dir
    from sigverify.training.known_datasets import KNOWN_DATASETS

    run = subprocess.run([sys.executable, str(REPO / "bench" / "documents.py"), "--validation-writers",
                          "--datasets", "gpds_synthetic", "--writers", "2", "--per-writer", "1", "--joint", "0",
                          "--workers", "1", "--conditions", "grey 300 dpi", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "documents.json").read_text())
    chosen = results["datasets"]["gpds_synthetic"]
    validation = json.loads((shipped_model_dir() / "manifest.json").read_text())["metrics"]["validation_writers"]
    assert results["writers"] == "validation" and chosen["writers"] == 2
    for writer in (chosen["first"], chosen["last"]):
        assert f"gpds_synthetic/{writer}" in validation
        assert not KNOWN_DATASETS["gpds_synthetic"].is_test_writer(writer)
    assert "per validation writer" in (tmp_path / "documents.md").read_text()
