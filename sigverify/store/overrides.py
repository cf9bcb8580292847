"""Who may decide what on a verification. Accepting what the verifier called FORGED or REFER
overrules it: that needs a reason, and with users defined a supervisor other than the one who
verified it; a clerk escalates it, with the reason, to the supervisors' review queue."""

from __future__ import annotations

from sigverify.errors import StoreError
from sigverify.store.auth import Actor, PermissionDenied

DECISIONS = ("accept", "reject", "escalate")


def check_decision(decision: str, comment: str) -> None:
    if decision not in DECISIONS:
        raise StoreError(f"decision must be one of {', '.join(DECISIONS)}")
    if decision == "escalate" and not comment.strip():
        raise StoreError("an escalation needs a comment for the supervisor")


def check_overrule(verification_id: int, verdict: str, verified_by: str, decision: str, comment: str, who: Actor,
                   four_eyes: bool) -> None:
    """Refuses an accept of a FORGED or REFER verdict that lacks a reason or a second person."""
    if decision != "accept" or verdict not in ("forged", "refer"):
        return
    shown = verdict.upper()
    if not comment.strip():
        raise StoreError(f"accepting a {shown} verdict overrules the verifier: give the reason "
                         "(what was compared, who was asked)")
    if four_eyes and not who.is_supervisor:
        raise PermissionDenied(f"a clerk cannot accept a {shown} verdict alone: escalate it with the reason "
                               f"(decide {verification_id} escalate --comment …); a supervisor decides it from "
                               "the review queue")
    if four_eyes and verified_by == who.name:
        raise PermissionDenied(f"accepting a {shown} verdict of your own verification needs a second person: "
                               "escalate it for another supervisor")
