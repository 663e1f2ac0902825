"""Declarations of a model's arrays and tables, and the conversions applied on assignment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Array", "Table", "coerce_array", "coerce_table"]


@dataclass(frozen=True)
class Array:
    """An image array stored in its own FITS extension.

    Parameters
    ----------
    extname : str
        The official EXTNAME ("SCI", "DQ", "GROUPDQ" ...).
    dtype : str or numpy.dtype
        The official dtype; values are converted to it on assignment and on reading.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions (None: any).
    default : float or int, optional
        Fill value of the array created on first access when absent (None: stays absent).
    axes : tuple of int, optional
        Which axes of the primary array give the default shape (e.g. ``(0, 2, 3)`` for a
        ZEROFRAME of a 4-D ramp). Default: the last ``ndim`` axes, or all of them.
    required : bool
        Opening a file without it raises InputError (the primary array of most products).
    doc : str
        One line for the class documentation.
    """

    extname: str
    dtype: Any
    ndim: int | tuple[int, ...] | None = None
    default: float | int | None = None
    axes: tuple[int, ...] | None = None
    required: bool = False
    doc: str = ""

    def __post_init__(self) -> None:
        dtype = np.dtype(self.dtype)
        object.__setattr__(self, "dtype", dtype if dtype.isnative else dtype.newbyteorder("="))
        if isinstance(self.ndim, int):
            object.__setattr__(self, "ndim", (self.ndim,))

    def accepts_ndim(self, ndim: int) -> bool:
        """Whether an array with ``ndim`` dimensions is allowed."""
        return self.ndim is None or ndim in self.ndim

    def describe_ndim(self) -> str:
        """E.g. "4-D" or "2-D or 4-D"."""
        return " or ".join(f"{n}-D" for n in self.ndim) if self.ndim else "any"

    def default_shape(self, primary_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of the default array, given the primary array's shape."""
        if self.axes is not None:
            return tuple(primary_shape[a] for a in self.axes)
        if self.ndim is None or len(primary_shape) in self.ndim:
            return tuple(primary_shape)
        n = min(self.ndim)
        return tuple(primary_shape[-n:])


@dataclass(frozen=True)
class Table:
    """A binary table stored in its own FITS extension.

    Parameters
    ----------
    extname : str
        The official EXTNAME ("INT_TIMES", "GROUP", "DQ_DEF" ...).
    columns : tuple of (name, dtype)
        The official columns, e.g. ``(("integration_number", "i4"), ...)``; strings as
        ``"S<n>"``.
    doc : str
        One line for the class documentation.
    """

    extname: str
    columns: tuple[tuple[str, str], ...]
    doc: str = ""
    dtype: np.dtype = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", np.dtype([(n, np.dtype(t)) for n, t in self.columns]))

    @property
    def required(self) -> bool:
        """Tables are never required."""
        return False


def coerce_array(value: Any, spec: Array, name: str) -> np.ndarray:
    """Convert an assigned value to the declared dtype (no copy when it already matches).

    Raises
    ------
    ValueError
        The number of dimensions is not allowed.
    """
    array = np.asarray(value, dtype=spec.dtype)
    if not spec.accepts_ndim(array.ndim):
        raise ValueError(
            f"{name} must be {spec.describe_ndim()} ({spec.extname}), got shape {array.shape}"
        )
    return array


def coerce_table(value: Any, spec: Table, name: str) -> np.ndarray:
    """Convert an assigned table (structured array, astropy Table, rows) to a structured array.

    Declared columns keep the declared dtypes (strings widened to fit); missing declared
    columns are filled with zeros; extra columns are kept after the declared ones.
    """
    if hasattr(value, "as_array") and callable(value.as_array):  # astropy Table
        value = value.as_array()
    elif not isinstance(value, np.ndarray) and getattr(value, "dtype", None) is not None:
        value = np.asarray(value)  # an array-like with a dtype (asdf's lazy NDArrayType)
    if not (isinstance(value, np.ndarray) and value.dtype.names):
        try:
            value = np.array([tuple(row) for row in value], dtype=spec.dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: cannot convert {type(value).__name__} to a table") from exc
    if value.dtype == spec.dtype:
        return value
    given = {n.lower(): n for n in value.dtype.names}
    fields = []
    for col, dt in spec.dtype.fields.items():
        dt = dt[0]
        src = given.get(col.lower())
        if src is not None and dt.kind in "SU":
            src_dt = value.dtype[src]
            width = max(dt.itemsize, src_dt.itemsize // (4 if src_dt.kind == "U" else 1))
            dt = np.dtype(f"S{width}")
        fields.append((col, dt))
    declared = {c.lower() for c in spec.dtype.names}
    for src in value.dtype.names:
        if src.lower() not in declared:
            dt = value.dtype[src]
            if dt.kind == "U":
                dt = np.dtype(f"S{dt.itemsize // 4}")
            fields.append((src, dt))
    out = np.zeros(value.shape, dtype=fields)
    for col, _ in fields:
        src = given.get(col.lower())
        if src is not None:
            column = value[src]
            if column.dtype.kind == "U":
                column = np.char.encode(column, "ascii", "replace")
            out[col] = column
    return out
