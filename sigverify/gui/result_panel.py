"""The verdict: a large badge (colour and text), the score, each reference's distance, the overlay,
and the buttons that record the clerk's decision."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from sigverify.gui.pictures import canvas_view, overlay, to_pixmap

BADGES = {
    "genuine": ("GENUINE", "#1b5e20", "The signature matches the references"),
    "forged": ("FORGED", "#b71c1c", "The signature does not match the references"),
    "refer": ("REFER TO SUPERVISOR", "#e65100", "Too close to the threshold to decide automatically"),
}


def explain(decision, references, by_document: bool = False) -> str:
    """Why the verdict is what it is, in words a clerk reads in a second: the closest specimens,
    and where the account distance lies against the threshold (for the record only when the
    document, not the distance, made it REFER)."""
    ranked = sorted(zip(decision.distances, (r.id for r in references)))
    closest = ", ".join(f"#{rid} ({d:.3f})" for d, rid in ranked[:2])
    gap = (decision.distance - decision.threshold) / decision.threshold if decision.threshold else 0.0
    where = f"{abs(gap):.0%} {'below' if gap < 0 else 'above'} the threshold {decision.threshold:.3f}"
    count = len(decision.distances)
    # the band widens with fewer specimens (verification/refer_band.py): the clerk sees which applied
    band = f"the refer band (±{decision.refer_band:.0%} with {count} specimen{'' if count == 1 else 's'})"
    because = {"genuine": f"below the threshold by more than {band}: it matches the specimens",
               "forged": f"above the threshold by more than {band}: it does not match the specimens",
               "refer": f"within {band}: too close to call, a supervisor decides"}
    if by_document:
        return (f"Closest specimens: {closest}. The account distance {decision.distance:.3f} ({where}) is not "
                "relied on: the document, not the signature, may have moved it.")
    return (f"Closest specimens: {closest}. The account distance {decision.distance:.3f} lies {where} — "
            f"{because[decision.verdict]}.")


#: what the panel says before any verification: the next steps, in the order a clerk takes them
NEXT_STEPS = ("Open an account on the left, open or drop the questioned signature (Ctrl+O), "
              "check the box around it, then Verify (F5)")


class ResultPanel(QWidget):
    decisionMade = Signal(str, str)  # decision, comment

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.badge = QLabel("No verification yet")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumHeight(64)
        self._style_badge("#9e9e9e")
        self.score = QLabel(NEXT_STEPS)
        self.score.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.score.setWordWrap(True)
        self.why = QLabel("")
        self.why.setWordWrap(True)  # never squeezed below its text: a referral's reason must be readable
        self.why.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Reference", "File", "Distance"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip("Distance of the questioned signature to each reference (smaller is closer)")
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the comment and the buttons
        self.overlay = QLabel()
        self.overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.overlay.setMinimumHeight(110)
        self.overlay.setToolTip("Questioned signature in red over the selected reference in blue")
        self.legend = QLabel("Overlay: the questioned signature in red over the selected specimen in blue")
        self.legend.setStyleSheet("color: #616161")
        self.comment = QLineEdit(placeholderText="Comment (required to escalate)")
        self.accept_button = QPushButton("&Accept")
        self.reject_button = QPushButton("&Reject")
        self.escalate_button = QPushButton("&Escalate")
        self.accept_button.setToolTip("Record that the clerk accepts the signature (Alt+A)")
        self.reject_button.setToolTip("Record that the clerk rejects the signature (Alt+R)")
        self.escalate_button.setToolTip("Send to a supervisor with a comment (Alt+E)")
        buttons = QHBoxLayout()
        for button, decision in ((self.accept_button, "accept"), (self.reject_button, "reject"),
                                 (self.escalate_button, "escalate")):
            button.clicked.connect(lambda _=False, d=decision: self._decide(d))
            buttons.addWidget(button)
        #: a decision that waits for its comment: Enter in the comment box makes it
        self.awaiting = ""
        self.comment.returnPressed.connect(self._comment_entered)
        self.decision_note = QLabel("")
        self.decision_note.setWordWrap(True)  # a recorded reason or the rule's note reads in full
        layout = QVBoxLayout(self)
        layout.addWidget(self.badge)
        layout.addWidget(self.score)
        layout.addWidget(self.why)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.overlay, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.comment)
        layout.addLayout(buttons)
        layout.addWidget(self.decision_note)
        self._canvases: dict[int, object] = {}
        self._questioned = None
        self.table.itemSelectionChanged.connect(self._show_overlay)
        self.set_decision_enabled(False)

    def _comment_entered(self) -> None:
        if self.awaiting:
            self._decide(self.awaiting)

    def _decide(self, decision: str) -> None:
        """Escalating needs a comment: without one the comment box takes the focus (Alt+E, type,
        Enter) instead of refusing; whatever was typed stays."""
        if decision == "escalate" and not self.comment.text().strip():
            self.ask_comment("escalate", "Type the reason for the supervisor, then press Enter to escalate")
            return
        self.awaiting = ""
        self.decisionMade.emit(decision, self.comment.text())

    def ask_comment(self, decision: str, hint: str) -> None:
        self.awaiting = decision
        self.comment.setPlaceholderText(hint)
        self.comment.setFocus()

    def _style_badge(self, colour: str) -> None:
        self.badge.setStyleSheet(f"background: {colour}; color: white; font-size: 22pt; font-weight: bold;"
                                 "border-radius: 8px; padding: 8px")

    def set_decision_enabled(self, enabled: bool) -> None:
        for button in (self.accept_button, self.reject_button, self.escalate_button):
            button.setEnabled(enabled)
        self.accept_button.setToolTip("Record that the clerk accepts the signature (Alt+A)")
        self.comment.setEnabled(enabled)

    def hold_accept(self, why: str) -> None:
        """Accept is not this verification's to give (the account's rule decides the cheque): say why
        beside the buttons; reject and escalate stay."""
        self.accept_button.setEnabled(False)
        self.accept_button.setToolTip(why)
        self.decision_note.setText(why)

    def clear(self) -> None:
        self.awaiting = ""
        self.comment.setPlaceholderText("Comment (required to escalate)")
        self.badge.setText("No verification yet")
        self._style_badge("#9e9e9e")
        self.score.setText(NEXT_STEPS)
        self.why.setText("")
        self.table.setRowCount(0)
        self.overlay.clear()
        self.decision_note.setText("")
        self.set_decision_enabled(False)

    def show_result(self, decision, references, canvases: dict, questioned_canvas, signatory: str = "",
                    problems: tuple[str, ...] = ()) -> None:
        """references: Reference rows in the order of decision.distances; canvases by reference id;
        signatory: on a joint account, whose specimens the signature was matched to; problems: why the
        document's capture makes the verdict REFER whatever the distance."""
        text, colour, tip = BADGES[decision.verdict]
        if problems:
            tip = "Referred because of the document, not the signature: " + "; ".join(problems)
        self.badge.setText(text)
        self.badge.setToolTip("")  # the reason is in words below, not in a tooltip over the signature
        self._style_badge(colour)
        self.why.setText(f"{tip}. " + explain(decision, references, by_document=bool(problems)))
        # a signature that does not match is nobody's: it was only compared with the closest signatory
        whose = "" if not signatory else (f"matched to {signatory}'s specimens  ·  " if decision.verdict == "genuine"
                                          else f"compared with {signatory}'s specimens (the closest)  ·  ")
        self.score.setText(whose +
                           f"score {decision.score:.2f}  ·  distance {decision.distance:.3f}  ·  "
                           f"threshold {decision.threshold:.3f}")
        self._canvases, self._questioned = canvases, questioned_canvas
        self.table.setRowCount(len(references))
        for row, (reference, distance) in enumerate(zip(references, decision.distances)):
            first = QTableWidgetItem(QIcon(to_pixmap(canvas_view(canvases[reference.id]), 96, 48)), f"#{reference.id}")
            first.setData(Qt.ItemDataRole.UserRole, reference.id)
            self.table.setItem(row, 0, first)
            self.table.setItem(row, 1, QTableWidgetItem(reference.filename))
            cell = QTableWidgetItem(f"{distance:.4f}")
            cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 2, cell)
        self.table.resizeRowsToContents()
        if references:
            self.table.selectRow(0)
        self.decision_note.setText("")
        self.comment.clear()
        self.awaiting = ""
        self.comment.setPlaceholderText("Comment (required to escalate)")
        self.set_decision_enabled(True)

    def distances_shown(self) -> list[float]:
        return [float(self.table.item(r, 2).text()) for r in range(self.table.rowCount())]

    def _show_overlay(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or self._questioned is None:
            return
        reference_id = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        image = overlay(self._questioned, self._canvases[reference_id])
        self.overlay.setPixmap(to_pixmap(image, max(200, self.overlay.width()), max(100, self.overlay.height())))
