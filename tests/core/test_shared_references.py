"""shared_references: one opened reference model for every step run inside the block."""

from __future__ import annotations

import os

import numpy as np

from webbcal import datamodels as dm
from webbcal.core.references import Refs, shared_references


def _gain_file(path, value: float):
    model = dm.GainModel(data=np.full((8, 6), value, np.float32))
    model.meta.instrument.name = "NIRCAM"
    model.meta.reftype = "GAIN"
    return model.save(path)


def _refs(path) -> Refs:
    return Refs("gain_scale", None, ("gain",), (), {}, lambda reftype, model: path)


def test_each_file_is_opened_once_inside_the_block_and_closed_after(tmp_path, monkeypatch):
    path = _gain_file(tmp_path / "gain.fits", 2.0)
    closed = []
    monkeypatch.setattr(dm.GainModel, "close", lambda self: closed.append(self), raising=False)
    with shared_references():
        first, second = _refs(path), _refs(path)
        assert first.gain is second.gain
        old = first.gain
        first.close()
        second.close()
        assert closed == []  # shared: the step runs do not close it
        _gain_file(path, 3.0)  # a file changed on disk is opened again
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        third = _refs(path)
        np.testing.assert_array_equal(third.gain.data, 3.0)
        assert third.gain is not old
    assert len(closed) == 2  # both models, when the block ends
    outside = _refs(path)
    model = outside.gain
    assert model is not third.gain
    outside.close()
    assert closed[-1] is model
