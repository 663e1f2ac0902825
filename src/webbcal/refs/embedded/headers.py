"""Headers and helpers shared by the embedded reference writers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from webbcal.instruments.detectors import get_detector
from webbcal.refs.embedded import properties as props_mod
from webbcal.refs.formats import RefHeader, model_type
from webbcal.refs.rules import NOT_APPLICABLE, rules
from webbcal.refs.store import Entry

__all__ = [
    "BUILDER_VERSION",
    "BUILD_DATE",
    "MIRI_DARK_NINTS",
    "cut",
    "full_window",
    "header_for",
    "props_of",
]

#: Version of the files' content and layout (bumped with the truth recipe or the formats).
BUILDER_VERSION = props_mod.RECIPE_VERSION * 100 + 3  # +1 per change to the embedded files

#: DATE written in every embedded file (fixed: builds are byte-for-byte reproducible).
BUILD_DATE = "2026-01-01T00:00:00"

#: MIRI darks (and resets) hold a first and a later integration.
MIRI_DARK_NINTS = 2

_PATTERN_KEYWORD = {
    "EXP_TYPE": "P_EXP_TY", "READPATT": "P_READPA", "SUBARRAY": "P_SUBARR",
    "FILTER": "P_FILTER", "PUPIL": "P_PUPIL", "DETECTOR": "P_DETECT", "BAND": "P_BAND",
    "CHANNEL": "P_CHANNE",
}  # fmt: skip


def header_for(
    entry: Entry,
    description: str,
    *,
    detector: bool = True,
    window: Mapping[str, int] | None = None,
    keywords: Mapping[str, Any] | None = None,
) -> RefHeader:
    """The RefHeader of an entry: selectors as keywords (or'ed values as ``P_`` patterns)."""
    selectors: dict[str, Any] = {}
    det_name = entry.selectors.get("DETECTOR") if detector else None
    for kw, value in entry.selectors.items():
        if kw == "DETECTOR" or value == NOT_APPLICABLE:
            continue
        text = str(value)
        if "|" in text:
            selectors[_PATTERN_KEYWORD[kw]] = text.rstrip("|") + "|"
            text = text.split("|")[0]
        if kw in ("SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2", "NOUTPUTS"):
            selectors[kw] = int(value)
        else:
            selectors[kw] = text
    if window is not None:
        det = get_detector(entry.instrument, str(det_name))
        selectors.update(
            {
                "SUBARRAY": selectors.get("SUBARRAY", "GENERIC"),
                "SUBSTRT1": window["xstart"],
                "SUBSTRT2": window["ystart"],
                "SUBSIZE1": window["xsize"],
                "SUBSIZE2": window["ysize"],
                "FASTAXIS": det.fastaxis,
                "SLOWAXIS": det.slowaxis,
            }
        )
    r = rules()
    return RefHeader(
        reftype=entry.reftype,
        instrument=entry.instrument,
        model_type=model_type(entry.reftype, entry.instrument),
        description=description,
        useafter=entry.useafter,
        pedigree=r.pedigree,
        author=r.author,
        date=BUILD_DATE,
        filename=entry.name,
        detector=NOT_APPLICABLE if det_name is None else str(det_name),
        selectors=selectors,
        keywords=dict(keywords or {}),
        history=(
            f"webbcal embedded reference set, builder version {BUILDER_VERSION}.",
            "Synthetic: generated deterministically from the truth detector properties",
            "(webbcal.refs.embedded.properties), which the webbcal simulator also uses.",
        ),
    )


def full_window(props: props_mod.DetectorProperties) -> dict[str, int]:
    """The full-frame window (1-based xstart/ystart, xsize/ysize) of a detector."""
    ny, nx = props.shape
    return {"xstart": 1, "ystart": 1, "xsize": nx, "ysize": ny}


def cut(array: np.ndarray, info: Mapping[str, int]) -> np.ndarray:
    """The window ``info`` (1-based xstart/ystart, xsize/ysize) of a full-frame array."""
    y0, x0 = info["ystart"] - 1, info["xstart"] - 1
    return array[..., y0 : y0 + info["ysize"], x0 : x0 + info["xsize"]]


def props_of(entry: Entry) -> props_mod.DetectorProperties:
    """The truth properties of the detector an entry is built for."""
    return props_mod.detector_properties(entry.instrument, str(entry.selectors["DETECTOR"]))
