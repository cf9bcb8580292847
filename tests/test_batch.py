"""Batch verification for a clearing run: real store, real model, real worker processes, and a
run killed with SIGKILL that resumes with every row present exactly once."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from sigverify.batch import read_manifest, run_batch
from sigverify.errors import DatasetError
from sigverify.inference.engine import EmbeddingEngine
from sigverify.imaging.preprocess import preprocess_with_box
from sigverify.store.auth import Actor
from sigverify.store.mandates import MandateStore, enrolment_payload
from sigverify.store.repository import Store
from sigverify.store.schema import batch_rows, documents
from sigverify.synthetic import SyntheticWriter
from tests.conftest import REPO
from tests.helpers import approve_model, make_tiny_model

GOOD, BAD = 40, 4


@pytest.fixture
def clearing(tmp_path):
    rng = np.random.default_rng(5)
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    store = Store(url)
    root = Actor("root", "supervisor")
    alice = store.users.add("alice", "supervisor", "correct horse", by=root)
    bob = store.users.add("bob", "supervisor", "battery staple", by=alice)
    store.users.add("carol", "clerk", "clerk pass", by=alice)
    store.add_account("NL-1", "De Vries", "alice")
    store.add_account("NL-EMPTY", "Nobody", "alice")
    model = make_tiny_model(tmp_path / "model", threshold=5.0)  # lenient: outcomes follow the rows
    approve_model(store, model, alice, second=bob)
    engine = EmbeddingEngine(model)
    mandates = MandateStore(store)
    mandates.approve(bob, mandates.request(alice, "signatory", "NL-1", {"name": "Anna", "panel": "A",
                                                                      "approval_limit": None}))
    anna = mandates.signatories("NL-1")[0]
    hand = SyntheticWriter(41)
    for i in range(3):
        image = hand.genuine(rng)
        prepared = preprocess_with_box(image, engine.manifest.preprocessing)
        payload = enrolment_payload(anna.id, f"anna{i}.png", prepared.box,
                                    engine.embed_canvases(prepared.canvas[None])[0], engine.manifest.sha256, None)
        mandates.approve(bob, mandates.request(alice, "enroll", "NL-1", payload,
                                               attachment=cv2.imencode(".png", image)[1].tobytes()))
    store.close()
    rows = []
    for i in range(GOOD):
        page = np.full((300, 900), 245, np.uint8)
        signature = hand.genuine(rng)
        page[100 : 100 + signature.shape[0], 400 : 400 + signature.shape[1]] = signature
        cv2.imwrite(str(tmp_path / f"cheque{i}.png"), page)
        box = f"390,90,{signature.shape[1] + 20},{signature.shape[0] + 20}" if i % 2 else ""
        rows.append([f"cheque{i}.png", "NL-1", f"{100 + i}.00", box])
    rows += [["missing.png", "NL-1", "10.00", ""], ["cheque0.png", "NO-SUCH", "10.00", ""],
             ["cheque1.png", "NL-1", "ten euros", ""], ["cheque2.png", "NL-EMPTY", "10.00", ""]]
    manifest = tmp_path / "run.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "account", "amount", "box"])
        writer.writerows(rows)
    return {"url": url, "model": model, "manifest": manifest, "out": tmp_path / "results.csv", "tmp": tmp_path}


def _results(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _counts(url):
    store = Store(url)
    try:
        with store.read() as conn:
            return (conn.execute(select(func.count()).select_from(batch_rows)).scalar(),
                    conn.execute(select(func.count()).select_from(documents)).scalar(), store.verify_audit().ok)
    finally:
        store.close()


def test_a_run_decides_every_row_reports_bad_ones_and_a_second_run_redoes_nothing(clearing):
    seen = []
    summary = run_batch(clearing["manifest"], clearing["out"], clearing["url"], clearing["model"], "carol",
                        workers=2, progress=lambda done, total: seen.append((done, total)))
    results = _results(clearing["out"])
    assert [int(r["row"]) for r in results] == list(range(1, GOOD + BAD + 1))
    assert all(r["outcome"] == "accepted" for r in results[:GOOD])
    errors = [r["error"] for r in results[GOOD:]]
    assert "cannot read missing.png" in errors[0] and "NO-SUCH" in errors[1] and "amount" in errors[2].lower()
    assert "valid specimen" in errors[3] and all(not r["outcome"] for r in results[GOOD:])
    assert summary.verified == GOOD + BAD and summary.failed == BAD and seen[-1] == (GOOD + BAD, GOOD + BAD)
    assert _counts(clearing["url"]) == (GOOD + BAD, GOOD, True)
    again = run_batch(clearing["manifest"], clearing["out"], clearing["url"], clearing["model"], "carol", workers=2)
    assert (again.resumed, again.verified) == (GOOD + BAD, 0)
    assert _results(clearing["out"]) == results and _counts(clearing["url"]) == (GOOD + BAD, GOOD, True)


def test_a_run_killed_with_sigkill_resumes_with_every_row_exactly_once(clearing):
    command = [sys.executable, "-m", "sigverify", "batch", str(clearing["manifest"]), "--out", str(clearing["out"]),
               "--store", clearing["url"], "--model", str(clearing["model"]), "--provider", "cpu", "--workers", "1",
               "--user", "carol", "--quiet"]
    env = dict(os.environ, SIGVERIFY_PASSWORD="clerk pass")
    run = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if clearing["out"].exists() and len(_results(clearing["out"])) >= 5:
            break
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)  # the command and its worker process, mid-run
    run.wait()
    done_at_kill, _, _ = _counts(clearing["url"])
    assert 5 <= done_at_kill < GOOD + BAD, "the run must be killed part-way"
    finished = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 3, finished.stderr  # some rows could not be verified: reported, not fatal
    assert f"{done_at_kill} already done" in finished.stdout
    results = _results(clearing["out"])
    assert [int(r["row"]) for r in results] == list(range(1, GOOD + BAD + 1))  # each row once, none lost
    assert _counts(clearing["url"]) == (GOOD + BAD, GOOD, True)  # none decided twice; the audit chain holds


@pytest.mark.parametrize("content, message", [
    ("account,amount\nNL-1,10\n", "missing: image"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_a_manifest_that_cannot_be_a_run_is_refused(tmp_path, content, message):
    path = tmp_path / "m.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DatasetError, match=message):
        read_manifest(path)


def test_rows_naming_a_device_a_pipe_or_a_huge_file_fail_alone_in_one_line(clearing):
    """Issue 30, item 10: /dev/zero ended the run in a MemoryError traceback, a FIFO hung it, and a
    300 MB file was read whole before its size was checked."""
    tmp = clearing["tmp"]
    os.mkfifo(tmp / "pipe.png")
    with open(tmp / "huge.png", "wb") as handle:  # sparse: 300 MB long, no disk used
        handle.truncate(300 * 2**20)
    manifest = tmp / "odd.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "account", "amount"])
        writer.writerows([["/dev/zero", "NL-1", "10.00"], ["pipe.png", "NL-1", "10.00"],
                          ["huge.png", "NL-1", "10.00"], [str(tmp), "NL-1", "10.00"], ["cheque0.png", "NL-1", "10.00"]])
    started = time.monotonic()
    summary = run_batch(manifest, tmp / "odd-results.csv", clearing["url"], clearing["model"], "carol", workers=1)
    assert time.monotonic() - started < 120
    results = _results(tmp / "odd-results.csv")
    errors = [r["error"] for r in results]
    assert "not a regular file" in errors[0] and "not a regular file" in errors[1]
    assert "300 MB" in errors[2] and "not a file" in errors[3]
    assert all("\n" not in e and "Traceback" not in e for e in errors)
    assert results[4]["outcome"] == "accepted" and summary.failed == 4


@pytest.mark.parametrize("kind", ["device", "pipe"])
def test_a_manifest_that_is_a_device_or_a_pipe_is_refused_at_once(tmp_path, kind):
    path = "/dev/zero" if kind == "device" else tmp_path / "m.csv"
    if kind == "pipe":
        os.mkfifo(path)
    with pytest.raises(DatasetError, match="not a regular file"):
        read_manifest(path)


def _children(pid: int) -> list[int]:
    found = []
    for stat_file in os.listdir("/proc"):
        if stat_file.isdigit():
            try:
                fields = open(f"/proc/{stat_file}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(stat_file))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_workers_end_when_the_run_is_killed(clearing):
    """Issue 30, item 11: kill -9 of a batch's main process left its workers running forever."""
    command = [sys.executable, "-m", "sigverify", "batch", str(clearing["manifest"]), "--out", str(clearing["out"]),
               "--store", clearing["url"], "--model", str(clearing["model"]), "--provider", "cpu", "--workers", "2",
               "--user", "carol", "--quiet"]
    env = dict(os.environ, SIGVERIFY_PASSWORD="clerk pass")
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline, workers = time.monotonic() + 120, []
    while time.monotonic() < deadline and not (clearing["out"].exists() and len(_results(clearing["out"])) >= 2):
        time.sleep(0.05)
    workers = [pid for child in _children(run.pid) for pid in [child, *_children(child)]]
    assert workers, "the run should have started its workers"
    os.kill(run.pid, signal.SIGKILL)  # the main process alone, as `kill -9 PID` does
    run.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.1)
    alive = []
    for pid in workers:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] != "Z":  # a zombie has ended, waiting to be reaped
                    alive.append(pid)
        except OSError:
            pass
    for pid in alive:  # leave nothing behind, whatever the result
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"{len(alive)} worker(s) still running after the run was killed"


@pytest.mark.parametrize("content, message", [
    ("image,account,amount\n" + "x" * 200_000 + ",NL-1,10\n", "not a readable CSV"),
    ("image,account,amount\n" + "a.png,NL-1,10\n" * 200_001, "more than 200,000 rows"),
])
def test_a_manifest_too_large_to_be_a_run_is_one_line(tmp_path, content, message):
    """Issue 30, item 13: a field over 131,072 characters was a traceback; a million rows grew to 1.8 GB."""
    path = tmp_path / "m.csv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_manifest(path)


def test_invisible_characters_do_not_reach_the_results_raw():
    """Issue 30, item 13: U+202E (right-to-left override) and NUL reached RESULTS.csv as they were."""
    from sigverify.store.audit import safe_cell

    assert safe_cell("cheque\u202egnp.exe") == "cheque<U+202E>gnp.exe"
    assert safe_cell("a\x00b") == "a<U+0000>b" and safe_cell("=1+1") == "'=1+1" and safe_cell(3) == 3


def test_the_same_manifest_over_replaced_images_is_decided_again(clearing):
    """Issue 30, item 8: a run was known by its manifest's bytes alone; after the images were
    replaced, running the manifest again returned yesterday's outcomes (exit 0)."""
    first = run_batch(clearing["manifest"], clearing["out"], clearing["url"], clearing["model"], "carol", workers=1)
    assert first.verified == GOOD + BAD
    blank = np.full((300, 900), 245, np.uint8)  # every cheque replaced by a blank page
    for i in range(GOOD):
        cv2.imwrite(str(clearing["tmp"] / f"cheque{i}.png"), blank)
    again = run_batch(clearing["manifest"], clearing["out"], clearing["url"], clearing["model"], "carol", workers=1)
    assert again.batch != first.batch and again.resumed == 0 and again.verified == GOOD + BAD
    assert not any(r["outcome"] == "accepted" for r in _results(clearing["out"]))
