"""Readout patterns, frame times and the exposure-time keywords.

Near-infrared (SIDECAR ASIC, 10 us per pixel) frame times, with ``nfast`` and ``nslow``
the window's sizes along the fast and slow readout directions::

    4 outputs:  ((nfast / 4 + 12) * (nslow + 1) + 1) * 10 us    (full frame: 10.73677 s)
    1 output:   ((nfast + 12) * (nslow + 2)) * 10 us             (NIRCam <= 8x8: nslow + 3)

FGS windows of 32 pixels or less (guiding) use ``(nfast + 6) * (nslow + 1)``, and the FGS
ID strips omit the final ``+ 1``.  NIRSpec IRS2 full frames take 14.58889 s.  MIRI frame
times follow Ressler (2014), "MIRI FPS Exposure Time Calculations" (JPL MIRI DFM 478
04.02): row resets for skipped rows, reference-pixel and pixel clocks per row, and a fast
"burst" skip over the columns left of a window.

Exposure keywords (checked against real headers in the tests)::

    TGROUP   = (NFRAMES + GROUPGAP) * TFRAME
    EFFINTTM = (NGROUPS * NFRAMES + (NGROUPS - 1) * GROUPGAP + DRPFRMS1) * TFRAME
    EFFEXPTM = XPOSURE = NINTS * EFFINTTM
    TMEASURE = NINTS * (NGROUPS - 1) * TGROUP
    DURATION = TELAPSE = (NINTS * (EFFINTTM / TFRAME + DRPFRMS3) + (NINTS - 1) * NRESETS) * TFRAME
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from webbcal.errors import InputError, ParameterError
from webbcal.instruments._tables import load_table, normalize_instrument, unknown
from webbcal.instruments.detectors import Detector, detectors, get_detector
from webbcal.instruments.subarrays import Subarray, get_subarray

__all__ = ["ReadPattern", "Timing", "frame_time", "get_readpatt", "readpatt_names", "timing"]

#: Pixel clock of all JWST detectors [s].
PIXEL_TIME = 10e-6

# MIRI focal-plane electronics (Ressler 2014): rows and amplifier columns of a detector,
# clocks of a reference-pixel sample skip, of the row-reset pulse and of its overhead.
_MIRI_ROWS = 1024
_MIRI_AMP_COLUMNS = 258
_MIRI_REFPIX_SKIP = 3
_MIRI_RESET_WIDTH = 4
_MIRI_RESET_OVERHEAD = 3

# NIRSpec IRS2: each output reads 512 science + 128 interleaved reference pixels per row,
# with a 72-clock row overhead; (640 + 72) * 2049 + 1 clocks = 14.58889 s per frame.
_IRS2_ROW_CLOCKS = 640 + 72


@dataclass(frozen=True)
class ReadPattern:
    """A readout pattern (READPATT) of an instrument.

    Attributes
    ----------
    nframes, groupgap : int
        Frames averaged per group and frames dropped between groups.
    nresets : int
        Reset frames between integrations (NRESETS).
    nresets_at_start : int
        Reset frames at the start of the exposure (NRSTSTRT).
    drop_frames1, drop_frames3 : int
        Frames dropped at the start / end of each integration (DRPFRMS1/DRPFRMS3).
    samplesum, sampleskip : int
        MIRI A/D samples summed and skipped per pixel (1/0 for near-IR).
    irs2 : bool
        NIRSpec IRS2 readout.
    """

    instrument: str
    name: str
    nframes: int
    groupgap: int
    nresets: int
    nresets_at_start: int
    drop_frames1: int = 0
    drop_frames3: int = 0
    samplesum: int = 1
    sampleskip: int = 0
    irs2: bool = False

    @property
    def nsamples(self) -> int:
        """NSAMPLES: A/D samples per pixel read."""
        return self.samplesum + self.sampleskip


def readpatt_names(instrument: str) -> list[str]:
    """READPATT values known for an instrument."""
    return list(load_table("readpatts")[normalize_instrument(instrument)])


def get_readpatt(instrument: str, name: str) -> ReadPattern:
    """Return the :class:`ReadPattern` ``name`` (case-insensitive) of an instrument.

    Raises
    ------
    webbcal.errors.InputError
        For an unknown instrument or pattern.
    """
    inst = normalize_instrument(instrument)
    table = load_table("readpatts")
    key = str(name).strip().upper()
    if key not in table[inst]:
        raise unknown("readout pattern", str(name), inst, list(table[inst]))
    rec = {**table["defaults"], **table[inst][key]}
    return ReadPattern(
        instrument=inst,
        name=key,
        nframes=rec["nframes"],
        groupgap=rec["groupgap"],
        nresets=rec["nresets"],
        nresets_at_start=rec["nresets_at_start"],
        drop_frames1=rec["drop1"],
        drop_frames3=rec["drop3"],
        samplesum=rec.get("samplesum", 1),
        sampleskip=rec.get("sampleskip", 0),
        irs2=rec.get("irs2", False),
    )


def _miri_frame_clocks(sub: Subarray, samplesum: int, sampleskip: int) -> int:
    if not sub.has_position:
        raise InputError(f"MIRI subarray {sub.name} needs a position for its frame time")
    colstart = (sub.xstart - 1) // 4 + 1
    colstop = (sub.xstart - 1 + sub.xsize) // 4
    row_reset = _MIRI_RESET_WIDTH + _MIRI_RESET_OVERHEAD
    pix = sampleskip + samplesum
    ref = _MIRI_REFPIX_SKIP + samplesum
    row = row_reset + ref  # the first column of each output is a reference pixel
    if colstart > 1:  # burst mode: columns 2 .. colstart-1 are clocked 5 times faster
        row += ((colstart - 2) * pix + 4) // 5
        first = colstart
    else:
        first = 2
    if colstop == _MIRI_AMP_COLUMNS:  # the last column is a reference pixel
        row += (colstop - first) * pix + ref
    else:
        row += (colstop - first + 1) * pix
    skipped_rows = _MIRI_ROWS - sub.ysize
    return sub.ysize * row + skipped_rows * row_reset


def _readout_size(sub: Subarray) -> tuple[int, int]:
    """``(xsize, ysize)`` read per frame (FGS ID strips differ from the image's size)."""
    rec = load_table("subarrays")[sub.instrument].get(sub.name, {})
    return tuple(rec.get("readout_size", (sub.xsize, sub.ysize)))


def _nir_frame_clocks(inst: str, det: Detector, sub: Subarray, pattern: ReadPattern | None) -> int:
    xsize, ysize = _readout_size(sub)
    nfast, nslow = (xsize, ysize) if det.fast_axis_is_x else (ysize, xsize)
    full = sub.shape == det.shape
    if pattern is not None and pattern.irs2:
        if not full or sub.noutputs != 4:
            raise InputError(f"IRS2 readout ({pattern.name}) is full-frame only, not {sub.name}")
        return _IRS2_ROW_CLOCKS * (nslow + 1) + 1
    if sub.noutputs == 4:
        extra = 1 if (inst != "FGS" or full) else 0
        return (nfast // 4 + 12) * (nslow + 1) + extra
    if sub.noutputs != 1:
        raise InputError(f"{inst} subarray {sub.name}: NOUTPUTS must be 1 or 4, not {sub.noutputs}")
    if inst == "FGS" and nfast <= 32:
        return (nfast + 6) * (nslow + 1)
    rowpad = 3 if (inst == "NIRCAM" and nfast <= 8 and nslow <= 8) else 2
    return (nfast + 12) * (nslow + rowpad)


def _resolve(
    inst: str, subarray: Subarray | str, detector: str | None, noutputs: int | None
) -> tuple[Subarray, Detector]:
    if isinstance(subarray, Subarray):
        sub = subarray
        if noutputs is not None:
            sub = replace(sub, noutputs=int(noutputs))
    else:
        sub = get_subarray(inst, subarray, detector, noutputs=noutputs)
    det_name = detector or sub.detector
    det = get_detector(inst, det_name) if det_name else detectors(inst)[0]
    return sub, det


def frame_time(
    instrument: str,
    subarray: Subarray | str = "FULL",
    *,
    readpatt: str | None = None,
    detector: str | None = None,
    noutputs: int | None = None,
) -> float:
    """Frame time TFRAME [s] of a window.

    Parameters
    ----------
    instrument : str
        INSTRUME value.
    subarray : Subarray or str
        A :class:`Subarray` (e.g. from :func:`subarray_from_keywords`) or a SUBARRAY name.
    readpatt : str, optional
        READPATT; needed for MIRI SLOW patterns and NIRSpec IRS2 (FAST/traditional
        otherwise).
    detector : str, optional
        DETECTOR, when the subarray name's position depends on it.
    noutputs : int, optional
        NOUTPUTS override.
    """
    inst = normalize_instrument(instrument)
    sub, det = _resolve(inst, subarray, detector, noutputs)
    pattern = get_readpatt(inst, readpatt) if readpatt is not None else None
    if inst == "MIRI":
        samplesum, sampleskip = (pattern.samplesum, pattern.sampleskip) if pattern else (1, 0)
        clocks = _miri_frame_clocks(sub, samplesum, sampleskip)
    else:
        clocks = _nir_frame_clocks(inst, det, sub, pattern)
    return clocks * PIXEL_TIME


@dataclass(frozen=True)
class Timing:
    """Times of an exposure and the values of the keywords that describe them.

    Attributes
    ----------
    tframe, tgroup : float
        Frame and group times [s].
    effinttm, effexptm : float
        EFFINTTM (photon-collecting time of one integration, from the first frame's reset
        to its last read) and EFFEXPTM = NINTS * EFFINTTM [s].
    tmeasure : float
        TMEASURE = NINTS * (NGROUPS - 1) * TGROUP [s].
    duration : float
        DURATION: first frame to last frame of the exposure, resets between integrations
        included [s].
    slope_time : float
        (NGROUPS - 1) * TGROUP: the span of one integration's ramp [s].
    """

    instrument: str
    readpatt: ReadPattern
    subarray: Subarray
    ngroups: int
    nints: int
    tframe: float
    tgroup: float
    effinttm: float
    effexptm: float
    tmeasure: float
    duration: float
    slope_time: float

    def keywords(self) -> dict[str, Any]:
        """Exposure keyword values (READPATT, NFRAMES, ..., TFRAME, EFFINTTM, DURATION...)."""
        p = self.readpatt
        kw: dict[str, Any] = {
            "READPATT": p.name,
            "NINTS": self.nints,
            "NGROUPS": self.ngroups,
            "NFRAMES": p.nframes,
            "GROUPGAP": p.groupgap,
            "FRMDIVSR": p.nframes,
            "NRSTSTRT": p.nresets_at_start,
            "NRESETS": p.nresets,
            "DRPFRMS1": p.drop_frames1,
            "DRPFRMS3": p.drop_frames3,
            "NSAMPLES": p.nsamples,
            "TSAMPLE": PIXEL_TIME * 1e6,
            "TFRAME": self.tframe,
            "TGROUP": self.tgroup,
            "EFFINTTM": self.effinttm,
            "EFFEXPTM": self.effexptm,
            "XPOSURE": self.effexptm,
            "TMEASURE": self.tmeasure,
            "DURATION": self.duration,
            "TELAPSE": self.duration,
        }
        if self.instrument != "MIRI":
            kw["NOUTPUTS"] = self.subarray.noutputs
        return kw


def timing(
    instrument: str,
    readpatt: str,
    subarray: Subarray | str,
    ngroups: int,
    nints: int,
    *,
    detector: str | None = None,
    noutputs: int | None = None,
) -> Timing:
    """Compute the :class:`Timing` of an exposure.

    Parameters
    ----------
    instrument, readpatt : str
        INSTRUME and READPATT values.
    subarray : Subarray or str
        The window (or its SUBARRAY name; then ``detector`` may be needed).
    ngroups, nints : int
        NGROUPS and NINTS (>= 1).
    detector : str, optional
        DETECTOR.
    noutputs : int, optional
        NOUTPUTS override.

    Raises
    ------
    webbcal.errors.ParameterError
        If ``ngroups`` or ``nints`` is not a positive integer.
    webbcal.errors.InputError
        For unknown names or an impossible combination.
    """
    inst = normalize_instrument(instrument)
    for label, value in (("ngroups", ngroups), ("nints", nints)):
        if int(value) != value or value < 1:
            raise ParameterError(f"{label} must be a positive integer, not {value!r}")
    ngroups, nints = int(ngroups), int(nints)
    pattern = get_readpatt(inst, readpatt)
    sub, _ = _resolve(inst, subarray, detector, noutputs)
    tframe = frame_time(inst, sub, readpatt=pattern.name, detector=detector)
    tgroup = (pattern.nframes + pattern.groupgap) * tframe
    frames = ngroups * pattern.nframes + (ngroups - 1) * pattern.groupgap + pattern.drop_frames1
    effinttm = frames * tframe
    duration = (nints * (frames + pattern.drop_frames3) + (nints - 1) * pattern.nresets) * tframe
    return Timing(
        instrument=inst,
        readpatt=pattern,
        subarray=sub,
        ngroups=ngroups,
        nints=nints,
        tframe=tframe,
        tgroup=tgroup,
        effinttm=effinttm,
        effexptm=nints * effinttm,
        tmeasure=nints * (ngroups - 1) * tgroup,
        duration=duration,
        slope_time=(ngroups - 1) * tgroup,
    )
