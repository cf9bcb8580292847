"""Verifying a questioned signature, alone or against an account, and the clerk's decision."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sigverify.commands.common import VERDICT_EXIT, UsageError, load_engine_for, open_store, signed_in_actor


def cmd_verify(args) -> int:
    from sigverify.imaging.decode import load_image
    from sigverify.inference.trust import provenance_note
    from sigverify.verification.decision import decide

    if args.account:
        return _verify_account(args)
    if len(args.images) < 2:
        raise UsageError("verify needs at least one reference and the questioned signature")
    *references, questioned = args.images
    started = time.perf_counter()
    ref_images = [load_image(path, page=args.page).pixels for path in references]
    questioned_image = load_image(questioned, page=args.page).pixels
    engine = load_engine_for(args.model, args.provider)
    policy = engine.manifest.policy
    if args.threshold is not None:
        lo, hi = engine.manifest.threshold_range
        if not lo <= args.threshold <= hi:
            raise UsageError(f"--threshold must lie within the model's range {lo:.4f}..{hi:.4f}")
        policy = policy.with_threshold(args.threshold)
    embeddings = engine.embed_images(ref_images + [questioned_image])
    decision = decide(embeddings[-1], embeddings[:-1], policy)
    elapsed_ms = (time.perf_counter() - started) * 1000
    note = provenance_note(engine)
    result = {
        "questioned": str(questioned),
        "references": [{"file": str(path), "distance": round(d, 6)} for path, d in zip(references, decision.distances)],
        "distance": round(decision.distance, 6),
        "aggregation": policy.aggregation,
        "threshold": round(decision.threshold, 6),
        "score": round(decision.score, 6),
        "verdict": decision.verdict,
        "model_version": engine.version,
        "model_shipped": note is None,
        "model_note": note,
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
        if note:
            print(f"note: {note}")
    return VERDICT_EXIT[decision.verdict]

def _verify_account(args) -> int:
    from sigverify.services import verify_against_account

    if len(args.images) != 1:
        raise UsageError("with --account, give only the questioned signature")
    engine = load_engine_for(args.model, args.provider)
    store = open_store(args)
    actor = signed_in_actor(args, store)
    result = verify_against_account(store, engine, args.account, Path(args.images[0]), actor,
                                    threshold=args.threshold)
    d = result.decision
    payload = {"verification_id": result.verification_id, "account": args.account,
               "references": [{"reference_id": r, "distance": round(x, 6)} for r, x in zip(result.reference_ids,
                                                                                          d.distances)],
               "distance": round(d.distance, 6), "threshold": round(d.threshold, 6), "score": round(d.score, 6),
               "verdict": d.verdict, "refer_reasons": list(result.problems), "model_version": engine.version,
               "execution_provider": engine.provider}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        for row in payload["references"]:
            print(f"  reference {row['reference_id']:>5}  distance {row['distance']:.4f}")
        print(f"distance {d.distance:.4f}   threshold {d.threshold:.4f}   score {d.score:.3f}   "
              f"verdict: {d.verdict.upper()}")
        for problem in result.problems:
            print(f"referred because of the document, not the signature: {problem}")
        print(f"recorded as verification {result.verification_id}; record the decision with "
              f"'sigverify decide {result.verification_id} accept|reject|escalate'")
    return VERDICT_EXIT[d.verdict]

def cmd_decide(args) -> int:
    store = open_store(args)
    actor = signed_in_actor(args, store)
    decision_id = store.record_decision(args.verification_id, args.decision, args.comment or "", actor)
    print(f"decision {args.decision} recorded for verification {args.verification_id} (id {decision_id})")
    return 0
