"""The accuracy benchmark's smoke mode on the shipped model, and the README tables generated from its results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.realdata.conftest import require_shared_data


@pytest.mark.slow
@pytest.mark.realdata
def test_accuracy_smoke_measures_every_dataset_present(tmp_path):
    require_shared_data()
    run = subprocess.run([sys.executable, str(REPO / "bench" / "accuracy.py"), "--smoke", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "accuracy.json").read_text())
    assert results["datasets"], "no dataset measured"
    for name, row in results["datasets"].items():
        for k, figures in row["by_k"].items():
            for key in ("eer_skilled", "eer_random", "frr_at_far1", "frr_at_far5"):
                assert 0.0 <= figures[key] <= 1.0, (name, k, key)
            # the shipped model tells writers apart far better than chance on every dataset
            assert figures["eer_random"] < 0.35, (name, k, figures["eer_random"])
            assert set(figures["ci95"]) >= {"eer_skilled", "eer_random"}
    assert "| dataset (test writers) |" in (tmp_path / "accuracy.md").read_text()


def test_readme_and_model_card_tables_are_the_generated_ones():
    """The accuracy tables in README.md and models/README.md are bench/accuracy.py's rendering of
    bench/results/accuracy.json, never typed by hand."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import accuracy
    finally:
        sys.path.remove(str(REPO / "bench"))
    results = json.loads((REPO / "bench" / "results" / "accuracy.json").read_text())
    for doc, ablation in ((REPO / "README.md", False), (REPO / "models" / "README.md", True)):
        expected = f"{accuracy.BEGIN}\n{accuracy.render(results, ablation=ablation)}\n{accuracy.END}"
        assert expected in doc.read_text(encoding="utf-8"), f"{doc.name}: run bench/accuracy.py --write-docs"
    # issue 32: the README leads with what a bank has, one to three specimens, at a bank's operating points
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(accuracy.BEGIN):readme.index(accuracy.END)]
    assert block.index("K=1: FRR @ skilled FAR 1% / 5%") < block.index("| dataset (test writers) | K |")
    assert "K=3: FRR" in block and "Ablation on the **validation** writers" not in block
    assert results["model"] == json.loads((REPO / "models" / "default" / "manifest.json").read_text())["version"]


def test_kept_ablation_carries_other_models_rows_and_drops_the_shipped_ones(tmp_path):
    """--keep-ablation: rows read from other models' manifests survive a re-run whose folders are
    gone; the shipped model's own rows are measured anew, never carried."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import accuracy
    finally:
        sys.path.remove(str(REPO / "bench"))
    previous = tmp_path / "accuracy.json"
    assert accuracy.kept_ablation(previous) == {}
    previous.write_text(json.dumps({"ablation": {
        "shipped (m-old), rule spread": {"eer_skilled": 0.1},
        "12-epoch model": {"eer_skilled": 0.116, "eer_random": 0.008}}}))
    assert accuracy.kept_ablation(previous) == {"12-epoch model": {"eer_skilled": 0.116, "eer_random": 0.008}}
