"""Toy steps and pipelines on real ImageModels, importable by Dask worker processes.

They need no reference files, so they run the same in the test process, in a spawned
worker and in a CLI subprocess (``driver.py`` registers them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy import ndimage

from webbcal.core import Exposures, Pipeline, Step, StepResult, param, product
from webbcal.core.registry import Registry
from webbcal.datamodels import ImageModel
from webbcal.errors import StepError


@dataclass(frozen=True, kw_only=True)
class AddParams:
    value: float = param(1.5, "Added to the data")
    delay: float = param(0.0, "Seconds to sleep (to make runs slow enough to kill)")
    fail_on: str = param("", "Raise a StepError for inputs whose name contains this")
    crash_on: str = param("", "End the process at once for inputs whose name contains this")


class ToyAddStep(Step):
    alias = "toy_add"
    class_name = "ToyAddStep"
    Params = AddParams

    def process(self, model, refs, params):
        name = model.meta.filename or ""
        if params.fail_on and params.fail_on in name:
            raise StepError("toy_add refuses this exposure on purpose", path=name)
        if params.crash_on and params.crash_on in name:
            os._exit(3)  # a worker dying (as the kernel's OOM killer would do it)
        time.sleep(params.delay)
        model.data = (model.data + np.float32(params.value)).astype(np.float32)
        model.err = np.sqrt(np.abs(model.data)).astype(np.float32)
        return model


class ToySmoothStep(Step):
    alias = "toy_smooth"
    class_name = "ToySmoothStep"

    def process(self, model, refs, params):
        smooth = ndimage.gaussian_filter(model.data.astype(np.float64), 1.3)
        model.data = (model.data * np.float32(0.7) + smooth.astype(np.float32) * 0.3).astype(
            np.float32
        )
        model.dq = (model.data > np.median(model.data) * 1.5).astype(np.uint32) * 4
        return model


@dataclass(frozen=True, kw_only=True)
class ChainParams:
    save_added: bool = param(False, "Save the data after toy_add as _added")


class ToyChainPipeline(Pipeline):
    alias = "toy_chain"
    class_name = "ToyChainPipeline"
    description = "Add then smooth (test pipeline)"
    Params = ChainParams
    suffix = "toycal"
    step_defs: ClassVar[dict[str, type[Step]]] = {
        "toy_add": ToyAddStep,
        "toy_smooth": ToySmoothStep,
    }

    def process(self, model, refs, params):
        model = self.run_step("toy_add", model)
        if params.save_added:
            self.save_product(model, "added")
        return self.run_step("toy_smooth", model)


@dataclass(frozen=True)
class StackResult(StepResult):
    combined: ImageModel | None = product("toystack", doc="the mean")
    flagged: Exposures | None = product("toycrf", doc="each input")


class ToyStackPipeline(Pipeline):
    alias = "toy_stack"
    class_name = "ToyStackPipeline"
    description = "Average the members (test level-3 pipeline)"
    input_kind = "association"
    Result = StackResult
    step_defs: ClassVar[dict[str, type[Step]]] = {"toy_smooth": ToySmoothStep}

    def process(self, exposures, refs, params):
        science = exposures.of_type("science")
        mean = np.mean([m.data for m in science], axis=0).astype(np.float32)
        out = ImageModel(data=mean)
        out.meta.update(science[0].meta.to_dict())
        out = self.run_step("toy_smooth", out)
        return StackResult(combined=out, flagged=science)


def toy_registry() -> Registry:
    registry = Registry()
    for cls in (ToyAddStep, ToySmoothStep, ToyChainPipeline, ToyStackPipeline):
        registry.add(cls)
    return registry


def write_exposure(path: Path, seed: int, shape=(48, 40)) -> Path:
    """A small ImageModel file with seeded noise and a few bright pixels."""
    rng = np.random.default_rng(seed)
    data = rng.normal(10.0, 2.0, shape).astype(np.float32)
    data[rng.integers(0, shape[0], 5), rng.integers(0, shape[1], 5)] += 100.0
    model = ImageModel(data=data)
    model.meta.exposure.type = "NRC_IMAGE"
    model.meta.instrument.name = "NIRCAM"
    model.meta.instrument.detector = "NRCA1"
    return model.save(path)
