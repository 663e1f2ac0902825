"""Test doubles for the framework tests: a tiny JSON-backed model and toy steps.

``ToyModel`` follows the ``webbcal.datamodels`` contract the framework relies on: an
attribute ``meta`` tree (unset leaf -> None, official sections exist, assignment creates
nodes, ``to_dict()``), ``save(path)``, ``copy()``, ``close()``. ``install`` makes
``webbcal.datamodels.open`` the toy opener for a test.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from webbcal.core import Exposures, Pipeline, Step, StepResult, param, product
from webbcal.core.registry import Registry

SECTIONS = {"cal_step", "ref_file", "exposure", "visit", "dither", "instrument", "subarray"}


class Node:
    """Attribute view of a dict; known sections read as empty nodes."""

    def __init__(self, data: dict | None, parent: Node | None = None, key: str = "", path=""):
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        path = f"{self._path}.{name}" if self._path else name
        if self._data is not None and name in self._data:
            value = self._data[name]
            return Node(value, self, name, path) if isinstance(value, dict) else value
        if path in SECTIONS or self._path == "ref_file":
            return Node(None, self, name, path)
        return None

    def __setattr__(self, name: str, value: Any) -> None:
        self._materialize()[name] = copy.deepcopy(value)

    def _materialize(self) -> dict:
        if self._data is None:
            parent = self._parent._materialize()
            object.__setattr__(self, "_data", parent.setdefault(self._key, {}))
        return self._data

    def to_dict(self) -> dict:
        return copy.deepcopy(self._data or {})


class ToyModel:
    """A model with one ``data`` array, saved as JSON."""

    def __init__(self, data: Any = (1.0, 2.0), meta: dict | None = None) -> None:
        self.data = np.asarray(data, dtype=float)
        self.meta = Node(copy.deepcopy(meta) if meta else {})
        self.closed = False

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        self.meta.filename = path.name
        payload = {"data": self.data.tolist(), "meta": self.meta.to_dict()}
        path.write_text(json.dumps(payload, sort_keys=True))
        return path

    def copy(self) -> ToyModel:
        return ToyModel(self.data.copy(), self.meta.to_dict())

    def close(self) -> None:
        self.closed = True

    @classmethod
    def read(cls, path: str | Path) -> ToyModel:
        payload = json.loads(Path(path).read_text())
        model = cls(payload["data"], payload["meta"])
        model.meta.filename = Path(path).name
        return model


def toy_open(obj: Any) -> Any:
    return obj if isinstance(obj, ToyModel) else ToyModel.read(obj)


def install(monkeypatch) -> None:
    """Make ``webbcal.datamodels.open`` the toy opener for one test."""
    import webbcal.datamodels

    monkeypatch.setattr(webbcal.datamodels, "open", toy_open)


def write_model(path: Path, data=(1.0, 2.0), **meta) -> Path:
    """Write a toy product file at ``path``."""
    model = ToyModel(data, {"exposure": {"type": "NRC_IMAGE"}, **meta})
    return model.save(path)


# ---------------------------------------------------------------- toy steps


@dataclass(frozen=True, kw_only=True)
class ScaleParams:
    factor: float = param(2.0, "Multiply the data by this")
    offset: int = param(0, "Added after scaling")
    mode: Literal["fast", "slow"] = param("fast", "How to scale")
    names: tuple[str, ...] = param(("a",), "Some names")
    limit: float | None = param(None, "Optional limit")


class ScaleStep(Step):
    alias = "scale"
    description = "Multiply the data by a gain-weighted factor"
    Params = ScaleParams
    reftypes = ("gain",)
    optional_reftypes = ("area",)

    def process(self, model, refs, params):
        gain = refs.open("gain")
        model.data = model.data * params.factor * float(gain.data.mean()) + params.offset
        return model


@dataclass(frozen=True, kw_only=True)
class ShiftParams:
    shift: float = param(1.0, "Added to the data")
    fail: bool = param(False, "Raise a StepError (tests the no-partial-products rule)")


class ShiftStep(Step):
    alias = "shift"
    class_name = "ShiftStep"
    cal_step = "shift_cal"
    description = "Add a constant"
    Params = ShiftParams

    def skip_reason(self, model, params):
        return "exposure is a dark" if model.meta.exposure.type == "NRC_DARK" else None

    def process(self, model, refs, params):
        if params.fail:
            from webbcal.errors import StepError

            raise StepError("shift failed on purpose")
        model.data = model.data + params.shift
        return model


@dataclass(frozen=True)
class SplitResult(StepResult):
    low: ToyModel | None = product(None, doc="values below the mean")
    high: ToyModel | None = product("high", doc="values above the mean")


class SplitStep(Step):
    alias = "split"
    description = "Split into two products"
    Result = SplitResult

    def process(self, model, refs, params):
        low, high = model.copy(), model.copy()
        mean = model.data.mean()
        low.data = model.data[model.data <= mean]
        high.data = model.data[model.data > mean]
        return SplitResult(low=low, high=high)


@dataclass(frozen=True)
class CombineResult(StepResult):
    combined: ToyModel | None = product("i2d", doc="the sum of the inputs")
    flagged: Exposures | None = product("crf", doc="each input, flagged")


class CombineStep(Step):
    alias = "combine"
    description = "Add the science exposures of a product"
    input_kind = "association"
    Result = CombineResult

    def process(self, exposures, refs, params):
        science = exposures.of_type("science")
        total = science[0].copy()
        total.data = sum(m.data for m in science)
        return CombineResult(combined=total, flagged=science)


@dataclass(frozen=True, kw_only=True)
class ToyPipelineParams:
    save_scaled: bool = param(False, "Save the data after scale as _scaled")


class ToyPipeline(Pipeline):
    alias = "calwebb_toy"
    description = "Scale then shift"
    Params = ToyPipelineParams
    suffix = "toyout"
    step_defs: ClassVar[dict[str, type[Step]]] = {"scale": ScaleStep, "shift": ShiftStep}

    def process(self, model, refs, params):
        model = self.run_step("scale", model)
        if params.save_scaled:
            self.save_product(model, "scaled")
        return self.run_step("shift", model)


def toy_registry() -> Registry:
    registry = Registry()
    for cls in (ScaleStep, ShiftStep, SplitStep, CombineStep, ToyPipeline):
        registry.add(cls)
    return registry


class FakeRefs:
    """A resolver over a folder of toy reference files and parameter files."""

    def __init__(self, folder: Path, gain: float = 1.0) -> None:
        self.folder = folder
        self.files: dict[str, Path | None] = {
            "gain": write_model(folder / "toy_gain_0001.fits", (gain, gain)),
            "area": None,
        }
        self.calls: list[str] = []

    def set_pars(self, reftype: str, text: str) -> Path:
        path = self.folder / f"{reftype}.yaml"
        path.write_text(text)
        self.files[reftype] = path
        return path

    def __call__(self, reftype: str, model: Any) -> Path | None:
        self.calls.append(reftype)
        return self.files.get(reftype)
