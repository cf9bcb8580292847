"""Rule evaluation on a table of cases with expected outcomes, and refusal of bad rules and amounts."""

from __future__ import annotations

import pytest

from sigverify.mandates.rules import (RuleError, Signatory, check_satisfiable, evaluate, parse_amount,
                                      parse_mandate)
from sigverify.mandates.thresholds import parse_bands, threshold_for

ANNA = Signatory(1, "Anna", panel="A")
BOB = Signatory(2, "Bob", panel="B")
CARL = Signatory(3, "Carl", panel="B", approval_limit=5000)
DORA = Signatory(4, "Dora", panel="A", approval_limit=20000)

ANY_ONE = {"bands": [{"up_to": None, "count": 1}]}
ANY_TWO = {"bands": [{"up_to": None, "count": 2}]}
PANELS = {"bands": [{"up_to": None, "count": 2, "panels": {"A": 1, "B": 1}}]}
VALUE = {"bands": [{"up_to": 10000, "count": 1}, {"up_to": None, "count": 2, "panels": {"A": 1}}]}


@pytest.mark.parametrize("rule,amount,signed,expected", [
    (ANY_ONE, 100, [ANNA], True),
    (ANY_ONE, 100, [], False),
    (ANY_TWO, 100, [ANNA], False),
    (ANY_TWO, 100, [ANNA, BOB], True),
    (ANY_TWO, 100, [ANNA, ANNA], False),  # the same person twice counts once
    (PANELS, 100, [ANNA, BOB], True),
    (PANELS, 100, [BOB, CARL], False),  # both from panel B
    (PANELS, 100, [ANNA, DORA], False),  # both from panel A
    (VALUE, 10000, [BOB], True),  # up to 10,000: any one
    (VALUE, 10000.01, [BOB], False),  # above: two
    (VALUE, 25000, [BOB, CARL], False),  # two, but none from panel A (and Carl over his limit)
    (VALUE, 15000, [ANNA, BOB], True),
    (VALUE, 15000, [DORA, BOB], True),  # Dora's limit 20,000 covers it
    (VALUE, 25000, [DORA, BOB], False),  # Dora over her limit
    (ANY_ONE, 6000, [CARL], False),  # Carl's limit is 5,000
    (ANY_ONE, 5000, [CARL], True),
])
def test_rule_table(rule, amount, signed, expected):
    check = evaluate(parse_mandate(rule), amount, signed)
    assert check.satisfied is expected, check.reason


def test_reason_names_the_limit():
    check = evaluate(parse_mandate(ANY_ONE), 6000, [CARL])
    assert "Carl's limit is 5,000.00" in check.reason


@pytest.mark.parametrize("rule,signatories,message", [
    (ANY_TWO, [ANNA], "needs 2 signatories, the account has 1"),
    (PANELS, [ANNA, DORA], "needs 1 from panel B, the account has 0"),
])
def test_rules_that_can_never_be_satisfied_are_refused(rule, signatories, message):
    with pytest.raises(RuleError, match=message):
        check_satisfiable(parse_mandate(rule), signatories)


def test_limit_makes_an_upper_band_unsatisfiable():
    rule = parse_mandate({"bands": [{"up_to": 10000, "count": 1}, {"up_to": None, "count": 1, "panels": {"B": 1}}]})
    with pytest.raises(RuleError, match="never be satisfied for amounts above 10,000"):
        check_satisfiable(rule, [ANNA, CARL])  # the only panel-B signatory stops at 5,000


@pytest.mark.parametrize("bad,message", [
    ({"bands": []}, "non-empty list"),
    ({"bands": [{"up_to": 100, "count": 1}]}, "last band must be unbounded"),
    ({"bands": [{"up_to": None, "count": 1}, {"up_to": None, "count": 2}]}, "only the last band"),
    ({"bands": [{"up_to": 500, "count": 1}, {"up_to": 100, "count": 1}, {"up_to": None, "count": 1}]},
     "increasing order"),
    ({"bands": [{"up_to": None, "count": 1, "panels": {"A": 1, "B": 1}}]}, "only 1 sign"),
    ({"bands": [{"up_to": None, "count": 0}]}, "at least 1"),
    ("{not json", "not valid JSON"),
])
def test_malformed_rules(bad, message):
    with pytest.raises(RuleError, match=message):
        parse_mandate(bad)


@pytest.mark.parametrize("text,value", [("12,500.50", 12500.5), (" 300 ", 300.0), (42, 42.0)])
def test_amounts(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["twelve", "", "1.2.3", "-5", "nan", True])
def test_amount_that_is_not_a_number(text):
    with pytest.raises(RuleError, match="amount"):
        parse_amount(text)


def test_amount_bands_pick_stricter_thresholds_for_larger_amounts():
    bands = parse_bands([{"up_to": 1000, "max_far": 0.10}, {"up_to": 50000, "max_far": 0.01},
                         {"up_to": None, "max_far": 0.001}])
    curve = {"thresholds": [0.1, 0.2, 0.3, 0.4, 0.5], "far": [0.0, 0.0005, 0.008, 0.05, 0.2]}
    assert threshold_for(500, bands, curve) == (0.4, 0.10)
    assert threshold_for(20000, bands, curve) == (0.3, 0.01)
    assert threshold_for(90000, bands, curve) == (0.2, 0.001)
    with pytest.raises(RuleError, match="must not allow a higher FAR"):
        parse_bands([{"up_to": 1000, "max_far": 0.01}, {"up_to": None, "max_far": 0.1}])
