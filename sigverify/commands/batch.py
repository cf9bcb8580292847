"""Batch verification for a clearing run from the command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sigverify.commands.common import load_engine_for, open_store, signed_in_actor


def cmd_batch(args) -> int:
    from sigverify.batch import run_batch
    from sigverify.inference.trust import require_trusted_model

    engine = load_engine_for(args.model, args.provider)
    store = open_store(args)
    actor = signed_in_actor(args, store)
    actor = actor if isinstance(actor, str) else actor.name
    require_trusted_model(store, engine)  # refused before any worker starts
    url = store.url
    store.close()
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        width = 30
        filled = int(width * done / total) if total else width
        rate = done / max(time.perf_counter() - started, 1e-6)
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows  ({rate:.1f}/s)",
              end="", file=sys.stderr, flush=True)

    summary = run_batch(Path(args.manifest), Path(args.out), url, engine.model_dir, actor, workers=args.workers,
                        provider=args.provider, progress=progress)
    if not args.quiet:
        print(file=sys.stderr)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items()))
    print(f"batch {summary.batch[:12]}: {summary.rows} rows; {summary.resumed} already done, {summary.verified} "
          f"verified now; {outcomes or 'nothing'}; results in {args.out}")
    return 0 if summary.failed == 0 else 3  # like bad input: some rows could not be verified
