"""Reading the FITS layout of JWST products (writing: :mod:`.fits_write`).

Reading (:class:`FitsSource`) opens the file with astropy, loads only the headers, checks
that the file is complete, and reads an array only when it is asked for: the raw big-endian
storage is converted to the declared native dtype then (undoing the unsigned BZERO
convention, so int16 + BZERO=32768 comes back as uint16). Image HDUs of a plain (not
compressed) file are read with ordinary file reads into one buffer that is byte-swapped in
place, so an array costs its own size in memory once (no memory map beside a converted
copy); :meth:`FitsSource.read_planes` reads some planes (and rows) of an array only.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from astropy.io import fits

from ..errors import InputError
from .fits_parse import HduSpan, scan_hdus

if TYPE_CHECKING:
    from .declare import Array, Table

log = logging.getLogger(__name__)

__all__ = [
    "ASDF_COLUMN",
    "ASDF_EXTNAME",
    "FitsSource",
    "is_structural",
    "parse_asdf_bytes",
    "read_exactly",
]

ASDF_EXTNAME = "ASDF"
ASDF_COLUMN = "ASDF_METADATA"
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|EXTNAME|EXTVER|EXTLEVEL|BSCALE|"
    r"BZERO|BLANK|TFIELDS|THEAP|CHECKSUM|DATASUM|ZIMAGE|"
    r"T(TYPE|FORM|UNIT|DIM|NULL|SCAL|ZERO|DISP)\d+|)$"
)


def is_structural(keyword: str) -> bool:
    """Whether a header keyword describes the HDU's structure (rewritten on every save)."""
    return bool(_STRUCTURAL.match(keyword.upper()))


# ---------------------------------------------------------------------------------------
# reading


class FitsSource:
    """A FITS file (or HDUList) that a model reads its arrays and metadata from.

    For an uncompressed file the HDUs are found and their headers parsed by
    :func:`.fits_parse.scan_hdus` (astropy reads an HDU only when a table or a
    tile-compressed image is read); otherwise every header is loaded from the HDUList.

    Parameters
    ----------
    hdulist : astropy.io.fits.HDUList
        The opened file.
    path : Path, optional
        The file, for messages.
    owned : bool
        Whether :meth:`close` closes the HDUList.
    spans : list of HduSpan, optional
        The HDUs of the (uncompressed) file at ``path``.
    """

    kind = "fits"

    def __init__(
        self,
        hdulist: fits.HDUList,
        path: Path | None = None,
        owned: bool = True,
        spans: list[HduSpan] | None = None,
    ):
        self.hdulist = hdulist
        self.path = path
        self.owned = owned
        self.closed = False
        self._spans = spans
        self._index: dict[str, int] = {}
        if spans is not None:
            names = [str(span.values.get("EXTNAME") or "").strip().upper() for span in spans]
        else:
            names = [(hdu.name or "").upper() for hdu in hdulist]  # loads every header
        for index, name in enumerate(names):
            self._index.setdefault("PRIMARY" if index == 0 else name, index)

    @classmethod
    def open(cls, path: Path, *, memmap: bool = True) -> FitsSource:
        """Open a FITS file, checking that it is complete.

        Raises
        ------
        InputError
            The file is not FITS, or is truncated or corrupt.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                spans = scan_hdus(path) if _is_plain_fits(path) else None
                hdulist = fits.open(
                    path, memmap=memmap, do_not_scale_image_data=True, lazy_load_hdus=True
                )
                try:
                    source = cls(hdulist, path, spans=spans)
                    if spans is None:
                        _check_complete(hdulist, path)
                except BaseException:
                    hdulist.close()
                    raise
        except InputError:
            raise
        except (OSError, ValueError, IndexError, KeyError) as exc:
            raise InputError(f"not a readable FITS file ({exc})", path=path) from exc
        for w in caught:
            log.debug("%s: %s", path, w.message)
        return source

    def hdu(self, name: str):
        """The first HDU with this EXTNAME ("PRIMARY" for the primary HDU), or None."""
        index = self._index.get(name.upper())
        return None if index is None else self.hdulist[index]

    def header(self, name: str) -> fits.Header | None:
        """The astropy header of the named HDU, or None (see :meth:`keyword`)."""
        hdu = self.hdu(name)
        return None if hdu is None else hdu.header

    def keyword(self, name: str, key: str, default: Any = None) -> Any:
        """A keyword's value in the named HDU's header (``default`` if absent)."""
        values = self._values(name)
        return default if values is None else values.get(key, default)

    def cards(self, name: str) -> list[tuple[str, Any, str]] | None:
        """``(keyword, value, comment)`` of every card of the named HDU's header, or None."""
        index = self._index.get(name.upper())
        if index is None:
            return None
        if self._spans is not None:
            return self._spans[index].cards
        return [(c.keyword, c.value, c.comment) for c in self.hdulist[index].header.cards]

    def _span(self, name: str) -> HduSpan | None:
        """The HDU's span in the file, None unless it is plainly stored (not compressed)."""
        index = self._index.get(name.upper())
        if self._spans is None or index is None:
            return None
        span = self._spans[index]
        return None if span.values.get("ZIMAGE") is True else span

    def _values(self, name: str) -> Any:
        """The header's keyword -> value mapping (astropy's for a compressed image)."""
        span = self._span(name)
        if span is not None:
            return span.values
        return self.header(name)

    def hdu_names(self) -> list[str]:
        """EXTNAMEs of the HDUs, in file order ("PRIMARY" first)."""
        return list(self._index)

    def has(self, name: str, spec: Array | Table) -> bool:
        """Whether the file holds this array or table (an empty image HDU does not count)."""
        values = self._values(spec.extname)
        if values is None:
            return False
        if self._is_table(spec.extname):
            return True
        return int(values.get("NAXIS", 0)) > 0

    def _is_table(self, name: str) -> bool:
        span = self._span(name)
        if span is not None:
            return span.values.get("XTENSION") == "BINTABLE"
        return isinstance(self.hdu(name), fits.BinTableHDU)

    def shape(self, name: str, spec: Array) -> tuple[int, ...] | None:
        """Shape of an image HDU from its header (numpy order), without reading it."""
        values = self._values(spec.extname)
        if values is None:
            return None
        naxis = int(values.get("NAXIS", 0))
        return tuple(int(values[f"NAXIS{i}"]) for i in range(naxis, 0, -1))

    def read(self, name: str, spec: Array | Table, out: np.ndarray | None = None) -> np.ndarray:
        """Read an array (scaled, native byte order, declared dtype) or a table.

        ``out``: a buffer the array may be read into (see :func:`_image_from_file`).
        """
        self._check_open()
        try:
            if self._is_table(spec.extname):
                return _table_from_fits(self.hdu(spec.extname).data, spec.dtype)
            layout = self._layout(spec.extname)
            if layout is not None:
                return _image_from_file(self.path, layout, spec.dtype, out)
            return _image_from_fits(self.hdu(spec.extname), spec.dtype)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"cannot read extension {spec.extname} ({exc})", path=self.path
            ) from exc

    def read_planes(
        self,
        spec: Array,
        lead: tuple[int, ...],
        start: int,
        stop: int,
        rows: slice,
        out: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Read ``array[*lead, start:stop, rows, :]`` of an image HDU from the file.

        Only those bytes are read, into ``out`` when it suits (see :func:`_image_from_file`).
        Returns None when the HDU cannot be read in parts (a compressed or in-memory file,
        a scaled array): read the whole array then.
        """
        self._check_open()
        layout = self._layout(spec.extname)
        if layout is None or layout.scaled or len(layout.shape) != len(lead) + 3:
            return None
        try:
            return _planes_from_file(self.path, layout, spec.dtype, lead, start, stop, rows, out)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"cannot read extension {spec.extname} ({exc})", path=self.path
            ) from exc

    def _layout(self, extname: str) -> _Layout | None:
        """Where and how an image HDU's data lie in a plain file (None: not readable so)."""
        span = self._span(extname)
        if span is None or self._is_table(extname):
            return None
        return image_layout(span)

    def tree(self) -> dict:
        """The ASDF extension's tree ({} when there is none)."""
        if ASDF_EXTNAME not in self._index:
            return {}
        self._check_open()
        try:
            raw = self._asdf_bytes()
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("%s: unreadable ASDF extension ignored (%s)", self.path, exc)
            return {}
        return parse_asdf_bytes(raw, self.path)

    def _asdf_bytes(self) -> bytes:
        """The bytes of the ASDF extension's one cell (read from the file when plain)."""
        span = self._span(ASDF_EXTNAME)
        values = {} if span is None else span.values
        width = str(values.get("TFORM1", "")).strip()
        if (span is not None and values.get("TFIELDS") == 1 and values.get("NAXIS2") == 1
                and width[:-1].isdigit() and width.endswith("B")
                and values.get("NAXIS1") == int(width[:-1])):  # fmt: skip
            with open(self.path, "rb") as f:
                f.seek(span.data_start)
                raw = f.read(int(width[:-1]))
            if len(raw) == int(width[:-1]):
                return raw
        return np.asarray(self.hdu(ASDF_EXTNAME).data[ASDF_COLUMN][0]).tobytes()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"{self.path}: the model was closed before this array was read")

    def close(self) -> None:
        """Close the file (arrays already read stay valid)."""
        if self.owned and not self.closed:
            self.hdulist.close()
        self.closed = True


def image_layout(span: HduSpan) -> _Layout | None:
    """Where and how an image HDU's data lie in its file (None: not readable so)."""
    values = span.values
    stored = _BITPIX.get(int(values.get("BITPIX", 0)))
    naxis = int(values.get("NAXIS", 0))
    if stored is None or naxis == 0 or values.get("GROUPS", False):
        return None
    shape = tuple(int(values[f"NAXIS{i}"]) for i in range(naxis, 0, -1))
    bzero, bscale = values.get("BZERO", 0), values.get("BSCALE", 1)
    unsigned = (stored.kind == "i" and bscale == 1
                and bzero == 1 << (8 * stored.itemsize - 1))  # fmt: skip
    scaled = not (bzero == 0 and bscale == 1) and not unsigned
    return _Layout(span.data_start, shape, stored, unsigned, scaled, bzero, bscale)


def _check_complete(hdulist: fits.HDUList, path: Path) -> None:
    """Raise InputError when the file ends before its last HDU (padding included) does."""
    size = os.path.getsize(path)
    last = len(hdulist) - 1
    info = hdulist.fileinfo(last)
    end = info["datLoc"] + info["datSpan"]
    if size < end:
        raise InputError(
            f"truncated FITS file: {size} bytes, but HDU {last} ends at byte {end}; "
            "re-download or re-create it",
            path=path,
        )
    if size > end:
        with open(path, "rb") as f:
            f.seek(end)
            tail = f.read(2880)
        if tail.strip(b"\0 "):
            raise InputError(
                f"corrupt FITS file: unreadable bytes after HDU {last} (a truncated extension "
                "header?); re-download or re-create it",
                path=path,
            )


def _is_plain_fits(path: Path) -> bool:
    """Whether ``path`` is an uncompressed FITS file (its bytes are the HDUs)."""
    try:
        with open(path, "rb") as f:
            return f.read(9) == b"SIMPLE  ="
    except OSError:
        return False


#: BITPIX -> the big-endian dtype FITS stores.
_BITPIX = {8: np.dtype("u1"), 16: np.dtype(">i2"), 32: np.dtype(">i4"), 64: np.dtype(">i8"),
           -32: np.dtype(">f4"), -64: np.dtype(">f8")}  # fmt: skip


@dataclass(frozen=True)
class _Layout:
    """An image HDU's data in a file: byte offset, shape, stored dtype, scaling."""

    offset: int
    shape: tuple[int, ...]
    stored: np.dtype
    unsigned: bool  # the FITS unsigned-integer convention (BZERO = 2**(bits-1))
    scaled: bool  # any other BZERO/BSCALE
    bzero: float
    bscale: float


def read_exactly(f: Any, buffer: np.ndarray, path: Path | str) -> None:
    """Fill ``buffer`` with the next bytes of ``f``.

    Raises
    ------
    InputError
        When the file ends first (a truncated FITS file).
    """
    view = memoryview(buffer.view(np.uint8))
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise InputError("truncated FITS file: an extension's data end early", path=path)
        done += n


#: Bytes read (and converted while they are in the cache) at a time.
_CHUNK = 4 << 20


def _read_into(f: BinaryIO, buffer: np.ndarray, path: Path, layout: _Layout) -> None:
    """Fill C-contiguous ``buffer`` from ``f``, a chunk at a time, converting each chunk.

    Unless the array is scaled, each chunk is byte-swapped to native order and the FITS
    unsigned convention is undone (sign bit flipped) right after it is read.
    """
    flat = buffer.reshape(-1)
    step = max(1, _CHUNK // flat.itemsize)
    native = _native_dtype(layout)
    for start in range(0, flat.size, step):
        part = flat[start : start + step]
        read_exactly(f, part, path)
        if layout.scaled:
            continue
        if not part.dtype.isnative:
            part.byteswap(inplace=True)
        if layout.unsigned:  # flip the sign bit: int16 + 32768 -> uint16
            values = part.view(native)
            np.bitwise_xor(values, native.type(layout.bzero), out=values)


def _native_dtype(layout: _Layout) -> np.dtype:
    """The native dtype of the stored values (unsigned for the FITS unsigned convention)."""
    native = layout.stored.newbyteorder("=")
    return np.dtype(native.str.replace("i", "u")) if layout.unsigned else native


def _native(raw: np.ndarray, layout: _Layout, dtype: np.dtype) -> np.ndarray:
    """Native ``dtype`` values of ``raw`` as :func:`_read_into` left it."""
    dtype = np.dtype(dtype)
    if layout.scaled:
        return (raw * np.float64(layout.bscale) + np.float64(layout.bzero)).astype(dtype)
    return raw.view(_native_dtype(layout)).astype(dtype, copy=False)


def _image_from_file(
    path: Path, layout: _Layout, dtype: np.dtype, out: np.ndarray | None = None
) -> np.ndarray:
    """A whole image HDU read into one buffer and converted in place where possible.

    The buffer is ``out`` when it suits (C-contiguous, writable, the array's shape and the
    declared dtype, values stored unscaled in that dtype): the result is then a view of
    it. Reusing one buffer for the same array of several files spares the page faults of
    fresh memory.
    """
    dtype = np.dtype(dtype)
    suits = (out is not None and out.shape == layout.shape and out.dtype == dtype
             and out.flags.c_contiguous and out.flags.writeable and not layout.scaled
             and _native_dtype(layout) == dtype)  # fmt: skip
    raw = out.view(layout.stored) if suits else np.empty(layout.shape, dtype=layout.stored)
    with open(path, "rb", buffering=0) as f:
        f.seek(layout.offset)
        _read_into(f, raw, path, layout)
    return _native(raw, layout, dtype)


def _planes_from_file(
    path: Path,
    layout: _Layout,
    dtype: np.dtype,
    lead: tuple[int, ...],
    start: int,
    stop: int,
    rows: slice,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Planes ``start:stop`` (rows ``rows``) read from the file, into ``out`` when it suits.

    ``out`` suits as in :func:`_image_from_file` (the result is then a view of it).
    """
    *outer, nplanes, ny, nx = layout.shape
    y0, y1, step = rows.indices(ny)
    if step != 1 or not 0 <= start <= stop <= nplanes:
        raise ValueError(f"planes {start}:{stop}, rows {rows} of a {layout.shape} array")
    first = int(np.ravel_multi_index(lead, outer)) * nplanes if outer else 0
    itemsize = layout.stored.itemsize
    shape = (stop - start, max(y1 - y0, 0), nx)
    dtype = np.dtype(dtype)
    suits = (out is not None and out.shape == shape and out.dtype == dtype
             and out.flags.c_contiguous and out.flags.writeable and not layout.scaled
             and _native_dtype(layout) == dtype)  # fmt: skip
    raw = out.view(layout.stored) if suits else np.empty(shape, dtype=layout.stored)
    with open(path, "rb", buffering=0) as f:
        for k in range(stop - start):
            f.seek(layout.offset + ((first + start + k) * ny + y0) * nx * itemsize)
            _read_into(f, raw[k], path, layout)
    return _native(raw, layout, dtype)


def _image_from_fits(hdu, dtype: np.dtype) -> np.ndarray:
    raw = hdu.data  # raw storage, memory-mapped where possible (scaling is off)
    if raw is None:
        return np.zeros((0,), dtype=dtype)
    hdr = hdu.header
    bzero = hdr.get("BZERO", 0)
    bscale = hdr.get("BSCALE", 1)
    if bzero == 0 and bscale == 1:
        out = np.asarray(raw, dtype=dtype)
    elif raw.dtype.kind == "i" and bscale == 1 and bzero == 1 << (8 * raw.dtype.itemsize - 1):
        # the FITS convention for unsigned integers: flip the sign bit
        unsigned = raw.dtype.str.replace("i", "u")
        flipped = raw.view(unsigned) ^ np.dtype(unsigned).type(bzero)
        out = flipped.astype(dtype, copy=False)
    else:
        out = (raw * np.float64(bscale) + np.float64(bzero)).astype(dtype, copy=False)
    if not out.flags.writeable:
        out = out.copy()
    return out


def _table_from_fits(rec, declared: np.dtype) -> np.ndarray:
    """A native structured array with the declared columns first, then any others."""
    if rec is None:
        return np.zeros((0,), dtype=declared)
    file_names = list(rec.columns.names)
    lower = {n.lower(): n for n in file_names}
    fields, sources = [], []
    used = set()
    for name in declared.names:
        src = lower.get(name.lower())
        if src is None:
            continue
        used.add(src)
        fields.append(_field_dtype(name, declared[name], rec.field(src)))
        sources.append(src)
    for src in file_names:
        if src not in used:
            col = rec.field(src)
            fields.append(_field_dtype(src, col.dtype, col))
            sources.append(src)
    out = np.zeros(len(rec), dtype=fields)
    for (name, *_), src in zip(fields, sources):
        out[name] = rec.field(src)
    return out


def _field_dtype(name: str, want: np.dtype, column: np.ndarray) -> tuple:
    """A native field for ``name``: the declared dtype, strings widened to fit the file's."""
    want = np.dtype(want)
    base = want.base
    if base.kind in "SU":
        width = max(_str_width(base), _str_width(column.dtype), 1)
        base = np.dtype(f"S{width}")
    elif not base.isnative:
        base = base.newbyteorder("=")
    shape = column.shape[1:]
    return (name, base, shape) if shape else (name, base)


def _str_width(dtype: np.dtype) -> int:
    if dtype.kind == "U":
        return dtype.itemsize // 4
    return dtype.itemsize if dtype.kind == "S" else 0


#: Held while asdf reads or writes a tree: asdf's schema validation keeps its state on a
#: class shared by every validation (and warning filters are process-wide), so two threads
#: must not run it at once. The work holds the GIL anyway: the lock costs no parallelism.
ASDF_LOCK = threading.RLock()


def parse_asdf_bytes(raw: bytes, path: Path | None = None) -> dict:
    """Parse a serialized ASDF file into a plain tree (array references are dropped)."""
    import asdf  # imported here: asdf and its converters are slow to import

    try:
        with ASDF_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with asdf.open(
                io.BytesIO(raw), lazy_load=False, memmap=False, ignore_unrecognized_tag=True
            ) as af:
                tree = {k: v for k, v in af.tree.items() if not _is_ndarray_ref(v)}
    except Exception as exc:  # asdf raises many types for a corrupt tree
        log.warning("%s: unreadable ASDF extension ignored (%s)", path, exc)
        return {}
    return tree


def _is_ndarray_ref(value: Any) -> bool:
    tag = getattr(value, "_tag", None)
    if isinstance(tag, str) and "/ndarray-" in tag:
        return True
    return type(value).__name__ == "NDArrayType"
