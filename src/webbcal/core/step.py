"""The Step base class: one calibration step, run the same way from Python and the CLI.

Writing a step
--------------
::

    from dataclasses import dataclass

    from webbcal.core import Refs, Step, param, register


    @dataclass(frozen=True, kw_only=True)
    class SaturationParams:
        n_pix_grow_sat: int = param(1, "Rings of neighbouring pixels also flagged")


    @register
    class SaturationStep(Step):
        alias = "saturation"                  # name on the CLI, default suffix and cal_step
        description = "Flag saturated groups"  # one line for `webbcal run --list`
        Params = SaturationParams
        reftypes = ("saturation",)            # required: SKIPPED when one does not apply

        def process(self, model, refs: Refs, params: SaturationParams):
            sat = refs.saturation             # opened lazily, closed when the step ends
            flag_saturation(model.groupdq, ..., n_grow=params.n_pix_grow_sat)
            return model

``process`` receives a model (or, for ``input_kind = "association"``, an
:class:`~webbcal.core.inputs.Exposures`), the step's :class:`~webbcal.core.references.Refs`
and its typed ``Params``; it returns a model, an ``Exposures``, or one
:class:`~webbcal.core.results.StepResult`. Optional hooks: ``skip_reason(model, params)``
(a string makes the step SKIPPED with that reason logged) and ``output_suffix(result)``
(a suffix that depends on the result, e.g. ``calints`` for 3-D data).

What the framework does
-----------------------
``Step.call(input, **overrides)`` and ``webbcal run <alias> <input> --name=value`` both
construct the step and call :meth:`Step.run`, which:

1. opens the input (path -> ``datamodels.open``; the input file is never written; an
   association JSON runs the step on each science member, or gives association steps the
   members of each product);
2. resolves the parameters: class defaults < ``pars-<classname>`` reference file <
   ``config_file`` < overrides (:mod:`webbcal.core.params`);
3. selects the reference files (``override_<reftype>`` wins), and skips the step when
   ``skip`` is set, when ``skip_reason`` gives a reason or when a required reference
   type does not apply;
4. calls ``process``, times it, and records ``meta.cal_step.<cal_step>``,
   ``meta.ref_file.<reftype>.name``, ``meta.calibration_software_version`` and the
   parameters (``meta.webbcal.parameters.<step name>``) on every product;
5. saves the products when ``save_results`` is set (always from the CLI), named by
   :mod:`webbcal.core.naming`, all at once at the end of a successful run
   (:mod:`webbcal.core.outputs`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Literal

from webbcal.associations.asn import Association, Product, is_association_file, load_asn
from webbcal.core import references
from webbcal.core.config_files import read_config
from webbcal.core.inputs import Exposures, is_model, open_model
from webbcal.core.naming import (
    exposure_output_name,
    output_path,
    product_output_name,
    split_extension,
    strip_suffix,
)
from webbcal.core.outputs import Outputs
from webbcal.core.params import (
    Layer,
    NoParams,
    StepConfig,
    check_layer,
    param_specs,
    resolve_config,
    type_name,
)
from webbcal.core.progress import Progress
from webbcal.core.provenance import (
    COMPLETE,
    SKIPPED,
    record_parameters,
    record_ref_files,
    record_software,
    record_status,
)
from webbcal.core.references import Refs, Resolver
from webbcal.core.results import StepResult
from webbcal.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["Step"]

#: The default resolver as imported (tests replace ``references.best_reference``).
_DEFAULT_RESOLVER = references.best_reference
#: ``pars-*`` lookups of the default resolver in this process, keyed by reference type,
#: the exposure's selection keywords and the reference-source settings (a parameter file
#: added to the store during the process is seen by the next process).
_PARS_CACHE: dict[tuple, Path | None] = {}


class Step:
    """Base class of every calibration step (and, through Pipeline, every pipeline).

    Parameters
    ----------
    config_file : str or Path, optional
        A user parameter file (ASDF or YAML, official layout).
    resolver : callable, optional
        ``(reftype, model) -> Path | None``; default ``webbcal.refs.best_reference``.
    name : str, optional
        The step's name (default: its alias; inside a pipeline, its step name).
    **overrides
        Parameter values (strings are converted); pipelines also take
        ``steps={"jump": {"rejection_threshold": 5}}``.

    Attributes
    ----------
    config : StepConfig or None
        The configuration of the latest run.
    output_paths : list of Path
        Files written by the latest run.
    product : Product or None
        The association product being processed (None for a single exposure).

    """

    #: Name on the command line; default suffix and cal_step key.
    alias: ClassVar[str]
    #: Class name as in the official pipeline (``"SaturationStep"``).
    class_name: ClassVar[str]
    #: One-line description, for ``webbcal run --list``.
    description: ClassVar[str] = ""
    #: Frozen keyword-only dataclass of the step's own parameters.
    Params: ClassVar[type] = NoParams
    #: Required reference types: the step is SKIPPED when one does not apply.
    reftypes: ClassVar[tuple[str, ...]] = ()
    #: Reference types that may not apply (``refs.path`` gives None).
    optional_reftypes: ClassVar[tuple[str, ...]] = ()
    #: Suffix of the saved output (default: the alias).
    suffix: ClassVar[str]
    #: Key under ``meta.cal_step`` (default: the alias; None for pipelines).
    cal_step: ClassVar[str | None]
    #: ``"model"``: one exposure at a time; ``"association"``: an Exposures per product.
    input_kind: ClassVar[Literal["model", "association"]] = "model"
    #: The StepResult subclass returned, for steps with several products.
    Result: ClassVar[type[StepResult] | None] = None
    #: True for pipelines.
    is_pipeline: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "class_name" not in own:
            cls.class_name = cls.__name__
        if "alias" not in own:
            cls.alias = cls.class_name.lower()
        if "suffix" not in own:
            cls.suffix = cls.alias
        if "cal_step" not in own:
            cls.cal_step = None if cls.is_pipeline else cls.alias
        params = cls.Params
        if not (dataclasses.is_dataclass(params) and params.__dataclass_params__.frozen):
            raise TypeError(f"{cls.__name__}.Params must be a frozen dataclass")

    def __init__(
        self,
        *,
        config_file: str | os.PathLike | None = None,
        resolver: Resolver | None = None,
        name: str | None = None,
        **overrides: Any,
    ) -> None:
        cls = type(self)
        self.name = name or cls.alias
        self.resolver = resolver
        self._layers: list[Layer] = []
        if config_file is not None:
            self._layers.append(check_layer(cls, read_config(config_file)))
        if overrides:
            self._layers.append(check_layer(cls, Layer.from_overrides(overrides)))
        self.config: StepConfig | None = None
        self.output_paths: list[Path] = []
        self.product: Product | None = None
        self.asn: Association | None = None
        self._outputs: Outputs | None = None
        self._source: Path | None = None
        self._output_base: tuple[bool, str] = (False, f"{self.name}.fits")

    # ------------------------------------------------------------------ class info

    @classmethod
    def matches_class_name(cls, name: str) -> bool:
        """True when ``name`` (a class name or alias, any case) designates this class."""
        return name.lower() in (cls.class_name.lower(), cls.alias.lower())

    @classmethod
    def describe(cls) -> str:
        """Help text: description and every parameter with type, default and doc."""
        lines = [f"{cls.alias} ({cls.class_name}): {cls.description}".rstrip(": ")]
        if cls.reftypes or cls.optional_reftypes:
            optional = [f"{r} (optional)" for r in cls.optional_reftypes]
            lines.append("reference types: " + ", ".join([*cls.reftypes, *optional]))
        lines.append("parameters:")
        for spec in param_specs(cls).values():
            lines.append(f"  --{spec.name}={spec.default!r}  [{type_name(spec.type)}]  {spec.doc}")
        for step_name, step_cls in getattr(cls, "step_defs", {}).items():
            lines.append(f"  --steps.{step_name}.<param>  ({step_cls.class_name})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ entry points

    @classmethod
    def call(
        cls,
        input: Any,
        *,
        config_file: str | os.PathLike | None = None,
        resolver: Resolver | None = None,
        **overrides: Any,
    ) -> Any:
        """Configure and run the step in one call; returns :meth:`run`'s result."""
        return cls(config_file=config_file, resolver=resolver, **overrides).run(input)

    def run(self, input: Any) -> Any:
        """Run on a path, a model, a list of models, an association or an association file.

        Returns the step's result; for an association given to a ``"model"`` step, the
        list of per-member results; for an ``"association"`` step, the result of its one
        product (a list when it has several). Products are written only when the whole
        run succeeds.
        """
        outputs = Outputs()
        self._outputs = outputs
        try:
            result = self._dispatch(input)
            self.output_paths = outputs.commit()
        finally:
            outputs.discard()
            self._outputs = None
        return result

    def resolve(self, model: Any = None) -> StepConfig:
        """The resolved configuration for ``model``.

        With a model, its parameter reference files are applied; without one, only the
        class defaults and the user's layers.
        """
        pars = None if model is None else (lambda cls: self._pars_layer(cls, model))
        return resolve_config(type(self), self._layers, name=self.name, pars=pars)

    def save_parameters(self, path: str | os.PathLike, model: Any = None) -> Path:
        """Write the resolved configuration (the latest run's, else for ``model``)."""
        config = self.config if self.config is not None else self.resolve(model)
        return config.save(path)

    # ------------------------------------------------------------------ hooks

    def process(self, model: Any, refs: Refs, params: Any) -> Any:
        """Do the step's work; subclasses override this."""
        raise TypeError(f"{type(self).__name__} does not define process()")

    def skip_reason(self, model: Any, params: Any) -> str | None:
        """Why the step does not apply to ``model`` (None: it applies)."""
        return None

    def output_suffix(self, result: Any) -> str:
        """Suffix of the main product (default: the class's ``suffix``)."""
        return self.suffix

    def skipped_result(self, target: Any) -> Any:
        """What a skipped step returns: the input, in the step's Result type if any."""
        return self.Result.skipped(target) if self.Result is not None else target

    # ------------------------------------------------------------------ running

    def _resolver(self) -> Resolver:
        return self.resolver or references.best_reference

    def _pars_path(self, reftype: str, model: Any) -> Path | None:
        """The ``pars-*`` file of ``model``; default-resolver answers are cached per process."""
        resolver = self._resolver()
        if resolver is not _DEFAULT_RESOLVER or model is None:
            return resolver(reftype, model)
        from webbcal.refs.keys import exposure_keys

        try:
            keys = exposure_keys(model)
        except InputError:
            return resolver(reftype, model)
        env = tuple(os.environ.get(v) for v in ("WEBBCAL_REFS_SOURCE", "WEBBCAL_REFS", "CRDS_PATH"))
        key = (reftype, tuple(sorted((k, repr(v)) for k, v in keys.items())), env)
        if key not in _PARS_CACHE:
            _PARS_CACHE[key] = resolver(reftype, model)
        return _PARS_CACHE[key]

    def _pars_layer(self, cls: type, model: Any) -> Layer | None:
        reftype = f"pars-{cls.class_name.lower()}"
        path = self._pars_path(reftype, model)
        if path is None:
            return None
        log.info("%s: parameters from %s %s", cls.class_name, reftype, path)
        layer = read_config(path, strict=False)
        layer.source = f"{reftype} {Path(path).name}"
        return layer

    def _early_value(self, name: str) -> Any:
        """A parameter's value from the user layers only (before a model is open)."""
        value = None
        for layer in self._layers:
            value = layer.parameters.get(name, value)
        return value

    def _input_path(self, value: str | os.PathLike) -> Path:
        path = Path(value).expanduser()
        input_dir = self._early_value("input_dir")
        if not path.is_absolute() and input_dir and not path.exists():
            path = Path(input_dir) / path
        return path

    def _dispatch(self, input: Any) -> Any:
        if isinstance(input, str | os.PathLike):
            path = self._input_path(input)
            if is_association_file(path):
                return self._run_association(load_asn(path))
            if not path.exists():
                raise InputError("input file not found", path=path)
            self._protect(path)
            model = open_model(path)
            if self.input_kind == "association":
                return self._run_one(Exposures.from_models([model]), source=path)
            return self._run_one(model, source=path)
        if isinstance(input, Association):
            return self._run_association(input)
        if isinstance(input, Exposures) and self.input_kind == "association":
            return self._run_one(input)
        if isinstance(input, Exposures | list | tuple):
            if self.input_kind == "association":
                return self._run_one(Exposures.from_models(list(input)))
            return [self._dispatch(item) for item in input]
        if is_model(input):
            if self.input_kind == "association":
                return self._run_one(Exposures.from_models([input]))
            return self._run_one(input)
        raise InputError(f"{self.name}: cannot run on a {type(input).__name__}")

    def _protect(self, path: Path) -> None:
        if self._outputs is not None:
            self._outputs.protect(path)

    def _run_association(self, asn: Association) -> Any:
        for member in asn.members():
            if member.path is not None:
                self._protect(member.path)
        if self.input_kind == "association":
            results = [
                self._run_one(Exposures.from_product(asn, p), product=p, asn=asn)
                for p in asn.products
            ]
            return results[0] if len(results) == 1 else results
        work = [(p, m) for p in asn.products for m in p.science]
        progress = Progress(self.name, len(work))
        results = []
        for product, member in work:
            if member.path is None:
                raise InputError(f"association member {member.expname} has no resolvable path")
            with progress.item(member.expname):
                model = open_model(member.path)
                results.append(self._run_one(model, source=member.path, product=product, asn=asn))
        return results

    def _run_one(
        self,
        target: Any,
        *,
        source: Path | None = None,
        product: Product | None = None,
        asn: Association | None = None,
    ) -> Any:
        self.product, self.asn, self._source = product, asn, source
        if isinstance(target, Exposures) and not len(target):
            raise InputError(f"{self.name}: no exposures to process")
        first = _first_model(target)
        self.config = self.resolve(first)
        search = self.config.common.search_output_file
        self._output_base = self._base_for(target, first, source, search)
        return self._execute(target, self.config)

    def _base_for(
        self, target: Any, first: Any, source: Path | None, search: bool
    ) -> tuple[bool, str]:
        """How this run's outputs are named.

        ``(True, product name)`` for combined products; else ``(False, name)``, the
        exposure name whose suffix is replaced (``search``: from ``meta.filename``).
        """
        if isinstance(target, Exposures) and target.product_name:
            return True, target.product_name
        product = self.product
        if product is not None and product.name and len(product.science) == 1:
            return False, f"{product.name}.fits"  # level-2 product
        filename = first.meta.filename if search else None
        if filename:
            return False, filename
        return False, source.name if source is not None else f"{self.name}.fits"

    def _execute(self, target: Any, config: StepConfig) -> Any:
        """Run ``process`` (or skip) with a resolved configuration; record; save."""
        cls = type(self)
        params, common = config.params, config.common
        start = time.perf_counter()
        overrides = {rt: config.override(rt) for rt in (*cls.reftypes, *cls.optional_reftypes)}
        refs = Refs(
            self.name,
            _first_model(target),
            cls.reftypes,
            cls.optional_reftypes,
            overrides,
            self._resolver(),
        )
        try:
            reason = "skip=True" if common.skip else self.skip_reason(target, params)
            if reason is None:
                reason = refs.select_all()
            if reason is not None:
                log.info("%s: SKIPPED: %s", self.name, reason)
                result, status, ref_names = self.skipped_result(target), SKIPPED, {}
            else:
                log.info("%s: running", self.name)
                result, status = self.process(target, refs, params), COMPLETE
                ref_names = refs.recorded_names()
        finally:
            refs.close()
        for model in iter_models(result):
            if cls.cal_step:
                record_status(model, cls.cal_step, status)
            record_ref_files(model, ref_names)
            record_software(model)
            record_parameters(model, config.name, config.plain_values())
        if common.save_results:
            self._save(result, config)
        log.info("%s: %s in %.2f s", self.name, status.lower(), time.perf_counter() - start)
        return result

    # ------------------------------------------------------------------ saving

    def _save(self, result: Any, config: StepConfig) -> None:
        common = config.common
        main_suffix = common.suffix or self.output_suffix(result)
        if isinstance(result, StepResult):
            entries = [(s or main_suffix, ext, v) for s, ext, v in result.products()]
        else:
            entries = [(main_suffix, None, result)]
        saves = []
        first = True
        for suffix, ext, value in entries:
            if value is None:
                continue
            saves += self._paths_for(value, suffix, ext, config, first)
            first = False
        if len(saves) < 2:
            for obj, path in saves:
                self.save_product_as(obj, path)
            return
        # two at a time: one product's arrays are converted and written (no GIL held)
        # while the other's metadata are serialized
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="save") as pool:
            done = [pool.submit(self.save_product_as, obj, path) for obj, path in saves]
        for future in done:
            future.result()

    def _paths_for(
        self, value: Any, suffix: str, ext: str | None, config: StepConfig, main: bool
    ) -> Iterator[tuple[Any, Path]]:
        common = config.common
        out_dir = common.output_dir
        if isinstance(value, Exposures | list | tuple):
            exposures = value if isinstance(value, Exposures) else Exposures(list(value))
            for i, model in enumerate(exposures):
                member = exposures.members[i]
                base = model.meta.filename or (member.expname if member else None)
                if not base:
                    base = f"{self.name}_{i}.fits"
                candidate = exposures.candidate(i) if exposures.asn is not None else None
                name = exposure_output_name(base, suffix, candidate=candidate, extension=ext)
                yield model, output_path(name, out_dir)
            return
        if common.output_file:
            stem, file_ext = split_extension(Path(common.output_file).name)
            file_ext = file_ext or ext or ".fits"
            name = (
                f"{stem}{file_ext}" if main else f"{strip_suffix(stem)}_{suffix}{ext or file_ext}"
            )
            yield value, output_path(name, out_dir)
            return
        yield value, output_path(self._output_name(suffix, ext), out_dir)

    def _output_name(self, suffix: str, ext: str | None) -> str:
        """File name of a product with ``suffix`` made by this run."""
        combined, base = self._output_base
        if combined:
            return product_output_name(base, suffix, ext or ".fits")
        return exposure_output_name(base, suffix, extension=ext)

    def save_product_as(self, product: Any, path: Path) -> Path:
        """Save ``product`` at ``path`` when the run succeeds (inside a run only)."""
        if self._outputs is None:
            raise RuntimeError(f"{self.name}: products can only be saved during run()")
        return self._outputs.save(product, path)


def _first_model(target: Any) -> Any:
    if isinstance(target, Exposures):
        return target.models[0] if len(target) else None
    return target


def iter_models(result: Any) -> Iterator[Any]:
    """Every model held by a result (a model, Exposures, list, StepResult)."""
    if result is None:
        return
    if isinstance(result, StepResult):
        for _, _, value in result.products():
            yield from iter_models(value)
    elif isinstance(result, Exposures | list | tuple):
        for item in result:
            yield from iter_models(item)
    elif isinstance(result, Mapping):
        return
    elif hasattr(result, "meta"):
        yield result
