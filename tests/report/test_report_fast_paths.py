"""The fast paths of the report against plain references: pulls, DQ counts, CR pixels."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from astropy.table import Table

from report.report_factories import make_run
from webbcal.report import figures
from webbcal.report.analyze import _cr_pixels, analyze
from webbcal.report.collect import discover
from webbcal.report.stats import (
    DQ_FLAGS,
    MAX_PULLS,
    dq_counts,
    good_pixels,
    image_pulls,
    row_detrended_pulls,
)


def _case(seed=2, shape=(64, 48)):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(1, 10, shape).astype(">f4")  # big-endian, as FITS gives it
    err = np.sqrt(truth).astype(np.float32)
    data = (truth + rng.normal(0, 1, shape) * err + rng.normal(0, 2, shape[0])[:, None]).astype(
        np.float32
    )
    data[rng.random(shape) < 0.05] = np.nan
    data[:5, 10:] = np.nan  # rows with fewer than 16 good pixels
    err[3, 3] = 0
    dq = np.where(rng.random(shape) < 0.1, 4, 0).astype(np.uint32)
    return data, err, truth, dq


def _reference_pulls(data, err, truth, dq):
    """The plain formulation: float64 everywhere, NaN-median per row."""
    data, err, truth = (np.asarray(a, np.float64) for a in (data, err, truth))
    good = np.isfinite(data) & np.isfinite(truth) & np.isfinite(err) & (err > 0) & (dq == 0)
    plain = (data[good] - truth[good]) / err[good]
    resid = np.where(good, data - truth, np.nan)
    rows = good.sum(axis=1) >= 16
    med = np.nanmedian(resid[rows], axis=1)
    detrended = (resid[rows] - med[:, None]) / err[rows]
    return plain, detrended[np.isfinite(detrended)]


def test_pulls_equal_the_plain_formulation():
    data, err, truth, dq = _case()
    plain, detrended = _reference_pulls(data, err, truth, dq)
    np.testing.assert_array_equal(image_pulls(data, err, truth, dq), plain)
    np.testing.assert_array_equal(row_detrended_pulls(data, err, truth, dq), detrended)
    good = good_pixels(data, err, truth, dq)
    np.testing.assert_array_equal(row_detrended_pulls(data, err, truth, good=good), detrended)


def test_pulls_are_subsampled_evenly(monkeypatch):
    data, err, truth, dq = _case(shape=(40, 40))
    plain, detrended = _reference_pulls(data, err, truth, dq)
    monkeypatch.setattr("webbcal.report.stats.MAX_PULLS", 100)
    step = int(np.ceil(plain.size / 100))
    np.testing.assert_array_equal(image_pulls(data, err, truth, dq), plain[::step])
    step = int(np.ceil(detrended.size / 100))
    np.testing.assert_array_equal(row_detrended_pulls(data, err, truth, dq), detrended[::step])
    assert MAX_PULLS > 100


def test_dq_counts_match_bitwise_counts():
    rng = np.random.default_rng(4)
    dq = np.where(rng.random((30, 30)) < 0.3, rng.integers(0, 1 << 31, (30, 30)), 0)
    dq = dq.astype(np.uint32)
    counts = dq_counts(dq)
    for name, bit in DQ_FLAGS.items():
        assert counts[name] == np.count_nonzero(dq & np.uint32(bit))
    assert counts["any"] == np.count_nonzero(dq) and counts["pixels"] == dq.size


def test_cr_pixels_fast_reader_and_fallback(tmp_path):
    table = Table(
        {"kind": ["cr", "snow ball", "cr"], "x": [3, 3, 10], "y": [5, 5, 7], "dn": [1.0, 2, 3]}
    )
    plain = tmp_path / "a_truth_cr.ecsv"
    table.write(plain, format="ascii.ecsv")
    assert _cr_pixels(plain) == 2
    commas = tmp_path / "b_truth_cr.ecsv"
    table.write(commas, format="ascii.ecsv", delimiter=",")
    assert _cr_pixels(commas) == 2
    empty = tmp_path / "c_truth_cr.ecsv"
    table[:0].write(empty, format="ascii.ecsv")
    assert _cr_pixels(empty) == 0


def test_thumbnail_is_a_nan_aware_block_mean():
    image = np.arange(36, dtype=np.float32).reshape(6, 6)
    image[0, 0] = np.nan
    image[4:6, 4:6] = np.nan
    small, block = figures.thumbnail(image, 3 / figures.DPI)
    assert block == 2 and small.shape == (3, 3)
    assert small[0, 0] == np.mean([1, 6, 7]) and np.isnan(small[2, 2])
    assert small[1, 1] == np.mean([14, 15, 20, 21])


def test_threaded_analysis_gives_the_same_numbers(tmp_path):
    files = discover(make_run(tmp_path / "run"))
    here = analyze(files).data
    with ThreadPoolExecutor(2) as pool:
        threaded = analyze(files, executor=pool).data
    assert list(here) == list(threaded)
    assert here["pulls"] == threaded["pulls"] and here["exposures"] == threaded["exposures"]
    assert (
        here["products"][0]["match"]["n_matched"] == threaded["products"][0]["match"]["n_matched"]
    )
