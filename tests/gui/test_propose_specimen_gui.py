"""Issue 32, item 3 in the window: History proposes an accepted verification as a specimen (for a
supervisor), a second supervisor approves it, and the account panel says what its number of specimens
means for the error rates."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from sigverify.store.mandates import MandateStore  # noqa: E402
from sigverify.store.repository import Store  # noqa: E402
from tests.gui.shots import save_screenshot  # noqa: E402
from tests.gui.test_counter_overrides import _store_with_account, _verified  # noqa: E402
from tests.gui.test_mandates_gui import _sign_in, _window  # noqa: E402


def _select_history_row(window, verification_id):
    window.tabs.setCurrentWidget(window.history_tab)
    row = next(i for i, r in enumerate(window.history_rows) if r.get("id") == verification_id and r["kind"] == "verification")
    window.history.selectRow(row)


def test_a_supervisor_proposes_an_accepted_verification_as_a_specimen_from_history(qtbot, tmp_path, rng):
    measured = {"test": {"verification": {"K=1": {"frr": 0.20, "far_skilled": 0.08},
                                          "K=5": {"frr": 0.06, "far_skilled": 0.03}}}}
    bank = _store_with_account(tmp_path, rng, users=True, metrics=measured)
    window = _window(qtbot, bank, "workstation")
    _sign_in(window, "carol", "carol-pw")
    result = _verified(qtbot, window, bank["questioned"])
    note = window.account_panel.specimen_note.text()
    assert note.startswith("With 3 specimens, between one specimen (20 in 100 genuine") and "(6 and 3)" in note
    assert "proposed as a specimen" in note

    _select_history_row(window, result.verification_id)
    assert not window.propose_button.isEnabled()  # not accepted, and carol is a clerk
    window.result_panel.comment.setText("same hand as the passport")
    window.result_panel.escalate_button.click()

    window.sign_out()
    _sign_in(window, "bob", "bob-pw")
    window.open_account("NL-1")
    _select_history_row(window, result.verification_id)
    assert not window.propose_button.isEnabled()  # escalated is not accepted
    Store(bank["store"]).record_decision(result.verification_id, "accept", "checked with the customer",
                                         Store(bank["store"]).actor("bob"))
    window.refresh_history()
    _select_history_row(window, result.verification_id)
    assert window.propose_button.isEnabled()
    window.propose_button.click()
    # this model calls everything forged: the signature is unlike the 3 specimens, and the window asks why
    qtbot.waitUntil(lambda: getattr(window, "unlike_dialog", None) is not None and window.unlike_dialog.isVisible(),
                    timeout=20000)
    assert "unlike" in window.unlike_dialog.labelText()
    window.unlike_dialog.setTextValue("customer confirmed the cheque by phone")
    window.unlike_dialog.accept()
    qtbot.waitUntil(lambda: "proposed as a specimen" in window.statusBar().currentMessage(), timeout=20000)
    save_screenshot(window, "history-propose-as-specimen")
    store = Store(bank["store"])
    pending = [c for c in MandateStore(store).pending() if c.payload.get("from_verification") == result.verification_id]
    assert len(pending) == 1 and "accepted as genuine" in pending[0].describe()
    assert pending[0].payload["unlike_reason"] == "customer confirmed the cheque by phone"

    window.sign_out()
    _sign_in(window, "alice", "alice-pw")
    MandateStore(store).approve(store.actor("alice"), pending[0].id)
    window.open_account("NL-1")
    assert "4 reference(s)" in window.account_panel.title.text()
    assert window.account_panel.specimen_note.text().startswith("With 4 specimens")
