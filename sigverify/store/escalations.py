"""Single verifications a clerk escalated: they wait in the supervisors' review queue until a
supervisor accepts or rejects them (beside the documents of store/mandates.py)."""

from __future__ import annotations

import json

from sqlalchemy import select

from sigverify.errors import StoreError
from sigverify.store.auth import Actor, require_supervisor
from sigverify.store.schema import accounts, decisions, pending_changes, references, verifications


class EscalationQueue:
    def __init__(self, store) -> None:
        self.store = store

    def pending(self, verification_id: int | None = None) -> list[dict]:
        """Escalated verifications no one has accepted or rejected since, oldest first (or just the
        one asked about, if it is waiting)."""
        final = select(decisions.c.verification_id).where(decisions.c.decision.in_(("accept", "reject")))
        waiting = select(decisions.c.verification_id, decisions.c.comment, decisions.c.decided_by).where(
            decisions.c.decision == "escalate", decisions.c.verification_id.not_in(final))
        if verification_id is not None:
            waiting = waiting.where(decisions.c.verification_id == verification_id)
        with self.store.read() as conn:
            # the latest escalation of each verification speaks (ordered by id, later ones overwrite)
            escalated = {r.verification_id: {"escalated_by": r.decided_by, "comment": r.comment}
                         for r in conn.execute(waiting.order_by(decisions.c.id))}
            if not escalated:
                return []
            found = conn.execute(select(verifications.c.id, accounts.c.number.label("account"),
                                        accounts.c.holder_name, verifications.c.filename, verifications.c.created_at,
                                        verifications.c.created_by, verifications.c.verdict, verifications.c.score,
                                        verifications.c.distance, verifications.c.threshold).join(accounts).where(
                verifications.c.id.in_(list(escalated))).order_by(verifications.c.id)).all()
        return [dict(r._mapping, **escalated[r.id]) for r in found]

    def image(self, verification_id: int) -> bytes:
        """The questioned signature as the clerk verified it."""
        with self.store.read() as conn:
            image = conn.execute(select(verifications.c.questioned_image).where(
                verifications.c.id == verification_id)).scalar()
        if image is None:
            raise StoreError(f"unknown verification {verification_id}")
        return bytes(image)

    def decide(self, actor: Actor, verification_id: int, decision: str, comment: str = "") -> int:
        """A supervisor's accept or reject of an escalated verification (recorded and audited like any)."""
        require_supervisor(actor, "decide escalated verifications")
        if decision not in ("accept", "reject"):
            raise StoreError("a supervisor accepts or rejects an escalated verification")
        if decision == "reject" and not comment.strip():
            raise StoreError("a rejection needs a comment (what the supervisor checked)")
        if not self.pending(verification_id):
            raise StoreError(f"verification {verification_id} is not waiting for a supervisor")
        return self.store.record_decision(verification_id, decision, comment, actor)


    def accepted_signature(self, verification_id: int) -> dict:
        """A verification a person accepted as genuine, as material for a new specimen: the account,
        the image as verified, and whose specimen it came closest to. Refused when it was not accepted
        (rejected, escalated, undecided) or is already proposed: only a confirmed genuine signature
        may grow an account's specimens, and once."""
        with self.store.read() as conn:
            row = conn.execute(select(verifications.c.questioned_image, verifications.c.filename,
                                      verifications.c.distances, accounts.c.number).join(accounts).where(
                verifications.c.id == verification_id)).first()
            if row is None:
                raise StoreError(f"unknown verification {verification_id}")
            final = conn.execute(select(decisions.c.decision, decisions.c.decided_by).where(
                decisions.c.verification_id == verification_id,
                decisions.c.decision.in_(("accept", "reject")))).first()
            if final is None or final.decision != "accept":
                said = f"{final.decision}ed by {final.decided_by}" if final else "not decided yet"
                raise StoreError(f"verification {verification_id} was not accepted as genuine ({said}): only a "
                                 "signature a person accepted can become a specimen")
            for change in conn.execute(select(pending_changes.c.id, pending_changes.c.status, pending_changes.c.payload)
                                       .where(pending_changes.c.kind == "enroll",
                                              pending_changes.c.account_number == row.number,
                                              pending_changes.c.status.in_(("pending", "approved")))):
                if json.loads(change.payload).get("from_verification") == verification_id:
                    raise StoreError(f"verification {verification_id} is proposed as a specimen already (change "
                                     f"{change.id}, {change.status})")
            closest = min(json.loads(row.distances), key=lambda d: d["distance"], default=None)
            signatory = conn.execute(select(references.c.signatory_id).where(
                references.c.id == closest["reference_id"])).scalar() if closest else None
        return {"account": row.number, "image": bytes(row.questioned_image), "filename": row.filename,
                "signatory_id": signatory}


def escalations_of(store) -> EscalationQueue:
    """This process's queue, or the window's store process's (store/remote.py)."""
    return store.escalations if getattr(type(store), "escalations", None) is not None else EscalationQueue(store)
