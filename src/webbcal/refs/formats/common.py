"""The standard metadata of every reference file, as FITS keywords and as an ASDF meta tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PATTERN_PATHS", "RefHeader", "header_meta", "meta_tree"]

#: ``P_`` pattern keywords (or'ed values, trailing ``|``) and their metadata paths.
PATTERN_PATHS = {
    "P_EXP_TY": "exposure.p_exptype",
    "P_READPA": "exposure.p_readpatt",
    "P_SUBARR": "subarray.p_subarray",
    "P_FILTER": "instrument.p_filter",
    "P_PUPIL": "instrument.p_pupil",
    "P_DETECT": "instrument.p_detector",
    "P_BAND": "instrument.p_band",
    "P_CHANNE": "instrument.p_channel",
}

#: Metadata paths of the selector and type-specific keywords written in ASDF meta trees.
_ASDF_PATHS = {
    "INSTRUME": "instrument.name", "DETECTOR": "instrument.detector",
    "FILTER": "instrument.filter", "PUPIL": "instrument.pupil",
    "BAND": "instrument.band", "CHANNEL": "instrument.channel",
    "MODULE": "instrument.module", "EXP_TYPE": "exposure.type",
    "READPATT": "exposure.readpatt", "NOUTPUTS": "exposure.noutputs",
    "SUBARRAY": "subarray.name",
    "SUBSTRT1": "subarray.xstart", "SUBSTRT2": "subarray.ystart",
    "SUBSIZE1": "subarray.xsize", "SUBSIZE2": "subarray.ysize",
    "FASTAXIS": "subarray.fastaxis", "SLOWAXIS": "subarray.slowaxis",
    **PATTERN_PATHS,
}  # fmt: skip

#: Metadata paths of the type-specific keywords (RefHeader.keywords).
_KEYWORD_PATHS = {
    "NFRAMES": "exposure.nframes", "NGROUPS": "exposure.ngroups",
    "GROUPGAP": "exposure.groupgap", "NINTS": "exposure.nints",
    "TFRAME": "exposure.frame_time",
    "DRPFRMS1": "exposure.drop_frames1", "AVDRKCUR": "exposure.average_dark_current",
    "PIXAR_SR": "photometry.pixelarea_steradians",
    "PIXAR_A2": "photometry.pixelarea_arcsecsq",
}  # fmt: skip


@dataclass(frozen=True)
class RefHeader:
    """Standard keywords of a reference file plus its selectors and specific keywords.

    Attributes
    ----------
    reftype : str
        Reference type, written upper-case in REFTYPE (``"FLAT"``, ``"PARS-JUMPSTEP"``).
    instrument : str
        INSTRUME.
    model_type : str
        DATAMODL: the official data model class name (``"FlatModel"``).
    description : str
        DESCRIP.
    useafter, pedigree, author, date : str
        USEAFTER (``YYYY-MM-DDThh:mm:ss``), PEDIGREE, AUTHOR and DATE (fixed by the
        builder, so that builds are byte-for-byte reproducible).
    filename : str
        FILENAME: the file's name in the store.
    detector : str or None
        DETECTOR.
    selectors : mapping
        Selection keywords (FILTER, PUPIL, EXP_TYPE, READPATT, SUBARRAY, SUBSTRT1 ...,
        ``P_`` patterns), written in the primary header / ``meta`` tree.
    keywords : mapping
        Type-specific keywords (NFRAMES, NGROUPS, TFRAME, PIXAR_SR ...; FITS files only).
    history : tuple of str
        HISTORY lines (FITS files only).
    """

    reftype: str
    instrument: str
    model_type: str
    description: str
    useafter: str
    pedigree: str
    author: str
    date: str
    filename: str
    detector: str | None = None
    selectors: Mapping[str, Any] = field(default_factory=dict)
    keywords: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    node = tree
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def header_meta(h: RefHeader) -> dict[str, Any]:
    """Metadata path (below ``meta``) -> value of a header, keywords included."""
    flat: dict[str, Any] = {}
    _walk(meta_tree(h), "", flat)
    for key, value in h.keywords.items():
        if value is not None:
            flat[_KEYWORD_PATHS[key]] = value
    return flat


def _walk(tree: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            _walk(value, f"{prefix}{key}.", out)
        else:
            out[f"{prefix}{key}"] = value


def meta_tree(h: RefHeader) -> dict[str, Any]:
    """The ``meta`` tree of a reference file (without its type-specific keywords)."""
    meta: dict[str, Any] = {
        "author": h.author,
        "date": h.date,
        "description": h.description,
        "filename": h.filename,
        "model_type": h.model_type,
        "origin": "webbcal",
        "pedigree": h.pedigree,
        "reftype": h.reftype.upper(),
        "telescope": "JWST",
        "useafter": h.useafter,
    }
    _set(meta, "instrument.name", h.instrument)
    if h.detector is not None:
        _set(meta, "instrument.detector", h.detector)
    for key, value in h.selectors.items():
        if value is not None:
            _set(meta, _ASDF_PATHS[key], value)
    return meta
