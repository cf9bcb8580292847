"""The command line over the same core the desktop app uses.

Exit codes of ``sigverify verify``: 0 genuine, 1 forged, 2 refer to a supervisor,
3 bad input (an image that cannot be used, an unknown account, a duplicate enrolment),
4 model problem (missing, altered, mismatched), 64 wrong usage. Other commands exit 0 on
success and 3/4/64 as above, 5 on a dataset problem, 6 when ``audit verify`` finds the chain
broken, 130 when interrupted.
"""

from __future__ import annotations

__all__ = ["main", "build_parser", "EXIT_GENUINE", "EXIT_FORGED", "EXIT_REFER", "EXIT_BAD_INPUT", "EXIT_MODEL",
           "EXIT_DATASET", "EXIT_AUDIT_BROKEN", "EXIT_USAGE", "EXIT_INTERRUPTED"]

import argparse
import sys

import sigverify
from sigverify.commands.accounts import cmd_accounts, cmd_enroll, cmd_retire
from sigverify.commands.audit import cmd_audit, cmd_backup
from sigverify.commands.common import (EXIT_AUDIT_BROKEN, EXIT_BAD_INPUT, EXIT_DATASET, EXIT_FAILED, EXIT_FORGED,
                                       EXIT_GENUINE, EXIT_INTERRUPTED, EXIT_MODEL, EXIT_REFER, EXIT_USAGE, Parser,
                                       UsageError, finite_float, positive_int)
from sigverify.commands.database import add_database_command
from sigverify.commands.mandates import add_commands
from sigverify.commands.batch import cmd_batch
from sigverify.commands.identify import cmd_identify
from sigverify.commands.models import cmd_average, cmd_evaluate, cmd_export, cmd_models, cmd_train
from sigverify.commands.verify import cmd_decide, cmd_verify
from sigverify.errors import BadImageError, DatasetError, ModelError, NoSignatureError, SigVerifyError, StoreError


def cmd_gui(args) -> int:
    from sigverify.gui.app import run

    return run(model_dir=args.model, store=args.store, screenshot=args.screenshot, quit_after_ms=args.quit_after,
               report_startup=args.report_startup)


def _store_model_user(parser: argparse.ArgumentParser, store_help: str) -> None:
    """The options of a command that records in a store with a model, as someone."""
    parser.add_argument("--store", help=store_help)
    parser.add_argument("--model", help="model folder (model.onnx + manifest.json); default: the installed model")
    parser.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="execution provider (auto: CUDA if usable, else CPU)")
    parser.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="sigverify", description="Verify handwritten signatures against reference signatures.",
                    epilog="Exit codes of verify: 0 genuine, 1 forged, 2 refer, 3 bad input, 4 model problem, "
                           "64 usage.")
    parser.add_argument("--version", action="version", version=f"SigVerify {sigverify.__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="headless check: load the model, verify the samples, run one training step")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    store_help = "store location: a file path or a database URL (default: $SIGVERIFY_STORE, else the user-data folder)"

    gui = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    gui.add_argument("--model", help="model folder; default: the installed model")
    gui.add_argument("--store", help=store_help)
    gui.add_argument("--screenshot", help=argparse.SUPPRESS)
    gui.add_argument("--quit-after", type=int, default=0, help=argparse.SUPPRESS)
    gui.add_argument("--report-startup", action="store_true", help=argparse.SUPPRESS)
    gui.set_defaults(func=cmd_gui)

    verify = sub.add_parser("verify", help="verify a questioned signature against reference signatures")
    verify.add_argument("images", nargs="+", metavar="IMAGE",
                        help="REF [REF ...] QUESTIONED, or only QUESTIONED with --account")
    verify.add_argument("--account", help="verify against this account's enrolled references and record it")
    verify.add_argument("--store", help=store_help)
    verify.add_argument("--model", help="model folder (model.onnx + manifest.json); default: the installed model")
    verify.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="execution provider (auto: CUDA if usable, else CPU)")
    verify.add_argument("--threshold", type=finite_float,
                        help="override the model's threshold (within its range; with --account, supervisors only)")
    verify.add_argument("--page", type=int, default=0, help="page of multipage TIFF files (0 = first)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    verify.set_defaults(func=cmd_verify)

    identify = sub.add_parser("identify", help="whose signature is this? rank the enrolled people, or say no match")
    identify.add_argument("questioned", metavar="QUESTIONED")
    identify.add_argument("--account", help="only this account's signatories")
    identify.add_argument("--top", type=positive_int, default=5, help="candidates to list (default 5)")
    identify.add_argument("--json", action="store_true", help="print the result as JSON")
    _store_model_user(identify, store_help)
    identify.set_defaults(func=cmd_identify)

    batch = sub.add_parser("batch", help="verify a clearing run: a CSV of cheques (image, account, amount[, box])")
    batch.add_argument("manifest", metavar="MANIFEST.csv")
    batch.add_argument("--out", required=True, metavar="RESULTS.csv", help="results, one row per cheque")
    batch.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    _store_model_user(batch, store_help)
    batch.set_defaults(func=cmd_batch)

    accounts = sub.add_parser("accounts", help="list accounts (optionally matching NUMBER), or add one")
    accounts.add_argument("action", nargs="?", choices=("list", "add"), default="list")
    accounts.add_argument("number", nargs="?", help="account number (add) or search text (list)")
    accounts.add_argument("--name", help="holder name (add)")
    accounts.add_argument("--store", help=store_help)
    accounts.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    accounts.set_defaults(func=cmd_accounts)

    enroll = sub.add_parser("enroll", help="enrol reference signatures for an account")
    enroll.add_argument("account")
    enroll.add_argument("images", nargs="*", metavar="IMAGE")
    enroll.add_argument("--model", help="model folder; default: the installed model")
    enroll.add_argument("--unlike-reason", default="", metavar="REASON",
                        help="enrol specimens the model finds unlike the account's others, for this reason "
                             "(recorded in the audit trail), e.g. \"signed in front of me; signature changed\"")
    enroll.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto")
    enroll.add_argument("--store", help=store_help)
    enroll.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    enroll.set_defaults(func=cmd_enroll)

    retire = sub.add_parser("retire", help="retire a reference signature (kept, no longer used)")
    retire.add_argument("reference_id", type=int)
    retire.add_argument("--store", help=store_help)
    retire.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    retire.set_defaults(func=cmd_retire)

    decide_cmd = sub.add_parser("decide", help="record the clerk's decision on a verification")
    decide_cmd.add_argument("verification_id", type=int)
    decide_cmd.add_argument("decision", choices=("accept", "reject", "escalate"))
    decide_cmd.add_argument("--comment", default="")
    decide_cmd.add_argument("--store", help=store_help)
    decide_cmd.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    decide_cmd.set_defaults(func=cmd_decide)

    audit_cmd = sub.add_parser("audit", help="check the audit chain, or export it")
    audit_cmd.add_argument("action", choices=("verify", "export", "reanchor"),
                           help="reanchor: after restoring a backup on purpose (supervisor)")
    audit_cmd.add_argument("--csv", action="store_true", help="export as CSV (the only format)")
    audit_cmd.add_argument("--out", help="file to write the export to (default: standard output)")
    audit_cmd.add_argument("--force", action="store_true", help="overwrite --out if it exists (never the store)")
    audit_cmd.add_argument("--store", help=store_help)
    audit_cmd.add_argument("--user", help="sign in as this user (reanchor; password from $SIGVERIFY_PASSWORD)")
    audit_cmd.set_defaults(func=cmd_audit)

    backup = sub.add_parser("backup", help="consistent copy of the store while it is in use")
    backup.add_argument("destination", help="file or folder")
    backup.add_argument("--store", help=store_help)
    backup.set_defaults(func=cmd_backup)


    add_commands(sub, store_help)
    add_database_command(sub, store_help)

    models = sub.add_parser("models", help="models on this computer: list, register, activate, rollback "
                                           "(a supervisor registers and activates)")
    models.add_argument("action", choices=("list", "register", "activate", "rollback"), nargs="?", default="list")
    models.add_argument("target", nargs="?", help="model folder (register) or version (activate)")
    models.add_argument("--store", help=store_help)
    models.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    models.set_defaults(func=cmd_models)

    train = sub.add_parser("train", help="train a model on a dataset folder and export it (needs torch)")
    train.add_argument("dataset", nargs="+",
                       help="dataset folder(s) (WRITER/genuine + WRITER/forged, or CEDAR layout); several are "
                            "trained as one, each known public dataset keeping its published test writers out")
    train.add_argument("--config", help="JSON file of TrainConfig settings")
    train.add_argument("--recipe", help="JSON file naming training stages (+ averaging) run one after the other, "
                                        "exported once (the shipped model: models/recipe-default.json)")
    train.add_argument("--out", default="runs/latest", help="output folder (checkpoints/, model/)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--device", choices=("cpu", "cuda"))
    train.add_argument("--seed", type=int)
    train.add_argument("--resume", help="checkpoint to continue from (e.g. OUT/checkpoints/last.pt)")
    train.add_argument("--test-writers", help="writers kept out for the final report, e.g. 051-069")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(func=cmd_train)

    export = sub.add_parser("export", help="export a training checkpoint to ONNX + manifest (needs torch)")
    export.add_argument("checkpoint")
    export.add_argument("--out", required=True, help="model folder to write")
    export.set_defaults(func=cmd_export)

    average = sub.add_parser("average", help="average snapshots of a few low-learning-rate cycles from a trained "
                                             "checkpoint, then export (needs torch)")
    average.add_argument("checkpoint", help="the trained checkpoint to start from (e.g. OUT/checkpoints/best.pt)")
    average.add_argument("--validation-from", required=True,
                         help="that run's model folder: its validation writers stay out of the cycles")
    average.add_argument("--cycles", type=int, default=3, help="one-epoch cycles (default 3)")
    average.add_argument("--learning-rate", type=float, default=1e-4, help="peak of each cycle (default 1e-4)")
    average.add_argument("--out", required=True, help="output folder (cycle*/, average.pt, model/)")
    average.set_defaults(func=cmd_average)

    evaluate = sub.add_parser("evaluate", help="accuracy table of a model on a dataset's writers")
    evaluate.add_argument("dataset")
    evaluate.add_argument("--model", help="model folder; default: the installed model")
    evaluate.add_argument("--writers", help="writers to evaluate on, e.g. 051-069 (default: all)")
    evaluate.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)
    return parser

def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    raw = sys.argv[1:] if argv is None else argv
    if raw[:1] == ["train-worker"]:  # the wizard's training process (hidden command)
        from sigverify.training.worker import main as worker_main

        return worker_main(raw[1:])
    args = parser.parse_args(argv)
    if args.self_test:
        from sigverify.selftest import run_self_test

        try:
            return run_self_test()
        except SigVerifyError as exc:
            print(f"sigverify: self-test FAILED: {exc}", file=sys.stderr)
            return EXIT_MODEL
    if args.command is None:  # no command: the desktop app
        args = parser.parse_args(["gui"])
    try:
        return args.func(args)
    except (BadImageError, NoSignatureError) as exc:
        print(f"sigverify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModelError as exc:
        print(f"sigverify: model problem: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except DatasetError as exc:
        print(f"sigverify: dataset problem: {exc}", file=sys.stderr)
        return EXIT_DATASET
    except StoreError as exc:
        print(f"sigverify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SigVerifyError as exc:
        print(f"sigverify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"sigverify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "onnx"):
            print(f"sigverify: this command needs {exc.name}; install the training extra (see README)",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"sigverify: failed, no verdict: the installation is incomplete ({exc.name} is missing); "
              "set it up again (README)", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("sigverify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a full disk, a lost network share: the system's fault, no verdict
        print(f"sigverify: failed, no verdict: {exc.strerror or exc}"
              f"{f' ({exc.filename})' if getattr(exc, 'filename', None) else ''}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: one line, the details kept for a maintainer, never exit 1
        print(f"sigverify: failed, no verdict: internal error ({type(exc).__name__}: {exc}); "
              f"details in {_keep_crash_report()}", file=sys.stderr)
        return EXIT_FAILED


def _keep_crash_report() -> str:
    """The traceback of the exception being handled, in a file under the user's SigVerify home."""
    import time
    import traceback

    from sigverify.paths import user_data_dir

    try:
        folder = user_data_dir() / "crash-reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{id(sys.exc_info()[1]):x}.txt"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return str(path)
    except OSError:
        return "no file (the home folder cannot be written)"
