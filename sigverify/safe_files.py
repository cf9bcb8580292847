"""Reading a file a user names, safely: only a regular file (never a FIFO that would hang the run, a
device such as /dev/zero that never ends, a directory), its size checked before a byte is read, and
never more than a limit. Images (imaging/decode.py) and clearing-run manifests (batch.py) read here."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable


def read_regular_file(source: str | Path, limit: int, refuse: Callable[[str], Exception],
                      what: str = "file") -> tuple[bytes, str]:
    """(the file's bytes, its name); anything else raises ``refuse(one line saying why)``."""
    path = Path(source)
    name = path.name or str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise refuse(f"{name}: file not found") from None
    except IsADirectoryError:
        raise refuse(f"{name}: not a file") from None
    except OSError as exc:
        raise refuse(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise refuse(f"{name}: not a file")
        raise refuse(f"{name}: not a regular file (a pipe, device or socket cannot be {what})")
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if info.st_size == 0:
            raise refuse(f"{name}: the file is empty (0 bytes)")
        if info.st_size > limit:
            raise refuse(f"{name}: the file is {info.st_size / 2**20:.0f} MB; the limit is {limit // 2**20} MB")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise refuse(f"{name}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise refuse(f"{name}: the file grew beyond the {limit // 2**20} MB limit while being read")
    return data, name
