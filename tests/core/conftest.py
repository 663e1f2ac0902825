"""Fixtures of the framework tests: toy models, toy steps in a private registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from core import toys
from webbcal.core import registry


@dataclass
class Toys:
    folder: Path
    refs: toys.FakeRefs
    registry: registry.Registry

    def exposure(self, name: str = "jw01_nrca1_uncal.fits", data=(1.0, 2.0), **meta) -> Path:
        return toys.write_model(self.folder / name, data, **meta)


@pytest.fixture
def toy(tmp_path, monkeypatch) -> Toys:
    """Toy datamodels.open, a FakeRefs default resolver and a registry of toy steps."""
    toys.install(monkeypatch)
    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    fake_refs = toys.FakeRefs(refs_dir)
    monkeypatch.setattr("webbcal.core.references.best_reference", fake_refs)
    reg = toys.toy_registry()
    with registry.use(reg):
        yield Toys(tmp_path, fake_refs, reg)
