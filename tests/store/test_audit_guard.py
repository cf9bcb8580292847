"""The audit trail's anchor and row digests on both back ends (SQLite file and PostgreSQL server):
edits made with plain SQL, behind the store's back, are found by verify_audit."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from sigverify.store.repository import EnrolItem


def _busy(store) -> None:
    store.add_account("A1", "Holder", "setup")
    store.enroll("A1", [EnrolItem(b"image-one", "one.png", (0, 0, 10, 5), np.ones(8, np.float32)),
                        EnrolItem(b"image-two", "two.png", (1, 1, 10, 5), np.zeros(8, np.float32))], "m" * 64, "setup")
    verification = store.record_verification("A1", b"questioned", "q.png", "v1", "m" * 64, [(1, 0.4), (2, 0.6)],
                                              0.5, 0.2, 0.45, "forged", "setup")
    store.record_decision(verification, "reject", "", "setup")
    store.approve_model("v1", "d" * 64, "setup")


@pytest.mark.parametrize("statement, words", [
    ("UPDATE verifications SET verdict = 'genuine'", "altered"),
    ("DELETE FROM decisions", "deleted"),
    ("INSERT INTO settings (key, value, changed_by, changed_at) VALUES ('model:x', '{}', 'x', 'now')",
     "in no audit record"),
    ("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)", "is gone"),
    ("DELETE FROM audit", "is gone"),
])
def test_plain_sql_edits_are_found(store, statement, words):
    _busy(store)
    assert store.verify_audit().ok
    with store.engine.begin() as conn:
        conn.execute(text(statement))
    report = store.verify_audit()
    assert not report.ok and words in report.message(), report.message()


def test_an_untouched_busy_store_verifies_and_anchors(store):
    _busy(store)
    report = store.verify_audit()
    assert report.ok and report.anchored, report.message()
    assert store.anchor.read().record == report.records
