"""Source detection and photometry of images (``tweakreg`` catalogs and ``source_catalog``).

* :mod:`.detect` -- background and RMS maps, the DAOFIND / IRAF star finders and image
  segmentation (with optional deblending): the official ``starfinder`` options;
* :mod:`.refdata` -- aperture radii and corrections (APCORR) and the AB-Vega offset
  (ABVEGAOFFSET) of an image;
* :mod:`.photometry` -- the source catalog table in the official column layout;
* :mod:`.segm` -- the segmentation-map product (``_segm.fits``).
"""
