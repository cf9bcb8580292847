"""The tamper-evident audit trail: every record holds the SHA-256 of the record before it.

A record's hash covers its id, time, actor, role, action, subject, details and the previous
hash, so changing any byte of any record breaks the chain at that record. Records are only
ever appended; the application never updates or deletes them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, text

from sigverify.store.schema import audit

GENESIS = "0" * 64


def canonical(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(record_id: int, at: str, actor: str, role: str, action: str, subject: str, details: str,
                prev_hash: str) -> str:
    payload = "\x1f".join([str(record_id), at, actor, role, action, subject, details, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: Connection, at: str, actor: str, action: str, subject: str, details: dict, role: str = "") -> int:
    """Append one record inside the caller's transaction; returns its id."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE audit IN EXCLUSIVE MODE"))
    last = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
    record_id = (last.id + 1) if last else 1
    prev = last.hash if last else GENESIS
    body = canonical(details)
    conn.execute(audit.insert().values(
        id=record_id, at=at, actor=actor, role=role, action=action, subject=subject, details=body, prev_hash=prev,
        hash=record_hash(record_id, at, actor, role, action, subject, body, prev)))
    return record_id


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_broken: int | None = None
    reason: str = ""

    def message(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.records} record(s)"
        return f"audit chain BROKEN at record {self.first_broken}: {self.reason}"


def verify_chain(conn: Connection) -> ChainReport:
    """Walk the chain from the start; name the first record that does not fit."""
    prev, expected_id, count = GENESIS, 1, 0
    for row in conn.execute(select(audit).order_by(audit.c.id)):
        count += 1
        if row.id != expected_id:
            return ChainReport(False, count, expected_id, f"record {expected_id} is missing (next is {row.id})")
        if row.prev_hash != prev:
            return ChainReport(False, count, row.id, "it does not link to the record before it")
        computed = record_hash(row.id, row.at, row.actor, row.role, row.action, row.subject, row.details,
                               row.prev_hash)
        if computed != row.hash:
            return ChainReport(False, count, row.id, "its content does not match its hash (altered)")
        prev, expected_id = row.hash, expected_id + 1
    return ChainReport(True, count)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit)).scalar_one())


def export_csv(conn: Connection) -> str:
    """The whole trail as CSV, in order, hashes included (for auditors' own checks)."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["id", "at", "actor", "role", "action", "subject", "details", "prev_hash", "hash"]
    writer.writerow(columns)
    for row in conn.execute(select(audit).order_by(audit.c.id)):
        writer.writerow([_safe_cell(getattr(row, c)) for c in columns])
    return out.getvalue()


def _safe_cell(value):
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab / carriage return) is
    prefixed with an apostrophe, the usual neutralisation of CSV formula injection."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
