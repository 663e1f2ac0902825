"""Fast parsing of FITS header cards into (keyword, value, comment); writing: :mod:`.fits_cards`.

astropy parses a card's value lazily, and each value costs tens of microseconds (its
configuration is read for every card): the hundreds of keywords of a JWST header made
opening a reference file cost ~10 ms. :func:`parse_header` reads the ordinary cards of a
header block itself, with the values astropy gives them (strings without trailing
blanks, ``''`` unescaped; ``T``/``F``; ``int``; ``float``, with ``D`` exponents;
:data:`astropy.io.fits.card.UNDEFINED` for an empty value; commentary text with its
leading blanks), and leaves every other card to astropy: long strings continued by
``CONTINUE`` cards, ``HIERARCH`` keywords, complex values and anything non-standard.
:func:`scan_hdus` finds where the HDUs of an uncompressed file lie by reading their
headers only (what astropy's ``fileinfo`` gives, without formatting every card again).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from astropy.io import fits

from ..errors import InputError

__all__ = ["HduSpan", "parse_header", "scan_hdus"]

_CARD = 80
_COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})
_KEYWORD = re.compile(r"[A-Z0-9_-]*\Z")
_STRING = re.compile(r" *'((?:[^']|'')*)' *(?:/(.*))?\Z")
_OTHER = re.compile(r"([^/']*)(?:/(.*))?\Z")
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][+-]?\d+)?\Z")


def parse_header(raw: bytes) -> list[tuple[str, Any, str]]:
    """The cards of a header (its 2880-byte blocks, up to ``END``) in file order.

    Parameters
    ----------
    raw : bytes
        The header's bytes (ASCII); cards after ``END`` are ignored.

    Returns
    -------
    list of (str, object, str)
        Keyword, value and comment of each card, as astropy's ``Card`` gives them.
    """
    text = raw.decode("ascii", "replace")
    images = [text[k : k + _CARD] for k in range(0, len(text) - _CARD + 1, _CARD)]
    cards: list[tuple[str, Any, str]] = []
    k = 0
    while k < len(images):
        image = images[k]
        keyword = image[:8].rstrip()
        if keyword == "END" and not image[8:].strip():
            break
        k += 1
        parsed = _parse(keyword, image)
        if parsed is _LONG:  # a long string: this card and its CONTINUE cards, by astropy
            while k < len(images) and images[k].startswith("CONTINUE"):
                image += images[k]
                k += 1
            parsed = None
        if parsed is None:
            card = fits.Card.fromstring(image)
            parsed = (card.keyword, card.value, card.comment)
        cards.append(parsed)
    return cards


#: What :func:`_parse` says of a string value continued on the next cards.
_LONG = ("", None, "")


def _parse(keyword: str, image: str) -> tuple[str, Any, str] | None:
    """One card, or None for astropy (or :data:`_LONG`)."""
    if not _KEYWORD.match(keyword):
        return None
    if keyword in _COMMENTARY:
        if image[8:10] == "= " and keyword:
            return None
        return (keyword, image[8:].rstrip(), "")
    if image[8:10] != "= ":
        return None
    field = image[10:]
    string = _STRING.match(field)
    if string is not None:
        value = string.group(1).replace("''", "'").rstrip()
        if value.endswith("&"):
            return _LONG
        return (keyword, value, _comment(string.group(2)))
    other = _OTHER.match(field)
    if other is None:
        return None
    text = other.group(1).strip()
    if text == "T" or text == "F":
        value: Any = text == "T"
    elif not text:
        value = fits.card.UNDEFINED
    elif _INT.match(text):
        value = int(text)
    elif _FLOAT.match(text):
        value = float(text.replace("D", "E").replace("d", "e"))
    else:
        return None
    return (keyword, value, _comment(other.group(2)))


def _comment(text: str | None) -> str:
    return "" if text is None else text.strip()


# ---------------------------------------------------------------------------------------
# where the HDUs of a file lie

_BLOCK = 2880


@dataclass(frozen=True)
class HduSpan:
    """An HDU of a FITS file: where its header and data lie, and its header's cards.

    Attributes
    ----------
    header_start, data_start : int
        Byte offsets of the header and of the data.
    data_size : int
        Bytes of data (heap included), without the padding to a block.
    cards : list of (str, object, str)
        The header's cards (:func:`parse_header`).
    values : dict
        Keyword -> value of the first card of each keyword.
    """

    header_start: int
    data_start: int
    data_size: int
    cards: list[tuple[str, Any, str]]
    values: dict[str, Any]

    @property
    def end(self) -> int:
        """Byte offset after the data and their padding."""
        return self.data_start + -(-self.data_size // _BLOCK) * _BLOCK


def scan_hdus(path: Path) -> list[HduSpan]:
    """The HDUs of an uncompressed FITS file, reading their headers only.

    Raises
    ------
    InputError
        The file ends inside an HDU (header or data), or holds unreadable bytes after
        its last HDU.
    """
    size = os.path.getsize(path)
    spans: list[HduSpan] = []
    with open(path, "rb") as f:
        start = 0
        while start < size:
            f.seek(start)
            first = f.read(_BLOCK)
            if spans and not first.startswith(b"XTENSION"):
                if first.strip(b"\0 "):
                    raise InputError(
                        f"corrupt FITS file: unreadable bytes after HDU {len(spans) - 1} (a "
                        "truncated extension header?); re-download or re-create it",
                        path=path,
                    )
                break
            blocks = [first]
            while not _has_end(blocks[-1]):
                block = f.read(_BLOCK)
                if len(block) < _BLOCK:
                    raise InputError(
                        f"corrupt FITS file: the header of HDU {len(spans)} has no END card "
                        "(a truncated extension header?); re-download or re-create it",
                        path=path,
                    )
                blocks.append(block)
            cards = parse_header(b"".join(blocks))
            values: dict[str, Any] = {}
            for keyword, value, _ in cards:
                values.setdefault(keyword, value)
            span = HduSpan(start, start + _BLOCK * len(blocks), _data_size(values), cards, values)
            if span.end > size:
                raise InputError(
                    f"truncated FITS file: {size} bytes, but HDU {len(spans)} ends at byte "
                    f"{span.end}; re-download or re-create it",
                    path=path,
                )
            spans.append(span)
            start = span.end
    return spans


def _has_end(block: bytes) -> bool:
    """Whether a header block holds the END card."""
    return any(block[k : k + 8] == b"END     " for k in range(0, len(block), _CARD))


def _data_size(values: dict[str, Any]) -> int:
    """Bytes of an HDU's data (FITS standard 4.0, section 4.4.1)."""
    naxis = int(values.get("NAXIS", 0) or 0)
    if naxis == 0:
        return 0
    axes = [int(values.get(f"NAXIS{k}", 0) or 0) for k in range(1, naxis + 1)]
    if axes[0] == 0 and values.get("GROUPS") is True:  # random groups
        axes = axes[1:]
    count = math.prod(axes)
    bits = abs(int(values.get("BITPIX", 8)))
    return bits // 8 * int(values.get("GCOUNT", 1)) * (int(values.get("PCOUNT", 0)) + count)
