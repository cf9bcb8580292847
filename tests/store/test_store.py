"""The store on a real database: enrol, verify, decide, retire, model change, audit chain, bad input."""

from __future__ import annotations

import sqlite3

import cv2
import numpy as np
import pytest

from sigverify.errors import StoreError
from sigverify.inference.engine import EmbeddingEngine
from sigverify.services import enroll_files, refresh_embeddings, verify_against_account
from sigverify.store.db import SCHEMA_VERSION
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from tests.helpers import approve_model, make_tiny_model


@pytest.fixture
def engine(tmp_path, store):
    """A tiny model that a supervisor approved in the store (recorded verifications need that)."""
    folder = make_tiny_model(tmp_path / "model", threshold=0.5)
    approve_model(store, folder)
    return EmbeddingEngine(folder)


@pytest.fixture
def files(tmp_path, rng):
    writer, other = SyntheticWriter(21), SyntheticWriter(22)
    paths = {}
    for name, image in {"r1": writer.genuine(rng), "r2": writer.genuine(rng), "r3": writer.genuine(rng),
                        "q": writer.genuine(rng), "x": other.genuine(rng)}.items():
        paths[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(paths[name]), image)
    return paths


def _audit_actions(store: Store) -> list[str]:
    return [line.split(",")[4] for line in store.export_audit_csv().strip().splitlines()[1:]]


def test_enrol_verify_decide_retire_and_audit(store, engine, files):
    store.add_account("NL01-0001", "J. Jansen", "alice")
    ids = enroll_files(store, engine, "NL01-0001", [files["r1"], files["r2"], files["r3"]], "alice")
    assert len(ids) == 3
    refs = store.references("NL01-0001")
    assert [r.filename for r in refs] == ["r1.png", "r2.png", "r3.png"]
    assert all(r.enrolled_by == "alice" and r.box[2] > 0 for r in refs)
    assert store.reference_image(ids[0]) == files["r1"].read_bytes()  # original bytes kept as scanned

    result = verify_against_account(store, engine, "NL01-0001", files["q"], "bob")
    assert len(result.decision.distances) == 3 and result.reference_ids == ids
    store.record_decision(result.verification_id, "accept", "matches the card", "bob")
    history = store.history("NL01-0001")
    assert history[0]["id"] == result.verification_id and history[0]["verdict"] == result.decision.verdict
    assert history[0]["decisions"][0]["decision"] == "accept" and history[0]["decisions"][0]["by"] == "bob"

    store.retire(ids[0], "alice")
    assert [r.id for r in store.references("NL01-0001")] == ids[1:]
    assert len(store.references("NL01-0001", active_only=False)) == 3
    again = verify_against_account(store, engine, "NL01-0001", files["q"], "bob")
    assert again.reference_ids == ids[1:]

    # the first specimens of an account without signatories are its holder's (one enrolment model)
    assert _audit_actions(store) == ["model.register", "account.create", "signatory.add"] + ["reference.enroll"] * 3 + [
        "verification", "decision", "reference.retire", "verification"]
    report = store.verify_audit()
    assert report.ok and report.records == 10


def test_model_change_recomputes_embeddings(store, tmp_path, files):
    first = EmbeddingEngine(make_tiny_model(tmp_path / "m1"))
    store.add_account("A1", "Holder", "alice")
    enroll_files(store, first, "A1", [files["r1"], files["r2"]], "alice")
    # a different model (another random projection) has its own sha256
    from tests.helpers import tiny_onnx
    import hashlib
    import json

    second_dir = make_tiny_model(tmp_path / "m2")
    data = tiny_onnx(96, 192, seed=5)
    (second_dir / "model.onnx").write_bytes(data)
    manifest = json.loads((second_dir / "manifest.json").read_text())
    manifest["sha256"], manifest["version"] = hashlib.sha256(data).hexdigest(), "tiny-test-2"
    (second_dir / "manifest.json").write_text(json.dumps(manifest))
    second = EmbeddingEngine(second_dir)
    assert second.manifest.sha256 != first.manifest.sha256

    store.activate_model(second.version, second.manifest.sha256, "supervisor")
    assert len(store.references_missing_embedding(second.manifest.sha256)) == 2
    seen = []
    assert refresh_embeddings(store, second, progress=lambda done, total: seen.append((done, total))) == 2
    assert seen[-1] == (2, 2)
    assert store.references_missing_embedding(second.manifest.sha256) == []
    ids, matrix, missing = store.reference_embeddings("A1", second.manifest.sha256)
    expected = second.embed_images([cv2.imread(str(files["r1"]), cv2.IMREAD_GRAYSCALE)])[0]
    np.testing.assert_allclose(matrix[0], expected, atol=1e-6)
    assert not missing and "model.activate" in _audit_actions(store)


def test_threshold_change_is_audited_and_bounded(store):
    store.set_threshold("v1", 0.4, (0.3, 0.6), "supervisor")
    assert store.threshold_override("v1") == pytest.approx(0.4)
    with pytest.raises(StoreError, match="outside the model's range"):
        store.set_threshold("v1", 0.9, (0.3, 0.6), "supervisor")
    store.set_threshold("v1", None, (0.3, 0.6), "supervisor")
    assert store.threshold_override("v1") is None
    assert _audit_actions(store) == ["threshold.change", "threshold.change"]


def test_bad_input_writes_nothing(store, engine, files):
    store.add_account("A1", "Holder", "alice")
    before = store.verify_audit().records
    with pytest.raises(StoreError, match="unknown account 'NOPE'"):
        enroll_files(store, engine, "NOPE", [files["r1"]], "alice")
    with pytest.raises(StoreError, match="no images given"):
        enroll_files(store, engine, "A1", [], "alice")
    enroll_files(store, engine, "A1", [files["r1"]], "alice")
    with pytest.raises(StoreError, match="already enrolled for account A1: r1.png; nothing was enrolled"):
        enroll_files(store, engine, "A1", [files["r2"], files["r1"]], "alice")
    with pytest.raises(StoreError, match="the same image is given twice"):
        enroll_files(store, engine, "A1", [files["r2"], files["r2"]], "alice")
    assert [r.filename for r in store.references("A1")] == ["r1.png"]  # r2 was not half-enrolled
    assert store.verify_audit().records == before + 2  # the holder as signatory, and r1
    with pytest.raises(StoreError, match="already exists"):
        store.add_account("A1", "Again", "alice")
    with pytest.raises(StoreError, match="unknown verification"):
        store.record_decision(999, "accept", "", "bob")
    with pytest.raises(StoreError, match="decision must be one of"):
        store.record_decision(1, "maybe", "", "bob")


def test_verify_without_references_is_refused(store, engine, files):
    store.add_account("EMPTY", "Nobody", "alice")
    with pytest.raises(StoreError, match="no active reference signatures"):
        verify_against_account(store, engine, "EMPTY", files["q"], "bob")


def test_escalation_needs_a_comment(store, engine, files):
    store.add_account("A1", "Holder", "alice")
    enroll_files(store, engine, "A1", [files["r1"]], "alice")
    result = verify_against_account(store, engine, "A1", files["q"], "bob")
    with pytest.raises(StoreError, match="escalation needs a comment"):
        store.record_decision(result.verification_id, "escalate", " ", "bob")


def test_search_accounts(store):
    store.add_account("NL01-0001", "Jan Jansen", "a")
    store.add_account("NL02-0002", "Piet de Vries", "a")
    assert [a.number for a in store.find_accounts("jansen")] == ["NL01-0001"]
    assert [a.number for a in store.find_accounts("nl0")] == ["NL01-0001", "NL02-0002"]
    assert [a.number for a in store.find_accounts("")] == ["NL01-0001", "NL02-0002"]


def test_schema_version_and_reopen(store_url):
    Store(store_url).add_account("A1", "Holder", "a")
    reopened = Store(store_url)  # migrations run on start and keep the data
    assert reopened.account("A1").holder_name == "Holder"
    assert reopened.get_setting("missing", "x") == "x"
    from sqlalchemy import text

    with reopened.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar() == str(SCHEMA_VERSION)


def test_sqlite_pragmas(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    from sqlalchemy import text

    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="newer than this SigVerify"):
        Store(str(path))


def test_flipping_one_byte_of_an_audit_record_is_named(tmp_path, engine, files):
    path = tmp_path / "s.db"
    store = Store(str(path))
    store.add_account("ACC-1", "Holder One", "alice")
    store.add_account("ACC-2", "Holder Two", "alice")
    store.add_account("ACC-3", "Marker Holder XYZZY", "alice")  # record 3
    store.add_account("ACC-4", "Holder Four", "alice")
    assert store.verify_audit().ok
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    # the account row and the audit row both hold the name; the audit row's JSON has quotes around it
    needle = b'"holder_name":"Marker Holder XYZZY"'
    offset = data.find(needle)
    assert offset > 0 and data.find(needle, offset + 1) == -1
    data[offset + len(b'"holder_name":"Marker Holder XYZ')] ^= 0x01  # 'Z' becomes '['
    path.write_bytes(bytes(data))
    report = Store(str(path)).verify_audit()
    assert not report.ok and report.first_broken == 3
    assert "record 3" in report.message() and "altered" in report.message()


def test_deleting_an_audit_record_is_detected(tmp_path):
    path = tmp_path / "s.db"
    store = Store(str(path))
    for n in range(4):
        store.add_account(f"A{n}", "H", "a")
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM audit WHERE id = 2")
    report = Store(str(path)).verify_audit()
    assert not report.ok and report.first_broken == 2 and "missing" in report.reason


def test_backup_while_in_use(tmp_path, engine, files):
    store = Store(str(tmp_path / "live.db"))
    store.add_account("A1", "Holder", "alice")
    enroll_files(store, engine, "A1", [files["r1"], files["r2"]], "alice")
    copy = store.backup(tmp_path / "backup.db")
    store.add_account("A2", "Later", "alice")  # the live store goes on
    restored = Store(str(copy))
    assert [a.number for a in restored.find_accounts()] == ["A1"]
    assert len(restored.references("A1")) == 2
    # the copy is the same store, behind what this computer saw: reported until re-anchored
    report = restored.verify_audit()
    assert not report.ok and "is gone" in report.message(), report.message()
    restored.reanchor("alice")  # single-user mode: the one supervisor re-anchors alone
    assert restored.verify_audit().ok
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pytest.raises(StoreError, match="exists already"):
        store.backup(copy)


def test_a_bad_file_among_references_is_named_and_nothing_is_enrolled(store, engine, files, tmp_path):
    from sigverify.errors import BadImageError

    store.add_account("A9", "Holder", "alice")
    empty = tmp_path / "scan_007.png"
    empty.write_bytes(b"")
    with pytest.raises(BadImageError, match="scan_007.png: the file is empty"):
        enroll_files(store, engine, "A9", [files["r1"], empty], "alice")
    assert store.references("A9") == []


def test_verification_refreshes_only_the_accounts_own_missing_embeddings(store, tmp_path, files):
    """A model change must not make one clerk's verification recompute the whole store."""
    import hashlib
    import json

    from tests.helpers import tiny_onnx

    first = EmbeddingEngine(make_tiny_model(tmp_path / "m1"))
    for number in ("A1", "A2"):
        store.add_account(number, "Holder", "alice")
    enroll_files(store, first, "A1", [files["r1"], files["r2"]], "alice")
    enroll_files(store, first, "A2", [files["r3"]], "alice")
    second_dir = make_tiny_model(tmp_path / "m2")
    data = tiny_onnx(96, 192, seed=7)
    (second_dir / "model.onnx").write_bytes(data)
    manifest = json.loads((second_dir / "manifest.json").read_text())
    manifest["sha256"], manifest["version"] = hashlib.sha256(data).hexdigest(), "tiny-test-3"
    (second_dir / "manifest.json").write_text(json.dumps(manifest))
    second = EmbeddingEngine(second_dir)
    approve_model(store, second_dir)
    verify_against_account(store, second, "A1", files["q"], "bob")
    still_missing = store.references_missing_embedding(second.manifest.sha256)
    assert still_missing == [r.id for r in store.references("A2")]  # A2 untouched
