"""The run ledger: one completion record per member, written after its products are in place.

A member (one exposure of an association, or one level-3 product) is *complete* only when
its record says so **and** every product it lists is still whole. Records are small JSON
files, one per member, under ``<output_dir>/ledger/<pipeline alias>/``::

    {"schema": "webbcal.ledger/1", "pipeline": "calwebb_detector1", "key": "...",
     "status": "complete", "fingerprint": "...", "inputs": [...],
     "outputs": [{"path": "jw..._rate.fits", "size": 2113920,
                  "hdus": [["SCI", [2048, 2048]], ...], "cal_step": {"jump": "COMPLETE"}}],
     "steps": [{"name": "jump", "status": "complete", "seconds": 3.1, "peak_rss_mb": 612}],
     "seconds": 12.4, "peak_rss_mb": 1210, "worker": "...", "started": "...", ...}

A record is written atomically (temporary file, flush, fsync, rename) after the run's
products were committed, so a run killed at any point leaves either no record or a
record of products that are all on disk. :func:`verify_record` re-checks a record's
products when a run is resumed: each must exist with the recorded size and, for FITS, the
recorded extensions and shapes and the same ``meta.cal_step`` entries (at least one
COMPLETE); ECSV tables must parse. Failed members get a record too (``status: failed``,
with the error), read by the run report and never taken as complete.

The same records carry each step's wall time and peak resident memory, which the run
report (:mod:`webbcal.report`) plots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from webbcal.errors import InputError, WebbcalError

log = logging.getLogger(__name__)

__all__ = [
    "LEDGER_DIR",
    "SCHEMA",
    "describe_output",
    "fingerprint",
    "ledger_dir",
    "read_record",
    "read_records",
    "record_path",
    "verify_record",
    "write_json_atomic",
]

SCHEMA = "webbcal.ledger/1"
#: Name of the ledger folder inside an output directory.
LEDGER_DIR = "ledger"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ledger_dir(output_dir: str | os.PathLike, pipeline_alias: str) -> Path:
    """The folder of one pipeline's records in ``output_dir``."""
    return Path(output_dir) / LEDGER_DIR / _UNSAFE.sub("_", pipeline_alias)


def record_path(folder: Path, key: str) -> Path:
    """The record file of member ``key`` in ``folder``."""
    return folder / f"{_UNSAFE.sub('_', key)}.json"


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as JSON at ``path``: temporary file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as stream:
            json.dump(data, stream, indent=1, default=str)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def fingerprint(pipeline: str, options: Mapping[str, Any], inputs: Iterable[Path]) -> str:
    """A digest of what a member's products depend on.

    The pipeline class, its options (parameter overrides and parameter-file content) and
    each input file's name, size and modification time: a resumed run redoes a member
    whose inputs or configuration changed.
    """
    digest = hashlib.sha256()
    digest.update(pipeline.encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for path in inputs:
        path = Path(path)
        try:
            stat = path.stat()
            digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"{path}|missing".encode())
    return digest.hexdigest()[:32]


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every readable record in ``folder`` (unreadable ones are logged and left out)."""
    records = []
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.json")):
        record = read_record(path)
        if record is not None:
            records.append(record)
    return records


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; None when absent or unreadable (logged)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("ledger: ignoring unreadable record %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        log.warning("ledger: ignoring %s: not a %s record", path, SCHEMA)
        return None
    return data


def _fits_layout(path: Path) -> list[list[Any]]:
    """``[[EXTNAME, shape], ...]`` from the headers (no data is read)."""
    from astropy.io import fits

    layout = []
    with fits.open(path, memmap=True, lazy_load_hdus=False) as hdus:
        for i, hdu in enumerate(hdus):
            header = hdu.header
            name = header.get("EXTNAME", "PRIMARY" if i == 0 else f"HDU{i}")
            naxis = int(header.get("NAXIS", 0))
            shape = [int(header.get(f"NAXIS{k}", 0)) for k in range(naxis, 0, -1)]
            layout.append([str(name), shape])
    return layout


def _cal_steps(path: Path) -> dict[str, str]:
    from webbcal import datamodels

    with datamodels.open(path) as model:
        cal_step = model.meta.cal_step
        return {k: str(v) for k, v in cal_step.to_dict().items()} if cal_step else {}


def describe_output(path: Path, base: Path | None = None) -> dict[str, Any]:
    """What the ledger records about one product file, read back from disk.

    ``path`` is stored relative to ``base`` when it lies inside it.
    """
    path = Path(path)
    entry: dict[str, Any] = {"path": _relative(path, base), "size": path.stat().st_size}
    if path.suffix.lower() == ".fits":
        entry["hdus"] = _fits_layout(path)
        try:
            entry["cal_step"] = _cal_steps(path)
        except WebbcalError as exc:
            log.debug("ledger: %s has no readable meta.cal_step: %s", path, exc)
    return entry


def _relative(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.resolve().relative_to(Path(base).resolve()))
        except ValueError:
            pass
    return str(path.resolve())


def output_file(entry: Mapping[str, Any], base: Path) -> Path:
    """The file a record's output entry designates."""
    path = Path(entry["path"])
    return path if path.is_absolute() else Path(base) / path


def verify_record(record: Mapping[str, Any], base: Path, expect: str | None = None) -> str | None:
    """Why the member of ``record`` is not complete, or None when it is.

    Parameters
    ----------
    record : mapping
        A ledger record.
    base : Path
        The output directory relative paths are resolved against.
    expect : str, optional
        The fingerprint the record must carry (the current configuration and inputs).

    """
    if record.get("status") != "complete":
        return f"the previous run ended with status {record.get('status')!r}"
    if expect is not None and record.get("fingerprint") != expect:
        return "its inputs or parameters changed since it was made"
    outputs = record.get("outputs") or []
    if not outputs:
        return "the record lists no products"
    for entry in outputs:
        problem = _verify_output(entry, base)
        if problem is not None:
            return problem
    return None


def _verify_output(entry: Mapping[str, Any], base: Path) -> str | None:
    path = output_file(entry, base)
    if not path.is_file():
        return f"{path.name} is missing"
    size = path.stat().st_size
    if size != entry.get("size"):
        return f"{path.name} has {size} bytes, {entry.get('size')} were written"
    suffix = path.suffix.lower()
    try:
        if suffix == ".fits":
            return _verify_fits(path, entry)
        if suffix == ".ecsv":
            from astropy.table import Table

            Table.read(path, format="ascii.ecsv")
    except (OSError, ValueError, TypeError, KeyError, IndexError, InputError) as exc:
        return f"{path.name} cannot be read: {exc}"
    return None


def _verify_fits(path: Path, entry: Mapping[str, Any]) -> str | None:
    if _fits_layout(path) != entry.get("hdus"):
        return f"{path.name}: extensions or shapes differ from those written"
    recorded = entry.get("cal_step")
    if recorded is None:
        return None
    current = _cal_steps(path)
    if current != recorded:
        return f"{path.name}: meta.cal_step differs from the one written"
    if recorded and "COMPLETE" not in recorded.values():
        return f"{path.name}: no step is recorded COMPLETE"
    return None
