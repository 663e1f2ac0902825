"""Detecting sources in an image: background, star finders and segmentation.

:func:`find_sources` is what ``tweakreg`` (and ``source_catalog`` for its detection) runs,
as the official ``make_tweakreg_catalog``:

1. a background and RMS map (:func:`webbcal.kernels.bkgmesh.background_mesh`, boxes of
   ``bkg_boxsize``) is subtracted; the detection threshold is ``snr_threshold`` times the
   median RMS of the unmasked pixels (a per-pixel threshold for segmentation);
2. ``starfinder``:

   * ``iraf`` / ``dao`` -- :mod:`webbcal.kernels.starfind` with ``kernel_fwhm``,
     ``sigma_radius``, ``minsep_fwhm`` (peak footprint radius ``minsep_fwhm * kernel_fwhm``
     when larger than the kernel's), the ``sharplo``/``sharphi`` and ``roundlo``/``roundhi``
     ranges (DAO: both roundness statistics), ``peakmax`` and the ``brightest`` sources by
     flux;
   * ``segmentation`` -- the image convolved with a normalised Gaussian of ``kernel_fwhm``
     is thresholded per pixel, segments of at least ``npixels`` connected pixels
     (``connectivity`` 4 or 8) are kept and, with ``deblend``, split by the photutils
     deblender (``nlevels``, ``contrast``, ``multithresh_mode``); centroids are the
     segments' image moments.

Masked pixels (``bad``: DQ, NaN, no coverage) are ignored throughout.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from webbcal.kernels.bkgmesh import background_mesh, masked_median
from webbcal.kernels.segment import label_sources, segment_moments
from webbcal.kernels.starfind import (
    convolve_kernel,
    dao_properties,
    find_peaks,
    iraf_properties,
    star_kernel,
)

log = logging.getLogger(__name__)

__all__ = [
    "STARFINDERS",
    "Background",
    "FinderConfig",
    "estimate_background",
    "find_sources",
    "gaussian_convolve",
    "segment_image",
]

STARFINDERS = ("iraf", "dao", "segmentation")


@dataclass(frozen=True)
class FinderConfig:
    """Source-finding options (the official ``starfinder`` parameters)."""

    starfinder: str = "iraf"
    snr_threshold: float = 10.0
    kernel_fwhm: float = 2.5
    bkg_boxsize: int = 400
    minsep_fwhm: float = 0.0
    sigma_radius: float = 1.5
    sharplo: float = 0.5
    sharphi: float = 2.0
    roundlo: float = 0.0
    roundhi: float = 0.2
    brightest: int | None = 200
    peakmax: float | None = None
    npixels: int = 10
    connectivity: int = 8
    nlevels: int = 32
    contrast: float = 0.001
    multithresh_mode: str = "exponential"
    deblend: bool = True


@dataclass
class Background:
    """Background and RMS maps of an image and its median RMS (unmasked pixels)."""

    background: np.ndarray
    rms: np.ndarray
    median_rms: float


def estimate_background(data: np.ndarray, bad: np.ndarray, box_size: int) -> Background:
    """Background and RMS maps (see :mod:`webbcal.kernels.bkgmesh`)."""
    bkg, rms = background_mesh(data, bad, box_size)
    median = float(np.median(rms)) if bad.all() else masked_median(rms, bad)
    return Background(bkg, rms, median)


def gaussian_convolve(data: np.ndarray, bad: np.ndarray, fwhm: float) -> np.ndarray:
    """``data`` (bad pixels as 0) convolved with a normalised circular Gaussian of ``fwhm``.

    The kernel spans +-1.5 FWHM (at least 5 pixels) and is separable.
    """
    from scipy.ndimage import convolve1d

    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    half = max(2, math.ceil(1.5 * fwhm))
    t = np.arange(-half, half + 1, dtype=float)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    work = np.where(bad, np.float32(0.0), data).astype(np.float32, copy=False)
    tmp = convolve1d(work, g.astype(np.float32), axis=0, mode="constant")
    return convolve1d(tmp, g.astype(np.float32), axis=1, mode="constant", output=work)


def segment_image(
    detection: np.ndarray,
    threshold: np.ndarray | float,
    bad: np.ndarray,
    cfg: FinderConfig,
) -> tuple[np.ndarray, int]:
    """Segmentation (int32 labels) of a convolved ``detection`` image, deblended if asked."""
    segm, n = label_sources(detection, threshold, bad, cfg.npixels, cfg.connectivity)
    if n == 0 or not cfg.deblend:
        return segm, n
    from photutils.segmentation import SegmentationImage, deblend_sources

    deblended = deblend_sources(
        np.where(bad, 0.0, detection),
        SegmentationImage(segm),
        cfg.npixels,
        n_levels=cfg.nlevels,
        contrast=cfg.contrast,
        mode=cfg.multithresh_mode,
        connectivity=cfg.connectivity,
        relabel=True,
        progress_bar=False,
    )
    return deblended.data.astype(np.int32), int(deblended.n_labels)


def _select(table: Table, cfg: FinderConfig) -> Table:
    if cfg.peakmax is not None:
        table = table[~(table["peak"] >= cfg.peakmax)]
    if cfg.brightest is not None and len(table) > cfg.brightest:
        order = np.argsort(-np.asarray(table["flux"]), kind="stable")[: cfg.brightest]
        table = table[np.sort(order)]
    table["id"] = np.arange(1, len(table) + 1)
    return table


def _in_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (values >= lo) & (values <= hi)


def _star_table(data: np.ndarray, bad: np.ndarray, threshold: float, cfg: FinderConfig) -> Table:
    kernel = star_kernel(cfg.kernel_fwhm, cfg.sigma_radius)
    conv = convolve_kernel(data, kernel.data)
    footprint = kernel.mask
    sep = cfg.minsep_fwhm * cfg.kernel_fwhm
    if sep > kernel.radius:
        r = math.ceil(sep)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        footprint = np.hypot(xx, yy) <= sep
    dao = cfg.starfinder == "dao"
    ys, xs = find_peaks(conv, threshold * (kernel.rel_err if dao else 1.0), footprint, bad)
    if dao:
        p = dao_properties(data, conv, ys, xs, kernel.mask, kernel.gauss, kernel.sigma)
        t = Table(
            {
                "xcentroid": p[:, 0], "ycentroid": p[:, 1], "sharpness": p[:, 2],
                "roundness1": p[:, 3], "roundness2": p[:, 4], "peak": p[:, 5], "flux": p[:, 6],
            }
        )  # fmt: skip
        keep = (
            _in_range(p[:, 2], cfg.sharplo, cfg.sharphi)
            & _in_range(p[:, 3], cfg.roundlo, cfg.roundhi)
            & _in_range(p[:, 4], cfg.roundlo, cfg.roundhi)
        )
    else:
        p = iraf_properties(data, ys, xs, kernel.mask)
        sharp = p[:, 2] / kernel.fwhm
        t = Table(
            {
                "xcentroid": p[:, 0], "ycentroid": p[:, 1], "fwhm": p[:, 2], "sharpness": sharp,
                "roundness": p[:, 3], "pa": p[:, 4], "sky": p[:, 5], "peak": p[:, 6],
                "flux": p[:, 7], "npix": p[:, 8],
            }
        )  # fmt: skip
        keep = (
            np.isfinite(p[:, 0])
            & _in_range(sharp, cfg.sharplo, cfg.sharphi)
            & _in_range(p[:, 3], cfg.roundlo, cfg.roundhi)
        )
    keep &= np.isfinite(p[:, 0]) & np.isfinite(p[:, 1])
    return t[keep]


def _segment_table(data: np.ndarray, bad: np.ndarray, rms: np.ndarray, cfg: FinderConfig) -> Table:
    detection = gaussian_convolve(data, bad, cfg.kernel_fwhm)
    segm, n = segment_image(detection, cfg.snr_threshold * rms, bad, cfg)
    m = segment_moments(np.where(bad, np.float32(0.0), data), np.empty((0, 0), np.float32),
                        segm, n)  # fmt: skip
    t = Table({"xcentroid": m[:, 3], "ycentroid": m[:, 4], "flux": m[:, 1], "peak": m[:, 12]})
    return t[np.isfinite(m[:, 3]) & np.isfinite(m[:, 4])]


def find_sources(
    data: np.ndarray, bad: np.ndarray, cfg: FinderConfig, background: Background | None = None
) -> Table:
    """Sources of ``data`` (not background subtracted) as an astropy Table.

    Columns: ``id``, ``xcentroid``, ``ycentroid``, ``flux``, ``peak`` and the star finder's
    shape statistics; rows in image order, at most ``brightest``.
    """
    if cfg.starfinder not in STARFINDERS:
        raise ValueError(f"unknown starfinder {cfg.starfinder!r}; use {', '.join(STARFINDERS)}")
    bkg = background or estimate_background(data, bad, cfg.bkg_boxsize)
    sub = np.subtract(data, bkg.background, dtype=np.float32)
    sub[bad] = 0.0
    if cfg.starfinder == "segmentation":
        table = _segment_table(sub, bad, bkg.rms, cfg)
    else:
        table = _star_table(sub, bad, cfg.snr_threshold * bkg.median_rms, cfg)
    table = _select(table, cfg)
    log.debug("%s found %d sources (threshold %.3g x rms %.3g)", cfg.starfinder, len(table),
              cfg.snr_threshold, bkg.median_rms)  # fmt: skip
    return table
