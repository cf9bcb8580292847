"""Start the desktop app: the window appears at once; the model loads in the background."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def screen_available() -> bool:
    """On Linux, Qt aborts the process when there is no display; look before starting it."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(model_dir: str | None = None, store: str | None = None, screenshot: str | None = None,
        quit_after_ms: int = 0, report_startup: bool = False) -> int:
    started = time.perf_counter()
    if not screen_available():
        print("sigverify: no screen found (DISPLAY is not set). Start it from a desktop session, set "
              "QT_QPA_PLATFORM=offscreen, or use the command line: sigverify --help", file=sys.stderr)
        return 64
    if sys.platform.startswith("linux") and os.environ.get("QT_QPA_PLATFORM", "xcb") == "xcb" \
            and os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        from sigverify.gui.desktop_libraries import advice, missing_packages

        missing = missing_packages()
        if missing:
            print(advice(missing), file=sys.stderr)
            return 64
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
        # interactive = the event loop has run once after show() (show() returns before anything is painted)
        QTimer.singleShot(0, lambda: print(f"window-interactive {time.perf_counter() - started:.3f}", flush=True))
        window.backendReady.connect(lambda seconds: print(f"model-loaded {seconds:.3f}", flush=True))
    window.statusBar().showMessage(f"Ready in {shown:.2f} s", 3000)
    if screenshot or quit_after_ms:
        def finish():
            if screenshot:
                window.grab().save(screenshot)
            app.quit()

        QTimer.singleShot(max(quit_after_ms, 1), finish)
    return app.exec()
