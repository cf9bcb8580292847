"""The specimen index: the HNSW graph agrees with exact search, forgets retired specimens, and
comes back from disk as it was saved."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.store.vector_index import ExactIndex, HnswIndex, SpecimenIndex, load_index, save_index


def _gallery(n=3000, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 5, dim))
    vectors = np.repeat(centres, 5, axis=0) + 0.1 * rng.normal(size=(n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = centres[:50] + 0.1 * rng.normal(size=(50, dim))
    return vectors.astype(np.float32), (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", [ExactIndex, HnswIndex])
def test_nearest_agrees_with_exact_search_and_forgets_retired_specimens(kind):
    vectors, queries = _gallery()
    ids = np.arange(1000, 1000 + len(vectors))
    exact, index = ExactIndex(32), kind(32)
    exact.add(ids, vectors)
    index.add(ids, vectors)
    agree = [index.search(q, 1)[0][0] == exact.search(q, 1)[0][0] for q in queries]
    assert np.mean(agree) >= 0.98
    retired = [int(exact.search(q, 1)[0][0]) for q in queries[:10]]  # each query's nearest specimen
    index.remove(retired)
    exact.remove(retired)
    assert len(index) == len(vectors) - 10 and not set(retired) & index.ids()
    for q in queries[:10]:
        found = index.search(q, 20)[0]
        assert not set(found.tolist()) & set(retired) and found[0] == exact.search(q, 1)[0][0]


def test_many_retirements_rebuild_the_graph_without_losing_anyone():
    vectors, queries = _gallery(n=1000)
    index = HnswIndex(32)
    index.add(np.arange(1000), vectors)
    index.remove(range(0, 300))  # past a tenth masked: rebuilt from the living nodes
    assert len(index) == 700 and index.ids() == set(range(300, 1000)) and index._alive.all()
    assert all(index.search(q, 5)[0].min() >= 300 for q in queries)


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_a_saved_index_loads_as_it_was_and_another_models_does_not(tmp_path, kind):
    vectors, queries = _gallery(n=500)
    specimens = SpecimenIndex("a" * 64, 32, kind)
    specimens.sync(list(range(500)), lambda ids: vectors[ids])
    specimens.sync(list(range(5, 500)), lambda ids: vectors[ids])  # five retired
    save_index(specimens, tmp_path)
    again = load_index(tmp_path, "a" * 64, 32, kind)
    assert again.index.kind == kind and again.index.ids() == set(range(5, 500))
    assert [again.nearest(q, 3) for q in queries] == [specimens.nearest(q, 3) for q in queries]
    assert load_index(tmp_path, "b" * 64, 32).index is None  # another model starts empty
    (tmp_path / f"specimens-{'a' * 16}.index").write_bytes(b"garbage")
    assert load_index(tmp_path, "a" * 64, 32, kind).index is None  # unreadable: rebuilt from the store


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_a_saved_index_whose_vectors_were_changed_is_dropped(tmp_path, kind):
    """Issue 30, item 9: negating one writer's vectors in the saved index hid that writer from
    identify ("no match found"); the index is a cache, the store's vectors the truth."""
    vectors, queries = _gallery(n=300)
    specimens = SpecimenIndex("a" * 64, 32, kind)
    specimens.sync(list(range(300)), lambda ids: vectors[ids])
    save_index(specimens, tmp_path)
    intact = load_index(tmp_path, "a" * 64, 32, kind)
    assert intact.matches(lambda ids: vectors[ids]) and intact.index is not None
    tampered = vectors.copy()
    tampered[10:15] *= -1  # what the attacker wrote into the file: one writer's five specimens turned away
    forged = SpecimenIndex("a" * 64, 32, kind)
    forged.sync(list(range(300)), lambda ids: tampered[ids])
    save_index(forged, tmp_path)
    loaded = load_index(tmp_path, "a" * 64, 32, kind)
    assert not loaded.matches(lambda ids: vectors[ids]) and loaded.index is None
    loaded.sync(list(range(300)), lambda ids: vectors[ids])  # rebuilt from the store
    assert [loaded.nearest(q, 3) for q in queries] == [specimens.nearest(q, 3) for q in queries]
