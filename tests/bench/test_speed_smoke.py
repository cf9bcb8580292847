"""bench/speed.py runs (tiny repeat counts) so it cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sigverify.paths import shipped_model_dir
from tests.conftest import REPO
from tests.helpers import make_tiny_model


@pytest.mark.slow
def test_speed_benchmark_smoke(tmp_path):
    model = shipped_model_dir() if (shipped_model_dir() / "manifest.json").is_file() else \
        make_tiny_model(tmp_path / "model")
    out = tmp_path / "speed.md"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, str(REPO / "bench" / "speed.py"), "--smoke", "--train", "--model",
                             str(model), "--baseline", str(model), "--out", str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = out.read_text()
    for row in ("verification end to end", "full 300-dpi cheque page", "batch embedding throughput, batch 128", "preprocessing, 300-dpi cheque",
                "torch eager vs onnxruntime CPU", "parameters: ours vs seed", "app start to interactive window",
                "training throughput, cpu", "this model against"):
        assert row in table, f"missing row: {row}\n{table}"
