"""Second source of references: a local CRDS cache, selected through ``crds`` offline.

Used when ``CRDS_PATH`` is set and the ``crds`` package is importable (or when asked for
with ``source="crds"``). The ``crds`` library computes best references from the cached
rules (``CRDS_MODE=local``) with its server URL set to CRDS's serverless placeholder, so no
network is ever contacted; the files must already be in the cache.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from webbcal.errors import ReferenceFileError
from webbcal.refs.keys import keyword_path

log = logging.getLogger(__name__)

__all__ = ["crds_available", "crds_best_reference", "crds_parameters"]

#: CRDS's documented placeholder server URL for running without a server.
SERVERLESS_URL = "https://crds-serverless-mode.stsci.edu"


def crds_available() -> bool:
    """True when ``CRDS_PATH`` is set and the ``crds`` package is installed."""
    return bool(os.environ.get("CRDS_PATH")) and importlib.util.find_spec("crds") is not None


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """CRDS_MODE=local and the serverless URL for the duration of a crds call."""
    saved = {k: os.environ.get(k) for k in ("CRDS_MODE", "CRDS_SERVER_URL")}
    os.environ["CRDS_MODE"] = "local"
    os.environ["CRDS_SERVER_URL"] = SERVERLESS_URL
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def crds_parameters(keys: Mapping[str, Any]) -> dict[str, Any]:
    """CRDS matching parameters (``META.INSTRUMENT.NAME`` ...) from exposure keys."""
    params: dict[str, Any] = {"META.TELESCOPE": "JWST"}
    for kw, value in keys.items():
        params["META." + keyword_path(kw).upper()] = value
    return params


def _locate(name: str, instrument: str) -> Path | None:
    """The cached file ``name`` (CRDS_REFPATH, or CRDS_PATH/references/jwst[/<instrument>])."""
    roots = []
    if os.environ.get("CRDS_REFPATH"):
        roots.append(Path(os.environ["CRDS_REFPATH"]))
    if os.environ.get("CRDS_PATH"):
        roots.append(Path(os.environ["CRDS_PATH"]) / "references" / "jwst")
    for root in roots:
        for candidate in (root / instrument.lower() / name, root / name):
            if candidate.is_file():
                return candidate
    return None


def crds_best_reference(reftype: str, keys: Mapping[str, Any]) -> Path | None:
    """The cached file CRDS assigns to ``reftype`` for the exposure (None: N/A).

    Raises
    ------
    ReferenceFileError
        When CRDS finds no match, or the assigned file is not in the local cache.
    """
    with _offline():
        import crds

        result = crds.getrecommendations(
            crds_parameters(keys), reftypes=[reftype.lower()], observatory="jwst"
        )
    name = str(result.get(reftype.lower(), "NOT FOUND no result"))
    if name.upper().startswith("NOT FOUND"):
        if name.upper().endswith("N/A"):
            return None
        raise ReferenceFileError(
            f"CRDS (offline, CRDS_PATH={os.environ.get('CRDS_PATH')}) found no {reftype.upper()} "
            f"reference: {name}"
        )
    path = _locate(name, str(keys.get("INSTRUME", "")))
    if path is None:
        raise ReferenceFileError(
            f"CRDS assigns {name} as {reftype.upper()} but it is not in the local cache "
            f"(CRDS_PATH={os.environ.get('CRDS_PATH')}); sync it with `crds sync --files {name}`"
        )
    log.info("CRDS (local cache) %s reference: %s", reftype, path)
    return path
