"""The store's side of identification 1:N: who the enrolled people are (an account's signatory, or
an account whose specimens name none), their specimens' embeddings, and the audited record of
every identification made."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, select

from sigverify.errors import StoreError
from sigverify.store import audit as audit_chain
from sigverify.store.db import now
from sigverify.store.schema import accounts, audit, embeddings, identifications, references, signatories
from sigverify.store.repository import vector_from_bytes


@dataclass(frozen=True)
class Specimens:
    """Every active specimen in scope: ids, owners (reference id → (account, signatory)), and the
    ids that still lack an embedding under the model."""

    ids: list[int]
    owners: dict[int, tuple[str, str]]
    missing: list[int]


class IdentificationLog:
    def __init__(self, store) -> None:
        self.store = store

    def specimens(self, model_sha256: str, account: str | None = None) -> Specimens:
        query = select(references.c.id, accounts.c.number, signatories.c.name, embeddings.c.reference_id.label("has")) \
            .select_from(references.join(accounts, accounts.c.id == references.c.account_id)
                         .outerjoin(signatories, signatories.c.id == references.c.signatory_id)
                         .outerjoin(embeddings, and_(embeddings.c.reference_id == references.c.id,
                                                     embeddings.c.model_sha256 == model_sha256))) \
            .where(references.c.active.is_(True)).order_by(references.c.id)
        if account:
            self.store.account(account)  # an unknown account is refused with its own message
            query = query.where(accounts.c.number == account)
        with self.store.read() as conn:
            rows = conn.execute(query).all()
        return Specimens([r.id for r in rows if r.has is not None],
                         {r.id: (r.number, r.name or "") for r in rows},
                         [r.id for r in rows if r.has is None])

    def store_identity(self) -> str:
        """A fingerprint of this store: its location and its audit chain's first record (a store
        deleted and made anew at the same place has another), for caches keyed by reference id."""
        with self.store.read() as conn:
            first = conn.execute(select(audit.c.hash).order_by(audit.c.id).limit(1)).scalar() or ""
        return hashlib.sha256(f"{self.store.url}\0{first}".encode()).hexdigest()

    def vectors(self, ids: list[int], model_sha256: str) -> np.ndarray:
        """The embeddings of these specimens under the model, in the order asked."""
        found: dict[int, np.ndarray] = {}
        with self.store.read() as conn:
            for start in range(0, len(ids), 500):
                chunk = [int(i) for i in ids[start : start + 500]]
                for r in conn.execute(select(embeddings.c.reference_id, embeddings.c.vector).where(
                        embeddings.c.model_sha256 == model_sha256, embeddings.c.reference_id.in_(chunk))):
                    found[r.reference_id] = vector_from_bytes(r.vector)
        if len(found) != len(set(ids)):
            raise StoreError("some specimens have no embedding under this model; refresh the embeddings first")
        return np.stack([found[int(i)] for i in ids]) if ids else np.zeros((0, 0), np.float32)

    def record(self, image: bytes, filename: str, scope: str, model_version: str, model_sha256: str,
               candidates: list[dict], matched: tuple[str, str] | None, threshold: float, actor) -> int:
        """Keep what was asked, of whom, and what came back (audited like a verification)."""
        actor = self.store.actor(actor).name
        digest = hashlib.sha256(image).hexdigest()
        account, signatory = matched or ("", "")
        with self.store.write() as conn:
            at = now()
            identification_id = conn.execute(identifications.insert().values(
                questioned_image=image, questioned_sha256=digest, filename=filename, scope=scope or "",
                model_version=model_version, model_sha256=model_sha256, candidates=json.dumps(candidates),
                matched_account=account, matched_signatory=signatory, threshold=float(threshold),
                created_by=actor, created_at=at)).inserted_primary_key[0]
            audit_chain.append(conn, at, actor, "identification", scope or "*", {
                "identification_id": identification_id, "questioned_sha256": digest, "model_version": model_version,
                "candidates": candidates, "matched_account": account, "matched_signatory": signatory,
                "threshold": round(float(threshold), 6)}, rows=[("identifications", identification_id)])
        return identification_id

    def recent(self, limit: int = 50) -> list[dict]:
        with self.store.read() as conn:
            rows = conn.execute(select(identifications.c.id, identifications.c.filename, identifications.c.scope,
                                       identifications.c.matched_account, identifications.c.matched_signatory,
                                       identifications.c.created_by, identifications.c.created_at)
                                .order_by(identifications.c.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]


def identifications_of(store) -> IdentificationLog:
    """This process's log, or the window's store process's (store/remote.py)."""
    return store.identifications if getattr(type(store), "identifications", None) is not None \
        else IdentificationLog(store)
