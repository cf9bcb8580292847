"""Still frames from a camera or document camera through OpenCV.

The same code reads a video file, which is how the tests exercise the camera path.
"""

from __future__ import annotations

import cv2
import numpy as np

from sigverify.errors import BadImageError


def open_source(source: int | str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        raise BadImageError(f"camera {source!r} could not be opened (unplugged, or in use by another program?)")
    return capture


def grab_still(source: int | str, warmup_frames: int = 5) -> np.ndarray:
    """One RGB frame, after letting auto-exposure settle for a few frames."""
    capture = open_source(source)
    try:
        frame = None
        for _ in range(max(1, warmup_frames)):
            ok, candidate = capture.read()
            if not ok:
                break
            frame = candidate
        if frame is None:
            raise BadImageError(f"camera {source!r} gave no picture")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def available_cameras(limit: int = 4) -> list[int]:
    """Indexes of cameras that open (probing is quick when none is attached)."""
    found = []
    for index in range(limit):
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(index)
        capture.release()
    return found
