"""The account panel's sentence on what its number of specimens means (issue 32, item 3)."""

from sigverify.verification.specimen_count import specimen_count_note

MEASURED = {"test": {"verification": {"K=1": {"frr": 0.103, "far_skilled": 0.142},
                                      "K=5": {"frr": 0.052, "far_skilled": 0.031}}}}


def test_the_note_gives_the_measured_figures_for_the_accounts_number_of_specimens():
    one = specimen_count_note(1, MEASURED)
    assert one.startswith("With 1 specimen, about 10 in 100 genuine signatures fall beyond the threshold")
    assert "14 in 100 skilled forgeries" in one and "with 5 specimens, 5 and 3" in one and "proposed" in one
    assert "between one specimen (10 in 100" in specimen_count_note(3, MEASURED)
    five = specimen_count_note(5, MEASURED)
    assert five.startswith("With 5 specimens, about 5 in 100") and "proposed" not in five
    assert "(as with 5)" in specimen_count_note(8, MEASURED)


def test_no_note_without_figures_or_specimens():
    assert specimen_count_note(0, MEASURED) == ""
    assert specimen_count_note(2, {}) == ""
    assert specimen_count_note(1, {"test": {"verification": {"K=1": {"frr": 0.1}}}}) == ""
