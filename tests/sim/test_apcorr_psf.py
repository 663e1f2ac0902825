"""The embedded APCORR model agrees with the simulator's pixel-integrated stars."""

from __future__ import annotations

import math

import numpy as np

from webbcal.kernels.aperture import aperture_sums
from webbcal.refs.embedded.apcorr_model import EE_FRACTIONS, apcorr_rows, encircled_energy
from webbcal.sim.psf import PSFModel, render_stars


def test_no_boxes_is_the_gaussian_encircled_energy():
    sigma = 1.3
    r, ee = encircled_energy(sigma, (0.0, 0.0), 0)
    radii = np.array([0.5, 1.0, 2.0, 3.0])
    expected = 1.0 - np.exp(-(radii**2) / (2 * sigma**2))
    assert np.allclose(np.interp(radii, r, ee), expected, atol=4e-3)


def test_rows_grow_with_the_fraction_and_exceed_the_optical_gaussian():
    fwhm, scale = 0.068, 0.0312
    rows = apcorr_rows("NIRCAM", fwhm, scale)
    assert [row[0] for row in rows] == list(EE_FRACTIONS)
    radii = np.array([row[1] for row in rows])
    assert np.all(np.diff(radii) > 0)
    assert all(math.isclose(row[2], 1.0 / row[0]) for row in rows)
    sigma = fwhm / scale / (2 * math.sqrt(2 * math.log(2)))
    optical = sigma * math.sqrt(-2 * math.log(1 - 0.7))
    assert radii[6] > 1.1 * optical  # pixel sampling widens an undersampled PSF
    assert rows[0][3] > radii[-1] and rows[0][4] >= rows[0][3] + 5.0


def test_encircled_energy_matches_simulated_stars_measured_with_exact_apertures():
    """Stars rendered by the simulator (pixel response) and measured on their own pixels
    with exact-overlap apertures: two unit boxes, averaged over sub-pixel positions."""
    psf = PSFModel.gaussian(0.068, 0.0312, 2.0)
    rng = np.random.default_rng(3)
    n = 150
    img = np.zeros((40, 40 * n))
    xs = 20 + 40 * np.arange(n) + rng.uniform(-0.5, 0.5, n)
    ys = 20 + rng.uniform(-0.5, 0.5, n)
    render_stars(img, xs, ys, np.ones(n), psf)
    r, ee = encircled_energy(psf.sigmas[0], (0.0, 0.0), 2)
    radii = np.interp([0.3, 0.5, 0.7], ee, r)
    flux, _, _ = aperture_sums(
        img, np.zeros((0, 0)), np.zeros(img.shape, bool), xs, ys, np.asarray(radii)
    )
    assert np.allclose(flux.mean(axis=0), [0.3, 0.5, 0.7], atol=0.006)
