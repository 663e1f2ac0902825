"""resample: drizzle calibrated images onto one undistorted output grid (``_i2d``).

Used by ``calwebb_image2`` (one exposure) and ``calwebb_image3`` (all exposures of an
association product); :func:`resample_models` is the entry point both share.

1. Output grid (:func:`webbcal.wcs.output_grid`): a TAN projection covering every input
   footprint, centred on their union, oriented as the first input (``rotation=None``) or
   with the Y axis at PA ``rotation``, pixel scale ``pixel_scale`` or ``pixel_scale_ratio``
   times the first input's; ``crpix``, ``crval`` and ``output_shape`` fix the rest; or the
   gwcs of ``output_wcs`` (an ASDF file with a ``wcs`` entry).
2. Pixel map of each input (input pixel -> output pixel through both WCSs), evaluated
   exactly on a grid of nodes ``pixmap_stepsize`` pixels apart and interpolated between
   them (cubic; the interpolation error is measured every time and kept below 1e-3 pixel,
   typically 1e-6; :mod:`webbcal.kernels.pixmap`).
3. Weights (``weight_type``): ``ivm`` -- 1 / VAR_RNOISE; ``exptime`` -- TMEASURE (else
   EFFEXPTM); zero for pixels whose DQ has a bit outside ``good_bits``
   (default ``~DO_NOT_USE+NON_SCIENCE``: DO_NOT_USE and NON_SCIENCE pixels are dropped).
4. Sky and intensity scale, as the official step: the sky level ``meta.background.level``
   is subtracted from SCI unless ``meta.background.subtracted``; SCI is multiplied by
   ``iscale = PIXAR_SR / A``, ``A`` the mean pixel area of the input's WCS over its
   bounding box (:func:`intensity_scale`), the variances by ``iscale**2``. Drizzling
   conserves surface brightness times true solid angle, so the output's total flux
   (``sum(SCI) * PIXAR_SR`` of the output) equals the input's ``sum(SCI) * PIXAR_SR``; a
   uniform surface brightness comes out multiplied by ``iscale`` (within 0.2 % of 1 for
   full frames: PIXAR_SR is the area at the reference pixel).
5. Drizzle (:class:`webbcal.kernels.resample_accum.Drizzler`): SCI, WHT, CON and, when
   ``report_var`` or ``enable_err``, the variances VAR_RNOISE, VAR_POISSON, VAR_FLAT as the
   official step (square roots drizzled with the data's weights, inputs combined with
   squared weights); ERR = sqrt of their sum. These are the variances of single output
   pixels: drizzling correlates neighbouring output pixels (an input pixel lands on
   several), so summing ERR**2 over an aperture overestimates the variance of its flux,
   by about ``1 / (3 r)`` for a radius of ``r`` pixels with ``pixfrac=1`` and equal input
   and output scales (3 % in sigma at r = 5; less for smaller ``pixfrac``).

The product is an ImageModel (SCI, ERR, CON, WHT, VAR_*; no DQ) whose metadata are those
of the first input, with the output WCS (gwcs and TAN keywords), ``S_REGION``, the output
pixel area (PIXAR_SR/PIXAR_A2: the nominal ``pixel_scale**2``, or the mean pixel area of
``output_wcs``) and ``meta.resample`` (NDRIZ, PIXFRAC, RESWHT, PXSCLRT: ``pixel_scale_ratio``,
or the output scale over the first input's mean pixel scale when ``pixel_scale`` or
``output_wcs`` set the grid).

The helpers :func:`parse_fillval`, :func:`input_range`, :func:`measurement_time`,
:func:`input_pixel_scale`, :func:`intensity_scale`, :func:`sky_level`,
:func:`sky_subtracted`, :func:`pixel_mapping`, :func:`common_grid` and
:func:`input_node_map` are public: ``outlier_detection`` drizzles its single images with
them. Inside ``calwebb_image3`` the output grid, the pixel maps and the mean pixel areas are
computed once for both steps (:func:`webbcal.steps._members.shared_geometry`).
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from webbcal.core import Exposures, Refs, Step, param, register
from webbcal.datamodels import ImageModel, dqflags
from webbcal.errors import InputError, ParameterError
from webbcal.kernels.pixmap import NodeMap, node_map
from webbcal.kernels.resample_accum import KERNELS, Drizzler, drizzle_weight
from webbcal.steps._members import read_arrays, shared
from webbcal.steps.assign_wcs import update_sip_keywords
from webbcal.wcs import (
    Pointing,
    fit_sip,
    footprint,
    mean_pixel_area,
    output_grid,
    s_region,
    scale_at,
)
from webbcal.wcs.imaging import bounding_box

log = logging.getLogger(__name__)

__all__ = [
    "ResampleParams",
    "ResampleStep",
    "common_grid",
    "header_table",
    "input_node_map",
    "input_pixel_scale",
    "input_range",
    "intensity_scale",
    "mean_input_pixel_area",
    "measurement_time",
    "parse_fillval",
    "pixel_mapping",
    "resample_models",
    "sky_level",
    "sky_subtracted",
]


@dataclass(frozen=True, kw_only=True)
class ResampleParams:
    """Parameters of resample (the official ones webbcal implements, plus the pixel map)."""

    pixfrac: float = param(1.0, "Linear fraction of each input pixel drizzled (0, 1]")
    kernel: str = param("square", f"Drizzle kernel: {', '.join(KERNELS)}")
    fillval: str = param("NAN", "Output value where no input landed")
    weight_type: str = param("ivm", "Input weights: ivm (1/VAR_RNOISE) or exptime")
    output_shape: tuple[int, int] | None = param(None, "Output size nx,ny")
    crpix: tuple[float, float] | None = param(None, "Reference pixel x,y of the output (0-based)")
    crval: tuple[float, float] | None = param(None, "RA,Dec of the reference pixel [deg]")
    rotation: float | None = param(None, "PA of the output Y axis [deg] (None: as the input)")
    pixel_scale_ratio: float = param(1.0, "Output / input pixel scale")
    pixel_scale: float | None = param(None, "Output pixel scale [arcsec] (overrides the ratio)")
    output_wcs: str = param("", "ASDF file whose 'wcs' entry is the output gwcs")
    good_bits: str = param("~DO_NOT_USE+NON_SCIENCE", "DQ bits that do not exclude a pixel")
    enable_ctx: bool = param(True, "Write the context (CON) array")
    enable_err: bool = param(True, "Write ERR (sqrt of the resampled variances)")
    report_var: bool = param(True, "Write the resampled VAR_* arrays")
    pixmap_stepsize: int = param(
        32, "Spacing [pixels] of the exactly evaluated pixel-map nodes (1: every pixel)"
    )


def parse_fillval(text: str) -> float:
    """The ``fillval`` parameter as a number (NaN for ``NAN``, ``INDEF``, ``NONE`` or empty)."""
    value = str(text).strip().upper()
    if value in ("NAN", "INDEF", "NONE", ""):
        return math.nan
    try:
        return float(value)
    except ValueError:
        raise ParameterError(f"resample: fillval must be a number or NAN, got {text!r}") from None


def _check(models: Sequence[Any], p: ResampleParams) -> None:
    if p.kernel not in KERNELS:
        raise ParameterError(f"resample: unknown kernel {p.kernel!r}; use {', '.join(KERNELS)}")
    if p.weight_type not in ("ivm", "exptime"):
        raise ParameterError(f"resample: weight_type must be ivm or exptime, not {p.weight_type!r}")
    if not 0.0 < p.pixfrac <= 1.0:
        raise ParameterError(f"resample: pixfrac must be in (0, 1], got {p.pixfrac}")
    for m in models:
        if m.meta.wcs is None:
            raise InputError("resample needs a WCS: run assign_wcs first", path=m.meta.filename)
        if m.shape is None or len(m.shape) != 2:
            raise InputError(f"resample works on 2-D images, got {m.shape}", path=m.meta.filename)


def _read_output_wcs(path: str) -> tuple[Any, tuple[int, int]]:
    import asdf

    try:
        with asdf.open(path, lazy_load=False) as af:
            wcs = af.tree["wcs"]
            shape = af.tree.get("array_shape")
            pixel_shape = af.tree.get("pixel_shape")
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"output_wcs: cannot read a 'wcs' entry ({exc})", path=path) from None
    if pixel_shape is not None:
        shape = (int(pixel_shape[1]), int(pixel_shape[0]))
    elif shape is None and wcs.array_shape is not None:
        shape = tuple(wcs.array_shape)
    elif shape is None and wcs.bounding_box is not None:
        (_, x1), (_, y1) = wcs.bounding_box.bounding_box(order="F")
        shape = (int(y1 + 0.5), int(x1 + 0.5))
    if shape is None:
        raise InputError("output_wcs has no array shape or bounding box", path=path)
    shape = (int(shape[0]), int(shape[1]))
    wcs.bounding_box = bounding_box(shape)
    wcs.array_shape = shape
    return wcs, shape


def input_range(model: Any) -> tuple[int, int, int, int]:
    """Input pixels drizzled, ``(xmin, xmax, ymin, ymax)`` inclusive: the WCS bounding box."""
    ny, nx = model.shape
    bbox = model.meta.wcs.bounding_box
    if bbox is None:
        return 0, nx - 1, 0, ny - 1
    (x1, x2), (y1, y2) = bbox.bounding_box(order="F")
    xmin, ymin = max(0, int(x1 + 0.5)), max(0, int(y1 + 0.5))
    return xmin, max(xmin, min(nx - 1, int(x2 + 0.5))), ymin, max(ymin, min(ny - 1, int(y2 + 0.5)))


def measurement_time(model: Any) -> float:
    """The ``exptime`` weight of an input: TMEASURE, else EFFEXPTM, else 1."""
    exp = model.meta.exposure
    t = exp.measurement_time if exp.measurement_time is not None else exp.exposure_time
    return float(t) if t else 1.0


def mean_input_pixel_area(model: Any) -> float | None:
    """Mean pixel solid angle [sr] of an input over its bounding box, from its WCS."""
    wcs = model.meta.wcs

    def compute() -> float | None:
        xmin, xmax, ymin, ymax = input_range(model)
        return mean_pixel_area(wcs, (xmin, xmax), (ymin, ymax))

    return shared(("pixel_area", tuple(model.shape)), (wcs,), compute)


def input_pixel_scale(model: Any, area_sr: float | None = None) -> float:
    """Pixel scale [arcsec] of an input: sqrt of its mean pixel area (WCS), else PIXAR_A2.

    ``area_sr`` is :func:`mean_input_pixel_area`, when already computed.
    """
    area = area_sr if area_sr is not None else mean_input_pixel_area(model)
    if area:
        return math.degrees(math.sqrt(area)) * 3600.0
    nominal = model.meta.photometry.pixelarea_arcsecsq
    if nominal:
        return math.sqrt(float(nominal))
    info = model.meta.wcsinfo
    return scale_at(model.meta.wcs, float(info.ra_ref), float(info.dec_ref))


def intensity_scale(model: Any, area_sr: float | None = None) -> float:
    """Factor applied to an input's SCI (its variances get the square), as the official step.

    Surface brightness calibrated with the nominal pixel area PIXAR_SR is drizzled as if its
    pixels had that area: the factor is PIXAR_SR over the mean pixel area of the input's
    WCS (:func:`mean_input_pixel_area`, or ``area_sr``), so the drizzled total flux equals
    ``sum(SCI) * PIXAR_SR`` of the input. 1 when PIXAR_SR is not set.
    """
    nominal = model.meta.photometry.pixelarea_steradians
    if not nominal:
        return 1.0
    area = area_sr if area_sr is not None else mean_input_pixel_area(model)
    if not area:
        raise InputError(
            "resample: cannot compute the mean pixel area from the WCS", path=model.meta.filename
        )
    return float(nominal) / area


def sky_level(model: Any) -> float:
    """The sky still in SCI: ``meta.background.level`` unless it was subtracted, else 0."""
    bkg = model.meta.background
    if bkg.level is None or bkg.subtracted:
        return 0.0
    return float(bkg.level)


def sky_subtracted(model: Any) -> np.ndarray:
    """SCI minus :func:`sky_level` (SCI itself when there is nothing to subtract)."""
    level = sky_level(model)
    return model.data - np.float32(level) if level else model.data


def pixel_mapping(wcs_in: Any, wcs_out: Any):
    """Input pixel -> output pixel function ``(x, y) -> (x_out, y_out)`` through the sky."""
    forward = wcs_in.forward_transform
    backward = wcs_out.backward_transform

    def mapping(x: np.ndarray, y: np.ndarray):
        return backward(*forward(x, y))

    return mapping


def common_grid(models: Sequence[Any], **options: Any) -> Any:
    """:func:`webbcal.wcs.output_grid` of ``models`` (first: reference), with ``options``."""
    wcs_list = [m.meta.wcs for m in models]
    shapes = [tuple(m.shape) for m in models]
    ref = Pointing.from_model(models[0])
    bound = inspect.signature(output_grid).bind(wcs_list, shapes, ref, **options)
    bound.apply_defaults()
    settings = tuple(
        (k, tuple(v) if isinstance(v, list) else v)
        for k, v in bound.arguments.items()
        if k not in ("wcs_list", "shapes")
    )
    key = ("output_grid", tuple(shapes), settings)
    try:
        hash(key)
    except TypeError:
        return output_grid(wcs_list, shapes, ref, **options)
    return shared(key, wcs_list, lambda: output_grid(wcs_list, shapes, ref, **options))


def input_node_map(model: Any, out_wcs: Any, step: int = 32) -> NodeMap:
    """:func:`webbcal.kernels.pixmap.node_map` of an input's pixels onto ``out_wcs``."""
    wcs = model.meta.wcs
    shape = tuple(model.shape)
    return shared(("node_map", shape, step), (wcs, out_wcs),
                  lambda: node_map(pixel_mapping(wcs, out_wcs), shape, step=step))  # fmt: skip


def resample_models(models: Sequence[Any], p: ResampleParams) -> ImageModel:
    """Drizzle ``models`` (2-D, with WCS) onto one output grid; returns the i2d model."""
    _check(models, p)
    first = models[0]
    areas = [mean_input_pixel_area(m) for m in models]
    if p.output_wcs:
        out_wcs, shape = _read_output_wcs(p.output_wcs)
        grid = None
        out_area = mean_pixel_area(out_wcs, (0, shape[1] - 1), (0, shape[0] - 1))
        if out_area is None:
            raise InputError("output_wcs: cannot compute its pixel area", path=p.output_wcs)
        out_scale = math.degrees(math.sqrt(out_area)) * 3600.0
    else:
        grid = common_grid(
            models,
            pixel_scale_ratio=p.pixel_scale_ratio,
            pixel_scale=p.pixel_scale,
            rotation=p.rotation,
            crpix=p.crpix,
            crval=p.crval,
            output_shape=p.output_shape,
        )
        out_wcs, shape, out_scale = grid.wcs, grid.shape, grid.pixel_scale
    if grid is not None and not p.pixel_scale:
        ratio = float(p.pixel_scale_ratio)
    else:
        ratio = out_scale / input_pixel_scale(first, areas[0])
    drizzler = Drizzler(
        shape,
        kernel=p.kernel,
        pixfrac=p.pixfrac,
        fillval=parse_fillval(p.fillval),
        weight_type=p.weight_type,
        pixel_scale_ratio=ratio,
    )
    bad_bits = dqflags.interpret_bit_flags(p.good_bits)
    bad = None if bad_bits is None else (~bad_bits) & 0xFFFFFFFF
    wanted = p.report_var or p.enable_err
    weight = None  # one buffer for every input's weights
    buffers: dict[str, np.ndarray] = {}  # and one for each variance array
    for m, area in zip(models, areas):
        nm = input_node_map(m, out_wcs, max(1, p.pixmap_stepsize))
        ivm = p.weight_type == "ivm" and m.has("var_rnoise")
        names = [n for n in ("var_rnoise", "var_poisson", "var_flat") if wanted and m.has(n)]
        if ivm and "var_rnoise" not in names:
            names.insert(0, "var_rnoise")
        arrays = dict(zip(names, read_arrays(m, names, buffers)))
        weight = drizzle_weight(m.dq, bad, var_rnoise=arrays.get("var_rnoise") if ivm else None,
                                exptime=measurement_time(m), out=weight)  # fmt: skip
        variances = tuple(
            arrays.get(name) if wanted else None
            for name in ("var_rnoise", "var_poisson", "var_flat")
        )
        del arrays
        iscale = intensity_scale(m, area)
        added = drizzler.add(nm, m.data, weight, variances, exptime=measurement_time(m),
                             iscale=iscale, sky=sky_level(m), bbox=input_range(m))  # fmt: skip
        del variances  # not held while the next input is read
        log.info(
            "resample: %s drizzled (sky %.4g subtracted, intensity scale %.6f, pixel map "
            "error %.1g px)%s",
            m.meta.filename, sky_level(m), iscale, nm.error, "" if added else " -- no overlap",
        )  # fmt: skip
    del weight, buffers
    result = drizzler.finalize()
    return _output_model(models, p, result, out_wcs, shape, grid, out_scale, ratio)


def _output_model(models, p, result, out_wcs, shape, grid, out_scale, ratio) -> ImageModel:
    first = models[0]
    out = ImageModel(data=result.data)
    meta = copy.deepcopy({k: v for k, v in first.meta.to_dict().items() if k != "wcs"})
    out.meta.update(meta)
    out.extra_fits.update(copy.deepcopy({"PRIMARY": first.extra_fits.get("PRIMARY", [])}))
    out.wht = result.wht
    if p.enable_ctx:
        out.con = result.con
    if p.report_var:
        for name in ("var_rnoise", "var_poisson", "var_flat"):
            if getattr(result, name) is not None:
                setattr(out, name, getattr(result, name))
    if p.enable_err and result.err is not None:
        out.err = result.err
    out.meta.wcs = out_wcs
    if grid is not None:
        keywords = grid.fits_keywords()
    else:
        keywords = fit_sip(out_wcs, bounding_box(shape), degree=1, inv_degree=1).keywords
        keywords = {k: v for k, v in keywords.items() if not k.endswith("ORDER")}
        keywords.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN")
    update_sip_keywords(out, keywords)
    region = s_region(footprint(out_wcs, shape))
    if region is not None:
        out.meta.wcsinfo.s_region = region
    area_sr = math.radians(out_scale / 3600.0) ** 2
    out.meta.photometry.pixelarea_steradians = area_sr
    out.meta.photometry.pixelarea_arcsecsq = out_scale**2
    exposures = {str(m.meta.filename) for m in models}
    out.meta.resample.pointings = len(exposures)
    out.meta.resample.pixfrac = p.pixfrac
    out.meta.resample.weight_type = p.weight_type
    out.meta.resample.pixel_scale_ratio = ratio
    if len(models) > 1:
        _combine_times(out, models)
    if "hdrtab" in ImageModel.fields:  # declared by webbcal.datamodels.products
        out.hdrtab = header_table(models)
    return out


def header_table(models: Sequence[Any]) -> np.ndarray:
    """The HDRTAB table of an i2d: one row per input, one column per header keyword.

    Columns are the FITS keywords of the PRIMARY and SCI headers (SIP coefficients aside)
    that at least one input has, in the order of :data:`webbcal.datamodels.keywords.KEYWORDS`;
    a value an input lacks is NaN (``"nan"`` in a text column), as in the official table.
    """
    from webbcal.datamodels.keywords import KEYWORDS

    flats = [m.meta.to_flat_dict() for m in models]
    columns: dict[str, list[Any]] = {}
    for kw in KEYWORDS:
        if kw.hdu not in ("PRIMARY", "SCI") or kw.keyword in columns:
            continue
        if kw.keyword.startswith(("A_", "B_", "AP_", "BP_")) and kw.keyword[-1].isdigit():
            continue  # SIP coefficients of the inputs' WCS approximations
        path = kw.path.removeprefix("meta.")
        values = [flat.get(path) for flat in flats]
        if all(v is None for v in values):
            continue
        columns[kw.keyword] = values
    arrays, dtype = [], []
    for name, values in columns.items():
        present = [v for v in values if v is not None]
        if all(isinstance(v, (bool, np.bool_)) for v in present):
            column = np.array([np.nan if v is None else int(v) for v in values])
        elif all(isinstance(v, (int, float, np.number)) for v in present):
            column = np.array([np.nan if v is None else v for v in values])
        else:
            column = np.array(["nan" if v is None else str(v) for v in values], dtype="S")
        arrays.append(column)
        dtype.append((name, column.dtype))
    table = np.zeros(len(models), dtype=dtype)
    for (name, _), column in zip(dtype, arrays):
        table[name] = column
    return table


def _combine_times(out: ImageModel, models: Sequence[Any]) -> None:
    """Exposure times of a combination: sums, first start and last end."""
    exp = out.meta.exposure
    for attr in ("exposure_time", "measurement_time", "duration", "effective_exposure_time"):
        values = [getattr(m.meta.exposure, attr) for m in models]
        if all(v is not None for v in values):
            setattr(exp, attr, float(sum(values)))
    starts = [m.meta.exposure.start_time for m in models if m.meta.exposure.start_time]
    ends = [m.meta.exposure.end_time for m in models if m.meta.exposure.end_time]
    if starts:
        exp.start_time = min(starts)
    if ends:
        exp.end_time = max(ends)


@register
class ResampleStep(Step):
    """Drizzle the calibrated images of an exposure or association into one ``_i2d``."""

    alias = "resample"
    class_name = "ResampleStep"
    description = "Drizzle images onto an undistorted output grid (_i2d)"
    Params = ResampleParams
    input_kind = "association"
    suffix = "i2d"

    def skip_reason(self, target: Any, params: ResampleParams) -> str | None:
        """Per-integration cubes are not resampled."""
        models = target if isinstance(target, Exposures) else [target]
        for m in models:
            if m.shape is not None and len(m.shape) != 2:
                return "resample works on 2-D images; _calints cubes are not resampled"
        return None

    def process(self, target: Any, refs: Refs, params: ResampleParams) -> ImageModel:
        """Resample the science exposures of ``target`` (an Exposures or one model)."""
        if isinstance(target, Exposures):
            models = list(target.of_type("science")) or list(target)
        else:
            models = [target]
        return resample_models(models, params)
