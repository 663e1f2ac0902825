import json

import pytest

from webbcal.associations import EXPTYPES, Association, asn_from_list, load_asn
from webbcal.errors import AssociationError

# The level-2 and level-3 examples of the official documentation (seeds/004).
LEVEL2 = {
    "asn_rule": "Asn_Lv2Spec",
    "asn_pool": "jw82600_001_20160304T145416_pool",
    "program": "82600",
    "asn_type": "spec2",
    "products": [
        {
            "name": "test_lrs1",
            "members": [{"expname": "test_lrs1_rate.fits", "exptype": "science"}],
        },
        {
            "name": "test_lrs2bkg",
            "members": [{"expname": "test_lrs2bkg_rate.fits", "exptype": "science"}],
        },
        {
            "name": "test_lrs2",
            "members": [
                {"expname": "test_lrs2_rate.fits", "exptype": "science"},
                {"expname": "test_lrs2bkg_rate.fits", "exptype": "background"},
            ],
        },
    ],
}
LEVEL3 = {
    "degraded_status": "No known degraded exposures in association.",
    "version_id": "20160826t131159",
    "asn_type": "image3",
    "asn_id": "c3001",
    "constraints": "Constraints:\n    opt_elem2: CLEAR\n    detector: (?!NULL).+\n"
    "    target_name: 1\n    exp_type: NRC_IMAGE\n    wfsvisit: NULL\n    instrument: NIRCAM\n"
    "    opt_elem: F090W\n"
    "    program: 99009",
    "asn_pool": "mega_pool",
    "asn_rule": "Asn_Image",
    "target": "1",
    "program": "99009",
    "products": [
        {
            "name": "jw99009-a3001_t001_nircam_f090w",
            "members": [
                {
                    "exposerr": None,
                    "expname": "jw_00001_cal.fits",
                    "asn_candidate": "[('o001', 'observation')]",
                    "exptype": "science",
                },
                {
                    "exposerr": None,
                    "expname": "jw_00002_cal.fits",
                    "asn_candidate": "[('o001', 'observation')]",
                    "exptype": "science",
                },
            ],
        }
    ],
}


def write(folder, data, name="test_asn.json", members=True):
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    if members and isinstance(data, dict):
        for product in data.get("products") or []:
            for m in product.get("members") or []:
                if isinstance(m, dict) and isinstance(m.get("expname"), str):
                    (folder / m["expname"]).write_text("x")
    return path


@pytest.mark.parametrize("data", [LEVEL2, LEVEL3], ids=["level2", "level3"])
def test_examples_load_and_write_back_identically(tmp_path, data):
    path = write(tmp_path, data)
    asn = load_asn(path)
    assert asn.to_dict() == data
    again = load_asn(asn.write(tmp_path / "copy_asn.json"))
    assert again.to_dict() == data


def test_level2_structure(tmp_path):
    asn = load_asn(write(tmp_path, LEVEL2))
    assert asn.level == 2
    product = asn.products[2]
    assert [m.expname for m in product.science] == ["test_lrs2_rate.fits"]
    assert product.members_of("background")[0].path == tmp_path / "test_lrs2bkg_rate.fits"
    assert len(asn.members("science")) == 3


def test_level3_structure(tmp_path):
    asn = load_asn(write(tmp_path, LEVEL3))
    assert asn.level == 3
    assert asn.asn_id == "c3001"
    member = asn.products[0].members[0]
    assert member.asn_candidate == "[('o001', 'observation')]"
    assert member.path == tmp_path / "jw_00001_cal.fits"


def test_members_resolve_relative_to_the_association(tmp_path, monkeypatch):
    sub = tmp_path / "data"
    sub.mkdir()
    write(sub, LEVEL3)
    monkeypatch.chdir(tmp_path)
    asn = load_asn("data/test_asn.json")
    assert asn.members()[0].path.resolve() == (sub / "jw_00001_cal.fits").resolve()


def bad(**changes):
    data = json.loads(json.dumps(LEVEL3))
    product = data["products"][0]
    for key, value in changes.items():
        if key == "products":
            data["products"] = value
        elif key == "members":
            product["members"] = value
        elif key == "member0":
            product["members"][0] = value
    return data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("{not json", "malformed JSON at line 1"),
        ("[1, 2]", "must be a JSON object"),
        (bad(products=None), "'products' must be a non-empty list"),
        ({"asn_type": "image3"}, "missing 'products'"),
        (bad(products=[{"name": "p"}]), r"products\[0\] is missing 'members'"),
        (bad(members=[]), "'members' must be a non-empty list"),
        (bad(member0={"exptype": "science"}), r"members\[0\] is missing 'expname'"),
        (bad(member0={"expname": "a_cal.fits", "exptype": "sky"}), "unknown exptype 'sky'"),
        (bad(member0={"expname": "jw_00002_cal.fits", "exptype": "science"}), "listed twice"),
    ],
)
def test_malformed(tmp_path, data, match):
    path = write(tmp_path, data)
    with pytest.raises(AssociationError, match=match) as err:
        load_asn(path)
    assert str(path) in str(err.value)


def test_missing_member_file(tmp_path):
    path = write(tmp_path, LEVEL3, members=False)
    with pytest.raises(AssociationError, match=r"member file jw_00001_cal\.fits not found"):
        load_asn(path)
    assert load_asn(path, check_members=False).products


def test_missing_association_file(tmp_path):
    with pytest.raises(AssociationError, match="association file not found"):
        load_asn(tmp_path / "nope_asn.json")


def test_level2_product_with_two_science_members(tmp_path):
    data = json.loads(json.dumps(LEVEL2))
    data["products"][0]["members"].append({"expname": "other_rate.fits", "exptype": "science"})
    with pytest.raises(AssociationError, match="a level-2 product has exactly one"):
        load_asn(write(tmp_path, data))


def test_exptypes_case_insensitive(tmp_path):
    data = json.loads(json.dumps(LEVEL2))
    data["products"][0]["members"][0]["exptype"] = "SCIENCE"
    asn = load_asn(write(tmp_path, data))
    assert asn.products[0].members[0].exptype == "science"
    assert {
        "science",
        "background",
        "imprint",
        "psf",
        "selfcal",
        "sourceimage",
        "target_acquisition",
    } <= EXPTYPES


def test_asn_from_list_level3():
    asn = asn_from_list(["a_cal.fits", "b_cal.fits"], product_name="l3_results")
    data = asn.to_dict()
    assert data["asn_rule"] == "DMS_Level3_Base"
    assert data["asn_id"] == "o999"
    assert data["products"] == [
        {
            "name": "l3_results",
            "members": [
                {"expname": "a_cal.fits", "exptype": "science"},
                {"expname": "b_cal.fits", "exptype": "science"},
            ],
        }
    ]
    for key in (
        "asn_type",
        "asn_pool",
        "program",
        "target",
        "version_id",
        "constraints",
        "degraded_status",
    ):
        assert key in data


def test_asn_from_list_level2():
    asn = asn_from_list(["x/a_rate.fits", "b_rateints.fits"], rule="DMSLevel2bBase")
    assert asn.level == 2
    assert [p.name for p in asn.products] == ["a", "b"]
    assert [p.members[0].expname for p in asn.products] == ["x/a_rate.fits", "b_rateints.fits"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"files": []}, "at least one file"),
        ({"files": ["a.fits"]}, "needs a product name"),
        ({"files": ["a.fits"], "product_name": "p", "rule": "Nope"}, "unknown association rule"),
        ({"files": ["a.fits", "a.fits"], "product_name": "p"}, "listed twice"),
    ],
)
def test_asn_from_list_errors(kwargs, match):
    with pytest.raises(AssociationError, match=match):
        asn_from_list(**kwargs)


def test_from_dict_without_file():
    asn = Association.from_dict(LEVEL3)
    assert asn.path is None and asn.members()[0].path is None
