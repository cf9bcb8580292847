"""The clerk's verification workspace.

Left: the account and its reference signatures. Centre: the questioned page with the proposed
signature box and the model's view of the crop. Right: the verdict, distances, overlay,
decision buttons, and the account's history. Model loading, verification, enrolment and
camera work run in workers; errors appear in the window's message bar.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QFileSystemWatcher, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QLabel, QMainWindow, QProgressBar, QPushButton, QSplitter, QTableWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from sigverify import services
from sigverify.errors import SigVerifyError
from sigverify.gui.account_panel import AccountPanel
from sigverify.gui.back_office import BackOffice
from sigverify.gui.backend import load_model, open_store
from sigverify.gui.counter import CounterActions, account_history, first_start_text, rule_beyond_one_signature
from sigverify.gui.crop_view import CropView
from sigverify.gui.dialogs import NewAccountDialog, show_about
from sigverify.gui.questioned_input import QuestionedInput
from sigverify.gui.result_panel import ResultPanel
from sigverify.gui.settings import AppSettings
from sigverify.gui.workers import Failure, Worker, launch
from sigverify.imaging.decode import load_image, png_bytes
from sigverify.imaging.page import crop
from sigverify.imaging.preprocess import preprocess
from sigverify.store.mandates import mandates_of


def plain_label(text: str) -> str:
    """A menu text as words for the status bar: mnemonic ampersands dropped, a doubled one kept."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def fitting_size(width: int, height: int):
    """The preferred size, shrunk to the screen's free area (at 150% scaling a 1360×820 window
    would open larger than a 1080p screen)."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(width, height)
    room = screen.availableGeometry()
    return QSize(min(width, room.width() - 40), min(height, room.height() - 60))


class MainWindow(CounterActions, QuestionedInput, BackOffice, QMainWindow):
    backendReady = Signal(float)  # seconds the model and store took to load

    def __init__(self, model_dir: Path | None = None, store_location: str | None = None,
                 settings: AppSettings | None = None, actor: str | None = None, registry=None) -> None:
        super().__init__()
        from sigverify.inference.registry import default_model_dir
        from sigverify.store.repository import current_user

        self.setWindowTitle("SigVerify")
        self.resize(fitting_size(1360, 820))
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        from sigverify.inference.registry import default_registry

        self.registry = registry or default_registry()
        # which model: resolved with the backend, off the UI thread (a damaged registry is reported there)
        self.model_dir = Path(model_dir) if model_dir else None
        self._model_from = (lambda: self.registry.active_dir()) if registry else default_model_dir
        self.store_location = store_location if store_location is not None else (self.settings.store_location or None)
        self.actor = actor or current_user()
        self.pool = QThreadPool.globalInstance()
        self.engine = None
        self.store = None
        self.account = None
        self.references: list = []
        self.reference_canvases: dict[int, np.ndarray] = {}
        self.questioned_image: np.ndarray | None = None
        self.questioned_name = ""
        self.last_verification = None
        self.workers: list[Worker] = []
        self._build()
        self._build_actions()
        QTimer.singleShot(0, self.load_backend)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setStyleSheet("background: #fdecea; color: #611a15; padding: 6px; border-radius: 4px")
        self.guide = QLabel("")  # first start: what to set up, in order (hidden once an account exists)
        self.guide.setWordWrap(True)
        self.guide.setVisible(False)
        self.guide.setStyleSheet("background: #e3f2fd; color: #0d47a1; padding: 8px; border-radius: 4px")
        self.account_panel = AccountPanel()
        self.crop_view = CropView()
        self.preview = QLabel("The model's view of the signature appears here")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(110)
        self.preview.setToolTip("Exactly what the model sees: the crop after cleaning and normalising")
        self.page_label = QLabel("")
        self.verify_button = QPushButton("Verify (F5)")
        self.verify_button.setToolTip("Compare the questioned signature with the account's references (F5)")
        self.verify_button.setEnabled(False)
        self.verify_button.clicked.connect(self.verify)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setVisible(False)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.addWidget(QLabel("Questioned signature"))
        centre_layout.addWidget(self.crop_view, 3)
        centre_layout.addWidget(self.page_label)
        centre_layout.addWidget(QLabel("Model input"))
        centre_layout.addWidget(self.preview, 1)
        centre_layout.addWidget(self.verify_button)
        self.result_panel = ResultPanel()
        self.result_panel.decisionMade.connect(self.record_decision)
        self.history = QTableWidget(0, 6)
        self.history.setHorizontalHeaderLabels(["#", "When", "By", "File", "Verdict", "Decision"])
        self.history.horizontalHeader().setStretchLastSection(True)
        self.history.setWordWrap(True)
        self.history.setTabKeyNavigation(False)
        self.history.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.history.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.history_rows: list[dict] = []
        self.propose_button = QPushButton("Propose as specimen…")
        self.propose_button.setToolTip("A signature accepted as genuine becomes a new specimen of the signatory it "
                                       "matched once a second supervisor approves it (supervisors)")
        self.propose_button.setEnabled(False)
        self.history.itemSelectionChanged.connect(self.history_selection_changed)
        self.propose_button.clicked.connect(self.propose_clicked)
        self.history_tab = QWidget()
        history_layout = QVBoxLayout(self.history_tab)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addWidget(self.history)
        history_layout.addWidget(self.propose_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.result_panel, "Result")
        self.tabs.addTab(self.history_tab, "History")
        from sigverify.gui.document_panel import DocumentResultPanel

        self.document_panel = DocumentResultPanel()
        self.tabs.addTab(self.document_panel, "Document")
        self.identity = None  # the signed-in user (Actor), if any
        splitter = QSplitter()
        splitter.addWidget(self.account_panel)
        splitter.addWidget(centre)
        splitter.addWidget(self.tabs)
        splitter.setSizes([320, 560, 480])
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.addWidget(self.guide)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(root)
        self.model_status = QLabel("Loading model…")
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.model_status)
        self.account_panel.search.textChanged.connect(self.search_accounts)
        self.account_panel.accountChosen.connect(self.open_account)
        self.account_panel.enrolRequested.connect(self.enrol_dialog)
        self.account_panel.retireRequested.connect(self.retire_specimen)
        self.account_panel.newAccountRequested.connect(self.new_account_dialog)
        self.crop_view.boxChanged.connect(lambda _box: self.crop_changed())
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._watched_folder_changed)
        self._watched_seen: set[str] = set()

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or plain_label(text))
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action(file_menu, "&Open questioned signature…", self.open_dialog,
                                        QKeySequence.StandardKey.Open, "Open a scanned page or signature image")
        self._action(file_menu, "&Paste from clipboard", self.paste, QKeySequence.StandardKey.Paste,
                     "Use an image copied to the clipboard")
        self._action(file_menu, "&Watch scanner folder…", self.choose_watch_folder, None,
                     "New files saved by the scanner into this folder open automatically")
        self._action(file_menu, "&Capture from camera…", self.camera_dialog, "Ctrl+K",
                     "Take a still picture with a camera or document camera")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        account_menu = bar.addMenu("A&ccount")  # Alt+A is the Accept button's
        self._action(account_menu, "&Find account", lambda: self.account_panel.search.setFocus(), "Ctrl+F")
        self._action(account_menu, "&New account…", self.new_account_dialog, "Ctrl+N")
        self._action(account_menu, "&Enrol references…", self.enrol_dialog, "Ctrl+E")
        verify_menu = bar.addMenu("&Verify")
        self.verify_action = self._action(verify_menu, "&Verify", self.verify, "F5",
                                          "Compare the questioned signature with the references")
        self._action(verify_menu, "&Find signature on page", self.propose_box, "Ctrl+B",
                     "Propose the signature's box again")
        self._action(verify_menu, "Find &all signatures on the document", self.propose_all_boxes, "Ctrl+Shift+B",
                     "Propose a box for every signature; Shift+drag marks one more")
        self._action(verify_menu, "Verify &document with amount…", self.document_dialog, "Ctrl+D",
                     "Check every marked signature (or every one found) against the mandate for an amount")
        self._action(verify_menu, "&Who signed this?…", self.identify_dialog, "Ctrl+I",
                     "Rank every enrolled person by how close the questioned signature is, or say no match")
        user_menu = bar.addMenu("&User")
        self._action(user_menu, "&Sign in…", self.sign_in_dialog, "Ctrl+L", "Sign in as a clerk or supervisor")
        self._action(user_menu, "Sign &out", self.sign_out)
        supervisor_menu = bar.addMenu("&Supervisor")
        self._action(supervisor_menu, "&Review queue…", self.review_queue, "Ctrl+R",
                     "Documents waiting for a supervisor's decision")
        self._action(supervisor_menu, "&Signing rules…", self.rule_editor, None,
                     "The open account's signatories and signing rule; approve pending changes")
        self._action(supervisor_menu, "&Audit trail…", self.audit_dialog, None,
                     "Whether the audit trail is intact, its newest records, and a CSV export")
        self._action(supervisor_menu, "&Users…", self.users_dialog, None,
                     "Add users, set a clerk's password, change a role, approve a new supervisor")
        self.model_menu = bar.addMenu("&Model")
        self._action(self.model_menu, "&Train new model…", self.train_wizard, None,
                     "Retrain from a dataset folder, choose the threshold and activate the new model")
        self._action(self.model_menu, "&Manage models…", self.models_dialog, None,
                     "See the models on this computer; activate one or roll back")
        tools = bar.addMenu("&Tools")
        self._action(tools, "&Settings…", self.settings_dialog, QKeySequence.StandardKey.Preferences)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About SigVerify", lambda: show_about(self, self.model_status.text()))

    # ------------------------------------------------------------------ messages and workers
    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)
        self.statusBar().showMessage(text, 10000)

    def clear_error(self) -> None:
        self.message.setVisible(False)
        self.message.setText("")

    def show_failure(self, failure: Failure) -> None:
        """A worker's failure under the window; a programming error keeps its traceback at hand."""
        self.show_error(failure.message)
        self.message.setToolTip(failure.traceback)

    def run_worker(self, worker: Worker, on_done, busy: str = "", on_failure=None) -> Worker:
        """Start long work off the UI thread; ``on_done(result)`` runs on the UI thread afterwards."""
        self.workers.append(worker)
        if busy:
            self.statusBar().showMessage(busy)
            self.progress.setRange(0, 0)
            self.progress.setVisible(True)
        return launch(worker, self.pool, returned=on_done, errored=on_failure or self.show_failure,
                      progress=self._progress, finished=lambda w=worker: self._worker_ended(w, busy))

    def _worker_ended(self, worker: Worker, busy: str = "") -> None:
        """Always last (after the result or the failure was shown): hide the busy state, keep
        any message the result put in the status bar."""
        if worker in self.workers:
            self.workers.remove(worker)
        if not self.workers:
            self.progress.setVisible(False)
            if busy and self.statusBar().currentMessage() == busy:
                self.statusBar().clearMessage()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def busy(self) -> bool:
        return bool(self.workers)

    # ------------------------------------------------------------------ model and store
    def load_backend(self) -> None:
        started = time.perf_counter()

        def load():
            folder = self.model_dir or self._model_from()
            return open_store(self.store_location), load_model(folder, self.settings.provider), folder

        def done(result):
            self.store, self.engine, self.model_dir = result
            self.model_status.setText(f"Model {self.engine.version} · {self.engine.provider_description}")
            self.model_status.setToolTip(f"Loaded from {self.model_dir} in {time.perf_counter() - started:.2f} s")
            self.search_accounts(self.account_panel.search.text())
            self._update_enabled()
            self.backendReady.emit(time.perf_counter() - started)

        def failed(failure: Failure):
            text = failure.message
            self.model_status.setText("No model loaded")
            # the store may still open without a model: accounts can be browsed
            try:
                self.store = self.store or open_store(self.store_location)
                self.search_accounts("")
            except SigVerifyError as exc:
                text = f"{text}\n{exc}"
            self.show_error(text)

        self.run_worker(Worker(load), done, "Loading model and store…", on_failure=failed)

    def _update_enabled(self) -> None:
        ready = self.engine is not None and self.account is not None and self.questioned_image is not None
        self.verify_button.setEnabled(ready)
        self.verify_action.setEnabled(ready)

    # ------------------------------------------------------------------ accounts
    def search_accounts(self, text: str) -> None:
        if self.store is None:
            return
        try:
            found = self.store.find_accounts(text)
            self.account_panel.show_accounts(found)
            if not text:
                self.show_guide(first_start_text(self.store.users.count(), self.actor) if not found else "")
        except SigVerifyError as exc:
            self.show_error(str(exc))

    def show_guide(self, text: str) -> None:
        self.guide.setText(text)
        self.guide.setVisible(bool(text))

    def open_account(self, number: str) -> None:
        if self.store is None:
            return
        try:
            self.account = self.store.account(number)
            self.references = self.store.references(number)
            images = [load_image(self.store.reference_image(r.id)).pixels for r in self.references]
            crops = [crop(image, r.box) for image, r in zip(images, self.references)]
            owners = mandates_of(self.store).reference_signatories(number)
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return
        self.account_panel.show_references(self.account, list(zip(self.references, crops)), owners,
                                           self.specimen_note(owners))
        if self.engine is not None:
            params = self.engine.manifest.preprocessing
            self.reference_canvases = {r.id: preprocess(image, params) for r, image in zip(self.references, images)}
        self.leave_verification()
        self.refresh_history()
        self._update_enabled()

    def leave_verification(self) -> None:
        """The verdict shown no longer applies (new file, crop or account). A verification left without
        the clerk's decision is said so, and History keeps it marked as undecided."""
        shown = self.last_verification
        if shown is not None and self.result_panel.reject_button.isEnabled():
            self.statusBar().showMessage(f"Verification #{shown.verification_id} was left without a decision: "
                                         "History lists it as undecided", 10000)
        self.result_panel.clear()
        self.last_verification = None

    def new_account_dialog(self) -> None:
        if self.store is None:
            return
        dialog = NewAccountDialog(self)
        if dialog.exec():
            self.create_account(dialog.number.text(), dialog.name.text())

    def create_account(self, number: str, holder: str) -> None:
        """A new account, created as the signed-in user."""
        try:
            account = self.store.add_account(number, holder, self.acting)
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return
        self.show_guide("")
        self.account_panel.search.setText(account.number)
        self.open_account(account.number)

    def verify(self) -> Worker | None:
        if self.engine is None or self.account is None or self.questioned_image is None or self.crop_view.box is None:
            self.show_error("Open an account and a questioned signature first")
            return None
        try:
            questioned = self.questioned_crop()
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return None
        encoded = png_bytes(questioned)
        number, name, shown = self.account.number, self.questioned_name, set(self.reference_canvases)
        self.verify_button.setEnabled(False)
        store, engine, actor, problems = self.store, self.engine, self.acting, self.questioned_problems()

        def work():
            """Everything that touches the store or preprocesses, here off the UI thread."""
            result = services.verify_against_account(store, engine, number, encoded, actor, name, None, problems)
            refs = {r.id: r for r in store.references(number, active_only=False)}
            canvases = {i: preprocess(load_image(store.reference_image(i)).pixels, engine.manifest.preprocessing)
                        for i in result.reference_ids if i not in shown}
            return result, [refs[i] for i in result.reference_ids], canvases, \
                preprocess(questioned, engine.manifest.preprocessing), account_history(store, number), \
                rule_beyond_one_signature(store, number)

        def done(outcome):
            result, references, canvases, canvas, history, beyond = outcome
            self.last_verification = result
            self.verified_by = getattr(actor, "name", actor)  # who made it (nobody overrules their own)
            self.reference_canvases.update(canvases)
            self.result_panel.show_result(result.decision, references, self.reference_canvases, canvas,
                                          signatory=result.signatory, problems=result.problems)
            if beyond:  # one signature cannot clear this account's cheques: its rule decides, with the amount
                self.result_panel.hold_accept(beyond)
            self.tabs.setCurrentWidget(self.result_panel)
            if self.account is not None and self.account.number == number:
                self.show_history(history)
            self._update_enabled()

        def failed(failure: Failure):
            self.show_failure(failure)
            self._update_enabled()

        return self.run_worker(Worker(work), done, "Verifying…", on_failure=failed)

    def closeEvent(self, event) -> None:  # noqa: N802
        for worker in self.workers:
            worker.cancel()
        self.pool.waitForDone(3000)
        if self.store is not None and not self.workers:  # the store process checkpoints and ends
            self.store.close()
        super().closeEvent(event)

