"""``webbcal demo``: configuration, summary text, CLI checks; --small end to end (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webbcal.cli import main
from webbcal.demo import DemoConfig, DemoResult
from webbcal.errors import ParameterError
from webbcal.parallel.observation import ObservationSummary
from webbcal.parallel.results import MemberResult, RunSummary


def test_default_config_is_nircam_f200w_full_frame_box_dither():
    sim = DemoConfig().observation()
    exp = sim.exposure
    assert (exp.instrument, exp.detector, exp.filter, exp.subarray) == (
        "NIRCAM",
        "NRCA1",
        "F200W",
        "FULL",
    )
    assert sim.exposures == 4 and sim.dither_pattern == "BOX"
    assert exp.cosmic_rays.enabled
    small = DemoConfig(small=True, exposures=2, seed=5).observation()
    assert small.exposure.subarray == "SUB320" and small.exposure.ngroups == 5
    assert small.exposure.seed == 5 and small.exposures == 2
    assert small.exposure.scene.star_density > exp.scene.star_density
    miri = DemoConfig(instrument="miri").observation().exposure
    assert (miri.detector, miri.filter) == ("MIRIMAGE", "F770W")
    with pytest.raises(ParameterError, match="NIRSPEC"):
        DemoConfig(instrument="NIRSPEC").observation()


def test_summary_text_shows_stage_times_members_and_numbers(tmp_path):
    stage = RunSummary(
        "calwebb_detector1",
        "4 files",
        tmp_path,
        seconds=12.5,
        workers=2,
        members=[
            MemberResult("a", "a", "complete"),
            MemberResult("b", "b", "failed", error="bad file b"),
        ],
    )
    chain = ObservationSummary(
        output_dir=tmp_path,
        product_name="p",
        stages=[stage],
        not_run=["calwebb_image3: not available"],
    )
    result = DemoResult(
        config=DemoConfig(small=True),
        output_dir=tmp_path,
        times={"simulate": 3.2, "stage1": 12.5, "total": 20.0},
        observation=chain,
        numbers={
            "n_sources": 42,
            "completeness": 0.93,
            "flux_ratio_stars": 0.991,
            "astrometry_rms_mas": 4.2,
            "pulls": {"stage1": {"n": 1000, "mean": 0.01, "std": 1.02}},
        },
    )
    text = result.summary_text()
    assert "NIRCAM NRCA1 F200W SUB320" in text
    assert "simulate      3.2 s" in text and "Stage 1      12.5 s" in text
    assert "1 complete, 0 resumed, 1 failed" in text
    assert "FAILED calwebb_detector1 b: bad file b" in text
    assert "not run: calwebb_image3" in text
    assert "sources detected 42" in text and "completeness 0.930" in text
    assert "astrometry rms 4.2 mas" in text and "std 1.020" in text
    assert not result.ok
    assert json.loads(json.dumps(result.to_dict()))["times_s"]["stage1"] == 12.5


def test_cli_rejects_bad_options_before_running(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["demo", "--output-dir", str(out), "--exposures", "0"]) == 2
    assert main(["demo", "--output-dir", str(out), "--instrument", "fgs"]) == 2
    assert main(["demo", "--output-dir", str(out), "--filter", "F999W"]) != 0
    assert "error" in capsys.readouterr().err
    assert not list(Path(out).glob("*.fits")) if out.exists() else True


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--small", "--exposures", "2", "--workers", "2", "--output-dir", str(out)])
    text = capsys.readouterr().out
    summary = json.loads((out / "demo_summary.json").read_text())
    stages = summary["observation"]["stages"]
    assert stages[0]["pipeline"] == "calwebb_detector1" and stages[0]["complete"] == 2
    assert code == (0 if summary["ok"] else 1)
    assert len(list(out.glob("*_uncal.fits"))) == 2
    assert len(list(out.glob("*_nrca1_rate.fits"))) == 2
    assert summary["times_s"]["simulate"] > 0 and summary["times_s"]["stage1"] > 0
    assert (out / "report.html").is_file() and (out / "report.json").is_file()
    numbers = summary["numbers"]
    assert numbers["pulls"]["stage1"]["n"] > 1000
    assert 0.8 < numbers["pulls"]["stage1_rows_removed"]["std"] < 1.25
    assert "Stage 1" in text and "report:" in text and "time per stage" in text
    # the small field holds detectable stars, and the catalog matches the truth (loosely)
    assert numbers["n_matched"] >= 5 and numbers["completeness_bright"] >= 0.8
    assert 0.9 < numbers["flux_ratio_stars"] < 1.1
    assert numbers["astrometry_rms_mas"] < 20.0


def test_exposures_are_simulated_here_without_a_cluster(tmp_path):
    from concurrent.futures import Future
    from dataclasses import replace

    from webbcal.demo import _Simulation
    from webbcal.sim.observation import finish_observation, plan_observation

    obs = DemoConfig(small=True, exposures=2, output_dir=str(tmp_path)).observation()
    obs = replace(obs, exposure=replace(obs.exposure, subarray="SUB160", ngroups=2))
    plan = plan_observation(obs)
    no_client: Future = Future()
    no_client.set_result(None)
    simulation = _Simulation(plan, no_client)
    assert simulation.client is None and simulation.pending == {}
    sim = finish_observation(plan, simulation.exposures())
    assert [e.config.exposure for e in sim.exposures] == [1, 2]
    assert all(e.files["uncal"].is_file() for e in sim.exposures)
    assert [e.files["uncal"] for e in sim.exposures] == simulation.uncal
    assert sim.files["asn_image3"].is_file()
