"""Command-line equivalents of the administrative actions on mandates, with the same roles."""

from __future__ import annotations

import math
from pathlib import Path

from sigverify.commands.common import (json_file, load_engine_for, mandates_of, open_store, password_from, requested,
                                       signed_in_actor)


def _boxes(values: list[str] | None) -> list[tuple[int, int, int, int]] | None:
    from sigverify.errors import StoreError

    if not values:
        return None
    boxes = []
    for value in values:
        parts = value.split(",")
        try:
            box = tuple(int(part) for part in parts)
        except ValueError:
            box = ()
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0 or box[0] < 0 or box[1] < 0:
            raise StoreError(f"--box {value!r}: expected X,Y,WIDTH,HEIGHT in whole pixels, width and height above 0")
        boxes.append(box)
    return boxes

def cmd_user(args) -> int:
    store = open_store(args)
    if args.action == "list":
        from sqlalchemy import select

        from sigverify.store.schema import users

        with store.read() as conn:
            for row in conn.execute(select(users.c.name, users.c.role, users.c.password_hash, users.c.status)
                                    .order_by(users.c.name)):
                waiting = "  AWAITING A SECOND SUPERVISOR'S APPROVAL" if row.status == "pending" else ""
                print(f"{row.name:<20} {row.role:<11} {'password' if row.password_hash else 'OS user'}{waiting}")
        return 0
    from sigverify.errors import StoreError

    if not args.name or not args.name.strip():
        raise StoreError(f"user {args.action} needs a NAME")
    actor = signed_in_actor(args, store)
    if args.action == "approve":
        store.users.approve(args.name.strip(), by=actor)
        print(f"user {args.name.strip()} approved: may act as supervisor now")
        return 0
    password = password_from("SIGVERIFY_NEW_PASSWORD", f"new password for {args.name}: ") if args.with_password else None
    if args.with_password and not password:
        raise StoreError("an empty password is no password; choose one (or add an OS user without --with-password)")
    store.users.add(args.name, args.role, password, by=actor)
    if store.users.status(args.name.strip()) == "pending":
        print(f"user {args.name} (supervisor) added, pending: a second supervisor must approve "
              f"(sigverify user approve {args.name}) before they can act")
    else:
        print(f"user {args.name} ({args.role}) added")
    return 0

def cmd_signatory(args) -> int:
    store = open_store(args)
    mandates = mandates_of(store)
    if args.action == "list":
        for s in mandates.signatories(args.account):
            limit = "no limit" if s.approval_limit is None else f"limit {s.approval_limit:,.2f}"
            print(f"{s.id:>5}  {s.name:<30} panel {s.panel or '-':<3} {limit:<18} "
                  f"{'specimen ok' if s.has_valid_specimen else 'NO VALID SPECIMEN'}")
        return 0
    from sigverify.errors import StoreError

    if not args.name or not args.name.strip():
        raise StoreError("signatory add needs the signatory's NAME")
    if args.limit is not None and not (math.isfinite(args.limit) and args.limit >= 0):
        raise StoreError(f"--limit {args.limit}: an approval limit is an amount of 0 or more")
    change = mandates.request(signed_in_actor(args, store), "signatory", args.account,
                              {"name": args.name, "panel": args.panel, "role": args.role,
                               "approval_limit": args.limit})
    return requested(change, applied=mandates.applied(change))

def cmd_specimen(args) -> int:
    from sigverify.imaging.decode import read_image_file
    from sigverify.services import request_specimens

    store = open_store(args)
    mandates = mandates_of(store)
    actor = signed_in_actor(args, store)
    engine = load_engine_for(args.model)
    files = [(read_image_file(Path(image))[0], Path(image).name) for image in args.images]  # all read first
    store.account(args.account)
    for change in request_specimens(store, engine, args.account, args.signatory, files, actor, args.unlike_reason,
                                    args.expires):
        requested(change, applied=mandates.applied(change))
    return 0

def cmd_propose_specimen(args) -> int:
    from sigverify.services import propose_specimen

    store = open_store(args)
    change = propose_specimen(store, load_engine_for(args.model), args.verification, signed_in_actor(args, store),
                              args.unlike_reason)
    return requested(change, f"verification {args.verification} as a specimen",
                     applied=mandates_of(store).applied(change))

def cmd_rule(args) -> int:
    store = open_store(args)
    mandates = mandates_of(store)
    if args.action == "show":
        print(mandates.mandate(args.account).describe())
        return 0
    rule = json_file(args.file) if args.file else None
    change = mandates.request(signed_in_actor(args, store), "rule", args.account, {"rule": rule})
    return requested(change, applied=mandates.applied(change))

def cmd_changes(args) -> int:
    for change in mandates_of(open_store(args)).pending():
        print(f"{change.id:>5}  {change.account_number:<16} {change.describe():<60} by {change.requested_by}")
    return 0

def cmd_approve(args) -> int:
    store = open_store(args)
    mandates = mandates_of(store)
    actor = signed_in_actor(args, store)
    if args.reject:
        mandates.reject(actor, args.change, args.reason)
        print(f"change {args.change} rejected")
    else:
        change = next((c for c in mandates.pending() if c.id == args.change), None)
        mandates.approve(actor, args.change)
        print(f"change {args.change} approved and applied")
        if change is not None and change.kind == "model.activate":
            _activate_here(change.payload["version"])
    return 0

def _activate_here(version: str) -> None:
    """The approved model becomes this computer's active one too, where it is installed."""
    from sigverify.errors import ModelError
    from sigverify.inference.registry import default_registry

    try:
        default_registry().activate(version)
        print(f"model {version} is active on this computer too")
    except ModelError:
        print(f"model {version} is not installed on this computer; register its folder here to use it")


def cmd_document(args) -> int:
    from sigverify.mandates.document import decide_document

    store = open_store(args)
    actor = signed_in_actor(args, store)
    engine = load_engine_for(args.model)
    boxes = _boxes(args.box)
    from sigverify.imaging.decode import read_image_file

    data, name = read_image_file(Path(args.image))
    decision = decide_document(store, engine, actor, args.account, data, args.amount, boxes=boxes, filename=name)
    for m in decision.matches:
        print(f"  box {m.box}: closest to {m.signatory}, distance {m.distance:.4f}, {m.verdict}"
              + (f" — {'; '.join(m.problems)}" if m.problems else ""))
    print(f"threshold {decision.threshold:.4f} (FAR <= {100 * decision.max_far:.1f}% for this amount)")
    print(f"document {decision.document_id}: {decision.outcome.upper()} — {decision.explanation}")
    return {"accepted": 0, "rejected": 1, "review": 2}[decision.outcome]

def cmd_queue(args) -> int:
    for d in mandates_of(open_store(args)).queue():
        print(f"{d['id']:>5}  {d['account']:<16} {d['amount']:>14,.2f}  {d['status']:<6} {d['explanation']}")
    return 0

def cmd_review(args) -> int:
    store = open_store(args)
    mandates_of(store).review(signed_in_actor(args, store), args.document, args.decision, args.comment)
    print(f"document {args.document}: {args.decision}")
    return 0

def cmd_account(args) -> int:
    """Flags, instructions and the scanned mandate document of an account (supervisor)."""
    store = open_store(args)
    mandates = mandates_of(store)
    account = store.account(args.account)
    if args.always_refer is None and args.instructions is None and not args.mandate_file:
        from sqlalchemy import select

        from sigverify.store.schema import accounts, mandate_files

        with store.read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.id == account.id)).first()
            files = conn.execute(select(mandate_files.c.filename, mandate_files.c.uploaded_at).where(
                mandate_files.c.account_id == account.id)).all()
        print(f"{row.number}  {row.holder_name}")
        print(f"always refer: {'yes' if row.always_refer else 'no'}")
        print(f"instructions: {row.instructions or '-'}")
        print(f"signing rule: {mandates.mandate(args.account).describe()}")
        for f in files:
            print(f"mandate document: {f.filename} ({f.uploaded_at[:10]})")
        return 0
    actor = signed_in_actor(args, store)
    if args.always_refer is not None or args.instructions is not None:
        always = account.always_refer if args.always_refer is None else args.always_refer
        with store.read() as conn:
            from sqlalchemy import select

            from sigverify.store.schema import accounts

            current = conn.execute(select(accounts.c.instructions).where(accounts.c.id == account.id)).scalar()
        change = mandates.set_account_flags(actor, args.account, always,
                                            current if args.instructions is None else args.instructions)
        if change is None:
            print(f"account {args.account} updated")
        else:
            requested(change, f"always-refer off for account {args.account}")
    if args.mandate_file:
        from sigverify.imaging.decode import load_image

        path = Path(args.mandate_file)
        load_image(path)  # a readable image, or a clear error before anything is written
        file_id = mandates.attach_mandate_file(actor, args.account, path.read_bytes(), path.name)
        print(f"mandate document {path.name} attached (id {file_id})")
    return 0

def cmd_bands(args) -> int:
    store = open_store(args)
    bands = json_file(args.file)
    change = mandates_of(store).set_amount_bands(signed_in_actor(args, store), bands)
    if change is not None:
        return requested(change, "the amount thresholds")
    print("amount thresholds updated")
    return 0

def add_commands(sub, store_help: str) -> None:
    def common(parser):
        parser.add_argument("--store", help=store_help)
        parser.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
        return parser

    user = common(sub.add_parser("user", help="list users, add one, or approve a new supervisor (supervisor)"))
    user.add_argument("action", choices=("list", "add", "approve"))
    user.add_argument("name", nargs="?")
    user.add_argument("--role", choices=("clerk", "supervisor"), default="clerk")
    user.add_argument("--with-password", action="store_true",
                      help="set a password ($SIGVERIFY_NEW_PASSWORD or asked); else the OS user of that name")
    user.set_defaults(func=cmd_user)

    signatory = common(sub.add_parser("signatory", help="list an account's signatories, or request a new one"))
    signatory.add_argument("action", choices=("list", "add"))
    signatory.add_argument("account")
    signatory.add_argument("name", nargs="?")
    signatory.add_argument("--panel", default="")
    signatory.add_argument("--role", default="")
    signatory.add_argument("--limit", type=float, help="approval limit (amount)")
    signatory.set_defaults(func=cmd_signatory)

    specimen = common(sub.add_parser("specimen", help="request enrolment of a signatory's specimen(s), one change each"))
    specimen.add_argument("account")
    specimen.add_argument("signatory", type=int,
                          help="the signatory's number, as 'sigverify signatory list ACCOUNT' shows it")
    specimen.add_argument("images", nargs="+", metavar="image", help="one or more specimen images")
    specimen.add_argument("--expires", help="YYYY-MM-DD after which the specimen is not used")
    specimen.add_argument("--unlike-reason", default="", metavar="REASON",
                          help="request specimens the model finds unlike the signatory's others, for this reason "
                               "(the approving supervisor sees it; the audit trail keeps it)")
    specimen.add_argument("--model")
    specimen.set_defaults(func=cmd_specimen)

    propose = common(sub.add_parser("propose-specimen", help="propose a signature that was accepted as genuine "
                                    "as a new specimen of the signatory it matched (a second supervisor approves)"))
    propose.add_argument("verification", type=int, help="the verification's number ('sigverify verify' prints it; the window's History shows it)")
    propose.add_argument("--unlike-reason", default="", metavar="REASON",
                         help="propose it although the model finds it unlike the signatory's other specimens")
    propose.add_argument("--model")
    propose.set_defaults(func=cmd_propose_specimen)

    rule = common(sub.add_parser("rule", help="show an account's signing rule, or request a new one"))
    rule.add_argument("action", choices=("show", "set"))
    rule.add_argument("account")
    rule.add_argument("file", nargs="?", help="JSON rule (see sigverify/mandates/rules.py)")
    rule.set_defaults(func=cmd_rule)

    changes = common(sub.add_parser("changes", help="changes waiting for a second supervisor"))
    changes.set_defaults(func=cmd_changes)

    approve = common(sub.add_parser("approve", help="approve (or --reject) a pending change"))
    approve.add_argument("change", type=int)
    approve.add_argument("--reject", action="store_true")
    approve.add_argument("--reason", default="")
    approve.set_defaults(func=cmd_approve)

    document = common(sub.add_parser("document", help="verify a document's signatures against the mandate"))
    document.add_argument("account")
    document.add_argument("image")
    document.add_argument("--amount", required=True)
    document.add_argument("--box", action="append", help="x,y,w,h of a signature (repeat); default: found")
    document.add_argument("--model")
    document.set_defaults(func=cmd_document)

    queue = common(sub.add_parser("queue", help="documents waiting for visual review"))
    queue.set_defaults(func=cmd_queue)

    review = common(sub.add_parser("review", help="decide a queued document (supervisor)"))
    review.add_argument("document", type=int)
    review.add_argument("decision", choices=("OK", "NOK", "aside"))
    review.add_argument("--comment", default="")
    review.set_defaults(func=cmd_review)

    account = common(sub.add_parser("account", help="show an account's mandate details, or set its flags"))
    account.add_argument("account")
    refer = account.add_mutually_exclusive_group()
    refer.add_argument("--always-refer", dest="always_refer", action="store_true", default=None,
                       help="send every document of this account to review")
    refer.add_argument("--no-always-refer", dest="always_refer", action="store_false")
    account.add_argument("--instructions", help="free-text instructions shown to clerks")
    account.add_argument("--mandate-file", help="attach the scanned mandate document (image)")
    account.set_defaults(func=cmd_account)

    bands = common(sub.add_parser("bands", help="set the amount → FAR table (supervisor)"))
    bands.add_argument("file", help='JSON list, e.g. [{"up_to": 1000, "max_far": 0.1}, {"up_to": null, "max_far": 0.01}]')
    bands.set_defaults(func=cmd_bands)
