"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL_HEADERS = SHARED / "fixtures" / "real_headers"


@pytest.fixture(scope="session")
def real_headers_dir() -> Path:
    """Directory with real JWST files (real headers, 1-pixel data); skip when absent."""
    if not REAL_HEADERS.is_dir():
        pytest.skip("shared/fixtures/real_headers is not beside the checkout")
    return REAL_HEADERS


@pytest.fixture(autouse=True)
def _isolated_refs_store(tmp_path_factory, monkeypatch):
    """Keep every test's reference-file store out of the user's home directory."""
    store = tmp_path_factory.getbasetemp() / "refs_store"
    monkeypatch.setenv("WEBBCAL_REFS", str(store))
