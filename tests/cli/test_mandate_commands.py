"""The mandate commands respect the same roles as the store: a scripted four-eyes flow."""

from __future__ import annotations

import json

import cv2
import numpy as np

from sigverify.cli import main
from sigverify.synthetic import SyntheticWriter
from tests.helpers import make_tiny_model


def test_four_eyes_flow_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "s.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(make_tiny_model(tmp_path / "model")))

    def run(*args, user=None, password=None):
        if password is not None:
            monkeypatch.setenv("SIGVERIFY_PASSWORD", password)
        code = main([*args, *(["--user", user] if user else [])])
        out = capsys.readouterr()
        return code, out.out + out.err

    monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", "alice-pw")
    assert run("user", "add", "alice", "--role", "supervisor", "--with-password")[0] == 0  # single-user mode
    monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", "bob-pw")
    assert run("user", "add", "bob", "--role", "supervisor", "--with-password", user="alice", password="alice-pw")[0] == 0
    monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", "carol-pw")
    assert run("user", "add", "carol", "--role", "clerk", "--with-password", user="alice", password="alice-pw")[0] == 0
    code, out = run("user", "add", "eve", "--role", "supervisor", user="carol", password="carol-pw")
    assert code == 3 and "only a supervisor may add users" in out
    code, out = run("user", "add", "eve", user="alice", password="wrong")
    assert code == 3 and "wrong password" in out

    assert run("accounts", "add", "J-1", "--name", "Joint")[0] == 3  # users exist: nobody acts unnamed
    assert run("accounts", "add", "J-1", "--name", "Joint", user="carol", password="carol-pw")[0] == 0
    code, out = run("models", "register", str(tmp_path / "model"), user="carol", password="carol-pw")
    assert code == 3 and "only a supervisor may register models" in out
    code, out = run("models", "register", str(tmp_path / "model"), user="alice", password="alice-pw")
    assert code == 0 and "second supervisor must approve" in out, out  # issue 30, item 4: four eyes
    registration = out.split("change ")[1].split()[0]
    assert run("approve", registration, user="bob", password="bob-pw")[0] == 0

    code, out = run("signatory", "add", "J-1", "Anna", "--panel", "A", user="alice", password="alice-pw")
    assert code == 0 and "second supervisor must approve" in out
    change = int(out.split()[1])
    code, out = run("approve", str(change), user="alice", password="alice-pw")
    assert code == 3 and "second supervisor" in out
    assert run("approve", str(change), user="bob", password="bob-pw")[0] == 0
    code, out = run("signatory", "list", "J-1")
    assert "Anna" in out and "NO VALID SPECIMEN" in out

    rng = np.random.default_rng(0)
    hand = SyntheticWriter(9)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"anna{i}.png"), hand.genuine(rng))
    # several images in one call (issue 31, item 1), one change each for the second supervisor
    code, out = run("specimen", "J-1", "1", *(str(tmp_path / f"anna{i}.png") for i in range(3)),
                    user="alice", password="alice-pw")
    changes = [line.split()[1] for line in out.splitlines() if line.startswith("change ")]
    assert code == 0 and len(changes) == 3
    for change in changes:
        assert run("approve", change, user="bob", password="bob-pw")[0] == 0
    assert "specimen ok" in run("signatory", "list", "J-1")[1]

    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"bands": [{"up_to": None, "count": 2}]}))
    code, out = run("rule", "set", "J-1", str(rule), user="alice", password="alice-pw")
    assert code == 3 and "never be satisfied" in out  # one signatory cannot give two signatures
    rule.write_text(json.dumps({"bands": [{"up_to": 5000, "count": 1}, {"up_to": None, "count": 1}]}))
    code, out = run("rule", "set", "J-1", str(rule), user="alice", password="alice-pw")
    assert run("approve", out.split()[1], user="bob", password="bob-pw")[0] == 0
    assert "up to 5,000: any one" in run("rule", "show", "J-1")[1]

    cv2.imwrite(str(tmp_path / "cheque.png"), hand.genuine(rng))
    code, out = run("document", "J-1", str(tmp_path / "cheque.png"), "--amount", "ten", user="carol",
                    password="carol-pw")
    assert code == 3 and "is not a number" in out
    code, out = run("document", "J-1", str(tmp_path / "cheque.png"), "--amount", "1,200", user="carol",
                    password="carol-pw")
    assert code in (0, 1, 2) and "closest to Anna" in out
    code, out = run("account", "J-1", "--always-refer", "--instructions", "call above 5,000", user="carol",
                    password="carol-pw")
    assert code == 3 and "only a supervisor" in out
    cv2.imwrite(str(tmp_path / "mandate.png"), hand.genuine(rng))
    assert run("account", "J-1", "--always-refer", "--instructions", "call above 5,000", "--mandate-file",
               str(tmp_path / "mandate.png"), user="alice", password="alice-pw")[0] == 0
    bad = tmp_path / "mandate.tif"
    bad.write_bytes(b"not a scan")
    code, out = run("account", "J-1", "--mandate-file", str(bad), user="alice", password="alice-pw")
    assert code == 3 and "not an image" in out
    code, out = run("account", "J-1")
    assert "always refer: yes" in out and "call above 5,000" in out and "mandate document: mandate.png" in out
    code, out = run("document", "J-1", str(tmp_path / "cheque.png"), "--amount", "100", user="carol",
                    password="carol-pw")
    assert code in (1, 2) and ("REVIEW" in out or "REJECTED" in out)  # always refer: never accepted
    code, out = run("changes")
    assert code == 0 and out.strip() == ""
    code, out = run("audit", "verify")
    assert code == 0 and "intact" in out


def test_a_first_install_alone_enrols_once_for_every_path(tmp_path, monkeypatch, capsys):
    """Issue 31, item 3: an account enrolled with `enroll` verified with `verify --account`, but
    `document` answered "no signatory with a valid specimen"; and on a fresh single-user install
    `signatory add` waited for a second supervisor who does not exist."""
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "s.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(make_tiny_model(tmp_path / "model", threshold=4.0)))

    def run(*args):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out + out.err

    hand, rng = SyntheticWriter(21), np.random.default_rng(0)
    files = []
    for i in range(4):
        files.append(tmp_path / f"s{i}.png")
        cv2.imwrite(str(files[-1]), hand.genuine(rng))
    assert run("models", "register", str(tmp_path / "model"))[0] == 0  # single-user mode: at once
    assert run("accounts", "add", "NL-3", "--name", "P. Jansen")[0] == 0
    code, out = run("enroll", "NL-3", *map(str, files[:3]))
    assert code == 0, out
    code, out = run("signatory", "list", "NL-3")
    assert "P. Jansen" in out and "NO VALID SPECIMEN" not in out, out
    code, out = run("document", "NL-3", str(files[3]), "--amount", "100")
    assert "no signatory with a valid specimen" not in out and code in (0, 1, 2), out
    code, out = run("signatory", "add", "NL-3", "Q. Jansen")
    assert code == 0 and "applied (single-user mode" in out, out
    code, out = run("signatory", "list", "NL-3")
    assert "Q. Jansen" in out
    # two signatories now: an enrolment must say whose
    code, out = run("enroll", "NL-3", str(files[3]))
    assert code != 0 and "say whose specimens" in out


def test_enroll_a_specimen_unlike_the_others_needs_and_records_a_reason(tmp_path, monkeypatch, capsys):
    """Issue 31, item 2: the refusal names the way forward; with --unlike-reason it is enrolled and audited."""
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "s.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(make_tiny_model(tmp_path / "model", threshold=1e-4)))

    def run(*args):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out + out.err

    hand, rng = SyntheticWriter(22), np.random.default_rng(1)
    files = []
    for i in range(3):
        files.append(tmp_path / f"s{i}.png")
        cv2.imwrite(str(files[-1]), hand.genuine(rng))
    assert run("models", "register", str(tmp_path / "model"))[0] == 0
    assert run("accounts", "add", "NL-4", "--name", "R. Jansen")[0] == 0
    assert run("enroll", "NL-4", str(files[0]), str(files[1]))[0] == 0
    code, out = run("enroll", "NL-4", str(files[2]))
    assert code != 0 and "is unlike account NL-4" in out and "--unlike-reason" in out
    code, out = run("enroll", "NL-4", str(files[2]), "--unlike-reason", "signed at the counter in front of me")
    assert code == 0, out
    code, out = run("audit", "export")
    assert "enrolled_although_unlike" in out and "signed at the counter" in out
