"""Unrolled sorting networks for 2..10 values (generated; do not edit by hand).

Each ``_sN`` keeps the values in registers and applies Batcher's odd-even merge-sort
comparators (``webbcal.kernels._nbstats._batcher_pairs``), several times faster than
a loop over a comparator table. They are plain (not numba-inlined) functions and stop
at 10 values to keep compilation short (numba-level inlining of larger networks takes
minutes). Regenerate with ``python -m webbcal.kernels._nbstats``;
``tests/kernels/test_nbstats.py`` checks that this file is up to date.
"""

from __future__ import annotations

from numba import njit

UNROLLED_MAXN = 10


@njit(cache=True, nogil=True)
def _s2(b):
    v0 = b[0]
    v1 = b[1]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    b[0] = v0
    b[1] = v1


@njit(cache=True, nogil=True)
def _s3(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2


@njit(cache=True, nogil=True)
def _s4(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3


@njit(cache=True, nogil=True)
def _s5(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4


@njit(cache=True, nogil=True)
def _s6(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    v5 = b[5]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v4 if v4 < v5 else v5
    v5 = v5 if v4 < v5 else v4
    v4 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v1 if v1 < v5 else v5
    v5 = v5 if v1 < v5 else v1
    v1 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4
    b[5] = v5


@njit(cache=True, nogil=True)
def _s7(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    v5 = b[5]
    v6 = b[6]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v4 if v4 < v5 else v5
    v5 = v5 if v4 < v5 else v4
    v4 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v4 if v4 < v6 else v6
    v6 = v6 if v4 < v6 else v4
    v4 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v1 if v1 < v5 else v5
    v5 = v5 if v1 < v5 else v1
    v1 = lo
    lo = v2 if v2 < v6 else v6
    v6 = v6 if v2 < v6 else v2
    v2 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4
    b[5] = v5
    b[6] = v6


@njit(cache=True, nogil=True)
def _s8(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    v5 = b[5]
    v6 = b[6]
    v7 = b[7]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v4 if v4 < v5 else v5
    v5 = v5 if v4 < v5 else v4
    v4 = lo
    lo = v6 if v6 < v7 else v7
    v7 = v7 if v6 < v7 else v6
    v6 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v4 if v4 < v6 else v6
    v6 = v6 if v4 < v6 else v4
    v4 = lo
    lo = v5 if v5 < v7 else v7
    v7 = v7 if v5 < v7 else v5
    v5 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v1 if v1 < v5 else v5
    v5 = v5 if v1 < v5 else v1
    v1 = lo
    lo = v2 if v2 < v6 else v6
    v6 = v6 if v2 < v6 else v2
    v2 = lo
    lo = v3 if v3 < v7 else v7
    v7 = v7 if v3 < v7 else v3
    v3 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4
    b[5] = v5
    b[6] = v6
    b[7] = v7


@njit(cache=True, nogil=True)
def _s9(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    v5 = b[5]
    v6 = b[6]
    v7 = b[7]
    v8 = b[8]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v4 if v4 < v5 else v5
    v5 = v5 if v4 < v5 else v4
    v4 = lo
    lo = v6 if v6 < v7 else v7
    v7 = v7 if v6 < v7 else v6
    v6 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v4 if v4 < v6 else v6
    v6 = v6 if v4 < v6 else v4
    v4 = lo
    lo = v5 if v5 < v7 else v7
    v7 = v7 if v5 < v7 else v5
    v5 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v1 if v1 < v5 else v5
    v5 = v5 if v1 < v5 else v1
    v1 = lo
    lo = v2 if v2 < v6 else v6
    v6 = v6 if v2 < v6 else v2
    v2 = lo
    lo = v3 if v3 < v7 else v7
    v7 = v7 if v3 < v7 else v3
    v3 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v8 else v8
    v8 = v8 if v0 < v8 else v0
    v0 = lo
    lo = v4 if v4 < v8 else v8
    v8 = v8 if v4 < v8 else v4
    v4 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v6 if v6 < v8 else v8
    v8 = v8 if v6 < v8 else v6
    v6 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v7 if v7 < v8 else v8
    v8 = v8 if v7 < v8 else v7
    v7 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4
    b[5] = v5
    b[6] = v6
    b[7] = v7
    b[8] = v8


@njit(cache=True, nogil=True)
def _s10(b):
    v0 = b[0]
    v1 = b[1]
    v2 = b[2]
    v3 = b[3]
    v4 = b[4]
    v5 = b[5]
    v6 = b[6]
    v7 = b[7]
    v8 = b[8]
    v9 = b[9]
    lo = v0 if v0 < v1 else v1
    v1 = v1 if v0 < v1 else v0
    v0 = lo
    lo = v2 if v2 < v3 else v3
    v3 = v3 if v2 < v3 else v2
    v2 = lo
    lo = v4 if v4 < v5 else v5
    v5 = v5 if v4 < v5 else v4
    v4 = lo
    lo = v6 if v6 < v7 else v7
    v7 = v7 if v6 < v7 else v6
    v6 = lo
    lo = v8 if v8 < v9 else v9
    v9 = v9 if v8 < v9 else v8
    v8 = lo
    lo = v0 if v0 < v2 else v2
    v2 = v2 if v0 < v2 else v0
    v0 = lo
    lo = v1 if v1 < v3 else v3
    v3 = v3 if v1 < v3 else v1
    v1 = lo
    lo = v4 if v4 < v6 else v6
    v6 = v6 if v4 < v6 else v4
    v4 = lo
    lo = v5 if v5 < v7 else v7
    v7 = v7 if v5 < v7 else v5
    v5 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v4 else v4
    v4 = v4 if v0 < v4 else v0
    v0 = lo
    lo = v1 if v1 < v5 else v5
    v5 = v5 if v1 < v5 else v1
    v1 = lo
    lo = v2 if v2 < v6 else v6
    v6 = v6 if v2 < v6 else v2
    v2 = lo
    lo = v3 if v3 < v7 else v7
    v7 = v7 if v3 < v7 else v3
    v3 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v0 if v0 < v8 else v8
    v8 = v8 if v0 < v8 else v0
    v0 = lo
    lo = v1 if v1 < v9 else v9
    v9 = v9 if v1 < v9 else v1
    v1 = lo
    lo = v4 if v4 < v8 else v8
    v8 = v8 if v4 < v8 else v4
    v4 = lo
    lo = v5 if v5 < v9 else v9
    v9 = v9 if v5 < v9 else v5
    v5 = lo
    lo = v2 if v2 < v4 else v4
    v4 = v4 if v2 < v4 else v2
    v2 = lo
    lo = v3 if v3 < v5 else v5
    v5 = v5 if v3 < v5 else v3
    v3 = lo
    lo = v6 if v6 < v8 else v8
    v8 = v8 if v6 < v8 else v6
    v6 = lo
    lo = v7 if v7 < v9 else v9
    v9 = v9 if v7 < v9 else v7
    v7 = lo
    lo = v1 if v1 < v2 else v2
    v2 = v2 if v1 < v2 else v1
    v1 = lo
    lo = v3 if v3 < v4 else v4
    v4 = v4 if v3 < v4 else v3
    v3 = lo
    lo = v5 if v5 < v6 else v6
    v6 = v6 if v5 < v6 else v5
    v5 = lo
    lo = v7 if v7 < v8 else v8
    v8 = v8 if v7 < v8 else v7
    v7 = lo
    b[0] = v0
    b[1] = v1
    b[2] = v2
    b[3] = v3
    b[4] = v4
    b[5] = v5
    b[6] = v6
    b[7] = v7
    b[8] = v8
    b[9] = v9


@njit(cache=True, nogil=True)
def unrolled_sort(b, n):
    """Sort the NaN-free ``b[:n]`` in place (2 <= n <= UNROLLED_MAXN)."""
    if n == 2:
        _s2(b)
    elif n == 3:
        _s3(b)
    elif n == 4:
        _s4(b)
    elif n == 5:
        _s5(b)
    elif n == 6:
        _s6(b)
    elif n == 7:
        _s7(b)
    elif n == 8:
        _s8(b)
    elif n == 9:
        _s9(b)
    elif n == 10:
        _s10(b)
