"""The CRDS-cache source: branching, offline environment, cache lookup.

The ``crds`` package is not a dependency; a stand-in module checks the calls webbcal makes.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types

import pytest

from webbcal.errors import ReferenceFileError
from webbcal.refs import Store, best_reference
from webbcal.refs.crds_source import SERVERLESS_URL, crds_available, crds_parameters

KEYS = {"INSTRUME": "NIRCAM", "DETECTOR": "NRCA1", "EXP_TYPE": "NRC_IMAGE",
        "DATE-OBS": "2023-01-01", "TIME-OBS": "00:00:00"}  # fmt: skip


@pytest.fixture
def fake_crds(monkeypatch, tmp_path):
    """A stand-in ``crds`` answering from a table, and a CRDS_PATH cache."""
    calls = []
    answers = {}

    def getrecommendations(parameters, reftypes=None, context=None, ignore_cache=False,
                           observatory="jwst", fast=False):  # fmt: skip
        calls.append((dict(parameters), reftypes, observatory, os.environ.get("CRDS_MODE"),
                      os.environ.get("CRDS_SERVER_URL")))  # fmt: skip
        return {rt: answers.get(rt, "NOT FOUND No match found.") for rt in reftypes}

    module = types.ModuleType("crds")
    module.__spec__ = importlib.machinery.ModuleSpec("crds", None)
    module.getrecommendations = getrecommendations
    monkeypatch.setitem(sys.modules, "crds", module)
    cache = tmp_path / "crds_cache"
    (cache / "references" / "jwst" / "nircam").mkdir(parents=True)
    monkeypatch.setenv("CRDS_PATH", str(cache))
    monkeypatch.delenv("WEBBCAL_REFS_SOURCE", raising=False)
    monkeypatch.setenv("CRDS_SERVER_URL", "https://jwst-crds.stsci.edu")
    return types.SimpleNamespace(calls=calls, answers=answers, cache=cache)


def test_without_crds_the_embedded_rules_are_used(monkeypatch, tmp_path):
    monkeypatch.setenv("CRDS_PATH", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "crds" else real_find_spec(n, *a)
    )
    assert not crds_available()
    store = Store(tmp_path / "store")
    assert best_reference("rscd", KEYS, store=store) is None  # embedded rules: N/A
    with pytest.raises(ReferenceFileError, match="pip install crds"):
        best_reference("mask", KEYS, source="crds", store=store)


def test_without_crds_path_the_embedded_rules_are_used(monkeypatch):
    monkeypatch.delenv("CRDS_PATH", raising=False)
    assert not crds_available()


def test_crds_selection_is_offline_and_reads_the_cache(fake_crds):
    assert crds_available()
    ref = fake_crds.cache / "references" / "jwst" / "nircam" / "jwst_nircam_mask_0076.fits"
    ref.write_bytes(b"x")
    fake_crds.answers["mask"] = "jwst_nircam_mask_0076.fits"
    fake_crds.answers["rscd"] = "NOT FOUND n/a"
    assert best_reference("mask", KEYS) == ref
    assert best_reference("rscd", KEYS) is None
    params, reftypes, observatory, mode, url = fake_crds.calls[0]
    assert reftypes == ["mask"] and observatory == "jwst"
    assert mode == "local" and url == SERVERLESS_URL  # never the network
    assert os.environ["CRDS_SERVER_URL"] == "https://jwst-crds.stsci.edu"  # restored
    assert params["META.INSTRUMENT.NAME"] == "NIRCAM"
    assert params["META.OBSERVATION.DATE"] == "2023-01-01"


def test_crds_errors_name_the_fix(fake_crds):
    with pytest.raises(ReferenceFileError, match="found no DARK"):
        best_reference("dark", KEYS)
    fake_crds.answers["gain"] = "jwst_nircam_gain_0001.fits"
    with pytest.raises(ReferenceFileError, match=r"crds sync --files jwst_nircam_gain_0001\.fits"):
        best_reference("gain", KEYS)


def test_source_can_be_forced(fake_crds, monkeypatch, tmp_path):
    monkeypatch.setenv("WEBBCAL_REFS_SOURCE", "embedded")
    assert best_reference("rscd", KEYS, store=Store(tmp_path / "s")) is None
    assert fake_crds.calls == []
    with pytest.raises(ReferenceFileError, match="unknown reference source"):
        best_reference("mask", KEYS, source="server")


def test_crds_parameters_use_datamodel_paths():
    params = crds_parameters({"INSTRUME": "MIRI", "READPATT": "FAST", "SUBSTRT1": 1})
    assert params == {"META.TELESCOPE": "JWST", "META.INSTRUMENT.NAME": "MIRI",
                      "META.EXPOSURE.READPATT": "FAST", "META.SUBARRAY.XSTART": 1}  # fmt: skip
