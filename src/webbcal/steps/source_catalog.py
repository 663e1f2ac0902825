"""source_catalog: detect the sources of a resampled image and measure them (``_cat.ecsv``).

As the official step (its image-segmentation source finder):

1. the image (MJy/sr) and its ERR are converted to Jy per pixel with PIXAR_SR; pixels with
   no weight, a NaN error or NaN data are masked;
2. a background map (boxes of ``bkg_boxsize``, :mod:`webbcal.catalog.detect`) is
   subtracted;
3. the image convolved with a Gaussian of ``kernel_fwhm`` is thresholded at
   ``snr_threshold`` times the background RMS (per pixel); segments of at least
   ``npixels`` connected pixels (``connectivity``) are the sources, split by the deblender
   with ``deblend`` (``nlevels``, ``contrast``, ``multithresh_mode``);
4. the catalog (:func:`webbcal.catalog.photometry.source_table`): centroids, local
   background, photometry in the ``aperture_ee1/2/3`` encircled-energy apertures of the
   APCORR reference and the aperture-corrected total flux, AB and Vega magnitudes (the
   ABVEGAOFFSET reference), concentration indices and ``is_extended``
   (``ci1_star_threshold``, ``ci2_star_threshold``), DAOFIND sharpness and roundness,
   nearest neighbours, isophotal photometry, shapes and sky bounding boxes.

Products: the catalog ``<name>_cat.ecsv`` and the segmentation map ``<name>_segm.fits``;
their names are recorded in the image's SCATFILE and SEGMFILE. No source: a warning and
no products.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from webbcal import __version__
from webbcal.catalog.detect import (
    FinderConfig,
    estimate_background,
    gaussian_convolve,
    segment_image,
)
from webbcal.catalog.photometry import TableProduct, source_table
from webbcal.catalog.refdata import abvega_offset, aperture_params
from webbcal.catalog.segm import SegmentationMapModel
from webbcal.core import Exposures, Refs, Step, StepResult, param, product, register
from webbcal.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["SourceCatalogParams", "SourceCatalogResult", "SourceCatalogStep"]


@dataclass(frozen=True, kw_only=True)
class SourceCatalogParams:
    """Parameters of source_catalog (the official segmentation ones)."""

    bkg_boxsize: int = param(1000, "Background mesh box size [pixels]")
    kernel_fwhm: float = param(2.0, "Detection kernel FWHM [pixels]")
    snr_threshold: float = param(3.0, "Detection threshold [background RMS]")
    npixels: int = param(25, "Minimum number of connected pixels of a source")
    connectivity: Literal[4, 8] = param(8, "Pixel connectivity of segments")
    deblend: bool = param(False, "Deblend overlapping sources")
    nlevels: int = param(32, "Deblending: number of thresholds")
    contrast: float = param(0.001, "Deblending: minimum flux fraction of a component")
    multithresh_mode: Literal["exponential", "linear", "sinh"] = param(
        "exponential", "Deblending: threshold spacing"
    )
    aperture_ee1: int = param(30, "Smallest aperture: encircled energy [%]")
    aperture_ee2: int = param(50, "Middle aperture: encircled energy [%]")
    aperture_ee3: int = param(70, "Largest aperture: encircled energy [%]")
    ci1_star_threshold: float = param(2.0, "CI(ee2/ee1) above which a source is extended")
    ci2_star_threshold: float = param(1.8, "CI(ee3/ee2) above which a source is extended")


@dataclass(frozen=True)
class SourceCatalogResult(StepResult):
    """The products of source_catalog."""

    catalog: Any = product(None, ext=".ecsv", doc="Source catalog (_cat.ecsv)")
    segm: Any = product("segm", doc="Segmentation map (_segm.fits)")
    image: Any = None  # the input image (names recorded), not saved

    def products(self):
        """The catalog and the segmentation map (the image itself is not a product)."""
        yield None, ".ecsv", self.catalog
        yield "segm", ".fits", self.segm

    @classmethod
    def skipped(cls, model: Any) -> SourceCatalogResult:
        """A skipped step makes no catalog."""
        return cls(catalog=None, segm=None, image=model)


@register
class SourceCatalogStep(Step):
    """Catalog the sources of a resampled image (photometry, shapes, sky positions)."""

    alias = "source_catalog"
    class_name = "SourceCatalogStep"
    description = "Source detection and photometry of an image (_cat.ecsv, _segm.fits)"
    Params = SourceCatalogParams
    reftypes = ("apcorr", "abvegaoffset")
    suffix = "cat"
    Result = SourceCatalogResult

    def skip_reason(self, model: Any, params: SourceCatalogParams) -> str | None:
        """Only 2-D images are catalogued."""
        if model.shape is None or len(model.shape) != 2:
            return f"source_catalog works on 2-D images, got shape {model.shape}"
        return None

    def process(self, model: Any, refs: Refs, params: SourceCatalogParams) -> SourceCatalogResult:
        """Detect and measure the sources of ``model``."""
        if isinstance(model, Exposures):
            model = model.models[0]
        if model.meta.wcs is None:
            raise InputError("source_catalog needs a WCS", path=model.meta.filename)
        ee = (params.aperture_ee1, params.aperture_ee2, params.aperture_ee3)
        if not (0 < ee[0] < ee[1] < ee[2] < 100):
            raise InputError(f"aperture_ee values must increase within (0, 100), got {ee}")
        aper = aperture_params(refs.apcorr, model, ee, path=refs.path("apcorr"))
        offset = abvega_offset(refs.abvegaoffset, model, path=refs.path("abvegaoffset"))
        pixar = model.meta.photometry.pixelarea_steradians
        if not pixar:
            raise InputError("source_catalog needs PIXAR_SR to convert MJy/sr to Jy",
                             path=model.meta.filename)  # fmt: skip
        to_jy = np.float32(float(pixar) * 1e6)
        data = np.asarray(model.data, np.float32) * to_jy
        if model.has("err"):
            err = np.asarray(model.err, np.float32) * to_jy
        else:
            err = np.empty((0, 0), np.float32)
        bad = ~np.isfinite(data)
        if err.size:
            bad |= ~np.isfinite(err)
        if model.has("wht"):
            bad |= ~(np.asarray(model.wht) > 0)
        if bad.all():
            log.warning("source_catalog: %s has no valid pixel; no catalog", model.meta.filename)
            return SourceCatalogResult(image=model)
        bkg = estimate_background(data, bad, params.bkg_boxsize)
        data -= bkg.background
        data[bad] = 0.0
        cfg = FinderConfig(starfinder="segmentation", snr_threshold=params.snr_threshold,
                           kernel_fwhm=params.kernel_fwhm, npixels=params.npixels,
                           connectivity=int(params.connectivity), nlevels=params.nlevels,
                           contrast=params.contrast, multithresh_mode=params.multithresh_mode,
                           deblend=params.deblend)  # fmt: skip
        detection = gaussian_convolve(data, bad, params.kernel_fwhm)
        segm, n = segment_image(detection, params.snr_threshold * bkg.rms, bad, cfg)
        del detection
        if n == 0:
            log.warning("source_catalog: no sources found in %s; no catalog", model.meta.filename)
            return SourceCatalogResult(image=model)
        table = source_table(data, err, bad, segm, n, model.meta.wcs, aper, offset,
                             (params.ci1_star_threshold, params.ci2_star_threshold),
                             params.kernel_fwhm)  # fmt: skip
        table.meta.update(
            {
                "webbcal_version": __version__,
                "aperture_params": {"ee": list(aper.ee), "radii_pix": list(aper.radii),
                                    "apcorr": list(aper.corrections),
                                    "bkg_annulus_pix": [aper.bkg_inner, aper.bkg_outer]},
                "abvega_offset": offset,
            }
        )  # fmt: skip
        log.info("source_catalog: %d sources in %s", len(table), model.meta.filename)
        segm_model = SegmentationMapModel(data=segm.astype(np.uint32))
        meta = {k: v for k, v in model.meta.to_dict().items() if k != "wcs"}
        segm_model.meta.update(meta)
        segm_model.meta.wcs = model.meta.wcs
        model.meta.source_catalog = self._output_name("cat", ".ecsv")
        model.meta.segmentation_map = self._output_name("segm", ".fits")
        return SourceCatalogResult(catalog=TableProduct(table), segm=segm_model, image=model)
