"""The clerk's side of the main window that records and enrols: decisions (an overrule needs a
reason, a confirmation and, for a clerk with users defined, the review queue), enrolment (requests
where users are defined; a specimen unlike the others with a reason), History, and the first-start
guide. Mixed into the main window."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QTableWidgetItem

from sigverify import services
from sigverify.errors import SigVerifyError
from sigverify.gui.questioned_input import IMAGE_FILTER
from sigverify.gui.workers import Failure, Worker
from sigverify.store.mandates import mandates_of


def request_specimens(store, engine, number: str, paths: list[Path], actor, unlike_reason: str = "") -> list[int]:
    """Enrol references… where users are defined: every file checked, then one enrolment request
    each for the account's signatory (a second supervisor approves them with the images)."""
    from sigverify.imaging.decode import read_image_file

    people = mandates_of(store).signatories(number)
    if len(people) != 1:
        raise SigVerifyError(
            f"account {number} has {len(people) or 'no'} signator{'y' if len(people) == 1 else 'ies'}: use Supervisor → "
            "Signing rules… to add one or to choose whose specimens these are (Request specimen for selected…)")
    files = [(read_image_file(Path(p))[0], Path(p).name) for p in paths]
    return services.request_specimens(store, engine, number, people[0].id, files, store.actor(actor), unlike_reason)


def account_history(store, number: str) -> list[dict]:
    """The account's verifications and verified documents together, newest first."""
    rows = [dict(r, kind="verification") for r in store.history(number)]
    rows += [dict(d, kind="document") for d in mandates_of(store).account_documents(number)]
    return sorted(rows, key=lambda r: r["created_at"], reverse=True)


def rule_beyond_one_signature(store, number: str) -> str:
    """Why one verified signature cannot clear this account's cheque (its rule needs more
    signatures at some amount, or a signatory has an approval limit), or '' when it can."""
    mandates = mandates_of(store)
    mandate = mandates.mandate(number)
    limited = [s.name for s in mandates.signatories(number) if s.approval_limit is not None]
    if mandate.one_signature_suffices() and not limited:
        return ""
    why = f"the signing rule ({mandate.describe()})" if not mandate.one_signature_suffices() else \
        f"approval limits ({', '.join(limited)})"
    return (f"One signature verified. This account's cheques depend on {why}: verify the whole document with its "
            "amount (Verify document, Ctrl+D) to accept it")


def first_start_text(users: int, os_user: str) -> str:
    """What a new store needs, in the order a supervisor sets it up: single-user mode or users,
    then accounts and specimens, then the clerks' work."""
    if users:
        who = ("Users are defined: everyone signs in (User → Sign in…, Ctrl+L); specimens, signing rules, "
               "models and thresholds change only when a second supervisor approves.")
    else:
        who = (f"No users are defined yet, so this is <b>single-user mode</b>: you ({os_user}) act as a supervisor "
               "and changes apply at once. For a branch, add two supervisors first (Supervisor → Users…), then the "
               "clerks: from then on everyone signs in (Ctrl+L) and every change to specimens, rules, models and "
               "thresholds needs a second supervisor.")
    return ("<b>Welcome to SigVerify — this store is new.</b> " + who + "<br>Then: 1. Account → New account… "
            "(Ctrl+N); 2. Account → Enrol references… (Ctrl+E): three to five specimens from the signature card; "
            "3. Supervisor → Signing rules… for joint accounts and amount bands. A clerk then opens the account, "
            "the cheque (Ctrl+O) and presses Verify (F5).")


class CounterActions:
    """Mixed into MainWindow: uses its store, engine, account, result panel, history and workers."""

    def refresh_history(self) -> None:
        if self.account is None or self.store is None:
            return
        self.show_history(account_history(self.store, self.account.number))

    def show_history(self, rows: list[dict]) -> None:
        """Verifications and documents, newest first, each with its file and what was decided."""
        self.tabs.setTabText(self.tabs.indexOf(self.history_tab), f"History ({len(rows)})" if rows else "History (none yet)")
        self.history_rows = rows
        self.history.setRowCount(len(rows))
        for i, row in enumerate(rows):
            if row.get("kind") == "document":
                decided = (f"{row['review_decision']} by {row['reviewed_by']}" +
                           (f" ({row['review_comment']})" if row["review_comment"] else "")
                           if row["review_decision"] else
                           "— waiting in the review queue" if row["status"] in ("open", "aside") else "—")
                label, verdict = f"doc {row['id']}", f"document {row['outcome']} ({row['amount']:,.2f})"
            else:
                decided = "; ".join(f"{d['decision']} by {d['by']}" + (f" ({d['comment']})" if d["comment"] else "")
                                    for d in row["decisions"]) or "— no decision yet"
                label, verdict = row["id"], row["verdict"]
            for col, value in enumerate([label, row["created_at"][:19].replace("T", " "), row["created_by"],
                                         row.get("filename") or "", verdict, decided]):
                cell = QTableWidgetItem(str(value))
                cell.setToolTip(str(value))  # a long decision comment reads in full
                self.history.setItem(i, col, cell)
        self.history.resizeColumnsToContents()  # the decision column (stretched) takes the rest, wrapped
        self.history.resizeRowsToContents()
        self.history_selection_changed()

    # ------------------------------------------------------------------ growing the specimens (issue 32)
    def specimen_note(self, owners: dict[int, str]) -> str:
        """What the account's specimens (its weakest signatory's, where it has several) mean for the errors."""
        if self.engine is None:
            return ""
        from sigverify.verification.specimen_count import specimen_count_note

        counts = Counter(owners.values())
        count = min(counts.values()) if counts else len(self.references)
        return specimen_count_note(count, self.engine.manifest.metrics)

    def selected_history_row(self) -> dict | None:
        rows = {index.row() for index in self.history.selectedIndexes()}
        return self.history_rows[rows.pop()] if len(rows) == 1 and max(rows) < len(self.history_rows) else None

    def history_selection_changed(self) -> None:
        """Propose as specimen: a verification a person accepted, for a supervisor (or alone at the desk)."""
        row = self.selected_history_row()
        accepted = (row is not None and row.get("kind") == "verification"
                    and any(d["decision"] == "accept" for d in row["decisions"]))
        who = self.identity
        allowed = self.store is not None and (not self.store.four_eyes() or (who is not None and who.is_supervisor))
        self.propose_button.setEnabled(bool(accepted and allowed and self.engine is not None))

    def propose_clicked(self) -> None:
        self.propose_selected_specimen()

    def propose_selected_specimen(self, unlike_reason: str = "") -> Worker | None:
        row = self.selected_history_row()
        if row is None or self.engine is None or self.store is None or self.account is None:
            return None
        verification_id, number = row["id"], self.account.number
        worker = Worker(services.propose_specimen, self.store, self.engine, verification_id, self.acting,
                        unlike_reason)

        def done(change):
            self.clear_error()
            if mandates_of(self.store).applied(change):
                self.statusBar().showMessage(f"Verification {verification_id} is a specimen now (change #{change})", 8000)
                self.open_account(number)
            else:
                self.statusBar().showMessage(
                    f"Verification {verification_id} proposed as a specimen (change #{change}): a second supervisor "
                    "approves it in Supervisor → Signing rules…, pending changes", 12000)

        def failed(failure: Failure):
            self.show_failure(failure)
            if isinstance(failure.exception, services.UnlikeSpecimen) and not unlike_reason:
                self.ask_unlike_reason([Path(f"verification-{verification_id}.png")], failure.message,
                                       retry=self._propose_with_reason)

        return self.run_worker(worker, done, f"Proposing verification {verification_id} as a specimen…",
                               on_failure=failed)

    def enrol_dialog(self) -> None:
        if self.account is None:
            self.show_error("Open an account first")
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Reference signatures", "", IMAGE_FILTER)
        if paths:
            self.enrol_files([Path(p) for p in paths])

    def enrol_files(self, paths: list[Path], unlike_reason: str = "") -> Worker | None:
        if self.account is None or self.engine is None or self.store is None:
            self.show_error("Open an account (and wait for the model) before enrolling")
            return None
        number = self.account.number
        if self.store.four_eyes():  # with users defined, specimens are requested for a second supervisor
            worker = Worker(request_specimens, self.store, self.engine, number, paths, self.acting, unlike_reason)
        else:
            worker = Worker(services.enroll_files, self.store, self.engine, number, paths, self.acting, unlike_reason)

        def done(ids):
            self.clear_error()
            if self.store.four_eyes():
                self.statusBar().showMessage(
                    f"{len(ids)} specimen(s) requested (changes {', '.join(f'#{c}' for c in ids)}): a second "
                    "supervisor approves them in Supervisor → Signing rules…, pending changes", 12000)
                return
            self.statusBar().showMessage(f"Enrolled {len(ids)} reference(s)", 5000)
            self.open_account(number)

        def failed(failure: Failure):
            self.show_failure(failure)
            if isinstance(failure.exception, services.UnlikeSpecimen) and not unlike_reason:
                self.ask_unlike_reason(paths, failure.message)

        return self.run_worker(worker, done, f"Enrolling {len(paths)} reference(s)…", on_failure=failed)

    def _enrol_with_reason(self, paths: list[Path], text: str) -> None:
        if text.strip():
            self.enrol_files(paths, text.strip())

    def _propose_with_reason(self, text: str) -> None:
        if text.strip():
            self.propose_selected_specimen(text.strip())

    def ask_unlike_reason(self, paths: list[Path], why: str, retry=None):
        """A genuine specimen the model finds unlike the others is not a dead end: the supervisor
        who checked it enrols it with the reason, which the audit trail keeps."""
        from PySide6.QtWidgets import QInputDialog

        dialog = QInputDialog(self)
        dialog.setWindowTitle("Specimen unlike the others")
        import textwrap

        dialog.setLabelText(textwrap.fill(why, 90) + f"\n\nEnrol {'it' if len(paths) == 1 else f'all {len(paths)}'} "
                            "anyway? Give the reason (recorded in the audit trail):")
        dialog.setOkButtonText("Enrol with this reason")
        dialog.textValueSelected.connect(retry or (lambda text: self._enrol_with_reason(paths, text)))
        self.unlike_dialog = dialog
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ verification
    def record_decision(self, decision: str, comment: str) -> None:
        """The clerk's decision; accepting what the verifier called FORGED or REFER goes through
        request_override (a reason, a confirmation, and for a clerk the review queue)."""
        if self.last_verification is None or self.store is None:
            return
        verdict = self.last_verification.decision.verdict
        if decision == "accept" and verdict in ("forged", "refer"):
            self.request_override(verdict, comment)
            return
        self._record(decision, comment)

    def request_override(self, verdict: str, comment: str) -> QMessageBox | None:
        """Accepting a FORGED or REFER verdict overrules the verifier: never on one key press. The
        reason comes first; then the clerk confirms. Where a clerk may not accept it alone (users
        defined), it goes to the supervisors' review queue with the reason instead."""
        shown = "REFER" if verdict == "refer" else "FORGED"
        if not comment.strip():
            self.show_error(f"Accepting a {shown} verdict overrules the verifier: write the reason in the comment "
                            "box (what you compared, whom you asked), then Accept again")
            self.result_panel.ask_comment("accept", f"Why accept a {shown} verdict? Type the reason, then Enter")
            return None
        try:
            who = self.current_actor()
            alone = not self.store.four_eyes() or (who.is_supervisor and
                                                   who.name != getattr(self, "verified_by", ""))
        except SigVerifyError as exc:
            self.show_error(f"{exc}. Sign in (Ctrl+L) to decide.")
            return None
        if alone:
            question = (f"The verifier called this signature {shown}. Accept it anyway?\n\n"
                        f"Your reason is recorded in the audit trail: \u201c{comment}\u201d")
            decision, note = "accept", comment
        else:
            question = (f"The verifier called this signature {shown}; accepting it needs a supervisor. Send it to "
                        f"the review queue with your reason?\n\n\u201c{comment}\u201d")
            decision, note = "escalate", f"would accept: {comment}"
        box = QMessageBox(QMessageBox.Icon.Warning, f"Overrule a {shown} verdict", question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)  # Enter alone does not overrule
        box.button(QMessageBox.StandardButton.Yes).setText("&Accept" if decision == "accept" else "&Send to review queue")
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(lambda: self._record(decision, note))
        self.override_box = box
        box.open()
        return box

    def _record(self, decision: str, comment: str) -> None:
        if self.last_verification is None or self.store is None:
            return
        try:
            self.store.record_decision(self.last_verification.verification_id, decision, comment, self.acting)
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return
        self.clear_error()
        sent = " — in the supervisors' review queue" if decision == "escalate" else ""
        note = f"Recorded: {decision}" + (f" — {comment}" if comment else "") + sent
        self.result_panel.decision_note.setText(note)
        self.statusBar().showMessage(note, 8000)  # not the message that asked for the reason
        self.result_panel.set_decision_enabled(False)
        self.refresh_history()
