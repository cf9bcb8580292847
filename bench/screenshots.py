"""Screenshots of the main window's states with the shipped model and the bundled samples.

    QT_QPA_PLATFORM=offscreen python bench/screenshots.py [OUT_DIR]   (default assets/screenshots)

States: empty, result for a genuine sample, result for a forged sample, an error (corrupt file).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from sigverify import services
    from sigverify.gui.main_window import MainWindow
    from sigverify.gui.settings import AppSettings
    from sigverify.inference.engine import EmbeddingEngine
    from sigverify.paths import shipped_model_dir
    from sigverify.store.repository import Store

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "assets" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    samples = REPO / "assets" / "samples"
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "demo.db"))
        store.add_account("NL91-0417-1648-22", "M. de Vries", "demo")
        engine = EmbeddingEngine(shipped_model_dir())
        services.enroll_files(store, engine, "NL91-0417-1648-22",
                              [samples / f"reference_{i}.png" for i in (1, 2, 3)], "demo")
        store.close()
        settings = AppSettings(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(model_dir=shipped_model_dir(), store_location=str(Path(tmp) / "demo.db"),
                            settings=settings, actor="clerk")
        window.show()

        def wait(condition, seconds=20.0):
            import time

            end = time.time() + seconds
            while not condition() and time.time() < end:
                app.processEvents()
                time.sleep(0.01)
            app.processEvents()

        wait(lambda: window.engine is not None)
        window.grab().save(str(out / "01-empty.png"))
        window.account_panel.search.setText("vries")
        window.open_account("NL91-0417-1648-22")
        for name, shot in (("page_with_signature.jpg", "02-result-genuine.png"),
                           ("questioned_forged.png", "03-result-forged.png")):
            window.load_questioned_file(samples / name)
            window.last_verification = None
            window.verify()
            wait(lambda: window.last_verification is not None and not window.busy())
            window.grab().save(str(out / shot))
            print(f"{shot}: {window.last_verification.decision.verdict} "
                  f"(distance {window.last_verification.decision.distance:.4f})")
        corrupt = Path(tmp) / "scan_0042.png"
        corrupt.write_bytes((samples / "reference_1.png").read_bytes()[:700])
        window.load_questioned_file(corrupt)
        window.grab().save(str(out / "04-error.png"))
        window.close()
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
