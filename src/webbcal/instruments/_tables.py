"""Shared helpers: instrument names and the YAML tables shipped under ``data/``."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from webbcal.errors import InputError

#: Canonical instrument names (values of the INSTRUME keyword).
INSTRUMENTS = ("NIRCAM", "NIRISS", "NIRSPEC", "MIRI", "FGS")


def normalize_instrument(instrument: str) -> str:
    """Return the INSTRUME keyword value for ``instrument`` (any case).

    Raises
    ------
    webbcal.errors.InputError
        If the instrument is not one of NIRCAM, NIRISS, NIRSPEC, MIRI, FGS.
    """
    name = str(instrument).strip().upper()
    if name not in INSTRUMENTS:
        raise InputError(
            f"unknown instrument {instrument!r}; expected one of {', '.join(INSTRUMENTS)}"
        )
    return name


@functools.cache
def load_table(name: str) -> dict[str, Any]:
    """Load ``data/<name>.yaml`` once per process (callers must not mutate the result)."""
    text = (
        resources.files("webbcal.instruments").joinpath("data").joinpath(f"{name}.yaml").read_text()
    )
    return yaml.safe_load(text)


def unknown(
    kind: str, name: str, instrument: str, known: list[str] | tuple[str, ...]
) -> InputError:
    """Build the InputError for an unknown ``kind`` (detector, subarray, ...) of an instrument."""
    return InputError(f"unknown {instrument} {kind} {name!r}; known: {', '.join(sorted(known))}")
