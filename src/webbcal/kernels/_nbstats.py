"""Small numba statistics helpers shared by the detector-correction kernels.

They reproduce the exact arithmetic of the numpy / astropy routines the official
pipeline calls, so that kernels built on them flag the same pixels:

* :func:`median_sorted` is ``np.median`` of sorted values (mean of the two middle values
  for even ``n``, ``(a + b) / 2`` in the input precision), after :func:`network_sort`;
* :func:`astropy_clip_bounds` is astropy's C ``compute_sigma_clipped_bounds`` (median
  centre, population standard deviation about the mean, ``maxiters`` passes);
* :func:`median_branchless` (``np.median``) and :func:`clip_bounds` (astropy's bounds up
  to the summation order of the mean) are faster on long random data: their selection
  is branch-free (:func:`kth_branchless`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from webbcal.kernels._sortnet import UNROLLED_MAXN, unrolled_sort

__all__ = [
    "NET_A",
    "NET_B",
    "NET_MAXN",
    "NET_PTR",
    "astropy_clip_bounds",
    "clip_bounds",
    "kth_branchless",
    "median_branchless",
    "median_sorted",
    "network_sort",
    "shell_sort",
    "sort_nan_last",
]


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Batcher odd-even merge-sort comparators for ``n`` values (i < j, min goes to i).

    Built for the next power of two; comparators touching an index >= ``n`` are dropped,
    which is valid because the missing values act as +inf padding.
    """
    p2 = 1
    while p2 < n:
        p2 *= 2
    pairs = []
    p = 1
    while p < p2:
        k = p
        while k >= 1:
            for j in range(k % p, p2 - k, 2 * k):
                for i in range(min(k, p2 - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def _build_networks(maxn: int):
    ptr = np.zeros(maxn + 2, np.int64)
    pairs: list[tuple[int, int]] = []
    for n in range(maxn + 1):
        ptr[n] = len(pairs)
        pairs += _batcher_pairs(n)
    ptr[maxn + 1] = len(pairs)
    a = np.array([p[0] for p in pairs], np.int64)
    b = np.array([p[1] for p in pairs], np.int64)
    return ptr, a, b


#: Sorting networks for up to ``NET_MAXN`` values: comparators ``NET_PTR[n]:NET_PTR[n+1]``.
NET_MAXN = 48
NET_PTR, NET_A, NET_B = _build_networks(NET_MAXN)


@njit(cache=True, nogil=True, inline="always")
def network_sort(buf, n):
    """Sort the NaN-free ``buf[:n]`` in place, branch-free for ``n <= NET_MAXN``."""
    if n < 2:
        return
    if n <= UNROLLED_MAXN:
        unrolled_sort(buf, n)
        return
    if n > NET_MAXN:
        shell_sort(buf, n)
        return
    for c in range(NET_PTR[n], NET_PTR[n + 1]):
        a = NET_A[c]
        b = NET_B[c]
        x = buf[a]
        y = buf[b]
        lo = x if x < y else y
        hi = y if x < y else x
        buf[a] = lo
        buf[b] = hi


_GAPS = np.array(
    [1, 4, 10, 23, 57, 132, 301, 701, 1750, 4376, 10941, 27353, 68383, 170958], np.int64
)


@njit(cache=True, nogil=True)
def shell_sort(buf, n):
    """Sort the NaN-free ``buf[:n]`` in place (Shell sort, Ciura gaps; quick to compile)."""
    k = 0
    while k + 1 < _GAPS.size and _GAPS[k + 1] < n:
        k += 1
    while k >= 0:
        gap = _GAPS[k]
        for i in range(gap, n):
            v = buf[i]
            j = i
            while j >= gap and buf[j - gap] > v:
                buf[j] = buf[j - gap]
                j -= gap
            buf[j] = v
        k -= 1


@njit(cache=True, nogil=True)
def sort_nan_last(buf, n):
    """Sort ``buf[:n]`` in place with NaNs at the end, as ``np.sort``; returns #non-NaN."""
    m = 0
    for i in range(n):
        v = buf[i]
        if v == v:
            buf[m] = v
            m += 1
    for i in range(m, n):
        buf[i] = np.nan
    network_sort(buf, m)
    return m


@njit(cache=True, nogil=True)
def median_sorted(buf, n):
    """Median of the already sorted ``buf[:n]`` (NaN when ``n == 0``)."""
    if n == 0:
        return np.nan
    h = n // 2
    if n % 2 == 1:
        return buf[h]
    return (buf[h - 1] + buf[h]) / 2


@njit(cache=True, nogil=True)
def _kth_smallest(a, n, k):
    # Wirth's selection, as astropy's wirth_select.c (result independent of order).
    lo = 0
    hi = n - 1
    while lo < hi:
        x = a[k]
        i = lo
        j = hi
        while True:
            while a[i] < x:
                i += 1
            while x < a[j]:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
            if i > j:
                break
        if j < k:
            lo = i
        if k < i:
            hi = j
    return a[k]


@njit(cache=True, nogil=True)
def kth_branchless(a, n, k, s1, s2):
    """k-th smallest (0-based) of the NaN-free ``a[:n]``; ``a`` is left unchanged.

    Quickselect with branch-free three-way partitions (every value is stored to both
    sides, only the counters depend on the comparison), so random data costs no branch
    mispredictions. ``s1`` and ``s2`` are scratch arrays of at least ``n`` values.
    """
    src = a
    cur = s1
    oth = s2
    m = n
    copied = False
    while m > 8:
        x0 = src[0]
        x1 = src[m >> 1]
        x2 = src[m - 1]
        p = max(min(x0, x1), min(max(x0, x1), x2))  # median of three
        lo = 0
        hi = 0
        for i in range(m):
            v = src[i]
            cur[lo] = v  # lo <= i: never overwrites a value still to be read
            lo += v < p
            oth[hi] = v
            hi += v > p
        if k < lo:
            m = lo
        elif k < m - hi:
            return p
        else:
            k -= m - hi
            m = hi
            cur, oth = oth, cur
        src = cur
        copied = True
    if not copied:
        for i in range(m):
            cur[i] = a[i]
    network_sort(cur, m)
    return cur[k]


@njit(cache=True, nogil=True)
def astropy_clip_bounds(buf, n, sigma_lower, sigma_upper, maxiters):
    """Sigma-clipping bounds of ``buf[:n]`` exactly as astropy's fast C path.

    ``buf`` holds finite float64 values and is overwritten. Returns ``(lower, upper)``;
    both NaN when ``n == 0``. ``maxiters < 0`` means no limit.
    """
    if n == 0:
        return np.nan, np.nan
    count = n
    iteration = 0
    lower = np.nan
    upper = np.nan
    while True:
        if count % 2 == 0:
            med = 0.5 * (
                _kth_smallest(buf, count, count // 2) + _kth_smallest(buf, count, count // 2 - 1)
            )
        else:
            med = _kth_smallest(buf, count, (count - 1) // 2)
        std = _std(buf, count)
        lower = med - sigma_lower * std
        upper = med + sigma_upper * std
        new_count = 0
        for i in range(count):
            v = buf[i]
            if v >= lower and v <= upper:
                buf[new_count] = v
                new_count += 1
        if new_count == count or new_count == 0:
            return lower, upper
        count = new_count
        iteration += 1
        if maxiters >= 0 and iteration >= maxiters:
            return lower, upper


@njit(cache=True, nogil=True)
def median_branchless(a, n, s1, s2):
    """``np.median`` of the NaN-free ``a[:n]`` (n >= 1) by :func:`kth_branchless`."""
    h = n // 2
    if n % 2 == 1:
        return kth_branchless(a, n, h, s1, s2)
    lo = kth_branchless(a, n, h - 1, s1, s2)
    # the upper middle value: lo again when more than h values are <= lo
    cnt = 0
    up = np.inf
    for i in range(n):
        v = a[i]
        cnt += v <= lo
        up = v if (v > lo) & (v < up) else up
    hi = lo if cnt > h else up
    return (lo + hi) / 2


@njit(cache=True, nogil=True)
def clip_bounds(buf, n, sigma_lower, sigma_upper, maxiters, s1, s2):
    """:func:`astropy_clip_bounds` with branch-free medians (``s1``, ``s2``: scratch >= n).

    The surviving values keep their order, so the mean and standard deviation are summed
    in data order rather than in astropy's selection order: the bounds can differ from
    astropy's in the last bit, the clipped values practically never.
    """
    if n == 0:
        return np.nan, np.nan
    count = n
    iteration = 0
    lower = np.nan
    upper = np.nan
    total = 0.0
    for i in range(count):
        total += buf[i]
    while True:
        med = median_branchless(buf, count, s1, s2)
        std = _std_about(buf, count, total / count)
        lower = med - sigma_lower * std
        upper = med + sigma_upper * std
        new_count = 0
        total = 0.0  # the survivors' sum, in data order (adding 0.0 leaves it exact)
        for i in range(count):
            v = buf[i]
            buf[new_count] = v
            keep = (v >= lower) & (v <= upper)
            new_count += keep
            total += v if keep else 0.0
        if new_count == count or new_count == 0:
            return lower, upper
        count = new_count
        iteration += 1
        if maxiters >= 0 and iteration >= maxiters:
            return lower, upper


def render_sortnet(maxn: int = 10) -> str:
    """Source of :mod:`webbcal.kernels._sortnet` (unrolled networks for 2..maxn values)."""
    out = [
        f'"""Unrolled sorting networks for 2..{maxn} values (generated; do not edit by hand).',
        "",
        "Each ``_sN`` keeps the values in registers and applies Batcher's odd-even merge-sort",
        "comparators (``webbcal.kernels._nbstats._batcher_pairs``), several times faster than",
        "a loop over a comparator table. They are plain (not numba-inlined) functions and stop",
        "at 10 values to keep compilation short (numba-level inlining of larger networks takes",
        "minutes). Regenerate with ``python -m webbcal.kernels._nbstats``;",
        "``tests/kernels/test_nbstats.py`` checks that this file is up to date.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from numba import njit",
        "",
        f"UNROLLED_MAXN = {maxn}",
    ]
    for n in range(2, maxn + 1):
        out += ["", "", "@njit(cache=True, nogil=True)", f"def _s{n}(b):"]
        out += [f"    v{i} = b[{i}]" for i in range(n)]
        for a, c in _batcher_pairs(n):
            out.append(f"    lo = v{a} if v{a} < v{c} else v{c}")
            out.append(f"    v{c} = v{c} if v{a} < v{c} else v{a}")
            out.append(f"    v{a} = lo")
        out += [f"    b[{i}] = v{i}" for i in range(n)]
    out += [
        "",
        "",
        "@njit(cache=True, nogil=True)",
        "def unrolled_sort(b, n):",
        '    """Sort the NaN-free ``b[:n]`` in place (2 <= n <= UNROLLED_MAXN)."""',
    ]
    for n in range(2, maxn + 1):
        out.append(f"    {'if' if n == 2 else 'elif'} n == {n}:")
        out.append(f"        _s{n}(b)")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    Path(__file__).with_name("_sortnet.py").write_text(render_sortnet())


@njit(cache=True, nogil=True)
def _std(buf, count):
    """Population standard deviation of ``buf[:count]`` (two passes, in data order)."""
    mean = 0.0
    for i in range(count):
        mean += buf[i]
    return _std_about(buf, count, mean / count)


@njit(cache=True, nogil=True)
def _std_about(buf, count, mean):
    """Population standard deviation of ``buf[:count]`` about its ``mean`` (data order)."""
    var = 0.0
    for i in range(count):
        d = buf[i] - mean
        var += d * d
    return math.sqrt(var / count)
