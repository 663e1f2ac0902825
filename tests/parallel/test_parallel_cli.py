"""``webbcal run ... --workers/--scheduler/--resume``: parsing, exit codes, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from parallel.par_helpers import make_exposures, write_asn
from webbcal import datamodels
from webbcal.cli import main
from webbcal.core.cli_run import parse_run_tokens
from webbcal.errors import ParameterError
from webbcal.parallel.ledger import ledger_dir, read_records, verify_record

DRIVER = Path(__file__).with_name("cli_driver.py")


def test_parse_parallel_options():
    run = parse_run_tokens(["calwebb_detector1", "--resume", "a.json", "--workers", "3"])
    assert run.positionals == ["calwebb_detector1", "a.json"]
    assert run.resume and run.workers == 3 and run.parallel
    run = parse_run_tokens(["x", "a.json", "--scheduler=tcp://h:8786", "--resume=false"])
    assert run.scheduler == "tcp://h:8786" and not run.resume and run.parallel
    assert not parse_run_tokens(["x", "a.json", "--output_dir=o"]).parallel
    for bad in (["--workers=0"], ["--workers=two"], ["--workers"], ["--resume=maybe"]):
        with pytest.raises(ParameterError):
            parse_run_tokens(bad)


def test_cli_runs_members_in_process_and_reports_failures(tmp_path, toys, capsys):
    files = make_exposures(tmp_path, 3)
    files[2].write_bytes(b"SIMPLE  =                    T" + b" " * 50)  # not a valid FITS
    asn = write_asn(tmp_path, files)
    out = tmp_path / "out"
    code = main(["-q", "run", "toy_chain", str(asn), "--workers=1", f"--output_dir={out}"])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 of 3 member(s) failed" in err and "--resume" in err
    assert len(list(out.glob("*_toycal.fits"))) == 2


def test_cli_parallel_options_need_an_association(tmp_path, toys, capsys):
    files = make_exposures(tmp_path, 1)
    assert main(["run", "toy_chain", str(files[0]), "--workers=2"]) == 2
    assert "give an association file" in capsys.readouterr().err


def _records(out: Path) -> list[dict]:
    return read_records(ledger_dir(out, "toy_chain"))


def _run_and_kill(args: list[str], out: Path, n_members: int) -> None:
    """Start the CLI, SIGKILL its whole process group once one member is recorded."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if _records(out):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert 1 <= len(_records(out)) < n_members
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    left = [p for p in psutil.process_iter(["pid"]) if _in_session(p, proc.pid)]
    assert not left, "processes of the killed run are still alive"


def _in_session(process: psutil.Process, sid: int) -> bool:
    try:
        return os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
        return False


def _check_resume(tmp_path: Path, workers: str) -> None:
    files = make_exposures(tmp_path / "in", 4)
    asn = write_asn(tmp_path / "in", files)
    out = tmp_path / "out"
    args = [
        "-q",
        "run",
        "toy_chain",
        str(asn),
        f"--workers={workers}",
        f"--output_dir={out}",
        "--steps.toy_add.delay=0.5",
    ]
    _run_and_kill(args, out, 4)
    # every visible product is whole; recorded members verify
    for path in out.glob("*.fits"):
        with datamodels.open(path) as model:
            assert model.data.shape == (48, 40)
    finished = {r["key"]: r for r in _records(out)}
    for record in finished.values():
        assert verify_record(record, out) is None
    # resume in a new process: the finished members are not redone
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, str(DRIVER), *args, "--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "ledger" / "toy_chain.run.json").read_text())
    statuses = {m["key"]: m["status"] for m in summary["members"]}
    assert all(statuses[k] == "resumed" for k in finished)
    assert sum(s == "complete" for s in statuses.values()) == 4 - len(finished)
    records = {r["key"]: r for r in _records(out)}
    for key, record in finished.items():
        assert records[key]["started"] == record["started"]
    assert len(list(out.glob("*_toycal.fits"))) == 4
    assert not list(out.glob(".webbcal-*"))


def test_resume_after_killed_run_in_process(tmp_path):
    _check_resume(tmp_path, "1")


@pytest.mark.slow
def test_resume_after_killed_dask_run(tmp_path):
    _check_resume(tmp_path, "2")
