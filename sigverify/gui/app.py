"""Start the desktop app: the window appears at once; the model loads in the background."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def run(model_dir: str | None = None, store: str | None = None, screenshot: str | None = None,
        quit_after_ms: int = 0, report_startup: bool = False) -> int:
    started = time.perf_counter()
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from sigverify.gui.main_window import MainWindow

    QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SigVerify")
    app.setOrganizationName("SigVerify")
    window = MainWindow(model_dir=Path(model_dir) if model_dir else None, store_location=store)
    window.show()
    shown = time.perf_counter() - started
    if report_startup:  # for bench/speed.py: one line when interactive, one when the model is in
        print(f"window-shown {shown:.3f}", flush=True)
        window.backendReady.connect(lambda seconds: print(f"model-loaded {seconds:.3f}", flush=True))
    window.statusBar().showMessage(f"Ready in {shown:.2f} s", 3000)
    if screenshot or quit_after_ms:
        def finish():
            if screenshot:
                window.grab().save(screenshot)
            app.quit()

        QTimer.singleShot(max(quit_after_ms, 1), finish)
    return app.exec()
