"""assign_wcs: attach the gwcs of an imaging exposure and its FITS approximations.

For imaging exposures (NIRCam, NIRISS, MIRI imager, FGS; full frame or subarray; rate
or rateints), following the official step:

* ``meta.wcs`` becomes the gwcs of :func:`webbcal.wcs.imaging_wcs` -- frames
  ``detector`` -> ``v2v3`` -> ``v2v3vacorr`` -> ``world`` -- built from the DISTORTION
  reference (and the FILTEROFFSET reference of the MIRI imager), the subarray position and
  the pointing keywords (V2_REF, V3_REF, ROLL_REF, RA_REF, DEC_REF, VA_SCALE); it is
  written in the ASDF extension;
* ``S_REGION`` is set from the footprint (centres of the corner pixels);
* with ``sip_approx`` (default), a TAN-SIP fit of the gwcs replaces the basic FITS WCS
  keywords of the SCI header (CTYPE ``RA---TAN-SIP``, CRPIX/CRVAL at the array centre,
  the CD matrix, A/B/AP/BP coefficients; PC/CDELT are removed), for FITS-only tools.

Spectroscopic exposures are SKIPPED (their WCS is not implemented).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from webbcal.core import Refs, Step, param, register
from webbcal.errors import ReferenceFileError
from webbcal.steps._common import exp_type_of, instrument_of
from webbcal.wcs import Pointing, fit_sip, footprint, imaging_wcs, s_region, subarray_offset
from webbcal.wcs.imaging import bounding_box

log = logging.getLogger(__name__)

__all__ = ["IMAGING_EXP_TYPES", "AssignWcsParams", "AssignWcsStep", "update_sip_keywords"]

#: EXP_TYPEs whose WCS is the imaging one (processed by calwebb_image2).
IMAGING_EXP_TYPES = frozenset(
    (
        "NRC_IMAGE", "NRC_TSIMAGE", "NRC_CORON", "NRC_TACQ", "NRC_TACONFIRM", "NRC_FOCUS",
        "NIS_IMAGE", "NIS_AMI", "NIS_TACQ", "NIS_TACONFIRM", "NIS_FOCUS",
        "MIR_IMAGE", "MIR_TACQ", "MIR_LYOT", "MIR_4QPM", "MIR_CORONCAL", "MIR_CONFIRM",
        "FGS_IMAGE", "FGS_FOCUS",
    )
)  # fmt: skip

#: wcsinfo entries replaced by a new FITS approximation.
_FITS_WCS_KEYS = (
    ["ctype1", "ctype2", "crpix1", "crpix2", "crval1", "crval2", "cdelt1", "cdelt2",
     "cunit1", "cunit2", "pc1_1", "pc1_2", "pc2_1", "pc2_2", "cd1_1", "cd1_2", "cd2_1",
     "cd2_2", "a_order", "b_order", "ap_order", "bp_order"]
    + [f"{p}_{i}_{j}" for p in ("a", "b", "ap", "bp") for i in range(10) for j in range(10)]
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class AssignWcsParams:
    """Parameters of assign_wcs (the official imaging ones)."""

    sip_approx: bool = param(True, "Write a TAN-SIP approximation of the WCS in the SCI header")
    sip_max_pix_error: float = param(0.01, "Largest forward SIP residual accepted [pixels]")
    sip_degree: int | None = param(None, "SIP order (1-6; None: lowest meeting the error)")
    sip_max_inv_pix_error: float = param(0.01, "Largest inverse SIP residual [pixels]")
    sip_inv_degree: int | None = param(None, "Inverse SIP order (1-6; None: automatic)")
    sip_npoints: int = param(12, "Fit grid points per axis")


def update_sip_keywords(model: Any, keywords: dict[str, Any]) -> None:
    """Replace the FITS WCS keywords in ``model.meta.wcsinfo`` by ``keywords``."""
    info = model.meta.wcsinfo
    for key in _FITS_WCS_KEYS:
        if key in info:
            delattr(info, key)
    for key, value in keywords.items():
        setattr(info, key.lower(), value)


def _filter_offset(ref: Any, model: Any) -> tuple[float, float] | None:
    """``(column_offset, row_offset)`` of the exposure's filter (and pupil) in FILTEROFFSET."""
    inst = model.meta.instrument
    want_filter = str(inst.filter or "").upper()
    want_pupil = str(inst.pupil or "").upper()
    for entry in ref.tree.get("filters") or []:
        name = str(entry.get("filter", entry.get("name", ""))).upper()
        pupil = entry.get("pupil")
        if name == want_filter and (pupil is None or str(pupil).upper() == want_pupil):
            return float(entry.get("column_offset", 0.0)), float(entry.get("row_offset", 0.0))
    log.info("assign_wcs: FILTEROFFSET has no entry for %s; no offset applied", want_filter)
    return None


@register
class AssignWcsStep(Step):
    """Attach the imaging gwcs (detector -> v2v3 -> v2v3vacorr -> world)."""

    alias = "assign_wcs"
    class_name = "AssignWcsStep"
    description = "Attach the WCS (gwcs in ASDF, TAN-SIP in the SCI header, S_REGION)"
    Params = AssignWcsParams
    reftypes = ("distortion",)
    optional_reftypes = ("filteroffset",)

    def skip_reason(self, model: Any, params: AssignWcsParams) -> str | None:
        """Only imaging exposures have a WCS here."""
        exp_type = exp_type_of(model)
        if exp_type not in IMAGING_EXP_TYPES:
            return f"the WCS of EXP_TYPE={exp_type or '<unset>'} (not imaging) is not implemented"
        return None

    def process(self, model: Any, refs: Refs, params: AssignWcsParams) -> Any:
        """Build the WCS of ``model`` and record it (in place)."""
        from webbcal.refs import read_reference

        path = refs.path("distortion")
        distortion = read_reference(path).tree.get("model")
        if distortion is None:
            raise ReferenceFileError("the DISTORTION reference has no 'model'", path=path)
        offset = None
        fpath = refs.path("filteroffset")
        if fpath is not None:
            offset = _filter_offset(read_reference(fpath), model)
        shape = tuple(model.shape[-2:])
        wcs = imaging_wcs(
            distortion,
            Pointing.from_model(model),
            shape,
            offset=subarray_offset(model),
            filter_offset=offset,
        )
        model.meta.wcs = wcs
        region = s_region(footprint(wcs, shape))
        if region is not None:
            model.meta.wcsinfo.s_region = region
        if params.sip_approx:
            fit = fit_sip(
                wcs,
                bounding_box(shape),
                max_pix_error=params.sip_max_pix_error,
                degree=params.sip_degree,
                max_inv_pix_error=params.sip_max_inv_pix_error,
                inv_degree=params.sip_inv_degree,
                npoints=params.sip_npoints,
            )
            update_sip_keywords(model, fit.keywords)
            log.info(
                "assign_wcs: SIP order %d (max error %.3g pix), inverse order %d (%.3g pix)",
                fit.degree, fit.max_error, fit.inv_degree, fit.max_inv_error,
            )  # fmt: skip
        log.info("assign_wcs: %s %s, %s", instrument_of(model), exp_type_of(model), region)
        return model
