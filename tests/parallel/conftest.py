"""Fixtures of the parallel tests: a small shared Dask cluster, the toy registry."""

from __future__ import annotations

import pytest

from parallel import toy_pipes
from webbcal.core import registry
from webbcal.parallel.cluster import dask_client


@pytest.fixture(scope="module")
def client():
    """A client on webbcal's local cluster of 2 worker processes, closed after the module."""
    pytest.importorskip("distributed")
    with dask_client(workers=2) as client:
        yield client


@pytest.fixture
def toys():
    """The toy pipelines in a private registry."""
    with registry.use(toy_pipes.toy_registry()) as reg:
        yield reg
