"""Supervisor → Audit trail…: whether the trail is intact (the same check as 'sigverify audit
verify', run off the UI thread) and its newest records, searchable, with a CSV export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout)

from sigverify.errors import SigVerifyError
from sigverify.gui.workers import Failure, Worker, launch

COLUMNS = ("#", "When", "Who", "Role", "What", "Subject", "Details")
SHOWN = 500


class AuditDialog(QDialog):
    def __init__(self, parent, store, actor) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self.resize(980, 560)
        self.store, self.actor = store, actor
        self.status = QLabel("Checking the audit trail…")
        # one line per finding, never wrapped: a wrapped label's height lags its text and clips it
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.search = QLineEdit(placeholderText="Show only records whose person, action or subject contains…")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)  # one line a record; the whole details in the tooltip
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.export_button = QPushButton("Export as CSV…")
        self.check_button = QPushButton("Check again")
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.search.returnPressed.connect(self.show_records)
        self.search.textChanged.connect(self._search_cleared)
        self.check_button.clicked.connect(self.check)
        self.export_button.clicked.connect(self.export)
        self.report = None
        self.show_records()
        self.check()

    def check(self) -> Worker:
        """The full check reads every record and guarded row: off the UI thread."""
        self.status.setText("Checking the audit trail…")
        self.status.setStyleSheet("")
        self.check_button.setEnabled(False)
        worker = Worker(self.store.verify_audit)

        def done(report):
            self.report = report
            intact = report.ok
            self.status.setText(report.message())
            self.status.setStyleSheet("color: #1b5e20; font-weight: bold" if intact else
                                      "background: #fdecea; color: #b71c1c; font-weight: bold; padding: 6px")
            self.layout().activate()  # the findings' lines get their height now, not at the next event

        def failed(failure: Failure):
            self.status.setText(f"The audit trail could not be checked: {failure.message}")
            self.status.setStyleSheet("color: #b71c1c; font-weight: bold")

        self.worker = worker
        launch(worker, returned=done, errored=failed, finished=lambda: self.check_button.setEnabled(True))
        return worker

    def _search_cleared(self, text: str) -> None:
        if not text:
            self.show_records()

    def show_records(self) -> None:
        try:
            rows = self.store.recent_audit(SHOWN, self.search.text().strip())
        except SigVerifyError as exc:
            self.status.setText(str(exc))
            return
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for col, key in enumerate(("id", "at", "actor", "role", "action", "subject", "details")):
                value = str(row[key])
                shown = value[:19].replace("T", " ") if key == "at" else value
                cell = QTableWidgetItem(shown if len(shown) <= 300 else shown[:300] + "…")
                cell.setToolTip(value[:2000])
                self.table.setItem(i, col, cell)
        self.table.resizeColumnsToContents()
        self.setWindowTitle(f"Audit trail — newest {len(rows)} record(s)" + (" matching" if self.search.text() else ""))

    def export(self, path: str | None = None) -> Path | None:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export the audit trail", "audit.csv", "CSV files (*.csv)")
        if not path:
            return None
        try:
            Path(path).write_text(self.store.export_audit_csv(), encoding="utf-8")
        except (OSError, SigVerifyError) as exc:
            self.status.setText(f"Not exported: {exc}")
            return None
        self.status.setText(f"{self.status.text()}\nExported to {path}")
        return Path(path)
