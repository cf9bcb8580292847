"""The identification benchmark's quick run: the index against exact search, and real writers when present."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.realdata.conftest import present_datasets


def test_identify_smoke_measures_the_index_against_exact_search(tmp_path):
    command = [sys.executable, str(REPO / "bench" / "identify.py"), "--sizes", "5000", "--kinds", "faiss",
               "--smoke", "--out", str(tmp_path / "identify.md")]
    if not present_datasets():
        command.append("--no-real")
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "identify.json").read_text())
    exact, hnsw = results["scaling"]
    assert exact["index"] == "exact (numpy)" and hnsw["index"].startswith("HNSW (faiss")
    assert hnsw["recall_at_1"] >= 0.95 and hnsw["p50_ms"] > 0
    for name, row in (results["real"] or {"datasets": {}})["datasets"].items():
        assert 0.0 <= row["open_set"]["false_match_rate"] <= 1.0 and row["open_set"]["rank1"] > 0.5, name
    assert "| specimens | index |" in (tmp_path / "identify.md").read_text()
