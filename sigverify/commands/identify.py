"""Whose signature is this? Identification 1:N from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from sigverify.commands.common import EXIT_FORGED, EXIT_GENUINE, load_engine_for, open_store, signed_in_actor

EXIT_MATCH, EXIT_NO_MATCH = EXIT_GENUINE, EXIT_FORGED  # like verify: 0 = named, 1 = nobody


def cmd_identify(args) -> int:
    from sigverify.identify import identify_signature

    engine = load_engine_for(args.model, args.provider)
    store = open_store(args)
    actor = signed_in_actor(args, store)
    result = identify_signature(store, engine, Path(args.questioned), actor, account=args.account or "", top=args.top)
    found = result.identification
    match = found.match
    payload = {"identification_id": result.identification_id, "questioned": args.questioned,
               "scope": args.account or "all accounts",
               "match": {"account": match.account, "signatory": match.signatory} if match else None,
               "threshold": round(found.threshold, 6), "people_scored": found.people, "search": result.searched,
               "candidates": [c.record() for c in found.candidates],
               "model_version": engine.version, "execution_provider": engine.provider}
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        for rank, c in enumerate(payload["candidates"], 1):
            who = c["account"] + (f" / {c['signatory']}" if c["signatory"] else "")
            marker = "  <= within threshold" if c["distance"] <= found.threshold else ""
            print(f"{rank:>2}. {who:<40} distance {c['distance']:.4f}  score {c['score']:.3f}  "
                  f"specimens {', '.join(str(i) for i in c['specimens'])}{marker}")
        if match:
            print(f"match: account {match.account}" + (f", signatory {match.signatory}" if match.signatory else ""))
        else:
            print(f"no match found (nobody within the identification threshold {found.threshold:.4f})")
        print(f"{found.people} people scored ({result.searched} search); recorded as identification "
              f"{result.identification_id}; model {engine.version} on {engine.provider_description}")
    return EXIT_MATCH if match else EXIT_NO_MATCH
