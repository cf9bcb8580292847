"""Issue 30 on the bank's PostgreSQL deployment: each person is their own database role, and the
server itself refuses what the application would refuse (pg_roles.py), whatever a client sends.
Run against the real server .ci/run starts (SIGVERIFY_TEST_PG_URL); under CI it never skips."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from sigverify.store import pg_roles
from sigverify.store.auth import Actor
from sigverify.store.mandates import MandateStore
from sigverify.store.repository import Store

PG_URL = os.environ.get("SIGVERIFY_TEST_PG_URL", "")
pytestmark = pytest.mark.skipif(not PG_URL and not os.environ.get("CI"),
                                reason="needs SIGVERIFY_TEST_PG_URL (a PostgreSQL server; .ci/run starts one)")

ALICE, BOB, CAROL = Actor("alice", "supervisor"), Actor("bob", "supervisor"), Actor("carol", "clerk")


def _as(name: str) -> str:
    return make_url(PG_URL).set(username=name, password=f"{name}-db-pw").render_as_string(hide_password=False)


@pytest.fixture
def bank(tmp_path, monkeypatch):
    if not PG_URL:
        pytest.fail("CI is set but SIGVERIFY_TEST_PG_URL is not: PostgreSQL did not start")
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    from tests.store.conftest import _reset_postgres

    _reset_postgres(PG_URL)
    admin = Store(PG_URL)  # the administrator creates the schema
    alice = admin.users.add("alice", "supervisor", "pw", by=Actor("root", "supervisor"))
    admin.users.add("bob", "supervisor", "pw", by=alice)
    admin.users.add("carol", "clerk", "pw", by=alice)
    admin.add_account("NL-1", "Holder", alice)
    pg_roles.setup(admin.engine)
    for name, role in (("alice", "supervisor"), ("bob", "supervisor"), ("carol", "clerk")):
        pg_roles.add_person(admin.engine, name, role, f"{name}-db-pw")
    stores = {name: Store(_as(name)) for name in ("alice", "bob", "carol")}
    yield {"admin": admin, **stores}
    for s in (admin, *stores.values()):
        s.close()


def _refused(url: str, statement: str, words: str = "") -> None:
    engine = create_engine(url)
    with pytest.raises(DBAPIError) as caught:
        with engine.begin() as conn:
            conn.execute(text(statement))
    engine.dispose()
    assert words in str(caught.value), str(caught.value)


def test_the_work_of_each_role_still_works_through_the_server(bank):
    verification = bank["carol"].record_verification("NL-1", b"cheque", "q.png", "m", "0" * 64, [], 1.9, 0.1, 1.1,
                                                     "forged", CAROL)
    bank["carol"].record_decision(verification, "escalate", "customer known to me; please check", CAROL)
    change = MandateStore(bank["alice"]).request(ALICE, "signatory", "NL-1", {"name": "Ann", "panel": "A",
                                                                              "approval_limit": None})
    MandateStore(bank["bob"]).approve(BOB, change)
    assert [s.name for s in MandateStore(bank["admin"]).signatories("NL-1")] == ["Ann"]
    assert bank["admin"].verify_audit().ok


@pytest.mark.parametrize("who", ["carol", "alice"])
@pytest.mark.parametrize("statement", [
    "UPDATE verifications SET verdict = 'genuine'",  # item 1: the verdict rewritten
    "DELETE FROM decisions",
    "DELETE FROM audit",
    "UPDATE audit SET details = '{}'",
    "TRUNCATE audit",
    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",  # item 2: the version lowered
])
def test_history_is_append_only_for_every_person(bank, who, statement):
    bank["carol"].record_verification("NL-1", b"cheque", "q.png", "m", "0" * 64, [], 1.9, 0.1, 1.1, "forged", CAROL)
    _refused(_as(who), statement, "permission denied")


def test_a_clerk_cannot_write_an_audit_record_in_anyone_elses_name(bank):
    """Item 1's second route: a fake user.approve record for an inserted supervisor."""
    _refused(_as("carol"), "INSERT INTO audit (id, at, actor, role, action, subject, details, prev_hash, hash) "
             "VALUES (999, 'now', 'bob', 'supervisor', 'user.approve', 'mallory', '{}', 'x', 'y')", "in the name of")
    _refused(_as("carol"), "INSERT INTO users (name, role, password_hash, status, created_by, created_at) VALUES "
             "('mallory', 'supervisor', 'x', 'active', 'carol', 'now')", "permission denied")


def test_the_server_chains_the_audit_records_whatever_the_client_computes(bank):
    engine = create_engine(_as("carol"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (id, at, actor, role, action, subject, details, prev_hash, hash) "
                          "VALUES (1, 'now', 'carol', 'clerk', 'note', '-', '{}', 'forged-prev', 'forged-hash')"))
    engine.dispose()
    assert bank["admin"].verify_audit().ok  # numbered, linked and hashed by the server, not by the client


@pytest.mark.parametrize("statement", [
    "INSERT INTO settings (key, value, changed_by, changed_at) VALUES ('amount_bands', "
    "'[{\"up_to\": null, \"max_far\": 1.0}]', 'alice', 'now')",
    "INSERT INTO settings (key, value, changed_by, changed_at) VALUES ('active_model', '{}', 'alice', 'now')",
    "INSERT INTO signatories (account_id, name, role, panel, created_at) VALUES (1, 'Mallory', '', 'A', 'now')",
])
def test_one_supervisor_alone_cannot_change_what_is_accepted_even_with_sql(bank, statement):
    """Item 4 at the server: these rows are written only while a second supervisor approves."""
    _refused(_as("alice"), statement, "four eyes")


def test_a_supervisor_cannot_approve_their_own_request_with_sql(bank):
    change = MandateStore(bank["alice"]).request(ALICE, "signatory", "NL-1", {"name": "Ann", "panel": "A",
                                                                              "approval_limit": None})
    _refused(_as("alice"), f"UPDATE pending_changes SET status = 'approved', decided_by = 'alice' WHERE id = {change}",
             "second supervisor")
    _refused(_as("bob"), f"UPDATE pending_changes SET status = 'approved', decided_by = 'carol' WHERE id = {change}",
             "in the name of")
    _refused(_as("carol"), f"UPDATE pending_changes SET status = 'approved', decided_by = 'carol' WHERE id = {change}",
             "permission denied")


def test_approving_through_the_app_applies_the_guarded_change(bank):
    change = MandateStore(bank["alice"]).set_amount_bands(ALICE, [{"up_to": None, "max_far": 0.01}])
    assert bank["admin"].get_setting("amount_bands") is None
    MandateStore(bank["bob"]).approve(BOB, change)
    assert bank["admin"].get_setting("amount_bands") is not None and bank["admin"].verify_audit().ok


def test_one_command_sets_up_the_roles(tmp_path, monkeypatch, capsys):
    """The README's one command for the database administrator, through the real CLI."""
    from tests.helpers import cli_runner
    from tests.store.conftest import _reset_postgres

    if not PG_URL:
        pytest.fail("CI is set but SIGVERIFY_TEST_PG_URL is not: PostgreSQL did not start")
    _reset_postgres(PG_URL)
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    run = cli_runner(monkeypatch, capsys)
    code, out = run("database", "setup", "--store", PG_URL)
    assert code == 0 and "sigverify_clerk" in out, out
    code, out = run("database", "add-user", "dora", "--role", "clerk", "--store", PG_URL, new_password="dora-db-pw")
    assert code == 0, out
    _refused(make_url(PG_URL).set(username="dora", password="dora-db-pw").render_as_string(hide_password=False),
             "DELETE FROM audit", "permission denied")
    code, out = run("database", "setup", "--store", str(tmp_path / "local.db"))
    assert code != 0 and "PostgreSQL" in out
