"""Adding existing reference files (official CRDS files, or one's own) to the local store.

The file's selectors are read from its header (FITS primary header, or the ASDF ``meta``
tree): for each keyword its selection rule matches, the ``P_`` pattern keyword when present
(``P_EXP_TY = 'NRC_IMAGE|NRC_TSIMAGE|'``), else the plain keyword; a missing keyword is N/A.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from webbcal.errors import ReferenceFileError
from webbcal.refs.formats.common import PATTERN_PATHS
from webbcal.refs.keys import SELECTOR_KEYWORDS, keyword_path
from webbcal.refs.rules import NOT_APPLICABLE, rules, useafter_key
from webbcal.refs.store import Entry, Store

__all__ = ["add_reference", "file_selectors"]

_PATTERN_OF = {
    "EXP_TYPE": "P_EXP_TY", "READPATT": "P_READPA", "SUBARRAY": "P_SUBARR",
    "FILTER": "P_FILTER", "PUPIL": "P_PUPIL", "DETECTOR": "P_DETECT", "BAND": "P_BAND",
    "CHANNEL": "P_CHANNE",
}  # fmt: skip


#: FITS keyword -> ``meta`` path, for reading the selectors of ASDF reference files.
_ASDF_PATHS = {
    **{kw: keyword_path(kw) for kw in SELECTOR_KEYWORDS},
    "REFTYPE": "reftype",
    "USEAFTER": "useafter",
    **PATTERN_PATHS,
}


def _get(tree: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(tree, dict):
            return None
        tree = tree.get(part)
    return tree


def _read_header(path: Path) -> dict[str, Any]:
    """FITS keyword -> value of a reference file's primary header (or ASDF ``meta``)."""
    if path.suffix.lower() == ".asdf":
        import asdf

        try:
            with asdf.open(path, lazy_load=True, memmap=False) as af:
                meta = af.tree.get("meta") or {}
                values = {kw: _get(meta, p) for kw, p in _ASDF_PATHS.items()}
        except (OSError, ValueError) as exc:
            raise ReferenceFileError(f"not a readable ASDF file: {exc}", path=path) from None
        return {kw: v for kw, v in values.items() if v is not None}
    from astropy.io import fits

    try:
        header = fits.getheader(path, 0)
    except (OSError, ValueError) as exc:
        raise ReferenceFileError(f"not a readable FITS file: {exc}", path=path) from None
    return {k: header[k] for k in header if k}


def file_selectors(path: str | os.PathLike) -> Entry:
    """The store entry a reference file would get (source ``"added"``).

    Raises
    ------
    ReferenceFileError
        When the file lacks REFTYPE, INSTRUME or USEAFTER, or no rule knows its type.
    """
    path = Path(path)
    header = _read_header(path)
    missing = [k for k in ("REFTYPE", "INSTRUME", "USEAFTER") if not header.get(k)]
    if missing:
        raise ReferenceFileError(
            f"not a reference file: no {', '.join(missing)} keyword", path=path
        )
    reftype = str(header["REFTYPE"]).strip().lower()
    instrument = str(header["INSTRUME"]).strip().upper()
    rule = rules().rule(instrument, reftype)
    if rule is None:
        raise ReferenceFileError(
            f"webbcal has no selection rule for {reftype.upper()} of {instrument}", path=path
        )
    selectors: dict[str, Any] = {}
    for kw in rule.match:
        value = header.get(_PATTERN_OF.get(kw, ""), header.get(kw))
        if isinstance(value, str):
            value = value.strip().rstrip("|").strip().upper()
        selectors[kw] = NOT_APPLICABLE if value in (None, "") else value
    return Entry(
        name=path.name,
        reftype=reftype,
        instrument=instrument,
        selectors=selectors,
        useafter=useafter_key(str(header["USEAFTER"])),
        source="added",
    )


def add_reference(
    path: str | os.PathLike, *, store: Store | None = None, copy: bool = True
) -> Path:
    """Add a reference file to the store (copied, or moved with ``copy=False``).

    Returns
    -------
    Path
        The file's path in the store.
    """
    entry = file_selectors(path)
    st = store if store is not None else Store()
    existing = st.get(entry.name)
    if existing is not None and existing.source == "embedded":
        raise ReferenceFileError(
            f"{entry.name} is the name of an embedded file; rename the file to add", path=path
        )
    return st.add(path, entry, copy=copy)
