"""Sign-in, document verification with an amount, the supervisors' review queue, the rule editor.

Every action goes through the store layer, which enforces the roles; the dialogs only show
what it says (a clerk pressing a supervisor's button gets the store's refusal in the window).
"""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from sigverify.errors import SigVerifyError, StoreError
from sigverify.gui.pictures import to_pixmap
from sigverify.imaging.decode import load_image, read_image_file
from sigverify.imaging.page import crop
from sigverify.store.escalations import escalations_of
from sigverify.store.store_changes import STORE_KINDS
from sigverify.store.mandates import mandates_of


class SignInDialog(QDialog):
    def __init__(self, parent, store) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in")
        self.store, self.actor = store, None
        self.name, self.password = QLineEdit(), QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b71c1c")
        form = QFormLayout(self)
        form.addRow("User", self.name)
        form.addRow("Password", self.password)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_sign_in)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def try_sign_in(self) -> None:
        try:
            self.actor = self.store.users.sign_in(self.name.text().strip(), self.password.text())
        except SigVerifyError as exc:
            self.error.setText(str(exc))
            self.password.clear()
            return
        self.accept()


class ReviewQueueDialog(QDialog):
    """Documents not decided automatically and single verifications a clerk escalated: side-by-side
    view, OK / NOK with a comment, or (documents) aside."""

    def __init__(self, parent, store, actor) -> None:
        super().__init__(parent)
        self.setWindowTitle("Review queue")
        self.resize(1100, 650)
        self.store, self.mandates, self.actor = store, mandates_of(store), actor
        self.escalations = escalations_of(store)
        self.list = QListWidget()
        self.list.setToolTip("Documents and escalated verifications waiting for a supervisor; 'aside' ones at the end")
        self.page = QLabel()
        self.page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.page.setMinimumSize(520, 260)
        self.pairs = QTableWidget(0, 4)
        self.pairs.setTabKeyNavigation(False)  # Tab moves on, not from cell to cell
        self.pairs.setHorizontalHeaderLabels(["Signature", "Closest signatory", "Specimen", "Verdict"])
        self.pairs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.explanation = QLabel("")
        self.explanation.setWordWrap(True)
        self.comment = QLineEdit(placeholderText="Comment (required for NOK)")
        self.ok_button, self.nok_button, self.aside_button = QPushButton("OK"), QPushButton("NOK"), \
            QPushButton("Put aside")
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b71c1c")
        buttons = QHBoxLayout()
        self.ok_button.setToolTip("OK: the signatures are the signatories' own — the document is accepted "
                                  "(a verification: the clerk's escalation is accepted)")
        self.nok_button.setToolTip("NOK: not the signatories' signatures — the document is refused (a comment "
                                   "says why)")
        self.aside_button.setToolTip("Put aside: keep it in the queue for later (e.g. after calling the customer)")
        for button, decision in ((self.ok_button, "OK"), (self.nok_button, "NOK"), (self.aside_button, "aside")):
            button.clicked.connect(lambda _=False, d=decision: self.decide(d))
            buttons.addWidget(button)
        right = QVBoxLayout()
        right.addWidget(self.page, 2)
        right.addWidget(self.pairs, 2)
        right.addWidget(self.explanation)
        right.addWidget(self.comment)
        right.addLayout(buttons)
        right.addWidget(self.message)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(right, 3)
        self.list.currentItemChanged.connect(lambda item, _old: self.show_item(item))
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for escalated in self.escalations.pending():
            item = QListWidgetItem(f"Verification #{escalated['id']} {escalated['account']} — escalated by "
                                   f"{escalated['escalated_by']}")
            item.setData(Qt.ItemDataRole.UserRole, ("verification", escalated["id"], escalated))
            self.list.addItem(item)
        for doc in self.mandates.queue():
            item = QListWidgetItem(f"Document #{doc['id']} {doc['account']} {doc['amount']:,.2f}"
                                   + ("  (aside)" if doc["status"] == "aside" else ""))
            item.setData(Qt.ItemDataRole.UserRole, ("document", doc["id"], doc))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:  # nothing left: no stale details of the item just decided
            self.page.clear()
            self.pairs.setRowCount(0)
            self.explanation.setText("Nothing is waiting for a supervisor.")

    def show_item(self, item) -> None:
        if item is None:
            return
        kind, item_id, summary = item.data(Qt.ItemDataRole.UserRole)
        self.aside_button.setEnabled(kind == "document")
        if kind == "verification":
            self.show_verification(summary)
        else:
            self.show_document(item_id)

    def show_verification(self, escalated: dict) -> None:
        """The questioned signature beside the account's specimens, with the clerk's reason."""
        image = load_image(self.escalations.image(escalated["id"])).pixels
        self.page.setPixmap(to_pixmap(image, 520, 260))
        self.explanation.setText(
            f"{escalated['account']} ({escalated['holder_name']}): automatic verdict {escalated['verdict']}, "
            f"distance {escalated['distance']:.3f} against the threshold {escalated['threshold']:.3f}. "
            f"Escalated by {escalated['escalated_by']}: {escalated['comment']}")
        references = self.store.references(escalated["account"])
        self.pairs.setRowCount(len(references))
        for row, reference in enumerate(references):
            specimen = load_image(self.store.reference_image(reference.id)).pixels
            self.pairs.setItem(row, 1, QTableWidgetItem(f"specimen #{reference.id} ({reference.filename})"))
            self.pairs.setCellWidget(row, 2, self._picture(specimen))
        self.pairs.resizeRowsToContents()

    def show_document(self, document_id: int) -> None:
        doc = self.mandates.document(document_id)
        image = load_image(bytes(doc["image"])).pixels
        self.page.setPixmap(to_pixmap(image, 520, 260))
        self.explanation.setText(f"Automatic result: {doc['outcome']} — {doc['explanation']}")
        self.pairs.setRowCount(len(doc["signatures"]))
        for row, sig in enumerate(doc["signatures"]):
            box = tuple(int(v) for v in sig["box"].split(","))
            self.pairs.setCellWidget(row, 0, self._picture(crop(image, box)))
            name, ref = self.mandates.signatory_specimen(sig["signatory_id"])
            self.pairs.setItem(row, 1, QTableWidgetItem(f"{name} (distance {sig['distance']:.3f})"))
            if ref is not None:
                specimen = load_image(self.store.reference_image(ref)).pixels
                self.pairs.setCellWidget(row, 2, self._picture(specimen))
            self.pairs.setItem(row, 3, QTableWidgetItem(sig["verdict"]))
        for column, width in ((0, 230), (1, 210), (2, 230), (3, 90)):
            self.pairs.setColumnWidth(column, width)
        self.pairs.resizeRowsToContents()

    @staticmethod
    def _picture(image: np.ndarray) -> QLabel:
        label = QLabel()
        label.setPixmap(to_pixmap(image, 220, 90))
        return label

    def decide(self, decision: str) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        kind, item_id, _summary = item.data(Qt.ItemDataRole.UserRole)
        try:
            if kind == "verification":
                if decision == "aside":
                    raise StoreError("an escalated verification is accepted or rejected, not put aside")
                self.escalations.decide(self.actor, item_id, {"OK": "accept", "NOK": "reject"}[decision],
                                        self.comment.text())
            else:
                self.mandates.review(self.actor, item_id, decision, self.comment.text())
        except SigVerifyError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("")
        self.comment.clear()
        self.refresh()


class RuleEditorDialog(QDialog):
    """An account's signatories and signing rule; changes are requested here and approved by a second
    supervisor in the pending list below."""

    def __init__(self, parent, store, actor, number: str, engine=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Signing rules — {number}")
        self.resize(820, 700)
        self.store, self.mandates, self.actor, self.number = store, mandates_of(store), actor, number
        self.engine = engine
        self.signatories = QTableWidget(0, 4)
        self.signatories.setTabKeyNavigation(False)  # Tab moves on, not from cell to cell
        self.signatories.setHorizontalHeaderLabels(["Signatory", "Panel", "Approval limit", "Specimen"])
        self.signatories.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.new_name, self.new_panel = QLineEdit(placeholderText="New signatory's name"), QLineEdit()
        self.new_panel.setPlaceholderText("Panel")
        self.new_panel.setMaximumWidth(70)
        self.new_limit = QDoubleSpinBox(decimals=2, maximum=1e12, specialValueText="no limit")
        self.new_limit.setToolTip("Approval limit (0 = no limit)")
        add_signatory = QPushButton("Request signatory")
        add_signatory.clicked.connect(self.request_signatory)
        specimen = self.specimen_button = QPushButton("Request specimen for selected…")
        specimen.setToolTip("Enrol a specimen signature for the selected signatory (needs a second supervisor)")
        specimen.clicked.connect(lambda: self.request_specimen())  # clicked(bool) must not arrive as the paths
        people_row = QHBoxLayout()
        for widget in (self.new_name, self.new_panel, self.new_limit, add_signatory, specimen):
            people_row.addWidget(widget)
        self.current = QLabel("")
        self.bands = QTableWidget(0, 3)
        self.bands.setHorizontalHeaderLabels(["Up to amount (empty = above)", "Signatures", "Panels (e.g. A:1,B:1)"])
        self.bands.setToolTip("One row per amount band, in increasing order; the last row has no upper amount")
        for table in (self.signatories, self.bands):
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        add_band, remove_band = QPushButton("Add band"), QPushButton("Remove band")
        add_band.clicked.connect(lambda: self._add_band("", 1, ""))
        remove_band.clicked.connect(lambda: self.bands.removeRow(self.bands.rowCount() - 1))
        self.request_button = QPushButton("Request this rule")
        self.request_button.setToolTip("A second supervisor must approve it before it applies")
        self.request_button.clicked.connect(self.request_rule)
        self.pending = QListWidget()
        self.pending.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # approve several at once
        self.pending.setIconSize(QSize(180, 80))  # a specimen's image, seen before it is approved
        self.approve_button, self.reject_button = QPushButton("Approve selected"), QPushButton("Reject selected")
        self.approve_button.clicked.connect(lambda: self._decide(True))
        self.reject_button.clicked.connect(lambda: self._decide(False))
        self.message = QLabel("")
        self.message.setWordWrap(True)
        band_buttons = QHBoxLayout()
        for b in (add_band, remove_band, self.request_button):
            band_buttons.addWidget(b)
        pending_buttons = QHBoxLayout()
        pending_buttons.addWidget(self.approve_button)
        pending_buttons.addWidget(self.reject_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Signatories"))
        layout.addWidget(self.signatories, 1)
        layout.addLayout(people_row)
        layout.addWidget(self.current)
        layout.addWidget(self.bands, 1)
        layout.addLayout(band_buttons)
        layout.addWidget(QLabel("Changes waiting for a second supervisor"))
        layout.addWidget(self.pending, 1)
        layout.addLayout(pending_buttons)
        layout.addWidget(self.message)
        self.refresh()

    def _add_band(self, up_to, count, panels) -> None:
        row = self.bands.rowCount()
        self.bands.insertRow(row)
        for col, value in enumerate((up_to, count, panels)):
            self.bands.setItem(row, col, QTableWidgetItem(str(value)))

    def refresh(self, keep_bands: bool = False) -> None:
        """Signatories, rule and pending changes as stored; ``keep_bands``: the table keeps what the
        supervisor typed (a requested rule waiting for approval must not snap back to the old one)."""
        people = self.mandates.signatories(self.number)
        self.signatories.setRowCount(len(people))
        for row, s in enumerate(people):
            for col, value in enumerate((s.name, s.panel or "-", "none" if s.approval_limit is None
                                         else f"{s.approval_limit:,.2f}", "valid" if s.has_valid_specimen
                                         else "NONE VALID")):
                self.signatories.setItem(row, col, QTableWidgetItem(value))
        mandate = self.mandates.mandate(self.number)
        self.current.setText(f"Current rule: {mandate.describe()}")
        if not keep_bands:
            self.bands.setRowCount(0)
            for band in mandate.to_dict()["bands"]:
                panels = ",".join(f"{p}:{n}" for p, n in band["panels"].items())
                self._add_band("" if band["up_to"] is None else f"{band['up_to']:g}", band["count"], panels)
        self.pending.clear()
        for change in self.mandates.pending():
            if change.account_number == self.number or change.kind in STORE_KINDS:  # store-wide ones too
                item = QListWidgetItem(f"#{change.id} {change.describe()} — asked by {change.requested_by}")
                item.setData(Qt.ItemDataRole.UserRole, change.id)
                if change.kind == "enroll":
                    image = self.mandates.change_attachment(change.id)
                    if image:
                        item.setIcon(QIcon(to_pixmap(load_image(image).pixels, 180, 80)))
                self.pending.addItem(item)

    def rule_from_table(self) -> dict:
        bands = []
        for row in range(self.bands.rowCount()):
            up_to = self.bands.item(row, 0).text().strip()
            panels = {}
            for part in filter(None, (p.strip() for p in self.bands.item(row, 2).text().split(","))):
                name, _, count = part.partition(":")
                panels[name.strip()] = int(count or 1)
            bands.append({"up_to": up_to.replace(",", "") or None, "count": int(self.bands.item(row, 1).text()),
                          "panels": panels})
        return {"bands": bands}

    def request_rule(self) -> None:
        try:
            change = self.mandates.request(self.actor, "rule", self.number, {"rule": self.rule_from_table()})
        except (SigVerifyError, ValueError) as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(self._outcome(change))
        self.refresh(keep_bands=not self.mandates.applied(change))
        if self.mandates.applied(change):
            self._account_changed()

    def _outcome(self, change: int) -> str:
        if self.mandates.applied(change):
            return f"Change #{change} applied (single-user mode: no second supervisor to ask)."
        return f"Change #{change} requested; a second supervisor must approve it (listed below until then)."

    def _account_changed(self) -> None:
        """The window behind shows this account: its specimens and counts follow what was applied."""
        window = self.parent()
        account = getattr(window, "account", None)
        if account is not None and account.number == self.number and hasattr(window, "open_account"):
            window.open_account(self.number)

    def request_signatory(self) -> None:
        limit = self.new_limit.value() or None
        try:
            change = self.mandates.request(self.actor, "signatory", self.number, {
                "name": self.new_name.text().strip(), "panel": self.new_panel.text().strip(), "approval_limit": limit})
        except SigVerifyError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(self._outcome(change))
        self.new_name.clear()
        self.refresh()

    def request_specimen(self, paths: list[str] | None = None) -> None:
        """Read the files, find the ink, embed them, and request their enrolment for the selected
        signatory (one change each, so the second supervisor sees and approves every image)."""
        from pathlib import Path

        from sigverify.services import request_specimens

        row = self.signatories.currentRow()
        people = self.mandates.signatories(self.number)
        if row < 0 or row >= len(people) or self.engine is None:
            self.message.setText("Select a signatory (and wait for the model to load) first")
            return
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Specimen signatures", "",
                                                    "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff)")
            if not paths:
                return
        changes = []
        try:
            files = [(read_image_file(Path(path))[0], Path(path).name) for path in paths]
            changes = request_specimens(self.store, self.engine, self.number, people[row].id, files, self.actor)
        except (SigVerifyError, OSError) as exc:
            self.message.setText(str(exc) + (f" ({len(changes)} requested before it)" if changes else ""))
            self.refresh()
            return
        applied = all(self.mandates.applied(c) for c in changes)
        self.message.setText(f"{len(changes)} specimen(s) {'enrolled' if applied else 'requested'} for "
                             f"{people[row].name} (changes {', '.join(f'#{c}' for c in changes)})" +
                             ("." if applied else "; a second supervisor must approve them."))
        if applied and self.engine is not None:
            self._embed_approved([])
            self._account_changed()
        self.refresh()

    def _decide(self, approve: bool) -> None:
        """Approve or reject every selected change; one refused change does not stop the others."""
        chosen = [item.data(Qt.ItemDataRole.UserRole) for item in self.pending.selectedItems()]
        if not chosen and self.pending.currentItem() is not None:
            chosen = [self.pending.currentItem().data(Qt.ItemDataRole.UserRole)]
        done, refused = [], []
        for change in chosen:
            try:
                (self.mandates.approve if approve else self.mandates.reject)(self.actor, change)
                done.append(change)
            except SigVerifyError as exc:
                refused.append(f"#{change}: {exc}")
        if approve and done and self.engine is not None:
            self._embed_approved(refused)
        verb = "approved and applied" if approve else "rejected"
        self.message.setText("; ".join(([f"{len(done)} change(s) {verb}"] if done else []) + refused))
        self.refresh()
        if approve and done:
            self._account_changed()  # the gallery and its count, not "0 reference(s)" until clicked again

    def _embed_approved(self, refused: list[str]) -> None:
        """Approved specimens are embedded from their images here and now (a few images): what the
        approver saw decides, never the vector the request carried (issue 30, item 7)."""
        from sigverify.services import refresh_embeddings

        try:
            _, _, missing = self.store.reference_embeddings(self.number, self.engine.manifest.sha256)
            if missing:
                refresh_embeddings(self.store, self.engine, reference_ids=missing)
        except SigVerifyError as exc:
            refused.append(f"specimen embeddings: {exc} (computed at the next verification)")
