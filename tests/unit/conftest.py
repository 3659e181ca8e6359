"""Shared test set-up: tests import their fakes (fake_host) and the module
harness (module_harness) by name."""

import pytest

from module_harness import patch_module_exits


@pytest.fixture
def module_exits(monkeypatch):
    """exit_json / fail_json raise module_harness.ModuleExit."""
    patch_module_exits(monkeypatch)
