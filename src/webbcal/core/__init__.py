"""The framework: steps, pipelines, typed parameters, registry, naming, provenance.

Everything a step or pipeline module needs is importable from here::

    from webbcal.core import Exposures, Pipeline, Refs, Step, StepResult, param, product, register
"""

from webbcal.core.inputs import Exposures
from webbcal.core.params import CommonParams, NoParams, StepConfig, param
from webbcal.core.pipeline import Pipeline
from webbcal.core.references import Refs
from webbcal.core.registry import register
from webbcal.core.results import StepResult, product
from webbcal.core.step import Step

__all__ = [
    "CommonParams",
    "Exposures",
    "NoParams",
    "Pipeline",
    "Refs",
    "Step",
    "StepConfig",
    "StepResult",
    "param",
    "product",
    "register",
]
