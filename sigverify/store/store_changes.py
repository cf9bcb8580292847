"""Four-eyes on what changes what the store accepts: a model registered or activated, a threshold
or the amount bands, the audit anchor reset, "always refer" turned off.

Where users are defined, one supervisor's call to such a change records a pending change instead of
applying it; a second supervisor's ``approve`` applies it (MandateStore._apply_store_change), in
the same transaction as the change's status, so it is applied once whoever approves at the same
time and whatever stops the process. Single-user mode (no users yet) applies it at once.
"""

from __future__ import annotations

import json

from sigverify.store import audit as audit_chain
from sigverify.store.auth import Actor
from sigverify.store.db import now
from sigverify.store.schema import pending_changes

#: change kinds that concern the whole store (subject "*") or a model, not one account's mandate
STORE_KINDS = ("model.register", "model.activate", "threshold", "bands", "reanchor", "account.flags")


def request(store, acting: Actor, kind: str, subject: str, payload: dict, attachment: bytes | None = None,
            shown: dict | None = None) -> int:
    """Record the change as pending (audited, with ``shown`` or the payload); returns its number.
    Every pending change is written here, an account's (MandateStore.request) or the store's."""
    with store.write() as conn:
        at = now()
        change_id = conn.execute(pending_changes.insert().values(
            kind=kind, account_number=subject, payload=json.dumps(payload), attachment=attachment,
            requested_by=acting.name, requested_at=at, status="pending")).inserted_primary_key[0]
        audit_chain.append(conn, at, acting.name, "change.request", subject,
                           {"change_id": change_id, "kind": kind, "payload": payload if shown is None else shown},
                           role=acting.role, rows=[("pending_changes", change_id)])
    return change_id


def record_writer(acting: Actor, approved_by: str, details: dict) -> tuple[str, str, dict]:
    """Who writes an applied change's record, and its details: the approver of an approved change
    (on PostgreSQL the server accepts records only in the name of the person connected), naming
    the requester; else the person acting."""
    if not approved_by:
        return acting.name, acting.role, details
    return approved_by, "supervisor", {**details, "approved_by": approved_by, "requested_by": acting.name}


def describe(kind: str, subject: str, payload: dict) -> str:
    """One line for the list of pending changes."""
    if kind == "model.register":
        return f"register model {payload['version']} (folder digest {payload['digest'][:12]}…)"
    if kind == "model.activate":
        return f"activate model {payload['version']} for every verification"
    if kind == "threshold":
        value = "the manifest's" if payload["threshold"] is None else f"{payload['threshold']:.4f}"
        return f"threshold of model {payload['model_version']}: {value}"
    if kind == "bands":
        return "amount thresholds: " + "; ".join(
            f"up to {b.get('up_to') if b.get('up_to') is not None else 'any amount'}: FAR {b.get('max_far')}"
            for b in payload["bands"])
    if kind == "account.flags":
        return f"turn always-refer off for account {subject}"
    return "re-anchor the audit trail at its current end"
