"""What every command shares: exit codes, argument types, who acts, opening the store and the model."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

EXIT_GENUINE, EXIT_FORGED, EXIT_REFER = 0, 1, 2
EXIT_BAD_INPUT, EXIT_MODEL, EXIT_DATASET, EXIT_AUDIT_BROKEN = 3, 4, 5, 6
EXIT_USAGE, EXIT_INTERRUPTED = 64, 130
#: something failed that is no verdict at all (a full disk, a bug): never 1, which reads as FORGED,
#: "rejected" or "no match"
EXIT_FAILED = 70
VERDICT_EXIT = {"genuine": EXIT_GENUINE, "forged": EXIT_FORGED, "refer": EXIT_REFER}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def finite_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value

class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code 2 would read as "refer"
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

class UsageError(Exception):
    pass

def load_engine_for(model: str | None, provider: str = "auto"):
    from sigverify.inference.registry import load_engine

    return load_engine(model, provider)

def open_store(args):
    from sigverify.store.repository import Store

    return Store(args.store)

def signed_in_actor(args, store):
    """Who acts: --user NAME signs in (password from $SIGVERIFY_PASSWORD, else asked); else the OS
    user as the store maps it. Shared by every command that records something."""
    from sigverify.store.repository import current_user

    if args.user:
        return store.users.sign_in(args.user, password_from("SIGVERIFY_PASSWORD", f"password for {args.user}: "))
    return store.users.os_user(current_user())


def password_from(variable: str, prompt: str) -> str:
    """A password from the environment variable, else asked at the terminal; with neither (a
    script, a pipe) one clear refusal instead of getpass's end-of-file traceback."""
    password = os.environ.get(variable)
    if password is None:
        if not sys.stdin.isatty():
            from sigverify.errors import StoreError

            raise StoreError(f"no password: set {variable} or run in a terminal")
        password = getpass.getpass(prompt)
    return password

def json_file(path: str) -> object:
    """A JSON file given on the command line, with one clear line for every way it can be wrong."""
    from sigverify.errors import StoreError

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None

class ProgressBar:
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

def requested(change: int, what: str = "", applied: bool = False) -> int:
    """Tell the supervisor that their change waits for a second one (or, in single-user mode, that
    it took effect at once)."""
    if applied:
        print((f"{what}: " if what else "") + f"change {change} applied (single-user mode: no users are defined, "
              "so no second supervisor is asked; 'sigverify user add' starts four-eyes)")
        return 0
    print((f"{what}: " if what else "") +
          f"change {change} requested: a second supervisor must approve it ('sigverify approve {change}')")
    return 0


def mandates_of(store):
    """store/mandates.py's mandates_of, imported when a mandate command runs (not at every start)."""
    from sigverify.store.mandates import mandates_of as of_store

    return of_store(store)
