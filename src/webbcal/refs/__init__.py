"""Reference files: selection rules, the local store, the embedded builder, CRDS caches.

Steps ask :func:`best_reference` for the file of a reference type that applies to an
exposure. By default the answer comes from the **embedded** set: the selection rules of
``rules.yaml`` (CRDS-rmap-like Match + UseAfter) over the files of the local store
(``$WEBBCAL_REFS``, default ``~/.cache/webbcal/refs``); a missing embedded file is built on
first use, deterministically, from the truth detector properties the simulator also uses.
When ``CRDS_PATH`` is set and the ``crds`` package is installed, selection goes through
``crds`` offline instead (a real local CRDS cache); ``WEBBCAL_REFS_SOURCE=embedded|crds``
or ``source=`` forces one.

Reading: FITS references open with :func:`webbcal.datamodels.open` (the table types are
declared in :mod:`webbcal.refs.formats.models`, registered when this package is imported);
ASDF ones (distortion, filteroffset, abvegaoffset, ``pars-*``) with :func:`read_reference`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from webbcal.errors import ReferenceFileError
from webbcal.refs.crds_source import crds_available, crds_best_reference
from webbcal.refs.embedded import builder
from webbcal.refs.formats import read_reference
from webbcal.refs.keys import exposure_datetime, exposure_keys
from webbcal.refs.rules import Candidate, Rule, choose, rules
from webbcal.refs.store import Store, default_root

log = logging.getLogger(__name__)

__all__ = [
    "ReferenceFileError",
    "Store",
    "best_reference",
    "best_references",
    "build_references",
    "cutout",
    "read_reference",
    "reftypes_for",
]

_SOURCES = ("embedded", "crds")
_stores: dict[Path, Store] = {}


def _store(store: Store | None) -> Store:
    if store is not None:
        return store
    root = default_root()
    if root not in _stores:
        _stores[root] = Store(root)
    return _stores[root]


def _source(source: str | None) -> str:
    chosen = source or os.environ.get("WEBBCAL_REFS_SOURCE")
    if chosen is None:
        return "crds" if crds_available() else "embedded"
    chosen = chosen.strip().lower()
    if chosen not in _SOURCES:
        raise ReferenceFileError(
            f"unknown reference source {chosen!r}; expected one of {', '.join(_SOURCES)}"
        )
    if chosen == "crds" and not crds_available():
        raise ReferenceFileError(
            "the CRDS source needs CRDS_PATH set to a local CRDS cache and the crds package "
            "installed (pip install crds)"
        )
    return chosen


def _describe(keys: Mapping[str, Any]) -> str:
    shown = ("INSTRUME", "DETECTOR", "EXP_TYPE", "FILTER", "PUPIL", "READPATT", "SUBARRAY")
    parts = [f"{k}={keys[k]}" for k in shown if keys.get(k) is not None]
    when = exposure_datetime(keys)
    if when:
        parts.append(f"DATE-OBS={when}")
    return ", ".join(parts) or "no keys"


def _error(reftype: str, keys: Mapping[str, Any], why: str) -> ReferenceFileError:
    inst = keys.get("INSTRUME", "<instrument>")
    return ReferenceFileError(
        f"no {reftype.upper()} reference for the exposure ({_describe(keys)}): {why}. "
        f"Pass --override_{reftype.lower()}=FILE, add a file with `webbcal refs add FILE`, "
        f"or run `webbcal refs build --instrument {inst}`"
    )


def _rule(reftype: str, keys: Mapping[str, Any]) -> Rule:
    inst = keys.get("INSTRUME")
    if inst is None:
        raise _error(reftype, keys, "the exposure has no INSTRUME")
    rule = rules().rule(str(inst), reftype)
    if rule is None:
        raise _error(reftype, keys, f"webbcal has no selection rule for it on {inst}")
    return rule


def _embedded(reftype: str, keys: Mapping[str, Any], store: Store, build: bool) -> Path | None:
    rule = _rule(reftype, keys)
    if rule.is_na(keys):
        return None
    match = rule.match + tuple(k for k in rule.when if k not in rule.match)
    entries = {e.name: e for e in store.entries(rule.instrument, rule.reftype)}
    candidates = [Candidate(e.name, e.selectors, e.useafter) for e in entries.values()]
    when = exposure_datetime(keys)
    chosen, why = choose(candidates, keys, match, when)
    if chosen is not None:
        entry = entries[chosen.name]
        path = store.path(entry)
        if entry.source != "embedded":
            if not path.is_file():
                raise _error(reftype, keys, f"{entry.name} is in the store manifest but missing")
            return path
        if path.is_file() and builder.suffices(entry, keys):
            return path
        if build and rule.can_build(keys):
            return builder.build(store, builder.plan(rule, keys, previous=entry))
        raise _error(reftype, keys, f"the embedded file {entry.name} must be rebuilt")
    if rule.reftype.startswith("pars-"):
        return None  # no parameter reference applies: the class defaults do
    if not rule.can_build(keys):
        if rule.build is None:
            why = "the embedded set does not provide this type; it must come from the store"
        else:
            why = f"the embedded set builds it only for {_patterns(rule.when)}"
        raise _error(reftype, keys, why)
    if not build:
        raise _error(reftype, keys, "it is not built yet")
    entry = builder.plan(rule, keys)
    if when is not None and choose([Candidate(entry.name, entry.selectors, entry.useafter)],
                                   keys, match, when)[0] is None:  # fmt: skip
        raise _error(reftype, keys, f"the exposure date precedes USEAFTER {entry.useafter}")
    return builder.build(store, entry)


def _patterns(patterns: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in patterns.items())


def best_reference(
    reftype: str,
    model_or_header: Any,
    *,
    source: str | None = None,
    store: Store | None = None,
    build: bool = True,
) -> Path | None:
    """The reference file of ``reftype`` for an exposure (None: the type does not apply).

    Parameters
    ----------
    reftype : str
        Reference type, e.g. ``"dark"``, ``"flat"``, ``"pars-jumpstep"`` (any case).
    model_or_header : data model, FITS header, mapping or path
        The exposure (see :func:`webbcal.refs.keys.exposure_keys`).
    source : {"embedded", "crds"}, optional
        Default: ``$WEBBCAL_REFS_SOURCE``, else ``"crds"`` when a CRDS cache is usable
        (``CRDS_PATH`` set and ``crds`` installed), else ``"embedded"``.
    store : Store, optional
        The embedded store (default: ``$WEBBCAL_REFS``).
    build : bool
        Build a missing embedded file (default True).

    Raises
    ------
    ReferenceFileError
        No file can be selected; the message names the type, the exposure's keys and how
        to fix it (``--override_<reftype>=FILE`` or ``webbcal refs build``).
    """
    keys = exposure_keys(model_or_header)
    if _source(source) == "crds":
        return crds_best_reference(reftype, keys)
    return _embedded(reftype.lower(), keys, _store(store), build)


def reftypes_for(model_or_header: Any) -> tuple[str, ...]:
    """The reference types the rules know for the exposure's instrument (no ``pars-*``)."""
    keys = exposure_keys(model_or_header)
    return rules().reftypes(str(keys.get("INSTRUME", "")))


def best_references(
    model_or_header: Any,
    reftypes: Iterable[str] | None = None,
    *,
    source: str | None = None,
    store: Store | None = None,
) -> dict[str, Path | None]:
    """:func:`best_reference` of every type (default: :func:`reftypes_for` the exposure)."""
    keys = exposure_keys(model_or_header)
    types = tuple(reftypes) if reftypes is not None else reftypes_for(keys)
    return {rt: best_reference(rt, keys, source=source, store=store) for rt in types}


def cutout(ref_array: np.ndarray, model: Any, ref: Any = None) -> np.ndarray:
    """The part of a reference array that covers an exposure's (sub)array.

    Parameters
    ----------
    ref_array : ndarray
        Reference data, ``(..., ny, nx)``: full frame, or the window given by ``ref``.
    model : data model, header or mapping
        The exposure; its SUBSTRT1/SUBSTRT2 (1-based) and SUBSIZE1/SUBSIZE2 place it.
    ref : data model, header or mapping, optional
        The reference file's own window (SUBSTRT1/2), when it is not full frame.

    Returns
    -------
    ndarray
        ``ref_array`` itself when its shape already is the exposure's, else a view.

    Raises
    ------
    ReferenceFileError
        When the exposure's window does not lie inside the reference array.
    """
    keys = exposure_keys(model)
    ny, nx = ref_array.shape[-2:]
    size = (keys.get("SUBSIZE2"), keys.get("SUBSIZE1"))
    if None in size or size == (ny, nx):
        if None in size and keys.get("SUBARRAY") not in (None, "FULL", "GENERIC"):
            raise ReferenceFileError(
                f"the {keys['SUBARRAY']} exposure has no SUBSIZE1/SUBSIZE2 to cut the "
                f"{nx}x{ny} reference with"
            )
        return ref_array
    rkeys = exposure_keys(ref) if ref is not None else {}
    x0 = int(keys.get("SUBSTRT1") or 1) - int(rkeys.get("SUBSTRT1") or 1)
    y0 = int(keys.get("SUBSTRT2") or 1) - int(rkeys.get("SUBSTRT2") or 1)
    ys, xs = int(size[0]), int(size[1])
    if x0 < 0 or y0 < 0 or x0 + xs > nx or y0 + ys > ny:
        raise ReferenceFileError(
            f"the exposure's {xs}x{ys} window at SUBSTRT1={keys.get('SUBSTRT1')}, "
            f"SUBSTRT2={keys.get('SUBSTRT2')} does not lie inside the {nx}x{ny} reference"
        )
    return ref_array[..., y0 : y0 + ys, x0 : x0 + xs]


def build_references(
    instrument: str,
    detectors: Iterable[str] | None = None,
    reftypes: Iterable[str] | None = None,
    filters: Iterable[str] | None = None,
    *,
    store: Store | None = None,
) -> list[Path]:
    """Build the embedded references of an instrument (see :mod:`.embedded.sets`)."""
    from webbcal.refs.embedded.sets import build_set

    return build_set(instrument, detectors, reftypes, filters, store=_store(store))
