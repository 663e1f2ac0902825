"""World coordinate systems of imaging exposures and of resampled products.

* :mod:`.pointing` -- the exact V2/V3 -> sky attitude transform from the pointing keywords
  and the velocity-aberration correction;
* :mod:`.imaging` -- the gwcs of an imaging exposure (detector -> v2v3 -> v2v3vacorr ->
  world) from a DISTORTION model, subarray and filter offsets, and its footprint;
* :mod:`.sip` -- a fast FITS TAN-SIP approximation of a gwcs;
* :mod:`.output` -- the TAN output grid of ``resample`` (fiducial, orientation, scale, size).

Everything here works on astropy models, gwcs objects and numbers: data models are read
only through :meth:`Pointing.from_model`.
"""

from webbcal.wcs.imaging import bounding_box, footprint, imaging_wcs, s_region, subarray_offset
from webbcal.wcs.output import (
    OutputGrid,
    fiducial,
    mean_pixel_area,
    output_grid,
    scale_at,
    tan_grid_wcs,
)
from webbcal.wcs.pointing import Pointing, v2v3_to_sky, va_correction
from webbcal.wcs.sip import SipFit, fit_sip

__all__ = [
    "OutputGrid",
    "Pointing",
    "SipFit",
    "bounding_box",
    "fiducial",
    "fit_sip",
    "footprint",
    "imaging_wcs",
    "mean_pixel_area",
    "output_grid",
    "s_region",
    "scale_at",
    "subarray_offset",
    "tan_grid_wcs",
    "v2v3_to_sky",
    "va_correction",
]
