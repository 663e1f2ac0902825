"""Image segmentation and per-segment moments, fast (photutils' detect_sources/SourceCatalog).

* :func:`label_sources` -- pixels of the (convolved) detection image above a per-pixel
  threshold and not masked are grouped into 8- (or 4-) connected segments; segments with
  fewer than ``npixels`` pixels are dropped and the rest labelled 1..N in the order of
  their first pixel (row-major).
* :func:`segment_moments` -- one pass over the labelled pixels accumulates, per segment,
  the area, the flux ``sum(d)``, its variance ``sum(err**2)``, the first and second moments
  of ``d`` (centroid and covariance; the image moments of the data in the segment, negative
  values included), the bounding box and the peak. :func:`shape_parameters` turns the
  central moments into the semimajor/semiminor sigma, orientation and ellipticity.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["MOMENT_COLUMNS", "label_sources", "segment_moments", "shape_parameters"]

#: Columns of :func:`segment_moments`' result.
MOMENT_COLUMNS = (
    "area", "flux", "flux_var", "xcentroid", "ycentroid", "mu20", "mu02", "mu11",
    "xmin", "xmax", "ymin", "ymax", "peak", "xpeak", "ypeak",
)  # fmt: skip


def label_sources(
    detection: np.ndarray,
    threshold: np.ndarray | float,
    bad: np.ndarray,
    npixels: int,
    connectivity: int = 8,
) -> tuple[np.ndarray, int]:
    """Segmentation image (int32, 0 = background) and the number of segments."""
    from scipy.ndimage import label

    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity}")
    above = (detection > threshold) & ~bad
    structure = np.ones((3, 3), bool) if connectivity == 8 else None
    segm, n = label(above, structure=structure)
    if n == 0:
        return segm.astype(np.int32), 0
    sizes = np.bincount(segm.ravel(), minlength=n + 1)
    keep = sizes >= max(1, int(npixels))
    keep[0] = False
    relabel = np.zeros(n + 1, np.int32)
    relabel[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return relabel[segm], int(keep.sum())


@njit(cache=True, nogil=True)
def segment_moments(data, err, segm, nlabels):
    """Per-segment sums and moments; ``(nlabels, len(MOMENT_COLUMNS))`` float64 rows.

    ``err`` may be empty (flux variance NaN). Non-finite data count as 0.
    """
    ny, nx = data.shape
    have_err = err.size > 0
    acc = np.zeros((nlabels, 9))
    box = np.empty((nlabels, 4), np.int64)
    box[:, 0] = nx
    box[:, 1] = -1
    box[:, 2] = ny
    box[:, 3] = -1
    peak = np.full(nlabels, -np.inf)
    ppos = np.zeros((nlabels, 2), np.int64)
    for y in range(ny):
        for x in range(nx):
            lab = segm[y, x]
            if lab <= 0:
                continue
            k = lab - 1
            d = data[y, x]
            if not np.isfinite(d):
                d = 0.0
            a = acc[k]
            a[0] += 1.0
            a[1] += d
            if have_err:
                e = err[y, x]
                if np.isfinite(e):
                    a[2] += e * e
            a[3] += d * x
            a[4] += d * y
            a[5] += d * x * x
            a[6] += d * y * y
            a[7] += d * x * y
            box[k, 0] = min(box[k, 0], x)
            box[k, 1] = max(box[k, 1], x)
            box[k, 2] = min(box[k, 2], y)
            box[k, 3] = max(box[k, 3], y)
            if d > peak[k]:
                peak[k] = d
                ppos[k, 0] = x
                ppos[k, 1] = y
    out = np.full((nlabels, 15), np.nan)
    for k in range(nlabels):
        a = acc[k]
        out[k, 0] = a[0]
        out[k, 1] = a[1]
        out[k, 2] = a[2] if have_err else np.nan
        if a[1] != 0.0:
            cx = a[3] / a[1]
            cy = a[4] / a[1]
            out[k, 3] = cx
            out[k, 4] = cy
            out[k, 5] = a[5] / a[1] - cx * cx
            out[k, 6] = a[6] / a[1] - cy * cy
            out[k, 7] = a[7] / a[1] - cx * cy
        out[k, 8] = box[k, 0]
        out[k, 9] = box[k, 1]
        out[k, 10] = box[k, 2]
        out[k, 11] = box[k, 3]
        out[k, 12] = peak[k]
        out[k, 13] = ppos[k, 0]
        out[k, 14] = ppos[k, 1]
    return out


def shape_parameters(mu20: np.ndarray, mu02: np.ndarray, mu11: np.ndarray):
    """``(semimajor_sigma, semiminor_sigma, orientation [deg], ellipticity)`` from moments.

    The eigenvalues of the covariance ``[[mu20, mu11], [mu11, mu02]]`` give the sigmas; the
    orientation is the angle of the major axis from +x, counter-clockwise, in (-90, 90].
    """
    half_sum = 0.5 * (mu20 + mu02)
    root = np.sqrt((0.5 * (mu20 - mu02)) ** 2 + mu11**2)
    with np.errstate(invalid="ignore"):
        major = np.sqrt(np.clip(half_sum + root, 0.0, None))
        minor = np.sqrt(np.clip(half_sum - root, 0.0, None))
        theta = np.degrees(0.5 * np.arctan2(2.0 * mu11, mu20 - mu02))
        ellipticity = 1.0 - minor / major
    return major, minor, theta, ellipticity
