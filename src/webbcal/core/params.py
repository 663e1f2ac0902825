"""Typed step parameters: declaration, coercion from strings, and layered resolution.

A step declares its parameters as a frozen, keyword-only dataclass whose fields carry a
one-line doc::

    @dataclass(frozen=True, kw_only=True)
    class SaturationParams:
        n_pix_grow_sat: int = param(1, "Rings of neighbouring pixels also flagged")

Every step and pipeline also has the :class:`CommonParams` (``skip``, ``save_results``,
``output_dir`` ...) and one ``override_<reftype>`` parameter per declared reference type.

Values reach a step through :class:`Layer` objects, applied lowest first: class defaults,
the parameter reference file (``pars-<classname>``), the user's parameter file, keyword or
command-line overrides. :func:`resolve_config` merges them into a frozen
:class:`StepConfig`; :mod:`webbcal.core.config_files` reads and writes the official file
layout.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from webbcal.errors import ParameterError

log = logging.getLogger(__name__)

__all__ = [
    "BARE_FLAG",
    "CommonParams",
    "Layer",
    "NoParams",
    "ParamSpec",
    "StepConfig",
    "coerce",
    "param",
    "param_specs",
    "resolve_config",
]

#: Value given to a command-line flag written without a value (``--save_results``).
BARE_FLAG = object()

#: Common parameters of the official stpipe that webbcal accepts in parameter files and
#: ignores (they control features webbcal does not have: hooks, output-name options).
IGNORED_OFFICIAL = frozenset(
    {"pre_hooks", "post_hooks", "output_ext", "output_use_model", "output_use_index"}
)


def param(default: Any, doc: str, **metadata: Any) -> Any:
    """Declare a parameter field with its default and one-line documentation.

    Parameters
    ----------
    default : object
        The class default (immutable: use tuples, not lists).
    doc : str
        One line shown by ``webbcal run <alias> --help`` and in the generated docs.
    **metadata
        Extra field metadata.

    """
    return field(default=default, metadata={"doc": doc, **metadata})


@dataclass(frozen=True, kw_only=True)
class NoParams:
    """Parameters of a step that has none of its own."""


@dataclass(frozen=True, kw_only=True)
class CommonParams:
    """Parameters every step and pipeline has; handled by the framework."""

    skip: bool = param(False, "Skip this step (recorded as SKIPPED)")
    save_results: bool = param(False, "Save the result to a file (always on from the CLI)")
    output_dir: str | None = param(None, "Directory for output files (default: current dir)")
    output_file: str | None = param(None, "File name of the main output product")
    suffix: str | None = param(None, "Product suffix of the output (default: the step's)")
    input_dir: str | None = param(None, "Directory searched for a relative input path")
    search_output_file: bool = param(
        True, "Name outputs from the input model's meta.filename when it has one"
    )


COMMON_NAMES = tuple(f.name for f in dataclasses.fields(CommonParams))


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: its name, type, default and doc."""

    name: str
    type: Any
    default: Any
    doc: str
    group: Literal["step", "common", "override"]


def param_specs(cls: type) -> dict[str, ParamSpec]:
    """All parameters of a step or pipeline class, in display order.

    The class's own ``Params`` fields come first, then the common parameters, then one
    ``override_<reftype>`` per reference type the class declares.
    """
    specs: dict[str, ParamSpec] = {}
    for group, dc in (("step", cls.Params), ("common", CommonParams)):
        hints = typing.get_type_hints(dc)
        for f in dataclasses.fields(dc):
            if f.name in specs:
                raise TypeError(f"{cls.__name__}.Params redefines common parameter {f.name!r}")
            if f.default is dataclasses.MISSING:
                raise TypeError(f"{cls.__name__}: parameter {f.name!r} has no default")
            doc = f.metadata.get("doc", "")
            specs[f.name] = ParamSpec(f.name, hints[f.name], f.default, doc, group)
    for reftype in (*cls.reftypes, *cls.optional_reftypes):
        name = f"override_{reftype}"
        doc = f"Use this {reftype} reference file instead of the selected one ('N/A': none)"
        specs[name] = ParamSpec(name, str | None, None, doc, "override")
    return specs


# --------------------------------------------------------------------------- coercion

_TRUE = {"true", "yes", "y", "on", "1", "t"}
_FALSE = {"false", "no", "n", "off", "0", "f"}
_NONE = {"none", "null", "~", ""}


class _MismatchError(Exception):
    """Internal: the value does not fit the type (turned into a ParameterError)."""


def type_name(tp: Any) -> str:
    """Human-readable name of a parameter type, e.g. ``int or None``."""
    origin = typing.get_origin(tp)
    if tp is type(None):
        return "None"
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = type_name(args[0]) if args else "value"
        return f"a list of {inner}"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def coerce(value: Any, tp: Any, *, name: str, owner: str, source: str | None = None) -> Any:
    """Convert ``value`` (a string from the CLI or a YAML value) to the type ``tp``.

    Raises
    ------
    ParameterError
        Naming the parameter, the step and the bad value.

    """
    try:
        return _coerce(value, tp)
    except _MismatchError:
        where = f" (from {source})" if source else ""
        if value is BARE_FLAG:
            raise ParameterError(
                f"{owner}: parameter '{name}' needs a value (--{name}=VALUE){where}"
            ) from None
        raise ParameterError(
            f"{owner}: parameter '{name}' expects {type_name(tp)}, got {value!r}{where}"
        ) from None


def _coerce(value: Any, tp: Any) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        is_none = value is None or (isinstance(value, str) and value.strip().lower() in _NONE)
        if is_none and type(None) in args:
            return None
        for arg in args:  # an exact match first: 3 stays an int in `int | float`
            if arg is not type(None) and _isinstance(value, arg):
                return _coerce(value, arg)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except _MismatchError:
                continue
        raise _MismatchError
    if tp is type(None):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            return None
        raise _MismatchError
    if origin is Literal:
        for choice in typing.get_args(tp):
            if value == choice:
                return choice
            if isinstance(value, str) and not isinstance(choice, str):
                try:
                    if _coerce(value, type(choice)) == choice:
                        return choice
                except _MismatchError:
                    continue
        raise _MismatchError
    if origin in (tuple, list) or tp in (tuple, list):
        return _coerce_sequence(value, tp, origin or tp)
    if value is BARE_FLAG:
        if tp is bool:
            return True
        raise _MismatchError
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise _MismatchError
    if tp is int:
        if isinstance(value, bool):
            raise _MismatchError
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise _MismatchError from None
        raise _MismatchError
    if tp is float:
        if isinstance(value, bool):
            raise _MismatchError
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _MismatchError from None
            if math.isnan(number) and value.strip().lower() != "nan":
                raise _MismatchError
            return number
        raise _MismatchError
    if tp is str:
        if isinstance(value, str):
            return value
        raise _MismatchError
    if tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise _MismatchError
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _MismatchError


def _isinstance(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is not None:
        return isinstance(value, origin)
    if tp is int or tp is float:
        return isinstance(value, tp) and not isinstance(value, bool)
    return isinstance(tp, type) and isinstance(value, tp)


def _coerce_sequence(value: Any, tp: Any, container: type) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = yaml.safe_load(text) if text.startswith("[") else None
        except yaml.YAMLError:
            raise _MismatchError from None
        if isinstance(parsed, list):
            value = parsed
        elif text == "" or text.lower() in _NONE - {""}:
            value = []
        else:
            value = [part.strip() for part in text.split(",")]
    if not isinstance(value, list | tuple):
        raise _MismatchError
    args = typing.get_args(tp)
    if container is tuple and len(args) == 2 and args[1] is Ellipsis:
        items = [_coerce(v, args[0]) for v in value]
    elif container is tuple and args:
        if len(args) != len(value):
            raise _MismatchError
        items = [_coerce(v, a) for v, a in zip(value, args)]
    elif args:
        items = [_coerce(v, args[0]) for v in value]
    else:
        items = list(value)
    return tuple(items) if container is tuple else items


def to_plain(value: Any) -> Any:
    """A parameter value as plain YAML/JSON data (tuples become lists, paths strings)."""
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- layers


@dataclass
class Layer:
    """One source of parameter values (a file, a pars reference, overrides).

    Attributes
    ----------
    source : str
        Where the values come from, for messages (``"pars-jumpstep jwst_..._pars.asdf"``).
    parameters : dict
        Parameter name -> raw value (string or YAML value).
    steps : dict
        For pipelines: step name -> the Layer that configures that step.
    strict : bool
        Unknown names raise ParameterError when True, and are logged and ignored when
        False (parameter reference files may hold parameters this version lacks).
    class_name : str or None
        The class the source says it configures (checked against the target class).

    """

    source: str
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Layer] = field(default_factory=dict)
    strict: bool = True
    class_name: str | None = None

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any], source: str = "overrides") -> Layer:
        """Build a layer from keyword overrides (``steps={"jump": {...}}`` nests)."""
        layer = cls(source=source)
        for key, value in overrides.items():
            if key == "steps":
                if not isinstance(value, Mapping):
                    raise ParameterError(f"{source}: 'steps' must map step names to dicts")
                for step_name, sub in value.items():
                    if not isinstance(sub, Mapping):
                        raise ParameterError(
                            f"{source}: steps.{step_name} must be a dict of parameters"
                        )
                    layer.step(step_name).merge(cls.from_overrides(sub, source))
            else:
                layer.parameters[key.replace("-", "_")] = value
        return layer

    def step(self, name: str) -> Layer:
        """The sub-layer for step ``name``, created when missing."""
        if name not in self.steps:
            self.steps[name] = Layer(source=self.source, strict=self.strict)
        return self.steps[name]

    def merge(self, other: Layer) -> None:
        """Add ``other``'s values on top of this layer's."""
        self.parameters.update(other.parameters)
        for name, sub in other.steps.items():
            self.step(name).merge(sub)


# --------------------------------------------------------------------------- resolved


@dataclass(frozen=True)
class StepConfig:
    """The resolved, typed configuration of one step or pipeline.

    Attributes
    ----------
    cls : type
        The Step or Pipeline class configured.
    name : str
        The step's name (its alias, or its name inside a pipeline).
    values : dict
        Every parameter (step, common, overrides) -> its coerced value.
    steps : dict
        For pipelines: step name -> StepConfig.

    """

    cls: type
    name: str
    values: Mapping[str, Any]
    steps: Mapping[str, StepConfig] = field(default_factory=dict)

    @property
    def params(self) -> Any:
        """The step's own ``Params`` instance."""
        names = {f.name for f in dataclasses.fields(self.cls.Params)}
        return self.cls.Params(**{k: v for k, v in self.values.items() if k in names})

    @property
    def common(self) -> CommonParams:
        """The common parameters (skip, save_results, output_dir ...)."""
        return CommonParams(**{k: self.values[k] for k in COMMON_NAMES})

    def override(self, reftype: str) -> str | None:
        """The ``override_<reftype>`` value, or None."""
        return self.values.get(f"override_{reftype}")

    def replace(self, **values: Any) -> StepConfig:
        """A copy with some (already typed) values replaced."""
        return dataclasses.replace(self, values={**self.values, **values})

    def plain_values(self) -> dict[str, Any]:
        """The values as plain data, for files and ``meta``."""
        return {k: to_plain(v) for k, v in self.values.items()}

    def to_tree(self) -> dict[str, Any]:
        """The official parameter-file layout: class, name, parameters, steps."""
        tree: dict[str, Any] = {
            "class": f"{self.cls.__module__}.{self.cls.__qualname__}",
            "name": self.name,
            "parameters": self.plain_values(),
        }
        if self.steps:
            tree["steps"] = [sub.to_tree() for sub in self.steps.values()]
        return tree

    def save(self, path: str | Path) -> Path:
        """Write this configuration (ASDF for ``.asdf``, else YAML); see ``config_files``."""
        from webbcal.core.config_files import write_config

        return write_config(self.to_tree(), path)


def check_layer(cls: type, layer: Layer, owner: str | None = None) -> Layer:
    """Validate and coerce a layer's values for ``cls`` now (fail before reading data).

    Returns a new Layer with typed values; unknown names raise (strict) or are dropped
    with a warning (not strict).
    """
    owner = owner or cls.class_name
    if layer.class_name and not cls.matches_class_name(layer.class_name):
        raise ParameterError(
            f"{layer.source}: parameters are for {layer.class_name}, not {cls.class_name}"
        )
    specs = param_specs(cls)
    checked = Layer(source=layer.source, strict=layer.strict, class_name=layer.class_name)
    for key, raw in layer.parameters.items():
        name = key.replace("-", "_")
        if name not in specs:
            if name in IGNORED_OFFICIAL:
                log.debug("%s: ignoring official parameter %r", layer.source, name)
                continue
            message = f"{owner}: unknown parameter '{key}' (from {layer.source})"
            if layer.strict:
                raise ParameterError(f"{message}; known: {', '.join(specs)}")
            log.warning("%s; ignored", message)
            continue
        checked.parameters[name] = coerce(
            raw, specs[name].type, name=name, owner=owner, source=layer.source
        )
    step_defs = getattr(cls, "step_defs", {})
    for step_name, sub in layer.steps.items():
        if step_name not in step_defs:
            message = f"{owner}: unknown step '{step_name}' (from {layer.source})"
            if layer.strict:
                raise ParameterError(f"{message}; steps: {', '.join(step_defs) or 'none'}")
            log.warning("%s; ignored", message)
            continue
        checked.steps[step_name] = check_layer(
            step_defs[step_name], sub, f"{owner}.steps.{step_name}"
        )
    return checked


ParsLookup = Callable[[type], "Layer | None"]


def resolve_config(
    cls: type,
    layers: Sequence[Layer],
    *,
    name: str | None = None,
    pars: ParsLookup | None = None,
) -> StepConfig:
    """Merge class defaults and ``layers`` (lowest first) into a StepConfig.

    Parameters
    ----------
    cls : type
        Step or Pipeline class.
    layers : sequence of Layer
        Already checked with :func:`check_layer`, lowest precedence first.
    name : str, optional
        The step's name (default: its alias).
    pars : callable, optional
        ``pars(cls) -> Layer | None``: the parameter reference layer of a class, applied
        just above its defaults, for the class and each of a pipeline's steps.

    """
    own = list(layers)
    if pars is not None:
        ref = pars(cls)
        if ref is not None:
            own.insert(0, check_layer(cls, ref))
    values = {n: s.default for n, s in param_specs(cls).items()}
    for layer in own:
        values.update(layer.parameters)
    steps = {}
    for step_name, step_cls in getattr(cls, "step_defs", {}).items():
        sub_layers = [layer.steps[step_name] for layer in own if step_name in layer.steps]
        steps[step_name] = resolve_config(step_cls, sub_layers, name=step_name, pars=pars)
    return StepConfig(cls=cls, name=name or cls.alias, values=values, steps=steps)
