"""Output file names, following the official JWST conventions.

* Exposure products: strip one known product suffix from the input's base name and
  append the new one: ``X_uncal.fits`` -> ``X_rate.fits``, ``X_rate.fits`` -> ``X_cal.fits``.
* Stage-3 per-exposure products carry the association candidate id:
  ``X_cal.fits`` -> ``X_o001_crf.fits``.
* Combined (level-3) products are named from the association product name:
  ``<product>_i2d.fits``, ``<product>_cat.ecsv``, ``<product>_segm.fits``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

__all__ = [
    "KNOWN_SUFFIXES",
    "candidate_id",
    "exposure_output_name",
    "output_path",
    "product_output_name",
    "strip_suffix",
]

# fmt: off
#: Product-type suffixes of JWST files.
PRODUCT_SUFFIXES = frozenset((
    "uncal", "ramp", "rate", "rateints", "trapsfilled", "dark", "cal", "calints", "bsub",
    "bsubints", "crf", "crfints", "i2d", "s2d", "s3d", "x1d", "x1dints", "c1d", "cat", "segm",
    "median", "blot", "psfstack", "psfalign", "psfsub", "ami", "amiavg", "aminorm", "ami-oi",
    "aminorm-oi", "psf-amiavg", "phot", "whtlt", "wfscmb", "snr", "residual_fringe",
))

#: Step aliases; the official pipeline also treats them as suffixes (``X_jump.fits``).
STEP_SUFFIXES = frozenset((
    "group_scale", "dq_init", "emicorr", "saturation", "ipc", "superbias", "refpix",
    "linearity", "persistence", "dark_current", "rscd", "firstframe", "lastframe", "reset",
    "charge_migration", "jump", "clean_flicker_noise", "ramp_fit", "gain_scale", "guider_cds",
    "assign_wcs", "assign_mtwcs", "background", "imprint", "msaflagopen", "nsclean",
    "extract_2d", "srctype", "straylight", "fringe", "pathloss", "barshadow", "wavecorr",
    "flat_field", "photom", "pixel_replace", "resample", "resample_spec", "cube_build",
    "extract_1d", "master_background", "wfss_contam", "spectral_leak", "tweakreg", "skymatch",
    "outlier_detection", "source_catalog", "mrs_imatch", "stack_refs", "align_refs", "klip",
    "tso_photometry", "white_light", "ami_analyze", "ami_average", "ami_normalize",
    "wfs_combine", "combine_1d", "badpix_selfcal",
))
# fmt: on

#: Every suffix that is stripped from an input name before a new one is appended; the
#: lower-cased class names (``jumpstep``, ``detector1pipeline``) count too.
KNOWN_SUFFIXES = PRODUCT_SUFFIXES | STEP_SUFFIXES

_CLASS_SUFFIX = re.compile(r"^[a-z0-9]+(step|pipeline)$")
_EXTENSIONS = (".fits.gz", ".fits", ".asdf", ".ecsv", ".json", ".h5")


def split_extension(name: str) -> tuple[str, str]:
    """``"X_rate.fits"`` -> ``("X_rate", ".fits")`` (knows ``.fits.gz``)."""
    lower = name.lower()
    for ext in _EXTENSIONS:
        if lower.endswith(ext):
            return name[: -len(ext)], name[-len(ext) :]
    stem = Path(name)
    return name[: len(name) - len(stem.suffix)], stem.suffix


def strip_suffix(stem: str, also: frozenset[str] | set[str] = frozenset()) -> str:
    """Remove one known product or step suffix (or one of ``also``) from a base name.

    >>> strip_suffix("jw01_nrca1_uncal")
    'jw01_nrca1'
    >>> strip_suffix("jw01_nrca1")
    'jw01_nrca1'
    """
    root, sep, last = stem.rpartition("_")
    if sep and root:
        low = last.lower()
        if low in KNOWN_SUFFIXES or low in also or _CLASS_SUFFIX.match(low):
            return root
        # two-word suffixes: dark_current, ramp_fit, residual_fringe ...
        root2, sep2, prev = root.rpartition("_")
        two = f"{prev}_{last}".lower()
        if sep2 and root2 and (two in KNOWN_SUFFIXES or two in also):
            return root2
    return stem


def candidate_id(asn_candidate: object, asn_id: str | None = None) -> str | None:
    """The association candidate id of a member (``"o001"``), else ``asn_id``.

    ``asn_candidate`` is the member's field as written by the association generator,
    e.g. ``"[('o001', 'observation')]"``, or a list of such pairs.
    """
    value = asn_candidate
    if isinstance(value, str) and value.strip():
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            value = value.strip()
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list | tuple) and value:
        first = value[0]
        if isinstance(first, list | tuple) and first:
            return str(first[0])
        return str(first)
    return asn_id or None


def exposure_output_name(
    input_name: str | Path,
    suffix: str,
    *,
    candidate: str | None = None,
    extension: str | None = None,
) -> str:
    """Name of an exposure-level product made from ``input_name``.

    Parameters
    ----------
    input_name : str or Path
        The input file name (only its base name is used).
    suffix : str
        New product suffix (``"rate"``, ``"cal"``, ``"crf"``); it is also stripped from
        the input name when present.
    candidate : str, optional
        Association candidate id inserted before the suffix (stage-3 ``_crf`` products).
    extension : str, optional
        Default: the input's extension when it is ``.fits``/``.asdf``, else ``.fits``.

    """
    stem, ext = split_extension(Path(input_name).name)
    root = strip_suffix(stem, {suffix.lower()})
    if candidate:
        root = f"{root}_{candidate}"
    if extension is None:
        extension = ext if ext.lower() in (".fits", ".asdf") else ".fits"
    return f"{root}_{suffix}{extension}"


def product_output_name(product_name: str, suffix: str, extension: str = ".fits") -> str:
    """Name of a combined product: ``<product>_<suffix><extension>``."""
    return f"{product_name}_{suffix}{extension}"


def output_path(name: str, output_dir: str | Path | None) -> Path:
    """``name`` placed in ``output_dir`` (default: the current directory)."""
    return Path(output_dir or ".") / name
