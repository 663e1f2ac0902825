"""Parameter reference files (``pars-<class>``), in the layout stpipe writes.

ASDF with ``meta``, ``class``, ``name``, ``parameters`` and, for a pipeline, ``steps`` (a
list of ``{class, name, parameters}``), as written by ``--save-parameters``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from webbcal.refs.formats.asdf import read_asdf, write_asdf
from webbcal.refs.formats.common import RefHeader

__all__ = ["pars_reftype", "read_pars", "write_pars"]


def pars_reftype(class_name: str) -> str:
    """``pars-<class name lower case>`` (``"JumpStep"`` -> ``"pars-jumpstep"``)."""
    return "pars-" + class_name.rsplit(".", 1)[-1].lower()


def write_pars(
    path: str | os.PathLike,
    header: RefHeader,
    class_path: str,
    name: str,
    parameters: Mapping[str, Any],
    steps: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write a parameter reference file.

    Parameters
    ----------
    path : str or os.PathLike
        Output ``.asdf`` file.
    header : RefHeader
        Its ``reftype`` should be :func:`pars_reftype` of the class.
    class_path : str
        Fully qualified class (``"webbcal.steps.jump.JumpStep"`` or an official one).
    name : str
        Step or pipeline name (its alias).
    parameters : mapping
        Parameter values.
    steps : sequence of mapping, optional
        A pipeline's steps: ``{"class": ..., "name": ..., "parameters": {...}}``.
    """
    body: dict[str, Any] = {"class": class_path, "name": name, "parameters": dict(parameters)}
    if steps:
        body["steps"] = [dict(s) for s in steps]
    return write_asdf(path, header, body)


def read_pars(path: str | os.PathLike) -> dict[str, Any]:
    """The tree of a parameter reference file (``meta``, ``class``, ``name``, ``parameters``).

    A pipeline's file also has ``steps``.
    """
    ref = read_asdf(path)
    return {"meta": ref.meta, **ref.tree}
