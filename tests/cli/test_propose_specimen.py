"""Issue 32, item 3: a signature a person accepted as genuine grows the account's specimens, through
a supervisor's proposal and a second supervisor's approval, once, with its image and in the audit."""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.cli import main
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from tests.helpers import make_tiny_model


def test_an_accepted_cheque_becomes_a_specimen_after_a_second_supervisor_approves(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "s.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(make_tiny_model(tmp_path / "model")))
    passwords = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

    def run(*args, user=None):
        if user:
            monkeypatch.setenv("SIGVERIFY_PASSWORD", passwords[user])
        code = main([*args, *(["--user", user] if user else [])])
        out = capsys.readouterr()
        return code, out.out + out.err

    for name, role, by in (("alice", "supervisor", None), ("bob", "supervisor", "alice"), ("carol", "clerk", "alice")):
        monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", passwords[name])
        assert run("user", "add", name, "--role", role, "--with-password", user=by)[0] == 0
    assert run("accounts", "add", "P-1", "--name", "Priya", user="carol")[0] == 0
    code, out = run("models", "register", str(tmp_path / "model"), user="alice")
    assert run("approve", out.split("change ")[1].split()[0], user="bob")[0] == 0
    code, out = run("signatory", "add", "P-1", "Priya", user="alice")
    assert run("approve", out.split()[1], user="bob")[0] == 0

    hand, rng = SyntheticWriter(21), np.random.default_rng(4)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"s{i}.png"), hand.genuine(rng))
    code, out = run("specimen", "P-1", "1", str(tmp_path / "s0.png"), user="alice")  # one specimen, as banks have
    assert run("approve", out.split()[1], user="bob")[0] == 0

    code, out = run("verify", str(tmp_path / "s1.png"), "--account", "P-1", user="carol")
    verification = int(out.split("recorded as verification ")[1].split(";")[0])

    code, out = run("propose-specimen", str(verification), user="alice")
    assert code == 3 and "was not accepted as genuine (not decided yet)" in out
    assert run("decide", str(verification), "escalate", "--comment", "same hand?", user="carol")[0] == 0
    code, out = run("propose-specimen", str(verification), user="alice")
    assert code == 3 and "not accepted as genuine" in out  # escalated is not accepted
    assert run("decide", str(verification), "accept", "--comment", "customer confirmed by phone", user="bob")[0] == 0

    code, out = run("propose-specimen", str(verification), user="carol")
    assert code == 3 and "only a supervisor" in out
    code, out = run("propose-specimen", str(verification), user="alice")
    assert code == 0 and "second supervisor must approve" in out, out
    change = out.split("change ")[1].split()[0]
    code, out = run("propose-specimen", str(verification), user="alice")
    assert code == 3 and f"proposed as a specimen already (change {change}, pending)" in out
    code, out = run("changes")
    assert f"from verification {verification} (accepted as genuine)" in out

    code, out = run("approve", change, user="alice")
    assert code == 3 and "second supervisor" in out  # the proposer cannot approve it
    assert run("approve", change, user="bob")[0] == 0
    references = Store(str(tmp_path / "s.db")).references("P-1")
    assert len(references) == 2 and references[-1].filename == f"verification-{verification}.png"
    code, out = run("propose-specimen", str(verification), user="alice")
    assert code == 3 and "(change " in out and "approved)" in out
    code, out = run("audit", "verify")
    assert code == 0 and "intact" in out
