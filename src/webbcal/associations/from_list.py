"""``asn_from_list``: build an association from a list of files, as the official tool does.

* Level 3 (rule ``DMS_Level3_Base``, the default): one product named ``product_name``
  with every file as a ``science`` member.
* Level 2 (rule ``DMSLevel2bBase``): one product per file, named from the file name
  without its product suffix, with that file as its ``science`` member.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from webbcal import __version__
from webbcal.associations.asn import Association, Product, member_dicts
from webbcal.core.naming import split_extension, strip_suffix
from webbcal.errors import AssociationError

__all__ = ["LEVEL2_RULES", "LEVEL3_RULES", "asn_from_list"]

LEVEL3_RULES = frozenset({"DMS_Level3_Base", "DMSLevel3Base"})
LEVEL2_RULES = frozenset({"DMSLevel2bBase", "DMS_Level2b_Base", "DMSLevel2Base"})

_DEGRADED_OK = "No known degraded exposures in association."


def asn_from_list(
    files: Iterable[str | Path],
    product_name: str | None = None,
    rule: str = "DMS_Level3_Base",
    *,
    acid: str = "o999",
    asn_type: str = "None",
    asn_pool: str = "none",
    program: str = "noprogram",
    target: str = "none",
) -> Association:
    """Create an association from a list of file names.

    Parameters
    ----------
    files : iterable of str or Path
        Member file names, written as given (make them relative to the association's
        directory, or bare names, before calling).
    product_name : str, optional
        Name of the level-3 product (required for a level-3 rule). For level 2, products
        are named from the files.
    rule : str
        ``"DMS_Level3_Base"`` (or ``"DMSLevel3Base"``) or ``"DMSLevel2bBase"``.
    acid : str
        The association candidate id (official default ``o999``), used as ``asn_id``.
    asn_type, asn_pool, program, target : str
        Top-level values written to the association.

    Raises
    ------
    AssociationError
        For an unknown rule, an empty list, a missing level-3 product name, or a file
        listed twice.

    """
    names = [str(f) for f in files]
    if not names:
        raise AssociationError("asn_from_list needs at least one file")
    if rule in LEVEL3_RULES:
        if not product_name:
            raise AssociationError("a level-3 association needs a product name (--product-name)")
        raw_products = [{"name": product_name, "members": member_dicts(names)}]
        asn_rule = "DMS_Level3_Base"
    elif rule in LEVEL2_RULES:
        raw_products = [
            {
                "name": strip_suffix(split_extension(Path(n).name)[0]),
                "members": member_dicts([n]),
            }
            for n in names
        ]
        asn_rule = "DMSLevel2bBase"
    else:
        valid = ", ".join(sorted(LEVEL3_RULES | LEVEL2_RULES))
        raise AssociationError(f"unknown association rule {rule!r}; valid: {valid}")
    data = {
        "asn_type": asn_type,
        "asn_rule": asn_rule,
        "asn_id": acid,
        "asn_pool": asn_pool,
        "program": program,
        "target": target,
        "version_id": None,
        "code_version": __version__,
        "constraints": "No constraints",
        "degraded_status": _DEGRADED_OK,
        "products": raw_products,
    }
    asn = Association.from_dict(data)
    _check_unique(asn.products)
    return asn


def _check_unique(products: tuple[Product, ...]) -> None:
    seen: set[str] = set()
    for product in products:
        for member in product.members:
            if member.exptype == "science" and member.expname in seen:
                raise AssociationError(f"{member.expname} is listed twice")
            seen.add(member.expname)
