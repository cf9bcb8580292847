"""Nearest specimens by embedding, for identification 1:N, kept in step with the store's embedding cache.

Two kinds behind one interface:
- ``exact``: every specimen compared (numpy, one matrix product). The reference the other is
  measured against, and the fallback when usearch is missing or the gallery is small.
- ``hnsw``: usearch's HNSW graph (bench/identify.py measured faiss-cpu, usearch and exact search;
  usearch is chosen: recall@1 and latency on a par with faiss HNSW, a 2 MB wheel against 19 MB,
  and it saves/loads one file; sqlite-vec searches exhaustively, pgvector needs PostgreSQL).

Only the embedding part of a model's output is indexed (unit vectors, squared L2); the shortlist
it returns is scored exactly by the account model (verification/identification.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

#: galleries at least this large get the HNSW index when usearch is installed
HNSW_FROM = 20_000


def usearch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("usearch") is not None


class ExactIndex:
    kind = "exact"

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._ids = np.zeros(0, np.int64)
        self._vectors = np.zeros((0, dimensions), np.float32)

    def __len__(self) -> int:
        return int(self._ids.size)

    def ids(self) -> set[int]:
        return set(self._ids.tolist())

    def add(self, ids, vectors) -> None:
        ids = np.asarray(ids, np.int64)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, np.asarray(vectors, np.float32).reshape(len(ids), -1)])

    def remove(self, ids) -> None:
        keep = ~np.isin(self._ids, np.asarray(list(ids), np.int64))
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, squared distances) of the k nearest, nearest first."""
        if not len(self):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.asarray(query, np.float32).ravel()
        squared = (self._vectors * self._vectors).sum(1) - 2.0 * self._vectors @ query + query @ query
        k = min(k, len(self))
        nearest = np.argpartition(squared, k - 1)[:k]
        nearest = nearest[np.argsort(squared[nearest])]
        return self._ids[nearest], squared[nearest]


class HnswIndex:
    kind = "hnsw"

    def __init__(self, dimensions: int, connectivity: int = 16, expansion_add: int = 128,
                 expansion_search: int = 96) -> None:
        from usearch.index import Index

        self.dimensions = dimensions
        self._index = Index(ndim=dimensions, metric="l2sq", dtype="f32", connectivity=connectivity,
                            expansion_add=expansion_add, expansion_search=expansion_search)

    def __len__(self) -> int:
        return len(self._index)

    def ids(self) -> set[int]:
        return set(int(i) for i in self._index.keys)

    def add(self, ids, vectors) -> None:
        ids = np.asarray(ids, np.int64)
        self.remove(ids)
        if ids.size:
            self._index.add(ids.astype(np.uint64), np.ascontiguousarray(vectors, np.float32).reshape(len(ids), -1))

    def remove(self, ids) -> None:
        present = [int(i) for i in ids if int(i) in self._index]
        if present:
            self._index.remove(np.asarray(present, np.uint64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(self):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        found = self._index.search(np.ascontiguousarray(query, np.float32).ravel(), min(k, len(self)))
        return np.asarray(found.keys, np.int64), np.asarray(found.distances, np.float32)


def make_index(dimensions: int, expected: int = 0, kind: str = "auto"):
    """The index for a gallery of about ``expected`` specimens: HNSW for large ones (when usearch is
    installed), exact otherwise; ``kind`` forces one."""
    if kind == "hnsw" or (kind == "auto" and expected >= HNSW_FROM and usearch_available()):
        return HnswIndex(dimensions)
    return ExactIndex(dimensions)


class SpecimenIndex:
    """One model's index of the store's active specimens. ``sync`` brings it in step with the store
    (specimens enrolled since are added, retired ones removed); a new model means a new index."""

    def __init__(self, model_sha256: str, identity_size: int | None, kind: str = "auto") -> None:
        self.model_sha256 = model_sha256
        self.identity_size = identity_size
        self.kind = kind
        self.index = None

    def sync(self, active_ids: list[int], fetch: Callable[[list[int]], np.ndarray]) -> tuple[int, int]:
        """(added, removed); ``fetch(ids)`` returns those specimens' model outputs."""
        have = self.index.ids() if self.index is not None else set()
        wanted = set(int(i) for i in active_ids)
        gone, new = sorted(have - wanted), sorted(wanted - have)
        if new:
            vectors = np.asarray(fetch(new), np.float32)[:, : self.identity_size or None]
            if self.index is None:
                self.index = make_index(vectors.shape[1], len(wanted), self.kind)
            for start in range(0, len(new), 10_000):
                self.index.add(new[start : start + 10_000], vectors[start : start + 10_000])
        if gone and self.index is not None:
            self.index.remove(gone)
        return len(new), len(gone)

    def nearest(self, query: np.ndarray, k: int) -> list[int]:
        """Reference ids of the k specimens nearest the query's embedding."""
        if self.index is None:
            return []
        ids, _ = self.index.search(np.asarray(query, np.float32).ravel()[: self.identity_size or None], k)
        return [int(i) for i in ids]


def _files(folder: Path, model_sha256: str) -> tuple[Path, Path]:
    stem = Path(folder) / f"specimens-{model_sha256[:16]}"
    return stem.with_suffix(".json"), stem.with_suffix(".index")


def save_index(specimens: SpecimenIndex, folder: Path) -> None:
    """Keep a large index between runs (an HNSW graph of a million specimens takes minutes to build);
    written beside a sidecar, then moved into place, so a crash never leaves half an index."""
    if specimens.index is None:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sidecar, data = _files(folder, specimens.model_sha256)
    partial = data.with_suffix(".partial")
    if isinstance(specimens.index, HnswIndex):
        specimens.index._index.save(str(partial))
    else:
        with open(partial, "wb") as handle:
            np.savez(handle, ids=specimens.index._ids, vectors=specimens.index._vectors)
    os.replace(partial, data)
    sidecar.write_text(json.dumps({"model_sha256": specimens.model_sha256, "kind": specimens.index.kind,
                                   "dimensions": specimens.index.dimensions, "identity_size": specimens.identity_size,
                                   "count": len(specimens.index)}), encoding="utf-8")


def load_index(folder: Path, model_sha256: str, identity_size: int | None, kind: str = "auto") -> SpecimenIndex:
    """The saved index of this model, or an empty one (missing, unreadable or another model's: the
    next sync rebuilds it from the store, which stays the source of truth)."""
    specimens = SpecimenIndex(model_sha256, identity_size, kind)
    sidecar, data = _files(folder, model_sha256)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if meta["model_sha256"] != model_sha256 or meta["identity_size"] != identity_size:
            return specimens
        if meta["kind"] == "hnsw":
            index = HnswIndex(int(meta["dimensions"]))
            index._index.load(str(data))
        else:
            index = ExactIndex(int(meta["dimensions"]))
            with np.load(data, allow_pickle=False) as stored:
                index.add(stored["ids"], stored["vectors"])
        if len(index) != int(meta["count"]):
            return specimens
        specimens.index = index
    except (OSError, ValueError, KeyError, RuntimeError, ImportError):
        pass
    return specimens
