"""Small factory-made exposures and reference files for the Stage 1 step tests.

``ramp(...)`` builds a RampModel (or a raw Level1bModel) of a few pixels with linear
ramps; ``RefSet`` writes small reference files on demand and is a resolver
``(reftype, model) -> path`` to pass to ``Step.call(..., resolver=refs)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from webbcal import datamodels as dm
from webbcal.refs.formats import models as ref_models
from webbcal.refs.formats import tables

GAIN = 2.0  # e/DN
READNOISE = 10.0  # CDS DN
BIAS = 1000.0  # DN


def ramp(
    *,
    nints: int = 1,
    ngroups: int = 6,
    shape: tuple[int, int] = (10, 12),
    rate: float | np.ndarray = 5.0,
    bias: float = BIAS,
    frame_time: float = 10.0,
    nframes: int = 1,
    groupgap: int = 0,
    instrument: str = "NIRCAM",
    detector: str = "NRCA1",
    exp_type: str = "NRC_IMAGE",
    readpatt: str = "RAPID",
    noise: bool = False,
    seed: int = 0,
    raw: bool = False,
    tso: bool = False,
) -> Any:
    """A RampModel (``raw``: Level1bModel, uint16) with ramps ``bias + rate * t``."""
    ny, nx = shape
    group_time = (nframes + groupgap) * frame_time
    t = (np.arange(ngroups) * group_time + (nframes + 1) / 2 * frame_time)[:, None, None]
    rates = np.broadcast_to(np.asarray(rate, dtype=np.float64), shape)
    data = np.empty((nints, ngroups, ny, nx))
    data[:] = bias + rates[None, None] * t[None]
    if noise:
        rng = np.random.default_rng(seed)
        data += rng.normal(0.0, READNOISE / np.sqrt(2 * nframes), data.shape)
    if raw:
        model = dm.Level1bModel(data=np.clip(np.round(data), 0, 65535).astype(np.uint16))
    else:
        model = dm.RampModel(data=data.astype(np.float32))
    meta = model.meta
    meta.filename = "jw01000001001_01101_00001_nrca1_uncal.fits"
    meta.instrument.name = instrument
    meta.instrument.detector = detector
    meta.exposure.type = exp_type
    meta.exposure.readpatt = readpatt
    meta.exposure.nints = nints
    meta.exposure.ngroups = ngroups
    meta.exposure.nframes = nframes
    meta.exposure.groupgap = groupgap
    meta.exposure.frame_time = frame_time
    meta.exposure.group_time = group_time
    meta.exposure.drop_frames1 = 0
    meta.exposure.frame_divisor = nframes
    meta.visit.tsovisit = tso
    meta.observation.date = "2024-01-01"
    meta.observation.time = "00:00:00"
    return model


def _save(model: Any, path: Path, **keys: Any) -> Path:
    meta = model.meta
    for key, value in keys.items():
        meta.set(key, value)
    model.save(path)
    return path


class RefSet:
    """Reference files for factory exposures, written on first use into ``folder``.

    ``refs[reftype] = model`` replaces a default; ``refs.na`` lists types that do not
    apply. Calling the object resolves ``(reftype, model)`` to a path.
    """

    def __init__(self, folder: Path, shape: tuple[int, int] = (10, 12), nframes: int = 20):
        self.folder = Path(folder)
        self.shape = shape
        self.nframes = nframes
        self.models: dict[str, Any] = {}
        self.na: set[str] = set()
        self.paths: dict[str, Path] = {}

    def __setitem__(self, reftype: str, model: Any) -> None:
        self.models[reftype] = model
        self.paths.pop(reftype, None)

    def __call__(self, reftype: str, model: Any) -> Path | None:
        if reftype in self.na or reftype.startswith("pars-"):
            return None
        if reftype not in self.paths:
            ref = self.models.get(reftype) or self.default(reftype)
            if ref is None:
                return None
            path = self.folder / f"ref_{reftype}.fits"
            self.paths[reftype] = _save(ref, path)
        return self.paths[reftype]

    def default(self, reftype: str) -> Any:
        """The default (benign) reference of a type, or None."""
        shape = self.shape
        f4 = np.float32
        if reftype == "mask":
            return dm.MaskModel(dq=np.zeros(shape, np.uint32))
        if reftype == "gain":
            return dm.GainModel(data=np.full(shape, GAIN, f4))
        if reftype == "readnoise":
            return dm.ReadnoiseModel(data=np.full(shape, READNOISE, f4))
        if reftype == "saturation":
            return dm.SaturationModel(data=np.full(shape, 60000.0, f4),
                                      dq=np.zeros(shape, np.uint32))  # fmt: skip
        if reftype == "superbias":
            return dm.SuperBiasModel(data=np.full(shape, BIAS, f4),
                                     dq=np.zeros(shape, np.uint32))  # fmt: skip
        if reftype == "linearity":
            coeffs = np.zeros((3, *shape), f4)
            coeffs[1] = 1.0
            return dm.LinearityModel(coeffs=coeffs, dq=np.zeros(shape, np.uint32))
        if reftype == "dark":
            model = dm.DarkModel(data=np.zeros((self.nframes, *shape), f4),
                                 dq=np.zeros(shape, np.uint32))  # fmt: skip
            model.meta.exposure.nframes = 1
            model.meta.exposure.groupgap = 0
            model.meta.exposure.ngroups = self.nframes
            return model
        if reftype == "ipc":
            kernel = np.zeros((3, 3), f4)
            kernel[1, 1] = 1.0
            return dm.IPCModel(data=kernel)
        if reftype == "flat":
            return dm.FlatModel(data=np.ones(shape, f4), dq=np.zeros(shape, np.uint32),
                                err=np.zeros(shape, f4))  # fmt: skip
        if reftype == "persat":
            return dm.PersistenceSatModel(data=np.full(shape, 50000.0, f4),
                                          dq=np.zeros(shape, np.uint32))  # fmt: skip
        if reftype == "trapdensity":
            return dm.TrapDensityModel(data=np.ones(shape, f4), dq=np.zeros(shape, np.uint32))
        if reftype == "trappars":
            table = tables.table(tables.TRAPPARS, [(2e-4, -1 / 300.0, 0.0, -1 / 500.0)])
            return ref_models.TrapParsModel(trappars_table=table)
        if reftype == "reset":
            return dm.ResetModel(data=np.zeros((2, self.nframes, *shape), f4),
                                 dq=np.zeros(shape, np.uint32))  # fmt: skip
        if reftype == "rscd":
            rows = [("FULL", "FAST", 1, 3), ("GENERIC", "FAST", 1, 3)]
            return ref_models.RSCDModel(rscd_group_skip_table=tables.table(
                tables.RSCD_GROUP_SKIP, rows))  # fmt: skip
        return None


@contextmanager
def isolated_cli_logging() -> Iterator[None]:
    """Run ``webbcal.cli.main`` without the handlers earlier CLI runs left behind.

    The CLI configures webbcal's logger with a handler on the stderr of its time; in a
    test session that stream may be an earlier test's (closed) capture.
    """
    logger = logging.getLogger("webbcal")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    for handler in saved[0]:
        logger.removeHandler(handler)
    try:
        yield
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in saved[0]:
            logger.addHandler(handler)
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
