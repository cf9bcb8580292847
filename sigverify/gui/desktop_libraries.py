"""What Qt's X11 (xcb) platform needs from the system, looked for before Qt starts: without, say,
libxcb-cursor0, Qt aborts with "could not load the Qt platform plugin xcb" and no word of the fix."""

from __future__ import annotations

import ctypes

#: shared library → the Debian/Ubuntu package that installs it
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def missing_packages(libraries: dict[str, str] | None = None) -> list[str]:
    """The packages whose library cannot be loaded, in the order listed."""
    missing = []
    for library, package in (XCB_LIBRARIES if libraries is None else libraries).items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(package)
    return missing


def advice(packages: list[str]) -> str:
    return ("sigverify: the desktop app needs system libraries that are not installed: "
            f"{', '.join(packages)}. Install them (sudo apt install {' '.join(packages)}), or start it with "
            "QT_QPA_PLATFORM=offscreen, or use the command line: sigverify --help")
