"""Malformed arguments get one clear line, never a traceback; names and cells cannot carry
escapes or formulas; an empty password is refused (issue 'Security and integrity', items 6, 12, 13)."""

from __future__ import annotations

import csv
import io

import pytest

from sigverify.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))

    def call(*args, env=None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return code, out.out + out.err

    return call


def test_an_empty_password_is_refused(run):
    code, out = run("user", "add", "sup1", "--role", "supervisor", "--with-password", env={"SIGVERIFY_NEW_PASSWORD": ""})
    assert code == 3 and "empty password" in out


def test_user_add_without_a_name(run):
    code, out = run("user", "add", "--role", "clerk")
    assert code == 3 and "needs a NAME" in out


@pytest.mark.parametrize("box", ["a,b", "1,2,3", "1,2,3,4,5", "1,2,0,5", "-1,2,3,4"])
def test_malformed_document_boxes(run, tmp_path, box):
    image = tmp_path / "cheque.png"
    image.write_bytes(b"placeholder")
    code, out = run("document", "ACC", image, "--amount", "10", f"--box={box}")
    assert code == 3 and "X,Y,WIDTH,HEIGHT" in out and len(out.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (None, "file not found"),
])
def test_malformed_rule_and_band_files(run, tmp_path, content, message):
    path = tmp_path / "rule.json"
    if content is not None:
        path.write_text(content)
    assert run("accounts", "add", "ACC", "--name", "Holder")[0] == 0
    for args in (("rule", "set", "ACC", path), ("bands", path)):
        code, out = run(*args)
        assert code == 3 and message in out, (args, out)


def test_a_backup_into_a_missing_folder(run, tmp_path):
    run("accounts", "add", "ACC", "--name", "Holder")
    code, out = run("backup", tmp_path / "nowhere" / "copy.db")
    assert code == 3 and len(out.strip().splitlines()) == 1


@pytest.mark.parametrize("expires", ["01/12/2099", "2099-1-2", "tomorrow", "2099-13-01"])
def test_expiry_dates_are_iso_only(run, tmp_path, expires):
    from tests.helpers import make_tiny_model
    from sigverify.synthetic import SyntheticWriter
    import cv2
    import numpy as np

    model = make_tiny_model(tmp_path / "model")
    image = tmp_path / "s.png"
    cv2.imwrite(str(image), SyntheticWriter(1).genuine(np.random.default_rng(0)))
    run("accounts", "add", "ACC", "--name", "Holder")
    run("signatory", "add", "ACC", "Anna")
    code, out = run("specimen", "ACC", "1", image, "--expires", expires, "--model", model)
    assert code == 3 and "YYYY-MM-DD" in out or "does not belong" in out


def test_signatory_names_and_limits(run):
    run("accounts", "add", "ACC", "--name", "Holder")
    code, out = run("signatory", "add", "ACC")
    assert code == 3 and "NAME" in out
    code, out = run("signatory", "add", "ACC", "Anna", "--limit", "nan")
    assert code == 3 and "approval limit" in out


@pytest.mark.parametrize("number, holder", [("A" * 65, "Holder"), ("ACC", "H" * 257), ("ACC\x1b[31m", "Holder"),
                                            ("ACC", "Evil\x1b[2J")])
def test_names_are_bounded_and_plain(run, number, holder):
    code, out = run("accounts", "add", number, "--name", holder)
    assert code == 3 and ("characters long" in out or "control characters" in out)
    assert "\x1b" not in out


def test_percent_and_underscore_search_literally(run):
    for number in ("AB-1", "50%OFF", "A_B"):
        assert run("accounts", "add", number, "--name", "Holder")[0] == 0
    assert [line.split()[0] for line in run("accounts", "list", "%")[1].splitlines()] == ["50%OFF"]
    assert [line.split()[0] for line in run("accounts", "list", "_")[1].splitlines()] == ["A_B"]


def test_formulas_are_neutralised_in_the_csv_export(run, tmp_path):
    assert run("accounts", "add", "=1+2*3", "--name", "@SUM(A1)")[0] == 0
    out = tmp_path / "audit.csv"
    assert run("audit", "export", "--csv", "--out", out)[0] == 0
    cells = [cell for row in csv.reader(io.StringIO(out.read_text())) for cell in row]
    assert "'=1+2*3" in cells and not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_a_new_password_with_no_terminal_and_no_variable_is_refused_in_one_line(run, monkeypatch):
    monkeypatch.delenv("SIGVERIFY_NEW_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script or a pipe: nobody to ask
    code, out = run("user", "add", "sup1", "--role", "supervisor", "--with-password")
    assert code == 3 and "set SIGVERIFY_NEW_PASSWORD or run in a terminal" in out
