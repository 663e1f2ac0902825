"""Association files: read, validate and write level-2 and level-3 association JSON.

An association lists products; each product lists the member exposures it is made from::

    {"asn_type": "image3", "asn_rule": "Asn_Image", "asn_id": "c3001", "asn_pool": "...",
     "program": "99009", "target": "1", "version_id": "...", "constraints": "...",
     "degraded_status": "...",
     "products": [{"name": "jw99009-a3001_t001_nircam_f090w",
                   "members": [{"expname": "jw_00001_cal.fits", "exptype": "science",
                                "exposerr": null, "asn_candidate": "[('o001', 'observation')]"}]}]}

Member file names resolve relative to the directory of the association file. Keys this
module does not know are kept and written back unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.errors import AssociationError

log = logging.getLogger(__name__)

__all__ = [
    "EXPTYPES",
    "Association",
    "Member",
    "Product",
    "is_association_file",
    "load_asn",
]

#: Member types of the official association schema (level 2 and level 3), lower case.
EXPTYPES = frozenset(
    {
        "science",
        "background",
        "imprint",
        "psf",
        "selfcal",
        "sourceimage",
        "sourcecat",
        "segmap",
        "direct_image",
        "target_acquisition",
    }
)

#: Top-level keys, in the order they are written.
META_KEYS = (
    "asn_type",
    "asn_rule",
    "asn_id",
    "asn_pool",
    "program",
    "target",
    "version_id",
    "code_version",
    "constraints",
    "degraded_status",
)

_MEMBER_KEYS = ("expname", "exptype", "exposerr", "asn_candidate")


@dataclass(frozen=True)
class Member:
    """One member exposure of an association product.

    Attributes
    ----------
    expname : str
        File name as written in the association.
    exptype : str
        Member type, lower case (``science``, ``background``, ``psf`` ...).
    exposerr, asn_candidate : str or None
        Optional official fields, kept as written.
    path : Path or None
        ``expname`` resolved against the association's directory (None when the
        association was not read from a file and ``expname`` is relative).
    extra : dict
        Other keys, written back unchanged.

    """

    expname: str
    exptype: str = "science"
    exposerr: str | None = None
    asn_candidate: Any = None
    path: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    write_exposerr: bool = field(default=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The member as written in the JSON file."""
        out: dict[str, Any] = {"expname": self.expname, "exptype": self.exptype}
        if self.exposerr is not None or self.write_exposerr:
            out["exposerr"] = self.exposerr
        if self.asn_candidate is not None:
            out["asn_candidate"] = self.asn_candidate
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Product:
    """One output product of an association and the members it is made from."""

    name: str | None
    members: tuple[Member, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def members_of(self, exptype: str) -> tuple[Member, ...]:
        """Members of one type (``"science"``, ``"background"`` ...)."""
        return tuple(m for m in self.members if m.exptype == exptype.lower())

    @property
    def science(self) -> tuple[Member, ...]:
        """The science members."""
        return self.members_of("science")

    def to_dict(self) -> dict[str, Any]:
        """The product as written in the JSON file."""
        out: dict[str, Any] = {}
        if self.name is not None:
            out["name"] = self.name
        out["members"] = [m.to_dict() for m in self.members]
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Association:
    """A level-2 or level-3 association.

    Attributes
    ----------
    products : tuple of Product
    meta : dict
        The top-level keys (asn_type, asn_rule, asn_id, asn_pool, program, target,
        version_id, constraints, degraded_status, ...), in file order.
    path : Path or None
        The file it was read from.

    """

    products: tuple[Product, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def asn_id(self) -> str | None:
        """The association id (``"c3001"``, ``"o001"``), if any."""
        return self.meta.get("asn_id")

    @property
    def level(self) -> int | None:
        """2 or 3 from the rule or type when they tell, else None."""
        rule = str(self.meta.get("asn_rule") or "").lower().replace("_", "")
        asn_type = str(self.meta.get("asn_type") or "").lower()
        if "lv2" in rule or "level2" in rule or asn_type.endswith("2"):
            return 2
        if "lv3" in rule or "level3" in rule or asn_type.endswith("3"):
            return 3
        return None

    def members(self, exptype: str | None = None) -> list[Member]:
        """Members of every product (optionally of one type), in file order."""
        return [
            m
            for p in self.products
            for m in p.members
            if exptype is None or m.exptype == exptype.lower()
        ]

    def to_dict(self) -> dict[str, Any]:
        """The association as written in the JSON file."""
        out = dict(self.meta)
        out["products"] = [p.to_dict() for p in self.products]
        return out

    def write(self, path: str | Path) -> Path:
        """Write the association JSON atomically; returns the path."""
        path = Path(path)
        directory = path.parent if str(path.parent) else Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".json", dir=directory)
        try:
            with os.fdopen(fd, "w") as stream:
                json.dump(self.to_dict(), stream, indent=4)
                stream.write("\n")
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        path: str | Path | None = None,
        base_dir: str | Path | None = None,
    ) -> Association:
        """Validate association data (as loaded from JSON) and build an Association.

        Raises
        ------
        AssociationError
            Naming the file, for a missing ``products``/``members``/``expname``, an unknown
            ``exptype``, a member listed twice in one product, or a level-2 product with
            more than one science member.

        """
        where = path
        if not isinstance(data, Mapping):
            raise AssociationError("an association must be a JSON object", path=where)
        if "products" not in data:
            raise AssociationError("missing 'products'", path=where)
        raw_products = data["products"]
        if not isinstance(raw_products, list) or not raw_products:
            raise AssociationError("'products' must be a non-empty list", path=where)
        if base_dir is None and path is not None:
            base_dir = Path(path).parent
        meta = {k: v for k, v in data.items() if k != "products"}
        products = tuple(_product(p, i, where, base_dir) for i, p in enumerate(raw_products))
        asn = cls(products=products, meta=meta, path=Path(path) if path else None)
        if asn.level == 2:
            for i, product in enumerate(products):
                if len(product.science) > 1:
                    raise AssociationError(
                        f"products[{i}] ({product.name}) has {len(product.science)} science "
                        "members; a level-2 product has exactly one",
                        path=where,
                    )
        return asn


def _product(raw: Any, index: int, where: Any, base_dir: Any) -> Product:
    if not isinstance(raw, Mapping):
        raise AssociationError(f"products[{index}] must be an object", path=where)
    if "members" not in raw:
        raise AssociationError(f"products[{index}] is missing 'members'", path=where)
    raw_members = raw["members"]
    if not isinstance(raw_members, list) or not raw_members:
        raise AssociationError(f"products[{index}]: 'members' must be a non-empty list", path=where)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise AssociationError(f"products[{index}]: 'name' must be a string", path=where)
    members = []
    seen: set[str] = set()
    for j, m in enumerate(raw_members):
        label = f"products[{index}].members[{j}]"
        if not isinstance(m, Mapping):
            raise AssociationError(f"{label} must be an object", path=where)
        expname = m.get("expname")
        if not isinstance(expname, str) or not expname.strip():
            raise AssociationError(f"{label} is missing 'expname'", path=where)
        exptype = m.get("exptype", "science")
        if not isinstance(exptype, str) or exptype.lower() not in EXPTYPES:
            raise AssociationError(
                f"{label} ({expname}): unknown exptype {exptype!r}; "
                f"valid: {', '.join(sorted(EXPTYPES))}",
                path=where,
            )
        if expname in seen:
            raise AssociationError(
                f"{label}: member {expname} is listed twice in product {name or index}",
                path=where,
            )
        seen.add(expname)
        member_path = Path(expname)
        if not member_path.is_absolute():
            member_path = Path(base_dir) / member_path if base_dir is not None else None
        extra = {k: v for k, v in m.items() if k not in _MEMBER_KEYS}
        members.append(
            Member(
                expname=expname,
                exptype=exptype.lower(),
                exposerr=m.get("exposerr"),
                asn_candidate=m.get("asn_candidate"),
                path=member_path,
                extra=extra,
                write_exposerr="exposerr" in m,
            )
        )
    extra = {k: v for k, v in raw.items() if k not in ("name", "members")}
    return Product(name=name, members=tuple(members), extra=extra)


def is_association_file(path: str | Path) -> bool:
    """True for a ``.json`` file name (associations are JSON; products are FITS/ASDF)."""
    return str(path).lower().endswith(".json")


def load_asn(path: str | Path, *, check_members: bool = True) -> Association:
    """Read and validate an association file.

    Parameters
    ----------
    path : str or Path
        The association JSON file.
    check_members : bool
        Also check that every member file exists.

    Raises
    ------
    AssociationError
        Naming the file: unreadable or malformed JSON, a missing key, an unknown exptype,
        a duplicated member, or (with ``check_members``) a missing member file.

    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise AssociationError("association file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AssociationError(f"cannot read association: {exc}", path=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AssociationError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=path
        ) from None
    asn = Association.from_dict(data, path=path)
    if check_members:
        for member in asn.members():
            if member.path is None or not member.path.is_file():
                raise AssociationError(
                    f"member file {member.expname} not found (looked in {path.parent or '.'})",
                    path=path,
                )
    return asn


def member_dicts(items: Iterable[str], exptype: str = "science") -> list[dict[str, Any]]:
    """Member entries for file names (used by asn_from_list)."""
    return [{"expname": str(item), "exptype": exptype} for item in items]
