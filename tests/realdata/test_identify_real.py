"""Identification 1:N on real signatures: SigComp2011 test writers through the store and the shipped model."""

from __future__ import annotations

import pytest

from sigverify.identify import forget_indexes, identify_signature
from sigverify.inference.engine import EmbeddingEngine
from sigverify.paths import shipped_model_dir
from sigverify.services import enroll_files
from sigverify.store.repository import Store
from sigverify.training.known_datasets import shared_data_folder
from tests.realdata.conftest import require_shared_data

SIGCOMP = shared_data_folder() / "sigcomp2011"


@pytest.mark.realdata
def test_enrolled_writers_are_named_and_strangers_find_no_match(tmp_path):
    """Writers 051–060 enrolled with 5 genuine specimens each; a sixth genuine signature of each
    should name its account, and a genuine signature of each never-enrolled writer 061–069 should
    find no match (the threshold was chosen on validation writers for 1% false matches)."""
    require_shared_data()
    if not SIGCOMP.is_dir():
        pytest.skip("../shared/data/sigcomp2011 not present")
    forget_indexes()
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    store = Store(f"sqlite:///{tmp_path / 'bank.db'}")
    try:
        writers = sorted(p.name for p in SIGCOMP.iterdir() if "051" <= p.name <= "069")
        enrolled, strangers = writers[:10], writers[10:]
        for writer in enrolled:
            store.add_account(f"SC-{writer}", f"writer {writer}", "setup")
            genuine = sorted((SIGCOMP / writer / "genuine").glob("*.png"))
            enroll_files(store, engine, f"SC-{writer}", genuine[:5], "setup")
        named = 0
        for w in enrolled:
            match = identify_signature(store, engine, sorted((SIGCOMP / w / "genuine").glob("*.png"))[5],
                                       "clerk").identification.match
            named += int(match is not None and match.account == f"SC-{w}")
        nobody = sum(identify_signature(store, engine, sorted((SIGCOMP / w / "genuine").glob("*.png"))[0], "clerk")
                     .identification.match is None for w in strangers)
        assert named >= 8, f"{named} of {len(enrolled)} enrolled writers named right"
        assert nobody >= len(strangers) - 1, f"{len(strangers) - nobody} of {len(strangers)} strangers named as someone"
        assert store.verify_audit().ok
    finally:
        store.close()
