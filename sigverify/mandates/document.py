"""Deciding a document end to end: each signature box matched to the most likely signatory,
judged at the threshold the amount calls for, and the account's rule checked.

Outcome: **accepted** (every signature genuine, the rule satisfied), **rejected** (a signature
judged forged, or too few signatures for the rule even if all were genuine), or **review**
(anything in between, an always-refer account, a signatory without a valid specimen).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from sigverify.errors import StoreError
from sigverify.imaging.decode import load_image
from sigverify.imaging.document import read_document
from sigverify.inference.engine import EmbeddingEngine
from sigverify.inference.trust import require_trusted_model
from sigverify.mandates.rules import evaluate, parse_amount
from sigverify.mandates.thresholds import DEFAULT_BANDS, parse_bands, threshold_for
from sigverify.store.auth import Actor
from sigverify.store.mandates import mandates_of
from sigverify.verification.decision import FORGED, GENUINE, REFER, account_distance, verdict_for


@dataclass(frozen=True)
class SignatureMatch:
    box: tuple[int, int, int, int]
    signatory_id: int | None
    signatory: str
    distance: float | None
    threshold: float
    verdict: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentDecision:
    document_id: int
    outcome: str
    explanation: str
    matches: list[SignatureMatch]
    threshold: float
    max_far: float


def amount_bands(store) -> tuple:
    return parse_bands(store.get_setting("amount_bands") or json.dumps(DEFAULT_BANDS))


def decide_document(store, engine: EmbeddingEngine, actor: Actor, number: str, image: bytes, amount,
                    boxes: list | None = None, filename: str = "document.png",
                    batch_row: tuple[str, int, dict] | None = None) -> DocumentDecision:
    require_trusted_model(store, engine)
    mandates = mandates_of(store)
    value = parse_amount(amount)
    account = store.account(number)
    page = read_document(load_image(image).pixels)  # the one document path: colour, print, stamps, resolution
    found = [page.signature_in(tuple(int(v) for v in b)) for b in boxes] if boxes else page.signatures()
    curve = engine.manifest.extra.get("validation_curve")
    if curve:
        threshold, max_far = threshold_for(value, amount_bands(store), curve)
    else:
        threshold, max_far = engine.manifest.threshold, float("nan")
    people = {s.id: s for s in mandates.signatories(number)}
    _, _, missing = store.reference_embeddings(number, engine.manifest.sha256)
    if missing:  # specimens approved since, or enrolled under another model: from their images
        from sigverify.services import refresh_embeddings

        refresh_embeddings(store, engine, reference_ids=missing)
    specimens = mandates.specimen_embeddings(number, engine.manifest.sha256)
    if not specimens:
        raise StoreError(f"account {number} has no signatory with a valid specimen for the active model")
    usable = [people[sid] for sid in specimens]
    reachable = evaluate(mandates.mandate(number), value, usable)
    if not reachable.satisfied:
        missing = [s.name for s in people.values() if s.id not in specimens]
        raise StoreError(f"account {number} cannot be verified automatically for {value:,.2f}: "
                         f"{reachable.reason}" + (f"; no valid specimen for {', '.join(missing)}" if missing else ""))
    embeddings = engine.embed_canvases(np.stack([engine.prepare(f.image) for f in found]))
    matches = []
    policy = engine.manifest.policy  # built from the manifest on each read: once here
    for signature, embedding in zip(found, embeddings):
        distances = {sid: account_distance(embedding, refs, policy) for sid, refs in specimens.items()}
        best = min(distances, key=distances.get)
        # what the paper did to the strokes (a stamp over them, …) is no evidence of forgery: a person looks
        band = policy.refer_band_for(len(specimens[best]))  # wider with fewer specimens
        verdict = REFER if signature.problems else verdict_for(distances[best], threshold, band)
        matches.append(SignatureMatch(signature.box, best, people[best].name, float(distances[best]), threshold,
                                      verdict, signature.problems))
    outcome, explanation = _outcome(mandates.mandate(number), value, matches, people, account.always_refer)
    document_id = mandates.record_document(
        actor, number, value, image, filename, engine.version, outcome, explanation,
        [{"box": ",".join(map(str, m.box)), "signatory_id": m.signatory_id, "distance": m.distance,
          "threshold": m.threshold, "verdict": m.verdict} for m in matches],
        batch_row=None if batch_row is None else (batch_row[0], batch_row[1],
                                                  dict(batch_row[2], outcome=outcome, explanation=explanation)))
    return DocumentDecision(document_id, outcome, explanation, matches, threshold, max_far)


def _outcome(mandate, amount, matches, people, always_refer) -> tuple[str, str]:
    requirement = mandate.band_for(amount).requirement
    if len(matches) < requirement.count:  # not a question of forgery: the document is incomplete
        return "rejected", (f"too few signatures: the signing rule needs {requirement.describe()} for "
                            f"{amount:,.2f}; the document has {len(matches)}")
    everyone = [people[m.signatory_id] for m in matches]
    possible = evaluate(mandate, amount, everyone)  # as if every signature were genuine
    if not possible.satisfied:
        return "rejected", f"signing rule not met: {possible.reason}"
    forged = [m for m in matches if m.verdict == FORGED]
    if forged:
        return "rejected", "signature judged forged: " + ", ".join(f"closest to {m.signatory}" for m in forged)
    if always_refer:
        return "review", "the account is marked 'always refer'"
    checked = [m for m in matches if m.problems]
    if checked:
        return "review", "; ".join(f"{m.signatory}'s signature: {m.problems[0]}" for m in checked)
    unsure = [m for m in matches if m.verdict != GENUINE]
    if unsure:
        return "review", "too close to the threshold: " + ", ".join(m.signatory for m in unsure)
    if len({m.signatory_id for m in matches}) < len(matches):
        return "review", "two signatures match the same signatory"
    return "accepted", possible.reason
