"""Shared test set-up: tests import their fakes (fake_host), the module
harness (module_harness) and where things are (repo_paths) by name.

The tests mirror the collection (plugins/modules/, plugins/module_utils/,
roles/, nexusctl/, ...). A few import each other's fixtures by module name,
so every test directory is on the path before any test is collected,
whatever the order pytest walks them in."""

import os
import sys

import pytest

from module_harness import patch_module_exits

for _base, _dirs, _names in os.walk(os.path.dirname(os.path.abspath(__file__))):
    _dirs[:] = sorted(d for d in _dirs if not d.startswith((".", "__")))
    if _base not in sys.path and any(n.startswith("test_") for n in _names):
        sys.path.append(_base)


@pytest.fixture
def module_exits(monkeypatch):
    """exit_json / fail_json raise module_harness.ModuleExit."""
    patch_module_exits(monkeypatch)
