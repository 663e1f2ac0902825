"""Parallel execution of associations on Dask, with resumable, verified runs.

::

    from webbcal.parallel import run_association, run_observation

    summary = run_association("calwebb_detector1", "jw01_image2_asn.json", workers=2,
                              output_dir="out", resume=True,
                              steps={"jump": {"rejection_threshold": 5}})
    summary.ok, summary.failed, summary.outputs

    chain = run_observation(["a_uncal.fits", "b_uncal.fits"], output_dir="out")

* :func:`run_association` processes the science members of an association concurrently
  (a local cluster of worker processes, or ``scheduler="tcp://HOST:PORT"``); each member
  runs through the same code as a serial run, so the products are identical; a failing
  member is reported with its error while the others complete.
* :func:`run_files` does the same for a list of exposure files.
* :func:`run_observation` chains Stage 1 -> 2 -> 3 through the associations it writes.
* Every member leaves a completion record (:mod:`webbcal.parallel.ledger`) with its
  products and per-step time and memory; ``resume=True`` skips verified members.

The CLI: ``webbcal run <pipeline> <asn.json> --workers N | --scheduler ADDR [--resume]``.
"""

from webbcal.parallel.observation import ObservationSummary, run_observation
from webbcal.parallel.results import MemberResult, RunSummary
from webbcal.parallel.runner import run_association, run_files

__all__ = [
    "MemberResult",
    "ObservationSummary",
    "RunSummary",
    "run_association",
    "run_files",
    "run_observation",
]
