"""Reference-pixel corrections (the official ``refpix`` step, "median" algorithm).

Near-IR detectors (NIRCam, NIRISS, NIRSpec, FGS), per integration and group, in the
detector frame (the DMS image is flipped/transposed back, see :data:`DMS_TO_DETECTOR`):

1. per amplifier (four 512-column stripes) the 3-sigma clipped means (``scipy.stats.
   sigmaclip``) of the top (rows 2044-2047) and bottom (rows 0-3) reference rows, for
   odd and even columns separately (``odd_even_columns``) or together, excluding
   DO_NOT_USE pixels; top and bottom are averaged (or the one available) and subtracted
   from the amplifier's columns (odd/even separately);
2. with ``use_side_ref_pixels``: a running median over ``side_smoothing_length`` rows
   (reflected at the ends) of the 4 left and the 4 right reference columns, averaged,
   times ``side_gain``, is subtracted from each row.

Subarrays are embedded in a full frame whose reference pixels outside the window are
DO_NOT_USE; with 4 outputs they are corrected as a full frame, with 1 output by a single
(or odd/even) clipped mean of all usable reference pixels (REFERENCE_PIXEL set,
DO_NOT_USE not), skipped when there are none. NIRSpec SUB512/SUB512S/SUB32 use their
first and last 4 columns as reference pixels. The ZEROFRAME is corrected the same way.

MIRI (full frame only): the first group is subtracted, then per group and amplifier
(every 4th column) the clipped means of the left (columns 0-3) and right (1028-1031)
reference columns, odd and even rows separately (``odd_even_rows``), are averaged and
subtracted, and the first group is added back; processing stops at the first group
without usable reference pixels.

Not implemented (the step must refuse them): the SIRS convolution algorithm, NIRSpec
IRS2 readouts and NIRCam multistripe subarrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy import stats

from webbcal.errors import ParameterError
from webbcal.kernels._nbstats import network_sort

__all__ = [
    "DMS_TO_DETECTOR",
    "NRS_EDGELESS_SUBARRAYS",
    "RefpixResult",
    "correct_refpix_miri",
    "correct_refpix_nir",
    "to_detector_frame",
]

#: How each near-IR detector's DMS image maps to its detector frame (last two axes):
#: ``fx`` flip columns, ``fy`` flip rows, ``fxy`` both, ``t`` transpose, ``t180`` transpose
#: then rotate 180 degrees, ``180t`` rotate 180 degrees then transpose.
DMS_TO_DETECTOR = {
    "NRS1": "t", "NRS2": "t180", "NIS": "180t",
    "NRCA1": "fx", "NRCA2": "fy", "NRCA3": "fx", "NRCA4": "fy", "NRCALONG": "fx",
    "NRCB1": "fy", "NRCB2": "fx", "NRCB3": "fy", "NRCB4": "fx", "NRCBLONG": "fy",
    "GUIDER1": "fxy", "GUIDER2": "fx",
}  # fmt: skip

#: NIRSpec subarrays without reference pixels: their outer 4 columns are used instead.
NRS_EDGELESS_SUBARRAYS = ("SUB512", "SUB512S", "SUB32")

_AMP_COLS = ((0, 512), (512, 1024), (1024, 1536), (1536, 2048))
_FULL = 2048


@dataclass(frozen=True)
class RefpixResult:
    """What a reference-pixel correction did.

    ``applied``: a correction was made; ``bad_reference_pixels``: some amplifier or group
    had no usable reference pixels (its correction was left out).
    """

    applied: bool
    bad_reference_pixels: bool


def to_detector_frame(arr: np.ndarray, detector: str) -> np.ndarray:
    """A writable view of ``arr`` (last two axes: a DMS image) in the detector frame."""
    how = DMS_TO_DETECTOR.get(str(detector).upper())
    if how is None:
        raise ParameterError(f"no detector-frame orientation is known for {detector!r}")
    if how == "fx":
        return arr[..., :, ::-1]
    if how == "fy":
        return arr[..., ::-1, :]
    if how == "fxy":
        return arr[..., ::-1, ::-1]
    if how == "t":
        return np.swapaxes(arr, -1, -2)
    if how == "t180":
        return np.swapaxes(arr, -1, -2)[..., ::-1, ::-1]
    return np.swapaxes(arr[..., ::-1, ::-1], -1, -2)  # "180t"


def _clipped_mean(values, dq, dnu):
    """``Dataset.sigma_clip`` of the official code: None when nothing is usable."""
    good = values[(dq & dnu) == 0]
    if good.size == 0:
        return None
    if np.std(good, dtype=np.float64) != 0.0:
        clipped, _, _ = stats.sigmaclip(good, 3.0, 3.0)
        return clipped.mean()
    return good.mean(dtype=np.float64)


def _average_with_none(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return 0.5 * (a + b)


@njit(cache=True, nogil=True)
def _reflect(k, n):
    if k < 0:
        return -k
    if k >= n:
        return 2 * (n - 1) - k
    return k


@njit(cache=True, parallel=True, nogil=True)
def _side_median(group, dq, c0, c1, length, half, dnu, out):
    """Running median over rows ``i - half ... i - half + length - 1`` (reflected ends)."""
    n = group.shape[0]
    for i in prange(n):
        buf = np.empty(length * (c1 - c0), group.dtype)
        m = 0
        nan = False
        for k in range(i - half, i - half + length):
            r = _reflect(k, n)
            for c in range(c0, c1):
                if dq[r, c] & dnu == 0:
                    v = group[r, c]
                    if v != v:
                        nan = True
                    buf[m] = v
                    m += 1
        if m == 0 or nan:
            out[i] = np.nan
            continue
        network_sort(buf, m)
        s = buf
        h = m // 2
        if m % 2 == 1:
            out[i] = s[h]
        else:
            out[i] = (s[h - 1] + s[h]) / np.float32(2.0)


@njit(cache=True, parallel=True, nogil=True)
def _subtract_rows(group, side, gain):
    ny, nx = group.shape
    for y in prange(ny):
        corr = gain * side[y]
        for x in range(nx):
            group[y, x] = np.float64(group[y, x]) - corr


def _nir_fullframe_group(group, dq, odd_even, use_side, length, gain, dnu):
    """Official ``do_fullframe_corrections`` on one detector-frame 2048 x 2048 group."""
    bad = False
    refs = []
    for c0, c1 in _AMP_COLS:
        vals = {}
        for name, rows in (("top", slice(2044, 2048)), ("bottom", slice(0, 4))):
            if odd_even:
                odd = _clipped_mean(group[rows, c0:c1:2], dq[rows, c0:c1:2], dnu)
                even = _clipped_mean(group[rows, c0 + 1 : c1 : 2], dq[rows, c0 + 1 : c1 : 2], dnu)
                bad |= odd is None or even is None
                vals[name] = (odd, even)
            else:
                mean = _clipped_mean(group[rows, c0:c1], dq[rows, c0:c1], dnu)
                bad |= mean is None
                vals[name] = mean
        refs.append(vals)
    for (c0, c1), vals in zip(_AMP_COLS, refs):
        if odd_even:
            odd = _average_with_none(vals["top"][0], vals["bottom"][0])
            even = _average_with_none(vals["top"][1], vals["bottom"][1])
            if odd is not None and even is not None:
                group[:, c0:c1:2] = group[:, c0:c1:2] - odd
                group[:, c0 + 1 : c1 : 2] = group[:, c0 + 1 : c1 : 2] - even
        else:
            sig = _average_with_none(vals["top"], vals["bottom"])
            if sig is not None:
                group[:, c0:c1] = group[:, c0:c1] - sig
    if use_side:
        n = group.shape[0]
        left = np.zeros(n)
        right = np.zeros(n)
        # the official reflection uses the next odd length, its window the given one
        half = (length + 1) // 2 if length % 2 == 0 else length // 2
        _side_median(group, dq, 0, 4, length, half, dnu, left)
        _side_median(group, dq, 2044, 2048, length, half, dnu, right)
        side = np.where(
            np.isnan(left) & np.isnan(right),
            0.0,
            np.where(np.isnan(left), right, np.where(np.isnan(right), left, 0.5 * (left + right))),
        )
        _subtract_rows(group, side, float(gain))
    return bad


def _embedded_dq(pixeldq, y0, x0, edgeless, dnu, refflag):
    ny, nx = pixeldq.shape
    full = np.zeros((_FULL, _FULL), pixeldq.dtype)
    border = pixeldq.dtype.type(dnu | refflag)
    full[0:4, :] = border
    full[_FULL - 4 :, :] = border
    full[4 : _FULL - 4, 0:4] = border
    full[4 : _FULL - 4, _FULL - 4 :] = border
    full[y0 : y0 + ny, x0 : x0 + nx] = pixeldq
    if edgeless:
        full[y0 : y0 + ny, x0 : x0 + 4] |= pixeldq.dtype.type(refflag)
        full[y0 : y0 + ny, x0 + nx - 4 : x0 + nx] |= pixeldq.dtype.type(refflag)
    return full


def correct_refpix_nir(
    data: np.ndarray,
    pixeldq: np.ndarray,
    *,
    detector: str,
    xstart: int = 1,
    ystart: int = 1,
    noutputs: int = 4,
    subarray: str | None = None,
    odd_even_columns: bool = True,
    use_side_ref_pixels: bool = True,
    side_smoothing_length: int = 11,
    side_gain: float = 1.0,
    zeroframe: np.ndarray | None = None,
    do_not_use: int = 1,
    reference_pixel: int = 2147483648,
) -> RefpixResult:
    """Near-IR reference-pixel correction, in place.

    Parameters
    ----------
    data : ndarray, float32, (nints, ngroups, ny, nx)
        Ramps in the DMS orientation, corrected in place.
    pixeldq : ndarray, uint32, (ny, nx)
        PIXELDQ (REFERENCE_PIXEL, DO_NOT_USE); read only.
    detector : str
        DETECTOR, for the DMS -> detector orientation.
    xstart, ystart : int
        SUBSTRT1/SUBSTRT2 (1-based, DMS frame) of the window.
    noutputs : int
        NOUTPUTS; subarrays read by 1 output use the single-mean method.
    subarray : str, optional
        SUBARRAY name (NIRSpec edgeless subarrays get their outer columns as references).
    odd_even_columns, use_side_ref_pixels, side_smoothing_length, side_gain
        The official step parameters.
    zeroframe : ndarray, (nints, ny, nx), optional
        Corrected the same way, keeping zeros (unusable values).
    do_not_use, reference_pixel : int
        DQ flag values.
    """
    if data.ndim != 4 or pixeldq.shape != data.shape[2:]:
        raise ParameterError(f"data {data.shape} and pixeldq {pixeldq.shape} do not match")
    if side_smoothing_length < 1:
        raise ParameterError("side_smoothing_length must be >= 1")
    ny, nx = data.shape[2:]
    y0, x0 = int(ystart) - 1, int(xstart) - 1
    if y0 < 0 or x0 < 0 or y0 + ny > _FULL or x0 + nx > _FULL:
        raise ParameterError(f"window {(ystart, xstart, ny, nx)} does not fit the detector")
    full_frame = (ny, nx) == (_FULL, _FULL)
    edgeless = str(subarray or "").upper() in NRS_EDGELESS_SUBARRAYS and not full_frame
    fulldq = (
        pixeldq
        if full_frame
        else _embedded_dq(pixeldq, y0, x0, edgeless, do_not_use, reference_pixel)
    )
    det_dq = to_detector_frame(fulldq, detector)
    args = (
        det_dq,
        bool(odd_even_columns),
        bool(use_side_ref_pixels),
        int(side_smoothing_length),
        float(side_gain),
        np.uint32(do_not_use),
    )
    single = not full_frame and noutputs != 4
    if single:
        usable = (det_dq & reference_pixel) == reference_pixel
        usable &= (det_dq & do_not_use) != do_not_use
        if not usable.any():
            return RefpixResult(False, True)
    bad = False
    # The official code keeps one group buffer; once a side correction has made it
    # float64, later groups are processed in float64 (then stored as float32).
    wide = False
    cubes = [(data, False)]
    if zeroframe is not None:
        cubes.append((zeroframe[:, np.newaxis], True))
    for cube, is_zero in cubes:
        zeros = cube == 0 if is_zero else None
        for i in range(cube.shape[0]):
            for g in range(cube.shape[1]):
                if full_frame and not wide:
                    group = to_detector_frame(cube[i, g], detector)
                    bad |= _nir_fullframe_group(group, *args)
                    wide = bool(use_side_ref_pixels)
                    continue
                buf = np.zeros((_FULL, _FULL), np.float64 if wide else cube.dtype)
                buf[y0 : y0 + ny, x0 : x0 + nx] = cube[i, g]
                group = to_detector_frame(buf, detector)
                if single:
                    bad |= _single_output_group(group, det_dq, usable, odd_even_columns, do_not_use)
                else:
                    bad |= _nir_fullframe_group(group, *args)
                    wide = bool(use_side_ref_pixels)
                cube[i, g] = buf[y0 : y0 + ny, x0 : x0 + nx]
        if is_zero:
            cube[zeros] = 0.0
    return RefpixResult(True, bool(bad))


def _single_output_group(group, dq, usable, odd_even, dnu):
    """Official ``do_subarray_corrections`` (1 output) on one embedded group."""
    rows, cols = np.nonzero(usable)
    if odd_even:
        even = (cols % 2) == 0
        ev = _clipped_mean(group[rows[even], cols[even]], dq[rows[even], cols[even]], dnu)
        od = _clipped_mean(group[rows[~even], cols[~even]], dq[rows[~even], cols[~even]], dnu)
        if ev is None or od is None:
            return True
        group[:, 0::2] -= ev
        group[:, 1::2] -= od
    else:
        mean = _clipped_mean(group[rows, cols], dq[rows, cols], dnu)
        group -= mean
    return False


_MIRI_SHAPE = (1024, 1032)


def correct_refpix_miri(
    data: np.ndarray, pixeldq: np.ndarray, *, odd_even_rows: bool = True, do_not_use: int = 1
) -> RefpixResult:
    """MIRI full-frame reference-pixel correction, in place (see the module docstring).

    The official step skips MIRI subarrays; anything but a 1024 x 1032 frame is refused.
    """
    if data.ndim != 4 or data.shape[2:] != _MIRI_SHAPE or pixeldq.shape != _MIRI_SHAPE:
        raise ParameterError(
            f"the MIRI reference-pixel correction needs full frames {_MIRI_SHAPE}, got {data.shape}"
        )
    nints, ngroups = data.shape[:2]
    first = np.array(data[:, 0], dtype=np.float64)
    for i in range(nints):
        for g in range(ngroups):  # group by group: no float64 copy of a whole ramp
            data[i, g] = data[i, g] - first[i]
    bad = False
    dnu = do_not_use
    for i in range(nints):
        for g in range(1, ngroups):
            group = data[i, g].copy()
            refs = []
            for amp in range(4):
                vals = {}
                for side, col in (("left", amp), ("right", 1028 + amp)):
                    if odd_even_rows:
                        odd = _clipped_mean(group[0::2, col], pixeldq[0::2, col], dnu)
                        even = _clipped_mean(group[1::2, col], pixeldq[1::2, col], dnu)
                        bad |= odd is None or even is None
                        vals[side] = (odd, even)
                    else:
                        mean = _clipped_mean(group[:, col], pixeldq[:, col], dnu)
                        bad |= mean is None
                        vals[side] = mean
                refs.append(vals)
            if bad:
                break
            for amp, vals in enumerate(refs):
                if odd_even_rows:
                    odd = 0.5 * (vals["left"][0] + vals["right"][0])
                    even = 0.5 * (vals["left"][1] + vals["right"][1])
                    group[0::2, amp::4] = group[0::2, amp::4] - odd
                    group[1::2, amp::4] = group[1::2, amp::4] - even
                else:
                    sig = 0.5 * (vals["left"] + vals["right"])
                    group[:, amp::4] = group[:, amp::4] - sig
            data[i, g] = group
    for i in range(nints):
        for g in range(ngroups):
            data[i, g] += first[i]
    return RefpixResult(True, bool(bad))
