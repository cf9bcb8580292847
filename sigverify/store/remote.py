"""The desktop app's store, kept in a process of its own.

Why: SQLite's file locks are POSIX advisory locks, which belong to a *process* and are all
released when the process closes *any* descriptor of the database file. A desktop app opens
files it does not control — a file dialog reads a file's first bytes to show its type, a
dropped file is decoded — and each such close silently drops the store's locks. Another
program (the command line) then believes it is the store's only user, checkpoints and deletes
the write-ahead log the app is still writing to, and every later write of the app is lost
while `audit verify` still says the chain is intact. Reproduced in
tests/store/test_store_process.py.

So the window never opens the database itself: a child process that opens no other file holds
the SQLite connection, and the window calls the store's methods through a pipe. Arguments and
results are plain data (dataclasses, numpy arrays, bytes); an error raised in the store process
is raised again here, so every store error reaches the window. The command line keeps opening
the store directly (it opens no other file while it holds it).
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from typing import Any

from sigverify.errors import StoreError

#: seconds to wait for the store process to open (migrations included)
OPEN_TIMEOUT_S = 120.0


class RemoteStore:
    """Store's methods (and those of its ``users`` and ``mandates``), run in the store process."""

    def __init__(self, url: str | None = None) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self._pipe, child = context.Pipe()
        self._lock = threading.Lock()
        self._process = context.Process(target=serve, args=(url, child), name="sigverify-store", daemon=True)
        self._process.start()
        child.close()
        if not self._pipe.poll(OPEN_TIMEOUT_S):
            self._process.kill()
            raise StoreError("the store did not open within two minutes")
        self.url = self._answer()

    def call(self, path: tuple[str, ...], *args, **kwargs) -> Any:
        """Run ``store.<path>(*args, **kwargs)`` in the store process and return its result."""
        with self._lock:
            if not self._process.is_alive():
                raise StoreError("the store process has stopped; save nothing more and restart SigVerify")
            try:
                self._pipe.send((path, args, kwargs))
            except (OSError, ValueError, pickle.PicklingError) as exc:
                raise StoreError(f"cannot send the request to the store process ({exc})") from exc
            return self._answer()

    def _answer(self) -> Any:
        try:
            status, value = self._pipe.recv()
        except (EOFError, OSError) as exc:
            raise StoreError("the store process stopped while answering; restart SigVerify") from exc
        if status == "error":
            raise value
        return value

    def __getattr__(self, name: str) -> "_Method":
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self, (name,))

    @property
    def mandates(self) -> "_Method":
        """store/mandates.py's MandateStore, in the store process (see mandates_of)."""
        return _Method(self, ("mandates",))

    @property
    def escalations(self) -> "_Method":
        """store/escalations.py's EscalationQueue, in the store process (see escalations_of)."""
        return _Method(self, ("escalations",))

    @property
    def identifications(self) -> "_Method":
        """store/identifications.py's IdentificationLog, in the store process (see identifications_of)."""
        return _Method(self, ("identifications",))

    def read(self):
        raise TypeError("the window reads the store through Store methods; a connection cannot cross processes")

    write = read

    def close(self) -> None:
        with self._lock:
            if self._process.is_alive():
                try:
                    self._pipe.send(None)
                except OSError:
                    pass
                self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
            self._pipe.close()


class _Method:
    """``store.users.sign_in`` and the like: a path of names, called in the store process."""

    def __init__(self, store: RemoteStore, path: tuple[str, ...]) -> None:
        self._store, self._path = store, path

    def __getattr__(self, name: str) -> "_Method":
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._store, self._path + (name,))

    def __call__(self, *args, **kwargs) -> Any:
        return self._store.call(self._path, *args, **kwargs)


def _portable(exc: BaseException) -> BaseException:
    """The error as it can cross the pipe: itself when it pickles, else a StoreError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any exception that does not survive pickling
        return StoreError(f"{type(exc).__name__}: {exc}")


def serve(url: str | None, pipe) -> None:
    """The store process: open the store, then answer requests until told to stop or orphaned."""
    from sigverify.store.escalations import EscalationQueue
    from sigverify.store.identifications import IdentificationLog
    from sigverify.store.mandates import MandateStore
    from sigverify.store.repository import Store

    try:
        store = Store(url)
        roots = {"mandates": MandateStore(store), "escalations": EscalationQueue(store),
                 "identifications": IdentificationLog(store)}
    except Exception as exc:  # noqa: BLE001 - the window shows why the store did not open
        pipe.send(("error", _portable(exc)))
        return
    pipe.send(("ok", store.url))
    try:
        while True:
            try:
                request = pipe.recv()
            except (EOFError, OSError):
                break  # the app is gone
            if request is None:
                break
            path, args, kwargs = request
            try:
                target = roots.get(path[0], store) if path else store
                for name in path[1:] if path and path[0] in roots else path:
                    if name.startswith("_"):
                        raise AttributeError(f"{name} is not part of the store's interface")
                    target = getattr(target, name)
                answer = ("ok", target(*args, **kwargs))
                pipe.send(answer)
            except Exception as exc:  # noqa: BLE001 - every error goes back to the caller
                pipe.send(("error", _portable(exc)))
    finally:
        store.close()
