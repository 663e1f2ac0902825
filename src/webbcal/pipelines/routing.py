"""Which pipelines process an exposure: EXP_TYPE (and TSOVISIT, PATTTYPE) -> stages 1, 2, 3.

The table is the official "Pipelines vs. Exposure Type" table (the newer one, which
supersedes the older module table). ``None`` means the stage does not apply ("N/A").

* EXP_TYPEs with a TSOVISIT-dependent row (MIR_IMAGE, MIR_LRS-SLITLESS, NIS_SOSS) use the
  ``tsovisit`` argument; NRC_TSIMAGE, NRC_TSGRISM and NRS_BRIGHTOBJ are TSO-only and always
  route to ``calwebb_tso3``; the others ignore it.
* Wavefront sensing and control: dithered WFS&C images (``PATTTYPE = WFSC``) whose stage 2
  is ``calwebb_image2`` go to ``calwebb_wfs-image3`` at stage 3.
"""

from __future__ import annotations

from typing import Any

from webbcal.errors import RoutingError

__all__ = ["EXP_TYPES", "pipelines_for", "pipelines_for_model"]

Route = tuple[str | None, str | None, str | None]

_D1, _DARK, _GUIDER = "calwebb_detector1", "calwebb_dark", "calwebb_guider"
_I2, _S2 = "calwebb_image2", "calwebb_spec2"
_I3, _S3, _C3, _A3, _T3 = (
    "calwebb_image3",
    "calwebb_spec3",
    "calwebb_coron3",
    "calwebb_ami3",
    "calwebb_tso3",
)
_WFS3 = "calwebb_wfs-image3"

_DARK_ONLY: Route = (_DARK, None, None)
_STAGE1_ONLY: Route = (_D1, None, None)
_IMAGE_NO3: Route = (_D1, _I2, None)
_IMAGE: Route = (_D1, _I2, _I3)
_SPEC: Route = (_D1, _S2, _S3)
_SPEC_NO3: Route = (_D1, _S2, None)
_CORON: Route = (_D1, _I2, _C3)
_IMAGE_TSO: Route = (_D1, _I2, _T3)
_SPEC_TSO: Route = (_D1, _S2, _T3)


def _rows(route: Route, *exp_types: str) -> dict[str, Route]:
    return dict.fromkeys(exp_types, route)


#: EXP_TYPE -> route, for EXP_TYPEs whose route does not depend on TSOVISIT.
_FIXED: dict[str, Route] = {
    # FGS
    **_rows(_DARK_ONLY, "FGS_DARK"),
    **_rows(_STAGE1_ONLY, "FGS_SKYFLAT", "FGS_INTFLAT"),
    **_rows(_IMAGE_NO3, "FGS_FOCUS"),
    **_rows(_IMAGE, "FGS_IMAGE"),
    **_rows(
        (_GUIDER, None, None),
        "FGS_ID-STACK",
        "FGS_ID-IMAGE",
        "FGS_ACQ1",
        "FGS_ACQ2",
        "FGS_TRACK",
        "FGS_FINEGUIDE",
    ),
    # MIRI
    **_rows(_DARK_ONLY, "MIR_DARKIMG", "MIR_DARKMRS"),
    **_rows(_STAGE1_ONLY, "MIR_FLATIMAGE", "MIR_FLATIMAGE-EXT", "MIR_FLATMRS", "MIR_FLATMRS-EXT"),
    **_rows(_IMAGE_NO3, "MIR_TACQ", "MIR_CORONCAL"),
    **_rows(_SPEC, "MIR_LRS-FIXEDSLIT", "MIR_MRS"),
    **_rows(_CORON, "MIR_LYOT", "MIR_4QPM"),
    # NIRCam
    **_rows(_DARK_ONLY, "NRC_DARK"),
    **_rows(_STAGE1_ONLY, "NRC_FLAT", "NRC_LED", "NRC_GRISM"),
    **_rows(_IMAGE_NO3, "NRC_TACQ", "NRC_TACONFIRM", "NRC_FOCUS"),
    **_rows(_IMAGE, "NRC_IMAGE"),
    **_rows(_CORON, "NRC_CORON"),
    **_rows(_SPEC, "NRC_WFSS"),
    **_rows(_IMAGE_TSO, "NRC_TSIMAGE"),  # TSO only
    **_rows(_SPEC_TSO, "NRC_TSGRISM"),  # TSO only
    # NIRISS
    **_rows(_DARK_ONLY, "NIS_DARK"),
    **_rows(_STAGE1_ONLY, "NIS_LAMP", "NIS_EXTCAL"),
    **_rows(_IMAGE_NO3, "NIS_TACQ", "NIS_TACONFIRM", "NIS_FOCUS"),
    **_rows(_IMAGE, "NIS_IMAGE"),
    **_rows((_D1, _I2, _A3), "NIS_AMI"),
    **_rows(_SPEC, "NIS_WFSS"),
    # NIRSpec
    **_rows(_DARK_ONLY, "NRS_DARK"),
    **_rows(_SPEC_NO3, "NRS_AUTOWAVE", "NRS_AUTOFLAT", "NRS_LAMP"),
    **_rows(
        _IMAGE_NO3,
        "NRS_IMAGE",
        "NRS_WATA",
        "NRS_MSATA",
        "NRS_TACONFIRM",
        "NRS_CONFIRM",
        "NRS_FOCUS",
        "NRS_MIMF",
    ),
    **_rows(_SPEC, "NRS_FIXEDSLIT", "NRS_IFU", "NRS_MSASPEC"),
    **_rows(_SPEC_TSO, "NRS_BRIGHTOBJ"),  # TSO only
}

#: EXP_TYPE -> (route when TSOVISIT is false, route when true).
_BY_TSOVISIT: dict[str, tuple[Route, Route]] = {
    "MIR_IMAGE": (_IMAGE, _IMAGE_TSO),
    "MIR_LRS-SLITLESS": (_SPEC_NO3, _SPEC_TSO),
    "NIS_SOSS": (_SPEC, _SPEC_TSO),
}

#: Every EXP_TYPE the table knows.
EXP_TYPES = frozenset(_FIXED) | frozenset(_BY_TSOVISIT)


def pipelines_for(exp_type: str, tsovisit: bool = False, patttype: str | None = None) -> Route:
    """Stage 1, 2 and 3 pipeline aliases for an exposure (None: the stage does not apply).

    Parameters
    ----------
    exp_type : str
        The EXP_TYPE keyword (case-insensitive).
    tsovisit : bool
        The TSOVISIT keyword; matters for MIR_IMAGE, MIR_LRS-SLITLESS and NIS_SOSS.
    patttype : str, optional
        The dither PATTTYPE keyword; ``"WFSC"`` routes imaging stage 3 to
        ``calwebb_wfs-image3``.

    Raises
    ------
    RoutingError
        For an EXP_TYPE the table does not have.

    """
    key = str(exp_type or "").strip().upper()
    if key in _BY_TSOVISIT:
        route = _BY_TSOVISIT[key][1 if tsovisit else 0]
    elif key in _FIXED:
        route = _FIXED[key]
    else:
        raise RoutingError(
            f"no pipeline is known for EXP_TYPE {exp_type!r}"
            " (see the EXP_TYPE table in docs/architecture.md)"
        )
    if patttype is not None and str(patttype).strip().upper() == "WFSC" and route[1] == _I2:
        route = (route[0], route[1], _WFS3)
    return route


def pipelines_for_model(model: Any) -> Route:
    """:func:`pipelines_for` for a model.

    Reads ``meta.exposure.type``, ``meta.visit.tsovisit`` and ``meta.dither.patttype``.
    """
    meta = model.meta
    exp_type = meta.exposure.type
    if not exp_type:
        name = getattr(meta, "filename", None) or "the input"
        raise RoutingError(f"{name} has no EXP_TYPE (meta.exposure.type)")
    return pipelines_for(
        exp_type, tsovisit=_truthy(meta.visit.tsovisit), patttype=meta.dither.patttype
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("T", "TRUE", "1", "Y", "YES")
    return bool(value)
