"""Embedded writers of the detector reference types (Stage 1, and the flat field)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webbcal.datamodels import dqflags
from webbcal.instruments.subarrays import subarray_names
from webbcal.refs.embedded import properties as props_mod
from webbcal.refs.embedded.headers import (
    MIRI_DARK_NINTS,
    cut,
    full_window,
    header_for,
    props_of,
)
from webbcal.refs.formats import tables, write_fits
from webbcal.refs.rules import NOT_APPLICABLE, rules
from webbcal.refs.store import Entry

__all__ = ["WRITERS"]

_DQ = dqflags.pixel


def _mask(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    flags = ("DO_NOT_USE", "DEAD", "HOT", "WARM", "LOW_QE", "NO_GAIN_VALUE", "REFERENCE_PIXEL")
    header = header_for(entry, "Bad-pixel mask", window=full_window(props))
    write_fits(path, header, {"dq": props.dq}, dq_flags=flags)


def _saturation(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    dq = np.zeros(props.shape, dtype=np.uint32)
    header = header_for(
        entry, "Saturation threshold (raw DN, bias included)", window=full_window(props)
    )
    write_fits(
        path, header, {"data": props.saturation, "dq": dq}, dq_flags=("DO_NOT_USE", "NO_SAT_CHECK")
    )


def _superbias(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    err = np.float32(0.05) * props.readnoise
    dq = np.zeros(props.shape, dtype=np.uint32)
    header = header_for(entry, "Superbias (DN)", window=full_window(props))
    fields = {"data": props.superbias, "err": err, "dq": dq}
    write_fits(path, header, fields, dq_flags=("DO_NOT_USE", "UNRELIABLE_BIAS"))


def _linearity(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    coeffs = props.linearity
    superbias = rules().rule(entry.instrument, "superbias")
    if superbias is None or superbias.is_na({}):
        # no superbias step: the correction is applied to raw DN, pedestal included
        coeffs = props_mod.raw_dn_coefficients(coeffs, props.superbias)
    dq = np.where((props.dq & _DQ["DEAD"]) != 0, _DQ["NO_LIN_CORR"], 0).astype(np.uint32)
    header = header_for(entry, "Linearity correction coefficients", window=full_window(props))
    write_fits(path, header, {"coeffs": coeffs, "dq": dq}, dq_flags=("DO_NOT_USE", "NO_LIN_CORR"))


def _gain(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    write_fits(
        path, header_for(entry, "Gain (e/DN)", window=full_window(props)), {"data": props.gain}
    )


def _readnoise(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    header = header_for(entry, "CDS read noise (DN)", window=full_window(props))
    write_fits(path, header, {"data": props.readnoise})


def _ipc(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    write_fits(path, header_for(entry, "IPC kernel"), {"data": props.ipc_kernel})


def _persat(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    dq = np.zeros(props.shape, dtype=np.uint32)
    header = header_for(entry, "Persistence saturation level (DN)", window=full_window(props))
    write_fits(path, header, {"data": props.persat, "dq": dq}, dq_flags=("DO_NOT_USE",))


def _trapdensity(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    dq = np.zeros(props.shape, dtype=np.uint32)
    header = header_for(entry, "Relative trap density", window=full_window(props))
    write_fits(path, header, {"data": props.trap_density, "dq": dq}, dq_flags=("DO_NOT_USE",))


def _trappars(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    table = np.asarray(props.trappars).astype(np.dtype(tables.TRAPPARS))
    write_fits(path, header_for(entry, "Trap family parameters"), {"trappars_table": table})


def _rscd(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    rows = [
        (sub, readpatt, skip1, skip)
        for sub in subarray_names(entry.instrument, props.detector)
        for readpatt, (skip1, skip) in sorted(props.rscd_group_skip.items())
    ]
    table = tables.table(tables.RSCD_GROUP_SKIP, rows)
    write_fits(path, header_for(entry, "RSCD groups to flag"), {"rscd_group_skip_table": table})


def _dark(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    info = entry.info
    n = int(info["nframes"])
    times = (np.arange(n, dtype=np.float32) + np.float32(info["drop1"] + 1)) * np.float32(
        info["tframe"]
    )
    rate = cut(props.dark_rate, info)
    frames = times[:, None, None] * rate[None]
    dq2 = cut(props.dq, info) & np.uint32(_DQ["HOT"] | _DQ["WARM"])
    dq2 = np.where((dq2 & _DQ["HOT"]) != 0, dq2 | _DQ["DO_NOT_USE"], dq2).astype(np.uint32)
    keywords = {
        "NFRAMES": 1,
        "GROUPGAP": 0,
        "NGROUPS": n,
        "TFRAME": info["tframe"],
        "DRPFRMS1": info["drop1"],
        "AVDRKCUR": float(np.mean(rate)),
    }
    if props.is_miri:
        anomaly = cut(props.reset_anomaly, info)
        k = min(n, anomaly.shape[0])
        frames[:k] += anomaly[:k]
        data = np.broadcast_to(frames, (MIRI_DARK_NINTS, *frames.shape))
        dq = np.broadcast_to(dq2, (MIRI_DARK_NINTS, 1, *dq2.shape))
        keywords["NINTS"] = MIRI_DARK_NINTS
        description = "Dark current per frame (DN), reset anomaly included"
    else:
        data, dq = frames, dq2
        description = "Dark current per frame (DN)"
    header = header_for(entry, description, window=info, keywords=keywords)
    # no ERR array: the dark step does not use it, and it would double the file size
    fields = {"data": data, "dq": dq, "average_dark_current": rate}
    write_fits(path, header, fields, dq_flags=("DO_NOT_USE", "HOT", "WARM"))


def _reset(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    info = entry.info
    n = int(info["nframes"])
    anomaly = cut(props.reset_anomaly, info)
    groups = np.zeros((n, *anomaly.shape[1:]), dtype=np.float32)
    k = min(n, anomaly.shape[0])
    groups[:k] = anomaly[:k]
    data = np.broadcast_to(groups, (MIRI_DARK_NINTS, *groups.shape))
    err = np.broadcast_to(np.float32(0.5), data.shape)
    dq = np.zeros(anomaly.shape[1:], dtype=np.uint32)
    keywords = {"NGROUPS": n, "NINTS": MIRI_DARK_NINTS}
    header = header_for(entry, "Reset anomaly per group (DN)", window=info, keywords=keywords)
    write_fits(path, header, {"data": data, "err": err, "dq": dq}, dq_flags=("DO_NOT_USE",))


def _flat(entry: Entry, path: Path) -> None:
    props = props_of(entry)
    sel = entry.selectors
    pupil = sel.get("PUPIL") if sel.get("PUPIL") != NOT_APPLICABLE else None
    sci, err = props_mod.flat_for(props.instrument, props.detector, sel.get("FILTER"), pupil)
    dead = (props.dq & _DQ["DEAD"]) != 0
    sci = np.where(dead, np.float32(1.0), sci)
    err = np.where(dead, np.float32(0.0), err)
    dq = np.where(dead, _DQ["NO_FLAT_FIELD"] | _DQ["DO_NOT_USE"], 0).astype(np.uint32)
    header = header_for(entry, "Pixel flat field", window=full_window(props))
    write_fits(path, header, {"data": sci, "dq": dq, "err": err}, dq_flags=(
        "DO_NOT_USE", "NO_FLAT_FIELD"))  # fmt: skip


#: reftype -> writer(entry, path).
WRITERS = {
    "mask": _mask,
    "saturation": _saturation,
    "superbias": _superbias,
    "linearity": _linearity,
    "gain": _gain,
    "readnoise": _readnoise,
    "ipc": _ipc,
    "persat": _persat,
    "trapdensity": _trapdensity,
    "trappars": _trappars,
    "rscd": _rscd,
    "dark": _dark,
    "reset": _reset,
    "flat": _flat,
}
