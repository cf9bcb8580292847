"""Supervisor → Users…: add users, reset a clerk's password, change a role, approve a new
supervisor — each refused or allowed by the store's four-eyes rules (store/auth.py)."""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from sigverify.errors import SigVerifyError


class UsersDialog(QDialog):
    def __init__(self, parent, store, actor) -> None:
        super().__init__(parent)
        self.setWindowTitle("Users")
        self.setMinimumSize(640, 420)
        self.store, self.actor = store, actor
        self.table = QTableWidget(0, 5)
        self.table.setTabKeyNavigation(False)  # Tab moves on, not from cell to cell
        self.table.setHorizontalHeaderLabels(["Name", "Role", "Status", "Password", "Added or changed by"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.name = QLineEdit(placeholderText="New user's name")
        self.role = QComboBox()
        self.role.addItems(["clerk", "supervisor"])
        self.password = QLineEdit(placeholderText="Password (new user, or a reset)")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_button = QPushButton("Add user")
        self.reset_button = QPushButton("Set password of selected")
        self.role_button = QPushButton("Change role of selected")
        self.approve_button = QPushButton("Approve selected supervisor")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        form = QHBoxLayout()
        for widget in (self.name, self.role, self.password, self.add_button):
            form.addWidget(widget)
        actions = QHBoxLayout()
        for button in (self.reset_button, self.role_button, self.approve_button):
            actions.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.message)
        self.add_button.clicked.connect(self.add_user)
        self.reset_button.clicked.connect(self.reset_password)
        self.role_button.clicked.connect(self.change_role)
        self.approve_button.clicked.connect(self.approve)
        self.refresh()

    def refresh(self) -> None:
        rows = self.store.users.listing()
        self.table.setRowCount(len(rows))
        for row, user in enumerate(rows):
            for col, value in enumerate((user["name"], user["role"], user["status"],
                                         "set" if user["password"] else "none", user["created_by"])):
                self.table.setItem(row, col, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def selected_role(self) -> str:
        return self.table.item(self.table.selectionModel().selectedRows()[0].row(), 1).text()

    def _do(self, action, done: str = "") -> bool:
        """Run one store action as the signed-in supervisor; the store's refusal is shown, not raised."""
        try:
            action()
        except SigVerifyError as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText(done)
        self.password.clear()
        self.refresh()
        return True

    def add_user(self) -> None:
        name, role = self.name.text().strip(), self.role.currentText()
        if self._do(lambda: self.store.users.add(name, role, self.password.text(), by=self.actor)):
            waiting = self.store.users.status(name) == "pending"
            self.message.setText(f"{name} added as {role}" + (" — a second supervisor must approve them"
                                                               if waiting else ""))
            self.name.clear()

    def reset_password(self) -> None:
        name = self.selected()
        if name is None:
            self.message.setText("Select a user first")
            return
        self._do(lambda: self.store.users.reset_password(name, self.password.text(), by=self.actor),
                 f"{name}'s password is set")

    def change_role(self) -> None:
        name = self.selected()
        if name is None:
            self.message.setText("Select a user first")
            return
        role = "clerk" if self.selected_role() == "supervisor" else "supervisor"
        if self._do(lambda: self.store.users.change_role(name, role, by=self.actor)):
            waiting = self.store.users.status(name) == "pending"
            self.message.setText(f"{name} will be a supervisor once a second supervisor approves" if waiting
                                 else f"{name} is now a {role}")

    def approve(self) -> None:
        name = self.selected()
        if name is None:
            self.message.setText("Select a user first")
            return
        self._do(lambda: self.store.users.approve(name, by=self.actor), f"{name} may act as a supervisor now")
