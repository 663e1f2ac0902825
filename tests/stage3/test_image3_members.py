"""Stage 3 memory bounds: file-backed exposure views and member batches."""

from __future__ import annotations

import numpy as np

from webbcal.core import Exposures
from webbcal.datamodels import ImageModel
from webbcal.pipelines.calwebb_image3 import _FileBacked
from webbcal.steps._members import (
    kernel_threads,
    map_batches,
    member_workers,
    read_arrays,
    run_members,
    shared,
    shared_geometry,
)


def _saved(tmp_path):
    model = ImageModel(data=np.ones((8, 8), np.float32))
    model.dq = np.zeros((8, 8), np.uint32)
    model.err = np.full((8, 8), 2.0, np.float32)
    model.var_rnoise = np.full((8, 8), 4.0, np.float32)
    return model.save(tmp_path / "one_cal.fits")


def test_file_backed_view_reads_the_file_and_forwards_the_rest(tmp_path):
    path = _saved(tmp_path)
    model = ImageModel(path)
    member = type("Member", (), {"path": path})()
    view = _FileBacked.wrap(Exposures([model], [member])).models[0]
    assert isinstance(view, _FileBacked) and view.model is model
    assert np.all(view.err == 2.0) and np.all(view.var_rnoise == 4.0)
    view.dq[0, 0] = 16  # SCI and DQ are the model's own: changes stay
    assert model.dq[0, 0] == 16 and view.dq[0, 0] == 16
    view.err = np.full((8, 8), 3.0, np.float32)  # an array set through the view is kept
    assert np.all(view.err == 3.0) and np.all(model.err == 3.0)
    view.meta.background.level = 1.5
    assert model.meta.background.level == 1.5
    assert _FileBacked.unwrap(Exposures([view])).models[0] is model


def test_models_not_from_the_association_are_not_wrapped(tmp_path):
    model = ImageModel(data=np.zeros((4, 4), np.float32))
    assert _FileBacked.wrap(Exposures([model])).models[0] is model


def test_run_members_keeps_order_and_hands_results_over():
    assert run_members(lambda k: k * k, 5) == [0, 1, 4, 9, 16]
    got = {}
    out = run_members(lambda k: -k, 4, got.__setitem__, workers=3)
    assert got == {0: 0, 1: -1, 2: -2, 3: -3} and out == [None] * 4
    assert 1 <= member_workers(4) <= 4 and member_workers(1) == 1


def test_map_batches_shares_the_numba_threads_and_keeps_order():
    import numba

    before = numba.get_num_threads()
    seen = list(map_batches(lambda k: (k, numba.get_num_threads()), list(range(5)), 2))
    assert [k for k, _ in seen] == list(range(5))
    assert all(n == kernel_threads(2) for _, n in seen)
    assert numba.get_num_threads() == before  # the calling thread's count is restored
    assert kernel_threads(1) >= kernel_threads(2) >= 1 and kernel_threads(before + 1) == 1
    assert list(map_batches(lambda k: -k, [3], 4)) == [-3]


def test_read_arrays_reads_what_is_not_kept_in_one_go(tmp_path):
    path = _saved(tmp_path)
    model = ImageModel(path)
    member = type("Member", (), {"path": path})()
    view = _FileBacked.wrap(Exposures([model], [member])).models[0]
    view.err = np.full((8, 8), 3.0, np.float32)
    err, rnoise, data = read_arrays(view, ["err", "var_rnoise", "data"])
    assert np.all(err == 3.0) and np.all(rnoise == 4.0) and data is model.data
    assert read_arrays(model, ["var_rnoise"])[0] is model.var_rnoise
    assert read_arrays(view, []) == []


def test_shared_results_live_only_inside_the_block():
    calls = []
    key_obj, other = object(), object()

    def compute():
        calls.append(1)
        return len(calls)

    assert shared("k", [key_obj], compute) == 1
    assert shared("k", [key_obj], compute) == 2  # nothing kept outside a block
    with shared_geometry():
        assert shared("k", [key_obj], compute) == 3
        with shared_geometry():
            assert shared("k", [key_obj], compute) == 3
        assert shared("k", [other], compute) == 4  # another object: computed again
        assert shared("k", [key_obj], compute) == 3
    assert shared("k", [key_obj], compute) == 5
