"""``webbcal refs build|best|list|add``."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from astropy.io import fits

from webbcal.refs import Store
from webbcal.refs.cli import register
from webbcal.refs.formats import RefHeader, write_fits


def run(*argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["refs", *argv])
    return args.func(args)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path / "store"))
    monkeypatch.delenv("CRDS_PATH", raising=False)
    return Store(tmp_path / "store")


def _uncal(path):
    hdr = fits.Header({"INSTRUME": "MIRI", "DETECTOR": "MIRIMAGE", "EXP_TYPE": "MIR_IMAGE",
                       "FILTER": "F770W", "READPATT": "FAST", "SUBARRAY": "FULL",
                       "DATE-OBS": "2024-01-01", "TIME-OBS": "00:00:00"})  # fmt: skip
    fits.PrimaryHDU(header=hdr).writeto(path)
    return path


def test_build_list_best_add(store, tmp_path, capsys):
    assert run("build", "--instrument", "MIRI", "--detector", "MIRIMAGE",
               "--reftype", "ipc", "rscd") == 0  # fmt: skip
    out = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in out] == ["webbcal_miri_ipc_mirimage.fits",
                                                   "webbcal_miri_rscd_mirimage.fits"]  # fmt: skip
    assert run("list") == 0
    listing = capsys.readouterr().out
    assert "webbcal_miri_ipc_mirimage.fits" in listing and "embedded" in listing

    uncal = _uncal(tmp_path / "x_uncal.fits")
    assert run("best", str(uncal), "--reftype", "ipc", "persat", "photom", "--no-build") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ipc -> ") and lines[0].endswith("webbcal_miri_ipc_mirimage.fits")
    assert lines[1] == "persat -> N/A"
    assert lines[2].startswith("photom -> ERROR: no PHOTOM reference") and "not built" in lines[2]

    ref = tmp_path / "my_miri_ipc.fits"
    header = RefHeader(reftype="ipc", instrument="MIRI", model_type="IPCModel",
                       description="mine", useafter="2023-01-01T00:00:00", pedigree="GROUND",
                       author="me", date="2024-01-01T00:00:00", filename=ref.name,
                       detector="MIRIMAGE")  # fmt: skip
    write_fits(ref, header, {"data": np.eye(3, dtype=np.float32)})
    assert run("add", str(ref)) == 0
    assert capsys.readouterr().out.strip().endswith("my_miri_ipc.fits")
    assert run("best", str(uncal), "--reftype", "ipc") == 0
    assert capsys.readouterr().out.strip().endswith("my_miri_ipc.fits")
    assert store.get("my_miri_ipc.fits").source == "added"


def test_detector_needs_one_instrument(store):
    from webbcal.errors import ParameterError

    with pytest.raises(ParameterError, match="exactly one --instrument"):
        run("build", "--detector", "NRCA1")
