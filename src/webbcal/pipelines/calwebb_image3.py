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

``resample`` subtracts the sky levels ``skymatch`` measured but did not subtract (the
``_crf`` products keep their data unchanged). Exposures opened from
the association's files keep only SCI and DQ in memory (every step reads them; DQ gets the
outlier flags): ERR and the variance arrays are read from the file when a step asks for
them and let go of after use (:class:`_FileBacked`). ``in_memory=False`` bounds memory
further: ``outlier_detection`` keeps its single drizzles on disk, and after it each
exposure is written to a temporary file and let go of; ``resample`` then reads one array of
one exposure at a time, and the ``_crf`` products are copies of those files. Per-exposure
work inside the steps (source detection, sky overlaps, single drizzles) runs two exposures
at a time, sharing the cores, more on many cores (:mod:`webbcal.steps._members`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webbcal import datamodels
from webbcal.core import Exposures, Pipeline, Refs, StepResult, param, product, register
from webbcal.steps._members import shared_geometry
from webbcal.steps.outlier_detection import OutlierDetectionStep
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


class _FileBacked:
    """An exposure opened from its file whose arrays, other than SCI and DQ, are not kept.

    SCI and DQ are the model's own (read once, DQ updated in place by outlier_detection);
    any other declared array is read from the file each time it is asked for and not kept,
    unless it was set through this view. Everything else is the model's (attributes are
    looked up and set on it).
    """

    _KEPT = frozenset({"data", "dq"})

    def __init__(self, model: Any) -> None:
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_set", set())

    @property
    def model(self) -> Any:
        """The exposure's model."""
        return self._model

    def __getattr__(self, name: str) -> Any:
        model = self._model
        if name in self._KEPT or name in self._set or name not in model.declared():
            return getattr(model, name)
        return model.read_uncached(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._model.declared():
            self._set.add(name)
        setattr(self._model, name, value)

    @staticmethod
    def wrap(exposures: Exposures) -> Exposures:
        """Views of the exposures freshly opened from their association members' files."""
        views = []
        for model, member in zip(exposures.models, exposures.members):
            path = getattr(member, "path", None)
            fresh = (path is not None and getattr(model, "path", None) is not None
                     and Path(model.path) == Path(path) and hasattr(model, "declared"))  # fmt: skip
            views.append(_FileBacked(model) if fresh else model)
        return exposures.with_models(views)

    @staticmethod
    def read_ahead(exposures: Exposures) -> None:
        """Read the views' SCI and DQ in a helper thread while their metadata are parsed.

        Every step needs both: the file reads (no GIL held) overlap the parsing of the
        ASDF trees (Python), which otherwise runs alone at the start of the first step.
        """
        views = [m for m in exposures.models if isinstance(m, _FileBacked)]
        if not views:
            return
        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(lambda: [(v.data, v.dq) for v in views])
            for view in views:
                _ = view.meta  # the SCI and DQ reads use no metadata: no race
            done.result()

    @staticmethod
    def unwrap(exposures: Exposures) -> Exposures:
        """The models behind the views."""
        return exposures.with_models(
            [m.model if isinstance(m, _FileBacked) else m for m in exposures.models]
        )


class _OnDisk:
    """An exposure kept in a temporary file (``in_memory=False``).

    Metadata (and anything but the arrays) come from the file opened for its headers; each
    array is read from the file when asked for and not kept, so memory holds at most the
    arrays in use. ``save`` copies the file (its ``_crf``).
    """

    def __init__(self, path: Path, workdir: tempfile.TemporaryDirectory) -> None:
        self._path = path
        self._workdir = workdir  # removed when the last view of it is gone
        self._headers = datamodels.open(path)

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
            return getattr(model, name)

    def read_arrays(self, names: Sequence[str]) -> list[Any]:
        """The arrays ``names``, read from one opening of the file."""
        with datamodels.open(self._path) as model:
            return [getattr(model, n) for n in names]

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
        with shared_geometry():  # outlier_detection and resample share grid and pixel maps
            return self._process(target, params)

    def _process(self, target: Exposures, params: Image3Params) -> Image3Result:
        science = target.of_type("science")
        exposures = science if len(science) else target
        del science  # the lists below are the only ones holding the models
        single = len(exposures) < 2
        if single:
            log.info("%s: a single exposure: only resample and source_catalog run", self.name)
            for name in ("tweakreg", "skymatch", "outlier_detection"):
                self._configure(name, skip=True)
        if not params.in_memory:
            self._configure("outlier_detection", in_memory=False)
        exposures = _FileBacked.wrap(exposures)
        _FileBacked.read_ahead(exposures)
        for name in ("tweakreg", "skymatch", "outlier_detection"):
            exposures = self.run_step(name, exposures)
        flagged = not single and all(
            m.meta.cal_step.outlier_detection == "COMPLETE" for m in exposures
        )
        if params.in_memory:
            i2d = self.run_step("resample", exposures)
            exposures = _FileBacked.unwrap(exposures)
        else:
            exposures = _FileBacked.unwrap(exposures)  # no view may keep a model alive
            exposures = self._to_disk(target, exposures)
            i2d = self.run_step("resample", exposures)
        found = self.run_step("source_catalog", i2d)
        return Image3Result(
            i2d=i2d,
            catalog=found.catalog,
            segm=found.segm,
            crf=exposures if flagged else None,
        )
