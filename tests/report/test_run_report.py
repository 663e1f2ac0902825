"""The run report: numbers, figures (valid PNGs), HTML, no-truth mode, Chromium rendering."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from report.report_factories import make_run
from webbcal.cli import main
from webbcal.report import build_report
from webbcal.report.collect import discover
from webbcal.report.stats import image_pulls, pull_summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(path):
    import matplotlib.image as mpimg

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50


def test_pull_summary_of_honest_errors_is_unit():
    rng = np.random.default_rng(1)
    truth = rng.uniform(1, 10, 200_000)
    err = np.sqrt(truth)
    data = truth + rng.normal(0, 1, truth.size) * err
    s = pull_summary(image_pulls(data, err, truth))
    assert abs(s["mean"]) < 0.01 and abs(s["std"] - 1) < 0.01 and abs(s["std_mad"] - 1) < 0.02
    dq = np.zeros(truth.size, np.uint32)
    dq[:10] = 4
    assert image_pulls(data, err, truth, dq).size == truth.size - 10
    assert pull_summary(np.array([])) == {"n": 0}


def test_discover_groups_files_by_exposure(tmp_path):
    files = discover(make_run(tmp_path / "run"))
    assert sorted(files.exposures) == [f"jw01234001001_01101_{k:05d}_nrca1" for k in (1, 2)]
    first = files.exposures["jw01234001001_01101_00001_nrca1"]
    assert set(first.files) == {"rate", "cal", "crf", "truth_rate", "truth_cr"}
    assert len(files.mosaics) == 1 and len(files.catalogs) == 1 and len(files.truth_scenes) == 1
    assert len(files.records) == 4


def test_report_numbers_figures_and_html(tmp_path):
    out = make_run(tmp_path / "run")
    report = build_report(out)
    data = json.loads(report.json.read_text())
    assert data["has_truth"]
    for stage in ("stage1", "stage2", "stage3"):
        assert data["pulls"][stage]["n"] > 0
    assert abs(data["pulls"]["stage1"]["std"] - 1) < 0.05
    assert abs(data["pulls"]["stage2"]["std"] - 1) < 0.05
    match = data["products"][0]["match"]
    assert match["n_truth"] == 15 and match["n_matched"] == 12
    assert match["completeness"] == pytest.approx(12 / 15)
    assert 0.9 < match["flux_ratio_stars"] < 1.1
    assert 3 < match["astrometry_rms_mas"] < 30
    assert "pairs" not in match  # kept out of report.json
    exposure = data["exposures"][0]
    assert exposure["rate_dq"]["jump"] == 2 and exposure["rate_dq"]["saturated"] == 1
    assert exposure["crf_dq"]["outlier"] == 2 and exposure["truth_cr_pixels"] == 3
    assert data["timing"]["calwebb_detector1"]["steps"]["jump"]["seconds"] == pytest.approx(3.0)
    assert set(report.figures) == {
        "images",
        "mosaic",
        "flux",
        "astrometry",
        "pulls",
        "dq",
        "timing",
    }
    for path in report.figures.values():
        _check_png(path)
    page = report.html.read_text()
    assert page.count("data:image/png;base64,") == 7
    assert "Error honesty" in page and "completeness" in page


def test_report_without_truth_shows_what_it_can(tmp_path):
    out = make_run(tmp_path / "run", truth=False)
    report = build_report(out)
    assert not report.data["has_truth"]
    assert report.data["pulls"] == {}
    assert {"images", "mosaic", "dq", "timing"} <= set(report.figures)
    assert "pulls" not in report.figures and "flux" not in report.figures
    assert "No simulator truth found" in report.html.read_text()


def test_report_cli(tmp_path, capsys):
    out = make_run(tmp_path / "run", n_exposures=1)
    assert main(["-q", "report", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["-q", "report", str(tmp_path / "missing")]) == 1


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    out = make_run(tmp_path / "run")
    report = build_report(out)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            report.html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _check_png(shot)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2400, 1200)
    assert pixels[..., :3].std() > 0.05  # not a blank page
