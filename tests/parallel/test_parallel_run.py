"""run_association on a 2-worker Dask cluster: serial parity, failures, resume, level 3."""

from __future__ import annotations

import json
import operator
import os

import pytest

from parallel.par_helpers import assert_same_products, make_exposures, write_asn
from parallel.toy_pipes import ToyChainPipeline, ToyStackPipeline
from webbcal.parallel import run_association, run_files
from webbcal.parallel.ledger import ledger_dir, read_records


def test_parallel_equals_serial_bit_for_bit(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 3)
    asn = write_asn(tmp_path / "in", files)
    ToyChainPipeline.call(
        asn, save_results=True, output_dir=str(tmp_path / "serial"), save_added=True
    )
    summary = run_association(
        ToyChainPipeline, asn, client=client, output_dir=tmp_path / "par", save_added=True
    )
    assert summary.ok and summary.count("complete") == 3
    assert summary.workers == 2
    assert len({m.worker for m in summary.members}) >= 1
    names = assert_same_products(tmp_path / "serial", tmp_path / "par")
    assert len(names) == 6  # _added and _toycal per member
    assert sorted(p.name for p in summary.outputs) == names


def test_level3_association_to_model_pipeline_keeps_serial_names(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files, level=3)
    ToyChainPipeline.call(asn, save_results=True, output_dir=str(tmp_path / "serial"))
    summary = run_association("toy_chain", asn, client=client, output_dir=tmp_path / "par")
    assert summary.ok
    assert_same_products(tmp_path / "serial", tmp_path / "par")


def test_step_parameters_reach_the_workers(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files)
    ToyChainPipeline.call(
        asn, save_results=True, output_dir=str(tmp_path / "serial"), steps={"toy_add": {"value": 7}}
    )
    run_association(
        "toy_chain",
        asn,
        client=client,
        output_dir=tmp_path / "par",
        steps={"toy_add": {"value": 7}},
    )
    assert_same_products(tmp_path / "serial", tmp_path / "par")


def test_failing_members_do_not_stop_the_others(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 4)
    truncated = files[1]
    truncated.write_bytes(truncated.read_bytes()[:4000])  # a truncated FITS file
    asn = write_asn(tmp_path / "in", files)
    out = tmp_path / "out"
    summary = run_association(
        "toy_chain", asn, client=client, output_dir=out, steps={"toy_add": {"fail_on": "01004"}}
    )
    status = {m.label: m.status for m in summary.members}
    assert list(status.values()) == ["complete", "failed", "complete", "failed"]
    bad_file, bad_step = summary.members[1], summary.members[3]
    assert truncated.name in bad_file.error
    assert "toy_add refuses this exposure on purpose" in bad_step.error
    # the others' products are complete on disk, the failed ones have none
    products = sorted(p.name for p in out.glob("*.fits"))
    assert products == sorted(f.name.replace("_rate", "_toycal") for f in (files[0], files[2]))
    assert not list(out.glob(".webbcal-*"))
    records = {r["label"]: r for r in read_records(ledger_dir(out, "toy_chain"))}
    assert records[bad_step.label]["status"] == "failed"
    assert "refuses" in records[bad_step.label]["error"]
    log_text = (ledger_dir(out, "toy_chain") / f"{bad_step.key}.json").with_suffix(".log")
    assert "refuses" in log_text.read_text()


def test_resume_skips_verified_members_and_redoes_damaged_ones(tmp_path, toys):
    files = make_exposures(tmp_path / "in", 3)
    asn = write_asn(tmp_path / "in", files)
    out = tmp_path / "out"
    first = run_association("toy_chain", asn, workers=1, output_dir=out)
    assert first.count("complete") == 3 and first.workers == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.fits")}

    again = run_association("toy_chain", asn, workers=1, output_dir=out, resume=True)
    assert again.count("resumed") == 3
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.fits")} == stamps
    assert sorted(again.outputs) == sorted(first.outputs)

    damaged = first.members[1].outputs[0]
    damaged.write_bytes(damaged.read_bytes()[:-2880])  # one FITS block lost
    (out / ".webbcal-stale").mkdir()
    (out / ".webbcal-stale" / "half.fits").write_bytes(b"SIMPLE")
    third = run_association("toy_chain", asn, workers=1, output_dir=out, resume=True)
    assert [m.status for m in third.members] == ["resumed", "complete", "resumed"]
    assert not (out / ".webbcal-stale").exists()

    changed = run_association(
        "toy_chain", asn, workers=1, output_dir=out, resume=True, steps={"toy_add": {"value": 3}}
    )
    assert changed.count("complete") == 3  # parameters changed: everything redone


def test_resume_redoes_a_member_whose_product_lost_its_cal_step(tmp_path, toys):
    from webbcal import datamodels

    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files)
    out = tmp_path / "out"
    first = run_association("toy_chain", asn, workers=1, output_dir=out)
    path = first.members[0].outputs[0]
    with datamodels.open(path) as model:
        model.data  # noqa: B018 - load before rewriting the file
        model.meta.cal_step.toy_smooth = "SKIPPED"
        model.save(path)
    # same size is not enough: the record's cal_step must match
    again = run_association("toy_chain", asn, workers=1, output_dir=out, resume=True)
    assert [m.status for m in again.members] == ["complete", "resumed"]


def test_level3_pipeline_runs_in_process_with_resume(tmp_path, toys):
    files = make_exposures(tmp_path / "in", 3)
    asn = write_asn(tmp_path / "in", files, level=3, name="stack")
    out = tmp_path / "out"
    serial = ToyStackPipeline.call(asn, save_results=True, output_dir=str(tmp_path / "serial"))
    assert serial is not None
    summary = run_association("toy_stack", asn, workers=2, output_dir=out)
    assert summary.workers == 0 and summary.count("complete") == 1
    assert_same_products(tmp_path / "serial", out)
    names = sorted(p.name for p in summary.outputs)
    assert names[0] == "jw01001-o001_t001_stack_toystack.fits"
    assert len(names) == 4  # the mean and 3 _toycrf
    again = run_association("toy_stack", asn, output_dir=out, resume=True)
    assert again.count("resumed") == 1


def test_run_files_and_summary_file(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 2)
    summary = run_files("toy_chain", files, client=client, output_dir=tmp_path / "out")
    assert summary.ok
    assert sorted(p.name for p in summary.outputs) == sorted(
        f.name.replace("_rate", "_toycal") for f in files
    )
    data = json.loads((tmp_path / "out" / "ledger" / "toy_chain.run.json").read_text())
    assert data["complete"] == 2 and len(data["members"]) == 2
    step_names = [s["name"] for s in data["members"][0]["steps"]]
    assert step_names == ["toy_add", "toy_smooth"]
    assert all(s["peak_rss_mb"] > 0 for s in data["members"][0]["steps"])


def test_members_wait_for_the_futures_that_make_their_inputs(tmp_path, client, toys):
    """run_files(pending=...): a member starts once its file is made; a failed maker fails it."""
    from parallel.toy_pipes import write_exposure

    folder = tmp_path / "in"
    ready = make_exposures(folder, 1)
    late = [folder / f"jw0100{i}001001_01101_00001_nrca1_rate.fits" for i in (2, 3)]
    broken = folder / "jw01004001001_01101_00001_nrca1_rate.fits"
    pending = {p: client.submit(write_exposure, p, i, pure=False) for i, p in enumerate(late)}
    pending[broken] = client.submit(operator.truediv, 1, 0, pure=False)  # a maker that fails
    files = [*ready, *late, broken]
    summary = run_files(
        "toy_chain", files, client=client, output_dir=tmp_path / "out", pending=pending
    )
    status = [m.status for m in summary.members]
    assert status == ["complete", "complete", "complete", "failed"]
    assert "ZeroDivisionError" in summary.members[3].error
    # the records of the late members hold the fingerprint of their inputs as made
    again = run_files("toy_chain", files[:3], client=client, output_dir=tmp_path / "out",
                      resume=True)  # fmt: skip
    assert again.count("resumed") == 3


def test_workers_start_a_local_cluster_of_that_size(tmp_path, toys, client, monkeypatch):
    """workers=N asks webbcal.parallel.cluster for N workers (the shared cluster stands in)."""
    from contextlib import contextmanager

    from webbcal.parallel import runner
    from webbcal.parallel.cluster import cpu_count

    asked = []

    @contextmanager
    def fake_client(workers, scheduler):
        asked.append((workers, scheduler))
        yield client

    monkeypatch.setattr(runner, "dask_client", fake_client)
    files = make_exposures(tmp_path / "in", 3)
    asn = write_asn(tmp_path / "in", files)
    assert run_association(ToyChainPipeline, asn, workers=2, output_dir=tmp_path / "a").ok
    assert run_association(ToyChainPipeline, asn, output_dir=tmp_path / "b").ok
    assert asked == [(2, None), (min(cpu_count(), 3), None)]  # default: a worker per core


def test_bad_scheduler_address_is_a_clear_error(tmp_path, toys, monkeypatch):
    from webbcal.errors import ParameterError
    from webbcal.parallel import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files)
    with pytest.raises(ParameterError, match="cannot reach the Dask scheduler"):
        run_association("toy_chain", asn, scheduler="tcp://127.0.0.1:9", output_dir=tmp_path)


def test_inputs_are_never_written(tmp_path, toys):
    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files)
    before = {f: f.stat().st_mtime_ns for f in files}
    summary = run_association(
        "toy_chain", asn, workers=1, output_dir=tmp_path / "in", suffix="rate"
    )
    assert not summary.ok
    assert all("refusing to overwrite an input" in m.error for m in summary.members)
    assert {f: f.stat().st_mtime_ns for f in files} == before
    assert os.listdir(tmp_path / "in").count("ledger") == 1


@pytest.mark.slow
def test_a_dying_worker_fails_only_its_member(tmp_path, toys):
    import dask

    from webbcal.parallel.cluster import dask_client

    files = make_exposures(tmp_path / "in", 3)
    asn = write_asn(tmp_path / "in", files)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), dask_client(2) as c:
        summary = run_association(
            "toy_chain",
            asn,
            client=c,
            output_dir=tmp_path / "out",
            steps={"toy_add": {"crash_on": "01002"}},
        )
    assert [m.status for m in summary.members] == ["complete", "failed", "complete"]
    assert "worker running it died" in summary.members[1].error
    records = {r["key"]: r for r in read_records(ledger_dir(tmp_path / "out", "toy_chain"))}
    assert records[summary.members[1].key]["status"] == "failed"


def test_scheduler_address_runs_on_that_cluster(tmp_path, client, toys):
    files = make_exposures(tmp_path / "in", 2)
    asn = write_asn(tmp_path / "in", files)
    address = client.scheduler.address
    summary = run_association("toy_chain", asn, scheduler=address, output_dir=tmp_path / "out")
    assert summary.ok and summary.scheduler == address and summary.workers == 2
    workers = set(client.scheduler_info()["workers"])
    assert {m.worker for m in summary.members} <= workers
