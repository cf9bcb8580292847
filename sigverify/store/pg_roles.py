"""The bank's PostgreSQL deployment: roles and rules enforced by the server, not only by SigVerify.

Against whom: a clerk or supervisor who can run every command, read the code and connect to the
database with their own credentials. Each SigVerify user is a database role of the same name,
member of ``sigverify_clerk`` or ``sigverify_supervisor``; the tables belong to the administrator
who ran ``sigverify database setup``. The server then holds, whatever a client sends:

- verifications, decisions and the audit trail are append-only for every user role (no UPDATE,
  DELETE or TRUNCATE granted);
- the audit chain is extended by the server: a trigger gives each new record its number, the
  previous record's hash and its own hash, and refuses a record in another person's name or role;
- a supervisor's change is applied only with a second supervisor: a pending change cannot be
  approved by the one who asked, and the rows that change what is accepted (specimens, signatories,
  signing rules, models, thresholds, amount bands) are written only in the transaction that
  approves such a change;
- clerks write only what a clerk's work writes (verifications, decisions, documents, embeddings).
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from sigverify.errors import StoreError

CLERK, SUPERVISOR = "sigverify_clerk", "sigverify_supervisor"

#: tables every user role reads (and users: SigVerify's own sign-in check reads its password hashes)
READ_TABLES = ("meta", "accounts", "signatories", "reference_signatures", "embeddings", "verifications", "decisions",
               "settings", "audit", "mandate_rules", "mandate_files", "pending_changes", "documents",
               "document_signatures", "identifications", "batch_rows")

CLERK_INSERT = ("verifications", "decisions", "embeddings", "documents", "document_signatures", "identifications",
                "batch_rows", "audit")
SUPERVISOR_INSERT = CLERK_INSERT + ("accounts", "signatories", "reference_signatures", "mandate_rules", "mandate_files",
                                    "pending_changes", "settings", "users")
SUPERVISOR_UPDATE = {"accounts": "always_refer, instructions", "reference_signatures": "active, retired_by, retired_at",
                     "pending_changes": "status, decided_by, decided_at",
                     "documents": "status, review_decision, review_comment, reviewed_by, reviewed_at",
                     "settings": "value, changed_by, changed_at", "users": "status, role, password_hash"}
#: rows of these tables change what gets accepted: written only while a second supervisor approves
FOUR_EYES_TABLES = ("signatories", "reference_signatures", "mandate_rules")
FOUR_EYES_SETTINGS = ("active_model", "amount_bands", "threshold:%", "model:%")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION sigverify_in_group(grp text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = session_user AND g.rolname = grp)
$$;

CREATE OR REPLACE FUNCTION sigverify_is_person() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT sigverify_in_group('sigverify_clerk') OR sigverify_in_group('sigverify_supervisor')
$$;

CREATE OR REPLACE FUNCTION sigverify_audit_chain() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public AS $$
DECLARE
    last_id integer;
    last_hash text;
BEGIN
    LOCK TABLE audit IN EXCLUSIVE MODE;
    IF sigverify_is_person() THEN
        IF NEW.actor <> session_user AND NOT (NEW.actor = 'sigverify' AND NEW.action = 'embeddings.compute') THEN
            RAISE EXCEPTION 'audit: % may not write a record in the name of %', session_user, NEW.actor;
        END IF;
        IF NEW.role = 'supervisor' AND NOT sigverify_in_group('sigverify_supervisor') THEN
            RAISE EXCEPTION 'audit: % is not a supervisor', session_user;
        END IF;
    END IF;
    SELECT id, hash INTO last_id, last_hash FROM audit ORDER BY id DESC LIMIT 1;
    NEW.id := COALESCE(last_id, 0) + 1;
    NEW.prev_hash := COALESCE(last_hash, repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(concat_ws(chr(31), NEW.id::text, NEW.at, NEW.actor, NEW.role, NEW.action,
                                                     NEW.subject, NEW.details, NEW.prev_hash), 'UTF8')), 'hex');
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION sigverify_approving() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pending_changes
                   WHERE status = 'approved' AND decided_by = session_user AND requested_by <> session_user
                     AND xmin::text::bigint = txid_current() % 4294967296)
$$;

CREATE OR REPLACE FUNCTION sigverify_four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF sigverify_is_person() AND NOT sigverify_approving() THEN
        RAISE EXCEPTION 'four eyes: % may change % only while approving another supervisor''s request',
            session_user, TG_TABLE_NAME;
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$;

CREATE OR REPLACE FUNCTION sigverify_guarded_setting() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF sigverify_is_person() AND (NEW.key IN ('active_model', 'amount_bands') OR NEW.key LIKE 'threshold:%'
                                  OR NEW.key LIKE 'model:%') AND NOT sigverify_approving()
       AND (SELECT count(*) FROM users) > 0 THEN
        RAISE EXCEPTION 'four eyes: the setting % changes only while approving another supervisor''s request',
            NEW.key;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION sigverify_decide_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF sigverify_is_person() THEN
        IF OLD.status <> 'pending' THEN
            RAISE EXCEPTION 'change % is already %', OLD.id, OLD.status;
        END IF;
        IF NEW.decided_by <> session_user THEN
            RAISE EXCEPTION 'change %: % may not decide in the name of %', OLD.id, session_user, NEW.decided_by;
        END IF;
        IF NEW.status = 'approved' AND OLD.requested_by = session_user THEN
            RAISE EXCEPTION 'change %: a second supervisor approves, not the one who asked', OLD.id;
        END IF;
        IF NEW.kind <> OLD.kind OR NEW.payload <> OLD.payload OR NEW.requested_by <> OLD.requested_by THEN
            RAISE EXCEPTION 'change %: only its decision may be written', OLD.id;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION sigverify_own_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF sigverify_is_person() AND (NEW.requested_by <> session_user OR NEW.status <> 'pending') THEN
        RAISE EXCEPTION 'a change is requested as pending, in one''s own name';
    END IF;
    RETURN NEW;
END $$;
"""


def _triggers() -> list[str]:
    out = ["DROP TRIGGER IF EXISTS sigverify_audit_chain ON audit",
           "CREATE TRIGGER sigverify_audit_chain BEFORE INSERT ON audit FOR EACH ROW "
           "EXECUTE FUNCTION sigverify_audit_chain()",
           "DROP TRIGGER IF EXISTS sigverify_guarded_setting ON settings",
           "CREATE TRIGGER sigverify_guarded_setting BEFORE INSERT OR UPDATE ON settings FOR EACH ROW "
           "EXECUTE FUNCTION sigverify_guarded_setting()",
           "DROP TRIGGER IF EXISTS sigverify_decide_change ON pending_changes",
           "CREATE TRIGGER sigverify_decide_change BEFORE UPDATE ON pending_changes FOR EACH ROW "
           "EXECUTE FUNCTION sigverify_decide_change()",
           "DROP TRIGGER IF EXISTS sigverify_own_request ON pending_changes",
           "CREATE TRIGGER sigverify_own_request BEFORE INSERT ON pending_changes FOR EACH ROW "
           "EXECUTE FUNCTION sigverify_own_request()"]
    for table in FOUR_EYES_TABLES:
        out += [f"DROP TRIGGER IF EXISTS sigverify_four_eyes ON {table}",
                f"CREATE TRIGGER sigverify_four_eyes BEFORE INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION sigverify_four_eyes()"]
    return out


def _grants() -> list[str]:
    out = []
    for group in (CLERK, SUPERVISOR):
        out.append(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN "
                   f"CREATE ROLE {group} NOLOGIN; END IF; END $$")
    out.append(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {CLERK}, {SUPERVISOR}")
    out.append(f"GRANT USAGE ON SCHEMA public TO {CLERK}, {SUPERVISOR}")
    out.append(f"GRANT SELECT ON {', '.join(READ_TABLES)} TO {CLERK}, {SUPERVISOR}")
    out.append(f"GRANT SELECT ON users TO {CLERK}, {SUPERVISOR}")  # SigVerify's own sign-in reads it
    out.append(f"GRANT INSERT ON {', '.join(CLERK_INSERT)} TO {CLERK}")
    out.append(f"GRANT INSERT ON {', '.join(SUPERVISOR_INSERT)} TO {SUPERVISOR}")
    for table, columns in SUPERVISOR_UPDATE.items():
        out.append(f"GRANT UPDATE ({columns}) ON {table} TO {SUPERVISOR}")
    out.append(f"GRANT DELETE ON mandate_rules TO {SUPERVISOR}")  # a new rule replaces the old one
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {CLERK}, {SUPERVISOR}")
    return out


def setup(engine: Engine) -> None:
    """Create the two groups, the grants and the server's rules (idempotent; the administrator runs it)."""
    if engine.dialect.name != "postgresql":
        raise StoreError("database roles are for a PostgreSQL store; a SQLite store is one workstation's file")
    with engine.begin() as conn:
        conn.execute(text(_FUNCTIONS))
        for statement in _triggers() + _grants():
            conn.execute(text(statement))


def add_person(engine: Engine, name: str, role: str, password: str) -> None:
    """A database role for one SigVerify user (the same name), in the clerks' or supervisors' group."""
    if not _NAME.match(name):
        raise StoreError(f"{name!r}: a database user name is lower-case letters, digits and _ (starting with a "
                         "letter), at most 63 characters")
    if role not in ("clerk", "supervisor"):
        raise StoreError("role must be clerk or supervisor")
    group = SUPERVISOR if role == "supervisor" else CLERK
    other = CLERK if group == SUPERVISOR else SUPERVISOR
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        quoted = conn.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(text(f"{verb} ROLE {name} LOGIN PASSWORD {quoted}"))
        conn.execute(text(f"GRANT {group} TO {name}"))
        conn.execute(text(f"REVOKE {other} FROM {name}"))
