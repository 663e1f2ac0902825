"""Associations: the JSON files that group exposures into products.

Read one with :func:`load_asn` (validated; member paths resolved against the file's
directory), make one with :func:`asn_from_list`, write one with ``Association.write``.
Every problem raises :class:`webbcal.errors.AssociationError` naming the file.
"""

from webbcal.associations.asn import (
    EXPTYPES,
    Association,
    Member,
    Product,
    is_association_file,
    load_asn,
)
from webbcal.associations.from_list import asn_from_list

__all__ = [
    "EXPTYPES",
    "Association",
    "Member",
    "Product",
    "asn_from_list",
    "is_association_file",
    "load_asn",
]
