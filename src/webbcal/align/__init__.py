"""Aligning the exposures of an association: astrometry (tweakreg), sky levels (skymatch).

* :mod:`.wcsfit` -- relative and absolute astrometric alignment of source catalogs with
  ``tweakwcs`` (matching, linear fits, tangent-plane corrections folded into each gwcs);
* :mod:`.sky` -- sky statistics of each exposure and of every overlapping pair, computed
  through the WCS, and the ``local``/``global``/``match``/``global+match`` sky levels.

Both work on data models and their gwcs; the array work is in :mod:`webbcal.kernels`.
"""
