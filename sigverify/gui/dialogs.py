"""Small dialogs: new account, settings, camera still, about."""

from __future__ import annotations

import platform

import cv2
import numpy as np
import onnxruntime
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget)

import sigverify
from sigverify.gui.pictures import to_pixmap
from sigverify.gui.workers import Failure, Worker, launch
from sigverify.imaging.camera import available_cameras, grab_still


class NewAccountDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New account")
        self.number, self.name = QLineEdit(), QLineEdit()
        form = QFormLayout(self)
        form.addRow("Account number", self.number)
        form.addRow("Holder name", self.name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class AmountDialog(QDialog):
    """The document's amount, read back against the account's signing rule as it is typed: the
    clerk sees which band applies and how many signatures it needs before verifying."""

    def __init__(self, parent: QWidget | None, mandate) -> None:
        super().__init__(parent)
        self.setWindowTitle("Document amount")
        self.mandate = mandate
        self.amount = QLineEdit()
        self.amount.setPlaceholderText("e.g. 12,500.00")
        self.rule = QLabel(f"Signing rule: {mandate.describe()}")
        self.rule.setWordWrap(True)
        self.needs = QLabel("")
        self.needs.setWordWrap(True)
        self.needs.setStyleSheet("font-weight: bold")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Amount of the cheque or order", self.amount)
        form.addRow(self.rule)
        form.addRow(self.needs)
        form.addRow(self.buttons)
        self.amount.textChanged.connect(self._read_back)
        self._read_back("")

    def _read_back(self, text: str) -> None:
        from sigverify.mandates.rules import RuleError, parse_amount

        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        if not text.strip():
            self.needs.setText("Type the amount written on the document")
            ok.setEnabled(False)
            return
        try:
            self.needs.setText(self.mandate.describe_for(parse_amount(text)))
            ok.setEnabled(True)
        except RuleError as exc:
            self.needs.setText(str(exc))
            ok.setEnabled(False)


class SettingsDialog(QDialog):
    """Threshold override within the model's allowed range, store location, provider preference."""

    def __init__(self, parent: QWidget | None, threshold: float | None, default_threshold: float,
                 allowed: tuple[float, float], store_location: str, provider: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.threshold = QDoubleSpinBox(decimals=4, singleStep=0.005)
        self.threshold.setRange(*allowed)
        self.threshold.setValue(threshold if threshold is not None else default_threshold)
        self.threshold.setToolTip(f"Distance threshold; the model allows {allowed[0]:.4f} to {allowed[1]:.4f} "
                                  f"(its own value is {default_threshold:.4f}). Lower is stricter.")
        reset = QPushButton("Model default")
        reset.clicked.connect(lambda: self.threshold.setValue(default_threshold))
        row = QHBoxLayout()
        row.addWidget(self.threshold)
        row.addWidget(reset)
        self.store = QLineEdit(store_location)
        self.store.setToolTip("SQLite file or database URL; takes effect at the next start")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        store_row = QHBoxLayout()
        store_row.addWidget(self.store)
        store_row.addWidget(browse)
        self.provider = QComboBox()
        self.provider.addItems(["auto", "cuda", "cpu"])
        self.provider.setCurrentText(provider)
        self.provider.setToolTip("auto: the GPU when usable, else the CPU; takes effect at the next model load")
        form = QFormLayout(self)
        form.addRow("Threshold", row)
        form.addRow("Store location", store_row)
        form.addRow("Execution provider", self.provider)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.default_threshold = default_threshold

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Store file", self.store.text(), "SQLite store (*.db)")
        if path:
            self.store.setText(path)


class CameraDialog(QDialog):
    """Choose a camera, take a still frame, retake until it is right."""

    def __init__(self, parent: QWidget | None = None, sources: list | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Capture from camera")
        self.frame: np.ndarray | None = None
        self.source = QComboBox()
        self.source.setToolTip("The camera or document camera to use")
        for item in sources if sources is not None else available_cameras():
            self.source.addItem(str(item), item)
        self.preview = QLabel("No picture yet")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(480, 270)
        self.take = QPushButton("Take picture")
        self.take.setToolTip("Take a still frame (again to retake)")
        self.take.clicked.connect(self.capture)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this picture")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.source)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.take)
        layout.addWidget(self.buttons)
        if self.source.count() == 0:
            self.preview.setText("No camera found")
            self.take.setEnabled(False)
        self.worker: Worker | None = None

    def capture(self) -> Worker:
        """Grab off the UI thread; the preview updates when the frame arrives."""
        self.take.setEnabled(False)
        self.preview.setText("Taking picture…")
        self.worker = Worker(grab_still, self.source.currentData())
        return launch(self.worker, QThreadPool.globalInstance(), returned=self._captured, errored=self._failed)

    def _captured(self, frame: np.ndarray) -> None:
        self.frame = frame
        self.preview.setPixmap(to_pixmap(frame, self.preview.width(), self.preview.height()))
        self.take.setText("Retake")
        self.take.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)

    def _failed(self, failure: Failure) -> None:
        self.preview.setText(failure.message)
        self.take.setEnabled(True)


def about_text(model_line: str) -> str:
    return (f"<b>SigVerify {sigverify.__version__}</b><br>Offline signature verification.<br><br>"
            f"Model: {model_line}<br>onnxruntime {onnxruntime.__version__} · OpenCV {cv2.__version__} · "
            f"PySide6 {pyside_version} · Python {platform.python_version()}")


def show_about(parent: QWidget, model_line: str) -> None:
    QMessageBox.about(parent, "About SigVerify", about_text(model_line))
