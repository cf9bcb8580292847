"""The audit chain's head, kept outside the database: who can write to the store cannot rewrite history.

After every commit that appended audit records, this computer writes "record N of store S has
hash H" to a small file in its own SigVerify folder (``user_data_dir()/audit-anchors``),
authenticated with an HMAC-SHA256 key kept beside it (``audit.key``, readable by this user only)
and never in the database. ``audit verify`` then knows that record N must still exist with that
hash: records cut off the end, a dropped or emptied audit table, or a record rewritten with every
hash after it recomputed are all seen, by every computer that wrote or checked a later record.

Against whom: anyone who can write to the database (the SQLite file or the PostgreSQL server)
but not to the supervisors' own SigVerify folders. Restoring a backup also rewinds the chain;
a supervisor then re-anchors (``sigverify audit reanchor``), which the trail records.

Just before a transaction commits, the head it is about to write is noted as *expected*
(``expect``, authenticated the same way): a SigVerify stopped between its commit and its anchor
(killed, power cut) leaves records that this computer did write, and ``audit verify`` recognises
them by that note instead of calling them written outside SigVerify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sigverify.paths import user_data_dir


@dataclass(frozen=True)
class Anchor:
    record: int
    hash: str


class AnchorError(Exception):
    """The anchor file exists but is not one this computer wrote (altered or foreign)."""


class AuditAnchor:
    """The anchor of one store (by its URL, password masked) on this computer."""

    def __init__(self, store_url: str, folder: Path | None = None) -> None:
        self.store_url = store_url
        self.folder = Path(folder) if folder else user_data_dir()
        name = hashlib.sha256(store_url.encode("utf-8")).hexdigest()[:24]
        self.path = self.folder / "audit-anchors" / f"{name}.json"

    # ------------------------------------------------------------------ the key
    def _key(self, create: bool) -> bytes | None:
        path = self.folder / "audit.key"
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            if not create:
                return None
        except (OSError, ValueError) as exc:
            raise AnchorError(f"the audit key {path} cannot be read ({exc})") from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
        return key

    def _mac(self, key: bytes, record: int, head: str, kind: str = "") -> str:
        text = f"{self.store_url}\x1f{record}\x1f{head}" + (f"\x1f{kind}" if kind else "")
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def expected_path(self) -> Path:
        return self.path.with_suffix(".expected.json")

    # ------------------------------------------------------------------ read and advance
    def read(self) -> Anchor | None:
        """The anchored head, or None where this computer never anchored this store."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AnchorError(f"the audit anchor {self.path} is unreadable ({exc})") from exc
        key = self._key(create=False)
        try:
            record, head, mac = int(data["record"]), str(data["hash"]), str(data["mac"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorError(f"the audit anchor {self.path} is malformed") from exc
        if key is None or not hmac.compare_digest(mac, self._mac(key, record, head)):
            raise AnchorError(f"the audit anchor {self.path} was not written by SigVerify on this computer "
                              "(altered, or its key is gone)")
        return Anchor(record, head)

    def advance(self, record: int, head: str, force: bool = False) -> None:
        """Anchor record N's hash; never moves back (records only grow) unless ``force``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path.with_suffix(".lock")):
            if not force:
                try:
                    current = self.read()
                except AnchorError:
                    current = None  # an altered anchor is reported by verify; a new head replaces it here
                if current is not None and current.record >= record:
                    return
            key = self._key(create=True)
            body = json.dumps({"store": self.store_url, "record": record, "hash": head,
                               "mac": self._mac(key, record, head)})
            _replace(self.path, body)

    # ------------------------------------------------------------------ heads about to be committed
    def expect(self, record: int, head: str) -> None:
        """Note the head a transaction is about to commit (kept: the last few notes)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path.with_suffix(".lock")):
            key = self._key(create=True)
            notes = [n for n in self._expected_notes(key) if n.record != record][-(KEEP_EXPECTED - 1):]
            notes.append(Anchor(record, head))
            _replace(self.expected_path, json.dumps([
                {"record": n.record, "hash": n.hash, "mac": self._mac(key, n.record, n.hash, "expected")}
                for n in notes]))

    def expected(self) -> list[Anchor]:
        """The heads noted just before their commit, oldest first; a note not written by SigVerify on
        this computer is ignored (it can only vouch, never accuse)."""
        return self._expected_notes(self._key(create=False))

    def _expected_notes(self, key: bytes | None) -> list[Anchor]:
        if key is None:
            return []
        try:
            data = json.loads(self.expected_path.read_text())
            notes = [(int(d["record"]), str(d["hash"]), str(d["mac"])) for d in data]
        except (OSError, ValueError, KeyError, TypeError):
            return []
        return [Anchor(record, head) for record, head, mac in notes
                if hmac.compare_digest(mac, self._mac(key, record, head, "expected"))]


#: notes of heads about to be committed kept at once (writers that overlap on one computer)
KEEP_EXPECTED = 8


def _replace(path: Path, body: str) -> None:
    """Write a whole file or nothing: a process killed mid-write leaves the previous one."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(body)
    os.replace(tmp, path)


@contextmanager
def _locked(path: Path):
    """An exclusive lock between processes of this computer (the app and the command line)."""
    handle = open(path, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # Windows: os.replace keeps each write whole; the last writer wins
            pass
        yield
    finally:
        handle.close()
