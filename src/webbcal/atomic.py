"""Writing files: never partial (temporary file, then rename), in page-sized pieces."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

__all__ = ["atomic_write", "write_view"]

#: Bytes handed to the kernel per write call (see :func:`write_view`).
WRITE_PIECE = 64 << 10


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


def write_view(f: BinaryIO, data: memoryview | bytes) -> None:
    """Write ``data`` to ``f`` in pieces of :data:`WRITE_PIECE` bytes.

    The page cache takes memory for a write in units (folios) as large as the write call,
    up to 2 MB. On a virtual machine whose host has taken back the guest's free memory
    (free-page reporting), assembling 2 MB units costs about 4 ms per MB; 64 kB units
    cost 0.35 ms per MB (measured: 256 MB written in 1.2 s with 4 MB calls, 0.09 s with
    64 kB calls). On other machines the smaller calls cost nothing measurable.
    """
    view = memoryview(data).cast("B")
    for start in range(0, len(view), WRITE_PIECE):
        f.write(view[start : start + WRITE_PIECE])
