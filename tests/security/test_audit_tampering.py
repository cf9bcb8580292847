"""The audit trail sees what is done to the database behind SigVerify's back (issue 13, item 8).

A real store is used through the real CLI (models registered, accounts, specimens, verifications,
decisions, users, a change request); then the SQLite file is edited directly, as someone with
access to the database file would, and ``sigverify audit verify`` must fail (exit 5) naming why.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from sigverify.cli import EXIT_AUDIT_BROKEN
from sigverify.store import audit as audit_chain
from sigverify.synthetic import SyntheticWriter
from tests.helpers import cli_runner, make_tiny_model


@pytest.fixture
def bank(tmp_path, monkeypatch, capsys):
    store = tmp_path / "store.db"
    monkeypatch.setenv("SIGVERIFY_STORE", str(store))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    model = make_tiny_model(tmp_path / "model")
    rng = np.random.default_rng(0)
    writer, stranger = SyntheticWriter(3), SyntheticWriter(11)
    files = {}
    for name, image in {"r1": writer.genuine(rng), "r2": writer.genuine(rng), "q": writer.genuine(rng),
                        "s": stranger.genuine(rng)}.items():
        files[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(files[name]), image)

    run = cli_runner(monkeypatch, capsys)

    monkeypatch.setenv("SIGVERIFY_MODEL", str(model))
    assert run("models", "register", model)[0] == 0
    assert run("accounts", "add", "ACC", "--name", "Holder")[0] == 0
    assert run("enroll", "ACC", files["r1"], files["r2"])[0] == 0
    for questioned in ("q", "s"):
        code, out = run("verify", "--account", "ACC", files[questioned], "--json")
        assert code in (0, 1, 2) and '"verdict"' in out, out  # the exit status tells the verdict
    assert run("decide", "1", "accept", "--comment", "compared with the specimen card")[0] == 0
    assert run("identify", files["s"])[0] in (0, 1)  # named or no match: recorded either way
    assert run("user", "add", "sup1", "--role", "supervisor", "--with-password", new_password="pw-1")[0] == 0
    assert run("signatory", "add", "ACC", "Ann", user="sup1", password="pw-1")[0] == 0

    def verify():
        return run("audit", "verify")

    code, out = verify()
    assert code == 0 and "intact" in out, out
    return {"run": run, "verify": verify, "db": store}


def _sql(bank, *statements):
    with sqlite3.connect(bank["db"]) as conn:
        for statement in statements:
            conn.execute(statement)


def _broken(bank, *words):
    code, out = bank["verify"]()
    assert code == EXIT_AUDIT_BROKEN, out
    assert "BROKEN" in out and all(w in out for w in words), out
    return out


def test_deleting_the_last_record_is_seen(bank):
    _sql(bank, "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)")
    _broken(bank, "is gone")


def test_deleting_the_last_fifty_records_or_all_of_them_is_seen(bank):
    _sql(bank, "DELETE FROM audit WHERE id > (SELECT max(id) - 50 FROM audit)")
    _broken(bank, "is gone")


def test_emptying_the_audit_table_is_seen(bank):
    _sql(bank, "DELETE FROM audit")
    _broken(bank, "is gone", "in no audit record")


def test_dropping_the_audit_table_is_seen_although_the_store_recreates_it(bank):
    _sql(bank, "DROP TABLE audit")
    _broken(bank, "is gone")


def test_rewriting_a_record_and_recomputing_the_chain_after_it_is_seen(bank):
    with sqlite3.connect(bank["db"]) as conn:
        rows = conn.execute("SELECT id, at, actor, role, action, subject, details FROM audit ORDER BY id").fetchall()
        prev = audit_chain.GENESIS
        for record_id, at, actor, role, action, subject, details in rows:
            if action == "verification":  # every verdict becomes "genuine"
                details = re.sub(r'"verdict":"[a-z]+"', '"verdict":"genuine"', details)
            digest = audit_chain.record_hash(record_id, at, actor, role, action, subject, details, prev)
            conn.execute("UPDATE audit SET details = ?, prev_hash = ?, hash = ? WHERE id = ?",
                         (details, prev, digest, record_id))
            prev = digest
    _broken(bank, "rewritten")


@pytest.mark.parametrize("statement, words", [
    ("UPDATE verifications SET verdict = 'GENUINE', score = 0.99", ["verifications:", "altered"]),
    ("UPDATE decisions SET decision = 'reject'", ["decisions:1", "altered"]),
    ("DELETE FROM decisions", ["decisions:1", "deleted"]),
    ("UPDATE reference_signatures SET active = 0 WHERE id = 1", ["reference_signatures:1", "altered"]),
    ("UPDATE embeddings SET vector = zeroblob(64)", ["embeddings:", "altered"]),
    ("INSERT INTO settings (key, value, changed_by, changed_at) VALUES "
     "('model:" + "f" * 56 + "', '{}', 'x', 'now')", ["settings:model:", "in no audit record"]),
    ("UPDATE users SET password_hash = NULL", ["users:", "altered"]),
    ("UPDATE accounts SET always_refer = 0, holder_name = 'Someone else'", ["accounts:1", "altered"]),
    # an investigator's answer rewritten to point at someone else, or one never asked
    ("UPDATE identifications SET matched_account = 'ACC', matched_signatory = 'Ann'", ["identifications:1", "altered"]),
    ("INSERT INTO identifications (questioned_image, questioned_sha256, filename, scope, model_version, "
     "model_sha256, candidates, matched_account, matched_signatory, threshold, created_by, created_at) "
     "VALUES (x'00', 'x', 'x', '', 'v', 's', '[]', 'ACC', '', 1.0, 'x', 'now')", ["identifications:2", "in no audit record"]),
    # a cheque of a clearing run marked done so that a resumed run skips it unverified
    ("INSERT INTO batch_rows (batch, row, document_id, result, created_by, created_at) VALUES "
     "('" + "b" * 64 + "', 7, NULL, '{\"outcome\": \"accepted\"}', 'x', 'now')", ["batch_rows:", "in no audit record"]),
])
def test_direct_edits_of_data_rows_are_named(bank, statement, words):
    _sql(bank, statement)
    _broken(bank, *words)


def _anchor_files(tmp_path):
    """The anchor itself and the note of heads about to be committed beside it (store/anchor.py)."""
    files = sorted((tmp_path / "home" / "audit-anchors").glob("*.json"))
    noted = [f for f in files if f.name.endswith(".expected.json")]
    return [f for f in files if f not in noted][0], noted[0]


def test_an_altered_anchor_file_is_seen(bank, tmp_path):
    anchor, _ = _anchor_files(tmp_path)  # not the notes beside it, whichever the folder lists first
    data = json.loads(anchor.read_text())
    data["record"] = 1
    data["hash"] = hashlib.sha256(b"x").hexdigest()
    anchor.write_text(json.dumps(data))
    _broken(bank, "not written by SigVerify")


def test_a_record_appended_and_noted_beside_the_anchor_without_the_key_is_seen(bank, tmp_path):
    """An attacker who reads the code appends a correctly chained record (a verdict nobody gave) and
    notes its head beside the anchor, as SigVerify does just before a commit; without this computer's
    key the note's seal is copied from another note, so it vouches for nothing."""
    _, noted = _anchor_files(tmp_path)
    with sqlite3.connect(bank["db"]) as conn:
        at, actor, role, subject, prev = conn.execute(
            "SELECT at, actor, role, subject, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        record_id = conn.execute("SELECT max(id) FROM audit").fetchone()[0] + 1
        details = '{"verdict":"genuine"}'
        digest = audit_chain.record_hash(record_id, at, actor, role, "verification", subject, details, prev)
        conn.execute("INSERT INTO audit (id, at, actor, role, action, subject, details, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, 'verification', ?, ?, ?, ?)",
                     (record_id, at, actor, role, subject, details, prev, digest))
    notes = json.loads(noted.read_text())
    noted.write_text(json.dumps(notes + [dict(notes[-1], record=record_id, hash=digest)]))
    _broken(bank, "added after")


def test_a_restored_backup_is_reported_until_a_supervisor_reanchors(bank, tmp_path):
    assert bank["run"]("backup", tmp_path / "copy.db")[0] == 0
    assert bank["run"]("signatory", "add", "ACC", "Bob", user="sup1", password="pw-1")[0] == 0
    for suffix in ("-wal", "-shm"):  # restored as an administrator would: the app closed, the old copy back
        bank["db"].with_name(bank["db"].name + suffix).unlink(missing_ok=True)
    (tmp_path / "copy.db").replace(bank["db"])
    _broken(bank, "is gone")
    assert bank["run"]("audit", "reanchor")[0] == 3  # users exist: only a signed-in supervisor
    code, out = bank["run"]("audit", "reanchor", user="sup1", password="pw-1")
    assert code == 0 and "second supervisor" in out, out
    change = int(re.search(r"change (\d+) requested", out).group(1))
    _broken(bank)  # one supervisor alone does not re-anchor
    assert bank["run"]("approve", str(change), user="sup1", password="pw-1")[0] != 0  # not their own request
    assert bank["run"]("user", "add", "sup2", "--role", "supervisor", "--with-password", user="sup1",
                       password="pw-1", new_password="pw-2")[0] == 0
    assert bank["run"]("approve", str(change), user="sup2", password="pw-2")[0] == 0
    code, out = bank["verify"]()
    assert code == 0, out


def test_an_upgraded_store_starts_with_a_baseline_and_verifies(tmp_path):
    """A store written by schema 2 (no row digests) is vouched for once at the upgrade."""
    from sigverify.store.repository import Store

    path = tmp_path / "v2.db"
    store = Store(str(path))
    store.add_account("A1", "Old holder", "setup")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit SET details = '{\"holder_name\":\"Old holder\"}', hash = ? WHERE id = 1",
                     (audit_chain.record_hash(*conn.execute(
                         "SELECT id, at, actor, role, action, subject FROM audit WHERE id = 1").fetchone(),
                         '{"holder_name":"Old holder"}', audit_chain.GENESIS),))
        conn.execute("ALTER TABLE users DROP COLUMN status")
        conn.execute("ALTER TABLE users DROP COLUMN created_by")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    shutil.rmtree(Path(os.environ["SIGVERIFY_HOME"]) / "audit-anchors")  # schema 2 kept no anchor
    upgraded = Store(str(path))
    report = upgraded.verify_audit()
    assert report.ok, report.message()
    with upgraded.read() as conn:
        from sqlalchemy import select

        from sigverify.store.schema import audit

        actions = [r.action for r in conn.execute(select(audit.c.action).order_by(audit.c.id))]
    assert actions == ["account.create", "audit.baseline", "schema.migrate"]
