"""The DataModel base class: declared arrays and tables, lazy reading, atomic saving."""

from __future__ import annotations

import copy
import logging
import os
import weakref
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from astropy.io import fits

from ..atomic import atomic_write
from ..errors import InputError
from .asdf_io import AsdfSource, write_asdf
from .declare import Array, Table, coerce_array, coerce_table
from .fits_io import ASDF_EXTNAME, FitsSource, is_structural
from .fits_write import Deferred, HduPlan, build_hdulist, plan_hdus, write_fits
from .keywords import KEYWORDS, Keyword
from .meta import Node, plain

log = logging.getLogger(__name__)

__all__ = ["REGISTRY", "DataModel", "open_source"]

REGISTRY: dict[str, type[DataModel]] = {}
"""Concrete model classes by name (the DATAMODL value)."""

Source = FitsSource | AsdfSource
# tree entries that are not carried over: the meta tree itself, what the official models
# mirror from the headers, and what the asdf library writes on its own
_NOT_EXTRA = frozenset({"meta", "extra_fits", "history", "asdf_library", "_fits_hash"})


class _Field:
    """Attribute access to a declared array or table of a model."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: DataModel | None, cls: type | None = None) -> Any:
        if obj is None:
            return cls._specs[self.name]
        return obj._get(self.name)

    def __set__(self, obj: DataModel, value: Any) -> None:
        obj._set(self.name, value)

    def __delete__(self, obj: DataModel) -> None:
        obj._delete(self.name)


class DataModel:
    """A JWST product or reference file: metadata tree plus declared arrays and tables.

    Parameters
    ----------
    init : None, tuple, numpy.ndarray, str, os.PathLike, astropy.io.fits.HDUList or DataModel
        Nothing (empty model); the shape of the primary array (filled with its default); the
        primary array itself; a FITS or ASDF file (read lazily); an open HDUList; or another
        model, whose metadata is copied and whose arrays are shared (converted where the
        declared dtypes differ).
    memmap : bool
        Memory-map the file (FITS and ASDF inputs).
    **arrays
        Declared arrays or tables to set, e.g. ``ImageModel(data=sci, dq=dq)``.

    Raises
    ------
    InputError
        A file is unreadable, lacks a required extension, or holds an array with a number of
        dimensions the class does not allow.
    """

    fields: ClassVar[dict[str, Array | Table | None]] = {}
    """Declared arrays and tables, merged along the class hierarchy (None removes one)."""
    primary: ClassVar[str | None] = "data"
    """The array whose shape is :attr:`shape` and from which default shapes derive."""
    keyword_hdus: ClassVar[dict[str, str]] = {}
    """Meta path -> HDU, for entries of the keyword table this class keeps elsewhere."""
    extra_keywords: ClassVar[tuple[Keyword, ...]] = ()
    """Keywords only this class has (e.g. those in the FGS guider table headers)."""
    asdf_extension: ClassVar[bool] = True
    """Whether FITS files carry the ASDF extension (official reference files do not)."""
    reftype: ClassVar[str | None] = None
    """REFTYPE of a reference-file class (used to recognise files without DATAMODL)."""

    _specs: ClassVar[dict[str, Array | Table]] = {}
    _keywords: ClassVar[tuple[Keyword, ...]] = KEYWORDS

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, Array | Table] = {}
        hdus: dict[str, str] = {}
        extra: list[Keyword] = []
        for base in reversed(cls.__mro__):
            for name, spec in base.__dict__.get("fields", {}).items():
                if spec is None:
                    specs.pop(name, None)
                else:
                    specs[name] = spec
            hdus.update(base.__dict__.get("keyword_hdus", {}))
            extra.extend(base.__dict__.get("extra_keywords", ()))
        cls._specs = specs
        for name in specs:
            if name in DataModel.__dict__:
                raise TypeError(f"{cls.__name__}: field name {name!r} clashes with DataModel")
            setattr(cls, name, _Field(name))
        cls._keywords = tuple(
            Keyword(k.path, k.keyword, hdus[k.path], k.type) if k.path in hdus else k
            for k in KEYWORDS
        ) + tuple(extra)
        if register:
            REGISTRY[cls.__name__] = cls

    def __init__(self, init: Any = None, *, memmap: bool = True, **arrays: Any) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._absent: set[str] = set()
        self._source: Source | None = None
        self._meta: Node | None = None
        self._extra_fits: dict[str, list[tuple[str, Any, str]]] = {}
        self._extra_tree: dict[str, Any] = {}
        self._path: Path | None = None
        if init is None:
            pass
        elif isinstance(init, DataModel):
            self._init_from_model(init)
        elif isinstance(init, tuple):
            spec = self._primary_spec()
            fill = 0 if spec.default is None else spec.default
            self._set(self.primary, np.full(init, fill, dtype=spec.dtype))
        elif isinstance(init, np.ndarray):
            self._set(self.primary, init)
        elif isinstance(init, fits.HDUList):
            self._attach(FitsSource(init, owned=False))
        elif isinstance(init, (str, os.PathLike)):
            self._attach(open_source(Path(init), memmap=memmap))
        elif isinstance(init, (FitsSource, AsdfSource)):
            self._attach(init)
        else:
            raise TypeError(f"cannot make a {type(self).__name__} from {type(init).__name__}")
        for name, value in arrays.items():
            if name not in self._specs:
                raise TypeError(f"{type(self).__name__} has no array or table {name!r}")
            self._set(name, value)

    # -- construction helpers ------------------------------------------------------------
    def _attach(self, source: Source) -> None:
        """Read from ``source``, after checking that it has what this class needs."""
        try:
            for name, spec in self._specs.items():
                present = source.has(name, spec)
                if spec.required and not present:
                    where = (
                        f"no {spec.extname} extension"
                        if source.kind == "fits"
                        else f"no {name!r} array"
                    )
                    raise InputError(
                        f"{where}: a {type(self).__name__} needs one", path=source.path
                    )
                if present and isinstance(spec, Array):
                    shape = source.shape(name, spec)
                    if shape is not None and not spec.accepts_ndim(len(shape)):
                        raise InputError(
                            f"{spec.extname} is {len(shape)}-D {shape}, but a "
                            f"{type(self).__name__} needs it {spec.describe_ndim()}",
                            path=source.path,
                        )
        except BaseException:
            source.close()
            raise
        self._source = source
        self._path = source.path
        weakref.finalize(self, source.close)  # a model dropped without close() closes its file

    def _init_from_model(self, other: DataModel) -> None:
        self._meta = Node(copy.deepcopy(other.meta.to_dict()))
        self._extra_fits = copy.deepcopy(other._extra_fits)
        self._extra_tree = copy.deepcopy(other._extra_tree)
        self._path = other._path
        for name in self._specs:
            if name in other._specs and other.has(name):
                self._set(name, other._get(name))

    def _primary_spec(self) -> Array:
        spec = self._specs.get(self.primary) if self.primary else None
        if not isinstance(spec, Array):
            raise TypeError(f"{type(self).__name__} has no primary array")
        return spec

    # -- metadata -----------------------------------------------------------------------
    @property
    def meta(self) -> Node:
        """The metadata tree (read from the file on first access)."""
        if self._meta is None:
            self._meta = self._read_meta() if self._source is not None else Node()
        return self._meta

    def _read_meta(self) -> Node:
        source = self._source
        tree = source.tree()
        meta = tree.get("meta")
        node = Node(plain(meta) if isinstance(meta, dict) else {})
        self._extra_tree = {
            k: v for k, v in tree.items() if k not in _NOT_EXTRA and k not in self._specs
        }
        if source.kind == "fits":
            self._merge_keywords(node, source)
        if source.path is not None:  # the name on disk, as the official models do
            node.filename = source.path.name
        return node

    def _merge_keywords(self, node: Node, source: FitsSource) -> None:
        """Overlay the header keywords on the ASDF tree (FITS keywords win)."""
        known: dict[str, set[str]] = {}
        values: dict[str, dict[str, Any]] = {}  # the first card of each keyword, per HDU
        for kw in self._keywords:
            hdu = kw.hdu.upper()
            if hdu not in values:
                values[hdu] = {}
                for keyword, value, _ in source.cards(hdu) or ():
                    values[hdu].setdefault(keyword, value)
            if kw.keyword not in values[hdu]:
                continue
            value = values[hdu][kw.keyword]
            known.setdefault(hdu, set()).add(kw.keyword)
            if value is None or isinstance(value, fits.card.Undefined):
                continue
            node.set(kw.path, kw.coerce(value))
        ours = {"PRIMARY"} | {s.extname.upper() for s in self._specs.values()}
        for name in source.hdu_names():
            if name not in ours or name == ASDF_EXTNAME:
                continue
            mine = known.get(name, set())
            cards = [
                (keyword, value, comment)
                for keyword, value, comment in source.cards(name) or ()
                if keyword not in mine and not is_structural(keyword)
            ]
            if cards:
                self._extra_fits[name] = cards

    @property
    def extra_fits(self) -> dict[str, list[tuple[str, Any, str]]]:
        """Header cards read from the file that the keyword table does not map, per HDU.

        They are written back to the same HDU on save.
        """
        _ = self.meta
        return self._extra_fits

    # -- arrays -------------------------------------------------------------------------
    def _in_file(self, name: str) -> bool:
        """Whether ``name`` is to be read from the file (not set, deleted or missing)."""
        source = self._source
        return name not in self._absent and source is not None and source.has(
            name, self._specs[name]
        )

    def _get(self, name: str) -> Any:
        array = self._arrays.get(name)
        if array is not None:
            return array
        spec = self._specs[name]
        if self._in_file(name):
            array = self._after_read(name, self._source.read(name, spec))
            self._arrays[name] = array
            return array
        if isinstance(spec, Array) and spec.default is not None:
            primary_shape = self.shape
            if primary_shape is None or name == self.primary:
                return None
            shape = spec.default_shape(primary_shape)
            if spec.default == 0:  # zeroed pages are only allocated when written
                array = np.zeros(shape, dtype=spec.dtype)
            else:
                array = np.full(shape, spec.default, dtype=spec.dtype)
            self._set(name, array)
            return array
        return None

    def read_uncached(self, name: str, out: np.ndarray | None = None) -> Any:
        """A declared array: the one in memory if there is one, else read and not kept.

        For callers that need an array once and must not hold it (Stage 3 exposures keep
        only SCI and DQ); an array the file does not have is made as by attribute access.
        ``out``: a buffer to read into when it suits (the array's shape and dtype); the
        result is then a view of it, valid until the buffer is reused.
        """
        if name in self._arrays or not self._in_file(name):
            return self._get(name)
        return self._after_read(name, self._source.read(name, self._specs[name], out))

    def _set(self, name: str, value: Any) -> None:
        if value is None:
            self._delete(name)
            return
        spec = self._specs[name]
        if isinstance(spec, Table):
            self._arrays[name] = coerce_table(value, spec, name)
        else:
            self._arrays[name] = coerce_array(value, spec, name)
        self._absent.discard(name)

    def _delete(self, name: str) -> None:
        self._arrays.pop(name, None)
        self._absent.add(name)

    def _after_read(self, name: str, array: np.ndarray) -> np.ndarray:
        """Hook: convert an array just read from the file."""
        return array

    def _before_write(self, name: str, array: np.ndarray) -> np.ndarray:
        """Hook: convert an array about to be written (must not modify it in place)."""
        return array

    def read_planes(
        self,
        name: str,
        lead: tuple[int, ...],
        start: int,
        stop: int,
        rows: slice = slice(None),
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """``array[*lead, start:stop, rows, :]`` of a declared array of 3 or more axes.

        When the array has not been read, only those planes and rows are read from a
        FITS file (and not kept), into ``out`` when it suits (C-contiguous, of the result's
        shape and dtype); otherwise this is a view of the array in memory.

        Parameters
        ----------
        name : str
            The array (``"data"``).
        lead : tuple of int
            Indices of the axes before the plane axis (``()`` for a 3-D array).
        start, stop : int
            Planes to read.
        rows : slice
            Rows of each plane (step 1).
        out : ndarray, optional
            A buffer to read into (a caller reading many blocks of one shape reuses it).
        """
        source = self._source
        if name not in self._arrays and name not in self._absent and isinstance(source, FitsSource):
            spec = self._specs[name]
            if isinstance(spec, Array) and source.has(name, spec):
                part = source.read_planes(spec, tuple(lead), start, stop, rows, out)
                if part is not None:
                    return self._after_read(name, part)
        return self._get(name)[(*lead, slice(start, stop), rows)]

    def has(self, name: str) -> bool:
        """Whether the declared array or table ``name`` is in the file or has been set."""
        if name in self._arrays:
            return True
        spec = self._specs.get(name)
        if spec is None or name in self._absent or self._source is None:
            return False
        return self._source.has(name, spec)

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the primary array (from the header when it has not been read)."""
        name = self.primary
        if name is None or name not in self._specs:
            return None
        if name in self._arrays:
            return self._arrays[name].shape
        if self._source is not None and name not in self._absent:
            spec = self._specs[name]
            if self._source.has(name, spec):
                return self._source.shape(name, spec)
        return None

    def shape_of(self, name: str) -> tuple[int, ...] | None:
        """Shape of a declared array (from the header when it has not been read), or None."""
        if name in self._arrays:
            return self._arrays[name].shape
        spec = self._specs.get(name)
        source = self._source
        present = isinstance(spec, Array) and name not in self._absent and source is not None
        return source.shape(name, spec) if present and source.has(name, spec) else None

    @property
    def path(self) -> Path | None:
        """The file this model was read from, if any."""
        return self._path

    @classmethod
    def declared(cls) -> dict[str, Array | Table]:
        """The declared arrays and tables of this class, by attribute name."""
        return dict(cls._specs)

    # -- saving -------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write the model to ``path`` (FITS, or ASDF for a ``.asdf`` suffix), atomically.

        The file is written to a temporary name in the same directory and renamed over
        ``path`` only when complete, so a failure never leaves a partial file (and leaves an
        existing file untouched). Sets ``meta.filename`` to the new basename, ``meta.date``
        to now and ``meta.model_type`` to the class name.

        Returns
        -------
        Path
            The path written.
        """
        path = Path(path)
        if not overwrite and path.exists():
            raise FileExistsError(f"{path}: exists and overwrite=False")
        meta = self.meta
        before = {k: getattr(meta, k) for k in ("filename", "date", "model_type", "telescope")}
        meta.filename = path.name
        meta.date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        meta.model_type = type(self).__name__
        if meta.telescope is None:
            meta.telescope = "JWST"
        try:
            if path.suffix.lower() == ".asdf":
                tree = {"meta": meta.to_dict(), **self._extra_tree}
                for name, _spec, array in self._present():
                    tree[name] = array
                atomic_write(path, lambda f: write_asdf(f, tree))
            else:
                plan = self._plan()
                atomic_write(path, lambda f: write_fits(f, plan))
        except BaseException:
            for key, value in before.items():
                if value is None:
                    delattr(meta, key)
                else:
                    setattr(meta, key, value)
            raise
        return path

    def _present(self, defer: bool = False):
        """``(name, spec, array)`` for every array and table to write, in declaration order.

        An array still in the (open) file that was read only to be written is not kept in
        memory afterwards: it is read again if asked for. With ``defer``, such an array is
        a :class:`~webbcal.datamodels.fits_write.Deferred`, read when it is written.
        """
        source = self._source
        deferrable = (defer and source is not None and not source.closed
                      and type(self)._after_read is DataModel._after_read
                      and type(self)._before_write is DataModel._before_write)  # fmt: skip
        for name, spec in self._specs.items():
            if self.has(name):
                kept = name in self._arrays
                if not kept and deferrable and isinstance(spec, Array) and self._in_file(name):
                    shape = source.shape(name, spec)
                    if shape:  # read by the writer when it gets to this HDU
                        yield name, spec, Deferred(shape, np.dtype(spec.dtype),
                                                   partial(self._read_to_write, name))
                        continue
                array = self._get(name)
                if array is not None:
                    yield name, spec, self._before_write(name, np.ascontiguousarray(array))
                if not kept and source is not None and not source.closed:
                    self._arrays.pop(name, None)

    def _read_to_write(self, name: str) -> np.ndarray:
        """Array ``name`` read from the file for writing (not kept)."""
        return np.ascontiguousarray(self._source.read(name, self._specs[name]))

    def _stamp(self) -> None:
        """Record the class (DATAMODL) and the telescope before writing."""
        self.meta.model_type = type(self).__name__
        if self.meta.telescope is None:
            self.meta.telescope = "JWST"

    def _plan(self) -> list[HduPlan]:
        present = list(self._present(defer=True))
        meta = self.meta
        return plan_hdus(
            arrays=[p for p in present if isinstance(p[1], Array)],
            tables=[p for p in present if isinstance(p[1], Table)],
            keywords=self._keywords,
            meta=meta.to_dict(),
            flat_meta=meta.to_flat_dict(),
            extra_fits=self._extra_fits,
            extra_tree=self._extra_tree,
            asdf_extension=self.asdf_extension,
        )

    def to_hdulist(self) -> fits.HDUList:
        """The model as an in-memory HDUList, as :meth:`save` would write it.

        Sets ``meta.model_type`` (and ``meta.telescope`` when unset) but, unlike :meth:`save`,
        leaves ``meta.filename`` and ``meta.date`` alone.
        """
        self._stamp()
        return build_hdulist(self._plan())

    # -- lifetime -----------------------------------------------------------------------
    def copy(self) -> DataModel:
        """A deep copy: arrays read and copied, metadata copied, no link to the file."""
        new = type(self)()
        new._meta = Node(copy.deepcopy(self.meta.to_dict()))
        new._extra_fits = copy.deepcopy(self._extra_fits)
        new._extra_tree = copy.deepcopy(self._extra_tree)
        new._path = self._path
        for name in self._specs:
            if self.has(name):
                new._arrays[name] = np.array(self._get(name), copy=True)
        return new

    def close(self) -> None:
        """Close the file; arrays already read stay valid, unread ones can no longer be."""
        if self._source is not None:
            self._source.close()

    def __getstate__(self) -> dict:
        """Pickle (e.g. to send to a Dask worker): every array is read, the file is dropped."""
        _ = self.meta
        for name in self._specs:
            if self.has(name):
                self._get(name)
        state = self.__dict__.copy()
        state["_source"] = None
        return state

    def __enter__(self) -> DataModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f" from {self._path.name}" if self._path else ""
        return f"<{type(self).__name__}{self.shape or ''}{where}>"


def open_source(path: Path, *, memmap: bool = True) -> Source:
    """Open a FITS or ASDF file as a model source, telling them apart by content.

    Raises
    ------
    InputError
        The file is missing, a directory, or neither FITS nor ASDF.
    """
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, not a FITS or ASDF file", path=path)
    with path.open("rb") as f:
        magic = f.read(9)
    if magic.startswith(b"SIMPLE  ="):
        return FitsSource.open(path, memmap=memmap)
    if magic.startswith(b"#ASDF"):
        return AsdfSource.open(path, memmap=memmap)
    raise InputError(
        f"not a FITS or ASDF file (it starts with {magic!r}); expected a JWST product",
        path=path,
    )


