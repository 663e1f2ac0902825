"""What a parallel run returns: one :class:`MemberResult` per member, in a :class:`RunSummary`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["MemberResult", "RunSummary", "Status"]

#: ``complete``: ran and committed its products; ``resumed``: already complete on disk
#: (``resume=True``), not run again; ``failed``: raised, with ``error``.
Status = Literal["complete", "resumed", "failed"]


@dataclass
class MemberResult:
    """The outcome of one member (an exposure, or a level-3 product).

    Attributes
    ----------
    key : str
        Unique name of the member within the run (ledger record name).
    label : str
        Short name for displays (the exposure or product name).
    status : {"complete", "resumed", "failed"}
    outputs : list of Path
        Products on disk (for ``resumed``: those recorded by the earlier run).
    error : str or None
        Why the member failed: the webbcal error message (or the exception's type and
        message for an unexpected error).
    seconds : float
        Wall time of the member's run (0 for ``resumed``).
    peak_rss_mb : float
        Largest sampled resident memory of the process while the member ran.
    steps : list of dict
        Per-step ``name``, ``status``, ``seconds``, ``peak_rss_mb`` (see the ledger).
    worker : str
        Where it ran (Dask worker address or ``"local"``).

    """

    key: str
    label: str
    status: Status
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    worker: str = "local"

    @property
    def ok(self) -> bool:
        """True unless the member failed."""
        return self.status != "failed"

    def output_with_suffix(self, suffix: str) -> Path | None:
        """The product whose name ends with ``_<suffix>`` before its extension, if any."""
        for path in self.outputs:
            if Path(path).stem.endswith(f"_{suffix}"):
                return Path(path)
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = dataclasses.asdict(self)
        data["outputs"] = [str(p) for p in self.outputs]
        return data


@dataclass
class RunSummary:
    """The outcome of :func:`webbcal.parallel.run_association` (one pipeline, one input).

    Attributes
    ----------
    pipeline : str
        The pipeline alias.
    input : str
        The association (or files) processed.
    output_dir : Path
    members : list of MemberResult
        In association order.
    seconds : float
        Wall time of the whole run, cluster start included.
    workers : int
        Number of Dask workers used (0: run in this process).
    scheduler : str or None
        The scheduler address (None: a local cluster, or in-process).

    """

    pipeline: str
    input: str
    output_dir: Path
    members: list[MemberResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    scheduler: str | None = None

    @property
    def ok(self) -> bool:
        """True when no member failed."""
        return all(m.ok for m in self.members)

    @property
    def failed(self) -> list[MemberResult]:
        """The members that failed."""
        return [m for m in self.members if m.status == "failed"]

    def count(self, status: Status) -> int:
        """Number of members with ``status``."""
        return sum(m.status == status for m in self.members)

    @property
    def outputs(self) -> list[Path]:
        """Every product of every member that did not fail."""
        return [Path(p) for m in self.members if m.ok for p in m.outputs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pipeline": self.pipeline,
            "input": self.input,
            "output_dir": str(self.output_dir),
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "scheduler": self.scheduler,
            "complete": self.count("complete"),
            "resumed": self.count("resumed"),
            "failed": self.count("failed"),
            "members": [m.to_dict() for m in self.members],
        }

    def describe(self) -> str:
        """One line: ``calwebb_detector1: 4 members, 3 complete, 1 resumed, 0 failed``."""
        return (
            f"{self.pipeline}: {len(self.members)} member(s), {self.count('complete')} complete,"
            f" {self.count('resumed')} resumed, {self.count('failed')} failed "
            f"in {self.seconds:.1f} s"
        )
