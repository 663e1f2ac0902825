"""Official BINTABLE layouts of the table reference types (column names and types)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "APCORR",
    "DRIZPARS",
    "PHOTOM",
    "RSCD_GROUP_SKIP",
    "TRAPPARS",
    "table",
]

#: PHOTOM extension of the imaging photom files, per instrument.
PHOTOM = {
    "NIRCAM": [("filter", "S12"), ("pupil", "S12"), ("photmjsr", "f4"), ("uncertainty", "f4")],
    "NIRISS": [("filter", "S12"), ("pupil", "S12"), ("photmjsr", "f4"), ("uncertainty", "f4")],
    "MIRI": [("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")],
    "FGS": [("photmjsr", "f4"), ("uncertainty", "f4")],
}

_AP = [("eefraction", "f4"), ("radius", "f4"), ("apcorr", "f4"), ("skyin", "f4"),
       ("skyout", "f4")]  # fmt: skip

#: APCORR extension of the imaging apcorr files, per instrument.
APCORR = {
    "NIRCAM": [("filter", "S12"), ("pupil", "S15"), *_AP],
    "NIRISS": [("filter", "S12"), ("pupil", "S15"), *_AP],
    "MIRI": [("filter", "S12"), ("subarray", "S17"), *_AP],
    "FGS": _AP,
}

#: TRAPPARS extension.
TRAPPARS = [("capture0", "f8"), ("capture1", "f8"), ("capture2", "f8"), ("decay_param", "f8")]

#: RSCD_GROUP_SKIP extension of the RSCD file.
RSCD_GROUP_SKIP = [("subarray", "S17"), ("readpatt", "S12"), ("group_skip1", "i4"),
                   ("group_skip", "i4")]  # fmt: skip

#: DRIZPARS extension (the last official DrizParsModel layout; the type is no longer used
#: by the official resample step, which has its own parameter defaults).
DRIZPARS = [("numimages", "i4"), ("filter", "S40"), ("pixfrac", "f4"), ("kernel", "S40"),
            ("fillval", "S40"), ("wht_type", "S40"), ("stepsize", "i4")]  # fmt: skip


def table(columns: list[tuple[str, str]], rows: list[tuple]) -> np.ndarray:
    """A structured array with the official ``columns`` holding ``rows``."""
    return np.array(rows, dtype=np.dtype(columns))
