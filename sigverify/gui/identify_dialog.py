"""Who signed this? The questioned signature beside the enrolled people it is closest to, each
with their nearest specimens, or "no match found" (sigverify/identify.py does the work, in a
worker; every identification is recorded in the audit trail)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from sigverify.gui.pictures import to_pixmap
from sigverify.gui.workers import Failure, Worker, launch
from sigverify.imaging.decode import load_image, png_bytes

COLUMNS = ("Account", "Signatory", "Distance", "Score", "")


class IdentifyDialog(QDialog):
    def __init__(self, parent, store, engine, actor, questioned: np.ndarray, name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who signed this?")
        self.store, self.engine, self.actor, self.name = store, engine, actor, name
        self.image = png_bytes(questioned)
        self.result = None
        self.specimens: dict[int, np.ndarray] = {}
        self.worker: Worker | None = None

        picture = QLabel()
        picture.setPixmap(to_pixmap(questioned, 320, 160))
        picture.setAccessibleName("questioned signature")
        self.scope = QLineEdit()
        self.scope.setPlaceholderText("all accounts (or one account number)")
        self.scope.setToolTip("Leave empty to search every enrolled person; an account number searches its signatories")
        self.search_button = QPushButton("&Search")
        self.search_button.clicked.connect(self.search)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setStyleSheet("font-size: 15px; font-weight: bold")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setTabKeyNavigation(False)  # Tab moves on, not from cell to cell
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._show_specimens)
        self.gallery = QHBoxLayout()
        self.note = QLabel("")
        self.note.setStyleSheet("color: #555")

        top = QHBoxLayout()
        top.addWidget(picture)
        search = QVBoxLayout()
        search.addWidget(QLabel("Search among:"))
        search.addWidget(self.scope)
        search.addWidget(self.search_button)
        search.addStretch(1)
        top.addLayout(search)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.verdict)
        layout.addWidget(self.table)
        layout.addWidget(QLabel("Closest specimens of the selected person:"))
        layout.addLayout(self.gallery)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 620)

    def search(self) -> Worker:
        """Identify off the UI thread; the table fills when the answer comes."""
        from sigverify.identify import identify_signature

        store, engine, actor, image, name = self.store, self.engine, self.actor, self.image, self.name
        scope = self.scope.text().strip()

        def work():
            result = identify_signature(store, engine, image, actor, account=scope, filename=name)
            wanted = [i for c in result.identification.candidates for i in c.reference_ids[:3]]
            return result, {i: load_image(store.reference_image(i)).pixels for i in wanted}

        self.search_button.setEnabled(False)
        self.verdict.setText("Searching…")
        self.worker = launch(Worker(work), returned=self._show, errored=self._failed,
                             finished=lambda: self.search_button.setEnabled(True))
        return self.worker

    def _show(self, outcome) -> None:
        self.result, self.specimens = outcome
        found = self.result.identification
        match = found.match
        if match:
            who = f"account {match.account}" + (f", signatory {match.signatory}" if match.signatory else "")
            self.verdict.setText(f"Closest: {who} (distance {match.distance:.3f}, within the identification "
                                 f"threshold {found.threshold:.3f}). Verify against the account before acting.")
        else:
            self.verdict.setText(f"No match found: nobody enrolled is within the identification threshold "
                                 f"{found.threshold:.3f}. The closest people are listed for an investigator.")
        self.table.setRowCount(len(found.candidates))
        for row, c in enumerate(found.candidates):
            cells = (c.account, c.signatory or "—", f"{c.distance:.3f}", f"{c.score:.2f}",
                     "within threshold" if c.distance <= found.threshold else "")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.note.setText(f"{found.people} people scored ({self.result.searched} search); recorded as "
                          f"identification {self.result.identification_id}.")
        if found.candidates:
            self.table.selectRow(0)

    def _show_specimens(self) -> None:
        while self.gallery.count():
            widget = self.gallery.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        rows = {i.row() for i in self.table.selectedIndexes()}
        if not rows or self.result is None:
            return
        candidate = self.result.identification.candidates[min(rows)]
        for reference_id in candidate.reference_ids[:3]:
            if reference_id in self.specimens:
                label = QLabel()
                label.setPixmap(to_pixmap(self.specimens[reference_id], 220, 110))
                label.setToolTip(f"specimen {reference_id} of {candidate.account}")
                self.gallery.addWidget(label)
        self.gallery.addStretch(1)

    def _failed(self, failure: Failure) -> None:
        self.verdict.setText(failure.message)
