"""Long work off the UI thread: a QRunnable that reports through signals (napari's pattern).

Workers never touch widgets; the window connects to their signals, which Qt delivers on the
UI thread. A user-caused error arrives as a message; a programming error as a message too,
with its traceback logged, so the window never dies with the worker.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from sigverify.errors import SigVerifyError

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)
    errored = Signal(str)


class Worker(QRunnable):
    """Runs ``function(*args, progress=..., should_stop=...)`` when it accepts those keywords."""

    def __init__(self, function: Callable[..., Any], *args, with_progress: bool = False, **kwargs) -> None:
        super().__init__()
        self.function, self.args, self.kwargs = function, args, kwargs
        self.signals = WorkerSignals()
        self.cancelled = threading.Event()
        self.with_progress = with_progress
        self.thread_id: int | None = None

    def run(self) -> None:
        self.thread_id = threading.get_ident()
        try:
            if self.with_progress:
                self.kwargs.update(progress=lambda done, total: self.signals.progress.emit(int(done), int(total)),
                                   should_stop=self.cancelled.is_set)
            result = self.function(*self.args, **self.kwargs)
        except SigVerifyError as exc:
            self.signals.errored.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the window must survive any worker failure
            log.error("worker failed:\n%s", traceback.format_exc())
            self.signals.errored.emit(f"Unexpected error: {exc}")
        else:
            self.signals.finished.emit(result)

    def cancel(self) -> None:
        self.cancelled.set()


def start(worker: Worker, pool: QThreadPool | None = None) -> Worker:
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker
