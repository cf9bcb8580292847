"""Model → Manage models…: the models on this computer, which is active, activate or roll back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

from sigverify.errors import SigVerifyError


class ModelsDialog(QDialog):
    def __init__(self, parent, registry, on_activate) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manage models")
        self.setMinimumSize(640, 320)  # versions and figures read in full
        self.registry, self.on_activate = registry, on_activate
        self.list = QListWidget()
        self.activate_button = QPushButton("Activate selected")
        self.rollback_button = QPushButton("Roll back to previous")
        self.activate_button.setToolTip("Use the selected model for verification from now on")
        self.rollback_button.setToolTip("Go back to the model that was active before the last change")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.activate_button)
        buttons.addWidget(self.rollback_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        self.activate_button.clicked.connect(self.activate_selected)
        self.rollback_button.clicked.connect(self.rollback)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        active = self.registry.active_dir()
        for entry in self.registry.entries():
            eer = f", validation EER {100 * entry.eer:.1f}%" if entry.eer is not None else ""
            marker = "  ← active" if entry.folder.resolve() == active.resolve() else ""
            item = QListWidgetItem(f"{entry.version}{' (shipped)' if entry.shipped else ''}{eer}{marker}")
            item.setData(Qt.ItemDataRole.UserRole, entry.version)
            if marker:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.rollback_button.setEnabled(self.registry.previous_version() is not None)

    def activate_version(self, version: str) -> None:
        try:
            entry = self.registry.activate(version)
        except SigVerifyError as exc:
            self.note.setText(str(exc))
            return
        self.note.setText(f"{entry.version} is active")
        self.on_activate(entry.folder)
        self.refresh()

    def activate_selected(self) -> None:
        item = self.list.currentItem()
        if item:
            self.activate_version(item.data(Qt.ItemDataRole.UserRole))

    def rollback(self) -> None:
        previous = self.registry.previous_version()
        if previous:
            self.activate_version(previous)
