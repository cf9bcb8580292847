"""Accounts and their reference signatures."""

from __future__ import annotations

from pathlib import Path

from sigverify.commands.common import UsageError, load_engine_for, open_store, signed_in_actor


def cmd_accounts(args) -> int:
    store = open_store(args)
    if args.action == "add":
        if not args.number or not args.name:
            raise UsageError("accounts add needs NUMBER and --name HOLDER")
        account = store.add_account(args.number, args.name, signed_in_actor(args, store))
        print(f"account {account.number} ({account.holder_name}) created")
        return 0
    rows = store.find_accounts(args.number or "")
    for account in rows:
        count = len(store.references(account.number))
        print(f"{account.number:<20} {account.holder_name:<40} {count} active reference(s)")
    if not rows:
        print("no accounts" + (f" matching {args.number!r}" if args.number else ""))
    return 0

def cmd_enroll(args) -> int:
    from sigverify.services import enroll_files

    store = open_store(args)
    store.account(args.account)  # an unknown account is refused before the model loads
    engine = load_engine_for(args.model, args.provider)
    actor = signed_in_actor(args, store)
    ids = enroll_files(store, engine, args.account, [Path(p) for p in args.images], actor, args.unlike_reason)
    print(f"enrolled {len(ids)} reference(s) for account {args.account}: ids {', '.join(map(str, ids))}")
    return 0

def cmd_retire(args) -> int:
    store = open_store(args)
    store.retire(args.reference_id, signed_in_actor(args, store))
    print(f"reference {args.reference_id} retired")
    return 0
