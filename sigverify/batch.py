"""Batch verification for a clearing run: a CSV manifest of cheques in, a CSV of results out.

Each row (image, account, amount, optional box "x,y,w,h") is decided end to end as at the counter
(mandates/document.py: signatures matched to signatories, the amount's threshold, the account's
rule) by one of several worker processes, and recorded in the store together with the run's row
in one transaction. The store is the journal: a row is done exactly when the store holds it, so a
run killed at any moment and started again with the same manifest skips what is done, verifies
the rest, and rebuilds the results file from the store — no row lost, none done twice. A bad row
(missing file, unknown account, unreadable image, bad amount) is reported in its result row and
recorded as such; it never stops the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sigverify.errors import BadImageError, DatasetError, SigVerifyError
from sigverify.imaging.decode import read_image_file
from sigverify.safe_files import read_regular_file
from sigverify.store import audit as audit_chain
from sigverify.store.audit import safe_cell
from sigverify.store.db import now
from sigverify.store.schema import batch_rows

COLUMNS = ("image", "account", "amount")  # required; "box" is optional
RESULT_COLUMNS = ("row", "image", "account", "amount", "outcome", "signatures", "explanation", "document_id", "error")


@dataclass(frozen=True)
class BatchRow:
    row: int
    image: str
    account: str
    amount: str
    box: str = ""
    digest: str = ""  # SHA-256 of the image's bytes when the run began ("" where it could not be read)


#: a clearing run's manifest larger than this is refused before it is read (a day's run of a large
#: bank, ~100,000 rows, is a few megabytes)
MAX_MANIFEST_BYTES = 64 * 2**20
#: and one with more rows than this (a run is split into runs a clearing window can finish)
MAX_MANIFEST_ROWS = 200_000


def read_manifest(path: Path) -> tuple[str, list[BatchRow]]:
    """(the run's id: SHA-256 of the manifest's bytes, its rows); a manifest that cannot be a
    clearing run at all (unreadable, no header, a required column missing) is refused whole."""
    data, _ = read_regular_file(path, MAX_MANIFEST_BYTES, lambda why: DatasetError(f"the batch manifest {why}"),
                                "a manifest")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: the batch manifest is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text))
    try:
        return hashlib.sha256(data).hexdigest(), _rows(path, reader)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, …
        raise DatasetError(f"{path}: the batch manifest is not a readable CSV file ({exc})") from exc


def _rows(path: Path, reader: csv.DictReader) -> list[BatchRow]:
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{path}: the batch manifest needs the columns {', '.join(COLUMNS)} (and optionally box); "
                           f"missing: {', '.join(missing)}")
    rows = []
    for number, record in enumerate(reader, start=1):
        if number > MAX_MANIFEST_ROWS:
            raise DatasetError(f"{path}: the batch manifest has more than {MAX_MANIFEST_ROWS:,} rows; split the run")
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items() if k is not None}
        rows.append(BatchRow(number, values.get("image", ""), values.get("account", ""), values.get("amount", ""),
                             values.get("box", "")))
    return rows


def _image_path(row: BatchRow, base: Path) -> Path:
    return Path(row.image) if Path(row.image).is_absolute() else base / row.image


def bind_images(manifest_digest: str, rows: list[BatchRow], base: Path) -> tuple[str, list[BatchRow]]:
    """The run's id from the manifest *and* its images' bytes, each row carrying its image's digest:
    the same manifest over replaced images is another run (not yesterday's results), and an image
    that changes while the run goes is refused rather than judged."""
    bound, digests = [], []
    for row in rows:
        try:
            digest = hashlib.sha256(read_image_file(_image_path(row, base))[0]).hexdigest() if row.image else ""
        except BadImageError:
            digest = ""  # the row fails with its reason when it is worked
        bound.append(BatchRow(row.row, row.image, row.account, row.amount, row.box, digest))
        digests.append(digest)
    return hashlib.sha256("\n".join([manifest_digest, *digests]).encode()).hexdigest(), bound


def done_rows(store, batch: str) -> dict[int, dict]:
    with store.read() as conn:
        return {r.row: json.loads(r.result) for r in conn.execute(
            select(batch_rows.c.row, batch_rows.c.result).where(batch_rows.c.batch == batch))}


def _record_failure(store, batch: str, row: BatchRow, error: str, actor: str) -> dict:
    result = _result(row, error=error)
    try:
        with store.write() as conn:
            at = now()
            conn.execute(batch_rows.insert().values(batch=batch, row=row.row, document_id=None,
                                                    result=json.dumps(result), created_by=actor, created_at=at))
            audit_chain.append(conn, at, actor, "batch.row_failed", row.account or "-",
                               {"batch": batch, "row": row.row, "error": error}, rows=[("batch_rows", (batch, row.row))])
    except IntegrityError:  # already recorded (a resumed run met it again): the store's word stands
        return done_rows(store, batch)[row.row]
    return result


def _result(row: BatchRow, **fields) -> dict:
    base = {"row": row.row, "image": row.image, "account": row.account, "amount": row.amount, "outcome": "",
            "signatures": "", "explanation": "", "document_id": "", "error": ""}
    base.update(fields)
    return base


def _parse_box(text: str) -> list | None:
    if not text:
        return None
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
        raise ValueError(f"box {text!r} is not x,y,w,h in pixels")
    x, y, w, h = (int(p) for p in parts)
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise ValueError(f"box {text!r} must lie on the page with a positive size")
    return [(x, y, w, h)]


def verify_row(store, engine, actor, batch: str, row: BatchRow, base: Path) -> dict:
    """Decide one cheque and record it with its row (or record why it could not be); never raises
    for what a row holds."""
    from sigverify.mandates.document import decide_document

    name = actor if isinstance(actor, str) else actor.name
    try:
        if not row.image or not row.account or not row.amount:
            raise ValueError("image, account and amount are all needed")
        path = _image_path(row, base)
        try:
            image, _ = read_image_file(path)
        except BadImageError as exc:  # a pipe, a device, a directory, too large: that row, one line
            raise ValueError(f"cannot read {row.image} ({str(exc).split(': ', 1)[-1]})") from exc
        if row.digest and hashlib.sha256(image).hexdigest() != row.digest:
            raise ValueError(f"{row.image} changed while the run was going; run the manifest again")
        decision = decide_document(store, engine, store.actor(actor), row.account, image, row.amount,
                                   boxes=_parse_box(row.box), filename=path.name,
                                   batch_row=(batch, row.row, _result(row)))
        signatures = "; ".join(f"{m.signatory or '?'} {m.verdict}" for m in decision.matches)
        return _result(row, outcome=decision.outcome, signatures=signatures, explanation=decision.explanation,
                       document_id=decision.document_id)
    except IntegrityError:  # another run recorded this row first
        return done_rows(store, batch)[row.row]
    except (SigVerifyError, ValueError) as exc:
        return _record_failure(store, batch, row, str(exc), name)


# ---------------------------------------------------------------- worker processes

_WORKER: dict = {}


def _start_worker(store_url: str, model_dir: str, provider: str, parent: int | None = None) -> None:
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.store.repository import Store

    if parent is not None:
        _leave_with(parent)

    _WORKER["store"] = Store(store_url)
    _WORKER["engine"] = EmbeddingEngine(Path(model_dir), provider=provider)


def _leave_with(parent: int, every: float = 0.5) -> None:
    """End this worker when the run that started it is gone (killed with SIGKILL, its terminal
    closed): nothing else tells a pool's worker, and it would wait for work forever."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-the-run", daemon=True).start()


def _work(actor: str, batch: str, row: BatchRow, base: str) -> dict:
    return verify_row(_WORKER["store"], _WORKER["engine"], actor, batch, row, Path(base))


@dataclass(frozen=True)
class BatchSummary:
    batch: str
    rows: int
    resumed: int  # rows found done in the store when the run started
    verified: int  # rows decided by this run
    failed: int  # rows that could not be verified (all runs)
    outcomes: dict


def run_batch(manifest: Path, out: Path, store_url: str, model_dir: Path, actor: str, workers: int = 2,
              provider: str = "cpu", progress: Callable[[int, int], None] | None = None) -> BatchSummary:
    """Verify every row not yet done, streaming results into ``out`` as they finish."""
    from sigverify.store.repository import Store

    batch, rows = bind_images(*read_manifest(manifest), Path(manifest).resolve().parent)
    store = Store(store_url)
    try:
        store.actor(actor)  # who runs it must be a user of this store (in four-eyes mode)
        done = done_rows(store, batch)
    finally:
        store.close()
    _rewrite_results(out, [done[r] for r in sorted(done)])
    todo = [row for row in rows if row.row not in done]
    count = len(done)
    if progress:
        progress(count, len(rows))
    with open(out, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, RESULT_COLUMNS, extrasaction="ignore")
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context("spawn"),
                                 initializer=_start_worker, initargs=(store_url, str(model_dir), provider, os.getpid())) as pool:
            futures = [pool.submit(_work, actor, batch, row, str(Path(manifest).resolve().parent)) for row in todo]
            for future in as_completed(futures):
                writer.writerow(_cells(future.result()))
                handle.flush()
                os.fsync(handle.fileno())
                count += 1
                if progress:
                    progress(count, len(rows))
    store = Store(store_url)
    try:
        final = done_rows(store, batch)
    finally:
        store.close()
    _rewrite_results(out, [final[r] for r in sorted(final)])  # in manifest order, exactly the store's rows
    outcomes: dict = {}
    for result in final.values():
        key = result.get("outcome") or "error"
        outcomes[key] = outcomes.get(key, 0) + 1
    return BatchSummary(batch, len(rows), len(done), len(todo), outcomes.get("error", 0), outcomes)


def _rewrite_results(out: Path, results: list[dict]) -> None:
    """The results file as the store has it (atomically replaced)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=".results-", dir=out.parent)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, RESULT_COLUMNS)
        writer.writeheader()
        for result in results:
            writer.writerow(_cells(result))
    os.replace(staging, out)


def _cells(result: dict) -> dict:
    """A results row a spreadsheet will not run (a manifest may carry text that looks like a formula)."""
    return {k: safe_cell(result.get(k, "")) for k in RESULT_COLUMNS}
