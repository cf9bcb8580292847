"""Throughput of a clearing run: `sigverify batch` on generated cheques with the shipped model.

    python bench/batch.py [--rows 200] [--workers 1,2] [--out bench/results/batch.md]

A store with one account (two signatories, three specimens each, the rule "any one up to
1,000, two above"), a CSV of generated cheque pages (1800×825, the signature placed where a
cheque has it, no box given: the finder locates it), decided end to end by run_batch with N
worker processes. Rows per second are measured from the start of the run (worker start-up
included) to the last result written.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import provenance  # noqa: E402  (bench/ is on the path)


def make_store(folder: Path, engine) -> str:
    from sigverify.imaging.preprocess import preprocess_with_box
    from sigverify.store.auth import Actor
    from sigverify.store.mandates import MandateStore, enrolment_payload
    from sigverify.store.repository import Store
    from sigverify.synthetic import SyntheticWriter

    rng = np.random.default_rng(0)
    url = f"sqlite:///{folder / 'bank.db'}"
    store = Store(url)
    alice = store.users.add("alice", "supervisor", "pw-a", by=Actor("root", "supervisor"))
    bob = store.users.add("bob", "supervisor", "pw-b", by=alice)
    store.users.add("carol", "clerk", "pw-c", by=alice)
    store.add_account("NL-1", "Smit & Bakker", "alice")
    mandates = MandateStore(store)
    for name, panel, seed in (("Smit", "A", 401), ("Bakker", "B", 402)):
        mandates.approve(bob, mandates.request(alice, "signatory", "NL-1", {"name": name, "panel": panel}))
        person = next(s for s in mandates.signatories("NL-1") if s.name == name)
        for i in range(3):
            image = SyntheticWriter(seed).genuine(rng)
            prepared = preprocess_with_box(image, engine.manifest.preprocessing)
            payload = enrolment_payload(person.id, f"{name}{i}.png", prepared.box,
                                        engine.embed_canvases(prepared.canvas[None])[0], engine.manifest.sha256, None)
            mandates.approve(bob, mandates.request(alice, "enroll", "NL-1", payload,
                                                   attachment=cv2.imencode(".png", image)[1].tobytes()))
    mandates.approve(bob, mandates.request(alice, "rule", "NL-1", {"rule": {"bands": [
        {"up_to": 1000, "count": 1}, {"up_to": None, "count": 2}]}}))
    store.close()
    return url


def make_manifest(folder: Path, rows: int) -> Path:
    from sigverify.synthetic import SyntheticWriter
    from sigverify.synthetic_cheque import make_cheque

    rng = np.random.default_rng(1)
    pages = []
    for i in range(min(rows, 20)):  # 20 distinct cheques, reused: decoding and deciding are the cost
        signature = SyntheticWriter(401 + i % 2).genuine(rng)
        signature = cv2.resize(signature, (signature.shape[1] * 2, signature.shape[0] * 2))
        page, _ = make_cheque(signature, rng, layout=i % 3)
        path = folder / f"cheque{i}.png"
        cv2.imwrite(str(path), page)
        pages.append(path.name)
    manifest = folder / "run.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "account", "amount"])
        for row in range(rows):
            writer.writerow([pages[row % len(pages)], "NL-1", f"{100 + row}.00"])
    return manifest


def main(argv: list[str] | None = None) -> int:
    from sigverify.batch import run_batch
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.paths import shipped_model_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "batch.md"))
    args = parser.parse_args(argv)
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    lines = []
    for workers in [int(w) for w in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            url = make_store(folder, engine)
            manifest = make_manifest(folder, args.rows)
            started = time.perf_counter()
            summary = run_batch(manifest, folder / "results.csv", url, shipped_model_dir(), "carol",
                                workers=workers, provider="cpu")
            seconds = time.perf_counter() - started
            lines.append(f"| {workers} | {summary.rows} | {seconds:.1f} s | {summary.rows / seconds:.1f} | "
                         + ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())) + " |")
            print(lines[-1], flush=True)
    command = "python bench/batch.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    text = "\n".join(["# SigVerify clearing-run throughput", "", provenance.stamp(command), "",
                      f"Model `{engine.version}`; generated 1800×825 cheques, no box given (the finder locates "
                      "the signature); worker start-up included.", "",
                      "| workers | rows | wall time | rows/s | outcomes |", "|---|---|---|---|---|", *lines]) + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
