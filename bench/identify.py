"""Identification 1:N: how fast the specimen index answers, how often it agrees with exact search,
and how well the model names the right writer — or nobody — on every dataset's test writers.

    python bench/identify.py                          # everything: 10k, 100k, 1M specimens + real writers
    python bench/identify.py --sizes 10000 --smoke    # the test suite's quick run
    python bench/identify.py --write-docs             # also copy the tables into README.md

Scaling (synthetic embeddings, 128 numbers, unit length, the shape real ones have): people with
5 specimens each around their own centre, spread like real genuine signatures (mean distance
between two of one person's specimens about 0.55, as the shipped model's validation writers);
500 queries are new signatures of enrolled people. For each index (both graphs: 16 links per
node, 128 candidates while building, 200 while searching): build time, p50/p95 search time
of the 100 nearest specimens (the identification shortlist) one query at a time, and recall@1
(the nearest specimen is the one exact search finds). Exact search is numpy over all specimens.

Real writers (the shipped model, every dataset's test writers): open set — half of the writers
enrolled with 5 specimens, the other half never enrolled; the identification threshold from the
manifest (chosen on validation writers for a 1% false-match rate); a never-enrolled writer's
signature named as someone is a false match. Closed set — N-way K-shot accuracy, N = 5, 20 and
all writers, K = 1 and 5, scored by the account model as verification scores an account.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import importlib

import numpy as np

importlib.import_module("onnxruntime")  # before usearch: loaded the other way round, onnxruntime's session crashes

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import provenance  # noqa: E402  (bench/ is on the path)
from sigverify.store.vector_index import ExactIndex, HnswIndex  # noqa: E402

SHORTLIST = 100
QUERIES = 500
DOC_MARKERS = provenance.markers("identify-table", "bench/identify.py --write-docs")


def synthetic_gallery(size: int, seed: int = 0, dimensions: int = 128, per_person: int = 5):
    rng = np.random.default_rng(seed)
    people = size // per_person
    centres = rng.normal(size=(people, dimensions)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = 0.55 / np.sqrt(2 * dimensions)  # per coordinate: two specimens ~0.55 apart
    vectors = np.repeat(centres, per_person, axis=0) + rng.normal(0, spread, (people * per_person, dimensions)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    who = rng.integers(0, people, QUERIES)
    queries = centres[who] + rng.normal(0, spread, (QUERIES, dimensions)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return vectors, queries


def usearch_index(vectors: np.ndarray):
    from usearch.index import Index

    index = Index(ndim=vectors.shape[1], metric="l2sq", dtype="f32", connectivity=16, expansion_add=128,
                  expansion_search=200)  # the settings of the product's faiss index
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors)
    return index


def time_searches(search, queries: np.ndarray) -> tuple[list[int], np.ndarray]:
    firsts, times = [], []
    for q in queries:
        started = time.perf_counter()
        ids = search(q)
        times.append((time.perf_counter() - started) * 1000)
        firsts.append(int(ids[0]))
    return firsts, np.array(times)


def scaling(sizes: list[int], kinds: list[str]) -> list[dict]:
    rows = []
    for size in sizes:
        vectors, queries = synthetic_gallery(size)
        ids = np.arange(size)
        exact = ExactIndex(vectors.shape[1])
        exact.add(ids, vectors)
        truth, times = time_searches(lambda q: exact.search(q, SHORTLIST)[0], queries)
        rows.append({"size": size, "index": "exact (numpy)", "build_s": 0.0, "p50_ms": float(np.median(times)),
                     "p95_ms": float(np.percentile(times, 95)), "recall_at_1": 1.0})
        print(rows[-1], flush=True)
        for kind in kinds:
            started = time.perf_counter()
            if kind == "faiss":  # the product's index (store/vector_index.py)
                index = HnswIndex(vectors.shape[1])
                index.add(ids, vectors)
                search = lambda q: index.search(q, SHORTLIST)[0]  # noqa: E731
            else:
                index = usearch_index(vectors)
                search = lambda q: np.asarray(index.search(q, SHORTLIST).keys)  # noqa: E731
            build = time.perf_counter() - started
            found, times = time_searches(search, queries)
            label = "HNSW (faiss; the product's index)" if kind == "faiss" else f"HNSW ({kind})"
            rows.append({"size": size, "index": label, "build_s": build, "p50_ms": float(np.median(times)),
                         "p95_ms": float(np.percentile(times, 95)),
                         "recall_at_1": float(np.mean(np.array(found) == np.array(truth)))})
            print(rows[-1], flush=True)
    return rows


def real_writers(model: Path, smoke: bool) -> dict:
    from accuracy import test_embeddings
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.training.known_datasets import KNOWN_DATASETS
    from sigverify.verification.identification import n_way_k_shot, open_set_report

    engine = EmbeddingEngine(model, provider="cpu")
    policy, threshold = engine.manifest.policy, engine.manifest.identification_threshold
    out = {"model": engine.version, "threshold": threshold, "datasets": {}}
    for name in KNOWN_DATASETS:
        found = test_embeddings(engine, name, 8 if smoke else None)
        if found is None:
            continue
        outputs, data = found
        writers = len(np.unique(data.writer))
        report = open_set_report(outputs, data.writer, data.forged, policy, threshold=threshold,
                                 repeats=2 if smoke else 5)
        ways = {}
        for n in (5, 20, writers):
            for k in (1, 5):
                label = f"N={'all' if n == writers else n}, K={k}"
                try:
                    ways[label] = n_way_k_shot(outputs, data.writer, data.forged, policy, n, k,
                                               trials=30 if smoke else 300)
                except ValueError:
                    ways[label] = None
        out["datasets"][name] = {"writers": writers, "open_set": report.to_dict(), "n_way": ways}
        print(name, out["datasets"][name], flush=True)
    return out


def render(rows: list[dict], real: dict | None, command: str) -> str:
    lines = ["# SigVerify identification 1:N", "", provenance.stamp(command), ""]
    if rows:
        lines += [f"Search for the {SHORTLIST} nearest specimens, one query at a time (synthetic 128-d embeddings, "
                  "5 specimens per person):", "",
                  "| specimens | index | build | p50 search | p95 search | recall@1 vs exact |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['size']:,} | {r['index']} | {r['build_s']:.1f} s | {r['p50_ms']:.2f} ms | {r['p95_ms']:.2f} ms "
                  f"| {r['recall_at_1']:.3f} |" for r in rows]
        lines.append("")
    if real:
        lines += [f"Model `{real['model']}`, identification threshold {real['threshold']:.4f} (manifest; chosen on "
                  "validation writers for a 1% false-match rate). Open set: half of each dataset's test writers "
                  "enrolled with 5 specimens, half never enrolled (5 draws).", "",
                  "| dataset (test writers) | false match (never enrolled named) | named right (enrolled) "
                  "| rank-1 right (no threshold) |", "|---|---|---|---|"]
        for name, d in real["datasets"].items():
            o = d["open_set"]
            lines.append(f"| {name} ({d['writers']}) | {100 * o['false_match_rate']:.1f}% | "
                         f"{100 * o['true_match_rate']:.1f}% | {100 * o['rank1']:.1f}% |")
        labels = list(next(iter(real["datasets"].values()))["n_way"]) if real["datasets"] else []
        lines += ["", "Closed set, N-way K-shot accuracy (account model scoring; N = all: every test writer of "
                  "the dataset, as many as the first table says):", "",
                  "| dataset | " + " | ".join(labels) + " |",
                  "|---|" + "---|" * len(labels)]
        for name, d in real["datasets"].items():
            cells = [("–" if v is None else f"{100 * v:.1f}%") for v in d["n_way"].values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from sigverify.paths import shipped_model_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kinds", default="faiss,usearch", help="ANN libraries to measure beside exact search")
    parser.add_argument("--model", default=str(shipped_model_dir()))
    parser.add_argument("--no-real", action="store_true", help="skip the real-writer part")
    parser.add_argument("--smoke", action="store_true", help="few writers and trials (the test suite)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "identify.md"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kinds = [k for k in args.kinds.split(",") if k]
    rows = scaling(sizes, kinds)
    real = None if args.no_real else real_writers(Path(args.model), args.smoke)
    command = "python bench/identify.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    text = render(rows, real, command.replace(" --write-docs", ""))
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"scaling": rows, "real": real}, indent=2), encoding="utf-8")
    if args.write_docs:
        provenance.replace_block(REPO / "README.md", *DOC_MARKERS, text.split("\n", 2)[2].strip("\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
