"""Model → Train new model…: a supervisor retrains, evaluates, picks the threshold and activates.

Data (scan in the background) → Settings → Training (a separate process, live curves, cancel,
resume) → Evaluation (ROC, histograms, threshold slider) → Export and activate.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox,
                               QVBoxLayout, QWizard, QWizardPage)

from sigverify.gui.pictures import canvas_view, to_pixmap
from sigverify.gui.training_process import TrainingProcess
from sigverify.gui.workers import Failure, Worker, launch
from sigverify.gui.wizard_results import EvaluationPage, ExportPage
from sigverify.training.wizard_data import dataset_folders, dataset_summary, store_dataset_summary

PRESETS = {"quick": {"epochs": 5, "steps_per_epoch": 20}, "thorough": {"epochs": 30, "steps_per_epoch": 50}}


class DataPage(QWizardPage):
    def __init__(self, store=None) -> None:
        super().__init__()
        self.setTitle("Data")
        self.setSubTitle("Choose the signatures to train on. The folder is checked before you can go on.")
        self.store = store
        self.folder_mode = QRadioButton("A dataset folder (WRITER/genuine + WRITER/forged, or CEDAR layout)")
        self.store_mode = QRadioButton("The store's enrolled references, plus a folder of known forgeries")
        self.folder_mode.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.folder_mode)
        group.addButton(self.store_mode)
        self.folder = QLineEdit()
        self.folder.setToolTip("The dataset folder (several: separate them with ';' or use Add folder), or for "
                               "the store option the folder of forgeries (ACCOUNT/*.png)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        add = QPushButton("Add folder…")
        add.setToolTip("Train on several datasets as one; each known public dataset keeps its test writers out")
        add.clicked.connect(self._add_folder)
        self.scan_button = QPushButton("Check the data")
        self.scan_button.clicked.connect(self.scan)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        row.addWidget(add)
        row.addWidget(self.scan_button)
        self.writers_label, self.genuine_label, self.forged_label = QLabel("—"), QLabel("—"), QLabel("—")
        counts = QFormLayout()
        counts.addRow("Writers", self.writers_label)
        counts.addRow("Genuine signatures", self.genuine_label)
        counts.addRow("Forged signatures", self.forged_label)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.thumbs = QHBoxLayout()
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setPlaceholderText("Problems found in the data appear here")
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_mode)
        layout.addWidget(self.store_mode)
        layout.addLayout(row)
        layout.addLayout(counts)
        layout.addLayout(self.thumbs)
        layout.addWidget(self.status)
        layout.addWidget(self.problems)
        self.result: dict | None = None
        self.dataset_path = ""
        self.worker: Worker | None = None
        self.folder.textChanged.connect(self._invalidate)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.scan()

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Another dataset folder", "")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Append a dataset folder to those already chosen, then check them all."""
        folders = dataset_folders(self.folder.text())
        if folder not in folders:
            folders.append(folder)
        self.folder.setText("; ".join(folders))
        self.scan()

    def _invalidate(self) -> None:
        self.result = None
        self.completeChanged.emit()

    def scan(self) -> Worker | None:
        folder = self.folder.text().strip()
        if self.store_mode.isChecked():
            if self.store is None:
                self.status.setText("No store is open")
                return None
            job = (store_dataset_summary, self.store, Path(folder) if folder else None)
        elif not folder:
            self.status.setText("Choose a folder first")
            return None
        else:
            job = (dataset_summary, folder)
        self.status.setText("Checking the data…")
        self.scan_button.setEnabled(False)
        self.worker = Worker(*job)
        return launch(self.worker, returned=self._scanned, errored=self._failed)

    def _scanned(self, result: dict) -> None:
        self.scan_button.setEnabled(True)
        self.result = result
        self.dataset_path = result["folder"]
        self.writers_label.setText(f"{result['writers']} ({result['usable']} usable, {result['layout']})")
        self.genuine_label.setText(str(result["genuine"]))
        self.forged_label.setText(str(result["forged"]))
        self.problems.setPlainText("\n".join(result["problems"]) or "No problems found")
        while self.thumbs.count():
            self.thumbs.takeAt(0).widget().deleteLater()
        for canvas in result["thumbs"]:
            label = QLabel()
            label.setPixmap(to_pixmap(canvas_view(canvas), 120, 60))
            self.thumbs.addWidget(label)
        self.status.setText(result["error"] or "The data can be used for training.")
        self.status.setStyleSheet("color: #b71c1c" if result["error"] else "color: #1b5e20")
        self.completeChanged.emit()

    def _failed(self, failure: Failure) -> None:
        self.scan_button.setEnabled(True)
        self.result = {"error": failure.message}
        self.status.setText(failure.message)
        self.status.setStyleSheet("color: #b71c1c")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        return bool(self.result) and not self.result.get("error")


class SettingsPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Settings")
        self.setSubTitle("The defaults suit most banks; 'quick' is for a first look, 'thorough' for the model you keep.")
        self.preset = QComboBox()
        self.preset.addItems(["quick", "thorough", "custom"])
        self.preset.setToolTip("quick: a few minutes; thorough: the settings of the shipped model")
        self.loss = QComboBox()
        self.loss.addItems(["contrastive", "triplet"])
        self.loss.setToolTip("contrastive: pulls a writer's signatures together and pushes forgeries beyond the "
                             "margin; triplet: keeps each forgery farther than the writer's own signatures")
        self.margin = QDoubleSpinBox(decimals=2, singleStep=0.05)
        self.margin.setRange(0.05, 2.0)
        self.margin.setValue(1.0)
        self.margin.setToolTip("How far apart forgeries must be pushed (embeddings lie on the unit sphere: 0–2)")
        self.mining = QComboBox()
        self.mining.addItems(["hard", "semi-hard", "none"])
        self.mining.setToolTip("Which pairs to learn from in each batch: the hardest (hard), those just inside "
                               "the margin (semi-hard), or all (none)")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.steps = QSpinBox()
        self.steps.setRange(1, 10000)
        self.steps.setToolTip("Batches per epoch; validation runs after each epoch")
        self.batch = QSpinBox()
        self.batch.setRange(2, 64)
        self.batch.setValue(8)
        self.batch.setToolTip("Writers per batch (each brings 4 genuine signatures and 2 forgeries)")
        self.augment = QDoubleSpinBox(decimals=2, singleStep=0.1)
        self.augment.setRange(0.0, 2.0)
        self.augment.setValue(1.0)
        self.augment.setToolTip("Strength of the variations (slant, size, stroke width, wobble); 0 turns them off")
        self.validation = QDoubleSpinBox(decimals=2, singleStep=0.05)
        self.validation.setRange(0.1, 0.5)
        self.validation.setValue(0.2)
        self.validation.setToolTip("Share of writers held out to measure EER and choose the threshold")
        self.device = QComboBox()
        self.device.addItem("cpu")
        self.device.setToolTip("CUDA appears when the training process finds a usable GPU")
        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Loss", self.loss)
        form.addRow("Margin", self.margin)
        form.addRow("Mining", self.mining)
        form.addRow("Epochs", self.epochs)
        form.addRow("Steps per epoch", self.steps)
        form.addRow("Writers per batch", self.batch)
        form.addRow("Augmentation strength", self.augment)
        form.addRow("Validation share of writers", self.validation)
        form.addRow("Device", self.device)
        self.preset.currentTextChanged.connect(self.apply_preset)
        self.loss.currentTextChanged.connect(lambda loss: self.margin.setValue(1.0 if loss == "contrastive" else 0.3))
        self.apply_preset("quick")
        self.probe = TrainingProcess(self)
        self.probe.event.connect(self._probed)
        self.probe.start("probe")

    def _probed(self, event: dict) -> None:
        if event.get("kind") == "probe" and event.get("cuda") and self.device.findText("cuda") < 0:
            self.device.addItem("cuda")

    def apply_preset(self, name: str) -> None:
        if name in PRESETS:
            self.epochs.setValue(PRESETS[name]["epochs"])
            self.steps.setValue(PRESETS[name]["steps_per_epoch"])

    def config(self, dataset: str, out_dir: str) -> dict:
        folders = dataset_folders(dataset) or [dataset]
        return {"dataset": folders[0], "datasets": folders if len(folders) > 1 else [], "out_dir": out_dir, "loss": self.loss.currentText(),
                "margin": self.margin.value(), "mining": self.mining.currentText(), "epochs": self.epochs.value(),
                "steps_per_epoch": self.steps.value(), "writers_per_batch": self.batch.value(),
                "augment_strength": self.augment.value(), "validation_share": self.validation.value(),
                "device": self.device.currentText()}


class TrainingPage(QWizardPage):
    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.setTitle("Training")
        self.setSubTitle("Training runs in its own process. Cancel keeps the last complete epoch; Resume goes on.")
        self.workdir = workdir
        self.progress = QProgressBar()
        self.eta = QLabel("")
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend()
        self.plot.setLabel("bottom", "epoch")
        self.loss_curve = self.plot.plot([], [], pen=pg.mkPen("#1565c0", width=2), name="training loss")
        self.eer_curve = self.plot.plot([], [], pen=pg.mkPen("#c62828", width=2), name="validation EER")
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.cancel_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.start_button.clicked.connect(lambda: self.start_training(resume=False))
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(lambda: self.start_training(resume=True))
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.plot, 2)
        layout.addWidget(self.log, 1)
        layout.addLayout(buttons)
        self.process = TrainingProcess(self)
        self.process.event.connect(self.on_event)
        self.process.logLine.connect(self.log.appendPlainText)
        self.process.ended.connect(self.on_ended)
        self.epochs: list[float] = []
        self.losses: list[float] = []
        self.eers: list[float] = []
        self.steps_seen = 0
        self.evaluation: dict | None = None
        self.status = ""
        self.config_path: Path | None = None
        self.out_dir: Path | None = None

    def initializePage(self) -> None:  # noqa: N802
        if not self.process.running() and self.evaluation is None and self.status != "cancelled":
            self.start_training(resume=False)

    def start_training(self, resume: bool) -> None:
        wizard: TrainWizard = self.wizard()
        if not resume:
            self.out_dir = self.workdir / time.strftime("run-%Y%m%d-%H%M%S")
            self.epochs, self.losses, self.eers = [], [], []
            config = wizard.settings_page.config(wizard.data_page.dataset_path, str(self.out_dir / "checkpoints"))
        else:
            config = json.loads(self.config_path.read_text())
            config["resume"] = str(self.out_dir / "checkpoints" / "last.pt")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.out_dir / "config.json"
        self.config_path.write_text(json.dumps(config, indent=1))
        self.evaluation, self.status, self.steps_seen = None, "running", 0
        self.log.appendPlainText(("Resuming" if resume else "Starting") + f" training in {self.out_dir}")
        self.started = time.perf_counter()
        in_use = wizard.registry.active_dir() if wizard.registry is not None else None
        self.process.start("train", str(self.config_path), *(["--compare", str(in_use)] if in_use else []))
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.completeChanged.emit()

    def cancel(self) -> None:
        self.log.appendPlainText("Cancelling: the training stops at its next step…")
        self.cancel_button.setEnabled(False)
        self.process.cancel()

    def on_event(self, event: dict) -> None:
        kind = event.get("kind")
        if kind == "start":
            self.progress.setRange(0, event["total_steps"])
            self.progress.setValue(event["first_epoch"] * event["steps_per_epoch"])
        elif kind == "step":
            self.steps_seen += 1
            self.progress.setValue(event["global_step"])
            done = max(self.steps_seen, 1)
            left = (event["total_steps"] - event["global_step"]) * (time.perf_counter() - self.started) / done
            self.eta.setText(f"step {event['global_step']} of {event['total_steps']}, loss {event['loss']:.4f}, "
                             f"about {left / 60:.1f} min left")
        elif kind == "epoch":
            self.epochs.append(event["epoch"] + 1)
            self.losses.append(event["loss"])
            self.eers.append(event["val_eer"])
            self.loss_curve.setData(self.epochs, self.losses)
            self.eer_curve.setData(self.epochs, self.eers)
            self.log.appendPlainText(f"epoch {event['epoch'] + 1}: loss {event['loss']:.4f}, validation EER "
                                     f"{100 * event['val_eer']:.2f}%")
        elif kind == "data":
            self.log.appendPlainText(f"{event['train_writers']} training writers, {event['validation_writers']} "
                                     "validation writers")
        elif kind == "evaluation":
            self.evaluation = event
        elif kind == "finished":
            self.status = event["status"]
        elif kind == "error":
            self.log.appendPlainText(f"ERROR: {event['message']}")

    def on_ended(self, code: int, error: str) -> None:
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(True)
        if error:
            self.status = "failed"
            self.log.appendPlainText(f"Training failed: {error}")
        elif self.status == "cancelled":
            self.log.appendPlainText("Training cancelled; the last complete epoch is kept. Resume to go on.")
            self.resume_button.setEnabled((self.out_dir / "checkpoints" / "last.pt").is_file())
        else:
            self.log.appendPlainText(f"Training {self.status}.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.evaluation is not None and not self.process.running()

    def cleanupPage(self) -> None:  # noqa: N802 - going Back stops a running training
        self.process.cancel()


class TrainWizard(QWizard):
    def __init__(self, parent=None, store=None, registry=None, workdir: Path | None = None,
                 on_activate: Callable[[Path], None] | None = None) -> None:
        super().__init__(parent)
        from sigverify.paths import user_data_dir

        self.setWindowTitle("Train new model")
        self.registry = registry
        self.data_page = DataPage(store)
        self.settings_page = SettingsPage()
        self.training_page = TrainingPage(Path(workdir) if workdir else user_data_dir() / "training")
        self.evaluation_page = EvaluationPage()
        self.export_page = ExportPage(on_activate)
        for page in (self.data_page, self.settings_page, self.training_page, self.evaluation_page, self.export_page):
            self.addPage(page)
        self.resize(900, 700)

    def reject(self) -> None:
        for process in (self.training_page.process, self.export_page.process):
            if process.running():
                process.cancel()
                if not process.process.waitForFinished(10000):
                    process.kill()
        super().reject()
