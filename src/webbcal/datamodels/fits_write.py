"""Writing the FITS layout of JWST products.

:func:`plan_hdus` lays a product out as HDUs: an empty primary HDU, one image HDU per present
array and one binary table per present table (EXTNAMEs and dtypes from the class
declaration), each keyword-table entry as a card of its HDU, the cards read but not modelled
(``extra_fits``) restored to their HDU, and the ASDF extension (EXTNAME='ASDF', one
``ASDF_METADATA`` byte column holding a serialized ASDF file with the ``meta`` tree,
``meta.wcs`` included) last.

:func:`write_fits` writes that plan itself: the headers as text (:mod:`.fits_cards`), each
array converted to big-endian a few megabytes at a time into one reusable buffer and written
straight to the file, tables packed into one big-endian record buffer. The bytes are those
``astropy.io.fits`` writes for the same HDUs (the tests compare them), at a fraction of the
cost: no Header or Card objects, no whole-array byte-swapped copy. A plan with something
this writer does not handle (an unusual dtype, an empty array) is written by astropy
(:func:`build_hdulist`), which also serves :meth:`DataModel.to_hdulist`.
"""

from __future__ import annotations

import io
import logging
import math
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from astropy.io import fits

from webbcal.atomic import write_view

from .fits_cards import card_image, cut_image, header_block
from .fits_io import ASDF_COLUMN, ASDF_EXTNAME, ASDF_LOCK, is_structural
from .keywords import Keyword

if TYPE_CHECKING:
    from .declare import Array, Table

log = logging.getLogger(__name__)

__all__ = [
    "Deferred",
    "HduPlan",
    "asdf_bytes",
    "build_hdulist",
    "plan_hdus",
    "serialize_asdf",
    "write_fits",
    "writes_directly",
]

_BLOCK = 2880
#: Bytes converted (then written) at a time.
_CHUNK = 4 << 20
#: native dtype -> (BITPIX, BZERO) of an image HDU; BZERO != 0: the FITS unsigned convention
_IMAGE = {"u1": (8, 0), "i2": (16, 0), "u2": (16, 1 << 15), "i4": (32, 0),
          "u4": (32, 1 << 31), "i8": (64, 0), "f4": (-32, 0), "f8": (-64, 0)}  # fmt: skip
#: native dtype -> (TFORM code, TZERO) of a table column
_COLUMN = {"b1": ("L", 0), "u1": ("B", 0), "i2": ("I", 0), "u2": ("I", 1 << 15),
           "i4": ("J", 0), "u4": ("J", 1 << 31), "i8": ("K", 0), "f4": ("E", 0),
           "f8": ("D", 0)}  # fmt: skip
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass
class HduPlan:
    """One HDU to write: kind ("primary", "image", "table" or "asdf"), name, data, cards.

    ``data`` is the array or table; for the ASDF extension, the tree (serialized when the
    plan is written) or its serialized bytes. ``cards`` holds ``(keyword, value, comment,
    strict)``: a strict card whose comment does not fit loses its comment; any other loses
    the end of it (as astropy cuts it).
    """

    kind: str
    extname: str
    data: Any = None
    cards: list[tuple[str, Any, str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class Deferred:
    """An image of a plan not read yet: its shape and dtype, and how to read it.

    The writer reads it when it reaches its HDU, so that saving a file-backed product holds
    one of its arrays in memory at a time, not all of them.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    load: Callable[[], np.ndarray]

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


def _loaded(data: Any) -> Any:
    return data.load() if isinstance(data, Deferred) else data


# ---------------------------------------------------------------------------------------
# the plan


def plan_hdus(
    arrays: Iterable[tuple[str, Array, np.ndarray]],
    tables: Iterable[tuple[str, Table, np.ndarray]],
    keywords: Iterable[Keyword],
    meta: dict,
    flat_meta: dict[str, Any],
    extra_fits: dict[str, list[tuple[str, Any, str]]],
    extra_tree: dict[str, Any] | None,
    asdf_extension: bool,
) -> list[HduPlan]:
    """Lay a product out as HDUs (see the module docstring)."""
    hdus = [HduPlan("primary", "PRIMARY")]
    by_name = {"PRIMARY": hdus[0]}
    refs = {}
    for name, spec, data in arrays:
        hdus.append(HduPlan("image", spec.extname, data))
        by_name.setdefault(spec.extname.upper(), hdus[-1])
        refs[name] = _ndarray_ref(spec.extname, data)
    for _name, spec, data in tables:
        hdus.append(HduPlan("table", spec.extname, data))
        by_name.setdefault(spec.extname.upper(), hdus[-1])

    present: dict[int, set[str]] = {}
    for kw in keywords:
        value = flat_meta.get(kw.path)
        hdu = by_name.get(kw.hdu.upper())
        if hdu is None or value is None:
            continue
        value = _card_value(kw, value)
        if value is not None:
            hdu.cards.append((kw.keyword.upper(), value, f"meta.{kw.path}", True))
            present.setdefault(id(hdu), set()).add(kw.keyword.upper())

    for hduname, cards in extra_fits.items():
        hdu = by_name.get(hduname.upper())
        if hdu is None:
            continue
        seen = present.setdefault(id(hdu), set())
        for key, value, comment in cards:
            if key in ("COMMENT", "HISTORY") or (key not in seen and not is_structural(key)):
                hdu.cards.append((key, value, comment, False))
                seen.add(key)

    if asdf_extension:
        tree = {"meta": meta, **refs, **(extra_tree or {})}
        hdus.append(HduPlan("asdf", ASDF_EXTNAME, tree))
    return hdus


def _card_value(kw: Keyword, value: Any) -> Any:
    """A keyword-table value as a header value, or None when a header cannot hold it."""
    value = kw.coerce(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        log.debug("not writing %s=%r (FITS headers cannot hold it)", kw.keyword, value)
        return None
    if isinstance(value, str):
        return _PRINTABLE.sub("?", value)
    if not isinstance(value, (bool, int, float)):
        log.debug("not writing %s: %r is not a header value", kw.keyword, value)
        return None
    return value


def _images(cards: list[tuple[str, Any, str, bool]]) -> list[str]:
    """The text of each card (comments dropped or cut where they do not fit)."""
    out = []
    for key, value, comment, strict in cards:
        image = card_image(key, value, comment)
        if image is None:
            image = card_image(key, value, "") if strict else cut_image(key, value, comment)
        out.append(image)
    return out


def asdf_bytes(hdu: HduPlan) -> bytes:
    """The content of the ASDF extension: its tree serialized (or bytes given as they are)."""
    return hdu.data if isinstance(hdu.data, bytes) else serialize_asdf(hdu.data)


def serialize_asdf(tree: dict) -> bytes:
    """Serialize a tree as an ASDF file (bytes)."""
    import asdf  # imported here: asdf and its converters are slow to import

    buffer = io.BytesIO()
    with ASDF_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=asdf.exceptions.AsdfWarning)
        asdf.AsdfFile(tree).write_to(buffer)
    return buffer.getvalue()


def _ndarray_ref(extname: str, array: np.ndarray) -> Any:
    """The official tree's pointer from an array to its FITS extension."""
    import asdf

    version = "1.1.0" if asdf.versioning.default_version > "1.5.0" else "1.0.0"
    return asdf.tagged.TaggedDict(
        {
            "source": f"fits:{extname},1",
            "shape": list(array.shape),
            "datatype": array.dtype.name,
            "byteorder": "big",
        },
        tag=f"tag:stsci.edu:asdf/core/ndarray-{version}",
    )


# ---------------------------------------------------------------------------------------
# astropy


def build_hdulist(plan: list[HduPlan]) -> fits.HDUList:
    """The plan as an in-memory astropy HDUList."""
    hdulist = fits.HDUList()
    for hdu in plan:
        if hdu.kind == "primary":
            made = fits.PrimaryHDU()
        elif hdu.kind == "image":
            made = fits.ImageHDU(data=_loaded(hdu.data), name=hdu.extname, ver=1)
        elif hdu.kind == "table":
            made = fits.BinTableHDU(data=hdu.data, name=hdu.extname, ver=1)
        else:
            raw = np.frombuffer(asdf_bytes(hdu), dtype=np.uint8)[None, :]
            column = fits.Column(name=ASDF_COLUMN, format=f"{raw.shape[1]}B", array=raw)
            made = fits.BinTableHDU.from_columns([column], name=hdu.extname)
        for key, value, comment, strict in hdu.cards:
            if strict and card_image(key, value, comment) is None:
                comment = ""
            made.header.append(fits.Card(key, value, comment), end=True)
        hdulist.append(made)
    return hdulist


# ---------------------------------------------------------------------------------------
# the direct writer


def write_fits(f: BinaryIO, plan: list[HduPlan]) -> None:
    """Write the plan to an open binary file (by astropy when it holds something unusual)."""
    if not writes_directly(plan):
        log.debug("writing with astropy: an HDU this writer does not handle")
        build_hdulist(plan).writeto(f, output_verify="silentfix")
        return
    for hdu in plan:
        for piece in _pieces(hdu):
            if isinstance(piece, tuple):
                _write_array(f, *piece)
            else:
                write_view(f, piece)


def writes_directly(plan: list[HduPlan]) -> bool:
    """Whether :func:`write_fits` writes the plan itself (else astropy does)."""
    return all(_writable(hdu) for hdu in plan)


def _writable(hdu: HduPlan) -> bool:
    if hdu.kind == "image":
        data = hdu.data
        return data.ndim > 0 and data.size > 0 and data.dtype.newbyteorder("=").str[1:] in _IMAGE
    if hdu.kind == "table":
        return _table_columns(hdu.data.dtype) is not None
    return True


#: What one HDU writes: bytes, or ``(1-D array, BZERO)`` to convert and write
_Piece = bytes | tuple[np.ndarray, int]


def _pieces(hdu: HduPlan) -> list[_Piece]:
    """The header and data of an HDU, in file order, ready to write."""
    images = _images(hdu.cards)
    if hdu.kind == "primary":
        return [header_block([("SIMPLE", True, "conforms to FITS standard"),
                              ("BITPIX", 8, "array data type"),
                              ("NAXIS", 0, "number of array dimensions"),
                              ("EXTEND", True, "")], images)]  # fmt: skip
    if hdu.kind == "image":
        return _image_pieces(hdu, images)
    if hdu.kind == "table":
        columns = _table_columns(hdu.data.dtype)
        raw, rowbytes = _table_bytes(hdu.data, columns)
        return _table_pieces(hdu, images, columns, raw, rowbytes, len(hdu.data), ext=True)
    raw = asdf_bytes(hdu)
    columns = [(ASDF_COLUMN, f"{len(raw)}B", 0, "")]
    return _table_pieces(hdu, images, columns, raw, len(raw), 1, ext=False)


def _image_pieces(hdu: HduPlan, images: list[str]) -> list[_Piece]:
    data = np.ascontiguousarray(_loaded(hdu.data))
    native = data.dtype.newbyteorder("=")
    bitpix, bzero = _IMAGE[native.str[1:]]
    cards = [("XTENSION", "IMAGE", "Image extension"), ("BITPIX", bitpix, "array data type"),
             ("NAXIS", data.ndim, "number of array dimensions")]  # fmt: skip
    cards += [(f"NAXIS{i + 1}", n, "") for i, n in enumerate(reversed(data.shape))]
    cards += [("PCOUNT", 0, "number of parameters"), ("GCOUNT", 1, "number of groups")]
    if bzero:
        cards += [("BSCALE", 1, ""), ("BZERO", bzero, "")]
    cards += [("EXTNAME", hdu.extname.upper(), "extension name"), ("EXTVER", 1, "extension value")]
    return [header_block(cards, images), (data.reshape(-1), bzero), _padding(data.nbytes)]


def _write_array(f: BinaryIO, flat: np.ndarray, bzero: int) -> None:
    """Write a 1-D array big-endian (unsigned values shifted by -BZERO), a chunk at a time."""
    stored = flat.dtype.newbyteorder(">")
    if flat.dtype == stored and not bzero:
        write_view(f, flat.view(np.uint8).data)
        return
    step = max(1, _CHUNK // flat.itemsize)
    buffer = np.empty(min(step, flat.size), dtype=stored)
    sign = flat.dtype.type(bzero) if bzero else None
    for start in range(0, flat.size, step):
        part = flat[start : start + step]
        out = buffer[: part.size]
        if sign is None:
            np.copyto(out, part)
        else:  # the FITS unsigned convention: flip the sign bit
            np.bitwise_xor(part, sign, out=out)
        write_view(f, out.view(np.uint8).data)


def _padding(nbytes: int) -> bytes:
    return bytes(-nbytes % _BLOCK)


def _table_columns(dtype: np.dtype) -> list[tuple[str, str, int, str]] | None:
    """``(name, TFORM, TZERO, TDIM)`` per field, or None for a table left to astropy."""
    if dtype.names is None:
        return None
    columns = []
    for name in dtype.names:
        sub = dtype.fields[name][0]
        base, shape = sub.base, sub.shape
        count = math.prod(shape)
        if not name.isascii() or not name.isprintable() or count == 0:
            return None
        if base.kind in "SU":
            if shape:
                return None
            width = base.itemsize // (4 if base.kind == "U" else 1)
            columns.append((name, f"{width}A", 0, ""))
            continue
        code = _COLUMN.get(base.newbyteorder("=").str[1:] if base.kind != "b" else "b1")
        if code is None or (code[1] and shape):
            return None
        tdim = "(" + ",".join(str(n) for n in reversed(shape)) + ")" if shape else ""
        columns.append((name, f"{count}{code[0]}" if shape else code[0], code[1], tdim))
    return columns


def _table_pieces(
    hdu: HduPlan,
    images: list[str],
    columns: list[tuple[str, str, int, str]],
    raw: bytes,
    rowbytes: int,
    nrows: int,
    ext: bool,
) -> list[_Piece]:
    cards = [("XTENSION", "BINTABLE", "binary table extension"),
             ("BITPIX", 8, "array data type"), ("NAXIS", 2, "number of array dimensions"),
             ("NAXIS1", rowbytes, "length of dimension 1"),
             ("NAXIS2", nrows, "length of dimension 2"),
             ("PCOUNT", 0, "number of group parameters"), ("GCOUNT", 1, "number of groups"),
             ("TFIELDS", len(columns), "number of table fields")]  # fmt: skip
    for i, (name, tform, tzero, tdim) in enumerate(columns, start=1):
        cards += [(f"TTYPE{i}", name, ""), (f"TFORM{i}", tform, "")]
        if tzero:
            cards.append((f"TZERO{i}", tzero, ""))
        if tdim:
            cards.append((f"TDIM{i}", tdim, ""))
    cards.append(("EXTNAME", hdu.extname.upper(), "extension name"))
    if ext:
        cards.append(("EXTVER", 1, "extension value"))
    return [header_block(cards, images), raw, _padding(len(raw))]


def _table_bytes(data: np.ndarray, columns: list[tuple[str, str, int, str]]) -> tuple[bytes, int]:
    """The rows of a table as FITS stores them (packed, big-endian, booleans as T/F); row size."""
    formats = []
    for name, _tform, _tzero, _tdim in columns:
        sub = data.dtype.fields[name][0]
        base = sub.base
        if base.kind == "U":
            stored = np.dtype(f"S{base.itemsize // 4}")
        elif base.kind == "b":
            stored = np.dtype("u1")
        else:
            stored = base.newbyteorder(">")
        formats.append((stored, sub.shape) if sub.shape else stored)
    out = np.zeros(len(data), dtype={"names": list(data.dtype.names), "formats": formats})
    for name, _tform, tzero, _tdim in columns:
        values = data[name]
        if values.dtype.kind == "U":
            out[name] = np.char.encode(values, "ascii")
        elif values.dtype.kind == "b":
            out[name] = np.where(values, ord("T"), ord("F"))
        elif tzero:
            out[name] = values ^ values.dtype.type(tzero)
        else:
            out[name] = values
    return out.tobytes(), out.dtype.itemsize
