"""pytest fixtures shared by every integration test. Helpers live in harness.py."""

import os

import pytest

import harness


@pytest.fixture
def procs():
    p = harness.Processes()
    yield p
    p.stop_all()


@pytest.fixture
def site():
    s = harness.Site()
    yield s
    s.cleanup()


@pytest.fixture
def syncd(site, procs):
    return harness.Syncd(site, procs)


@pytest.fixture
def scim(syncd):
    return syncd.client


def pytest_collection_modifyitems(config, items):
    # Namespaces and bind mounts need root; CI runs as root, a developer may not.
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root for mount namespaces")
    for item in items:
        if "needs_root" in item.keywords:
            item.add_marker(skip)
