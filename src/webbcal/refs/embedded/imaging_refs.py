"""Embedded writers of the imaging reference types (Stage 2/3: photometry, geometry)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from webbcal.errors import ReferenceFileError
from webbcal.instruments.detectors import detectors, get_detector
from webbcal.instruments.filters import filters as instrument_filters
from webbcal.instruments.geometry import distortion_models, nominal_pixel_area, pixel_area_map
from webbcal.instruments.subarrays import subarray_names
from webbcal.refs.embedded import apcorr_model
from webbcal.refs.embedded import properties as props_mod
from webbcal.refs.embedded.headers import full_window, header_for, props_of
from webbcal.refs.formats import tables, write_asdf, write_fits
from webbcal.refs.store import Entry

__all__ = ["WRITERS"]


def _pixar(instrument: str, detector: str) -> dict[str, float]:
    area = nominal_pixel_area(instrument, detector)
    return {"PIXAR_SR": area.sr, "PIXAR_A2": area.arcsec2}


def _area(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    relative = pixel_area_map(props.instrument, props.detector).astype(np.float32)
    header = header_for(
        entry,
        "Pixel area relative to PIXAR_SR",
        window=full_window(props),
        keywords=_pixar(props.instrument, props.detector),
    )
    write_fits(path, header, {"data": relative})


def _band_elements(instrument: str, detector: str) -> list[tuple[str, str | None]]:
    """(FILTER, PUPIL) of the imaging configurations of a detector (PUPIL None for MIRI)."""
    det = get_detector(instrument, detector)
    out: list[tuple[str, str | None]] = []
    for f in instrument_filters(instrument):
        if instrument == "NIRCAM":
            if f.channel != det.channel:
                continue
            if f.wheel == "pupil":
                out.append((str(f.blocking), f.name))
                continue
            pupils = ["CLEAR", "MASKRND", "MASKBAR"]
            if f.channel == "SW":
                pupils += ["WLP8", "WLM8"]
            out.extend((f.name, p) for p in pupils)
        elif instrument == "NIRISS":
            if f.wheel == "pupil":
                out.append(("CLEAR", f.name))
            else:
                out.extend((f.name, p) for p in ("CLEARP", "NRM"))
        else:
            out.append((f.name, None))
    return out


def _photom(entry: Entry, path: Path) -> None:
    inst = entry.instrument
    det = str(entry.selectors["DETECTOR"])
    if inst == "FGS":
        value = props_mod.photom_conversion(inst, det, None)
        rows = [(value, 0.02 * value)]
    elif inst == "MIRI":
        subs = subarray_names(inst, det)
        rows = []
        for filt, _ in _band_elements(inst, det):
            value = props_mod.photom_conversion(inst, det, filt)
            rows.extend((filt, sub, value, 0.02 * value) for sub in subs)
    else:
        rows = []
        for filt, pupil in _band_elements(inst, det):
            value = props_mod.photom_conversion(inst, det, filt, pupil)
            rows.append((filt, pupil, value, 0.02 * value))
    table = tables.table(tables.PHOTOM[inst], rows)
    description = "Photometric conversion (MJy/sr per DN/s)"
    header = header_for(entry, description, keywords=_pixar(inst, det))
    write_fits(path, header, {"phot_table": table})


def _apcorr_rows(inst: str, det: str, filt: str | None, pupil: str | None) -> list[tuple]:
    """Radius [pixels], aperture correction and sky annulus per EE fraction (see apcorr_model)."""
    scale = math.sqrt(nominal_pixel_area(inst, det).arcsec2)
    return apcorr_model.apcorr_rows(inst, props_mod.psf_fwhm(inst, filt, pupil), scale)


def _first_detector(inst: str, channel: str | None = None) -> str:
    for d in detectors(inst):
        if channel is None or d.channel == channel:
            return d.name
    raise ReferenceFileError(f"no {inst} detector for channel {channel}")


def _apcorr(entry: Entry, path: Path) -> None:
    inst = entry.instrument
    rows: list[tuple] = []
    if inst == "FGS":
        rows = _apcorr_rows(inst, _first_detector(inst), None, None)
    elif inst == "MIRI":
        det = _first_detector(inst)
        subs = subarray_names(inst, det)
        for filt, _ in _band_elements(inst, det):
            ap = _apcorr_rows(inst, det, filt, None)
            rows.extend((filt, sub, *r) for sub in subs for r in ap)
    else:
        channels = ("SW", "LW") if inst == "NIRCAM" else (None,)
        for ch in channels:
            det = _first_detector(inst, ch)
            for filt, pupil in _band_elements(inst, det):
                rows.extend((filt, pupil, *r) for r in _apcorr_rows(inst, det, filt, pupil))
    table = tables.table(tables.APCORR[inst], rows)
    header = header_for(entry, "Aperture corrections, pixel-sampled Gaussian PSF", detector=False)
    write_fits(path, header, {"apcorr_table": table})


def _vega_fnu_jy(wavelength_um: float) -> float:
    """Vega flux density [Jy]: a 9600 K blackbody through 667 Jy at 2.2 micron."""

    def shape(lam: float) -> float:
        x = 14387.77 / (lam * 9600.0)
        return lam**-3 / math.expm1(x)

    return 667.0 * shape(wavelength_um) / shape(2.2)


def _abvega(band_filter: props_mod.Filter) -> float:
    return 2.5 * math.log10(3631.0 / _vega_fnu_jy(band_filter.pivot))


def _abvegaoffset(entry: Entry, path: Path) -> None:
    from astropy.table import Table

    inst = entry.instrument
    if inst == "FGS":
        names = [d.name for d in detectors(inst)]
        table = Table(
            {"detector": names, "abvega_offset": [_abvega(props_mod.band(inst, None))] * len(names)}
        )
    elif inst == "MIRI":
        filts = [f.name for f in instrument_filters(inst)]
        table = Table(
            {"filter": filts, "abvega_offset": [_abvega(props_mod.band(inst, f)) for f in filts]}
        )
    else:
        elements = []
        for ch in ("SW", "LW") if inst == "NIRCAM" else (None,):
            elements.extend(_band_elements(inst, _first_detector(inst, ch)))
        table = Table(
            {
                "filter": [f for f, _ in elements],
                "pupil": [p for _, p in elements],
                "abvega_offset": [_abvega(props_mod.band(inst, f, p)) for f, p in elements],
            }
        )
    write_asdf(path, header_for(entry, "AB - Vega magnitude offsets", detector=False),
               {"abvega_offset": table})  # fmt: skip


def _distortion(entry: Entry, path: Path) -> None:
    import astropy.units as u

    det = str(entry.selectors["DETECTOR"])
    forward, _ = distortion_models(entry.instrument, det)
    header = header_for(entry, "Distortion: full-frame 0-based pixels to V2/V3 (arcsec)")
    write_asdf(
        path, header, {"model": forward},
        meta_extra={"input_units": u.pix, "output_units": u.arcsec},
    )  # fmt: skip


def _filteroffset(entry: Entry, path: Path) -> None:
    filters_ = [
        {"name": f.name, "filter": f.name, "column_offset": c, "row_offset": r}
        for f in instrument_filters(entry.instrument)
        for c, r in [props_mod.filter_offset(entry.instrument, f.name)]
    ]
    write_asdf(path, header_for(entry, "Filter offsets (pixels)"), {"filters": filters_})


def _drizpars(entry: Entry, path: Path) -> None:
    rows = [
        (1, "ANY", 1.0, "square", "NAN", "ivm", 10),
        (2, "ANY", 1.0, "square", "NAN", "ivm", 10),
        (4, "ANY", 0.8, "square", "NAN", "ivm", 10),
    ]
    table = tables.table(tables.DRIZPARS, rows)
    write_fits(path, header_for(entry, "Drizzle parameters", detector=False),
               {"drizpars_table": table})  # fmt: skip


#: reftype -> writer(entry, path).
WRITERS = {
    "area": _area,
    "photom": _photom,
    "apcorr": _apcorr,
    "abvegaoffset": _abvegaoffset,
    "distortion": _distortion,
    "filteroffset": _filteroffset,
    "drizpars": _drizpars,
}
