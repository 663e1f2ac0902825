"""Helpers of the parallel tests: toy exposures, associations, product comparison."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from parallel import toy_pipes
from webbcal import datamodels
from webbcal.associations import asn_from_list


def make_exposures(folder: Path, n: int = 3, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        toy_pipes.write_exposure(folder / f"jw0100{i}001001_01101_00001_nrca1_rate.fits", seed + i)
        for i in range(1, n + 1)
    ]


def write_asn(folder: Path, files: list[Path], level: int = 2, name: str = "toy") -> Path:
    names = [os.path.relpath(f, folder) for f in files]
    if level == 2:
        asn = asn_from_list(names, rule="DMSLevel2bBase", acid="o001")
    else:
        asn = asn_from_list(names, product_name=f"jw01001-o001_t001_{name}", acid="o001")
    return asn.write(folder / f"{name}_l{level}_asn.json")


def arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a product file, read back."""
    with datamodels.open(path) as model:
        return {n: np.array(getattr(model, n)) for n in ("data", "dq", "err") if model.has(n)}


def assert_same_products(a: Path, b: Path) -> list[str]:
    """Every product in ``a`` has a twin in ``b`` with bit-identical arrays and cal_step."""
    names = sorted(p.name for p in a.glob("*.fits"))
    assert names == sorted(p.name for p in b.glob("*.fits"))
    assert names
    for name in names:
        left, right = arrays(a / name), arrays(b / name)
        assert left.keys() == right.keys()
        for key in left:
            assert left[key].dtype == right[key].dtype
            assert left[key].tobytes() == right[key].tobytes(), f"{name}:{key} differs"
        with datamodels.open(a / name) as m1, datamodels.open(b / name) as m2:
            assert m1.meta.cal_step.to_dict() == m2.meta.cal_step.to_dict()
    return names
