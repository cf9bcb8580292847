"""Left side: find an account by number or name, see its reference signatures, enrol new ones."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListView, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from sigverify.gui.pictures import to_pixmap


class AccountPanel(QWidget):
    accountChosen = Signal(str)
    enrolRequested = Signal()
    retireRequested = Signal(int)  # the reference id of the selected specimen
    newAccountRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Account number or holder name")
        self.search.setToolTip("Type part of an account number or a holder's name (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.accounts = QListWidget()
        self.accounts.setToolTip("Accounts matching the search; click one to open it")
        self.hint = QLabel("")  # what to do next when a list is empty (first start, no match, no specimens)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #616161")
        self.title = QLabel("No account open")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold")
        self.specimen_note = QLabel("")  # what this many specimens means for the error rates
        self.specimen_note.setWordWrap(True)
        self.specimen_note.setStyleSheet("color: #455a64")
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(150, 75))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setToolTip("The account's active reference signatures")
        self.enrol_button = QPushButton("Enrol references…")
        self.enrol_button.setToolTip("Add reference signatures to this account from image files")
        self.enrol_button.setEnabled(False)
        self.retire_button = QPushButton("Retire selected")
        self.retire_button.setToolTip("Take the selected specimen out of use (with users defined, a second "
                                      "supervisor approves it)")
        self.retire_button.setEnabled(False)
        self.new_button = QPushButton("New account…")
        self.new_button.setToolTip("Create an account (number and holder name)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.enrol_button)
        buttons.addWidget(self.retire_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Account"))
        layout.addWidget(self.search)
        layout.addWidget(self.accounts, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.title)
        layout.addWidget(self.specimen_note)
        layout.addWidget(self.gallery, 2)
        layout.addLayout(buttons)
        self.accounts.itemClicked.connect(lambda item: self.accountChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.accounts.itemActivated.connect(lambda item: self.accountChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.search.returnPressed.connect(self._open_from_search)
        self.enrol_button.clicked.connect(self.enrolRequested)
        self.gallery.itemSelectionChanged.connect(
            lambda: self.retire_button.setEnabled(bool(self.gallery.selectedItems())))
        self.retire_button.clicked.connect(self._retire_selected)
        self.new_button.clicked.connect(self.newAccountRequested)

    def show_accounts(self, accounts) -> None:
        self.accounts.clear()
        for account in accounts:
            item = QListWidgetItem(f"{account.number} — {account.holder_name}")
            item.setData(Qt.ItemDataRole.UserRole, account.number)
            self.accounts.addItem(item)
        query = self.search.text().strip()
        if self.accounts.count() == 0 and not query:
            self._hint("No accounts yet: create the first one with New account…")
        elif self.accounts.count() == 0:
            self._hint(f"No account matches “{query}”: check the number, or create it with New account…")
        elif self.gallery.count() == 0 and self.title.text() == "No account open":
            self._hint("Click an account to open it and see its reference signatures")
        else:
            self._hint("")

    def _open_from_search(self) -> None:
        """Enter in the search opens the only match (or the one selected); with several it moves to
        the list, so the arrows choose one and Enter opens it."""
        item = self.accounts.currentItem() if self.accounts.count() > 1 else self.accounts.item(0)
        if self.accounts.count() == 1 or (item is not None and item.isSelected()):
            self.accountChosen.emit(item.data(Qt.ItemDataRole.UserRole))
        elif self.accounts.count() > 1:
            self.accounts.setFocus()
            self.accounts.setCurrentRow(0)

    def _retire_selected(self) -> None:
        items = self.gallery.selectedItems()
        if items:
            self.retireRequested.emit(int(items[0].data(Qt.ItemDataRole.UserRole)))

    def _hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def show_references(self, account, references: list[tuple[object, object]],
                        owners: dict[int, str] | None = None, note: str = "") -> None:
        """references: (Reference, image ndarray) pairs; owners: the signatory of each reference id on
        an account with signatories — the gallery then groups each signatory's specimens together;
        note: what the number of specimens means for the error rates."""
        owners = owners or {}
        self.specimen_note.setText(note)
        self.specimen_note.setVisible(bool(note))
        self.title.setText(f"{account.number} — {account.holder_name}: {len(references)} reference(s)")
        self.gallery.clear()
        for reference, image in sorted(references, key=lambda pair: (owners.get(pair[0].id, ""), pair[0].id)):
            owner = owners.get(reference.id)
            item = QListWidgetItem(QIcon(to_pixmap(image, 150, 75)), f"{owner} · #{reference.id}" if owner
                                   else f"#{reference.id}")
            item.setToolTip(f"{reference.filename}, enrolled by {reference.enrolled_by} on {reference.enrolled_at[:10]}")
            item.setData(Qt.ItemDataRole.UserRole, reference.id)
            self.gallery.addItem(item)
        self.enrol_button.setEnabled(True)
        self._hint("" if references else "No reference signatures yet: add the account's specimens with "
                                         "Enrol references…")
