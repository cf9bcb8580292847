"""The wizard's handle on the training process: QProcess, JSON-lines events, cancel, crash report."""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from sigverify.training.worker import command


class TrainingProcess(QObject):
    """Starts ``train-worker`` with arguments; emits each event; never blocks the UI thread."""

    event = Signal(dict)
    ended = Signal(int, str)  # exit code, last error message ("" if none)
    logLine = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("OMP_NUM_THREADS", env.value("OMP_NUM_THREADS", str(os.cpu_count() or 1)))
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.readyReadStandardError.connect(self._read_errors)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._failed_to_start)
        self._buffer = b""
        self.error = ""

    def start(self, *args: str) -> None:
        program, *base = command()
        self.error = ""
        self._buffer = b""
        self.process.start(program, [*base, *args])

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Ask politely (the trainer stops at its next step); the process then exits by itself."""
        if self.running():
            self.process.write(b"cancel\n")

    def kill(self) -> None:
        if self.running():
            self.process.kill()
            self.process.waitForFinished(3000)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                event = json.loads(text)
            except json.JSONDecodeError:
                self.logLine.emit(text)
                continue
            if event.get("kind") == "error":
                self.error = event.get("message", "training failed")
            self.event.emit(event)

    def _read_errors(self) -> None:
        for line in bytes(self.process.readAllStandardError()).decode("utf-8", "replace").splitlines():
            if line.strip():
                self.logLine.emit(line)

    def _finished(self, code: int, status) -> None:
        self._read()
        if status == QProcess.ExitStatus.CrashExit and not self.error:
            self.error = "the training process crashed (out of memory?); the last checkpoint is kept"
        self.ended.emit(int(code), self.error)

    def _failed_to_start(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.error = "the training process could not be started"
            self.ended.emit(-1, self.error)
