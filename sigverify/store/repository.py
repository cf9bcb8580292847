"""The store's one data-access layer: every change in one transaction, each with its audit record."""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import and_, func, or_, select

from sigverify.store import audit as audit_chain
from sigverify.store.anchor import AuditAnchor
from sigverify.store.auth import Actor, PermissionDenied, UserDirectory, acting_role, require_supervisor
from sigverify.store.db import StoreError, now, open_engine, plain_text, read_connection, store_identity
from sigverify.store.model_settings import ModelSettings
from sigverify.store.store_changes import record_writer
from sigverify.store.overrides import check_decision, check_overrule
from sigverify.store.schema import accounts, decisions, embeddings, references, settings, signatories, verifications
from sigverify.store.trail import AuditTrail


def current_user() -> str:
    """Who acts when nobody signs in: the account of the process's real user id. Never the
    LOGNAME/USER environment variables (getpass.getuser() trusts them: anyone can set them)."""
    import os

    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # Windows, or a uid with no passwd entry
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"


@dataclass(frozen=True)
class Account:
    id: int
    number: str
    holder_name: str
    always_refer: bool = False


@dataclass(frozen=True)
class Reference:
    id: int
    account_id: int
    filename: str
    image_sha256: str
    box: tuple[int, int, int, int]
    enrolled_by: str
    enrolled_at: str
    active: bool


@dataclass(frozen=True)
class EnrolItem:
    """One reference to enrol: the file's original bytes, where the ink is, its embedding (None:
    computed from the image by the active model when the account is next verified)."""

    image: bytes
    filename: str
    box: tuple[int, int, int, int]
    embedding: np.ndarray | None
    #: why a specimen unlike the account's others was enrolled all the same (recorded in the audit)
    unlike_reason: str = ""


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").ravel().tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


class Store(ModelSettings, AuditTrail):
    """Accounts, references, embedding cache, verifications, decisions, settings and the audit chain."""

    def __init__(self, url: str | None = None) -> None:
        import threading

        self.engine = open_engine(url)
        self.url = str(self.engine.url)
        self.anchor = AuditAnchor(store_identity(self.engine) or self.url)
        self._writing = threading.local()
        migrated = getattr(self.engine, "sigverify_audit_head", None)
        if migrated is not None:  # the upgrade's own records, anchored like every other write
            try:
                self.anchor.advance(*migrated)
            except OSError:
                pass

    def close(self) -> None:
        self.engine.dispose()

    def read(self):
        return read_connection(self.engine)

    @contextmanager
    def write(self):
        """One transaction; once it has committed, the audit head it wrote is anchored outside
        the database (store/anchor.py). A write inside a write joins the outer transaction, so a
        change and its approval commit together or not at all."""
        outer = getattr(self._writing, "conn", None)
        if outer is not None:
            yield outer
            return
        with self.engine.begin() as conn:
            conn.info.pop("audit_head", None)
            conn.info.pop("force_anchor", None)
            self._writing.conn = conn
            try:
                yield conn
            finally:
                self._writing.conn = None
            head = conn.info.pop("audit_head", None)
            force = conn.info.pop("force_anchor", False)
            if head is not None:  # before the commit: a kill between commit and anchor is recognised
                try:
                    self.anchor.expect(*head)
                except OSError:
                    pass
        if head is not None:
            try:
                self.anchor.advance(*head, force=force)
            except OSError:
                pass  # a read-only home folder: the record is stored; audit verify says the anchor is behind

    # ------------------------------------------------------------------ who acts
    @property
    def users(self) -> UserDirectory:
        return UserDirectory(self)

    def four_eyes(self) -> bool:
        """Roles and second approvals apply once the bank has defined users in this store."""
        return self.users.count() > 0

    def actor(self, actor: "str | Actor") -> Actor:
        """A name resolved to its role (single-user mode: supervisor). An Actor given is checked
        against the users as they are now: one made before users were defined (the OS user acting
        as supervisor in single-user mode), or before a role changed, acts no more."""
        if not self.four_eyes():
            return actor if isinstance(actor, Actor) else Actor(actor, "supervisor")
        from sigverify.store.schema import users

        name = actor.name if isinstance(actor, Actor) else actor
        with self.read() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        if row is None:  # users are defined: nobody acts under a name the store does not know
            raise PermissionDenied(f"{name} is not a user of this store (users are defined): sign in "
                                   "(Ctrl+L in the window, --user NAME on the command line)")
        role = acting_role(row)
        if isinstance(actor, Actor) and actor.role != role:
            raise PermissionDenied(f"{name} is a {role} in this store now, not a {actor.role}: sign in again")
        return Actor(name, role)

    # ------------------------------------------------------------------ accounts
    def add_account(self, number: str, holder_name: str, actor: "str | Actor") -> Account:
        actor = self.actor(actor).name  # in four-eyes mode: a user of this store
        number = plain_text(number, "the account number", 64)
        holder_name = plain_text(holder_name, "the holder's name", 256)
        with self.write() as conn:
            if conn.execute(select(accounts.c.id).where(accounts.c.number == number)).first():
                raise StoreError(f"account {number} already exists")
            at = now()
            account_id = conn.execute(accounts.insert().values(
                number=number, holder_name=holder_name, instructions="", always_refer=False, created_at=at,
                created_by=actor)).inserted_primary_key[0]
            audit_chain.append(conn, at, actor, "account.create", number, {"holder_name": holder_name},
                               rows=[("accounts", account_id)])
        return Account(account_id, number, holder_name)

    def account(self, number: str) -> Account:
        with self.read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.number == number.strip())).first()
        if row is None:
            raise StoreError(f"unknown account {number!r}")
        return Account(row.id, row.number, row.holder_name, bool(row.always_refer))

    def find_accounts(self, query: str = "") -> list[Account]:
        """Accounts whose number or holder name contains the query (case-insensitive)."""
        text = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{text}%"  # the query's own % and _ are literal characters, not wildcards
        statement = select(accounts).order_by(accounts.c.number)
        if query.strip():
            statement = statement.where(or_(func.lower(accounts.c.number).like(pattern, escape="\\"),
                                            func.lower(accounts.c.holder_name).like(pattern, escape="\\")))
        with self.read() as conn:
            return [Account(r.id, r.number, r.holder_name, bool(r.always_refer)) for r in conn.execute(statement)]

    # ------------------------------------------------------------------ references
    def _sole_signatory(self, conn, account, acting: Actor) -> int:
        """Whose specimens an enrolment without a named signatory adds: the account's only signatory,
        or (a first enrolment) one created for the account holder, so that documents, batches and the
        mandate see them exactly as ``verify --account`` does. Several signatories: say whose."""
        rows = conn.execute(select(signatories.c.id, signatories.c.name).where(
            signatories.c.account_id == account.id).order_by(signatories.c.id)).all()
        if len(rows) > 1:
            listed = ", ".join(f"{r.id} {r.name}" for r in rows)
            raise StoreError(f"account {account.number} has {len(rows)} signatories ({listed}): say whose specimens "
                             "these are ('sigverify specimen ACCOUNT SIGNATORY FILES…')")
        if rows:
            return int(rows[0].id)
        at = now()
        signatory_id = conn.execute(signatories.insert().values(
            account_id=account.id, name=account.holder_name, role="", panel="", approval_limit=None,
            created_at=at)).inserted_primary_key[0]
        audit_chain.append(conn, at, acting.name, "signatory.add", account.number,
                           {"signatory_id": signatory_id, "name": account.holder_name,
                            "why": "first specimens of an account without signatories: its holder signs"},
                           role=acting.role, rows=[("signatories", signatory_id)])
        return int(signatory_id)

    def enroll(self, number: str, items: list[EnrolItem], model_sha256: str, actor: "str | Actor",
               signatory_id: int | None = None, expires_on: str | None = None, _approved_by: str = "") -> list[int]:
        """Add references with their embeddings; all or nothing, duplicates refused by file hash.

        Supervisors only; where users are defined, only through an approved change request."""
        acting = self.actor(actor)
        require_supervisor(acting, "enrol specimens")
        if self.four_eyes() and not _approved_by:
            raise PermissionDenied("enrolment needs a second supervisor's approval: request it and have "
                                   "another supervisor approve")
        if not items:
            raise StoreError("no images given to enrol")
        account = self.account(number)
        hashes = [hashlib.sha256(item.image).hexdigest() for item in items]
        if len(set(hashes)) != len(hashes):
            raise StoreError("the same image is given twice; nothing was enrolled")
        with self.write() as conn:
            if signatory_id is None:  # one enrolment model: every specimen is a signatory's
                signatory_id = self._sole_signatory(conn, account, acting)
            known = {r.image_sha256: r.filename for r in conn.execute(
                select(references.c.image_sha256, references.c.filename).where(
                    and_(references.c.account_id == account.id, references.c.image_sha256.in_(hashes))))}
            if known:
                dup = ", ".join(sorted(known.values()))
                raise StoreError(f"already enrolled for account {number}: {dup}; nothing was enrolled")
            ids = []
            for item, digest in zip(items, hashes):
                at = now()
                x, y, w, h = (int(v) for v in item.box)
                reference_id = conn.execute(references.insert().values(
                    account_id=account.id, image=item.image, image_sha256=digest, filename=item.filename,
                    crop_x=x, crop_y=y, crop_w=w, crop_h=h, enrolled_by=acting.name, enrolled_at=at, active=True,
                    signatory_id=signatory_id, expires_on=expires_on,
                )).inserted_primary_key[0]
                written = [("reference_signatures", reference_id)]
                if item.embedding is not None:  # else computed from the image at the next verification
                    conn.execute(embeddings.insert().values(reference_id=reference_id, model_sha256=model_sha256,
                                                            vector=vector_to_bytes(item.embedding), created_at=at))
                    written.append(("embeddings", (reference_id, model_sha256)))
                details = {"reference_id": reference_id, "filename": item.filename, "image_sha256": digest,
                           "box": [x, y, w, h], "signatory_id": signatory_id, "expires_on": expires_on}
                if item.unlike_reason:
                    details["enrolled_although_unlike"] = item.unlike_reason
                name, role, details = record_writer(acting, _approved_by, details)
                audit_chain.append(conn, at, name, "reference.enroll", number, details, role=role, rows=written)
                ids.append(reference_id)
        return ids

    def retire(self, reference_id: int, actor: "str | Actor", _approved_by: str = "") -> None:
        acting = self.actor(actor)
        require_supervisor(acting, "retire specimens")
        if self.four_eyes() and not _approved_by:
            raise PermissionDenied("retiring a specimen needs a second supervisor's approval")
        with self.write() as conn:
            row = conn.execute(select(references.c.active, accounts.c.number).join(accounts).where(
                references.c.id == reference_id)).first()
            if row is None:
                raise StoreError(f"unknown reference {reference_id}")
            if not row.active:
                raise StoreError(f"reference {reference_id} is already retired")
            at = now()
            conn.execute(references.update().where(references.c.id == reference_id).values(
                active=False, retired_by=acting.name, retired_at=at))
            details = {"reference_id": reference_id}
            name, role, details = record_writer(acting, _approved_by, details)
            audit_chain.append(conn, at, name, "reference.retire", row.number, details, role=role,
                               rows=[("reference_signatures", reference_id)])

    def references(self, number: str, active_only: bool = True) -> list[Reference]:
        account = self.account(number)
        statement = select(references).where(references.c.account_id == account.id).order_by(references.c.id)
        if active_only:
            statement = statement.where(references.c.active.is_(True))
        with self.read() as conn:
            return [Reference(r.id, r.account_id, r.filename, r.image_sha256, (r.crop_x, r.crop_y, r.crop_w, r.crop_h),
                              r.enrolled_by, r.enrolled_at, bool(r.active)) for r in conn.execute(statement)]

    def reference_image(self, reference_id: int) -> bytes:
        with self.read() as conn:
            data = conn.execute(select(references.c.image).where(references.c.id == reference_id)).scalar()
        if data is None:
            raise StoreError(f"unknown reference {reference_id}")
        return bytes(data)

    def reference_embeddings(self, number: str, model_sha256: str) -> tuple[list[int], np.ndarray, list[int]]:
        """(ids, matrix) of the account's active references for this model, and ids still missing one."""
        account = self.account(number)
        with self.read() as conn:
            rows = conn.execute(select(references.c.id, embeddings.c.vector).select_from(
                references.outerjoin(embeddings, and_(embeddings.c.reference_id == references.c.id,
                                                      embeddings.c.model_sha256 == model_sha256))).where(
                and_(references.c.account_id == account.id, references.c.active.is_(True))).order_by(
                references.c.id)).all()
        have = [(r.id, vector_from_bytes(r.vector)) for r in rows if r.vector is not None]
        missing = [r.id for r in rows if r.vector is None]
        matrix = np.stack([v for _, v in have]) if have else np.zeros((0, 0), np.float32)
        return [i for i, _ in have], matrix, missing

    def references_missing_embedding(self, model_sha256: str) -> list[int]:
        """Every reference (active or not) with no embedding for this model yet."""
        with self.read() as conn:
            cached = select(embeddings.c.reference_id).where(embeddings.c.model_sha256 == model_sha256)
            return list(conn.execute(select(references.c.id).where(references.c.id.not_in(cached)).order_by(
                references.c.id)).scalars())

    def put_embeddings(self, model_sha256: str, vectors: dict[int, np.ndarray], actor: str = "sigverify") -> None:
        """Cache the references' embeddings under a model (computed when a new model first meets
        them); audited like every row a verdict depends on."""
        if not vectors:
            return
        with self.write() as conn:
            at = now()
            have = {r for (r,) in conn.execute(select(embeddings.c.reference_id).where(and_(
                embeddings.c.model_sha256 == model_sha256, embeddings.c.reference_id.in_(list(vectors)))))}
            vectors = {r: v for r, v in vectors.items() if r not in have}  # another process was first
            if not vectors:
                return
            for reference_id, vector in vectors.items():
                conn.execute(embeddings.insert().values(reference_id=reference_id, model_sha256=model_sha256,
                                                        vector=vector_to_bytes(vector), created_at=at))
            audit_chain.append(conn, at, actor, "embeddings.compute", model_sha256[:16],
                               {"model_sha256": model_sha256, "references": sorted(int(r) for r in vectors)},
                               rows=[("embeddings", (int(r), model_sha256)) for r in vectors])

    # ------------------------------------------------------------------ verifications and decisions
    def record_verification(self, number: str, image: bytes, filename: str, model_version: str, model_sha256: str,
                            per_reference: list[tuple[int, float]], distance: float, score: float, threshold: float,
                            verdict: str, actor: "str | Actor") -> int:
        actor = self.actor(actor).name  # in four-eyes mode: a user of this store
        account = self.account(number)
        digest = hashlib.sha256(image).hexdigest()
        distances = [{"reference_id": int(r), "distance": round(float(d), 6)} for r, d in per_reference]
        with self.write() as conn:
            at = now()
            verification_id = conn.execute(verifications.insert().values(
                account_id=account.id, questioned_image=image, questioned_sha256=digest, filename=filename,
                model_version=model_version, model_sha256=model_sha256, distances=json.dumps(distances),
                distance=float(distance), score=float(score), threshold=float(threshold), verdict=verdict,
                created_by=actor, created_at=at)).inserted_primary_key[0]
            audit_chain.append(conn, at, actor, "verification", number, {
                "verification_id": verification_id, "questioned_sha256": digest, "model_version": model_version,
                "distances": distances, "distance": round(float(distance), 6), "score": round(float(score), 6),
                "threshold": round(float(threshold), 6), "verdict": verdict},
                rows=[("verifications", verification_id)])
        return verification_id

    def record_decision(self, verification_id: int, decision: str, comment: str, actor: "str | Actor") -> int:
        """A person's decision on a verification, within the rules of store/overrides.py."""
        who = self.actor(actor)  # in four-eyes mode: a user of this store
        actor, four_eyes = who.name, self.four_eyes()
        check_decision(decision, comment)
        with self.write() as conn:
            row = conn.execute(select(verifications.c.id, verifications.c.verdict, verifications.c.created_by,
                                      accounts.c.number).join(accounts).where(
                verifications.c.id == verification_id)).first()
            if row is None:
                raise StoreError(f"unknown verification {verification_id}")
            final = conn.execute(select(decisions.c.decision, decisions.c.decided_by).where(and_(
                decisions.c.verification_id == verification_id, decisions.c.decision.in_(("accept", "reject"))))).first()
            if final is not None:
                raise StoreError(f"verification {verification_id} was already decided ({final.decision} by "
                                 f"{final.decided_by}); a decision is recorded once")
            check_overrule(verification_id, row.verdict, row.created_by, decision, comment, who, four_eyes)
            at = now()
            decision_id = conn.execute(decisions.insert().values(
                verification_id=verification_id, decision=decision, comment=comment, decided_by=actor,
                decided_at=at)).inserted_primary_key[0]
            audit_chain.append(conn, at, actor, "decision", row.number, {
                "verification_id": verification_id, "decision": decision, "comment": comment},
                rows=[("decisions", decision_id)])
        return decision_id

    def history(self, number: str) -> list[dict]:
        """The account's verifications, newest first, each with its decisions."""
        account = self.account(number)
        with self.read() as conn:
            rows = conn.execute(select(verifications.c.id, verifications.c.filename, verifications.c.created_at,
                                       verifications.c.created_by, verifications.c.verdict, verifications.c.score,
                                       verifications.c.distance, verifications.c.model_version).where(
                verifications.c.account_id == account.id).order_by(verifications.c.id.desc())).all()
            found = {r.id: [] for r in rows}
            for d in conn.execute(select(decisions).where(decisions.c.verification_id.in_(list(found))).order_by(
                    decisions.c.id)):
                found[d.verification_id].append({"decision": d.decision, "comment": d.comment, "by": d.decided_by,
                                                 "at": d.decided_at})
        return [dict(r._mapping, decisions=found[r.id]) for r in rows]

    # ------------------------------------------------------------------ settings and models
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.read() as conn:
            value = conn.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
        return default if value is None else value

    def put_setting(self, conn, key: str, value: str, actor: str, at: str) -> None:
        if conn.execute(select(settings.c.key).where(settings.c.key == key)).first():
            conn.execute(settings.update().where(settings.c.key == key).values(value=value, changed_by=actor,
                                                                               changed_at=at))
        else:
            conn.execute(settings.insert().values(key=key, value=value, changed_by=actor, changed_at=at))

    def backup(self, destination: Path) -> Path:
        """A consistent copy while the store is in use (SQLite's online backup API)."""
        from sigverify.store.backup import backup_sqlite

        return backup_sqlite(self.engine, destination)
