"""Who signed this? The real window, the shipped model and a real store, offscreen with pytest-qt."""

from __future__ import annotations

import cv2
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QSettings  # noqa: E402

from sigverify import services  # noqa: E402
from sigverify.gui.main_window import MainWindow  # noqa: E402
from sigverify.gui.settings import AppSettings  # noqa: E402
from sigverify.identify import forget_indexes  # noqa: E402
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.paths import shipped_model_dir  # noqa: E402
from sigverify.store.identifications import IdentificationLog  # noqa: E402
from sigverify.store.repository import Store  # noqa: E402
from sigverify.synthetic import SyntheticWriter  # noqa: E402
from tests.gui.shots import save_screenshot  # noqa: E402

HOLDERS = {"NL-2001": ("Maria Jansen", 61), "NL-2002": ("Piet de Vries", 62), "NL-2003": ("Anna Bakker", 63)}


@pytest.fixture
def window(qtbot, tmp_path, rng):
    forget_indexes()
    store = Store(str(tmp_path / "store.db"))
    engine = EmbeddingEngine(shipped_model_dir(), provider="cpu")
    for number, (holder, seed) in HOLDERS.items():
        store.add_account(number, holder, "setup")
        paths = []
        for i in range(5):
            paths.append(tmp_path / f"{number}-{i}.png")
            cv2.imwrite(str(paths[-1]), SyntheticWriter(seed).genuine(rng))
        services.enroll_files(store, engine, number, paths, "setup")
    store.close()
    for name, seed in (("piet", 62), ("stranger", 99)):
        cv2.imwrite(str(tmp_path / f"{name}.png"), SyntheticWriter(seed).genuine(rng))
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(model_dir=shipped_model_dir(), store_location=str(tmp_path / "store.db"), settings=settings,
                     actor="clerk1")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None and win.store is not None, timeout=20000)
    win.tmp = tmp_path
    return win


def _identify(qtbot, win, name):
    assert win.load_questioned_file(win.tmp / f"{name}.png")
    dialog = win.identify_dialog()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.search_button.isEnabled(), timeout=20000)
    return dialog


def test_who_signed_this_names_the_account_shows_its_specimens_and_is_recorded(qtbot, window):
    dialog = _identify(qtbot, window, "piet")
    assert dialog.table.rowCount() == 3  # every enrolled person, closest first
    assert dialog.table.item(0, 0).text() == "NL-2002" and dialog.table.item(0, 4).text() == "within threshold"
    assert "account NL-2002" in dialog.verdict.text()
    assert dialog.gallery.count() >= 3  # the closest specimens of the selected person, beside the questioned one
    save_screenshot(dialog, "who_signed_this")
    dialog.close()
    stranger = _identify(qtbot, window, "stranger")
    assert stranger.verdict.text().startswith("No match found")
    store = Store(str(window.tmp / "store.db"))
    try:
        recent = IdentificationLog(store).recent()
        assert [r["matched_account"] for r in recent] == ["", "NL-2002"]  # both recorded, newest first
        assert all(r["created_by"] == "clerk1" for r in recent) and store.verify_audit().ok
    finally:
        store.close()
