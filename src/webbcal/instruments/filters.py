"""Imaging filters: pivot wavelength, bandwidth, NIRCam channel, wheel."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from webbcal.errors import InputError
from webbcal.instruments._tables import load_table, normalize_instrument, unknown

__all__ = ["Filter", "filters", "get_filter"]

#: PUPIL/FILTER values that are not band-defining elements.
_OPEN = {"CLEAR", "CLEARP", "NONE", "N/A", ""}


@dataclass(frozen=True)
class Filter:
    """An imaging filter.

    Attributes
    ----------
    instrument, name : str
        INSTRUME value and filter name (``"F200W"``).
    pivot, bandwidth : float
        Pivot wavelength and bandwidth [micron] (nominal published values).
    channel : str or None
        NIRCam ``"SW"`` or ``"LW"``; None for other instruments.
    wheel : str
        ``"filter"`` or ``"pupil"``.
    blocking : str or None
        For pupil-wheel filters, the filter-wheel element they are used with.
    """

    instrument: str
    name: str
    pivot: float
    bandwidth: float
    channel: str | None
    wheel: str
    blocking: str | None = None


@functools.cache
def _filters(instrument: str) -> dict[str, Filter]:
    return {
        name: Filter(
            instrument=instrument,
            name=name,
            pivot=float(rec["pivot"]),
            bandwidth=float(rec["bandwidth"]),
            channel=rec.get("channel"),
            wheel=rec["wheel"],
            blocking=rec.get("blocking"),
        )
        for name, rec in load_table("filters")[instrument].items()
    }


def filters(instrument: str) -> list[Filter]:
    """All imaging filters of an instrument (empty for FGS and NIRSpec)."""
    return list(_filters(normalize_instrument(instrument)).values())


def get_filter(instrument: str, name: str, *, pupil: str | None = None) -> Filter:
    """Return the :class:`Filter` that defines the band of an exposure.

    ``name`` is the FILTER keyword value; ``pupil`` the PUPIL value when the band may be
    set by a pupil-wheel filter (NIRCam F162M, F164N, F323N, F405N, F466N, F470N; NIRISS
    F090W-F200W).  When ``pupil`` is such a filter it is returned, after checking that
    ``name`` is the filter-wheel element it is used with.  Other PUPIL values (CLEAR,
    masks, grisms, lenses) leave ``name`` as the band.

    Raises
    ------
    webbcal.errors.InputError
        For an unknown instrument or filter, or a pupil filter with the wrong partner.
    """
    inst = normalize_instrument(instrument)
    table = _filters(inst)
    key = str(name or "").strip().upper()
    pkey = str(pupil or "").strip().upper()
    if pkey in table and table[pkey].wheel == "pupil":
        band = table[pkey]
        if key not in _OPEN and key != band.blocking:
            raise InputError(f"{inst} pupil filter {pkey} is used with {band.blocking}, not {key}")
        return band
    if key not in table:
        if not table:
            raise InputError(f"{inst} has no tabulated imaging filters (asked for {name!r})")
        raise unknown("filter", str(name), inst, list(table))
    return table[key]
