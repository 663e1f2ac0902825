"""Science product models: raw ramps (uncal), ramps, images, cubes, FGS guider products.

Each class only *declares* its arrays and tables (official EXTNAME, dtype, dimensions,
default); reading, writing and metadata come from :class:`~.model.DataModel`.
"""

from __future__ import annotations

from .declare import Array, Table
from .keywords import Keyword
from .model import DataModel

__all__ = [
    "GROUP_COLUMNS",
    "INT_TIMES_COLUMNS",
    "CubeModel",
    "GuiderCalModel",
    "GuiderRawModel",
    "IFUCubeModel",
    "ImageModel",
    "Level1bModel",
    "RampModel",
]

INT_TIMES_COLUMNS = (
    ("integration_number", "i4"),
    ("int_start_MJD_UTC", "f8"),
    ("int_mid_MJD_UTC", "f8"),
    ("int_end_MJD_UTC", "f8"),
    ("int_start_BJD_TDB", "f8"),
    ("int_mid_BJD_TDB", "f8"),
    ("int_end_BJD_TDB", "f8"),
)
GROUP_COLUMNS = (
    ("integration_number", "i4"),
    ("group_number", "i2"),
    ("end_day", "i2"),
    ("end_milliseconds", "i4"),
    ("end_submilliseconds", "i2"),
    ("group_end_time", "S26"),
    ("number_of_columns", "i2"),
    ("number_of_rows", "i2"),
    ("number_of_gaps", "i2"),
    ("completion_code_number", "i2"),
    ("completion_code_text", "S36"),
    ("bary_end_time", "f8"),
    ("helio_end_time", "f8"),
)
INT_TIMES = Table("INT_TIMES", INT_TIMES_COLUMNS, "start/mid/end time of each integration")
GROUP = Table("GROUP", GROUP_COLUMNS, "per-group telemetry")


def _variances(ndim: int | None = None) -> dict[str, Array]:
    return {
        "var_poisson": Array("VAR_POISSON", "f4", ndim, 0.0, doc="Poisson variance"),
        "var_rnoise": Array("VAR_RNOISE", "f4", ndim, 0.0, doc="read-noise variance"),
        "var_flat": Array("VAR_FLAT", "f4", ndim, 0.0, doc="flat-field variance"),
    }


class Level1bModel(DataModel):
    """Raw ramps as downlinked (``_uncal``): uint16 counts per group."""

    fields = {
        "data": Array("SCI", "u2", 4, 0, required=True, doc="(nints, ngroups, ny, nx) DN"),
        "zeroframe": Array("ZEROFRAME", "u2", 3, 0, axes=(0, 2, 3), doc="zero frame per int"),
        "refout": Array("REFOUT", "u2", 4, doc="MIRI reference output"),
        "group": GROUP,
        "int_times": INT_TIMES,
    }


class RampModel(DataModel):
    """Ramps being calibrated by Stage 1 (``_ramp``): float32 counts per group.

    ``err`` is declared without a default (current official ramps carry no ERR extension), so
    it is absent unless set.
    """

    fields = {
        "data": Array("SCI", "f4", 4, 0.0, required=True, doc="(nints, ngroups, ny, nx) DN"),
        "pixeldq": Array("PIXELDQ", "u4", 2, 0, doc="pixel DQ flags"),
        "groupdq": Array("GROUPDQ", "u1", 4, 0, doc="group DQ flags"),
        "err": Array("ERR", "f4", 4, doc="error per group"),
        "zeroframe": Array("ZEROFRAME", "f4", 3, 0.0, axes=(0, 2, 3), doc="zero frame per int"),
        "refout": Array("REFOUT", "f4", 4, doc="MIRI reference output"),
        "average_dark_current": Array("AVDRKCUR", "f4", 2, 0.0, doc="dark current (DN/s)"),
        "group": GROUP,
        "int_times": INT_TIMES,
    }


class ImageModel(DataModel):
    """One 2-D image: rate, cal, bsub, crf and i2d products."""

    fields = {
        "data": Array("SCI", "f4", 2, 0.0, required=True, doc="science data"),
        "dq": Array("DQ", "u4", None, 0, doc="DQ flags"),
        "err": Array("ERR", "f4", None, 0.0, doc="1-sigma error"),
        **_variances(),
        "area": Array("AREA", "f4", None, 0.0, doc="pixel area relative to nominal"),
        "con": Array("CON", "i4", None, 0, doc="i2d context (which inputs contributed)"),
        "wht": Array("WHT", "f4", None, 0.0, doc="i2d drizzle weight"),
        "hdrtab": Table("HDRTAB", (), doc="i2d: header keywords of each input, one row each"),
    }


class CubeModel(DataModel):
    """A stack of 2-D images, one per integration: rateints, calints, bsubints, crfints."""

    fields = {
        "data": Array("SCI", "f4", 3, 0.0, required=True, doc="(nints, ny, nx) science data"),
        "dq": Array("DQ", "u4", None, 0, doc="DQ flags"),
        "err": Array("ERR", "f4", None, 0.0, doc="1-sigma error"),
        **_variances(),
        "area": Array("AREA", "f4", 2, 0.0, doc="pixel area relative to nominal"),
        "int_times": INT_TIMES,
    }


class IFUCubeModel(DataModel):
    """A spectral cube (``_s3d``) -- shown here as an example of declaring a later product.

    Its keywords (``meta.ifu.*``) are already in the keyword table; the ``WCS-TABLE``
    extension of cubes with a non-linear wavelength axis is not declared yet.
    """

    fields = {
        "data": Array("SCI", "f4", 3, 0.0, required=True, doc="(nwave, ny, nx) MJy/sr"),
        "dq": Array("DQ", "u4", 3, 0, doc="DQ flags"),
        "err": Array("ERR", "f4", 3, 0.0, doc="1-sigma error"),
        "weightmap": Array("WMAP", "f4", 3, 0.0, doc="number of detector pixels per voxel"),
    }


_POINTING_FLOATS = (
    "time", "jitter", "delta_ddc_ra", "delta_ddc_dec", "delta_aperture_pa", "delta_v1_ra",
    "delta_v1_dec", "delta_v3_pa", "delta_j1_ra", "delta_j1_dec", "delta_j3_pa",
)
_GUIDER_TABLES = {
    "planned_star_table": Table(
        "Planned Reference Stars",
        (
            ("guide_star_order", "i4"),
            ("reference_order", "i4"),
            ("reference_star_id", "S12"),
            ("ra", "f8"),
            ("dec", "f8"),
            ("id_x", "f8"),
            ("id_y", "f8"),
            ("fgs_mag", "f8"),
            ("fgs_mag_uncert", "f8"),
            ("count_rate", "f8"),
            ("count_rate_uncert", "f8"),
        ),
    ),
    "flight_star_table": Table(
        "Flight Reference Stars",
        (("reference_star_id", "S2"), ("id_x", "f8"), ("id_y", "f8"), ("count_rate", "f8")),
    ),
    "pointing_table": Table(
        "Pointing",
        (
            *((name, "f8") for name in _POINTING_FLOATS),
            ("HGA_motion", "S16"),
        ),
    ),
    "centroid_table": Table(
        "FGS Centroid Packet",
        (
            ("observatory_time", "S23"),
            ("centroid_time", "S23"),
            ("guide_star_position_x", "f8"),
            ("guide_star_position_y", "f8"),
            ("guide_star_instrument_counts_per_sec", "f8"),
            ("signal_to_noise_current_frame", "f8"),
            ("delta_signal", "f8"),
            ("delta_noise", "f8"),
            ("psf_width_x", "i4"),
            ("psf_width_y", "i4"),
            ("data_quality", "i4"),
            ("bad_pixel_flag", "S4"),
            ("bad_centroid_dq_flag", "S12"),
            ("cosmic_ray_hit_flag", "S5"),
            ("sw_subwindow_loc_change_flag", "S5"),
            ("guide_star_at_detector_subwindow_boundary_flag", "S5"),
            ("subwindow_out_of_FOV_flag", "S5"),
        ),
    ),
    "track_sub_table": Table(
        "Track subarray table",
        (
            ("observatory_time", "S23"),
            ("x_corner", "f8"),
            ("y_corner", "f8"),
            ("x_size", "i4"),
            ("y_size", "i4"),
        ),
    ),
}

# keywords of the guider products that live in the headers of their tables
_GUIDER_KEYWORDS = (
    Keyword("detector_id", "DETECTID", "FGS Centroid Packet", str),
    Keyword("guide_star_state", "GUIDESTA", "FGS Centroid Packet", str),
    Keyword("numrefst", "NUMREFST", "Flight Reference Stars", int),
    Keyword("ddc_field_point", "DDCFLDPT", "Pointing", str),
    Keyword("pointing_time", "POINTTIM", "Pointing", str),
    Keyword("ra_ddc", "RA_DDC", "Pointing", float),
    Keyword("dec_ddc", "DEC_DDC", "Pointing", float),
    Keyword("position_angle", "PA_APER", "Pointing", float),
    Keyword("ra_v1", "RA_V1", "Pointing", float),
    Keyword("dec_v1", "DEC_V1", "Pointing", float),
    Keyword("pa_v3", "PA_V3", "Pointing", float),
    Keyword("ra_j1", "RA_J1", "Pointing", float),
    Keyword("dec_j1", "DEC_J1", "Pointing", float),
    Keyword("pa_j3", "PA_J3", "Pointing", float),
    Keyword("jitter_average", "JITTRAVG", "Pointing", float),
    Keyword("jitter_max", "JITTRMAX", "Pointing", float),
    Keyword("jitter_min", "JITTRMIN", "Pointing", float),
)


class GuiderRawModel(DataModel):
    """FGS guider exposure before calibration (ID, ACQ, TRACK, FineGuide): float32 ramps."""

    fields = {
        "data": Array("SCI", "f4", 4, 0.0, required=True, doc="(nints, ngroups, ny, nx) DN"),
        "err": Array("ERR", "f4", None, 0.0, doc="error"),
        "dq": Array("DQ", "u4", 2, 0, doc="pixel DQ flags"),
        **_GUIDER_TABLES,
    }
    extra_keywords = _GUIDER_KEYWORDS


class GuiderCalModel(DataModel):
    """FGS guider exposure after ``calwebb_guider`` (``_cal``): one image per integration."""

    fields = {
        "data": Array("SCI", "f4", 3, 0.0, required=True, doc="(nints, ny, nx) DN/s"),
        "err": Array("ERR", "f4", None, 0.0, doc="error"),
        "dq": Array("DQ", "u4", 2, 0, doc="pixel DQ flags"),
        **_GUIDER_TABLES,
    }
    extra_keywords = _GUIDER_KEYWORDS
