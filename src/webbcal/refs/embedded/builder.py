"""The embedded reference builder: official-format files written from the truth properties.

:func:`plan` turns a selection rule and an exposure's keys into the store :class:`Entry`
of the file the builder makes for it (name, selectors, builder facts such as a dark's
frame count); :func:`build` writes that file into the store with the writer of its type
(:mod:`.detector_refs` for the detector types, :mod:`.imaging_refs` for the imaging ones).
Everything a file holds is a function of its entry, so rebuilding gives the same bytes.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from webbcal.errors import InputError, ReferenceFileError
from webbcal.instruments.detectors import get_detector
from webbcal.instruments.readout import frame_time
from webbcal.refs.embedded import detector_refs, imaging_refs
from webbcal.refs.embedded.headers import BUILDER_VERSION, MIRI_DARK_NINTS
from webbcal.refs.formats import ASDF_REFTYPES
from webbcal.refs.rules import NOT_APPLICABLE, Rule, rules
from webbcal.refs.store import Entry, Store

log = logging.getLogger(__name__)

__all__ = [
    "BUILDER_VERSION",
    "BUILT_REFTYPES",
    "build",
    "dark_frames_needed",
    "plan",
    "suffices",
]

#: Upper bound of a dark's SCI array [bytes]; longer exposures extrapolate the dark
#: linearly from its last two frames, as the official dark step does.
_DARK_MAX_BYTES = 1 << 28


# --------------------------------------------------------------------------- planning
def _file_name(instrument: str, reftype: str, values: list[Any], ext: str) -> str:
    parts = ["webbcal", instrument, reftype, *(str(v) for v in values)]
    slug = "_".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") or "na" for p in parts)
    return f"{slug}.{ext}"


def _frame_time(instrument: str, keys: Mapping[str, Any]) -> float:
    if keys.get("TFRAME"):
        return float(keys["TFRAME"])
    try:
        return float(
            frame_time(
                instrument,
                keys.get("SUBARRAY") or "FULL",
                readpatt=keys.get("READPATT"),
                detector=keys.get("DETECTOR"),
                noutputs=keys.get("NOUTPUTS"),
            )
        )
    except InputError as exc:
        raise ReferenceFileError(
            f"cannot build a {instrument} dark: the exposure has no TFRAME and its frame time "
            f"cannot be derived ({exc})"
        ) from None


def dark_frames_needed(keys: Mapping[str, Any]) -> int:
    """Frames (after the dropped ones) an exposure's integrations last: the dark length."""
    ngroups = int(keys.get("NGROUPS") or 2)
    nframes = int(keys.get("NFRAMES") or 1)
    groupgap = int(keys.get("GROUPGAP") or 0)
    return max(2, ngroups * (nframes + groupgap) - groupgap)


def _window(instrument: str, detector: str, keys: Mapping[str, Any]) -> dict[str, int]:
    """1-based window of the exposure on the detector (full frame when not a subarray)."""
    ny, nx = get_detector(instrument, detector).shape
    name = str(keys.get("SUBARRAY") or "FULL")
    geometry = [keys.get(k) for k in ("SUBSTRT1", "SUBSTRT2", "SUBSIZE1", "SUBSIZE2")]
    if None in geometry:
        if name in ("FULL", "GENERIC"):
            geometry = [1, 1, nx, ny]
        else:
            raise ReferenceFileError(
                f"cannot build a {instrument} {name} reference: the exposure has no "
                "SUBSTRT1/SUBSTRT2/SUBSIZE1/SUBSIZE2"
            )
    x0, y0, xs, ys = (int(v) for v in geometry)
    if x0 < 1 or y0 < 1 or x0 + xs - 1 > nx or y0 + ys - 1 > ny:
        raise ReferenceFileError(
            f"{instrument} {detector} subarray {name} ({x0},{y0} size {xs}x{ys}) does not fit "
            f"in the {nx}x{ny} detector"
        )
    return {"xstart": x0, "ystart": y0, "xsize": xs, "ysize": ys}


def _ramp_info(rule: Rule, keys: Mapping[str, Any], previous: Entry | None) -> dict[str, Any]:
    det = str(keys["DETECTOR"])
    win = _window(rule.instrument, det, keys)
    per_plane = 4 * win["xsize"] * win["ysize"]
    nints = MIRI_DARK_NINTS if rule.instrument == "MIRI" else 1
    cap = max(2, _DARK_MAX_BYTES // (per_plane * nints))
    nframes = min(dark_frames_needed(keys), cap)
    if previous is not None:  # a longer existing file is rebuilt no shorter
        nframes = max(nframes, int(previous.info.get("nframes", 0)))
    return {
        **win,
        "nframes": nframes,
        "tframe": round(_frame_time(rule.instrument, keys), 6),
        "drop1": int(keys.get("DRPFRMS1") or 0),
    }


def plan(rule: Rule, keys: Mapping[str, Any], previous: Entry | None = None) -> Entry:
    """The store entry of the file the builder makes for an exposure with ``keys``.

    ``previous`` is an existing embedded entry of the same file (a dark too short for the
    exposure): the new plan keeps at least its length.

    Raises
    ------
    ReferenceFileError
        When the exposure lacks a keyword the file is built per.
    """
    assert rule.build is not None
    inst = rule.instrument
    missing = [k for k in rule.build if keys.get(k) is None]
    if missing:
        raise ReferenceFileError(
            f"cannot build the embedded {rule.reftype} reference for this {inst} exposure: it "
            f"has no {', '.join(missing)}"
        )
    selectors: dict[str, Any] = {}
    for kw in rule.match:
        if kw in rule.build:
            selectors[kw] = keys[kw]
        else:
            selectors[kw] = "GENERIC" if kw == "SUBARRAY" else NOT_APPLICABLE
    for kw in rule.build:
        selectors[kw] = keys[kw]
    selectors.update(rule.when)
    info = _ramp_info(rule, keys, previous) if rule.reftype in ("dark", "reset") else {}
    ext = "asdf" if rule.reftype in ASDF_REFTYPES else "fits"
    name = _file_name(inst, rule.reftype, [keys[k] for k in rule.build], ext)
    return Entry(
        name=name,
        reftype=rule.reftype,
        instrument=inst,
        selectors=selectors,
        useafter=rules().useafter,
        source="embedded",
        builder=BUILDER_VERSION,
        info=info,
    )


def suffices(entry: Entry, keys: Mapping[str, Any]) -> bool:
    """Whether an embedded entry serves an exposure as it is.

    It must come from the current builder and, for a dark or reset, be long enough and made
    for the exposure's frame time and dropped frames.
    """
    if entry.builder != BUILDER_VERSION:
        return False
    if entry.reftype not in ("dark", "reset"):
        return True
    info = entry.info
    if int(keys.get("DRPFRMS1") or 0) != info.get("drop1", 0):
        return False
    if keys.get("TFRAME") and not math.isclose(float(keys["TFRAME"]), info["tframe"], rel_tol=1e-4):
        return False
    win_size = 4 * info["xsize"] * info["ysize"] * (2 if entry.instrument == "MIRI" else 1)
    cap = max(2, _DARK_MAX_BYTES // win_size)
    return info["nframes"] >= min(dark_frames_needed(keys), cap)


_WRITERS: dict[str, Callable[[Entry, Path], None]] = {
    **detector_refs.WRITERS,
    **imaging_refs.WRITERS,
}

#: Reference types the embedded builder writes.
BUILT_REFTYPES = tuple(_WRITERS)


def build(store: Store, entry: Entry) -> Path:
    """Write ``entry``'s file into ``store`` (atomically; once across processes)."""
    start = time.perf_counter()
    with store.building(entry) as tmp:
        if tmp is not None:
            _WRITERS[entry.reftype](entry, tmp)
            log.info(
                "built embedded %s reference %s (%.1f s)",
                entry.reftype,
                entry.name,
                time.perf_counter() - start,
            )
    return store.path(entry)
