"""Who is acting, and what they may do.

Users sign in with a password (salted PBKDF2-HMAC-SHA256 from Python's hashlib, 600,000
iterations) or are the OS user mapped to a role (a user row with no password). A store with no
users at all is in single-user mode: the OS user acts as supervisor, as before roles existed.
Checks live here, in the store layer, so the CLI and the GUI cannot bypass them.

Four eyes start with the supervisors themselves: once a store has two supervisors, a supervisor
added by one of them is *pending* and cannot act until a second supervisor (neither the one who
added them nor themselves) approves, so nobody can mint a colleague to approve their own
changes. A store with a single supervisor has no second pair of eyes yet: its second supervisor
is added directly, and the audit record says so ("bootstrap").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from sqlalchemy import func, select

from sigverify.errors import StoreError
from sigverify.store import audit as audit_chain
from sigverify.store.db import now
from sigverify.store.schema import users

ROLES = ("clerk", "supervisor")
ITERATIONS = 600_000


class PermissionDenied(StoreError):
    """The acting user's role does not allow this."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


#: failed sign-ins to one name within LOCKOUT_MINUTES that lock it for as long
MAX_FAILURES, LOCKOUT_MINUTES = 5, 15
#: what an unknown name's password is checked against: the same work as a real check, so a reply's
#: speed does not tell which names exist
_NOBODY = f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(bytes(16)).decode()}${base64.b64encode(bytes(32)).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def require_supervisor(actor: Actor, what: str) -> None:
    if not actor.is_supervisor:
        raise PermissionDenied(f"{actor.name} is a {actor.role}: only a supervisor may {what}")


class UserDirectory:
    """Users of a store: add, sign in, map the OS user."""

    def __init__(self, store) -> None:
        self.store = store

    def count(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def add(self, name: str, role: str, password: str | None, by: Actor) -> Actor:
        if role not in ROLES:
            raise StoreError(f"role must be one of {', '.join(ROLES)}")
        from sigverify.store.db import plain_text

        name = plain_text(name, "the user's name", 128)
        if password is not None and not password:
            raise StoreError("an empty password is no password; choose one")
        if self.count():
            by = self.store.actor(by)  # a user of this store as it is now, not the OS user of single-user mode
            require_supervisor(by, "add users")
        elif role != "supervisor":
            raise StoreError("the first user must be a supervisor")
        with self.store.write() as conn:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise StoreError(f"user {name} exists already")
            supervisors = int(conn.execute(select(func.count()).select_from(users).where(
                (users.c.role == "supervisor") & (users.c.status == "active"))).scalar_one())
            status = "pending" if role == "supervisor" and supervisors >= 2 else "active"
            at = now()
            user_id = conn.execute(users.insert().values(
                name=name, role=role, created_at=at, status=status, created_by=by.name,
                password_hash=hash_password(password) if password else None)).inserted_primary_key[0]
            details = {"role": role, "password": bool(password), "status": status}
            if role == "supervisor" and supervisors < 2:
                details["bootstrap"] = True  # the first or second supervisor: no one else could approve
            audit_chain.append(conn, at, by.name, "user.add", name, details, role=by.role,
                               rows=[("users", user_id)])
        return Actor(name, role)

    def approve(self, name: str, by: Actor) -> None:
        """A second supervisor lets a pending supervisor act (never the one who added them, nor themselves)."""
        by = self.store.actor(by)
        require_supervisor(by, "approve a new supervisor")
        with self.store.write() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
            if row is None:
                raise StoreError(f"unknown user {name}")
            if row.status != "pending":
                raise StoreError(f"user {name} is not waiting for approval")
            if by.name in (row.name, row.created_by):
                raise PermissionDenied(f"{by.name} cannot approve {name}: a second supervisor must "
                                       f"(not the one who added them, not themselves)")
            at = now()
            conn.execute(users.update().where(users.c.id == row.id).values(status="active"))
            audit_chain.append(conn, at, by.name, "user.approve", name,
                               {"role": row.role, "requested_by": row.created_by}, role=by.role,
                               rows=[("users", row.id)])

    def listing(self) -> list[dict]:
        """Every user: name, role, status, whether a password is set, who added them."""
        with self.store.read() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).all()
        return [{"name": r.name, "role": r.role, "status": r.status, "password": bool(r.password_hash),
                 "created_by": r.created_by} for r in rows]

    def reset_password(self, name: str, password: str, by: Actor) -> None:
        """A new password for a clerk, or for oneself. Another supervisor's password is theirs alone:
        whoever could set it could act as them and defeat the second approval."""
        by = self.store.actor(by)
        if by.name != name:
            require_supervisor(by, "reset passwords")
        if not password:
            raise StoreError("an empty password is no password; choose one")
        with self.store.write() as conn:
            row = self._row(conn, name)
            if row.role == "supervisor" and row.name != by.name:
                raise PermissionDenied(f"{name} is a supervisor: only {name} can change that password")
            conn.execute(users.update().where(users.c.id == row.id).values(password_hash=hash_password(password)))
            audit_chain.append(conn, now(), by.name, "user.password", name, {"role": row.role}, role=by.role,
                               rows=[("users", row.id)])

    def change_role(self, name: str, role: str, by: Actor) -> str:
        """Clerk ↔ supervisor, by a supervisor other than the user. A new supervisor waits for a second
        supervisor's approval (as when added). A demotion never leaves fewer than two active
        supervisors once there are two: else one supervisor could demote the other and, as the only
        one left, make an accomplice supervisor at once (the first two need no approval)."""
        by = self.store.actor(by)
        require_supervisor(by, "change roles")
        if role not in ROLES:
            raise StoreError(f"role must be one of {', '.join(ROLES)}")
        if by.name == name:
            raise PermissionDenied("nobody changes their own role")
        with self.store.write() as conn:
            row = self._row(conn, name)
            if row.role == role:
                raise StoreError(f"{name} is a {role} already")
            active = int(conn.execute(select(func.count()).select_from(users).where(
                (users.c.role == "supervisor") & (users.c.status == "active"))).scalar_one())
            if role == "clerk" and row.role == "supervisor" and row.status == "active" and active - 1 < min(2, active):
                raise StoreError(f"demoting {name} would leave {active - 1} active supervisor(s): every approval needs "
                                 "two; add and approve another supervisor first")
            # as when added: the first two supervisors cannot have a second one approve them
            status = "pending" if role == "supervisor" and active >= 2 else "active"
            conn.execute(users.update().where(users.c.id == row.id).values(role=role, status=status,
                                                                          created_by=by.name))
            audit_chain.append(conn, now(), by.name, "user.role", name, {"role": role, "status": status},
                               role=by.role, rows=[("users", row.id)])
        return status

    @staticmethod
    def _row(conn, name: str):
        row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:
            raise StoreError(f"unknown user {name}")
        return row

    def status(self, name: str) -> str | None:
        with self.store.read() as conn:
            return conn.execute(select(users.c.status).where(users.c.name == name)).scalar()

    def sign_in(self, name: str, password: str) -> Actor:
        """A user's Actor for the right password. A wrong one (or an unknown name, which costs the
        same time) is recorded in the audit trail; after MAX_FAILURES within LOCKOUT_MINUTES the
        name is locked for that long, so passwords cannot be guessed at the speed of the hash."""
        subject = str(name)[:128]
        self._refuse_if_locked(subject)
        with self.store.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        known = row is not None and bool(row.password_hash)
        if not (check_password(password, row.password_hash if known else _NOBODY) and known):
            self._record_failure(subject)
            raise PermissionDenied("unknown user or wrong password")
        return Actor(row.name, acting_role(row))

    def _failures_since(self, subject: str, since: str) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_chain.audit).where(
                audit_chain.audit.c.action == "auth.failed", audit_chain.audit.c.subject == subject,
                audit_chain.audit.c.at >= since)).scalar_one())

    def _refuse_if_locked(self, subject: str) -> None:
        import datetime as dt

        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=LOCKOUT_MINUTES)).isoformat(
            timespec="microseconds")
        if self._failures_since(subject, since) >= MAX_FAILURES:
            raise PermissionDenied(f"{subject}: sign-in locked for {LOCKOUT_MINUTES} minutes after {MAX_FAILURES} "
                                   "failed attempts (each is in the audit trail); a supervisor can check who tried")

    def _record_failure(self, subject: str) -> None:
        try:
            with self.store.write() as conn:
                audit_chain.append(conn, now(), subject, "auth.failed", subject,
                                   {"reason": "unknown user or wrong password"})
        except (StoreError, OSError):  # a read-only store: the refusal stands, unrecorded
            pass

    def os_user(self, os_name: str) -> Actor:
        """The OS user's role: single-user mode → supervisor; mapped user without password → its role."""
        if not self.count():
            return Actor(os_name, "supervisor")
        with self.store.read() as conn:
            row = conn.execute(select(users).where(users.c.name == os_name)).first()
        if row is None or row.password_hash:
            raise PermissionDenied(f"{os_name} must sign in (users are defined in this store)")
        return Actor(row.name, acting_role(row))


def acting_role(row) -> str:
    """The role a user row may act in; a pending supervisor may not act at all."""
    if row.status != "active":
        raise PermissionDenied(f"{row.name} is a new supervisor awaiting a second supervisor's approval "
                               f"(sigverify user approve {row.name})")
    return row.role
