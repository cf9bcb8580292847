"""What the user chose, kept by QSettings: store location, provider, thresholds, watch folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings


class AppSettings:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings or QSettings("SigVerify", "SigVerify")

    def _get(self, key: str, default: str = "") -> str:
        value = self.qsettings.value(key, default)
        return "" if value is None else str(value)

    @property
    def store_location(self) -> str:
        return self._get("store/location")

    @store_location.setter
    def store_location(self, value: str) -> None:
        self.qsettings.setValue("store/location", value)

    @property
    def provider(self) -> str:
        return self._get("model/provider", "auto") or "auto"

    @provider.setter
    def provider(self, value: str) -> None:
        self.qsettings.setValue("model/provider", value)

    @property
    def watch_folder(self) -> str:
        return self._get("input/watch_folder")

    @watch_folder.setter
    def watch_folder(self, value: str) -> None:
        self.qsettings.setValue("input/watch_folder", value)
