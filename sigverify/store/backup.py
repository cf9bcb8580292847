"""A consistent copy of a SQLite store while the app keeps using it (SQLite's online backup API)."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from sigverify.store.db import StoreError


def backup_sqlite(engine, destination: Path) -> Path:
    """Copy the store to ``destination`` (a new file, or a folder to name one in); never overwrites."""
    if engine.dialect.name != "sqlite":
        raise StoreError("backup of a PostgreSQL store is done with pg_dump by the database administrator")
    destination = Path(destination)
    if destination.is_dir():
        destination = destination / f"sigverify-{dt.datetime.now():%Y%m%d-%H%M%S}.db"
    if destination.exists():
        raise StoreError(f"{destination} exists already; choose a new file name")
    if not destination.parent.is_dir():
        raise StoreError(f"{destination.parent}: no such folder; create it first or choose another")
    tmp = destination.with_name(destination.name + ".partial")
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(tmp)
        with target:
            raw.driver_connection.backup(target)
        target.close()
        shutil.move(tmp, destination)
    except (sqlite3.Error, OSError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"backup to {destination} failed: {exc}") from exc
    finally:
        raw.close()
    return destination
