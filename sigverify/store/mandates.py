"""Mandates in the store: signatories, signing rules, change requests with a second approval,
documents and the review queue. Every step lands in the audit chain with who did it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, select

from sigverify.errors import StoreError
from sigverify.mandates.rules import ANY_ONE, Mandate, Signatory, check_satisfiable, parse_mandate
from sigverify.store import audit as audit_chain
from sigverify.store import store_changes
from sigverify.store.db import plain_text
from sigverify.store.auth import Actor, PermissionDenied, require_supervisor
from sigverify.store.db import now
from sigverify.store.repository import EnrolItem, Store, vector_from_bytes
from sigverify.store.schema import (batch_rows, document_signatures, documents, embeddings, mandate_files, mandate_rules,
                                    pending_changes, references, signatories)

from sigverify.store.enrolment import enrolment_payload  # noqa: E402,F401  (re-exported)

CHANGE_KINDS = ("signatory", "enroll", "retire", "rule")


@dataclass(frozen=True)
class PendingChange:
    id: int
    kind: str
    account_number: str
    payload: dict
    requested_by: str
    requested_at: str
    status: str
    signatory_name: str = ""  # an enrolment's signatory, by name (the payload holds its number)

    def describe(self) -> str:
        p = self.payload
        if self.kind == "signatory":
            limit = "no limit" if p.get("approval_limit") is None else f"limit {float(p['approval_limit']):,.2f}"
            return f"add signatory {p['name']} (panel {p.get('panel') or '-'}, {limit})"
        if self.kind == "enroll":
            who = f"{self.signatory_name} (#{p['signatory_id']})" if self.signatory_name else f"#{p['signatory_id']}"
            source = (f", from verification {p['from_verification']} (accepted as genuine)"
                      if p.get("from_verification") is not None else "")
            return f"enrol specimen {p['filename']} for signatory {who}{source}"
        if self.kind == "retire":
            return f"retire specimen {p['reference_id']}"
        if self.kind in store_changes.STORE_KINDS:
            return store_changes.describe(self.kind, self.account_number, p)
        return f"set rule: {parse_mandate(p['rule']).describe()}"


def mandates_of(store) -> "MandateStore":
    """The signatories, rules, pending changes and documents of a store: this process's, or those
    of the window's store process (store/remote.py), reached through the same methods."""
    remote = getattr(type(store), "mandates", None)
    return store.mandates if remote is not None else MandateStore(store)


class MandateStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ------------------------------------------------------------------ reading
    def signatories(self, number: str, today: str | None = None) -> list[Signatory]:
        """The account's signatories, each marked whether it has a specimen valid today."""
        account = self.store.account(number)
        today = today or dt.date.today().isoformat()
        with self.store.read() as conn:
            rows = conn.execute(select(signatories).where(signatories.c.account_id == account.id).order_by(
                signatories.c.id)).all()
            valid = {r.signatory_id for r in conn.execute(select(references.c.signatory_id).where(and_(
                references.c.account_id == account.id, references.c.active.is_(True),
                (references.c.expires_on.is_(None)) | (references.c.expires_on >= today))))}
        return [Signatory(r.id, r.name, r.panel, r.approval_limit, r.id in valid) for r in rows]

    def specimen_embeddings(self, number: str, model_sha256: str, today: str | None = None) -> dict[int, np.ndarray]:
        """Per signatory, the embeddings of its active, unexpired specimens for this model."""
        account = self.store.account(number)
        today = today or dt.date.today().isoformat()
        with self.store.read() as conn:
            rows = conn.execute(select(references.c.signatory_id, embeddings.c.vector).select_from(
                references.join(embeddings, and_(embeddings.c.reference_id == references.c.id,
                                                 embeddings.c.model_sha256 == model_sha256))).where(and_(
                    references.c.account_id == account.id, references.c.active.is_(True),
                    references.c.signatory_id.is_not(None),
                    (references.c.expires_on.is_(None)) | (references.c.expires_on >= today)))).all()
        out: dict[int, list] = {}
        for row in rows:
            out.setdefault(row.signatory_id, []).append(vector_from_bytes(row.vector))
        return {k: np.stack(v) for k, v in out.items()}

    def reference_signatories(self, number: str) -> dict[int, str]:
        """Whose specimen each of the account's active references is (by reference id; signatory name)."""
        account = self.store.account(number)
        with self.store.read() as conn:
            rows = conn.execute(select(references.c.id, signatories.c.name).select_from(
                references.join(signatories, signatories.c.id == references.c.signatory_id)).where(and_(
                    references.c.account_id == account.id, references.c.active.is_(True)))).all()
        return {r.id: r.name for r in rows}

    def signatory_specimen(self, signatory_id: int) -> tuple[str | None, int | None]:
        """A signatory's name and one of its active specimens (for showing it beside a document)."""
        with self.store.read() as conn:
            name = conn.execute(select(signatories.c.name).where(signatories.c.id == signatory_id)).scalar()
            ref = conn.execute(select(references.c.id).where(references.c.signatory_id == signatory_id,
                                                             references.c.active.is_(True)).limit(1)).scalar()
        return name, ref

    def mandate(self, number: str) -> Mandate:
        account = self.store.account(number)
        with self.store.read() as conn:
            rule = conn.execute(select(mandate_rules.c.rule).where(mandate_rules.c.account_id == account.id)).scalar()
        return parse_mandate(rule) if rule else ANY_ONE

    def change_attachment(self, change_id: int) -> bytes | None:
        """The file a change carries (a specimen's image): what the approving supervisor looks at."""
        with self.store.read() as conn:
            data = conn.execute(select(pending_changes.c.attachment).where(pending_changes.c.id == change_id)).scalar()
        return bytes(data) if data is not None else None

    def pending(self) -> list[PendingChange]:
        with self.store.read() as conn:
            rows = conn.execute(select(pending_changes).where(pending_changes.c.status == "pending").order_by(
                pending_changes.c.id)).all()
            names = dict(conn.execute(select(signatories.c.id, signatories.c.name)).all())
        changes = []
        for r in rows:
            payload = json.loads(r.payload)
            name = names.get(payload.get("signatory_id"), "") if r.kind == "enroll" else ""
            changes.append(PendingChange(r.id, r.kind, r.account_number, payload, r.requested_by, r.requested_at,
                                         r.status, name))
        return changes

    # ------------------------------------------------------------------ account flags and mandate file
    def set_account_flags(self, actor: Actor, number: str, always_refer: bool, instructions: str,
                          _approved_by: str = "") -> int | None:
        """Always-refer and the clerk's instructions. Turning always-refer off lets the verifier accept
        again, so where users are defined it needs a second supervisor (returns the change's number)."""
        require_supervisor(actor, "change an account's instructions")
        from sigverify.store.schema import accounts

        account = self.store.account(number)
        if account.always_refer and not always_refer and self.store.four_eyes() and not _approved_by:
            return store_changes.request(self.store, actor, "account.flags", number,
                                         {"always_refer": False, "instructions": instructions})
        with self.store.write() as conn:
            at = now()
            conn.execute(accounts.update().where(accounts.c.id == account.id).values(
                always_refer=bool(always_refer), instructions=instructions))
            name, role, details = store_changes.record_writer(
                actor, _approved_by, {"always_refer": bool(always_refer), "instructions": instructions})
            audit_chain.append(conn, at, name, "account.flags", number, details, role=role,
                               rows=[("accounts", account.id)])
        return None

    def attach_mandate_file(self, actor: Actor, number: str, image: bytes, filename: str) -> int:
        require_supervisor(actor, "attach mandate documents")
        account = self.store.account(number)
        with self.store.write() as conn:
            at = now()
            file_id = conn.execute(mandate_files.insert().values(account_id=account.id, image=image, filename=filename,
                                                                 uploaded_by=actor.name, uploaded_at=at)
                                   ).inserted_primary_key[0]
            audit_chain.append(conn, at, actor.name, "mandate.file", number,
                               {"file_id": file_id, "filename": filename,
                                "sha256": hashlib.sha256(image).hexdigest()}, role=actor.role,
                               rows=[("mandate_files", file_id)])
        return file_id

    def set_amount_bands(self, actor: Actor, bands: list[dict], _approved_by: str = "") -> int | None:
        """The amount → operating point table (supervisor; audited). Where users are defined a second
        supervisor must approve: the first call returns the pending change's number."""
        from sigverify.mandates.thresholds import parse_bands

        require_supervisor(actor, "change amount thresholds")
        parse_bands(bands)
        if self.store.four_eyes() and not _approved_by:
            return store_changes.request(self.store, actor, "bands", "*", {"bands": bands})
        with self.store.write() as conn:
            at = now()
            self.store.put_setting(conn, "amount_bands", json.dumps(bands), actor.name, at)
            name, role, details = store_changes.record_writer(actor, _approved_by, {"bands": bands})
            audit_chain.append(conn, at, name, "threshold.bands", "*", details, role=role,
                               rows=[("settings", "amount_bands")])
        return None

    # ------------------------------------------------------------------ four eyes
    def request(self, actor: Actor, kind: str, number: str, payload: dict, attachment: bytes | None = None) -> int:
        """A supervisor asks for a change; it takes effect only when a second supervisor approves.
        In single-user mode (no users defined: nobody else could approve) it is requested and
        applied at once, both recorded: a first install works alone, as the rest of the store does."""
        actor = self.store.actor(actor)
        require_supervisor(actor, f"request a {kind} change")
        if kind not in CHANGE_KINDS:
            raise StoreError(f"unknown change kind {kind!r}")  # store-wide kinds: store_changes.request
        self.store.account(number)
        self._validate(kind, number, payload)
        change = store_changes.request(self.store, actor, kind, number, payload, attachment, shown=_public(payload))
        if not self.store.four_eyes():
            self.approve(actor, change)
        return change

    def applied(self, change_id: int) -> bool:
        """Whether a change has taken effect (approved), not merely been requested."""
        with self.store.read() as conn:
            return conn.execute(select(pending_changes.c.status).where(
                pending_changes.c.id == change_id)).scalar() == "approved"

    def _validate(self, kind: str, number: str, payload: dict) -> None:
        if kind == "rule":
            mandate = parse_mandate(payload["rule"])
            check_satisfiable(mandate, self.signatories(number))
        elif kind == "signatory":
            plain_text(payload.get("name"), "the signatory's name", 256)
            limit = payload.get("approval_limit")
            if limit is not None and not (isinstance(limit, (int, float)) and math.isfinite(limit) and limit >= 0):
                raise StoreError(f"an approval limit is an amount of 0 or more, not {limit!r}")
        elif kind == "enroll":
            ids = {s.id for s in self.signatories(number)}
            if payload.get("signatory_id") not in ids:
                raise StoreError(f"signatory {payload.get('signatory_id')} does not belong to account {number}")
            self._check_embedding(payload)
            expires = payload.get("expires_on")
            if expires is not None:
                try:
                    dt.date.fromisoformat(str(expires))
                except ValueError:
                    raise StoreError(f"expiry date {expires!r}: write it as YYYY-MM-DD (e.g. 2099-12-01)") from None
                if len(str(expires)) != 10:
                    raise StoreError(f"expiry date {expires!r}: write it as YYYY-MM-DD (e.g. 2099-12-01)")

    def _check_embedding(self, payload: dict) -> None:
        """A specimen's embedding is a vector of finite numbers as long as this model's others: a NaN
        or a three-number one, once approved, broke verification of the account and identification
        for the whole store."""
        try:
            vector = np.frombuffer(base64.b64decode(payload.get("embedding", ""), validate=True), dtype="<f4")
        except (ValueError, TypeError):
            raise StoreError("the specimen's embedding is not a vector of numbers") from None
        if vector.size < 8 or not np.isfinite(vector).all():
            raise StoreError(f"the specimen's embedding is not usable ({vector.size} numbers, finite: "
                             f"{bool(np.isfinite(vector).all())})")
        with self.store.read() as conn:
            other = conn.execute(select(embeddings.c.vector).where(
                embeddings.c.model_sha256 == payload.get("model_sha256")).limit(1)).scalar()
        if other is not None and len(other) != vector.nbytes:
            raise StoreError(f"the specimen's embedding has {vector.size} numbers; this model's have {len(other) // 4}")

    def approve(self, actor: Actor, change_id: int) -> None:
        """A second supervisor applies a pending change: the claim, the change and its record commit
        in one transaction, so two approvers at once apply it once and a crash applies nothing."""
        require_supervisor(actor, "approve changes")
        change = self._change(change_id)
        if change.requested_by == actor.name and self.store.four_eyes():
            raise PermissionDenied("a change must be approved by a second supervisor, not by the one who asked")
        with self.store.write() as conn:
            at = now()
            self._claim(conn, change_id, "approved", actor, at)
            written = [("pending_changes", change_id)]
            if change.kind == "enroll":
                self._apply_enrolment(actor, change)
            elif change.kind == "retire":
                self.store.retire(int(change.payload["reference_id"]), Actor(change.requested_by, "supervisor"),
                                  _approved_by=actor.name)
            elif change.kind in store_changes.STORE_KINDS:
                self._apply_store_change(change, actor)
            elif change.kind == "signatory":
                written.append(("signatories", self._apply_signatory(conn, change, at)))
            elif change.kind == "rule":
                self._validate("rule", change.account_number, change.payload)
                written.append(("mandate_rules", self._apply_rule(conn, change, actor, at)))
            audit_chain.append(conn, at, actor.name, "change.approve", change.account_number,
                               {"change_id": change_id, "kind": change.kind}, role=actor.role, rows=written)

    def reject(self, actor: Actor, change_id: int, reason: str = "") -> None:
        require_supervisor(actor, "reject changes")
        change = self._change(change_id)
        with self.store.write() as conn:
            at = now()
            self._claim(conn, change_id, "rejected", actor, at)
            audit_chain.append(conn, at, actor.name, "change.reject", change.account_number,
                               {"change_id": change_id, "reason": reason}, role=actor.role,
                               rows=[("pending_changes", change_id)])

    def _apply_store_change(self, change: PendingChange, approver: Actor) -> None:
        """An approved store-wide change (store_changes.py), applied as its requester asked."""
        asked, by, p = Actor(change.requested_by, "supervisor"), approver.name, change.payload
        if change.kind == "model.register":
            self.store.approve_model(p["version"], p["digest"], asked, _approved_by=by)
        elif change.kind == "model.activate":
            self.store.activate_model(p["version"], p["sha256"], asked, _approved_by=by)
        elif change.kind == "threshold":
            self.store.set_threshold(p["model_version"], p["threshold"], tuple(p["allowed"]), asked, _approved_by=by)
        elif change.kind == "bands":
            self.set_amount_bands(asked, p["bands"], _approved_by=by)
        elif change.kind == "account.flags":
            self.set_account_flags(asked, change.account_number, p["always_refer"], p["instructions"], _approved_by=by)
        else:  # reanchor
            self.store.reanchor(asked, _approved_by=by, _expected_head=p.get("head"))

    @staticmethod
    def _claim(conn, change_id: int, status: str, actor: Actor, at: str) -> None:
        """Decide the change only if it is still pending, inside the caller's transaction."""
        done = conn.execute(pending_changes.update().where(
            (pending_changes.c.id == change_id) & (pending_changes.c.status == "pending")).values(
            status=status, decided_by=actor.name, decided_at=at))
        if done.rowcount != 1:
            raise StoreError(f"change {change_id} was decided by someone else meanwhile; nothing was changed")

    def _change(self, change_id: int) -> PendingChange:
        with self.store.read() as conn:
            r = conn.execute(select(pending_changes).where(pending_changes.c.id == change_id)).first()
        if r is None:
            raise StoreError(f"unknown change {change_id}")
        if r.status != "pending":
            raise StoreError(f"change {change_id} is already {r.status}")
        return PendingChange(r.id, r.kind, r.account_number, json.loads(r.payload), r.requested_by, r.requested_at,
                             r.status)

    def _apply_signatory(self, conn, change: PendingChange, at: str) -> int:
        p = change.payload
        account = self.store.account(change.account_number)
        return conn.execute(signatories.insert().values(
            account_id=account.id, name=p["name"], role=p.get("role", ""), panel=p.get("panel", ""),
            approval_limit=p.get("approval_limit"), created_at=at)).inserted_primary_key[0]

    def _apply_rule(self, conn, change: PendingChange, actor: Actor, at: str) -> int:
        account = self.store.account(change.account_number)
        rule = parse_mandate(change.payload["rule"]).to_json()
        conn.execute(mandate_rules.delete().where(mandate_rules.c.account_id == account.id))
        conn.execute(mandate_rules.insert().values(account_id=account.id, rule=rule, requested_by=change.requested_by,
                                                   approved_by=actor.name, set_at=at))
        return account.id

    def _apply_enrolment(self, actor: Actor, change: PendingChange) -> None:
        """The approved image becomes a specimen; the embedding the requester sent is not kept. What
        the approver saw is the image, so its embedding is computed from that image by the active
        model at the account's next verification (services.refresh_embeddings), never taken on trust."""
        with self.store.read() as conn:
            attachment = conn.execute(select(pending_changes.c.attachment).where(
                pending_changes.c.id == change.id)).scalar()
        p = change.payload
        item = EnrolItem(bytes(attachment), p["filename"], tuple(p["box"]), None, p.get("unlike_reason") or "")
        self.store.enroll(change.account_number, [item], p["model_sha256"],
                          Actor(change.requested_by, "supervisor"), signatory_id=p["signatory_id"],
                          expires_on=p.get("expires_on"), _approved_by=actor.name)

    # ------------------------------------------------------------------ documents and the review queue
    def record_document(self, actor: Actor, number: str, amount: float, image: bytes, filename: str,
                        model_version: str, outcome: str, explanation: str, signatures: list[dict],
                        batch_row: tuple[str, int, dict] | None = None) -> int:
        """Record a decided document; with ``batch_row`` (batch, row, result), also the clearing
        run's row, in the same transaction: a row is verified once, however often the run resumes."""
        account = self.store.account(number)
        status = "open" if outcome == "review" else "closed"
        with self.store.write() as conn:
            at = now()
            document_id = conn.execute(documents.insert().values(
                account_id=account.id, amount=amount, image=image, filename=filename, model_version=model_version,
                outcome=outcome, explanation=explanation, status=status, created_by=actor.name, created_at=at,
            )).inserted_primary_key[0]
            written = [("documents", document_id)]
            for sig in signatures:
                written.append(("document_signatures", conn.execute(document_signatures.insert().values(
                    document_id=document_id, **sig)).inserted_primary_key[0]))
            if batch_row is not None:
                batch, row, result = batch_row
                conn.execute(batch_rows.insert().values(batch=batch, row=row, document_id=document_id,
                                                        result=json.dumps(dict(result, document_id=document_id)),
                                                        created_by=actor.name, created_at=at))
                written.append(("batch_rows", (batch, row)))
            audit_chain.append(conn, at, actor.name, "document.verify", number, {
                "document_id": document_id, "amount": amount, "outcome": outcome, "explanation": explanation,
                "image_sha256": hashlib.sha256(image).hexdigest(), "signatures": signatures,
                "model_version": model_version}, role=actor.role, rows=written)
        return document_id

    def queue(self, include_aside: bool = True) -> list[dict]:
        wanted = ("open", "aside") if include_aside else ("open",)
        with self.store.read() as conn:
            rows = conn.execute(select(documents.c.id, documents.c.account_id, documents.c.amount,
                                       documents.c.filename, documents.c.explanation, documents.c.status,
                                       documents.c.created_by, documents.c.created_at).where(
                documents.c.status.in_(wanted)).order_by(documents.c.id)).all()
        from sigverify.store.schema import accounts

        with self.store.read() as conn:
            numbers = {r.id: r.number for r in conn.execute(select(accounts.c.id, accounts.c.number))}
        return [dict(r._mapping, account=numbers[r.account_id]) for r in rows]

    def account_documents(self, number: str) -> list[dict]:
        """The account's verified documents, newest first (the window's History lists them)."""
        account = self.store.account(number)
        with self.store.read() as conn:
            rows = conn.execute(select(documents.c.id, documents.c.created_at, documents.c.created_by,
                                       documents.c.filename, documents.c.amount, documents.c.outcome,
                                       documents.c.status, documents.c.review_decision, documents.c.review_comment,
                                       documents.c.reviewed_by).where(documents.c.account_id == account.id)
                                .order_by(documents.c.id.desc())).all()
        return [dict(r._mapping) for r in rows]

    def document(self, document_id: int) -> dict:
        with self.store.read() as conn:
            row = conn.execute(select(documents).where(documents.c.id == document_id)).first()
            if row is None:
                raise StoreError(f"unknown document {document_id}")
            sigs = [dict(r._mapping) for r in conn.execute(select(document_signatures).where(
                document_signatures.c.document_id == document_id).order_by(document_signatures.c.id))]
        return dict(row._mapping, signatures=sigs)

    def review(self, actor: Actor, document_id: int, decision: str, comment: str = "") -> None:
        """A supervisor decides a queued document: OK, NOK, or aside (for later)."""
        require_supervisor(actor, "decide review-queue items")
        if decision not in ("OK", "NOK", "aside"):
            raise StoreError("decision must be OK, NOK or aside")
        if decision == "NOK" and not comment.strip():
            raise StoreError("a NOK decision needs a comment")
        doc = self.document(document_id)
        if doc["status"] not in ("open", "aside"):
            raise StoreError(f"document {document_id} is not waiting for review")
        if doc["created_by"] == actor.name and self.store.four_eyes():
            raise PermissionDenied(f"document {document_id} was submitted by {actor.name}: another supervisor "
                                   "reviews it (four eyes)")
        with self.store.write() as conn:
            at = now()
            values = {"status": "aside"} if decision == "aside" else {
                "status": "decided", "review_decision": decision, "review_comment": comment,
                "reviewed_by": actor.name, "reviewed_at": at}
            conn.execute(documents.update().where(documents.c.id == document_id).values(**values))
            audit_chain.append(conn, at, actor.name, "document.review", str(doc["account_id"]),
                               {"document_id": document_id, "decision": decision, "comment": comment},
                               role=actor.role, rows=[("documents", document_id)])


def _public(payload: dict) -> dict:
    """The payload for the audit record, without the bulky embedding."""
    return {k: v for k, v in payload.items() if k != "embedding"}
