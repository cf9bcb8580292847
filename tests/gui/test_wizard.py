"""The training wizard, walked page by page with a real training process on generated writers."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QMessageBox, QWizard  # noqa: E402

from sigverify import services  # noqa: E402
from sigverify.gui.main_window import MainWindow  # noqa: E402
from sigverify.gui.settings import AppSettings  # noqa: E402
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.inference.registry import ModelRegistry  # noqa: E402
from sigverify.store.repository import Store  # noqa: E402
from sigverify.synthetic import SyntheticWriter, write_dataset  # noqa: E402
from sigverify.verification.metrics import eer, far_frr  # noqa: E402
from tests.gui.shots import save_screenshot  # noqa: E402
from tests.helpers import approve_model, make_tiny_model  # noqa: E402




@pytest.fixture
def setup(qtbot, tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    shipped = make_tiny_model(tmp_path / "shipped")
    registry = ModelRegistry(tmp_path / "home" / "models", shipped)
    store = Store(str(tmp_path / "store.db"))
    approve_model(store, shipped)
    store.add_account("NL-9", "Wizard Test", "setup")
    writer = SyntheticWriter(77)
    files = []
    for n in range(4):
        files.append(tmp_path / f"ref{n}.png")
        cv2.imwrite(str(files[-1]), writer.genuine(rng))
    services.enroll_files(store, EmbeddingEngine(shipped), "NL-9", files[:3], "setup")
    store.close()
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(store_location=str(tmp_path / "store.db"), settings=settings, actor="supervisor",
                        registry=registry)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.engine is not None, timeout=15000)
    dataset = write_dataset(tmp_path / "data", writers=8, genuine=6, forged=3, seed=5)
    return {"window": window, "registry": registry, "dataset": dataset, "files": files, "tmp": tmp_path}


def _open_wizard(window):
    action = next(a for a in window.model_menu.actions() if a.text().startswith("&Train new model"))
    action.trigger()
    return window.wizard


def _scan(qtbot, wizard, folder):
    page = wizard.data_page
    page.folder.setText(str(folder))
    page.scan()
    qtbot.waitUntil(lambda: page.result is not None, timeout=20000)
    return page


@pytest.mark.slow
def test_walk_the_whole_wizard_then_activate_and_roll_back(qtbot, setup):
    window, registry = setup["window"], setup["registry"]
    assert window.engine.version == "tiny-test-1"
    wizard = _open_wizard(window)
    page = _scan(qtbot, wizard, setup["dataset"])
    assert page.writers_label.text().startswith("8 (8 usable")
    assert page.genuine_label.text() == "48" and page.forged_label.text() == "24"
    assert page.isComplete() and page.thumbs.count() == 6
    save_screenshot(wizard, "wizard-1-data")
    wizard.next()

    settings = wizard.settings_page
    settings.preset.setCurrentText("custom")
    settings.epochs.setValue(2)
    settings.steps.setValue(3)
    settings.batch.setValue(3)
    settings.validation.setValue(0.25)
    save_screenshot(wizard, "wizard-2-settings")
    wizard.next()  # starts the training process

    training = wizard.training_page
    qtbot.waitUntil(lambda: training.isComplete(), timeout=180000)
    assert training.status == "finished"
    assert training.progress.value() == training.progress.maximum() == 6
    xs, ys = training.loss_curve.getData()
    assert list(xs) == [1, 2] and np.all(np.isfinite(ys))
    assert len(training.eer_curve.getData()[1]) == 2
    save_screenshot(wizard, "wizard-3-training")
    wizard.next()

    evaluation = wizard.evaluation_page
    from sigverify.training.evaluate import evaluate_checkpoint

    own = evaluate_checkpoint(training.evaluation["checkpoint"])  # the training module's own evaluation
    own_eer = eer(own["genuine"], own["skilled"])[0]
    assert f"EER {100 * own_eer:.2f}%" in evaluation.eer_label.text()
    assert own["metrics"]["eer_skilled"] == pytest.approx(own_eer)
    # the model in use, measured on the same held-out writers, side by side (issue 14, item 11)
    from sigverify.training.evaluate import model_on_same_writers

    in_use = model_on_same_writers(setup["registry"].active_dir(), training.evaluation["checkpoint"])
    old = in_use["metrics"]["eer_skilled"]
    assert f"Model in use ({in_use['version']}) on the same writers: EER {100 * old:.2f}%" in evaluation.advice.text()
    assert "hence the different figure" in evaluation.advice.text()
    assert ("Only 2 held-out writer(s)" in evaluation.advice.text()) == (len(own["writers"]) == 2)
    evaluation.far_value.setValue(10.0)
    evaluation.far_button.click()
    assert evaluation.far_frr[0] <= 0.10
    before = (evaluation.threshold, evaluation.point.text())
    evaluation.slider.setValue(evaluation.slider.value() + 50)  # the slider moves the point live
    assert evaluation.threshold > before[0] and evaluation.point.text() != before[1]
    far, frr = far_frr(np.asarray(evaluation.genuine), np.asarray(evaluation.negatives), evaluation.threshold)
    assert evaluation.point.text() == (f"threshold {evaluation.threshold:.4f}: FAR {100 * far:.2f}%, "
                                       f"FRR {100 * frr:.2f}%")
    evaluation.eer_button.click()
    assert evaluation.threshold == pytest.approx(evaluation.eer_threshold)
    save_screenshot(wizard, "wizard-4-evaluation")
    wizard.next()

    export = wizard.export_page
    export.export_button.click()
    qtbot.waitUntil(lambda: export.activate_button.isEnabled(), timeout=120000)
    new_version = export.registered_version
    assert new_version in [e.version for e in registry.entries()]
    export.activate_button.click()  # never on one click: the new model beside the one in use (issue 31, item 6)
    question = export.confirmation
    assert f"EER is {100 * evaluation.eer_value:.2f}%" in question.text() and f"{100 * old:.2f}%" in question.text()
    assert ("WORSE" in question.text()) == (evaluation.eer_value > old)
    assert question.defaultButton() is question.button(QMessageBox.StandardButton.No)
    save_screenshot(question, "wizard-6-activation-question")
    question.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.engine.version == new_version and not window.busy(), timeout=30000)
    save_screenshot(wizard, "wizard-5-export")
    assert window.engine.manifest.threshold == pytest.approx(evaluation.threshold)
    wizard.accept()

    # the new model verifies in the main window; the store recomputed the embeddings for it
    window.account_panel.search.setText("NL-9")
    window.open_account("NL-9")
    assert window.load_questioned_file(setup["files"][3])
    window.verify()
    qtbot.waitUntil(lambda: window.last_verification is not None and not window.busy(), timeout=20000)
    history = Store(str(setup["tmp"] / "store.db")).history("NL-9")
    assert history[0]["model_version"] == new_version
    audit = Store(str(setup["tmp"] / "store.db")).export_audit_csv()
    assert "model.activate" in audit

    # rollback restores the previous model
    dialog = window.models_dialog()
    active = [dialog.list.item(i) for i in range(dialog.list.count()) if "← active" in dialog.list.item(i).text()]
    assert len(active) == 1 and new_version in active[0].text() and active[0].font().bold()
    assert dialog.minimumWidth() >= 640  # versions and figures are read in full
    dialog.rollback()
    qtbot.waitUntil(lambda: window.engine.version == "tiny-test-1" and not window.busy(), timeout=30000)
    assert registry.active_version() == "tiny-test-1"


@pytest.mark.slow
def test_cancel_keeps_the_window_responsive_and_registers_nothing(qtbot, setup):
    window, registry = setup["window"], setup["registry"]
    before = len(registry.entries())
    wizard = _open_wizard(window)
    _scan(qtbot, wizard, setup["dataset"])
    wizard.next()
    wizard.settings_page.epochs.setValue(50)
    wizard.settings_page.steps.setValue(200)
    wizard.next()
    training = wizard.training_page
    qtbot.waitUntil(lambda: training.steps_seen >= 2, timeout=60000)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    started = time.perf_counter()
    training.cancel_button.click()
    qtbot.waitUntil(lambda: not training.process.running(), timeout=20000)
    stopped_after = time.perf_counter() - started
    timer.stop()
    assert stopped_after < 15
    assert len(ticks) >= stopped_after / 0.02 * 0.5  # the event loop kept going while it stopped
    assert training.status == "cancelled" and not training.isComplete()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled() is False
    assert len(registry.entries()) == before  # no half-written model registered
    assert not list((training.out_dir).glob("model*"))
    wizard.reject()


@pytest.mark.parametrize("setup_kind,message", [
    ("empty", "no signature images found"),
    ("unreadable", "0 writer(s) with at least 2 readable genuine"),
    ("one_writer", "1 writer(s) with at least 2 readable genuine"),
])
def test_bad_dataset_folder_cannot_proceed(qtbot, setup, setup_kind, message):
    folder = setup["tmp"] / f"bad_{setup_kind}"
    folder.mkdir()
    if setup_kind == "unreadable":
        for writer in ("001", "002"):
            (folder / writer / "genuine").mkdir(parents=True)
            for n in range(3):
                (folder / writer / "genuine" / f"{n}.png").write_bytes(b"not an image")
    elif setup_kind == "one_writer":
        write_dataset(folder, writers=1, genuine=4, forged=1)
    wizard = _open_wizard(setup["window"])
    page = _scan(qtbot, wizard, folder)
    assert message in page.status.text()
    assert not page.isComplete()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    if setup_kind == "unreadable":
        assert "not an image" in page.problems.toPlainText()
    wizard.reject()


def test_activation_with_the_store_option_dataset(qtbot, setup):
    """The 'store + known forgeries' source turns enrolled references into a training folder."""
    from sigverify.training.wizard_data import store_dataset

    forgeries = setup["tmp"] / "forgeries" / "NL-9"
    forgeries.mkdir(parents=True)
    cv2.imwrite(str(forgeries / "f1.png"), SyntheticWriter(77).forgery(np.random.default_rng(0)))
    target = store_dataset(Store(str(setup["tmp"] / "store.db")), setup["tmp"] / "forgeries",
                           setup["tmp"] / "from_store")
    assert len(list((target / "NL-9" / "genuine").iterdir())) == 3
    assert (target / "NL-9" / "forged" / "f1.png").is_file()


def test_store_option_scans_in_the_background(qtbot, setup):
    wizard = _open_wizard(setup["window"])
    page = wizard.data_page
    page.store_mode.setChecked(True)
    worker = page.scan()
    assert worker is not None and page.result is None  # the writing and scanning run in the worker
    qtbot.waitUntil(lambda: page.result is not None, timeout=20000)
    assert page.genuine_label.text() == "3" and Path(page.dataset_path).is_dir()
    assert "at least 2" in page.status.text()  # one account is one writer: not enough to train
    wizard.reject()


def test_several_dataset_folders_are_checked_and_trained_as_one(qtbot, setup):
    """Add folder appends a second dataset; the scan counts both and the training config names both."""
    second = write_dataset(setup["tmp"] / "bank_b", writers=3, genuine=4, forged=1, seed=9)
    wizard = _open_wizard(setup["window"])
    page = _scan(qtbot, wizard, setup["dataset"])
    assert page.writers_label.text().startswith("8 ")
    page.result = None
    page.add_folder(str(second))
    qtbot.waitUntil(lambda: page.result is not None, timeout=20000)
    assert page.writers_label.text().startswith("11 ") and "several datasets" in page.writers_label.text()
    assert page.isComplete()
    config = wizard.settings_page.config(page.dataset_path, str(setup["tmp"] / "out"))
    assert config["datasets"] == [str(setup["dataset"]), str(second)]
    wizard.reject()


def test_the_evaluation_page_warns_about_few_writers_and_a_rising_validation_eer():
    from sigverify.gui.wizard_results import advice

    text = advice({"writers": ["a", "b"], "epoch": 1, "rule": "spread"}, 0.2, [0.14, 0.20, 0.48])
    assert "Only 2 held-out writer(s)" in text
    assert "rose from 14.0% (epoch 1) to 48.0% (last epoch)" in text
    calm = advice({"writers": list("abcdefgh"), "epoch": 2, "rule": "spread",
                   "in_use": {"version": "v1", "metrics": {"eer_skilled": 0.25}}}, 0.2, [0.30, 0.22, 0.21])
    assert "⚠" not in calm and "Model in use (v1) on the same writers: EER 25.00%" in calm and "better than" in calm


def test_activating_a_model_worse_than_the_one_in_use_is_said_before_it_happens():
    """Issue 31, item 6: the wizard's evaluation said 22.3% against 7.86%, and one click activated it."""
    from sigverify.gui.wizard_results import activation_question

    evaluation = {"in_use": {"version": "sigverify-old", "metrics": {"eer_skilled": 0.0786}}}
    text, worse = activation_question("sigverify-new", 0.223, evaluation)
    assert worse and "WORSE" in text and "22.30%" in text and "7.86%" in text and "sigverify-old" in text
    text, worse = activation_question("sigverify-new", 0.05, evaluation)
    assert not worse and "WORSE" not in text and "5.00%" in text
    text, worse = activation_question("sigverify-new", 0.05, {"in_use": {"error": "no model"}})
    assert not worse and "could not be measured" in text
