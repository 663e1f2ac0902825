"""Large jump events: NIR snowballs and MIRI showers (stcal ``jump.py``).

Both work plane by plane on the group DQ after the two-point detection:

* **snowballs** (``expand_large_events``): connected (8-neighbour) regions of JUMP_DET
  of at least ``min_jump_area`` pixels are fitted with an ellipse (second moments). A
  region is a snowball when a region of *newly* saturated pixels (this group or the
  next) has its centre inside it, or when it lies within ``edge_size`` of the detector
  edge. Snowballs are redrawn enlarged by ``expand_factor`` and flagged JUMP_DET
  (except where SATURATED); saturated cores wider than ``min_sat_radius_extend`` are
  enlarged by ``sat_expand`` and set SATURATED for the rest of the integration, and
  with ``mask_persist_next_int`` the core is flagged JUMP_DET in the first groups of
  the next integration;
* **showers** (``find_showers``): the SNR of each difference against the median
  difference, with flagged pixels masked, is smoothed by a ring kernel; regions above
  ``extend_snr_threshold`` of at least ``extend_min_area`` pixels are fitted with
  ellipses, enlarged and flagged JUMP_DET over ``groups_masked_after_shower`` groups;
  pixels whose mean difference then changes by more than ``max_shower_amplitude`` (or
  becomes undefined) get their original flags back.

Region properties follow scikit-image's ``regionprops`` (area with holes filled,
centroid, axis lengths ``4 sqrt(eigenvalue)`` of the inertia tensor, orientation) and
ellipses are drawn as ``skimage.draw.ellipse`` does, with numpy/scipy only.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import ndimage, signal

__all__ = ["flag_showers", "flag_snowballs", "region_ellipses"]

_EIGHT = np.ones((3, 3), bool)


def region_ellipses(mask: np.ndarray, min_area: float) -> list[tuple]:
    """Ellipses of the 8-connected regions of ``mask`` whose filled area >= ``min_area``.

    Returns ``[((x_centre, y_centre), (minor - 1, major - 1), angle_deg), ...]`` in label
    (raster) order, as stcal's ``_sk_filter_areas``.
    """
    lab, n = ndimage.label(mask != 0, structure=_EIGHT)
    if n == 0:
        return []
    areas = np.bincount(lab.ravel())[1:]
    out = []
    for k, sl in enumerate(ndimage.find_objects(lab)):
        img = lab[sl] == k + 1
        area = int(areas[k])
        filled = area
        if area < min_area and area >= 8:  # a hole needs a closed ring of >= 8 pixels
            filled = int(ndimage.binary_fill_holes(img, _EIGHT).sum())
        if filled < min_area:
            continue
        rows, cols = np.nonzero(img)
        rc = rows.mean()
        cc = cols.mean()
        fimg = img.astype(np.float64)
        raw = _moments(fimg, (0.0, 0.0))
        mu = _moments(fimg, (raw[1, 0] / raw[0, 0], raw[0, 1] / raw[0, 0]))
        s2 = np.sum(mu[(np.array([2, 0]), np.array([0, 2]))])
        a = (s2 - mu[2, 0]) / mu[0, 0]
        c = (s2 - mu[0, 2]) / mu[0, 0]
        b = -mu[1, 1] / mu[0, 0]
        ev = np.clip(np.linalg.eigvalsh(np.array([[a, b], [b, c]])), 0, None)
        l1, l2 = float(ev.max()), float(ev.min())
        if a - c == 0:
            orient = math.pi / 4.0 if b < 0 else -math.pi / 4.0
        else:
            orient = 0.5 * math.atan2(-2 * b, c - a)
        major, minor = 4 * math.sqrt(l1), 4 * math.sqrt(l2)
        out.append(
            (
                (float(cc + sl[1].start), float(rc + sl[0].start)),
                (minor - 1, major - 1),
                math.degrees(orient),
            )
        )
    return out


def _moments(img, center, order=3):
    """Central moments ``mu[p, q]`` (row power p, column power q), as scikit-image.

    They are computed with one einsum per axis, as scikit-image does, so that symmetric
    regions get bit-identical values (their orientation depends on exact equalities).
    """
    orders = np.arange(order + 1, dtype=np.float64)
    calc = img
    for dim, length in enumerate(img.shape):
        delta = np.arange(length, dtype=np.float64) - center[dim]
        powers = delta[:, np.newaxis] ** orders
        labels = [0, 1]
        labels[dim] = 2
        out = [0, 1]
        out[dim] = 3
        calc = np.einsum(calc, labels, powers, [2, 3], out, optimize="greedy")
    return calc


def _draw_ellipse(shape, r, c, r_radius, c_radius, rotation):
    """Pixel coordinates inside an ellipse, as ``skimage.draw.ellipse``."""
    center = np.array([r, c], dtype=float)
    radii = np.array([r_radius, c_radius], dtype=float)
    rotation %= np.pi
    r_rot = abs(r_radius * np.cos(rotation)) + c_radius * np.sin(rotation)
    c_rot = r_radius * np.sin(rotation) + abs(c_radius * np.cos(rotation))
    radii_rot = np.array([r_rot, c_rot])
    upper_left = np.maximum(np.ceil(center - radii_rot).astype(int), 0)
    lower_right = np.minimum(np.floor(center + radii_rot).astype(int), np.array(shape) - 1)
    shifted = center - upper_left
    bshape = lower_right - upper_left + 1
    rl, cl = np.ogrid[0 : float(bshape[0]), 0 : float(bshape[1])]
    sin_a, cos_a = np.sin(rotation), np.cos(rotation)
    dr, dc = rl - shifted[0], cl - shifted[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = ((dr * cos_a + dc * sin_a) / radii[0]) ** 2 + (
            (dr * sin_a - dc * cos_a) / radii[1]
        ) ** 2
    rr, cc = np.nonzero(dist < 1)
    return rr + upper_left[0], cc + upper_left[1]


def _ellipse_subimage(cx, cy, axis1, axis2, alpha, value, shape):
    """Stcal ``ellipse_subim``: a small filled ellipse and where it goes."""
    xc, yc = round(cx), round(cy)
    half = max(round(axis1 / 2), round(axis2 / 2)) + 2
    ix1 = max(xc - half, 0)
    ix2 = min(xc + half + 1, shape[1])
    iy1 = max(yc - half, 0)
    iy2 = min(yc + half + 1, shape[0])
    image = np.zeros((max(iy2 - iy1, 0), max(ix2 - ix1, 0)), np.uint8)
    ax1, ax2 = round(axis1 / 2), round(axis2 / 2)
    if ax1 != 0 and ax2 != 0 and image.size:
        rr, cc = _draw_ellipse(image.shape, yc - iy1, xc - ix1, ax2, ax1, np.radians(alpha))
        image[rr, cc] = value
    return (iy1, iy2, ix1, ix2), image


def _expanded_axes(ellipse, expansion, max_width):
    h, w = ellipse[1]
    if w < h:
        a1, a2 = h + (expansion - 1.0) * w, w * expansion
    else:
        a1, a2 = h * expansion, w + (expansion - 1.0) * h
    return round(min(a1, max_width) / 2), round(min(a2, max_width) / 2)


def _extend_ellipses(gdq, intg, grp, ellipses, expansion, ngroups_masked, max_width, sat, jump):
    ngroups, nrows, ncols = gdq.shape[1:]
    for e in ellipses:
        ax = _expanded_axes(e, expansion, max_width)
        (iy1, iy2, ix1, ix2), img = _ellipse_subimage(
            e[0][0], e[0][1], ax[0] * 2, ax[1] * 2, e[2], jump, (nrows, ncols)
        )
        for g in range(grp, min(grp + ngroups_masked + 1, ngroups)):
            sub = gdq[intg, g, iy1:iy2, ix1:ix2]
            img[(sub & sat) == sat] = 0
            sub |= img


def _inside(point, ellipse):
    """Stcal ``point_inside_ellipse`` (numpy float semantics for degenerate axes)."""
    ang = np.radians(180 - ellipse[2])
    xc = np.float64(point[0] - ellipse[0][0])
    yc = np.float64(point[1] - ellipse[0][1])
    xct = xc * np.cos(ang) - yc * np.sin(ang)
    yct = xc * np.sin(ang) + yc * np.cos(ang)
    major = np.float64(max(ellipse[1])) * 0.5
    minor = np.float64(min(ellipse[1])) * 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        return bool(xct**2 / major**2 + yct**2 / minor**2 <= 1)


def flag_snowballs(
    gdq: np.ndarray,
    *,
    min_sat_area: float = 1.0,
    min_jump_area: float = 5.0,
    expand_factor: float = 2.0,
    sat_required_snowball: bool = True,
    min_sat_radius_extend: float = 2.5,
    sat_expand: float = 4,
    edge_size: int = 25,
    max_extended_width: float = 400,
    mask_persist_next_int: bool = True,
    persist_groups_flagged: int = 25,
    saturated: int = 2,
    jump_det: int = 4,
) -> int:
    """Flag snowballs in ``gdq`` in place; returns how many were found.

    ``sat_expand`` and ``max_extended_width`` are full-axis lengths (twice the step's
    ``sat_expand`` and ``max_extended_radius``, as the official step passes them).
    """
    nints, ngroups, nrows, ncols = gdq.shape
    sat = np.uint8(saturated)
    jump = np.uint8(jump_det)
    persist = np.zeros((nints, nrows, ncols), np.uint8)
    low, high = edge_size, max(0, nrows - edge_size)
    total = 0
    for i in range(nints):
        next_new = np.zeros((nrows, ncols), bool)
        for g in range(1, ngroups):
            cur = (gdq[i, g] & sat) != 0
            new = cur & ((gdq[i, g - 1] & sat) == 0)
            if g < ngroups - 1:
                next_new = ((gdq[i, g + 1] & sat) != 0) & ~cur
            next_sat = region_ellipses(next_new, min_sat_area)
            sat_ell = region_ellipses(new, min_sat_area)
            jumps = region_ellipses(gdq[i, g] & jump, min_jump_area)
            if sat_required_snowball:
                snowballs = []
                for jp in jumps:
                    c = jp[0]
                    if c[0] < low or c[1] < low or c[0] > high or c[1] > high:
                        snowballs.append(jp)
                        continue
                    if any(_inside(s[0], jp) for s in sat_ell) and jp not in snowballs:
                        snowballs.append(jp)
                    if (
                        g < ngroups - 1
                        and jp not in snowballs
                        and any(_inside(s[0], jp) for s in next_sat)
                    ):
                        snowballs.append(jp)
                _extend_saturation(
                    gdq[i],
                    g,
                    sat_ell,
                    min_sat_radius_extend,
                    sat_expand,
                    max_extended_width,
                    persist[i],
                    sat,
                    jump,
                )
            else:
                snowballs = jumps
            total += len(snowballs)
            _extend_ellipses(gdq, i, g, snowballs, expand_factor, 0, max_extended_width, sat, jump)
    if mask_persist_next_int and persist_groups_flagged >= 1:
        last = min(persist_groups_flagged, ngroups)
        for i in range(1, nints):
            gdq[i, 1:last] |= persist[i - 1]
    return total


def _extend_saturation(
    cube, grp, sat_ellipses, min_radius, sat_expand, max_width, persist, sat, jump
):
    nrows, ncols = cube.shape[1:]
    for e in sat_ellipses:
        if min(e[1]) <= min_radius:
            continue
        a1 = min(e[1][0] + sat_expand, max_width)
        a2 = min(e[1][1] + sat_expand, max_width)
        (iy1, iy2, ix1, ix2), img = _ellipse_subimage(
            e[0][0], e[0][1], a1, a2, e[2], 22, (nrows, ncols)
        )
        core = img == 22
        for g in range(grp, cube.shape[0]):
            cube[g, iy1:iy2, ix1:ix2][core] = sat
        (iy1, iy2, ix1, ix2), img = _ellipse_subimage(
            e[0][0], e[0][1], e[1][0], e[1][1], e[2], 22, (nrows, ncols)
        )
        persist[iy1:iy2, ix1:ix2][img == 22] = jump


def _convolve_nan(arr, kernel):
    """Convolution ignoring NaNs (renormalised), NaN where the input was NaN (stcal)."""
    good = np.isfinite(arr)
    work = np.where(good, arr, 0.0)
    conv = signal.oaconvolve(work, kernel, mode="same")
    n = kernel.shape[0] // 2
    padded = np.ones((good.shape[0] + kernel.shape[0] - 1, good.shape[1] + kernel.shape[1] - 1))
    padded[n:-n, n:-n] = good
    norm = signal.oaconvolve(padded, kernel, mode="valid")
    good &= norm > 1e-3 * np.mean(kernel)
    conv /= norm
    conv[~good] = np.nan
    return conv


def flag_showers(
    data: np.ndarray,
    gdq: np.ndarray,
    pixeldq: np.ndarray,
    gain: np.ndarray,
    readnoise: np.ndarray,
    *,
    nframes: int = 1,
    nan_flagged: bool = True,
    extend_snr_threshold: float = 1.2,
    extend_min_area: int = 90,
    extend_inner_radius: float = 1.0,
    extend_outer_radius: float = 2.6,
    extend_ellipse_expand_ratio: float = 1.1,
    groups_masked_after_shower: int = 5,
    max_shower_amplitude: float = 6.0,
    max_extended_width: float = 400,
    minimum_sigclip_groups: int = 100,
    do_not_use: int = 1,
    saturated: int = 2,
    jump_det: int = 4,
    reference_pixel: int = 2147483648,
    min_diffs_for_shower: int = 10,
) -> int:
    """Flag MIRI showers in ``gdq`` in place; returns how many were found.

    ``data`` (DN) and ``readnoise`` (DN) are converted to electrons with ``gain``; with
    ``nan_flagged`` the DO_NOT_USE / SATURATED groups are excluded first, as after the
    official two-point pass.
    """
    from astropy.convolution import Ring2DKernel
    from astropy.stats import sigma_clipped_stats

    nints, ngrps, _nrows, _ncols = gdq.shape
    dnu, sat, jump = np.uint8(do_not_use), np.uint8(saturated), np.uint8(jump_det)
    indata = (data * gain).astype(np.float32)
    if nan_flagged:
        indata[(gdq & (dnu | sat)) != 0] = np.nan
    ingdq = gdq.copy()
    work = gdq.copy()
    all_dnu = np.all(work & dnu, axis=(2, 3))
    if nints * (ngrps - 1) - int(all_dnu.sum()) < min_diffs_for_shower:
        return 0
    d = indata.copy()
    for bad in (jump | dnu, sat | dnu, sat, jump, dnu):
        d[work == bad] = np.nan
    refy, refx = np.nonzero(pixeldq == reference_pixel)
    work[:, :, refy, refx] = dnu
    fd = np.diff(d, axis=1)
    rn_e = (readnoise * gain).astype(np.float32)
    kernel = Ring2DKernel(extend_inner_radius, extend_outer_radius).array
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if nints >= minimum_sigclip_groups:
            _, med, std = sigma_clipped_stats(fd, sigma=5, axis=0)
        else:
            med_all = np.nanmedian(fd, axis=(0, 1))
            sig_all = np.sqrt(np.abs(med_all) + rn_e**2 / nframes)
        for i in range(nints):
            planes_dnu = np.all(work[i] & dnu, axis=(1, 2))
            first_good = int(np.argmin(planes_dnu)) if not planes_dnu.all() else 0
            for g in range(first_good + 1, ngrps):
                if nints >= minimum_sigclip_groups:
                    ratio = np.abs(fd[i, g - 1] - med[g - 1]) / std[g - 1]
                else:
                    ratio = np.abs(fd[i, g - 1] - med_all) / sig_all
                masked = np.array(ratio, copy=True)
                masked[((work[i, g] | pixeldq) & (jump | sat | dnu)) != 0] = np.nan
                smooth = _convolve_nan(masked, kernel)
                ell = region_ellipses(
                    (smooth > extend_snr_threshold).astype(np.uint8), extend_min_area
                )
                if ell:
                    found.append((i, g, ell))
    total = 0
    for i, g, ell in found:
        total += len(ell)
        _extend_ellipses(
            work,
            i,
            g,
            ell,
            extend_ellipse_expand_ratio,
            groups_masked_after_shower,
            max_extended_width,
            sat,
            jump,
        )
    invalid = dnu | sat | jump
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(nints):
            before = np.where((ingdq[i] & invalid) != 0, np.nan, indata[i])
            after = np.where((work[i] & invalid) != 0, np.nan, indata[i])
            change = np.abs(
                np.nanmean(np.diff(before, axis=0), axis=0)
                - np.nanmean(np.diff(after, axis=0), axis=0)
            )
            revert = ~np.isfinite(change) | (change > max_shower_amplitude)
            work[i][:, revert] = ingdq[i][:, revert]
    gdq[...] = work
    return total
