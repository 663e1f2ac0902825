"""calwebb_image3: Stage 3 imaging -- align, match skies, reject outliers, combine, catalog.

Steps, in order: ``tweakreg``, ``skymatch``, ``outlier_detection``, ``resample``,
``source_catalog``. Input: a level-3 association of ``_cal`` exposures (all members of a
product at once), a list of models, or a single ``_cal`` exposure -- for which, as in the
official pipeline, only ``resample`` and ``source_catalog`` run (the others are recorded as
SKIPPED).

Products, returned as an :class:`Image3Result` and written with ``save_results`` (always
from the CLI), named from the association product:

* ``<product>_i2d.fits`` -- the combined, resampled image (SCI, ERR, CON, WHT, VAR_*);
* ``<product>_cat.ecsv`` and ``<product>_segm.fits`` -- the source catalog and its
  segmentation map;
* ``<exposure>_<candidate>_crf.fits`` -- each exposure with its outliers flagged (when
  ``outlier_detection`` ran).

The combined image is made from the exposures minus the sky levels ``skymatch`` measured but
did not subtract (the ``_crf`` products keep their data unchanged). ``in_memory=False``
bounds memory: ``outlier_detection`` keeps its single drizzles on disk, and after it each
exposure is written to a temporary file and let go of; ``resample`` then reads one array of
one exposure at a time, and the ``_crf`` products are copies of those files. Per-exposure
work inside the steps (source detection, sky overlaps, single drizzles) runs concurrently.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from webbcal import datamodels
from webbcal.core import Exposures, Pipeline, Refs, StepResult, param, product, register
from webbcal.steps.outlier_detection import OutlierDetectionStep, sky_level
from webbcal.steps.resample import ResampleStep
from webbcal.steps.skymatch import SkyMatchStep
from webbcal.steps.source_catalog import SourceCatalogStep
from webbcal.steps.tweakreg import TweakRegStep

log = logging.getLogger(__name__)

__all__ = ["Image3Params", "Image3Pipeline", "Image3Result"]


@dataclass(frozen=True, kw_only=True)
class Image3Params:
    """Parameters of calwebb_image3."""

    in_memory: bool = param(True, "Keep intermediate images in memory (False: temp files)")


@dataclass(frozen=True)
class Image3Result(StepResult):
    """The products of calwebb_image3."""

    i2d: Any = product(None, doc="Combined resampled image (_i2d)")
    catalog: Any = product("cat", ext=".ecsv", doc="Source catalog (_cat.ecsv)")
    segm: Any = product("segm", doc="Segmentation map (_segm.fits)")
    crf: Any = product("crf", doc="Outlier-flagged exposures (_<candidate>_crf)")


class _SkySubtracted:
    """An exposure seen by resample: SCI minus the sky level still in it.

    Everything else is the exposure's own (attributes are looked up on it); the subtracted
    SCI is computed when resample reads it, one exposure at a time.
    """

    def __init__(self, model: Any, level: float) -> None:
        self._model = model
        self._level = np.float32(level)

    @property
    def data(self) -> np.ndarray:
        """SCI minus the sky level."""
        return self._model.data - self._level

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class _OnDisk:
    """An exposure kept in a temporary file (``in_memory=False``).

    Metadata (and anything but the arrays) come from the file opened for its headers; each
    array is read from the file when asked for and not kept, so memory holds at most the
    arrays in use. ``level`` is subtracted
    from SCI (the sky resample must remove); ``save`` copies the file (its ``_crf``).
    """

    def __init__(self, path: Path, workdir: tempfile.TemporaryDirectory, level: float = 0.0):
        self._path = path
        self._workdir = workdir  # removed when the last view of it is gone
        self._headers = datamodels.open(path)
        self._level = np.float32(level)

    @property
    def meta(self) -> Any:
        """The exposure's metadata (from the file)."""
        return self._headers.meta

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of SCI."""
        return self._headers.shape

    def has(self, name: str) -> bool:
        """Whether the file has the array ``name``."""
        return self._headers.has(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._headers.declared():
            return getattr(self._headers, name)
        with datamodels.open(self._path) as model:
            array = getattr(model, name)
        if name == "data" and self._level:
            array = array - self._level
        return array

    def with_level(self, level: float) -> _OnDisk:
        """The same file seen with another sky level subtracted from SCI."""
        return _OnDisk(self._path, self._workdir, level)

    def save(self, path: str | os.PathLike) -> Path:
        """Copy the file to ``path``."""
        shutil.copyfile(self._path, path)
        return Path(path)


@register
class Image3Pipeline(Pipeline):
    """Stage 3 imaging: combine the calibrated exposures of an association."""

    alias = "calwebb_image3"
    class_name = "Image3Pipeline"
    description = "Stage 3 imaging (association of _cal -> i2d, cat, segm, crf)"
    Params = Image3Params
    input_kind = "association"
    suffix = "i2d"
    Result = Image3Result
    step_defs = {
        "tweakreg": TweakRegStep,
        "skymatch": SkyMatchStep,
        "outlier_detection": OutlierDetectionStep,
        "resample": ResampleStep,
        "source_catalog": SourceCatalogStep,
    }

    def _configure(self, name: str, **values: Any) -> None:
        config = self.config.steps[name].replace(**values)
        self.config = dataclasses.replace(self.config, steps={**self.config.steps, name: config})

    @staticmethod
    def _to_disk(target: Exposures, exposures: Exposures) -> Exposures:
        """Write each exposure to a temporary file and let go of it (``in_memory=False``).

        The models are replaced, in this run's lists, by :class:`_OnDisk` views, so their
        arrays can be freed.
        """
        workdir = tempfile.TemporaryDirectory(prefix="webbcal-image3-")
        views = []
        for k, model in enumerate(exposures.models):
            name = Path(str(model.meta.filename or f"exposure{k}_cal.fits")).name
            path = model.save(Path(workdir.name) / name)
            view = _OnDisk(path, workdir)
            for lst in (target.models, exposures.models):
                for i, item in enumerate(lst):
                    if item is model:
                        lst[i] = view
            views.append(view)
        log.info("calwebb_image3: %d exposures moved to temporary files", len(views))
        return exposures.with_models(views)

    def process(self, target: Exposures, refs: Refs, params: Image3Params) -> Image3Result:
        """Run the Stage 3 steps on the exposures of one association product."""
        science = target.of_type("science")
        exposures = science if len(science) else target
        single = len(exposures) < 2
        if single:
            log.info("%s: a single exposure: only resample and source_catalog run", self.name)
            for name in ("tweakreg", "skymatch", "outlier_detection"):
                self._configure(name, skip=True)
        if not params.in_memory:
            self._configure("outlier_detection", in_memory=False)
        for name in ("tweakreg", "skymatch", "outlier_detection"):
            exposures = self.run_step(name, exposures)
        flagged = not single and all(
            m.meta.cal_step.outlier_detection == "COMPLETE" for m in exposures
        )
        if not params.in_memory:
            exposures = self._to_disk(target, exposures)
            views = [m.with_level(sky_level(m)) for m in exposures]
        else:
            views = [_SkySubtracted(m, sky_level(m)) if sky_level(m) else m for m in exposures]
        i2d = self.run_step("resample", exposures.with_models(views))
        found = self.run_step("source_catalog", i2d)
        return Image3Result(
            i2d=i2d,
            catalog=found.catalog,
            segm=found.segm,
            crf=exposures if flagged else None,
        )
