"""Writing a file so that no reader ever sees it partial: temporary file, then rename."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

__all__ = ["atomic_write"]


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write via ``write`` to a temporary file beside ``path``, then rename it over ``path``.

    A reader never sees a partial file, and a failure (or a killed process) leaves
    ``path`` as it was. The data are not forced to disk (no fsync): that makes the process
    wait for the disk on every file, and it only matters for a machine that loses power
    right after the rename, where the file can be made again from its inputs.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    log.debug("wrote %s", path)
