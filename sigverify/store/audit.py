"""The tamper-evident audit trail: every record holds the SHA-256 of the record before it.

A record's hash covers its id, time, actor, role, action, subject, details and the previous
hash, so changing any byte of any record breaks the chain at that record. Records are only
ever appended; the application never updates or deletes them.

The chain alone cannot tell that records were cut off its end, or that someone rewrote a record
and recomputed every hash after it; nor does it see the data tables. So:

- every record names the data rows its action wrote, with the SHA-256 of each row's content
  ("rows"); ``verify_rows`` checks that every row of every guarded table is exactly what its
  latest audit record says (a row edited, inserted or deleted behind the application's back is
  named);
- the chain's head is anchored outside the database on every commit (store/anchor.py), so a cut
  or a rewrite is seen by every computer that wrote or checked a later record.
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


#: the data tables every row of which the audit trail vouches for, with their key columns
GUARDED = {
    "users": ("id",), "accounts": ("id",), "signatories": ("id",), "reference_signatures": ("id",),
    "embeddings": ("reference_id", "model_sha256"), "verifications": ("id",), "decisions": ("id",),
    "settings": ("key",), "mandate_rules": ("account_id",), "mandate_files": ("id",), "pending_changes": ("id",),
    "documents": ("id",), "document_signatures": ("id",), "identifications": ("id",),
    "batch_rows": ("batch", "row"),
}


def _parts(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def row_name(table: str, key) -> str:
    """How a record names a row: ``table:key`` (composite keys joined by |)."""
    return f"{table}:" + "|".join(str(p) for p in _parts(key))


def _digest_of(row) -> str:
    values = {}
    for column, value in row._mapping.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
        elif isinstance(value, float):
            value = repr(value)
        values[column] = value
    return hashlib.sha256(canonical(values).encode("utf-8")).hexdigest()


def row_digest(conn: Connection, table: str, key) -> str | None:
    """SHA-256 of a row's whole content (None if the row does not exist)."""
    from sigverify.store.schema import metadata

    t = metadata.tables[table]
    condition = [t.c[c] == v for c, v in zip(GUARDED[table], _parts(key))]
    row = conn.execute(select(t).where(*condition)).first()
    return None if row is None else _digest_of(row)


def append(conn: Connection, at: str, actor: str, action: str, subject: str, details: dict, role: str = "",
           rows: list[tuple[str, object]] = ()) -> int:
    """Append one record inside the caller's transaction; returns its id.

    ``rows``: the (table, key) of every data row this action wrote or deleted, read back here so
    the record holds what the rows really contain at commit."""
    postgres = conn.dialect.name == "postgresql"
    if postgres and conn.execute(text("SELECT has_table_privilege('audit', 'UPDATE')")).scalar():
        conn.execute(text("LOCK TABLE audit IN EXCLUSIVE MODE"))  # else the server's trigger locks (pg_roles.py)
    last = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
    record_id = (last.id + 1) if last else 1
    prev = last.hash if last else GENESIS
    if rows:
        details = {**details, "rows": {row_name(t, k): row_digest(conn, t, k) for t, k in rows}}
    body = canonical(details)
    digest = record_hash(record_id, at, actor, role, action, subject, body, prev)
    written = conn.execute(audit.insert().values(
        id=record_id, at=at, actor=actor, role=role, action=action, subject=subject, details=body, prev_hash=prev,
        hash=digest).returning(audit.c.id, audit.c.hash)).first()
    record_id, digest = written.id, written.hash  # where the server chains the records, its values
    conn.info["audit_head"] = (record_id, digest)  # anchored outside the database once committed
    return record_id


def all_rows(conn: Connection) -> list[tuple[str, object]]:
    """(table, key) of every row of every guarded table (for the baseline of an upgraded store)."""
    from sigverify.store.schema import metadata

    found = []
    for table, keys in GUARDED.items():
        t = metadata.tables[table]
        for r in conn.execute(select(*(t.c[k] for k in keys))):
            found.append((table, tuple(r) if len(keys) > 1 else r[0]))
    return found


def verify_rows(conn: Connection, limit: int = 20) -> list[str]:
    """Rows whose content is not what the audit trail last recorded for them (at most ``limit``)."""
    from sigverify.store.schema import metadata

    ledger: dict[str, str | None] = {}
    for (body,) in conn.execute(select(audit.c.details).order_by(audit.c.id)):
        try:
            ledger.update(json.loads(body).get("rows") or {})
        except (ValueError, AttributeError):
            continue  # an altered record is the chain's finding
    problems, seen = [], set()
    for table, keys in GUARDED.items():
        t = metadata.tables[table]
        for row in conn.execute(select(t)):
            name = row_name(table, tuple(row._mapping[k] for k in keys))
            seen.add(name)
            if name not in ledger:
                problems.append(f"{name} is in no audit record (written outside SigVerify)")
            elif ledger[name] != _digest_of(row):
                problems.append(f"{name} differs from its audit record (altered outside SigVerify)")
    for name, digest in ledger.items():
        if digest is not None and name not in seen:
            problems.append(f"{name} was deleted outside SigVerify")
    return problems[:limit] + ([f"... and {len(problems) - limit} more"] if len(problems) > limit else [])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_broken: int | None = None
    reason: str = ""
    problems: tuple[str, ...] = ()  # the anchor's and the data rows' findings
    anchored: bool = False

    def message(self) -> str:
        if self.ok:
            anchor = "" if self.anchored else " (this computer holds no anchor for this store yet)"
            return f"audit chain intact: {self.records} record(s), every data row as recorded{anchor}"
        lines = [f"audit chain BROKEN at record {self.first_broken}: {self.reason}"] if self.first_broken else \
            ["audit trail BROKEN:"]
        return "\n".join(lines + [f"  - {p}" for p in self.problems])


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


def head(conn: Connection) -> tuple[int, str] | None:
    """(id, hash) of the last record, or None for an empty trail."""
    row = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc()).limit(1)).first()
    return None if row is None else (row.id, row.hash)


def record_hash_of(conn: Connection, record: int) -> str | None:
    return conn.execute(select(audit.c.hash).where(audit.c.id == record)).scalar()


def verify_trail(conn: Connection, anchored, problems: list[str] = (), strict: bool = False,
                 expected=()) -> ChainReport:
    """The chain, the record this computer anchored (``anchored``: record and hash, or None) and
    every guarded data row, in one report; ``problems`` already found (an unreadable anchor) join it.

    ``strict`` (one workstation): every record must be one this computer anchored, so records after
    the anchor and a trail with no anchor at all are problems too — unless the trail ends exactly at
    a head this computer noted just before committing it (``expected``: SigVerify stopped between its
    commit and its anchor; the intact chain links every record before it)."""
    report = verify_chain(conn)
    problems = list(problems)
    last = head(conn)
    ends_as_expected = last is not None and any(
        note.record == last[0] and note.hash == last[1] for note in expected)
    if strict and ends_as_expected and (anchored is None or anchored.record < last[0]):
        strict = False
    if anchored is not None:
        seen = record_hash_of(conn, anchored.record)
        if seen is None:
            problems.append(f"record {anchored.record}, which this computer saw, is gone: the trail now ends "
                            f"at record {report.records} (records deleted, or the audit table dropped)")
        elif seen != anchored.hash:
            problems.append(f"record {anchored.record} differs from what this computer saw (records "
                            "rewritten and their hashes recomputed)")
        elif strict and last is not None and last[0] > anchored.record:
            problems.append(f"records {anchored.record + 1} to {last[0]} were added after the last record SigVerify "
                            "anchored on this computer: written outside SigVerify (or SigVerify stopped before it "
                            "could anchor them); check them, then two supervisors re-anchor")
    elif strict and last is not None:
        problems.append("this computer holds no anchor for this store, so nothing it saw can be compared: the "
                        "anchor was deleted, or this is a copy or another store; if this store is new to this "
                        "computer, check it, then two supervisors re-anchor")
    problems += verify_rows(conn)
    return ChainReport(report.ok and not problems, report.records, report.first_broken, report.reason,
                       tuple(problems), anchored is not None)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit)).scalar_one())


def export_csv(conn: Connection) -> str:
    """The whole trail as CSV, in order, hashes included (for auditors' own checks)."""
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ["id", "at", "actor", "role", "action", "subject", "details", "prev_hash", "hash"]
    writer.writerow(columns)
    for row in conn.execute(select(audit).order_by(audit.c.id)):
        writer.writerow([safe_cell(getattr(row, c)) for c in columns])
    return out.getvalue()


#: characters that change how text reads without being seen: controls (NUL …) and the bidirectional
#: overrides and isolates (U+202E shows "fdp.exe" as "exe.pdf")
_HIDDEN = {c: f"<U+{c:04X}>" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                                        *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def safe_cell(value):
    """A cell a spreadsheet will not run, and that reads as it is: text starting with = + - @ (or a
    tab / carriage return) is prefixed with an apostrophe, the usual neutralisation of CSV formula
    injection; invisible controls and direction overrides are written out as <U+XXXX>."""
    if not isinstance(value, str):
        return value
    value = value.translate(_HIDDEN)
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
