"""Parameter files in the official layout (ASDF or YAML).

The layout is the one stpipe writes with ``--save-parameters``::

    class: webbcal.pipelines.calwebb_detector1.Detector1Pipeline
    name: calwebb_detector1
    parameters:
      save_calibrated_ramp: false
      ...
    steps:
    - class: webbcal.steps.jump.JumpStep
      name: jump
      parameters:
        rejection_threshold: 4.0

``class`` may name an official class (``jwst.pipeline.Detector1Pipeline``); it is matched
by its last component, the class name. Parameter reference files (``pars-*``) have the
same layout plus a ``meta`` block, which is ignored here. A file without a ``parameters``
block (the pre-1.0 layout) has its parameters at the top level.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from webbcal.core.params import Layer
from webbcal.errors import ParameterError

log = logging.getLogger(__name__)

__all__ = ["layer_from_tree", "read_config", "read_config_tree", "write_config"]

_RESERVED = {"class", "name", "meta", "steps", "parameters", "asdf_library", "history"}


def read_config_tree(path: str | Path) -> dict[str, Any]:
    """Read a parameter file (ASDF, YAML) into a plain dict.

    Raises
    ------
    ParameterError
        When the file is missing, unreadable, or not a mapping.

    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError("parameter file not found", path=path)
    if path.suffix.lower() == ".cfg":
        raise ParameterError(
            "the .cfg format is no longer supported; use an ASDF or YAML parameter file",
            path=path,
        )
    if path.suffix.lower() == ".asdf":
        tree = _read_asdf(path)
    else:
        try:
            tree = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ParameterError(f"not a valid YAML parameter file: {exc}", path=path) from None
    if not isinstance(tree, Mapping):
        raise ParameterError("a parameter file must hold a mapping (class, parameters)", path=path)
    return dict(tree)


def _read_asdf(path: Path) -> Any:
    import asdf

    try:
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            return _plain(af.tree)
    except (ValueError, OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"not a valid ASDF parameter file: {exc}", path=path) from None


def _plain(node: Any) -> Any:
    """ASDF tree -> plain dicts and lists (drops tagged objects' wrappers)."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    return node


def layer_from_tree(tree: Mapping[str, Any], source: str, *, strict: bool = True) -> Layer:
    """Turn a parameter-file tree into a Layer (``steps`` as a list or a mapping)."""
    class_name = _class_name(tree.get("class"))
    if "parameters" in tree:
        parameters = tree["parameters"] or {}
    else:  # older layout: parameters at the top level
        parameters = {k: v for k, v in tree.items() if k not in _RESERVED}
    if not isinstance(parameters, Mapping):
        raise ParameterError(f"{source}: 'parameters' must be a mapping")
    layer = Layer(source=source, parameters=dict(parameters), strict=strict, class_name=class_name)
    steps = tree.get("steps") or []
    if isinstance(steps, Mapping):  # {name: {parameters...}} form
        entries = [{"name": k, **(v or {})} for k, v in steps.items()]
    elif isinstance(steps, list):
        entries = steps
    else:
        raise ParameterError(f"{source}: 'steps' must be a list of {{class, name, parameters}}")
    for entry in entries:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            raise ParameterError(f"{source}: every entry of 'steps' needs a 'name'")
        layer.steps[str(entry["name"])] = layer_from_tree(entry, source, strict=strict)
    return layer


def _class_name(value: Any) -> str | None:
    if not value:
        return None
    return str(value).rsplit(".", 1)[-1]


def read_config(path: str | Path, *, strict: bool = True) -> Layer:
    """Read a parameter file into a Layer whose source names the file."""
    return layer_from_tree(read_config_tree(path), str(path), strict=strict)


def write_config(tree: Mapping[str, Any], path: str | Path) -> Path:
    """Write a parameter tree atomically: ASDF when ``path`` ends ``.asdf``, else YAML."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if path.suffix.lower() == ".asdf":
            import asdf

            asdf.AsdfFile(dict(tree)).write_to(tmp)
        else:
            tmp.write_text(yaml.safe_dump(dict(tree), sort_keys=False))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("Saved parameters to %s", path)
    return path
