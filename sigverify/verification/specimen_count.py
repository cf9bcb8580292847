"""What the number of an account's specimens means for its error rates, in a clerk's words, from the
figures the model's manifest carries (measured on test writers): a bank holds one to three specimens,
and with one the model lets through and refers quite different shares than with five."""

from __future__ import annotations

MEASURED = (1, 5)  # the numbers of references the manifest's test figures are measured with


def _figures(metrics: dict, k: int) -> tuple[int, int] | None:
    """Per hundred at K references, at the threshold for K: genuine signatures beyond it, skilled forgeries within."""
    found = metrics.get("test", {}).get("verification", {}).get(f"K={k}", {})
    if "frr" not in found or "far_skilled" not in found:
        return None
    return round(100 * float(found["frr"])), round(100 * float(found["far_skilled"]))


def specimen_count_note(count: int, metrics: dict) -> str:
    """One or two sentences for the account panel; empty when the model carries no such figures."""
    one, five = _figures(metrics, 1), _figures(metrics, 5)
    if count <= 0 or one is None or five is None:
        return ""
    if count == 1:
        text = (f"With 1 specimen, about {one[0]} in 100 genuine signatures fall beyond the threshold (referred or "
                f"called forged) and {one[1]} in 100 skilled forgeries within it; with 5 specimens, {five[0]} and "
                f"{five[1]}")
    elif count >= 5:
        text = (f"With {count} specimens, about {five[0]} in 100 genuine signatures fall beyond the threshold "
                f"(referred or called forged) and {five[1]} in 100 skilled forgeries within it"
                + (" (as with 5)" if count > 5 else ""))
    else:
        text = (f"With {count} specimens, between one specimen ({one[0]} in 100 genuine signatures beyond the "
                f"threshold, {one[1]} in 100 skilled forgeries within it) and five ({five[0]} and {five[1]})")
    advice = "" if count >= 5 else " A cheque accepted as genuine can be proposed as a specimen (History)."
    return text + " — measured on test writers." + advice
