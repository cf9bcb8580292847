"""Stricter automatic decisions for larger amounts.

A table of amount bands maps to operating points (a maximum FAR); each point's threshold is
read off the model's validation curve (its manifest's ``validation_curve``). Larger amounts get
smaller thresholds: fewer forgeries accepted, more genuine signatures sent to review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from sigverify.mandates.rules import RuleError

DEFAULT_BANDS = ({"up_to": 1000, "max_far": 0.10}, {"up_to": 50000, "max_far": 0.05}, {"up_to": None, "max_far": 0.01})


@dataclass(frozen=True)
class AmountBand:
    up_to: float | None
    max_far: float


def parse_bands(data) -> tuple[AmountBand, ...]:
    if isinstance(data, str):
        data = json.loads(data)
    bands = []
    for raw in data:
        max_far = float(raw["max_far"])
        if not 0.0 <= max_far <= 1.0:
            raise RuleError(f"max_far {max_far} must lie between 0 and 1")
        bands.append(AmountBand(None if raw.get("up_to") is None else float(raw["up_to"]), max_far))
    if not bands or bands[-1].up_to is not None:
        raise RuleError("the last amount band must be unbounded")
    fars = [b.max_far for b in bands]
    if fars != sorted(fars, reverse=True):
        raise RuleError("larger amounts must not allow a higher FAR")
    return tuple(bands)


def threshold_for(amount: float, bands: tuple[AmountBand, ...], curve: dict) -> tuple[float, float]:
    """(threshold, max_far) for an amount, from the validation curve (thresholds ascending)."""
    band = next(b for b in bands if b.up_to is None or amount <= b.up_to)
    thresholds = np.asarray(curve["thresholds"], dtype=float)
    far = np.asarray(curve["far"], dtype=float)
    ok = np.nonzero(far <= band.max_far)[0]
    if ok.size == 0:
        return float(thresholds[0]), band.max_far
    return float(thresholds[ok[-1]]), band.max_far
