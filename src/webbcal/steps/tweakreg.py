"""tweakreg: align the WCS of the exposures of an association on their point sources.

As the official step:

1. **Catalogs.** Each exposure's point sources are found (:mod:`webbcal.catalog.detect`:
   ``starfinder`` iraf/dao/segmentation, ``snr_threshold``, ``kernel_fwhm``,
   ``bkg_boxsize``, ``brightest``, ``peakmax``, sharpness/roundness limits ...), on the
   pixels whose DQ has neither DO_NOT_USE nor NON_SCIENCE; the exposures are processed
   two at a time, sharing the cores, more on many cores (:mod:`webbcal.steps._members`).
   With ``use_custom_catalogs`` a user catalog (``x``/``y`` or ``xcentroid``/``ycentroid``
   columns, 0-based) is read instead: from ``catfile`` (lines
   ``<exposure file> <catalog file>``, relative to the catfile), else the association
   member's ``tweakreg_catalog``, else ``meta.tweakreg_catalog``. Sources outside the WCS
   bounding box are dropped. ``save_catalogs`` writes ``<exposure>_cat.ecsv`` and records
   its name in TCATFILE.
2. **Relative alignment** of the exposure groups (needs at least two) with tweakwcs
   (:mod:`webbcal.align.wcsfit`): matching (``searchrad``, ``separation``, ``tolerance``,
   ``use2dhist``, ``xoffset``, ``yoffset``), ``fitgeometry`` shift/rshift/rscale/general,
   ``nclip`` passes at ``sigma``; ``enforce_user_order``, ``expand_refcat``.
3. **Absolute alignment** to ``abs_refcat``, an ECSV (or any astropy-readable) file with
   ``ra``/``dec`` columns, with the ``abs_*`` options. The official network catalogs
   (GAIADR3 ...) are not downloaded: naming one is a ParameterError.
4. **WCS update.** Accepted corrections are folded into each exposure's gwcs (a ``v2v3corr``
   tangent-plane frame); the FITS TAN-SIP approximation (``sip_*`` options, as
   ``assign_wcs``) and S_REGION are recomputed. Refused fits (too few matches, RMS above
   ``tolerance``, shift beyond ``searchrad``) leave the WCS untouched, with the reason
   logged.

Fit results (status, matches, RMS [mas], shift, rotation, scale) are logged and recorded
per exposure in ``meta.webbcal.tweakreg``. With fewer than two exposure groups and no
``abs_refcat`` the step is SKIPPED.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from astropy.table import Table

from webbcal.align.wcsfit import (
    Exposure,
    MatchConfig,
    absolute_align,
    group_id,
    read_refcat,
    relative_align,
)
from webbcal.catalog.detect import FinderConfig, find_sources
from webbcal.catalog.photometry import TableProduct
from webbcal.core import Exposures, Refs, Step, param, register
from webbcal.core.naming import output_path, split_extension
from webbcal.datamodels import dqflags
from webbcal.errors import InputError, ParameterError
from webbcal.kernels.skystats import unusable
from webbcal.steps._members import run_members
from webbcal.steps.assign_wcs import update_sip_keywords
from webbcal.wcs import fit_sip, footprint, s_region
from webbcal.wcs.imaging import bounding_box

log = logging.getLogger(__name__)

__all__ = ["TweakRegParams", "TweakRegStep"]

_FIT = Literal["shift", "rshift", "rscale", "general"]


@dataclass(frozen=True, kw_only=True)
class TweakRegParams:
    """Parameters of tweakreg (the official ones; distances in arcsec)."""

    save_catalogs: bool = param(False, "Write the source catalogs (<exposure>_cat.ecsv)")
    use_custom_catalogs: bool = param(False, "Use user catalogs (catfile, association, TCATFILE)")
    catalog_format: Literal["ecsv", "fits"] = param("ecsv", "Catalog file format")
    catfile: str = param("", "File of '<exposure> <catalog>' lines")
    starfinder: Literal["iraf", "dao", "segmentation"] = param("iraf", "Source finder")
    snr_threshold: float = param(10.0, "Detection threshold [background RMS]")
    kernel_fwhm: float = param(2.5, "Gaussian kernel FWHM [pixels]")
    bkg_boxsize: int = param(400, "Background mesh box size [pixels]")
    minsep_fwhm: float = param(0.0, "dao/iraf: minimum source separation [kernel FWHM]")
    sigma_radius: float = param(1.5, "dao/iraf: kernel truncation radius [sigma]")
    sharplo: float = param(0.5, "dao/iraf: lowest sharpness")
    sharphi: float = param(2.0, "dao/iraf: highest sharpness")
    roundlo: float = param(0.0, "dao/iraf: lowest roundness")
    roundhi: float = param(0.2, "dao/iraf: highest roundness")
    brightest: int | None = param(200, "Keep the brightest N sources")
    peakmax: float | None = param(None, "Drop sources with a peak at or above this")
    npixels: int = param(10, "segmentation: minimum connected pixels")
    connectivity: Literal[4, 8] = param(8, "segmentation: pixel connectivity")
    nlevels: int = param(32, "segmentation: deblending levels")
    contrast: float = param(0.001, "segmentation: deblending contrast")
    multithresh_mode: Literal["exponential", "linear", "sinh"] = param(
        "exponential", "segmentation: deblending threshold spacing"
    )
    enforce_user_order: bool = param(False, "Align in the input order")
    expand_refcat: bool = param(False, "Add aligned sources to the reference catalog")
    minobj: int = param(15, "Minimum number of matched sources")
    fitgeometry: _FIT = param("rshift", "Fit geometry: shift, rshift, rscale, general")
    nclip: int = param(3, "Clipping passes of the fit")
    sigma: float = param(3.0, "Clipping limit [fit RMS]")
    searchrad: float = param(2.0, "Matching search radius [arcsec]")
    use2dhist: bool = param(True, "Find the initial offset with a 2-D histogram")
    separation: float = param(1.0, "Minimum source separation [arcsec]")
    tolerance: float = param(0.7, "Matching tolerance [arcsec]; largest accepted fit RMS")
    xoffset: float = param(0.0, "Initial guess of the X offset [arcsec]")
    yoffset: float = param(0.0, "Initial guess of the Y offset [arcsec]")
    abs_refcat: str = param("", "Absolute reference catalog file (ra, dec)")
    save_abs_catalog: bool = param(False, "Write the absolute reference catalog used")
    abs_minobj: int = param(15, "Absolute: minimum number of matched sources")
    abs_fitgeometry: _FIT = param("rshift", "Absolute: fit geometry")
    abs_nclip: int = param(3, "Absolute: clipping passes")
    abs_sigma: float = param(3.0, "Absolute: clipping limit [fit RMS]")
    abs_searchrad: float = param(6.0, "Absolute: search radius [arcsec]")
    abs_use2dhist: bool = param(True, "Absolute: 2-D histogram initial offset")
    abs_separation: float = param(1.0, "Absolute: minimum source separation [arcsec]")
    abs_tolerance: float = param(0.7, "Absolute: matching tolerance [arcsec]")
    sip_approx: bool = param(True, "Recompute the TAN-SIP approximation of corrected WCSs")
    sip_max_pix_error: float = param(0.01, "Largest forward SIP residual [pixels]")
    sip_degree: int | None = param(None, "SIP order (None: lowest meeting the error)")
    sip_max_inv_pix_error: float = param(0.01, "Largest inverse SIP residual [pixels]")
    sip_inv_degree: int | None = param(None, "Inverse SIP order (None: automatic)")
    sip_npoints: int = param(12, "SIP fit grid points per axis")


def _bad(model: Any) -> np.ndarray:
    return unusable(model.data, model.dq, dqflags.DO_NOT_USE | dqflags.NON_SCIENCE)


def _finder(p: TweakRegParams) -> FinderConfig:
    return FinderConfig(
        starfinder=p.starfinder, snr_threshold=p.snr_threshold, kernel_fwhm=p.kernel_fwhm,
        bkg_boxsize=p.bkg_boxsize, minsep_fwhm=p.minsep_fwhm, sigma_radius=p.sigma_radius,
        sharplo=p.sharplo, sharphi=p.sharphi, roundlo=p.roundlo, roundhi=p.roundhi,
        brightest=p.brightest, peakmax=p.peakmax, npixels=p.npixels,
        connectivity=int(p.connectivity), nlevels=p.nlevels, contrast=p.contrast,
        multithresh_mode=p.multithresh_mode, deblend=True,
    )  # fmt: skip


def _read_catfile(catfile: str) -> dict[str, Path | None]:
    path = Path(catfile)
    if not path.is_file():
        raise InputError("tweakreg catfile not found", path=path)
    out: dict[str, Path | None] = {}
    for line in path.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            out[os.path.basename(words[0])] = path.parent / words[1] if len(words) > 1 else None
    return out


def _user_catalog(path: Path) -> Table:
    if not path.is_file():
        raise InputError("tweakreg user catalog not found", path=path)
    table = Table.read(path)
    for axis in ("x", "y"):
        if f"{axis}centroid" not in table.colnames:
            if axis not in table.colnames:
                raise InputError("a tweakreg catalog needs x, y (or xcentroid, ycentroid) "
                                 "columns", path=path)  # fmt: skip
            table[f"{axis}centroid"] = table[axis]
    return table


def _in_bbox(table: Table, model: Any) -> Table:
    bbox = model.meta.wcs.bounding_box
    (x0, x1), (y0, y1) = bbox.bounding_box(order="F") if bbox is not None else bounding_box(
        model.shape)  # fmt: skip
    x, y = np.asarray(table["xcentroid"]), np.asarray(table["ycentroid"])
    return table[(x > x0) & (x < x1) & (y > y0) & (y < y1)]


@register
class TweakRegStep(Step):
    """Align exposures on their point sources (relative and to a reference catalog)."""

    alias = "tweakreg"
    class_name = "TweakRegStep"
    description = "Astrometric alignment of an association's exposures"
    Params = TweakRegParams
    input_kind = "association"

    def skip_reason(self, target: Any, params: TweakRegParams) -> str | None:
        """Alignment needs two exposure groups or a reference catalog."""
        models = list(target.of_type("science")) or list(target)
        if params.abs_refcat.strip():
            return None
        if len({group_id(m) for m in models}) < 2:
            log.warning("tweakreg: at least two exposures are required for image alignment")
            return "fewer than two exposures and no abs_refcat"
        return None

    def process(self, target: Exposures, refs: Refs, params: TweakRegParams) -> Exposures:
        """Find sources, fit the alignment and correct the WCS of every science exposure."""
        refcat_name = params.abs_refcat.strip()
        # read first: a network catalog name or a bad file fails before any work
        refcat = read_refcat(refcat_name) if refcat_name else None
        science = target.of_type("science")
        models = list(science) or list(target)
        members = science.members if len(science) else target.members
        for m in models:
            if m.meta.wcs is None:
                raise InputError("tweakreg needs a WCS: run assign_wcs first",
                                 path=m.meta.filename)  # fmt: skip
        catalogs = self._catalogs(models, members, params)
        names = [split_extension(os.path.basename(str(m.meta.filename or f"exposure{k}")))[0]
                 for k, m in enumerate(models)]  # fmt: skip
        results: dict[int, dict[str, Any]] = {k: {} for k in range(len(models))}
        if len({group_id(m) for m in models}) >= 2:
            cfg = MatchConfig(params.minobj, params.searchrad, params.use2dhist,
                              params.separation, params.tolerance, params.xoffset,
                              params.yoffset, params.fitgeometry, params.nclip,
                              params.sigma)  # fmt: skip
            exposures = [Exposure(m, c, n) for m, c, n in zip(models, catalogs, names)]
            found = relative_align(exposures, cfg, enforce_user_order=params.enforce_user_order,
                                   expand_refcat=params.expand_refcat)  # fmt: skip
            for k, r in enumerate(found):
                results[k]["relative"] = r.as_meta()
        if refcat is not None:
            cfg = MatchConfig(params.abs_minobj, params.abs_searchrad, params.abs_use2dhist,
                              params.abs_separation, params.abs_tolerance, 0.0, 0.0,
                              params.abs_fitgeometry, params.abs_nclip,
                              params.abs_sigma)  # fmt: skip
            if params.save_abs_catalog:
                name = f"fit_{split_extension(Path(refcat_name).name)[0]}_ref.ecsv"
                self._save_table(refcat, name, "ecsv")
            exposures = [Exposure(m, c, n) for m, c, n in zip(models, catalogs, names)]
            found = absolute_align(exposures, refcat, cfg)
            for k, r in enumerate(found):
                results[k]["absolute"] = r.as_meta()
        for k, m in enumerate(models):
            if any(r.get("applied") for r in results[k].values()):
                self._update_fits_wcs(m, params)
            section = dict(m.meta.webbcal.to_dict()) if m.meta.webbcal is not None else {}
            section["tweakreg"] = results[k]
            m.meta.webbcal = section
        return target

    # ------------------------------------------------------------------ catalogs
    def _catalogs(self, models: list[Any], members: list[Any], p: TweakRegParams) -> list[Table]:
        user = [self._user_catalog_path(m, member, p) for m, member in zip(models, members)]
        finder = _finder(p)

        def one(k: int) -> Table:
            if user[k] is not None:
                log.info("tweakreg: %s: user catalog %s", models[k].meta.filename, user[k])
                return _user_catalog(user[k])
            return find_sources(models[k].data, _bad(models[k]), finder)

        found = run_members(one, len(models))
        out = []
        for k, (m, table) in enumerate(zip(models, found)):
            table = _in_bbox(table, m)
            if len(table) == 0:
                log.warning("tweakreg: no sources found in %s", m.meta.filename)
            else:
                log.info("tweakreg: detected %d sources in %s", len(table), m.meta.filename)
            if p.save_catalogs and user[k] is None:
                stem = split_extension(os.path.basename(str(m.meta.filename or f"exp{k}")))[0]
                name = f"{stem}_cat.{p.catalog_format}"
                self._save_table(table, name, p.catalog_format)
                m.meta.tweakreg_catalog = name
            out.append(table)
        return out

    def _save_table(self, table: Table, name: str, fmt: str) -> None:
        directory = self.config.common.output_dir if self.config is not None else None
        self.save_product_as(TableProduct(table, fmt), output_path(name, directory))

    @staticmethod
    def _user_catalog_path(model: Any, member: Any, p: TweakRegParams) -> Path | None:
        if not p.use_custom_catalogs:
            return None
        name = os.path.basename(str(model.meta.filename or ""))
        if p.catfile.strip():
            table = _read_catfile(p.catfile)
            if name in table:
                return table[name]
        extra = getattr(member, "extra", None) or {}
        if extra.get("tweakreg_catalog"):
            base = member.path.parent if member.path is not None else Path(".")
            return base / str(extra["tweakreg_catalog"])
        if model.meta.tweakreg_catalog:
            return Path(str(model.meta.tweakreg_catalog))
        return None

    # ------------------------------------------------------------------ FITS WCS
    @staticmethod
    def _update_fits_wcs(model: Any, p: TweakRegParams) -> None:
        shape = tuple(model.shape[-2:])
        region = s_region(footprint(model.meta.wcs, shape))
        if region is not None:
            model.meta.wcsinfo.s_region = region
        if not p.sip_approx:
            return
        try:
            fit = fit_sip(model.meta.wcs, bounding_box(shape), max_pix_error=p.sip_max_pix_error,
                          degree=p.sip_degree, max_inv_pix_error=p.sip_max_inv_pix_error,
                          inv_degree=p.sip_inv_degree, npoints=p.sip_npoints)  # fmt: skip
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ParameterError(f"tweakreg: SIP approximation failed ({exc})") from None
        update_sip_keywords(model, fit.keywords)
