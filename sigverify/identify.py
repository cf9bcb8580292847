"""Whose signature is this? Identification 1:N over the store's enrolled people, for the CLI and
the window alike: embed the questioned signature, shortlist the people whose specimens lie
nearest (the specimen index, kept in step with the store), score each of them exactly as
verification scores an account, name the closest within the open-set threshold or say
"no match found", and record it in the audit trail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sigverify.imaging.decode import load_image
from sigverify.imaging.document import questioned_signature
from sigverify.inference.engine import EmbeddingEngine
from sigverify.inference.trust import require_trusted_model
from sigverify.paths import user_data_dir
from sigverify.services import read_questioned, refresh_embeddings
from sigverify.store.db import StoreError
from sigverify.store.identifications import Specimens, identifications_of
from sigverify.store.vector_index import SpecimenIndex, load_index, save_index
from sigverify.verification.identification import Identification, identify

#: specimens the index hands to exact scoring (their people, every specimen of each, are scored)
SHORTLIST = 100

_INDEXES: dict[tuple[str, str], SpecimenIndex] = {}  # per store and model, kept for the life of the process


@dataclass(frozen=True)
class IdentificationResult:
    identification_id: int
    identification: Identification
    scope: str  # the account searched, or "" for everyone
    searched: str  # how: "exact" or the index kind


def specimen_index(store, engine: EmbeddingEngine, specimens: Specimens | None = None) -> SpecimenIndex:
    """This model's index of the store's active specimens, brought in step with the store now
    (``specimens``: every active specimen as the caller just read it, embeddings complete)."""
    sha = engine.manifest.sha256
    log = identifications_of(store)
    key = (log.store_identity(), sha)  # reference ids mean something only within one store
    folder = user_data_dir() / "index" / key[0][:16]
    index = _INDEXES.get(key)
    if index is None:
        index = _INDEXES[key] = load_index(folder, sha, engine.manifest.identity_size or None)
        # the saved file is only a cache: the store's vectors are the truth (a changed one is rebuilt)
        if not index.matches(lambda ids: log.vectors(ids, sha)):
            logging.getLogger(__name__).warning(f"the saved identification index in {folder} does not match the store; rebuilt from the store")
    specimens = _embedded_specimens(store, engine) if specimens is None else specimens
    added, removed = index.sync(specimens.ids, lambda ids: log.vectors(ids, sha))
    if (added or removed) and index.index is not None and index.index.kind == "hnsw":
        save_index(index, folder)
    return index


def _embedded_specimens(store, engine: EmbeddingEngine, account: str = "") -> Specimens:
    """The active specimens in scope, after embedding any the model has not met yet."""
    log = identifications_of(store)
    specimens = log.specimens(engine.manifest.sha256, account or None)
    if specimens.missing:
        refresh_embeddings(store, engine, reference_ids=specimens.missing)
        specimens = log.specimens(engine.manifest.sha256, account or None)
    return specimens


def identify_signature(store, engine: EmbeddingEngine, questioned: Path | bytes, actor: str, account: str = "",
                       top: int = 5, filename: str = "") -> IdentificationResult:
    """Rank the enrolled people (of one account, or everyone) for a questioned signature, and record it."""
    require_trusted_model(store, engine)
    data, name = read_questioned(questioned, filename)
    signature = questioned_signature(load_image(data, name=name).pixels)  # a whole cheque: its signature, cleaned
    query = engine.embed_canvases(engine.prepare(signature.image)[None])[0]
    log = identifications_of(store)
    sha = engine.manifest.sha256
    specimens = _embedded_specimens(store, engine, account)
    if not specimens.ids:
        raise StoreError(f"account {account} has no active specimens to compare with" if account else
                         "no specimens are enrolled yet: there is nobody to compare with")
    if account:  # one account's signatories: few, all scored
        ids, searched = specimens.ids, "exact"
    else:
        index = specimen_index(store, engine, specimens)
        people = {specimens.owners[i] for i in index.nearest(query, SHORTLIST) if i in specimens.owners}
        ids = [i for i in specimens.ids if specimens.owners[i] in people]
        searched = index.index.kind if index.index is not None else "exact"
    vectors = log.vectors(ids, sha)
    threshold = engine.manifest.identification_threshold
    result = identify(query, ids, vectors, specimens.owners, engine.manifest.policy, threshold, top)
    candidates = [c.record() for c in result.candidates]
    match = result.match
    identification_id = log.record(data, name, account, engine.version, sha, candidates,
                                   (match.account, match.signatory) if match else None, threshold, actor)
    return IdentificationResult(identification_id, result, account, searched)


def forget_indexes() -> None:
    """Drop the in-process indexes (a test, or a store switched under a running process)."""
    _INDEXES.clear()

