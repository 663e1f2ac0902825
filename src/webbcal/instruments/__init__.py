"""Instrument knowledge: detectors, subarrays, readout patterns, filters and SIAF geometry.

Everything here is read from small tables under ``data/`` and from the SIAF XML shipped
with pysiaf (without importing pysiaf, which would make a network request), and cached.

>>> from webbcal.instruments import get_detector, get_subarray, timing, get_geometry
>>> get_detector("NIRCAM", "NRCA1").shape
(2048, 2048)
>>> round(timing("NIRCAM", "RAPID", "FULL", ngroups=10, nints=1).effinttm, 4)
107.3677
"""

from webbcal.instruments._tables import INSTRUMENTS, normalize_instrument
from webbcal.instruments.detectors import Amplifier, Detector, detectors, get_detector
from webbcal.instruments.filters import Filter, filters, get_filter
from webbcal.instruments.geometry import (
    PixelArea,
    distortion_models,
    get_geometry,
    idl_to_v2v3,
    nominal_pixel_area,
    pixel_area_map,
    sci_to_v2v3,
    v2v3_to_idl,
    v2v3_to_sci,
)
from webbcal.instruments.readout import (
    ReadPattern,
    Timing,
    frame_time,
    get_readpatt,
    readpatt_names,
    timing,
)
from webbcal.instruments.siaf import (
    ApertureGeometry,
    SiafPolynomial,
    aperture_geometry,
    prd_version,
)
from webbcal.instruments.subarrays import (
    Subarray,
    get_subarray,
    subarray_amplifiers,
    subarray_from_keywords,
    subarray_names,
)

__all__ = [
    "INSTRUMENTS",
    "Amplifier",
    "ApertureGeometry",
    "Detector",
    "Filter",
    "PixelArea",
    "ReadPattern",
    "SiafPolynomial",
    "Subarray",
    "Timing",
    "aperture_geometry",
    "detectors",
    "distortion_models",
    "filters",
    "frame_time",
    "get_detector",
    "get_filter",
    "get_geometry",
    "get_readpatt",
    "get_subarray",
    "idl_to_v2v3",
    "nominal_pixel_area",
    "normalize_instrument",
    "pixel_area_map",
    "prd_version",
    "readpatt_names",
    "sci_to_v2v3",
    "subarray_amplifiers",
    "subarray_from_keywords",
    "subarray_names",
    "timing",
    "v2v3_to_idl",
    "v2v3_to_sci",
]
