"""``open()``: read any JWST product or reference file as the right model class."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from astropy.io import fits

from ..errors import InputError
from .asdf_io import AsdfSource
from .fits_io import FitsSource
from .model import REGISTRY, DataModel, open_source

log = logging.getLogger(__name__)

__all__ = ["class_for", "open"]


def open(init: Any, *, memmap: bool = True) -> DataModel:
    """Open a FITS or ASDF file (or wrap an HDUList) as the matching model class.

    The class is the one named by DATAMODL (primary header; ``meta.model_type`` in pure ASDF).
    Without it, reference files are recognised by REFTYPE and products by their layout:
    4-D integer SCI -> Level1bModel, 4-D float SCI -> RampModel, 3-D -> CubeModel,
    2-D -> ImageModel.

    Parameters
    ----------
    init : str, os.PathLike, astropy.io.fits.HDUList or DataModel
        A file, an open HDUList, or a model (returned as it is).
    memmap : bool
        Memory-map the file.

    Returns
    -------
    DataModel
        The model; its arrays are read when first accessed.

    Raises
    ------
    InputError
        Not a FITS/ASDF file, truncated FITS, a required extension missing, or an array with
        the wrong number of dimensions for the class. The message names the file.
    """
    if isinstance(init, DataModel):
        return init
    if isinstance(init, fits.HDUList):
        source = FitsSource(init, owned=False)
    elif isinstance(init, (str, os.PathLike)):
        source = open_source(Path(init), memmap=memmap)
    else:
        raise TypeError(f"cannot open a {type(init).__name__} as a data model")
    try:
        cls = _class_for_source(source)
    except BaseException:
        source.close()
        raise
    log.debug("opening %s as %s", source.path, cls.__name__)
    return cls(source)


def class_for(model_type: str) -> type[DataModel]:
    """The model class for a DATAMODL value, e.g. ``class_for("RampModel")``.

    Raises
    ------
    KeyError
        No such class is declared.
    """
    return REGISTRY[model_type]


def _class_for_source(source: FitsSource | AsdfSource) -> type[DataModel]:
    if isinstance(source, FitsSource):
        model_type = source.keyword("PRIMARY", "DATAMODL")
        reftype = source.keyword("PRIMARY", "REFTYPE")
    else:
        meta = source.af.tree.get("meta") or {}
        model_type = meta.get("model_type")
        reftype = meta.get("reftype")
    if isinstance(model_type, str) and model_type.strip() in REGISTRY:
        return REGISTRY[model_type.strip()]
    if model_type:
        log.warning(
            "%s: DATAMODL=%r is not a class webbcal declares; guessing from the layout",
            source.path,
            model_type,
        )
    if isinstance(reftype, str):
        cls = _class_from_reftype(source, reftype.strip().upper())
        if cls is not None:
            return cls
    return _class_from_layout(source)


def _primary_ndim(source: FitsSource | AsdfSource, cls: type[DataModel]) -> int | None:
    spec = cls.declared().get(cls.primary or "")
    if spec is None or not source.has(cls.primary, spec):
        return None
    shape = source.shape(cls.primary, spec)
    return None if shape is None else len(shape)


def _class_from_reftype(source: FitsSource | AsdfSource, reftype: str) -> type[DataModel] | None:
    candidates = [c for c in REGISTRY.values() if c.reftype == reftype]
    for cls in candidates:
        spec = cls.declared()[cls.primary]
        ndim = _primary_ndim(source, cls)
        if ndim is not None and spec.accepts_ndim(ndim):
            return cls
    return candidates[0] if candidates else None


def _class_from_layout(source: FitsSource | AsdfSource) -> type[DataModel]:
    from .products import CubeModel, ImageModel, Level1bModel, RampModel

    sci = ImageModel.declared()["data"]
    if not source.has("data", sci):
        raise InputError(
            "no SCI extension and no DATAMODL keyword: cannot tell what product this is",
            path=source.path,
        )
    shape = source.shape("data", sci) or ()
    if len(shape) == 4:
        return Level1bModel if _is_integer(source) else RampModel
    if len(shape) == 3:
        return CubeModel
    if len(shape) == 2:
        return ImageModel
    raise InputError(
        f"SCI is {len(shape)}-D {shape}; expected a 2-D image, 3-D cube or 4-D ramp",
        path=source.path,
    )


def _is_integer(source: FitsSource | AsdfSource) -> bool:
    if isinstance(source, FitsSource):
        return int(source.keyword("SCI", "BITPIX", -32)) > 0
    return getattr(source.af.tree["data"], "dtype", None) is not None and (
        source.af.tree["data"].dtype.kind in "iu"
    )
