"""The audit trail (verify, export, re-anchor) and backups of the store."""

from __future__ import annotations

import sys
from pathlib import Path

from sigverify.commands.common import EXIT_AUDIT_BROKEN, UsageError, open_store, requested, signed_in_actor


def cmd_audit(args) -> int:
    store = open_store(args)
    if args.action == "verify":
        report = store.verify_audit()
        print(report.message())
        return 0 if report.ok else EXIT_AUDIT_BROKEN
    if args.action == "reanchor":
        change = store.reanchor(signed_in_actor(args, store))
        if change is not None:
            return requested(change, "re-anchoring the audit trail")
        print("audit trail re-anchored at its current end on this computer (recorded in the trail)")
        return 0
    text = store.export_audit_csv()
    if args.out:
        out = Path(args.out)
        database = store.engine.url.database if store.engine.dialect.name == "sqlite" else None
        if database:
            live = Path(database).resolve()
            protected = {live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm"),
                         live.with_name(live.name + "-journal")}
            if out.resolve() in protected:
                raise UsageError(f"{out} is the store itself; the audit export never overwrites it")
        if out.exists() and not args.force:
            raise UsageError(f"{out} exists already; choose another file or add --force to overwrite it")
        if out.exists() and not out.is_file():
            raise UsageError(f"{out} is not a regular file")
        out.write_text(text, encoding="utf-8")
        print(f"audit trail written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0

def cmd_backup(args) -> int:
    destination = open_store(args).backup(Path(args.destination))
    print(f"backup written to {destination}")
    return 0
