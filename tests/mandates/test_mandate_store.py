"""Roles, four-eyes approval and document decisions in the store layer, on a real SQLite file."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from sigverify.errors import StoreError
from sigverify.imaging.preprocess import preprocess_with_box
from sigverify.inference.engine import EmbeddingEngine
from sigverify.mandates.document import decide_document
from sigverify.mandates.rules import RuleError
from sigverify.store.auth import Actor, PermissionDenied, check_password, hash_password
from sigverify.store.mandates import MandateStore, enrolment_payload
from sigverify.store.db import SCHEMA_VERSION
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from tests.helpers import approve_model, make_tiny_model

ROOT = Actor("root", "supervisor")


@pytest.fixture
def bank(tmp_path):
    store = Store(str(tmp_path / "bank.db"))
    users = store.users
    alice = users.add("alice", "supervisor", "correct horse", by=ROOT)  # the first user must be a supervisor
    bob = users.add("bob", "supervisor", "battery staple", by=alice)
    carol = users.add("carol", "clerk", "clerk pass", by=alice)
    store.add_account("JOINT-1", "De Vries & Jansen", "alice")
    # lenient: these synthetic signatures are judged genuine, so outcomes follow the rules and flags
    folder = make_tiny_model(tmp_path / "model", threshold=5.0)
    approve_model(store, folder, alice, second=bob)
    engine = EmbeddingEngine(folder)
    return {"store": store, "m": MandateStore(store), "alice": alice, "bob": bob, "carol": carol, "engine": engine,
            "tmp": tmp_path}


def _add_signatory(bank, name, panel, limit=None):
    m = bank["m"]
    change = m.request(bank["alice"], "signatory", "JOINT-1", {"name": name, "panel": panel, "approval_limit": limit})
    m.approve(bank["bob"], change)
    return next(s for s in m.signatories("JOINT-1") if s.name == name)


def _enrol(bank, signatory, image, name, expires_on=None):
    engine = bank["engine"]
    ok, encoded = cv2.imencode(".png", image)
    prepared = preprocess_with_box(image, engine.manifest.preprocessing)
    embedding = engine.embed_canvases(prepared.canvas[None])[0]
    payload = enrolment_payload(signatory.id, name, prepared.box, embedding, engine.manifest.sha256, expires_on)
    change = bank["m"].request(bank["alice"], "enroll", "JOINT-1", payload, attachment=encoded.tobytes())
    bank["m"].approve(bank["bob"], change)


def test_passwords_are_salted_pbkdf2():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and first.startswith("pbkdf2_sha256$600000$")
    assert check_password("s3cret", first) and not check_password("wrong", first)


def test_sign_in(bank):
    users = bank["store"].users
    assert users.sign_in("bob", "battery staple") == Actor("bob", "supervisor")
    with pytest.raises(PermissionDenied, match="unknown user or wrong password"):
        users.sign_in("bob", "nope")
    with pytest.raises(PermissionDenied, match="must sign in"):
        users.os_user("mallory")


def test_a_clerk_is_refused_supervisor_actions_in_the_store_layer(bank):
    store, m, carol = bank["store"], bank["m"], bank["carol"]
    with pytest.raises(PermissionDenied, match="carol is a clerk: only a supervisor may request a rule change"):
        m.request(carol, "rule", "JOINT-1", {"rule": {"bands": [{"up_to": None, "count": 1}]}})
    with pytest.raises(PermissionDenied, match="only a supervisor may enrol specimens"):
        store.enroll("JOINT-1", [], "sha", carol)
    with pytest.raises(PermissionDenied, match="only a supervisor may change thresholds"):
        store.set_threshold("v", 0.3, (0.1, 0.5), carol)
    with pytest.raises(PermissionDenied, match="only a supervisor may activate a model"):
        store.activate_model("v", "sha", carol)
    with pytest.raises(PermissionDenied, match="only a supervisor may add users"):
        store.users.add("eve", "supervisor", "x", by=carol)
    # a name alone resolves to its role too: the CLI cannot claim to be someone more powerful
    with pytest.raises(PermissionDenied):
        store.set_threshold("v", 0.3, (0.1, 0.5), "carol")


def test_changes_wait_for_a_second_supervisor(bank):
    store, m, alice, bob = bank["store"], bank["m"], bank["alice"], bank["bob"]
    change = m.request(alice, "signatory", "JOINT-1", {"name": "Anna de Vries", "panel": "A"})
    assert m.signatories("JOINT-1") == []  # no effect until approved
    with pytest.raises(PermissionDenied, match="second supervisor"):
        m.approve(alice, change)
    assert [p.id for p in m.pending()] == [change]
    m.approve(bob, change)
    assert [s.name for s in m.signatories("JOINT-1")] == ["Anna de Vries"]
    with pytest.raises(StoreError, match="already approved"):
        m.approve(bob, change)
    # direct enrolment bypassing the approval is refused, even to a supervisor
    with pytest.raises(PermissionDenied, match="needs a second supervisor's approval"):
        store.enroll("JOINT-1", [], "sha", alice)
    rule_change = m.request(alice, "rule", "JOINT-1", {"rule": {"bands": [{"up_to": None, "count": 1}]}})
    m.reject(bob, rule_change, "not what the mandate says")
    assert m.mandate("JOINT-1").describe() == "above 0: any one"  # the default stays


@pytest.mark.parametrize("kind,payload,message", [
    ("rule", {"rule": {"bands": [{"up_to": None, "count": 3}]}}, "never be satisfied"),
    ("rule", {"rule": "{broken"}, "not valid JSON"),
    ("signatory", {"name": "  "}, "name is missing"),
    ("enroll", {"signatory_id": 999, "filename": "x.png"}, "does not belong to account"),
])
def test_bad_requests_write_nothing(bank, kind, payload, message):
    m = bank["m"]
    _add_signatory(bank, "Anna", "A")
    records = bank["store"].verify_audit().records
    with pytest.raises((RuleError, StoreError), match=message):
        m.request(bank["alice"], kind, "JOINT-1", payload)
    assert m.pending() == [] and bank["store"].verify_audit().records == records


def test_two_signature_document_on_a_joint_account_end_to_end(bank, rng):
    store, m, alice, bob, carol, engine = (bank[k] for k in ("store", "m", "alice", "bob", "carol", "engine"))
    anna_hand, piet_hand = SyntheticWriter(301), SyntheticWriter(302)
    anna = _add_signatory(bank, "Anna", "A")
    piet = _add_signatory(bank, "Piet", "B", limit=100000)
    for i in range(3):
        _enrol(bank, anna, anna_hand.genuine(rng), f"anna{i}.png")
        _enrol(bank, piet, piet_hand.genuine(rng), f"piet{i}.png")
    _enrol(bank, piet, piet_hand.genuine(rng), "piet_old.png", expires_on="2001-01-01")  # expired: not used
    rule = {"bands": [{"up_to": 1000, "count": 1}, {"up_to": None, "count": 2, "panels": {"A": 1, "B": 1}}]}
    m.approve(bob, m.request(alice, "rule", "JOINT-1", {"rule": rule}))
    from sigverify.services import refresh_embeddings

    refresh_embeddings(store, engine)  # approved specimens: embedded from their images (issue 30, item 7)
    assert len(m.specimen_embeddings("JOINT-1", engine.manifest.sha256)[piet.id]) == 3

    # a cheque with both signatures side by side
    page = np.full((400, 1400), 245, np.uint8)
    a, p = anna_hand.genuine(rng), piet_hand.genuine(rng)
    page[150 : 150 + a.shape[0], 80 : 80 + a.shape[1]] = a
    page[150 : 150 + p.shape[0], 800 : 800 + p.shape[1]] = p
    ok, encoded = cv2.imencode(".png", page)
    boxes = [(70, 140, a.shape[1] + 20, a.shape[0] + 20), (790, 140, p.shape[1] + 20, p.shape[0] + 20)]
    decision = decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), "25,000.00", boxes=boxes)
    assert [mt.signatory for mt in decision.matches] == ["Anna", "Piet"]  # each matched to its own hand
    assert all(mt.verdict == "genuine" for mt in decision.matches)
    assert decision.outcome == "accepted" and "satisfied" in decision.explanation
    anna_distance = decision.matches[0].distance

    # only one signature for a large amount: the document is incomplete (not a forgery)
    one = decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), 25000, boxes=boxes[:1])
    assert one.outcome == "rejected" and one.explanation.startswith("too few signatures") and "has 1" in one.explanation
    # the same single signature is enough below 1,000
    small = decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), 500, boxes=boxes[:1])
    assert small.outcome == "accepted"
    # Piet's limit (100,000) stops him above it: two signatures no longer satisfy "one from B"
    with pytest.raises(StoreError, match="cannot be verified automatically .* limit is 100,000.00"):
        decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), 250000, boxes=boxes)

    # an always-refer account goes to the queue; a clerk may not decide it, a supervisor may
    m.set_account_flags(alice, "JOINT-1", always_refer=True, instructions="call the client above 10,000")
    queued = decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), 25000, boxes=boxes)
    assert queued.outcome == "review" and "always refer" in queued.explanation
    assert queued.document_id in [d["id"] for d in m.queue()]
    with pytest.raises(PermissionDenied):
        m.review(carol, queued.document_id, "OK")
    m.review(bob, queued.document_id, "aside")
    assert m.document(queued.document_id)["status"] == "aside"
    m.review(bob, queued.document_id, "OK", "called the client")
    assert m.document(queued.document_id)["review_decision"] == "OK"
    assert queued.document_id not in [d["id"] for d in m.queue()]

    # with a strict model the same signatures are judged forged and the document is rejected
    strict_folder = make_tiny_model(bank["tmp"] / "strict", threshold=anna_distance / 4)
    approve_model(store, strict_folder, alice, second=bank["bob"])
    strict = EmbeddingEngine(strict_folder)
    from sigverify.services import refresh_embeddings

    refresh_embeddings(store, strict)
    change = m.set_account_flags(alice, "JOINT-1", always_refer=False, instructions="")
    assert store.account("JOINT-1").always_refer  # turning it off waits for a second supervisor
    m.approve(bank["bob"], change)
    forged = decide_document(store, strict, carol, "JOINT-1", encoded.tobytes(), 25000, boxes=boxes)
    assert forged.outcome == "rejected" and "judged forged" in forged.explanation

    report = store.verify_audit()
    assert report.ok
    actions = [line.split(",")[4] for line in store.export_audit_csv().splitlines()[1:]]
    for expected in ("user.add", "change.request", "change.approve", "reference.enroll", "document.verify",
                     "account.flags"):
        assert expected in actions
    roles = {line.split(",")[2]: line.split(",")[3] for line in store.export_audit_csv().splitlines()[1:]}
    assert roles["carol"] == "clerk" and roles["bob"] == "supervisor"


def test_document_bad_input_writes_nothing(bank, rng):
    store, m, engine, carol = bank["store"], bank["m"], bank["engine"], bank["carol"]
    anna = _add_signatory(bank, "Anna", "A")
    _add_signatory(bank, "Piet", "B")  # Piet has no specimen
    _enrol(bank, anna, SyntheticWriter(5).genuine(rng), "a.png")
    rule = {"bands": [{"up_to": None, "count": 2}]}
    m.approve(bank["bob"], m.request(bank["alice"], "rule", "JOINT-1", {"rule": rule}))
    from sigverify.services import refresh_embeddings

    refresh_embeddings(store, engine)  # the approved specimen's embedding, from its image
    ok, encoded = cv2.imencode(".png", SyntheticWriter(5).genuine(rng))
    before = store.verify_audit().records
    with pytest.raises(RuleError, match="is not a number"):
        decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), "12 thousand")
    with pytest.raises(StoreError, match="no valid specimen for Piet"):
        decide_document(store, engine, carol, "JOINT-1", encoded.tobytes(), 100)
    assert store.verify_audit().records == before and m.queue() == []


def _as_written_before_schema_3(conn) -> None:
    """The audit trail as schema 1-2 wrote it: no row digests (else the store refuses the upgrade as
    a lowered version, issue 30 item 2)."""
    import json

    from sigverify.store import audit as audit_chain

    prev = audit_chain.GENESIS
    for rid, at, actor, role, action, subject, details in conn.execute(
            "SELECT id, at, actor, role, action, subject, details FROM audit ORDER BY id").fetchall():
        body = audit_chain.canonical({k: v for k, v in json.loads(details).items() if k != "rows"})
        digest = audit_chain.record_hash(rid, at, actor, role, action, subject, body, prev)
        conn.execute("UPDATE audit SET details = ?, prev_hash = ?, hash = ? WHERE id = ?", (body, prev, digest, rid))
        prev = digest


def test_a_version_1_store_migrates_to_the_current_schema(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    Store(str(path)).add_account("A1", "Old", "x")
    with sqlite3.connect(path) as conn:
        for table in ("batch_rows", "identifications", "mandate_rules", "mandate_files", "pending_changes",
                      "document_signatures", "documents"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
        _as_written_before_schema_3(conn)
    store = Store(str(path))
    assert store.account("A1").holder_name == "Old"
    assert MandateStore(store).queue() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_version_3_store_gains_identification_and_clearing_tables(tmp_path):
    import sqlite3

    from sigverify.store.identifications import IdentificationLog

    path = tmp_path / "v3.db"
    Store(str(path)).add_account("A1", "Old", "x")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE batch_rows")
        conn.execute("DROP TABLE identifications")
        conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    store = Store(str(path))
    assert IdentificationLog(store).recent() == [] and store.verify_audit().ok
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"batch_rows", "identifications"} <= tables
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "4"


def test_a_version_2_store_gains_supervisor_approval_and_keeps_its_users_active(tmp_path):
    import sqlite3

    from sigverify.store.auth import Actor

    path = tmp_path / "v2.db"
    store = Store(str(path))
    store.users.add("sup1", "supervisor", "pw-1", by=Actor("root", "supervisor"))
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE users DROP COLUMN status")
        conn.execute("ALTER TABLE users DROP COLUMN created_by")
        conn.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
        _as_written_before_schema_3(conn)
    store = Store(str(path))
    assert store.users.sign_in("sup1", "pw-1") == Actor("sup1", "supervisor")
    assert store.users.status("sup1") == "active"
