"""The supervisor's side of the main window: who is signed in, the review queue, signing rules,
documents with amounts, models (train, manage, activate) and settings. Mixed into the main window."""

from __future__ import annotations

from pathlib import Path


from sigverify import services
from sigverify.errors import SigVerifyError
from sigverify.gui.backend import load_model
from sigverify.gui.dialogs import SettingsDialog
from sigverify.gui.workers import Worker
from sigverify.imaging.decode import png_bytes
from sigverify.store.mandates import mandates_of
from sigverify.inference.trust import is_shipped


class BackOffice:
    """The main window's users, mandates, models and settings part."""

    @property
    def acting(self):
        """Who every action of the window is done and recorded as: the signed-in user (an Actor),
        else the OS user's name (which the store maps, or refuses in four-eyes mode)."""
        return self.identity if self.identity is not None else self.actor

    def current_actor(self):
        """The signed-in user, else the OS user as the store maps it (raises if they must sign in)."""
        if self.identity is not None:
            return self.identity
        return self.store.users.os_user(self.actor)

    def sign_in_dialog(self):
        from sigverify.gui.mandate_dialogs import SignInDialog

        dialog = SignInDialog(self, self.store)
        dialog.accepted.connect(lambda: self.signed_in(dialog.actor))
        dialog.open()
        return dialog

    def signed_in(self, actor) -> None:
        self.identity = actor
        self.clear_error()  # a message meant for the previous user does not stay into this one's session
        self.statusBar().showMessage(f"Signed in as {actor.name} ({actor.role})", 8000)
        self.setWindowTitle(f"SigVerify — {actor.name} ({actor.role})")

    def sign_out(self) -> None:
        self.identity = None
        self.clear_error()
        self.setWindowTitle("SigVerify")

    def _need(self, what: str):
        try:
            return self.current_actor()
        except SigVerifyError as exc:
            self.show_error(f"{exc}. Sign in (Ctrl+L) to {what}.")
            return None

    def _supervisor_dialog(self, what: str, whose: str, dialog_class):
        """Open a supervisors' dialog as the signed-in supervisor; anyone else gets a message."""
        actor = self._need(what)
        if actor is None:
            return None
        if not actor.is_supervisor:
            self.show_error(f"{actor.name} is a {actor.role}: {whose}")
            return None
        dialog = dialog_class(self, self.store, actor)
        dialog.open()
        return dialog

    def review_queue(self):
        from sigverify.gui.mandate_dialogs import ReviewQueueDialog

        return self._supervisor_dialog("work the review queue", "the review queue is worked by supervisors",
                                       ReviewQueueDialog)

    def audit_dialog(self):
        from sigverify.gui.audit_dialog import AuditDialog

        return self._supervisor_dialog("see the audit trail", "the audit trail is checked by supervisors", AuditDialog)

    def users_dialog(self):
        from sigverify.gui.users_dialog import UsersDialog

        return self._supervisor_dialog("manage users", "users are managed by supervisors", UsersDialog)

    def retire_specimen(self, reference_id: int) -> None:
        """Retire a specimen from the gallery: at once in single-user mode; with users defined, as a
        request a second supervisor approves (Supervisor → Signing rules…)."""
        if self.store is None or self.account is None:
            return
        number = self.account.number
        try:
            if self.store.four_eyes():
                change = mandates_of(self.store).request(self.current_actor(), "retire", number,
                                                         {"reference_id": reference_id})
                self.statusBar().showMessage(f"Change #{change} requested: retire specimen #{reference_id}; "
                                             "a second supervisor must approve it", 8000)
                return
            self.store.retire(reference_id, self.acting)
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return
        self.statusBar().showMessage(f"Specimen #{reference_id} retired", 5000)
        self.open_account(number)

    def rule_editor(self):
        from sigverify.gui.mandate_dialogs import RuleEditorDialog

        actor = self._need("edit signing rules")
        if actor is None or self.account is None:
            if self.account is None:
                self.show_error("Open an account first")
            return None
        dialog = RuleEditorDialog(self, self.store, actor, self.account.number, engine=self.engine)
        dialog.open()
        return dialog

    def document_dialog(self):
        """Ask the amount, showing the band of the account's rule it falls under, then verify."""
        from sigverify.gui.dialogs import AmountDialog

        if self.store is None or self.account is None:
            self.show_error("Open an account and the scanned document first")
            return None
        try:
            mandate = mandates_of(self.store).mandate(self.account.number)
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return None
        dialog = AmountDialog(self, mandate)
        dialog.accepted.connect(lambda: self.verify_document(dialog.amount.text()))
        dialog.open()
        return dialog

    def verify_document(self, amount: str) -> Worker | None:
        """Every signature on the questioned page, against the account's mandate for this amount."""
        from sigverify.mandates.document import decide_document

        actor = self._need("verify documents")
        if actor is None:
            return None
        if self.engine is None or self.account is None or self.questioned_image is None:
            self.show_error("Open an account and the scanned document first")
            return None
        image = self.questioned_image
        encoded = png_bytes(image)
        number, name = self.account.number, self.questioned_name
        # the boxes the clerk chose (one drawn box, Shift+drag for more, or "Find all signatures"),
        # else every signature found on the page
        boxes = self.crop_view.all_boxes() if self.crop_view.chosen else None
        worker = Worker(lambda: decide_document(self.store, self.engine, actor, number, encoded, amount,
                                                boxes=boxes, filename=name))

        def done(decision):
            self.last_document = decision
            self.document_panel.show_decision(decision, image)
            self.tabs.setCurrentWidget(self.document_panel)
            self.refresh_history()  # the document is in History at once, not when the account is reopened

        return self.run_worker(worker, done, "Verifying the document…")

    def identify_dialog(self):
        """Who signed this? The questioned signature (the box, if one is drawn) against everyone enrolled."""
        from sigverify.gui.identify_dialog import IdentifyDialog

        actor = self._need("identify signatures")
        if actor is None:
            return None
        if self.engine is None or self.questioned_image is None:
            self.show_error("Open a questioned signature first")
            return None
        image = self.questioned_crop() if self.crop_view.box else self.questioned_image
        dialog = IdentifyDialog(self, self.store, self.engine, actor, image, self.questioned_name)
        dialog.open()
        dialog.search()
        return dialog

    # ------------------------------------------------------------------ models
    def train_wizard(self, workdir: Path | None = None):
        from sigverify.gui.wizard import TrainWizard

        self.wizard = TrainWizard(self, store=self.store, registry=self.registry, workdir=workdir,
                                  on_activate=self.activate_model)
        self.wizard.open()
        return self.wizard

    def models_dialog(self):
        from sigverify.gui.models_dialog import ModelsDialog

        dialog = ModelsDialog(self, self.registry, self.activate_model)
        dialog.open()
        return dialog

    def activate_model(self, folder: Path) -> Worker:
        """Load the newly active model in the background, record it, refresh the embedding cache.
        Where users are defined one supervisor only requests it: the model in use stays until a
        second supervisor approves (Supervisor → Signing rules…, pending changes)."""
        previous = self.engine.version if self.engine is not None else None
        self.model_dir = Path(folder)
        self.model_status.setText("Loading model…")
        acting = self.acting  # the supervisor who activates it, read here on the UI thread

        def load(progress, should_stop):
            engine = load_model(self.model_dir, self.settings.provider)
            if self.store is not None:
                requested = []
                if not is_shipped(engine.folder_digest):  # a supervisor activating a model vouches for it
                    requested.append(self.store.approve_model(engine.version, engine.folder_digest, acting))
                requested.append(self.store.activate_model(engine.version, engine.manifest.sha256, acting))
                requested = [c for c in requested if c is not None]
                if requested:
                    return engine, requested
                services.refresh_embeddings(self.store, engine, progress=progress, should_stop=should_stop)
            return engine, []

        def done(result):
            engine, requested = result
            if requested:
                self._activation_requested(engine.version, requested, previous)
                return
            self.engine = engine
            self.model_status.setText(f"Model {engine.version} · {engine.provider_description}")
            self.statusBar().showMessage(f"Model {engine.version} is active; reference embeddings are up to date",
                                         8000)
            if self.account is not None:
                self.open_account(self.account.number)
            self.backendReady.emit(0.0)

        return self.run_worker(Worker(load, with_progress=True), done, "Activating the model…")

    def _activation_requested(self, version: str, changes: list[int], previous: str | None) -> None:
        """Four eyes: the model stays as it was on this computer too, and the window says so."""
        if previous is not None:
            try:
                self.model_dir = self.registry.activate(previous).folder
            except SigVerifyError:
                pass
        numbers = ", ".join(str(c) for c in changes)
        self.show_error(f"Activating model {version} is requested (change {numbers}): it takes effect when a second "
                        f"supervisor approves it (Supervisor → Signing rules…, pending changes). Model {previous or 'in use'} "
                        "stays active until then.")
        if self.engine is not None:
            self.model_status.setText(f"Model {self.engine.version} · {self.engine.provider_description}")

    # ------------------------------------------------------------------ settings
    def settings_dialog(self) -> None:
        if self.engine is None:
            self.show_error("The settings need a loaded model")
            return
        manifest = self.engine.manifest
        override = self.store.threshold_override(self.engine.version) if self.store else None
        dialog = SettingsDialog(self, override, manifest.threshold, manifest.threshold_range,
                                self.settings.store_location, self.settings.provider)
        if not dialog.exec():
            return
        self.settings.store_location = dialog.store.text()
        self.settings.provider = dialog.provider.currentText()
        value = dialog.threshold.value()
        new = None if abs(value - manifest.threshold) < 1e-9 else value
        if new != override:
            try:
                change = self.store.set_threshold(self.engine.version, new, manifest.threshold_range, self.acting)
                if change is not None:
                    self.show_error(f"The threshold change is requested (change {change}): it takes effect when a "
                                    "second supervisor approves it (Supervisor → Signing rules…, pending changes).")
            except SigVerifyError as exc:
                self.show_error(str(exc))
