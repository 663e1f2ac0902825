"""The metadata tree: attribute access over nested plain dicts.

``model.meta`` is a :class:`Node`. Reading an attribute that is not set returns ``None`` for a
leaf (``meta.exposure.nints``) and an empty, detached :class:`Node` for a known section
(``meta.instrument``, ``meta.ref_file.dark``), so chains never raise. Assigning creates the
missing sections. Which paths are sections is known from the keyword table (every prefix of a
table path), from :data:`SECTIONS`, and from the rule that every child of ``ref_file`` is a
section (``meta.ref_file.<reftype>.name``).

Values are stored as plain Python objects: numpy scalars are converted on assignment, and
mappings are copied into plain dicts. Objects such as a gwcs ``WCS`` (``meta.wcs``) are
stored as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .keywords import KEYWORDS

__all__ = ["SECTIONS", "Node", "is_section"]

SECTIONS: set[str] = {
    # sections of the official tree that are kept in the ASDF extension only
    "asn",
    "cal_logs",
    "instrument",
    "exposure",
    "observation",
    "program",
    "visit",
    "target",
    "subarray",
    "dither",
    "pointing",
    "wcsinfo",
    "photometry",
    "background",
    "ref_file",
    "ref_file.crds",
    "cal_step",
    "resample",
    "ifu",
}
SECTIONS.update(p.rsplit(".", 1)[0] for p in (k.path for k in KEYWORDS) if "." in p)
for _p in list(SECTIONS):  # every prefix of a section is a section
    while "." in _p:
        _p = _p.rsplit(".", 1)[0]
        SECTIONS.add(_p)

_SECTION_PARENTS = ("ref_file",)  # every child of these is a section


def is_section(path: str) -> bool:
    """Whether the dotted meta path names a section (a sub-tree) rather than a leaf."""
    if path in SECTIONS:
        return True
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    return parent in _SECTION_PARENTS


def plain(value: Any) -> Any:
    """Convert mappings to plain dicts, sequences of them to lists, numpy scalars to Python."""
    if isinstance(value, Node):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class Node:
    """A view of one section of the metadata tree.

    Parameters
    ----------
    data : dict or None
        The section's dict; ``None`` for a section that does not exist yet (it is created in
        the parent on first assignment).
    parent : Node, optional
        The enclosing section (needed only when ``data`` is None).
    key : str, optional
        This section's name in ``parent``.
    path : str
        Dotted path of this section below ``meta`` ("" for the root).
    """

    __slots__ = ("_data", "_key", "_parent", "_path")

    def __init__(
        self,
        data: dict | None = None,
        parent: Node | None = None,
        key: str | None = None,
        path: str = "",
    ) -> None:
        object.__setattr__(self, "_data", {} if data is None and parent is None else data)
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_path", path)

    # -- attribute protocol -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # private and dunder names are never tree entries
            raise AttributeError(name)
        path = f"{self._path}.{name}" if self._path else name
        data = self._data
        if data is not None and name in data:
            value = data[name]
            if isinstance(value, dict):
                return Node(value, self, name, path)
            return value
        if is_section(path):
            return Node(None, self, name, path)
        return None

    def __setattr__(self, name: str, value: Any) -> None:
        self._materialize()[name] = plain(value)

    def __delattr__(self, name: str) -> None:
        if self._data is not None:
            self._data.pop(name, None)

    def _materialize(self) -> dict:
        if self._data is None:
            parent = self._parent._materialize()
            existing = parent.get(self._key)
            if not isinstance(existing, dict):
                existing = parent[self._key] = {}
            object.__setattr__(self, "_data", existing)
        return self._data

    # -- dict-like helpers --------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return self._data is not None and name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data or ()))

    def __len__(self) -> int:
        return len(self._data or ())

    def __bool__(self) -> bool:
        return True

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data or ()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Node):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == plain(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<meta{'.' + self._path if self._path else ''} {self.to_dict()!r}>"

    def items(self) -> Iterator[tuple[str, Any]]:
        """Iterate over ``(name, value)``; sections come back as :class:`Node`."""
        for name in self:
            yield name, getattr(self, name)

    def to_dict(self) -> dict:
        """A nested plain dict of this section (containers copied, leaf objects shared)."""
        return _copy_containers(self._data or {})

    def to_flat_dict(self) -> dict[str, Any]:
        """``{"instrument.name": "NIRCAM", ...}`` for every leaf below this section."""
        out: dict[str, Any] = {}

        def walk(d: dict, prefix: str) -> None:
            for k, v in d.items():
                if isinstance(v, dict):
                    walk(v, f"{prefix}{k}.")
                else:
                    out[prefix + k] = v

        walk(self._data or {}, "")
        return out

    def update(self, other: Mapping | Node) -> None:
        """Merge ``other`` (a nested dict or Node) into this section, recursively."""
        if isinstance(other, Node):
            other = other.to_dict()
        for key, value in other.items():
            if isinstance(value, (Mapping, Node)):
                child = getattr(self, key)
                if isinstance(child, Node):
                    child.update(value)
                    continue
            setattr(self, key, value)

    def get(self, path: str, default: Any = None) -> Any:
        """The value at a dotted path below this section, or ``default`` if unset."""
        node: Any = self._data or {}
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return Node(node, path=path) if isinstance(node, dict) else node

    def set(self, path: str, value: Any) -> None:
        """Assign at a dotted path below this section, creating sections on the way."""
        *parents, leaf = path.split(".")
        node = self
        for part in parents:
            child = node._materialize().get(part)
            if not isinstance(child, dict):
                child = node._materialize()[part] = {}
            node = Node(child, node, part, f"{node._path}.{part}" if node._path else part)
        setattr(node, leaf, value)

    def __deepcopy__(self, memo: dict) -> Node:
        return Node(copy.deepcopy(self._data or {}, memo))

    def __reduce__(self) -> tuple:
        return (Node, (self._data or {}, None, None, self._path))


def _copy_containers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_containers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_containers(v) for v in value]
    return value
