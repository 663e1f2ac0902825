"""outlier_detection (imaging): flag cosmic rays and other outliers against a median image.

The official imaging algorithm:

1. each exposure is drizzled alone onto the common output grid of ``resample``
   (:func:`webbcal.wcs.output_grid`; ``kernel``, ``pixfrac``, ``good_bits``,
   ``weight_type``), after subtracting its sky level when ``skymatch`` measured one and
   did not subtract it, and scaled by resample's intensity scale; with many cores, several
   exposures are drizzled at once (:mod:`webbcal.steps._members`);
2. pixels of a single drizzle whose weight is below ``maskpt`` times the mean weight
   (3-sigma clipped about the mean, 5 passes) are set to NaN;
3. the median of the single drizzles is taken pixel by pixel (NaNs ignored). With
   ``in_memory=False`` the drizzles are kept in temporary files and the median is computed
   in row sections, so memory holds about one image whatever the number of exposures;
4. the median is blotted back to each exposure (Lagrange ``poly5`` interpolation through
   the same pixel map) and :func:`webbcal.kernels.outlier.flag_outliers` applies the
   ``snr`` ("5.0 4.0") and ``scale`` ("1.2 0.7") thresholds with the exposure's ERR as
   noise and the blotted median's derivative, plus ``backg`` and the sky level;
5. outliers among the pixels not already excluded by ``good_bits`` get DQ
   ``OUTLIER | DO_NOT_USE``. SCI, ERR and the variance arrays are not
   changed (the variance specification: this step only *uses* ERR).

With ``resample_data=False`` the exposures (same shape) are compared to their pixel-wise
median directly: ``|sci - median| > snr1 * err``. ``save_intermediate_results`` writes the
single drizzles (``_outlier_i2d``), the median (``_median``) and the blotted images
(``_blot``). The step needs at least two exposures; time-series, coronagraphic and
spectroscopic exposures (other official algorithms) are SKIPPED. The flagged exposures are
the ``_crf`` products (association candidate id in their names).
"""

from __future__ import annotations

import copy
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from webbcal.core import Exposures, Refs, Step, param, register
from webbcal.core.naming import exposure_output_name, output_path
from webbcal.datamodels import ImageModel, dqflags
from webbcal.errors import InputError, ParameterError
from webbcal.kernels.median import median_of_sections, nanmedian_stack
from webbcal.kernels.outlier import apply_flags, blot, finish_single, flag_outliers
from webbcal.kernels.pixmap import NodeMap
from webbcal.kernels.resample_accum import Drizzler, drizzle_weight
from webbcal.kernels.skystats import STATISTICS, sky_value
from webbcal.steps._common import exp_type_of, is_tso
from webbcal.steps._members import member_workers, read_arrays, run_members
from webbcal.steps.resample import (
    common_grid,
    input_node_map,
    input_pixel_scale,
    input_range,
    intensity_scale,
    measurement_time,
    parse_fillval,
    sky_level,
    sky_subtracted,
)
from webbcal.steps.skymatch import bad_bits_of

log = logging.getLogger(__name__)

__all__ = ["OutlierDetectionParams", "OutlierDetectionStep"]

#: Exposure types with another official outlier algorithm (not implemented here).
_OTHER_MODES = ("NRC_CORON", "MIR_LYOT", "MIR_4QPM", "NRC_TSIMAGE")


@dataclass(frozen=True, kw_only=True)
class OutlierDetectionParams:
    """Parameters of outlier_detection (the official imaging ones)."""

    weight_type: Literal["ivm", "exptime"] = param("ivm", "Drizzle weights: ivm or exptime")
    pixfrac: float = param(1.0, "Drizzle pixel fraction (0, 1]")
    kernel: Literal["square", "point", "turbo"] = param("square", "Drizzle kernel")
    fillval: str = param("NAN", "Value of single-drizzle pixels without input")
    maskpt: float = param(0.7, "Weight fraction (of the mean) below which pixels are masked")
    snr: str = param("5.0 4.0", "Signal-to-noise thresholds: detection, neighbours")
    scale: str = param("1.2 0.7", "Derivative scale factors: detection, neighbours")
    backg: float = param(0.0, "Background added to the blotted median")
    save_intermediate_results: bool = param(False, "Save single drizzles, median and blots")
    resample_data: bool = param(True, "Drizzle before the median (False: compare directly)")
    good_bits: str = param("~DO_NOT_USE", "DQ bits that do not exclude a pixel")
    in_memory: bool = param(True, "Keep the single drizzles in memory (False: temp files)")


def _pair(text: str, name: str) -> tuple[float, float]:
    try:
        values = [float(v) for v in str(text).replace(",", " ").split()]
    except ValueError:
        values = []
    if len(values) != 2:
        raise ParameterError(f"outlier_detection: {name} must be two numbers, got {text!r}")
    return values[0], values[1]


def _weight_threshold(wht: np.ndarray, maskpt: float) -> float:
    """``maskpt`` times the 3-sigma clipped (5 passes) mean of the positive weights."""
    mean, count = sky_value(np.ravel(wht), STATISTICS["mean"], 1e-30, np.nan, 5, 3.0, 3.0, 0.1)
    return float(maskpt * mean) if count else np.inf


def _buffers(
    model: Any, shape: tuple[int, int], p: OutlierDetectionParams, stack: _Stack
) -> dict[str, np.ndarray]:
    """A single drizzle's buffers for exposures shaped as ``model`` on a ``shape`` grid."""
    bufs = {"wht": np.empty(shape, np.float32), "weight": np.empty(model.shape, np.float32)}
    if stack.plane(0) is None:
        bufs["image"] = np.empty(shape, np.float32)
    if p.weight_type == "ivm" and model.has("var_rnoise"):
        bufs["var_rnoise"] = np.empty(model.shape, np.float32)
    return bufs


class _Stack:
    """The single drizzles, in memory or in temporary files (one per exposure)."""

    def __init__(self, n: int, shape: tuple[int, int], in_memory: bool) -> None:
        self.shape = shape
        self.n = n
        self._array = np.empty((n, *shape), np.float32) if in_memory else None
        self._dir = None if in_memory else tempfile.TemporaryDirectory(prefix="webbcal-outlier-")
        self._files: list[Path | None] = [None] * n

    def plane(self, k: int) -> np.ndarray | None:
        """The in-memory plane of drizzle ``k`` (None for files), to drizzle straight into."""
        return None if self._array is None else self._array[k]

    def put(self, k: int, image: np.ndarray) -> None:
        if self._array is not None:
            if not np.may_share_memory(image, self._array[k]):
                self._array[k] = image
            return
        path = Path(self._dir.name) / f"drizzle{k}.f32"
        np.ascontiguousarray(image, np.float32).tofile(path)
        self._files[k] = path

    def _rows(self, y0: int, y1: int) -> np.ndarray:
        nx = self.shape[1]
        out = np.empty((self.n, y1 - y0, nx), np.float32)
        for k, path in enumerate(self._files):
            with open(path, "rb") as f:
                f.seek(y0 * nx * 4)
                out[k] = np.fromfile(f, np.float32, (y1 - y0) * nx).reshape(y1 - y0, nx)
        return out

    def median(self) -> np.ndarray:
        if self._array is not None:
            return nanmedian_stack(self._array)
        rows = max(1, self.shape[0] // max(1, self.n))
        return median_of_sections(self._rows, self.shape, rows)

    def close(self) -> None:
        self._array = None
        if self._dir is not None:
            self._dir.cleanup()


@register
class OutlierDetectionStep(Step):
    """Flag outliers of each exposure against the median of all (imaging)."""

    alias = "outlier_detection"
    class_name = "OutlierDetectionStep"
    description = "Flag cosmic rays and outliers against a median image (_crf)"
    Params = OutlierDetectionParams
    input_kind = "association"
    suffix = "crf"

    def skip_reason(self, target: Any, params: OutlierDetectionParams) -> str | None:
        """At least two 2-D imaging exposures are needed."""
        models = list(target.of_type("science")) or list(target)
        if len(models) < 2:
            return f"input only contains {len(models)} exposure(s)"
        for m in models:
            if m.shape is None or len(m.shape) != 2:
                return "only 2-D images are handled (the time-series algorithm is not built)"
            if exp_type_of(m) in _OTHER_MODES or is_tso(m):
                return f"the {exp_type_of(m)} outlier algorithm is not implemented"
        return None

    def process(self, target: Exposures, refs: Refs, params: OutlierDetectionParams) -> Exposures:
        """Flag the outliers of every science exposure (DQ updated in place)."""
        snr = _pair(params.snr, "snr")
        scale = _pair(params.scale, "scale")
        if not 0.0 < params.pixfrac <= 1.0:
            raise ParameterError(
                f"outlier_detection: pixfrac must be in (0, 1], got {params.pixfrac}"
            )
        science = target.of_type("science")
        models = list(science) or list(target)
        bad = bad_bits_of(params.good_bits, "outlier_detection good_bits")
        if params.resample_data:
            for m in models:
                if m.meta.wcs is None:
                    raise InputError("outlier_detection needs a WCS: run assign_wcs first",
                                     path=m.meta.filename)  # fmt: skip
            masks = self._with_resampling(target, models, params, bad, snr, scale)
        else:
            masks = self._without_resampling(models, params, bad, snr)
        flag = dqflags.OUTLIER | dqflags.DO_NOT_USE
        for m, mask in zip(models, masks):
            # pixels already excluded by ``bad`` stay as they are
            new = apply_flags(mask, m.dq, bad, flag)
            log.info("outlier_detection: %s: %d new outlier pixels (%.4f %%)", m.meta.filename,
                     new, 100.0 * new / max(1, mask.size))  # fmt: skip
        return target

    # ------------------------------------------------------------------ resampled
    def _with_resampling(self, target, models, p, bad, snr, scale) -> list[np.ndarray]:
        first = models[0]
        grid = common_grid(models)
        ratio = grid.pixel_scale / input_pixel_scale(first)
        fill = parse_fillval(p.fillval)
        maps: list[NodeMap | None] = [None] * len(models)
        stack = _Stack(len(models), grid.shape, p.in_memory)
        workers = member_workers(len(models))
        # buffers of each concurrent drizzle (k % workers), reused by the next exposures:
        # weights, drizzled weights, VAR_RNOISE and (with the drizzles on disk) the image;
        # made here, so that the memory goes back to this thread's malloc arena, which
        # resample draws on next, not to a member thread's
        scratch = [_buffers(first, grid.shape, p, stack) for _ in range(workers)]

        def drizzle(k: int) -> np.ndarray:
            m = models[k]
            nm = input_node_map(m, grid.wcs)
            maps[k] = nm
            bufs = scratch[k % workers]
            image = stack.plane(k)
            if image is None:
                image = bufs["image"]
            drz = Drizzler(grid.shape, kernel=p.kernel, pixfrac=p.pixfrac, fillval=fill,
                           weight_type=p.weight_type, pixel_scale_ratio=ratio, context=False,
                           out=(image, bufs["wht"]))  # fmt: skip
            ivm = p.weight_type == "ivm" and m.has("var_rnoise")
            var_rnoise = read_arrays(m, ["var_rnoise"], bufs)[0] if ivm else None
            bufs["weight"] = drizzle_weight(m.dq, bad, var_rnoise=var_rnoise,
                                            exptime=measurement_time(m),
                                            out=bufs.get("weight"))  # fmt: skip
            del var_rnoise
            drz.add(nm, m.data, bufs["weight"], (None, None, None),
                    exptime=measurement_time(m), iscale=intensity_scale(m), sky=sky_level(m),
                    bbox=input_range(m))  # fmt: skip
            wht = bufs["wht"]
            finish_single(image, wht, fill, _weight_threshold(wht, p.maskpt))
            return image

        def keep(k: int, image: np.ndarray) -> None:
            stack.put(k, image)
            if p.save_intermediate_results:
                self._save_image(image, grid.wcs, models[k], target, k, "outlier_i2d")

        try:
            run_members(drizzle, len(models), keep, workers=workers)
            scratch.clear()  # the buffers are not needed past the drizzles
            median = stack.median()
        finally:
            stack.close()
        log.info("outlier_detection: median of %d single drizzles on a %dx%d grid",
                 len(models), grid.shape[1], grid.shape[0])  # fmt: skip
        if p.save_intermediate_results:
            self._save_image(median, grid.wcs, first, target, None, "median")
        masks: list[np.ndarray] = [np.zeros(0, bool)] * len(models)

        # reused by the next exposures (and made here, as the drizzles' buffers)
        blots = [np.empty(first.shape, np.float32) for _ in range(workers)]
        reads = [{"err": np.empty(first.shape, np.float32)} for _ in range(workers)]

        def compare(k: int) -> np.ndarray:
            m, nm = models[k], maps[k]
            blotted = blot(median, nm.nodes, nm.hx, nm.hy, m.shape, out=blots[k % workers])
            blots[k % workers] = blotted
            if p.save_intermediate_results:
                self._save_image(blotted, m.meta.wcs, m, target, k, "blot")
            err = read_arrays(m, ["err"], reads[k % workers])[0]
            return flag_outliers(m.data, err, blotted, sky_level(m) + p.backg, snr, scale)

        def store(k: int, mask: np.ndarray) -> None:
            masks[k] = mask

        run_members(compare, len(models), store, workers=workers)
        return masks

    # ------------------------------------------------------------------ direct
    @staticmethod
    def _without_resampling(models, p, bad, snr) -> list[np.ndarray]:
        shapes = {m.shape for m in models}
        if len(shapes) != 1:
            raise InputError(f"resample_data=False needs exposures of one shape, got {shapes}")
        stack = np.empty((len(models), *models[0].shape), np.float32)
        for k, m in enumerate(models):
            ivm = p.weight_type == "ivm" and m.has("var_rnoise")
            weight = drizzle_weight(m.dq, bad, var_rnoise=m.var_rnoise if ivm else None,
                                    exptime=measurement_time(m))  # fmt: skip
            stack[k] = sky_subtracted(m)
            stack[k][weight < _weight_threshold(weight, p.maskpt)] = np.nan
        median = nanmedian_stack(stack)
        out = []
        for k, m in enumerate(models):
            err = np.nan_to_num(m.err)
            with np.errstate(invalid="ignore"):
                out.append(np.abs(stack[k] - median - p.backg) > snr[0] * err)
        return out

    # ------------------------------------------------------------------ products
    def _save_image(self, data: np.ndarray, wcs: Any, like: Any, target: Exposures,
                    index: int | None, suffix: str) -> None:  # fmt: skip
        product = ImageModel(data=np.asarray(data, np.float32))
        meta = {k: v for k, v in like.meta.to_dict().items() if k != "wcs"}
        product.meta.update(copy.deepcopy(meta))
        product.meta.wcs = wcs
        directory = self.config.common.output_dir if self.config is not None else None
        if index is None:
            name = self._output_name(suffix, None)
        else:
            base = like.meta.filename or f"{self.name}_{index}.fits"
            candidate = target.candidate(index) if target.asn is not None else None
            name = exposure_output_name(base, suffix, candidate=candidate)
        self.save_product_as(product, output_path(name, directory))
