"""Selection rules: the rmap-like Match/UseAfter algorithm and rules.yaml."""

from __future__ import annotations

import pytest

from webbcal.refs.embedded.builder import BUILT_REFTYPES
from webbcal.refs.rules import Candidate, choose, match_weight, parse_rules, rules


@pytest.mark.parametrize(
    ("pattern", "value", "weight"),
    [
        ("NRCA1", "NRCA1", 1),
        ("NRCA1", "nrca1", 1),
        ("NRCA1", "NRCA2", None),
        ("NRCA1|NRCA2", "NRCA2", 1),
        ("NRC_IMAGE|NRC_TSIMAGE|", "NRC_TSIMAGE", 1),
        ("ANY", "X", 1),
        ("N/A", "X", 0),
        ("GENERIC", "SUB160", 0),
        (None, "X", 0),
        ("NRCA1", None, None),
        ("N/A", None, 0),
        (4, 4, 1),
    ],
)
def test_match_weight(pattern, value, weight):
    assert match_weight(pattern, value) == weight


def _c(name, useafter="2000-01-01T00:00:00", **selectors):
    return Candidate(name, selectors, useafter)


def test_choose_prefers_the_heaviest_match():
    keys = {"DETECTOR": "NRCA1", "SUBARRAY": "SUB160"}
    cands = [_c("generic", DETECTOR="NRCA1", SUBARRAY="GENERIC"),
             _c("sub160", DETECTOR="NRCA1", SUBARRAY="SUB160"),
             _c("other", DETECTOR="NRCA2", SUBARRAY="SUB160")]  # fmt: skip
    chosen, _ = choose(cands, keys, ("DETECTOR", "SUBARRAY"), None)
    assert chosen.name == "sub160"
    chosen, _ = choose(cands, {**keys, "SUBARRAY": "FULL"}, ("DETECTOR", "SUBARRAY"), None)
    assert chosen.name == "generic"


def test_choose_useafter_takes_the_latest_not_after_the_exposure():
    cands = [_c("old", "2000-01-01T00:00:00", DETECTOR="NRCA1"),
             _c("new", "2023-01-01 00:00:00", DETECTOR="NRCA1")]  # fmt: skip
    match = ("DETECTOR",)
    keys = {"DETECTOR": "NRCA1"}
    assert choose(cands, keys, match, "2022-06-01T00:00:00")[0].name == "old"
    assert choose(cands, keys, match, "2023-01-01T00:00:00")[0].name == "new"
    assert choose(cands, keys, match, None)[0].name == "new"
    chosen, why = choose(cands, keys, match, "1999-01-01T00:00:00")
    assert chosen is None and "1999" in why and "2000" in why


def test_choose_reports_no_match():
    chosen, why = choose([_c("a", DETECTOR="NRCA2")], {"DETECTOR": "NRCA1"}, ("DETECTOR",), None)
    assert chosen is None and "no file matches" in why


def test_rules_table_is_consistent():
    rs = rules()
    assert set(rs.instruments) >= {"NIRCAM", "NIRISS", "MIRI", "FGS", "NIRSPEC"}
    for inst in rs.instruments:
        for reftype in rs.reftypes(inst):
            rule = rs.rule(inst, reftype)
            if rule.build is not None:
                assert reftype in BUILT_REFTYPES, (inst, reftype)
                allowed = set(rule.match) | {"NOUTPUTS", "DETECTOR"}
                assert set(rule.build) <= allowed, (inst, reftype)
    # near-IR persistence and MIRI-only types
    assert rs.rule("MIRI", "persat").is_na({})
    assert rs.rule("NIRCAM", "rscd").is_na({})
    assert rs.rule("NIRCAM", "reset").is_na({})
    assert rs.rule("NIRCAM", "refpix").is_na({})
    assert not rs.rule("MIRI", "rscd").is_na({})
    irs2 = rs.rule("NIRSPEC", "refpix")
    assert irs2.is_na({"READPATT": "NRSRAPID"}) and not irs2.is_na({"READPATT": "NRSIRS2"})
    assert rs.rule("NIRCAM", "pars-jumpstep").match == ("EXP_TYPE", "FILTER", "PUPIL")
    assert rs.rule("NIRCAM", "specwcs") is None


def test_parse_rules_rejects_unknown_entries():
    text = "useafter: x\npedigree: DUMMY\nauthor: a\nrules:\n  NIRCAM:\n    mask: {mtch: []}\n"
    with pytest.raises(ValueError, match="unknown entries"):
        parse_rules(text)
