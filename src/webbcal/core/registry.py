"""Registry of the steps and pipelines that can be run by name.

Real steps and pipelines register themselves with the :func:`register` class decorator::

    @register
    class SaturationStep(Step):
        alias = "saturation"
        ...

and their module is listed in the ``MODULES`` tuple of its package
(``webbcal.steps.MODULES``, ``webbcal.pipelines.MODULES``); the registry imports those
modules the first time a name is looked up. Only working steps are listed there.

Names are looked up by alias (``calwebb_detector1``), class name (``Detector1Pipeline``)
or dotted class path (``jwst.pipeline.Detector1Pipeline``: the last component counts).

Tests build a private :class:`Registry` and make it current with :func:`use`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from webbcal.errors import ParameterError

log = logging.getLogger(__name__)

__all__ = ["PACKAGES", "Registry", "find", "get", "list_registered", "register", "use"]

#: Packages whose ``MODULES`` are imported to populate the default registry.
PACKAGES = ("webbcal.steps", "webbcal.pipelines")

T = TypeVar("T", bound=type)


class Registry:
    """Alias and class name -> Step/Pipeline class.

    Parameters
    ----------
    loader : callable, optional
        Called once, before the first lookup, to import the modules that register
        classes (the default registry imports the ``MODULES`` of :data:`PACKAGES`).

    """

    def __init__(self, loader: Callable[[], None] | None = None) -> None:
        self._by_name: dict[str, type] = {}
        self._classes: list[type] = []
        self._loader = loader
        self._loaded = loader is None

    def add(self, cls: T) -> T:
        """Register ``cls`` under its alias and class name; returns it (a decorator)."""
        for key in {cls.alias, cls.class_name}:
            existing = self._by_name.get(key)
            if (
                existing is not None
                and existing is not cls
                and _qualname(existing) != _qualname(cls)
            ):
                raise ValueError(f"{key!r} is already registered for {_qualname(existing)}")
            self._by_name[key] = cls
        self._classes = [c for c in self._classes if _qualname(c) != _qualname(cls)]
        self._classes.append(cls)
        return cls

    def _load(self) -> None:
        if not self._loaded and self._loader is not None:
            self._loaded = True
            self._loader()

    def find(self, name: str) -> type | None:
        """The class registered under ``name`` (alias, class name, dotted path), or None."""
        self._load()
        if name in self._by_name:
            return self._by_name[name]
        last = name.rsplit(".", 1)[-1]
        if last in self._by_name:
            return self._by_name[last]
        lower = last.lower()
        for key, cls in self._by_name.items():
            if key.lower() == lower:
                return cls
        return None

    def get(self, name: str) -> type:
        """Like :meth:`find`, but raises ParameterError for an unknown name."""
        cls = self.find(name)
        if cls is None:
            raise ParameterError(
                f"no step or pipeline is called {name!r}; `webbcal run --list` lists them"
            )
        return cls

    def classes(self) -> list[type]:
        """Registered classes: pipelines first, then steps, each sorted by alias."""
        self._load()
        return sorted(self._classes, key=lambda c: (not c.is_pipeline, c.alias))

    def __iter__(self) -> Iterator[type]:
        return iter(self.classes())


def import_listed_modules(packages: Iterable[str] = PACKAGES) -> None:
    """Import every module listed in the ``MODULES`` of each package."""
    for package in packages:
        pkg = importlib.import_module(package)
        for module in getattr(pkg, "MODULES", ()):
            importlib.import_module(f"{package}.{module}")


_default = Registry(loader=import_listed_modules)
_current = _default


def register(cls: T) -> T:
    """Class decorator: register a working Step or Pipeline in the default registry."""
    return _default.add(cls)


def current() -> Registry:
    """The registry lookups use (the default one unless :func:`use` swapped it)."""
    return _current


@contextmanager
def use(registry: Registry) -> Iterator[Registry]:
    """Make ``registry`` the current one for the duration of a ``with`` block (tests)."""
    global _current
    previous, _current = _current, registry
    try:
        yield registry
    finally:
        _current = previous


def find(name: str) -> type | None:
    """Look ``name`` up in the current registry; None when unknown."""
    return _current.find(name)


def get(name: str) -> type:
    """Look ``name`` up in the current registry; ParameterError when unknown."""
    return _current.get(name)


def list_registered() -> list[type]:
    """Every class of the current registry, pipelines first (for ``webbcal run --list``)."""
    return _current.classes()


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
