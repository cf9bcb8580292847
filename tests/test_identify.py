"""Identification 1:N through the real store, the real shipped model and the specimen index."""

from __future__ import annotations

import cv2
import pytest

from sigverify.errors import StoreError
from sigverify.identify import forget_indexes, identify_signature, specimen_index
from sigverify.inference.engine import EmbeddingEngine
from sigverify.paths import shipped_model_dir
from sigverify.services import enroll_files
from sigverify.store.identifications import identifications_of
from sigverify.store.repository import Store
from sigverify.synthetic import SyntheticWriter
from tests.helpers import approve_model, make_tiny_model, tiny_onnx


@pytest.fixture
def store(tmp_path):
    forget_indexes()
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def _write(folder, name, image):
    path = folder / f"{name}.png"
    cv2.imwrite(str(path), image)
    return path


def _enrol_writers(store, engine, tmp_path, rng, seeds, specimens=5):
    for seed in seeds:
        writer = SyntheticWriter(seed)
        store.add_account(f"ACC-{seed}", f"holder {seed}", "alice")
        paths = [_write(tmp_path, f"w{seed}-{i}", writer.genuine(rng)) for i in range(specimens)]
        enroll_files(store, engine, f"ACC-{seed}", paths, "alice")


def test_identify_names_enrolled_writers_and_nobody_for_strangers(store, tmp_path, rng):
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    enrolled, strangers = [101, 102, 103, 104, 105, 106], [201, 202, 203]
    _enrol_writers(store, engine, tmp_path, rng, enrolled)
    named = 0
    for seed in enrolled:
        result = identify_signature(store, engine, _write(tmp_path, f"q{seed}", SyntheticWriter(seed).genuine(rng)), "bob")
        top = result.identification.candidates[0]
        named += int(result.identification.match is not None and top.account == f"ACC-{seed}")
    assert named >= 5, f"only {named} of 6 enrolled writers named"
    nobody = 0
    for seed in strangers:
        result = identify_signature(store, engine, _write(tmp_path, f"s{seed}", SyntheticWriter(seed).genuine(rng)), "bob")
        nobody += int(result.identification.match is None)
    assert nobody >= 2, f"{3 - nobody} of 3 never-enrolled writers were named as someone"
    log = identifications_of(store).recent()
    assert len(log) == 9  # every identification is recorded
    assert "identification" in store.export_audit_csv()
    assert store.verify_audit().ok


def test_identify_within_one_account_and_refusals(store, tmp_path, rng):
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    _enrol_writers(store, engine, tmp_path, rng, [111, 112])
    result = identify_signature(store, engine, _write(tmp_path, "q", SyntheticWriter(112).genuine(rng)), "bob",
                                account="ACC-112")
    assert [c.account for c in result.identification.candidates] == ["ACC-112"] and result.searched == "exact"
    store.add_account("EMPTY", "nobody", "alice")
    with pytest.raises(StoreError, match="no active specimens"):
        identify_signature(store, engine, _write(tmp_path, "q2", SyntheticWriter(1).genuine(rng)), "bob",
                           account="EMPTY")
    with pytest.raises(StoreError, match="unknown account|no account"):
        identify_signature(store, engine, _write(tmp_path, "q3", SyntheticWriter(1).genuine(rng)), "bob",
                           account="NOPE")


def test_the_index_follows_enrolment_retirement_and_model_change(store, tmp_path, rng):
    first = make_tiny_model(tmp_path / "m1")
    approve_model(store, first)
    engine = EmbeddingEngine(first, provider="cpu")
    _enrol_writers(store, engine, tmp_path, rng, [1, 2], specimens=3)
    log = identifications_of(store)
    index = specimen_index(store, engine)
    assert index.index.ids() == set(log.specimens(engine.manifest.sha256).ids) and len(index.index) == 6
    _enrol_writers(store, engine, tmp_path, rng, [3], specimens=2)
    retired = log.specimens(engine.manifest.sha256).ids[0]
    store.retire(retired, "alice")
    index = specimen_index(store, engine)
    assert len(index.index) == 7 and retired not in index.index.ids()
    # another model: its own index, built from the store's specimens embedded anew
    second = tmp_path / "m2"
    make_tiny_model(second)
    (second / "model.onnx").write_bytes(tiny_onnx(engine.manifest.preprocessing.canvas_height,
                                                  engine.manifest.preprocessing.canvas_width, seed=5))
    import hashlib
    import json
    manifest = json.loads((second / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256((second / "model.onnx").read_bytes()).hexdigest()
    manifest["version"] = "tiny-test-2"
    (second / "manifest.json").write_text(json.dumps(manifest))
    approve_model(store, second)
    other = EmbeddingEngine(second, provider="cpu")
    moved = specimen_index(store, other)
    assert moved is not index and moved.index.ids() == index.index.ids()
    query = other.embed_canvases(other.prepare(SyntheticWriter(3).genuine(rng))[None])[0]
    nearest = moved.nearest(query, 1)[0]
    exact = log.vectors(sorted(moved.index.ids()), other.manifest.sha256)
    ids = sorted(moved.index.ids())
    import numpy as np
    assert nearest == ids[int(np.argmin(np.linalg.norm(exact - query, axis=1)))]
