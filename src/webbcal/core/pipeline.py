"""The Pipeline base class: a declared sequence of steps.

Writing a pipeline
------------------
::

    from dataclasses import dataclass

    from webbcal.core import Pipeline, param, register
    from webbcal.steps.jump import JumpStep
    ...

    @dataclass(frozen=True, kw_only=True)
    class Detector1Params:
        save_calibrated_ramp: bool = param(False, "Save the ramp after jump as _ramp")

    @register
    class Detector1Pipeline(Pipeline):
        alias = "calwebb_detector1"
        description = "Stage 1: detector corrections and ramp fitting"
        Params = Detector1Params
        suffix = "rate"
        Result = Detector1Result          # rate + rateints
        step_defs = {"dq_init": DQInitStep, "saturation": SaturationStep, ...,
                     "jump": JumpStep, "ramp_fit": RampFitStep}

        def process(self, model, refs, params):
            for name in ("dq_init", "saturation", ..., "jump"):
                model = self.run_step(name, model)
            if params.save_calibrated_ramp:
                self.save_product(model, "ramp")
            fit = self.run_step("ramp_fit", model)
            return Detector1Result(rate=fit.rate, rateints=fit.rateints)

A pipeline is a Step: it has ``Params`` (plus the common ones), is run with
``Pipeline.call(input, steps={"jump": {"rejection_threshold": 5}})`` or
``webbcal run calwebb_detector1 X_uncal.fits --steps.jump.rejection_threshold=5``, and
its ``input_kind`` says how associations are processed (``"model"``: each science member
in turn, with ``self.product`` giving the member's association product, e.g. its
backgrounds; ``"association"``: all members of a product at once).

``run_step(name, target)`` runs one declared step with its resolved configuration
(``steps.<name>.*``, including ``skip``): a skipped step still records SKIPPED. A step
configured with ``save_results`` saves its output with its suffix, and
``save_product(model, suffix)`` saves a named intermediate product (``_ramp``,
``_bsub``); like every product, they are written when the whole run succeeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from webbcal.core.naming import output_path
from webbcal.core.params import StepConfig
from webbcal.core.progress import Progress
from webbcal.core.step import Step

__all__ = ["Pipeline"]


class Pipeline(Step):
    """Base class of pipelines; see the module documentation."""

    is_pipeline: ClassVar[bool] = True
    #: Ordered step name -> Step class.
    step_defs: ClassVar[dict[str, type[Step]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, step_cls in cls.step_defs.items():
            if not (isinstance(step_cls, type) and issubclass(step_cls, Step)):
                raise TypeError(f"{cls.__name__}.step_defs[{name!r}] is not a Step class")

    def _execute(self, target: Any, config: StepConfig) -> Any:
        self._progress = Progress(self.name, len(self.step_defs))
        return super()._execute(target, config)

    def run_step(self, name: str, target: Any) -> Any:
        """Run the declared step ``name`` on ``target`` with its configuration."""
        if self.config is None:
            raise RuntimeError(f"{self.name}.run_step() is only available during run()")
        config = self.config.steps[name]
        if config.common.output_dir is None and self.config.common.output_dir is not None:
            config = config.replace(output_dir=self.config.common.output_dir)
        step = self.step_defs[name](name=name, resolver=self.resolver)
        step.config = config
        step.product, step.asn, step._source = self.product, self.asn, self._source
        step._output_base = self._output_base
        step._outputs = self._outputs
        with self._progress.item(name):
            return step._execute(target, config)

    def save_product(self, model: Any, suffix: str, ext: str | None = None) -> Path:
        """Save an intermediate product with ``suffix``, named like the pipeline's outputs."""
        if self.config is None:
            raise RuntimeError(f"{self.name}.save_product() is only available during run()")
        name = self._output_name(suffix, ext)
        return self.save_product_as(model, output_path(name, self.config.common.output_dir))
