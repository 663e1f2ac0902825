"""calwebb_detector1 on simulated NIRCam exposures with truth (slow).

The simulator uses the same per-pixel truth as the embedded references, so the rates must
match the truth within their errors. Two NIRCam NRCA1 SUB160 BRIGHT2 exposures (2 frames
per group, 8 groups, 3 integrations) of a dense star field, some stars saturating:

* ``pulls``: no per-frame amplifier offsets and no 1/f drift, refpix skipped: the noise
  is what the ramp-fit error model describes (Poisson, read noise), so
  ``(rate - truth) / ERR`` has mean 0 and unit scatter;
* ``crs``: all detector effects but the row-correlated 1/f drift, and 80 times the
  nominal cosmic-ray rate. The 1-output reference-pixel correction (official algorithm)
  removes the per-frame amplifier offsets but leaves a common-mode error of the clipped
  mean of ~600 reference pixels per column parity (~0.04 sigma of a pixel's rate), so
  the pull means there are only checked to +-0.1.

The 1/f drift is off in both: the official reference-pixel algorithm for 1-output
subarrays cannot remove it and the ramp-fit noise model does not include it. The
embedded MASK flags reference pixels DO_NOT_USE, which makes refpix (like the official
step) find none; the ``crs`` run uses a copy with those flags cleared (see
``steps.simdata.mask_with_usable_reference_pixels``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from steps.factories import isolated_cli_logging
from steps.simdata import mask_with_usable_reference_pixels, pulls, simulated
from webbcal import datamodels as dm
from webbcal.cli import main as cli_main
from webbcal.datamodels import dqflags
from webbcal.pipelines.calwebb_detector1 import Detector1Pipeline
from webbcal.sim import CosmicRayConfig, DetectorEffects, SceneConfig

pytestmark = pytest.mark.slow

SCENE = SceneConfig(star_density=100000.0, star_flux_range=(5.0, 3.0e5), star_slope=0.5)
SETUP = dict(instrument="NIRCAM", detector="NRCA1", subarray="SUB160", readpatt="BRIGHT2",
             ngroups=8, nints=3, scene=SCENE)  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("d1sci")


@pytest.fixture(scope="module")
def clean(root):
    """The ``pulls`` exposure run through calwebb_detector1 (refpix skipped)."""
    truth = simulated(root, "nrc_pulls", seed=7, **SETUP,
                      effects=DetectorEffects(one_over_f=False, amp_offsets=False))  # fmt: skip
    result = Detector1Pipeline.call(str(truth.files["uncal"]), steps={"refpix": {"skip": True}})
    return truth, result


@pytest.fixture(scope="module")
def run(root):
    """The ``crs`` exposure run through calwebb_detector1, products saved."""
    truth = simulated(root, "nrc_crs", seed=11, **SETUP,
                      effects=DetectorEffects(one_over_f=False),
                      cosmic_rays=CosmicRayConfig(rate=400.0))  # fmt: skip
    uncal = truth.files["uncal"]
    mask = mask_with_usable_reference_pixels(uncal, root / "mask_refpix_usable.fits")
    out = root / "py"
    result = Detector1Pipeline.call(
        str(uncal), save_results=True, output_dir=str(out), save_calibrated_ramp=True,
        steps={"dq_init": {"override_mask": str(mask)}},
    )  # fmt: skip
    return truth, result, out, mask


def test_rate_pulls_faint_and_bright(clean):
    truth, result = clean
    rate = result.rate
    stats = pulls(rate.data, rate.err, rate.dq, truth.truth_rate,
                  (0.0, 1.0, 10.0, 100.0, 1000.0))  # fmt: skip
    print("\n".join(str(s) for s in stats))
    assert len(stats) == 4
    for s in stats:
        assert s.n > 100, s
        assert abs(s.mean) < 0.05, s
        assert abs(s.std - 1.0) < 0.05, s


def test_rateints_pulls(clean):
    truth, result = clean
    ints = result.rateints
    assert ints.data.shape == (3, 160, 160)
    for i in range(3):
        (faint,) = pulls(ints.data[i], ints.err[i], ints.dq[i], truth.truth_rate, (0.0, 1.0))
        assert abs(faint.mean) < 0.05 and abs(faint.std - 1.0) < 0.05, faint


def test_refpix_removes_amplifier_offsets(run):
    truth, result, _, _ = run
    assert result.rate.meta.cal_step.refpix == "COMPLETE"
    rate = result.rate
    (faint,) = pulls(rate.data, rate.err, rate.dq, truth.truth_rate, (0.0, 1.0))
    print(faint)
    assert abs(faint.mean) < 0.1 and abs(faint.std - 1.0) < 0.05, faint


def _ramp(out: Path):
    (path,) = out.glob("*_ramp.fits")
    return dm.open(path)


def _visible_jump(row, nframes: int, ngroups: int) -> float:
    """DN of a hit seen in its largest group difference (frame-averaged groups split it)."""
    g, frame = int(row["group"]), int(row["frame"])
    after = (g * nframes + nframes - frame) / nframes  # share in the first affected group
    rest = 1.0 - after if g + 1 < ngroups else 0.0
    return float(row["dn"]) * max(after, rest)


def test_cosmic_rays_are_flagged(run):
    truth, _, out, _ = run
    gdq = _ramp(out).groupdq
    crs = Table.read(truth.files["truth_cr"])
    nframes, ngroups, rn = 2, gdq.shape[1], 7.0  # BRIGHT2; NIRCam CDS read noise ~7 DN
    sigma_diff = rn / np.sqrt(nframes)
    found = usable = 0
    for row in crs[(crs["group"] >= 1) & (crs["kind"] == "cr")]:
        if _visible_jump(row, nframes, ngroups) < 10 * sigma_diff:
            continue
        i, g, y, x = int(row["integration"]), int(row["group"]), int(row["y"]), int(row["x"])
        flags = gdq[i, :, y, x]
        if g >= ngroups or flags[g] & (dqflags.SATURATED | dqflags.DO_NOT_USE):
            continue
        usable += 1
        found += bool((flags[g : g + 2] & dqflags.JUMP_DET).any())
    print(f"{found}/{usable} cosmic-ray hits flagged")
    assert usable > 200
    assert found >= 0.99 * usable


def test_few_false_jumps(run):
    truth, _, out, _ = run
    ramp = _ramp(out)
    gdq = ramp.groupdq
    jump = (gdq & dqflags.JUMP_DET) != 0
    hit = np.zeros(gdq.shape[0:1] + gdq.shape[2:], bool)
    for row in Table.read(truth.files["truth_cr"]):
        i, y, x = int(row["integration"]), int(row["y"]), int(row["x"])
        hit[i, max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = True
    saturated = ((gdq & dqflags.SATURATED) != 0).any(axis=1)
    near_sat = np.zeros_like(saturated)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near_sat |= np.roll(np.roll(saturated, dy, axis=1), dx, axis=2)
    unexplained = jump & ~hit[:, None] & ~near_sat[:, None]
    fraction = unexplained.sum() / jump[:, 1:].size
    print(f"false jump flags: {fraction:.2e} of pixel-groups")
    assert fraction <= 1e-3


def test_saturation_partial_and_full(run):
    truth, result, out, _ = run
    gdq = _ramp(out).groupdq
    sat = (gdq & dqflags.SATURATED) != 0
    nsat = sat.sum(axis=1)  # per integration and pixel
    ngroups = gdq.shape[1]
    partial = ((nsat >= 1) & (nsat <= ngroups - 3)).all(axis=0)
    full = (nsat == ngroups).all(axis=0)
    rate = result.rate
    assert partial.sum() > 5 and full.sum() > 5
    good = partial & np.isfinite(rate.data) & (rate.err > 0)
    pull = (rate.data[good] - truth.truth_rate[good]) / rate.err[good]
    print(f"partly saturated: n={good.sum()} mean {pull.mean():+.2f} std {pull.std():.2f}")
    assert np.abs(np.median(pull)) < 1.0
    assert (np.abs(pull) < 5).mean() > 0.9
    assert (rate.dq[full] & dqflags.SATURATED).all()
    assert (rate.dq[full] & dqflags.DO_NOT_USE).all()
    assert np.isnan(rate.data[full]).all()


def test_products_open_with_official_datamodels(run):
    stdm = pytest.importorskip("stdatamodels.jwst.datamodels")
    _, _, out, _ = run
    names = sorted(p.name for p in out.iterdir())
    stem = "jw00001001001_01101_00001_nrca1"
    assert f"{stem}_rate.fits" in names and f"{stem}_rateints.fits" in names
    assert f"{stem}_ramp.fits" in names and f"{stem}_trapsfilled.fits" in names
    with stdm.open(out / f"{stem}_rate.fits") as rate:
        assert type(rate).__name__ == "ImageModel"
        assert rate.meta.cal_step.ramp_fit == "COMPLETE"
        assert rate.var_poisson.shape == (160, 160)
    with stdm.open(out / f"{stem}_rateints.fits") as ints:
        assert type(ints).__name__ == "CubeModel"
        assert ints.data.shape == (3, 160, 160)
    with stdm.open(out / f"{stem}_ramp.fits") as ramp:
        assert type(ramp).__name__ == "RampModel"
        assert ramp.groupdq.shape == (3, 8, 160, 160)
    with stdm.open(out / f"{stem}_trapsfilled.fits") as traps:
        assert type(traps).__name__ == "TrapsFilledModel"
        assert traps.data.shape == (3, 2048, 2048)  # full frame, as the official product


def test_cli_matches_python(run, tmp_path):
    truth, _, out, mask = run
    cli_out = tmp_path / "cli"
    with isolated_cli_logging():
        code = cli_main(["run", "calwebb_detector1", str(truth.files["uncal"]),
                         "--output_dir", str(cli_out), "--save_calibrated_ramp",
                         f"--steps.dq_init.override_mask={mask}"])  # fmt: skip
    assert code in (0, None)
    for suffix in ("rate", "rateints"):
        (py,) = out.glob(f"*_{suffix}.fits")
        with dm.open(py) as a, dm.open(cli_out / py.name) as b:
            for name in ("data", "err", "dq", "var_poisson", "var_rnoise"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
