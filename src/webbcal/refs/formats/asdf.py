"""ASDF reference files (DISTORTION, FILTEROFFSET, ABVEGAOFFSET, ``pars-*``).

The tree is the official one: a ``meta`` block with the standard keywords and selectors,
then the type's content (``model``, ``filters``, ``abvega_offset``, ``class``/``name``/
``parameters``) at the top level.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.errors import ReferenceFileError
from webbcal.refs.formats.common import RefHeader, meta_tree

__all__ = ["AsdfReference", "read_asdf", "write_asdf"]


@dataclass
class AsdfReference:
    """An ASDF reference file read into memory.

    Attributes
    ----------
    path : Path
    meta : dict
        The ``meta`` tree (``meta["instrument"]["name"]`` ...).
    tree : dict
        The rest of the top level (``model``, ``filters``, ``abvega_offset``, ``class`` ...).
    """

    path: Path
    meta: dict[str, Any]
    tree: dict[str, Any] = field(default_factory=dict)


def write_asdf(
    path: str | os.PathLike,
    header: RefHeader,
    body: Mapping[str, Any],
    *,
    meta_extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write an ASDF reference file with ``meta`` (from ``header``) and ``body``.

    ``meta_extra`` entries are added to ``meta`` (e.g. ``input_units``).
    """
    import asdf

    path = Path(path)
    meta = meta_tree(header)
    meta.update(meta_extra or {})
    tree = {"meta": meta, **body}
    asdf.AsdfFile(tree).write_to(path)
    return path


def read_asdf(path: str | os.PathLike) -> AsdfReference:
    """Read an ASDF reference file into memory (arrays and models loaded).

    Raises
    ------
    ReferenceFileError
        When the file cannot be read as ASDF.
    """
    import asdf

    path = Path(path)
    try:
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            tree = {k: v for k, v in af.tree.items() if k not in ("asdf_library", "history")}
    except (OSError, ValueError) as exc:
        raise ReferenceFileError(f"not a readable ASDF reference file: {exc}", path=path) from None
    meta = tree.pop("meta", {}) or {}
    return AsdfReference(path=path, meta=dict(meta), tree=tree)
