"""Checking and re-anchoring the audit trail (mixed into Store).

``audit verify`` only reads: it never moves the anchor (a check that moved it would bless whatever
it found), and it works on a store the user cannot write. On SQLite (one workstation: every
record is written by SigVerify on this computer, which anchors it at once) records after the
anchor, and a store this computer holds no anchor for, are reported; on a shared PostgreSQL
server other computers append too, so there the anchor vouches only for what it saw.
"""

from __future__ import annotations

from sigverify.store import audit as audit_chain
from sigverify.store import store_changes
from sigverify.store.anchor import AnchorError
from sigverify.store.auth import Actor, require_supervisor
from sigverify.store.db import StoreError, now


class AuditTrail:
    """Mixed into Store: uses its ``anchor``, ``read``, ``write``, ``actor`` and ``four_eyes``."""

    def verify_audit(self) -> audit_chain.ChainReport:
        """The chain, the anchor this computer holds and every guarded data row; changes nothing."""
        try:
            anchored, trouble = self.anchor.read(), []
        except AnchorError as exc:
            anchored, trouble = None, [str(exc)]
        one_workstation = self.engine.dialect.name == "sqlite"
        with self.read() as conn:
            return audit_chain.verify_trail(conn, anchored, trouble, strict=one_workstation and not trouble,
                                            expected=self.anchor.expected())

    def reanchor(self, actor: "str | Actor", _approved_by: str = "", _expected_head=None) -> int | None:
        """After a backup was restored on purpose: anchor the trail as it now is (audited). Where users
        are defined a second supervisor must approve (the first call returns the change's number);
        the approval anchors only if the trail still ends where the requester looked at it."""
        acting = self.actor(actor)
        require_supervisor(acting, "re-anchor the audit trail")
        if self.four_eyes() and not _approved_by:
            with self.read() as conn:
                head = audit_chain.head(conn)
            return store_changes.request(self, acting, "reanchor", "*", {"head": list(head) if head else None})
        try:
            previous = self.anchor.read()
        except AnchorError:
            previous = None
        with self.write() as conn:
            if _expected_head:
                record, digest = _expected_head
                seen = audit_chain.record_hash_of(conn, int(record))
                if seen != digest:
                    raise StoreError(f"the trail changed since the re-anchoring was requested (record {record} "
                                     "is not what the requester saw): request it again after checking the trail")
            at = now()
            details = {"previous_anchor": None if previous is None else
                       {"record": previous.record, "hash": previous.hash}}
            name, role, details = store_changes.record_writer(acting, _approved_by, details)
            audit_chain.append(conn, at, name, "audit.reanchor", "*", details, role=role)
            conn.info["force_anchor"] = True  # the anchor moves to the new end, even backwards
        return None

    def recent_audit(self, limit: int = 500, containing: str = "") -> list[dict]:
        """The newest records first (what the window's audit view lists), optionally only those whose
        actor, action or subject contains ``containing``; hidden characters written out as in the CSV."""
        from sqlalchemy import or_, select

        query = select(audit_chain.audit).order_by(audit_chain.audit.c.id.desc()).limit(max(1, int(limit)))
        if containing:
            like = f"%{containing}%"
            column = audit_chain.audit.c
            query = query.where(or_(column.actor.like(like), column.action.like(like), column.subject.like(like)))
        with self.read() as conn:
            rows = conn.execute(query).all()
        return [{k: audit_chain.safe_cell(getattr(r, k)) for k in ("id", "at", "actor", "role", "action", "subject",
                                                                   "details")} for r in rows]

    def export_audit_csv(self) -> str:
        with self.read() as conn:
            return audit_chain.export_csv(conn)
