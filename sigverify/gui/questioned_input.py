"""Where the questioned signature comes from: a file, the clipboard, a drop, a watched folder or a
camera; the proposed box and the model's view of the crop. Mixed into the main window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog

from sigverify.errors import NoSignatureError, SigVerifyError
from sigverify.gui.dialogs import CameraDialog
from sigverify.gui.pictures import canvas_view, to_pixmap
from sigverify.imaging.decode import load_image, page_count
from sigverify.imaging.document import DocumentPage, read_document
from sigverify.imaging.page import PageInk, crop
from sigverify.imaging.preprocess import preprocess


IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


class QuestionedInput:
    """The main window's questioned-input part (uses the window's widgets and workers)."""

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Questioned signature", self.settings.watch_folder, IMAGE_FILTER)
        if path:
            self.load_questioned_file(Path(path))

    def load_questioned_file(self, path: Path, page: int | None = None) -> bool:
        """Load a file (asking for the page of a multipage TIFF); errors go to the message bar."""
        try:
            pages = page_count(path)
            if page is None and pages > 1:
                choice, ok = QInputDialog.getInt(self, "Multipage file", f"{path.name} has {pages} pages. Page:",
                                                 1, 1, pages)
                if not ok:
                    return False
                page = choice - 1
            image = load_image(path, page=page or 0).pixels
        except SigVerifyError as exc:
            self.forget_questioned()  # the previous signature and its verdict must not stay under the error
            self.page_label.setText(f"{path.name}: not usable")
            self.show_error(str(exc))
            return False
        self.page_label.setText(f"{path.name}" + (f", page {page + 1} of {pages}" if pages > 1 else ""))
        self.set_questioned(image, path.name)
        return True

    def set_questioned(self, image: np.ndarray, name: str) -> None:
        self.clear_error()
        self.questioned_image, self.questioned_name = image, name
        self.leave_verification()
        self.document_panel.clear()  # the previous cheque's outcome is not this one's
        self.propose_box()

    def forget_questioned(self) -> None:
        """No questioned signature: nothing shown, nothing to verify or decide."""
        self.questioned_image, self.questioned_name = None, ""
        self.crop_view.set_image(None, None)
        self.preview.clear()
        self.leave_verification()
        self._update_enabled()

    def crop_changed(self) -> None:
        """A new box is a new questioned signature: the verdict shown was for the old one."""
        if self.last_verification is not None:
            self.leave_verification()
        self.update_preview()

    def document(self) -> DocumentPage:
        """The questioned page read once (the one document path: colour, print, stamps, resolution);
        the proposal, "find all", the preview and the checks on every box change read it."""
        cached = getattr(self, "_document", None)
        if cached is None or cached[0] is not self.questioned_image:
            cached = (self.questioned_image, read_document(self.questioned_image))
            self._document = cached
        return cached[1]

    def page_ink(self) -> PageInk:
        """The analysed page's ink (print and field lines found); raises NoSignatureError on a blank page."""
        return self.document().ink

    def questioned_crop(self):
        """What is verified: the box's signature as the document path cleans it (print the strokes reach
        painted over, another hue's stamps and backgrounds taken out); raises SigVerifyError on an
        empty box."""
        box = self.crop_view.box
        try:
            return self.document().signature_in(box).image
        except NoSignatureError:  # no ink the page analysis counts: the plain crop, and its own error
            return crop(self.questioned_image, box)

    def questioned_problems(self) -> tuple[str, ...]:
        """Why the box's verdict would be unreliable (a stamp over the strokes, …): REFER with these."""
        if self.questioned_image is None or self.crop_view.box is None:
            return ()
        try:
            return self.document().signature_in(self.crop_view.box).problems
        except SigVerifyError:
            return ()

    def propose_box(self) -> None:
        if self.questioned_image is None:
            return
        try:
            box = self.document().signatures(1)[0].box
        except SigVerifyError as exc:
            self.crop_view.set_image(self.questioned_image, None)
            self.show_error(str(exc))
            self.preview.clear()
            self._update_enabled()
            return
        self.crop_view.set_image(self.questioned_image, box)
        self.update_preview()

    def propose_all_boxes(self) -> None:
        if self.questioned_image is None:
            return
        try:
            self.crop_view.set_boxes([found.box for found in self.document().signatures()])
        except SigVerifyError as exc:
            self.show_error(str(exc))
            return
        self.update_preview()

    def update_preview(self) -> None:
        """Show exactly what the model will see for the current box."""
        if self.questioned_image is None or self.crop_view.box is None or self.engine is None:
            self._update_enabled()
            return
        try:
            printed = self.document().printed_share(self.crop_view.box)
        except SigVerifyError:  # the page as a whole shows no ink the finder counts: nothing to warn of
            printed = 0.0
        if printed > 0.5:  # print is painted over before verifying: nothing would be left to verify
            self.preview.clear()
            self.show_error("The box looks like printed text, not a handwritten signature: move it onto the "
                            "signature before verifying")
            self.verify_button.setEnabled(False)
            return
        try:
            canvas = preprocess(self.questioned_crop(), self.engine.manifest.preprocessing)
        except SigVerifyError as exc:
            self.preview.clear()
            self.show_error(str(exc))
            self.verify_button.setEnabled(False)
            return
        problems = self.questioned_problems()
        if problems:  # verifying is allowed: the verdict will be REFER with this reason
            self.show_error("Check before verifying: " + "; ".join(problems))
        else:
            self.clear_error()
        self.preview.setPixmap(to_pixmap(canvas_view(canvas), max(self.preview.width(), 192),
                                         max(self.preview.height(), 96)))
        self._update_enabled()

    def paste(self) -> None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.show_error("The clipboard holds no image")
            return
        image = image.convertToFormat(image.Format.Format_RGB888)
        width, height = image.width(), image.height()
        data = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())[:, : 3 * width]
        self.page_label.setText("Pasted image")
        self.set_questioned(data.reshape(height, width, 3).copy(), "clipboard.png")

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.load_questioned_file(Path(urls[0].toLocalFile()))

    def choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Scanner folder", self.settings.watch_folder)
        if folder:
            self.watch_folder(Path(folder))

    def watch_folder(self, folder: Path) -> None:
        if self.watcher.directories():
            self.watcher.removePaths(self.watcher.directories())
        self._watched_seen = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        self.watcher.addPath(str(folder))
        self.settings.watch_folder = str(folder)
        self.statusBar().showMessage(f"Watching {folder} for new scans", 5000)

    def _watched_folder_changed(self, folder: str) -> None:
        new = [p for p in Path(folder).iterdir() if p.name not in self._watched_seen
               and p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
        for path in sorted(new, key=lambda p: p.stat().st_mtime):
            self._wait_until_written(path)
        if new:
            self._watched_seen.update(p.name for p in new)

    def _wait_until_written(self, path: Path, last_size: int = -1, tries: int = 0) -> None:
        """A scanner writes a file over time: open it once its size stops changing."""
        size = path.stat().st_size if path.exists() else -1
        if size > 0 and size == last_size or tries > 20:
            self.load_questioned_file(path)
            return
        QTimer.singleShot(150, lambda: self._wait_until_written(path, size, tries + 1))

    def camera_dialog(self, sources: list | None = None) -> CameraDialog:
        dialog = CameraDialog(self, sources)
        dialog.accepted.connect(lambda: self._camera_frame(dialog.frame) if dialog.frame is not None else None)
        dialog.open()
        return dialog

    def _camera_frame(self, frame: np.ndarray) -> None:
        self.page_label.setText("Camera picture")
        self.set_questioned(frame, "camera.png")
