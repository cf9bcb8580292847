"""Issue: a file dialog in the app's process read the store file's first bytes; SQLite's POSIX
locks of that process were dropped with that descriptor; the command line then deleted the
write-ahead log the app was writing to, and what either wrote afterwards was lost — while
`audit verify` still said intact. The first test reproduces that with a store opened in the
same process as the stray read; the second does the same against the window's store, which
lives in its own process (store/remote.py), and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from sigverify.errors import StoreError
from sigverify.store.remote import RemoteStore
from sigverify.store.repository import Store
from tests.conftest import REPO


def _cli(path, *args) -> str:
    run = subprocess.run([sys.executable, "-m", "sigverify", *args, "--store", str(path)], capture_output=True,
                         text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _sniff(path) -> None:
    """What a file dialog does to show a file's type: open it, read its first bytes, close it."""
    fd = os.open(path, os.O_RDONLY)
    os.read(fd, 512)
    os.close(fd)


def _the_clerks_afternoon(store, path) -> None:
    store.add_account("NL-1", "First", "setup")
    _sniff(path)  # Ctrl+O in the store's folder, then Esc
    _cli(path, "accounts")  # a colleague looks something up from the command line
    store.add_account("NL-2", "Second", "setup")  # the window goes on working
    _cli(path, "accounts", "add", "NL-3", "--name", "Third")  # the colleague creates an account
    store.add_account("NL-4", "Fourth", "setup")


def test_a_store_opened_in_the_dialogs_process_loses_data(tmp_path):
    """The root cause, reproduced: this is why the window does not open the database itself."""
    path = tmp_path / "store.db"
    store = Store(str(path))
    _the_clerks_afternoon(store, path)
    store.close()
    reopened = sorted(a.number for a in Store(str(path)).find_accounts(""))
    assert reopened != ["NL-1", "NL-2", "NL-3", "NL-4"], "SQLite kept its locks: the hazard did not show"


def test_the_windows_store_loses_nothing_whatever_the_process_opens(tmp_path):
    path = tmp_path / "store.db"
    store = RemoteStore(str(path))
    try:
        _the_clerks_afternoon(store, path)
        assert "NL-2" in _cli(path, "accounts")  # the window's writes are visible to others at once
        assert sorted(a.number for a in store.find_accounts("")) == ["NL-1", "NL-2", "NL-3", "NL-4"]
    finally:
        store.close()
    assert sorted(a.number for a in Store(str(path)).find_accounts("")) == ["NL-1", "NL-2", "NL-3", "NL-4"]
    assert "intact" in _cli(path, "audit", "verify")


def test_the_store_process_answers_like_the_store_and_relays_its_errors(tmp_path):
    store = RemoteStore(str(tmp_path / "store.db"))
    try:
        created = store.add_account("NL-7", "Maria Jansen", "setup")
        assert created.number == "NL-7" and store.account("NL-7").holder_name == "Maria Jansen"
        with pytest.raises(StoreError, match="NL-404"):
            store.account("NL-404")  # the store's own error, raised again in the window's process
        assert store.users.count() == 0  # attributes of the store (users, mandates) are reached too
        assert store.mandates.signatories("NL-7") == []
        ids, matrix, missing = store.reference_embeddings("NL-7", "0" * 64)
        assert ids == [] and isinstance(matrix, np.ndarray)
        with pytest.raises(TypeError):
            store.read()  # a connection cannot cross processes: the window uses Store methods
        with pytest.raises(AttributeError):
            store._private_state  # noqa: B018
    finally:
        store.close()
    with pytest.raises(StoreError, match="stopped"):
        store.account("NL-7")


def test_a_store_that_cannot_open_says_why(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    with pytest.raises(StoreError, match="cannot"):
        RemoteStore(str(blocker / "store.db"))
