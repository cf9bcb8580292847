"""Escalated single verifications wait for a supervisor, who alone decides them."""

from __future__ import annotations

import pytest

from sigverify.errors import StoreError
from sigverify.store.auth import Actor, PermissionDenied
from sigverify.store.escalations import EscalationQueue
from sigverify.store.repository import Store


def test_only_escalated_undecided_verifications_wait_and_only_a_supervisor_decides(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    store.add_account("NL-1", "Holder", "setup")
    made = [store.record_verification("NL-1", b"image%d" % i, f"q{i}.png", "m", "0" * 64, [], 1.0, 0.5, 1.0,
                                      "refer", "clerk") for i in range(3)]
    store.record_decision(made[0], "escalate", "looks shaky", "clerk")
    store.record_decision(made[1], "accept", "the customer was at the counter with ID", "clerk")
    queue = EscalationQueue(store)
    waiting = queue.pending()
    assert [w["id"] for w in waiting] == [made[0]] and waiting[0]["comment"] == "looks shaky"
    assert queue.image(made[0]) == b"image0"
    with pytest.raises(PermissionDenied):
        queue.decide(Actor("carol", "clerk"), made[0], "accept")
    with pytest.raises(StoreError, match="not waiting"):
        queue.decide(Actor("bob", "supervisor"), made[2], "accept")
    with pytest.raises(StoreError, match="needs a comment"):
        queue.decide(Actor("bob", "supervisor"), made[0], "reject")
    queue.decide(Actor("bob", "supervisor"), made[0], "accept", "compared with the specimens")
    assert queue.pending() == []
