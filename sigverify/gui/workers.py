"""Long work off the UI thread: a QRunnable that reports through signals (napari's pattern).

A worker emits ``started``, then ``progress`` as it goes, then either ``returned(result)`` or
``errored(failure)``, and always ``finished`` last, whatever happened. Workers never touch
widgets; Qt delivers their signals on the UI thread, where :func:`launch` wires them to the
window's handlers. A user-caused error (a :class:`SigVerifyError`) arrives as its message; a
programming error arrives with its traceback relayed (and logged), so the window shows it and
survives instead of dying with the worker.
"""

from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from sigverify.errors import SigVerifyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why a worker did not return: the message a user reads, and for a programming error the
    traceback (empty for the expected errors a user can fix)."""

    message: str
    exception: BaseException
    traceback: str = ""

    @property
    def unexpected(self) -> bool:
        return bool(self.traceback)


class WorkerSignals(QObject):
    started = Signal()
    progress = Signal(int, int)
    returned = Signal(object)
    errored = Signal(object)  # a Failure
    finished = Signal()


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
        self.signals.started.emit()
        try:
            if self.with_progress:
                self.kwargs.update(progress=lambda done, total: self.signals.progress.emit(int(done), int(total)),
                                   should_stop=self.cancelled.is_set)
            result = self.function(*self.args, **self.kwargs)
        except SigVerifyError as exc:
            self.signals.errored.emit(Failure(str(exc), exc))
        except Exception as exc:  # noqa: BLE001 - the window must survive any worker failure
            details = traceback.format_exc()
            log.error("worker failed:\n%s", details)
            self.signals.errored.emit(Failure(f"Unexpected error: {exc}", exc, details))
        else:
            self.signals.returned.emit(result)
        finally:
            self.signals.finished.emit()

    def cancel(self) -> None:
        self.cancelled.set()


def launch(worker: Worker, pool: QThreadPool | None = None, *, returned: Callable[[Any], None] | None = None,
           errored: Callable[[Failure], None] | None = None, progress: Callable[[int, int], None] | None = None,
           finished: Callable[[], None] | None = None) -> Worker:
    """The one way a window starts a worker: connect the handlers it has, then start it."""
    for signal, handler in ((worker.signals.returned, returned), (worker.signals.errored, errored),
                            (worker.signals.progress, progress), (worker.signals.finished, finished)):
        if handler is not None:
            signal.connect(handler)
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker
