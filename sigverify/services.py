"""What a clerk does, composed from the core: enrol files, verify against an account, keep the
embedding cache in step with the active model. Used by the CLI and the desktop app alike."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from sigverify.errors import SpecimenRefused
from sigverify.imaging.decode import load_image, png_bytes, read_image_file
from sigverify.imaging.document import questioned_signature
from sigverify.imaging.preprocess import preprocess_with_box
from sigverify.imaging.specimen_check import specimen_problems
from sigverify.inference.engine import EmbeddingEngine
from sigverify.inference.trust import require_trusted_model
from sigverify.store.auth import require_supervisor
from sigverify.store.db import StoreError
from sigverify.store.mandates import mandates_of
from sigverify.store.repository import EnrolItem, Store
from sigverify.verification.decision import FORGED, REFER, Decision, decide


def _read(path: Path) -> bytes:
    return read_image_file(path)[0]


def read_questioned(questioned: Path | bytes, filename: str = "") -> tuple[bytes, str]:
    """The questioned image's bytes (read and size-checked from a file, or as given) and its name."""
    if isinstance(questioned, bytes):
        return questioned, filename or "questioned"
    return _read(questioned), filename or Path(questioned).name


def prepare_specimens(store: Store, engine: EmbeddingEngine, number: str,
                      files: list[tuple[bytes, str]], unlike_reason: str = "") -> list[EnrolItem]:
    """Decode, check, find the ink and embed specimens; refuse any that cannot serve as one.

    Each must look like dark handwriting on light paper (imaging/specimen_check.py) and, where
    the account has two specimens or more, must not be judged a forgery against them: a specimen
    unlike the others is far more often the wrong image than a changed signature (which a
    supervisor handles by retiring the old specimens first). A supervisor who has checked it (the
    customer signed in front of them, the signature has changed) enrols it with ``unlike_reason``,
    which the audit trail keeps."""
    params = engine.manifest.preprocessing
    prepared = []
    for data, name in files:
        pixels = load_image(data, name=name).pixels
        problems = specimen_problems(pixels, params)
        if problems:
            raise SpecimenRefused(f"{name} cannot be a specimen: {'; '.join(problems)}")
        prepared.append(preprocess_with_box(pixels, params))
    vectors = engine.embed_canvases(np.stack([p.canvas for p in prepared]))
    ids, existing, _ = store.reference_embeddings(number, engine.manifest.sha256)
    unlike = [False] * len(files)
    if len(ids) >= 2:  # one specimen alone says too little about how this hand varies
        policy = engine.manifest.policy
        for i, ((_, name), vector) in enumerate(zip(files, vectors)):
            decision = decide(vector, existing, policy)
            unlike[i] = decision.verdict == FORGED
            if unlike[i] and not unlike_reason.strip():
                raise UnlikeSpecimen(
                    f"{name} is unlike account {number}'s {len(ids)} other specimen(s) (distance "
                    f"{decision.distance:.3f}, beyond the model's forgery line "
                    f"{decision.threshold * (1 + decision.refer_band):.3f}); check that it is this signatory's "
                    f"signature. If it is (signed in front of you, or the signature has changed), enrol it with "
                    f"the reason (--unlike-reason \"…\" on the command line; the window asks for it)", name)
    return [EnrolItem(data, name, p.box, vector, unlike_reason.strip() if flag else "")
            for (data, name), p, vector, flag in zip(files, prepared, vectors, unlike)]


class UnlikeSpecimen(SpecimenRefused):
    """A specimen the model judges unlike the account's others: refused unless a reason is given."""

    def __init__(self, message: str, filename: str) -> None:
        super().__init__(message)
        self.filename = filename


def request_specimens(store: Store, engine: EmbeddingEngine, number: str, signatory_id: int,
                      files: list[tuple[bytes, str]], actor, unlike_reason: str = "",
                      expires_on: str | None = None, from_verification: int | None = None) -> list[int]:
    """Where a second supervisor approves enrolments: every image checked first, then one request
    each (with its image) for the signatory; returns the change numbers (applied at once in
    single-user mode)."""
    from sigverify.store.mandates import enrolment_payload, mandates_of

    items = prepare_specimens(store, engine, number, files, unlike_reason)
    mandates = mandates_of(store)
    return [mandates.request(actor, "enroll", number, enrolment_payload(
        signatory_id, item.filename, item.box, item.embedding, engine.manifest.sha256, expires_on,
        item.unlike_reason, from_verification), attachment=data) for (data, _), item in zip(files, items)]


def propose_specimen(store: Store, engine: EmbeddingEngine, verification_id: int, actor,
                     unlike_reason: str = "") -> int:
    """A signature a person accepted as genuine, proposed by a supervisor as a new specimen of the
    signatory it matched (one request, which a second supervisor approves with the image before
    them): an account with one specimen grows to five in normal work. A whole cheque gives its
    signature, cleaned as it was verified. Returns the change number."""
    from sigverify.store.escalations import escalations_of

    require_supervisor(store.actor(actor), "propose a verified signature as a specimen")
    confirmed = escalations_of(store).accepted_signature(verification_id)
    number = confirmed["account"]
    signatory = confirmed["signatory_id"]
    if signatory is None:
        found = mandates_of(store).signatories(number)
        if len(found) != 1:
            raise StoreError(f"verification {verification_id} matched no specimen in use; enrol with "
                             "'sigverify specimen' and say whose signature it is")
        signatory = found[0].id
    signature = questioned_signature(load_image(confirmed["image"], name=confirmed["filename"]).pixels).image
    name = f"verification-{verification_id}.png"
    return request_specimens(store, engine, number, signatory, [(png_bytes(signature), name)], actor, unlike_reason,
                             from_verification=verification_id)[0]


def enroll_files(store: Store, engine: EmbeddingEngine, number: str, paths: list[Path], actor: str,
                 unlike_reason: str = "") -> list[int]:
    """Decode, check, find the ink, embed, then enrol all files in one transaction (or none)."""
    if not paths:
        raise StoreError("no images given to enrol")
    store.account(number)  # unknown account: refuse before any decoding
    files = [(_read(path), Path(path).name) for path in paths]
    items = prepare_specimens(store, engine, number, files, unlike_reason)
    return store.enroll(number, items, engine.manifest.sha256, actor)


def refresh_embeddings(store: Store, engine: EmbeddingEngine, progress: Callable[[int, int], None] | None = None,
                       should_stop: Callable[[], bool] | None = None, batch: int = 32,
                       reference_ids: list[int] | None = None) -> int:
    """Compute the embeddings the active model lacks (after a model change); resumable, batched.

    With ``reference_ids``, only those (one account's, during a verification); else all."""
    missing = reference_ids if reference_ids is not None else \
        store.references_missing_embedding(engine.manifest.sha256)
    done = 0
    for start in range(0, len(missing), batch):
        if should_stop and should_stop():
            break
        ids = missing[start : start + batch]
        canvases = [engine.prepare(load_image(store.reference_image(i)).pixels) for i in ids]
        vectors = engine.embed_canvases(np.stack(canvases))
        store.put_embeddings(engine.manifest.sha256, dict(zip(ids, vectors)))
        done += len(ids)
        if progress:
            progress(done, len(missing))
    return done


@dataclass(frozen=True)
class AccountVerification:
    verification_id: int
    decision: Decision
    reference_ids: list[int]
    signatory: str = ""  # on an account with several signatories: whose specimens it matched
    problems: tuple[str, ...] = ()  # why the verdict is REFER whatever the distance (a stamp over the strokes, …)


def closest_signatory(query: np.ndarray, ids: list[int], matrix: np.ndarray, owners: dict[int, str],
                      policy) -> tuple[str, list[int], Decision]:
    """On a joint account, each signatory signs with their own hand: decide against each one's
    specimens and keep the closest (averaging over every signatory's specimens judged one
    person's genuine signature forged). One signatory, or references of no named signatory:
    all references together."""
    groups: dict[str, list[int]] = {}
    for row, reference_id in enumerate(ids):
        groups.setdefault(owners.get(reference_id, ""), []).append(row)
    if len(groups) < 2 or "" in groups:
        return "", ids, decide(query, matrix, policy)
    decisions = {name: decide(query, matrix[rows], policy) for name, rows in groups.items()}
    name = min(decisions, key=lambda n: decisions[n].distance)
    return name, [ids[row] for row in groups[name]], decisions[name]


def checked_threshold(store: Store, engine: EmbeddingEngine, threshold: float, actor) -> float:
    """A threshold given for one verification: a finite number within the model's range, set by a supervisor."""
    lo, hi = engine.manifest.threshold_range
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and lo <= threshold <= hi):
        raise StoreError(f"threshold {threshold} lies outside the model's range {lo:.4f}..{hi:.4f}")
    require_supervisor(store.actor(actor), "override the threshold")
    return float(threshold)


def verify_against_account(store: Store, engine: EmbeddingEngine, number: str, questioned: Path | bytes,
                           actor: str, filename: str = "", threshold: float | None = None,
                           problems: tuple[str, ...] | None = None) -> AccountVerification:
    """Verify a questioned signature against the account's active references and record it."""
    store.account(number)
    require_trusted_model(store, engine)
    if threshold is not None:
        threshold = checked_threshold(store, engine, threshold, actor)
    data, name = read_questioned(questioned, filename)
    pixels = load_image(data, name=name).pixels
    if problems is None:  # a file: a whole cheque gives its signature, cleaned and checked
        found = questioned_signature(pixels)
        pixels, problems = found.image, found.problems
    canvas = engine.prepare(pixels)  # else the window already cleaned and checked its box
    ids, matrix, missing = store.reference_embeddings(number, engine.manifest.sha256)
    if missing:  # this account only: the rest of the store is refreshed in the background
        refresh_embeddings(store, engine, reference_ids=missing)
        ids, matrix, missing = store.reference_embeddings(number, engine.manifest.sha256)
    if not ids:
        raise StoreError(f"account {number} has no active reference signatures; enrol some first")
    policy = engine.manifest.policy
    override = threshold if threshold is not None else store.threshold_override(engine.version)
    if override is not None:
        policy = policy.with_threshold(override)
    owners = mandates_of(store).reference_signatories(number)
    signatory, ids, decision = closest_signatory(engine.embed_canvases(canvas[None])[0], ids, matrix, owners, policy)
    if problems:  # what the paper did to the strokes is no evidence of forgery: a person looks
        decision = replace(decision, verdict=REFER)
    verification_id = store.record_verification(
        number, data, name, engine.version, engine.manifest.sha256, list(zip(ids, decision.distances)),
        decision.distance, decision.score, decision.threshold, decision.verdict, actor)
    return AccountVerification(verification_id, decision, ids, signatory, tuple(problems))
