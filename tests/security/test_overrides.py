"""Issue 30, item 5: a clerk recorded `decide N accept` on a FORGED verification with no comment and
no second person, and nothing reached a supervisor's queue."""

from __future__ import annotations

import pytest

from sigverify.errors import StoreError
from sigverify.store.auth import Actor, PermissionDenied
from sigverify.store.escalations import EscalationQueue
from sigverify.store.mandates import MandateStore
from sigverify.store.repository import Store


@pytest.fixture
def bank(tmp_path):
    store = Store(str(tmp_path / "bank.db"))
    root = Actor("root", "supervisor")
    alice = store.users.add("alice", "supervisor", "correct horse", by=root)
    store.users.add("bob", "supervisor", "battery staple", by=alice)
    store.users.add("carol", "clerk", "clerk pass", by=alice)
    store.add_account("NL-1", "Holder", "alice")
    yield store
    store.close()


def _verification(store, verdict: str, by: str) -> int:
    return store.record_verification("NL-1", b"cheque", "q.png", "m", "0" * 64, [], 1.4, 0.1, 1.1, verdict, by)


@pytest.mark.parametrize("verdict", ["forged", "refer"])
def test_a_clerk_cannot_overrule_the_verifier_alone(bank, verdict):
    made = _verification(bank, verdict, "carol")
    with pytest.raises(StoreError, match="reason"):
        bank.record_decision(made, "accept", "", "carol")
    with pytest.raises(PermissionDenied, match="escalate"):
        bank.record_decision(made, "accept", "I know this customer", "carol")
    bank.record_decision(made, "escalate", "I know this customer; signs differently since an injury", "carol")
    queue = EscalationQueue(bank)
    assert [w["id"] for w in queue.pending()] == [made]
    queue.decide(Actor("bob", "supervisor"), made, "accept", "compared with the card and called the customer")
    assert queue.pending() == []


def test_a_supervisor_does_not_overrule_their_own_verification(bank):
    made = _verification(bank, "forged", "alice")
    with pytest.raises(PermissionDenied, match="second person"):
        bank.record_decision(made, "accept", "looks fine to me", "alice")
    bank.record_decision(made, "accept", "compared with the card", "bob")  # another supervisor may


def test_a_genuine_verdict_is_accepted_as_before(bank):
    made = _verification(bank, "genuine", "carol")
    bank.record_decision(made, "accept", "", "carol")
    with pytest.raises(StoreError, match="already decided"):
        bank.record_decision(made, "reject", "", "carol")


def test_only_the_active_model_decides_what_the_store_records(bank, tmp_path):
    """Issue 30, item 6: active_model was written but never read: --model, SIGVERIFY_MODEL or an edited
    registry let a clerk record verdicts with any registered model, one never activated included."""
    from sigverify.errors import ModelError
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.inference.trust import require_trusted_model
    from tests.helpers import approve_model, make_tiny_model

    active = EmbeddingEngine(make_tiny_model(tmp_path / "a", embedding=16), provider="cpu")
    other = EmbeddingEngine(make_tiny_model(tmp_path / "b", embedding=8), provider="cpu")
    assert active.manifest.sha256 != other.manifest.sha256
    alice, bob = Actor("alice", "supervisor"), Actor("bob", "supervisor")
    for engine in (active, other):
        approve_model(bank, engine.model_dir, alice, second=bob)
    require_trusted_model(bank, other)  # nothing activated yet: any approved model
    change = bank.activate_model(active.version, active.manifest.sha256, alice)
    require_trusted_model(bank, other)  # one supervisor's activation waits for a second one
    MandateStore(bank).approve(bob, change)
    require_trusted_model(bank, active)
    with pytest.raises(ModelError, match="not this store's active model"):
        require_trusted_model(bank, other)


@pytest.mark.parametrize("vector, message", [
    ([float("nan")] * 16, "not usable"),
    ([0.1, 0.2, 0.3], "not usable"),
    ([0.1] * 8, "has 8 numbers; this model's have 16"),
])
def test_a_specimen_whose_embedding_is_not_a_usable_vector_is_refused(bank, vector, message):
    """Issue 30, item 12: a 3-number or NaN specimen embedding, once approved, crashed identification
    for the whole store or verification of that account."""
    import numpy as np

    from sigverify.store.mandates import MandateStore, enrolment_payload

    alice, bob = Actor("alice", "supervisor"), Actor("bob", "supervisor")
    mandates = MandateStore(bank)
    mandates.approve(bob, mandates.request(alice, "signatory", "NL-1", {"name": "Anna", "panel": "A",
                                                                      "approval_limit": None}))
    anna = mandates.signatories("NL-1")[0]
    good = enrolment_payload(anna.id, "a.png", (0, 0, 10, 10), np.full(16, 0.25, np.float32), "m" * 64)
    mandates.approve(bob, mandates.request(alice, "enroll", "NL-1", good, attachment=b"png"))
    # approval keeps no requested vector (item 7): the model's own embedding of the image is stored
    bank.put_embeddings("m" * 64, {bank.references("NL-1")[0].id: np.full(16, 0.25, np.float32)})
    bad = enrolment_payload(anna.id, "b.png", (0, 0, 10, 10), np.asarray(vector, np.float32), "m" * 64)
    with pytest.raises(StoreError, match=message):
        mandates.request(alice, "enroll", "NL-1", bad, attachment=b"png")


def test_failed_sign_ins_are_recorded_slowed_alike_and_lock_the_name(bank):
    """Issue 30, item 13: no throttling, lockout or audit of failed sign-ins (0.18 s a guess), and an
    unknown user answered faster than a known one with a wrong password."""
    import time

    from sigverify.store.auth import MAX_FAILURES
    from sigverify.store.schema import audit

    def timed(name: str) -> float:
        started = time.perf_counter()
        with pytest.raises(PermissionDenied, match="unknown user or wrong password"):
            bank.users.sign_in(name, "guess")
        return time.perf_counter() - started

    unknown, known = timed("nobody"), timed("carol")
    assert unknown > 0.5 * known  # an unknown name costs the same hash
    for _ in range(MAX_FAILURES - 1):
        timed("carol")
    with pytest.raises(PermissionDenied, match="locked"):
        bank.users.sign_in("carol", "clerk pass")  # even the right password, while locked
    assert bank.users.sign_in("alice", "correct horse").name == "alice"  # other names are not locked
    with bank.read() as conn:
        failed = conn.execute(audit.select().where(audit.c.action == "auth.failed")).all()
    assert sorted({r.subject for r in failed}) == ["carol", "nobody"] and len(failed) == MAX_FAILURES + 1
    assert bank.verify_audit().ok
