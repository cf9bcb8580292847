"""Four eyes start with the supervisors: nobody mints a colleague to approve their own changes
(issue 13, item 5). Through the real CLI on a real SQLite store."""

from __future__ import annotations

import pytest

from tests.helpers import cli_runner


@pytest.fixture
def bank(tmp_path, monkeypatch, capsys):
    """A store in operation with two supervisors (added while it had one: the bootstrap) and a clerk."""
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))

    run = cli_runner(monkeypatch, capsys)

    assert run("user", "add", "sup1", "--role", "supervisor", "--with-password", new_password="pw-1")[0] == 0
    assert run("user", "add", "sup2", "--role", "supervisor", "--with-password", new_password="pw-2",
               user="sup1", password="pw-1")[0] == 0
    assert run("accounts", "add", "ACC", "--name", "Holder", user="sup1", password="pw-1")[0] == 0
    return run


def test_a_supervisor_added_by_one_supervisor_cannot_act_until_another_approves(bank):
    code, out = bank("user", "add", "sup3", "--role", "supervisor", "--with-password", new_password="pw-3",
                     user="sup1", password="pw-1")
    assert code == 0 and "pending" in out
    # the sock puppet cannot act: not add an account, not approve a change, not approve itself
    code, out = bank("accounts", "add", "ACC2", "--name", "X", user="sup3", password="pw-3")
    assert code == 3 and "awaiting a second supervisor" in out
    code, out = bank("user", "approve", "sup3", user="sup3", password="pw-3")
    assert code == 3 and "Traceback" not in out
    # nor may the supervisor who added it approve it
    code, out = bank("user", "approve", "sup3", user="sup1", password="pw-1")
    assert code == 3 and "second supervisor must" in out
    assert "AWAITING" in bank("user", "list", user="sup1", password="pw-1")[1]
    # the other supervisor approves: now sup3 acts
    assert bank("user", "approve", "sup3", user="sup2", password="pw-2")[0] == 0
    assert bank("accounts", "add", "ACC2", "--name", "X", user="sup3", password="pw-3")[0] == 0


def test_the_self_approval_attack_is_refused(bank):
    """sup1 asks for a new signatory, adds a supervisor and tries to approve its own request with it."""
    code, out = bank("signatory", "add", "ACC", "Mallory", user="sup1", password="pw-1")
    assert code == 0, out
    change = int(out.split("change ")[1].split()[0])
    bank("user", "add", "puppet", "--role", "supervisor", "--with-password", new_password="pw-p",
         user="sup1", password="pw-1")
    code, out = bank("approve", change, user="puppet", password="pw-p")
    assert code == 3 and "awaiting a second supervisor" in out
    code, out = bank("changes", user="sup2", password="pw-2")
    assert code == 0 and "Mallory" in out  # still waiting for a real second supervisor


def test_the_bootstrap_is_marked_in_the_audit_trail(tmp_path, bank):
    from sqlalchemy import select

    from sigverify.store.repository import Store
    from sigverify.store.schema import audit

    store = Store(str(tmp_path / "store.db"))
    with store.read() as conn:
        rows = conn.execute(select(audit.c.subject, audit.c.details).where(audit.c.action == "user.add")).all()
    details = {subject: body for subject, body in rows}
    assert '"bootstrap":true' in details["sup1"] and '"bootstrap":true' in details["sup2"]
