"""``webbcal info FILE``: summarise a product (or an association) in a few lines.

For an exposure: instrument, detector, EXP_TYPE, readout, subarray, shape, the arrays
present, the ``cal_step`` record, and the stage 1/2/3 pipelines that process it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from webbcal.associations.asn import Association, is_association_file, load_asn
from webbcal.core.inputs import open_model
from webbcal.errors import RoutingError

__all__ = ["describe_association", "describe_model", "register"]


def register(subparsers: Any) -> None:
    """Add ``info`` to the command line."""
    parser = subparsers.add_parser(
        "info", help="summarise a product or an association", description=__doc__
    )
    parser.add_argument("file", help="a FITS/ASDF product or an association JSON file")
    parser.set_defaults(func=info_command)


def info_command(args: argparse.Namespace) -> int:
    """Handler of ``webbcal info``."""
    path = Path(args.file)
    if is_association_file(path):
        print(describe_association(load_asn(path, check_members=False)))
        return 0
    model = open_model(path)
    try:
        print(describe_model(model, path.name))
        if model.meta.exposure.type:
            from webbcal.pipelines.routing import pipelines_for_model

            try:
                pipelines_for_model(model)
            except RoutingError as exc:
                # the summary is printed; no pipeline can process the file: a named error
                raise RoutingError(exc.message, path=path) from exc
    finally:
        close = getattr(model, "close", None)
        if close is not None:
            close()
    return 0


def _rows(model: Any) -> list[tuple[str, Any]]:
    meta = model.meta
    exposure, instrument, subarray = meta.exposure, meta.instrument, meta.subarray
    readout = None
    if exposure.readpatt is not None:
        readout = (
            f"{exposure.readpatt} nints={exposure.nints} ngroups={exposure.ngroups} "
            f"nframes={exposure.nframes}"
        )
    if subarray.name is not None:
        sub = f"{subarray.name} ({subarray.xsize}x{subarray.ysize} at {subarray.xstart},"
        sub += f"{subarray.ystart})"
    else:
        sub = None
    return [
        ("model", type(model).__name__),
        ("instrument", instrument.name),
        ("detector", instrument.detector),
        ("filter/pupil", _join(instrument.filter, instrument.pupil)),
        ("EXP_TYPE", exposure.type),
        ("TSOVISIT", meta.visit.tsovisit),
        ("readout", readout),
        ("subarray", sub),
        ("shape", _shape(model)),
        ("arrays", ", ".join(_arrays(model)) or None),
    ]


def describe_model(model: Any, name: str | None = None) -> str:
    """Lines describing an exposure-level product and its pipelines."""
    rows = [("file", name or model.meta.filename), *_rows(model)]
    cal_step = model.meta.cal_step
    steps = cal_step.to_dict() if hasattr(cal_step, "to_dict") else dict(cal_step or {})
    rows.append(("cal_step", ", ".join(f"{k}={v}" for k, v in steps.items()) or "none"))
    if model.meta.exposure.type:
        from webbcal.pipelines.routing import pipelines_for_model

        try:
            stages = pipelines_for_model(model)
            rows.append(
                ("pipelines", "  ".join(f"{i}: {s or 'N/A'}" for i, s in enumerate(stages, 1)))
            )
        except RoutingError as exc:
            rows.append(("pipelines", str(exc)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows if v is not None)


def describe_association(asn: Association) -> str:
    """Lines describing an association: its meta keys and each product's members."""
    lines = [f"association {asn.path}" if asn.path else "association"]
    for key in ("asn_type", "asn_rule", "asn_id", "asn_pool", "program", "target"):
        if asn.meta.get(key) is not None:
            lines.append(f"  {key}: {asn.meta[key]}")
    for product in asn.products:
        lines.append(f"  product {product.name or '(unnamed)'}:")
        lines.extend(f"    {m.exptype:<12} {m.expname}" for m in product.members)
    return "\n".join(lines)


def _join(*values: Any) -> str | None:
    present = [str(v) for v in values if v is not None]
    return "/".join(present) or None


def _shape(model: Any) -> str | None:
    shape = getattr(model, "shape", None)
    if shape is None and "data" in _arrays(model):
        shape = model.data.shape
    return "x".join(str(n) for n in shape) if shape else None


def _arrays(model: Any) -> list[str]:
    """Names of the arrays and tables the product holds, without loading or creating any."""
    declared = getattr(model, "declared", None)
    has = getattr(model, "has", None)
    if not (callable(declared) and callable(has)):
        return []
    return [name for name in declared() if has(name)]
