"""calwebb_detector1 in row bands (``max_ramp_memory``) gives the whole-ramp products.

A 4-output full-width subarray (side-pixel drifts measured from the reference columns)
and a 1-output window of a transposed detector, in bands of 8 rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from steps.simdata import simulated
from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
from webbcal.sim import TSOConfig

CASES = {
    "grism64": dict(instrument="NIRCAM", detector="NRCA1", subarray="SUBGRISM64",
                    readpatt="RAPID", ngroups=3, nints=4, seed=11),
    "soss": dict(instrument="NIRISS", detector="NIS", subarray="SUBSTRIP96",
                 readpatt="NISRAPID", ngroups=3, nints=4, seed=12),
}  # fmt: skip


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", sorted(CASES))
def test_banded_equals_whole(tmp_path_factory, caplog, case):
    root = tmp_path_factory.mktemp("d1bands")
    truth = simulated(root, f"bands_{case}", tso=TSOConfig(enabled=True), **CASES[case])
    uncal = str(truth.files["uncal"])
    whole = Detector1Pipeline.call(uncal, max_ramp_memory=0)
    ny, nx = whole.rate.data.shape
    with caplog.at_level("INFO", logger="webbcal"):
        banded = Detector1Pipeline.call(uncal, max_ramp_memory=0.001)
    assert "processed in bands of 8 rows" in caplog.text
    for product in ("rate", "rateints"):
        for name in ("data", "dq", "err", "var_poisson", "var_rnoise"):
            np.testing.assert_array_equal(getattr(getattr(banded, product), name),
                                          getattr(getattr(whole, product), name))  # fmt: skip
    assert banded.rate.meta.cal_step.to_dict() == whole.rate.meta.cal_step.to_dict()
    assert banded.rate.meta.cal_step.refpix == "COMPLETE"
    sub = banded.rateints.meta.subarray
    assert (sub.ystart, sub.ysize, sub.xstart, sub.xsize) == (
        whole.rateints.meta.subarray.ystart, ny, whole.rateints.meta.subarray.xstart, nx)
    assert len(banded.rateints.int_times) == 4


def test_window_reads_match_the_file(tmp_path_factory):
    """Bands of rows and narrow column windows read from a 16-bit uncal file, exactly."""
    from astropy.io import fits

    from webbcal import datamodels as dm
    from webbcal.steps._rawread import read_window, read_windows

    root = tmp_path_factory.mktemp("d1reads")
    truth = simulated(root, "bands_reads", tso=TSOConfig(enabled=True), **CASES["grism64"])
    path = truth.files["uncal"]
    with fits.open(path) as hdul:
        sci = hdul["SCI"].data.astype(np.float32)
    model = dm.open(path)
    np.testing.assert_array_equal(read_window(model, (5, 17)), sci[:, :, 5:17])
    np.testing.assert_array_equal(read_window(model), sci)
    outs = [np.full((4, 3, 64, 4), np.nan, np.float32) for _ in range(2)]
    left, right = read_windows(model, (0, 64), [(0, 4), (2044, 2048)], outs)
    assert left is outs[0] and right is outs[1]
    np.testing.assert_array_equal(left, sci[..., :4])
    np.testing.assert_array_equal(right, sci[..., 2044:])
    assert "data" not in model._arrays  # read from the file, the SCI array never loaded
