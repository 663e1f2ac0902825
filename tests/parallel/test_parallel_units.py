"""Pieces of webbcal.parallel without a cluster: recorder, display, ledger checks."""

from __future__ import annotations

import io
import logging
import threading

import numpy as np

from parallel.toy_pipes import ToyChainPipeline, write_exposure
from webbcal.parallel.display import RunDisplay
from webbcal.parallel.ledger import (
    describe_output,
    fingerprint,
    read_record,
    verify_record,
    write_json_atomic,
)
from webbcal.parallel.recorder import StepRecorder


def test_recorder_collects_steps_of_its_thread_only(tmp_path):
    path = write_exposure(tmp_path / "a_rate.fits", 1)
    events = []
    other = []

    def elsewhere():
        logging.getLogger("webbcal.core.step").info("%s: running", "intruder")
        other.append(True)

    level = logging.getLogger("webbcal").level
    with StepRecorder(on_event=events.append) as rec:
        ToyChainPipeline.call(str(path), steps={"toy_add": {"delay": 0.05}})
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    names = [s["name"] for s in rec.steps]
    assert names == ["toy_add", "toy_smooth", "toy_chain"]
    assert rec.steps[0]["seconds"] >= 0.05
    assert all(s["peak_rss_mb"] >= s["start_rss_mb"] > 0 for s in rec.steps)
    assert rec.peak_rss_mb >= max(s["peak_rss_mb"] for s in rec.steps) - 0.1  # rounded
    kinds = [(e["event"], e["step"]) for e in events]
    assert kinds[:2] == [("step_start", "toy_chain"), ("step_start", "toy_add")]
    assert kinds[-1] == ("step_end", "toy_chain")
    assert other and "intruder" not in names
    assert logging.getLogger("webbcal").level == level  # restored


def test_recorder_closes_steps_left_open_by_an_error():
    with StepRecorder() as rec:
        logging.getLogger("webbcal.core.step").info("%s: running", "pipe")
        logging.getLogger("webbcal.core.step").info("%s: running", "jump")
        rec.close_open("failed")
    assert [(s["name"], s["status"]) for s in rec.steps] == [("jump", "failed"), ("pipe", "failed")]


def test_display_logs_members_and_draws_a_live_block(caplog):
    stream = io.StringIO()
    display = RunDisplay("calwebb_x", [("k1", "exp1"), ("k2", "exp2")], stream=stream, live=True)
    with caplog.at_level(logging.INFO, logger="webbcal.parallel.display"):
        display.handle({"key": "k1", "event": "member_start", "worker": "tcp://w1"})
        display.handle({"key": "k1", "event": "step_start", "step": "jump"})
        display.handle(
            {"key": "k1", "event": "step_end", "step": "jump", "status": "complete", "seconds": 1.0}
        )
        display.dask_handler(
            (0.0, {"key": "k2", "event": "member_end", "status": "failed", "error": "broken file"})
        )
        display.resumed("k1")
        display.close()
        display.handle({"key": "k1", "event": "member_start"})  # ignored after close
    text = stream.getvalue()
    assert "calwebb_x [" in text and "jump" in text and "\x1b[" in text
    messages = [r.getMessage() for r in caplog.records]
    assert "exp1: calwebb_x started (tcp://w1)" in messages
    assert "exp2: failed: broken file" in messages
    assert any("exp1: calwebb_x skipped" in m for m in messages)
    assert not any("jump complete" in m for m in messages)  # shown live, logged at DEBUG


def test_display_without_live_block_logs_steps(caplog):
    stream = io.StringIO()
    display = RunDisplay("p", [("k", "e")], stream=stream, live=False)
    with caplog.at_level(logging.INFO, logger="webbcal.parallel.display"):
        display.handle(
            {"key": "k", "event": "step_end", "step": "jump", "status": "complete", "seconds": 2.0}
        )
        display.handle(
            {"key": "k", "event": "step_end", "step": "p", "status": "complete", "seconds": 2.0}
        )
    assert [r.getMessage() for r in caplog.records] == ["e: jump complete in 2.00 s"]
    assert stream.getvalue() == ""


def test_describe_and_verify_outputs(tmp_path):
    path = write_exposure(tmp_path / "x_cal.fits", 2)
    ecsv = tmp_path / "x_cat.ecsv"
    ecsv.write_text(
        "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: a, datatype: int64}\n"
        "# schema: astropy-2.0\na\n1\n"
    )
    entries = [describe_output(path, tmp_path), describe_output(ecsv, tmp_path)]
    assert entries[0]["path"] == "x_cal.fits"
    assert entries[0]["hdus"][1] == ["SCI", [48, 40]]
    record = {"status": "complete", "fingerprint": "f", "outputs": entries}
    assert verify_record(record, tmp_path, expect="f") is None
    assert "changed" in verify_record(record, tmp_path, expect="g")
    assert "status" in verify_record({**record, "status": "failed"}, tmp_path)
    ecsv.write_text(ecsv.read_text().replace("a\n1\n", "a\nx\n"))
    assert "cannot be read" in verify_record(record, tmp_path)
    path.unlink()
    assert "missing" in verify_record(record, tmp_path)


def test_fingerprint_follows_inputs_and_options(tmp_path):
    a = tmp_path / "a.fits"
    a.write_bytes(b"1")
    base = fingerprint("P", {"x": 1}, [a])
    assert fingerprint("P", {"x": 1}, [a]) == base
    assert fingerprint("P", {"x": 2}, [a]) != base
    assert fingerprint("Q", {"x": 1}, [a]) != base
    a.write_bytes(b"22")
    assert fingerprint("P", {"x": 1}, [a]) != base


def test_records_are_written_atomically_and_read_back(tmp_path):
    path = write_json_atomic(tmp_path / "l" / "r.json", {"schema": "webbcal.ledger/1", "v": np.e})
    assert read_record(path)["v"] > 2.7
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]
    (tmp_path / "l" / "bad.json").write_text("{")
    assert read_record(tmp_path / "l" / "bad.json") is None
    assert read_record(tmp_path / "l" / "none.json") is None
