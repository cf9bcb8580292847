"""The outcome of a document verification beside its signatures (the main window's Document tab)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from sigverify.gui.pictures import to_pixmap
from sigverify.imaging.page import crop


class DocumentResultPanel(QWidget):
    """The outcome of a document verification: accepted / rejected / sent to review, per signature."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.outcome = QLabel("")
        self.outcome.setStyleSheet("font-size: 16pt; font-weight: bold")
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.signatures = QTableWidget(0, 3)  # each signature found, whom it matched, the verdict
        self.signatures.setTabKeyNavigation(False)  # Tab moves on, not from cell to cell
        self.signatures.setHorizontalHeaderLabels(["Signature", "Closest signatory", "Verdict"])
        self.signatures.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.signatures.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.outcome)
        layout.addWidget(self.details)
        layout.addWidget(self.signatures, 1)

    def clear(self) -> None:
        """A new questioned document: the previous one's outcome must not stay beside it."""
        self.outcome.setText("No document verified yet: Verify document with amount (Ctrl+D)")
        self.outcome.setStyleSheet("font-size: 16pt; font-weight: bold; color: #9e9e9e")
        self.details.setText("")
        self.signatures.setRowCount(0)

    def show_decision(self, decision, page: np.ndarray | None = None) -> None:
        """The outcome, why (the rule band's threshold for this amount), and each signature beside
        the signatory it matched, as thumbnails cut from the page."""
        text = {"accepted": "ACCEPTED", "rejected": "REJECTED", "review": "SENT TO REVIEW"}[decision.outcome]
        colour = {"accepted": "#1b5e20", "rejected": "#b71c1c", "review": "#e65100"}[decision.outcome]
        self.outcome.setText(f"Document {decision.document_id}: {text}")
        self.outcome.setStyleSheet(f"font-size: 16pt; font-weight: bold; color: {colour}")
        lines = [f"{m.signatory}: distance {m.distance:.3f} vs {m.threshold:.3f} → {m.verdict}"
                 for m in decision.matches]
        band = (f"For this amount the threshold is {decision.threshold:.3f}"
                + (f", the one that accepted at most {decision.max_far:.1%} of skilled forgeries on validation"
                   if decision.max_far == decision.max_far else "") + ".")
        self.details.setText(decision.explanation + "\n" + band + "\n" + "\n".join(lines))
        self.signatures.setRowCount(len(decision.matches))
        for row, match in enumerate(decision.matches):
            if page is not None:
                thumb = QLabel()
                thumb.setPixmap(to_pixmap(crop(page, match.box), 200, 80))
                self.signatures.setCellWidget(row, 0, thumb)
            self.signatures.setItem(row, 1, QTableWidgetItem(f"{match.signatory} (distance {match.distance:.3f})"))
            self.signatures.setItem(row, 2, QTableWidgetItem(match.verdict))
        self.signatures.setColumnWidth(0, 210)
        self.signatures.resizeRowsToContents()



