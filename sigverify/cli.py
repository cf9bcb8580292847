"""The command line over the same core the desktop app uses.

Exit codes of ``sigverify verify``: 0 genuine, 1 forged, 2 refer to a supervisor,
3 bad input (an image that cannot be used, an unknown account, a duplicate enrolment),
4 model problem (missing, altered, mismatched), 64 wrong usage. Other commands exit 0 on
success and 3/4/64 as above, 5 on a dataset problem, 6 when ``audit verify`` finds the chain
broken, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import sigverify
from sigverify.cli_mandates import signed_in_actor
from sigverify.errors import BadImageError, DatasetError, ModelError, NoSignatureError, SigVerifyError, StoreError

EXIT_GENUINE, EXIT_FORGED, EXIT_REFER = 0, 1, 2
EXIT_BAD_INPUT, EXIT_MODEL, EXIT_DATASET, EXIT_AUDIT_BROKEN = 3, 4, 5, 6
EXIT_USAGE, EXIT_INTERRUPTED = 64, 130
VERDICT_EXIT = {"genuine": EXIT_GENUINE, "forged": EXIT_FORGED, "refer": EXIT_REFER}


def _finite_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code 2 would read as "refer"
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _load_engine(model: str | None, provider: str):
    from sigverify.inference.registry import load_engine

    return load_engine(model, provider)


def cmd_verify(args) -> int:
    from sigverify.imaging.decode import load_image
    from sigverify.verification.decision import decide

    if args.account:
        return _verify_account(args)
    if len(args.images) < 2:
        raise _UsageError("verify needs at least one reference and the questioned signature")
    *references, questioned = args.images
    started = time.perf_counter()
    ref_images = [load_image(path, page=args.page).pixels for path in references]
    questioned_image = load_image(questioned, page=args.page).pixels
    engine = _load_engine(args.model, args.provider)
    policy = engine.manifest.policy
    if args.threshold is not None:
        lo, hi = engine.manifest.threshold_range
        if not lo <= args.threshold <= hi:
            raise _UsageError(f"--threshold must lie within the model's range {lo:.4f}..{hi:.4f}")
        policy = policy.with_threshold(args.threshold)
    embeddings = engine.embed_images(ref_images + [questioned_image])
    decision = decide(embeddings[-1], embeddings[:-1], policy)
    elapsed_ms = (time.perf_counter() - started) * 1000
    result = {
        "questioned": str(questioned),
        "references": [{"file": str(path), "distance": round(d, 6)} for path, d in zip(references, decision.distances)],
        "distance": round(decision.distance, 6),
        "aggregation": policy.aggregation,
        "threshold": round(decision.threshold, 6),
        "score": round(decision.score, 6),
        "verdict": decision.verdict,
        "model_version": engine.version,
        "execution_provider": engine.provider,
        "provider_note": engine.provider_description,
        "elapsed_ms": round(elapsed_ms, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(len(str(p)) for p in references)
        for row in result["references"]:
            print(f"  {row['file']:<{width}}  distance {row['distance']:.4f}")
        print(f"distance ({policy.aggregation} of {len(references)}) {decision.distance:.4f}   "
              f"threshold {decision.threshold:.4f}")
        print(f"score {decision.score:.3f}   verdict: {decision.verdict.upper()}")
        print(f"model {engine.version} on {engine.provider_description}   ({elapsed_ms:.0f} ms)")
    return VERDICT_EXIT[decision.verdict]


def _open_store(args):
    from sigverify.store.repository import Store

    return Store(args.store)





def _verify_account(args) -> int:
    from sigverify.services import verify_against_account

    if len(args.images) != 1:
        raise _UsageError("with --account, give only the questioned signature")
    engine = _load_engine(args.model, args.provider)
    store = _open_store(args)
    actor = signed_in_actor(args, store)
    result = verify_against_account(store, engine, args.account, Path(args.images[0]), actor,
                                    threshold=args.threshold)
    d = result.decision
    payload = {"verification_id": result.verification_id, "account": args.account,
               "references": [{"reference_id": r, "distance": round(x, 6)} for r, x in zip(result.reference_ids,
                                                                                          d.distances)],
               "distance": round(d.distance, 6), "threshold": round(d.threshold, 6), "score": round(d.score, 6),
               "verdict": d.verdict, "model_version": engine.version, "execution_provider": engine.provider}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        for row in payload["references"]:
            print(f"  reference {row['reference_id']:>5}  distance {row['distance']:.4f}")
        print(f"distance {d.distance:.4f}   threshold {d.threshold:.4f}   score {d.score:.3f}   "
              f"verdict: {d.verdict.upper()}")
        print(f"recorded as verification {result.verification_id}; record the decision with "
              f"'sigverify decide {result.verification_id} accept|reject|escalate'")
    return VERDICT_EXIT[d.verdict]


def cmd_accounts(args) -> int:
    store = _open_store(args)
    if args.action == "add":
        if not args.number or not args.name:
            raise _UsageError("accounts add needs NUMBER and --name HOLDER")
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

    store = _open_store(args)
    store.account(args.account)  # an unknown account is refused before the model loads
    engine = _load_engine(args.model, args.provider)
    actor = signed_in_actor(args, store)
    ids = enroll_files(store, engine, args.account, [Path(p) for p in args.images], actor)
    print(f"enrolled {len(ids)} reference(s) for account {args.account}: ids {', '.join(map(str, ids))}")
    return 0


def cmd_retire(args) -> int:
    store = _open_store(args)
    store.retire(args.reference_id, signed_in_actor(args, store))
    print(f"reference {args.reference_id} retired")
    return 0


def cmd_decide(args) -> int:
    store = _open_store(args)
    actor = signed_in_actor(args, store)
    decision_id = store.record_decision(args.verification_id, args.decision, args.comment or "", actor)
    print(f"decision {args.decision} recorded for verification {args.verification_id} (id {decision_id})")
    return 0


def cmd_audit(args) -> int:
    store = _open_store(args)
    if args.action == "verify":
        report = store.verify_audit()
        print(report.message())
        return 0 if report.ok else EXIT_AUDIT_BROKEN
    if args.action == "reanchor":
        store.reanchor(signed_in_actor(args, store))
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
                raise _UsageError(f"{out} is the store itself; the audit export never overwrites it")
        if out.exists() and not args.force:
            raise _UsageError(f"{out} exists already; choose another file or add --force to overwrite it")
        if out.exists() and not out.is_file():
            raise _UsageError(f"{out} is not a regular file")
        out.write_text(text, encoding="utf-8")
        print(f"audit trail written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_backup(args) -> int:
    destination = _open_store(args).backup(Path(args.destination))
    print(f"backup written to {destination}")
    return 0


def cmd_gui(args) -> int:
    from sigverify.gui.app import run

    return run(model_dir=args.model, store=args.store, screenshot=args.screenshot, quit_after_ms=args.quit_after,
               report_startup=args.report_startup)


def cmd_models(args) -> int:
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.inference.registry import default_registry
    from sigverify.inference.trust import is_shipped

    registry = default_registry()
    if args.action == "list":
        active = registry.active_dir().resolve()
        for entry in registry.entries():
            eer = f"validation EER {100 * entry.eer:.2f}%" if entry.eer is not None else ""
            print(f"{'*' if entry.folder.resolve() == active else ' '} {entry.version:<40} "
                  f"{'shipped' if entry.shipped else 'trained here':<13} {eer}")
        return 0
    if not args.target and args.action in ("register", "activate"):
        raise _UsageError(f"models {args.action} needs " + ("the model folder" if args.action == "register" else
                                                           "a version (see 'sigverify models list')"))
    store = _open_store(args)
    actor = signed_in_actor(args, store)
    from sigverify.store.auth import require_supervisor

    require_supervisor(store.actor(actor), f"{args.action} models")
    if args.action == "register":
        entry = registry.register(Path(args.target))
        engine = EmbeddingEngine(entry.folder, provider="cpu")
        store.approve_model(engine.version, engine.folder_digest, actor)
        print(f"model {entry.version} registered in {entry.folder} and approved in the store")
        return 0
    version = args.target if args.action == "activate" else registry.previous_version()
    if version is None:
        raise _UsageError("no previous model to roll back to")
    entry = next((e for e in registry.entries() if e.version == version), None)
    if entry is None:
        raise ModelError(f"no model {version!r} on this computer")
    engine = EmbeddingEngine(entry.folder, provider="cpu")
    if not (is_shipped(engine.folder_digest) or store.model_approved(engine.folder_digest)):
        raise ModelError(f"model {version} is not approved in this store (or its folder changed since); "
                         "register it again with 'sigverify models register FOLDER'")
    store.activate_model(engine.version, engine.manifest.sha256, actor)
    registry.activate(version)
    print(f"model {version} is active; reference embeddings are recomputed at the next verification")
    return 0


def cmd_train(args) -> int:
    from sigverify.training.trainer import TrainConfig, train
    from sigverify.training.export import export

    config = TrainConfig.from_file(Path(args.config)) if args.config else TrainConfig()
    folders = [str(folder) for folder in args.dataset]
    config.dataset, config.datasets = folders[0], (folders if len(folders) > 1 else [])
    out = Path(args.out)
    config.out_dir = str(out / "checkpoints")
    for name in ("epochs", "device", "seed", "resume"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    if args.test_writers:
        config.test_writers = _writer_range(args.test_writers)
    bar = _ProgressBar(enabled=not args.quiet)
    result = train(config, progress=bar)
    bar.close()
    print(f"training {result.status} in {result.seconds / 60:.1f} min; best validation EER "
          f"{100 * result.best_val_eer:.2f}%")
    if result.best_checkpoint is None:
        print("no complete epoch: nothing to export", file=sys.stderr)
        return EXIT_DATASET
    (out / "history.json").write_text(json.dumps(result.history, indent=1), encoding="utf-8")
    manifest = export(result.best_checkpoint, out / "model")
    _print_metrics(manifest.metrics)
    print(f"model written to {out / 'model'} (version {manifest.version})")
    return 0


def cmd_export(args) -> int:
    from sigverify.training.export import export

    manifest = export(Path(args.checkpoint), Path(args.out))
    _print_metrics(manifest.metrics)
    print(f"model written to {args.out} (version {manifest.version})")
    return 0


def cmd_evaluate(args) -> int:
    import numpy as np

    from sigverify.training.datasets import prepare, scan_dataset
    from sigverify.training.evaluate import accuracy_table, format_table

    engine = _load_engine(args.model, args.provider)
    scan = scan_dataset(Path(args.dataset))
    writers = _writer_range(args.writers) if args.writers else scan.usable_writers()
    writers = [w for w in writers if w in scan.writers]
    problems: list[str] = []
    data = prepare(scan, writers, engine.manifest.preprocessing, problems)
    if len(data) == 0:
        raise DatasetError(f"{args.dataset}: no usable images for the chosen writers")
    embeddings = np.concatenate([engine.embed_canvases(data.canvases[i : i + 64]) for i in range(0, len(data), 64)])
    thresholds = {int(k): v for k, v in engine.manifest.metrics.get("thresholds_by_references", {}).items()}
    thresholds.setdefault(engine.manifest.extra.get("references_for_threshold", 5), engine.manifest.threshold)
    table = accuracy_table(embeddings, data.writer, data.forged, thresholds)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print(f"model {engine.version}, {len(writers)} writers, {len(data)} images ({engine.provider})")
        print(format_table(table))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 0


def _print_metrics(metrics: dict) -> None:
    from sigverify.training.evaluate import format_table

    val = metrics.get("validation", {})
    if "eer_skilled" in val:
        print(f"validation EER (skilled) {100 * val['eer_skilled']:.2f}% at threshold {val['threshold']:.4f}")
    if "test" in metrics:
        print("test writers:")
        print(format_table(metrics["test"]))


def _writer_range(text: str) -> list[str]:
    """'051-069' or '051,052' → writer folder names."""
    writers: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-")
            width = len(lo)
            writers += [f"{i:0{width}d}" for i in range(int(lo), int(hi) + 1)]
        elif part:
            writers.append(part)
    return writers


class _ProgressBar:
    """A one-line text progress bar for training in a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.verbose = enabled

    def __call__(self, event: dict) -> None:
        kind = event["kind"]
        if kind == "step" and self.enabled:
            done, total = event["global_step"], event["total_steps"]
            eta = event["elapsed"] / max(done, 1) * (total - done)
            filled = int(30 * done / total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
                             f"loss {event['loss']:.4f} ETA {eta / 60:4.1f} min")
            sys.stderr.flush()
        elif kind == "epoch" and self.verbose:
            sys.stderr.write(f"\repoch {event['epoch'] + 1}: loss {event['loss']:.4f}  validation EER "
                             f"{100 * event['val_eer']:.2f}%  ({event['seconds']:.0f} s){' ' * 20}\n")
        elif kind == "data" and self.verbose:
            sys.stderr.write(f"data: {event['train_writers']} training writers ({event['train_images']} images), "
                             f"{event['validation_writers']} validation writers ({event['validation_images']})\n")
            for problem in event["problems"][:20]:
                sys.stderr.write(f"warning: {problem}\n")

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class _UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sigverify", description="Verify handwritten signatures against reference signatures.",
                     epilog="Exit codes of verify: 0 genuine, 1 forged, 2 refer, 3 bad input, 4 model problem, "
                            "64 usage.")
    parser.add_argument("--version", action="version", version=f"SigVerify {sigverify.__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="headless check: load the model, verify the samples, run one training step")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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
    verify.add_argument("--threshold", type=_finite_float,
                        help="override the model's threshold (within its range; with --account, supervisors only)")
    verify.add_argument("--page", type=int, default=0, help="page of multipage TIFF files (0 = first)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument("--user", help="sign in as this user (password from $SIGVERIFY_PASSWORD or asked)")
    verify.set_defaults(func=cmd_verify)

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

    from sigverify.cli_mandates import add_commands

    add_commands(sub, store_help)

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
    except _UsageError as exc:
        print(f"sigverify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "onnx"):
            print(f"sigverify: this command needs {exc.name}; install the training extra (see README)",
                  file=sys.stderr)
            return EXIT_USAGE
        raise
    except KeyboardInterrupt:
        print("sigverify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
