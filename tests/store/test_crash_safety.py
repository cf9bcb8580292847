"""Kill -9 in the middle of enrolments, many times: the store stays whole and loses no commit."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from sigverify.store.repository import Store
from tests.conftest import REPO
from tests.helpers import make_tiny_model

CHILD = """
import sys, io
import cv2, numpy as np
from sigverify.inference.engine import EmbeddingEngine
from sigverify.services import enroll_files
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from pathlib import Path

store, engine = Store(sys.argv[1]), EmbeddingEngine(Path(sys.argv[2]))
rng = np.random.default_rng(int(sys.argv[3]))
folder = Path(sys.argv[4])
writer = SyntheticWriter(int(sys.argv[3]))
print("ready", flush=True)
for n in range(10_000):
    paths = []
    for k in range(2):  # two references per transaction: all or nothing
        path = folder / f"{sys.argv[3]}_{n}_{k}.png"
        cv2.imwrite(str(path), writer.genuine(rng))
        paths.append(path)
    ids = enroll_files(store, engine, "CRASH-1", paths, "loop")
    print("committed", *ids, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_enrolments_loses_nothing_committed(tmp_path):
    db = tmp_path / "store.db"
    # a threshold beyond any distance of unit vectors: every specimen passes the consistency check
    # (the tiny random model knows no handwriting), so what is tested is the transactions alone
    model = make_tiny_model(tmp_path / "model", threshold=4.0)
    Store(str(db)).add_account("CRASH-1", "Crash Test", "setup")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    committed: set[int] = set()
    kills = 0
    for attempt in range(22):
        child = subprocess.Popen([sys.executable, str(script), str(db), str(model), str(attempt), str(images)],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(float(rng.uniform(0.05, 0.6)))  # somewhere in the middle of the loop
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        kills += 1
        for line in out.splitlines():
            if line.startswith("committed"):
                committed.update(int(x) for x in line.split()[1:])
    assert kills >= 20 and len(committed) > 20

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = conn.execute(
            "SELECT COUNT(*) FROM reference_signatures r LEFT JOIN embeddings e ON e.reference_id = r.id "
            "WHERE e.reference_id IS NULL OR r.image IS NULL OR length(r.image) = 0").fetchone()[0]
        assert orphans == 0
        stored = {row[0] for row in conn.execute("SELECT id FROM reference_signatures")}
        enrol_records = conn.execute("SELECT COUNT(*) FROM audit WHERE action='reference.enroll'").fetchone()[0]
    assert committed <= stored, f"committed but lost: {sorted(committed - stored)}"
    assert enrol_records == len(stored)  # every reference has its audit record, and no more
    assert len(stored) % 2 == 0  # two per transaction: never half a transaction
    report = Store(str(db)).verify_audit()
    assert report.ok, report.message()
