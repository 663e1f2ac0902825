"""Subarrays: official names with their position, size and number of outputs.

Positions are 1-based ``SUBSTRT1/SUBSTRT2`` in the detector's DMS (science) frame, as in
the file headers; ``Subarray.full_frame_slices`` gives the 0-based numpy slices.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from webbcal.errors import InputError
from webbcal.instruments._tables import load_table, normalize_instrument, unknown
from webbcal.instruments.detectors import Amplifier, Detector, detectors, get_detector

log = logging.getLogger(__name__)

__all__ = [
    "Subarray",
    "get_subarray",
    "subarray_amplifiers",
    "subarray_from_keywords",
    "subarray_names",
]


@dataclass(frozen=True)
class Subarray:
    """A readout window of a detector.

    Attributes
    ----------
    instrument, name : str
        INSTRUME and SUBARRAY keyword values.
    detector : str or None
        DETECTOR the position refers to (None when the same on every detector).
    xstart, ystart : int or None
        1-based SUBSTRT1/SUBSTRT2 in the DMS frame; None when the window is placed at
        execution (FGS guiding) and no file says where.
    xsize, ysize : int
        SUBSIZE1/SUBSIZE2.
    noutputs : int
        NOUTPUTS (number of amplifiers read in parallel).
    allowed_noutputs : tuple of int
        The NOUTPUTS values this subarray may be read with.
    aperture : str or None
        The SIAF aperture of the window, when there is one.
    """

    instrument: str
    name: str
    detector: str | None
    xstart: int | None
    ystart: int | None
    xsize: int
    ysize: int
    noutputs: int
    allowed_noutputs: tuple[int, ...]
    aperture: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the window."""
        return self.ysize, self.xsize

    @property
    def has_position(self) -> bool:
        """True when SUBSTRT1/SUBSTRT2 are known."""
        return self.xstart is not None and self.ystart is not None

    @property
    def full_frame_slices(self) -> tuple[slice, slice]:
        """0-based ``(yslice, xslice)`` of the window in a full frame.

        ``full_frame[sub.full_frame_slices]`` is the window's part of a full frame.
        """
        if not self.has_position:
            raise InputError(f"{self.instrument} subarray {self.name} has no known position")
        x0, y0 = self.xstart - 1, self.ystart - 1
        return slice(y0, y0 + self.ysize), slice(x0, x0 + self.xsize)

    def keywords(self) -> dict[str, Any]:
        """SUBARRAY, SUBSTRT1/2, SUBSIZE1/2 and (near-IR) NOUTPUTS keyword values."""
        kw: dict[str, Any] = {
            "SUBARRAY": self.name,
            "SUBSTRT1": self.xstart,
            "SUBSTRT2": self.ystart,
            "SUBSIZE1": self.xsize,
            "SUBSIZE2": self.ysize,
        }
        if self.instrument != "MIRI":
            kw["NOUTPUTS"] = self.noutputs
        return kw


def _entries(instrument: str) -> dict[str, dict[str, Any]]:
    return load_table("subarrays")[instrument]


def _siaf_prefix(det: Detector) -> str | None:
    return det.siaf_aperture.split("_")[0] if det.siaf_aperture else None


def _aperture(rec: dict[str, Any], det: Detector | None) -> str | None:
    ap = rec.get("aperture")
    if ap is None:
        return None
    if isinstance(ap, dict):
        return ap.get(det.name) if det is not None else None
    if "{siaf}" in ap:
        prefix = _siaf_prefix(det) if det is not None else None
        return ap.format(siaf=prefix) if prefix else None
    return ap


def _defined_on(instrument: str, rec: dict[str, Any]) -> list[str]:
    start = rec["start"]
    if isinstance(start, dict):
        return list(start)
    return [d.name for d in detectors(instrument)]


def subarray_names(instrument: str, detector: str | None = None) -> list[str]:
    """SUBARRAY names known for an instrument (only those defined on ``detector`` if given)."""
    inst = normalize_instrument(instrument)
    entries = _entries(inst)
    if detector is None:
        return list(entries)
    det = get_detector(inst, detector).name
    return [name for name, rec in entries.items() if det in _defined_on(inst, rec)]


def get_subarray(
    instrument: str, name: str, detector: str | None = None, *, noutputs: int | None = None
) -> Subarray:
    """Return the official :class:`Subarray` ``name`` of an instrument.

    Parameters
    ----------
    instrument, name : str
        INSTRUME and SUBARRAY values (case-insensitive).
    detector : str, optional
        DETECTOR value.  Needed when the window's position differs between detectors
        (e.g. NIRCam SUB640); it may be left out when the subarray exists on one detector
        only or has the same position on all of them.
    noutputs : int, optional
        NOUTPUTS; defaults to the subarray's usual value (4 for NIRCam SUBGRISM*).

    Raises
    ------
    webbcal.errors.InputError
        Unknown instrument/subarray/detector, a subarray not defined on that detector,
        a missing detector where the position depends on it, or a disallowed NOUTPUTS.
    """
    inst = normalize_instrument(instrument)
    entries = _entries(inst)
    key = str(name).strip().upper()
    if key not in entries:
        raise unknown("subarray", str(name), inst, list(entries))
    rec = entries[key]
    on = _defined_on(inst, rec)
    start = rec["start"]
    det: Detector | None = None
    if detector is not None:
        det = get_detector(inst, detector)
        if det.name not in on:
            raise InputError(
                f"{inst} subarray {key} is not defined on {det.name} (only {', '.join(on)})"
            )
    elif len(on) == 1:
        det = get_detector(inst, on[0])
    elif isinstance(start, dict) and len({tuple(v) for v in start.values()}) > 1:
        raise InputError(
            f"the position of {inst} subarray {key} depends on the detector; "
            f"pass one of {', '.join(on)}"
        )
    if isinstance(start, dict):
        xy = start[det.name] if det is not None else next(iter(start.values()))
    else:
        xy = start
    allowed = tuple(rec["noutputs"])
    if noutputs is None:
        noutputs = allowed[0]
    elif int(noutputs) not in allowed:
        raise InputError(
            f"{inst} subarray {key} is read with NOUTPUTS in {allowed}, not {noutputs}"
        )
    xsize, ysize = rec["size"]
    return Subarray(
        instrument=inst,
        name=key,
        detector=det.name if det is not None else None,
        xstart=None if xy is None else int(xy[0]),
        ystart=None if xy is None else int(xy[1]),
        xsize=int(xsize),
        ysize=int(ysize),
        noutputs=int(noutputs),
        allowed_noutputs=allowed,
        aperture=_aperture(rec, det),
    )


def _keyword_getter(keywords: Mapping[str, Any]):
    upper = {str(k).upper(): v for k, v in keywords.items()}

    def get(key: str) -> Any:
        value = upper.get(key)
        return None if value in ("", "N/A") else value

    return get


def subarray_from_keywords(keywords: Mapping[str, Any]) -> Subarray:
    """Build the :class:`Subarray` a file describes from its header keywords.

    Uses INSTRUME, DETECTOR, SUBARRAY, SUBSTRT1/2, SUBSIZE1/2 and NOUTPUTS (keys in any
    case; a FITS header works).  The file's SUBSTRT/SUBSIZE values win over the table (they
    are the truth for that exposure); a SUBARRAY name that is not in the table (GENERIC,
    custom windows) is accepted when the four SUBSTRT/SUBSIZE keywords are present.

    Raises
    ------
    webbcal.errors.InputError
        When INSTRUME is missing or unknown, or the window cannot be determined.
    """
    get = _keyword_getter(keywords)
    if get("INSTRUME") is None:
        raise InputError("the INSTRUME keyword is missing; cannot identify the subarray")
    inst = normalize_instrument(get("INSTRUME"))
    det_name = get("DETECTOR")
    det = get_detector(inst, det_name) if det_name is not None else None
    name = str(get("SUBARRAY") or "GENERIC").strip().upper()
    window = [get(k) for k in ("SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2")]
    noutputs = get("NOUTPUTS")

    base: Subarray | None = None
    if name in _entries(inst):
        try:
            base = get_subarray(inst, name, det.name if det else None)
        except InputError:
            if None in window:
                raise
            # Known name, but no table position for this detector: keep size and outputs.
            rec = _entries(inst)[name]
            allowed = tuple(rec["noutputs"])
            base = Subarray(inst, name, None, None, None, *rec["size"], allowed[0], allowed)
    if None in window:
        if base is None:
            raise InputError(
                f"{inst} subarray {name!r} is not a known subarray and SUBSTRT1/2, SUBSIZE1/2 "
                "are not all present"
            )
        if not base.has_position:
            raise InputError(f"{inst} subarray {name} needs SUBSTRT1/SUBSTRT2 in the file")
        sub = base
    else:
        xstart, ystart, xsize, ysize = (int(v) for v in window)
        if base is None:
            full = det.shape if det is not None else detectors(inst)[0].shape
            is_full_width = (xsize, ysize) == (full[1], full[0])
            allowed = (4,) if is_full_width or inst == "MIRI" else (1, 4)
            base = Subarray(inst, name, None, None, None, xsize, ysize, allowed[0], allowed)
        elif (base.xstart, base.ystart, base.xsize, base.ysize) != (xstart, ystart, xsize, ysize):
            log.debug(
                "%s %s: file window (%d, %d, %d, %d) differs from the table's (%s, %s, %d, %d)",
                inst,
                name,
                xstart,
                ystart,
                xsize,
                ysize,
                base.xstart,
                base.ystart,
                base.xsize,
                base.ysize,
            )
        sub = replace(base, xstart=xstart, ystart=ystart, xsize=xsize, ysize=ysize)
    if det is not None and sub.detector is None:
        sub = replace(sub, detector=det.name)
    if noutputs is not None:
        sub = replace(sub, noutputs=int(noutputs))
    return sub


def subarray_amplifiers(detector: Detector, subarray: Subarray) -> tuple[Amplifier, ...]:
    """The outputs that read a subarray, as :class:`Amplifier` windows in subarray pixels.

    With one output the whole window is one amplifier.  With 4 outputs (near-IR full-width
    windows, MIRI) the detector's full-frame amplifiers are cut to the window; MIRI's
    interleaved columns keep their phase with respect to the full frame.
    """
    ny, nx = subarray.shape
    if subarray.noutputs == 1:
        return (Amplifier("A", 0, nx, 0, ny),)
    ys, xs = subarray.full_frame_slices
    out = []
    for amp in detector.amplifiers:
        x0 = max(amp.x0, xs.start)
        if amp.xstep > 1:
            x0 += (amp.x0 - x0) % amp.xstep
        x1, y0, y1 = min(amp.x1, xs.stop), max(amp.y0, ys.start), min(amp.y1, ys.stop)
        if x0 < x1 and y0 < y1:
            out.append(
                Amplifier(
                    amp.name, x0 - xs.start, x1 - xs.start, y0 - ys.start, y1 - ys.start, amp.xstep
                )
            )
    return tuple(out)
