"""webbcal: a fast, faithful, offline-first JWST Science Calibration Pipeline."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("webbcal")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
