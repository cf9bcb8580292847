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
    # (one record more since the first enrolment names the holder as the account's signatory)
    assert "audit chain intact: 9 record(s)" in capsys.readouterr().out
    assert main(["audit", "export", "--csv", "--out", str(tmp_path / "audit.csv")]) == 0
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    assert lines[0].startswith("id,at,actor") and len(lines) == 10
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


def test_verify_account_on_a_whole_cheque_finds_the_signature_and_refers_a_stamped_one(tmp_path, rng, monkeypatch,
                                                                                        capsys):
    """Issue 29: `verify --account` on a page compared the whole page (distance 2.27, FORGED). Now the
    page's signature is found and cleaned, and one under a stamp in the pen's colour is referred."""
    import numpy as np

    from sigverify.paths import shipped_model_dir
    from sigverify.synthetic_document import CONDITIONS, make_document

    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(shipped_model_dir()))
    writer = SyntheticWriter(41)
    samples = [cv2.resize(s, (s.shape[1] * 2, s.shape[0] * 2)) for s in (writer.genuine(rng) for _ in range(5))]
    for n, sample in enumerate(samples):
        cv2.imwrite(str(tmp_path / f"s{n}.png"), sample)
    assert main(["accounts", "add", "NL-88", "--name", "Piet Jansen"]) == 0
    assert main(["enroll", "NL-88", *(str(tmp_path / f"s{n}.png") for n in range(4))]) == 0
    capsys.readouterr()

    def verify(path) -> dict:
        main(["verify", "--account", "NL-88", str(path), "--json"])
        return json.loads(capsys.readouterr().out)

    crop = verify(tmp_path / "s4.png")
    page = make_document([samples[4]], CONDITIONS["grey 300 dpi"], np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "cheque.png"), page.pixels)
    on_page = verify(tmp_path / "cheque.png")
    assert abs(on_page["distance"] - crop["distance"]) < 0.2 and on_page["verdict"] != "forged"
    assert on_page["refer_reasons"] == []
    stamped = None
    for seed in range(8):
        document = make_document([samples[4]], CONDITIONS["black or grey stamp over the signature"],
                                 np.random.default_rng(seed), pen="black")
        cv2.imwrite(str(tmp_path / "stamped.png"), cv2.cvtColor(document.pixels, cv2.COLOR_RGB2BGR))
        result = verify(tmp_path / "stamped.png")
        if result["refer_reasons"]:
            stamped = result
            break
    assert stamped is not None and stamped["verdict"] == "refer" and "stamp" in stamped["refer_reasons"][0]
