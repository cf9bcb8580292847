"""The training wizard's last two pages: evaluation (ROC, histograms, the threshold slider) and
export with activation."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit,
                               QPushButton, QSlider, QVBoxLayout, QWizardPage)

from sigverify.errors import SigVerifyError
from sigverify.gui.training_process import TrainingProcess
from sigverify.verification.metrics import eer, far_frr, roc_curve, threshold_for_far


#: fewer held-out writers than this and an EER says little
FEW_WRITERS = 5


def advice(evaluation: dict, new_eer: float, epoch_eers: list[float]) -> str:
    """What a supervisor should know before trusting this page: warnings, why its EER is not the
    training log's, and the model in use measured on the same writers."""
    lines = []
    writers = len(evaluation["writers"])
    if writers < FEW_WRITERS:
        lines.append(f"⚠ Only {writers} held-out writer(s): this EER rests on very few people. Add writers or "
                     "raise the validation share before relying on it.")
    finite = [e for e in epoch_eers if e == e]
    if finite:
        best = min(finite)
        if finite[-1] > best + 0.05 and finite[-1] > 1.5 * best:
            lines.append(f"⚠ The validation EER rose from {100 * best:.1f}% (epoch {finite.index(best) + 1}) to "
                         f"{100 * finite[-1]:.1f}% (last epoch): the network began to memorise its training writers. "
                         "The best epoch is the one evaluated here; fewer epochs or more writers would help.")
    lines.append(f"The training log's per-epoch EER compares plain mean distances; this page evaluates the best "
                 f"epoch ({evaluation.get('epoch', 0) + 1}) with the decision the model will ship "
                 f"({evaluation.get('rule', 'mean')}: distances normalised per account), hence the different figure.")
    in_use = evaluation.get("in_use")
    if in_use and "error" not in in_use:
        metrics = in_use["metrics"]
        old = metrics.get("eer_skilled", metrics.get("eer_random"))
        verdict = "better than" if new_eer < old else "no better than"
        lines.append(f"Model in use ({in_use['version']}) on the same writers: EER {100 * old:.2f}% — the new model "
                     f"({100 * new_eer:.2f}%) is {verdict} it.")
    elif in_use:
        lines.append(f"The model in use could not be measured on these writers ({in_use['error']}).")
    return "\n".join(lines)


def activation_question(version: str, new_eer: float, evaluation: dict) -> tuple[str, bool]:
    """What a supervisor confirms before activating: the new model's EER beside the model in use's
    on the same writers, and whether the new one is worse (then genuine signatures would be called
    FORGED more often: the question says so, and No stays the default)."""
    in_use = evaluation.get("in_use") or {}
    metrics = in_use.get("metrics") or {}
    old = metrics.get("eer_skilled", metrics.get("eer_random"))
    text = f"Activate model {version}? On the held-out writers its EER is {100 * new_eer:.2f}%"
    if old is None:
        return text + " (the model in use could not be measured on the same writers).", False
    worse = new_eer > old
    text += f"; the model in use ({in_use.get('version', '?')}) has {100 * old:.2f}% on the same writers."
    if worse:
        text += ("\n\n\u26a0 The new model is WORSE than the model in use: more genuine signatures would be "
                 "called FORGED and more forgeries accepted. Keep the model in use unless you know why.")
    return text, worse


class EvaluationPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Evaluation")
        self.setSubTitle("On the held-out writers. Choose the operating threshold.")
        self.eer_label = QLabel("")
        self.eer_label.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.roc = pg.PlotWidget(background="w", title="FAR vs FRR (DET)")
        self.roc.setLabel("bottom", "FAR (forgeries accepted)")
        self.roc.setLabel("left", "FRR (genuine rejected)")
        self.hist = pg.PlotWidget(background="w", title="distances")
        self.hist.addLegend()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setToolTip("The distance threshold: below it a signature is accepted")
        self.point = QLabel("")
        self.eer_button = QPushButton("EER point")
        self.far_value = QDoubleSpinBox(decimals=1, suffix=" %")
        self.far_value.setRange(0.0, 50.0)
        self.far_value.setValue(1.0)
        self.far_button = QPushButton("FAR ≤")
        self.table = QLabel("")
        self.advice = QLabel("")  # warnings, why this EER differs from the log, and the model in use
        self.advice.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.eer_button)
        row.addWidget(self.far_button)
        row.addWidget(self.far_value)
        grid = QGridLayout(self)
        grid.addWidget(self.eer_label, 0, 0, 1, 2)
        grid.addWidget(self.advice, 6, 0, 1, 2)
        grid.addWidget(self.roc, 1, 0)
        grid.addWidget(self.hist, 1, 1)
        grid.addWidget(self.slider, 2, 0, 1, 2)
        grid.addWidget(self.point, 3, 0, 1, 2)
        grid.addLayout(row, 4, 0, 1, 2)
        grid.addWidget(self.table, 5, 0, 1, 2)
        self.slider.valueChanged.connect(self._slider_moved)
        self.eer_button.clicked.connect(lambda: self.set_threshold(self.eer_threshold))
        self.far_button.clicked.connect(lambda: self.set_threshold(
            threshold_for_far(self.genuine, self.negatives, self.far_value.value() / 100)))
        self.threshold = 0.0

    def initializePage(self) -> None:  # noqa: N802
        evaluation = self.wizard().training_page.evaluation
        self.genuine = np.asarray(evaluation["genuine"])
        hard = evaluation["skilled"] if evaluation["skilled"] else evaluation["random"]
        self.negatives = np.asarray(hard)
        self.eer_value, self.eer_threshold = eer(self.genuine, self.negatives)
        kind = "skilled forgeries" if evaluation["skilled"] else "random forgeries"
        self.eer_label.setText(f"EER {100 * self.eer_value:.2f}% on {kind} "
                               f"({len(evaluation['writers'])} held-out writers, {evaluation['references']} references)")
        curve = roc_curve(self.genuine, self.negatives)
        self.roc.clear()
        self.roc_curve = self.roc.plot(curve.far, curve.frr, pen=pg.mkPen("#1565c0", width=2))
        self.marker = self.roc.plot([], [], pen=None, symbol="o", symbolBrush="#c62828")
        self.hist.clear()
        top = float(max(self.genuine.max(), self.negatives.max()))
        bins = np.linspace(0, top * 1.05, 30)
        for values, colour, name in ((self.genuine, "#2e7d32", "genuine"), (self.negatives, "#c62828", kind)):
            counts, edges = np.histogram(values, bins=bins)
            self.hist.plot(edges, counts, stepMode="center", pen=pg.mkPen(colour, width=2), name=name)
        self.top = top * 1.05
        rows = [f"<tr><td>{t:.4f}</td><td>{100 * a:.2f}%</td><td>{100 * b:.2f}%</td></tr>"
                for t in np.linspace(self.eer_threshold * 0.8, self.eer_threshold * 1.2, 5)
                for a, b in [far_frr(self.genuine, self.negatives, t)]]
        self.table.setText("<table cellpadding=3><tr><th>threshold</th><th>FAR</th><th>FRR</th></tr>"
                           + "".join(rows) + "</table>")
        self.set_threshold(self.eer_threshold)
        self.advice.setText(advice(evaluation, self.eer_value, self.wizard().training_page.eers))

    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(1000 * value / self.top)))
        self.slider.blockSignals(False)
        self._show_point()

    def _slider_moved(self, position: int) -> None:
        self.threshold = position / 1000 * self.top
        self._show_point()

    def _show_point(self) -> None:
        far, frr = far_frr(self.genuine, self.negatives, self.threshold)
        self.far_frr = (far, frr)
        self.point.setText(f"threshold {self.threshold:.4f}: FAR {100 * far:.2f}%, FRR {100 * frr:.2f}%")
        self.marker.setData([far], [frr])


class ExportPage(QWizardPage):
    def __init__(self, on_activate: Callable[[Path], None] | None) -> None:
        super().__init__()
        self.setTitle("Export and activate")
        self.setSubTitle("The model is exported to ONNX, checked against torch, and registered; "
                         "activating it recomputes the reference embeddings in the background.")
        self.on_activate = on_activate
        self.export_button = QPushButton("Export and register")
        self.activate_button = QPushButton("Activate this model")
        self.activate_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.export_button)
        layout.addWidget(self.activate_button)
        layout.addWidget(self.status)
        layout.addWidget(self.log)
        self.process = TrainingProcess(self)
        self.process.event.connect(self._event)
        self.process.logLine.connect(self.log.appendPlainText)
        self.process.ended.connect(self._ended)
        self.export_button.clicked.connect(self.export)
        self.activate_button.clicked.connect(self.activate)
        self.exported: dict | None = None
        self.activated = False

    def export(self) -> None:
        wizard = self.wizard()  # the TrainWizard: its training and evaluation pages
        checkpoint = wizard.training_page.evaluation["checkpoint"]
        out = wizard.training_page.out_dir / "model"
        self.export_button.setEnabled(False)
        self.status.setText("Exporting and checking ONNX against torch…")
        self.process.start("export", checkpoint, str(out), "--threshold", repr(wizard.evaluation_page.threshold),
                           "--description", f"trained in the wizard on {wizard.data_page.dataset_path}")

    def _event(self, event: dict) -> None:
        if event.get("kind") == "exported":
            self.exported = event

    def _ended(self, code: int, error: str) -> None:
        if error or not self.exported:
            self.status.setText(f"Export failed: {error or 'no model written'}. Nothing was registered.")
            self.export_button.setEnabled(True)
            return
        from sigverify.inference.registry import default_registry

        try:
            entry = (self.wizard().registry or default_registry()).register(Path(self.exported["folder"]))
        except SigVerifyError as exc:
            self.status.setText(str(exc))
            return
        self.registered_version = entry.version
        self.status.setText(f"Model {entry.version} registered (ONNX vs torch max difference "
                            f"{self.exported['parity']:.1e}, threshold {self.exported['threshold']:.4f}).")
        self.activate_button.setEnabled(True)
        self.completeChanged.emit()

    def activate(self) -> QMessageBox:
        """Never on one click: the supervisor confirms, seeing the new model against the one in use."""
        wizard = self.wizard()
        text, worse = activation_question(self.registered_version, wizard.evaluation_page.eer_value,
                                          wizard.training_page.evaluation)
        box = QMessageBox(QMessageBox.Icon.Warning if worse else QMessageBox.Icon.Question, "Activate the new model",
                          text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Activate the worse model" if worse else "Activate")
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(self._activate)
        self.confirmation = box
        box.open()
        return box

    def _activate(self) -> None:
        registry = self.wizard().registry
        from sigverify.inference.registry import default_registry

        entry = (registry or default_registry()).activate(self.registered_version)
        self.activated = True
        self.activate_button.setEnabled(False)
        self.status.setText(f"Model {entry.version} is active. The previous model stays available under "
                            "Model → Manage models….")
        if self.on_activate:
            self.on_activate(entry.folder)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.exported is not None
