import numpy as np
import pytest

from webbcal.datamodels import dqflags


def test_values_are_the_official_bits():
    assert dqflags.pixel["GOOD"] == 0
    assert dqflags.pixel["DO_NOT_USE"] == 1
    assert dqflags.pixel["SATURATED"] == 2
    assert dqflags.pixel["JUMP_DET"] == 4
    assert dqflags.pixel["NON_SCIENCE"] == 512
    assert dqflags.pixel["REFERENCE_PIXEL"] == 2**31
    assert len(dqflags.pixel) == 33
    assert all(dqflags.group[name] == dqflags.pixel[name] for name in dqflags.group)
    assert set(dqflags.group) == {"GOOD", "DO_NOT_USE", "SATURATED", "JUMP_DET", "DROPOUT",
                                  "PERSISTENCE", "AD_FLOOR", "CHARGELOSS"}
    for name, value in dqflags.pixel.items():
        assert getattr(dqflags, name) == value


def test_mnemonics():
    assert dqflags.dqflags_to_mnemonics(0, dqflags.pixel) == set()
    assert dqflags.dqflags_to_mnemonics(7, dqflags.pixel) == {"DO_NOT_USE", "SATURATED",
                                                              "JUMP_DET"}
    assert dqflags.dqflags_to_mnemonics(np.uint32(2**31 + 1), dqflags.pixel) == {
        "DO_NOT_USE", "REFERENCE_PIXEL"}
    assert dqflags.dqflags_to_mnemonics(2**10, dqflags.group) == set()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("DO_NOT_USE+SATURATED", 3),
        ("do_not_use, jump_det", 5),
        ("1,4", 5),
        (6, 6),
        (["SATURATED", 1], 3),
        ("~DO_NOT_USE", 0xFFFFFFFE),
        (None, None),
    ],
)
def test_interpret_bit_flags(spec, expected):
    assert dqflags.interpret_bit_flags(spec) == expected


def test_interpret_bit_flags_rejects_unknown_names():
    with pytest.raises(ValueError, match="NOT_A_FLAG"):
        dqflags.interpret_bit_flags("DO_NOT_USE+NOT_A_FLAG")


def test_dq_def_tables_translate_both_ways():
    table = dqflags.dq_def_table(["DO_NOT_USE", "DEAD", "HOT"])
    assert list(table["VALUE"]) == [1, 2, 4]
    assert [n.decode() for n in table["NAME"]] == ["DO_NOT_USE", "DEAD", "HOT"]
    standard = np.array([0, dqflags.DEAD, dqflags.HOT | dqflags.DO_NOT_USE], np.uint32)
    stored = dqflags.squeeze_dq(standard, table)
    assert list(stored) == [0, 2, 5]
    assert list(dqflags.expand_dq(stored, table)) == list(standard)

    identity = dqflags.dq_def_table()
    assert list(dqflags.expand_dq(standard, identity)) == list(standard)
    assert len(identity) == 32


def test_expand_ignores_unknown_names():
    table = dqflags.dq_def_table(["DO_NOT_USE"])
    table = np.concatenate([table, table])
    table[1]["NAME"] = b"SOMETHING_ELSE"
    table[1]["VALUE"] = 2
    assert list(dqflags.expand_dq(np.array([3], np.uint32), table)) == [1]
