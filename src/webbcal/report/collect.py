"""Find what a run left in an output directory: products, truth, ledger records.

Products are recognised by their official suffixes (``_rate``, ``_cal``, ``_crf``,
``_i2d``, ``_cat.ecsv``, ``_segm``) and grouped by exposure; simulator truth
(``_truth_rate.fits``, ``_truth_cr.ecsv``, ``<product>_truth_scene.ecsv``, see
:mod:`webbcal.sim`) is looked for in the same folder and in any ``truth_dirs``. Ledger
records come from ``<output_dir>/ledger`` (:mod:`webbcal.parallel.ledger`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webbcal.parallel import ledger

log = logging.getLogger(__name__)

__all__ = ["Exposure", "RunFiles", "discover"]

_CANDIDATE = re.compile(r"_[oc]\d{3,}$")
_EXPOSURE_SUFFIXES = ("uncal", "rate", "rateints", "cal", "calints", "crf")
_TRUTH_SUFFIXES = ("truth_rate", "truth_cr", "truth_cat")


@dataclass
class Exposure:
    """The files of one exposure (any may be missing)."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)

    def get(self, kind: str) -> Path | None:
        """The file of ``kind`` (``rate``, ``cal``, ``crf``, ``truth_rate`` ...), if any."""
        return self.files.get(kind)


@dataclass
class RunFiles:
    """Everything :func:`discover` found."""

    output_dir: Path
    exposures: dict[str, Exposure] = field(default_factory=dict)
    mosaics: list[Path] = field(default_factory=list)
    catalogs: list[Path] = field(default_factory=list)
    segmaps: list[Path] = field(default_factory=list)
    truth_scenes: list[Path] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_truth(self) -> bool:
        """True when any simulator truth was found."""
        return bool(self.truth_scenes) or any(
            e.get("truth_rate") is not None for e in self.exposures.values()
        )

    def exposures_with(self, kind: str) -> list[Exposure]:
        """Exposures that have a file of ``kind``, by name."""
        return [e for _, e in sorted(self.exposures.items()) if e.get(kind) is not None]

    def product_files(self, mosaic: Path) -> tuple[Path | None, Path | None]:
        """The catalog and segmentation map of a level-3 product (by its name)."""
        stem = mosaic.name[: -len("_i2d.fits")]
        cat = next((c for c in self.catalogs if c.name == f"{stem}_cat.ecsv"), None)
        segm = next((s for s in self.segmaps if s.name == f"{stem}_segm.fits"), None)
        return cat, segm

    def truth_scene_for(self, mosaic: Path) -> Path | None:
        """The truth scene of a level-3 product (same product name, else the only one)."""
        stem = mosaic.name[: -len("_i2d.fits")]
        for scene in self.truth_scenes:
            if scene.name == f"{stem}_truth_scene.ecsv":
                return scene
        return self.truth_scenes[0] if len(self.truth_scenes) == 1 else None


def _split(name: str) -> tuple[str, str] | None:
    """``(exposure, kind)`` for an exposure-level file name, else None."""
    for ext in (".fits", ".ecsv"):
        if name.endswith(ext):
            stem = name[: -len(ext)]
            break
    else:
        return None
    for suffix in _TRUTH_SUFFIXES:
        if stem.endswith(f"_{suffix}"):
            return stem[: -len(suffix) - 1], suffix
    for suffix in _EXPOSURE_SUFFIXES:
        if stem.endswith(f"_{suffix}") and ext == ".fits":
            base = stem[: -len(suffix) - 1]
            if suffix == "crf":
                base = _CANDIDATE.sub("", base)
            return base, suffix
    return None


def discover(output_dir: str | Path, truth_dirs: list[str | Path] | None = None) -> RunFiles:
    """Find the products, truth and ledger records of a run."""
    out = Path(output_dir)
    found = RunFiles(output_dir=out)
    folders = [out, *(Path(d) for d in truth_dirs or ())]
    for folder in folders:
        if not folder.is_dir():
            log.warning("report: %s is not a folder", folder)
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                _classify(found, path)
    root = out / ledger.LEDGER_DIR
    if root.is_dir():
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            found.records.extend(ledger.read_records(folder))
        for path in sorted(root.glob("*.run.json")):
            try:
                found.runs.append({"file": path.name, **json.loads(path.read_text())})
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("report: cannot read %s: %s", path, exc)
    return found


def _classify(found: RunFiles, path: Path) -> None:
    name = path.name
    if name.endswith("_i2d.fits"):
        found.mosaics.append(path)
    elif name.endswith("_cat.ecsv") and "_truth" not in name:
        found.catalogs.append(path)
    elif name.endswith("_segm.fits"):
        found.segmaps.append(path)
    elif name.endswith("_truth_scene.ecsv"):
        found.truth_scenes.append(path)
    else:
        split = _split(name)
        if split is not None:
            exposure, kind = split
            found.exposures.setdefault(exposure, Exposure(exposure)).files.setdefault(kind, path)
