"""Users are managed by supervisors, with the same four-eyes rules as when they are added."""

from __future__ import annotations

import pytest

from sigverify.errors import StoreError
from sigverify.store.auth import Actor, PermissionDenied
from sigverify.store.repository import Store


@pytest.fixture
def staff(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    alice = store.users.add("alice", "supervisor", "a-pw", by=Actor("root", "supervisor"))
    bob = store.users.add("bob", "supervisor", "b-pw", by=alice)
    store.users.add("carol", "clerk", "c-pw", by=alice)
    return store, alice, bob


def test_passwords_clerks_by_a_supervisor_supervisors_only_their_own(staff):
    store, alice, bob = staff
    store.users.reset_password("carol", "new-c", by=alice)
    assert store.users.sign_in("carol", "new-c").name == "carol"
    with pytest.raises(PermissionDenied, match="only bob can change that password"):
        store.users.reset_password("bob", "taken-over", by=alice)
    store.users.reset_password("bob", "b-pw-2", by=bob)
    assert store.users.sign_in("bob", "b-pw-2").role == "supervisor"
    with pytest.raises(PermissionDenied):
        store.users.reset_password("alice", "x", by=Actor("carol", "clerk"))
    with pytest.raises(StoreError, match="empty password"):
        store.users.reset_password("carol", "", by=alice)


def test_a_promotion_waits_for_a_second_supervisor_and_nobody_changes_their_own_role(staff):
    store, alice, bob = staff
    assert store.users.change_role("carol", "supervisor", by=alice) == "pending"
    with pytest.raises(PermissionDenied):
        store.users.sign_in("carol", "c-pw")  # awaiting approval: may not act
    with pytest.raises(PermissionDenied):
        store.users.approve("carol", by=alice)  # not the one who promoted her
    store.users.approve("carol", by=bob)
    assert store.users.sign_in("carol", "c-pw").role == "supervisor"
    with pytest.raises(PermissionDenied, match="own role"):
        store.users.change_role("alice", "clerk", by=alice)
    assert store.users.change_role("carol", "clerk", by=bob) == "active"
    assert store.users.sign_in("carol", "c-pw").role == "clerk"
    assert store.verify_audit().ok
    kinds = [u["name"] + ":" + u["role"] for u in store.users.listing()]
    assert kinds == ["alice:supervisor", "bob:supervisor", "carol:clerk"]


def test_the_last_active_supervisor_is_never_demoted(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    alice = store.users.add("alice", "supervisor", "a-pw", by=Actor("root", "supervisor"))
    store.users.add("dave", "clerk", "d-pw", by=alice)
    assert store.users.change_role("dave", "supervisor", by=alice) == "active"  # the second one: bootstrap
    dave = store.users.sign_in("dave", "d-pw")
    store.users.change_role("alice", "clerk", by=dave)
    with pytest.raises(PermissionDenied):
        store.users.change_role("dave", "clerk", by=dave)
    with pytest.raises(StoreError, match="last active supervisor"):
        store.users.change_role("dave", "clerk", by=Actor("root", "supervisor"))
    assert [u["role"] for u in store.users.listing()] == ["clerk", "supervisor"]
