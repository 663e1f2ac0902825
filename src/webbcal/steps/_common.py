"""Helpers shared by the Stage 1 steps: ramp conversion, reference cut-outs, exposure facts.

* :func:`to_ramp_model` turns a raw ``Level1bModel`` into a float32 ``RampModel`` once
  (reading the SCI extension group by group straight from the file when it has not been
  read yet, so that no uint16 copy of the whole exposure is ever held);
* :func:`ref_array` cuts a reference array to the exposure's (sub)array and checks the
  shape, so that a mismatch is a clear :class:`~webbcal.errors.ReferenceFileError`;
  within :func:`cached_references` the cut-outs are read once and shared by repeated
  runs on parts of an exposure (integration chunks, row bands);
* :func:`ref_planes` reads planes of a 3-D or 4-D reference array (a dark) cut to the
  exposure's window, a few at a time, without reading the whole array;
* :func:`readout` gathers the readout keywords a step needs (and says which is missing);
* :func:`is_tso`, :func:`instrument_of`, :func:`is_guider` classify the exposure.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.core.references import shared_references
from webbcal.datamodels import GuiderRawModel, Level1bModel, RampModel
from webbcal.errors import InputError, ReferenceFileError, StepError
from webbcal.steps._rawread import read_window

log = logging.getLogger(__name__)

__all__ = [
    "GUIDER_EXP_TYPES",
    "TSO_EXP_TYPES",
    "Readout",
    "cached_references",
    "check_window",
    "copy_meta",
    "exp_type_of",
    "instrument_of",
    "is_guider",
    "is_tso",
    "readout",
    "ref_array",
    "ref_planes",
    "to_ramp_model",
]

#: EXP_TYPEs of the FGS guiding modes (processed by calwebb_guider).
GUIDER_EXP_TYPES = frozenset(
    ("FGS_ID-IMAGE", "FGS_ID-STACK", "FGS_ACQ1", "FGS_ACQ2", "FGS_TRACK", "FGS_FINEGUIDE")
)
#: EXP_TYPEs that are always time series, whatever TSOVISIT says.
TSO_EXP_TYPES = frozenset(("NRC_TSIMAGE", "NRC_TSGRISM", "NRS_BRIGHTOBJ"))


def _name(model: Any) -> str:
    return getattr(model.meta, "filename", None) or "the input"


def instrument_of(model: Any) -> str:
    """INSTRUME, upper case ("" when unset)."""
    return str(model.meta.instrument.name or "").strip().upper()


def exp_type_of(model: Any) -> str:
    """EXP_TYPE, upper case ("" when unset)."""
    return str(model.meta.exposure.type or "").strip().upper()


def is_guider(model: Any) -> bool:
    """True for FGS guiding-mode exposures (ID, ACQ1, ACQ2, TRACK, FineGuide)."""
    return exp_type_of(model) in GUIDER_EXP_TYPES


def is_tso(model: Any) -> bool:
    """True for time-series exposures: TSOVISIT true, or a TSO-only EXP_TYPE."""
    tso = model.meta.visit.tsovisit
    if isinstance(tso, str):
        tso = tso.strip().upper() in ("T", "TRUE", "1", "Y", "YES")
    return bool(tso) or exp_type_of(model) in TSO_EXP_TYPES


def copy_meta(source: Any, target: Any) -> None:
    """Copy the metadata tree and the unmapped header cards of ``source`` into ``target``."""
    target.meta.update(copy.deepcopy(source.meta.to_dict()))
    target.extra_fits.update(copy.deepcopy(source.extra_fits))


@dataclass(frozen=True)
class Readout:
    """Readout facts of an exposure (NFRAMES, GROUPGAP, DRPFRMS1, TFRAME, TGROUP)."""

    nframes: int
    groupgap: int
    drop_frames1: int
    frame_time: float
    group_time: float


def readout(model: Any, step: str) -> Readout:
    """The readout keywords of ``model``.

    Raises
    ------
    StepError
        When TFRAME or TGROUP is missing (the step cannot convert to rates without them).
    """
    exp = model.meta.exposure
    frame_time, group_time = exp.frame_time, exp.group_time
    if frame_time is None or group_time is None:
        missing = "TFRAME" if frame_time is None else "TGROUP"
        raise StepError(
            f"{step}: the exposure has no {missing} keyword (meta.exposure."
            f"{'frame_time' if frame_time is None else 'group_time'}); it is needed to "
            "compute rates",
            path=model.meta.filename,
        )
    return Readout(
        nframes=int(exp.nframes or 1),
        groupgap=int(exp.groupgap or 0),
        drop_frames1=int(exp.drop_frames1 or 0),
        frame_time=float(frame_time),
        group_time=float(group_time),
    )


@dataclass
class _ReferenceCache:
    """Reference arrays cut to one exposure window, shared by repeated step runs."""

    window: dict[str, int]
    arrays: dict[tuple[str, int, str], np.ndarray]


_cache: _ReferenceCache | None = None


@contextmanager
def cached_references(model: Any) -> Iterator[None]:
    """Keep the reference arrays that :func:`ref_array` reads, cut to ``model``'s window.

    Inside the block, steps that run on parts of the exposure (integration chunks, row
    bands) open each reference file once (:func:`~webbcal.core.references.shared_references`)
    and read each reference array once: the cut-out for the whole exposure is kept and each
    part gets a view of it.
    """
    global _cache
    sub = model.meta.subarray
    ny, nx = model.shape[-2:]
    window = {"SUBSTRT1": int(sub.xstart or 1), "SUBSTRT2": int(sub.ystart or 1),
              "SUBSIZE1": nx, "SUBSIZE2": ny}  # fmt: skip
    previous, _cache = _cache, _ReferenceCache(window, {})
    try:
        with shared_references():
            yield
    finally:
        _cache = previous


def ref_array(
    ref: Any,
    array: np.ndarray | str,
    model: Any,
    *,
    what: str,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """The part of a reference array that covers the exposure, checked against its shape.

    Parameters
    ----------
    ref : data model
        The reference file (its SUBSTRT1/2 place a reference that is not full frame).
    array : ndarray or str
        One of its arrays, ``(..., ny, nx)``, or the attribute name of one (``"data"``);
        a name lets :func:`cached_references` serve it without reading the file again.
    model : data model
        The exposure.
    what : str
        Name used in messages (``"SATURATION"``).
    shape : tuple of int, optional
        The exposure's image shape (default: the last two axes of ``model.shape``).

    Raises
    ------
    ReferenceFileError
        When the exposure's window cannot be cut from the reference, or the cut-out does
        not have the exposure's shape.
    """
    want = tuple(shape) if shape is not None else tuple(model.shape[-2:])
    if isinstance(array, str):
        cached = _from_cache(ref, array, model, what, want)
        if cached is not None:
            return cached
        array = getattr(ref, array)
    return _cut(ref, array, model, what, want)


def _cut(ref: Any, array: np.ndarray, model: Any, what: str, want: tuple[int, ...]) -> np.ndarray:
    from webbcal.refs import cutout

    try:
        cut = cutout(array, model, ref)
    except ReferenceFileError as exc:
        raise ReferenceFileError(f"{what} reference {_ref_name(ref)}: {exc.message}") from exc
    if tuple(cut.shape[-2:]) != want:
        name = getattr(getattr(model, "meta", None), "filename", None)
        raise ReferenceFileError(
            f"{what} reference {_ref_name(ref)} covers {cut.shape[-1]}x{cut.shape[-2]} pixels "
            f"for the exposure, whose data are {want[1]}x{want[0]}; check SUBSTRT1/2 and "
            "SUBSIZE1/2 of both files",
            path=name,
        )
    return cut


def _from_cache(
    ref: Any, name: str, model: Any, what: str, want: tuple[int, ...]
) -> np.ndarray | None:
    """The cached cut-out for ``model`` (reading and caching it first), or None."""
    cache = _cache
    path = getattr(ref, "path", None)
    if cache is None or path is None:
        return None
    key = (str(path), os.stat(path).st_mtime_ns, name)
    window = cache.window
    if key not in cache.arrays:
        full = getattr(ref, name)
        frame = (window["SUBSIZE2"], window["SUBSIZE1"])
        # a copy only when the window is a part: the whole array is not kept then
        cache.arrays[key] = np.ascontiguousarray(_cut(ref, full, window, what, frame))
    sub = model.meta.subarray
    y0 = int(sub.ystart or 1) - window["SUBSTRT2"]
    x0 = int(sub.xstart or 1) - window["SUBSTRT1"]
    region = cache.arrays[key]
    if y0 < 0 or x0 < 0 or y0 + want[0] > region.shape[-2] or x0 + want[1] > region.shape[-1]:
        return None
    return region[..., y0 : y0 + want[0], x0 : x0 + want[1]]


def ref_planes(
    ref: Any, name: str, model: Any, *, what: str
) -> tuple[Callable[[tuple[int, ...], int, int], np.ndarray], tuple[int, ...]]:
    """A reader of planes of a reference array (3-D or more), cut to the exposure's window.

    Returns ``(read, shape)``: ``read(lead, start, stop)`` gives
    ``array[*lead, start:stop]`` cut to the window, reading only those planes and rows
    from the file (within :func:`cached_references`, from the cached cut-out instead);
    ``shape`` is the shape of the whole cut-out. ``read(lead, start, stop, True)`` may
    return the planes in the memory of its previous such call (see
    :data:`webbcal.kernels.dark.FrameReader`).

    Raises
    ------
    ReferenceFileError
        As :func:`ref_array`.
    """
    want = tuple(model.shape[-2:])
    cached = _from_cache(ref, name, model, what, want)
    if cached is not None:
        return _view_reader(cached), cached.shape
    full = ref.shape_of(name)
    if full is None or len(full) < 3:
        array = ref_array(ref, name, model, what=what)
        return _view_reader(array), array.shape
    ny, nx = full[-2:]
    rows = np.broadcast_to(np.arange(ny)[:, None], (ny, nx))
    cols = np.broadcast_to(np.arange(nx)[None, :], (ny, nx))
    y0 = int(_cut(ref, rows, model, what, want)[0, 0])
    x0 = int(_cut(ref, cols, model, what, want)[0, 0])
    band = slice(y0, y0 + want[0])

    buffer: list[np.ndarray] = []

    def read(lead: tuple[int, ...], start: int, stop: int, reuse: bool = False) -> np.ndarray:
        out = None
        if reuse:
            shape = (stop - start, want[0], nx)
            if not buffer or buffer[0].shape != shape:
                buffer[:] = [np.empty(shape, np.float32)]
            out = buffer[0]
        return ref.read_planes(name, lead, start, stop, band, out)[..., x0 : x0 + want[1]]

    return read, (*full[:-2], *want)


def _view_reader(array: np.ndarray) -> Callable[..., np.ndarray]:
    """A plane reader of an array in memory (views: nothing to reuse)."""

    def read(lead: tuple[int, ...], start: int, stop: int, reuse: bool = False) -> np.ndarray:
        return array[(*lead, slice(start, stop))]

    return read


def _ref_name(ref: Any) -> str:
    path = getattr(ref, "path", None)
    return Path(path).name if path is not None else (ref.meta.filename or "(in memory)")


def check_window(model: Any, step: str) -> None:
    """Raise InputError when the data do not have the size SUBSIZE1/SUBSIZE2 announce."""
    sub = model.meta.subarray
    shape = model.shape
    if shape is None or sub.xsize is None or sub.ysize is None:
        return
    ny, nx = shape[-2:]
    if (int(sub.ysize), int(sub.xsize)) != (ny, nx):
        raise InputError(
            f"{step}: the SCI data are {nx}x{ny} pixels but SUBSIZE1/SUBSIZE2 say "
            f"{sub.xsize}x{sub.ysize}; the file's data or its subarray keywords are wrong",
            path=model.meta.filename,
        )


# --------------------------------------------------------------------------- conversion


def to_ramp_model(model: Any, step: str, cls: type = RampModel) -> Any:
    """The exposure as a float32 ramp model (``RampModel``; ``GuiderRawModel`` for FGS).

    A model of class ``cls`` is returned as it is. A raw ``Level1bModel`` is converted
    once: a new model with its metadata, tables and float32 SCI, ZEROFRAME and REFOUT.
    When the raw SCI array has not been read yet and the file is at hand, it is read group
    by group from the file into the float32 array (peak memory: the float32 ramp plus one
    group; a large ramp is mapped in small pages, see :mod:`webbcal.kernels.pagemem`);
    otherwise the array in memory is converted.

    Raises
    ------
    InputError
        For a model that is neither ``cls`` nor a raw (or float) 4-D ramp.
    """
    if isinstance(model, cls):
        return model
    if not isinstance(model, Level1bModel | RampModel | GuiderRawModel):
        raise InputError(
            f"{step}: expected a raw 4-D ramp (uncal), got a {type(model).__name__}",
            path=model.meta.filename,
        )
    out = cls()
    copy_meta(model, out)
    out.data = _float_sci(model)
    for name in ("zeroframe", "refout", "group", "int_times", *_guider_tables(cls)):
        if name in cls.declared() and name in type(model).declared() and model.has(name):
            setattr(out, name, getattr(model, name))
    return out


def _guider_tables(cls: type) -> tuple[str, ...]:
    if cls is GuiderRawModel:
        return ("planned_star_table", "flight_star_table", "pointing_table", "centroid_table",
                "track_sub_table")  # fmt: skip
    return ()


def _float_sci(model: Any) -> np.ndarray:
    """float32 copy of the SCI array, streamed from the file when not read yet."""
    return read_window(model)
