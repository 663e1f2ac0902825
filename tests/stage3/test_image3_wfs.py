"""calwebb_wfs-image3 (wfs_combine): combining a simulated dithered WFS&C pair."""

from __future__ import annotations

import math

import numpy as np
import pytest

from webbcal.associations import asn_from_list
from webbcal.core import registry
from webbcal.datamodels import ImageModel, dqflags
from webbcal.steps.wfs_combine import WfsCombineStep, combine_pair
from webbcal.wcs import imaging_wcs

from . import synthetic as syn

DNU, SAT = dqflags.DO_NOT_USE, dqflags.SATURATED


@pytest.mark.parametrize(
    ("dq1", "dq2", "sci", "dq"),
    [
        (0, 0, 2.0, 0),
        (0, DNU, 1.0, 0),
        (DNU, 0, 3.0, 0),
        (DNU, DNU, 0.0, DNU),
        (0, SAT, 2.0, 0),
        (SAT, DNU, 1.0, SAT),
        (DNU, DNU | SAT, 0.0, DNU),
        (SAT, SAT, 2.0, SAT),
    ],
)
def test_combination_rules(dq1, dq2, sci, dq):
    one = np.ones((1, 1))
    s, e, q = combine_pair(one, one, np.full((1, 1), dq1, np.uint32), 3 * one, 3 * one,
                           np.full((1, 1), dq2, np.uint32))  # fmt: skip
    assert s[0, 0] == sci and q[0, 0] == dq
    assert e[0, 0] == {1.0: 1.0, 3.0: 3.0, 2.0: 2.0, 0.0: 0.0}[sci]


def _wfs_image(k: int, star_xy, wcs_shift, shape=(160, 160), seed=0):
    """A defocused star (ring) at ``star_xy`` [pixels]; the WCS says it is ``wcs_shift`` off."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    r = np.hypot(xx - star_xy[0], yy - star_xy[1])
    img = 50.0 * np.exp(-0.5 * ((r - 12.0) / 2.5) ** 2) + 0.5
    rng = np.random.default_rng(seed)
    err = np.sqrt(0.01 + 0.001 * img)
    model = ImageModel(data=(img + rng.normal(size=shape) * err).astype(np.float32),
                       err=err.astype(np.float32), dq=np.zeros(shape, np.uint32))  # fmt: skip
    syn._meta(model, k, syn.RA0, syn.DEC0)
    model.meta.dither.primary_type = "WFSC"
    # the pointing differs by the dither: the same sky point is ``wcs_shift`` pixels away
    dx, dy = wcs_shift
    cosd = math.cos(math.radians(syn.DEC0))
    # pixel +x is -V2 and the field is rotated by ROLL: convert the pixel shift to RA/Dec
    a = math.radians(syn.ROLL)
    east = (-dx * math.cos(a) + dy * math.sin(a)) * syn.SCALE
    north = (dx * math.sin(a) + dy * math.cos(a)) * syn.SCALE
    ra, dec = syn.RA0 - east / 3600.0 / cosd, syn.DEC0 - north / 3600.0
    model.meta.wcsinfo.ra_ref, model.meta.wcsinfo.dec_ref = ra, dec
    model.meta.wcs = imaging_wcs(syn._distortion(shape), syn._pointing(ra, dec, syn.ROLL), shape)
    return model


def _pair(tmp_path, shift, order=(0, 1), error=(0.0, 0.0)):
    c = (79.5, 79.5)
    first = _wfs_image(0, c, (0.0, 0.0), seed=1)
    star2 = (c[0] + shift[0] + error[0], c[1] + shift[1] + error[1])
    second = _wfs_image(1, star2, shift, seed=2)
    models = [first, second]
    names = [models[i].save(tmp_path / models[i].meta.filename).name for i in order]
    asn = asn_from_list(names, product_name="wfs_pair", acid="o001", asn_type="wfs-image3")
    return asn.write(tmp_path / "wfs_asn.json"), first, second


def test_alias_is_the_official_one():
    assert registry.find("calwebb_wfs-image3") is WfsCombineStep
    assert registry.find("WfsCombineStep") is WfsCombineStep


def test_pair_is_aligned_and_bad_pixels_replaced(tmp_path):
    asn, first, second = _pair(tmp_path, (6.0, -3.0))
    with ImageModel(tmp_path / first.meta.filename) as m1:
        m1.dq[79, 67] = DNU  # on the ring of image 1
        m1.data[79, 67] = 1e6
        m1.save(tmp_path / first.meta.filename)
    out_dir = tmp_path / "out"
    out = WfsCombineStep.call(str(asn), save_results=True, output_dir=str(out_dir))
    assert sorted(p.name for p in out_dir.iterdir()) == ["wfs_pair_wfscmb.fits"]
    assert out.meta.cal_step.wfs_combine == "COMPLETE"
    offset = out.meta.webbcal.to_dict()["wfs_combine"]["offset_pix"]
    assert offset == pytest.approx([6.0, -3.0], abs=1e-6)
    assert out.dq[79, 67] == 0 and abs(out.data[79, 67] - second.data[76, 73]) < 1e-3
    # the ring is where image 1 has it, and averaging lowered the noise
    yy, xx = np.mgrid[0:160, 0:160]
    ring = np.abs(np.hypot(xx - 79.5, yy - 79.5) - 12.0) < 1.0
    assert out.data[ring].mean() > 40.0
    assert np.all(out.err[40:120, 40:110] <= second.err.max())


def test_flip_dithers_puts_the_star_on_the_same_pixels(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    asn1, _, _ = _pair(a, (-6.0, 2.0), order=(0, 1))
    asn2, _, _ = _pair(b, (-6.0, 2.0), order=(1, 0))
    out1 = WfsCombineStep.call(str(asn1))
    out2 = WfsCombineStep.call(str(asn2))
    assert np.allclose(out1.data, out2.data)
    unflipped = WfsCombineStep.call(str(asn1), flip_dithers=False)
    assert not np.allclose(unflipped.data, out1.data)


def test_refinement_finds_the_fractional_offset_and_changes_err(tmp_path):
    asn, _, _ = _pair(tmp_path, (6.0, -3.0), error=(0.4, -0.3))
    plain = WfsCombineStep.call(str(asn))
    refined = WfsCombineStep.call(str(asn), do_refine=True, psf_size=60, blur_size=3)
    offset = refined.meta.webbcal.to_dict()["wfs_combine"]["offset_pix"]
    assert offset == pytest.approx([6.4, -3.3], abs=0.1)
    assert not np.array_equal(plain.err, refined.err)
