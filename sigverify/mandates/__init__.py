"""Bank mandates: signatories, signing rules, amount-dependent thresholds, document decisions."""
