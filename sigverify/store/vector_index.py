"""Nearest specimens by embedding, for identification 1:N, kept in step with the store's embedding cache.

Two kinds behind one interface:
- ``exact``: every specimen compared (numpy, one matrix product). The reference the other is
  measured against, and the fallback when faiss is missing or the gallery is small.
- ``hnsw``: faiss's HNSW graph (bench/identify.py measured faiss-cpu, usearch and exact search:
  both graphs reach the recall and latency wanted, but usearch 2.26 loaded before onnxruntime
  1.31 makes the model's session creation crash (segfault in libstdc++), so faiss it is;
  sqlite-vec cannot load into this Python's sqlite3 (no extension loading) and searches
  exhaustively; pgvector would serve only the PostgreSQL store).

Only the embedding part of a model's output is indexed (unit vectors, squared L2); the shortlist
it returns is scored exactly by the account model (verification/identification.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

#: galleries at least this large get the HNSW index when faiss is installed
HNSW_FROM = 20_000


def faiss_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


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

    def vectors_of(self, ids) -> np.ndarray:
        """The vectors the index holds for these ids (in that order)."""
        where = {int(i): n for n, i in enumerate(self._ids)}
        return self._vectors[[where[int(i)] for i in ids]]

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
    """faiss's HNSW graph. A graph cannot forget a node, so a retired specimen is masked out of every
    search (faiss's id selector) and the graph is rebuilt once a tenth of it is masked."""

    kind = "hnsw"

    def __init__(self, dimensions: int, connectivity: int = 16, expansion_add: int = 128,
                 expansion_search: int = 200) -> None:
        import faiss

        self.dimensions = dimensions
        self.settings = (connectivity, expansion_add, expansion_search)
        self._graph = faiss.IndexHNSWFlat(dimensions, connectivity)
        self._graph.hnsw.efConstruction = expansion_add
        self._labels = np.zeros(0, np.int64)  # graph node → reference id
        self._alive = np.zeros(0, bool)
        self._node: dict[int, int] = {}  # reference id → its live node
        self._bitmap = np.zeros(0, np.uint8)  # the live nodes, packed, while a masked search reads it

    def __len__(self) -> int:
        return len(self._node)

    def ids(self) -> set[int]:
        return set(self._node)

    def add(self, ids, vectors) -> None:
        ids = np.asarray(ids, np.int64)
        self.remove(ids)
        if not ids.size:
            return
        first = self._labels.size
        self._graph.add(np.ascontiguousarray(vectors, np.float32).reshape(len(ids), -1))
        self._labels = np.concatenate([self._labels, ids])
        self._alive = np.concatenate([self._alive, np.ones(ids.size, bool)])
        self._node.update({int(i): first + n for n, i in enumerate(ids)})

    def remove(self, ids) -> None:
        for i in ids:
            node = self._node.pop(int(i), None)
            if node is not None:
                self._alive[node] = False
        if self._alive.size and (~self._alive).sum() > 0.1 * self._alive.size:
            self._rebuild()

    def _rebuild(self) -> None:
        vectors = np.stack([self._graph.reconstruct(int(n)) for n in np.nonzero(self._alive)[0]]) \
            if self._alive.any() else np.zeros((0, self.dimensions), np.float32)
        labels = self._labels[self._alive]
        self.__init__(self.dimensions, *self.settings)
        self.add(labels, vectors)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if not len(self):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        query = np.ascontiguousarray(query, np.float32).reshape(1, -1)
        params = faiss.SearchParametersHNSW(efSearch=max(self.settings[2], k))
        if not self._alive.all():
            self._bitmap = np.packbits(self._alive, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self._alive.size, faiss.swig_ptr(self._bitmap))
        distances, nodes = self._graph.search(query, min(k, len(self)), params=params)
        found = nodes[0] >= 0
        return self._labels[nodes[0][found]], distances[0][found]

    def vectors_of(self, ids) -> np.ndarray:
        """The vectors the graph holds for these ids (in that order)."""
        return np.stack([self._graph.reconstruct(self._node[int(i)]) for i in ids]) if len(ids) else \
            np.zeros((0, self.dimensions), np.float32)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._graph, str(path))
        np.savez(str(path) + ".labels.npz", labels=self._labels, alive=self._alive)

    @classmethod
    def load(cls, path: Path, dimensions: int) -> "HnswIndex":
        import faiss

        index = cls(dimensions)
        index._graph = faiss.read_index(str(path))
        with np.load(str(path) + ".labels.npz", allow_pickle=False) as stored:
            index._labels, index._alive = stored["labels"], stored["alive"]
        index._node = {int(index._labels[n]): int(n) for n in np.nonzero(index._alive)[0]}
        return index


def make_index(dimensions: int, expected: int = 0, kind: str = "auto"):
    """The index for a gallery of about ``expected`` specimens: HNSW for large ones (when faiss is
    installed), exact otherwise; ``kind`` forces one."""
    if kind == "hnsw" or (kind == "auto" and expected >= HNSW_FROM and faiss_available()):
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

    def matches(self, fetch: Callable[[list[int]], np.ndarray], chunk: int = 10_000) -> bool:
        """Whether every vector the index holds is the store's: a saved index is a file in the user's
        home, which whoever can write it could change (one writer's vectors turned away from the
        truth would hide that writer from identification). One that does not match is dropped."""
        if self.index is None:
            return True
        ids = sorted(self.index.ids())
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            truth = np.asarray(fetch(part), np.float32)[:, : self.identity_size or None]
            if truth.shape != (len(part), self.index.dimensions) or \
                    not np.allclose(self.index.vectors_of(part), truth, atol=1e-4):
                self.index = None
                return False
        return True

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
        specimens.index.save(partial)
        os.replace(str(partial) + ".labels.npz", str(data) + ".labels.npz")
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
            index = HnswIndex.load(data, int(meta["dimensions"]))
        else:
            index = ExactIndex(int(meta["dimensions"]))
            with np.load(data, allow_pickle=False) as stored:
                index.add(stored["ids"], stored["vectors"])
        if len(index) != int(meta["count"]):
            return specimens
        specimens.index = index
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, TypeError):
        pass
    return specimens
