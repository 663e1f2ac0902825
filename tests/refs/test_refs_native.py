"""Native-byte-order reference arrays: identical values, read-only maps, never stale."""

from __future__ import annotations

import os

import numpy as np

from webbcal import datamodels as dm
from webbcal.refs.formats import read_reference
from webbcal.refs.native import native_dir


def _gain_file(path, value: float) -> None:
    model = dm.GainModel(data=np.full((600, 512), value, np.float32))  # 1.2 MB: cached
    model.meta.instrument.name = "NIRCAM"
    model.meta.reftype = "GAIN"
    model.save(path)


def test_native_copy_is_served_and_equal(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path / "store"))
    ref = tmp_path / "gain.fits"
    _gain_file(ref, 2.5)
    first = read_reference(ref)
    np.testing.assert_array_equal(first.data, 2.5)
    cached = native_dir(ref, tmp_path / "store") / "data.npy"
    assert cached.is_file()
    second = read_reference(ref)
    assert isinstance(second.data, np.memmap) or isinstance(second.data.base, np.memmap)
    assert not second.data.flags.writeable
    np.testing.assert_array_equal(second.data, first.data)


def test_changed_reference_is_not_served_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path / "store"))
    ref = tmp_path / "gain.fits"
    _gain_file(ref, 2.5)
    read_reference(ref)
    _gain_file(ref, 3.0)
    stat = ref.stat()
    os.utime(ref, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(read_reference(ref).data, 3.0)


def test_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBBCAL_REFS", str(tmp_path / "store"))
    monkeypatch.setenv("WEBBCAL_NATIVE_REFS", "0")
    ref = tmp_path / "gain.fits"
    _gain_file(ref, 2.5)
    np.testing.assert_array_equal(read_reference(ref).data, 2.5)
    assert not (tmp_path / "store" / "native").exists()
