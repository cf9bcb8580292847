"""Every way an image enters (verify, verify --account, enroll, document, specimen) survives the
generated bad-input corpus: no traceback, nothing over 10 s, exit 3 with one clear line for each
refusal, and odd-but-valid images read (issue 'Security and integrity', items 10-12 and the corpus).

The table of results is written to $SIGVERIFY_CORPUS_TABLE when set (for the closing note)."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from sigverify.cli import main
from sigverify.store.auth import Actor
from sigverify.store.mandates import MandateStore
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from tests.helpers import approve_model, make_tiny_model
from tests.security.bad_inputs import make_corpus

PATHS = ("verify", "verify --account", "enroll", "document", "specimen")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    model = make_tiny_model(tmp / "model", threshold=5.0)
    store = Store(str(tmp / "store.db"))
    approve_model(store, model)
    store.add_account("ACC", "Holder", "setup")
    rng = np.random.default_rng(0)
    hand = SyntheticWriter(12)
    refs = []
    for i in range(4):
        refs.append(tmp / f"ref{i}.png")
        cv2.imwrite(str(refs[-1]), hand.genuine(rng))
    from sigverify import services
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.imaging.preprocess import preprocess_with_box
    from sigverify.store.mandates import enrolment_payload

    engine = EmbeddingEngine(model)
    services.enroll_files(store, engine, "ACC", refs[:3], "setup")  # single-user mode, before users exist
    alice = store.users.add("alice", "supervisor", "alice-pw", by=Actor("root", "supervisor"))
    bob = store.users.add("bob", "supervisor", "bob-pw", by=alice)
    m = MandateStore(store)
    m.approve(bob, m.request(alice, "signatory", "ACC", {"name": "Anna", "panel": "A"}))
    anna = m.signatories("ACC")[0]
    data = refs[3].read_bytes()
    prepared = preprocess_with_box(cv2.imread(str(refs[3]), cv2.IMREAD_GRAYSCALE), engine.manifest.preprocessing)
    payload = enrolment_payload(anna.id, "ref3.png", prepared.box, engine.embed_canvases(prepared.canvas[None])[0],
                                engine.manifest.sha256)
    m.approve(bob, m.request(alice, "enroll", "ACC", payload, attachment=data))
    store.close()
    return {"tmp": tmp, "model": model, "store": tmp / "store.db", "refs": refs, "signatory": anna.id,
            "corpus": make_corpus(tmp / "inputs")}


def _command(path_kind: str, image, world) -> list[str]:
    refs = [str(p) for p in world["refs"][:2]]
    return {"verify": ["verify", *refs, str(image)],
            "verify --account": ["verify", "--account", "ACC", str(image)],
            "enroll": ["enroll", "ACC", str(image)],
            "document": ["document", "ACC", str(image), "--amount", "100"],
            "specimen": ["specimen", "ACC", str(world["signatory"]), str(image)]}[path_kind]


def test_every_entry_path_survives_the_corpus(world, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_STORE", str(world["store"]))
    monkeypatch.setenv("SIGVERIFY_HOME", str(world["tmp"] / "home"))
    monkeypatch.setenv("SIGVERIFY_MODEL", str(world["model"]))
    monkeypatch.setenv("SIGVERIFY_PASSWORD", "alice-pw")
    corpus = world["corpus"]
    assert len(corpus) >= 40
    rows, problems = [], []
    for kind, expectation, image in corpus:
        row = [kind, expectation]
        for path_kind in PATHS:
            args = _command(path_kind, image, world)
            if path_kind in ("enroll", "verify --account", "document", "specimen"):
                args += ["--user", "alice"] if path_kind in ("document", "specimen") else []
            started = time.perf_counter()
            try:
                code = main(args)
            except SystemExit as exc:
                code = exc.code
            seconds = time.perf_counter() - started
            out = capsys.readouterr()
            lines = [line for line in out.err.splitlines() if line.strip()]
            if "Traceback" in out.err + out.out:
                problems.append(f"{kind} via {path_kind}: traceback")
            if seconds > 10:
                problems.append(f"{kind} via {path_kind}: {seconds:.1f} s")
            if expectation == "refuse":
                if code != 3 or len(lines) != 1:
                    problems.append(f"{kind} via {path_kind}: exit {code}, {len(lines)} line(s): {out.err[:200]}")
                row.append(f"3 ({seconds:.2f} s)" if code == 3 else f"{code}!")
            else:
                if code == 3 and any(word in out.err for word in ("damaged", "not an image", "not supported",
                                                                   "not a file", "cannot be read", "limit")):
                    problems.append(f"{kind} via {path_kind}: a valid image was refused: {out.err[:200]}")
                row.append(f"{code} ({seconds:.2f} s)")
        rows.append(row)
    table = ["| input | expected | " + " | ".join(PATHS) + " |", "|---" * (2 + len(PATHS)) + "|"]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    if os.environ.get("SIGVERIFY_CORPUS_TABLE"):
        with open(os.environ["SIGVERIFY_CORPUS_TABLE"], "w", encoding="utf-8") as handle:
            handle.write("\n".join(table) + "\n")
    assert not problems, "\n".join(problems)
