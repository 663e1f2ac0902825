"""Whole embedded sets: the files ``webbcal refs build`` makes ahead of use.

For each detector, a representative full-frame exposure (the instrument's main imaging
exposure type, its default readout pattern) is run through :func:`webbcal.refs.best_reference`
for every reference type the embedded builder makes, and the flat field for every filter
(with the clear pupil) -- so the set is exactly what selection would build on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from webbcal.instruments._tables import normalize_instrument
from webbcal.instruments.detectors import detectors as instrument_detectors
from webbcal.instruments.detectors import get_detector
from webbcal.instruments.filters import filters as instrument_filters
from webbcal.instruments.filters import get_filter
from webbcal.refs.rules import rules
from webbcal.refs.store import Store

log = logging.getLogger(__name__)

__all__ = ["build_set", "representative_keys"]

#: Exposure type and readout pattern of the representative exposure.
_DEFAULTS = {
    "NIRCAM": ("NRC_IMAGE", "RAPID"),
    "NIRISS": ("NIS_IMAGE", "NISRAPID"),
    "FGS": ("FGS_IMAGE", "FGSRAPID"),
    "MIRI": ("MIR_IMAGE", "FAST"),
    "NIRSPEC": ("NRS_IMAGE", "NRSRAPID"),
}
_MIRI_IFU = {"MIRIFULONG", "MIRIFUSHORT"}


def representative_keys(instrument: str, detector: str) -> dict[str, Any]:
    """Keys of a full-frame, 10-group exposure of the detector, for building its set."""
    det = get_detector(instrument, detector)
    exp_type, readpatt = _DEFAULTS[det.instrument]
    if det.name in _MIRI_IFU:
        exp_type = "MIR_MRS"
    ny, nx = det.shape
    keys: dict[str, Any] = {
        "INSTRUME": det.instrument,
        "DETECTOR": det.name,
        "EXP_TYPE": exp_type,
        "READPATT": readpatt,
        "SUBARRAY": "FULL",
        "SUBSTRT1": 1,
        "SUBSTRT2": 1,
        "SUBSIZE1": nx,
        "SUBSIZE2": ny,
        "NGROUPS": 10,
        "NFRAMES": 1,
        "GROUPGAP": 0,
    }
    if det.instrument != "MIRI":
        keys["NOUTPUTS"] = 4
    return keys


def _filter_keys(instrument: str, detector: str, names: Iterable[str] | None) -> list[dict]:
    """FILTER/PUPIL keys of the clear-pupil imaging configurations of a detector."""
    inst = normalize_instrument(instrument)
    if inst in ("FGS", "NIRSPEC") or detector in _MIRI_IFU:
        return [{}]
    channel = get_detector(inst, detector).channel
    chosen = [f for f in instrument_filters(inst) if inst != "NIRCAM" or f.channel == channel]
    if names is not None:
        wanted = {n.strip().upper() for n in names}
        chosen = [get_filter(inst, n) for n in wanted if n in {f.name for f in chosen}]
    out = []
    for f in chosen:
        if inst == "MIRI":
            out.append({"FILTER": f.name})
        elif f.wheel == "pupil":
            out.append({"FILTER": f.blocking, "PUPIL": f.name})
        else:
            out.append({"FILTER": f.name, "PUPIL": "CLEARP" if inst == "NIRISS" else "CLEAR"})
    return sorted(out, key=lambda k: (k.get("FILTER", ""), k.get("PUPIL", "")))


def build_set(
    instrument: str,
    detectors: Iterable[str] | None = None,
    reftypes: Iterable[str] | None = None,
    filters: Iterable[str] | None = None,
    *,
    store: Store,
) -> list[Path]:
    """Build (or find already built) the embedded files of an instrument.

    Parameters
    ----------
    instrument : str
        INSTRUME value.
    detectors : iterable of str, optional
        Default: all the instrument's detectors.
    reftypes : iterable of str, optional
        Default: every type the embedded builder makes for the instrument.
    filters : iterable of str, optional
        Filters to build flats for (default: all of the detector's imaging filters).
    store : Store
        Where the files go.

    Returns
    -------
    list of Path
        The files, in build order.
    """
    from webbcal.refs import best_reference

    inst = normalize_instrument(instrument)
    dets = (
        [get_detector(inst, d).name for d in detectors]
        if detectors is not None
        else [d.name for d in instrument_detectors(inst)]
    )
    rs = rules()
    types = [t.lower() for t in reftypes] if reftypes is not None else list(rs.reftypes(inst))
    paths: list[Path] = []
    for det in dets:
        base = representative_keys(inst, det)
        variants = _filter_keys(inst, det, filters)
        for reftype in types:
            rule = rs.rule(inst, reftype)
            if rule is None or rule.build is None:
                continue
            per_filter = "FILTER" in rule.build or "PUPIL" in rule.build
            for extra in variants if per_filter else [variants[0]]:
                keys = {**base, **extra}
                if rule.is_na(keys) or not rule.can_build(keys):
                    continue
                path = best_reference(reftype, keys, source="embedded", store=store)
                if path is not None and path not in paths:
                    paths.append(path)
    return paths
