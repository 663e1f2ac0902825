"""Typed results of steps that make several products.

A step that makes more than one product returns one frozen dataclass deriving from
:class:`StepResult`, whether it ran or was skipped. Each field holds one product (a model,
an :class:`~webbcal.core.inputs.Exposures`, a list of models, or anything with
``save(path)``) and declares the suffix it is saved with::

    @dataclass(frozen=True)
    class Detector1Result(StepResult):
        rate: ImageModel | None = product("rate", doc="Integration-averaged count rate")
        rateints: CubeModel | None = product("rateints", doc="Per-integration count rates")

The first field is the main product: a skipped step returns its input there
(:meth:`StepResult.skipped`), and ``output_file`` names it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StepResult", "product"]


def product(suffix: str | None, *, ext: str = ".fits", doc: str = "") -> Any:
    """Declare a product field of a StepResult (default None: not made).

    Parameters
    ----------
    suffix : str or None
        Suffix the product is saved with; None: the step's suffix (main product).
    ext : str
        File extension (``".ecsv"`` for catalogs).
    doc : str
        One line describing the product.

    """
    return field(default=None, metadata={"suffix": suffix, "ext": ext, "doc": doc})


@dataclass(frozen=True)
class StepResult:
    """Base class of several-product results (subclasses are frozen dataclasses)."""

    def products(self) -> Iterator[tuple[str | None, str, Any]]:
        """``(suffix, extension, value)`` for each field, in declaration order."""
        for f in dataclasses.fields(self):
            yield f.metadata.get("suffix"), f.metadata.get("ext", ".fits"), getattr(self, f.name)

    @property
    def main(self) -> Any:
        """The first field's value: the main product."""
        return getattr(self, dataclasses.fields(self)[0].name)

    @classmethod
    def skipped(cls, model: Any) -> StepResult:
        """The result of a skipped step: the input as main product, the rest None."""
        first = dataclasses.fields(cls)[0].name
        return cls(**{first: model})
