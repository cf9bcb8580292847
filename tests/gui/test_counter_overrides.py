"""At the counter (issue 31, items 4 and 5): accepting a FORGED verdict is never one key press, a
clerk's override reaches the supervisors' queue with its reason, and a single signature on an account
whose rule needs more cannot be accepted from Verify (F5); the amount typed is read back against the
rule's bands."""

from __future__ import annotations

import cv2
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox  # noqa: E402

from sigverify.gui.main_window import MainWindow  # noqa: E402
from sigverify.gui.settings import AppSettings  # noqa: E402
from sigverify.store.auth import Actor  # noqa: E402
from sigverify.store.repository import Store  # noqa: E402
from sigverify.synthetic import SyntheticWriter  # noqa: E402
from tests.gui.shots import save_screenshot  # noqa: E402
from tests.gui.test_mandates_gui import _sign_in, _window, bank  # noqa: E402,F401  (the joint account's fixture)
from tests.helpers import approve_model, make_tiny_model  # noqa: E402


def _store_with_account(tmp_path, rng, users: bool, metrics: dict | None = None):
    """A store whose model calls every signature FORGED (threshold near zero), one account with
    three specimens, and a questioned signature file; with users: two supervisors and a clerk."""
    model = make_tiny_model(tmp_path / "model", threshold=1e-4, metrics=metrics)
    store = Store(str(tmp_path / "bank.db"))
    hand = SyntheticWriter(77)
    files = []
    for i in range(4):
        path = tmp_path / f"sig{i}.png"
        cv2.imwrite(str(path), hand.genuine(rng))
        files.append(path)
    if users:
        alice = store.users.add("alice", "supervisor", "alice-pw", by=Actor("root", "supervisor"))
        bob = store.users.add("bob", "supervisor", "bob-pw", by=alice)
        store.users.add("carol", "clerk", "carol-pw", by=alice)
        approve_model(store, model, alice, second=bob)
        from sigverify.store.mandates import MandateStore, enrolment_payload

        from sigverify.inference.engine import EmbeddingEngine
        from sigverify.imaging.preprocess import preprocess_with_box

        engine = EmbeddingEngine(model)
        store.add_account("NL-1", "A. Customer", alice)
        m = MandateStore(store)
        m.approve(bob, m.request(alice, "signatory", "NL-1", {"name": "A. Customer"}))
        signatory = m.signatories("NL-1")[0]
        for path in files[:3]:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            prepared = preprocess_with_box(image, engine.manifest.preprocessing)
            payload = enrolment_payload(signatory.id, path.name, prepared.box,
                                        engine.embed_canvases(prepared.canvas[None])[0], engine.manifest.sha256)
            m.approve(bob, m.request(alice, "enroll", "NL-1", payload, path.read_bytes()))
    else:
        from sigverify import services
        from sigverify.inference.engine import EmbeddingEngine

        approve_model(store, model)
        store.add_account("NL-1", "A. Customer", "teller")
        services.enroll_files(store, EmbeddingEngine(model), "NL-1", files[:3], "teller")
    store.close()
    return {"model": model, "store": str(tmp_path / "bank.db"), "questioned": files[3], "tmp": tmp_path}


def _active(qtbot, window):
    """Keyboard shortcuts and mnemonics reach the active window only."""
    from PySide6.QtWidgets import QApplication

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    return window


def _verified(qtbot, window, path):
    window.open_account("NL-1")
    assert window.load_questioned_file(path)
    window.verify()
    qtbot.waitUntil(lambda: window.last_verification is not None and not window.busy(), timeout=20000)
    return window.last_verification


def _decisions(location, verification_id):
    row = next(r for r in Store(location).history("NL-1") if r["id"] == verification_id)
    return [(d["decision"], d["by"], d["comment"]) for d in row["decisions"]]


def test_a_clerks_accept_of_a_forged_verdict_needs_a_reason_a_confirmation_and_goes_to_the_queue(qtbot, tmp_path,
                                                                                                  rng):
    bank_ = _store_with_account(tmp_path, rng, users=True)
    window = _window(qtbot, bank_, "workstation")
    _sign_in(window, "carol", "carol-pw")
    result = _verified(qtbot, _active(qtbot, window), bank_["questioned"])
    assert result.decision.verdict == "forged"
    panel = window.result_panel

    # Alt+A alone: nothing recorded, the clerk is asked for the reason and the comment box has the focus
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "write the reason" in window.message.text(), timeout=3000)
    assert _decisions(bank_["store"], result.verification_id) == []
    assert panel.accept_button.isEnabled()

    # with a reason: a confirmation first; "No" (the default button) records nothing
    panel.comment.setText("customer known to me, signed in front of me")
    panel.accept_button.click()
    box = window.override_box
    assert box.isVisible() and box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert "needs a supervisor" in box.text() and "signed in front of me" in box.text()
    save_screenshot(box, "counter-override-confirmation")
    box.button(QMessageBox.StandardButton.No).click()
    assert _decisions(bank_["store"], result.verification_id) == []

    panel.accept_button.click()
    window.override_box.button(QMessageBox.StandardButton.Yes).click()
    assert _decisions(bank_["store"], result.verification_id) == [
        ("escalate", "carol", "would accept: customer known to me, signed in front of me")]
    assert "review queue" in panel.decision_note.text() and not panel.accept_button.isEnabled()
    save_screenshot(window, "counter-override-sent-to-queue")

    # a supervisor finds it in the queue, with the clerk's reason
    window.sign_out()
    _sign_in(window, "bob", "bob-pw")
    queue = window.review_queue()
    labels = [queue.list.item(i).text() for i in range(queue.list.count())]
    assert any(label.startswith(f"Verification #{result.verification_id} NL-1") for label in labels)
    assert "signed in front of me" in queue.explanation.text()
    # item 9: OK / NOK say what they do
    assert "accepted" in queue.ok_button.toolTip() and "refused" in queue.nok_button.toolTip()
    save_screenshot(queue, "counter-override-in-review-queue")
    queue.close()


def test_alone_at_the_counter_an_override_is_confirmed_and_recorded_with_its_reason(qtbot, tmp_path, rng):
    bank_ = _store_with_account(tmp_path, rng, users=False)
    window = _window(qtbot, bank_, "teller")
    result = _verified(qtbot, window, bank_["questioned"])
    assert result.decision.verdict == "forged"
    window.result_panel.comment.setText("compared with the passport")
    window.result_panel.accept_button.click()
    box = window.override_box
    assert "Accept it anyway" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert _decisions(bank_["store"], result.verification_id) == [("accept", "teller", "compared with the passport")]


def test_verify_f5_on_an_account_whose_rule_needs_two_signatures_cannot_accept_the_cheque(qtbot, bank):
    """Item 5: F5 verified one signature of a joint account and allowed Accept; the rule (two
    signatures above 1,000) was applied only by Verify document."""
    window = _window(qtbot, bank, "workstation")
    _sign_in(window, "carol", "carol-pw")
    _active(qtbot, window)
    window.open_account("JOINT-7")
    assert window.load_questioned_file(bank["order"])
    view = window.crop_view
    start, end = view.to_widget(60, 140), view.to_widget(560, 400)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.last_verification is not None and not window.busy(), timeout=20000)
    assert window.last_verification.decision.verdict == "genuine"
    panel = window.result_panel
    assert not panel.accept_button.isEnabled() and panel.reject_button.isEnabled()
    assert "Ctrl+D" in panel.decision_note.text() and "signing rule" in panel.decision_note.text()
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.wait(300)  # a mnemonic clicks after 100 ms: a disabled button does not
    row = next(r for r in Store(bank["store"]).history("JOINT-7") if r["id"] == window.last_verification.verification_id)
    assert row["decisions"] == []
    save_screenshot(window, "counter-f5-on-a-joint-account")

    # the amount typed for Verify document is read back against the rule's bands
    dialog = window.document_dialog()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and "Type the amount" in dialog.needs.text()
    dialog.amount.setText("500")
    assert "any one signatory" in dialog.needs.text() and "up to 1,000" in dialog.needs.text() and ok.isEnabled()
    dialog.amount.setText("25,000")
    assert "2 signatories" in dialog.needs.text() and "panel A" in dialog.needs.text()
    dialog.amount.setText("twelve")
    assert "not a number" in dialog.needs.text() and not ok.isEnabled()
    save_screenshot(dialog, "counter-amount-read-back")
    dialog.amount.setText("25,000")
    ok.click()
    qtbot.waitUntil(lambda: getattr(window, "last_document", None) is not None and not window.busy(), timeout=20000)
    assert len(window.last_document.matches) >= 1


def test_the_users_dialog_opened_in_single_user_mode_stops_acting_once_users_exist(qtbot, tmp_path, rng):
    """Item 7: opened by the OS user (a supervisor while no users exist), the dialog went on adding
    users and changing roles as that OS user after the first user was defined."""
    bank_ = _store_with_account(tmp_path, rng, users=False)
    window = _window(qtbot, bank_, "root")
    users = window.users_dialog()
    users.name.setText("alice")
    users.role.setCurrentText("supervisor")
    users.password.setText("alice-pw")
    users.add_user()
    assert "alice added as supervisor" in users.message.text()
    users.name.setText("mallory")
    users.role.setCurrentText("supervisor")
    users.password.setText("m-pw")
    users.add_user()
    assert "root is not a user of this store" in users.message.text() and "sign in" in users.message.text()
    users.table.selectRow(0)
    users.change_role()
    assert "root is not a user of this store" in users.message.text()
    assert [u["name"] for u in Store(bank_["store"]).users.listing()] == ["alice"]
    users.close()
    # the window itself now needs a sign-in too, and the signed-in supervisor can go on
    assert window.users_dialog() is None and "must sign in" in window.message.text()
    _sign_in(window, "alice", "alice-pw")
    users = window.users_dialog()
    users.name.setText("bob")
    users.role.setCurrentText("supervisor")
    users.password.setText("bob-pw")
    users.add_user()
    assert "bob added as supervisor" in users.message.text()


def test_a_clerks_whole_flow_by_keyboard_alone(qtbot, tmp_path, rng, monkeypatch):
    """Item 11 and the keyboard-only acceptance: find the account (Ctrl+F, type, Enter), open the file
    (Ctrl+O), verify (F5), read the verdict, Tab out of the distances, escalate with a comment (Alt+E,
    type, Enter), reject (Alt+R), and overrule with a reason and a confirmation (Alt+A)."""
    from PySide6.QtWidgets import QApplication, QFileDialog

    bank_ = _store_with_account(tmp_path, rng, users=False)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bank_["questioned"]), ""))
    window = _active(qtbot, _window(qtbot, bank_, "teller"))
    panel = window.result_panel

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.account_panel.search
    qtbot.keyClicks(window.account_panel.search, "NL-1")
    qtbot.keyClick(window.account_panel.search, Qt.Key.Key_Return)
    assert window.account is not None and window.account.number == "NL-1"
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert window.questioned_name == bank_["questioned"].name

    def verify_by_f5():
        window.last_verification = None
        qtbot.keyClick(window, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: window.last_verification is not None and not window.busy(), timeout=20000)
        assert panel.badge.text() == "FORGED"
        return window.last_verification.verification_id

    first = verify_by_f5()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not panel.table  # Tab is not trapped in the distances

    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier)  # a mnemonic clicks after 100 ms
    qtbot.waitUntil(lambda: "Enter to escalate" in panel.comment.placeholderText(), timeout=3000)
    assert QApplication.focusWidget() is panel.comment
    qtbot.keyClicks(panel.comment, "please compare with the card")
    qtbot.keyClick(panel.comment, Qt.Key.Key_Return)
    assert _decisions(bank_["store"], first) == [("escalate", "teller", "please compare with the card")]

    second = verify_by_f5()
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: _decisions(bank_["store"], second) == [("reject", "teller", "")], timeout=3000)

    third = verify_by_f5()
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "Why accept a FORGED verdict" in panel.comment.placeholderText(), timeout=3000)
    assert QApplication.focusWidget() is panel.comment and _decisions(bank_["store"], third) == []
    qtbot.keyClicks(panel.comment, "customer showed a passport")
    qtbot.keyClick(panel.comment, Qt.Key.Key_Return)
    box = window.override_box
    qtbot.waitUntil(lambda: QApplication.activeWindow() is box, timeout=5000)
    qtbot.keyClick(box, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: _decisions(bank_["store"], third) == [("accept", "teller", "customer showed a passport")],
                    timeout=3000)
    save_screenshot(window, "counter-keyboard-overrule-recorded")


def test_a_stranger_is_not_said_to_match_and_a_pending_specimen_names_its_signatory(qtbot, bank):
    """Item 9: a stranger's FORGED signature read "matched to G. Jansen's specimens"; a pending
    enrolment read "for signatory 1"."""
    import numpy as np

    from sigverify.gui.result_panel import ResultPanel
    from sigverify.store.mandates import MandateStore
    from sigverify.verification.decision import Decision

    panel = ResultPanel()
    qtbot.addWidget(panel)
    canvas = np.full((128, 256), 255, np.uint8)

    class Ref:
        id, filename = 1, "a.png"

    for verdict, expected in (("forged", "compared with G. Jansen's specimens (the closest)"),
                              ("genuine", "matched to G. Jansen's specimens")):
        panel.show_result(Decision((1.3,), 1.3, 0.1, verdict, 1.16, 0.5), [Ref()], {1: canvas}, canvas,
                          signatory="G. Jansen")
        assert expected in panel.score.text()
        assert ("matched to" in panel.score.text()) == (verdict == "genuine")

    store = Store(bank["store"])
    mandates = MandateStore(store)
    smit = next(s for s in mandates.signatories("JOINT-7") if s.name == "Smit")
    image = cv2.imencode(".png", SyntheticWriter(401).genuine(np.random.default_rng(3)))[1].tobytes()
    from sigverify.store.mandates import enrolment_payload

    mandates.request(Actor("alice", "supervisor"), "enroll", "JOINT-7",
                     enrolment_payload(smit.id, "new.png", (0, 0, 10, 10), np.ones(64, np.float32), ""), image)
    assert f"for signatory Smit (#{smit.id})" in mandates.pending()[-1].describe()


def test_the_audit_view_shows_the_trail_and_says_when_it_was_rewritten(qtbot, tmp_path, rng):
    """Item 8: supervisors had to run 'sigverify audit verify' in a terminal."""
    import sqlite3

    bank_ = _store_with_account(tmp_path, rng, users=True)
    window = _window(qtbot, bank_, "workstation")
    _sign_in(window, "carol", "carol-pw")
    result = _verified(qtbot, window, bank_["questioned"])
    assert window.audit_dialog() is None and "supervisors" in window.message.text()
    window.sign_out()
    _sign_in(window, "alice", "alice-pw")
    view = window.audit_dialog()
    qtbot.waitUntil(lambda: view.report is not None, timeout=20000)
    assert "audit chain intact" in view.status.text()
    actions = [view.table.item(r, 4).text() for r in range(view.table.rowCount())]
    assert actions[0] == "verification" and "user.add" in actions
    view.search.setText("carol")
    view.show_records()
    shown = [(view.table.item(r, 2).text(), view.table.item(r, 5).text()) for r in range(view.table.rowCount())]
    assert shown and all("carol" in who + subject for who, subject in shown) and ("alice", "carol") in shown
    exported = view.export(str(tmp_path / "audit.csv"))
    assert exported.read_text(encoding="utf-8").startswith("id,at,actor")
    save_screenshot(view, "audit-view")
    view.close()

    with sqlite3.connect(tmp_path / "bank.db") as conn:  # someone who can write the file rewrites a verdict
        conn.execute("UPDATE verifications SET verdict = 'genuine' WHERE id = ?", (result.verification_id,))
    view = window.audit_dialog()
    qtbot.waitUntil(lambda: view.report is not None, timeout=20000)
    assert not view.report.ok and "BROKEN" in view.status.text()
    save_screenshot(view, "audit-view-broken")
    view.close()


def test_first_start_says_what_to_set_up_and_in_which_order(qtbot, tmp_path):
    """Item 10: a first start said only "create the first account"."""
    model = make_tiny_model(tmp_path / "model")
    store = Store(str(tmp_path / "new.db"))
    approve_model(store, model)
    store.close()
    settings = AppSettings(QSettings(str(tmp_path / "first.ini"), QSettings.Format.IniFormat))
    window = MainWindow(model_dir=model, store_location=str(tmp_path / "new.db"), settings=settings, actor="teller")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine is not None and window.guide.isVisible(), timeout=15000)
    text = window.guide.text()
    for words in ("single-user mode", "teller", "Supervisor → Users", "signs in", "second supervisor",
                  "New account", "Enrol references", "Signing rules", "Verify (F5)"):
        assert words in text, words
    save_screenshot(window, "first-start")
    window.create_account("NL-1", "First Customer")
    assert not window.guide.isVisible()


def test_nothing_stale_stays_for_the_next_user_or_the_next_cheque(qtbot, bank):
    """Item 9: a message stayed into the next user's session; the Document tab kept the previous
    cheque's outcome."""
    window = _window(qtbot, bank, "workstation")
    _sign_in(window, "carol", "carol-pw")
    assert window.review_queue() is None and window.message.isVisible()
    window.sign_out()
    assert not window.message.isVisible()
    _sign_in(window, "carol", "carol-pw")
    window.open_account("JOINT-7")
    assert window.load_questioned_file(bank["order"])
    window.verify_document("500")
    qtbot.waitUntil(lambda: getattr(window, "last_document", None) is not None and not window.busy(), timeout=20000)
    assert "Document" in window.document_panel.outcome.text()
    # item 8: History lists the document at once, with its file
    rows = [[window.history.item(r, c).text() for c in range(6)] for r in range(window.history.rowCount())]
    assert rows and rows[0][0].startswith("doc ") and rows[0][3] == "order.png" and "500.00" in rows[0][4]
    assert window.load_questioned_file(bank["order"])
    assert "No document verified yet" in window.document_panel.outcome.text()
    assert window.document_panel.signatures.rowCount() == 0


def test_a_specimen_unlike_the_others_is_enrolled_with_a_reason_not_left_at_a_dead_end(qtbot, tmp_path, rng):
    """Item 2: genuine specimens refused as "unlike the account's other specimens", no way forward."""
    import json

    bank_ = _store_with_account(tmp_path, rng, users=False)  # a model that finds every new specimen unlike
    extra = tmp_path / "extra.png"
    cv2.imwrite(str(extra), SyntheticWriter(77).genuine(rng))
    window = _window(qtbot, bank_, "teller")
    window.open_account("NL-1")
    window.enrol_files([extra])
    qtbot.waitUntil(lambda: getattr(window, "unlike_dialog", None) is not None, timeout=20000)
    dialog = window.unlike_dialog
    assert "unlike account NL-1" in dialog.labelText() and "reason" in dialog.labelText()
    save_screenshot(dialog, "enrol-unlike-specimen-reason")
    dialog.setTextValue("signed in front of me; the customer's signature has changed")
    dialog.accept()
    qtbot.waitUntil(lambda: "4 reference(s)" in window.account_panel.title.text() and not window.busy(), timeout=20000)
    records = [r for r in Store(bank_["store"]).recent_audit(5) if r["action"] == "reference.enroll"]
    assert json.loads(records[0]["details"])["enrolled_although_unlike"].startswith("signed in front of me")


def test_enrol_references_with_users_defined_requests_them_and_says_where_they_wait(qtbot, tmp_path, rng):
    """Item 1: "Enrol references…" took five files, then said four-eyes needs a request, not where."""
    from sigverify.store.mandates import MandateStore

    bank_ = _store_with_account(tmp_path, rng, users=True)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"more{i}.png")
        cv2.imwrite(str(paths[-1]), SyntheticWriter(77).genuine(rng))
    window = _window(qtbot, bank_, "workstation")
    _sign_in(window, "alice", "alice-pw")
    window.open_account("NL-1")
    window.enrol_files(paths, unlike_reason="new card signed at the branch")  # the tiny model finds them unlike
    qtbot.waitUntil(lambda: not window.busy() and "requested" in window.statusBar().currentMessage(), timeout=20000)
    assert "Signing rules" in window.statusBar().currentMessage()
    pending = [c for c in MandateStore(Store(bank_["store"])).pending() if c.kind == "enroll"]
    assert len(pending) == 3 and all("A. Customer" in c.describe() for c in pending)
    editor = window.rule_editor()
    assert editor.pending.count() == 3
    save_screenshot(editor, "enrol-several-specimens-requested")
    editor.close()
