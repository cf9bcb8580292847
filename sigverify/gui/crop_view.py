"""The questioned page with the proposed signature box; the clerk drags a new box to adjust it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QRubberBand, QSizePolicy, QWidget

from sigverify.gui.pictures import to_pixmap


class CropView(QWidget):
    """Shows an image scaled to fit; a drag with the left button draws the new crop box."""

    boxChanged = Signal(tuple)  # (x, y, w, h) in image pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(QSize(360, 200))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Drag to adjust the box around the signature; Shift+drag marks another signature "
                        "on the same document. Keyboard: arrows move the box, Shift+arrows resize it; Ctrl+wheel or "
                        "Ctrl +/−/0 zoom")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap: QPixmap | None = None
        self._image_size = (0, 0)
        self.box: tuple[int, int, int, int] | None = None
        self.marked: list[tuple[int, int, int, int]] = []  # further signatures on a document
        self.chosen = False  # the boxes are the clerk's (drawn, or found on request), not the automatic one
        self.zoom = 1.0  # Ctrl+wheel or Ctrl +/−: magnify around the box to check the strokes
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self)
        self._origin = QPoint()
        self.placeholder = "Open, paste or drop a scanned signature (Ctrl+O, Ctrl+V)"

    def set_image(self, image: np.ndarray | None, box: tuple[int, int, int, int] | None = None) -> None:
        self._pixmap = to_pixmap(image) if image is not None else None
        self._image_size = (image.shape[1], image.shape[0]) if image is not None else (0, 0)
        self.box = box
        self.marked = []
        self.chosen = False
        self.zoom = 1.0
        self.update()

    def set_boxes(self, boxes: list[tuple[int, int, int, int]]) -> None:
        """Several signatures: the first is the main box, the others are marked."""
        self.box, self.marked = (boxes[0] if boxes else None), list(boxes[1:])
        self.chosen = True
        self.update()

    def all_boxes(self) -> list[tuple[int, int, int, int]]:
        return ([self.box] if self.box else []) + self.marked

    # geometry between widget and image pixels
    def _target(self) -> QRect:
        """Where the image lies in the widget: fitted, then magnified by ``zoom`` around the box."""
        if not self._pixmap:
            return QRect()
        scaled = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio) * self.zoom
        if self.zoom == 1.0:
            return QRect((self.width() - scaled.width()) // 2, (self.height() - scaled.height()) // 2,
                         scaled.width(), scaled.height())
        x, y, w, h = self.box or (0, 0, *self._image_size)
        factor = scaled.width() / self._image_size[0]
        left = int(self.width() / 2 - (x + w / 2) * factor)
        top = int(self.height() / 2 - (y + h / 2) * factor)
        return QRect(left, top, scaled.width(), scaled.height())

    ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)

    def zoom_by(self, steps: int) -> None:
        """Magnify (steps > 0) or back out (steps < 0) around the box; 0 fits the whole image again."""
        here = self.ZOOMS.index(self.zoom) if self.zoom in self.ZOOMS else 0
        self.zoom = 1.0 if steps == 0 else self.ZOOMS[min(max(here + steps, 0), len(self.ZOOMS) - 1)]
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self._pixmap:
            self.zoom_by(1 if event.angleDelta().y() > 0 else -1)
            return
        super().wheelEvent(event)

    def _scale(self) -> float:
        target = self._target()
        return target.width() / self._image_size[0] if self._image_size[0] else 1.0

    def to_image(self, point: QPoint) -> tuple[int, int]:
        target, scale = self._target(), self._scale()
        x = (point.x() - target.x()) / scale
        y = (point.y() - target.y()) / scale
        return (round(min(max(x, 0), self._image_size[0])), round(min(max(y, 0), self._image_size[1])))

    def to_widget(self, x: float, y: float) -> QPoint:
        target, scale = self._target(), self._scale()
        # rounded both ways, so a point carried to the screen and back moves by under a screen pixel
        return QPoint(round(target.x() + x * scale), round(target.y() + y * scale))

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f4f4f4"))
        if not self._pixmap:
            painter.setPen(QColor("#666666"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(self._target(), self._pixmap)
        for number, box in enumerate(self.all_boxes(), start=1):
            x, y, w, h = box
            colour = QColor("#1565c0") if number == 1 else QColor("#ef6c00")
            painter.setPen(QPen(colour, 2, Qt.PenStyle.DashLine))
            rect = QRect(self.to_widget(x, y), self.to_widget(x + w, y + h))
            painter.drawRect(rect)
            if self.marked:
                painter.drawText(rect.topLeft() + QPoint(4, 14), str(number))

    #: arrow keys → (dx, dy) in steps of 2% of the image's size
    ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}

    def keyPressEvent(self, event) -> None:  # noqa: N802
        """Move the box with the arrows, resize it with Shift+arrows (no mouse needed)."""
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and event.key() in (
                Qt.Key.Key_Plus, Qt.Key.Key_Equal, Qt.Key.Key_Minus, Qt.Key.Key_0):
            self.zoom_by({Qt.Key.Key_Plus: 1, Qt.Key.Key_Equal: 1, Qt.Key.Key_Minus: -1}.get(event.key(), 0))
            return
        step = self.ARROWS.get(event.key())
        if step is None or self.box is None or not self._pixmap:
            super().keyPressEvent(event)
            return
        width, height = self._image_size
        dx, dy = step[0] * max(1, width // 50), step[1] * max(1, height // 50)
        x, y, w, h = self.box
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            w, h = max(8, min(w + dx, width - x)), max(8, min(h + dy, height - y))
        else:
            x, y = min(max(0, x + dx), width - w), min(max(0, y + dy), height - h)
        self.box, self.chosen = (x, y, w, h), True
        self.update()
        self.boxChanged.emit(self.box)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self._pixmap and event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position().toPoint()
            self._band.setGeometry(QRect(self._origin, QSize()))
            self._band.show()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._band.isVisible():
            self._band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if not self._band.isVisible():
            return
        self._band.hide()
        x0, y0 = self.to_image(self._origin)
        x1, y1 = self.to_image(event.position().toPoint())
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        if x1 - x0 >= 8 and y1 - y0 >= 8:  # a click is not a box
            box = (x0, y0, x1 - x0, y1 - y0)
            self.chosen = True
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self.box is not None:
                self.marked.append(box)
                self.update()
                return
            self.box = box
            self.update()
            self.boxChanged.emit(self.box)
