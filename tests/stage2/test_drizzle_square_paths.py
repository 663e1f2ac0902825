"""Square-kernel drizzle: the closed-form 2x2-cell path and the general path vs cdrizzle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import binary_erosion

from webbcal.kernels.pixmap import exact_pixmap, node_map
from webbcal.kernels.resample_accum import Drizzler

drizzle_resample = pytest.importorskip("drizzle.resample")

NY, NX = 60, 56


def _mapper(scale: float, angle_deg: float, flip: bool):
    """Affine: the corners are exact both ways, so only the overlap arithmetic is compared."""
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    sx = -scale if flip else scale

    def mapping(x, y):
        return sx * (c * x - s * y) + 70.3, scale * (s * x + c * y) + 20.6

    return mapping


# output pixels the same size (quadrilaterals within 2 x 2 cells: the closed-form path),
# smaller (several cells: the general path), rotated 45 degrees (both), and a mirrored WCS
CASES = [(1.0, 0.3, False), (2.3, 10.0, False), (1.0, 45.0, False), (1.0, 2.0, True)]


@pytest.mark.parametrize("pixfrac", [1.0, 0.6])
@pytest.mark.parametrize("scale,angle,flip", CASES)
def test_square_paths_match_cdrizzle(scale, angle, flip, pixfrac):
    rng = np.random.default_rng(7)
    data = rng.normal(3.0, 1.0, (NY, NX)).astype(np.float32)
    weight = rng.uniform(0.5, 2.0, (NY, NX)).astype(np.float32)
    mapping = _mapper(scale, angle, flip)
    out = (int(NY * scale * 1.6) + 90, int(NX * scale * 1.6) + 90)
    drizzler = Drizzler(out, pixfrac=pixfrac)
    drizzler.add(node_map(mapping, (NY, NX), step=1), data, weight, (None, None, None))
    res = drizzler.finalize()
    driz = drizzle_resample.Drizzle(kernel="square", out_shape=out, fillval="NAN")
    driz.add_image(data, exptime=1.0, pixmap=exact_pixmap(mapping, (NY, NX)),
                   weight_map=weight, pixfrac=pixfrac)  # fmt: skip
    covered = driz.out_wht > 0
    core = binary_erosion(covered, iterations=1)
    assert np.array_equal(res.wht > 0, covered)
    np.testing.assert_allclose(res.wht[core], driz.out_wht[core], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(res.data[core], driz.out_img[core], rtol=2e-5, atol=1e-5)
    # each input pixel deposits exactly its weight
    np.testing.assert_allclose(res.wht.sum(dtype=np.float64), weight.sum(dtype=np.float64),
                               rtol=1e-6)  # fmt: skip
