"""ramp_fit writing a band's rows straight into full-size products (``outputs_into``)."""

from __future__ import annotations

import numpy as np
import pytest

from steps.factories import RefSet, ramp
from webbcal.steps.ramp_fit import RampFitStep, outputs_into

NAMES = ("data", "dq", "err", "var_poisson", "var_rnoise")


@pytest.fixture
def refs(tmp_path):
    return RefSet(tmp_path)


def _empty(shape):
    return {n: np.full(shape, 9, np.uint32 if n == "dq" else np.float32) for n in NAMES}


@pytest.mark.parametrize(("nints", "algorithm"), [(3, "OLS_C"), (1, "OLS_C"), (2, "LIKELY")])
def test_band_rows_go_straight_into_the_products(refs, nints, algorithm):
    model = ramp(nints=nints, ngroups=6, noise=True, seed=nints)
    model.data[0, 3:, 4, 5] += 300.0  # a jump: this pixel takes the general path
    model.groupdq[0, 3, 4, 5] = 4
    whole = RampFitStep.call(model.copy(), resolver=refs, algorithm=algorithm)
    rate, ints = _empty((30, 12)), _empty((nints, 30, 12))
    # the band is rows 0:10 of the model; its rows 3:8 go to rows 20:25
    with outputs_into(rate, ints, (3, 8), 20):
        part = RampFitStep.call(model.copy(), resolver=refs, algorithm=algorithm)
    for name in NAMES:
        got = rate[name]
        np.testing.assert_array_equal(got[20:25], getattr(whole.rate, name)[3:8])
        assert (got[:20] == 9).all() and (got[25:] == 9).all()
        assert np.shares_memory(getattr(part.rate, name), got)
        if nints > 1:
            np.testing.assert_array_equal(ints[name][:, 20:25],
                                          getattr(whole.rateints, name)[:, 3:8])
            assert np.shares_memory(getattr(part.rateints, name), ints[name])
    assert (part.rateints is None) == (nints == 1) == (whole.rateints is None)
    assert part.rate.meta.bunit_data == "DN/s"


def test_outputs_into_checks_the_arrays():
    rate = _empty((4, 4))
    rate["data"] = rate["data"].astype(np.float64)
    with pytest.raises(ValueError, match="dtype"), outputs_into(rate, None, (0, 4), 0):
        pass
