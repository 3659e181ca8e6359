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


# make compat (tests/compat/run) runs this suite on every supported
# ansible-core with that release and the test libraries alone; these tests
# check the checkout's main venv and the newest tools it pins (galaxy-importer,
# antsibull-*, ansible-builder), which make lint and make units already run.
COMPAT_SKIPS = {
    "tests/unit/collection/test_changelog.py": "antsibull-changelog (main venv only)",
    "tests/unit/collection/test_collection_build.py::test_galaxy_importer_accepts_the_built_tarball":
        "galaxy-importer (main venv only)",
    "tests/unit/collection/test_dependencies.py": "the main venv's pins (constraints.txt)",
    "tests/unit/collection/test_execution_environment.py": "ansible-builder (main venv only)",
    "tests/unit/docs/": "antsibull-docs (main venv only)",
    "tests/unit/roles/test_role_specs.py::test_variables_reference_is_current": "antsibull-docs (main venv only)",
}


def pytest_collection_modifyitems(config, items):
    import os
    if not os.environ.get("NEXUS_COMPAT"):
        return
    for item in items:
        for prefix, reason in COMPAT_SKIPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.skip(reason="compat run on ansible-core alone: needs %s" % reason))
