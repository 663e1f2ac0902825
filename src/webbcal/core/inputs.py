"""Opening inputs: a path or a model becomes a model; associations become Exposures.

Steps work on models. A path is opened with :func:`webbcal.datamodels.open` (the input
file is never written to); a model is used as it is (steps may modify it in place).
Steps that combine exposures (``input_kind = "association"``) receive an
:class:`Exposures`: the opened members of one association product.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from webbcal.associations.asn import Association, Member, Product
from webbcal.core.naming import candidate_id, split_extension, strip_suffix
from webbcal.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["Exposures", "is_model", "open_model"]


def is_model(obj: Any) -> bool:
    """True for a data model (anything with ``meta`` and ``save``)."""
    return hasattr(obj, "meta") and callable(getattr(obj, "save", None))


def open_model(obj: Any) -> Any:
    """A model for ``obj``: models pass through, paths are opened with datamodels.open."""
    if is_model(obj):
        return obj
    from webbcal import datamodels

    path = Path(obj)
    if not path.exists():
        raise InputError("input file not found", path=path)
    return datamodels.open(path)


@dataclass
class Exposures(Sequence[Any]):
    """The opened members of one association product (or of a list of models).

    Iterating yields the models; ``members[i]`` is the association member of
    ``models[i]`` (None for a model given directly).

    Attributes
    ----------
    models : list
        The opened models, in member order.
    members : list of Member or None
    product_name : str or None
        The association product name, used to name combined products.
    asn : Association or None

    """

    models: list[Any]
    members: list[Member | None] = field(default_factory=list)
    product_name: str | None = None
    asn: Association | None = None

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [None] * len(self.models)
        if len(self.members) != len(self.models):
            raise ValueError("Exposures: one member per model")

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self.models[index]

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.models)

    def of_type(self, exptype: str) -> Exposures:
        """The members of one exptype (``"science"``, ``"psf"`` ...), as Exposures.

        Models given directly (no member) count as science.
        """
        keep = [
            i
            for i, m in enumerate(self.members)
            if (m.exptype if m is not None else "science") == exptype.lower()
        ]
        return Exposures(
            models=[self.models[i] for i in keep],
            members=[self.members[i] for i in keep],
            product_name=self.product_name,
            asn=self.asn,
        )

    def candidate(self, index: int) -> str | None:
        """Association candidate id for member ``index`` (for ``_<id>_crf`` names)."""
        member = self.members[index]
        asn_id = self.asn.asn_id if self.asn is not None else None
        return candidate_id(member.asn_candidate if member else None, asn_id)

    def with_models(self, models: Sequence[Any]) -> Exposures:
        """Same members and product, new models (a step's per-exposure outputs)."""
        return Exposures(list(models), list(self.members), self.product_name, self.asn)

    def close(self) -> None:
        """Close every model."""
        for model in self.models:
            close = getattr(model, "close", None)
            if close is not None:
                close()

    @classmethod
    def from_product(cls, asn: Association, product: Product) -> Exposures:
        """Open every member of ``product``."""
        models = []
        for member in product.members:
            if member.path is None:
                raise InputError(f"association member {member.expname} has no resolvable path")
            models.append(open_model(member.path))
        return cls(models, list(product.members), product.name, asn)

    @classmethod
    def from_models(cls, models: Sequence[Any], product_name: str | None = None) -> Exposures:
        """Wrap models given directly; the product is named from the first one."""
        models = [open_model(m) for m in models]
        if product_name is None and models:
            filename = models[0].meta.filename
            if filename:
                product_name = strip_suffix(split_extension(Path(filename).name)[0])
        return cls(models, [], product_name, None)
