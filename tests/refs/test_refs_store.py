"""The store: manifest, atomic builds, add/remove, determinism of builds."""

from __future__ import annotations

import json

import pytest

from webbcal.errors import ReferenceFileError
from webbcal.refs import Store, best_reference
from webbcal.refs.store import Entry

from .conftest import exposure


def _entry(name="a.fits", **kw):
    return Entry(name=name, reftype="gain", instrument="MIRI", selectors={"DETECTOR": "X"},
                 useafter="2000-01-01T00:00:00", source="added", **kw)  # fmt: skip


def test_building_is_atomic(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), store.building(_entry()) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert store.entries() == []
    assert not any(p.is_file() for p in (tmp_path / "references").rglob("*"))
    with store.building(_entry()) as tmp:
        tmp.write_bytes(b"complete")
    assert store.path(_entry()).read_bytes() == b"complete"
    with store.building(_entry()) as tmp:  # already there: nothing to do
        assert tmp is None
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert [f["name"] for f in doc["files"]] == ["a.fits"]
    assert store.path(_entry()) == tmp_path / "references/jwst/miri/a.fits"


def test_remove_and_reread(tmp_path):
    store = Store(tmp_path)
    src = tmp_path / "x.bin"
    src.write_bytes(b"x")
    store.add(src, _entry("x.fits"))
    assert Store(tmp_path).get("x.fits") == _entry("x.fits")
    store.remove("x.fits")
    assert Store(tmp_path).entries() == [] and not store.path(_entry("x.fits")).exists()


def test_corrupt_manifest_is_a_reference_file_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ReferenceFileError, match="manifest is unreadable"):
        Store(tmp_path).entries()


def test_default_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path / "elsewhere"))
    assert Store().root == tmp_path / "elsewhere"


@pytest.mark.parametrize("reftype", ["mask", "dark", "photom", "distortion"])
def test_two_builds_give_identical_bytes(tmp_path, reftype):
    keys = exposure("MIRI", "MIRIMAGE", "SUB64", FILTER="F770W")
    a = best_reference(reftype, keys, source="embedded", store=Store(tmp_path / "a"))
    b = best_reference(reftype, keys, source="embedded", store=Store(tmp_path / "b"))
    assert a.name == b.name and a.read_bytes() == b.read_bytes()
