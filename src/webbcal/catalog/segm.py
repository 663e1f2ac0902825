"""The segmentation-map product of ``source_catalog`` (``_segm.fits``)."""

from __future__ import annotations

from webbcal.datamodels import Array, DataModel

__all__ = ["SegmentationMapModel"]


class SegmentationMapModel(DataModel):
    """Segmentation map: each pixel holds the label of its source in the catalog (0: none).

    The official layout: one uint32 SCI image; the metadata (and gwcs) of the image the
    catalog was made from.
    """

    fields = {
        "data": Array("SCI", "u4", 2, 0, required=True, doc="source labels (0: background)"),
    }
