"""JWST data-quality bit flags.

``pixel`` holds the 32-bit flags of DQ/PIXELDQ arrays, ``group`` the subset used in the 8-bit
GROUPDQ array of ramps (same values). Each flag is also a module constant
(``dqflags.SATURATED == 2``). Reference files may store their DQ with their own bit layout,
described by a DQ_DEF table; :func:`dq_def_table` builds such a table and the data models
translate to and from the standard bits when they read and write (see ``DataModel``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "DQ_DEF_DTYPE",
    "dq_def_table",
    "dqflags_to_mnemonics",
    "expand_dq",
    "group",
    "interpret_bit_flags",
    "pixel",
    "pixel_mnemonics",
    "squeeze_dq",
]

GOOD = 0
DO_NOT_USE = 1 << 0
SATURATED = 1 << 1
JUMP_DET = 1 << 2
DROPOUT = 1 << 3
OUTLIER = 1 << 4
PERSISTENCE = 1 << 5
AD_FLOOR = 1 << 6
CHARGELOSS = 1 << 7
RESERVED = 1 << 8
NON_SCIENCE = 1 << 9
DEAD = 1 << 10
HOT = 1 << 11
WARM = 1 << 12
LOW_QE = 1 << 13
RC = 1 << 14
TELEGRAPH = 1 << 15
NONLINEAR = 1 << 16
BAD_REF_PIXEL = 1 << 17
NO_FLAT_FIELD = 1 << 18
NO_GAIN_VALUE = 1 << 19
NO_LIN_CORR = 1 << 20
NO_SAT_CHECK = 1 << 21
UNRELIABLE_BIAS = 1 << 22
UNRELIABLE_DARK = 1 << 23
UNRELIABLE_SLOPE = 1 << 24
UNRELIABLE_FLAT = 1 << 25
OPEN = 1 << 26
ADJ_OPEN = 1 << 27
FLUX_ESTIMATED = 1 << 28
MSA_FAILED_OPEN = 1 << 29
OTHER_BAD_PIXEL = 1 << 30
REFERENCE_PIXEL = 1 << 31

pixel: dict[str, int] = {
    "GOOD": GOOD,
    "DO_NOT_USE": DO_NOT_USE,
    "SATURATED": SATURATED,
    "JUMP_DET": JUMP_DET,
    "DROPOUT": DROPOUT,
    "OUTLIER": OUTLIER,
    "PERSISTENCE": PERSISTENCE,
    "AD_FLOOR": AD_FLOOR,
    "CHARGELOSS": CHARGELOSS,
    "RESERVED": RESERVED,
    "NON_SCIENCE": NON_SCIENCE,
    "DEAD": DEAD,
    "HOT": HOT,
    "WARM": WARM,
    "LOW_QE": LOW_QE,
    "RC": RC,
    "TELEGRAPH": TELEGRAPH,
    "NONLINEAR": NONLINEAR,
    "BAD_REF_PIXEL": BAD_REF_PIXEL,
    "NO_FLAT_FIELD": NO_FLAT_FIELD,
    "NO_GAIN_VALUE": NO_GAIN_VALUE,
    "NO_LIN_CORR": NO_LIN_CORR,
    "NO_SAT_CHECK": NO_SAT_CHECK,
    "UNRELIABLE_BIAS": UNRELIABLE_BIAS,
    "UNRELIABLE_DARK": UNRELIABLE_DARK,
    "UNRELIABLE_SLOPE": UNRELIABLE_SLOPE,
    "UNRELIABLE_FLAT": UNRELIABLE_FLAT,
    "OPEN": OPEN,
    "ADJ_OPEN": ADJ_OPEN,
    "FLUX_ESTIMATED": FLUX_ESTIMATED,
    "MSA_FAILED_OPEN": MSA_FAILED_OPEN,
    "OTHER_BAD_PIXEL": OTHER_BAD_PIXEL,
    "REFERENCE_PIXEL": REFERENCE_PIXEL,
}
"""Pixel flags (DQ, PIXELDQ), name -> value."""

group: dict[str, int] = {
    name: pixel[name]
    for name in (
        "GOOD",
        "DO_NOT_USE",
        "SATURATED",
        "JUMP_DET",
        "DROPOUT",
        "PERSISTENCE",
        "AD_FLOOR",
        "CHARGELOSS",
    )
}
"""Group flags (GROUPDQ), name -> value; the same values as the pixel flags."""

DQ_DEF_DTYPE = np.dtype([("BIT", "<i4"), ("VALUE", "<u4"), ("NAME", "S40"), ("DESCRIPTION", "S80")])
"""The columns of a reference file's DQ_DEF table."""

_DESCRIPTIONS = {
    "DO_NOT_USE": "Exclude this pixel from any result",
    "SATURATED": "Reached the saturation level",
    "JUMP_DET": "Cosmic-ray or other jump found in the ramp",
    "DROPOUT": "Values missing from the telemetry",
    "OUTLIER": "Rejected as an outlier between exposures",
    "PERSISTENCE": "Affected by persistence from earlier exposures",
    "AD_FLOOR": "At the bottom of the A/D converter range",
    "CHARGELOSS": "Charge migrated to neighbouring pixels",
    "RESERVED": "Not assigned",
    "NON_SCIENCE": "Outside the light-sensitive science area",
    "DEAD": "No response to light",
    "HOT": "Dark current far above normal",
    "WARM": "Dark current above normal",
    "LOW_QE": "Quantum efficiency well below normal",
    "RC": "Slow (RC) response",
    "TELEGRAPH": "Jumps between discrete signal levels",
    "NONLINEAR": "Response too non-linear to correct",
    "BAD_REF_PIXEL": "Unusable reference pixel",
    "NO_FLAT_FIELD": "No flat-field value available",
    "NO_GAIN_VALUE": "No gain value available",
    "NO_LIN_CORR": "No linearity correction available",
    "NO_SAT_CHECK": "No saturation threshold available",
    "UNRELIABLE_BIAS": "Bias value uncertain",
    "UNRELIABLE_DARK": "Dark value uncertain",
    "UNRELIABLE_SLOPE": "Slope too noisy to trust",
    "UNRELIABLE_FLAT": "Flat-field value uncertain",
    "OPEN": "Open pixel: its charge lands in the neighbours",
    "ADJ_OPEN": "Neighbour of an open pixel",
    "FLUX_ESTIMATED": "Value filled in from the surroundings",
    "MSA_FAILED_OPEN": "Lit by a shutter stuck open",
    "OTHER_BAD_PIXEL": "Bad for another reason",
    "REFERENCE_PIXEL": "Reference pixel (no light)",
}


def pixel_mnemonics() -> tuple[str, ...]:
    """The pixel flag names in bit order (GOOD excluded)."""
    return tuple(n for n in pixel if n != "GOOD")


def dqflags_to_mnemonics(value: int, table: Mapping[str, int] = pixel) -> set[str]:
    """The names of the flags set in ``value``.

    Parameters
    ----------
    value : int
        A DQ value.
    table : dict
        Name -> value map, e.g. :data:`pixel` or :data:`group`.

    Returns
    -------
    set of str
        ``{"DO_NOT_USE", "SATURATED"}`` for 3 with the pixel table; empty for 0.
    """
    value = int(value)
    return {name for name, bit in table.items() if bit and value & bit}


def interpret_bit_flags(
    flags: int | str | Iterable[int | str] | None, table: Mapping[str, int] = pixel
) -> int | None:
    """Turn a flag specification into an integer mask.

    Parameters
    ----------
    flags : int, str, iterable or None
        An integer; a string of names and/or integers joined by ``+`` or ``,`` (e.g.
        ``"DO_NOT_USE+SATURATED"``, ``"1,4"``); a leading ``~`` inverts the result within 32
        bits; an iterable of names/integers; or None (returned as None).
    table : dict
        Name -> value map used to resolve names (case-insensitive).

    Returns
    -------
    int or None
        The combined mask.

    Raises
    ------
    ValueError
        For an unknown flag name.
    """
    if flags is None:
        return None
    if isinstance(flags, (bool, np.bool_)):
        raise ValueError(f"not a DQ flag specification: {flags!r}")
    if isinstance(flags, (int, np.integer)):
        return int(flags)
    invert = False
    if isinstance(flags, str):
        text = flags.strip()
        if text.startswith("~"):
            invert, text = True, text[1:]
        text = text.strip().strip("()")
        parts: Iterable[int | str] = [p for p in re.split(r"[+,|\s]+", text) if p]
    else:
        parts = flags
    upper = {k.upper(): v for k, v in table.items()}
    mask = 0
    for part in parts:
        if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            mask |= int(part)
            continue
        word = str(part).strip()
        if word.lstrip("-").isdigit():
            mask |= int(word)
        elif word.upper() in upper:
            mask |= upper[word.upper()]
        else:
            raise ValueError(f"unknown DQ flag {word!r}; known: {', '.join(table)}")
    return (~mask) & 0xFFFFFFFF if invert else mask


def dq_def_table(names: Iterable[str] | None = None) -> np.ndarray:
    """A DQ_DEF table that stores the named standard flags in compact bits 0, 1, 2 ...

    Parameters
    ----------
    names : iterable of str, optional
        Standard pixel flag names, in the bit order to use. Default: every standard flag at its
        standard bit (an identity mapping).

    Returns
    -------
    numpy.ndarray
        Structured array with :data:`DQ_DEF_DTYPE`.
    """
    if names is None:
        rows = [(int(pixel[n]).bit_length() - 1, pixel[n], n) for n in pixel_mnemonics()]
    else:
        rows = [(i, 1 << i, n.upper()) for i, n in enumerate(names)]
    for _, _, name in rows:
        if name not in pixel:
            raise ValueError(f"unknown DQ flag {name!r}")
    return np.array(
        [(bit, value, name, _DESCRIPTIONS.get(name, "")) for bit, value, name in rows],
        dtype=DQ_DEF_DTYPE,
    )


def _dq_def_pairs(dq_def: np.ndarray) -> list[tuple[int, int]]:
    """``(stored bit value, standard flag value)`` for each row naming a standard flag."""
    pairs = []
    for row in np.asarray(dq_def):
        name = row["NAME"]
        name = (name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)).strip()
        standard = pixel.get(name.upper())
        if standard is None or not standard:
            continue
        pairs.append((int(row["VALUE"]), standard))
    return pairs


def _union(pairs: list[tuple[int, int]]) -> np.uint32:
    mask = 0
    for _, standard in pairs:
        mask |= standard
    return np.uint32(mask)


def expand_dq(stored: np.ndarray, dq_def: np.ndarray) -> np.ndarray:
    """Translate a reference file's stored DQ (bits per DQ_DEF) to standard pixel flags.

    Rows whose NAME is not a standard flag are dropped, as the official models do.
    """
    pairs = _dq_def_pairs(dq_def)
    if all(v == s for v, s in pairs):
        return np.asarray(stored, dtype=np.uint32) & _union(pairs)
    out = np.zeros(np.shape(stored), dtype=np.uint32)
    for value, standard in pairs:
        out[(stored & np.uint32(value)) != 0] |= np.uint32(standard)
    return out


def squeeze_dq(standard: np.ndarray, dq_def: np.ndarray) -> np.ndarray:
    """Inverse of :func:`expand_dq`: standard flags -> the bits described by DQ_DEF."""
    pairs = _dq_def_pairs(dq_def)
    if all(v == s for v, s in pairs):
        return np.asarray(standard, dtype=np.uint32) & _union(pairs)
    out = np.zeros(np.shape(standard), dtype=np.uint32)
    for value, standard_bit in pairs:
        out[(standard & np.uint32(standard_bit)) != 0] |= np.uint32(value)
    return out
