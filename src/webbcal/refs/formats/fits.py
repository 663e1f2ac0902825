"""FITS reference files, written through the :mod:`webbcal.datamodels` reference models.

The file layout (empty primary HDU with the standard keywords, SCI/ERR/DQ/... extensions,
tables, a DQ_DEF table describing the stored DQ bits, no ASDF extension) is the one of the
official files; the model classes declare it. The primary DATE is the header's fixed
``date`` (not the time of writing), so that two builds are byte-for-byte identical.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from astropy.io import fits

from webbcal import datamodels
from webbcal.datamodels import dqflags
from webbcal.refs.formats import models as _models  # noqa: F401 - registers the table models
from webbcal.refs.formats.common import RefHeader, header_meta

__all__ = ["write_fits"]


def write_fits(
    path: str | os.PathLike,
    header: RefHeader,
    fields: Mapping[str, Any],
    *,
    dq_flags: tuple[str, ...] | None = None,
) -> Path:
    """Write a FITS reference file with the model class named by ``header.model_type``.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (overwritten; the store makes the write atomic).
    header : RefHeader
        Primary-header content.
    fields : mapping
        The model's arrays and tables by attribute name (``data``, ``dq``, ``err``,
        ``coeffs``, ``phot_table`` ...). A ``dq`` array holds standard pixel flags.
    dq_flags : tuple of str, optional
        The flags the DQ array may hold: they get the compact bits 0, 1, ... of the DQ_DEF
        table (as in the official files). Required with a ``dq`` field.

    Returns
    -------
    Path
    """
    path = Path(path)
    cls = datamodels.class_for(header.model_type)
    values = dict(fields)
    if "dq" in values:
        if dq_flags is None:
            raise ValueError("write_fits: a dq array needs dq_flags (its DQ_DEF content)")
        values["dq_def"] = dqflags.dq_def_table(dq_flags)
    model = cls(**values)
    meta = model.meta
    for key, value in header_meta(header).items():
        meta.set(key, value)
    primary = model.extra_fits.setdefault("PRIMARY", [])
    primary.extend(("HISTORY", line, "") for line in header.history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        model.to_hdulist().writeto(path, overwrite=True)
    return path
