"""calwebb_detector1 on a 2-worker cluster equals the serial run, bit for bit (simulated data)."""

from __future__ import annotations

import pytest

from parallel.par_helpers import assert_same_products
from webbcal.associations import asn_from_list
from webbcal.parallel import run_association
from webbcal.parallel.cluster import dask_client


@pytest.mark.slow
def test_detector1_parallel_equals_serial(tmp_path):
    from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
    from webbcal.sim import ExposureConfig, ObservationConfig, simulate_observation

    sim = simulate_observation(
        ObservationConfig(
            exposure=ExposureConfig(subarray="SUB160", ngroups=5, output_dir=str(tmp_path)),
            exposures=3,
        )
    )
    names = [f"{e.name}_uncal.fits" for e in sim.exposures]
    asn = asn_from_list(names, rule="DMSLevel2bBase").write(tmp_path / "uncal_asn.json")
    Detector1Pipeline.call(str(asn), save_results=True, output_dir=str(tmp_path / "serial"))
    with dask_client(workers=2) as client:  # started here: the workers see WEBBCAL_REFS
        summary = run_association(
            "calwebb_detector1", asn, client=client, output_dir=tmp_path / "par"
        )
    assert summary.ok and summary.count("complete") == 3
    products = assert_same_products(tmp_path / "serial", tmp_path / "par")
    assert sum(p.endswith("_rate.fits") for p in products) == 3
    steps = [s["name"] for s in summary.members[0].steps]
    assert {"dq_init", "saturation", "jump", "ramp_fit"} <= set(steps)
