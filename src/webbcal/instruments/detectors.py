"""Detectors: full-frame shape, reference pixels, amplifiers, orientation and typical values.

All geometry is in the DMS (science) orientation that JWST products use; pixel indices are
0-based numpy indices ``data[..., y, x]``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from webbcal.instruments._tables import load_table, normalize_instrument, unknown

__all__ = ["Amplifier", "Detector", "detectors", "get_detector"]


@dataclass(frozen=True)
class Amplifier:
    """One detector output, as the pixels it reads in a 2-D frame (DMS orientation).

    The pixels are ``frame[y0:y1, x0:x1:xstep]`` (0-based, end exclusive).  Amplifiers of a
    detector are listed in increasing DMS coordinate order, which is not necessarily the
    physical output number.
    """

    name: str
    x0: int
    x1: int
    y0: int
    y1: int
    xstep: int = 1

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(yslice, xslice)`` selecting this output's pixels: ``frame[amp.slices]``."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1, self.xstep)


@dataclass(frozen=True)
class Detector:
    """A JWST detector (the value of the DETECTOR keyword) and its readout layout.

    Attributes
    ----------
    instrument, name : str
        INSTRUME and DETECTOR keyword values, e.g. ``"NIRCAM"``, ``"NRCA1"``.
    shape : tuple of int
        Full-frame ``(ny, nx)`` in the DMS orientation.
    refpix : tuple of int
        Reference-pixel border widths ``(bottom, top, left, right)``.
    amplifiers : tuple of Amplifier
        The full-frame outputs (NIR: 4 stripes of 512; MIRI: 4 interleaved columns).
    amplifier_layout : str
        ``"columns"``, ``"rows"`` or ``"interleaved"`` (how the outputs split a frame).
    fastaxis, slowaxis : int
        FASTAXIS/SLOWAXIS keyword values (readout directions in the DMS frame).
    sca_id : int
        SCA_ID keyword value.
    channel : str or None
        ``"SW"`` or ``"LW"`` for NIRCam, else None.
    pixel_scale : float
        Nominal pixel scale [arcsec/pixel].
    gain, readnoise, saturation, dark_current : float
        Typical (approximate) values: gain [e-/DN], CDS read noise [DN], saturation [DN]
        and dark current [DN/s], meant for synthetic reference files.
    siaf_aperture : str or None
        Full-frame SIAF aperture defining the detector geometry (None for the MIRI MRS).
    """

    instrument: str
    name: str
    shape: tuple[int, int]
    refpix: tuple[int, int, int, int]
    amplifiers: tuple[Amplifier, ...]
    amplifier_layout: str
    fastaxis: int
    slowaxis: int
    sca_id: int
    channel: str | None
    pixel_scale: float
    gain: float
    readnoise: float
    saturation: float
    dark_current: float
    siaf_aperture: str | None

    @property
    def fast_axis_is_x(self) -> bool:
        """True when the fast readout direction is along DMS x (NIRCam, MIRI)."""
        return abs(self.fastaxis) == 1

    @property
    def science_slices(self) -> tuple[slice, slice]:
        """``(yslice, xslice)`` of the light-sensitive pixels inside the reference borders."""
        ny, nx = self.shape
        bottom, top, left, right = self.refpix
        return slice(bottom, ny - top), slice(left, nx - right)


def _amplifiers(layout: str, shape: tuple[int, int]) -> tuple[Amplifier, ...]:
    ny, nx = shape
    names = "ABCD"
    if layout == "columns":
        w = nx // 4
        return tuple(Amplifier(names[k], k * w, (k + 1) * w, 0, ny) for k in range(4))
    if layout == "rows":
        h = ny // 4
        return tuple(Amplifier(names[k], 0, nx, k * h, (k + 1) * h) for k in range(4))
    if layout == "interleaved":
        return tuple(Amplifier(names[k], k, nx, 0, ny, 4) for k in range(4))
    raise ValueError(f"unknown amplifier layout {layout!r}")


@functools.cache
def _all_detectors() -> dict[str, dict[str, Detector]]:
    table = load_table("detectors")
    out: dict[str, dict[str, Detector]] = {}
    for instrument, dets in table["detectors"].items():
        out[instrument] = {}
        for name, rec in dets.items():
            fam = table["families"][rec["family"]]
            lay = table["layouts"][rec["layout"]]
            shape = tuple(lay["shape"])
            out[instrument][name] = Detector(
                instrument=instrument,
                name=name,
                shape=shape,
                refpix=tuple(lay["refpix"]),
                amplifiers=_amplifiers(lay["amplifiers"], shape),
                amplifier_layout=lay["amplifiers"],
                fastaxis=rec["fastaxis"],
                slowaxis=rec["slowaxis"],
                sca_id=rec["sca_id"],
                channel=rec.get("channel"),
                pixel_scale=fam["pixel_scale"],
                gain=fam["gain"],
                readnoise=fam["readnoise"],
                saturation=fam["saturation"],
                dark_current=fam["dark_current"],
                siaf_aperture=rec["siaf_aperture"],
            )
    return out


def get_detector(instrument: str, detector: str) -> Detector:
    """Return the :class:`Detector` for an instrument and a DETECTOR keyword value.

    Names are case-insensitive; the SIAF spellings NRCA5/NRCB5 (NIRCam long wave) and
    FGS1/FGS2 are accepted too.

    Raises
    ------
    webbcal.errors.InputError
        For an unknown instrument or detector.
    """
    inst = normalize_instrument(instrument)
    dets = _all_detectors()[inst]
    name = str(detector).strip().upper()
    name = load_table("detectors")["aliases"].get(name, name)
    try:
        return dets[name]
    except KeyError:
        raise unknown("detector", str(detector), inst, list(dets)) from None


def detectors(instrument: str) -> list[Detector]:
    """All detectors of an instrument, in the table's order (NIRCam: A1-A4, ALONG, B1-B4, BLONG)."""
    return list(_all_detectors()[normalize_instrument(instrument)].values())
