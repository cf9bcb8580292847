"""Workers report like napari's: started, progress, returned or errored, and always finished last."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QThreadPool  # noqa: E402

from sigverify.errors import StoreError  # noqa: E402
from sigverify.gui.workers import Failure, Worker, launch  # noqa: E402


def _run(qtbot, function, **kwargs):
    """Launch a worker with every handler recording what arrived, in order, and on which thread."""
    events = []
    worker = Worker(function, **kwargs)
    worker.signals.started.connect(lambda: events.append(("started", None)))
    with qtbot.waitSignal(worker.signals.finished, timeout=10000):
        launch(worker, QThreadPool.globalInstance(),
               returned=lambda result: events.append(("returned", result)),
               errored=lambda failure: events.append(("errored", failure)),
               progress=lambda done, total: events.append(("progress", (done, total))),
               finished=lambda: events.append(("finished", threading.get_ident())))
    qtbot.waitUntil(lambda: events and events[-1][0] == "finished", timeout=5000)
    return worker, events


def test_a_result_arrives_between_started_and_finished_on_the_ui_thread(qtbot):
    def work(progress, should_stop):
        progress(1, 2)
        progress(2, 2)
        return threading.get_ident()

    worker, events = _run(qtbot, work, with_progress=True)
    kinds = [kind for kind, _ in events]
    assert kinds == ["started", "progress", "progress", "returned", "finished"]
    assert events[1][1] == (1, 2)
    assert events[3][1] == worker.thread_id != threading.get_ident()  # the work ran on a pool thread
    assert events[4][1] == threading.get_ident()  # handlers run on the UI thread


def test_a_users_error_arrives_as_its_message_without_a_traceback(qtbot):
    def work():
        raise StoreError("account NL-9 does not exist")

    _, events = _run(qtbot, work)
    assert [kind for kind, _ in events] == ["started", "errored", "finished"]
    failure = events[1][1]
    assert isinstance(failure, Failure) and not failure.unexpected
    assert failure.message == "account NL-9 does not exist" and isinstance(failure.exception, StoreError)


def test_a_programming_error_relays_its_traceback_and_still_finishes(qtbot):
    def broken_step():
        return {}["missing"]

    _, events = _run(qtbot, broken_step)
    assert [kind for kind, _ in events] == ["started", "errored", "finished"]
    failure = events[1][1]
    assert failure.unexpected and "KeyError" in failure.traceback and "broken_step" in failure.traceback
    assert failure.message.startswith("Unexpected error")
