"""The bank's PostgreSQL store: the administrator's one command that sets up the server's rules
(store/pg_roles.py), and one database role per SigVerify user."""

from __future__ import annotations

from sigverify.commands.common import UsageError, open_store, password_from


def cmd_database(args) -> int:
    from sigverify.store import pg_roles

    store = open_store(args)
    if store.engine.dialect.name != "postgresql":
        raise UsageError("'sigverify database' sets up a PostgreSQL store's roles; give --store postgresql+psycopg://…")
    if args.action == "setup":
        pg_roles.setup(store.engine)
        print("roles sigverify_clerk and sigverify_supervisor, their grants and the server's rules are in place; "
              "add each user with 'sigverify database add-user NAME --role clerk|supervisor'")
        return 0
    if not args.name:
        raise UsageError("database add-user needs the user's name")
    password = password_from("SIGVERIFY_NEW_PASSWORD", f"database password for {args.name}: ")
    pg_roles.add_person(store.engine, args.name, args.role, password)
    print(f"database role {args.name} ({args.role}) can sign in; give them the store URL with their name and password")
    return 0


def add_database_command(sub, store_help: str) -> None:
    database = sub.add_parser("database", help="PostgreSQL store: set up the server's roles and rules, add a user's "
                                               "database role (the database administrator)")
    database.add_argument("action", choices=("setup", "add-user"))
    database.add_argument("name", nargs="?")
    database.add_argument("--role", choices=("clerk", "supervisor"), default="clerk")
    database.add_argument("--store", help=store_help)
    database.set_defaults(func=cmd_database)
