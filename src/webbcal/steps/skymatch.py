"""skymatch: measure (and optionally subtract) the sky of the exposures of an association.

As the official step, for the ``skymethod``:

* ``local`` -- each exposure's own sky; ``global`` -- the lowest of them, for all;
* ``match`` -- offsets that equalise the sky where exposures overlap (``match_down``:
  towards the lowest); ``global+match`` -- matched and made absolute with the global sky;
* ``user`` -- the values of ``skylist``, a two-column text file (file name, sky).

Sky values are clipped statistics (``skystat`` mode/median/mean/midpt, ``lower``/``upper``,
``nclip`` passes at ``lsigma``/``usigma``, histogram ``binwidth``) of the pixels whose DQ
has only ``dqbits`` ("good" bits, default ``~DO_NOT_USE+NON_SCIENCE``); sources are
rejected by the clipping and the mode, as in the official step. Overlaps are found
through the WCS (:mod:`webbcal.align.sky`; ``stepsize``: node spacing of the pixel maps).

Each exposure records ``meta.background.level`` (BKGLEVEL, data units), ``.subtracted``
(BKGSUB) and ``.method`` (BKGMETH); with ``subtract`` the level is subtracted from SCI.
Uncertainty arrays are not changed.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from webbcal.align.sky import SkyStat, sky_levels
from webbcal.core import Exposures, Refs, Step, param, register
from webbcal.datamodels import dqflags
from webbcal.errors import InputError, ParameterError
from webbcal.kernels.skystats import STATISTICS
from webbcal.steps._members import member_workers

log = logging.getLogger(__name__)

__all__ = ["SkyMatchParams", "SkyMatchStep", "bad_bits_of"]


@dataclass(frozen=True, kw_only=True)
class SkyMatchParams:
    """Parameters of skymatch (the official ones)."""

    skymethod: Literal["local", "global", "match", "global+match", "user"] = param(
        "match", "Sky method: local, global, match, global+match or user (skylist)"
    )
    match_down: bool = param(True, "match: bring higher skies down to the lowest")
    subtract: bool = param(False, "Subtract the sky from SCI")
    stepsize: int | None = param(None, "Node spacing [pixels] of the overlap pixel maps")
    skystat: Literal["mode", "median", "mean", "midpt"] = param("mode", "Sky statistic")
    dqbits: str = param("~DO_NOT_USE+NON_SCIENCE", "DQ bits of pixels used for the sky")
    lower: float | None = param(None, "Lowest pixel value used")
    upper: float | None = param(None, "Highest pixel value used")
    nclip: int = param(5, "Clipping passes")
    lsigma: float = param(4.0, "Lower clipping limit [sigma]")
    usigma: float = param(4.0, "Upper clipping limit [sigma]")
    binwidth: float = param(0.1, "Histogram bin width [sigma] (mode, midpt)")
    skylist: str | None = param(None, "skymethod=user: file of 'filename sky' lines")


def bad_bits_of(good_bits: str | int | None, owner: str) -> int:
    """The DQ bits that exclude a pixel, from an official "good bits" specification."""
    try:
        good = dqflags.interpret_bit_flags(good_bits)
    except ValueError as exc:
        raise ParameterError(f"{owner}: {exc}") from None
    if good is None:
        return 0
    return (~good) & 0xFFFFFFFF


def _user_levels(models: list[Any], skylist: str | None) -> np.ndarray:
    if not skylist:
        raise ParameterError("skymatch: skymethod='user' needs a skylist file")
    path = Path(skylist)
    if not path.is_file():
        raise InputError("skylist file not found", path=path)
    table: dict[str, float] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            table[os.path.basename(words[0])] = float(words[1])
        except (IndexError, ValueError):
            raise InputError(f"line {number}: expected 'filename sky'", path=path) from None
    levels = []
    for m in models:
        name = os.path.basename(str(m.meta.filename or ""))
        if name not in table:
            raise InputError(f"skylist has no sky for {name or '<unnamed model>'}", path=path)
        levels.append(table[name])
    return np.asarray(levels, float)


@register
class SkyMatchStep(Step):
    """Measure the sky of each exposure, matched where exposures overlap."""

    alias = "skymatch"
    class_name = "SkyMatchStep"
    description = "Sky levels of an association (local/global/match/global+match)"
    Params = SkyMatchParams
    input_kind = "association"

    def process(self, target: Exposures, refs: Refs, params: SkyMatchParams) -> Exposures:
        """Measure (and optionally subtract) the sky of every science exposure."""
        models = list(target.of_type("science")) or list(target)
        for m in models:
            if m.meta.wcs is None and params.skymethod in ("match", "global+match"):
                raise InputError("skymatch needs a WCS: run assign_wcs first",
                                 path=m.meta.filename)  # fmt: skip
        if params.skymethod == "user":
            levels = _user_levels(models, params.skylist)
        else:
            stat = SkyStat(
                STATISTICS[params.skystat],
                math.nan if params.lower is None else float(params.lower),
                math.nan if params.upper is None else float(params.upper),
                int(params.nclip),
                float(params.lsigma),
                float(params.usigma),
                float(params.binwidth),
            )
            levels = sky_levels(
                models,
                params.skymethod,
                bad_bits_of(params.dqbits, "skymatch dqbits"),
                stat,
                match_down=params.match_down,
                stepsize=int(params.stepsize or 32),
                workers=member_workers(len(models)),
            )
        for m, level in zip(models, levels):
            self._record(m, float(level), params)
        return target

    @staticmethod
    def _record(model: Any, level: float, params: SkyMatchParams) -> None:
        bkg = model.meta.background
        bkg.method = params.skymethod
        if not math.isfinite(level):
            log.warning("skymatch: no sky could be measured for %s", model.meta.filename)
            bkg.level = None
            bkg.subtracted = False
            return
        bkg.level = level
        bkg.subtracted = bool(params.subtract)
        if params.subtract:
            data = model.data
            np.subtract(data, np.float32(level), out=data)
        log.info("skymatch: %s: sky %.6g %s (%s)", model.meta.filename, level,
                 model.meta.bunit_data or "", "subtracted" if params.subtract
                 else "not subtracted")  # fmt: skip
