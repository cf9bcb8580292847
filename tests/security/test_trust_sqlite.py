"""Issue 30, items 1-4 and 13 on one workstation's SQLite store: what someone who can write the store
file (and run every command, and read the code) can no longer do unseen or alone."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from sigverify.errors import StoreError
from sigverify.store import audit as audit_chain
from sigverify.store.auth import Actor, PermissionDenied
from sigverify.store.mandates import MandateStore
from sigverify.store.repository import Store

ALICE, BOB = Actor("alice", "supervisor"), Actor("bob", "supervisor")


@pytest.fixture
def bank(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    path = tmp_path / "bank.db"
    store = Store(str(path))
    alice = store.users.add("alice", "supervisor", "correct horse", by=Actor("root", "supervisor"))
    store.users.add("bob", "supervisor", "battery staple", by=alice)
    store.users.add("carol", "clerk", "clerk pass", by=alice)
    store.add_account("NL-1", "Holder", "alice")
    store.record_verification("NL-1", b"cheque", "q.png", "m", "0" * 64, [], 1.9, 0.1, 1.1, "forged", "carol")
    assert store.verify_audit().ok
    yield {"store": store, "path": path}
    store.close()


def _forge_record(path, action: str, subject: str, details: dict, rows: list[tuple[str, object]]) -> None:
    """What an attacker who read store/audit.py appends: the right hash, the edited rows' digests."""
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        audit_chain.append(conn, "2026-12-06T00:00:00+00:00", "carol", action, subject, details, role="clerk",
                           rows=rows)
    engine.dispose()


def test_an_edited_verdict_with_a_forged_audit_record_is_seen(bank):
    """Item 1: the verdict edited to genuine plus one well-formed record after it: intact before."""
    with sqlite3.connect(bank["path"]) as conn:
        conn.execute("UPDATE verifications SET verdict = 'genuine' WHERE id = 1")
    _forge_record(bank["path"], "verification.fix", "NL-1", {}, [("verifications", 1)])
    report = bank["store"].verify_audit()
    assert not report.ok and "added after the last record" in report.message(), report.message()
    assert not bank["store"].verify_audit().ok  # checking never moves the anchor onto the forged record


def test_a_commit_whose_anchoring_was_cut_short_is_recognised_as_sigverifys_own(bank):
    """Killed between its commit and its anchor (the anchor file as it was before the write):
    the head noted just before the commit vouches for it; without that note it is reported."""
    store = bank["store"]
    before = store.anchor.path.read_bytes()
    store.add_account("NL-2", "Second holder", "alice")
    store.anchor.path.write_bytes(before)  # the anchor never advanced
    assert store.verify_audit().ok, store.verify_audit().message()
    store.anchor.expected_path.unlink()
    report = store.verify_audit()
    assert not report.ok and "added after the last record" in report.message(), report.message()


def test_a_head_noted_but_never_committed_vouches_for_nothing_else(bank):
    """A note left by a transaction that did not commit cannot cover a record forged in its place."""
    store = bank["store"]
    with store.read() as conn:
        record, _ = audit_chain.head(conn)
    store.anchor.expect(record + 1, "f" * 64)
    _forge_record(bank["path"], "verification.fix", "NL-1", {}, [("verifications", 1)])
    assert not store.verify_audit().ok


def test_a_supervisor_inserted_with_a_fake_approval_is_seen(bank):
    with sqlite3.connect(bank["path"]) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(users)") if r[1] != "id"]
        values = {"name": "mallory", "role": "supervisor", "status": "active", "created_by": "alice",
                  "created_at": "2026-12-06T00:00:00+00:00"}
        conn.execute(f"INSERT INTO users ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                     [values.get(c, "x") for c in columns])
        user_id = conn.execute("SELECT id FROM users WHERE name = 'mallory'").fetchone()[0]
    _forge_record(bank["path"], "user.approve", "mallory", {"approved_by": "bob"}, [("users", user_id)])
    assert not bank["store"].verify_audit().ok


def test_a_lowered_schema_version_is_refused_not_vouched_for(bank):
    """Item 2: the migration's baseline vouched for every row as it stood after the edit."""
    bank["store"].close()
    with sqlite3.connect(bank["path"]) as conn:
        conn.execute("UPDATE verifications SET verdict = 'genuine' WHERE id = 1")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="lowered"):
        Store(str(bank["path"]))
    with sqlite3.connect(bank["path"]) as conn:  # and nothing was written
        assert conn.execute("SELECT count(*) FROM audit WHERE action = 'audit.baseline'").fetchone()[0] == 0


def test_a_deleted_anchor_or_a_changed_store_identity_is_seen(bank, tmp_path):
    """Item 3: "intact (no anchor yet)" after the anchor was deleted; a copy had no anchor at all."""
    shutil.rmtree(tmp_path / "home" / "audit-anchors")
    report = bank["store"].verify_audit()
    assert not report.ok and "no anchor" in report.message()


def test_a_copy_elsewhere_meets_the_same_anchor(bank, tmp_path):
    store = bank["store"]
    copy = tmp_path / "elsewhere" / "copy.db"
    copy.parent.mkdir()
    store.backup(copy)
    assert Store(str(copy)).verify_audit().ok  # the same history: intact
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE verifications SET verdict = 'genuine' WHERE id = 1")
    _forge_record(copy, "verification.fix", "NL-1", {}, [("verifications", 1)])
    assert not Store(str(copy)).verify_audit().ok
    with sqlite3.connect(copy) as conn:  # a new identity for the copy: then it has no anchor here
        conn.execute("UPDATE meta SET value = 'feedface' WHERE key = 'store_id'")
    report = Store(str(copy)).verify_audit()
    assert not report.ok and "no anchor" in report.message()


def test_audit_verify_reads_a_store_nobody_may_write(bank):
    """Item 13: a read-only store could not even be checked."""
    bank["store"].close()
    read_only = Store(f"sqlite:///file:{bank['path']}?mode=ro&uri=true")
    assert read_only.verify_audit().ok


@pytest.mark.parametrize("change", ["register", "activate", "threshold", "bands", "always_refer_off", "reanchor"])
def test_one_supervisor_alone_cannot_loosen_what_is_accepted(bank, change):
    """Item 4: each of these by one supervisor waits, unapplied, for a second one."""
    store = bank["store"]
    mandates = MandateStore(store)
    if change == "always_refer_off":
        mandates.set_account_flags(ALICE, "NL-1", True, "")  # turning it on needs no second pair of eyes
        assert store.account("NL-1").always_refer
    before = store.get_setting("amount_bands"), store.get_setting("active_model"), store.get_setting("threshold:m")
    requested = {
        "register": lambda: store.approve_model("m2", "d" * 64, ALICE),
        "activate": lambda: store.activate_model("m2", "s" * 64, ALICE),
        "threshold": lambda: store.set_threshold("m", 4.0, (0.5, 5.0), ALICE),
        "bands": lambda: mandates.set_amount_bands(ALICE, [{"up_to": None, "max_far": 1.0}]),
        "always_refer_off": lambda: mandates.set_account_flags(ALICE, "NL-1", False, ""),
        "reanchor": lambda: store.reanchor(ALICE),
    }[change]()
    assert isinstance(requested, int)
    assert (store.get_setting("amount_bands"), store.get_setting("active_model"),
            store.get_setting("threshold:m")) == before
    assert not store.model_approved("d" * 64)
    if change == "always_refer_off":
        assert store.account("NL-1").always_refer
    with pytest.raises(PermissionDenied, match="second supervisor"):
        mandates.approve(ALICE, requested)
    mandates.approve(BOB, requested)
    after = {"register": lambda: store.model_approved("d" * 64),
             "activate": lambda: "m2" in (store.get_setting("active_model") or ""),
             "threshold": lambda: store.threshold_override("m") == 4.0,
             "bands": lambda: store.get_setting("amount_bands") is not None,
             "always_refer_off": lambda: not store.account("NL-1").always_refer,
             "reanchor": lambda: True}[change]()
    assert after and store.verify_audit().ok


def test_nobody_reviews_a_document_they_submitted(bank):
    mandates = MandateStore(bank["store"])
    doc = mandates.record_document(ALICE, "NL-1", 10.0, b"img", "c.png", "m", "review", "refer", [])
    with pytest.raises(PermissionDenied, match="another supervisor"):
        mandates.review(ALICE, doc, "OK")
    mandates.review(BOB, doc, "OK")


def test_two_supervisors_approving_at_once_apply_a_change_once(bank):
    """Item 13: 5 of 10 tries applied the change twice."""
    path = bank["path"]
    for attempt in range(6):
        change = MandateStore(bank["store"]).request(ALICE, "signatory", "NL-1",
                                                      {"name": f"Ann {attempt}", "panel": "A", "approval_limit": None})
        stores = [Store(str(path)) for _ in range(2)]
        outcomes, start = [], threading.Barrier(2)

        def approve(store, who):
            start.wait()
            try:
                MandateStore(store).approve(who, change)
                outcomes.append("applied")
            except StoreError as exc:
                outcomes.append(str(exc))

        bob2 = Actor("bob", "supervisor")
        threads = [threading.Thread(target=approve, args=(s, who)) for s, who in zip(stores, (BOB, bob2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("applied") == 1, outcomes
        names = [s.name for s in MandateStore(bank["store"]).signatories("NL-1")]
        assert names.count(f"Ann {attempt}") == 1
        for s in stores:
            s.close()
    assert bank["store"].verify_audit().ok


def test_a_crash_while_approving_applies_nothing(bank, monkeypatch):
    """Item 13: after the crash window, rejecting the change left the specimen active."""
    import numpy as np

    from sigverify.store.mandates import enrolment_payload

    store = bank["store"]
    mandates = MandateStore(store)
    mandates.approve(BOB, mandates.request(ALICE, "signatory", "NL-1", {"name": "Ann", "panel": "A",
                                                                        "approval_limit": None}))
    ann = mandates.signatories("NL-1")[0]
    payload = enrolment_payload(ann.id, "a.png", (0, 0, 10, 10), np.full(16, 0.25, np.float32), "m" * 64)
    change = mandates.request(ALICE, "enroll", "NL-1", payload, attachment=b"png")
    real_append = audit_chain.append

    def crash_at_the_approval_record(conn, at, actor, action, *args, **kwargs):
        if action == "change.approve":
            raise OSError("the process stopped here")
        return real_append(conn, at, actor, action, *args, **kwargs)

    monkeypatch.setattr(audit_chain, "append", crash_at_the_approval_record)
    with pytest.raises(OSError):
        mandates.approve(BOB, change)
    monkeypatch.setattr(audit_chain, "append", real_append)
    assert store.references("NL-1") == []  # the specimen went with the failed approval
    mandates.reject(BOB, change, "not this one")
    assert store.references("NL-1") == [] and store.verify_audit().ok


def test_an_approved_specimen_gets_its_embedding_from_its_image(bank, tmp_path):
    """Item 7: five requests with Bob's images but another writer's embeddings, approved by a
    supervisor looking at Bob's images, made that writer GENUINE on Bob's account."""
    import cv2
    import numpy as np

    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.services import refresh_embeddings
    from sigverify.store.mandates import enrolment_payload
    from sigverify.synthetic import SyntheticWriter
    from tests.helpers import make_tiny_model

    engine = EmbeddingEngine(make_tiny_model(tmp_path / "model", embedding=16), provider="cpu")
    store, mandates = bank["store"], MandateStore(bank["store"])
    mandates.approve(BOB, mandates.request(ALICE, "signatory", "NL-1", {"name": "Bob", "panel": "A",
                                                                        "approval_limit": None}))
    signatory = mandates.signatories("NL-1")[0]
    bobs = SyntheticWriter(3).genuine(np.random.default_rng(0))
    someone_else = engine.embed_images([SyntheticWriter(11).genuine(np.random.default_rng(0))])[0]
    payload = enrolment_payload(signatory.id, "bob.png", (0, 0, 10, 10), someone_else, engine.manifest.sha256)
    change = mandates.request(ALICE, "enroll", "NL-1", payload, attachment=cv2.imencode(".png", bobs)[1].tobytes())
    mandates.approve(BOB, change)
    ids, _, missing = store.reference_embeddings("NL-1", engine.manifest.sha256)
    assert ids == [] and len(missing) == 1  # the requester's vector was not kept
    refresh_embeddings(store, engine, reference_ids=missing)
    _, matrix, _ = store.reference_embeddings("NL-1", engine.manifest.sha256)
    assert np.allclose(matrix[0], engine.embed_images([bobs])[0], atol=1e-5)
    assert not np.allclose(matrix[0], someone_else, atol=1e-3)
    assert store.verify_audit().ok
