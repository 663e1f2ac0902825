import pytest

from webbcal.errors import RoutingError
from webbcal.pipelines.routing import EXP_TYPES, pipelines_for, pipelines_for_model

D1, DARK, GUIDER = "calwebb_detector1", "calwebb_dark", "calwebb_guider"
I2, S2 = "calwebb_image2", "calwebb_spec2"
I3, S3, C3, A3, T3 = (
    "calwebb_image3",
    "calwebb_spec3",
    "calwebb_coron3",
    "calwebb_ami3",
    "calwebb_tso3",
)

# Every row of the current "Pipelines vs. Exposure Type" table (seeds/002):
# (EXP_TYPE, TSOVISIT or None for N/A, stage 1, stage 2, stage 3)
TABLE = [
    ("FGS_DARK", None, DARK, None, None),
    ("FGS_SKYFLAT", None, D1, None, None),
    ("FGS_INTFLAT", None, D1, None, None),
    ("FGS_FOCUS", None, D1, I2, None),
    ("FGS_IMAGE", None, D1, I2, I3),
    ("FGS_ID-STACK", None, GUIDER, None, None),
    ("FGS_ID-IMAGE", None, GUIDER, None, None),
    ("FGS_ACQ1", None, GUIDER, None, None),
    ("FGS_ACQ2", None, GUIDER, None, None),
    ("FGS_TRACK", None, GUIDER, None, None),
    ("FGS_FINEGUIDE", None, GUIDER, None, None),
    ("MIR_DARKIMG", None, DARK, None, None),
    ("MIR_DARKMRS", None, DARK, None, None),
    ("MIR_FLATIMAGE", None, D1, None, None),
    ("MIR_FLATIMAGE-EXT", None, D1, None, None),
    ("MIR_FLATMRS", None, D1, None, None),
    ("MIR_FLATMRS-EXT", None, D1, None, None),
    ("MIR_TACQ", None, D1, I2, None),
    ("MIR_CORONCAL", None, D1, I2, None),
    ("MIR_IMAGE", False, D1, I2, I3),
    ("MIR_IMAGE", True, D1, I2, T3),
    ("MIR_LRS-FIXEDSLIT", None, D1, S2, S3),
    ("MIR_LRS-SLITLESS", True, D1, S2, T3),
    ("MIR_LRS-SLITLESS", False, D1, S2, None),
    ("MIR_MRS", None, D1, S2, S3),
    ("MIR_LYOT", None, D1, I2, C3),
    ("MIR_4QPM", None, D1, I2, C3),
    ("NRC_DARK", None, DARK, None, None),
    ("NRC_FLAT", None, D1, None, None),
    ("NRC_LED", None, D1, None, None),
    ("NRC_GRISM", None, D1, None, None),
    ("NRC_TACQ", None, D1, I2, None),
    ("NRC_TACONFIRM", None, D1, I2, None),
    ("NRC_FOCUS", None, D1, I2, None),
    ("NRC_IMAGE", None, D1, I2, I3),
    ("NRC_CORON", None, D1, I2, C3),
    ("NRC_WFSS", None, D1, S2, S3),
    ("NRC_TSIMAGE", True, D1, I2, T3),
    ("NRC_TSGRISM", True, D1, S2, T3),
    ("NIS_DARK", None, DARK, None, None),
    ("NIS_LAMP", None, D1, None, None),
    ("NIS_EXTCAL", None, D1, None, None),
    ("NIS_TACQ", None, D1, I2, None),
    ("NIS_TACONFIRM", None, D1, I2, None),
    ("NIS_FOCUS", None, D1, I2, None),
    ("NIS_IMAGE", None, D1, I2, I3),
    ("NIS_AMI", None, D1, I2, A3),
    ("NIS_WFSS", None, D1, S2, S3),
    ("NIS_SOSS", True, D1, S2, T3),
    ("NIS_SOSS", False, D1, S2, S3),
    ("NRS_DARK", None, DARK, None, None),
    ("NRS_AUTOWAVE", None, D1, S2, None),
    ("NRS_AUTOFLAT", None, D1, S2, None),
    ("NRS_LAMP", None, D1, S2, None),
    ("NRS_IMAGE", None, D1, I2, None),
    ("NRS_WATA", None, D1, I2, None),
    ("NRS_MSATA", None, D1, I2, None),
    ("NRS_TACONFIRM", None, D1, I2, None),
    ("NRS_CONFIRM", None, D1, I2, None),
    ("NRS_FOCUS", None, D1, I2, None),
    ("NRS_MIMF", None, D1, I2, None),
    ("NRS_FIXEDSLIT", None, D1, S2, S3),
    ("NRS_IFU", None, D1, S2, S3),
    ("NRS_MSASPEC", None, D1, S2, S3),
    ("NRS_BRIGHTOBJ", True, D1, S2, T3),
]


@pytest.mark.parametrize(("exp_type", "tso", "s1", "s2", "s3"), TABLE)
def test_every_row(exp_type, tso, s1, s2, s3):
    if tso is None:  # N/A: TSOVISIT does not matter
        assert pipelines_for(exp_type, False) == (s1, s2, s3)
        assert pipelines_for(exp_type, True) == (s1, s2, s3)
    else:
        assert pipelines_for(exp_type, tso) == (s1, s2, s3)


def test_table_is_complete():
    assert {row[0] for row in TABLE} == EXP_TYPES


@pytest.mark.parametrize("exp_type", ["NRC_TSIMAGE", "NRC_TSGRISM", "NRS_BRIGHTOBJ"])
def test_tso_only_modes_ignore_missing_tsovisit(exp_type):
    assert pipelines_for(exp_type, False)[2] == T3


@pytest.mark.parametrize("exp_type", sorted(e for e in EXP_TYPES if pipelines_for(e)[1] == I2))
def test_wfsc_imaging_goes_to_wfs_image3(exp_type):
    assert pipelines_for(exp_type, patttype="WFSC") == (
        pipelines_for(exp_type)[0],
        I2,
        "calwebb_wfs-image3",
    )


def test_wfsc_only_for_imaging():
    assert pipelines_for("NRC_WFSS", patttype="WFSC") == (D1, S2, S3)
    assert pipelines_for("NRC_IMAGE", patttype="2-POINT") == (D1, I2, I3)


def test_case_and_unknown():
    assert pipelines_for("nrc_image") == (D1, I2, I3)
    with pytest.raises(RoutingError, match="NRC_BOGUS"):
        pipelines_for("NRC_BOGUS")


class _Meta:
    def __init__(self, **sections):
        for name, values in sections.items():
            setattr(self, name, type("S", (), values)())


class _Model:
    def __init__(self, exp_type, tsovisit=None, patttype=None):
        self.meta = _Meta(
            exposure={"type": exp_type}, visit={"tsovisit": tsovisit}, dither={"patttype": patttype}
        )
        self.meta.filename = "x_uncal.fits"


def test_from_model():
    assert pipelines_for_model(_Model("MIR_IMAGE", True)) == (D1, I2, T3)
    assert pipelines_for_model(_Model("MIR_IMAGE", "F")) == (D1, I2, I3)
    assert pipelines_for_model(_Model("NRC_IMAGE", False, "WFSC"))[2] == "calwebb_wfs-image3"
    with pytest.raises(RoutingError, match="has no EXP_TYPE"):
        pipelines_for_model(_Model(None))
