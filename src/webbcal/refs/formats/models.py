"""Table reference-file models, declared with :mod:`webbcal.datamodels`' mechanism.

The array-style reference models (MaskModel, DarkModel, FlatModel ...) live in
``webbcal.datamodels``; the table types used by Stage 1 and the imaging Stage 2/3 steps are
declared here, under their official class names, so that ``webbcal.datamodels.open`` reads
them once ``webbcal.refs`` is imported (importing this module registers them):

* PHOTOM: NrcImgPhotomModel, NisImgPhotomModel, MirImgPhotomModel, FgsImgPhotomModel
  (``phot_table``; PIXAR_SR/PIXAR_A2 in the primary header);
* APCORR: NrcImgApcorrModel, NisImgApcorrModel, MirImgApcorrModel, FgsImgApcorrModel
  (``apcorr_table``);
* TRAPPARS: TrapParsModel (``trappars_table``); RSCD: RSCDModel
  (``rscd_group_skip_table``); DRIZPARS: DrizParsModel (``drizpars_table``).
"""

from __future__ import annotations

from webbcal.datamodels import Table
from webbcal.datamodels.reference import ReferenceModel
from webbcal.refs.formats import tables

__all__ = [
    "DrizParsModel",
    "FgsImgApcorrModel",
    "FgsImgPhotomModel",
    "MirImgApcorrModel",
    "MirImgPhotomModel",
    "NisImgApcorrModel",
    "NisImgPhotomModel",
    "NrcImgApcorrModel",
    "NrcImgPhotomModel",
    "RSCDModel",
    "TrapParsModel",
]

_PIXAR_PRIMARY = {
    "photometry.pixelarea_steradians": "PRIMARY",
    "photometry.pixelarea_arcsecsq": "PRIMARY",
}


class _TableReference(ReferenceModel, register=False):
    primary = None


class _Photom(_TableReference, register=False):
    reftype = "PHOTOM"
    keyword_hdus = _PIXAR_PRIMARY


class NrcImgPhotomModel(_Photom):
    """NIRCam imaging PHOTOM: PHOTMJSR per filter and pupil."""

    fields = {"phot_table": Table("PHOTOM", tuple(tables.PHOTOM["NIRCAM"]), "photom rows")}


class NisImgPhotomModel(_Photom):
    """NIRISS imaging PHOTOM: PHOTMJSR per filter and pupil."""

    fields = {"phot_table": Table("PHOTOM", tuple(tables.PHOTOM["NIRISS"]), "photom rows")}


class MirImgPhotomModel(_Photom):
    """MIRI imaging PHOTOM: PHOTMJSR per filter and subarray."""

    fields = {"phot_table": Table("PHOTOM", tuple(tables.PHOTOM["MIRI"]), "photom rows")}


class FgsImgPhotomModel(_Photom):
    """FGS imaging PHOTOM: one row."""

    fields = {"phot_table": Table("PHOTOM", tuple(tables.PHOTOM["FGS"]), "photom row")}


class _Apcorr(_TableReference, register=False):
    reftype = "APCORR"


class NrcImgApcorrModel(_Apcorr):
    """NIRCam imaging APCORR: aperture radius and correction per EE fraction."""

    fields = {"apcorr_table": Table("APCORR", tuple(tables.APCORR["NIRCAM"]), "apcorr rows")}


class NisImgApcorrModel(_Apcorr):
    """NIRISS imaging APCORR: aperture radius and correction per EE fraction."""

    fields = {"apcorr_table": Table("APCORR", tuple(tables.APCORR["NIRISS"]), "apcorr rows")}


class MirImgApcorrModel(_Apcorr):
    """MIRI imaging APCORR: aperture radius and correction per EE fraction."""

    fields = {"apcorr_table": Table("APCORR", tuple(tables.APCORR["MIRI"]), "apcorr rows")}


class FgsImgApcorrModel(_Apcorr):
    """FGS imaging APCORR: aperture radius and correction per EE fraction."""

    fields = {"apcorr_table": Table("APCORR", tuple(tables.APCORR["FGS"]), "apcorr rows")}


class TrapParsModel(_TableReference):
    """Persistence trap-family parameters (TRAPPARS)."""

    reftype = "TRAPPARS"
    fields = {"trappars_table": Table("TRAPPARS", tuple(tables.TRAPPARS), "trap families")}


class RSCDModel(_TableReference):
    """MIRI RSCD: groups to flag per subarray and readout pattern (RSCD)."""

    reftype = "RSCD"
    fields = {
        "rscd_group_skip_table": Table(
            "RSCD_GROUP_SKIP", tuple(tables.RSCD_GROUP_SKIP), "groups to skip"
        )
    }


class DrizParsModel(_TableReference):
    """Drizzle parameters per number of images and filter (DRIZPARS)."""

    reftype = "DRIZPARS"
    fields = {"drizpars_table": Table("DRIZPARS", tuple(tables.DRIZPARS), "drizzle parameters")}
