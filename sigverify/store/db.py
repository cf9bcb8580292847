"""Opening the store: a URL (SQLite file by default, PostgreSQL for a shared branch store),
SQLite pragmas for safety, and schema migrations that run on start."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select, text

from sigverify.errors import StoreError
from sigverify.store.schema import meta, metadata

SCHEMA_VERSION = 4
READ_ONLY = "sigverify_read_only"


def read_connection(engine: Engine):
    """A connection for reading: no write lock taken (SQLite), usable inside a write transaction."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def default_store_url() -> str:
    """$SIGVERIFY_STORE (a URL or a file path), else sigverify.db in the user-data folder."""
    from sigverify.paths import user_data_dir

    return as_url(os.environ.get("SIGVERIFY_STORE") or str(user_data_dir() / "sigverify.db"))


def as_url(location: str) -> str:
    """A plain path becomes a SQLite URL; URLs pass through."""
    if "://" in location:
        return location
    return f"sqlite:///{Path(location).expanduser().resolve()}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # writers take the lock at the start, so two writers never interleave the audit chain;
        # readers (see read_connection) begin deferred and, in WAL mode, never wait for a writer
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str | None = None) -> Engine:
    """Engine for the URL, with the schema created or migrated to the current version."""
    url = as_url(url) if url else default_store_url()
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {path.parent}: {exc.strerror}") from exc
    try:
        # the desktop app uses the store from worker threads: SQLite connections may cross threads
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        engine = create_engine(url, connect_args=connect_args)
    except Exception as exc:  # noqa: BLE001 - a bad URL must become a clear message
        raise StoreError(f"cannot open the store {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    migrate(engine)
    return engine


MIGRATIONS: dict[int, list[str]] = {
    # version: statements bringing the previous version up to it (1 is created from metadata);
    # new tables are created by metadata.create_all after the statements
    2: [],  # mandates: mandate_rules, mandate_files, pending_changes, documents, document_signatures
    3: [  # a new supervisor waits for a second supervisor's approval (existing users stay active)
        ("users", "status", "VARCHAR(16) NOT NULL DEFAULT 'active'"),
        ("users", "created_by", "VARCHAR(128)"),
    ],
    4: [],  # identification and clearing batches: identifications, batch_rows
}


def _apply(conn, step) -> None:
    """One migration step: a SQL statement, or (table, column, type) = add that column if missing."""
    if isinstance(step, str):
        conn.execute(text(step))
        return
    table, column, ddl = step
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


def _baseline(conn, version: int) -> None:
    """Schema 3 makes every data row part of its audit record; rows written before are vouched for
    by one baseline record at the upgrade (what they held then is what the store had)."""
    from sigverify.store import audit as audit_chain

    rows = audit_chain.all_rows(conn)
    if rows:
        audit_chain.append(conn, now(), "sigverify", "audit.baseline", "*", {"from_schema": version}, rows=rows)


def _written_at_schema(conn) -> int:
    """The highest schema version the audit trail shows it was written by: a migration's record, or
    (3) any record naming its rows' digests. A ``meta.schema_version`` below it was lowered."""
    from sigverify.store.schema import audit

    highest = 0
    for (details,) in conn.execute(select(audit.c.details).where(audit.c.action == "schema.migrate")):
        try:
            highest = max(highest, int(json.loads(details).get("to", 0)))
        except (ValueError, TypeError, AttributeError):
            continue
    if highest < 3 and conn.execute(select(audit.c.id).where(audit.c.details.like('%"rows":{%')).limit(1)).first():
        highest = 3
    return highest


def _needs_writing(engine: Engine) -> bool:
    """Whether opening the store has anything to write (a new store, an older schema, no identity):
    a store that is current is opened without a write, so a read-only copy can still be checked."""
    with read_connection(engine) as conn:
        existing = set(inspect(conn).get_table_names())
        if "meta" not in existing or not set(metadata.tables) <= existing:
            return True
        values = dict(conn.execute(select(meta.c.key, meta.c.value)).all())
    return values.get("schema_version") != str(SCHEMA_VERSION) or "store_id" not in values


def migrate(engine: Engine) -> int:
    """Create the schema, or bring an older one up to SCHEMA_VERSION, in one transaction; never
    vouch for rows of a store whose version was lowered behind SigVerify's back."""
    try:
        if not _needs_writing(engine):
            return SCHEMA_VERSION
        with engine.begin() as conn:
            existing = set(inspect(conn).get_table_names())
            if "meta" not in existing:
                metadata.create_all(conn)
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                conn.execute(meta.insert().values(key="store_id", value=uuid.uuid4().hex))
                return SCHEMA_VERSION
            version = int(conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar_one())
            if version > SCHEMA_VERSION:
                raise StoreError(f"the store has schema version {version}, newer than this SigVerify "
                                 f"({SCHEMA_VERSION}); update the application")
            if version < SCHEMA_VERSION and "audit" in existing:
                written = _written_at_schema(conn)
                if written > version:
                    raise StoreError(f"the store says it has schema version {version}, but its audit trail was "
                                     f"written by version {written}: the version was lowered outside SigVerify "
                                     "(an upgrade would vouch for rows edited behind its back). Nothing was changed; "
                                     "restore a backup and report it")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for step in MIGRATIONS[target]:
                    _apply(conn, step)
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(target)))
            metadata.create_all(conn)  # tables added by later versions
            if conn.execute(select(meta.c.value).where(meta.c.key == "store_id")).first() is None:
                conn.execute(meta.insert().values(key="store_id", value=uuid.uuid4().hex))
            if version < 3:
                _baseline(conn, version)
            if version < SCHEMA_VERSION:
                from sigverify.store import audit as audit_chain

                audit_chain.append(conn, now(), "sigverify", "schema.migrate", "*",
                                   {"from": version, "to": SCHEMA_VERSION})
            engine.sigverify_audit_head = conn.info.get("audit_head")  # the Store anchors it
            return SCHEMA_VERSION
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - a locked, corrupt or unreachable database
        raise StoreError(f"cannot open the store: {str(exc).splitlines()[0]}") from exc


def store_identity(engine: Engine) -> str | None:
    """The store's own identity (meta.store_id, made when it was created): its audit anchor is
    found by it, so a copy of the store, or another spelling of its URL, meets the same anchor."""
    with read_connection(engine) as conn:
        value = conn.execute(select(meta.c.value).where(meta.c.key == "store_id")).scalar()
    return f"store:{value}" if value else None


def now() -> str:
    """The time every record carries: UTC, ISO 8601, microseconds."""
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def plain_text(value, what: str, limit: int) -> str:
    """A name or number as the store keeps it: stripped, at most ``limit`` characters (the column's
    size on PostgreSQL), no control characters (an ANSI escape in a holder's name must never reach
    a clerk's terminal or a report)."""
    import unicodedata

    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} is missing")
    value = value.strip()
    if len(value) > limit:
        raise StoreError(f"{what} is {len(value)} characters long; at most {limit} are allowed")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise StoreError(f"{what} contains control characters; type it as plain text")
    return value
