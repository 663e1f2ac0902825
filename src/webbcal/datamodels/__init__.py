"""JWST data models: products and reference files in the official layouts.

Reading
-------
``open(path)`` returns the class named by the file's DATAMODL keyword (or recognised from
REFTYPE / the layout), e.g.::

    from webbcal import datamodels as dm

    with dm.open("jw01075001001_03105_00009_nrca2_uncal.fits") as m:
        m.meta.instrument.detector      # "NRCA2"  (unset leaves read as None)
        m.meta.exposure.ngroups         # 10
        m.data                          # uint16 (nints, ngroups, ny, nx), read on first access

Only headers are read when a file is opened; each array is read (and converted to its
declared native dtype, so int16 + BZERO=32768 becomes uint16) the first time it is accessed.
An array with a declared default (``dq``, ``err``, ``var_poisson`` ...) that the file lacks is
created on first access with the shape implied by ``data``; ``has(name)`` tells whether it
exists without creating it.

Metadata: FITS keywords and the ASDF extension
-----------------------------------------------
``model.meta`` is one tree. In a FITS file it is stored twice, as the official files do: the
whole tree (including ``meta.wcs``, a gwcs object) is serialized as ASDF in the ``ASDF``
extension, and the entries of the keyword table (:mod:`.keywords`: meta path -> keyword, HDU,
type) are also written as header keywords. On reading, the ASDF tree is loaded first and the
header keywords are laid over it: **FITS keywords win**, as in the official models, so a header
edited with a FITS tool takes effect. Header cards the table does not map are kept
(``model.extra_fits``) and written back to the same HDU. Pure ASDF files (``.asdf``) hold the
tree and the arrays under their attribute names.

Writing
-------
``model.save(path)`` writes FITS (or ASDF for ``.asdf``) to a temporary file beside ``path``
and renames it into place, so a failure never leaves a partial product. ``meta.filename``,
``meta.date`` and ``meta.model_type`` are updated. FITS products are written by
:mod:`.fits_write` itself (headers formatted as text, arrays byte-swapped a few megabytes at a
time straight into the file): the same bytes astropy writes, several times faster.

Declaring a model
-----------------
A model class only declares its arrays and tables; everything else is inherited::

    from webbcal.datamodels import Array, DataModel, Table

    class SlitModel(DataModel):
        '''One 2-D spectrum (``_s2d`` of a single slit).'''

        fields = {
            "data": Array("SCI", "f4", 2, 0.0, required=True, doc="surface brightness"),
            "dq": Array("DQ", "u4", 2, 0),
            "err": Array("ERR", "f4", 2, 0.0),
            "wavelength": Array("WAVELENGTH", "f4", 2, 0.0),
        }

``Array(extname, dtype, ndim, default, axes=..., required=...)`` gives the official EXTNAME and
dtype, the allowed dimensions, the fill value of the default array (None: no default) and, if
the default shape is not the primary array's shape or its trailing axes, which axes of it to
use. ``Table(extname, ((column, dtype), ...))`` declares a binary table. Class attributes
adjust the rest: ``primary`` (the array giving ``shape``, "data" by default),
``keyword_hdus`` (move keyword-table entries to another HDU), ``extra_keywords`` (keywords only
this class has, e.g. in a table header), ``asdf_extension`` (False for reference files) and
``reftype`` (for reference files). New metadata that needs FITS keywords goes in the keyword
table; metadata that needs none just gets assigned (it is kept in the ASDF extension). The
class registers itself under its name, which ``open`` matches against DATAMODL. Products made
of repeated extensions (MultiSlitModel, MultiSpecModel: several SCI/EXTRACT1D with EXTVER)
need a list-of-sub-models field, which is not written yet.
"""

from . import dqflags
from .declare import Array, Table
from .keywords import KEYWORDS, Keyword
from .meta import Node
from .model import REGISTRY, DataModel
from .opener import class_for, open
from .products import (
    CubeModel,
    GuiderCalModel,
    GuiderRawModel,
    IFUCubeModel,
    ImageModel,
    Level1bModel,
    RampModel,
)
from .reference import (
    DarkMIRIModel,
    DarkModel,
    FlatModel,
    GainModel,
    IPCModel,
    LinearityModel,
    MaskModel,
    PersistenceSatModel,
    PixelAreaModel,
    ReadnoiseModel,
    ReferenceModel,
    ResetModel,
    SaturationModel,
    SuperBiasModel,
    TrapDensityModel,
)

__all__ = [
    "KEYWORDS",
    "REGISTRY",
    "Array",
    "CubeModel",
    "DarkMIRIModel",
    "DarkModel",
    "DataModel",
    "FlatModel",
    "GainModel",
    "GuiderCalModel",
    "GuiderRawModel",
    "IFUCubeModel",
    "IPCModel",
    "ImageModel",
    "Keyword",
    "Level1bModel",
    "LinearityModel",
    "MaskModel",
    "Node",
    "PersistenceSatModel",
    "PixelAreaModel",
    "RampModel",
    "ReadnoiseModel",
    "ReferenceModel",
    "ResetModel",
    "SaturationModel",
    "SuperBiasModel",
    "Table",
    "TrapDensityModel",
    "class_for",
    "dqflags",
    "open",
]
