"""Reading and writing pure ASDF products (``.asdf``), as the official models write them.

The tree holds ``meta`` and each present array/table under its attribute name (``data``,
``dq``, ``int_times`` ...). Arrays are read lazily by the asdf library (memory-mapped when
asked) and converted to the declared dtype on first access.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .declare import Array, Table, coerce_table
from .fits_io import ASDF_LOCK

if TYPE_CHECKING:
    import asdf

log = logging.getLogger(__name__)

__all__ = ["AsdfSource", "write_asdf"]


class AsdfSource:
    """An ASDF file that a model reads its arrays and metadata from."""

    kind = "asdf"

    def __init__(self, af: asdf.AsdfFile, path: Path | None = None, owned: bool = True):
        self.af = af
        self.path = path
        self.owned = owned
        self.closed = False

    @classmethod
    def open(cls, path: Path, *, memmap: bool = True) -> AsdfSource:
        """Open an ASDF file.

        Raises
        ------
        InputError
            The file is not a readable ASDF file.
        """
        import asdf

        try:
            with ASDF_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                af = asdf.open(path, memmap=memmap, lazy_load=True, ignore_unrecognized_tag=True)
                _ = af.tree
        except Exception as exc:  # asdf raises many types for a bad file
            raise InputError(f"not a readable ASDF file ({exc})", path=path) from exc
        return cls(af, path)

    def header(self, name: str) -> None:
        """ASDF files have no FITS headers."""
        return None

    def hdu_names(self) -> list[str]:
        """ASDF files have no HDUs."""
        return []

    def has(self, name: str, spec: Array | Table) -> bool:
        """Whether the tree holds this array or table."""
        return self.af.tree.get(name) is not None

    def shape(self, name: str, spec: Array) -> tuple[int, ...] | None:
        """Shape of an array, without reading it."""
        value = self.af.tree.get(name)
        shape = getattr(value, "shape", None)
        return None if shape is None else tuple(shape)

    def read(self, name: str, spec: Array | Table, out: np.ndarray | None = None) -> np.ndarray:
        """Read an array (declared dtype, native) or a table (``out`` is not used)."""
        if self.closed:
            raise ValueError(f"{self.path}: the model was closed before {name} was read")
        value = self.af.tree[name]
        if isinstance(spec, Table):
            return coerce_table(value, spec, name)
        out = np.asarray(value)
        out = out.astype(spec.dtype, copy=out.dtype != spec.dtype or not out.flags.writeable)
        return out

    def tree(self) -> dict:
        """The tree (arrays stay lazy)."""
        return dict(self.af.tree)

    def close(self) -> None:
        """Close the file (arrays already read stay valid)."""
        if self.owned and not self.closed:
            self.af.close()
        self.closed = True


def write_asdf(fileobj, tree: dict[str, Any]) -> None:
    """Write a tree as an ASDF file to an open binary file object."""
    import asdf

    with ASDF_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=asdf.exceptions.AsdfWarning)
        asdf.AsdfFile(tree).write_to(fileobj)
