"""Shared test set-up. Helpers live in tests/unit/utils/ and are imported
through the collection path (ansible_collections.nexus_cos.launch.tests.unit.utils),
so the suite runs the same under pytest (pytest.ini puts .collections on the
path) and under ansible-test units; no test imports another test module.

The fixtures every folder may use are here."""

import pytest

from ansible_collections.nexus_cos.launch.tests.unit.utils.module_harness import patch_module_exits
# A fixture, registered for every test by being named here.
from ansible_collections.nexus_cos.launch.tests.unit.utils.trusted_tmp import trusted_tmp  # noqa: F401 pylint: disable=unused-import


@pytest.fixture
def module_exits(monkeypatch):
    """exit_json / fail_json raise module_harness.ModuleExit."""
    patch_module_exits(monkeypatch)
