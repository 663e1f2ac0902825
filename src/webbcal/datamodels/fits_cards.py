"""FITS header cards as text, formatted as astropy formats them, without its Card objects.

A product header holds a few hundred cards; building each as an ``astropy.io.fits.Card``
and appending it to a ``Header`` costs tens of microseconds (value validation and a
configuration lookup on every property access), about as much as writing a full-frame
array. :func:`card_image` formats the common cards (an 8-character keyword; a bool, integer,
finite float or printable ASCII string value; a printable ASCII comment) directly, in exactly
the layout astropy writes (fixed-format values right-aligned to column 30, strings quoted and
padded to 8 characters, floats as ``repr`` with an upper-case exponent, cut to 20 characters),
and leaves everything else (long strings that need CONTINUE cards, commentary cards, HIERARCH
keywords, values astropy converts) to astropy itself.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

__all__ = ["CARD", "card_image", "cut_image", "end_block", "header_block"]

CARD = 80
_BLOCK = 2880
_KEYWORD = re.compile(r"^[A-Z0-9_-]{1,8}$")
_TEXT = re.compile(r"^[\x20-\x7e]*$")
_COMMENTARY = frozenset({"COMMENT", "HISTORY", "CONTINUE", "END"})


def _fast_value(value: Any) -> str | None:
    """The value field as astropy writes it, or None for a value left to astropy."""
    kind = type(value)
    if kind is bool or kind is np.bool_:
        return f"{'T' if value else 'F':>20}"
    if kind is int or isinstance(value, np.integer):
        return f"{int(value):>20d}"
    if kind is float or kind is np.float64:
        value = float(value)
        if not math.isfinite(value):
            return None
        text = repr(value).replace("e", "E")
        if len(text) > 20:
            at = text.find("E")
            text = text[:20] if at < 0 else text[: 20 - (len(text) - at)] + text[at:]
        return f"{text:>20}"
    if kind is str:
        if not _TEXT.match(value):
            return None
        if value == "":
            return "''"
        quoted = "'{:8}'".format(value.replace("'", "''"))
        return f"{quoted:20}"
    return None


def card_image(keyword: str, value: Any, comment: str = "") -> str | None:
    """The text of a header card (80 characters, or a multiple for a long string).

    Returns None when the card and its comment do not fit in 80 characters and the value is
    not a long string (astropy would cut the comment off, with a warning): the caller
    decides whether to drop the comment or cut it.
    """
    field = None
    if _KEYWORD.match(keyword) and keyword not in _COMMENTARY and _TEXT.match(comment or ""):
        field = _fast_value(value)
    if field is None:
        return _astropy_image(keyword, value, comment)
    text = f"{keyword:8}= {field}" + (f" / {comment}" if comment else "")
    if len(text) <= CARD:
        return f"{text:{CARD}}"
    if isinstance(value, str) and len(field) > CARD - 10:
        return _astropy_image(keyword, value, comment)  # CONTINUE cards
    return None


def _astropy_image(keyword: str, value: Any, comment: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", VerifyWarning)
        try:
            return fits.Card(keyword, value, comment).image
        except VerifyWarning:
            return None


def cut_image(keyword: str, value: Any, comment: str) -> str:
    """The card with its comment cut at 80 characters, as astropy writes a too-long card."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        return fits.Card(keyword, value, comment).image


def end_block(images: list[str]) -> bytes:
    """The header bytes: the cards, END, and blank padding to a multiple of 2880 bytes."""
    text = "".join(images) + f"{'END':{CARD}}"
    text += " " * (-len(text) % _BLOCK)
    return text.encode("ascii")


def header_block(structural: list[tuple[str, Any, str]], images: list[str]) -> bytes:
    """A whole header: the structural cards (formatted here), then the given card images."""
    head = []
    for keyword, value, comment in structural:
        image = card_image(keyword, value, comment)
        if image is None:  # structural cards are short: never happens
            raise ValueError(f"cannot format the structural card {keyword}={value!r}")
        head.append(image)
    return end_block(head + images)
