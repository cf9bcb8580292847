"""The store's command line: accounts, enroll, verify --account, decide, retire, audit, backup."""

from __future__ import annotations

import json
import sqlite3

import cv2
import pytest

from sigverify.cli import main
from sigverify.synthetic import SyntheticWriter
from tests.helpers import make_tiny_model


@pytest.fixture
def env(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(make_tiny_model(tmp_path / "model")))
    writer = SyntheticWriter(31)
    paths = []
    for n in range(4):
        paths.append(tmp_path / f"s{n}.png")
        cv2.imwrite(str(paths[-1]), writer.genuine(rng))
    return tmp_path, paths


def test_account_workflow(env, capsys):
    tmp_path, paths = env
    assert main(["models", "register", str(tmp_path / "model")]) == 0  # single-user mode: a supervisor
    assert main(["accounts", "add", "NL-77", "--name", "Anna Smit"]) == 0
    assert main(["enroll", "NL-77", *map(str, paths[:3])]) == 0
    assert "enrolled 3 reference(s)" in capsys.readouterr().out
    code = main(["verify", "--account", "NL-77", str(paths[3]), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code in (0, 1, 2) and len(result["references"]) == 3 and result["verification_id"] == 1
    assert main(["decide", "1", "escalate", "--comment", "shaky strokes"]) == 0
    assert main(["retire", "2"]) == 0
    capsys.readouterr()
    assert main(["accounts", "list", "anna"]) == 0
    listing = capsys.readouterr().out
    assert "NL-77" in listing and "2 active reference(s)" in listing
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact: 8 record(s)" in capsys.readouterr().out
    assert main(["audit", "export", "--csv", "--out", str(tmp_path / "audit.csv")]) == 0
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    assert lines[0].startswith("id,at,actor") and len(lines) == 9
    assert main(["backup", str(tmp_path / "copy.db")]) == 0
    assert (tmp_path / "copy.db").is_file()


def test_bad_store_input_is_one_line_and_exit_3(env, capsys):
    tmp_path, paths = env
    assert main(["enroll", "NOPE", str(paths[0])]) == 3
    assert "unknown account 'NOPE'" in capsys.readouterr().err
    main(["accounts", "add", "A1", "--name", "X"])
    assert main(["enroll", "A1"]) == 3
    assert "no images given" in capsys.readouterr().err
    main(["enroll", "A1", str(paths[0])])
    assert main(["enroll", "A1", str(paths[0])]) == 3
    assert "already enrolled" in capsys.readouterr().err


def test_audit_verify_names_the_altered_record(env, capsys):
    tmp_path, _ = env
    for n in range(3):
        main(["accounts", "add", f"ACC{n}", "--name", f"Holder number {n}"])
    db = tmp_path / "store.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    offset = data.find(b'"holder_name":"Holder number 1"')
    data[offset + 20] ^= 0x20
    db.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["audit", "verify"]) == 6
    assert "audit chain BROKEN at record 2" in capsys.readouterr().out
