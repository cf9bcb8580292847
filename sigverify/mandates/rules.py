"""Signing rules of an account's mandate, and whether the signatures on a document satisfy them.

A mandate is a list of amount bands, each with a requirement:

    {"bands": [
        {"up_to": 10000, "count": 1},                          # up to 10,000: any one
        {"up_to": null,  "count": 2, "panels": {"A": 1}}       # above: two, one of them from panel A
    ]}

``count`` distinct signatories must sign, with at least ``panels[P]`` of them from panel P.
A signatory with an approval limit below the amount does not count. Bands are ordered by
``up_to`` (the last is unbounded).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from sigverify.errors import SigVerifyError


class RuleError(SigVerifyError):
    """A mandate rule is malformed or can never be satisfied."""


@dataclass(frozen=True)
class Signatory:
    id: int
    name: str
    panel: str = ""
    approval_limit: float | None = None  # None: no limit
    has_valid_specimen: bool = True


@dataclass(frozen=True)
class Requirement:
    count: int = 1
    panels: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        text = "any one" if self.count == 1 and not self.panels else f"{self.count} signatories"
        if self.panels:
            text += " including " + " and ".join(f"{n} from panel {p}" for p, n in sorted(self.panels.items()))
        return text


@dataclass(frozen=True)
class Band:
    up_to: float | None
    requirement: Requirement


@dataclass(frozen=True)
class Mandate:
    bands: tuple[Band, ...]

    def band_for(self, amount: float) -> Band:
        for band in self.bands:
            if band.up_to is None or amount <= band.up_to:
                return band
        raise RuleError(f"no rule covers the amount {amount:,.2f}")

    def to_dict(self) -> dict:
        return {"bands": [{"up_to": b.up_to, "count": b.requirement.count, "panels": dict(b.requirement.panels)}
                          for b in self.bands]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def one_signature_suffices(self) -> bool:
        """Whether any one signatory's signature meets the rule at every amount (then a single
        verified signature decides the cheque; otherwise its amount and other signatures matter)."""
        return all(b.requirement.count == 1 and not b.requirement.panels for b in self.bands)

    def describe_for(self, amount: float) -> str:
        """The requirement an amount falls under, with its band, as the clerk reads it back."""
        band = self.band_for(amount)
        index = self.bands.index(band)
        low = self.bands[index - 1].up_to if index else None
        span = (f"above {low:,.0f}" if band.up_to is None else
                f"up to {band.up_to:,.0f}" if low is None else f"{low:,.0f} to {band.up_to:,.0f}")
        need = band.requirement.describe()
        need = "the signature of any one signatory" if need == "any one" else f"the signatures of {need}"
        return f"{amount:,.2f} needs {need} (the band {span})"

    def describe(self) -> str:
        parts, low = [], 0.0
        for band in self.bands:
            span = f"above {low:,.0f}" if band.up_to is None else f"up to {band.up_to:,.0f}"
            parts.append(f"{span}: {band.requirement.describe()}")
            low = band.up_to if band.up_to is not None else low
        return "; ".join(parts)


ANY_ONE = Mandate((Band(None, Requirement(1)),))


def parse_amount(text) -> float:
    """An amount as typed by a clerk ("12,500.00", "12500"); raises RuleError if not a number."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        cleaned = str(text).strip().replace(",", "").replace(" ", "")
        try:
            value = float(cleaned)
        except ValueError:
            raise RuleError(f"the amount {str(text)!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise RuleError(f"the amount {text!r} must be a positive number")
    return value


def parse_mandate(data: dict | str) -> Mandate:
    """A Mandate from its JSON form, with clear errors for malformed rules."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RuleError(f"the rule is not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("bands"), list) or not data["bands"]:
        raise RuleError("a rule needs a non-empty list of 'bands'")
    bands = []
    for i, raw in enumerate(data["bands"], start=1):
        try:
            up_to = None if raw.get("up_to") is None else parse_amount(raw["up_to"])
            count = int(raw.get("count", 1))
            panels = {str(p): int(n) for p, n in (raw.get("panels") or {}).items()}
        except (AttributeError, TypeError, ValueError) as exc:
            raise RuleError(f"band {i} is malformed ({exc})") from exc
        if count < 1 or any(n < 1 for n in panels.values()):
            raise RuleError(f"band {i}: counts must be at least 1")
        if sum(panels.values()) > count:
            raise RuleError(f"band {i}: the panels need {sum(panels.values())} signatories but only {count} sign")
        bands.append(Band(up_to, Requirement(count, panels)))
    limits = [b.up_to for b in bands]
    if any(x is None for x in limits[:-1]):
        raise RuleError("only the last band may be unbounded")
    bounded = [x for x in limits if x is not None]
    if bounded != sorted(bounded) or len(set(bounded)) != len(bounded):
        raise RuleError("bands must be in increasing order of amount")
    if limits[-1] is not None:
        raise RuleError("the last band must be unbounded (up_to: null), so every amount has a rule")
    return Mandate(tuple(bands))


def check_satisfiable(mandate: Mandate, signatories: list[Signatory]) -> None:
    """Refuse a rule that no set of this account's signatories could ever meet."""
    low = 0.0
    for band in mandate.bands:
        # the most favourable amount in the band is its lowest: limits exclude fewest signatories there
        amount = low
        eligible = [s for s in signatories if s.approval_limit is None or s.approval_limit >= amount]
        req = band.requirement
        where = f"for amounts {'above ' + format(low, ',.0f') if band.up_to is None else 'up to ' + format(band.up_to, ',.0f')}"
        if len(eligible) < req.count:
            raise RuleError(f"the rule can never be satisfied {where}: it needs {req.count} signatories, "
                            f"the account has {len(eligible)} who may sign")
        for panel, needed in req.panels.items():
            have = sum(1 for s in eligible if s.panel == panel)
            if have < needed:
                raise RuleError(f"the rule can never be satisfied {where}: it needs {needed} from panel {panel}, "
                                f"the account has {have}")
        low = band.up_to if band.up_to is not None else low


@dataclass(frozen=True)
class RuleCheck:
    satisfied: bool
    reason: str
    counted: tuple[int, ...]  # signatory ids that counted


def evaluate(mandate: Mandate, amount: float, signed_by: list[Signatory]) -> RuleCheck:
    """Do these (verified, distinct) signatories satisfy the rule for this amount?"""
    band = mandate.band_for(amount)
    req = band.requirement
    distinct = {s.id: s for s in signed_by}.values()
    over_limit = [s for s in distinct if s.approval_limit is not None and amount > s.approval_limit]
    counted = [s for s in distinct if s not in over_limit]
    if len(counted) < req.count:
        reason = f"needs {req.describe()} for {amount:,.2f}; {len(counted)} valid signature(s)"
        if over_limit:
            reason += " (" + ", ".join(f"{s.name}'s limit is {s.approval_limit:,.2f}" for s in over_limit) + ")"
        return RuleCheck(False, reason, tuple(s.id for s in counted))
    for panel, needed in req.panels.items():
        have = sum(1 for s in counted if s.panel == panel)
        if have < needed:
            return RuleCheck(False, f"needs {needed} from panel {panel} for {amount:,.2f}; has {have}",
                             tuple(s.id for s in counted))
    return RuleCheck(True, f"{req.describe()} for {amount:,.2f}: satisfied", tuple(s.id for s in counted))
